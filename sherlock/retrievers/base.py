"""The retriever contract, scikit-learn style: hyper-parameters in ``__init__``, ``fit(incidents)`` returns ``self``,
learned state ends in ``_``; ``search`` ranks the corpus, ``score`` scores given documents.

Every retriever returns raw scores as ``{doc_id: score}`` (higher is better); fusion normalises them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Self

from sherlock.run import Scores
from sherlock.schema import Incident

#: How many times each field's text is repeated in the lexical document (a simple, well-understood field weighting).
DEFAULT_FIELD_WEIGHTS: dict[str, int] = {"title": 2, "description": 1, "root_cause": 1, "resolution": 1, "tags": 2}


def weighted_text(incident: Incident, field_weights: dict[str, int] | None = None) -> str:
    """The incident's indexed text with each field repeated by its weight (0 leaves a field out)."""
    weights = DEFAULT_FIELD_WEIGHTS if field_weights is None else field_weights
    parts: list[str] = []
    for field, weight in weights.items():
        value = getattr(incident, field)
        text = " ".join(value) if isinstance(value, list) else (value or "")
        if text:
            parts.extend([text] * int(weight))
    return "\n".join(parts)


class Retriever(ABC):
    """Base class of the dense, BM25 and TF-IDF retrievers."""

    name: str = "retriever"

    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters as a flat dict (what MLflow's ``log_params`` wants)."""
        return {key: value for key, value in vars(self).items() if not key.endswith("_") and not key.startswith("_")}

    @abstractmethod
    def fit(self, incidents: Sequence[Incident]) -> Self:
        """Index ``incidents`` (replacing any previous index) and return ``self``."""

    @abstractmethod
    def search(self, query: str, k: int = 10, allowed: Collection[str] | None = None) -> Scores:
        """The ``k`` best documents for ``query`` as ``{doc_id: raw_score}``; only ids in ``allowed`` if given.
        Documents with no evidence at all (a lexical score of 0) are left out."""

    def search_many(self, queries: Sequence[str], k: int = 10,
                    allowed: Collection[str] | None = None) -> list[Scores]:
        """``search`` for many queries; subclasses override this when batching is faster."""
        return [self.search(query, k, allowed) for query in queries]

    @abstractmethod
    def score(self, query: str, doc_ids: Iterable[str]) -> Scores:
        """Raw scores of ``query`` against the given documents (unknown ids are left out)."""
