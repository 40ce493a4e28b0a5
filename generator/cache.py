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
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

DEFAULT_DIR = ".pmkb-cache"
"""Default ``cache_dir``, relative to the folder of ``mkdocs.yml``."""

_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# postmortem-kb cache; see https://bford.info/cachedir/\n"


_MAGIC = b"PMKB-HMAC1\n"
_MAC_BYTES = 32
SECRET_BYTES = 32


def secret_path() -> Path:
    """Where the key of the entries' HMAC is kept: ``postmortem-kb/cache.key`` under
    ``$XDG_CACHE_HOME`` (XDG Base Directory Specification), else under ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "postmortem-kb" / "cache.key"


@functools.lru_cache(maxsize=4)
def _secret(path: Path) -> bytes | None:
    """The HMAC key stored at ``path`` (created atomically with 32 random bytes when absent),
    or ``None`` when it cannot be read or made (nothing is cached then)."""
    from .inventory import read_regular

    for _ in range(2):
        try:
            data = read_regular(path, SECRET_BYTES + 1)
            return data if len(data) == SECRET_BYTES else None
        except FileNotFoundError:
            pass
        except OSError:
            return None
        try:  # write a temporary file, then link it into place: never a half-written key
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
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
        folder: the cache folder (created on the first write, with its ``.gitignore`` and
            ``CACHEDIR.TAG``).

    ``hits`` and ``misses`` count :meth:`get` calls (for the CLI's notes and the tests).
    An unreadable or unwritable folder is never an error: reads miss, writes are skipped.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0

    def _path(self, namespace: str, key: str) -> Path:
        name = digest(key)
        return self.folder / namespace / name[:2] / name

    def get(self, namespace: str, key: str) -> bytes | None:
        """The bytes stored under ``key`` in ``namespace``, or ``None`` (a miss).

        Read through :func:`generator.inventory.read_regular`: an entry that is a symbolic link
        or not a regular file (a pull request can commit anything, even into a git-ignored
        folder) is a miss, never followed."""
        from .inventory import read_regular

        secret = self._secret()
        try:
            data = read_regular(self._path(namespace, key)) if secret is not None else None
        except OSError:
            data = None
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
        """Store ``data`` under ``key`` (atomically; silently skipped when the folder cannot
        be written)."""
        path = self._path(namespace, key)
        secret = self._secret()
        if secret is None:
            return
        try:
            self._prepare()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(_MAGIC)
                handle.write(self._mac(secret, namespace, key, data))
                handle.write(data)
            os.replace(tmp, path)
        except OSError:
            return

    def prune(self, namespace: str, keep: int) -> int:
        """Delete all but the ``keep`` most recently written entries of ``namespace`` (for
        entries that are large and many: one per state of the corpus). Returns how many were
        deleted; an entry that cannot be deleted is left."""
        try:
            entries = [(path.stat().st_mtime_ns, path) for path in (self.folder / namespace).glob("??/*")
                       if not path.name.startswith(".")]
        except OSError:
            return 0
        deleted = 0
        for _, path in sorted(entries, reverse=True)[keep:]:
            try:
                path.unlink()
                deleted += 1
            except OSError:
                pass
        return deleted

    def _prepare(self) -> None:
        if (self.folder / "CACHEDIR.TAG").exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / ".gitignore").write_text("# created by postmortem-kb\n*\n", encoding="utf-8")
        (self.folder / "CACHEDIR.TAG").write_text(_TAG, encoding="utf-8")
