"""The rendered site source on disk: a build with nothing changed neither analyses nor renders
again (issue #16, item 1).

One entry per site in the cache folder (:mod:`generator.cache`, namespace :data:`NAMESPACE`,
authenticated there: an entry this user's runs did not write is a miss), holding the
:class:`~generator.render.SiteSource` an earlier build rendered and the analysis' messages it
logged (logged again on a hit, at their level). Keyed by :func:`site_key`, the digest of everything :func:`generator.render.render_site`
and the analysis before it read:

- every published post-mortem and every draft shown, as the model holds it, in the order the
  site gets them (:func:`generator.analysis_cache.postmortem_digest`), which covers the files'
  content;
- the analysis' own key (:func:`generator.analysis_cache.links_key` of
  :func:`~generator.analysis_cache.corpus_key`: analysis options, the ``[semantic]`` extra
  and its model, the problems file's bytes, NumPy/SciPy/scikit-learn versions), for the
  published set and, with drafts, for the set with drafts;
- every option (:class:`~generator.settings.Settings`, all fields: a new option is part of
  the key by default) and every field of :class:`~generator.render.SiteOptions` (site name,
  report day, URLs, internal ids, search synonyms);
- the engine, and this package's files (:func:`package_digest`: Python source, shipped
  assets, schemas) with the matplotlib version the charts were drawn with.

The entry is JSON (no pickle) followed by the files' bytes; one that does not decode, or does
not hold the shapes of a site source, is a miss (rendered again and rewritten). A build from
the entry gives the same site, byte for byte, as one without it (``tests/test_site_cache.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Sequence

from .analysis_cache import CacheMiss, code_digest, corpus_key, from_json, links_key, postmortem_digest, to_json
from .cache import Cache, digest, distribution_versions, package_files_digest, read_entry

NAMESPACE = "site"
FORMAT = 2
"""Version of the entries' layout; entries of another version are misses."""

MAX_ENTRY = 1 << 30
"""Entries larger than this (bytes) are not read."""

KEEP = 8
"""Entries kept in the cache folder (the most recently written; older ones are deleted when
one is stored). One is about 1.8 MB for the shipped 60 post-mortems, and ``mkdocs serve``
writes one per save: without a limit a day of writing would leave hundreds."""

_HEAD = 8
"""Bytes of the big-endian length of the JSON part that starts an entry."""


@functools.lru_cache(maxsize=1)
def package_digest() -> str:
    """Digest of every file of this package (:func:`generator.cache.package_files_digest`:
    names and bytes of the Python source, ``assets/``, ``schemas/`` ...), of
    :func:`~generator.analysis_cache.code_digest` (NumPy, SciPy, scikit-learn versions) and of
    the installed matplotlib's version (read from its metadata, as
    :func:`generator.render._chart_code` does)."""
    return digest(code_digest(), package_files_digest(), *distribution_versions(["matplotlib"]))


def _options_part(options) -> str:
    """The :class:`~generator.render.SiteOptions` as text (``synonyms`` by its groups: the
    object has no value ``repr``)."""
    values = []
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if f.name == "synonyms":
            value = None if value is None else value.groups
        elif f.name == "internal":
            value = sorted(value)
        values.append((f.name, value))
    return repr(values)


def site_key(published: Sequence, drafts: Sequence, settings, options, engine: str) -> str:
    """The key of the site source of ``published`` (and ``drafts``) built with ``settings``,
    ``options`` (:class:`~generator.render.SiteOptions`) by ``engine`` (``"mkdocs"``,
    ``"zensical"``); see the module docstring for what it covers."""
    published, drafts = list(published), list(drafts)
    analysis = links_key(corpus_key(published, settings), settings)
    with_drafts = links_key(corpus_key(published + drafts, settings), settings) if drafts else "no drafts"
    settings_part = repr(sorted((f.name, getattr(settings, f.name)) for f in dataclasses.fields(settings)))
    return digest(str(FORMAT), package_digest(), engine, analysis, with_drafts, settings_part,
                  _options_part(options), "published", *(postmortem_digest(pm) for pm in published),
                  "drafts", *(postmortem_digest(pm) for pm in drafts))


