"""The knowledge-base pages, rendered from the model as Markdown: no MkDocs here.

The ``postmortems`` plugin (:mod:`generator.plugin`) calls these functions and hands the
results to MkDocs as in-memory pages. Everything is a pure function of the post-mortems and
their :class:`~generator.analysis.Analysis`, so two builds of the same files are identical.

Pages (paths relative to the docs folder; MkDocs turns ``a/b.md`` into ``a/b/``):

- ``index.md``: the home page, search first, then the latest incidents and the most active
  recurring problems;
- ``incidents/index.md``: every incident, newest first, grouped by year (one page per year,
  split in parts of :data:`PAGE_ROWS` rows, once the corpus outgrows one page);
- ``services/index.md`` and ``services/<service>.md``: incidents per affected service;
- ``clusters/index.md`` and ``clusters/<cluster-id>.md``: recurring problems;
- ``tags/index.md`` and ``tags/<tag>.md``: the tag index (Material's tags listings).

Every value that comes from a post-mortem is escaped for both HTML and Markdown before it is
written into a page, and links are relative Markdown links to ``.md`` files, so MkDocs checks
every one of them and rewrites them for ``use_directory_urls`` and offline builds.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from html import escape

from .analysis import Analysis
from .model import SEVERITIES, Cluster, Postmortem, RelatedLink, format_duration

PAGE_ROWS = 400
"""Most table rows on one generated page; longer lists are split into numbered parts so the
largest page stays far below 300 KB even for 10,000 post-mortems."""

LATEST_ON_HOME = 10
CLUSTERS_ON_HOME = 5

HOME = "index.md"
INCIDENTS = "incidents/index.md"
SERVICES = "services/index.md"
CLUSTERS = "clusters/index.md"
TAGS = "tags/index.md"

NAV = [
    {"Home": HOME},
    {"Incidents": INCIDENTS},
    {"Services": SERVICES},
    {"Clusters": CLUSTERS},
    {"Tags": TAGS},
]
"""The navigation: a handful of entry pages, never one entry per post-mortem."""

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~^=<>])")


# --- small helpers ----------------------------------------------------------------------------


def text(value: object) -> str:
    """``value`` as inline Markdown that renders as exactly that text (HTML and Markdown escaped)."""
    return _MD_SPECIAL.sub(r"\\\1", escape(str(value), quote=True))


def attr(value: object) -> str:
    """``value`` escaped for an HTML attribute or element text inside a raw HTML block."""
    return escape(str(value), quote=True)


def link(from_page: str, to_page: str, fragment: str = "") -> str:
    """Relative Markdown link target from one docs-relative page to another (``../x.md#f``)."""
    base = posixpath.dirname(from_page) or "."
    target = posixpath.relpath(to_page, base)
    return target + (f"#{fragment}" if fragment else "")


def service_page(service: str) -> str:
    """Docs-relative path of a service's page."""
    return f"services/{service}.md"


def cluster_page(cluster_id: str) -> str:
    """Docs-relative path of a recurrence cluster's page (ids are upper case; URLs lower)."""
    return f"clusters/{cluster_id.lower()}.md"


def tag_page(tag: str) -> str:
    """Docs-relative path of a tag's listing page."""
    return f"tags/{tag}.md"


def year_page(year: int) -> str:
    """Docs-relative path of the incident index of one year (used for large corpora)."""
    return f"incidents/{year}.md"


def part_page(first_page: str, part: int) -> str:
    """Path of part ``part`` (1-based) of a split list; part 1 is ``first_page`` itself."""
    if part == 1:
        return first_page
    stem = first_page[:-3]
    if stem.endswith("/index"):
        stem = stem[: -len("/index")]
    return f"{stem}/page-{part}.md"


def newest_first(postmortems: Iterable[Postmortem]) -> list[Postmortem]:
    """Post-mortems by date, newest first; ties by start time then id, both descending."""
    return sorted(postmortems, key=lambda p: (p.date, p.started_at.timestamp() if p.started_at else 0.0, p.id),
                  reverse=True)


def _front_matter(title: str, hide: Sequence[str] = ()) -> str:
    lines = ["---", f"title: {json.dumps(title)}"]
    if hide:
        lines.append(f"hide: [{', '.join(hide)}]")
    lines.append("---")
    return "\n".join(lines) + "\n\n"


def _severity_badge(severity: str) -> str:
    css = severity.lower() if severity in SEVERITIES else "unknown"
    return f'<span class="pmkb-sev pmkb-sev--{css}">{attr(severity)}</span>'


def _services(page: str, services: Sequence[str], limit: int | None = None) -> str:
    shown = list(services) if limit is None else list(services)[:limit]
    out = ", ".join(f"[{text(s)}]({link(page, service_page(s))})" for s in shown) or "—"
    if len(services) > len(shown):
        out += f" +{len(services) - len(shown)}"
    return out


def _id(pm_id: str) -> str:
    return f'<span class="pmkb-id">{attr(pm_id)}</span>'


# --- tables of incidents ----------------------------------------------------------------------


def incident_table(page: str, postmortems: Sequence[Postmortem]) -> str:
    """A Markdown table (id, date, title, severity, services, TTR) with links from ``page``."""
    rows = ["| Id | Date | Title | Severity | Services | TTR |", "|---|---|---|---|---|---|"]
    for pm in postmortems:
        rows.append(
            f"| {_id(pm.id)} | {pm.date.isoformat()} | [{text(pm.title)}]({link(page, pm.path)}) "
            f"| {_severity_badge(pm.severity)} | {_services(page, pm.services, 3)} "
            f"| {format_duration(pm.time_to_resolve)} |"
        )
    return "\n".join(rows) + "\n"


def _pager(page_paths: Sequence[str], current: int, here: str) -> str:
    if len(page_paths) < 2:
        return ""
    parts = []
    for i, target in enumerate(page_paths, 1):
        parts.append(f"**{i}**" if i == current else f"[{i}]({link(here, target)})")
    return "Pages: " + " · ".join(parts) + "\n\n"


def split_pages(first_page: str, title: str, intro: str, postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """``postmortems`` as a table on ``first_page``, split into parts of :data:`PAGE_ROWS` rows.

    Returns the pages as ``{path: markdown}``; each part carries the intro and a pager.
    """
    chunks = [list(postmortems[i:i + PAGE_ROWS]) for i in range(0, len(postmortems), PAGE_ROWS)] or [[]]
    paths = [part_page(first_page, i) for i in range(1, len(chunks) + 1)]
    pages = {}
    for i, (path, chunk) in enumerate(zip(paths, chunks), 1):
        heading = title if i == 1 else f"{title} (part {i})"
        pager = _pager(paths, i, path)
        body = intro + pager + (incident_table(path, chunk) if chunk else "No incidents.\n") + "\n" + pager
        pages[path] = _front_matter(heading) + f"# {text(heading)}\n\n" + body
    return pages


# --- the summary card and the related section of a post-mortem page ---------------------------


def _fact(label: str, value: str, css: str = "") -> str:
    extra = f" pmkb-fact--{css}" if css else ""
    # <p>, not <div>: Material's search parser matches end tags by name, so a nested </div>
    # would end the data-search-exclude block of the facts early.
    return (f'<p class="pmkb-fact{extra}" markdown="span"><span class="pmkb-fact__label">{label}</span> '
            f'<span class="pmkb-fact__value">{value}</span></p>')


def card_markdown(pm: Postmortem, cluster: Cluster | None = None) -> str:
    """The summary card shown above a post-mortem's body (Markdown with ``md_in_html`` blocks).

    Shows severity, status, id, date, services, duration, time to detect, time to resolve,
    tags, authors and, when the incident belongs to one, its recurring problem.
    """
    page = pm.path
    status_css = re.sub(r"[^a-z-]", "", pm.status.lower()) or "unknown"
    head = (f'<div class="pmkb-card__head">{_severity_badge(pm.severity)} '
            f'<span class="pmkb-status pmkb-status--{status_css}">{attr(pm.status)}</span> '
            f'<span class="pmkb-card__id">{attr(pm.id)}</span></div>')
    tags = " ".join(f'[{text(t)}]({link(page, tag_page(t))}){{: .pmkb-tag }}' for t in pm.tags) or "—"
    facts = [
        _fact("Date", pm.date.isoformat(), "date"),
        _fact("Services", _services(page, pm.services), "services"),
        _fact("Duration", format_duration(pm.duration), "duration"),
        _fact("Time to detect", format_duration(pm.time_to_detect), "ttd"),
        _fact("Time to resolve", format_duration(pm.time_to_resolve), "ttr"),
        _fact("Authors", text(", ".join(pm.authors)) or "—", "authors"),
        _fact("Tags", tags, "tags"),
    ]
    if cluster is not None:
        facts.append(_fact("Recurring problem",
                           f"[{text(cluster.label or cluster.id)}]({link(page, cluster_page(cluster.id))}) "
                           f"({cluster.size} incidents)", "cluster"))
    summary = (f'<p class="pmkb-card__summary" markdown="span">{text(pm.summary)}</p>\n'
               if pm.summary else "")
    return (f'<div class="pmkb-card" markdown="1">\n{head}\n{summary}'
            f'<div class="pmkb-facts" data-search-exclude markdown="1">\n' + "\n".join(facts) + "\n</div>\n</div>\n\n")


def _score(link_: RelatedLink) -> str:
    return f"{link_.score:.2f}"


def related_markdown(pm: Postmortem, links: Sequence[RelatedLink], by_id: dict[str, Postmortem],
                     cluster: Cluster | None, min_score: float) -> str:
    """The **Related incidents** section appended to a post-mortem page.

    ``links`` are shown in the given order, skipping ids not in ``by_id`` (drafts and
    unknown ids: nothing links to a page that is not published). Each entry has title,
    id, date, severity, score and the shared terms; the cluster link closes the section.
    """
    page = pm.path
    out = ["\n\n## Related incidents { #related-incidents }\n"]
    items = []
    for rel in links:
        other = by_id.get(rel.id)
        if other is None or other.id == pm.id:
            continue
        terms = ", ".join(text(t) for t in rel.terms)
        meta = [_severity_badge(other.severity), _id(other.id), other.date.isoformat(),
                f'<span class="pmkb-score" title="TF-IDF cosine similarity">score {_score(rel)}</span>']
        if rel.pinned:
            meta.append('<span class="pmkb-pinned">linked by the authors</span>')
        if terms:
            meta.append(f'<span class="pmkb-terms">shared terms: {terms}</span>')
        items.append(f"- [{text(other.title)}]({link(page, other.path)})\n"
                     f'  <span class="pmkb-related__meta">' + " · ".join(meta) + "</span>")
    if items:
        out.append('<div class="pmkb-related" data-search-exclude markdown="1">\n\n' + "\n".join(items) + "\n\n</div>\n")
    else:
        out.append(f"No other incident is similar enough (score of at least {min_score:g}).\n")
    if cluster is not None:
        out.append(f"\nPart of the recurring problem "
                   f"[{text(cluster.label or cluster.id)}]({link(page, cluster_page(cluster.id))}): "
                   f"{cluster.size} incidents from {cluster.first.isoformat()} to {cluster.last.isoformat()}.\n")
    return "".join(out)


# --- generated pages --------------------------------------------------------------------------


def _published_clusters(analysis: Analysis, by_id: dict[str, Postmortem]) -> list[Cluster]:
    return [c for c in analysis.clusters if sum(m in by_id for m in c.members) >= 2]


def _active(clusters: Sequence[Cluster]) -> list[Cluster]:
    return sorted(clusters, key=lambda c: (-c.size, -c.last.toordinal(), c.id))


def home_page(postmortems: Sequence[Postmortem], clusters: Sequence[Cluster], site_name: str) -> str:
    """The home page: a search prompt first, then the latest incidents and most active clusters."""
    latest = newest_first(postmortems)[:LATEST_ON_HOME]
    services = {s for pm in postmortems for s in pm.services}
    out = [_front_matter(site_name, hide=("toc",)), f"# {text(site_name)}\n\n"]
    out.append(
        '<div class="pmkb-hero" markdown="1">\n'
        f'<label class="pmkb-hero__search" for="__search">Search {len(postmortems)} post-mortems: an error '
        'message, a service, a symptom or an id <kbd>/</kbd></label>\n\n'
        f'<p class="pmkb-hero__stats" markdown="span">[{len(postmortems)} incidents]({link(HOME, INCIDENTS)}) · '
        f'[{len(services)} services]({link(HOME, SERVICES)}) · '
        f'[{len(clusters)} recurring problems]({link(HOME, CLUSTERS)}) · [tags]({link(HOME, TAGS)})</p>\n'
        "</div>\n\n"
    )
    out.append("## Latest incidents\n\n")
    out.append(incident_table(HOME, latest) if latest else "No published post-mortems yet.\n")
    out.append(f"\n[All incidents]({link(HOME, INCIDENTS)})\n\n")
    out.append("## Most active recurring problems\n\n")
    top = _active(clusters)[:CLUSTERS_ON_HOME]
    out.append(cluster_table(HOME, top) if top else "No recurring problems found.\n")
    if top:
        out.append(f"\n[All recurring problems]({link(HOME, CLUSTERS)})\n")
    return "".join(out)


def cluster_table(page: str, clusters: Sequence[Cluster]) -> str:
    """A Markdown table of clusters (problem, incidents, first, last, services) linked from ``page``."""
    rows = ["| Recurring problem | Incidents | First | Last | Services |", "|---|---|---|---|---|"]
    for c in clusters:
        rows.append(f"| [{text(c.label or c.id)}]({link(page, cluster_page(c.id))}) | {c.size} "
                    f"| {c.first.isoformat()} | {c.last.isoformat()} | {_services(page, c.services, 4)} |")
    return "\n".join(rows) + "\n"


def incident_pages(postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """The incident index: newest first, grouped by year; per-year pages when it gets long."""
    ordered = newest_first(postmortems)
    by_year: dict[int, list[Postmortem]] = defaultdict(list)
    for pm in ordered:
        by_year[pm.date.year].append(pm)
    title = "Incidents"
    if len(ordered) <= PAGE_ROWS:
        out = [_front_matter(title), f"# {title}\n\n", f"{len(ordered)} incidents, newest first.\n\n"]
        for year, items in by_year.items():
            out.append(f"## {year}\n\n{incident_table(INCIDENTS, items)}\n")
        return {INCIDENTS: "".join(out)}
    pages: dict[str, str] = {}
    rows = ["| Year | Incidents | SEV1 | SEV2 |", "|---|---|---|---|"]
    for year, items in by_year.items():
        sev = Counter(p.severity for p in items)
        rows.append(f"| [{year}]({link(INCIDENTS, year_page(year))}) | {len(items)} | {sev['SEV1']} | {sev['SEV2']} |")
        pages.update(split_pages(year_page(year), f"Incidents in {year}",
                                 f"{len(items)} incidents in {year}, newest first. "
                                 f"[All years]({link(year_page(year), INCIDENTS)})\n\n", items))
    pages[INCIDENTS] = (_front_matter(title) + f"# {title}\n\n{len(ordered)} incidents, by year, newest first.\n\n"
                        + "\n".join(rows) + "\n")
    return pages


def service_pages(postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """One page per service (its incidents, newest first) and the services overview."""
    by_service: dict[str, list[Postmortem]] = defaultdict(list)
    for pm in newest_first(postmortems):
        for service in dict.fromkeys(pm.services):
            by_service[service].append(pm)
    pages: dict[str, str] = {}
    rows = ["| Service | Incidents | SEV1 | Latest |", "|---|---|---|---|"]
    for service in sorted(by_service):
        if service_page(service) == SERVICES:
            raise ValueError(f"{SERVICES}: the page of service {service!r} collides with the services overview; "
                             "rename the service")
        items = by_service[service]
        sev1 = sum(p.severity == "SEV1" for p in items)
        rows.append(f"| [{text(service)}]({link(SERVICES, service_page(service))}) | {len(items)} | {sev1} "
                    f"| {items[0].date.isoformat()} |")
        pages.update(split_pages(service_page(service), service,
                                 f"{len(items)} incidents affected **{text(service)}**, newest first. "
                                 f"[All services]({link(service_page(service), SERVICES)})\n\n", items))
    pages[SERVICES] = (_front_matter("Services") + "# Services\n\n"
                       + f"{len(by_service)} services, with the incidents that affected them.\n\n"
                       + "\n".join(rows) + "\n")
    return pages


def cluster_pages(clusters: Sequence[Cluster], by_id: dict[str, Postmortem]) -> dict[str, str]:
    """One page per recurring problem and the overview (most active first)."""
    pages: dict[str, str] = {}
    for c in clusters:
        page = cluster_page(c.id)
        members = newest_first(by_id[m] for m in c.members if m in by_id)
        intro = [f"**{c.size} incidents** from {c.first.isoformat()} to {c.last.isoformat()}. "
                 f"Cluster id `{c.id}`. [All recurring problems]({link(page, CLUSTERS)})\n\n"]
        if c.terms:
            intro.append("Shared terms: " + ", ".join(f"`{t}`" for t in c.terms if "`" not in t) + "\n\n")
        if c.severities:
            intro.append("Severities: " + ", ".join(f"{text(k)} × {v}" for k, v in sorted(c.severities.items()))
                         + "\n\n")
        if c.recurred_after_fix:
            names = ", ".join(f"[{text(m)}]({link(page, by_id[m].path)})" for m in c.recurred_after_fix if m in by_id)
            intro.append(f'!!! warning "Came back after a fix"\n    {names} started after an action item of an '
                         f"earlier incident in this problem was marked done.\n\n")
        body = split_pages(page, c.label or c.id, "".join(intro), members)
        if c.action_items:
            first = body[page]
            items = ["\n## Action items\n\n| Incident | Action item | Owner | Status |", "|---|---|---|---|"]
            for member, item in c.action_items:
                target = by_id.get(member)
                where = f"[{text(member)}]({link(page, target.path)})" if target else text(member)
                items.append(f"| {where} | {text(item.title)} | {text(item.owner or '—')} | {text(item.status)} |")
            body[page] = first + "\n".join(items) + "\n"
        pages.update(body)
    rows = cluster_table(CLUSTERS, _active(clusters)) if clusters else "No recurring problems found.\n"
    pages[CLUSTERS] = (_front_matter("Recurring problems") + "# Recurring problems\n\n"
                       + "Groups of incidents that describe the same underlying failure (TF-IDF similarity), "
                       + "most incidents first.\n\n" + rows)
    return pages


def tag_pages(postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """The tag index (tag, count) and one Material tags listing per tag."""
    counts = Counter(t for pm in postmortems for t in dict.fromkeys(pm.tags))
    pages: dict[str, str] = {}
    rows = ["| Tag | Incidents |", "|---|---|"]
    for tag in sorted(counts):
        if tag_page(tag) == TAGS:
            raise ValueError(f"{TAGS}: the page of tag {tag!r} collides with the tag index; rename the tag")
        rows.append(f"| [{text(tag)}]({link(TAGS, tag_page(tag))}) | {counts[tag]} |")
        pages[tag_page(tag)] = (_front_matter(f"Tag: {tag}") + f"# Tag: {text(tag)}\n\n"
                                f"{counts[tag]} incidents. [All tags]({link(tag_page(tag), TAGS)})\n\n"
                                f"<!-- material/tags {{ include: [{json.dumps(tag)}], toc: false }} -->\n")
    pages[TAGS] = (_front_matter("Tags") + "# Tags\n\n" + f"{len(counts)} tags.\n\n"
                   + ("\n".join(rows) + "\n" if counts else "No tags yet.\n"))
    return pages


def generated_pages(postmortems: Sequence[Postmortem], analysis: Analysis, site_name: str) -> dict[str, str]:
    """Every generated page of the site as ``{docs-relative path: Markdown}``.

    ``postmortems`` are the published ones (no drafts); links and clusters that name anything
    else are left out.

    Raises:
        ValueError: two generated pages have the same path (e.g. a service called ``index``),
            naming both.
    """
    by_id = {pm.id: pm for pm in postmortems}
    clusters = _published_clusters(analysis, by_id)
    pages: dict[str, str] = {HOME: home_page(postmortems, clusters, site_name)}
    groups = [
        ("incident index", incident_pages(postmortems)),
        ("service pages", service_pages(postmortems)),
        ("recurring-problem pages", cluster_pages(clusters, by_id)),
        ("tag pages", tag_pages(postmortems)),
    ]
    origin = {HOME: "home page"}
    for name, group in groups:
        for path, content in group.items():
            if path in pages:
                raise ValueError(f"generated page {path} of the {name} collides with the {origin[path]}; "
                                 "rename the service, tag or cluster that produces it")
            pages[path] = content
            origin[path] = name
    return pages


# --- exports ----------------------------------------------------------------------------------


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def export_records(postmortems: Sequence[Postmortem], analysis: Analysis, urls: dict[str, str]) -> list[dict]:
    """One JSON-ready dict per post-mortem (sorted by id): metadata, durations, related, cluster."""
    by_id = {pm.id: pm for pm in postmortems}
    records = []
    for pm in sorted(postmortems, key=lambda p: p.id):
        related = [{"id": r.id, "score": round(r.score, 4), "terms": list(r.terms), "pinned": r.pinned}
                   for r in analysis.related.get(pm.id, []) if r.id in by_id and r.id != pm.id]
        records.append({
            "id": pm.id, "title": pm.title, "date": pm.date.isoformat(), "severity": pm.severity,
            "status": pm.status, "services": list(pm.services), "tags": list(pm.tags),
            "authors": list(pm.authors), "summary": pm.summary, "trigger": pm.trigger,
            "root_cause": pm.root_cause, "started_at": _iso(pm.started_at), "detected_at": _iso(pm.detected_at),
            "mitigated_at": _iso(pm.mitigated_at), "resolved_at": _iso(pm.resolved_at),
            "time_to_detect_s": pm.time_to_detect, "time_to_mitigate_s": pm.time_to_mitigate,
            "time_to_resolve_s": pm.time_to_resolve, "duration_s": pm.duration,
            "action_items": [{"title": a.title, "owner": a.owner, "status": a.status,
                              "due": a.due.isoformat() if a.due else None, "ticket": a.ticket}
                             for a in pm.action_items],
            "url": urls.get(pm.id), "path": pm.path,
            "cluster": analysis.cluster_of.get(pm.id) if analysis.cluster_of.get(pm.id) else None,
            "related": related,
        })
    return records


def export_json(records: list[dict]) -> str:
    """``api/postmortems.json``: ``{"version": 1, "count": N, "postmortems": [...]}``."""
    return json.dumps({"version": 1, "count": len(records), "postmortems": records},
                      ensure_ascii=False, indent=1, sort_keys=False) + "\n"


CSV_COLUMNS = ("id", "date", "title", "severity", "status", "services", "tags", "authors",
               "time_to_detect_s", "time_to_resolve_s", "duration_s", "trigger", "cluster", "related", "url")


def export_csv(records: list[dict]) -> str:
    """``api/postmortems.csv``: one row per post-mortem; lists joined with ``;``, related as ``id:score``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        row = dict(r)
        for key in ("services", "tags", "authors"):
            row[key] = ";".join(r[key])
        row["related"] = ";".join(f"{x['id']}:{x['score']:.4f}" for x in r["related"])
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


# --- sanitising -------------------------------------------------------------------------------

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "input", "ins", "kbd", "label", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    "var",
}
_ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir"},
    "div": {"data-search-exclude"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"colspan", "rowspan", "align", "style"},
    "th": {"colspan", "rowspan", "align", "style"},
    "col": {"span"},
    "ol": {"start", "type", "reversed"},
    "details": {"open"},
    "input": {"checked", "disabled"},
    "label": {"for"},
    "code": {"data-lang"},
}


def sanitize_html(html: str) -> str:
    """Remove everything executable from HTML rendered from a post-mortem, keep Material's markup.

    Uses nh3 (the ammonia HTML sanitiser): an allow-list of tags and attributes; ``<script>``
    and ``<style>`` go with their content, ``on*=`` attributes are dropped, URLs must be
    relative or ``http``/``https``/``mailto`` (so ``javascript:`` links lose their ``href``),
    and inline styles keep only ``text-align`` (Markdown table alignment). Classes, ids and
    titles stay, so admonitions, highlighted code, tables, heading anchors and the summary
    card render as before.
    """
    import nh3

    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        tag_attribute_values={"input": {"type": {"checkbox"}}},
        url_schemes={"http", "https", "mailto"},
        filter_style_properties={"text-align"},
        link_rel=None,
        strip_comments=True,
    )
