"""A Markdown or plain-text postmortem split into its parts: YAML front matter, the title, the text before the first
section, the sections (one per heading, with the markdown lines under it), and the facts written as ``Key: value``
lines (``**Date**: 2015-10-21``, ``- Category: Kubernetes``).

Headings are ATX (``## Summary``) and setext (``Summary`` over ``-----``) headings, and two forms templates use for
known headings only: a line that is all bold (``**Root cause**``) and a label line (``Root cause: ...``,
``**Resolution**: ...``, the value starting the section's text). Nothing inside fenced code is read as a heading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from sherlock.storage.importers.markup import markdown_to_text
from sherlock.storage.importers.markup.markdown import MD_FENCE
from sherlock.storage.importers.postmortem.headings import FACT_KINDS, HeadingRule, match_heading

#: The level given to bold and label-line headings: below every ``#`` heading, so they nest inside the one above.
INLINE_LEVEL = 7

ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
BOLD_LINE = re.compile(r"^ {0,3}(\*\*|__)(?P<text>[^*_\n].*?)\1\s*:?\s*$")
LABEL = re.compile(r"^ {0,3}(?P<item>[-*+]\s+)?(?:(\*\*|__)(?P<bold>[^*_\n]{1,60}?)(?:\2\s*:|:\s*\2)"
                   r"|(?P<plain>[A-Za-z][^:*_|\n]{0,60}?)\s*:)(?:\s+(?P<value>.*?))?\s*$")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
PLACEHOLDER = re.compile(r"[-*•.\s]*|\(.*\)|\{\{.*\}\}|[^:]{1,40}:\s*(\(.*\)|\{\{.*\}\}|[-.?]*)")


class PostmortemError(ValueError):
    """A postmortem that cannot be read, at the ``line`` to look at (1 when the whole file is the problem)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class Section(NamedTuple):
    """A heading (as plain text), its level (1–6, or :data:`INLINE_LEVEL`), its line, the rule it matched, and the
    markdown lines under it up to the next heading of any level."""

    heading: str
    level: int
    line: int
    rule: HeadingRule | None
    body: list[str]


class Fact(NamedTuple):
    """A ``date``, ``severity`` or ``category`` as written, and the line it was written on."""

    kind: str
    value: str
    line: int


class Document(NamedTuple):
    """A parsed postmortem: front matter (keys lower-cased) and the line of each key, the title (the first ``#``
    heading, when the table does not know it), the markdown lines before the first section, the sections in order,
    and the facts in line order."""

    front: dict[str, Any]
    front_lines: dict[str, int]
    title: str | None
    preamble: list[str]
    sections: list[Section]
    facts: list[Fact]


