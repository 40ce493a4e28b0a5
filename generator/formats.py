"""Format versions of the front matter, and the format v2 rules a JSON Schema cannot express.

A file without ``format`` is format v1 and is checked exactly as before v2 existed. ``format: 2``
marks a v2 file: action items gain ``done_at`` and ``addresses``; the post-mortem gains
``contributing_factors``, ``near_miss``, ``source`` and ``visibility``
(``generator/schemas/postmortem.schema.json``, ``$defs/v2``).

The loader keeps every scalar as the text that was written (so ``no`` never becomes ``False``).
Two v2 fields are not text: ``format`` is the number 2 and ``near_miss`` a boolean. They are
read here, from the text and the type YAML gives the *unquoted* scalar, the way every YAML
tool reads them: ``format: 2`` is the number 2, ``format: "2"`` is text (a problem, with the
fix), ``near_miss: true`` is true, ``near_miss: "true"`` text and ``near_miss: yes`` a value
YAML 1.1 and YAML 1.2 tools disagree on (a problem too). Everything the JSON Schema then checks
sees the same typed values an editor using the published schema sees.
"""

from __future__ import annotations

import datetime as dt
import re

from .loader import SourceFile

KNOWN_FORMATS = (1, 2)
"""Format versions this release reads. v1 is written without a ``format`` field."""

LATEST_FORMAT = 2

V2_FIELDS = ("format", "contributing_factors", "near_miss", "source", "visibility")
"""Top-level fields that exist only in format v2."""

V2_ACTION_ITEM_FIELDS = ("done_at", "addresses")
"""Action-item fields that exist only in format v2."""

TYPED_FIELDS = ("format", "near_miss")
"""Top-level fields whose value is a number or boolean, not text (format v2)."""

ROOT_CAUSE_TERM = "root-cause"
"""The ``addresses`` value that names the post-mortem's ``root_cause``."""

_TAG = "tag:yaml.org,2002:"
# YAML 1.2 core schema forms: what every YAML tool (1.1 or 1.2) reads as the same int or bool.
_CORE_INT = re.compile(r"^[-+]?[0-9]+$")
_CORE_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


def declared_format(src: SourceFile) -> int:
    """The format whose rules apply to ``src`` (1 or 2), after reading its ``format`` field.

    ``format`` absent or empty: 1. ``format: 2``: 2, and ``src.data["format"]`` becomes the int
    ``2``. Any other value is a problem recorded in ``src.problems`` (field ``format``): the
    file is checked with the v1 rules for ``format: 1`` (v1 is written without the field) and
    with the v2 rules otherwise (``"2"`` in quotes, ``2.0``, ``3``: the author meant a newer
    format than v1); an empty ``format:`` is ``field-empty``, checked as v2 too.

    Returns:
        1 or 2. ``src.data`` must be a mapping.
    """
    data = src.data
    if "format" not in data:
        return 1
    value = data["format"]
    line, column = src.positions.get("format", (src.line_of("format"), None))
    tag = src.plain_types.get("format")
    if value is None:
        src.problem(line, column, "format", "error", "field-empty", "'format' is empty",
                    "write format: 2, or remove the line for format v1")
        return LATEST_FORMAT
    if isinstance(value, str) and tag == f"{_TAG}int" and _CORE_INT.match(value):
        number = int(value)
        if number == 2:
            data["format"] = 2
            return 2
        if number == 1:
            src.problem(line, column, "format", "error", "format-unknown",
                        "'format' is 1, but format v1 is written without a 'format' field",
                        "remove the 'format' line, since a file without it is format v1; or write format: 2")
            return 1
        src.problem(line, column, "format", "error", "format-unknown",
                    f"'format' is {number}, a format this version of postmortem-kb does not know: it reads "
                    "format v1, written without 'format', and format: 2",
                    "write format: 2, or upgrade postmortem-kb if the file was written for a newer format")
        return LATEST_FORMAT
    shown = value if isinstance(value, str) else ("a list" if isinstance(value, list) else "a mapping")
    if isinstance(value, str) and tag is None and value.strip() == "2":  # "2" or '2': quoted text
        src.problem(line, column, "format", "error", "field-type",
                    f"'format' must be the number 2, got the text {value!r}, in quotes",
                    "remove the quotes: format: 2")
    else:
        src.problem(line, column, "format", "error", "field-type",
                    f"'format' must be the whole number 2, got {shown!r}" if isinstance(value, str)
                    else f"'format' must be the whole number 2, got {shown}",
                    "write format: 2")
    return LATEST_FORMAT


