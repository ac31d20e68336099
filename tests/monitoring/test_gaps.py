"""Content gaps: abstained and thumbs-down questions grouped into themes — off-topic questions together, apart from
the incident questions people voted down — with counts and examples; none in hash mode."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import numpy as np
import pytest

from sherlock.config import load_settings
from sherlock.monitoring.events import QueryEvent
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.report import monitor_report
from sherlock.storage.feedback import FeedbackStore

MONDAY = datetime(2025, 3, 3, tzinfo=UTC).timestamp()
NOW = datetime(2025, 6, 1, tzinfo=UTC)
#: Off-topic questions people asked (abstained), by family, each asked as often as its number.
OFF_TOPIC = {
    "weather": {"what's the weather in sydney today": 5, "weather forecast for london tomorrow": 3,
                "will it rain this weekend, weather in pune": 2},
    "recipes": {"recipe for banana bread": 4, "easy pasta recipe for dinner": 2, "vegan chocolate cake recipe": 1},
    "capitals": {"what is the capital of australia": 3, "capital city of canada": 2, "capital of brazil?": 1},
    "football": {"who won the football match last night": 2, "football world cup 2026 fixtures": 2,
                 "explain the offside rule in football": 1},
}
#: Incident questions whose answers got a thumbs down, by topic.
VOTED_DOWN = {
    "kafka": ["kafka consumer lag growing on the payments topic", "consumer lag on kafka orders topic after deploy",
              "kafka consumer group rebalancing and lag spikes"],
    "redis": ["redis timeouts during checkout", "intermittent redis connection timeouts in cart service",
              "redis cluster timeouts after failover"],
}


def event(query: str, ts: float, abstained: bool) -> QueryEvent:
    return QueryEvent(channel="app", kind="ask", query=query, strategy="hybrid", abstained=abstained,
                      latency_ms=40.0, settings={}, dense_top=0.2 if abstained else 0.6, session="s1", ts=ts)


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """The off-topic questions abstained (cased and spaced differently on each repeat), the incident questions were
    answered and voted down (twice the first of each topic), and answered incident questions nobody voted on."""
    home = tmp_path_factory.mktemp("gaps-home")
    settings = load_settings(home=home, demo=False)
    log = QueryLog(settings.query_log_path, b"gaps-key")
    store = FeedbackStore(settings.feedback_path)
    ts = MONDAY + 3600
    for questions in OFF_TOPIC.values():
        for text, times in questions.items():
            for repeat in range(times):
                log.record(event(text.upper() if repeat % 2 else f"  {text} ", ts, True))
                ts += 60
    down = []
    for questions in VOTED_DOWN.values():
        for i, text in enumerate(questions):
            for _ in range(2 if i == 0 else 1):
                down.append((log.record(event(text, ts, False)), text))
                ts += 60
    log.record(event("upi refunds failing for hdfc", ts, False))
    assert log.flush()
    for log_id, text in down:
        vote = store.record(text, ["JSP-1001"], False, session_id="s1", log_id=log_id)
        with sqlite3.connect(store.path) as connection:
            connection.execute("UPDATE feedback SET created_at = ? WHERE id = ?",
                               (datetime.fromtimestamp(ts, UTC).isoformat(), vote))
    yield settings, log, store
    store.close()
    log.close()


def report(logged, **overrides):
    settings, log, store = logged
    return monitor_report(settings, date(2025, 3, 3), date(2025, 3, 9), "W", log=log, feedback=store, now=NOW,
                          **overrides)


def theme_of(gaps: list[dict], text: str) -> int:
    """The index of the theme whose examples hold ``text`` (the examples name at most 5 of a theme's questions, and
    every theme here has fewer)."""
    found = [i for i, gap in enumerate(gaps) if any(example.strip().lower() == text for example in
                                                     gap["example_queries"])]
    assert len(found) == 1, (text, gaps)
    return found[0]


def test_off_topic_families_cluster_together_and_apart_from_incident_questions(logged):
    gaps = report(logged)["gaps"]
    off_topic = {family: {theme_of(gaps, text) for text in questions} for family, questions in OFF_TOPIC.items()}
    incidents = {topic: {theme_of(gaps, text) for text in questions} for topic, questions in VOTED_DOWN.items()}
    for family, themes in off_topic.items():
        assert len(themes) == 1, f"the {family} questions are split over {len(themes)} themes: {gaps}"
    incident_themes = set().union(*incidents.values())
    assert not incident_themes & set().union(*off_topic.values()), gaps
    for topic, themes in incidents.items():
        assert len(themes) == 1, f"the {topic} questions are split: {gaps}"
    assert incidents["kafka"] != incidents["redis"]
    labels = {family: gaps[next(iter(themes))]["label"] for family, themes in off_topic.items()}
    assert "weather" in labels["weather"] and "recipe" in labels["recipes"] and "capital" in labels["capitals"]
    assert "football" in labels["football"]
    assert "upi refunds failing for hdfc" not in str(gaps)  # answered, no thumbs down: not a gap


def test_counts_and_examples(logged):
    gaps = report(logged)["gaps"]
    weather = gaps[theme_of(gaps, "what's the weather in sydney today")]
    # one question however it was cased or spaced: 3 distinct questions asked 5 + 3 + 2 times
    assert (weather["count"], weather["distinct"], weather["abstained"], weather["thumbs_down"]) == (10, 3, 10, 0)
    assert [text.strip().lower() for text in weather["example_queries"]] == list(OFF_TOPIC["weather"])
    kafka = gaps[theme_of(gaps, "kafka consumer lag growing on the payments topic")]
    assert (kafka["count"], kafka["distinct"], kafka["abstained"], kafka["thumbs_down"]) == (4, 3, 0, 4)
    assert kafka["example_queries"][0] == VOTED_DOWN["kafka"][0]  # voted down twice: the most frequent first
    assert [gap["count"] for gap in gaps] == sorted((gap["count"] for gap in gaps), reverse=True)
    assert sum(gap["count"] for gap in gaps) == sum(sum(q.values()) for q in OFF_TOPIC.values()) + 8


def test_hash_mode_keeps_no_text_and_shows_no_gaps(tmp_path):
    settings = load_settings(home=tmp_path, demo=False, query_log_text="hash")
    log = QueryLog(settings.query_log_path, b"key", keep_text=False)
    for i in range(5):
        log.record(event("what is the capital of australia", MONDAY + i, True))
    assert log.flush()
    result = monitor_report(settings, date(2025, 3, 3), date(2025, 3, 9), log=log, now=NOW)
    assert (result["text_kept"], result["gaps"], result["abstained"]) == (False, [], 5)
    log.close()


@pytest.mark.parametrize("source", ["gap questions", "demo incident titles"])
def test_tfidf_and_clustering_equal_scikit_learns(source):
    """The TF-IDF weights and the themes are scikit-learn's (``TfidfVectorizer``, ``AgglomerativeClustering``), which
    the report no longer imports: the oracle, on the questions above and on 2,000 real incident titles (many ties)."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    from sherlock.monitoring.gaps import DISTANCE_THRESHOLD, cluster_questions, text_vectors
    from sherlock.storage.demo import load_demo_incidents
    from sherlock.text import readable_terms

    if source == "gap questions":
        texts = [text for family in [*OFF_TOPIC.values(), *VOTED_DOWN.values()] for text in family]
    else:
        texts = [incident.title for incident in load_demo_incidents()][:2000]
    oracle = {}
    for min_df in (2, 1):  # the themes are clustered on shared terms (2), labelled with every term (1)
        expected = TfidfVectorizer(analyzer=readable_terms, sublinear_tf=True, min_df=min_df, dtype=np.float64)
        oracle[min_df] = expected.fit_transform(texts).tocsr()
        matrix, terms = text_vectors(texts, min_df=min_df)
        assert list(terms) == list(expected.get_feature_names_out())
        assert abs(matrix - oracle[min_df]).max() < 1e-15
    distance = np.clip(1.0 - (oracle[2] @ oracle[2].T).toarray(), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    themes = AgglomerativeClustering(n_clusters=None, distance_threshold=DISTANCE_THRESHOLD, metric="precomputed",
                                     linkage="average").fit_predict(distance)
    found = cluster_questions(text_vectors(texts)[0])
    assert len(set(found)) > 3
    assert np.array_equal(found, themes)  # the same themes, numbered alike
