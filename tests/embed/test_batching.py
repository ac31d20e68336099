"""Concurrent query embeddings batched into one model call: same vectors, fewer calls, errors reach every caller."""

import threading
import time

import numpy as np

from sherlock.embed.batching import QueryBatcher


class SlowModel:
    """A stand-in model: each text becomes [len(text), call number]; each call takes 50 ms, like a busy model."""

    def __init__(self, fail_on: str | None = None):
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def __call__(self, texts):
        self.calls.append(list(texts))
        time.sleep(0.05)
        if self.fail_on in texts:
            raise RuntimeError(f"model failed on {self.fail_on}")
        return np.array([[len(text), len(self.calls)] for text in texts], dtype=np.float32)


def run_concurrently(batcher, queries):
    results, errors = {}, {}

    def one(query):
        try:
            results[query] = batcher([query])
        except RuntimeError as exc:
            errors[query] = str(exc)

    threads = [threading.Thread(target=one, args=(query,)) for query in queries]
    for thread in threads:
        thread.start()
        time.sleep(0.005)  # they arrive one after another while the first runs
    for thread in threads:
        thread.join(timeout=10)
    return results, errors


def test_a_lone_call_runs_at_once():
    model = SlowModel()
    vectors = QueryBatcher(model)(["abc", "de"])
    assert vectors.tolist() == [[3, 1], [2, 1]] and model.calls == [["abc", "de"]]


def test_callers_arriving_during_a_call_share_the_next_one():
    model = SlowModel()
    batcher = QueryBatcher(model)
    queries = [f"query {'x' * n}" for n in range(6)]
    results, errors = run_concurrently(batcher, queries)
    assert not errors and set(results) == set(queries)
    assert all(results[query][0, 0] == len(query) for query in queries)  # each caller gets its own row
    assert model.calls[0] == [queries[0]] and len(model.calls) == 2  # the first alone, the other five together
    assert sorted(model.calls[1]) == sorted(queries[1:])
    assert (batcher.calls, batcher.callers) == (2, 6)


def test_a_failed_call_fails_each_of_its_callers_and_the_next_batch_still_runs():
    model = SlowModel(fail_on="query 2")
    batcher = QueryBatcher(model)
    results, errors = run_concurrently(batcher, ["query 1", "query 2", "query 3"])
    assert set(results) == {"query 1"} and set(errors) == {"query 2", "query 3"}
    assert errors["query 3"] == "model failed on query 2"
    assert batcher(["query 4"]).tolist() == [[7, 3]]  # not stuck after the failure


def test_many_threads_never_lose_a_caller():
    threads = 16
    model = SlowModel()
    batcher = QueryBatcher(model)
    queries = [f"q{n:02d}" for n in range(threads)]
    results, errors = run_concurrently(batcher, queries)
    assert not errors and len(results) == threads and sum(len(call) for call in model.calls) == threads
