"""The report pages: Markdown rendered from :class:`generator.metrics.Report`.

The same functions write the site's ``reports/`` pages (links to the post-mortem and cluster
pages, charts, folded data tables) and ``pmkb report --format md`` (``Links(None)``: plain
text, no links). Links are Markdown links to source paths (:meth:`generator.markup.Links.md`),
which the engine resolves. Every author-written value goes through
:func:`generator.escape.md_text`.

:func:`report_pages` returns every page and chart of the site's ``reports/`` section.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from typing import Sequence

from .escape import html_text, md_text
from .markup import Links, table as _markup_table
from .material import PHONE_MEDIA
from .metrics import (HALF_LIFE_DAYS, OPEN_STATUSES, Coverage, PeriodSummary, Report,
                      current_quarter_summary, is_overdue, quarter_of, year_summaries)
from .model import SEVERITIES, Postmortem, format_duration
from .paths import INCIDENTS, REPORTS, cluster_page

MAX_LISTED = 12
"""A recurring problem's incidents and closed action items are listed in full up to this many."""

RECURRENCE_DETAILED = 5
"""The site's recurrence page describes this many problems (those that hurt most) in detail; the
others have their figures in its table and their details on their cluster pages. (All 18 of the
shipped knowledge base in detail made the page 37,000 px tall on a phone.)"""


def _table(header, rows, align: str = "") -> str:
    return _markup_table(header, rows, align)


def _pm(links: Links, pm: Postmortem) -> str:
    """``[PM-2024-017](../<pm.path>)``, or the bare id in plain text."""
    return links.md(pm.path, pm.id)


def _cluster(links: Links, summary) -> str:
    """``[label](../clusters/<id lowercase>.md)``, or ``label (id)`` in plain text."""
    if not links.linked:
        return f"{md_text(summary.label)} ({md_text(summary.id)})"
    return links.md(cluster_page(summary.id), summary.label)


def _br(links: Links) -> str:
    """A line break inside a table cell: ``<br>`` on the site, `` — `` in plain Markdown."""
    return "<br>" if links.linked else " — "


def _data(links: Links, title: str, table: str, rows: int, open_up_to: int = 12) -> str:
    """A data table under a chart. On the site, a table longer than ``open_up_to`` rows is
    folded into a collapsible block (``pymdownx.details``) so the page leads with the chart;
    the CLI prints it as is."""
    if not links.linked:
        return table
    marker = "???+" if rows <= open_up_to else "???"
    body = "\n".join(("    " + line) if line else "" for line in table.splitlines())
    return f'{marker} info "{title}"\n\n{body}\n'


def recurrence_line(links: Links, recurrence, by_id: dict) -> str:
    """One return after a fix, as leadership reads it: "PM-2024-031 started 41 days after
    'Automate renewal' was done in PM-2024-017 (2024-04-02)", the ids linked."""
    def name(pid: str) -> str:
        return _pm(links, by_id[pid]) if pid in by_id else md_text(pid)

    return (f"{name(recurrence.member)} started {recurrence.after} after '{md_text(recurrence.item)}' was done "
            f"in {name(recurrence.fixed_in)} ({recurrence.done_day.isoformat()})")


def fix_first(ranked):
    """``ranked`` with the problems whose fix did not hold first (each group in its own order)."""
    return sorted(ranked, key=lambda c: not c.recurred_after_fix)


def _chart(links: Links, chart: str, alt: str) -> str:
    """A chart of the page (``chart``: its path relative to the page's folder, ``charts/x.svg``).

    On the site: a ``<picture>`` that shows the narrow drawing (``charts/x-narrow.svg``, see
    :mod:`generator.charts`) below the theme's phone breakpoint
    (:data:`generator.material.PHONE_MEDIA`) and the wide one elsewhere, with URLs relative to
    the page (``links.here``); a Markdown image otherwise."""
    if not links.linked:
        return f"![{md_text(alt)}]({chart})\n"
    target = posixpath.normpath(posixpath.join(posixpath.dirname(links.here), chart))
    narrow = target[:-len(".svg")] + NARROW_SUFFIX
    return (f'<picture class="pmkb-chart"><source media="{PHONE_MEDIA}" srcset="{links.href(narrow)}">'
            f'<img src="{links.href(target)}" alt="{html_text(alt)}"></picture>\n')


def _incident_line(pm: Postmortem, links: Links, impact: bool = True) -> str:
    """A list item for one incident: date, severity, impact time, id (linked) and title."""
    duration = f" · {_dur(pm.duration)}" if impact else ""
    return f"- {pm.date.isoformat()} · **{md_text(pm.severity)}**{duration} · {_pm(links, pm)} {md_text(pm.title)}"


def _sev_mix(counts: dict[str, int]) -> str:
    return ", ".join(f"{sev} {counts[sev]}" for sev in SEVERITIES if counts.get(sev))


def _pct_text(cov: Coverage, key: str) -> str:
    share = cov.share(key)
    return "—" if share is None else f"{share}%"


