"""The ``postmortems`` MkDocs plugin: a thin adapter from MkDocs to the postmortem-kb library.

This is the only module that imports MkDocs. Per build it:

1. ``on_config``: reads the options into :class:`~generator.settings.Settings`, resets all
   per-build state (the instance is kept across ``mkdocs serve`` rebuilds because it defines
   ``on_startup``), adds the Markdown extensions the pages need, our stylesheet, and swaps the
   offline plugin's CDN copy of the ``iframe-worker`` shim for the bundled one;
2. ``on_pre_build``: validates the corpus (errors stop the build with ``pmkb validate``'s
   messages; warnings go through the plugin logger so ``--strict`` counts them), importing
   the analysis' libraries while the validation's worker processes check the files;
3. ``on_files``: marks post-mortems as not in the nav (drafts as MkDocs drafts: shown by
   ``mkdocs serve``, left out of ``mkdocs build``), runs the analysis, and adds the generated
   pages, the report pages of :mod:`generator.reports`, the exports and the assets as
   in-memory files (nothing is ever written into ``docs_dir``); the report charts are drawn
   by a forked worker process meanwhile;
4. ``on_page_markdown``: moves ``status`` out of Material's way;
5. ``on_page_content``: sanitises the HTML of post-mortem pages with nh3, then adds the summary
   card above the body (head and summary; the facts wait for the next step);
6. ``on_page_context`` (after Material's search has indexed the page): puts the card's facts
   in, appends the table of the front matter's action items and Related incidents, and puts
   the big tables of generated pages in (they skip Markdown and search);
7. ``on_env``: collects the charts; the theme's templates lose their blank lines and
   indentation when they are loaded (:class:`_CompactThemeLoader`: a third of each page, at
   no cost per page); the theme's navigation sidebar (for pages outside the nav), header and
   config script are rendered once per set of relative URLs instead of once per page
   (:data:`THEME_WRAPPERS`).

Page contents come from :mod:`generator.site` (pure functions, no MkDocs).
"""

from __future__ import annotations

from html import escape as html_escape

import datetime as dt
import functools
import os
import re
import time
import types
from importlib import resources
from pathlib import Path

import jinja2

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File, InclusionLevel
from mkdocs.structure.toc import AnchorLink
from mkdocs.utils import get_relative_url
from mkdocs.utils.meta import YAML_RE

from . import site
from .analysis import Analysis
from .loader import front_matter_digest
from .model import Postmortem
from .settings import DEFAULTS, ConfigError, settings_from_options

log = get_plugin_logger(__name__)

ASSETS = "assets/pmkb"
STYLESHEET = f"{ASSETS}/pmkb.css"
WORKER_SHIM = f"{ASSETS}/iframe-worker-shim.js"
NEEDED_EXTENSIONS = ("attr_list", "tables", "admonition", "toc")


class PostmortemsConfig(base.Config):
    """Options under ``plugins: - postmortems:``; defaults and meaning in :mod:`generator.settings`."""

    ignore = c.Type(list, default=list(DEFAULTS.ignore))
    templates = c.Type(list, default=list(DEFAULTS.templates))
    broken_links = c.Choice(("error", "warning"), default=DEFAULTS.broken_links)
    max_file_size = c.Type(int, default=DEFAULTS.max_file_size)
    phone_region = c.Type((str, type(None)), default=DEFAULTS.phone_region)
    top_k = c.Type(int, default=DEFAULTS.top_k)
    min_score = c.Type((int, float), default=DEFAULTS.min_score)
    cluster_threshold = c.Type((int, float), default=DEFAULTS.cluster_threshold)
    field_weights = c.Type(dict, default={})
    attachments = c.Type(list, default=list(DEFAULTS.attachments))
    semantic = c.Choice(("auto", "on", "off"), default=DEFAULTS.semantic)
    cache_dir = c.Type(str, default=DEFAULTS.cache_dir)


