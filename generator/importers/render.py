"""Turning a record into the text of a format v2 post-mortem file.

:func:`finish` applies the run's options to a record (severity and status maps, defaults,
the title limit) and :func:`render` writes the file: front matter in the format's field order,
scalars quoted exactly when YAML would read them as something else (PyYAML's emitter decides,
so ``no``, ``1.20`` and ``2024-03-14`` in a text field come out quoted), the body with the
standard sections first in the usual order, then the source's other sections in their order.
Nothing of the source's provenance (system, company, URL) goes into the body's prose.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import yaml

from ..model import REQUIRED_FINAL_SECTIONS
from .record import STANDARD_ORDER, Record, format_time, kebab, map_severity, map_status, one_line

TITLE_LIMIT = 120


@dataclass
class RenderOptions:
    """The run's choices for fields a source may not give. ``severity_map``/``status_map`` have
    lower-case keys; ``default_service``/``default_author`` are used when a record names none."""

    default_severity: str = "SEV3"
    default_service: str = "unspecified"
    default_author: str = "unknown"
    severity_map: dict[str, str] = field(default_factory=dict)
    status_map: dict[str, str] = field(default_factory=dict)


@dataclass
class Finished:
    """A record ready to write: the values the file gets, and the notes of what was decided
    (``default-severity``, ``default-service``, ``title-cut`` ...) for the run's summary."""

    record: Record
    severity: str
    status: str
    services: list[str]
    authors: list[str]
    title: str
    summary: str
    day: dt.date | None
    tracked_items: list[dict]
    untracked_done: list[dict]
    decisions: list[str]


def finish(record: Record, options: RenderOptions) -> Finished:
    """Apply the run's maps and defaults to ``record`` (which is not changed)."""
    decisions: list[str] = []
    severity = map_severity(record.severity_raw, options.severity_map) if record.severity_raw else None
    if severity is None:
        severity = options.default_severity
        decisions.append("default-severity" if record.severity_raw is None else "unknown-severity")
    status = map_status(record.status_raw, options.status_map) or record.status
    if status not in ("draft", "in-review", "final"):
        status = None
    complete = all(record.section(name).strip() for name in REQUIRED_FINAL_SECTIONS)
    if status is None or status == "final":
        status = "final" if complete else "in-review"
    services = list(record.services) or [options.default_service]
    if not record.services:
        decisions.append("default-service")
    authors = list(record.authors)
    if not authors and record.company:
        authors = [record.company]
    if not authors:
        authors = [options.default_author]
        decisions.append("default-author")
    title = one_line(record.title, TITLE_LIMIT)
    if title != one_line(record.title):
        decisions.append("title-cut")
    if not title:
        title = one_line(record.summary or record.section("Summary"), TITLE_LIMIT)
        if title:
            decisions.append("title-from-summary")
    summary = one_line(record.summary)
    if not summary:
        from .readers import first_sentences

        summary = first_sentences(record.section("Summary"))
    tracked, untracked = [], []
    for item in record.action_items:
        if item.get("status") == "done" and not item.get("done_at"):
            untracked.append(item)
        else:
            tracked.append(item)
    if untracked:
        decisions.append("done-without-date")
    return Finished(record, severity, status, services, authors, title, summary, record.start_day, tracked,
                    untracked, decisions)


_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _./()',+-]*[A-Za-z0-9_./()']|[A-Za-z0-9]")
_RESOLVER = yaml.resolver.Resolver()


def _scalar(value) -> str:
    """One YAML scalar, as PyYAML's safe emitter writes it (quoted when needed). Text made of
    letters, digits, spaces and harmless punctuation that YAML reads as text is written plain
    without asking the emitter (the same output, 30 times faster)."""
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and _PLAIN.fullmatch(value) and "  " not in value and \
            _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == "tag:yaml.org,2002:str":
        return value
    text = yaml.safe_dump(value, allow_unicode=True, width=10**9, default_flow_style=True)
    if text.endswith("\n...\n"):
        text = text[:-5]
    return text.rstrip("\n")


def _flow_list(values: list[str]) -> str:
    return "[" + ", ".join(_scalar(v) for v in values) + "]"


_HEADING = re.compile(r"^(#{1,2})(?=[ \t])")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")


