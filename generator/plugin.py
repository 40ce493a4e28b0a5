"""The ``postmortems`` MkDocs plugin: the MkDocs adapter of :func:`generator.render.render_site`.

The site source (every generated page, every post-mortem page, charts, exports) is rendered by
the library as plain data; this module only hands it to MkDocs, through MkDocs' documented
events and nothing else (no MkDocs or Material module is patched):

1. ``on_config``: reads the options into :class:`~generator.settings.Settings`, adds the
   Markdown extensions the pages need, the stylesheet, the default nav, and the bundled
   ``iframe-worker`` shim for the offline plugin (:func:`generator.material.bundled_polyfills`),
   and with the offline plugin on switches off the theme features that fetch
   (``navigation.instant``: :func:`generator.material.offline_features`), logged in one line;
2. ``on_pre_build``: starts validating the corpus (worker processes for large corpora);
3. ``on_files``: collects the validation (errors stop the build with ``pmkb validate``'s
   messages, warnings go through the plugin logger so ``--strict`` counts them), analyses,
   renders the site source and adds it as in-memory files (``File.generated``: nothing is
   ever written into ``docs_dir``); drops files of the docs folder the site must not publish
   (:func:`generator.render.publish_refusal`);
4. ``on_page_read_source`` / ``on_page_markdown``: a post-mortem page's Markdown and front
   matter come from the model (:attr:`Postmortem.body` as loaded), never from MkDocs reading
   the file again;
5. ``on_page_content``: every page made from a file of the docs folder (post-mortems, the
   home README, ``_notes.md`` ...) is sanitised (:func:`generator.sanitize.sanitize_html`);
6. ``on_env``: the installed theme's templates lose their indentation and blank lines when
   they are loaded (:func:`compact_template`; a third of each page, at no cost per page).
"""

from __future__ import annotations

import datetime
import os
import re
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import jinja2
import markdown
from markdown.extensions.toc import nest_toc_tokens
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File, InclusionLevel
from mkdocs.structure.toc import TableOfContents, get_toc

from . import blocks, site_cache
from .analysis import Analysis
from .audience import for_audience, withheld_attachments
from .cache import Cache
from .material import (SEARCH_INDEX, SYNONYM_FIELD, add_search_field, bundled_polyfills, offline_extra, offline_features,
                       offline_gaps, sanitize_article)
from .model import Postmortem
from .paths import REPORTS
from .render import (NEEDED_EXTENSIONS, SCRIPT, STYLESHEET, WORKER_SHIM, SiteSource, footnotes_marker,
                     publish_refusal, render_site, site_options)
from .settings import DEFAULTS, ConfigError, settings_from_options

log = get_plugin_logger(__name__)


RENDER_SECONDS = 30.0
"""Seconds Python-Markdown and the sanitiser may spend on one page of the docs folder before the
build stops with an error naming it (:class:`RenderBudget`). A page of the shipped knowledge
base takes about 0.02 s; a 1 MB page of prose about 2 s."""


