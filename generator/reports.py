"""Recurrence and reliability reports: metrics over the model, and the report pages.

Everything here is a pure function of the post-mortems, the clusters and an explicit ``today``
(a calendar date, UTC): nothing reads the clock, so every figure can be tested against a value
computed by hand. Durations are seconds; dates are the incident's ``date`` (the day it started,
as written in the post-mortem).

Definitions used throughout (standard SRE vocabulary):

* **TTD** (time to detect) = ``detected_at - started_at``; **TTR** (time to resolve) =
  ``resolved_at - started_at``; **impact time** = ``started_at`` to ``mitigated_at``, else to
  ``resolved_at`` (:attr:`Postmortem.duration`). A post-mortem missing either timestamp has
  no value and is left out of that figure (never counted as zero); the data-quality page says
  how many have it.
* **Percentiles** use the *nearest-rank* method: the p-th percentile of n sorted values is the
  value at rank ``ceil(p / 100 * n)`` (1-based). It always returns a duration some incident
  really had, which matters for the small samples of one quarter. The **median** is p50 by
  the same rule, so for an even n it is the lower of the two middle values.
* An action item is **open** when its status is ``open`` or ``in-progress``; it is **overdue**
  when it is open and its ``due`` date is before ``today``. Its **age** is the number of days
  from the incident's date to ``today``.
* **Quarters** are calendar quarters of the incident date: ``2024-Q1`` = January to March.
* The **recurrence ranking** ("how much it hurts") is :func:`hurt_score`, documented there.

The site pages (:func:`site_pages`) and the CLI (``pmkb report``) render the same
:class:`Report`.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from .model import SEVERITIES, ActionItem, Cluster, Postmortem, format_duration

OPEN_STATUSES = ("open", "in-progress")
"""Action-item statuses that count as open (not yet done, not abandoned)."""

SEVERITY_WEIGHT = {"SEV1": 8.0, "SEV2": 4.0, "SEV3": 2.0, "SEV4": 1.0}
"""Weight of one incident in the recurrence ranking: each level counts twice the one below."""

HALF_LIFE_DAYS = 1095
"""Recency half-life of the recurrence ranking, in days: an incident three years old counts half."""

MAX_LISTED = 12
"""A recurring problem's incidents and closed action items are listed in full up to this many."""

PUBLISHED_STATUSES = ("final", "in-review")
"""Post-mortem statuses that are shown in the feed."""


# --- small helpers -------------------------------------------------------------------------


