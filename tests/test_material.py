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


def test_offline_gaps_name_what_keeps_an_offline_build_from_working():
    from generator.material import offline_gaps

    assert offline_gaps(None, False, None) == []                       # not asked for
    assert offline_gaps("false", False, None) == []
    assert offline_gaps("true", True, False) == []                     # the shipped mkdocs.yml
    missing, fonts = offline_gaps("TRUE", False, None)
    assert missing.startswith("OFFLINE=true is set but mkdocs.yml has no enabled 'offline' plugin")
    assert missing.endswith("add plugins: - offline: {enabled: !ENV [OFFLINE, false]} and theme: font: false, "
                            "as the shipped mkdocs.yml has")
    assert fonts == ("OFFLINE=true is set but the theme loads its fonts from fonts.googleapis.com (the theme's "
                     "default), which an offline reader cannot reach; set theme: font: false")
    assert offline_gaps("1", True, {"text": "Roboto"}) == [fonts]


def test_offline_build_of_a_config_without_the_offline_plugin_warns_and_fails_strict(tmp_path):
    """A team's own minimal mkdocs.yml (theme, search, postmortems): OFFLINE=true alone used to
    build a site that needs a server and Google Fonts, silently."""
    import os
    import shutil
    import subprocess
    import sys

    from tests.sitebuild import FIXTURE_CORPUS

    shutil.copytree(FIXTURE_CORPUS, tmp_path / "postmortems")
    (tmp_path / "mkdocs.yml").write_text("site_name: Ours\ndocs_dir: postmortems\ntheme:\n  name: material\n"
                                         "plugins:\n  - search\n  - postmortems\n", encoding="utf-8")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OFFLINE": "true"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "WARNING -  generator: OFFLINE=true is set but mkdocs.yml has no enabled 'offline' plugin" in done.stderr
    assert "set theme: font: false" in done.stderr


def test_the_themes_line_of_tag_chips_is_taken_out_of_an_article():
    article = ('<p>body</p>\n<nav class="md-tags" hidden>\n<span class="md-tag">dns</span>\n'
               '<a class="md-tag" href="x"><script>x()</script></a></nav>\n  <p>after</p>')
    assert material.without_tags_nav(article) == "<p>body</p>\n<p>after</p>"
    assert material.without_tags_nav("<p>no tags</p>") == "<p>no tags</p>"