class PostmortemsPlugin(BasePlugin[PostmortemsConfig]):
    """Builds the knowledge base: validation, generated pages, cards, related links, exports."""

    def __init__(self):
        self.command = "build"
        self.analysis_cache: dict[bytes, Analysis] = {}  # kept across mkdocs serve rebuilds
        self._reset()

    def _reset(self) -> None:
        self.settings = None
        self.result = None
        self.analysis: Analysis | None = None
        self.published: list[Postmortem] = []
        self.published_by_id: dict[str, Postmortem] = {}
        self.clusters_by_id: dict = {}
        self.pm_by_src: dict[str, Postmortem] = {}
        self.draft_related: dict[str, list] = {}
        self.blocks: dict[str, list[str]] = {}
        self.card_facts: dict[str, str] = {}
        self.page_meta: dict[str, dict] = {}  # src_uri -> meta handed from read_source to markdown
        self.nav_cache: dict[tuple, str] = {}
        self.theme_cache: dict[tuple, str] = {}
        self.nav_sources: set[str] | None = None
        self.theme_urls: list[str] | None = None
        if getattr(self, "deferred", None) is not None:  # a worker left by a failed build (mkdocs serve)
            self.deferred.cancel()
        if getattr(self, "pending", None) is not None:  # validation workers left by a failed build
            self.pending.cancel()
        self.pending = None
        self.markdown_pool = None if os.environ.get("PMKB_FRESH_MARKDOWN") == "1" else _PooledMarkdown()
        self.deferred: _DeferredFiles | None = None

    def on_startup(self, *, command, dirty):
        """Remember whether this is ``mkdocs serve`` (drafts get related links there)."""
        self.command = command

    @event_priority(-90)  # after the offline plugin has added its polyfill
    def on_config(self, config):
        """Reset per-build state, read the options, add extensions, stylesheet and offline shim."""
        self._reset()
        options = dict(self.config.items())
        if not options.get("field_weights"):
            options.pop("field_weights", None)
        try:
            self.settings = settings_from_options(options, source=str(config.config_file_path))
        except ConfigError as exc:
            raise PluginError(str(exc)) from exc
        self.settings.docs_dir = Path(config.docs_dir)
        if config.config_file_path:  # cache_dir is relative to mkdocs.yml (similarity; minimal)
            self.settings.config_file = Path(config.config_file_path).resolve()
        for name in NEEDED_EXTENSIONS:
            if not any(str(ext).split(".")[-1] == name for ext in config.markdown_extensions):
                config.markdown_extensions.append(name)
        if config.nav is None:  # never let MkDocs list every post-mortem in the nav
            config.nav = [dict(item) for item in site.NAV]
        if STYLESHEET not in config.extra_css:
            config.extra_css.append(STYLESHEET)
        polyfills = config.extra.get("polyfills")
        if polyfills:
            config.extra["polyfills"] = [WORKER_SHIM if "iframe-worker" in str(url) else url for url in polyfills]
        return config

    def on_pre_build(self, config):
        """Start validating the corpus; :meth:`on_files` collects the result.

        Worker processes check the files while MkDocs collects its own list of files and this
        process imports the analysis' libraries (scikit-learn, SciPy: about a second).
        """
        from .validate import start_validation

        self.validation_started = time.perf_counter()
        self.pending = start_validation([self.settings.docs_dir], self.settings)
        confinement = self.pending.confinement_errors
        if confinement:  # before MkDocs walks the folder: its walk follows links into folders
            self.pending.cancel()
            self.pending = None
            for problem in confinement:
                log.error(_one_line(problem))
            raise PluginError(f"post-mortems: {len(confinement)} symbolic link(s) or special file(s) in the docs "
                              "folder; run 'pmkb validate' for details")
        if self.pending.in_background:
            _import_analysis()

    def _validation_result(self):
        """Wait for the validation started in :meth:`on_pre_build`; errors stop the build with the
        messages of ``pmkb validate``, warnings go to the plugin logger (``--strict`` counts them)."""
        from .output import summary_line

        pending, self.pending = self.pending, None
        result = pending.result()
        log.debug(f"validated {result.files} files in {time.perf_counter() - self.validation_started:.2f} s")
        for problem in result.problems:
            if problem.level == "warning":
                log.warning(_one_line(problem))
        if result.errors:
            errors = [p for p in result.problems if p.level == "error"]
            for problem in errors:
                log.error(_one_line(problem))
            raise PluginError(f"post-mortems: {summary_line(result)}; run 'pmkb validate' for details")
        return result

    def on_files(self, files, config):
        """Mark post-mortems, analyse them, add generated pages, reports, exports and assets."""
        self.result = self._validation_result()
        self.pm_by_src = {pm.path: pm for pm in self.result.postmortems}
        for pm in self.result.postmortems:
            file = files.get_file_from_path(pm.path)
            if file is not None:
                file.inclusion = InclusionLevel.DRAFT if pm.status == "draft" else InclusionLevel.NOT_IN_NAV
        self.published = [pm for pm in self.result.postmortems if pm.status != "draft"]
        self.published_by_id = {pm.id: pm for pm in self.published}
        started = time.perf_counter()
        self.analysis = self._analyse(self.published)
        self.clusters_by_id = {c.id: c for c in self.analysis.clusters}
        log.debug(f"analysed {len(self.published)} post-mortems in {time.perf_counter() - started:.2f} s")
        drafts = [pm for pm in self.result.postmortems if pm.status == "draft"]
        if drafts and self.command == "serve":
            everything = self._analyse(self.result.postmortems)
            self.draft_related = {pm.id: everything.related.get(pm.id, []) for pm in drafts}

        try:
            pages: dict[str, str | bytes] = dict(site.generated_pages(
                self.published, self.analysis, config.site_name, config.use_directory_urls))
        except ValueError as exc:
            raise PluginError(str(exc)) from exc
        started = time.perf_counter()
        reports = self._report_pages()
        log.debug(f"report pages: {len(reports)} in {time.perf_counter() - started:.2f} s")
        for path, content in reports.items():
            if path in pages:
                raise PluginError(f"report page {path} collides with a generated page of the same path")
            pages[path] = content
        self.deferred = _DeferredFiles()
        added = self._add_pages(files, config, pages)

        urls = {}
        for pm in self.published:
            file = files.get_file_from_path(pm.path)
            if file is not None:
                urls[pm.id] = file.url
        # The exports are written by the worker that draws the charts, while pages render.
        records = functools.cache(functools.partial(site.export_records, self.published, self.analysis, urls))
        extras: dict[str, object] = {
            "api/postmortems.json": lambda: site.export_json(records()).encode("utf-8"),
            "api/postmortems.csv": lambda: site.export_csv(records()).encode("utf-8"),
            STYLESHEET: _asset("pmkb.css"),
            WORKER_SHIM: _asset("iframe-worker-shim.js"),
        }
        feed = self._feed(config, urls)
        if feed:
            extras["feed.xml"] = feed
        for path, content in extras.items():
            deferred = callable(content)
            file = File.generated(config, path, content=b"" if deferred else content)
            self._replace_or_add(files, file)
            if deferred:
                self.deferred.add(file, content)
        self.deferred.start()
        self._check_destinations(files, added)
        if "reports/index.md" in added and config.nav is not None:
            if not any("reports/index.md" in str(item) for item in config.nav):
                config.nav.append({"Reports": "reports/index.md"})
        return files

    def on_build_error(self, error):
        """Stop the validation workers and the chart worker of a failed build."""
        if getattr(self, "pending", None) is not None:
            self.pending.cancel()
            self.pending = None
        if self.deferred is not None:
            self.deferred.cancel()

    def on_pre_page(self, page, config, files):
        """Post-mortem pages are rendered by one Markdown instance per build (see :class:`_PooledMarkdown`)."""
        if page.file.src_uri in self.pm_by_src and self.markdown_pool is not None:
            page.render = functools.partial(self.markdown_pool.render, page)
        return page

    def on_page_read_source(self, page, config):
        """Post-mortem pages: reuse the front matter the validation has already parsed.

        MkDocs would parse every post-mortem's YAML again (``mkdocs.utils.meta.get_data``).
        When the block it finds is the text the validator loaded, the page gets the body
        after a blank line (MkDocs then finds no meta and returns the body as its YAML path
        would) and :meth:`on_page_markdown` puts the validator's meta back. Otherwise MkDocs
        reads the file as usual.
        """
        pm = self.pm_by_src.get(page.file.src_uri)
        if pm is None or pm.page_meta is None:
            return None
        source = page.file.content_string
        match = YAML_RE.match(source)
        if match is None or front_matter_digest(match.group(1)[:-1]) != pm.page_meta[0]:
            return None
        self.page_meta[page.file.src_uri] = pm.page_meta[1]
        return "\n" + source[match.end():]

    def on_page_markdown(self, markdown, page, config, files):
        """Post-mortem pages: hand the ``status`` key over from Material to the card."""
        meta = self.page_meta.pop(page.file.src_uri, None)
        if meta is not None:
            page.meta = dict(meta)
        if page.file.src_uri in self.pm_by_src and "status" in page.meta:
            # Material reads `status` as its own "page status" (an icon in the nav); ours is
            # the review state of the post-mortem, shown on the card instead.
            page.meta["incident_status"] = page.meta.pop("status")
        # Material's per-page search boost: an incident outranks the report and list pages
        # that mention it (searching "PM-2013-001" should open that post-mortem first).
        if page.file.src_uri in self.pm_by_src:
            page.meta.setdefault("search", {"boost": SEARCH_BOOST_POSTMORTEM})
            # The services and the id as search tags (Material weighs tags highest): typing a
            # service name finds the incidents of that service first (the card that shows the
            # services is kept out of the index), typing an id finds that incident first, not
            # the year pages that mention its year.
            pm = self.pm_by_src[page.file.src_uri]
            tags = page.meta.get("tags") if isinstance(page.meta.get("tags"), list) else []
            page.meta["tags"] = [*tags, *(s for s in pm.services if s not in tags), pm.id]
        elif page.file.src_uri.startswith(("reports/", "services/", "tags/", "clusters/", "incidents/")):
            page.meta.setdefault("search", {"boost": SEARCH_BOOST_LISTS})
        if page.file.src_uri in self.pm_by_src and isinstance(page.meta.get("title"), str):
            # The theme writes the title into <title>, the header and the <h1> without escaping:
            # give it HTML text, so markup in a title shows as text and never runs.
            page.meta["title"] = html_escape(page.meta["title"], quote=False)
        return markdown

    def on_page_content(self, html, page, config, files):
        """Post-mortem pages: sanitise the body, then put the summary card above it.

        The card is built from escaped values after sanitising, so neither Markdown nor the
        sanitiser spends time on it (thousands of pages).
        """
        pm = self.pm_by_src.get(page.file.src_uri)
        if pm is None:
            return html
        card, facts = site.card_html(site.Links(config.use_directory_urls), pm, self._cluster(pm), split=True)
        self.card_facts[page.file.src_uri] = facts
        return card + site.sanitize_html(html)

    def on_env(self, env, config, files):
        """Collect the report charts; let pages share renderings of the theme parts that do not
        depend on them (see :data:`THEME_WRAPPERS`).

        The charts were drawn by a worker process while MkDocs rendered the pages' Markdown;
        static files are copied right after this event.
        """
        import jinja2

        if self.deferred is not None:
            started = time.perf_counter()
            self.deferred.finish()
            log.debug(f"report charts collected after {time.perf_counter() - started:.2f} s of waiting")

        custom_dir = getattr(config.theme, "custom_dir", None)
        theme_dirs = tuple(os.path.join(os.path.normpath(d), "") for d in config.theme.dirs if d != custom_dir)
        env.loader = _CompactThemeLoader(env.loader, theme_dirs)
        wrappers, originals = {}, {}
        for name, (alias, wrapper) in THEME_WRAPPERS.items():
            try:
                originals[alias] = env.loader.get_source(env, name)[0]
            except jinja2.TemplateNotFound:
                continue
            wrappers[name] = wrapper
        if wrappers:
            env.loader = jinja2.ChoiceLoader([jinja2.DictLoader({**wrappers, **originals}), env.loader])
            env.globals.update(pmkb_nav_store=self._store_nav, pmkb_cached=self.theme_cache.get,
                               pmkb_store=self._store_part, pmkb_header_store=self._store_header,
                               pmkb_header_fill=_fill_header)
        return env

    def _store_nav(self, key: tuple, html: str) -> str:
        self.nav_cache[key] = html
        return html

    def _store_part(self, key: tuple, html: str) -> str:
        self.theme_cache[key] = html
        return html

    def _store_header(self, key: tuple, html: str, title) -> str:
        """Keep ``html`` with the page title swapped for a placeholder (not kept if the title is not found)."""
        match = _HEADER_TOPIC.search(html)
        if match and match.group(2).strip() == str(title).strip():
            self.theme_cache[key] = html[:match.start(2)] + _TITLE_SLOT + html[match.end(2):]
        return html

    def _nav_key(self, page, nav, relative: tuple) -> tuple | None:
        """What the navigation sidebar of ``page`` depends on, or None when it must be rendered.

        A page that is not in the nav has no active entry, so its sidebar differs from another
        such page's only by the relative URLs of the nav's pages, the home page and the theme's
        assets (3,000 post-mortems at the top level share one).
        """
        if nav is None:
            return None
        if self.nav_sources is None:
            self.nav_sources = {p.file.src_uri for p in nav.pages}
        if page.file.src_uri in self.nav_sources or page.parent is not None:  # (every page is active while rendered)
            return None
        return ("nav", page.url.count("/"), relative)

    def _theme_urls(self, nav, config) -> list[str]:
        """Site URLs the theme's shared parts link to: the nav's pages, the home page, assets, logo."""
        if self.theme_urls is None:
            pages = {p.url for p in nav.pages} if nav is not None else set()
            self.theme_urls = sorted(pages | {"assets/", "", str(config.theme.get("logo") or "")})
        return self.theme_urls

    @event_priority(-100)  # after Material's search has indexed the page: related lists stay out of it
    def on_page_context(self, context, page, config, nav):
        """Generated pages get their tables back; post-mortem pages end with Related incidents."""
        # The nav sidebar (of pages outside the nav), the header and the config script depend
        # on the page only through relative URLs (and the header on its title, filled in): one
        # rendering per set of relative URLs.
        relative = (context.get("base_url"),
                    tuple(get_relative_url(url, page.url) for url in self._theme_urls(nav, config)))
        key = self._nav_key(page, nav, relative)
        context["pmkb_nav_key"] = key
        context["pmkb_nav_cached"] = self.nav_cache.get(key) if key is not None else None
        context["pmkb_header_key"] = ("header",) + relative
        context["pmkb_config_key"] = ("config",) + relative
        blocks = self.blocks.get(page.file.src_uri)
        if blocks:
            page.content = re.sub(r"<!--pmkb-block-(\d+)-->", lambda m: blocks[int(m.group(1))], page.content)
        pm = self.pm_by_src.get(page.file.src_uri)
        if pm is None:
            return context
        facts = self.card_facts.pop(page.file.src_uri, None)
        if facts is not None:
            page.content = page.content.replace(site.CARD_FACTS, facts, 1)
        if pm.action_items:
            # After search has indexed the page, like the related list: a section more per page
            # cost Material's search parser about a second at 3,000 post-mortems.
            anchor = site.ACTION_ITEMS_ANCHOR
            if f'id="{anchor}"' in page.content:
                anchor += "-pmkb"
            page.content += site.action_items_html(pm, self._today(), anchor)
            self._add_anchor(page, "Tracked action items", anchor)
        links = self.analysis.related.get(pm.id) or self.draft_related.get(pm.id, [])
        anchor = site.RELATED_ANCHOR
        if f'id="{anchor}"' in page.content:
            anchor += "-pmkb"
        page.content += site.related_html(site.Links(config.use_directory_urls), pm, links, self.published_by_id,
                                          self._cluster(pm), self.settings.min_score, anchor)
        self._add_anchor(page, "Related incidents", anchor)
        return context

    @staticmethod
    def _add_anchor(page, title: str, anchor: str) -> None:
        """A section the plugin appended: in the page's table of contents, and among the anchors
        MkDocs checks links against (``#related-incidents`` links resolve, as the validator says)."""
        if page.toc is not None:
            page.toc.items.append(AnchorLink(title, anchor, 2))
        if page.present_anchor_ids is not None:
            page.present_anchor_ids.add(anchor)

    def _set_aside_blocks(self, path: str, markdown: str) -> str:
        """Swap the big HTML tables of a generated page for short placeholders.

        Python-Markdown's raw-HTML parser and Material's search parser are slow on tables of
        thousands of rows that neither needs (the tables are kept out of search), so the tables
        go into the page only after search has indexed it (:meth:`on_page_context`).
        """
        blocks: list[str] = []

        def keep(match: re.Match) -> str:
            blocks.append(match.group(0))
            return f"<!--pmkb-block-{len(blocks) - 1}-->\n"

        markdown = site.SET_ASIDE.sub(keep, markdown)
        if blocks:
            self.blocks[path] = blocks
        return markdown

    def _cluster(self, pm: Postmortem):
        return self.clusters_by_id.get(self.analysis.cluster_of.get(pm.id)) if pm.status != "draft" else None

    # --- helpers ------------------------------------------------------------------------------

    def _analyse(self, postmortems: list[Postmortem]) -> Analysis:
        """Related links and clusters; empty (with a warning) while the similarity code is absent.

        Under ``mkdocs serve`` the result is kept on the plugin, which serve keeps across
        rebuilds: a rebuild whose post-mortems and options did not change (an edit to an
        authored page or a template) reuses it.
        """
        import hashlib
        import pickle

        from .analysis import analyse

        key = None
        if self.command == "serve":  # (the key costs about 0.1 s at 3,000 post-mortems: serve only)
            key = hashlib.sha256(pickle.dumps((postmortems, repr(self.settings)),
                                              protocol=pickle.HIGHEST_PROTOCOL)).digest()
            if key in self.analysis_cache:
                log.debug("post-mortems and options unchanged: analysis reused")
                return self.analysis_cache[key]
        try:
            analysis = analyse(postmortems, self.settings)
        except ImportError as exc:
            if exc.name not in ("generator.similarity", "generator.clusters"):
                raise
            log.warning(f"related incidents and clusters are unavailable: {exc}")
            return Analysis(postmortems=list(postmortems))
        for message in analysis.warnings + analysis.notes:
            log.info(message)
        if key is not None:
            if len(self.analysis_cache) >= 2:  # the published set and the one with drafts
                self.analysis_cache.pop(next(iter(self.analysis_cache)))
            self.analysis_cache[key] = analysis
        return analysis

    def _report_pages(self) -> dict[str, str | bytes]:
        """Pages from ``generator.reports.site_pages(analysis, settings, today)``, if it exists.

        The hook returns ``{docs-relative path: Markdown text or SVG bytes}``; ``site_exports``
        adds the full action-item ledger under ``api/`` (the action-items page links it).
        ``today`` is UTC today, or the day of ``SOURCE_DATE_EPOCH`` when set (reproducible builds).
        """
        try:
            from . import reports
        except ModuleNotFoundError as exc:
            if exc.name == "generator.reports":
                return {}
            raise
        hook = getattr(reports, "site_pages", None)
        if hook is None:
            return {}
        import inspect

        parameters = inspect.signature(hook).parameters.values()
        defer = any(p.name == "defer_charts" or p.kind is p.VAR_KEYWORD for p in parameters)
        pages = dict(hook(self.analysis, self.settings, self._today(), **({"defer_charts": True} if defer else {})))
        exports = getattr(reports, "site_exports", None)
        if exports is not None and "reports/action-items.md" in pages:  # the page links the full ledger
            pages.update(exports(self.analysis, self.settings, self._today()))
        return pages

    def _feed(self, config, urls: dict[str, str]) -> str | None:
        """``feed.xml`` (Atom) from ``generator.reports.atom_feed`` when ``site_url`` is set (feeds need absolute URLs)."""
        if not config.site_url:
            return None
        try:
            from .reports import atom_feed
        except ImportError:
            return None
        return atom_feed(self.published, config.site_url, self._today(), title=config.site_name,
                         page_url=lambda pm: urls.get(pm.id, f"{pm.slug}/"))

    @staticmethod
    def _today() -> dt.date:
        """UTC today, or the day of ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        now = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)
        return now.date()

    def _add_pages(self, files, config, pages: dict[str, str | bytes]) -> set[str]:
        """Add generated pages; an authored ordinary page at the same path wins, a post-mortem there is an error."""
        added = set()
        # README.md is MkDocs' other name for index.md (both become index.html): an authored
        # README.md in a folder is that folder's authored home page.
        readmes = {f.src_uri[: -len("README.md")] + "index.md": f for f in files
                   if f.src_uri == "README.md" or f.src_uri.endswith("/README.md")}
        for path, content in pages.items():
            existing = files.get_file_from_path(path) or readmes.get(path)
            if existing is not None:
                if path in self.pm_by_src:
                    raise PluginError(f"post-mortem {path} has the path of a generated page "
                                      f"({_describe(path)}); rename the post-mortem file")
                log.info(f"authored page {existing.src_uri} is used instead of the generated {_describe(path)}")
                if existing.src_uri != path and config.nav is not None:
                    config.nav = _renamed_in_nav(config.nav, path, existing.src_uri)
                continue
            inclusion = InclusionLevel.NOT_IN_NAV if path.endswith(".md") else InclusionLevel.UNDEFINED
            if isinstance(content, str) and path.endswith(".md"):
                content = self._set_aside_blocks(path, content)
            deferred = callable(content)
            file = File.generated(config, path, content=b"" if deferred else content, inclusion=inclusion)
            if deferred:
                self.deferred.add(file, content)
            files.append(file)
            added.add(path)
        return added

    @staticmethod
    def _replace_or_add(files, file: File) -> None:
        existing = files.get_file_from_path(file.src_uri)
        if existing is not None:
            raise PluginError(f"{existing.src_uri} in the docs folder has the path of the generated "
                              f"{file.src_uri}; rename or remove it")
        files.append(file)

    @staticmethod
    def _check_destinations(files, added: set[str]) -> None:
        """Two files that would be written to the same place in the site are an error naming both."""
        seen: dict[str, str] = {}
        for file in files:
            if not file.inclusion.is_in_serve():
                continue
            other = seen.setdefault(file.dest_uri, file.src_uri)
            if other != file.src_uri and (file.src_uri in added or other in added):
                raise PluginError(f"{other} and {file.src_uri} would both be written to {file.dest_uri}; "
                                  "rename one of them")


def _import_analysis() -> None:
    """Import what :func:`generator.analysis.analyse` needs (scikit-learn, SciPy: about a second),
    while the validation's worker processes check the files and this process would only wait."""
    try:
        from . import clusters, similarity  # noqa: F401

        similarity.stop_words()
        import scipy.sparse  # noqa: F401
        import sklearn.feature_extraction.text  # noqa: F401
        import sklearn.preprocessing  # noqa: F401
    except ImportError:  # the analysis reports it
        pass


