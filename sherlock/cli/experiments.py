"""The evaluation commands: tune (fusion weights), ab (offline A/B) and ab-online (a live chat experiment)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sherlock.cli.commands import open_workspace, ready
from sherlock.cli.output import print_json, query_progress
from sherlock.config import load_settings


def query_set_from(args: argparse.Namespace) -> Any:
    """The labelled query set the flags name (``--demo``, or ``--queries`` with or without ``--qrels``)."""
    from sherlock.evaluation.query_sets import load_query_set
    if args.demo and (args.queries or args.qrels):
        raise ValueError("--demo uses the demo corpus's labelled queries; leave out --queries and --qrels")
    if not args.demo and args.queries is None:
        raise ValueError("give --queries FILE (a labelled JSONL, or queries.jsonl with --qrels QRELS), or --demo")
    return load_query_set(args.queries, args.qrels, args.demo)


def cmd_tune(args: argparse.Namespace) -> int:
    from sherlock.cli.reports import tune_report
    from sherlock.evaluation.query_sets import restrict
    from sherlock.evaluation.tuning import apply_result, check_options, log_to_mlflow, tune
    from sherlock.search.searcher import Searcher
    norms = args.norm or ["minmax", "zscore", "rank"]
    check_options(args.metric, args.fusion, norms, args.step, args.folds)
    if args.similar:
        return tune_similar(args, norms)
    if args.incidents:
        raise ValueError("--incidents is for --similar (anchor incidents of labelled pairs)")
    loaded = query_set_from(args)
    workspace = open_workspace(args)
    ready(workspace)
    settings = workspace.settings
    query_set = restrict(loaded, set(workspace.store.hashes()))
    for note in query_set.notes:
        print(f"sherlock tune: {note}", file=sys.stderr)
    pool = Searcher(workspace).score_pools(query_set.queries, n=args.candidates,
                            progress=query_progress("scoring queries"))
    result = tune(pool, query_set.qrels, metric=args.metric, fusion=args.fusion, norms=norms, step=args.step,
                  folds=args.folds, seed=args.seed, current=(settings.weights, settings.fusion, settings.norm),
                  rrf_k=settings.rrf_k)
    try:
        result.mlflow_run_id = log_to_mlflow(result, settings, query_set.name)
    except Exception as exc:  # noqa: BLE001 - the record of a run must not cost the run itself
        print(f"sherlock tune: warning: the run was not logged to MLflow ({exc})", file=sys.stderr)
    applied = apply_result(settings, result) if args.apply else None
    print_json(result.as_dict()) if args.json else print(tune_report(result, query_set.name, settings, applied))
    return 0


def tune_similar(args: argparse.Namespace, norms: list[str]) -> int:
    """``sherlock tune --similar``: the similar-incidents mode's fusion, tuned on labelled incident pairs."""
    from sherlock.cli.reports import tune_report
    from sherlock.evaluation.pairs import load_pairs
    from sherlock.evaluation.tuning import apply_result, log_to_mlflow, tune
    from sherlock.search.similar import SimilarFinder
    if args.demo or args.queries:
        raise ValueError("--similar tunes on labelled incident pairs: give --qrels PAIRS (with --incidents FILE for "
                         "new incidents), or nothing to use the incident page's votes; not --demo or --queries")
    workspace = open_workspace(args)
    ready(workspace)
    settings = workspace.settings
    pairs = load_pairs(workspace, args.incidents, args.qrels)
    for note in pairs.notes:
        print(f"sherlock tune: {note}", file=sys.stderr)
    pool = SimilarFinder(workspace).score_pools(pairs.incidents, n=args.candidates,
                                                progress=query_progress("scoring incidents"))
    current = (settings.similar_weights, settings.similar_fusion, settings.similar_norm)
    result = tune(pool, pairs.qrels, metric=args.metric, fusion=args.fusion, norms=norms, step=args.step,
                  folds=args.folds, seed=args.seed, current=current, rrf_k=settings.rrf_k)
    result.params["mode"] = "similar"
    try:
        result.mlflow_run_id = log_to_mlflow(result, settings, f"similar: {pairs.name}")
    except Exception as exc:  # noqa: BLE001 - the record of a run must not cost the run itself
        print(f"sherlock tune: warning: the run was not logged to MLflow ({exc})", file=sys.stderr)
    applied = apply_result(settings, result, mode="similar") if args.apply else None
    print_json({**result.as_dict(), "mode": "similar"}) if args.json else \
        print(tune_report(result, f"similar incidents, {pairs.name}", settings, applied, mode="similar"))
    return 0


