"""``pmkb migrate``: format v1 post-mortems to format v2 (:mod:`generator.migrate`).

Registered by :mod:`generator.cli`. Without ``--write`` it prints the change as a unified diff
(a patch ``git apply`` takes) and writes nothing.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from .cli import EXIT_ERRORS, EXIT_OK, PATHS, Context, pass_context, resolve_paths


def _lines(problems, verb: str) -> list[str]:
    """One line per problem; a fix shared by several is said once, after the first of them."""
    out, said = [], set()
    for problem in problems:
        field = f" {problem.field}:" if problem.field else ""
        fix = "" if problem.fix in said else f" ({problem.fix})"
        said.add(problem.fix)
        out.append(f"{problem.location}: {verb}:{field} {problem.message}{fix}")
    return out


@click.command()
@PATHS
@click.option("--write", is_flag=True, help="Rewrite the files in place (default: print a diff, write nothing).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: the diff on stdout, notes on stderr; json: what would happen to each file.")
@pass_context
def migrate(obj: Context, paths: tuple[Path, ...], write: bool, fmt: str) -> None:
    """Rewrite format v1 post-mortems as format v2.

    PATHS are files or folders (default: the docs_dir of mkdocs.yml). Each v1 file gets
    'format: 2' after its opening '---'; nothing else in it changes. A file is left as it is,
    and reported, when its v2 version would have an error the v1 one has not: above all a
    done action item without done_at, since v2 needs the day it was done and migrate never
    invents one (write done_at into the item, then run migrate again). Exit 1 when a file
    cannot be migrated, or, without --write, when a file would change; 0 when all are v2.
    """
    from . import migrate as migration
    from .validate import display_path

    settings = obj.settings
    try:
        plans = migration.plan_all(resolve_paths(settings, paths), settings)
    except FileNotFoundError as exc:
        raise click.UsageError(f"no such file or folder: {display_path(Path(str(exc)))}") from exc
    todo = [m for m in plans if m.status == migration.MIGRATE]
    blocked = [m for m in plans if m.status == migration.BLOCKED]
    written: list[str] = []
    if write:
        for m in todo:
            try:
                migration.write(m)
                written.append(m.display)
            except (OSError, ValueError) as exc:
                m.status = migration.BLOCKED
                m.reasons.append(migration._problem(m.display, None, None, "file-unwritable", str(exc),
                                                    "check the file and its folder"))
                blocked.append(m)
    if fmt == "json":
        click.echo(json.dumps({
            "write": write,
            "files": [dict(m.as_dict(), diff=m.diff()) for m in plans],
            "counts": {"files": len(plans), "migrate": len(todo), "current": len(plans) - len(todo) - len(blocked),
                       "blocked": len(blocked), "written": len(written)},
        }, ensure_ascii=False, indent=2))
    else:
        notes = (lambda text: click.echo(text)) if write else (lambda text: click.echo(text, err=True))
        if not write:
            for m in todo:
                click.echo(m.diff(), nl=False)
        # lines of the file as it is now: the v2 text after --write, else the file as it was
        shown = [p if write else dataclasses.replace(p, line=m.old_line(p.line)) for m in todo for p in m.notes]
        for line in _lines(shown, "note"):
            notes(line)
        for line in _lines([p for m in blocked for p in m.reasons], "not migrated"):
            notes(line)
        current = len(plans) - len(todo) - len(blocked)
        if write:
            summary = f"{len(written)} migrated to format v2"
        else:
            summary = f"{len(todo)} to migrate (run again with --write)" if todo else "0 to migrate"
        notes(f"{summary}, {current} already v2, {len(blocked)} not migrated, in {len(plans)} files")
    pending = todo and not write
    raise SystemExit(EXIT_ERRORS if blocked or pending else EXIT_OK)


COMMANDS = [migrate]
