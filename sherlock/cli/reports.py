"""The command line's text reports: what ``sherlock tune``, ``ab``, ``ab-online`` and ``patterns`` print without
``--json`` (the JSON contracts are the results' ``as_dict``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sherlock.cli.output import p_value, table
from sherlock.config import Settings
from sherlock.search.fusion import DEFAULT_WEIGHTS, RETRIEVERS
from sherlock.tracking import local_store

if TYPE_CHECKING:
    from sherlock.evaluation.offline_ab import ABResult
    from sherlock.evaluation.online_ab import OnlineResult
    from sherlock.evaluation.tuning import TuneResult

#: The per-metric statistics ``sherlock ab`` shows as p-values (paired t, Wilcoxon, permutation, Welch).
P_VALUES = ("p_paired_t", "p_wilcoxon", "p_permutation", "p_welch")


def tune_report(result: TuneResult, query_set: str, settings: Settings, applied: Path | None = None,
                mode: str = "search") -> str:
    """The human summary: best, cross-validated, current, default and single-retriever scores, and where the MLflow
    run is. ``mode="similar"``: the similar-incidents mode's own current setting."""
    def row(label: str, weights: Any, norm: str, score: str) -> list[str]:
        return [label, *(f"{w:.2f}" for w in weights), norm, score]

    similar = mode == "similar"
    current = ((tuple(settings.similar_weights), settings.similar_fusion, settings.similar_norm) if similar
               else (tuple(settings.weights), settings.fusion, settings.norm))
    p = result.params
    rows = [["setting", *RETRIEVERS, "norm", result.metric],
            ["tuned, cross-validated", "", "", "", "", f"{result.cv_mean:.4f} ± {result.cv_std:.4f}"],
            row(f"tuned ({result.fusion})", result.weights, result.norm, f"{result.score:.4f}"),
            row(f"current ({current[1]})", current[0], current[2], f"{result.current_score:.4f}"),
            row("default (wsum)", DEFAULT_WEIGHTS, "minmax", f"{result.default_score:.4f}")]
    for i, name in enumerate(RETRIEVERS):
        rows.append(row(f"{name} only", [float(i == j) for j in range(3)], result.norm, f"{result.single[name]:.4f}"))
    folds = ", ".join(f"{fold['test']:.3f}" for fold in result.cv_folds)
    norms = str(p.get("norms")).replace(",", ", ")
    lines = [f"{query_set}: {p.get('queries')} queries, {p.get('points')} weight points × {norms} "
             f"({result.fusion}), {len(result.cv_folds)}-fold CV (held-out folds: {folds})", "", table(rows), ""]
    if result.mlflow_run_id:
        lines.append(f"MLflow: run {result.mlflow_run_id} in experiment fusion-tuning at {settings.tracking_uri}")
    if applied:
        what = "similar incidents use" if similar else "search uses"
        lines.append(f"Applied: weights, fusion and norm written to {applied}; {what} them now.")
    else:
        lines.append(f"Not applied: add --apply to write them to {settings.home / 'sherlock.toml'}.")
    return "\n".join(lines)


