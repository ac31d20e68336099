"""A real ``sherlock serve`` process on a free localhost port, called over HTTP with httpx: every route against the
CLI on the same workspace, tokens and scopes, rate limits, size limits, webhooks signed as each vendor signs them
(the vendors cannot reach this machine: the tests sign real sample payloads with the documented schemes), and the
JSON request log.
"""

import json
import os
import re
import sys
import time
from types import SimpleNamespace

import httpx
import pytest

from sherlock.cli import main
from sherlock.service.signatures import signed_headers
from tests.conftest import seed_home

SECRETS = {"pagerduty": "pd-secret-1", "github": "It's a Secret to Everybody", "jira": "jira-shared-secret",
           "incidentio": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}


def cli_json(capsys, *argv) -> dict:
    capsys.readouterr()
    main([str(part) for part in argv])
    return json.loads(capsys.readouterr().out)


def make_token(home, name, scope, *extra) -> str:
    from contextlib import redirect_stdout
    from io import StringIO
    out = StringIO()
    with redirect_stdout(out):
        assert main(["--home", str(home), "token", "create", name, "--scope", scope, *extra, "--json"]) == 0
    return json.loads(out.getvalue())["token"]


@pytest.fixture(scope="module")
def served(tmp_path_factory, models_seed, embeddings_seed, juspay_issues, start_server):
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace
    home = seed_home(tmp_path_factory.mktemp("served-home"), models_seed, embeddings_seed)
    Workspace(load_settings(home=home, demo=False)).ingest([juspay_issues])
    tokens = {scope: make_token(home, f"{scope}-client", scope) for scope in ("read", "write", "admin")}
    tokens["limited"] = make_token(home, "limited-client", "read", "--rate", "3/minute")
    env = {**os.environ, "SHERLOCK_DEMO": "false", "SHERLOCK_API_MAX_BODY_BYTES": "200000",
           **{f"SHERLOCK_WEBHOOK_SECRET_{source.upper()}": secret for source, secret in SECRETS.items()}}
    log = tmp_path_factory.mktemp("served-log") / "serve.log"

    def command(port: int) -> list:
        return [sys.executable, "-m", "sherlock", "--home", home, "serve", "--port", port]

    with start_server(command, log, env, health="/healthz", timeout=90) as url:
        with httpx.Client(base_url=url, timeout=60) as anonymous:
            for _ in range(240):
                if anonymous.get("/readyz").status_code == 200:
                    break
                time.sleep(0.5)
        clients = {scope: httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"})
                   for scope, token in tokens.items()}
        yield SimpleNamespace(url=url, home=home, tokens=tokens, log=log, **clients)
        for client in clients.values():
            client.close()


def without_timing(data: dict) -> dict:
    """``data`` without what differs run to run: the time taken and the API's query log row id (digits, or none)."""
    assert data.get("log_id") is None or data["log_id"].isdigit()
    return {key: value for key, value in data.items() if key not in ("took_ms", "log_id")}


def test_read_routes_answer_as_the_cli_does(served, capsys):
    home = served.home
    search = served.read.post("/v1/search", json={"query": "pinelabs RSA decryption error", "k": 5}).json()
    assert without_timing(search) == without_timing(
        cli_json(capsys, "--home", home, "search", "pinelabs RSA decryption error", "-k", 5, "--json"))
    assert search["results"][0]["id"] == "JSP-1052"
    shown = served.read.get("/v1/incidents/JSP-1052").json()
    assert shown == cli_json(capsys, "--home", home, "show", "JSP-1052", "--json")
    similar = served.read.get("/v1/incidents/JSP-1055/similar", params={"k": 3}).json()
    assert without_timing(similar) == without_timing(
        cli_json(capsys, "--home", home, "similar", "JSP-1055", "-k", 3, "--json"))
    asked = served.read.post("/v1/ask", json={"question": "UPI payment failed with error 5003", "k": 3}).json()
    cli_answer = cli_json(capsys, "--home", home, "ask", "UPI payment failed with error 5003", "-k", 3, "--json")
    assert asked["answer"] == cli_answer["answer"] and asked["citations"] == cli_answer["citations"]


