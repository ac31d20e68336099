"""Experiments' helpers: two logged arms picked and compared again, one A/B comparison view, the variant pickers of
the new-A/B form, and the live online experiment."""

from __future__ import annotations

import streamlit as st

from sherlock.config import Settings
from ui.resources import arm_comparison, feedback_store
from ui.widgets import escape_markdown, table_with_download

P_FORMAT = "%.3g"


def arm_pair_ui(runs) -> tuple[str, str] | None:  # noqa: ANN001 - the list_runs DataFrame
    """Two arm runs to compare, A then B; the default is the two arms of the newest A/B, but any two can be picked
    (each labelled with its variant, its A/B and when it ran). ``None`` when fewer than two arms are logged."""
    arms = runs[runs["kind"] == "ab-arm"]
    if len(arms) < 2:
        return None
    parents = runs[runs["kind"] == "ab-offline"]
    names = dict(zip(parents["run_id"], parents["name"], strict=True))
    labels = {row.run_id: f"{row.variant or row.name} · arm {str(row.arm).upper()} of "
                          f"{names.get(row.parent_run_id, 'an unknown A/B')} · {row.start_time:%Y-%m-%d %H:%M} · "
                          f"{row.run_id[:8]}" for row in arms.itertuples(index=False)}
    options = list(arms["run_id"])
    newest = parents["run_id"].iloc[0] if len(parents) else ""
    pair = {row.arm: row.run_id for row in arms[arms["parent_run_id"] == newest].itertuples(index=False)}
    default_a, default_b = pair.get("a", options[1]), pair.get("b", options[0])
    left, right = st.columns(2)
    # keyed by the newest A/B: a new one logged here becomes the default pick
    run_a = left.selectbox("Arm A (baseline)", options, index=options.index(default_a), format_func=labels.get,
                           key=f"arm-a-{newest}")
    run_b = right.selectbox("Arm B (compared with A)", options, index=options.index(default_b),
                            format_func=labels.get, key=f"arm-b-{newest}")
    return run_a, run_b


def compare_arms_ui(runs, settings: Settings) -> None:  # noqa: ANN001 - the list_runs DataFrame
    """Two logged arms (:func:`arm_pair_ui`) compared again from their per-query scores, on the queries both hold
    (a warning when their query sets differ), or an ``st.error`` saying why they cannot be."""
    pair = arm_pair_ui(runs)
    if not pair:
        return
    rows = runs.set_index("run_id").loc[list(pair)]
    try:
        stats, per_query = arm_comparison(settings.tracking_uri, *pair, settings)
    except ValueError as error:
        st.error(f"These arms cannot be compared: {escape_markdown(str(error))}")
        return
    if rows["query_set_hash"].nunique() > 1:
        st.warning(f"The two arms were evaluated on different query sets ({', '.join(rows['query_set'])}): only the "
                   f"{len(per_query):,} queries both hold are compared.")
    ab_comparison_ui(stats, per_query, tuple(rows["variant"]), key="ab")


def ab_comparison_ui(stats: dict, per_query, names: tuple[str, str], key: str) -> None:  # noqa: ANN001 - DataFrame
    """One A/B comparison: the metric table (A, B, B − A with its 95% CI, four p-values, Cohen's d, Holm p and a
    significance mark), wins/ties/losses, the per-query differences and A against B for a chosen metric, and the
    per-query table as CSV. ``names`` are the arms' variant names; ``key`` keeps widgets of two views apart."""
    from sherlock.plots import experiments as charts
    a, b = (escape_markdown(name) for name in names)
    st.markdown(f"**A** = {a} · **B** = {b} · {len(per_query):,} queries")
    numbers = {column: st.column_config.NumberColumn(format="%.4f") for column in ("A", "B", "B − A", "Cohen's d")}
    p_values = {column: st.column_config.NumberColumn(format=P_FORMAT)
                for column in (*charts.P_VALUES.values(), "Holm p")}
    st.dataframe(charts.stats_table(stats), hide_index=True, column_config=numbers | p_values)
    st.caption("B − A > 0: B ranks better. 95% CI: BCa bootstrap of the mean difference over queries. Significance: "
               "the paired randomisation test's p, Holm-adjusted across the metrics (the t, Wilcoxon and Welch "
               "p-values are shown beside it). Cohen's d: mean difference over the spread of the differences.")
    metric = st.selectbox("Metric for the tiles and charts", list(stats), key=f"{key}-metric")
    entry = stats[metric]
    for column, (label, value) in zip(st.columns(3), ((f"B better ({b})", entry["wins"]), ("Ties", entry["ties"]),
                                                       (f"A better ({a})", entry["losses"])), strict=True):
        column.metric(label, f"{value:,}", help=f"queries where {metric} of B is higher, equal or lower than A's")
    left, right = st.columns(2)
    left.plotly_chart(charts.delta_histogram(per_query, metric, names), key=f"{key}-histogram")
    right.plotly_chart(charts.arm_scatter(per_query, metric, names), key=f"{key}-scatter")
    table_with_download(per_query, f"{key}-per-query")


