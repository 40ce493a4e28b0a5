"""Validation rules for post-mortem files and for the corpus as a whole.

Field types, patterns and enums come from the published JSON Schema
(``generator/schemas/postmortem.schema.json``), checked with jsonschema-rs. The rules a schema
cannot express (timestamp order, ``date`` against ``started_at``, file names, unique ids,
links, required sections, secrets, personal data, executable HTML) are ours, below.

Every problem names file, line, field, a stable code, the value as written and a fix. A file
that cannot be read still yields problems, never an exception, and the run goes on.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import difflib
import fnmatch
import html
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import foreign, formats, material, scan, vocabulary
from .inventory import ATTACHMENT, PAGE, POSTMORTEM, UNPUBLISHED, Entry, Inventory
from .loader import (YAML11_SURPRISES, SourceFile, _enclosing_key, _parent_path, child_path, path_parts, path_step,
                     read_attachment, read_page, read_source)
from .model import (
    NOTES_SECTIONS,
    REQUIRED_FINAL_SECTIONS,
    STANDARD_SECTIONS,
    TIMESTAMP_FIELDS,
    VISIBILITIES,
    ActionItem,
    Postmortem,
    Problem,
    Source,
)
from .settings import Settings
from . import paths
from .paths import SERVICES, TAGS, service_page, tag_page

SCHEMA_PATH = Path(__file__).parent / "schemas" / "postmortem.schema.json"
FILE_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$")
ID_PARTS = re.compile(r"^([A-Z][A-Z0-9]*)-(\d{4})-(\d{3,})$")
_NAIVE_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?[ ]*"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2})?)$"
)
DATE_FIELDS = ("date", "due")
# The widest offset in use (UTC+14): a date is "in the future" only if it is in the future
# everywhere, so the answer does not depend on the machine's time zone.
_LATEST_OFFSET = dt.timedelta(hours=14)


@lru_cache(maxsize=1)
def schema() -> dict:
    """The post-mortem front-matter JSON Schema (draft 2020-12) as a dict (both formats: a file
    with ``format`` is checked against ``$defs/v2``, one without against ``$defs/v1``)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def schema_view(version: int = 1) -> dict:
    """The schema of one format version (1 or 2) as a schema of its own: ``$defs/v1`` or
    ``$defs/v2`` of :func:`schema` at the root, with the shared ``$defs``. Do not modify it.

    Raises:
        KeyError: ``version`` is not a format the schema defines.
    """
    full = schema()
    return {"$schema": full["$schema"], **full["$defs"][f"v{version}"], "$defs": full["$defs"]}


@lru_cache(maxsize=None)
def _validator(version: int = 1):
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema_view(version), validate_formats=True)


