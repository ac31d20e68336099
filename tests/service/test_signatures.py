"""Webhook signatures against the vendors' own published examples, and what each verifier refuses."""

import pytest

from sherlock.service.signatures import VERIFIERS, SignatureError, signed_headers, svix_key


def lower(headers: dict) -> dict:
    return {key.lower(): value for key, value in headers.items()}


def test_github_matches_its_documented_example():
    # docs.github.com, "Validating webhook deliveries": this secret and payload give this signature
    headers = signed_headers("github", b"Hello, World!", "It's a Secret to Everybody")
    assert headers == {"X-Hub-Signature-256":
                       "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}


def test_incidentio_matches_the_svix_documented_example():
    # docs.svix.com, "Verifying webhooks manually": the example secret, id, timestamp and body
    headers = signed_headers("incidentio", b'{"test": 2432232314}', "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                             now=1614265330, message_id="msg_p5jXN8AQM9LWM0D4loKWxJek")
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    VERIFIERS["incidentio"](lower(headers), b'{"test": 2432232314}', "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                            1614265330 + 10, 300)


@pytest.mark.parametrize("source", sorted(VERIFIERS))
def test_each_verifier_accepts_its_own_and_refuses_a_changed_body(source):
    secret = "whsec_c2VjcmV0LWtleQ==" if source == "incidentio" else "secret-key"
    body = b'{"title": "UPI down"}'
    headers = lower(signed_headers(source, body, secret, now=1_000_000))
    VERIFIERS[source](headers, body, secret, 1_000_000, 300)
    with pytest.raises(SignatureError, match="does not match"):
        VERIFIERS[source](headers, b'{"title": "UPI up"}', secret, 1_000_000, 300)
    with pytest.raises(SignatureError, match="not signed"):
        VERIFIERS[source]({}, body, secret, 1_000_000, 300)


def test_pagerduty_accepts_any_of_several_signatures_while_a_secret_rotates():
    body = b"{}"
    new = signed_headers("pagerduty", body, "new-secret")["X-PagerDuty-Signature"]
    rotating = {"x-pagerduty-signature": f"v1=00ff,{new}"}
    VERIFIERS["pagerduty"](rotating, body, "new-secret", 0, 300)


def test_svix_timestamps_outside_the_window_are_refused():
    secret, body = "whsec_c2VjcmV0LWtleQ==", b"{}"
    headers = lower(signed_headers("incidentio", body, secret, now=1_000_000))
    with pytest.raises(SignatureError, match="600 s old"):
        VERIFIERS["incidentio"](headers, body, secret, 1_000_600, 300)
    with pytest.raises(SignatureError, match="in the future"):
        VERIFIERS["incidentio"](headers, body, secret, 999_000, 300)
    svix = {key.replace("webhook-", "svix-"): value for key, value in headers.items()}
    VERIFIERS["incidentio"](svix, body, secret, 1_000_000, 300)  # the svix- header names are accepted too


def test_a_malformed_svix_secret_says_what_it_should_look_like():
    with pytest.raises(ValueError, match="whsec_<base64>"):
        svix_key("whsec_not base64!")
