"""The knowledge-base pages, cards, related lists and exports, rendered from the model: no MkDocs here.

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
- ``tags/index.md`` and ``tags/<tag>.md``: the tag index and each tag's incidents (split like
  the service pages).

Generated pages are Markdown (front matter, headings) around raw HTML: tables, the summary
card and the related list are HTML, because Python-Markdown's inline patterns over thousands of
table rows cost more than the whole bare build. Their links are final relative URLs computed by
:class:`Links` the way MkDocs computes page URLs (``use_directory_urls`` or the offline
``.html`` form); the site tests check that every link resolves. Every value that comes from a
post-mortem is HTML-escaped (and Markdown-escaped in headings).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from html import escape

from .analysis import Analysis
from .csvsafe import cell
from .model import SEVERITIES, Cluster, Postmortem, RelatedLink, format_duration
from .paths import (ACTION_ITEMS_ANCHOR, CLUSTERS, HOME, INCIDENTS, RELATED_ANCHOR, SERVICES, TAGS,  # noqa: F401
                    cluster_page, part_page, service_page, tag_page, year_page)

PAGE_ROWS = 400
"""Most table rows on one generated page; longer lists are split into numbered parts so the
largest page stays far below 300 KB even for 10,000 post-mortems."""

LATEST_ON_HOME = 10
ACTION_ITEMS_SHOWN = 50
RECURRED_SHOWN = 20
CLUSTERS_ON_HOME = 5

NAV = [
    {"Home": HOME},
    {"Incidents": INCIDENTS},
    {"Services": SERVICES},
    {"Clusters": CLUSTERS},
    {"Tags": TAGS},
]
"""The navigation: a handful of entry pages, never one entry per post-mortem."""

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|])")


# --- small helpers ----------------------------------------------------------------------------


def text(value: object) -> str:
    """``value`` as inline Markdown that renders as exactly that text (HTML and Markdown escaped)."""
    return _MD_SPECIAL.sub(r"\\\1", escape(str(value), quote=True))


def attr(value: object) -> str:
    """``value`` escaped for HTML text or an attribute value."""
    return escape(str(value), quote=True)


class Links:
    """Relative URLs between docs-relative pages, computed as MkDocs computes page URLs.

    Generated tables, cards and related lists are raw HTML (Python-Markdown passes it through
    without running its inline patterns over thousands of rows), so their links are final
    URLs: ``a/b.md`` is ``a/b/`` with ``use_directory_urls`` (``a/index.md`` is ``a/``) and
    ``a/b.html`` without it (the offline build). The tests check that every link resolves.
    """

    def __init__(self, use_directory_urls: bool = True):
        self.use_directory_urls = use_directory_urls
        self._urls: dict[str, str] = {}

    def url(self, page: str) -> str:
        """Site-relative URL of a docs-relative page (``""`` for the home page)."""
        url = self._urls.get(page)
        if url is None:
            url = self._urls[page] = self._url(page)
        return url

    def _url(self, page: str) -> str:
        if not page.endswith(".md"):
            return page
        stem = page[:-3]
        if not self.use_directory_urls:
            return stem + ".html"
        if stem == "index":
            return ""
        if stem.endswith("/index"):
            return stem[: -len("index")]
        return stem + "/"

    def href(self, from_page: str, to_page: str, fragment: str = "") -> str:
        """URL of ``to_page`` relative to ``from_page``, escaped for an ``href`` attribute."""
        source, target = self.url(from_page), self.url(to_page)
        base = source.split("/")[:-1]           # the folder the browser resolves against
        parts = target.split("/")
        common = 0
        while common < len(base) and common < len(parts) - 1 and base[common] == parts[common]:
            common += 1
        relative = "../" * (len(base) - common) + "/".join(parts[common:])
        return attr((relative or "./") + (f"#{fragment}" if fragment else ""))

    def a(self, from_page: str, to_page: str, label: str, css: str = "") -> str:
        """An ``<a>`` element with escaped ``label``."""
        cls = f' class="{css}"' if css else ""
        return f'<a href="{self.href(from_page, to_page)}"{cls}>{attr(label)}</a>'












def newest_first(postmortems: Iterable[Postmortem]) -> list[Postmortem]:
    """Post-mortems by date, newest first; ties by start time then id, both descending."""
    return sorted(postmortems, key=lambda p: (p.date, p.started_at.timestamp() if p.started_at else 0.0, p.id),
                  reverse=True)


def _front_matter(title: str, hide: Sequence[str] = (), search: bool = True) -> str:
    lines = ["---", f"title: {json.dumps(title)}"]
    if hide:
        lines.append(f"hide: [{', '.join(hide)}]")
    if not search:
        lines.append("search:\n  exclude: true")
    lines.append("---")
    return "\n".join(lines) + "\n\n"


def _severity_badge(severity: str) -> str:
    css = severity.lower() if severity in SEVERITIES else "unknown"
    return f'<span class="pmkb-sev pmkb-sev--{css}">{attr(severity)}</span>'


def _services(ln: Links, page: str, services: Sequence[str], limit: int | None = None) -> str:
    shown = list(services) if limit is None else list(services)[:limit]
    out = ", ".join(ln.a(page, service_page(s), s) for s in shown) or "—"
    if len(services) > len(shown):
        out += f" +{len(services) - len(shown)}"
    return out


def _id(pm_id: str) -> str:
    return attr(pm_id)  # styled by the table's first-column CSS: no markup per row


SET_ASIDE = re.compile(r'<div class="pmkb-table[^"]*" data-search-exclude>\n.*?</div>\n', re.S)
"""Matches the tables :func:`_unsearched` wraps (they contain no ``</div>``)."""


def _unsearched(table: str, kind: str) -> str:
    # Listing pages are found by their own name; their rows would bury the post-mortems
    # themselves in search results, so the tables stay out of the search index.
    return f'<div class="pmkb-table pmkb-table--{kind}" data-search-exclude>\n{table}</div>\n\n'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    # Cells are separated by a space: Material's search parser joins adjacent text nodes as
    # they are, so "<td>app-team</td><td>in-progress</td>" would be indexed as one word.
    head = " ".join(f"<th>{h}</th>" for h in header)
    body = "\n".join("<tr>" + " ".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"


# --- tables of incidents ----------------------------------------------------------------------


def incident_table(ln: Links, page: str, postmortems: Sequence[Postmortem]) -> str:
    """An HTML table (id, date, title, severity, services, TTR) with links from ``page``.

    The table is kept out of the search index (the post-mortems are indexed themselves).
    """
    rows = ((_id(pm.id), pm.date.isoformat(), ln.a(page, pm.path, pm.title), _severity_badge(pm.severity),
             _services(ln, page, pm.services, 3), format_duration(pm.time_to_resolve)) for pm in postmortems)
    return _unsearched(_table(("Id", "Date", "Title", "Severity", "Services", "TTR"), rows), "incidents")


def _pager(ln: Links, page_paths: Sequence[str], current: int, here: str) -> str:
    if len(page_paths) < 2:
        return ""
    parts = [f"<strong>{i}</strong>" if i == current else ln.a(here, target, str(i))
             for i, target in enumerate(page_paths, 1)]
    return '<p class="pmkb-pager">Pages: ' + " · ".join(parts) + "</p>\n\n"


def split_pages(ln: Links, first_page: str, title: str, intro: str,
                postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """``postmortems`` as a table on ``first_page``, split into parts of :data:`PAGE_ROWS` rows.

    ``intro`` is HTML shown above the table of every part. Returns ``{path: markdown}``.
    """
    chunks = [list(postmortems[i:i + PAGE_ROWS]) for i in range(0, len(postmortems), PAGE_ROWS)] or [[]]
    paths = [part_page(first_page, i) for i in range(1, len(chunks) + 1)]
    pages = {}
    for i, (path, chunk) in enumerate(zip(paths, chunks), 1):
        heading = title if i == 1 else f"{title} (part {i})"
        pager = _pager(ln, paths, i, path)
        body = intro + pager + (incident_table(ln, path, chunk) if chunk else "<p>No incidents.</p>\n\n") + pager
        pages[path] = _front_matter(heading) + f"# {text(heading)}\n\n" + body
    return pages


# --- the summary card and the related section of a post-mortem page ---------------------------


def _fact(label: str, value: str, wide: bool = False) -> str:
    opening = '<div class="w">' if wide else "<div>"
    return f"{opening}<dt>{label}</dt><dd>{value}</dd></div>"


CARD_FACTS = "<!--pmkb-card-facts-->\n"
"""Where :func:`card_html` with ``split=True`` leaves the facts out (put back after indexing)."""


def card_html(ln: Links, pm: Postmortem, cluster: Cluster | None = None, split: bool = False):
    """The summary card shown above a post-mortem's body (HTML).

    With ``split=True``, returns ``(card, facts)``: the card with :data:`CARD_FACTS` where the
    facts go, and the facts. The plugin puts the facts in after search has indexed the page:
    they are kept out of the index anyway, and Material's search parser would still spend time
    on their forty-odd tags on every post-mortem page.

    Shows severity, status, id, summary, date, services, time to detect, time to mitigate and
    time to resolve (from ``started_at``), authors, tags and, when the incident belongs to one, its recurring problem. The
    facts are kept out of the search index (they would clutter every search result); the
    markup is lean because it is repeated on every post-mortem page.
    """
    page = pm.path
    status_css = re.sub(r"[^a-z-]", "", pm.status.lower()) or "unknown"
    head = (f'<div class="pmkb-card__head">{_severity_badge(pm.severity)} '
            f'<span class="pmkb-status pmkb-status--{status_css}">{attr(pm.status)}</span> '
            f'<span class="pmkb-card__id">{attr(pm.id)}</span></div>')
    tags = " ".join(ln.a(page, tag_page(t), t) for t in pm.tags) or "—"  # chips by CSS (a[href*="tags/"])
    facts = [
        _fact("Date", pm.date.isoformat()),
        _fact("Services", _services(ln, page, pm.services), wide=True),
        _fact("Time to detect", format_duration(pm.time_to_detect)),
        _fact("Time to mitigate", format_duration(pm.time_to_mitigate)),
        _fact("Time to resolve", format_duration(pm.time_to_resolve)),
        _fact("Authors", attr(", ".join(pm.authors)) or "—"),
        _fact("Tags", tags, wide=True),
    ]
    if cluster is not None:
        facts.append(_fact("Recurring problem", ln.a(page, cluster_page(cluster.id), cluster.label or cluster.id)
                           + f" ({cluster.size} incidents)", wide=True))
    summary = f'<p class="pmkb-card__summary">{attr(pm.summary)}</p>\n' if pm.summary else ""
    # data-search-exclude on a <dl>, not a <div>: Material's search parser matches end tags by
    # name, so a nested </div> would end an excluded <div> early.
    facts_html = '<dl class="pmkb-facts" data-search-exclude>\n' + "\n".join(facts) + "\n</dl>\n"
    if split:
        return f'<div class="pmkb-card">\n{head}\n{summary}{CARD_FACTS}</div>\n', facts_html
    return f'<div class="pmkb-card">\n{head}\n{summary}{facts_html}</div>\n'


CLOSED_ACTION_STATUSES = frozenset({"done", "wont-do"})
"""Action-item statuses of the v1 format that close an item (``open`` and ``in-progress`` do not)."""


def action_items_html(pm: Postmortem, today: dt.date, anchor: str = ACTION_ITEMS_ANCHOR) -> str:
    """The **Tracked action items** section of a post-mortem page: its front-matter action
    items as a table (status, action, owner, due date, ticket), heading included; ``""`` when
    it has none.

    An item still open (not ``done`` or ``wont-do``) whose due date is before ``today`` (UTC)
    is marked *overdue*. A ticket that is an ``http(s)://`` URL is a link; every value is escaped.
    """
    if not pm.action_items:
        return ""
    rows = []
    for item in pm.action_items:
        status = attr(item.status)
        if item.status not in CLOSED_ACTION_STATUSES and item.due is not None and item.due < today:
            status += ' <strong class="pmkb-overdue">overdue</strong>'
        ticket = "—"
        if item.ticket:
            ticket = (f'<a href="{attr(item.ticket)}">{attr(item.ticket)}</a>'
                      if re.match(r"https?://", item.ticket, re.I) else attr(item.ticket))
        rows.append(f"<tr><td>{status}</td><td>{attr(item.title)}</td><td>{attr(item.owner or '—')}</td>"
                    f"<td>{item.due.isoformat() if item.due else '—'}</td><td>{ticket}</td></tr>")
    still_open = sum(item.status not in CLOSED_ACTION_STATUSES for item in pm.action_items)
    return (f'<h2 id="{anchor}">Tracked action items<a class="headerlink" href="#{anchor}" '
            'title="Permanent link">&para;</a></h2>\n'
            f"<p>{still_open} of {len(pm.action_items)} still open.</p>\n"
            "<table>\n<thead><tr><th>Status</th><th>Action</th><th>Owner</th><th>Due</th><th>Ticket</th></tr></thead>\n"
            "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n")


def related_html(ln: Links, pm: Postmortem, links: Sequence[RelatedLink], by_id: dict[str, Postmortem],
                 cluster: Cluster | None, min_score: float, anchor: str = RELATED_ANCHOR) -> str:
    """The **Related incidents** section that ends a post-mortem page (HTML, heading included).

    ``links`` are shown in the given order, skipping ids not in ``by_id`` (drafts and
    unknown ids: nothing links to a page that is not published). Each entry has title,
    severity, id, date, score and the shared terms; the cluster link closes the section.
    """
    page = pm.path
    out = [f'<h2 id="{anchor}">Related incidents<a class="headerlink" href="#{anchor}" '
           'title="Permanent link">&para;</a></h2>\n']
    items = []
    for rel in links:
        other = by_id.get(rel.id)
        if other is None or other.id == pm.id:
            continue
        meta = f"{_severity_badge(other.severity)} {attr(other.id)} · {other.date.isoformat()} · score {rel.score:.2f}"
        if rel.pinned:
            meta += " · linked by the authors"
        elif getattr(rel, "via", "tfidf") == "semantic":
            meta += " · sentence model"
        if rel.terms:
            meta += f" · <em>{attr(', '.join(rel.terms))}</em>"
        items.append(f"<li>{ln.a(page, other.path, other.title)} <small>{meta}</small></li>")
    if items:
        out.append('<ul class="pmkb-related">\n' + "\n".join(items) + "\n</ul>\n")
    else:
        out.append(f"<p>No other incident is similar enough (score of at least {min_score:g}).</p>\n")
    if cluster is not None:
        out.append(f"<p>Part of the recurring problem "
                   f"{ln.a(page, cluster_page(cluster.id), cluster.label or cluster.id)}: "
                   f"{cluster.size} incidents from {cluster.first.isoformat()} to {cluster.last.isoformat()}.</p>\n")
    return "".join(out)


# --- generated pages --------------------------------------------------------------------------


def _published_clusters(analysis: Analysis, by_id: dict[str, Postmortem]) -> list[Cluster]:
    return [c for c in analysis.clusters if sum(m in by_id for m in c.members) >= 2]


def _active(clusters: Sequence[Cluster]) -> list[Cluster]:
    return sorted(clusters, key=lambda c: (-c.size, -c.last.toordinal(), c.id))


def home_page(ln: Links, postmortems: Sequence[Postmortem], clusters: Sequence[Cluster], site_name: str) -> str:
    """The home page: a search prompt first, then the latest incidents and most active clusters."""
    latest = newest_first(postmortems)[:LATEST_ON_HOME]
    services = {s for pm in postmortems for s in pm.services}
    out = [_front_matter(site_name, hide=("toc",)), f"# {text(site_name)}\n\n"]
    out.append(
        '<div class="pmkb-hero">\n'
        f'<label class="pmkb-hero__search" for="__search">Search {len(postmortems)} post-mortems: an error '
        'message, a service, a symptom or an id <kbd>/</kbd></label>\n'
        f'<p class="pmkb-hero__stats">{ln.a(HOME, INCIDENTS, f"{len(postmortems)} incidents")} · '
        f'{ln.a(HOME, SERVICES, f"{len(services)} services")} · '
        f'{ln.a(HOME, CLUSTERS, f"{len(clusters)} recurring problems")} · {ln.a(HOME, TAGS, "tags")}</p>\n'
        "</div>\n\n"
    )
    out.append("## Latest incidents\n\n")
    out.append(incident_table(ln, HOME, latest) if latest else "<p>No published post-mortems yet.</p>\n\n")
    out.append(f"<p>{ln.a(HOME, INCIDENTS, 'All incidents')}</p>\n\n")
    out.append("## Most active recurring problems\n\n")
    top = _active(clusters)[:CLUSTERS_ON_HOME]
    out.append(cluster_table(ln, HOME, top) if top else "<p>No recurring problems found.</p>\n")
    if top:
        out.append(f"<p>{ln.a(HOME, CLUSTERS, 'All recurring problems')}</p>\n")
    return "".join(out)


def cluster_table(ln: Links, page: str, clusters: Sequence[Cluster]) -> str:
    """An HTML table of clusters (problem, incidents, first, last, services) linked from ``page``."""
    rows = ((ln.a(page, cluster_page(c.id), c.label or c.id), str(c.size), c.first.isoformat(), c.last.isoformat(),
             _services(ln, page, c.services, 4)) for c in clusters)
    return _unsearched(_table(("Recurring problem", "Incidents", "First", "Last", "Services"), rows), "clusters")


def incident_pages(ln: Links, postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """The incident index: newest first, grouped by year; per-year pages when it gets long."""
    ordered = newest_first(postmortems)
    by_year: dict[int, list[Postmortem]] = defaultdict(list)
    for pm in ordered:
        by_year[pm.date.year].append(pm)
    title = "Incidents"
    if len(ordered) <= PAGE_ROWS:
        out = [_front_matter(title), f"# {title}\n\n", f"{len(ordered)} incidents, newest first.\n\n"]
        for year, items in by_year.items():
            out.append(f"## {year}\n\n{incident_table(ln, INCIDENTS, items)}")
        return {INCIDENTS: "".join(out)}
    pages: dict[str, str] = {}
    rows = []
    for year, items in by_year.items():
        sev = Counter(p.severity for p in items)
        rows.append((ln.a(INCIDENTS, year_page(year), str(year)), str(len(items)), str(sev["SEV1"]), str(sev["SEV2"])))
        pages.update(split_pages(ln, year_page(year), f"Incidents in {year}",
                                 f"<p>{len(items)} incidents in {year}, newest first. "
                                 f"{ln.a(year_page(year), INCIDENTS, 'All years')}</p>\n\n", items))
    pages[INCIDENTS] = (_front_matter(title) + f"# {title}\n\n{len(ordered)} incidents, by year, newest first.\n\n"
                        + _table(("Year", "Incidents", "SEV1", "SEV2"), rows))
    return pages


def service_pages(ln: Links, postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """One page per service (its incidents, newest first) and the services overview."""
    by_service: dict[str, list[Postmortem]] = defaultdict(list)
    for pm in newest_first(postmortems):
        for service in dict.fromkeys(pm.services):
            by_service[service].append(pm)
    pages: dict[str, str] = {}
    rows = []
    for service in sorted(by_service):
        if service_page(service) == SERVICES:
            raise ValueError(f"{SERVICES}: the page of service {service!r} collides with the services overview; "
                             "rename the service")
        items = by_service[service]
        sev1 = sum(p.severity == "SEV1" for p in items)
        rows.append((ln.a(SERVICES, service_page(service), service), str(len(items)), str(sev1),
                     items[0].date.isoformat()))
        pages.update(split_pages(ln, service_page(service), service,
                                 f"<p>{len(items)} incidents affected <strong>{attr(service)}</strong>, newest first. "
                                 f"{ln.a(service_page(service), SERVICES, 'All services')}</p>\n\n", items))
    pages[SERVICES] = (_front_matter("Services") + "# Services\n\n"
                       + f"{len(by_service)} services, with the incidents that affected them.\n\n"
                       + _table(("Service", "Incidents", "SEV1", "Latest"), rows))
    return pages


def cluster_pages(ln: Links, clusters: Sequence[Cluster], by_id: dict[str, Postmortem]) -> dict[str, str]:
    """One page per recurring problem and the overview (most active first)."""
    pages: dict[str, str] = {}
    for c in clusters:
        page = cluster_page(c.id)
        members = newest_first(by_id[m] for m in c.members if m in by_id)
        intro = [f"<p><strong>{c.size} incidents</strong> from {c.first.isoformat()} to {c.last.isoformat()}. "
                 f"Cluster id <code>{attr(c.id)}</code>. {ln.a(page, CLUSTERS, 'All recurring problems')}</p>\n"]
        if c.terms:
            intro.append(f"<p>Shared terms: {attr(', '.join(c.terms))}</p>\n")
        if c.severities:
            intro.append("<p>Severities: " + ", ".join(f"{attr(k)} × {v}" for k, v in sorted(c.severities.items()))
                         + "</p>\n")
        came_back = [m for m in c.recurred_after_fix if m in by_id]
        if came_back:
            latest = newest_first(by_id[m] for m in came_back)[:RECURRED_SHOWN]
            names = ", ".join(ln.a(page, pm.path, pm.id) for pm in latest)
            more = f" (the latest {len(latest)} of {len(came_back)})" if len(came_back) > len(latest) else ""
            intro.append(f'<div class="admonition warning"><p class="admonition-title">Came back after a fix</p>'
                         f"<p>{names}{more} started after an action item of an earlier incident in this "
                         f"problem was marked done.</p></div>\n")
        body = split_pages(ln, page, c.label or c.id, "".join(intro) + "\n", members)
        still_open = [(m, item) for m, item in reversed(c.action_items) if item.status in ("open", "in-progress")]
        if c.action_items:
            rows = []
            for member, item in still_open[:ACTION_ITEMS_SHOWN]:
                target = by_id.get(member)
                rows.append((ln.a(page, target.path, member) if target else attr(member), attr(item.title),
                             attr(item.owner or "—"), attr(item.status)))
            shown = (f"the {ACTION_ITEMS_SHOWN} of the newest incidents" if len(still_open) > ACTION_ITEMS_SHOWN
                     else "all of them")
            body[page] += (f"## Open action items\n\n<p>{len(still_open)} of {len(c.action_items)} action items "
                           f"are open or in progress; shown: {shown}.</p>\n\n"
                           + (_table(("Incident", "Action item", "Owner", "Status"), rows) if rows else ""))
        pages.update(body)
    table = cluster_table(ln, CLUSTERS, _active(clusters)) if clusters else "<p>No recurring problems found.</p>\n"
    pages[CLUSTERS] = (_front_matter("Recurring problems") + "# Recurring problems\n\n"
                       + "Groups of incidents that describe the same underlying failure (TF-IDF similarity), "
                       + "most incidents first.\n\n" + table)
    return pages


def tag_pages(ln: Links, postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """The tag index (tag, count) and one page per tag: its incidents, newest first.

    Our own tables, split like the service pages, rather than Material's tags listings: a
    listing is filled by scanning every page for every tag (about 55 x 3,000 checks at 3,000
    post-mortems) and lists every incident of the tag on one page.
    """
    by_tag: dict[str, list[Postmortem]] = defaultdict(list)
    for pm in newest_first(postmortems):
        for tag in dict.fromkeys(pm.tags):
            by_tag[tag].append(pm)
    pages: dict[str, str] = {}
    rows = []
    for tag in sorted(by_tag):
        if tag_page(tag) == TAGS:
            raise ValueError(f"{TAGS}: the page of tag {tag!r} collides with the tag index; rename the tag")
        items = by_tag[tag]
        rows.append((ln.a(TAGS, tag_page(tag), tag), str(len(items))))
        pages.update(split_pages(ln, tag_page(tag), f"Tag: {tag}",
                                 f"<p>{len(items)} incidents tagged <strong>{attr(tag)}</strong>, newest first. "
                                 f"{ln.a(tag_page(tag), TAGS, 'All tags')}</p>\n\n", items))
    pages[TAGS] = (_front_matter("Tags") + "# Tags\n\n" + f"{len(by_tag)} tags.\n\n"
                   + (_table(("Tag", "Incidents"), rows) if by_tag else "No tags yet.\n"))
    return pages


def generated_pages(postmortems: Sequence[Postmortem], analysis: Analysis, site_name: str,
                    use_directory_urls: bool = True) -> dict[str, str]:
    """Every generated page of the site as ``{docs-relative path: Markdown}``.

    ``postmortems`` are the published ones (no drafts); links and clusters that name anything
    else are left out.

    Raises:
        ValueError: two generated pages have the same path (e.g. a service called ``index``),
            naming both.
    """
    ln = Links(use_directory_urls)
    by_id = {pm.id: pm for pm in postmortems}
    clusters = _published_clusters(analysis, by_id)
    pages: dict[str, str] = {HOME: home_page(ln, postmortems, clusters, site_name)}
    groups = [
        ("incident index", incident_pages(ln, postmortems)),
        ("service pages", service_pages(ln, postmortems)),
        ("recurring-problem pages", cluster_pages(ln, clusters, by_id)),
        ("tag pages", tag_pages(ln, postmortems)),
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
        related = [{"id": r.id, "score": round(r.score, 4), "terms": list(r.terms), "pinned": r.pinned,
                    "via": r.via}
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
                      ensure_ascii=False, separators=(",", ":")) + "\n"


CSV_COLUMNS = ("id", "date", "title", "severity", "status", "services", "tags", "authors",
               "time_to_detect_s", "time_to_resolve_s", "duration_s", "trigger", "cluster", "related", "url")


def export_csv(records: list[dict]) -> str:
    """``api/postmortems.csv``: one row per post-mortem; lists joined with ``;``, related as ``id:score``.

    Text cells that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR
    first) get a leading ``'`` (:func:`generator.csvsafe.cell`, OWASP "CSV Injection").
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        row = dict(r)
        for key in ("services", "tags", "authors"):
            row[key] = ";".join(r[key])
        row["related"] = ";".join(f"{x['id']}:{x['score']:.4f}" for x in r["related"])
        writer.writerow([cell(row[c]) for c in CSV_COLUMNS])  # formula-looking text quoted (csvsafe)
    return buffer.getvalue()


