"""Cluster labels as people name a problem: the phrases the members' authors wrote in common.

A recurring problem is labelled "certificate expiry" or "integer id overflow", not with three
stemmed top terms. The label is made of *phrases the members share as their authors wrote
them*:

1. **Candidates.** From each member: its tags and trigger (kebab-case terms split into words:
   ``cert-expiry`` -> "cert expiry"), and the word runs of its title, summary, ``root_cause``
   and *Root cause* / *Trigger* sections, cut at punctuation and at stop words (the candidate
   phrases of RAKE, Rose et al. 2010, "Automatic keyword extraction from individual
   documents"), every run of one to :data:`MAX_WORDS` consecutive words. Words that are names
   (:attr:`generator.similarity.SimilarityIndex.names`: companies, products, vendors), numbers
   and post-mortem boilerplate are never part of a phrase.
2. **Matching.** Two phrases are the same when their words have the same Snowball stems
   (Porter's English stemmer, revised: ``snowballstemmer``), so "certificates expired" and
   "certificate expiring" count as one phrase.
3. **Score.** A phrase counts once per member that wrote it (its *support*); only phrases at
   least two members share, and at least :data:`MIN_SHARE` of them, are kept. Score =
   support share x mean IDF of its words in the whole corpus (a phrase every post-mortem uses
   says nothing) x a bonus of :data:`LENGTH_BONUS` per extra word (a longer phrase as many
   members wrote is the better name). Ties: higher support, then alphabetical.
4. **Label.** The best phrase, then the next ones that add a new word, until the label holds
   :data:`LABEL_WORDS` words or :data:`LABEL_PHRASES` phrases; never two forms of one word
   (:func:`same_word`). Each word is shown in the form the members wrote most often in running
   text (``BGP``, ``TLS``, ``id``), the singular when it was written, lower case when it only
   appears in tags.

Deterministic: the same members (in date order) give the same label.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

MAX_WORDS = 3
"""Longest candidate phrase, in words."""

MIN_SHARE = 0.5
"""A phrase must be written by at least this share of the members (and by two of them)."""

LENGTH_BONUS = 0.25
"""Score bonus per word beyond the first: "certificate expiry" (2 of 4 members) against
"certificate" (4 of 4) is 0.5 x 1.25 against 1.0, so the longer phrase wins only when most
members wrote it."""

LABEL_WORDS = 4
"""A label holds at most this many words."""

LABEL_PHRASES = 2
"""... and at most this many phrases (joined by ", ")."""

MAX_MEMBERS = 60
"""A cluster with more members is labelled from this many of them, spread evenly over its
members in date order (the label stays linear in the corpus, deterministic)."""

GENERIC_WORDS = frozenset("""
    service services system systems platform feature features functionality data bit bits byte bytes
    defect defects bug bugs software hardware code issue issues problem problems error errors
    failure failures failed fail fault faults faulty change changes changed update updates updated
    production server servers host hosts machine machines node nodes instance instances
    request requests application applications app apps component components process processes
    thing things part parts set value values state way load traffic
    late early slow high low full partial wrong bad unexpected
    second seconds minute minutes hour hours day days week weeks month months year years
    """.split())
"""Words that name no particular problem: every kind of incident has a service, a feature,
data, a defect, a software bug, an error, a change. A label phrase made of these words only
("service", "software bug", "data, late") is never chosen; they may stand in a phrase beside a
word that does name the problem ("DNS change", "leap second"). Time units are here rather than
in the stop words so that "leap second" can name a problem while "second" cannot."""

def is_generic(word: str) -> bool:
    """Is ``word`` (any case, any form) one of :data:`GENERIC_WORDS`? By Snowball stem, so
    "Services" and "defective" count too."""
    return stem(word) in _generic_stems()


@lru_cache(maxsize=1)
def _generic_stems() -> frozenset:
    return frozenset(stem(w) for w in GENERIC_WORDS)


TIME_UNITS = frozenset("second seconds minute minutes hour hours day days week weeks month months year years".split())
"""Removed from the stop words for labels (they are stop words for TF-IDF): see :data:`GENERIC_WORDS`."""

CAUSE_FIELDS = ("root_cause", "section_root_cause", "section_trigger")
"""The fields that say what went wrong: the trigger (kebab-case) and the root cause (front
matter and sections). A phrase the members share *there* names the problem better than one
they share in their titles and summaries (which also tell the impact): it gets
:data:`CAUSE_BONUS`."""

CAUSE_BONUS = 1.5
"""Score factor of a phrase that at least the needed share of the members (:data:`MIN_SHARE`)
wrote in their cause fields (:data:`CAUSE_FIELDS`)."""

SECOND_PHRASE_SHARE = 0.5
"""A label's second phrase must score at least this share of the first: a weak second phrase
(a word the members happen to share) makes the name longer, not clearer."""

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9']*|[0-9]+[A-Za-z][A-Za-z0-9]*")
_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”‘’/|<>=+*#`~]|\s[-–—]\s|\n")
_TEXT_FIELDS = ("title", "summary", "root_cause", "section_root_cause", "section_trigger")


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball (Porter 2) English stem of a lower-cased word."""
    return _stemmer().stemWord(word.lower())