def test_tokens_scopes_and_revocation(served):
    anonymous = httpx.post(f"{served.url}/v1/search", json={"query": "refund"})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.headers["content-type"] == "application/problem+json"
    forged = httpx.post(f"{served.url}/v1/search", json={"query": "refund"},
                        headers={"Authorization": "Bearer shk_" + "x" * 43})
    assert forged.status_code == 401 and "unknown or revoked" in forged.json()["detail"]
    new = {"id": "OPS-9", "title": "Scope check"}
    refused = served.read.post("/v1/incidents", json=new)
    assert refused.status_code == 403 and "needs 'write'" in refused.json()["detail"]
    assert served.write.delete("/v1/incidents/JSP-1001").status_code == 403
    assert served.read.get("/v1/incidents/JSP-1001").status_code == 200  # nothing was deleted
    secret = make_token(served.home, "short-lived", "read")
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{served.url}/v1/incidents/JSP-1001", headers=headers).status_code == 200
    assert main(["--home", str(served.home), "token", "revoke", "short-lived"]) == 0
    assert httpx.get(f"{served.url}/v1/incidents/JSP-1001", headers=headers).status_code == 401


def test_rate_limit_answers_429_with_retry_after(served):
    statuses = [served.limited.get("/v1/incidents/JSP-1001") for _ in range(4)]
    assert [response.status_code for response in statuses] == [200, 200, 200, 429]
    assert 1 <= int(statuses[-1].headers["retry-after"]) <= 60
    assert served.read.get("/v1/incidents/JSP-1001").status_code == 200  # other tokens keep their own count


