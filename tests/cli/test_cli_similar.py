"""``sherlock similar``: a stored incident, a new one from a file, a batch to a TREC run, and the errors."""

import json


def test_similar_for_a_stored_incident(cli, juspay_home):
    data = cli.json("--home", juspay_home, "similar", "JSP-1055", "-k", "3", "--json")
    assert data["strategy"] == "similar" and data["query"] == "JSP-1055"
    ids = [hit["id"] for hit in data["results"]]
    assert len(ids) == 3 and "JSP-1055" not in ids
    hit = data["results"][0]
    assert {"id", "title", "score", "scores", "why"} <= hit.keys() and set(hit["scores"]) == {"dense", "bm25", "tfidf"}
    assert {"service", "entities", "terms", "causes", "days_apart", "root_cause", "resolution"} <= hit["why"].keys()


def test_similar_text_says_why_and_what_fixed_it(cli, juspay_home):
    code, out, _ = cli("--home", juspay_home, "similar", "JSP-1052", "-k", "2")
    assert code == 0 and out.startswith("[similar] past incidents like JSP-1052")
    assert "  1. " in out and "shares:" in out and "fix:" in out


def test_similar_for_a_new_incident_file(cli, juspay_home, tmp_path):
    new = tmp_path / "new.json"
    new.write_text(json.dumps({"id": "NEW-7", "title": "UPI collect requests time out at the bank",
                               "description": "Customers see payment failed with error 5003 on UPI collect"}))
    data = cli.json("--home", juspay_home, "similar", "--incident", new, "--json")
    assert data["query"] == "NEW-7" and data["results"] and data["results"][0]["id"] == "JSP-1001"
    assert all(hit["id"] != "NEW-7" for hit in data["results"])


def test_similar_batch_writes_a_trec_run_without_each_lines_own_id(cli, juspay_home, tmp_path):
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"id": "JSP-1001", "title": "UPI payment failed with error 5003"}) + "\n"
                     + json.dumps({"id": "JSP-1052", "title": "Pinelabs RSA decryption failure"}) + "\n")
    run = tmp_path / "run.tsv"
    summary = cli.json("--home", juspay_home, "similar", "--incidents", batch, "-k", "5", "--run-out", run, "--json")
    assert summary == {"incidents": 2, "run": str(run), "k": 5}
    rows = [line.split() for line in run.read_text().splitlines()]
    assert len(rows) == 10 and {row[0] for row in rows} == {"JSP-1001", "JSP-1052"}
    assert all(row[0] != row[2] for row in rows) and rows[0][3] == "1"


def test_similar_errors_say_what_to_do(cli, juspay_home, tmp_path):
    code, _, err = cli("--home", juspay_home, "similar")
    assert code == 2 and "give one of: an incident ID" in err
    code, _, err = cli("--home", juspay_home, "similar", "JSP-1001", "--incident", tmp_path / "x.json")
    assert code == 2 and "got ID, --incident" in err
    code, _, err = cli("--home", juspay_home, "similar", "--incidents", tmp_path / "x.jsonl")
    assert code == 2 and "--run-out" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "A-1", "title": "ok"}\n{"id": "A-2"}\n')
    code, _, err = cli("--home", juspay_home, "similar", "--incidents", bad, "--run-out", tmp_path / "r.tsv")
    assert code == 2 and f"{bad}:2:" in err and "title" in err
    code, out, _ = cli("--home", juspay_home, "similar", "JSP-9999")
    assert code == 1 and "not found: no incident JSP-9999" in out


def _tag_pairs(home, path):
    """Labelled pairs from the incidents' tags: an incident's pairs are the others sharing its first tag."""
    from sherlock.config import load_settings
    from sherlock.storage.store import Store
    incidents = Store(load_settings(home=home).store_path).all()
    lines = []
    for anchor in incidents[:30]:
        tag = anchor.tags[0].lower() if anchor.tags else None
        lines += [f"{anchor.id} 0 {other.id} 1" for other in incidents
                  if other.id != anchor.id and tag and tag in {t.lower() for t in other.tags}]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_tune_similar_on_labelled_pairs_and_apply(cli, juspay_home, tmp_path):
    pairs = _tag_pairs(juspay_home, tmp_path / "pairs.trec")
    data = cli.json("--home", juspay_home, "tune", "--similar", "--qrels", pairs, "--norm", "minmax", "--step", "0.25",
                    "--folds", "2", "--candidates", "50", "--apply", "--json")
    assert data["mode"] == "similar" and len(data["weights"]) == 3 and 0 < data["score"] <= 1
    toml = (juspay_home / "sherlock.toml").read_text()
    assert "similar_weights" in toml and "similar_fusion" in toml
    from sherlock.config import load_settings
    assert list(load_settings(home=juspay_home).similar_weights) == data["weights"]
    (juspay_home / "sherlock.toml").unlink()


def test_tune_similar_says_what_is_missing(cli, juspay_home, tmp_path):
    code, _, err = cli("--home", juspay_home, "tune", "--similar", "--demo")
    assert code == 2 and "labelled incident pairs" in err
    empty = tmp_path / "none.trec"
    empty.write_text("JSP-0000 0 JSP-1001 1\n")
    code, _, err = cli("--home", juspay_home, "tune", "--similar", "--qrels", empty)
    assert code == 2 and "no usable labelled pair" in err