def _dur(seconds: float | None) -> str:
    return format_duration(seconds)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _window(report: Report) -> str:
    if not report.postmortems:
        drafts = report.drafts_left_out
        return f"no incidents ({_plural(drafts, 'draft')} left out)" if drafts else "no incidents"
    first, last = report.postmortems[0].date, report.postmortems[-1].date
    return f"{_plural(len(report.postmortems), 'incident')} from {first.isoformat()} to {last.isoformat()}"


def _as_of(report: Report) -> str:
    since = f", incidents since {report.since.isoformat()}" if report.since else ""
    drafts = ""
    if report.drafts_left_out:
        drafts = (f" {_plural(report.drafts_left_out, 'draft post-mortem')} left out: run with `--include-drafts` "
                  "to count drafts.")
    anchor = (", the date of the latest incident (the option `today: latest`; without it, the day of the build)"
              if report.today_is_latest else "")
    return f"*As of {report.today.isoformat()} (UTC){anchor}{since}.{drafts}*\n"


PERCENTILE_NOTE = ("Median and p90 use the nearest-rank method: sort the n known values and take the one at "
                   "rank ⌈p × n / 100⌉, so each figure is a duration some incident really had (for an even n the "
                   "median is the lower middle value). Incidents missing a timestamp are left out, never "
                   "counted as zero.")

ORDER_NOTE_SHORT = "problems whose fix did not hold come first"

ORDER_NOTE = ("*Order: problems whose fix did not hold first, then the others; within each, the one that hurts "
              "most first (see How the ranking works). Every (median): the median of the days between the days "
              "its incidents started (the mean of the two middle values for an even count); incidents on the "
              "same day count once, as one event.*")
"""The sentence above the recurrence table: the order of its rows (:func:`fix_first`, then
:func:`generator.metrics.hurt_score`) and what its "Every (median)" column is
(:attr:`generator.metrics.ClusterSummary.median_interval_days`)."""

RANKING_NOTE = (
    "Problems are ranked by how much they hurt: the sum over their incidents of "
    "*severity weight × recency × impact*, where severity weight is SEV1 = 8, SEV2 = 4, SEV3 = 2, SEV4 = 1; "
    f"recency is 0.5^(age in days / {HALF_LIFE_DAYS}), so an incident three years old counts half; and impact is "
    "1 + log₂(1 + impact hours), so 1 h doubles the weight, 3 h triples it, and a multi-day outage does not "
    "drown everything else (unknown impact time counts as 0 h). More recurrences add more terms. Clusters come "
    "from TF-IDF similarity of the post-mortems (see each cluster's page).")


