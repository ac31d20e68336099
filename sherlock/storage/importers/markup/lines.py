"""What every markup converter shares: the test for HTML, substitution rules applied outside code spans, and the
joining of prose and verbatim pieces into lines."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

#: Substitutions applied in order: a pattern and its replacement (a template or a function of the match).
Rules = list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]]

#: HTML tags whose presence makes a text HTML (``List<String>`` or ``<class 'int'>`` do not).
HTML_TAG = re.compile(r"</?(?:p|div|br|span|a|ul|ol|li|b|i|u|s|strong|em|code|pre|h[1-6]|table|thead|tbody|tr|td|th"
                      r"|blockquote|img|hr|font|sup|sub|dl|dt|dd|[a-z]+-[a-z-]+)(?:\s[^<>]*)?/?>", re.IGNORECASE)


def looks_like_html(text: str) -> bool:
    """Whether ``text`` holds HTML markup (a known tag or a custom element), not just a ``<`` in an error string."""
    return bool(HTML_TAG.search(text))


def join_lines(pieces: Iterable[tuple[str, bool]]) -> str:
    """Plain text from ``(text, verbatim)`` pieces: prose lines stripped and blank ones dropped; verbatim pieces
    (code) kept as they are, less their leading and trailing blank lines."""
    lines: list[str] = []
    for text, verbatim in pieces:
        if verbatim:
            block = text.strip("\r\n")
            if block.strip():
                lines.append(block)
        else:
            lines.extend(line.strip() for line in text.split("\n") if line.strip())
    return "\n".join(lines)


#: An escaped punctuation character (``\*``) is hidden in the Private Use Area while emphasis rules run, so that
#: ``\*literal\*`` comes out as ``*literal*``; :data:`UNHIDE` brings it back.
PRIVATE = 0xE000
HIDE = (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<^?])"), lambda match: chr(PRIVATE + ord(match.group(1))))
UNHIDE = (re.compile("[\uE000-\uE07F]"), lambda match: chr(ord(match.group(0)) - PRIVATE))


def apply_rules(rules: Rules, text: str) -> str:
    """``text`` with every rule's substitution made, in order."""
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def apply_outside(protected: re.Pattern[str], line: str, rules: Rules) -> str:
    """``rules`` applied to the parts of ``line`` outside ``protected`` spans (inline code), whose last group is kept
    verbatim."""
    parts, position = [], 0
    for match in protected.finditer(line):
        parts.append(apply_rules(rules, line[position:match.start()]))
        parts.append(match.group(match.lastindex or 0))
        position = match.end()
    parts.append(apply_rules(rules, line[position:]))
    return "".join(parts)
