"""Free-text queries answered without SciPy or scikit-learn (``pmkb similar --text``, #16 item 1).

A :class:`TextQuery` holds what a free-text query needs of a
:class:`~generator.similarity.SimilarityIndex`: the vocabulary, the IDF, the block weights, the
written forms of the terms, the stop words, and the TF-IDF matrix by column (for each term, the
rows that hold it and their weights), in Python's :mod:`array` form. It answers
:meth:`TextQuery.similar_to` with the arithmetic of :meth:`SimilarityIndex.similar_to
<generator.similarity.SimilarityIndex.similar_to>` for a string, operation for operation (the
same products, summed in the same order, rounded as :func:`numpy.round` rounds), so the ids,
their order, the scores and the terms are the same to the last bit
(``tests/test_text_query.py`` compares them). With the ``[semantic]`` model's vectors the query
is embedded and the rankings fused with NumPy, as the index does (ONNX Runtime imports NumPy
anyway).

:mod:`generator.analysis_cache` stores it beside the cached index (:func:`save_text_query
<generator.analysis_cache.save_text_query>`), authenticated as every cache entry is; restoring
it imports neither NumPy nor SciPy: importing SciPy's sparse module alone cost about 0.4 s of
the 1.0 s a warm ``pmkb similar --text`` took (``benchmarks/README.md``, everyday).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

from .model import Postmortem, RelatedLink
from .settings import Settings
from .similarity import (SCORE_DECIMALS, TERMS_PER_LINK, Tokenizer, _block_tfs, document_fields, field_shares,
                         fuse_rankings, readable_terms, text_vector)

_SCALE = 10.0 ** SCORE_DECIMALS


def round_like_numpy(value: float, scale: float = _SCALE) -> float:
    """``numpy.round(value, decimals)`` for one float, where ``scale`` is ``10.0 ** decimals``:
    NumPy multiplies by the scale, rounds half to even (``rint``) and divides, which is not
    what Python's ``round(value, decimals)`` does (a correctly rounded decimal)."""
    return round(value * scale) / scale


def _array(code: str, values, dtype: str) -> array:
    """A NumPy array as an :class:`array.array` of type ``code`` (its bytes as ``dtype``)."""
    out = array(code)
    out.frombytes(values.astype(dtype).tobytes())
    return out


