"""Readers: one source file in, :class:`~generator.importers.record.Record` objects out.

* ``md-frontmatter``: Markdown with a YAML front-matter block, parsed by our own loader (no
  anchors, aliases or tags are expanded; every value stays text), mapped by a preset
  recognised by its keys, by ``--map``, or by name.
* ``md-headings``: Markdown with headings only: the title is the first H1, the date comes
  from the file name, the H1, a ``Date:`` line or the first timestamp, sections are matched
  by synonyms (``Issue summary`` -> Summary), and ``Key: value`` lines at the top (``Severity:
  SEV2``, ``Services: api, web``) are mapped by name.
* ``csv``, ``json``, ``jsonl``: one record per row, array item or line; JSON may be an array,
  one object, or an object holding the array under ``incidents``, ``data``, ``issues``,
  ``results``, ``items`` or ``records`` (the list endpoints of incident.io, FireHydrant,
  Rootly, Opsgenie and Jira).

A reader never raises for bad content: a file or record it cannot use becomes a
:class:`ReadProblem` with its reason.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .mapping import Context, MapFile, apply_rules, as_text, flatten, generic_rules
from .presets import GENERIC, Preset, detect_preset, preset_named
from .record import Record, kebab_list, not_an_incident, one_line, parse_time, standard_section
from .sources import SourceText

RECORD_LIST_KEYS = ("incidents", "data", "issues", "results", "items", "records", "postmortems")
MAX_RECORDS = 100_000
"""At most this many records are read from one file."""


@dataclass
class ReadProblem:
    """A source file or record that could not be read: ``origin`` and why (one line)."""

    origin: str
    reason: str


@dataclass
class ReadOptions:
    """``--preset`` (``None``: recognise by keys), the ``--map`` file, ``--system`` and the
    mapping context (time zone, counters)."""

    preset: str | None = None
    map_file: MapFile | None = None
    system: str | None = None
    ctx: Context | None = None


def read_file(source: SourceText, kind: str, options: ReadOptions) -> tuple[list[Record], list[ReadProblem]]:
    """Every record of one source file (see the module docstring for the kinds)."""
    if source.error:
        return [], [ReadProblem(source.name, source.error)]
    if kind in ("md-frontmatter", "md-headings"):
        return _markdown(source, kind, options)
    if kind == "csv":
        rows, problems = _csv_rows(source)
    elif kind == "json":
        rows, problems = _json_records(source)
    else:
        rows, problems = _jsonl_records(source)
    records = []
    for origin, obj in rows[:MAX_RECORDS]:
        records.append(map_object(obj, origin, kind, options))
    if len(rows) > MAX_RECORDS:
        problems.append(ReadProblem(source.name, f"{len(rows)} records; only the first {MAX_RECORDS} were read"))
    return records, problems


def map_object(obj: dict, origin: str, kind: str, options: ReadOptions, body_sections=None) -> Record:
    """One mapping (a front matter, a row, a JSON object) as a record: by the ``--map`` file
    when given (with the generic name mapping for keys it does not name), else by
    ``--preset`` or the preset recognised by its keys. Keys nobody used go to ``unmapped``; a
    record the source marks as not an incident gets its ``skip_reason`` (:func:`not_an_incident`)."""
    ctx = options.ctx or Context()
    record = Record(origin=origin)
    if options.map_file is not None:
        flat = flatten(obj)
        rules = dict(options.map_file.rules)
        for key, rule in generic_rules([k for k in flat if k not in rules]).items():
            rules.setdefault(key, rule)
        used = apply_rules(record, obj, rules, ctx)
        for name, value in (options.map_file.constants or {}).items():
            from .mapping import Rule, set_field

            set_field(record, Rule(name), value, ctx)
        preset_system = options.map_file.system or "imported"
    else:
        preset = preset_named(options.preset) if options.preset else detect_preset(obj, kind)
        used = preset.read(obj, record, ctx)
        preset_system = preset.system
        record.notes.append(f"preset:{preset.name}")
    record.system = options.system or record.system or preset_system
    record.unmapped.extend(sorted(k for k in obj if k not in used))
    if record.skip_reason is None:  # every preset and mapping: the status, resolution, labels, title
        record.skip_reason = not_an_incident(record, record.system)
    return record


# --- Markdown -----------------------------------------------------------------------------

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """``(line index, level, text)`` of every ATX or setext heading outside code fences."""
    out, fence = [], None
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if m:
            marker = m.group(1)[0]
            fence = None if fence == marker else (marker if fence is None else fence)
            continue
        if fence:
            continue
        m = _ATX.match(line)
        if m:
            out.append((i, len(m.group(1)), m.group(2).strip()))
        elif i > 0 and _SETEXT.match(line) and lines[i - 1].strip() and not _ATX.match(lines[i - 1]) \
                and not lines[i - 1].lstrip().startswith(("-", "*", "|", ">")):
            out.append((i - 1, 1 if line.strip()[0] == "=" else 2, lines[i - 1].strip()))
    return out


def split_markdown(body: str) -> tuple[str | None, str, list[tuple[str, str]]]:
    """A Markdown body as ``(title from the first H1 or None, text before the first section,
    [(heading, text)])``. Sections are the H2 headings; when the document uses H1 for its
    sections (several H1s and no H2), those. Deeper headings stay inside their section."""
    lines = body.split("\n")
    heads = _headings(lines)
    setext_under = {i + 1 for i, _, _ in heads if i + 1 < len(lines) and _SETEXT.match(lines[i + 1])}
    title = None
    h1 = [h for h in heads if h[1] == 1]
    skip: set[int] = set()
    if h1 and (not heads or heads[0] == h1[0]):
        title = h1[0][2]
        skip = {h1[0][0]} | ({h1[0][0] + 1} if h1[0][0] + 1 in setext_under else set())
        heads = heads[1:]
    levels = [h[1] for h in heads]
    section_level = 2 if 2 in levels else (1 if 1 in levels else None)
    if section_level is None:
        intro = "\n".join(line for i, line in enumerate(lines) if i not in skip)
        return title, intro.strip(), []
    starts = [(i, text) for i, level, text in heads if level == section_level]
    first = starts[0][0] if starts else len(lines)
    intro = "\n".join(line for i, line in enumerate(lines[:first]) if i not in skip).strip()
    sections = []
    for n, (start, text) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        chunk = [line for j, line in enumerate(lines[start + 1:end], start + 1) if j not in setext_under]
        sections.append((text, "\n".join(chunk).strip()))
    return title, intro, sections


def _as_sections(record: Record, intro: str, sections: list[tuple[str, str]]) -> None:
    """Put a body's sections into ``record``, headings matched to the standard ones."""
    if intro:  # after a summary from the front matter, the body's opening text is the account itself
        record.add_section("What happened" if record.section("Summary") else "Summary", intro)
    for heading, text in sections:
        name = standard_section(heading) or one_line(heading, 80).strip("# ") or "What happened"
        if name == "Lessons learned" and heading.strip().lower() not in ("lessons learned", "lessons"):
            text = f"### {one_line(heading, 80)}\n\n{text}" if text else ""
        record.add_section(name, text)