class _DeferredFiles:
    """Generated files whose content is computed in a forked worker process: the report charts
    (``generator.reports.ChartJob``) and the ``api/`` exports.

    matplotlib's import and drawing take a second or two, the exports a few tenths; the worker
    does them while the main process renders the pages, and :meth:`finish` (``on_env``, before
    static files are copied) puts the bytes into their files. Without ``fork`` (or with
    ``PMKB_JOBS=1``), or if the worker fails, the jobs run in this process instead.
    """

    def __init__(self):
        self.jobs: dict[str, tuple[File, object]] = {}
        self.worker = None
        self.pipe = None

    def add(self, file: File, job) -> None:
        self.jobs[file.src_uri] = (file, job)

    def start(self) -> None:
        import multiprocessing

        if not self.jobs or os.environ.get("PMKB_JOBS") == "1" or (os.cpu_count() or 1) < 2:
            return
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        context = multiprocessing.get_context("fork")
        self.pipe, child_end = context.Pipe(duplex=False)
        jobs = {path: job for path, (_, job) in self.jobs.items()}
        self.worker = context.Process(target=_draw_charts, args=(jobs, child_end), daemon=True)
        self.worker.start()
        child_end.close()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            self.worker.join()
            self.pipe.close()
            self.worker = None

    def finish(self) -> None:
        drawn: dict[str, bytes] = {}
        if self.worker is not None:
            try:
                drawn = self.pipe.recv() or {}
            except (EOFError, OSError):
                drawn = {}
            self.pipe.close()
            self.worker.join()
            self.worker = None
        for path, (file, job) in self.jobs.items():
            file.content_bytes = drawn[path] if path in drawn else job()
        self.jobs = {}


