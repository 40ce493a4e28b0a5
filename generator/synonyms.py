"""The field's words for the same thing, so that search finds an incident by any of them.

Post-mortems name one failure many ways: a *leap second* is "an extra second added to UTC", a
*certificate expiry* is "the SSL certificate lapsed", *OOM* is "out of memory". The site's
search (Material's lunr, Zensical's) matches words, not meanings, so a responder who types
"leap second" never finds the incident that says "extra second". A :class:`Synonyms` list
closes that gap at index time, the way a search engine's synonym filter does: each
post-mortem page carries, hidden from view but indexed, the other terms of every group one of
whose terms it uses (:func:`generator.pages.card_html`).

Groups are equivalence classes of terms (one to four words each). The built-in list
(:data:`BUILTIN`) covers the field's common names for the same failure; the ``synonyms`` option
adds groups of one's own and ``builtin_synonyms: false`` drops the built-in list (README,
"Search"). :func:`canonical_terms` lets the vocabulary check (:mod:`generator.vocabulary`) treat
``certificate-expiry`` and ``certificate-lapsed`` as the same trigger.

Matching is on words: lower case, split on anything that is not a letter or digit (so
``out-of-memory`` is ``out of memory``), and a plural ``s`` dropped from words longer than three
letters (``certificates lapse`` matches ``certificate lapses``). It reads each text once: one
pass over its words, with a look-up of the words that start a term (linear in the text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .labels import stem

BUILTIN: tuple[tuple[str, ...], ...] = (
    # Time and calendars
    ("leap second", "extra second", "inserted second", "leap-second insertion"),
    ("leap year", "leap day", "29 february", "february 29", "day 366", "366th day"),
    ("clock skew", "clock drift", "time drift"),
    ("clock step", "clock stepped", "clock jump", "time jump", "clock went backwards"),
    ("ntp", "network time protocol", "time sync", "clock sync"),
    ("year 2038", "y2038", "2038 problem", "epoch overflow"),
    ("daylight saving time", "dst", "summer time", "clock change"),
    # Certificates and TLS
    ("certificate expiry", "certificate expired", "expired certificate", "cert expiry", "expired cert",
     "tls expiry", "ssl expiry", "certificate lapse", "certificate lapsed", "lapsed certificate",
     "cert lapse", "cert lapsed",
     "certificate validity ended", "root ca expiry", "root expired"),
    ("tls", "ssl"),
    ("certificate renewal", "cert renewal", "certificate rotation", "cert rotation", "acme renewal"),
    # Resources
    ("oom", "out of memory", "oom killer", "oom killed", "oomkilled", "memory exhaustion",
     "ran out of memory"),
    ("disk full", "out of disk space", "no space left on device", "enospc", "disk space exhausted",
     "volume full", "filesystem full"),
    ("cpu exhaustion", "cpu saturation", "high cpu", "cpu spike", "cpu spin", "pegged cpu", "cpu pegged",
     "100% cpu"),
    ("thread exhaustion", "thread limit", "too many threads", "max threads"),
    ("connection pool exhaustion", "connection pool exhausted", "pool exhaustion", "too many connections",
     "max connections"),
    ("file descriptor exhaustion", "too many open files", "emfile", "fd limit"),
    ("integer overflow", "int overflow", "integer wraparound", "wraparound", "wrap around", "int max",
     "32-bit overflow", "signed 32-bit", "id exhaustion"),
    # Traffic and load
    ("thundering herd", "retry storm", "cache stampede", "dogpile", "dog-pile"),
    ("ddos", "denial of service", "distributed denial of service", "dos attack"),
    ("rate limit", "rate limiting", "rate limited", "throttling", "throttled"),
    ("traffic surge", "traffic spike", "load spike", "flash crowd"),
    # Networks
    ("route leak", "bgp leak", "leaked routes"),
    ("bgp hijack", "prefix hijack", "route hijack", "hijacked prefix"),
    ("network partition", "netsplit"),
    ("load balancer", "lb"),
    ("cdn", "content delivery network"),
    ("waf", "web application firewall"),
    # Changes and operations
    ("config change", "configuration change", "config push", "configuration push", "bad config",
     "misconfiguration", "config error", "configuration error"),
    ("bad deploy", "bad deployment", "faulty deployment", "bad release", "bad rollout", "faulty release",
     "faulty update", "bad update"),
    ("rollback", "roll back", "revert", "reverted"),
    ("typo", "fat finger", "fat-finger", "mistyped", "mistyped command"),
    ("human error", "operator error", "manual error"),
    ("planned maintenance", "scheduled maintenance", "maintenance window"),
    ("failover", "fail over", "fail-over", "switchover"),
    ("data loss", "lost data", "data deleted", "deleted data"),
    # Power and facilities
    ("power outage", "power loss", "power failure", "loss of power", "utility power failure", "blackout"),
    ("cooling failure", "chiller failure", "hvac failure", "overheating", "heatwave", "heat wave"),
    ("generator failure", "generators failed", "backup power failure", "ups failure"),
    # Security
    ("credential leak", "leaked credentials", "leaked credential", "secret leak", "exposed secret",
     "token leak", "leaked token", "stolen token", "token theft"),
    ("account takeover", "compromised account", "hijacked account", "ato"),
    ("buffer overrun", "buffer overflow", "heap overflow", "out of bounds write"),
    # Software
    ("regex", "regular expression", "regexp"),
    ("catastrophic backtracking", "regex backtracking", "redos"),
    ("kubernetes", "k8s"),
    ("postgres", "postgresql"),
    ("elasticsearch", "elastic search"),
    ("segfault", "segmentation fault", "sigsegv"),
    ("boot loop", "crash loop", "crashloop", "crashloopbackoff", "restart loop"),
    ("replication lag", "replica lag", "replication delay"),
    # Incident vocabulary
    ("ttr", "time to resolve", "mttr", "time to recovery", "time to restore"),
    ("ttd", "time to detect", "mttd", "detection time"),
    ("runbook", "playbook"),
    ("near miss", "near-miss", "close call"),
)
"""The built-in groups: terms an SRE uses for the same failure, one group a line. Words that are
the same in every context only (``tls``/``ssl``, ``oom``/``out of memory``), never words whose
meaning depends on the sentence (``leak`` alone, ``down``)."""

MAX_TERM_WORDS = 6
MAX_TERM_LENGTH = 60

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """``text`` as matching words: lower case, letters and digits only, a plural ``s`` dropped
    from words of more than three letters (not from ``ss``): ``"SSL Certificates"`` ->
    ``["ssl", "certificate"]``."""
    return [w[:-1] if w[-1] == "s" and len(w) > 3 and w[-2] != "s" else w for w in _WORD.findall(text.lower())]


class Synonyms:
    """Groups of equivalent terms, ready to match against texts.

    Args:
        groups: each a sequence of two or more terms (a term is one to :data:`MAX_TERM_WORDS`
            words); a term in two groups joins them into one.

    Raises:
        ValueError: a group with fewer than two distinct terms, or a term with no word, more
            than :data:`MAX_TERM_WORDS` words or more than :data:`MAX_TERM_LENGTH` characters
            (the message names it).
    """

    def __init__(self, groups: Iterable[Sequence[str]]):
        self.groups: list[list[str]] = []
        self._group_of: dict[tuple[str, ...], int] = {}
        for group in groups:
            terms = [str(t).strip() for t in group]
            keys = []
            for term in terms:
                key = tuple(words(term))
                if not key or len(key) > MAX_TERM_WORDS or len(term) > MAX_TERM_LENGTH:
                    raise ValueError(f"synonym {term!r}: a term is 1 to {MAX_TERM_WORDS} words of letters or digits "
                                     f"and at most {MAX_TERM_LENGTH} characters")
                keys.append(key)
            if len(set(keys)) < 2:
                raise ValueError(f"synonym group {list(terms)!r}: needs two or more different terms")
            joined = sorted({self._group_of[k] for k in keys if k in self._group_of})
            if joined:  # a term already known: merge into (the first of) its groups
                target = joined[0]
                for other in joined[1:]:
                    self.groups[target] += [t for t in self.groups[other] if t not in self.groups[target]]
                    for key, index in self._group_of.items():
                        if index == other:
                            self._group_of[key] = target
                    self.groups[other] = []
            else:
                target = len(self.groups)
                self.groups.append([])
            for term, key in zip(terms, keys):
                if key not in self._group_of or self._group_of[key] == target:
                    if term not in self.groups[target] and key not in {tuple(words(t)) for t in self.groups[target]}:
                        self.groups[target].append(term)
                    self._group_of[key] = target
        self._by_bag = {tuple(sorted(key)): index for key, index in self._group_of.items()}
        self._term_words = {term: frozenset(words(term)) for group in self.groups for term in group}
        self._starts: dict[str, int] = {}
        for key in self._group_of:
            self._starts[key[0]] = max(self._starts.get(key[0], 0), len(key))

    def __bool__(self) -> bool:
        return bool(self._group_of)

    def __eq__(self, other) -> bool:
        return isinstance(other, Synonyms) and self.groups == other.groups

    def __repr__(self) -> str:
        return f"Synonyms({[g for g in self.groups if g]!r})"

    def matched_groups(self, text: str | list[str]) -> dict[int, set[tuple[str, ...]]]:
        """The groups with a term in ``text`` (or in its :func:`words`): ``{group index: {terms
        found, as word tuples}}``."""
        found: dict[int, set[tuple[str, ...]]] = {}
        if not self._starts:
            return found
        tokens = words(text) if isinstance(text, str) else text
        starts = self._starts
        group_of = self._group_of
        for i, word in enumerate(tokens):
            longest = starts.get(word)
            if not longest:
                continue
            for n in range(1, longest + 1):
                key = tuple(tokens[i:i + n])
                index = group_of.get(key)
                if index is not None:
                    found.setdefault(index, set()).add(key)
        return found

    def expansions(self, text: str, indexed: str | None = None) -> list[str]:
        """The terms search should also find ``text`` by: the terms of each group that has a
        term in ``text``, in group order, then term order, leaving out a term whose every word
        ``indexed`` (the part of the text the search index has; default ``text``) or an earlier
        term already has (search engines match words, so "expired certificate" adds nothing to
        "certificate expired").

        ``Synonyms([("leap second", "extra second")]).expansions("an extra second was added")``
        is ``["leap second"]``.
        """
        return self.terms(text, indexed)[1]

    def terms(self, text: str, indexed: str | None = None) -> tuple[list[str], list[str]]:
        """``(group_terms(text), expansions(text, indexed))`` in one pass over the words: every
        term of the matched groups, and those the indexed text lacks. With ``indexed``, ``text``
        is taken as ``indexed`` followed by more text (its words are read once)."""
        if indexed is None:
            tokens = words(text)
            known = set(tokens)
        else:
            extra = text[len(indexed):] if text.startswith(indexed) else text
            first = words(indexed)
            known = set(first)
            tokens = first + words(extra) if extra is not text else words(text)
        matched = self.matched_groups(tokens)
        every: list[str] = []
        missing: list[str] = []
        for index in sorted(matched):
            for term in self.groups[index]:
                every.append(term)
                term_words = self._term_words[term]
                if not term_words <= known:
                    missing.append(term)
                    known |= term_words
        return every, missing

    def group_terms(self, text: str) -> list[str]:
        """Every term of each group that has a term in ``text`` (those it has too), in group
        order: what a boosted search field holds, so that every page of a group ranks alike
        whichever of the group's words it uses."""
        return self.terms(text)[0]

    def canonical(self, term: str) -> str | None:
        """The first term of the group ``term`` belongs to (as a whole, its words in any order:
        ``cert expired`` is ``expired cert``), or ``None``."""
        key = tuple(words(term))
        index = self._group_of.get(key)
        if index is None:
            index = self._by_bag.get(tuple(sorted(key)))
        return None if index is None else self.groups[index][0]


