"""Fresh indexes: an ingest, update or delete lands in a small delta segment over the main index snapshot (no full
rebuild), search sees it at once, the delta is merged past ``delta_max`` or on ``merge()``, a delta over another main
is ignored, a crash mid-write leaves a workspace that opens and syncs, and Chroma embeds only what changed."""

from __future__ import annotations

import json

import pytest

from sherlock.schema import Incident
from sherlock.search.searcher import Searcher

QUERIES = ["UPI payment failed with error 5003", "refund webhook not processed", "card tokenization failing",
           "HTTP 502 errors payout timeout", "snapdeal pinelabs", "3DS ACS timeout", "settlement file parsing"]
NEW = Incident(id="NEW-1", title="Zorblax certificate rotation failed on checkout",
               description="The zorblax TLS certificate expired; checkout calls failed until it was rotated",
               resolution="rotated the zorblax certificate and added an expiry alert", service="cert-manager")


def write_jsonl(path, items):
    path.write_text("\n".join(json.dumps(item.to_json_dict()) for item in items) + "\n")
    return path


def main_manifest(ws) -> dict:
    return json.loads((ws.settings.lexical_path / "manifest.json").read_text())


@pytest.fixture(scope="module")
def juspay(juspay_issues) -> list[Incident]:
    return [Incident.from_record(record) for record in json.loads(juspay_issues.read_text(encoding="utf-8"))]


@pytest.fixture
def indexed(workspace_factory, juspay, tmp_path):
    """``indexed(**settings)``: a workspace holding the juspay incidents, fully indexed (its main segment)."""

    def make(name: str = "home", **overrides):
        ws = workspace_factory(name, **overrides)
        ws.ingest([write_jsonl(tmp_path / f"{name}-juspay.jsonl", juspay)])
        return ws

    return make


def raw_scores(ws, queries=QUERIES, k=10) -> list[list[tuple[str, dict]]]:
    searcher = Searcher(ws)
    return [[(hit.id, hit.raw_scores) for hit in searcher.search(query, k=k).results] for query in queries]


def test_an_ingested_incident_is_found_at_once_without_a_full_rebuild(indexed, tmp_path):
    ws = indexed()
    before = main_manifest(ws)
    report = ws.ingest([write_jsonl(tmp_path / "new.jsonl", [NEW])]).sync
    assert (report.embedded, report.delta, report.lexical_rebuilt, report.merged) == (1, 1, False, False)
    assert main_manifest(ws) == before  # the main segment was not rebuilt
    top = Searcher(ws).search("zorblax certificate expired", k=3).results[0]
    assert top.id == "NEW-1" and all(top.raw_scores[name] for name in ("dense", "bm25", "tfidf"))
    assert "cert_manager" in Searcher(ws).search("cert-manager zorblax").query_entities  # a name the delta mined
    fresh = type(ws)(ws.settings)  # another process: reads the main and the delta from disk
    assert fresh.is_synced() and fresh.lexical().delta is not None
    assert raw_scores(fresh, ["zorblax certificate expired", *QUERIES]) == \
        raw_scores(ws, ["zorblax certificate expired", *QUERIES])


def test_updates_and_deletes_go_through_the_delta(indexed, tmp_path, juspay):
    ws = indexed()
    old = next(incident for incident in juspay if incident.id == "JSP-1052")
    rewritten = old.model_copy(update={"title": "Quokka ledger drift in nightly reconciliation",
                                       "description": "quokka ledger totals drifted from the bank file",
                                       "root_cause": "a quokka job ran twice", "resolution": "deduplicated it",
                                       "tags": ["quokka"], "service": "ledger"})
    ws.ingest([write_jsonl(tmp_path / "update.jsonl", [rewritten])])
    searcher = Searcher(ws)
    assert searcher.search("quokka ledger drift", k=1).results[0].id == "JSP-1052"
    snapshot = ws.lexical()
    # the old text no longer matches it: the main's row of JSP-1052 is masked
    assert "JSP-1052" not in snapshot.bm25.search(old.title, k=100)
    assert "JSP-1052" not in snapshot.tfidf.search(old.title, k=100)
    vector = ws.embedder.embed_queries([old.title])
    nearest = snapshot.dense_top(vector, 100)[0]  # its vector is the new text's, read from the delta
    assert nearest["JSP-1052"] == pytest.approx(float(snapshot.vector("JSP-1052") @ vector[0]), abs=1e-6)
    assert nearest["JSP-1052"] < snapshot.main.dense_top(vector, 100)[0]["JSP-1052"]
    assert snapshot.dense_top(vector, 100, allowed={"JSP-1052", "JSP-1001"})[0].keys() == {"JSP-1052", "JSP-1001"}
    report = ws.delete(["JSP-1017", "NOPE"])
    assert (report.deleted, report.delta, report.lexical_rebuilt) == (1, 2, False)
    snapshot = ws.lexical()
    vector = ws.embedder.embed_queries(["IRCTC webhook delivery failing"])
    assert "JSP-1017" not in snapshot.dense_top(vector, 100)[0] and snapshot.vector("JSP-1017") is None
    assert "JSP-1017" not in snapshot.bm25.search_many(QUERIES + ["IRCTC webhook delivery failing"], k=100)[-1]
    assert snapshot.bm25.score("IRCTC webhook", ["JSP-1017"]) == {} and len(snapshot.vector_rows) == 76
    assert all(hit.id != "JSP-1017" for hit in searcher.search("IRCTC webhook delivery failing", k=20).results)
    assert searcher.search("JSP-1017").abstained and ws.dense.count() == 76