def render_recurrence(report: Report, links: Links, chart: str | None = None, limit: int | None = None) -> str:
    """The recurrence page: headline, ranked table, then one section per problem (under a
    heading "The first N of M problems in detail" when ``limit`` leaves some out, so the
    table of contents says it is partial). Problems whose
    fix did not hold come first (:func:`fix_first`), each naming which item, when it was done
    and how many days later the problem came back; within each group, the one that hurts most
    first.

    Args:
        chart: relative path of the timeline SVG to embed (``None``: no chart).
        limit: show at most this many problems in detail (all in the table).
    """
    ranked = fix_first(report.clusters)
    in_window = {pm.id for pm in report.postmortems}
    covered = sum(pm.id in in_window for c in ranked for pm in c.members)
    after_fix = [c for c in ranked if c.recurred_after_fix]
    undated = [c for c in ranked if not c.recurred_after_fix and c.cluster.recurrence_unknown]
    no_open = [c for c in ranked if c.no_open_action_item]
    out = ["# Recurring problems\n", _as_of(report)]
    if not ranked and not report.postmortems:
        out.append("No recurring problems: no incidents to compare.\n")
        return "\n".join(out)
    if not ranked:
        out.append("No recurring problems in this period: no two post-mortems are similar enough to "
                   "form a cluster, or none of a cluster's incidents falls in the period.\n" if report.since else
                   "No recurring problems: no two post-mortems are similar enough to form a cluster.\n")
        return "\n".join(out)
    out.append(f"**{_plural(len(ranked), 'recurring problem')}** {'accounts' if len(ranked) == 1 else 'account'} "
               f"for **{covered} of "
               f"{len(report.postmortems)} incidents**. "
               f"**{len(after_fix)}** came back after a fix (an incident started after an earlier incident's "
               f"action item was done); for **{len(undated)}** more it is not known, their fixes carry no "
               f"completion date; **{len(no_open)}** {'has' if len(no_open) == 1 else 'have'} no open action "
               "item.\n")
    top = max(ranked, key=lambda c: (round(c.score, 9), c.count))
    row = ranked.index(top) + 1
    out.append(f"Hurting most: **{_cluster(links, top)}** — {_plural(top.count, 'incident')} "
               f"({_sev_mix(top.severities)}), last on {top.members[-1].date.isoformat()}"
               + (f" (row {row} below: {ORDER_NOTE_SHORT})" if row > 1 else "") + ".\n")
    if chart:
        out.append(_chart(links, chart, "Recurring problems on a timeline, one dot per incident, coloured by severity"))
    impact = next((c for c in report.coverage if c.field == "impact time"), None)
    if impact:
        out.append(f"*Data quality: {coverage_note(report.coverage, 'impact time')} "
                   f"Impact time feeds the ranking.*\n")
    rows = []
    for rank, c in enumerate(ranked, 1):
        flags = []
        if c.recurred_after_fix:
            flags.append("**fix did not hold**")
        elif c.cluster.recurrence_unknown:
            flags.append("*fix not dated*")
        if c.no_open_action_item:
            flags.append("*no open action item*")
        problem = f"{rank}. " + _cluster(links, c) + ((_br(links) + ", ".join(flags)) if flags else "")
        median = c.median_interval_days
        rows.append((problem, f"{c.count} ({_sev_mix(c.severities)})", c.members[-1].date.isoformat(),
                     "—" if median is None else f"{median:g} d", _dur(c.impact_seconds) if c.impact_known else "—",
                     c.open_items))
    out.append(ORDER_NOTE + "\n")
    out.append(_table(["Problem", "Incidents", "Last", "Every (median)", "Impact time", "Open items"],
                      rows, "lllrrr"))
    partial = bool(limit) and len(ranked) > limit
    if partial:  # the page's table of contents then says it lists the first ones only
        out.append(f"## The first {limit} of {len(ranked)} problems in detail\n")
    for rank, c in enumerate(ranked[:limit] if limit else ranked, 1):
        out.append(f"{'###' if partial else '##'} {rank}. {md_text(c.label)}\n")
        if links.linked:
            out.append(f"Cluster page: {_cluster(links, c)}.\n")
        out.append(f"- **Incidents:** {c.count} ({_sev_mix(c.severities)}), first {c.members[0].date.isoformat()}, "
                   f"last {c.members[-1].date.isoformat()} ({c.days_since_last} days ago); score {c.score:.1f}")
        recent = c.intervals_days[-MAX_LISTED:]
        intervals = ("… " if len(recent) < len(c.intervals_days) else "") + ", ".join(f"{d}" for d in recent)
        out.append(f"- **Days between recurrences:** {intervals} (median {c.median_interval_days:g})"
                   if c.intervals_days else "- **Days between recurrences:** —")
        out.append(f"- **Services:** {', '.join(md_text(s) for s in c.cluster.services) or '—'}")
        if c.cluster.terms:
            out.append(f"- **Shared terms:** {', '.join(md_text(t) for t in c.cluster.terms)}")
        out.append(f"- **Impact time:** {_dur(c.impact_seconds)} in total (known for {c.impact_known} of {c.count})"
                   if c.impact_known else f"- **Impact time:** unknown (no incident of the {c.count} records it)")
        state = ", ".join(f"{n} {s}" for s, n in c.action_counts.items()) or "none"
        out.append(f"- **Action items:** {state}" + (f"; {c.overdue_items} overdue" if c.overdue_items else ""))
        by_id = {pm.id: pm for pm in c.members}
        if c.cluster.recurrences:
            latest = c.cluster.recurrences[-6:]
            more = len(c.cluster.recurrences) - len(latest)
            out.append("- **The fix did not hold:** " + "; ".join(recurrence_line(links, r, by_id) for r in latest)
                       + (f"; and {more} earlier" if more else ""))
        elif c.recurred_after_fix:  # a cluster built without the details (the ids alone)
            latest = c.recurred_after_fix[-6:]
            names = ", ".join(_pm(links, by_id[m]) if m in by_id else md_text(m) for m in latest)
            more = len(c.recurred_after_fix) - len(latest)
            out.append(f"- **The fix did not hold:** {names} came back after a fix"
                       + (f"; and {more} earlier" if more else ""))
        if c.cluster.recurrence_unknown and not c.recurred_after_fix:
            names = ", ".join(_pm(links, by_id[m]) if m in by_id else md_text(m)
                              for m in c.cluster.recurrence_unknown[-6:])
            out.append(f"- **Fix not dated:** whether {names} came back after a fix is not known: the done "
                       "action items of the earlier incidents carry no done_at (format v1)")
        if c.no_open_action_item:
            out.append("- **No open action item:** nothing tracked would stop the next one")
        out.append("")
        shown = c.members if len(c.members) <= MAX_LISTED else c.members[-(MAX_LISTED - 2):]
        if len(shown) < len(c.members):
            out.append(f"The latest {len(shown)} of {c.count} incidents (all on the cluster page):\n")
        out += [_incident_line(pm, links) for pm in shown] + [""]
        items = c.cluster.action_items or [(pm.id, i) for pm in c.members for i in pm.action_items]
        if len(items) > MAX_LISTED:
            closed = len(items) - c.open_items
            items = sorted(((pm_id, i) for pm_id, i in items if i.status in OPEN_STATUSES),
                           key=lambda pair: (not is_overdue(pair[1], report.today),
                                             pair[1].due or dt.date.max))[:MAX_LISTED]
            out.append(f"{_plural(c.open_items, 'open action item')} ({c.overdue_items} overdue; "
                       f"{closed} done or won't do); " + (f"the first {len(items)} by due date, overdue first "
                       "(all on the action-items page):\n" if c.open_items > len(items) else "listed:\n"))
        if items:
            out.append(_table(["Action item", "Owner", "Status", "Due", "Ticket", "From"],
                              [(md_text(i.title), md_text(i.owner) or "—", md_text(i.status),
                                i.due.isoformat() if i.due else "—", links.ticket(i.ticket), md_text(pm_id))
                               for pm_id, i in items]))
    if limit and len(ranked) > limit:
        out.append(f"*The other {len(ranked) - limit} problems are described on their own pages, linked in the "
                   "table above.*\n" if links.linked else
                   f"*The other {len(ranked) - limit} problems are in the table above.*\n")
    out.append("## How the ranking works\n")
    out.append(RANKING_NOTE + "\n")
    out.append("A problem's *fix did not hold* when one of its incidents started after the done_at of an action "
               "item of an earlier incident in the same cluster (format v2); the day and the item named are the "
               "latest fix done before it started. Without done_at (format v1) it is *not dated*: never "
               "counted as came back. Problems whose fix did not hold are listed first.\n")
    return "\n".join(out)


