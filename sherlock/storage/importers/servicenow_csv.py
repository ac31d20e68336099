"""ServiceNow list CSV exports (a list view's "Export → CSV"): one header cell per field name (``number,
short_description,priority,state,...``), display values in the cells (``2 - High``, ``Resolved``, ``2026-01-20
07:12:09``).

Each row is mapped exactly as the Table API's display values are (:func:`sherlock.storage.importers.servicenow.
to_record`), so a state or priority maps to the same status and severity level whether it came as a code (``6``,
``2``) or as its display value (``Resolved``, ``2 - High``), and close notes that label their parts are split as the
Table API's are (:func:`sherlock.storage.importers.servicenow.split_close_notes`).

Times are written in the exporting user's time zone and date format, neither of which the file names: they are read
as UTC (``extra["time_zone_guessed"]``), and a date not in ServiceNow's default ``yyyy-MM-dd HH:mm:ss`` rejects its
row, naming the field.
"""

from __future__ import annotations

from typing import Any

from sherlock.storage.importers import servicenow

NAME = "servicenow-csv"
MARKS = ("number", "short_description")



def to_record(header: list[str], cells: list[str]) -> dict[str, Any]:
    """One export row as a canonical record: empty cells are absent fields, field names are read in lower case (as
    ServiceNow writes them), a field name exported twice keeps its first non-empty cell; then the Table API mapping.
    ``ValueError`` naming what is missing or unreadable."""
    fields: dict[str, str] = {}
    for name, cell in zip(header, cells):
        if cell.strip():
            fields.setdefault(name.lower(), cell)
    return servicenow.to_record(fields)
