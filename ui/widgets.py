"""Generic Streamlit helpers: incident text as inert markdown, streamed words, progress bars (drawn as the work
reports, or polled from another thread), tables with a CSV download, and uploaded files saved to the workspace."""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

import streamlit as st

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<$:=])")


def escape_markdown(text: str) -> str:
    """Incident text as inert markdown: every markdown/HTML control character is backslash-escaped, so
    ``[x](http://evil)``, ``![img](...)``, ``<b>`` and bare ``http://`` links render as plain characters."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text or "")


def highlight(text: str, terms: list[str]) -> str:
    """Escaped ``text`` with the matched ``terms`` in bold (whole-word, case-insensitive)."""
    escaped = escape_markdown(text)
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        pattern = re.escape(escape_markdown(term))
        escaped = re.sub(rf"(?<![\w\\])({pattern})(?!\w)", r"**\1**", escaped, flags=re.IGNORECASE)
    return escaped


def stream_words(text: str, delay: float = 0.01) -> Iterator[str]:
    """Yield ``text`` a few words at a time (for ``st.write_stream``)."""
    words = text.split(" ")
    for start in range(0, len(words), 3):
        yield " ".join(words[start:start + 3]) + " "
        time.sleep(delay)


#: How the workspace's ``progress(stage, ...)`` stages read on a progress bar (other stages are shown as named).
STAGE_LABELS = {"embedding": "Embedding incidents", "reading": "Reading incidents",
                "lexical index": "Building the lexical index", "opening": "Opening the workspace"}


class ProgressReport(NamedTuple):
    """The latest ``progress(stage, done, total)`` report and, once the stage has advanced, its time left."""

    stage: str
    done: int
    total: int
    seconds_left: float | None = None

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 0.0

    def describe(self) -> str:
        """E.g. ``Embedding incidents 640 / 2,000 · about 40 s left``."""
        label = STAGE_LABELS.get(self.stage, self.stage[:1].upper() + self.stage[1:])
        if not self.total:
            return f"{label}…"
        text = f"{label} {self.done:,} / {self.total:,}"
        if self.seconds_left is None or self.done >= self.total:
            return text
        if self.seconds_left < 5:
            return f"{text} · a few seconds left"
        if self.seconds_left < 90:
            return f"{text} · about {round(self.seconds_left)} s left"
        return f"{text} · about {round(self.seconds_left / 60)} min left"


class ProgressLog:
    """A ``progress(stage, done, total)`` callback that keeps the latest report, for a page that polls it from
    another thread. Time left is the stage's pace so far (items since its first report over the seconds since) applied
    to what remains, counted down between reports."""

    def __init__(self, stage: str = "opening", clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._report = ProgressReport(stage, 0, 0)
        self._stage_start = (clock(), 0)  # when the current stage was first reported, and its count then
        self._reported_at = clock()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self._clock()
        with self._lock:
            if stage != self._report.stage:
                self._stage_start = (now, done)
            started_at, done_at_start = self._stage_start
            left = None
            if done > done_at_start and now > started_at:
                left = (total - done) * (now - started_at) / (done - done_at_start)
            self._report, self._reported_at = ProgressReport(stage, done, total, left), now

    def latest(self) -> ProgressReport:
        with self._lock:
            report, since = self._report, self._clock() - self._reported_at
        if report.seconds_left is None:
            return report
        return report._replace(seconds_left=max(report.seconds_left - since, 0.0))


def progress_callback(bar) -> Callable[[str, int, int], None]:  # noqa: ANN001 - a st.progress element
    """A ``progress(stage, done, total)`` callback that drives one Streamlit progress bar (with the time left)."""
    log = ProgressLog()

    def update(stage: str, done: int, total: int) -> None:
        log(stage, done, total)
        report = log.latest()
        bar.progress(report.fraction if total else 1.0, text=report.describe())
    return update


@st.fragment(run_every=1.0)
def polled_progress_ui(log: ProgressLog, finished: Callable[[], bool]) -> None:
    """A progress bar redrawn every second from ``log``, which work in another thread fills; once ``finished()``
    the whole page reruns (and, the work done, draws what it was waiting for)."""
    if finished():
        st.rerun()
    report = log.latest()
    st.progress(report.fraction, text=report.describe())


def table_with_download(table, name: str, **dataframe_options) -> None:  # noqa: ANN001 - a pandas.DataFrame
    """A table and a button that downloads it as ``name.csv``."""
    st.dataframe(table, hide_index=True, **dataframe_options)
    st.download_button(f"Download {name}.csv", table.to_csv(index=False), f"{name}.csv", "text/csv",
                       key=f"download-{name}")


class Upload(Protocol):
    """What :func:`save_uploads` needs of Streamlit's ``UploadedFile``."""

    name: str

    def getvalue(self) -> bytes: ...


@dataclass(frozen=True)
class HeldUpload:
    """An upload's name and bytes, kept in the session to ingest it again (with a field mapping)."""

    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


@contextmanager
def uploads_on_disk(files: Iterable[Upload]) -> Iterator[list[Path]]:
    """The uploads written to a private temporary folder for the ingest to read, and removed right after: a raw
    upload can hold card numbers and credentials that redaction takes out before storing, so it never stays on disk
    (and never in the workspace)."""
    with tempfile.TemporaryDirectory(prefix="sherlock-upload-") as folder:
        yield save_uploads(files, Path(folder))


def save_uploads(files: Iterable[Upload], folder: Path) -> list[Path]:
    """Write uploaded files into ``folder`` (created if missing) under their own base names — a name cannot reach
    outside the folder — and return their paths, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for upload in files:
        name = Path(upload.name.replace("\\", "/")).name
        path = folder / (name if name not in ("", ".", "..") else "upload")
        path.write_bytes(upload.getvalue())
        paths.append(path)
    return paths
