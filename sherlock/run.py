"""The one result shape shared by retrieval, fusion, evaluation, tuning and A/B: ``{query_id: {doc_id: score}}``.

``Run`` holds system scores (higher is better); ``Qrels`` holds relevance grades (0 = judged not relevant).
TREC run files (``qid Q0 docid rank score tag``) are the on-disk form.
"""

from __future__ import annotations

from pathlib import Path

Scores = dict[str, float]
Run = dict[str, Scores]
Qrels = dict[str, dict[str, int]]


def top_k(scores: Scores, k: int) -> list[tuple[str, float]]:
    """The ``k`` best ``(doc_id, score)`` pairs, ties broken by doc id so rankings are deterministic."""
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]


def write_trec_run(run: Run, path: str | Path, tag: str = "sherlock", k: int | None = None) -> Path:
    """Write ``run`` as a TREC run file, one ``qid Q0 docid rank score tag`` line per ranked document."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for qid, scores in run.items():
            ranked = top_k(scores, k if k is not None else len(scores))
            for rank, (doc_id, score) in enumerate(ranked, start=1):
                out.write(f"{qid} Q0 {doc_id} {rank} {score:.6f} {tag}\n")
    return path