def demote_headings(text: str) -> str:
    """Headings of level 1 and 2 inside a section's text become level 3, so a source's own
    headings never split our sections (code fences are left alone)."""
    out, fence = [], None
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if m:
            marker = m.group(1)[0]
            fence = None if fence == marker else (marker if fence is None else fence)
        elif fence is None:
            line = _HEADING.sub("###", line)
        out.append(line)
    return "\n".join(out)


def render(done: Finished, pm_id: str, imported_at: dt.datetime) -> str:
    """The whole file for one finished record with id ``pm_id``.

    ``imported_at`` is the run's time (UTC); the record's own timestamps keep their offsets.
    """
    r = done.record
    lines = ["---", "format: 2", f"id: {pm_id}", f"title: {_scalar(done.title)}"]
    if done.day is not None:
        lines.append(f"date: {done.day.isoformat()}")
    lines += [f"severity: {done.severity}", f"status: {done.status}", f"services: {_flow_list(done.services)}"]
    if r.tags:
        lines.append(f"tags: {_flow_list(r.tags)}")
    lines.append(f"authors: {_flow_list(done.authors)}")
    if done.summary:
        lines.append(f"summary: {_scalar(done.summary)}")
    for name in ("started_at", "detected_at", "mitigated_at", "resolved_at"):
        moment = getattr(r, name)
        if moment is not None:
            lines.append(f"{name}: {format_time(moment)}")
    if r.trigger:
        lines.append(f"trigger: {_scalar(kebab(r.trigger))}")
    if r.root_cause:
        lines.append(f"root_cause: {_scalar(one_line(r.root_cause))}")
    if r.contributing_factors:
        lines.append(f"contributing_factors: {_flow_list(r.contributing_factors)}")
    if r.near_miss:
        lines.append("near_miss: true")
    if r.visibility in ("public", "internal"):
        lines.append(f"visibility: {r.visibility}")
    lines += ["source:", f"  system: {_scalar(r.system or 'imported')}"]
    if r.source_id:
        lines.append(f"  id: {_scalar(str(r.source_id))}")
    if r.url:
        lines.append(f"  url: {_scalar(r.url)}")
    lines.append(f"  imported_at: {format_time(imported_at.astimezone(dt.timezone.utc))}")
    if done.tracked_items:
        lines.append("action_items:")
        for item in done.tracked_items:
            lines.append(f"  - title: {_scalar(item['title'])}")
            if item.get("owner"):
                lines.append(f"    owner: {_scalar(item['owner'])}")
            lines.append(f"    status: {item.get('status', 'open')}")
            if item.get("due"):
                lines.append(f"    due: {_scalar(item['due'])}")
            if item.get("done_at"):
                lines.append(f"    done_at: {_scalar(item['done_at'])}")
            if item.get("ticket"):
                lines.append(f"    ticket: {_scalar(item['ticket'])}")
    lines.append("---")
    body = render_body(done)
    return "\n".join(lines) + "\n\n" + body


def render_body(done: Finished) -> str:
    """The Markdown body: standard sections in the usual order, then the others as the source
    had them; action items marked done without a date are listed (not tracked) under Action
    items."""
    r = done.record
    sections = list(r.sections)
    if done.untracked_done:
        checklist = "\n".join(f"- [x] {one_line(i['title'])}" + (f" ({one_line(i['owner'])})" if i.get("owner") else "")
                              + " — done (no completion date in the source)" for i in done.untracked_done)
        sections.append(("Action items", checklist))
    merged: dict[str, list[str]] = {}
    order: list[str] = []
    for heading, text in sections:
        if heading not in merged:
            merged[heading] = []
            order.append(heading)
        if text.strip():
            merged[heading].append(text.strip())
    standard = [h for h in STANDARD_ORDER if h in merged]
    other = [h for h in order if h not in STANDARD_ORDER]
    chunks = []
    for heading in standard + other:
        text = "\n\n".join(merged[heading]).strip()
        if not text:
            continue
        chunks.append(f"## {heading}\n\n{demote_headings(text)}\n")
    return "\n".join(chunks) if chunks else "## Summary\n\n" + (one_line(r.summary) or one_line(r.title)) + "\n"
