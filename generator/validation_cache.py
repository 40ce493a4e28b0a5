"""The validation's result on disk: a run over an unchanged corpus does not validate it again.

Every ``mkdocs build``, ``pmkb build`` and ``pmkb validate`` validates every post-mortem
(:func:`generator.validate.start_validation`); on 3,000 files that is 3.6 s of CPU. When
nothing the validation reads has changed since an earlier run, its
:class:`~generator.validate.ValidationResult` is read back from the cache folder
(:mod:`generator.cache`, namespace :data:`NAMESPACE`, entries authenticated there: one this
user's runs did not write is a miss) instead: no worker pool, no per-file check, no import of
detect-secrets.

The key (:func:`validation_key`) is the digest of everything the result depends on:

- the code: every file of this package (:func:`generator.cache.package_files_digest`), the
  versions of the distributions the checks import (:data:`DISTRIBUTIONS`),
  :func:`generator.scan.scanner_digest`, the Python version and its Unicode database;
- the run: every option (:class:`~generator.settings.Settings`, all fields), the day the
  checks take as today, whether secrets are scanned, the working directory (problems name
  files relative to it) and the paths as given;
- the files: the inventory (:func:`generator.validate.collect`: every entry's path, root,
  kind, and the problems found while walking), and the whole tree below every root an entry
  has (:func:`tree_digest`: every name below it with its kind, and the bytes of every file
  the checks may read: the post-mortems, pages, attachments, and any Markdown file a link
  can name, hidden ones included, since a link is checked against what is there); the context
  files of a run over some files of the docs folder lie in that folder's tree; and the bytes
  of the problems file (:meth:`~generator.settings.Settings.problems_path`, outside the docs
  folder, :func:`generator.problems.check` reads it).

No key, so no cache, when a file cannot be read for the key (the result would quote an error
the key cannot tell apart), when an entry's root is neither a folder named in the paths nor
the docs folder (a file named alone outside the docs folder: its links are checked against
its own folder, which is not walked), or when the cache folder lies inside a root (writing an
entry would change the tree).

The entry is JSON (nothing is ever unpickled: the model's dataclasses are rebuilt from an
allow-list, :data:`TYPES`), holding every field of the result but ``secrets``: a result whose
``secrets`` is not empty is never stored (the cache folder never holds a secret or where one
is; see :data:`generator.validate.CLEAN_SCANS`; personal data found counts: its values are
withheld like secrets), nor one whose post-mortems hold a value JSON cannot give back exactly (a
set, bytes, a mapping with keys that are not text: the loader, which reads every scalar as text,
makes none today). The key is
computed again after the validation and the result stored only if it is the same: a file
saved while the workers read it is not stored under the key of its former content.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from .analysis_cache import CacheMiss, from_json, to_json
from .cache import Cache, digest, distribution_versions, package_files_digest, read_entry
from .model import ActionItem, Postmortem, Problem, Source
from .validate import _BINARY_ATTACHMENTS, ValidationResult

NAMESPACE = "validation"
FORMAT = 1
"""Version of the entries' layout; entries of another version are misses."""

KEEP = 4
"""Entries kept in the cache folder (the most recently written; older ones are deleted when one
is stored). One is about the size of the corpus' text (each body once: its sections are stored
as places in it): 190 KB for the shipped 60 post-mortems, 9.8 MB for 3,000 synthetic ones;
``mkdocs serve`` writes one per save."""

MAX_ENTRY = 1 << 30
"""Entries larger than this (bytes) are not read."""

DISTRIBUTIONS = ("PyYAML", "python-frontmatter", "python-slugify", "text-unidecode", "Unidecode", "phonenumbers",
                 "jsonschema-rs", "jsonschema", "markdown-it-py", "mdurl", "Markdown", "nh3", "detect-secrets",
                 "snowballstemmer", "numpy", "scipy", "scikit-learn", "onnxruntime", "tokenizers", "matplotlib",
                 "pymdown-extensions", "mkdocs-material", "mkdocs")
"""The distributions whose installed versions are part of the key: every third-party module the
validation's modules import (``tests/test_validation_cache.py`` checks that against their
source), ``text-unidecode``/``Unidecode``, python-slugify's transliteration (a file name's
suggested fix), and the packages of the Markdown extensions ``mkdocs.yml`` may name, with which
the validator renders the bodies Python-Markdown and CommonMark read differently
(:mod:`generator.site_markdown`)."""

