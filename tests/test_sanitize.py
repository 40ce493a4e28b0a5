"""The page is ours (issue #11 item 5): one policy for the sanitiser and the validator.

Every id Material's templates and scripts use is reserved (read out of the installed package,
so an upgrade that adds one fails here); authored ids and classes in the theme's namespace are
dropped by the sanitiser and reported by the validator with their line; heading anchors and
footnotes keep working; what the sanitiser strips (attr_list ``onclick``, ``javascript:``
through attr_list, elements and attributes it does not keep) is a validation error, so
``validate`` and the site never disagree."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import markdown
import nh3
import pytest
import yaml
from hypothesis import example, given, settings, strategies as st

from generator import blocks as blocks_module
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
    return _markdown().convert(body)


# --- the theme's ids, classes and globals, read from the installed Material (and Zensical) ----

THEMES = ("material", "zensical")  # Zensical's classic theme is Material's markup; skipped when not installed


def _bundles(package: str) -> list[Path]:
    """The theme's own scripts (``bundle.*.min.js``; the search worker and lunr touch no DOM)."""
    bundles = sorted((_package(package) / "templates" / "assets" / "javascripts").glob("bundle.*.min.js"))
    assert bundles, f"no bundle.*.min.js in {package}: the theme's layout changed, read its scripts anew"
    return bundles


def _theme_ids(package: str = "material") -> set[str]:
    """Every id, ``for`` and ``name`` the theme's templates write, and every id its scripts
    look up (``#__x`` selectors, ``getElementById``/``__md_get`` strings), with the template
    variable parts (``{{ path }}``, ``{{ loop.index }}``) as their first value."""
    root = _package(package) / "templates"
    found: set[str] = set()
    for template in root.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag, attrs in re.findall(r"<([a-z]+)\b([^<>]*)>", text):
            if tag == "meta":  # <meta name="viewport">: document metadata, no element name
                continue
            for value in re.findall(r'\b(?:id|for|name)="([^"]+)"', attrs):
                value = value.replace("{{ path }}", "__nav_1").replace("{{ loop.index0 }}", "0")
                found.add(re.sub(r"\{\{.*?\}\}", "0", value))
    for bundle in _bundles(package):
        text = bundle.read_text(encoding="utf-8")
        found.update(re.findall(r"#(__[A-Za-z0-9_-]+)", text))
        found.update(re.findall(r"[\"'`](__[A-Za-z][A-Za-z0-9_-]*)", text))
    return found


def _script_id_lookups(package: str) -> tuple[set[str], set[str]]:
    """Every literal id the theme's scripts look up, in any form: ``#x`` in a selector (not a
    colour after ``:``), ``[id=x]``, ``[id^=x]``, ``[id$=x]``, ``[id*=x]`` (and ``for``,
    ``name``), ``getElementById("x")``; and the templated ones (``[id="${...}"]``), which look
    up the page's own anchors (the location's hash, table-of-contents links, footnotes, a
    label's ``for``)."""
    literal, templated = set(), set()
    for bundle in _bundles(package):
        text = bundle.read_text(encoding="utf-8")
        literal.update(re.findall(r"(?<![\w:.$\\&-])#([A-Za-z_][\w-]*)", text))
        for value in re.findall(r"\[(?:id|for|name)[~|^$*]?=\s*[\"']?([^\]\"']*)[\"']?\s*\]", text):
            (templated if "${" in value else literal).add(value)
        literal.update(re.findall(r"getElementById\(\s*[\"'`]([^\"'`$]+)[\"'`]\s*\)", text))
    return literal, templated


# Form field names of the theme's own forms (search box, feedback, consent): names on <input>,
# which the sanitiser never keeps; an authored <a name> cannot reach document.forms.
FORM_NAMES = {"search", "query", "feedback", "consent", "analytics", "github", "youtube", "custom"}

# Globals of every browser: own properties of ``window``, which an element id cannot shadow
# (named elements are found on its prototype, after them).
BROWSER_GLOBALS = {"Element", "Reflect", "ResizeObserver", "ClipboardItem", "IntersectionObserver", "document",
                   "window", "navigator", "location", "localStorage", "sessionStorage", "matchMedia"}


