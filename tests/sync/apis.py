"""The vendor APIs that :mod:`tests.sync.saas` plays: each answers one documented list endpoint with that vendor's
paging, filters and limits, over items made from the vendor's own sample payloads. (Written from the vendors' API
documentation; nothing here knows how Sherlock calls them.)"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

SAMPLES = {"pagerduty": ("pagerduty/xsoar_pagerduty_incidents_list.json", "incidents"),
           "pagerduty_notes": ("pagerduty/pagerduty_mcp_server_incident_notes.json", None),
           "jira": ("jira/apa_v3_search_adf.json", "issues"),
           "servicenow": ("servicenow/xsoar_servicenow_table_api_incidents.json", "result"),
           "github": ("github/betamax_issues_open_asc.json", None),
           "incidentio": ("incidentio/incidents_list_v2_example.json", "incidents")}
#: Jira custom fields by id, as ``expand=names`` gives them (the JSM "Root cause" field of the issue's notes).
JIRA_NAMES = {"customfield_10068": "Root cause", "summary": "Summary", "updated": "Updated"}
ROOT_CAUSE = "Disk filled by debug logs left on after a deploy"


class Request(NamedTuple):
    params: dict[str, str]
    query: dict[str, list[str]]
    body: Any
    base: str
    groups: tuple[str | Any, ...]
    zone: tzinfo


Answer = tuple[int, dict[str, str], Any]


def templates(source: str, exports: Path) -> list[dict[str, Any]]:
    """The sample items of ``source`` as the vendor's API returned them."""
    name, key = SAMPLES[source]
    document = json.loads((exports / name).read_text(encoding="utf-8"))
    return document[key] if key else document


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def renumber(source: str, item: dict[str, Any], index: int, when: datetime) -> dict[str, Any]:
    """A sample item made into item ``index``: its own id and number, created and updated at ``when``."""
    number = index + 1
    if source == "pagerduty":
        item.update(id=f"PX{number:05d}", incident_number=1000 + number, title=f"{item['title']} {1000 + number}",
                    created_at=stamp(when), updated_at=stamp(when + timedelta(minutes=5)), status="resolved")
    elif source == "jira":
        key = f"OPS-{number}"
        item.update(key=key, id=str(10_000 + number), self=f"https://example.atlassian.net/rest/api/3/issue/{key}")
        item["fields"].update(summary=f"{item['fields']['summary']} {key}", customfield_10068=ROOT_CAUSE,
                              created=when.strftime("%Y-%m-%dT%H:%M:%S.000+0000"))
    elif source == "servicenow":
        item.update(number=f"INC{number:07d}", sys_id=f"{number:032x}",
                    short_description=f"{item['short_description']} {number}",
                    opened_at=(when - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S"))
    elif source == "github":
        item.update(number=number, id=900_000 + number, title=f"{item['title']} (#{number})", created_at=stamp(when))
        if "pull_request" in item:
            item["pull_request"] = {**item["pull_request"], "url": f"{item['repository_url']}/pulls/{number}"}
    elif source == "incidentio":
        item.update(id=f"01JINC{number:020d}", reference=f"INC-{number}", name=f"{item['name']} {number}",
                    created_at=stamp(when))
    set_updated(source, item, when)
    return item


def set_updated(source: str, item: dict[str, Any], when: datetime) -> None:
    if source == "jira":
        item["fields"]["updated"] = when.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    elif source == "servicenow":
        item["sys_updated_on"] = when.strftime("%Y-%m-%d %H:%M:%S")
    else:
        item["updated_at"] = stamp(when)


def updated(source: str, item: dict[str, Any]) -> datetime:
    """The item's time on the axis its API filters by (PagerDuty: creation)."""
    return parse_time(TIME_OF[source](item))


@lru_cache(maxsize=65_536)
def parse_time(raw: str) -> datetime:
    when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def change(source: str, item: dict[str, Any], when: datetime, changes: dict[str, Any]) -> None:
    """An edit in the tool: ``title`` (each tool's own field) or other top-level fields, updated at ``when``."""
    title = changes.pop("title", None)
    if title is not None:
        field = {"pagerduty": "title", "servicenow": "short_description", "github": "title", "incidentio": "name"}
        if source == "jira":
            item["fields"]["summary"] = title
        else:
            item[field[source]] = title
    item.update(changes)
    if source != "pagerduty":  # PagerDuty lists by creation time: an edit keeps its place
        set_updated(source, item, when)


TIME_OF: dict[str, Callable[[dict[str, Any]], str]] = {
    "pagerduty": lambda item: item["created_at"], "jira": lambda item: item["fields"]["updated"],
    "servicenow": lambda item: item["sys_updated_on"], "github": lambda item: item["updated_at"],
    "incidentio": lambda item: item["updated_at"]}


def bad(status: int, message: str) -> Answer:
    return status, {}, {"error": {"message": message}}


# -- PagerDuty: GET /incidents, GET /incidents/{id}/notes --------------------------------------------------------------

def pagerduty_list(request: Request, items: list[dict[str, Any]]) -> Answer:
    q = request.params
    since, until = datetime.fromisoformat(q["since"]), datetime.fromisoformat(q["until"])
    limit, offset = int(q.get("limit", "25")), int(q.get("offset", "0"))
    if until - since > timedelta(days=184):
        return bad(400, "the date range may span at most 6 months")
    if limit > 100 or offset + limit > 10_000:
        return bad(400, "limit must be at most 100 and offset + limit at most 10000")
    matching = sorted((i for i in items if since <= updated("pagerduty", i) < until),
                      key=lambda i: updated("pagerduty", i))
    page = matching[offset:offset + limit]
    return 200, {}, {"incidents": page, "limit": limit, "offset": offset,
                     "more": offset + len(page) < len(matching),
                     "total": len(matching) if q.get("total") == "true" else None}


def pagerduty_notes(request: Request, items: list[dict[str, Any]]) -> Answer:
    return 200, {}, {"notes": items}


# -- Jira: Cloud POST /rest/api/3/search/jql, Server GET /rest/api/2/search, GET /rest/api/N/myself ----------------

def jira_matching(jql: str, zone: tzinfo, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issues a sync's JQL selects (``updated`` bounds in the user's zone, ``project = KEY``), by update."""
    def bound(operator: str) -> datetime | None:
        found = re.search(rf'updated {operator} "([^"]+)"', jql)
        return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=zone) if found else None
    low, high = bound(">="), bound("<=")
    project = re.search(r"project = (\w+)", jql)
    return sorted((i for i in items if (low is None or updated("jira", i) >= low)
                   and (high is None or updated("jira", i) <= high)
                   and (project is None or i["key"].startswith(project.group(1) + "-"))),
                  key=lambda i: updated("jira", i))


def jira_cloud(request: Request, items: list[dict[str, Any]]) -> Answer:
    ask = request.body or {}
    size = min(int(ask.get("maxResults", 50)), 100)
    offset = int(base64.b64decode(ask["nextPageToken"]).decode()) if ask.get("nextPageToken") else 0
    matching = jira_matching(ask.get("jql", ""), request.zone, items)
    page = matching[offset:offset + size]
    if not {"*all", "*navigable"} & set(ask.get("fields") or []):
        page = [{"id": issue["id"]} for issue in page]  # the endpoint's default: ids only
    answer: dict[str, Any] = {"issues": page, "isLast": offset + size >= len(matching)}
    if not answer["isLast"]:
        answer["nextPageToken"] = base64.b64encode(str(offset + size).encode()).decode()
    if "names" in str(ask.get("expand", "")):
        answer["names"] = JIRA_NAMES
    return 200, {}, answer


def jira_server(request: Request, items: list[dict[str, Any]]) -> Answer:
    q = request.params
    size, start = min(int(q.get("maxResults", "50")), 1000), int(q.get("startAt", "0"))
    matching = jira_matching(q.get("jql", ""), request.zone, items)
    answer: dict[str, Any] = {"startAt": start, "maxResults": size, "total": len(matching),
                              "issues": matching[start:start + size]}
    if "names" in q.get("expand", ""):
        answer["names"] = JIRA_NAMES
    return 200, {}, answer


def jira_myself(request: Request, items: list[dict[str, Any]]) -> Answer:
    return 200, {}, {"accountId": "5b10a2844c20165700ede21g", "timeZone": str(request.zone)}


# -- ServiceNow: GET /api/now/table/incident -----------------------------------------------------------------------

def servicenow(request: Request, items: list[dict[str, Any]]) -> Answer:
    q = request.params
    limit, offset = int(q.get("sysparm_limit", "10000")), int(q.get("sysparm_offset", "0"))
    matching = list(items)
    for condition in q.get("sysparm_query", "").split("^"):
        found = re.fullmatch(r"sys_updated_on(>=|<)(.+)", condition)
        if found:
            when = datetime.strptime(found.group(2), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            matching = [i for i in matching if (updated("servicenow", i) >= when) == (found.group(1) == ">=")]
        elif "=" in condition:
            name, value = condition.split("=", 1)
            matching = [i for i in matching if str(i.get(name)) == value]
    if "ORDERBYsys_updated_on" in q.get("sysparm_query", ""):
        matching.sort(key=lambda i: updated("servicenow", i))
    return 200, {"X-Total-Count": str(len(matching))}, {"result": matching[offset:offset + limit]}


# -- GitHub: GET /repos/{owner}/{repo}/issues ----------------------------------------------------------------------

def github(request: Request, items: list[dict[str, Any]]) -> Answer:
    q = request.params
    owner, repo = request.groups
    if not items or not items[0]["repository_url"].endswith(f"/repos/{owner}/{repo}"):
        return bad(404, "Not Found")
    per_page, page = min(int(q.get("per_page", "30")), 100), int(q.get("page", "1"))
    matching = [i for i in items if q.get("state", "open") in ("all", i["state"])]
    if q.get("since"):
        matching = [i for i in matching if updated("github", i) >= datetime.fromisoformat(q["since"])]
    if q.get("labels"):
        wanted = set(q["labels"].split(","))
        matching = [i for i in matching if wanted <= {label["name"] for label in i["labels"]}]
    key = "updated_at" if q.get("sort") == "updated" else "created_at"
    matching.sort(key=lambda i: i[key], reverse=q.get("direction", "desc") == "desc")
    last = max(1, -(-len(matching) // per_page))
    path = f"/repos/{owner}/{repo}/issues"
    links = [f'<{request.base}{path}?{urlencode({**q, "page": str(page + 1)})}>; rel="next"'] if page < last else []
    links.append(f'<{request.base}{path}?{urlencode({**q, "page": str(last)})}>; rel="last"')
    return 200, {"Link": ", ".join(links)}, matching[(page - 1) * per_page:page * per_page]


# -- incident.io: GET /v2/incidents --------------------------------------------------------------------------------

def incidentio(request: Request, items: list[dict[str, Any]]) -> Answer:
    q = request.params
    size = int(q.get("page_size", "25"))
    if size > 250:
        return bad(422, "page_size must be at most 250")
    matching = list(items)
    if q.get("updated_at[gte]"):
        low = date.fromisoformat(q["updated_at[gte]"])
        matching = [i for i in matching if updated("incidentio", i).date() >= low]
    if q.get("updated_at[lte]"):
        high = date.fromisoformat(q["updated_at[lte]"])
        matching = [i for i in matching if updated("incidentio", i).date() <= high]
    matching.sort(key=lambda i: i["created_at"], reverse=q.get("sort_by") != "created_at_oldest_first")
    ids = [i["id"] for i in matching]
    if q.get("after") and q["after"] not in ids:
        return bad(422, "after: no such incident")
    start = ids.index(q["after"]) + 1 if q.get("after") else 0
    page = matching[start:start + size]
    meta: dict[str, Any] = {"page_size": size, "total_record_count": len(matching)}
    if start + size < len(matching):
        meta["after"] = page[-1]["id"]
    return 200, {}, {"incidents": page, "pagination_meta": meta}


#: (method, path pattern, whose credentials, whose items, answer)
ROUTES: list[tuple[str, str, str, str, Callable[[Request, list[dict[str, Any]]], Answer]]] = [
    ("GET", r"/incidents", "pagerduty", "pagerduty", pagerduty_list),
    ("GET", r"/incidents/([^/]+)/notes", "pagerduty", "pagerduty_notes", pagerduty_notes),
    ("POST", r"/rest/api/3/search/jql", "jira", "jira", jira_cloud),
    ("GET", r"/rest/api/2/search", "jira", "jira", jira_server),
    ("GET", r"/rest/api/[23]/myself", "jira", "jira", jira_myself),
    ("GET", r"/api/now/table/incident", "servicenow", "servicenow", servicenow),
    ("GET", r"/repos/([^/]+)/([^/]+)/issues", "github", "github", github),
    ("GET", r"/v2/incidents", "incidentio", "incidentio", incidentio),
]
