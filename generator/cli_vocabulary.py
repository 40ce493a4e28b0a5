"""``pmkb vocabulary``: the services, tags and triggers the corpus uses, and its near duplicates.

What ``pmkb new`` offers when it asks for services, tags and a trigger, and what a team reads
to tidy its vocabulary (:mod:`generator.vocabulary`): each value with the number of
post-mortems that use it, most used first, then the groups of values close to each other
(``redis-cluster`` / ``redis-clusters``) that split the reports' counts.
"""

from __future__ import annotations

import json
from collections import Counter

import click

from .cli import Context, emit, pass_context
from .vocabulary import FIELDS, near_duplicate_groups

NAMES = {"services": "services", "tags": "tags", "triggers": "trigger", "trigger": "trigger"}


def corpus_vocabulary(obj: Context) -> tuple[dict[str, Counter], dict[str, int]]:
    """``({field: Counter(value -> post-mortems using it)}, {field: post-mortems with a value})``
    of the docs folder's post-mortems (drafts included), read from the model after validation
    (secrets masked; the command's output is masked at the edge with the run's values,
    :func:`generator.cli.emit`)."""
    from .validate import validate

    settings = obj.settings
    counts = {name: Counter() for name in FIELDS}
    files = dict.fromkeys(FIELDS, 0)
    if not settings.docs_dir.is_dir():
        return counts, files
    result = validate([settings.docs_dir], settings)
    obj.redactor = result.redactor
    for pm in result.postmortems:
        trigger = [pm.trigger] if pm.trigger else []
        for name, values in (("services", pm.services), ("tags", pm.tags), ("trigger", trigger)):
            counts[name].update(set(values))
            files[name] += bool(values)
    return counts, files


def ranked(counts: Counter) -> list[tuple[str, int]]:
    """Values most used first, then alphabetically."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@click.command()
@click.argument("field", required=False, type=click.Choice(["services", "tags", "triggers"]))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_context
def vocabulary(obj: Context, field: str | None, fmt: str) -> None:
    """The services, tags and triggers in use, with counts and near duplicates.

    FIELD: only services, tags or triggers (default: all three). JSON: {field: {"values":
    [{"value", "count"}], "near_duplicates": [[value, ...]]}} with the fields services, tags,
    trigger.
    """
    counts, files = corpus_vocabulary(obj)
    synonyms = obj.settings.search_synonyms()
    fields = [NAMES[field]] if field else list(FIELDS)
    report = {name: {"values": [{"value": v, "count": n} for v, n in ranked(counts[name])],
                     "near_duplicates": near_duplicate_groups(counts[name], synonyms)} for name in fields}
    if fmt == "json":
        emit(json.dumps(report, indent=2))
        return
    lines = []
    for name in fields:
        title = "triggers" if name == "trigger" else name
        lines.append(f"{title} ({len(counts[name])} values in {files[name]} post-mortems):")
        lines += [f"  {value}  {n}" for value, n in ranked(counts[name])]
        groups = report[name]["near_duplicates"]
        if groups:
            lines.append("near duplicates:")
            lines += ["  " + ", ".join(f"{v} ({counts[name][v]})" for v in group) for group in groups]
    emit("\n".join(lines))


COMMANDS = [vocabulary]