def read_typed_fields(src: SourceFile, version: int) -> None:
    """Turn ``near_miss`` into a bool in ``src.data`` (format v2), or record why it is not one.

    ``true``/``false`` written without quotes (any of YAML's three spellings, ``True``,
    ``TRUE``) become ``True``/``False``; quoted text, ``yes``/``no``/``on``/``off`` (booleans in
    YAML 1.1, text in YAML 1.2) and anything else are a ``field-type`` problem and stay text.
    In a v1 file ``near_miss`` is an unknown field, left as written.
    """
    data = src.data
    if version < 2 or data.get("near_miss") is None:
        return
    value = data["near_miss"]
    line, column = src.positions.get("near_miss", (src.line_of("near_miss"), None))
    fix = "write near_miss: true if it was caught before it affected anyone, else near_miss: false, without quotes"
    tag = src.plain_types.get("near_miss")
    if isinstance(value, str) and tag == f"{_TAG}bool" and value in _CORE_BOOL:
        data["near_miss"] = _CORE_BOOL[value]
        return
    if not isinstance(value, str):
        message = f"'near_miss' must be true or false, got {'a list' if isinstance(value, list) else 'a mapping'}"
    elif tag == f"{_TAG}bool":
        message = (f"'near_miss' is {value!r}, which YAML 1.1 tools such as PyYAML and MkDocs read as a boolean and "
                   "YAML 1.2 tools as text")
    elif tag is None and value.strip().lower() in ("true", "false"):
        message = f"'near_miss' must be true or false, got the text {value!r}, in quotes"
        fix = f"remove the quotes: near_miss: {value.strip().lower()}"
    else:
        message = f"'near_miss' must be true or false, got {value!r}"
    src.problem(line, column, "near_miss", "error", "field-type", message, fix)


def parse_moment(text: str) -> dt.date | dt.datetime | None:
    """Parse a ``done_at`` value: ``YYYY-MM-DD`` (a date) or an ISO 8601 timestamp with a UTC
    offset (an aware datetime in that offset). ``None`` for anything else, or an impossible day
    or time."""
    from .validate import parse_date, parse_timestamp

    if not isinstance(text, str):
        return None
    text = text.strip()
    if len(text) == 10:
        return parse_date(text)
    return parse_timestamp(text)


def _day(moment: dt.date | dt.datetime) -> dt.date:
    return moment.date() if isinstance(moment, dt.datetime) else moment


def compare_moments(a: dt.date | dt.datetime, b: dt.date | dt.datetime) -> int | None:
    """Order two moments that are each a calendar date or an aware datetime.

    Two datetimes compare as instants (their offsets taken into account). Otherwise the
    calendar days compare, each datetime's day read in its own offset (the rule ``date`` follows
    against ``started_at``): a date says on which day, not when on that day.

    Returns:
        ``-1`` if ``a`` is before ``b``, ``1`` if after, ``0`` for the same instant, ``None``
        for the same day when either is only a date (their order within the day is unknown).
    """
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return (a > b) - (a < b)
    day_a, day_b = _day(a), _day(b)
    if day_a == day_b:
        return None
    return -1 if day_a < day_b else 1