_META_LINE = re.compile(r"^\s*(?:[-*+]\s+)?(?:\*\*|__)?([A-Za-z][A-Za-z /()&_-]{1,40}?)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?"
                        r"\s*(.+?)\s*$")
_META_ROW = re.compile(r"^\s*\|\s*(?:\*\*)?([A-Za-z][A-Za-z /()&_-]{1,40}?)(?:\*\*)?\s*\|\s*(.+?)\s*\|\s*$")
_META_KEYS = ("date", "day", "incident date", "severity", "sev", "priority", "status", "state", "services",
              "service", "affected services", "systems", "components", "product", "authors", "author", "owner",
              "written by", "tags", "labels", "start", "started", "start time", "started at", "detected",
              "detected at", "detection time", "mitigated", "mitigated at", "resolved", "resolved at", "end",
              "end time", "duration", "impact start", "impact end", "incident id", "id", "trigger", "root cause",
              "company", "organization", "organisation", "category", "categories", "keywords")


_NO_VALUE = re.compile(r"^\s*(?:\?+|-+|n/?a|tbd|todo|unknown|x{2,}|y{2,}|z{2,}|none)\s*$", re.I)


def metadata_lines(text: str) -> tuple[dict[str, str], str]:
    """``Key: value`` lines (``**Severity:** SEV2``, ``- Services: api, web``, ``| Date |
    2019-05-02 |``) whose key is a known metadata name, and the text without them (nor lines
    whose value is a blank such as ``???`` or ``TBD``)."""
    found: dict[str, str] = {}
    kept = []
    for line in text.split("\n"):
        m = _META_LINE.match(line) or _META_ROW.match(line)
        key = m.group(1).strip().lower() if m else None
        if m and _NO_VALUE.match(m.group(2)):
            continue  # "Time to detection: ???": a template's blank, nothing to keep
        if m and key in _META_KEYS and key not in found and len(m.group(2)) <= 300 and not _NO_VALUE.match(m.group(2)):
            found[key] = m.group(2).strip().strip("*_").strip()
            continue
        kept.append(line)
    return found, "\n".join(kept).strip()


