"""Built-in presets: the shapes of well-known post-mortem archives and incident-tool exports.

A preset recognises a record by its keys (``detect``) and reads it into a
:class:`~generator.importers.record.Record` (``read``). Field names and vocabularies come from
each tool's public API documentation:

* ``postmortem-archive`` (Markdown front matter): the public post-mortem archive shape (uuid,
  url, archive_url, title, start_time, end_time, categories, keywords, company, product,
  summary; ``github.com/icco/postmortems``, ``data/*.md``).
* ``postmortem-kb`` (Markdown front matter): our own format, from another knowledge base.
* ``incident-io``: incident.io API v2 ``GET /v2/incidents`` (``{"incidents": [IncidentV2]}``):
  id, reference, name, summary, permalink, incident_status {name, category: triage, declined,
  merged, canceled, live, learning, closed}, severity {name, rank}, mode (standard,
  retrospective, test, tutorial), visibility (public, private), incident_type,
  incident_timestamp_values [{incident_timestamp {name}, value {value}}],
  incident_role_assignments [{role {name, role_type}, assignee {name, email}}],
  custom_field_entries [{custom_field {name}, values [...]}], postmortem_document_url.
* ``firehydrant``: FireHydrant API ``GET /v1/incidents`` (``{"data": [IncidentEntity]}``): id,
  name, number, summary, description, customer_impact_summary, severity, priority,
  current_milestone, milestones [{type, occurred_at}] / lifecycle_phases [{milestones [{slug,
  occurred_at}]}], started_at, created_at, tag_list, services / functionalities / environments
  [{name}], role_assignments [{incident_role {name}, user {name}}], incident_url.
* ``rootly``: Rootly API ``GET /v1/incidents`` (JSON:API, ``{"data": [{id, type: "incidents",
  attributes}]}``): title, slug, sequential_id, summary, status (in_triage, started, detected,
  acknowledged, mitigated, resolved, closed, cancelled), kind (normal, test, example ...),
  private, severity, started_at, detected_at, acknowledged_at, mitigated_at, resolved_at,
  url, services, environments, labels.
* ``opsgenie``: Opsgenie Incident API ``GET /v1/incidents`` (``{"data": [incident]}``): id,
  tinyId, message, description, status (open, resolved, closed), priority (P1..P5), tags,
  createdAt, impactStartDate, impactEndDate, impactedServices, ownerTeam.
* ``jira``: Jira Service Management incidents as Jira REST ``search`` results (``{"issues":
  [{id, key, self, fields {summary, description, priority {name}, status {name,
  statusCategory {key}}, created, resolutiondate, labels, components [{name}], reporter,
  assignee}}]}``) and Jira's CSV export (columns Summary, Issue key, Issue id, Status,
  Priority, Created, Resolved, Labels, Component/s, Reporter, Description).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .mapping import Context, Rule, action_item, apply_rules, as_text, author_name, flatten, generic_rules, set_field
from .record import Record, is_http_url, kebab, kebab_list, one_line, parse_time, standard_section


@dataclass(frozen=True)
class Preset:
    """A known shape: ``name`` (for ``--preset`` and messages), ``system`` (its
    ``source.system``), the ``--from`` kinds it applies to, ``detect(obj)`` (does a record have
    its keys?) and ``read(obj, record, ctx) -> used top-level keys``."""

    name: str
    system: str
    kinds: tuple[str, ...]
    detect: Callable[[dict], bool]
    read: Callable[[dict, Record, Context], set[str]]
    summary: str


def _has(obj: dict, *keys: str) -> int:
    return sum(1 for k in keys if k in obj)


def _get(obj, path: str):
    """``obj["a"]["b"]`` for ``"a.b"``, or None."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def names_of(value, depth: int = 0) -> list[str]:
    """The display names in a tool's list of things (``[{"name": "API"}]``, ``{"data":
    [{"attributes": {"name": ...}}]}``, ``["api", "web"]``, ``"api, web"``)."""
    if depth > 4 or value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [n for v in value for n in names_of(v, depth + 1)]
    if isinstance(value, dict):
        for key in ("name", "displayName", "display_name", "title", "slug", "value", "label"):
            if isinstance(value.get(key), str) and value[key].strip():
                return [value[key].strip()]
        for key in ("attributes", "data", "value_option", "value_catalog_entry"):
            if key in value:
                return names_of(value[key], depth + 1)
    return []


