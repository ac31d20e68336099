"""The search pipeline: exact ticket ids first, otherwise hybrid retrieval (dense + BM25 + TF-IDF, fused), metadata
filters on all three retrievers, an entity-aware boost, calibrated abstention and an explanation per result.

Exact ids are read from the store of record on every query, never from a cache, so an incident ingested a second ago
is found, and an id that is not there gets an honest "not found" instead of a look-alike.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sherlock.search.abstain import Evidence, decide
from sherlock.config import Settings
from sherlock.search.fusion import FusionConfig, fuse_scores, normalize
from sherlock.run import Run, Scores, top_k
from sherlock.schema import Incident
from sherlock.storage.store import Filters
from sherlock.text import matched_terms, query_terms, tokenize
from sherlock.storage.workspace import IndexSnapshot, Workspace

RETRIEVERS = ("dense", "bm25", "tfidf")
#: ``ABC-123``: letters, a dash, digits — a ticket id, unless it continues with letters (``JSP-12ab``).
TICKET_ID = re.compile(r"(?<![A-Za-z0-9_\-])([A-Za-z]+-\d+)(?![A-Za-z0-9_])")
#: Id-shaped technical terms that are not tickets (``SHA-256``, ``UTF-8``, ``TLS-1``, ``SEV-1``).
NOT_TICKET_PREFIXES = {"sha", "aes", "utf", "iso", "tls", "ssl", "http", "https", "rfc", "pkcs", "md", "x", "cve",
                       "rsa", "ipv", "sev", "p", "tcp", "udp", "es", "hs", "rs", "ecdsa", "gzip", "log4j"}


def find_ticket_ids(query: str) -> list[str]:
    """Ticket-shaped tokens in ``query`` (``JSP-1052``, ``jira-9999``), upper-cased, in order, without repeats."""
    found = []
    for match in TICKET_ID.finditer(query):
        token = match.group(1)
        if token.split("-")[0].lower() not in NOT_TICKET_PREFIXES:
            found.append(token.upper())
    return list(dict.fromkeys(found))


@dataclass
class Hit:
    """One result with its explanation: each retriever's raw and normalised score, matched terms and entities."""

    id: str
    title: str
    score: float
    scores: dict[str, float | None]
    raw_scores: dict[str, float | None]
    matched_terms: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    service: str | None = None
    severity: str | None = None
    category: str | None = None
    created_at: str | None = None
    nearest_miss: bool = False
    related: bool = False