_NAME_DATE = re.compile(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|" \
         r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_PROSE_DATES = (
    re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I),   # March 14, 2019
    re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b", re.I),  # 14 March 2019
)
_ISO_IN_TEXT = re.compile(r"(?<![\d-])(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?)\s*"
                          r"(Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?(?![\d-])")


def find_day(text: str):
    """The first calendar date written in ``text``: ISO (``2019-03-14``) or in words (``March
    14, 2019``, ``14 March 2019``); ``None`` when there is none."""
    import datetime as dt

    candidates = []
    m = _ISO_IN_TEXT.search(text)
    if m:
        _, day, _ = parse_time(m.group(1))
        if day:
            candidates.append((m.start(), day))
    for pattern in _PROSE_DATES:
        m = pattern.search(text)
        if not m:
            continue
        a, b, year = m.groups()
        month_word, day_text = (a, b) if not a.isdigit() else (b, a)
        month = next((i for i, name in enumerate(_MONTH_NAMES, 1) if name.startswith(month_word.lower()[:3])), None)
        try:
            candidates.append((m.start(), dt.date(int(year), month, int(day_text))))
        except (TypeError, ValueError):
            pass
    return min(candidates)[1] if candidates else None


def find_timestamp(text: str, ctx: Context, naive_ok: bool = False):
    """The first timestamp with a UTC offset written in ``text`` (``2019-03-14 09:12 UTC``);
    with ``naive_ok``, also one without an offset, read in ``ctx.timezone`` (the zone the
    write-up states for its times)."""
    for m in _ISO_IN_TEXT.finditer(text):
        if m.group(2) and (m.group(3) or naive_ok):
            moment, _, _ = parse_time(f"{m.group(1)}T{m.group(2)}{m.group(3) or ''}", ctx.timezone)
            if moment is not None:
                return moment
    return None


def date_from_name(name: str):
    """The date in a file name (``2019-03-14-x.md``, ``20190314_outage.md``), or None."""
    import datetime as dt

    stem = Path(name).name
    m = _NAME_DATE.search(stem)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _markdown(source: SourceText, kind: str, options: ReadOptions) -> tuple[list[Record], list[ReadProblem]]:
    from ..loader import source_from_text

    ctx = options.ctx or Context()
    has_front_matter = source.text.lstrip("\ufeff").startswith("---")
    data, body = None, source.text
    if has_front_matter:
        src = source_from_text(source.text, source.path, source.name)
        errors = [p for p in src.problems if p.level == "error"]
        if errors or not isinstance(src.data, dict):
            first = errors[0] if errors else None
            reason = (f"front matter cannot be read: {first.message} (line {first.line})" if first
                      else "front matter is not a mapping")
            return [], [ReadProblem(source.name, reason)]
        data, body = src.data, src.body
    elif kind == "md-frontmatter":
        return [], [ReadProblem(source.name, "no front matter (a '---' block at the top): import files with "
                                             "headings only with --from md-headings")]
    from ..foreign import template_placeholders

    if len(template_placeholders(data)) >= 2:
        record = Record(origin=source.name, skip_reason="a template (placeholders such as YYYY-MM-DD in its fields)")
        return [record], []
    title, intro, sections = split_markdown(body)
    title, intro = _title_under_label(title, intro)
    meta, intro = metadata_lines(intro) if kind == "md-headings" else ({}, intro)
    obj = dict(data or {})
    for key, value in meta.items():
        obj.setdefault(key, value)
    if data is None and not meta:
        record = Record(origin=source.name, system=options.system or "imported")
        if options.map_file is not None and options.map_file.system:
            record.system = options.system or options.map_file.system
    else:
        record = map_object(obj, source.name, "md-frontmatter" if data is not None else kind, options)
    if not record.title and title:
        record.title = one_line(title)
    for heading, text in list(sections):
        if heading.strip().lower() in ("metadata", "incident metadata", "details", "incident details", "facts",
                                       "stats", "statistics", "key facts", "incident info", "info"):
            extra, rest = metadata_lines(text)
            sections.remove((heading, text))
            if extra:
                more = map_object(extra, source.name, kind, ReadOptions(options.preset, None, options.system, ctx))
                _fill_missing(record, more)
            if rest:
                sections.append((heading, rest))
    _as_sections(record, intro, sections)
    if kind == "md-headings" or record.start_day is None:
        _dates_from_text(record, source.name, title or "", body, ctx)
    if not record.source_id and not record.url:
        record.source_id = source.rel  # a file without an id of its own is known by its path
    if record.skip_reason is None:  # with the title and the metadata lines read from the body
        record.skip_reason = not_an_incident(record, record.system)
    return [record], []