def same_word(a: str, b: str) -> bool:
    """Are ``a`` and ``b`` two forms of one word (for labels and shown terms)?

    True when their Snowball stems are equal (``certificates``/``certificate``,
    ``expired``/``expiration``) or one stem, of at least four letters, begins the other
    (``expiry``/``expired``: ``expiri``/``expir``; ``config``/``configuration``). Used only to
    leave a second form out of a list, where folding too much costs one shown word at most.
    """
    sa, sb = stem(a), stem(b)
    if sa == sb:
        return True
    short, long_ = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    return len(short) >= 4 and long_.startswith(short)


def distinct_forms(words, limit: int | None = None) -> list[str]:
    """``words`` in order without a later form of a word already kept (:func:`same_word`)."""
    out: list[str] = []
    for word in words:
        parts = word.split()
        if any(same_word(p, q) for kept in out for q in kept.split() for p in parts):
            continue
        out.append(word)
        if limit is not None and len(out) >= limit:
            break
    return out


def _runs(text: str, stop: frozenset, names: frozenset, memo: dict | None = None) -> list[list[str]]:
    """Runs of consecutive content words of ``text`` (as written), cut at punctuation, stop
    words, numbers and names. ``memo`` caches the per-word decision (same ``stop``/``names``)."""
    from .similarity import s_stem

    memo = {} if memo is None else memo
    runs: list[list[str]] = []
    for piece in _BREAK.split(text or ""):
        run: list[str] = []
        for word in _WORD.findall(piece):
            word = word.strip("'")
            lower = word.lower()
            keep = memo.get(lower)
            if keep is None:
                folded = s_stem(lower)
                keep = memo[lower] = not (len(lower) < 2 or lower in stop or folded in stop or folded in names)
            if not keep:
                if run:
                    runs.append(run)
                run = []
                continue
            run.append(word)
        if run:
            runs.append(run)
    return runs


def _phrases(runs: list[list[str]]):
    for run in runs:
        for n in range(1, MAX_WORDS + 1):
            for i in range(len(run) - n + 1):
                yield run[i:i + n]


