"""Tests for sherlock.evaluation.metrics: hand-worked metrics, conventions, readers (sherlock.evaluation.query_sets),
and ranx as an oracle on a real run."""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter

import pytest

from sherlock.evaluation.metrics import (
    METRICS,
    evaluate,
    evaluate_per_query,
    parse_metric,
    rank,
)
from sherlock.evaluation.query_sets import read_labelled_queries, read_qrels, read_queries
from sherlock.run import Qrels, Run

# One query worked by hand. Relevant: d1 (grade 2), d3 (1), d6 (1); d5 is judged non-relevant (grade 0). R = 3.
# The run ranks d2, d1, d5, d3, d4 (d6 never retrieved), so relevant documents sit at ranks 2 (grade 2) and 4 (grade 1).
QRELS: Qrels = {"q1": {"d1": 2, "d3": 1, "d5": 0, "d6": 1}}
RUN: Run = {"q1": {"d2": 0.9, "d1": 0.8, "d5": 0.7, "d3": 0.6, "d4": 0.5}}
IDEAL_3 = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)  # grades 2, 1, 1 at ranks 1..3 = 3.1309...

HAND_WORKED = [
    # DCG@3 = 0/log2(2) + 2/log2(3) + 0/log2(4) = 1.2619; IDCG@3 = 2 + 1/log2(3) + 1/2 = 3.1309 -> 0.4030
    ("ndcg@3", (2 / math.log2(3)) / IDEAL_3),
    # DCG@5 adds d3 at rank 4: + 1/log2(5); the ideal still has only 3 relevant documents -> 0.5738
    ("ndcg@5", (2 / math.log2(3) + 1 / math.log2(5)) / IDEAL_3),
    ("ndcg", (2 / math.log2(3) + 1 / math.log2(5)) / IDEAL_3),
    # d2 at rank 1 is not relevant -> 0 within the top 1; first relevant at rank 2 -> 1/2
    ("mrr@1", 0.0),
    ("mrr@10", 0.5),
    ("mrr", 0.5),
    # one of the 3 relevant documents in the top 2; two (d1, d3) in the top 5
    ("recall@2", 1 / 3),
    ("recall@5", 2 / 3),
    ("recall@100", 2 / 3),
    # 1 relevant in the top 2; 2 in the top 5; a 5-document run asked for 10 is not excused: 2/10
    ("precision@2", 1 / 2),
    ("precision@5", 2 / 5),
    ("precision@10", 2 / 10),
    ("precision", 2 / 5),
    # AP: precision at rank 2 is 1/2, at rank 4 is 2/4; summed over R = 3 -> (0.5 + 0.5) / 3
    ("map", (1 / 2 + 2 / 4) / 3),
    ("map@100", (1 / 2 + 2 / 4) / 3),
    # cut at 3 only the hit at rank 2 counts: 0.5 / 3
    ("map@3", (1 / 2) / 3),
    ("hit_rate@1", 0.0),
    ("hit_rate@2", 1.0),
]


@pytest.mark.parametrize(("metric", "expected"), HAND_WORKED)
def test_metric_matches_hand_worked_value(metric, expected):
    assert evaluate(QRELS, RUN, metric)[metric] == pytest.approx(expected, abs=1e-12)


def test_ndcg_uses_linear_gain_not_exponential():
    # run: a (grade 1) then b (grade 3); the ideal order is b, a.
    # linear gain: DCG = 1/1 + 3/log2(3) = 2.8928, IDCG = 3/1 + 1/log2(3) = 3.6309 -> 0.7967
    # (2^rel - 1 gains would give (1 + 7/log2(3)) / (7 + 1/log2(3)) = 0.7098)
    qrels, run = {"q": {"a": 1, "b": 3}}, {"q": {"a": 2.0, "b": 1.0}}
    expected = (1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3))
    assert evaluate(qrels, run, "ndcg@2")["ndcg@2"] == pytest.approx(expected, abs=1e-12)


def test_ties_are_broken_by_descending_doc_id_like_trec_eval():
    # d8 and d7 tie at 0.5: trec_eval ranks d8 first, so the relevant d7 is at rank 2 -> RR = 1/2
    assert rank({"d7": 0.5, "d8": 0.5, "d1": 0.9}) == ["d1", "d8", "d7"]
    assert evaluate({"q": {"d7": 1}}, {"q": {"d7": 0.5, "d8": 0.5}}, "mrr")["mrr"] == 0.5


def test_rank_cut_at_k_agrees_with_the_full_ranking():
    scores = {f"d{i}": float(i % 7) for i in range(50)}
    assert rank(scores, 10) == rank(scores)[:10]


