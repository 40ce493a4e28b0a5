"""The analysis on disk: a rebuild recomputes only what an edit changed (issue #16, item 1).

Three kinds of entries in the cache folder (:mod:`generator.cache`, authenticated there), all
JSON or NumPy arrays read with ``allow_pickle=False`` (nothing is ever unpickled):

``terms`` (:class:`TermStore`)
    Per post-mortem, its :class:`~generator.similarity.DocumentTerms` (term counts per field,
    written words, name evidence: the tokenising), keyed by the digest of the post-mortem
    (:func:`postmortem_digest`). One entry holds the corpus' documents (one file rather than
    thousands: writing 3,000 small files costs seconds on a busy disk); after one edit, one
    post-mortem is tokenised again.
``index`` (:func:`save_index`, :func:`load_index`)
    The :class:`~generator.similarity.SimilarityIndex` of a corpus (TF-IDF matrix, IDF,
    vocabulary, neighbour graph, sentence-model vectors when attached ...), keyed by
    :func:`corpus_key`. Restoring it needs NumPy and SciPy, not scikit-learn: ``pmkb similar
    --text`` on an unchanged corpus answers from it.
``text-query`` (:func:`save_text_query`, :func:`load_text_query`)
    What a free-text query needs of that index (:class:`~generator.text_query.TextQuery`),
    same key, in Python's :mod:`array` form: ``pmkb similar --text`` on an unchanged corpus
    answers from it without importing SciPy, scikit-learn or (without the sentence model) NumPy.
``analysis`` (:func:`save_links`, :func:`load_links`)
    The related links, clusters and messages computed from that index, same key.

:func:`corpus_key` is the digest of everything the analysis reads: every post-mortem as the
model holds it (``repr`` of the dataclass: text, dates, action items, pins), the options
except those that only validation or rendering read (:data:`NOT_ANALYSIS_OPTIONS`), whether
the ``[semantic]`` extra is installed, the source of this package and the versions of NumPy,
SciPy and scikit-learn (:func:`code_digest`). So an entry is never used for other input, and
an upgrade or a code change simply misses. A file the analysis reads besides the post-mortems
must be added to :func:`corpus_key` (or, when only the clusters read it, to :func:`links_key`,
as the problems file is).

Entries carry their format (:data:`FORMAT`) and key; one that does not decode, or holds
shapes that do not fit together, is a miss (then recomputed and rewritten).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import json
from collections import Counter
from pathlib import Path

from .cache import Cache, digest
from .model import ActionItem, Cluster, Postmortem, Recurrence, RelatedLink, Source
from .settings import Settings

FORMAT = 1
"""Version of the entries' layout; entries of another version are misses."""

NOT_ANALYSIS_OPTIONS = frozenset({
    "docs_dir", "config_file", "cache_dir", "ignore", "templates", "broken_links", "max_file_size",
    "phone_region", "attachments", "audience", "default_visibility", "today", "markdown_extensions",
})
"""Options the analysis never reads (they shape validation or the site, and so, through the
post-mortems, the key anyway). Every other option is part of :func:`corpus_key`, so a new
option is a cache key by default."""

MAX_ENTRY = 1 << 30
"""Entries larger than this (bytes) are not read."""


class CacheMiss(Exception):
    """An entry that cannot be used (absent, another format or key, damaged)."""


# --- keys ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of this package's Python source (every ``generator/**/*.py``, names and bytes)
    and of the installed NumPy, SciPy and scikit-learn versions."""
    from .cache import distribution_versions

    root = Path(__file__).resolve().parent
    parts: list[str | bytes] = [str(FORMAT)]
    for path in sorted(root.rglob("*.py")):
        parts += [path.relative_to(root).as_posix(), path.read_bytes()]
    return digest(*parts, *distribution_versions(["numpy", "scipy", "scikit-learn"]))


def postmortem_digest(pm: Postmortem) -> str:
    """Digest of a post-mortem as the model holds it (every field in the dataclass's ``repr``)."""
    return digest(repr(pm))


def options_digest(settings: Settings) -> str:
    """Digest of the options the analysis reads (all but :data:`NOT_ANALYSIS_OPTIONS`)."""
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)
              if f.name not in NOT_ANALYSIS_OPTIONS}
    return digest(repr(sorted(values.items())))


