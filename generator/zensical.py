"""The Zensical adapter: ``pmkb build --engine zensical`` and ``pmkb serve --engine zensical``.

Zensical reads ``mkdocs.yml`` and a docs folder but ignores MkDocs plugins, so this adapter
does the plugin's part around it, from the same :func:`generator.render.render_site`:

1. validates the docs folder as ``pmkb validate`` does: an error stops the build with the
   same messages (warnings too with ``--strict``);
2. writes the site source into a build folder outside the docs folder (default
   ``.pmkb-build/zensical/`` beside ``mkdocs.yml``; never inside ``docs_dir``): the generated
   pages, every post-mortem page (front matter + Markdown from the model), the authored pages
   and the attachments the site publishes (:func:`generator.render.publish_refusal`), the
   charts, exports and assets; and a ``mkdocs.yml`` made from the project's (docs and site
   folders of the build folder, our stylesheet, extensions and nav, the ``postmortems`` plugin
   left out);
3. runs ``zensical build`` on it and moves the site to ``mkdocs.yml``'s ``site_dir``
   (Zensical writes only inside its project folder);
4. sanitises the HTML the engine wrote for every page made from an authored file (the page's
   article, :func:`generator.material.sanitize_article`) and the search index entries of those
   pages, with :func:`generator.sanitize.sanitize_html`: after the build, because the engine
   renders Markdown we do not control (attr_list attributes, links) into HTML we only see
   then; sanitising the Markdown instead would have to re-implement the engine's parser.

``serve`` runs ``zensical serve`` on the build folder and re-renders it when a file of the
docs folder changes; a file with a validation error is left out of the preview (with its
messages), so unsafe HTML never reaches the engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import yaml

from . import blocks, site_cache
from .analysis import Analysis, analyse
from .audience import for_audience, withheld_attachments
from .cache import Cache
from .confine import is_inside
from .markup import Links
from .material import SEARCH_INDEX, bundled_polyfills, offline_gaps, sanitize_article, without_tags_nav
from .paths import HOME
from .render import (NEEDED_EXTENSIONS, SCRIPT, STYLESHEET, WORKER_SHIM, extension_entries, footnotes_marker,
                     publish_refusal, python_markdown, render_site, site_options)
from .settings import Settings, load_settings

BUILD_FOLDER = ".pmkb-build/zensical"
PREVIEW_PAGES_KEPT = 20_000
"""Rendered live-preview pages kept between saves (:meth:`Project._previewed`)."""


class BuildError(Exception):
    """The build stopped: validation errors, a bad configuration or the engine failed (message says which)."""


class _EnvLoader(yaml.SafeLoader):
    """Reads ``mkdocs.yml`` as MkDocs does: ``!ENV [NAME, default]`` from the environment,
    ``!relative`` as the config file's folder; ``!!python/...`` tags are refused (None)."""


def _env(loader, node):
    if isinstance(node, yaml.ScalarNode):
        names, default = [loader.construct_scalar(node)], None
    else:
        values = loader.construct_sequence(node)
        names, default = values[:-1] if len(values) > 1 else values, values[-1] if len(values) > 1 else None
    for name in names:
        if name in os.environ:
            return yaml.safe_load(os.environ[name]) if os.environ[name] else ""
    return default


