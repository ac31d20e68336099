"""A stand-in for the incident tools' SaaS APIs: a real HTTP server on 127.0.0.1 (stdlib ``http.server`` in a thread,
on a free port) serving the vendors' own sample payloads from ``../shared/data/exports`` (read there, never copied),
replicated and renumbered into as many items as a test asks for, with each API's documented paging and limits —
PagerDuty ``limit``/``offset``/``more``/``total`` with 400s past ``offset+limit`` 10,000 or a window over 6 months,
Jira Cloud ``nextPageToken`` (and only ids unless ``fields`` are asked for) and Server ``startAt``/``total``,
ServiceNow ``sysparm_offset`` with ``X-Total-Count``, GitHub's ``Link`` header, incident.io's ``pagination_meta.after``
— and each vendor's authentication. It can be told to answer 429 with ``Retry-After``, 500, or to hang past the
client's timeout. It is not a mock of Sherlock's code: the sync talks to it over real sockets as it would to the
vendors, and this server knows nothing of Sherlock.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from tests.sync import apis

CREDENTIALS = {"pagerduty_token": "pd-S3CRET-token-7f41", "jira_email": "sre-bot@example.com",
               "jira_token": "jira-S3CRET-token-99ab", "servicenow_user": "sherlock.integration",
               "servicenow_password": "sn-S3CRET-pass-51cd", "github_token": "ghp_S3CRETtoken000000000000000000000000",
               "incidentio_token": "io-S3CRET-key-c0ffee"}
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class Fault:
    """What the server does instead of answering the next requests to ``path`` (after letting ``after`` of them
    through): a status (with ``Retry-After``), a hang, or a body that echoes the request's credentials (a vendor that
    reflects headers in its errors)."""

    path: str
    status: int = 500
    times: int = 1
    after: int = 0
    retry_after: str | None = None
    hang_s: float = 0.0
    echo: bool = False


@dataclass
class Call:
    """A request as the server saw it (never its credentials)."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any = None
    answered: int = 200


@dataclass
class SaaS:
    """The server's state: each source's items, faults to play, and the calls received."""

    exports: Path
    data: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in apis.TIME_OF})
    faults: list[Fault] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    jira_zone: str = "America/New_York"
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- the test's controls ------------------------------------------------------------------------------------------

    def seed(self, source: str, count: int, step: timedelta = timedelta(days=1)) -> list[dict[str, Any]]:
        """``count`` items of ``source`` made from its sample payloads, renumbered, changed ``step`` apart."""
        templates = apis.templates(source, self.exports)
        if source == "pagerduty":
            self.data["pagerduty_notes"] = apis.templates("pagerduty_notes", self.exports)
        self.data[source] = [apis.renumber(source, copy.deepcopy(templates[index % len(templates)]), index,
                                           BASE_TIME + index * step) for index in range(count)]
        return self.data[source]

    def touch(self, source: str, index: int, **changes: Any) -> dict[str, Any]:
        """Change item ``index`` (title, status…) and make it the most recently updated, as an edit in the tool."""
        item = self.data[source][index]
        latest = max(apis.updated(source, other) for other in self.data[source])
        apis.change(source, item, latest + timedelta(hours=1), changes)
        return item

    def fail(self, path: str, status: int = 500, *, times: int = 1, after: int = 0, retry_after: str | None = None,
             echo: bool = False) -> None:
        self.faults.append(Fault(path, status, times, after, retry_after, echo=echo))

    def hang(self, path: str, seconds: float, *, times: int = 1) -> None:
        self.faults.append(Fault(path, 200, times, hang_s=seconds))

    def seen(self, path: str, method: str = "GET") -> list[Call]:
        """The calls to exactly ``path`` (answered or not), in order."""
        return [call for call in self.calls if call.path == path and call.method == method]

    # -- serving ------------------------------------------------------------------------------------------------------

    def start(self) -> SaaS:
        saas = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def do_GET(self) -> None:
                saas.serve(self, "GET")

            def do_POST(self) -> None:
                saas.serve(self, "POST")

            def log_message(self, *args: Any) -> None:  # quiet: the calls are recorded instead
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        call = Call(method, parts.path, parse_qs(parts.query, keep_blank_values=True),
                    json.loads(raw) if raw else None)
        with self._lock:
            self.calls.append(call)
            fault = self._fault(parts.path)
        if fault is not None and fault.hang_s:
            self._stop.wait(fault.hang_s)
            status, headers, payload = 200, {}, {}
        elif fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            detail = handler.headers.get("Authorization", "") if fault.echo else "try again later"
            status, payload = fault.status, {"error": {"message": f"simulated failure: {detail}"}}
        else:
            status, headers, payload = self.route(method, parts.path, call, handler.headers.get("Authorization", ""))
        call.answered = status
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:  # the client gave up waiting (a hang past its timeout)
            pass

    def _fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if path == fault.path and fault.times > 0:
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.times -= 1
                return fault
        return None

    def route(self, method: str, path: str, call: Call, authorization: str) -> tuple[int, dict[str, str], Any]:
        """The vendor API that owns ``path``: its credentials checked, then its answer."""
        for verb, pattern, source, key, answer in apis.ROUTES:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                if authorization not in accepted(source):
                    return 401, {}, {"error": {"message": "Unauthorized"}}
                with self._lock:
                    items = list(self.data.get(key, []))
                params = {key: values[-1] for key, values in call.query.items()}
                request = apis.Request(params, call.query, call.body, self.url, match.groups(),
                                       ZoneInfo(self.jira_zone))
                return answer(request, items)
        return 404, {}, {"error": {"message": f"no route {method} {path}"}}


def accepted(source: str) -> set[str]:
    """The ``Authorization`` values each vendor accepts for the test credentials."""
    def basic(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    c = CREDENTIALS
    return {"pagerduty": {f"Token token={c['pagerduty_token']}"},
            "jira": {basic(c["jira_email"], c["jira_token"]), f"Bearer {c['jira_token']}"},
            "servicenow": {basic(c["servicenow_user"], c["servicenow_password"])},
            "github": {f"Bearer {c['github_token']}"},
            "incidentio": {f"Bearer {c['incidentio_token']}"}}[source]

