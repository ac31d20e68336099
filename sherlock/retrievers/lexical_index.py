"""What the lexical retrievers (BM25 and TF-IDF) share: document-id/row bookkeeping, ``allowed`` masks, a
deterministic top-k, batched search over sparse score columns, and atomic persistence with a JSON manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from sherlock.run import Scores

#: Per query, the rows (documents) with a nonzero score and those scores.
ScoreColumn = tuple[np.ndarray, np.ndarray]


def check_choice(name: str, value: Any, valid: Collection[str]) -> None:
    """Raise ``ValueError`` naming the valid choices when ``value`` is not one of them."""
    if value not in valid:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(map(repr, valid))}")


class DocIndex:
    """Document ids <-> row numbers, the ``allowed`` mask and a deterministic top-k (ties broken by doc id, as
    ``sherlock.run.top_k`` does)."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = list(ids)
        self.row_of = {doc_id: row for row, doc_id in enumerate(self.ids)}
        if len(self.row_of) != len(self.ids):
            dupes = sorted(doc_id for doc_id, count in Counter(self.ids).items() if count > 1)
            raise ValueError(f"duplicate incident ids {dupes[:5]}: ids must be unique; deduplicate before indexing")
        self.id_rank = np.empty(len(self.ids), dtype=np.int64)
        self.id_rank[np.argsort(np.array(self.ids, dtype=object))] = np.arange(len(self.ids))

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, doc_ids: Iterable[str]) -> list[int]:
        """Row numbers of the known ids among ``doc_ids``, in their order."""
        return [row for row in map(self.row_of.get, doc_ids) if row is not None]

    def mask(self, allowed: Collection[str] | None) -> np.ndarray | None:
        """A boolean row mask for ``allowed`` (``None`` means every document)."""
        if allowed is None:
            return None
        mask = np.zeros(len(self.ids), dtype=bool)
        mask[self.rows(allowed)] = True
        return mask

    def top_k(self, rows: np.ndarray, values: np.ndarray, k: int, mask: np.ndarray | None = None) -> Scores:
        """The ``k`` best of the candidate ``rows`` with positive ``values`` (and in ``mask``) as ``{id: score}``."""
        keep = values > 0
        if mask is not None:
            keep &= mask[rows]
        rows, values = rows[keep], values[keep]
        if k <= 0 or len(rows) == 0:
            return {}
        if k < len(rows):  # argpartition-style cut, keeping every tie of the k-th score
            kth = np.partition(values, len(values) - k)[len(values) - k]
            rows, values = rows[values >= kth], values[values >= kth]
        order = np.lexsort((self.id_rank[rows], -values))[:k]
        return {self.ids[row]: float(value) for row, value in zip(rows[order], values[order], strict=True)}


def sparse_columns(product: sp.csc_matrix) -> list[ScoreColumn]:
    """The stored rows and values of each column of a (documents x queries) score matrix."""
    return [(product.indices[product.indptr[j]:product.indptr[j + 1]],
             product.data[product.indptr[j]:product.indptr[j + 1]]) for j in range(product.shape[1])]


def scores_at(docs: DocIndex, column: ScoreColumn, doc_ids: Iterable[str]) -> Scores:
    """``{id: score}`` of the known ids among ``doc_ids`` (in their order) from one query's score column; 0 for a
    document the column leaves out."""
    rows = docs.rows(doc_ids)
    if not rows:
        return {}
    dense = np.zeros(len(docs))
    dense[column[0]] = column[1]
    return {docs.ids[row]: float(dense[row]) for row in rows}


def term_weight_columns(weights: sp.csc_matrix, vocabulary: Mapping[str, int],
                        token_lists: Sequence[Sequence[str]]) -> list[ScoreColumn]:
    """Per token list, the rows of a (documents x terms) weight matrix with a nonzero sum over its tokens' columns and
    those sums — how BM25 scores a query with precomputed weights (bm25s, Lù 2024). Repeated tokens add up, as
    repeated query terms do in bm25s, rank-bm25 and Lucene; tokens outside ``vocabulary`` add nothing."""
    query_rows: list[int] = []
    term_columns: list[int] = []
    for number, tokens in enumerate(token_lists):
        ids = [vocabulary[token] for token in tokens if token in vocabulary]
        query_rows.extend([number] * len(ids))
        term_columns.extend(ids)
    counts = sp.csr_matrix((np.ones(len(query_rows)), (query_rows, term_columns)),
                           shape=(len(token_lists), weights.shape[1]))
    return sparse_columns(sp.csc_matrix(weights @ counts.T))


def top_k_in_batches(docs: DocIndex, score_columns: Callable[[Sequence[str]], list[ScoreColumn]],
                     queries: Sequence[str], k: int, allowed: Collection[str] | None,
                     batch_size: int) -> list[Scores]:
    """``docs.top_k`` of every query, scoring ``batch_size`` queries per ``score_columns`` call; one mask for all."""
    mask = docs.mask(allowed)
    results: list[Scores] = []
    for start in range(0, len(queries), batch_size):
        for rows, values in score_columns(queries[start:start + batch_size]):
            results.append(docs.top_k(rows, values, k, mask))
    return results


def write_dir_atomically(target: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_dir)`` then move ``tmp_dir`` to ``target``, replacing it: readers never see a half-written
    index, and a failed write leaves the old one in place."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        os.chmod(tmp, 0o755)
        write(tmp)
        if target.exists():
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_manifest(directory: str | Path, name: str, kind: str) -> dict[str, Any]:
    """The JSON manifest of a saved index, or a ``ValueError`` saying what is missing."""
    path = Path(directory) / name
    if not path.is_file():
        raise ValueError(f"{directory} is not a saved {kind} index ({name} missing); save one with .save(directory)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != kind:
        raise ValueError(f"{path}: format is {manifest.get('format')!r}, expected {kind!r}")
    return manifest
