""""Have we seen this?": the page where a responder pastes symptoms and gets the nearest past
incidents, in the browser, offline, with the answers of ``pmkb similar --text``.

The build exports the TF-IDF model of :mod:`generator.similarity` (the
:class:`~generator.similarity.SimilarityIndex` the site's related links came from) as one
script, ``assets/pmkb/seen-model.<hash>.js``; ``generator/assets/seen.js`` (ours, no library)
tokenises the query exactly as :class:`~generator.similarity.Tokenizer` does and scores it
exactly as :meth:`~generator.similarity.SimilarityIndex.similar_to` does. What is exported, all
read from the index (so a change of the model flows into the export):

- the tokenizer's rules: its stop words, its character classes (tokens, unspaced scripts,
  letters, and the ``\\w``/``\\s`` of its URL pattern) as code-point ranges computed from its
  own compiled patterns by the Python that builds, so the browser's Unicode tables never
  matter; word length limits; ``1 + ln(n)`` for term counts up to :data:`LOG_TABLE`;
- the fields free text goes into (every weighted field but ``services``), their blocks and
  shares, the block weights;
- the vocabulary (column order), its IDF, the display form of each term
  (:meth:`~generator.similarity.Tokenizer.display`);
- the post-mortem vectors, **losslessly and compactly**: a weight is
  ``tf * idf * scale / norm`` (:meth:`SimilarityIndex._weigh`), where ``tf`` takes few distinct
  values (a table) and the scale and norm follow from the row's own values. The export sends
  per term its posting list (post-mortem rows and ``tf`` table indexes); the browser recomputes
  every weight with the same floating-point operations in the same order. Before writing,
  :func:`export_model` recomputes the weights that way in NumPy and checks them against the
  index's matrix bit for bit; if the model ever stops having that form, the exact weights
  themselves are exported instead (bigger, still exact). Nothing is pruned or quantised, so
  the browser's answers are the CLI's (same ids, order, scores to 9 decimals and shared terms);
- for each post-mortem: id, date, severity, title, page URL (site-relative) and its recurring
  problem (id, label, size, page URL); the text of unspaced scripts (CJK runs) only for the
  post-mortems that have some (shared terms join bigrams only into runs both texts contain).

The page is generated for both engines by :func:`generator.render.render_site`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from functools import lru_cache

from .escape import html_text
from .markup import Links
from .material import SEARCH_DEEP_LINK
from .model import Cluster
from .paths import CLUSTERS, SEEN, cluster_page

MODEL_FORMAT = 1
"""Version of the exported model's layout; ``seen.js`` refuses any other."""

SCRIPT = "assets/pmkb/seen.js"
"""Site path of the page's script (copied from ``generator/assets/seen.js``)."""

MODEL_PREFIX = "assets/pmkb/seen-model."
"""Site path of the exported model, before its content hash and ``.js``."""

LOG_TABLE = 1024
"""``1 + ln(n)`` is exported for n = 1 .. this, computed by Python's :func:`math.log`, so the
browser's sublinear tf is Python's bit for bit (a query word repeated more often than this
uses the browser's ``Math.log``)."""

TITLE = "Have we seen this?"


@lru_cache(maxsize=1)
def _log_table() -> list[float]:
    return [1.0 + math.log(n) for n in range(1, LOG_TABLE + 1)]


def model_path(script: str) -> str:
    """Site path of the model whose script text is ``script``: ``assets/pmkb/seen-model.<12 hex>.js``
    (the hash of the content, so a static host or browser cache never serves a stale model)."""
    return f"{MODEL_PREFIX}{hashlib.sha256(script.encode('utf-8')).hexdigest()[:12]}.js"


# --- the tokenizer's character classes ---------------------------------------------------------


def _all_code_points() -> str:
    import numpy as np

    cps = np.arange(0x110000, dtype="<u4")
    cps = cps[(cps < 0xD800) | (cps > 0xDFFF)]
    return cps.tobytes().decode("utf-32-le")


def _ranges(runs: list[str]) -> list[list[int]]:
    """Code-point ranges ``[[first, last], ...]`` of runs matched in :func:`_all_code_points`
    (a run that spans the surrogate gap is split there)."""
    out: list[list[int]] = []
    for run in runs:
        first, last = ord(run[0]), ord(run[-1])
        if last - first + 1 == len(run):
            out.append([first, last])
            continue
        start = previous = first
        for ch in run[1:]:
            cp = ord(ch)
            if cp != previous + 1:
                out.append([start, previous])
                start = cp
            previous = cp
        out.append([start, previous])
    return out


