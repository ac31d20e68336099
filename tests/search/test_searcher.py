"""The search pipeline on the original SherlockAI incidents: ids, filters, weights, boosts, explanations."""

import pytest

from sherlock.run import top_k
from sherlock.search.fusion import normalize
from sherlock.search.searcher import Searcher, find_ticket_ids
from sherlock.storage.store import Filters


@pytest.mark.parametrize("query, ids", [
    ("JSP-1052", ["JSP-1052"]), ("can you help me to solve this jsp-1030", ["JSP-1030"]),
    ("SLACK-123-456", ["SLACK-123"]), ("JSP-1001 and JSP-1002, JSP-1001", ["JSP-1001", "JSP-1002"]),
    ("JSP- incomplete", []), ("123-JSP wrong format", []), ("JSP-ABC", []), ("JSP-12ab", []),
    ("webhook signature SHA-256 mismatch over TLS-1", []), ("UTF-8 decoding error", []), ("snapdeal_test", []),
    ("what fixed INC0010001?", ["INC0010001"]), ("see acme/payments#12 and OPS-4", ["ACME/PAYMENTS#12", "OPS-4"]),
    ("betamaxpy/betamax#110", ["BETAMAXPY/BETAMAX#110"]), ("GH-12, PD-4711, OG-5 RLY-11", ["GH-12", "PD-4711", "OG-5",
                                                                                          "RLY-11"]),
    ("SP-p31zjtct2jer status", ["SP-P31ZJTCT2JER"]), ("AB2-7 again", ["AB2-7"]), ("IPv4-1 route flaps", []),
    ("error 5003 from upi", []), ("https://github.com/acme/payments#12", []), ("version 1.2.3#4", []),
    ("hash tx1234567 in the log", []), ("CHG0030001 rolled back", ["CHG0030001"]),
])
def test_ticket_ids(query, ids):
    assert find_ticket_ids(query) == ids


def test_json_contract(juspay_searcher):
    data = juspay_searcher.search("UPI payment failed with error 5003", k=5).as_dict()
    assert {"query", "strategy", "abstained", "confidence", "results", "took_ms"} <= data.keys()
    assert data["strategy"] == "hybrid" and 0 <= data["confidence"] <= 1 and len(data["results"]) == 5
    hit = data["results"][0]
    assert {"id", "title", "score", "scores"} <= hit.keys() and set(hit["scores"]) == {"dense", "bm25", "tfidf"}
    assert hit["id"] == "JSP-1001" and "5003" in hit["matched_terms"]
    assert data["settings"]["weights"] == [0.6, 0.3, 0.1] or data["settings"]["weights"] == (0.6, 0.3, 0.1)


def test_explanations_hold_raw_and_normalised_scores(juspay_searcher):
    response = juspay_searcher.search("pinelabs gateway RSA decryption error", k=3)
    top = response.results[0]
    assert top.id == "JSP-1052" and set(top.raw_scores) == {"dense", "bm25", "tfidf"}
    assert 0 < top.raw_scores["dense"] <= 1 and top.raw_scores["bm25"] > 0
    assert all(0 <= value <= 1 for value in top.scores.values() if value is not None)
    assert "pinelabs_online" in top.entities or "pinelabs_online" in response.query_entities


def test_filters_apply_to_every_retriever(juspay_searcher, juspay_workspace):
    allowed = juspay_workspace.store.filter_ids(Filters.parse(["tag=UPI"]))
    assert 3 <= len(allowed) < 40
    for name, scores in juspay_searcher.candidates("payment failed timeout", 50, allowed).items():
        assert scores and set(scores) <= allowed, name
    response = juspay_searcher.search("payment failed timeout", k=20, filters=Filters.parse(["tag=UPI"]))
    assert response.results and {hit.id for hit in response.results} <= allowed
    assert response.filters == {"tag": ["UPI"]}


def test_a_filter_matching_nothing_returns_nothing(juspay_searcher):
    response = juspay_searcher.search("refund", filters=Filters.parse(["service=does-not-exist"]))
    assert response.results == [] and response.abstained


def test_tag_filters_ignore_case_and_plural(juspay_searcher, juspay_workspace):
    # the README's example: the original incidents are tagged "Refunds"
    response = juspay_searcher.search("why do refunds fail?", k=3, filters=Filters.parse(["tag=Refund"]))
    allowed = juspay_workspace.store.filter_ids(Filters.parse(["tag=refunds"]))
    assert not response.abstained and response.results and {hit.id for hit in response.results} <= allowed
    assert response.filter_suggestions == {}


