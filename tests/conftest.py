"""Shared fixtures: real data paths, temporary workspaces, and a session-wide model file so each temporary home
does not rebuild the ONNX graph (it is hard-linked into each home's models folder, as a user's own build would be)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
JUSPAY = SHARED / "juspay-sherlock"
NFCORPUS = SHARED / "beir" / "nfcorpus"


@pytest.fixture(scope="session")
def juspay_issues() -> Path:
    return JUSPAY / "issues.json"


@pytest.fixture(scope="session")
def models_seed(tmp_path_factory) -> Path:
    """A home whose models folder holds the built ONNX graph (built once per test session)."""
    from sherlock.config import load_settings
    from sherlock.embed.embedders import MiniLMEmbedder
    home = tmp_path_factory.mktemp("seed-home")
    MiniLMEmbedder(load_settings(home=home)).embed(["warm up"])
    return home / "models"


@pytest.fixture
def make_home(tmp_path, models_seed, monkeypatch):
    """``make_home(name)`` → a fresh workspace folder with the model pre-built; the demo auto-load is off."""
    monkeypatch.setenv("SHERLOCK_DEMO", "false")

    def make(name: str = "home") -> Path:
        home = tmp_path / name
        (home / "models").mkdir(parents=True, exist_ok=True)
        for item in models_seed.iterdir():
            target = home / "models" / item.name
            if item.is_file() and not target.exists():
                try:
                    os.link(item, target)
                except OSError:
                    shutil.copy2(item, target)
        return home

    return make


@pytest.fixture
def workspace_factory(make_home):
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace

    def make(name: str = "home", **overrides) -> Workspace:
        return Workspace(load_settings(home=make_home(name), **overrides))

    return make


@pytest.fixture(scope="session")
def juspay_workspace(tmp_path_factory, models_seed):
    """A read-only workspace holding the original SherlockAI incidents plus the JSP-2001 duplicate."""
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace
    home = tmp_path_factory.mktemp("juspay-home")
    shutil.copytree(models_seed, home / "models", copy_function=os.link)
    workspace = Workspace(load_settings(home=home, demo=False))
    workspace.ingest([JUSPAY / "issues.json", JUSPAY / "tps_scaling_incident.json"])
    return workspace


@pytest.fixture(scope="session")
def juspay_searcher(juspay_workspace):
    from sherlock.search.searcher import Searcher
    return Searcher(juspay_workspace)
