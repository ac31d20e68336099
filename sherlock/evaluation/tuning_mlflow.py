"""Record a tuning run in the workspace's MLflow store (SQLite under the home; artifacts under ``<home>/mlartifacts``).

Each run holds the tuning parameters, the scores as metrics, and the full weight surface, the per-query scores and
the cross-validation folds as CSV/JSON artifacts; tags name the query set, its content hash and the corpus revision,
so two runs can be compared only when they were tuned on the same thing.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from sherlock.config import Settings, quiet_telemetry

if TYPE_CHECKING:
    from sherlock.evaluation.tuning import TuneResult

EXPERIMENT = "fusion-tuning"


def local_store(tracking_uri: str) -> bool:
    """Whether ``tracking_uri`` is a store on this machine (``sqlite:``, ``file:`` or a plain path), whose artifacts
    Sherlock keeps under the workspace; a tracking server (``http(s)://``) stores them where it was told to."""
    scheme = urlparse(tracking_uri).scheme
    return scheme in ("", "file", "sqlite") or len(scheme) == 1  # one letter: a Windows drive (C:/...)


def experiment_id(client: Any, settings: Settings, name: str = EXPERIMENT) -> str:
    """The id of experiment ``name``, created if it does not exist yet: with its artifacts under the workspace for a
    local store; with the server's default (its artifact proxy, ``mlflow-artifacts:/``) for a tracking server."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    if not local_store(settings.tracking_uri):
        return client.create_experiment(name)
    settings.artifacts_path.mkdir(parents=True, exist_ok=True)
    return client.create_experiment(name, artifact_location=settings.artifacts_path.as_uri())


def set_terminated(client: Any, run_id: str, status: str = "FINISHED") -> None:
    """End a run. A client of a tracking server prints "View run … at …" on stdout while doing so, which would
    corrupt ``--json`` output: that text is dropped."""
    with redirect_stdout(io.StringIO()):
        client.set_terminated(run_id, status)


@contextmanager
def _quiet_store_setup() -> Iterator[None]:
    """Hide the INFO lines MLflow prints while it creates a new SQLite store's tables (restored afterwards)."""
    loggers = [logging.getLogger(name) for name in ("mlflow.store.db.utils", "alembic.runtime.migration")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _corpus_revision(result: TuneResult, settings: Settings) -> Any:
    revision = result.params.get("corpus_revision")
    if revision is None and settings.store_path.exists():
        from sherlock.storage.store import Store
        store = Store(settings.store_path)
        try:
            revision = store.revision()
        finally:
            store.close()
    return revision


def log_to_mlflow(result: TuneResult, settings: Settings, query_set: str) -> str:
    """Log ``result`` as one run of the ``fusion-tuning`` experiment in ``settings.tracking_uri``; returns the run
    id. Parameters: the chosen setting and how it was searched; metrics: in-sample best, CV mean/sd, default,
    current and each single retriever; artifacts: ``surface.csv``, ``per_query.csv``, ``single_per_query.csv``,
    ``cv_folds.json``, ``result.json``."""
    quiet_telemetry()
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    from mlflow.utils.time import get_current_time_millis

    tags = {"mlflow.runName": f"tune {result.metric} {result.fusion} on {query_set}",
            "sherlock.query_set": query_set, "sherlock.query_set_hash": str(result.params.get("query_set_hash", "")),
            "sherlock.corpus_revision": str(_corpus_revision(result, settings)), "sherlock.metric": result.metric,
            "sherlock.home": str(settings.home)}
    params = {**{k: v for k, v in result.params.items() if k not in ("query_set_hash", "corpus_revision")},
              "best_weights": ",".join(f"{w:g}" for w in result.weights), "best_norm": result.norm,
              "weight_dense": result.weights[0], "weight_bm25": result.weights[1], "weight_tfidf": result.weights[2],
              "query_set": query_set, "entity_boost": settings.entity_boost}
    metrics = {"score": result.score, "cv_mean": result.cv_mean, "cv_std": result.cv_std,
               "default_score": result.default_score, "current_score": result.current_score,
               **{f"single_{name}": value for name, value in result.single.items()}}
    with _quiet_store_setup():
        client = MlflowClient(tracking_uri=settings.tracking_uri)
        run_id = client.create_run(experiment_id(client, settings), tags=tags).info.run_id
    try:
        now = get_current_time_millis()
        client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
                         params=[Param(k, str(v)) for k, v in params.items()])
        with tempfile.TemporaryDirectory(prefix="sherlock-tune-") as tmp:
            folder = Path(tmp)
            result.surface.to_csv(folder / "surface.csv", index=False)
            result.per_query.to_csv(folder / "per_query.csv", index=False)
            result.single_per_query.to_csv(folder / "single_per_query.csv", index=False)
            (folder / "cv_folds.json").write_text(json.dumps(result.cv_folds, indent=1), encoding="utf-8")
            (folder / "result.json").write_text(json.dumps({**result.as_dict(), "mlflow_run_id": run_id}, indent=1),
                                                encoding="utf-8")
            client.log_artifacts(run_id, str(folder))
    except BaseException:
        set_terminated(client, run_id, "FAILED")
        raise
    set_terminated(client, run_id)
    return run_id
