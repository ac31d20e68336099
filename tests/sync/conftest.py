"""Fixtures of the live-sync tests: the stand-in SaaS server (:mod:`tests.sync.saas` — a real HTTP server on
127.0.0.1 playing the vendors' APIs over their own sample payloads; it stands in for PagerDuty, Jira, ServiceNow,
GitHub and incident.io, it is not a mock of Sherlock's code), settings that point every source at it, and a
workspace (demo off) to sync into."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.sync.saas import CREDENTIALS, SaaS


@pytest.fixture
def saas(shared_data) -> Iterator[SaaS]:
    """A fresh server per test, holding nothing until the test seeds a source (``saas.seed("jira", 10)``)."""
    server = SaaS(shared_data / "exports").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sync_overrides(saas) -> dict[str, Any]:
    """Settings that point each source at the server, with its credentials, pages of 3 stored one at a time, and
    short retries (the tests that count waits inject their own sleep)."""
    return {"pagerduty_url": saas.url, "jira_url": saas.url, "jira_api_version": "3", "servicenow_url": saas.url,
            "github_url": saas.url, "github_repo": "betamaxpy/betamax", "incidentio_url": saas.url, **CREDENTIALS,
            "sync_page_size": 3, "sync_batch_size": 3, "sync_retries": 2, "sync_backoff_s": 0.01,
            "sync_timeout_s": 10.0}


@pytest.fixture
def sync_settings(tmp_path, sync_overrides, monkeypatch):
    """Settings for paging tests that need no workspace."""
    from sherlock.config import load_settings
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    return lambda **more: load_settings(home=tmp_path / "settings-only", **{**sync_overrides, **more})


@pytest.fixture
def sync_workspace(workspace_factory, sync_overrides):
    """``sync_workspace(**settings)`` → an empty workspace (demo off) whose sources point at the server."""
    return lambda name="sync-home", **more: workspace_factory(name, demo=False, **{**sync_overrides, **more})


@pytest.fixture
def sleeps() -> list[float]:
    """The waits a sync asked for, when its ``sleep`` is ``sleeps.append``."""
    return []