@dataclass
class ValidationResult:
    """Outcome of validating files.

    ``postmortems`` holds every file whose front matter could be turned into a
    :class:`Postmortem` (also ones with errors elsewhere), sorted by id; ``valid_ids`` the ids
    of those without errors. ``problems`` is sorted by path, line, column. ``files`` counts the
    post-mortem files checked, ``other_files`` the pages, attachments and other files of the
    folders checked; ``secrets`` every secret value the scan found in them (never printed: the
    masking step, :attr:`redactor`, is made of them).
    """

    postmortems: list[Postmortem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    valid_ids: set[str] = field(default_factory=set)
    other_files: int = 0
    secrets: frozenset[str] = frozenset()

    @property
    def redactor(self) -> scan.Redactor:
        """The masking step over every secret found in the run (:class:`generator.scan.Redactor`);
        the CLI passes every output through it, in case a value of one file shows in another."""
        cached = self.__dict__.get("_redactor")
        if cached is None or cached[0] is not self.secrets:
            cached = (self.secrets, scan.Redactor(self.secrets))
            self.__dict__["_redactor"] = cached
        return cached[1]

    @property
    def errors(self) -> int:
        return sum(p.level == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.level == "warning" for p in self.problems)


# --- finding files -------------------------------------------------------------------------


def is_ignored(relpath: str, settings: Settings) -> bool:
    """True for Markdown files under the docs folder that are not post-mortems: ordinary pages
    (``ignore`` globs), templates (``templates`` globs, any case) and hidden files."""
    parts = relpath.split("/")
    if any(part.startswith(".") for part in parts):
        return True
    return (any(fnmatch.fnmatchcase(relpath, pattern) for pattern in settings.ignore)
            or foreign.is_template_path(relpath, settings.templates))


def collect(paths: list[Path], settings: Settings) -> Inventory:
    """Expand PATH arguments into an :class:`~generator.inventory.Inventory`, without following links.

    A folder contributes every file below it (:func:`generator.inventory.walk`: post-mortems,
    pages, attachments; links and FIFOs as problems), with the folder as root. A file is taken
    as given (a Markdown file is a post-mortem, unless it is an ``ignore``d page of
    ``docs_dir``), with ``docs_dir`` as root when it lies inside it, else its own folder; a file
    given by name that is a link, or lies below a linked folder of ``docs_dir``, is a problem.

    Raises:
        FileNotFoundError: a PATH does not exist (the CLI turns this into a usage error).
    """
    from .inventory import Inventory, given_file, walk

    inventory = Inventory()
    for path in paths:
        if os.path.isdir(path):  # a folder you name is the corpus, even reached through a link
            walk(path, settings, inventory)
        elif os.path.lexists(path):
            entry, problem = given_file(path, settings.docs_dir, settings)
            if entry is not None:
                inventory.entries.append(entry)
            else:
                inventory.problems.append(problem)
        else:
            raise FileNotFoundError(str(path))
    seen: dict[Path, Entry] = {}
    for entry in inventory.entries:
        seen.setdefault(entry.path, entry)
    inventory.entries = sorted(seen.values(), key=lambda e: e.path)
    unique = {(p.path, p.code): p for p in inventory.problems}
    inventory.problems = sorted(unique.values(), key=Problem.sort_key)
    return inventory


def collect_files(paths: list[Path], settings: Settings) -> list[tuple[Path, Path]]:
    """The post-mortems of :func:`collect` as ``(file, root)`` pairs, sorted and without repeats.

    Raises:
        FileNotFoundError: a PATH does not exist.
    """
    return [(e.path, e.root) for e in collect(paths, settings).entries if e.kind == POSTMORTEM]


# --- one file ------------------------------------------------------------------------------


def _fix_for(schema_path: list, view: dict | None = None) -> str:
    view = view or schema_view(1)
    node, best = view, ""
    for step in schema_path[:-1]:
        node = node.get(step) if isinstance(node, dict) else node[step]
        if isinstance(node, dict) and "x-fix" in node:
            best = node["x-fix"]
    if isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"].split("/")[-1]
        best = view["$defs"][ref].get("x-fix", best)
    return best or "see the post-mortem format in the README"


def _dotted(instance_path: list) -> str:
    out = ""
    for step in instance_path:
        out = f"{out}[{step}]" if isinstance(step, int) else child_path(out, str(step))
    return out


def _value_at(data, instance_path: list):
    for step in instance_path:
        data = data[step]
    return data


def _shorten(text: str, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _describe(value) -> str:
    if value is None:
        return "empty"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _schema_problems(src: SourceFile, version: int = 1) -> set[str]:
    """Check ``src.data`` against the schema of format ``version``; return the paths that have
    an error. ``format`` (and ``near_miss`` in v2) were read by :mod:`generator.formats`."""
    bad: set[str] = set()
    view = schema_view(version)
    for path, tag in src.plain_types.items():
        leaf = path.rsplit(".", 1)[-1]
        if leaf in DATE_FIELDS or leaf in TIMESTAMP_FIELDS or tag not in YAML11_SURPRISES:
            continue
        if re.split(r"[.\[]", path, maxsplit=1)[0] in formats.TYPED_FIELDS or leaf == "done_at":
            continue  # not text fields: read by generator.formats
        value = _value_at_path(src.data, path)
        if leaf in _ENUM_FIELDS:  # `severity: 1` wants SEV1, not quotes: the enum rule says so
            continue
        kind = YAML11_SURPRISES[tag]
        src.problem(*src.positions[path], path, "error", "yaml-implicit-type",
                    f"{value!r} is written without quotes, so YAML 1.1 tools (PyYAML, MkDocs) read it "
                    f"as a {kind}, not as text",
                    f"quote it: '{value}'")
        bad.add(path)
    seen: set[tuple[str, str]] = set()
    reported = {p.field for p in src.problems if p.field}  # e.g. a refused !tag: one problem is enough
    data = {k: v for k, v in src.data.items() if k != "format"}  # checked by formats.declared_format
    for err in _validator(version).iter_errors(data):
        kind = type(err.kind).__name__
        path = _dotted(err.instance_path)
        if path in reported:
            bad.add(path)
            continue
        if kind == "Required":
            missing = err.kind.property
            where = f"{path}.{missing}" if path else missing
            line = src.line_of(path) if path else 1
            near = _misspelling_of(src, path, missing, view)
            if near is not None:
                line = src.key_lines.get(f"{path}.{near}" if path else near, line)
                src.problem(line, None, where, "error", "field-missing",
                            f"required field '{missing}' is missing; '{near}' looks like a misspelling of it",
                            f"rename '{near}:' to '{missing}:'")
            elif missing == "done_at":  # v2: a done item says when it was done
                status_at = src.positions.get(f"{path}.status", (line, None))[0]
                title = _value_at(src.data, err.instance_path).get("title")
                named = f" {_shorten(title)!r}" if isinstance(title, str) and title.strip() else ""
                src.problem(status_at, None, where, "error", "field-missing",
                            f"action item{named} is marked done but has no 'done_at', the day it was done",
                            "add 'done_at: YYYY-MM-DD' to this item, the day the fix shipped, e.g. its "
                            "ticket's close date: format v2 tells from it whether a later incident came back "
                            "after the fix")
            else:
                fix = _fix_for(["properties", missing, "x"], view) if not path else "add it"
                src.problem(line, None, where, "error", "field-missing", f"required field '{missing}' is missing",
                            f"add '{missing}:' ({fix})" if not path else f"add '{missing}:' to this item")
            bad.add(where)
            continue
        if kind == "AdditionalProperties":
            for name in err.kind.unexpected:
                where = child_path(path, name)
                names = _known_fields(path, view)
                guess = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
                container = _value_at_path(src.data, path) if path else src.data
                if guess and guess[0] not in container and guess[0] in _required_fields(path, view):
                    continue  # reported with the missing field it misspells
                in_v2 = formats.V2_FIELDS if not path else formats.V2_ACTION_ITEM_FIELDS
                if version == 1 and name in in_v2 and (not path or path.startswith("action_items[")):
                    fix = f"'{name}' is a format v2 field: add 'format: 2' at the top of the front matter"
                else:
                    fix = foreign.unknown_field_fix(name, names)
                src.problem(src.key_lines.get(where, src.line_of(where)), None, where, "warning",
                            "field-unknown", f"unknown field '{name}'", fix)
            continue
        if path in bad or (path, kind) in seen or _under(path, bad):
            continue
        seen.add((path, kind))
        value = _value_at(src.data, err.instance_path)
        line, column = src.positions.get(path, (src.line_of(path), None))
        leaf = path.rsplit(".", 1)[-1]
        if leaf in _OFFSET_FIELDS and isinstance(value, str) and _NAIVE_TIMESTAMP.match(value.strip()):
            impossible = calendar_problem(value)
            if impossible is not None:
                src.problem(line, column, path, "error", "timestamp-no-offset",
                            f"timestamp {value!r} has no UTC offset and is not a real moment in time: "
                            f"{impossible[0]}",
                            f"{impossible[1]}, and append Z for UTC or the offset it was written in")
            else:
                src.problem(line, column, path, "error", "timestamp-no-offset",
                            f"timestamp {value!r} has no UTC offset, so its moment depends on the reader's time zone",
                            f"append Z for UTC or the offset it was written in, e.g. {value.strip()}Z")
        elif value is None:
            src.problem(line, column, path, "error", "field-empty", f"'{leaf}' is empty",
                        f"give it a value or remove the line ({_fix_for(err.schema_path, view)})")
        elif kind == "Type":
            src.problem(line, column, path, "error", "field-type",
                        f"'{leaf}' must be {_expected(err)}, got {_describe(value)}",
                        _fix_for(err.schema_path, view))
        elif kind == "Enum":
            src.problem(line, column, path, "error", "field-enum", f"'{leaf}' is {value!r}, not an allowed value",
                        _fix_for(err.schema_path, view))
        elif kind in ("Pattern", "Format") and isinstance(value, str) and calendar_problem(value):
            reason, fix = calendar_problem(value)
            src.problem(line, column, path, "error", "field-format",
                        f"'{leaf}' value {value!r} is not a real calendar date: {reason}", fix)
        elif kind == "Pattern" and isinstance(value, str) and list(err.schema_path[:2]) == ["$defs", "kebab"]:
            reason, fix = (kebab_problem(value) if src.room_for("field-format")
                           else ("is not kebab-case", "use lowercase words joined by hyphens"))
            src.problem(line, column, path, "error", "field-format", f"'{leaf}' value {value!r} {reason}", fix)
        elif kind in ("Pattern", "Format"):
            src.problem(line, column, path, "error", "field-format",
                        f"'{leaf}' value {value!r} is not in the expected form",
                        _fix_for(err.schema_path, view))
        elif kind in ("MinItems", "MinLength"):
            src.problem(line, column, path, "error", "field-empty", f"'{leaf}' is empty",
                        _fix_for(err.schema_path, view))
        elif kind == "MaxLength":
            src.problem(line, column, path, "error", "field-too-long",
                        f"'{leaf}' has {len(value)} characters, more than {err.kind.limit}",
                        _fix_for(err.schema_path, view))
        else:
            src.problem(line, column, path, "error", "field-invalid", f"'{leaf}': {err.message}",
                        _fix_for(err.schema_path, view))
        bad.add(path)
    return bad


_ENUM_FIELDS = ("severity", "status")
# Fields whose timestamps need a UTC offset (done_at may also be a plain date).
_OFFSET_FIELDS = TIMESTAMP_FIELDS + ("done_at", "imported_at")


def _under(path: str, paths: set[str]) -> bool:
    """Whether a field that encloses ``path`` (``a`` or ``a[1]`` for ``a[1].b``) is in ``paths``:
    the enclosing fields are walked up (as deep as the path), not every path compared."""
    parent = _parent_path(path)
    while parent:
        if parent in paths:
            return True
        parent = _parent_path(parent)
    return False


def _kebab_form(value: str) -> str:
    """The kebab-case spelling :func:`kebab_problem` suggests for ``value``."""
    from slugify import slugify

    return slugify(value, max_length=60, word_boundary=True)


def kebab_problem(value: str) -> tuple[str, str]:
    """Why a tag, service or trigger ``value`` is not kebab-case (to follow the value in a
    message: "is not kebab-case ..."), and the fix.

    The v1 format's kebab-case (the schema's ``kebab`` pattern) is ASCII only: text in other
    scripts is refused with a message that says so, and an ASCII spelling is suggested.
    """
    ascii_form = _kebab_form(value)
    if not value.isascii():
        reason = ("is not kebab-case: the v1 format allows only lowercase ASCII letters (a-z), digits and "
                  "hyphens here, not accented letters or other scripts")
        example = f"e.g. {ascii_form!r} (transliterated) or an English keyword" if ascii_form \
            else "e.g. an English keyword such as 'database'"
        return reason, (f"write it in ASCII kebab-case, {example}; text in any language can go in the title, "
                         "summary and body, where search and related incidents read it")
    reason = "is not kebab-case (lowercase words joined by hyphens)"
    if ascii_form and ascii_form != value:
        return reason, f"write it as {ascii_form!r}"
    return reason, "use lowercase words joined by hyphens (kebab-case), e.g. edge-proxy"


def _schema_at(view: dict, path: str) -> dict:
    """The (dereferenced) schema node ``view`` gives the value at data ``path``
    (``action_items[0]``, ``source``); ``{}`` where the schema says nothing."""
    def deref(node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            node = view["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        return node if isinstance(node, dict) else {}

    node = deref(view)
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        node = deref(node.get("items", {}) if part.startswith("[") else node.get("properties", {}).get(part, {}))
    return node


def _known_fields(path: str, view: dict | None = None) -> list[str]:
    """Field names the schema defines at ``path`` (top level, an action item, ``source``)."""
    return list(_schema_at(view or schema_view(1), path).get("properties", {}))


def _required_fields(path: str, view: dict | None = None) -> list[str]:
    return list(_schema_at(view or schema_view(1), path).get("required", []))


def _misspelling_of(src: SourceFile, path: str, missing: str, view: dict | None = None) -> str | None:
    """An unknown key next to ``path`` that is a close misspelling of the ``missing`` field."""
    container = _value_at_path(src.data, path) if path else src.data
    if not isinstance(container, dict):
        return None
    known = set(_known_fields(path, view))
    unknown = [k for k in container if k not in known]
    guess = difflib.get_close_matches(missing, unknown, n=1, cutoff=0.75)
    return guess[0] if guess else None


def _expected(err) -> str:
    types = getattr(err.kind, "types", None) or []
    names = {"string": "text", "array": "a list", "object": "a mapping"}
    words = [names.get(str(t), str(t)) for t in types]
    return " or ".join(words) or "of another type"


def _value_at_path(data, path: str):
    for part in path_parts(path):
        data = data[path_step(part)]
    return data


def parse_timestamp(text: str) -> dt.datetime | None:
    """Parse an ISO 8601 timestamp that carries a UTC offset (``Z`` or ``+hh:mm``).

    Returns an aware datetime in the offset as written, or ``None`` when the text is not such
    a timestamp or names an impossible moment (25:00, 2024-02-30).
    """
    m = _TIMESTAMP.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = m.groups()
    offset = dt.timedelta(0)
    if not zulu:
        offset = dt.timedelta(hours=int(oh), minutes=int(om or 0)) * (1 if sign == "+" else -1)
    try:
        return dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                           int((frac or "0")[:6].ljust(6, "0")), tzinfo=dt.timezone(offset))
    except ValueError:
        return None


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_DATE_TIME_PARTS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?[ ]*"
    r"(?:[Zz]|([+-])(\d{2}):?(\d{2})?)?)?$"
)


def calendar_problem(text: str) -> tuple[str, str] | None:
    """Why a ``YYYY-MM-DD`` date or ``YYYY-MM-DDThh:mm[:ss][offset]`` timestamp names no real day
    or time, and how to fix it; ``None`` when it does, or when ``text`` does not have that shape.

    ``calendar_problem("2024-02-30") == ("February 2024 has 29 days",
    "correct the day: February 2024 ends on 2024-02-29")``. Also: month 00 or 13+ (a swapped
    month and day is suggested), day 00, year 0000, hour 24+, minute or second 60+, and a UTC
    offset of 24 hours or more. The reason states what is impossible, once; the valid range
    goes in the fix only (problems print as ``message (fix)``, so neither holds parentheses).
    """
    m = _DATE_TIME_PARTS.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    y, mo, d, hh, mi, ss, sign, oh, om = m.groups()
    year, month, day = int(y), int(mo), int(d)
    if year == 0:
        return "there is no year 0000", "check the year"
    if not 1 <= month <= 12:
        reason = f"there is no month {mo}"
        if 1 <= day <= 12 and parse_date(f"{y}-{d}-{mo}"):
            return reason, f"write the month second, as in YYYY-MM-DD: did you mean {y}-{d}-{mo}?"
        return reason, "correct the month: months run from 01 to 12 and come second, as in YYYY-MM-DD"
    last = calendar.monthrange(year, month)[1]
    name = f"{_MONTHS[month - 1]} {year}"
    if day == 0:
        return "there is no day 00", f"correct the day: {name} runs from {y}-{mo}-01 to {y}-{mo}-{last}"
    if day > last:
        return f"{name} has {last} days", f"correct the day: {name} ends on {y}-{mo}-{last}"
    if hh is not None:
        if int(hh) > 23:
            fix = ("write midnight at the end of a day as 00:00 of the next day" if hh == "24"
                   else "correct the hour: hours run from 00 to 23")
            return f"there is no hour {hh}", fix
        if int(mi) > 59:
            return f"there is no minute {mi}", "correct the minutes: they run from 00 to 59"
        if ss is not None and int(ss) > 59:
            return f"there is no second {ss}", "correct the seconds: they run from 00 to 59"
        if oh is not None and (int(oh) > 23 or int(om or 0) > 59):
            return (f"the UTC offset {sign}{oh}:{om or '00'} is out of range",
                    "correct the offset: offsets run from -23:59 to +23:59, e.g. Z for UTC or +02:00")
    return None


def parse_date(text: str) -> dt.date | None:
    """Parse ``YYYY-MM-DD``; ``None`` when it is not a real calendar date."""
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        return None


def _horizon(today: dt.date) -> dt.datetime:
    """The end of ``today`` at UTC+14, the last place on Earth where it is still ``today``: a
    moment after it is in the future everywhere."""
    return dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=dt.timezone(_LATEST_OFFSET))


def _check_times(src: SourceFile, data: dict, bad: set[str], today: dt.date) -> dict:
    times: dict[str, dt.datetime] = {}
    for name in TIMESTAMP_FIELDS:
        value = data.get(name)
        if name in bad or not isinstance(value, str):
            continue
        parsed = parse_timestamp(value)
        if parsed is None:
            impossible = calendar_problem(value)
            reason = f": {impossible[0]}" if impossible else ""
            src.problem(*src.positions[name], name, "error", "field-format",
                        f"'{name}' value {value!r} is not a real moment in time{reason}",
                        impossible[1] if impossible else
                        "write an ISO 8601 timestamp with a UTC offset, e.g. 2024-03-14T09:12:00Z")
            bad.add(name)
            continue
        times[name] = parsed
    previous = None
    for name in TIMESTAMP_FIELDS:
        if name not in times:
            continue
        if previous and times[name] < times[previous]:
            src.problem(*src.positions[name], name, "error", "timestamps-order",
                        f"{name} {data[name]!r} is earlier than {previous} {data[previous]!r}",
                        "timestamps must be ordered: started_at <= detected_at <= mitigated_at <= resolved_at")
        previous = name
    horizon = _horizon(today)
    for name, moment in times.items():
        if moment > horizon:
            src.problem(*src.positions[name], name, "error", "date-in-future",
                        f"{name} {data[name]!r} is in the future", "check the year and month")
    date_text = data.get("date")
    date = parse_date(date_text) if isinstance(date_text, str) and "date" not in bad else None
    if date is not None:
        if date > today:
            src.problem(*src.positions["date"], "date", "error", "date-in-future",
                        f"date {date_text!r} is in the future", "use the day the incident started")
        started = times.get("started_at")
        if started is not None and started.date() != date:
            day = started.date().isoformat()
            fix = f"set date: {day}, or correct started_at"
            named = FILE_NAME.match(src.path.name)
            if named and named.group(1) == date.isoformat():  # the name carries the date too: one fix, not two
                fix = (f"set date: {day} and rename the file to {day}{src.path.name[len(named.group(1)):]}, "
                       "or correct started_at")
            src.problem(*src.positions["date"], "date", "error", "date-mismatch",
                        f"date {date_text!r} is not the day of started_at {data['started_at']!r} "
                        f"({day} in the offset written there)", fix)
    return times


def _check_file_name(src: SourceFile, data: dict | None) -> None:
    name = src.path.name
    m = FILE_NAME.match(name)
    date_text = data.get("date") if isinstance(data, dict) else None
    date = parse_date(date_text) if isinstance(date_text, str) else None
    if m and parse_date(m.group(1)) and (date is None or m.group(1) == date.isoformat()):
        return
    from slugify import slugify

    stem = name[:-3] if name.endswith(".md") else name
    prefix = re.match(r"^(\d{4}-\d{2}-\d{2})[-_ ]?", stem)
    rest = stem[prefix.end():] if prefix else stem
    title = data.get("title") if isinstance(data, dict) and isinstance(data.get("title"), str) else ""
    if src.redactor:  # a file name suggested from a title must not spell a secret of it
        title = src.redactor.hide(title)
    slug = slugify(rest, max_length=60, word_boundary=True) or slugify(title, max_length=60,
                                                                       word_boundary=True) or "incident"
    # The name's own date, when it is a real day (2024-02-30 is not, and is never suggested back).
    name_day = prefix.group(1) if prefix and parse_date(prefix.group(1)) else None
    impossible = calendar_problem(prefix.group(1)) if prefix and name_day is None else None
    day = date.isoformat() if date else name_day
    suggestion = f"{day}-{slug}.md" if day else None
    if m and date is not None and impossible is None:
        fix = f"rename the file to {suggestion}"
        started_text = data.get("started_at") if isinstance(data, dict) else None
        started = parse_timestamp(started_text) if isinstance(started_text, str) else None
        if started is not None and m.group(1) == started.date().isoformat():
            # the name has the day the incident started: the date is what is wrong (date-mismatch)
            fix = f"set date: {m.group(1)}, the day of started_at (the file name is right)"
        src.problem(src.line_of("date") or 1, None, "date", "error", "file-name-date",
                    f"file name date {m.group(1)} differs from date {date_text!r}", fix)
        return
    if impossible is not None:
        message = f"file name {name!r} starts with {prefix.group(1)}, which is not a real calendar date: {impossible[0]}"
        if suggestion is None:  # 'date' is not a real day either: say how to pick one
            example = re.search(r"\d{4}-\d{2}-\d{2}", impossible[1])
            fix = (f"{impossible[1]}; rename the file to the day the incident started"
                   + (f", e.g. {example.group()}-{slug}.md" if example else " (YYYY-MM-DD-slug.md)")
                   + ", and write the same day in 'date'")
        else:
            fix = f"rename the file to {suggestion}"
    else:
        message = f"file name {name!r} is not YYYY-MM-DD-slug.md in lowercase ASCII with hyphens"
        fix = (f"rename the file to {suggestion}" if suggestion
               else f"rename the file to YYYY-MM-DD-{slug}.md, with the day the incident started")
    if suggestion == name:  # never tell anyone to rename a file to the name it has
        fix = "check the file name against YYYY-MM-DD-slug.md (lowercase ASCII letters, digits and hyphens)"
    src.problem(1, None, None, "error", "file-name", message, fix)


def _build_postmortem(src: SourceFile, data: dict, bad: set[str], times: dict, relpath: str,
                      version: int = 1) -> Postmortem | None:
    if any(not isinstance(data.get(name), (str, list)) or name in bad for name in ("id", "title", "date")):
        return None
    date = parse_date(data["date"])
    if date is None:
        return None

    def text(name: str) -> str:
        value = data.get(name)
        return value.strip() if isinstance(value, str) and name not in bad else ""

    def strings(name: str) -> list[str]:
        value = data.get(name)
        if not isinstance(value, list):
            return []
        return [v for v in value if isinstance(v, str)]

    items = []
    for raw in data.get("action_items") or [] if isinstance(data.get("action_items"), list) else []:
        if not isinstance(raw, dict) or not isinstance(raw.get("title"), str):
            continue
        due = parse_date(raw["due"]) if isinstance(raw.get("due"), str) else None
        v2 = version >= 2
        items.append(ActionItem(
            title=raw["title"].strip(),
            owner=raw.get("owner") if isinstance(raw.get("owner"), str) else None,
            status=raw.get("status") if raw.get("status") in ("open", "in-progress", "done", "wont-do") else "open",
            due=due,
            ticket=raw.get("ticket") if isinstance(raw.get("ticket"), str) else None,
            done_at=formats.parse_moment(raw.get("done_at")) if v2 else None,
            addresses=raw["addresses"].strip() if v2 and isinstance(raw.get("addresses"), str) else None,
        ))
    known = set(schema_view(version)["properties"])
    source = None
    raw_source = data.get("source") if version >= 2 and "source" not in bad else None
    if isinstance(raw_source, dict) and isinstance(raw_source.get("system"), str):
        def source_text(name: str) -> str | None:
            value = raw_source.get(name)
            return value.strip() if isinstance(value, str) and f"source.{name}" not in bad else None
        imported = source_text("imported_at")
        source = Source(system=raw_source["system"].strip(), id=source_text("id"), url=source_text("url"),
                        imported_at=parse_timestamp(imported) if imported else None)
    v2_fields = {}
    if version >= 2:
        visibility = text("visibility")
        v2_fields = dict(
            format=version, contributing_factors=strings("contributing_factors"),
            near_miss=data.get("near_miss") is True, source=source,
            visibility=visibility if visibility in VISIBILITIES else None)
    return Postmortem(
        id=data["id"].strip(), title=data["title"].strip(), date=date,
        severity=text("severity") or "SEV4", status=text("status") or "draft",
        services=strings("services"), authors=strings("authors"), path=relpath,
        tags=strings("tags"), summary=text("summary"),
        started_at=times.get("started_at"), detected_at=times.get("detected_at"),
        mitigated_at=times.get("mitigated_at"), resolved_at=times.get("resolved_at"),
        trigger=text("trigger"), root_cause=text("root_cause"),
        related=strings("related"), not_related=strings("not_related"), action_items=items,
        body=src.body, body_line=src.body_line,
        extra={k: v for k, v in data.items() if k not in known},
        **v2_fields,
    )


def check_file(src: SourceFile, settings: Settings, relpath: str, secrets: scan.SecretScanner | None,
               today: dt.date | None = None) -> tuple[Postmortem | None, set[str]]:
    """Apply every per-file rule to a loaded file; problems go to ``src.problems``.

    Args:
        src: the file as returned by :func:`~generator.loader.read_source`.
        settings: options (file size limit, phone region ...).
        relpath: the file's path relative to its docs folder, for the model.
        secrets: an entered :class:`~generator.scan.SecretScanner`, or ``None`` to skip secrets.
        today: the reference date for "in the future" (default: today at UTC+14).

    Returns:
        ``(postmortem or None, bad_fields)``.
    """
    today = today or (dt.datetime.now(dt.timezone.utc) + _LATEST_OFFSET).date()
    if src.size > settings.max_file_size:
        src.problem(None, None, None, "warning", "file-too-large",
                    f"the file is {src.size / 1e6:.1f} MB, over the {settings.max_file_size / 1e6:g} MB limit",
                    "move long logs or dumps to an attachment and link to it; keep the excerpt that matters")
    code = scan.code_line_indexes(src.body) if src.text else frozenset()
    if secrets is not None and src.text:
        # First, so that every problem after it is masked as it is recorded, and the ones
        # recorded while loading (a first line quoted by front-matter-missing) are masked now.
        _scan_secrets(src, secrets, code)
    placeholders = foreign.template_placeholders(src.data)
    before = len(src.problems)
    _check_file_name(src, src.data)
    if not src.text:
        return None, set()
    data = src.data
    bad: set[str] = set()
    times: dict = {}
    pm = None
    if data is not None:
        version = formats.declared_format(src)
        formats.read_typed_fields(src, version)
        bad = _schema_problems(src, version)
        times = _check_times(src, data, bad, today)
        if version >= 2:
            formats.check_v2(src, data, bad, times, today, _horizon(today))
        pm = _build_postmortem(src, data, bad, times, relpath, version)
    body_lines = src.body.split("\n")
    prose = scan.prose_lines(body_lines, code)
    sections = scan.split_sections(body_lines, code, src.body_line)
    if pm is not None:
        pm.sections = {s.title: s.text for s in sections}
    if isinstance(data, dict) and data.get("status") == "final":
        _check_final_sections(src, sections)
    _check_nesting(src, prose)
    for finding in scan.find_executable_html(prose, src.body_line):
        src.problem(finding.line, finding.column, None, "error", "unsafe-html",
                    f"{finding.what} would run in a reader's browser",
                    "remove it, or put the payload in a fenced code block (```html) so it shows as text")
    _check_sanitiser_policy(src, body_lines, prose)
    _check_section_names(src, body_lines, prose, data)
    _check_unclosed_html(src, prose)  # before _check_site_reading: the prose's tags are read once (scan.html_tags)
    _check_site_reading(src, body_lines, prose, code, settings)
    if isinstance(data, dict):
        _check_front_matter_html(src)
        _check_cross_fields(src, data, times)
        _check_reserved_names(src, data)
    _check_hidden_characters(src)
    _check_personal_data(src, prose, settings)
    if len(placeholders) >= 2 and not _names_an_incident(data):
        _report_template(src, placeholders, before)
        return None, set()
    _report_placeholder_fields(src, data, [name for name in placeholders if name not in bad])
    if pm is not None and src.redactor:
        # The model is the single source of post-mortem text downstream (site, search index,
        # exports, feed, related/clusters/similar, review): it carries the text with secrets
        # and personal data hidden.
        pm = src.redactor.hide_data(pm)
    return pm, bad


SECRET_FIX = "remove it from the file (and from git history), and rotate the credential"
PERSONAL_DATA_FIX = "replace it with a role or team name (e.g. 'a customer', 'the on-call engineer')"


def _check_personal_data(src: SourceFile, prose: list[str], settings: Settings) -> None:
    """E-mail addresses and phone numbers in the prose of the body and in the front matter's
    text values (summary, root cause, action item titles and owners ...): a ``personal-data``
    warning each, and the values withheld like secrets (:meth:`SourceFile.set_secrets`), so
    that the model, and so every page, search index, export, feed and command output built
    from it, shows :data:`generator.scan.HIDDEN` in their place whether or not the run is
    ``--strict``. A person's contact details are not the post-mortem's own text: the guide's
    rule for what the tool prints and publishes. Code blocks are not scanned for personal
    data (logs and configuration are full of ``user@host`` and long numbers that are no
    person's); a value found elsewhere in the file is hidden in them too.
    """
    found = scan.find_personal_data(prose, src.body_line, settings.phone_region)
    if isinstance(src.data, dict) and src.body_line > 2:  # the front matter's lines, as written
        head = src.text.split("\n", src.body_line - 1)[:src.body_line - 1]
        found = scan.find_personal_data(head, 1, settings.phone_region) + found
    if not found:
        return
    key_index = _key_line_index(src)
    for finding in found:
        src.problem(finding.line, None, _field_on_line(src, finding.line, key_index), "warning", "personal-data",
                    f"{finding.kind} in the text: {scan.mask(finding.value)}", PERSONAL_DATA_FIX)
    src.set_secrets(f.value for f in found)


def _text_values(src: SourceFile) -> list[tuple[int, str]]:
    """``(line, text)`` of the front matter's text values that could hold a keyword assignment
    (``db_password = "..."`` in a summary), as YAML reads them: the scan of the raw YAML lines
    reads them as YAML, where quotes and escapes hide such an assignment."""
    if not isinstance(src.data, dict) or src.body_line <= 2:
        return []
    head = "\n".join(src.text.split("\n", src.body_line)[:src.body_line]).lower()
    if not any(word in head for word in scan.HINT_WORDS):
        return []
    out = []
    for path, (line, _) in src.positions.items():
        try:
            value = _value_at_path(src.data, path) if path else None
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(value, str) and scan.may_assign(value):
            out.append((line, value))
    return out


def _scan_secrets(src: SourceFile, secrets: scan.SecretScanner, code: frozenset[int]) -> None:
    """The secret scan of the whole file (above the front matter, the front matter, the body):
    a ``secret`` error per finding, and the values recorded on ``src`` (:meth:`SourceFile.set_secrets`)."""
    key = secrets.input_key(src.text)  # everything below is computed from the text
    if key in secrets.known_clean:  # scanned clean before, by this code: nothing to find
        src.clean_scan = key
        return
    all_lines = src.text.split("\n")
    fm_count = src.body_line - 1
    code_in_file = frozenset(fm_count + i for i in code)
    findings = secrets.scan(all_lines, 1, code_in_file, yaml_lines=fm_count, values=_text_values(src))
    if not findings:
        src.clean_scan = key
        return
    src.set_secrets(value for finding in findings for value in (finding.value, *finding.hidden))
    key_index = _key_line_index(src)
    for finding in findings:
        src.problem(finding.line, None, _field_on_line(src, finding.line, key_index), "error", "secret",
                    f"{finding.kind} found: {scan.mask(finding.value)}", SECRET_FIX)


# What a template's placeholders make fail; the other problems of a template (HTML that would
# run, secrets, personal data) stay, as for any page.
_FORMAT_CODES = frozenset({"field-missing", "field-empty", "field-type", "field-enum", "field-format",
                           "field-too-long", "field-invalid", "field-unknown", "timestamp-no-offset",
                           "timestamps-order", "date-mismatch", "date-in-future", "file-name", "file-name-date",
                           "section-missing", "section-empty", "yaml-implicit-type", "reserved-name",
                           "due-before-date", "related-conflict"})


_PLACEHOLDER_TEXT_FIELDS = ("title", "summary", "root_cause")
"""Text fields whose placeholder (``TODO``, ``TBD`` ...) is reported on a file that names an
incident; the others fail their format (``date: YYYY-MM-DD``, ``severity: SEVx``)."""


def _names_an_incident(data) -> bool:
    """Whether front matter names a real incident: its ``id`` is an id (:data:`ID_PARTS`) and
    its ``date`` a date. Such a file is checked as a post-mortem however many of its fields are
    placeholders (a tester's final post-mortem with ``summary: TODO`` and ``root_cause: TODO``
    was taken for a template: no check ran, its duplicate id was not reported, the site
    published it without its card)."""
    if not isinstance(data, dict):
        return False
    pid, date = data.get("id"), data.get("date")
    return isinstance(pid, str) and bool(ID_PARTS.match(pid.strip())) \
        and parse_date(date if isinstance(date, str) else str(date)) is not None


def _report_placeholder_fields(src: SourceFile, data, placeholders: list[str]) -> None:
    """``field-placeholder``: a title, summary or root cause that is a template placeholder (and
    breaks no other rule), on a file that is checked as a post-mortem: an error when its status is ``final`` (the site
    shows it on the card, in lists and search), else a warning."""
    final = isinstance(data, dict) and data.get("status") == "final"
    for name in placeholders:
        if name not in _PLACEHOLDER_TEXT_FIELDS:
            continue
        src.problem(src.line_of(name) or 1, None, name, "error" if final else "warning", "field-placeholder",
                    f"{name} is a placeholder ({_shorten(str(data[name]))!r}), not the incident's {name.replace('_', ' ')}",
                    f"write the real {name.replace('_', ' ')}" + ("; a final post-mortem is published with it"
                                                                    if final else " before the status is final"))


def _report_template(src: SourceFile, placeholders: list[str], before: int) -> None:
    """A file whose front matter holds placeholders in two or more fields (``date: YYYY-MM-DD``,
    ``severity: SEVx``) is a template that the ``templates`` option does not name yet: it is
    reported once, as ``template-file``, instead of as a dozen field errors."""
    src.problems[before:] = [p for p in src.problems[before:] if p.code not in _FORMAT_CODES]
    shown = ", ".join(f"{name}: {src.data[name]!r}" if isinstance(src.data.get(name), str) else name
                      for name in placeholders[:3])
    src.problem(src.line_of(placeholders[0]) or 1, None, None, "warning", "template-file",
                f"this looks like a post-mortem template, not an incident ({shown}), so it was not checked "
                "as one", "add its name to the 'templates' option of the postmortems plugin in mkdocs.yml, "
                "or write the incident's real values")


def _check_nesting(src: SourceFile, prose: list[str]) -> None:
    """A body nested deeper than :data:`generator.scan.MAX_NESTING` (see :func:`scan.too_deep`),
    and a block crowded with more than :data:`generator.scan.MAX_BLOCK_SPLITS` headings and rules
    (:func:`scan.crowded_block`): both cost the site's Markdown renderer more than linear time."""
    nesting = scan.too_deep(src.body, src.body_line, prose)
    if nesting is not None:
        src.problem(nesting.line, None, None, "error", "nesting-too-deep",
                    f"the body nests {nesting.what} more than {scan.MAX_NESTING} levels deep here; the site's "
                    "Markdown renderer fails or takes minutes on such nesting",
                    f"flatten it to at most {scan.MAX_NESTING} levels (a long log or dump belongs in a fenced "
                    "code block, where nothing nests)")
    crowded = scan.crowded_block(src.body, prose, src.body_line)
    if crowded is not None:
        src.problem(crowded[0], None, None, "error", "blank-lines-missing",
                    f"{crowded[1]:,} headings and horizontal rules follow one another without a blank line "
                    f"between them (more than {scan.MAX_BLOCK_SPLITS}); the site's Markdown renderer reads the "
                    "rest of the block again after each one, which takes minutes for thousands",
                    "put a blank line before each heading and rule (a long log belongs in a fenced code block)")
    unclosed = scan.unclosed_markup(src.body, prose, src.body_line)
    if unclosed is not None:
        src.problem(unclosed[0], None, None, "error", "unclosed-markup",
                    f"{unclosed[1]:,} {unclosed[2]} in one paragraph (more than {scan.MAX_UNCLOSED}); the site's "
                    "Markdown renderer searches the rest of the paragraph for the end of each, which takes minutes "
                    "for thousands",
                    "close them, escape them (\\` or \\]), or put the text in a fenced code block")


_REMOVED_FIX = ("remove it, or show it as text (in `backticks` or a fenced code block); the README's "
                "'Safe HTML' lists what the site keeps")
_RESERVED_FIXES = {
    "reserved-id": "use another id: ids, 'for' and 'name' values starting with '__' (and "
                   f"{', '.join(sorted(material.THEME_GLOBALS))}) belong to the theme",
    "reserved-class": "use another class: 'md-' classes (but md-button), "
                      f"{', '.join(repr(c) for c in sorted(material.RESERVED_CLASSES))} belong to the theme, "
                      "'pmkb-' classes to the knowledge base's own cards and lists",
}


def _check_sanitiser_policy(src: SourceFile, body_lines: list[str], prose: list[str]) -> None:
    """What the site's sanitiser would strip from the body is an error here too, with its
    line, so ``validate`` and the site never disagree (one policy: :mod:`generator.sanitize`):
    HTML elements and attributes it does not keep, attributes written with attr_list
    (``{: onclick=... }``), admonition types and fenced-code braces, ids and classes of the
    theme, and link targets of other schemes. What runs script is reported by
    :func:`generator.scan.find_executable_html` (raw HTML) or here (attr_list), once."""
    from . import sanitize

    def report(line, column, code, what, fix=None):
        src.problem(line, column, None, "error", code, what, fix or _RESERVED_FIXES.get(code) or _REMOVED_FIX)

    text = "\n".join(prose)
    for tag in scan.html_tags(text, src.body_line) if "<" in text else ():
        for code, what in sanitize.removed_parts(tag):  # what runs script is reported as executable
            report(tag.line, tag.column, code, what)
    for tag in scan.authored_attributes(body_lines, prose, src.body_line, scan.fence_infos(src.body)):
        for name, value in tag.attrs:
            if name.startswith("on"):
                report(tag.line, tag.column, "unsafe-html",
                       f"'{name}' event-handler attribute set with attr_list on <{tag.name}> would run in a "
                       "reader's browser (the site removes it)", "remove it")
                continue
            embedded = name in scan._EMBED_ATTRS  # an image's data:image/png is kept, as in raw HTML
            if name in ("href", "src") and value and scan.unsafe_scheme(html.unescape(value), embedded):
                report(tag.line, tag.column, "unsafe-html",
                       f"{scan.unsafe_scheme(html.unescape(value), embedded)}: URL set with attr_list in {name}= of "
                       f"<{tag.name}> would run in a reader's browser (the site removes it)", "remove it")
                continue
            verdict = sanitize.attribute_verdict(tag.name, name, value)
            if verdict:
                report(tag.line, tag.column, verdict[0], verdict[1] + " (set with attr_list)")
    # A heading's id can start with '__' only if its text holds '__' (slugify keeps word characters).
    headings = "#" in text and material.RESERVED_ID_PREFIX in src.body
    for line, anchor, custom in scan.heading_anchors(prose, src.body_line, body_lines) if headings else ():
        if not custom and material.reserved_id(anchor):  # a custom one is reported as attr_list
            report(line, None, "reserved-id",
                   f"the heading's id {anchor!r} is in the theme's namespace (ids starting with '__'), so the "
                   "site removes it and links to it break",
                   "give the heading its own id, e.g. '## `__init__` crash {#init-crash}'")
    for link in scan.body_links(prose, src.body_line) if "](" in text or "]:" in text else ():
        target = scan.link_destination(link.target)
        if scan.unsafe_scheme(target, embedded=link.image):
            continue  # executable: reported already
        why = sanitize.url_verdict(target, image=link.image)
        if why:
            report(link.line, link.column, "unsafe-html",
                   f"the site removes the target of this Markdown {'image' if link.image else 'link'}: {why}")


_SITE_SECTIONS = {paths.RELATED_ANCHOR: "Related incidents", paths.ACTION_ITEMS_ANCHOR: "Tracked action items"}


def _check_section_names(src: SourceFile, body_lines: list[str], prose: list[str], data) -> None:
    """``heading-reserved`` (warning): a heading of the body whose id is the one the site gives
    the section it adds after the body (:func:`generator.paths.section_anchors`): the site's
    section then takes another id (``#related-incidents-pmkb``), so links to
    ``#related-incidents`` land on the author's heading, and the page's table of contents shows
    two sections of that name (a tester's fake "Related incidents" list looked like ours)."""
    if "#" not in src.body:
        return
    added = {paths.RELATED_ANCHOR} | ({paths.ACTION_ITEMS_ANCHOR} if _has_action_items(data) else set())
    for line, anchor, _ in scan.heading_anchors(prose, src.body_line, body_lines):
        if anchor in added:
            src.problem(line, None, None, "warning", "heading-reserved",
                        f"this heading's id {anchor!r} is the one the site gives the '{_SITE_SECTIONS[anchor]}' "
                        f"section it adds after the body: the site's section then becomes "
                        f"#{anchor}{paths.ANCHOR_SUFFIX} and the page shows two sections of that name",
                        f"rename the heading or give it an id of its own ('## {_SITE_SECTIONS[anchor]} "
                        f"{{#our-{anchor}}}')")


# The shapes validate refuses because the site's Markdown renderer takes minutes on them: such a
# body is not rendered for _check_site_reading either.
_SLOW_TO_RENDER = frozenset({"nesting-too-deep", "blank-lines-missing", "unclosed-markup"})


def _check_site_reading(src: SourceFile, body_lines: list[str], prose: list[str], code: frozenset[int],
                        settings: Settings) -> None:
    """What the site's sanitiser removes from HTML that this validator reads as code (CommonMark)
    and the site's Markdown renderer (Python-Markdown) as HTML: in a raw HTML block with blank
    lines, after a fence the same fence does not close (:func:`generator.site_markdown.live_html`).
    An error each (``unsafe-html``, ``reserved-id``, ``reserved-class``), at the tag's line, saying
    why the site reads HTML there. Not for a body with a shape the renderer takes minutes on
    (:data:`_SLOW_TO_RENDER`, an error already)."""
    if "<" not in src.body or any(p.code in _SLOW_TO_RENDER for p in src.problems):
        return
    from .site_markdown import live_html

    for found in live_html(src.body, body_lines, prose, code, src.body_line, settings.markdown_extensions):
        src.problem(found.line, found.column, None, "error", found.code, found.message, found.fix)


def _check_unclosed_html(src: SourceFile, prose: list[str]) -> None:
    """An ``unclosed-html`` warning at each block element (:data:`generator.scan.BLOCK_ELEMENTS`)
    the body's prose opens and never closes (:func:`generator.scan.unclosed_blocks`), which the
    site closes at the end of the body (:func:`generator.pages.postmortem_page`): what follows
    it is inside it, and after one that starts a line, Python-Markdown reads the rest of the
    body as raw HTML (its Markdown shows as text)."""
    text = "\n".join(prose)
    if "<" not in text or not scan.BLOCK_TAG.search(text):
        return
    for tag in scan.unclosed_blocks(scan.html_tags(text, src.body_line)):
        before = prose[tag.line - src.body_line][:tag.column - 1]
        if tag.column <= 4 and not before.strip() and not any(name == "markdown" for name, _ in tag.attrs):
            what = ("the site's Markdown renderer (Python-Markdown) reads the rest of the body after it as raw HTML, "
                    "so its Markdown (headings, lists, links, code) shows as plain text, and the site closes the "
                    "element only at the end of the body")
        else:
            what = "everything after it, to the end of the body, is inside it (the site closes it there)"
        src.problem(tag.line, tag.column, None, "warning", "unclosed-html",
                    f"<{tag.name}> is opened here and never closed: {what}",
                    f"close it with </{tag.name}> where it should end, before the next section; if it is meant as "
                    "text, put it in `backticks`")


def _check_hidden_characters(src: SourceFile) -> None:
    """Invisible and bidirectional control characters: errors in the front matter (titles and
    summaries are shown on many pages, in lists and search results), warnings in the body."""
    found = scan.find_hidden_characters(src.text)
    if not found:
        return
    in_front = src.data is not None or src.body_line > 1
    keys = _key_line_index(src)
    front_lines = src.text.split("\n", src.body_line)[1:src.body_line - 2] if in_front else []
    for hidden in found:
        front = in_front and hidden.line < src.body_line
        name = (_field_on_line(src, hidden.line, keys) or _enclosing_key(front_lines, hidden.line - 2)) if front else None
        where = f"'{name or 'front matter'}'" if front else "the body"
        if hidden.bidi:
            what = (f"a bidirectional control, {hidden.code_point}, in {where}: it changes the order in "
                    "which the text is shown, so readers see something other than what is written "
                    "(Trojan Source, CVE-2021-42574)")
        elif hidden.char in "\u2028\u2029\x85":
            what = (f"{hidden.code_point} in {where}: YAML 1.1 tools and browsers' scripts read it as a "
                    "line break, this tool does not")
        else:
            what = f"an invisible character, {hidden.code_point}, in {where}"
        fix = ("delete it: an editor finds it with a search for \\u%04X" % ord(hidden.char)
               + ("; write the text in the order it is read" if hidden.bidi else ""))
        src.problem(hidden.line, hidden.column, name, "error" if front else "warning", "invisible-character",
                    what, fix)


def _check_front_matter_html(src: SourceFile) -> None:
    """Executable HTML in front-matter text (titles and summaries are shown on many pages)."""
    for path, (line, column) in src.positions.items():
        if not path:
            continue
        try:
            value = _value_at_path(src.data, path)
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(value, str) or ("<" not in value and ":" not in value):
            continue
        for finding in scan.find_executable_html([value], line):
            src.problem(line, column, path, "error", "unsafe-html",
                        f"{finding.what} in '{path}' would run in a reader's browser",
                        "remove the HTML; front-matter text is shown as plain text")


def _check_cross_fields(src: SourceFile, data: dict, times: dict) -> None:
    """Rules that relate two fields: an id both related and not related; an action item due
    before the incident started."""
    related, not_related = data.get("related"), data.get("not_related")
    if isinstance(related, list) and isinstance(not_related, list):
        related = {value for value in related if isinstance(value, str)}
        for i, value in enumerate(not_related):
            if isinstance(value, str) and value in related:
                path = f"not_related[{i}]"
                src.problem(*src.positions.get(path, (src.line_of("not_related"), None)), path, "error",
                            "related-conflict", f"{value!r} is listed in both related and not_related",
                            "keep it in one of the two lists")
    date_text = data.get("date")
    incident_day = parse_date(date_text) if isinstance(date_text, str) else None
    items = data.get("action_items")
    if incident_day is None or not isinstance(items, list):
        return
    for i, item in enumerate(items):
        due_text = item.get("due") if isinstance(item, dict) else None
        due = parse_date(due_text) if isinstance(due_text, str) else None
        if due is not None and due < incident_day:
            path = f"action_items[{i}].due"
            src.problem(*src.positions.get(path, (src.line_of(path), None)), path, "warning", "due-before-date",
                        f"action item due {due_text!r} is before the incident's date {date_text!r}",
                        "check the year and month of the due date")


# (field, page of one value, overview page it must not replace, what the overview is, example)
_NAMED_PAGES = (
    ("services", service_page, SERVICES, "the services overview", "index-api"),
    ("tags", tag_page, TAGS, "the tag index", "indexing"),
)


def _check_reserved_names(src: SourceFile, data: dict) -> None:
    """A service or tag whose page would take the place of its overview page (``index``): the
    site build stops on it. Drafts are left out of the site, so only published ones count."""
    if _is_draft(data):
        return
    for name, page_of, overview, what, example in _NAMED_PAGES:
        values = data.get(name)
        if not isinstance(values, list):
            continue
        kind = name[:-1] if name.endswith("s") else name
        for i, value in enumerate(values):
            if isinstance(value, str) and page_of(value) == overview:
                path = f"{name}[{i}]"
                src.problem(*src.positions.get(path, (src.line_of(name), None)), path, "error", "reserved-name",
                            f"the page of {kind} {value!r} would be {overview}, which is {what}; "
                            "the site build stops on it",
                            f"rename the {kind}, e.g. {example}")


def _field_on_line(src: SourceFile, line: int, index: list | None = None) -> str | None:
    """The field whose key is on ``line`` or nearest above it (the last such key in file order),
    ``None`` in the body. ``index`` is :func:`_key_line_index` of ``src``, for many calls."""
    if line >= src.body_line:
        return None
    keys = index if index is not None else _key_line_index(src)
    at = bisect.bisect_right(keys, (line, len(keys))) - 1
    return keys[at][2] if at >= 0 else None


def _key_line_index(src: SourceFile) -> list[tuple[int, int, str]]:
    """``(line, order, path)`` of every key, sorted: a bisection finds the key of a line."""
    return sorted((key_line, order, path) for order, (path, key_line) in enumerate(src.key_lines.items()))


def section_field(title: str) -> str:
    """How a problem about a body section names it in ``field``: its heading, ``## Summary``
    (as written, for a section the file has)."""
    return f"## {title.strip()}"


def _check_final_sections(src: SourceFile, sections: list[scan.Section]) -> None:
    by_key = {scan.section_key(s.title): s for s in sections}
    status_line = src.line_of("status")
    for name in REQUIRED_FINAL_SECTIONS:
        section = by_key.get(scan.section_key(name))
        if section is None:
            # at the status line, which makes the section required
            src.problem(status_line, None, section_field(name), "error", "section-missing",
                        f"status is 'final' but the '## {name}' section is missing",
                        f"add a '## {name}' section, or set status: in-review until it is written")
        elif scan.is_placeholder(section.text):
            src.problem(section.line, None, section_field(section.title), "error", "section-empty",
                        f"status is 'final' but the '## {name}' section is empty",
                        f"write the {name.lower()} section, or set status: in-review until it is written")
    for section in sections:
        key = scan.section_key(section.title)
        if key in _OPTIONAL_SECTION_KEYS and scan.is_placeholder(section.text):
            src.problem(section.line, None, section_field(section.title), "warning", "section-unwritten",
                        f"status is 'final' but the optional '## {section.title}' section is empty "
                        "(nothing but the template's hint)",
                        f"write the {section.title.lower()} section, or delete its heading")


_OPTIONAL_SECTION_KEYS = frozenset(scan.section_key(name) for name in (*STANDARD_SECTIONS, *NOTES_SECTIONS)
                                   if name not in REQUIRED_FINAL_SECTIONS)
"""The standard sections a final post-mortem may leave out (format v1) but not leave empty."""


# --- the corpus ----------------------------------------------------------------------------


def next_free_id(taken: set[str], like: str, highest: dict[tuple[str, str], int] | None = None) -> str:
    """The next id after the highest one with the same prefix and year as ``like``.

    ``next_free_id({"PM-2024-052", "PM-2024-007"}, "PM-2024-052") == "PM-2024-053"``; the
    sequence keeps at least three digits. ``highest`` is :func:`_highest_numbers` of ``taken``,
    when the caller asks many times (each call then costs nothing more).
    """
    m = ID_PARTS.match(like)
    if not m:
        return like
    prefix, year = m.group(1), m.group(2)
    if highest is None:
        highest = _highest_numbers(taken)
    width = max(3, len(m.group(3)))
    return f"{prefix}-{year}-{highest.get((prefix, year), 0) + 1:0{width}d}"


def _highest_numbers(taken: set[str]) -> dict[tuple[str, str], int]:
    """The highest sequence number per ``(prefix, year)`` among the ids ``taken``."""
    highest: dict[tuple[str, str], int] = {}
    for m in map(ID_PARTS.match, taken):
        if m:
            key = (m.group(1), m.group(2))
            highest[key] = max(highest.get(key, 0), int(m.group(3)))
    return highest


DUPLICATES_NAMED = 3
"""Other holders of a duplicate id that its message names; the rest are counted."""


def _name_a_few(holders: list[tuple[str, int, object]], own: int) -> str:
    """The holders of an id other than ``holders[own]``: the first :data:`DUPLICATES_NAMED`
    as ``path:line``, then how many more (5,000 files with one id make 5,000 messages, and
    naming every other file in each would make them 25 million names)."""
    others = [h for i, h in enumerate(holders[:DUPLICATES_NAMED + 1]) if i != own][:DUPLICATES_NAMED]
    named = ", ".join(f"{p}:{ln}" for p, ln, _ in others)
    more = len(holders) - 1 - len(others)
    return f"{named} and {more} more file{'s' if more > 1 else ''}" if more > 0 else named


def _id_like(pid: str, date_text) -> str:
    """``pid`` with its year replaced by the year of ``date_text`` (when both parse)."""
    m = ID_PARTS.match(pid)
    date = parse_date(date_text) if isinstance(date_text, str) else None
    if m is None or date is None:
        return pid
    return f"{m.group(1)}-{date.year}-{m.group(3)}"


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def validate(paths: list[Path], settings: Settings, today: dt.date | None = None,
             scan_secrets: bool = True) -> ValidationResult:
    """Validate post-mortem files and the links between them, in one pass.

    Args:
        paths: files and folders (see :func:`collect_files`); folders are the corpus used
            for the cross-file rules. Files given alone inside ``settings.docs_dir`` are checked
            against the rest of that folder (unique ids, related ids, links).
        settings: options from ``mkdocs.yml``.
        today: reference date for "in the future" (default: now at UTC+14).
        scan_secrets: run the secret scan (always on in the CLI and the build).

    Returns:
        A :class:`ValidationResult`. Problems of files outside ``paths`` are not reported.

    Raises:
        FileNotFoundError: a path does not exist.
    """
    return start_validation(paths, settings, today, scan_secrets).result()


class PendingValidation:
    """A validation whose files are being checked by worker processes (see :func:`start_validation`).

    ``in_background`` tells whether workers are running (large corpora with more than one CPU)
    or the files will be checked in this process when :meth:`result` is called; it is False
    when the result was read from the cache folder (:mod:`generator.validation_cache`): then
    nothing is checked at all. Call :meth:`result` exactly once, or :meth:`cancel` to stop the
    workers.

    Args:
        targets: the post-mortems to check, ``(file, root)``.
        context: the other post-mortems of the docs folder, for the cross-file rules.
        settings, today, scan_secrets: as for :func:`validate` (``today`` resolved: a date).
        inventory: what :func:`collect` found.
        cache_key: the key the result is stored under (:func:`generator.validation_cache.validation_key`),
            ``None`` to store nothing.
        cached: the result read from the cache folder under ``cache_key``, or ``None`` (a miss).
        rekey: computes the key again, after the validation: the result is stored only when it
            is still ``cache_key`` (no file changed while it was read).
    """

    def __init__(self, targets, context, settings, today, scan_secrets, inventory: Inventory | None = None,
                 cache_key: str | None = None, cached: ValidationResult | None = None, rekey=None):
        self._targets, self._context, self._settings = targets, context, settings
        self._today, self._scan_secrets = today, scan_secrets
        self._inventory = inventory
        self._cache_key, self._cached, self._rekey = cache_key, cached, rekey
        self.cache_hit = cached is not None
        if cached is not None:
            self._known_clean, self._pool, self._results = frozenset(), None, None
        else:
            self._known_clean = load_clean_scans(settings) if scan_secrets and targets else frozenset()
            self._pool, self._results = _start_pool(targets, settings, today, scan_secrets, self._known_clean)
        self.in_background = self._pool is not None

    @property
    def confinement_errors(self) -> list[Problem]:
        """The ``file-symlink`` and ``file-not-regular`` errors, known before any file is read.

        The site build stops on them at once: MkDocs' own walk of the docs folder follows
        links into folders (a link to ``/`` would walk the whole disk).
        """
        return [p for p in (self._inventory.problems if self._inventory else []) if p.level == "error"]

    def result(self) -> ValidationResult:
        """Wait for the workers (if any) and run the cross-file rules; store the result in the
        cache folder when it may be (:func:`generator.validation_cache.save`).

        Returns:
            The :class:`ValidationResult`, exactly as :func:`validate` returns it.
        """
        if self._cached is not None:
            cached, self._cached = self._cached, None
            return cached
        if self._pool is not None:
            try:
                sources = list(self._results)
            finally:
                self._pool.shutdown()
                self._pool = None
        else:
            sources = _check_here(self._targets, self._settings, self._today, self._scan_secrets, self._known_clean)
        if self._scan_secrets:
            save_clean_scans(self._settings, self._known_clean, {src.clean_scan for src, _, _ in sources if src.clean_scan})
        result = _finish(sources, self._context, self._settings, self._inventory, self._scan_secrets)
        if self._cache_key is not None and not result.secrets and self._rekey is not None \
                and self._rekey() == self._cache_key:
            from . import validation_cache
            from .cache import Cache

            validation_cache.save(Cache(self._settings.cache_path()), self._cache_key, result)
        return result

    def cancel(self) -> None:
        """Stop the workers without waiting for their results (a build that failed meanwhile)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def default_today() -> dt.date:
    """The day the checks take as today when none is given: today at UTC+14, the last place on
    Earth where a day ends (a date is "in the future" only when it is everywhere)."""
    return (dt.datetime.now(dt.timezone.utc) + _LATEST_OFFSET).date()


def start_validation(paths: list[Path], settings: Settings, today: dt.date | None = None,
                     scan_secrets: bool = True) -> PendingValidation:
    """Start :func:`validate` and return before the files are checked, when workers check them.

    The site build starts the validation, lets MkDocs collect its files meanwhile, then
    waits for :meth:`PendingValidation.result`. Arguments as for :func:`validate`.

    When nothing the result depends on has changed since a run that stored it, the result is
    read from the cache folder instead (:mod:`generator.validation_cache`: the key covers the
    code, the options, ``today``, the paths and working directory, and the bytes of every file
    the checks read); no file is checked then.

    Raises:
        FileNotFoundError: a path does not exist.
    """
    from . import validation_cache
    from .cache import Cache

    today = today or default_today()  # one day for the key and every file's checks
    # Linked files' front matter and headings are remembered within a run, not from an earlier
    # run of this process (mkdocs serve): the headings were remembered by path alone, and a
    # result computed from a stale one would now be stored under the key of the new bytes.
    _front_matter_cached.cache_clear()
    _heading_ids_of.cache_clear()
    inventory = collect(paths, settings)
    targets = [(e.path, e.root) for e in inventory.entries if e.kind == POSTMORTEM]
    target_set = {file for file, _ in targets}
    docs = settings.docs_dir.resolve()
    dir_args = {p.resolve() for p in paths if p.is_dir()}
    context: list[tuple[Path, Path]] = []
    if docs.is_dir() and docs not in dir_args and any(root == docs for _, root in targets):
        context = [(f, r) for f, r in collect_files([docs], settings) if f not in target_set]

    seen: dict = {}  # the files' hashes: the check after the validation reads only the files changed since

    def rekey() -> str | None:
        return validation_cache.validation_key(paths, settings, today, scan_secrets, inventory, context, seen)

    key = rekey()
    cached = validation_cache.load(Cache(settings.cache_path()), key) if key is not None else None
    return PendingValidation(targets, context, settings, today, scan_secrets, inventory, key, cached, rekey)


def _finish(sources: list[tuple[SourceFile, Postmortem | None, Path]], context: list[tuple[Path, Path]],
            settings: Settings, inventory: Inventory | None = None, scan_secrets: bool = True) -> ValidationResult:
    """Cross-file rules over the checked files, the checks of the other files (pages,
    attachments, links and FIFOs of ``inventory``), and the sorted result."""
    result = ValidationResult(files=len(sources))
    others: list[tuple[str, str, int]] = []  # (id, display path, line) of context files
    internal: set[str] = set()  # ids of the internal post-mortems, checked or context
    context_values = []  # services, tags, trigger of context files (generator.vocabulary)
    for file, root in context:
        src = read_source(file, display_path(file))
        if src.data and isinstance(src.data.get("id"), str):
            others.append((src.data["id"].strip(), src.relpath, src.line_of("id") or 1))
            if visibility_of_data(src.data, settings) == "internal":
                internal.add(src.data["id"].strip())
        elif _unparsed_id(src):
            others.append((src.written_id, src.relpath, src.written_id_line or 1))  # its front matter does not parse
        context_values.append(vocabulary.field_values(src.data))
    for src, _, _ in sources:
        if isinstance(src.data, dict) and isinstance(src.data.get("id"), str) \
                and visibility_of_data(src.data, settings) == "internal":
            internal.add(src.data["id"].strip())
    _check_corpus(sources, others, settings, internal)
    _check_vocabulary(sources, context_values, settings)
    problems: list[Problem] = []
    secrets: set[str] = set()
    for src, pm, _ in sources:
        problems.extend(src.problems)
        secrets.update(src.secrets)
        if pm is not None:
            result.postmortems.append(pm)
            if not any(p.level == "error" for p in src.problems):
                result.valid_ids.add(pm.id)
    if inventory is not None:
        problems.extend(inventory.problems)
        other = [e for e in inventory.entries if e.kind != POSTMORTEM]
        result.other_files = len(other)
        problems.extend(check_other_files(other, settings, scan_secrets, secrets))
    result.secrets = frozenset(secrets)
    docs = settings.docs_dir.resolve()
    if not context and any(root == docs for _, _, root in sources):
        # The whole docs folder was checked: its problems file too (names of recurring problems).
        from . import problems as names_file

        problems.extend(names_file.check(settings, {pm.id for _, pm, _ in sources if pm is not None}))
    result.problems = sorted(problems, key=Problem.sort_key)
    result.postmortems.sort(key=lambda p: (p.id, p.path))
    return result


# Attachment kinds read as text for the secret scan; another kind is scanned when its bytes are
# UTF-8 without a NUL byte (images, PDF and archives are not).
TEXT_ATTACHMENTS = frozenset({".txt", ".log", ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".yaml", ".yml",
                              ".xml", ".ini", ".cfg", ".conf", ".toml", ".env", ".properties", ".sql", ".sh",
                              ".py", ".js", ".css", ".html", ".htm", ".svg", ".har", ".md"})
_BINARY_ATTACHMENTS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".ico", ".bmp", ".tif", ".tiff",
                                 ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".woff", ".woff2", ".ttf", ".mp4",
                                 ".webm", ".mp3", ".ogg"})


def check_other_files(entries: list[Entry], settings: Settings, scan_secrets: bool = True,
                      secrets_found: set[str] | None = None) -> list[Problem]:
    """The checks of the files of a docs folder that are not post-mortems but that the site publishes.

    * pages (``ignore``d Markdown, e.g. ``README.md`` as the home page): the ``unsafe-html``
      rule on the body and the secret scan of the whole file;
    * attachments (kinds the ``attachments`` option lists): the secret scan, for text kinds;
    * other files: a ``file-not-published`` warning (the site leaves them out).

    Args:
        entries: inventory entries of kind page, attachment or unpublished.
        settings: options (``attachments``, ``max_file_size``).
        scan_secrets: run the secret scan.
        secrets_found: when given, the secret values found are added to it.

    Returns:
        The problems, unsorted.
    """
    from .inventory import unpublished_problem

    problems: list[Problem] = []
    todo = []
    for entry in entries:
        if entry.kind == UNPUBLISHED:
            problems.append(unpublished_problem(entry, settings))
        elif entry.kind in (PAGE, ATTACHMENT):
            todo.append(entry)
    if not todo:
        return problems
    scanner = scan.SecretScanner().__enter__() if scan_secrets else None
    try:
        for entry in todo:
            if entry.kind == ATTACHMENT:
                suffix = os.path.splitext(entry.relpath)[1].lower()
                if suffix in _BINARY_ATTACHMENTS:
                    continue
                src = read_attachment(entry.path, display_path(entry.path))
                if src.text is None or (suffix not in TEXT_ATTACHMENTS and "\0" in src.text[:65536]):
                    problems.extend(src.problems)  # unreadable, or binary
                    continue
            else:
                src = read_page(entry.path, display_path(entry.path))
            if src.size > settings.max_file_size and entry.kind == PAGE:
                src.problem(None, None, None, "warning", "file-too-large",
                            f"the page is {src.size / 1e6:.1f} MB, over the {settings.max_file_size / 1e6:g} MB limit",
                            "split it, or move long logs to an attachment")
            _check_published_text(src, entry.kind, scanner, settings)
            problems.extend(src.problems)
            if secrets_found is not None:
                secrets_found.update(src.secrets)
    finally:
        if scanner is not None:
            scanner.__exit__(None, None, None)
    return problems


def _check_published_text(src: SourceFile, kind: str, scanner: scan.SecretScanner | None,
                          settings: Settings) -> None:
    """The rules of a page or a text attachment the site publishes as is (see
    :func:`check_other_files`); the secret scan first, so every message after it is masked."""
    if not src.text:
        return
    all_lines = src.text.split("\n")
    code = scan.code_line_indexes(src.body) if kind == PAGE else frozenset()
    if kind == PAGE:
        fm_count = src.body_line - 1
        code_in_file = frozenset(fm_count + i for i in code)
    else:
        fm_count, code_in_file = 0, frozenset(range(len(all_lines)))  # a log or dump reads like configuration
    if scanner is not None:
        findings = scanner.scan(all_lines, 1, code_in_file, yaml_lines=fm_count)
        if findings:
            src.set_secrets(value for finding in findings for value in (finding.value, *finding.hidden))
        for finding in findings:
            src.problem(finding.line, None, None, "error", "secret",
                        f"{finding.kind} found: {scan.mask(finding.value)}", SECRET_FIX)
    if kind == PAGE:  # rendered by the same Markdown and sanitiser as a post-mortem: the same rules
        body_lines = src.body.split("\n")
        prose = scan.prose_lines(body_lines, code)
        for finding in scan.find_executable_html(prose, src.body_line):
            src.problem(finding.line, finding.column, None, "error", "unsafe-html",
                        f"{finding.what} would run in a reader's browser",
                        "remove it, or put the payload in a fenced code block (```html) so it shows as text")
        _check_sanitiser_policy(src, body_lines, prose)
        _check_nesting(src, prose)
        _check_site_reading(src, body_lines, prose, code, settings)
        _check_hidden_characters(src)


def _die_with_parent() -> None:
    """A worker process ends when the process that started it ends, however it ends (SIGKILL
    included): Linux's ``PR_SET_PDEATHSIG``. Elsewhere a no-op (the pool's own shutdown then)."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


