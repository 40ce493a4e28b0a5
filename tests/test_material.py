"""What :mod:`generator.material` relies on in the installed Material for MkDocs (and Zensical,
when its extra is installed): these fail loudly when an upgrade changes it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from generator import material


def _package(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None:
        pytest.skip(f"{name} is not installed")
    return Path(spec.origin).parent


def test_material_writes_the_page_title_unescaped():
    templates = _package("material") / "templates"
    assert "{{ page.title }}" in (templates / "partials" / "header.html").read_text(encoding="utf-8")
    assert "<h1>{{ page.title | d(config.site_name, true)}}</h1>" in (
        templates / "partials" / "content.html").read_text(encoding="utf-8")
    assert material.page_title("<b>a</b> & b") == "&lt;b&gt;a&lt;/b&gt; &amp; b"


def test_material_search_honours_exclusion_boost_and_tags():
    plugin = (_package("material") / "plugins" / "search" / "plugin.py").read_text(encoding="utf-8")
    assert f'key == "{material.SEARCH_EXCLUDE}"' in plugin       # an element (or a heading's section) is skipped
    assert 'if "boost" in search:' in plugin                     # front matter search.boost
    assert 'self.config.fields["tags"] = { "boost": 1e6 }' in plugin   # tags rank above text
    assert "search/search_index.json" in material.SEARCH_INDEX["mkdocs"][0]


@pytest.mark.parametrize("package", ["material", "zensical"])
def test_the_article_and_the_search_toggle(package):
    base = (_package(package) / "templates" / "base.html").read_text(encoding="utf-8")
    assert material.ARTICLE_OPEN in base
    assert f'id="{material.SEARCH_TOGGLE}"' in base or f"id=\"{material.SEARCH_TOGGLE}\"" in base.replace("'", '"')


def test_material_offline_plugin_puts_the_worker_shim_into_polyfills():
    offline = (_package("material") / "plugins" / "offline" / "plugin.py").read_text(encoding="utf-8")
    assert 'config.extra["polyfills"]' in offline and "iframe-worker" in offline
    assert material.bundled_polyfills(["https://unpkg.com/iframe-worker/shim", "x.js"], "assets/s.js") == [
        "assets/s.js", "x.js"]


def test_offline_build_switches_off_the_features_that_fetch():
    """Finding #1: Material's "Building for offline usage" (Limitations): instant loading,
    analytics and versioning fetch, which fails from ``file://``."""
    kept, dropped = material.offline_features(["navigation.instant", "navigation.instant.prefetch", "search.suggest",
                                               "navigation.instant.progress", "navigation.instantly", "toc.follow"])
    assert kept == ["search.suggest", "navigation.instantly", "toc.follow"]
    assert dropped == ["navigation.instant", "navigation.instant.prefetch", "navigation.instant.progress"]
    assert material.offline_features([]) == ([], [])
    extra = {"analytics": {"provider": "google"}, "version": {"provider": "mike"}, "polyfills": ["a.js"]}
    assert material.offline_extra(extra) == ({"polyfills": ["a.js"]}, ["extra.analytics", "extra.version"])
    assert extra["analytics"] == {"provider": "google"}   # the caller's mapping is left as it was
    bundle = next((_package("material") / "templates" / "assets" / "javascripts").glob("bundle.*.min.js"))
    assert 'location.protocol==="file:"' in bundle.read_text(encoding="utf-8")   # instant gives up under file:


def test_zensical_offline_plugin_adds_no_shim_when_one_is_configured():
    config = (_package("zensical") / "config.py").read_text(encoding="utf-8")
    assert '"iframe-worker"\n        in (url.get("path", "") if isinstance(url, dict) else url)' in config


def test_sanitize_article_cleans_only_the_article():
    page = ('<html><head><script src="theme.js"></script></head><body>'
            f'{material.ARTICLE_OPEN}<p onclick="x()">a</p><script>alert(1)</script></article>'
            '<script src="bundle.js"></script></body></html>')
    from generator.sanitize import sanitize_html

    clean = material.sanitize_article(page, sanitize_html)
    assert clean == ('<html><head><script src="theme.js"></script></head><body>'
                     f'{material.ARTICLE_OPEN}<p>a</p></article><script src="bundle.js"></script></body></html>')
    assert material.sanitize_article("<p>no article</p>", sanitize_html) == "<p>no article</p>"


def test_material_opens_its_search_for_the_deep_link_parameter():
    """Material opens its search with ``?q=`` when it starts ("Have we seen this?" hides its
    own ``?q=`` from the theme until then); Zensical's classic variant reads no such parameter."""
    bundle = next((_package("material") / "templates" / "assets" / "javascripts").glob("bundle.*.min.js"))
    assert f'.has("{material.SEARCH_DEEP_LINK}")&&(' in bundle.read_text(encoding="utf-8")
    if importlib.util.find_spec("zensical") is not None:
        zbundle = next((_package("zensical") / "templates" / "assets" / "javascripts").glob("bundle.*.min.js"))
        assert f'searchParams.get("{material.SEARCH_DEEP_LINK}")' not in zbundle.read_text(encoding="utf-8")
        assert f'searchParams.has("{material.SEARCH_DEEP_LINK}")' not in zbundle.read_text(encoding="utf-8")


def test_material_reruns_content_scripts_after_instant_navigation():
    bundle = next((_package("material") / "templates" / "assets" / "javascripts").glob("bundle.*.min.js"))
    text = bundle.read_text(encoding="utf-8")
    assert 'createElement("script")' in text and 'getAttributeNames()' in text
