"""Experiments' helpers: two logged arms picked and compared again, one A/B comparison view, the variant pickers of
the new-A/B form, and the live online experiment with the buttons that start and stop it."""

from __future__ import annotations

import streamlit as st

from sherlock.config import SETTINGS_FILE, Settings
from sherlock.tracking import local_store
from ui import access
from ui.resources import arm_comparison, feedback_store, reload_settings
from ui.widgets import escape_markdown, table_with_download

P_FORMAT = "%.3g"


def mlflow_ui_text(settings: Settings, experiment_id: str | None = None) -> str:
    """Markdown saying how to browse the runs in the MLflow UI: the ``mlflow ui`` command for a local store, then the
    experiment's runs table (:func:`~sherlock.evaluation.offline_ab_mlflow.runs_url`) — MLflow 3 opens on its GenAI
    traces view otherwise — or, before any run is logged, the switch that shows runs."""
    from sherlock.evaluation.offline_ab_mlflow import runs_url
    local = local_store(settings.tracking_uri)
    where = (f"`MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false mlflow ui --backend-store-uri {settings.tracking_uri}`"
             if local else "")
    if experiment_id:
        return f"{where}, then {runs_url(settings, experiment_id)}" if local else runs_url(settings, experiment_id)
    return (f"{where or settings.tracking_uri} (then click **Model training** in MLflow's sidebar: it opens on "
            "GenAI traces otherwise)")


def arm_pair_ui(runs) -> tuple[str, str] | None:  # noqa: ANN001 - the list_runs DataFrame
    """Two arm runs to compare, A then B; the default is the two arms of the newest A/B, but any two can be picked
    (each labelled with its variant, its A/B and when it ran). ``None`` when fewer than two arms are logged."""
    arms = runs[runs["kind"] == "ab-arm"]
    if len(arms) < 2:
        return None
    parents = runs[runs["kind"] == "ab-offline"]
    names = dict(zip(parents["run_id"], parents["name"], strict=True))
    labels = {row.run_id: f"{row.variant or row.name}{f' ({row.setting})' if row.setting else ''} · arm "
                          f"{str(row.arm).upper()} of {names.get(row.parent_run_id, 'an unknown A/B')} · "
                          f"{row.start_time:%Y-%m-%d %H:%M} · {row.run_id[:8]}" for row in arms.itertuples(index=False)}
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
    ab_comparison_ui(stats, per_query, tuple(rows["variant"]), key="ab", settings=tuple(rows["setting"]))


def ab_comparison_ui(stats: dict, per_query, names: tuple[str, str], key: str,  # noqa: ANN001 - DataFrame
                     settings: tuple[str, str] = ("", "")) -> None:
    """One A/B comparison: the metric table (A, B, B − A with its 95% CI, four p-values, Cohen's d, Holm p and which
    arm is significantly better), wins/ties/losses, the per-query differences and A against B for a chosen metric, and
    the per-query table as CSV. ``names`` are the arms' variant names and ``settings`` the weights, fusion and norm
    each ranked with; ``key`` keeps widgets of two views apart."""
    from sherlock.plots import experiments as charts
    a, b = (escape_markdown(name) for name in names)
    st.markdown(" · ".join(f"**{arm}** = {escape_markdown(name)}" + (f" ({escape_markdown(how)})" if how else "")
                           for arm, name, how in zip("AB", names, settings, strict=True))
                + f" · {len(per_query):,} queries")
    numbers = {column: st.column_config.NumberColumn(format="%.4f") for column in ("A", "B", "B − A", "Cohen's d")}
    p_values = {column: st.column_config.NumberColumn(format=P_FORMAT)
                for column in (*charts.P_VALUES.values(), "Holm p")}
    st.dataframe(charts.stats_table(stats), hide_index=True, column_config=numbers | p_values)
    st.caption("B − A > 0: B ranks better. 95% CI: BCa bootstrap of the mean difference over queries. Significance: "
               "the paired randomisation test's p, Holm-adjusted across the metrics (the t, Wilcoxon and Welch "
               "p-values are shown beside it); ✓ names the better arm. Cohen's d: mean difference over the spread of "
               "the differences.")
    metric = st.selectbox("Metric for the tiles and charts", list(stats), key=f"{key}-metric")
    entry = stats[metric]
    for column, (label, value) in zip(st.columns(3), ((f"B better ({b})", entry["wins"]), ("Ties", entry["ties"]),
                                                       (f"A better ({a})", entry["losses"])), strict=True):
        column.metric(label, f"{value:,}", help=f"queries where {metric} of B is higher, equal or lower than A's")
    left, right = st.columns(2)
    left.plotly_chart(charts.delta_histogram(per_query, metric, names), key=f"{key}-histogram")
    right.plotly_chart(charts.arm_scatter(per_query, metric, names), key=f"{key}-scatter")
    table_with_download(per_query, f"{key}-per-query")


def variant_picker_ui(label: str, settings: Settings, default: str, key: str):  # noqa: ANN201 - a Variant
    """Pick an A/B arm: ``workspace`` (this workspace's settings) or a variant file of ``settings.experiments_dir``,
    with the weights, fusion and norm it ranks with here and what else it sets underneath. Returns the variant,
    resolved on ``settings``, or ``None`` after an ``st.error`` when its file is invalid."""
    from sherlock.evaluation.variants import default_variant, list_variants, load_variant
    files = {path.stem: path for path in list_variants(settings.experiments_dir)}
    options = ["workspace", *files]
    choice = st.selectbox(label, options, index=options.index(default) if default in options else 0, key=key)
    try:
        variant = (default_variant() if choice == "workspace" else load_variant(files[choice])).resolved(settings)
    except ValueError as error:
        st.error(f"This variant cannot be used: {escape_markdown(str(error))}")
        return None
    st.caption(("the workspace's settings: " if choice == "workspace" else "") + escape_markdown(variant.describe()))
    return variant


