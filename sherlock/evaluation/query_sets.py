"""``sherlock tune``'s input and output: a labelled query set in (BEIR queries + qrels, TREC qrels, our labelled
JSONL, the demo set), checked against the workspace; a small table out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sherlock.config import DEMO_DIR
from sherlock.run import Qrels

if TYPE_CHECKING:
    pass



# Readers: BEIR / TREC qrels, BEIR queries, our labelled JSONL ---------------------------------------------------

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
    start = first + 1 if beir and first is not None else 0
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


# Query sets ------------------------------------------------------------------------------------------------------

@dataclass
class QuerySet:
    """Queries and judgements ready to tune on, and what was left out on the way (one line per reason)."""

    name: str
    queries: dict[str, str]
    qrels: Qrels
    notes: list[str] = field(default_factory=list)


def load_query_set(queries: Path | None, qrels: Path | None, demo: bool = False) -> QuerySet:
    """``demo``: the demo corpus's labelled set; ``queries`` alone: a labelled JSONL (``{"id", "query",
    "relevant"}``); ``queries`` + ``qrels``: BEIR ``queries.jsonl`` (or JSONL ``{"id", "query"}``) with BEIR or TREC
    qrels."""
    if demo:
        if queries or qrels:
            raise ValueError("the demo query set brings its own queries and judgements; give no queries or qrels file "
                             "with it")
        texts, judged = read_labelled_queries(DEMO_DIR / "queries.jsonl")
        return QuerySet("demo", texts, judged)
    if queries is None:
        raise ValueError("give a queries file (a labelled JSONL, or queries.jsonl with a qrels file), or use the "
                         "demo query set")
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


def query_set_hash(queries: dict[str, str], qrels: Qrels) -> str:
    """A short content hash of the evaluated queries and their judgements (order-independent)."""
    payload = json.dumps({qid: [text, sorted(qrels.get(qid, {}).items())] for qid, text in sorted(queries.items())},
                         ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
