"""Recurring root-cause themes and repeat incidents, from the incident text.

Both work on TF-IDF vectors (Salton & Buckley 1988; scikit-learn's sublinear tf and smoothed idf, rows L2-normalised,
so a dot product is a cosine similarity) of each incident's title, counted twice, and ``text`` column (root cause or
else description, resolution, tags — see :func:`sherlock.analytics.frame.incidents_frame`). Terms are words and
identifiers starting with a letter (bare numbers vary from one occurrence to the next), minus English stop words.

* **Themes** — average-linkage agglomerative clustering on cosine distance, cut at ``distance_threshold`` (so the
  number of themes follows the data), fitted on a random sample of at most ``sample_size`` incidents; every incident
  is then assigned to the theme whose centroid is most similar (theme -1 when none reaches ``min_similarity``).
  Fitting on a sample keeps 100k incidents fast: the clustering is quadratic in the sample, the assignment linear.
  A theme is labelled by its centroid's top terms.
* **Repeats** — an incident is a repeat when an incident created earlier, within ``window_days``, has a cosine
  similarity ≥ ``threshold`` with it. Candidates are compared within the same theme (a near-duplicate is nearly always
  assigned to the same theme), which turns an all-pairs join into many small ones.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from sherlock.analytics.frame import period_start
from sherlock.text import readable_terms

UNTHEMED = -1


class TextVectors(NamedTuple):
    """L2-normalised TF-IDF rows aligned with the frame's rows, and the term of each column."""

    matrix: sp.csr_matrix
    terms: np.ndarray


def _title_twice(document: tuple[str, str]) -> list[str]:
    """The terms of ``(title, text)``, the title's twice: the title names the problem."""
    title = readable_terms(document[0])
    return title + title + readable_terms(document[1])


def vectorize(frame: pd.DataFrame, min_df: int = 2, max_df: float = 0.5) -> TextVectors:
    """TF-IDF of the title, counted twice, and the ``text`` column: terms in at least ``min_df`` incidents and at most
    ``max_df`` of them (words every incident shares say nothing about which problem it was). Falls back to every
    term for corpora too small for those limits."""
    documents = list(zip(frame["title"], frame["text"], strict=True))
    if not documents:
        return TextVectors(sp.csr_matrix((0, 0), dtype=np.float32), np.array([], dtype=object))
    for low, high in ((min_df, max_df), (1, 1.0)):
        vectorizer = TfidfVectorizer(analyzer=_title_twice, sublinear_tf=True, min_df=low, max_df=high,
                                     dtype=np.float32)
        try:
            return TextVectors(vectorizer.fit_transform(documents).tocsr(), vectorizer.get_feature_names_out())
        except ValueError:  # no term survives the document-frequency limits (or there is no text at all)
            continue
    return TextVectors(sp.csr_matrix((len(documents), 0), dtype=np.float32), np.array([], dtype=object))


# -- themes -------------------------------------------------------------------------------------------------------

def assign_themes(frame: pd.DataFrame, vectors: TextVectors | None = None, distance_threshold: float = 0.85,
                  sample_size: int = 2000, min_size: int = 2, min_similarity: float = 0.2, n_terms: int = 3,
                  seed: int = 0) -> pd.DataFrame:
    """``frame`` with ``theme`` (an int, -1 for none) and ``theme_label`` (top terms, ``"(unthemed)"``) columns.

    See the module docstring for the method; ``min_size`` is the fewest sampled incidents a theme needs (smaller
    clusters are dissolved and their incidents go to the nearest remaining theme)."""
    vectors = vectors if vectors is not None else vectorize(frame)
    matrix = vectors.matrix
    themes = np.full(len(frame), UNTHEMED)
    labels: dict[int, str] = {UNTHEMED: "(unthemed)"}
    if len(frame) >= 2 and matrix.shape[1]:
        centroids = _fit_centroids(matrix, distance_threshold, sample_size, min_size, seed)
        if len(centroids):
            similarity = np.asarray(matrix @ centroids.T)
            best = similarity.argmax(axis=1)
            themes = np.where(similarity[np.arange(len(best)), best] >= min_similarity, best, UNTHEMED)
            themes, centroids = _renumber_by_size(themes, centroids)
            labels.update({i: _label(centroid, vectors.terms, n_terms) for i, centroid in enumerate(centroids)})
    return frame.assign(theme=themes, theme_label=[labels[t] for t in themes])


