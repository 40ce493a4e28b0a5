"""The pure page functions of :mod:`generator.pages`, :mod:`generator.markup` and
:func:`generator.render.render_site` (no engine): URLs, splitting, limits, escaping."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from generator import blocks, exports, pages, render
from generator.escape import md_text
from generator.markup import Links
from generator.metrics import rank_clusters
from generator.sanitize import sanitize_html
from generator.analysis import Analysis
from generator.model import ActionItem, Cluster, Postmortem


def pm(i: int, *, year: int = 2024, services=("checkout-api",), title: str | None = None) -> Postmortem:
    day = dt.date(year, 1, 1) + dt.timedelta(days=i % 360)
    start = dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=dt.timezone.utc)
    return Postmortem(id=f"PM-{year}-{i:04d}", title=title or f"Incident {i}", date=day, severity="SEV2",
                      status="final", services=list(services), authors=["a"], path=f"{day.isoformat()}-inc-{i}.md",
                      started_at=start, resolved_at=start + dt.timedelta(minutes=90))


@pytest.mark.parametrize("directory_urls, source, target, expected", [
    (True, "2013-x.md", "services/blob.md", "../services/blob/"),
    (True, "index.md", "incidents/index.md", "incidents/"),
    (True, "incidents/index.md", "index.md", "../"),
    (True, "services/index.md", "services/x.md", "x/"),
    (True, "services/x/page-2.md", "services/x.md", "../"),
    (True, "index.md", "index.md", "./"),
    (True, "sub/2013-y.md", "2013-x.md", "../../2013-x/"),
    (False, "2013-x.md", "services/blob.md", "services/blob.html"),
    (False, "incidents/index.md", "index.md", "../index.html"),
    (False, "clusters/c.md", "2013-x.md", "../2013-x.html"),
])
def test_links_match_mkdocs_urls(directory_urls, source, target, expected):
    assert Links(directory_urls, source).href(target) == expected


def test_values_are_escaped():
    assert md_text("a*b_[c]<script>") == r"a\*b\_\[c\]&lt;script&gt;"
    # Only characters Python-Markdown can escape get a backslash (a \= or \~ would show).
    assert md_text("x = y ~ z ^ w | #1") == r"x = y &#126; z ^ w \| \#1"
    assert Links().a("x.md", '<b onclick="x">') == '<a href="x/">&lt;b onclick=&quot;x&quot;&gt;</a>'
    assert Links(None).a("x.md", "<b>") == "&lt;b&gt;"
    assert Links(True, "reports/index.md").md("clusters/c-pm-1.md", "a [b]") == r"[a \[b\]](../clusters/c-pm-1.md)"


def test_long_lists_are_split_into_parts_with_a_pager():
    items = [pm(i) for i in range(pages.PAGE_ROWS * 2 + 5)]
    split = pages.split_pages(Links(), "services/checkout-api.md", "checkout-api", "", items)
    assert list(split) == ["services/checkout-api.md", "services/checkout-api/page-2.md",
                           "services/checkout-api/page-3.md"]
    rows = [len(re.findall(r"<tr><td>", text)) for text in split.values()]
    assert rows == [pages.PAGE_ROWS, pages.PAGE_ROWS, 5]
    assert '<a href="page-2/">2</a>' in split["services/checkout-api.md"]
    assert '<a href="../">1</a>' in split["services/checkout-api/page-3.md"]


def test_large_corpus_gets_one_incident_page_per_year():
    items = [pm(i, year=2020 + i % 3) for i in range(pages.PAGE_ROWS + 1)]
    index = pages.incident_pages(Links(), items)
    assert sorted(index) == ["incidents/2020.md", "incidents/2021.md", "incidents/2022.md", "incidents/index.md"]
    assert '<a href="2022/">2022</a>' in index["incidents/index.md"]


def test_cluster_page_stays_bounded_however_large_the_cluster():
    items = [pm(i) for i in range(3000)]
    by_id = {p.id: p for p in items}
    cluster = Cluster(id="C-PM-2024-0000", label="disk, logs", members=[p.id for p in items],
                      first=items[0].date, last=items[-1].date,
                      action_items=[(p.id, ActionItem(title="Rotate logs", status="open")) for p in items],
                      recurred_after_fix=[p.id for p in items[1:]])
    ranked = rank_clusters([cluster], items, dt.date(2025, 1, 1))
    first = pages.cluster_pages(Links(), ranked)["clusters/c-pm-2024-0000.md"]
    assert len(first) < 250_000
    assert "(the latest 20 of 2999)" in first
    assert f"3000 of 3000 action items are open or in progress; shown: the {pages.ACTION_ITEMS_SHOWN}" in first


def test_services_and_tags_overviews_list_the_most_incidents_first():
    """Finding #10: a manager's by-service view leads with the services hurt most, not the alphabet."""
    def incident(i: int, services, severity: str = "SEV2", tags=()) -> Postmortem:
        base = pm(i, services=services)
        base.severity, base.tags = severity, list(tags)
        return base

    incidents = [incident(1, ("accounts",), tags=("tls",)), incident(2, ("dns", "accounts"), tags=("dns", "tls")),
                 incident(3, ("dns",), "SEV1", ("dns",)), incident(4, ("dns",), tags=("dns",)),
                 incident(5, ("block-storage",), "SEV1", ("disk",)), incident(6, ("block-storage",), "SEV1")]
    overview = pages.service_pages(Links(), incidents)["services/index.md"]
    assert ("3 services, with the incidents that affected them: the most incidents first (then the most SEV1, "
            "then by name).") in overview
    assert re.findall(r'<td><span id="service-([^"]+)"><a href="[^"]+">([^<]+)</a></span></td> <td>(\d+)</td> '
                      r'<td>(\d+)</td>', overview) == [
        ("dns", "dns", "3", "1"), ("block-storage", "block-storage", "2", "2"), ("accounts", "accounts", "2", "0")]
    tags = pages.tag_pages(Links(), incidents)["tags/index.md"]
    assert "3 tags, the most used first." in tags
    assert re.findall(r'<td><span id="tag-([^"]+)">(?:<a href="[^"]+">)?([^<]+)(?:</a>)?</span></td> <td>(\d+)</td>',
                      tags) == [("dns", "dns", "3"), ("tls", "tls", "2"), ("disk", "disk", "1")]