def test_delta_scores_are_close_to_a_rebuild_and_equal_after_merge(indexed, workspace_factory, juspay, tmp_path):
    ws = indexed("delta")
    ws.store.delete([incident.id for incident in juspay[-8:]])  # the last 8 then come back through the delta
    ws.sync()
    report = ws.ingest([write_jsonl(tmp_path / "late.jsonl", juspay[-8:])]).sync
    assert report.delta == 8 and not report.lexical_rebuilt
    rebuilt = indexed("rebuilt")
    delta_runs, full_runs = raw_scores(ws), raw_scores(rebuilt)
    for delta_hits, full_hits in zip(delta_runs, full_runs, strict=True):
        assert [doc_id for doc_id, _ in delta_hits[:3]] == [doc_id for doc_id, _ in full_hits[:3]]
        full = dict(full_hits)
        for doc_id, scores in delta_hits:
            if doc_id in full:
                assert scores["dense"] == full[doc_id]["dense"]
                assert scores["bm25"] == pytest.approx(full[doc_id]["bm25"], rel=0.2)
                assert scores["tfidf"] == pytest.approx(full[doc_id]["tfidf"], abs=0.05)
    merged = ws.merge()
    assert merged.lexical_rebuilt and merged.merged and not ws.settings.delta_path.exists()
    assert raw_scores(ws) == full_runs and raw_scores(type(ws)(ws.settings)) == full_runs
    assert not ws.merge().lexical_rebuilt  # nothing left to merge


def test_past_delta_max_the_delta_is_merged(indexed, tmp_path):
    ws = indexed(delta_max=2)
    extra = [NEW.model_copy(update={"id": f"NEW-{n}"}) for n in range(1, 4)]
    first = ws.ingest([write_jsonl(tmp_path / "a.jsonl", extra[:2])]).sync
    assert (first.delta, first.lexical_rebuilt) == (2, False) and ws.settings.delta_path.exists()
    second = ws.ingest([write_jsonl(tmp_path / "b.jsonl", extra[2:])]).sync
    assert (second.delta, second.lexical_rebuilt, second.merged) == (0, True, True)
    assert main_manifest(ws)["revision"] == ws.store.revision() and not ws.settings.delta_path.exists()
    assert {hit.id for hit in Searcher(ws).search("zorblax certificate", k=3).results} == \
        {"NEW-1", "NEW-2", "NEW-3"}
    off = indexed("off", delta_max=0)
    assert off.ingest([write_jsonl(tmp_path / "c.jsonl", [NEW])]).sync.lexical_rebuilt


def test_a_delta_over_another_main_is_ignored(indexed, tmp_path):
    ws = indexed()
    ws.ingest([write_jsonl(tmp_path / "new.jsonl", [NEW])])
    manifest = ws.settings.delta_path / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "base_build": "another-main"}))
    fresh = type(ws)(ws.settings)
    assert not fresh.is_synced()
    assert fresh.lexical().delta is not None  # rebuilt over the main on disk, and saved
    assert json.loads(manifest.read_text())["base_build"] == main_manifest(ws)["build"] and fresh.is_synced()
    assert Searcher(fresh).search("zorblax certificate", k=1).results[0].id == "NEW-1"


