"""The HTML sanitiser of every page the site publishes from an authored Markdown file.

One allow-list (:data:`ALLOWED_TAGS`, :data:`ALLOWED_ATTRIBUTES`) for the MkDocs adapter
(each page's HTML, :func:`generator.plugin.PostmortemsPlugin.on_page_content`) and the
Zensical adapter (the article of each written page, :mod:`generator.zensical`), so both
engines publish the same markup. The validator's ``unsafe-html`` rule flags what this strips.
"""

from __future__ import annotations

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "input", "ins", "kbd", "label", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    "var",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir"},
    "div": {"data-search-exclude"},
    "dl": {"data-search-exclude"},
    "h1": {"data-search-exclude"},
    "h2": {"data-search-exclude"},
    "h3": {"data-search-exclude"},
    "h4": {"data-search-exclude"},
    "h5": {"data-search-exclude"},
    "h6": {"data-search-exclude"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"colspan", "rowspan", "align", "style"},
    "th": {"colspan", "rowspan", "align", "style"},
    "col": {"span"},
    "ol": {"start", "type", "reversed"},
    "details": {"open"},
    "input": {"checked", "disabled"},
    "label": {"for"},
    "code": {"data-lang"},
}


def sanitize_html(html: str) -> str:
    """Remove everything executable from HTML rendered from a post-mortem, keep Material's markup.

    Uses nh3 (the ammonia HTML sanitiser): an allow-list of tags and attributes; ``<script>``
    and ``<style>`` go with their content, ``on*=`` attributes are dropped, URLs must be
    relative or ``http``/``https``/``mailto`` (so ``javascript:`` links lose their ``href``),
    and inline styles keep only ``text-align`` (Markdown table alignment). Classes, ids and
    titles stay, so admonitions, highlighted code, tables, heading anchors and the summary
    card render as before.
    """
    global _CLEANER
    if _CLEANER is None:  # built once: converting the allow-lists is a fifth of each call
        import nh3

        _CLEANER = nh3.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            tag_attribute_values={"input": {"type": {"checkbox"}}},
            url_schemes={"http", "https", "mailto"},
            filter_style_properties={"text-align"},
            link_rel=None,
            strip_comments=True,
        )
    return _CLEANER.clean(html)


_CLEANER = None
