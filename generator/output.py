"""Formatting validation problems for people (text), tools (JSON) and GitHub Actions."""

from __future__ import annotations

import json

from .validate import ValidationResult

FORMATS = ("text", "json", "github")


def format_text(result: ValidationResult, style=lambda text, **kw: text) -> str:
    """One line per problem, ``path:line:col: level CODE field: message (fix)``, then a summary.

    ``style`` is ``click.style`` on a terminal (colour) and the identity otherwise.
    """
    lines = []
    for p in result.problems:
        level = style(p.level, fg="red" if p.level == "error" else "yellow", bold=True)
        where = f" {p.field}:" if p.field else ":"
        lines.append(f"{p.location}: {level} {p.code}{where} {p.message} ({p.fix})")
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
    """``{"problems": [...], "counts": {"files", "errors", "warnings"}, "ok": bool}``."""
    return json.dumps({
        "problems": [p.as_dict() for p in result.problems],
        "counts": {"files": result.files, "errors": result.errors, "warnings": result.warnings},
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
