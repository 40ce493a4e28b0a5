"""Field mappings: which field of a foreign record becomes which of ours, and how.

A mapping is a dict ``{source key: Rule}``. Keys of nested data are dotted paths
(``severity.name``, ``fields.priority.name``). Three places make mappings:

* the built-in presets (:mod:`generator.importers.presets`);
* :func:`generic_rules`, for a shape no preset knows: every key is matched to a field of ours by
  name and by the synonyms of :data:`generator.foreign.FIELD_SYNONYMS` (``start_time`` ->
  ``started_at``, ``categories`` -> ``tags``, ``company`` -> the organisation);
* a mapping file (``--map FILE``, YAML, read with :func:`load_map_file`)::

      system: confluence            # source.system of these records (kebab-case)
      fields:
        Incident: title
        Began: started_at
        Day: {to: date, transform: date-of}
        Systems: {to: services, split: ","}
        Sev: severity
        Notes: {to: section, section: Lessons learned}
        Internal notes: ignore
      constants:
        authors: [sre-team]
      severity: {P1: SEV1, P2: SEV2}  # merged with --severity-map
      status: {Resolved: final}

Targets (``to``): every field of the format that a foreign record can carry (``title``,
``summary``, ``date``, ``severity``, ``status``, ``services``, ``tags``, ``authors``,
``started_at``, ``detected_at``, ``mitigated_at``, ``resolved_at``, ``trigger``,
``root_cause``, ``contributing_factors``, ``visibility``, ``action_items``), ``source_id`` and
``url`` (provenance), ``company`` (the organisation, written to ``authors``), ``section`` (Markdown
under the heading ``section``) and ``ignore``. Transforms: ``date-of`` (the day of a timestamp),
``kebab`` (a kebab-case term), ``split`` (a string into a list, at ``split`` or commas),
``lower``, ``first`` (the first item of a list), ``text`` (lists and mappings as readable text).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from ..foreign import suggest_field
from .record import Record, is_http_url, kebab, kebab_list, one_line, parse_time, standard_section

TARGETS = ("title", "summary", "date", "severity", "status", "services", "tags", "authors", "started_at",
           "detected_at", "mitigated_at", "resolved_at", "trigger", "root_cause", "contributing_factors",
           "visibility", "action_items", "source_id", "url", "company", "resolution", "section", "ignore")
TRANSFORMS = ("date-of", "kebab", "split", "lower", "first", "text")
_TIME_TARGETS = ("started_at", "detected_at", "mitigated_at", "resolved_at")


@dataclass(frozen=True)
class Rule:
    """How one source key becomes one of our fields: ``to`` (a :data:`TARGETS` name), an
    optional ``transform`` (:data:`TRANSFORMS`), ``split`` separator, and the ``section``
    heading for ``to: section``."""

    to: str
    transform: str | None = None
    split: str | None = None
    section: str | None = None


class MapFileError(ValueError):
    """The mapping file cannot be used; the message names the file, the key and the fix."""


@dataclass
class MapFile:
    """A loaded ``--map`` file."""

    rules: dict[str, Rule]
    system: str | None = None
    constants: dict | None = None
    severity: dict[str, str] | None = None
    status: dict[str, str] | None = None


def load_map_file(path: Path) -> MapFile:
    """Read and check a mapping file (YAML, see the module docstring).

    Raises:
        MapFileError: unreadable, not YAML, or an unknown target, transform or key.
    """
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MapFileError(f"{path}: cannot read the mapping file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise MapFileError(f"{path}: the mapping file is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise MapFileError(f"{path}: the mapping file must be a mapping with 'fields:' (see pmkb import --help)")
    unknown = sorted(set(raw) - {"system", "fields", "constants", "severity", "status"})
    if unknown:
        raise MapFileError(f"{path}: unknown key(s) {unknown}; known: system, fields, constants, severity, status")
    rules: dict[str, Rule] = {}
    for key, spec in (raw.get("fields") or {}).items():
        rules[str(key)] = _rule(path, str(key), spec)
    system = raw.get("system")
    if system is not None and (not isinstance(system, str) or kebab(system) != system):
        raise MapFileError(f"{path}: 'system' must be kebab-case, e.g. {kebab(str(system)) or 'my-wiki'!r}")
    for name in ("severity", "status"):
        value = raw.get(name)
        if value is not None and not isinstance(value, dict):
            raise MapFileError(f"{path}: '{name}' must map source values to ours, e.g. {{P1: SEV1}}")
    constants = raw.get("constants")
    if constants is not None and not isinstance(constants, dict):
        raise MapFileError(f"{path}: 'constants' must map our field names to values")
    for name in constants or {}:
        if name not in TARGETS or name in ("section", "ignore"):
            raise MapFileError(f"{path}: constants: {name!r} is not a field that can be set "
                               f"({', '.join(t for t in TARGETS if t not in ('section', 'ignore'))})")
    return MapFile(rules, system, constants, _lower_keys(raw.get("severity")), _lower_keys(raw.get("status")))


def _lower_keys(value) -> dict[str, str] | None:
    return {str(k).strip().lower(): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def _rule(path: Path, key: str, spec) -> Rule:
    if isinstance(spec, str):
        spec = {"to": spec}
    if not isinstance(spec, dict) or "to" not in spec:
        raise MapFileError(f"{path}: fields: {key!r} must be a field name or {{to: FIELD, ...}}")
    extra = sorted(set(spec) - {"to", "transform", "split", "section"})
    if extra:
        raise MapFileError(f"{path}: fields: {key!r}: unknown option(s) {extra} (to, transform, split, section)")
    to, transform = str(spec["to"]), spec.get("transform")
    if to not in TARGETS:
        guess = suggest_field(to, list(TARGETS))
        hint = f"; did you mean {guess!r}?" if guess else ""
        raise MapFileError(f"{path}: fields: {key!r}: {to!r} is not a field of ours ({', '.join(TARGETS)}){hint}")
    if transform is not None and transform not in TRANSFORMS:
        raise MapFileError(f"{path}: fields: {key!r}: transform {transform!r} is unknown ({', '.join(TRANSFORMS)})")
    section = spec.get("section")
    if to == "section":
        if not isinstance(section, str) or not section.strip():
            raise MapFileError(f"{path}: fields: {key!r}: 'to: section' needs 'section: HEADING'")
        from .record import STANDARD_ORDER

        # the heading as written; only a standard heading's own spelling is normalised
        section = next((h for h in STANDARD_ORDER if h.lower() == section.strip().lower()), one_line(section, 80))
    return Rule(to, transform, str(spec["split"]) if spec.get("split") is not None else None, section)


# --- generic mapping by name -------------------------------------------------------------------

_GENERIC_TARGETS = ("title", "summary", "date", "severity", "status", "services", "tags", "authors",
                    "started_at", "detected_at", "mitigated_at", "resolved_at", "trigger", "root_cause",
                    "contributing_factors", "visibility", "action_items", "id", "source")
_GENERIC_RENAME = {"id": "source_id", "source": "url"}
_ORGANISATION = ("company", "organization", "organisation", "org", "vendor", "provider", "customer")


def generic_rules(keys) -> dict[str, Rule]:
    """A mapping for keys no preset knows, by name: a key that is one of our fields (in any
    case or spelling: ``Start Time``, ``startTime``), a close misspelling, or a synonym of one
    (:data:`generator.foreign.FIELD_SYNONYMS`). A foreign ``id`` becomes the source id (our ids
    come from ``--prefix``), a URL the source URL, ``company`` the organisation. Keys that match
    nothing are left out (and counted as unmapped)."""
    rules: dict[str, Rule] = {}
    for key in keys:
        leaf = key.rsplit(".", 1)[-1]
        normal = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", leaf.strip())
        normal = re.sub(r"[\s\-./]+", "_", normal).lower().strip("_")
        if normal in _ORGANISATION:
            rules[key] = Rule("company")
            continue
        if normal in ("resolution", "resolution_name") and not any(r.to == "resolution" for r in rules.values()):
            rules[key] = Rule("resolution")  # a tracker's resolution (Won't Do, Duplicate): not a time
            continue
        section = standard_section(leaf)
        target = suggest_field(normal, list(_GENERIC_TARGETS))
        if section is not None and (target is None or target in ("summary", "root_cause")) and normal not in (
                "summary", "root_cause", "cause", "description"):
            rules[key] = Rule("section", section=section)  # "What happened", "Impact", "Lessons learned"
            continue
        if target is None:
            continue
        target = _GENERIC_RENAME.get(target, target)
        if key in rules or any(r.to == target and target not in ("section",) for r in rules.values()):
            continue  # the first key for a field wins (e.g. start_time before created_at)
        rules[key] = Rule(target)
    return rules


# --- applying a mapping ---------------------------------------------------------------------

@dataclass
class Context:
    """What applying a mapping needs besides the data: the ``--timezone`` for timestamps
    without an offset (``None``: keep only their day) and counters for the run's summary."""

    timezone: dt.tzinfo | None = None
    naive_times: int = 0


