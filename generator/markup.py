"""Links between the site's pages and tables, for every page the renderer writes.

:class:`Links` knows how an engine turns a docs-relative source path into a URL (MkDocs and
Zensical alike: ``a/b.md`` is ``a/b/`` with ``use_directory_urls``, ``a/b.html`` without,
``a/index.md`` is ``a/``) and writes either kind of link a page needs:

- :meth:`Links.a`: a raw HTML ``<a>`` with the final relative URL (tables, cards, related
  lists: raw HTML, which Markdown passes through without running its inline patterns over
  thousands of rows);
- :meth:`Links.md`: a Markdown link to the relative *source* path (``../clusters/c-x.md``),
  which the engine resolves and, in a strict MkDocs build, checks.

A :class:`Links` built with ``use_directory_urls=None`` writes no links at all (plain text:
``pmkb report --format md``).

:func:`table` writes one table as HTML or as Markdown.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence

from .escape import html_text, md_text, url_quote
from .paths import Listings

_HTTP_URL = re.compile(r"https?://[^\s]+$", re.IGNORECASE)


class Links:
    """Relative links from one page (``here``, docs-relative) to the others.

    Args:
        from_source: raw-HTML URLs relative to the source file's folder (Zensical) instead of
            the page's URL (MkDocs); see :meth:`href`.
        use_directory_urls: the engine's setting (``True``: ``a/b/``; ``False``: ``a/b.html``,
            the offline build); ``None``: no links, labels only (CLI Markdown).
        here: the docs-relative source path of the page being written.
        listings: which services and tags have a page of their own (:meth:`listed`); default:
            all of them.
    """

    def __init__(self, use_directory_urls: bool | None = True, here: str = "index.md",
                 _urls: dict[str, str] | None = None, from_source: bool = False,
                 listings: Listings | None = None):
        self.use_directory_urls = use_directory_urls
        self.here = here
        self.from_source = from_source
        self.listings = listings or Listings()
        self._urls = {} if _urls is None else _urls

    def at(self, here: str) -> "Links":
        """The same links written from another page (the URL cache and listings are shared)."""
        return Links(self.use_directory_urls, here, self._urls, self.from_source, self.listings)

    @property
    def linked(self) -> bool:
        """Whether links are written (False for plain-text output)."""
        return self.use_directory_urls is not None

    def url(self, page: str) -> str:
        """Site-relative URL of a docs-relative page (``""`` for the home page); a path that
        is not a ``.md`` page (an SVG, an export) is its own URL."""
        url = self._urls.get(page)
        if url is None:
            url = self._urls[page] = self._url(page)
        return url

    def _url(self, page: str) -> str:
        if not page.endswith(".md"):
            return page
        stem = page[:-3]
        if not self.use_directory_urls:
            return stem + ".html"
        if stem == "index" or stem == "README":
            return ""
        if stem.endswith(("/index", "/README")):
            return stem.rsplit("/", 1)[0] + "/"
        return stem + "/"

    def href(self, to_page: str, fragment: str = "") -> str:
        """URL of ``to_page`` relative to this page, escaped for an ``href`` attribute.

        Relative to the page's URL (MkDocs passes raw HTML through as it is), or, with
        ``from_source``, to the source file's folder (Zensical rewrites relative URLs in raw
        HTML as it rewrites Markdown links, from the source file's place to the page's URL)."""
        source, target = self.url(self.here), self.url(to_page)
        if self.from_source:
            source = self.here
        base = source.split("/")[:-1]           # the folder the browser resolves against
        parts = target.split("/")
        common = 0
        while common < len(base) and common < len(parts) - 1 and base[common] == parts[common]:
            common += 1
        relative = "../" * (len(base) - common) + "/".join(parts[common:])
        return html_text((relative or "./") + (f"#{fragment}" if fragment else ""))

    def a(self, to_page: str, label: object, css: str = "", fragment: str = "") -> str:
        """An HTML ``<a>`` to ``to_page`` (and ``#fragment``, URL-quoted) with ``label`` escaped
        (the escaped label alone when not :attr:`linked`)."""
        if not self.linked:
            return html_text(label)
        cls = f' class="{css}"' if css else ""
        return f'<a href="{self.href(to_page, url_quote(fragment))}"{cls}>{html_text(label)}</a>'

    def listed(self, kind: str, value: str) -> str:
        """An HTML ``<a>`` to a service or tag (``kind``: ``service`` or ``tag``): its own page,
        or its row in the overview (:meth:`generator.paths.Listings.link`)."""
        page, fragment = self.listings.link(kind, value)
        return self.a(page, value, fragment=fragment)

    def source_path(self, to_page: str) -> str:
        """``to_page`` relative to this page's folder, as a source path (``../x.md``)."""
        folder = posixpath.dirname(self.here)
        return posixpath.relpath(to_page, folder or ".")

    def md(self, to_page: str, label: object) -> str:
        """A Markdown link ``[label](relative source path)`` (``label`` escaped); the label
        alone when not :attr:`linked`."""
        text = md_text(label)
        if not self.linked:
            return text
        return f"[{text}]({url_quote(self.source_path(to_page))})"

    def ticket(self, ticket: str | None, html: bool = False) -> str:
        """An action item's ticket, ``—`` when missing. An ``http(s)://`` URL (any case of the
        scheme) becomes a link; anything else is text (a ``javascript:`` value never becomes a
        link). Markdown by default (an autolink ``<url>`` when not :attr:`linked`), HTML with
        ``html=True``."""
        value = " ".join(str(ticket).split()) if ticket else ""
        if not value:
            return "—"
        if not _HTTP_URL.match(value):
            return html_text(value) if html else md_text(value)
        if html:
            return f'<a href="{html_text(value)}">{html_text(value)}</a>'
        return f"[{md_text(value)}]({url_quote(value)})" if self.linked else f"<{url_quote(value)}>"


def table(header: Sequence[str], rows: Iterable[Sequence[object]], align: str = "", html: bool = False) -> str:
    """A table with ``header`` and ``rows``; cells are already escaped (they may hold links).

    Args:
        align: one letter per column, ``l`` or ``r`` (default ``l``).
        html: an HTML ``<table>`` (cells separated by a space: Material's search parser joins
            adjacent text nodes, so ``<td>a</td><td>b</td>`` would be indexed as ``ab``)
            instead of a Markdown table.
    """
    if html:
        def cell(tag: str, i: int, value: object) -> str:
            style = ' style="text-align:right"' if align[i:i + 1] == "r" else ""
            return f"<{tag}{style}>{'' if value is None else value}</{tag}>"

        head = " ".join(cell("th", i, h) for i, h in enumerate(header))
        body = "\n".join("<tr>" + " ".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"
    marks = ["---:" if (align[i:i + 1] == "r") else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    for row in rows:
        lines.append("| " + " | ".join("" if c is None else str(c) for c in row) + " |")
    return "\n".join(lines) + "\n"
