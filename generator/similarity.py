"""Related post-mortems: field-weighted TF-IDF vectors compared by cosine similarity.

How a post-mortem becomes a vector (every step is deterministic and independent of file order
or file names; post-mortems are ordered by id and the vocabulary alphabetically):

1. **Fields.** The front-matter fields and the body sections that say what the problem was are
   tokenised separately (title, summary, root_cause, trigger, tags, services, action item
   titles, and the *Root cause*, *Trigger* and *Impact* sections); the rest of the body
   (Timeline, Detection, Resolution ...) is the ``body`` field, but for the *Notes*, *Sources*
   and *References* sections, which are about the write-up rather than the incident
   (:data:`generator.model.NOTES_SECTIONS`) and are not read. Each field has a weight
   (``field_weights`` option, :data:`generator.settings.DEFAULTS`); all fields go into one
   bag of words (:data:`FIELD_BLOCKS` can keep fields apart).
2. **Tokens.** Text is NFKC-normalised and lower-cased; HTML comments (the template's hints),
   URLs and link targets are dropped. A token is a run of letters and digits holding at least
   one letter, so clock times (``09:12``), dates and numbers never become terms. Runs of
   scripts written without spaces (Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar) are
   split into overlapping character bigrams, the standard approach for CJK retrieval (Lucene's
   ``CJKBigramFilter``). English stop words (scikit-learn's list) and post-mortem boilerplate
   (template headings, time units, "incident", "outage" ...) are removed; English plurals are
   folded with Harman's S-stemmer (Harman 1991, "How effective is suffixing?"), which never
   changes more than the final ``s``/``es``/``ies``.
3. **Term frequency.** Per field, sublinear tf ``1 + ln(count)`` (Manning et al.,
   *Introduction to Information Retrieval*, 6.4.1), multiplied by the field's share of the
   total weight and summed over fields (a BM25F-style field combination, Robertson et al. 2004).
4. **IDF.** scikit-learn's :class:`~sklearn.feature_extraction.text.TfidfTransformer` with
   ``smooth_idf=True`` fitted on document frequencies: ``idf = ln((1 + n) / (1 + df)) + 1``;
   then L2-normalised rows, so the dot product of two rows is their cosine similarity (0..1).
   Terms found in more than :data:`MAX_DF` of the post-mortems (words every post-mortem
   shares) are dropped once the corpus has at least :data:`MAX_DF_MIN_DOCS` documents.
   A post-mortem with fewer than :data:`MIN_TERMS` distinct words outside ``services`` is not
   compared at all (a warning says so).

Links: for every post-mortem, the ``top_k`` most similar others with a score of at least
``min_score``, found with a chunked sparse product (never an N x N dense matrix), ties broken by
id, kept only when the post-mortem is among the :data:`MUTUAL_RANK` nearest neighbours of one of
them or one scores at least :data:`STRONG_SCORE` (mutual nearest neighbours: one-off incidents
get no links). Each link names the terms with the largest products of the two TF-IDF weights: the terms
that contributed most to the cosine.

scikit-learn and SciPy are imported inside functions: ``pmkb validate`` must stay fast.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from .model import NOTES_SECTIONS, Postmortem, RelatedLink
from .settings import Settings

MAX_DF = 0.5
"""Terms in more than this share of post-mortems are dropped (see :data:`MAX_DF_MIN_DOCS`)."""

MAX_DF_MIN_DOCS = 20
"""``MAX_DF`` applies only from this corpus size: in a handful of files, a word in half of them
is still a meaningful shared word (two of three certificate incidents say "certificate")."""

MIN_TERMS = 3
"""A post-mortem needs this many distinct terms outside ``services`` to be compared at all;
"It was down again" is not enough text to say what went wrong."""

TERMS_PER_LINK = 5
"""How many contributing terms a link carries (:attr:`RelatedLink.terms`)."""

MUTUAL_RANK = 3
"""A post-mortem gets computed links only when it is among the ``MUTUAL_RANK`` nearest
neighbours of at least one of its candidates (a mutual nearest-neighbour test, as in the
mutual k-NN graphs of Brito et al. 1997 and Jarvis & Patrick 1973). A one-off incident's
closest match usually has closer matches of its own (its own recurrences), so the one-off gets
no links, whatever the absolute level of its scores; see :meth:`SimilarityIndex.related_links`."""

STRONG_SCORE = 0.3
"""A candidate scoring at least this is kept without the mutual test: in a big family of
near-identical write-ups (hundreds of copies of one recurring problem) the candidates' own
nearest neighbours are arbitrary copies. 0.3 is above every pair of *different* problems
measured on the shipped corpus (max 0.283, ``benchmarks/duplicate_scores.py``)."""

GRAPH_NEIGHBOURS = 15
"""Neighbours kept per post-mortem in the similarity graph (links and clusters read it). The
lower ``cluster_threshold``, the more pairs above it lie outside a small graph, where average
linkage can only estimate them: with 15 (10 before), clustering the shipped corpus at 0.08 gives
the same clusters as exact average linkage over all pairs."""

CHUNK_ROWS = 1000
"""Rows per block of the sparse product ``X[block] @ X.T`` (bounds peak memory)."""

SCORE_DECIMALS = 9
"""Scores are rounded to this many decimals before ranking, so that floating-point noise in the
last bits can never reorder two equal scores (ties are then broken by id)."""

# Scripts written without spaces between words: tokenised as character bigrams.
_NO_SPACE = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
)
_TOKEN = re.compile(rf"[{_NO_SPACE}]+|[^\W_{_NO_SPACE}]+")
_ASCII_TOKEN = re.compile(r"[a-z0-9]+")  # the same tokens, faster, for ASCII text
_NO_SPACE_RUN = re.compile(rf"[{_NO_SPACE}]")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_ASCII_WORD = re.compile(r"[a-z]+")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+", re.I)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_CAMEL = re.compile(r"[a-z][A-Z]")
_ACRONYM = re.compile(r"[A-Z]{2,}s?")
_CAMEL_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]*[a-z][A-Z][A-Za-z]*(?![A-Za-z0-9])")
# A word in the middle of a sentence: after a letter, digit or comma and one or two blanks on
# the same line, not part of a compound token (us-east-1, file.name).
_MID_SENTENCE_WORD = re.compile(r"(?:(?<=[A-Za-z0-9,][^\S\n])|(?<=[A-Za-z0-9,][^\S\n]{2}))"
                                r"([A-Za-z]+)(?![A-Za-z0-9])(?![-_./][A-Za-z0-9])")

# Words of the post-mortem template and of every incident write-up: they say nothing about
# *which* problem happened. Headings of the standard sections, time units, and the generic
# vocabulary of incident response.
BOILERPLATE = frozenset("""
    summary impact timeline root cause causes trigger triggered detection detected resolution
    resolved action actions item items lesson lessons learned learn follow followup
    incident incidents outage outages postmortem post mortem retrospective
    utc gmt cet pst pdt est edt am pm
    second seconds sec secs minute minutes min mins hour hours hr hrs day days week weeks
    month months year years today yesterday morning afternoon evening night
    team teams engineer engineers oncall call page paged paging responder responders
    customer customers user users people
    started start starts began begin begins ended end ends happened occurred
    approximately roughly about around shortly later earlier
    also however although though
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday weekend weekday
    did does doing done took take taken takes taking use used uses using make makes making
    made got get gets getting let lets went go goes going gone come came comes coming
    allow allowed allows able unable new old large small big number numbers lot lots
    including include includes included within across due result results resulted resulting
    led lead leads leading caused causing like just way ways thing things time times
    """.split())


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words plus :data:`BOILERPLATE` (lower case).

    The list is read from scikit-learn's own file (``sklearn/feature_extraction/_stop_words.py``,
    a literal ``frozenset([...])``) without importing scikit-learn, whose import costs a second
    or more: a query answered from the cached model (``pmkb similar --text``) never pays it.
    When the file is not that literal, scikit-learn is imported as usual.
    """
    return frozenset(_sklearn_stop_words()) | BOILERPLATE


