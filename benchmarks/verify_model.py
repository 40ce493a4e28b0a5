#!/usr/bin/env python3
"""Check the bundled int8 model against the published fp32 weights of all-MiniLM-L6-v2.

The ``[semantic]`` extra runs a third party's int8 ONNX export, for which no upstream checksum
exists. This script checks it against the model's own published weights instead:

1. ``MODEL_SAFETENSORS`` is the fp32 ``model.safetensors`` of sentence-transformers/
   all-MiniLM-L6-v2 (revision ``1110a243fdf4706b3f48f1d95db1a4f5529b4d41``), from any package
   or download; its SHA-256 and size must be the published ones (:data:`FP32_SHA256`,
   :data:`FP32_BYTES`), else the script stops.
2. Those weights run through a plain NumPy BERT encoder written here (the published
   architecture: 6 layers, 384 wide, 12 heads, erf GELU, LayerNorm eps 1e-12, mean pooling,
   L2 normalisation), with the same tokenizer (``generator/assets/minilm-tokenizer.json``).
3. The same texts go through the bundled int8 ONNX model (:class:`generator.semantic.SentenceModel`)
   and the cosine of each pair of embeddings is reported, for every chunk of every post-mortem
   of ``--corpus``, and for the post-mortem vectors the links use; and the fused benchmark
   figures (``similarity_quality``) with each set of vectors.

No PyTorch. Usage::

    .venv/bin/python benchmarks/verify_model.py /path/to/model.safetensors [--corpus postmortems]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FP32_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
FP32_BYTES = 90_868_376
LAYERS, HEADS, EPS = 6, 12, 1e-12


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file (8-byte little-endian header length, JSON header,
    raw little-endian data), F32 only."""
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, stop = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + size + start:8 + size + stop], dtype="<f4").reshape(info["shape"])
    return out


def layer_norm(x, w, b):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * w + b


def encode(weights: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Token embeddings (batch x tokens x 384) of a BertModel, in float32 (as the weights)."""
    from scipy.special import erf

    W = weights
    n = ids.shape[1]
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:n][None] \
        + W["embeddings.token_type_embeddings.weight"][0][None, None]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    d = x.shape[-1] // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def dense(t, name):
            return t @ W[p + name + ".weight"].T + W[p + name + ".bias"]

        def heads(t):
            return t.reshape(t.shape[0], n, HEADS, d).transpose(0, 2, 1, 3)

        q, k, v = (heads(dense(x, f"attention.self.{m}")) for m in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(x.shape)
        x = layer_norm(x + dense(context, "attention.output.dense"),
                       W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"])
        hidden = dense(x, "intermediate.dense")
        hidden = 0.5 * hidden * (1.0 + erf(hidden / np.sqrt(2.0)))
        x = layer_norm(x + dense(hidden, "output.dense"), W[p + "output.LayerNorm.weight"],
                       W[p + "output.LayerNorm.bias"])
    return x


def fp32_embed(weights, tokenizer, texts: list[str]) -> np.ndarray:
    out = []
    for start in range(0, len(texts), 16):
        enc = tokenizer.encode_batch(texts[start:start + 16])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        tokens = encode(weights, ids, mask)
        pooled = (tokens * mask[..., None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
    return np.vstack(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("safetensors", type=Path)
    parser.add_argument("--corpus", type=Path, default=ROOT / "postmortems")
    parser.add_argument("--limit", type=int, help="only the first N post-mortems (by id)")
    args = parser.parse_args(argv)
    digest = hashlib.sha256(args.safetensors.read_bytes()).hexdigest()
    size = args.safetensors.stat().st_size
    print(f"{args.safetensors}: {size} bytes, SHA-256 {digest}")
    if digest != FP32_SHA256 or size != FP32_BYTES:
        print(f"not the published weights (expected {FP32_BYTES} bytes, SHA-256 {FP32_SHA256})")
        return 1
    from tokenizers import Tokenizer

    from generator import semantic
    from generator.settings import Settings
    from generator.validate import validate

    tokenizer = Tokenizer.from_file(str(semantic.TOKENIZER_FILE))
    tokenizer.enable_truncation(max_length=semantic.MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    weights = load_safetensors(args.safetensors)
    model = semantic.SentenceModel()
    pms = sorted(validate([args.corpus], Settings(docs_dir=args.corpus), scan_secrets=False).postmortems,
                 key=lambda p: p.id)[:args.limit]
    chunk_cos, doc_int8, doc_fp32 = [], [], []
    for pm in pms:
        texts = semantic.chunks(semantic.document_text(pm))
        a = model.embed(texts).astype(np.float64)
        b = fp32_embed(weights, tokenizer, texts)
        chunk_cos.extend((a * b).sum(1).tolist())
        for rows, out in ((a, doc_int8), (b, doc_fp32)):
            mean = rows.mean(0)
            out.append(mean / np.linalg.norm(mean))
    chunk_cos = np.array(chunk_cos)
    doc_cos = (np.array(doc_int8) * np.array(doc_fp32)).sum(1)
    print(f"{len(chunk_cos)} chunks of {len(pms)} post-mortems: cosine int8 vs fp32 min {chunk_cos.min():.4f}, "
          f"median {np.median(chunk_cos):.4f}, mean {chunk_cos.mean():.4f}")
    print(f"post-mortem vectors: cosine min {doc_cos.min():.4f}, median {np.median(doc_cos):.4f}")
    Ei, Ef = np.array(doc_int8), np.array(doc_fp32)
    Si, Sf = Ei @ Ei.T, Ef @ Ef.T
    np.fill_diagonal(Si, -1)
    np.fill_diagonal(Sf, -1)
    same_top = float(np.mean(Si.argmax(1) == Sf.argmax(1)))
    print(f"nearest neighbour by the model alone: the same post-mortem for {same_top:.1%} of them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
