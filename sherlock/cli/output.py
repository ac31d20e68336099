"""What the command line shares: progress bars on stderr, aligned text tables, JSON on stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def progress() -> Callable[[str, int, int], None]:
    """A ``progress(stage, done, total)`` callback drawing one tqdm bar per stage on stderr (hidden when stderr is
    not a terminal)."""
    from tqdm import tqdm
    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="doc" if stage != "lexical index" else "step",
                                     file=sys.stderr, leave=False, disable=None)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def query_progress(description: str) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm import tqdm
    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=description, unit="query", file=sys.stderr, leave=False,
                              disable=None)
        bar["bar"].n = done
        bar["bar"].refresh()
        if done >= total:
            bar["bar"].close()

    return update


def table(rows: list[list[str]]) -> str:
    """Rows of cells as aligned text columns, a dashed rule under the first (header) row."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def key_values(pairs: list[tuple[str, str]]) -> str:
    """``(key, value)`` pairs as aligned ``key  value`` lines."""
    width = max(len(key) for key, _ in pairs)
    return "\n".join(f"{key.ljust(width)}  {value}" for key, value in pairs)


def p_value(value: float) -> str:
    """A p-value as four decimals, or in scientific notation below 1e-4."""
    return f"{value:.4f}" if value >= 1e-4 else f"{value:.1e}"


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (non-JSON values such as dates as strings)."""
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