def test_which_queries_count():
    qrels = {
        "q1": QRELS["q1"],            # evaluated: RR = 1/2
        "no_relevant": {"d1": 0},     # skipped: no document with grade > 0
        "absent": {"d1": 1},          # in the qrels but not in the run: scores 0 and counts
    }
    run = {"q1": RUN["q1"], "only_in_run": {"d1": 1.0}}  # only_in_run is ignored
    per_query = evaluate_per_query(qrels, run, ["mrr", "ndcg@10"])
    assert per_query["mrr"] == {"q1": 0.5, "absent": 0.0}
    assert evaluate(qrels, run, "mrr") == {"mrr": (0.5 + 0.0) / 2}


def test_evaluate_keeps_metric_names_as_given_and_accepts_one_string():
    assert list(evaluate(QRELS, RUN, ["MRR@10", "ndcg@3"])) == ["MRR@10", "ndcg@3"]
    assert list(evaluate(QRELS, RUN, "map")) == ["map"]


@pytest.mark.parametrize(("name", "parsed"), [("ndcg@10", ("ndcg", 10)), ("mrr", ("mrr", None)),
                                               (" Recall@100 ", ("recall", 100)), ("hit_rate@1", ("hit_rate", 1))])
def test_parse_metric(name, parsed):
    assert parse_metric(name) == parsed


@pytest.mark.parametrize("name", ["ndgc@10", "hits@10", "ndcg@0", "ndcg@-1", "ndcg@ten", "ndcg@", "mrr@1.5", ""])
def test_bad_metric_names_raise_with_the_valid_families(name):
    with pytest.raises(ValueError, match=r"valid families|positive integer") as error:
        parse_metric(name)
    if "valid families" in str(error.value):
        assert all(family in str(error.value) for family in METRICS)


def test_nothing_to_evaluate_raises():
    with pytest.raises(ValueError, match="no metrics"):
        evaluate(QRELS, RUN, [])
    with pytest.raises(ValueError, match="relevant document"):
        evaluate({"q": {"d": 0}}, RUN, "mrr")


# Readers --------------------------------------------------------------------------------------------------------------

def test_read_qrels_on_the_real_beir_file_with_crlf(nfcorpus_dir):
    qrels = read_qrels(nfcorpus_dir / "qrels" / "test.tsv")
    assert len(qrels) == 323
    assert sum(len(judged) for judged in qrels.values()) == 12_334
    assert Counter(g for judged in qrels.values() for g in judged.values()).keys() == {1, 2}
    assert qrels["PLAIN-2"]["MED-2427"] == 2 and qrels["PLAIN-2"]["MED-2428"] == 1
    assert not any("\r" in key for judged in qrels.values() for key in judged)


def test_read_qrels_trec_format(tmp_path):
    path = tmp_path / "qrels.txt"
    path.write_text("q1 0 d1 2\nq1 0 d2 0\n\nq2\t0\td3  1\nq1 0 d1 1\n")
    assert read_qrels(path) == {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 1}}  # the repeated judgement keeps the last


def test_read_qrels_beir_tsv_with_crlf(tmp_path):
    path = tmp_path / "test.tsv"
    path.write_bytes(b"query-id\tcorpus-id\tscore\r\nq1\tdoc one\t2\r\nq1\td2\t0\r\n")
    assert read_qrels(path) == {"q1": {"doc one": 2, "d2": 0}}


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\n", 3, "3 tab-separated"),
    ("query-id\tcorpus-id\tscore\nq1\td1\thigh\n", 2, "integer"),
    ("q1 0 d1 1\nq1 d2 1\n", 2, "4 columns"),
    ("q1\td1\t1\n", 1, "header"),
])
def test_malformed_qrels_name_file_and_line(tmp_path, text, line, problem):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"bad\.tsv:{line}: .*{problem}"):
        read_qrels(path)


def test_read_queries_beir(nfcorpus_dir):
    queries = read_queries(nfcorpus_dir / "queries.jsonl")
    assert len(queries) == 3237
    assert queries["PLAIN-3"] == "Breast Cancer Cells Feed on Cholesterol"


def test_read_queries_and_labelled_queries_in_our_jsonl(tmp_path):
    path = tmp_path / "queries.jsonl"
    rows = [{"id": "Q1", "query": "redis timeout", "relevant": {"INC-1": 2, "INC-7": 1}},
            {"id": "Q2", "query": "disk full", "relevant": {}}]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n\n")
    assert read_queries(path) == {"Q1": "redis timeout", "Q2": "disk full"}
    assert read_labelled_queries(path) == ({"Q1": "redis timeout", "Q2": "disk full"},
                                           {"Q1": {"INC-1": 2, "INC-7": 1}, "Q2": {}})