@pytest.mark.parametrize("package", THEMES)
def test_every_id_the_theme_uses_is_reserved(package):
    ids = _theme_ids(package)
    assert {"__search", "__drawer", "__config", "__consent", "__nav_1"} <= ids
    loose = sorted(i for i in ids if not material.reserved_id(i) and i not in FORM_NAMES and "0" != i)
    assert loose == [], "a theme id outside the reserved '__' namespace: reserve it in generator/material.py"
    assert all(material.reserved_id(i) for i in material.RESERVED_IDS)


@pytest.mark.parametrize("package", THEMES)
def test_every_id_the_theme_scripts_look_up_is_reserved_or_inside_a_reserved_class(package):
    """Not only the ``__`` ids: every id selector of the bundle. Those that are not the theme's
    own are Mermaid's SVG ids (styled inside the diagram's shadow root) and the parts of
    Zensical's Pyodide runner, looked up inside elements of classes the sanitiser drops."""
    literal, templated = _script_id_lookups(package)
    assert {"__config", "__search", "__codelineno"} <= literal and "flowchart-pointEnd" in literal
    assert templated, "the theme looks up the page's anchors by the location's hash"
    scoped = set().union(*material.SCOPED_ID_LOOKUPS.values())
    loose = sorted(i for i in literal if not material.reserved_id(i) and i not in scoped)
    assert loose == [], "an id the theme's scripts look up: reserve it, or list where it is looked up (generator/material.py)"
    assert all(material.reserved_class(scope) for scope in material.SCOPED_ID_LOOKUPS)


@pytest.mark.parametrize("package", THEMES)
def test_every_global_the_theme_scripts_read_unchecked_is_reserved(package):
    """``typeof X != "undefined" ? X : ...`` reads ``window.X``, which an element ``id="X"`` is
    when no script defined it; the theme checks some (``mermaid instanceof Element``)."""
    text = "".join(bundle.read_text(encoding="utf-8") for bundle in _bundles(package))
    read = set(re.findall(r"typeof ([A-Za-z_$][\w$]*)\s*[!=]==?\s*[\"']undefined[\"']", text))
    checked = set(re.findall(r"([A-Za-z_$][\w$]*) instanceof Element\b", text))
    assert "mermaid" in read and "mermaid" in checked
    unchecked = sorted(n for n in read if len(n) > 2 and n not in checked and n not in BROWSER_GLOBALS)  # no local
    assert [n for n in unchecked if not material.reserved_id(n)] == [], "reserve it in material.THEME_GLOBALS"
    if package == "zensical":
        assert "GLightboxOptions" in unchecked


@pytest.mark.parametrize("package", THEMES)
def test_every_class_the_theme_scripts_look_up_is_reserved_or_known(package):
    """Classes in the selectors of the theme's bundle: the theme's (reserved), or classes that
    Markdown extensions write into the content (known, left alone). A new one fails here."""
    text = "".join(bundle.read_text(encoding="utf-8") for bundle in _bundles(package))
    selectors = re.findall(r"[\"'`]([^\"'`]{1,80})[\"'`]", text)
    classes = set()
    for selector in selectors:
        if re.fullmatch(r"[\w\s.#\[\]=:>,()*^|$\"'-]+", selector) and "." in selector:
            classes.update(re.findall(r"(?<![\w-])\.([A-Za-z][\w-]*)(?![\w(-])", selector))  # not a.f(...)
    classes.update(re.findall(r"\bpre\.([a-z]+)", text))
    assert {"md-typeset", "highlight", "mermaid"} <= classes
    if package == "zensical":
        assert {"pyodide", "glightbox"} <= classes  # they load scripts from unpkg.com and cdn.jsdelivr.net
    unknown = sorted(c for c in classes if not material.reserved_class(c) and c not in material.CONTENT_CLASSES
                     and c not in material.AUTHOR_CLASSES)
    assert unknown == [], "decide for each: reserved (generator.material) or content (CONTENT_CLASSES)"


# --- the sanitiser drops them, keeps anchors and footnotes ------------------------------------

