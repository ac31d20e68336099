"""Delta segments and segmented search: a delta scores a document exactly as its main would, hand-computed weights for
the terms the main never saw, per-segment top-k merged into the global order, masked rows never returned, and the
delta's files saved without pickle and loaded over their main."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sherlock.retrievers.base import weighted_text
from sherlock.retrievers.bm25 import BM25Retriever
from sherlock.retrievers.delta import BM25Delta, fit_tfidf_delta, load_tfidf_delta, save_tfidf_delta
from sherlock.retrievers.segments import Overlay, SegmentedBM25, SegmentedTfidf
from sherlock.retrievers.tfidf import TfidfRetriever
from sherlock.run import top_k
from sherlock.schema import Incident
from sherlock.search.entities import EntityIndex
from sherlock.text import tokenize

QUERIES = ["snapdeal pinelabs", "UPI payment failed with error 5003", "refund webhook not processed",
           "card tokenization failing BIN 65xx", "HTTP 502 errors payout timeout", "TPS scaling traffic spike",
           "3DS ACS timeout", "webhook HMAC signature mismatch", "zorblax certificate rotation"]
NEW = [Incident(id="NEW-1", title="Zorblax certificate rotation failed", description="TLS zorblax cert expired",
                service="cert-manager"),
       Incident(id="JSP-1001", title="Snapdeal refund webhook replaced", description="rewritten: HMAC mismatch")]


@pytest.fixture(scope="module")
def juspay(juspay_issues) -> list[Incident]:
    return [Incident.from_record(record) for record in json.loads(juspay_issues.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def main(juspay):
    return BM25Retriever().fit(juspay), TfidfRetriever().fit(juspay)


@pytest.fixture(scope="module")
def segmented(juspay, main):
    """The juspay incidents as the main segment; NEW-1 added, JSP-1001 rewritten and JSP-1002 deleted in a delta."""
    bm25, tfidf = main
    masked = {"NEW-1", "JSP-1001", "JSP-1002"}
    return SegmentedBM25(bm25, BM25Delta().fit(NEW, bm25), masked), \
        SegmentedTfidf(tfidf, fit_tfidf_delta(NEW, tfidf), masked)


def test_a_document_scores_in_the_delta_as_in_its_main(juspay, main):
    """The oracle: with the main's statistics, a delta of the main's own documents holds the main's weights."""
    bm25, tfidf = main
    own = juspay[:12]
    ids = [incident.id for incident in own]
    bm25_delta, tfidf_delta = BM25Delta().fit(own, bm25), fit_tfidf_delta(own, tfidf)
    assert len(tfidf_delta.idf_) == len(tfidf.idf_)  # no new term
    for query in QUERIES:
        for whole, delta in ((bm25, bm25_delta), (tfidf, tfidf_delta)):
            expected, got = whole.score(query, ids), delta.score(query, ids)
            assert list(got) == ids
            assert [got[i] for i in ids] == pytest.approx([expected[i] for i in ids], rel=1e-12, abs=1e-15)


def test_delta_weights_match_a_hand_computed_example():
    main_docs = [Incident(id="d1", title="refund refund failed"), Incident(id="d2", title="refund delayed"),
                 Incident(id="d3", title="card declined")]
    titles = {"title": 1}
    bm25 = BM25Retriever(field_weights=titles).fit(main_docs)
    tfidf = TfidfRetriever(field_weights=titles).fit(main_docs)
    new = [Incident(id="n1", title="zorblax refund")]
    bm25_delta, tfidf_delta = BM25Delta().fit(new, bm25), fit_tfidf_delta(new, tfidf)
    # BM25 (Lucene): the main's avgdl (7 tokens / 3 docs) and idf for "refund" (N = 3, df = 2); "zorblax" is new:
    # its idf counts main + delta documents (N = 4, df = 1). k1 = 1.2, b = 0.75, dl = 2, tf = 1.
    norm = 1.2 * (1 - 0.75 + 0.75 * 2 / (7 / 3))
    assert bm25_delta.score("refund", ["n1"])["n1"] == pytest.approx(math.log(1 + 1.5 / 2.5) / (1 + norm), rel=1e-12)
    assert bm25_delta.score("zorblax", ["n1"])["n1"] == pytest.approx(math.log(1 + 3.5 / 1.5) / (1 + norm), rel=1e-12)
    # TF-IDF: "refund" keeps the main's smoothed idf ln(4/3) + 1; "zorblax" is a new column with ln(5/2) + 1
    idf_refund, idf_new = math.log(4 / 3) + 1, math.log(5 / 2) + 1
    assert tfidf_delta.vocabulary_["zorblax"] == len(tfidf.vocabulary_)
    assert tfidf_delta.score("refund", ["n1"])["n1"] == pytest.approx(idf_refund / math.hypot(idf_refund, idf_new))