def _draw_charts(jobs: dict, pipe) -> None:
    """Worker process: run every job and send ``{path: bytes}`` (``{}`` on failure)."""
    try:
        drawn = {path: job() for path, job in jobs.items()}
    except Exception:  # the main process draws them again and reports the error there
        drawn = {}
    pipe.send(drawn)
    pipe.close()


HEADER_TEMPLATE = """\
{#- The theme's partials/header.html, rendered once per key with the title left as a slot. -#}
{%- set pmkb_title = page.meta.title if (page and page.meta and page.meta.title) else (page.title if page else "") -%}
{%- set pmkb_html = pmkb_cached(pmkb_header_key) if pmkb_header_key else none -%}
{%- if pmkb_html is none -%}
{%- set pmkb_rendered -%}{% include "pmkb/theme-header.html" %}{%- endset -%}
{{ pmkb_header_store(pmkb_header_key, pmkb_rendered, pmkb_title) if pmkb_header_key else pmkb_rendered }}
{%- else -%}
{{ pmkb_header_fill(pmkb_html, pmkb_title) }}
{%- endif -%}
"""

MAIN_TEMPLATE = """\
{#- The theme's main.html with its config script rendered once per key. -#}
{% extends "pmkb/theme-main.html" %}
{% block config %}
{%- set pmkb_html = pmkb_cached(pmkb_config_key) if pmkb_config_key else none -%}
{%- if pmkb_html is none -%}
{{ pmkb_store(pmkb_config_key, super()) if pmkb_config_key else super() }}
{%- else -%}
{{ pmkb_html }}
{%- endif -%}
{% endblock %}
"""

