"""``sherlock list``: what an import produced, by source, as a table or JSON lines."""

import json


def test_list_shows_each_source_and_every_field_as_json_lines(cli, make_home, juspay_issues, shared_data):
    home = make_home("list-home")
    pagerduty = shared_data / "exports/pagerduty/xsoar_pagerduty_incidents_list.json"
    code, _, err = cli("--home", home, "ingest", juspay_issues, pagerduty)
    assert code == 0, err
    code, out, err = cli("--home", home, "list", "--source", "pagerduty")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["id", "source", "created", "severity", "status", "title"]
    assert len(lines) == 4 and all(" pagerduty " in line for line in lines[2:])  # header, rule, two incidents
    assert "2 incident(s) from pagerduty" in err
    code, out, _ = cli("--home", home, "list", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 77 + 2 and {"id", "title", "extra", "resolution"} <= set(records[0])
    shown = cli.json("--home", home, "show", records[0]["id"], "--json")
    assert records[0] == shown  # each line is what `sherlock show --json` prints
    code, out, err = cli("--home", home, "list", "--source", "jira")
    assert code == 1 and out == "" and "0 incident(s) from jira" in err
    code, out, _ = cli("--home", home, "list", "--limit", "3", "--json")
    assert len(out.splitlines()) == 3