def _time(record: Record, field: str, value, ctx: Context, key: str | None = None) -> None:
    """Set the timestamp ``field`` from ``value``, read from the source's ``key`` (named when the
    value is not a real date)."""
    set_field(record, Rule(field), value, ctx, key)


# --- Markdown front matter ------------------------------------------------------------------

ARCHIVE_KEYS = ("uuid", "url", "archive_url", "start_time", "end_time", "categories", "keywords", "company",
                "product", "source_fetched_at")


def _archive_detect(data: dict) -> bool:
    return _has(data, *ARCHIVE_KEYS) >= 3 and "severity" not in data


def _archive_read(data: dict, rec: Record, ctx: Context) -> set[str]:
    rec.source_id = one_line(as_text(data.get("uuid"))) or None
    url = as_text(data.get("url")).strip()
    rec.url = url if is_http_url(url) else None
    rec.title = one_line(as_text(data.get("title")))
    _time(rec, "started_at", data.get("start_time"), ctx, "start_time")
    _time(rec, "resolved_at", data.get("end_time"), ctx, "end_time")
    categories = [c for c in kebab_list(data.get("categories")) if c != "postmortem"]
    rec.tags = categories + [k for k in kebab_list(data.get("keywords")) if k not in categories]
    company = one_line(as_text(data.get("company")), 80)
    product = one_line(as_text(data.get("product")), 80)
    rec.company = company or None
    rec.services = kebab_list([product]) or kebab_list([company])
    summary = as_text(data.get("summary")).strip()
    if summary:
        rec.summary = summary
        rec.add_section("Summary", summary)
    links = []
    if rec.url:
        links.append(f"- Original write-up: <{rec.url}>")
    archive = as_text(data.get("archive_url")).strip()
    if is_http_url(archive):
        links.append(f"- Archived copy: <{archive}>")
    if links:
        rec.add_section("Sources", "\n".join(links))
    return {"uuid", "url", "archive_url", "title", "start_time", "end_time", "categories", "keywords",
            "company", "product", "summary", "source_fetched_at"}


OUR_KEYS = ("id", "title", "date", "severity", "status", "services", "authors")


def _pmkb_detect(data: dict) -> bool:
    return _has(data, *OUR_KEYS) >= 5


def _pmkb_read(data: dict, rec: Record, ctx: Context) -> set[str]:
    rules = {k: Rule(k) for k in ("title", "summary", "date", "severity", "status", "services", "tags", "authors",
                                  "started_at", "detected_at", "mitigated_at", "resolved_at", "trigger",
                                  "root_cause", "contributing_factors", "visibility", "action_items")}
    rules["id"] = Rule("source_id")
    used = apply_rules(rec, data, rules, ctx)
    source = data.get("source")
    if isinstance(source, dict):
        rec.system = kebab(as_text(source.get("system"))) or None
        rec.source_id = one_line(as_text(source.get("id"))) or rec.source_id
        if is_http_url(as_text(source.get("url"))):
            rec.url = as_text(source.get("url")).strip()
    rec.near_miss = as_text(data.get("near_miss")).strip().lower() == "true"
    return used | {"source", "format", "near_miss", "related", "not_related"}


def _generic_read(data: dict, rec: Record, ctx: Context) -> set[str]:
    flat = flatten(data)
    return apply_rules(rec, data, generic_rules(list(flat)), ctx)


MARKDOWN_PRESETS = (
    Preset("postmortem-archive", "postmortem-archive", ("md-frontmatter",), _archive_detect, _archive_read,
           "public post-mortem archive (uuid, url, start_time, company, product ...)"),
    Preset("postmortem-kb", "postmortem-kb", ("md-frontmatter",), _pmkb_detect, _pmkb_read,
           "postmortem-kb's own format, from another knowledge base"),
)
GENERIC = Preset("generic", "imported", ("md-frontmatter", "md-headings", "csv", "json", "jsonl"),
                 lambda data: True, _generic_read, "any shape: fields matched by name and synonyms")


# --- incident tools -------------------------------------------------------------------------

