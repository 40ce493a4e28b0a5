"""End to end: the shipped site in a real headless Chromium (Debian's ``chromium``, Playwright).

Types a search query (Material's search reacts to key events, not to a value set from a
script), opens the result, follows a Related incidents link and checks the page that arrives.
The offline build is opened from disk (``file://``) and searched the same way.

Skipped when ``/usr/bin/chromium`` is missing, unless ``PMKB_REQUIRE_BROWSER=1`` (set by
``.ci/run``), where a missing browser is a failure. ``PMKB_SCREENSHOTS=DIR`` saves
screenshots of the home page, a post-mortem page and the search results into DIR.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
from urllib.parse import urljoin, urlsplit
from pathlib import Path

import pytest

from tests.sitebuild import ENGINES, engine_available, shipped_site

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
QUERY = "wraparound"
EXPECTED_HIT = "PM-2019-001"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("PMKB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and PMKB_REQUIRE_BROWSER=1: install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module", params=ENGINES)
def served(request):
    """The shipped site (built by each engine) over http.server on localhost, in a thread."""
    if not engine_available(request.param):
        pytest.skip("the [zensical] extra is not installed")
    root = shipped_site(offline=False, engine=request.param)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", root
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def _shot(page, name: str) -> None:
    folder = os.environ.get("PMKB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=name != "search")


def _watch_external(page, base: str) -> list[str]:
    """Requests to anything but the site itself (there must be none)."""
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:", "about:"))
            else outside.append(r.url))
    return outside


RESULTS = {"mkdocs": ".md-search-result__item a", "zensical": "dialog ol li a"}
"""A search result's link: Material's result list, or Zensical's search dialog (in a shadow root,
which Playwright's CSS locators enter)."""


def _search(page, query: str):
    """Open the theme's search, type ``query`` key by key (the search reacts to key events, not
    to a value set from a script); wait for results and return the engine's result selector."""
    if page.locator(".md-search__input").count():
        page.click(".md-search__input")
        engine = "mkdocs"
    else:
        page.click(".md-search__button")
        engine = "zensical"
    page.keyboard.type(query, delay=40)
    page.wait_for_selector(RESULTS[engine], timeout=15000)
    return RESULTS[engine]


def test_search_open_result_follow_related(browser, served):
    base, root = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside = _watch_external(page, base)
    page.goto(base)
    assert page.locator("label.pmkb-hero__search").is_visible()
    _shot(page, "home")

    results = _search(page, QUERY)
    _shot(page, "search")
    first = page.locator(results).first
    assert EXPECTED_HIT in first.inner_text()
    first.click()
    page.wait_for_selector(".pmkb-card")
    assert EXPECTED_HIT in page.locator(".pmkb-card__id").inner_text()
    assert "wraparound" in page.locator("h1").inner_text().lower()
    _shot(page, "postmortem")

    related = page.locator(".pmkb-related li > a").first
    title = related.inner_text()
    expected_url = urljoin(page.url, related.get_attribute("href"))
    related.click()
    page.wait_for_function("(t) => document.querySelector('h1') && document.querySelector('h1').innerText === t",
                           arg=title, timeout=10000)
    assert page.url == expected_url
    exported = json.loads((root / "api" / "postmortems.json").read_text(encoding="utf-8"))
    arrived = page.locator(".pmkb-card__id").inner_text()
    source = next(p for p in exported["postmortems"] if p["id"] == EXPECTED_HIT)
    assert arrived in {r["id"] for r in source["related"]}
    assert page.locator(".pmkb-card").is_visible() and page.locator("#related-incidents").is_visible()
    assert outside == []
    page.close()


def test_home_search_prompt_opens_the_search(browser, served):
    base, _ = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base)
    results = _search(page, "edge-proxy")
    assert page.locator(results).count() >= 1
    page.keyboard.press("Escape")
    page.click("label.pmkb-hero__search")   # the home page's prompt opens the search too
    page.wait_for_timeout(300)
    assert page.locator(".md-search__input, dialog[open]").count() >= 1
    page.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_offline_build_searches_from_disk(browser, engine):
    if not engine_available(engine):
        pytest.skip("the [zensical] extra is not installed")
    root = shipped_site(offline=True, engine=engine)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside = _watch_external(page, "file://")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((root / "index.html").as_uri())
    first = page.locator(_search(page, QUERY)).first
    assert EXPECTED_HIT in first.inner_text()
    first.click()
    page.wait_for_selector(".pmkb-card")
    assert page.url.startswith("file://") and urlsplit(page.url).path.endswith(".html")
    assert EXPECTED_HIT in page.locator(".pmkb-card__id").inner_text()
    assert outside == [] and errors == []
    page.close()