_TITLE_LABELS = ("incident title", "title", "incident name", "name", "incident", "postmortem", "post mortem",
                 "post-mortem", "incident report")


def _title_under_label(title: str | None, intro: str) -> tuple[str | None, str]:
    """Templates that say ``# Incident Title`` and put the title in the next paragraph: that
    paragraph is the title (when it is one short line)."""
    if title is None or title.strip().strip(":").lower() not in _TITLE_LABELS:
        return title, intro
    paragraphs = re.split(r"\n\s*\n", intro.strip(), maxsplit=1)
    first = paragraphs[0].strip() if paragraphs and paragraphs[0].strip() else ""
    if first and "\n" not in first and len(first) <= 120 and not first.startswith(("#", "|", "-", "*", ">")):
        return first.strip("*_ "), paragraphs[1] if len(paragraphs) > 1 else ""
    return title, intro


_TIMES_IN = re.compile(r"\b(?:all\s+)?times\s+(?:are\s+|shown\s+|given\s+)?(?:in\s+)?"
                       r"(UTC|GMT|Z|CET|CEST|BST|EET|EEST|PST|PDT|EST|EDT|CST|CDT|MST|MDT|JST|AEST|AEDT)\b", re.I)
_ZONE_OFFSETS = {"utc": 0, "gmt": 0, "z": 0, "cet": 60, "cest": 120, "bst": 60, "eet": 120, "eest": 180,
                 "pst": -480, "pdt": -420, "est": -300, "edt": -240, "cst": -360, "cdt": -300, "mst": -420,
                 "mdt": -360, "jst": 540, "aest": 600, "aedt": 660}


def stated_zone(text: str):
    """The offset a write-up states for its times ("All times in UTC", "times are in CEST"), as a
    fixed ``datetime.timezone``, or None."""
    import datetime as dt

    m = _TIMES_IN.search(text)
    if not m:
        return None
    return dt.timezone(dt.timedelta(minutes=_ZONE_OFFSETS[m.group(1).lower()]))


def _fill_missing(record: Record, more: Record) -> None:
    for name in ("title", "summary", "severity_raw", "status_raw", "resolution_raw", "started_at", "detected_at", "mitigated_at",
                 "resolved_at", "day", "trigger", "root_cause", "company"):
        if not getattr(record, name) and getattr(more, name):
            setattr(record, name, getattr(more, name))
    for name in ("services", "tags", "authors"):
        getattr(record, name).extend(v for v in getattr(more, name) if v not in getattr(record, name))


def _dates_from_text(record: Record, name: str, title: str, body: str, ctx: Context) -> None:
    """The start day of a write-up without date fields: the file name, then the H1, then the
    first timestamp of the body (and that timestamp as ``started_at`` when it has an offset and
    falls on that day), then the first date of the body."""
    if record.started_at is not None:
        return
    day = record.day or date_from_name(name) or find_day(title)
    zone = ctx.timezone or stated_zone(body)
    moment = find_timestamp(body, Context(timezone=zone) if zone else ctx, naive_ok=zone is not None)
    if day is None:
        day = moment.date() if moment is not None else find_day(body)
        if day is not None:
            record.notes.append("date from the text")
    if moment is not None and moment.date() == day:
        record.started_at = moment
    record.day = day


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def first_sentences(text: str, limit: int = 300) -> str:
    """The first one or two sentences of a section's first paragraph, as the front matter's
    ``summary`` (at most ``limit`` characters); Markdown markup is dropped."""
    paragraph = next((p for p in re.split(r"\n\s*\n", text or "") if p.strip() and not p.lstrip().startswith(
        ("|", "```", "#", "<"))), "")
    plain = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", paragraph)
    plain = re.sub(r"[*_`>#]+", "", plain)
    plain = one_line(re.sub(r"^\s*[-+]\s+", "", plain, flags=re.M))
    sentences = _SENTENCE.split(plain)
    out = " ".join(sentences[:2])
    return one_line(out, limit)


