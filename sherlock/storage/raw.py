"""Raw records as read from a file, before validation: the shared ground of :mod:`sherlock.storage.ingest` and the
tool importers (:mod:`sherlock.storage.importers`), which both read JSON files and report each record at its line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class UnusableFileError(Exception):
    """The file as a whole cannot be read (missing, not UTF-8, not JSON, no CSV header, ...)."""


@dataclass(frozen=True)
class RawRecord:
    """One record as read from a file, with the line it starts on (1-based)."""

    line: int
    data: Any


def read_text(path: Path) -> str:
    """The file's text (UTF-8, a byte-order mark dropped), or :class:`UnusableFileError` saying what to do."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UnusableFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UnusableFileError(f"{path}: is a directory; pass the files inside it") from None
    except UnicodeDecodeError as exc:
        raise UnusableFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                "re-save the file as UTF-8") from None


def load_json(path: Path) -> tuple[str, Any]:
    """The file's text and its parsed JSON document, or :class:`UnusableFileError` at the line of the syntax error."""
    text = read_text(path)
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnusableFileError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); fix the syntax "
                                "or read it as JSON Lines (format jsonl) for one record per line") from None


def array_item_lines(text: str, key: str | None = None) -> Iterator[int]:
    """The 1-based line on which each element of a JSON array starts: the top-level array, or with ``key`` the array
    under that key of the top-level object (an API envelope such as ``{"issues": [...]}``). Nothing when the key is
    absent or does not hold an array."""
    start = _top_level_value(text, key) if key is not None else text.index("[")
    if start is None or text[start] != "[":
        return
    decoder = json.JSONDecoder()
    position = start + 1
    line, counted = 1, 0  # newlines counted once each, up to ``counted`` (counting from 0 per item was quadratic)
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            return
        line += text.count("\n", counted, position)
        counted = position
        yield line
        _, position = decoder.raw_decode(text, position)


def _top_level_value(text: str, key: str) -> int | None:
    """Where the value of ``key`` in the top-level JSON object starts, or None."""
    decoder = json.JSONDecoder()
    position = _skip_blanks(text, 0)
    if position >= len(text) or text[position] != "{":
        return None
    position += 1
    while True:
        position = _skip_blanks(text, position, ",")
        if position >= len(text) or text[position] == "}":
            return None
        name, position = decoder.raw_decode(text, position)
        position = _skip_blanks(text, _skip_blanks(text, position) + 1)  # past the colon
        if name == key:
            return position
        _, position = decoder.raw_decode(text, position)


def _skip_blanks(text: str, position: int, also: str = "") -> int:
    while position < len(text) and (text[position].isspace() or text[position] in also):
        position += 1
    return position
