"""Apply the redaction rules to text, to whole incidents (every text field and ``extra``, recursively) and to
queries; count what was replaced, per rule, never keeping the secret itself.

    redactor = Redactor.from_settings(settings)
    text, counts = redactor.redact_text("card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE")
    # "card [card ••••1111], key [redacted:aws_access_key]", RedactionCounts({'card_number': 1, 'aws_access_key': 1})
    incident, counts = redactor.redact_incident(incident)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sherlock.redaction.rules import CREDENTIAL_KEY, PLACEHOLDER_PREFIX, Rule, select_rules

if TYPE_CHECKING:
    from sherlock.config import Settings
    from sherlock.schema import Incident

#: The incident fields redacted besides ``extra``: every one that holds text. ``id`` is kept (it is the key that
#: updates, links and citations go by), and so are the dates.
INCIDENT_TEXT_FIELDS = ("title", "description", "root_cause", "resolution", "tags", "service", "category",
                        "severity", "status", "resolved_by")


class RedactionCounts(Counter[str]):
    """How many secrets each rule replaced: ``{rule name: count}``. Holds names and numbers only, never a secret."""

    def describe(self) -> str:
        """``"3 card_number, 1 aws_access_key"``: the most frequent first, by rule name (the names
        ``redaction_disabled`` takes); ``""`` when nothing was redacted."""
        return ", ".join(f"{count} {name}" for name, count in sorted(self.items(), key=lambda kv: (-kv[1], kv[0]))
                         if count)

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict, sorted by rule name (for JSON reports)."""
        return {name: count for name, count in sorted(self.items()) if count}


class Redactor:
    """Replaces secrets with placeholders, rule by rule (:mod:`sherlock.redaction.rules`). With no rules it changes
    nothing (``enabled`` is False): what ``settings.redaction = false`` gives."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        """The rules ``settings`` ask for: none when ``redaction`` is off; else the built-ins less
        ``redaction_disabled``, e-mail addresses when ``redaction_emails``, plus ``redaction_extra_patterns``."""
        if not settings.redaction:
            return cls(())
        return cls(select_rules(settings.redaction_disabled, settings.redaction_extra_patterns,
                                settings.redaction_emails))

    @property
    def enabled(self) -> bool:
        return bool(self.rules)

    @property
    def names(self) -> list[str]:
        """The names of the rules that run, in order."""
        return [rule.name for rule in self.rules]

    def redact_text(self, text: str) -> tuple[str, RedactionCounts]:
        """``text`` with every secret replaced, and the counts per rule. Redacting the result again changes nothing."""
        counts = RedactionCounts()
        lowered = text.lower()  # for the triggers; stale after a replacement, which only makes a rule run needlessly
        for rule in self.rules:
            if not rule.may_match(lowered):
                continue
            text, found = rule.apply(text)
            if found:
                counts[rule.name] += found
        return text, counts

    def redact_value(self, value: Any, counts: RedactionCounts, key: str | None = None) -> Any:
        """A JSON-like value redacted (adding to ``counts``): strings by the rules; dicts and lists item by item; a
        string under a credential key (``"password": "..."``, ``"api_key": "..."``) whole, as the ``password`` rule
        would; an integer that is a card number as its placeholder. Anything else as it is."""
        if isinstance(value, str):
            if key is not None and value and self._credential_key(key) and not value.startswith(PLACEHOLDER_PREFIX):
                counts["password"] += 1
                return f"{PLACEHOLDER_PREFIX}password]"
            text, found = self.redact_text(value)
            counts.update(found)
            return text
        if isinstance(value, dict):
            return {name: self.redact_value(item, counts, str(name)) for name, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(item, counts) for item in value]
        if isinstance(value, int) and not isinstance(value, bool) and value > 10**12:
            text, found = self.redact_text(str(value))
            if found:
                counts.update(found)
                return text
        return value

    def redact_incident(self, incident: Incident) -> tuple[Incident, RedactionCounts]:
        """The incident with every text field and everything in ``extra`` redacted (the same object when nothing
        was), and the counts per rule."""
        counts = RedactionCounts()
        if not self.rules:
            return incident, counts
        changes: dict[str, Any] = {}
        for name in (*INCIDENT_TEXT_FIELDS, "extra"):
            value = getattr(incident, name)
            if value in (None, "", [], {}):
                continue
            redacted = self.redact_value(value, counts)
            if redacted != value:
                changes[name] = redacted
        return (incident.model_copy(update=changes) if changes else incident), counts

    def redact_incidents(self, incidents: Iterable[Incident]) -> tuple[list[Incident], RedactionCounts]:
        """:meth:`redact_incident` for each, with the counts added up."""
        total = RedactionCounts()
        out = []
        for incident in incidents:
            redacted, counts = self.redact_incident(incident)
            out.append(redacted)
            total.update(counts)
        return out, total

    def _credential_key(self, key: str) -> bool:
        return any(rule.name == "password" for rule in self.rules) and CREDENTIAL_KEY.fullmatch(key) is not None


def redact_query(settings: Settings) -> Callable[[str], str] | None:
    """What the query log applies to a query before it is written: the query with every secret replaced, or
    ``None`` when redaction is off (``settings.redaction = false``), so the log can skip the call."""
    redactor = Redactor.from_settings(settings)
    if not redactor.enabled:
        return None
    return lambda query: redactor.redact_text(query)[0]
