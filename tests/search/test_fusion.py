"""Tests for sherlock.search.fusion: hand-worked normalisations and fusions, the missing-document policy, validation,
and ranx.fuse as an oracle on real NFCorpus runs."""

from __future__ import annotations

import math

import pytest

from sherlock.search.fusion import (
    FUSERS,
    MISSING_POLICIES,
    FusionConfig,
    fuse,
    fuse_rrf,
    fuse_scores,
)
from sherlock.search.normalise import NORMALIZERS, normalize

# Two retrievers worked by hand. Dense returns a, b, c; BM25 returns b, d, a. c is missing from BM25, d from dense.
DENSE = {"a": 0.9, "b": 0.5, "c": 0.1}
BM25 = {"b": 10.0, "d": 4.0, "a": 2.0}
# min-max: dense (s - 0.1) / 0.8 -> a 1.0, b 0.5, c 0.0;  bm25 (s - 2) / 8 -> b 1.0, d 0.25, a 0.0


def approx(expected: dict[str, float]):
    return pytest.approx(expected, abs=1e-12)


# Normalisations -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "scores", "expected"), [
    ("minmax", DENSE, {"a": 1.0, "b": 0.5, "c": 0.0}),
    ("minmax", BM25, {"b": 1.0, "d": 0.25, "a": 0.0}),
    ("minmax", {"a": 3.0, "b": 3.0}, {"a": 1.0, "b": 1.0}),           # no preference: all retrieved count fully
    ("minmax", {"a": -2.0}, {"a": 1.0}),
    # mean 3, deviations 2, 0, -2, 0 -> population variance 8/4 = 2 -> z = ±√2, 0
    ("zscore", {"a": 5.0, "b": 3.0, "c": 1.0, "d": 3.0}, {"a": math.sqrt(2), "b": 0.0, "c": -math.sqrt(2), "d": 0.0}),
    ("zscore", {"a": 7.0, "b": 7.0}, {"a": 0.0, "b": 0.0}),            # std 0
    # ranks a 1, then the tie b/d broken by doc id (b 2, d 3), c 4 -> (n - rank + 1) / n with n = 4
    ("rank", {"a": 0.9, "b": 0.5, "c": 0.1, "d": 0.5}, {"a": 1.0, "b": 0.75, "d": 0.5, "c": 0.25}),
    # mean 1, sample std √((1 + 0 + 1) / 2) = 1 -> [mean - 3, mean + 3] = [-2, 4] -> (s + 2) / 6
    ("dbsf", {"a": 0.0, "b": 1.0, "c": 2.0}, {"a": 1 / 3, "b": 1 / 2, "c": 2 / 3}),
    ("dbsf", {"a": 4.0}, {"a": 0.5}),                                   # Qdrant: a single point -> 0.5
    ("dbsf", {"a": 4.0, "b": 4.0}, {"a": 0.5, "b": 0.5}),               # ... and a zero std -> 0.5
    ("none", BM25, BM25),
])
def test_normalisation_matches_hand_worked_values(method, scores, expected):
    assert normalize(scores, method) == approx(expected)


def test_dbsf_clips_outliers_beyond_three_sigma():
    # eleven 0s and one 12: mean 1, sample std = √((11·1 + 121) / 11) = √12 = 3.464, so high = 1 + 3√12 = 11.39 < 12
    scores = {f"z{i:02d}": 0.0 for i in range(11)} | {"top": 12.0}
    normalised = normalize(scores, "dbsf")
    assert normalised["top"] == 1.0
    assert normalised["z00"] == pytest.approx((0 - (1 - 3 * math.sqrt(12))) / (6 * math.sqrt(12)))  # 0.4519


@pytest.mark.parametrize("method", sorted(NORMALIZERS))
def test_normalisations_handle_an_empty_list_and_do_not_mutate(method):
    scores = dict(BM25)
    normalize(scores, method)
    assert scores == BM25 and normalize({}, method) == {}


# Fusion methods -------------------------------------------------------------------------------------------------------

