"""Markdown (GitHub issues, incident.io and Rootly summaries, postmortems) → plain text, line by line."""

from __future__ import annotations

import re
from html import unescape

from sherlock.storage.importers.markup.lines import (
    HIDE,
    HTML_TAG,
    UNHIDE,
    Rules,
    apply_outside,
    apply_rules,
    join_lines,
)

MD_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
MD_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
MD_LINE_RULES: Rules = [
    (re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$"), ""),                   # --- *** ___ rules
    (re.compile(r"^ {0,3}=+\s*$"), ""),                                   # setext underline
    (re.compile(r"^ {0,3}#{1,6}(?:\s+|$)(.*?)(?:\s+#+)?\s*$"), r"\1"),    # # heading
    (re.compile(r"^(\s*>)+\s?"), ""),                                     # > quote
    (re.compile(r"^\s*[-*+]\s+(?:\[[ xX]\]\s+)?"), "- "),                 # - item, - [x] task
    (re.compile(r"^\s*(\d+)[.)]\s+"), r"\1. "),                           # 1. item
    (re.compile(r"^ {0,3}\[[^\]]+\]:\s+<?(?:(?:https?|ftp|mailto):|/|#)\S*.*$"), ""),  # [ref]: url
    (re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$"), ""),  # |---|---| table rule
]
MD_INLINE_RULES: Rules = [
    HIDE,                                                                           # \* escapes
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),                                 # ![alt](src)
    (re.compile(r"\[([^\]]+)\]\(\s*[^)\s]*(?:\s+\"[^\"]*\")?\s*\)"), r"\1"),        # [text](url "title")
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),                                 # [text][ref]
    (re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+)>"), r"\1"),                     # <https://autolink>
    (re.compile(r"<br\s*/?>", re.IGNORECASE), "\n"),
    (HTML_TAG, ""),                                                                 # inline HTML
    (re.compile(r"(?<![\w*])\*\*(?=\S)(.+?)(?<=\S)\*\*(?![\w*])"), r"\1"),          # **bold**
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?=$|[\s.,;:!?)])"), r"\1"),         # __bold__, not __init__()
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),              # *italic*
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?=$|[\s.,;:!?)])"), r"\1"),        # _italic_
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),                                 # ~~strike~~
    (re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+\d*);"), lambda match: unescape(match.group(0))),  # &amp;
    UNHIDE,
]


def markdown_to_text(text: str) -> str:
    """Markdown (GitHub issues, incident.io summaries, postmortems) → plain text: headings, emphasis, quotes, rules,
    HTML tags and comments dropped; list items as ``- item`` / ``1. item`` (task boxes dropped), links and images as
    their text, table rows as cells joined by `` | ``; fenced and indented code blocks and ``inline code`` verbatim.

    >>> markdown_to_text("## Cause\\n**Disk** full, see [graph](http://g)\\n```\\nOSError: [Errno 28]\\n```")
    'Cause\\nDisk full, see graph\\nOSError: [Errno 28]'
    """
    pieces: list[tuple[str, bool]] = []
    prose: list[str] = []
    fence: str | None = None
    code: list[str] = []
    previous_blank = True
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        opened = MD_FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence) \
                    and not line.strip()[len(opened.group(1)):].strip():
                pieces.append(("\n".join(code), True))
                fence, code = None, []
            else:
                code.append(line)
        elif opened:
            pieces.append((_markdown_prose(prose), False))
            fence, prose = opened.group(1), []
        elif line.startswith(("    ", "\t")) and line.strip() and (previous_blank or (pieces and pieces[-1][1]
                                                                                    and not prose)):
            pieces.append((_markdown_prose(prose), False))
            pieces.append((line, True))
            prose = []
        else:
            prose.append(line)
        previous_blank = not line.strip()
    pieces.append(("\n".join(code), True) if fence is not None else ("", False))
    pieces.append((_markdown_prose(prose), False))
    return join_lines(pieces)


def _markdown_prose(lines: list[str]) -> str:
    text = re.sub(r"<!--.*?(?:-->|$)", "", "\n".join(lines), flags=re.DOTALL)
    out = []
    for line in text.split("\n"):
        line = apply_rules(MD_LINE_RULES, line)
        table = line.strip().startswith("|") and line.strip().endswith("|")
        line = apply_outside(MD_CODE_SPAN, line, MD_INLINE_RULES)
        if table:
            line = " | ".join(cell.strip() for cell in line.strip().strip("|").split("|"))
        out.append(line)
    return "\n".join(out)