def _custom_fields(entries) -> dict[str, list[str]]:
    """incident.io ``custom_field_entries``: ``{field name: [values]}``."""
    out: dict[str, list[str]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        name = names_of(entry.get("custom_field"))
        if not name:
            continue
        values = []
        for v in entry.get("values") or []:
            if isinstance(v, dict):
                text = v.get("value_text") or v.get("value_link") or v.get("value_numeric")
                values.extend([str(text)] if text else names_of(v))
        out[name[0]] = values
    return out


def _custom_into(rec: Record, fields: dict[str, list[str]]) -> list[str]:
    """Custom fields whose names say what they are; returns the names left unmapped."""
    left = []
    for name, values in fields.items():
        key = name.lower()
        if not values:
            continue
        if re.search(r"service|product|component|system|feature|application|\bapp\b", key):
            rec.services.extend(t for t in kebab_list(values) if t not in rec.services)
        elif "root cause" in key or key == "cause":
            rec.root_cause = rec.root_cause or one_line(" ".join(values))
        elif "contributing" in key:
            rec.contributing_factors.extend(kebab_list(values))
        elif "trigger" in key:
            rec.trigger = rec.trigger or kebab(values[0])
        elif re.search(r"\btags?\b|label|categor", key):
            rec.tags.extend(t for t in kebab_list(values) if t not in rec.tags)
        else:
            left.append(name)
    return left


_TIMESTAMP_NAMES = (
    ("started_at", re.compile(r"impact.*start|start|began|begin|occurred")),
    ("mitigated_at", re.compile(r"fixed|mitigat|impact.*end|stabili|restored|recovered")),
    ("resolved_at", re.compile(r"resolved|resolution")),
    ("detected_at", re.compile(r"reported|detected|identified|declared|accepted|acknowledged|alerted")),
)


def _incident_io_detect(obj: dict) -> bool:
    return "incident_status" in obj or ("reference" in obj and "permalink" in obj) or \
        "incident_timestamp_values" in obj


def _incident_io_read(obj: dict, rec: Record, ctx: Context) -> set[str]:
    rec.source_id = one_line(as_text(obj.get("id"))) or None
    rec.url = obj.get("permalink") if is_http_url(obj.get("permalink")) else None
    rec.title = one_line(as_text(obj.get("name")))
    rec.summary = as_text(obj.get("summary")).strip()
    rec.add_section("Summary", rec.summary)
    rec.severity_raw = (names_of(obj.get("severity")) or [None])[0]
    status = obj.get("incident_status") or {}
    category = as_text(status.get("category") if isinstance(status, dict) else status).lower()
    rec.status_raw = category or None
    if category in ("declined", "canceled", "cancelled", "merged"):
        rec.skip_reason = f"{category} in incident.io (not an incident)"
    mode = as_text(obj.get("mode")).lower()
    if mode in ("test", "tutorial"):
        rec.skip_reason = f"a {mode} incident in incident.io"
    if category in ("triage", "live", "active", "paused"):
        rec.status = "draft"  # still open: not published until someone writes it up
    if as_text(obj.get("visibility")).lower() == "private":
        rec.visibility = "internal"
    rec.tags = kebab_list(names_of(obj.get("incident_type")))
    for entry in obj.get("incident_timestamp_values") or []:
        if not isinstance(entry, dict):
            continue
        name = " ".join(names_of(entry.get("incident_timestamp"))).lower()
        value = entry.get("value")
        value = value.get("value") if isinstance(value, dict) else value
        for field_name, pattern in _TIMESTAMP_NAMES:
            if pattern.search(name):
                _time(rec, field_name, value, ctx, f"timestamp {name!r}")
                break
    _time(rec, "detected_at", obj.get("created_at"), ctx, "created_at")
    if rec.started_at is None and rec.detected_at is not None:
        rec.started_at = rec.detected_at
        rec.notes.append("started_at from the time it was reported (no impact start recorded)")
    for assignment in obj.get("incident_role_assignments") or []:
        if not isinstance(assignment, dict):
            continue
        role = assignment.get("role") or {}
        if "lead" in as_text(role.get("role_type") or role.get("name")).lower() and assignment.get("assignee"):
            name = author_name(assignment["assignee"])
            if name:
                rec.authors.append(name)
    if not rec.authors and isinstance(obj.get("creator"), dict):
        name = author_name(obj["creator"].get("user") or obj["creator"])
        if name:
            rec.authors.append(name)
    left = _custom_into(rec, _custom_fields(obj.get("custom_field_entries")))
    rec.unmapped.extend(f"custom field {name!r}" for name in left)
    if is_http_url(obj.get("postmortem_document_url")):  # no vendor name in the text similarity reads
        rec.add_section("Sources", f"- Post-mortem document: <{obj['postmortem_document_url']}>")
    return {"id", "permalink", "reference", "name", "summary", "severity", "incident_status", "mode", "visibility",
            "incident_type", "incident_timestamp_values", "created_at", "updated_at", "incident_role_assignments",
            "creator", "custom_field_entries", "postmortem_document_url", "duration_metrics"}


_FH_OPEN = ("started", "detected", "acknowledged", "firstaction", "first_action", "investigating", "identified")
_FH_MILESTONES = {"started": "started_at", "detected": "detected_at", "acknowledged": "detected_at",
                  "mitigated": "mitigated_at", "resolved": "resolved_at", "closed": "resolved_at"}


def _firehydrant_detect(obj: dict) -> bool:
    return _has(obj, "current_milestone", "milestones", "lifecycle_phases", "incident_url",
                "customer_impact_summary") >= 2


def _firehydrant_read(obj: dict, rec: Record, ctx: Context) -> set[str]:
    rec.source_id = one_line(as_text(obj.get("id"))) or None
    rec.url = obj.get("incident_url") if is_http_url(obj.get("incident_url")) else None
    rec.title = one_line(as_text(obj.get("name")))
    rec.summary = as_text(obj.get("summary")).strip()
    rec.add_section("Summary", rec.summary)
    rec.add_section("Summary", as_text(obj.get("description")))
    rec.add_section("Impact", as_text(obj.get("customer_impact_summary")))
    rec.severity_raw = one_line(as_text(obj.get("severity"))) or one_line(as_text(obj.get("priority"))) or None
    milestone = as_text(obj.get("current_milestone")).lower()
    rec.status_raw = milestone or None
    if milestone in _FH_OPEN:
        rec.status = "draft"
    milestones = [m for m in obj.get("milestones") or [] if isinstance(m, dict)]
    for phase in obj.get("lifecycle_phases") or []:
        if isinstance(phase, dict):
            milestones += [m for m in phase.get("milestones") or [] if isinstance(m, dict)]
    for m in milestones:
        kind = as_text(m.get("type") or m.get("slug")).lower()
        if kind in _FH_MILESTONES and m.get("occurred_at"):
            _time(rec, _FH_MILESTONES[kind], m.get("occurred_at"), ctx, f"milestone {kind}")
    _time(rec, "started_at", obj.get("started_at") or obj.get("created_at"), ctx,
          "started_at" if obj.get("started_at") else "created_at")
    rec.services = kebab_list(names_of(obj.get("services")) + names_of(obj.get("functionalities")))
    rec.tags = kebab_list((obj.get("tag_list") or []) + names_of(obj.get("incident_type")))
    for assignment in obj.get("role_assignments") or []:
        if isinstance(assignment, dict) and "commander" in " ".join(names_of(assignment.get("incident_role"))).lower():
            name = author_name(assignment.get("user") or {})
            if name:
                rec.authors.append(name)
    if not rec.authors and isinstance(obj.get("created_by"), dict):
        name = author_name(obj["created_by"])
        if name:
            rec.authors.append(name)
    return {"id", "incident_url", "name", "summary", "description", "customer_impact_summary", "severity", "priority",
            "current_milestone", "milestones", "lifecycle_phases", "started_at", "created_at", "services",
            "functionalities", "tag_list", "incident_type", "role_assignments", "created_by", "number", "active",
            "severity_color", "severity_impact", "severity_condition", "organization_id", "private_id"}


def _rootly_detect(obj: dict) -> bool:
    return obj.get("type") == "incidents" and isinstance(obj.get("attributes"), dict)


_ROOTLY_OPEN = ("in_triage", "started", "detected", "acknowledged", "scheduled", "in_progress")


def _rootly_read(obj: dict, rec: Record, ctx: Context) -> set[str]:
    a = obj.get("attributes") or {}
    rec.source_id = one_line(as_text(obj.get("id"))) or None
    url = a.get("url") or a.get("short_url")
    rec.url = url if is_http_url(url) else None
    rec.title = one_line(as_text(a.get("title")))
    rec.summary = as_text(a.get("summary")).strip()
    rec.add_section("Summary", rec.summary)
    rec.add_section("Resolution", as_text(a.get("mitigation_message")))
    rec.add_section("Resolution", as_text(a.get("resolution_message")))
    rec.severity_raw = (names_of(a.get("severity")) or [None])[0]
    status = as_text(a.get("status")).lower()
    rec.status_raw = status or None
    if status in ("cancelled", "canceled"):
        rec.skip_reason = "cancelled in Rootly (not an incident)"
    kind = as_text(a.get("kind")).lower()
    if kind.startswith(("test", "example")):
        rec.skip_reason = f"a {kind} incident in Rootly"
    if status in _ROOTLY_OPEN:
        rec.status = "draft"
    if str(a.get("private")).lower() == "true":
        rec.visibility = "internal"
    for field_name, key in (("started_at", "started_at"), ("detected_at", "detected_at"),
                            ("detected_at", "acknowledged_at"), ("mitigated_at", "mitigated_at"),
                            ("resolved_at", "resolved_at"), ("started_at", "created_at")):
        _time(rec, field_name, a.get(key), ctx, key)
    rec.services = kebab_list(names_of(a.get("services")) + names_of(a.get("functionalities")))
    labels = a.get("labels")
    label_names = [f"{k}-{v}" for k, v in labels.items()] if isinstance(labels, dict) else names_of(labels)
    rec.tags = kebab_list(names_of(a.get("incident_types")) + names_of(a.get("environments")) + label_names)
    user = a.get("user") or a.get("started_by")
    if user:
        name = author_name(user.get("data", {}).get("attributes", user) if isinstance(user, dict) else user)
        if name:
            rec.authors.append(name)
    return {"id", "type", "attributes", "relationships", "links"}


def _opsgenie_detect(obj: dict) -> bool:
    return "tinyId" in obj and "message" in obj


def _opsgenie_read(obj: dict, rec: Record, ctx: Context) -> set[str]:
    rec.source_id = one_line(as_text(obj.get("id"))) or None
    rec.title = one_line(as_text(obj.get("message")))
    rec.summary = as_text(obj.get("description")).strip()
    rec.add_section("Summary", rec.summary)
    rec.severity_raw = one_line(as_text(obj.get("priority"))) or None
    status = as_text(obj.get("status")).lower()
    rec.status_raw = status or None
    if status == "open":
        rec.status = "draft"
    _time(rec, "started_at", obj.get("impactStartDate") or obj.get("createdAt"), ctx,
          "impactStartDate" if obj.get("impactStartDate") else "createdAt")
    _time(rec, "detected_at", obj.get("createdAt"), ctx, "createdAt")
    _time(rec, "mitigated_at", obj.get("impactEndDate"), ctx, "impactEndDate")
    rec.tags = kebab_list(obj.get("tags") or [])
    rec.services = kebab_list(names_of(obj.get("impactedServices")))
    team = names_of(obj.get("ownerTeam"))
    if team:
        rec.authors.append(team[0])
    return {"id", "tinyId", "message", "description", "priority", "status", "impactStartDate", "impactEndDate",
            "createdAt", "updatedAt", "tags", "impactedServices", "ownerTeam", "responders", "links"}


def _jira_detect(obj: dict) -> bool:
    return ("key" in obj and isinstance(obj.get("fields"), dict)) or _has(obj, "Issue key", "Issue id", "Summary") >= 2


def _adf_text(node, depth: int = 0) -> str:
    """Plain text of a Jira Atlassian Document Format value (API v3 ``description``)."""
    if depth > 40:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(_adf_text(n, depth + 1) for n in node)
    if not isinstance(node, dict):
        return ""
    text = node.get("text", "") if node.get("type") == "text" else ""
    inner = _adf_text(node.get("content") or [], depth + 1)
    block = node.get("type") in ("paragraph", "heading", "listItem", "codeBlock", "blockquote")
    return text + inner + ("\n\n" if block else "")


def _jira_read(obj: dict, rec: Record, ctx: Context) -> set[str]:
    if "fields" not in obj:  # Jira's CSV export
        return _jira_csv_read(obj, rec, ctx)
    f = obj.get("fields") or {}
    key = one_line(as_text(obj.get("key")))
    rec.source_id = one_line(as_text(obj.get("id"))) or key or None
    base = re.match(r"(https?://[^/\s]+(?:/[^/\s]+)*?)/rest/api/", as_text(obj.get("self")))
    if base and key:
        rec.url = f"{base.group(1)}/browse/{key}"
    rec.title = one_line(as_text(f.get("summary")))
    description = f.get("description")
    text = _adf_text(description) if isinstance(description, (dict, list)) else as_text(description)
    rec.add_section("Summary", text)
    rec.severity_raw = (names_of(f.get("priority")) or [None])[0]
    category = as_text(_get(f, "status.statusCategory.key")).lower()
    rec.status_raw = one_line(as_text(_get(f, "status.name"))) or None
    rec.resolution_raw = (names_of(f.get("resolution")) or [None])[0]
    if category in ("new", "indeterminate"):
        rec.status = "draft"
    _time(rec, "started_at", f.get("created"), ctx, "created")
    _time(rec, "resolved_at", f.get("resolutiondate"), ctx, "resolutiondate")
    rec.tags = kebab_list(f.get("labels") or [])
    rec.services = kebab_list(names_of(f.get("components")))
    for person in (f.get("assignee"), f.get("reporter")):
        name = author_name(person) if person else ""
        if name:
            rec.authors.append(name)
            break
    return {"id", "key", "self", "fields", "expand"}


def _jira_csv_read(row: dict, rec: Record, ctx: Context) -> set[str]:
    key = one_line(as_text(row.get("Issue key")))
    rec.source_id = one_line(as_text(row.get("Issue id"))) or key or None
    rec.title = one_line(as_text(row.get("Summary")))
    rec.add_section("Summary", as_text(row.get("Description")))
    rec.severity_raw = one_line(as_text(row.get("Priority"))) or None
    rec.status_raw = one_line(as_text(row.get("Status"))) or None
    rec.resolution_raw = one_line(as_text(row.get("Resolution"))) or None
    if (rec.status_raw or "").lower() in ("open", "to do", "in progress", "new", "work in progress"):
        rec.status = "draft"
    _time(rec, "started_at", row.get("Created"), ctx, "Created")
    _time(rec, "resolved_at", row.get("Resolved"), ctx, "Resolved")
    rec.tags = kebab_list(row.get("Labels") or [])
    rec.services = kebab_list(row.get("Component/s") or [])
    for column in ("Assignee", "Reporter"):
        name = author_name(row.get(column)) if row.get(column) else ""
        if name:
            rec.authors.append(name)
            break
    return {"Issue key", "Issue id", "Summary", "Description", "Priority", "Status", "Created", "Resolved",
            "Labels", "Component/s", "Assignee", "Reporter", "Updated", "Issue Type", "Resolution"}


TOOL_PRESETS = (
    Preset("incident-io", "incident-io", ("json", "jsonl", "csv"), _incident_io_detect, _incident_io_read,
           "incident.io API v2 incidents"),
    Preset("firehydrant", "firehydrant", ("json", "jsonl", "csv"), _firehydrant_detect, _firehydrant_read,
           "FireHydrant API v1 incidents"),
    Preset("rootly", "rootly", ("json", "jsonl"), _rootly_detect, _rootly_read, "Rootly API v1 incidents (JSON:API)"),
    Preset("opsgenie", "opsgenie", ("json", "jsonl", "csv"), _opsgenie_detect, _opsgenie_read,
           "Opsgenie Incident API"),
    Preset("jira", "jira", ("json", "jsonl", "csv"), _jira_detect, _jira_read,
           "Jira Service Management issues (REST search results or CSV export)"),
)

ALL_PRESETS = MARKDOWN_PRESETS + TOOL_PRESETS + (GENERIC,)
PRESET_NAMES = tuple(p.name for p in ALL_PRESETS)


def preset_named(name: str) -> Preset:
    """The preset called ``name``.

    Raises:
        KeyError: no such preset.
    """
    for preset in ALL_PRESETS:
        if preset.name == name:
            return preset
    raise KeyError(name)


def detect_preset(obj: dict, kind: str) -> Preset:
    """The first preset for ``kind`` whose keys ``obj`` has, else :data:`GENERIC`."""
    for preset in ALL_PRESETS:
        if kind in preset.kinds and preset is not GENERIC and preset.detect(obj):
            return preset
    return GENERIC


__all__ = ["Preset", "ALL_PRESETS", "PRESET_NAMES", "GENERIC", "detect_preset", "preset_named", "names_of",
           "action_item", "standard_section", "parse_time"]
