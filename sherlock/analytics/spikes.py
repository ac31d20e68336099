"""Spike detection: weeks (or days, months) where a group's incident count jumps above a robust baseline, with the
incidents behind each spike. Works on the frame of :func:`sherlock.analytics.frame.incidents_frame`."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sherlock.analytics.frame import period_label, period_start, volume


def find_spikes(frame: pd.DataFrame, by: str = "service", freq: str = "W", window: int = 8, z: float = 3.5,
                min_excess: float = 4, min_count: int = 6) -> pd.DataFrame:
    """Periods where a group's count jumps above its robust baseline, with the incidents behind each.

    Baseline (Iglewicz & Hoaglin 1993; Leys et al. 2013): ``expected`` = median of the group's previous ``window``
    periods (the period itself excluded; at least half of them must exist), ``spread`` = 1.4826 × their median
    absolute deviation (MAD scaled to σ for normal data), floored at √max(expected, 1) — the Poisson σ of a count,
    since a few incidents a week often have a MAD of 0 and any bump would pass. A spike is ``count ≥ min_count`` and
    ``count − expected ≥ max(z × spread, min_excess)``; ``z = 3.5`` is the modified z-score cut-off Iglewicz & Hoaglin
    recommend. Returns ``period, start, group, count, expected, spread, incident_ids``, newest first."""
    columns = ["period", "start", "group", "count", "expected", "spread", "incident_ids"]
    counts = volume(frame, freq, by)
    if counts.empty:
        return pd.DataFrame(columns=columns)
    wide = counts.pivot(index="start", columns=by, values="count")
    values = wide.to_numpy(dtype=float)
    history = np.stack([wide.shift(lag).to_numpy(dtype=float) for lag in range(1, window + 1)])
    enough = np.sum(~np.isnan(history), axis=0) >= max(1, window // 2)
    with warnings.catch_warnings():  # an all-NaN slice (no history yet) warns; ``enough`` already rules it out
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmedian(history, axis=0)
        spread = 1.4826 * np.nanmedian(np.abs(history - expected), axis=0)
    spread = np.maximum(spread, np.sqrt(np.maximum(expected, 1.0)))
    hit = enough & (values >= min_count) & (values - expected >= np.maximum(z * spread, min_excess))
    rows, cols = np.nonzero(hit)
    if not len(rows):
        return pd.DataFrame(columns=columns)
    starts = period_start(frame["created"], freq)
    found = pd.DataFrame({"start": wide.index[rows], "group": wide.columns[cols],
                          "count": values[rows, cols].astype(int), "expected": expected[rows, cols],
                          "spread": spread[rows, cols].round(2)})
    found.insert(0, "period", period_label(found["start"], freq))
    members = frame.assign(_start=starts).groupby(["_start", by], observed=True)["id"].agg(list)
    found["incident_ids"] = [sorted(members.get((s, g), [])) for s, g in zip(found["start"], found["group"],
                                                                              strict=True)]
    return found.sort_values(["start", "count"], ascending=[False, False], ignore_index=True)[columns]
