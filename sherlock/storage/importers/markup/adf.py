"""Atlassian Document Format (Jira Cloud REST v3 descriptions and comments) → plain text: a walk of the JSON tree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sherlock.storage.importers.markup.lines import join_lines


def adf_to_text(document: Any) -> str:
    """An ADF tree (``{"type": "doc", "content": [...]}``, Jira Cloud v3) → plain text: paragraphs and headings one
    per line, list items as ``- item`` / ``1. item``, table rows as cells joined by `` | ``, code blocks verbatim;
    mentions, emoji, status lozenges and dates by their text, cards by their URL, media left out."""
    pieces: list[tuple[str, bool]] = []
    _adf_block(document, pieces, "")
    return join_lines(pieces)


def _adf_block(node: Any, pieces: list[tuple[str, bool]], prefix: str) -> None:
    if not isinstance(node, dict):
        return
    kind, children = node.get("type"), node.get("content") or []
    if kind == "codeBlock":
        pieces.append(("".join(child.get("text", "") for child in children if isinstance(child, dict)), True))
    elif kind in ("paragraph", "heading"):
        pieces.append((prefix + _adf_inline(children), False))
    elif kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        start = (node.get("attrs") or {}).get("order", 1) if kind == "orderedList" else None
        for number, item in enumerate(children, start=start or 1):
            _adf_block(item, pieces, f"{number}. " if start is not None else "- ")
    elif kind in ("taskItem", "decisionItem"):
        pieces.append((prefix + _adf_inline(children), False))
    elif kind == "tableRow":
        pieces.append((" | ".join(adf_to_text({"type": "doc", "content": cell.get("content") or []})
                                  .replace("\n", " ") for cell in children if isinstance(cell, dict)), False))
    elif kind in ("expand", "nestedExpand") and (node.get("attrs") or {}).get("title"):
        pieces.append((node["attrs"]["title"], False))
        for child in children:
            _adf_block(child, pieces, "")
    elif kind in ("text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status"):
        pieces.append((prefix + _adf_inline([node]), False))
    elif kind in ("blockCard", "embedCard"):
        pieces.append(((node.get("attrs") or {}).get("url", ""), False))
    elif kind not in ("media", "mediaSingle", "mediaGroup", "rule"):
        for index, child in enumerate(children):  # doc, listItem, blockquote, panel, table, layouts, unknown blocks
            _adf_block(child, pieces, prefix if index == 0 else "")


def _adf_inline(nodes: list[Any]) -> str:
    parts = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        kind, attrs = node.get("type"), node.get("attrs") or {}
        if kind == "text":
            parts.append(node.get("text", ""))
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind in ("mention", "emoji", "status"):
            parts.append(attrs.get("text") or attrs.get("shortName") or "")
        elif kind == "inlineCard":
            parts.append(attrs.get("url", ""))
        elif kind == "date" and str(attrs.get("timestamp", "")).isdigit():
            parts.append(datetime.fromtimestamp(int(attrs["timestamp"]) / 1000, UTC).date().isoformat())
        else:
            parts.append(_adf_inline(node.get("content") or []))
    return "".join(parts)
