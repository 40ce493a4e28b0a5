"""The whole site source of the knowledge base, as plain data: one function, no engine.

:func:`render_site` turns the analysed corpus into a :class:`SiteSource`: every generated page
(home, incidents, services, clusters, tags, reports) as Markdown, every post-mortem page (card,
body from the model, tracked action items, related incidents) as front matter + Markdown, and
the files beside them (charts, ``api/`` exports, the feed, the stylesheet) as bytes. The engine
adapters hand it over as it is: :mod:`generator.plugin` to MkDocs in memory,
:mod:`generator.zensical` to Zensical through a build folder outside the docs folder.

Where each page comes from:

========================================  =====================================================
``index.md``                              :func:`generator.pages.home_page`
``incidents/``                            :func:`generator.pages.incident_pages`
``services/``, ``tags/``                  :func:`generator.pages.service_pages`, ``tag_pages``
``clusters/``                             :func:`generator.pages.cluster_pages`
``reports/`` (pages, charts)              :func:`generator.report_pages.report_pages`,
                                          :func:`generator.report_pages.chart_specs`
every post-mortem page                    :func:`generator.pages.postmortem_page`
``api/``, ``feed.xml``                    :mod:`generator.exports`
``have-we-seen-this.md``, its model        :mod:`generator.seen` (``generator/assets/seen.js``)
``assets/pmkb/``                          ``generator/assets/``
========================================  =====================================================

Figures come from :mod:`generator.metrics` (one :class:`~generator.metrics.Report` per build,
whose ranking of recurring problems orders the home page, the clusters overview and the
recurrence report alike).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from . import exports, pages, report_pages, seen
from .analysis import Analysis
from .markup import Links
from .material import page_title
from .metrics import build_report
from .model import Postmortem, RelatedLink
from .pages import PostmortemPage
from .paths import REPORTS, SEEN, Listings
from .synonyms import Synonyms

ASSETS = "assets/pmkb"
STYLESHEET = f"{ASSETS}/pmkb.css"
SCRIPT = f"{ASSETS}/pmkb.js"
"""Our one script: phone-first tables (cards, filter, sort) and the search helpers (exact id,
dates beside results); it loads :data:`INCIDENTS_SCRIPT` on first use of the search."""
INCIDENTS_SCRIPT = f"{ASSETS}/incidents.js"
WORKER_SHIM = f"{ASSETS}/iframe-worker-shim.js"

@dataclass
class SiteOptions:
    """What the renderer needs to know about the site.

    ``today`` is the reference date (UTC) for ages, overdue and the current quarter
    (:func:`build_day`); ``site_url`` an absolute URL, needed for the feed (no feed without it).
    """

    site_name: str
    today: dt.date
    use_directory_urls: bool = True
    site_url: str | None = None
    min_score: float = 0.06
    links_from_source: bool = False
    """Raw-HTML links relative to the source file (an engine that rewrites them, Zensical)."""
    internal: frozenset[str] = frozenset()
    """Ids of the internal post-mortems, marked on their page (the internal site; the public
    site gets none of them, :func:`generator.audience.for_audience`)."""
    synonyms: Synonyms | None = None
    """The search synonyms (:func:`generator.synonyms.build` of the options); ``None``: none."""
    today_is_latest: bool = False
    """``today`` is the latest incident's date (``today: latest``); the reports say so."""
    footnotes_marker: str | None = None
    """The place marker of the engine's ``footnotes`` extension (:func:`footnotes_marker`), or
    ``None`` without it: a post-mortem's footnotes go at the end of its body."""