class RenderBudget:
    """A time limit on rendering one page, so that no page holds a build for minutes.

    ``validate`` refuses the shapes known to cost Python-Markdown more than linear time
    (``nesting-too-deep``, ``blank-lines-missing``, ``unclosed-markup``); this is the backstop
    for the ones it does not know (its raw-HTML reader, the standard library's
    ``html.parser``, took 107 s on a 100 KB line of ``<a `` repeated). It uses a timer signal
    (``SIGALRM``) of the main thread, where MkDocs renders pages; elsewhere it does nothing.
    """

    def __init__(self, seconds: float = RENDER_SECONDS) -> None:
        self.seconds = seconds
        self.page: str | None = None
        self._previous = None

    def start(self, page: str) -> None:
        """Start timing the rendering of ``page`` (its path in the docs folder)."""
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
            return
        self.stop()
        self.page = page
        self._previous = signal.signal(signal.SIGALRM, self._expired)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def stop(self) -> None:
        """The page is rendered (or the build failed): cancel the timer."""
        if self.page is None:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous if self._previous is not None else signal.SIG_DFL)
        self.page, self._previous = None, None

    def _expired(self, signum, frame):
        page = self.page
        self.stop()
        raise PluginError(
            f"postmortems/{page}: rendering this page took more than {self.seconds:g} s, so the build stopped. "
            "Its Markdown has a shape the site's renderer takes minutes on (thousands of unclosed tags, "
            "backticks or brackets on one line, or deep nesting): put logs and dumps in a fenced code block, "
            "or split the long lines")


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
    # YAML 1.1 reads an unquoted on/off as true/false: both spellings are accepted.
    semantic = c.Choice(("auto", "on", "off", True, False), default=DEFAULTS.semantic)
    cache_dir = c.Type(str, default=DEFAULTS.cache_dir)
    audience = c.Choice(("public", "internal"), default=DEFAULTS.audience)
    default_visibility = c.Choice(("public", "internal"), default=DEFAULTS.default_visibility)
    problems_file = c.Type(str, default=DEFAULTS.problems_file)
    synonyms = c.Type(list, default=[])
    builtin_synonyms = c.Type(bool, default=DEFAULTS.builtin_synonyms)
    vocabulary = c.Type(dict, default={})
    today = c.Optional(c.Type((str, datetime.date)))  # None (not given): the day of the build


def with_toc_entries(toc: TableOfContents, tokens: Sequence[dict | None]) -> TableOfContents:
    """``toc`` (a page's table of contents, as MkDocs made it from the ``toc`` extension) with
    ``tokens`` (the extension's entries of headings that follow the page's, ``None`` for one it
    leaves out) after its own, nested as the extension nests a page's headings
    (``markdown.extensions.toc.nest_toc_tokens``): the same table as if the headings had been
    in the page's Markdown."""
    tokens = [token for token in tokens if token is not None]
    if not tokens:
        return toc

    def flat(items) -> list[dict]:
        out = []
        for item in items:
            out.append({"level": item.level, "id": item.id, "name": item.title, "children": []})
            out += flat(item.children)
        return out

    return get_toc(nest_toc_tokens(flat(toc) + [dict(token, children=[]) for token in tokens]))


