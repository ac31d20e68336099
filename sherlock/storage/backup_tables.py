"""The tables a backup copies row by row — feedback, pair votes, the query log and its settings versions — as JSON
Lines, read and written through SQLAlchemy Core on whichever backend a workspace uses (:mod:`sherlock.storage.db`):
its own SQLite files by default, the shared database of ``SHERLOCK_STORE_URL`` otherwise. So a backup of a SQLite
workspace restores into a PostgreSQL one, and back.

    with open_engines(settings) as engines:
        for part in PARTS:
            dump_table(engines[part.store], part.table, folder / part.file)

One row is one JSON object of the table's columns by name; a ``bytes`` cell is ``{"base64": "..."}``. Every file is
checked against the target's table (:func:`check_table`: known columns, required ones given, each cell of its
column's type, no primary key twice) before any is written (:func:`load_table`), so a damaged backup is refused
with ``file:line`` and nothing to undo.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, func, inspect, select
from sqlalchemy.exc import DBAPIError

from sherlock.config import Settings
from sherlock.storage.db.engine import write_transaction
from sherlock.storage.db.stores import open_store
from sherlock.storage.db.tables import STORE_TABLES, feedback, pair_feedback, queries, settings_versions

#: A ``bytes`` cell in a JSONL row: ``{"base64": "..."}``.
BLOB = "base64"
#: Rows inserted per statement (one ``executemany``), within the table's one transaction.
BATCH_ROWS = 1000


class BackupError(ValueError):
    """A backup folder that cannot be read or written, or a workspace that cannot take an import."""


@dataclass(frozen=True)
class Part:
    """One table of a backup: its file, the store that keeps it (a key of ``STORE_TABLES``) and the table."""

    file: str
    store: str
    table: Table

    @property
    def name(self) -> str:
        """The part's name in reports and the manifest's counts."""
        return self.file.removesuffix(".jsonl")


#: The tables copied row by row, in the order they are written.
PARTS = (Part("feedback.jsonl", "feedback", feedback),
         Part("pair_feedback.jsonl", "feedback", pair_feedback),
         Part("query_log.jsonl", "query_log", queries),
         Part("query_log_settings.jsonl", "query_log", settings_versions))

#: Each store's SQLite file in a workspace without ``store_url``, and what it is called in messages.
STORE_FILES: dict[str, tuple[Callable[[Settings], Path], str]] = {
    "feedback": (lambda settings: settings.feedback_path, "feedback store"),
    "query_log": (lambda settings: settings.query_log_path, "query log"),
}


@contextmanager
def open_engines(settings: Settings) -> Iterator[dict[str, Engine]]:
    """An engine per store of :data:`PARTS` on the backend ``settings`` choose (their tables created in a new SQLite
    file); a workspace's own files are released at the end, a shared database's engine stays open."""
    opened: dict[str, tuple[Engine, bool]] = {}
    try:
        for store, (path, what) in STORE_FILES.items():
            opened[store] = open_store(settings, STORE_TABLES[store], path(settings), what=what,
                                       remedy="move it aside")
        yield {store: engine for store, (engine, _) in opened.items()}
    finally:
        for engine, shared in opened.values():
            if not shared:
                engine.dispose()


def count_rows(engine: Engine, tables: list[Table]) -> int:
    """How many rows ``tables`` hold together."""
    with engine.connect() as connection:
        return sum(connection.execute(select(func.count()).select_from(table)).scalar_one() for table in tables)


# -- export -------------------------------------------------------------------------------------------------------

def dump_table(engine: Engine, table: Table, path: Path) -> int:
    """Write every row of ``table`` to ``path`` in primary-key order; returns how many. Columns the stored table
    lacks (a file of an older Sherlock, never opened by this one) are left out: they read as unset on import."""
    written = 0
    with engine.connect() as connection, path.open("w", encoding="utf-8") as out:
        columns = [table.c[name] for name in _stored_columns(connection, table) if name in table.c]
        names = [column.name for column in columns]
        blobs = [column.name for column in columns if column.type.python_type is bytes]
        statement = select(*columns).order_by(*table.primary_key.columns)
        for row in connection.execution_options(yield_per=BATCH_ROWS).execute(statement):
            cells = dict(zip(names, row, strict=True))
            for name in blobs:
                if cells[name] is not None:
                    cells[name] = {BLOB: base64.b64encode(cells[name]).decode("ascii")}
            out.write(json.dumps(cells, ensure_ascii=False) + "\n")
            written += 1
    return written


# -- import -------------------------------------------------------------------------------------------------------

def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of the JSONL file ``path`` (none when it is missing); a
    line that is not a JSON object raises :class:`BackupError` naming ``path:line``."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BackupError(f"{path}:{number}: not valid JSON ({exc.msg}); the backup is damaged") from None
            if not isinstance(row, dict):
                raise BackupError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            yield number, row


def check_table(engine: Engine, table: Table, path: Path) -> int:
    """Check that every row of ``path`` fits ``table`` as the target stores it, writing nothing; returns how many
    rows. A row that does not raises :class:`BackupError` saying ``path:line`` and what is wrong."""
    with engine.connect() as connection:
        shape = _Shape.of(connection, table)
    key_names = [column.name for column in table.primary_key.columns]
    keys: set[tuple[Any, ...]] = set()
    checked = 0
    for number, row in read_rows(path):
        shape.check(row, f"{path}:{number}")
        key = tuple(row.get(name) for name in key_names)
        if key in keys and None not in key:
            named = ", ".join(f"{name} {value!r}" for name, value in zip(key_names, key))
            raise BackupError(f"{path}:{number}: {table.name} {named} appears twice; the backup is damaged")
        keys.add(key)
        checked += 1
    return checked


def load_table(engine: Engine, table: Table, path: Path) -> int:
    """Insert the rows of ``path`` (checked by :func:`check_table`) into ``table`` in one transaction, in batches;
    returns how many. On PostgreSQL the table's id sequence then continues after the restored ids."""
    written = 0
    with write_transaction(engine) as connection:
        shape = _Shape.of(connection, table)
        batch: list[dict[str, Any]] = []
        lines: list[int] = []
        for number, row in read_rows(path):
            values = shape.values(row)
            if batch and (len(batch) == BATCH_ROWS or values.keys() != batch[0].keys()):
                _insert(connection, table, batch, path, lines)
                batch, lines = [], []
            batch.append(values)
            lines.append(number)
            written += 1
        if batch:
            _insert(connection, table, batch, path, lines)
        AFTER_LOAD[connection.dialect.name](connection, table)
    return written


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]], path: Path, lines: list[int]) -> None:
    try:
        connection.execute(table.insert(), rows)
    except DBAPIError as exc:  # what check_table cannot see, e.g. a NUL character, which PostgreSQL's text refuses
        where = f"{lines[0]}" if len(lines) == 1 else f"{lines[0]}-{lines[-1]}"
        reason = " ".join(str(exc.orig).split())[:300]
        raise BackupError(f"{path}:{where}: the {table.name} table refused a row ({reason}); the backup is "
                          "damaged") from None