def _duration_section(report: Report, metric: str, links: Links, chart: str | None) -> list[str]:
    name = {"ttd": "TTD", "ttr": "TTR"}[metric]
    long = {"ttd": "Time to detect (TTD)", "ttr": "Time to resolve (TTR)"}[metric]
    stats = report.ttd if metric == "ttd" else report.ttr
    unit, per_period = report.duration_periods(metric)
    overall = stats["all"]
    out = [f"## {long}\n"]
    if overall.n:
        out.append(f"Median **{_dur(overall.median)}**, p90 **{_dur(overall.p90)}** over {overall.n} incidents.\n")
    out.append(f"*Data quality: {coverage_note(report.coverage, name)}*\n")
    if unit == "year":
        out.append(f"*Per year: the incidents span {len(report.per_quarter)} quarters, most with one incident or "
                   f"none, too few for a distribution. Per-quarter figures: `pmkb report --format csv --table "
                   f"{metric}-quarter`.*\n")
    if chart and overall.n:
        out.append(_chart(links, chart, f"{long}: median and p90 per {unit}"))
    rows = [(q, s.n, _dur(s.median), _dur(s.p90)) for q, s in per_period if s.n]
    if rows:
        out.append(_data(links, f"Data: {name} per {unit}", _table([unit.capitalize(), "n", "Median", "p90"], rows,
                                                                  "lrrr"), len(rows)))
    out.append(_table(["Severity", "n", "Median", "p90"],
                      [(k if k != "all" else "**All**", s.n, _dur(s.median), _dur(s.p90))
                       for k, s in list(stats.items())[1:] + [("all", overall)] if s.n or k == "all"], "lrrr"))
    return out


def render_trends(report: Report, links: Links, charts: dict[str, str] | None = None, top: int = 30) -> str:
    """The trends page: incidents per quarter by severity, TTD and TTR per quarter, by
    service and by trigger. ``charts`` maps ``"quarters"``, ``"ttd"``, ``"ttr"``,
    ``"services"`` to relative SVG paths (missing: no chart)."""
    charts = charts or {}
    sev = {s: sum(pm.severity == s for pm in report.postmortems) for s in SEVERITIES}
    out = ["# Trends\n", _as_of(report)]
    out.append(f"**{_window(report)}** ({_sev_mix(sev) or 'none'}). "
               f"Median TTD **{_dur(report.ttd['all'].median)}** (n = {report.ttd['all'].n}), "
               f"median TTR **{_dur(report.ttr['all'].median)}** (n = {report.ttr['all'].n}).\n")
    last_year = [pm for pm in report.postmortems if (report.today - pm.date).days < 365]
    out.append(f"In the last 12 months: **{_plural(len(last_year), 'incident')}**"
               f" ({_sev_mix({s: sum(pm.severity == s for pm in last_year) for s in SEVERITIES}) or 'none'}).\n")
    out.append("## Incidents per quarter\n")
    if "quarters" in charts and report.per_quarter:
        out.append(_chart(links, charts["quarters"], "Incidents per quarter, stacked by severity"))
    rows = [(q, *(c[s] or "" for s in SEVERITIES), sum(c.values())) for q, c in report.per_quarter if sum(c.values())]
    empty = len(report.per_quarter) - len(rows)
    note = f"; {_plural(empty, 'quarter')} without incidents left out" if empty else ""
    out.append(_data(links, f"Data: incidents per quarter{note}", _table(["Quarter", *SEVERITIES, "Total"], rows,
                                                                         "lrrrrr"), len(rows)))
    out += _duration_section(report, "ttd", links, charts.get("ttd"))
    out += _duration_section(report, "ttr", links, charts.get("ttr"))
    out.append(f"*{PERCENTILE_NOTE}*\n")
    out.append("## By service\n")
    out.append("An incident counts once for each service it affected.\n")
    if "services" in charts and report.services:
        out.append(_chart(links, charts["services"], "Incidents per service, most affected first"))
    out.append(_data(links, "Data: incidents per service",
                          _table(["Service", "Incidents"], [(md_text(s), n) for s, n in report.services[:top]], "lr"),
                          len(report.services[:top]), open_up_to=15))
    if len(report.services) > top:
        out.append(f"*{len(report.services) - top} more services with fewer incidents.*\n")
    out.append("## By trigger\n")
    out.append(f"*Data quality: {coverage_note(report.coverage, 'trigger')}*\n")
    out.append(_table(["Trigger", "Incidents"], [(md_text(t), n) for t, n in report.triggers[:top]], "lr"))
    if len(report.triggers) > top:
        out.append(f"*{len(report.triggers) - top} more triggers with fewer incidents.*\n")
    return "\n".join(out)