def days_between(earlier: dt.date | dt.datetime, later: dt.date | dt.datetime) -> int:
    """Whole days from ``earlier`` to ``later``: elapsed 24-hour periods (rounded down) when both
    are datetimes, else the difference of their calendar days (each datetime's day in its own
    offset). ``0`` means within a day."""
    if isinstance(earlier, dt.datetime) and isinstance(later, dt.datetime):
        return int((later - earlier).total_seconds() // 86400)
    return (_day(later) - _day(earlier)).days


def incident_start(started_at: dt.datetime | None, date: dt.date) -> dt.date | dt.datetime:
    """When an incident started, as precisely as it is known: ``started_at``, else ``date``."""
    return started_at if started_at is not None else date


LISTED_FACTORS = 10
"""Contributing factors an ``addresses-unknown`` message lists (the rest are counted): one
message per item, so listing them all would grow with items x factors."""


def check_v2(src: SourceFile, data: dict, bad: set[str], times: dict, today: dt.date,
             horizon: dt.datetime) -> None:
    """The v2 rules beyond the schema, recorded in ``src.problems``.

    * ``done_at`` is a real day or moment (``field-format``, with the calendar reason), not
      before the incident started (``done-before-start``: compared as instants when both are
      timestamps, else as calendar days), not in the future (``date-in-future``: a date after
      ``today``, a timestamp after ``horizon``, the end of today at UTC+14);
    * ``done_at`` on an item that is not ``done`` (``done-at-not-done``, a warning);
    * ``addresses`` names ``root-cause`` or one of ``contributing_factors``
      (``addresses-unknown``, a warning);
    * ``source.imported_at`` is a real moment, not in the future.

    Args:
        data: ``src.data`` (a v2 file). bad: paths the schema already reported (skipped).
        times: the parsed incident timestamps (``started_at`` ...). today, horizon: as above.
    """
    from .validate import parse_date

    date_text = data.get("date")
    incident_day = parse_date(date_text) if isinstance(date_text, str) and "date" not in bad else None
    start = times.get("started_at") or incident_day
    start_name = "started_at" if times.get("started_at") else "date"
    factors = data.get("contributing_factors")
    factors = [f for f in factors if isinstance(f, str)] if isinstance(factors, list) else []
    known_factors = set(factors)  # membership in constant time: 10,000 items x 10,000 factors
    listed = (f": {', '.join(factors[:LISTED_FACTORS])}" + (f" and {len(factors) - LISTED_FACTORS:,} more"
                                                           if len(factors) > LISTED_FACTORS else "")
              if factors else ", which has none")
    items = data.get("action_items")
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        path = f"action_items[{i}].done_at"
        text = item.get("done_at")
        if isinstance(text, str) and path not in bad:
            where = src.positions.get(path, (src.line_of(path), None))
            moment = _real_moment(src, path, text, parse_moment, "a real day or moment in time",
                                  "write the day as YYYY-MM-DD, or an ISO 8601 timestamp with a UTC offset")
            if moment is not None:
                if isinstance(moment, dt.datetime) and moment > horizon or \
                        not isinstance(moment, dt.datetime) and moment > today:
                    src.problem(*where, path, "error", "date-in-future", f"done_at {text!r} is in the future",
                                "write the day the item was done; an item not done yet is 'open' or "
                                "'in-progress', without done_at")
                elif start is not None and compare_moments(moment, start) == -1:
                    src.problem(*where, path, "error", "done-before-start",
                                f"done_at {text!r} is before the incident started, at {start_name} "
                                f"{data[start_name]!r}",
                                "check the year and month; an item done before the incident is not one of "
                                "its action items")
                status = item.get("status")
                if status != "done" and (status is None or isinstance(status, str)):
                    shown = repr(status) if status is not None else "open, as it has none"
                    src.problem(*where, path, "warning", "done-at-not-done",
                                f"action item has done_at {text!r} but its status is {shown}",
                                "set status: done, or remove done_at until it is done")
        addresses = item.get("addresses")
        apath = f"action_items[{i}].addresses"
        if isinstance(addresses, str) and apath not in bad and addresses != ROOT_CAUSE_TERM \
                and addresses not in known_factors:
            src.problem(*src.positions.get(apath, (src.line_of(apath), None)), apath, "warning",
                        "addresses-unknown",
                        f"addresses {addresses!r} is neither {ROOT_CAUSE_TERM!r} nor one of the "
                        f"contributing_factors{listed}",
                        f"add {addresses!r} to contributing_factors, or write addresses: {ROOT_CAUSE_TERM} "
                        "for an item that fixes the root cause")
    source = data.get("source")
    text = source.get("imported_at") if isinstance(source, dict) else None
    path = "source.imported_at"
    if isinstance(text, str) and path not in bad:
        from .validate import parse_timestamp

        moment = _real_moment(src, path, text, parse_timestamp, "a real moment in time",
                              "write an ISO 8601 timestamp with a UTC offset, e.g. 2024-03-14T09:12:00Z")
        if moment is not None and moment > horizon:
            src.problem(*src.positions.get(path, (src.line_of(path), None)), path, "error", "date-in-future",
                        f"imported_at {text!r} is in the future", "write when the post-mortem was imported")


def _real_moment(src: SourceFile, path: str, text: str, parse, what: str, fix: str):
    """``parse(text)``, or ``None`` after recording a ``field-format`` problem that says why
    ``text`` names no real day or time (the calendar reason and fix when there is one)."""
    from .validate import calendar_problem

    moment = parse(text)
    if moment is None:
        impossible = calendar_problem(text)
        leaf = path.rsplit(".", 1)[-1]
        src.problem(*src.positions.get(path, (src.line_of(path), None)), path, "error", "field-format",
                    f"'{leaf}' value {text!r} is not {what}" + (f": {impossible[0]}" if impossible else ""),
                    impossible[1] if impossible else fix)
    return moment