def online_experiment_ui(settings: Settings) -> None:
    """The live online experiment (``settings.online_experiment``): its arms and split, each arm's helpful rate
    with its interval, each arm against the control, and a button that logs the analysis to MLflow; a how-to when
    none is set, an ``st.error`` naming the file and line when its file is invalid."""
    from sherlock.evaluation.online_ab import analyse, load_online
    from sherlock.evaluation.variants import default_variant
    from sherlock.plots import experiments as charts
    if notice := st.session_state.pop("online-notice", None):
        st.success(notice)
    if not settings.online_experiment:
        st.info("No online experiment is running. Start one below to split chat sessions between search settings "
                "and compare their thumbs up/down: chat serves it from the next question, no restart needed. "
                f"Experiments are `[online]` files in `{settings.experiments_dir}` (the example is "
                "`fusion-online.toml`); the choice is kept as `online_experiment` in "
                f"`{settings.home / SETTINGS_FILE}`.")
        start_online_ui(settings)
        return
    try:
        experiment = load_online(settings.online_experiment, settings)
    except (OSError, ValueError) as error:
        st.error(f"The online experiment cannot be read: {escape_markdown(str(error))}")
        stop_online_ui(settings)
        return
    result = analyse(experiment, feedback_store())
    summary = result.as_dict()
    st.markdown(f"**{escape_markdown(experiment.name)}** · control **{escape_markdown(experiment.control)}** · "
                f"holdout {experiment.holdout:.0%} · split "
                + ", ".join(f"{escape_markdown(arm)} {share:.0%}" for arm, share in experiment.split.items())
                + f" · `{experiment.path}`")
    workspace = default_variant().resolved(settings).describe()
    st.dataframe(charts.online_arms_table(summary, experiment, workspace), hide_index=True,
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
    if access.allowed("ab_run") and st.button("Log to MLflow", key="online-log"):
        access.require("ab_run")
        from sherlock.evaluation.online_ab_mlflow import MLFLOW_EXPERIMENT, log_online
        try:
            run_id = log_online(result, settings)
        except Exception as error:  # noqa: BLE001 - the record of an analysis must not cost the analysis itself
            st.error(f"The analysis could not be logged to MLflow: {escape_markdown(str(error))}")
        else:
            st.success(f"Logged as run `{run_id}` of the `{MLFLOW_EXPERIMENT}` experiment in {settings.tracking_uri}.")
    stop_online_ui(settings)


def start_online_ui(settings: Settings) -> None:
    """Pick an online experiment of ``settings.experiments_dir`` (its arms, split and what each serves shown before
    it starts) and start it: ``online_experiment`` is written to ``<home>/sherlock.toml`` and the cached settings
    and answerers are dropped, so chat serves it from its next question."""
    from sherlock.evaluation.online_ab import list_online, load_online
    if not access.allowed("online_experiment"):
        st.caption(access.needs("online_experiment"))
        return
    files = [path.stem for path in list_online(settings.experiments_dir)]
    if not files:
        st.caption(f"`{settings.experiments_dir}` holds no online experiment (a `*.toml` file with an `[online]` "
                   "table) to start.")
        return
    name = st.selectbox("Online experiment", files, key="online-start-name")
    try:
        experiment = load_online(name, settings)
    except (OSError, ValueError) as error:
        st.error(f"This experiment cannot be started: {escape_markdown(str(error))}")
        return
    st.caption(f"Sessions: holdout {experiment.holdout:.0%} (served the workspace's settings) · "
               + " · ".join(f"{escape_markdown(arm)} {share * (1 - experiment.holdout):.0%}"
                            f"{' (control)' if arm == experiment.control else ''}: "
                            f"{escape_markdown(experiment.arms[arm].describe())}"
                            for arm, share in experiment.split.items()))
    if st.button("Start the experiment", type="primary", key="online-start"):
        _switch_online(settings, name, f"Started **{escape_markdown(experiment.name)}**: chat sessions are split "
                                       "between its arms from their next question.")


def stop_online_ui(settings: Settings) -> None:
    """A button that stops the live experiment (removes ``online_experiment`` from ``<home>/sherlock.toml``); when
    the environment sets it instead, a caption saying so (the file cannot stop it)."""
    from sherlock.config import read_settings_file
    if not access.allowed("online_experiment"):
        st.caption(access.needs("online_experiment"))
        return
    try:
        in_file = read_settings_file(settings.home).get("online_experiment")
    except ValueError as error:
        st.error(escape_markdown(str(error)))
        return
    if in_file != settings.online_experiment:
        st.caption("This experiment is set by the `SHERLOCK_ONLINE_EXPERIMENT` environment variable, which "
                   f"overrides `{settings.home / SETTINGS_FILE}`: unset it and restart the app to stop it.")
        return
    if st.button("Stop the experiment", key="online-stop",
                 help="Chat serves the workspace's settings again from its next question; the votes are kept"):
        _switch_online(settings, None, "Stopped the online experiment: chat serves the workspace's settings again. "
                                       "Its votes are kept; start it again to go on collecting.")


def _switch_online(settings: Settings, name: str | None, notice: str) -> None:
    """Write ``online_experiment`` (``None``: remove it), drop the cached settings and answerers, and rerun."""
    from sherlock.evaluation.online_ab import set_online_experiment
    access.require("online_experiment")
    previous = settings.online_experiment
    try:
        set_online_experiment(settings.home, name)
    except ValueError as error:
        st.error(escape_markdown(str(error)))
        return
    access.audit("online_experiment", f"start {name}" if name else f"stop {previous}")
    reload_settings()
    st.session_state["online-notice"] = notice
    st.rerun()