def corpus_key(postmortems: list[Postmortem], settings: Settings, digests: dict[int, str] | None = None) -> str:
    """The key of a corpus' index and analysis (see the module docstring).

    Args:
        postmortems: the corpus (order does not matter: the analysis sorts by id and path).
        settings: the options.
        digests: ``{id(pm): postmortem_digest(pm)}`` already computed (optional).
    """
    semantic = "off"
    if settings.semantic != "off":
        from . import semantic as model

        semantic = f"{settings.semantic} {model.available()} {model.MODEL_ID}"
    items = sorted(((pm.id, pm.path, (digests or {}).get(id(pm)) or postmortem_digest(pm)) for pm in postmortems))
    return digest(code_digest(), options_digest(settings), semantic, *(d for _, _, d in items))


def links_key(key: str, settings: Settings) -> str:
    """The key of the links and clusters of the corpus ``key``: the clusters also read the
    problems file (hand-given names, :mod:`generator.problems`), so its bytes are part of it."""
    from .inventory import read_regular

    path = settings.problems_path()
    try:
        content = read_regular(path, settings.max_file_size + 1) if path is not None else b"no file"
    except FileNotFoundError:
        content = b"absent"
    except OSError as exc:
        content = f"unreadable {type(exc).__name__}".encode()
    return digest(key, "links", content)


# --- per-document terms -------------------------------------------------------------------

class TermStore:
    """The tokenising of each post-mortem, from the cache where an earlier run did it.

    Call it as :func:`generator.similarity.document_terms` (``SimilarityIndex.build(...,
    terms=store)``); :meth:`save` writes the documents of this corpus back when any was
    tokenised now. ``computed`` counts those.

    Args:
        cache: the cache folder (``None``: in memory only).
        memory: a dict kept by the caller across builds (``mkdocs serve``), ``{key: terms}``.
    """

    NAMESPACE = "terms"

    def __init__(self, cache: Cache | None, memory: dict | None = None) -> None:
        self.cache = cache
        self.memory = memory if memory is not None else {}
        self.loaded: dict[str, dict] | None = None
        self.used: dict[str, object] = {}
        self.computed = 0
        self._store_key: str | None = None

    def _key(self, weighted) -> str:
        return digest(code_digest(), "terms", *sorted(weighted))

    def _stored(self, store_key: str) -> dict:
        if self.loaded is None:
            self.loaded = {}
            data = self.cache.get(self.NAMESPACE, store_key) if self.cache is not None else None
            if data is not None and len(data) < MAX_ENTRY:
                try:
                    doc = json.loads(data)
                    if doc.get("format") == FORMAT and doc.get("key") == store_key and isinstance(doc.get("docs"), dict):
                        self.loaded = doc["docs"]
                except (ValueError, AttributeError, TypeError):
                    self.loaded = {}
        return self.loaded

    def __call__(self, pm: Postmortem, tokenizer, weighted):
        from .similarity import document_terms

        store_key = self._key(weighted)
        self._store_key = store_key
        key = digest(store_key, postmortem_digest(pm))
        terms = self.memory.get(key)
        if terms is None:
            raw = self._stored(store_key).get(key)
            if raw is not None:
                terms = _decode_terms(raw)
        if terms is None:
            terms = document_terms(pm, tokenizer, weighted)
            self.computed += 1
        self.used[key] = terms
        return terms

    def save(self) -> None:
        """Keep this corpus' documents: in memory, and in the cache folder when any was
        tokenised now (the entry then holds exactly this corpus' documents)."""
        self.memory.clear()
        self.memory.update(self.used)
        if self.cache is None or self._store_key is None:
            return
        if not self.computed and self.loaded is not None and set(self.loaded) == set(self.used):
            return
        doc = {"format": FORMAT, "key": self._store_key,
               "docs": {key: _encode_terms(terms) for key, terms in self.used.items()}}
        self.cache.put(self.NAMESPACE, self._store_key, json.dumps(doc, ensure_ascii=False,
                                                                   separators=(",", ":")).encode("utf-8"))


def _encode_terms(terms) -> dict:
    return {"f": terms.fields, "w": terms.words, "n": [[w, k, n] for (w, k), n in terms.names.items()]}


