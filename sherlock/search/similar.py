"""Similar incidents: "this incident just opened — which past incidents had the same root cause, and what fixed
them?" A first-class operation over the same retrievers, snapshot and ranking path as search.

An incident is not a query. Its query is built from its fields (:func:`incident_query`):

* **dense**: the incident's stored vector (a stored incident costs no embedding), else the embedding of its text;
* **BM25 and TF-IDF**: its ``similar_terms`` most informative words (:func:`sherlock.text.informative_words`; title
  words count twice) — a whole report as a BM25 query drowns its telling words in common ones;
* **metadata**: a past incident scores ``entity boost`` x ``similar_service_boost`` (same service) x
  ``(1 + similar_cause_weight x cause overlap)`` (:mod:`sherlock.search.causes`).

The three signals are fused with the mode's own ``similar_weights``/``similar_fusion``/``similar_norm``, tunable on
labelled incident pairs exactly as search's weights are on labelled queries (:meth:`SimilarFinder.score_pools` gives
the tuning grid its :class:`~sherlock.search.ranking.CandidatePool`). The incident itself is never a result.

    finder = SimilarFinder(workspace)
    response = finder.similar("JSP-1001", k=10)        # or an Incident that is not stored
    response.results[0].why                             # shared service, entities, terms, causes, days apart, fix
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from sherlock.config import Settings
from sherlock.run import Run, Scores
from sherlock.schema import Incident
from sherlock.search.causes import cause_classes, incident_causes, overlap
from sherlock.search.entities import boost_factor
from sherlock.search.fusion import RETRIEVERS, FusionConfig
from sherlock.search.normalise import normalize
from sherlock.search.ranking import CandidatePool, rank_pool, score_pool
from sherlock.search.searcher import Hit, SearchResponse
from sherlock.storage.snapshot import IndexSnapshot
from sherlock.storage.workspace import Workspace
from sherlock.text import informative_words, matched_terms

#: How many overlapping terms an explanation lists.
WHY_TERMS = 12
#: How many nearest past incidents vote on a new incident's cause classes (:func:`predicted_causes`; 5 chosen on the
#: development half of the IDDS split, from 3, 5, 10, 20, 40; benchmarks/bench_similar.py).
CAUSE_NEIGHBOURS = 5


@dataclass(frozen=True)
class IncidentQuery:
    """What one incident searches with: ``text`` (embedded when there is no stored ``vector``), ``terms`` (the
    lexical query), and the metadata its candidates are compared on."""

    id: str
    text: str
    terms: str
    entities: tuple[str, ...]
    service: str | None
    category: str | None
    created: date | None
    causes: frozenset[str]
    vector: np.ndarray | None = None


def incident_text(incident: Incident) -> str:
    """The incident's own words: title, description, and its root cause and resolution when known."""
    return "\n".join(part for part in (incident.title, incident.description, incident.root_cause,
                                       incident.resolution) if part)


def incident_query(incident: Incident, snapshot: IndexSnapshot, max_terms: int, stored: bool = False) -> IncidentQuery:
    """The query of ``incident`` against ``snapshot`` (``stored``: use its vector from the snapshot when it has one)."""
    text = incident_text(incident)
    parts = [(incident.title, 2.0), (f"{incident.description}\n{incident.root_cause}\n{incident.resolution}", 1.0),
             (" ".join(incident.tags), 1.0)]
    terms = " ".join(informative_words(parts, snapshot.tfidf.term_idf, max_terms))
    vector = snapshot.vector(incident.id) if stored else None
    return IncidentQuery(id=incident.id, text=text, terms=terms, entities=tuple(snapshot.entities.extract(text)),
                         service=incident.service, category=incident.category, created=incident.created_date(),
                         causes=cause_classes(incident.root_cause) if incident.root_cause else frozenset(),
                         vector=vector)


def predicted_causes(ranked: list[tuple[str, float]], causes: Mapping[str, frozenset[str]],
                     top: int = CAUSE_NEIGHBOURS) -> dict[str, float]:
    """The cause classes a new incident probably has, as shares summing to 1: its ``top`` nearest past incidents'
    classes (read from their root causes), weighted by their min-max normalised fused scores — a k-nearest-neighbour
    vote (pseudo-relevance feedback in the space of causes, after Rocchio 1971). A new incident's own words are a
    poor guide to its cause ("we will provide an update" is not a deploy); its neighbours' root causes are a good
    one: on the held-out IDDS split the vote gains more than the incident's own classes, which lose."""
    picked = ranked[:top]
    if not picked:
        return {}
    scores = np.array([score for _, score in picked])
    span = scores.max() - scores.min()
    weights = (scores - scores.min()) / span if span > 0 else np.ones(len(scores))
    votes: dict[str, float] = {}
    for (doc_id, _), weight in zip(picked, weights, strict=True):
        for name in causes.get(doc_id, ()):
            votes[name] = votes.get(name, 0.0) + float(weight)
    total = sum(votes.values())
    return {name: vote / total for name, vote in votes.items()} if total else {}


