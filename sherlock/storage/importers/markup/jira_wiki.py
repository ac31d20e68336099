"""Jira wiki markup (REST v2 and Server/DC descriptions and comments) → plain text, line by line."""

from __future__ import annotations

import re

from sherlock.storage.importers.markup.lines import HIDE, UNHIDE, Rules, apply_outside, apply_rules, join_lines

JIRA_CODE = re.compile(r"\{(code|noformat)(?::[^}]*)?\}(.*?)\{\1\}", re.DOTALL)
JIRA_MACRO = re.compile(r"\{(?:quote|panel|color|section|column|expand|tip|info|note|warning|code|noformat)"
                        r"(?::[^}]*)?\}")  # an unclosed {code} too
JIRA_MONO = re.compile(r"\{\{(.+?)\}\}")
JIRA_LINE_RULES: Rules = [
    (re.compile(r"^h[1-6]\.\s+"), ""),                    # h1. heading
    (re.compile(r"^bq\.\s+"), ""),                        # bq. quote
    (re.compile(r"^[*#-]+\s+"), "- "),                    # * bullet, ## numbered, - dash
    (re.compile(r"^-{4,}$"), ""),                         # ---- rule
]
JIRA_INLINE_RULES: Rules = [
    (re.compile(r"\\\\"), "\n"),                                              # \\ line break
    HIDE,                                                                      # \* escapes
    (re.compile(r"\[([^\[\]|]+)\|([^\[\]]+)\]"), r"\1"),                       # [text|url]
    (re.compile(r"\[~(?:accountid:)?([^\[\]]+)\]"), r"\1"),                    # [~user] mention
    (re.compile(r"\[((?:https?|ftp|mailto):[^\[\]\s]+)\]"), r"\1"),           # [http://url]
    (re.compile(r"[ \t]*!(?:[^!\s|]+\.(?:png|jpe?g|gif|svg|bmp|webp)|https?://[^!\s|]+)(?:\|[^!\n]*)?![ \t]*",
                re.IGNORECASE), " "),                                          # !image.png|thumbnail!
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),         # *bold*
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),           # _italic_
    (re.compile(r"(?<![\w+])\+(?=\S)(.+?)(?<=\S)\+(?![\w+])"), r"\1"),         # +inserted+
    (re.compile(r"\?\?(?=\S)(.+?)(?<=\S)\?\?"), r"\1"),                       # ??citation??
    UNHIDE,
]


def jira_wiki_to_text(text: str) -> str:
    """Jira wiki markup (REST v2 descriptions and comments) → plain text: ``h1.``–``h6.`` and ``bq.`` prefixes
    dropped, ``*bold*`` ``_italic_`` ``+ins+`` ``??cite??`` unwrapped, bullets (``*``, ``#``, ``-``) as ``- item``,
    ``[text|url]`` as its text, ``[~user]`` as the user, images and ``{quote}``/``{panel}``/``{color}`` macros
    removed, table rows (``||a||b||``, ``|a|b|``) as cells joined by `` | ``; ``{code}`` and ``{noformat}`` blocks and
    ``{{monospace}}`` kept verbatim.

    >>> jira_wiki_to_text("h2. Impact\\n* *checkout* down, see [runbook|https://wiki/rb]\\n{code}ERR 5003{code}")
    'Impact\\n- checkout down, see runbook\\nERR 5003'
    """
    pieces: list[tuple[str, bool]] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    position = 0
    for match in JIRA_CODE.finditer(text):
        pieces.append((_jira_prose(text[position:match.start()]), False))
        pieces.append((match.group(2), True))
        position = match.end()
    pieces.append((_jira_prose(text[position:]), False))
    return join_lines(pieces)


def _jira_prose(text: str) -> str:
    lines = []
    for line in JIRA_MACRO.sub("", text).split("\n"):
        line = line.strip()
        line = apply_rules(JIRA_LINE_RULES, line)
        table = line.startswith("|")
        line = apply_outside(JIRA_MONO, line, JIRA_INLINE_RULES)
        if table:
            line = " | ".join(cell.strip() for cell in re.split(r"\|\|?", line.strip("|")) if cell.strip())
        lines.append(line)
    return "\n".join(lines)
