"""``pmkb migrate``: rewrite format v1 post-mortems as format v2, and change nothing else.

Format v2 is v1 plus fields (:mod:`generator.formats`), so a v1 file becomes a v2 file by one
line, ``format: 2``, right after the opening ``---`` (or ``format: 1`` becoming ``format: 2``).
The rewrite is therefore a line-level edit, not a YAML round trip: a round-trip library such
as ruamel.yaml re-emits the whole block and re-flows folded scalars, re-indents lists and
re-quotes values, where an inserted line leaves every other byte of the file as it was
(comments, key order, quoting, line endings, a byte-order mark).

The edit is checked before it is offered: the v2 text is validated in memory with the same
per-file rules as ``pmkb validate``, and a file is migrated only when the v2 version has no
error that the v1 version had not, and its front matter holds exactly the same values. The
one thing a migration cannot infer is when a ``done`` action item was done: v2 requires
``done_at`` for it, so such a file is reported with each undated item and stays v1 until
someone writes the day (``done_at:`` can be added to the v1 file first; it is a warning
there, and migrate keeps it). Nothing is invented.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .inventory import SYMLINK, NotRegularFile, not_regular_problem, read_regular
from .loader import source_from_text
from .model import Problem
from .settings import Settings

FORMAT_LINE = "format: 2"
_FORMAT_ONE = re.compile(r"^(format[ \t]*:[ \t]*)1([ \t]*(?:#.*)?)$")

MIGRATE, CURRENT, BLOCKED = "migrate", "current", "blocked"


@dataclass
class Migration:
    """What ``pmkb migrate`` does to one file.

    ``status`` is ``migrate`` (``new`` is the v2 text), ``current`` (already v2: nothing to
    do) or ``blocked`` (not migrated: ``reasons`` say why, each with line, field and fix).
    ``old`` is the file's text as read (a byte-order mark and CRLF line ends kept), ``new``
    the text to write (``old`` unless migrated). ``notes`` are warnings the v2 version has
    that the v1 version had not (it is migrated all the same), with lines of ``new``;
    ``reasons`` have lines of ``old`` (the file as it stays). ``inserted`` is the line of
    ``new`` that the migration added (``None`` when it replaced ``format: 1``).
    """

    path: Path
    display: str
    status: str
    old: str = ""
    new: str = ""
    reasons: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    inserted: int | None = None

    def old_line(self, line: int | None) -> int | None:
        """The line of ``old`` that line ``line`` of ``new`` was (the added line: the one before it)."""
        if line is None or self.inserted is None or line < self.inserted:
            return line
        return max(1, line - 1)

    def diff(self) -> str:
        """A unified diff from the file to its v2 version (``""`` when nothing changes)."""
        if self.new == self.old:
            return ""
        return "".join(difflib.unified_diff(self.old.splitlines(keepends=True), self.new.splitlines(keepends=True),
                                            f"a/{self.display}", f"b/{self.display}"))

    def as_dict(self) -> dict:
        return {"path": self.display, "status": self.status, "reasons": [p.as_dict() for p in self.reasons],
                "notes": [p.as_dict() for p in self.notes]}


def plan(path: Path, display: str, relpath: str, settings: Settings, today: dt.date | None = None) -> Migration:
    """Work out the migration of one file, without writing anything.

    Args:
        path: the file. display: how messages name it. relpath: its path in the docs folder.
        settings: as for ``pmkb validate``. today: reference day for "in the future".

    Returns:
        A :class:`Migration`; never raises for bad content (an unreadable file is ``blocked``).
    """
    from .validate import check_file

    blocked = Migration(path, display, BLOCKED)
    try:  # only a regular file is read: checked on the open file, no window between check and read
        raw = read_regular(path)
        text = raw.decode("utf-8")
    except NotRegularFile as exc:
        blocked.reasons.append(not_regular_problem(display, exc.kind))
        return blocked
    except OSError as exc:
        blocked.reasons.append(_problem(display, None, None, "file-unreadable", f"cannot read the file: {exc.strerror}",
                                        "check the file's permissions"))
        return blocked
    except UnicodeDecodeError:
        blocked.reasons.append(_problem(display, None, None, "not-utf8", "the file is not UTF-8",
                                        "save it as UTF-8, then run pmkb migrate again"))
        return blocked
    blocked.old = blocked.new = text
    before = source_from_text(text, path, display)
    if before.data is None or not isinstance(before.data, dict):
        errors = [p for p in before.problems if p.level == "error"] or [
            _problem(display, 1, None, "front-matter-missing", "the front matter cannot be read",
                     "fix it (pmkb validate says how), then run pmkb migrate again")]
        blocked.reasons.extend(errors)
        return blocked
    if "\r" in text.replace("\r\n", ""):
        blocked.reasons.append(_problem(display, None, None, "line-endings",
                                        "the file uses bare carriage returns (\\r) as line breaks",
                                        "save it with LF or CRLF line endings, then run pmkb migrate again"))
        return blocked
    lines = text.split("\n")
    newline = "\r\n" if lines[0].endswith("\r") else "\n"
    inserted = None
    if "format" in before.data:
        value = before.data["format"]
        line = before.key_lines.get("format", 1)
        if value == "2" and before.plain_types.get("format") == "tag:yaml.org,2002:int":
            return Migration(path, display, CURRENT, text, text)
        match = _FORMAT_ONE.match(lines[line - 1].rstrip("\r")) if value == "1" else None
        if match is None:
            blocked.reasons.append(_problem(
                display, line, "format", "format-unknown",
                f"'format' is {value!r}: only format v1 files (without 'format', or with format: 1) are migrated",
                "correct the 'format' line by hand: format: 2 for a v2 file"))
            return blocked
        lines[line - 1] = f"{match.group(1)}2{match.group(2)}" + ("\r" if lines[line - 1].endswith("\r") else "")
    else:
        lines.insert(1, FORMAT_LINE + newline[:-1])
        inserted = 2
    new = "\n".join(lines)
    after = source_from_text(new, path, display)
    if after.data is None or {k: v for k, v in after.data.items() if k != "format"} != \
            {k: v for k, v in before.data.items() if k != "format"}:  # never: a guard that no value changes
        blocked.reasons.append(_problem(display, 1, None, "migrate-failed",
                                        "the v2 version would not hold the same values; nothing was changed",
                                        "report this as a bug of pmkb migrate, with the file"))
        return blocked
    check_file(before, settings, relpath, None, today)
    check_file(after, settings, relpath, None, today)
    gained = Counter((p.level, p.code, p.field) for p in after.problems) - \
        Counter((p.level, p.code, p.field) for p in before.problems)
    new_problems = [p for p in after.problems if (p.level, p.code, p.field) in gained]
    errors = [p for p in new_problems if p.level == "error"]
    result = Migration(path, display, MIGRATE, text, new, notes=new_problems, inserted=inserted)
    if errors:
        blocked.reasons.extend(dataclasses.replace(p, line=result.old_line(p.line)) for p in errors)
        return blocked
    return result


def _problem(path: str, line: int | None, fld: str | None, code: str, message: str, fix: str) -> Problem:
    return Problem(path, line, None, fld, "error", code, message, fix)


def plan_all(paths: list[Path], settings: Settings, today: dt.date | None = None) -> list[Migration]:
    """:func:`plan` for every post-mortem under ``paths`` (files and folders, as
    ``pmkb validate`` collects them: links are not followed), in path order; what may not be
    read (a link, a FIFO) comes as a ``blocked`` migration with the collector's problem.

    Raises:
        FileNotFoundError: a path does not exist.
    """
    from .inventory import POSTMORTEM
    from .validate import collect, display_path

    inventory = collect(paths, settings)
    plans = [plan(e.path, display_path(e.path), e.relpath, settings, today)
             for e in inventory.entries if e.kind == POSTMORTEM]
    plans += [Migration(Path(p.path), p.path, BLOCKED, reasons=[p]) for p in inventory.problems
              if p.path.endswith(".md")]
    return sorted(plans, key=lambda m: m.display)


def write(migration: Migration) -> None:
    """Replace the file with ``migration.new`` (a migrated file only), atomically: the text goes
    to a temporary file beside it, which then takes its name, keeping its permission bits.

    Raises:
        ValueError: the migration is not ``migrate``, the file is now a symbolic link or not a
            regular file (it is not rewritten through a link), or its text is no longer
            ``migration.old`` (someone edited it since :func:`plan` read it).
        OSError: the file cannot be written.
    """
    if migration.status != MIGRATE:
        raise ValueError(f"{migration.display} is not to be migrated ({migration.status})")
    try:  # the file as planned, still a regular file: an edit made since the plan is never lost
        current = read_regular(migration.path)
    except NotRegularFile as exc:
        raise ValueError(f"{migration.display} is now {'a symbolic link' if exc.kind == SYMLINK else 'not a regular file'}"
                         "; it is not rewritten") from None
    if current.decode("utf-8", "replace") != migration.old:
        raise ValueError(f"{migration.display} changed since it was read; run pmkb migrate again")
    mode = os.lstat(migration.path).st_mode & 0o7777
    fd, temp = tempfile.mkstemp(prefix=".pmkb-migrate-", dir=migration.path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(migration.new.encode("utf-8"))
        os.chmod(temp, mode)
        os.replace(temp, migration.path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
