"""Grounded answers: a short plain-text answer built only from the retrieved incidents, every sentence citing them.

Two providers, one contract (every sentence ends with ``[ID]`` citations of retrieved incidents; an abstained search
answers "No matching past incident." and cites nothing):

- ``extractive`` (offline, deterministic, the default without a key): what matched, then the root cause (or the
  description's most informative sentence, labelled as what happened) and the resolution of the best one to three
  incidents, quoted and trimmed at sentence boundaries. "Why / common / causes / usually ..." questions with several
  close results get a synthesis: the causes and the fixes recorded across the top incidents.
- ``gemini`` (``google-genai``, when a key is set or a client is injected): the retrieved incidents are the only
  context, each in a fenced data block; the output is post-checked so only retrieved ids stay cited. Any failure
  (error, timeout, empty or uncited output) falls back to the extractive answer with a visible ``note``.

    answer = Answerer(searcher).ask("why do refunds fail?")
    print(answer.answer, answer.citations)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sherlock.answer.extractive import NO_MATCH, extractive_answer, group_hits
from sherlock.answer.gemini import (
    SYSTEM_INSTRUCTION,
    TEMPERATURE,
    GeminiAnswerer,
    GeminiUnavailable,
    build_prompt,
    fence,
    ground,
)
from sherlock.config import Settings
from sherlock.search.searcher import Searcher, SearchResponse, find_ticket_ids
from sherlock.storage.store import Filters

#: How deep a question's search reaches before its results are grouped by cause (k groups are kept).
ANSWER_DEPTH = 20

__all__ = ["NO_MATCH", "SYSTEM_INSTRUCTION", "TEMPERATURE", "Answer", "Answerer", "GeminiUnavailable", "build_prompt",
           "extractive_answer", "fence", "ground"]


@dataclass
class Answer:
    """A grounded answer; ``answer`` is plain text whose every sentence ends with ``[ID]`` citation(s)."""

    question: str
    answer: str
    citations: list[str]
    abstained: bool
    provider: str
    took_ms: float
    note: str | None = None
    removed_citations: list[str] = field(default_factory=list)
    search: SearchResponse | None = None
    #: the results' ids grouped by cause (:func:`sherlock.answer.extractive.group_hits`), best group first
    groups: list[list[str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """What ``sherlock ask --json`` prints."""
        return {"question": self.question, "answer": self.answer, "citations": self.citations,
                "abstained": self.abstained, "provider": self.provider, "took_ms": self.took_ms, "note": self.note,
                "removed_citations": self.removed_citations, "groups": self.groups,
                "results": [asdict(hit) for hit in self.search.results] if self.search else []}


class Answerer:
    """Answers questions over one workspace's search. Thread-safe; ``gemini_client`` may be injected (tests pass a
    fake with ``.models.generate_content``); ``settings`` defaults to ``searcher.settings``."""

    def __init__(self, searcher: Searcher, gemini_client: Any = None, settings: Settings | None = None):
        self.searcher = searcher
        self.settings = settings or searcher.settings
        self._gemini = GeminiAnswerer(self.settings, gemini_client)

    def ask(self, question: str, k: int = 5, filters: Filters | None = None, **search_options: Any) -> Answer:
        """Search (``k`` results, ``filters`` and any ``Searcher.search`` option), then answer from what was found."""
        started = time.perf_counter()
        # reach further than k, so near-duplicates can be grouped and k groups still show k different causes
        depth = k if find_ticket_ids(question) else max(k, ANSWER_DEPTH)
        response = self.searcher.search(question, k=depth, filters=filters, **search_options)
        incidents = self.searcher.workspace.store.get_many(hit.id for hit in response.results)
        groups = group_hits(response.results, incidents)[:k] if response.strategy == "hybrid" else \
            [[hit] for hit in response.results]
        kept = {hit.id for group in groups for hit in group}
        response.results = [hit for hit in response.results if hit.id in kept]
        provider, text = "extractive", None
        removed: list[str] = []
        use_gemini, note = self._gemini_wanted(response)
        if use_gemini:
            try:
                retrieved = [incidents[hit.id] for hit in response.results if hit.id in incidents]
                text, citations, removed, note = self._gemini.answer(question, retrieved)
                provider = "gemini"
            except GeminiUnavailable as exc:
                note = f"Gemini unavailable ({self._gemini.redact(str(exc))}); showing the offline answer"
                removed = exc.removed
        if text is None:
            text, citations = extractive_answer(question, response, incidents)
        if not response.abstained and response.reason:  # e.g. "not found: JIRA-9999" next to an id that was found
            note = f"{note}; {response.reason}" if note else response.reason
        took = round((time.perf_counter() - started) * 1000, 2)
        return Answer(question, text, citations, response.abstained, provider, took, note, removed, response,
                      [[hit.id for hit in group] for group in groups])

    # -- Gemini ------------------------------------------------------------------------------------------------

    def _gemini_wanted(self, response: SearchResponse) -> tuple[bool, str | None]:
        mode = self.settings.answer_provider
        key = self.settings.gemini_api_key
        available = self._gemini.client is not None or bool(key and key.get_secret_value())
        if mode == "extractive" or response.abstained or not response.results:
            return False, None
        if mode == "gemini" and not available:
            return False, ("Gemini unavailable (no API key: set SHERLOCK_GEMINI_API_KEY or GEMINI_API_KEY); "
                           "showing the offline answer")
        return available, None