@dataclass
class SearchResponse:
    """What ``sherlock search --json`` prints; ``results`` are nearest misses (flagged) when ``abstained``."""

    query: str
    strategy: str
    abstained: bool
    confidence: float
    results: list[Hit]
    took_ms: float
    reason: str | None = None
    query_entities: list[str] = field(default_factory=list)
    evidence: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Searcher:
    """Searches one workspace. Thread-safe for concurrent queries; notices new ingests by the store revision.

    ``settings`` (default: the workspace's) may differ from the workspace's in anything but the embedding model — an
    A/B arm's weights, pool size, boost, abstention or BM25 parameters (BM25 is then refitted in memory)."""

    def __init__(self, workspace: Workspace, settings: Settings | None = None):
        self.workspace = workspace
        self.settings = settings or workspace.settings
        if self.settings.embedder != workspace.settings.embedder:
            workspace.lexical_for(self.settings)  # raises, saying what to do

    def snapshot(self) -> IndexSnapshot:
        """The index snapshot this searcher reads (one per query, even if an ingest lands meanwhile)."""
        return self.workspace.lexical_for(self.settings)

    def fusion_config(self, weights: Sequence[float] | None = None, method: str | None = None,
                      norm: str | None = None) -> FusionConfig:
        s = self.settings
        return FusionConfig(weights=tuple(weights or s.weights), method=method or s.fusion, norm=norm or s.norm,
                            rrf_k=s.rrf_k)

    def search(self, query: str, k: int = 10, filters: Filters | None = None, weights: Sequence[float] | None = None,
               fusion: str | None = None, norm: str | None = None, entity_boost: bool | None = None,
               ) -> SearchResponse:
        """Answer one query: exact ticket id(s) if the query names any, else hybrid search with abstention."""
        started = time.perf_counter()
        filters = filters or Filters()
        config = self.fusion_config(weights, fusion, norm)
        ids = find_ticket_ids(query)
        if ids:
            response = self._exact(query, ids, k, config)
        else:
            response = self._hybrid(query, k, filters, config, entity_boost)
        response.settings = {**config.as_dict(), "entity_boost": self._boost_on(entity_boost), "k": k}
        response.filters = filters.as_dict()
        response.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return response

    # -- exact ids ---------------------------------------------------------------------------------------------

    def _exact(self, query: str, ids: list[str], k: int, config: FusionConfig) -> SearchResponse:
        store = self.workspace.store
        found = [incident for incident in (store.get(i) for i in ids) if incident is not None]
        missing = [i for i in ids if i not in {incident.id.upper() for incident in found}]
        if not found:
            return SearchResponse(query, "exact_id", True, 1.0, [], 0.0,
                                  reason=f"no incident {', '.join(missing)} in this workspace")
        hits = [_hit(incident, 1.0, {}, {}) for incident in found]
        if len(hits) < k:  # what else looks like it: related incidents, flagged as such
            similar = self._hybrid(found[0].title, k + len(hits), Filters(), config, None)
            known = {hit.id for hit in hits}
            for hit in similar.results:
                if hit.id not in known and len(hits) < k:
                    hit.related, hit.nearest_miss = True, False
                    hits.append(hit)
        reason = f"not found: {', '.join(missing)}" if missing else None
        return SearchResponse(query, "exact_id", False, 1.0, hits, 0.0, reason=reason)

    # -- hybrid ------------------------------------------------------------------------------------------------

    def _boost_on(self, entity_boost: bool | None) -> bool:
        return self.settings.entity_boost if entity_boost is None else entity_boost

    def candidates(self, query: str, k: int, allowed: set[str] | None,
                   snapshot: IndexSnapshot | None = None) -> dict[str, Scores]:
        """Raw scores of every retriever over one candidate pool: the union of each retriever's top ``n``
        (``n`` = max(k, the pool size setting)), each pool document scored exactly by all three — a document with no
        lexical match scores 0 for BM25 and TF-IDF rather than being "missing"."""
        vector = self.workspace.embedder.embed_query(query)
        dense_top = self.workspace.dense.search_vectors(vector[None, :], self._n(k), allowed)[0]
        return self._pool(snapshot or self.snapshot(), query, vector, k, allowed, dense_top)

    def _n(self, k: int) -> int:
        return max(k, self.settings.candidates)

    def _pool(self, snapshot: IndexSnapshot, query: str, vector: Any, k: int, allowed: set[str] | None,
              dense_top: Scores, bm25_top: Scores | None = None, tfidf_top: Scores | None = None,
              ) -> dict[str, Scores]:
        n = self._n(k)
        bm25_top = snapshot.bm25.search(query, n, allowed) if bm25_top is None else bm25_top
        tfidf_top = snapshot.tfidf.search(query, n, allowed) if tfidf_top is None else tfidf_top
        pool = list(dict.fromkeys([*dense_top, *bm25_top, *tfidf_top]))
        dense = {**snapshot.dense_scores(vector, [d for d in pool if d not in dense_top]), **dense_top}
        bm25 = dict.fromkeys(pool, 0.0) | snapshot.bm25.score(query, [d for d in pool if d not in bm25_top]) | bm25_top
        tfidf = dict.fromkeys(pool, 0.0) | snapshot.tfidf.score(query, [d for d in pool if d not in tfidf_top]) \
            | tfidf_top
        return {"dense": {d: dense[d] for d in pool if d in dense}, "bm25": bm25, "tfidf": tfidf}

    def _hybrid(self, query: str, k: int, filters: Filters, config: FusionConfig,
                entity_boost: bool | None) -> SearchResponse:
        if not query.strip():
            return SearchResponse(query, "hybrid", True, 0.0, [], 0.0, reason="empty query")
        allowed = None if filters.is_empty() else self.workspace.store.filter_ids(filters)
        snapshot = self.snapshot()
        raw = self.candidates(query, k, allowed, snapshot)
        fused = fuse_scores([raw[name] for name in RETRIEVERS], config.weights, method=config.method,
                            norm=config.norm, rrf_k=config.rrf_k)
        entities = snapshot.entities
        query_entities = entities.extract(query)
        matched_entities: dict[str, list[str]] = {}
        if self._boost_on(entity_boost):
            fused, matched_entities = entities.boost(fused, query_entities, self.settings.entity_multiplier)
        ranked = top_k(fused, k)
        normalised = {name: normalize(raw[name], config.norm) if raw[name] else {} for name in RETRIEVERS}
        incidents = self.workspace.store.get_many(doc_id for doc_id, _ in ranked)
        hits = []
        for doc_id, score in ranked:
            incident = incidents.get(doc_id)
            if incident is None:  # an index a moment ahead of or behind the store: never show a ghost
                continue
            hit = _hit(incident, score, {n: raw[n].get(doc_id) for n in RETRIEVERS},
                       {n: normalised[n].get(doc_id) for n in RETRIEVERS})
            hit.matched_terms = matched_terms(query, incident.text())
            hit.entities = matched_entities.get(doc_id, [])
            hits.append(hit)
        evidence = Evidence(dense_top=max(raw["dense"].values(), default=0.0),
                            coverage=weighted_coverage(query, [incidents[h.id] for h in hits[:3]],
                                                       snapshot.tfidf))
        verdict = decide(evidence, self.settings)
        for hit in hits:
            hit.nearest_miss = verdict.abstain
        return SearchResponse(query, "hybrid", verdict.abstain, verdict.confidence, hits, 0.0,
                              reason=verdict.reason, query_entities=query_entities,
                              evidence={"dense_top": round(evidence.dense_top, 4),
                                        "coverage": round(evidence.coverage, 4)})

    # -- batch -------------------------------------------------------------------------------------------------

    def rank(self, queries: dict[str, str], k: int = 100, filters: Filters | None = None,
             weights: Sequence[float] | None = None, fusion: str | None = None, norm: str | None = None,
             entity_boost: bool | None = None) -> Run:
        """Batch hybrid ranking in one process for evaluation: every query ranked, even where ``search`` would
        abstain. Query embeddings and BM25 are computed in batches."""
        config = self.fusion_config(weights, fusion, norm)
        filters = filters or Filters()
        allowed = None if filters.is_empty() else self.workspace.store.filter_ids(filters)
        qids, texts = list(queries), list(queries.values())
        snapshot = self.snapshot()
        n = self._n(k)
        vectors = self.workspace.embedder.embed(texts) if texts else []
        dense_top = self.workspace.dense.search_vectors(vectors, n, allowed) if texts else []
        bm25_top = snapshot.bm25.search_many(texts, n, allowed)
        tfidf_top = snapshot.tfidf.search_many(texts, n, allowed)
        per_query = [self._pool(snapshot, texts[i], vectors[i], k, allowed, dense_top[i], bm25_top[i], tfidf_top[i])
                     for i in range(len(texts))]
        run: Run = {}
        for i, qid in enumerate(qids):
            fused = fuse_scores([per_query[i][name] for name in RETRIEVERS], config.weights,
                                method=config.method, norm=config.norm, rrf_k=config.rrf_k)
            if self._boost_on(entity_boost):
                fused, _ = snapshot.entities.boost(fused, snapshot.entities.extract(texts[i]),
                                                   self.settings.entity_multiplier)
            run[qid] = dict(top_k(fused, k))
        return run


