"""``sherlock monitor [--since DATE] [--until DATE] [--freq D|W|M] [--json] [--check] [--prune]``: how search is used
and how it does — traffic, abstentions, latency, helpful votes, settings versions, content gaps, drift and alerts —
from the workspace's query log (see :mod:`sherlock.monitoring.report`). Reads only settings, the query log and the
feedback store: no index is opened and no model loaded.

Exit codes: 0 done (also when nothing is logged yet); 3 with ``--check``, when an alert fires (cron or CI can page on
it); 2 bad usage or settings.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sherlock.cli.output import print_json, table
from sherlock.config import load_settings

#: ``--check``'s exit status when an alert fires (1 and 2 already mean other things to the CLI).
ALERT_EXIT = 3
#: How many gap themes and examples the text summary shows.
TOP_GAPS = 8
TOP_EXAMPLES = 3


def cmd_monitor(args: argparse.Namespace) -> int:
    from sherlock.monitoring.report import monitor_report, open_log
    settings = load_settings(args.home)
    log = open_log(settings)
    try:
        if args.prune:
            removed = log.prune(settings.query_log_retention_days) if log is not None else 0
            print(f"pruned {removed:,} logged queries older than {settings.query_log_retention_days} days "
                  "(query_log_retention_days)", file=sys.stderr if args.json else sys.stdout)
        empty = log is None or log.count() == 0
        report = monitor_report(settings, since=args.since, until=args.until, freq=args.freq, log=log)
    finally:
        if log is not None:
            log.close()
    if empty:
        print(nothing_logged(settings), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print_json(report)
    elif not empty:
        print(monitor_text(report))
    if args.check and report["alerts"]:
        if args.json:  # the text summary lists them already
            for alert in report["alerts"]:
                print(f"alert {alert['name']}: {alert['message']}", file=sys.stderr)
        return ALERT_EXIT
    return 0


def nothing_logged(settings: Any) -> str:
    """What to do when the log holds nothing yet."""
    from sherlock.monitoring.querylog import log_location
    where = log_location(settings)
    if not settings.query_log:
        return (f"No searches are logged: query logging is off in this workspace (query_log = false). Turn it on "
                f"with SHERLOCK_QUERY_LOG=true or query_log = true in {settings.home / 'sherlock.toml'}, then search.")
    return (f"No searches logged yet in {where}. Every interactive search is logged: search in the app "
            "(streamlit run app.py), the CLI (sherlock search \"refund failed\", sherlock ask ...) or the HTTP API "
            "(sherlock serve, then POST /search), and run sherlock monitor again.")


def monitor_text(report: dict[str, Any]) -> str:
    """The report as readable text: the latest period against the one before, a per-period table, settings
    versions, the top gaps with examples, drift and alerts."""
    from sherlock.analytics.units import PERIOD_NAMES
    period_name = PERIOD_NAMES[report["freq"]]
    kept = "query text kept" if report["text_kept"] else "only keyed hashes of the query text are kept"
    lines = [f"Search monitoring {report['since']} … {report['until']}, per {period_name} ({kept})",
             _window_line(report), ""]
    lines += _change_lines(report, period_name) + [""]
    lines += [f"Per {period_name}:", _period_table(report["by_period"]), ""]
    lines += ["By channel: " + _groups(report["by_channel"]), "By kind:    " + _groups(report["by_kind"]), ""]
    lines += _settings_lines(report["by_settings"]) + [""]
    lines += _gap_lines(report) + [""]
    lines += _drift_lines(report["drift"]) + [""]
    alerts = report["alerts"]
    lines += ["Alerts: none fire on the latest period"] if not alerts else \
        ["Alerts:", *(f"  {alert['name']}: {alert['message']}" for alert in alerts)]
    return "\n".join(lines)


def _rate(value: float | None) -> str:
    from sherlock.analytics.units import rate
    return rate(value)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def _helpful(helpful: dict[str, Any]) -> str:
    if not helpful["votes"]:
        return "no votes"
    low, high = helpful["ci95"]
    return f"{_rate(helpful['rate'])} [{_rate(low)}, {_rate(high)}] of {helpful['votes']:,} votes"


def _window_line(report: dict[str, Any]) -> str:
    latency, unmatched = report["latency_ms"], report["helpful"]["unmatched_votes"]
    return (f"{report['queries']:,} queries, {_rate(report['abstain_rate'])} abstained; latency p50 "
            f"{_ms(latency['p50'])}, p95 {_ms(latency['p95'])}, p99 {_ms(latency['p99'])}; helpful "
            f"{_helpful(report['helpful'])}" + (f" ({unmatched:,} more votes reach no logged query)" if unmatched
                                                else ""))


def _change_lines(report: dict[str, Any], period_name: str) -> list[str]:
    from sherlock.analytics.units import count_change, rate_change
    from sherlock.monitoring.alerts import latest_periods
    latest, previous = latest_periods(report["by_period"])
    if latest is None:
        return ["No queries in the window."]
    note = " (so far)" if latest["partial"] else ""
    if previous is None:
        return [f"Latest {period_name} {latest['period']}{note}: {latest['queries']:,} queries (nothing before it "
                "in the window to compare with)"]

    def change(now: float | None, before: float | None, unit: Any) -> str:
        return "–" if now is None or before is None else unit(now - before)

    def ms_change(value: float) -> str:
        return f"{value:+,.0f} ms"

    rows = [["", latest["period"] + note, previous["period"], "change"],
            ["queries", f"{latest['queries']:,}", f"{previous['queries']:,}",
             count_change(latest["queries"] - previous["queries"])]]
    for label, key in (("abstain rate", "abstain_rate"), ("out of corpus", "out_of_corpus_rate")):
        rows.append([label, _rate(latest[key]), _rate(previous[key]), change(latest[key], previous[key], rate_change)])
    for label, key in (("p50 latency", "p50"), ("p95 latency", "p95")):
        now, before = latest["latency_ms"][key], previous["latency_ms"][key]
        rows.append([label, _ms(now), _ms(before), change(now, before, ms_change)])
    now_h, before_h = latest["helpful"], previous["helpful"]
    rows.append(["helpful rate", _helpful(now_h), _helpful(before_h),
                 change(now_h["rate"], before_h["rate"], rate_change)])
    return [f"Latest {period_name} against the one before:", table(rows)]


def _period_table(by_period: list[dict[str, Any]]) -> str:
    rows = [["period", "queries", "abstain", "p50", "p95", "helpful", "votes", "out of corpus"]]
    for period in by_period:
        rows.append([period["period"] + (" *" if period["partial"] else ""), f"{period['queries']:,}",
                     _rate(period["abstain_rate"]), _ms(period["latency_ms"]["p50"]),
                     _ms(period["latency_ms"]["p95"]), _rate(period["helpful"]["rate"]),
                     f"{period['helpful']['votes']:,}", _rate(period["out_of_corpus_rate"])])
    note = "\n* partial: the window, or today, cuts it short" if any(p["partial"] for p in by_period) else ""
    return table(rows) + note


def _groups(groups: dict[str, dict[str, Any]]) -> str:
    return "; ".join(f"{name} {group['queries']:,} (abstain {_rate(group['abstain_rate'])}, p95 "
                     f"{_ms(group['latency_ms']['p95'])})" for name, group in groups.items() if group["queries"])


def _settings_lines(versions: list[dict[str, Any]]) -> list[str]:
    if not versions:
        return ["Settings versions: none in the window"]
    rows = [["version", "first seen", "last seen", "queries", "abstain [95% CI]", "helpful", "settings"]]
    for version in versions:
        ci = version["abstain_ci95"]
        abstain = _rate(version["abstain_rate"]) + (f" [{_rate(ci[0])}, {_rate(ci[1])}]" if ci else "")
        rows.append([version["settings_hash"], version["first_seen"][:16].replace("T", " "),
                     version["last_seen"][:16].replace("T", " "), f"{version['queries']:,}", abstain,
                     _helpful(version["helpful"]), _describe(version["settings"])])
    return ["Settings versions (newest first):", table(rows)]


def _describe(settings: dict[str, Any]) -> str:
    if not settings:
        return "–"
    weights = ",".join(f"{w:g}" for w in settings.get("weights", []))
    return f"weights {weights} · {settings.get('fusion', '?')} · {settings.get('norm', '?')}"


def _gap_lines(report: dict[str, Any]) -> list[str]:
    if not report["text_kept"]:
        return ["Gaps: not available (query_log_text = hash keeps no question text)"]
    if not report["gaps"]:
        return ["Gaps: none (no question abstained or got a thumbs down)"]
    lines = ["Gaps — questions the incident memory could not answer (count = abstentions + thumbs down):"]
    for gap in report["gaps"][:TOP_GAPS]:
        examples = "; ".join(f'"{text}"' for text in gap["example_queries"][:TOP_EXAMPLES])
        questions = f"{gap['distinct']:,} question" + ("s" if gap["distinct"] != 1 else "")
        lines.append(f"  {gap['count']:>7,}  {gap['label']} ({questions}): {examples}")
    return lines


def _drift_lines(drift: dict[str, Any]) -> list[str]:
    head = (f"Drift {drift['period']}" + (f" against {drift['previous_period']}" if drift["previous_period"] else "")
            + f": out of corpus (top similarity < {drift['threshold']:g}) {_rate(drift['out_of_corpus_rate'])} vs "
            f"{_rate(drift['previous_out_of_corpus_rate'])}")
    if drift["value"] is None:
        return [head, f"  topic shift: not tested (needs 10 query vectors a side; {drift['n']} vs "
                      f"{drift['n_previous']})"]
    verdict = "the topics shifted" if drift["shifted"] else "no shift detected"
    return [head, f"  topic shift: MMD² {drift['value']:.6f}, permutation p = {drift['p_value']:.4f} (n = "
                  f"{drift['n']} vs {drift['n_previous']}): {verdict}"]
