"""Offline A/B comparisons in MLflow (the workspace's store, or ``SHERLOCK_MLFLOW_TRACKING_URI``'s server).

``log_ab`` writes a parent run ``A vs B`` (statistics, ``per_query.csv``, ``result.json``, plotly plots of the
per-query differences under ``plots/``) with a child run per arm (resolved configuration, mean metrics,
``per_query.csv``, ``variant.toml``), all tagged with the query set, its hash, the corpus and git revisions.
``list_runs``, ``arm_scores`` and ``run_params`` read them; ``compare_scores(arm_scores(s, id1)[0], arm_scores(s,
id2)[0], metrics)`` compares any two arms again.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sherlock.config import Settings
from sherlock.evaluation.variants import FUSION_KEYS, fusion_summary
from sherlock.tracking import (
    experiment_id,
    get_run,
    git_revision,
    local_store,
    metric_key,
    mlflow_client,
    search_runs,
    start_run,
)

if TYPE_CHECKING:
    from sherlock.evaluation.offline_ab import ABResult
    from sherlock.evaluation.variants import Variant

EXPERIMENT = "sherlock-ab"
#: The ``sherlock.*`` tags :func:`list_runs` reads into columns of the same name.
TAG_COLUMNS = ["query_set", "query_set_hash", "corpus_revision", "git_revision"]
#: The columns :func:`list_runs` always has (metric columns follow them); ``setting`` is an arm's weights, fusion and
#: norm as it ranked (:func:`~sherlock.evaluation.variants.fusion_summary` of its parameters; ``""`` for a parent).
RUN_COLUMNS = ["run_id", "parent_run_id", "kind", "name", "arm", "variant", "status", "start_time", *TAG_COLUMNS,
               "setting", "experiment_id"]
#: Where ``mlflow ui`` serves a local store (its default host and port).
MLFLOW_UI = "http://127.0.0.1:5000"
#: Per metric, the statistics the parent run logs as ``<metric>.<name>`` (plus ``ci95_lo`` and ``ci95_hi``).
STATISTICS = ("a", "b", "diff", "p_paired_t", "p_wilcoxon", "p_permutation", "p_welch", "cohens_d", "p_holm")


# -- writing -------------------------------------------------------------------------------------------------------

def log_ab(result: ABResult, settings: Settings, experiment: str = EXPERIMENT) -> dict[str, str]:
    """Log ``result`` to ``experiment`` in ``settings.tracking_uri`` as a parent run with one child run per arm;
    returns ``{"parent", "a", "b"}`` run ids and sets ``result.mlflow_run_ids`` to them. The three runs end together:
    all FINISHED, or all FAILED when anything goes wrong half-way (and the error is raised)."""
    common = {f"sherlock.{key}": str(result.params.get(key, "")) for key in ("query_set", "query_set_hash",
                                                                             "corpus_revision")}
    common.update({"sherlock.git_revision": git_revision(), "sherlock.home": str(settings.home)})
    names = {arm: result.variants[arm].name for arm in ("a", "b")}
    client = mlflow_client(settings)
    experiment_ref = experiment_id(client, settings, experiment)
    settings_of = {arm: fusion_summary(result.arm_params[arm]) for arm in ("a", "b")}
    with ExitStack() as runs:
        parent = runs.enter_context(start_run(client, experiment_ref, result.name, {
            **common, "sherlock.kind": "ab-offline", "sherlock.variant_a": names["a"],
            "sherlock.variant_b": names["b"], "sherlock.primary_metric": result.primary,
            "mlflow.note.content": "\n".join(f"{arm.upper()} = {names[arm]}: {settings_of[arm]}"
                                              for arm in ("a", "b"))}))
        ids = {"parent": parent.run_id}
        for arm in ("a", "b"):
            child = runs.enter_context(start_run(client, experiment_ref, names[arm], {
                **common, "sherlock.kind": "ab-arm", "sherlock.arm": arm, "sherlock.variant": names[arm],
                "mlflow.note.content": result.variants[arm].describe()}, parent=parent.run_id))
            ids[arm] = child.run_id
            child.log({metric_key(m): float(result.scores[arm][m].mean()) for m in result.metrics},
                      result.arm_params[arm])
            frame = result.scores[arm][result.metrics].rename_axis("qid").reset_index()  # qid, ndcg@10, …
            frame.insert(1, "query", [result.queries.get(qid, "") for qid in frame["qid"]])
            child.log_frame(frame, "per_query.csv")
            child.log_text(variant_toml(result.variants[arm]), "variant.toml")
        parent.log(parent_metrics(result), {**result.params, "variant_a": names["a"], "variant_b": names["b"],
                                            **arm_settings(result)})
        parent.log_frame(result.per_query(), "per_query.csv")
        parent.log_text(json.dumps({**result.as_dict(), "mlflow_run_ids": ids}, indent=1, default=str), "result.json")
        for artifact_file, figure in delta_figures(result).items():
            parent.log_figure(figure, artifact_file)
    result.mlflow_run_ids = dict(ids)
    result.mlflow_experiment_id = experiment_ref
    return dict(ids)


def runs_url(settings: Settings, experiment_id: str) -> str:
    """The MLflow UI's table of an experiment's runs: on the tracking server, or on ``mlflow ui`` (:data:`MLFLOW_UI`)
    for a local store. ``workflowType=machine_learning`` makes MLflow 3 open the runs, not its GenAI traces view."""
    base = MLFLOW_UI if local_store(settings.tracking_uri) else settings.tracking_uri.rstrip("/")
    return f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"


def parent_metrics(result: ABResult) -> dict[str, float]:
    """The parent run's metrics: ``<metric key>.<statistic>`` for :data:`STATISTICS`, ``ci95_lo`` and ``ci95_hi``;
    ``wins``/``ties``/``losses`` on the primary metric, ``queries`` and ``seconds_total``."""
    values: dict[str, float] = {}
    for metric in result.metrics:
        entry, key = result.stats[metric], metric_key(metric)
        values.update({f"{key}.{name}": float(entry[name]) for name in STATISTICS})
        values[f"{key}.ci95_lo"], values[f"{key}.ci95_hi"] = (float(x) for x in entry["ci95"])
    wins, ties, losses = result.outcome()
    values.update(wins=wins, ties=ties, losses=losses, queries=len(result.scores["a"]),
                  seconds_total=float(result.seconds.get("total", 0.0)))
    return values


def arm_settings(result: ABResult) -> dict[str, str]:
    """The parent run's record of how each arm ranked: ``a.weights``, ``a.fusion``, ``a.norm`` and the same for ``b``
    (resolved: the ``workspace`` arm's are the workspace's at the time), so the parent's row in the MLflow UI says
    what was compared."""
    return {f"{arm}.{key}": result.arm_params[arm][f"search.{key}"] for arm in ("a", "b") for key in FUSION_KEYS}


def variant_toml(variant: Variant) -> str:
    """The variant file's own text, or (for a variant made in code, like ``workspace``) TOML of what it sets."""
    if variant.path is not None and Path(variant.path).is_file():
        return Path(variant.path).read_text(encoding="utf-8")
    lines = [f"name = {json.dumps(variant.name)}", f"description = {json.dumps(variant.description)}"]
    for table, config in (("search", variant.search), ("answer", variant.answer)):
        chosen = {k: v for k, v in config.model_dump().items() if v is not None}
        if chosen:
            lines += ["", f"[{table}]", *(f"{k} = {json.dumps(v)}" for k, v in chosen.items())]  # TOML too
    return "\n".join(lines) + "\n"