def test_combined_statistics_take_the_idf_from_main_plus_delta(main, juspay):
    bm25 = main[0]
    delta = BM25Delta(statistics="combined").fit(juspay[:3], bm25)
    for term in ("timeout", "upi", "fail"):
        df = bm25.doc_freqs([term])[term] + sum(term in tokenize(weighted_text(i)) for i in juspay[:3])
        n = len(juspay) + 3
        assert delta.idf_[delta.vocabulary_[term]] == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5)))
    with pytest.raises(ValueError, match="unknown statistics 'both'; choose one of: 'main', 'combined'"):
        BM25Delta(statistics="both").fit(juspay[:1], bm25)


def test_segmented_search_merges_each_segments_top_k_in_run_order(segmented):
    for retriever in segmented:
        everything = retriever.main.docs_.ids + retriever.delta.docs_.ids
        for query in QUERIES:
            scores = {d: s for d, s in retriever.score(query, everything).items() if s > 0}
            assert retriever.search(query, k=7) == dict(top_k(scores, 7))


def test_masked_rows_are_never_returned_nor_scored_from_the_main(segmented):
    bm25, tfidf = segmented
    for retriever in segmented:
        found = retriever.search_many(QUERIES, k=200)
        assert all("JSP-1002" not in hits for hits in found)
        assert "JSP-1002" not in retriever.score("snapdeal refund", ["JSP-1002", "JSP-1003"])
    # the rewritten JSP-1001 is scored from its new text only
    assert bm25.score("HMAC mismatch rewritten", ["JSP-1001"])["JSP-1001"] == \
        bm25.delta.score("HMAC mismatch rewritten", ["JSP-1001"])["JSP-1001"] > 0
    assert list(bm25.search("zorblax", k=3)) == ["NEW-1"] and list(tfidf.search("zorblax", k=3)) == ["NEW-1"]


def test_segmented_search_many_equals_search_and_respects_allowed(segmented):
    allowed = ["NEW-1", "JSP-1001", "JSP-1002", *(f"JSP-10{n:02d}" for n in range(3, 60, 2))]
    for retriever in segmented:
        assert retriever.search_many(QUERIES, k=7, batch_size=4) == [retriever.search(q, k=7) for q in QUERIES]
        restricted = retriever.search_many(QUERIES, k=7, allowed=allowed)
        assert restricted == [retriever.search(q, k=7, allowed=allowed) for q in QUERIES]
        assert all(set(hits) <= set(allowed) - {"JSP-1002"} for hits in restricted)


def test_segmented_tfidf_scores_both_segments_with_one_query_norm(segmented, main):
    _, tfidf = segmented
    # a query of main terms only: its vector, and so the main's scores, are the main's own
    assert tfidf.score("refund webhook", ["JSP-1003"]) == main[1].score("refund webhook", ["JSP-1003"])
    # a new term in the query lowers every main score by the same factor (the norm now counts it)
    plain, wider = main[1].score("refund webhook", ["JSP-1003"]), tfidf.score("refund webhook zorblax", ["JSP-1003"])
    assert 0 < wider["JSP-1003"] < plain["JSP-1003"]


