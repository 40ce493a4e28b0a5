"""``pmkb review``: what a pull request changes in the knowledge base, as a review comment.

The review compares the post-mortems folder at a git revision (the *base*, normally the
merge base of the pull request's target branch) with the folder as it is on disk (the
*head*: ``HEAD`` plus any uncommitted or untracked files, which in CI is exactly ``HEAD``).
For the files that were added, changed, renamed or removed it reports:

* the validation problems of the added and changed files (:func:`generator.validate.validate`,
  checked against the rest of the folder, so duplicate and unknown ids are found);
* for each added or changed post-mortem: its nearest post-mortems with score and shared
  terms, a *possible duplicate* warning at or above :data:`DUPLICATE_THRESHOLD`, and the
  recurrence cluster it belongs to before and after the change, with the state of that
  cluster's earlier action items;
* how the change alters the related lists of the post-mortems it does not touch.

Both sides are analysed with :func:`generator.analysis.analyse`, the same call the site uses,
so the review shows exactly the links and clusters the site will show after the merge. The
folder is validated once; its unchanged files are the base side too, and only the base
versions of the touched files are read from git (``git archive``: no checkout, no network),
which works in a shallow clone as long as the base commit itself was fetched.

Text of a file that has a ``secret`` or ``personal-data`` finding (its title and the terms it
shares with others) is withheld from the review; validation messages are masked already.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .model import (RANKED_BY_FUSED, RANKED_BY_SCORE, ActionItem, Cluster, Postmortem, Problem, RelatedLink,
                    ranked_by)
from .settings import Settings
from .validate import ValidationResult, is_ignored

DUPLICATE_THRESHOLD = 0.65
"""Cosine similarity at or above which a review flags a *possible duplicate*.