# Below this many files a worker pool costs more than it saves (process start-up ~50 ms).
PARALLEL_MIN_FILES = 400
_worker_state: dict = {}


def _worker_start(settings: Settings, today: dt.date | None, scan_secrets: bool,
                  known_clean: frozenset[str] = frozenset()) -> None:
    _die_with_parent()
    _worker_state.update(settings=settings, today=today,
                         scanner=scan.SecretScanner(known_clean=known_clean).__enter__() if scan_secrets else None)


CLEAN_SCANS = "secret-scan"
"""Cache namespace of the scans that found no secret: one entry, keyed by
:func:`generator.scan.scanner_digest`, holding the :meth:`~generator.scan.SecretScanner.input_key`
of every file scanned clean (JSON list). A file whose text, front matter and the scanner's code
are unchanged is not scanned again, and a run whose files are all known clean never imports
detect-secrets. Only clean verdicts are kept: the cache folder never holds a secret or where one
is. Entries are authenticated (:mod:`generator.cache`): one planted in the folder is a miss."""

MAX_CLEAN_SCANS = 200_000
"""Keys kept in that entry: the current run's, then older ones up to this many (64 bytes each)."""


def load_clean_scans(settings: Settings) -> frozenset[str]:
    """The clean-scan keys of :data:`CLEAN_SCANS` in ``settings.cache_path()`` (empty on a miss)."""
    import json

    from .cache import Cache

    data = Cache(settings.cache_path()).get(CLEAN_SCANS, scan.scanner_digest())
    try:
        keys = json.loads(data) if data is not None else []
    except ValueError:
        return frozenset()
    if not isinstance(keys, list):
        return frozenset()
    return frozenset(k for k in keys if isinstance(k, str) and len(k) == 64)


