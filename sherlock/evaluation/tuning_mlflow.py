"""Record a tuning run in the workspace's MLflow store (SQLite under the home; artifacts under ``<home>/mlartifacts``).

Each run holds the tuning parameters, the scores as metrics, and the full weight surface, the per-query scores and
the cross-validation folds as CSV/JSON artifacts; tags name the query set, its content hash and the corpus revision,
so two runs can be compared only when they were tuned on the same thing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sherlock.config import Settings
from sherlock.tracking import experiment_id, mlflow_client, start_run

if TYPE_CHECKING:
    from sherlock.evaluation.tuning import TuneResult

EXPERIMENT = "fusion-tuning"


def log_to_mlflow(result: TuneResult, settings: Settings, query_set: str) -> str:
    """Log ``result`` as one run of the ``fusion-tuning`` experiment in ``settings.tracking_uri``; returns the run
    id. Parameters: the chosen setting and how it was searched; metrics: in-sample best, CV mean/sd, default,
    current and each single retriever; artifacts: ``surface.csv``, ``per_query.csv``, ``single_per_query.csv``,
    ``cv_folds.json``, ``result.json``."""
    tags = {"sherlock.query_set": query_set, "sherlock.query_set_hash": str(result.params.get("query_set_hash", "")),
            "sherlock.corpus_revision": str(_corpus_revision(result, settings)), "sherlock.metric": result.metric,
            "sherlock.home": str(settings.home)}
    params = {**{k: v for k, v in result.params.items() if k not in ("query_set_hash", "corpus_revision")},
              "best_weights": ",".join(f"{w:g}" for w in result.weights), "best_norm": result.norm,
              "weight_dense": result.weights[0], "weight_bm25": result.weights[1], "weight_tfidf": result.weights[2],
              "query_set": query_set, "entity_boost": settings.entity_boost}
    metrics = {"score": result.score, "cv_mean": result.cv_mean, "cv_std": result.cv_std,
               "default_score": result.default_score, "current_score": result.current_score,
               **{f"single_{name}": value for name, value in result.single.items()}}
    client = mlflow_client(settings)
    name = f"tune {result.metric} {result.fusion} on {query_set}"
    with start_run(client, experiment_id(client, settings, EXPERIMENT), name, tags) as run:
        run.log(metrics, params)
        run.log_frame(result.surface, "surface.csv")
        run.log_frame(result.per_query, "per_query.csv")
        run.log_frame(result.single_per_query, "single_per_query.csv")
        run.log_text(json.dumps(result.cv_folds, indent=1), "cv_folds.json")
        run.log_text(json.dumps({**result.as_dict(), "mlflow_run_id": run.run_id}, indent=1), "result.json")
    return run.run_id


def _corpus_revision(result: TuneResult, settings: Settings) -> Any:
    revision = result.params.get("corpus_revision")
    from sherlock.storage.db.stores import store_exists
    if revision is None and store_exists(settings, settings.store_path):
        from sherlock.storage.store import Store
        store = Store(settings.store_path, settings)
        try:
            revision = store.revision()
        finally:
            store.close()
    return revision
