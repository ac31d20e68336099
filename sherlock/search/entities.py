"""Entities for the search boost: gateways, banks, merchants, services and error codes.

They come from two places: a small editable dictionary (``<home>/entities.toml``, else the packaged
``resources/entities.toml``) and the corpus itself (the ``service`` field, ``extra`` fields such as ``merchant`` or
``gateway``, snake_case identifiers like ``snapdeal_test``, and codes written after "error"/"code"). Matching is on
whole tokens only (``sbi`` never matches inside ``sbin``); ``-``, ``_`` and spaces inside a name are equivalent
(``Pinelabs-Online`` = ``pinelabs_online``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Self

from sherlock.schema import Incident

KINDS = ("gateways", "banks", "merchants", "services", "error_codes")
#: ``extra`` fields whose values name an entity, and the kind they name.
EXTRA_FIELD_KINDS = {"merchant": "merchants", "mid": "merchants", "gateway": "gateways", "bank": "banks",
                     "error_code": "error_codes", "service": "services"}

_TOKEN = re.compile(r"[a-z0-9]+(?:[_\-.][a-z0-9]+)*")
_SNAKE_ID = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_ERROR_CODE = re.compile(r"\b(?:error|code|err|status)\s*(?:code)?\s*[:#]?\s*([A-Za-z]{0,2}\d{2,4}[A-Za-z]{0,2})\b",
                         re.IGNORECASE)
_MAX_WORDS = 3


def normalize_name(name: str) -> str:
    """``'Pinelabs-Online'`` → ``'pinelabs_online'``; ``'Yes Bank'`` → ``'yes_bank'``."""
    return re.sub(r"[\s\-_.]+", "_", name.strip().lower())


def surface_names(text: str) -> set[str]:
    """Every whole token of ``text`` and every run of up to three tokens, normalised (candidate entity names)."""
    tokens = [normalize_name(token) for token in _TOKEN.findall(text.lower())]
    names = set(tokens)
    for width in range(2, _MAX_WORDS + 1):
        names.update("_".join(tokens[i:i + width]) for i in range(len(tokens) - width + 1))
    return names


@dataclass
class EntityDictionary:
    """Canonical names by kind, plus aliases (alias → canonical name)."""

    kinds: dict[str, set[str]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> EntityDictionary:
        """The workspace's dictionary when ``path`` exists, else the packaged one. Errors name the file."""
        if path is not None and path.exists():
            text, where = path.read_text(encoding="utf-8"), str(path)
        else:
            text, where = resources.files("sherlock.resources").joinpath("entities.toml").read_text("utf-8"), \
                "sherlock/resources/entities.toml"
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{where}: {exc}; fix the entity dictionary or delete it to use the packaged one") \
                from None
        kinds = {kind: {normalize_name(n) for n in data.get(kind, {}).get("names", [])} for kind in KINDS}
        aliases = {normalize_name(a): normalize_name(c) for a, c in data.get("aliases", {}).items()}
        return cls(kinds=kinds, aliases=aliases)


