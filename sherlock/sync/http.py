"""The one HTTP client of live sync: a time bound on every call, bounded retries of what may pass (429, 5xx, a
timeout, a dropped connection), ``Retry-After`` honoured (seconds or an HTTP date, RFC 9110 §10.2.3), else
exponential backoff with jitter ("equal jitter": half the doubled wait fixed, half random — AWS Architecture Blog,
"Exponential Backoff and Jitter", 2015). GitHub's rate limit (403 with ``x-ratelimit-remaining: 0``) waits until
``x-ratelimit-reset``.

Errors name the method and URL path and what to do, never a credential: every message passes through a redaction of
the client's secrets, and nothing here logs headers. ``sleep``, ``clock`` and ``jitter`` are injectable for tests.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

#: The longest wait a server may ask for before the sync gives up instead (a person can run it again later).
MAX_WAIT_S = 900.0
#: The longest backoff between two tries when the server names no wait.
MAX_BACKOFF_S = 60.0


class SyncError(RuntimeError):
    """A sync that cannot go on: which call failed, how, and what to do. Never holds a credential."""


class Client:
    """``httpx.Client`` around one API's base URL with the retry policy above. ``credential_hint`` names the
    settings to check when the API refuses the credentials (401/403); ``secrets`` are redacted from every message.
    ``retries_done`` counts the retries made, for the sync summary."""

    def __init__(self, base_url: str, *, headers: Mapping[str, str] | None = None, auth: tuple[str, str] | None = None,
                 timeout_s: float = 30.0, retries: int = 5, backoff_s: float = 1.0, credential_hint: str = "",
                 secrets: Sequence[str] = (), sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, jitter: Callable[[], float] = random.random) -> None:
        self.base_url = httpx.URL(base_url)
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.credential_hint = credential_hint
        self.sleep, self.clock, self.jitter = sleep, clock, jitter
        self.retries_done = 0
        self._secrets = [secret for secret in secrets if secret]
        self._http = httpx.Client(base_url=base_url, headers=dict(headers or {}), auth=auth,
                                  timeout=httpx.Timeout(timeout_s), follow_redirects=False)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(self, url: str, params: Any = None) -> httpx.Response:
        """``GET url`` (a path under the base URL, or an absolute URL on the same origin, as a ``Link`` gives)."""
        return self.request("GET", url, params=params)

    def post(self, url: str, json: Any = None) -> httpx.Response:
        return self.request("POST", url, json=json)

    def request(self, method: str, url: str, *, params: Any = None, json: Any = None) -> httpx.Response:
        """One call with retries; a 2xx/3xx response, or :class:`SyncError` after a refusal or the last retry."""
        request = self._http.build_request(method, url, params=params, json=json)
        where = f"{method} {request.url.path}"
        if (request.url.scheme, request.url.host, request.url.port) != \
                (self.base_url.scheme, self.base_url.host, self.base_url.port):
            raise SyncError(f"{where}: the API pointed to another host ({request.url.host}); not following it "
                            "with this source's credentials")
        problem = ""
        for attempt in range(self.retries + 1):
            try:
                response = self._http.send(request)
            except httpx.TimeoutException:
                problem, delay = f"no answer within {self.timeout_s:g} s", self.backoff(attempt)
            except httpx.TransportError as exc:
                problem, delay = f"connection failed ({type(exc).__name__})", self.backoff(attempt)
            else:
                if response.status_code < 400:
                    return response
                if not self._passing(response):
                    raise SyncError(self._redact(self._refusal(where, response)))
                problem, delay = f"{response.status_code} {response.reason_phrase}", self.wait(response, attempt)
                if delay > MAX_WAIT_S:
                    raise SyncError(f"{where}: {problem}; the API asks to wait {delay:.0f} s, longer than "
                                    f"{MAX_WAIT_S:.0f} s: try again later")
            if attempt == self.retries:
                break
            self.retries_done += 1
            log.warning("%s: %s; retry %d of %d in %.1f s", where, problem, attempt + 1, self.retries, delay)
            self.sleep(delay)
        raise SyncError(self._redact(f"{where}: {problem}, {self.retries + 1} tries in all; the API may be down or "
                                     "limiting this client: try again later, or raise sync_retries / "
                                     "sync_timeout_s"))

    def backoff(self, attempt: int) -> float:
        """The wait before retry ``attempt + 1`` when the server names none: doubling from ``backoff_s``, capped,
        the second half of it random."""
        ceiling = min(MAX_BACKOFF_S, self.backoff_s * 2 ** attempt)
        return ceiling / 2 + ceiling / 2 * self.jitter()

    def wait(self, response: httpx.Response, attempt: int) -> float:
        """How long to wait after a passing refusal: ``Retry-After`` (seconds or an HTTP date), GitHub's
        ``x-ratelimit-reset`` when none is left, else :meth:`backoff`."""
        retry_after = response.headers.get("retry-after", "").strip()
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - self.clock())
            except (TypeError, ValueError):
                log.info("unreadable Retry-After %r; backing off instead", retry_after[:40])
        reset = response.headers.get("x-ratelimit-reset")
        if response.headers.get("x-ratelimit-remaining") == "0" and reset and reset.isdigit():
            return max(0.0, int(reset) - self.clock())
        return self.backoff(attempt)

    def _passing(self, response: httpx.Response) -> bool:
        """Whether a refusal may pass with time: 429, 5xx, or a rate-limited 403 (GitHub's secondary limits)."""
        status = response.status_code
        if status == 429 or status >= 500:
            return True
        return status == 403 and ("retry-after" in response.headers
                                  or response.headers.get("x-ratelimit-remaining") == "0")

    def _refusal(self, where: str, response: httpx.Response) -> str:
        status = f"{response.status_code} {response.reason_phrase}"
        detail = " ".join(response.text.split())[:300]
        message = f"{where}: {status}" + (f" ({detail})" if detail else "")
        if response.status_code in (401, 403) and self.credential_hint:
            return f"{message}; the API refused the credentials: check {self.credential_hint}"
        if response.status_code == 404:
            return f"{message}; check the source's URL setting and the names in it"
        return message

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def body(response: httpx.Response) -> Any:
    """A response's JSON, or :class:`SyncError` saying what came instead (a login page, a proxy's HTML)."""
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        raise SyncError(f"{response.request.method} {response.request.url.path}: the answer is not JSON ({kind}); "
                        "check the source's URL setting") from None
