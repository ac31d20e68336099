"""Tests for sherlock.evaluation.tuning and its vectorised engine sherlock.evaluation.grid: exact simplex enumeration;
the grid's normalisations against sherlock.search.fusion; the candidate pool against Searcher.search; the vectorised
metrics against sherlock.evaluation.metrics on the same rankings; cross-validation that never selects on a test fold;
apply and MLflow."""

from __future__ import annotations

import numpy as np
import pytest

from sherlock.config import load_settings
from sherlock.evaluation.grid import evaluate_points
from sherlock.evaluation.metrics import Judged, evaluate, evaluate_per_query
from sherlock.evaluation.tuning import (
    CandidatePool,
    apply_result,
    cross_validate,
    log_to_mlflow,
    select,
    simplex_points,
    tune,
)
from sherlock.search.fusion import fuse_scores, rrf_denominators
from sherlock.search.normalise import NORMALIZERS, normalize, normalize_rows

SETTINGS = [((0.6, 0.3, 0.1), "wsum", "minmax"), ((0.2, 0.5, 0.3), "wsum", "zscore"),
            ((0.5, 0.5, 0.0), "rrf", "minmax"), ((0.1, 0.1, 0.8), "wsum", "rank"),
            ((0.3, 0.3, 0.4), "combmnz", "minmax"), ((0.7, 0.0, 0.3), "dbsf", "minmax"),
            ((1.0, 0.0, 0.0), "wsum", "minmax"), ((0.0, 0.0, 1.0), "wsum", "zscore")]
METRICS = ["ndcg@10", "ndcg@3", "mrr@10", "recall@5", "precision@3", "map", "map@10", "hit_rate@1", "precision"]


@pytest.fixture(scope="module")
def pool(juspay_searcher, juspay_queries) -> CandidatePool:
    return juspay_searcher.score_pools(juspay_queries, n=200)


@pytest.fixture(scope="module")
def graded_qrels(pool, juspay_qrels) -> dict[str, dict[str, int]]:
    """Random graded judgements over each pool (seeded), plus the expected incident: every metric gets exercised."""
    rng = np.random.default_rng(7)
    qrels = {}
    for qid, ids in zip(pool.qids, pool.doc_ids, strict=True):
        picked = rng.choice(len(ids), size=6, replace=False)
        qrels[qid] = {ids[i]: int(rng.integers(0, 3)) for i in picked} | juspay_qrels[qid] | {"NOT-IN-CORPUS": 2}
    return qrels


@pytest.fixture(scope="module")
def result(pool, juspay_qrels):
    return tune(pool, juspay_qrels, metric="ndcg@10", folds=4)


def grid_scores(pool, qrels, weights, fusion, norm, metric, rrf_k=60):
    """Per-query scores from the vectorised path, as {qid: score} for the judged queries."""
    rows = [i for i, q in enumerate(pool.qids) if any(g > 0 for g in qrels.get(q, {}).values())]
    relevant = [{d: g for d, g in qrels[pool.qids[i]].items() if g > 0} for i in rows]
    from sherlock.evaluation.metrics import parse_metric
    padded = pool.padded.take(rows)
    judged = Judged.build([pool.doc_ids[i] for i in rows], relevant, padded.raw.shape[1], parse_metric(metric)[1])
    values = evaluate_points(padded, judged, np.array([weights]), fusion, norm, metric, rrf_k)[0]
    return {pool.qids[i]: value for i, value in zip(rows, values, strict=True)}


# Simplex --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("step", "count"), [(0.05, 231), (0.1, 66), (0.5, 6), (1.0, 3), (0.025, 861), (0.2, 21)])
def test_simplex_is_enumerated_exactly(step, count):
    points = simplex_points(step)
    assert points.shape == (count, 3)
    assert np.allclose(points.sum(axis=1), 1.0, atol=1e-12) and (points >= 0).all()
    assert len({tuple(p) for p in points.tolist()}) == count
    for one_hot in np.eye(3):
        assert any((p == one_hot).all() for p in points)


@pytest.mark.parametrize("step", [0.05, 0.1])
def test_the_original_default_is_a_grid_point_exactly(step):
    assert (0.6, 0.3, 0.1) in {tuple(p) for p in simplex_points(step).tolist()}  # float equality, not a tolerance


