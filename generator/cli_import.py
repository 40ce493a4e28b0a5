"""``pmkb import``: the command over :mod:`generator.importers` (registered by :mod:`generator.cli`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cli import EXIT_ERRORS, EXIT_OK, Context, emit, pass_context
from .importers.presets import PRESET_NAMES
from .importers.sync import KINDS
from .model import SEVERITIES

LISTED = 100
"""At most this many create, update and skip lines each in the text output (JSON lists all)."""

_DECISIONS = {
    "default-severity": "no severity in the source: {default_severity} (--default-severity)",
    "unknown-severity": "a severity no map knows: {default_severity} (--severity-map FROM=SEV1,..., --default-severity)",
    "default-service": "no affected service: '{default_service}' (--default-service)",
    "default-author": "no author: '{default_author}' (--default-author)",
    "title-cut": "title longer than 120 characters, cut at a word",
    "title-from-summary": "no title: the summary's first words",
    "done-without-date": "action items marked done without a completion date: listed under 'Action items', not "
                         "tracked (format v2 needs done_at for a done item)",
}


def _timezone(ctx, param, value):
    if value is None:
        return None
    import datetime as dt

    if value.upper() in ("UTC", "Z"):
        return dt.timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(value)
    except Exception:  # zoneinfo raises several kinds for unknown or malformed keys
        raise click.BadParameter(f"{value!r} is not a time zone; use UTC or an IANA name such as Europe/Berlin")


def _value_map(what: str, allowed):
    def parse(ctx, param, value):
        from .importers.record import parse_value_map

        try:
            return parse_value_map(value, allowed, what)
        except ValueError as exc:
            raise click.BadParameter(str(exc))
    return parse


def _prefix(ctx, param, value: str) -> str:
    import re

    if not re.fullmatch(r"[A-Z][A-Z0-9]*", value):
        raise click.BadParameter(f"{value!r}: an id prefix is capital letters and digits, starting with a letter "
                                 "(ids look like PM-2024-017)")
    return value


def _kebab_option(ctx, param, value):
    from .importers.record import kebab

    if value is not None and kebab(value) != value:
        raise click.BadParameter(f"{value!r} is not kebab-case; write it as {kebab(value) or 'my-system'!r}")
    return value


@click.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--from", "kind", type=click.Choice(KINDS), required=True,
              help="What the SOURCES are: Markdown with front matter, Markdown with headings only, CSV, JSON or "
                   "JSON Lines.")
@click.option("--preset", type=click.Choice(PRESET_NAMES),
              help="Read every record with this preset (default: recognised from each record's keys).")
@click.option("--map", "map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML mapping of source fields to ours (see 'Importing' in the README).")
@click.option("--prefix", default="PM", show_default=True, callback=_prefix,
              help="Prefix of the new ids (PREFIX-YEAR-NNN); an id is never reused.")
@click.option("--system", callback=_kebab_option,
              help="source.system of the records, kebab-case (default: the preset's, e.g. incident-io).")
@click.option("--severity-map", callback=_value_map("severity", SEVERITIES), metavar="FROM=SEV1,...",
              help="Source severities or priorities and ours, e.g. P1=SEV1,P2=SEV2,Critical=SEV1.")
@click.option("--status-map", callback=_value_map("status", ("draft", "in-review", "final")), metavar="FROM=STATUS,...",
              help="Source statuses and ours, e.g. closed=final,live=draft (final needs the required sections).")
@click.option("--default-severity", type=click.Choice(SEVERITIES), default="SEV3", show_default=True,
              help="Severity of records whose severity is missing or unknown.")
@click.option("--default-service", default="unspecified", show_default=True, callback=_kebab_option,
              help="Affected service of records that name none.")
@click.option("--default-author", default="unknown", show_default=True, help="Author of records that name none.")
@click.option("--timezone", callback=_timezone, metavar="TZ",
              help="Read timestamps written without a UTC offset in this zone (UTC, Europe/Berlin); without it "
                   "only their day is kept.")
@click.option("--write/--dry-run", "write", default=False,
              help="--dry-run (the default) prints what would happen; --write writes the files.")
@click.option("--force", is_flag=True, help="Overwrite files edited here since the last import (conflicts).")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Source files to leave out (glob on the path below a SOURCE folder, or the name); repeatable. "
                   "Templates (the 'templates' option) are left out anyway.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_context
def import_(obj: Context, sources: tuple[Path, ...], kind: str, preset: str | None, map_file: Path | None, prefix: str,
            system: str | None, severity_map: dict, status_map: dict, default_severity: str, default_service: str,
            default_author: str, timezone, write: bool, force: bool, exclude: tuple[str, ...], fmt: str) -> None:
    """Import post-mortems from another archive or an incident tool's export.

    SOURCES are files or folders. Each record becomes a format v2 post-mortem in the docs
    folder with a new id (PREFIX-YEAR-NNN), the start day in the source's own offset, and
    `source: {system, id, url, imported_at}`. Presets recognise the public post-mortem archive
    shape and the exports of incident.io, FireHydrant, Rootly, Opsgenie and Jira by their keys.

    Safe to run again: an unchanged record is skipped, one changed upstream is updated in place
    (same id, same file), one edited here is a conflict that only --force overwrites. A dry run
    (the default) prints the create / update / skip / conflict counts; --write writes. Every
    file passes `pmkb validate --strict` or is not written. Exit 1 when nothing was found, or a
    record is a conflict or would not validate.
    """
    from .importers.mapping import MapFileError, load_map_file
    from .importers.readers import ReadOptions
    from .importers.render import RenderOptions
    from .importers.sync import ImportError_, ImportOptions, plan_import, write_plan

    settings = obj.settings
    loaded = None
    if map_file is not None:
        try:
            loaded = load_map_file(map_file)
        except MapFileError as exc:
            raise click.UsageError(str(exc)) from exc
        severity_map = {**(loaded.severity or {}), **severity_map}
        status_map = {**(loaded.status or {}), **status_map}
    from .importers.mapping import Context as MapContext

    options = ImportOptions(
        kind=kind, prefix=prefix, force=force, exclude=list(exclude), now=_now(),
        read=ReadOptions(preset=preset, map_file=loaded, system=system, ctx=MapContext(timezone=timezone)),
        render=RenderOptions(default_severity=default_severity, default_service=default_service,
                             default_author=default_author, severity_map=severity_map, status_map=status_map))
    try:
        plan = plan_import(list(sources), settings, options)
    except ImportError_ as exc:
        raise click.UsageError(str(exc)) from exc
    from .scan import Redactor

    obj.redactor = Redactor(set().union(*(a.secrets for a in plan.actions)) if plan.actions else ())
    same = _same_incidents(plan, settings)
    written, error = [], None
    if write and plan.records:
        try:
            written = write_plan(plan)
        except ImportError_ as exc:
            error = str(exc)
    if fmt == "json":
        emit(json.dumps(_as_json(plan, same, write, written, error), indent=2, ensure_ascii=False))
    else:
        emit(_as_text(plan, same, write, written, error, options))
    counts = plan.counts()
    failed = error is not None or not plan.records or counts["conflict"] or counts["invalid"]
    sys.exit(EXIT_ERRORS if failed else EXIT_OK)


def _now():
    """The run's ``imported_at``: now (UTC), or ``SOURCE_DATE_EPOCH`` when set (reproducible runs)."""
    import datetime as dt
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)