Measured with ``benchmarks/duplicate_scores.py`` on the shipped corpus (60 post-mortems): the
highest recurrence pair (two companies' write-ups of the 2012 leap second) scores 0.621, the
95th percentile of recurrence pairs 0.446 and the highest unrelated pair 0.283; a hand-written
second write-up of the same incident scores 0.842, and derived second write-ups 0.735 at least
(front matter rewritten) or 0.982 (body shortened). 0.65 lies between the two groups (it did
too with the first version of the similarity engine: 0.596 against 0.699).
Override per run with ``pmkb review --duplicate-threshold``.
"""

MAX_RELATED_CHANGES = 50
"""At most this many rows in the "related lists of other post-mortems" table."""

MAX_LISTED = 10
"""At most this many cluster members and earlier action items are listed (all are in the JSON)."""

_PRIVATE_CODES = ("secret", "personal-data")
_STATUS_WORDS = {"A": "added", "M": "changed", "D": "removed", "R": "renamed", "C": "added", "T": "changed"}


class ReviewError(Exception):
    """The review cannot run (not a git repository, unknown revision); the message says why."""


# --- git plumbing ----------------------------------------------------------------------------


def git(args: list[str], cwd: Path, binary: bool = False) -> str | bytes:
    """Run ``git ARGS`` in ``cwd`` and return its standard output.

    Raises:
        ReviewError: git is missing or the command failed (with git's own message).
    """
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False,
                              text=not binary, encoding=None if binary else "utf-8")
    except OSError as exc:
        raise ReviewError(f"cannot run git: {exc.strerror}") from exc
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace") if binary else done.stderr
        raise ReviewError(f"git {' '.join(args)} failed: {err.strip() or f'exit {done.returncode}'}")
    return done.stdout


def repo_root(start: Path) -> Path:
    """The top folder of the git work tree that contains ``start``.

    Raises:
        ReviewError: ``start`` is not inside a git work tree.
    """
    try:
        out = git(["rev-parse", "--show-toplevel"], start)
    except ReviewError as exc:
        raise ReviewError(f"{start} is not inside a git repository; pmkb review compares git revisions") from exc
    return Path(out.strip()).resolve()


def resolve_base(ref: str, root: Path) -> tuple[str, str | None]:
    """The commit to compare with: the merge base of ``ref`` and ``HEAD``, else ``ref`` itself.

    A shallow clone may not hold the commits a merge base needs; the review then compares
    with ``ref`` directly, which is the same thing when the branch is up to date with it, and
    says so in the returned note.

    Returns:
        ``(commit sha, note or None)``.

    Raises:
        ReviewError: ``ref`` does not name a commit here (for example ``origin/main`` was not
        fetched).
    """
    try:
        target = git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root).strip()
    except ReviewError:
        raise ReviewError(f"{ref!r} is not a commit in this repository; fetch it first "
                          f"(in GitHub Actions: actions/checkout with fetch-depth: 0)") from None
    try:
        return git(["merge-base", target, "HEAD"], root).strip(), None
    except ReviewError:
        return target, (f"no merge base of {ref} and HEAD (shallow clone?): "
                        f"compared with {ref} itself")


@dataclass(frozen=True)
class Change:
    """A post-mortem file the change touches.

    ``status`` is ``added``, ``changed``, ``renamed`` or ``removed``. ``path`` is relative to
    the repository root (as reviewers see it) and ``relpath`` relative to the post-mortems
    folder (as :attr:`Postmortem.path` is); ``old_path``/``old_relpath`` name the base version
    of a renamed file.
    """

    status: str
    path: str
    relpath: str
    old_path: str | None = None
    old_relpath: str | None = None

    @property
    def base_relpath(self) -> str | None:
        """Where the file was at the base (``None`` for an added file)."""
        if self.status == "added":
            return None
        return self.old_relpath or self.relpath


def _docs_rel(docs_dir: Path, root: Path) -> str:
    try:
        rel = docs_dir.resolve().relative_to(root)
    except ValueError:
        raise ReviewError(f"the post-mortems folder {docs_dir} is not inside the git repository {root}") from None
    return rel.as_posix() or "."


def _under_docs(path: str, docs_rel: str, settings: Settings) -> str | None:
    """``path`` (repo-relative) relative to the docs folder when it is a post-mortem, else None."""
    pure = PurePosixPath(path)
    if docs_rel != ".":
        try:
            pure = pure.relative_to(docs_rel)
        except ValueError:
            return None
    rel = pure.as_posix()
    if not rel.endswith(".md") or is_ignored(rel, settings):
        return None
    return rel


def _other_under_docs(path: str, docs_rel: str) -> str | None:
    """``path`` (repo-relative) relative to the docs folder when it lies in it, else None."""
    pure = PurePosixPath(path)
    if docs_rel != ".":
        try:
            pure = pure.relative_to(docs_rel)
        except ValueError:
            return None
    return pure.as_posix()


def changed_postmortems(base: str, root: Path, settings: Settings, others: set[str] | None = None) -> list[Change]:
    """The post-mortem files that differ between commit ``base`` and the work tree.

    Uses ``git diff --name-status -M base`` (the work tree against ``base``: committed and
    uncommitted edits of tracked files, renames detected) plus untracked files that
    ``.gitignore`` does not exclude. Only Markdown files under ``settings.docs_dir`` that the
    ``ignore`` option does not exclude count. Sorted by path.

    Args:
        others: when given, the docs-relative paths of the other added or changed files of
            the docs folder (pages, attachments, links) are added to it.
    """
    docs_rel = _docs_rel(settings.docs_dir, root)
    spec = ["--", docs_rel]
    out = git(["-c", "core.quotepath=off", "diff", "--name-status", "-z", "-M", "--no-ext-diff",
               base, *spec], root)
    fields = out.split("\0")
    changes: list[Change] = []
    i = 0
    while i < len(fields) and fields[i]:
        code = fields[i][0]
        if code in "RC":
            old, new = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old = new = fields[i + 1]
            i += 2
        new_rel = _under_docs(new, docs_rel, settings)
        old_rel = _under_docs(old, docs_rel, settings)
        if others is not None and code != "D" and not new_rel and _other_under_docs(new, docs_rel):
            others.add(_other_under_docs(new, docs_rel))
        if code == "R":
            if new_rel and old_rel:
                changes.append(Change("renamed", new, new_rel, old, old_rel))
            elif new_rel:
                changes.append(Change("added", new, new_rel))
            elif old_rel:
                changes.append(Change("removed", old, old_rel))
        elif code == "D":
            if old_rel:
                changes.append(Change("removed", old, old_rel))
        elif new_rel:
            changes.append(Change(_STATUS_WORDS.get(code, "changed"), new, new_rel))
    untracked = git(["-c", "core.quotepath=off", "ls-files", "-z", "--others", "--exclude-standard", *spec], root)
    for path in filter(None, untracked.split("\0")):
        rel = _under_docs(path, docs_rel, settings)
        if rel:
            changes.append(Change("added", path, rel))
        elif others is not None and _other_under_docs(path, docs_rel):
            others.add(_other_under_docs(path, docs_rel))
    return sorted(changes, key=lambda c: c.path)


def base_files(base: str, root: Path, settings: Settings) -> set[str]:
    """Paths, relative to the post-mortems folder, of the post-mortems at commit ``base``."""
    docs_rel = _docs_rel(settings.docs_dir, root)
    out = git(["-c", "core.quotepath=off", "ls-tree", "-r", "-z", "--name-only", base, "--", docs_rel], root)
    return {rel for rel in (_under_docs(p, docs_rel, settings) for p in out.split("\0") if p) if rel}


def export_base(base: str, root: Path, settings: Settings, relpaths: list[str], dest: Path) -> Path:
    """Write the versions at commit ``base`` of some post-mortems into ``dest``.

    Reads them with ``git archive`` (nothing is checked out, the index is untouched).

    Args:
        relpaths: paths relative to the post-mortems folder, as in :func:`base_files`.

    Returns:
        The folder inside ``dest`` that corresponds to ``settings.docs_dir``.
    """
    docs_rel = _docs_rel(settings.docs_dir, root)
    folder = dest / docs_rel
    folder.mkdir(parents=True, exist_ok=True)
    if not relpaths:
        return folder
    paths = [rel if docs_rel == "." else f"{docs_rel}/{rel}" for rel in relpaths]
    data = git(["archive", "--format=tar", base, "--", *paths], root, binary=True)
    tar_exe = shutil.which("tar")
    if tar_exe:  # much faster than tarfile for many small files
        done = subprocess.run([tar_exe, "-x", "-f", "-", "-C", str(dest)], input=data, capture_output=True,
                              check=False)
        if done.returncode == 0:
            return folder
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return folder


# --- the review ------------------------------------------------------------------------------


@dataclass
class LinkView:
    """One related post-mortem as the review shows it (``terms`` empty when withheld)."""

    id: str
    title: str
    path: str
    score: float
    terms: tuple[str, ...] = ()
    pinned: bool = False
    in_change: bool = False
    fused: float | None = None
    """The fused score that ranked it (``[semantic]``; :attr:`RelatedLink.fused`), else None."""

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "path": self.path, "score": round(self.score, 4),
                "fused": None if self.fused is None else round(self.fused, 4),
                "terms": list(self.terms), "pinned": self.pinned, "in_change": self.in_change}


@dataclass
class ClusterChange:
    """The recurrence cluster of one post-mortem before and after the change.

    ``kind`` is ``joins`` (it was not a member before), ``stays``, ``leaves``, ``moves`` or
    ``new`` (the cluster did not exist before: none of its other members was in a cluster).
    ``before``/``after`` are the clusters (``None`` when absent). ``earlier_items`` are the
    action items of the members that started no later than this post-mortem, as
    ``(member id, item)``; ``recurred_after_fix`` is True when this incident started after one
    of them was marked done.
    """

    kind: str
    before: Cluster | None
    after: Cluster | None
    earlier_items: list[tuple[str, ActionItem]] = field(default_factory=list)
    recurred_after_fix: bool = False

    @property
    def size_before(self) -> int:
        return self.before.size if self.before else 0

    @property
    def size_after(self) -> int:
        return self.after.size if self.after else 0

    @property
    def joined(self) -> list[str]:
        """Members of the cluster after the change that were not in it before (this one included)."""
        before = set(self.before.members) if self.before else set()
        return [m for m in (self.after.members if self.after else []) if m not in before]

    @property
    def left(self) -> list[str]:
        """Members of the cluster before the change that are not in it after."""
        after = set(self.after.members) if self.after else set()
        return [m for m in (self.before.members if self.before else []) if m not in after]

    @property
    def done(self) -> list[tuple[str, ActionItem]]:
        """Earlier action items marked ``done``."""
        return [(m, item) for m, item in self.earlier_items if item.status == "done"]

    def as_dict(self) -> dict:
        def cluster(c: Cluster | None) -> dict | None:
            if c is None:
                return None
            return {"id": c.id, "label": c.label, "size": c.size, "members": list(c.members),
                    "first": c.first.isoformat(), "last": c.last.isoformat()}

        return {
            "kind": self.kind, "before": cluster(self.before), "after": cluster(self.after),
            "size_before": self.size_before, "size_after": self.size_after,
            "joined": self.joined, "left": self.left,
            "earlier_action_items": [{"postmortem": m, "title": i.title, "owner": i.owner, "status": i.status}
                                     for m, i in self.earlier_items],
            "earlier_action_items_done": len(self.done),
            "recurred_after_fix": self.recurred_after_fix,
        }


@dataclass
class SameIncidentView:
    """A possible same incident of a changed post-mortem as the review shows it
    (:class:`generator.duplicates.SameIncident`, with the other's title withheld when private)."""

    id: str
    title: str
    path: str
    reason: str
    score: float
    in_change: bool = False

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "path": self.path, "score": round(self.score, 4),
                "reason": self.reason, "in_change": self.in_change}


@dataclass
class Entry:
    """What the review says about one changed file.

    ``id``/``title`` are ``None`` when the file could not be loaded as a post-mortem (its
    validation problems say why); ``title`` is also ``None`` when withheld. ``excluded`` says
    why a loaded post-mortem was left out of the analysis (for example a duplicate id).
    """

    change: Change
    id: str | None = None
    title: str | None = None
    base_id: str | None = None
    withheld: bool = False
    excluded: str | None = None
    nearest: list[LinkView] = field(default_factory=list)
    duplicates: list[LinkView] = field(default_factory=list)
    same_incident: list[SameIncidentView] = field(default_factory=list)
    cluster: ClusterChange | None = None

    def as_dict(self) -> dict:
        return {
            "status": self.change.status, "path": self.change.path, "old_path": self.change.old_path,
            "id": self.id, "base_id": self.base_id, "title": self.title, "withheld": self.withheld,
            "excluded": self.excluded,
            "nearest": [link.as_dict() for link in self.nearest],
            "possible_duplicates": [link.as_dict() for link in self.duplicates],
            "possible_same_incident": [s.as_dict() for s in self.same_incident],
            "cluster": self.cluster.as_dict() if self.cluster else None,
        }


@dataclass
class RelatedChange:
    """How one post-mortem the change does not touch sees its related list change."""

    id: str
    title: str
    path: str
    added: list[LinkView] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "path": self.path,
                "added": [link.as_dict() for link in self.added], "removed": list(self.removed)}


@dataclass
class Review:
    """The whole review: what changed, its validation, and its effect on links and clusters."""

    base_ref: str
    base_commit: str
    changes: list[Change]
    validation: ValidationResult
    entries: list[Entry] = field(default_factory=list)
    related_changes: list[RelatedChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duplicate_threshold: float = DUPLICATE_THRESHOLD
    corpus_before: int = 0
    corpus_after: int = 0

    @property
    def exit_code(self) -> int:
        """1 when a changed file has a validation error, else 0 (warnings never fail)."""
        return 1 if self.validation.errors else 0

    def counts(self) -> dict[str, int]:
        """Number of changed files per status."""
        out: dict[str, int] = {}
        for change in self.changes:
            out[change.status] = out.get(change.status, 0) + 1
        return out

    def as_dict(self) -> dict:
        v = self.validation
        return {
            "base": {"ref": self.base_ref, "commit": self.base_commit},
            "changes": [dataclasses.asdict(c) for c in self.changes],
            "validation": {"problems": [p.as_dict() for p in v.problems],
                           "counts": {"files": v.files, "errors": v.errors, "warnings": v.warnings},
                           "ok": v.errors == 0},
            "postmortems": [e.as_dict() for e in self.entries],
            "related_changes": [r.as_dict() for r in self.related_changes],
            "duplicate_threshold": self.duplicate_threshold,
            "corpus": {"before": self.corpus_before, "after": self.corpus_after},
            "notes": list(self.notes),
            "exit_code": self.exit_code,
        }


def _load(paths: list[Path], settings: Settings, scan_secrets: bool) -> ValidationResult:
    from .validate import validate

    return validate(paths, settings, scan_secrets=scan_secrets) if paths else ValidationResult()


def review(base_ref: str, settings: Settings, start: Path | None = None,
           threshold: float = DUPLICATE_THRESHOLD) -> Review:
    """Review the post-mortems changed since ``base_ref``.

    Args:
        base_ref: a git revision (``origin/main``); the merge base with ``HEAD`` is used when
            there is one (see :func:`resolve_base`).
        settings: options from ``mkdocs.yml``; ``settings.docs_dir`` is the post-mortems folder.
        start: a folder inside the repository (default: ``settings.docs_dir``).
        threshold: score at or above which a link is a possible duplicate.

    Returns:
        A :class:`Review`; render it with :func:`format_markdown` or :func:`format_json`.

    Raises:
        ReviewError: not a git repository, or ``base_ref`` is unknown.
    """
    root = repo_root(start or (settings.docs_dir if settings.docs_dir.is_dir() else Path.cwd()))
    base, note = resolve_base(base_ref, root)
    other_files: set[str] = set()
    changes = changed_postmortems(base, root, settings, other_files)
    result = Review(base_ref=base_ref, base_commit=base, changes=changes, validation=ValidationResult(),
                    duplicate_threshold=threshold, notes=[note] if note else [])
    if not changes and not other_files:
        return result
    # The whole folder is validated once: the changed files are checked against the rest
    # (unique ids, related ids, links), and the unchanged files, byte for byte the same as at
    # the base, are the base side too; only the base versions of touched files come from git.
    docs = settings.docs_dir.resolve()
    head = _load([docs] if docs.is_dir() else [], settings, scan_secrets=True)
    relpath_of = {_abs(docs / pm.path): pm.path for pm in head.postmortems}
    relpath_of.update({_abs(docs / c.relpath): c.relpath for c in changes})
    relpath_of.update({_abs(docs / rel): rel for rel in other_files})
    # (lexists: a link is reported by the validation, never followed)
    checked = {c.relpath for c in changes if c.status != "removed" and os.path.lexists(docs / c.relpath)}
    checked_others = {rel for rel in other_files if os.path.lexists(docs / rel)}
    touched = {c.base_relpath for c in changes if c.base_relpath}
    unchanged = [pm for pm in head.postmortems if pm.path not in checked and pm.path not in touched]
    in_base = base_files(base, root, settings)
    with tempfile.TemporaryDirectory(prefix="pmkb-review-") as tmp:
        old_dir = export_base(base, root, settings, sorted(touched & in_base), Path(tmp))
        # (scanned too: a change that removes a secret must not show it in the "before" clusters)
        old = _load([old_dir], dataclasses.replace(settings, docs_dir=old_dir), scan_secrets=True)
    base_pms = [pm for pm in unchanged if pm.path in in_base] + old.postmortems
    referring = _naming_removed_ids(base_pms, head.postmortems, touched, checked)
    linking = _linking_to_removed_files(head.problems, relpath_of, touched, checked, docs)
    result.validation = ValidationResult(
        files=len(checked), other_files=len(checked_others), secrets=head.secrets | old.secrets,
        postmortems=[pm for pm in head.postmortems if pm.path in checked],
        problems=[p for p in head.problems if relpath_of.get(_abs(Path(p.path))) in checked | checked_others
                  or (p.code == "unknown-id" and relpath_of.get(_abs(Path(p.path))) in referring)
                  or (p.code in LINK_CODES and relpath_of.get(_abs(Path(p.path))) in linking)])
    if referring:
        n = len(referring)
        result.validation.files += n
        result.notes.append(f"also checked {n} unchanged post-mortem{'s' * (n != 1)} naming a removed id "
                            f"({', '.join(referring[path] for path in sorted(referring))})")
    extra = sorted(set(linking) - set(referring))
    if extra:
        result.validation.files += len(extra)
        result.notes.append(f"also checked {len(extra)} unchanged post-mortem{'s' * (len(extra) != 1)} linking "
                            f"to a removed or renamed file ({', '.join(extra)})")
    if changes:
        _analyse_changes(result, base_pms, settings)
    return result


LINK_CODES = ("broken-link", "broken-anchor")


def _linking_to_removed_files(problems: list[Problem], relpath_of: dict[str, str], touched: set[str],
                              checked: set[str], docs: Path) -> set[str]:
    """Untouched post-mortems with a broken link to a file the change removed or renamed:
    the site build would fail on them, so the review reports their link problems too."""
    gone = {Path(t).name for t in touched if not (docs / t).exists()}
    out = set()
    for p in problems:
        relpath = relpath_of.get(_abs(Path(p.path)))
        if p.code in LINK_CODES and relpath and relpath not in checked and relpath not in touched \
                and any(f"'{name}" in p.message or f"/{name}" in p.message for name in gone):
            out.add(relpath)
    return out


def _naming_removed_ids(base_pms: list[Postmortem], head_pms: list[Postmortem], touched: set[str],
                        checked: set[str]) -> dict[str, str]:
    """Untouched post-mortems whose ``related``/``not_related`` name an id the change removed
    (a deleted file, or an id edited away): their ``unknown-id`` errors are the change's doing.

    Returns:
        ``{relpath: the removed ids it names, comma-separated}``.
    """
    vanished = {pm.id for pm in base_pms} - {pm.id for pm in head_pms}
    out = {}
    for pm in head_pms:
        names = sorted(vanished.intersection(pm.related + pm.not_related))
        if names and pm.path not in touched and pm.path not in checked:
            out[pm.path] = ", ".join(names)
    return out


def _unique(pms: list[Postmortem]) -> list[Postmortem]:
    seen: set[str] = set()
    out = []
    for pm in sorted(pms, key=lambda p: (p.id, p.path)):
        if pm.id not in seen:
            seen.add(pm.id)
            out.append(pm)
    return out


def _analyse_changes(result: Review, base_pms: list[Postmortem], settings: Settings) -> None:
    from .analysis import analyse

    touched = {c.base_relpath for c in result.changes if c.base_relpath}
    base_pms = _unique(base_pms)
    base_by_path = {pm.path: pm for pm in base_pms}
    head_pms = [pm for pm in base_pms if pm.path not in touched]
    taken = {pm.id for pm in head_pms}
    problems_by_path: dict[str, list[Problem]] = {}
    for p in result.validation.problems:
        problems_by_path.setdefault(_abs(Path(p.path)), []).append(p)
    loaded = {pm.path: pm for pm in result.validation.postmortems}
    private_ids: set[str] = set()
    for change in result.changes:
        entry = Entry(change=change)
        old = base_by_path.get(change.base_relpath) if change.base_relpath else None
        entry.base_id = old.id if old else None
        pm = loaded.get(change.relpath) if change.status != "removed" else None
        if pm is not None:
            entry.id = pm.id
            codes = {p.code for p in problems_by_path.get(_abs(settings.docs_dir / change.relpath), [])}
            entry.withheld = bool(codes & set(_PRIVATE_CODES))
            entry.title = None if entry.withheld else pm.title
            if entry.withheld:
                private_ids.add(pm.id)
            if pm.id in taken:
                entry.excluded = f"its id {pm.id} is already used by another post-mortem"
            else:
                taken.add(pm.id)
                head_pms.append(pm)
        result.entries.append(entry)
    result.corpus_before, result.corpus_after = len(base_pms), len(head_pms)
    before = analyse(base_pms, settings) if base_pms else None
    after = analyse(head_pms, settings)
    head_by_id = {pm.id: pm for pm in head_pms}
    changed_ids = {e.id for e in result.entries if e.id and not e.excluded}
    clusters_before = {c.id: _redact(c, private_ids) for c in before.clusters} if before else {}
    clusters_after = {c.id: _redact(c, private_ids) for c in after.clusters}

    def view(link: RelatedLink, withhold: bool) -> LinkView:
        other = head_by_id[link.id]
        title = "" if link.id in private_ids else other.title
        terms = () if withhold or link.id in private_ids else link.terms
        return LinkView(link.id, title, _display(settings, other.path), link.score, terms, link.pinned,
                        link.id in changed_ids, link.fused)

    same_by_id: dict[str, list] = {}
    if after.index is not None:
        from .duplicates import find_same_incidents

        for pair in find_same_incidents(head_pms, after.index, among=changed_ids):
            same_by_id.setdefault(pair.a, []).append(pair)
    for entry in result.entries:
        if entry.id is None or entry.excluded:
            continue
        links = after.related.get(entry.id, [])
        entry.nearest = [view(link, entry.withheld) for link in links]
        entry.duplicates = [v for v in entry.nearest if v.score >= result.duplicate_threshold]
        flagged = {d.id for d in entry.duplicates}
        for pair in same_by_id.get(entry.id, []):
            if pair.b in flagged:
                continue  # already a possible duplicate: one warning is enough
            other = head_by_id[pair.b]
            entry.same_incident.append(SameIncidentView(
                pair.b, "" if pair.b in private_ids else other.title, _display(settings, other.path), pair.why(),
                pair.score, pair.b in changed_ids))
        entry.cluster = _cluster_change(entry, before, clusters_before, clusters_after, after, head_by_id)
    base_ids = {pm.id for pm in base_pms}
    base_changed = {e.base_id for e in result.entries if e.base_id}
    for pm_id in sorted(head_by_id):
        if pm_id in changed_ids or pm_id not in base_ids or pm_id in base_changed or before is None:
            continue
        old_links = {link.id for link in before.related.get(pm_id, [])}
        new_links = after.related.get(pm_id, [])
        added = [view(link, False) for link in new_links if link.id not in old_links]
        removed = sorted(old_links - {link.id for link in new_links})
        if added or removed:
            pm = head_by_id[pm_id]
            result.related_changes.append(RelatedChange(pm_id, pm.title, _display(settings, pm.path), added, removed))


def _redact(cluster: Cluster, private_ids: set[str]) -> Cluster:
    """The cluster without its label and terms when a member's text is withheld."""
    if private_ids.isdisjoint(cluster.members):
        return cluster
    return dataclasses.replace(cluster, label="", terms=())


def _abs(path: Path) -> str:
    """``path`` absolute, ``..`` removed, without following links (a link is what was changed)."""
    return os.path.normpath(os.path.abspath(path))



def _display(settings: Settings, relpath: str) -> str:
    from .validate import display_path

    return display_path(settings.docs_dir / relpath)


def _cluster_change(entry: Entry, before, clusters_before: dict[str, Cluster],
                    clusters_after: dict[str, Cluster], after, head_by_id: dict[str, Postmortem]) -> ClusterChange | None:
    after_cluster = clusters_after.get(after.cluster_of.get(entry.id, ""))
    before_cluster = None
    if before is not None and entry.base_id:
        before_cluster = clusters_before.get(before.cluster_of.get(entry.base_id, ""))
    was_member = before_cluster is not None
    if before_cluster is None and after_cluster is not None and before is not None:
        votes: dict[str, int] = {}
        for member in after_cluster.members:
            cid = before.cluster_of.get(member)
            if member != entry.id and cid:
                votes[cid] = votes.get(cid, 0) + 1
        if votes:
            best = min(votes, key=lambda cid: (-votes[cid], cid))
            before_cluster = clusters_before[best]
    if before_cluster is None and after_cluster is None:
        return None
    if after_cluster is None:
        kind = "leaves"
    elif before_cluster is None:
        kind = "new"
    elif not was_member:
        kind = "joins"
    elif before_cluster.id == after_cluster.id:
        kind = "stays"
    else:
        kind = "moves"
    change = ClusterChange(kind, before_cluster, after_cluster)
    if after_cluster is not None:
        pm = head_by_id[entry.id]
        for member, item in after_cluster.action_items:
            other = head_by_id.get(member)
            if member != entry.id and other is not None and other.date <= pm.date:
                change.earlier_items.append((member, item))
        change.recurred_after_fix = entry.id in after_cluster.recurred_after_fix
    return change


# --- rendering -------------------------------------------------------------------------------

def md_escape(text: str) -> str:
    """Text made safe for a Markdown table cell or line: no markup, no HTML, no line breaks.

    The same escaping as the report pages (:func:`generator.escape.md_text`): whitespace runs
    become one space; ``&``, ``<`` and ``>`` become HTML entities, so a title with a literal
    ``&amp;`` shows ``&amp;`` on GitHub, not ``&``, and raw HTML shows as text; ``~`` becomes
    ``&#126;`` (no strikethrough); Markdown punctuation is backslash-escaped. Used for titles,
    labels, paths, owners, terms and messages.
    """
    from .escape import md_text

    return md_text(text)


def md_code(text: str) -> str:
    """``text`` as an inline code span that is safe in a table cell (backticks become quotes)."""
    return "`" + " ".join(str(text).split()).replace("`", "'").replace("|", "\\|") + "`"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _rank_number(link: LinkView) -> str:
    """The number a link was ranked by, as the review prints it: ``fused 0.83`` for a fused
    list (``[semantic]``), the cosine ``0.21`` otherwise."""
    return f"{link.score:.2f}" if link.fused is None else f"fused {link.fused:.2f}"


def _link_line(link: LinkView) -> str:
    title = f" {md_escape(link.title)}" if link.title else ""
    marks = []
    if link.pinned:
        marks.append("pinned")
    if link.in_change:
        marks.append("also in this change")
    extra = f" ({', '.join(marks)})" if marks else ""
    return f"**{link.id}**{title}{extra}"


def _cluster_name(c: Cluster) -> str:
    return f"**{c.id}** “{md_escape(c.label)}”" if c.label else f"**{c.id}**"


def _cluster_lines(entry: Entry) -> list[str]:
    cc = entry.cluster
    if cc is None:
        return ["**Recurrence cluster:** none (no earlier post-mortem describes the same problem)."]
    before, after = cc.before, cc.after
    sizes = f"{_plural(cc.size_before, 'post-mortem')} → {cc.size_after}"
    if cc.kind == "joins" and before is not None and before.id != after.id:
        # The cluster it joins took shape from an earlier one that also lost members.
        head = (f"joins {_cluster_name(after)} ({_plural(cc.size_after, 'post-mortem')}), which takes over "
                f"from {_cluster_name(before)} ({_plural(cc.size_before, 'post-mortem')} before this change)")
    elif cc.kind == "joins":
        head = f"joins {_cluster_name(after)}: {sizes}"
    elif cc.kind == "new":
        head = f"starts a new cluster {_cluster_name(after)}: 0 → {_plural(cc.size_after, 'post-mortem')}"
    elif cc.kind == "stays":
        head = f"stays in {_cluster_name(after)}: {sizes}"
    elif cc.kind == "moves":
        head = (f"moves from {_cluster_name(before)} ({_plural(cc.size_before, 'post-mortem')}) to "
                f"{_cluster_name(after)} ({_plural(cc.size_after, 'post-mortem')})")
    else:
        head = f"leaves {_cluster_name(before)}: {sizes}"
    joined = [m for m in cc.joined if m != entry.id]
    moved = [f"joined: {', '.join(joined)}"] if joined and cc.before else []
    moved += [f"left: {', '.join(cc.left)}"] if cc.left and cc.after else []
    if moved:
        head += f" ({'; '.join(moved)})"
    lines = [f"**Recurrence cluster:** {head}."]
    if after is not None:
        lines[0] += (f" Members: {_some(after.members)}; first {after.first.isoformat()}, "
                     f"last {after.last.isoformat()}.")
        if cc.earlier_items:
            lines.append(f"Earlier action items in this cluster: {len(cc.done)} of {len(cc.earlier_items)} done.")
            lines.append("")
            # Done items first: they are the fixes this incident may show did not hold.
            ordered = cc.done + [(m, i) for m, i in cc.earlier_items if i.status != "done"]
            for member, item in ordered[:MAX_LISTED]:
                box = "x" if item.status == "done" else " "
                owner = f" ({md_escape(item.owner)})" if item.owner else ""
                lines.append(f"- [{box}] {member}: {md_escape(item.title)}{owner} — {item.status}")
            if len(ordered) > MAX_LISTED:
                lines.append(f"- … and {len(ordered) - MAX_LISTED} more (see `pmkb review --format json`)")
        else:
            lines.append("Earlier post-mortems in this cluster list no action items.")
        if cc.recurred_after_fix and cc.kind != "stays":
            lines.append("")
            lines.append("> [!WARNING]\n> This incident started after an earlier action item in the cluster was "
                         "marked done: the fix did not hold. Say why in the Root cause section.")
    return lines


def _some(ids: list[str]) -> str:
    """At most :data:`MAX_LISTED` ids, then how many more."""
    shown = ", ".join(ids[:MAX_LISTED])
    return shown + (f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else "")


def format_markdown(result: Review) -> str:
    """The review as GitHub-flavoured Markdown for a pull-request comment or job summary."""
    out = ["## Post-mortem review", ""]
    counts = result.counts()
    what = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no post-mortem changed"
    out.append(f"Compared with {md_code(result.base_ref)} (commit `{result.base_commit[:12]}`): {what}.")
    for note in result.notes:
        out.append(f"Note: {md_escape(note)}.")
    out.append("")
    v = result.validation
    out.append("### Validation")
    out.append("")
    if not v.problems:
        out.append(f"No problems in {_plural(v.files, 'file')}.")
    else:
        out.append(f"{_plural(v.errors, 'error')}, {_plural(v.warnings, 'warning')} in {_plural(v.files, 'file')}.")
        out.append("")
        out.append("| Where | Level | Code | Problem | Fix |")
        out.append("|---|---|---|---|---|")
        for p in v.problems:
            field_ = f"{md_code(p.field)}: " if p.field else ""
            out.append(f"| {md_code(p.location)} | {p.level} | `{p.code}` | {field_}{md_escape(p.message)} "
                       f"| {md_escape(p.fix)} |")
    out.append("")
    for entry in result.entries:
        out.extend(_entry_lines(entry, result.duplicate_threshold))
    if result.related_changes:
        out.append("### Related lists of other post-mortems")
        out.append("")
        out.append("| Post-mortem | Links added | Links removed |")
        out.append("|---|---|---|")
        for rc in result.related_changes[:MAX_RELATED_CHANGES]:
            added = ", ".join(f"{link.id} ({_rank_number(link)})" for link in rc.added) or "—"
            removed = ", ".join(rc.removed) or "—"
            out.append(f"| **{rc.id}** {md_escape(rc.title)} | {added} | {removed} |")
        more = len(result.related_changes) - MAX_RELATED_CHANGES
        if more > 0:
            out.append(f"\n… and {_plural(more, 'more post-mortem')} (see `pmkb review --format json`).")
        out.append("")
    elif result.entries and result.corpus_before:
        out.append("The related lists of the other post-mortems do not change.")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _entry_lines(entry: Entry, threshold: float) -> list[str]:
    change = entry.change
    where = md_code(change.path)
    if change.status == "renamed":
        where = f"{md_code(change.old_path)} → {where}"
    if change.status == "removed":
        name = entry.base_id or md_escape(change.path)
        return [f"### {name} (removed)", "", f"{where} is deleted.", ""]
    if entry.id is None:
        return [f"### {md_escape(change.path)} ({change.status})", "",
                f"{where} could not be read as a post-mortem: see the validation problems above.", ""]
    title = f" — {md_escape(entry.title)}" if entry.title else ""
    lines = [f"### {entry.id}{title} ({change.status})", "", where]
    if entry.base_id and entry.base_id != entry.id:
        lines[-1] += f" (id was {entry.base_id})"
    lines.append("")
    if entry.withheld:
        lines += ["Its text is withheld from this review because the file contains a secret or personal data.", ""]
    if entry.excluded:
        lines += [f"Not compared with the other post-mortems: {md_escape(entry.excluded)}.", ""]
        return lines
    if entry.duplicates:
        first = entry.duplicates[0]
        others = [f"**{d.id}** ({d.score:.2f})" for d in entry.duplicates[1:]]
        also = f"; also {', '.join(others)}" if others else ""
        lines += ["> [!WARNING]",
                  f"> **Possible duplicate** of {_link_line(first)} ({md_code(first.path)}): score "
                  f"{first.score:.2f} ≥ {threshold:.2f}{also}. If it is the same incident, extend that post-mortem "
                  "instead; if it is a recurrence, add its id to `related:` and say what was different.", ""]
    for same in entry.same_incident:
        title = f" {md_escape(same.title)}" if same.title else ""
        also = " (also in this change)" if same.in_change else ""
        lines += ["> [!WARNING]",
                  f"> **Possible same incident** as **{same.id}**{title}{also} ({md_code(same.path)}): "
                  f"{md_escape(same.reason)}. If both describe one incident, merge them into one post-mortem; "
                  "if they are two incidents (another team's or another company's), add its id to `related:` "
                  "and say what differs.", ""]
    if entry.nearest:
        if ranked_by(entry.nearest) == RANKED_BY_FUSED:
            # [semantic]: the list is in fused order; the fused score is the column that ranks.
            lines += ["**Nearest post-mortems** (" + RANKED_BY_FUSED + ")", "",
                      "| Post-mortem | Fused | Cosine | Shared terms |", "|---|---|---|---|"]
            for link in entry.nearest:
                terms = ", ".join(md_escape(t) for t in link.terms) or "—"
                fused = "pinned" if link.fused is None else f"{link.fused:.2f}"
                lines.append(f"| {_link_line(link)} | {fused} | {link.score:.2f} | {terms} |")
        else:
            lines += ["**Nearest post-mortems** (" + RANKED_BY_SCORE + ")", "",
                      "| Post-mortem | Score | Shared terms |", "|---|---|---|"]
            for link in entry.nearest:
                terms = ", ".join(md_escape(t) for t in link.terms) or "—"
                lines.append(f"| {_link_line(link)} | {link.score:.2f} | {terms} |")
        lines.append("")
    else:
        lines += ["**Nearest post-mortems:** none above the similarity threshold.", ""]
    lines += _cluster_lines(entry)
    lines.append("")
    return lines


def format_json(result: Review) -> str:
    """The review as JSON (see :meth:`Review.as_dict` for the shape)."""
    return json.dumps(result.as_dict(), indent=2, ensure_ascii=False)