def test_weighted_sum_hand_worked():
    # 0.6·dense + 0.4·bm25 over min-max; a missing document takes the list's floor, which is 0.0 under min-max
    assert fuse_scores([DENSE, BM25], [0.6, 0.4]) == approx({
        "a": 0.6 * 1.0 + 0.4 * 0.0,   # 0.6
        "b": 0.6 * 0.5 + 0.4 * 1.0,   # 0.7
        "c": 0.6 * 0.0 + 0.4 * 0.0,   # 0.0 (missing from bm25)
        "d": 0.6 * 0.0 + 0.4 * 0.25,  # 0.1 (missing from dense)
    })


def test_weights_are_not_renormalised():
    single = fuse_scores([DENSE, BM25], [0.6, 0.4])
    doubled = fuse_scores([DENSE, BM25], [1.2, 0.8])
    assert doubled == approx({doc_id: 2 * value for doc_id, value in single.items()})


def test_combmnz_hand_worked():
    # the weighted sum above × the number of retrievers that returned the document
    assert fuse_scores([DENSE, BM25], [0.6, 0.4], method="combmnz") == approx(
        {"a": 0.6 * 2, "b": 0.7 * 2, "c": 0.0 * 1, "d": 0.1 * 1})


def test_combmnz_does_not_count_a_zero_weight_retriever():
    # bm25 is switched off: a and b are returned by one voting retriever only, so MNZ = CombSUM
    assert fuse_scores([DENSE, BM25], [1.0, 0.0], method="combmnz") == approx({"a": 1.0, "b": 0.5, "c": 0.0, "d": 0.0})


def test_rrf_hand_worked():
    # ranks: dense a 1, b 2, c 3; bm25 b 1, d 2, a 3; k = 60; a missing document contributes nothing
    assert fuse_scores([DENSE, BM25], [0.6, 0.4], method="rrf") == approx({
        "a": 0.6 / 61 + 0.4 / 63,
        "b": 0.6 / 62 + 0.4 / 61,
        "c": 0.6 / 63,
        "d": 0.4 / 62,
    })
    assert fuse_scores([DENSE, BM25], [1, 1], method="rrf", rrf_k=1) == approx(
        {"a": 1 / 2 + 1 / 4, "b": 1 / 3 + 1 / 2, "c": 1 / 4, "d": 1 / 3})


def test_rrf_ignores_normalisation_and_missing_policy():
    expected = fuse_scores([DENSE, BM25], [0.6, 0.4], method="rrf")
    for norm in NORMALIZERS:
        for missing in MISSING_POLICIES:
            assert fuse_scores([DENSE, BM25], [0.6, 0.4], method="rrf", norm=norm, missing=missing) == expected


def test_dbsf_hand_worked():
    # dense {0, 1, 2} -> 1/3, 1/2, 2/3 (see the normalisation test); bm25 {c: 10, d: 30}: mean 20, sample std 10√2,
    # so (s - mean) / (6σ) + 1/2 -> c 1/2 - 1/(6√2) = 0.3821, d 1/2 + 1/(6√2) = 0.6179; missing -> the list's floor.
    dense, bm25 = {"a": 0.0, "b": 1.0, "c": 2.0}, {"c": 10.0, "d": 30.0}
    low, high = 0.5 - 1 / (6 * math.sqrt(2)), 0.5 + 1 / (6 * math.sqrt(2))
    assert fuse_scores([dense, bm25], [1, 1], method="dbsf") == approx(
        {"a": 1 / 3 + low, "b": 1 / 2 + low, "c": 2 / 3 + low, "d": 1 / 3 + high})
    assert fuse_scores([dense, bm25], [1, 1], method="dbsf", norm="zscore") == fuse_scores(
        [dense, bm25], [1, 1], method="wsum", norm="dbsf")  # norm is ignored: DBSF is its own normalisation


# Missing-document policy ----------------------------------------------------------------------------------------------

