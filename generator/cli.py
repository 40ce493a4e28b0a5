"""``pmkb``: the command line over the library (validate, new, and the analysis commands).

Commands parse arguments, call the library, and map its errors to a clean message and exit
code: 0 success, 1 the files have errors, 2 usage or configuration error. Heavy imports
(scikit-learn) happen inside the commands that need them, so ``pmkb validate`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import os
import re
import sys
from pathlib import Path

import click

from . import __version__
from .model import SEVERITIES
from .settings import ConfigError, Settings, load_settings

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class Context:
    """Per-invocation state: the config file named by ``--config-file`` and its settings."""

    def __init__(self, config_file: Path | None):
        self.config_file = config_file
        self._settings: Settings | None = None
        self.redactor = None  # the run's masking step (generator.scan.Redactor), once files are read

    @property
    def settings(self) -> Settings:
        """Options from ``mkdocs.yml``; a broken config file is a usage error (exit 2)."""
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_file)
            except ConfigError as exc:
                raise click.UsageError(str(exc)) from exc
        return self._settings


pass_context = click.make_pass_decorator(Context)


def emit(text: str = "", **kwargs) -> None:
    """``click.echo`` at the edge: every secret value the command's validation found (in any
    file it read) is hidden from what is printed, whatever check or analysis put it there
    (:attr:`generator.validate.ValidationResult.redactor`). Keyword arguments as for
    ``click.echo``."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(Context) if ctx is not None else None
    redactor = getattr(obj, "redactor", None)
    click.echo(redactor.hide(text) if redactor else text, **kwargs)


# Commands that live in their own modules, loaded when first needed: importing one of those
# modules first (it imports this one) then never meets a half-initialised module. Each module
# is listed with the names of its commands, so a command imports its own module only (pmkb
# validate none of them, pmkb similar not the importers); tests/test_cli_lazy.py checks the names.
COMMAND_MODULES = {
    "generator.cli_similarity": ("similar", "related", "clusters", "problems"),
    "generator.cli_report": ("report",),
    "generator.cli_review": ("review",),
    "generator.cli_migrate": ("migrate",),
    "generator.cli_build": ("build", "serve"),
    "generator.cli_import": ("import",),
    "generator.cli_vocabulary": ("vocabulary",),
}


class _Group(click.Group):
    """A click group that adds the commands of :data:`COMMAND_MODULES` on first use: the one
    module that holds the command asked for, or all of them to list them (``--help``)."""

    _loaded: frozenset = frozenset()

    def _load(self, names=None) -> None:
        import importlib

        for module_name, commands in COMMAND_MODULES.items():
            if module_name in self._loaded or (names is not None and not set(names) & set(commands)):
                continue
            self._loaded = self._loaded | {module_name}
            for command in importlib.import_module(module_name).COMMANDS:
                self.add_command(command)

    def list_commands(self, ctx):
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands:
            self._load((cmd_name,))
        if cmd_name not in self.commands:  # a misspelt name: click's "did you mean" needs all of them
            self._load()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pmkb")
@click.option("--config-file", "-f", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="mkdocs.yml to read the 'postmortems' plugin options from (default: ./mkdocs.yml).")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None) -> None:
    """postmortem-kb: validate, link and report on incident post-mortems."""
    ctx.obj = Context(config_file)
    library = logging.getLogger("mkdocs.plugins.generator")
    if not any(isinstance(handler, _Warnings) for handler in library.handlers):
        library.addHandler(_Warnings(logging.WARNING))


