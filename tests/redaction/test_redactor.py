"""Whole incidents (every text field and ``extra``, recursively), settings, and the query-log hook."""

import json

import pytest

from sherlock.config import load_settings
from sherlock.redaction import RedactionCounts, Redactor, redact_query
from sherlock.schema import Incident

CARD, KEY, GH = "4111 1111 1111 1111", "AKIAIOSFODNN7EXAMPLE", "ghp_" + "q7" * 18


@pytest.fixture
def settings(tmp_path):
    return load_settings(home=tmp_path)


def incident(**fields) -> Incident:
    return Incident.from_record({"id": "PAY-1", "title": "Refund failed", **fields})


def test_every_text_field_and_extra_are_redacted_recursively(settings):
    original = incident(
        title=f"Refund of {CARD} failed", description=f"worker used {KEY}", root_cause="password=hunter2 in env",
        resolution=f"rotated {GH}", tags=["pci", "card 5500-0000-0000-0004"], service="payments",
        resolved_by="ops@example.com", created_at="2024-03-12T10:15:00",
        extra={"payload": {"card": {"number": 378282246310005, "expiry": "12/27"},
                           "headers": [{"Authorization": "Bearer 0a1b2c3d4e5f6a7b8c9d"}]},
               "db_password": "s3cr3t", "password_changed": True, "attempts": 3, "order": 4111111111111112,
               "notes": ["call +1 415 555 0100", {"pwd": "x"}]})
    redacted, counts = Redactor.from_settings(settings).redact_incident(original)
    assert redacted.title == "Refund of [card ••••1111] failed"
    assert redacted.description == "worker used [redacted:aws_access_key]"
    assert redacted.root_cause == "password=[redacted:password] in env"
    assert redacted.resolution == "rotated [redacted:github_token]"
    assert redacted.tags == ["pci", "card [card ••••0004]"]
    assert redacted.extra == {
        "payload": {"card": {"number": "[card ••••0005]", "expiry": "12/27"},
                    "headers": [{"Authorization": "Bearer [redacted:bearer_token]"}]},
        "db_password": "[redacted:password]", "password_changed": True, "attempts": 3, "order": 4111111111111112,
        "notes": ["call +1 415 555 0100", {"pwd": "[redacted:password]"}]}
    # what is not a secret is untouched: id, dates, service, e-mail (opt-in), a Luhn-invalid integer
    assert (redacted.id, redacted.created_at, redacted.service, redacted.resolved_by) == \
        (original.id, original.created_at, "payments", "ops@example.com")
    assert counts == {"card_number": 3, "aws_access_key": 1, "password": 3, "github_token": 1, "bearer_token": 1}


def test_an_incident_without_secrets_comes_back_as_the_same_object(settings):
    clean = incident(description="UPI timeout at 2024-03-12 10:15:00, order 4111111111111112", extra={"n": 1})
    redacted, counts = Redactor.from_settings(settings).redact_incident(clean)
    assert redacted is clean and counts == {} and not counts.describe()


def test_redacted_incidents_keep_their_content_hash_on_a_second_pass(settings):
    """Ingesting the same file again leaves the stored incidents unchanged: redaction is idempotent."""
    redactor = Redactor.from_settings(settings)
    once, _ = redactor.redact_incident(incident(description=f"{CARD} {KEY} password=x", extra={"secret": "y"}))
    twice, counts = redactor.redact_incident(once)
    assert twice.content_hash() == once.content_hash() and counts == {}


def test_settings_choose_the_rules(tmp_path):
    text = f"ops@example.com password=hunter2 {CARD} EMP-123456"
    on = Redactor.from_settings(load_settings(home=tmp_path))
    assert on.enabled and on.redact_text(text)[0] == \
        "ops@example.com password=[redacted:password] [card ••••1111] EMP-123456"
    off = Redactor.from_settings(load_settings(home=tmp_path, redaction=False))
    assert not off.enabled and off.redact_text(text) == (text, {})
    custom = Redactor.from_settings(load_settings(home=tmp_path, redaction_emails=True,
                                                  redaction_disabled="password,card_number",
                                                  redaction_extra_patterns={"employee_id": r"EMP-\d{6}"}))
    assert custom.redact_text(text)[0] == f"[redacted:email] password=hunter2 {CARD} [redacted:employee_id]"


def test_settings_from_the_environment_and_their_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("SHERLOCK_REDACTION_DISABLED", "jwt, email")
    monkeypatch.setenv("SHERLOCK_REDACTION_EXTRA_PATTERNS", json.dumps({"badge": r"BADGE-\d{4}"}))
    settings = load_settings(home=tmp_path)
    assert settings.redaction_disabled == ["jwt", "email"] and settings.redaction_extra_patterns == {
        "badge": r"BADGE-\d{4}"}
    monkeypatch.setenv("SHERLOCK_REDACTION_DISABLED", "jwts")
    with pytest.raises(ValueError, match=r"SHERLOCK_REDACTION_DISABLED: .*unknown redaction rule 'jwts'; choose one"):
        load_settings(home=tmp_path)
    monkeypatch.delenv("SHERLOCK_REDACTION_DISABLED")
    monkeypatch.setenv("SHERLOCK_REDACTION_EXTRA_PATTERNS", json.dumps({"badge": "BADGE-(\\d"}))
    with pytest.raises(ValueError, match=r"SHERLOCK_REDACTION_EXTRA_PATTERNS: .*'badge': invalid regular expression"):
        load_settings(home=tmp_path)


def test_redact_query_for_the_query_log(tmp_path):
    hook = redact_query(load_settings(home=tmp_path))
    assert hook is not None
    assert hook(f"why was card {CARD} declined with key {KEY}") == \
        "why was card [card ••••1111] declined with key [redacted:aws_access_key]"
    assert hook("UPI timeout 5003") == "UPI timeout 5003"
    assert redact_query(load_settings(home=tmp_path, redaction=False)) is None


def test_counts_hold_rule_names_and_numbers_only():
    counts = RedactionCounts({"card_number": 2, "password": 1, "jwt": 0})
    assert counts.describe() == "2 card_number, 1 password"
    assert json.dumps(counts.as_dict()) == '{"card_number": 2, "password": 1}'


def test_added_patterns_in_sherlock_toml_survive_a_rewrite_of_the_file(tmp_path):
    """``sherlock tune --apply`` rewrites sherlock.toml: a table of patterns stays a table, backslashes intact."""
    from sherlock.config import write_settings_file
    (tmp_path / "sherlock.toml").write_text('redaction_extra_patterns = { employee_id = "EMP-\\\\d{6}" }\n')
    write_settings_file(tmp_path, {"bm25_k1": 1.5})
    settings = load_settings(home=tmp_path)
    assert settings.redaction_extra_patterns == {"employee_id": r"EMP-\d{6}"} and settings.bm25_k1 == 1.5
    assert Redactor.from_settings(settings).redact_text("badge EMP-123456")[0] == "badge [redacted:employee_id]"
