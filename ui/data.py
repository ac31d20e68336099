"""Data's helpers: the preview of chosen files (what would be stored, before anything is), running an ingest and
remembering it, the ingest report (an outcome per file, every rejected record with its line and whole reason), the
field mapping form and the mappings saved by file shape, the sync panel (one row per incident tool), the corpus
filter, and the counts by facet."""

from __future__ import annotations

import hashlib
import re
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import plotly.express as px
import streamlit as st

from sherlock.schema import ALIASES, CANONICAL_FIELDS, Incident, severity_key
from sherlock.storage.ingest import FileReport, read_file
from sherlock.storage.mappings import MappingStore, mappings_path
from sherlock.storage.store import Store
from sherlock.storage.workspace import IngestReport, Workspace
from ui.widgets import Upload, escape_markdown, progress_callback

#: The choice "no field of the file holds this one" in the mapping form.
NOT_IN_FILE = "— not in the file —"
#: Rejected records listed per file before the rest are left to the CSV download.
SHOWN_REJECTIONS = 50
#: Records the preview shows per file, and the characters of each long text field it shows.
PREVIEW_ROWS = 10
PREVIEW_CHARS = 80


def run_ingest(ws: Workspace, paths: Sequence[str | Path], fmt: str = "auto", mapping: dict[str, str] | None = None,
               strict: bool = False, remappable: bool = True,
               saved: Sequence[dict[str, str] | None] | None = None) -> IngestReport:
    """Ingest with a progress bar; the report (and, when ``remappable``, what to run again with a mapping) stays in
    the session for :func:`ingest_report_ui` and :func:`field_mapping_ui`. ``saved``: per path, the mapping saved for
    its shape (read with it instead of ``mapping``); files that share a mapping are ingested together."""
    groups: dict[tuple[tuple[str, str], ...], list[Path]] = {}
    for number, path in enumerate(paths):
        chosen = (saved[number] if saved and saved[number] else None) or mapping or {}
        groups.setdefault(tuple(chosen.items()), []).append(Path(path))
    report = IngestReport()
    for chosen, group in groups.items():
        part = ws.ingest(group, fmt, dict(chosen), strict, progress=progress_callback(st.progress(0.0)))
        report.files.extend(part.files)
        report.possible_duplicates.extend(part.possible_duplicates)
        report.sync = part.sync
    used = dict(next(iter(groups))) if len(groups) == 1 else dict(mapping or {})
    st.session_state.ingest_report = report
    st.session_state.ingest_request = (dict(paths=[str(p) for p in paths], fmt=fmt, strict=strict,
                                            mapping=used) if remappable else None)
    return report


# -- the preview, before anything is stored -------------------------------------------------------------------------

@dataclass(frozen=True)
class Preview:
    """What ingesting one file would do: its format, its field names, the first records as they would be stored,
    and every rejection as ``FILE:LINE: reason`` (or the reason the whole file is unusable)."""

    name: str
    format: str
    fields: list[str] = field(default_factory=list)
    records: int = 0
    good: int = 0
    rows: list[dict[str, str]] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    error: str | None = None


