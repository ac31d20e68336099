"""What the API serves from: the workspace, its searcher, answerer and similar-incidents finder, opened once per
process in a background thread, with the feedback store opened on the first vote; and the helpers routes share
(filters, ingesting a body)."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import Depends, Request

from sherlock.config import Settings
from sherlock.service.problems import ServiceError


class Service:
    """The workspace and its readers, opened once per process (in a background thread: ``/healthz`` answers at
    once, every route that needs the workspace answers 503 with ``Retry-After`` until it is open)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.error: str | None = None
        self._ready = threading.Event()
        self._feedback: Any = None
        self._feedback_lock = threading.Lock()
        threading.Thread(target=self._open, name="sherlock-open", daemon=True).start()

    def _open(self) -> None:
        try:
            from sherlock.answer.answerer import Answerer
            from sherlock.search.searcher import Searcher
            from sherlock.search.similar import SimilarFinder
            from sherlock.storage.workspace import Workspace
            self.workspace = Workspace(self.settings)
            self.workspace.prepare()
            self.searcher = Searcher(self.workspace)
            self.answerer = Answerer(self.searcher)
            self.finder = SimilarFinder(self.workspace)
        except Exception as exc:  # noqa: BLE001 - reported by /readyz, the process stays up to say so
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._ready.set()

    @property
    def feedback(self) -> Any:
        """The workspace's feedback store (its SQLite file, or the shared store of ``store_url``), opened on the first
        vote and kept for the process: opening one per request checked its tables on every vote."""
        with self._feedback_lock:
            if self._feedback is None:
                from sherlock.storage.feedback import open_feedback
                self._feedback = open_feedback(self.settings)
            return self._feedback

    def is_open(self) -> bool:
        """Whether the workspace opened (without waiting)."""
        return self._ready.is_set() and self.error is None

    def ready(self, wait: float = 0.0) -> Service:
        """This service once its workspace is open; a 503 problem while it is opening or if it could not open."""
        if not self._ready.wait(wait):
            raise ServiceError(503, "Starting", "the workspace is still opening (embedding the demo corpus on a "
                               "first start takes about a minute); retry shortly", {"Retry-After": "5"})
        if self.error:
            raise ServiceError(503, "Workspace unusable", f"the workspace at {self.settings.home} could not be opened: "
                               f"{self.error}")
        return self


def filters_from(given: dict[str, str | int | list[str]]) -> Any:
    """``{"service": "refunds-api", "severity": ["SEV1", "SEV2"]}`` as the CLI's ``--filter`` options read them."""
    from sherlock.storage.store import Filters
    return Filters.parse([f"{key}={','.join(value) if isinstance(value, list) else value}"
                          for key, value in given.items()])


def ingest_body(workspace: Any, body: Any) -> dict[str, Any]:
    """Ingest a JSON body as ``sherlock ingest`` ingests a file: canonical incidents (one, a list, or
    ``{"incidents": [...]}``) or a tool's payload (a PagerDuty, Jira, ServiceNow, incident.io, Opsgenie, Rootly,
    Statuspage or GitHub page, envelope or item, detected by shape as ingest detects it). The records are written to
    a private file in the workspace's uploads folder, read and validated there, then removed; rejected records are
    named ``body:N`` (the record's place among the body's records, from 1)."""
    import json
    import uuid

    from sherlock.storage.importers import detect_source, importer
    source = detect_source(body)
    if source is not None:
        records = importer(source).records(body)
    elif isinstance(body, dict) and isinstance(body.get("incidents"), list):
        records = body["incidents"]
    else:
        records = body if isinstance(body, list) else [body]
    folder = workspace.settings.home / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"api-{uuid.uuid4().hex}.json"
    # one record per line, so a rejection's line number is the record's position in the body
    path.write_text("[\n" + ",\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n]\n",
                    encoding="utf-8")
    try:
        report = workspace.ingest([path], fmt=source or "json")
    finally:
        path.unlink(missing_ok=True)
    data = report.as_dict()
    for file, reported in zip(data["files"], report.files, strict=True):
        # line 1 of the file is the opening bracket: record N is on line N + 1
        file.update(path="body", rejected=[f"body:{r.line - 1}: {r.reason}" for r in reported.rejected],
                    error=reported.error.replace(str(path), "body") if reported.error else None)
    return data


def running(request: Request) -> Service:
    """FastAPI dependency: the app's service once its workspace is open (waiting up to 30 s for it), else 503."""
    service: Service = request.app.state.service
    return service.ready(wait=30)


#: A route parameter ``service: Running`` receives the open service (see :func:`running`).
Running = Annotated[Service, Depends(running)]