def nearest_rank(values: Iterable[float], p: int) -> float | None:
    """The p-th percentile of ``values`` by the nearest-rank method, or ``None`` if empty.

    Sort the n values; return the one at 1-based rank ``ceil(p * n / 100)`` (at least 1).
    Examples: p90 of [1..10] is 9; p90 of [1, 2, 3] is 3; p50 of [1, 2, 3, 4] is 2.

    Args:
        values: numbers (seconds, for durations).
        p: percentile, an integer from 1 to 100.
    """
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in 1..100, not {p}")
    rank = max(1, -(-p * len(ordered) // 100))  # ceil without floating point
    return ordered[rank - 1]


def quarter_of(day: dt.date) -> str:
    """The calendar quarter of ``day`` as ``"2024-Q1"``."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the calendar quarter containing ``day``."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, first_month, 1)
    end = dt.date(day.year + (first_month == 10), 1 if first_month == 10 else first_month + 3, 1)
    return start, end - dt.timedelta(days=1)


def quarters_between(first: dt.date, last: dt.date) -> list[str]:
    """Every quarter label from the one containing ``first`` to the one containing ``last``."""
    out = []
    year, q = first.year, (first.month - 1) // 3
    while (year, q) <= (last.year, (last.month - 1) // 3):
        out.append(f"{year}-Q{q + 1}")
        year, q = (year + 1, 0) if q == 3 else (year, q + 1)
    return out


def _severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _pct(have: int, total: int) -> int | None:
    """Share in whole percent, rounded half up (5/8 -> 63); ``None`` when total is 0."""
    if not total:
        return None
    return (200 * have + total) // (2 * total)


# --- recurrence ----------------------------------------------------------------------------


def hurt_score(postmortems: Sequence[Postmortem], today: dt.date) -> float:
    """How much a recurring problem hurts: the sum, over its incidents, of

        ``SEVERITY_WEIGHT[severity] * 0.5 ** (age_days / HALF_LIFE_DAYS) * (1 + log2(1 + impact_hours))``

    * severity: SEV1 = 8, SEV2 = 4, SEV3 = 2, SEV4 = 1 (each level twice the one below, the
      usual geometric severity scale);
    * recency: ``age_days`` = days from the incident's date to ``today`` (0 if later); the
      weight halves every three years (:data:`HALF_LIFE_DAYS` = 1095), so a problem that is
      still happening outranks one that was fixed long ago;
    * impact time: hours of :attr:`Postmortem.duration`; the logarithm keeps one three-day
      outage from outweighing everything else (1 h -> x2, 3 h -> x3, 7 h -> x4). Unknown
      impact time counts as 0 h (factor 1), so missing timestamps never raise a score;
    * count: every recurrence adds a term, so more occurrences rank higher.

    Example: a SEV1 today with 1 h impact scores 8 * 1 * 2 = 16; a SEV2 1095 days ago with
    3 h scores 4 * 0.5 * 3 = 6; a cluster of both scores 22.
    """
    total = 0.0
    for pm in postmortems:
        age = max(0, (today - pm.date).days)
        hours = (pm.duration or 0.0) / 3600.0
        total += (SEVERITY_WEIGHT.get(pm.severity, 1.0) * 0.5 ** (age / HALF_LIFE_DAYS)
                  * (1.0 + math.log2(1.0 + max(hours, 0.0))))
    return total


@dataclass
class ClusterSummary:
    """One recurring problem as the recurrence report shows it.

    ``members`` are the post-mortems in date order; ``intervals_days`` the days between
    consecutive occurrences; ``impact_seconds`` the sum of the known impact times and
    ``impact_known`` how many members have one; ``action_counts`` maps each action-item status
    to its count; ``open_items`` counts open + in-progress. ``recurred_after_fix`` lists the
    members that happened after an earlier member's action item was marked done (from
    :attr:`Cluster.recurred_after_fix`); ``no_open_action_item`` is True when nothing is open
    (including when the cluster has no action item at all).
    """

    cluster: Cluster
    members: list[Postmortem]
    score: float
    severities: dict[str, int]
    intervals_days: list[int]
    days_since_last: int
    impact_seconds: float
    impact_known: int
    action_counts: dict[str, int]
    open_items: int
    overdue_items: int
    recurred_after_fix: list[str]
    no_open_action_item: bool

    @property
    def id(self) -> str:
        """The cluster id (``C-`` + the earliest member's id)."""
        return self.cluster.id

    @property
    def label(self) -> str:
        """The cluster's one-line label."""
        return self.cluster.label

    @property
    def count(self) -> int:
        """Number of incidents in the cluster."""
        return len(self.members)

    @property
    def median_interval_days(self) -> float | None:
        """Median days between recurrences (nearest rank), ``None`` for a single occurrence."""
        return nearest_rank(self.intervals_days, 50)

    def as_dict(self) -> dict:
        """JSON-ready: dates ISO 8601, durations in seconds."""
        return {
            "id": self.id,
            "label": self.label,
            "score": round(self.score, 3),
            "count": self.count,
            "first": self.members[0].date.isoformat() if self.members else None,
            "last": self.members[-1].date.isoformat() if self.members else None,
            "days_since_last": self.days_since_last,
            "severities": self.severities,
            "services": list(self.cluster.services),
            "terms": list(self.cluster.terms),
            "members": [{"id": pm.id, "date": pm.date.isoformat(), "severity": pm.severity, "title": pm.title,
                         "path": pm.path, "impact_seconds": pm.duration} for pm in self.members],
            "intervals_days": self.intervals_days,
            "median_interval_days": self.median_interval_days,
            "impact_seconds": self.impact_seconds,
            "impact_known": self.impact_known,
            "action_items": self.action_counts,
            "open_items": self.open_items,
            "overdue_items": self.overdue_items,
            **self.cluster.recurrence_as_dict(),
            "recurred_after_fix": self.recurred_after_fix,
            "no_open_action_item": self.no_open_action_item,
        }


def rank_clusters(clusters: Sequence[Cluster], postmortems: Sequence[Postmortem], today: dt.date) -> list[ClusterSummary]:
    """Summarise and rank recurring problems, the one that hurts most first.

    Args:
        clusters: from :func:`generator.analysis.analyse` (or built by hand in tests).
        postmortems: at least every member of every cluster (ids missing here are skipped).
        today: the reference date (UTC) for recency, overdue and "days since last".

    Returns:
        Summaries sorted by :func:`hurt_score` (descending), then by count (descending), most
        recent occurrence, and id.
    """
    by_id = {pm.id: pm for pm in postmortems}
    out = []
    for cluster in clusters:
        members = sorted((by_id[m] for m in cluster.members if m in by_id), key=lambda pm: (pm.date, pm.id))
        if not members:
            continue
        severities = {sev: n for sev in SEVERITIES if (n := sum(pm.severity == sev for pm in members))}
        items = cluster.action_items or [(pm.id, item) for pm in members for item in pm.action_items]
        counts = Counter(item.status for _, item in items)
        open_items = sum(counts[s] for s in OPEN_STATUSES)
        overdue = sum(_is_overdue(item, today) for _, item in items)
        durations = [pm.duration for pm in members if pm.duration is not None]
        out.append(ClusterSummary(
            cluster=cluster,
            members=members,
            score=hurt_score(members, today),
            severities=severities,
            intervals_days=[(b.date - a.date).days for a, b in zip(members, members[1:])],
            days_since_last=max(0, (today - members[-1].date).days),
            impact_seconds=float(sum(durations)),
            impact_known=len(durations),
            action_counts={s: counts[s] for s in ("open", "in-progress", "done", "wont-do") if counts[s]},
            open_items=open_items,
            overdue_items=overdue,
            recurred_after_fix=list(cluster.recurred_after_fix),
            no_open_action_item=open_items == 0,
        ))
    out.sort(key=lambda s: (-round(s.score, 9), -s.count, -s.members[-1].date.toordinal(), s.id))
    return out


# --- trends --------------------------------------------------------------------------------


@dataclass
class DurationStats:
    """Median and p90 (nearest rank, seconds) of the ``n`` known values of one duration."""

    n: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> "DurationStats":
        return cls(len(values), nearest_rank(values, 50), nearest_rank(values, 90))

    def as_dict(self) -> dict:
        """JSON-ready: dates ISO 8601, durations in seconds."""
        return {"n": self.n, "median_seconds": self.median, "p90_seconds": self.p90}


def _span(postmortems: Sequence[Postmortem]) -> list[str]:
    if not postmortems:
        return []
    return quarters_between(min(pm.date for pm in postmortems), max(pm.date for pm in postmortems))


def incidents_per_quarter(postmortems: Sequence[Postmortem]) -> list[tuple[str, dict[str, int]]]:
    """Incidents per calendar quarter and severity.

    Returns:
        ``[(quarter, {"SEV1": n, ..., "SEV4": n}), ...]`` for every quarter from the first
        incident's to the last one's, quarters without incidents included (all zero).
    """
    counts: dict[str, Counter] = defaultdict(Counter)
    for pm in postmortems:
        counts[quarter_of(pm.date)][pm.severity] += 1
    return [(q, {sev: counts[q][sev] for sev in SEVERITIES}) for q in _span(postmortems)]


def duration_per_quarter(postmortems: Sequence[Postmortem], metric: str) -> list[tuple[str, DurationStats]]:
    """Median and p90 of TTD or TTR per quarter.

    Args:
        metric: ``"ttd"`` (:attr:`Postmortem.time_to_detect`), ``"ttr"``
            (:attr:`Postmortem.time_to_resolve`) or ``"impact"`` (:attr:`Postmortem.duration`).

    Returns:
        ``[(quarter, DurationStats), ...]`` for every quarter of the span; ``n`` is the number of
        post-mortems of that quarter that have the value (``median``/``p90`` None when 0).
    """
    return _duration_per(postmortems, metric, lambda day: quarter_of(day), _span(postmortems))


def duration_per_year(postmortems: Sequence[Postmortem], metric: str) -> list[tuple[str, DurationStats]]:
    """Like :func:`duration_per_quarter`, per calendar year (``"2024"``), every year of the span."""
    years = sorted({pm.date.year for pm in postmortems})
    span = [str(y) for y in range(years[0], years[-1] + 1)] if years else []
    return _duration_per(postmortems, metric, lambda day: str(day.year), span)


def _duration_per(postmortems, metric, key, span) -> list[tuple[str, DurationStats]]:
    getter = _METRICS[metric]
    values: dict[str, list[float]] = defaultdict(list)
    for pm in postmortems:
        value = getter(pm)
        if value is not None:
            values[key(pm.date)].append(value)
    return [(period, DurationStats.of(values[period])) for period in span]


def duration_stats(postmortems: Sequence[Postmortem], metric: str) -> DurationStats:
    """Median and p90 (nearest rank, seconds) of TTD/TTR/impact over ``postmortems``."""
    getter = _METRICS[metric]
    return DurationStats.of([v for pm in postmortems if (v := getter(pm)) is not None])


_METRICS: dict[str, Callable[[Postmortem], float | None]] = {
    "ttd": lambda pm: pm.time_to_detect,
    "ttr": lambda pm: pm.time_to_resolve,
    "impact": lambda pm: pm.duration,
}


def counts_by_service(postmortems: Sequence[Postmortem]) -> list[tuple[str, int]]:
    """Incidents per affected service (an incident counts once for each of its services).

    Returns:
        ``[(service, n), ...]`` most incidents first, ties by name.
    """
    counts = Counter(s for pm in postmortems for s in dict.fromkeys(pm.services))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def counts_by_trigger(postmortems: Sequence[Postmortem]) -> list[tuple[str, int]]:
    """Incidents per ``trigger`` (post-mortems without one are left out; see data quality).

    Returns:
        ``[(trigger, n), ...]`` most incidents first, ties by name.
    """
    counts = Counter(pm.trigger for pm in postmortems if pm.trigger)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# --- data quality --------------------------------------------------------------------------


@dataclass
class Coverage:
    """How many records have a field the metrics use, overall and per severity.

    ``counts`` maps ``"SEV1"``..``"SEV4"`` and ``"all"`` to ``(have, total)``; ``unit`` is
    ``"post-mortems"`` or ``"action items"`` (for owner and due, counted per action item and
    grouped by the severity of the incident they came from). ``affects`` names the figures
    that depend on it.
    """

    field: str
    affects: str
    unit: str
    counts: dict[str, tuple[int, int]]

    def share(self, key: str = "all") -> int | None:
        """Whole percent of ``key``'s records that have the field (half up), None if none."""
        have, total = self.counts.get(key, (0, 0))
        return _pct(have, total)

    def as_dict(self) -> dict:
        """JSON-ready: dates ISO 8601, durations in seconds."""
        return {"field": self.field, "affects": self.affects, "unit": self.unit,
                "counts": {k: {"have": h, "total": t, "percent": _pct(h, t)} for k, (h, t) in self.counts.items()}}


_PM_FIELDS: list[tuple[str, str, Callable[[Postmortem], bool]]] = [
    ("started_at", "TTD, TTR, impact", lambda pm: pm.started_at is not None),
    ("detected_at", "TTD", lambda pm: pm.detected_at is not None),
    ("mitigated_at", "impact", lambda pm: pm.mitigated_at is not None),
    ("resolved_at", "TTR, impact", lambda pm: pm.resolved_at is not None),
    ("TTD", "trends", lambda pm: pm.time_to_detect is not None),
    ("TTR", "trends", lambda pm: pm.time_to_resolve is not None),
    ("impact time", "ranking, worst", lambda pm: pm.duration is not None),
    ("trigger", "by trigger", lambda pm: bool(pm.trigger)),
    ("action_items", "ledger, recurrence", lambda pm: bool(pm.action_items)),
]
_ITEM_FIELDS: list[tuple[str, str, Callable[[ActionItem], bool]]] = [
    ("action item owner", "per owner", lambda item: bool(item.owner)),
    ("action item due", "overdue", lambda item: item.due is not None),
]


def data_quality(postmortems: Sequence[Postmortem]) -> list[Coverage]:
    """Coverage of every field the metrics use, overall and per severity.

    Returns:
        One :class:`Coverage` per field, in this order: started_at, detected_at, mitigated_at,
        resolved_at, TTD, TTR, impact time, trigger, action_items (per post-mortem), then
        action item owner and action item due (per action item).
    """
    out = []
    for name, affects, has in _PM_FIELDS:
        counts = {}
        for key in (*SEVERITIES, "all"):
            group = [pm for pm in postmortems if key == "all" or pm.severity == key]
            counts[key] = (sum(1 for pm in group if has(pm)), len(group))
        out.append(Coverage(name, affects, "post-mortems", counts))
    for name, affects, has in _ITEM_FIELDS:
        counts = {}
        for key in (*SEVERITIES, "all"):
            items = [item for pm in postmortems if key == "all" or pm.severity == key for item in pm.action_items]
            counts[key] = (sum(1 for item in items if has(item)), len(items))
        out.append(Coverage(name, affects, "action items", counts))
    return out


def coverage_note(coverage: Sequence[Coverage], name: str) -> str:
    """One sentence for next to a figure: ``"detected_at present in 62% of SEV1s (5 of 8) ..."``."""
    cov = next(c for c in coverage if c.field == name)
    have, total = cov.counts["all"]
    if not total:
        return f"{name}: no {cov.unit} to measure."
    parts = [f"{sev} {cov.share(sev)}%" for sev in SEVERITIES if cov.counts[sev][1]]
    subject = name if "_" in name or name.isupper() else name[0].upper() + name[1:]
    return (f"{subject} known for {have} of {total} {cov.unit} ({cov.share()}%; " + ", ".join(parts) + ").")


# --- action items --------------------------------------------------------------------------


def _is_overdue(item: ActionItem, today: dt.date) -> bool:
    return item.status in OPEN_STATUSES and item.due is not None and item.due < today


@dataclass
class LedgerRow:
    """One action item with its source incident. ``age_days`` = today - incident date;
    ``days_overdue`` = today - due for an overdue item, else 0."""

    postmortem: Postmortem
    item: ActionItem
    age_days: int
    overdue: bool
    days_overdue: int

    @property
    def is_open(self) -> bool:
        """Status ``open`` or ``in-progress``."""
        return self.item.status in OPEN_STATUSES

    def as_dict(self) -> dict:
        """JSON-ready: dates ISO 8601, durations in seconds."""
        pm, item = self.postmortem, self.item
        return {"postmortem": pm.id, "incident_date": pm.date.isoformat(), "severity": pm.severity,
                "path": pm.path, "title": item.title, "owner": item.owner, "status": item.status,
                "due": item.due.isoformat() if item.due else None, "ticket": item.ticket,
                "age_days": self.age_days, "overdue": self.overdue, "days_overdue": self.days_overdue}


def action_item_ledger(postmortems: Sequence[Postmortem], today: dt.date) -> list[LedgerRow]:
    """Every action item of every post-mortem, overdue first.

    Order: overdue (most days overdue first), then the other open items (earliest due first,
    no due date last, then oldest incident first), then done, then wont-do (newest incident
    first). Ties by post-mortem id and position in the file.
    """
    rows = []
    for pm in postmortems:
        for index, item in enumerate(pm.action_items):
            overdue = _is_overdue(item, today)
            rows.append((LedgerRow(pm, item, max(0, (today - pm.date).days), overdue,
                                   (today - item.due).days if overdue else 0), index))

    def key(entry):
        row, index = entry
        status = row.item.status
        if row.overdue:
            return (0, -row.days_overdue, 0, row.postmortem.id, index)
        if status in OPEN_STATUSES:
            due = row.item.due.toordinal() if row.item.due else 10**7
            return (1, due, -row.age_days, row.postmortem.id, index)
        return (2 if status == "done" else 3, row.age_days, 0, row.postmortem.id, index)

    return [row for row, _ in sorted(rows, key=key)]


@dataclass
class OwnerRow:
    """Action-item counts for one owner (``"(no owner)"`` when the field is missing)."""

    owner: str
    open: int
    overdue: int
    done: int
    wont_do: int
    total: int

    def as_dict(self) -> dict:
        """JSON-ready: dates ISO 8601, durations in seconds."""
        return {"owner": self.owner, "open": self.open, "overdue": self.overdue, "done": self.done,
                "wont_do": self.wont_do, "total": self.total}


NO_OWNER = "(no owner)"


def owner_summary(ledger: Sequence[LedgerRow]) -> list[OwnerRow]:
    """Open (open + in-progress), overdue, done and wont-do counts per owner.

    Returns:
        Owners with the most overdue first, then most open, then by name.
    """
    groups: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in ledger:
        groups[row.item.owner or NO_OWNER].append(row)
    out = [OwnerRow(owner, sum(r.is_open for r in rows), sum(r.overdue for r in rows),
                    sum(r.item.status == "done" for r in rows), sum(r.item.status == "wont-do" for r in rows),
                    len(rows)) for owner, rows in groups.items()]
    return sorted(out, key=lambda o: (-o.overdue, -o.open, o.owner))


# --- periods -------------------------------------------------------------------------------


@dataclass
class PeriodSummary:
    """What happened between ``start`` and ``end`` (inclusive dates).

    ``new_clusters``: recurring problems first seen in the period; ``recurring_clusters``:
    problems seen before the period that came back in it. Action items have no completion date
    in the v1 format, so ``items_done``/``items_open``/``items_overdue`` count the action items
    *of the period's incidents* by their current status.
    """

    title: str
    start: dt.date
    end: dt.date
    postmortems: list[Postmortem]
    severities: dict[str, int]
    worst: list[Postmortem]
    new_clusters: list[ClusterSummary]
    recurring_clusters: list[ClusterSummary]
    items_done: int
    items_open: int
    items_overdue: int
    ttd: DurationStats
    ttr: DurationStats

    def as_dict(self) -> dict:
        """JSON-ready: dates ISO 8601, durations in seconds."""
        return {"title": self.title, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "incidents": len(self.postmortems), "severities": self.severities,
                "worst": [pm.id for pm in self.worst],
                "new_clusters": [c.id for c in self.new_clusters],
                "recurring_clusters": [c.id for c in self.recurring_clusters],
                "action_items": {"done": self.items_done, "open": self.items_open, "overdue": self.items_overdue},
                "ttd": self.ttd.as_dict(), "ttr": self.ttr.as_dict()}


def worst_incidents(postmortems: Sequence[Postmortem], limit: int = 5) -> list[Postmortem]:
    """The ``limit`` worst incidents: highest severity, then longest impact time (unknown
    last), then earliest date and id."""
    return sorted(postmortems, key=lambda pm: (_severity_rank(pm.severity),
                                               -(pm.duration if pm.duration is not None else -1.0),
                                               pm.date, pm.id))[:limit]


def period_summary(title: str, start: dt.date, end: dt.date, postmortems: Sequence[Postmortem],
                   ranked: Sequence[ClusterSummary], today: dt.date) -> PeriodSummary:
    """Summarise the incidents dated ``start``..``end`` (inclusive).

    Args:
        ranked: the output of :func:`rank_clusters` (order kept in the result).
        today: reference date for overdue.
    """
    inside = [pm for pm in postmortems if start <= pm.date <= end]
    ids = {pm.id for pm in inside}
    new, recurring = [], []
    for summary in ranked:
        if not any(pm.id in ids for pm in summary.members):
            continue
        (new if summary.members[0].date >= start else recurring).append(summary)
    items = [item for pm in inside for item in pm.action_items]
    return PeriodSummary(
        title=title, start=start, end=end, postmortems=sorted(inside, key=lambda pm: (pm.date, pm.id)),
        severities={sev: sum(pm.severity == sev for pm in inside) for sev in SEVERITIES},
        worst=worst_incidents(inside),
        new_clusters=new, recurring_clusters=recurring,
        items_done=sum(item.status == "done" for item in items),
        items_open=sum(item.status in OPEN_STATUSES for item in items),
        items_overdue=sum(_is_overdue(item, today) for item in items),
        ttd=duration_stats(inside, "ttd"), ttr=duration_stats(inside, "ttr"),
    )


def year_summaries(postmortems: Sequence[Postmortem], ranked: Sequence[ClusterSummary], today: dt.date) -> list[PeriodSummary]:
    """One :class:`PeriodSummary` per calendar year that has incidents, plus ``today``'s year,
    newest first."""
    years = sorted({pm.date.year for pm in postmortems} | {today.year}, reverse=True)
    return [period_summary(str(y), dt.date(y, 1, 1), dt.date(y, 12, 31), postmortems, ranked, today) for y in years]


def current_quarter_summary(postmortems: Sequence[Postmortem], ranked: Sequence[ClusterSummary],
                            today: dt.date) -> PeriodSummary:
    """The :class:`PeriodSummary` of the quarter containing ``today``, up to ``today``."""
    start, _ = quarter_bounds(today)
    return period_summary(quarter_of(today).replace("-", " "), start, today, postmortems, ranked, today)


# --- the whole report ----------------------------------------------------------------------


@dataclass
class Report:
    """Every figure of the reports for one corpus, window and ``today``.

    ``postmortems`` are those in the window (``date >= since``); ``clusters`` the ranked
    recurring problems with at least one member in the window (all their members are shown and
    scored, so the history stays visible).
    """

    QUARTERS_MAX = 24
    """Longer spans show TTD and TTR per year: most quarters would hold one incident or none."""

    def duration_periods(self, metric: str) -> tuple[str, list[tuple[str, DurationStats]]]:
        """``("quarter" | "year", per-period stats)`` as the pages show them for ``metric``."""
        if len(self.per_quarter) > self.QUARTERS_MAX:
            return "year", self.ttd_per_year if metric == "ttd" else self.ttr_per_year
        return "quarter", self.ttd_per_quarter if metric == "ttd" else self.ttr_per_quarter

    today: dt.date
    since: dt.date | None
    postmortems: list[Postmortem]
    clusters: list[ClusterSummary]
    per_quarter: list[tuple[str, dict[str, int]]]
    ttd_per_quarter: list[tuple[str, DurationStats]]
    ttr_per_quarter: list[tuple[str, DurationStats]]
    ttd_per_year: list[tuple[str, DurationStats]]
    ttr_per_year: list[tuple[str, DurationStats]]
    ttd: dict[str, DurationStats]
    ttr: dict[str, DurationStats]
    services: list[tuple[str, int]]
    triggers: list[tuple[str, int]]
    coverage: list[Coverage]
    ledger: list[LedgerRow]
    owners: list[OwnerRow]
    warnings: list[str] = field(default_factory=list)
    drafts_left_out: int = 0
    """Draft post-mortems the caller left out (``pmkb report`` without ``--include-drafts``);
    the pages say so next to their scope line, so "no incidents" never hides them."""

    def as_dict(self) -> dict:
        """The report as JSON-ready data (seconds, ISO dates)."""
        return {
            "today": self.today.isoformat(),
            "since": self.since.isoformat() if self.since else None,
            "percentile_method": "nearest-rank: value at rank ceil(p*n/100) of the sorted values; median = p50",
            "ranking": f"sum over incidents of severity_weight * 0.5 ** (age_days / {HALF_LIFE_DAYS}) * (1 + log2(1 + impact_hours)); "
                       "severity_weight SEV1=8 SEV2=4 SEV3=2 SEV4=1",
            "incidents": len(self.postmortems),
            "severities": {sev: sum(pm.severity == sev for pm in self.postmortems) for sev in SEVERITIES},
            "clusters": [c.as_dict() for c in self.clusters],
            "per_quarter": [{"quarter": q, **counts, "total": sum(counts.values())} for q, counts in self.per_quarter],
            "ttd": {k: v.as_dict() for k, v in self.ttd.items()},
            "ttr": {k: v.as_dict() for k, v in self.ttr.items()},
            "ttd_per_quarter": [{"quarter": q, **s.as_dict()} for q, s in self.ttd_per_quarter],
            "ttr_per_quarter": [{"quarter": q, **s.as_dict()} for q, s in self.ttr_per_quarter],
            "ttd_per_year": [{"year": y, **s.as_dict()} for y, s in self.ttd_per_year],
            "ttr_per_year": [{"year": y, **s.as_dict()} for y, s in self.ttr_per_year],
            "services": [{"service": s, "incidents": n} for s, n in self.services],
            "triggers": [{"trigger": t, "incidents": n} for t, n in self.triggers],
            "data_quality": [c.as_dict() for c in self.coverage],
            "action_items": [r.as_dict() for r in self.ledger],
            "owners": [o.as_dict() for o in self.owners],
            "warnings": self.warnings,
            "drafts_left_out": self.drafts_left_out,
        }


def build_report(postmortems: Sequence[Postmortem], clusters: Sequence[Cluster], today: dt.date,
                 since: dt.date | None = None, warnings: Sequence[str] = (), drafts_left_out: int = 0) -> Report:
    """Compute every figure.

    Args:
        postmortems: the whole corpus (cluster members are looked up here).
        clusters: recurring problems (:attr:`Analysis.clusters`, or hand-built).
        today: reference date (UTC) for ages, recency and overdue.
        since: keep only incidents dated on or after it (``None``: all).
        drafts_left_out: how many drafts the caller removed from ``postmortems`` (shown on
            every page, with how to include them).

    A recurring problem with an incident in the window is shown with its whole history; the
    headline count of incidents it accounts for counts only those in the window. (``pmkb report
    --today`` leaves out incidents after that day before calling this.)
    """
    window = [pm for pm in postmortems if since is None or pm.date >= since]
    window.sort(key=lambda pm: (pm.date, pm.id))
    in_window = {pm.id for pm in window}
    ranked = [c for c in rank_clusters(clusters, postmortems, today) if any(pm.id in in_window for pm in c.members)]
    ledger = action_item_ledger(window, today)
    by_sev = {"all": window, **{sev: [pm for pm in window if pm.severity == sev] for sev in SEVERITIES}}
    return Report(
        today=today, since=since, postmortems=window, clusters=ranked,
        per_quarter=incidents_per_quarter(window),
        ttd_per_quarter=duration_per_quarter(window, "ttd"),
        ttr_per_quarter=duration_per_quarter(window, "ttr"),
        ttd_per_year=duration_per_year(window, "ttd"),
        ttr_per_year=duration_per_year(window, "ttr"),
        ttd={k: duration_stats(v, "ttd") for k, v in by_sev.items()},
        ttr={k: duration_stats(v, "ttr") for k, v in by_sev.items()},
        services=counts_by_service(window), triggers=counts_by_trigger(window),
        coverage=data_quality(window), ledger=ledger, owners=owner_summary(ledger),
        warnings=list(warnings), drafts_left_out=drafts_left_out,
    )


# --- Markdown ------------------------------------------------------------------------------


class Links:
    """How report pages link to post-mortems, clusters and each other.

    ``prefix`` is the path from the report page's folder to the docs root: ``"../"`` for pages
    under ``reports/``. With ``prefix=None`` (CLI output) nothing is linked, ids are plain text.

    URL assumptions (site-relative source paths; MkDocs turns them into page URLs):
    a post-mortem is the page of its source file ``<pm.path>``; a cluster is the page
    ``clusters/<cluster id lowercase>.md``; report pages live side by side under ``reports/``
    and charts under ``reports/charts/``.
    """

    def __init__(self, prefix: str | None = "../"):
        self.prefix = prefix

    def pm(self, pm: Postmortem) -> str:
        """``[PM-2024-017](../<pm.path>)``, or the bare id without a prefix."""
        label = md_text(pm.id)
        return f"[{label}]({_url(self.prefix + pm.path)})" if self.prefix is not None else label

    def cluster(self, summary: ClusterSummary) -> str:
        """``[label](../clusters/<id lowercase>.md)``, or ``label (id)`` without a prefix."""
        label = md_text(summary.label)
        if self.prefix is None:
            return f"{label} ({md_text(summary.id)})"
        return f"[{label}]({_url(f'{self.prefix}clusters/{summary.id.lower()}.md')})"

    def ticket(self, ticket: str | None) -> str:
        """An action item's ticket as text, ``—`` when missing. An ``http(s)://`` URL becomes a link:
        ``[url](url)`` on the site, an autolink ``<url>`` in the CLI's Markdown (no ``](``)."""
        value = " ".join(str(ticket).split()) if ticket else ""
        if not value:
            return "—"
        if _HTTP_URL.match(value):
            url = _url(value)
            return f"[{md_text(value)}]({url})" if self.prefix is not None else f"<{url}>"
        return md_text(value)

    @property
    def line_break(self) -> str:
        """A line break inside a table cell: ``<br>`` on the site, `` — `` in plain Markdown."""
        return "<br>" if self.prefix is not None else " — "

    def page(self, name: str, text: str) -> str:
        """A link to another report page in the same folder (plain text without a prefix)."""
        return f"[{text}]({name})" if self.prefix is not None else text

    def data(self, title: str, table: str, rows: int, open_up_to: int = 12) -> str:
        """A data table under a chart. On the site, a table longer than ``open_up_to`` rows is
        folded into a collapsible block (``pymdownx.details``) so the page leads with the
        chart; the CLI prints it as is."""
        if self.prefix is None:
            return table
        marker = "???+" if rows <= open_up_to else "???"
        body = "\n".join(("    " + line) if line else "" for line in table.splitlines())
        return f'{marker} info "{title}"\n\n{body}\n'


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#+|])")
"""Characters :func:`md_text` escapes with a backslash (Python-Markdown with the ``tables``
extension and CommonMark both accept these escaped). ``<``, ``>`` and ``&`` become HTML entities
instead. ``(``, ``)`` and ``!`` are left as they are: they mean something only after a ``]`` or
before a ``[``, both escaped. ``^`` and ``=`` too: Python-Markdown would print the backslash, and
none of the site's extensions gives them a meaning. ``~`` means strikethrough on GitHub and
GitLab (GFM ``~~x~~``), where ``pmkb report --format md`` is read too, but Python-Markdown would
print a ``\\~``: it becomes the entity ``&#126;`` (:data:`_MD_ENTITIES`), which both render as ``~``.

``:`` is left alone although GitHub and GitLab turn ``:smile:`` into an emoji: their emoji
filters run on the text of the rendered HTML, where ``&#58;`` is a ``:`` again, so an entity
would not stop them (only an invisible character would, which changes the text when copied)."""

_MD_ENTITIES = {"~": "&#126;"}
"""Characters :func:`md_text` writes as numeric character references (after HTML escaping, so
the ``&`` of the entity stays)."""

_LINE_START = re.compile(r"^(\d+)\.|^-")
_HTTP_URL = re.compile(r"https?://[^\s]+$", re.IGNORECASE)


def md_text(value: object) -> str:
    """``value`` as inline Markdown that renders as exactly that text, in prose, in a table
    cell, in a heading or as a link label.

    Whitespace runs (line breaks included) become one space, so a value never ends a table row
    or starts a block; ``&``, ``<`` and ``>`` become entities (raw HTML shows as text), and so
    does ``~`` (``&#126;``: no GFM strikethrough on GitHub or GitLab); every character with an
    inline meaning (``\\ ` * _ { } [ ] # + |``) is backslash-escaped, and a leading ``-`` or
    ``1.`` too. ``None`` and ``""`` give ``""``. The result renders as exactly ``value`` (with
    whitespace collapsed) in Python-Markdown with the site's extensions and in GFM.
    """
    if value is None:
        return ""
    text = html.escape(" ".join(str(value).split()), quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    for char, entity in _MD_ENTITIES.items():
        text = text.replace(char, entity)
    return _LINE_START.sub(lambda m: f"{m.group(1)}\\." if m.group(1) else "\\-", text)


def _url(url: str) -> str:
    """``url`` percent-encoded where Markdown or a table row would read it (spaces, ``()[]<>|``,
    backslash, backtick, quotes, ``*``, non-ASCII); ``%`` and URL delimiters are kept."""
    from urllib.parse import quote

    return quote(url, safe="/:?#&=+;,@$%-._~!")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    """A Markdown table; ``align`` has one letter per column, ``l`` or ``r`` (default l)."""
    marks = ["---:" if (align[i:i + 1] == "r") else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    for row in rows:
        lines.append("| " + " | ".join("" if c is None else str(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def _incident_line(pm: Postmortem, links: Links, impact: bool = True) -> str:
    """A list item for one incident: date, severity, impact time, id (linked) and title."""
    duration = f" · {_dur(pm.duration)}" if impact else ""
    return f"- {pm.date.isoformat()} · **{md_text(pm.severity)}**{duration} · {links.pm(pm)} {md_text(pm.title)}"


def _sev_mix(counts: dict[str, int]) -> str:
    return ", ".join(f"{sev} {counts[sev]}" for sev in SEVERITIES if counts.get(sev))


def _pct_text(cov: Coverage, key: str) -> str:
    share = cov.share(key)
    return "—" if share is None else f"{share}%"


def _dur(seconds: float | None) -> str:
    return format_duration(seconds)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _window(report: Report) -> str:
    if not report.postmortems:
        drafts = report.drafts_left_out
        return f"no incidents ({_plural(drafts, 'draft')} left out)" if drafts else "no incidents"
    first, last = report.postmortems[0].date, report.postmortems[-1].date
    return f"{_plural(len(report.postmortems), 'incident')} from {first.isoformat()} to {last.isoformat()}"


def _as_of(report: Report) -> str:
    since = f", incidents since {report.since.isoformat()}" if report.since else ""
    drafts = ""
    if report.drafts_left_out:
        drafts = (f" {_plural(report.drafts_left_out, 'draft post-mortem')} left out: run with `--include-drafts` "
                  "to count drafts.")
    return f"*As of {report.today.isoformat()} (UTC){since}.{drafts}*\n"


PERCENTILE_NOTE = ("Median and p90 use the nearest-rank method: sort the n known values and take the one at "
                   "rank ⌈p × n / 100⌉, so each figure is a duration some incident really had (for an even n the "
                   "median is the lower middle value). Incidents missing a timestamp are left out, never "
                   "counted as zero.")

RANKING_NOTE = (
    "Problems are ranked by how much they hurt: the sum over their incidents of "
    "*severity weight × recency × impact*, where severity weight is SEV1 = 8, SEV2 = 4, SEV3 = 2, SEV4 = 1; "
    f"recency is 0.5^(age in days / {HALF_LIFE_DAYS}), so an incident three years old counts half; and impact is "
    "1 + log₂(1 + impact hours), so 1 h doubles the weight, 3 h triples it, and a multi-day outage does not "
    "drown everything else (unknown impact time counts as 0 h). More recurrences add more terms. Clusters come "
    "from TF-IDF similarity of the post-mortems (see each cluster's page).")


def render_recurrence(report: Report, links: Links, chart: str | None = None, limit: int | None = None) -> str:
    """The recurrence page: headline, ranked table, then one section per problem.

    Args:
        chart: relative path of the timeline SVG to embed (``None``: no chart).
        limit: show at most this many problems in detail (all in the table).
    """
    ranked = report.clusters
    in_window = {pm.id for pm in report.postmortems}
    covered = sum(pm.id in in_window for c in ranked for pm in c.members)
    after_fix = [c for c in ranked if c.recurred_after_fix]
    no_open = [c for c in ranked if c.no_open_action_item]
    out = ["# Recurring problems\n", _as_of(report)]
    if not ranked and not report.postmortems:
        out.append("No recurring problems: no incidents to compare.\n")
        return "\n".join(out)
    if not ranked:
        out.append("No recurring problems in this period: no two post-mortems are similar enough to "
                   "form a cluster, or none of a cluster's incidents falls in the period.\n" if report.since else
                   "No recurring problems: no two post-mortems are similar enough to form a cluster.\n")
        return "\n".join(out)
    out.append(f"**{_plural(len(ranked), 'recurring problem')}** {'accounts' if len(ranked) == 1 else 'account'} "
               f"for **{covered} of "
               f"{len(report.postmortems)} incidents**. "
               f"**{len(after_fix)}** came back after an action item was marked done; "
               f"**{len(no_open)}** {'has' if len(no_open) == 1 else 'have'} no open action item.\n")
    top = ranked[0]
    out.append(f"Hurting most: **{links.cluster(top)}** — {_plural(top.count, 'incident')} "
               f"({_sev_mix(top.severities)}), last on {top.members[-1].date.isoformat()}.\n")
    if chart:
        out.append(f"![Recurring problems on a timeline, one dot per incident, coloured by severity]({chart})\n")
    impact = next((c for c in report.coverage if c.field == "impact time"), None)
    if impact:
        out.append(f"*Data quality: {coverage_note(report.coverage, 'impact time')} "
                   f"Impact time feeds the ranking.*\n")
    rows = []
    for rank, c in enumerate(ranked, 1):
        flags = []
        if c.recurred_after_fix:
            flags.append("**recurred after fix**")
        if c.no_open_action_item:
            flags.append("*no open action item*")
        problem = f"{rank}. " + links.cluster(c) + ((links.line_break + ", ".join(flags)) if flags else "")
        median = c.median_interval_days
        rows.append((problem, f"{c.count} ({_sev_mix(c.severities)})", c.members[-1].date.isoformat(),
                     "—" if median is None else f"{median:g} d", _dur(c.impact_seconds) if c.impact_known else "—",
                     c.open_items))
    out.append(_table(["Problem", "Incidents", "Last", "Every (median)", "Impact time", "Open items"],
                      rows, "lllrrr"))
    for rank, c in enumerate(ranked[:limit] if limit else ranked, 1):
        out.append(f"## {rank}. {md_text(c.label)}\n")
        if links.prefix is not None:
            out.append(f"Cluster page: {links.cluster(c)}.\n")
        out.append(f"- **Incidents:** {c.count} ({_sev_mix(c.severities)}), first {c.members[0].date.isoformat()}, "
                   f"last {c.members[-1].date.isoformat()} ({c.days_since_last} days ago); score {c.score:.1f}")
        recent = c.intervals_days[-MAX_LISTED:]
        intervals = ("… " if len(recent) < len(c.intervals_days) else "") + ", ".join(f"{d}" for d in recent)
        out.append(f"- **Days between recurrences:** {intervals} (median {c.median_interval_days:g})"
                   if c.intervals_days else "- **Days between recurrences:** —")
        out.append(f"- **Services:** {', '.join(md_text(s) for s in c.cluster.services) or '—'}")
        if c.cluster.terms:
            out.append(f"- **Shared terms:** {', '.join(md_text(t) for t in c.cluster.terms)}")
        out.append(f"- **Impact time:** {_dur(c.impact_seconds)} in total (known for {c.impact_known} of {c.count})"
                   if c.impact_known else f"- **Impact time:** unknown (no incident of the {c.count} records it)")
        state = ", ".join(f"{n} {s}" for s, n in c.action_counts.items()) or "none"
        out.append(f"- **Action items:** {state}" + (f"; {c.overdue_items} overdue" if c.overdue_items else ""))
        if c.recurred_after_fix:
            by_id = {pm.id: pm for pm in c.members}
            latest = c.recurred_after_fix[-6:]
            names = ", ".join(links.pm(by_id[m]) if m in by_id else md_text(m) for m in latest)
            more = len(c.recurred_after_fix) - len(latest)
            out.append(f"- **Recurred after a fix was marked done:** {names}"
                       + (f" and {more} earlier" if more else ""))
        if c.no_open_action_item:
            out.append("- **No open action item:** nothing tracked would stop the next one")
        out.append("")
        shown = c.members if len(c.members) <= MAX_LISTED else c.members[-(MAX_LISTED - 2):]
        if len(shown) < len(c.members):
            out.append(f"The latest {len(shown)} of {c.count} incidents (all on the cluster page):\n")
        out += [_incident_line(pm, links) for pm in shown] + [""]
        items = c.cluster.action_items or [(pm.id, i) for pm in c.members for i in pm.action_items]
        if len(items) > MAX_LISTED:
            closed = len(items) - c.open_items
            items = sorted(((pm_id, i) for pm_id, i in items if i.status in OPEN_STATUSES),
                           key=lambda pair: (not _is_overdue(pair[1], report.today),
                                             pair[1].due or dt.date.max))[:MAX_LISTED]
            out.append(f"{_plural(c.open_items, 'open action item')} ({c.overdue_items} overdue; "
                       f"{closed} done or won't do); " + (f"the first {len(items)} by due date, overdue first "
                       "(all on the action-items page):\n" if c.open_items > len(items) else "listed:\n"))
        if items:
            out.append(_table(["Action item", "Owner", "Status", "Due", "Ticket", "From"],
                              [(md_text(i.title), md_text(i.owner) or "—", md_text(i.status),
                                i.due.isoformat() if i.due else "—", links.ticket(i.ticket), md_text(pm_id))
                               for pm_id, i in items]))
    out.append("## How the ranking works\n")
    out.append(RANKING_NOTE + "\n")
    out.append("A problem *recurred after fix* when one of its incidents started after an action item of an "
               "earlier incident in the same cluster had been marked done: the fix did not hold.\n")
    return "\n".join(out)


def _duration_section(report: Report, metric: str, links: Links, chart: str | None) -> list[str]:
    name = {"ttd": "TTD", "ttr": "TTR"}[metric]
    long = {"ttd": "Time to detect (TTD)", "ttr": "Time to resolve (TTR)"}[metric]
    stats = report.ttd if metric == "ttd" else report.ttr
    unit, per_period = report.duration_periods(metric)
    overall = stats["all"]
    out = [f"## {long}\n"]
    if overall.n:
        out.append(f"Median **{_dur(overall.median)}**, p90 **{_dur(overall.p90)}** over {overall.n} incidents.\n")
    out.append(f"*Data quality: {coverage_note(report.coverage, name)}*\n")
    if unit == "year":
        out.append(f"*Per year: the incidents span {len(report.per_quarter)} quarters, most with one incident or "
                   f"none, too few for a distribution. Per-quarter figures: `pmkb report --format csv --table "
                   f"{metric}-quarter`.*\n")
    if chart and overall.n:
        out.append(f"![{long}: median and p90 per {unit}]({chart})\n")
    rows = [(q, s.n, _dur(s.median), _dur(s.p90)) for q, s in per_period if s.n]
    if rows:
        out.append(links.data(f"Data: {name} per {unit}", _table([unit.capitalize(), "n", "Median", "p90"], rows,
                                                                  "lrrr"), len(rows)))
    out.append(_table(["Severity", "n", "Median", "p90"],
                      [(k if k != "all" else "**All**", s.n, _dur(s.median), _dur(s.p90))
                       for k, s in list(stats.items())[1:] + [("all", overall)] if s.n or k == "all"], "lrrr"))
    return out


def render_trends(report: Report, links: Links, charts: dict[str, str] | None = None, top: int = 30) -> str:
    """The trends page: incidents per quarter by severity, TTD and TTR per quarter, by
    service and by trigger. ``charts`` maps ``"quarters"``, ``"ttd"``, ``"ttr"``,
    ``"services"`` to relative SVG paths (missing: no chart)."""
    charts = charts or {}
    sev = {s: sum(pm.severity == s for pm in report.postmortems) for s in SEVERITIES}
    out = ["# Trends\n", _as_of(report)]
    out.append(f"**{_window(report)}** ({_sev_mix(sev) or 'none'}). "
               f"Median TTD **{_dur(report.ttd['all'].median)}** (n = {report.ttd['all'].n}), "
               f"median TTR **{_dur(report.ttr['all'].median)}** (n = {report.ttr['all'].n}).\n")
    last_year = [pm for pm in report.postmortems if (report.today - pm.date).days < 365]
    out.append(f"In the last 12 months: **{_plural(len(last_year), 'incident')}**"
               f" ({_sev_mix({s: sum(pm.severity == s for pm in last_year) for s in SEVERITIES}) or 'none'}).\n")
    out.append("## Incidents per quarter\n")
    if "quarters" in charts and report.per_quarter:
        out.append(f"![Incidents per quarter, stacked by severity]({charts['quarters']})\n")
    rows = [(q, *(c[s] or "" for s in SEVERITIES), sum(c.values())) for q, c in report.per_quarter if sum(c.values())]
    empty = len(report.per_quarter) - len(rows)
    note = f"; {_plural(empty, 'quarter')} without incidents left out" if empty else ""
    out.append(links.data(f"Data: incidents per quarter{note}", _table(["Quarter", *SEVERITIES, "Total"], rows,
                                                                         "lrrrrr"), len(rows)))
    out += _duration_section(report, "ttd", links, charts.get("ttd"))
    out += _duration_section(report, "ttr", links, charts.get("ttr"))
    out.append(f"*{PERCENTILE_NOTE}*\n")
    out.append("## By service\n")
    out.append("An incident counts once for each service it affected.\n")
    if "services" in charts and report.services:
        out.append(f"![Incidents per service, most affected first]({charts['services']})\n")
    out.append(links.data("Data: incidents per service",
                          _table(["Service", "Incidents"], [(md_text(s), n) for s, n in report.services[:top]], "lr"),
                          len(report.services[:top]), open_up_to=15))
    if len(report.services) > top:
        out.append(f"*{len(report.services) - top} more services with fewer incidents.*\n")
    out.append("## By trigger\n")
    out.append(f"*Data quality: {coverage_note(report.coverage, 'trigger')}*\n")
    out.append(_table(["Trigger", "Incidents"], [(md_text(t), n) for t, n in report.triggers[:top]], "lr"))
    if len(report.triggers) > top:
        out.append(f"*{len(report.triggers) - top} more triggers with fewer incidents.*\n")
    return "\n".join(out)


def render_data_quality(report: Report, links: Links) -> str:
    """The data-quality page: share of post-mortems (or action items) having each field."""
    out = ["# Data quality\n", _as_of(report)]
    cov = {c.field: c for c in report.coverage}
    out.append(f"TTD can be computed for **{cov['TTD'].share() or 0}%** of incidents, TTR for "
               f"**{cov['TTR'].share() or 0}%**, impact time for **{cov['impact time'].share() or 0}%**. "
               "Figures built on a small share describe only the incidents that recorded the timestamps; "
               "read their trends with care.\n")
    thin = [c for c in report.coverage if (c.share() or 0) < 50 and c.counts["all"][1]]
    if thin:
        out.append("Below half: " + ", ".join(f"**{c.field}** ({c.share()}%)" for c in thin) + ".\n")
    for unit in ("post-mortems", "action items"):
        rows = [c for c in report.coverage if c.unit == unit]
        totals = rows[0].counts
        out.append(f"## Share of {unit} with each field\n")
        header = ["Field", *(f"{s} ({totals[s][1]})" for s in SEVERITIES), f"All ({totals['all'][1]})"]
        out.append(_table(header, [(c.field, *(_pct_text(c, s) for s in SEVERITIES), f"**{_pct_text(c, 'all')}**")
                                   for c in rows], "lrrrrr"))
        out.append("Used by: " + "; ".join(f"{c.field} → {c.affects}" for c in rows) + ".\n")
    out.append("*The number after each severity is how many post-mortems (or action items, grouped by the severity "
               "of their incident) it has. Percentages are rounded half up. Impact time runs from started_at to "
               "mitigated_at, else to resolved_at.*\n")
    return "\n".join(out)


LEDGER_SHOWN = 200
"""Most ledger rows (overdue and open first), and most owners per table, on the action-items
page of the site; the whole ledger is in the ``api/action-items.csv`` and ``.json`` exports."""

PERIOD_LISTED = 50
"""A period page lists its incidents one per line up to this many (the newest ones beyond)."""

LEDGER_EXPORTS = ("api/action-items.csv", "api/action-items.json")
"""Docs-relative paths of the full ledger exports (written by :func:`site_pages`)."""


def render_action_items(report: Report, links: Links, limit: int | None = None,
                        exports: Sequence[str] = ()) -> str:
    """The action-item ledger: headline counts, counts per owner, then the items, overdue first.

    Args:
        limit: list at most this many items (overdue and open come first) and this many
            owners per table; ``None`` lists everything (the CLI).
        exports: docs-relative paths of the full ledger exports, linked when the list is cut.
    """
    ledger = report.ledger
    opened = sum(r.is_open for r in ledger)
    overdue = sum(r.overdue for r in ledger)
    done = sum(r.item.status == "done" for r in ledger)
    wont = sum(r.item.status == "wont-do" for r in ledger)
    out = ["# Action items\n", _as_of(report)]
    out.append(f"**{_plural(len(ledger), 'action item')}**: **{opened} open** (**{overdue} overdue**), "
               f"{done} done, {wont} won't do.\n")
    late = [o for o in report.owners if o.overdue]
    if late:
        out.append("Most overdue: " + ", ".join(f"{md_text(o.owner)} ({o.overdue})" for o in late[:5]) + ".\n")
    due = next(c for c in report.coverage if c.field == "action item due")
    if due.counts["all"][1] and (due.share() or 0) < 50:
        out.append(f"!!! warning \"Overdue counts are incomplete\"\n\n    Only {due.counts['all'][0]} of "
                   f"{due.counts['all'][1]} action items have a due date ({due.share()}%); an item without one is "
                   "never counted as overdue. Give every open item a `due:` date.\n")
    out.append(f"*Data quality: {coverage_note(report.coverage, 'action item due')} Items without a due date are "
               f"never overdue. {coverage_note(report.coverage, 'action item owner')}*\n")
    downloads = ""
    if exports and links.prefix is not None:
        downloads = " or ".join(f"[{name.rsplit('/', 1)[-1]}]({links.prefix}{name})" for name in exports)
    out.append("## By owner\n")
    header = ["Owner", "Open", "Overdue", "Done", "Won't do", "Total"]
    busy = [o for o in report.owners if o.open or o.overdue]
    idle = [o for o in report.owners if not (o.open or o.overdue)]

    def owner_rows(owners):
        return [(md_text(o.owner), o.open, o.overdue, o.done, o.wont_do, o.total) for o in owners]

    if busy:
        out.append(_table(header, owner_rows(busy[:limit] if limit else busy), "lrrrrr"))
        if limit and len(busy) > limit:
            out.append(f"*{len(busy) - limit} more owners with open items, fewer than those above.*\n")
    if idle:
        shown_idle = idle[:limit] if limit else idle
        more = f", the first {len(shown_idle)}" if len(shown_idle) < len(idle) else ""
        out.append(links.data(f"Owners with nothing open ({len(idle)}{more})",
                              _table(header, owner_rows(shown_idle), "lrrrrr"), len(shown_idle), open_up_to=0))
    out.append("## Ledger\n")
    shown = ledger[:limit] if limit else ledger
    if len(shown) < len(ledger):
        shown_open = sum(r.is_open for r in shown)
        what = (f"the {len(shown)} most urgent open items" if shown_open == len(shown)
                else f"all {shown_open} open items and the newest {len(shown) - shown_open} closed ones")
        out.append(f"Overdue first (most days late on top), then open by due date. Shown: {what} of "
                   f"{len(ledger)}; the whole ledger, with done and won't do, is in "
                   f"{downloads or 'the output of `pmkb report --format csv --table action-items`'}. "
                   "Age is days since the incident.\n")
    else:
        out.append("Overdue first (most days late on top), then open by due date, then done and won't do. "
                   "Age is days since the incident."
                   + (f" Also as {downloads}." if downloads else "") + "\n")
    rows = []
    for r in shown:
        status = f"**overdue {r.days_overdue} d**" if r.overdue else md_text(r.item.status)
        rows.append((status, r.item.due.isoformat() if r.item.due else "—", md_text(r.item.owner) or "—",
                     md_text(r.item.title), links.ticket(r.item.ticket),
                     f"{links.pm(r.postmortem)} {md_text(r.postmortem.severity)}", r.age_days))
    out.append(_table(["Status", "Due", "Owner", "Action item", "Ticket", "Incident", "Age (d)"], rows, "llllllr"))
    if len(shown) < len(ledger):
        out.append(f"*{len(ledger) - len(shown)} more action items in {downloads or 'the CSV export'}.*\n")
    return "\n".join(out)


def ledger_json(report: Report) -> str:
    """``api/action-items.json``: every action item (overdue first) and the per-owner counts."""
    import json

    return json.dumps({"version": 1, "today": report.today.isoformat(), "count": len(report.ledger),
                       "action_items": [r.as_dict() for r in report.ledger],
                       "owners": [o.as_dict() for o in report.owners]},
                      ensure_ascii=False, separators=(",", ":")) + "\n"


def render_period(summary: PeriodSummary, links: Links, today: dt.date) -> str:
    """A period page (a year or the current quarter) readable in two minutes."""
    n = len(summary.postmortems)
    to_date = " (to date)" if summary.start <= today <= summary.end or summary.end == today else ""
    out = [f"# {summary.title}{to_date}\n",
           f"*{summary.start.isoformat()} to {summary.end.isoformat()}; as of {today.isoformat()} (UTC).*\n"]
    if not n:
        out.append("No incidents in this period.\n")
        return "\n".join(out)
    out.append(f"**{_plural(n, 'incident')}** ({_sev_mix(summary.severities)}). "
               f"Median TTD **{_dur(summary.ttd.median)}** (n = {summary.ttd.n}), "
               f"median TTR **{_dur(summary.ttr.median)}** (n = {summary.ttr.n}).\n")
    bits = []
    if summary.recurring_clusters:
        bits.append(f"**{len(summary.recurring_clusters)}** known problems came back")
    if summary.new_clusters:
        bits.append(f"**{len(summary.new_clusters)}** recurring problems started")
    if bits:
        out.append("; ".join(bits) + ".\n")
    out.append(f"Action items from these incidents: **{summary.items_done} done**, {summary.items_open} open "
               f"({summary.items_overdue} overdue).\n")
    out.append("## Worst incidents\n")
    out += [_incident_line(pm, links) for pm in summary.worst] + [""]
    if summary.recurring_clusters or summary.new_clusters:
        out.append("## Recurring problems\n")
        rows = [(links.cluster(c), "came back" if c in summary.recurring_clusters else "new",
                 c.count, c.members[0].date.isoformat(),
                 sum(1 for pm in c.members if summary.start <= pm.date <= summary.end))
                for c in summary.recurring_clusters + summary.new_clusters]
        out.append(_table(["Problem", "Status", "Incidents (all time)", "First seen", "In this period"], rows, "llrlr"))
    if n > len(summary.worst):
        out.append("## All incidents\n")
        listed = summary.postmortems[-PERIOD_LISTED:]
        if len(listed) < n:
            where = (f" (all of them in the {'[incident index](' + links.prefix + 'incidents/index.md)'})"
                     if links.prefix is not None else "")
            out.append(f"The latest {len(listed)} of {n}{where}:\n")
        out += [_incident_line(pm, links, impact=False) for pm in listed] + [""]
    out.append("*Action items carry no completion date, so \"done\" counts the items of this period's incidents "
               "that are marked done now.*\n")
    return "\n".join(out)


def render_index(report: Report, links: Links, years: Sequence[PeriodSummary], quarter: PeriodSummary,
                 quarter_page: str, chart: str | None = None) -> str:
    """The reports landing page: the headline numbers and links to every report."""
    sev = {s: sum(pm.severity == s for pm in report.postmortems) for s in SEVERITIES}
    last_year = [pm for pm in report.postmortems if (report.today - pm.date).days < 365]
    overdue = sum(r.overdue for r in report.ledger)
    opened = sum(r.is_open for r in report.ledger)
    out = ["# Reliability reports\n", _as_of(report)]
    out.append(f"- **Incidents:** {_window(report)} ({_sev_mix(sev) or 'none'}); "
               f"{len(last_year)} in the last 12 months.")
    if report.clusters:
        top = report.clusters[:3]
        listed = "; ".join(f"{links.cluster(c)} ({c.count}×, last {c.members[-1].date.year})" for c in top)
        out.append(f"- **Hurting most:** {listed}. {len(report.clusters)} recurring problems in all, "
                   f"{sum(1 for c in report.clusters if c.recurred_after_fix)} came back after a fix.")
    out.append(f"- **Detection and resolution:** median TTD {_dur(report.ttd['all'].median)} "
               f"(p90 {_dur(report.ttd['all'].p90)}, n = {report.ttd['all'].n}); median TTR "
               f"{_dur(report.ttr['all'].median)} (p90 {_dur(report.ttr['all'].p90)}, n = {report.ttr['all'].n}).")
    out.append(f"- **Action items:** {opened} open, **{overdue} overdue**.\n")
    if chart:
        out.append(f"![Incidents per quarter, stacked by severity]({chart})\n")
    out.append("## Reports\n")
    out.append(f"- {links.page('recurrence.md', 'Recurring problems')}: what keeps coming back, ranked by how much "
               "it hurts.")
    out.append(f"- {links.page('trends.md', 'Trends')}: incidents per quarter, TTD and TTR, services and triggers.")
    out.append(f"- {links.page('action-items.md', 'Action items')}: every follow-up, overdue first, per owner.")
    out.append(f"- {links.page('data-quality.md', 'Data quality')}: how complete the data behind these figures is.\n")
    out.append("## By period\n")
    out.append(f"- {links.page(quarter_page, quarter.title + ' (to date)')}: "
               f"{_plural(len(quarter.postmortems), 'incident')}")
    for y in years:
        if y.postmortems:
            out.append(f"- {links.page(y.title + '.md', y.title)}: {_plural(len(y.postmortems), 'incident')}"
                       f" ({_sev_mix(y.severities)})")
    out.append("")
    return "\n".join(out)


def render_cli_markdown(report: Report) -> str:
    """The Markdown that ``pmkb report --format md`` prints: recurrence, trends, data quality
    and action items, without charts or links."""
    links = Links(None)
    return "\n".join([render_recurrence(report, links), render_trends(report, links),
                      render_data_quality(report, links), render_action_items(report, links)])


# --- site pages ----------------------------------------------------------------------------


class ChartJob:
    """A chart of :func:`site_pages` not drawn yet: ``job()`` returns the SVG as UTF-8 bytes.

    Plain data and a function name of :mod:`generator.charts`, so the plugin can draw the
    charts in a forked worker process while MkDocs renders the pages.
    """

    def __init__(self, function: str, *args, **kwargs):
        self.function, self.args, self.kwargs = function, args, kwargs

    def __call__(self) -> bytes:
        from . import charts

        return getattr(charts, self.function)(*self.args, **self.kwargs).encode("utf-8")


class _ChartJobs:
    """Stands for :mod:`generator.charts` in :func:`site_pages`: every call becomes a :class:`ChartJob`."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: ChartJob(name, *args, **kwargs)


def site_pages(analysis, settings, today: dt.date, defer_charts: bool = False) -> dict[str, str | bytes]:
    """Every report page and chart of the site, ready to add as in-memory files.

    Args:
        analysis: :class:`generator.analysis.Analysis` of the corpus (post-mortems and clusters).
        settings: :class:`generator.settings.Settings` (not used yet; kept for options).
        today: reference date (UTC) for ages, recency, overdue and the current quarter.

    Returns:
        Site-relative path -> content, in navigation order: Markdown pages (``str``) at
        ``reports/index.md``, ``reports/recurrence.md``, ``reports/trends.md``,
        ``reports/action-items.md``, ``reports/data-quality.md``, ``reports/<YYYY>-q<N>.md``
        (the current quarter), ``reports/<YYYY>.md`` (each year with incidents, and the current
        one; newest first), then SVG charts (``bytes``, UTF-8) under ``reports/charts/``. The
        action-items page lists the :data:`LEDGER_SHOWN` most urgent items and links the full
        ledger exports of :func:`site_exports`.

    URL assumptions: links are relative Markdown links between source paths, which MkDocs
    resolves to page URLs. A post-mortem is linked as ``../<pm.path>``, a cluster as
    ``../clusters/<cluster id lowercase>.md`` (pages the site plugin writes), charts as
    ``charts/<name>.svg`` from the report pages.

    With ``defer_charts``, the charts are :class:`ChartJob` objects instead of bytes (drawing
    them is most of the time spent here; the plugin draws them in parallel with the pages).
    """
    report = _site_report(analysis, today)
    links = Links("../")
    years = year_summaries(report.postmortems, report.clusters, today)
    quarter = current_quarter_summary(report.postmortems, report.clusters, today)
    quarter_page = quarter_of(today).lower() + ".md"
    svgs: dict[str, ChartJob] = {}

    charts = _ChartJobs()
    if report.clusters:
        top = report.clusters[:15]
        first = min(c.members[0].date for c in top)
        svgs["recurring-problems.svg"] = charts.cluster_timeline(
            [(c.label, [(pm.date, pm.severity) for pm in c.members]) for c in top],
            f"The {len(top)} recurring problems that hurt most, one dot per incident",
            start=dt.date(first.year, 1, 1), end=dt.date(today.year + 1, 1, 1))
    if report.per_quarter:
        quarters = [q for q, _ in report.per_quarter]
        svgs["incidents-per-quarter.svg"] = charts.stacked_bars(
            quarters, {s: [c[s] for _, c in report.per_quarter] for s in SEVERITIES},
            "Incidents per quarter, by severity")
        for metric, title in (("ttd", "Time to detect"), ("ttr", "Time to resolve")):
            unit, per_period = report.duration_periods(metric)
            if any(s.n for _, s in per_period):
                svgs[f"{metric}-per-{unit}.svg"] = charts.median_p90(
                    [p for p, _ in per_period], [s.median for _, s in per_period], [s.p90 for _, s in per_period],
                    f"{title} per {unit} (median and p90, log scale)", counts=[s.n for _, s in per_period])
    if report.services:
        top_services = report.services[:15]
        svgs["services.svg"] = charts.horizontal_bars([s for s, _ in top_services], [n for _, n in top_services],
                                                      "Incidents per service (top 15)")

    def chart(name: str) -> str | None:
        return f"charts/{name}" if name in svgs else None

    pages: dict[str, str | bytes] = {
        "reports/index.md": render_index(report, links, years, quarter, quarter_page,
                                         chart("incidents-per-quarter.svg")),
        "reports/recurrence.md": render_recurrence(report, links, chart("recurring-problems.svg")),
        "reports/trends.md": render_trends(report, links, {
            k: v for k, v in {"quarters": chart("incidents-per-quarter.svg"),
                              "ttd": chart(f"ttd-per-{report.duration_periods('ttd')[0]}.svg"),
                              "ttr": chart(f"ttr-per-{report.duration_periods('ttr')[0]}.svg"),
                              "services": chart("services.svg")}.items() if v}),
        "reports/action-items.md": render_action_items(report, links, LEDGER_SHOWN, LEDGER_EXPORTS),
        "reports/data-quality.md": render_data_quality(report, links),
        f"reports/{quarter_page}": render_period(quarter, links, today),
    }
    for y in years:
        pages[f"reports/{y.title}.md"] = render_period(y, links, today)
    for name, job in svgs.items():
        pages[f"reports/charts/{name}"] = job if defer_charts else job()
    return pages


_LAST_REPORT: list = []   # [(analysis, today, report)]: site_pages' report, reused by site_exports


def _site_report(analysis, today: dt.date) -> Report:
    """The report of ``analysis`` as of ``today``, computed once per build for both hooks."""
    if _LAST_REPORT and _LAST_REPORT[0][0] is analysis and _LAST_REPORT[0][1] == today:
        return _LAST_REPORT[0][2]
    report = build_report(analysis.postmortems, analysis.clusters, today, warnings=analysis.warnings)
    _LAST_REPORT[:] = [(analysis, today, report)]
    return report


def site_exports(analysis, settings, today: dt.date) -> dict[str, str]:
    """The full action-item ledger for tools: ``{LEDGER_EXPORTS[0]: CSV, LEDGER_EXPORTS[1]: JSON}``.

    The action-items page lists the :data:`LEDGER_SHOWN` most urgent items and links these
    (same rows and columns as ``pmkb report --format csv --table action-items``).
    """
    report = _site_report(analysis, today)
    return {LEDGER_EXPORTS[0]: report_csv(report, "action-items"), LEDGER_EXPORTS[1]: ledger_json(report)}


# --- feed ----------------------------------------------------------------------------------


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(postmortems: Sequence[Postmortem], site_url: str, today: dt.date, limit: int = 20,
              title: str = "Incident post-mortems",
              page_url: Callable[[Postmortem], str] | None = None) -> str:
    """An Atom 1.0 feed (RFC 4287) of the newest published post-mortems.

    Args:
        postmortems: the corpus; only ``status`` final or in-review, dated on or before
            ``today``, are included, newest first (by date, then id), at most ``limit``.
        site_url: absolute site URL (``https://kb.example.com/``); entry links are resolved
            against it.
        today: reference date (UTC); also the feed's ``updated`` when no entry qualifies.
        page_url: post-mortem -> URL relative to the site (default ``<slug>/``, MkDocs'
            ``use_directory_urls``).

    Returns:
        The feed as UTF-8 XML text. Each entry's ``updated`` is its ``resolved_at`` (else
        ``mitigated_at``, ``detected_at``, ``started_at``, else the date at 00:00 UTC), so the
        output never depends on the clock. Built with the standard library's ElementTree.
    """
    import xml.etree.ElementTree as ET

    ns = "http://www.w3.org/2005/Atom"
    base = site_url if site_url.endswith("/") else site_url + "/"
    page_url = page_url or (lambda pm: f"{pm.slug}/")
    chosen = sorted((pm for pm in postmortems if pm.status in PUBLISHED_STATUSES and pm.date <= today),
                    key=lambda pm: (pm.date, pm.id), reverse=True)[:limit]

    def updated(pm: Postmortem) -> str:
        moment = pm.resolved_at or pm.mitigated_at or pm.detected_at or pm.started_at
        if moment is None:
            return f"{pm.date.isoformat()}T00:00:00Z"
        return _utc(moment)

    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed")

    def sub(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    sub(feed, "title", title)
    sub(feed, "id", base)
    sub(feed, "link", href=base)
    sub(feed, "link", rel="self", href=base + "feed.xml")
    sub(feed, "updated", max((updated(pm) for pm in chosen), default=f"{today.isoformat()}T00:00:00Z"))
    sub(feed, "generator", "postmortem-kb")
    for pm in chosen:
        url = base + page_url(pm)
        entry = sub(feed, "entry")
        sub(entry, "title", f"{pm.id}: {pm.title}")
        sub(entry, "id", url)
        sub(entry, "link", href=url, rel="alternate")
        sub(entry, "published", f"{pm.date.isoformat()}T00:00:00Z")
        sub(entry, "updated", updated(pm))
        for name in pm.authors or ["unknown"]:
            sub(sub(entry, "author"), "name", name)
        sub(entry, "category", term=pm.severity)
        for service in pm.services:
            sub(entry, "category", term=service)
        summary = pm.summary or pm.root_cause or pm.title
        sub(entry, "summary", f"{pm.severity} · {', '.join(pm.services)} · {summary}", type="text")
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


# --- CSV -----------------------------------------------------------------------------------

CSV_TABLES = ("clusters", "quarters", "ttd-quarter", "ttr-quarter", "ttd-year", "ttr-year", "services", "triggers",
              "data-quality", "action-items", "owners")
"""Tables ``pmkb report --format csv --table NAME`` can print (one table per run, for a spreadsheet)."""


def report_csv(report: Report, table: str = "clusters") -> str:
    """One table of the report as CSV (RFC 4180, header row first, ``\\r\\n`` line ends).

    Durations are in seconds, dates ISO 8601, lists space-separated, booleans ``true``/``false``,
    unknown values empty. ``table`` is one of :data:`CSV_TABLES`.

    Every text cell goes through :func:`generator.csvsafe.cell` (OWASP "CSV Injection"): one
    that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a title, label,
    owner, ticket, service, ...) gets a leading ``'`` so a spreadsheet shows it as text instead of
    running it as a formula. The numbers this function writes (seconds, scores, counts) are
    never negative and are never quoted.
    """
    import csv
    import io

    from .csvsafe import row as safe_row

    def num(value):
        """A number as the cell shows it (integral floats without ``.0``), ``""`` when unknown."""
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return round(value, 3) if isinstance(value, float) else value

    def flag(value: bool) -> str:
        return "true" if value else "false"

    rows: list[list[object]]
    if table == "clusters":
        header = ["rank", "id", "label", "score", "incidents", *(s.lower() for s in SEVERITIES), "first", "last",
                  "days_since_last", "intervals_days", "median_interval_days", "impact_seconds", "impact_known",
                  "open_items", "overdue_items", "done_items", "recurred_after_fix", "recurred_after_fix_members",
                  "no_open_action_item", "members", "services"]
        rows = [[rank, c.id, c.label, num(round(c.score, 3)), c.count, *(c.severities.get(s, 0) for s in SEVERITIES),
                 c.members[0].date.isoformat(), c.members[-1].date.isoformat(), c.days_since_last,
                 " ".join(map(str, c.intervals_days)), num(c.median_interval_days), num(c.impact_seconds),
                 c.impact_known, c.open_items, c.overdue_items, c.action_counts.get("done", 0),
                 flag(bool(c.recurred_after_fix)), " ".join(c.recurred_after_fix), flag(c.no_open_action_item),
                 " ".join(pm.id for pm in c.members), " ".join(c.cluster.services)]
                for rank, c in enumerate(report.clusters, 1)]
    elif table == "quarters":
        header = ["quarter", *(s.lower() for s in SEVERITIES), "total"]
        rows = [[q, *(c[s] for s in SEVERITIES), sum(c.values())] for q, c in report.per_quarter]
    elif table in ("ttd-quarter", "ttr-quarter", "ttd-year", "ttr-year"):
        metric, unit = table.split("-")
        data = getattr(report, f"{metric}_per_{unit}")
        header = [unit, "n", "median_seconds", "p90_seconds"]
        rows = [[p, s.n, num(s.median), num(s.p90)] for p, s in data]
    elif table == "services":
        header = ["service", "incidents"]
        rows = [list(r) for r in report.services]
    elif table == "triggers":
        header = ["trigger", "incidents"]
        rows = [list(r) for r in report.triggers]
    elif table == "data-quality":
        header = ["field", "unit", "affects"] + [f"{k.lower()}_{part}" for k in (*SEVERITIES, "all")
                                                 for part in ("have", "total", "percent")]
        rows = [[c.field, c.unit, c.affects] + [num(v) for k in (*SEVERITIES, "all")
                                                for v in (*c.counts[k], c.share(k))] for c in report.coverage]
    elif table == "action-items":
        header = ["postmortem", "incident_date", "severity", "title", "owner", "status", "due", "ticket", "age_days",
                  "overdue", "days_overdue", "path"]
        rows = [[r.postmortem.id, r.postmortem.date.isoformat(), r.postmortem.severity, r.item.title,
                 r.item.owner or "", r.item.status, r.item.due.isoformat() if r.item.due else "", r.item.ticket or "",
                 r.age_days, flag(r.overdue), r.days_overdue, r.postmortem.path] for r in report.ledger]
    elif table == "owners":
        header = ["owner", "open", "overdue", "done", "wont_do", "total"]
        rows = [[o.owner, o.open, o.overdue, o.done, o.wont_do, o.total] for o in report.owners]
    else:
        raise ValueError(f"unknown table {table!r} (known: {', '.join(CSV_TABLES)})")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(safe_row(header))
    writer.writerows(safe_row(r) for r in rows)
    return out.getvalue()
