"""Finding and reading the files of a foreign archive, which come from anywhere.

Every source file is treated as hostile: only regular files are read (no symbolic link is
followed, no device, FIFO or socket is opened: ``O_NOFOLLOW`` and ``fstat`` on the open
descriptor, so a file swapped for a link between the check and the read is refused too), each
read is capped (:data:`MAX_SOURCE_BYTES`), text must be UTF-8, hidden files and folders are
left out, and nothing here executes or expands anything it reads.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..inventory import SYMLINK, NotRegularFile, read_regular

MAX_SOURCE_BYTES = 64 * 1024 * 1024
"""Largest source file read (64 MiB): an export of tens of thousands of incidents fits; a file
made to exhaust memory does not."""

EXTENSIONS = {
    "md-frontmatter": (".md", ".markdown"),
    "md-headings": (".md", ".markdown", ".txt"),
    "csv": (".csv",),
    "json": (".json",),
    "jsonl": (".jsonl", ".ndjson"),
}
"""File name endings each ``--from`` kind reads in a folder (a file named on the command line
is read whatever its name; the Markdown kinds also read files without any ending)."""


@dataclass
class SourceText:
    """A source file's text: ``name`` as shown in messages (relative to the folder given, or
    the path given), ``text`` (UTF-8, byte-order mark dropped, CRLF as LF), ``error`` when it
    could not be read (then ``text`` is empty)."""

    path: Path
    name: str
    text: str = ""
    error: str | None = None
    rel: str = ""  # the path below the SOURCE folder given (the file name for a file given)


@dataclass
class Found:
    """The source files of a run, and what was passed over and why (for the summary)."""

    files: list[SourceText] = field(default_factory=list)
    passed_over: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    looked_in: list[str] = field(default_factory=list)


def find_sources(paths: list[Path], kind: str) -> Found:
    """The files to read for ``kind`` under ``paths`` (files or folders), in a stable order.

    A folder is walked without following links, hidden entries left out; a file given by name
    is read when it is a regular file. Symbolic links and special files are passed over, each
    with its reason.

    Raises:
        FileNotFoundError: a PATH does not exist (the CLI makes it a usage error).
    """
    found = Found()
    endings = EXTENSIONS[kind]
    for path in paths:
        found.looked_in.append(path.as_posix())
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            raise
        except OSError as exc:
            found.passed_over.append((path.as_posix(), f"cannot be read: {exc.strerror}"))
            continue
        if stat.S_ISLNK(info.st_mode):
            found.passed_over.append((path.as_posix(), "a symbolic link (links are not followed)"))
        elif stat.S_ISDIR(info.st_mode):
            _walk(path, endings, found)
        elif stat.S_ISREG(info.st_mode):
            found.files.append(read_text(path, path.as_posix(), path.name))
        else:
            found.passed_over.append((path.as_posix(), "not a regular file"))
    return found


def _walk(folder: Path, endings: tuple[str, ...], found: Found) -> None:
    markdown = ".md" in endings
    for top, dirs, files in os.walk(folder, followlinks=False):
        top_path = Path(top)
        kept = []
        for d in sorted(dirs):
            full = top_path / d
            if d.startswith("."):
                continue
            if os.path.islink(full):
                found.passed_over.append((_rel(full, folder), "a symbolic link to a folder (links are not followed)"))
                continue
            kept.append(d)
        dirs[:] = kept
        for name in sorted(files):
            if name.startswith(".") or not (name.lower().endswith(endings) or (markdown and "." not in name)):
                continue  # Markdown write-ups are sometimes saved without an ending
            full = top_path / name
            rel = _rel(full, folder)
            try:
                info = os.lstat(full)
            except OSError as exc:
                found.passed_over.append((rel, f"cannot be read: {exc.strerror}"))
                continue
            if stat.S_ISLNK(info.st_mode):
                found.passed_over.append((rel, "a symbolic link (links are not followed)"))
            elif not stat.S_ISREG(info.st_mode):
                found.passed_over.append((rel, "not a regular file"))
            else:
                found.files.append(read_text(full, rel, full.relative_to(folder).as_posix()))


def _rel(path: Path, folder: Path) -> str:
    return f"{folder.as_posix().rstrip('/')}/{path.relative_to(folder).as_posix()}"


def read_text(path: Path, name: str, rel: str = "") -> SourceText:
    """Read one source file as UTF-8 text, refusing links, special files and files over
    :data:`MAX_SOURCE_BYTES`; never raises for bad content (the reason is in ``error``)."""
    out = SourceText(path, name, rel=rel or path.name)
    try:
        raw = read_regular(path, limit=MAX_SOURCE_BYTES + 1)
    except NotRegularFile as exc:
        out.error = "a symbolic link (links are not followed)" if exc.kind == SYMLINK else "not a regular file"
        return out
    except OSError as exc:
        out.error = f"cannot be read: {exc.strerror}"
        return out
    if len(raw) > MAX_SOURCE_BYTES:
        out.error = f"over the {MAX_SOURCE_BYTES // 2**20} MiB limit"
        return out
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        out.error = f"not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8"
        return out
    if "\x00" in text:
        out.error = "holds NUL bytes: a binary file, not text"
        return out
    out.text = text.replace("\r\n", "\n").replace("\r", "\n")
    return out
