"""Record an online A/B analysis in the workspace's MLflow store (``settings.tracking_uri``): experiment
``sherlock-ab-online``, a parent run per analysis and a child run per arm (tag ``mlflow.parentRunId``), so arms can be
compared side by side in the MLflow UI and every analysis of one experiment is kept."""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from sherlock.config import Settings
from sherlock.tracking import experiment_id, mlflow_client, start_run

if TYPE_CHECKING:
    from sherlock.evaluation.online_ab import ArmStats, Comparison, OnlineResult

MLFLOW_EXPERIMENT = "sherlock-ab-online"


def log_online(result: OnlineResult, settings: Settings) -> str:
    """Log ``result`` to the ``sherlock-ab-online`` experiment of ``settings.tracking_uri``: a parent run (the
    experiment's config, holdout counts, ``result.json``) with one child run per arm (the arm's resolved settings,
    its counts, rate and interval, and its comparison with the control). Returns the parent run id. The runs end
    together: all FINISHED, or all FAILED when anything goes wrong half-way (and the error is raised)."""
    config = result.config
    if config is None:
        raise ValueError("log_online needs the result of analyse() (it carries the experiment's configuration)")
    shared = {"experiment": config.name, "holdout": f"{config.holdout:g}", "salt": config.salt,
              "split": ",".join(f"{arm}={share:g}" for arm, share in config.split.items()),
              "control": config.control, "path": str(config.path or "")}
    tags = {"sherlock.kind": "online", "sherlock.experiment": config.name, "sherlock.home": str(settings.home)}
    client = mlflow_client(settings)
    experiment = experiment_id(client, settings, MLFLOW_EXPERIMENT)
    with ExitStack() as runs:
        parent = runs.enter_context(start_run(client, experiment, f"online {config.name}", tags))
        parent.log({f"holdout_{k}": v for k, v in _metrics(result.holdout, None).items()}, shared)
        for arm, stats in result.variants.items():
            child = runs.enter_context(start_run(client, experiment, arm, {
                **tags, "sherlock.arm": arm, "sherlock.role": "control" if arm == config.control else "treatment",
                "sherlock.variant": config.arms[arm].describe()}, parent=parent.run_id))
            child.log(_metrics(stats, result.comparisons.get(arm)),
                      {**config.arms[arm].params(settings), **shared, "arm": arm, "share": f"{config.split[arm]:g}"})
        parent.log_text(json.dumps({**result.as_dict(), "mlflow_run_id": parent.run_id}, indent=1), "result.json")
    return parent.run_id


def _metrics(stats: ArmStats, comparison: Comparison | None) -> dict[str, float]:
    values: dict[str, Any] = {"sessions": stats.sessions, "votes": stats.votes, "helpful": stats.helpful,
                              "rate": stats.rate}
    if stats.ci95:
        values.update(ci95_low=stats.ci95[0], ci95_high=stats.ci95[1])
    if comparison is not None and comparison.diff is not None and comparison.ci95:
        values.update(diff=comparison.diff, diff_ci95_low=comparison.ci95[0], diff_ci95_high=comparison.ci95[1],
                      p=comparison.p, p_holm=comparison.p_holm)
    return {k: v for k, v in values.items() if v is not None}