def test_missing_policy_floor_versus_zero_under_zscore():
    # z-scores: first {a: 3, b: 1} -> a 1, b -1; second {b: 30, c: 10} -> b 1, c -1; weights 1, 1
    first, second = {"a": 3.0, "b": 1.0}, {"b": 30.0, "c": 10.0}
    # floor: a missing from the second list gets its lowest z (-1): a = 1 - 1 = 0, b = -1 + 1 = 0, c = -1 - 1 = -2
    assert fuse_scores([first, second], [1, 1], norm="zscore") == approx({"a": 0.0, "b": 0.0, "c": -2.0})
    # zero: a missing document scores 0, *above* a retrieved document with a negative z: a = 1, b = 0, c = -1
    zero = fuse_scores([first, second], [1, 1], norm="zscore", missing="zero")
    assert zero == approx({"a": 1.0, "b": 0.0, "c": -1.0})


def test_floor_equals_zero_under_minmax():
    assert fuse_scores([DENSE, BM25], [0.6, 0.4], missing="floor") == fuse_scores([DENSE, BM25], [0.6, 0.4],
                                                                                   missing="zero")


def test_fuse_treats_a_query_missing_from_a_run_as_an_empty_list():
    # q2 only in the first run: the second contributes its (empty) floor 0.0 -> 0.5 · min-max score
    runs = [{"q1": {"a": 1.0, "b": 0.0}, "q2": {"x": 2.0, "y": 1.0}}, {"q1": {"b": 5.0, "a": 1.0}}]
    assert fuse(runs, [0.5, 0.5]) == {"q1": approx({"a": 0.5, "b": 0.5}), "q2": approx({"x": 0.5, "y": 0.0})}


def test_fusion_is_deterministic():
    first = fuse_scores([DENSE, BM25], [0.6, 0.4], method="combmnz")
    second = fuse_scores([DENSE, BM25], [0.6, 0.4], method="combmnz")
    assert list(first.items()) == list(second.items()) and list(first) == ["a", "b", "c", "d"]


# Validation -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("weights", "problem"), [
    ([1.0], "got 1 weights for 2 retrievers"),
    ([1.0, 0.5, 0.2], "got 3 weights for 2 retrievers"),
    ([1.0, -0.1], ">= 0"),
    ([1.0, math.nan], "finite"),
    ([0.0, 0.0], "all zero"),
])
def test_bad_weights_raise(weights, problem):
    with pytest.raises(ValueError, match=problem):
        fuse_scores([DENSE, BM25], weights)
    with pytest.raises(ValueError, match=problem):
        fuse([{"q": DENSE}, {"q": BM25}], weights)


@pytest.mark.parametrize(("options", "listed"), [
    ({"method": "borda"}, "combmnz, dbsf, rrf, wsum"),
    ({"norm": "min-max"}, "dbsf, minmax, none, rank, zscore"),
    ({"missing": "skip"}, "floor, zero"),
])
def test_unknown_names_raise_listing_the_valid_ones(options, listed):
    with pytest.raises(ValueError, match=f"choose one of: {listed}"):
        fuse_scores([DENSE, BM25], [1, 1], **options)
    with pytest.raises(ValueError, match=f"choose one of: {listed}"):
        FusionConfig(weights=(1, 1), **options)


@pytest.mark.parametrize("rrf_k", [0, -5, 1.5, True])
def test_bad_rrf_k_raises(rrf_k):
    with pytest.raises(ValueError, match="rrf_k must be a positive integer"):
        fuse_scores([DENSE, BM25], [1, 1], method="rrf", rrf_k=rrf_k)


def test_normalize_rejects_unknown_method():
    with pytest.raises(ValueError, match="unknown normalisation 'l2'"):
        normalize(DENSE, "l2")


def test_fusion_config_default_is_the_original_sherlock_ai():
    config = FusionConfig()
    assert config.as_dict() == {"weights": (0.6, 0.3, 0.1), "method": "wsum", "norm": "minmax", "rrf_k": 60,
                                "missing": "floor"}
    tfidf = {"c": 1.0, "a": 0.0}
    runs = [{"q": DENSE}, {"q": BM25}, {"q": tfidf}]
    assert fuse(runs, **config.as_dict()) == {"q": fuse_scores([DENSE, BM25, tfidf], [0.6, 0.3, 0.1])}
    with pytest.raises(ValueError, match="all zero"):
        FusionConfig(weights=(0, 0, 0))
    with pytest.raises(AttributeError):
        config.method = "rrf"  # frozen: a config logged to MLflow is the config that ran