def cmd_ab(args: argparse.Namespace) -> int:
    import time

    from sherlock.cli.reports import ab_report
    from sherlock.evaluation.offline_ab import check_metrics, run_offline
    from sherlock.evaluation.offline_ab_mlflow import log_ab
    from sherlock.evaluation.query_sets import restrict
    from sherlock.evaluation.variants import resolve_variant
    metrics = check_metrics(args.metrics)
    if not 0 < args.alpha < 1 or args.resamples < 1:
        raise ValueError(f"--alpha must lie strictly between 0 and 1 and --resamples be >= 1 (got {args.alpha}, "
                         f"{args.resamples})")
    loaded = query_set_from(args)
    workspace = open_workspace(args)
    arm_a, arm_b = (resolve_variant(spec, workspace.settings.experiments_dir) for spec in (args.a, args.b))
    for arm in (arm_a, arm_b):
        arm.settings(workspace.settings)  # an override the workspace cannot take fails here, before any scoring
    ready(workspace)
    query_set = restrict(loaded, set(workspace.store.hashes()))
    for note in query_set.notes:
        print(f"sherlock ab: {note}", file=sys.stderr)
    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bars.setdefault(stage, query_progress(stage))(done, total)

    result = run_offline(workspace, arm_a, arm_b, query_set.queries, query_set.qrels, metrics, args.resamples,
                         args.seed,
                         args.alpha, query_set.name, progress)
    if not args.no_mlflow:
        started = time.perf_counter()
        try:
            log_ab(result, workspace.settings, args.experiment)
        except Exception as exc:  # noqa: BLE001 - the record of a run must not cost the run itself
            print(f"sherlock ab: warning: the comparison was not logged to MLflow ({exc})", file=sys.stderr)
        result.seconds["mlflow"] = round(time.perf_counter() - started, 3)
    if args.json:
        print_json(result.as_dict())
        return 0
    print(ab_report(result, workspace.settings))
    if result.mlflow_experiment_id:  # MLflow 3's UI opens on GenAI traces; this link opens on the runs
        from sherlock.evaluation.offline_ab_mlflow import runs_url
        print(f"  runs: {runs_url(workspace.settings, result.mlflow_experiment_id)}")
    return 0


def cmd_ab_online(args: argparse.Namespace) -> int:
    from sherlock.cli.reports import online_report
    from sherlock.evaluation.online_ab import analyse, load_online
    from sherlock.evaluation.online_ab_mlflow import log_online
    from sherlock.storage.feedback import open_feedback
    settings = load_settings(args.home)
    experiment = load_online(args.name, settings)
    store = open_feedback(settings)
    try:
        result = analyse(experiment, store)
    finally:
        store.close()
    if not args.no_mlflow:
        try:
            result.mlflow_run_id = log_online(result, settings)
        except Exception as exc:  # noqa: BLE001 - the record of an analysis must not cost the analysis itself
            print(f"sherlock ab-online: warning: the analysis was not logged to MLflow ({exc})", file=sys.stderr)
    if args.json:
        print_json(result.as_dict())
        return 0
    print(online_report(result))
    if result.mlflow_run_id:
        print(f"MLflow run: {result.mlflow_run_id} (experiment sherlock-ab-online, {settings.tracking_uri})")
    return 0