def canonical_terms(value: str, synonyms: Synonyms) -> tuple[str, ...]:
    """A kebab-case value (service, tag, trigger) as comparable words: its words, with every
    run of words that is a synonym replaced by its group's first term, the other words reduced
    to their Snowball (Porter 2) English stem (:func:`generator.labels.stem`), and sorted
    (``certificate-lapsed`` and ``expired-certificate`` both give ``("certificate expiry",)``;
    ``dns-proxies`` and ``dns-proxy`` both give ``("dns", "proxi")``; ``deploy`` and
    ``deployment`` both give ``("deploy",)``).

    The stems make values comparable, they do not spell them: both sides of a comparison are
    stemmed. Only for values: texts keep :func:`words`, which the browser's search mirrors."""
    tokens = words(value.replace("-", " "))
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for n in range(min(MAX_TERM_WORDS, len(tokens) - i), 0, -1):
            name = synonyms.canonical(" ".join(tokens[i:i + n]))
            if name is not None:
                out.append(name)
                i += n
                break
        else:
            out.append(stem(tokens[i]))
            i += 1
    return tuple(sorted(set(out)))


def build(extra: Iterable[Sequence[str]] = (), builtin: bool = True) -> Synonyms:
    """The synonyms a site uses: :data:`BUILTIN` (unless ``builtin`` is false) and ``extra``
    (the ``synonyms`` option), merged where they share a term.

    Raises:
        ValueError: a group or term of ``extra`` is malformed (:class:`Synonyms`).
    """
    return Synonyms([*(BUILTIN if builtin else ()), *extra])