def save_clean_scans(settings: Settings, known: frozenset[str], found: set[str]) -> None:
    """Store ``found`` (this run's clean keys) and as many of ``known`` as fit under
    :data:`MAX_CLEAN_SCANS`; nothing is written when nothing changed."""
    import json

    from .cache import Cache

    if found <= known:
        return
    keep = sorted(found) + sorted(known - found)[:max(0, MAX_CLEAN_SCANS - len(found))]
    Cache(settings.cache_path()).put(CLEAN_SCANS, scan.scanner_digest(), json.dumps(keep).encode("ascii"))


def _worker_check(target: tuple[Path, Path]) -> tuple[SourceFile, Postmortem | None, Path]:
    file, root = target
    try:
        src = read_source(file, display_path(file))
    except Exception as exc:  # noqa: BLE001 - see check_failed
        src = SourceFile(path=file, relpath=display_path(file), size=0)
        check_failed(src, exc)
        return src, None, root
    try:
        pm, _ = check_file(src, _worker_state["settings"], file.relative_to(root).as_posix(),
                           _worker_state["scanner"], _worker_state["today"])
    except Exception as exc:  # noqa: BLE001 - see check_failed
        check_failed(src, exc)
        pm = None
    return src, pm, root


def check_failed(src: SourceFile, exc: Exception) -> None:
    """Record that a check raised on this file (a bug of ours, never the file's fault): one
    ``check-failed`` error instead of a traceback that would lose the whole run's report.
    Only the exception's type is named (its text could quote the file)."""
    src.problem(None, None, None, "error", "check-failed",
                f"the validator failed on this file ({type(exc).__name__}); the other files were checked",
                "this is a bug of postmortem-kb: please report it with the file (without its secrets)")


