"""The layering rules of STYLE.md, checked on the source: the library never imports Streamlit, no module imports
another's private names, and a cold ``sherlock search`` does not import what one query does not need."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "sherlock").rglob("*.py"))


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """``(line, module, names)`` for every import statement of ``path`` (names empty for ``import x``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
    return found


def test_the_library_never_imports_streamlit():
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in LIBRARY for line, module, _ in imports(path)
                 if module.split(".")[0] == "streamlit"]
    assert not offenders, f"library modules importing streamlit: {offenders}"


def test_no_module_imports_a_private_name_from_another():
    roots = [*LIBRARY, *sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "views").rglob("*.py")),
             *sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "benchmarks").rglob("*.py"))]
    offenders = [f"{path.relative_to(ROOT)}:{line}: from {module} import {name}"
                 for path in roots for line, module, names in imports(path)
                 if module.split(".")[0] in ("sherlock", "ui", "tools") for name in names
                 if name.startswith("_") and not name.startswith("__")]
    assert not offenders, "private names imported across modules:\n" + "\n".join(offenders)


def test_the_public_api_exports_what_a_notebook_needs():
    import sherlock

    missing = [name for name in sherlock.__all__ if not hasattr(sherlock, name)]
    assert not missing, f"sherlock.__all__ names that do not resolve: {missing}"
    for name in ("Settings", "load_settings", "Workspace", "Searcher", "Answerer", "evaluate", "tune"):
        assert name in sherlock.__all__


@pytest.mark.parametrize("module", ["sherlock.cli", "sherlock.search.searcher", "sherlock.storage.workspace",
                                    "sherlock.answer.answerer"])
def test_the_query_path_imports_nothing_heavy(module):
    """What a single query does not need stays unimported: experiment tracking, data frames, statistics, plots, the
    app framework (measured in a fresh interpreter, so earlier tests cannot hide an import)."""
    heavy = ["mlflow", "pandas", "scipy.stats", "plotly", "streamlit", "matplotlib"]
    code = (f"import sys, {module}; print(','.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing {module} loaded: {result.stdout.strip()}"


def test_a_cold_search_of_corpus_words_loads_no_heavy_library(juspay_workspace):
    """The real command in a fresh process: `sherlock search` on a workspace, with words its corpus uses (their stems
    come with the index snapshot). NLTK (which drags in scipy.stats and scikit-learn), Chroma for a small corpus,
    MLflow, pandas, plotly and Streamlit all stay unloaded."""
    heavy = ["nltk", "sklearn", "scipy.stats", "pandas", "mlflow", "chromadb", "plotly", "streamlit", "matplotlib"]
    code = ("import contextlib, io, runpy, sys\n"
            f"sys.argv = ['sherlock', '--home', {str(juspay_workspace.settings.home)!r}, 'search',"
            " 'IRCTC webhook delivery failing', '--json']\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    try:\n        runpy.run_module('sherlock', run_name='__main__')\n"
            "    except SystemExit as exit:\n        assert not exit.code, exit.code\n"
            "assert '\"JSP-1017\"' in out.getvalue(), out.getvalue()[:500]\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"a cold search loaded: {result.stdout.strip()}"