def parse_document(text: str) -> Document:
    """Split a postmortem's text into front matter, title, preamble, sections and facts (see the module)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    front, front_lines, start = read_front_matter(lines)
    preamble: list[str] = []
    sections: list[Section] = []
    facts: list[Fact] = []
    current, fence, index = preamble, "", start
    while index < len(lines):
        line = lines[index]
        opened = MD_FENCE.match(line)
        if fence or opened:
            if fence and opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            elif not fence and opened:
                fence = opened.group(1)
            current.append(line)
            index += 1
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        previous = lines[index - 1] if index > start else ""
        in_labels = bool(sections) and sections[-1].level == INLINE_LEVEL
        section, fact, used = _heading(line, following, previous, index + 1, in_labels)
        fact = fact or (None if section else _fact(line, index + 1))
        if fact:
            facts.append(fact)
        if section is None:
            current.append(line)
        else:
            sections.append(section)
            current = section.body
        index += used
    facts.extend(Fact(s.rule.kind, _first_line(s.body), s.line) for s in sections if s.rule and
                 s.rule.kind in FACT_KINDS)
    title = None
    if sections and sections[0].level == 1 and sections[0].rule is None and sections[0].heading:
        title = sections[0].heading
        preamble.extend(sections.pop(0).body)
    return Document(front, front_lines, title, preamble, sections, sorted(facts, key=lambda fact: fact.line))


def read_front_matter(lines: list[str]) -> tuple[dict[str, Any], dict[str, int], int]:
    """YAML front matter between ``---`` lines at the top: its mapping, the line of each top-level key, and the index
    of the first line after it. ``PostmortemError`` at the offending line when it is not a YAML mapping."""
    if not lines or lines[0].strip() != "---":
        return {}, {}, 0
    end = next((index for index in range(1, len(lines)) if lines[index].strip() in ("---", "...")), None)
    if end is None:
        return {}, {}, 0  # a thematic break, not front matter
    import yaml  # only files with front matter need it

    try:
        data = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise PostmortemError(line, f"front matter is not valid YAML ({getattr(exc, 'problem', None) or exc}); "
                              "fix it, or remove the --- lines around it") from None
    if not isinstance(data, dict):
        raise PostmortemError(1, f"front matter must be 'key: value' lines, got a YAML {type(data).__name__}")
    keys: dict[str, int] = {}
    for number, line in enumerate(lines[1:end], start=2):
        key = re.match(r"([A-Za-z_][\w-]*)\s*:", line)
        if key:
            keys.setdefault(key.group(1).lower(), number)
    return {str(key).lower(): value for key, value in data.items()}, keys, end + 1


def has_content(lines: Sequence[str]) -> bool:
    """Whether ``lines`` hold anything a person wrote about an incident: not blanks, bare labels (``Date:``), lone
    bullets, ``(placeholders)`` or ``{{ placeholders }}``, table header rows, or table rows with an empty cell (a
    form still to fill in). Code counts."""
    fence = ""
    for index, line in enumerate(lines):
        opened = MD_FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0]:
                fence = ""
            elif line.strip():
                return True
            continue
        if opened:
            fence = opened.group(1)
            continue
        stripped = line.strip()
        if stripped.startswith("|"):
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if TABLE_RULE.match(stripped) or TABLE_RULE.match(following):
                continue
            if all(cell.strip() for cell in stripped.strip("|").split("|")):
                return True
            continue
        plain = re.sub(r"^(?:- |\d+\. )", "", markdown_to_text(stripped)) if stripped else ""
        if not PLACEHOLDER.fullmatch(plain):
            return True
    return False


def _heading(line: str, following: str, previous: str, number: int, in_labels: bool,
             ) -> tuple[Section | None, Fact | None, int]:
    """The section a line starts, a fact its heading states, and how many lines it takes. ``in_labels``: the
    current section was itself started by a label line, so a bold label the table does not know
    (``**Detection**: ...`` after ``**Resolution**: ...``) starts the next one."""
    atx = ATX.match(line)
    if atx:
        return (*_section(_plain(atx.group(2) or ""), len(atx.group(1)), number, inline=False), 1)
    if SETEXT.match(following) and line.strip() and not previous.strip() and not _is_block(line):
        return (*_section(_plain(line), 1 if following.strip()[0] == "=" else 2, number, inline=False), 2)
    bold = BOLD_LINE.match(line)
    if bold:
        return (*_section(_plain(bold.group("text")).rstrip(":"), INLINE_LEVEL, number, inline=True), 1)
    label = LABEL.match(line)
    if label and not label.group("item"):
        heading = (label.group("bold") or label.group("plain") or "").strip()
        rule = match_heading(heading)
        if (rule and rule.kind not in FACT_KINDS) or (rule is None and in_labels and label.group("bold")):
            return Section(heading, INLINE_LEVEL, number, rule, [label.group("value") or ""]), None, 1
    return None, None, 1


def _section(heading: str, level: int, number: int, inline: bool) -> tuple[Section | None, Fact | None]:
    """A heading's section. ``Label: value`` headings: a fact (``# incident date: 2019-02-20, logs lost`` stays a
    heading and states a date), or a known section whose text starts with the value. Bold lines only count as
    headings when the table knows them."""
    rule = match_heading(heading)
    body: list[str] = []
    if rule is None and ":" in heading:
        label, value = (part.strip() for part in heading.split(":", 1))
        labelled = match_heading(label)
        if labelled and labelled.kind in FACT_KINDS:
            return (None if inline else Section(heading, level, number, None, [])), Fact(labelled.kind, value, number)
        if labelled:
            heading, body, rule = label, [value], labelled
    if inline and (rule is None or rule.kind in FACT_KINDS):
        return None, None
    return Section(heading, level, number, rule, body), None


def _fact(line: str, number: int) -> Fact | None:
    label = LABEL.match(line)
    if not label or not label.group("value"):
        return None
    rule = match_heading((label.group("bold") or label.group("plain") or "").strip())
    return Fact(rule.kind, label.group("value"), number) if rule and rule.kind in FACT_KINDS else None


def _first_line(lines: list[str]) -> str:
    return next((line.strip() for line in lines if line.strip()), "")


def _plain(markdown: str) -> str:
    plain = markdown if not re.search(r"[*_`\[<&\\!~]", markdown) else markdown_to_text(markdown)
    return " ".join(plain.split())


def _is_block(line: str) -> bool:
    return bool(re.match(r"^\s*(?:[-*+>|]|\d+[.)]\s)", line))
