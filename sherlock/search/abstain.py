"""Calibrated abstention: say "no matching past incident" when nothing retrieved is relevant enough.

Evidence (both cheap):

- ``dense_top``: the best cosine similarity between the query and an incident;
- ``coverage``: the largest IDF-weighted share of the query's content terms that one top incident contains. Terms no
  incident uses at all weigh as much as the rarest term: "kubernetes" against a payments corpus is strong evidence of
  a mismatch, "the" is no evidence at all (it is a stopword and never counted).

A query is answered through either of two paths:

1. *semantic + lexical*: ``dense_top >= abstain_min_dense`` and ``coverage >= abstain_min_lexical`` — dense alone
   happily matches any payments-sounding sentence, and lexical alone matches on one shared word ("timeout");
2. *exact terms*: ``coverage >= abstain_lexical_alone`` (nearly every query term, rare ones included, is in one
   incident) with at least ``abstain_dense_floor`` similarity — keyword probes such as ``snapdeal_test`` or
   ``INTERNAL_SERVER_ERROR`` embed poorly but name the incident exactly.

The thresholds are settings, calibrated on labelled on-topic and off-topic queries by
``benchmarks/calibrate_abstention.py`` (which prints the table behind the defaults). Confidence is the better of the
two paths, each the smaller of logistic curves centred on its thresholds: 0.5 exactly at the decision boundary, below
0.5 whenever the search abstains, rising with both kinds of evidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: Widths of the logistic curves: how quickly confidence saturates away from each threshold.
DENSE_SCALE = 0.05
LEXICAL_SCALE = 0.08


class Thresholds(Protocol):
    abstain_min_dense: float
    abstain_min_lexical: float
    abstain_lexical_alone: float
    abstain_dense_floor: float


@dataclass(frozen=True)
class Evidence:
    dense_top: float
    coverage: float


@dataclass(frozen=True)
class Verdict:
    abstain: bool
    confidence: float
    reason: str | None


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 60.0), -60.0)))


def decide(evidence: Evidence, t: Thresholds) -> Verdict:
    """Answer if either path clears its thresholds; otherwise abstain, saying which evidence was too weak."""
    semantic_path = min(_logistic((evidence.dense_top - t.abstain_min_dense) / DENSE_SCALE),
                        _logistic((evidence.coverage - t.abstain_min_lexical) / LEXICAL_SCALE))
    exact_path = min(_logistic((evidence.coverage - t.abstain_lexical_alone) / LEXICAL_SCALE * 2),
                     _logistic((evidence.dense_top - t.abstain_dense_floor) / DENSE_SCALE))
    confidence = round(max(semantic_path, exact_path), 4)
    answered = ((evidence.dense_top >= t.abstain_min_dense and evidence.coverage >= t.abstain_min_lexical)
                or (evidence.coverage >= t.abstain_lexical_alone and evidence.dense_top >= t.abstain_dense_floor))
    if answered:
        return Verdict(False, max(confidence, 0.5), None)
    return Verdict(True, min(confidence, 0.4999),
                   f"no matching past incident: best similarity {evidence.dense_top:.2f} "
                   f"(needs {t.abstain_min_dense:.2f}), query terms covered {evidence.coverage:.0%} "
                   f"(needs {t.abstain_min_lexical:.0%} with that similarity, or {t.abstain_lexical_alone:.0%} alone)")


def weighted_coverage(query: str, doc_ids: Sequence[str], tfidf: Any, pasted: bool = False) -> float:
    """The largest IDF-weighted share of the query's content terms found in one of ``doc_ids`` (lexical evidence
    for abstention), read from the TF-IDF index: :meth:`sherlock.retrievers.tfidf.TfidfRetriever.coverage`, the same
    measure the ranking's coverage factor uses. For a ``pasted`` log or stack trace, terms no incident uses are left
    out instead of weighing as the rarest: class, host and library names are what a log is full of, and no evidence
    that the failure is new."""
    return float(tfidf.coverage(query, list(doc_ids), drop_unknown=pasted).max(initial=0.0))