def _hit(incident: Incident, score: float, raw: dict[str, float | None],
         normalised: dict[str, float | None]) -> Hit:
    created = incident.created_at.isoformat() if incident.created_at else None
    return Hit(id=incident.id, title=incident.title, score=round(float(score), 6),
               scores={n: _round(normalised.get(n)) for n in RETRIEVERS},
               raw_scores={n: _round(raw.get(n)) for n in RETRIEVERS},
               service=incident.service, severity=incident.severity, category=incident.category, created_at=created)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _idf_weights(tfidf: Any, terms: set[str]) -> dict[str, float]:
    """Each term's IDF in the TF-IDF index; terms the corpus never uses get the largest IDF."""
    vectorizer = getattr(tfidf, "vectorizer_", None)
    if vectorizer is None:
        return dict.fromkeys(terms, 1.0)
    vocabulary, idf = vectorizer.vocabulary_, vectorizer.idf_
    rarest = float(idf.max())
    return {term: float(idf[vocabulary[term]]) if term in vocabulary else rarest for term in terms}


def weighted_coverage(query: str, incidents: Sequence[Incident], tfidf: Any) -> float:
    """The largest IDF-weighted share of the query's content terms found in one of ``incidents`` (lexical evidence
    for abstention). A term no incident uses weighs as much as the rarest term in the corpus."""
    terms = set(query_terms(query))
    if not terms or not incidents:
        return 0.0
    weights = _idf_weights(tfidf, terms)
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return max(sum(weights[t] for t in terms & set(tokenize(incident.text()))) / total for incident in incidents)
