"""``sherlock tune``'s input and output: a labelled query set in (BEIR queries + qrels, TREC qrels, our labelled
JSONL, the demo set), checked against the workspace; a small table out."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sherlock.config import DEMO_DIR, Settings
from sherlock.evaluation.metrics import read_labelled_queries, read_qrels, read_queries
from sherlock.run import Qrels

if TYPE_CHECKING:
    from sherlock.evaluation.tuning import TuneResult

RETRIEVER_NAMES = ("dense", "bm25", "tfidf")


@dataclass
class QuerySet:
    """Queries and judgements ready to tune on, and what was left out on the way (one line per reason)."""

    name: str
    queries: dict[str, str]
    qrels: Qrels
    notes: list[str] = field(default_factory=list)


def load_query_set(queries: Path | None, qrels: Path | None, demo: bool = False) -> QuerySet:
    """``--demo``: the demo corpus's labelled set; ``--queries`` alone: a labelled JSONL (``{"id", "query",
    "relevant"}``); ``--queries`` + ``--qrels``: BEIR ``queries.jsonl`` (or JSONL ``{"id", "query"}``) with BEIR or
    TREC qrels."""
    if demo:
        if queries or qrels:
            raise ValueError("--demo uses the demo corpus's labelled queries; leave out --queries and --qrels")
        texts, judged = read_labelled_queries(DEMO_DIR / "queries.jsonl")
        return QuerySet("demo", texts, judged)
    if queries is None:
        raise ValueError("give --queries FILE (a labelled JSONL, or queries.jsonl with --qrels QRELS), or --demo")
    if qrels is None:
        texts, judged = read_labelled_queries(queries)
        return QuerySet(queries.name, texts, judged)
    return QuerySet(f"{queries.name}+{qrels.name}", read_queries(queries), read_qrels(qrels))


def restrict(query_set: QuerySet, known_ids: set[str]) -> QuerySet:
    """Keep the queries with text and at least one relevant document in the workspace (the others would score 0
    under every setting); count what is dropped. ``ValueError`` when nothing is left."""
    judged_ids = {doc_id for judged in query_set.qrels.values() for doc_id in judged}
    usable = {qid: {d: g for d, g in judged.items() if d in known_ids} for qid, judged in query_set.qrels.items()
              if qid in query_set.queries and any(g > 0 and d in known_ids for d, g in judged.items())}
    notes = []
    if unknown := len(set(query_set.qrels) - set(query_set.queries)):
        notes.append(f"{unknown} judged quer{'y' if unknown == 1 else 'ies'} not in the query file (ignored)")
    if missing := len(judged_ids - known_ids):
        notes.append(f"{missing} judged document id(s) not in this workspace (ignored)")
    if dropped := len(set(query_set.queries) - set(usable)):
        notes.append(f"{dropped} of {len(query_set.queries)} queries have no relevant document in this workspace "
                     "(left out)")
    if not usable:
        raise ValueError(f"none of the {len(query_set.queries)} queries of {query_set.name} has a relevant document "
                         f"among the {len(known_ids)} incidents of this workspace ({'; '.join(notes)}): check that "
                         "the qrels name its incident ids (the demo set needs the demo corpus: an empty workspace "
                         "loads it)")
    return QuerySet(query_set.name, {qid: query_set.queries[qid] for qid in usable}, usable, notes)


def tqdm_progress(description: str) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm import tqdm
    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=description, unit="query", file=sys.stderr, leave=False,
                              disable=None)
        bar["bar"].n = done
        bar["bar"].refresh()
        if done >= total:
            bar["bar"].close()

    return update


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def report(result: TuneResult, query_set: str, settings: Settings, applied: Path | None = None) -> str:
    """The human summary: best, cross-validated, current, default and single-retriever scores, and where the MLflow
    run is."""
    def row(label: str, weights: Any, norm: str, score: str) -> list[str]:
        return [label, *(f"{w:.2f}" for w in weights), norm, score]

    current = (tuple(settings.weights), settings.fusion, settings.norm)
    p = result.params
    rows = [["setting", *RETRIEVER_NAMES, "norm", result.metric],
            ["tuned, cross-validated", "", "", "", "", f"{result.cv_mean:.4f} ± {result.cv_std:.4f}"],
            row(f"tuned ({result.fusion})", result.weights, result.norm, f"{result.score:.4f}"),
            row(f"current ({current[1]})", current[0], current[2], f"{result.current_score:.4f}"),
            row("default (wsum)", (0.6, 0.3, 0.1), "minmax", f"{result.default_score:.4f}")]
    for i, name in enumerate(RETRIEVER_NAMES):
        rows.append(row(f"{name} only", [float(i == j) for j in range(3)], result.norm, f"{result.single[name]:.4f}"))
    folds = ", ".join(f"{fold['test']:.3f}" for fold in result.cv_folds)
    lines = [f"{query_set}: {p.get('queries')} queries, {p.get('points')} weight points × {str(p.get('norms')).replace(',', ', ')} "
             f"({result.fusion}), {len(result.cv_folds)}-fold CV (held-out folds: {folds})", "", _table(rows), ""]
    if result.mlflow_run_id:
        lines.append(f"MLflow: run {result.mlflow_run_id} in experiment fusion-tuning at {settings.tracking_uri}")
    if applied:
        lines.append(f"Applied: weights, fusion and norm written to {applied}; search uses them now.")
    else:
        lines.append(f"Not applied: add --apply to write them to {settings.home / 'sherlock.toml'}.")
    return "\n".join(lines)