def _fit_centroids(matrix: sp.csr_matrix, distance_threshold: float, sample_size: int, min_size: int,
                   seed: int) -> np.ndarray:
    """Unit-length centroids of the clusters found in a random sample of the rows."""
    rows = np.arange(matrix.shape[0])
    if len(rows) > sample_size:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=sample_size, replace=False))
    sample = matrix[rows]
    keep = np.asarray(sample.getnnz(axis=1)) > 0  # an incident with no surviving term has no direction
    sample = sample[keep]
    if sample.shape[0] < 2:
        return np.empty((0, matrix.shape[1]))
    distance = np.clip(1.0 - (sample @ sample.T).toarray(), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    clusters = AgglomerativeClustering(n_clusters=None, distance_threshold=distance_threshold, metric="precomputed",
                                       linkage="average").fit_predict(distance)
    sizes = np.bincount(clusters)
    kept = np.flatnonzero(sizes >= min_size)
    if not len(kept):
        kept = np.array([sizes.argmax()])
    members = sp.csr_matrix((np.ones(len(clusters)), (clusters, np.arange(len(clusters)))),
                            shape=(len(sizes), len(clusters)))[kept]
    return normalize(np.asarray((members @ sample).todense()))


def _renumber_by_size(themes: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Theme 0 the largest, then by size; themes nobody was assigned to are dropped."""
    sizes = np.bincount(themes[themes >= 0], minlength=len(centroids))
    order = [i for i in np.argsort(-sizes, kind="stable") if sizes[i] > 0]
    mapping = np.full(len(centroids), UNTHEMED)
    mapping[order] = np.arange(len(order))
    return np.where(themes >= 0, mapping[np.maximum(themes, 0)], UNTHEMED), centroids[order]


def _label(centroid: np.ndarray, terms: np.ndarray, n_terms: int) -> str:
    top = np.argsort(-centroid, kind="stable")[:n_terms]
    return " · ".join(str(terms[i]) for i in top if centroid[i] > 0)


def theme_summary(frame: pd.DataFrame, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per theme of a frame from :func:`assign_themes`, largest first: ``theme, label, size, incident_ids``
    (newest first), ``first_seen, last_seen, days_since_last`` (as of ``as_of``, default the newest incident in the
    frame), ``weeks_active, median_days_between, mttr_median_minutes, unresolved, top_service``."""
    columns = ["theme", "label", "size", "incident_ids", "first_seen", "last_seen", "days_since_last",
               "weeks_active", "median_days_between", "mttr_median_minutes", "unresolved", "top_service"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    as_of = as_of if as_of is not None else frame["created"].max()
    newest_first = frame.sort_values(["created", "id"], ascending=[False, True])
    groups = newest_first.assign(week=period_start(newest_first["created"], "W"),
                                 unresolved=newest_first["resolved"].isna(),
                                 gap=-newest_first.groupby("theme")["created"].diff()).groupby("theme", sort=False)
    services = newest_first.groupby(["theme", "service"]).size().rename("n").reset_index()
    top_service = services.sort_values(["n", "service"], ascending=[False, True]).drop_duplicates("theme")
    table = pd.DataFrame({
        "label": groups["theme_label"].first(), "size": groups.size(), "incident_ids": groups["id"].agg(list),
        "first_seen": groups["created"].min(), "last_seen": groups["created"].max(),
        "weeks_active": groups["week"].nunique(),
        "median_days_between": (groups["gap"].median().dt.total_seconds() / 86400).round(1),
        "mttr_median_minutes": groups["minutes_to_resolve"].median().round(1),
        "unresolved": groups["unresolved"].sum().astype(int),
        "top_service": top_service.set_index("theme")["service"]}).rename_axis("theme").reset_index()
    table["days_since_last"] = ((as_of - table["last_seen"]).dt.total_seconds() / 86400).round(1)
    table = table.astype({"median_days_between": object, "mttr_median_minutes": object})
    table = table.where(table.notna(), None)
    return table.sort_values(["size", "theme"], ascending=[False, True], ignore_index=True)[columns]


# -- repeats ------------------------------------------------------------------------------------------------------

def mark_repeats(frame: pd.DataFrame, vectors: TextVectors | None = None, window_days: float = 30,
                 threshold: float = 0.6, block: int = 128) -> pd.DataFrame:
    """``frame`` with ``repeat_of`` (the id of the most similar earlier incident within ``window_days`` at cosine ≥
    ``threshold`` — the latest of equally similar ones — else missing) and ``repeat_similarity``. Compared within
    the frame's ``theme`` column when it has one (see the module docstring), else across all incidents."""
    vectors = vectors if vectors is not None else vectorize(frame)
    matrix = vectors.matrix
    dated = frame["created"].notna().to_numpy()  # an undated incident repeats nothing and is repeated by nothing
    created = frame["created"].dt.tz_convert(None).to_numpy().astype("datetime64[us]").astype(np.int64)
    window = int(window_days * 86400 * 1_000_000)
    best = np.full(len(frame), -1)
    similarity = np.zeros(len(frame), dtype=np.float32)
    keys = frame["theme"].to_numpy() if "theme" in frame.columns else np.zeros(len(frame), dtype=int)
    for key in np.unique(keys):
        rows = np.flatnonzero((keys == key) & dated)
        rows = rows[np.argsort(created[rows], kind="stable")]
        found, score = _earlier_neighbours(matrix[rows], created[rows], window, threshold, block)
        hit = found >= 0
        best[rows[hit]], similarity[rows[hit]] = rows[found[hit]], score[hit]
    ids = frame["id"].to_numpy()
    return frame.assign(repeat_of=[ids[i] if i >= 0 else None for i in best],
                        repeat_similarity=np.where(best >= 0, similarity.round(3), np.nan))


def _earlier_neighbours(matrix: sp.csr_matrix, created: np.ndarray, window: int, threshold: float,
                        block: int) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by time: the most similar earlier row within ``window`` at ≥ ``threshold`` (-1 if none).

    Rows go in blocks, each against the rows from ``window`` before it."""
    n = matrix.shape[0]
    best, score = np.full(n, -1), np.zeros(n, dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        first = int(np.searchsorted(created, created[start] - window, side="left"))
        similarity = (matrix[start:stop] @ matrix[first:stop].T).toarray()
        row, col = np.arange(start, stop)[:, None], np.arange(first, stop)[None, :]
        eligible = (col < row) & (created[row] - created[col] <= window) & (similarity >= threshold)
        similarity = np.where(eligible, similarity, -1.0)
        nearest = similarity.shape[1] - 1 - similarity[:, ::-1].argmax(axis=1)  # on ties, the latest
        value = similarity[np.arange(len(nearest)), nearest]
        hit = np.flatnonzero(value >= threshold)
        best[start + hit], score[start + hit] = first + nearest[hit], value[hit]
    return best, score


def repeat_rate(frame: pd.DataFrame) -> float | None:
    """Share of the frame's incidents that are repeats (after :func:`mark_repeats`); None for an empty frame."""
    return round(float(frame["repeat_of"].notna().mean()), 4) if len(frame) else None
