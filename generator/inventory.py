"""What the tool may read: the regular files inside a post-mortems folder, and nothing else.

Post-mortems arrive as pull requests, and ``pmkb validate`` and ``pmkb review`` run in CI next
to that CI's secrets. A symbolic link in the folder could point anywhere (``/proc/self/environ``,
``~/.aws/credentials``, ``/``), a FIFO would block the reader forever, a device would stream
without end. So the folder is walked without following links, and every file is opened with
``O_NOFOLLOW | O_NONBLOCK`` and checked to be a regular file *after* it is open (no window
between the check and the read):

* a symbolic link (to a file or a folder, dangling or not) is a ``file-symlink`` problem; it
  is never followed, never opened, and nothing it points to is quoted; the walk does not
  descend into a linked folder;
* a FIFO, socket or device is a ``file-not-regular`` problem and is never opened;
* a Markdown file is a post-mortem, or an ordinary *page* when the ``ignore`` option matches
  it (``README.md``, ``_notes.md``): the site publishes both;
* any other file is an *attachment*: the site publishes it when the ``attachments`` option
  lists its kind (``.png``, ``.log`` ...), and leaves it out otherwise (``file-not-published``);
* hidden entries (a name starting with ``.``) are neither read nor published (MkDocs leaves
  them out), but a link among them is still reported, since MkDocs' own walk follows links
  into folders wherever they are.

Links between files are checked with :func:`link_target`, which looks at the path as written
(``..`` resolved lexically) and never through a link.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .model import Problem

POSTMORTEM, PAGE, ATTACHMENT, UNPUBLISHED = "postmortem", "page", "attachment", "unpublished"
"""Kinds of regular files in a post-mortems folder."""

SYMLINK, NOT_REGULAR, MISSING, OUTSIDE, FOLDER, FILE = "symlink", "not-regular", "missing", "outside", "folder", "file"
"""What :func:`link_target` finds at a path."""

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)

SYMLINK_MESSAGE = "this is a symbolic link, which is never followed, read or published"
NOT_REGULAR_MESSAGE = "this is not a regular file but a FIFO, socket or device, which is never read or published"
SYMLINK_FIX = "replace the link with the real file, or remove it: git add the file itself, not a link to it"
NOT_REGULAR_FIX = "remove it from the post-mortems folder: only regular files are read and published"


class NotRegularFile(OSError):
    """The path is a symbolic link (``kind`` ``"symlink"``) or not a regular file (``"not-regular"``)."""

    def __init__(self, path: Path, kind: str):
        super().__init__(f"{path}: {'a symbolic link' if kind == SYMLINK else 'not a regular file'}")
        self.kind = kind


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of ``path``, only when it is a regular file (never through a final symbolic link).

    The file is opened with ``O_NOFOLLOW | O_NONBLOCK`` (a link fails to open, a FIFO does not
    block) and ``fstat`` of the open descriptor must say regular file before one byte is read.

    Args:
        path: the file.
        limit: read at most this many bytes (``None``: all).

    Raises:
        NotRegularFile: a symbolic link or not a regular file (FIFO, socket, device, folder).
        OSError: any other reason the file cannot be opened or read.
    """
    if not getattr(os, "O_NOFOLLOW", 0) and os.path.islink(path):  # (Windows: no O_NOFOLLOW)
        raise NotRegularFile(path, SYMLINK)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if os.path.islink(path):  # ELOOP on Linux, EMLINK/EFTYPE elsewhere
            raise NotRegularFile(path, SYMLINK) from None
        raise exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(path, NOT_REGULAR)
        chunks, left = [], info.st_size if limit is None else min(limit, info.st_size)
        while True:  # the size may change while reading: read to the end (or the limit)
            chunk = os.read(fd, max(left, 65536) if limit is None else left)
            if not chunk:
                break
            chunks.append(chunk)
            if limit is not None:
                left -= len(chunk)
                if left <= 0:
                    break
        return b"".join(chunks)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Entry:
    """A regular file found in a folder: ``path`` (absolute, through no link), the ``root``
    folder it was found under, ``relpath`` below that root (forward slashes) and its ``kind``."""

    path: Path
    root: Path
    relpath: str
    kind: str


