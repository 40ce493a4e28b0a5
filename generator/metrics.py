"""Recurrence and reliability metrics over the model: numbers and records, no Markdown, no HTML.

Everything here is a pure function of the post-mortems, the clusters and an explicit ``today``
(a calendar date, UTC): nothing reads the clock, so every figure can be tested against a value
computed by hand. Durations are seconds; dates are the incident's ``date`` (the day it started,
as written in the post-mortem). The report pages (:mod:`generator.report_pages`), the exports
(:mod:`generator.exports`) and ``pmkb report`` render the same :class:`Report`.

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
* **Days between recurrences** of a problem are counted between the distinct days its incidents
  started: incidents of one problem that started on the same day are one occurrence (one
  external event, such as the 2012 leap second that hit several companies at once, is not a
  recurrence 0 days later). Their **median** ("every N days") is the statistical median
  (:func:`statistics.median`: the middle value, or the mean of the two middle values for an
  even count; [808, 258] -> 533), not the nearest-rank one: it describes a rhythm, and need
  not be a gap some pair of incidents really had.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from .model import SEVERITIES, ActionItem, Cluster, Postmortem

OPEN_STATUSES = ("open", "in-progress")
"""Action-item statuses that count as open (not yet done, not abandoned)."""

SEVERITY_WEIGHT = {"SEV1": 8.0, "SEV2": 4.0, "SEV3": 2.0, "SEV4": 1.0}
"""Weight of one incident in the recurrence ranking: each level counts twice the one below."""

HALF_LIFE_DAYS = 1095
"""Recency half-life of the recurrence ranking, in days: an incident three years old counts half."""

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
    consecutive occurrence days (:func:`recurrence_intervals`: same-day incidents are one); ``impact_seconds`` the sum of the known impact times and
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
        """Median days between recurrences: the statistical median of :attr:`intervals_days`
        (:func:`statistics.median`, the mean of the two middle values for an even count:
        [0, 1645] would give 822.5, [808, 258] gives 533), ``None`` for a single occurrence day."""
        return statistics.median(self.intervals_days) if self.intervals_days else None

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


def recurrence_intervals(members: Sequence[Postmortem]) -> list[int]:
    """Days between the consecutive distinct days on which ``members`` (any order) started:
    incidents that started on the same day count as one occurrence of the problem (one event,
    not a recurrence after 0 days). ``[2012-06-30, 2012-06-30, 2016-12-31]`` -> ``[1645]``."""
    days = sorted({pm.date for pm in members})
    return [(b - a).days for a, b in zip(days, days[1:])]


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
        overdue = sum(is_overdue(item, today) for _, item in items)
        durations = [pm.duration for pm in members if pm.duration is not None]
        out.append(ClusterSummary(
            cluster=cluster,
            members=members,
            score=hurt_score(members, today),
            severities=severities,
            intervals_days=recurrence_intervals(members),
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


# --- action items --------------------------------------------------------------------------


def is_overdue(item: ActionItem, today: dt.date) -> bool:
    """Open (``open``/``in-progress``) with a ``due`` date before ``today``."""
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
            overdue = is_overdue(item, today)
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
        items_overdue=sum(is_overdue(item, today) for item in items),
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
    today_is_latest: bool = False
    """``today`` is the latest incident's date (the ``today: latest`` option), not the day of
    the build: the pages say so beside "As of", so a knowledge base that copied the demo's
    option sees why its figures stop at that day."""

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
                 since: dt.date | None = None, warnings: Sequence[str] = (), drafts_left_out: int = 0,
                 today_is_latest: bool = False) -> Report:
    """Compute every figure.

    Args:
        postmortems: the whole corpus (cluster members are looked up here).
        clusters: recurring problems (:attr:`Analysis.clusters`, or hand-built).
        today: reference date (UTC) for ages, recency and overdue.
        since: keep only incidents dated on or after it (``None``: all).
        drafts_left_out: how many drafts the caller removed from ``postmortems`` (shown on
            every page, with how to include them).
        today_is_latest: ``today`` came from the ``today: latest`` option (said on every page).

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
        warnings=list(warnings), drafts_left_out=drafts_left_out, today_is_latest=today_is_latest,
    )


# --- orderings shared by every page -----------------------------------------------------------


def newest_first(postmortems: Iterable[Postmortem]) -> list[Postmortem]:
    """Post-mortems by date, newest first; ties by start time then id, both descending.

    The one order of every incident list of the site (index, services, tags, clusters, home).
    """
    return sorted(postmortems, key=lambda p: (p.date, p.started_at.timestamp() if p.started_at else 0.0, p.id),
                  reverse=True)
