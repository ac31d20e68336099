"""Markdown and plain-text postmortems → canonical incident records, whatever template wrote them.

Templates differ (the SRE book's ``**Date**:`` lines and Root Causes / Trigger / Resolution; Atlassian's Incident
summary / Fault / Recovery / Five whys; "Issue Summary / Root Cause / Resolution and recovery"; Azure's "Root cause
and mitigation"; front matter with title, date and severity), so sections are found by their headings
(:mod:`~sherlock.storage.importers.postmortem.headings`), the document is split by
:mod:`~sherlock.storage.importers.postmortem.document`, dates are read by
:mod:`~sherlock.storage.importers.postmortem.dates`, and :mod:`~sherlock.storage.importers.postmortem.record`
assembles the record:

- ``title``: front matter, else the first ``#`` heading, else the file name made readable;
- ``id``: front matter ``id``, else an incident id in the title (``INC-123``), else one in the file name
  (``PM2020-004 - CoreDNS upgrade issue.md``), else the file stem (spaces as ``-``);
- ``description`` / ``root_cause`` / ``resolution``: the best section for each, as plain text (code kept verbatim);
  the text before the first section when no section describes the incident;
- ``created_at``: front matter date, a ``Date:`` line or section, the first date of the timeline, a date in the title,
  a date in the file name (the source in ``extra["created_at_from"]``);
- ``severity``, ``category``: front matter, or a ``Severity:`` / ``Category:`` line; other front-matter keys kept;
- ``extra``: ``source`` ``markdown``, ``path`` (relative to the ingested folder), the unused sections as
  ``sections`` ``{heading: text}``, and the text before the first section as ``intro`` when it is not the
  description.

YAML front matter is read with PyYAML's ``safe_load`` (already installed with the runtime dependencies; pinned in
requirements.txt), only for files that have front matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sherlock.storage.importers.postmortem.document import PostmortemError, parse_document
from sherlock.storage.importers.postmortem.headings import HEADINGS, HeadingRule, match_heading, normalise_heading
from sherlock.storage.importers.postmortem.record import postmortem_record
from sherlock.storage.raw import RawRecord, read_text

#: File extensions read as postmortems.
POSTMORTEM_SUFFIXES = (".md", ".markdown", ".txt")

__all__ = ["HEADINGS", "POSTMORTEM_SUFFIXES", "HeadingRule", "PostmortemError", "match_heading",
           "normalise_heading", "parse_document", "postmortem_record", "read_markdown"]


def read_markdown(path: Path, root: Path | None = None) -> Iterator[RawRecord]:
    """The one record of a postmortem file, at line 1; a file that cannot be read as an incident (an empty template,
    bad front matter, an unreadable date) becomes a ``ValueError`` record at the line to look at, which ingest reports
    as ``FILE:LINE: reason``. ``root``: the folder ingested, that ``extra["path"]`` is relative to (default: the
    file's own folder)."""
    text = read_text(path)
    name = path.relative_to(root).as_posix() if root is not None else path.name
    try:
        yield RawRecord(1, postmortem_record(text, name))
    except PostmortemError as exc:
        yield RawRecord(exc.line, ValueError(str(exc)))
