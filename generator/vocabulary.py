"""Vocabulary that stays clean: services, tags and triggers the corpus already uses.

The reports count incidents per service and per trigger, and the site lists them; a value
that means the same as an existing one but is spelled differently (``checkout-apii``,
``certificate-validity-ended`` next to ``certificate-expiry``) splits those counts and hides a
recurrence. This module finds such values so that ``pmkb validate`` can say *did you mean*,
``pmkb new`` can offer the values in use, and ``pmkb vocabulary`` can list them.

Two values are **close** (:func:`close_values`) when

- they are the same words once plurals are folded, word order ignored and every synonym
  replaced by its group's first term (:func:`generator.synonyms.canonical_terms`:
  ``certificate-lapsed`` is ``expired-certificate`` is ``certificate-expiry``), or
- one's words contain all of the other's and those include a synonym of several words
  (``embedded-certificate-validity-ended`` and ``certificate-expiry``; but not ``api`` and
  ``api-gateway``, two services), or
- one is a typo of the other: one edit (a letter inserted, deleted or substituted, two
  neighbours swapped), the same first letter, both of four characters or more, and not an edit
  of digits only (``db-1`` and ``db-2`` are two services; ``api``/``apm`` are too short to
  tell; ``cooling`` and ``tooling`` differ in the first letter, which typing rarely gets
  wrong). The search for typos is a deletion index (SymSpell's idea: each value and its
  one-character deletions), linear in the number of values, not a comparison of every pair.

A value is **new to the corpus** when no other post-mortem file uses it; only new values are
checked against the rest (a value used twice is the corpus's vocabulary already). When the
``vocabulary`` option declares the allowed values of a field, that list is the vocabulary: a
value outside it is reported whatever the corpus uses.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .synonyms import Synonyms, canonical_terms

KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""The v1 format's kebab-case (the schema's ``$defs.kebab`` pattern), which services, tags and
triggers follow: use ``KEBAB.fullmatch``."""

FIELDS = ("services", "tags", "trigger")
"""The front-matter fields whose values form the vocabulary (``trigger`` is one value)."""

OPTION_KEYS = {"services": "services", "tags": "tags", "trigger": "triggers"}
"""Field -> key of the ``vocabulary`` option that declares its allowed values."""

SINGULAR = {"services": "service", "tags": "tag", "trigger": "trigger"}

MIN_TYPO_LENGTH = 4
"""Values shorter than this are never taken for typos of each other (``api``/``apm``)."""

CROWDED_KEY = 16
"""A one-deletion key shared by more values than this (``svc-aaaa``, ``svc-aaab``, ... all one
letter apart) suggests nothing: such names are a numbering, not typos, and the look-up stays
linear in the number of values whatever the corpus."""


def field_values(data) -> dict[str, list[tuple[str, str]]]:
    """The vocabulary values of one front matter: ``{field: [(field path, value), ...]}``
    (``("services[1]", "edge-proxy")``, ``("trigger", "config-change")``); values that are not
    strings are left to the schema check."""
    out: dict[str, list[tuple[str, str]]] = {}
    if not isinstance(data, dict):
        return out
    for name in FIELDS:
        value = data.get(name)
        if name == "trigger":
            if isinstance(value, str) and value.strip():
                out[name] = [(name, value.strip())]
        elif isinstance(value, list):
            out[name] = [(f"{name}[{i}]", v.strip()) for i, v in enumerate(value) if isinstance(v, str) and v.strip()]
    return out


def one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one edit: a character inserted, deleted or substituted, or
    two neighbours swapped (``checkout-api`` / ``checkuot-api``)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) != len(b):
        short, long = (a, b) if len(a) < len(b) else (b, a)
        i = next((k for k, (x, y) in enumerate(zip(short, long)) if x != y), len(short))
        return short[i:] == long[i + 1:]
    diff = [k for k, (x, y) in enumerate(zip(a, b)) if x != y]
    return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                              and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])


def _deletions(value: str) -> set[str]:
    return {value[:i] + value[i + 1:] for i in range(len(value))}


