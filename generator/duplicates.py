"""Possible same incident: two post-mortems that describe one incident, not two.

A *duplicate* in the sense of ``pmkb review``'s 0.65 threshold is a near copy. A second
write-up of the same incident by another author (the status-page account beside the
engineering one, an import from the incident tool beside the wiki page) shares far fewer
words: measured on 26 such pairs (``benchmarks/same_incident_threshold.py``) the TF-IDF
scores run from 0.34 to 0.75, and the 0.65 duplicate threshold flags 6 of them. Other organisations' write-ups of
*their own* incident caused by the same external event (two companies on one day of a cloud
provider's outage, two companies hit by the 2012 leap second) are different incidents, and
they score as high as 0.55: the text alone cannot tell the two apart. What can is the structure:

* **the start**: both incidents started within :data:`START_WINDOW_DAYS` of each other (by
  ``started_at`` when both have it, else by ``date``);
* **what was affected**: they share a service whose name has a distinctive word
  (``block-storage`` has ``block``; ``public-api`` has none, see :data:`GENERIC_WORDS`), or a
  distinctive word of their service names (``redis-clusters`` / ``redis``). Authors are not
  structure: a team's on-call writes most of its post-mortems, so sharing an author says
  nothing about being one incident, and two authors of one incident are the case to find.

A pair is flagged when it started within the window and either shares structure and scores at
least :data:`SAME_INCIDENT_THRESHOLD`, or scores at least :data:`TEXT_ONLY_THRESHOLD` without
it; never when one of them names the other in ``related`` or ``not_related`` (its author has
judged them two incidents). Scores are the cosine similarities of :class:`generator.similarity.SimilarityIndex`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .model import Postmortem
from .settings import Settings

SAME_INCIDENT_THRESHOLD = 0.40
"""Lowest TF-IDF score of a possible same incident when the pair started within the window and
shares structure. Measured by ``benchmarks/same_incident_threshold.py`` on the shipped corpus
plus 26 second write-ups of its incidents by another author of the same organisation and 13
same-day write-ups by other organisations (``benchmarks/same_incident/``), with the similarity
engine of issue #12 and the shipped vocabulary of issue #16 (tidied services and triggers):
among pairs with shared structure, same-incident pairs score 0.343 to 0.729 and
different-incident pairs 0.236 to 0.395 (the highest: a CDN customer and a CDN's own account,
both naming a ``cdn`` service). The ranges overlap: 0.40, just above the highest
different-incident pair, flags 23 of the 26 same-incident pairs and none of the others. Tuned
on either half of a split by incident the threshold is 0.32 or 0.419 (before the vocabulary was
tidied: 0.337 to 0.749 against 0.235 to 0.397, halves 0.353 / 0.422). It depends on the TF-IDF engine: re-measure
when the similarity changes (``tests/test_duplicates.py`` fails when these figures move)."""

TEXT_ONLY_THRESHOLD = 0.65
"""Without shared structure a pair within the window is flagged only from this score, the
review's duplicate threshold: other organisations' write-ups of one external event reach 0.548
(the 2012 leap second), so a lower bar would flag them."""

START_WINDOW_DAYS = 1
"""Two starts at most this many days apart count as the same start (write-ups in different
UTC offsets put one incident on neighbouring dates; a timestamp pair is compared in hours:
at most 24 h apart)."""

GENERIC_WORDS = frozenset("""
api apis app apps application applications service services web site sites public internal system systems
platform server servers cluster clusters data prod production main core frontend backend front back end client
clients customer customers storage network networks infra infrastructure tool tools primary secondary unspecified
unknown
""".split())
"""Words of service names that say nothing about which system it is (``public-api``,
``web-app``, ``internal-network``): a shared service made only of them is not shared structure."""


@dataclass(frozen=True)
class SameIncident:
    """A possible same incident: ids ``a`` and ``b`` (``a`` the one asked about: new, or in the
    change), their TF-IDF ``score``, start ``days`` apart (0 for the same day), and the
    ``services`` and ``words`` (distinctive words of service names) they share."""

    a: str
    b: str
    score: float
    days: int
    services: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    a_date: dt.date | None = None
    b_date: dt.date | None = None
    b_title: str = ""
    b_path: str = ""

    @property
    def structure(self) -> bool:
        return bool(self.services or self.words)

    def why(self) -> str:
        """``same start day 2019-05-02, shared services api-gateway; score 0.41``."""
        when = (f"same start day {self.a_date.isoformat()}" if self.days == 0 and self.a_date
                else f"starts {self.days} day{'s' * (self.days != 1)} apart")
        shared = []
        if self.services:
            shared.append("services " + ", ".join(self.services))
        elif self.words:
            shared.append("service names with " + ", ".join(self.words))
        bar = SAME_INCIDENT_THRESHOLD if self.structure else TEXT_ONLY_THRESHOLD
        return f"{when}, " + (f"shared {'; '.join(shared)}" if shared else "no shared services") + \
            f"; score {self.score:.2f} >= {bar:.2f}"

    def describe(self) -> str:
        return f"{self.a} and {self.b}" + (f" ({self.b_path})" if self.b_path else "") + f": {self.why()}"

    def as_dict(self) -> dict:
        return {"id": self.a, "other": self.b, "other_title": self.b_title, "other_path": self.b_path,
                "score": round(self.score, 4), "days_apart": self.days, "shared_services": list(self.services),
                "shared_service_words": list(self.words),
                "reason": self.why()}


def days_apart(a: Postmortem, b: Postmortem) -> int | None:
    """Whole days between the two starts when they are within :data:`START_WINDOW_DAYS`
    (timestamps: 24 h per day of window), else ``None``."""
    if a.started_at is not None and b.started_at is not None:
        hours = abs((a.started_at - b.started_at).total_seconds()) / 3600
        if hours > 24 * START_WINDOW_DAYS:
            return None
        return abs((a.date - b.date).days)
    gap = abs((a.date - b.date).days)
    return gap if gap <= START_WINDOW_DAYS else None


def _words(service: str) -> set[str]:
    from .similarity import s_stem

    return {s_stem(w) for w in re.split(r"[-_]+", service.lower()) if w} - GENERIC_WORDS


def shared_structure(a: Postmortem, b: Postmortem) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(shared services with a distinctive word, shared distinctive words of service
    names)``, each sorted (words folded to the singular: ``packages`` / ``package``)."""
    services = tuple(sorted(s for s in set(a.services) & set(b.services) if _words(s)))
    words_a = set().union(*(_words(s) for s in a.services)) if a.services else set()
    words_b = set().union(*(_words(s) for s in b.services)) if b.services else set()
    return services, tuple(sorted(words_a & words_b))


