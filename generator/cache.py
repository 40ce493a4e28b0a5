"""An on-disk cache folder for derived data (embeddings, charts, the analysis), outside the docs folder.

One folder, option ``cache_dir`` (default ``.pmkb-cache/`` beside ``mkdocs.yml``), never inside
``postmortems/``: the build never writes into the knowledge base. The folder ignores itself
(a ``.gitignore`` holding ``*``, as pytest's and mypy's caches do) and carries a
``CACHEDIR.TAG`` (the Cache Directory Tagging Specification, bford.info/cachedir) so backup
tools skip it. Entries are files named by the SHA-256 of their key, written atomically
(a temporary file, then :func:`os.replace`), so two builds at once never read half a file.

Whatever the cache holds can be deleted at any time: a miss recomputes it.

**Only entries this user's runs wrote are read.** A pull request can commit files into the
cache folder (``git add -f`` ignores the ``.gitignore``), and CI builds what it checks out; an
entry planted there could put text that is no post-mortem's own into the site (a chart that
runs script, a related link nobody computed). So every entry carries an HMAC-SHA256 (RFC 2104)
of its namespace, key and bytes, made with a random key kept *outside* the cache folder, in the
user's cache home (:func:`secret_path`: ``$XDG_CACHE_HOME/postmortem-kb/cache.key``, else
``~/.cache/postmortem-kb/cache.key``, created on first use, mode 0600). An entry whose HMAC does
not verify (planted, copied from another machine, truncated, corrupted) is a miss. A CI job
that keeps its cache folder between runs keeps that file too (or the first run of each job
recomputes everything, which is always correct). Without a usable key file nothing is cached.

**Nothing is read, written or deleted through a symbolic link** (git stores links, and the
folder takes committed files): the cache folder and every folder above it up to the project's
(:meth:`generator.settings.Settings.cache_path` resolves only what lies outside the project),
the namespace folders, the entries, ``.gitignore`` and ``CACHEDIR.TAG`` are looked at with
``lstat`` and opened with ``O_NOFOLLOW``; a link among them makes what is under it a miss (a
write is skipped, a prune leaves it), it is left as it is, and one warning names it
(:func:`warn_link`). The key file's folder and the key file are not written through a link
either.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

from .confine import SymlinkRefused, first_link, make_dirs

DEFAULT_DIR = ".pmkb-cache"
"""Default ``cache_dir``, relative to the folder of ``mkdocs.yml``."""

_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# postmortem-kb cache; see https://bford.info/cachedir/\n"


_MAGIC = b"PMKB-HMAC1\n"
_MAC_BYTES = 32
SECRET_BYTES = 32
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
LINK_WARNING = "is a symbolic link; the cache does not follow links (remove it)"
"""What :func:`warn_link` says after the path."""

log = logging.getLogger("mkdocs.plugins.generator.cache")
_warned: set[str] = set()


def warn_link(path: Path) -> None:
    """Warn, once a run for each path, that ``path`` (in or as the cache folder, or the key's)
    is a symbolic link the cache leaves alone (logged as ``mkdocs.plugins.generator.cache``:
    MkDocs shows it as a warning, so ``mkdocs build --strict`` fails on it; ``pmkb`` prints it
    on standard error)."""
    if str(path) not in _warned:
        _warned.add(str(path))
        log.warning(f"{path} {LINK_WARNING}")


def _real_dir(path: Path) -> bool:
    """Whether ``path`` is a folder and no link (a link is warned of); ``False`` when absent."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    if stat.S_ISLNK(mode):
        warn_link(path)
        return False
    return stat.S_ISDIR(mode)


def secret_path() -> Path:
    """Where the key of the entries' HMAC is kept: ``postmortem-kb/cache.key`` under
    ``$XDG_CACHE_HOME`` (XDG Base Directory Specification), else under ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "postmortem-kb" / "cache.key"


@functools.lru_cache(maxsize=4)
def _secret(path: Path) -> bytes | None:
    """The HMAC key stored at ``path`` (created atomically with 32 random bytes when absent),
    or ``None`` when it cannot be read or made (nothing is cached then)."""
    from .inventory import SYMLINK, NotRegularFile, read_regular

    for _ in range(2):
        if os.path.islink(path.parent):  # the key would be made wherever the link points
            warn_link(path.parent)
            return None
        try:
            data = read_regular(path, SECRET_BYTES + 1)
            return data if len(data) == SECRET_BYTES else None
        except FileNotFoundError:
            pass
        except NotRegularFile as exc:
            if exc.kind == SYMLINK:
                warn_link(path)
            return None
        except OSError:
            return None
        try:  # write a temporary file, then link it into place: never a half-written key
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not _real_dir(path.parent):
                return None
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # (O_EXCL | O_NOFOLLOW)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(secrets.token_bytes(SECRET_BYTES))
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process made it first: read theirs
            finally:
                os.unlink(tmp)
        except OSError:
            return None
    return None


def digest(*parts: str | bytes) -> str:
    """SHA-256 (hex) of ``parts``, each length-prefixed so that ``("ab", "c") != ("a", "bc")``."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def package_files_digest() -> str:
    """Digest of every file of this package, names and bytes (Python source, ``assets/``,
    ``schemas/`` ...; ``__pycache__`` left out): the code and data an entry was computed with."""
    root = Path(__file__).resolve().parent
    parts: list[str | bytes] = []
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        parts += [path.relative_to(root).as_posix(), path.read_bytes()]
    return digest(*parts)


def distribution_versions(names) -> list[str]:
    """``name==version`` of each installed distribution of ``names``, ``name absent`` for one
    that is not installed; in the order given.

    The version is read from the name of the distribution's ``NAME-VERSION.dist-info`` folder
    on ``sys.path`` (the wheel format's; the first one wins, as imports find it); for one
    installed the older way (an ``.egg-info`` folder) from its metadata
    (:func:`importlib.metadata.version`, which parses the file: ~3 ms a distribution, and 30 ms
    to import once). A distribution with neither folder is absent."""
    versions, eggs = _installed()
    out = []
    for name in names:
        key = _normalized(name)
        version = versions.get(key)
        if version is None and key in eggs:
            from importlib import metadata

            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                pass
        out.append(f"{name}=={version}" if version is not None else f"{name} absent")
    return out


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them (``PyYAML`` = ``pyyaml``, ``jsonschema_rs`` =
    ``jsonschema-rs``)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _installed() -> tuple[dict[str, str], set[str]]:
    """``({normalized name: version}, {normalized name})`` of the ``*.dist-info`` and the
    ``*.egg-info`` folders in the ``sys.path`` folders."""
    import sys

    versions: dict[str, str] = {}
    eggs: set[str] = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            if folder.endswith(".dist-info") and "-" in folder:
                name, _, version = folder[:-len(".dist-info")].rpartition("-")
                versions.setdefault(_normalized(name), version)
            elif folder.endswith(".egg-info"):
                eggs.add(_normalized(folder[:-len(".egg-info")].split("-", 1)[0]))
    return versions, eggs


class Cache:
    """Files under ``folder/namespace/``, by key.

    Args:
        folder: the cache folder, absolute (created on the first write, with its
            ``.gitignore`` and ``CACHEDIR.TAG``). No component of it may be a symbolic link
            (:meth:`generator.settings.Settings.cache_path` resolves the user's part, above
            the project): else nothing is cached, with a warning naming the link.

    ``hits`` and ``misses`` count :meth:`get` calls (for the CLI's notes and the tests).
    An unreadable or unwritable folder is never an error: reads miss, writes are skipped.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0
        self._usable: bool | None = None
        self._prepared = False

    def _path(self, namespace: str, key: str) -> Path:
        name = digest(key)
        return self.folder / namespace / name[:2] / name

    def _folder_usable(self) -> bool:
        """Whether no component of the folder is a symbolic link (checked once; a link is warned of)."""
        if self._usable is None:
            link = first_link(self.folder)
            if link is not None:
                warn_link(link)
            self._usable = link is None
        return self._usable

    def _dirs_real(self, path: Path) -> bool:
        """Whether the folders from the cache folder down to ``path``'s (namespace and prefix)
        are real folders: not links (a link is warned of), not absent."""
        return self._folder_usable() and all(_real_dir(self.folder / part) for part in
                                             _accumulate(path.parent.relative_to(self.folder).parts))

    def get(self, namespace: str, key: str) -> bytes | None:
        """The bytes stored under ``key`` in ``namespace``, or ``None`` (a miss).

        Read through :func:`generator.inventory.read_regular`, below folders checked not to be
        links: an entry that is a symbolic link, is below one, or is not a regular file (a pull
        request can commit anything, even into a git-ignored folder) is a miss, never followed."""
        from .inventory import SYMLINK, NotRegularFile, read_regular

        secret = self._secret()
        path = self._path(namespace, key)
        data = None
        if secret is not None and self._dirs_real(path):
            try:
                data = read_regular(path)
            except NotRegularFile as exc:
                if exc.kind == SYMLINK:
                    warn_link(path)
            except OSError:
                pass
        if data is not None:
            head, mac, body = data[:len(_MAGIC)], data[len(_MAGIC):len(_MAGIC) + _MAC_BYTES], \
                data[len(_MAGIC) + _MAC_BYTES:]
            if head != _MAGIC or not hmac.compare_digest(mac, self._mac(secret, namespace, key, body)):
                data = None  # not written by this user's runs: planted, foreign or damaged
            else:
                data = body
        if data is None:
            self.misses += 1
            return None
        self.hits += 1
        return data

    def _secret(self) -> bytes | None:
        return _secret(secret_path())

    @staticmethod
    def _mac(secret: bytes, namespace: str, key: str, data: bytes) -> bytes:
        return hmac.new(secret, digest(namespace, key).encode("ascii") + data, hashlib.sha256).digest()

    def put(self, namespace: str, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (atomically: a new temporary file, ``O_EXCL |
        O_NOFOLLOW``, renamed over the entry). Silently skipped when the folder cannot be
        written; skipped with a warning when a folder on the way or the entry is a symbolic
        link (which is left as it is)."""
        path = self._path(namespace, key)
        secret = self._secret()
        if secret is None or not self._folder_usable():
            return
        try:
            self._prepare()
            make_dirs(path.parent, self.folder)
        except SymlinkRefused as exc:
            warn_link(exc.path)
            return
        except OSError:
            return
        if os.path.islink(path):
            warn_link(path)
            return
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(_MAGIC)
                handle.write(self._mac(secret, namespace, key, data))
                handle.write(data)
            os.replace(tmp, path)  # (replaces the name: never writes where a link points)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def prune(self, namespace: str, keep: int) -> int:
        """Delete all but the ``keep`` most recently written entries of ``namespace`` (for
        entries that are large and many: one per state of the corpus). Returns how many were
        deleted; an entry that cannot be deleted is left. The namespace is walked without
        following a link: a linked namespace or prefix folder, or a linked entry, is left as
        it is (with a warning), and only regular files are deleted."""
        folder = self.folder / namespace
        if not self._folder_usable() or not _real_dir(folder):
            return 0
        entries = []
        try:
            with os.scandir(folder) as prefixes:
                for prefix in prefixes:
                    if prefix.is_symlink():
                        warn_link(Path(prefix.path))
                    elif len(prefix.name) == 2 and not prefix.name.startswith(".") and \
                            prefix.is_dir(follow_symlinks=False):
                        with os.scandir(prefix.path) as found:
                            for entry in found:
                                if entry.name.startswith("."):
                                    continue
                                if entry.is_symlink():
                                    warn_link(Path(entry.path))
                                elif entry.is_file(follow_symlinks=False):
                                    entries.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
        except OSError:
            return 0
        deleted = 0
        for _, path in sorted(entries, reverse=True)[keep:]:
            try:
                os.unlink(path)
                deleted += 1
            except OSError:
                pass
        return deleted

    def _prepare(self) -> None:
        """Make the folder, and its ``.gitignore`` and ``CACHEDIR.TAG`` where absent (never
        over an existing file, never through a link: ``O_CREAT | O_EXCL | O_NOFOLLOW``).

        Raises:
            SymlinkRefused: the folder is a symbolic link.
            OSError: the folder cannot be made."""
        if self._prepared:
            return
        make_dirs(self.folder, self.folder.parent)
        for name, text in ((".gitignore", "# created by postmortem-kb\n*\n"), ("CACHEDIR.TAG", _TAG)):
            try:
                fd = os.open(self.folder / name, _CREATE_FLAGS, 0o644)
            except FileExistsError:
                if os.path.islink(self.folder / name):
                    warn_link(self.folder / name)
                continue
            try:
                os.write(fd, text.encode("utf-8"))
            finally:
                os.close(fd)
        self._prepared = True


def _accumulate(parts: tuple[str, ...]) -> list[str]:
    """``("a", "b")`` -> ``["a", "a/b"]``."""
    return [os.path.join(*parts[:n]) for n in range(1, len(parts) + 1)]


def read_entry(cache: Cache, namespace: str, key: str, decode, max_size: int, miss: type[Exception] = ValueError):
    """``decode(data, key)`` of the entry ``namespace``/``key`` of ``cache``, or ``None`` for a
    miss: absent, not this user's, larger than ``max_size`` bytes, or one ``decode`` rejects
    (``miss``, e.g. :class:`generator.analysis_cache.CacheMiss`; :class:`ValueError` and its kin,
    :class:`KeyError`, :class:`TypeError`, :class:`AttributeError`, :class:`RecursionError`: an
    entry's shape is never trusted)."""
    data = cache.get(namespace, key)
    if data is None or len(data) > max_size:
        return None
    try:
        return decode(data, key)
    except (miss, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
