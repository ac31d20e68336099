"""What the store of record answers about its values: the ids a search's filters allow, each filter key's stored
values and suggestions when a filter matches nothing, facet and tag counts, the date span, and examples a new user
can try. The one place filters are evaluated, for every retriever; the same answers on SQLite and PostgreSQL (the SQL
that differs is the store's :class:`~sherlock.storage.store.Dialect`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sherlock.storage.filters import VALUE_KEYS, Filters, fold_filter_value, suggest_values

if TYPE_CHECKING:
    from sherlock.storage.db.reads import Reader
    from sherlock.storage.store import Dialect


class FacetQueries:
    """The :class:`~sherlock.storage.store.Store`'s queries over values, read through its :attr:`_reader` with its
    backend's SQL (:attr:`_sql`); :meth:`filter_values` is kept per revision in :attr:`_values`."""

    _reader: Reader
    _sql: Dialect
    _values: dict[str, tuple[int, dict[str, int]]]

    def revision(self) -> int:
        """The store's revision (the subclass reads it): what :meth:`filter_values` is kept by."""
        raise NotImplementedError

    def filter_ids(self, filters: Filters) -> set[str]:
        """Ids of incidents matching ``filters`` — the one place filters are evaluated, for every retriever. Each
        value key is first resolved to the stored values it matches (:func:`fold_filter_value`); the severity
        ``level`` is compared here, in Python, on the rows the other filters leave (the same on both backends)."""
        clauses: list[str] = []
        params: dict[str, Any] = {}
        for key in VALUE_KEYS:
            if not getattr(filters, key):
                continue
            stored = self._matching_values(key, getattr(filters, key))
            if not stored:
                return set()
            params[key] = stored
            clauses.append(f"EXISTS (SELECT 1 FROM {self._sql.tags} WHERE value IN :tag)" if key == "tag"
                           else f"{key} IN :{key}")
        if filters.date_from:
            clauses.append("created_date >= :date_from")
            params["date_from"] = filters.date_from.isoformat()
        if filters.date_to:
            clauses.append("created_date <= :date_to")
            params["date_to"] = filters.date_to.isoformat()
        where = " AND ".join(clauses) or "1 = 1"
        if filters.level:  # reading JSON costs: only when asked
            rows = self._rows(f"SELECT id, severity, {self._sql.extra} FROM incidents WHERE {where}", **params,
                              key="severity_level")
        else:
            rows = self._rows(f"SELECT id FROM incidents WHERE {where}", **params)
        if not filters.level:
            return {row[0] for row in rows}
        return {incident_id for incident_id, severity, level in rows
                if _severity_level(level, severity) <= filters.level}

    def filter_values(self, key: str) -> dict[str, int]:
        """Every stored value of a value filter key (service, severity, category, status, tag), as written, with its
        incident count, most common first."""
        if key not in VALUE_KEYS:
            raise ValueError(f"no filter values for {key!r}; use one of {', '.join(VALUE_KEYS)}")
        revision = self.revision()  # a scan of every incident: kept until a write (by any process) moves the revision
        cached = self._values.get(key)
        if cached is not None and cached[0] == revision:
            return dict(cached[1])
        c = self._sql.c
        sql = (f"SELECT value, COUNT(DISTINCT incidents.id) FROM incidents, {self._sql.tags} GROUP BY value "
               f"ORDER BY 2 DESC, value{c}" if key == "tag" else
               f"SELECT {key}, COUNT(*) FROM incidents WHERE {key} IS NOT NULL GROUP BY {key} "
               f"ORDER BY 2 DESC, {key}{c}")
        values = dict(self._rows(sql))
        self._values[key] = (revision, values)
        return dict(values)

    def filter_suggestions(self, filters: Filters, limit: int = 3) -> dict[str, list[str]]:
        """Why ``filters`` match nothing, key by key: each value key whose values match no stored value, with the
        stored values to try instead — the closest (:func:`suggest_values`), else the ``limit`` most common — and
        ``"date"`` with the first and last creation dates when the date range alone matches nothing. Empty when
        every key matches some incident on its own (only their combination matches nothing)."""
        out: dict[str, list[str]] = {}
        for key in VALUE_KEYS:
            wanted = getattr(filters, key)
            if not wanted or self._matching_values(key, wanted):
                continue
            known = self.filter_values(key)
            close = [name for value in wanted for name in suggest_values(key, value, known, limit)]
            out[key] = list(dict.fromkeys(close))[:limit] or list(known)[:limit]
        dates = Filters(date_from=filters.date_from, date_to=filters.date_to)
        if not dates.is_empty() and not self.filter_ids(dates):
            out["date"] = [day for day in self.date_span() if day]
        return out

    def facet_counts(self, column: str) -> dict[str, int]:
        """How many incidents per value of ``service``, ``severity``, ``category`` or ``status``."""
        if column not in ("service", "severity", "category", "status"):
            raise ValueError(f"no facet {column!r}; use one of service, severity, category, status")
        value = f"COALESCE({column}, '(none)')"
        return dict(self._rows(f"SELECT {value}, COUNT(*) FROM incidents GROUP BY {value} "
                               f"ORDER BY 2 DESC, {value}{self._sql.c}"))

    def tag_counts(self, limit: int = 200) -> dict[str, int]:
        """The most used tags (as written, case-folded for counting) with their incident counts."""
        return dict(self._rows(f"SELECT lower(value), COUNT(*) FROM incidents, {self._sql.tags} GROUP BY lower(value) "
                               f"ORDER BY 2 DESC, lower(value){self._sql.c} LIMIT :limit", limit=limit))

    def date_span(self) -> tuple[str | None, str | None]:
        """The earliest and latest ``created_date`` (ISO dates), ``(None, None)`` when no incident has one."""
        first, last = self._rows("SELECT MIN(created_date), MAX(created_date) FROM incidents")[0]
        return first, last

    def examples(self) -> tuple[str | None, str | None]:
        """What a new user can try on this workspace: the id of the latest resolved incident and the most common
        title (an incident that recurs), ``(None, None)`` when the store is empty."""
        c, resolution, title = self._sql.c, self._sql.field.format(name="resolution"), self._sql.field.format(
            name="title")
        latest = self._scalar(f"SELECT id FROM incidents WHERE {resolution} != '' "
                              f"ORDER BY created_date DESC, id{c} DESC LIMIT 1")
        common = self._scalar(  # among the latest 2,000 written, so a large store answers as fast
            f"SELECT MIN(title{c}) FROM (SELECT {title} AS title FROM incidents ORDER BY revision DESC, id{c} DESC "
            f"LIMIT 2000) AS latest GROUP BY lower(title) ORDER BY COUNT(*) DESC, MIN(title{c}) LIMIT 1")
        return latest, common

    def _matching_values(self, key: str, wanted: Sequence[str]) -> list[str]:
        """The stored values of ``key`` that any of ``wanted`` matches (:func:`fold_filter_value`)."""
        folded = {fold_filter_value(key, value) for value in wanted}
        return [value for value in self.filter_values(key) if fold_filter_value(key, value) in folded]

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        return self._reader.rows(sql, **params)

    def _scalar(self, sql: str, **params: Any) -> Any:
        rows = self._reader.rows(sql, **params)
        return rows[0][0] if rows else None


def _severity_level(level: Any, severity: str | None) -> int:
    """An incident's severity level for the ``level`` filter: the one its importer derived, else its severity's
    (``SEV2``, ``P1``, ``critical``); 6, past every level, when it has none."""
    if level is not None:
        return int(level)
    from sherlock.storage.importers.fields import severity_level
    return severity_level(severity) or 6
