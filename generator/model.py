"""The incident model: post-mortems, action items and validation problems.

Everything downstream (validation, similarity, clusters, reports, the MkDocs plugin) works on
these dataclasses; nothing here imports YAML, MkDocs or scikit-learn.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
"""Severity levels, worst first (the usual SEV1..SEV4 incident scale)."""

STATUSES = ("draft", "in-review", "final")
ACTION_ITEM_STATUSES = ("open", "in-progress", "done", "wont-do")
VISIBILITIES = ("public", "internal")
"""Values of ``visibility`` (format v2): the public build of the site leaves ``internal`` out."""

REQUIRED_FIELDS = ("id", "title", "date", "severity", "status", "services", "authors")
TIMESTAMP_FIELDS = ("started_at", "detected_at", "mitigated_at", "resolved_at")

REQUIRED_FINAL_SECTIONS = ("Summary", "Impact", "Root cause", "Action items")
STANDARD_SECTIONS = (
    "Summary",
    "Impact",
    "Timeline",
    "Root cause",
    "Trigger",
    "Detection",
    "Resolution",
    "Action items",
    "Lessons learned",
)

NOTES_SECTIONS = ("Notes", "Sources", "References")
"""Level-2 sections about the write-up itself rather than the incident: provenance, where the
facts come from, how a date was set, editorial remarks. They are published like any other
section, but similarity (TF-IDF, the sentence model, cluster labels) does not read them: the
same remark about how dates were set, written in twenty post-mortems of different problems,
would otherwise link those post-mortems to each other (benchmarks/README.md, "Notes about the
write-up"). Headings match case-insensitively, as ``scan.section_key`` normalises them."""


@dataclass(frozen=True)
class Problem:
    """One validation finding.

    ``line`` and ``column`` are 1-based positions in the file as written (a CRLF pair counts as
    one line break); either may be ``None`` when the problem concerns the whole file.
    ``field`` is a dotted path such as ``action_items[1].due``, a body section's heading such as
    ``## Summary`` (a section missing, empty or unwritten), or ``None``.
    ``code`` is stable across releases (documented in the README) and ``message`` quotes the
    offending value as written, already masked when it is a secret or personal data.
    """

    path: str
    line: int | None
    column: int | None
    field: str | None
    level: str  # "error" | "warning"
    code: str
    message: str
    fix: str

    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.column or 0, self.code, self.field or "")

    @property
    def location(self) -> str:
        """``path:line:column``, leaving out what is unknown (``path`` or ``path:line``)."""
        out = self.path
        if self.line is not None:
            out += f":{self.line}"
            if self.column is not None:
                out += f":{self.column}"
        return out

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "level": self.level,
            "code": self.code,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class ActionItem:
    """A follow-up from a post-mortem. ``due`` is a calendar date or ``None``.

    Format v2 adds ``done_at``, when the item was done: a calendar date, or a timezone-aware
    datetime in the offset as written (``None`` when not written, and always in v1), and
    ``addresses``, the cause it addresses (``root-cause`` or one of the post-mortem's
    ``contributing_factors``, kebab-case).
    """

    title: str
    owner: str | None = None
    status: str = "open"
    due: dt.date | None = None
    ticket: str | None = None
    done_at: dt.date | dt.datetime | None = None
    addresses: str | None = None


@dataclass(frozen=True)
class Source:
    """Where a post-mortem came from (format v2 ``source``): provenance, never indexed for
    similarity. ``system`` is kebab-case (``incident-io``, ``jira``), ``id`` the incident's id
    there, ``url`` an http(s) URL, ``imported_at`` a timezone-aware datetime; all but
    ``system`` may be ``None``."""

    system: str
    id: str | None = None
    url: str | None = None
    imported_at: dt.datetime | None = None