def _decode_terms(raw):
    from .similarity import DocumentTerms

    try:
        fields = {str(name): Counter({str(t): int(n) for t, n in counts.items()}) for name, counts in raw["f"].items()}
        words = Counter({str(w): int(n) for w, n in raw["w"].items()})
        names = Counter({(str(w), str(k)): int(n) for w, k, n in raw["n"]})
    except (KeyError, AttributeError, TypeError, ValueError):
        return None
    return DocumentTerms(fields, words, names)


# --- the index ----------------------------------------------------------------------------

CONTEXT_FIELDS = frozenset({"postmortems", "settings", "semantic_cache"})
"""Fields of the index that are not stored: they come from the caller when it is restored."""

DERIVED_FIELDS = frozenset({"_term_index", "_row_map", "semantic"})
"""Fields recomputed from the stored ones (``semantic``: from the stored ``_vectors``)."""


def _index_arrays(index) -> dict:
    """The stored form of ``index``: ``{name: NumPy array}`` plus one JSON ``meta`` array.

    Raises:
        CacheMiss: the index holds a field of a kind this module cannot store (then nothing
            is cached: a field added to the index must be added here).
    """
    import numpy as np
    from scipy import sparse

    arrays: dict[str, object] = {}
    meta: dict[str, object] = {"format": FORMAT}
    for f in dataclasses.fields(index):
        name, value = f.name, getattr(index, f.name)
        if name in CONTEXT_FIELDS or name in DERIVED_FIELDS:
            continue
        if name == "tokenizer":
            vocabulary = index.vocabulary
            meta["display"] = {t: value.display(t) for t in vocabulary if value.display(t) != t}
        elif name == "_neighbours":
            graph = index.neighbours()
            arrays["graph_offsets"] = np.cumsum([0] + [len(row) for row in graph]).astype(np.int64)
            arrays["graph_rows"] = np.array([j for row in graph for j, _ in row], dtype=np.int64)
            arrays["graph_scores"] = np.array([s for row in graph for _, s in row], dtype=np.float64)
        elif value is None:
            meta.setdefault("none", []).append(name)
        elif sparse.issparse(value):
            csr = value.tocsr()
            for part in ("data", "indices", "indptr"):
                arrays[f"{name}.{part}"] = getattr(csr, part)
            arrays[f"{name}.shape"] = np.array(csr.shape, dtype=np.int64)
        elif isinstance(value, np.ndarray):
            if value.dtype == object:
                raise CacheMiss(f"index field {name} holds Python objects")
            arrays[name] = value
        elif isinstance(value, (list, tuple, frozenset, set)) and all(isinstance(v, (str, bool)) for v in value):
            meta[name] = {"kind": type(value).__name__, "items": sorted(value) if isinstance(value, (set, frozenset))
                          else list(value)}
        elif isinstance(value, (str, int, float, bool)):
            meta[name] = {"kind": "scalar", "value": value}
        else:
            raise CacheMiss(f"index field {name} ({type(value).__name__}) cannot be stored")
    arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    return arrays


def save_index(cache: Cache, key: str, index) -> bool:
    """Store ``index`` under ``key`` (NumPy ``.npz``, no pickle). Returns whether it was stored."""
    import numpy as np

    try:
        arrays = _index_arrays(index)
    except CacheMiss:
        return False
    buffer = io.BytesIO()
    np.savez(buffer, key=np.frombuffer(key.encode("ascii"), dtype=np.uint8), **arrays)
    cache.put("index", key, buffer.getvalue())
    return True


def load_index(cache: Cache, key: str, postmortems: list[Postmortem], settings: Settings):
    """The :class:`~generator.similarity.SimilarityIndex` stored under ``key`` for
    ``postmortems``, or ``None`` (a miss: absent, foreign, damaged, or not this corpus)."""
    data = cache.get("index", key)
    if data is None or len(data) > MAX_ENTRY:
        return None
    try:
        return _restore_index(data, key, postmortems, settings)
    except (CacheMiss, ValueError, KeyError, TypeError, IndexError, OSError, EOFError, AttributeError):
        return None


