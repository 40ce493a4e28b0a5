"""Where the tool writes and deletes: only in real folders and files, never through a symbolic link.

A pull request's committed files are hostile, and git stores symbolic links, also in folders
git is told to ignore (``git add -f``). A committed ``.pmkb-build/zensical/docs``,
``.pmkb-cache/site`` or ``site`` that links elsewhere (``/home/runner/.ssh``, the post-mortems
folder) would have every write into it and every delete below it land in that other folder. So
the folders the tool writes into (the cache folder, the Zensical build folder, the site folder)
are checked one component at a time with ``lstat`` from the project's folder down, a missing
folder is made one component at a time (``mkdir`` never follows a link), a file is opened with
``O_NOFOLLOW`` (a link fails to open) and checked to be a regular file once open, and a folder
is walked without following links. What lies above the project's folder (or a folder the user
named outside it) is the user's own and is taken as it is: ``/tmp`` is a link on macOS.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
    | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class SymlinkRefused(OSError):
    """``path`` (a folder the tool writes into, a file it writes or deletes) is a symbolic link."""

    def __init__(self, path: Path):
        super().__init__(errno.ELOOP, "is a symbolic link", str(path))
        self.path = Path(path)


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it, by their text (both absolute and normalised)."""
    return path == root or root in path.parents


def checked_parts(path: Path, root: Path | None = None) -> list[Path]:
    """The components of ``path`` that must not be links, outermost first: ``path`` and its
    parents strictly below ``root``; every component when ``root`` is ``None``; ``path`` alone
    when it is not inside ``root`` (a folder the user named elsewhere is the user's).

    Paths are compared by their text: give both absolute and normalised
    (:func:`os.path.normpath`, so that ``..`` never climbs out through a link)."""
    path = Path(path)
    if root is not None and not is_inside(path, Path(root)):
        return [path]
    parts = [path, *path.parents]
    if root is not None:
        parts = parts[:parts.index(Path(root))]
    return [p for p in reversed(parts) if p != Path(p.anchor)]


def first_link(path: Path, root: Path | None = None) -> Path | None:
    """The outermost component of :func:`checked_parts` that is a symbolic link, or ``None``."""
    for part in checked_parts(path, root):
        if os.path.islink(part):
            return part
    return None


def make_dirs(path: Path, root: Path | None = None) -> None:
    """Make the folder ``path`` and its missing parents; every component of
    :func:`checked_parts` must be a real folder (one that exists already, or one this call made).

    Raises:
        SymlinkRefused: a component is a symbolic link (nothing is made below it).
        NotADirectoryError: a component is a file.
        OSError: a folder cannot be made.
    """
    parts = checked_parts(path, root)
    if not parts:
        return
    parts[0].parent.mkdir(parents=True, exist_ok=True)  # the user's part (or the project's folder)
    for part in parts:
        try:
            os.mkdir(part)
        except FileExistsError:
            pass
        mode = os.lstat(part).st_mode
        if stat.S_ISLNK(mode):
            raise SymlinkRefused(part)
        if not stat.S_ISDIR(mode):
            raise NotADirectoryError(errno.ENOTDIR, "is not a folder", str(part))


def write_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` (made or truncated), never through a symbolic link: opened
    with ``O_NOFOLLOW | O_NONBLOCK`` (a link fails to open, a FIFO does not block) and checked
    to be a regular file once open. The folder it is in must have been checked
    (:func:`make_dirs`).

    Raises:
        SymlinkRefused: ``path`` is a symbolic link (its target is untouched).
        OSError: ``path`` is not a regular file, or cannot be written.
    """
    if not getattr(os, "O_NOFOLLOW", 0) and os.path.islink(path):  # (Windows: no O_NOFOLLOW)
        raise SymlinkRefused(path)
    try:
        fd = os.open(path, _WRITE_FLAGS, mode)
    except OSError:
        if os.path.islink(path):  # ELOOP on Linux, EMLINK/EFTYPE elsewhere
            raise SymlinkRefused(path) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "is not a regular file", str(path))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes, root: Path | None = None) -> None:
    """Give ``path`` the content ``data`` atomically: a new temporary file beside it (``O_CREAT
    | O_EXCL | O_NOFOLLOW``, a random name), then renamed over it (a rename replaces the name,
    never what a link points to). A new file gets mode 0644 less the umask; a replaced one
    keeps its mode.

    Raises:
        SymlinkRefused: ``path``, or a folder on the way to it below ``root``
            (:func:`checked_parts`), is a symbolic link; nothing is written.
        OSError: ``path`` is not a regular file, or cannot be written.
    """
    import secrets

    link = first_link(path, root)
    if link is not None:
        raise SymlinkRefused(link)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "is not a regular file", str(path))
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o644)
    try:
        try:
            if info is not None and hasattr(os, "fchmod"):
                os.fchmod(fd, stat.S_IMODE(info.st_mode))
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def scan(folder: Path, skip_hidden: bool = False) -> tuple[list[str], list[Path]]:
    """The regular files below ``folder`` (paths relative to it, forward slashes) and the
    symbolic links below it, both sorted, walked without following a link (``scandir``: the
    kind of an entry comes with its name, no ``stat`` for each). With ``skip_hidden``, entries
    whose name starts with ``.`` are neither listed nor walked into. A ``folder`` that does not
    exist has neither; FIFOs, sockets and devices are in neither list."""
    files: list[str] = []
    links: list[Path] = []
    pending = [(Path(folder), "")]
    while pending:
        top, prefix = pending.pop()
        try:
            with os.scandir(top) as entries:
                found = list(entries)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in found:
            if skip_hidden and entry.name.startswith("."):
                continue
            if entry.is_symlink():
                links.append(top / entry.name)
            elif entry.is_dir(follow_symlinks=False):
                pending.append((top / entry.name, prefix + entry.name + "/"))
            elif entry.is_file(follow_symlinks=False):
                files.append(prefix + entry.name)
    return sorted(files), sorted(links)


def links_below(folder: Path, skip_hidden: bool = False) -> list[Path]:
    """The symbolic links anywhere below ``folder`` (:func:`scan`), sorted."""
    return scan(folder, skip_hidden)[1]


def site_refusal(site: Path, project: Path | None) -> str | None:
    """Why the site may not be built into the folder ``site`` (``site_dir``, absolute and
    normalised) of the project in the folder ``project``, or ``None`` when it may.

    Refused: ``site`` is a symbolic link, or a folder between ``project`` and ``site`` is one
    (both engines delete what ``site`` holds before they write: MkDocs empties the folder a link
    points to, the Zensical adapter replaced it), or a link is inside ``site`` (MkDocs' clean
    step does not remove a linked folder, then writes through it). Names starting with ``.``
    inside ``site`` are left out: MkDocs neither deletes nor writes them. A ``site`` outside
    ``project`` is the user's choice: only ``site`` itself is checked, not its parents."""
    link = first_link(site, project)
    if link is None and os.path.isdir(site):
        link = next(iter(links_below(site, skip_hidden=True)), None)
    if link is None:
        return None
    where = f"site_dir {site} is a symbolic link" if link == site else f"site_dir {site}: {link} is a symbolic link"
    return (f"{where}; the build never deletes or writes through a link: remove the symbolic link {link}, "
            "or set site_dir to a real folder")
