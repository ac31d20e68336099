"""Dense retrieval against a real Chroma server (``chroma run`` on localhost), selected by ``chroma_url``."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sherlock.search import Searcher
from tests.conftest import JUSPAY

pytestmark = [pytest.mark.server, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = (tmp_path / "chroma.log").open("w")
    process = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
                                "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                               env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"})
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"chroma run exited: {(tmp_path / 'chroma.log').read_text()}")
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


def test_search_through_a_chroma_server(workspace_factory, chroma_server, tmp_path):
    ws = workspace_factory(chroma_url=chroma_server)
    report = ws.ingest([JUSPAY / "issues.json"])
    assert report.sync.embedded == 77 and ws.dense.count() == 77
    assert not (ws.settings.chroma_path).exists()  # vectors went to the server, not the embedded store
    response = Searcher(ws).search("IRCTC webhook delivery failing", k=3)
    assert response.results[0].id == "JSP-1017" and response.results[0].raw_scores["dense"] > 0.5
    assert ws.ingest([JUSPAY / "issues.json"]).sync.embedded == 0  # the diff works against the server too