class _Warnings(logging.Handler):
    """The library's logged warnings (under ``mkdocs.plugins.generator``, as MkDocs shows them
    in a build; the cache's :func:`generator.cache.warn_link`) on standard error, as
    ``warning: ...``."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"warning: {record.getMessage()}", err=True)


def resolve_paths(settings: Settings, paths: tuple[Path, ...]) -> list[Path]:
    """PATH arguments, or the docs folder from ``mkdocs.yml`` when none are given.

    Raises:
        click.UsageError: no PATH and the docs folder does not exist.
    """
    if paths:
        return list(paths)
    if not settings.docs_dir.is_dir():
        raise click.UsageError(f"no PATH given and the docs folder {settings.docs_dir} does not exist; "
                               "pass the post-mortem files or folders to check")
    return [settings.docs_dir]


def _existing_paths(ctx, param, values: tuple[Path, ...]) -> tuple[Path, ...]:
    """PATH arguments must exist; a symbolic link counts even when it is dangling (the
    validator reports it as ``file-symlink`` rather than following it)."""
    for value in values:
        if not os.path.lexists(value):
            raise click.BadParameter(f"{str(value)!r} does not exist", ctx=ctx, param=param)
    return values


PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path), callback=_existing_paths)
INCLUDE_DRAFTS = click.option("--include-drafts", is_flag=True,
                              help="Also count status: draft post-mortems (the built site leaves them out).")


@cli.command()
@PATHS
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="text for people, json for tools, github for Actions annotations.")
@click.option("--strict", is_flag=True,
              help="Fail (exit 1) on warnings too, as `mkdocs build --strict` does.")
@click.option("--allow-empty", is_flag=True,
              help="Accept a folder with no post-mortem in it (a new knowledge base); without it that is an error.")
@pass_context
def validate(obj: Context, paths: tuple[Path, ...], fmt: str, strict: bool, allow_empty: bool) -> None:
    """Check post-mortems against the format and each other.

    PATHS are files or folders (default: the docs_dir of mkdocs.yml). Every problem is
    reported, with file, line, field, a stable code and a fix. Exit 1 when there is an error
    (or, with --strict, a warning), and when no post-mortem was found at all (a CI job pointed
    at the wrong folder must not pass), unless --allow-empty.
    """
    from .output import format_github, format_json, format_text
    from .validate import validate as run_validation

    settings = obj.settings
    targets = resolve_paths(settings, paths)
    result = run_validation(targets, settings)
    # Files named one by one that are pages, attachments or links were checked as such: only a
    # run that found nothing to check at all, or a folder without post-mortems, is "empty".
    named_files = all(not os.path.isdir(t) for t in targets) and (result.other_files or result.problems)
    if not result.files and not allow_empty and not named_files:
        result.problems.append(nothing_found(targets, settings))
    elif fmt == "text":
        _note_skipped_templates(targets, settings)
    obj.redactor = result.redactor
    if fmt == "json":
        emit(format_json(result))
    elif fmt == "github":
        emit(format_github(result))
    else:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        emit(format_text(result, style=click.style if color else (lambda text, **kw: text)), color=color)
    failed = result.errors or (strict and result.warnings)
    sys.exit(EXIT_ERRORS if failed else EXIT_OK)


def nothing_found(targets: list[Path], settings: Settings):
    """The ``no-postmortems`` error of a run that found no post-mortem file: where it looked
    and what it left out (ordinary pages, templates), so a wrong folder is obvious."""
    from .foreign import where_looked
    from .model import Problem
    from .validate import display_path, skipped_files

    pages, templates = skipped_files(targets, settings)
    from .inventory import lexical

    shown = [Path(display_path(lexical(t))) for t in targets]  # (a link is named, not what it points to)
    return Problem(", ".join(p.as_posix() for p in shown), None, None, None, "error", "no-postmortems",
                   f"no post-mortem found: {where_looked(shown, pages, templates)}",
                   "point pmkb at the post-mortems folder (the docs_dir of mkdocs.yml, or a PATH); bring an "
                   "archive in with `pmkb import`; or pass --allow-empty for a knowledge base with nothing in it yet")


def _note_skipped_templates(targets: list[Path], settings: Settings) -> None:
    """Say once, on stderr, which template files were left out (``templates`` option)."""
    from .validate import skipped_files

    _, templates = skipped_files([t for t in targets if t.is_dir()], settings)
    if templates:
        shown = ", ".join(templates[:5]) + (f" and {len(templates) - 5} more" if len(templates) > 5 else "")
        n = len(templates)
        click.echo(f"note: {n} template file{'s' * (n != 1)} not checked as post-mortems ({shown}), "
                   "by the 'templates' option", err=True)


def _default_author() -> str:
    """A kebab-case name for the person running the command (git's user.name, else the login)."""
    import subprocess

    try:
        name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        name = ""
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = ""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "your-name"


def _parse_date(ctx, param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    from .validate import calendar_problem, parse_date

    impossible = calendar_problem(value)
    if impossible is not None:
        raise click.BadParameter(f"{value!r} is not a real calendar date: {impossible[0]}; {impossible[1]}")
    date = parse_date(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) else None
    if date is None:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2024-03-14")
    return date


def _check_service(ctx, param, values: tuple[str, ...]) -> tuple[str, ...]:
    from .validate import kebab_problem
    from .vocabulary import KEBAB

    for value in values:
        if not KEBAB.fullmatch(value):
            reason, fix = kebab_problem(value)
            raise click.BadParameter(f"{value!r} {reason}; {fix}")
    return values


# Which option of `pmkb new` a front-matter field comes from, to name it in a refusal.
_NEW_OPTIONS = {"title": "TITLE", "date": "--date", "severity": "--severity", "services": "--service",
                "authors": "--author", "id": "the computed id"}


def _refuse_invalid_draft(text: str, path: Path, settings: Settings) -> None:
    """Run the file ``pmkb new`` is about to write through the validator; refuse (exit 2) with
    the validator's messages when it has an error, so that ``new`` never writes an invalid file.

    Raises:
        click.UsageError: the draft has validation errors (nothing is written).
    """
    from . import scan
    from .loader import source_from_text
    from .validate import check_file

    src = source_from_text(text, path, path.name)
    with scan.SecretScanner() as secrets:
        check_file(src, settings, path.name, secrets)
    errors = [p for p in src.problems if p.level == "error"]
    if not errors:
        return
    lines = []
    for problem in errors:
        root = re.split(r"[.\[]", problem.field or "", maxsplit=1)[0]
        where = _NEW_OPTIONS.get(root, problem.field or f"line {problem.line}")
        lines.append(f"  {where}: {problem.message} ({problem.fix})")
    raise click.UsageError("the post-mortem would not pass `pmkb validate`, so nothing was written:\n"
                           + "\n".join(lines) + "\nchange what you gave there and run `pmkb new` again")


def _values_in_use(field: str):
    """Shell completion of ``--service`` / ``--tag`` / ``--trigger``: the values the docs
    folder's post-mortems use, most used first (``pmkb vocabulary``)."""
    def complete(ctx, param, incomplete: str):
        from click.shell_completion import CompletionItem

        try:
            counts = _vocabulary_in_use(Context(ctx.find_root().params.get("config_file")))[0][field]
        except (ConfigError, OSError):
            return []
        return [CompletionItem(value, help=f"{n} post-mortem{'s' if n != 1 else ''}")
                for value, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
                if value.startswith(incomplete)]
    return complete


def _vocabulary_in_use(obj: "Context"):
    from .cli_vocabulary import corpus_vocabulary

    return corpus_vocabulary(obj)


def _offer(field: str, label: str, counts, multiple: bool) -> list[str]:
    """Ask for ``field`` on a terminal, showing the values in use (most used first)."""
    from .cli_vocabulary import ranked

    shown = ranked(counts)[:12]
    if shown:
        more = f", … ({len(counts) - len(shown)} more: pmkb vocabulary {label})" if len(counts) > len(shown) else ""
        click.echo(f"{label} in use: " + ", ".join(f"{v} ({n})" for v, n in shown) + more, err=True)
    question = f"{label.capitalize()} (comma-separated)" if multiple else label[:-1].capitalize()
    answer = click.prompt(question, default="",
                          show_default=False, err=True)
    values = [v.strip() for v in answer.split(",") if v.strip()]
    return values if multiple else values[:1]


def _interactive() -> bool:
    """Whether ``pmkb new`` may ask (a person at a terminal, not a script or CI)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _ask_kebab(field: str, label: str, counts, multiple: bool) -> list[str]:
    """:func:`_offer` until every answer is kebab-case."""
    from .validate import kebab_problem
    from .vocabulary import KEBAB

    while True:
        values = _offer(field, label, counts, multiple)
        bad = [v for v in values if not KEBAB.fullmatch(v)]
        if not bad:
            return values
        reason, fix = kebab_problem(bad[0])
        click.echo(f"{bad[0]!r} {reason}; {fix}", err=True)


def _vocabulary_notes(obj: "Context", given: dict[str, list[str]], counts) -> None:
    """Say on stderr which given services, tags or trigger are new and close to a value in use
    (or outside the declared ``vocabulary``), as ``pmkb validate`` will warn."""
    from .vocabulary import check_values, corpus_indexes, message

    values = {field: [(field, v) for v in vs] for field, vs in given.items() if vs}
    if not values:
        return
    counts = {field: counts[field] + type(counts[field])(set(given.get(field, []))) for field in counts}
    declared = obj.settings.declared_vocabulary()
    for s in check_values(values, counts, corpus_indexes(counts, obj.settings.search_synonyms()), declared):
        text, fix = message(s, len(declared.get(s.field, ())))
        click.echo(f"note: {text}; {fix}", err=True)


@cli.command()
@click.argument("title")
@click.option("--severity", type=click.Choice(SEVERITIES), default="SEV3", show_default=True,
              help="SEV1 (worst) .. SEV4.")
@click.option("--service", "services", multiple=True, callback=_check_service,
              shell_complete=_values_in_use("services"),
              help="Affected service in kebab-case; repeat for several (pmkb vocabulary services lists those "
                   "in use). At least one is needed: asked for on a terminal, required with --no-input or "
                   "when the input is not a terminal.")
@click.option("--tag", "tags", multiple=True, callback=_check_service, shell_complete=_values_in_use("tags"),
              help="Tag in kebab-case; repeat for several.")
@click.option("--trigger", callback=lambda ctx, param, v: _check_service(ctx, param, (v,))[0] if v else None,
              shell_complete=_values_in_use("trigger"), help="What set it off, one kebab-case term.")
@click.option("--no-input", is_flag=True,
              help="Never ask (a terminal is asked for services, tags and trigger when none are given).")
@click.option("--date", "date", callback=_parse_date, help="Day the incident started (default: today, UTC).")
@click.option("--author", "authors", multiple=True, help="Author; repeat for several (default: git user.name).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into (default: the docs_dir of mkdocs.yml).")
@pass_context
def new(obj: Context, title: str, severity: str, services: tuple[str, ...], tags: tuple[str, ...],
        trigger: str | None, no_input: bool, date: dt.date | None, authors: tuple[str, ...],
        directory: Path | None) -> None:
    """Start a post-mortem from the standard template.

    Writes DIR/YYYY-MM-DD-slug.md with the next free id and status: draft, prints its path,
    and never overwrites an existing file. On a terminal, without --service, --tag or
    --trigger, it shows the values the corpus uses and asks for them (--no-input: never);
    a given value that is new and close to one in use gets a "did you mean" note.
    """
    from slugify import slugify

    from .validate import ID_PARTS, corpus_ids, display_path, next_free_id

    if not title.strip():
        raise click.BadParameter("the title is empty", param_hint="TITLE")
    if len(title) > 120:
        raise click.BadParameter(f"the title has {len(title)} characters; keep it to 120", param_hint="TITLE")
    settings = obj.settings
    folder = directory or settings.docs_dir
    if directory is None and not folder.is_dir():
        raise click.UsageError(f"the docs folder {folder} does not exist; run pmkb in the project folder "
                               "(next to mkdocs.yml) or pass --dir")
    today = dt.datetime.now(dt.timezone.utc).date()
    if date is not None and date > today + dt.timedelta(days=1):
        raise click.BadParameter(f"{date.isoformat()} is in the future; give the day the incident started",
                                 param_hint="--date")
    date = date or today
    slug = slugify(title, max_length=60, word_boundary=True) or "incident"
    path = folder / f"{date.isoformat()}-{slug}.md"
    # Ids are unique across the project: the docs_dir of mkdocs.yml and the target folder.
    taken: set[str] = set()
    for place in {folder.resolve(), settings.docs_dir.resolve()}:
        if place.is_dir():
            taken |= corpus_ids(place, settings)
    pm_id = next_free_id({i for i in taken if ID_PARTS.match(i)}, f"PM-{date.year}-000")
    counts = _vocabulary_in_use(obj)[0] if settings.docs_dir.is_dir() else None
    if counts is not None and not no_input and _interactive():
        if not services:
            services = tuple(_ask_kebab("services", "services", counts["services"], True))
        if not tags:
            tags = tuple(_ask_kebab("tags", "tags", counts["tags"], True))
        if not trigger:
            trigger = next(iter(_ask_kebab("trigger", "triggers", counts["trigger"], False)), None)
    if counts is not None:
        _vocabulary_notes(obj, {"services": list(services), "tags": list(tags),
                                "trigger": [trigger] if trigger else []}, counts)
    from .templates import render_template

    text = render_template(pm_id, title.strip(), date, severity, list(services),
                           list(authors) or [_default_author()], list(tags), trigger)
    _refuse_invalid_draft(text, path, settings)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except FileExistsError:
        raise click.ClickException(f"{path} already exists; pick another title or edit that file")
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror}")
    click.echo(display_path(path.resolve()))
    if not services:
        click.echo("note: add the affected services to 'services:' (validation needs at least one)", err=True)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pmkb")


if __name__ == "__main__":  # python -m generator.cli: run the imported module, whose Context the
    from generator.cli import main as _main  # lazily loaded command modules share

    _main()
