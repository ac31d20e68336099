"""Generic Streamlit helpers: incident text as inert markdown, streamed words, progress bars, tables with a CSV
download, and uploaded files saved to the workspace."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

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


def progress_callback(bar) -> Callable[[str, int, int], None]:  # noqa: ANN001 - a st.progress element
    """A ``progress(stage, done, total)`` callback that drives one Streamlit progress bar."""
    def update(stage: str, done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{stage}: {done:,}/{total:,}")
    return update


def table_with_download(table, name: str, **dataframe_options) -> None:  # noqa: ANN001 - a pandas.DataFrame
    """A table and a button that downloads it as ``name.csv``."""
    st.dataframe(table, hide_index=True, **dataframe_options)
    st.download_button(f"Download {name}.csv", table.to_csv(index=False), f"{name}.csv", "text/csv",
                       key=f"download-{name}")


class Upload(Protocol):
    """What :func:`save_uploads` needs of Streamlit's ``UploadedFile``."""

    name: str

    def getvalue(self) -> bytes: ...


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
