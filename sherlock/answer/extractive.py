"""The offline, extractive answer: deterministic lines quoted from the retrieved incidents, each citing them.

Written to be read at a glance by someone on call, one short line each (shortened here):

    Most likely: INC-11695 "notification-service pods OOMKilled" and 2 similar incidents [INC-11695][INC-11027].
    - Cause: "The JVM heap was set close to the container limit" [INC-11695][INC-11027].
    - Fix: "Set the heap to 70% of the limit and raised the limit to 3072Mi" [INC-11695][INC-11027].
    - Also seen: "Release 5.8.9 added an unbounded in-memory cache", fixed by "Rolled back" [INC-11343][INC-10318].

Retrieved incidents are first grouped by what they record (:func:`group_hits`: the same cause, numbers and versions
aside), so near-duplicates are cited together once and the "Also seen" lines show the range of causes rather than
three copies of one. "Why / common / causes / usually ..." questions reach further down the results for other causes.
A ticket id gets that incident's summary and its related incidents; an abstained search answers
"No matching past incident." and cites nothing. Every line ends with its citations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from sherlock.schema import Incident
from sherlock.search.searcher import Hit, SearchResponse, find_ticket_ids
from sherlock.text import query_terms, tokenize

NO_MATCH = "No matching past incident."
#: A question about many incidents rather than one ("why do refunds fail?", "common causes of timeouts").
MULTI_INCIDENT = re.compile(r"\b(why|common(ly)?|causes?|frequent(ly)?|usually|typical(ly)?|patterns?|how often|"
                            r"often|recurring|trends?|generally|reasons?)\b", re.IGNORECASE)
#: How many other causes an answer lists after the most likely one.
OTHER_CAUSES = 3
#: Word overlap (Jaccard) from which two root causes are one cause.
SAME_CAUSE = 0.6
#: How many ids one line cites (a group may hold more; the cards list them all).
MAX_CITED = 4
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'“(\[]?[A-Z0-9])")
_CITATION = re.compile(r"\[([^\[\]\s]+)\]")
_VARYING = re.compile(r"\d+(?:[.,:]\d+)*\s*(?:mi|gi|ms|s|x|%)?\b", re.IGNORECASE)
_CAUSE_CUES = re.compile(r"\b(because|due to|caus\w*|root cause|indicat\w*|occur\w*|result\w* in|led to|"
                         r"missing|mismatch\w*|expired|exhaust\w*|race condition)\b", re.IGNORECASE)
_FIX_CUES = re.compile(r"\b(fix\w*|increas\w*|add\w*|implement\w*|updat\w*|enabl\w*|deploy\w*|patch\w*|"
                       r"recommend\w*|switch\w*|configur\w*|introduc\w*|retr(y|ied)|chang\w*|roll\w* back|"
                       r"restart\w*|whitelist\w*|upgrad\w*|optimi[sz]\w*|rais\w*|set up|coordinat\w*)\b",
                       re.IGNORECASE)


def extractive_answer(question: str, response: SearchResponse,
                      incidents: Mapping[str, Incident]) -> tuple[str, list[str]]:
    """The offline answer (lines joined by newlines) and its citations (ids in order of first appearance), built
    only from ``incidents`` quoted as data. Deterministic: the same response always gives the same text."""
    if response.abstained:
        return _abstention(response), []
    hits = [hit for hit in response.results if hit.id in incidents]
    if not hits:
        return NO_MATCH, []
    if response.strategy == "exact_id":
        lines = _summary(hits, incidents)
    else:
        lines = _grouped(question, hits, incidents)
    text = "\n".join(f"{body} {''.join(f'[{doc_id}]' for doc_id in ids[:MAX_CITED])}." for body, ids in lines)
    return text, [doc_id for doc_id in dict.fromkeys(_CITATION.findall(text)) if doc_id in incidents]


def group_hits(hits: Sequence[Hit], incidents: Mapping[str, Incident]) -> list[list[Hit]]:
    """``hits`` grouped by what their incidents record, in order of each group's best hit: two incidents are one
    group when the words of their root causes (else titles) overlap by :data:`SAME_CAUSE` or more (Jaccard), numbers,
    versions and sizes masked — "Release 3.14.8 added an unbounded cache" and "Release 5.6.3 added ..." are one
    cause, and so are two merchants' "refunds above <merchant>'s collections". Hits whose incident is not in
    ``incidents`` are left out. Single-link on each group's first member, so the result depends only on the order."""
    groups: list[tuple[set[str], list[Hit]]] = []
    for hit in hits:
        incident = incidents.get(hit.id)
        if incident is None:
            continue
        words = _cause_words(incident)
        for first_words, members in groups:
            if _jaccard(words, first_words) >= SAME_CAUSE:
                members.append(hit)
                break
        else:
            groups.append((words, [hit]))
    return [members for _, members in groups]


def _cause_words(incident: Incident) -> set[str]:
    return set(tokenize(_VARYING.sub(" ", incident.root_cause or incident.title)))


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _abstention(response: SearchResponse) -> str:
    if response.strategy == "exact_id":
        missing = find_ticket_ids(response.query)
        return f"{NO_MATCH} {', '.join(missing) or 'That id'} is not in this workspace."
    if response.results:
        return f"{NO_MATCH} The nearest past incidents are listed for reference, but none of them is a match."
    return NO_MATCH