def _sklearn_stop_words() -> frozenset[str]:
    import ast
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("sklearn")  # (finds the package, does not import it)
        folder = Path(next(iter(spec.submodule_search_locations)))
        tree = ast.parse((folder / "feature_extraction" / "_stop_words.py").read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["ENGLISH_STOP_WORDS"]:
                call = node.value
                if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "frozenset" and len(call.args) == 1:
                    words = ast.literal_eval(call.args[0])
                    if words and all(isinstance(w, str) for w in words):
                        return frozenset(words)
    except (AttributeError, OSError, StopIteration, SyntaxError, TypeError, ValueError, UnicodeDecodeError):
        pass
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def s_stem(word: str) -> str:
    """Fold an English plural to its singular with Harman's S-stemmer (1991).

    ``certificates -> certificate``, ``replicas -> replica``, ``retries -> retry``,
    ``caches -> cache``; words ending in ``ss``, ``us`` or ``is`` (``dns`` is too short) stay
    as they are: ``status``, ``redis``, ``loss``. Only lower-case ASCII words of four letters or
    more are changed.
    """
    if len(word) < 4 or not _ASCII_WORD.fullmatch(word):
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss", "is")):
        return word[:-1]
    return word


class Tokenizer:
    """Turns text into terms (see the module docstring, step 2), caching per distinct word.

    ``words`` counts every word the corpus was made of, so that a stemmed term can be shown as
    the word people actually wrote (:meth:`display`).
    """

    def __init__(self, stop: frozenset[str] | None = None) -> None:
        self._stop = stop_words() if stop is None else stop
        self._cache: dict[str, tuple[str, ...]] = {}
        self.words: Counter = Counter()
        self._display: dict[str, str] | None = None

    def clean(self, text: str) -> str:
        """Lower-cased NFKC text without HTML comments, tags, URLs or link targets."""
        if not text:
            return ""
        if "<" in text:
            text = _HTML_TAG.sub(" ", _HTML_COMMENT.sub(" ", text))
        if "](" in text:
            text = _LINK_TARGET.sub("]", text)
        if "://" in text or "www." in text:
            text = _URL.sub(" ", text)
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
        return text.lower()

    def _terms_of(self, word: str) -> tuple[str, ...]:
        terms = self._cache.get(word)
        if terms is not None:
            return terms
        if _NO_SPACE_RUN.match(word):
            terms = tuple(word[i:i + 2] for i in range(len(word) - 1)) if len(word) > 1 else (word,)
        elif len(word) < 2 or len(word) > 40 or word in self._stop or not _HAS_LETTER.search(word):
            terms = ()
        else:
            stem = s_stem(word)
            terms = () if stem in self._stop else (stem,)
        self._cache[word] = terms
        return terms

    def count(self, text: str, record: bool = True) -> Counter:
        """Term counts of ``text`` (cleaned first); ``record`` adds the words to :attr:`words`
        (off for queries, so a search never changes how the corpus' terms are shown)."""
        words = self.word_counts(text)
        if record:
            self.record(words)
        return self.term_counts(words)

    def word_counts(self, text: str) -> Counter:
        """The words of ``text`` (cleaned first) and how often each occurs."""
        text = self.clean(text)
        return Counter((_ASCII_TOKEN if text.isascii() else _TOKEN).findall(text))

    def term_counts(self, words: Counter) -> Counter:
        """Term counts of a :meth:`word_counts` result."""
        counts: Counter = Counter()
        terms_of = self._terms_of
        for word, n in words.items():
            for term in terms_of(word):
                counts[term] += n
        return counts

    def record(self, words) -> None:
        """Add ``{word: count}`` to :attr:`words` (how the corpus' terms are shown)."""
        self.words.update(words)
        self._display = None

    def display(self, term: str) -> str:
        """The most frequent written form of ``term`` (ties: the alphabetically first); the
        term itself for character bigrams and terms never seen in the corpus."""
        if self._display is None:
            best: dict[str, tuple[int, str]] = {}
            for word, n in self.words.items():
                if _NO_SPACE_RUN.match(word):
                    continue
                for stem in self._terms_of(word):
                    seen = best.get(stem)
                    if seen is None or (-n, word) < (-seen[0], seen[1]):
                        best[stem] = (n, word)
            self._display = {stem: word for stem, (n, word) in best.items()}
        return self._display.get(term, term)


_SECTION_FIELDS = {"root cause": "section_root_cause", "trigger": "section_trigger", "impact": "section_impact"}
_NOTES_KEYS = frozenset(name.lower() for name in NOTES_SECTIONS)


def _kebab(value: str) -> str:
    return value.replace("-", " ").replace("_", " ")


def _sections(pm: Postmortem) -> dict[str, str]:
    if pm.sections:
        return pm.sections
    if not pm.body:
        return {}
    from . import scan

    lines = pm.body.split("\n")
    found = scan.split_sections(lines, scan.code_line_indexes(pm.body), 1)
    if not found:
        return {"": pm.body}
    return {s.title: s.text for s in found}


def document_fields(pm: Postmortem) -> dict[str, str]:
    """The text of each weighted field of a post-mortem (keys as in ``field_weights``).

    Returns:
        ``{field name: text}``; kebab-case values (tags, services, trigger) are split into
        words; body sections not named by a ``section_*`` field are joined into ``body``,
        except the sections about the write-up itself (:data:`generator.model.NOTES_SECTIONS`:
        *Notes*, *Sources*, *References*), which no field holds.
    """
    from .scan import section_key

    fields = {
        "title": pm.title,
        "summary": pm.summary,
        "root_cause": pm.root_cause,
        "trigger": _kebab(pm.trigger),
        "tags": " ".join(_kebab(t) for t in pm.tags),
        "services": " ".join(_kebab(s) for s in pm.services),
        "action_items": "\n".join(item.title for item in pm.action_items),
        "section_root_cause": "",
        "section_trigger": "",
        "section_impact": "",
        "body": "",
    }
    body = []
    for title, text in _sections(pm).items():
        key = section_key(title)
        if key in _NOTES_KEYS:
            continue
        name = _SECTION_FIELDS.get(key)
        if name:
            fields[name] = (fields[name] + "\n" + text).strip()
        else:
            body.append(text)
    fields["body"] = "\n".join(body)
    return fields


FIELD_BLOCKS: dict[str, str] = {}
"""Fields compared only with the same field(s) of the other post-mortem: ``{field: block}``.
Empty by default: all fields go into one bag of words, so a draft that has only a title is
compared with the whole text of every post-mortem. (Measured on the shipped corpus, comparing
field with field was no better: benchmarks/README.md.)"""


def field_shares(weights: dict[str, float]) -> dict[str, tuple[str, float]]:
    """``{field: (block, share)}`` for the fields with a weight > 0: a field's weight divided
    by the total weight of its block (see :data:`FIELD_BLOCKS`)."""
    totals: dict[str, float] = {}
    for name, weight in weights.items():
        if weight > 0:
            block = FIELD_BLOCKS.get(name, "text")
            totals[block] = totals.get(block, 0.0) + weight
    return {name: (FIELD_BLOCKS.get(name, "text"), weight / totals[FIELD_BLOCKS.get(name, "text")])
            for name, weight in weights.items() if weight > 0}


@dataclass
class DocumentTerms:
    """What one post-mortem's text gives the index, computed once per text.

    ``fields``: term counts of every weighted field that has text, in :func:`document_fields`
    order (``{field: {term: count}}``); ``words``: the written words of those fields that give
    a term, with their counts (for :meth:`Tokenizer.display`); ``names``: the name evidence of
    every field (:func:`name_evidence`). :mod:`generator.analysis_cache` keeps them on disk,
    keyed by the digest of the post-mortem's fields, so a rebuild after one edit tokenises one
    post-mortem.
    """

    fields: dict[str, Counter]
    words: Counter
    names: Counter


def document_terms(pm: Postmortem, tokenizer: Tokenizer, weighted) -> DocumentTerms:
    """The :class:`DocumentTerms` of ``pm``; ``weighted`` holds the fields with a weight > 0."""
    fields: dict[str, Counter] = {}
    words: Counter = Counter()
    names: Counter = Counter()
    for name, text in document_fields(pm).items():
        name_evidence(text, names, camel_only=name in NAME_FIELDS_SKIPPED)
        if not text or name not in weighted:
            continue
        found = tokenizer.word_counts(text)
        fields[name] = tokenizer.term_counts(found)
        words.update({word: n for word, n in found.items() if tokenizer._terms_of(word)})
    return DocumentTerms(fields, words, names)


def _block_tfs(fields: dict[str, str], shares: dict[str, tuple[str, float]], tokenizer: Tokenizer,
               record: bool = True) -> tuple[dict[str, dict[str, float]], int]:
    """Sublinear term frequencies per block of fields, and the number of distinct terms
    outside ``services``.

    Returns:
        ``({block: {term: tf}}, distinct_terms)``: each field adds ``share * (1 + ln(count))``
        (:func:`field_shares`) to its block.
    """
    return _block_tfs_of_counts({name: tokenizer.count(text, record) for name, text in fields.items()
                                 if text and name in shares}, shares)


def _block_tfs_of_counts(field_counts: dict[str, Counter], shares: dict[str, tuple[str, float]]
                         ) -> tuple[dict[str, dict[str, float]], int]:
    """:func:`_block_tfs` from the term counts of each field (``{field: {term: count}}``)."""
    blocks: dict[str, dict[str, float]] = {}
    content: set[str] = set()
    log = math.log
    for name, counts in field_counts.items():
        if not counts or name not in shares:
            continue
        block, share = shares[name]
        tf = blocks.get(block)
        if tf is None:
            tf = blocks[block] = {}
        for term, n in counts.items():
            tf[term] = tf.get(term, 0.0) + share * (1.0 + log(n))
        if name != "services":
            content.update(counts)
    return blocks, len(content)


def readable_terms(terms: list[str], limit: int, texts=None) -> tuple[str, ...]:
    """Join character bigrams of unspaced scripts back into runs of the text, keep ``limit``.

    ``["明書", "書の", "証明"]`` becomes ``["証明書の"]``: the bigrams a link or cluster shares
    are shown as the text they come from. Other terms pass through unchanged, in order.

    ``texts`` are the texts the terms were shared by (a list of strings, or a callable returning
    one, called only when there are bigrams to join): a join is made, and a bigram is folded into
    a run holding it, only when the joined run occurs in every one of them, so no run is shown
    that was not written ("主库" and "库主" of "数据库主库故障" never give "主库主").
    Without ``texts`` a join is made only where the bigrams leave little choice: the character
    they overlap on ends exactly one of the bigrams and starts exactly one, and those two are not
    a pair like "主库" / "库主". Deterministic; a few substring searches per call.
    """
    if not any(ord(term[0]) >= 0x0E00 for term in terms):  # fast path: no unspaced script
        return tuple(terms[:limit])

    def unspaced(term: str) -> bool:
        return all(_NO_SPACE_RUN.match(c) for c in term)

    bigrams = [term for term in terms if len(term) == 2 and unspaced(term)]
    if not bigrams:
        return tuple(terms[:limit])
    if texts is not None:
        sources = [unicodedata.normalize("NFKC", text).lower() for text in (texts() if callable(texts) else texts)]

        def can_join(run: str, overlap: str) -> bool:
            return all(run in text for text in sources)
    else:
        starts, ends = Counter(b[0] for b in bigrams), Counter(b[1] for b in bigrams)
        before = {b[1]: b[0] for b in bigrams}  # for a character ending one bigram: the one before it
        after = {b[0]: b[1] for b in bigrams}
        # Not across a two-bigram cycle ("主库" + "库主" may be 主库主 or 库主库, or neither).
        forced = {c for c in starts if starts[c] == 1 and ends[c] == 1 and before[c] != after[c]}

        def can_join(run: str, overlap: str) -> bool:
            return overlap in forced

    out: list[str] = []
    for term in terms:
        if len(term) == 2 and unspaced(term):
            if any(term in seen for seen in out if unspaced(seen)):
                continue  # already shown inside a longer run
            for i, seen in enumerate(out):
                if not unspaced(seen):
                    continue
                if seen.endswith(term[0]) and can_join(seen + term[1], term[0]):
                    out[i] = seen + term[1]
                    break
                if seen.startswith(term[1]) and can_join(term[0] + seen, term[1]):
                    out[i] = term[0] + seen
                    break
            else:
                out.append(term)
        else:
            out.append(term)
    joined = True
    while joined:  # runs that overlap by a character: "の証明書の期限切" + "切れで"
        joined = False
        for i, left in enumerate(out):
            for j, right in enumerate(out):
                if i != j and len(right) > 1 and unspaced(left) and unspaced(right) and \
                        left.endswith(right[0]) and can_join(left + right[1:], right[0]):
                    out[i] = left + right[1:]
                    del out[j]
                    joined = True
                    break
            if joined:
                break
    return tuple(out[:limit])


def _normalize_row(X):
    """A one-row CSR matrix divided by its L2 norm, with the arithmetic of scikit-learn's
    ``normalize(X, norm="l2")`` (a running sum of squares in index order, then one division
    per value), so a query vector is the same to the last bit without importing scikit-learn."""
    total = 0.0
    for value in X.data.tolist():
        total += value * value
    if total != 0.0:
        X.data = X.data / math.sqrt(total)
    return X


def top_neighbours(X, k: int, sizes=None) -> list[list[tuple[int, float]]]:
    """The ``k`` rows most similar to each row of ``X``, by a chunked sparse product.

    Args:
        X: SciPy CSR matrix. With L2-normalised rows, ``X @ X.T`` holds cosine similarities.
        k: neighbours kept per row.
        sizes: optional row weights; similarities are divided by ``sizes[i] * sizes[j]``
            (rows that are sums of ``sizes[i]`` unit vectors then give average similarities).

    Returns:
        Per row, ``[(other row, score), ...]`` best first, only scores > 0, the row itself left
        out, ties broken by the smaller row number; scores rounded to ``SCORE_DECIMALS``.
        Peak memory is one block of ``CHUNK_ROWS`` x N non-zeros, never N x N.
    """
    import numpy as np

    n = X.shape[0]
    result: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    XT = X.T.tocsr()
    sizes = None if sizes is None else np.asarray(sizes, dtype=np.float64)
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        block = (X[start:stop] @ XT).tocsr()
        if sizes is not None:
            rows = np.repeat(np.arange(start, stop), np.diff(block.indptr))
            block.data = block.data / (sizes[rows] * sizes[block.indices])
        block.data = np.round(block.data, SCORE_DECIMALS)
        indptr, indices, data = block.indptr, block.indices, block.data
        for r in range(stop - start):
            lo, hi = indptr[r], indptr[r + 1]
            cols, vals = indices[lo:hi], data[lo:hi]
            keep = (cols != start + r) & (vals > 0)
            cols, vals = cols[keep], vals[keep]
            if len(vals) > k:
                kth = np.partition(vals, len(vals) - k)[len(vals) - k]
                sel = vals >= kth
                cols, vals = cols[sel], vals[sel]
            order = np.lexsort((cols, -vals))[:k]
            result[start + r] = list(zip(cols[order].tolist(), vals[order].tolist()))
        del block
    return result


@dataclass(eq=False)
class SimilarityIndex:
    """TF-IDF vectors of a corpus and the top neighbours of every post-mortem.

    Build it with :meth:`build`. ``ids`` are sorted; row ``i`` of ``matrix`` (a SciPy CSR
    matrix, L2-normalised, float64) is ``ids[i]``; column ``j`` is ``vocabulary[j]``.
    ``warnings`` are messages for the user (not enough text, no shared words, duplicate ids).
    """

    postmortems: list[Postmortem]
    settings: Settings
    ids: list[str] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)
    matrix: object = None
    idf: object = None
    comparable: list[bool] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tokenizer: Tokenizer = field(default_factory=Tokenizer)
    _term_index: dict[str, int] = field(default_factory=dict)
    _neighbours: list[list[tuple[int, float]]] | None = None
    _row_map: dict[str, int] | None = None
    blocks: list[str] = field(default_factory=list)
    block_weights: object = None
    names: frozenset = frozenset()
    semantic: list | None = None
    _vectors: object = None
    semantic_cache: object = None
    notes: list[str] = field(default_factory=list)
    term_frequencies: object = None
    """The rows of :attr:`matrix` before weighting (sublinear tf per field, summed per block;
    CSR, same shape), kept for the browser's copy of the model (:mod:`generator.seen`)."""

    # --- building ----------------------------------------------------------------------

    @classmethod
    def build(cls, postmortems: list[Postmortem], settings: Settings, terms=None) -> "SimilarityIndex":
        """Vectorise ``postmortems`` with the options in ``settings``.

        Args:
            postmortems: the corpus, in any order. When two share an id, the one with the
                smaller path is kept and a warning is added.
            settings: ``field_weights`` (relative weights, any non-negative numbers) are read
                here; ``top_k``, ``min_score`` by :meth:`related_links`.
            terms: a callable ``(pm, tokenizer, weighted fields) -> DocumentTerms`` that may
                answer from a cache (:class:`generator.analysis_cache.TermStore`); default
                :func:`document_terms`.

        Returns:
            The index. Never raises on a corpus without usable words (empty, one post-mortem,
            only stop words): its ``warnings`` say why no link can be made.
        """
        import numpy as np
        from scipy import sparse

        unique: dict[str, Postmortem] = {}
        duplicates: set[str] = set()
        for pm in sorted(postmortems, key=lambda p: (p.id, p.path)):
            if pm.id in unique:
                duplicates.add(pm.id)
                continue
            unique[pm.id] = pm
        index = cls(postmortems=list(unique.values()), settings=settings, ids=list(unique))
        if duplicates:
            index.warnings.append(f"duplicate ids compared once each: {', '.join(sorted(duplicates))}")
        weights = dict(settings.field_weights)
        shares = field_shares(weights)
        index.blocks = blocks = sorted({block for block, _ in shares.values()})
        per_doc: list[dict[str, dict[str, float]]] = []
        terms = terms or document_terms
        evidence: Counter = Counter()
        for pm in index.postmortems:
            doc = terms(pm, index.tokenizer, shares)
            index.tokenizer.record(doc.words)
            evidence.update(doc.names)
            tfs, content = _block_tfs_of_counts(doc.fields, shares)
            per_doc.append(tfs)
            index.comparable.append(content >= MIN_TERMS)
        n = len(per_doc)
        df: Counter = Counter()
        for tfs, ok in zip(per_doc, index.comparable):
            if ok:
                df.update({t for tf in tfs.values() for t in tf})
        n_ok = sum(index.comparable)
        use_max_df = n_ok >= MAX_DF_MIN_DOCS
        vocabulary = sorted(t for t, d in df.items() if not (use_max_df and d > MAX_DF * n_ok))
        index.vocabulary = vocabulary
        index._term_index = term_index = {t: j for j, t in enumerate(vocabulary)}
        index.block_weights = np.array([sum(w for name, w in weights.items() if w > 0 and
                                            FIELD_BLOCKS.get(name, "text") == b) for b in blocks])
        V = len(vocabulary)
        rows, cols, vals = [], [], []
        for i, (tfs, ok) in enumerate(zip(per_doc, index.comparable)):
            if not ok:
                continue
            for b, block in enumerate(blocks):
                for term, value in tfs.get(block, {}).items():
                    j = term_index.get(term)
                    if j is not None:
                        rows.append(i)
                        cols.append(b * V + j)
                        vals.append(value)
        index.matrix = sparse.csr_matrix((n, max(1, V * len(blocks))), dtype=np.float64)
        if V and n:
            from sklearn.feature_extraction.text import TfidfTransformer

            counts = sparse.csr_matrix((np.asarray(vals, dtype=np.float64), (rows, cols)),
                                       shape=(n, V * len(blocks)))
            # Document frequency counts a term once per post-mortem, whatever its fields.
            presence = sparse.csr_matrix((np.ones(len(rows)), (rows, np.asarray(cols, dtype=np.int64) % V)),
                                         shape=(n, V))
            presence.data[:] = 1.0
            transformer = TfidfTransformer(norm=None, use_idf=True, smooth_idf=True)
            transformer.fit(presence[np.flatnonzero(index.comparable)])
            index.names = names = index._find_names(evidence)
            weight = np.ones(V)
            for term in names:
                j = term_index.get(term)
                if j is not None:
                    weight[j] = NAME_WEIGHT
            index.idf = transformer.idf_ * weight
            index.term_frequencies = counts
            index.matrix = index._weigh(counts)
        index._check_vocabulary(df)
        return index

    def _find_names(self, evidence: Counter) -> frozenset[str]:
        """Terms that are names (:data:`NAME_SHARE`): the corpus' running text writes them
        with a capital letter in the middle of sentences (``evidence``: the corpus'
        :func:`name_evidence`)."""
        per_term: dict[str, list[int]] = {}
        for (word, kind), n in evidence.items():
            for term in self.tokenizer._terms_of(word):
                cell = per_term.setdefault(term, [0, 0])
                cell[0 if kind == "cap" else 1] += n
        return frozenset(term for term, (cap, lower) in per_term.items()
                         if cap >= NAME_MIN and cap >= NAME_SHARE * (cap + lower))

    def _weigh(self, counts):
        """tf rows (N x blocks*V) -> idf-weighted, each block L2-normalised and scaled by
        sqrt(block weight), then each row L2-normalised (CSR, float64)."""
        import numpy as np

        V = len(self.vocabulary)
        X = counts.tocsr(copy=True)
        X.sum_duplicates()
        X.sort_indices()
        row_of = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        block_of = X.indices // V
        X.data = X.data * self.idf[X.indices % V]
        key = row_of * len(self.blocks) + block_of
        norms = np.sqrt(np.bincount(key, weights=X.data ** 2, minlength=X.shape[0] * len(self.blocks)))
        scale = np.sqrt(self.block_weights)[block_of] / np.where(norms[key] > 0, norms[key], 1.0)
        X.data = X.data * scale
        X.eliminate_zeros()
        if X.shape[0] == 1:  # a query: no scikit-learn import for one row (same arithmetic)
            return _normalize_row(X)
        from sklearn.preprocessing import normalize

        return normalize(X, norm="l2").tocsr()

    def _check_vocabulary(self, df: Counter) -> None:
        n = len(self.ids)
        if n < 2:
            return
        short = [pid for pid, ok in zip(self.ids, self.comparable) if not ok]
        if len(short) >= n - 1:
            self.warnings.append("not enough text to compare post-mortems: related links and recurrence "
                                 f"clusters are skipped (fewer than {MIN_TERMS} distinct words besides the "
                                 "services in " + ("every post-mortem" if len(short) == n else
                                                   "all post-mortems but one") + ")")
            return
        if short:
            shown = ", ".join(short[:5]) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
            self.warnings.append(f"{len(short)} post-mortem(s) have too little text to compare and get no "
                                 f"related links: {shown}")
        if not any(df[t] >= 2 for t in self.vocabulary):
            self.warnings.append("the post-mortems share no words: no related links or recurrence clusters")

    # --- the neighbour graph ------------------------------------------------------------

    def neighbours(self) -> list[list[tuple[int, float]]]:
        """For every row, its most similar other rows as ``(row, score)``, best first.

        At most ``max(GRAPH_NEIGHBOURS, 2 * top_k)`` per row, only scores > 0, ties by id.
        Computed once, block by block (``CHUNK_ROWS`` rows of ``X @ X.T`` at a time), so memory
        grows with N x neighbours, not N x N.
        """
        if self._neighbours is None:
            self._neighbours = self._compute_neighbours(self.graph_size())
        return self._neighbours

    def graph_size(self) -> int:
        """Neighbours kept per post-mortem: ``max(GRAPH_NEIGHBOURS, 2 * top_k)``."""
        return max(GRAPH_NEIGHBOURS, 2 * self.settings.top_k)

    def _compute_neighbours(self, k: int) -> list[list[tuple[int, float]]]:
        n = len(self.ids)
        if n < 2 or not self.vocabulary or self.matrix.nnz == 0:
            return [[] for _ in range(n)]
        return top_neighbours(self.matrix, k)

    def term_matrix(self):
        """:attr:`matrix` with the fields of each term added up: N x vocabulary (CSR)."""
        import numpy as np
        from scipy import sparse

        V = max(1, len(self.vocabulary))
        width = self.matrix.shape[1]
        fold = sparse.csr_matrix((np.ones(width), (np.arange(width), np.arange(width) % V)), shape=(width, V))
        return (self.matrix @ fold).tocsr()

    # --- scores and terms ---------------------------------------------------------------

    def row(self, pm_id: str) -> int | None:
        """Row of ``pm_id`` in :attr:`matrix`, or ``None`` when it is not in the corpus."""
        i = self._rows().get(pm_id)
        return i

    def _rows(self) -> dict[str, int]:
        rows = self._row_map
        if rows is None:
            rows = {pid: i for i, pid in enumerate(self.ids)}
            self._row_map = rows
        return rows

    def score(self, a: str, b: str) -> float:
        """Cosine similarity (0..1) of two post-mortems of the corpus, by id.

        Raises:
            KeyError: an id is not in the corpus.
        """
        i, j = self._rows()[a], self._rows()[b]
        if not self.vocabulary:
            return 0.0
        return round(float(self.matrix[i].multiply(self.matrix[j]).sum()), SCORE_DECIMALS)

    def text_of(self, row: int) -> str:
        """The cleaned text of the post-mortem in ``row`` (for :func:`readable_terms`)."""
        return self.tokenizer.clean("\n".join(document_fields(self.postmortems[row]).values()))

    def _top_terms(self, u, v, limit: int = TERMS_PER_LINK, texts=None) -> tuple[str, ...]:
        """Display forms of the terms with the largest products ``u[t] * v[t]`` (sparse rows),
        a term's products summed over the fields it appears in."""
        import numpy as np

        product = u.multiply(v).tocsr()
        product.eliminate_zeros()
        if product.nnz == 0:
            return ()
        V = len(self.vocabulary)
        terms = product.indices % V
        totals = np.bincount(terms, weights=product.data, minlength=V)
        cols = np.unique(terms)
        vals = np.round(totals[cols], SCORE_DECIMALS)
        order = np.lexsort((cols, -vals))[:3 * limit]
        return readable_terms([self.tokenizer.display(self.vocabulary[c]) for c in cols[order]], limit, texts)

    def shared_terms(self, a: str, b: str, limit: int = TERMS_PER_LINK) -> tuple[str, ...]:
        """The terms that contributed most to ``score(a, b)``, most important first.

        A term's contribution is the product of its TF-IDF weights in the two vectors (summed
        over fields when fields are compared separately); the cosine is the sum of them all.

        Raises:
            KeyError: an id is not in the corpus.
        """
        if not self.vocabulary:
            return ()
        return self._row_terms(self._rows()[a], self._rows()[b], limit)

    def _row_terms(self, i: int, j: int, limit: int = TERMS_PER_LINK) -> tuple[str, ...]:
        import numpy as np

        X = self.matrix
        ci, vi = X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]]
        cj, vj = X.indices[X.indptr[j]:X.indptr[j + 1]], X.data[X.indptr[j]:X.indptr[j + 1]]
        common, pi, pj = np.intersect1d(ci, cj, assume_unique=True, return_indices=True)
        if not len(common):
            return ()
        products = vi[pi] * vj[pj]
        terms = common % len(self.vocabulary)
        if len(self.blocks) > 1:
            terms, inverse = np.unique(terms, return_inverse=True)
            products = np.bincount(inverse, weights=products)
        products = np.round(products, SCORE_DECIMALS)
        order = np.lexsort((terms, -products))[:3 * limit]
        return readable_terms([self.tokenizer.display(self.vocabulary[t]) for t in terms[order]], limit,
                              lambda: [self.text_of(i), self.text_of(j)])

    # --- links --------------------------------------------------------------------------

    def related_links(self) -> dict[str, list[RelatedLink]]:
        """Related post-mortems of every post-mortem in the corpus.

        Returns:
            ``{id: [RelatedLink, ...]}`` for every id (an empty list when there is none).
            Pinned links (the post-mortem's own ``related:`` ids that exist in the corpus) come
            first, then up to ``top_k`` computed links with score >= ``min_score``, each list
            ordered by descending score then id (with the ``[semantic]`` model, the computed
            links by descending ``fused`` score then id). The computed links are kept only when the
            post-mortem passes the mutual nearest-neighbour test (:data:`MUTUAL_RANK`,
            :data:`STRONG_SCORE`); a one-off incident gets none. An id in either post-mortem's
            ``not_related:`` is never linked, in either direction, even when pinned.
        """
        settings = self.settings
        rows = self._rows()
        by_id = {pm.id: pm for pm in self.postmortems}
        suppressed: dict[str, set[str]] = {pid: set() for pid in self.ids}
        for pm in self.postmortems:
            for other in pm.not_related:
                if other in suppressed:
                    suppressed[pm.id].add(other)
                    suppressed[other].add(pm.id)
        graph = self.neighbours()
        links: dict[str, list[RelatedLink]] = {}
        for i, pid in enumerate(self.ids):
            pm = by_id[pid]
            pinned_ids = []
            for other in pm.related:
                if other in rows and other != pid and other not in suppressed[pid] and other not in pinned_ids:
                    pinned_ids.append(other)
            pinned = [self._link(pid, other, None, True) for other in pinned_ids]
            pinned.sort(key=lambda link: (-link.score, link.id))
            candidates = []
            for j, score in graph[i]:
                other = self.ids[j]
                if len(candidates) >= settings.top_k:
                    break
                if score < settings.min_score:
                    break
                if other in suppressed[pid] or other in pinned_ids:
                    continue
                candidates.append((j, score))
            # Mutual nearest neighbours: keep the candidates only when this post-mortem is
            # among the MUTUAL_RANK nearest neighbours of at least one of them.
            if not self._mutual(i, candidates):
                candidates = []
            if self.semantic is not None and candidates:
                computed = self._fused(i, candidates, suppressed[pid] | set(pinned_ids))
            else:
                computed = [self._link(pid, self.ids[j], score, False) for j, score in candidates]
            links[pid] = pinned + computed
        return links

    def attach_semantic(self, vectors) -> None:
        """Fuse the related links with a sentence model's ranking (``[semantic]`` extra).

        Args:
            vectors: one unit vector per row of :attr:`matrix` (N x D array).
        """
        from .semantic import dense_neighbours

        self._vectors = vectors
        self.semantic = dense_neighbours(vectors, self.graph_size())

    def _fused(self, i: int, candidates: list[tuple[int, float]], skip: set[str]) -> list[RelatedLink]:
        """The ``top_k`` links of row ``i`` by weighted reciprocal rank fusion of the TF-IDF
        ranking (its ``candidates``: score >= ``min_score``) and the sentence model's ``top_k``
        nearest neighbours (:mod:`generator.semantic`): by descending ``fused``
        (:func:`generator.semantic.fused_score`, set on each link), ties by id."""
        from .semantic import SEMANTIC_MIN, fused_score

        k = self.settings.top_k
        tf_rank = {j: r for r, (j, _) in enumerate(self.neighbours()[i], 1)}
        sem_rank = {j: r for r, (j, _) in enumerate(self.semantic[i], 1)}
        from_tfidf = {j for j, _ in candidates}
        from_model = [j for j, cos in self.semantic[i] if self.ids[j] not in skip and cos >= SEMANTIC_MIN][:k]
        fused = []
        for j in from_tfidf | set(from_model):
            fused.append((-fused_score(tf_rank.get(j), sem_rank.get(j)), self.ids[j], j))
        fused.sort()
        out = []
        for value, other, j in fused[:k]:
            via = "both" if j in from_tfidf and j in from_model else ("tfidf" if j in from_tfidf else "semantic")
            link = self._link(self.ids[i], other, None, False)
            out.append(RelatedLink(id=link.id, score=link.score, terms=link.terms, pinned=False, via=via,
                                   fused=-value))
        return out

    def ranking(self) -> list[list[int]]:
        """Every row's full ranking of the other rows (for benchmarks; N x N work): fused
        with the sentence model when one is attached, else by TF-IDF score; ties by row."""
        import numpy as np

        from .semantic import RRF_K, TFIDF_SHARE

        n = len(self.ids)
        S = (self.matrix @ self.matrix.T).toarray()
        np.fill_diagonal(S, -np.inf)
        out = []
        for i in range(n):
            order = [j for j in np.lexsort((np.arange(n), -np.round(S[i], SCORE_DECIMALS))) if j != i]
            if self.semantic is not None and self._vectors is not None:
                sem = self._vectors @ self._vectors[i]
                sem[i] = -np.inf
                sem_order = [j for j in np.lexsort((np.arange(n), -np.round(sem, 6))) if j != i]
                rt = {j: r for r, j in enumerate(order, 1)}
                rs = {j: r for r, j in enumerate(sem_order, 1)}
                score = {j: TFIDF_SHARE / (RRF_K + rt[j]) + (1 - TFIDF_SHARE) / (RRF_K + rs[j]) for j in rt}
                order = sorted(score, key=lambda j: (-round(score[j], SCORE_DECIMALS), j))
            out.append(order)
        return out

    def _mutual(self, i: int, candidates: list[tuple[int, float]]) -> bool:
        """Is row ``i`` among the ``MUTUAL_RANK`` nearest neighbours of one of its
        ``candidates`` (``(row, score)`` pairs), not counting the candidates themselves?

        For a candidate ``j``, the rows ``j`` scores higher than ``i`` are counted, except
        ``i``'s own candidates: in a recurring problem written up many times, every write-up
        of it ranks high for every other, and a new write-up of the same problem (a candidate of
        ``i`` too) must not push ``i`` out (adding a post-mortem never takes away the links of
        one that shares its problem). Ties count for ``i``. A one-off's best matches have
        closer matches of their own that have nothing to do with the one-off, so it fails.
        """
        graph = self.neighbours()
        if self.semantic is not None:
            candidates = [(j, score) for j, score in candidates if self._model_agrees(i, j, candidates)]
        own = {j for j, _ in candidates}
        for j, score in candidates:
            if score >= STRONG_SCORE:
                return True
            above = 0
            for x, s in graph[j]:
                if s <= score:
                    break
                if x != i and x not in own:
                    above += 1
            if above < MUTUAL_RANK:  # (a row outside j's graph has >= 10 rows above it)
                return True
        return False

    def _model_agrees(self, i: int, j: int, candidates: list[tuple[int, float]]) -> bool:
        """Does the sentence model agree that rows ``i`` and ``j`` (a TF-IDF candidate of
        ``i``) are near: is one among the other's :data:`generator.semantic.AGREEMENT_RANK`
        nearest by the model, not counting that row's own TF-IDF candidates (``candidates``
        for ``i``; for ``j``, its ``top_k`` neighbours scoring at least ``min_score``)?

        Own candidates are not counted for the reason of :meth:`_mutual`: a new write-up of the
        same problem must not push an older one out. A row outside the model's graph of
        ``i`` (:data:`GRAPH_NEIGHBOURS` rows) has too many rows above it to agree.
        """
        from .semantic import AGREEMENT_RANK

        settings = self.settings
        own_j = {x for x, score in self.neighbours()[j][:settings.top_k] if score >= settings.min_score}
        for a, b, own in ((i, j, {x for x, _ in candidates}), (j, i, own_j)):
            above = 0
            for x, _ in self.semantic[a]:
                if x == b:
                    if above < AGREEMENT_RANK:
                        return True
                    break
                if x not in own:
                    above += 1
                    if above >= AGREEMENT_RANK:
                        break
        return False

    def recurring(self) -> list[bool]:
        """Per row: does it pass the mutual nearest-neighbour test of :meth:`related_links`
        with one of its ``top_k`` nearest neighbours scoring at least ``min_score`` (pins and
        ``not_related:`` aside)? A row that does not is a one-off: it joins no cluster."""
        settings = self.settings
        out = []
        for i, nbrs in enumerate(self.neighbours()):
            out.append(self._mutual(i, [(j, score) for j, score in nbrs[:settings.top_k]
                                        if score >= settings.min_score]))
        return out

    def _link(self, a: str, b: str, score: float | None, pinned: bool) -> RelatedLink:
        if score is None:
            score = self.score(a, b)
        return RelatedLink(id=b, score=score, terms=self.shared_terms(a, b), pinned=pinned,
                           via="pinned" if pinned else "tfidf")

    # --- queries ------------------------------------------------------------------------

    def vectorize(self, query: Postmortem | str):
        """TF-IDF row (1 x vocabulary, L2-normalised CSR) of a post-mortem or free text.

        Words that are not in the corpus vocabulary are ignored; free text is put in every
        field (except ``services``), so it is compared with titles, summaries, root causes ...
        alike. A query with no known word gives an all-zero row.
        """
        import numpy as np
        from scipy import sparse

        weights = dict(self.settings.field_weights)
        if isinstance(query, str):
            # Free text is compared with every field of the post-mortems.
            fields = {name: query for name, w in weights.items() if w > 0 and name != "services"}
        else:
            fields = document_fields(query)
        tfs, _ = _block_tfs(fields, field_shares(weights), self.tokenizer, record=False)
        V = len(self.vocabulary)
        cols, vals = [], []
        for b, block in enumerate(self.blocks):
            for term, value in tfs.get(block, {}).items():
                j = self._term_index.get(term)
                if j is not None:
                    cols.append(b * V + j)
                    vals.append(value)
        width = self.matrix.shape[1]
        counts = sparse.csr_matrix((np.asarray(vals, dtype=np.float64),
                                    (np.zeros(len(cols), dtype=np.int64), np.asarray(cols, dtype=np.int64))),
                                   shape=(1, width))
        if not V or self.idf is None or not cols:
            return sparse.csr_matrix((1, width), dtype=np.float64)
        return self._weigh(counts)

    def similar_to(self, query: Postmortem | str, k: int | None = None, min_score: float | None = None,
                   exclude: tuple[str, ...] = ()) -> list[RelatedLink]:
        """The post-mortems of the corpus most similar to one post-mortem or to free text.

        Args:
            query: a :class:`Postmortem` (in the corpus or not, e.g. a draft) or free text.
                A post-mortem of the corpus is answered from its own row; its ``not_related``
                ids are left out and its ``related`` ids are not pinned (this is a search).
            k: how many results at most (default ``top_k``).
            min_score: lowest cosine similarity shown (default ``min_score``).
            exclude: ids never to return (the query's own id is always excluded).

        Returns:
            Up to ``k`` :class:`RelatedLink` (``pinned`` False), by descending score then id;
            with the ``[semantic]`` model attached (:meth:`attach_semantic`) the query is embedded
            too and the order is the fused one: by descending ``fused``
            (:func:`generator.semantic.fused_score`) then id (``via`` says which ranking found
            each; ``score`` stays the TF-IDF cosine).
        """
        import numpy as np

        k = self.settings.top_k if k is None else k
        min_score = self.settings.min_score if min_score is None else min_score
        skip = set(exclude)
        if isinstance(query, Postmortem):
            skip.add(query.id)
            skip.update(query.not_related)
            skip.update(pm.id for pm in self.postmortems if query.id in pm.not_related)
        if not self.vocabulary or not self.ids or k <= 0:
            return []
        in_corpus = isinstance(query, Postmortem) and self.row(query.id) is not None and \
            self.postmortems[self.row(query.id)] is query
        q = self.matrix[self.row(query.id)] if in_corpus else self.vectorize(query)
        dense = self._query_vector(query, in_corpus) if self._vectors is not None else None
        if q.nnz == 0 and dense is None:
            return []
        scores = np.round(np.asarray((self.matrix @ q.T).todense()).ravel(), SCORE_DECIMALS)
        order = np.lexsort((np.arange(len(scores)), -scores))
        query_text = (self.tokenizer.clean(query) if isinstance(query, str)
                      else self.tokenizer.clean("\n".join(document_fields(query).values())))

        def link(j: int, via: str) -> RelatedLink:
            return RelatedLink(id=self.ids[j], score=float(scores[j]), pinned=False, via=via,
                               terms=self._top_terms(q, self.matrix[j],
                                                     texts=lambda j=j: [query_text, self.text_of(j)]))

        from_tfidf = []
        for j in order:
            score = float(scores[j])
            if score < min_score or score <= 0 or len(from_tfidf) >= k:
                break
            if self.ids[j] not in skip:
                from_tfidf.append(int(j))
        if dense is None:
            return [link(j, "tfidf") for j in from_tfidf]
        # [semantic]: the query is embedded too, and the two rankings fused as the related
        # links are (weighted reciprocal rank fusion, generator.semantic).
        cosines = np.round(self._vectors.astype(np.float64) @ dense, 6)
        return [dataclasses.replace(link(j, via), fused=value)
                for value, j, via in fuse_rankings(self.ids, skip, k, order, scores, from_tfidf, cosines)]

    def _query_vector(self, query: Postmortem | str, in_corpus: bool):
        """The sentence model's unit vector of a query (``[semantic]``): a corpus post-mortem's
        own row, else the query embedded now (the text of a draft, or free text); ``None`` when
        the model cannot be loaded."""
        import numpy as np

        from . import semantic

        if in_corpus:
            return self._vectors[self.row(query.id)].astype(np.float64)
        try:
            if isinstance(query, str):
                return text_vector(query)
            vectors, _ = semantic.embed_postmortems([query], self.semantic_cache)
            return vectors[0].astype(np.float64)
        except semantic.ModelError:
            return None


