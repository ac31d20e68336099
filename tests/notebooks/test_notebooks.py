"""Every notebook in notebooks/ runs top to bottom with nbclient (an ipykernel of this interpreter), each in a fresh
workspace with the demo corpus enabled; the committed files carry no outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/*.ipynb is empty"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_committed_without_outputs(path):
    import nbformat
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), \
        f"{path.name}: clear the outputs before committing (Kernel → Restart and clear outputs)"


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch) -> str:
    """A kernel spec running this interpreter (the venv's ipykernel), found before any user-wide "python3" spec."""
    spec = tmp_path / "jupyter" / "kernels" / "sherlock-venv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "sherlock venv", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "sherlock-venv"


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_runs_clean(path, make_home, venv_kernel, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    home = make_home(path.stem)  # the embedding model pre-built, nothing else
    monkeypatch.setenv("SHERLOCK_HOME", str(home))
    monkeypatch.setenv("SHERLOCK_DEMO", "true")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name=venv_kernel,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError with the failing cell's source and traceback
    errors = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
              if output.output_type == "error"]
    assert not errors
