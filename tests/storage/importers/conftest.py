"""Fixtures of the importer tests: the vendors' sample payloads in ``../shared/data/exports`` (read there, never
copied; see its SOURCES.md) and an empty store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sherlock.storage.store import Store


@pytest.fixture(scope="session")
def exports(shared_data) -> Path:
    """``../shared/data/exports``: one folder per tool."""
    return shared_data / "exports"


@pytest.fixture(scope="session")
def load(exports) -> Callable[[str], Any]:
    """The parsed JSON of a sample, by its path under the exports folder (``"jira/apa_v2_issue_FOO-123.json"``)."""
    def read(name: str) -> Any:
        return json.loads((exports / name).read_text(encoding="utf-8"))
    return read


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "store.sqlite")
