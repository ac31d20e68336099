"""The webhook signature schemes of the incident tools, each checked against the raw body before it is parsed.

| source     | header(s)                                              | signed bytes              | replay window |
|------------|--------------------------------------------------------|---------------------------|---------------|
| pagerduty  | ``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]``      | the body                  | none          |
| github     | ``X-Hub-Signature-256: sha256=<hex>``                  | the body                  | none          |
| jira       | ``X-Hub-Signature: sha256=<hex>`` (admin webhooks)     | the body                  | none          |
| incidentio | ``webhook-id``, ``webhook-timestamp``,                 | ``id.timestamp.body``     | ± tolerance   |
|            | ``webhook-signature: v1,<base64> ...`` (Svix; also     |                           |               |
|            | ``svix-*``), secret ``whsec_<base64 key>``             |                           |               |

All are HMAC-SHA256, compared in constant time; several signatures in one header (a secret being rotated) are each
tried. Written here on the standard library's ``hmac`` rather than with the vendors' SDKs: each scheme is one HMAC,
and the SDKs would bring whole API clients for it. :func:`signed_headers` makes the headers a vendor would send, for
tests, benchmarks and trying a webhook with curl.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping


class SignatureError(Exception):
    """The request is not signed by the source's secret (or is a replay): answered 401, saying which header."""


def _hex(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def _any_equal(expected: str, given: list[str]) -> bool:
    return any(hmac.compare_digest(expected, candidate.strip()) for candidate in given)


def _header(headers: Mapping[str, str], *names: str) -> str:
    for name in names:
        if headers.get(name):
            return headers[name]
    raise SignatureError(f"no {names[0]} header: the request is not signed; set the webhook's signing secret in "
                         "the tool and the same secret in Sherlock")


def verify_pagerduty(headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: float) -> None:
    given = _header(headers, "x-pagerduty-signature").split(",")
    if not _any_equal("v1=" + _hex(secret.encode(), body), given):
        raise SignatureError("X-PagerDuty-Signature does not match the body: check that SHERLOCK_WEBHOOK_SECRET_"
                             "PAGERDUTY is the subscription's signing secret")


def verify_github(headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: float) -> None:
    given = [_header(headers, "x-hub-signature-256")]
    if not _any_equal("sha256=" + _hex(secret.encode(), body), given):
        raise SignatureError("X-Hub-Signature-256 does not match the body: check that SHERLOCK_WEBHOOK_SECRET_GITHUB "
                             "is the webhook's secret")


def verify_jira(headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: float) -> None:
    given = [_header(headers, "x-hub-signature")]
    if not _any_equal("sha256=" + _hex(secret.encode(), body), given):
        raise SignatureError("X-Hub-Signature does not match the body: check that SHERLOCK_WEBHOOK_SECRET_JIRA is "
                             "the secret entered when the Jira webhook was created")


def svix_key(secret: str) -> bytes:
    """The HMAC key of a Svix secret (``whsec_`` + base64)."""
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the incident.io webhook secret must look like whsec_<base64>, as incident.io shows it "
                         "(Settings > Webhooks > signing secret)") from None


def verify_incidentio(headers: Mapping[str, str], body: bytes, secret: str, now: float, tolerance: float) -> None:
    message_id = _header(headers, "webhook-id", "svix-id")
    stamp = _header(headers, "webhook-timestamp", "svix-timestamp")
    given = _header(headers, "webhook-signature", "svix-signature")
    if not stamp.isdigit():
        raise SignatureError(f"webhook-timestamp {stamp[:20]!r} is not seconds since the epoch")
    age = now - int(stamp)
    if abs(age) > tolerance:
        raise SignatureError(f"webhook-timestamp is {abs(age):,.0f} s {'old' if age > 0 else 'in the future'} "
                             f"(the window is {tolerance:g} s): a replayed or delayed delivery, refused; check the "
                             "server's clock if every delivery is refused")
    signed = f"{message_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(svix_key(secret), signed, hashlib.sha256).digest()).decode()
    candidates = [part.partition(",")[2] for part in given.split() if part.startswith("v1,")]
    if not _any_equal(expected, candidates):
        raise SignatureError("webhook-signature does not match the body: check that SHERLOCK_WEBHOOK_SECRET_"
                             "INCIDENTIO is the endpoint's signing secret (whsec_...)")


Verifier = Callable[[Mapping[str, str], bytes, str, float, float], None]

VERIFIERS: dict[str, Verifier] = {
    "pagerduty": verify_pagerduty, "github": verify_github, "jira": verify_jira, "incidentio": verify_incidentio,
}


def signed_headers(source: str, body: bytes, secret: str, now: float | None = None,
                   message_id: str | None = None) -> dict[str, str]:
    """The signature headers ``source`` would send with ``body`` (the inverse of its verifier)."""
    if source == "pagerduty":
        return {"X-PagerDuty-Signature": "v1=" + _hex(secret.encode(), body)}
    if source == "github":
        return {"X-Hub-Signature-256": "sha256=" + _hex(secret.encode(), body)}
    if source == "jira":
        return {"X-Hub-Signature": "sha256=" + _hex(secret.encode(), body)}
    if source == "incidentio":
        stamp = str(int(time.time() if now is None else now))
        message_id = message_id or f"msg_{uuid.uuid4().hex}"
        digest = hmac.new(svix_key(secret), f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        return {"webhook-id": message_id, "webhook-timestamp": stamp,
                "webhook-signature": "v1," + base64.b64encode(digest).decode()}
    raise ValueError(f"unknown webhook source {source!r}; choose one of: {', '.join(VERIFIERS)}")
