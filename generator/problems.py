"""Names a team gives its recurring problems by hand: ``problems.yml`` beside ``mkdocs.yml``.

The file maps a cluster id to a name, with an optional owner and note, and optionally the
members the cluster had when it was named (``pmkb problems --write`` records them)::

    C-PM-2013-001:
      name: Certificate expiry
      owner: platform-team
      note: Renewal is automated since 2021 (OPS-412).
      members: [PM-2013-001, PM-2018-009, PM-2019-003, PM-2021-005]
    C-PM-2008-001: BGP route leaks          # short form: the name alone

**Names and ids that last.** Each clustering matches every entry to the cluster that now holds
*most* (more than half) of its recorded members (without ``members``: the cluster holding the
post-mortem its id names). That cluster keeps the entry's id and shows its name, however many
new members joined and even when its earliest member left it. A cluster that matches no entry
gets ``C-`` + its earliest member's id (the next member's when an entry already holds that id).
When two entries match one cluster (two named problems merged), the one with more recorded
members in it wins (ties: the smaller id) and a warning names the other; an entry that matches
no cluster is a warning too (its problem split up, or became one-offs).

The file is optional; option ``problems_file`` (default ``problems.yml``, relative to
``mkdocs.yml``). :func:`check` validates it with file, line, field and fix
(:class:`~generator.model.Problem`, codes ``problems-*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .inventory import SYMLINK, NotRegularFile, read_regular
from .model import Problem

DEFAULT_FILE = "problems.yml"
CLUSTER_ID = re.compile(r"^C-([A-Z][A-Z0-9]*-\d{4}-\d{3,})$")
POSTMORTEM_ID = re.compile(r"^[A-Z][A-Z0-9]*-\d{4}-\d{3,}$")
FIELDS = ("name", "owner", "note", "members")
MAX_NAME = 120
MAX_TEXT = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_STR = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class ProblemName:
    """One entry of the problems file: ``id`` (``C-`` + a post-mortem id), ``name`` ("" when
    the entry only keeps an id), ``owner`` and ``note`` ("" when absent), ``members`` (the
    recorded member ids, possibly empty) and ``line`` (1-based line of its key)."""

    id: str
    name: str = ""
    owner: str = ""
    note: str = ""
    members: tuple[str, ...] = ()
    line: int = 1

    def recorded(self) -> tuple[str, ...]:
        """The members to look for: the recorded ones, else the post-mortem of the id."""
        return self.members or (self.id[2:],)


def _problem(path: str, line: int | None, field: str | None, code: str, message: str, fix: str,
             level: str = "error") -> Problem:
    return Problem(path=path, line=line, column=None, field=field, level=level, code=code, message=message, fix=fix)


def _text_value(node, path: str, key: str, field: str, limit: int, problems: list[Problem]) -> str | None:
    import yaml

    line = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not node.value.strip():
        problems.append(_problem(path, line, f"{key}.{field}", f"problems-{field}",
                                 f"{key}: '{field}' must be non-empty text",
                                 f"write the {field} as text on one line, e.g. {field}: Certificate expiry"))
        return None
    value = " ".join(node.value.split())
    if _CONTROL.search(node.value) or len(value) > limit:
        problems.append(_problem(path, line, f"{key}.{field}", f"problems-{field}",
                                 f"{key}: '{field}' has {len(value)} characters or control characters "
                                 f"(at most {limit}, printable text)",
                                 f"shorten the {field} to at most {limit} printable characters"))
        return None
    return value


def parse(text: str, path: str = DEFAULT_FILE) -> tuple[list[ProblemName], list[Problem]]:
    """Read the problems file's text.

    Returns:
        ``(entries, problems)``: the valid entries in file order, and one
        :class:`~generator.model.Problem` per fault (``problems-yaml``: not YAML or not a
        mapping; ``problems-id``: a key that is not ``C-`` + a post-mortem id;
        ``problems-duplicate``: a key given twice; ``problems-field``: an unknown field;
        ``problems-name``, ``problems-owner``, ``problems-note``, ``problems-members``: a bad
        value). An entry with a fault is left out. Never raises.
    """
    import yaml

    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(_problem(path, mark.line + 1 if mark else None, None, "problems-yaml",
                                 f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                                 "fix the YAML syntax (one 'C-<id>:' key per problem, fields indented below)"))
        return [], problems
    if root is None:
        return [], []
    if not isinstance(root, yaml.MappingNode):
        problems.append(_problem(path, root.start_mark.line + 1, None, "problems-yaml",
                                 "the file must be a mapping of cluster ids to names",
                                 "write one 'C-PM-2024-001: Name' line (or a 'C-...:' key with name/owner/note) "
                                 "per problem"))
        return [], problems
    entries: list[ProblemName] = []
    seen: dict[str, int] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
        if not isinstance(key_node, yaml.ScalarNode) or not CLUSTER_ID.match(key):
            problems.append(_problem(path, line, None, "problems-id",
                                     f"{str(key)[:60]!r} is not a cluster id",
                                     "use the id pmkb clusters shows: C- followed by a post-mortem id, "
                                     "e.g. C-PM-2024-017"))
            continue
        if key in seen:
            problems.append(_problem(path, line, key, "problems-duplicate",
                                     f"given twice (first on line {seen[key]})",
                                     "keep one entry per cluster id and remove the other"))
            continue
        seen[key] = line
        if isinstance(value_node, yaml.ScalarNode):
            name = _text_value(value_node, path, key, "name", MAX_NAME, problems)
            if name is not None:
                entries.append(ProblemName(id=key, name=name, line=line))
            continue
        if not isinstance(value_node, yaml.MappingNode):
            problems.append(_problem(path, line, key, "problems-name",
                                     f"{key}: the value must be a name or fields (name, owner, note, members)",
                                     f"write '{key}: Name', or 'name:' (and optional owner, note) indented below"))
            continue
        values: dict[str, object] = {}
        ok = True
        for field_node, item in value_node.value:
            fname = field_node.value if isinstance(field_node, yaml.ScalarNode) else ""
            fline = field_node.start_mark.line + 1
            if fname not in FIELDS:
                problems.append(_problem(path, fline, f"{key}.{str(fname)[:40]}", "problems-field",
                                         f"{key}: unknown field {str(fname)[:40]!r}",
                                         f"use only {', '.join(FIELDS)}"))
                ok = False
                continue
            if fname == "members":
                members = _members(item, path, key, problems)
                ok = ok and members is not None
                values["members"] = members or ()
            else:
                value = _text_value(item, path, key, fname, MAX_NAME if fname == "name" else MAX_TEXT, problems)
                ok = ok and value is not None
                values[fname] = value or ""
        if not values.get("name") and not values.get("members") and ok:
            problems.append(_problem(path, line, f"{key}.name", "problems-name",
                                     f"{key}: has neither a name nor members",
                                     "add 'name: <what the problem is>' (members alone only keep the id)"))
            ok = False
        if ok:
            entries.append(ProblemName(id=key, line=line, **values))
    return entries, problems


def _members(node, path: str, key: str, problems: list[Problem]) -> tuple[str, ...] | None:
    import yaml

    line = node.start_mark.line + 1
    if not isinstance(node, yaml.SequenceNode) or not node.value or not all(
            isinstance(n, yaml.ScalarNode) and POSTMORTEM_ID.match(n.value) for n in node.value):
        problems.append(_problem(path, line, f"{key}.members", "problems-members",
                                 f"{key}: 'members' must be a list of post-mortem ids",
                                 "write members: [PM-2024-001, PM-2024-017] (pmkb problems --write records them)"))
        return None
    return tuple(dict.fromkeys(n.value for n in node.value))


def load(path: Path | None, display: str | None = None, max_bytes: int = 1_000_000
         ) -> tuple[list[ProblemName], list[Problem]]:
    """Read and :func:`parse` the problems file at ``path``; a missing file gives ``([], [])``.

    Only a regular file is read (not a link or FIFO), of at most ``max_bytes``: it is opened
    once (:func:`generator.inventory.read_regular`, no check-then-read race), and every fault is
    returned as a ``problems-yaml`` error, never raised.

    Returns:
        (entries, problems): the named problems in file order, and the faults found.
    """
    if path is None:
        return [], []
    shown = display or path.name
    try:
        raw = read_regular(path, limit=max_bytes + 1)
    except NotRegularFile as exc:
        if exc.kind == SYMLINK:
            return [], [_problem(shown, None, None, "problems-yaml", "the problems file is a symbolic link",
                                 "replace the link with a regular file")]
        return [], [_problem(shown, None, None, "problems-yaml", "the problems file is not a regular file",
                             "make it a regular YAML file")]
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        if path.is_dir():
            return [], [_problem(shown, None, None, "problems-yaml", "the problems file is not a regular file",
                                 "make it a regular YAML file")]
        return [], [_problem(shown, None, None, "problems-yaml", f"cannot read the problems file: {exc.strerror}",
                             "make it a readable UTF-8 text file")]
    if len(raw) > max_bytes:
        return [], [_problem(shown, None, None, "problems-yaml",
                             f"the problems file is larger than {max_bytes} bytes",
                             "keep one short entry per recurring problem")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [_problem(shown, None, None, "problems-yaml", f"cannot read the problems file: {exc}",
                             "save it as UTF-8 text")]
    return parse(text, shown)


def check(settings, corpus_ids: set[str] | None = None) -> list[Problem]:
    """Validation of the problems file of ``settings`` (for ``pmkb validate`` and the build):
    the faults of :func:`parse`, and a warning (``problems-members``) per recorded member that
    is not a post-mortem of ``corpus_ids``."""
    path = settings.problems_path()
    display = settings.problems_file
    entries, problems = load(path, display, settings.max_file_size)
    if corpus_ids is not None:
        for entry in entries:
            missing = [m for m in entry.recorded() if m not in corpus_ids]
            if missing:
                problems.append(_problem(display, entry.line, f"{entry.id}.members", "problems-members",
                                         f"{entry.id}: {', '.join(missing[:5])} "
                                         "not in the knowledge base (left, or renamed)", "run pmkb problems --write to record the current members",
                                         level="warning"))
    return problems


def assign(groups: list[list[str]], entries: list[ProblemName], path: str = DEFAULT_FILE,
           present: set[str] | None = None) -> tuple[list[tuple[str, ProblemName | None]], list[str]]:
    """Cluster ids (and names) for the clusters of one clustering.

    Args:
        groups: each cluster's member ids, earliest member first (date order).
        entries: the problems file's entries.
        path: the file's name, for the warnings.
        present: the ids of the post-mortems clustered (``None``: all). Recorded members that
            are not among them (deleted, or left out of a public build) do not count: "most
            members" is counted over those present.

    Returns:
        ``(assigned, warnings)``: per group, ``(cluster id, matching entry or None)``; warnings
        for entries that match no cluster and for entries that lost a merge (see the module
        docstring for the rule).
    """
    claims: dict[int, list[tuple[int, str, ProblemName]]] = {}
    unmatched: list[ProblemName] = []
    member_sets = [set(g) for g in groups]
    for entry in entries:
        recorded = [m for m in entry.recorded() if present is None or m in present]
        best = None
        for k, members in enumerate(member_sets):
            overlap = sum(m in members for m in recorded)
            if recorded and 2 * overlap > len(recorded):
                best = (k, overlap)
                break  # a majority can be in one cluster only
        if best is None:
            unmatched.append(entry)
        else:
            claims.setdefault(best[0], []).append((-best[1], entry.id, entry))
    assigned: list[tuple[str, ProblemName | None]] = [("", None)] * len(groups)
    warnings: list[str] = []
    taken: set[str] = set()
    for k, options in sorted(claims.items()):
        options.sort(key=lambda o: (o[0], o[1]))
        winner = options[0][2]
        assigned[k] = (winner.id, winner)
        taken.add(winner.id)
        for _, _, loser in options[1:]:
            warnings.append(f"{path}:{loser.line}: {loser.id} ({loser.name or 'no name'}) merged into "
                            f"{winner.id} ({winner.name or 'no name'}): most members of both are now one recurring "
                            "problem; keep one entry")
    taken.update(e.id for e in unmatched)
    for k, members in enumerate(groups):
        if assigned[k][1] is not None:
            continue
        cid = next((f"C-{m}" for m in members if f"C-{m}" not in taken), f"C-{members[0]}")
        taken.add(cid)
        assigned[k] = (cid, None)
    for entry in unmatched:
        warnings.append(f"{path}:{entry.line}: {entry.id} ({entry.name or 'no name'}) matches no recurring "
                        f"problem now: no cluster holds most of {', '.join(entry.recorded()[:5])}; "
                        "run pmkb problems to see the clusters, then update or remove the entry")
    return assigned, warnings


HEADER = """\
# Names of recurring problems, by cluster id (README: "Naming recurring problems").
# Under an id write 'name:' (and optionally 'owner:', 'note:'). 'members' records who was in
# the cluster: it keeps the id and the name when the earliest incident leaves the cluster, as
# long as most members stay (pmkb problems --write updates it).
"""


def _flow(ids) -> str:
    return "[" + ", ".join(ids) + "]"


def updated_text(text: str | None, clusters) -> str:
    """The problems file's text with every cluster's members recorded.

    Args:
        text: the file's current text (``None`` when there is none yet); it must parse
            without faults.
        clusters: :class:`~generator.model.Cluster` objects of the current analysis.

    Returns:
        The new text: each entry whose id a cluster has gets ``members:`` set to that
        cluster's members (its other lines, comments and order kept; a short ``C-...: Name``
        entry becomes a ``name:`` field); every cluster without an entry is appended with its
        generated label as a comment. Entries no cluster matches are left as they are.
    """
    by_id = {c.id: c for c in clusters}
    lines = (text or HEADER).splitlines()
    entries, faults = parse(text or "")
    if faults:
        raise ValueError("; ".join(f"{p.location}: {p.message}" for p in faults))
    starts = sorted(e.line - 1 for e in entries)
    top = [i for i, line in enumerate(lines) if line[:1] not in ("", " ", "\t", "#")]
    edits: list[tuple[int, int, list[str]]] = []  # (first line, end line exclusive, replacement)
    for entry in entries:
        cluster = by_id.get(entry.id)
        if cluster is None:
            continue
        first = entry.line - 1
        end = next((i for i in top if i > first), len(lines))
        while end - 1 > first and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1
        members = f"  members: {_flow(cluster.members)}"
        key_line = lines[first]
        after = key_line.split(":", 1)[1].strip() if ":" in key_line else ""
        if after and not after.startswith("#"):  # short form: "C-...: Name"
            edits.append((first, first + 1, [f"{entry.id}:", f"  name: {after}", members]))
            continue
        block = list(range(first + 1, end))
        found = [i for i in block if lines[i].lstrip().startswith("members:")
                 and len(lines[i]) - len(lines[i].lstrip()) == 2]
        if found:
            i = found[0]
            stop = i + 1
            while stop < end and lines[stop].startswith("    -"):
                stop += 1
            edits.append((i, stop, [members]))
        else:
            edits.append((end, end, [members]))
    for start, stop, new in sorted(edits, reverse=True):
        lines[start:stop] = new
    known = {e.id for e in entries}
    for cluster in clusters:
        if cluster.id in known:
            continue
        if lines and lines[-1].strip():
            lines.append("")
        lines += [f"{cluster.id}:", f"  # generated label: {' '.join(cluster.generated_label.split())}",
                  f"  members: {_flow(cluster.members)}"]
    del starts
    out = "\n".join(lines) + "\n"
    check_entries, check_faults = parse(out)
    if check_faults:  # never write a file that no longer parses
        raise ValueError("; ".join(f"{p.location}: {p.message}" for p in check_faults))
    return out
