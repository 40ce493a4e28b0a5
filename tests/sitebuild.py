"""Helpers for the site tests: real MkDocs builds in temporary folders, and HTML checks.

Builds run ``python -m mkdocs build`` in a subprocess (the command users run), with the
repository's own ``mkdocs.yml`` copied next to a copy of the corpus, so the tests exercise
the shipped configuration. The shipped site is built at most once per test session.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_CORPUS = ROOT / "tests" / "fixtures" / "site" / "postmortems"
SHIPPED_CONFIG = ROOT / "mkdocs.yml"
PLUGIN_ENTRY = "  - postmortems:\n      broken_links: error\n"


def make_project(folder: Path, corpus: Path = FIXTURE_CORPUS, plugin_options: str = "",
                 files: dict[str, str] | None = None) -> Path:
    """Lay out ``folder/mkdocs.yml`` (the shipped one) and ``folder/postmortems/`` (a copy of ``corpus``).

    ``plugin_options`` are extra YAML lines under the ``postmortems`` plugin (indented six
    spaces); ``files`` are extra files written into the docs folder.
    """
    config = SHIPPED_CONFIG.read_text(encoding="utf-8")
    assert PLUGIN_ENTRY in config, "the shipped mkdocs.yml changed its postmortems entry"
    config = config.replace(PLUGIN_ENTRY, PLUGIN_ENTRY + plugin_options)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mkdocs.yml").write_text(config, encoding="utf-8")
    shutil.copytree(corpus, folder / "postmortems")
    for name, content in (files or {}).items():
        path = folder / "postmortems" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return folder


ENGINES = ("mkdocs", "zensical")


def engine_available(engine: str) -> bool:
    """MkDocs always; Zensical when the ``[zensical]`` extra is installed."""
    import importlib.util

    return engine == "mkdocs" or importlib.util.find_spec("zensical") is not None


def run_build(project: Path, site_dir: Path, *, strict: bool = True, offline: bool = False,
              timeout: int = 300, engine: str = "mkdocs", env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``mkdocs build [--strict] -d site_dir`` in ``project`` (or ``pmkb build --engine
    zensical``, whose site goes to ``mkdocs.yml``'s ``site_dir``, then moved to ``site_dir``);
    ``env`` is added to the environment (``SOURCE_DATE_EPOCH`` is removed unless given there);
    returns the finished process."""
    given = env or {}
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OFFLINE": "true" if offline else "false"}
    env.pop("SOURCE_DATE_EPOCH", None)
    env.update(given)
    if engine == "zensical":
        cmd = [sys.executable, "-c", "from generator.cli import main; main()", "build", "--engine", "zensical"] + (["--strict"] if strict else [])
        done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
        built = project / "site"
        if done.returncode == 0 and built.resolve() != site_dir.resolve():
            if site_dir.exists():
                shutil.rmtree(site_dir)
            shutil.move(str(built), site_dir)
        return done
    cmd = [sys.executable, "-m", "mkdocs", "build", "-d", str(site_dir)] + (["--strict"] if strict else [])
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)


