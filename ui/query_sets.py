"""Labelled query sets for fusion tuning and offline A/Bs: the demo set, an upload, or the set derived from chat
feedback, checked against the workspace by :func:`sherlock.evaluation.query_sets.restrict`."""

from __future__ import annotations

import streamlit as st

from sherlock.storage.workspace import Workspace
from ui.resources import feedback_store
from ui.widgets import save_uploads

QUERY_SETS = ("Demo labelled set", "Upload", "Chat feedback")


def query_set_ui(ws: Workspace) -> tuple[str, dict[str, str], dict[str, dict[str, int]]] | None:
    """Pick a labelled query set — the demo set, an uploaded labelled JSONL or BEIR queries + qrels pair, or the set
    derived from chat feedback — and check it against the workspace. Returns ``(name, queries, qrels)`` restricted to
    the queries with a relevant incident in the workspace, or ``None`` after saying why there is nothing to use."""
    from sherlock.config import DEMO_DIR
    from sherlock.evaluation.query_sets import QuerySet, read_labelled_queries, read_qrels, read_queries, restrict
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
            paths = save_uploads([*jsonl, *other], ws.settings.home / "uploads")
            name = "upload:" + "+".join(p.name for p in paths)
            queries, qrels = read_labelled_queries(paths[0]) if not other else (read_queries(paths[0]),
                                                                                 read_qrels(paths[1]))
    except ValueError as error:
        st.error(f"That query set cannot be read: {error}")
        return None
    ids = set(ws.store.hashes())
    try:
        usable = restrict(QuerySet(name, queries, qrels), ids)
    except ValueError:  # nothing is left; say so in the app's words, with where to go next
        hint = (" This set labels the **demo corpus**, which this workspace does not hold: load it on the **Data** "
                "page, or pick another query set." if source == "Demo labelled set" else "")
        st.warning(f"None of the {len(qrels):,} labelled queries has a relevant incident in this workspace "
                   f"({len(ids):,} incidents), so there is nothing to evaluate against.{hint}")
        return None
    st.caption(" · ".join([f"{len(usable.queries):,} of {len(queries):,} queries usable", *usable.notes]))
    return name, usable.queries, usable.qrels


PAIR_SETS = ("Incident page votes", "Upload")


def pair_set_ui(ws: Workspace) -> tuple[str, dict, dict[str, dict[str, int]]] | None:
    """Pick labelled incident pairs for the similar-incidents mode — the "same root cause: yes / no" votes of the
    incident page, or an uploaded TREC qrels file (anchor 0 past-incident grade; anchors are stored incidents) — and
    check them against the workspace (:func:`sherlock.evaluation.pairs.load_pairs`). Returns ``(name, anchor
    incidents, qrels)``, or ``None`` after saying why there is nothing to use."""
    from sherlock.evaluation.pairs import load_pairs
    source = st.radio("Labelled pairs", PAIR_SETS, horizontal=True, key="pair_set_source")
    path = None
    if source == "Upload":
        upload = st.file_uploader("TREC qrels of incident pairs: `anchor 0 past-incident grade` per line (grade 1: "
                                  "same root cause, 0: not)", type=["tsv", "txt", "trec", "qrels"])
        if upload is None:
            st.info("Upload one qrels file of labelled incident pairs.")
            return None
        path = save_uploads([upload], ws.settings.home / "uploads")[0]
    try:
        pairs = load_pairs(ws, None, path)
    except ValueError as error:
        if path is None:
            st.info("No usable votes yet. On an **Incident** page, answer *Same root cause?* for its similar "
                    "incidents: each incident with a *yes* becomes a labelled anchor here.")
        else:
            st.error(f"Those pairs cannot be used: {error}")
        return None
    st.caption(" · ".join([f"{len(pairs.incidents):,} anchor incidents usable", *pairs.notes]))
    return pairs.name, pairs.incidents, pairs.qrels