@dataclass(eq=False)
class TextQuery:
    """What a free-text query needs of a similarity index (see the module docstring).

    ``ids``, ``vocabulary``, ``blocks`` as in the index; ``idf`` one float per vocabulary
    term (``None`` when the index has none); ``block_weights`` one float per block;
    ``col_ptr``, ``col_rows``, ``col_vals``: the index's L2-normalised matrix in compressed
    sparse column form (column ``c`` holds rows ``col_rows[col_ptr[c]:col_ptr[c + 1]]``,
    increasing, with weights ``col_vals[...]``); ``vectors``: the sentence model's vectors
    (``len(ids)`` x ``dimensions`` float32, raw bytes) or ``None``; ``warnings`` and ``notes``
    as the index says them.
    """

    postmortems: list[Postmortem]
    settings: Settings
    ids: list[str]
    vocabulary: list[str]
    blocks: list[str]
    idf: list[float] | None
    block_weights: list[float]
    col_ptr: array
    col_rows: array
    col_vals: array
    tokenizer: Tokenizer
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    vectors: bytes | None = None
    dimensions: int = 0
    _term_index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._term_index = {t: j for j, t in enumerate(self.vocabulary)}

    @classmethod
    def from_index(cls, index) -> "TextQuery":
        """The query data of a :class:`~generator.similarity.SimilarityIndex` (needs SciPy:
        the matrix is turned into columns here)."""
        csc = index.matrix.tocsc()
        csc.sort_indices()
        vectors = dimensions = None
        if index._vectors is not None:
            import numpy as np

            dense = np.ascontiguousarray(index._vectors, dtype=np.float32)
            vectors, dimensions = dense.tobytes(), int(dense.shape[1]) if dense.ndim == 2 else 0
        tokenizer = index.tokenizer
        display = {t: tokenizer.display(t) for t in index.vocabulary}
        copy = Tokenizer(stop=tokenizer._stop)
        copy._display = {t: w for t, w in display.items() if w != t}
        return cls(postmortems=index.postmortems, settings=index.settings, ids=list(index.ids),
                   vocabulary=list(index.vocabulary), blocks=list(index.blocks),
                   idf=None if index.idf is None else [float(x) for x in index.idf.tolist()],
                   block_weights=[float(x) for x in (index.block_weights.tolist()
                                                     if index.block_weights is not None else [])],
                   col_ptr=_array("q", csc.indptr, "int64"), col_rows=_array("q", csc.indices, "int64"),
                   col_vals=_array("d", csc.data, "float64"), tokenizer=copy,
                   warnings=list(index.warnings), notes=list(index.notes), vectors=vectors,
                   dimensions=dimensions or 0)

    # --- the query vector ---------------------------------------------------------------

    def vectorize(self, text: str) -> list[tuple[int, float]]:
        """The TF-IDF row of ``text`` as ``[(column, weight), ...]`` by column, zeros left
        out: :meth:`SimilarityIndex.vectorize <generator.similarity.SimilarityIndex.vectorize>`
        with the same arithmetic (``_weigh`` and ``_normalize_row`` of one row)."""
        weights = dict(self.settings.field_weights)
        fields = {name: text for name, w in weights.items() if w > 0 and name != "services"}
        tfs, _ = _block_tfs(fields, field_shares(weights), self.tokenizer, record=False)
        V = len(self.vocabulary)
        entries = []
        for b, block in enumerate(self.blocks):
            for term, value in tfs.get(block, {}).items():
                j = self._term_index.get(term)
                if j is not None:
                    entries.append((b * V + j, value))
        if not V or self.idf is None or not entries:
            return []
        entries.sort()
        idf = self.idf
        data = [value * idf[c % V] for c, value in entries]
        squares = [0.0] * len(self.blocks)
        for (c, _), x in zip(entries, data):
            squares[c // V] += x * x
        norms = [math.sqrt(s) for s in squares]
        roots = [math.sqrt(w) for w in self.block_weights]
        row = []
        for (c, _), x in zip(entries, data):
            norm = norms[c // V]
            x = x * (roots[c // V] / (norm if norm > 0 else 1.0))
            if x != 0.0:
                row.append((c, x))
        total = 0.0
        for _, x in row:
            total += x * x
        if total != 0.0:
            root = math.sqrt(total)
            row = [(c, x / root) for c, x in row]
        return row

    # --- the answer ---------------------------------------------------------------------

    def similar_to(self, text: str, k: int | None = None, min_score: float | None = None) -> list[RelatedLink]:
        """The post-mortems most similar to free text: what
        :meth:`SimilarityIndex.similar_to <generator.similarity.SimilarityIndex.similar_to>`
        returns for the string ``text`` (same links, same order, same floats).

        Args:
            text: the words to search for.
            k: how many results at most (default ``top_k``).
            min_score: lowest cosine similarity (default ``min_score``).

        Returns:
            Up to ``k`` :class:`RelatedLink`, as the index gives them.
        """
        k = self.settings.top_k if k is None else k
        min_score = self.settings.min_score if min_score is None else min_score
        if not self.vocabulary or not self.ids or k <= 0:
            return []
        q = self.vectorize(text)
        dense = self._query_vector(text) if self.vectors is not None else None
        if not q and dense is None:
            return []
        n = len(self.ids)
        sums = [0.0] * n
        products: dict[int, list[tuple[int, float]]] = {}
        ptr, rows, vals = self.col_ptr, self.col_rows, self.col_vals
        # SciPy's product matrix @ q.T adds, per row, matrix value x query value over the
        # row's columns in increasing order: the columns of q are visited in that order here.
        for c, qv in q:
            for kk in range(ptr[c], ptr[c + 1]):
                r = rows[kk]
                p = vals[kk] * qv
                sums[r] += p
                if p != 0.0:
                    products.setdefault(r, []).append((c, p))
        scores = [round_like_numpy(s) for s in sums]
        order = sorted(range(n), key=lambda j: (-scores[j], j))
        query_text = self.tokenizer.clean(text)

        def link(j: int, via: str) -> RelatedLink:
            return RelatedLink(id=self.ids[j], score=scores[j], pinned=False, via=via,
                               terms=self._top_terms(products.get(j, []),
                                                     texts=lambda j=j: [query_text, self.text_of(j)]))

        from_tfidf = []
        for j in order:
            score = scores[j]
            if score < min_score or score <= 0 or len(from_tfidf) >= k:
                break
            from_tfidf.append(j)
        if dense is None:
            return [link(j, "tfidf") for j in from_tfidf]
        import dataclasses

        import numpy as np

        matrix = np.frombuffer(self.vectors, dtype=np.float32).reshape(n, self.dimensions)
        cosines = np.round(matrix.astype(np.float64) @ dense, 6)
        return [dataclasses.replace(link(j, via), fused=value)
                for value, j, via in fuse_rankings(self.ids, set(), k, order, scores, from_tfidf, cosines)]

    def _query_vector(self, text: str):
        from . import semantic

        try:
            return text_vector(text)
        except semantic.ModelError:
            return None

    def text_of(self, row: int) -> str:
        """The cleaned text of the post-mortem in ``row`` (for :func:`readable_terms`)."""
        return self.tokenizer.clean("\n".join(document_fields(self.postmortems[row]).values()))

    def _top_terms(self, products: list[tuple[int, float]], limit: int = TERMS_PER_LINK, texts=None):
        """``SimilarityIndex._top_terms`` from the ``(column, product)`` pairs of one row."""
        if not products:
            return ()
        V = len(self.vocabulary)
        totals: dict[int, float] = {}
        for c, p in products:
            t = c % V
            totals[t] = totals.get(t, 0.0) + p
        ranked = sorted(((-round_like_numpy(v), t) for t, v in totals.items()))[:3 * limit]
        return readable_terms([self.tokenizer.display(self.vocabulary[t]) for _, t in ranked], limit, texts)