TYPES = {cls.__name__: cls for cls in (Postmortem, ActionItem, Source)}
"""The model dataclasses an entry may hold (nothing else is ever constructed)."""


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the code a result depends on: this package's files, :data:`DISTRIBUTIONS`'
    versions, :func:`generator.scan.scanner_digest`, the Python version and its Unicode
    database's version (``unicodedata``: NFC, hidden characters)."""
    import unicodedata

    from . import scan

    return digest(str(FORMAT), package_files_digest(), *distribution_versions(DISTRIBUTIONS), scan.scanner_digest(),
                  sys.version, unicodedata.unidata_version)


def _reads_content(relpath: str) -> bool:
    """Whether a check may read the bytes of the regular file at ``relpath`` below a root:
    Markdown (post-mortems, pages, link targets, hidden ones too) and every other file that
    is not hidden and not of a kind whose bytes the secret scan skips
    (:data:`generator.validate._BINARY_ATTACHMENTS`: images, archives, fonts ...). A link to any
    other file only asks whether it is there, which its name in the tree tells."""
    if relpath.endswith(".md"):
        return True
    name_hidden = any(part.startswith(".") for part in relpath.split("/"))
    return not name_hidden and os.path.splitext(relpath)[1].lower() not in _BINARY_ATTACHMENTS


def tree_digest(root: Path, seen: dict | None = None) -> str | None:
    """Digest of the tree below the folder ``root`` as the validation sees it, never through a
    link: every name (relative path, bytes as the file system gives them) with its kind
    (folder, file, link, other) and, for the files of :func:`_reads_content`, the SHA-256 of
    their bytes (not their times: a file touched but unchanged keeps its key).

    Args:
        root: the folder.
        seen: ``{path: (stat signature, SHA-256)}`` of an earlier call in this run, filled by
            this one: a file whose signature (size, mtime and ctime in ns, inode, device) has
            not changed since is not read again. For the check after the validation (is the
            key still the same?), where reading 3,000 files again cost 0.09 s: an edit changes
            the ctime (and the mtime), so only two writes within the file system's clock tick
            that keep the size could pass it unseen. The key before the validation (an empty
            ``seen``) always reads every file.

    Returns:
        The hex digest, or ``None`` when a folder or file cannot be read (then no key).
    """
    from .inventory import read_regular

    seen = {} if seen is None else seen
    root = Path(os.path.realpath(root))
    parts: list[str | bytes] = [os.fsencode(root)]
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError:
            return None
        for item in items:
            rel = prefix + item.name
            try:
                info = item.stat(follow_symlinks=False)
            except OSError:
                return None
            mode = info.st_mode
            name = os.fsencode(rel)
            if stat.S_ISLNK(mode):
                parts += [name, "link"]
            elif stat.S_ISDIR(mode):
                parts += [name, "folder"]
                stack.append((folder / item.name, rel + "/"))
            elif stat.S_ISREG(mode):
                if _reads_content(rel):
                    path = folder / item.name
                    signature = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)
                    known = seen.get(path)
                    if known is not None and known[0] == signature:
                        sha = known[1]
                    else:
                        try:
                            sha = hashlib.sha256(read_regular(path)).digest()
                        except OSError:
                            return None
                        seen[path] = (signature, sha)
                    parts += [name, "file", sha]
                else:
                    parts += [name, "file"]
            else:
                parts += [name, "other"]
    return digest(*parts)


def _problems_file_part(settings) -> str | bytes | None:
    """The problems file as the key holds it: its bytes (up to the size limit, as
    :func:`generator.problems.load` reads it), ``absent``, ``a link``/``not regular``; ``None``
    when it cannot be read otherwise (the problem would quote the error)."""
    from .inventory import SYMLINK, NotRegularFile, read_regular

    path = settings.problems_path()
    if path is None:
        return "no problems file"
    try:
        return b"bytes " + read_regular(path, settings.max_file_size + 1)
    except NotRegularFile as exc:
        return "a link" if exc.kind == SYMLINK else "not regular"
    except FileNotFoundError:
        return "absent"
    except OSError:
        return None


def settings_part(settings) -> str:
    """Every option as text (``repr`` of each field of :class:`~generator.settings.Settings`, by
    name: paths as ``PosixPath('...')``, dicts in their order): a new option is part of the key
    by default."""
    return repr(sorted((f.name, getattr(settings, f.name)) for f in dataclasses.fields(settings)))


