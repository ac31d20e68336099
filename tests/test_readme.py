"""The README's examples are real: the library example runs as written (on a small workspace)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_block(after_heading: str) -> str:
    """The first ```python block after ``after_heading`` in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(after_heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_library_example_runs(juspay_workspace, tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(juspay_workspace.settings.home, home)  # the original incidents, indexed: prepare() loads no demo
    code = python_block("## Use it as a library").replace('home=".sherlock"', f"home={str(home)!r}")
    assert f"home={str(home)!r}" in code
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "[JSP-" in out  # the answer cites incidents
    assert "ndcg@10" in out and "mrr@10" in out
