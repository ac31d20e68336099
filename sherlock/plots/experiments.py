"""Tables and plotly figures for A/B comparisons — the Experiments page and ``notebooks/03-ab-experiment.ipynb`` draw
the same ones. No streamlit here: each function takes plain frames or dicts and returns a frame or a figure.

    per_query = paired_per_query(scores_a, scores_b, queries, metrics)   # or ABResult.per_query()
    stats_table(result.stats)                  # one row per metric: A, B, B − A, CI, p-values, d, Holm p
    delta_histogram(per_query, "ndcg@10")      # where the per-query differences fall
    arm_scatter(per_query, "ndcg@10")          # A against B per query, the diagonal is "no change"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from sherlock.tracking import metric_key

NOT_SIGNIFICANT = "–"
#: stats key → column title, in the order the table shows them
P_VALUES = {"p_paired_t": "p paired t", "p_wilcoxon": "p Wilcoxon", "p_permutation": "p permutation",
            "p_welch": "p Welch"}


def stats_table(stats: Mapping[str, Mapping[str, Any]], labels: Sequence[str] = ("A", "B")) -> pd.DataFrame:
    """One row per metric of a comparison (``ABResult.stats`` or
    :func:`sherlock.evaluation.offline_ab.compare_scores`): both
    means, B − A with its 95% bootstrap interval, the four p-values, Cohen's d, the Holm-adjusted p of the
    randomisation test and whether it is significant, and for which arm (:func:`significance`)."""
    a, b = labels
    rows = []
    for metric, entry in stats.items():
        low, high = entry["ci95"]
        rows.append({"metric": metric, a: entry["a"], b: entry["b"], f"{b} − {a}": entry["diff"],
                     "95% CI": f"[{low:+.4f}, {high:+.4f}]",
                     **{title: entry[key] for key, title in P_VALUES.items()},
                     "Cohen's d": entry["cohens_d"], "Holm p": entry["p_holm"],
                     "significant": significance(entry, labels),
                     "W/T/L": f"{entry['wins']}/{entry['ties']}/{entry['losses']}"})
    return pd.DataFrame(rows)


def significance(entry: Mapping[str, Any], labels: Sequence[str] = ("A", "B")) -> str:
    """``✓ B better (p=0.003)`` — the arm a significant difference favours and its Holm-adjusted p — or ``–``."""
    from sherlock.evaluation.offline_ab import better_arm
    arm = better_arm(entry["diff"], entry["significant"])
    if arm is None:
        return NOT_SIGNIFICANT
    return f"✓ {labels[0] if arm == 'a' else labels[1]} better (p={entry['p_holm']:.2g})"


def logged_metrics(runs: pd.DataFrame) -> list[str]:
    """The metrics the offline A/B parents of :func:`sherlock.evaluation.offline_ab_mlflow.list_runs` carry
    (``ndcg@10``…),
    the default ones first."""
    from sherlock.evaluation.offline_ab import DEFAULT_METRICS
    found = {column.removesuffix(".diff").replace("_at_", "@") for column in runs.columns if column.endswith(".diff")}
    return [m for m in DEFAULT_METRICS if m in found] + sorted(found - set(DEFAULT_METRICS))


def experiments_table(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per offline A/B (the ``ab-offline`` parents of :func:`sherlock.evaluation.offline_ab_mlflow.list_runs`,
    newest first): name, what each arm ranked with (weights, fusion, norm, from its arm run), start, query set,
    queries, ``metric`` for A and B, B − A and its Holm p, wins/ties/losses on the comparison's primary metric, status
    and run id."""
    parents = runs[runs["kind"] == "ab-offline"]
    key = metric_key(metric)
    arms = runs[runs["kind"] == "ab-arm"]
    setting = {(row.parent_run_id, row.arm): row.setting for row in arms.itertuples(index=False)}

    def column(name: str) -> pd.Series:
        return parents[name] if name in parents.columns else pd.Series(float("nan"), index=parents.index)

    counts = parents.reindex(columns=["wins", "ties", "losses"])
    outcome = ["–" if row.isna().any() else "/".join(f"{value:.0f}" for value in row) for _, row in counts.iterrows()]
    return pd.DataFrame({"name": parents["name"],
                         **{f"{arm.upper()} setting": [setting.get((run, arm), "") for run in parents["run_id"]]
                            for arm in ("a", "b")},
                         "started": parents["start_time"].dt.strftime("%Y-%m-%d %H:%M UTC"),
                         "query set": parents["query_set"], "queries": column("queries"),
                         f"{metric} A": column(f"{key}.a"), f"{metric} B": column(f"{key}.b"),
                         "B − A": column(f"{key}.diff"), "Holm p": column(f"{key}.p_holm"),
                         "W/T/L (primary)": outcome, "status": parents["status"], "run_id": parents["run_id"]})


