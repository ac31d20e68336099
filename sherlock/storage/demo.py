"""The shipped demo corpus (``data/demo/``): where it is, how to read it, and what its generator injected.

The files are written by ``python -m tools.demo`` (a development tool, not runtime code); everything here only reads
them, so the app, the CLI and the notebooks can load the demo without the generator.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

from sherlock.config import DEMO_DIR
from sherlock.schema import Incident

#: The span the shipped corpus covers (the generator's defaults).
DEFAULT_START = date(2024, 1, 1)
DEFAULT_END = date(2025, 12, 31)
REGENERATE = "python -m tools.demo"


class Spike(NamedTuple):
    """A family bursting in one week: ``share`` of the corpus added there, most naming ``slot`` = ``value``."""

    family: str
    week_start: date
    slot: str
    value: str
    share: float
    why: str

    def count(self, n: int) -> int:
        """How many incidents this spike adds to a corpus of ``n``."""
        return round(self.share * n)


#: The bursts the generator injects; incident-pattern analytics should find them again.
SPIKES = (
    Spike("upi_psp_timeout", date(2024, 10, 28), "bank", "axis", 0.012,
          "festive-sale traffic overwhelmed the Axis PSP"),
    Spike("settlement_recon_mismatch", date(2025, 3, 31), "bank", "hdfc", 0.009,
          "financial-year-end settlement file changes at HDFC"),
    Spike("k8s_oomkilled", date(2025, 6, 16), "service", "payments-api", 0.010,
          "a payments-api release with a memory leak, rolled out region by region"),
    Spike("webhook_delivery", date(2025, 9, 22), "merchant", "tripnest", 0.008,
          "a merchant WAF rule throttled webhooks during their sale"),
)


class LabelledQuery(NamedTuple):
    """One evaluation query: ``relevant`` maps incident id to grade (2 = highly, 1 = partly relevant)."""

    id: str
    query: str
    relevant: dict[str, int]


def active_spikes(start: date = DEFAULT_START, end: date = DEFAULT_END) -> list[Spike]:
    """The spikes whose whole week lies within ``start..end``."""
    return [s for s in SPIKES if start <= s.week_start and s.week_start + timedelta(days=6) <= end]


def load_demo_incidents(dir: Path = DEMO_DIR) -> list[Incident]:
    """The incidents of ``dir/incidents.jsonl``; a bad line raises ``ValueError`` naming ``file:line``."""
    path = Path(dir) / "incidents.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run `{REGENERATE} --out {Path(dir)}` to generate it")
    incidents = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                incidents.append(Incident.model_validate(json.loads(line)))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    return incidents


def load_demo_queries(dir: Path = DEMO_DIR, name: str = "queries.jsonl") -> list[LabelledQuery]:
    """The labelled queries of ``dir/queries.jsonl`` (or ``offtopic.jsonl``, whose ``relevant`` is empty)."""
    path = Path(dir) / name
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [LabelledQuery(r["id"], r["query"], dict(r.get("relevant", {}))) for r in records]