@pytest.mark.parametrize("step", [0.03, 0.3, 0.0, -0.05, 1.5])
def test_a_step_that_does_not_divide_one_is_an_error(step):
    with pytest.raises(ValueError, match="step must divide 1"):
        simplex_points(step)


# The grid's normalisations are sherlock.search.fusion's --------------------------------------------------------------

ROWS = [[0.9, 0.5, np.nan, 0.1, 0.5], [3.0, 3.0, 3.0, np.nan, np.nan], [-2.0, np.nan, np.nan, np.nan, np.nan],
        [np.nan] * 5, [0.0, 0.0, 1.5, 0.2, -0.3], [7.0, 1.0, 2.0, 2.0, 9.5]]
IDS = ["e", "d", "c", "b", "a"]  # pools are kept in descending doc-id order


@pytest.mark.parametrize("norm", sorted(NORMALIZERS))
def test_every_normaliser_batched_form_equals_its_scalar_form_with_the_floor_policy(norm):
    x = np.array(ROWS)
    got = normalize_rows(x, ~np.isnan(x), norm)
    for row, values in zip(ROWS, got, strict=True):
        scores = {d: s for d, s in zip(IDS, row, strict=True) if not np.isnan(s)}
        expected = normalize(scores, norm)
        floor = min(expected.values(), default=0.0)
        assert values.tolist() == pytest.approx([expected.get(d, floor) for d in IDS], abs=1e-15)


def test_grid_rrf_features_are_fuse_rrf_one_retriever_at_a_time():
    x = np.array(ROWS)
    got = 1.0 / rrf_denominators(x, ~np.isnan(x), rrf_k=60)
    for row, values in zip(ROWS, got, strict=True):
        scores = {d: s for d, s in zip(IDS, row, strict=True) if not np.isnan(s)}
        expected = fuse_scores([scores], [1.0], method="rrf")
        assert values.tolist() == pytest.approx([expected.get(d, 0.0) for d in IDS], abs=1e-15)


# The candidate pool ranks what search ranks ---------------------------------------------------------------------------

def test_pool_holds_every_retriever_score_in_descending_id_order(pool, juspay_queries):
    assert pool.qids == list(juspay_queries) and len(pool.qids) >= 20
    for ids, raw, boost in zip(pool.doc_ids, pool.raw, pool.boost, strict=True):
        assert ids == sorted(ids, reverse=True) and raw.shape == (len(ids), 3) and boost.shape == (len(ids),)
        assert (boost > 0).all() and (boost <= 1.15 ** 2).all()  # entity boost times the coverage factor
    entity_only = pool.with_boost(True, 1.15, coverage_weight=0.0)
    assert all((b >= 1.0).all() for b in entity_only.boost)
    assert any((b > 1.0).any() for b in entity_only.boost)  # the juspay queries name merchants and gateways
    assert any((b < 1.0).any() for b in pool.boost)  # and some candidates lack a query term


@pytest.mark.parametrize("setting", SETTINGS[:4], ids=lambda s: f"{s[1]}-{s[2]}-{s[0]}")
def test_pool_ranking_reproduces_search_top10(juspay_searcher, pool, setting, juspay_queries):
    weights, fusion, norm = setting
    for qid in pool.qids[:12]:
        response = juspay_searcher.search(juspay_queries[qid], k=10, weights=weights, fusion=fusion, norm=norm)
        ranked = pool.ranking(qid, weights, fusion=fusion, norm=norm, k=10)
        assert [d for d, _ in ranked] == [hit.id for hit in response.results]
        # a hit's score is rounded to 6 decimals (up to 5e-7 off), and z-scores of float32 cosines carry ~1e-6 of
        # noise: the two paths add their floats in different orders
        assert [s for _, s in ranked] == pytest.approx([hit.score for hit in response.results], abs=2e-6)


def test_pool_ranking_of_an_unknown_query_is_an_error(pool):
    with pytest.raises(ValueError, match="not in this candidate pool"):
        pool.ranking("nope", (0.6, 0.3, 0.1))


# Vectorised metrics equal sherlock.evaluation.metrics on the same rankings --------------------------------------------