def _close(hits: list, fraction: float) -> list:
    """Hits scoring within ``1 - fraction`` of the best (relative to its magnitude, so z-scores work too)."""
    top = hits[0].score
    return [hit for hit in hits if hit.score >= top - (1 - fraction) * abs(top)]


def _grouped(question: str, hits: list, incidents: Mapping[str, Incident]) -> list[tuple[str, list[str]]]:
    """The most likely incident (with its near-duplicates) and its cause and fix, then up to :data:`OTHER_CAUSES`
    other causes among the close results, each once."""
    many = bool(MULTI_INCIDENT.search(question))
    groups = group_hits(_close(hits, 0.6 if many else 0.8), incidents)
    first = groups[0]
    best = incidents[first[0].id]
    ids = [hit.id for hit in first]
    similar = f" and {len(first) - 1} similar incident{'s' * (len(first) > 2)}" if len(first) > 1 else ""
    terms = f", matching {', '.join(first[0].matched_terms[:5])}" if first[0].matched_terms else ""
    lines = [(f'Most likely: {best.id} "{_clean(best.title)}"{similar}{terms}', ids)]
    lines += [(f"- {label}", ids) for label in _cause_and_fix(question, best)]
    for group in groups[1:1 + OTHER_CAUSES]:
        incident = incidents[group[0].id]
        cause = _cause(question, incident, 160)
        fix = _best_sentence(incident.resolution, question, _FIX_CUES, 140)
        count = f" ({len(group)} incidents)" if len(group) > 1 else ""
        body = (f'"{cause}"' if cause else f'"{_short_title(incident.title)}"') + (f', fixed by "{fix}"' if fix
                                                                                  else "")
        lines.append((f"- Also seen{count}: {body}", [hit.id for hit in group]))
    return lines


def _cause(question: str, incident: Incident, limit: int) -> str:
    if incident.root_cause:
        return _excerpt(incident.root_cause, limit)
    return _best_sentence(incident.description, question, _CAUSE_CUES, limit)


def _summary(hits: list, incidents: Mapping[str, Incident]) -> list[tuple[str, list[str]]]:
    lines: list[tuple[str, list[str]]] = []
    for hit in [h for h in hits if not h.related][:3]:
        incident = incidents[hit.id]
        created = f", created {incident.created_date()}" if incident.created_at else ""
        lines.append((f'{incident.id} is "{_clean(incident.title)}"{created}', [incident.id]))
        lines += [(f"- {label}", [incident.id]) for label in _cause_and_fix(incident.title, incident)]
    related = group_hits([h for h in hits if h.related], incidents)[:3]
    if related:
        names = ", ".join(f"{g[0].id} ({_short_title(g[0].title)}{f', +{len(g) - 1} similar' if len(g) > 1 else ''})"
                          for g in related)
        lines.append((f"Related: {names}", [g[0].id for g in related]))
    return lines


def _cause_and_fix(question: str, incident: Incident) -> list[str]:
    out = []
    if incident.root_cause:
        out.append(f'Cause: "{_excerpt(incident.root_cause, 240)}"')
    elif incident.description:
        out.append(f'What happened: "{_best_sentence(incident.description, question, _CAUSE_CUES, 240)}"')
    if incident.resolution:
        out.append(f'Fix: "{_excerpt(incident.resolution, 300)}"')
    return out


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_BREAK.split(" ".join(text.split())) if s.strip()]


def _clean(text: str) -> str:
    """Incident text fit to quote: one line, no double quotes or brackets (a quoted ``[X-1]`` is no citation)."""
    text = " ".join(text.split()).replace('"', "'").replace("“", "'").replace("”", "'")
    return text.replace("[", "(").replace("]", ")")


def _short_title(title: str, limit: int = 60) -> str:
    head = _clean(title).split(" - ")[0]
    return head if len(head) <= limit else _trim(head, limit)


def _trim(sentence: str, limit: int) -> str:
    """``sentence`` cut to ``limit`` characters at a clause or word boundary, with an ellipsis."""
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit]
    for boundary in (", ", "; ", " "):
        if boundary in cut[limit // 2:]:
            cut = cut[:cut.rindex(boundary)]
            break
    return cut.rstrip(" ,;:") + "…"


def _excerpt(text: str, limit: int) -> str:
    """Whole sentences of ``text`` up to ``limit`` characters (at least the first, trimmed), joined by ``; ``."""
    chosen: list[str] = []
    for sentence in _sentences(_clean(text)):
        sentence = sentence.rstrip(".!?")
        if chosen and sum(len(s) + 2 for s in chosen) + len(sentence) > limit:
            break
        if chosen and sentence[:1].isupper() and sentence[1:2].islower():  # "; recommended ...", not "; uPI"
            sentence = sentence[0].lower() + sentence[1:]
        chosen.append(_trim(sentence, limit))
    return "; ".join(chosen)


def _best_sentence(text: str, question: str, cues: re.Pattern[str], limit: int) -> str:
    """The most informative sentence of ``text`` for ``question``: query terms count twice, a cue word (cause or
    fix) three times, a fragment or a sentence that needs trimming one less; ties go to the earliest."""
    wanted = set(query_terms(question))
    scored = [(2 * len(wanted & set(tokenize(s))) + 3 * bool(cues.search(s)) - (len(s) < 25) - (len(s) > limit),
               -i, s)
              for i, s in enumerate(_sentences(_clean(text)))]
    return _trim(max(scored)[2].rstrip(".!?"), limit) if scored else ""
