"""Formatting validation problems for people (text), tools (JSON) and GitHub Actions."""

from __future__ import annotations

import json

from .validate import ValidationResult

FORMATS = ("text", "json", "github")


def format_text(result: ValidationResult, style=lambda text, **kw: text) -> str:
    """One line per problem, ``path:line:col: level CODE field: message (fix)``, then a summary.

    A problem repeated word for word in several files, and an unknown field used in two or more
    files, are printed once with how many files have it and where the first few are
    (:func:`generator.foreign.group_repeated`): a folder written for another schema gives one
    line per field, not one per file per field. A hint follows when most files use another
    format's fields. ``style`` is ``click.style`` on a terminal (colour) and the identity
    otherwise.
    """
    from .foreign import ProblemGroup, foreign_schema_hint, group_repeated, unknown_fields

    lines = []
    for item in group_repeated(result.problems):
        p = item.first if isinstance(item, ProblemGroup) else item
        level = style(p.level, fg="red" if p.level == "error" else "yellow", bold=True)
        where = f" {p.field}:" if p.field else ":"
        if isinstance(item, ProblemGroup):
            name = p.field.rsplit(".", 1)[-1] if p.code == "field-unknown" and p.field else None
            message = f"unknown field '{name}'" if name else p.message
            shown = ", ".join(item.locations[:3])
            more = len(item.locations) - 3
            places = shown + (f" and {more} more" if more > 0 else "")
            lines.append(f"{item.files} files: {level} {p.code}{where} {message} ({p.fix}): {places}")
        else:
            lines.append(f"{p.location}: {level} {p.code}{where} {p.message} ({p.fix})")
    hint = foreign_schema_hint(unknown_fields(result.problems), result.files)
    if hint:
        lines.append(f"hint: {hint}")
    lines.append(summary_line(result))
    return "\n".join(lines)


def summary_line(result: ValidationResult) -> str:
    """``2 errors, 1 warning in 60 files`` (or ``60 files checked: no problems``)."""
    if not result.files:
        return "no post-mortem files found (Markdown files outside the 'ignore' patterns)"
    if not result.problems:
        return f"{result.files} file{'s' * (result.files != 1)} checked: no problems"
    e, w = result.errors, result.warnings
    return (f"{e} error{'s' * (e != 1)}, {w} warning{'s' * (w != 1)} in "
            f"{result.files} file{'s' * (result.files != 1)}")


def format_json(result: ValidationResult) -> str:
    """``{"problems": [...], "counts": {"files", "errors", "warnings"}, "unknown_fields": [{"field",
    "files", "locations", "suggestion"}], "ok": bool}`` (``unknown_fields``: one entry per field
    name the format does not define, most files first)."""
    from .foreign import unknown_fields

    return json.dumps({
        "problems": [p.as_dict() for p in result.problems],
        "counts": {"files": result.files, "errors": result.errors, "warnings": result.warnings},
        "unknown_fields": [u.as_dict() for u in unknown_fields(result.problems)],
        "ok": result.errors == 0,
    }, indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(result: ValidationResult) -> str:
    """GitHub Actions workflow commands (``::error file=..,line=..,col=..,title=..::message``).

    Escaping follows the Actions toolkit (``@actions/core`` ``command.ts``): ``%``, CR and LF
    everywhere, and also ``:`` and ``,`` inside properties.
    """
    lines = []
    for p in result.problems:
        props = [f"file={_escape_property(p.path)}"]
        if p.line is not None:
            props.append(f"line={p.line}")
            if p.column is not None:
                props.append(f"col={p.column}")
        title = p.code + (f" {p.field}" if p.field else "")
        props.append(f"title={_escape_property(title)}")
        lines.append(f"::{p.level} {','.join(props)}::{_escape_data(f'{p.message} ({p.fix})')}")
    lines.append(summary_line(result))
    return "\n".join(lines)