def member_phrases(pm, stop: frozenset, names: frozenset, memo: dict | None = None, causes: set | None = None
                   ) -> tuple[set[tuple[str, ...]], Counter]:
    """The candidate phrases of one post-mortem: ``(keys, forms)``; a key is the tuple of the
    words' stems, ``forms`` counts ``(stem, written form)`` over running text. ``causes``, when
    given, gets the keys found in the cause fields (:data:`CAUSE_FIELDS`)."""
    from .similarity import document_fields

    fields = document_fields(pm)
    keys: set[tuple[str, ...]] = set()
    forms: Counter = Counter()
    kebab = [(t.split("-"), False) for t in pm.tags] + ([(pm.trigger.split("-"), True)] if pm.trigger else [])
    for words, cause in kebab:
        runs = _runs(" ".join(words), stop, names, memo)
        for phrase in _phrases(runs):
            key = tuple(stem(w) for w in phrase)
            keys.add(key)
            if cause and causes is not None:
                causes.add(key)
        for run in runs:
            for w in run:
                forms[(stem(w), w.lower())] += 0  # known, but no vote: tags are lower case
    for name in _TEXT_FIELDS:
        text = fields.get(name) or ""
        cause = name in CAUSE_FIELDS and causes is not None
        for run in _runs(text, stop, names, memo):
            for i, w in enumerate(run):
                # A capital at the start of a run may be the start of a sentence.
                first = i == 0 and w[:1].isupper() and not w.isupper()
                forms[(stem(w), w.lower() if first else w)] += 1
            for phrase in _phrases([run]):
                key = tuple(stem(w) for w in phrase)
                keys.add(key)
                if cause and len(key) > 1:
                    causes.add(key)
    return keys, forms


class LabelVocabulary:
    """Document frequencies of word stems over the whole corpus, for :func:`cluster_label`.

    ``canonical`` folds a stem into the shortest stem of at least :data:`PREFIX_MIN` letters
    that begins it (``expiri`` -> ``expir``, ``configur`` -> ``config``), so every form of a
    word counts as one; ``df`` is the number of post-mortems using any form of it.
    """

    def __init__(self, stems_by_doc: list[set[str]]) -> None:
        every = sorted({s for doc in stems_by_doc for s in doc}, key=lambda x: (len(x), x))
        canon: dict[str, str] = {}
        heads: dict[str, str] = {}
        for s in every:
            found = None
            for k in range(PREFIX_MIN, len(s)):
                head = heads.get(s[:k])
                if head is not None:
                    found = head
                    break
            canon[s] = found or s
            if found is None and len(s) >= PREFIX_MIN:
                heads[s] = s
        self._canon = canon
        self.n = len(stems_by_doc)
        df: Counter = Counter()
        for doc in stems_by_doc:
            df.update({canon[s] for s in doc})
        self._df = df

    @classmethod
    def from_index(cls, index) -> "LabelVocabulary":
        """From a built :class:`~generator.similarity.SimilarityIndex` (its term presence)."""
        import numpy as np

        if not index.vocabulary:
            return cls([set() for _ in index.ids])
        present = index.term_matrix().tocsr()
        word_stem = [stem(index.tokenizer.display(t)) for t in index.vocabulary]
        docs = []
        for i in range(present.shape[0]):
            cols = present.indices[present.indptr[i]:present.indptr[i + 1]]
            docs.append({word_stem[j] for j in np.asarray(cols).tolist()})
        return cls(docs)

    def canonical(self, s: str) -> str:
        found = self._canon.get(s)
        if found is not None:
            return found
        for k in range(PREFIX_MIN, len(s)):
            if self._canon.get(s[:k]) == s[:k]:
                return s[:k]
        return s

    def df(self, s: str) -> int:
        return self._df.get(self.canonical(s), 0)


PREFIX_MIN = 5
"""Stems fold into a shorter stem that begins them only from this length (``expir``)."""


