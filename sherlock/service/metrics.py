"""The API's Prometheus metrics (prometheus-client), one registry per app: requests and latency by route and status,
searches and abstentions, answers by provider and Gemini fallbacks, ingested and rejected records, and, read at
each scrape, the index revision and the delta segment's size.

With ``--workers N`` each worker process counts its own requests (a scrape reaches one of them); the index gauges
are the same in every worker.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: Latency buckets in seconds: search answers in milliseconds, an ingest or a first request in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The counters and gauges of one app (its own registry, so two apps in one process never collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("sherlock_http_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("sherlock_http_request_duration_seconds", "HTTP request latency by route",
                                 ["route", "method"], buckets=BUCKETS, registry=r)
        self.searches = Counter("sherlock_searches", "searches by strategy (hybrid, exact_id, similar)",
                                ["strategy"], registry=r)
        self.abstentions = Counter("sherlock_abstentions", "searches that found no matching incident",
                                   ["strategy"], registry=r)
        self.answers = Counter("sherlock_answers", "answers by provider", ["provider"], registry=r)
        self.gemini_fallbacks = Counter("sherlock_gemini_fallbacks", "answers that fell back from Gemini to the "
                                        "extractive answer", registry=r)
        self.records = Counter("sherlock_ingested_records", "records ingested through the API by outcome",
                               ["outcome"], registry=r)
        self.webhooks = Counter("sherlock_webhooks", "webhook deliveries by source and what was done (added, "
                                "updated, unchanged, ignored, refused)", ["source", "action"], registry=r)
        self.revision = Gauge("sherlock_index_revision", "the store revision the indexes serve", registry=r)
        self.delta = Gauge("sherlock_delta_segment_incidents", "incidents in the delta segment (0 after a merge)",
                           registry=r)

    def searched(self, response: Any) -> None:
        self.searches.labels(response.strategy).inc()
        if response.abstained:
            self.abstentions.labels(response.strategy).inc()

    def answered(self, answer: Any, gemini_configured: bool) -> None:
        self.answers.labels(answer.provider).inc()
        if gemini_configured and answer.provider != "gemini" and answer.note:
            self.gemini_fallbacks.inc()

    def ingested(self, report: dict[str, Any]) -> None:
        for file in report["files"]:
            self.records.labels("stored").inc(file["added"] + file["updated"])
            self.records.labels("unchanged").inc(file["unchanged"])
            self.records.labels("rejected").inc(len(file["rejected"]))

    def scrape(self, workspace: Any | None) -> bytes:
        """The text exposition, with the index gauges read now (when the workspace is open)."""
        if workspace is not None:
            snapshot = workspace.lexical()
            self.revision.set(snapshot.revision)
            self.delta.set(len(snapshot.delta) if snapshot.delta is not None else 0)
        return generate_latest(self.registry)