def delta_figures(result: ABResult) -> dict[str, Any]:
    """The parent run's plotly figures by artifact path: per metric, the histogram of per-query B − A
    (``plots/<metric key>_histogram.html``) and A against B with the diagonal (``plots/<metric key>_scatter.html``),
    as the Experiments page draws them."""
    from sherlock.plots.experiments import arm_scatter, delta_histogram
    per_query, labels = result.per_query(), (result.variants["a"].name, result.variants["b"].name)
    figures = {}
    for metric in result.metrics:
        figures[f"plots/{metric_key(metric)}_histogram.html"] = delta_histogram(per_query, metric, labels)
        figures[f"plots/{metric_key(metric)}_scatter.html"] = arm_scatter(per_query, metric, labels)
    return figures


# -- reading -------------------------------------------------------------------------------------------------------

def list_runs(settings: Settings, experiment: str = EXPERIMENT, max_results: int = 5000) -> pd.DataFrame:
    """Every run of ``experiment`` (parents and arms), newest first: :data:`RUN_COLUMNS` then one column per
    metric. Empty (with those columns) when the store or the experiment does not exist yet; listing never creates
    a store."""
    runs = search_runs(settings, experiment, max_results)
    if not runs:
        return pd.DataFrame(columns=RUN_COLUMNS)
    rows = [{"run_id": run.info.run_id, "parent_run_id": run.data.tags.get("mlflow.parentRunId", ""),
             "kind": run.data.tags.get("sherlock.kind", ""), "name": run.info.run_name or "",
             "arm": run.data.tags.get("sherlock.arm", ""), "variant": run.data.tags.get("sherlock.variant", ""),
             "status": run.info.status, "start_time": run.info.start_time,
             **{column: run.data.tags.get(f"sherlock.{column}", "") for column in TAG_COLUMNS},
             "setting": fusion_summary(run.data.params) if run.data.tags.get("sherlock.kind") == "ab-arm" else "",
             "experiment_id": run.info.experiment_id,
             **run.data.metrics} for run in runs]
    frame = pd.DataFrame(rows)
    frame["start_time"] = pd.to_datetime(frame["start_time"], unit="ms", utc=True)
    metrics = sorted(c for c in frame.columns if c not in RUN_COLUMNS)
    return frame[RUN_COLUMNS + metrics].sort_values("start_time", ascending=False, kind="stable",
                                                    ignore_index=True)


