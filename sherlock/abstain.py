"""Calibrated abstention: say "no matching past incident" when nothing retrieved is relevant enough.

Two pieces of evidence, both cheap and both needed: semantic similarity (the best dense cosine) and lexical evidence
(the largest share of the query's content terms found in one of the top incidents). A query is answered only when
both clear their thresholds: dense alone happily matches any payments-sounding sentence, lexical alone matches on
one shared word ("timeout"). The thresholds were calibrated on labelled on-topic and off-topic queries
(``benchmarks/calibrate_abstention.py`` prints the table) and are settings (``abstain_min_dense``,
``abstain_min_lexical``).

Confidence is the smaller of two logistic curves centred on the thresholds, so it is 0.5 exactly at the
decision boundary, rises with both kinds of evidence, and is below 0.5 whenever the search abstains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

#: Widths of the logistic curves: how quickly confidence saturates away from each threshold.
DENSE_SCALE = 0.05
LEXICAL_SCALE = 0.12


class Thresholds(Protocol):
    abstain_min_dense: float
    abstain_min_lexical: float


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


def decide(evidence: Evidence, thresholds: Thresholds) -> Verdict:
    """Abstain unless both the dense similarity and the lexical coverage reach their thresholds."""
    semantic = _logistic((evidence.dense_top - thresholds.abstain_min_dense) / DENSE_SCALE)
    lexical = _logistic((evidence.coverage - thresholds.abstain_min_lexical) / LEXICAL_SCALE)
    confidence = round(min(semantic, lexical), 4)
    weak = []
    if evidence.dense_top < thresholds.abstain_min_dense:
        weak.append(f"best similarity {evidence.dense_top:.2f} < {thresholds.abstain_min_dense:.2f}")
    if evidence.coverage < thresholds.abstain_min_lexical:
        weak.append(f"query terms covered {evidence.coverage:.0%} < {thresholds.abstain_min_lexical:.0%}")
    if weak:
        return Verdict(True, min(confidence, 0.4999), "no matching past incident: " + "; ".join(weak))
    return Verdict(False, max(confidence, 0.5), None)
