"""Start a real server process for a test (``chroma run``, ``mlflow server``, ``streamlit run``), wait until it
answers, and stop it by its process group afterwards — one way for every server test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int, health: str | None) -> bool:
    try:
        if health is None:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def running(command: Sequence[str], port: int, log_path: Path, env: dict[str, str], health: str | None = None,
            timeout: float = 60, cwd: Path | None = None) -> Iterator[str]:
    """Run ``command`` (its output in ``log_path``) until ``GET health`` on ``port`` answers 200 — or, without
    ``health``, until the port accepts connections; yield ``http://127.0.0.1:PORT``; then SIGTERM its process group
    (SIGKILL after 15 s). The test fails with the log's tail if the server exits or is not up within ``timeout``."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not _answers(port, health):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{Path(command[0]).name} did not come up (exit code {process.poll()}); its log:\n"
                            f"{log_path.read_text(errors='replace')[-3000:]}", pytrace=False)
            time.sleep(0.25)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
