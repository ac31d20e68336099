"""Links between incidents that are one incident seen by two tools, or one postmortem found in two folders.

**By reference.** An incident whose text or ``extra`` fields mention another stored incident is linked to it both
ways, in each one's ``extra["links"]`` (``[{"id", "source", "why"}]``, deduplicated and sorted):

* ``"mentions its id"``: an exact stored id written as a word (``OPS-12``, ``PD-1234``, ``INC0010001``,
  ``owner/repo#7``);
* ``"mentions its URL"``: the other's ``extra["url"]`` (compared without a trailing ``/``, host in lower case), or a
  PagerDuty incident URL (``https://<sub>.pagerduty.com/incidents/<id>``) naming its ``extra["pagerduty_id"]``.

Either incident may arrive first. Each linking run writes two small ledgers into the store's ``meta`` table, keyed by
reference: which incidents *are* a URL or PagerDuty id (``links.is:<key>``) and which *mention* an id, URL or PagerDuty
id (``links.mentioned:<key>``; at most :data:`MENTIONERS_MAX` each). So an incident arriving later finds the ones that
mention it, and ones it mentions, by key lookups bounded by the batch — never by scanning the store. (Incidents stored
before linking existed are found by id, and by PagerDuty id with one :meth:`Store.find_extra` per PagerDuty URL
mentioned; by URL only once re-ingested.) Links are only added: an edit that drops a mention keeps the link.

**Postmortem copies.** A postmortem's id comes from its file (its stem, or the id in its name or front matter), so the
same file in two folders arrives twice under one id. Ingest remembers which file each stored postmortem came from
(``links.file:<id>``; for ones stored earlier, their ``extra["path"]``). A postmortem from another file is not allowed
to overwrite it, whether its text is the same or not: it is stored as ``<id>~<6 hex digits of its file's path>``
(the same id each time that file is ingested, so re-ingesting stays a no-op), linked to the first with
``"same postmortem file name"``, and — when its text is the same — reported in its file's ``duplicate_content``.
A postmortem moved to another folder is therefore stored as a copy: delete the old id when that is what happened.

Records that come back from a tool (re-ingest, sync, webhook) without ``links`` keep the links already stored
(:func:`carry_links`), so an unchanged record stays unchanged.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sherlock.schema import Incident
from sherlock.storage.importers.postmortem.record import NOT_ID_PREFIXES
from sherlock.storage.ingest import FileReport
from sherlock.storage.store import Store, UpsertResult

#: Why two incidents are linked, by the kind of reference (``id``, ``url``, ``pagerduty``), and for postmortem copies.
WHY = {"id": "mentions its id", "url": "mentions its URL", "pagerduty": "mentions its URL"}
SAME_FILE = "same postmortem file name"
#: How many mentioning incidents the ledger keeps per reference (a URL every incident quotes is no incident's own).
MENTIONERS_MAX = 100
#: ``extra`` keys whose text is not scanned for mentions (the incident's own references, and the links themselves).
NOT_SCANNED = frozenset({"links", "url", "source", "path", "pagerduty_id"})

ID_MENTION = re.compile(r"(?<![\w/#.-])([A-Z][A-Z0-9]{0,11}-\d{1,9}|[A-Z]{2,5}\d{5,10}|[\w.-]+/[\w.-]+#\d+)(?![\w-])")
URL = re.compile(r"https?://[^\s<>\"'`(){}\[\]|\\^]+", re.IGNORECASE)
PAGERDUTY_URL = re.compile(r"https?://[\w-]+\.pagerduty\.com/incidents/([A-Za-z0-9]+)", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Link:
    """``id`` is linked to ``other`` (whose tool is ``source``): ``id`` mentions it, or both are copies of a file."""

    id: str
    other: str
    source: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.id} -> {self.other} ({self.source}): {self.why}"


@dataclass(frozen=True)
class Copy:
    """A postmortem stored as ``id`` because ``original`` was already stored from another file; ``file`` is the
    copy's path as ingest was given it; ``same_text`` when both have the same indexed text."""

    id: str
    original: str
    file: str
    same_text: bool


# -- references ----------------------------------------------------------------------------------------------------

def normal_url(url: str) -> str:
    """A URL as compared: trailing punctuation and ``/`` dropped, scheme and host in lower case."""
    url = url.rstrip(".,;:!?*_~").rstrip("/")
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}{sep}{host.lower()}{slash}{path}"