def _worker_check_compact(target: tuple[Path, Path]) -> tuple[SourceFile, Postmortem | None, Path]:
    """:func:`_worker_check` without the file's full text, which nothing needs afterwards and
    which would double what goes back through the pipe (the body is kept)."""
    src, pm, root = _worker_check(target)
    src.text = ""
    return src, pm, root


def _start_pool(targets: list[tuple[Path, Path]], settings: Settings, today: dt.date | None,
                scan_secrets: bool, known_clean: frozenset[str] = frozenset()):
    """Start checking ``targets`` in a pool of worker processes, for large corpora.

    The per-file rules are independent, so files are spread over ``os.cpu_count()`` worker
    processes (``PMKB_JOBS`` overrides; ``1`` disables) from :data:`PARALLEL_MIN_FILES` files.

    Returns:
        ``(pool, results)``: the executor and an iterator of results in the order of
        ``targets``; ``(None, None)`` when the files are to be checked in this process.
    """
    import os

    jobs = int(os.environ.get("PMKB_JOBS") or os.cpu_count() or 1)
    if jobs < 2 or len(targets) < PARALLEL_MIN_FILES:
        return None, None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_start,
                               initargs=(settings, today, scan_secrets, known_clean))
    try:
        results = pool.map(_worker_check_compact, targets, chunksize=max(16, len(targets) // (jobs * 8)))
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise
    return pool, results


def _check_here(targets: list[tuple[Path, Path]], settings: Settings, today: dt.date | None,
                scan_secrets: bool, known_clean: frozenset[str] = frozenset()
                ) -> list[tuple[SourceFile, Postmortem | None, Path]]:
    """Run :func:`check_file` over ``targets`` in this process, in order."""
    _worker_start(settings, today, scan_secrets, known_clean)
    try:
        return [_worker_check(target) for target in targets]
    finally:
        scanner = _worker_state.pop("scanner", None)
        if scanner is not None:
            scanner.__exit__(None, None, None)
        _worker_state.clear()


def visibility_of_data(data, settings: Settings) -> str:
    """The visibility of a post-mortem from its front matter as read (format v2 ``visibility``,
    else the ``default_visibility`` option): ``public`` or ``internal``."""
    if isinstance(data, dict) and data.get("format") in (2, "2") and data.get("visibility") in ("public", "internal"):
        return data["visibility"]
    return settings.default_visibility


def _unparsed_id(src: SourceFile) -> str | None:
    """The id a file whose front matter does not parse writes on its ``id:`` line, when it is an
    id (:data:`ID_PARTS`; a placeholder such as ``PM-YYYY-NNN`` is not one to compare): such a
    file still holds it, so a duplicate of it is reported now, beside the YAML error."""
    if not isinstance(src.data, dict) and src.written_id and ID_PARTS.match(src.written_id):
        return src.written_id
    return None


def _check_corpus(sources: list[tuple[SourceFile, Postmortem | None, Path]],
                  others: list[tuple[str, str, int]], settings: Settings, internal: set[str] = frozenset()) -> None:
    by_id: dict[str, list[tuple[str, int, SourceFile | None]]] = {}
    for src, _, _ in sources:
        data = src.data
        if any(p.code == "template-file" for p in src.problems):
            continue  # a template's placeholder id is no incident's id
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            by_id.setdefault(data["id"].strip(), []).append((src.relpath, src.line_of("id") or 1, src))
        elif _unparsed_id(src):
            by_id.setdefault(src.written_id, []).append((src.relpath, src.written_id_line or 1, src))
    for pid, relpath, line in others:
        by_id.setdefault(pid, []).append((relpath, line, None))
    taken = set(by_id)
    # ... and the next free id is never one that such a file writes, placeholder-like or not.
    taken.update(src.written_id for src, _, _ in sources if not isinstance(src.data, dict) and src.written_id)
    highest = _highest_numbers(taken)
    for pid, holders in by_id.items():
        if len(holders) < 2:
            continue
        for index, (relpath, line, src) in enumerate(holders):
            if src is None:
                continue
            date = src.data.get("date") if isinstance(src.data, dict) else None
            suggestion = next_free_id(taken, _id_like(pid, date), highest)
            src.problem(line, None, "id", "error", "duplicate-id",
                        f"id {pid!r} is also used by {_name_a_few(holders, index)}",
                        f"give one of them the next free id, {suggestion}")
    for src, _, root in sources:
        data = src.data
        if not isinstance(data, dict):
            continue
        for name in ("related", "not_related"):
            values = data.get(name)
            if not isinstance(values, list):
                continue
            for i, value in enumerate(values):
                if isinstance(value, str) and value not in taken and ID_PARTS.match(value):
                    path = f"{name}[{i}]"
                    src.problem(*src.positions.get(path, (src.line_of(name), None)), path, "error", "unknown-id",
                                f"{name} names {value!r}, which no post-mortem has",
                                "check the id (ids are case-sensitive) or remove it")
                elif value == data.get("id"):
                    path = f"{name}[{i}]"
                    src.problem(*src.positions.get(path, (src.line_of(name), None)), path, "warning", "self-link",
                                f"{name} names the post-mortem itself ({value!r})", "remove it")
                elif name == "related" and value in internal and visibility_of_data(data, settings) == "public":
                    path = f"{name}[{i}]"
                    src.problem(*src.positions.get(path, (src.line_of(name), None)), path, "warning",
                                "related-internal",
                                f"related names {value!r}, an internal post-mortem, from a public one: the public "
                                "site leaves that link out",
                                "remove it from related, or make both post-mortems internal or both public")
        try:
            _check_links(src, root, settings)
        except Exception as exc:  # noqa: BLE001 - see check_failed
            check_failed(src, exc)


def _check_vocabulary(sources: list[tuple[SourceFile, Postmortem | None, Path]], context_values: list,
                      settings: Settings) -> None:
    """``vocabulary-near`` / ``vocabulary-unknown`` warnings (:mod:`generator.vocabulary`): a
    service, tag or trigger that no other file of the corpus uses and that is close to one in
    use, or that is not in the list the ``vocabulary`` option declares."""
    checked = [(src, vocabulary.field_values(src.data)) for src, _, _ in sources
               if not any(p.code == "template-file" for p in src.problems)]
    counts = vocabulary.vocabulary_counts([values for _, values in checked] + context_values)
    declared = settings.declared_vocabulary()
    if not any(values for _, values in checked):
        return
    indexes = vocabulary.corpus_indexes(counts, settings.search_synonyms())
    for src, values in checked:
        wrong = {p.field for p in src.problems if p.level == "error" and p.field}
        for s in vocabulary.check_values(values, counts, indexes, declared):
            if s.path in wrong and s.close and s.close[0][0] == _kebab_form(s.value):
                continue  # the field-format fix names that value already ("write it as 'checkout-api'")
            message, fix = vocabulary.message(s, len(declared.get(s.field, ())))
            code = "vocabulary-unknown" if s.kind == "unknown" else "vocabulary-near"
            src.problem(*src.positions.get(s.path, (src.line_of(s.path), None)), s.path, "warning", code, message, fix)


# Footnote anchors (footnotes extension) exist on every page without a heading for them.
_FOOTNOTE_ANCHOR = re.compile(r"^fn(?:ref)?:")


def _has_action_items(data) -> bool:
    """Whether the site lists tracked action items for this front matter (as the model reads it)."""
    items = data.get("action_items") if isinstance(data, dict) else None
    return isinstance(items, list) and any(isinstance(i, dict) and isinstance(i.get("title"), str) for i in items)


def _is_draft(data) -> bool:
    """A post-mortem the built site leaves out: ``status: draft``, or no status (read as draft)."""
    status = data.get("status") if isinstance(data, dict) else None
    return not (isinstance(status, str) and status.strip() and status.strip() != "draft")


def generated_anchors(heading_ids: set[str] | frozenset[str], data) -> frozenset[str]:
    """The ids the site adds to a post-mortem page (:func:`generator.paths.generated_anchors`):
    the "Related incidents" h2 on every page and "Tracked action items" when the front matter
    has ``action_items``; each takes a ``-pmkb`` suffix when a heading of the author already
    has its id. ``data`` is the page's front matter (not a mapping: not a post-mortem, none)."""
    if not isinstance(data, dict):
        return frozenset()
    return paths.generated_anchors(heading_ids, _has_action_items(data))


def _check_links(src: SourceFile, root: Path, settings: Settings) -> None:
    """Relative links resolve to a file in the folder, and anchors to a heading of their page;
    site-absolute paths are refused; embedded remote images are warned about (offline site)."""
    if not src.body or "](" not in src.body and "]:" not in src.body and "//" not in src.body:
        return
    from urllib.parse import unquote

    body_lines = src.body.split("\n")
    prose = scan.prose_lines(body_lines, scan.code_line_indexes(src.body))
    for link in scan.find_remote_resources(prose, src.body_line):
        src.problem(link.line, link.column, None, "warning", "remote-resource",
                    f"the page would load {link.target!r} from another host, which fails offline "
                    "and tells that host who reads the post-mortem",
                    "save the image next to the post-mortems and link it relatively, or make it a plain link")
    from . import inventory

    folder = src.path.parent
    root = Path(os.path.realpath(root))
    own_ids: set[str] | None = None
    budget = [SUGGESTION_BUDGET]
    targets: dict[str, tuple[str, Path]] = {}
    target_ids: dict[Path, frozenset[str]] = {}
    front_matters: dict[Path, dict | None] = {}
    published = isinstance(src.data, dict) and not _is_draft(src.data)
    for link in scan.body_links(prose, src.body_line):
        raw = link.target
        target = scan.link_destination(raw)  # as the browser gets it: &amp; and \( decoded
        if scan.unsafe_scheme(target) or scan._SCHEME.match(target) or target.startswith("//"):
            continue  # an absolute URL; javascript: and the like are reported as unsafe-html
        path_part, _, fragment = target.partition("#")
        path_part = path_part.split("?", 1)[0]
        if target.startswith("/"):
            src.problem(link.line, link.column, None, settings.broken_links, "broken-link",
                        f"link target {raw!r} is a site-absolute path, which breaks when the site is served "
                        "from a sub-folder or opened from disk",
                        "write a relative link to the file, e.g. 2024-03-14-checkout-tls-expiry.md")
            continue
        if not path_part:  # an anchor in this page
            if own_ids is None:
                headings = scan.heading_ids(prose, body_lines)
                own_ids = headings | generated_anchors(headings, src.data)
            _check_anchor(src, link, unquote(fragment), own_ids, "this page", settings, budget)
            continue
        # Looked at as written, part by part, never through a link (see generator.inventory).
        # Each target is looked up once per file, not once per link.
        if path_part not in targets:
            targets[path_part] = inventory.link_target(root, folder, unquote(path_part))
        state, resolved = targets[path_part]
        if state == inventory.MISSING:
            hint = "check the file name (`ls` the folder) or link by id from 'related:' instead"
            src.problem(link.line, link.column, None, settings.broken_links, "broken-link",
                        f"link target {raw!r} does not exist", hint)
            continue
        if state == inventory.OUTSIDE:
            src.problem(link.line, link.column, None, settings.broken_links, "link-outside",
                        f"link to {raw!r} points outside the post-mortems folder, so the site cannot serve it",
                        "link to a page inside the folder, or use an absolute https:// URL")
            continue
        if state in (inventory.SYMLINK, inventory.NOT_REGULAR):
            what = "a symbolic link or lies in a linked folder" if state == inventory.SYMLINK else "not a regular file"
            src.problem(link.line, link.column, None, settings.broken_links, "broken-link",
                        f"link target {raw!r} is {what}, which the site does not publish, so the link would be dead",
                        "link to the file itself, inside the post-mortems folder")
            continue
        if resolved.suffix != ".md" or state != inventory.FILE:
            continue
        # The target's front matter matters only for a published page's link (is it a draft?)
        # or an anchor (its generated sections): a plain link from a draft reads nothing more.
        if (published or fragment) and resolved not in front_matters:
            front_matters[resolved] = (_front_matter_of(resolved) if _is_postmortem_path(resolved, root, settings)
                                       else None)
        target_data = front_matters.get(resolved) if (published or fragment) else None
        if target_data is not None and published and _is_draft(target_data):
            src.problem(link.line, link.column, None, "warning", "link-to-draft",
                        f"link target {raw!r} is a draft (status: draft), which the built site leaves out, "
                        "so the link would be dead",
                        "publish that post-mortem first (set its status), or remove the link")
            continue
        if target_data is not None and published and visibility_of_data(target_data, settings) == "internal" \
                and visibility_of_data(src.data, settings) == "public":
            src.problem(link.line, link.column, None, "warning", "link-to-internal",
                        f"link target {raw!r} is an internal post-mortem, which the public site leaves out, so "
                        "the link would be dead there and its name would show",
                        "remove the link, or make both post-mortems internal or both public")
            continue
        if fragment:
            if resolved not in target_ids:
                headings = _heading_ids_of(resolved)
                target_ids[resolved] = headings | generated_anchors(headings, target_data)
            _check_anchor(src, link, unquote(fragment), target_ids[resolved], resolved.name, settings, budget)


# Headings compared per file to suggest the anchor a broken one meant (difflib's cost grows
# with the number of headings: this bounds it for a file with thousands of broken anchors).
SUGGESTION_BUDGET = 20_000


def _check_anchor(src: SourceFile, link: scan.Link, fragment: str, ids: set[str], where: str,
                  settings: Settings, budget: list[int]) -> None:
    if not fragment or fragment in ids or _FOOTNOTE_ANCHOR.match(fragment):
        return
    near = None
    if src.room_for("broken-anchor") and budget[0] >= len(ids):
        budget[0] -= len(ids)
        near = difflib.get_close_matches(fragment, sorted(ids), n=1, cutoff=0.6)
    fix = f"did you mean #{near[0]}?" if near else f"use the id of a heading in {where} (its title in lower case, spaces as '-')"
    src.problem(link.line, link.column, None, settings.broken_links, "broken-anchor",
                f"anchor '#{fragment}' in link {link.target!r} matches no heading in {where}", fix)


def _is_postmortem_path(path: Path, root: Path, settings: Settings) -> bool:
    """A Markdown file under ``root`` that the site treats as a post-mortem (not ``ignore``d)."""
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        return False
    return not is_ignored(rel, settings)


def _front_matter_of(path: Path) -> dict | None:
    """The front matter of a linked file as a mapping, or ``None`` (re-read when the file changes).

    ``path`` was checked by :func:`generator.inventory.link_target`; the read is confined too
    (:func:`generator.loader.read_source`): a link put there since is not followed.
    """
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return _front_matter_cached(path, info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=4096)
def _front_matter_cached(path: Path, mtime_ns: int, size: int) -> dict | None:
    data = read_source(path).data
    return data if isinstance(data, dict) else None


@lru_cache(maxsize=4096)
def _heading_ids_of(path: Path) -> frozenset[str]:
    from .inventory import read_regular

    try:
        text = read_regular(path).decode("utf-8-sig").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError):
        return frozenset()
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":
        end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() in ("---", "...")), 0)
        lines = lines[end + 1:]
    body = "\n".join(lines)
    return frozenset(scan.heading_ids(scan.prose_lines(lines, scan.code_line_indexes(body)), lines))


