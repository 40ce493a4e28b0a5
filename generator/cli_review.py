"""``pmkb review``: the pull-request review comment (registered by :mod:`generator.cli`)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from .cli import EXIT_ERRORS, EXIT_OK, Context, emit, pass_context


@click.command()
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--base", "base_ref", required=True, metavar="REF",
              help="Git revision to compare with, e.g. origin/main (its merge base with HEAD is used).")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True,
              help="md: Markdown for a pull-request comment or job summary; json for tools.")
@click.option("--duplicate-threshold", type=click.FloatRange(0, 1), default=None,
              help="Score at or above which a link is flagged as a possible duplicate "
                   "(default: generator.review.DUPLICATE_THRESHOLD).")
@pass_context
def review(obj: Context, path: Path | None, base_ref: str, fmt: str, duplicate_threshold: float | None) -> None:
    """Review the post-mortems changed since REF, for a pull request.

    PATH is the post-mortems folder (default: the docs_dir of mkdocs.yml). Compares it as it is
    on disk (HEAD plus uncommitted and untracked files) with REF, and prints the validation
    problems of the added and changed files, their nearest post-mortems, possible duplicates,
    recurrence clusters before and after, and how other post-mortems' related lists change.
    Exit 1 only when a changed file has a validation error; 2 when REF or the repository is
    unusable.
    """
    from .review import DUPLICATE_THRESHOLD, ReviewError, format_json, format_markdown
    from .review import review as run_review

    settings = obj.settings
    if path is not None:
        settings = dataclasses.replace(settings, docs_dir=path.resolve())
    elif not settings.docs_dir.is_dir():
        raise click.UsageError(f"the docs folder {settings.docs_dir} does not exist; pass the post-mortems folder")
    threshold = DUPLICATE_THRESHOLD if duplicate_threshold is None else duplicate_threshold
    try:
        result = run_review(base_ref, settings, threshold=threshold)
    except ReviewError as exc:
        raise click.UsageError(str(exc)) from exc
    obj.redactor = result.validation.redactor
    emit(format_json(result) if fmt == "json" else format_markdown(result), nl=fmt == "json")
    sys.exit(EXIT_ERRORS if result.exit_code else EXIT_OK)


COMMANDS = [review]