def own_keys(incident: Incident) -> set[str]:
    """The references that name ``incident``: ``url:<its URL>`` and ``pagerduty:<its PagerDuty id>``."""
    keys = set()
    url, pagerduty_id = incident.extra.get("url"), incident.extra.get("pagerduty_id")
    if isinstance(url, str) and url.strip():
        keys.add(f"url:{normal_url(url.strip())}")
        match = PAGERDUTY_URL.match(url.strip())
        if match:
            keys.add(f"pagerduty:{match.group(1)}")
    if isinstance(pagerduty_id, str) and pagerduty_id.strip():
        keys.add(f"pagerduty:{pagerduty_id.strip()}")
    return keys


def mentions(incident: Incident) -> set[str]:
    """The references ``incident``'s text and ``extra`` make to others: ``id:``, ``url:`` and ``pagerduty:`` keys
    (a PagerDuty incident URL as its PagerDuty id), its own left out."""
    found: set[str] = set()
    for text in (incident.text(), *_strings({k: v for k, v in incident.extra.items() if k not in NOT_SCANNED})):
        for match in URL.finditer(text):
            pagerduty = PAGERDUTY_URL.match(match.group(0))
            found.add(f"pagerduty:{pagerduty.group(1)}" if pagerduty else f"url:{normal_url(match.group(0))}")
        for match in ID_MENTION.finditer(URL.sub(" ", text)):
            word = match.group(1)
            if re.sub(r"[\d-].*", "", word) not in NOT_ID_PREFIXES:
                found.add(f"id:{word}")
    return found - own_keys(incident) - {f"id:{incident.id}"}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _strings(item)


# -- linking -------------------------------------------------------------------------------------------------------

def link_incidents(store: Store, ids: Iterable[str], copies: Sequence[Copy] = ()) -> list[Link]:
    """Link the stored incidents ``ids`` (those just added or updated) with every stored incident they mention or
    that mentions them, and each copy with its original; store the new links (one upsert, source ``links``) and
    return them, one per pair and reason, sorted (links already stored are not returned again). Cost: key lookups
    and writes per reference of the batch."""
    batch = store.get_many(ids)
    said = {incident_id: mentions(incident) for incident_id, incident in batch.items()}
    owned = {incident_id: own_keys(incident) for incident_id, incident in batch.items()}
    for incident_id, keys in owned.items():
        for key in keys:
            _remember(store, f"links.is:{key}", incident_id)
    for incident_id, keys in said.items():
        for key in keys:
            _remember(store, f"links.mentioned:{key}", incident_id)
    named = {key[3:] for keys in said.values() for key in keys if key.startswith("id:")}
    stored_ids = set(store.get_many(named))
    pairs: set[tuple[str, str, str]] = set()
    for incident_id, keys in said.items():
        for key in keys:
            kind, _, value = key.partition(":")
            for other in _targets(store, kind, value, stored_ids):
                pairs.add((incident_id, other, WHY[kind]))
    mentioned = store.get_meta_many(f"links.mentioned:{key}" for incident_id, keys in owned.items()
                                    for key in keys | {f"id:{incident_id}"})  # one read, not one per incident
    for incident_id, keys in owned.items():
        for key in keys | {f"id:{incident_id}"}:
            for other in _parsed_ledger(mentioned.get(f"links.mentioned:{key}")):
                pairs.add((other, incident_id, WHY[key.partition(":")[0]]))
    pairs |= {(copy.id, copy.original, SAME_FILE) for copy in copies}
    pairs = {pair for pair in pairs if pair[0] != pair[1]}
    involved = store.get_many({incident_id for pair in pairs for incident_id in pair[:2]})
    links = sorted(Link(a, b, _tool(involved[b]), why) for a, b, why in pairs if a in involved and b in involved)
    fresh = [link for link in links if not (_has(involved[link.id], link.other, link.why)
                                            and _has(involved[link.other], link.id, link.why))]
    _store_links(store, fresh, involved)
    return fresh


def _has(incident: Incident, other: str, why: str) -> bool:
    return any(isinstance(link, dict) and link.get("id") == other and link.get("why") == why
               for link in incident.extra.get("links") or [])


def _targets(store: Store, kind: str, value: str, stored_ids: set[str]) -> list[str]:
    if kind == "id":
        return [value] if value in stored_ids else []
    found = _ledger(store, f"links.is:{kind}:{value}")
    if not found and kind == "pagerduty":  # stored before the ledger existed
        incident = store.find_extra("pagerduty_id", value)
        found = [incident.id] if incident else []
    return found


def _store_links(store: Store, links: Sequence[Link], involved: dict[str, Incident]) -> UpsertResult:
    wanted: dict[str, set[tuple[str, str, str]]] = {}
    for link in links:
        wanted.setdefault(link.id, set()).add((link.other, link.source, link.why))
        wanted.setdefault(link.other, set()).add((link.id, _tool(involved[link.id]), link.why))
    changed = []
    for incident_id, entries in wanted.items():
        incident = involved[incident_id]
        merged = _merged(incident.extra.get("links"), entries)
        if merged != incident.extra.get("links"):
            changed.append(incident.model_copy(update={"extra": {**incident.extra, "links": merged}}))
    return store.upsert(changed, source="links") if changed else UpsertResult()