def test_generated_pages_refuse_a_service_named_like_the_overview():
    # Two incidents: a service of one incident is a row of the overview, not a page.
    with pytest.raises(ValueError, match="services/index.md: the page of service 'index' collides"):
        render.render_site([pm(1, services=("index",)), pm(2, services=("index",))], Analysis(postmortems=[]),
                           render.SiteOptions("KB", dt.date(2025, 1, 1)))
    one = render.render_site([pm(1, services=("index",))], Analysis(postmortems=[]),
                             render.SiteOptions("KB", dt.date(2025, 1, 1)))
    assert '<span id="service-index">index</span>' in one.pages["services/index.md"]


def test_a_service_or_tag_of_one_incident_is_a_row_of_its_overview_and_links_point_at_it():
    """Every row carries its anchor (service-x, tag-x), that of a value with a page too: a link
    or bookmark to services/#service-x keeps landing on x's row once x gains a page."""
    def incident(i: int, services, tags=(), severity: str = "SEV2") -> Postmortem:
        base = pm(i, services=services)
        base.severity, base.tags = severity, list(tags)
        return base

    incidents = [incident(1, ("dns", "billing"), ("tls",)), incident(2, ("dns",), ("tls", "cert")),
                 incident(3, ("dns",), (), "SEV1")]
    site = render.render_site(incidents, Analysis(postmortems=[]), render.SiteOptions("KB", dt.date(2025, 1, 1)))
    assert sorted(p for p in site.pages if p.startswith(("services/", "tags/"))) == [
        "services/dns.md", "services/index.md", "tags/index.md", "tags/tls.md"]
    services = site.pages["services/index.md"]
    rows = re.findall(r"<tr>(.*?)</tr>", services.split("<tbody>")[1])
    assert rows == [
        '<td><span id="service-dns"><a href="dns/">dns</a></span></td> <td>3</td> <td>1</td> '
        '<td><a href="../2024-01-04-inc-3/">2024-01-04 · PM-2024-0003</a></td>',
        '<td><span id="service-billing">billing</span></td> <td>1</td> <td>0</td> '
        '<td><a href="../2024-01-02-inc-1/">2024-01-02 · PM-2024-0001</a></td>']
    assert "<th>Service</th> <th>Incidents</th> <th>SEV1</th> <th>Latest</th>" in services
    assert "A service of one incident has no page of its own: <em>Latest</em> links to the incident." in services
    tags = site.pages["tags/index.md"]
    assert re.findall(r"<tr>(.*?)</tr>", tags.split("<tbody>")[1]) == [
        '<td><span id="tag-tls"><a href="tls/">tls</a></span></td> <td>2</td> '
        '<td><a href="../2024-01-03-inc-2/">2024-01-03 · PM-2024-0002</a></td>',
        '<td><span id="tag-cert">cert</span></td> <td>1</td> '
        '<td><a href="../2024-01-03-inc-2/">2024-01-03 · PM-2024-0002</a></td>']
    # The card of a post-mortem links to the page of a value with one and to the row of any other.
    card = site.postmortems["2024-01-02-inc-1.md"].source()
    assert '<a href="../services/dns/">dns</a>, <a href="../services/#service-billing">billing</a>' in card
    card = site.postmortems["2024-01-03-inc-2.md"].source()
    assert '<a href="../tags/tls/">tls</a> <a href="../tags/#tag-cert">cert</a>' in card
    # Every value with a page of its own: no note above the table.
    assert "has no page of its own" not in pages.service_pages(Links(), incidents)["services/index.md"]