def skipped_files(paths: list[Path], settings: Settings) -> tuple[list[str], list[str]]:
    """The Markdown files below the folders in ``paths`` that a run does not check as
    post-mortems: ``(ordinary pages, templates)``, as paths relative to their folder, sorted.

    The folders are walked as :func:`collect` walks them (:func:`generator.inventory.walk`):
    a link is not listed or followed (the run reports it), hidden files are not read at all.
    """
    from .inventory import PAGE, walk

    pages: list[str] = []
    templates: list[str] = []
    for path in paths:
        if not os.path.isdir(path):
            continue
        for entry in walk(path, settings).entries:
            if entry.kind == PAGE and entry.relpath.endswith(".md"):
                (templates if foreign.is_template_path(entry.relpath, settings.templates) else pages).append(
                    entry.relpath)
    return sorted(pages), sorted(templates)


def free_id_for(pid: str, date_text: str | None, folders: list[Path], settings: Settings,
                also: set[str] = frozenset()) -> str:
    """The next free id to give a post-mortem that has ``pid`` and ``date_text`` (YYYY-MM-DD),
    as the ``duplicate-id`` fix computes it: the prefix of ``pid``, the year of ``date_text``,
    after the highest number among every id written under ``folders`` (:func:`corpus_ids`,
    files whose YAML does not parse included) and ``also``."""
    taken = set(also)
    for folder in folders:
        taken |= corpus_ids(folder, settings)
    return next_free_id(taken, _id_like(pid, date_text))


def corpus_ids(folder: Path, settings: Settings) -> set[str]:
    """Every ``id`` written in the post-mortems under ``folder``: the parsed ``id`` field, or,
    in a file whose front matter does not parse, its ``id:`` line
    (:func:`generator.loader.written_id`).

    Used by ``pmkb new`` to pick the next free id without running the full validation.
    """
    ids: set[str] = set()
    for file, _ in collect_files([folder], settings):
        src = read_source(file, display_path(file))
        if isinstance(src.data, dict):
            if isinstance(src.data.get("id"), str):
                ids.add(src.data["id"].strip())
        elif src.written_id:
            ids.add(src.written_id)
    return ids
