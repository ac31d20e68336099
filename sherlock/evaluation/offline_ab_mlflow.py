"""Offline A/B comparisons in MLflow (the workspace's store, or ``SHERLOCK_MLFLOW_TRACKING_URI``'s server).

``log_ab`` writes a parent run ``A vs B`` (statistics, ``per_query.csv``, ``result.json``, plots of the per-query
differences) with a child run per arm (resolved configuration, mean metrics, ``per_query.csv``, ``variant.toml``), all
tagged with the query set, its hash, the corpus and git revisions. ``list_runs``, ``arm_scores`` and ``run_params``
read them; ``compare_scores(arm_scores(s, id1)[0], arm_scores(s, id2)[0], metrics)`` compares any two arms again.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pandas as pd

from sherlock.config import PROJECT_ROOT, Settings, quiet_telemetry
from sherlock.evaluation.tuning_mlflow import _quiet_store_setup, experiment_id, local_store, set_terminated

if TYPE_CHECKING:
    from sherlock.evaluation.offline_ab import ABResult
    from sherlock.evaluation.variants import Variant

EXPERIMENT = "sherlock-ab"
#: The columns :func:`list_runs` always has (metric columns follow them).
RUN_COLUMNS = ["run_id", "parent_run_id", "kind", "name", "arm", "variant", "status", "start_time", "query_set",
               "query_set_hash", "corpus_revision", "git_revision"]
#: Per metric, the statistics the parent run logs as ``<metric>.<name>`` (plus ``ci95_lo`` and ``ci95_hi``).
STATISTICS = ("a", "b", "diff", "p_paired_t", "p_wilcoxon", "p_permutation", "p_welch", "cohens_d", "p_holm")


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


# -- writing -------------------------------------------------------------------------------------------------------

def log_ab(result: ABResult, settings: Settings, experiment: str = EXPERIMENT) -> dict[str, str]:
    """Log ``result`` to ``experiment`` in ``settings.tracking_uri`` as a parent run with one child run per arm;
    returns ``{"parent", "a", "b"}`` run ids and sets ``result.mlflow_run_ids`` to them. Runs are marked FAILED when
    anything goes wrong half-way (and the error is raised)."""
    quiet_telemetry()
    from mlflow.tracking import MlflowClient

    common = {f"sherlock.{key}": str(result.params.get(key, "")) for key in ("query_set", "query_set_hash",
                                                                             "corpus_revision")}
    common.update({"sherlock.git_revision": git_revision(), "sherlock.home": str(settings.home)})
    names = {arm: result.variants[arm].name for arm in ("a", "b")}
    with _quiet_store_setup():
        client = MlflowClient(tracking_uri=settings.tracking_uri)
        experiment_ref = experiment_id(client, settings, experiment)
        parent = client.create_run(experiment_ref, run_name=result.name, tags={
            **common, "sherlock.kind": "ab-offline", "sherlock.variant_a": names["a"],
            "sherlock.variant_b": names["b"], "sherlock.primary_metric": result.primary}).info.run_id
    ids = {"parent": parent}
    try:
        with tempfile.TemporaryDirectory(prefix="sherlock-ab-") as tmp:
            for arm in ("a", "b"):
                ids[arm] = client.create_run(experiment_ref, run_name=names[arm], tags={
                    **common, "mlflow.parentRunId": parent, "sherlock.kind": "ab-arm", "sherlock.arm": arm,
                    "sherlock.variant": names[arm], "mlflow.note.content": result.variants[arm].describe()}).info.run_id
                means = {metric_key(m): float(result.scores[arm][m].mean()) for m in result.metrics}
                _log_batch(client, ids[arm], means, result.arm_params[arm])
                (folder := Path(tmp, arm)).mkdir()
                frame = result.scores[arm][result.metrics].rename_axis("qid").reset_index()  # qid, ndcg@10, …
                frame.insert(1, "query", [result.queries.get(qid, "") for qid in frame["qid"]])
                frame.to_csv(folder / "per_query.csv", index=False)
                (folder / "variant.toml").write_text(variant_toml(result.variants[arm]), encoding="utf-8")
                client.log_artifacts(ids[arm], str(folder))
            _log_batch(client, parent, parent_metrics(result), {**result.params, "variant_a": names["a"],
                                                                  "variant_b": names["b"]})
            (folder := Path(tmp, "parent")).mkdir()
            result.per_query().to_csv(folder / "per_query.csv", index=False)
            payload = json.dumps({**result.as_dict(), "mlflow_run_ids": ids}, indent=1, default=str)
            (folder / "result.json").write_text(payload, encoding="utf-8")
            plot_deltas(result, folder / "deltas_histogram.png", folder / "deltas_scatter.png")
            client.log_artifacts(parent, str(folder))
    except BaseException:
        for run_id in ids.values():
            set_terminated(client, run_id, "FAILED")
        raise
    for run_id in (ids["a"], ids["b"], parent):
        set_terminated(client, run_id)
    result.mlflow_run_ids = dict(ids)
    return dict(ids)


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


def plot_deltas(result: ABResult, histogram: Path, scatter: Path) -> None:
    """Two PNGs with one panel per metric: the histogram of per-query B − A, and A against B with the diagonal.
    Drawn on a bare Agg canvas, so no pyplot state or backend is touched."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = result.variants["a"].name, result.variants["b"].name
    for path, draw in ((histogram, "hist"), (scatter, "scatter")):
        figure = Figure(figsize=(4.2 * len(result.metrics), 3.6), layout="constrained")
        FigureCanvasAgg(figure)
        for axes, metric in zip(figure.subplots(1, len(result.metrics), squeeze=False)[0], result.metrics,
                                strict=True):
            a, b = result.scores["a"][metric].to_numpy(float), result.scores["b"][metric].to_numpy(float)
            if draw == "hist":
                axes.hist(b - a, bins=min(30, max(5, len(a) // 5)), color="#4c72b0")
                axes.axvline(0.0, color="black", linewidth=0.8)
                axes.set(title=metric, xlabel=f"{names[1]} − {names[0]} per query", ylabel="queries")
            else:
                axes.scatter(a, b, s=12, alpha=0.6, color="#4c72b0")
                low, high = min(a.min(), b.min(), 0.0), max(a.max(), b.max(), 1.0)
                axes.plot([low, high], [low, high], color="black", linewidth=0.8)
                axes.set(title=metric, xlabel=f"{names[0]} (A)", ylabel=f"{names[1]} (B)")
        figure.savefig(path, dpi=100)


# -- reading -------------------------------------------------------------------------------------------------------

def list_runs(settings: Settings, experiment: str = EXPERIMENT, max_results: int = 5000) -> pd.DataFrame:
    """Every run of ``experiment`` (parents and arms), newest first: :data:`RUN_COLUMNS` then one column per
    metric. Empty (with those columns) when the store or the experiment does not exist yet; listing never creates
    a store."""
    empty = pd.DataFrame(columns=RUN_COLUMNS)
    if not _store_exists(settings.tracking_uri):
        return empty
    client = _client(settings)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return empty
    runs: list[Any] = []
    token = None
    while len(runs) < max_results:
        page = client.search_runs([found.experiment_id], max_results=min(1000, max_results - len(runs)),
                                  order_by=["attributes.start_time DESC"], page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    if not runs:
        return empty
    rows = [{"run_id": run.info.run_id, "parent_run_id": run.data.tags.get("mlflow.parentRunId", ""),
             "kind": run.data.tags.get("sherlock.kind", ""), "name": run.info.run_name or "",
             "arm": run.data.tags.get("sherlock.arm", ""), "variant": run.data.tags.get("sherlock.variant", ""),
             "status": run.info.status, "start_time": run.info.start_time,
             **{column: run.data.tags.get(f"sherlock.{column}", "") for column in RUN_COLUMNS[8:]},
             **run.data.metrics} for run in runs]
    frame = pd.DataFrame(rows)
    frame["start_time"] = pd.to_datetime(frame["start_time"], unit="ms", utc=True)
    metrics = sorted(c for c in frame.columns if c not in RUN_COLUMNS)
    return frame[RUN_COLUMNS + metrics].sort_values("start_time", ascending=False, kind="stable",
                                                    ignore_index=True)


def arm_scores(settings: Settings, run_id: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """An arm run's per-query scores (indexed by qid, one column per metric) and its ``{qid: query}``: feed two of
    them to :func:`sherlock.evaluation.offline_ab.compare_scores`. ``ValueError`` for a run that is not an A/B arm."""
    client, run = _get_run(settings, run_id)
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
    run = _get_run(settings, run_id)[1]
    tags = {k: v for k, v in run.data.tags.items() if k.startswith("sherlock.")}
    return {**run.data.params, **tags, "run_id": run.info.run_id, "run_name": run.info.run_name or "",
            "status": run.info.status, "parent_run_id": run.data.tags.get("mlflow.parentRunId", "")}


def report(result: ABResult, settings: Settings) -> str:
    """``sherlock ab``'s table: per metric both means, B − A with its CI, the four p-values, Cohen's d and the Holm p
    (``*`` when significant); then wins/ties/losses on the primary metric, timings and the MLflow runs."""
    from sherlock.evaluation.query_sets import _table
    rows = [["metric", "A", "B", "B − A", "95% CI", "paired t p", "Wilcoxon p", "permutation p", "Welch p",
             "Cohen's d", "Holm p"]]
    for metric in result.metrics:
        s = result.stats[metric]
        rows.append([metric, f"{s['a']:.4f}", f"{s['b']:.4f}", f"{s['diff']:+.4f}",
                     f"[{s['ci95'][0]:+.4f}, {s['ci95'][1]:+.4f}]", *(_p(s[k]) for k in STATISTICS[3:7]),
                     f"{s['cohens_d']:+.3f}", _p(s["p_holm"]) + (" *" if s["significant"] else "")])
    p, seconds, (wins, ties, losses) = result.params, result.seconds, result.outcome()
    timings = {"scoring": sum(v for k, v in seconds.items() if k.startswith("score_")),
               "ranking": sum(v for k, v in seconds.items() if k.startswith("rank_")),
               **{k: seconds[k] for k in ("statistics", "mlflow") if k in seconds},
               "total": seconds.get("total", 0.0) + seconds.get("mlflow", 0.0)}
    lines = [f"A = {result.variants['a'].name}: {result.variants['a'].describe()}",
             f"B = {result.variants['b'].name}: {result.variants['b'].describe()}",
             f"{p['queries']} judged queries of {p['query_set'] or 'the query set'} (corpus revision "
             f"{p['corpus_revision']}); {p['resamples']} resamples, seed {p['seed']}", "", _table(rows),
             f"* significant at alpha = {p['alpha']:g}: Holm's correction of the permutation p over "
             f"{len(result.metrics)} metric(s)", "",
             f"{result.primary}: B wins on {wins}, ties on {ties}, loses on {losses} queries",
             "seconds: " + ", ".join(f"{stage} {value:.2f}" for stage, value in timings.items())]
    ids = result.mlflow_run_ids
    if ids:
        lines += [f"MLflow: parent run {ids['parent']}, arm A {ids['a']}, arm B {ids['b']} at {settings.tracking_uri}",
                  "  see them: " + ("MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false mlflow ui --backend-store-uri "
                                    f"{settings.tracking_uri}"
                                    if local_store(settings.tracking_uri) else f"open {settings.tracking_uri}")]
    return "\n".join(lines)


# -- helpers -------------------------------------------------------------------------------------------------------

def _client(settings: Settings) -> Any:
    quiet_telemetry()
    from mlflow.tracking import MlflowClient
    with _quiet_store_setup():
        return MlflowClient(tracking_uri=settings.tracking_uri)


def _get_run(settings: Settings, run_id: str) -> tuple[Any, Any]:
    """The client and the run; ``ValueError`` when there is no such run."""
    from mlflow.exceptions import MlflowException
    client = _client(settings)
    try:
        return client, client.get_run(run_id)
    except MlflowException as exc:
        raise ValueError(f"no MLflow run {run_id!r} in {settings.tracking_uri} ({exc.message})") from None


def _store_exists(uri: str) -> bool:
    """Whether a local store is already there (a remote one is asked instead)."""
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":  # sqlite:///relative.db, sqlite:////absolute.db
        return Path(uri.split("://", 1)[1].removeprefix("/")).is_file()
    if local_store(uri):
        return Path(parsed.path if parsed.scheme == "file" else uri).is_dir()
    return True


def _log_batch(client: Any, run_id: str, metrics: dict[str, float], params: dict[str, Any]) -> None:
    """Metrics and parameters in one ``log_batch`` (the client splits it to MLflow's per-request limits)."""
    from mlflow.entities import Metric, Param
    from mlflow.utils.time import get_current_time_millis
    now = get_current_time_millis()
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
                     params=[Param(k, str(v)) for k, v in params.items()])


def _p(value: float) -> str:
    return f"{value:.4f}" if value >= 1e-4 else f"{value:.1e}"