@dataclass
class Inventory:
    """The files of one or more folders (and files given by name), sorted by path, with the
    problems of what may not be read (links, FIFOs, devices) and of what the site leaves out."""

    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def is_hidden(relpath: str) -> bool:
    """A path with a part starting with ``.`` (MkDocs neither reads nor publishes those)."""
    return any(part.startswith(".") for part in relpath.split("/"))


def kind_of(relpath: str, settings) -> str:
    """The kind of a regular file at ``relpath`` under its docs folder (see the module doc).

    A Markdown file that the ``ignore`` or the ``templates`` option matches is a page (the site
    publishes a template as an ordinary page), any other one a post-mortem.
    """
    if relpath.endswith(".md"):
        from .foreign import is_template_path

        if any(fnmatch.fnmatchcase(relpath, p) for p in settings.ignore) \
                or is_template_path(relpath, settings.templates):
            return PAGE
        return POSTMORTEM
    suffix = os.path.splitext(relpath)[1].lower()
    return ATTACHMENT if suffix and suffix in settings.attachments else UNPUBLISHED


def _display(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _problem(path: Path, kind: str) -> Problem:
    return not_regular_problem(_display(path), kind)


def not_regular_problem(where: str, kind: str) -> Problem:
    """The error for a file at ``where`` (as messages name it) that may not be read:
    ``file-symlink`` when ``kind`` is :data:`SYMLINK`, else ``file-not-regular``."""
    if kind == SYMLINK:
        return Problem(where, 1, None, None, "error", "file-symlink", SYMLINK_MESSAGE, SYMLINK_FIX)
    return Problem(where, 1, None, None, "error", "file-not-regular", NOT_REGULAR_MESSAGE, NOT_REGULAR_FIX)


def unpublished_problem(entry: Entry, settings) -> Problem:
    """The ``file-not-published`` warning of a file whose kind the ``attachments`` option does not list."""
    suffix = os.path.splitext(entry.relpath)[1].lower()
    kind = f"'{suffix}' files" if suffix else "files without an extension"
    return Problem(_display(entry.path), 1, None, None, "warning", "file-not-published",
                   f"the site leaves this file out: the 'attachments' option does not list {kind}",
                   "convert it to a kind the option lists: " + ", ".join(settings.attachments)
                   + "; or remove it. Add its extension to 'attachments' in mkdocs.yml only if a browser "
                   "cannot run it: never .html, .svg or .js")


def walk(root: Path, settings, inventory: Inventory | None = None) -> Inventory:
    """Every regular file below the folder ``root``, without following any link.

    Args:
        root: the folder (it may itself be reached through a link: the folder you name is the
            corpus); it is resolved once, and nothing below it is.
        settings: for the ``ignore`` and ``attachments`` options.
        inventory: add to this inventory instead of a new one.

    Returns:
        The :class:`Inventory`: entries of every kind (hidden files left out), a
        ``file-symlink`` problem per link (hidden ones included), ``file-not-regular`` per
        FIFO, socket or device.
    """
    inventory = inventory if inventory is not None else Inventory()
    root = Path(os.path.realpath(root))
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            inventory.problems.append(Problem(_display(folder), None, None, None, "error", "file-unreadable",
                                              f"cannot read the folder: {exc.strerror}", "check its permissions"))
            continue
        for item in reversed(items):
            rel = prefix + item.name
            path = folder / item.name
            try:
                mode = item.stat(follow_symlinks=False).st_mode
            except OSError:
                continue  # removed meanwhile
            if stat.S_ISLNK(mode):
                inventory.problems.append(_problem(path, SYMLINK))
            elif stat.S_ISDIR(mode):
                stack.append((path, rel + "/"))
            elif is_hidden(rel):
                continue
            elif stat.S_ISREG(mode):
                inventory.entries.append(Entry(path, root, rel, kind_of(rel, settings)))
            else:
                inventory.problems.append(_problem(path, NOT_REGULAR))
    inventory.entries.sort(key=lambda e: e.path)
    return inventory


def lexical(path: Path) -> Path:
    """``path`` made absolute against the working directory, ``..`` removed, no link followed."""
    return Path(os.path.normpath(os.path.abspath(path)))


def state_below(root: Path, path: Path) -> str:
    """What is at ``path``, which lies lexically below ``root``: looked at one part at a time
    with ``lstat``, so a link anywhere on the way is found and not followed.

    Returns:
        :data:`FILE`, :data:`FOLDER`, :data:`SYMLINK`, :data:`NOT_REGULAR` or :data:`MISSING`.
    """
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except (OSError, ValueError):
            return MISSING
        if stat.S_ISLNK(mode):
            return SYMLINK
        if current != path and not stat.S_ISDIR(mode):
            return MISSING
    try:
        mode = os.lstat(path).st_mode
    except (OSError, ValueError):
        return MISSING
    if stat.S_ISDIR(mode):
        return FOLDER
    return FILE if stat.S_ISREG(mode) else NOT_REGULAR


def link_target(root: Path, folder: Path, target: str) -> tuple[str, Path]:
    """Where a relative link ``target`` (already URL-decoded) written in a file of ``folder``
    points, without following any link.

    Args:
        root: the post-mortems folder (absolute, as :func:`walk` gives entries' roots).
        folder: the folder of the file that holds the link (below ``root``).
        target: the link's path part.

    Returns:
        ``(state, path)``: :data:`OUTSIDE` when the path leaves ``root``, else what
        :func:`state_below` finds there.
    """
    try:
        path = Path(os.path.normpath(folder / target))
    except ValueError:  # a NUL byte
        return MISSING, folder
    if path != root and root not in path.parents:
        return OUTSIDE, path
    if "\0" in str(path):
        return MISSING, path
    return state_below(root, path), path


def given_file(path: Path, docs: Path, settings) -> tuple[Entry | None, Problem | None]:
    """A file named on the command line: its entry, or the problem that keeps it from being read.

    The file counts as part of ``docs`` (the docs folder) when it lies below it as written
    (or below the folder ``docs`` resolves to); then every part of the path below ``docs`` must
    be a real folder and the file a regular file, and its kind follows the ``ignore`` and
    ``attachments`` options. Otherwise its own folder is its root, only the file itself must
    not be a link, and a Markdown file is taken as a post-mortem.

    Returns:
        ``(entry, None)`` or ``(None, problem)``.

    Raises:
        FileNotFoundError: nothing is at ``path``, or a folder is.
    """
    path = lexical(path)
    docs_real = Path(os.path.realpath(docs))
    root = None
    for base in (lexical(docs), docs_real):
        if base in path.parents:
            root, path = docs_real, docs_real / path.relative_to(base)
            break
    if root is not None:
        state = state_below(root, path)
    else:
        root = path.parent
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            state = MISSING
        else:
            state = SYMLINK if stat.S_ISLNK(mode) else FOLDER if stat.S_ISDIR(mode) \
                else FILE if stat.S_ISREG(mode) else NOT_REGULAR
    if state in (SYMLINK, NOT_REGULAR):
        return None, _problem(path, state)
    if state != FILE:
        raise FileNotFoundError(str(path))
    rel = path.relative_to(root).as_posix()
    if root == docs_real:
        kind = kind_of(rel, settings)
    else:
        kind = POSTMORTEM if rel.endswith(".md") else kind_of(rel, settings)
    return Entry(path, root, rel, kind), None
