"""The search pipeline: exact ticket ids first, otherwise hybrid retrieval (dense + BM25 + TF-IDF, fused), metadata
filters on all three retrievers, an entity-aware boost, calibrated abstention and an explanation per result.

Exact ids are read from the store of record on every query, never from a cache, so an incident ingested a second ago
is found, and an id that is not there gets an honest "not found" instead of a look-alike.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from functools import cached_property
from typing import Any

from sherlock.config import Settings
from sherlock.run import Run, Scores
from sherlock.schema import Incident
from sherlock.search.abstain import Evidence, decide, weighted_coverage
from sherlock.search.fusion import RETRIEVERS, FusionConfig
from sherlock.search.normalise import normalize
from sherlock.search.pasted import condense
from sherlock.search.ranking import CandidatePool, boosts, rank_pool, score_pool
from sherlock.storage.snapshot import IndexSnapshot
from sherlock.storage.store import Filters
from sherlock.storage.workspace import Workspace
from sherlock.text import matched_terms

#: Incident ids as people type them, in one pattern so they come out in the order they were written:
#: ``owner/repo#12`` (GitHub), ``SP-<id>`` (Statuspage), ``KEY-123`` (Jira ``OPS-123``, incident.io ``INC-123``,
#: PagerDuty ``PD-123``, Opsgenie ``OG-5``, Rootly ``RLY-11``, FireHydrant ``FH-3``, ``GH-12``; a project key may hold
#: digits, ``AB2-7``) and ``INC0010001`` (ServiceNow: 2-5 capitals, 6-10 digits; capitals only, so that log tokens
#: such as ``tx1234567`` stay words). Not a ticket when it continues with letters (``JSP-12ab``).
TICKET_ID = re.compile(r"""(?<![\w\-/#.])(
      [A-Za-z0-9][\w.-]*/[\w.-]+\#\d+        # GitHub owner/repo#12
    | SP-[A-Za-z0-9]{6,}(?=[^\w]|$)           # Statuspage SP-p31zjtct2jer
    | [A-Za-z][A-Za-z0-9]*-\d+                # Jira-style keys
    | [A-Z]{2,5}\d{6,10}                       # ServiceNow numbers, in capitals as ServiceNow shows them
)(?!\w)""", re.VERBOSE)
#: Id-shaped technical terms that are not tickets (``SHA-256``, ``UTF-8``, ``TLS-1``, ``SEV-1``); a key's trailing
#: digits are ignored in the check (``IPv4-1`` is ``ipv``).
NOT_TICKET_PREFIXES = {"sha", "aes", "utf", "iso", "tls", "ssl", "http", "https", "rfc", "pkcs", "md", "x", "cve",
                       "rsa", "ipv", "sev", "p", "tcp", "udp", "es", "hs", "rs", "ecdsa", "gzip", "log4j"}


def find_ticket_ids(query: str) -> list[str]:
    """Id-shaped tokens in ``query`` (``JSP-1052``, ``jira-9999``, ``INC0010001``, ``acme/api#12``; see
    :data:`TICKET_ID`), upper-cased (the store matches ids ignoring case), in order, without repeats."""
    found = []
    for match in TICKET_ID.finditer(query):
        token = match.group(1)
        if "/" in token or token.split("-")[0].lower().rstrip("0123456789") not in NOT_TICKET_PREFIXES:
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
    #: similar-incidents mode only: why this past incident looks like the one asked about
    #: (:func:`sherlock.search.similar.explain`)
    why: dict[str, Any] | None = None


@dataclass
class SearchResponse:
    """What ``sherlock search --json`` prints; ``results`` are nearest misses (flagged) when ``abstained``.
    ``filter_suggestions``: when the filters match no incident, the stored values to try per filter key."""

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
    filter_suggestions: dict[str, list[str]] = field(default_factory=dict)
    #: what was searched when the query was a pasted log or stack trace (:func:`sherlock.search.pasted.condense`)
    searched_for: str | None = None
    #: the query's embedding (hybrid searches only), for the query log's drift statistic; not part of the JSON
    query_vector: Any = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "query_vector"}


class Searcher:
    """Searches one workspace. Thread-safe for concurrent queries; notices new ingests by the store revision.

    ``settings`` (default: the workspace's) may differ from the workspace's in anything but the embedding model — an
    A/B arm's weights, pool size, boost, abstention or BM25 parameters (BM25 is then refitted in memory)."""

    def __init__(self, workspace: Workspace, settings: Settings | None = None):
        self.workspace = workspace
        self.settings = settings or workspace.settings
        if self.settings.embedder != workspace.settings.embedder:
            workspace.lexical_for(self.settings)  # raises, saying what to do

    @cached_property
    def similar_finder(self) -> Any:
        """The :class:`sherlock.search.similar.SimilarFinder` with these settings, kept (its cause classes are
        memoised by content across calls)."""
        from sherlock.search.similar import SimilarFinder  # similar builds on this module
        return SimilarFinder(self.workspace, self.settings)

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
        condensed = condense(query)
        ids = find_ticket_ids(condensed)
        if ids:
            response = self._exact(query, ids, k)
        else:
            response = self._hybrid(condensed, k, filters, config, entity_boost, pasted=condensed != query)
            response.query = query
        if condensed != query:
            response.searched_for = condensed
        response.settings = {**config.as_dict(), "entity_boost": self._boost_on(entity_boost), "k": k}
        response.filters = filters.as_dict()
        response.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return response

    # -- exact ids ---------------------------------------------------------------------------------------------

    def _exact(self, query: str, ids: list[str], k: int) -> SearchResponse:
        """The named incidents as stored, then (up to ``k``) the incidents most similar to the first of them
        (:class:`sherlock.search.similar.SimilarFinder`), flagged ``related``."""
        store = self.workspace.store
        found = [incident for incident in (store.get(i) for i in ids) if incident is not None]
        missing = [i for i in ids if i not in {incident.id.upper() for incident in found}]
        if not found:
            return SearchResponse(query, "exact_id", True, 0.0, [], 0.0,
                                  reason=f"not found: no incident {', '.join(missing)} in this workspace")
        hits = [_hit(incident, 1.0, {}, {}) for incident in found]
        if len(hits) < k:  # what else looks like it: its similar incidents, flagged as related
            similar = self.similar_finder.similar(found[0], k + len(hits))
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
                   snapshot: IndexSnapshot | None = None, vector: Any = None) -> dict[str, Scores]:
        """Raw scores of every retriever over one query's candidate pool (:func:`sherlock.search.ranking.score_pool`,
        each retriever's top ``n`` with ``n`` = max(k, the pool size setting)); ``vector``: the query's embedding,
        when the caller has it."""
        vector = self.workspace.embedder.embed_query(query) if vector is None else vector
        snapshot = snapshot or self.snapshot()
        dense_top = self.workspace.dense_top(snapshot, vector[None, :], self._n(k), allowed,
                                             self.settings.dense_exact_max)[0]
        return score_pool(snapshot, query, vector, self._n(k), allowed, dense_top)

    def _n(self, k: int) -> int:
        return max(k, self.settings.candidates)

    def score_pools(self, queries: dict[str, str], n: int | None = None, filters: Filters | None = None,
                    progress: Callable[[int, int], None] | None = None, batch_size: int = 64) -> CandidatePool:
        """Every query's candidate pool, scored once by every retriever (the slow step of batch ranking, tuning and
        A/B): queries embedded and searched in batches of ``batch_size``, ``progress(done, total)`` after each batch.
        ``n`` is each retriever's pool size (default: the ``candidates`` setting)."""
        n = self.settings.candidates if n is None else n
        if n < 1:
            raise ValueError(f"n (the per-retriever pool size) must be positive, got {n}")
        filters = filters or Filters()
        allowed = None if filters.is_empty() else self.workspace.store.filter_ids(filters)
        snapshot = self.snapshot()
        texts = [condense(text) for text in queries.values()]
        pools: list[dict[str, Scores]] = []
        matches: list[dict[str, int]] = []
        coverage: list[dict[str, float]] = []
        for start in range(0, len(texts), batch_size):
            batch = texts[start:start + batch_size]
            vectors = self.workspace.embedder.embed_queries(batch)
            dense_top = self.workspace.dense_top(snapshot, vectors, n, allowed, self.settings.dense_exact_max)
            bm25_top = snapshot.bm25.search_many(batch, n, allowed)
            tfidf_top = snapshot.tfidf.search_many(batch, n, allowed)
            for i, text in enumerate(batch):
                pool = score_pool(snapshot, text, vectors[i], n, allowed, dense_top[i], bm25_top[i], tfidf_top[i])
                pools.append(pool)
                found = snapshot.entities.matches(set().union(*pool.values()), snapshot.entities.extract(text))
                matches.append({doc_id: len(shared) for doc_id, shared in found.items()})
                coverage.append(_coverage(snapshot, text, pool))
            if progress:
                progress(min(start + batch_size, len(texts)), len(texts))
        return CandidatePool.from_pools(queries, pools, matches, self.settings, n, snapshot.revision, coverage)

    def _hybrid(self, query: str, k: int, filters: Filters, config: FusionConfig,
                entity_boost: bool | None, pasted: bool = False) -> SearchResponse:
        if not query.strip():
            return SearchResponse(query, "hybrid", True, 0.0, [], 0.0, reason="empty query")
        allowed = None if filters.is_empty() else self.workspace.store.filter_ids(filters)
        if allowed is not None and not allowed:
            return filters_match_nothing(query, filters, self.workspace.store.filter_suggestions(filters))
        snapshot = self.snapshot()
        vector = self.workspace.embedder.embed_query(query)
        raw = self.candidates(query, k, allowed, snapshot, vector)
        entities = snapshot.entities
        query_entities = entities.extract(query)
        matched_entities = entities.matches(set().union(*raw.values()), query_entities)
        entity_on = self._boost_on(entity_boost)
        coverage = _coverage(snapshot, query, raw)
        boost = boosts({d: len(m) for d, m in matched_entities.items()}, entity_on, self.settings.entity_multiplier,
                       coverage, self.settings.coverage_weight)
        if not entity_on or self.settings.entity_multiplier == 1.0:
            matched_entities = {}
        ranked = rank_pool(raw, config, k, boost)
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
        top = [hit.id for hit in hits[:3]]
        # the pool's coverage is the abstention's too, but for a pasted log, which leaves unknown terms out
        found = (weighted_coverage(query, top, snapshot.tfidf, pasted=True) if pasted
                 else max((coverage.get(doc_id, 0.0) for doc_id in top), default=0.0))
        evidence = Evidence(dense_top=max(raw["dense"].values(), default=0.0), coverage=found)
        verdict = decide(evidence, self.settings)
        for hit in hits:
            hit.nearest_miss = verdict.abstain
        return SearchResponse(query, "hybrid", verdict.abstain, verdict.confidence, hits, 0.0,
                              reason=verdict.reason, query_entities=query_entities,
                              evidence={"dense_top": round(evidence.dense_top, 4),
                                        "coverage": round(evidence.coverage, 4)}, query_vector=vector)

    # -- batch -------------------------------------------------------------------------------------------------

    def rank(self, queries: dict[str, str], k: int = 100, filters: Filters | None = None,
             weights: Sequence[float] | None = None, fusion: str | None = None, norm: str | None = None,
             entity_boost: bool | None = None) -> Run:
        """Batch hybrid ranking in one process for evaluation: every query ranked, even where ``search`` would
        abstain. The pools are scored in batches (:meth:`score_pools`), then ranked as ``search`` ranks."""
        config = self.fusion_config(weights, fusion, norm)
        settings = self.settings.model_copy(update={"weights": config.weights, "fusion": config.method,
                                                    "norm": config.norm, "entity_boost": self._boost_on(entity_boost)})
        return self.score_pools(queries, self._n(k), filters).rank(settings, k)


def filters_match_nothing(query: str, filters: Filters, suggestions: dict[str, list[str]]) -> SearchResponse:
    """The abstention when no stored incident matches ``filters``: the reason names the filters and, per key that
    matches nothing, the values to try (``suggestions``, from :meth:`sherlock.storage.store.Store.filter_suggestions`).
    """
    shown = ", ".join(f"{key}={','.join(value) if isinstance(value, list) else value}"
                      for key, value in filters.as_dict().items())
    parts = []
    for key, values in suggestions.items():
        if key == "date":
            span = f" (incidents span {' … '.join(values)})" if values else ""
            parts.append(f"no incident created in that date range{span}")
        else:
            wanted = " or ".join(getattr(filters, key))
            hint = f"did you mean {', '.join(values)}?" if values else f"no incident has a {key}"
            parts.append(f"no {key} {wanted} ({hint})")
    why = "; ".join(parts) or "each matches some incidents, but none matches them all: drop or widen one"
    return SearchResponse(query, "hybrid", True, 0.0, [], 0.0, reason=f"no incident matches the filters {shown}: {why}",
                          filter_suggestions=suggestions)


def _coverage(snapshot: IndexSnapshot, query: str, pool: dict[str, Scores]) -> dict[str, float]:
    """Each pool document's term coverage of ``query`` (for the coverage factor of the ranking path)."""
    ids = list(set().union(*pool.values()))
    return dict(zip(ids, snapshot.tfidf.coverage(query, ids).tolist(), strict=True))


def _hit(incident: Incident, score: float, raw: dict[str, float | None],
         normalised: dict[str, float | None]) -> Hit:
    created = incident.created_at.isoformat() if incident.created_at else None
    return Hit(id=incident.id, title=incident.title, score=round(float(score), 6),
               scores={n: _round(normalised.get(n)) for n in RETRIEVERS},
               raw_scores={n: _round(raw.get(n)) for n in RETRIEVERS},
               service=incident.service, severity=incident.severity, category=incident.category, created_at=created)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` of one field's value (hits are dataclasses in a list)."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else value