class EntityIndex:
    """Which entities each incident mentions, and which a query mentions. ``mine`` adds corpus-mined names."""

    def __init__(self, dictionary: EntityDictionary | None = None, mine: bool = True):
        self.dictionary = dictionary or EntityDictionary.load()
        self.mine = mine

    def fit(self, incidents: Sequence[Incident]) -> Self:
        vocabulary: dict[str, str] = {}
        for kind, names in self.dictionary.kinds.items():
            vocabulary.update(dict.fromkeys(names, kind))
        if self.mine:
            for incident in incidents:
                for name, kind in mined_entities(incident):
                    vocabulary.setdefault(name, kind)
        self.vocabulary_: Mapping[str, str] = vocabulary
        self.doc_entities_: Mapping[str, frozenset[str]] = {
            incident.id: frozenset(self.extract(_entity_text(incident))) for incident in incidents}
        return self

    def extract(self, text: str) -> list[str]:
        """Entities named in ``text`` (canonical names, sorted), by whole-token match or alias."""
        found = set()
        for name in surface_names(text):
            canonical = self.dictionary.aliases.get(name, name)
            if canonical in self.vocabulary_:
                found.add(canonical)
        return sorted(found)

    def kind(self, name: str) -> str | None:
        return self.vocabulary_.get(name)

    def matches(self, doc_ids: Iterable[str], query_entities: Iterable[str]) -> dict[str, list[str]]:
        """The query entities each document mentions (sorted), for the documents that mention any."""
        wanted = set(query_entities)
        if not wanted:
            return {}
        found = {doc_id: sorted(wanted & self.doc_entities_.get(doc_id, frozenset())) for doc_id in doc_ids}
        return {doc_id: shared for doc_id, shared in found.items() if shared}

    def fit_delta(self, incidents: Sequence[Incident], base: EntityIndex) -> Self:
        """Index ``incidents`` as a delta segment of ``base``: the vocabulary is ``base``'s (overlaid, not copied)
        plus the names these incidents establish (``base``'s kind wins), and their entities are found with it.
        ``base``'s documents keep theirs until the next full ``fit``, which would also find a newly mined name
        in them."""
        from sherlock.retrievers.segments import Overlay

        extra: dict[str, str] = {}
        if self.mine:
            for incident in incidents:
                for name, kind in mined_entities(incident):
                    if name not in base.vocabulary_:
                        extra.setdefault(name, kind)
        self.vocabulary_ = Overlay(base.vocabulary_, extra)
        self.doc_entities_ = {incident.id: frozenset(self.extract(_entity_text(incident))) for incident in incidents}
        return self

    def layered(self, delta: EntityIndex, hidden: Collection[str]) -> EntityIndex:
        """This (main) index with a :meth:`fit_delta` index over it: the delta's vocabulary, its documents' entities,
        and none for the ``hidden`` ids (deleted, or replaced by the delta's version). Built in O(delta)."""
        from sherlock.retrievers.segments import Overlay

        index = EntityIndex(self.dictionary, self.mine)
        index.vocabulary_ = delta.vocabulary_
        index.doc_entities_ = Overlay(self.doc_entities_, delta.doc_entities_, hidden)
        return index

    def delta_json(self) -> dict:
        """A :meth:`fit_delta` index as JSON: its own names and documents (not its base's)."""
        from sherlock.retrievers.segments import Overlay

        if not isinstance(self.vocabulary_, Overlay):
            raise ValueError("delta_json writes an index made by fit_delta; write a main index with to_json()")
        return {"extra_vocabulary": dict(self.vocabulary_.top),
                "docs": {k: sorted(v) for k, v in self.doc_entities_.items()}}

    @classmethod
    def from_delta_json(cls, data: dict, base: EntityIndex) -> EntityIndex:
        """The :meth:`fit_delta` index that :meth:`delta_json` wrote, over ``base``."""
        from sherlock.retrievers.segments import Overlay

        index = cls(base.dictionary, base.mine)
        index.vocabulary_ = Overlay(base.vocabulary_, dict(data["extra_vocabulary"]))
        index.doc_entities_ = {k: frozenset(v) for k, v in data["docs"].items()}
        return index

    def to_json(self) -> dict:
        return {"vocabulary": dict(self.vocabulary_), "docs": {k: sorted(v) for k, v in self.doc_entities_.items()}}

    @classmethod
    def from_json(cls, data: dict, dictionary: EntityDictionary) -> EntityIndex:
        index = cls(dictionary)
        index.vocabulary_ = dict(data["vocabulary"])
        index.doc_entities_ = {k: frozenset(v) for k, v in data["docs"].items()}
        return index


#: The boost counts at most this many shared entities per document.
MAX_BOOSTED_ENTITIES = 2


def boost_factor(matches: int, multiplier: float) -> float:
    """The entity boost of a document sharing ``matches`` entities with the query: ``multiplier ** min(matches, 2)``."""
    return multiplier ** min(matches, MAX_BOOSTED_ENTITIES)


def mined_entities(incident: Incident) -> list[tuple[str, str]]:
    """Entity names an incident itself establishes: its service, entity-valued ``extra`` fields, snake_case
    identifiers (merchant ids, gateway codes) and codes written after "error"/"code"."""
    found: list[tuple[str, str]] = []
    if incident.service:
        found.append((normalize_name(incident.service), "services"))
    for key, kind in EXTRA_FIELD_KINDS.items():
        value = incident.extra.get(key)
        if isinstance(value, str) and 0 < len(value) <= 60:
            found.append((normalize_name(value), kind))
    text = _entity_text(incident)
    found.extend((name, "identifiers") for name in _SNAKE_ID.findall(text.lower()) if len(name) <= 40)
    found.extend((normalize_name(code), "error_codes") for code in _ERROR_CODE.findall(text))
    return found


def _entity_text(incident: Incident) -> str:
    extras = " ".join(str(incident.extra.get(key, "")) for key in EXTRA_FIELD_KINDS)
    return f"{incident.text()}\n{incident.service or ''}\n{extras}"
