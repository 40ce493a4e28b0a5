"""The page is ours (issue #11 item 5): one policy for the sanitiser and the validator.

Every id Material's templates and scripts use is reserved (read out of the installed package,
so an upgrade that adds one fails here); authored ids and classes in the theme's namespace are
dropped by the sanitiser and reported by the validator with their line; heading anchors and
footnotes keep working; what the sanitiser strips (attr_list ``onclick``, ``javascript:``
through attr_list, elements and attributes it does not keep) is a validation error, so
``validate`` and the site never disagree."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import markdown
import pytest
import yaml

from generator import material, scan, sanitize

from .conftest import ROOT
from .test_validate import VALID, check


def _package(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None:
        pytest.skip(f"{name} is not installed")
    return Path(spec.origin).parent


def _render(body: str) -> str:
    """``body`` as the site's Python-Markdown renders it (the extensions of mkdocs.yml)."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    extensions, configs = [], {}
    for entry in config["markdown_extensions"]:
        if isinstance(entry, dict):
            (name, options), = entry.items()
            extensions.append(name)
            configs[name] = options or {}
        else:
            extensions.append(entry)
    return markdown.Markdown(extensions=extensions, extension_configs=configs).convert(body)


# --- the theme's ids and classes, read from the installed Material ----------------------------

def _theme_ids() -> set[str]:
    """Every id, ``for`` and ``name`` Material's templates write, and every id its scripts look
    up (``#__x`` selectors, ``getElementById``/``__md_get`` strings), with the template
    variable parts (``{{ path }}``, ``{{ loop.index }}``) as their first value."""
    root = _package("material") / "templates"
    found: set[str] = set()
    for template in root.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag, attrs in re.findall(r"<([a-z]+)\b([^<>]*)>", text):
            if tag == "meta":  # <meta name="viewport">: document metadata, no element name
                continue
            for value in re.findall(r'\b(?:id|for|name)="([^"]+)"', attrs):
                value = value.replace("{{ path }}", "__nav_1").replace("{{ loop.index0 }}", "0")
                found.add(re.sub(r"\{\{.*?\}\}", "0", value))
    for bundle in (root / "assets" / "javascripts").glob("bundle.*.min.js"):
        text = bundle.read_text(encoding="utf-8")
        found.update(re.findall(r"#(__[A-Za-z0-9_-]+)", text))
        found.update(re.findall(r"[\"'`](__[A-Za-z][A-Za-z0-9_-]*)", text))
    return found


# Form field names of the theme's own forms (search box, feedback, consent): names on <input>,
# which the sanitiser never keeps; an authored <a name> cannot reach document.forms.
FORM_NAMES = {"search", "query", "feedback", "consent", "analytics", "github", "youtube", "custom"}


def test_every_id_the_theme_uses_is_reserved():
    ids = _theme_ids()
    assert {"__search", "__drawer", "__toc", "__config", "__consent", "__nav_1"} <= ids
    loose = sorted(i for i in ids if not material.reserved_id(i) and i not in FORM_NAMES and "0" != i)
    assert loose == [], "a theme id outside the reserved '__' namespace: reserve it in generator/material.py"
    assert all(material.reserved_id(i) for i in material.RESERVED_IDS)


def test_every_class_the_theme_scripts_look_up_is_reserved_or_known():
    """Classes in the selectors of Material's bundle: the theme's (reserved), or classes that
    Markdown extensions write into the content (known, left alone). A new one fails here."""
    bundle = next((_package("material") / "templates" / "assets" / "javascripts").glob("bundle.*.min.js"))
    text = bundle.read_text(encoding="utf-8")
    selectors = re.findall(r"[\"'`]([^\"'`]{1,80})[\"'`]", text)
    classes = set()
    for selector in selectors:
        if re.fullmatch(r"[\w\s.#\[\]=:>,()*^|$\"'-]+", selector) and "." in selector:
            classes.update(re.findall(r"(?<![\w-])\.([A-Za-z][\w-]*)(?![\w(-])", selector))  # not a.f(...)
    classes.update(re.findall(r"\bpre\.([a-z]+)", text))
    assert {"md-typeset", "highlight", "mermaid"} <= classes
    unknown = sorted(c for c in classes if not material.reserved_class(c) and c not in material.CONTENT_CLASSES
                     and c not in material.AUTHOR_CLASSES)
    assert unknown == [], "decide for each: reserved (generator.material) or content (CONTENT_CLASSES)"


# --- the sanitiser drops them, keeps anchors and footnotes ------------------------------------

def test_the_sanitiser_drops_the_theme_ids_and_classes():
    html = ('<p id="__search" class="md-dialog x md-button">a</p><label for="__drawer">l</label>'
            '<input type="checkbox" id="__config" checked><a name="__md_get">n</a><pre class="mermaid">g</pre>')
    assert sanitize.sanitize_html(html) == (
        '<p class="x md-button">a</p><label>l</label><input type="checkbox" checked=""><a>n</a><pre>g</pre>')


def test_heading_anchors_and_footnotes_keep_working():
    html = sanitize.sanitize_html(_render("## Root cause\n\nSee [the cause](#root-cause).[^1]\n\n[^1]: A note.\n"))
    assert '<h2 id="root-cause">' in html
    assert 'href="#root-cause"' in html
    assert '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>' in html
    assert '<li id="fn:1">' in html and 'href="#fnref:1"' in html