def arm_scores(settings: Settings, run_id: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """An arm run's per-query scores (indexed by qid, one column per metric) and its ``{qid: query}``: feed two of
    them to :func:`sherlock.evaluation.offline_ab.compare_scores`. ``ValueError`` for a run that is not an A/B arm."""
    client = mlflow_client(settings)
    run = get_run(client, run_id)
    kind = run.data.tags.get("sherlock.kind", "")
    if kind != "ab-arm":
        raise ValueError(f"run {run_id} ({run.info.run_name}) is {f'a {kind!r} run' if kind else 'not an A/B run'} "
                         "and has no per-arm per_query.csv; pick an arm run (sherlock.kind = ab-arm, the children "
                         "of an A/B comparison)")
    with tempfile.TemporaryDirectory(prefix="sherlock-ab-") as tmp:
        try:
            path = client.download_artifacts(run_id, "per_query.csv", tmp)
        except Exception as exc:  # noqa: BLE001 - MLflow raises several types for a missing artifact
            raise ValueError(f"run {run_id} has no per_query.csv artifact ({exc}); was it logged completely? "
                             f"(status {run.info.status})") from None
        frame = pd.read_csv(path, dtype={"qid": str, "query": str}, keep_default_na=False)
    metrics = [c for c in frame.columns if c not in ("qid", "query")]
    scores = frame.set_index("qid")[metrics].astype(float)
    return scores, dict(zip(frame["qid"], frame["query"], strict=True))


def run_params(settings: Settings, run_id: str) -> dict[str, str]:
    """A run's parameters and its ``sherlock.*`` tags in one flat dict, with ``run_id``, ``run_name``, ``status`` and
    ``parent_run_id`` (parameters are ``search.fusion``-style keys, tags ``sherlock.query_set``-style)."""
    run = get_run(mlflow_client(settings), run_id)
    tags = {k: v for k, v in run.data.tags.items() if k.startswith("sherlock.")}
    return {**run.data.params, **tags, "run_id": run.info.run_id, "run_name": run.info.run_name or "",
            "status": run.info.status, "parent_run_id": run.data.tags.get("mlflow.parentRunId", "")}


# -- helpers -------------------------------------------------------------------------------------------------------
