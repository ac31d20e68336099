"""The offline, extractive answer: deterministic sentences quoted from the retrieved incidents, each citing them.

What matched, then the root cause (or the description's most informative sentence, labelled as what happened) and
the resolution of the best one to three incidents, quoted and trimmed at sentence boundaries. "Why / common / causes /
usually ..." questions with several close results get a synthesis: the causes and the fixes recorded across the top
incidents. An abstained search answers "No matching past incident." and cites nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sherlock.schema import Incident
from sherlock.search.searcher import SearchResponse, find_ticket_ids
from sherlock.text import query_terms, tokenize

NO_MATCH = "No matching past incident."
#: A question about many incidents rather than one ("why do refunds fail?", "common causes of timeouts").
MULTI_INCIDENT = re.compile(r"\b(why|common(ly)?|causes?|frequent(ly)?|usually|typical(ly)?|patterns?|how often|"
                            r"often|recurring|trends?|generally|reasons?)\b", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'“(\[]?[A-Z0-9])")
_CITATION = re.compile(r"\[([^\[\]\s]+)\]")
_CAUSE_CUES = re.compile(r"\b(because|due to|caus\w*|root cause|indicat\w*|occur\w*|result\w* in|led to|"
                         r"missing|mismatch\w*|expired|exhaust\w*|race condition)\b", re.IGNORECASE)
_FIX_CUES = re.compile(r"\b(fix\w*|increas\w*|add\w*|implement\w*|updat\w*|enabl\w*|deploy\w*|patch\w*|"
                       r"recommend\w*|switch\w*|configur\w*|introduc\w*|retr(y|ied)|chang\w*|roll\w* back|"
                       r"restart\w*|whitelist\w*|upgrad\w*|optimi[sz]\w*|rais\w*|set up|coordinat\w*)\b",
                       re.IGNORECASE)


def extractive_answer(question: str, response: SearchResponse,
                      incidents: Mapping[str, Incident]) -> tuple[str, list[str]]:
    """The offline answer and its citations (ids in order of first appearance), built only from ``incidents``
    quoted as data. Deterministic: the same response always gives the same text."""
    if response.abstained:
        return _abstention(response), []
    hits = [hit for hit in response.results if hit.id in incidents]
    if not hits:
        return NO_MATCH, []
    if response.strategy == "exact_id":
        sentences = _summary(hits, incidents)
    else:
        group = _close(hits, 0.6 if MULTI_INCIDENT.search(question) else 0.95)[:3]
        sentences = (_synthesis(question, group, incidents) if len(group) >= 2 and
                     (MULTI_INCIDENT.search(question) or len(group) >= 3) else _single(question, hits, incidents))
    text = " ".join(f"{body} {''.join(f'[{doc_id}]' for doc_id in ids)}." for body, ids in sentences)
    return text, [doc_id for doc_id in dict.fromkeys(_CITATION.findall(text)) if doc_id in incidents]


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


def _single(question: str, hits: list, incidents: Mapping[str, Incident]) -> list[tuple[str, list[str]]]:
    best = hits[0]
    terms = f", matching {', '.join(best.matched_terms[:5])}" if best.matched_terms else ""
    sentences = [(f'Closest past incident: {best.id} "{_clean(best.title)}"{terms}', [best.id])]
    sentences += _cause_and_fix(question, incidents[best.id])
    for hit in _close(hits, 0.85)[1:3]:
        fix = _best_sentence(incidents[hit.id].resolution, question, _FIX_CUES, 160)
        sentences.append((f'Also similar: {hit.id} "{_short_title(hit.title)}"' + (f', fixed by "{fix}"' if fix
                                                                                  else ""), [hit.id]))
    return sentences


def _summary(hits: list, incidents: Mapping[str, Incident]) -> list[tuple[str, list[str]]]:
    sentences: list[tuple[str, list[str]]] = []
    for hit in [h for h in hits if not h.related][:3]:
        incident = incidents[hit.id]
        created = f", created {incident.created_date()}" if incident.created_at else ""
        sentences.append((f'{incident.id} is "{_clean(incident.title)}"{created}', [incident.id]))
        sentences += _cause_and_fix(incident.title, incident)
    related = [h for h in hits if h.related][:3]
    if related:
        names = ", ".join(f"{h.id} ({_short_title(h.title)})" for h in related)
        sentences.append((f"Related: {names}", [h.id for h in related]))
    return sentences


def _cause_and_fix(question: str, incident: Incident) -> list[tuple[str, list[str]]]:
    out = []
    if incident.root_cause:
        out.append((f'Root cause: "{_excerpt(incident.root_cause, 240)}"', [incident.id]))
    elif incident.description:
        what = _best_sentence(incident.description, question, _CAUSE_CUES, 240)
        out.append((f'What happened: "{what}"', [incident.id]))
    if incident.resolution:
        out.append((f'Resolution: "{_excerpt(incident.resolution, 300)}"', [incident.id]))
    return out


def _synthesis(question: str, group: list, incidents: Mapping[str, Incident]) -> list[tuple[str, list[str]]]:
    ids = [hit.id for hit in group]
    names = ", ".join(f"{hit.id} ({_short_title(hit.title)})" for hit in group)
    sentences = [(f"{len(group)} past incidents match: {names}", ids)]
    causes, fixes = [], []
    for hit in group:
        incident = incidents[hit.id]
        cause = (_excerpt(incident.root_cause, 160) if incident.root_cause
                 else _best_sentence(incident.description, question, _CAUSE_CUES, 160))
        fix = _best_sentence(incident.resolution, question, _FIX_CUES, 160)
        causes += [(cause, hit.id)] if cause else []
        fixes += [(fix, hit.id)] if fix else []
    for label, items in (("Causes recorded", causes), ("Fixes applied", fixes)):
        if items:
            body = "; ".join(f'"{text}" [{doc_id}]' for text, doc_id in items[:-1])
            sentences.append((f"{label}: {body + '; ' if body else ''}\"{items[-1][0]}\"", [items[-1][1]]))
    return sentences


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
