"""``sherlock sync`` end to end against the stand-in SaaS server (a real local HTTP server playing the vendors' APIs;
it stands in for the SaaS, it is not a mock of Sherlock's code): credentials from the environment or the
workspace's sherlock.toml, never printed or logged; the summary as text and as JSON; exit codes."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from sherlock.cli import main
from tests.sync.saas import CREDENTIALS


@pytest.fixture
def run(capsys):
    """``run(*argv)`` → (exit code, stdout, stderr) of ``sherlock`` in this process."""
    def call(*argv: object) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return call


@pytest.fixture
def env_for(monkeypatch, sync_overrides):
    """Put the settings of the named sources (URL, credentials, small pages) in ``SHERLOCK_*`` variables."""
    def put(*prefixes: str) -> None:
        for name, value in sync_overrides.items():
            if name.startswith((*prefixes, "sync_")) or name == "jira_api_version":
                monkeypatch.setenv(f"SHERLOCK_{name.upper()}", str(value))
    return put


def secrets() -> list[str]:
    """Every test credential, and the basic-auth header values made from them."""
    pairs = [(CREDENTIALS["jira_email"], CREDENTIALS["jira_token"]),
             (CREDENTIALS["servicenow_user"], CREDENTIALS["servicenow_password"])]
    return [*CREDENTIALS.values(), *(base64.b64encode(f"{u}:{p}".encode()).decode() for u, p in pairs)]


def test_json_summary_with_credentials_from_the_environment(saas, make_home, run, env_for):
    env_for("jira")
    saas.seed("jira", 7)
    code, out, err = run("--home", make_home(), "sync", "jira", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert {key: summary[key] for key in ("source", "fetched", "added", "pages", "retries")} == \
        {"source": "jira", "fetched": 7, "added": 7, "pages": 3, "retries": 0}
    assert summary["watermark"] == "2025-01-07T00:00:00+00:00" and summary["rejected"] == []


def test_text_summary_with_credentials_from_sherlock_toml(saas, make_home, run, sync_overrides):
    home = make_home()
    lines = [f'{name} = "{value}"' for name, value in sync_overrides.items() if name.startswith("servicenow_")]
    (home / "sherlock.toml").write_text("\n".join([*lines, "sync_page_size = 3"]) + "\n")
    saas.seed("servicenow", 4)
    code, out, err = run("--home", home, "sync", "servicenow", "--since", "2025-01-02")
    assert code == 0, err
    assert "fetched    3 in 1 page(s)" in out
    assert "stored     3 added, 0 updated, 0 unchanged, 0 skipped" in out
    assert "window     2025-01-02T00:00:00+00:00 → now" in out
    assert "watermark  2025-01-04T00:00:00+00:00" in out


@pytest.mark.parametrize("source", ["pagerduty", "jira", "servicenow", "github", "incidentio"])
def test_credentials_never_appear_in_output_or_logs(saas, make_home, run, env_for, caplog, source):
    env_for(source)
    saas.seed(source, 4)
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    home = make_home()
    code, out, err = run("--home", home, "sync", source, "--json")
    assert code == 0, err
    path = {"pagerduty": "/incidents", "jira": "/rest/api/3/search/jql", "servicenow": "/api/now/table/incident",
            "github": "/repos/betamaxpy/betamax/issues", "incidentio": "/v2/incidents"}[source]
    saas.fail(path, 400, echo=True)  # a vendor that echoes the request's Authorization header in its error
    failed, failed_out, failed_err = run("--home", home, "sync", source, "--since", "2025-01-01")
    assert failed == 2 and "sherlock sync: error: " in failed_err and "***" in failed_err
    shown = "\n".join([out, err, failed_out, failed_err, caplog.text])
    assert not [secret for secret in secrets() if secret in shown]


def test_a_missing_credential_is_a_usage_error_naming_the_variable(saas, make_home, run, monkeypatch):
    monkeypatch.setenv("SHERLOCK_PAGERDUTY_URL", saas.url)
    code, out, err = run("--home", make_home(), "sync", "pagerduty")
    assert code == 2 and out == ""
    assert "sherlock sync: error: sherlock sync pagerduty needs SHERLOCK_PAGERDUTY_TOKEN" in err
    assert saas.calls == []


def test_rejected_items_are_listed_and_exit_1(saas, make_home, run, env_for):
    env_for("incidentio")
    incidents = saas.seed("incidentio", 3)
    incidents[2]["name"] = ""
    code, out, err = run("--home", make_home(), "sync", "incidentio")
    assert code == 1, err
    assert "rejected   1" in out and "page 1 item 3: " in out


def test_a_bad_date_is_a_usage_error(run, make_home):
    with pytest.raises(SystemExit) as caught:
        run("--home", make_home(), "sync", "jira", "--since", "last tuesday")
    assert caught.value.code == 2