@dataclass
class SiteSource:
    """The site as plain data (docs-relative paths with forward slashes).

    ``pages``: generated Markdown pages (front matter included); ``postmortems``: the page of
    every post-mortem file, by its path; ``files``: everything else, as bytes (charts, exports,
    feed, assets); ``nav``: the navigation to use when the configuration has none;
    ``origin``: which part of the site produced each generated page (for messages).
    """

    pages: dict[str, str] = field(default_factory=dict)
    postmortems: dict[str, PostmortemPage] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    nav: list[dict] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)
    nav_appended: list[dict] = field(default_factory=list)
    """Entries an adapter appends to a configured nav that lacks them (reports, "Have we seen
    this?"), when their page was generated."""


def build_day() -> dt.date:
    """UTC today, or the day of ``SOURCE_DATE_EPOCH`` when it is set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)
    return now.date()


def report_day(option: str | None, postmortems: Sequence[Postmortem]) -> dt.date:
    """The reference day of the reports and ages (the ``today`` option, :class:`Settings`).

    Args:
        option: ``None`` (the build's day: :func:`build_day`, UTC or ``SOURCE_DATE_EPOCH``),
            ``"latest"`` (the latest ``date`` among ``postmortems``; the build's day when there
            is none) or a ``YYYY-MM-DD`` day.
        postmortems: the post-mortems the site or report shows.
    """
    if option is None:
        return build_day()
    if option == "latest":
        return max((pm.date for pm in postmortems), default=None) or build_day()
    return dt.date.fromisoformat(option)


FOOTNOTES_PLACE_MARKER = "///Footnotes Go Here///"
"""Python-Markdown's ``footnotes`` extension's default ``PLACE_MARKER``."""


def extension_entries(extensions: Sequence) -> list[tuple[str, object]]:
    """``mkdocs.yml``'s ``markdown_extensions`` (names, or one-key mappings of a name to its
    options) as ``(name, options or None)`` pairs."""
    return [next(iter(entry.items())) if isinstance(entry, dict) else (entry, None) for entry in extensions or []]


NEEDED_EXTENSIONS = ("attr_list", "tables", "admonition", "toc", "md_in_html")
"""The Python-Markdown extensions the pages need (the card's attributes, tables, admonitions,
heading ids, Markdown inside raw HTML): both engine adapters add the ones
``markdown_extensions`` lacks."""

MKDOCS_BUILTIN_EXTENSIONS = ("toc", "tables", "fenced_code")
"""The extensions MkDocs loads before ``markdown_extensions`` (its ``builtins``)."""


def _short_name(name) -> str:
    return str(name).split(".")[-1]


def site_extensions(extensions: Sequence) -> list[tuple[str, object]]:
    """The extensions a MkDocs build renders a page with, as ``(name, options or None)``
    pairs: MkDocs' builtins (:data:`MKDOCS_BUILTIN_EXTENSIONS`), ``extensions``
    (``mkdocs.yml``'s ``markdown_extensions``, :func:`extension_entries`), then the
    :data:`NEEDED_EXTENSIONS` they lack; one entry per extension (``markdown.extensions.toc``
    is ``toc``), where it first appears, with the last options given."""
    entries: dict[str, tuple[str, object]] = {}
    for name, options in ([(name, None) for name in MKDOCS_BUILTIN_EXTENSIONS] + extension_entries(extensions)
                          + [(name, None) for name in NEEDED_EXTENSIONS]):
        first, before = entries.get(_short_name(name), (str(name), None))
        entries[_short_name(name)] = (first, options if options is not None else before)
    return list(entries.values())


def python_markdown(entries: Sequence[tuple[str, object]]):
    """A Python-Markdown renderer (``markdown.Markdown``) with the extensions ``entries``
    (``(name, options or None)`` pairs, :func:`extension_entries`), as the engines render pages.

    Returns:
        ``(renderer, left_out)``: ``left_out`` lists ``(name, exception)`` of each extension
        that does not load (not installed, or options it refuses), which the renderer goes
        without.
    """
    import markdown as python_markdown_

    names, configs, left_out = [], {}, []
    for name, options in entries:
        try:
            python_markdown_.Markdown(extensions=[name], extension_configs={name: options} if options else {})
        except Exception as exc:  # noqa: BLE001 - any extension's own error: leave it out, say which
            left_out.append((name, exc))
            continue
        names.append(name)
        if options:
            configs[name] = options
    return python_markdown_.Markdown(extensions=names, extension_configs=configs), left_out


def footnotes_marker(extensions: Sequence, configs: dict | None = None) -> str | None:
    """The place marker of the ``footnotes`` extension among ``extensions`` (``mkdocs.yml``'s
    ``markdown_extensions``: names, or one-key mappings of a name to its options; ``configs``:
    options by name, as MkDocs' ``mdx_configs``), or ``None`` when it is not there.

    Python-Markdown puts footnotes where this marker stands, else after everything: on a
    post-mortem page that is below Related incidents, whose section the search index leaves
    out, so the author's footnotes were neither searchable nor with their text."""
    for name, options in extension_entries(extensions):
        if str(name) in ("footnotes", "markdown.extensions.footnotes"):
            options = options or (configs or {}).get(name) or {}
            marker = options.get("PLACE_MARKER") if isinstance(options, dict) else None
            return str(marker) if marker else FOOTNOTES_PLACE_MARKER
    return None


def site_options(settings, shown: Sequence[Postmortem], published: Sequence[Postmortem], *, site_name: str,
                 use_directory_urls: bool, site_url: str | None, links_from_source: bool = False,
                 footnotes: str | None = None) -> SiteOptions:
    """The :class:`SiteOptions` of a build, the same for every engine adapter.

    Args:
        settings: the :class:`generator.settings.Settings` of the build (``today``, ``min_score``,
            ``default_visibility``, synonyms).
        shown: every post-mortem the site shows (drafts included under serve), for the internal marks.
        published: the published ones among them: ``today: latest`` is the latest of their dates.
        site_name, use_directory_urls, site_url: from ``mkdocs.yml`` (``site_url`` ``None`` when unset).
        links_from_source: see :attr:`SiteOptions.links_from_source` (Zensical).
        footnotes: :attr:`SiteOptions.footnotes_marker` (:func:`footnotes_marker` of the configuration).
    """
    from .audience import internal_ids

    return SiteOptions(site_name, report_day(settings.today, published), use_directory_urls, site_url,
                       settings.min_score, links_from_source=links_from_source,
                       internal=internal_ids(shown, settings.default_visibility),
                       synonyms=settings.search_synonyms(), today_is_latest=settings.today == "latest",
                       footnotes_marker=footnotes)


def asset(name: str) -> bytes:
    """A file shipped in ``generator/assets/``."""
    return resources.files("generator").joinpath("assets", name).read_bytes()


def render_site(published: Sequence[Postmortem], analysis: Analysis, options: SiteOptions,
                drafts: Sequence[Postmortem] = (), draft_related: dict[str, list[RelatedLink]] | None = None,
                chart_cache: dict | None = None, disk_cache=None) -> SiteSource:
    """Render the complete site source.

    Args:
        published: the post-mortems the site publishes (no drafts); links, lists and
            exports name nothing else.
        analysis: related links and clusters of ``published``
            (:func:`generator.analysis.analyse`).
        options: site name, URLs, ``today``.
        drafts: draft post-mortems to give a page too (a live preview shows them; nothing
            else links to them); ``draft_related`` their related links.
        chart_cache: a dict kept by the caller across builds (``mkdocs serve``): a chart whose
            data did not change is not drawn again.
        disk_cache: a :class:`generator.cache.Cache` (the ``cache_dir`` folder): charts drawn
            by an earlier build from the same data, matplotlib and chart code are read from it.

    Returns:
        The :class:`SiteSource`.

    Raises:
        ValueError: two generated pages have the same path (a service or tag named
            ``index``), naming both.
    """
    by_id = {pm.id: pm for pm in published}
    report = build_report(published, analysis.clusters, options.today, warnings=analysis.warnings,
                          today_is_latest=options.today_is_latest)
    ranked = report.clusters
    ln = Links(options.use_directory_urls, from_source=options.links_from_source, listings=Listings.of(published))
    source = SiteSource(nav=[dict(item) for item in pages.NAV] + [{"Reports": REPORTS}],
                        nav_appended=[{"Reports": REPORTS}])
    seen_model = None
    if analysis.index is not None:
        # "Have we seen this?": the TF-IDF model pmkb similar --text uses, for the browser.
        seen_model = seen.model_script(seen.export_model(analysis.index, analysis.clusters, analysis.cluster_of,
                                                         Links(options.use_directory_urls)))
        source.nav.insert(1, {seen.TITLE: SEEN})
        source.nav_appended.append({seen.TITLE: SEEN})

    groups = [
        ("home page", {pages.HOME: pages.home_page(ln, published, ranked, options.site_name,
                                                   seen=seen_model is not None)}),
        ("incident index", pages.incident_pages(ln, published)),
        ("service pages", pages.service_pages(ln, published)),
        ("recurring-problem pages", pages.cluster_pages(ln, ranked)),
        ("tag pages", pages.tag_pages(ln, published)),
    ]
    specs = report_pages.chart_specs(report, options.today)
    reports = report_pages.report_pages(report, options.use_directory_urls, options.today, list(specs),
                                        options.links_from_source)
    # Found by their own name, ranked below the post-mortems they mention.
    groups.append(("report pages", {path: f"---\nsearch:\n  boost: {pages.SEARCH_BOOST_LISTS}\n---\n\n{markdown}"
                                    for path, markdown in reports.items()}))
    for name, group in groups:
        for path, content in group.items():
            if path in source.pages:
                raise ValueError(f"generated page {path} of the {name} collides with the {source.origin[path]}; "
                                 "rename the service, tag or cluster that produces it")
            source.pages[path] = content
            source.origin[path] = name

    clusters_by_id = {c.id: c for c in analysis.clusters}
    for pm in published:
        cluster = clusters_by_id.get(analysis.cluster_of.get(pm.id, ""))
        source.postmortems[pm.path] = pages.postmortem_page(
            ln.at(pm.path), pm, analysis.related.get(pm.id, []), by_id, cluster, options.min_score,
            options.today, page_title(pm.title), pm.id in options.internal, options.synonyms,
            options.footnotes_marker)
    for pm in drafts:
        source.postmortems[pm.path] = pages.postmortem_page(
            ln.at(pm.path), pm, (draft_related or {}).get(pm.id, []), by_id, None, options.min_score,
            options.today, page_title(pm.title), pm.id in options.internal, options.synonyms,
            options.footnotes_marker)

    cache = chart_cache if chart_cache is not None else {}
    for name, spec in specs.items():
        key = repr(spec)
        if key not in cache:
            cache[key] = _cached_chart(spec, key, disk_cache)
        source.files[f"reports/charts/{name}"] = cache[key]
    if chart_cache is not None:  # keep only this build's charts
        for key in set(cache) - {repr(spec) for spec in specs.values()}:
            del cache[key]

    urls = {pm.id: Links(options.use_directory_urls).url(pm.path) for pm in published}
    records = exports.export_records(published, analysis, urls)
    source.files["api/postmortems.json"] = exports.export_json(records).encode("utf-8")
    source.files["api/postmortems.csv"] = exports.export_csv(records).encode("utf-8")
    ledger_csv, ledger_json = report_pages.LEDGER_EXPORTS
    source.files[ledger_csv] = exports.report_csv(report, "action-items").encode("utf-8")
    source.files[ledger_json] = exports.ledger_json(report).encode("utf-8")
    if options.site_url:
        source.files["feed.xml"] = exports.atom_feed(published, options.site_url, options.today,
                                                     title=options.site_name,
                                                     page_url=lambda pm: urls[pm.id]).encode("utf-8")
    if seen_model is not None:
        model_file = seen.model_path(seen_model)
        source.files[model_file] = seen_model.encode("utf-8")
        source.files[seen.SCRIPT] = asset("seen.js")
        source.pages[SEEN] = seen.seen_page(ln, model_file, len(analysis.index.ids))
        source.origin[SEEN] = "have-we-seen-this page"
    source.files[STYLESHEET] = asset("pmkb.css")
    source.files[SCRIPT] = asset("pmkb.js")
    source.files[INCIDENTS_SCRIPT] = incidents_script(published, urls).encode("utf-8")
    source.files[WORKER_SHIM] = asset("iframe-worker-shim.js")
    return source


def _chart_code() -> str:
    """What a drawn chart depends on besides its data: matplotlib's version (read from its
    metadata: importing matplotlib costs more than reading a cached chart) and this package's
    code (:func:`generator.analysis_cache.code_digest`: the chart code, the specs, the drawing)."""
    from importlib import metadata

    from .analysis_cache import code_digest

    try:
        version = metadata.version("matplotlib")
    except metadata.PackageNotFoundError:
        version = "absent"
    return version + code_digest()


def _cached_chart(spec, key: str, disk_cache) -> bytes:
    """Draw the chart of ``spec``, or read it from ``disk_cache`` when an earlier build drew it
    from the same data with the same matplotlib and chart code (SVG bytes)."""
    if disk_cache is None:
        return report_pages.draw_chart(spec)
    full_key = key + "\0" + _chart_code()
    svg = disk_cache.get("charts", full_key)
    if svg is None:
        svg = report_pages.draw_chart(spec)
        disk_cache.put("charts", full_key, svg)
    return svg


def incidents_script(published: Sequence[Postmortem], urls: dict[str, str]) -> str:
    """``assets/pmkb/incidents.js``: ``window.pmkbIncidents = {id: [page URL, date, severity]}``
    for every published post-mortem, newest first (page URLs relative to the site root, as
    ``urls`` gives them: ``a/`` or ``a.html``; dates ``YYYY-MM-DD``).

    :data:`SCRIPT` reads it to open an incident's page on Enter when the search box holds its
    exact id, and to show the date beside search results. JSON with every non-ASCII character
    escaped (valid JavaScript in any encoding); nothing in it is HTML."""
    ordered = sorted(published, key=lambda pm: (pm.date, pm.id), reverse=True)
    data = {pm.id: [urls[pm.id], pm.date.isoformat(), pm.severity] for pm in ordered}
    return ("/* generated by postmortem-kb: the published incidents, for assets/pmkb/pmkb.js */\n"
            "window.pmkbIncidents = " + json.dumps(data, ensure_ascii=True, separators=(",", ":")) + ";\n")


def publish_refusal(docs_dir: Path, relative: str, settings) -> str | None:
    """Why the file ``relative`` of ``docs_dir`` is not published, or ``None`` when it is.

    Which kinds the site publishes is the inventory's rule (:func:`generator.inventory.kind_of`:
    Markdown pages and the ``attachments`` kinds of ``settings``); besides, the file must be a
    regular file, not a symlink, with no symlinked folder on its way (nothing that resolves
    outside the docs folder).
    """
    from .inventory import UNPUBLISHED, kind_of

    if kind_of(relative, settings) == UNPUBLISHED:
        suffix = os.path.splitext(relative)[1].lower()
        return f"its kind ({suffix or 'no extension'}) is not in the attachments option"
    root = docs_dir.resolve()
    path = docs_dir / relative
    current = docs_dir
    for part in Path(relative).parts:
        current = current / part
        if current.is_symlink():
            return "it is a symlink (or inside a symlinked folder)"
    if not path.is_file():
        return "it is not a regular file"
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return "it resolves outside the docs folder"
    return None
