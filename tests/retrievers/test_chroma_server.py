"""Dense retrieval against a real Chroma server (``chroma run`` on localhost), selected by ``chroma_url``."""

import sys
from pathlib import Path

import pytest

from sherlock.search.searcher import Searcher

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def chroma_server(tmp_path, start_server):
    chroma = Path(sys.executable).parent / "chroma"
    with start_server(lambda port: [chroma, "run", "--path", tmp_path / "server-data", "--host", "127.0.0.1",
                                    "--port", port], tmp_path / "chroma.log",
                      env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"}) as url:
        yield url


def test_search_through_a_chroma_server(workspace_factory, chroma_server, juspay_issues):
    ws = workspace_factory(chroma_url=chroma_server)
    report = ws.ingest([juspay_issues])
    assert report.sync.embedded == 77 and ws.dense.count() == 77
    assert not (ws.settings.chroma_path).exists()  # vectors went to the server, not the embedded store
    response = Searcher(ws).search("IRCTC webhook delivery failing", k=3)
    assert response.results[0].id == "JSP-1017" and response.results[0].raw_scores["dense"] > 0.5
    assert ws.ingest([juspay_issues]).sync.embedded == 0  # the diff works against the server too