@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"{s[1]}-{s[2]}-{s[0]}")
def test_vectorised_metrics_equal_evaluate_on_the_pool_rankings(pool, graded_qrels, setting):
    weights, fusion, norm = setting
    run = {q: dict(pool.ranking(q, weights, fusion=fusion, norm=norm, k=len(ids)))
           for q, ids in zip(pool.qids, pool.doc_ids, strict=True)}
    expected = evaluate_per_query(graded_qrels, run, METRICS)
    for metric in METRICS:
        assert grid_scores(pool, graded_qrels, weights, fusion, norm, metric) == pytest.approx(expected[metric],
                                                                                               abs=1e-12), metric


def test_ties_follow_trec_eval_order_and_missing_scores_take_the_floor():
    """Hand-made pool: x2/x1 are exact duplicates (tied everywhere), m has no dense score."""
    ids = ["x2", "x1", "m", "b", "a"]
    raw = np.array([[0.8, 2.0, 0.3], [0.8, 2.0, 0.3], [np.nan, 5.0, 0.9], [0.9, 0.0, 0.0], [0.1, 1.0, 0.2]])
    pool = CandidatePool(["q"], {"q": "query"}, [ids], [raw], [np.array([1.0, 1.0, 1.0, 1.15, 1.0])])
    for relevant in ({"x1": 1}, {"x2": 1}, {"m": 2, "a": 1}, {"b": 1, "x1": 2}):
        qrels = {"q": relevant}
        for weights, fusion, norm in SETTINGS:
            run = {"q": dict(pool.ranking("q", weights, fusion=fusion, norm=norm, k=5))}
            for metric in ("ndcg@2", "mrr@1", "map@3", "recall@1"):
                expected = evaluate(qrels, run, metric)[metric]
                assert grid_scores(pool, qrels, weights, fusion, norm, metric)["q"] == pytest.approx(expected), \
                    (relevant, weights, fusion, norm, metric)


def synthetic_pool(n_queries=12, n_docs=150, seed=0) -> tuple[CandidatePool, dict]:
    """Scores full of ties (small integers), zeros (no lexical match), NaN (no dense vector) and boosted documents."""
    rng = np.random.default_rng(seed)
    ids = [f"D{i:04d}" for i in range(n_docs)][::-1]
    raw, boost, qrels = [], [], {}
    for q in range(n_queries):
        scores = rng.integers(0, 6, size=(n_docs, 3)).astype(float) / 5
        scores[:, 0] += rng.integers(-2, 3, size=n_docs) / 10  # dense cosines can be negative
        scores[rng.random(n_docs) < 0.03, 0] = np.nan
        raw.append(scores)
        boost.append(1.15 ** rng.choice([0, 0, 0, 1, 2], size=n_docs))
        qrels[f"q{q}"] = {ids[i]: int(rng.integers(1, 3)) for i in rng.choice(n_docs, 8, replace=False)}
    qids = list(qrels)
    return CandidatePool(qids, dict.fromkeys(qids, "text"), [ids] * n_queries, raw, boost), qrels


@pytest.mark.parametrize("setting", [("wsum", "minmax"), ("wsum", "zscore"), ("wsum", "rank"), ("wsum", "none"),
                                     ("rrf", "minmax"), ("combmnz", "rank"), ("dbsf", "minmax")])
def test_the_whole_grid_equals_the_pipeline_on_tie_heavy_scores(setting):
    """Every point of a coarse grid (pruning on) against sherlock.search.fusion + sherlock.evaluation.metrics, on
    near-tied scores."""
    fusion, norm = setting
    pool, qrels = synthetic_pool()
    points = simplex_points(0.1)
    judged = Judged.build(pool.doc_ids, [qrels[q] for q in pool.qids], pool.padded.raw.shape[1], 10)
    grid = evaluate_points(pool.padded, judged, points, fusion, norm, "ndcg@10")
    for p, weights in enumerate(points):
        run = {q: dict(pool.ranking(q, weights, fusion=fusion, norm=norm, k=len(ids)))
               for q, ids in zip(pool.qids, pool.doc_ids, strict=True)}
        expected = evaluate_per_query(qrels, run, "ndcg@10")["ndcg@10"]
        assert grid[p].tolist() == pytest.approx([expected[q] for q in pool.qids], abs=1e-12), weights


