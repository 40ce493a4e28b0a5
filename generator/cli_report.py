"""``pmkb report``: the recurrence report and reliability metrics on the command line.

Registered by :mod:`generator.cli`. Prints the same figures as the site's report pages
(:mod:`generator.reports`), as Markdown, JSON or one CSV table.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from .cli import EXIT_OK, INCLUDE_DRAFTS, PATHS, Context, _parse_date, emit, pass_context, resolve_paths


@click.command()
@PATHS
@click.option("--format", "fmt", type=click.Choice(["md", "json", "csv"]), default="md", show_default=True,
              help="md for people (Markdown), json for tools, csv for a spreadsheet (one table, see --table).")
@click.option("--table", type=click.Choice(["clusters", "quarters", "ttd-quarter", "ttr-quarter", "ttd-year",
                                            "ttr-year", "services", "triggers", "data-quality", "action-items",
                                            "owners"]),
              default="clusters", show_default=True, help="Which table --format csv prints.")
@click.option("--since", callback=_parse_date, metavar="YYYY-MM-DD",
              help="Only incidents on or after this date (recurring problems with an incident since then are "
                   "shown with their whole history).")
@click.option("--today", callback=_parse_date, metavar="YYYY-MM-DD",
              help="Reference date for ages, recency and overdue items (default: the 'today' option of "
                   "mkdocs.yml; unset: today, UTC).")
@INCLUDE_DRAFTS
@pass_context
def report(obj: Context, paths: tuple[Path, ...], fmt: str, table: str, since: dt.date | None,
           today: dt.date | None, include_drafts: bool) -> None:
    """Print the recurrence report and reliability metrics.

    PATHS are post-mortem files or folders (default: the docs_dir of mkdocs.yml). Files with
    validation errors are left out (with a note on stderr; run 'pmkb validate' for details).
    Drafts are left out too, as on the built site, unless --include-drafts; the output says how
    many.
    Recurring problems are ranked by how much they hurt; TTD and TTR are medians and p90s by
    the nearest-rank method. Exit 0, or 2 on a usage or configuration error.
    """
    from .exports import report_csv
    from .metrics import build_report
    from .report_pages import render_cli_markdown
    from .validate import validate as run_validation

    if fmt != "csv" and table != "clusters":
        raise click.UsageError("--table applies only to --format csv")
    settings = obj.settings
    if today is None and settings.today is None:
        today = dt.datetime.now(dt.timezone.utc).date()
    if today is not None and since is not None and since > today:
        raise click.BadParameter(f"{since.isoformat()} is after --today {today.isoformat()}", param_hint="--since")
    result = run_validation(resolve_paths(settings, paths), settings)
    obj.redactor = result.redactor
    from .analysis import published
    from .render import report_day

    postmortems = [pm for pm in result.postmortems if pm.id in result.valid_ids]
    today_is_latest = today is None and settings.today == "latest"
    if today is None:  # the 'today' option: a day, or the latest incident's (as the site's reports)
        # the latest among what the report counts: drafts too with --include-drafts
        today = report_day(settings.today, postmortems if include_drafts else published(postmortems))
        if since is not None and since > today:
            raise click.BadParameter(f"{since.isoformat()} is after 'today' {today.isoformat()} (the 'today' "
                                     "option of mkdocs.yml)", param_hint="--since")
    left_out = result.files - len(postmortems)  # files that could not be read count too
    drafts = 0
    if not include_drafts:
        # drafts the report would have counted: not after --today, not before --since
        drafts = sum(pm.status == "draft" and pm.date <= today and (since is None or pm.date >= since)
                     for pm in postmortems)
        postmortems = published(postmortems)
        if drafts:
            emit(f"note: {drafts} draft post-mortem(s) left out (--include-drafts counts them)", err=True)
    later = [pm for pm in postmortems if pm.date > today]
    if later:  # a report "as of" a past day knows nothing of what came after it
        emit(f"note: {len(later)} post-mortem(s) dated after {today.isoformat()} left out", err=True)
        postmortems = [pm for pm in postmortems if pm.date <= today]
    if left_out or result.errors:
        emit(f"note: {left_out} post-mortem(s) with validation errors left out of the report "
                   "(run 'pmkb validate')", err=True)
    clusters, warnings = [], []
    if postmortems:
        from .analysis import analyse
        from .cache import Cache

        analysis = analyse(postmortems, settings, cache=Cache(settings.cache_path()))
        clusters, warnings = analysis.clusters, analysis.warnings
    rep = build_report(postmortems, clusters, today, since=since, warnings=warnings, drafts_left_out=drafts,
                       today_is_latest=today_is_latest)
    for warning in warnings:
        emit(f"note: {warning}", err=True)
    if fmt == "json":
        emit(json.dumps(rep.as_dict(), indent=2, ensure_ascii=False))
    elif fmt == "csv":
        emit(report_csv(rep, table), nl=False)
    else:
        emit(render_cli_markdown(rep), nl=False)
    sys.exit(EXIT_OK)


COMMANDS = [report]

__all__ = ["COMMANDS", "Context", "report"]