def _merged(current: Any, entries: Iterable[tuple[str, str, str]]) -> list[dict[str, str]]:
    """Stored links and new ones as one sorted list of ``{"id", "source", "why"}`` without repeats."""
    known = {(str(link.get("id")), str(link.get("source")), str(link.get("why")))
             for link in current or [] if isinstance(link, dict)}
    return [{"id": i, "source": s, "why": w} for i, s, w in sorted(known | set(entries))]


def _tool(incident: Incident) -> str:
    return str(incident.extra.get("source") or "sherlock")  # a canonical record: Sherlock's own format


def _ledger(store: Store, key: str) -> list[str]:
    return _parsed_ledger(store.get_meta(key))


def _parsed_ledger(value: str | None) -> list[str]:
    return list(json.loads(value)) if value else []


def _remember(store: Store, key: str, incident_id: str) -> None:
    ids = _ledger(store, key)
    if incident_id not in ids and len(ids) < MENTIONERS_MAX:
        store.set_meta(key, json.dumps(sorted([*ids, incident_id])))


# -- before an upsert: postmortem copies, links carried over -------------------------------------------------------

def carry_links(store: Store, incidents: Sequence[Incident]) -> list[Incident]:
    """``incidents`` with the links their stored versions have added to their own ``extra["links"]``, so a record
    that comes back from its tool unchanged is unchanged."""
    stored = store.get_many(incident.id for incident in incidents)
    out = []
    for incident in incidents:
        old = stored.get(incident.id)
        kept = old.extra.get("links") if old else None
        if kept:
            entries = {(str(link.get("id")), str(link.get("source")), str(link.get("why")))
                       for link in kept if isinstance(link, dict)}
            merged = _merged(incident.extra.get("links"), entries)
            incident = incident.model_copy(update={"extra": {**incident.extra, "links": merged}})
        out.append(incident)
    return out


def separate_copies(store: Store, incidents: Sequence[Incident], file: str) -> tuple[list[Incident], list[Copy]]:
    """``incidents`` read from ``file``, each postmortem whose id is stored from another file given its own id
    (``<id>~<hash>``, see the module docstring), and those copies."""
    location = str(Path(file).resolve())
    stored = store.get_many(incident.id for incident in incidents if incident.extra.get("path"))
    out: list[Incident] = []
    copies: list[Copy] = []
    for incident in incidents:
        old = stored.get(incident.id)
        if old is not None and _from_another_file(store, incident, old, location):
            new_id = f"{incident.id}~{hashlib.sha256(location.encode('utf-8')).hexdigest()[:6]}"
            copies.append(Copy(new_id, incident.id, file, old.text_fingerprint() == incident.text_fingerprint()))
            incident = incident.model_copy(update={"id": new_id})
        out.append(incident)
    return out, copies


def _from_another_file(store: Store, incident: Incident, old: Incident, location: str) -> bool:
    """Whether a postmortem's id is stored from another file: the one remembered, else another source or path."""
    if not incident.extra.get("path"):
        return False
    remembered = store.get_meta(f"links.file:{old.id}")
    if remembered is not None:
        return remembered != location
    return old.extra.get("source") != incident.extra.get("source") or old.extra.get("path") != incident.extra["path"]


class LinkingWriter:
    """The store as ingest writes to it (pass it where a :class:`Store` is taken): each upsert first separates
    postmortem copies and carries stored links over, then remembers each postmortem's file. Every other attribute
    is the store's. ``copies``: the copies made so far."""

    def __init__(self, store: Store):
        self.store = store
        self.copies: list[Copy] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def upsert(self, incidents: Sequence[Incident], source: str | None = None) -> UpsertResult:
        if source is not None:
            incidents, copies = separate_copies(self.store, incidents, source)
            self.copies.extend(copies)
        result = self.store.upsert(carry_links(self.store, incidents), source=source)
        if source is not None:
            location = str(Path(source).resolve())
            for incident in incidents:
                key = f"links.file:{incident.id}"
                if incident.extra.get("path") and self.store.get_meta(key) != location:
                    self.store.set_meta(key, location)
        return result


def note_copies(reports: Sequence[FileReport], copies: Sequence[Copy]) -> None:
    """Add each same-text copy to its file's ``duplicate_content`` as ``(copy, original)``."""
    by_path = {report.path: report for report in reports}
    for copy in copies:
        if copy.same_text and copy.file in by_path:
            by_path[copy.file].duplicate_content.append((copy.id, copy.original))
