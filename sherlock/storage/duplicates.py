"""Possible duplicates: an incident filed twice — the same text under another id, or near-identical text about the
same service within a few days (two tools, two people, one outage). Reported by ingest and shown on the incident
page; nothing is ever merged.

Near-identical is a cosine similarity of the two incidents' stored vectors of at least ``duplicate_similarity``
(default 0.90; chosen on the DFDS clusters, where every threshold from 0.80 to 0.93 gives the same answer), on the
same service (or both without one), created at most ``duplicate_window_days`` apart (default 14; an incident without a
date is not held to the window). Measured on the DFDS postmortems' natural near-duplicate
clusters: see ``benchmarks/bench_similar.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sherlock.schema import Incident

#: How many nearest neighbours of each incident are checked (the rest are less similar).
NEIGHBOURS = 5
#: A batch larger than this is not checked against the corpus (a bulk import of a whole history would cost an
#: all-pairs product); same-text duplicates are still reported by ingest's fingerprint check.
CHECK_MAX = 2000


@dataclass(frozen=True)
class Duplicate:
    """``id`` may duplicate ``of``: ``similarity`` is the cosine of their vectors (1.0 for the same text)."""

    id: str
    of: str
    similarity: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def same_service(a: Incident, b: Incident) -> bool:
    """Both on one service (case-insensitive), or both without one."""
    return (a.service or "").strip().lower() == (b.service or "").strip().lower()


def within_window(a: Incident, b: Incident, days: float) -> bool:
    """Created at most ``days`` apart; true when either has no date."""
    first, second = a.created_date(), b.created_date()
    return first is None or second is None or abs((first - second).days) <= days


def find_duplicates(workspace: Any, ids: Sequence[str]) -> list[Duplicate]:
    """The possible duplicates among stored incidents ``ids`` (each against every other stored incident), most
    similar first; nothing when more than :data:`CHECK_MAX` ids are given."""
    ids = list(dict.fromkeys(ids))
    if not ids or len(ids) > CHECK_MAX:
        return []
    settings = workspace.settings
    store = workspace.store
    incidents = store.get_many(ids)
    found: dict[tuple[str, str], Duplicate] = {}
    fingerprints = {incident.id: incident.text_fingerprint() for incident in incidents.values()}
    same_text = store.ids_by_fingerprint(fingerprints.values())
    for incident_id, fingerprint in fingerprints.items():
        for other in same_text.get(fingerprint, []):
            if other != incident_id:
                found[(incident_id, other)] = Duplicate(incident_id, other, 1.0, f"same text as {other}")
    snapshot = workspace.lexical()
    rows = [(incident_id, snapshot.vector(incident_id)) for incident_id in incidents]
    rows = [(incident_id, vector) for incident_id, vector in rows if vector is not None]
    if rows:
        vectors = np.stack([vector for _, vector in rows])
        neighbours = workspace.dense_top(snapshot, vectors, NEIGHBOURS + 1)
        others = store.get_many({d for top in neighbours for d in top})
        for (incident_id, _), top in zip(rows, neighbours, strict=True):
            incident = incidents[incident_id]
            for other_id, similarity in top.items():
                other = others.get(other_id)
                if other is None or other_id == incident_id or (incident_id, other_id) in found:
                    continue
                if (similarity >= settings.duplicate_similarity and same_service(incident, other)
                        and within_window(incident, other, settings.duplicate_window_days)):
                    found[(incident_id, other_id)] = Duplicate(
                        incident_id, other_id, round(float(similarity), 4),
                        _reason(incident, other, similarity))
    return sorted(found.values(), key=lambda d: (-d.similarity, d.id, d.of))


def possible_duplicates(workspace: Any, incident_id: str) -> list[Duplicate]:
    """The stored incidents that ``incident_id`` may duplicate (empty when it is not stored)."""
    incident = workspace.store.get(incident_id)
    return find_duplicates(workspace, [incident.id]) if incident else []


def _reason(incident: Incident, other: Incident, similarity: float) -> str:
    first, second = incident.created_date(), other.created_date()
    when = f", {abs((first - second).days)} days apart" if first and second else ""
    service = f"same service {incident.service}" if incident.service else "no service on either"
    return f"{similarity:.0%} similar text, {service}{when}"
