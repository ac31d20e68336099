"""Each redaction rule on what it must replace (the whole output written out) and on look-alikes it must keep."""

import pytest

from sherlock.redaction import RULES, Redactor, custom_rule, select_rules

REDACTOR = Redactor(select_rules(emails=True))

#: (rule, text, the text redacted): every built-in rule at least once, context kept around each secret.
POSITIVES = [
    ("card_number", "card 4111 1111 1111 1111 declined", "card [card ••••1111] declined"),
    ("card_number", "pan=4111111111111111", "pan=[card ••••1111]"),
    ("card_number", "Mastercard 5500-0000-0000-0004 refunded", "Mastercard [card ••••0004] refunded"),
    ("card_number", "amex 378282246310005.", "amex [card ••••0005]."),
    ("card_number", "amex 3782-822463-10005", "amex [card ••••0005]"),
    ("card_number", "card 4111 1111 1111 1111 12/27 cvv ok", "card [card ••••1111] 12/27 cvv ok"),
    ("card_number", "cards 4111111111111111 5500000000000004", "cards [card ••••1111] [card ••••0004]"),
    ("card_number", "qty 2 4111 1111 1111 1111", "qty 2 [card ••••1111]"),
    ("card_number", "/v1/cards/4012888888881881/refund", "/v1/cards/[card ••••1881]/refund"),
    ("card_number", "13-digit visa 4222222222222", "13-digit visa [card ••••2222]"),
    ("aws_access_key", "key AKIAIOSFODNN7EXAMPLE leaked", "key [redacted:aws_access_key] leaked"),
    ("aws_access_key", "session ASIAY34FZKBOKMUTVV7A", "session [redacted:aws_access_key]"),
    ("aws_secret_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "aws_secret_access_key = [redacted:aws_secret_key]"),
    ("aws_secret_key", '"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
     '"SecretAccessKey": "[redacted:aws_secret_key]"'),
    ("bearer_token", "curl -H 'Authorization: Bearer abc.def-ghi_jkl' https://api",
     "curl -H 'Authorization: Bearer [redacted:bearer_token]' https://api"),
    ("bearer_token", "sent bearer 9f8e7d6c5b4a3210 twice", "sent bearer [redacted:bearer_token] twice"),
    ("basic_auth", "Authorization: Basic dXNlcjpodW50ZXIy", "Authorization: Basic [redacted:basic_auth]"),
    ("private_key", "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAxq3Rk\nq1w2e3r4t5y6==\n"
     "-----END RSA PRIVATE KEY-----\nrotated it", "key:\n[redacted:private_key]\nrotated it"),
    ("private_key", "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA -----END OPENSSH PRIVATE KEY-----",
     "[redacted:private_key]"),
    ("private_key", "pasted (cut off):\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yBR\n"
     "AwEHoUQDQgAEm4k\n\nThe key was revoked.", "pasted (cut off):\n[redacted:private_key]\n\nThe key was revoked."),
    ("url_password", "DATABASE_URL=postgres://deploy:s3cr3t!@db.internal:5432/app",
     "DATABASE_URL=postgres://deploy:[redacted:url_password]@db.internal:5432/app"),
    ("url_password", "amqp://guest:p@ss@rabbit/", "amqp://guest:[redacted:url_password]@rabbit/"),
    ("password", "login failed with password=hunter2 for admin", "login failed with password=[redacted:password] "
     "for admin"),
    ("password", "passwd: tr0ub4dor&3", "passwd: [redacted:password]&3"),
    ("password", 'config {"db_password": "correct horse battery"}', 'config {"db_password": [redacted:password]}'),
    ("password", "pwd='s p a c e' secret=xyz API_KEY=abc123", "pwd=[redacted:password] secret=[redacted:password] "
     "API_KEY=[redacted:password]"),
    ("password", "?user=a&api-key=Zm9v&page=2", "?user=a&api-key=[redacted:password]&page=2"),
    ("jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok",
     "token [redacted:jwt] ok"),
    ("github_token", "GH_TOKEN ghp_" + "a1B2" * 9 + " expired", "GH_TOKEN [redacted:github_token] expired"),
    ("github_token", "github_pat_11ABCDEFG0123456789abc_" + "x" * 59, "[redacted:github_token]"),
    ("slack_token", "bot xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx posted",
     "bot [redacted:slack_token] posted"),
    ("slack_webhook", "alerts to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
     "alerts to https://hooks.slack.com/services/[redacted:slack_webhook]"),
    ("stripe_key", "STRIPE sk_live_4eC39HqLyjWDarjtT1zdp7dc", "STRIPE [redacted:stripe_key]"),
    ("google_api_key", "GEMINI_API_KEY AIzaSyA1234567890abcdefghijklmnopqrstuv",
     "GEMINI_API_KEY [redacted:google_api_key]"),
    ("email", "paged ana.lopez+oncall@payments.example.com at 02:00", "paged [redacted:email] at 02:00"),
]

#: Look-alikes no rule may touch: Luhn-invalid card-shaped numbers, phone numbers, timestamps, ids, prose.
NEGATIVES = [
    "order 4111 1111 1111 1112 was refunded",  # one digit off a test card: fails the Luhn check
    "order id 1234567812345678",  # Luhn-invalid, and a 1 is no issuer's first digit
    "epoch 1712345678901 ms",  # 13 digits starting with 1
    "call +1 415 555 0100 or +44 20 7946 0958",
    "phone +49 4111 1111 1111 1111",  # after a + it is a phone number, whatever it spells
    "ORD-4111111111111111 shipped",  # glued to an id prefix
    "txn 4111111111111111abc",  # glued to letters: not a number on its own
    "at 2024-03-12 10:15:00.123456 UTC",
    "amount 4111111111111111.50 INR",
    "ip 10.4.111.111 version 4.1.11.1111",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "AKIA is the prefix of AWS key ids; AKIAshort is not one",
    "the bearer of bad news",
    "Bearer token expired",
    "password reset for 14 users; the secret santa list; passwords rotated",
    "see https://example.com:8443/path and ssh://git@github.com/org/repo",
    "ghp_short and xoxb-1 are fragments",
    "eyJ appears in base64 of JSON; eyJhbGciOiJIUzI1NiJ9 alone is a header",
    "BEGIN PUBLIC KEY and -----BEGIN CERTIFICATE----- MIIB -----END CERTIFICATE-----",
    "sk_live_ is Stripe's prefix",
]


@pytest.mark.parametrize(("rule", "text", "expected"), POSITIVES, ids=[f"{r}-{i}" for i, (r, _, _) in
                                                                         enumerate(POSITIVES)])
def test_rule_replaces_the_secret_and_keeps_the_context(rule, text, expected):
    redacted, counts = REDACTOR.redact_text(text)
    assert redacted == expected
    assert set(counts) == {rule}


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_kept(text):
    assert REDACTOR.redact_text(text) == (text, {})


def test_every_built_in_rule_is_exercised():
    assert {rule for rule, _, _ in POSITIVES} == set(RULES)


@pytest.mark.parametrize("text", [text for _, text, _ in POSITIVES])
def test_redacting_twice_changes_and_counts_nothing_more(text):
    once, _ = REDACTOR.redact_text(text)
    assert REDACTOR.redact_text(once) == (once, {})


def test_a_secret_is_counted_once_by_its_most_specific_rule():
    text = "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX2hlcmU and token=" \
           "ghp_" + "Z" * 36
    redacted, counts = REDACTOR.redact_text(text)
    assert redacted == "Authorization: Bearer [redacted:bearer_token] and token=[redacted:github_token]"
    assert counts == {"bearer_token": 1, "github_token": 1}


def test_counts_add_up_per_rule():
    text = "4111111111111111, 5500 0000 0000 0004 and 378282246310005 with AKIAIOSFODNN7EXAMPLE"
    _, counts = REDACTOR.redact_text(text)
    assert counts == {"card_number": 3, "aws_access_key": 1}
    assert counts.describe() == "3 card_number, 1 aws_access_key"
    assert counts.as_dict() == {"aws_access_key": 1, "card_number": 3}


def test_emails_are_opt_in_and_rules_can_be_turned_off():
    text = "ops@example.com used password=hunter2 on 4111111111111111"
    assert Redactor(select_rules()).redact_text(text)[0] == \
        "ops@example.com used password=[redacted:password] on [card ••••1111]"
    assert Redactor(select_rules(disabled=["password"], emails=True)).redact_text(text)[0] == \
        "[redacted:email] used password=hunter2 on [card ••••1111]"
    with pytest.raises(ValueError, match="unknown redaction rule 'passwords'; choose one of: aws_access_key"):
        select_rules(disabled=["passwords"])


def test_added_rules_run_after_the_built_ins():
    redactor = Redactor(select_rules(extra={"employee_id": r"EMP-\d{6}", "ticket_pin": r"PIN (?P<secret>\d{4})"}))
    assert redactor.names[-2:] == ["employee_id", "ticket_pin"]
    text, counts = redactor.redact_text("EMP-123456 reset PIN 0042 on card 4111111111111111")
    assert text == "[redacted:employee_id] reset PIN [redacted:ticket_pin] on card [card ••••1111]"
    assert counts == {"employee_id": 1, "ticket_pin": 1, "card_number": 1}


@pytest.mark.parametrize(("name", "regex", "message"), [
    ("Employee", r"EMP-\d+", "use lower-case letters"),
    ("password", r"pw=\S+", "is a built-in rule's; name yours differently"),
    ("broken", r"EMP-(\d+", "invalid regular expression"),
    ("anything", r"\d*", "matches the empty string"),
])
def test_bad_added_rules_say_what_to_fix(name, regex, message):
    with pytest.raises(ValueError, match=message):
        custom_rule(name, regex)