def test_the_sanitiser_drops_the_theme_ids_and_classes():
    html = ('<p id="__search" class="md-dialog x md-button">a</p><label for="__drawer">l</label>'
            '<input type="checkbox" id="__config" checked><a name="__md_get">n</a><pre class="mermaid">g</pre>'
            '<div class="pyodide">print(1)</div><p class="glightbox x">i</p><span id="GLightboxOptions">o</span>'
            '<h2 id="mermaid">Mermaid</h2>')
    assert sanitize.sanitize_html(html) == (
        '<p class="x md-button">a</p><label>l</label><input type="checkbox" checked=""><a>n</a><pre>g</pre>'
        '<div>print(1)</div><p class="x">i</p><span>o</span><h2 id="mermaid">Mermaid</h2>')


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
    ('<div class="pyodide">import os</div>', [
        (0, 1, "reserved-class", "class 'pyodide' on <div> is the theme's own, so the site removes it")], 'pyodide'),
    ("![shot](shot.png){: .glightbox }", [
        (0, 18, "reserved-class", "class 'glightbox' on <img> is the theme's own, so the site removes it "
                                  "(set with attr_list)")], 'glightbox'),
    ('<span class="pmkb-sev pmkb-sev1">SEV1</span>', [
        (0, 1, "reserved-class", "class 'pmkb-sev pmkb-sev1' on <span> is the knowledge base's own (its cards, "
                                 "badges and lists), so the site removes it")], 'pmkb-sev1'),
    ("Related incidents\n{: .pmkb-related-section }", [
        (1, 1, "reserved-class", "class 'pmkb-related-section' on <p> is the knowledge base's own (its cards, "
                                 "badges and lists), so the site removes it (set with attr_list)")], 'pmkb-related-section'),
    ('<span id="GLightboxOptions">x</span>', [
        (0, 1, "reserved-id", "id='GLightboxOptions' on <span> is a global the theme's scripts read "
                              "(window.GLightboxOptions), so the site removes it")], 'GLightboxOptions'),
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
    '<div class="note" markdown="1">\n*Inside* a block\n</div>',          # md_in_html's switch
    '<details markdown>\n<summary>Timeline</summary>\n\n- 10:02 paged\n</details>',
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


# --- one policy: every construct the sanitiser changes is an error at its line, and back -------

HTML_ELEMENTS = """a abbr acronym address applet area article aside audio b base basefont bdi bdo big blink
blockquote body br button canvas caption center cite code col colgroup data datalist dd del details dfn dialog
dir div dl dt em embed fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header
hgroup hr html i iframe image img input ins kbd keygen label legend li link listing main map mark marquee math
menu menuitem meta meter nav nobr noembed noframes noscript object ol optgroup option output p param picture
plaintext portal pre progress q rb rp rt rtc ruby s samp script search section select slot small source span
strike strong style sub summary sup svg table tbody td template textarea tfoot th thead time title tr track tt u
ul var video wbr xmp""".split()
"""Every element of the HTML standard, with the obsolete ones browsers still parse."""

HTML_ATTRIBUTES = """accesskey autocapitalize autofocus class contenteditable dir draggable enterkeyhint hidden
id inert inputmode is itemid itemprop itemref itemscope itemtype lang nonce part popover slot spellcheck style
tabindex title translate role aria-label aria-hidden data-x data-search-exclude data-lang xmlns onclick onerror
onload onmouseover onfocus onanimationstart href src srcset target rel download ping type name value for form
formaction action width height loading alt colspan rowspan align start reversed open checked disabled span
background poster xlink:href usemap ismap sizes crossorigin referrerpolicy decoding fetchpriority cite
datetime""".split()
"""The global attributes, event handlers, and the attributes of the elements the site keeps."""

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "background", "poster", "xlink:href", "cite", "ping"}
URLS = ["https://example.com/", "/abs", "rel.md", "#frag", "mailto:a@example.com", "javascript:alert(1)",
        "JaVaScRiPt:x", "java&#9;script:x", "&#106;avascript:x", " javascript:x", "data:text/html,x",
        "data:image/png;base64,iVBO", "data:image/svg+xml,x", "vbscript:x", "tel:1", "ftp://x/",
        "file:///etc/passwd", "//cdn.example.com/x.png", "HTTPS://EXAMPLE.COM/", "blob:https://e.com/x", "ws://e.com/"]