def test_bad_and_oversized_bodies(served):
    bad = served.read.post("/v1/search", json={"query": "x", "k": "many", "filters": {"service": 3.5}})
    fields = sorted(error["field"] for error in bad.json()["errors"])
    assert bad.status_code == 422 and fields == ["body.filters.service.int", "body.filters.service.list[str]",
                                                 "body.filters.service.str", "body.k"]
    level = served.read.post("/v1/search", json={"query": "UPI payment failed", "filters": {"level": 1}}).json()
    worst = ("P0", "P1", "SEV1", "critical", "Critical")
    assert level["filters"] == {"level": 1} and level["results"]
    assert all(hit["severity"] in worst for hit in level["results"])
    broken = served.read.post("/v1/search", content=b'{"query": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.headers["content-type"] == "application/problem+json"
    big = served.write.post("/v1/incidents", json=[{"id": f"BIG-{n}", "title": "x" * 1000} for n in range(300)])
    assert big.status_code == 413 and "200,000" in big.json()["detail"]
    assert served.read.get("/v1/incidents/BIG-1").status_code == 404


def test_write_routes_ingest_delete_and_feedback(served):
    new = {"id": "OPS-777", "title": "Wombat settlement batch stuck with error WB-42",
           "description": "The nightly wombat settlement batch hangs with WB-42 after the ledger migration"}
    report = served.write.post("/v1/incidents", json=new).json()
    assert report["files"][0]["added"] == 1
    found = served.read.post("/v1/search", json={"query": "wombat settlement batch hangs", "k": 1}).json()
    assert found["results"] and found["results"][0]["id"] == "OPS-777", found
    assert served.write.post("/v1/feedback", json={"query": "wombat settlement", "shown_ids": ["OPS-777"],
                                                   "helpful": True}).json() == {"recorded": True}
    assert served.admin.delete("/v1/incidents/OPS-777").json()["deleted"] == ["OPS-777"]
    assert served.read.get("/v1/incidents/OPS-777").status_code == 404


def test_a_tools_payload_is_ingested_as_it_comes(served, shared_data):
    page = json.loads((shared_data / "exports/servicenow/xsoar_servicenow_table_api_incidents.json").read_text())
    report = served.write.post("/v1/incidents", json=page).json()
    assert report["files"][0]["format"] == "servicenow" and report["files"][0]["added"] == 3
    closed = served.read.get("/v1/incidents/INC0000001").json()
    assert closed["status"] == "closed" and closed["extra"]["source"] == "servicenow"
    exact = served.read.post("/v1/search", json={"query": "what fixed INC0000001?", "k": 1}).json()
    assert exact["strategy"] == "exact_id" and exact["results"][0]["id"] == "INC0000001"
    broken = served.write.post("/v1/incidents", json={"result": [page["result"][0], {"sys_id": "x"}]}).json()
    assert broken["files"][0]["rejected"][0].startswith("body:2: ")


def deliver(served, source: str, payload: dict, headers: dict | None = None, secret: str | None = None,
            **signing) -> httpx.Response:
    body = json.dumps(payload).encode()
    signature = signed_headers(source, body, secret or SECRETS[source], **signing)
    return httpx.post(f"{served.url}/v1/webhooks/{source}", content=body, timeout=60,
                      headers={"Content-Type": "application/json", **signature, **(headers or {})})


def pagerduty_triggered() -> dict:
    """A PagerDuty v3 webhook as its documentation shows one (values ours)."""
    return {"event": {
        "id": "01DEN9IK5EOKNDXWT5H6QPZCLE", "event_type": "incident.triggered", "resource_type": "incident",
        "occurred_at": "2026-11-28T10:00:00.000Z", "agent": None, "client": None,
        "data": {"id": "Q2UHQ1FOW7L1XB", "type": "incident", "self": "https://api.pagerduty.com/incidents/Q2UHQ1FOW7L1XB",
                 "html_url": "https://acme.pagerduty.com/incidents/Q2UHQ1FOW7L1XB", "number": 4711,
                 "status": "triggered", "incident_key": "upi-5003", "created_at": "2026-11-28T10:00:00Z",
                 "title": "UPI payments failing with error 5003 at the bank gateway",
                 "service": {"id": "PF9KMXH", "summary": "upi-gateway", "type": "service_reference"},
                 "assignees": [], "escalation_policy": {"id": "P1", "summary": "payments"},
                 "teams": [{"id": "P2", "summary": "payments-oncall"}], "priority": None, "urgency": "high",
                 "conference_bridge": None, "resolve_reason": None}}}


def test_webhooks_store_the_incident_and_return_similar_ones(served, shared_data):
    triggered = pagerduty_triggered()
    answer = deliver(served, "pagerduty", triggered).json()
    assert answer["action"] == "added" and answer["id"] == "PD-4711"
    assert answer["similar"]["results"][0]["id"] == "JSP-1001"  # the past UPI 5003 incident, with its fix
    assert answer["similar"]["results"][0]["why"]["resolution"]
    found = served.read.post("/v1/search", json={"query": "UPI error 5003 bank gateway", "k": 3}).json()
    assert "PD-4711" in [hit["id"] for hit in found["results"]]
    note = {"event": {"id": "01DEN9", "event_type": "incident.annotated", "resource_type": "incident",
                      "data": {"incident": {"id": "Q2UHQ1FOW7L1XB", "type": "incident_reference"},
                               "content": "Rolled back the bank connector to 2.3.1; payments recovered",
                               "type": "incident_note"}}}
    assert deliver(served, "pagerduty", note).json()["action"] == "updated"
    note["event"]["data"]["content"] = "Customer card 4111 1111 1111 1111 was charged twice"
    answer = deliver(served, "pagerduty", note).json()
    assert answer["action"] == "updated" and answer["redacted"] == {"card_number": 1}  # counts, never the number
    stored = served.read.get("/v1/incidents/PD-4711").json()
    assert "[card ••••1111]" in json.dumps(stored, ensure_ascii=False) and "4111 1111" not in json.dumps(stored)
    assert "Rolled back" in served.read.get("/v1/incidents/PD-4711").json()["resolution"]

    issues = json.loads((shared_data / "exports/github/betamax_issues_open_asc.json").read_text())
    issue = next(item for item in issues if "pull_request" not in item)
    opened = deliver(served, "github", {"action": "opened", "issue": issue,
                                        "repository": {"full_name": "betamaxpy/betamax"}},
                     headers={"X-GitHub-Event": "issues"}).json()
    assert opened["action"] == "added" and opened["id"] == f"betamaxpy/betamax#{issue['number']}"
    stored = served.read.get(f"/v1/incidents/betamaxpy/betamax%23{issue['number']}").json()  # '#' sent as %23
    assert stored["id"] == opened["id"] and stored["title"] == issue["title"]
    assert served.read.get(f"/v1/incidents/betamaxpy/betamax%23{issue['number']}/similar").status_code == 200
    named = served.read.post("/v1/search", json={"query": f"is betamaxpy/betamax#{issue['number']} fixed?"}).json()
    assert named["strategy"] == "exact_id" and named["results"][0]["id"] == opened["id"]
    assert deliver(served, "github", {"zen": "Keep it logically awesome."},
                   headers={"X-GitHub-Event": "ping"}).json()["action"] == "ignored"

    jira_issue = json.loads((shared_data / "exports/jira/apa_v2_issue_FOO-123.json").read_text())
    created = deliver(served, "jira", {"timestamp": 1764324000000, "webhookEvent": "jira:issue_created",
                                       "issue": jira_issue}).json()
    assert created["action"] == "added" and created["id"] == "FOO-123"

    listed = json.loads((shared_data / "exports/incidentio/incidents_list_v2_example.json").read_text())
    event = "public_incident.incident_created_v2"
    made = deliver(served, "incidentio", {"event_type": event, event: listed["incidents"][0]}).json()
    assert made["action"] == "added" and made["id"] == "INC-123"
    assert served.read.get("/v1/incidents/INC-123").json()["title"] == listed["incidents"][0]["name"]

    from sherlock.audit import entries
    from sherlock.config import load_settings
    webhooks = [(e.actor, e.action, e.target, e.source.split()[0]) for e in entries(load_settings(home=served.home))
                if e.actor.startswith("webhook:")]  # every stored delivery is audited, as the tool, from the API
    assert sorted(webhooks) == sorted([
        ("webhook:pagerduty", "ingest", "webhook pagerduty: PD-4711 added", "api"),
        ("webhook:pagerduty", "ingest", "webhook pagerduty: PD-4711 updated", "api"),
        ("webhook:pagerduty", "ingest", "webhook pagerduty: PD-4711 updated", "api"),
        ("webhook:github", "ingest", f"webhook github: betamaxpy/betamax#{issue['number']} added", "api"),
        ("webhook:jira", "ingest", "webhook jira: FOO-123 added", "api"),
        ("webhook:incidentio", "ingest", "webhook incidentio: INC-123 added", "api")])


@pytest.mark.parametrize("source", sorted(SECRETS))
def test_forged_webhooks_are_refused(served, source):
    payload = pagerduty_triggered()
    refused = deliver(served, source, payload, secret="whsec_Zm9yZ2Vk" if source == "incidentio" else "forged")
    assert refused.status_code == 401 and refused.json()["title"] == "Bad signature"
    unsigned = httpx.post(f"{served.url}/v1/webhooks/{source}", json=payload)
    assert unsigned.status_code == 401 and "not signed" in unsigned.json()["detail"]


def test_a_replayed_incidentio_delivery_is_refused(served):
    old = deliver(served, "incidentio", {"event_type": "public_incident.incident_created_v2"},
                  now=time.time() - 3600)
    assert old.status_code == 401 and re.search(r"3,60\d s old", old.json()["detail"])


def test_the_log_is_json_with_request_ids_and_no_secrets(served):
    response = served.read.post("/v1/search", json={"query": "zebra-striped query text"},
                                headers={"X-Request-ID": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"
    assert len(httpx.get(f"{served.url}/healthz").headers["x-request-id"]) == 32
    time.sleep(0.5)  # the server writes its line after answering
    text = served.log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == "trace-42"]
    assert mine and mine[0]["route"] == "/v1/search" and mine[0]["caller"] == "read-client"
    assert mine[0]["status"] == 200 and mine[0]["ms"] > 0
    assert "zebra" not in text and "Rolled back" not in text
    assert not any(token in text for token in served.tokens.values())
    assert not any(secret in text for secret in SECRETS.values())


def test_metrics_count_webhooks(served):
    assert deliver(served, "github", {}, secret="forged").status_code == 401
    text = httpx.get(f"{served.url}/metrics").text
    assert 'sherlock_webhooks_total{action="refused",source="github"}' in text