class PostmortemsPlugin(BasePlugin[PostmortemsConfig]):
    """Builds the knowledge base: validation, generated pages, post-mortem pages, exports."""

    def __init__(self):
        self.command = "build"
        self.analysis_cache: dict[str, Analysis] = {}  # kept across mkdocs serve rebuilds
        self.term_memory: dict = {}  # each post-mortem's tokenising, idem
        self._preparing = False
        self.chart_cache: dict = {}
        self.pending = None
        self.render_budget = RenderBudget()
        self._reset()

    def _reset(self) -> None:
        self._cancel_validation()
        self.settings = None
        self.source: SiteSource | None = None
        self.authored: set[str] = set()
        self.synonym_urls: dict[str, list[str]] = {}
        self.held_blocks: dict[str, list[str]] = {}  # a generated page -> its unsearched tables (on_post_page)
        self.broken: dict[str, list] = {}
        self.hide = lambda text: text
        self.headings: dict[tuple[str, str], tuple[str, dict | None]] = {}  # _section_heading
        self.heading_markdown = None

    def on_startup(self, *, command, dirty):
        """Remember whether this is ``mkdocs serve`` (drafts get a page there)."""
        self.command = command

    @event_priority(-90)  # after the offline plugin has added its polyfill
    def on_config(self, config):
        """Read the options, add extensions, stylesheet, default nav and the bundled offline shim."""
        self._reset()
        options = dict(self.config.items())
        if not options.get("field_weights"):
            options.pop("field_weights", None)
        try:
            self.settings = settings_from_options(options, source=str(config.config_file_path))
        except ConfigError as exc:
            raise PluginError(str(exc)) from exc
        self.settings.docs_dir = Path(config.docs_dir)
        if config.config_file_path:  # cache_dir is relative to mkdocs.yml
            self.settings.config_file = Path(config.config_file_path).resolve()
        if getattr(self, "command", None) != "serve":  # (serve builds into a new folder of its own)
            _refuse_linked_site(config)
        for name in NEEDED_EXTENSIONS:
            if not any(str(ext).split(".")[-1] == name for ext in config.markdown_extensions):
                config.markdown_extensions.append(name)
        # What the pages are rendered with, for the validation (generator.site_markdown); another
        # plugin's extension objects are left out (they need not cross to the worker processes).
        self.settings.markdown_extensions = [{ext: config.mdx_configs[ext]} if config.mdx_configs.get(ext) else ext
                                             for ext in config.markdown_extensions if isinstance(ext, str)]
        if STYLESHEET not in config.extra_css:
            config.extra_css.append(STYLESHEET)
        if SCRIPT not in [str(script) for script in config.extra_javascript]:
            config.extra_javascript.append(SCRIPT)
        if config.extra.get("polyfills"):
            config.extra["polyfills"] = bundled_polyfills(config.extra["polyfills"], WORKER_SHIM)
        offline = _offline_enabled(config)
        if offline:
            _drop_fetch_features(config)
        for gap in offline_gaps(os.environ.get("OFFLINE"), offline, config.theme.get("font")):
            log.warning(gap)
        return config

    def on_pre_build(self, config):
        """Start validating the corpus; :meth:`on_files` collects the result. A SIGTERM during
        the build stops the validation's worker processes before the build exits."""
        from .validate import start_validation

        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGTERM)

            def stop(signum, frame):
                self._cancel_validation()
                signal.signal(signal.SIGTERM, previous if callable(previous) else signal.SIG_DFL)
                raise SystemExit(128 + signum)

            signal.signal(signal.SIGTERM, stop)
            self._previous_sigterm = previous
        self.validation_started = time.perf_counter()
        self.pending = start_validation([self.settings.docs_dir], self.settings)
        confinement = self.pending.confinement_errors
        if confinement:  # before MkDocs walks the folder: its walk follows links into folders
            self._cancel_validation()
            for problem in confinement:
                log.error(_one_line(problem))
            raise PluginError(f"post-mortems: {len(confinement)} symbolic link(s) or special file(s) in the docs "
                              "folder; run 'pmkb validate' for details")
        # The workers check the files: import what an analysis needs meanwhile, unless the last build
        # of this site was answered from the cache folder (then this one most likely is too, and the
        # import would only take a core from the workers: 1.5 s of CPU on 3,000 post-mortems).
        if self.pending.in_background and not _last_build_cached(Cache(self.settings.cache_path())):
            _import_analysis()

    def _cancel_validation(self) -> None:
        pending, self.pending = getattr(self, "pending", None), None
        if pending is not None:
            pending.cancel()

    def _validation_result(self):
        """Wait for the validation; errors stop the build with the messages of ``pmkb validate``.

        Under ``mkdocs serve`` errors in post-mortem files do not stop it: those files are left
        out of the site and each gets a page of its problems at its own address, so the browser
        the author writes with shows them (:mod:`generator.error_page`); ``self.broken`` maps
        their docs paths to their problems."""
        from .output import summary_line

        pending, self.pending = self.pending, None
        result = pending.result()
        log.debug(f"validated {result.files} files in {time.perf_counter() - self.validation_started:.2f} s")
        hide = result.redactor.hide  # (messages are masked already; this is the edge, for the log)
        self.hide = hide
        for problem in result.problems:
            if problem.level == "warning":
                log.warning(hide(_one_line(problem)))
        if result.errors:
            for problem in result.problems:
                if problem.level == "error":
                    log.error(hide(_one_line(problem)))
            broken = self._broken_files(result) if self.command == "serve" else None
            if broken is None:
                raise PluginError(f"post-mortems: {summary_line(result)}; run 'pmkb validate' for details")
            self.broken = broken
            log.error(f"post-mortems: {summary_line(result)}; the preview shows the problems on the page of "
                      f"each of the {len(broken)} file(s) and leaves them out of the site")
        return result

    def _broken_files(self, result) -> dict[str, list] | None:
        """``{docs path: problems}`` of the files with errors, or ``None`` when an error is not
        about a post-mortem file of the docs folder (then the build stops as ``mkdocs build``)."""
        docs = self.settings.docs_dir.resolve()
        errored = {p.path for p in result.problems if p.level == "error"}
        out: dict[str, list] = {}
        for shown in errored:
            try:
                relative = Path(os.path.abspath(shown)).relative_to(docs).as_posix()
            except ValueError:
                return None
            if not relative.endswith(".md"):
                return None
            out[relative] = [p for p in result.problems if p.path == shown]
        return out

    def on_files(self, files, config):
        """Validate, analyse, render the site source and add it to MkDocs' files. A site source
        an earlier build rendered from the same input is read from the cache folder instead of
        analysing and rendering again (:mod:`generator.site_cache`)."""
        self.broken = {}
        result = self._validation_result()
        audience, default_visibility = self.settings.audience, self.settings.default_visibility
        readable = [pm for pm in result.postmortems if pm.path not in self.broken]
        shown, withheld = for_audience(readable, audience, default_visibility)
        published = [pm for pm in shown if pm.status != "draft"]
        drafts = [pm for pm in shown if pm.status == "draft"] if self.command == "serve" else []
        if audience == "public":
            log.info(f"public site: {len(withheld)} internal post-mortem(s) left out, {len(shown)} shown")
            if result.postmortems and not shown:
                log.warning(f"public site: none of the {len(result.postmortems)} post-mortems is public (their "
                            f"visibility, or default_visibility: {default_visibility}); mark them "
                            "'visibility: public' or set the option default_visibility: public")
        options = site_options(self.settings, shown, published, site_name=config.site_name,
                               use_directory_urls=config.use_directory_urls, site_url=config.site_url or None,
                               footnotes=footnotes_marker(config.markdown_extensions, config.mdx_configs))
        started = time.perf_counter()

        def render() -> tuple[SiteSource, list[tuple[str, str]]]:
            messages: list[tuple[str, str]] = []
            analysis = self._analyse(published, messages)
            draft_related = {}
            if drafts:
                everything = self._analyse(published + drafts, messages)
                draft_related = {pm.id: everything.related.get(pm.id, []) for pm in drafts}
            log.debug(f"analysed {len(published)} post-mortems in {time.perf_counter() - started:.2f} s")
            try:
                return render_site(published, analysis, options, drafts, draft_related, self.chart_cache,
                                   Cache(self.settings.cache_path())), messages
            except ValueError as exc:
                raise PluginError(str(exc)) from exc

        cache = Cache(self.settings.cache_path())
        self.source, messages, hit = site_cache.cached_site(
            cache, site_cache.site_key(published, drafts, self.settings, options, "mkdocs"), render)
        if hit != _last_build_cached(cache):
            cache.put(*_LAST_BUILD, b"hit" if hit else b"miss")
        for level, message in messages:
            (log.warning if level == "warning" else log.info)(message)
        log.debug(f"site source {'read from the cache' if hit else 'rendered'} in "
                  f"{time.perf_counter() - started:.2f} s")
        for pm in shown:
            file = files.get_file_from_path(pm.path)
            if file is not None:
                file.inclusion = InclusionLevel.DRAFT if pm.status == "draft" else InclusionLevel.NOT_IN_NAV
        for path in sorted({pm.path for pm in withheld} | withheld_attachments(withheld, shown)):
            file = files.get_file_from_path(path)  # the public site: not built, copied or indexed
            if file is not None:
                files.remove(file)
        self._drop_unpublishable(files, config)
        for path in self.broken:
            file = files.get_file_from_path(path)
            if file is not None:
                file.inclusion = InclusionLevel.NOT_IN_NAV
        if self.broken:
            self._error_banner(config)
        self.authored = {f.src_uri for f in files if f.src_uri.endswith(".md")}
        self.synonym_urls = {file.url: entry.synonyms for entry in self.source.postmortems.values()
                             if entry.synonyms and (file := files.get_file_from_path(entry.path)) is not None}
        added = self._add_pages(files, config)
        for path, content in self.source.files.items():
            existing = files.get_file_from_path(path)
            if existing is not None:
                raise PluginError(f"{existing.src_uri} in the docs folder has the path of the generated "
                                  f"{path}; rename or remove it")
            files.append(File.generated(config, path, content=content))
        _check_destinations(files, added)
        if config.nav is None:  # never let MkDocs list every post-mortem in the nav
            config.nav = [item for item in self.source.nav if next(iter(item.values())) in added | self.authored]
        else:  # a configured nav gets the reports and "Have we seen this?" when it lacks them
            for item in self.source.nav_appended:
                path = next(iter(item.values()))
                if path in added and not any(path in str(entry) for entry in config.nav):
                    config.nav.append(item)
        return files

    def _drop_unpublishable(self, files, config) -> None:
        """Files of the docs folder the site does not publish (attachment kinds, symlinks)."""
        docs = Path(config.docs_dir)
        inside = os.path.join(os.path.normpath(os.path.abspath(config.docs_dir)), "")
        for file in list(files):
            if file.generated_by or not file.abs_src_path or not file.abs_src_path.startswith(inside):
                continue
            reason = publish_refusal(docs, file.src_uri, self.settings)
            if reason is not None:
                log.info(f"{file.src_uri} is not published: {reason}")
                files.remove(file)

    def _add_pages(self, files, config) -> set[str]:
        """Add the generated pages; an authored ordinary page at the same path wins, a
        post-mortem there is an error."""
        added = set()
        # README.md is MkDocs' other name for index.md (both become index.html): an authored
        # README.md in a folder is that folder's authored home page.
        readmes = {f.src_uri[: -len("README.md")] + "index.md": f for f in files
                   if f.src_uri == "README.md" or f.src_uri.endswith("/README.md")}
        for path, content in self.source.pages.items():
            existing = files.get_file_from_path(path) or readmes.get(path)
            if existing is not None:
                if path in self.source.postmortems:
                    raise PluginError(f"post-mortem {path} has the path of a generated page "
                                      f"({self.source.origin[path]}); rename the post-mortem file")
                log.info(f"authored page {existing.src_uri} is used instead of the generated "
                         f"{_describe(self.source.origin[path])}")
                if existing.src_uri != path and config.nav is not None:
                    config.nav = _renamed_in_nav(config.nav, path, existing.src_uri)
                if existing.src_uri != path:
                    self.authored.add(path)
                continue
            content, held = blocks.hold(content)  # its unsearched tables go in after search (on_post_page)
            if held:
                self.held_blocks[path] = held
            files.append(File.generated(config, path, content=content, inclusion=InclusionLevel.NOT_IN_NAV))
            added.add(path)
        return added

    def on_build_error(self, error):
        """Stop the validation workers of a failed build, and the page's render timer."""
        self.render_budget.stop()
        self._cancel_validation()

    @event_priority(-50)  # after the search plugin wrote its index (0), before offline copies it (-100)
    def on_post_build(self, config):
        """Add the post-mortems' synonyms to Material's search index as a field of their own
        (:func:`generator.material.add_search_field`); restore the SIGTERM handler of before
        the build (``mkdocs serve`` builds again). Under ``mkdocs serve``, get what a rebuild
        after an edit needs ready while the author reads (:func:`_prepare_for_edits`)."""
        index = Path(config.site_dir) / SEARCH_INDEX["mkdocs"][0]
        if getattr(self, "synonym_urls", None) and index.is_file():
            try:
                index.write_text(add_search_field(index.read_text(encoding="utf-8"), SYNONYM_FIELD,
                                                  self.synonym_urls), encoding="utf-8")
            except ValueError as exc:  # another search plugin's index: leave it as it is
                log.info(f"search synonyms not added to {index}: {exc}")
        previous = getattr(self, "_previous_sigterm", None)
        if previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)
            self._previous_sigterm = None
        if self.command == "serve" and not self._preparing:
            self._preparing = True
            threading.Thread(target=_prepare_for_edits, args=(self.settings,), daemon=True,
                             name="pmkb-prepare").start()

    def _error_banner(self, config) -> None:
        """Under serve, the home page names the post-mortems that have errors."""
        from .error_page import error_banner, with_banner
        from .markup import Links
        from .paths import HOME
        from .validate import display_path

        home = self.source.pages.get(HOME)
        if home is None:
            return
        here = Links(config.use_directory_urls).at(HOME)
        names = {path: display_path(self.settings.docs_dir / path) for path in self.broken}
        counts = {path: sum(p.level == "error" for p in problems) for path, problems in self.broken.items()}
        self.source.pages[HOME] = with_banner(home, error_banner(names, counts, here.a))

    def on_page_read_source(self, page, config):
        """A post-mortem page's Markdown is the model's (the file is not read again); under
        serve, a file with errors reads as the page of its problems."""
        path = page.file.src_uri
        if path in getattr(self, "broken", {}):
            from .error_page import error_page
            from .validate import display_path

            return error_page(path, display_path(self.settings.docs_dir / path), self.broken[path], self.hide)
        entry = self.source.postmortems.get(path) if self.source else None
        return entry.body_markdown if entry is not None else None  # the card and sections: on_page_content

    def on_page_markdown(self, markdown, page, config, files):
        """A post-mortem page's front matter is the renderer's (title, search tags and boost)."""
        entry = self.source.postmortems.get(page.file.src_uri) if self.source else None
        if entry is not None:
            page.meta = dict(entry.meta)
        if not page.file.generated_by:  # Python-Markdown renders it next: a time limit (RenderBudget)
            self.render_budget.start(page.file.src_uri)
        return markdown

    @event_priority(100)  # before any other plugin (search) sees the page
    def on_page_content(self, html, page, config, files):
        """Sanitise every page made from a file of the docs folder (generated pages are built
        from escaped values)."""
        if page.file.generated_by:
            return html
        from .sanitize import sanitize_html, sanitize_postmortem_body

        try:
            entry = self.source.postmortems.get(page.file.src_uri) if self.source is not None else None
            if entry is None:
                return sanitize_html(html)
            # Markdown rendered the body only (on_page_read_source): the card and our sections go in here,
            # with their headings in the table of contents and the anchors MkDocs checks links against;
            # the unsearched blocks' marks stay for on_post_page: search never parses those blocks.
            headings = [self._section_heading(title, anchor, config) for title, anchor, _ in entry.sections]
            page.toc = with_toc_entries(page.toc, [token for _, token in headings])
            if page.present_anchor_ids is not None:
                page.present_anchor_ids.update(anchor for _, anchor, _ in entry.sections)
            return sanitize_postmortem_body(html, entry.marks, entry.blocks, [h for h, _ in headings],
                                            entry.sections)
        finally:
            self.render_budget.stop()

    def _section_heading(self, title: str, anchor: str, config) -> tuple[str, dict | None]:
        """The HTML of our section heading ``title`` (id ``anchor``) as this site's Markdown
        renders :func:`generator.pages.section_heading` (cleaned as ours), and its table-of-contents
        entry (``None`` when the ``toc`` extension's depth leaves it out); rendered once a build."""
        found = self.headings.get((title, anchor))
        if found is None:
            from .pages import section_heading
            from .sanitize import sanitize_own_html

            if self.heading_markdown is None:
                self.heading_markdown = markdown.Markdown(extensions=config.markdown_extensions,
                                                          extension_configs=config.mdx_configs or {})
            md = self.heading_markdown
            md.reset()
            html = md.convert(section_heading(title, anchor))
            tokens = getattr(md, "toc_tokens", None) or [None]
            found = self.headings[(title, anchor)] = (sanitize_own_html(html).strip("\n"), tokens[0])
        return found

    @event_priority(100)  # before any other plugin sees the output
    def on_post_page(self, output, page, config):
        """A post-mortem page gets its tracked action items and Related incidents, which the
        search index leaves out, after search read the page (:func:`generator.sanitize.fill_unsearched`)."""
        if page.file.generated_by:  # a generated page's tables (built from escaped values)
            held = self.held_blocks.get(page.file.src_uri)
            return sanitize_article(output, lambda article: blocks.GENERATED.fill(article, held)) if held else output
        entry = self.source.postmortems.get(page.file.src_uri) if self.source is not None else None
        if entry is None:
            return output
        from .sanitize import fill_unsearched

        return sanitize_article(output, lambda article: fill_unsearched(article, entry.marks, entry.blocks))

    def on_env(self, env, config, files):
        """Compact the installed theme's templates as they are loaded (the site's own
        ``custom_dir`` overrides are left exactly as written)."""
        custom_dir = getattr(config.theme, "custom_dir", None)
        theme_dirs = tuple(os.path.join(os.path.normpath(d), "") for d in config.theme.dirs if d != custom_dir)
        env.loader = _CompactThemeLoader(env.loader, theme_dirs)
        return env

    def on_shutdown(self):
        """``mkdocs serve`` stops: no validation worker outlives it."""
        self._cancel_validation()

    def _analyse(self, postmortems: list[Postmortem], messages: list[tuple[str, str]]) -> Analysis:
        """Related links and clusters; empty (with a warning) while the similarity code is absent.

        The analysis is read from the cache folder when an earlier build analysed the same
        post-mortems with the same options, and only the changed post-mortems are tokenised
        again otherwise (:mod:`generator.analysis_cache`). Under ``mkdocs serve`` the result
        and the tokenising are also kept in memory across rebuilds.
        """
        from . import analysis_cache
        from .analysis import analyse

        key = analysis_cache.corpus_key(postmortems, self.settings)
        if key in self.analysis_cache:
            return self.analysis_cache[key]
        try:
            analysis = analyse(postmortems, self.settings, cache=Cache(self.settings.cache_path()),
                               terms=analysis_cache.TermStore(Cache(self.settings.cache_path()), self.term_memory))
        except ImportError as exc:
            if exc.name not in ("generator.similarity", "generator.clusters"):
                raise
            messages.append(("warning", f"related incidents and clusters are unavailable: {exc}"))
            return Analysis(postmortems=list(postmortems))
        messages.extend(("info", message) for message in analysis.warnings + analysis.notes)
        if self.command == "serve":
            if len(self.analysis_cache) >= 2:  # the published set and the one with drafts
                self.analysis_cache.pop(next(iter(self.analysis_cache)))
            self.analysis_cache[key] = analysis
        return analysis