def _restore_index(data: bytes, key: str, postmortems: list[Postmortem], settings: Settings):
    import numpy as np
    from scipy import sparse

    from .similarity import SimilarityIndex, Tokenizer

    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    if arrays.pop("key").tobytes().decode("ascii") != key:
        raise CacheMiss("another key")
    meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    if meta.get("format") != FORMAT:
        raise CacheMiss("another format")
    # The post-mortems the index kept: the first of each id by (id, path), as build() does.
    unique: dict[str, Postmortem] = {}
    for pm in sorted(postmortems, key=lambda p: (p.id, p.path)):
        unique.setdefault(pm.id, pm)
    index = SimilarityIndex(postmortems=list(unique.values()), settings=settings)
    known = {f.name for f in dataclasses.fields(index)}
    tokenizer = Tokenizer()
    display = meta.pop("display", {})
    if not isinstance(display, dict):
        raise CacheMiss("display")
    tokenizer._display = {str(t): str(w) for t, w in display.items()}
    index.tokenizer = tokenizer
    for name in meta.pop("none", []):
        if name not in known:
            raise CacheMiss(f"unknown field {name}")
        setattr(index, name, None)
    kinds = {"list": list, "tuple": tuple, "frozenset": frozenset, "set": set}
    for name, value in meta.items():
        if name == "format":
            continue
        if name not in known:
            raise CacheMiss(f"unknown field {name}")
        if value["kind"] == "scalar":
            setattr(index, name, value["value"])
        else:
            setattr(index, name, kinds[value["kind"]](value["items"]))
    offsets = arrays.pop("graph_offsets")
    rows, scores = arrays.pop("graph_rows").tolist(), arrays.pop("graph_scores").tolist()
    bounds = offsets.tolist()
    for name in {n.split(".")[0] for n in arrays if "." in n}:
        shape = tuple(int(x) for x in arrays.pop(f"{name}.shape"))
        matrix = sparse.csr_matrix((arrays.pop(f"{name}.data"), arrays.pop(f"{name}.indices"),
                                    arrays.pop(f"{name}.indptr")), shape=shape)
        matrix.check_format(full_check=True)
        if name not in known:
            raise CacheMiss(f"unknown field {name}")
        setattr(index, name, matrix)
    for name, value in arrays.items():
        if name not in known:
            raise CacheMiss(f"unknown field {name}")
        setattr(index, name, value)
    n, V = len(index.ids), len(index.vocabulary)
    if index.ids != list(unique) or len(index.comparable) != n or len(bounds) != n + 1 or \
            bounds[-1] != len(rows) or index.matrix.shape[0] != n or \
            index.matrix.shape[1] != max(1, V * len(index.blocks)) or \
            (index.idf is not None and len(index.idf) != V) or any(j < 0 or j >= n for j in rows):
        raise CacheMiss("shapes do not fit this corpus")
    index._term_index = {t: j for j, t in enumerate(index.vocabulary)}
    index._neighbours = [list(zip(rows[bounds[i]:bounds[i + 1]], scores[bounds[i]:bounds[i + 1]]))
                         for i in range(n)]
    if index._vectors is not None:
        if index._vectors.shape[0] != n:
            raise CacheMiss("vectors")
        index.attach_semantic(index._vectors)
    return index


# --- what a free-text query needs -----------------------------------------------------------

TEXT_QUERY_ARRAYS = {"col_ptr": "q", "col_rows": "q", "col_vals": "d"}
"""The :mod:`array` fields of a stored :class:`~generator.text_query.TextQuery` and their type codes."""


def save_text_query(cache: Cache, key: str, query) -> bool:
    """Store a :class:`~generator.text_query.TextQuery` under ``key``: a JSON header (its
    lists, the stop words, the written forms of terms, the lengths of the arrays), then the
    arrays' bytes and the sentence model's vectors (machine byte order: an entry is only ever
    read by the user who wrote it). Returns whether it was stored."""
    import sys
    from .semantic import EXTRA_HINT

    arrays = {name: getattr(query, name) for name in TEXT_QUERY_ARRAYS}
    vectors = query.vectors or b""
    header = {"format": FORMAT, "key": key, "byteorder": sys.byteorder,
              "ids": query.ids, "vocabulary": query.vocabulary, "blocks": query.blocks, "idf": query.idf,
              "block_weights": query.block_weights, "display": query.tokenizer._display or {},
              "stop": sorted(query.tokenizer._stop), "warnings": query.warnings,
              "notes": [n for n in query.notes if n != EXTRA_HINT],  # the once-per-process note is not stored
              "lengths": {name: len(a) for name, a in arrays.items()},
              "vectors": None if query.vectors is None else len(vectors), "dimensions": query.dimensions}
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    body = [len(head).to_bytes(8, "big"), head] + [a.tobytes() for a in arrays.values()] + [vectors]
    cache.put("text-query", key, b"".join(body))
    return True


