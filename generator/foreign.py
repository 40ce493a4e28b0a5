"""Input written for another tool: foreign field names, template files, folders with nothing in them.

Teams point ``pmkb validate`` at archives that were written for other tools (their own
front-matter schema, an incident tool's export converted to Markdown, a folder of templates).
The validator's rules stay the same; this module makes the answer readable at that scale:

* :func:`suggest_field` maps a field name of another schema to ours (``start_time`` ->
  ``started_at``), so a ``field-unknown`` line says what to do instead of listing every field;
* :func:`unknown_fields` and :func:`group_repeated` turn one line per file per field into one
  line per field (or per repeated problem) for the whole run;
* :func:`is_template_path` and :func:`template_placeholders` recognise template files, by the
  ``templates`` option's patterns or by placeholder values (``YYYY-MM-DD``, ``SEVx``), so a
  template is reported once instead of as a dozen field errors;
* :func:`where_looked` says where a run that found nothing looked.

Nothing here reads files or imports YAML; the validator and the CLI call it.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from .model import Problem

# Field names of other post-mortem schemas and incident tools, and the field of ours each one
# means. Sources: the public post-mortem archive shape (uuid, url, start_time, end_time,
# categories, keywords, company, product), the export fields of incident.io, FireHydrant,
# Rootly, Opsgenie and Jira Service Management (see generator/importers/presets.py), and
# common templates (Google SRE workbook, PagerDuty, Atlassian). Checked against the known
# fields at run time, so a v2 field is only suggested when the schema has it.
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "started_at": ("start_time", "start", "started", "start_date", "begin", "began_at", "impact_start",
                   "impact_started_at", "impactstartdate", "incident_start", "occurred_at", "starts_at"),
    "detected_at": ("detected", "detection_time", "detect_time", "reported_at", "acknowledged_at",
                    "alerted_at", "discovered_at"),
    "mitigated_at": ("mitigated", "mitigation_time", "mitigated_time", "fixed_at", "impact_end", "impact_ended_at",
                     "impactenddate", "restored_at", "recovered_at"),
    "resolved_at": ("end_time", "end", "ended_at", "end_date", "resolved", "resolution_time", "closed_at",
                    "finished_at", "ends_at"),
    "tags": ("categories", "category", "keywords", "labels", "label", "topics", "tag_list"),
    "services": ("service", "product", "products", "component", "components", "affected_services",
                 "affected_service", "impacted_service", "services_affected", "service_affected",
                 "impacted_services", "systems", "system", "functionalities"),
    "authors": ("author", "owner", "owners", "written_by", "created_by", "reporter", "contributors"),
    "summary": ("description", "abstract", "tldr", "tl_dr", "overview", "synopsis", "customer_impact_summary"),
    "severity": ("sev", "priority", "impact", "impact_level", "level", "urgency"),
    "status": ("state", "incident_status", "current_milestone", "stage"),
    "root_cause": ("cause", "causes", "root_causes", "rca", "why"),
    "trigger": ("triggered_by", "cause_type", "incident_type"),
    "id": ("uuid", "key", "incident_id", "number", "reference", "ref", "ticket", "identifier"),
    "title": ("name", "headline", "subject", "message", "incident", "incident_name", "incident_title", "issue"),
    "date": ("day", "incident_date", "event_date"),
    "action_items": ("actions", "follow_ups", "followups", "follow_up", "remediations", "todos", "tasks"),
    "related": ("see_also", "related_incidents", "links"),
    "source": ("url", "link", "archive_url", "permalink", "source_url", "origin", "source_fetched_at"),
    # inside an action item
    "owner": ("assignee", "assigned_to", "responsible"),
    "due": ("due_date", "deadline", "due_at", "target_date"),
    "ticket": ("jira", "url", "link", "tracker", "task_url", "issue_url"),
    "done_at": ("completed_at", "closed_at", "finished_at", "resolved_at", "done_date"),
}
_SYNONYM_OF: dict[str, list[str]] = {}
for _ours, _theirs in FIELD_SYNONYMS.items():
    for _name in _theirs:
        _SYNONYM_OF.setdefault(_name, []).append(_ours)


def _normal(name: str) -> str:
    """``Start-Time``, ``startTime`` and ``start time`` all become ``start_time``."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[\s\-.]+", "_", name).lower()