def _prepare_for_edits(settings) -> None:
    """In a background thread of ``mkdocs serve``: import scikit-learn (a build answered from
    the cache folder never did; the first edit needs it to fit the IDF) and load the sentence
    model when the ``[semantic]`` extra is used (an edited post-mortem is embedded again), so
    the first save shows as fast as the next ones."""
    _import_analysis()
    if settings.semantic == "off":
        return
    try:
        from . import semantic

        if semantic.available():
            semantic.shared_model().load()
    except Exception as exc:  # noqa: BLE001 - the rebuild itself reports a broken model
        log.debug(f"sentence model not preloaded: {exc}")


_LAST_BUILD = ("last-build", "mkdocs")
"""The cache entry that says whether the last build's site source came from the cache folder."""


def _last_build_cached(cache: Cache) -> bool:
    """Whether the last build of this site read its site source from ``cache`` (no entry: no)."""
    return cache.get(*_LAST_BUILD) == b"hit"


def _import_analysis() -> None:
    """Import what the analysis needs (scikit-learn, SciPy: about a second) while the
    validation's worker processes check the files and this process would only wait."""
    try:
        from . import clusters, similarity  # noqa: F401
        import sklearn.feature_extraction.text  # noqa: F401
    except ImportError:  # the analysis reports it
        pass


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