@dataclass
class Postmortem:
    """One incident as loaded from ``postmortems/``.

    Timestamps are timezone-aware datetimes as written (their own UTC offset is kept);
    ``date`` is the calendar date the incident started. ``path`` is the file's path relative
    to the docs folder, with forward slashes. ``body`` is the Markdown after the front matter,
    ``body_line`` the 1-based file line on which it starts.

    ``format`` is the format version the file is written in (1, or 2 with ``format: 2``). The
    v2 fields keep their defaults in a v1 file: ``contributing_factors`` (kebab-case terms
    besides the one root cause), ``near_miss`` (caught before it affected anyone), ``source``
    (provenance) and ``visibility`` (``public``, ``internal``, or ``None`` when not written:
    the plugin option ``default_visibility`` decides).
    """

    id: str
    title: str
    date: dt.date
    severity: str
    status: str
    services: list[str]
    authors: list[str]
    path: str
    tags: list[str] = field(default_factory=list)
    summary: str = ""
    started_at: dt.datetime | None = None
    detected_at: dt.datetime | None = None
    mitigated_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    trigger: str = ""
    root_cause: str = ""
    related: list[str] = field(default_factory=list)
    not_related: list[str] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    format: int = 1
    contributing_factors: list[str] = field(default_factory=list)
    near_miss: bool = False
    source: Source | None = None
    visibility: str | None = None
    body: str = ""
    body_line: int = 1
    sections: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """The file name without ``.md`` (used for page URLs)."""
        return Path(self.path).stem

    def _since_start(self, later: dt.datetime | None) -> float | None:
        if self.started_at is None or later is None:
            return None
        return (later - self.started_at).total_seconds()

    @property
    def time_to_detect(self) -> float | None:
        """Seconds from ``started_at`` to ``detected_at`` (TTD), or ``None`` if either is missing."""
        return self._since_start(self.detected_at)

    @property
    def time_to_mitigate(self) -> float | None:
        """Seconds from ``started_at`` to ``mitigated_at``, or ``None`` if either is missing."""
        return self._since_start(self.mitigated_at)

    @property
    def time_to_resolve(self) -> float | None:
        """Seconds from ``started_at`` to ``resolved_at`` (TTR), or ``None`` if either is missing."""
        return self._since_start(self.resolved_at)

    @property
    def duration(self) -> float | None:
        """Seconds of customer impact: ``started_at`` to ``mitigated_at``, else to ``resolved_at``."""
        return self._since_start(self.mitigated_at or self.resolved_at)


def format_duration(seconds: float | None) -> str:
    """Render a duration in seconds as ``2 h 28 min`` / ``45 min`` / ``3 d 4 h``; ``—`` for None."""
    if seconds is None:
        return "—"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@dataclass(frozen=True)
class RelatedLink:
    """A link from one post-mortem to a related one.

    ``score`` is the cosine similarity of the two TF-IDF vectors (0..1); ``terms`` are the
    terms with the largest products of the two TF-IDF weights, most important first (at most
    five); ``pinned`` is True when the author listed the id in ``related:`` (always shown).
    ``via`` says which ranking found it: ``"tfidf"``, ``"semantic"`` (only the sentence model
    of the ``[semantic]`` extra) or ``"both"``; ``"pinned"`` for pinned links.

    ``fused`` is set when the list was ordered by fusing the TF-IDF ranking with the sentence
    model's (``[semantic]`` extra, :mod:`generator.semantic`): the reciprocal-rank-fusion
    score scaled to 0..1, 1.0 for a post-mortem ranked first by both (see
    :func:`generator.semantic.fused_score`). Such a list is ordered by ``fused``, not by
    ``score``; ``None`` when the list is ordered by ``score`` (TF-IDF alone, or a pinned link).
    """

    id: str
    score: float
    terms: tuple[str, ...] = ()
    pinned: bool = False
    via: str = "tfidf"
    fused: float | None = None


RANKED_BY_SCORE = "ranked by score: TF-IDF cosine similarity (0..1)"
RANKED_BY_FUSED = ("ranked by fused score: the TF-IDF and sentence-model rankings combined "
                   "(1.00 = first in both); cosine = TF-IDF similarity (0..1)")


def ranked_by(links) -> str:
    """What orders a list of :class:`RelatedLink`: :data:`RANKED_BY_FUSED` when any computed
    link carries a ``fused`` score, else :data:`RANKED_BY_SCORE`. Pinned links come first in
    either case (ordered by ``score``). Every output that prints a list says this."""
    return RANKED_BY_FUSED if any(link.fused is not None for link in links) else RANKED_BY_SCORE


def _iso(moment: dt.date | dt.datetime) -> str:
    return moment.isoformat()