_EnvLoader.add_constructor("!ENV", _env)
_EnvLoader.add_constructor("!relative", lambda loader, node: ".")
_EnvLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def read_config(config_file: Path) -> dict:
    """``mkdocs.yml`` as a mapping (environment variables resolved).

    Raises:
        BuildError: the file cannot be read or is not a mapping.
    """
    try:
        data = yaml.load(config_file.read_text(encoding="utf-8"), Loader=_EnvLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BuildError(f"{config_file}: cannot read the configuration: {exc}") from exc
    if not isinstance(data, dict):
        raise BuildError(f"{config_file}: the configuration is not a mapping")
    return data


def _plugin_names(plugins) -> list:
    return [next(iter(p)) if isinstance(p, dict) else p for p in plugins or []]


def _offline(config: dict) -> bool:
    """Whether the ``offline`` plugin is configured and enabled."""
    for plugin in config.get("plugins") or []:
        if plugin == "offline":
            return True
        if isinstance(plugin, dict) and "offline" in plugin:
            options = plugin["offline"] or {}
            return bool(options.get("enabled", True)) if isinstance(options, dict) else True
    return False


def engine_config(config: dict, docs: str, site: str) -> dict:
    """The configuration Zensical gets: the project's, with the build folder's ``docs_dir``
    and ``site_dir``, the extensions, stylesheet and nav the pages need, our plugin left out
    (Zensical would ignore it), the offline plugin's shim bundled, and the theme's ``classic``
    variant unless the project chose one (the same look and markup as the Material build)."""
    out = dict(config)
    out["docs_dir"], out["site_dir"] = docs, site
    extensions = list(out.get("markdown_extensions") or [])
    names = {str(next(iter(e)) if isinstance(e, dict) else e).split(".")[-1] for e in extensions}
    extensions += [name for name in NEEDED_EXTENSIONS if name not in names]
    out["markdown_extensions"] = extensions
    out["plugins"] = [p for p in out.get("plugins") or [] if _plugin_names([p]) != ["postmortems"]]
    css = list(out.get("extra_css") or [])
    out["extra_css"] = css + ([STYLESHEET] if STYLESHEET not in css else [])
    scripts = list(out.get("extra_javascript") or [])
    out["extra_javascript"] = scripts + ([SCRIPT] if SCRIPT not in [str(s) for s in scripts] else [])
    theme = dict(out.get("theme") or {}) if isinstance(out.get("theme"), dict) else {"name": out.get("theme")}
    theme.setdefault("variant", "classic")  # Material's look and markup, as the MkDocs build has
    out["theme"] = theme
    extra = dict(out.get("extra") or {})
    polyfills = list(extra.get("polyfills") or [])
    if _offline(config) and not any("iframe-worker" in str(url) for url in polyfills):
        polyfills.append(WORKER_SHIM)  # else the offline plugin adds the CDN's copy
    if polyfills:
        extra["polyfills"] = bundled_polyfills(polyfills, WORKER_SHIM)
        out["extra"] = extra
    return out


def _log(level: str, message: str) -> None:
    print(f"{level:<8}-  {message}", file=sys.stderr)


def _one_line(p) -> str:
    where = p.path + (f":{p.line}" if p.line else "") + (f":{p.column}" if p.line and p.column else "")
    return f"{where}: {p.code}{' ' + p.field if p.field else ''}: {p.message} ({p.fix})"


class Project:
    """One knowledge base built with Zensical: ``mkdocs.yml``, its docs folder, the build folder."""

    def __init__(self, config_file: Path, build_dir: Path | None = None):
        self.config_file = config_file.resolve()
        self.root = self.config_file.parent
        self.config = read_config(self.config_file)
        self.settings: Settings = load_settings(self.config_file)
        self.docs = (self.root / str(self.config.get("docs_dir") or "docs")).resolve()
        # The build and site folders are written and deleted: kept as written below the project's
        # folder (never resolved), so that a committed link there is refused, not followed (confine).
        self.site = Path(os.path.normpath(self.root / str(self.config.get("site_dir") or "site")))
        self.build = Path(os.path.normpath(Path(build_dir).absolute() if build_dir else self.root / BUILD_FOLDER))
        build = self.build.resolve()
        if build == self.docs or self.docs in build.parents:
            raise BuildError(f"the build folder {self.build} is inside the docs folder {self.docs}; "
                             "it must be outside it (nothing is ever written into the docs folder)")
        if build in self.docs.parents:
            raise BuildError(f"the docs folder {self.docs} is inside the build folder {self.build}")
        # The folder from which down no component of the build folder may be a link: the
        # project's, or the build folder's parent for one outside the project (the user's).
        self._build_root = self.root if is_inside(self.build, self.root) else self.build.parent
        self._build_checked = False
        # The offline plugin switches directory URLs off (MkDocs' and Zensical's alike).
        offline = _offline(self.config)
        self.use_directory_urls = bool(self.config.get("use_directory_urls", True)) and not offline
        theme = self.config.get("theme")
        font = theme.get("font") if isinstance(theme, dict) else None
        for gap in offline_gaps(os.environ.get("OFFLINE"), offline, font):
            _log("WARNING", gap)
        self.authored_pages: list[str] = []
        self.postmortem_pages: dict = {}  # path -> (its marks, its HTML blocks) (sanitize_site)
        self.generated_blocks: dict[str, list[str]] = {}  # a generated page -> its held tables (fill_generated)
        self._previewed_pages: dict[tuple, bytes] = {}  # the live preview's rendered pages, by what they are made of
        self.chart_cache: dict = {}

    # --- the site source ----------------------------------------------------------------------

    def render(self, strict: bool = False, serve: bool = False) -> list[str]:
        """Validate, analyse and write the site source into the build folder.

        Returns the docs-relative paths of the pages made from authored files (sanitised
        after the build). With ``serve``, files with errors are left out (drafts are shown);
        otherwise an error (or, with ``strict``, a warning) raises :class:`BuildError`.
        """
        from .output import summary_line
        from .validate import validate

        result = validate([self.docs], self.settings)
        for problem in result.problems:
            _log("WARNING" if problem.level == "warning" else "ERROR", _one_line(problem))
        failed = result.errors or (strict and result.warnings)
        if failed and not serve:
            raise BuildError(f"post-mortems: {summary_line(result)}; run 'pmkb validate' for details")
        bad = {p.path for p in result.problems if p.level == "error"}
        postmortems = [pm for pm in result.postmortems if not serve or self._display(pm.path) not in bad]
        default_visibility = self.settings.default_visibility
        postmortems, withheld = for_audience(postmortems, self.settings.audience, default_visibility)
        if self.settings.audience == "public":
            _log("INFO", f"public site: {len(withheld)} internal post-mortem(s) left out, {len(postmortems)} shown")
        left_out = withheld_attachments(withheld, postmortems)
        published = [pm for pm in postmortems if pm.status != "draft"]
        drafts = [pm for pm in postmortems if pm.status == "draft"] if serve else []
        options = site_options(self.settings, postmortems, published,
                               site_name=str(self.config.get("site_name") or "Post-mortems"),
                               use_directory_urls=self.use_directory_urls, site_url=self.config.get("site_url") or None,
                               links_from_source=True,
                               footnotes=footnotes_marker(self.config.get("markdown_extensions") or []))

        def render():
            messages: list[tuple[str, str]] = []
            analysis = self._analyse(published, messages)
            draft_related = {}
            if drafts:
                everything = self._analyse(published + drafts, messages)
                draft_related = {pm.id: everything.related.get(pm.id, []) for pm in drafts}
            try:
                return render_site(published, analysis, options, drafts, draft_related, self.chart_cache,
                                   Cache(self.settings.cache_path())), messages
            except ValueError as exc:
                raise BuildError(str(exc)) from exc

        source, messages, _ = site_cache.cached_site(
            Cache(self.settings.cache_path()),
            site_cache.site_key(published, drafts, self.settings, options, "zensical"), render)
        for level, message in messages:
            _log(level.upper(), message)

        files: dict[str, bytes] = {}
        authored: list[str] = []
        self.generated_blocks = {}
        broken: dict[str, int] = {}
        skipped_postmortems = {pm.path for pm in result.postmortems} - set(source.postmortems)
        for path in sorted(self._docs_files()):
            if path in source.postmortems or path in left_out:
                continue
            with_errors = path.endswith(".md") and self._bad(path, bad)
            # a post-mortem with an error was loaded but left out: under serve its page shows why
            if path in skipped_postmortems and not (serve and with_errors):
                continue
            reason = publish_refusal(self.docs, path, self.settings)
            if reason is not None:
                _log("INFO", f"{path} is not published: {reason}")
                continue
            if with_errors:
                if serve:  # the preview shows the file's problems at its own address
                    from .error_page import error_page

                    shown = self._display(path)
                    problems = [p for p in result.problems if p.path == shown]
                    broken[path] = sum(p.level == "error" for p in problems)
                    files[path] = error_page(path, shown, problems, result.redactor.hide).encode("utf-8")
                    authored.append(path)
                continue
            files[path] = (self.docs / path).read_bytes()
            if path.endswith(".md"):
                authored.append(path)
                if serve:
                    files[path] = self._previewed_file(files[path])
        if broken and HOME in source.pages:
            from .error_page import error_banner, with_banner

            here = Links(self.use_directory_urls, from_source=True).at(HOME)
            source.pages[HOME] = with_banner(source.pages[HOME], error_banner(
                {path: self._display(path) for path in broken}, broken, here.a))
        homes = {p[: -len("README.md")] + "index.md" for p in authored if p == "README.md" or p.endswith("/README.md")}
        for path, markdown in source.pages.items():
            if path in files or path in homes:
                _log("INFO", f"authored page {path if path in files else 'README.md'} is used instead of the "
                             f"generated {source.origin[path]}")
                continue
            if path in source.postmortems:
                raise BuildError(f"post-mortem {path} has the path of a generated page ({source.origin[path]}); "
                                 "rename the post-mortem file")
            if serve:  # the preview serves what the engine writes: everything in place
                files[path] = blocks.unheld(markdown).encode("utf-8")
            else:  # its unsearched tables go into the built page (fill_generated)
                text, held = blocks.hold(markdown)
                files[path] = text.encode("utf-8")
                if held:
                    self.generated_blocks[path] = held
        for path, page in source.postmortems.items():  # a build fills the unsearched blocks in (sanitize_site)
            files[path] = (self._previewed(page.meta, page.markdown, page) if serve
                           else page.source(keep_unsearched=True).encode("utf-8"))
            authored.append(path)
        for path, content in source.files.items():
            if path in files:
                raise BuildError(f"{path} in the docs folder has the path of a generated file; rename or remove it")
            files[path] = content
        self._check_destinations(files)
        nav = self.config.get("nav")
        if nav is None:
            nav = [item for item in source.nav if next(iter(item.values())) in files]
        else:  # a configured nav gets the reports and "Have we seen this?" when it lacks them
            nav = list(nav) + [item for item in source.nav_appended
                               if next(iter(item.values())) in files
                               and not any(next(iter(item.values())) in str(entry) for entry in nav)]
        self._write(files, nav)
        self.authored_pages = authored
        self.postmortem_pages = {path: (page.marks, page.blocks) for path, page in source.postmortems.items()}
        return authored

    # --- the live preview's pages -------------------------------------------------------------

    def _previewed(self, meta: dict, markdown: str, page=None) -> bytes:
        """A page for the live preview, as the build publishes it: its Markdown rendered with
        the project's extensions (Python-Markdown, as Zensical renders) and sanitised
        (:func:`generator.sanitize.sanitize_postmortem_page` for a post-mortem ``page``, which
        also puts its blocks in; :func:`generator.sanitize.sanitize_html` otherwise), written as
        one raw HTML block under ``meta``. The preview has no sanitising step after the engine,
        and the validator reads Markdown as CommonMark, which Python-Markdown does not always
        agree with (an unclosed code fence, a ``<div>`` with blank lines in it): a page the
        validator passes could otherwise run script in the preview. The preview's pages have
        no table of contents of their own (their headings are HTML)."""
        from .sanitize import sanitize_html, sanitize_postmortem_page

        head = "---\n" + json.dumps(meta, ensure_ascii=False, sort_keys=True) + "\n---\n\n"
        key = (head, markdown, tuple(page.blocks) if page is not None else None)  # (the nonce is the body's)
        done = self._previewed_pages.get(key)  # a save renders only the pages it changed
        if done is not None:
            return done
        renderer = self._preview_markdown()
        renderer.reset()
        html = renderer.convert(markdown)
        html = sanitize_postmortem_page(html, page.marks, page.blocks) if page is not None else sanitize_html(html)
        done = (head + '<div class="pmkb-preview">\n' + html + "\n</div>\n").encode("utf-8")
        if len(self._previewed_pages) > PREVIEW_PAGES_KEPT:  # mostly pages of earlier saves by now
            self._previewed_pages.clear()
        self._previewed_pages[key] = done
        return done

    def _previewed_file(self, data: bytes) -> bytes:
        """:meth:`_previewed` for an authored page other than a post-mortem (its bytes)."""
        import frontmatter

        text = data.decode("utf-8", errors="replace")
        try:
            post = frontmatter.loads(text)
            meta, body = dict(post.metadata), post.content
        except Exception:  # noqa: BLE001 - front matter the engine would not read either: all of it is the body
            meta, body = {}, text
        return self._previewed(json.loads(json.dumps(meta, default=str)), body)

    def _preview_markdown(self):
        """One Python-Markdown with the extensions Zensical gets (:func:`engine_config`);
        an extension that does not load is left out, with a warning."""
        cached = getattr(self, "_markdown", None)
        if cached is not None:
            return cached
        self._markdown, left_out = python_markdown(
            extension_entries(engine_config(self.config, "docs", "site")["markdown_extensions"]))
        for name, exc in left_out:  # the engine reports its own extensions
            _log("WARNING", f"live preview: markdown extension {name} left out ({exc})")
        return self._markdown

    def _display(self, path: str) -> str:
        from .validate import display_path

        return display_path(self.docs / path)

    def _bad(self, path: str, bad: set[str]) -> bool:
        return self._display(path) in bad

    def _docs_files(self) -> list[str]:
        out = []
        for folder, dirs, names in os.walk(self.docs):  # symlinked folders are not followed
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in names:
                if not name.startswith("."):
                    out.append((Path(folder) / name).relative_to(self.docs).as_posix())
        return out

    def _check_destinations(self, files: dict[str, bytes]) -> None:
        seen: dict[str, str] = {}
        ln = Links(self.use_directory_urls)
        for path in files:
            url = ln.url(path)
            other = seen.setdefault(url, path)
            if other != path:
                raise BuildError(f"{other} and {path} would both be written to {url or 'index.html'}; rename one of them")

    def _analyse(self, postmortems, messages: list[tuple[str, str]]) -> Analysis:
        """Related links and clusters of ``postmortems`` (:func:`generator.analysis.analyse`,
        through the cache folder); what the user is told is appended to ``messages`` as
        ``(level, text)``."""
        try:
            analysis = analyse(list(postmortems), self.settings, cache=Cache(self.settings.cache_path()))
        except ImportError as exc:
            messages.append(("warning", f"related incidents and clusters are unavailable: {exc}"))
            return Analysis(postmortems=list(postmortems))
        messages.extend(("info", message) for message in analysis.warnings)
        return analysis

    def _write(self, files: dict[str, bytes], nav) -> None:
        """Write ``files`` into the build folder's ``docs/`` (unchanged files are left alone, so
        the engine's cache and live reload see only what changed) and the engine's config.

        Never through a symbolic link: the folders from the project's folder down to every file
        written must be real folders, and the first write of a project checks that no link is
        anywhere in the build folder (``docs/``, the engine's ``.cache/`` and ``site/``): a
        committed ``docs`` linked to ``postmortems/`` would have every post-mortem overwritten.
        A link is refused, before anything is deleted or written (:meth:`_refuse_link`), rather
        than removed: the build folder is the adapter's own, so a link in it was put there by
        someone, and the build says so instead of undoing it silently. Stale files are removed
        from ``docs/`` only when they are regular files (a walk that follows no link).

        Raises:
            BuildError: a symbolic link in or above the build folder, or a file cannot be written.
        """
        from .confine import SymlinkRefused, links_below, make_dirs, scan, write_file
        from .inventory import read_regular

        docs = self.build / "docs"
        try:
            make_dirs(docs, self._build_root)
            if not self._build_checked:
                link = next(iter(links_below(self.build)), None)
                if link is not None:
                    raise SymlinkRefused(link)
                self._build_checked = True
            regular, links = scan(docs)  # (links are not followed)
            if links:
                raise SymlinkRefused(links[0])
            existing = set(regular)
            for stale in sorted(existing - set(files)):
                os.unlink(docs / stale)
            made = {docs}
            for path, content in files.items():
                target = docs / path
                if target.parent not in made:
                    make_dirs(target.parent, docs)
                    made.add(target.parent)
                if path in existing and read_regular(target) == content:
                    continue
                write_file(target, content)
            config = engine_config(self.config, "docs", "site")
            config["nav"] = nav
            data = yaml.safe_dump(config, sort_keys=False, allow_unicode=True).encode("utf-8")
            target = self.build / "mkdocs.yml"
            try:
                unchanged = read_regular(target) == data
            except FileNotFoundError:
                unchanged = False
            if not unchanged:
                write_file(target, data)
        except SymlinkRefused as exc:
            raise BuildError(self._refuse_link(exc.path)) from None
        except OSError as exc:
            raise BuildError(f"cannot write the site source into the build folder {self.build}: {exc}") from exc

    @staticmethod
    def _refuse_link(link: Path) -> str:
        """The message for a symbolic link in (or above) the build folder."""
        return (f"{link}: a symbolic link in the build folder, which the build never follows: remove the "
                f"symbolic link {link}; the build folder is the adapter's own")

    def check_site(self) -> None:
        """Refuse, before anything is deleted, a ``site_dir`` that is a symbolic link, is below
        one inside the project, or holds one (:func:`generator.confine.site_refusal`): the build
        empties ``site_dir`` and writes into it, which through a link would happen wherever it
        points.

        Raises:
            BuildError: naming the link."""
        from .confine import site_refusal

        reason = site_refusal(self.site, self.root)
        if reason is not None:
            raise BuildError(reason)

    # --- the engine ---------------------------------------------------------------------------

    def _engine(self, command: str, *args: str, **kwargs) -> subprocess.Popen:
        env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
        return subprocess.Popen([sys.executable, "-m", "zensical", command, "-f", str(self.build / "mkdocs.yml"),
                                 *args], cwd=self.build, env=env, **kwargs)

    def run_build(self, strict: bool = False) -> None:
        """``zensical build`` on the build folder, then the site moved to ``site_dir`` and sanitised.

        Raises:
            BuildError: the engine failed (its exit status in the message).
        """
        from .confine import first_link, make_dirs

        self.check_site()
        built = self.build / "site"
        link = first_link(built, self._build_root)
        if link is not None:
            raise BuildError(self._refuse_link(link))
        if built.exists():
            shutil.rmtree(built)  # (a real folder: rmtree removes the links inside, never follows them)
        engine = self._engine("build", *(["--strict"] if strict else []))
        try:
            code = engine.wait()
        finally:
            if engine.poll() is None:
                engine.terminate()
                engine.wait()
        if code != 0:
            raise BuildError(f"zensical build failed (exit status {code})")
        sanitize_site(built, self.authored_pages, self.use_directory_urls, self.postmortem_pages)
        fill_generated(built, self.generated_blocks, self.use_directory_urls)
        self.check_site()  # (again, just before: the engine ran meanwhile)
        try:
            if is_inside(self.site, self.root):
                make_dirs(self.site.parent, self.root)
            else:  # a folder the user named elsewhere: theirs, as it is
                self.site.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BuildError(f"site_dir {self.site}: cannot make its folder: {exc}") from exc
        staging = Path(tempfile.mkdtemp(prefix=".pmkb-site-", dir=self.site.parent))
        try:
            shutil.move(str(built), staging / "site")
            if self.site.exists():
                shutil.rmtree(self.site)  # (a real folder, checked: never a link's target)
            os.replace(staging / "site", self.site)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def serve(self, address: str | None = None, poll: float = 0.25) -> int:
        """``zensical serve`` on the build folder; re-render when a file of the docs folder changes.
        Runs until interrupted; the engine never outlives it."""
        self.render(serve=True)
        engine = self._engine("serve", *(["--dev-addr", address] if address else []))
        seen = self._fingerprint()
        try:
            while engine.poll() is None:
                time.sleep(poll)
                now = self._fingerprint()
                if now != seen:
                    seen = now
                    try:
                        self.render(serve=True)
                        _log("INFO", "post-mortems changed: site source written again")
                    except BuildError as exc:
                        _log("ERROR", str(exc))
            return engine.returncode or 0
        except KeyboardInterrupt:
            return 0
        finally:
            if engine.poll() is None:
                engine.terminate()
                try:
                    engine.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    engine.kill()
                    engine.wait()

    def _fingerprint(self) -> tuple:
        out = []
        for path in self._docs_files():
            try:
                stat = (self.docs / path).lstat()
            except OSError:
                continue
            out.append((path, stat.st_mtime_ns, stat.st_size))
        return tuple(out)


_RELATIVE_HREF = re.compile(r'href="(?:\./)?(?![#/]|[A-Za-z][A-Za-z0-9+.\-]*:)')


def page_relative_urls(html: str, path: str, use_directory_urls: bool) -> str:
    """Our HTML ``html`` for the page of source file ``path`` (docs-relative), its relative
    ``href`` values (written relative to the source file's folder, as Zensical reads raw HTML,
    :class:`generator.markup.Links` ``from_source``) rewritten as Zensical rewrites them: relative
    to the page's URL. Only a page that is not an ``index.md``/``README.md`` with directory URLs
    lives one folder deeper than its file (``a/b.md`` -> ``a/b/``); the others are unchanged.
    For the blocks the adapter puts into built pages (:func:`sanitize_site`)."""
    if not use_directory_urls or path.rsplit("/", 1)[-1] in ("index.md", "README.md"):
        return html
    return _RELATIVE_HREF.sub('href="../', html)


_SEARCH_ATTRIBUTE = re.compile(r'\s?data-search-\w+(?:="[^"]*")?')


def as_zensical_writes(html: str, path: str, use_directory_urls: bool) -> str:
    """One of our blocks as Zensical would have written it in the page of ``path``: the URLs
    of :func:`page_relative_urls`, and no ``data-search-*`` attributes (read by its search,
    then dropped from the page)."""
    return page_relative_urls(_SEARCH_ATTRIBUTE.sub("", html), path, use_directory_urls)


def _built_page(site: Path, ln: Links, path: str) -> Path:
    """The HTML file of docs-relative source ``path`` in the built ``site``."""
    url = ln.url(path)
    return site / (url + "index.html" if url.endswith("/") or url == "" else url)


def fill_generated(site: Path, held: Mapping[str, list[str]], use_directory_urls: bool) -> None:
    """Put, in the built ``site``, the tables of each generated page (docs-relative path ->
    the blocks :func:`generator.blocks.hold` took out of its Markdown) in place of their marks,
    as Zensical would have written them (:func:`as_zensical_writes`); they are kept out of the
    search index, so its index is the same as with the tables in the Markdown."""
    ln = Links(use_directory_urls)
    for path, tables in held.items():
        target = _built_page(site, ln, path)
        if not target.is_file():
            continue
        written = [as_zensical_writes(table, path, use_directory_urls) for table in tables]
        text = target.read_text(encoding="utf-8")
        filled = sanitize_article(text, lambda article: blocks.GENERATED.fill(article, written))
        if filled != text:
            target.write_text(filled, encoding="utf-8")


def sanitize_site(site: Path, authored: list[str], use_directory_urls: bool,
                  postmortems: Mapping[str, tuple] | None = None) -> None:
    """Sanitise, in the built ``site``, the article of every page made from an authored file
    (docs-relative ``authored`` paths) and the search-index text of those pages; the articles of
    the ``postmortems`` pages (docs-relative path -> the page's marks and HTML blocks,
    :attr:`generator.pages.PostmortemPage.marks`, ``.blocks``) keep the knowledge base's own additions and
    get the blocks the engine saw as marks (:func:`generator.sanitize.sanitize_postmortem_page`)."""
    from .sanitize import sanitize_html, sanitize_postmortem_page

    ln = Links(use_directory_urls)
    locations = set()
    for path in authored:
        url = ln.url(path)
        locations.add(url)
        target = _built_page(site, ln, path)
        if target.is_file():
            text = target.read_text(encoding="utf-8")
            ours = (postmortems or {}).get(path)
            if ours is None:
                clean = sanitize_article(text, lambda article: sanitize_html(without_tags_nav(article)))
            else:
                marks, written = ours[0], [as_zensical_writes(block, path, use_directory_urls) for block in ours[1]]
                clean = sanitize_article(text, lambda article: sanitize_postmortem_page(without_tags_nav(article), marks,
                                                                                          written))
            if clean != text:
                target.write_text(clean, encoding="utf-8")
    index_path, key = SEARCH_INDEX["zensical"]
    index_file = site / index_path
    if index_file.is_file():
        index = json.loads(index_file.read_text(encoding="utf-8"))
        changed = False
        for item in index.get(key, []):
            if item.get("location", "").split("#", 1)[0] in locations:
                for field in ("title", "text"):
                    if isinstance(item.get(field), str):
                        clean = sanitize_html(item[field])
                        changed |= clean != item[field]
                        item[field] = clean
        if changed:
            index_file.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def build(config_file: Path, strict: bool = False, build_dir: Path | None = None) -> Project:
    """Build the site with Zensical (validate, render, ``zensical build``, sanitise, move to ``site_dir``).

    Raises:
        BuildError: validation errors (or warnings with ``strict``), a generated-page
            collision, a symbolic link in the build folder or as (or in) ``site_dir``
            (:meth:`Project.check_site`), or the engine failed.
    """
    project = Project(config_file, build_dir)
    project.check_site()  # before anything is written or deleted
    project.render(strict=strict)
    project.run_build(strict=False)
    return project