def test_compact_template_drops_indentation_and_block_line_breaks_but_keeps_preformatted_text():
    from generator.plugin import compact_template

    source = ("<div>\n    {% if x %}\n    <p>a</p>\n\n\n    {% endif %}\n  <pre><code>x\n\n    y</code></pre>\n"
              "  <script>var a = 1;\n\n  {% if b %}\n  b()</script>\n</div>")
    assert compact_template(source) == ("<div>\n{% if x %}<p>a</p>\n{% endif %}<pre><code>x\n\n    y</code></pre>\n"
                                             "<script>var a = 1;\n\n  {% if b %}\n  b()</script>\n</div>")
    nested = "<pre>a\n  <code>x\n\n y</code>\n\n  z</pre>\n   <p>q</p>"
    assert compact_template(nested) == "<pre>a\n  <code>x\n\n y</code>\n\n  z</pre>\n<p>q</p>"


def test_sanitize_removes_executable_html_and_keeps_material_markup():
    html = ('<div class="admonition note"><p class="admonition-title">Note</p></div>'
            '<h2 id="x">X<a class="headerlink" href="#x" title="Permanent link">¶</a></h2>'
            '<script>alert(1)</script><img src="a.png" onerror="alert(2)">'
            '<a href="javascript:alert(3)">j</a><td style="text-align: right; color: red">1</td>')
    clean = sanitize_html(html)
    assert '<div class="admonition note"><p class="admonition-title">Note</p></div>' in clean
    assert '<a class="headerlink" href="#x" title="Permanent link">¶</a>' in clean
    assert "script" not in clean and "alert" not in clean and "onerror" not in clean
    assert '<img src="a.png">' in clean and "<a>j</a>" in clean
    assert "color" not in clean


def test_action_items_table_marks_overdue_open_items_links_url_tickets_and_escapes():
    from generator.model import ActionItem

    incident = pm(1)
    incident.action_items = [
        ActionItem("Rotate <keys> & certs", owner="sec", status="open", due=dt.date(2024, 5, 1), ticket="OPS-7"),
        ActionItem("Alert on expiry", owner=None, status="in-progress", due=dt.date(2024, 6, 1),
                   ticket="https://tracker.example.com/browse/OPS-8?a=1&b=2"),
        ActionItem("Retire the old proxy", status="wont-do", due=dt.date(2024, 1, 1)),
        ActionItem("Write the runbook", status="done", due=dt.date(2024, 1, 1)),
    ]
    html = pages.action_items_section(incident, dt.date(2024, 5, 15), "tracked-action-items")
    rows = re.findall(r"<tr><td>.*?</tr>", html)
    assert rows == [
        '<tr><td>open <strong class="pmkb-overdue">overdue</strong></td><td>Rotate &lt;keys&gt; &amp; certs</td>'
        "<td>sec</td><td>2024-05-01</td><td>OPS-7</td></tr>",
        '<tr><td>in-progress</td><td>Alert on expiry</td><td>—</td><td>2024-06-01</td>'
        '<td><a href="https://tracker.example.com/browse/OPS-8?a=1&amp;b=2">'
        "https://tracker.example.com/browse/OPS-8?a=1&amp;b=2</a></td></tr>",
        "<tr><td>wont-do</td><td>Retire the old proxy</td><td>—</td><td>2024-01-01</td><td>—</td></tr>",
        "<tr><td>done</td><td>Write the runbook</td><td>—</td><td>2024-01-01</td><td>—</td></tr>",
    ]
    assert "<p>2 of 4 still open.</p>" in html
    assert html.startswith("## Tracked action items { #tracked-action-items data-search-exclude }\n")
    assert pages.action_items_section(pm(2), dt.date(2024, 5, 15), "tracked-action-items") == ""


