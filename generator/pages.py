"""The knowledge base's own pages and the additions to each post-mortem page, as Markdown.

Pure functions of the post-mortems, their :class:`~generator.analysis.Analysis` and the
ranked recurring problems (:func:`generator.metrics.rank_clusters`); no engine here.
:func:`generator.render.render_site` calls them. Pages (paths in :mod:`generator.paths`):

- ``index.md``: the home page, search first, then the latest incidents and the recurring
  problems that hurt most;
- ``incidents/index.md``: every incident, newest first, grouped by year (one page per year,
  split in parts of :data:`PAGE_ROWS` rows, once the corpus outgrows one page);
- ``services/index.md`` and ``services/<service>.md``: incidents per affected service (a
  service of one incident is a row of the overview, :data:`generator.paths.OWN_PAGE_FROM`);
- ``clusters/index.md`` and ``clusters/<cluster-id>.md``: recurring problems;
- ``tags/index.md`` and ``tags/<tag>.md``: the tag index and each tag's incidents (likewise);
- on every post-mortem page: the summary card above the body, then **Tracked action items**
  and **Related incidents** (:func:`postmortem_page`).

Generated pages are Markdown (front matter, headings) around raw HTML tables with final
relative URLs (:class:`~generator.markup.Links`), because Python-Markdown's inline patterns
over thousands of table rows cost more than the whole bare build. Every value that comes from
a post-mortem goes through :mod:`generator.escape`. Lists and their tables are kept out of the
search index (``data-search-exclude``): searching finds the post-mortems themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import scan
from .escape import html_text, md_text
from .markup import Links, table
from .metrics import OPEN_STATUSES, ClusterSummary, newest_first
from .model import RANKED_BY_FUSED, RANKED_BY_SCORE, SEVERITIES, Cluster, Postmortem, RelatedLink, format_duration
from .paths import (CLUSTERS, HOME, INCIDENTS, OWN_PAGE_FROM, SEEN, SERVICES, TAGS, cluster_page, listing_anchor,
                    part_page, section_anchors, service_page, tag_page, year_page)
from .blocks import HOLD_CLOSE, HOLD_OPEN, Marks, nonce_for
from .sanitize import sanitize_own_html
from .synonyms import Synonyms

PAGE_ROWS = 400
"""Most table rows on one generated page; longer lists are split into numbered parts so the
largest page stays far below 300 KB even for 10,000 post-mortems."""

LATEST_ON_HOME = 10
ACTION_ITEMS_SHOWN = 50
RECURRED_SHOWN = 20
CLUSTERS_ON_HOME = 5

SEARCH_BOOST_POSTMORTEM = 2.0
"""Search ranking weight of a post-mortem page (the theme's ``search.boost``): an incident
outranks the list and report pages that mention it."""
SEARCH_BOOST_LISTS = 0.5
"""Search ranking weight of the generated list and report pages."""

NAV = [
    {"Home": HOME},
    {"Incidents": INCIDENTS},
    {"Services": SERVICES},
    {"Recurring problems": CLUSTERS},
    {"Tags": TAGS},
]
"""The navigation when ``mkdocs.yml`` has none: a handful of entry pages, never one entry per
post-mortem (the theme writes the nav into every page)."""


# --- small helpers ----------------------------------------------------------------------------


def front_matter(title: str, hide: Sequence[str] = (), boost: float | None = SEARCH_BOOST_LISTS) -> str:
    """The YAML front matter of a generated page (the title JSON-quoted, which is valid YAML)."""
    lines = ["---", f"title: {json.dumps(title)}"]
    if hide:
        lines.append(f"hide: [{', '.join(hide)}]")
    if boost is not None:
        lines.append(f"search:\n  boost: {boost}")
    lines.append("---")
    return "\n".join(lines) + "\n\n"


def _severity_badge(severity: str) -> str:
    css = severity.lower() if severity in SEVERITIES else "unknown"
    return f'<span class="pmkb-sev pmkb-sev--{css}">{html_text(severity)}</span>'


def _services(ln: Links, services: Sequence[str], limit: int | None = None) -> str:
    shown = list(services) if limit is None else list(services)[:limit]
    out = ", ".join(ln.listed("service", s) for s in shown) or "—"
    if len(services) > len(shown):
        out += f" +{len(services) - len(shown)}"
    return out


def _unsearched(html: str, kind: str) -> str:
    # Listing pages are found by their own name; their rows would bury the post-mortems
    # themselves in search results, so the tables stay out of the search index.
    # Between HOLD_OPEN and HOLD_CLOSE: an adapter may keep it from the engine's Markdown (generator.blocks).
    return f'{HOLD_OPEN}<div class="pmkb-table pmkb-table--{kind}" data-search-exclude>\n{html}</div>\n{HOLD_CLOSE}\n'


# --- tables of incidents ----------------------------------------------------------------------


def incident_table(ln: Links, postmortems: Sequence[Postmortem]) -> str:
    """An HTML table (id, date, title, severity, services, TTR) with links from ``ln.here``,
    kept out of the search index (the post-mortems are indexed themselves)."""
    rows = ((html_text(pm.id), pm.date.isoformat(), ln.a(pm.path, pm.title), _severity_badge(pm.severity),
             _services(ln, pm.services, 3), format_duration(pm.time_to_resolve)) for pm in postmortems)
    return _unsearched(table(("Id", "Date", "Title", "Severity", "Services", "TTR"), rows, html=True), "incidents")


def _pager(ln: Links, page_paths: Sequence[str], current: int) -> str:
    if len(page_paths) < 2:
        return ""
    parts = [f"<strong>{i}</strong>" if i == current else ln.a(target, str(i))
             for i, target in enumerate(page_paths, 1)]
    return '<p class="pmkb-pager">Pages: ' + " · ".join(parts) + "</p>\n\n"


def split_pages(ln: Links, first_page: str, title: str, intro, postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """``postmortems`` as a table on ``first_page``, split into parts of :data:`PAGE_ROWS` rows.

    ``intro(ln)`` (or a string) is the HTML above the table of every part, written with the
    links of that part. Returns ``{path: markdown}``.
    """
    chunks = [list(postmortems[i:i + PAGE_ROWS]) for i in range(0, len(postmortems), PAGE_ROWS)] or [[]]
    paths = [part_page(first_page, i) for i in range(1, len(chunks) + 1)]
    pages = {}
    for i, (path, chunk) in enumerate(zip(paths, chunks), 1):
        here = ln.at(path)
        heading = title if i == 1 else f"{title} (part {i})"
        pager = _pager(here, paths, i)
        lead = intro(here) if callable(intro) else intro
        body = lead + pager + (incident_table(here, chunk) if chunk else "<p>No incidents.</p>\n\n") + pager
        pages[path] = front_matter(heading) + f"# {md_text(heading)}\n\n" + body
    return pages


# --- a post-mortem page -----------------------------------------------------------------------


def _fact(label: str, value: str, wide: bool = False) -> str:
    opening = '<div class="w">' if wide else "<div>"
    return f"{opening}<dt>{label}</dt><dd>{value}</dd></div>"


def _indexed_text(pm: Postmortem) -> str:
    # What the search index has of the page: title, card summary, body; tags and services are
    # the page's search tags.
    return "\n".join([pm.title, pm.summary or "", " ".join(t.replace("-", " ") for t in pm.tags),
                      " ".join(s.replace("-", " ") for s in pm.services), pm.body])


def search_terms(pm: Postmortem, synonyms: Synonyms | None) -> tuple[list[str], list[str]]:
    """The synonyms of the words ``pm`` uses (title, summary, tags, services, body, and the
    trigger, root cause and action items, which the index does not have), as ``(every term of
    the groups it matches, the terms the indexed text lacks)``
    (:meth:`~generator.synonyms.Synonyms.group_terms`,
    :meth:`~generator.synonyms.Synonyms.expansions`); ``([], [])`` without synonyms."""
    if not synonyms:
        return [], []
    indexed = _indexed_text(pm)
    text = "\n".join([indexed, (pm.trigger or "").replace("-", " "), pm.root_cause or "",
                      *(item.title for item in pm.action_items)])
    return synonyms.terms(text, indexed)


CARD_OPEN = '<div class="pmkb-card">\n'
CARD_CLOSE = "</div>\n"


def card_html(ln: Links, pm: Postmortem, cluster: Cluster | None = None, internal: bool = False,
              terms: Sequence[str] = ()) -> str:
    """The summary card shown above a post-mortem's body (HTML; ``ln`` is at ``pm.path``).

    Shows severity, status, ``internal`` (on the internal site, for an incident the public site
    leaves out), id, summary, then the facts (:func:`card_facts_html`). The head (id) and the
    summary are indexed, and so are ``terms``
    (synonyms of the words the post-mortem uses that it does not use itself,
    :func:`search_terms`), in a paragraph the stylesheet hides from view (``pmkb-card__terms``).
    """
    return CARD_OPEN + card_head_html(pm, internal, terms) + card_facts_html(ln, pm, cluster) + CARD_CLOSE


def card_head_html(pm: Postmortem, internal: bool = False, terms: Sequence[str] = ()) -> str:
    """The searched part of :func:`card_html`: the line of badges and id, the summary, the
    terms (:func:`card_terms_html`)."""
    status_css = re.sub(r"[^a-z-]", "", pm.status.lower()) or "unknown"
    head = (f'<div class="pmkb-card__head">{_severity_badge(pm.severity)} '
            f'<span class="pmkb-status pmkb-status--{status_css}">{html_text(pm.status)}</span> '
            + ('<span class="pmkb-visibility pmkb-visibility--internal" title="left out of the public site">'
               'internal</span> ' if internal else "")
            + f'<span class="pmkb-card__id">{html_text(pm.id)}</span></div>')
    summary = f'<p class="pmkb-card__summary">{html_text(pm.summary)}</p>\n' if pm.summary else ""
    if terms:
        summary += card_terms_html(terms)
    return f"{head}\n{summary}"


def card_terms_html(terms: Sequence[str]) -> str:
    """The card's paragraph of search terms, hidden from view by the stylesheet."""
    return f'<p class="pmkb-card__terms">Also searched as: {html_text(", ".join(terms))}</p>\n'


def card_facts_html(ln: Links, pm: Postmortem, cluster: Cluster | None = None) -> str:
    """The facts of :func:`card_html`, kept out of the search index (they would clutter every
    search result): date, services, time to detect, time to mitigate and time to resolve (from
    ``started_at``), authors, tags and, when the incident belongs to one, its recurring problem."""
    tags = " ".join(ln.listed("tag", t) for t in pm.tags) or "—"  # chips by CSS (a[href*="tags/"])
    facts = [
        _fact("Date", pm.date.isoformat()),
        _fact("Services", _services(ln, pm.services), wide=True),
        _fact("Time to detect", format_duration(pm.time_to_detect)),
        _fact("Time to mitigate", format_duration(pm.time_to_mitigate)),
        _fact("Time to resolve", format_duration(pm.time_to_resolve)),
        _fact("Authors", html_text(", ".join(pm.authors)) or "—"),
        _fact("Tags", tags, wide=True),
    ]
    if cluster is not None:
        facts.append(_fact("Recurring problem", ln.a(cluster_page(cluster.id), cluster.label or cluster.id)
                           + f" ({cluster.size} incidents)", wide=True))
    # data-search-exclude on a <dl>, not a <div>: Material's search parser matches end tags by
    # name, so a nested </div> would end an excluded <div> early.
    return '<dl class="pmkb-facts" data-search-exclude>\n' + "\n".join(facts) + "\n</dl>\n"


CLOSED_ACTION_STATUSES = frozenset({"done", "wont-do"})
"""Action-item statuses of the v1 format that close an item (``open`` and ``in-progress`` do not)."""


def section_heading(title: str, anchor: str) -> str:
    """The Markdown heading of one of our sections of a post-mortem page (``title``, id
    ``anchor``), a blank line after it: a Markdown heading, so the engine puts it in the table of
    contents and knows the anchor (links to #related-incidents resolve in a strict build); the
    section is kept out of the search index (data-search-exclude on the heading excludes its section)."""
    return f"## {title} {{ #{anchor} data-search-exclude }}\n\n"


def action_items_section(pm: Postmortem, today: dt.date, anchor: str) -> str:
    """The **Tracked action items** section of a post-mortem page (Markdown heading, HTML
    table); ``""`` when it has none.

    An item still open (not ``done`` or ``wont-do``) whose due date is before ``today`` (UTC)
    is marked *overdue*. A ticket that is an ``http(s)://`` URL is a link; every value is escaped.
    """
    if not pm.action_items:
        return ""
    return section_heading("Tracked action items", anchor) + action_items_html(pm, today) + "\n"


def action_items_html(pm: Postmortem, today: dt.date) -> str:
    """The HTML of :func:`action_items_section` (below its heading): a line of how many items
    are still open and the table."""
    rows = []
    ticket_links = Links()
    for item in pm.action_items:
        status = html_text(item.status)
        if item.status not in CLOSED_ACTION_STATUSES and item.due is not None and item.due < today:
            status += ' <strong class="pmkb-overdue">overdue</strong>'
        rows.append(f"<tr><td>{status}</td><td>{html_text(item.title)}</td><td>{html_text(item.owner or '—')}</td>"
                    f"<td>{item.due.isoformat() if item.due else '—'}</td>"
                    f"<td>{ticket_links.ticket(item.ticket, html=True)}</td></tr>")
    still_open = sum(item.status not in CLOSED_ACTION_STATUSES for item in pm.action_items)
    return (f'<div class="pmkb-actions">\n<p>{still_open} of {len(pm.action_items)} still open.</p>\n'
            "<table>\n<thead><tr><th>Status</th><th>Action</th><th>Owner</th><th>Due</th><th>Ticket</th></tr></thead>\n"
            "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</div>\n")


def related_section(ln: Links, pm: Postmortem, links: Sequence[RelatedLink], by_id: dict[str, Postmortem],
                    cluster: Cluster | None, min_score: float, anchor: str) -> str:
    """The **Related incidents** section that ends a post-mortem page (``ln`` at ``pm.path``).

    ``links`` are shown in the given order, skipping ids not in ``by_id`` (drafts and
    unknown ids: nothing links to a page that is not published). Each entry has title,
    severity, id, date, score and the shared terms; a line above the list says what orders it
    (:func:`generator.model.ranked_by`): with the ``[semantic]`` model the fused score that
    ranks and the cosine beside it; the cluster link closes the section.
    """
    return section_heading("Related incidents", anchor) + related_html(ln, pm, links, by_id, cluster, min_score)


def related_html(ln: Links, pm: Postmortem, links: Sequence[RelatedLink], by_id: dict[str, Postmortem],
                 cluster: Cluster | None, min_score: float) -> str:
    """The HTML of :func:`related_section` (below its heading)."""
    out = ['<div class="pmkb-related-section">\n']
    items = []
    fused = any(getattr(rel, "fused", None) is not None for rel in links)
    for rel in links:
        other = by_id.get(rel.id)
        if other is None or other.id == pm.id:
            continue
        if not fused:
            number = f"score {rel.score:.2f}"
        elif rel.fused is None:  # a pinned link in a fused list
            number = f"cosine {rel.score:.2f}"
        else:
            number = f"fused {rel.fused:.2f} · cosine {rel.score:.2f}"
        meta = f"{_severity_badge(other.severity)} {html_text(other.id)} · {other.date.isoformat()} · {number}"
        if rel.pinned:
            meta += " · linked by the authors"
        elif getattr(rel, "via", "tfidf") == "semantic":
            meta += " · sentence model"
        if rel.terms:
            meta += f" · <em>{html_text(', '.join(rel.terms))}</em>"
        items.append(f"<li>{ln.a(other.path, other.title)} <small>{meta}</small></li>")
    if items:
        order = RANKED_BY_FUSED if fused else RANKED_BY_SCORE
        if any(rel.pinned for rel in links):
            order = "linked by the authors first, then " + order
        out.append(f'<p class="pmkb-related-order"><small>{html_text(order[0].upper() + order[1:])}.</small></p>\n')
        out.append('<ul class="pmkb-related">\n' + "\n".join(items) + "\n</ul>\n")
    else:
        out.append(f"<p>No other incident is similar enough (score of at least {min_score:g}).</p>\n")
    if cluster is not None:
        out.append(f"<p>Part of the recurring problem "
                   f"{ln.a(cluster_page(cluster.id), cluster.label or cluster.id)}: "
                   f"{cluster.size} incidents from {cluster.first.isoformat()} to {cluster.last.isoformat()}.</p>\n")
    out.append("</div>\n")
    return "".join(out)


@dataclass
class PostmortemPage:
    """What the site makes of one post-mortem file: its page's front matter and Markdown.

    ``meta`` is the page's front matter for the engine (title, search tags and boost, no
    ``status``: Material would read it as its own page status); ``markdown`` the page's
    Markdown without front matter: the card, the body as loaded
    (:attr:`Postmortem.body`), then Tracked action items and Related incidents; our parts between
    own marks (:func:`generator.sanitize.sanitize_postmortem_page`). Our HTML (the card, its
    facts, the action-item table, the related list) is in ``blocks``, each standing in the
    Markdown as one mark line (:class:`generator.blocks.Marks` of ``nonce``, which the body
    does not hold; the facts and the two sections kept out of search): an adapter with hooks
    puts them in after Markdown (MkDocs), one that reads files gets them in place
    (:meth:`source`). ``anchors``
    are the ids of those two sections (the tracked-action-items one ``None`` when there are no
    action items). ``draft`` pages are shown only by a live preview.
    """

    path: str
    meta: dict
    markdown: str
    anchors: tuple[str | None, str]
    draft: bool = False
    sections: list[tuple[str, str, int]] = field(default_factory=list)
    """Our sections after the body, in order: ``(title, anchor, n)``, block ``n`` their content
    (:func:`section_heading` and an unsearched mark in :attr:`markdown`)."""
    synonyms: list[str] = field(default_factory=list)
    """Every term of the synonym groups the post-mortem matches (:func:`search_terms`), for an
    engine whose search index takes a field of its own (:func:`generator.material.add_search_field`)."""
    blocks: list[str] = field(default_factory=list)
    """Our HTML blocks of the page; mark ``n`` of :attr:`markdown` stands for ``blocks[n]``."""
    nonce: str = ""
    """What the page's marks carry (:func:`generator.blocks.nonce_for` of the body)."""

    @property
    def marks(self) -> Marks:
        """The page's marks (:class:`generator.blocks.Marks`)."""
        return Marks(self.nonce)

    @property
    def body_markdown(self) -> str:
        """The author's part of :attr:`markdown`, between its second and third own marks: the
        body as loaded, with the footnotes' place marker and the end tags it leaves open
        (:func:`postmortem_page`), for an adapter that puts the card and :attr:`sections` in
        itself after Markdown (MkDocs): Python-Markdown then renders the author's text only."""
        return self.markdown.split(self.marks.own, 3)[2].removeprefix("\n\n")

    def source(self, keep_unsearched: bool = False) -> str:
        """The page as one Markdown file (front matter + Markdown, our HTML in place), for an
        engine that reads files; ``keep_unsearched``: the unsearched blocks' marks stay, for
        the adapter to fill in the built HTML (:func:`generator.sanitize.sanitize_postmortem_page`)."""
        return ("---\n" + json.dumps(self.meta, ensure_ascii=False, sort_keys=True) + "\n---\n\n"
                + self.marks.fill(self.markdown, self.blocks, unsearched=not keep_unsearched))


def _closers(body: str) -> str:
    """End tags, each its own raw HTML block, for the block-level elements
    (:data:`generator.scan.BLOCK_ELEMENTS`) ``body`` opens more often than it closes; ``""``
    when it closes all it opens (every shipped post-mortem). ``validate`` warns of each one a
    body leaves open (``unclosed-html``, with its line).

    Python-Markdown keeps everything after an unclosed ``<div>`` (``<details>``, ``<table>``,
    ``<pre>`` ...) raw HTML up to the end of the page, so our section headings that follow the
    body came out as the literal text ``## Related incidents { #related-incidents ... }``. The
    end tag of the outermost one ends that block; any other is a stray end tag that the
    cleaning of the author's part removes. Counted on the whole body (code included): an end
    tag too many is harmless."""
    if "<" not in body:
        return ""
    open_count: dict[str, int] = {}
    for match in scan.BLOCK_TAG.finditer(body):
        tag = match.group(2).lower()
        open_count[tag] = open_count.get(tag, 0) + (-1 if match.group(1) else 1)
    unclosed = [tag for tag, count in open_count.items() if count > 0]
    return "".join(f"\n</{tag}>\n" for tag in reversed(unclosed))


_FOOTNOTE_DEFINITION = re.compile(r"^ {0,3}\[\^[^\]\s]+\]:", re.M)


def _has_footnotes(body: str) -> bool:
    """Whether ``body`` defines a footnote (``[^x]: ...``) outside code."""
    if "[^" not in body or not _FOOTNOTE_DEFINITION.search(body):
        return False
    lines = body.split("\n")
    return any(_FOOTNOTE_DEFINITION.match(line) for line in scan.prose_lines(lines, scan.code_line_indexes(body)))


def heading_ids(body: str) -> set[str]:
    """The ids the ``toc`` extension gives the body's headings (:func:`generator.scan.heading_ids`)."""
    if "#" not in body:
        return set()
    lines = body.split("\n")
    return scan.heading_ids(scan.prose_lines(lines, scan.code_line_indexes(body)), lines)


def postmortem_page(ln: Links, pm: Postmortem, links: Sequence[RelatedLink], by_id: dict[str, Postmortem],
                    cluster: Cluster | None, min_score: float, today: dt.date, title: str,
                    internal: bool = False, synonyms: Synonyms | None = None,
                    footnotes_marker: str | None = None) -> PostmortemPage:
    """The page of ``pm`` (``ln`` at ``pm.path``): card, body, tracked action items, related incidents.

    ``internal`` marks the card of an incident the public site leaves out. ``title`` is the page title as the theme needs it (:func:`generator.material.page_title`);
    ``synonyms`` the site's (:func:`search_terms`); ``footnotes_marker`` the engine's
    (:func:`generator.render.footnotes_marker`): a body with footnotes gets it at its end, so
    they stay with the author's text (and in search) instead of below Related incidents.
    The search tags are the post-mortem's tags, then its services and its id (the theme ranks
    tags highest: typing an id or a service finds the incident first).
    """
    actions_anchor, related_anchor = section_anchors(heading_ids(pm.body), bool(pm.action_items))
    body = pm.body if pm.body.endswith("\n") else pm.body + "\n"
    if footnotes_marker and _has_footnotes(pm.body):
        body += "\n" + footnotes_marker + "\n"
    body += _closers(pm.body)
    group_terms, missing = search_terms(pm, synonyms)
    nonce = nonce_for(pm.body)
    marks = Marks(nonce)
    mark = marks.own + "\n\n"  # around our parts (sanitize_postmortem_page)
    # Our HTML, cleaned here as the knowledge base's own (sanitize_own_html) once, not on every build: the
    # card (its facts, kept out of search, a block of their own inside it), then the two sections' tables.
    # The terms, when there are any, are a block of their own after the summary (Marks.terms).
    terms = marks.terms(2) + "\n" if missing else ""
    blocks = [CARD_OPEN + sanitize_own_html(card_head_html(pm, internal)) + terms + marks.unsearched(1) + "\n"
              + CARD_CLOSE, sanitize_own_html(card_facts_html(ln, pm, cluster))]
    if missing:
        blocks.append(sanitize_own_html(card_terms_html(missing)))
    sections: list[tuple[str, str, int]] = []
    if actions_anchor:
        blocks.append(sanitize_own_html(action_items_html(pm, today)))
        sections.append(("Tracked action items", actions_anchor, len(blocks) - 1))
    blocks.append(sanitize_own_html(related_html(ln, pm, links, by_id, cluster, min_score)))
    sections.append(("Related incidents", related_anchor, len(blocks) - 1))
    markdown = (mark + marks.block(0) + "\n\n" + mark + body + "\n" + mark
                + "".join(section_heading(title, anchor) + marks.unsearched(n) + "\n\n" for title, anchor, n in sections)
                + mark)
    tags = list(dict.fromkeys([*pm.tags, *pm.services, pm.id]))
    meta = {"title": title, "tags": tags, "search": {"boost": SEARCH_BOOST_POSTMORTEM}}
    return PostmortemPage(pm.path, meta, markdown, (actions_anchor, related_anchor), pm.status == "draft", sections,
                          group_terms, blocks, nonce)


# --- generated pages --------------------------------------------------------------------------


def home_page(ln: Links, postmortems: Sequence[Postmortem], ranked: Sequence[ClusterSummary], site_name: str,
              seen: bool = False) -> str:
    """The home page: a search prompt first (and, with ``seen``, the way to "Have we seen
    this?", :mod:`generator.seen`), then the latest incidents and the recurring problems that
    hurt most (:func:`generator.metrics.rank_clusters`)."""
    ln = ln.at(HOME)
    latest = newest_first(postmortems)[:LATEST_ON_HOME]
    services = {s for pm in postmortems for s in pm.services}
    out = [front_matter(site_name, hide=("toc",), boost=None), f"# {md_text(site_name)}\n\n"]
    out.append(
        '<div class="pmkb-hero">\n'
        f'<label class="pmkb-hero__search" for="__search">Search {len(postmortems)} post-mortems: an error '
        'message, a service, a symptom or an id <kbd>/</kbd></label>\n'
        + (f'<p class="pmkb-hero__seen">{ln.a(SEEN, "Have we seen this?")} Paste the symptoms or an error '
           'message of what is happening now: the nearest past incidents, and how often they came back.</p>\n'
           if seen else "") +
        f'<p class="pmkb-hero__stats">{ln.a(INCIDENTS, f"{len(postmortems)} incidents")} · '
        f'{ln.a(SERVICES, f"{len(services)} services")} · '
        f'{ln.a(CLUSTERS, f"{len(ranked)} recurring problems")} · {ln.a(TAGS, "tags")}</p>\n'
        "</div>\n\n"
    )
    out.append("## Latest incidents\n\n")
    out.append(incident_table(ln, latest) if latest else "<p>No published post-mortems yet.</p>\n\n")
    out.append(f"<p>{ln.a(INCIDENTS, 'All incidents')}</p>\n\n")
    out.append("## Most active recurring problems\n\n")
    top = list(ranked[:CLUSTERS_ON_HOME])
    out.append(cluster_table(ln, top) if top else "<p>No recurring problems found.</p>\n")
    if top:
        out.append(f"<p>{ln.a(CLUSTERS, 'All recurring problems')}</p>\n")
    return "".join(out)


def cluster_table(ln: Links, ranked: Sequence[ClusterSummary]) -> str:
    """An HTML table of recurring problems (problem, incidents, first, last, services), in the
    given order (the ranking of :func:`generator.metrics.rank_clusters`)."""
    rows = ((ln.a(cluster_page(s.id), s.label or s.id), str(s.count), s.members[0].date.isoformat(),
             s.members[-1].date.isoformat(), _services(ln, s.cluster.services, 4)) for s in ranked)
    return _unsearched(table(("Recurring problem", "Incidents", "First", "Last", "Services"), rows, html=True),
                       "clusters")


def incident_pages(ln: Links, postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """The incident index: newest first, grouped by year; per-year pages when it gets long."""
    ordered = newest_first(postmortems)
    by_year: dict[int, list[Postmortem]] = defaultdict(list)
    for pm in ordered:
        by_year[pm.date.year].append(pm)
    title = "Incidents"
    index = ln.at(INCIDENTS)
    if len(ordered) <= PAGE_ROWS:
        out = [front_matter(title), f"# {title}\n\n", f"{len(ordered)} incidents, newest first.\n\n"]
        for year, items in by_year.items():
            out.append(f"## {year}\n\n{incident_table(index, items)}")
        return {INCIDENTS: "".join(out)}
    pages: dict[str, str] = {}
    rows = []
    for year, items in by_year.items():
        sev = Counter(p.severity for p in items)
        rows.append((index.a(year_page(year), str(year)), str(len(items)), str(sev["SEV1"]), str(sev["SEV2"])))
        pages.update(split_pages(ln, year_page(year), f"Incidents in {year}",
                                 lambda here, year=year, n=len(items): f"<p>{n} incidents in {year}, newest first. "
                                 f"{here.a(INCIDENTS, 'All years')}</p>\n\n", items))
    pages[INCIDENTS] = (front_matter(title) + f"# {title}\n\n{len(ordered)} incidents, by year, newest first.\n\n"
                        + table(("Year", "Incidents", "SEV1", "SEV2"), rows, html=True))
    return pages


def _named_lists(ln: Links, postmortems: Sequence[Postmortem], kind: str, values, page_of, overview: str,
                 title_of, intro_of, columns: Sequence[str], cells_of, overview_head: str, empty: str,
                 order=None) -> dict[str, str]:
    """The overview of the services or tags (``kind``) and the pages of those that have one.

    Every value is a row of the overview (``values(pm)`` gives a post-mortem's values; the
    row's cells: the value, its incidents, ``cells_of(items)`` under ``columns``, the newest
    incident). A value with a page of its own (``ln.listings.has_page``) links to it, and the
    page (``page_of(value)``, :func:`split_pages`) lists its incidents. Every row's name carries
    the id :func:`generator.paths.listing_anchor`, with a page or without: the links of a value
    without a page point at it, and ``services/#service-x`` keeps landing on x's row when x gains
    a page of its own or loses it.

    Raises:
        ValueError: the page of a value would be the overview itself (a service named ``index``).
    """
    by_value: dict[str, list[Postmortem]] = defaultdict(list)
    for pm in newest_first(postmortems):
        for value in dict.fromkeys(values(pm)):
            by_value[value].append(pm)
    pages: dict[str, str] = {}
    rows = []
    index = ln.at(overview)
    rowed = False
    for value in sorted(by_value, key=(lambda v: order(v, by_value[v])) if order else None):
        items = by_value[value]
        anchor = html_text(listing_anchor(kind, value))
        if ln.listings.has_page(kind, value):
            if page_of(value) == overview:
                raise ValueError(f"{overview}: the page of {kind} {value!r} collides with the {kind} overview; "
                                 f"rename the {kind}")
            name = f'<span id="{anchor}">{index.a(page_of(value), value)}</span>'
            pages.update(split_pages(ln, page_of(value), title_of(value),
                                     lambda here, value=value, n=len(items): intro_of(here, value, n), items))
        else:
            rowed = True
            name = f'<span id="{anchor}">{html_text(value)}</span>'
        latest = items[0]
        rows.append((name, str(len(items)), *cells_of(items),
                     index.a(latest.path, f"{latest.date.isoformat()} · {latest.id}")))
    title = overview_head.split("\n", 1)[0]
    few = "one incident" if OWN_PAGE_FROM == 2 else f"fewer than {OWN_PAGE_FROM} incidents"
    note = (f"<p>A {kind} of {few} has no page of its own: <em>Latest</em> links to the incident.</p>\n\n"
            if rowed else "")
    header = (kind.capitalize(), "Incidents", *columns, "Latest")
    pages[overview] = (front_matter(title) + f"# {overview_head.format(n=len(by_value))}\n\n"
                       + (note + _unsearched(table(header, rows, html=True), kind) if by_value else empty))
    return pages


def _most_incidents_first(value: str, items: Sequence[Postmortem]) -> tuple:
    """Order of the services and tags overviews: the most incidents first, then the most SEV1,
    then by name (what a manager looks for; the table's own sort control re-sorts it)."""
    return (-len(items), -sum(p.severity == "SEV1" for p in items), value)


def service_pages(ln: Links, postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """The services overview (every service: incidents, SEV1, latest incident; the most
    incidents first, :func:`_most_incidents_first`) and a page for each service with one
    (``ln.listings``, :data:`generator.paths.OWN_PAGE_FROM`): its incidents, newest first.

    Raises:
        ValueError: a service's page would be the overview (a service named ``index``).
    """
    return _named_lists(
        ln, postmortems, "service", lambda pm: pm.services, service_page, SERVICES, lambda s: s,
        lambda here, s, n: (f"<p>{n} incidents affected <strong>{html_text(s)}</strong>, newest first. "
                            f"{here.a(SERVICES, 'All services')}</p>\n\n"),
        ("SEV1",), lambda items: (str(sum(p.severity == "SEV1" for p in items)),),
        "Services\n\n{n} services, with the incidents that affected them: the most incidents first "
        "(then the most SEV1, then by name).", "", _most_incidents_first)


def tag_pages(ln: Links, postmortems: Sequence[Postmortem]) -> dict[str, str]:
    """The tag index (every tag: incidents, latest incident; the most used first) and a page
    for each tag with one (``ln.listings``): its incidents, newest first.

    Raises:
        ValueError: a tag's page would be the tag index (a tag named ``index``).
    """
    return _named_lists(
        ln, postmortems, "tag", lambda pm: pm.tags, tag_page, TAGS, lambda t: f"Tag: {t}",
        lambda here, t, n: (f"<p>{n} incidents tagged <strong>{html_text(t)}</strong>, newest first. "
                            f"{here.a(TAGS, 'All tags')}</p>\n\n"),
        (), lambda items: (),
        "Tags\n\n{n} tags, the most used first.", "No tags yet.\n", _most_incidents_first)


def recurrence_html(ln: Links, c: Cluster, by_id: dict[str, Postmortem]) -> str:
    """What became of a recurring problem's fixes, for its page (HTML, ``ln`` at the page):
    each member that came back after a fix, with the item, the day it was done and how many
    days later (the latest :data:`RECURRED_SHOWN`); the members for which it is not known
    (fixes without ``done_at``); or that the fixes held. ``""`` when nothing was fixed."""
    def name(pid: str) -> str:
        return ln.a(by_id[pid].path, pid) if pid in by_id else html_text(pid)

    recurrences = [r for r in c.recurrences if r.member in by_id]
    if recurrences:
        shown = recurrences[-RECURRED_SHOWN:]
        lines = "".join(f"<li>{name(r.member)} started {html_text(r.after)} after "
                        f"&lsquo;{html_text(r.item)}&rsquo; was done in {name(r.fixed_in)} "
                        f"({r.done_day.isoformat()})</li>" for r in reversed(shown))
        more = (f"<p>The latest {len(shown)} of {len(recurrences)}.</p>" if len(recurrences) > len(shown) else "")
        return (f'<div class="admonition warning"><p class="admonition-title">The fix did not hold</p>'
                f"<ul>{lines}</ul>{more}</div>\n")
    came_back = [m for m in c.recurred_after_fix if m in by_id]
    if came_back:  # a cluster built without the details (the ids alone)
        latest = newest_first(by_id[m] for m in came_back)[:RECURRED_SHOWN]
        names = ", ".join(ln.a(pm.path, pm.id) for pm in latest)
        more = f" (the latest {len(latest)} of {len(came_back)})" if len(came_back) > len(latest) else ""
        return (f'<div class="admonition warning"><p class="admonition-title">The fix did not hold</p>'
                f"<p>{names}{more} started after an action item of an earlier incident in this problem was "
                "done.</p></div>\n")
    unknown = [m for m in c.recurrence_unknown if m in by_id]
    if unknown:
        names = ", ".join(name(m) for m in unknown[-RECURRED_SHOWN:])
        return (f'<div class="admonition info"><p class="admonition-title">Fix not dated</p>'
                f"<p>Whether {names} came back after a fix is not known: the done action items of the "
                "earlier incidents carry no completion date (<code>done_at</code>, format v2).</p></div>\n")
    if c.fix_outcome == "held":
        return ('<div class="admonition success"><p class="admonition-title">The fixes held</p>'
                "<p>No incident of this problem started after one of its action items was done.</p></div>\n")
    return ""


def cluster_pages(ln: Links, ranked: Sequence[ClusterSummary]) -> dict[str, str]:
    """One page per recurring problem and the overview, in the ranking's order (the one that
    hurts most first)."""
    pages: dict[str, str] = {}
    for s in ranked:
        c = s.cluster
        page = cluster_page(c.id)
        here = ln.at(page)
        by_id = {pm.id: pm for pm in s.members}
        members = newest_first(s.members)
        intro = [f"<p><strong>{s.count} incidents</strong> from {s.members[0].date.isoformat()} to "
                 f"{s.members[-1].date.isoformat()}. Cluster id <code>{html_text(c.id)}</code>. "
                 f"{here.a(CLUSTERS, 'All recurring problems')}</p>\n"]
        if s.intervals_days:
            recent = s.intervals_days[-12:]
            shown = ("… " if len(recent) < len(s.intervals_days) else "") + ", ".join(str(d) for d in recent)
            intro.append(f"<p>Days between recurrences: {shown} (median {s.median_interval_days:g}); "
                         f"the last one {s.days_since_last} days ago.</p>\n")
        if s.impact_known:
            intro.append(f"<p>Impact time: {format_duration(s.impact_seconds)} in total (known for "
                         f"{s.impact_known} of {s.count}).</p>\n")
        if c.terms:
            intro.append(f"<p>Shared terms: {html_text(', '.join(c.terms))}</p>\n")
        if s.severities:
            intro.append("<p>Severities: " + ", ".join(f"{html_text(k)} × {v}" for k, v in s.severities.items())
                         + "</p>\n")
        intro.append(recurrence_html(here, c, by_id))
        lead = '<div class="pmkb-intro">\n' + "".join(intro) + "</div>\n\n"
        body = split_pages(ln, page, c.label or c.id, lead, members)
        items = c.action_items or [(pm.id, item) for pm in s.members for item in pm.action_items]
        still_open = [(m, item) for m, item in reversed(items) if item.status in OPEN_STATUSES]
        if items:
            rows = []
            for member, item in still_open[:ACTION_ITEMS_SHOWN]:
                target = by_id.get(member)
                rows.append((here.a(target.path, member) if target else html_text(member), html_text(item.title),
                             html_text(item.owner or "—"), html_text(item.status)))
            shown = (f"the {ACTION_ITEMS_SHOWN} of the newest incidents" if len(still_open) > ACTION_ITEMS_SHOWN
                     else "all of them")
            body[page] += (f"## Open action items\n\n<p>{len(still_open)} of {len(items)} action items "
                           f"are open or in progress; shown: {shown}.</p>\n\n"
                           + (_unsearched(table(("Incident", "Action item", "Owner", "Status"), rows, html=True),
                                          "actions") if rows else ""))
        pages.update(body)
    overview = ln.at(CLUSTERS)
    listing = cluster_table(overview, ranked) if ranked else "<p>No recurring problems found.</p>\n"
    pages[CLUSTERS] = (front_matter("Recurring problems") + "# Recurring problems\n\n"
                       + "Groups of incidents that describe the same underlying failure (TF-IDF similarity), "
                       + "the one that hurts most first (severity, recency and impact time; see the "
                       + overview.md("reports/recurrence.md", "recurrence report") + ").\n\n" + listing)
    return pages
