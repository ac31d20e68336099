"""Tests for sherlock.evaluation.offline_ab: each arm ranks exactly as Searcher.rank with its settings, arms that index
alike share one scored pool, and the offline A/B on real incidents: A/A is never significant, a large loss is."""

from __future__ import annotations

import pytest

from sherlock.evaluation.offline_ab import (
    check_metrics,
    compare_scores,
    judged_queries,
    per_query_scores,
    run_offline,
    score_arms,
)
from sherlock.evaluation.variants import default_variant, parse_variant
from sherlock.plots.experiments import significance
from sherlock.search.searcher import Searcher

VARIANTS = {
    "default": "",
    "rrf": "[search]\nfusion = 'rrf'\nweights = [1, 1, 1]\nrrf_k = 20\n",
    "zscore-no-boost": "[search]\nnorm = 'zscore'\nweights = [0.3, 0.5, 0.2]\nentity_boost = false\n",
    "strong-boost": "[search]\nentity_multiplier = 1.6\nk = 5\n",
    "small-pool": "[search]\ncandidates = 20\nfusion = 'combmnz'\n",
    "bm25-params": "[search]\nbm25_k1 = 0.9\nbm25_b = 0.4\nweights = [0.2, 0.8, 0]\n",
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_an_arm_ranks_as_search_does_with_its_settings(juspay_workspace, name, juspay_queries):
    variant = parse_variant(VARIANTS[name], name=name)
    runs, _ = score_arms(juspay_workspace, {"a": variant}, juspay_queries, ["ndcg@10"])
    settings = variant.settings(juspay_workspace.settings)
    expected = Searcher(juspay_workspace, settings).rank(juspay_queries, k=variant.depth(["ndcg@10"]))
    assert list(runs["a"]) == list(juspay_queries)
    for qid in juspay_queries:
        assert list(runs["a"][qid]) == list(expected[qid]), qid
        assert list(runs["a"][qid].values()) == pytest.approx(list(expected[qid].values()), rel=1e-9, abs=1e-12)


def test_arms_that_index_alike_share_one_pool(juspay_workspace, juspay_queries):
    rrf = parse_variant(VARIANTS["rrf"], name="rrf")
    _, seconds = score_arms(juspay_workspace, {"a": default_variant(), "b": rrf}, juspay_queries, ["ndcg@10"])
    assert seconds["pools_scored"] == 1 and "score_b" not in seconds
    bm25 = parse_variant(VARIANTS["bm25-params"], name="bm25")
    _, seconds = score_arms(juspay_workspace, {"a": default_variant(), "b": bm25}, juspay_queries, ["ndcg@10"])
    assert seconds["pools_scored"] == 2 and "score_b" in seconds


def test_a_bm25_variant_leaves_the_workspace_index_alone(juspay_workspace):
    before = juspay_workspace.lexical()
    bm25 = parse_variant(VARIANTS["bm25-params"], name="bm25")
    snapshot = juspay_workspace.lexical_for(bm25.settings(juspay_workspace.settings))
    assert snapshot.bm25.get_params()["k1"] == 0.9 and snapshot.bm25 is not before.bm25
    assert juspay_workspace.lexical() is before and before.bm25.get_params()["k1"] == 1.2


def test_an_arm_with_another_embedding_model_is_refused_with_what_to_do(juspay_workspace, juspay_queries):
    gemini = parse_variant("[search]\nembedding_model = 'gemini'\n", name="gemini")
    with pytest.raises(ValueError, match="indexed with the 'minilm' embedding model, not 'gemini'"):
        score_arms(juspay_workspace, {"a": gemini}, juspay_queries, ["ndcg@10"])


def test_metrics_and_query_sets_are_checked_before_any_work():
    assert check_metrics("ndcg@10, mrr@10,ndcg@10") == ["ndcg@10", "mrr@10"]
    with pytest.raises(ValueError, match="bleu"):
        check_metrics(["bleu@4"])
    with pytest.raises(ValueError, match="at least one metric"):
        check_metrics(" , ")
    assert judged_queries({"q1": "a", "q2": "b"}, {"q1": {"d": 0}, "q2": {"d": 2}}) == {"q2": "b"}
    with pytest.raises(ValueError, match="none of the 1 queries has a relevant document"):
        judged_queries({"q1": "a"}, {"other": {"d": 1}})


def test_per_query_scores_follow_evaluate(juspay_workspace, juspay_queries, juspay_qrels):
    runs, _ = score_arms(juspay_workspace, {"a": default_variant()}, juspay_queries, ["ndcg@10"])
    frame = per_query_scores(juspay_qrels, runs["a"], ["ndcg@10", "recall@1"], list(juspay_queries))
    assert list(frame.index) == list(juspay_queries)
    from sherlock.evaluation.metrics import evaluate
    assert frame["ndcg@10"].mean() == pytest.approx(evaluate(juspay_qrels, runs["a"], "ndcg@10")["ndcg@10"])
    assert set(frame["recall@1"].unique()) <= {0.0, 1.0}


def test_an_a_a_comparison_is_never_significant(juspay_workspace, juspay_queries, juspay_qrels):
    result = run_offline(juspay_workspace, default_variant("a"), parse_variant("", name="a-again"), juspay_queries,
                         juspay_qrels, resamples=2000)  # 2,000 resamples keep the test fast; the default is 10,000
    assert result.params["queries"] == len(juspay_queries) and result.outcome() == (0, len(juspay_queries), 0)
    for metric in result.metrics:
        entry = result.stats[metric]
        assert entry["diff"] == 0 and entry["ci95"] == [0.0, 0.0] and not entry["significant"]
        assert all(entry[p] == 1.0 for p in ("p_paired_t", "p_wilcoxon", "p_permutation", "p_welch", "p_holm"))
        assert result.better(metric) is None and result.as_dict()["metrics"][metric]["better"] is None
        assert significance(entry) == "–"


@pytest.fixture(scope="module")
def five_relevant(juspay_workspace, juspay_queries, juspay_qrels):
    """Each query's expected incident plus the default arm's top five, all relevant: a set where a difference in
    depth is large by construction."""
    runs, _ = score_arms(juspay_workspace, {"a": default_variant()}, juspay_queries, ["ndcg@10"])
    return {qid: dict.fromkeys(list(runs["a"][qid])[:5], 1) | juspay_qrels[qid] for qid in juspay_queries}


def test_a_large_loss_is_significant_and_seeded(juspay_workspace, five_relevant, juspay_queries):
    """Arm B returns one result instead of ten while at least five are relevant: recall@10 falls on every query."""
    one = parse_variant("[search]\nk = 1\n", name="top-1")
    result = run_offline(juspay_workspace, default_variant(), one, juspay_queries, five_relevant,
                         metrics="recall@10,ndcg@10", resamples=2000, query_set="original")
    recall = result.stats["recall@10"]
    assert recall["diff"] < -0.5 and recall["ci95"][1] < -0.5 and recall["significant"]
    assert recall["p_holm"] < 0.01 and recall["p_paired_t"] < 1e-6 and recall["cohens_d"] < -2
    assert (recall["wins"], recall["ties"], recall["losses"]) == (0, 0, len(juspay_queries))
    assert result.outcome() == (recall["wins"], recall["ties"], recall["losses"])
    assert result.stats["recall@10"]["a"] == pytest.approx(result.scores["a"]["recall@10"].mean())
    again = run_offline(juspay_workspace, default_variant(), one, juspay_queries, five_relevant,
                        metrics="recall@10,ndcg@10", resamples=2000)
    assert again.stats == result.stats  # seeded: the same numbers every time
    frame = result.per_query()
    assert list(frame.columns[:3]) == ["qid", "query", "recall@10 a"]
    assert (frame["recall@10 diff"] == frame["recall@10 b"] - frame["recall@10 a"]).all()
    contract = result.as_dict()
    assert set(contract["metrics"]["ndcg@10"]) >= {"a", "b", "diff", "ci95", "p_paired_t", "p_wilcoxon",
                                                   "p_permutation", "p_welch", "cohens_d", "p_holm", "better"}
    # the significant loss is A's win, and says so
    assert result.better("recall@10") == contract["metrics"]["recall@10"]["better"] == "a"
    assert significance(recall) == f"✓ A better (p={recall['p_holm']:.2g})"
    assert significance(recall, ("workspace", "top-1")) == f"✓ workspace better (p={recall['p_holm']:.2g})"
    flipped = {**recall, "diff": -recall["diff"]}
    assert significance(flipped).startswith("✓ B better (p=")
    assert {"wins", "ties", "losses", "mlflow_run_ids"} <= set(contract)
    assert result.params["query_set"] == "original" and len(result.params["query_set_hash"]) == 16


def test_each_arm_is_recorded_with_the_weights_fusion_and_norm_it_ranked_with(juspay_workspace, juspay_queries,
                                                                              juspay_qrels, monkeypatch):
    """After the workspace's weights were tuned, ``workspace`` is no longer 0.6/0.3/0.1: the result says what it was,
    and ranks with it."""
    tuned = juspay_workspace.settings.model_copy(update={"weights": (0.2, 0.7, 0.1), "norm": "zscore"})
    monkeypatch.setattr(juspay_workspace, "settings", tuned)
    rrf = parse_variant(VARIANTS["rrf"], name="rrf")
    result = run_offline(juspay_workspace, default_variant(), rrf, juspay_queries, juspay_qrels, resamples=500)
    assert result.as_dict()["arms"] == {
        "a": {"variant": "workspace", "weights": [0.2, 0.7, 0.1], "fusion": "wsum", "norm": "zscore"},
        "b": {"variant": "rrf", "weights": [1.0, 1.0, 1.0], "fusion": "rrf", "norm": "zscore"}}
    assert result.variants["a"].describe() == "weights=0.2,0.7,0.1, fusion=wsum, norm=zscore"
    assert result.arm_params["a"]["search.weights"] == "0.2,0.7,0.1"
    runs, _ = score_arms(juspay_workspace, {"a": default_variant()}, juspay_queries, ["ndcg@10"])
    expected = per_query_scores(juspay_qrels, runs["a"], result.metrics, list(result.queries))
    assert result.scores["a"].equals(expected)  # arm A ranked with the tuned weights


def test_compare_scores_pairs_on_shared_queries_only(juspay_workspace, juspay_queries, juspay_qrels):
    runs, _ = score_arms(juspay_workspace, {"a": default_variant()}, juspay_queries, ["ndcg@10"])
    frame = per_query_scores(juspay_qrels, runs["a"], ["ndcg@10"], list(juspay_queries))
    half = frame.iloc[: len(frame) // 2]
    stats = compare_scores(frame, half, ["ndcg@10"], resamples=500)
    assert stats["ndcg@10"]["n"] == len(half) and stats["ndcg@10"]["diff"] == 0
    with pytest.raises(ValueError, match="share 0 query ids"):
        compare_scores(frame, frame.rename(index=lambda q: q + "-x"), ["ndcg@10"])
    with pytest.raises(ValueError, match="'mrr@10' is not in both runs"):
        compare_scores(frame, frame, ["mrr@10"])