@pytest.mark.parametrize("items, reason, suggestions", [
    (["tag=Refnds"], "no incident matches the filters tag=Refnds: no tag Refnds (did you mean Refunds, Redis, "
     "Refund-API?)",
     {"tag": ["Refunds", "Redis", "Refund-API"]}),
    (["service=refunds-api"], "no incident matches the filters service=refunds-api: no service refunds-api "
                              "(no incident has a service)", {"service": []}),
    (["tag=UPI", "to=2000-01-01"], "no incident matches the filters tag=UPI, to=2000-01-01: no incident created in "
                                   "that date range (incidents span 2024-03-12 … 2025-09-16)",
     {"date": ["2024-03-12", "2025-09-16"]}),
    (["tag=UPI", "category=infrastructure"], "no incident matches the filters category=infrastructure, tag=UPI: "
                                             "each matches some incidents, but none matches them all: drop or widen "
                                             "one", {}),
])
def test_filters_matching_nothing_say_so_and_what_exists(juspay_searcher, items, reason, suggestions):
    response = juspay_searcher.search("why do refunds fail?", filters=Filters.parse(items))
    assert response.abstained and response.results == [] and response.confidence == 0.0
    assert response.reason == reason and response.filter_suggestions == suggestions
    assert response.as_dict()["filter_suggestions"] == suggestions


@pytest.mark.parametrize("weights, retriever", [((1, 0, 0), "dense"), ((0, 1, 0), "bm25"), ((0, 0, 1), "tfidf")])
def test_one_hot_weights_reproduce_that_retriever(juspay_searcher, weights, retriever):
    query = "refund failed because of insufficient funds"
    searcher = Searcher(juspay_searcher.workspace, juspay_searcher.settings.model_copy(update={"coverage_weight": 0}))
    alone = searcher.candidates(query, 10, None)[retriever]
    response = searcher.search(query, k=5, weights=weights, entity_boost=False)
    assert [hit.id for hit in response.results] == [doc for doc, _ in top_k(normalize(alone, "minmax"), 5)]


@pytest.mark.parametrize("fusion", ["wsum", "rrf", "combmnz", "dbsf"])
@pytest.mark.parametrize("norm", ["minmax", "zscore", "rank"])
def test_every_fusion_and_norm_runs(juspay_searcher, fusion, norm):
    response = juspay_searcher.search("IRCTC webhook delivery failing", k=3, fusion=fusion, norm=norm)
    assert response.results[0].id == "JSP-1017"
    assert response.settings["method"] == fusion and response.settings["norm"] == norm


def test_unknown_fusion_lists_the_valid_ones(juspay_searcher):
    with pytest.raises(ValueError, match=r"combmnz.*dbsf.*rrf.*wsum"):
        juspay_searcher.search("refund", fusion="magic")


def test_entity_boost_multiplies_matching_incidents(juspay_searcher):
    query = "pinelabs integration problem"
    on = juspay_searcher.search(query, k=10, entity_boost=True)
    off = juspay_searcher.search(query, k=10, entity_boost=False)
    assert "pinelabs_online" in on.query_entities
    boosted = {hit.id: hit.score for hit in on.results if hit.entities}
    plain = {hit.id: hit.score for hit in off.results}
    assert boosted and all(boosted[i] > plain[i] for i in boosted if i in plain)
    assert on.settings["entity_boost"] is True and off.settings["entity_boost"] is False


def test_entities_match_whole_tokens_only(juspay_workspace):
    entities = juspay_workspace.lexical().entities
    assert "pinelabs_online" in entities.extract("Pinelabs-Online gateway")
    assert "pinelabs_online" not in entities.extract("pinelabsonline")


@pytest.mark.parametrize("query", ["what is the capital of Australia", "recipe for banana bread", "hello"])
def test_off_topic_abstains_with_flagged_nearest_misses(juspay_searcher, query):
    response = juspay_searcher.search(query, k=3)
    assert response.abstained and response.confidence < 0.5 and "no matching past incident" in response.reason
    assert response.results and all(hit.nearest_miss for hit in response.results)


def test_exact_ids_found_and_not_found(juspay_searcher):
    found = juspay_searcher.search("JSP-1052", k=3)
    assert found.strategy == "exact_id" and not found.abstained and found.confidence == 1.0
    assert found.results[0].id == "JSP-1052" and not found.results[0].related
    assert all(hit.related for hit in found.results[1:])
    missing = juspay_searcher.search("INC-99999")
    assert missing.strategy == "exact_id" and missing.abstained and missing.results == []
    assert missing.confidence == 0.0 and missing.reason == "not found: no incident INC-99999 in this workspace"
    partly = juspay_searcher.search("JSP-1052 and JIRA-9999", k=1)
    assert not partly.abstained and partly.reason == "not found: JIRA-9999"


def test_batch_rank_ranks_every_query_even_abstaining_ones(juspay_searcher):
    run = juspay_searcher.rank({"q1": "UPI payment failed with error 5003", "q2": "what is the capital of Australia"},
                               k=20)
    assert set(run) == {"q1", "q2"} and len(run["q1"]) == 20 and len(run["q2"]) == 20
    assert max(run["q1"], key=run["q1"].get) == "JSP-1001"
    single = juspay_searcher.search("UPI payment failed with error 5003", k=20)
    assert [h.id for h in single.results] == [d for d, _ in top_k(run["q1"], 20)]