def test_a_damaged_delta_is_rebuilt(indexed, tmp_path):
    ws = indexed()
    ws.ingest([write_jsonl(tmp_path / "new.jsonl", [NEW])])
    (ws.settings.delta_path / "bm25" / "bm25_delta.npz").write_bytes(b"garbage")
    fresh = type(ws)(ws.settings)
    assert Searcher(fresh).search("zorblax certificate", k=1).results[0].id == "NEW-1"
    assert type(ws)(ws.settings).lexical().delta is not None  # saved again, readable


@pytest.mark.parametrize("breaks", ["sherlock.storage.delta.save_tfidf_delta",
                                    "sherlock.storage.workspace.save_snapshot"])
def test_a_crash_while_saving_leaves_a_workspace_that_opens_and_syncs(indexed, tmp_path, monkeypatch, breaks):
    ws = indexed(delta_max=0 if "snapshot" in breaks else 5000)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(breaks, crash)
    with pytest.raises(KeyboardInterrupt):
        ws.ingest([write_jsonl(tmp_path / "new.jsonl", [NEW])])
    monkeypatch.undo()
    leftovers = [p.name for p in ws.settings.home.iterdir() if ".tmp-" in p.name or ".new-" in p.name]
    assert leftovers == []
    fresh = type(ws)(ws.settings)
    assert fresh.store.count() == 78 and not fresh.is_synced()
    assert Searcher(fresh).search("UPI payment failed with error 5003", k=1).results  # opens and searches
    fresh.sync()
    assert fresh.is_synced() and Searcher(fresh).search("zorblax certificate", k=1).results[0].id == "NEW-1"


def test_dense_sync_embeds_only_what_changed(indexed, tmp_path, juspay):
    ws = indexed()
    embedded: list[str] = []
    full_diffs: list[None] = []
    model = ws.embedder.inner  # what reaches the model: the cache in front answers the rest (the delta's vectors)
    embed, hashes = model.embed, ws.dense.hashes

    def counting_embed(texts):
        embedded.extend(texts)
        return embed(texts)

    def watched_hashes(ids=None):
        if ids is None:
            full_diffs.append(None)
        return hashes(ids)

    model.embed = counting_embed
    ws.dense.hashes = watched_hashes
    changed = juspay[0].model_copy(update={"title": "UPI payment failed with error 5003 again"})
    report = ws.ingest([write_jsonl(tmp_path / "b.jsonl", [NEW, changed, juspay[1]])]).sync
    assert report.embedded == 2 and sorted(embedded) == sorted([NEW.text(), changed.text()])
    assert ws.delete([juspay[2].id]).deleted == 1 and len(embedded) == 2
    assert full_diffs == [] and hashes() == ws.store.hashes()
    ws.store.set_meta(f"dense_revision:{ws.collection}", "-1")  # an unknown revision: the full diff
    assert ws.sync().embedded == 0 and full_diffs == [None]


def test_a_cold_search_reads_the_delta_without_heavy_libraries(indexed, tmp_path):
    """A fresh process searching words only the delta uses: their stems come with the delta, the vectors too, so
    neither NLTK (nor the scikit-learn and scipy.stats it imports) nor Chroma is loaded."""
    import subprocess
    import sys

    ws = indexed()
    ws.ingest([write_jsonl(tmp_path / "new.jsonl", [NEW])])
    heavy = ["nltk", "sklearn", "scipy.stats", "chromadb"]
    code = ("import sys\n"
            "from sherlock.config import load_settings\n"
            "from sherlock.search.searcher import Searcher\n"
            "from sherlock.storage.workspace import Workspace\n"
            f"ws = Workspace(load_settings(home={str(ws.settings.home)!r}, demo=False))\n"
            "assert Searcher(ws).search('zorblax certificate rotation', k=1).results[0].id == 'NEW-1'\n"
            "assert ws.lexical().delta is not None\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"a cold search over a delta loaded: {result.stdout.strip()}"


def test_indexes_never_read_vectors_back_from_chroma(indexed, tmp_path, juspay, monkeypatch):
    """The delta and the rebuilt main take their vectors from the embedding cache that filled Chroma: an embedded
    Chroma shared by several processes failed such reads under load (benchmarks/bench_api.py)."""
    from chromadb.api.models.Collection import Collection
    ws = indexed()
    get = Collection.get

    def refuse(self, *args, **kwargs):
        if "embeddings" in (kwargs.get("include") or ()):
            raise AssertionError("read back from Chroma")
        return get(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "get", refuse)
    report = ws.ingest([write_jsonl(tmp_path / "c.jsonl", [NEW])]).sync
    assert report.delta >= 1 and not report.lexical_rebuilt
    assert ws.merge().lexical_rebuilt
    assert ws.lexical().revision == ws.store.revision()
