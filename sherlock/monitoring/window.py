"""The time window of a monitoring report and its periods.

A window is ``[since, until)`` in seconds since the epoch (UTC). A bare ``until`` date is inclusive (the window ends at
the next midnight); a datetime or a number is the exclusive end itself. Without ``until`` the window ends at ``now``;
without ``since`` it starts :data:`DEFAULT_PERIODS` periods back (the current one included), or at the period of the
oldest logged query when that is later — a log started last week does not show ten empty weeks.

Periods are those of :func:`sherlock.analytics.frame.period_start` (UTC days, weeks starting on Monday, calendar
months), computed here on plain numbers: that module is built on pandas, which the report never needs to import. A
period the window cuts (a ``--since`` inside it, or one that has not ended yet) is *partial*. Every row is placed in
its period by its id alone (ids are time-ordered, :func:`sherlock.monitoring.querylog.id_at`): a sorted
search over the period boundaries, no timestamp parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from sherlock.analytics.units import FREQS
from sherlock.monitoring.events import id_at, timestamp

#: How many periods a report covers when no ``since`` is given.
DEFAULT_PERIODS = {"D": 30, "W": 12, "M": 12}
#: One period of each frequency, as a numpy step on its own unit.
_STEP_UNIT = {"D": ("D", 1), "W": ("D", 7), "M": ("M", 1)}


@dataclass(frozen=True)
class Window:
    """``[since, until)`` in seconds, cut into ``freq`` periods (``starts``: each period's first day, oldest first)."""

    since: float
    until: float
    freq: str
    starts: np.ndarray
    now: float

    @property
    def edges(self) -> np.ndarray:
        """Seconds where each period starts, clipped to the window, then the window's end (``len(starts) + 1``)."""
        starts = _seconds(self.starts)
        starts[0] = max(starts[0], self.since)
        return np.append(starts, self.until)

    @property
    def labels(self) -> list[str]:
        # ISO labels, as sherlock.analytics.frame.period_label: 2026-06 for a month, the first day otherwise
        days = np.asarray(self.starts, dtype="datetime64[D]")
        return [str(label) for label in np.datetime_as_string(days.astype("datetime64[M]") if self.freq == "M"
                                                              else days)]

    def partial(self) -> list[bool]:
        """Whether the window (or ``now``) cuts each period short."""
        full_starts = _seconds(self.starts)
        full_ends = _seconds(next_start(self.starts, self.freq))
        end = min(self.until, self.now)
        return [bool(start < self.since or stop > end) for start, stop in zip(full_starts, full_ends, strict=True)]

    def edge_ids(self) -> np.ndarray:
        """:attr:`edges` as row ids (``id >= edge_ids[i]`` is on or after the start of period ``i``)."""
        return np.array([id_at(float(edge)) for edge in self.edges], dtype=np.int64)

    def period_of(self, ids: np.ndarray) -> np.ndarray:
        """The period index of each row id (ids inside the window)."""
        return np.searchsorted(self.edge_ids()[1:-1], ids, side="right")

    def first_day(self) -> str:
        return _day(self.since)

    def last_day(self) -> str:
        """The last day the window includes (the day before ``until`` when ``until`` is a midnight)."""
        return _day(self.until - 0.001)  # ids, and so the window, resolve milliseconds


def next_start(starts: np.ndarray, freq: str) -> np.ndarray:
    """The first day of the period after each of ``starts``."""
    unit, step = _STEP_UNIT[freq]
    return (starts.astype(f"datetime64[{unit}]") + step).astype("datetime64[D]")


Moment = float | date | datetime | str | None


def moment(value: Moment) -> float | date | datetime | None:
    """A bound as given, an ISO string read as a date (``2026-11-29``) or a date-time (naive: UTC)."""
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value) if len(value.strip()) == 10 else datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date like 2026-11-29 or a date-time like 2026-11-29T09:30") \
            from None


def resolve_window(since: Moment = None, until: Moment = None, freq: str = "W", now: Moment = None,
                   oldest: float | None = None) -> Window:
    """The window of a report (see the module docstring); ``oldest``: the time of the oldest logged row, if any."""
    if freq not in FREQS:
        raise ValueError(f"unknown period {freq!r}; use one of {', '.join(FREQS)} "
                         f"({', '.join(f'{k}: {v}' for k, v in FREQS.items())})")
    since, until, now = moment(since), moment(until), moment(now)
    now_s = timestamp(now) if now is not None else datetime.now(UTC).timestamp()
    if isinstance(until, date) and not isinstance(until, datetime):
        until = until + timedelta(days=1)  # a date is the last day included
    end = float(timestamp(until) if until is not None else now_s)  # type: ignore[arg-type]
    last_start = _period_starts([np.nextafter(end, -np.inf)], freq)[0]
    if since is None:
        unit, step = _STEP_UNIT[freq]
        first = (last_start.astype(f"datetime64[{unit}]") - step * (DEFAULT_PERIODS[freq] - 1))
        start = float(_seconds(np.array([first.astype("datetime64[D]")]))[0])
        if oldest is not None and oldest < end:
            start = max(start, float(_seconds(_period_starts([oldest], freq))[0]))
    else:
        start = float(timestamp(since))  # type: ignore[arg-type]
    if start >= end:
        raise ValueError(f"the window is empty: since {_day(start)} is not before until {_day(end)}; give an "
                         "earlier --since or a later --until")
    first_start = _period_starts([start], freq)[0]
    unit, step = _STEP_UNIT[freq]
    starts = np.arange(first_start.astype(f"datetime64[{unit}]"), last_start.astype(f"datetime64[{unit}]") + 1,
                       step).astype("datetime64[D]")
    return Window(start, end, freq, starts, float(now_s))  # type: ignore[arg-type]


def _period_starts(seconds: list[float], freq: str) -> np.ndarray:
    """The first day (``datetime64[D]``) of the UTC period of each time in seconds."""
    days = (np.floor(np.asarray(seconds, dtype=np.float64)).astype(np.int64) // 86400).astype("datetime64[D]")
    if freq == "W":  # 1970-01-01 was a Thursday: (days + 3) % 7 is the weekday, Monday = 0
        return days - ((days.astype(np.int64) + 3) % 7).astype("timedelta64[D]")
    if freq == "M":
        return days.astype("datetime64[M]").astype("datetime64[D]")
    return days


def _seconds(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype="datetime64[D]").astype("datetime64[s]").astype(np.int64).astype(np.float64)


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(float(seconds), UTC).date().isoformat()