def text_vector(text: str):
    """The sentence model's unit vector of free text (``[semantic]``): the mean of its chunks'
    embeddings, L2-normalised, float64 (384 values).

    Raises:
        generator.semantic.ModelError: the model cannot be loaded.
    """
    import numpy as np

    from . import semantic

    rows = semantic.SentenceModel().embed(semantic.chunks(text))
    mean = rows.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float64)


def fuse_rankings(ids: list[str], skip: set[str], k: int, order, scores, from_tfidf: list[int], cosines
                  ) -> list[tuple[float, int, str]]:
    """A query's TF-IDF ranking fused with the sentence model's (weighted reciprocal rank
    fusion, :func:`generator.semantic.fused_score`), as related links are.

    Args:
        ids: the rows' ids; ``skip``: ids never returned; ``k``: how many at most.
        order: every row by descending TF-IDF ``scores`` (rounded), ties by row.
        from_tfidf: the TF-IDF results (rows, best first: score >= min_score, up to ``k``).
        cosines: the model's cosine of each row with the query (NumPy array, rounded to 6).

    Returns:
        Up to ``k`` ``(fused score, row, via)`` by descending fused score then id; ``via`` is
        ``both``, ``tfidf`` or ``semantic`` (which ranking's first ``k`` found the row).
    """
    import numpy as np

    from .semantic import SEMANTIC_MIN, fused_score

    sem_order = [int(j) for j in np.lexsort((np.arange(len(cosines)), -cosines)) if ids[j] not in skip]
    tf_order = [int(j) for j in order if ids[j] not in skip and scores[j] > 0]
    tf_rank = {j: r for r, j in enumerate(tf_order, 1)}
    sem_rank = {j: r for r, j in enumerate(sem_order, 1)}
    from_model = [j for j in sem_order[:k] if cosines[j] >= SEMANTIC_MIN]
    fused = []
    for j in set(from_tfidf) | set(from_model):
        fused.append((-fused_score(tf_rank.get(j), sem_rank.get(j)), ids[j], j))
    fused.sort()
    return [(-value, j, "both" if j in from_tfidf and j in from_model else
             ("tfidf" if j in from_tfidf else "semantic")) for value, _, j in fused[:k]]