def load_text_query(cache: Cache, key: str, postmortems: list[Postmortem], settings: Settings):
    """The :class:`~generator.text_query.TextQuery` stored under ``key`` for ``postmortems``,
    or ``None`` (absent, not this user's, another format or key, or shapes that do not fit)."""
    data = cache.get("text-query", key)
    if data is None or len(data) > MAX_ENTRY:
        return None
    try:
        return _restore_text_query(data, key, postmortems, settings)
    except (CacheMiss, ValueError, KeyError, TypeError, IndexError, AttributeError, OverflowError):
        return None


def _restore_text_query(data: bytes, key: str, postmortems: list[Postmortem], settings: Settings):
    import sys
    from array import array

    from .similarity import Tokenizer
    from .text_query import TextQuery

    size = int.from_bytes(data[:8], "big")
    header = json.loads(data[8:8 + size].decode("utf-8"))
    if header.get("format") != FORMAT or header.get("key") != key or header.get("byteorder") != sys.byteorder:
        raise CacheMiss("another format, key or byte order")
    offset = 8 + size
    arrays = {}
    for name, code in TEXT_QUERY_ARRAYS.items():
        values = array(code)
        length = int(header["lengths"][name]) * values.itemsize
        values.frombytes(data[offset:offset + length])
        if len(values) * values.itemsize != length:
            raise CacheMiss(f"{name} is short")
        arrays[name] = values
        offset += length
    vectors = None
    if header["vectors"] is not None:
        vectors = data[offset:offset + int(header["vectors"])]
        offset += len(vectors)
    if offset != len(data):
        raise CacheMiss("length")
    unique: dict[str, Postmortem] = {}  # the first of each id by (id, path), as the index keeps them
    for pm in sorted(postmortems, key=lambda p: (p.id, p.path)):
        unique.setdefault(pm.id, pm)
    ids, vocabulary, blocks = ([str(x) for x in header[name]] for name in ("ids", "vocabulary", "blocks"))
    idf = None if header["idf"] is None else [float(x) for x in header["idf"]]
    n, V, width = len(ids), len(vocabulary), len(arrays["col_ptr"]) - 1
    ptr, rows = arrays["col_ptr"], arrays["col_rows"]
    dimensions = int(header["dimensions"])
    if ids != list(unique) or (idf is not None and len(idf) != V) or len(header["block_weights"]) != len(blocks) \
            or width != max(1, V * len(blocks)) or ptr[0] != 0 or ptr[-1] != len(rows) \
            or len(arrays["col_vals"]) != len(rows) or any(a > b for a, b in zip(ptr, ptr[1:])) \
            or (rows and (min(rows) < 0 or max(rows) >= n)) \
            or (vectors is not None and (dimensions <= 0 or len(vectors) != n * dimensions * 4)):
        raise CacheMiss("shapes do not fit this corpus")
    tokenizer = Tokenizer(stop=frozenset(str(w) for w in header["stop"]))
    tokenizer._display = {str(t): str(w) for t, w in header["display"].items()}
    return TextQuery(postmortems=list(unique.values()), settings=settings, ids=ids, vocabulary=vocabulary,
                     blocks=blocks, idf=idf, block_weights=[float(x) for x in header["block_weights"]],
                     tokenizer=tokenizer, warnings=[str(w) for w in header["warnings"]],
                     notes=[str(w) for w in header["notes"]], vectors=vectors, dimensions=dimensions, **arrays)


# --- links and clusters -------------------------------------------------------------------

_TYPES = {cls.__name__: cls for cls in (Cluster, Recurrence, ActionItem, RelatedLink, Source)}
"""The model dataclasses an analysis entry may hold (nothing else is ever constructed)."""