def test_pruning_keeps_every_top_k_document(pool, graded_qrels):
    """The grid drops documents that can never reach the top k; the whole grid must still equal the exact path."""
    points = simplex_points(0.1)
    for fusion, norm in (("wsum", "minmax"), ("wsum", "rank"), ("rrf", "minmax"), ("combmnz", "zscore")):
        rows = list(range(len(pool.qids)))
        relevant = [{d: g for d, g in graded_qrels[q].items() if g > 0} for q in pool.qids]
        judged = Judged.build(pool.doc_ids, relevant, pool.padded.raw.shape[1], 3)
        grid = evaluate_points(pool.padded.take(rows), judged, points, fusion, norm, "ndcg@3")
        for p in (0, 17, 40, 65):
            run = {q: dict(pool.ranking(q, points[p], fusion=fusion, norm=norm, k=len(ids)))
                   for q, ids in zip(pool.qids, pool.doc_ids, strict=True)}
            expected = evaluate_per_query(graded_qrels, run, "ndcg@3")["ndcg@3"]
            assert grid[p].tolist() == pytest.approx([expected[q] for q in pool.qids], abs=1e-12)


# Cross-validation -----------------------------------------------------------------------------------------------------

def test_cv_selects_on_training_folds_only():
    """Candidate 1 wins overall only through one query; whenever that query is held out, training picks 0."""
    rng = np.random.default_rng(0)
    scores = np.vstack([0.6 + 0.01 * rng.random(10), np.full(10, 0.55)])
    scores[1, 3] = 5.0  # one query where candidate 1 is far better: it dominates the overall mean
    assert select(scores.mean(axis=1)) == 1
    folds = cross_validate(scores, folds=5, seed=3)
    assert sorted(q for fold in folds for q in fold["test_rows"]) == list(range(10))
    for fold in folds:
        train = [q for q in range(10) if q not in fold["test_rows"]]
        assert fold["candidate"] == select(scores[:, train].mean(axis=1))
        assert fold["candidate"] == (0 if 3 in fold["test_rows"] else 1)
        assert fold["test"] == pytest.approx(scores[fold["candidate"], fold["test_rows"]].mean())
        # changing the held-out queries' scores never changes the choice
        poisoned = scores.copy()
        poisoned[0, fold["test_rows"]] = 100.0
        again = next(f for f in cross_validate(poisoned, folds=5, seed=3) if f["fold"] == fold["fold"])
        assert again["candidate"] == fold["candidate"]


def test_cv_is_seeded_and_checks_the_fold_count():
    scores = np.random.default_rng(1).random((4, 12))
    assert cross_validate(scores, 3, seed=5) == cross_validate(scores, 3, seed=5)
    assert cross_validate(scores, 3, seed=5) != cross_validate(scores, 3, seed=6)
    for bad in (1, 13, 0):
        with pytest.raises(ValueError, match="folds"):
            cross_validate(scores, bad)


def test_ties_go_to_the_preferred_candidate():
    assert select(np.array([0.5, 0.7, 0.7, 0.7]), prefer=np.array([0, 3, 1, 2])) == 2
    assert select(np.array([0.5, 0.7, 0.7])) == 1


# tune() ---------------------------------------------------------------------------------------------------------------

def test_tune_reports_best_cv_default_current_and_singles(juspay_searcher, pool, result, juspay_queries, juspay_qrels):
    assert result.surface.shape == (231 * 3, 6)
    assert list(result.surface.columns) == ["dense", "bm25", "tfidf", "norm", "fusion", "score"]
    assert result.score == pytest.approx(result.surface["score"].max())
    assert result.score >= result.default_score and result.score >= max(result.single.values())
    assert len(result.cv_folds) == 4 and result.cv_std >= 0
    assert result.cv_mean == pytest.approx(np.mean([fold["test"] for fold in result.cv_folds]))
    # the default on the pool is what `evaluate` says of the batch search run
    run = juspay_searcher.rank(juspay_queries, k=100)
    assert result.default_score == pytest.approx(evaluate(juspay_qrels, run, "ndcg@10")["ndcg@10"], abs=1e-12)
    assert result.current_score == pytest.approx(result.default_score)  # no `current` given: the default
    assert list(result.per_query.columns) == ["qid", "query", "best", "current", "default", "delta"]
    assert list(result.single_per_query.columns) == ["qid", "dense", "bm25", "tfidf"]
    assert result.per_query["best"].mean() == pytest.approx(result.score)
    assert result.single_per_query["bm25"].mean() == pytest.approx(result.single["bm25"])
    assert set(result.as_dict()) == {"weights", "fusion", "norm", "metric", "score", "cv", "default_score", "single",
                                     "mlflow_run_id"}
    assert set(result.as_dict()["cv"]) == {"mean", "std"}