def ab_report(result: ABResult, settings: Settings) -> str:
    """``sherlock ab``'s table: per metric both means, B − A with its CI, the four p-values, Cohen's d and the Holm p
    (``* B better`` when significant); then wins/ties/losses on the primary metric, timings and the MLflow runs."""
    rows = [["metric", "A", "B", "B − A", "95% CI", "paired t p", "Wilcoxon p", "permutation p", "Welch p",
             "Cohen's d", "Holm p"]]
    for metric in result.metrics:
        s = result.stats[metric]
        mark = f" * {(result.better(metric) or '').upper()} better" if s["significant"] else ""
        rows.append([metric, f"{s['a']:.4f}", f"{s['b']:.4f}", f"{s['diff']:+.4f}",
                     f"[{s['ci95'][0]:+.4f}, {s['ci95'][1]:+.4f}]", *(p_value(s[k]) for k in P_VALUES),
                     f"{s['cohens_d']:+.3f}", p_value(s["p_holm"]) + mark])
    p, seconds, (wins, ties, losses) = result.params, result.seconds, result.outcome()
    timings: dict[str, float] = {"scoring": sum(v for k, v in seconds.items() if k.startswith("score_")),
               "ranking": sum(v for k, v in seconds.items() if k.startswith("rank_")),
               **{k: seconds[k] for k in ("statistics", "mlflow") if k in seconds},
               "total": seconds.get("total", 0.0) + seconds.get("mlflow", 0.0)}
    lines = [f"A = {result.variants['a'].name}: {result.variants['a'].describe()}",
             f"B = {result.variants['b'].name}: {result.variants['b'].describe()}",
             f"{p['queries']} judged queries of {p['query_set'] or 'the query set'} (corpus revision "
             f"{p['corpus_revision']}); {p['resamples']} resamples, seed {p['seed']}", "", table(rows),
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


def online_report(result: OnlineResult) -> str:
    """A readable table: arm, sessions, votes, helpful rate [CI], diff vs control [CI], test, p, Holm p."""
    from sherlock.evaluation.online_ab import HOLDOUT, Comparison
    config = result.config
    head = f"Online experiment {result.experiment} (control: {result.control}"
    if config is not None:
        head += f"; holdout {config.holdout:.0%}; salt {config.salt!r}"
    lines = [head + ")", online_row("arm", "sessions", "votes", "helpful rate [95% CI]", "diff vs control [95% CI]",
                              "test", "p", "Holm p")]
    for arm, stats in [*result.variants.items(), (HOLDOUT, result.holdout)]:
        rate = "–" if stats.rate is None or not stats.ci95 else \
            f"{stats.rate:.1%} [{stats.ci95[0]:.1%}, {stats.ci95[1]:.1%}]"
        c = result.comparisons.get(arm) or Comparison(vs=result.control)
        diff = "–" if c.diff is None or not c.ci95 else \
            f"{100 * c.diff:+.1f} pts [{100 * c.ci95[0]:+.1f}, {100 * c.ci95[1]:+.1f}]"
        p = "–" if c.p is None else f"{c.p:.3g}"
        p_holm = "–" if c.p_holm is None else f"{c.p_holm:.3g}"
        lines.append(online_row(arm, stats.sessions, stats.votes, rate, diff, c.test or "–", p, p_holm))
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def online_row(arm: str, sessions: Any, votes: Any, rate: str, diff: str, test: str, p: str, p_holm: str) -> str:
    return f"{arm:<16}{sessions:>9}{votes:>7}  {rate:<24}{diff:<32}{test:<8}{p:>8}{p_holm:>8}"


#: The changes ``sherlock patterns`` prints: metric of ``compare_windows``, label, the metric that is its n (and
#: what that n counts).
PATTERN_CHANGES = (("count", "incidents", None, ""), ("mttr_median", "MTTR median", "resolved", " resolved"),
                   ("mttr_p90", "MTTR p90", "resolved", " resolved"), ("repeat_rate", "repeat rate", "count",
                                                                        " incidents"))


def patterns_text(report: dict[str, Any], top: int = 8) -> str:
    """The report as a few lines of text (what ``sherlock patterns`` prints without ``--json``): every duration in
    minutes, hours or days, every change with its unit and the n it is computed on."""
    from sherlock.analytics.units import PERIOD_NAMES, duration
    if not report["incidents"]:
        return "No incidents to analyse (after exclusions)."
    mttr_minutes, excluded = report["mttr_minutes"], report["excluded"]
    left_out = ", ".join(f"{k} {v}" for k, v in excluded.items()) or "none"
    lines = [f"{report['incidents']:,} incidents {report['from']} … {report['to']} (excluded: {left_out})",
             f"MTTR median {duration(mttr_minutes['median'])}, p90 {duration(mttr_minutes['p90'])}, mean "
             f"{duration(mttr_minutes['mean'])} (n = {mttr_minutes['resolved']:,} resolved; "
             f"{mttr_minutes['unresolved']:,} unresolved, left out)"]
    if report["change"]["current"]:
        lines.extend(change_lines(report["change"], report["freq"]))
    repeats = report["repeats"]
    lines.append(f"Repeat rate {report['repeat_rate']:.1%} (a near-duplicate within {repeats['window_days']:g} days, "
                 f"cosine ≥ {repeats['threshold']:g})")
    lines.append(f"Volume per {PERIOD_NAMES[report['freq']]}: " + ", ".join(f"{row['period']} {row['count']}"
                                                                      for row in report["volume"][-12:]))
    lines.append("Recurring themes (size · label · last seen · MTTR median):")
    lines.extend(f"  {t['size']:>5}  {t['label']}  · {t['days_since_last']:g} days ago · "
                 f"{duration(t['mttr_median_minutes'])}" for t in report["themes"][:top])
    lines.append(f"Spikes by {report['by']} (week · group · incidents vs expected):")
    lines.extend(f"  {s['period']}  {s['group']}  {s['count']} vs {s['expected']:g}" for s in report["spikes"][:top])
    if not report["spikes"]:
        lines.append("  none")
    return "\n".join(lines)


def change_lines(change: dict[str, Any], freq: str) -> list[str]:
    """The comparison of ``report["change"]``: which windows, then each metric's current and previous value, the
    change with its unit (count and %, h/d, pts) and the n of both windows."""
    from sherlock.analytics.units import PERIOD_NAMES, metric_change, metric_value, span
    current, previous, metrics, partial = (change["current"], change["previous"], change["metrics"],
                                           change.get("partial"))
    period = PERIOD_NAMES[freq]
    now, before = span(current["from"], current["to"]), span(previous["from"], previous["to"])
    head = f"Change: {now} against {before}"
    if partial:
        head = (f"Change: {now} (the latest complete {period}) against {before}; the {period} of {partial['from']} "
                f"has {partial['days']} of its {partial['period_days']} days so far and is left out")
    lines = [head]
    for name, label, n_metric, noun in PATTERN_CHANGES:
        if name not in metrics:
            continue
        values = metrics[name]
        text = f"  {label:<12} {metric_value(name, values['current'])} vs {metric_value(name, values['previous'])} " \
               f"({metric_change(name, values['change'])}"
        if name == "count" and values["change"] is not None:
            text += " incidents" + (f", {values['change'] / values['previous']:+.1%}" if values["previous"] else "")
        if n_metric:
            n = metrics[n_metric]
            text += f"; n = {metric_value(n_metric, n['current'])} vs {metric_value(n_metric, n['previous'])}{noun}"
        lines.append(text + ")")
    return lines