NAV_TEMPLATE = """\
{#- The theme's partials/nav.html (as pmkb/theme-nav.html), rendered once per key: pages that
    are not in the nav get the same sidebar (see PostmortemsPlugin._nav_key). -#}
{%- if pmkb_nav_cached -%}
{{ pmkb_nav_cached }}
{%- elif pmkb_nav_key -%}
{%- set pmkb_rendered -%}{% include "pmkb/theme-nav.html" %}{%- endset -%}
{{ pmkb_nav_store(pmkb_nav_key, pmkb_rendered) }}
{%- else -%}
{% include "pmkb/theme-nav.html" %}
{%- endif -%}
"""


THEME_WRAPPERS = {
    "partials/nav.html": ("pmkb/theme-nav.html", NAV_TEMPLATE),
    "partials/header.html": ("pmkb/theme-header.html", HEADER_TEMPLATE),
    "main.html": ("pmkb/theme-main.html", MAIN_TEMPLATE),
}
"""Theme templates wrapped so that pages share one rendering of what does not depend on them
(the theme's own template, under the alias, does the rendering). At 3,000 post-mortems these
three parts were a third of the template time of every page."""

_TITLE_SLOT = "\x00pmkb-title\x00"
_HEADER_TOPIC = re.compile(r'(<div class="md-header__topic" data-md-component="header-topic">\s*'
                           r'<span class="md-ellipsis">)(.*?)(</span>)', re.S)