def _same_incidents(plan, settings):
    """Possible same incidents between the records to write and the knowledge base (and among
    themselves): :func:`generator.duplicates.same_incidents`."""
    try:
        from .duplicates import same_incidents
    except ImportError:  # pragma: no cover - the module ships with the package
        return []
    new = [a.postmortem for a in plan.actions if a.kind in ("create", "update") and a.postmortem is not None]
    if not new:
        return []
    replaced = {a.pm_id for a in plan.actions if a.kind == "update"}
    existing = [pm for pm in plan.existing if pm.id not in replaced]
    return same_incidents(new, existing, settings)


def _display(path) -> str:
    from .validate import display_path

    return display_path(Path(path)) if path is not None else ""


def _as_text(plan, same, write: bool, written, error, options) -> str:
    out = []
    counts = plan.counts()
    presets = ", ".join(f"{name} {n}" for name, n in plan.presets.most_common())
    out.append(f"read {plan.files_read} file{'s' * (plan.files_read != 1)} as {plan.options.kind}: "
               f"{plan.records} record{'s' * (plan.records != 1)}" + (f" (preset {presets})" if presets else ""))
    shown: dict[str, int] = {}
    for a in plan.actions:
        shown[a.kind] = shown.get(a.kind, 0) + 1
        if a.kind in ("create", "update", "skip") and shown[a.kind] > LISTED:
            continue
        if a.kind in ("create", "update", "skip"):
            out.append(f"{a.kind:<9}{a.pm_id or '':<13}{_display(a.path)}  <- {a.origin}"
                       + (f" ({a.reason})" if a.kind == "skip" else ""))
        elif a.kind == "conflict":
            out.append(f"conflict {a.pm_id or '':<13}{a.reason}  <- {a.origin}")
        elif a.kind == "excluded":
            out.append(f"excluded {a.origin}: {a.reason}")
        else:
            out.append(f"invalid  {a.origin}: {a.reason}")
            for p in a.problems:
                where = f" {p.field}:" if p.field else ":"
                out.append(f"    {p.location}: {p.level} {p.code}{where} {p.message} ({p.fix})")
    for kind in ("create", "update", "skip"):
        if shown.get(kind, 0) > LISTED:
            out.append(f"... and {shown[kind] - LISTED} more to {kind} (--format json lists every one)")
    for p in plan.read_problems:
        out.append(f"could not read {p.origin}: {p.reason}")
    for name, reason in plan.passed_over:
        out.append(f"passed over {name}: {reason}")
    if plan.unmapped:
        fields = ", ".join(f"{name} ({n} record{'s' * (n != 1)})" for name, n in plan.unmapped.most_common(12))
        more = len(plan.unmapped) - 12
        out.append(f"source fields not imported: {fields}" + (f" and {more} more" if more > 0 else "")
                   + " (--map FILE maps them)")
    values = {"default_severity": options.render.default_severity, "default_service": options.render.default_service,
              "default_author": options.render.default_author}
    for decision, n in sorted(plan.decisions.items()):
        text = _DECISIONS.get(decision, decision).format(**values)
        out.append(f"{n} record{'s' * (n != 1)}: {text}")
    if plan.naive_times:
        n = plan.naive_times
        out.append(f"{n} timestamp{'s' * (n != 1)} without a UTC offset: only the day kept (--timezone TZ reads them)")
    for pair in same:
        out.append(f"possible same incident: {pair.describe()}")
    if not plan.records:
        looked = ", ".join(plan.looked_in)
        out.append(f"error: no post-mortem found: looked for {plan.options.kind} files in {looked} "
                   f"({plan.files_read} read, {len(plan.read_problems)} unreadable, {len(plan.passed_over)} passed over)")
        return "\n".join(out)
    tally = (f"{counts['create']} to create, {counts['update']} to update, {counts['skip']} to skip, "
             f"{counts['conflict']} conflict{'s' * (counts['conflict'] != 1)}, {counts['invalid']} invalid"
             + (f", {counts['excluded']} excluded" if counts["excluded"] else ""))
    if error:
        out.append(f"error: {error}")
    if write:
        created = sum(a.kind == "create" for a in written)
        updated = sum(a.kind == "update" for a in written)
        out.append(f"wrote {created} new and {updated} updated post-mortem{'s' * (created + updated != 1)} into "
                   f"{_display(plan.docs)} ({tally})")
    else:
        out.append(f"dry run: {tally}; nothing written (add --write to write)")
    return "\n".join(out)


def _as_json(plan, same, write: bool, written, error) -> dict:
    def action(a):
        return {"action": a.kind, "origin": a.origin, "key": a.key, "id": a.pm_id,
                "path": _display(a.path) if a.path else None, "reason": a.reason,
                "problems": [p.as_dict() for p in a.problems]}
    return {
        "dry_run": not write,
        "counts": plan.counts(),
        "records": plan.records,
        "files_read": plan.files_read,
        "presets": dict(plan.presets),
        "actions": [action(a) for a in plan.actions],
        "written": [_display(a.path) for a in written],
        "unmapped_fields": dict(plan.unmapped.most_common()),
        "defaults_used": dict(sorted(plan.decisions.items())),
        "timestamps_without_offset": plan.naive_times,
        "same_incident": [pair.as_dict() for pair in same],
        "read_problems": [{"origin": p.origin, "reason": p.reason} for p in plan.read_problems],
        "passed_over": [{"path": name, "reason": reason} for name, reason in plan.passed_over],
        "error": error,
    }


COMMANDS = [import_]
