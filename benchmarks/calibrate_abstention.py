"""Calibrate the abstention thresholds on labelled on-topic and off-topic queries, and print the evidence.

    .venv/bin/python benchmarks/calibrate_abstention.py

Two labelled sets, each searched against its own corpus:
- the demo corpus: its 155 labelled queries must be answered, its off-topic questions must abstain;
- the original SherlockAI incidents: its expectations with an expected incident must be answered, its "no results"
  cases must abstain.
Every (min_dense, min_lexical, lexical_alone) point of a grid is scored by balanced accuracy over both sets; the table
shows the best points and the current defaults (sherlock/config.py).
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

from sherlock.config import DEMO_DIR, load_settings
from sherlock.search.searcher import Searcher, find_ticket_ids
from sherlock.storage.demo import load_demo_queries
from sherlock.storage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
JUSPAY = ROOT.parent / "shared" / "data" / "juspay-sherlock"
ABSTAIN_WORDS = ("reject", "no results", "no-results", "no relevant", "greeting", "non_technical", "technical_issue",
                 "capabilities")


def evidence(searcher: Searcher, queries: list[tuple[str, bool]]) -> list[tuple[float, float, bool]]:
    """``(dense_top, coverage, should_answer)`` per query."""
    rows = []
    for text, should_answer in queries:
        found = searcher.search(text, k=3).evidence
        rows.append((found["dense_top"], found["coverage"], should_answer))
    return rows


def juspay_queries() -> list[tuple[str, bool]]:
    cases = [json.loads(line) for line in (JUSPAY / "original_expectations.jsonl").read_text().splitlines()]
    labelled = []
    for case in cases:
        if find_ticket_ids(case["query"]):
            continue
        behaviour = case["expected_behaviour"].lower()
        if case["expected_id"]:
            labelled.append((case["query"], True))
        elif any(word in behaviour for word in ABSTAIN_WORDS):
            labelled.append((case["query"], False))
    return labelled


def balanced_accuracy(rows, min_dense, min_lexical, alone, floor) -> tuple[float, int, int]:
    answered = [(d >= min_dense and c >= min_lexical) or (c >= alone and d >= floor) for d, c, _ in rows]
    positives = [a for a, (_, _, y) in zip(answered, rows, strict=True) if y]
    negatives = [not a for a, (_, _, y) in zip(answered, rows, strict=True) if not y]
    return (sum(positives) / len(positives) + sum(negatives) / len(negatives)) / 2, sum(positives), sum(negatives)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        demo_ws = Workspace(load_settings(home=Path(tmp) / "demo", demo=True))
        demo_ws.ensure_demo()
        demo_rows = evidence(Searcher(demo_ws), [(q.query, True) for q in load_demo_queries(DEMO_DIR)]
                             + [(q.query, False) for q in load_demo_queries(DEMO_DIR, "offtopic.jsonl")])
        juspay_ws = Workspace(load_settings(home=Path(tmp) / "juspay", demo=False))
        juspay_ws.ingest([JUSPAY / "issues.json"])
        juspay_rows = evidence(Searcher(juspay_ws), juspay_queries())
        defaults = load_settings(home=Path(tmp) / "juspay")

    rows = demo_rows + juspay_rows
    grid = itertools.product([0.30, 0.35, 0.40, 0.45, 0.50], [0.2, 0.25, 0.3, 0.35, 0.4, 0.5],
                             [0.9, 0.95, 1.0], [0.15])
    scored = sorted(((balanced_accuracy(rows, *point), point) for point in grid), key=lambda x: -x[0][0])
    current = (defaults.abstain_min_dense, defaults.abstain_min_lexical, defaults.abstain_lexical_alone,
               defaults.abstain_dense_floor)
    n_pos, n_neg = sum(1 for r in rows if r[2]), sum(1 for r in rows if not r[2])
    print(f"labelled queries: {n_pos} should answer, {n_neg} should abstain "
          f"(demo {len(demo_rows)}, original SherlockAI {len(juspay_rows)})")
    print(f"{'min_dense':>9} {'min_lex':>7} {'alone':>5}  {'bal.acc':>7}  {'answered':>9}  {'abstained':>9}  "
          f"{'demo':>5}  {'juspay':>6}")
    shown = scored[:8] + [(balanced_accuracy(rows, *current), current)]
    shown = [row for i, row in enumerate(shown) if row[1] not in [r[1] for r in shown[:i]]]
    for (accuracy, answered, abstained), point in shown:
        demo_acc = balanced_accuracy(demo_rows, *point)[0]
        juspay_acc = balanced_accuracy(juspay_rows, *point)[0]
        mark = "  <- current default" if point == current else ""
        print(f"{point[0]:>9.2f} {point[1]:>7.2f} {point[2]:>5.2f}  {accuracy:>7.3f}  {answered:>4}/{n_pos:<4}  "
              f"{abstained:>4}/{n_neg:<4}  {demo_acc:>5.3f}  {juspay_acc:>6.3f}{mark}")
    for name, subset in (("demo", demo_rows), ("juspay", juspay_rows)):
        pos = sorted(d for d, _, y in subset if y)
        neg = sorted(d for d, _, y in subset if not y)
        print(f"{name}: dense_top of should-answer min/median {pos[0]:.2f}/{pos[len(pos) // 2]:.2f}; "
              f"of should-abstain median/max {neg[len(neg) // 2]:.2f}/{neg[-1]:.2f}")


if __name__ == "__main__":
    main()