def test_tune_best_point_reproduces_its_score(pool, result, juspay_qrels):
    run = {q: dict(pool.ranking(q, result.weights, fusion=result.fusion, norm=result.norm, k=100)) for q in pool.qids}
    assert evaluate(juspay_qrels, run, "ndcg@10")["ndcg@10"] == pytest.approx(result.score, abs=1e-12)


@pytest.mark.parametrize("fusion", ["rrf", "dbsf"])
def test_norm_free_fusions_are_evaluated_once(pool, fusion, juspay_qrels):
    current = ((0.5, 0.5, 0.0), "rrf", "rank")
    result = tune(pool, juspay_qrels, metric="mrr@10", fusion=fusion, step=0.1, folds=3, current=current)
    assert result.surface.shape == (66, 6) and set(result.surface["norm"]) == {"minmax"}
    assert result.fusion == fusion and result.norm == "minmax"


def test_tune_validates_its_options(pool, juspay_qrels):
    with pytest.raises(ValueError, match="unknown fusion"):
        tune(pool, juspay_qrels, fusion="borda")
    with pytest.raises(ValueError, match="unknown normalisation"):
        tune(pool, juspay_qrels, norms=("minmax", "l2"))
    with pytest.raises(ValueError, match="unknown metric"):
        tune(pool, juspay_qrels, metric="ndgc@10")
    with pytest.raises(ValueError, match="folds"):
        tune(pool, juspay_qrels, folds=len(juspay_qrels) + 1)
    with pytest.raises(ValueError, match="relevant document"):
        tune(pool, {"other": {"JSP-1001": 1}})


def test_apply_writes_the_settings_file(tmp_path, result):
    settings = load_settings(home=tmp_path)
    path = apply_result(settings, result)
    again = load_settings(home=tmp_path)
    assert path == tmp_path / "sherlock.toml"
    assert (again.weights, again.fusion, again.norm) == (result.weights, result.fusion, result.norm)


def test_the_run_is_logged_to_the_workspace_mlflow_store(tmp_path, result):
    from mlflow.tracking import MlflowClient
    settings = load_settings(home=tmp_path)
    run_id = log_to_mlflow(result, settings, query_set="juspay-expectations")
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    assert settings.tracking_uri.startswith("sqlite:///") and (tmp_path / "mlflow.db").exists()
    experiment = client.get_experiment_by_name("fusion-tuning")
    runs = client.search_runs([experiment.experiment_id])
    assert [run.info.run_id for run in runs] == [run_id]
    data = runs[0].data
    assert data.params["best_norm"] == result.norm and data.params["metric"] == "ndcg@10"
    assert data.params["weight_dense"] == str(result.weights[0])
    assert data.metrics["cv_mean"] == pytest.approx(result.cv_mean)
    assert data.metrics["default_score"] == pytest.approx(result.default_score)
    assert data.tags["sherlock.query_set"] == "juspay-expectations" and data.tags["sherlock.query_set_hash"]
    artifacts = tmp_path / "mlartifacts" / run_id / "artifacts"
    assert {p.name for p in artifacts.iterdir()} == {"surface.csv", "per_query.csv", "single_per_query.csv",
                                                     "cv_folds.json", "result.json"}
    assert (runs[0].info.status, runs[0].info.run_name) == ("FINISHED", f"tune ndcg@10 {result.fusion} on "
                                                                       "juspay-expectations")
    assert not (tmp_path / "mlruns").exists()
