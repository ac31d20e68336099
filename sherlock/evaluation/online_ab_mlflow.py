"""Record an online A/B analysis in the workspace's MLflow store (``settings.tracking_uri``): experiment
``sherlock-ab-online``, a parent run per analysis and a child run per arm (tag ``mlflow.parentRunId``), so arms can be
compared side by side in the MLflow UI and every analysis of one experiment is kept."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sherlock.config import Settings, quiet_telemetry

if TYPE_CHECKING:
    from sherlock.evaluation.online_ab import ArmStats, Comparison, OnlineResult

MLFLOW_EXPERIMENT = "sherlock-ab-online"


def log_online(result: OnlineResult, settings: Settings) -> str:
    """Log ``result`` to the ``sherlock-ab-online`` experiment of ``settings.tracking_uri``: a parent run (the
    experiment's config, holdout counts, ``result.json``) with one child run per arm (the arm's resolved settings,
    its counts, rate and interval, and its comparison with the control). Returns the parent run id."""
    quiet_telemetry()
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient
    from mlflow.utils.time import get_current_time_millis

    from sherlock.evaluation.tuning_mlflow import _quiet_store_setup, experiment_id, set_terminated
    config = result.config
    if config is None:
        raise ValueError("log_online needs the result of analyse() (it carries the experiment's configuration)")
    shared = {"experiment": config.name, "holdout": f"{config.holdout:g}", "salt": config.salt,
              "split": ",".join(f"{arm}={share:g}" for arm, share in config.split.items()),
              "control": config.control, "path": str(config.path or "")}
    tags = {"sherlock.kind": "online", "sherlock.experiment": config.name, "sherlock.home": str(settings.home)}
    with _quiet_store_setup():
        client = MlflowClient(tracking_uri=settings.tracking_uri)
        experiment = experiment_id(client, settings, MLFLOW_EXPERIMENT)
        parent = client.create_run(experiment, tags={**tags, "mlflow.runName": f"online {config.name}"}).info.run_id
    runs = [parent]
    try:
        now = get_current_time_millis()
        client.log_batch(parent, metrics=[Metric(f"holdout_{k}", float(v), now, 0) for k, v in
                                          _metrics(result.holdout, None).items()],
                         params=[Param(k, v) for k, v in shared.items()])
        for arm, stats in result.variants.items():
            child = client.create_run(experiment, tags={
                **tags, "mlflow.parentRunId": parent, "mlflow.runName": arm, "sherlock.arm": arm,
                "sherlock.role": "control" if arm == config.control else "treatment"}).info.run_id
            runs.append(child)
            params = {**config.arms[arm].params(settings), **shared, "arm": arm, "share": f"{config.split[arm]:g}"}
            client.log_batch(child, metrics=[Metric(k, float(v), now, 0) for k, v in
                                             _metrics(stats, result.comparisons.get(arm)).items()],
                             params=[Param(k, v) for k, v in params.items()],
                             tags=[RunTag("sherlock.variant", config.arms[arm].describe())])
            set_terminated(client, child)
        payload = json.dumps({**result.as_dict(), "mlflow_run_id": parent}, indent=1)
        client.log_text(parent, payload, "result.json")
    except BaseException:
        for run in runs:
            set_terminated(client, run, "FAILED")
        raise
    set_terminated(client, parent)
    return parent


def _metrics(stats: ArmStats, comparison: Comparison | None) -> dict[str, float]:
    values: dict[str, Any] = {"sessions": stats.sessions, "votes": stats.votes, "helpful": stats.helpful,
                              "rate": stats.rate}
    if stats.ci95:
        values.update(ci95_low=stats.ci95[0], ci95_high=stats.ci95[1])
    if comparison is not None and comparison.diff is not None:
        values.update(diff=comparison.diff, diff_ci95_low=comparison.ci95[0], diff_ci95_high=comparison.ci95[1],
                      p=comparison.p, p_holm=comparison.p_holm)
    return {k: v for k, v in values.items() if v is not None}
