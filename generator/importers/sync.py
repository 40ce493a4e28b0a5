"""Planning and writing an import: create, update, skip or conflict, and nothing else.

Each record is identified across runs by :meth:`Record.key` (``system:id``, else its
canonical URL, else a digest of its content). The *ledger*, ``.pmkb-import.json`` in the docs
folder (hidden: neither MkDocs nor the validator reads it; commit it with the post-mortems),
remembers for each key the file and id it got, a digest of the record as it was imported
(*upstream*) and a digest of the file as written (*written*). On the next run:

=========================================  =========================================
the source record                          what happens
=========================================  =========================================
is new                                     **create**: a new id from ``--prefix`` (never one
                                           used before, in the folder or the ledger) and a
                                           new ``YYYY-MM-DD-slug.md``
is unchanged                               **skip** (also when the file was edited here:
                                           the edits are kept)
changed, file not edited here              **update** in place: same id, same file name
changed, file edited (or deleted) here     **conflict**: never overwritten without ``--force``
=========================================  =========================================

A file that carries the record's ``source`` (system and id, or URL) but is not in the ledger
(imported by hand, or the ledger was lost) is matched too: it is skipped when it is what this
run would write, else a conflict.

Every file is validated as ``pmkb validate --strict`` would (the file's own rules and its
links, against the docs folder) before anything is written; a file with any problem is not
written (**invalid**, with the problems). Files are written only inside the docs folder, never
through a symbolic link (``O_NOFOLLOW``, ``O_EXCL``, replace via a temporary file in the same
folder), and the docs folder itself must not be reached through a link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Postmortem, Problem
from ..settings import Settings
from .readers import ReadOptions, ReadProblem, read_file
from .record import Record, canonical_url
from .render import Finished, RenderOptions, finish, render
from .sources import find_sources

LEDGER = ".pmkb-import.json"
LEDGER_FORMAT = 1
KINDS = ("md-frontmatter", "md-headings", "csv", "json", "jsonl")


class ImportError_(Exception):
    """The import cannot run at all (the docs folder is a link, the ledger is unreadable ...)."""


@dataclass
class ImportOptions:
    """Everything a run was asked: ``kind`` (``--from``), ``prefix`` for new ids, the reader's
    options, the render options, ``force`` (overwrite conflicts) and ``today`` (reference for
    "in the future"; default: today at UTC+14, as the validator)."""

    kind: str
    prefix: str = "PM"
    read: ReadOptions = field(default_factory=ReadOptions)
    render: RenderOptions = field(default_factory=RenderOptions)
    force: bool = False
    exclude: list[str] = field(default_factory=list)
    today: dt.date | None = None
    now: dt.datetime | None = None


@dataclass
class Action:
    """What the run does with one record: ``kind`` is create, update, skip, conflict, invalid
    or excluded (the source marks it as not an incident). ``path`` is the target file,
    ``pm_id`` its id, ``reason`` one line for people, ``problems`` the validation problems that
    keep it from being written, ``text`` the file's new text, ``postmortem`` the model of that
    text (for the same-incident check)."""

    kind: str
    origin: str
    key: str | None = None
    record: Record | None = None
    finished: Finished | None = None
    pm_id: str | None = None
    path: Path | None = None
    reason: str = ""
    problems: list[Problem] = field(default_factory=list)
    text: str | None = None
    postmortem: Postmortem | None = None
    upstream: str | None = None
    secrets: frozenset = frozenset()  # secret values the validation found in ``text`` (masked in output)
    adopt: bool = False  # a matching file the ledger does not know yet: recorded on --write


@dataclass
class Plan:
    """A whole run: its actions in source order, the files and records that could not be read,
    what was passed over, counts of unmapped source fields and of the decisions taken
    (defaults used), and the folders it looked in."""

    docs: Path
    options: ImportOptions
    actions: list[Action] = field(default_factory=list)
    read_problems: list[ReadProblem] = field(default_factory=list)
    passed_over: list[tuple[str, str]] = field(default_factory=list)
    unmapped: Counter = field(default_factory=Counter)
    decisions: Counter = field(default_factory=Counter)
    presets: Counter = field(default_factory=Counter)
    looked_in: list[str] = field(default_factory=list)
    files_read: int = 0
    naive_times: int = 0
    ledger: dict = field(default_factory=dict)
    existing: list[Postmortem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """``{"create": n, "update": n, "skip": n, "conflict": n, "invalid": n, "excluded": n}``."""
        out = {k: 0 for k in ("create", "update", "skip", "conflict", "invalid", "excluded")}
        for a in self.actions:
            out[a.kind] += 1
        return out

    @property
    def records(self) -> int:
        return len(self.actions)


# --- the ledger -------------------------------------------------------------------------------

def _digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def check_docs_folder(docs: Path, planned: bool = False) -> Path:
    """The docs folder, absolute and resolved once.

    The folder the configuration (or the user) names is the knowledge base even when it is
    reached through a symbolic link, as :func:`generator.inventory.walk` reads it: a link at or
    above it is the user's own setup (a docs folder kept in another checkout, macOS's ``/tmp``);
    nothing below it is followed, and every file is written inside the resolved folder.

    Args:
        docs: the docs folder.
        planned: ``docs`` is the folder a plan resolved (:attr:`Plan.docs`): it must still
            resolve to itself, so a part of its path replaced by a link since the plan is refused.

    Raises:
        ImportError_: it is missing or not a folder, or (``planned``) no longer the folder planned.
    """
    absolute = Path(os.path.abspath(docs))
    if not absolute.is_dir():
        raise ImportError_(f"the docs folder {docs} does not exist; create it (or run pmkb in the project folder)")
    real = Path(os.path.realpath(absolute))
    if planned and real != absolute:
        raise ImportError_(f"the docs folder {docs} became a symbolic link (to {real}) after it was read; "
                           "nothing was written: run pmkb import again")
    return real


def read_ledger(docs: Path) -> dict:
    """The ledger of ``docs`` (``{"format", "records": {key: entry}, "ids": [...]}``); an empty
    one when there is none.

    Raises:
        ImportError_: the ledger is a link, not JSON, or not a ledger (the message says to fix
        or remove it).
    """
    path = docs / LEDGER
    empty = {"format": LEDGER_FORMAT, "records": {}, "ids": []}
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return empty
    if not stat.S_ISREG(info.st_mode):
        raise ImportError_(f"{path} is not a regular file (a link?); remove it")
    from .sources import read_text

    source = read_text(path, str(path))
    if source.error:
        raise ImportError_(f"{path}: {source.error}")
    try:
        data = json.loads(source.text)
    except ValueError as exc:
        raise ImportError_(f"{path} is not valid JSON ({exc}); restore it from git, or remove it (the next run then "
                           "matches files by their 'source' field)") from exc
    if not isinstance(data, dict) or not isinstance(data.get("records"), dict):
        raise ImportError_(f"{path} is not a pmkb import ledger; restore it from git, or remove it")
    data.setdefault("ids", [])
    return data


# --- planning ---------------------------------------------------------------------------------

def _existing_sources(docs: Path, settings: Settings, postmortems: list[Postmortem]) -> dict[str, Path]:
    """Keys of the post-mortems in ``docs`` that carry a ``source``: ``system:id`` and
    ``url:<canonical>`` -> their file."""
    out: dict[str, Path] = {}
    for pm in postmortems:
        src = getattr(pm, "source", None)
        if src is None:
            continue
        path = docs / pm.path
        if src.id:
            out.setdefault(f"{src.system}:{src.id}", path)
        if src.url:
            out.setdefault("url:" + canonical_url(src.url), path)
    return out


def plan_import(paths: list[Path], settings: Settings, options: ImportOptions) -> Plan:
    """Read the sources and decide what to do with every record; nothing is written.

    Args:
        paths: source files and folders.
        settings: the knowledge base's options (``docs_dir`` is where files go).
        options: the run's options.

    Returns:
        The :class:`Plan`; :func:`write_plan` carries it out.

    Raises:
        FileNotFoundError: a source path does not exist.
        ImportError_: the docs folder or the ledger cannot be used.
    """
    from .. import scan
    from ..validate import validate

    docs = check_docs_folder(settings.docs_dir)
    settings = _with_docs(settings, docs)
    plan = Plan(docs=docs, options=options)
    plan.ledger = read_ledger(docs)
    found = find_sources(paths, options.kind)
    found.files, templates = _drop_templates(found.files, paths, settings, options)
    plan.passed_over = found.passed_over + templates
    plan.looked_in = found.looked_in
    plan.files_read = len(found.files)
    from .mapping import Context

    ctx = options.read.ctx or Context()
    options.read.ctx = ctx
    records: list[Record] = []
    for source in found.files:
        got, problems = read_file(source, options.kind, options.read)
        records += got
        plan.read_problems += problems
    plan.naive_times = ctx.naive_times
    existing = validate([docs], settings, scan_secrets=False).postmortems if any(docs.rglob("*.md")) else []
    plan.existing = existing
    by_source = _existing_sources(docs, settings, existing)
    taken = _taken_ids(docs, settings, existing) | set(plan.ledger.get("ids", []))
    taken_paths = {p.name for p in docs.glob("*.md")}
    now = (options.now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    seen_keys: set[str] = set()
    with scan.SecretScanner() as secrets:
        for record in records:
            for name in record.unmapped:
                plan.unmapped[name] += 1
            for note in record.notes:
                if note.startswith("preset:"):
                    plan.presets[note[7:]] += 1
            action = _plan_one(record, plan, settings, options, by_source, taken, taken_paths, seen_keys, now,
                               secrets)
            plan.actions.append(action)
            if action.finished is not None:
                for decision in action.finished.decisions:
                    plan.decisions[decision] += 1
    return plan


def _taken_ids(docs: Path, settings: Settings, existing: list[Postmortem]) -> set[str]:
    """Every id written in the docs folder: those of the loaded post-mortems, and the ``id`` of
    any other post-mortem file (one whose front matter did not load), read only for those."""
    from ..loader import read_source
    from ..validate import collect_files

    ids = {pm.id for pm in existing}
    loaded = {(docs / pm.path).resolve() for pm in existing}
    for file, _ in collect_files([docs], settings):
        if file.resolve() in loaded:
            continue
        data = read_source(file).data
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            ids.add(data["id"].strip())
    return ids


def _drop_templates(files, paths: list[Path], settings: Settings, options: ImportOptions):
    """Source files named like a template (the ``templates`` option) or matching ``--exclude``
    are not read; returns ``(files to read, [(name, reason)])``."""
    import fnmatch

    from ..foreign import is_template_path

    keep, dropped = [], []
    roots = [Path(os.path.abspath(p)) for p in paths if p.is_dir()]
    for source in files:
        absolute = Path(os.path.abspath(source.path))
        rel = next((absolute.relative_to(r).as_posix() for r in roots if r in absolute.parents), absolute.name)
        if is_template_path(rel, settings.templates):
            dropped.append((source.name, "a template (the 'templates' option)"))
        elif any(fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(absolute.name, pattern)
                 for pattern in options.exclude):
            dropped.append((source.name, "matches --exclude"))
        else:
            keep.append(source)
    return keep, dropped


def _with_docs(settings: Settings, docs: Path) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, docs_dir=docs)


def _plan_one(record: Record, plan: Plan, settings: Settings, options: ImportOptions, by_source: dict[str, Path],
              taken: set[str], taken_paths: set[str], seen_keys: set[str], now: dt.datetime, secrets) -> Action:
    from ..validate import next_free_id

    if record.skip_reason:
        return Action("excluded", record.origin, record=record, reason=record.skip_reason)
    key = record.key()
    if key in seen_keys:
        return Action("skip", record.origin, key=key, record=record,
                      reason="the same record appears earlier in this run")
    seen_keys.add(key)
    done = finish(record, options.render)
    upstream = record.digest()
    impossible = [message for message, real in record.time_problems if real]
    if impossible:  # never a missing date, never a date silently dropped
        return Action("invalid", record.origin, key=key, record=record, finished=done,
                      reason="; ".join(impossible) + ": correct it in the source")
    if done.day is None:
        unread = "".join(f"{message}; " for message, _ in record.time_problems)
        return Action("invalid", record.origin, key=key, record=record, finished=done,
                      reason=f"no start date: {unread}give started_at or date in the source, a date in the file name "
                             "(YYYY-MM-DD-...), or a 'Date: YYYY-MM-DD' line")
    if not done.title:
        return Action("invalid", record.origin, key=key, record=record, finished=done,
                      reason="no title: the source has no title, name or H1 heading")
    docs = plan.docs
    entry = plan.ledger["records"].get(key)
    target: Path | None = None
    pm_id: str | None = None
    if entry is not None:
        target, pm_id = docs / entry["path"], entry["id"]
    elif key in by_source or (record.url and "url:" + canonical_url(record.url) in by_source):
        target = by_source.get(key) or by_source["url:" + canonical_url(record.url)]
        pm_id = _id_in_file(target)
    if target is not None and pm_id is not None:
        return _plan_existing(record, done, key, upstream, entry, target, pm_id, plan, settings, options, now, secrets)
    pm_id = next_free_id(taken, f"{options.prefix}-{done.day.year}-000")
    taken.add(pm_id)
    name = _free_name(done, taken_paths)
    taken_paths.add(name)
    text = render(done, pm_id, now)
    action = Action("create", record.origin, key, record, done, pm_id, docs / name, "new", text=text,
                    upstream=upstream)
    return _validated(action, settings, options, secrets)


def _free_name(done: Finished, taken_paths: set[str]) -> str:
    from slugify import slugify

    slug = slugify(done.title, max_length=60, word_boundary=True) or "incident"
    base = f"{done.day.isoformat()}-{slug}"
    name, n = f"{base}.md", 2
    while name in taken_paths:
        name, n = f"{base}-{n}.md", n + 1
    return name


def _id_in_file(path: Path) -> str | None:
    from ..loader import read_source

    data = read_source(path).data
    return data.get("id").strip() if isinstance(data, dict) and isinstance(data.get("id"), str) else None


def _imported_at(text: str) -> dt.datetime | None:
    import re

    from .record import parse_time

    m = re.search(r"^  imported_at: (\S+)$", text, re.M)
    return parse_time(m.group(1))[0] if m else None


def _plan_existing(record: Record, done: Finished, key: str, upstream: str, entry: dict | None, target: Path,
                   pm_id: str, plan: Plan, settings: Settings, options: ImportOptions, now: dt.datetime,
                   secrets) -> Action:
    from .sources import read_text

    rel = target.relative_to(plan.docs).as_posix()
    try:
        info = os.lstat(target)
        exists = True
    except FileNotFoundError:
        exists = False
    if exists and not stat.S_ISREG(info.st_mode):
        return Action("conflict", record.origin, key, record, done, pm_id, target,
                      f"{rel} is not a regular file (a link?); it is never written through", upstream=upstream)
    current = read_text(target, rel).text if exists else None
    fresh_then = None
    if current is not None:
        stamp = _imported_at(current) or now
        fresh_then = render(done, pm_id, stamp)
    upstream_changed = entry is None or entry.get("upstream") != upstream
    if entry is None:
        edited = current is None or current != fresh_then
    else:
        edited = current is None or _digest_text(current) != entry.get("written")
    if current is not None and current == fresh_then:
        return Action("skip", record.origin, key, record, done, pm_id, target, "unchanged", text=current,
                      upstream=upstream, adopt=entry is None)
    if not upstream_changed and entry is not None:
        why = "unchanged upstream" + ("; edited here, edits kept" if edited and current is not None else "")
        if current is None:
            why = "unchanged upstream; deleted here, not re-created (--force re-creates it)"
        if not (options.force and current is None):
            return Action("skip", record.origin, key, record, done, pm_id, target, why, upstream=upstream)
    if edited and not options.force:
        if current is None:
            why = f"{rel} was deleted here since the last import, and the source changed (--force re-creates it)"
        elif entry is None:
            why = (f"{rel} carries this record's source but differs from what this run would write, and the import "
                   "ledger has no record of it, so local edits cannot be told from upstream changes (--force "
                   "overwrites it)")
        else:
            why = f"{rel} was edited here since the last import, and the source changed (--force overwrites it)"
        return Action("conflict", record.origin, key, record, done, pm_id, target, why, upstream=upstream)
    text = render(done, pm_id, now)
    kind = "update" if current is not None else "create"
    action = Action(kind, record.origin, key, record, done, pm_id, target,
                    "changed upstream" + (" (--force)" if edited else ""), text=text, upstream=upstream)
    return _validated(action, settings, options, secrets)


def _validated(action: Action, settings: Settings, options: ImportOptions, secrets) -> Action:
    """Check the file this action would write with every per-file rule and its links; any
    problem (error or warning, as ``--strict``) makes the action ``invalid``."""
    from ..loader import source_from_text
    from ..validate import _check_links, check_file, display_path

    path = action.path
    rel = path.relative_to(settings.docs_dir).as_posix()
    src = source_from_text(action.text, path, display_path(path))
    pm, _ = check_file(src, settings, rel, secrets, options.today)
    if src.data is not None:
        _check_links(src, settings.docs_dir, settings)
    found = getattr(src, "redactor", None)
    action.secrets = frozenset(getattr(found, "secrets", ()) or ())
    if src.problems or pm is None:
        action.problems = sorted(src.problems, key=Problem.sort_key)
        action.reason = "would not pass pmkb validate --strict"
        action.kind = "invalid"
        return action
    action.postmortem = pm
    return action


# --- writing ----------------------------------------------------------------------------------

def write_plan(plan: Plan) -> list[Action]:
    """Write the files of every create and update action, then the ledger.

    Returns:
        The actions written, in order.

    Raises:
        ImportError_: a file could not be written (the files written before it stay, and the
        ledger records them).
    """
    docs = check_docs_folder(plan.docs, planned=True)
    written: list[Action] = []
    ledger = plan.ledger
    error = None
    for action in plan.actions:
        if action.kind == "skip" and action.adopt:
            ledger["records"][action.key] = _entry(action, docs)
            continue
        if action.kind not in ("create", "update"):
            continue
        try:
            _write_file(docs, action.path, action.text, replace=action.kind == "update")
        except OSError as exc:
            error = ImportError_(f"cannot write {action.path}: {exc.strerror or exc}")
            break
        written.append(action)
        ledger["records"][action.key] = _entry(action, docs)
        if action.pm_id not in ledger["ids"]:
            ledger["ids"].append(action.pm_id)
    if written or any(a.adopt for a in plan.actions):
        ledger["ids"].sort()
        ledger["records"] = dict(sorted(ledger["records"].items()))
        text = json.dumps(ledger, indent=1, ensure_ascii=False, sort_keys=False) + "\n"
        _write_file(docs, docs / LEDGER, text, replace=(docs / LEDGER).exists())
    if error is not None:
        raise error
    return written


def _entry(action: Action, docs: Path) -> dict:
    return {"id": action.pm_id, "path": action.path.relative_to(docs).as_posix(), "upstream": action.upstream,
            "written": _digest_text(action.text), "system": action.record.system,
            "source_id": action.record.source_id, "url": action.record.url}


def _write_file(docs: Path, path: Path, text: str, replace: bool) -> None:
    """Write ``text`` to ``path`` directly inside ``docs``, never through a link: a new file
    with ``O_CREAT | O_EXCL | O_NOFOLLOW``; a replaced one via a temporary file in the same
    folder and ``os.replace`` (which replaces the name, never what a link points to), after
    checking the old one is a regular file."""
    if path.parent != docs or path.name in ("", ".", ".."):
        raise OSError(f"{path} is not directly inside {docs}")
    data = text.encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    if not replace:
        fd = os.open(path, flags, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        return
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"{path} is not a regular file")
    temp = path.with_name(f".{path.name}.pmkb-{os.getpid()}.tmp")
    fd = os.open(temp, flags, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    try:
        os.replace(temp, path)
    except OSError:
        os.unlink(temp)
        raise