def cause_score(query: IncidentQuery, predicted: Mapping[str, float], doc_causes: frozenset[str]) -> float:
    """How much a past incident's cause classes agree with the query's: the Jaccard overlap when the query's root
    cause is known, else the predicted share of the past incident's classes (0..1 either way)."""
    if query.causes:
        return overlap(query.causes, doc_causes)
    if not doc_causes:
        return 0.0
    return sum(predicted.get(name, 0.0) for name in doc_causes) / len(doc_causes)


def factors(query: IncidentQuery, incident: Incident, shared_entities: int, cause_agreement: float,
            settings: Settings) -> float:
    """The metadata multiplier of one candidate: entity boost x same service x (1 + weight x cause agreement)."""
    factor = boost_factor(shared_entities, settings.entity_multiplier) if settings.entity_boost else 1.0
    if query.service and incident.service and query.service.lower() == incident.service.lower():
        factor *= settings.similar_service_boost
    return factor * (1.0 + settings.similar_cause_weight * cause_agreement)


def explain(query: IncidentQuery, incident: Incident, shared_entities: list[str],
            predicted: Mapping[str, float]) -> dict[str, Any]:
    """Why ``incident`` looks like the query's: what they share, how far apart they are, and what fixed it."""
    created = incident.created_date()
    days = abs((query.created - created).days) if query.created and created else None
    return {"service": _same(query.service, incident.service), "category": _same(query.category, incident.category),
            "entities": shared_entities, "terms": matched_terms(query.terms, incident.text())[:WHY_TERMS],
            "causes": sorted((query.causes or frozenset(predicted)) & incident_causes(incident)),
            "causes_predicted": not query.causes, "days_apart": days,
            "root_cause": incident.root_cause, "resolution": incident.resolution}


