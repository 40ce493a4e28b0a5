"""``pmkb build`` and ``pmkb serve``: the site with either engine.

``--engine mkdocs`` (the default) runs ``mkdocs build`` / ``mkdocs serve``, where the
``postmortems`` plugin does the work (:mod:`generator.plugin`); ``--engine zensical`` runs the
Zensical adapter (:mod:`generator.zensical`, the ``[zensical]`` extra). Both validate first and
stop on errors with ``pmkb validate``'s messages, and write the site to ``mkdocs.yml``'s
``site_dir``.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from .cli import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, Context, pass_context
from .settings import find_config

ENGINES = ("mkdocs", "zensical")
ENGINE = click.option("--engine", type=click.Choice(ENGINES), default="mkdocs", show_default=True,
                      help="mkdocs: MkDocs + Material with the postmortems plugin; zensical: Zensical "
                           "(pip install 'postmortem-kb[zensical]').")


def _config(obj: Context) -> Path:
    config = obj.config_file or find_config()
    if config is None:
        raise click.UsageError("no mkdocs.yml here or above; give one with --config-file")
    return Path(config)


def _need_zensical() -> None:
    if importlib.util.find_spec("zensical") is None:
        raise click.UsageError("Zensical is not installed: pip install 'postmortem-kb[zensical]'")


def _exit_on_sigterm() -> None:
    """Turn SIGTERM and SIGHUP (a CI job cancelled, a closed terminal, ``kill``) into
    :class:`SystemExit` (128 + the signal's number), so the ``finally`` blocks that stop the
    engine's process run: without it the engine outlives ``pmkb`` and keeps its port."""
    def stop(number, frame):
        sys.exit(128 + number)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def _mkdocs(command: str, config: Path, *args: str) -> int:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": os.environ.get("NO_MKDOCS_2_WARNING", "1")}
    process = subprocess.Popen([sys.executable, "-m", "mkdocs", command, "-f", str(config), *args], env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.wait()
        return EXIT_OK
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait()


def _site_refusal(config: Path) -> str | None:
    """Why MkDocs may not build into ``config``'s ``site_dir`` (a symbolic link, or one inside
    it: :func:`generator.confine.site_refusal`), or ``None``; a file MkDocs cannot read either
    is left to MkDocs to report."""
    from .confine import site_refusal
    from .settings import ConfigError, site_dir

    try:
        site = site_dir(config)
    except ConfigError:
        return None
    return site_refusal(site, Path(os.path.normpath(os.path.dirname(os.path.abspath(config)))))


@click.command()
@ENGINE
@click.option("--strict", is_flag=True, help="Warnings fail the build too (as mkdocs build --strict).")
@pass_context
def build(obj: Context, engine: str, strict: bool) -> None:
    """Build the site into mkdocs.yml's site_dir (validation errors stop it, exit 1)."""
    config = _config(obj)
    _exit_on_sigterm()
    if engine == "mkdocs":
        reason = _site_refusal(config)
        if reason is not None:  # before MkDocs empties site_dir: through a link, the folder it points to
            click.echo(f"ERROR   -  {reason}", err=True)
            sys.exit(EXIT_ERRORS)
        code = _mkdocs("build", config, *(["--strict"] if strict else []))
        sys.exit(EXIT_OK if code == 0 else EXIT_ERRORS)
    _need_zensical()
    from .settings import ConfigError
    from .zensical import BuildError, build as zensical_build

    try:
        project = zensical_build(config, strict=strict)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    except BuildError as exc:
        click.echo(f"ERROR   -  {exc}", err=True)
        sys.exit(EXIT_ERRORS)
    click.echo(f"INFO    -  site written to {project.site}", err=True)
    sys.exit(EXIT_OK)


@click.command()
@ENGINE
@click.option("--dev-addr", "-a", metavar="IP:PORT", help="Address to serve on (default 127.0.0.1:8000).")
@pass_context
def serve(obj: Context, engine: str, dev_addr: str | None) -> None:
    """Serve the site with live reload while writing (drafts included)."""
    config = _config(obj)
    _exit_on_sigterm()
    if engine == "mkdocs":
        sys.exit(_mkdocs("serve", config, *(["--dev-addr", dev_addr] if dev_addr else [])))
    _need_zensical()
    from .zensical import BuildError, Project

    try:
        sys.exit(Project(config).serve(dev_addr))
    except BuildError as exc:
        click.echo(f"ERROR   -  {exc}", err=True)
        sys.exit(EXIT_USAGE)


COMMANDS = [build, serve]