@lru_cache(maxsize=1)
def character_classes() -> dict[str, list[list[int]]]:
    """The character classes the browser's tokenizer needs, from
    :mod:`generator.similarity`'s own compiled patterns, as code-point ranges.

    Returns:
        ``{"unspaced": ..., "token": ..., "letter": ..., "word": ..., "space": ...}``:
        characters of scripts written without spaces (``_NO_SPACE_RUN``); the other
        characters of a token (the second alternative of ``_TOKEN``); letters
        (``_HAS_LETTER``); and Python's ``\\w`` and ``\\s`` (the ``\\b`` and ``\\S`` of the URL
        pattern). About 0.3 s, once per process.
    """
    from . import similarity as sim

    text = _all_code_points()
    unspaced, token = [], []
    for m in sim._TOKEN.finditer(text):
        (unspaced if sim._NO_SPACE_RUN.match(m.group()) else token).append(m.group())

    def runs(pattern: re.Pattern) -> list[str]:
        return [m.group() for m in re.compile(f"(?:{pattern.pattern})+", pattern.flags).finditer(text)]

    return {
        "unspaced": _ranges(unspaced),
        "token": _ranges(token),
        "letter": _ranges(runs(sim._HAS_LETTER)),
        "word": _ranges(runs(re.compile(r"\w"))),
        "space": _ranges(runs(re.compile(r"\s"))),
    }


# --- the model ---------------------------------------------------------------------------------


def _weights_from_tf(index):
    """The index's weights recomputed the way ``seen.js`` computes them, or ``None`` when
    they are not bit-identical to :attr:`SimilarityIndex.matrix` (the model changed form).

    ``seen.js`` walks the terms in column order and, per post-mortem row, sums ``a * a`` per
    block (``a = tf * idf``), takes ``scale = sqrt(block weight) / sqrt(sum)``, sums
    ``(a * scale) ** 2`` per row and divides: ``weight = (a * scale) / sqrt(row sum)``.
    The sums run in column order, as :meth:`SimilarityIndex._weigh` (``numpy.bincount``) and
    scikit-learn's ``normalize`` (a loop over each row) run them.

    Returns:
        ``(tf CSR with sorted indices, weights array aligned with it)`` or ``None``.
    """
    import numpy as np

    tf = index.term_frequencies
    if tf is None or index.idf is None:
        return None
    tf = tf.tocsr(copy=True)
    tf.sum_duplicates()
    tf.sort_indices()
    V, B, n = len(index.vocabulary), len(index.blocks), tf.shape[0]
    rows = np.repeat(np.arange(n), np.diff(tf.indptr))
    block = tf.indices // V
    a = tf.data * index.idf[tf.indices % V]
    key = rows * B + block
    norms = np.sqrt(np.bincount(key, weights=a * a, minlength=n * B))
    scale = np.sqrt(np.asarray(index.block_weights, dtype=np.float64))[block] / np.where(norms[key] > 0, norms[key], 1.0)
    b = a * scale
    row_norms = np.sqrt(np.bincount(rows, weights=b * b, minlength=n))
    weights = np.where(b != 0, b / np.where(row_norms[rows] > 0, row_norms[rows], 1.0), 0.0)
    X = index.matrix.tocsr()
    keep = weights != 0
    if keep.sum() != X.nnz:
        return None
    if not (np.array_equal(tf.indices[keep], X.indices) and np.array_equal(weights[keep], X.data)
            and np.array_equal(np.bincount(rows[keep], minlength=n), np.diff(X.indptr))):
        return None
    return tf, weights


def _cluster_rows(clusters: Sequence[Cluster], cluster_of: dict[str, str], ln: Links):
    order = sorted(clusters, key=lambda c: c.id)
    position = {c.id: i for i, c in enumerate(order)}
    table = [[c.id, c.label or c.id, c.size, ln.url(cluster_page(c.id))] for c in order]
    return table, {pid: position[cid] for pid, cid in cluster_of.items() if cid in position}


