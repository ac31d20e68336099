"""Content gaps: the questions the incident memory could not answer, grouped into themes.

A question is a gap when its search abstained or its answer got a thumbs down. Questions are grouped by their keyed
hash (one question however it is cased or spaced), and the :data:`MAX_QUESTIONS` most frequent are clustered by their
text — TF-IDF of the words they share (:func:`sherlock.text.readable_terms`, sublinear tf), average-linkage
agglomerative clustering on cosine distance cut at :data:`DISTANCE_THRESHOLD`, as :mod:`sherlock.analytics.themes`
clusters incidents. A theme is labelled by the top terms of its frequency-weighted centroid over all their words, its
``count`` is its abstentions plus its thumbs-down votes, ``distinct`` how many different questions it holds.

With ``query_log_text = "hash"`` no text is kept, so there are no themes to show.
"""

from __future__ import annotations

import heapq
from collections import Counter
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from sqlalchemy import func, select

from sherlock.monitoring.aggregate import Rows
from sherlock.monitoring.events import id_at
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.votes import Votes
from sherlock.monitoring.window import Window
from sherlock.storage.db.reads import driver_rows
from sherlock.storage.db.tables import queries
from sherlock.text import readable_terms

#: The most frequent distinct questions clustered (the clustering is quadratic in them), the themes reported, the
#: example questions per theme, and the cosine distance below which questions join a theme.
MAX_QUESTIONS = 2000
MAX_THEMES = 50
EXAMPLES = 5
DISTANCE_THRESHOLD = 0.8
LABEL_TERMS = 3


class GapQuestion(NamedTuple):
    """One distinct gap question: its keyed hash, its latest text, its abstentions and thumbs-down votes, and
    ``total`` (their sum: its ``count`` in a theme)."""

    query_key: str
    text: str
    abstained: int
    thumbs_down: int
    total: int


def gap_questions(log: QueryLog, window: Window, rows: Rows, votes: Votes,
                  limit: int = MAX_QUESTIONS) -> list[GapQuestion]:
    """The distinct gap questions of the window, most frequent first (ties by key), at most ``limit``; each with the
    text of its latest row that has one (questions without a stored text are left out)."""
    times = func.count().label("n")
    grouped = (select(queries.c.query_key, times, func.max(queries.c.id).label("latest"))
               .where(queries.c.id >= id_at(window.since), queries.c.id < id_at(window.until), queries.c.abstained == 1)
               .group_by(queries.c.query_key).order_by(times.desc(), queries.c.query_key).limit(limit).subquery())
    down_votes = Counter(int(i) for i in rows.ids[votes.positions[~votes.helpful]])
    down_ids = sorted(down_votes)
    down: list[tuple[int, str, str | None]] = []
    with log.read() as connection:
        # each key's text is the one of its latest row (MAX(id)), joined back by that id
        abstained = connection.execute(select(grouped.c.query_key, grouped.c.n, grouped.c.latest, queries.c.query)
                                       .join_from(grouped, queries, queries.c.id == grouped.c.latest)).all()
        for start in range(0, len(down_ids), 500):
            chunk = down_ids[start:start + 500]
            down += driver_rows(connection, select(queries.c.id, queries.c.query_key, queries.c.query)
                                .where(queries.c.id.in_(chunk)))
    # per key: [abstained, thumbs down, the id its text is from, that text]; the latest row with a text wins
    found: dict[str, list[Any]] = {key: [count, 0, latest if text is not None else -1, text]
                                   for key, count, latest, text in abstained}
    for row_id, key, text in down:
        entry = found.setdefault(key, [0, 0, -1, None])
        entry[1] += down_votes[row_id]
        if text is not None and row_id > entry[2]:
            entry[2:] = [row_id, text]
    questions = [GapQuestion(key, text, abstained_n, down_n, abstained_n + down_n)
                 for key, (abstained_n, down_n, _, text) in found.items() if text is not None]
    questions.sort(key=lambda question: (-question.total, question.query_key))
    return questions[:limit]


