"""Dense retrieval against a real Chroma server (``chroma run`` on localhost), selected by ``chroma_url``."""

import sys
from pathlib import Path

import pytest

from sherlock.search.searcher import Searcher
from tests.conftest import JUSPAY
from tests.servers import free_port, running

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    with running([str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port",
                  str(port)], port, tmp_path / "chroma.log",
                 env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"}) as url:
        yield url


def test_search_through_a_chroma_server(workspace_factory, chroma_server, tmp_path):
    ws = workspace_factory(chroma_url=chroma_server)
    report = ws.ingest([JUSPAY / "issues.json"])
    assert report.sync.embedded == 77 and ws.dense.count() == 77
    assert not (ws.settings.chroma_path).exists()  # vectors went to the server, not the embedded store
    response = Searcher(ws).search("IRCTC webhook delivery failing", k=3)
    assert response.results[0].id == "JSP-1017" and response.results[0].raw_scores["dense"] > 0.5
    assert ws.ingest([JUSPAY / "issues.json"]).sync.embedded == 0  # the diff works against the server too