def cluster_label(members, vocabulary: LabelVocabulary, stop: frozenset, names: frozenset = frozenset()) -> str:
    """The label of a cluster (see the module docstring).

    Args:
        members: the cluster's post-mortems (date order: a large cluster is read from
            :data:`MAX_MEMBERS` of them, spread evenly).
        vocabulary: document frequencies over the whole corpus (:class:`LabelVocabulary`).
        stop: words never in a phrase (stop words and boilerplate, lower case).
        names: terms (as :func:`generator.similarity.s_stem` gives them) that are names.

    Returns:
        The label ("certificate expiry", "BGP route leak, hijack"), or "" when the members share
        no phrase.

    A phrase's score is ``share * ln(share / outside)``: ``share`` the part of the members
    that wrote it, ``outside`` the part of the other post-mortems using all of its words
    (smoothed by one), so a phrase the members have in common *and* the rest of the corpus does
    not use names the problem (the differential cluster labelling of Manning et al.,
    *Introduction to Information Retrieval*, 17.7); longer phrases get :data:`LENGTH_BONUS`.
    """
    canon = vocabulary.canonical
    per_member = []
    forms: Counter = Counter()
    members = list(members)
    if len(members) > MAX_MEMBERS:
        # A large cluster is labelled from MAX_MEMBERS of its members spread evenly over its
        # (date) order: shares of a few hundred write-ups of one problem change little.
        step = len(members) / MAX_MEMBERS
        members = [members[int(i * step)] for i in range(MAX_MEMBERS)]
    memo: dict = {}
    stop = stop - TIME_UNITS
    generic = {canon(stem(w)) for w in GENERIC_WORDS}
    cause_support: Counter = Counter()
    for pm in members:
        causes: set = set()
        keys, f = member_phrases(pm, stop, names, memo, causes)
        per_member.append({tuple(canon(s) for s in key) for key in keys})
        cause_support.update({tuple(canon(s) for s in key) for key in causes})
        for (s, form), c in f.items():
            forms[(canon(s), form)] += c
    support: Counter = Counter()
    for keys in per_member:
        support.update(keys)
    n = len(members)
    rest = max(1, vocabulary.n - n)
    need = max(2, math.ceil(MIN_SHARE * n))
    scored = []
    for key, count in support.items():
        if count < need or len(set(key)) < len(key) or all(s in generic for s in key):
            continue
        inside_each = [support.get((s,), count) for s in key]
        outside = min(max(0, vocabulary.df(s) - c) for s, c in zip(key, inside_each) if s not in generic)
        share = count / n
        value = share * math.log(share / ((outside + 1) / (rest + 1))) * (1 + LENGTH_BONUS * (len(key) - 1))
        if value <= 0:
            continue
        if cause_support[key] >= need:
            value *= CAUSE_BONUS
        scored.append((-round(value, 9), -count, key))
    scored.sort()
    from .similarity import s_stem

    shown: dict[str, str] = {}
    for (s, form), c in sorted(forms.items()):
        best = shown.get(s)
        if best is None or c > forms[(s, best)] or (c == forms[(s, best)] and form < best):
            shown[s] = form
    for s, form in shown.items():
        # A plural is shown as its singular when the members wrote that too ("retry", not
        # "retries"), in running text or in a tag.
        singular = s_stem(form.lower())
        if singular != form.lower():
            for candidate in (singular, singular.upper()):
                if (s, candidate) in forms:
                    shown[s] = candidate
                    break
    chosen: list[tuple[str, ...]] = []
    words = 0
    for value, _, key in scored:
        if len(chosen) >= LABEL_PHRASES or words >= LABEL_WORDS:
            break
        if chosen and value > SECOND_PHRASE_SHARE * scored[0][0]:  # (values are negated)
            break
        if words + len(key) > LABEL_WORDS:
            continue
        text = [shown.get(s, s) for s in key]
        if any(same_word(a, b) for phrase in chosen for b in (shown.get(s, s) for s in phrase) for a in text):
            continue
        chosen.append(key)
        words += len(key)
    written = set().union(*per_member) if per_member else set()
    if len(chosen) == 2 and len(chosen[0]) + len(chosen[1]) <= MAX_WORDS:
        # Two phrases one member wrote side by side are shown as that phrase ("certificate
        # expiry"), in the order it was written.
        for joined in (chosen[0] + chosen[1], chosen[1] + chosen[0]):
            if joined in written:
                chosen = [joined]
                break
    return ", ".join(" ".join(shown.get(s, s) for s in key) for key in chosen)
