"""The neutral record every reader produces, and the conversions all readers share.

A reader (Markdown with front matter, Markdown with headings only, CSV, JSON, JSON Lines) turns
one foreign post-mortem into a :class:`Record`: our fields, still unchecked, plus where it came
from. :mod:`generator.importers.render` writes a record as a format v2 file; the validator then
decides whether it may be written.

Times: a foreign timestamp is kept in its own UTC offset (``2019-05-02T23:30:00-07:00`` stays
``-07:00``), so ``date`` is the start day in the source's own offset, as the format requires. A
timestamp without an offset is read in the ``--timezone`` given, else dropped (only its day is
kept, for ``date``) and counted in the run's summary: guessing an offset would move incidents
across midnight.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field

from ..model import SEVERITIES

STANDARD_ORDER = ("Summary", "Impact", "Timeline", "Root cause", "Trigger", "Detection", "Resolution",
                  "Action items", "Lessons learned")

# Headings of other templates and write-ups, and the standard section each one is (the Google
# SRE workbook template, PagerDuty's and Atlassian's post-mortem templates, public write-ups).
SECTION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "Summary": ("summary", "issue summary", "incident summary", "executive summary", "overview", "tl dr", "tldr",
                "abstract", "synopsis", "what happened", "description", "background", "introduction",
                "event summary", "incident description", "problem description", "problem statement"),
    "Impact": ("impact", "customer impact", "user impact", "business impact", "impact assessment", "scope",
               "who was affected", "scope and impact", "impact and severity", "blast radius"),
    "Timeline": ("timeline", "chronology", "sequence of events", "timeline of events", "detailed timeline",
                 "incident timeline", "event timeline", "timeline utc", "timeline all times utc"),
    "Root cause": ("root cause", "root causes", "root cause analysis", "rca", "cause", "causes",
                   "why did it happen", "why it happened", "root cause and trigger",
                   "technical details", "what went wrong technically", "analysis"),
    "Trigger": ("trigger", "triggers", "what triggered it", "trigger event"),
    "Detection": ("detection", "how was it detected", "how we found out", "discovery", "monitoring and detection",
                  "detection and response"),
    "Resolution": ("resolution", "mitigation", "recovery", "remediation", "fix", "resolution and recovery",
                   "how it was fixed", "response", "resolution steps", "mitigation and resolution", "response and recovery"),
    "Action items": ("action items", "actions", "follow ups", "follow up", "followups", "follow up actions",
                     "corrective actions", "corrective and preventative measures", "preventive measures",
                     "preventative measures", "next steps", "what we are doing", "what we're doing about it",
                     "what we are doing about it", "remediation items", "action plan", "todo", "to do",
                     "improvements", "prevention", "going forward", "what's next", "what is next"),
    "Lessons learned": ("lessons learned", "lessons", "learnings", "what went well", "what went wrong",
                        "where we got lucky", "what we learned", "takeaways", "conclusion", "conclusions",
                        "retrospective", "reflections"),
}
_SECTION_OF = {syn: std for std, syns in SECTION_SYNONYMS.items() for syn in syns}


def standard_section(heading: str) -> str | None:
    """The standard section a heading of another template is (``Issue Summary`` -> ``Summary``,
    ``Corrective actions:`` -> ``Action items``), or ``None`` when it is none of them."""
    key = re.sub(r"[^a-z0-9' ]+", " ", heading.lower().replace("&", " and "))
    key = re.sub(r"\s+", " ", key).strip()
    key = re.sub(r"^(?:\d+\s+)+", "", key)  # "3. Root cause"
    return _SECTION_OF.get(key) or _SECTION_OF.get(key.replace("'", ""))


@dataclass
class Record:
    """One foreign post-mortem, read into our fields but not checked yet.

    ``origin`` names it in messages (``exports/incidents.json#3``, ``archive/x.md``).
    ``system``/``source_id``/``url`` are its provenance (format v2 ``source``); ``company`` the
    organisation it belongs to when the source says (it goes into ``authors`` for write-ups an
    organisation published, never into the text similarity reads). Timestamps are aware
    datetimes in the source's offset; ``day`` is the start day when only a date is known.
    ``sections`` are ``(standard heading, Markdown)`` in body order; ``unmapped`` the source
    fields left out, ``notes`` what the reader had to decide (for the run's summary).
    ``skip_reason`` is set when the source marks the record as not an incident (declined,
    test, merged into another): by its preset, else by :func:`not_an_incident` from
    ``status_raw``, ``resolution_raw`` (a tracker's resolution, Jira's ``Won't Do``), ``tags``
    and ``title``.
    """

    origin: str
    system: str | None = None
    source_id: str | None = None
    url: str | None = None
    title: str = ""
    summary: str = ""
    severity: str | None = None
    severity_raw: str | None = None
    status: str | None = None
    status_raw: str | None = None
    resolution_raw: str | None = None
    services: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    company: str | None = None
    started_at: dt.datetime | None = None
    detected_at: dt.datetime | None = None
    mitigated_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    day: dt.date | None = None
    trigger: str = ""
    root_cause: str = ""
    contributing_factors: list[str] = field(default_factory=list)
    near_miss: bool = False
    visibility: str | None = None
    sections: list[tuple[str, str]] = field(default_factory=list)
    action_items: list[dict] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    time_problems: list[tuple[str, bool]] = field(default_factory=list)

    def note_time_problem(self, key: str, value) -> None:
        """Remember that the source's ``key`` holds ``value``, which is no timestamp we can read:
        ``("Created '31/Feb/25 10:00 AM' is not a real date (February 2025 has 28 days)", True)``
        when it names no real day or time (:func:`time_problem`), else ``("... is not a date or
        timestamp in a form this tool reads ...", False)``."""
        text = one_line(str(value), 60)
        why = time_problem(value)
        if why is not None:
            self.time_problems.append((f"{key} {text!r} is not a real date ({why})", True))
        else:
            self.time_problems.append((f"{key} {text!r} is not a date or timestamp in a form this tool reads "
                                       "(ISO 8601, RFC 2822, Unix epoch seconds, Jira's 02/May/19 11:23 AM)", False))

    @property
    def start_day(self) -> dt.date | None:
        """The day the incident started, in the source's own offset."""
        return self.started_at.date() if self.started_at is not None else self.day

    def section(self, heading: str) -> str:
        """The text of the first section with this standard heading ('' when absent)."""
        return next((text for h, text in self.sections if h == heading), "")

    def add_section(self, heading: str, text: str) -> None:
        """Append ``text`` under ``heading`` (to the section of that name when there is one)."""
        text = (text or "").strip()
        if not text:
            return
        for i, (h, old) in enumerate(self.sections):
            if h == heading:
                self.sections[i] = (h, f"{old}\n\n{text}" if old else text)
                return
        self.sections.append((heading, text))

    def key(self) -> str:
        """What identifies the record across runs: ``system:id``, else the canonical URL, else
        a digest of its content (title, start day, text)."""
        if self.system and self.source_id:
            return f"{self.system}:{self.source_id}"
        if self.url:
            return "url:" + canonical_url(self.url)
        return "sha256:" + self.digest()[:32]

    def digest(self) -> str:
        """SHA-256 of everything the record says (not where it was read from): equal digests on
        two runs mean the source did not change."""
        content = {k: v for k, v in self.__dict__.items()
                   if k not in ("origin", "notes", "unmapped", "resolution_raw", "time_problems")}
        text = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- values -----------------------------------------------------------------------------------

def kebab(value) -> str:
    """``value`` as an ASCII kebab-case term (``Object Store`` -> ``object-store``, ``Zürich`` ->
    ``zurich``), at most 60 characters; '' when nothing is left."""
    from slugify import slugify

    if value is None:
        return ""
    return slugify(str(value), max_length=60, word_boundary=True)


def kebab_list(values) -> list[str]:
    """Distinct kebab-case terms of a list (or one comma-separated string), in order."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [v for v in re.split(r"[,;\n]", values)]
    out: list[str] = []
    for v in values:
        term = kebab(v)
        if term and term not in out:
            out.append(term)
    return out


def one_line(text, limit: int | None = None) -> str:
    """Whitespace runs become one space; at most ``limit`` characters, cut at a word with ``…``."""
    text = " ".join(str(text or "").split())
    if limit is not None and len(text) > limit:
        cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.-") or text[: limit - 1]
        text = cut + "…"
    return text


_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*"
    r"(?:([Zz]|UTC|GMT)|([+-])(\d{2}):?(\d{2})?)?\s*$")


def parse_time(value, timezone: dt.tzinfo | None = None) -> tuple[dt.datetime | None, dt.date | None, bool]:
    """Read a foreign timestamp.

    Accepts ISO 8601 / RFC 3339 (``2019-05-02T11:23:44Z``, ``...+02:00``, ``...+0200`` as Jira
    writes it, ``2019-05-02 11:23 UTC``, fractions of a second), a date alone, and Unix epoch
    seconds or milliseconds (a number).

    Args:
        value: the text (or number) as the source has it.
        timezone: the zone in which to read a timestamp written without an offset (``--timezone``);
            ``None`` keeps only its day.

    Returns:
        ``(aware datetime or None, day or None, naive)``: ``naive`` is True when a time of day
        was given without an offset and no ``timezone`` (the caller counts those).
    """
    if value is None or value == "":
        return None, None, False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        try:
            moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None, None, False
        return moment, moment.date(), False
    text = str(value).strip()
    if re.fullmatch(r"\d{9,13}", text):
        return parse_time(int(text), timezone)
    m = _ISO.match(text)
    if not m:
        return _other_forms(text, timezone)
    y, mo, d, hh, mm, ss, frac, zulu, sign, oh, om = m.groups()
    try:
        day = dt.date(int(y), int(mo), int(d))
    except ValueError:
        return None, None, False
    if hh is None:
        return None, day, False
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        naive = dt.datetime(day.year, day.month, day.day, int(hh), int(mm), int(ss or 0), micro)
    except ValueError:
        return None, None, False
    if zulu:
        return naive.replace(tzinfo=dt.timezone.utc), day, False
    if sign:
        minutes = int(oh) * 60 + int(om or 0)
        if minutes >= 24 * 60:
            return None, None, False
        offset = dt.timedelta(minutes=minutes) * (1 if sign == "+" else -1)
        return naive.replace(tzinfo=dt.timezone(offset)), day, False
    if timezone is not None:
        return naive.replace(tzinfo=timezone), day, False
    return None, day, True


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                        "dec"), 1)}
_JIRA = re.compile(r"^(\d{1,2})/([A-Za-z]{3})/(\d{2,4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$")


def _other_forms(text: str, timezone: dt.tzinfo | None) -> tuple[dt.datetime | None, dt.date | None, bool]:
    """RFC 2822 (``Thu, 02 May 2019 11:23:44 +0000``) and Jira's CSV export form
    (``02/May/19 11:23 AM``, no offset)."""
    m = _JIRA.match(text)
    if m:
        d, mon, y, hh, mm, ss, ampm = m.groups()
        month = _MONTHS.get(mon.lower())
        year = int(y) + (2000 if len(y) == 2 else 0)
        try:
            day = dt.date(year, month or 0, int(d))
        except ValueError:
            return None, None, False
        if hh is None:
            return None, day, False
        hour = int(hh) % 12 + (12 if ampm and ampm.lower() == "pm" else 0) if ampm else int(hh)
        try:
            naive = dt.datetime(year, day.month, day.day, hour, int(mm), int(ss or 0))
        except ValueError:
            return None, None, False
        if timezone is not None:
            return naive.replace(tzinfo=timezone), day, False
        return None, day, True
    if re.match(r"^[A-Za-z]{3},\s+\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{2}:\d{2}", text):
        from email.utils import parsedate_to_datetime

        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None, None, False
        if moment.tzinfo is None:
            return (moment.replace(tzinfo=timezone), moment.date(), False) if timezone else (None, moment.date(), True)
        return moment, moment.date(), False
    return None, None, False


def time_problem(value) -> str | None:
    """Why ``value``, a timestamp in one of the forms :func:`parse_time` reads (ISO 8601, Jira's
    ``31/Feb/25 10:00 AM``), names no real day or time (``"February 2025 has 28 days"``,
    ``"there is no month 13"``, ``"'Fbr' is not a month"``), by the rules of
    :func:`generator.validate.calendar_problem`; ``None`` when it does, or when it has none of
    those forms."""
    from ..validate import calendar_problem

    text = str(value).strip() if isinstance(value, str) else ""
    m = _ISO.match(text)
    if m:
        y, mo, d, hh, mm, ss, _, _, sign, oh, om = m.groups()
        iso = f"{y}-{mo}-{d}" + (f"T{hh}:{mm}" + (f":{ss}" if ss else "") if hh else "")
        iso += f"{sign}{oh}:{om or '00'}" if hh and sign else ""
        problem = calendar_problem(iso)
        return problem[0] if problem else None
    m = _JIRA.match(text)
    if not m:
        return None
    d, mon, y, hh, mm, ss, ampm = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return f"{mon!r} is not a month"
    if ampm and hh and not 1 <= int(hh) <= 12:
        return f"there is no hour {hh} {ampm.upper()}"
    hour = (int(hh) % 12 + (12 if ampm.lower() == "pm" else 0) if ampm else int(hh)) if hh else None
    year = int(y) + (2000 if len(y) == 2 else 0)
    iso = f"{year:04d}-{month:02d}-{int(d):02d}" + (f"T{hour:02d}:{mm}" + (f":{ss}" if ss else "") if hh else "")
    problem = calendar_problem(iso)
    return problem[0] if problem else None


def format_time(moment: dt.datetime) -> str:
    """``2024-03-14T09:12:00Z`` / ``2024-03-14T09:12:00-07:00``: seconds, no fraction, ``Z`` for UTC."""
    moment = moment.replace(microsecond=0)
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- severity and status ----------------------------------------------------------------------

DEFAULT_SEVERITY_WORDS = {
    "sev0": "SEV1", "sev1": "SEV1", "sev2": "SEV2", "sev3": "SEV3", "sev4": "SEV4", "sev5": "SEV4",
    "s0": "SEV1", "s1": "SEV1", "s2": "SEV2", "s3": "SEV3", "s4": "SEV4",
    "p0": "SEV1", "p1": "SEV1", "p2": "SEV2", "p3": "SEV3", "p4": "SEV4", "p5": "SEV4",
    "critical": "SEV1", "blocker": "SEV1", "highest": "SEV1", "emergency": "SEV1", "major": "SEV2", "high": "SEV2",
    "medium": "SEV3", "moderate": "SEV3", "minor": "SEV3", "low": "SEV4", "lowest": "SEV4", "trivial": "SEV4",
    "info": "SEV4", "informational": "SEV4", "cosmetic": "SEV4",
}
"""Severity words of incident tools and our SEV level (worst first: SEV0/P0 and SEV1/P1 are
SEV1; a fifth level is SEV4). Opsgenie priorities P1..P5, Jira priorities Highest..Lowest,
Rootly's critical/high/medium/low, FireHydrant's SEV1..SEV5; ``--severity-map`` overrides."""


def parse_value_map(text: str | None, allowed: tuple[str, ...] | None = None, what: str = "value") -> dict[str, str]:
    """``P1=SEV1,P2=SEV2`` as ``{"p1": "SEV1", "p2": "SEV2"}`` (keys matched without case).

    Raises:
        ValueError: an entry without ``=``, or a target not in ``allowed`` (the message says which).
    """
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError(f"{part!r} is not FROM=TO (e.g. P1=SEV1)")
        source, target = (s.strip() for s in part.split("=", 1))
        if allowed is not None and target not in allowed:
            raise ValueError(f"{target!r} is not a {what} ({', '.join(allowed)})")
        out[source.lower()] = target
    return out


def map_severity(raw, overrides: dict[str, str]) -> str | None:
    """Our severity for a source's severity or priority (``P1``, ``Critical``, ``SEV2``,
    ``{"name": "Major"}``), or ``None`` when unknown. ``overrides`` (from ``--severity-map``,
    lower-case keys) win over :data:`DEFAULT_SEVERITY_WORDS`."""
    if raw is None:
        return None
    text = str(raw).strip()
    key = text.lower()
    if key in overrides:
        return overrides[key]
    if text in SEVERITIES:
        return text
    compact = re.sub(r"[\s_\-]+", "", key)
    if compact in DEFAULT_SEVERITY_WORDS:
        return DEFAULT_SEVERITY_WORDS[compact]
    first = re.match(r"^(sev\s*-?\s*\d|p\s*\d|[a-z]+)", key)
    if first:
        word = re.sub(r"[\s\-]+", "", first.group(1))
        return DEFAULT_SEVERITY_WORDS.get(word)
    return None


def map_status(raw, overrides: dict[str, str]) -> str | None:
    """Our status for a source's explicit status, when ``--status-map`` (lower-case keys) or
    our own vocabulary names it; ``None`` otherwise (the default rule then applies)."""
    if raw is None:
        return None
    key = str(raw).strip().lower()
    if key in overrides:
        return overrides[key]
    return key if key in ("draft", "in-review", "final") else None


def canonical_url(url: str) -> str:
    """The URL as it identifies a page: scheme and host in lower case, no default port, no
    fragment, no ``utm_*`` tracking parameters, query sorted, no trailing slash."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = host + (f":{port}" if port else "")
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not k.lower().startswith("utm_")))
    path = parts.path.rstrip("/") or ""
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


def is_http_url(value) -> bool:
    """An http(s) URL with a host and no whitespace (what ``source.url`` accepts)."""
    return isinstance(value, str) and bool(re.fullmatch(r"[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+[^\s]*", value.strip()))


# --- records that are not incidents -------------------------------------------------------------

NOT_INCIDENT_STATES = frozenset({
    "canceled", "cancelled", "declined", "rejected", "duplicate", "merged", "won't do", "wont do",
    "not an incident", "false positive", "false alarm", "withdrawn", "invalid", "test",
})
"""Statuses and resolutions (lowercase, ``-``/``_`` read as spaces) that say a record is not an
incident: it was called off (incident.io's ``declined``/``canceled``/``merged`` status
categories, Rootly's ``cancelled``, Jira's ``Canceled``/``Declined`` statuses and its ``Won't
Do``/``Duplicate`` resolutions, FireHydrant and Opsgenie custom workflows), a duplicate of another
record (that one is imported), or a false alarm. Jira's ``Won't Fix`` and ``Cannot Reproduce``
are not here: the outage happened, only its fix or its reproduction did not."""

NOT_INCIDENT_LABELS = frozenset({
    "test", "test-incident", "testing-only", "not-an-incident", "false-alarm", "false-positive", "duplicate",
    "please-ignore", "ignore",
})
"""Labels (tags, kebab-case) that mark a record as not an incident: a test record, a false alarm,
a duplicate. A label only about testing as a subject (``load-testing``, ``tests``) is not one."""

_NOT_INCIDENT_TITLE = re.compile(r"^\s*(?:\[test\]|\(test\)|test(?:ing)?\s*$|test incident\b)|\bplease ignore\b|"
                                 r"\bignore this\b|\bdo not import\b", re.IGNORECASE)

TOOL_NAMES = {"incident-io": "incident.io", "firehydrant": "FireHydrant", "rootly": "Rootly", "opsgenie": "Opsgenie",
              "jira": "Jira"}
"""``source.system`` -> the tool's own spelling, for messages."""


def _state_key(text: str | None) -> str:
    key = re.sub(r"[\s_\-]+", " ", (text or "").strip().lower().replace("\u2019", "'"))
    return key


def not_an_incident(record: Record, system: str | None) -> str | None:
    """Why the source says ``record`` is not an incident, or ``None``.

    Checked in this order, the first that applies giving the reason: the status
    (:data:`NOT_INCIDENT_STATES`: ``canceled in Jira (not an incident)``), the resolution
    (``resolved as Won't Do in Jira (not an incident)``), a label (:data:`NOT_INCIDENT_LABELS`:
    ``labelled 'test' in Jira (not an incident)``), the title (``[test] ...``, ``Test incident
    ...``, ``... please ignore``: ``titled as a test in Jira (not an incident)``).

    Args:
        record: a record as a preset or mapping read it.
        system: its ``source.system`` (``jira``), named in the reason by :data:`TOOL_NAMES`
            (``the source`` when it is none of them).
    """
    where = f"in {TOOL_NAMES.get(system or '', 'the source')}"
    status = _state_key(record.status_raw)
    if status in NOT_INCIDENT_STATES:
        return f"{status} {where} (not an incident)"
    resolution = _state_key(record.resolution_raw)
    if resolution in NOT_INCIDENT_STATES:
        return f"resolved as {one_line(record.resolution_raw or '', 40)} {where} (not an incident)"
    for tag in record.tags:
        if tag in NOT_INCIDENT_LABELS:
            return f"labelled {tag!r} {where} (not an incident)"
    if _NOT_INCIDENT_TITLE.search(record.title or ""):
        return f"titled as a test {where} (not an incident)"
    return None
