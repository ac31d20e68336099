"""The team stack's files (compose.yaml, scripts/team-stack.sh) name settings, images and commands that exist here.
The stack itself was run as plain processes with scripts/team-stack.sh (see README, "Run it for a team"); containers
cannot run on this machine (no Docker daemon), so this is what the suite can check of them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from sherlock.config import Settings

ROOT = Path(__file__).resolve().parents[1]
#: ``SHERLOCK_*`` names that are not settings: the home folder (a settings field by another route) and the script's own.
NOT_SETTINGS = {"SHERLOCK_HOME", "SHERLOCK_TEAM_DIR"}


def setting_names() -> set[str]:
    return {f"SHERLOCK_{name.upper()}" for name in Settings.model_fields}


def test_compose_runs_the_team_stack_on_real_settings():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "chroma", "mlflow", "migrate", "app", "api"}
    environment = services["app"]["environment"]
    assert {name for name in environment if name.startswith("SHERLOCK_")} - NOT_SETTINGS <= setting_names()
    assert environment["SHERLOCK_STORE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in \
        environment["SHERLOCK_STORE_URL"]
    assert services["migrate"]["command"] == ["sherlock", "db", "upgrade"]
    assert services["app"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["api"]["command"][:2] == ["sherlock", "serve"]
    assert any(volume["target"].endswith(".streamlit/secrets.toml") for volume in services["app"]["volumes"]
               if isinstance(volume, dict))  # sign-in configured, not optional
    pinned = dict(re.findall(r"^([a-z0-9-]+)==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M))
    assert services["chroma"]["image"] == f"chromadb/chroma:{pinned['chromadb']}"  # the server of the pinned client
    assert "MLFLOW_SERVER_ENABLE_JOB_EXECUTION" in services["mlflow"]["environment"]


def test_the_plain_process_script_parses_and_names_real_settings():
    script = ROOT / "scripts" / "team-stack.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True).returncode == 0
    named = set(re.findall(r"SHERLOCK_[A-Z_]+", script.read_text())) - NOT_SETTINGS
    assert named and named <= setting_names()
    usage = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert usage.returncode != 0 and "start" in usage.stderr + usage.stdout  # no action: it says which there are
