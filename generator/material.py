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
- the offline plugin puts a CDN copy of the ``iframe-worker`` shim into ``extra.polyfills``
  (:func:`bundled_polyfills` swaps in the bundled copy);
- the search box is the ``<input id="__search">`` toggle a ``<label for="__search">`` opens.
"""

from __future__ import annotations

import html
import re
from typing import Callable

SEARCH_EXCLUDE = "data-search-exclude"
"""Attribute that keeps an element (or a heading's section) out of the theme's search index."""

SEARCH_TOGGLE = "__search"
"""Id of the theme's search toggle: ``<label for="__search">`` opens the search."""

ARTICLE_OPEN = '<article class="md-content__inner md-typeset">'
"""Start of the element holding the page content in every page the theme writes."""

SEARCH_INDEX = {"mkdocs": ("search/search_index.json", "docs"), "zensical": ("search.json", "items")}
"""Engine -> (search index path in the site, key of its list of entries)."""

RESERVED_IDS = frozenset({
    "__search", "__drawer", "__toc", "__palette_0", "__palette_1", "__consent", "__code_0",
})
"""Element ids the theme's templates and scripts look up (``robust`` completes the list for the
sanitiser's DOM-clobbering rule)."""


def page_title(title: str) -> str:
    """``title`` as the theme's templates need it: they write ``page.title`` into ``<title>``,
    the header and the ``<h1>`` unescaped, so markup in a title must arrive as HTML text."""
    return html.escape(title, quote=False)


def bundled_polyfills(polyfills: list, shim: str) -> list:
    """``extra.polyfills`` with the offline plugin's CDN ``iframe-worker`` shim replaced by
    ``shim`` (a site path of the bundled copy): the offline site must load nothing from
    another host."""
    return [shim if "iframe-worker" in str(url) else url for url in polyfills]


_ARTICLE_END = "</article>"
_WHITESPACE = re.compile(r"\s+")


def sanitize_article(page: str, sanitize: Callable[[str], str]) -> str:
    """``page`` (a whole HTML page the theme wrote) with the content of its article run
    through ``sanitize``; a page without an article is returned unchanged."""
    start = page.find(ARTICLE_OPEN)
    if start < 0:
        return page
    start += len(ARTICLE_OPEN)
    end = page.rfind(_ARTICLE_END)
    if end < start:
        return page
    return page[:start] + sanitize(page[start:end]) + page[end:]