@pytest.mark.parametrize(("lines", "problem"), [
    (['{"id": "Q1", "query": "a"', ], "not valid JSON"),
    (['["Q1", "a"]'], "JSON object"),
    (['{"query": "a", "relevant": {}}'], "query id"),
    (['{"id": "Q1", "relevant": {}}'], "query text"),
    (['{"id": "Q1", "query": "a", "relevant": {}}', '{"id": "Q1", "query": "b", "relevant": {}}'], "duplicate"),
    (['{"id": "Q1", "query": "a"}'], "'relevant' must map"),
    (['{"id": "Q1", "query": "a", "relevant": ["INC-1"]}'], "'relevant' must map"),
    (['{"id": "Q1", "query": "a", "relevant": {"INC-1": "2"}}'], "'relevant' must map"),
])
def test_malformed_labelled_queries_name_file_and_line(tmp_path, lines, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n" + "\n".join(lines) + "\n")  # a leading blank line: line numbers still count it
    with pytest.raises(ValueError, match=rf"bad\.jsonl:{len(lines) + 1}: .*{re.escape(problem)}"):
        read_labelled_queries(path)


# ranx as an oracle on a real run ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nfcorpus_run(nfcorpus, overlap_run) -> tuple[Qrels, Run]:
    qrels = nfcorpus.qrels
    run = overlap_run(nfcorpus.queries, nfcorpus.documents("title+text"))
    run.pop(sorted(run)[0])  # one judged query with no results: must score 0 and count, in both
    return qrels, run


ORACLE_METRICS = ["ndcg@10", "mrr@10", "mrr", "recall@100", "precision@10", "map@100", "map", "hit_rate@10"]


def test_the_oracle_run_is_real_and_tie_free(nfcorpus_run):
    qrels, run = nfcorpus_run
    assert 250 < len(run) < len(qrels)  # some judged queries share no term with any document: they score 0
    assert all(len(set(scores.values())) == len(scores) for scores in run.values())
    assert 0.1 < evaluate(qrels, run, "ndcg@10")["ndcg@10"] < 0.5  # a weak but real lexical baseline


@pytest.mark.slow
def test_evaluate_agrees_with_ranx_on_nfcorpus(nfcorpus_run):
    ranx = pytest.importorskip("ranx")
    qrels, run = nfcorpus_run
    ranx_run = ranx.Run({qid: dict(scores) for qid, scores in run.items()})
    expected = ranx.evaluate(ranx.Qrels(qrels), ranx_run, ORACLE_METRICS, make_comparable=True)
    ours = evaluate(qrels, run, ORACLE_METRICS)
    per_query = evaluate_per_query(qrels, run, ORACLE_METRICS)
    for metric in ORACLE_METRICS:
        assert ours[metric] == pytest.approx(expected[metric], abs=1e-9), metric
        assert per_query[metric].keys() == qrels.keys()
        for qid, value in per_query[metric].items():
            assert value == pytest.approx(ranx_run.scores[metric][qid], abs=1e-9), (metric, qid)


@pytest.mark.slow
def test_ranx_counts_queries_without_relevant_documents_we_skip_them():
    ranx = pytest.importorskip("ranx")
    qrels = {"q1": {"d1": 1}, "q2": {"d9": 0}}
    run = {"q1": {"d1": 1.0, "d2": 0.5}, "q2": {"d9": 1.0, "d3": 0.5}}
    assert evaluate(qrels, run, "mrr") == {"mrr": 1.0}
    assert ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), "mrr") == pytest.approx(0.5)  # q2 scored 0 and counted


def test_evaluate_is_fast_on_323_queries(nfcorpus_run):
    qrels, run = nfcorpus_run
    metrics = ["ndcg@10", "mrr@10", "recall@100", "map@100"]
    evaluate(qrels, run, metrics)
    start = time.perf_counter()
    for _ in range(5):
        evaluate(qrels, run, metrics)
    assert (time.perf_counter() - start) / 5 < 0.25  # a few ms in practice; this only catches order-of-magnitude slips


# The batched forms (the tuning grid's) equal the scalar ones ----------------------------------------------------------

@pytest.mark.parametrize("family", sorted(METRICS))
@pytest.mark.parametrize("k", [None, 1, 3, 10])
def test_every_metric_batched_form_equals_its_scalar_form(family, k):
    import numpy as np

    from sherlock.evaluation.metrics import Judged

    rng = np.random.default_rng(11)
    rankings = [[f"d{j}" for j in rng.permutation(12)[:rng.integers(0, 12)]] for _ in range(40)]
    relevant = [{f"d{j}": int(rng.integers(1, 3)) for j in rng.choice(15, size=rng.integers(1, 5), replace=False)}
                for _ in rankings]
    width = max(len(r) for r in rankings)
    judged = Judged.build(rankings, relevant, width, k)
    cut = width if k is None else k
    top = np.zeros((len(rankings), 1, cut))
    for q, ranked in enumerate(rankings):
        gains = judged.gains[q, :len(ranked)][:cut]
        top[q, 0, :len(gains)] = gains
    batched = METRICS[family].batched(top, judged, k)[:, 0]
    scalar = [METRICS[family].scalar(r, rel, k) for r, rel in zip(rankings, relevant, strict=True)]
    assert batched.tolist() == pytest.approx(scalar, abs=1e-12)