def _short(text: str | None, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def preview_row(incident: Incident) -> dict[str, str]:
    """One incident as the preview shows it: the facets whole, the long texts cut to :data:`PREVIEW_CHARS`."""
    return {"id": incident.id, "title": _short(incident.title), "service": incident.service or "",
            "severity": incident.severity or "", "status": incident.status or "",
            "created_at": incident.created_at.isoformat() if incident.created_at else "",
            "description": _short(incident.description), "root_cause": _short(incident.root_cause),
            "resolution": _short(incident.resolution)}


@st.cache_data(show_spinner=False, max_entries=64)
def preview_file(name: str, digest: str, fmt: str, mapping: tuple[tuple[str, str], ...], _data: bytes) -> Preview:
    """Read and validate an uploaded file (``_data``, whose SHA-256 is ``digest``: the cache key) under its own name
    in a temporary folder, storing nothing (:func:`sherlock.storage.ingest.read_file`)."""
    with tempfile.TemporaryDirectory(prefix="sherlock-preview-") as folder:
        path = Path(folder) / (Path(name.replace("\\", "/")).name or "upload")
        path.write_bytes(_data)
        report, good = read_file(path, fmt, dict(mapping))
    error = report.error.replace(str(path), path.name) if report.error else None
    return Preview(path.name, report.format, [f for f in report.fields if f != "extra"], report.records, len(good),
                   [preview_row(incident) for incident in good[:PREVIEW_ROWS]],
                   [f"{path.name}:{r.line}: {r.reason}" for r in report.rejected], error)


def mapping_store(ws: Workspace) -> MappingStore:
    """The workspace's mappings saved by file shape (``<home>/mappings.json``)."""
    return MappingStore(mappings_path(ws.settings))


def preview_ui(files: Sequence[Upload], fmt: str, mappings: MappingStore) -> list[dict[str, str] | None]:
    """Per chosen file, before anything is stored: its format, its counts, the first records as they would be
    stored, its rejections, and the saved mapping read with it (with a button to forget it). Returns each file's
    saved mapping (None for a file read as it is)."""
    saved: list[dict[str, str] | None] = []
    for number, upload in enumerate(files):
        data = upload.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        preview = preview_file(upload.name, digest, fmt, (), data)
        mapping = mappings.get(preview.fields) if preview.fields and not preview.error else None
        if mapping:
            preview = preview_file(upload.name, digest, fmt, tuple(sorted(mapping.items())), data)
        saved.append(mapping)
        with st.container(border=True):
            _preview_body(preview)
            if mapping:
                cols = st.columns([4, 1])
                cols[0].info("Read with the field mapping saved for files with these fields: "
                             + ", ".join(f"{escape_markdown(a)} → {escape_markdown(b)}" for a, b in mapping.items()))
                if cols[1].button("Forget this mapping", key=f"forget-{number}-{digest[:12]}"):
                    mappings.forget(preview.fields)
                    st.rerun()
    return saved


def _preview_body(preview: Preview) -> None:
    name = escape_markdown(preview.name)
    if preview.error:
        st.markdown(f"**{name}** · format `{preview.format}` · unusable")
        st.error(escape_markdown(preview.error))
        return
    rejected = len(preview.rejections)
    st.markdown(f"**{name}** · format `{preview.format}` · {preview.records:,} record(s): {preview.good:,} to store"
                + (f", {rejected:,} rejected" if rejected else ""))
    if preview.rows:
        more = f" (the first {PREVIEW_ROWS} of {preview.good:,})" if preview.good > PREVIEW_ROWS else ""
        st.caption(f"As they will be stored{more}; nothing is stored until you validate and ingest.")
        st.dataframe(pd.DataFrame(preview.rows), hide_index=True)
    elif not preview.records:
        st.warning("No records found: the file holds no incidents.")
    if rejected:
        with st.expander(f"{rejected:,} rejected record(s)", expanded=not preview.good):
            st.code("\n".join(preview.rejections[:SHOWN_REJECTIONS]), language=None, wrap_lines=True)
            if rejected > SHOWN_REJECTIONS:
                st.caption(f"… and {rejected - SHOWN_REJECTIONS:,} more: ingest the file to download them all.")


def save_applied_mapping(mappings: MappingStore, report: IngestReport, mapping: dict[str, str]) -> None:
    """Remember ``mapping`` for the shape of each readable file of ``report`` (the part of it about that file's
    fields), so the next file of the same shape is read with it."""
    for file in report.files:
        fields = [name for name in file.fields if name != "extra"]
        own = {source: target for source, target in mapping.items() if source in fields}
        if fields and own and not file.error:
            mappings.save(fields, own)


def ingest_report_ui(report: IngestReport, mapping: dict[str, str] | None = None) -> None:
    """A line saying what happened, one row per file (name, format, outcome, counts), then per file with a problem
    an expander holding the whole reason or every rejected record (line and reason), and ids that share content."""
    files = report.files
    rejected = sum(len(f.rejected) for f in files)
    unusable = [f for f in files if f.error]
    if unusable:
        st.error(f"{len(unusable)} file(s) could not be read: the reasons are below.")
    if rejected:
        st.warning(f"{rejected} record(s) rejected in {sum(bool(f.rejected) for f in files)} file(s): each is "
                   "listed below with its line and what to do.")
    new = sum(len(f.added) + len(f.updated) for f in files)
    if not unusable and not rejected and not any(f.records for f in files):
        st.warning("No records found: the file(s) hold no incidents.")
    elif not unusable and not rejected:
        st.success(f"Stored {new:,} incident(s)." if new else "Nothing new: every record was already stored.")
    if mapping:
        st.caption("Read with the field mapping "
                   + ", ".join(f"{escape_markdown(a)} → {escape_markdown(b)}" for a, b in mapping.items()))
    st.table(pd.DataFrame([{"file": Path(f.path).name, "format": f.format, "outcome": f.outcome,
                            "records": f.records, "added": len(f.added), "updated": len(f.updated),
                            "unchanged": len(f.unchanged), "rejected": len(f.rejected)} for f in files]),
             hide_index=True)
    for f in files:
        if f.error or f.rejected:
            _file_problems(f)
    if rejected:
        table = pd.DataFrame([{"file": Path(r.path).name, "line": r.line, "reason": r.reason}
                              for f in files for r in f.rejected])
        st.download_button("Download the rejected records as CSV", table.to_csv(index=False), "rejected.csv",
                           "text/csv")
    duplicates = [d for f in files for d in f.duplicate_content]
    if duplicates:
        st.info("Same content under two ids (both stored; remove one from its source if it is a repeat): "
                + ", ".join(f"{escape_markdown(a)} = {escape_markdown(b)}" for a, b in duplicates))
    near = [d for d in report.possible_duplicates if not d.reason.startswith("same text")]
    if near:
        st.info("Possible duplicates (nothing merged; open each to compare): " + ", ".join(
            f"[{escape_markdown(d.id)}](incident?id={quote(d.id)}) of [{escape_markdown(d.of)}](incident?id="
            f"{quote(d.of)}) — {escape_markdown(d.reason)}" for d in near))
    if report.redacted:  # counts per rule (sherlock.redaction), never the secrets
        st.caption(f"Redacted before storing: {report.redacted.describe()}.")
    if report.sync:
        st.caption(f"Indexes up to date: {report.sync.embedded:,} incident(s) embedded in {report.sync.seconds:.1f} s.")


def _file_problems(f: FileReport) -> None:
    """The whole reason a file is unusable, or its rejected records as ``line N: reason`` (wrapped, never cut)."""
    name = Path(f.path).name
    with st.expander(f"{name}: {f.outcome}", expanded=True):
        if f.error:
            st.error(escape_markdown(f.error.replace(f.path, name)))
            return
        if not f.stored:
            st.caption("Strict mode stored nothing from this file: fix these records and upload it again, or "
                       "untick Strict to store the good ones.")
        elif len(f.rejected) < f.records:
            st.caption("The other records were stored. Fix these and upload the file again: records already "
                       "stored stay as they are.")
        else:
            st.caption("Nothing from this file was stored: fix these records, or map the file's fields below, and "
                       "ingest it again.")
        lines = [f"- **line {r.line}**: {escape_markdown(r.reason)}" for r in f.rejected[:SHOWN_REJECTIONS]]
        st.markdown("\n".join(lines))
        if len(f.rejected) > SHOWN_REJECTIONS:
            st.caption(f"… and {len(f.rejected) - SHOWN_REJECTIONS:,} more: download them all below.")


# -- the field mapping ----------------------------------------------------------------------------------------------

def _folded(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def guess_source(field: str, columns: Sequence[str]) -> str | None:
    """The file's field that holds ``field``: the same name (case, spaces and hyphens aside), else its alias."""
    by_folded = {_folded(column): column for column in columns}
    if field in by_folded:
        return by_folded[field]
    return next((by_folded[_folded(alias)] for alias, target in ALIASES.items()
                 if target == field and _folded(alias) in by_folded), None)


def mapping_from_choices(choices: dict[str, str | None], columns: Sequence[str]) -> dict[str, str]:
    """``{canonical: source}`` choices as the ingest mapping ``{source: canonical}``. A file field named like a
    canonical field (or its alias) that was not picked for it is kept aside as ``unmapped_NAME``, so it cannot take
    the place of the field the user picked."""
    mapping = {source: canonical for canonical, source in choices.items() if source and source != canonical}
    for column in columns:
        if column in mapping:
            continue
        if ((column in CANONICAL_FIELDS and choices.get(column) != column)
                or (column in ALIASES and not choices.get(ALIASES[column]))):
            mapping[column] = f"unmapped_{column}"
    return mapping


def default_choice(canonical: str, columns: Sequence[str], applied: dict[str, str]) -> str | None:
    """What the form first shows for ``canonical``: the field picked for it last, else the guess from the names
    (unless the last mapping sent that field elsewhere)."""
    picked = [source for source, target in applied.items() if target == canonical]
    if picked:
        return picked[0]
    guess = guess_source(canonical, columns)
    return None if guess in applied else guess


def field_mapping_ui(report: IngestReport, applied: dict[str, str]) -> dict[str, str] | None:
    """For the fields of the ingested files: which holds each incident field (a selectbox each, guessed from the names
    or the mapping ``applied`` last). Returns the mapping when the user asks to ingest again with it, else None."""
    columns = list(dict.fromkeys(c for f in report.files if not f.error for c in f.fields if c != "extra"))
    if not columns:
        return None
    aside = [c for c in columns if c not in CANONICAL_FIELDS and c not in ALIASES and c not in applied]
    unmapped = [name for name in ("id", "title") if name not in applied.values() and name not in columns]
    if not aside and not unmapped and not applied:
        return None
    if unmapped:
        holds = "the fields that hold them" if len(unmapped) > 1 else "the field that holds it"
        st.warning(f"No field of the file is named {' or '.join(map(repr, unmapped))}: pick {holds} below and "
                   "ingest again.")
    suffix = zlib.crc32("\x1f".join(columns).encode())
    choices: dict[str, str | None] = {}
    label = "Map the file's fields to incident fields" + (f" ({len(aside)} not searched)" if aside else "")
    with st.expander(label, expanded=bool(unmapped)):
        if aside:
            st.caption("Kept with each incident but not searched: " + ", ".join(map(escape_markdown, aside))
                       + ". If one holds the title, description, root cause or resolution, pick it for that field.")
        options = [NOT_IN_FILE, *columns]
        grid = st.columns(4)
        for number, canonical in enumerate(CANONICAL_FIELDS):
            default = default_choice(canonical, columns, applied)
            choice = grid[number % 4].selectbox(canonical, options, key=f"map-{canonical}-{suffix}",
                                                index=options.index(default) if default in options else 0)
            choices[canonical] = None if choice == NOT_IN_FILE else choice
        problem = _mapping_problem(choices)
        if problem:
            st.caption(problem)
        if st.button("Ingest again with this mapping", disabled=bool(problem)):
            return mapping_from_choices(choices, columns)
    return None


def _mapping_problem(choices: dict[str, str | None]) -> str | None:
    """Why the choices cannot be used (a required field not picked, one field picked twice), or None."""
    missing = [name for name in ("id", "title") if not choices.get(name)]
    if missing:
        return f"Pick the field that holds {' and '.join(missing)}: every incident needs one."
    twice = [source for source, n in Counter(s for s in choices.values() if s).items() if n > 1]
    if twice:
        return f"{', '.join(twice)} is picked for more than one incident field: pick it once."
    return None


# -- the corpus -----------------------------------------------------------------------------------------------------

def corpus_filter_ui(frame: pd.DataFrame) -> pd.DataFrame:
    """A text box; the rows whose id, title or tags contain its text (case-insensitive), or all of them."""
    text = st.text_input("Filter by id, title or tag", placeholder="e.g. refund")
    if not text:
        return frame
    needle = text.lower()
    return frame[frame.apply(lambda r: needle in f"{r['id']} {r['title']} {r['tags']}".lower(), axis=1)]


def corpus_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The corpus frame as shown: dates as ISO text and missing values blank (a grid shows a missing value as the
    word "None")."""
    shown = frame.assign(created_at=pd.to_datetime(frame["created_at"]).dt.strftime("%Y-%m-%d"))
    return shown.fillna("")


def severity_order(values: Iterable[str]) -> list[str]:
    """Severities in their natural order (:func:`sherlock.schema.severity_key`)."""
    return sorted(values, key=severity_key)


def facet_charts(store: Store, facets: tuple[str, ...] = ("service", "severity")) -> None:
    """Incidents per value of each facet, as bars side by side: most frequent first, severities in their natural
    order. A facet no incident has is said in words, not drawn as a single ``(none)`` bar."""
    for col, facet in zip(st.columns(len(facets)), facets, strict=True):
        counts = store.facet_counts(facet)
        if set(counts) <= {"(none)"}:
            col.caption(f"No incident has a {facet}.")
            continue
        order = severity_order(counts) if facet == "severity" else list(counts)
        frame = pd.DataFrame({facet: order, "incidents": [counts[value] for value in order]})
        figure = px.bar(frame, x=facet, y="incidents", title=f"Incidents by {facet}",
                        category_orders={facet: order})
        col.plotly_chart(figure.update_xaxes(type="category"), width="stretch")
