"""Which canonical field a postmortem section feeds, from its heading, whatever template wrote it.

A heading is first normalised (:func:`normalise_heading`): case folded, numbering ("1.", "2)", "1.2", "IV.") and
trailing colons dropped, "(s)" read as a plural and any other parenthesised aside dropped, "&" and "/" read as "and",
emoji and punctuation dropped. The normalised heading is then matched, whole, against :data:`HEADINGS` in order, and
the first rule that matches wins: so "Root cause and mitigation" (Azure, Elastic) is a root cause, never a
resolution, and "Resolution and recovery" is a resolution before "root cause" is tried.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple


class HeadingRule(NamedTuple):
    """One row of the heading table: ``kind`` names the rule, ``field`` the record field it feeds (``timeline``,
    ``date``, ``severity`` and ``category`` are read for facts, not stored as text), ``rank`` orders rules feeding
    one field (0 is best: a "Summary" beats an "Impact" for the description)."""

    kind: str
    field: str
    rank: int
    pattern: re.Pattern[str]


def _rule(kind: str, field: str, rank: int, pattern: str) -> HeadingRule:
    return HeadingRule(kind, field, rank, re.compile(pattern))


#: The heading table, first match wins. Patterns match the whole normalised heading.
HEADINGS: tuple[HeadingRule, ...] = (
    _rule("root_cause_and_mitigation", "root_cause", 0,
          r"(root )?causes? and (mitigations?|resolutions?|remediations?|fix(es)?|recovery)"),
    _rule("resolution", "resolution", 0,
          r"(resolution|recovery|mitigation|remediation)s?( and (resolution|recovery|mitigation|remediation)s?)?"
          r"( steps| actions)?|(the )?(fix|solution|workaround)( applied)?"
          r"|how (it was|we|was it) (fixed|resolved|mitigated)( it)?"),
    _rule("root_cause", "root_cause", 1,
          r"(the )?(root )?causes?( analysis)?|rca|(the )?underlying (issue|problem|cause)s?"
          r"|what caused (it|the (incident|outage|issue|problem))"),
    _rule("contributing_factors", "root_cause", 2,
          r"contributing (factors?|conditions?|causes?)( analysis)?|(five|5) whys|fault"),
    _rule("trigger", "root_cause", 3, r"triggers?"),
    _rule("summary", "description", 0,
          r"(incident |issue |executive |outage |problem )?(summary|overview|description)"
          r"|summary of (the )?(incident|issue|outage|impact)|what happened|brief description"),
    _rule("impact", "description", 1, r"(customer |user |end user |business |service )?impact|affected users"),
    _rule("timeline", "timeline", 0,
          r"(incident |detailed |event )?time ?line( of events)?|chronology|(sequence|chain) of events"),
    _rule("date", "created_at", 0,
          r"(incident |outage |start )?date( and time)?|date of (the )?(incident|outage)|start (date and )?time"),
    _rule("severity", "severity", 0, r"(incident )?(severity|sev)( level)?"),
    _rule("category", "category", 0, r"(incident )?category"),
)

#: Kinds read as facts (a value on the line or the first line under the heading), never as a text section.
FACT_KINDS = ("date", "severity", "category")

NUMBERING = re.compile(r"^(?:(?:\d+(?:\.\d+)*|[ivx]+|[a-z])[.):]|\d+(?:\.\d+)+)\s+")


def normalise_heading(heading: str) -> str:
    """``heading`` as the table reads it: ``"2) Root Cause(s):"`` → ``"root causes"``, ``"🔥 Mitigation &
    Resolution"`` → ``"mitigation and resolution"``."""
    text = heading.lower().replace("(s)", "s")
    text = re.sub(r"\([^)]*\)", " ", text)
    text = text.replace("&", " and ").replace("/", " and ")
    text = NUMBERING.sub("", text.strip())
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def match_heading(heading: str) -> HeadingRule | None:
    """The first rule of :data:`HEADINGS` that ``heading`` (as written) matches once normalised, or None."""
    normalised = normalise_heading(heading)
    return next((rule for rule in HEADINGS if rule.pattern.fullmatch(normalised)), None)
