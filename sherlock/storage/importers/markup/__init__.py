"""Rich text from incident tools → clean plain text for the retrievers: HTML (ServiceNow, PagerDuty, Statuspage),
Atlassian Document Format (Jira Cloud v3), Jira wiki markup (Jira v2 and Server) and Markdown (GitHub, incident.io).

Every converter gives one paragraph, heading, list item or table row per line (``- `` before list items, `` | ``
between cells), no blank lines, and keeps code blocks (``{code}``, ``{noformat}``, fenced and indented Markdown code,
``<pre>``) and inline code byte for byte, so error strings and stack traces stay searchable as they were written.
Links become their text, images their alt text or nothing.

HTML goes through the standard library's ``html.parser``. ADF is a JSON tree and is walked directly. Jira wiki markup
and Markdown are converted by hand, line by line: the aim is searchable text, not rendering, and a full parser
(markdown-it-py) would be a new pinned dependency on the ingest path that still needs a renderer to plain text
written on top; the line rules here leave identifiers (``snake_case``, ``__init__``, globs) and bracketed log
levels (``[ERROR]``) alone, which emphasis parsers do not always do.
"""

from sherlock.storage.importers.markup.adf import adf_to_text
from sherlock.storage.importers.markup.html_text import html_to_text
from sherlock.storage.importers.markup.jira_wiki import jira_wiki_to_text
from sherlock.storage.importers.markup.lines import join_lines, looks_like_html
from sherlock.storage.importers.markup.markdown import markdown_to_text

__all__ = ["adf_to_text", "html_to_text", "jira_wiki_to_text", "join_lines", "looks_like_html", "markdown_to_text"]