_PRESERVED = re.compile(r"(<(pre|textarea|script|style|code)\b.*?</\2>)", re.S | re.I)
_BLANKS = re.compile(r"\n[ \t\r\n]+")


def compact_template(source: str) -> str:
    """A Jinja template's source without the whitespace that only makes its output bigger
    (Material's templates are a third whitespace), dropped once, when the template is loaded.

    Outside ``<pre>``, ``<code>``, ``<textarea>``, ``<script>`` and ``<style>``: indentation and
    blank lines go, and so does the line break right after a block tag (``%}``), as with Jinja's
    ``trim_blocks``. A line break followed by whitespace becomes one line break, which HTML
    renders the same.
    """
    pieces = _PRESERVED.split(source)
    out = []
    for i in range(0, len(pieces), 3):
        out.append(_BLANKS.sub("\n", pieces[i]).replace("%}\n", "%}"))
        if i + 1 < len(pieces):
            out.append(pieces[i + 1])
    return "".join(out)


class _CompactThemeLoader(jinja2.BaseLoader):
    """The theme's Jinja loader, with the installed themes' templates compacted as they load."""

    def __init__(self, inner: jinja2.BaseLoader, theme_dirs: tuple[str, ...]):
        self.inner = inner
        self.theme_dirs = theme_dirs

    def get_source(self, environment, template):
        source, filename, uptodate = self.inner.get_source(environment, template)
        if filename and os.path.normpath(filename).startswith(self.theme_dirs):
            source = compact_template(source)
        return source, filename, uptodate

    def list_templates(self):
        return self.inner.list_templates()


