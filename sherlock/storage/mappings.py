"""Field mappings remembered by the *shape* of a file — the set of its field names — so the next import of a file
shaped the same (next month's export from the same tool) is read with the mapping a person picked last time.

The shape is the sorted, case-folded set of names, hashed (SHA-256): column order, case and repeats aside, two CSVs
with the same header are one shape. The mappings live in ``<home>/mappings.json`` (readable JSON, written whole to a
temporary file and renamed over the old one, so a crash never leaves half a file)::

    store = MappingStore(mappings_path(settings))
    store.save(["key", "summary"], {"key": "id", "summary": "title"})
    store.get(["Summary", "KEY"])          # {"key": "id", "summary": "title"}
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sherlock.config import Settings


def mappings_path(settings: Settings) -> Path:
    """Where a workspace keeps its saved field mappings."""
    return settings.home / "mappings.json"


def shape_key(fields: Iterable[str]) -> str:
    """The SHA-256 (hex) of a file's field names, case-folded, stripped, deduplicated and sorted, one per line."""
    names = sorted({name.strip().casefold() for name in fields})
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


class MappingStore:
    """The saved mappings ``{source field: incident field}`` of one JSON file, by :func:`shape_key`. Each entry also
    keeps the shape's field names, so the file can be read (and pruned) by a person."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def get(self, fields: Iterable[str]) -> dict[str, str] | None:
        """The mapping saved for files shaped like ``fields``, or None; its source fields spelt as in ``fields``
        (a file that writes ``KEY`` where the saved one wrote ``key`` gets ``{"KEY": "id"}``)."""
        fields = list(fields)
        entry = self._read().get(shape_key(fields))
        if not entry:
            return None
        spelling = {name.strip().casefold(): name for name in fields}
        return {spelling.get(source.strip().casefold(), source): target for source, target in entry["mapping"].items()}

    def save(self, fields: Iterable[str], mapping: dict[str, str]) -> None:
        """Remember ``mapping`` for files shaped like ``fields`` (replacing what was saved for that shape)."""
        fields = list(fields)
        if not fields:
            raise ValueError("a mapping is saved for a file's field names, and none were given")
        entries = self._read()
        entries[shape_key(fields)] = {"fields": sorted({name.strip().casefold() for name in fields}),
                                      "mapping": dict(mapping)}
        self._write(entries)

    def forget(self, fields: Iterable[str]) -> bool:
        """Drop the mapping saved for this shape; whether there was one."""
        entries = self._read()
        if entries.pop(shape_key(fields), None) is None:
            return False
        self._write(entries)
        return True

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            entries = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{self.path}:{exc.lineno}: not valid JSON ({exc.msg}); move it aside to start with "
                             "no saved field mappings") from None
        if not isinstance(entries, dict):
            raise ValueError(f"{self.path}: expected a JSON object of saved field mappings; move it aside to start "
                             "with none")
        return entries

    def _write(self, entries: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(entries, file, indent=2, sort_keys=True)
                file.write("\n")
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
