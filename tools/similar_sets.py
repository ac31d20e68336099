"""Labelled sets for the similar-incidents mode, built from the shared postmortem data (read in ../shared/data, never
copied into the repo):

* **IDDS "same root cause"** (``postmortems/idds_cloud_incidents.jsonl``, 356 Azure/GCP/AWS incidents with expert
  root-cause labels): every incident is stored with all its fields; a query is one incident *as a new report reads*
  (title + summary, no root cause, no resolution) or as stored; the relevant past incidents are the others that share
  one of its specific root-cause labels (a leaf of the label tree: not ``unknown``, not ``…/others``, not a parent of
  another label — "internal causes/software bugs/config" is specific, "internal causes/software bugs" is not). The
  incidents are split in two halves by a hash of their id: every choice is made on ``dev``; ``held`` is reported.
* **DFDS near-duplicates** (``postmortems/dfds_postmortems.jsonl``, 39 real postmortems of one platform team): the
  natural clusters are the postmortems filed under the same title (the same outage written up again, or recurring).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sherlock.schema import Incident

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "postmortems"
#: Spelling variants of the same label in the IDDS data.
LABEL_FIXES = {"softwares bugs": "software bugs", "software failures": "software bugs",
               "cooling systems": "cooling system"}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def half(incident_id: str) -> str:
    """``dev`` or ``held``: a fixed split by the SHA-256 of the id."""
    return "dev" if int(hashlib.sha256(incident_id.encode()).hexdigest(), 16) % 2 == 0 else "held"


# -- IDDS --------------------------------------------------------------------------------------------------------------

def idds_record(row: dict[str, Any]) -> dict[str, Any]:
    """One IDDS incident in Sherlock's canonical fields (the provider is the service; its services are tags)."""
    description = f"{row.get('summary') or ''}\n{row.get('details') or ''}"
    return {"id": row["id"], "title": row["title"], "description": description,
            "root_cause": row.get("root_cause") or "", "resolution": row.get("mitigation") or "",
            "service": row["provider"], "tags": [s[:60] for s in row.get("services") or []][:5],
            "created_at": row.get("date")}


def idds_new_report(row: dict[str, Any]) -> Incident:
    """An IDDS incident as a new report reads at triage: title and summary only, root cause and fix unknown."""
    return Incident(id=row["id"], title=row["title"], description=row.get("summary") or "", service=row["provider"],
                    created_at=row.get("date"))


def specific_labels(rows: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """Each incident's specific root-cause labels (leaves of the label tree, spelling variants folded)."""
    def fold(label: str) -> str:
        for wrong, right in LABEL_FIXES.items():
            label = label.replace(wrong, right)
        return label
    labels = {row["id"]: {fold(label) for label in row.get("root_cause_labels") or []} for row in rows}
    every = set().union(*labels.values())
    leaves = {label for label in every if label != "unknown" and not label.endswith("/others")
              and not any(other.startswith(label + "/") for other in every)}
    return {incident_id: found & leaves for incident_id, found in labels.items()}


def idds_qrels(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{incident: {other incident sharing a specific root-cause label: 1}}`` for incidents with such a label."""
    labels = specific_labels(rows)
    return {q: {d: 1 for d, theirs in labels.items() if d != q and theirs & mine}
            for q, mine in labels.items() if mine}


# -- DFDS --------------------------------------------------------------------------------------------------------------

def dfds_record(row: dict[str, Any]) -> dict[str, Any]:
    """One DFDS postmortem in canonical fields (its category is the service)."""
    category = row.get("category") if row.get("category") not in (None, "None") else None
    date = row.get("date") if row.get("date") not in (None, "None") else None
    return {"id": row["id"], "title": row["title"], "description": row.get("summary") or "",
            "root_cause": row.get("contributing_factors") or "", "resolution": row.get("action_items") or "",
            "service": category, "created_at": date}


def dfds_duplicate_pairs(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Unordered pairs ``(a, b)`` with ``a < b`` of postmortems filed under the same title."""
    by_title: dict[str, list[str]] = {}
    for row in rows:
        by_title.setdefault(re.sub(r"\W+", " ", row["title"].lower()).strip(), []).append(row["id"])
    return {(a, b) for ids in by_title.values() for a in ids for b in ids if a < b}


def write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")
    return path