class _PooledMarkdown:
    """Renders post-mortem pages with one reused Python-Markdown instance instead of a new one
    per page.

    MkDocs' ``Page.render`` builds ``markdown.Markdown(extensions=...)`` for every page, which
    instantiates and registers every extension again (with the shipped extensions, 0.9 ms of a
    2.5 ms page; 2.7 s of a 3,000-post-mortem build). Python-Markdown documents
    ``Markdown.reset()`` as the way to reuse an instance; MkDocs' own per-page processors are
    registered by name, so each page replaces the previous page's. :meth:`render` runs MkDocs'
    own ``Page.render`` with its ``markdown`` module seen through :class:`_MarkdownModule`,
    whose ``Markdown`` hands out the reset instance (same extensions and configs, else a new
    one). The output is byte-identical (``tests/test_site.py``); ``PMKB_FRESH_MARKDOWN=1``
    turns the pool off.
    """

    def __init__(self):
        self.md = None
        self.key = None

    def markdown(self, *, extensions, extension_configs):
        import markdown

        key = (repr(extensions), repr(extension_configs))
        if self.md is None or key != self.key:
            self.md = markdown.Markdown(extensions=extensions, extension_configs=extension_configs)
            self.key = key
        else:
            self.md.reset()
        return self.md

    def render(self, page, config, files) -> None:
        from mkdocs.structure import pages

        real = pages.markdown
        pages.markdown = _MarkdownModule(real, self.markdown)
        try:
            pages.Page.render(page, config, files)
        finally:
            pages.markdown = real