def paired_per_query(a: pd.DataFrame, b: pd.DataFrame, queries: Mapping[str, str],
                     metrics: Sequence[str]) -> pd.DataFrame:
    """Two arms' per-query metrics (frames indexed by query id, one column per metric) as one table over the queries
    both hold, in ``a``'s order: qid, query, and per metric ``"<metric> a"``, ``"<metric> b"``, ``"<metric> diff"``
    (B − A) — the shape of ``ABResult.per_query()``."""
    shared = b.index.intersection(a.index)
    common = [qid for qid in a.index if qid in shared]
    frame = pd.DataFrame({"qid": common, "query": [queries.get(qid, "") for qid in common]})
    for metric in metrics:
        frame[f"{metric} a"] = a.loc[common, metric].to_numpy(float)
        frame[f"{metric} b"] = b.loc[common, metric].to_numpy(float)
        frame[f"{metric} diff"] = frame[f"{metric} b"] - frame[f"{metric} a"]
    return frame


def delta_histogram(per_query: pd.DataFrame, metric: str, labels: Sequence[str] = ("A", "B")) -> go.Figure:
    """How the per-query differences B − A of ``metric`` are spread; the dashed line is "no change". A tall bar at
    zero is normal: most queries rank their relevant incident the same way under both arms."""
    a, b = labels
    figure = px.histogram(per_query, x=f"{metric} diff", nbins=40, hover_data=None,
                          labels={f"{metric} diff": f"{metric}: {b} − {a} per query"},
                          title=f"Per-query difference ({len(per_query):,} queries)")
    figure.update_yaxes(title_text="queries")
    figure.add_vline(x=0, line_dash="dash", line_color="grey")
    figure.update_layout(bargap=0.05, margin={"t": 50})
    return figure


def arm_scatter(per_query: pd.DataFrame, metric: str, labels: Sequence[str] = ("A", "B")) -> go.Figure:
    """``metric`` per query, arm A on x and arm B on y; points above the diagonal are queries B does better. Hover
    shows the query text. Identical scores overlap, so marker opacity shows how many sit on one point."""
    a, b = labels
    x, y = per_query[f"{metric} a"], per_query[f"{metric} b"]
    outcome = ["B better" if d > 1e-12 else "A better" if d < -1e-12 else "tie" for d in y - x]
    figure = go.Figure()
    low, high = float(min(x.min(), y.min(), 0.0)), float(max(x.max(), y.max(), 1.0))
    figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="no change",
                                line={"dash": "dash", "color": "grey"}, hoverinfo="skip"))
    colours = {"B better": "#2ca02c", "tie": "#7f7f7f", "A better": "#d62728"}
    for name, colour in colours.items():
        rows = [i for i, o in enumerate(outcome) if o == name]
        if not rows:
            continue
        chosen = per_query.iloc[rows]
        figure.add_trace(go.Scatter(
            x=chosen[f"{metric} a"], y=chosen[f"{metric} b"], mode="markers", name=f"{name} ({len(rows)})",
            marker={"color": colour, "size": 9, "opacity": 0.6},
            customdata=chosen[["qid", "query"]].to_numpy(),
            hovertemplate="%{customdata[1]}<br>%{customdata[0]}<br>" + f"{a} %{{x:.3f}} · {b} %{{y:.3f}}"
                          + "<extra></extra>"))
    figure.update_layout(title=f"{metric} per query: {a} vs {b}", xaxis_title=f"{metric} {a}",
                         yaxis_title=f"{metric} {b}", margin={"t": 50})
    figure.update_yaxes(scaleanchor="x", scaleratio=1)
    return figure