def render_data_quality(report: Report, links: Links) -> str:
    """The data-quality page: share of post-mortems (or action items) having each field."""
    out = ["# Data quality\n", _as_of(report)]
    cov = {c.field: c for c in report.coverage}
    out.append(f"TTD can be computed for **{cov['TTD'].share() or 0}%** of incidents, TTR for "
               f"**{cov['TTR'].share() or 0}%**, impact time for **{cov['impact time'].share() or 0}%**. "
               "Figures built on a small share describe only the incidents that recorded the timestamps; "
               "read their trends with care.\n")
    thin = [c for c in report.coverage if (c.share() or 0) < 50 and c.counts["all"][1]]
    if thin:
        out.append("Below half: " + ", ".join(f"**{c.field}** ({c.share()}%)" for c in thin) + ".\n")
    for unit in ("post-mortems", "action items"):
        rows = [c for c in report.coverage if c.unit == unit]
        totals = rows[0].counts
        out.append(f"## Share of {unit} with each field\n")
        header = ["Field", *(f"{s} ({totals[s][1]})" for s in SEVERITIES), f"All ({totals['all'][1]})"]
        out.append(_table(header, [(c.field, *(_pct_text(c, s) for s in SEVERITIES), f"**{_pct_text(c, 'all')}**")
                                   for c in rows], "lrrrrr"))
        out.append("Used by: " + "; ".join(f"{c.field} → {c.affects}" for c in rows) + ".\n")
    out.append("*The number after each severity is how many post-mortems (or action items, grouped by the severity "
               "of their incident) it has. Percentages are rounded half up. Impact time runs from started_at to "
               "mitigated_at, else to resolved_at.*\n")
    return "\n".join(out)


LEDGER_SHOWN = 200
"""Most ledger rows (overdue and open first), and most owners per table, on the action-items
page of the site; the whole ledger is in the ``api/action-items.csv`` and ``.json`` exports."""

PERIOD_LISTED = 50
"""A period page lists its incidents one per line up to this many (the newest ones beyond)."""

LEDGER_EXPORTS = ("api/action-items.csv", "api/action-items.json")
"""Docs-relative paths of the full ledger exports (written by :func:`generator.render.render_site`)."""


