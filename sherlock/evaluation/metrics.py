"""Evaluate a run against relevance judgements, with trec_eval / ranx semantics, and read query sets and qrels.

``evaluate(qrels, run, ["ndcg@10", "mrr", "recall@100"])`` gives mean scores; ``evaluate_per_query`` gives
``{metric: {query_id: score}}``. Metric names are ``family[@k]`` strings, parsed only by :func:`parse_metric`;
families are the keys of ``METRICS``, and no ``@k`` means "the whole ranking".

Conventions (each chosen to agree with trec_eval, and with ranx wherever ranx is deterministic):

- A document is relevant when its grade is > 0; grades <= 0 are judged non-relevant.
- A run is ranked by descending score, ties by descending doc id (trec_eval's order). ranx has no fixed tie order
  (it uses an unstable sort), so only tie-free runs are guaranteed to score the same in both.
- Queries in the qrels but absent from the run score 0 and count in the mean (trec_eval ``-c``, ranx
  ``make_comparable``); queries only in the run are ignored.
- Queries whose judgements hold no relevant document are skipped: every metric is 0/0 for them, and counting them
  would lower the mean for a reason unrelated to the system. (ranx instead scores them 0 and counts them.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sherlock.run import Qrels, Run, Scores

Ranking = Sequence[str]
Relevant = Mapping[str, int]


# Per-query metrics: (ranked doc ids, {doc_id: grade > 0}, cutoff or None) -> float ------------------------------------

def ndcg(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """nDCG@k (Järvelin & Kekäläinen, TOIS 2002) with linear gain and log2 discount: DCG = Σ_i rel_i / log2(i + 1)
    over ranks i <= k, divided by the DCG of the ideal ordering of *all* judged relevant documents cut at k
    (trec_eval's ``ndcg_cut``, ranx's ``ndcg``)."""
    dcg = sum(relevant[doc_id] / math.log2(i + 2) for i, doc_id in enumerate(ranked[:k]) if doc_id in relevant)
    ideal = sum(grade / math.log2(i + 2) for i, grade in enumerate(sorted(relevant.values(), reverse=True)[:k]))
    return dcg / ideal if ideal > 0 else 0.0


def reciprocal_rank(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """1 / rank of the first relevant document within the top k, 0 if none (Voorhees, TREC-8 QA 1999)."""
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def recall(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """Relevant documents in the top k / all relevant documents."""
    return len(relevant.keys() & ranked[:k]) / len(relevant) if relevant else 0.0


def precision(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """Relevant documents in the top k / k (a run shorter than k is not excused); no cutoff divides by the run's
    length."""
    depth = len(ranked) if k is None else k
    return len(relevant.keys() & ranked[:k]) / depth if depth else 0.0


def average_precision(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """AP@k: the sum of precision@i at each relevant rank i <= k, over *all* relevant documents (trec_eval's ``map``
    and ranx's ``map@k``); its mean over queries is MAP."""
    hit_ranks = [rank for rank, doc_id in enumerate(ranked[:k], start=1) if doc_id in relevant]
    return sum(hits / rank for hits, rank in enumerate(hit_ranks, start=1)) / len(relevant) if relevant else 0.0


def hit_rate(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """1.0 if any relevant document is in the top k, else 0.0."""
    return float(not relevant.keys().isdisjoint(ranked[:k]))


METRICS: dict[str, Callable[[Ranking, Relevant, int | None], float]] = {
    "ndcg": ndcg,
    "mrr": reciprocal_rank,
    "recall": recall,
    "precision": precision,
    "map": average_precision,
    "hit_rate": hit_rate,
}


def parse_metric(name: str) -> tuple[str, int | None]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``, ``"mrr"`` -> ``("mrr", None)``; anything else is a ``ValueError``."""
    family, at, cutoff = name.strip().lower().partition("@")
    if family not in METRICS:
        raise ValueError(f"unknown metric {name!r}; valid families: {', '.join(METRICS)} "
                         "(optionally with a cutoff, e.g. 'ndcg@10')")
    if not at:
        return family, None
    if not (cutoff.isascii() and cutoff.isdigit()) or int(cutoff) < 1:
        raise ValueError(f"metric {name!r}: the cutoff after '@' must be a positive integer, e.g. '{family}@10'")
    return family, int(cutoff)


def rank(scores: Scores, k: int | None = None) -> list[str]:
    """Doc ids best first: descending score, ties by descending doc id (trec_eval); only the top ``k`` if given."""
    return [doc_id for _, doc_id in sorted(zip(scores.values(), scores.keys()), reverse=True)[:k]]


def evaluate_per_query(qrels: Qrels, run: Run, metrics: str | Sequence[str]) -> dict[str, dict[str, float]]:
    """``{metric: {query_id: score}}`` for every query of ``qrels`` with at least one relevant document."""
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not names:
        raise ValueError("no metrics given; ask for at least one, e.g. ['ndcg@10', 'mrr']")
    parsed = {name: parse_metric(name) for name in names}
    cutoffs = [k for _, k in parsed.values()]
    depth = None if None in cutoffs else max(cutoffs)  # rank each query once, only as deep as a metric looks
    results: dict[str, dict[str, float]] = {name: {} for name in parsed}
    for qid, judged in qrels.items():
        relevant = {doc_id: grade for doc_id, grade in judged.items() if grade > 0}
        if not relevant:
            continue
        ranked = rank(run.get(qid, {}), depth)
        for name, (family, k) in parsed.items():
            results[name][qid] = METRICS[family](ranked, relevant, k)
    return results


def evaluate(qrels: Qrels, run: Run, metrics: str | Sequence[str]) -> dict[str, float]:
    """Mean of each metric over the evaluated queries (see the module docstring for which queries count)."""
    per_query = evaluate_per_query(qrels, run, metrics)
    if not next(iter(per_query.values())):
        raise ValueError("no query in the qrels has a relevant document (grade > 0); nothing to evaluate")
    return {name: math.fsum(scores.values()) / len(scores) for name, scores in per_query.items()}


# Readers --------------------------------------------------------------------------------------------------------------

BEIR_QRELS_HEADER = ["query-id", "corpus-id", "score"]


def _grade(text: str, where: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{where}: the relevance grade must be an integer, got {text!r}") from None


def read_qrels(path: str | Path) -> Qrels:
    """Read BEIR ``qrels/*.tsv`` (tab-separated, header ``query-id corpus-id score``) or TREC qrels (``qid 0 docid
    grade``, whitespace-separated), told apart by the BEIR header. CRLF line ends are fine; a repeated judgement
    keeps the last grade; a malformed line raises ``ValueError`` naming ``file:line``."""
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    first = next((index for index, line in enumerate(lines) if line.strip()), None)
    beir = first is not None and [field.strip() for field in lines[first].split("\t")] == BEIR_QRELS_HEADER
    start = first + 1 if beir else 0
    qrels: Qrels = {}
    for number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        if beir:
            fields = [field.strip() for field in line.split("\t")]
            if len(fields) != 3 or not all(fields):
                raise ValueError(f"{where}: expected 3 tab-separated fields 'query-id corpus-id score', got {line!r}")
            qid, doc_id, grade = fields
        else:
            fields = line.split()
            if len(fields) != 4:
                raise ValueError(f"{where}: expected TREC qrels 'qid 0 docid grade' (4 columns), got {line!r}; "
                                 f"a BEIR file must start with the header '{chr(9).join(BEIR_QRELS_HEADER)}'")
            qid, _, doc_id, grade = fields
        qrels.setdefault(qid, {})[doc_id] = _grade(grade, where)
    return qrels


def _jsonl_queries(path: str | Path) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """``(where, query_id, text, record)`` per non-blank line; ids come from ``_id`` (BEIR) or ``id``, text from
    ``text`` (BEIR) or ``query``."""
    seen: dict[str, int] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a JSON object per line, got {type(record).__name__}")
        qid = record.get("_id", record.get("id"))
        text = record.get("text", record.get("query"))
        if isinstance(qid, bool) or not isinstance(qid, (str, int)) or str(qid) == "":
            raise ValueError(f"{where}: needs a query id in '_id' (BEIR) or 'id'")
        if not isinstance(text, str):
            raise ValueError(f"{where}: needs the query text as a string in 'text' (BEIR) or 'query'")
        qid = str(qid)
        if qid in seen:
            raise ValueError(f"{where}: duplicate query id {qid!r} (first on line {seen[qid]})")
        seen[qid] = number
        yield where, qid, text, record


def read_queries(path: str | Path) -> dict[str, str]:
    """Read BEIR ``queries.jsonl`` (``{"_id", "text"}``) or our JSONL (``{"id", "query"}``) into ``{qid: text}``."""
    return {qid: text for _, qid, text, _ in _jsonl_queries(path)}


def read_labelled_queries(path: str | Path) -> tuple[dict[str, str], Qrels]:
    """Read our labelled JSONL, ``{"id", "query", "relevant": {doc_id: grade}}`` per line, into ``(queries, qrels)``.
    Every line needs ``relevant`` (it may be ``{}``: such a query is skipped by :func:`evaluate`)."""
    queries: dict[str, str] = {}
    qrels: Qrels = {}
    for where, qid, text, record in _jsonl_queries(path):
        relevant = record.get("relevant")
        if not isinstance(relevant, dict) or not all(
                isinstance(grade, int) and not isinstance(grade, bool) for grade in relevant.values()):
            raise ValueError(f"{where}: 'relevant' must map doc ids to integer grades, e.g. "
                             '{"INC-0042": 2, "INC-0107": 1}; use read_queries for unlabelled queries')
        queries[qid] = text
        qrels[qid] = dict(relevant)
    return queries, qrels