def encode(source, messages: Sequence[tuple[str, str]], key: str) -> bytes:
    """The entry of ``source`` (a :class:`~generator.render.SiteSource`) and ``messages``
    (``(level, text)`` pairs: ``"info"``, ``"warning"``).

    Raises:
        CacheMiss: the source holds a value the entry cannot store (then nothing is cached).
    """
    blobs: list[bytes] = []
    files = []
    offset = 0
    for path, content in source.files.items():
        if not isinstance(content, bytes):
            raise CacheMiss(f"file {path} is not bytes")
        files.append([path, offset, len(content)])
        blobs.append(content)
        offset += len(content)
    doc = {"format": FORMAT, "key": key, "messages": [[str(level), str(text)] for level, text in messages],
           "pages": to_json(dict(source.pages)), "nav": to_json(source.nav), "origin": to_json(dict(source.origin)),
           "nav_appended": to_json(source.nav_appended), "files": files,
           "postmortems": [{f.name: to_json(getattr(page, f.name)) for f in dataclasses.fields(page)}
                           for page in source.postmortems.values()]}
    head = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return len(head).to_bytes(_HEAD, "big") + head + b"".join(blobs)


def decode(data: bytes, key: str):
    """``(SiteSource, messages)`` from an entry made by :func:`encode` for ``key``.

    Raises:
        CacheMiss: another format or key, or shapes that are not a site source's.
    """
    from .pages import PostmortemPage
    from .render import SiteSource

    size = int.from_bytes(data[:_HEAD], "big")
    if len(data) < _HEAD + size:
        raise CacheMiss("truncated")
    doc = json.loads(data[_HEAD:_HEAD + size].decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("key") != key:
        raise CacheMiss("another format or key")
    blob = data[_HEAD + size:]
    source = SiteSource(pages=from_json(doc["pages"]), nav=from_json(doc["nav"]), origin=from_json(doc["origin"]),
                        nav_appended=from_json(doc["nav_appended"]))
    if not _texts(source.pages) or not _texts(source.origin) or not isinstance(source.nav, list) \
            or not isinstance(source.nav_appended, list):
        raise CacheMiss("pages")
    end = 0
    for path, start, length in doc["files"]:
        if not isinstance(path, str) or start != end or length < 0 or start + length > len(blob):
            raise CacheMiss("files")
        source.files[path] = blob[start:start + length]
        end = start + length
    if end != len(blob):
        raise CacheMiss("files")
    names = {f.name for f in dataclasses.fields(PostmortemPage)}
    for raw in doc["postmortems"]:
        if not isinstance(raw, dict) or set(raw) != names:
            raise CacheMiss("a post-mortem page")
        page = PostmortemPage(**{name: from_json(value) for name, value in raw.items()})
        if not isinstance(page.path, str) or not isinstance(page.markdown, str) or not isinstance(page.meta, dict):
            raise CacheMiss("a post-mortem page")
        source.postmortems[page.path] = page
    messages = doc["messages"]
    if not isinstance(messages, list) or not all(
            isinstance(m, list) and len(m) == 2 and all(isinstance(part, str) for part in m) for m in messages):
        raise CacheMiss("messages")
    return source, [(level, text) for level, text in messages]


def _texts(mapping) -> bool:
    return isinstance(mapping, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())


def load(cache: Cache, key: str):
    """``(SiteSource, messages)`` stored under ``key``, or ``None`` (a miss)."""
    return read_entry(cache, NAMESPACE, key, decode, MAX_ENTRY, CacheMiss)


def save(cache: Cache, key: str, source, messages: Sequence[tuple[str, str]]) -> bool:
    """Store ``source`` and ``messages`` under ``key``. Returns whether it was stored."""
    try:
        data = encode(source, messages, key)
    except CacheMiss:
        return False
    cache.put(NAMESPACE, key, data)
    cache.prune(NAMESPACE, KEEP)
    return True


def cached_site(cache: Cache | None, key: str, render: Callable[[], tuple]) -> tuple:
    """The site source of ``key`` from ``cache``, else ``render()`` (stored for the next build).

    Args:
        cache: the cache folder, or ``None`` (always renders).
        key: :func:`site_key`.
        render: returns ``(SiteSource, messages)``: analyses and renders (what a hit skips).

    Returns:
        ``(SiteSource, messages, hit)``: ``messages`` the analysis' ``(level, text)`` messages
        to log (the same on a hit as when rendered: a warning that fails ``--strict`` fails it
        again), ``hit`` whether it came from the cache. The source is the
        caller's own (a fresh object on every call: mutating it changes no later build).
    """
    if cache is not None:
        found = load(cache, key)
        if found is not None:
            return found[0], found[1], True
    source, messages = render()
    if cache is not None:
        save(cache, key, source, messages)
    return source, list(messages), False
