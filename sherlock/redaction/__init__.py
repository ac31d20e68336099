"""Redaction of card numbers and credentials before incident text is stored, indexed, logged or sent to Gemini.

Where it runs: :meth:`sherlock.storage.workspace.Workspace.ingest` and :meth:`~sherlock.storage.workspace.Workspace.put`
(every file ingest, app upload, ``POST /v1/incidents``, ``sherlock sync`` and webhook delivery goes through one of
them), so the store, the lexical indexes, Chroma and the embedding cache only ever hold redacted text; the question
and the incidents of every Gemini prompt (:mod:`sherlock.answer.gemini`) and every text sent to the Gemini embedder
(:mod:`sherlock.embed.gemini`); and the query log (:func:`redact_query`). Settings: ``redaction``,
``redaction_disabled``, ``redaction_extra_patterns``, ``redaction_emails``.

Why our own rules and no detector library: the candidates on PyPI were weighed. presidio-analyzer (Microsoft) has a
Luhn-checked card recognizer, but its analyzer needs spaCy and a spaCy language model, which is downloaded from the
network at first use (not a PyPI package we can pin), pins numpy below 2.5, and knows few credential formats.
detect-secrets (Yelp, last release 1.5.0 in 2024) has the credential plugins, but it scans line by line for source
files and yields secret *values* with line numbers, not spans in a text, so a multi-line PEM block is reported by its
header line only and the body would stay; it keeps global settings, imports ``requests`` for optional live
verification of keys, and has no card-number detector. What both would contribute here are regular expressions and
the Luhn check: the rules below follow the same token formats (and cite them), in about 150 lines with no new
dependency, and are checked on planted corpora (tests/redaction, benchmarks/bench_redaction.py).
"""

from sherlock.redaction.card import mask_cards
from sherlock.redaction.luhn import luhn_valid
from sherlock.redaction.redactor import RedactionCounts, Redactor, redact_query
from sherlock.redaction.rules import RULES, Rule, custom_rule, select_rules

__all__ = ["RULES", "RedactionCounts", "Redactor", "Rule", "custom_rule", "luhn_valid", "mask_cards",
           "redact_query", "select_rules"]