def test_a_ticket_url_is_a_link_whatever_the_case_of_its_scheme():
    from generator.model import ActionItem

    incident = pm(3)
    incident.action_items = [ActionItem("Fix", status="open", ticket="HTTPS://tracker.example.com/OPS-9"),
                             ActionItem("Other", status="open", ticket="javascript:alert(1)")]
    html = pages.action_items_section(incident, dt.date(2024, 5, 15), "tracked-action-items")
    assert '<td><a href="HTTPS://tracker.example.com/OPS-9">HTTPS://tracker.example.com/OPS-9</a></td>' in html
    assert "<td>javascript:alert(1)</td>" in html and 'href="javascript' not in html


def test_csv_export_quotes_text_a_spreadsheet_would_run_as_a_formula():
    incident = pm(4, title='=HYPERLINK("http://evil.test","x")', services=("@api",))
    records = exports.export_records([incident], Analysis(postmortems=[incident]), {incident.id: "x/"})
    rows = list(csv.reader(io.StringIO(exports.export_csv(records))))
    header, row = rows
    assert row[header.index("title")] == '\'=HYPERLINK("http://evil.test","x")'
    assert row[header.index("services")] == "'@api"
    assert row[header.index("time_to_resolve_s")] == "5400.0"


def test_charts_are_read_from_the_cache_folder_when_nothing_changed(tmp_path, monkeypatch):
    from generator.cache import Cache
    from generator import report_pages

    items = [pm(i) for i in range(12)]
    analysis = Analysis(postmortems=items)
    options = render.SiteOptions("KB", dt.date(2025, 1, 1))
    first = render.render_site(items, analysis, options, disk_cache=Cache(tmp_path / "cache"))
    charts = {path: svg for path, svg in first.files.items() if path.startswith("reports/charts/")}
    assert sorted(charts) == ["reports/charts/incidents-per-quarter-narrow.svg",
                              "reports/charts/incidents-per-quarter.svg", "reports/charts/services-narrow.svg",
                              "reports/charts/services.svg", "reports/charts/ttr-per-quarter-narrow.svg",
                              "reports/charts/ttr-per-quarter.svg"]  # each with its phone drawing
    drawn = []
    monkeypatch.setattr(report_pages, "draw_chart", lambda spec: drawn.append(spec) or b"<svg/>")
    cache = Cache(tmp_path / "cache")
    again = render.render_site(items, analysis, options, disk_cache=cache)
    assert drawn == [] and cache.hits == 6
    assert {p: again.files[p] for p in charts} == charts
    render.render_site(items + [pm(40)], Analysis(postmortems=items + [pm(40)]), options, disk_cache=cache)
    assert len(drawn) == 6       # new data: every chart drawn again


def test_related_incidents_say_what_orders_them_and_print_that_number():
    """#3: a fused list ([semantic]) prints the fused score that orders it, the cosine beside it
    and a line that says so; a TF-IDF list prints the cosine it is ordered by."""
    from generator.model import RelatedLink

    me, a, b, c = pm(1), pm(2), pm(3), pm(4)
    by_id = {p.id: p for p in (me, a, b, c)}
    ln = Links(True, me.path)
    fused = [RelatedLink(a.id, 0.3, ("x",), True, "pinned"), RelatedLink(b.id, 0.125, (), False, "both", 0.917),
             RelatedLink(c.id, 0.136, (), False, "tfidf", 0.825)]
    html = pages.related_section(ln, me, fused, by_id, None, 0.05, "related-incidents")
    assert ('<p class="pmkb-related-order"><small>Linked by the authors first, then ranked by fused score: '
            'the TF-IDF and sentence-model rankings combined (1.00 = first in both); cosine = TF-IDF '
            'similarity (0..1).</small></p>') in html
    metas = re.findall(r"\d{4}-\d\d-\d\d · ([^<]*?)(?: · linked by the authors)?(?: · <em>|</small>)", html)
    assert metas == ["cosine 0.30", "fused 0.92 · cosine 0.12", "fused 0.82 · cosine 0.14"]
    plain = [RelatedLink(b.id, 0.136, (), False, "tfidf"), RelatedLink(c.id, 0.125, (), False, "tfidf")]
    html = pages.related_section(ln, me, plain, by_id, None, 0.05, "related-incidents")
    assert '<small>Ranked by score: TF-IDF cosine similarity (0..1).</small>' in html
    assert re.findall(r"· (score [0-9.]+)", html) == ["score 0.14", "score 0.12"]