def flatten(data, prefix: str = "", out: dict | None = None, depth: int = 0) -> dict:
    """Nested mappings as one mapping of dotted keys (lists are kept as values); at most 12
    levels deep (deeper data is kept as it is at that level)."""
    out = {} if out is None else out
    if not isinstance(data, dict) or depth >= 12:
        out[prefix] = data
        return out
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flatten(value, name, out, depth + 1)
        else:
            out[name] = value
    return out


def as_text(value) -> str:
    """A value as readable text: lists one per line (``- item``), mappings as ``key: value``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(f"- {one_line(as_text(v))}" for v in value if as_text(v).strip())
    if isinstance(value, dict):
        return "\n".join(f"- {k}: {one_line(as_text(v))}" for k, v in value.items() if as_text(v).strip())
    return str(value)


def apply_rules(record: Record, data: dict, rules: dict[str, Rule], ctx: Context) -> set[str]:
    """Set ``record``'s fields from ``data`` (flat or nested; keys looked up as dotted paths)
    by ``rules``. A field set already (by an earlier rule) is not overwritten.

    Returns:
        The keys of ``data`` that were used (the top-level key of each dotted path).
    """
    flat = flatten(data) if any(isinstance(v, dict) for v in data.values()) else data
    used: set[str] = set()
    for key, rule in rules.items():
        if rule.to == "ignore":
            used.add(key.split(".", 1)[0])
            continue
        value = flat.get(key, data.get(key))
        if value is None or value == "" or value == []:
            if key in flat or key in data:
                used.add(key.split(".", 1)[0])
            continue
        used.add(key.split(".", 1)[0])
        set_field(record, rule, value, ctx, key)
    return used


def _transform(rule: Rule, value):
    if rule.split is not None or rule.transform == "split":
        if isinstance(value, str):
            sep = rule.split or ","
            value = [v.strip() for v in value.split(sep) if v.strip()]
    if rule.transform == "first" and isinstance(value, list):
        value = value[0] if value else None
    if rule.transform == "lower" and isinstance(value, str):
        value = value.lower()
    if rule.transform == "kebab":
        value = [kebab(v) for v in value] if isinstance(value, list) else kebab(value)
    if rule.transform == "text":
        value = as_text(value)
    return value


def set_field(record: Record, rule: Rule, value, ctx: Context, key: str | None = None) -> None:
    """Put one mapped value into ``record`` (see :data:`TARGETS`). ``key`` names the source
    field in messages (a date that is not a real one: :attr:`Record.time_problems`); the target
    field's name when it is not given."""
    value = _transform(rule, value)
    to = rule.to
    if to in _TIME_TARGETS or to == "date":
        moment, day, naive = parse_time(value, ctx.timezone)
        if naive:
            ctx.naive_times += 1
        if moment is None and day is None and value not in (None, "", []):
            record.note_time_problem(key or to, value)
        if to == "date" or rule.transform == "date-of":
            record.day = record.day or day
        elif moment is not None and getattr(record, to) is None:
            setattr(record, to, moment)
        if to == "started_at" and day is not None and moment is None:
            record.day = record.day or day
        return
    if to == "section":
        record.add_section(rule.section or "Summary", as_text(value))
    elif to in ("services", "tags", "contributing_factors"):
        terms = kebab_list(value if isinstance(value, (list, str)) else [as_text(value)])
        current = getattr(record, to)
        current.extend(t for t in terms if t not in current)
    elif to == "authors":
        for name in value if isinstance(value, list) else [value]:
            name = author_name(name)
            if name and name not in record.authors:
                record.authors.append(name)
    elif to == "company":
        record.company = record.company or one_line(as_text(value), 80) or None
    elif to == "trigger":
        record.trigger = record.trigger or kebab(as_text(value))
    elif to == "action_items":
        for item in value if isinstance(value, list) else [value]:
            action = action_item(item)
            if action:
                record.action_items.append(action)
    elif to == "url":
        if not record.url and is_http_url(as_text(value)):
            record.url = as_text(value).strip()
    elif to == "source_id":
        record.source_id = record.source_id or one_line(as_text(value), 200) or None
    elif to in ("severity", "status", "resolution"):
        text = value.get("name") if isinstance(value, dict) else value
        if getattr(record, f"{to}_raw") is None and text not in (None, ""):
            setattr(record, f"{to}_raw", one_line(as_text(text), 80))
    elif to == "visibility":
        text = str(as_text(value)).strip().lower()
        record.visibility = record.visibility or {"private": "internal", "restricted": "internal",
                                                   "internal": "internal", "public": "public"}.get(text)
    elif to == "title":
        record.title = record.title or one_line(as_text(value))
    elif to == "summary":
        record.summary = record.summary or as_text(value).strip()
    elif to == "root_cause":
        record.root_cause = record.root_cause or one_line(as_text(value))


