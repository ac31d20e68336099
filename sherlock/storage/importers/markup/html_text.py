"""HTML (ServiceNow, PagerDuty, Statuspage) → plain text, with the standard library's ``html.parser``."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from sherlock.storage.importers.markup.lines import join_lines

BLOCK_TAGS = {"p", "div", "ul", "ol", "table", "thead", "tbody", "blockquote", "hr", "section", "article", "header",
              "footer", "dl", "dt", "dd", "figure", "figcaption", "details", "summary", "address",
              "h1", "h2", "h3", "h4", "h5", "h6"}
SKIPPED_TAGS = {"script", "style", "head", "template"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[tuple[str, bool]] = []
        self.line: list[str] = []
        self.code: list[str] | None = None  # inside <pre>
        self.skipping = 0
        self.lists: list[list[int]] = []  # [kind (0 bullet, 1 numbered), counter]
        self.cells = 0

    def flush(self) -> None:
        text = "".join(self.line)
        if re.fullmatch(r"\s*(?:-|\d+\.)?\s*", text):  # nothing yet, or only a list marker waiting for its text
            if not text.strip():
                self.line = []
            return
        self.pieces.append((text, False))
        self.line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        elif self.code is not None:
            if tag == "br":
                self.code.append("\n")
        elif tag == "pre":
            self.flush()
            self.code = []
        elif tag == "br":
            self.flush()
        elif tag in ("ul", "ol"):
            self.flush()
            self.lists.append([int(tag == "ol"), 0])
        elif tag == "li":
            self.flush()
            numbered = bool(self.lists) and self.lists[-1][0] == 1
            if self.lists:
                self.lists[-1][1] += 1
            self.line.append(f"{self.lists[-1][1]}. " if numbered else "- ")
        elif tag == "tr":
            self.flush()
            self.cells = 0
        elif tag in ("td", "th"):
            self.line.append(" | " if self.cells else "")
            self.cells += 1
        elif tag == "img":
            self.line.append(dict(attrs).get("alt") or "")
        elif tag in BLOCK_TAGS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "pre" and self.code is not None:
            self.pieces.append(("".join(self.code), True))
            self.code = None
        elif tag in ("ul", "ol") and self.lists:
            self.flush()
            self.lists.pop()
        elif tag in BLOCK_TAGS or tag in ("li", "tr"):
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.code is not None:
            self.code.append(data)
        else:
            self.line.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """HTML → plain text: block elements and ``<br>`` end lines, ``<li>`` become ``- item`` (``1. item`` in ``<ol>``),
    table cells are joined by `` | ``, ``<pre>`` is kept verbatim, scripts and styles are dropped, entities decoded.

    >>> html_to_text("<p>Disk <b>full</b> on db-1</p><ul><li>cleaned /var/log</li></ul>")
    'Disk full on db-1\\n- cleaned /var/log'
    """
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    if parser.code is not None:  # an unclosed <pre> still counts
        parser.pieces.append(("".join(parser.code), True))
    parser.flush()
    return join_lines(parser.pieces)