def render_action_items(report: Report, links: Links, limit: int | None = None,
                        exports: Sequence[str] = ()) -> str:
    """The action-item ledger: headline counts, counts per owner, then the items, overdue first.

    Args:
        limit: list at most this many items (overdue and open come first) and this many
            owners per table; ``None`` lists everything (the CLI).
        exports: docs-relative paths of the full ledger exports, linked when the list is cut.
    """
    ledger = report.ledger
    opened = sum(r.is_open for r in ledger)
    overdue = sum(r.overdue for r in ledger)
    done = sum(r.item.status == "done" for r in ledger)
    wont = sum(r.item.status == "wont-do" for r in ledger)
    out = ["# Action items\n", _as_of(report)]
    out.append(f"**{_plural(len(ledger), 'action item')}**: **{opened} open** (**{overdue} overdue**), "
               f"{done} done, {wont} won't do.\n")
    late = [o for o in report.owners if o.overdue]
    if late:
        out.append("Most overdue: " + ", ".join(f"{md_text(o.owner)} ({o.overdue})" for o in late[:5]) + ".\n")
    due = next(c for c in report.coverage if c.field == "action item due")
    if due.counts["all"][1] and (due.share() or 0) < 50:
        out.append(f"!!! warning \"Overdue counts are incomplete\"\n\n    Only {due.counts['all'][0]} of "
                   f"{due.counts['all'][1]} action items have a due date ({due.share()}%); an item without one is "
                   "never counted as overdue. Give every open item a `due:` date.\n")
    out.append(f"*Data quality: {coverage_note(report.coverage, 'action item due')} Items without a due date are "
               f"never overdue. {coverage_note(report.coverage, 'action item owner')}*\n")
    downloads = ""
    if exports and links.linked:
        downloads = " or ".join(links.md(name, name.rsplit('/', 1)[-1]) for name in exports)
    out.append("## By owner\n")
    header = ["Owner", "Open", "Overdue", "Done", "Won't do", "Total"]
    busy = [o for o in report.owners if o.open or o.overdue]
    idle = [o for o in report.owners if not (o.open or o.overdue)]

    def owner_rows(owners):
        return [(md_text(o.owner), o.open, o.overdue, o.done, o.wont_do, o.total) for o in owners]

    if busy:
        out.append(_table(header, owner_rows(busy[:limit] if limit else busy), "lrrrrr"))
        if limit and len(busy) > limit:
            out.append(f"*{len(busy) - limit} more owners with open items, fewer than those above.*\n")
    if idle:
        shown_idle = idle[:limit] if limit else idle
        more = f", the first {len(shown_idle)}" if len(shown_idle) < len(idle) else ""
        out.append(_data(links, f"Owners with nothing open ({len(idle)}{more})",
                              _table(header, owner_rows(shown_idle), "lrrrrr"), len(shown_idle), open_up_to=0))
    # On the site the ledger stays out of search (each item is found on its post-mortem's page; 200 rows
    # of 10,000 post-mortems were 15 KB of one search entry, over Zensical's limit, which failed the build).
    out.append("## Ledger { #ledger data-search-exclude }\n" if links.linked else "## Ledger\n")
    shown = ledger[:limit] if limit else ledger
    if len(shown) < len(ledger):
        shown_open = sum(r.is_open for r in shown)
        what = (f"the {len(shown)} most urgent open items" if shown_open == len(shown)
                else f"all {shown_open} open items and the newest {len(shown) - shown_open} closed ones")
        out.append(f"Overdue first (most days late on top), then open by due date. Shown: {what} of "
                   f"{len(ledger)}; the whole ledger, with done and won't do, is in "
                   f"{downloads or 'the output of `pmkb report --format csv --table action-items`'}. "
                   "Age is days since the incident.\n")
    else:
        out.append("Overdue first (most days late on top), then open by due date, then done and won't do. "
                   "Age is days since the incident."
                   + (f" Also as {downloads}." if downloads else "") + "\n")
    rows = []
    for r in shown:
        status = f"**overdue {r.days_overdue} d**" if r.overdue else md_text(r.item.status)
        rows.append((status, r.item.due.isoformat() if r.item.due else "—", md_text(r.item.owner) or "—",
                     md_text(r.item.title), links.ticket(r.item.ticket),
                     f"{_pm(links, r.postmortem)} {md_text(r.postmortem.severity)}", r.age_days))
    out.append(_table(["Status", "Due", "Owner", "Action item", "Ticket", "Incident", "Age (d)"], rows, "llllllr"))
    if len(shown) < len(ledger):
        out.append(f"*{len(ledger) - len(shown)} more action items in {downloads or 'the CSV export'}.*\n")
    return "\n".join(out)


def render_period(summary: PeriodSummary, links: Links, today: dt.date) -> str:
    """A period page (a year or the current quarter) readable in two minutes."""
    n = len(summary.postmortems)
    to_date = " (to date)" if summary.start <= today <= summary.end or summary.end == today else ""
    out = [f"# {summary.title}{to_date}\n",
           f"*{summary.start.isoformat()} to {summary.end.isoformat()}; as of {today.isoformat()} (UTC).*\n"]
    if not n:
        out.append("No incidents in this period.\n")
        return "\n".join(out)
    out.append(f"**{_plural(n, 'incident')}** ({_sev_mix(summary.severities)}). "
               f"Median TTD **{_dur(summary.ttd.median)}** (n = {summary.ttd.n}), "
               f"median TTR **{_dur(summary.ttr.median)}** (n = {summary.ttr.n}).\n")
    bits = []
    if summary.recurring_clusters:
        bits.append(f"**{len(summary.recurring_clusters)}** known problems came back")
    if summary.new_clusters:
        bits.append(f"**{len(summary.new_clusters)}** recurring problems started")
    if bits:
        out.append("; ".join(bits) + ".\n")
    out.append(f"Action items from these incidents: **{summary.items_done} done**, {summary.items_open} open "
               f"({summary.items_overdue} overdue).\n")
    out.append("## Worst incidents\n")
    out += [_incident_line(pm, links) for pm in summary.worst] + [""]
    if summary.recurring_clusters or summary.new_clusters:
        out.append("## Recurring problems\n")
        rows = [(_cluster(links, c), "came back" if c in summary.recurring_clusters else "new",
                 c.count, c.members[0].date.isoformat(),
                 sum(1 for pm in c.members if summary.start <= pm.date <= summary.end))
                for c in summary.recurring_clusters + summary.new_clusters]
        out.append(_table(["Problem", "Status", "Incidents (all time)", "First seen", "In this period"], rows, "llrlr"))
    if n > len(summary.worst):
        out.append("## All incidents\n")
        listed = summary.postmortems[-PERIOD_LISTED:]
        if len(listed) < n:
            where = (f" (all of them in the {links.md(INCIDENTS, 'incident index')})"
                     if links.linked else "")
            out.append(f"The latest {len(listed)} of {n}{where}:\n")
        out += [_incident_line(pm, links, impact=False) for pm in listed] + [""]
    out.append("*\"Done\" counts the items of this period's incidents that are marked done now, whenever they "
               "were done (format v1 items carry no completion date).*\n")
    return "\n".join(out)