_EMAIL = re.compile(r"^\s*(?:\"?([^\"<]*?)\"?\s*<)?([A-Za-z0-9._%+\-]+)@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}>?\s*$")


def author_name(value) -> str:
    """An author as the format wants it: a name, never an e-mail address (``Jane Doe
    <jane@example.com>`` -> ``Jane Doe``, ``jane.doe@example.com`` -> ``jane.doe``); a mapping
    (``{"name": ...}``, ``{"displayName": ...}``, ``{"email": ...}``) by its name."""
    if isinstance(value, dict):
        value = (value.get("name") or value.get("displayName") or value.get("display_name")
                 or value.get("full_name") or value.get("email") or value.get("username") or "")
    text = one_line(as_text(value), 80)
    m = _EMAIL.match(text)
    if m:
        return (m.group(1) or "").strip() or m.group(2)
    return text


def action_item(value) -> dict | None:
    """A foreign action item (a title string, or a mapping with title/summary/name, owner or
    assignee, status or state, due or due_date, ticket/url/key) as our action item, or None."""
    if isinstance(value, str):
        title = one_line(value.lstrip("-*[] xX").strip(), 200)
        return {"title": title, "status": "open"} if title else None
    if not isinstance(value, dict):
        return None
    flat = flatten(value)
    title = next((flat[k] for k in ("title", "summary", "name", "description", "fields.summary") if flat.get(k)), None)
    if not title:
        return None
    item = {"title": one_line(as_text(title), 200)}
    owner = next((flat[k] for k in ("owner", "assignee", "assignee.name", "assignee.displayName",
                                    "fields.assignee.displayName", "owner.name") if flat.get(k)), None)
    if owner:
        item["owner"] = author_name(owner)
    status = next((flat[k] for k in ("status", "state", "status.name", "fields.status.name") if flat.get(k)), "")
    item["status"] = action_status(as_text(status))
    due = next((flat[k] for k in ("due", "due_date", "dueDate", "due_at", "fields.duedate") if flat.get(k)), None)
    _, due_day, _ = parse_time(due)
    if due_day is not None:
        item["due"] = due_day
    done = next((flat[k] for k in ("done_at", "completed_at", "completedAt", "closed_at", "resolved_at",
                                   "fields.resolutiondate") if flat.get(k)), None)
    done_moment, done_day, _ = parse_time(done)
    if item["status"] == "done" and (done_moment or done_day):
        item["done_at"] = done_moment or done_day
    ticket = next((flat[k] for k in ("ticket", "url", "issue_url", "external_issue_reference.issue_permalink",
                                     "link", "key") if flat.get(k)), None)
    if ticket:
        item["ticket"] = one_line(as_text(ticket), 300)
    return item


def action_status(text: str) -> str:
    """Our action-item status for a tool's (``Done``, ``completed``, ``closed``, ``In Progress``,
    ``won't do``, ``outstanding``...): open, in-progress, done or wont-do."""
    key = re.sub(r"[^a-z]+", "", text.lower())
    if key in ("done", "completed", "complete", "closed", "resolved", "fixed", "finished"):
        return "done"
    if key in ("inprogress", "started", "doing", "active", "underway", "ongoing"):
        return "in-progress"
    if key in ("wontdo", "wontfix", "notdoing", "cancelled", "canceled", "declined", "rejected", "deleted"):
        return "wont-do"
    return "open"