class _MarkdownModule(types.ModuleType):
    """The ``markdown`` module with ``Markdown`` replaced by a factory (see :class:`_PooledMarkdown`)."""

    def __init__(self, real, factory):
        super().__init__(real.__name__)
        self._real = real
        self.Markdown = factory

    def __getattr__(self, name):
        return getattr(self._real, name)


class _CompactThemeLoader(jinja2.BaseLoader):
    """Wraps the theme's Jinja loader: templates of the installed themes (Material, MkDocs) are
    compacted by :func:`generator.site.compact_template` as they are loaded; the site's own
    ``custom_dir`` overrides are left exactly as written."""

    def __init__(self, inner: jinja2.BaseLoader, theme_dirs: tuple[str, ...]):
        self.inner = inner
        self.theme_dirs = theme_dirs

    def get_source(self, environment, template):
        source, filename, uptodate = self.inner.get_source(environment, template)
        if filename and os.path.normpath(filename).startswith(self.theme_dirs):
            source = site.compact_template(source)
        return source, filename, uptodate

    def list_templates(self):
        return self.inner.list_templates()


def _fill_header(html: str, title) -> str:
    return html.replace(_TITLE_SLOT, f"\n{title}\n", 1)


# Relative weights for Material's search ranking (its ``search.boost`` page setting).
SEARCH_BOOST_POSTMORTEM = 2.0
SEARCH_BOOST_LISTS = 0.5


def _renamed_in_nav(nav, old: str, new: str):
    """``nav`` with every entry pointing at ``old`` pointing at ``new`` (README.md for index.md)."""
    if isinstance(nav, list):
        return [_renamed_in_nav(item, old, new) for item in nav]
    if isinstance(nav, dict):
        return {key: _renamed_in_nav(value, old, new) for key, value in nav.items()}
    return new if nav == old else nav


def _describe(path: str) -> str:
    top = path.split("/", 1)[0]
    kind = {"index.md": "home page", "incidents": "incident index page", "services": "service page",
            "clusters": "recurring-problem page", "tags": "tag page", "reports": "report page"}
    return kind.get(top, "page")


def _asset(name: str) -> bytes:
    return resources.files("generator").joinpath("assets", name).read_bytes()


def _one_line(p) -> str:
    """A problem as ``pmkb validate`` prints it (the log level stands for its ``error``/``warning``)."""
    where = p.path + (f":{p.line}" if p.line else "") + (f":{p.column}" if p.line and p.column else "")
    return f"{where}: {p.code}{' ' + p.field if p.field else ''}: {p.message} ({p.fix})"