def test_segmented_coverage_and_term_idf(segmented, main):
    _, tfidf = segmented
    coverage = tfidf.coverage("zorblax certificate", ["NEW-1", "JSP-1002", "JSP-1003", "nope"])
    assert coverage[0] == pytest.approx(1.0) and coverage[1] == coverage[3] == 0.0
    assert tfidf.term_idf(["zorblax"])["zorblax"] == pytest.approx(math.log(80 / 2) + 1)
    assert tfidf.term_idf(["refund"]) == main[1].term_idf(["refund"])
    assert "zorblax" in tfidf.vocabulary_ and tfidf.get_params() == main[1].get_params()


def test_delta_files_round_trip_without_pickle(tmp_path, segmented, main):
    bm25, tfidf = segmented
    loaded_bm25 = BM25Delta.load(bm25.delta.save(tmp_path / "bm25"))
    loaded_tfidf = load_tfidf_delta(save_tfidf_delta(tfidf.delta, tmp_path / "tfidf"), main[1])
    for path in tmp_path.rglob("*.np*"):
        np.load(path, allow_pickle=False)
    ids = bm25.delta.docs_.ids
    for query in QUERIES:
        assert loaded_bm25.score(query, ids) == bm25.delta.score(query, ids)
        assert loaded_tfidf.score(query, ids) == tfidf.delta.score(query, ids)
    other = TfidfRetriever().fit(NEW)
    with pytest.raises(ValueError, match=r"not this one.*rebuild the delta"):
        load_tfidf_delta(tmp_path / "tfidf", other)


def test_a_main_without_statistics_cannot_take_a_delta(tmp_path, juspay):
    empty = BM25Retriever().fit([])
    with pytest.raises(ValueError, match=r"no average document length.*sherlock reindex"):
        BM25Delta().fit(juspay[:1], empty)
    saved = BM25Retriever().fit(juspay).save(tmp_path / "bm25")
    manifest = saved / "sherlock_bm25.json"
    data = json.loads(manifest.read_text())
    del data["avg_doc_len"]  # as an index saved before deltas existed
    manifest.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="older version"):
        BM25Delta().fit(juspay[:1], BM25Retriever.load(saved))


def test_overlay_reads_top_over_base_without_the_hidden_keys():
    overlay = Overlay({"a": 1, "b": 2, "c": 3}, {"c": 30, "d": 40}, hidden={"b", "c", "zz"})
    assert dict(overlay) == {"c": 30, "d": 40, "a": 1} and len(overlay) == 3
    assert "b" not in overlay and overlay.get("b") is None and overlay.get("c") == 30
    with pytest.raises(KeyError):
        overlay["b"]


def test_entity_delta_mines_new_names_and_hides_masked_documents(juspay):
    main = EntityIndex().fit(juspay)
    delta = EntityIndex().fit_delta(NEW, main)
    layered = main.layered(delta, {"NEW-1", "JSP-1001", "JSP-1002"})
    assert "cert_manager" in layered.extract("cert-manager paged us") and main.kind("cert_manager") is None
    assert layered.matches(["NEW-1", "JSP-1002"], ["cert_manager"]) == {"NEW-1": ["cert_manager"]}
    assert "JSP-1002" not in layered.doc_entities_ and layered.doc_entities_["JSP-1003"] == \
        main.doc_entities_["JSP-1003"]
    assert EntityIndex.from_delta_json(delta.delta_json(), main).doc_entities_ == delta.doc_entities_


def test_a_delta_of_deletions_only_masks_the_main(main):
    bm25, tfidf = main
    masked = {"JSP-1052"}
    segmented = SegmentedBM25(bm25, BM25Delta().fit([], bm25), masked), \
        SegmentedTfidf(tfidf, fit_tfidf_delta([], tfidf), masked)
    for retriever in segmented:
        assert "JSP-1052" in retriever.main.search("pinelabs RSA decryption", k=5)
        assert "JSP-1052" not in retriever.search("pinelabs RSA decryption", k=5)
        assert retriever.delta.search("pinelabs") == {}
