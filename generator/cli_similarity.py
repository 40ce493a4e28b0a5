"""``pmkb similar``, ``pmkb related`` and ``pmkb clusters``: the similarity commands.

Thin commands over :mod:`generator.similarity` and :mod:`generator.clusters`; they load the
post-mortems with the validator (files whose front matter cannot be read are skipped, with a
note on stderr) and print text for people or JSON for tools. scikit-learn is imported only
inside the commands, so ``pmkb validate`` stays fast.
"""

from __future__ import annotations

import datetime as dt

import dataclasses
import json
import os
import sys
from pathlib import Path

import click

from .cli import EXIT_ERRORS, INCLUDE_DRAFTS, PATHS, Context, emit, pass_context, resolve_paths
from .model import ranked_by

FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                      help="text for people, json for tools.")


def _round(score: float) -> float:
    return round(float(score), 3)


def load_corpus(obj: Context, paths: tuple[Path, ...], include_drafts: bool = False):
    """Post-mortems under PATHS (default: docs_dir), via the validator; drafts are left out
    unless ``include_drafts`` (as ``mkdocs build`` leaves them out of the site).

    Files whose front matter could not be read are skipped; when any file has a validation
    error a one-line note goes to stderr (the analysis still uses what could be read).

    Returns:
        ``(settings, postmortems)``.
    """
    from .validate import validate

    settings = obj.settings
    try:
        result = validate(resolve_paths(settings, paths), settings)
    except FileNotFoundError as exc:
        raise click.UsageError(f"{exc} does not exist")
    obj.redactor = result.redactor
    skipped = result.files - len(result.postmortems)
    if result.errors:
        note = f"note: {result.errors} validation error(s) in the post-mortems"
        if skipped:
            note += f"; {skipped} file(s) whose front matter could not be read are left out"
        emit(note + " (run 'pmkb validate' for details)", err=True)
    from .analysis import published

    return settings, (result.postmortems if include_drafts else published(result.postmortems))


def _corpus_files(corpus: tuple[Path, ...], settings) -> dict[tuple[str, Path], Path]:
    """``(path relative to its root, root) -> resolved file`` for the files searched."""
    from .validate import collect_files

    try:
        pairs = collect_files(list(corpus) or [settings.docs_dir], settings)
    except FileNotFoundError:
        return {}
    return {(file.relative_to(root).as_posix(), root): file for file, root in pairs}


def _corpus_file(pm, corpus: tuple[Path, ...], settings) -> str:
    """How to name the file of corpus post-mortem ``pm`` in a message."""
    from .validate import display_path

    for (rel, _), file in _corpus_files(corpus, settings).items():
        if rel == pm.path:
            return display_path(file)
    return pm.path


def _file_query(path: Path, corpus: tuple[Path, ...], settings, index):
    """The post-mortem in FILE: the corpus' own object when FILE *is* a corpus file (same
    resolved path), so that it leaves itself out of the results; else FILE loaded on its own.

    Exits 1 when FILE cannot be read as a post-mortem.
    """
    from .inventory import lexical
    from .validate import validate

    resolved = lexical(path)  # not resolve(): a link is reported, never followed
    loaded = validate([resolved], settings)
    obj = click.get_current_context().find_object(Context)
    if obj is not None and loaded.secrets:  # the query file's secrets are hidden too
        obj.redactor = loaded.redactor | obj.redactor if obj.redactor is not None else loaded.redactor
    if not loaded.postmortems:
        problem = loaded.problems[0].message if loaded.problems else "no front matter"
        emit(f"error: cannot read {path}: {problem}", err=True)
        sys.exit(EXIT_ERRORS)
    own = loaded.postmortems[0]
    for (rel, _), file in _corpus_files(corpus, settings).items():
        if file == Path(os.path.realpath(resolved)):  # two --corpus folders may hold the same relative path: compare content too
            same = [pm for pm in index.postmortems if pm.path == rel and pm.id == own.id and pm.body == own.body]
            if same:
                return same[0]
    return own


def _unused_id(by_id: dict) -> str:
    """An id no corpus post-mortem has (``similar_to`` leaves the query's own id out)."""
    n = 0
    while f"QUERY-0000-{n:03d}" in by_id:
        n += 1
    return f"QUERY-0000-{n:03d}"


def _warn(warnings: list[str], notes: list[str] = ()) -> None:
    for message in warnings:
        emit(f"warning: {message}", err=True)
    for message in notes:
        emit(f"note: {message}", err=True)


def _link_json(link) -> dict:
    return {"id": link.id, "score": _round(link.score), "fused": None if link.fused is None else _round(link.fused),
            "terms": list(link.terms), "via": link.via}


