"""Metadata filters: what ``--filter key=value``, the chat sidebar and the API accept, and how a value is matched with
the values stored (:func:`fold_filter_value`) or, when it matches nothing, which stored values to suggest
(:func:`suggest_values`). The store evaluates them (:meth:`sherlock.storage.store.Store.filter_ids`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from typing import Any

#: Filter keys accepted by ``Filters.parse`` (``--filter key=value``), with what they match.
FILTER_KEYS = {
    "service": "service equals one of the comma-separated values",
    "severity": "severity equals one of the values",
    "category": "category equals one of the values",
    "status": "status equals one of the values",
    "tag": "has one of the tags",
    "level": "severity level at most this, 1 (worst) to 5, across tools: level=2 keeps SEV1/P1/Critical and "
             "SEV2/P2/High",
    "from": "created on or after this ISO date",
    "to": "created on or before this ISO date",
}
#: Filter keys matched against stored values (the others are dates).
VALUE_KEYS = ("service", "severity", "category", "status", "tag")
#: Keys whose values are free-text labels: matched ignoring case and a plural "s" (``tag=Refund`` finds ``refunds``).
#: Services, severities and statuses name one thing each and are matched ignoring case only.
LABEL_KEYS = ("tag", "category")


def fold_filter_value(key: str, value: str) -> str:
    """The form in which a ``key`` filter value is compared with stored values: case-folded, and for a label key
    (:data:`LABEL_KEYS`) without one plural "s" (``Refunds`` → ``refund``; ``k8s``, ``loss`` are left alone)."""
    text = value.strip().casefold()
    if key in LABEL_KEYS and len(text) > 3 and text.endswith("s") and not text.endswith("ss"):
        return text[:-1]
    return text


def suggest_values(key: str, value: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` of the ``known`` values closest to a ``key`` filter ``value`` that matched nothing ("did you
    mean ...?"): those containing it or contained in it, or spelled alike (difflib ratio >= 0.6), closest first;
    one per matching form (``Refunds`` stands for ``refund`` too, as a filter finds both)."""
    wanted = fold_filter_value(key, value)
    scored: dict[str, tuple[float, str]] = {}
    for name in known:
        candidate = fold_filter_value(key, name)
        ratio = SequenceMatcher(None, wanted, candidate).ratio()
        inside = min(len(wanted), len(candidate)) >= 3 and (wanted in candidate or candidate in wanted)
        if (inside or ratio >= 0.6) and candidate not in scored:
            scored[candidate] = (-ratio, name)
    return [name for _, name in sorted(scored.values())[:limit]]


@dataclass(frozen=True)
class Filters:
    """Metadata filters applied to all three retrievers (values within a key are OR-ed, keys are AND-ed).
    Matching ignores case, and for tags and categories a plural "s" (:func:`fold_filter_value`)."""

    service: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    level: int | None = None

    @classmethod
    def parse(cls, items: Iterable[str]) -> Filters:
        """From ``key=value`` strings (``service=refunds-api``, ``severity=SEV1,SEV2``, ``from=2024-01-01``)."""
        values: dict[str, Any] = {}
        for item in items:
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            key = {"tags": "tag", "since": "from", "until": "to"}.get(key, key)
            if not sep or key not in FILTER_KEYS:
                valid = ", ".join(f"{k}=…" for k in FILTER_KEYS)
                raise ValueError(f"bad filter {item!r}: use key=value with key one of {valid}")
            if key == "level":
                if value.strip() not in ("1", "2", "3", "4", "5"):
                    raise ValueError(f"bad filter {item!r}: level is a number from 1 (worst) to 5")
                values["level"] = int(value)
            elif key in ("from", "to"):
                try:
                    values["date_" + key] = date.fromisoformat(value.strip())
                except ValueError:
                    raise ValueError(f"bad filter {item!r}: {key} needs an ISO date like 2024-06-30") from None
            else:
                values[key] = tuple(v.strip() for v in value.split(",") if v.strip())
        return cls(**values)

    def is_empty(self) -> bool:
        """True when no filter is set."""
        return self == Filters()

    def as_dict(self) -> dict[str, Any]:
        """Only the keys that are set, JSON-ready (what the CLI echoes and feedback records)."""
        out: dict[str, Any] = {}
        for key in ("service", "severity", "category", "status", "tag"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        if self.level:
            out["level"] = self.level
        return out