@dataclass(frozen=True)
class Recurrence:
    """A member of a cluster that started after an action item of an earlier member was done:
    the fix did not hold.

    ``member`` started at ``started`` (its ``started_at``, else its ``date``); ``item`` is the
    title of the action item of ``fixed_in`` that was done at ``done_at`` (a date or an aware
    datetime, as written), the latest fix done before ``member`` started. ``days`` counts whole
    days from ``done_at`` to ``started`` (elapsed 24-hour periods when both are timestamps, else
    calendar days; 0 = within a day). ``fixes_before`` counts every dated ``done`` item of the
    earlier members done before ``member`` started (``item`` is one of them).
    """

    member: str
    started: dt.date | dt.datetime
    fixed_in: str
    item: str
    done_at: dt.date | dt.datetime
    days: int
    fixes_before: int = 1

    @property
    def after(self) -> str:
        """How long after the fix: ``41 days``, ``1 day``, ``less than a day``."""
        return {0: "less than a day", 1: "1 day"}.get(self.days, f"{self.days} days")

    @property
    def done_day(self) -> dt.date:
        """The day the fix was done (a timestamp's day in its own offset)."""
        return self.done_at.date() if isinstance(self.done_at, dt.datetime) else self.done_at

    def sentence(self) -> str:
        """``PM-2024-031 started 41 days after 'Automate renewal' was done in PM-2024-017``."""
        return f"{self.member} started {self.after} after '{self.item}' was done in {self.fixed_in}"

    def as_dict(self) -> dict:
        """JSON-ready: ``{"id", "started", "fixed_in", "item", "done_at", "days", "fixes_before"}``,
        dates and timestamps ISO 8601 as written."""
        return {"id": self.member, "started": _iso(self.started), "fixed_in": self.fixed_in, "item": self.item,
                "done_at": _iso(self.done_at), "days": self.days, "fixes_before": self.fixes_before}


FIX_OUTCOMES = ("did-not-hold", "unknown", "held", "no-fix")
"""What became of a recurring problem's fixes (:attr:`Cluster.fix_outcome`), the worst first."""


@dataclass
class Cluster:
    """A recurring problem: post-mortems that describe the same underlying failure.

    ``id`` is derived from the earliest member (``C-`` + its id), so it does not change when a
    later incident joins. ``members`` are ids in date order (ties by id); ``first``/``last``
    the dates of the first and last occurrence. ``action_items`` pairs each member's id with
    its action items.

    Recurrence after a fix (:func:`generator.clusters.recurred_after_fix`): ``recurrences``
    holds a :class:`Recurrence` for each member that started after an action item of an
    earlier member was done (``done_at``, format v2), and ``recurred_after_fix`` their ids, in
    member order: the fix did not hold. ``recurrence_unknown`` lists the members for which it
    cannot be told: they started after an earlier member with a ``done`` item whose day is not
    recorded (format v1), or on the very day such an item was done.

    ``label`` is what pages show: the hand-given ``name`` (problems file,
    :mod:`generator.problems`) when there is one, else ``generated_label`` (the phrases the
    members share, :mod:`generator.labels`). ``owner`` and ``note`` come from the problems file.
    """

    id: str
    label: str
    members: list[str]
    first: dt.date
    last: dt.date
    services: list[str] = field(default_factory=list)
    severities: dict[str, int] = field(default_factory=dict)
    terms: tuple[str, ...] = ()
    action_items: list[tuple[str, ActionItem]] = field(default_factory=list)
    recurred_after_fix: list[str] = field(default_factory=list)
    recurrences: list[Recurrence] = field(default_factory=list)
    recurrence_unknown: list[str] = field(default_factory=list)
    name: str = ""
    owner: str = ""
    note: str = ""
    generated_label: str = ""

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def fix_outcome(self) -> str:
        """One of :data:`FIX_OUTCOMES`: ``did-not-hold`` (a member came back after a fix),
        ``unknown`` (none is known to, but one may have: see ``recurrence_unknown``), ``held``
        (an action item is done and no member started after it), ``no-fix`` (no item is done)."""
        if self.recurred_after_fix:
            return "did-not-hold"
        if self.recurrence_unknown:
            return "unknown"
        if any(item.status == "done" for _, item in self.action_items):
            return "held"
        return "no-fix"

    def recurrence_as_dict(self) -> dict:
        """The recurrence fields of the JSON outputs (``pmkb clusters``, ``pmkb report``):
        ``{"fix_outcome", "recurred_after_fix": [ids], "recurrences": [Recurrence.as_dict()],
        "recurrence_unknown": [ids]}``."""
        return {"fix_outcome": self.fix_outcome,
                "recurred_after_fix": list(self.recurred_after_fix),
                "recurrences": [r.as_dict() for r in self.recurrences],
                "recurrence_unknown": list(self.recurrence_unknown)}