NAME_SHARE = 0.9
"""A word is a name (of a company, product, vendor, place, person) when, in the middle of a
sentence of running text, at least this share of its occurrences start with a capital letter
and are not all capitals (``Cloudflare``, ``GitHub``; not ``DNS``)."""

NAME_MIN = 1
"""... and at least this many such occurrences were seen."""

NAME_FIELDS_SKIPPED = frozenset({"title", "tags", "services", "trigger"})
"""Fields that are not running text (titles are often in Title Case, the others in
kebab-case): only their camel-case words count as evidence of names."""

NAME_WEIGHT = 0.0
"""A name term's TF-IDF weight is multiplied by this (0: names never carry a link)."""


def name_evidence(text: str, counts: Counter | None = None, camel_only: bool = False) -> Counter:
    """Count, per lower-case word, how it is written in ``text``: the evidence of names.

    Returns ``{(word, "cap" | "lower"): count}`` (added to ``counts`` when given):

    * a word written in camel case (a capital after a small letter: ``GitHub``, ``TravisCI``,
      ``PostgreSQL``) counts as ``cap`` wherever it stands;
    * other words count only in the middle of a sentence (preceded on their line by a letter,
      digit or comma and a space: the first word of a sentence, list item or heading is
      capitalised whatever it is), as ``cap`` (``Cloudflare``) or ``lower``; words in all
      capitals, with or without a plural ``s`` (acronyms: ``DNS``, ``APIs``), words with a
      digit and parts of compound tokens (``us-east-1``, ``file.name``) are not counted.

    ``camel_only`` counts camel-case words only (for titles, often written in Title Case).
    """
    counts = Counter() if counts is None else counts
    if not text:
        return counts
    # Whole-text regular expressions, each distinct word classified once (this runs over every
    # field of every post-mortem at each build).
    for word, n in Counter(_CAMEL_WORD.findall(text)).items():
        if not _ACRONYM.fullmatch(word):
            counts[(word.lower(), "cap")] += n
    if camel_only:
        return counts
    for word, n in Counter(_MID_SENTENCE_WORD.findall(text)).items():
        if _CAMEL.search(word) or _ACRONYM.fullmatch(word):
            continue
        counts[(word.lower(), "cap" if word[0].isupper() else "lower")] += n
    return counts
