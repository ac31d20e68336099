import json
import math

import numpy as np
import pytest

from sherlock.retrievers.base import weighted_text
from sherlock.retrievers.bm25 import METHODS, BM25Retriever
from sherlock.retrievers.tfidf import TfidfRetriever
from sherlock.schema import Incident
from sherlock.text import query_tokens, tokenize

QUERIES = [
    "snapdeal pinelabs",
    "UPI payment failed with error 5003",
    "refund webhook not processed",
    "card tokenization failing BIN 65xx",
    "HTTP 502 errors payout timeout",
    "INTERNAL_SERVER_ERROR on /txns",
    "RSA decryption MessageNotRecognized",
    "settlement file parsing delimiter",
    "autopay mandate timeout HDFC",
    "2C2P refund insufficient funds",
    "CCAvenue working key decryption",
    "Android intent deeplink crash",
    "TPS scaling traffic spike",
    "3DS ACS timeout",
    "webhook HMAC signature mismatch",
    "order status 500 decimal parameter",
    "sandbox vs production gateway configuration",
    "Diners saved cards not visible",
    "surcharge offers amount_info",
    "latency spike connection pool",
]


@pytest.fixture(scope="module")
def juspay(juspay_issues) -> list[Incident]:
    return [Incident.from_record(record) for record in json.loads(juspay_issues.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def juspay_tokens(juspay) -> list[list[str]]:
    return [tokenize(weighted_text(incident)) for incident in juspay]


@pytest.fixture(scope="module")
def bm25(juspay) -> BM25Retriever:
    return BM25Retriever().fit(juspay)


@pytest.fixture(scope="module")
def tfidf(juspay) -> TfidfRetriever:
    return TfidfRetriever().fit(juspay)


def dense(retriever, query, ids) -> np.ndarray:
    scores = retriever.score(query, ids)
    return np.array([scores[doc_id] for doc_id in ids])


# -- BM25 oracle tests against rank-bm25 ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(METHODS))
def test_bm25s_and_rank_bm25_backends_agree(juspay, method):
    ours = BM25Retriever(backend="bm25s", method=method).fit(juspay)
    reference = BM25Retriever(backend="rank_bm25", method=method).fit(juspay)
    ids = [incident.id for incident in juspay]
    for query in QUERIES:
        np.testing.assert_allclose(dense(ours, query, ids), dense(reference, query, ids), rtol=0, atol=1e-6)
        ranked, ranked_reference = ours.search(query, k=20), reference.search(query, k=20)
        assert list(ranked) == list(ranked_reference), query
        np.testing.assert_allclose(list(ranked.values()), list(ranked_reference.values()), rtol=0, atol=1e-6)


def test_bm25s_bm25plus_equals_unmodified_rank_bm25_bm25plus(juspay_tokens):
    """Both libraries as shipped: the same BM25+ formula (Lv & Zhai 2011), so the same scores."""
    import bm25s
    from rank_bm25 import BM25Plus

    ours = bm25s.BM25(k1=1.2, b=0.75, delta=1.0, method="bm25+", dtype="float64")
    ours.index(juspay_tokens, show_progress=False)
    reference = BM25Plus(juspay_tokens, k1=1.2, b=0.75, delta=1.0)
    for query in QUERIES:
        tokens = tokenize(query)
        np.testing.assert_allclose(ours.get_scores(tokens), reference.get_scores(tokens), rtol=0, atol=1e-6)


def test_robertson_times_k1_plus_1_equals_unmodified_rank_bm25_okapi(juspay, juspay_tokens):
    """BM25Okapi keeps the (k1 + 1) factor and floors negative idfs differently; away from those it is ours."""
    from rank_bm25 import BM25Okapi

    k1 = 1.2
    ours = BM25Retriever(k1=k1, method="robertson").fit(juspay)
    reference = BM25Okapi(juspay_tokens, k1=k1, b=0.75)
    ids = [incident.id for incident in juspay]
    compared = 0
    for query in QUERIES:
        tokens = query_tokens(query)  # what BM25 searches: the query's tokens, spelling variants and synonyms
        if any(2 * sum(token in doc for doc in reference.doc_freqs) > reference.corpus_size for token in tokens):
            continue  # a term in more than half the documents: the two idf floors differ
        np.testing.assert_allclose((k1 + 1) * dense(ours, query, ids), reference.get_scores(tokens), atol=1e-6)
        compared += 1
    assert compared >= 12


# -- BM25 retriever contract ---------------------------------------------------------------------------------------


def test_bm25_finds_the_known_incidents(bm25):
    assert "JSP-1052" in list(bm25.search("snapdeal pinelabs", k=3))
    assert next(iter(bm25.search("UPI payment failed with error 5003", k=5))) == "JSP-1001"


@pytest.mark.parametrize("retriever_name", ["bm25", "tfidf"])
def test_search_contract(request, retriever_name):
    retriever = request.getfixturevalue(retriever_name)
    for query in QUERIES:
        ranked = retriever.search(query, k=5)
        assert 0 < len(ranked) <= 5
        values = list(ranked.values())
        assert all(value > 0 for value in values)
        assert values == sorted(values, reverse=True)
    assert retriever.search("zzzz qqqq", k=5) == {}
    assert retriever.search("", k=5) == {}
    assert retriever.search("refund", k=0) == {}


@pytest.mark.parametrize("retriever_name", ["bm25", "tfidf"])
def test_allowed_restricts_results(request, retriever_name):
    retriever = request.getfixturevalue(retriever_name)
    everything = retriever.search("refund failed gateway", k=100)
    allowed = {"JSP-1004", "JSP-1018", "JSP-1022", "JSP-1001", "NOT-AN-ID"}
    filtered = retriever.search("refund failed gateway", k=100, allowed=allowed)
    assert filtered == {doc_id: score for doc_id, score in everything.items() if doc_id in allowed}
    assert retriever.search("refund failed gateway", k=2, allowed=allowed) == dict(list(filtered.items())[:2])
    assert retriever.search("refund", k=10, allowed=[]) == {}


@pytest.mark.parametrize("retriever_name", ["bm25", "tfidf"])
def test_score_equals_search_scores(request, retriever_name):
    retriever = request.getfixturevalue(retriever_name)
    for query in QUERIES:
        ranked = retriever.search(query, k=10)
        scored = retriever.score(query, [*reversed(ranked), "NOT-AN-ID"])
        assert set(scored) == set(ranked)
        for doc_id, value in ranked.items():
            assert scored[doc_id] == pytest.approx(value, abs=1e-9)
    assert retriever.score("snapdeal", ["JSP-1001"]) == {"JSP-1001": 0.0}


@pytest.mark.parametrize("retriever_name", ["bm25", "tfidf"])
def test_search_many_equals_search(request, retriever_name):
    retriever = request.getfixturevalue(retriever_name)
    allowed = [f"JSP-10{n:02d}" for n in range(1, 60, 2)]
    assert retriever.search_many(QUERIES, k=7, batch_size=6) == [retriever.search(q, k=7) for q in QUERIES]
    assert retriever.search_many(QUERIES, k=7, allowed=allowed) == [
        retriever.search(q, k=7, allowed=allowed) for q in QUERIES]


@pytest.mark.parametrize("cls", [BM25Retriever, TfidfRetriever])
def test_save_load_roundtrip_gives_identical_scores(tmp_path, juspay, cls):
    retriever = cls(field_weights={"title": 3, "description": 1, "tags": 1}).fit(juspay)
    target = tmp_path / "index"
    retriever.save(target)
    retriever.save(target)  # replacing an existing index
    assert sorted(path.name for path in tmp_path.iterdir()) == ["index"]  # no temp dirs left behind
    for path in target.iterdir():
        assert path.suffix in {".npy", ".json", ".npz"}, path
        if path.suffix in {".npy", ".npz"}:
            np.load(path, allow_pickle=False)
    loaded = cls.load(target)
    assert loaded.get_params() == retriever.get_params()
    assert loaded.search_many(QUERIES, k=10) == retriever.search_many(QUERIES, k=10)
    ids = [incident.id for incident in juspay]
    assert loaded.score("refund webhook", ids) == retriever.score("refund webhook", ids)


def test_load_rejects_a_directory_without_an_index(tmp_path):
    with pytest.raises(ValueError, match=r"sherlock_bm25\.json missing"):
        BM25Retriever.load(tmp_path)


def test_bad_hyper_parameters_raise_listing_the_choices(juspay):
    with pytest.raises(ValueError, match=r"unknown backend 'pyserini'.*'bm25s', 'rank_bm25'"):
        BM25Retriever(backend="pyserini").fit(juspay)
    with pytest.raises(ValueError, match=r"unknown method 'okapi'.*'lucene'"):
        BM25Retriever(method="okapi").fit(juspay)


@pytest.mark.parametrize("cls", [BM25Retriever, TfidfRetriever])
def test_contract_errors_and_edge_cases(cls):
    with pytest.raises(ValueError, match="not fitted"):
        cls().search("x")
    duplicated = [Incident(id="A", title="one"), Incident(id="A", title="two")]
    with pytest.raises(ValueError, match=r"duplicate incident ids \['A'\]"):
        cls().fit(duplicated)
    empty = cls().fit([])
    assert empty.search("anything") == {} and empty.score("anything", ["A"]) == {}
    only_stopwords = cls().fit([Incident(id="A", title="the"), Incident(id="B", title="and so on")])
    assert only_stopwords.search("the refund") == {}
    assert only_stopwords.score("refund", ["A"]) == {"A": 0.0}


@pytest.mark.parametrize("cls", [BM25Retriever, TfidfRetriever])
def test_an_index_with_nothing_to_match_saves_and_loads(tmp_path, cls):
    for docs in ([], [Incident(id="A", title="the")]):
        loaded = cls.load(cls().fit(docs).save(tmp_path / "index"))
        assert loaded.search("refund") == {}
        assert loaded.docs_.ids == [doc.id for doc in docs]


@pytest.mark.parametrize("cls", [BM25Retriever, TfidfRetriever])
def test_ties_are_broken_by_doc_id(cls):
    same = [Incident(id=doc_id, title="refund stuck") for doc_id in ("C", "A", "B")]
    other = [Incident(id=f"X{n}", title=f"unrelated {n}") for n in range(4)]
    assert list(cls().fit(same + other).search("refund", k=2)) == ["A", "B"]


def test_rank_bm25_backend_cannot_be_saved(tmp_path, juspay):
    with pytest.raises(ValueError, match="only a backend='bm25s' index can be saved"):
        BM25Retriever(backend="rank_bm25").fit(juspay).save(tmp_path / "index")


def test_get_params_is_flat_hyper_parameters(bm25):
    assert bm25.get_params() == {"k1": 1.2, "b": 0.75, "backend": "bm25s", "method": "lucene", "field_weights": None}


# -- TF-IDF ----------------------------------------------------------------------------------------------------------


def test_tfidf_matches_a_hand_computed_example():
    docs = [Incident(id="d1", title="refund refund failed"), Incident(id="d2", title="refund delayed"),
            Incident(id="d3", title="card declined")]
    retriever = TfidfRetriever(field_weights={"title": 1}).fit(docs)
    # smoothed idf ln((1 + N) / (1 + df)) + 1 with N = 3; sublinear tf 1 + ln(tf); rows L2-normalised.
    idf_refund, idf_rare = math.log(4 / 3) + 1, math.log(4 / 2) + 1
    w_refund_d1 = (1 + math.log(2)) * idf_refund
    cos_d1 = w_refund_d1 / math.hypot(w_refund_d1, idf_rare)  # d1 = refund x2, fail x1
    cos_d2 = idf_refund / math.hypot(idf_refund, idf_rare)  # d2 = refund x1, delay x1
    assert retriever.search("refund") == pytest.approx({"d1": cos_d1, "d2": cos_d2}, abs=1e-12)
    assert list(retriever.search("refund")) == ["d1", "d2"]
    # the query "refund failures" -> (refund, fail) with equal idf-weighted tf: cosine with d1
    query = np.array([idf_refund, idf_rare]) / math.hypot(idf_refund, idf_rare)
    d1 = np.array([w_refund_d1, idf_rare]) / math.hypot(w_refund_d1, idf_rare)
    assert retriever.score("refund failures", ["d1"])["d1"] == pytest.approx(float(query @ d1), abs=1e-12)


def test_tfidf_finds_the_known_incident(tfidf):
    assert "JSP-1052" in list(tfidf.search("snapdeal pinelabs", k=3))


def test_tfidf_min_df_that_removes_every_term_gives_an_empty_index():
    docs = [Incident(id="a", title="alpha"), Incident(id="b", title="beta")]
    assert TfidfRetriever(min_df=2).fit(docs).search("alpha") == {}


def test_query_vectors_equal_scikit_learn_transform_bit_for_bit(juspay):
    """Queries are vectorised without scikit-learn (a cold search stays light); the oracle is the fitted vectorizer's
    own ``transform``, over every incident title plus phrasings with unknown and repeated terms."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from sherlock.retrievers.tfidf import query_matrix

    texts = [weighted_text(incident) for incident in juspay]
    vectorizer = TfidfVectorizer(analyzer=tokenize, token_pattern=None, lowercase=False, sublinear_tf=True,
                                 norm="l2", dtype=np.float64)
    vectorizer.fit(texts)
    queries = [incident.title for incident in juspay] + [
        "UPI UPI UPI timeout timeout 5003", "nothing from this corpus zzqx", "", "HTTP 502 on /txns for snapdeal_test"]
    # queries are analyzed as the retrievers search them (synonyms and spelling variants added), documents as indexed
    query_side = TfidfVectorizer(analyzer=query_tokens, token_pattern=None, lowercase=False, sublinear_tf=True,
                                 norm="l2", dtype=np.float64, vocabulary=vectorizer.vocabulary_)
    query_side.idf_ = vectorizer.idf_
    expected = query_side.transform(queries)
    got = query_matrix(queries, vectorizer.vocabulary_, vectorizer.idf_)
    assert got.shape == expected.shape
    assert (got != expected).nnz == 0  # identical, not merely close
    assert expected.nnz > 100