def _renamed_in_nav(nav, old: str, new: str):
    """``nav`` with every entry pointing at ``old`` pointing at ``new`` (README.md for index.md)."""
    if isinstance(nav, list):
        return [_renamed_in_nav(item, old, new) for item in nav]
    if isinstance(nav, dict):
        return {key: _renamed_in_nav(value, old, new) for key, value in nav.items()}
    return new if nav == old else nav


def _describe(origin: str) -> str:
    return {"incident index": "incident index page", "service pages": "service page",
            "recurring-problem pages": "recurring-problem page", "tag pages": "tag page",
            "report pages": "report page"}.get(origin, origin)


def _one_line(p) -> str:
    """A problem as ``pmkb validate`` prints it (the log level stands for its ``error``/``warning``)."""
    where = p.path + (f":{p.line}" if p.line else "") + (f":{p.column}" if p.line and p.column else "")
    return f"{where}: {p.code}{' ' + p.field if p.field else ''}: {p.message} ({p.fix})"


def _refuse_linked_site(config) -> None:
    """Stop the build, before MkDocs empties ``site_dir`` (``utils.clean_directory`` lists and
    deletes what the folder holds, through a link too) and writes into it, when ``site_dir`` is
    a symbolic link, is below one inside the project, or holds one (MkDocs' clean step cannot
    remove a linked folder and then writes through it): :func:`generator.confine.site_refusal`.

    Raises:
        PluginError: naming the link."""
    from .confine import site_refusal

    site = Path(os.path.normpath(config.site_dir))
    project = Path(os.path.dirname(os.path.abspath(config.config_file_path))) if config.config_file_path \
        else site.parent
    reason = site_refusal(site, project)
    if reason is not None:
        raise PluginError(reason)


def _offline_enabled(config) -> bool:
    """Whether Material's ``offline`` plugin is in ``config.plugins`` and enabled."""
    for name, plugin in config.plugins.items():
        if name in ("offline", "material/offline"):
            return bool(getattr(plugin, "config", {}).get("enabled", True))
    return False


def _drop_fetch_features(config) -> None:
    """An offline build opens from ``file://``, where ``fetch`` fails: the theme features and
    ``extra`` settings that fetch (:func:`generator.material.offline_features`,
    :func:`generator.material.offline_extra`) are switched off, in one log line."""
    features, dropped = offline_features(config.theme.get("features") or [])
    if dropped:
        config.theme["features"] = features
    extra, dropped_extra = offline_extra(config.extra)
    if dropped_extra:
        for key in list(config.extra):
            if key not in extra:
                del config.extra[key]
    dropped += dropped_extra
    if dropped:
        log.info(f"offline build: {', '.join(dropped)} switched off (fetch fails on a site opened from the "
                 "file system: Material's 'Building for offline usage')")
