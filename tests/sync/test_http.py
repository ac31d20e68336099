"""The sync's HTTP client against the stand-in SaaS server (a real local HTTP server playing the vendors' APIs, not a
mock of Sherlock's code): Retry-After in seconds and as an HTTP date, backoff with jitter, bounded retries, a timeout
on every call, refusals that name the call and never the credentials."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from sherlock.sync.http import Client, SyncError
from tests.sync.saas import CREDENTIALS

TOKEN = CREDENTIALS["incidentio_token"]
PATH = "/v2/incidents"


@pytest.fixture
def client(saas, sleeps):
    """A client of the server's incident.io API that records its waits (jitter fixed at its maximum)."""
    saas.seed("incidentio", 2)

    def make(token: str = TOKEN, **options) -> Client:
        settings = {"retries": 3, "backoff_s": 0.5, "timeout_s": 5.0, "sleep": sleeps.append,
                    "jitter": lambda: 1.0, **options}
        return Client(saas.url, headers={"Authorization": f"Bearer {token}"}, secrets=[token],
                      credential_hint="SHERLOCK_INCIDENTIO_TOKEN", **settings)

    return make


def test_a_429_waits_as_long_as_retry_after_says_then_succeeds(saas, client, sleeps):
    saas.fail(PATH, 429, retry_after="7")
    with client() as http:
        response = http.get(PATH)
        assert response.status_code == 200 and len(response.json()["incidents"]) == 2
        assert http.retries_done == 1
    assert sleeps == [7.0]
    assert [call.answered for call in saas.seen(PATH)] == [429, 200]


def test_retry_after_as_an_http_date_is_read_against_the_clock(saas, client, sleeps):
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    saas.fail(PATH, 503, retry_after=format_datetime(now.replace(second=30), usegmt=True))
    with client(clock=now.timestamp) as http:
        http.get(PATH)
    assert sleeps == [30.0]


@pytest.mark.parametrize(("jitter", "expected"), [(1.0, [0.5, 1.0, 2.0]), (0.0, [0.25, 0.5, 1.0])])
def test_without_retry_after_the_wait_doubles_with_jitter_in_its_upper_half(saas, client, sleeps, jitter, expected):
    saas.fail(PATH, 500, times=3)
    with client(jitter=lambda: jitter) as http:
        assert http.get(PATH).status_code == 200
    assert sleeps == expected


def test_after_the_last_retry_the_error_names_the_call_not_the_credentials(saas, client, sleeps):
    saas.fail(PATH, 502, times=10, echo=True)
    with client(retries=2) as http, pytest.raises(SyncError) as caught:
        http.get(PATH)
    message = str(caught.value)
    assert "GET /v2/incidents: 502 Bad Gateway, 3 tries in all" in message
    assert "try again later" in message
    assert TOKEN not in message
    assert len(sleeps) == 2 and len(saas.seen(PATH)) == 3


def test_every_call_has_a_timeout(saas, client, sleeps):
    saas.hang(PATH, 5.0, times=5)
    started = time.monotonic()
    with client(timeout_s=0.3, retries=1) as http, pytest.raises(SyncError, match=r"no answer within 0.3 s, 2 tries"):
        http.get(PATH)
    assert time.monotonic() - started < 3.0
    assert len(sleeps) == 1


def test_refused_credentials_are_not_retried_and_the_message_says_what_to_set(saas, client, sleeps):
    with client(token="io-wrong-key") as http, pytest.raises(SyncError) as caught:
        http.get(PATH)
    assert "GET /v2/incidents: 401 Unauthorized" in str(caught.value)
    assert "check SHERLOCK_INCIDENTIO_TOKEN" in str(caught.value)
    assert "io-wrong-key" not in str(caught.value)
    assert sleeps == [] and len(saas.seen(PATH)) == 1


def test_a_vendor_that_echoes_the_credentials_gets_them_redacted(saas, client):
    saas.fail(PATH, 400, echo=True)
    with client() as http, pytest.raises(SyncError) as caught:
        http.get(PATH)
    assert "Bearer ***" in str(caught.value) and TOKEN not in str(caught.value)


def test_a_wait_longer_than_fifteen_minutes_stops_the_sync_instead(saas, client, sleeps):
    saas.fail(PATH, 429, retry_after="3600")
    with client() as http, pytest.raises(SyncError, match="asks to wait 3600 s"):
        http.get(PATH)
    assert sleeps == []


def test_credentials_are_never_sent_to_another_host(saas, client):
    with client() as http, pytest.raises(SyncError, match="another host"):
        http.get("https://elsewhere.example/v2/incidents")
    assert saas.calls == []


def test_a_closed_port_is_retried_then_reported(sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", retries=1, sleep=sleeps.append, backoff_s=0.01) as http, \
            pytest.raises(SyncError, match=r"GET /incidents: connection failed \(ConnectError\), 2 tries"):
        http.get("/incidents")
    assert len(sleeps) == 1