def _stored_columns(connection: Connection, table: Table) -> list[str]:
    return [column["name"] for column in inspect(connection).get_columns(table.name)]


@dataclass(frozen=True)
class _Shape:
    """A table as the target stores it: the columns a row may name, those it must give, how each JSON cell becomes
    the column's value, and the columns whose unset value the database assigns (an id, a default)."""

    table: Table
    known: frozenset[str]
    required: tuple[str, ...]
    readers: dict[str, Callable[[Any], Any]]
    assigned: frozenset[str]

    @classmethod
    def of(cls, connection: Connection, table: Table) -> _Shape:
        stored = set(_stored_columns(connection, table))
        columns = [column for column in table.columns if column.name in stored]
        return cls(table, frozenset(column.name for column in columns),
                   tuple(column.name for column in columns if _required(table, column)),
                   {column.name: CELL_READERS[column.type.python_type] for column in columns},
                   frozenset(column.name for column in columns if column is table.autoincrement_column
                             or column.server_default is not None))

    def check(self, row: dict[str, Any], where: str) -> None:
        """Raise :class:`BackupError` at ``where`` unless ``row`` fits the table."""
        unknown, missing = row.keys() - self.known, [name for name in self.required if row.get(name) is None]
        if unknown or missing:
            what = "; ".join(filter(None, [
                f"column(s) {', '.join(sorted(unknown))} not in this workspace's {self.table.name} table (upgrade "
                "Sherlock to import this backup)" if unknown else "",
                f"required column(s) {', '.join(sorted(missing))} missing (the backup is damaged)" if missing
                else ""]))
            raise BackupError(f"{where}: {what}")
        for name, cell in row.items():
            try:
                self.readers[name](cell)
            except (TypeError, ValueError) as exc:
                raise BackupError(f"{where}: column {name}: {exc}; the backup is damaged") from None

    def values(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row``'s cells as column values; an unset id or defaulted column is left out, so the database assigns
        it (an explicit NULL would not)."""
        return {name: self.readers[name](cell) for name, cell in row.items()
                if cell is not None or name not in self.assigned}


def _required(table: Table, column: Column[Any]) -> bool:
    """Whether a row must give ``column``: NOT NULL, with no default and not an id the database assigns."""
    return not column.nullable and column.server_default is None and column is not table.autoincrement_column


def _text(cell: Any) -> str | None:
    if cell is None or isinstance(cell, str):
        return cell
    if isinstance(cell, dict | list):  # a JSON column written as JSON rather than as its text
        return json.dumps(cell)
    raise TypeError(f"expected text, got {cell!r}")


def _integer(cell: Any) -> int | None:
    if cell is None or type(cell) is int:
        return cell
    if not isinstance(cell, int):
        raise TypeError(f"expected an integer, got {cell!r}")
    return int(cell)  # true, false: 1, 0


def _real(cell: Any) -> float | None:
    if cell is None or type(cell) is float:
        return cell
    if not isinstance(cell, int | float) or isinstance(cell, bool):
        raise TypeError(f"expected a number, got {cell!r}")
    return float(cell)


def _blob(cell: Any) -> bytes | None:
    if cell is None:
        return None
    if not (isinstance(cell, dict) and set(cell) == {BLOB} and isinstance(cell[BLOB], str)):
        raise TypeError(f'expected {{"{BLOB}": "..."}}, got {str(cell)[:60]}')
    try:
        return base64.b64decode(cell[BLOB], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64 ({exc})") from None


#: How a JSON cell becomes a column's value (None stays None), by the column's Python type (``TypeError`` or
#: ``ValueError`` when it cannot).
CELL_READERS: dict[type, Callable[[Any], Any]] = {str: _text, int: _integer, float: _real, bytes: _blob}


def _advance_sequence(connection: Connection, table: Table) -> None:
    """Restart the ``SERIAL`` column's sequence after the largest restored id: the next row gets the next id."""
    column = table.autoincrement_column
    if column is None:
        return
    sequence = func.pg_get_serial_sequence(table.name, column.name)
    following = select(func.coalesce(func.max(column), 0) + 1).scalar_subquery()
    connection.execute(select(func.setval(sequence, following, False)))


def _nothing_after_load(connection: Connection, table: Table) -> None:
    return None  # SQLite's AUTOINCREMENT counter already follows the largest id inserted


#: What each backend needs after rows with explicit ids were inserted.
AFTER_LOAD: dict[str, Callable[[Connection, Table], None]] = {"postgresql": _advance_sequence,
                                                              "sqlite": _nothing_after_load}