def text_vectors(texts: list[str], min_df: int = 2) -> tuple[sp.csr_matrix, np.ndarray]:
    """L2-normalised TF-IDF rows of ``texts`` (sparse) and the term of each column (sorted).

    Only terms shared by ``min_df`` questions or more: in a one-line question the words no other question uses
    (a city, a date) would carry most of the weight and make every question unlike every other. Falls back to every
    term when none is shared; no columns when not one question has a content word.

    The weights are scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` (Salton & Buckley 1988, "Term-weighting
    approaches in automatic text retrieval"): ``(1 + ln tf) · (1 + ln((1 + n) / (1 + df)))``, each row scaled to unit
    length — written out here so that the report does not import scikit-learn (over a second, with the scipy.stats
    and pandas it loads); the test suite checks them against it."""
    counts = [Counter(readable_terms(text)) for text in texts]
    document_frequency = Counter(term for terms in counts for term in terms)
    for low in (min_df, 1):
        vocabulary = sorted(term for term, df in document_frequency.items() if df >= low)
        if vocabulary:
            break
    else:
        return sp.csr_matrix((len(texts), 0)), np.array([], dtype=object)
    column = {term: i for i, term in enumerate(vocabulary)}
    indptr, indices, tf = [0], [], []
    for terms in counts:
        kept = sorted((column[term], n) for term, n in terms.items() if term in column)
        indices += [i for i, _ in kept]
        tf += [n for _, n in kept]
        indptr.append(len(indices))
    indices_array = np.array(indices, dtype=np.int64)
    df = np.array([document_frequency[term] for term in vocabulary], dtype=np.float64)
    idf = np.log((len(texts) + 1) / (df + 1)) + 1.0
    data = (np.log(np.array(tf, dtype=np.float64)) + 1.0) * idf[indices_array]
    row = np.repeat(np.arange(len(texts)), np.diff(indptr))
    norms = np.sqrt(np.bincount(row, weights=data * data, minlength=len(texts)))
    data /= np.where(norms > 0, norms, 1.0)[row]
    matrix = sp.csr_matrix((data, indices_array, np.array(indptr, dtype=np.int64)),
                           shape=(len(texts), len(vocabulary)))
    return matrix, np.array(vocabulary, dtype=object)


def cluster_questions(matrix: Any, distance_threshold: float = DISTANCE_THRESHOLD) -> np.ndarray:
    """A theme number for each row of :func:`text_vectors` (see the module docstring); questions sharing no term
    stay apart.

    Average linkage (UPGMA; Sokal & Michener 1958) on the cosine distances by scipy's ``linkage``, cut where
    scikit-learn's ``AgglomerativeClustering(distance_threshold=..., linkage="average")`` cuts it (merges closer
    than the threshold kept), themes numbered as it numbers them."""
    from scipy.cluster.hierarchy import linkage  # the clustering alone needs it: imported when there is some

    n = matrix.shape[0]
    if n < 2 or matrix.shape[1] == 0:
        return np.arange(n)
    # a question left without a term is at distance 1 from all: it stays a theme of its own
    distance = np.clip(1.0 - (matrix @ matrix.T).toarray(), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(distance[np.triu_indices(n, k=1)], method="average")
    # merges come out in order of distance: those at or beyond the threshold are the last ones, undone by the cut
    return _cut(tree[:, :2].astype(np.int64), n, int(np.count_nonzero(tree[:, 2] >= distance_threshold)) + 1)


def _cut(children: np.ndarray, leaves: int, clusters: int) -> np.ndarray:
    """The flat clusters of a merge tree, undoing its last ``clusters - 1`` merges, numbered as scikit-learn's
    ``_hc_cut`` numbers them: the top nodes in the order a heap of their negated ids holds them."""
    nodes = [-(int(children[-1].max()) + 1)]  # the root
    for _ in range(clusters - 1):
        first, second = children[-nodes[0] - leaves]  # split the newest node left
        heapq.heappush(nodes, -int(first))
        heapq.heappushpop(nodes, -int(second))
    labels = np.zeros(leaves, dtype=np.intp)
    for number, node in enumerate(nodes):
        stack, below = [-node], []
        while stack:
            top = stack.pop()
            if top < leaves:
                below.append(top)
            else:
                stack.extend(int(child) for child in children[top - leaves])
        labels[below] = number
    return labels


def gap_themes(questions: list[GapQuestion], distance_threshold: float = DISTANCE_THRESHOLD,
               top: int = MAX_THEMES) -> list[dict[str, Any]]:
    """Cluster :func:`gap_questions` into themes: ``label, count, distinct, abstained, thumbs_down,
    example_queries`` (the most frequent first), biggest theme first."""
    if not questions:
        return []
    texts = [" ".join(str(question.text).split()) for question in questions]
    themes = cluster_questions(text_vectors(texts)[0], distance_threshold)
    matrix, terms = text_vectors(texts, min_df=1)  # labels read better with every word (the shared ones lead)
    weights = np.array([question.total for question in questions], dtype=np.float64)
    found: list[dict[str, Any]] = []
    for theme in np.unique(themes):
        members = np.flatnonzero(themes == theme)  # questions are most frequent first, so members are too
        part = [questions[i] for i in members]
        found.append({"label": _label(matrix, terms, members, weights, texts),
                      "count": sum(question.total for question in part), "distinct": len(members),
                      "abstained": sum(question.abstained for question in part),
                      "thumbs_down": sum(question.thumbs_down for question in part),
                      "example_queries": [texts[i] for i in members[:EXAMPLES]]})
    found.sort(key=lambda theme: (-theme["count"], -theme["distinct"], theme["label"]))
    return found[:top]


def _label(matrix: Any, terms: np.ndarray, members: np.ndarray, weights: np.ndarray, texts: list[str]) -> str:
    """The top terms of the members' frequency-weighted centroid; the first question itself when it has none."""
    if len(terms):
        centroid = np.asarray(matrix[members].T @ weights[members]).ravel()
        top = [i for i in np.argsort(-centroid, kind="stable")[:LABEL_TERMS] if centroid[i] > 0]
        if top:
            return " · ".join(str(terms[i]) for i in top)
    return texts[members[0]][:60]