def validation_key(paths: Sequence[Path], settings, today, scan_secrets: bool, inventory,
                   context: Sequence[tuple[Path, Path]] = (), seen: dict | None = None) -> str | None:
    """The key of the result of validating ``paths`` (see the module docstring), or ``None``
    when the result cannot be cached.

    Args:
        paths: the paths as given to :func:`generator.validate.start_validation`.
        settings: the options.
        today: the day the checks take as today (a :class:`datetime.date`, resolved: not ``None``).
        scan_secrets: whether the secret scan runs.
        inventory: :func:`generator.validate.collect` of ``paths``.
        context: the context files (``(file, root)``, all below the docs folder).
        seen: the files' hashes of an earlier call in this run (see :func:`tree_digest`), filled.
    """
    docs = Path(os.path.realpath(settings.docs_dir))
    allowed = {Path(os.path.realpath(p)) for p in paths if os.path.isdir(p)} | {docs}
    roots = sorted({Path(os.path.realpath(e.root)) for e in inventory.entries}
                   | {Path(os.path.realpath(root)) for _, root in context})
    if any(root not in allowed for root in roots):
        return None
    cache = settings.cache_path()
    if any(cache == root or root in cache.parents for root in roots):
        return None
    problems_file = _problems_file_part(settings)
    if problems_file is None:
        return None
    parts: list[str | bytes] = [code_digest(), settings_part(settings), today.isoformat(), str(bool(scan_secrets)),
                                os.fsencode(os.getcwd()), "paths", *(os.fsencode(p) for p in paths)]
    parts.append("entries")
    for entry in inventory.entries:
        parts += [os.fsencode(entry.path), os.fsencode(entry.root), entry.relpath.encode("utf-8", "surrogateescape"),
                  entry.kind]
    parts += ["inventory problems", repr([p.as_dict() for p in inventory.problems])]
    parts += ["context", *(os.fsencode(f) for f, _ in context)]
    for root in roots:
        tree = tree_digest(root, seen)
        if tree is None:
            return None
        parts += ["tree", tree]
    parts += ["problems file", problems_file]
    return digest(*parts)


_NATIVE = (str, int, bool, float, type(None))
"""Types JSON gives back as they were (exactly these: a subclass such as an enum is not)."""

_FIELDS = tuple(f.name for f in dataclasses.fields(Postmortem))
_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(ActionItem))


def _value_out(value):
    """A field's value as JSON: as it is when JSON gives it back exactly (text, numbers, a list
    of those), ``{"$date": ...}``/``{"$datetime": ...}`` (ISO 8601, the offset kept), action
    items as ``{"$items": [[field values in order], ...]}``; anything else in
    :func:`~generator.analysis_cache.to_json`'s tagged form (whose tags are others). Each
    non-plain form is a JSON object, which the plain form never is."""
    kind = type(value)
    if kind in _NATIVE or (kind is list and all(type(v) in _NATIVE for v in value)):
        return value
    if kind is dt.datetime:
        return {"$datetime": value.isoformat()}
    if kind is dt.date:
        return {"$date": value.isoformat()}
    if kind is list and all(type(v) is ActionItem for v in value):
        return {"$items": [[_value_out(getattr(item, name)) for name in _ITEM_FIELDS] for item in value]}
    return to_json(value, TYPES)


def _value_in(raw):
    """The inverse of :func:`_value_out`."""
    kind = type(raw)
    if kind in _NATIVE:
        return raw
    if kind is list:
        return raw if all(type(v) in _NATIVE for v in raw) else [_value_in(v) for v in raw]
    if kind is dict and len(raw) == 1:
        tag, inner = next(iter(raw.items()))
        if tag == "$datetime":
            return dt.datetime.fromisoformat(inner)
        if tag == "$date":
            return dt.date.fromisoformat(inner)
        if tag == "$items":
            items = []
            for values in inner:
                if type(values) is not list or len(values) != len(_ITEM_FIELDS):
                    raise CacheMiss("an action item")
                items.append(ActionItem(*[_value_in(v) for v in values]))
            return items
        if tag == "$dict" and not inner:
            return {}
    return from_json(raw, TYPES)


def _sections_out(body: str, sections) -> dict:
    """``sections`` (``{title: text}``) as ``{"$sections": [[title, start, length] or [title,
    text], ...]}``: a section's text is a part of the body (:func:`generator.scan.split_sections`),
    so its place in the body is stored, not the text again (half of an entry's size otherwise);
    the text itself when it is not found there."""
    if type(sections) is not dict:
        raise CacheMiss("sections")
    out, at = [], 0
    for title, text in sections.items():
        if type(title) is not str or type(text) is not str:
            raise CacheMiss("sections")
        start = body.find(text, at)
        if start < 0:
            start = body.find(text)
        if start < 0:
            out.append([title, text])
        else:
            out.append([title, start, len(text)])
            at = start + len(text)
    return {"$sections": out}


def _sections_in(body: str, raw) -> dict[str, str]:
    sections = {}
    for item in raw["$sections"]:
        if len(item) == 3 and type(item[1]) is int and type(item[2]) is int and 0 <= item[1] <= item[1] + item[2] \
                <= len(body):
            sections[str(item[0])] = body[item[1]:item[1] + item[2]]
        elif len(item) == 2 and type(item[1]) is str:
            sections[str(item[0])] = item[1]
        else:
            raise CacheMiss("sections")
    return sections


