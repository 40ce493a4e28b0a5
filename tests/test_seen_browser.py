""""Have we seen this?" in a real headless Chromium: the same answers as ``pmkb similar --text``.

The site is built (both engines) from the shipped post-mortems plus ``tests/fixtures/seen/``
(Japanese, Chinese, Korean, Thai and identifier-heavy incidents); each query is typed into
the page and its results (ids, order, scores, shared terms) are compared with what
``pmkb similar --text QUERY --semantic off --format json`` prints for the same files, and with the scores
of :meth:`SimilarityIndex.similar_to` to 9 decimals. The tokenizer is compared with
Python's on strings built to break it. Then what a responder does: keyboard only, a ``?q=``
link, instant navigation (the model loads once), the offline build from ``file://``, 390 px.

Skipped without ``/usr/bin/chromium`` unless ``PMKB_REQUIRE_BROWSER=1``; ``PMKB_SCREENSHOTS=DIR``
saves screenshots (1280 and 390 px).
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.sitebuild import ENGINES, ROOT, engine_available, make_project, run_build, serve_folder
from tests.test_e2e_browser import _shot, _watch_external, browser, open_offline  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIXTURE = ROOT / "tests" / "fixtures" / "seen"

SYMPTOMS = [
    # (what a responder pastes, the incident that must come first)
    ("Windows hosts blue screen BSOD in a boot loop after the endpoint sensor channel file update", "PM-2024-002"),
    ("BGP route leak: more-specific prefixes announced by a transit provider, traffic to our edge blackholed",
     "PM-2019-005"),
    ("502 Bad Gateway on every edge location, CPU pegged at 100% right after a WAF rule deploy", "PM-2019-006"),
    ("x509: certificate has expired or is not yet valid; TLS handshake failures from partner clients on old Android",
     "PM-2021-005"),
    ("coredns panics on CNAME lookups, leap second clock went backwards", "PM-2017-001"),
    ("証明書の期限切れ TLSハンドシェイク失敗", "PM-2024-901"),
    ("磁盘写满 日志轮转失败", "PM-2024-902"),
    ("DNS 레코드 삭제 NXDOMAIN 로그인 실패", "PM-2024-903"),
    ("Redis ERR max number of clients reached 接続プール", "PM-2024-905"),
    ("ใบรับรองหมดอายุ แอปเชื่อมต่อไม่ได้", "PM-2024-906"),
    ("pods OOMKilled CrashLoopBackOff after max_poll_records change", "PM-2024-904"),
]
OTHER_QUERIES = [
    "ERR_CONNECTION_RESET at the edge in us-east-1",
    "ＴＬＳ　証明書　期限切れ",                      # full-width: NFKC
    "PG::NumericValueOutOfRange: ERROR: integer out of range for column id (int4), inserts failing",
    "ERROR: database is not accepting commands to avoid wraparound data loss in database \"postgres\"",
    "see https://status.example.com/incidents/42 and <b>[runbook](http://wiki/x)</b> <!-- hint --> DNS",
    "Certificates EXPIRED; retries, caches, replicas and statuses",   # plurals, upper case
    "the and of",                                                       # stop words only: nothing
    "zzzqqq",                                                            # unknown word: nothing
]


@functools.lru_cache(maxsize=None)
def _project() -> Path:
    """A project: the shipped mkdocs.yml over the shipped post-mortems plus the fixtures."""
    folder = Path(tempfile.mkdtemp(prefix="pmkb-seen-"))
    import atexit

    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    project = make_project(folder / "project", ROOT / "postmortems")
    for file in FIXTURE.glob("*.md"):
        shutil.copy(file, project / "postmortems" / file.name)
    return project


def _build(engine: str, site_url: str) -> Path:
    """The fixture project built by ``engine`` with ``site_url``, in a copy of its own.

    Material's instant navigation only follows links found in the sitemap, whose URLs come
    from ``site_url`` (without it the sitemap is empty and every click reloads the page), so
    the site is built for the address it is served from."""
    project = _project().parent / f"project-{engine}"
    shutil.copytree(_project(), project)
    config = project / "mkdocs.yml"
    config.write_text(f"site_url: {site_url}\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    out = project.parent / f"site-{engine}"
    done = run_build(project, out, engine=engine)
    assert done.returncode == 0, f"{engine} build failed:\n{done.stderr}"
    return out


@pytest.fixture(scope="module", params=ENGINES)
def served(request):
    """The fixture project's site (each engine) over http.server on localhost."""
    if not engine_available(request.param):
        pytest.skip("the [zensical] extra is not installed")
    with serve_folder(_project().parent / f"site-{request.param}") as base:
        _build(request.param, base)  # its site_url is the served base
        yield base, request.param