def export_model(index, clusters: Sequence[Cluster] = (), cluster_of: dict[str, str] | None = None,
                 links: Links | None = None) -> dict:
    """The model ``seen.js`` needs, as JSON-ready data (see the module docstring).

    Args:
        index: the :class:`~generator.similarity.SimilarityIndex` of the published
            post-mortems (the one ``pmkb similar --text`` builds from the same files).
        clusters, cluster_of: the recurring problems of those post-mortems and
            ``{post-mortem id: cluster id}`` (:class:`~generator.analysis.Analysis`).
        links: the site's :class:`~generator.markup.Links` (directory URLs or not); pages are
            exported by their site-relative URL (default: directory URLs).

    Returns:
        A dict with ``format`` (:data:`MODEL_FORMAT`), ``settings`` (``top_k``, ``min_score``,
        ``score_decimals``, ``terms_per_link``), ``tokenizer``, ``fields``, ``blocks``,
        ``block_weights``, ``terms``, ``idf``, ``display`` (``{column: form}`` where the form
        differs from the term), ``tf`` (the tf table) and ``postings`` (per column
        ``[row delta, tf index, ...]``) or, when the weights do not factor,
        ``weights`` (per column ``[row delta, weight, ...]``), ``docs``
        (``[id, date, severity, title, url, cluster index or -1]`` per row), ``clusters``
        (``[id, label, size, url]``) and ``runs`` (``{row: [unspaced runs]}``).
    """
    import numpy as np

    from . import similarity as sim

    settings = index.settings
    ln = links or Links(True)
    cluster_table, cluster_index = _cluster_rows(clusters, cluster_of or {}, ln)
    docs = []
    for pm in index.postmortems:
        docs.append([pm.id, pm.date.isoformat(), pm.severity, pm.title, ln.url(pm.path),
                     cluster_index.get(pm.id, -1)])
    weights = dict(settings.field_weights)
    shares = sim.field_shares(weights)
    blocks = list(index.blocks)
    fields = [[blocks.index(shares[name][0]), shares[name][1]] for name, w in weights.items()
              if w > 0 and name != "services" and name in shares]
    model: dict = {
        "format": MODEL_FORMAT,
        "settings": {"top_k": settings.top_k, "min_score": settings.min_score,
                     "score_decimals": sim.SCORE_DECIMALS, "terms_per_link": sim.TERMS_PER_LINK},
        "tokenizer": {"stop": sorted(sim.stop_words()), "min_length": 2, "max_length": 40,
                      "log1p": _log_table(),
                      "classes": character_classes()},
        "fields": fields,
        "blocks": blocks,
        "block_weights": [float(w) for w in (index.block_weights if index.block_weights is not None else [])],
        "terms": list(index.vocabulary),
        "idf": [float(x) for x in (index.idf if index.idf is not None else [])],
        "display": {},
        "docs": docs,
        "clusters": cluster_table,
        "runs": {},
    }
    V = len(index.vocabulary)
    if not V or index.matrix is None or index.matrix.nnz == 0:
        model["tf"], model["postings"] = [], []
        return model
    for j, term in enumerate(index.vocabulary):
        shown = index.tokenizer.display(term)
        if shown != term:
            model["display"][str(j)] = shown
    width = V * len(blocks)
    factored = _weights_from_tf(index)
    live = np.flatnonzero(np.tile(np.asarray(index.idf) != 0, len(blocks)))  # name terms weigh 0
    if factored is not None:
        tf, _ = factored
        values, inverse, counts = np.unique(tf.data, return_inverse=True, return_counts=True)
        by_use = np.lexsort((values, -counts))       # the commonest tf value gets index 0
        rank = np.empty(len(values), dtype=np.int64)
        rank[by_use] = np.arange(len(values))
        model["tf"] = [float(v) for v in values[by_use]]
        which = tf.copy()
        which.data = (rank[inverse.ravel()] + 1).astype(np.float64)
        columns = which.tocsc()                      # rows ascending within each column
        field, from_tf = "postings", True
    else:
        columns = index.matrix.tocsc()
        columns.sort_indices()
        model["tf"] = []
        field, from_tf = "weights", False
    live_set = set(live.tolist())
    out = []
    for c in range(width):
        if c not in live_set:
            out.append([])
            continue
        lo, hi = columns.indptr[c], columns.indptr[c + 1]
        deltas = np.diff(columns.indices[lo:hi], prepend=0).tolist()
        values = columns.data[lo:hi]
        values = (values.astype(np.int64) - 1).tolist() if from_tf else values.tolist()
        out.append([x for pair in zip(deltas, values) for x in pair])
    model[field] = out
    unspaced_columns = [j for j, term in enumerate(index.vocabulary) if sim._NO_SPACE_RUN.match(term)]
    if unspaced_columns:
        X = index.matrix.tocsc()
        rows_with = set()
        for j in unspaced_columns:
            for b in range(len(blocks)):
                c = b * V + j
                rows_with.update(X.indices[X.indptr[c]:X.indptr[c + 1]].tolist())
        run = re.compile(f"[{sim._NO_SPACE}]+")
        import unicodedata

        for row in sorted(rows_with):
            text = unicodedata.normalize("NFKC", index.text_of(row)).lower()
            model["runs"][str(row)] = sorted(set(run.findall(text)))
    return model


