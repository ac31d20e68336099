"""MLflow tracking for fusion tuning and A/B experiments: the one place that opens the store, runs a run and reads runs.

The store is ``settings.tracking_uri``: the workspace's SQLite file with artifacts under ``<home>/mlartifacts``, or an
``mlflow server`` (``http(s)://``) with its own artifact proxy. MLflow is imported inside the functions only, so
importing Sherlock stays fast.

    client = mlflow_client(settings)
    experiment = experiment_id(client, settings, "sherlock-ab")
    with start_run(client, experiment, "A vs B", tags={"sherlock.kind": "ab-offline"}) as parent:
        parent.log(metrics={"ndcg_at_10.diff": 0.01}, params={"seed": 0})
        with start_run(client, experiment, "A", parent=parent.run_id) as arm:
            arm.log_frame(per_query, "per_query.csv")
        parent.log_figure(figure, "plots/deltas.html")      # FINISHED on leaving; FAILED when the block raises
"""

from __future__ import annotations

import io
import logging
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from sherlock.config import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

#: How many runs one ``search_runs`` request asks for (MLflow's own page limit for a SQL store is 50,000).
PAGE_SIZE = 1000


# -- where the runs go ---------------------------------------------------------------------------------------------

def local_store(tracking_uri: str) -> bool:
    """Whether ``tracking_uri`` is a store on this machine (``sqlite:``, ``file:`` or a plain path), whose artifacts
    Sherlock keeps under the workspace; a tracking server (``http(s)://``) stores them where it was told to."""
    scheme = urlparse(tracking_uri).scheme
    return scheme in ("", "file", "sqlite") or len(scheme) == 1  # one letter: a Windows drive (C:/...)


def store_exists(tracking_uri: str) -> bool:
    """Whether a local store is already there, so reading it creates nothing; a tracking server is always asked."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite":  # sqlite:///relative.db, sqlite:////absolute.db
        return Path(tracking_uri.split("://", 1)[1].removeprefix("/")).is_file()
    if local_store(tracking_uri):
        return Path(parsed.path if parsed.scheme == "file" else tracking_uri).is_dir()
    return True


def mlflow_client(settings: Settings) -> MlflowClient:
    """An ``MlflowClient`` for ``settings.tracking_uri``, with MLflow's telemetry off. A new SQLite store's tables are
    created here, without the INFO lines MLflow and alembic print while doing so."""
    from mlflow.tracking import MlflowClient
    with _quiet_store_setup():
        return MlflowClient(tracking_uri=settings.tracking_uri)


def experiment_id(client: MlflowClient, settings: Settings, name: str) -> str:
    """The id of experiment ``name``, created if it does not exist yet: with its artifacts under the workspace for a
    local store; with the server's default (its artifact proxy, ``mlflow-artifacts:/``) for a tracking server.

    A new experiment is tagged ``mlflow.experimentKind = custom_model_development`` (what the MLflow UI's own
    experiment-type picker writes for "Machine learning"): Sherlock logs runs of parameters and metrics, not GenAI
    traces. MLflow 3.17's UI does not read the tag to choose the first view — its "GenAI | Model training" switch
    does, or ``?workflowType=machine_learning`` on the experiment's URL — so links to the runs carry that parameter."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    tags = {"mlflow.experimentKind": "custom_model_development"}
    if not local_store(settings.tracking_uri):
        return client.create_experiment(name, tags=tags)
    settings.artifacts_path.mkdir(parents=True, exist_ok=True)
    return client.create_experiment(name, artifact_location=settings.artifacts_path.as_uri(), tags=tags)