@functools.lru_cache(maxsize=None)
def _cli(query: str) -> dict:
    """``pmkb -f <project>/mkdocs.yml similar --text QUERY --semantic off --format json`` (the
    page scores with TF-IDF alone: the [semantic] extra's sentence model does not run in it)."""
    from click.testing import CliRunner

    from generator.cli import cli

    done = CliRunner().invoke(cli, ["-f", str(_project() / "mkdocs.yml"), "similar", "--text", query,
                                    "--semantic", "off", "--format", "json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


@functools.lru_cache(maxsize=1)
def _index():
    from generator.analysis import published
    from generator.settings import load_settings
    from generator.similarity import SimilarityIndex
    from generator.validate import validate

    settings = load_settings(_project() / "mkdocs.yml")
    return SimilarityIndex.build(published(validate([settings.docs_dir], settings).postmortems), settings)


def _open(browser, url: str, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("#pmkb-seen[data-state=ready]", timeout=30000)
    return page, errors


def _theme_search_open(page) -> bool:
    return page.evaluate("!!(document.getElementById('__search') && document.getElementById('__search').checked)")


def _ask(page, query: str) -> list[dict]:
    """Put ``query`` in the box, press Enter, and read the results the page shows."""
    page.fill("#pmkb-seen-q", query)
    page.press("#pmkb-seen-q", "Enter")
    page.wait_for_function("(q) => document.getElementById('pmkb-seen').dataset.query === q", arg=query)
    return _shown(page)


def _shown(page) -> list[dict]:
    return page.eval_on_selector_all("#pmkb-seen-results li", """els => els.map(e => ({
        id: e.dataset.id, score: Number(e.dataset.score),
        shown: e.querySelector('.pmkb-seen__score').textContent,
        terms: e.querySelector('.pmkb-seen__shared') ? e.querySelector('.pmkb-seen__shared').textContent : '',
        href: e.querySelector('a.pmkb-seen__title').href,
        cluster: e.querySelector('.pmkb-seen__cluster').textContent }))""")


def test_the_browser_answers_as_pmkb_similar_text(browser, served):
    base, engine = served
    page, errors = _open(browser, base + "have-we-seen-this/")
    index = _index()
    by_id = {pm.id: pm for pm in index.postmortems}
    for query, first in SYMPTOMS + [(q, None) for q in OTHER_QUERIES]:
        shown = _ask(page, query)
        cli = _cli(query)["similar"]
        assert [r["id"] for r in shown] == [r["id"] for r in cli], query
        assert [r["shown"] for r in shown] == [f"{r['score']:.3f}" for r in cli], query
        assert [r["terms"] for r in shown] == [", ".join(r["terms"]) for r in cli], query
        python = index.similar_to(query)
        assert [r["score"] for r in shown] == [link.score for link in python], query  # all 9 decimals
        if first:
            assert shown and shown[0]["id"] == first, query
        for r in shown:  # each result links to its page
            assert r["href"].startswith(base) and by_id[r["id"]].path[:-3] in r["href"]
    assert _ask(page, "the and of") == [] and "No past incident scores" in page.inner_text("#pmkb-seen-status")
    _ask(page, SYMPTOMS[0][0])
    _shot(page, f"seen-1280-{engine}")
    assert errors == []
    page.close()


TOKENIZER_TEXTS = [
    "ERR_TOO_MANY_REDIRECTS max_connections api.v2 edge-proxy us-east-1 KafkaConsumer x86_64",
    "Certificates caches replicas retries statuses redis DNS loss Status",
    "ＦＵＬＬＷＩＤＴＨ ｆｆｉ ﬁle ① ² Ⅻ ℌ",                                # NFKC
    "İstanbul ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ straße ǅemal",                          # lower(): İ, final sigma
    "証明書の期限切れ 日志轮转 레코드삭제 ใบรับรองหมดอายุ ພາສາລາວ ភាសាខ្មែរ မြန်မာ",
    "ａ中b 中 ｶﾀｶﾅ ㈱ 〇一二",
    "see https://x.example/a_b?c=d and www.example.com/x HTTPS://UP.example ſtp://no Ftp://x",
    "<!-- template hint --> <b>bold</b> <a href='x'>link</a> [text](http://t/arget) [a](b) 3<4 a>b",
    "09:12 2024-03-14 1.20 100% 3x 4k v1 1e9 ٣٤ 123abc",
    "a" * 40 + " " + "b" * 41 + " ab i x",
    "tab\tnew\nline\x1cfile\x1dgroup\u00a0nbsp\u2028ls\ufeffbom\u200bzw",
    "emoji 🔥 fire 🇩🇪 flag café naïve resume résumé",
    "the and of incident outage postmortem minutes yesterday",
    "unterminated <!-- comment\nstill comment",
]


def test_the_tokenizer_is_pythons(browser, served):
    base, engine = served
    if engine != "mkdocs":
        pytest.skip("one engine is enough: the script is the same file")
    from generator.similarity import Tokenizer

    page, errors = _open(browser, base + "have-we-seen-this/")
    python = Tokenizer()
    for text in TOKENIZER_TEXTS + [q for q, _ in SYMPTOMS] + OTHER_QUERIES:
        js = dict(page.evaluate("(t) => window.__pmkbSeen.api.terms(t)", text))
        assert js == dict(python.count(text, record=False)), text
    assert errors == []
    page.close()


def test_keyboard_only(browser, served):
    base, engine = served
    page, errors = _open(browser, base + "have-we-seen-this/")
    assert page.evaluate("document.activeElement.id") == "pmkb-seen-q"  # focus on load
    query, first = SYMPTOMS[2]
    page.keyboard.type(query, delay=5)                                   # results as one types
    page.wait_for_function("(q) => document.getElementById('pmkb-seen').dataset.query === q", arg=query)
    ids = [r["id"] for r in _shown(page)]
    assert ids[0] == first and len(ids) == 5
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert page.get_attribute("#pmkb-seen-q", "aria-activedescendant") == "pmkb-seen-r0"
    assert page.get_attribute("#pmkb-seen-r0", "aria-selected") == "true"
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#pmkb-seen-r1", "aria-selected") == "true"
    page.keyboard.press("Escape")
    assert page.get_attribute("#pmkb-seen-q", "aria-activedescendant") is None
    page.keyboard.press("Shift+Enter")                                   # a new line, not a search
    assert page.input_value("#pmkb-seen-q") == query + "\n"
    page.keyboard.press("ArrowDown")                                     # caret on the last line
    page.keyboard.press("Enter")                                         # opens the chosen result
    page.wait_for_selector(".pmkb-card")
    assert page.locator(".pmkb-card__id").inner_text() == first
    assert errors == []
    page.close()


def test_a_link_with_q_reproduces_the_results(browser, served):
    base, engine = served
    page, errors = _open(browser, base + "have-we-seen-this/")
    query = SYMPTOMS[5][0] + " & 100% ?#"
    shown = _ask(page, query)
    link = page.url
    assert "?q=" in link and shown
    page.close()
    again, errors_again = _open(browser, link)
    again.wait_for_function("(q) => document.getElementById('pmkb-seen').dataset.query === q", arg=query)
    assert again.input_value("#pmkb-seen-q") == query and _shown(again) == shown
    again.wait_for_timeout(500)
    assert not _theme_search_open(again)          # Material's own ?q= deep link stays closed
    assert again.url == link and again.evaluate("document.activeElement.id") == "pmkb-seen-q"
    again.close()
    third, _ = _open(browser, base + "have-we-seen-this/?q=" + SYMPTOMS[1][0].replace(" ", "+"))  # a form's '+'
    third.wait_for_function("() => document.querySelectorAll('#pmkb-seen-results li').length > 0")
    assert _shown(third)[0]["id"] == SYMPTOMS[1][1]
    # Finding #11: the address keeps the query once results show. Read it from the page:
    # Playwright's page.url follows history.replaceState a moment later, not at once.
    assert third.evaluate("new URLSearchParams(location.search).get('q')") == SYMPTOMS[1][0]
    third.close()
    assert errors == [] and errors_again == []


def test_the_model_loads_once_across_instant_navigation(browser, served):
    base, engine = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    models: list[str] = []
    page.on("request", lambda r: models.append(r.url) if "seen-model." in r.url else None)
    outside = _watch_external(page, base)
    page.goto(base)
    link = page.locator(".pmkb-hero__seen a")                            # from the home page
    assert link.inner_text() == "Have we seen this?"
    page.evaluate("window.__sameDocument = true")
    link.click()
    page.wait_for_selector("#pmkb-seen[data-state=ready]", timeout=30000)
    instant = page.evaluate("window.__sameDocument === true")            # the theme did not reload
    _ask(page, SYMPTOMS[0][0])
    page.locator("#pmkb-seen-results a.pmkb-seen__title").first.click()  # to an incident ...
    page.wait_for_selector(".pmkb-card")
    nav = page.locator("nav a", has_text="Have we seen this?").first     # ... and back by the nav
    nav.click()
    page.wait_for_selector("#pmkb-seen[data-state=ready]", timeout=30000)
    assert _ask(page, SYMPTOMS[1][0])[0]["id"] == SYMPTOMS[1][1]
    if engine == "mkdocs":
        assert instant and page.evaluate("window.__sameDocument === true")
    if instant:
        assert len(models) == 1, models
    assert outside == []
    page.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_the_offline_build_answers_from_disk(browser, engine):
    page, root, outside, errors = open_offline(browser, engine)
    page.locator(".pmkb-hero__seen a").click()
    page.wait_for_selector("#pmkb-seen[data-state=ready]", timeout=30000)
    assert page.url.endswith("have-we-seen-this.html")
    query, first = SYMPTOMS[3]
    assert _ask(page, query)[0]["id"] == first
    page.goto((root / "have-we-seen-this.html").as_uri() + "?q=" + quote(SYMPTOMS[4][0]))
    page.wait_for_selector("#pmkb-seen[data-state=ready]", timeout=30000)
    page.wait_for_function("() => document.querySelectorAll('#pmkb-seen-results li').length > 0")
    shown = _shown(page)
    assert shown[0]["id"] == SYMPTOMS[4][1]
    page.wait_for_timeout(500)
    assert not _theme_search_open(page) and "?q=" in page.url
    page.locator("#pmkb-seen-results a.pmkb-seen__title").first.click()
    page.wait_for_selector(".pmkb-card")
    assert page.url.startswith("file://") and page.url.endswith(".html")
    assert outside == [] and errors == []
    page.close()


def test_readable_at_390_px(browser, served):
    base, engine = served
    page, errors = _open(browser, base + "have-we-seen-this/?q=" + quote(SYMPTOMS[8][0]), width=390)
    page.wait_for_function("() => document.querySelectorAll('#pmkb-seen-results li').length > 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390       # no sideways scrolling
    box = page.locator("#pmkb-seen-q").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] > 300
    for item in page.locator("#pmkb-seen-results li").all():
        b = item.bounding_box()
        assert b["x"] >= 0 and b["x"] + b["width"] <= 390
    title = page.locator("#pmkb-seen-results a.pmkb-seen__title").first
    assert title.is_visible() and page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.pmkb-seen__title')).fontSize)") >= 12
    _shot(page, f"seen-390-{engine}")
    assert errors == []
    page.close()