ATTRIBUTE_VALUES = {
    "class": ["x", "md-dialog", "mermaid", "pyodide", "glightbox", "md-button", "x md-typeset"],
    "id": ["x", "__config", "GLightboxOptions", "mermaid"], "for": ["x", "__search"], "name": ["x", "__md_get"],
    "style": ["text-align: center", "color:red", "text-align:left;color:red"], "type": ["checkbox", "text"],
}
# Hosts the HTML parser keeps where they are written (a <td> outside a table is dropped by the
# parser itself, whatever the policy).
HOSTS = [("span", "span"), ("a", "a"), ("img", "img"), ("div", "div"), ("input", "input"), ("label", "label"),
         ("ol", "ol"), ("details", "details"), ("code", "code"), ("h2", "h2"), ("table><tr><td", "td></tr></table")]
# Elements the HTML parser itself drops or renames in a page's body, with or without a
# sanitiser: validate reports them (the site never shows them as written), the output of the
# sanitiser equals the parser's.
PARSER_DROPS = {"<html>x</html>", "<head>x</head>", "<body>x</body>", "<frame>x</frame>",
                "<frameset>x</frameset>", "<image>x</image>"}


def _constructs():
    """Raw HTML elements, attributes on kept elements, attr_list attributes, link and image
    targets (written as Markdown and through attr_list)."""
    for tag in HTML_ELEMENTS:
        yield f"<{tag}>x</{tag}>"
    for open_, close in HOSTS:
        for attr in HTML_ATTRIBUTES:
            urls = URLS if open_ in ("a", "img", "span") else URLS[:1] + URLS[5:6]
            for value in ATTRIBUTE_VALUES.get(attr) or (urls if attr in URL_ATTRIBUTES else ["1"]):
                yield f'<{open_} {attr}="{value}">x</{close}>'
    for attr in HTML_ATTRIBUTES:
        for value in ATTRIBUTE_VALUES.get(attr) or ["1"]:
            yield f'para\n{{: {attr}="{value}" }}'
    for url in URLS:
        yield f"[x]({url})"
        yield f"![x]({url})"
        yield f'[x](https://example.com){{: href="{url}" }}'
        yield f'![x](a.png){{: src="{url}" }}'


