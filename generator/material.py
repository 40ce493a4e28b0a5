"""What the knowledge base relies on in Material's markup (and Zensical's, whose classic theme
keeps it): the one module that knows it.

``tests/test_material.py`` reads the installed Material (and Zensical, when present) and fails
when an upgrade changes any of these:

- the theme writes ``page.title`` into ``<title>``, the header and the ``<h1>`` without
  escaping it (:func:`page_title` escapes it for the theme);
- ``data-search-exclude`` on an element keeps it out of the search index, and on a heading
  keeps its whole section out (:data:`SEARCH_EXCLUDE`);
- a page's front matter ``search: {boost: N}`` weighs its search results and ``tags`` are
  search tags, ranked above the text; ``status`` is the theme's own page status (an icon), so a
  post-mortem's ``status`` is never handed to the theme; ``hide: [toc]`` hides the table of
  contents;
- the page content is the ``<article class="md-content__inner md-typeset">`` element
  (:data:`ARTICLE_OPEN`), which the Zensical adapter sanitises after the build;
- the search index is ``search/search_index.json`` (Material) or ``search.json`` (Zensical),
  ``{"config", "docs"}`` or ``{"config", "items"}`` of ``{"location", "title", "text", ...}``
  (:data:`SEARCH_INDEX`), whose ``text`` the search dialog shows as HTML;
- Material's search worker indexes every field named in the index's ``config.fields`` (each
  with its ``boost``), reading it from each entry, and shows only ``title``, ``text`` and
  ``tags`` (:func:`add_search_field`); its plugin writes the index in ``on_post_build`` at
  priority 0 and the offline plugin copies it into ``search_index.js`` at -100;
- the offline plugin puts a CDN copy of the ``iframe-worker`` shim into ``extra.polyfills``
  (:func:`bundled_polyfills` swaps in the bundled copy);
- the search box is the ``<input id="__search">`` toggle a ``<label for="__search">`` opens;
- the theme's ids (and form names) start with ``__`` and its classes with ``md-``
  (:data:`RESERVED_IDS`, :func:`reserved_id`, :func:`reserved_class`); an element of class
  ``mermaid`` (and in Zensical ``pyodide`` or ``glightbox``) makes it load a script from
  another host (:data:`RESERVED_CLASSES`); its scripts read some globals unchecked
  (:data:`THEME_GLOBALS`), and look up ids of Mermaid's and Pyodide's own markup
  (:data:`SCOPED_ID_LOOKUPS`); Zensical's article starts with its
  ``<a id="__skip">`` (:data:`SKIP_ANCHOR`), which :func:`sanitize_article` leaves alone;
- Material opens its search with the value of ``?q=`` when it starts on a page
  (:data:`SEARCH_DEEP_LINK`, its search deep link; Zensical's classic variant has none), which
  "Have we seen this?" also uses for its shareable links;
- with ``navigation.instant``, Material re-runs the ``<script>`` elements of a page's content
  after each instant navigation, but keeps the window (and what scripts stored in it); it only
  follows links of its sitemap, which is empty without ``site_url``;
- an offline build (opened from ``file://``) must not have ``navigation.instant`` nor the other
  features that fetch (:data:`OFFLINE_FETCH_FEATURES`, :func:`offline_features`);
- the layout turns to one column below :data:`PHONE_MEDIA` (our cards and phone charts use it);
  tables of the content sit in ``.md-typeset__scrollwrap > .md-typeset__table``, search results
  are ``a.md-search-result__link`` (Zensical: ``a[role=option]`` in its search dialog), which
  ``assets/pmkb.js`` and ``assets/pmkb.css`` rely on.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from typing import Callable

SEARCH_EXCLUDE = "data-search-exclude"
"""Attribute that keeps an element (or a heading's section) out of the theme's search index."""

SEARCH_TOGGLE = "__search"
"""Id of the theme's search toggle: ``<label for="__search">`` opens the search."""

ARTICLE_OPEN = '<article class="md-content__inner md-typeset">'
"""Start of the element holding the page content in every page the theme writes."""

SEARCH_INDEX = {"mkdocs": ("search/search_index.json", "docs"), "zensical": ("search.json", "items")}
"""Engine -> (search index path in the site, key of its list of entries)."""

SEARCH_DEEP_LINK = "q"
"""Query parameter Material reads when it starts, to open its search with that text."""

PHONE_MEDIA = "(max-width: 44.984375em)"
"""Media query of the theme's phone layout (Material's ``$break-small-tablet`` below 720 px):
below it tables become cards and report charts switch to their narrow drawing. The same value
is written in ``assets/pmkb.css`` and ``assets/pmkb.js``."""

RESERVED_IDS = frozenset({
    "__search", "__drawer", "__toc", "__palette_0", "__palette_1", "__consent", "__code_0",
    "__config", "__settings", "__analytics", "__skip", "__nav_1", "__nav_1_label", "__codelineno",
    "__tabbed_1_1", "__mermaid_0", "__tooltip_0", "__code_0_annotation_1", "__md_scope", "__md_hash",
    "__md_get", "__md_set", "__palette", "__comments",
})
"""Element ids (and ``name`` / ``for`` values) that the theme's templates write or its scripts
look up, as found in Material 9.x (``tests/test_material.py`` reads every one out of the
installed templates and bundle and checks it is reserved). They all start with ``__``, the
theme's prefix, which :func:`reserved_id` reserves as a whole: the sanitiser drops an authored
``id``, ``for`` or ``name`` in it (DOM clobbering: ``document.querySelector("#__config")``
would find the post-mortem's element first), and the validator reports it (``reserved-id``)."""

RESERVED_ID_PREFIX = "__"

RESERVED_CLASS_PREFIX = "md-"
"""Material's class prefix: its stylesheet and scripts address the page's own parts with it
(``md-dialog``, ``md-header``, ``md-typeset``); an authored element in it could restyle or
cover the page, or be taken by a script for the theme's own."""

AUTHOR_CLASSES = frozenset({"md-button", "md-button--primary"})
"""Classes of the theme's prefix that its documentation tells authors to use (buttons)."""

RESERVED_CLASSES = frozenset({"mermaid", "pyodide", "glightbox"})
"""Classes outside the prefix that make the theme act on an element of the content, loading a
script from another host (no offline site, and code that is not the site's): ``mermaid``
(Material and Zensical load Mermaid from unpkg.com), ``pyodide`` (Zensical loads the Ace
editor from unpkg.com and Pyodide from cdn.jsdelivr.net, and runs the element's text as
Python), ``glightbox`` (Zensical loads GLightbox from unpkg.com)."""

THEME_GLOBALS = frozenset({"GLightboxOptions"})
"""Names the theme's scripts read as globals (``typeof X != "undefined" ? X : ...``) without
checking that the value is not an element: an element with that id would be what they read
(a browser makes every element id a property of ``window``: DOM clobbering). Globals they
check (``mermaid instanceof Element``: ``mermaid``, ``ace``, ``loadPyodide``, ``GLightbox``)
are not reserved, so a ``## Mermaid`` heading keeps its id. An authored id (``for``, ``name``)
equal to one is dropped and reported as :func:`reserved_id` values are."""

SCOPED_ID_LOOKUPS = {
    "mermaid": frozenset({
        "arrowhead", "flowchart-circleEnd", "flowchart-circleStart", "flowchart-crossEnd", "flowchart-crossStart",
        "flowchart-pointEnd", "flowchart-pointStart", "sequencenumber", "statediagram-barbEnd", "entity",
        "state-fork", "state-join", "-arrowhead", "-barbEnd", "-barbEnd-margin", "-crosshead", "-filled-head",
        "-sequencenumber", "-solidBottomArrowHead", "-solidTopArrowHead", "-stickBottomArrowHead",
        "-stickTopArrowHead", "-entity-",
    }),
    "pyodide": frozenset({"--clear", "--editor", "--output", "--run"}),
}
"""Ids (or the parts ``[id^=...]``, ``[id$=...]``, ``[id*=...]`` match) that the theme's scripts
look up only inside an element of one of :data:`RESERVED_CLASSES`: the theme's Mermaid
stylesheet, which styles the ids of the SVG Mermaid draws inside the diagram's shadow root,
and Zensical's Pyodide runner, which finds its editor and buttons inside its ``.pyodide``
element. No authored element reaches them: the sanitiser drops those classes.
``tests/test_sanitize.py`` reads every id selector out of the installed bundles and fails on
one that is neither reserved nor listed here."""

CONTENT_CLASSES = frozenset({
    "annotate", "highlight", "hll", "select", "copy", "no-copy", "no-select", "tabbed-labels", "tabbed-set",
    "footnote-ref", "c", "c1", "cm", "language", "tabbed-block", "tabbed-content",
})
"""Classes the theme's scripts look up inside the content that Markdown extensions write
(highlighted code, footnotes, tabs, annotations): authored ones are left alone, they only ask
for the behaviour the extension would give."""


def reserved_id(value: str) -> bool:
    """Whether an authored ``id`` (``for``, ``name``) is the theme's: it starts with ``__``, or
    it is a global the theme's scripts read unchecked (:data:`THEME_GLOBALS`)."""
    return value.startswith(RESERVED_ID_PREFIX) or value in THEME_GLOBALS


def reserved_id_reason(value: str) -> str:
    """Why :func:`reserved_id` holds for ``value``, in words, for a problem message."""
    if value.startswith(RESERVED_ID_PREFIX):
        return f"is in the theme's namespace (ids starting with '{RESERVED_ID_PREFIX}')"
    return f"is a global the theme's scripts read (window.{value})"


def reserved_class(name: str) -> bool:
    """Whether an authored class is the theme's (``md-...`` other than the buttons, ``mermaid``)."""
    return name in RESERVED_CLASSES or (name.startswith(RESERVED_CLASS_PREFIX) and name not in AUTHOR_CLASSES)


def page_title(title: str) -> str:
    """``title`` as the theme's templates need it: they write ``page.title`` into ``<title>``,
    the header and the ``<h1>`` unescaped, so markup in a title must arrive as HTML text."""
    return html.escape(title, quote=False)


def bundled_polyfills(polyfills: list, shim: str) -> list:
    """``extra.polyfills`` with the offline plugin's CDN ``iframe-worker`` shim replaced by
    ``shim`` (a site path of the bundled copy): the offline site must load nothing from
    another host."""
    return [shim if "iframe-worker" in str(url) else url for url in polyfills]


OFFLINE_FETCH_FEATURES = ("navigation.instant",)
"""Theme features that load pages or data with ``fetch``, which fails on a site opened from
``file://``: Material's "Building for offline usage" (Limitations) says to disable instant
loading (``navigation.instant`` and its ``.prefetch``, ``.progress``, ``.preview`` parts) when
building for offline use. Kept on, Material 9.x's instant navigation gives up under ``file:``
and its document observable never emits: neither its components (table wrappers, search) nor
the scripts of ``extra_javascript`` that wait for it run (a ledger of 167 rows stayed a raw table
at 390 px). Zensical (0.0.73) has not this limit: its theme skips instant navigation under
``file:`` and still mounts the page, so its offline build keeps the feature
(``tests/test_e2e_browser.py`` checks both from disk)."""

OFFLINE_FETCH_EXTRAS = ("analytics", "version")
"""Keys of ``extra`` whose theme features fetch (the same Limitations list): site analytics
(``extra.analytics``) and versioning (``extra.version``, which fetches ``versions.json``).
The other two the documentation lists need no setting here: the repository facts of
``repo_url`` fail quietly (the link stays), and comment systems are template overrides."""


OFFLINE_SETUP = ("plugins: - offline: {enabled: !ENV [OFFLINE, false]} and theme: font: false, "
                 "as the shipped mkdocs.yml has")


def offline_gaps(requested: str | None, offline_plugin: bool, font) -> list[str]:
    """What keeps an ``OFFLINE=true`` build from working opened from disk, as warnings.

    Args:
        requested: the ``OFFLINE`` environment variable (``None`` when unset); ``true``, ``1``,
            ``yes`` or ``on`` (any case) ask for an offline build.
        offline_plugin: whether the configuration has Material's ``offline`` plugin, enabled.
        font: the theme's ``font`` setting (``False``: the system fonts; anything else, the
            default included, loads Google Fonts from fonts.googleapis.com).

    Returns:
        One message per gap (none when ``OFFLINE`` does not ask for it): the environment
        variable does nothing by itself, only through the plugin entry (Material's "Building
        for offline usage"), without which links stay directory URLs that ``file://`` cannot
        open; and the fonts are fetched from another host.
    """
    if str(requested or "").strip().lower() not in ("true", "1", "yes", "on"):
        return []
    gaps = []
    if not offline_plugin:
        gaps.append("OFFLINE=true is set but mkdocs.yml has no enabled 'offline' plugin, so this build is not an "
                    "offline one: its links are directory URLs and its search needs a web server, neither works "
                    f"opened from disk (file://); add {OFFLINE_SETUP}")
    if font is not False:
        gaps.append("OFFLINE=true is set but the theme loads its fonts from fonts.googleapis.com (the theme's "
                    "default), which an offline reader cannot reach; set theme: font: false")
    return gaps


def offline_features(features: Sequence[str]) -> tuple[list[str], list[str]]:
    """``features`` (the theme's ``features`` list) split into ``(kept, dropped)`` for a site
    opened from the file system: dropped are :data:`OFFLINE_FETCH_FEATURES` and their
    sub-features (``navigation.instant.prefetch``), in their order; the rest is kept as given."""
    kept, dropped = [], []
    for feature in features or []:
        name = str(feature)
        if any(name == f or name.startswith(f + ".") for f in OFFLINE_FETCH_FEATURES):
            dropped.append(name)
        else:
            kept.append(feature)
    return kept, dropped


def offline_extra(extra: Mapping) -> tuple[dict, list[str]]:
    """``extra`` without the :data:`OFFLINE_FETCH_EXTRAS` it sets, and the names of those it
    dropped (``["extra.analytics"]``); ``extra`` itself is not changed."""
    kept = dict(extra or {})
    dropped = [f"extra.{key}" for key in OFFLINE_FETCH_EXTRAS if kept.pop(key, None) is not None]
    return kept, dropped


SKIP_ANCHOR = '<a id="__skip" tabindex="-1"></a>'
"""Zensical's first element of the article: the target of its "skip to content" link."""


SYNONYM_FIELD = "synonyms"
"""The field of Material's search index that holds a post-mortem page's synonyms."""


def add_search_field(index: str, name: str, values: Mapping[str, Sequence[str]], like: str = "tags") -> str:
    """Material's search index (the text of ``search/search_index.json``) with a field ``name``
    weighted as the field ``like`` (``tags``: Material's default boost is 10^6): every entry whose
    ``location`` is a key of ``values`` (a page URL, ``a/`` or ``a.html``; the page's first
    section) gets the terms of that key, joined by ", ".

    The worker indexes the field but never shows it, so a post-mortem found by a synonym ranks as
    high as one with the word in its tags, without the synonym appearing in its result.

    Raises:
        ValueError: ``index`` is not Material's index (no ``config.fields`` or ``docs``).
    """
    data = json.loads(index)
    try:
        fields, docs = data["config"]["fields"], data["docs"]
    except (KeyError, TypeError) as exc:
        raise ValueError("not a Material search index (config.fields, docs)") from exc
    fields[name] = {"boost": (fields.get(like) or {}).get("boost", 1e6)}
    for doc in docs:
        terms = values.get(doc.get("location", ""))
        if terms:
            doc[name] = ", ".join(terms)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


_ARTICLE_END = "</article>"
_WHITESPACE = re.compile(r"\s+")


def sanitize_article(page: str, sanitize: Callable[[str], str]) -> str:
    """``page`` (a whole HTML page the theme wrote) with the content of its article run
    through ``sanitize``; a page without an article is returned unchanged."""
    start = page.find(ARTICLE_OPEN)
    if start < 0:
        return page
    start += len(ARTICLE_OPEN)
    skip = page.find(SKIP_ANCHOR, start, start + 200)  # the theme's own target of "skip to content"
    if skip >= 0 and not page[start:skip].strip():
        start = skip + len(SKIP_ANCHOR)
    end = page.rfind(_ARTICLE_END)
    if end < start:
        return page
    return page[:start] + sanitize(page[start:end]) + page[end:]


_TAGS_NAV = re.compile(r'<nav class="md-tags"[^>]*>.*?</nav>\s*', re.S)


def without_tags_nav(article: str) -> str:
    """``article`` without the line of tag chips Zensical's theme writes under the content of a
    page whose front matter has ``tags`` (``partials/tags.html``: ``<nav class="md-tags">``).
    Material for MkDocs writes it only with its tags plugin, which the knowledge base does not
    use: a post-mortem's ``tags`` are there for search (its tags, services and id rank it first),
    and its card shows its tags as links. Removed before the article is sanitised (which would
    leave the chips as a line of bare words)."""
    return _TAGS_NAV.sub("", article) if '<nav class="md-tags"' in article else article