def _digits_only(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ only in their digits (``db-1``/``db-2``, ``ec2``/``ec3``)."""
    strip = str.maketrans("", "", "0123456789")
    return a.translate(strip) == b.translate(strip)


class Index:
    """The values in use of one field, for "did you mean" look-ups.

    Args:
        counts: value -> number of post-mortem files that use it.
        synonyms: the synonym groups that make two values the same words.
    """

    def __init__(self, counts: Mapping[str, int], synonyms: Synonyms):
        self.counts = dict(counts)
        self.synonyms = synonyms
        self._by_words: dict[tuple[str, ...], list[str]] = defaultdict(list)
        self._by_phrase: dict[str, set[str]] = defaultdict(set)
        self._words: dict[str, tuple[str, ...]] = {}
        self._by_deletion: dict[str, list[str]] = defaultdict(list)
        for value in self.counts:
            terms = self._words[value] = canonical_terms(value, synonyms)
            self._by_words[terms].append(value)
            for term in terms:
                if " " in term:  # a synonym group of several words
                    self._by_phrase[term].add(value)
            if len(value) >= MIN_TYPO_LENGTH:
                for key in _deletions(value) | {value}:
                    values = self._by_deletion[key]
                    if len(values) <= CROWDED_KEY:
                        values.append(value)

    def close_values(self, value: str) -> list[str]:
        """The values in use close to ``value`` (see the module), ``value`` itself left out;
        the same words first, then typos, each most used first, then alphabetically."""
        terms = canonical_terms(value, self.synonyms)
        same = [v for v in self._by_words.get(terms, []) if v != value]
        mine = set(terms)
        contained: set[str] = set()
        for term in mine:
            if " " in term:
                for other in self._by_phrase.get(term, ()):
                    theirs = set(self._words[other])
                    if other != value and other not in same and (mine <= theirs or theirs <= mine):
                        contained.add(other)
        typos: set[str] = set()
        if len(value) >= MIN_TYPO_LENGTH:
            for key in sorted(_deletions(value) | {value}):
                found = self._by_deletion.get(key, ())
                if len(found) > CROWDED_KEY:  # many values one letter apart: no typo to guess
                    continue
                typos.update(other for other in found if other != value and other[0] == value[0]
                             and len(other) >= MIN_TYPO_LENGTH and other not in same and other not in contained
                             and not _digits_only(value, other) and one_edit(value, other))
        order = lambda v: (-self.counts.get(v, 0), v)  # noqa: E731
        return sorted(same, key=order) + sorted(contained, key=order) + sorted(typos, key=order)


@dataclass
class Suggestion:
    """One vocabulary problem of one value.

    ``kind``: ``"near"`` (new to the corpus, close to values in use) or ``"unknown"`` (not in the
    declared list); ``close``: the suggested values, best first, with how many files use each
    (``None`` for a declared list).
    """

    field: str
    path: str
    value: str
    kind: str
    close: list[tuple[str, int | None]]


def vocabulary_counts(values_per_file: Iterable[Mapping[str, Sequence[tuple[str, str]]]]) -> dict[str, Counter]:
    """``{field: Counter(value -> number of files using it)}`` over the files' :func:`field_values`."""
    counts = {name: Counter() for name in FIELDS}
    for values in values_per_file:
        for name, pairs in values.items():
            counts[name].update({value for _, value in pairs})
    return counts


def check_values(values: Mapping[str, Sequence[tuple[str, str]]], counts: Mapping[str, Counter],
                 indexes: Mapping[str, Index], declared: Mapping[str, Sequence[str]]) -> list[Suggestion]:
    """The vocabulary problems of one file's ``values`` (:func:`field_values`).

    Args:
        counts: :func:`vocabulary_counts` of the whole corpus, this file included.
        indexes: an :class:`Index` per field of the corpus's values.
        declared: the ``vocabulary`` option by field (``services``, ``tags``, ``trigger``): the
            allowed values; a field not in it is checked against the corpus.
    """
    out: list[Suggestion] = []
    for name, pairs in values.items():
        allowed = declared.get(name)
        for path, value in pairs:
            if allowed is not None:
                if value not in allowed:
                    close = Index(dict.fromkeys(allowed, 0), indexes[name].synonyms).close_values(value)
                    out.append(Suggestion(name, path, value, "unknown", [(v, None) for v in close[:3]]))
                continue
            if counts[name][value] > 1:
                continue
            close = [v for v in indexes[name].close_values(value) if _worth_suggesting(v)]
            if close:
                out.append(Suggestion(name, path, value, "near", [(v, counts[name][v]) for v in close[:3]]))
    return out




def _worth_suggesting(other: str) -> bool:
    """Whether ``other`` (a value close to a new one) can be suggested: one the format accepts
    (``Checkout API`` is a field-format error of its own file, not a fix for ``checkout-api``)."""
    return bool(KEBAB.fullmatch(other))


def message(s: Suggestion, declared_count: int = 0) -> tuple[str, str]:
    """``(message, fix)`` of a :class:`Suggestion`, as ``pmkb validate`` prints them."""
    what = SINGULAR[s.field]
    key = OPTION_KEYS[s.field]
    if s.kind == "unknown":
        text = (f"{what} {s.value!r} is not one of the {declared_count} allowed {key} "
                f"(option vocabulary.{key} in mkdocs.yml)")
        if s.close:
            names = " or ".join(repr(v) for v, _ in s.close)
            return text, f"did you mean {names}? If it is a new {what}, add it to vocabulary.{key}"
        return text, f"use one of the allowed {key}, or add it to vocabulary.{key}"
    if s.close[0][1] == 1 and KEBAB.fullmatch(s.value):
        # the best match is new too and both are valid: "did you mean" each way would swap them
        other = s.close[0][0]
        return (f"{what} {s.value!r} is new to the corpus, and so is the close {other!r} (1 other post-mortem)",
                f"write the same {what} in both post-mortems, {s.value!r} or {other!r}; keep both only if they "
                f"are different {key}: the reports count each {what} apart")
    used = ", ".join(f"{v!r} ({n} post-mortem{'s' if n != 1 else ''})" for v, n in s.close)
    return (f"{what} {s.value!r} is new to the corpus and close to {used}",
            f"did you mean {s.close[0][0]!r}? Keep {s.value!r} only if it is a different {what}: "
            f"the reports count each {what} apart")


def corpus_indexes(counts: Mapping[str, Counter], synonyms: Synonyms) -> dict[str, Index]:
    """An :class:`Index` per field of :func:`vocabulary_counts`."""
    return {name: Index(counts[name], synonyms) for name in FIELDS}


def near_duplicate_groups(counts: Counter, synonyms: Synonyms) -> list[list[str]]:
    """The values of one field that are close to each other (:class:`Index`), joined into
    groups (a close to b, b close to c: one group), each most used first; groups with the most
    files first. What ``pmkb vocabulary --near`` shows, to tidy a corpus."""
    index = Index(counts, synonyms)
    parent = {v: v for v in counts}

    def root(v: str) -> str:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for value in counts:
        for other in index.close_values(value):
            parent[root(other)] = root(value)
    groups: dict[str, list[str]] = defaultdict(list)
    for value in counts:
        groups[root(value)].append(value)
    out = [sorted(g, key=lambda v: (-counts[v], v)) for g in groups.values() if len(g) > 1]
    return sorted(out, key=lambda g: (-sum(counts[v] for v in g), g[0]))
