"""Labelled incident pairs: what the similar-incidents mode is tuned and evaluated on, as search is on labelled
queries. An *anchor* incident (stored, or new from a file) and, in TREC qrels, the past incidents that share its root
cause (grade > 0) or do not (grade 0):

* ``--qrels PAIRS`` alone: the anchors are stored incidents, named by the qrels' query ids;
* ``--incidents FILE.jsonl --qrels PAIRS``: the anchors are the file's incidents (new reports: title and description
  are enough), each left out of its own results;
* neither: the "same root cause: yes / no" votes of the incident page (:meth:`FeedbackStore.pair_qrels`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sherlock.run import Qrels
from sherlock.schema import Incident


@dataclass
class PairSet:
    """Anchor incidents and their judged pairs, ready to tune on, and what was left out (one line per reason)."""

    name: str
    incidents: dict[str, Incident]
    qrels: Qrels
    notes: list[str] = field(default_factory=list)


def load_pairs(workspace: object, incidents_file: Path | None = None, qrels_file: Path | None = None) -> PairSet:
    """The labelled pairs the options name (see the module docstring), restricted to anchors with at least one
    relevant stored incident. ``ValueError`` saying what to do when none is left."""
    from sherlock.evaluation.query_sets import read_qrels
    store = workspace.store  # type: ignore[attr-defined]
    if incidents_file is not None and qrels_file is None:
        raise ValueError("--incidents needs --qrels PAIRS (TREC qrels: anchor 0 past-incident grade)")
    if qrels_file is None:
        from sherlock.storage.feedback import open_feedback
        feedback = open_feedback(workspace.settings)  # type: ignore[attr-defined]
        try:
            qrels, name = feedback.pair_qrels(), "pair feedback"
        finally:
            feedback.close()
    else:
        qrels, name = read_qrels(qrels_file), Path(qrels_file).stem
    if incidents_file is not None:
        from sherlock.cli.incidents import read_incidents
        anchors = {incident.id: incident for incident in read_incidents(Path(incidents_file))}
    else:
        anchors = store.get_many(qrels)
    known = set(store.get_many({d for judged in qrels.values() for d in judged}))
    usable = {a: {d: g for d, g in judged.items() if d in known and d != a} for a, judged in qrels.items()
              if a in anchors}
    usable = {a: judged for a, judged in usable.items() if any(g > 0 for g in judged.values())}
    notes = []
    if missing := len(set(qrels) - set(anchors)):
        notes.append(f"{missing} anchor(s) of the pairs are not {'in the file' if incidents_file else 'stored'} "
                     "(ignored)")
    if dropped := len([a for a in qrels if a in anchors and a not in usable]):
        notes.append(f"{dropped} anchor(s) have no stored incident judged as sharing their root cause (ignored)")
    if not usable:
        where = ("the incident page's \"same root cause\" votes" if qrels_file is None else str(qrels_file))
        raise ValueError(f"no usable labelled pair in {where}: each anchor needs at least one stored past incident "
                         "judged as sharing its root cause (grade > 0); vote on the incident page, or give --qrels")
    return PairSet(name, {a: anchors[a] for a in usable}, usable, notes)