def model_script(model: dict) -> str:
    """The model as a script that loads from ``file://`` as well as from a web server (a
    ``fetch`` of a local file is refused by browsers; a ``<script>`` is not):
    ``window.__pmkbSeenModel = JSON.parse('...')`` (JSON.parse of one string is faster than
    an object literal of the same size)."""
    text = json.dumps(model, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    literal = text.replace("\\", "\\\\").replace("'", "\\'")
    return f"window.__pmkbSeenModel=JSON.parse('{literal}');\n"


# --- the page ----------------------------------------------------------------------------------


def seen_page(ln: Links, model_file: str, count: int) -> str:
    """The Markdown of ``have-we-seen-this.md``: a text box, a status line, the result list
    and the script (``seen.js``), which loads ``model_file`` (a site path) once.

    Args:
        ln: links of the site (any page; they are written from :data:`generator.paths.SEEN`).
        model_file: site path of the exported model (:func:`model_path`).
        count: how many post-mortems it holds (shown before it is loaded).
    """
    ln = ln.at(SEEN)
    model_name = model_file.rsplit("/", 1)[-1]
    return (
        "---\n"
        f"title: {json.dumps(TITLE)}\n"
        "hide: [toc]\n"
        "search:\n  exclude: true\n"
        "---\n\n"
        f"# {TITLE}\n\n"
        f'<div class="pmkb-seen" id="pmkb-seen" data-model="{html_text(model_name)}" data-count="{count}" '
        f'data-theme-reads="{SEARCH_DEEP_LINK}">\n'
        '<form class="pmkb-seen__form" role="search" action="" method="get">\n'
        '<label class="pmkb-seen__label" for="pmkb-seen-q">Paste the symptoms, an error message or a log line: '
        f"the nearest of {count} past incidents appear as you type.</label>\n"
        '<textarea class="pmkb-seen__input" id="pmkb-seen-q" name="q" rows="3" spellcheck="false" '
        'autocomplete="off" aria-controls="pmkb-seen-results" '
        'placeholder="e.g. x509: certificate has expired; TLS handshake failures at the edge"></textarea>\n'
        '<p class="pmkb-seen__keys"><kbd>Enter</kbd> search now · <kbd>Shift</kbd>+<kbd>Enter</kbd> new line · '
        "<kbd>↓</kbd> <kbd>↑</kbd> choose a result · <kbd>Enter</kbd> open it · <kbd>Esc</kbd> back to the text</p>\n"
        "</form>\n"
        '<p class="pmkb-seen__status" id="pmkb-seen-status" role="status" aria-live="polite">'
        "Loading the model…</p>\n"
        '<ol class="pmkb-seen__results" id="pmkb-seen-results" role="listbox" aria-label="Nearest past incidents">'
        "</ol>\n"
        '<p class="pmkb-seen__about">Works offline: everything runs in this page, nothing is sent anywhere. '
        "Same answers as <code>pmkb similar --text \"…\"</code> (TF-IDF over the published post-mortems; "
        f"{ln.a(CLUSTERS, 'recurring problems')} as on the site).</p>\n"
        "<noscript><p>This page needs JavaScript. In a terminal, <code>pmkb similar --text \"…\"</code> gives "
        "the same answers.</p></noscript>\n"
        "</div>\n\n"
        f'<script src="{ln.href(SCRIPT)}"></script>\n'
    )