def judge(a: Postmortem, b: Postmortem, score: float) -> SameIncident | None:
    """The :class:`SameIncident` for a pair with TF-IDF ``score``, or ``None`` when the rule in
    the module docstring does not flag it."""
    days = days_apart(a, b)
    if days is None or _judged_apart(a, b):
        return None
    services, words = shared_structure(a, b)
    if score < (SAME_INCIDENT_THRESHOLD if services or words else TEXT_ONLY_THRESHOLD):
        return None
    return SameIncident(a.id, b.id, score, days, services, words, a.date, b.date, b.title, b.path)


def _judged_apart(a: Postmortem, b: Postmortem) -> bool:
    """An author who lists the other in ``related`` or ``not_related`` has said they are two
    incidents (related, or not): the pair is not flagged again."""
    return b.id in a.related or b.id in a.not_related or a.id in b.related or a.id in b.not_related


def find_same_incidents(postmortems: list[Postmortem], index, among: set[str] | None = None) -> list[SameIncident]:
    """Possible same incidents in a corpus.

    Args:
        postmortems: the corpus (ids unique), as indexed by ``index``.
        index: a :class:`generator.similarity.SimilarityIndex` built over ``postmortems``.
        among: only pairs with at least one of these ids (the new or changed ones); the pair is
            reported with that one as ``a``. ``None``: every pair.

    Returns:
        Pairs sorted by ``a``, then descending score, then ``b``. Only post-mortems that started
        within a day of each other are scored, so the cost grows with the number of incidents
        per day, not with the square of the corpus.
    """
    by_day: dict[dt.date, list[Postmortem]] = {}
    for pm in postmortems:
        by_day.setdefault(pm.date, []).append(pm)
    wanted = [pm for pm in postmortems if among is None or pm.id in among]
    out: list[SameIncident] = []
    seen: set[frozenset] = set()
    for a in wanted:
        for offset in range(-START_WINDOW_DAYS - 1, START_WINDOW_DAYS + 2):
            for b in by_day.get(a.date + dt.timedelta(days=offset), []):
                pair = frozenset((a.id, b.id))
                if b.id == a.id or pair in seen:
                    continue
                if among is not None and b.id in among and b.id < a.id:
                    continue  # both are asked about: report the pair once, from the smaller id
                seen.add(pair)
                try:
                    score = index.score(a.id, b.id)
                except KeyError:
                    continue
                found = judge(a, b, score)
                if found is not None:
                    out.append(found)
    return sorted(out, key=lambda s: (s.a, -s.score, s.b))


def same_incidents(new: list[Postmortem], existing: list[Postmortem], settings: Settings) -> list[SameIncident]:
    """Possible same incidents between ``new`` post-mortems (an import) and ``existing`` ones
    (the knowledge base), and among the new ones; a TF-IDF index is built over both."""
    from .similarity import SimilarityIndex

    corpus = {pm.id: pm for pm in existing}
    corpus.update({pm.id: pm for pm in new})
    pms = list(corpus.values())
    if len(pms) < 2:
        return []
    index = SimilarityIndex.build(pms, settings)
    return find_same_incidents(pms, index, among={pm.id for pm in new})