def render_index(report: Report, links: Links, years: Sequence[PeriodSummary], quarter: PeriodSummary,
                 quarter_page: str, chart: str | None = None) -> str:
    """The reports landing page: the headline numbers and links to every report."""
    sev = {s: sum(pm.severity == s for pm in report.postmortems) for s in SEVERITIES}
    last_year = [pm for pm in report.postmortems if (report.today - pm.date).days < 365]
    overdue = sum(r.overdue for r in report.ledger)
    opened = sum(r.is_open for r in report.ledger)
    out = ["# Reliability reports\n", _as_of(report)]
    out.append(f"- **Incidents:** {_window(report)} ({_sev_mix(sev) or 'none'}); "
               f"{len(last_year)} in the last 12 months.")
    if report.clusters:
        top = report.clusters[:3]
        listed = "; ".join(f"{_cluster(links, c)} ({c.count}×, last {c.members[-1].date.year})" for c in top)
        out.append(f"- **Hurting most:** {listed}. {len(report.clusters)} recurring problems in all, "
                   f"{sum(1 for c in report.clusters if c.recurred_after_fix)} came back after a fix.")
    out.append(f"- **Detection and resolution:** median TTD {_dur(report.ttd['all'].median)} "
               f"(p90 {_dur(report.ttd['all'].p90)}, n = {report.ttd['all'].n}); median TTR "
               f"{_dur(report.ttr['all'].median)} (p90 {_dur(report.ttr['all'].p90)}, n = {report.ttr['all'].n}).")
    out.append(f"- **Action items:** {opened} open, **{overdue} overdue**.\n")
    if chart:
        out.append(_chart(links, chart, "Incidents per quarter, stacked by severity"))
    out.append("## Reports\n")
    out.append(f"- {links.md('reports/' + 'recurrence.md', 'Recurring problems')}: what keeps coming back, ranked by how much "
               "it hurts.")
    out.append(f"- {links.md('reports/' + 'trends.md', 'Trends')}: incidents per quarter, TTD and TTR, services and triggers.")
    out.append(f"- {links.md('reports/' + 'action-items.md', 'Action items')}: every follow-up, overdue first, per owner.")
    out.append(f"- {links.md('reports/' + 'data-quality.md', 'Data quality')}: how complete the data behind these figures is.\n")
    out.append("## By period\n")
    out.append(f"- {links.md('reports/' + quarter_page, quarter.title + ' (to date)')}: "
               f"{_plural(len(quarter.postmortems), 'incident')}")
    for y in years:
        if y.postmortems:
            out.append(f"- {links.md('reports/' + y.title + '.md', y.title)}: {_plural(len(y.postmortems), 'incident')}"
                       f" ({_sev_mix(y.severities)})")
    out.append("")
    return "\n".join(out)


def render_cli_markdown(report: Report) -> str:
    """The Markdown that ``pmkb report --format md`` prints: recurrence, trends, data quality
    and action items, without charts or links."""
    links = Links(None)
    return "\n".join([render_recurrence(report, links), render_trends(report, links),
                      render_data_quality(report, links), render_action_items(report, links)])


def coverage_note(coverage: Sequence[Coverage], name: str) -> str:
    """One sentence for next to a figure: ``"detected_at present in 62% of SEV1s (5 of 8) ..."``."""
    cov = next(c for c in coverage if c.field == name)
    have, total = cov.counts["all"]
    if not total:
        return f"{name}: no {cov.unit} to measure."
    parts = [f"{sev} {cov.share(sev)}%" for sev in SEVERITIES if cov.counts[sev][1]]
    subject = name if "_" in name or name.isupper() else name[0].upper() + name[1:]
    return (f"{subject} known for {have} of {total} {cov.unit} ({cov.share()}%; " + ", ".join(parts) + ").")


# --- the site's reports/ section --------------------------------------------------------


NARROW_SUFFIX = "-narrow.svg"
"""``charts/x.svg`` is drawn for phones as ``charts/x-narrow.svg`` (:func:`chart_specs`)."""

REPORT_PAGES = ("reports/index.md", "reports/recurrence.md", "reports/trends.md", "reports/action-items.md",
                "reports/data-quality.md")