def test_every_fuser_has_the_same_call_signature():
    for fuser in FUSERS.values():
        assert set(fuser([DENSE, BM25], (0.5, 0.5), norm="minmax", missing="floor", rrf_k=60)) == {"a", "b", "c", "d"}


# ranx as an oracle on real runs ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_real_runs(nfcorpus, overlap_run):
    """Two lexical runs over NFCorpus (titles only, texts only), top 50 each, over the queries where both return
    documents with a real score spread: ranx needs equal query sets, and it clamps min-max's range and z-score's std
    at 1e-9 (so a one-document list gets 0.0 from ranx, 1.0 from us), which only our exact-equality rule differs on."""
    queries = nfcorpus.queries
    title_run = overlap_run(queries, nfcorpus.documents("title"), depth=50)
    text_run = overlap_run(queries, nfcorpus.documents("text"), depth=50)

    def spread(scores: dict[str, float]) -> float:
        return max(scores.values()) - min(scores.values()) if scores else 0.0

    shared = [qid for qid in queries if min(spread(title_run.get(qid, {})), spread(text_run.get(qid, {}))) > 1e-3]
    return [{qid: run[qid] for qid in shared} for run in (title_run, text_run)]


def _ranx_fuse(runs, norm, method, params):
    ranx = pytest.importorskip("ranx")
    return ranx.fuse([ranx.Run({q: dict(s) for q, s in run.items()}) for run in runs],
                     norm=norm, method=method, params=params).to_dict()


def _assert_same_run(ours, theirs):
    assert ours.keys() == theirs.keys()
    for qid in ours:
        assert ours[qid].keys() == theirs[qid].keys(), qid
        for doc_id, value in ours[qid].items():
            assert value == pytest.approx(theirs[qid][doc_id], abs=1e-9), (qid, doc_id)


def test_the_real_runs_disagree_enough_to_test_missing_documents(two_real_runs):
    title_run, text_run = two_real_runs
    assert len(title_run) > 150
    partial = sum(len(title_run[q].keys() ^ text_run[q].keys()) for q in title_run)
    assert partial > 1000  # many documents are returned by only one of the two runs


@pytest.mark.slow
@pytest.mark.parametrize(("ours", "theirs"), [
    # ranx fills a missing document with 0.0 after normalising: our "floor" under min-max, our "zero" otherwise
    ({"norm": "minmax", "missing": "floor"}, "min-max"),
    ({"norm": "zscore", "missing": "zero"}, "zmuv"),
    ({"norm": "rank", "missing": "zero"}, "rank"),
])
def test_weighted_sum_agrees_with_ranx(two_real_runs, ours, theirs):
    weights = [0.7, 0.3]
    expected = _ranx_fuse(two_real_runs, theirs, "wsum", {"weights": weights})
    _assert_same_run(fuse(two_real_runs, weights, method="wsum", **ours), expected)


@pytest.mark.slow
def test_combmnz_agrees_with_ranx_mnz(two_real_runs):
    expected = _ranx_fuse(two_real_runs, "min-max", "mnz", {})
    _assert_same_run(fuse(two_real_runs, [1, 1], method="combmnz"), expected)


@pytest.mark.slow
def test_rrf_agrees_with_ranx(two_real_runs):
    expected = _ranx_fuse(two_real_runs, None, "rrf", {"k": 60})
    _assert_same_run(fuse(two_real_runs, [1, 1], method="rrf"), expected)


def test_weighted_rrf_matches_its_formula_on_real_runs(two_real_runs):
    weights = (0.8, 0.2)
    for qid in list(two_real_runs[0])[:50]:
        lists = [run[qid] for run in two_real_runs]
        expected: dict[str, float] = {}
        for scores, w in zip(lists, weights):
            ordered = sorted(scores, key=scores.get, reverse=True)  # the real runs are tie-free
            for position, doc_id in enumerate(ordered):
                expected[doc_id] = expected.get(doc_id, 0.0) + w / (60 + position + 1)
        assert fuse_rrf(lists, weights) == pytest.approx(expected, abs=1e-12)