def test_reports_say_when_today_is_the_latest_incident():
    """Tester finding: a team that copied the demo's `today: latest` saw figures stop at its last incident."""
    incidents = [pm(1), pm(40)]
    note = ", the date of the latest incident (the option `today: latest`; without it, the day of the build)"
    latest = render.render_site(incidents, Analysis(postmortems=[]),
                                render.SiteOptions("KB", dt.date(2024, 2, 10), today_is_latest=True))
    assert f"*As of 2024-02-10 (UTC){note}.*" in latest.pages["reports/index.md"]
    given = render.render_site(incidents, Analysis(postmortems=[]), render.SiteOptions("KB", dt.date(2024, 2, 10)))
    assert "*As of 2024-02-10 (UTC).*" in given.pages["reports/index.md"]


def test_a_postmortem_pages_markdown_holds_our_html_as_marks_and_its_source_holds_it_in_place():
    """The engine's Markdown never parses our HTML (MkDocs parsed each page's card, action-item
    table and related list three times: 3,000 pages, about half of the build): the Markdown
    has one mark line per block, the two sections' headings stay Markdown (table of contents,
    anchors), and the source for an engine that reads files has the blocks where the marks were."""
    from generator.model import RelatedLink

    me, other = pm(1), pm(2)
    me.action_items = [ActionItem(title="Add an alert", owner="sre", status="open")]
    me.body, me.summary = "## Summary\n\nText.\n", "A summary."
    page = pages.postmortem_page(Links(True, me.path), me, [RelatedLink(other.id, 0.4, ("dns",), False, "tfidf")],
                                 {p.id: p for p in (me, other)}, None, 0.05, dt.date(2024, 6, 1), me.title)
    nonce = page.nonce
    assert nonce == blocks.nonce_for(me.body) and len(nonce) == 12
    own = f'<div data-pmkb="{nonce}"></div>'
    assert page.markdown == (f'{own}\n\n<div data-pmkb="{nonce} 0"></div>\n\n{own}\n\n## Summary\n\nText.\n\n{own}\n\n'
                             "## Tracked action items { #tracked-action-items data-search-exclude }\n\n"
                             f'<div data-pmkb="{nonce} 2 unsearched"></div>\n\n'
                             "## Related incidents { #related-incidents data-search-exclude }\n\n"
                             f'<div data-pmkb="{nonce} 3 unsearched"></div>\n\n{own}\n\n')
    # an adapter that puts our parts in itself (MkDocs) gives the engine the body alone
    assert page.body_markdown == "## Summary\n\nText.\n\n"
    assert page.sections == [("Tracked action items", "tracked-action-items", 2), ("Related incidents", "related-incidents", 3)]
    # the card holds its facts (kept out of search) as a block of their own
    assert [block.split(">", 1)[0] for block in page.blocks] == [
        '<div class="pmkb-card"', '<dl class="pmkb-facts" data-search-exclude=""', '<div class="pmkb-actions"',
        '<div class="pmkb-related-section"']
    assert page.blocks[0].endswith(f'<p class="pmkb-card__summary">A summary.</p>\n<div data-pmkb="{nonce} 1 unsearched">'
                                   '</div>\n</div>\n')
    source = page.source()
    assert f'{nonce} ' not in source and source.count('<div class="pmkb-related-section">') == 1
    assert source.index(f'{own}\n\n<div class="pmkb-card">') < source.index('<dl class="pmkb-facts"') \
        < source.index("## Summary") < source.index('<div class="pmkb-actions">') \
        < source.index('<div class="pmkb-related-section">')
    # a Zensical build fills the unsearched ones into the built page (after its search indexed it)
    kept = page.source(keep_unsearched=True)
    assert '<div class="pmkb-card">' in kept and all(f'<div data-pmkb="{nonce} {n} unsearched">' in kept for n in (1, 2, 3)) \
        and "pmkb-actions" not in kept and "pmkb-facts" not in kept


def test_our_blocks_are_cleaned_as_ours_when_the_page_is_rendered(monkeypatch):
    """The blocks are cleaned once, when rendered (cached with the site source), not on every
    build: a block of ours that broke the rules would still lose its script."""
    me = pm(1)
    monkeypatch.setattr(pages, "related_html", lambda *args: '<a href="javascript:x()" onclick="y()">t</a>\n')
    page = pages.postmortem_page(Links(True, me.path), me, [], {me.id: me}, None, 0.05, dt.date(2024, 6, 1), me.title)
    assert page.blocks[-1] == "<a>t</a>\n"
