"""Envelopes and shapes: where a tool's API puts its items, and whether a document holds that tool's items.

APIs wrap lists in an envelope (``{"incidents": [...], "more": true}``, ``{"data": [...]}``, ``{"result": [...]}``),
wrap one item in another (``{"incident": {...}}``), or return a bare array; SDK helpers and taps save bare arrays too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: How many of a document's items detection looks at: enough to see past one odd record, few enough to be quick.
SAMPLE = 20


def items_of(document: Any, lists: tuple[str, ...] = (), singles: tuple[str, ...] = ()) -> list[Any]:
    """The items of ``document``: a bare array as it is, the array under the first of ``lists`` present, the object
    under the first of ``singles`` present, else the document itself as one item. ``ValueError`` for a scalar."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise ValueError(f"expected a JSON array or object, got {type(document).__name__}")
    for key in lists:
        if isinstance(document.get(key), list):
            return document[key]
    for key in singles:
        if isinstance(document.get(key), dict):
            return [document[key]]
    return [document]


def envelope_key(document: Any, lists: tuple[str, ...]) -> str | None:
    """The key of the array that holds ``document``'s items, when they sit in an envelope."""
    if isinstance(document, dict):
        return next((key for key in lists if isinstance(document.get(key), list)), None)
    return None


def holds(document: Any, is_item: Callable[[dict[str, Any]], bool], lists: tuple[str, ...] = (),
          singles: tuple[str, ...] = ()) -> bool:
    """Whether ``document`` (in any of the envelopes) holds items that ``is_item`` recognises: any of the first
    ``SAMPLE`` objects. An empty list holds nothing anyone can recognise."""
    try:
        items = items_of(document, lists, singles)
    except ValueError:
        return False
    return any(is_item(item) for item in items[:SAMPLE] if isinstance(item, dict))
