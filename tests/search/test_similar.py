"""Similar incidents on the original SherlockAI incidents: the query built from an incident's fields, the cause
classes, one ranking path for single and batch, and the near-duplicate report."""

import math

import numpy as np
import pytest

from sherlock.schema import Incident
from sherlock.search.causes import cause_classes, overlap
from sherlock.search.similar import SimilarFinder, cause_score, incident_query, predicted_causes
from sherlock.storage.duplicates import find_duplicates, possible_duplicates
from sherlock.text import informative_words


@pytest.fixture(scope="module")
def finder(juspay_workspace):
    return SimilarFinder(juspay_workspace)


def test_informative_words_rank_by_idf_times_log_count():
    idf = {"upi": 3.0, "timeout": 2.0, "payment": 1.0}.get
    parts = [("UPI timeout", 2.0), ("payment payment payment timeout", 1.0)]
    # upi: 3 x (1 + ln 2); timeout: 2 x (1 + ln 3); payment: 1 x (1 + ln 3)
    words = informative_words(parts, lambda tokens: {t: idf(t, 0.0) for t in tokens}, 3)
    assert words == ["UPI", "timeout", "payment"]
    assert 3 * (1 + math.log(2)) > 2 * (1 + math.log(3))  # the order above, worked by hand
    assert informative_words(parts, lambda tokens: {t: idf(t, 0.0) for t in tokens}, 1) == ["UPI"]


@pytest.mark.parametrize("text, classes", [
    ("A configuration change rolled out to the gateway", {"config", "change"}),
    ("Utility power loss; generators failed to start", {"power"}),
    ("Unexpectedly high traffic exhausted the connection pool", {"load", "capacity"}),
    ("The TLS certificate expired", {"certificate"}),
    ("Customers saw errors", set()),
])
def test_cause_classes(text, classes):
    assert cause_classes(text) == classes


def test_cause_overlap_and_the_neighbours_vote():
    assert overlap(frozenset({"config", "change"}), frozenset({"config"})) == 0.5
    assert overlap(frozenset(), frozenset({"config"})) == 0.0
    causes = {"A": frozenset({"config"}), "B": frozenset({"config", "power"}), "C": frozenset({"power"})}
    # min-max weights of scores 3, 2, 1 are 1, 0.5, 0: config 1 + 0.5, power 0.5 (+ 0), total 2
    votes = predicted_causes([("A", 3.0), ("B", 2.0), ("C", 1.0)], causes, top=3)
    assert votes == pytest.approx({"config": 0.75, "power": 0.25})
    assert predicted_causes([], causes) == {}


def test_cause_score_uses_known_causes_else_the_vote(juspay_workspace):
    snapshot = juspay_workspace.lexical()
    known = incident_query(Incident(id="N-1", title="x", root_cause="a bad configuration push"), snapshot, 10)
    unknown = incident_query(Incident(id="N-2", title="payments failing"), snapshot, 10)
    assert known.causes == {"config"} and unknown.causes == frozenset()
    assert cause_score(known, {}, frozenset({"config", "change"})) == 0.5
    assert cause_score(unknown, {"config": 0.75, "power": 0.25}, frozenset({"config", "dns"})) == 0.375


def test_a_stored_incident_finds_its_duplicate_and_never_itself(finder):
    response = finder.similar("JSP-1055", k=5)
    ids = [hit.id for hit in response.results]
    assert response.strategy == "similar" and not response.abstained and 0.9 < response.confidence <= 1.0
    assert "JSP-1055" not in ids and ids[0] == "JSP-2001" and len(ids) == 5
    why = response.results[0].why
    assert {"service", "category", "entities", "terms", "causes", "days_apart", "root_cause", "resolution"} <= set(why)
    assert "TPS" in why["terms"] and why["resolution"]


@pytest.mark.parametrize("incident_id", ["JSP-1001", "JSP-1030", "JSP-1052", "JSP-2001"])
def test_never_returns_itself(finder, incident_id):
    assert incident_id not in [hit.id for hit in finder.similar(incident_id, k=20).results]


def test_a_new_incident_that_is_not_stored(finder):
    new = Incident(id="NEW-1", title="Pinelabs RSA decryption fails with MessageNotRecognized",
                   description="INTERNAL_SERVER_ERROR on /txns for snapdeal_test: card number decryption failed")
    response = finder.similar(new, k=3)
    assert response.results[0].id == "JSP-1052" and "NEW-1" not in [hit.id for hit in response.results]
    assert response.results[0].why["causes_predicted"] is True


def test_an_unknown_id_is_not_found(finder):
    response = finder.similar("JSP-9999")
    assert response.abstained and response.reason.startswith("not found") and response.results == []


def test_single_and_batch_rank_the_same(finder, juspay_workspace):
    ids = ["JSP-1001", "JSP-1052", "JSP-1055"]
    run = finder.rank(juspay_workspace.store.get_many(ids), k=5)
    for incident_id in ids:
        single = [(hit.id, hit.score) for hit in finder.similar(incident_id, k=5).results]
        assert [d for d, _ in single] == list(run[incident_id])
        assert np.allclose([s for _, s in single], list(run[incident_id].values()), atol=1e-6)
        assert incident_id not in run[incident_id]


def test_the_modes_weights_are_its_own(juspay_workspace):
    dense_only = SimilarFinder(juspay_workspace, juspay_workspace.settings.model_copy(
        update={"similar_weights": (1.0, 0.0, 0.0), "similar_cause_weight": 0.0, "similar_service_boost": 1.0,
                "entity_boost": False}))
    response = dense_only.similar("JSP-1052", k=5)
    dense = [hit.raw_scores["dense"] for hit in response.results]
    assert dense == sorted(dense, reverse=True) and response.settings["weights"] == (1.0, 0.0, 0.0)


def test_duplicates_report_same_text_and_near_identical(juspay_workspace):
    found = possible_duplicates(juspay_workspace, "JSP-2001")
    assert [(d.id, d.of) for d in found] == [("JSP-2001", "JSP-1055")] and found[0].similarity >= 0.95
    assert possible_duplicates(juspay_workspace, "JSP-1052") == []
    assert possible_duplicates(juspay_workspace, "JSP-0000") == []


def test_duplicates_respect_the_window(juspay_workspace):
    strict = juspay_workspace.settings.model_copy(update={"duplicate_similarity": 1.01})
    original = juspay_workspace.settings
    juspay_workspace.settings = strict
    try:
        found = find_duplicates(juspay_workspace, ["JSP-2001"])
    finally:
        juspay_workspace.settings = original
    assert all(d.reason.startswith("same text") for d in found)


def test_ingest_reports_a_near_duplicate(workspace_factory, juspay_issues, tmp_path):
    """A second report of JSP-1052's outage, reworded a little, filed the same day: reported, nothing merged."""
    import json
    workspace = workspace_factory("dup-home")
    workspace.ingest([juspay_issues])
    original = workspace.store.get("JSP-1052")
    again = original.model_copy(update={"id": "OPS-77", "title": original.title + " (reported again)"})
    path = tmp_path / "again.json"
    path.write_text(json.dumps(again.to_json_dict()))
    report = workspace.ingest([path])
    assert [(d.id, d.of) for d in report.possible_duplicates] == [("OPS-77", "JSP-1052")]
    assert report.possible_duplicates[0].similarity >= 0.9 and "days apart" in report.possible_duplicates[0].reason
    assert report.as_dict()["possible_duplicates"][0]["of"] == "JSP-1052"
    assert workspace.store.get("OPS-77") and workspace.store.get("JSP-1052")