def _postmortem_out(pm: Postmortem) -> list:
    if type(pm) is not Postmortem or type(pm.body) is not str:
        raise CacheMiss("a post-mortem of another type")
    values = [getattr(pm, name) for name in _FIELDS]
    for i, value in enumerate(values):  # (most values are text: no call for them)
        if type(value) is not str:
            values[i] = _sections_out(pm.body, value) if _FIELDS[i] == "sections" else _value_out(value)
    return values


def _postmortem_in(raw) -> Postmortem:
    if type(raw) is not list or len(raw) != len(_FIELDS):
        raise CacheMiss("a post-mortem")
    values = dict(zip(_FIELDS, raw))
    body = values["body"]
    if type(body) is not str:
        raise CacheMiss("a post-mortem's body")
    for name, value in values.items():  # (most values are plain: no call for them)
        if type(value) not in _NATIVE:
            values[name] = _sections_in(body, value) if name == "sections" else _value_in(value)
    return Postmortem(**values)


def encode(result, key: str) -> bytes:
    """The entry of ``result`` (a :class:`~generator.validate.ValidationResult` without secrets)
    for ``key``: JSON, ASCII (a lone surrogate a YAML escape made comes back as it was). A
    problem is the list of its 8 fields, a post-mortem the list of its fields' values in the
    order of :data:`_FIELDS` (:func:`_value_out`; its sections as places in its body).

    Raises:
        CacheMiss: the result holds secrets, or a value the entry cannot give back exactly.
    """
    if result.secrets:
        raise CacheMiss("a result with secrets is never stored")
    problems = []
    for p in result.problems:
        if type(p) is not Problem:
            raise CacheMiss("a problem of another type")
        problems.append([p.path, p.line, p.column, p.field, p.level, p.code, p.message, p.fix])
    doc = {"format": FORMAT, "key": key, "files": result.files, "other_files": result.other_files,
           "valid_ids": sorted(result.valid_ids), "problems": problems, "fields": list(_FIELDS),
           "postmortems": [_postmortem_out(pm) for pm in result.postmortems]}
    return json.dumps(doc, separators=(",", ":")).encode("ascii")


_OPTIONAL_INT = (int, type(None))
_OPTIONAL_STR = (str, type(None))


def _problem(raw) -> Problem:
    if not isinstance(raw, list) or len(raw) != 8:
        raise CacheMiss("a problem")
    path, line, column, field, level, code, message, fix = raw
    if not (isinstance(path, str) and isinstance(line, _OPTIONAL_INT) and isinstance(column, _OPTIONAL_INT)
            and isinstance(field, _OPTIONAL_STR) and level in ("error", "warning")
            and all(isinstance(v, str) for v in (code, message, fix))) or isinstance(line, bool) \
            or isinstance(column, bool):
        raise CacheMiss("a problem")
    return Problem(path, line, column, field, level, code, message, fix)


def decode(data: bytes, key: str):
    """The :class:`~generator.validate.ValidationResult` of an entry made by :func:`encode`.

    Raises:
        CacheMiss: another format or key, or shapes that are not a result's.
        ValueError: not JSON.
    """
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("key") != key \
            or doc.get("fields") != list(_FIELDS):
        raise CacheMiss("another format or key")
    files, other = doc["files"], doc["other_files"]
    if type(files) is not int or type(other) is not int or not isinstance(doc["valid_ids"], list) \
            or not all(isinstance(i, str) for i in doc["valid_ids"]) or not isinstance(doc["problems"], list) \
            or not isinstance(doc["postmortems"], list):
        raise CacheMiss("counts")
    return ValidationResult(postmortems=[_postmortem_in(raw) for raw in doc["postmortems"]],
                            problems=[_problem(raw) for raw in doc["problems"]],
                            files=files, valid_ids=set(doc["valid_ids"]), other_files=other)


def load(cache: Cache, key: str):
    """The result stored under ``key``, or ``None`` (a miss: absent, not this user's, damaged)."""
    return read_entry(cache, NAMESPACE, key, decode, MAX_ENTRY, CacheMiss)


def save(cache: Cache, key: str, result) -> bool:
    """Store ``result`` under ``key`` and keep the :data:`KEEP` newest entries. Returns whether
    it was stored (not when it holds secrets or a value an entry cannot hold)."""
    try:
        data = encode(result, key)
    except (CacheMiss, RecursionError):
        return False
    cache.put(NAMESPACE, key, data)
    cache.prune(NAMESPACE, KEEP)
    return True
