"""Cause classes: what kind of thing went wrong in an incident (a configuration change, a deploy, a power loss, a
traffic surge, exhausted capacity, ...), read from its text with the editable lexicon in
``sherlock/resources/causes.txt``.

Two incidents with the same root cause rarely share many words — one says "the rollout of version 3.2", the other
"a code change deployed that morning" — but they share the class. The similar-incidents mode
(:mod:`sherlock.search.similar`) multiplies a past incident's score by ``1 + weight x`` the Jaccard overlap of the two
incidents' classes, and shows the shared classes in its explanation.

    >>> sorted(cause_classes("A configuration change rolled out to the gateway"))
    ['change', 'config']
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from sherlock.schema import Incident


@functools.cache
def cause_patterns() -> dict[str, re.Pattern[str]]:
    """Class name -> one compiled pattern (the lexicon's alternatives — separated by ``" | "`` with spaces, so a
    pattern's own ``(a|b)`` stays whole — each anchored at a word start)."""
    where = "sherlock/resources/causes.txt"
    text = resources.files("sherlock").joinpath("resources", "causes.txt").read_text(encoding="utf-8")
    patterns: dict[str, re.Pattern[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, alternatives = line.partition(":")
        parts = [part.strip() for part in re.split(r"\s\|\s", f" {alternatives} ") if part.strip()]
        if not sep or not name.strip() or not parts:
            raise ValueError(f"{where}:{number}: expected `name: pattern | pattern`, got {line!r}")
        try:
            patterns[name.strip()] = re.compile("|".join(rf"\b(?:{part})" for part in parts), re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{where}:{number}: bad pattern for {name.strip()!r}: {exc}") from None
    return patterns


def cause_classes(text: str) -> frozenset[str]:
    """The cause classes ``text`` mentions."""
    return frozenset(name for name, pattern in cause_patterns().items() if pattern.search(text))


def incident_causes(incident: Incident) -> frozenset[str]:
    """An incident's cause classes: from its root cause when it has one (what the cause *was*), else from its title
    and description (a new incident at triage, whose cause is not known yet)."""
    return cause_classes(incident.root_cause or f"{incident.title}\n{incident.description}")


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard overlap of two class sets; 0 when either is empty."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