# --- tables and JSON ----------------------------------------------------------------------

csv.field_size_limit(16 * 1024 * 1024)


def _csv_rows(source: SourceText) -> tuple[list[tuple[str, dict]], list[ReadProblem]]:
    text = source.text
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        return [], [ReadProblem(source.name, "the file is empty")]
    except csv.Error as exc:
        return [], [ReadProblem(source.name, f"not CSV: {exc}")]
    header = [h.strip() for h in header]
    if not any(header):
        return [], [ReadProblem(source.name, "the first row (the header) is empty")]
    rows, problems = [], []
    try:
        start = reader.line_num + 1  # a record is named by the line it starts on (a quoted cell may span lines)
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            obj: dict = {}
            for name, cell in zip(header, row):
                if not name:
                    continue
                cell = cell.strip()
                if name in obj:  # Jira repeats a column per value (Labels, Labels, ...)
                    prev = obj[name] if isinstance(obj[name], list) else ([obj[name]] if obj[name] else [])
                    obj[name] = prev + ([cell] if cell else [])
                else:
                    obj[name] = cell
            rows.append((f"{source.name}:{line}", _unflatten(obj)))
            if len(rows) > MAX_RECORDS:
                break
    except csv.Error as exc:
        problems.append(ReadProblem(f"{source.name}:{reader.line_num}", f"not CSV: {exc}"))
    return rows, problems


def _unflatten(obj: dict) -> dict:
    """``{"severity.name": "Major"}`` as ``{"severity": {"name": "Major"}}`` (dotted CSV headers
    of API field names), so the same presets read both; other keys stay as they are."""
    if not any("." in k for k in obj):
        return obj
    out: dict = {}
    for key, value in obj.items():
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = node[part] = {}
            node = nxt
        node[parts[-1]] = value
    return out


def _loads(text: str):
    def no_constants(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=no_constants)


def _json_records(source: SourceText) -> tuple[list[tuple[str, dict]], list[ReadProblem]]:
    try:
        data = _loads(source.text)
    except RecursionError:
        return [], [ReadProblem(source.name, "JSON nested too deeply to read")]
    except ValueError as exc:
        return [], [ReadProblem(source.name, f"not JSON: {exc}")]
    items = None
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        for key in RECORD_LIST_KEYS:
            if isinstance(data.get(key), list):
                items = data[key]
                break
        if items is None:
            single = data.get("incident") or data.get("data")
            items = [single] if isinstance(single, dict) else [data]
    else:
        return [], [ReadProblem(source.name, "JSON holds neither records nor a list of them")]
    rows, problems = [], []
    for i, item in enumerate(items, 1):
        if isinstance(item, dict):
            rows.append((f"{source.name}#{i}", item))
        else:
            problems.append(ReadProblem(f"{source.name}#{i}", "not a JSON object"))
    return rows, problems


def _jsonl_records(source: SourceText) -> tuple[list[tuple[str, dict]], list[ReadProblem]]:
    rows, problems = [], []
    for n, line in enumerate(source.text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            item = _loads(line)
        except RecursionError:
            problems.append(ReadProblem(f"{source.name}:{n}", "JSON nested too deeply to read"))
            continue
        except ValueError as exc:
            problems.append(ReadProblem(f"{source.name}:{n}", f"not JSON: {exc}"))
            continue
        if isinstance(item, dict):
            rows.append((f"{source.name}:{n}", item))
        else:
            problems.append(ReadProblem(f"{source.name}:{n}", "not a JSON object"))
        if len(rows) > MAX_RECORDS:
            break
    return rows, problems


__all__ = ["ReadOptions", "ReadProblem", "read_file", "map_object", "split_markdown", "metadata_lines", "find_day",
           "date_from_name", "first_sentences", "GENERIC", "Preset", "kebab_list", "as_text"]