# --- output size -----------------------------------------------------------------------------

_PRESERVED = re.compile(r"(<(pre|textarea|script|style|code)\b.*?</\2>)", re.S | re.I)
_BLANKS = re.compile(r"\n[ \t\r\n]+")


def compact_template(source: str) -> str:
    """A Jinja template's source without the whitespace that only makes its output bigger
    (Material's templates are a third whitespace), dropped once, when the template is loaded.

    Outside ``<pre>``, ``<code>``, ``<textarea>``, ``<script>`` and ``<style>``: indentation and
    blank lines go, and so does the line break right after a block tag (``%}``), as with Jinja's
    ``trim_blocks``. Pages rendered from the compacted theme need no per-page compaction (3,000
    pages: about half a second) and render the same (checked pixel for pixel on the shipped
    site); the line breaks that go only ever separated two tags. A line break followed by
    whitespace becomes one line break, which HTML renders the same.
    """
    pieces = _PRESERVED.split(source)
    out = []
    for i in range(0, len(pieces), 3):
        out.append(_BLANKS.sub("\n", pieces[i]).replace("%}\n", "%}"))
        if i + 1 < len(pieces):
            out.append(pieces[i + 1])
    return "".join(out)


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
    global _CLEANER
    if _CLEANER is None:  # built once: converting the allow-lists is a fifth of each call
        import nh3

        _CLEANER = nh3.Cleaner(
            tags=_ALLOWED_TAGS,
            attributes=_ALLOWED_ATTRIBUTES,
            tag_attribute_values={"input": {"type": {"checkbox"}}},
            url_schemes={"http", "https", "mailto"},
            filter_style_properties={"text-align"},
            link_rel=None,
            strip_comments=True,
        )
    return _CLEANER.clean(html)


_CLEANER = None