def _number(link, fused: bool) -> str:
    """The numbers a text line shows: the cosine alone when the list is ranked by it, else the
    fused score that ranked it and the cosine (``fused 0.833  cosine 0.218``)."""
    if not fused:
        return f"{link.score:.3f}"
    if link.fused is None:  # a pinned link in a fused list
        return f"cosine {link.score:.3f}"
    return f"fused {link.fused:.3f}  cosine {link.score:.3f}"


@click.command()
@click.argument("query", required=False)
@click.option("-k", "--top-k", "k", type=click.IntRange(min=1), help="How many results (default: top_k option).")
@click.option("--text", "text", help="Free text to search for instead of a FILE or ID.")
@click.option("--min-score", type=click.FloatRange(0.0, 1.0),
              help="Lowest cosine similarity shown (default: min_score option).")
@click.option("--corpus", "corpus", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Post-mortem files or folders to search (default: docs_dir of mkdocs.yml); repeatable.")
@click.option("--semantic", type=click.Choice(["auto", "on", "off"]),
              help="Fuse the [semantic] extra's sentence model (default: the semantic option); off: "
                   "TF-IDF alone, the answers of the site's 'Have we seen this?' page.")
@FORMAT
@pass_context
def similar(obj: Context, query: str | None, k: int | None, text: str | None, min_score: float | None,
            corpus: tuple[Path, ...], semantic: str | None, fmt: str) -> None:
    """Nearest post-mortems to one FILE, one ID, or --text "...".

    FILE may be a draft outside the knowledge base. Prints id, date, title, score (cosine
    similarity 0..1) and the terms the two share that weigh most. JSON gives the query as
    written (text, FILE path or id) in "query", which of the three in "query_kind", and the
    queried post-mortem's id in "query_id" (null for --text).
    """
    from .analysis import build_index
    from .cache import Cache
    from .validate import free_id_for

    if (query is None) == (text is None):
        raise click.UsageError("give a FILE or ID, or --text \"...\" (one of them)")
    if text is not None and not text.strip():
        raise click.UsageError("--text is empty; give the words to search for, e.g. --text \"certificate expired\"")
    if query is not None and not query.strip():
        raise click.UsageError("the FILE or ID is empty; give a post-mortem file, an id such as PM-2024-017, "
                               "or --text \"...\"")
    settings, postmortems = load_corpus(obj, corpus)
    if semantic is not None:
        settings = dataclasses.replace(settings, semantic=semantic)
    if text is not None:
        # From the cache folder's text-query entry when the corpus is unchanged: no SciPy, no
        # scikit-learn (generator.text_query); the same answer as the index's.
        from .analysis import text_query

        found = text_query(postmortems, settings, Cache(settings.cache_path()))
        _warn(found.warnings, found.notes)
        _print_similar(found.similar_to(text, k=k, min_score=min_score),
                       {pm.id: pm for pm in found.postmortems}, fmt, text, "text", None)
        return
    # With the [semantic] model when installed; from the cache folder when the corpus is unchanged.
    index = build_index(postmortems, settings, Cache(settings.cache_path()))
    by_id = {pm.id: pm for pm in index.postmortems}
    exclude: tuple[str, ...] = ()
    # JSON names the query as given (the text, the FILE's path or the id), says which of the
    # three it was, and gives the post-mortem's id apart: a FILE outside the corpus may carry
    # the id of a corpus post-mortem, and must not read as a query for that one.
    if os.path.lexists(query) and not os.path.isdir(query):
        target = _file_query(Path(query), corpus, settings, index)
        label, kind, query_id = query, "file", target.id
        if target.id in by_id and by_id[target.id] is not target:
            # Another file with the id of a corpus post-mortem: compare it with that one too.
            twin = by_id[target.id]
            free = free_id_for(target.id, target.date.isoformat(), list(corpus) or [settings.docs_dir], settings,
                               set(by_id))  # the id pmkb validate's duplicate-id fix names
            emit(f"warning: {query} has id {target.id}, which {_corpus_file(twin, corpus, settings)} in the "
                 f"corpus also uses; ids must be unique (give {query} the next free id, {free})", err=True)
            # similar_to leaves out the query's id; the twin is kept, and the post-mortems whose
            # not_related names that id stay out, as they would for the id itself.
            exclude = tuple(pm.id for pm in index.postmortems if target.id in pm.not_related)
            target = dataclasses.replace(target, id=_unused_id(by_id))
    elif query in by_id:
        target, label, kind, query_id = by_id[query], query, "id", query
    else:
        raise click.UsageError(f"{query!r} is neither a file nor the id of a post-mortem in the corpus")
    _warn(index.warnings, index.notes)
    _print_similar(index.similar_to(target, k=k, min_score=min_score, exclude=exclude), by_id, fmt, label, kind,
                   query_id)


def _print_similar(links, by_id: dict, fmt: str, label: str, kind: str, query_id: str | None) -> None:
    """Print the answer of ``pmkb similar`` (text or JSON; see its help)."""
    if fmt == "json":
        emit(json.dumps({"query": label, "query_kind": kind, "query_id": query_id,
                         "ranked_by": "fused" if any(link.fused is not None for link in links) else "score",
                         "similar": [
            {**_link_json(link), "date": by_id[link.id].date.isoformat(), "title": by_id[link.id].title}
            for link in links]}, ensure_ascii=False, indent=2))
        return
    if not links:
        emit("no similar post-mortems")
        return
    fused = any(link.fused is not None for link in links)
    emit(f"# {ranked_by(links)}")
    for link in links:
        pm = by_id[link.id]
        found_by = "  (sentence model)" if link.via == "semantic" else ""
        emit(f"{pm.id}  {pm.date.isoformat()}  {_number(link, fused)}  {pm.title}{found_by}")
        if link.terms:
            emit(f"    shared terms: {', '.join(link.terms)}")


@click.command()
@PATHS
@FORMAT
@INCLUDE_DRAFTS
@pass_context
def related(obj: Context, paths: tuple[Path, ...], fmt: str, include_drafts: bool) -> None:
    """Every post-mortem's related post-mortems.

    PATHS are files or folders (default: the docs_dir of mkdocs.yml). Links pinned with
    'related:' come first, then up to top_k others with score >= min_score, for a
    post-mortem that is among the 3 nearest neighbours of one of them (one-offs get none).
    """
    from .analysis import build_index
    from .cache import Cache

    settings, postmortems = load_corpus(obj, paths, include_drafts)
    index = build_index(postmortems, settings, Cache(settings.cache_path()))
    links = index.related_links()
    _warn(index.warnings, index.notes)
    if fmt == "json":
        emit(json.dumps({pid: [_link_json(link) for link in items] for pid, items in links.items()},
                              ensure_ascii=False, indent=2))
        return
    by_id = {pm.id: pm for pm in index.postmortems}
    every = [link for items in links.values() for link in items]
    fused = any(link.fused is not None for link in every)
    emit(f"# pinned links first, then {ranked_by(every)}")
    for pid, items in links.items():
        emit(f"{pid}  {by_id[pid].title}")
        if not items:
            emit("    (no related post-mortems)")
        for link in items:
            pin = "  (pinned)" if link.pinned else ("  (via sentence model)" if link.via == "semantic"
                                                     else "")
            terms = f"  [{', '.join(link.terms)}]" if link.terms else ""
            emit(f"    {link.id}  {_number(link, fused)}  {by_id[link.id].title}{terms}{pin}")


def cluster_json(cluster) -> dict:
    """A :class:`~generator.model.Cluster` as a JSON-ready dict (dates ISO, scores none)."""
    return {
        "id": cluster.id,
        "label": cluster.label,
        "members": list(cluster.members),
        "first": cluster.first.isoformat(),
        "last": cluster.last.isoformat(),
        "services": list(cluster.services),
        "severities": dict(cluster.severities),
        "terms": list(cluster.terms),
        "name": cluster.name or None,
        "generated_label": cluster.generated_label,
        "owner": cluster.owner or None,
        "note": cluster.note or None,
        **cluster.recurrence_as_dict(),
        "action_items": [{"postmortem": pid, "title": item.title, "owner": item.owner, "status": item.status,
                          "due": item.due.isoformat() if item.due else None, "ticket": item.ticket,
                          "done_at": item.done_at.isoformat() if item.done_at else None}
                         for pid, item in cluster.action_items],
    }


@click.command()
@PATHS
@FORMAT
@INCLUDE_DRAFTS
@pass_context
def clusters(obj: Context, paths: tuple[Path, ...], fmt: str, include_drafts: bool) -> None:
    """Recurring problems: groups of post-mortems that describe the same failure.

    PATHS are files or folders (default: the docs_dir of mkdocs.yml). A member came back
    after a fix when it started after the done_at of an earlier member's done action item
    (format v2); without done_at (format v1) it is unknown.
    """
    from .analysis import analyse
    from .cache import Cache

    settings, postmortems = load_corpus(obj, paths, include_drafts)
    result = analyse(postmortems, settings, cache=Cache(settings.cache_path()))
    _warn(result.warnings, result.notes)
    if fmt == "json":
        emit(json.dumps({"clusters": [cluster_json(c) for c in result.clusters]}, ensure_ascii=False,
                              indent=2))
        return
    if not result.clusters:
        emit(f"no recurring problems among {len(result.postmortems)} post-mortem(s)")
        return
    by_id = result.by_id()
    for cluster in result.clusters:
        severities = ", ".join(f"{n} {level}" for level, n in cluster.severities.items())
        emit(f"{cluster.id}  {cluster.label}  ({cluster.size} incidents, {cluster.first.isoformat()} .. "
                   f"{cluster.last.isoformat()}; {severities})")
        for recurrence in cluster.recurrences:
            day = recurrence.done_at.date() if isinstance(recurrence.done_at, dt.datetime) else recurrence.done_at
            emit(f"    came back after a fix: {recurrence.sentence()} (done {day.isoformat()})")
        if cluster.recurrence_unknown:
            emit("    may have come back after a fix (not known: the fix has no done_at, or was done the "
                       f"day it started): {', '.join(cluster.recurrence_unknown)}")
        if cluster.fix_outcome == "held":
            emit("    the fixes held: no incident started after a done action item")
        for member in cluster.members:
            pm = by_id[member]
            emit(f"    {pm.id}  {pm.date.isoformat()}  {pm.severity}  {pm.title}")
    clustered = sum(c.size for c in result.clusters)
    emit(f"{len(result.clusters)} clusters, {clustered} of {len(result.postmortems)} post-mortems")


@click.command()
@PATHS
@FORMAT
@INCLUDE_DRAFTS
@click.option("--write", is_flag=True, help="record every cluster's members in the problems file "
              "(creates it; keeps its names, comments and order).")
@pass_context
def problems(obj: Context, paths: tuple[Path, ...], fmt: str, include_drafts: bool, write: bool) -> None:
    """Recurring problems and their names in the problems file (problems_file, default
    problems.yml beside mkdocs.yml).

    Lists each cluster's id, name (or generated label), owner and whether its members are
    recorded. With --write, records the members, so that a cluster keeps its id and name when
    its earliest incident leaves it, as long as most members stay.
    """
    from . import problems as names_file
    from .analysis import analyse

    settings, postmortems = load_corpus(obj, paths, include_drafts)
    path = settings.problems_path()
    if path is None:
        raise click.UsageError("no mkdocs.yml found: the problems file lives beside it")
    result = analyse(postmortems, settings)
    _warn(result.warnings, result.notes)
    entries, _ = names_file.load(path, settings.problems_file, settings.max_file_size)
    recorded = {e.id: e for e in entries}
    if write:
        from .confine import SymlinkRefused, first_link, replace_file
        from .inventory import NotRegularFile, read_regular

        root = settings.config_file.parent.resolve()
        link = first_link(path, root)
        if link is not None:  # (a committed link: the file it points to is not rewritten)
            raise click.ClickException(f"{settings.problems_file} was not changed: {link} is a symbolic link, "
                                       "which is never written through (replace it with a regular file)")
        try:
            old = read_regular(path).decode("utf-8")
        except FileNotFoundError:
            old = None
        except (NotRegularFile, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{settings.problems_file} was not changed: {exc}")
        try:
            new = names_file.updated_text(old, result.clusters)
        except ValueError as exc:
            raise click.ClickException(f"{settings.problems_file} was not changed: fix it first ({exc})")
        if new != old:
            try:
                replace_file(path, new.encode("utf-8"), root)
            except SymlinkRefused as exc:
                raise click.ClickException(f"{settings.problems_file} was not changed: {exc.path} is a symbolic "
                                           "link, which is never written through (replace it with a regular file)")
            except OSError as exc:
                raise click.ClickException(f"{settings.problems_file} was not changed: {exc}")
            emit(f"wrote {settings.problems_file}: members of {len(result.clusters)} cluster(s) recorded",
                       err=True)
        else:
            emit(f"{settings.problems_file} is up to date", err=True)
        entries, _ = names_file.load(path, settings.problems_file, settings.max_file_size)
        recorded = {e.id: e for e in entries}
    rows = []
    for cluster in result.clusters:
        entry = recorded.get(cluster.id)
        state = ("not in the file" if entry is None else
                 "members recorded" if entry.members and set(entry.members) == set(cluster.members) else
                 "members changed" if entry.members else "members not recorded")
        rows.append({"id": cluster.id, "name": cluster.name or None, "generated_label": cluster.generated_label,
                     "owner": cluster.owner or None, "note": cluster.note or None, "members": list(cluster.members),
                     "file": state})
    if fmt == "json":
        emit(json.dumps({"problems_file": settings.problems_file, "clusters": rows}, ensure_ascii=False,
                              indent=2))
        return
    for row in rows:
        name = row["name"] or f"({row['generated_label']})"
        owner = f"  owner: {row['owner']}" if row["owner"] else ""
        emit(f"{row['id']}  {name}{owner}  [{len(row['members'])} incidents; {row['file']}]")
    named = sum(1 for r in rows if r["name"])
    emit(f"{len(rows)} recurring problems, {named} named in {settings.problems_file}")


COMMANDS = [similar, related, clusters, problems]