def _markdown():
    """A Python-Markdown instance with the extensions (and their options) of mkdocs.yml."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    extensions, configs = [], {}
    for entry in config["markdown_extensions"]:
        if isinstance(entry, dict):
            (name, options), = entry.items()
            extensions.append(name)
            configs[name] = options or {}
        else:
            extensions.append(entry)
    return markdown.Markdown(extensions=extensions, extension_configs=configs)


def _as_parsed(html: str) -> str:
    """``html`` through the sanitiser's HTML parser with nothing removed: the page a browser
    would get without a sanitiser, in the same serialisation (style declarations compacted)."""
    import nh3

    kept = nh3.Cleaner(tags=set(HTML_ELEMENTS) | sanitize.ALLOWED_TAGS, attributes={"*": set(HTML_ATTRIBUTES)},
                       generic_attribute_prefixes={"data-", "aria-"}, clean_content_tags=set(), link_rel=None,
                       url_schemes={"http", "https", "mailto", "javascript", "data", "vbscript", "tel", "ftp",
                                    "file", "blob", "ws"}, strip_comments=True).clean(html)
    return _compact_styles(kept)


def _compact_styles(html: str) -> str:
    return re.sub(r'style="([^"]*)"', lambda m: 'style="' + m.group(1).replace(" ", "").rstrip(";") + '"', html)


def test_validate_flags_exactly_what_the_sanitiser_changes(tmp_path):
    """Every construct of :func:`_constructs` (over 1,500) is rendered as the site renders it:
    when the sanitiser's output differs from the unsanitised page, ``validate`` reports
    ``unsafe-html``, ``reserved-id`` or ``reserved-class`` on the construct's line; when it does
    not, ``validate`` reports none of them (but for what the HTML parser drops by itself)."""
    from generator.settings import Settings
    from generator.validate import validate

    items = list(_constructs())
    md = _markdown()
    changed = []
    for item in items:
        html = md.reset().convert(item)
        changed.append(_compact_styles(sanitize.sanitize_html(html)) != _as_parsed(html))
    # 40 constructs a file (the problems of one code are capped at 50 a file), one run
    docs = tmp_path / "postmortems"
    docs.mkdir()
    first = VALID.count("\n") + 2
    where = {}
    for number, start in enumerate(range(0, len(items), 40)):
        chunk, line = items[start:start + 40], first
        for offset, item in enumerate(chunk):
            for extra in range(item.count("\n") + 1):
                where[(number, line + extra)] = start + offset
            line += item.count("\n") + 2
        text = VALID.replace("PM-2024-017", f"PM-2024-{100 + number}") + "\n" + "\n\n".join(chunk) + "\n"
        (docs / f"2024-03-14-case-{number:03d}.md").write_text(text, encoding="utf-8")
    result = validate([docs], Settings(docs_dir=docs))
    flagged, elsewhere = set(), []
    for p in result.problems:
        if p.code in ("unsafe-html", "reserved-id", "reserved-class"):
            key = (int(Path(p.path).stem.rsplit("-", 1)[1]), p.line)
            (flagged.add(where[key]) if key in where else elsewhere.append((p.path, p.line, p.code)))
    assert elsewhere == []
    assert len(items) > 1500 and sum(changed) > 700  # both sides of the policy are exercised
    silent = [items[i] for i, c in enumerate(changed) if c and i not in flagged]
    assert silent == [], "the sanitiser changes these and validate says nothing"
    strict = [items[i] for i, c in enumerate(changed) if not c and i in flagged]
    assert sorted(strict) == sorted(PARSER_DROPS), "validate reports these and the site keeps them"


# --- the sanitiser stays linear --------------------------------------------------------------

HTML_PIECES = ["<", ">", "</", "&", "&amp;", "&nbsp;", "&#38;", "&#160", "\u00a0", "\u00a0\u00a0", '"', "'", "=",
               "<!--", "-->", "<!", "<?", "<![CDATA[", "]]>", "p", "a", "b", " ", "\n", "x", "<p>", "</p>",
               '<a href="', '<img alt="', "<script>", "</script>", "<textarea>", "</textarea>", "<TITLE>",
               "</title >", "<plaintext>", "<pre>", "<svg>", "<table>", "<td>", "<a title='&", "<b ", "<!---->"]


@settings(max_examples=int(os.environ.get("PMKB_SPLIT_EXAMPLES", "400")), deadline=None)
@given(st.lists(st.sampled_from(HTML_PIECES), max_size=60))
@example(['<b ', '"', '&', '\xa0\xa0'])  # a quote never closed: all of it is the tag (was split: '<b>&nbsp;</b>')
def test_splitting_long_text_leaves_the_page_as_it_was(pieces):
    """With a split every 2 escaped characters (instead of 2,048), whatever the HTML, the
    sanitiser writes the same page as without the split."""
    html = "".join(pieces)
    cleaner = nh3.Cleaner(tags=sanitize.ALLOWED_TAGS | {"textarea", "title", "svg"},
                          attributes=sanitize.ALLOWED_ATTRIBUTES, strip_comments=True, link_rel=None)
    original = sanitize.ESCAPED_RUN
    try:
        sanitize.ESCAPED_RUN = 2
        split = sanitize._split_long_text(html)
    finally:
        sanitize.ESCAPED_RUN = original
    assert cleaner.clean(split) == cleaner.clean(html)
    assert sanitize.sanitize_html(html) == cleaner.clean(html) or not sanitize._may_be_slow(html)


def test_a_million_no_break_spaces_are_split_into_bounded_text_nodes():
    html = "<p>api_key = " + "\t\u00a0" * 500_000 + "x</p><pre>" + "&amp;&amp; " * 100_000 + "</pre>"
    split = sanitize._split_long_text(html)
    assert split.count("<!---->") == 500_000 // 2048 + 200_000 // 2048
    assert max(len(_ESCAPED_IN.findall(text)) for text in re.split(r"<[^<>]*>", split)) == 2048  # per text node
    assert sanitize.sanitize_html(html) == nh3.Cleaner(
        tags=sanitize.ALLOWED_TAGS, attributes=sanitize.ALLOWED_ATTRIBUTES, link_rel=None, strip_comments=True,
        url_schemes=set(sanitize.ALLOWED_URL_SCHEMES), filter_style_properties={"text-align"}).clean(split)


_ESCAPED_IN = re.compile("[&\u00a0]")


def test_a_footnote_that_opens_with_html_is_no_link_reference(tmp_path):
    """``[^1]: <b>...`` opens a footnote (the footnotes extension), not a link reference
    definition whose target would be ``b>...``: validate reports nothing."""
    result = check(tmp_path, VALID + "\nText[^1] and more[^note].\n\n[^1]: <b>Paged</b> at 10:02\n"
                             "[^note]: <https://example.com/status> and [the runbook](https://example.com/rb)\n")
    assert [(p.code, p.message) for p in result.problems] == []


MARKS = blocks_module.Marks("a1b2c3d4e5f6")
OWN = MARKS.own
B, U = MARKS.block, MARKS.unsearched


def test_the_knowledge_bases_classes_stay_only_on_its_own_parts_of_a_postmortem_page():
    """The card and the sections between the marks keep their ``pmkb-`` classes; the author's
    body and what follows the last mark (footnotes) lose theirs, unclosed markup of the author's
    ends inside its own part, and the marks are gone from the page."""
    page = (f'{OWN}\n<div class="pmkb-card"><span class="pmkb-sev pmkb-sev2">SEV2</span></div>\n{OWN}\n'
            '<p><span class="pmkb-sev pmkb-sev1 note">SEV1</span></p>\n<div class="pmkb-related"><b>unclosed\n'
            f'{OWN}\n<h2 id="related-incidents" class="pmkb-related-section">Related incidents</h2>\n{OWN}\n'
            '<div class="footnote"><b class="pmkb-card">forged</b></div>')
    assert sanitize.sanitize_postmortem_page(page, MARKS) == (
        '<div class="pmkb-card"><span class="pmkb-sev pmkb-sev2">SEV2</span></div>\n'
        '<p><span class="note">SEV1</span></p>\n<div><b>unclosed</b></div>\n'
        '<h2 id="related-incidents" class="pmkb-related-section">Related incidents</h2>\n'
        '<div class="footnote"><b>forged</b></div>')


@pytest.mark.parametrize("marks", [0, 1, 3, 5, 6])
def test_a_postmortem_page_without_exactly_four_marks_is_the_authors_throughout(marks):
    """A code block that swallowed some marks: every ``pmkb-`` class goes, never one of the
    author's stays; a mark of another nonce (an author's) counts for nothing."""
    other = blocks_module.Marks("0123456789ab").own
    page = "".join(f'<p class="pmkb-card">{i}</p>{OWN}' for i in range(marks)) + other * 4 + '<p class="pmkb-sev1">x</p>'
    assert "pmkb-" not in sanitize.sanitize_postmortem_page(page, MARKS)


def test_our_blocks_go_in_place_of_their_marks_and_an_authors_mark_gets_none():
    """The renderer's HTML blocks stand in the Markdown as marks (the engine's Markdown never
    parses them) and go in in our parts; a mark in the body (another nonce: the body never holds
    the page's, blocks.nonce_for) is the author's element, whose data-pmkb the cleaning removes."""
    blocks = ['<div class="pmkb-card"><b>card</b></div>\n', '<ul class="pmkb-related"><li>r</li></ul>\n']
    forged = blocks_module.Marks("0123456789ab")
    page = (f'{OWN}\n{B(0)}\n{OWN}\n<p>body</p>\n{forged.block(0)}\n<!--pmkb-block 0-->\n'
            f'{OWN}\n<h2 id="related-incidents">Related incidents</h2>\n{U(1)}\n{OWN}\n')
    assert sanitize.sanitize_postmortem_page(page, MARKS, blocks) == (
        '<div class="pmkb-card"><b>card</b></div>\n<p>body</p>\n<div></div>\n\n'
        '<h2 id="related-incidents">Related incidents</h2>\n<ul class="pmkb-related"><li>r</li></ul>')
    # MkDocs renders the body alone: the card and sections go in after, the unsearched block stays a
    # mark through search, then goes in
    heading = '<h2 id="related-incidents">Related incidents</h2>'
    kept = sanitize.sanitize_postmortem_body(f'<p>body</p>\n{forged.block(0)}\n<!--pmkb-block 0-->\n', MARKS,
                                             blocks, [heading], [("Related incidents", "related-incidents", 1)])
    assert kept == ('<div class="pmkb-card"><b>card</b></div>\n<p>body</p>\n<div></div>\n\n'
                    f'<h2 id="related-incidents">Related incidents</h2>\n{U(1)}')
    assert sanitize.fill_unsearched(kept, MARKS, blocks) == sanitize.sanitize_postmortem_page(page, MARKS, blocks)
    # a block may hold a mark of its own (the card, its facts): filled one level deep, kept by MkDocs for later
    nested = [f'<div class="pmkb-card">\n<p>head</p>\n{U(1)}\n</div>\n', '<dl><dt>Date</dt></dl>\n']
    page = f"{OWN}\n{B(0)}\n{OWN}\n<p>body</p>\n{OWN}\n{OWN}\n"
    kept = sanitize.sanitize_postmortem_body("<p>body</p>\n", MARKS, nested, [], [])
    assert kept == f'<div class="pmkb-card">\n<p>head</p>\n{U(1)}\n</div>\n<p>body</p>\n'
    assert sanitize.fill_unsearched(kept, MARKS, nested).rstrip("\n") == \
        sanitize.sanitize_postmortem_page(page, MARKS, nested) == (
        '<div class="pmkb-card">\n<p>head</p>\n<dl><dt>Date</dt></dl>\n</div>\n<p>body</p>')
    # a mark with no block, or of another nonce, stays as it is
    assert MARKS.fill(B(7) + forged.block(0), blocks) == B(7) + forged.block(0)


def test_a_page_whose_own_marks_a_code_block_swallowed_still_gets_its_blocks_cleaned_as_the_authors():
    """The blocks whose marks are left still go in (the card and Related incidents show),
    cleaned as the author's (they lose their ``pmkb-`` classes)."""
    page = f'<p>x</p>\n{B(0)}\n<h2>Related incidents</h2>\n{U(1)}'
    assert sanitize.sanitize_postmortem_page(page, MARKS, ['<p class="pmkb-card">c</p>', '<ul class="pmkb-related"><li>r</li></ul>']) \
        == '<p>x</p>\n<p>c</p>\n<h2>Related incidents</h2>\n<ul><li>r</li></ul>'


def test_a_pages_nonce_is_one_its_body_does_not_hold(monkeypatch):
    """The nonce is the SHA-256 of the body, hashed again while the body holds it (any case)."""
    import hashlib

    assert blocks_module.nonce_for("body") == hashlib.sha256(b"body").hexdigest()[:12]
    real = hashlib.sha256
    quoting = "a body that quotes ABCDEF012345 in capitals"  # as if its own hash began with abcdef012345
    monkeypatch.setattr(blocks_module.hashlib, "sha256",
                        lambda data: type("H", (), {"hexdigest": lambda self: "abcdef012345" + "0" * 52})()
                        if data == quoting.encode() else real(data))
    assert blocks_module.nonce_for(quoting) == real(b"abcdef012345").hexdigest()[:12]


def test_a_nonce_hidden_with_the_characters_python_markdown_drops_is_still_one_the_body_holds(monkeypatch):
    """Tester finding (session 9): Python-Markdown drops U+0002 and U+0003, so a body holding
    ``abcdef\x02012345`` renders as ``abcdef012345``; that is a nonce the body holds."""
    import hashlib

    real = hashlib.sha256
    body = '<\x02div data-pmkb="abcdef\x02012345"></div>'
    monkeypatch.setattr(blocks_module.hashlib, "sha256",
                        lambda data: type("H", (), {"hexdigest": lambda self: "abcdef012345" + "0" * 52})()
                        if data == body.encode() else real(data))
    assert blocks_module.nonce_for(body) == real(b"abcdef012345").hexdigest()[:12]


def _mkdocs_config():
    """The shipped mkdocs.yml as MkDocs loads it, with the plugin's on_config applied (the
    extensions it needs, e.g. attr_list)."""
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"))
    return config.plugins["postmortems"].on_config(config)


EDGE_BODIES = {
    "footnotes": "## Summary\n\nA claim.[^1]\n\n[^1]: The source.\n",
    "unclosed div": "## Summary\n\n<div class=\"note\">\n\nOpen, never closed.\n",
    "h1 first": "# A title of the author's\n\n## Summary\n\nText.\n\n### Detail\n\nMore.\n",
    "same id as ours": "## Related incidents\n\nThe author's own section of that name.\n",
    "no headings": "Just a paragraph.\n",
}


def test_the_mkdocs_page_rendered_from_the_body_alone_is_the_page_rendered_from_its_whole_markdown():
    """MkDocs renders only a post-mortem's body (PostmortemPage.body_markdown); the adapter puts
    the card and our sections in (sanitize_postmortem_body), their headings as this site's
    Markdown renders them, and their table-of-contents entries: on 3,000 post-mortems Python-
    Markdown read our marks and headings for 2 s of each build. For every shipped post-mortem and
    bodies with footnotes, an unclosed <div>, an h1, a heading named like ours and none, the HTML
    (its unsearched blocks put in) and the table of contents are those of the whole Markdown
    rendered and cleaned (the Zensical path)."""
    import datetime as dt

    from mkdocs.structure.toc import get_toc

    from generator import pages
    from generator.markup import Links
    from generator.model import ActionItem
    from generator.plugin import PostmortemsPlugin, with_toc_entries
    from generator.render import footnotes_marker
    from generator.settings import Settings
    from generator.validate import validate

    config = _mkdocs_config()
    plugin = PostmortemsPlugin()
    md = markdown.Markdown(extensions=config.markdown_extensions, extension_configs=config.mdx_configs)
    marker = footnotes_marker(config.markdown_extensions, config.mdx_configs)
    shipped = validate([ROOT / "postmortems"], Settings(docs_dir=ROOT / "postmortems")).postmortems
    extra = []
    for name, body in EDGE_BODIES.items():
        pm = shipped[0].__class__(**{**shipped[0].__dict__, "body": body, "path": f"{name}.md"})
        pm.action_items = [ActionItem(title="Add an alert", owner="sre", status="open")] if "div" in name else []
        extra.append(pm)
    by_id = {pm.id: pm for pm in shipped}
    compared = 0
    for pm in shipped + extra:
        page = pages.postmortem_page(Links(True, pm.path), pm, [], by_id, None, 0.05, dt.date(2026, 1, 1), pm.title,
                                     footnotes_marker=marker)
        md.reset()
        whole = sanitize.sanitize_postmortem_page(md.convert(page.markdown), page.marks, page.blocks)
        whole_toc = str(get_toc(md.toc_tokens))
        md.reset()
        body_html = md.convert(page.body_markdown)
        body_toc = get_toc(md.toc_tokens)
        headings = [plugin._section_heading(title, anchor, config) for title, anchor, _ in page.sections]
        body = sanitize.sanitize_postmortem_body(body_html, page.marks, page.blocks, [h for h, _ in headings],
                                                 page.sections)
        assert sanitize.fill_unsearched(body, page.marks, page.blocks) == whole, pm.path
        assert str(with_toc_entries(body_toc, [t for _, t in headings])) == whole_toc, pm.path
        compared += 1
    assert compared == len(shipped) + len(EDGE_BODIES) and len(shipped) >= 60
    assert [s[:2] for s in page.sections] == [("Related incidents", "related-incidents")]


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40), st.booleans())
@example("\ufeffa byte-order mark first", False)
@example("no\xa0break", True)
@example("plain words", False)
def test_text_the_cleaner_is_not_given_is_text_it_would_give_back_unchanged(text, own):
    """Plain text (no markup, entity, or character the cleaner escapes, drops or normalises) is
    not parsed: what the cleaner would make of it is the text itself."""
    assert sanitize._clean(text, own) == sanitize._parsed_clean(text, own)


@pytest.mark.parametrize("text", ["\ufeffbom first", "a\xa0b", "cr\r\nlf", "nul\x00", "a & b", "1 > 0"])
def test_text_the_cleaner_changes_is_parsed(text):
    assert sanitize._NOT_PLAIN.search(text) and sanitize._clean(text, False) == sanitize._parsed_clean(text, False)