def variant_picker_ui(label: str, experiments_dir, default: str, key: str):  # noqa: ANN001, ANN201 - Path; Variant
    """Pick an A/B arm: ``workspace`` (this workspace's settings) or a variant file of ``experiments_dir``, with
    what it sets underneath. Returns the variant, or ``None`` after an ``st.error`` when its file is invalid."""
    from sherlock.evaluation.variants import default_variant, list_variants, load_variant
    files = {path.stem: path for path in list_variants(experiments_dir)}
    options = ["workspace", *files]
    choice = st.selectbox(label, options, index=options.index(default) if default in options else 0, key=key)
    try:
        variant = default_variant() if choice == "workspace" else load_variant(files[choice])
    except ValueError as error:
        st.error(f"This variant cannot be used: {escape_markdown(str(error))}")
        return None
    st.caption(escape_markdown(variant.describe()))
    return variant


def online_experiment_ui(settings: Settings) -> None:
    """The live online experiment (``settings.online_experiment``): its arms and split, each arm's helpful rate
    with its interval, each arm against the control, and a button that logs the analysis to MLflow; a how-to when
    none is set, an ``st.error`` naming the file and line when its file is invalid."""
    from sherlock.evaluation.online_ab import analyse, load_online
    from sherlock.plots import experiments as charts
    if not settings.online_experiment:
        st.info("No online experiment is running. To split chat sessions between two search settings and compare "
                "their thumbs up/down, set `online_experiment = \"fusion-online\"` in "
                f"`{settings.home / 'sherlock.toml'}` (or `SHERLOCK_ONLINE_EXPERIMENT=fusion-online`) and restart "
                f"the app; the example is `{settings.experiments_dir / 'fusion-online.toml'}`.")
        return
    try:
        experiment = load_online(settings.online_experiment, settings)
    except (OSError, ValueError) as error:
        st.error(f"The online experiment cannot be read: {escape_markdown(str(error))}")
        return
    result = analyse(experiment, feedback_store())
    summary = result.as_dict()
    st.markdown(f"**{escape_markdown(experiment.name)}** · control **{escape_markdown(experiment.control)}** · "
                f"holdout {experiment.holdout:.0%} · split "
                + ", ".join(f"{escape_markdown(arm)} {share:.0%}" for arm, share in experiment.split.items())
                + f" · `{experiment.path}`")
    st.dataframe(charts.online_arms_table(summary, experiment), hide_index=True,
                 column_config={"share": st.column_config.NumberColumn(format="percent"),
                                "helpful rate": st.column_config.NumberColumn(format="percent")})
    for note in summary.get("notes", []):
        st.caption(escape_markdown(note))
    if any(arm["rate"] is not None for arm in summary["variants"].values()):
        st.plotly_chart(charts.online_rates(summary), key="online-rates")
    if any(comparison["p"] is not None for comparison in summary["comparisons"].values()):
        st.dataframe(charts.online_comparisons_table(summary), hide_index=True,
                     column_config={"diff": st.column_config.NumberColumn(format="percent"),
                                    "p": st.column_config.NumberColumn(format=P_FORMAT),
                                    "Holm p": st.column_config.NumberColumn(format=P_FORMAT)})
    st.caption("Unit: one thumbs up or down on an answer. Votes from one session are not independent, so with few "
               "sessions the intervals are optimistic.")
    if st.button("Log to MLflow", key="online-log"):
        from sherlock.evaluation.online_ab_mlflow import MLFLOW_EXPERIMENT, log_online
        try:
            run_id = log_online(result, settings)
        except Exception as error:  # noqa: BLE001 - the record of an analysis must not cost the analysis itself
            st.error(f"The analysis could not be logged to MLflow: {escape_markdown(str(error))}")
        else:
            st.success(f"Logged as run `{run_id}` of the `{MLFLOW_EXPERIMENT}` experiment in {settings.tracking_uri}.")