# -- writing -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunLog:
    """An open run (from :func:`start_run`): what is logged to it goes to ``run_id`` through ``client``."""

    client: MlflowClient
    run_id: str

    def log(self, metrics: Mapping[str, float] | None = None, params: Mapping[str, Any] | None = None,
            tags: Mapping[str, str] | None = None) -> None:
        """Metrics (as floats, step 0), parameters (as text) and tags in one ``log_batch``; the client splits it to
        MLflow's per-request limits."""
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.utils.time import get_current_time_millis
        now = get_current_time_millis()
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, 0) for k, v in (metrics or {}).items()],
                              params=[Param(k, str(v)) for k, v in (params or {}).items()],
                              tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()])

    def log_artifacts(self, folder: str | Path, artifact_path: str | None = None) -> None:
        """Every file under ``folder``, at the artifact root or under ``artifact_path``."""
        self.client.log_artifacts(self.run_id, str(folder), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        """``text`` as the UTF-8 artifact ``artifact_file`` (``result.json``, ``variant.toml``, ``sub/dir/x.txt``)."""
        self.client.log_text(self.run_id, text, artifact_file)

    def log_frame(self, frame: pd.DataFrame, artifact_file: str, index: bool = False) -> None:
        """``frame`` as the CSV artifact ``artifact_file`` (without its index unless ``index``)."""
        path = PurePosixPath(artifact_file)
        with tempfile.TemporaryDirectory(prefix="sherlock-mlflow-") as tmp:
            local = Path(tmp, path.name)
            frame.to_csv(local, index=index)
            self.client.log_artifact(self.run_id, str(local), str(path.parent) if path.parent.parts else None)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        """A plotly figure as the HTML artifact ``artifact_file`` (MLflow's ``log_figure``: a small page that loads
        plotly.js from its CDN when opened, e.g. in the MLflow UI)."""
        self.client.log_figure(self.run_id, figure, artifact_file)


@contextmanager
def start_run(client: MlflowClient, experiment: str, name: str | None = None,
              tags: Mapping[str, str] | None = None, parent: str | None = None) -> Iterator[RunLog]:
    """Create a run of experiment id ``experiment`` named ``name`` with ``tags`` (a child of run ``parent`` when
    given: tag ``mlflow.parentRunId``), yield it, and end it FINISHED — or FAILED when the block raises, re-raising.
    Ending is silent: a tracking server's client prints "View run … at …", which would corrupt ``--json`` output."""
    all_tags = {**(tags or {}), **({"mlflow.parentRunId": parent} if parent else {})}
    with _quiet_store_setup():
        run_id = client.create_run(experiment, run_name=name, tags=all_tags).info.run_id
    try:
        yield RunLog(client, run_id)
    except BaseException:
        _end_run(client, run_id, "FAILED")
        raise
    _end_run(client, run_id, "FINISHED")


def _end_run(client: MlflowClient, run_id: str, status: str) -> None:
    with redirect_stdout(io.StringIO()):
        client.set_terminated(run_id, status)


# -- reading -------------------------------------------------------------------------------------------------------

def search_runs(settings: Settings, experiment: str, max_results: int = 5000) -> list[Run]:
    """Up to ``max_results`` runs of the experiment named ``experiment``, newest first, read page by page. Empty when
    the store or the experiment does not exist yet: reading never creates a store."""
    if not store_exists(settings.tracking_uri):
        return []
    client = mlflow_client(settings)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs: list[Run] = []
    token = None
    while len(runs) < max_results:
        page = client.search_runs([found.experiment_id], max_results=min(PAGE_SIZE, max_results - len(runs)),
                                  order_by=["attributes.start_time DESC"], page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    return runs


def get_run(client: MlflowClient, run_id: str) -> Run:
    """Run ``run_id``; ``ValueError`` naming the run and the store when there is no such run."""
    from mlflow.exceptions import MlflowException
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        raise ValueError(f"no MLflow run {run_id!r} in {client.tracking_uri} ({exc.message})") from None


def metric_key(metric: str) -> str:
    """The MLflow name of a metric: ``ndcg@10`` → ``ndcg_at_10`` (MLflow names cannot contain ``@``)."""
    return metric.replace("@", "_at_")


def git_revision(root: Path = PROJECT_ROOT) -> str:
    """``git rev-parse HEAD`` of ``root``, with ``+dirty`` when tracked files have changes; ``unknown`` when ``root``
    is not a git checkout or git is missing."""
    try:
        head, status = (subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=5)
                        for args in (["rev-parse", "HEAD"], ["status", "--porcelain", "--untracked-files=no"]))
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if status.returncode or status.stdout.strip() else "")


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