class SimilarFinder:
    """Finds the past incidents most like a given one, in one workspace (thread-safe, one snapshot per call)."""

    def __init__(self, workspace: Workspace, settings: Settings | None = None):
        self.workspace = workspace
        self.settings = settings or workspace.settings
        self._cause_memo: dict[str, frozenset[str]] = {}

    def config(self) -> FusionConfig:
        s = self.settings
        return FusionConfig(weights=tuple(s.similar_weights), method=s.similar_fusion, norm=s.similar_norm,
                            rrf_k=s.rrf_k)

    def similar(self, incident: str | Incident, k: int = 10) -> SearchResponse:
        """The ``k`` past incidents most like ``incident`` (a stored id, or an :class:`Incident` that need not be
        stored), best first, each with its :func:`explain`. An unknown id abstains with "not found"."""
        started = time.perf_counter()
        if k < 1:
            raise ValueError(f"k must be positive, got {k}")
        label = incident if isinstance(incident, str) else incident.id
        if isinstance(incident, str):
            stored_incident = self.workspace.store.get(incident)
            if stored_incident is None:
                return SearchResponse(label, "similar", True, 0.0, [], _ms(started),
                                      reason=f"not found: no incident {incident} in this workspace")
            incident, stored = stored_incident, True
        else:
            stored = self.workspace.store.get(incident.id) == incident
        snapshot = self.workspace.lexical_for(self.settings)
        query = incident_query(incident, snapshot, self.settings.similar_terms, stored)
        found = self._pool(snapshot, query, self.settings.candidates)
        pool, shared, incidents = found.scores, found.shared, found.incidents
        config = self.config()
        ranked = rank_pool(pool, config, k, found.prior)
        normalised = {name: normalize(pool[name], config.norm) if pool[name] else {} for name in RETRIEVERS}
        hits = []
        for doc_id, score in ranked:
            past = incidents.get(doc_id)
            if past is None:
                continue
            created = past.created_at.isoformat() if past.created_at else None
            hits.append(Hit(id=doc_id, title=past.title, score=round(float(score), 6),
                            scores={n: _round(normalised[n].get(doc_id)) for n in RETRIEVERS},
                            raw_scores={n: _round(pool[n].get(doc_id)) for n in RETRIEVERS},
                            entities=shared.get(doc_id, []), service=past.service, severity=past.severity,
                            category=past.category, created_at=created,
                            why=explain(query, past, shared.get(doc_id, []), found.predicted)))
        # confidence on search's 0..1 scale: the best match's cosine similarity (fused scores carry the factors)
        confidence = round(min(1.0, max(0.0, hits[0].raw_scores.get("dense") or 0.0)), 4) if hits else 0.0
        response = SearchResponse(label, "similar", not hits, confidence, hits, 0.0,
                                  reason=None if hits else "no other incident shares anything with this one",
                                  query_entities=list(query.entities))
        response.searched_for = query.terms
        response.settings = {**config.as_dict(), "k": k, "terms": self.settings.similar_terms}
        response.took_ms = _ms(started)
        return response

    def score_pools(self, incidents: Mapping[str, Incident], n: int | None = None,
                    progress: Callable[[int, int], None] | None = None) -> CandidatePool:
        """Every incident's candidate pool (itself excluded), scored by every retriever with its metadata factors —
        what tuning and batch ranking of this mode work on. Incidents that are stored with the same content use their
        stored vectors; the others are embedded in batches."""
        n = self.settings.candidates if n is None else n
        snapshot = self.workspace.lexical_for(self.settings)
        stored = self.workspace.store.get_many(incidents.keys())
        queries = {key: incident_query(incident, snapshot, self.settings.similar_terms,
                                       stored.get(incident.id) == incident) for key, incident in incidents.items()}
        missing = [key for key, query in queries.items() if query.vector is None]
        for start in range(0, len(missing), 64):
            batch = missing[start:start + 64]
            vectors = self.workspace.embedder.embed_queries([queries[key].text for key in batch])
            for key, vector in zip(batch, vectors, strict=True):
                queries[key] = _with_vector(queries[key], vector)
        pools, priors, matches = [], [], []
        for number, query in enumerate(queries.values(), start=1):
            found = self._pool(snapshot, query, n)
            pools.append(found.scores)
            priors.append(found.prior)
            matches.append({doc_id: len(names) for doc_id, names in found.shared.items()})
            if progress and (number % 16 == 0 or number == len(queries)):
                progress(number, len(queries))
        settings = self.settings.model_copy(update={"entity_boost": False, "coverage_weight": 0.0})
        return CandidatePool.from_pools({key: q.terms for key, q in queries.items()}, pools, matches, settings, n,
                                        snapshot.revision, prior=priors)

    def rank(self, incidents: Mapping[str, Incident], k: int = 100,
             progress: Callable[[int, int], None] | None = None) -> Run:
        """Batch ranking for evaluation: each incident's ``k`` most similar past incidents (itself excluded)."""
        settings = self.settings.model_copy(update={"weights": self.settings.similar_weights,
                                                    "fusion": self.settings.similar_fusion,
                                                    "norm": self.settings.similar_norm,
                                                    "entity_boost": False, "coverage_weight": 0.0})
        return self.score_pools(incidents, max(k, self.settings.candidates), progress).rank(settings, k)

    def _pool(self, snapshot: IndexSnapshot, query: IncidentQuery, n: int) -> Pool:
        """One incident's pool without itself, with each candidate's metadata multiplier (:func:`factors`)."""
        vector = query.vector
        if vector is None:
            vector = self.workspace.embedder.embed_query(query.text)
        dense_top = self.workspace.dense_top(snapshot, np.asarray(vector)[None, :], n + 1, None,
                                             self.settings.dense_exact_max)[0]
        bm25_top = snapshot.bm25.search(query.terms, n + 1)
        tfidf_top = snapshot.tfidf.search(query.terms, n + 1)
        for top in (dense_top, bm25_top, tfidf_top):
            top.pop(query.id, None)
        pool = score_pool(snapshot, query.terms, vector, n, None, dense_top, bm25_top, tfidf_top)
        pool = {name: {d: s for d, s in scores.items() if d != query.id} for name, scores in pool.items()}
        ids = set().union(*pool.values())
        shared = snapshot.entities.matches(ids, list(query.entities))
        incidents = self.workspace.store.get_many(ids)
        causes = {doc_id: self._causes(incident) for doc_id, incident in incidents.items()}
        # the multipliers without the cause term (factors at agreement 0): what ranks the cause vote's neighbours
        base = {doc_id: factors(query, incident, len(shared.get(doc_id, [])), 0.0, self.settings)
                for doc_id, incident in incidents.items()}
        predicted: dict[str, float] = {}
        if not query.causes:  # a new incident: its nearest neighbours vote on its cause
            predicted = predicted_causes(rank_pool(pool, self.config(), CAUSE_NEIGHBOURS, base), causes,
                                         CAUSE_NEIGHBOURS)
        weight = self.settings.similar_cause_weight
        prior = {doc_id: factor * (1.0 + weight * cause_score(query, predicted, causes[doc_id]))
                 for doc_id, factor in base.items()}
        return Pool(pool, prior, shared, incidents, predicted)

    def _causes(self, incident: Incident) -> frozenset[str]:
        """:func:`incident_causes`, memoised by content (a pool re-reads the same past incidents query after query)."""
        key = incident.content_hash()
        found = self._cause_memo.get(key)
        if found is None:
            if len(self._cause_memo) > 200_000:
                self._cause_memo.clear()
            found = self._cause_memo[key] = incident_causes(incident)
        return found


@dataclass
class Pool:
    """One incident's candidate pool (raw scores per retriever), each candidate's multiplier, the entities it
    shares, the candidates themselves and the query's predicted cause classes (empty when its root cause is known)."""

    scores: dict[str, Scores]
    prior: dict[str, float]
    shared: dict[str, list[str]]
    incidents: dict[str, Incident]
    predicted: dict[str, float]


def _same(a: str | None, b: str | None) -> str | None:
    """``a`` when both are given and equal ignoring case."""
    return a if a and b and a.lower() == b.lower() else None


def _with_vector(query: IncidentQuery, vector: np.ndarray) -> IncidentQuery:
    from dataclasses import replace
    return replace(query, vector=np.asarray(vector, dtype=np.float32))


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)