def suggest_field(name: str, known: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The field of ours that an unknown field ``name`` most likely means, or ``None``.

    A close misspelling of a known field wins (``summry`` -> ``summary``, difflib ratio 0.75 or
    more, the cut-off the validator uses for misspellings); else a field of another schema
    listed in :data:`FIELD_SYNONYMS` (``start_time`` -> ``started_at``, ``categories`` ->
    ``tags``), when that field is in ``known``.

    Args:
        name: the key as written.
        known: the field names allowed where the key is (top level or inside an action item).
    """
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    if close:
        return close[0]
    normal = _normal(name)
    if normal in known:
        return normal
    for ours in _SYNONYM_OF.get(normal, []):
        if ours in known:
            return ours
    return None


def unknown_field_fix(name: str, known: list[str]) -> str:
    """The fix of a ``field-unknown`` problem: "did you mean 'x'?", else the known fields when
    there are at most :data:`LIST_KNOWN_AT_MOST` of them (inside ``source`` or an action item),
    else what to do: a line never lists the eighteen top-level fields (on a foreign archive
    that repeated a hundred words per line)."""
    guess = suggest_field(name, known)
    if guess is not None:
        return f"did you mean '{guess}'?"
    if len(known) <= LIST_KNOWN_AT_MOST:
        return f"check the spelling; known fields: {', '.join(known)}"
    return "remove it or rename it to a field of the format (README: 'The front-matter fields')"


LIST_KNOWN_AT_MOST = 7
"""A ``field-unknown`` fix lists the known fields only where there are this many or fewer."""


# --- templates -----------------------------------------------------------------------------

DEFAULT_TEMPLATE_PATTERNS = ["template*.md", "*template.md", "templates/**", "*/templates/**"]
"""Default ``templates`` option: files named like a template (case-insensitive), or in a
``templates`` folder. A post-mortem file name starts with its date and rarely ends in
``template``; one that does is named in the run's note, so it is never skipped silently."""


def is_template_path(relpath: str, patterns: list[str]) -> bool:
    """Whether ``relpath`` (relative to the docs folder, forward slashes) matches one of the
    ``templates`` glob ``patterns``, ignoring case (``TEMPLATE.md`` is a template too)."""
    lower = relpath.lower()
    name = lower.rsplit("/", 1)[-1]
    for pattern in patterns:
        p = pattern.lower()
        if fnmatch.fnmatchcase(lower, p) or ("/" not in p and fnmatch.fnmatchcase(name, p)):
            return True
    return False


_PLACEHOLDER = re.compile(
    r"^\s*(?:"
    r"y{2,4}[-/]m{1,2}[-/]d{1,2}(?:[t ]hh:mm(?::ss)?z?)?"     # YYYY-MM-DD, YYYY-MM-DDTHH:MMZ
    r"|[a-z]*-?y{4}-?n{2,}"                                  # PM-YYYY-NNN
    r"|sev\s*[x?n#]|sev[1-4](?:\s*[|/]\s*sev[1-4])+"         # SEVx, SEV1 | SEV2 | ...
    r"|<[^<>=/\"']{1,60}>|\{\{[^{}]{0,60}\}\}|\[[a-z _-]{2,40}\]"  # <title> (not <img src=...>), {{ title }}, [service name]
    r"|todo|tbd|tba|xxx+|n/?a|\.\.\.+|…|_+|-+"
    r")\s*$", re.I)
_TEMPLATE_FIELDS = ("id", "title", "date", "severity", "status", "started_at", "detected_at", "resolved_at",
                    "summary", "root_cause")


def template_placeholders(data) -> list[str]:
    """Fields of a front matter (as the loader reads it: text values) whose value is a
    template placeholder (``YYYY-MM-DD``, ``PM-YYYY-NNN``, ``SEVx``, ``<title>``,
    ``{{ title }}``, ``TODO``), in :data:`_TEMPLATE_FIELDS` order; ``[]`` for anything else.

    Two or more placeholders make a file a template (the validator reports it once, as
    ``template-file``); a single one is just a value to fix.
    """
    if not isinstance(data, dict):
        return []
    found = []
    for name in _TEMPLATE_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and _PLACEHOLDER.match(value):
            found.append(name)
    services = data.get("services")
    if isinstance(services, list) and services and all(isinstance(s, str) and _PLACEHOLDER.match(s)
                                                       for s in services):
        found.append("services")
    return found


# --- summaries for a whole run ---------------------------------------------------------------

@dataclass
class UnknownField:
    """A field name the format does not define, over a whole run: how many files use it,
    where (``path:line`` of each, in path order), and which field of ours it likely means."""

    name: str
    files: int
    locations: list[str] = field(default_factory=list)
    suggestion: str | None = None

    def as_dict(self) -> dict:
        return {"field": self.name, "files": self.files, "locations": list(self.locations),
                "suggestion": self.suggestion}


_DID_YOU_MEAN = re.compile(r"did you mean '([^']+)'")


def unknown_fields(problems: list[Problem]) -> list[UnknownField]:
    """The ``field-unknown`` problems of a run, one entry per field name (the dotted path's
    last part, so ``action_items[2].assignee`` counts as ``assignee``), most files first,
    ties by name."""
    by_name: dict[str, UnknownField] = {}
    seen: set[tuple[str, str]] = set()
    for p in problems:
        if p.code != "field-unknown" or not p.field:
            continue
        name = re.split(r"[.\]]", p.field)[-1] or p.field
        entry = by_name.setdefault(name, UnknownField(name, 0))
        if (name, p.path) not in seen:
            seen.add((name, p.path))
            entry.files += 1
        entry.locations.append(p.location)
        m = _DID_YOU_MEAN.search(p.fix)
        if m and entry.suggestion is None:
            entry.suggestion = m.group(1)
    return sorted(by_name.values(), key=lambda u: (-u.files, u.name))


@dataclass
class ProblemGroup:
    """Problems that are the same in several files (same code, field, level, message and fix):
    shown as one line with the first location and how many more files have it."""

    first: Problem
    locations: list[str]

    @property
    def files(self) -> int:
        return len({loc.split(":", 1)[0] for loc in self.locations})


GROUP_MIN_FILES = 3
"""A problem repeated word for word in at least this many files is printed once (text output)."""


def group_repeated(problems: list[Problem], min_files: int = GROUP_MIN_FILES) -> list[Problem | ProblemGroup]:
    """Problems in output order, where every problem that repeats word for word (code, field,
    level, message, fix) in ``min_files`` files or more becomes one :class:`ProblemGroup` at the
    place of its first occurrence. ``field-unknown`` problems of a field that appears in two or
    more files are grouped by field name whatever their messages (see :func:`unknown_fields`).
    """
    def key(p: Problem):
        return (p.code, p.field, p.level, p.message, p.fix)

    files_of: dict[tuple, set[str]] = {}
    for p in problems:
        files_of.setdefault(key(p), set()).add(p.path)
    unknown_files: dict[str, set[str]] = {}
    for p in problems:
        if p.code == "field-unknown" and p.field:
            unknown_files.setdefault(_unknown_key(p), set()).add(p.path)
    out: list[Problem | ProblemGroup] = []
    groups: dict[tuple, ProblemGroup] = {}
    for p in problems:
        if p.code == "field-unknown" and p.field and len(unknown_files[_unknown_key(p)]) >= 2:
            k = ("field-unknown", _unknown_key(p))
        elif len(files_of[key(p)]) >= min_files:
            k = key(p)
        else:
            out.append(p)
            continue
        group = groups.get(k)
        if group is None:
            group = groups[k] = ProblemGroup(p, [])
            out.append(group)
        group.locations.append(p.location)
    return out


def _unknown_key(p: Problem) -> str:
    return re.split(r"[.\]]", p.field or "")[-1] or (p.field or "")


def foreign_schema_hint(fields: list[UnknownField], files: int) -> str | None:
    """A one-line hint when most files of a run carry fields of another schema: convert them
    with ``pmkb import`` instead of fixing them one by one. ``None`` otherwise."""
    common = [u for u in fields if files and u.files * 2 >= files and u.files >= 2]
    if len(common) < 2:
        return None
    names = ", ".join(u.name for u in common[:5])
    return (f"{common[0].files} of {files} files use fields of another format ({names}): convert them with "
            "`pmkb import SOURCE --from md-frontmatter` (see `pmkb import --help`) rather than one by one")


def where_looked(paths: list[Path], ignored: list[str], templates: list[str]) -> str:
    """What a run that found no post-mortem looked at, for its error message: the folders or
    files, and the Markdown files it left out as ordinary pages or templates (up to five names)."""
    where = ", ".join(p.as_posix() for p in paths) or "."
    parts = [f"looked for *.md files in {where}"]
    for what, names in (("matched the 'ignore' patterns", ignored), ("matched the 'templates' patterns", templates)):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            parts.append(f"{len(names)} {'file' if len(names) == 1 else 'files'} {what} ({shown})")
    if not ignored and not templates:
        parts.append("there are no Markdown files there")
    return "; ".join(parts)
