"""An on-disk cache folder for derived data (embeddings today), outside the docs folder.

One folder, option ``cache_dir`` (default ``.pmkb-cache/`` beside ``mkdocs.yml``), never inside
``postmortems/``: the build never writes into the knowledge base. The folder ignores itself
(a ``.gitignore`` holding ``*``, as pytest's and mypy's caches do) and carries a
``CACHEDIR.TAG`` (the Cache Directory Tagging Specification, bford.info/cachedir) so backup
tools skip it. Entries are files named by the SHA-256 of their key, written atomically
(a temporary file, then :func:`os.replace`), so two builds at once never read half a file.

Whatever the cache holds can be deleted at any time: a miss recomputes it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

DEFAULT_DIR = ".pmkb-cache"
"""Default ``cache_dir``, relative to the folder of ``mkdocs.yml``."""

_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# postmortem-kb cache; see https://bford.info/cachedir/\n"


def digest(*parts: str | bytes) -> str:
    """SHA-256 (hex) of ``parts``, each length-prefixed so that ``("ab", "c") != ("a", "bc")``."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


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

        try:
            data = read_regular(self._path(namespace, key))
        except OSError:
            self.misses += 1
            return None
        self.hits += 1
        return data

    def put(self, namespace: str, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (atomically; silently skipped when the folder cannot
        be written)."""
        path = self._path(namespace, key)
        try:
            self._prepare()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError:
            return

    def _prepare(self) -> None:
        if (self.folder / "CACHEDIR.TAG").exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / ".gitignore").write_text("# created by postmortem-kb\n*\n", encoding="utf-8")
        (self.folder / "CACHEDIR.TAG").write_text(_TAG, encoding="utf-8")
