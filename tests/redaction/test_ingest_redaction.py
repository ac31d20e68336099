"""End to end: a corpus with planted card numbers, keys and tokens, ingested by the real ``sherlock ingest`` into a
real workspace. Every planted secret is gone from every file the workspace wrote (the store, its WAL, the lexical
index, Chroma, the embedding cache: their raw bytes), from the report and from what the command printed; every
look-alike is kept. ``Workspace.put`` (what sync and webhooks store through) redacts the same way."""

import json
from collections import Counter
from pathlib import Path

import pytest

from sherlock.schema import Incident

PEM_BODY = "MIIEowIBAAKCAQEAwJ3v8Rk2q9ZxPLANTEDxKEYxBODYx0123456789abcdefABCDEF"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\nq1w2e3r4t5y6u7i8o9p0==\n-----END RSA PRIVATE KEY-----"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkLXVzZXIifQ.R2xhbnRlZFNpZ25hdHVyZVZhbHVlMTIz"

#: (where, text planted there, the rule that must take it, the exact secret that must vanish). ``where`` is a field,
#: or ``extra`` (nested), or ``extra-int`` (a JSON number).
PLANTED = [
    ("title", "Card {} declined at checkout", "card_number", "4111 1111 1111 1111"),
    ("description", "Refund to {} failed twice", "card_number", "5500-0000-0000-0004"),
    ("root_cause", "Amex {} hit the velocity rule", "card_number", "378282246310005"),
    ("tags", "pan {}", "card_number", "6011111111111117"),
    ("extra", "customer card {}", "card_number", "4012888888881881"),
    ("extra-int", "", "card_number", "3530111333300000"),
    ("description", "Worker logged {} in plain text", "aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
    ("resolution", "Rotated aws_secret_access_key={} after the leak", "aws_secret_key",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("description", "curl -H 'Authorization: Bearer {}' returned 401", "bearer_token", "tok9f8e7d6c5b4a3210ZZyx"),
    ("root_cause", "Deploy key pasted in the ticket:\n{}\nrevoked since", "private_key", PEM_BODY),
    ("resolution", "DSN was postgres://deploy:{}@db.internal:5432/pay", "url_password", "Sup3rS3cretPw"),
    ("description", "Job ran with password={} from the env", "password", "hunter2-Pa55word"),
    ("extra", "session {}", "jwt", JWT),
    ("resolution", "Bot token {} posted in #ops", "slack_token",
     "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    ("root_cause", "CI used {} with repo scope", "github_token", "ghp_R2xhbnRlZEdpdEh1YlRva2VuMDEyMzQ1Njc4"),
    ("description", "Webhook signed with {} by mistake", "stripe_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("resolution", "GEMINI_API_KEY {} was in the runbook", "google_api_key", "AIzaSyPLANTEDkey0123456789abcdefghijklm"),
]

#: Look-alikes that must be stored as they are: Luhn-invalid card-shaped numbers, ids, phones, timestamps.
LOOK_ALIKES = ["4111 1111 1111 1112", "5500000000000005", "order 1234567812345678", "ORD-4242424242424242",
               "+1 415 555 0100", "2024-03-12 10:15:00", "snapshot 20250314111052", "ticket JSP-1001",
               "password reset for 14 users"]


def corpus(path: Path) -> tuple[Path, Counter]:
    """30 incidents as JSONL: one planted secret in each of the first 17, a look-alike in 9 more, 4 clean; and the
    counts per rule the report must give."""
    records = []
    for number in range(30):
        record = {"id": f"PAY-{number:03d}", "title": f"Payment incident {number} quokka",
                  "description": "UPI collect request timed out at the PSP", "service": "payments",
                  "extra": {"region": "ap-south-1"}}
        if number < len(PLANTED):
            where, template, _, secret = PLANTED[number]
            text = template.format(PEM if secret == PEM_BODY else secret)
            if where == "tags":
                record["tags"] = ["pci", text]
            elif where == "extra":
                record["extra"] = {"payload": {"notes": ["retry", {"text": text}]}}
            elif where == "extra-int":
                record["extra"] = {"card": {"number": int(secret), "expiry": "12/27"}}
            else:
                record[where] = text
        elif number - len(PLANTED) < len(LOOK_ALIKES):
            record["root_cause"] = f"Look-alike: {LOOK_ALIKES[number - len(PLANTED)]} (not a secret)"
        records.append(record)
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path, Counter(rule for _, _, rule, _ in PLANTED)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    from sherlock.cli import main
    capsys.readouterr()
    code = main([str(arg) for arg in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def written_bytes(home: Path) -> dict[str, bytes]:
    """Every file the workspace wrote (the model files it was seeded with left out), by path relative to it."""
    return {str(path.relative_to(home)): path.read_bytes() for path in sorted(home.rglob("*"))
            if path.is_file() and path.relative_to(home).parts[0] != "models"}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, models_seed):
    """An empty workspace (the model pre-built) and the planted corpus; the first test ingests it (the others ingest it
    themselves when run alone)."""
    import os
    import shutil
    folder = tmp_path_factory.mktemp("redaction-e2e")
    home = folder / "home"
    shutil.copytree(models_seed, home / "models", copy_function=os.link)
    path, expected = corpus(folder / "planted.jsonl")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHERLOCK_DEMO", "false")
        yield home, path, expected


def test_the_report_counts_per_rule_and_prints_no_secret(ingested, capsys):
    home, path, expected = ingested
    code, out, err = run_cli(capsys, "--home", home, "ingest", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["redacted"] == dict(sorted(expected.items()))
    assert report["files"][0]["redacted"] == report["redacted"] and report["files"][0]["added"] == 30
    assert expected == {"card_number": 6, "aws_access_key": 1, "aws_secret_key": 1, "bearer_token": 1,
                        "private_key": 1, "url_password": 1, "password": 1, "jwt": 1, "slack_token": 1,
                        "github_token": 1, "stripe_key": 1, "google_api_key": 1}
    code, text_out, text_err = run_cli(capsys, "--home", home, "ingest", path)  # again, as text: all unchanged
    assert code == 0, text_err
    assert "30 records, 0 added, 0 updated, 30 unchanged" in text_out
    assert ("redacted: 6 card_number, 1 aws_access_key, 1 aws_secret_key, 1 bearer_token, 1 github_token, "
            "1 google_api_key, 1 jwt, 1 password, 1 private_key, 1 slack_token, 1 stripe_key, 1 url_password"
            ) in text_out.splitlines()
    printed = out + err + text_out + text_err
    assert [secret for *_, secret in PLANTED if secret in printed or secret.replace(" ", "") in printed] == []


def test_no_planted_secret_is_in_any_file_of_the_workspace(ingested, capsys):
    home, path, _ = ingested
    if not (home / "store.sqlite").exists():
        assert run_cli(capsys, "--home", home, "ingest", path)[0] == 0
    files = written_bytes(home)
    kinds = {name.split("/")[0] for name in files}
    assert {"store.sqlite", "lexical", "chroma", "cache"} <= kinds, sorted(kinds)
    # the grep is not vacuous: the indexed text itself is readable in the store and in the lexical index files
    assert any(b"quokka" in data for name, data in files.items() if name.startswith("store.sqlite"))
    assert any(b"quokka" in data for name, data in files.items() if name.startswith("lexical/"))
    leaks = [(secret[:6] + "…", name) for *_, secret in PLANTED for name, data in files.items()
             for form in {secret, secret.replace(" ", "").replace("-", "")} if form.encode() in data]
    assert leaks == []


def test_placeholders_are_stored_and_look_alikes_kept(ingested, capsys):
    from sherlock.config import load_settings
    from sherlock.storage.store import Store
    home, path, _ = ingested
    if not (home / "store.sqlite").exists():
        assert run_cli(capsys, "--home", home, "ingest", path)[0] == 0
    store = Store(load_settings(home=home).store_path)
    try:
        assert store.get("PAY-000").title == "Card [card ••••1111] declined at checkout"
        assert store.get("PAY-005").extra == {"card": {"number": "[card ••••0000]", "expiry": "12/27"}}
        assert store.get("PAY-009").root_cause == "Deploy key pasted in the ticket:\n[redacted:private_key]\n" \
                                                  "revoked since"
        assert store.get("PAY-010").resolution == \
            "DSN was postgres://deploy:[redacted:url_password]@db.internal:5432/pay"
        for number, look_alike in enumerate(LOOK_ALIKES, start=len(PLANTED)):
            assert store.get(f"PAY-{number:03d}").root_cause == f"Look-alike: {look_alike} (not a secret)"
    finally:
        store.close()


def test_put_redacts_what_sync_and_webhooks_store(workspace_factory):
    """And a query typed into the same process earlier (its words stemmed and memoised) is not written with the
    index's stems either."""
    from sherlock.text import tokenize
    assert "5105105105105100" in tokenize("why was card 5105105105105100 declined")
    workspace = workspace_factory("put-home")
    incident = Incident(id="PD-42", title="Card 4111111111111111 declined",
                        description="token=abc123def456 in the logs; call +1 415 555 0100",
                        extra={"pagerduty": {"api_key": "u+PLANTEDpagerdutyKEY"}})
    result, _ = workspace.put([incident], source="webhook:pagerduty")
    assert result.added == ["PD-42"] and result.redacted == {"card_number": 1, "password": 2}
    stored = workspace.store.get("PD-42")
    assert stored.title == "Card [card ••••1111] declined"
    assert stored.description == "token=[redacted:password] in the logs; call +1 415 555 0100"
    assert stored.extra == {"pagerduty": {"api_key": "[redacted:password]"}}
    again, _ = workspace.put([incident], source="webhook:pagerduty")
    assert again.unchanged == ["PD-42"]  # redacted the same way again: the stored copy is unchanged
    files = written_bytes(workspace.settings.home)
    assert (workspace.settings.lexical_path / "stems.json").exists()
    assert [(secret, name) for secret in (b"4111111111111111", b"abc123def456", b"PLANTEDpagerduty",
                                          b"5105105105105100")
            for name, data in files.items() if secret in data] == []