def to_json(value, types: dict[str, type] | None = None):
    """``value`` (model dataclasses, dates, tuples, lists, dicts, scalars) as JSON-ready data,
    tagged so that :func:`from_json` gives back the same types.

    Args:
        value: what to store.
        types: the dataclasses allowed, by class name (default :data:`_TYPES`, an analysis
            entry's); an instance of another class is refused.

    Raises:
        CacheMiss: ``value`` holds something else (a set, bytes, a dict with keys that are not
            text, a dataclass not in ``types``): then nothing is stored.
    """
    types = _TYPES if types is None else types
    if dataclasses.is_dataclass(value) and types.get(type(value).__name__) is type(value):
        return {"$type": type(value).__name__,
                "fields": {f.name: to_json(getattr(value, f.name), types) for f in dataclasses.fields(value)}}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [to_json(v, types) for v in value]}
    if isinstance(value, list):
        return [to_json(v, types) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CacheMiss("a dict with keys that are not text")
        return {"$dict": {k: to_json(v, types) for k, v in value.items()}}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise CacheMiss(f"{type(value).__name__} cannot be stored")


def from_json(value, types: dict[str, type] | None = None):
    """The inverse of :func:`to_json` (with the same ``types``). Raises :class:`CacheMiss` on
    anything else."""
    types = _TYPES if types is None else types
    if isinstance(value, list):
        return [from_json(v, types) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            (tag, inner), = value.items()
            if tag == "$datetime":
                return dt.datetime.fromisoformat(inner)
            if tag == "$date":
                return dt.date.fromisoformat(inner)
            if tag == "$tuple":
                return tuple(from_json(v, types) for v in inner)
            if tag == "$dict":
                return {str(k): from_json(v, types) for k, v in inner.items()}
        if set(value) == {"$type", "fields"} and value["$type"] in types:
            cls = types[value["$type"]]
            names = {f.name for f in dataclasses.fields(cls)}
            fields = value["fields"]
            if not isinstance(fields, dict) or not set(fields) <= names:
                raise CacheMiss(f"fields of {cls.__name__}")
            return cls(**{name: from_json(v, types) for name, v in fields.items()})
        raise CacheMiss("an untagged mapping")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise CacheMiss(f"{type(value).__name__} in an entry")


def save_links(cache: Cache, key: str, analysis) -> bool:
    """Store the related links, clusters and warnings of ``analysis`` under ``key`` (JSON; the
    notes are the index's, stored with it). Returns whether it was stored."""
    try:
        doc = {"format": FORMAT, "key": key,
               "related": to_json(analysis.related), "clusters": to_json(analysis.clusters),
               "warnings": list(analysis.warnings)}
    except CacheMiss:
        return False
    cache.put("analysis", key, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return True


def load_links(cache: Cache, key: str, postmortems: list[Postmortem]) -> dict | None:
    """The stored ``{"related", "clusters", "warnings"}`` of
    ``key``, checked against ``postmortems`` (every id a link or cluster names is theirs;
    action items are the post-mortems' own objects again), or ``None``."""
    data = cache.get("analysis", key)
    if data is None or len(data) > MAX_ENTRY:
        return None
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT or doc.get("key") != key:
            return None
        related = from_json(doc["related"])
        clusters = from_json(doc["clusters"])
        by_id = {pm.id: pm for pm in postmortems}
        if not isinstance(related, dict) or not isinstance(clusters, list):
            return None
        for pid, links in related.items():
            if pid not in by_id or not all(isinstance(link, RelatedLink) and link.id in by_id for link in links):
                return None
        for cluster in clusters:
            if not isinstance(cluster, Cluster) or not all(m in by_id for m in cluster.members):
                return None
            cluster.action_items = [(pid, _own_item(by_id[pid], item)) for pid, item in cluster.action_items]
        return {"related": related, "clusters": clusters, "warnings": [str(w) for w in doc["warnings"]]}
    except (CacheMiss, ValueError, KeyError, TypeError, AttributeError):
        return None


def _own_item(pm: Postmortem, item) -> ActionItem:
    """The post-mortem's own action item equal to ``item`` (raises CacheMiss when none is)."""
    for own in pm.action_items:
        if own == item:
            return own
    raise CacheMiss(f"an action item {pm.id} does not have")