def test_data_images_stay_and_other_data_urls_go():
    html = ('<img src="data:image/png;base64,iVBO"><a href="data:text/html,x">a</a>'
            '<img src="data:image/svg+xml,x"><img src="d&#97;ta:image/gif;base64,R0lG">')
    assert sanitize.sanitize_html(html) == (
        '<img src="data:image/png;base64,iVBO"><a>a</a><img><img src="data:image/gif;base64,R0lG">')


def test_zensical_s_skip_anchor_is_left_to_the_theme():
    page = ('<html><article class="md-content__inner md-typeset"><a id="__skip" tabindex="-1"></a>'
            '<h1 id="__toc">T</h1><script>x</script></article></html>')
    assert material.sanitize_article(page, sanitize.sanitize_html) == (
        '<html><article class="md-content__inner md-typeset"><a id="__skip" tabindex="-1"></a>'
        '<h1>T</h1></article></html>')


# --- the validator flags what the sanitiser strips, with its line -----------------------------

FIRST = VALID.count("\n") + 2  # the line after "VALID + '\n'"


@pytest.mark.parametrize("body, expected, marker", [
    ('para\n{: onclick="alert(1)" }', [(1, 1, "unsafe-html",
                                        "'onclick' event-handler attribute set with attr_list on <p> would run in a "
                                        "reader's browser (the site removes it)")], 'onclick'),
    ('[x](https://example.com){: href="javascript:alert(1)" }', [
        (0, 25, "unsafe-html",
         "javascript: URL set with attr_list in href= of <a> would run in a reader's browser (the site removes it)")], 'javascript:'),
    ('[x](https://example.com){: target=_blank }', [
        (0, 25, "unsafe-html", "the site removes the 'target' attribute of <a> (set with attr_list)")], 'target='),
    ("# Notes {: #__toc }", [
        (0, 9, "reserved-id", "id='__toc' on <h1> is in the theme's namespace (ids starting with '__'), so the site "
                              "removes it (set with attr_list)")], 'id="__toc"'),
    ("## `__init__` crash", [
        (0, None, "reserved-id", "the heading's id '__init__-crash' is in the theme's namespace (ids starting with "
                                 "'__'), so the site removes it and links to it break")], 'id="__init__-crash"'),
    ('!!! md-dialog "Look"\n    text', [
        (0, 5, "reserved-class", "class 'md-dialog' on <div> is the theme's own, so the site removes it "
                                 "(set with attr_list)")], 'md-dialog'),
    ('<label for="__search">open</label>', [
        (0, 1, "reserved-id", "for='__search' on <label> is in the theme's namespace (ids starting with '__'), so "
                              "the site removes it")], 'for="__search"'),
    ('<pre class="mermaid">graph</pre>', [
        (0, 1, "reserved-class", "class 'mermaid' on <pre> is the theme's own, so the site removes it")], 'mermaid'),
    ('<span style="color:red" aria-label="x">s</span>', [
        (0, 1, "unsafe-html", "the site removes the 'style' attribute of <span>"),
        (0, 1, "unsafe-html", "the site removes the 'aria-label' attribute of <span>")], 'aria-label'),
    ("set the <timeout> value", [
        (0, 9, "unsafe-html", "<timeout> is not HTML the site keeps: the site removes the <timeout> tag "
                              "(its text stays)")], '<timeout>'),
    ("[call](tel:+15550100)", [
        (0, 8, "unsafe-html", "the site removes the target of this Markdown link: it keeps only http, https, "
                              "mailto and relative URLs, not tel:")], 'tel:'),
    ('```{.python #__code_0 data-x=1}\nprint(1)\n```', [
        (0, 1, "reserved-id", "id='__code_0' on <div> is in the theme's namespace (ids starting with '__'), so the "
                              "site removes it (set with attr_list)"),
        (0, 1, "unsafe-html", "the site removes the 'data-x' attribute of <div> (set with attr_list)")], 'data-x'),
])
def test_what_the_sanitiser_strips_is_an_error_with_its_line(tmp_path, body, expected, marker):
    result = check(tmp_path, VALID + "\n" + body + "\n")
    found = [(p.line - FIRST, p.column, p.code, p.message) for p in result.problems
             if p.code in ("unsafe-html", "reserved-id", "reserved-class")]
    assert found == expected
    # ... and the site does strip it: the renderer writes it, the sanitiser removes it.
    rendered = _render(body)
    assert marker in rendered
    assert marker not in sanitize.sanitize_html(rendered)


@pytest.mark.parametrize("body", [
    "restart {service} now",                       # braces in prose are no attr_list
    "[Subscribe](https://example.com){ .md-button }",
    "![graph](data:image/png;base64,iVBORw0KGgo=)",
    "<kbd>Ctrl</kbd> <sup>2</sup> <details open><summary>s</summary>x</details>",
    "| a | b |\n|:-:|--|\n| c | d |",
    "mail <ops@example.com> or see <https://example.com>",
    "## Root cause {#cause}\n\n[x](#cause)",
    "text[^1]\n\n[^1]: note",
    "a < b and c > d",
])
def test_what_the_sanitiser_keeps_is_no_error(tmp_path, body):
    result = check(tmp_path, VALID + "\n" + body + "\n")
    assert [p.code for p in result.problems if p.code in ("unsafe-html", "reserved-id", "reserved-class")] == []


def test_other_markdown_pages_get_the_same_rules(tmp_path):
    result = check(tmp_path, VALID, extra={"README.md": "# Home\n\n<label for=\"__drawer\">x</label>\n"
                                                        "para\n{: onclick=\"x\" }\n"})
    readme = [(Path(p.path).name, p.line, p.code) for p in result.problems if p.path.endswith("README.md")]
    assert readme == [("README.md", 3, "reserved-id"), ("README.md", 5, "unsafe-html")]