@functools.lru_cache(maxsize=None)
def shipped_site(offline: bool = False, engine: str = "mkdocs") -> Path:
    """Build the repository's ``postmortems/`` with its ``mkdocs.yml`` (strict), once per
    session and engine (Zensical's in a copy of the project: it writes beside mkdocs.yml).

    Raises:
        AssertionError: the build failed (its log is in the message).
    """
    folder = Path(tempfile.mkdtemp(prefix="pmkb-site-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # shared by the session's tests, then removed
    out = folder / "site"
    project = ROOT if engine == "mkdocs" else make_project(folder / "project", ROOT / "postmortems")
    if project != ROOT and (ROOT / "problems.yml").is_file():
        shutil.copy(ROOT / "problems.yml", project / "problems.yml")  # the shipped problem names, beside mkdocs.yml
    done = run_build(project, out, offline=offline, engine=engine)
    assert done.returncode == 0, f"{engine} build --strict of the shipped site failed:\n{done.stderr}"
    return out


def search_docs(site: Path) -> list[dict]:
    """The search index entries of a built site (Material's ``search/search_index.json`` or
    Zensical's ``search.json``): ``[{"location", "title", "text", ...}]``."""
    for name, key in (("search/search_index.json", "docs"), ("search.json", "items")):
        if (site / name).is_file():
            return json.loads((site / name).read_text(encoding="utf-8"))[key]
    raise AssertionError(f"no search index in {site}")


# --- serving on localhost --------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    not_found: str | None = None   # a page of the folder sent with every 404, as static hosts do

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / self.not_found if self.not_found else None
        if code != 404 or page is None or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404, message)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@contextlib.contextmanager
def serve_folder(root: Path, not_found: str | None = None):
    """``root`` over ``http.server`` on 127.0.0.1 (a free port), in a thread; yields the base
    URL (``http://127.0.0.1:PORT/``). The folder is read per request: it may be built after
    the server starts (a site whose ``site_url`` is that base). ``not_found``: a page of the
    folder (``404.html``) sent with the status 404 for a path that is not there, as GitHub
    Pages and most static hosts do (default: http.server's own error page)."""
    handler = functools.partial(type("_Handler", (_QuietHandler,), {"not_found": not_found}), directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server started later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str | None:
    """The body of ``url`` as text, or ``None`` when it cannot be fetched (yet)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8", "replace")
    except OSError:
        return None


# --- HTML checks ----------------------------------------------------------------------------


class _Collector(HTMLParser):
    """Collects ids and the URLs of links, scripts, stylesheets and images of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, url)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) is not None:
                self.links.append((tag, key, attrs[key]))


@functools.lru_cache(maxsize=4096)
def parse_page(path: Path) -> _Collector:
    """Ids and links of the HTML file at ``path``."""
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


def _target_file(site: Path, page: Path, url: str) -> tuple[Path | None, str]:
    parts = urlsplit(url)
    base = "file:///" + page.relative_to(site).as_posix()
    resolved = urlsplit(urljoin(base, parts.path)).path if parts.path else "/" + page.relative_to(site).as_posix()
    target = site / unquote(resolved.lstrip("/"))
    if resolved.endswith("/") or target.is_dir():
        target = target / "index.html"
    return (target if target.is_file() else None), parts.fragment


def broken_links(site: Path) -> list[str]:
    """Every internal ``href``/``src`` in every HTML page of ``site`` that does not resolve.

    An internal URL must name a file that exists (``dir/`` means ``dir/index.html``); a
    fragment must name an id on the target page when the target is HTML. Search-index
    locations are checked the same way. Returns ``"page: url"`` strings.
    """
    problems = []
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        for tag, _, url in parse_page(page).links:
            if not url or urlsplit(url).scheme or url.startswith("//"):
                continue
            target, fragment = _target_file(site, page, url)
            if target is None:
                problems.append(f"{page.relative_to(site)}: {url}")
            elif fragment and target.suffix == ".html" and tag == "a" and not fragment.startswith("__"):
                if unquote(fragment) not in parse_page(target).ids:
                    problems.append(f"{page.relative_to(site)}: {url} (no id {fragment!r})")
    if (site / "search" / "search_index.json").is_file() or (site / "search.json").is_file():
        root = site / "index.html"
        for doc in search_docs(site):
            target, _ = _target_file(site, root, doc["location"] or "./")
            if target is None:
                problems.append(f"search index: {doc['location']}")
    return problems


_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])(https?:)?//""", re.I)


def external_assets(site: Path) -> list[str]:
    """Scripts, stylesheets, fonts, images and frames that a page would load from another host."""
    found = []
    for page in sorted(site.rglob("*.html")):
        for tag, key, url in parse_page(page).links:
            external = urlsplit(url).scheme in ("http", "https") or url.startswith("//")
            if external and (tag in ("script", "img", "iframe", "link", "source", "video", "audio") or key == "src"):
                found.append(f"{page.relative_to(site)}: <{tag} {key}={url}>")
        text = page.read_text(encoding="utf-8")
        if _CSS_URL.search(text):
            found.append(f"{page.relative_to(site)}: external url() in inline style")
    for css in sorted(site.rglob("*.css")):
        if _CSS_URL.search(css.read_text(encoding="utf-8")):
            found.append(f"{css.relative_to(site)}: external url()")
    return found