def online_rates(result: Mapping[str, Any]) -> go.Figure:
    """The helpful rate of each arm of an online experiment (``OnlineResult.as_dict()``) with its Wilson 95%
    interval; arms without votes are left out."""
    rows = [{"arm": arm, "rate": s["rate"], "low": s["ci95"][0], "high": s["ci95"][1], "votes": s["votes"],
             "role": "control" if arm == result["control"] else "variant"}
            for arm, s in result["variants"].items() if s["rate"] is not None]
    frame = pd.DataFrame(rows, columns=["arm", "rate", "low", "high", "votes", "role"])
    figure = px.bar(frame, x="arm", y="rate", color="role", error_y=frame["high"] - frame["rate"],
                    error_y_minus=frame["rate"] - frame["low"], hover_data=["votes"], range_y=[0, 1],
                    labels={"rate": "helpful rate (95% Wilson CI)"},
                    title=f"Helpful rate per arm · {result['experiment']}")
    figure.update_yaxes(tickformat=".0%")
    figure.update_layout(margin={"t": 50}, legend_title_text="")
    return figure


def online_arms_table(result: Mapping[str, Any], experiment: Any, workspace: str = "") -> pd.DataFrame:
    """One row per arm of an online experiment (``OnlineResult.as_dict()`` and its ``OnlineExperiment``), then the
    holdout: its share of all sessions, sessions, votes, helpful votes, the helpful rate and its Wilson 95%
    interval, and what it serves (``workspace``: the workspace's own setting, which the holdout is served)."""
    rows = []
    arms = [*result["variants"].items(), ("holdout", result["holdout"])]
    for arm, counts in arms:
        held_out = arm == "holdout"
        share = experiment.holdout if held_out else experiment.split[arm] * (1 - experiment.holdout)
        serves = (f"the workspace's settings{f': {workspace}' if workspace else ''} (kept out of the comparison)"
                  if held_out else f"{experiment.arms[arm].name}: {experiment.arms[arm].describe()}")
        role = "holdout" if held_out else "control" if arm == result["control"] else "variant"
        rows.append({"arm": arm, "role": role, "share": share, "sessions": counts["sessions"], "votes": counts["votes"],
                     "helpful": counts["helpful"], "helpful rate": counts["rate"],
                     "95% CI": _interval(counts["ci95"], "{:.1%}"), "serves": serves})
    return pd.DataFrame(rows)


def online_comparisons_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Each arm against the control: the difference of helpful rates with its 95% interval, the test (Fisher's exact
    or the two-proportion z-test), its p and the Holm-adjusted p across the comparisons."""
    return pd.DataFrame([{"arm": arm, "vs": c["vs"], "diff": c["diff"], "95% CI": _interval(c["ci95"], "{:+.1%}"),
                          "test": c["test"] or "–", "p": c["p"], "Holm p": c["p_holm"]}
                         for arm, c in result["comparisons"].items()],
                        columns=["arm", "vs", "diff", "95% CI", "test", "p", "Holm p"])


def _interval(bounds: Sequence[float] | None, template: str) -> str:
    return "–" if not bounds else f"[{template.format(bounds[0])}, {template.format(bounds[1])}]"
