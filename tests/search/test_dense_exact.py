"""The dense top-n: exact from the index snapshot for small corpora, Chroma's HNSW index above the limit; both give
the same neighbours and scores on the original SherlockAI incidents."""

from __future__ import annotations

import pytest

from sherlock.search.searcher import Searcher
from sherlock.storage.store import Filters

QUERIES = ["IRCTC webhook delivery failing", "UPI payment failed with error 5003", "refund stuck in pending",
           "card tokenization errors", "database connection pool exhausted"]


@pytest.fixture(scope="module")
def both(juspay_workspace):
    exact = Searcher(juspay_workspace, juspay_workspace.settings.model_copy(update={"dense_exact_max": 10**9}))
    hnsw = Searcher(juspay_workspace, juspay_workspace.settings.model_copy(update={"dense_exact_max": 0}))
    return exact, hnsw


@pytest.mark.parametrize("query", QUERIES)
def test_exact_and_chroma_find_the_same_neighbours(juspay_workspace, both, query):
    snapshot = juspay_workspace.lexical()
    vector = juspay_workspace.embedder.embed_queries([query])
    exact = juspay_workspace.dense_top(snapshot, vector, 10, exact_max=10**9)[0]
    chroma = juspay_workspace.dense_top(snapshot, vector, 10, exact_max=0)[0]
    assert len(exact) == 10 and set(exact) == set(chroma)
    assert [exact[d] for d in sorted(exact)] == pytest.approx([chroma[d] for d in sorted(chroma)], abs=1e-5)


@pytest.mark.parametrize("query", QUERIES)
def test_search_ranks_alike_either_way(both, query):
    exact, hnsw = both
    a, b = exact.search(query, k=5), hnsw.search(query, k=5)
    assert [hit.id for hit in a.results] == [hit.id for hit in b.results]
    assert a.abstained == b.abstained


def test_exact_search_respects_filters(juspay_workspace):
    snapshot = juspay_workspace.lexical()
    allowed = juspay_workspace.store.filter_ids(Filters.parse(["from=2025-01-01"])) or {"JSP-1001"}
    vector = juspay_workspace.embedder.embed_queries(["payment failed"])
    found = juspay_workspace.dense_top(snapshot, vector, 50, allowed, exact_max=10**9)[0]
    assert found and set(found) <= set(allowed)
    assert juspay_workspace.dense_top(snapshot, vector, 5, set(), exact_max=10**9) == [{}]