"""The fixed report pages, in navigation order (period pages follow)."""


def chart_specs(report: Report, today: dt.date) -> dict[str, tuple[str, tuple, dict]]:
    """The charts of the report pages as ``{file name: (generator.charts function, args, kwargs)}``:
    plain data, drawn by :func:`draw_chart` (or taken from a cache of earlier builds). Every
    chart ``x.svg`` has its phone drawing ``x-narrow.svg`` (:data:`NARROW_SUFFIX`)."""
    specs: dict[str, tuple[str, tuple, dict]] = {}
    if report.clusters:
        top = report.clusters[:15]
        first = min(c.members[0].date for c in top)
        specs["recurring-problems.svg"] = ("cluster_timeline", (
            [(c.label, [(pm.date, pm.severity) for pm in c.members]) for c in top],
            f"The {len(top)} recurring problems that hurt most, one dot per incident"),
            {"start": dt.date(first.year, 1, 1), "end": dt.date(today.year + 1, 1, 1)})
    if report.per_quarter:
        quarters = [q for q, _ in report.per_quarter]
        specs["incidents-per-quarter.svg"] = ("stacked_bars", (
            quarters, {s: [c[s] for _, c in report.per_quarter] for s in SEVERITIES},
            "Incidents per quarter, by severity"), {})
        for metric, title in (("ttd", "Time to detect"), ("ttr", "Time to resolve")):
            unit, per_period = report.duration_periods(metric)
            if any(s.n for _, s in per_period):
                specs[f"{metric}-per-{unit}.svg"] = ("median_p90", (
                    [p for p, _ in per_period], [s.median for _, s in per_period], [s.p90 for _, s in per_period],
                    f"{title} per {unit} (median and p90, log scale)"), {"counts": [s.n for _, s in per_period]})
    if report.services:
        top_services = report.services[:15]
        specs["services.svg"] = ("horizontal_bars", ([s for s, _ in top_services], [n for _, n in top_services],
                                                     "Incidents per service (top 15)"), {})
    for name, (function, args, kwargs) in list(specs.items()):  # the phone drawing of each
        specs[name[:-len(".svg")] + NARROW_SUFFIX] = (function, args, {**kwargs, "narrow": True})
    return specs


def draw_chart(spec: tuple[str, tuple, dict]) -> bytes:
    """Draw one chart of :func:`chart_specs` (static SVG, matplotlib) as UTF-8 bytes."""
    from . import charts

    function, args, kwargs = spec
    return getattr(charts, function)(*args, **kwargs).encode("utf-8")


def report_pages(report: Report, use_directory_urls: bool, today: dt.date,
                 charts: Sequence[str], links_from_source: bool = False) -> dict[str, str]:
    """Every report page of the site as ``{docs-relative path: Markdown}``, in navigation order.

    ``reports/index.md``, ``recurrence.md``, ``trends.md``, ``action-items.md``,
    ``data-quality.md``, the current quarter ``reports/<YYYY>-q<N>.md`` and one page per year
    with incidents (and the current year), newest first. ``charts`` are the file names of
    :func:`chart_specs` that exist under ``reports/charts/``. The action-items page lists the
    :data:`LEDGER_SHOWN` most urgent items and links the full ledger (:data:`LEDGER_EXPORTS`).
    ``links_from_source``: raw-HTML URLs (the charts' ``<picture>``) relative to the source file,
    for an engine that rewrites them (:class:`generator.markup.Links`).
    """
    links = Links(use_directory_urls, REPORTS, from_source=links_from_source)
    years = year_summaries(report.postmortems, report.clusters, today)
    quarter = current_quarter_summary(report.postmortems, report.clusters, today)
    quarter_page = quarter_of(today).lower() + ".md"

    def chart(name: str) -> str | None:
        return f"charts/{name}" if name in charts else None

    pages: dict[str, str] = {
        "reports/index.md": render_index(report, links, years, quarter, quarter_page,
                                         chart("incidents-per-quarter.svg")),
        "reports/recurrence.md": render_recurrence(report, links.at("reports/recurrence.md"),
                                                   chart("recurring-problems.svg"), limit=RECURRENCE_DETAILED),
        "reports/trends.md": render_trends(report, links.at("reports/trends.md"), {
            k: v for k, v in {"quarters": chart("incidents-per-quarter.svg"),
                              "ttd": chart(f"ttd-per-{report.duration_periods('ttd')[0]}.svg"),
                              "ttr": chart(f"ttr-per-{report.duration_periods('ttr')[0]}.svg"),
                              "services": chart("services.svg")}.items() if v}),
        "reports/action-items.md": render_action_items(report, links, LEDGER_SHOWN, LEDGER_EXPORTS),
        "reports/data-quality.md": render_data_quality(report, links),
        f"reports/{quarter_page}": render_period(quarter, links, today),
    }
    for y in years:
        pages[f"reports/{y.title}.md"] = render_period(y, links, today)
    return pages
