"""Streamlit-only helpers shared by the pages: cached loaders, ``*_ui()`` widgets that return plain values, and safe
rendering of incident text. The library (``sherlock/``) never imports streamlit; pages stay thin.

Safety: incident text is data. It is rendered through :func:`escape_markdown` (links, images, HTML and emphasis are
neutralised) and never with ``unsafe_allow_html``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import date

import streamlit as st

from sherlock.config import load_settings
from sherlock.schema import Incident
from sherlock.search.searcher import Hit, Searcher
from sherlock.storage.store import Filters
from sherlock.storage.workspace import Workspace

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<$:=])")


# -- cached resources: one per process, shared by every session (thread-safe objects) --------------------------

@st.cache_resource(show_spinner="Opening the workspace (first run loads the demo corpus)…")
def workspace() -> Workspace:
    ws = Workspace(load_settings())
    ws.prepare()
    return ws


@st.cache_resource
def searcher() -> Searcher:
    return Searcher(workspace())


def _secret(name: str) -> str | None:
    """A value from ``.streamlit/secrets.toml`` if that file exists (it is optional)."""
    try:
        value = st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no secrets file is the normal, offline case
        return None
    return str(value) if value else None


@st.cache_resource
def answerer():  # noqa: ANN201 - sherlock.answer.answerer.Answerer, imported lazily to keep page start-up light
    """Offline extractive answers, or Gemini when a key is in the environment or in Streamlit secrets."""
    from pydantic import SecretStr

    from sherlock.answer.answerer import Answerer
    settings = searcher().settings
    key = _secret("GEMINI_API_KEY") or _secret("GOOGLE_API_KEY")
    if key and settings.gemini_api_key is None:
        settings = settings.model_copy(update={"gemini_api_key": SecretStr(key)})
    return Answerer(searcher(), settings=settings)


@st.cache_resource
def feedback_store():  # noqa: ANN201 - sherlock.storage.feedback.FeedbackStore
    from sherlock.storage.feedback import FeedbackStore
    return FeedbackStore(workspace().settings.feedback_path)


def session_id() -> str:
    """A stable random id per browser session (for feedback and, later, A/B assignment)."""
    if "session_id" not in st.session_state:
        st.session_state.session_id = uuid.uuid4().hex
    return st.session_state.session_id


# -- online A/B: the arm that serves this session ------------------------------------------------------------------

def served_answerer():  # noqa: ANN201 - (sherlock.answer.answerer.Answerer, sherlock.evaluation.online_ab.Served)
    """The answerer for this session and what it serves: under a live online experiment (``online_experiment``)
    the session's arm, else — and for held-out sessions or a broken experiment file — the workspace's settings."""
    from sherlock.evaluation.online_ab import serve
    served = serve(workspace().settings, session_id())
    if served.settings == workspace().settings:
        return answerer(), served
    return arm_answerer(served.experiment, served.arm, served.settings.model_dump_json(), id(workspace()),
                        served.settings), served


@st.cache_resource(max_entries=16)
def arm_answerer(experiment: str, arm: str, fingerprint: str, workspace_id: int, _settings):  # noqa: ANN001, ANN201
    """One searcher + answerer per experiment arm, shared by every session in it (keyed by the experiment, the arm,
    its resolved settings — so an edited experiment file takes effect — and the cached workspace, which
    :func:`reload_settings` renews)."""
    from pydantic import SecretStr

    from sherlock.answer.answerer import Answerer
    settings = _settings
    key = _secret("GEMINI_API_KEY") or _secret("GOOGLE_API_KEY")
    if key and settings.gemini_api_key is None:
        settings = settings.model_copy(update={"gemini_api_key": SecretStr(key)})
    return Answerer(Searcher(workspace(), settings), settings=settings)


def online_ui(served) -> None:  # noqa: ANN001 - sherlock.evaluation.online_ab.Served
    """A sidebar caption naming the experiment and arm serving this session, or a warning when it cannot be served."""
    if served.error:
        st.warning(f"The online experiment is not served — answering with the workspace's settings. "
                   f"{escape_markdown(served.error)}")
    elif served.experiment:
        st.sidebar.caption(f"A/B experiment **{escape_markdown(served.experiment)}** · arm "
                           f"**{escape_markdown(served.arm)}** ({escape_markdown(served.description)})")


# -- safe text ----------------------------------------------------------------------------------------------------

def escape_markdown(text: str) -> str:
    """Incident text as inert markdown: every markdown/HTML control character is backslash-escaped, so
    ``[x](http://evil)``, ``![img](...)``, ``<b>`` and bare ``http://`` links render as plain characters."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text or "")


def highlight(text: str, terms: list[str]) -> str:
    """Escaped ``text`` with the matched ``terms`` in bold (whole-word, case-insensitive)."""
    escaped = escape_markdown(text)
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        pattern = re.escape(escape_markdown(term))
        escaped = re.sub(rf"(?<![\w\\])({pattern})(?!\w)", r"**\1**", escaped, flags=re.IGNORECASE)
    return escaped


def stream_words(text: str, delay: float = 0.01) -> Iterator[str]:
    """Yield ``text`` a few words at a time (for ``st.write_stream``)."""
    words = text.split(" ")
    for start in range(0, len(words), 3):
        yield " ".join(words[start:start + 3]) + " "
        time.sleep(delay)


# -- widgets that return plain values ------------------------------------------------------------------------------

def search_sidebar_ui(ws: Workspace) -> tuple[Filters, int]:
    """Sidebar filters (service, severity, category, tags, date range) and k; shows the active search settings."""
    store = ws.store
    with st.sidebar:
        st.header("Filters")
        services = st.multiselect("Service", [v for v in store.facet_counts("service") if v != "(none)"])
        severities = st.multiselect("Severity", [v for v in store.facet_counts("severity") if v != "(none)"])
        categories = st.multiselect("Category", [v for v in store.facet_counts("category") if v != "(none)"])
        tags = st.multiselect("Tags", list(store.tag_counts(300)))
        first, last = store.date_span()
        use_dates = st.checkbox("Limit the date range", value=False, disabled=not first)
        date_from = date_to = None
        if use_dates and first and last:
            chosen = st.date_input("Created between", (date.fromisoformat(first), date.fromisoformat(last)))
            if isinstance(chosen, tuple) and len(chosen) == 2:
                date_from, date_to = chosen
        k = st.slider("Results (k)", 1, 20, 5)
        s = ws.settings
        st.caption(f"Search: weights dense/bm25/tfidf = {'/'.join(f'{w:g}' for w in s.weights)}, "
                   f"fusion {s.fusion} over {s.norm}, entity boost {'on' if s.entity_boost else 'off'}, "
                   f"embedder {ws.embedder.name}.")
    filters = Filters(service=tuple(services), severity=tuple(severities), category=tuple(categories),
                      tag=tuple(tags), date_from=date_from, date_to=date_to)
    return filters, k


def incident_card(hit: Hit, incident: Incident | None, expanded: bool = False) -> None:
    """One cited incident: title, labels, root cause, resolution, tags, and why it matched."""
    label = "nearest miss — not a match" if hit.nearest_miss else ("related" if hit.related else f"{hit.score:.3f}")
    with st.expander(f"**{escape_markdown(hit.id)}** · {escape_markdown(hit.title)} · {label}", expanded=expanded):
        meta = [hit.service, hit.severity, hit.category, (hit.created_at or "")[:10]]
        st.caption(" · ".join(escape_markdown(m) for m in meta if m) or "no labels")
        if incident is not None:
            if incident.root_cause:
                st.markdown("**Root cause:** " + highlight(incident.root_cause, hit.matched_terms))
            elif incident.description:
                st.markdown("**What happened:** " + highlight(incident.description, hit.matched_terms))
            if incident.resolution:
                st.markdown("**Resolution:** " + highlight(incident.resolution, hit.matched_terms))
            if incident.tags:
                st.markdown("**Tags:** " + ", ".join(f"`{t.replace('`', '')}`" for t in incident.tags))
        if any(v is not None for v in hit.scores.values()):
            cols = st.columns(3)
            for col, name in zip(cols, ("dense", "bm25", "tfidf"), strict=True):
                raw = hit.raw_scores.get(name)
                col.metric(name, "–" if hit.scores.get(name) is None else f"{hit.scores[name]:.2f}",
                           help=f"normalised score; raw {raw:.4g}" if raw is not None else "not retrieved")
        if hit.matched_terms:
            st.caption("Matched terms: " + ", ".join(escape_markdown(t) for t in hit.matched_terms))
        if hit.entities:
            st.caption("Matched entities (boosted): " + ", ".join(escape_markdown(e) for e in hit.entities))


def incident_details(incident: Incident) -> None:
    """Every field of one incident (for ticket-id lookups), extra fields as JSON."""
    st.subheader(f"{escape_markdown(incident.id)} · {escape_markdown(incident.title)}")
    data = incident.to_json_dict()
    for key in ("description", "root_cause", "resolution"):
        if data.get(key):
            st.markdown(f"**{key.replace('_', ' ').capitalize()}:** {escape_markdown(data[key])}")
    labels = {k: data[k] for k in ("service", "category", "severity", "status", "created_at", "resolved_at",
                                   "resolved_by", "tags") if data.get(k)}
    if labels:
        st.json(labels, expanded=True)
    if data.get("extra"):
        st.json(data["extra"], expanded=False)


def coming_soon(title: str, issue: str) -> None:
    st.title(title)
    st.info(f"Coming soon — this page is built by the {issue} issue. Meanwhile, search from **Chat search** or the "
            "command line: `sherlock search \"UPI payment failed with error 5003\"`.")


def feedback_ui(key: str, shown_ids: list[str]) -> dict | None:
    """Thumbs up/down and an optional "the right incident was …"; returns the feedback once it is sent."""
    cols = st.columns([1, 3, 1])
    with cols[0]:
        thumbs = st.feedback("thumbs", key=f"thumbs-{key}")
    with cols[1]:
        right = st.selectbox("The right incident was…", [*shown_ids, "another id…"], key=f"right-{key}", index=None,
                             placeholder="The right incident was… (optional)", label_visibility="collapsed")
        if right == "another id…":
            right = st.text_input("Incident id", key=f"other-{key}", placeholder="e.g. JSP-1018").strip() or None
    with cols[2]:
        sent = st.button("Send", key=f"send-{key}", disabled=thumbs is None and right is None)
    if not sent:
        return None
    return {"helpful": None if thumbs is None else bool(thumbs), "right_id": right}


def progress_callback(bar) -> callable:  # noqa: ANN001 - a st.progress element
    """A ``progress(stage, done, total)`` callback that drives one Streamlit progress bar."""
    def update(stage: str, done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{stage}: {done:,}/{total:,}")
    return update


@st.cache_data(show_spinner="Loading the corpus table…", max_entries=4)
def corpus_frame(home: str, revision: int):  # noqa: ANN201 - pandas.DataFrame; cached per store revision
    import pandas as pd
    rows = [{"id": i.id, "title": i.title, "service": i.service, "severity": i.severity, "category": i.category,
             "status": i.status, "created_at": i.created_date(), "tags": ", ".join(i.tags)}
            for i in workspace().store.iter_incidents()]
    return pd.DataFrame(rows, columns=["id", "title", "service", "severity", "category", "status", "created_at",
                                       "tags"])


# -- incident patterns ----------------------------------------------------------------------------------------------

@st.cache_data(show_spinner="Finding themes, repeats and spikes…", max_entries=4)
def patterns_frame(home: str, revision: int, statuses: tuple[str, ...], tags: tuple[str, ...]):  # noqa: ANN201
    """The analysed incidents frame (themes and repeats added, exclusions applied) and the exclusion counts, cached
    per store revision and exclusion rules (``home`` keys the cache per workspace)."""
    from sherlock.analytics.patterns import analysed_frame
    return analysed_frame(workspace().store.iter_incidents(), statuses, tags)


def exclusion_rules_ui() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Sidebar: which statuses and tags leave an incident out of every metric (comma-separated)."""
    from sherlock.analytics.frame import DEFINITIONS, EXCLUDED_STATUSES, EXCLUDED_TAGS
    with st.sidebar.expander("Exclusion rules"):
        st.caption(DEFINITIONS["excluded"])
        statuses = st.text_input("Statuses", ", ".join(EXCLUDED_STATUSES))
        tags = st.text_input("Tags", ", ".join(EXCLUDED_TAGS))
    return _comma_list(statuses), _comma_list(tags)


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(sorted({part.strip().lower() for part in text.split(",") if part.strip()}))


def patterns_filters_ui(frame):  # noqa: ANN001, ANN201 - pandas.DataFrame in, (DataFrame, date, date, str, str) out
    """Sidebar filters: created date range, service, severity, category, period and grouping. Returns the frame
    filtered by the facets only (the previous window for the deltas needs the dates before the range), the range,
    the frequency and the group column."""
    import pandas as pd
    first, last = frame["created"].min().date(), frame["created"].max().date()
    keep = pd.Series(True, index=frame.index)
    with st.sidebar:
        st.header("Filters")
        chosen = st.date_input("Created between", (first, last), min_value=first, max_value=last)
        start, end = chosen if isinstance(chosen, tuple) and len(chosen) == 2 else (first, last)
        for column in ("service", "severity", "category"):
            picked = st.multiselect(column.capitalize(), sorted(frame[column].unique()), key=f"patterns-{column}")
            if picked:
                keep &= frame[column].isin(picked)
        freq = st.radio("Volume per", ["M", "W", "D"], horizontal=True,
                        format_func={"M": "month", "W": "week", "D": "day"}.get)
        by = st.selectbox("Group by", ["service", "severity", "category"])
    return frame[keep], start, end, freq, by


#: The KPI tiles: label, metric of ``compare_windows``, value format, delta format, definition.
KPI_TILES = (("Incidents", "count", "{:,.0f}".format, "{:+,.0f}".format, "volume"),
             ("MTTR median", "mttr_median", "{:,.0f} min".format, "{:+,.0f} min".format, "mttr"),
             ("MTTR p90", "mttr_p90", "{:,.0f} min".format, "{:+,.0f} min".format, "mttr"),
             ("Repeat rate", "repeat_rate", "{:.1%}".format, lambda change: f"{100 * change:+.1f} pts", "repeat_rate"))


def kpi_tiles(change: dict) -> None:
    """One metric tile per ``KPI_TILES`` entry from :func:`sherlock.analytics.frame.compare_windows`, the change against
    the previous window as its delta (lower is better for all of them) and the definition as its help."""
    from sherlock.analytics.frame import DEFINITIONS
    for column, (label, key, value_format, delta_format, definition) in zip(st.columns(len(KPI_TILES)), KPI_TILES,
                                                                             strict=True):
        value, delta = change[key]["current"], change[key]["change"]
        column.metric(label, "–" if value is None else value_format(value),
                      None if delta is None else delta_format(delta), delta_color="inverse",
                      help=f"{DEFINITIONS[definition]} Delta: {DEFINITIONS['change']}")


def table_with_download(table, name: str, **dataframe_options) -> None:  # noqa: ANN001 - a pandas.DataFrame
    """A table and a button that downloads it as ``name.csv``."""
    st.dataframe(table, hide_index=True, **dataframe_options)
    st.download_button(f"Download {name}.csv", table.to_csv(index=False), f"{name}.csv", "text/csv",
                       key=f"download-{name}")


# -- labelled query sets and settings reload (fusion tuning; reusable by experiments) ---------------------------------

QUERY_SETS = ("Demo labelled set", "Upload", "Chat feedback")


def query_set_ui(ws: Workspace) -> tuple[str, dict[str, str], dict[str, dict[str, int]]] | None:
    """Pick a labelled query set — the demo set, an uploaded labelled JSONL or BEIR queries + qrels pair, or the set
    derived from chat feedback — and check it against the workspace. Returns ``(name, queries, qrels)`` restricted to
    the queries with a relevant incident in the workspace, or ``None`` after saying why there is nothing to use."""
    from sherlock.config import DEMO_DIR
    from sherlock.evaluation.metrics import read_labelled_queries, read_qrels, read_queries
    source = st.radio("Query set", QUERY_SETS, horizontal=True, key="query_set_source")
    try:
        if source == "Demo labelled set":
            name, (queries, qrels) = "demo", read_labelled_queries(DEMO_DIR / "queries.jsonl")
        elif source == "Chat feedback":
            name, (queries, qrels) = "feedback", feedback_store().judgements()
            if not qrels:
                st.info("No feedback yet. On **Chat search**, mark answers 👍/👎 or pick *The right incident was…*: "
                        "each query with feedback becomes a labelled query here.")
                return None
        else:
            files = st.file_uploader("A labelled JSONL (`{id, query, relevant: {doc_id: grade}}` per line), or a BEIR "
                                     "`queries.jsonl` with its qrels `.tsv`", type=["jsonl", "tsv", "txt"],
                                     accept_multiple_files=True)
            jsonl = [f for f in files or [] if f.name.endswith(".jsonl")]
            other = [f for f in files or [] if not f.name.endswith(".jsonl")]
            if len(jsonl) != 1 or len(other) > 1:
                st.info("Upload one labelled `.jsonl`, or one queries `.jsonl` and one qrels `.tsv`.")
                return None
            upload_dir = ws.settings.home / "uploads"
            upload_dir.mkdir(parents=True, exist_ok=True)
            paths = []
            for upload in [*jsonl, *other]:
                paths.append(upload_dir / upload.name.replace("/", "_").replace("\\", "_"))
                paths[-1].write_bytes(upload.getvalue())
            name = "upload:" + "+".join(p.name for p in paths)
            queries, qrels = read_labelled_queries(paths[0]) if not other else (read_queries(paths[0]),
                                                                                 read_qrels(paths[1]))
    except ValueError as error:
        st.error(f"That query set cannot be read: {error}")
        return None
    ids = set(ws.store.hashes())
    usable = {qid: judged for qid, judged in qrels.items()
              if qid in queries and any(grade > 0 and doc_id in ids for doc_id, grade in judged.items())}
    judged_ids = {doc_id for judged in qrels.values() for doc_id in judged}
    if not usable:
        hint = (" This set labels the **demo corpus**, which this workspace does not hold: load it on the **Data** "
                "page, or pick another query set." if source == "Demo labelled set" else "")
        st.warning(f"None of the {len(qrels):,} labelled queries has a relevant incident in this workspace "
                   f"({len(ids):,} incidents), so there is nothing to evaluate against.{hint}")
        return None
    st.caption(f"{len(usable):,} of {len(queries):,} queries usable · {len(judged_ids - ids):,} judged ids not in "
               f"this workspace (ignored) · {len(set(qrels) - set(queries)):,} judgements for unknown queries "
               "(ignored) · queries without a relevant incident here are left out.")
    return name, {qid: queries[qid] for qid in usable}, usable


def reload_settings() -> None:
    """Drop the cached workspace, searcher and answerer so the next call reads ``sherlock.toml`` again."""
    for cached in (workspace, searcher, answerer):
        cached.clear()


# -- experiments: offline A/B runs in MLflow, one comparison view, variant pickers, the online experiment ----------

@st.cache_data(ttl=60, show_spinner="Reading the A/B runs from MLflow…", max_entries=8)
def ab_runs_frame(home: str, tracking_uri: str, _settings):  # noqa: ANN001, ANN201 - Settings in, DataFrame out
    """Every offline A/B run (parents and arms) in ``tracking_uri``, newest first (``list_runs``); cached for a
    minute per workspace and store, and cleared (``ab_runs_frame.clear()``) after the page logs a new A/B."""
    from sherlock.evaluation.offline_ab_mlflow import list_runs
    return list_runs(_settings)


def ab_runs(settings):  # noqa: ANN001, ANN201 - Settings in, DataFrame out
    """:func:`ab_runs_frame` for ``settings``; when the store cannot be read, an ``st.error`` saying so and an empty
    frame (the page then shows how to start)."""
    try:
        return ab_runs_frame(str(settings.home), settings.tracking_uri, settings)
    except Exception as error:  # noqa: BLE001 - MLflow raises many types; the page must still open
        import pandas as pd

        from sherlock.evaluation.offline_ab_mlflow import RUN_COLUMNS
        st.error(f"The MLflow store {settings.tracking_uri} cannot be read: {escape_markdown(str(error))}")
        return pd.DataFrame(columns=RUN_COLUMNS)


@st.cache_data(show_spinner="Comparing the two arms…", max_entries=32)
def arm_comparison(tracking_uri: str, run_a: str, run_b: str, _settings):  # noqa: ANN001, ANN201
    """Two arm runs compared again from their logged per-query scores, on the queries both hold, with the
    resamples, seed and alpha of arm A's A/B (so the arms of one A/B reproduce its logged statistics). Returns
    ``(stats, per_query)``; ``ValueError`` when a run has no scores or the two share fewer than two queries.
    Logged runs never change, so the result is cached without expiry."""
    from sherlock.evaluation.offline_ab import compare_scores
    from sherlock.plots.experiments import paired_per_query
    from sherlock.evaluation.offline_ab_mlflow import arm_scores, run_params
    (a, queries_a), (b, queries_b) = arm_scores(_settings, run_a), arm_scores(_settings, run_b)
    parent = run_params(_settings, run_a)["parent_run_id"]
    params = run_params(_settings, parent) if parent else {}
    metrics = [metric for metric in a.columns if metric in b.columns]
    stats = compare_scores(a, b, metrics, resamples=int(params.get("resamples", 10_000)),
                           seed=int(params.get("seed", 0)), alpha=float(params.get("alpha", 0.05)))
    return stats, paired_per_query(a, b, {**queries_b, **queries_a}, metrics)


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


P_FORMAT = "%.3g"


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


def online_experiment_ui(settings) -> None:  # noqa: ANN001 - sherlock.config.Settings
    """The live online experiment (``settings.online_experiment``): its arms and split, each arm's helpful rate
    with its interval, each arm against the control, and a button that logs the analysis to MLflow; a how-to when
    none is set, an ``st.error`` naming the file and line when its file is invalid."""
    from sherlock.plots import experiments as charts
    from sherlock.evaluation.online_ab import analyse, load_online
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
        except Exception as error:  # noqa: BLE001 - the analysis above stays valid whatever the store says
            st.error(f"The analysis could not be logged to MLflow: {escape_markdown(str(error))}")
        else:
            st.success(f"Logged as run `{run_id}` of the `{MLFLOW_EXPERIMENT}` experiment in {settings.tracking_uri}.")
