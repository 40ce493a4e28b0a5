"""The HTML sanitiser of every page the site publishes from an authored Markdown file.

One allow-list (:data:`ALLOWED_TAGS`, :data:`ALLOWED_ATTRIBUTES`) for the MkDocs adapter
(each page's HTML, :func:`generator.plugin.PostmortemsPlugin.on_page_content`) and the
Zensical adapter (the article of each written page, :mod:`generator.zensical`), so both
engines publish the same markup. The validator's ``unsafe-html``, ``reserved-id`` and
``reserved-class`` rules flag what this strips, by asking the same policy
(:func:`element_verdict`, :func:`attribute_verdict`): ``validate`` and the site never disagree.

The page is the theme's as much as the post-mortem's: authored ids, ``for`` and ``name``
values in the theme's ``__`` namespace, and classes in its ``md-`` namespace (and ``mermaid``),
are dropped (:mod:`generator.material` says which), so no post-mortem can clobber an element
the theme's scripts look up or dress up as part of the theme.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Sequence

from . import blocks as blocks_
from . import material, scan

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


ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
ALLOWED_STYLE_PROPERTIES = frozenset({"text-align"})
ALLOWED_ATTRIBUTE_VALUES = {"input": {"type": frozenset({"checkbox"})}}
_CONTENT_REMOVED = frozenset({"script", "style"})  # nh3 removes these with their content
_URL_ATTRIBUTES = frozenset({"href", "src"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_URL_NOISE = re.compile(r"[\t\n\r]")
_IDENTIFIERS = frozenset({"id", "for", "name"})

OWN_CLASS_PREFIX = "pmkb-"
"""Classes of the knowledge base's own markup (the card, the SEV badge, tracked action items,
Related incidents, tables, the exact-id hint), styled by ``pmkb.css`` and read by ``pmkb.js``.
An author's element never keeps one (a post-mortem could otherwise show a forged SEV1 badge, a
fake "Related incidents" list or a control the script acts on): see :func:`sanitize_postmortem_page`."""

def sanitize_own_html(html: str) -> str:
    """:func:`sanitize_html` for HTML the knowledge base built itself from escaped values (a
    post-mortem's card, tracked action items, Related incidents): its ``pmkb-`` classes stay.
    Comments and the ``data-pmkb`` of a mark go (marks are put in after cleaning)."""
    return _clean(html, own=True)


def own_class(name: str) -> bool:
    """Whether ``name`` is a class of the knowledge base's own markup (``pmkb-...``)."""
    return name.startswith(OWN_CLASS_PREFIX)


def element_verdict(tag: str) -> str | None:
    """What the sanitiser does to an authored element ``tag`` (lower case) that it does not
    keep, in words, or ``None`` when it keeps it."""
    if tag in ALLOWED_TAGS:
        return None
    if tag in _CONTENT_REMOVED:
        return f"the site removes <{tag}> with its content"
    return f"the site removes the <{tag}> tag (its text stays)"


def attribute_verdict(tag: str, name: str, value: str | None) -> tuple[str, str] | None:
    """What the sanitiser does to attribute ``name`` (lower case) with ``value`` (as written,
    entities not decoded) on a kept element ``tag``: ``(code, why)`` with the validator's code
    (``unsafe-html``, ``reserved-id``, ``reserved-class``), or ``None`` when it is kept as is."""
    allowed = ALLOWED_ATTRIBUTES.get("*", set()) | ALLOWED_ATTRIBUTES.get(tag, set())
    values = ALLOWED_ATTRIBUTE_VALUES.get(tag, {}).get(name)
    if values is not None:
        if (value or "").strip().lower() not in values:
            return "unsafe-html", f"the site removes {name}={value!r} from <{tag}> (it keeps only {', '.join(sorted(values))})"
        return None
    if name not in allowed:
        return "unsafe-html", f"the site removes the '{name}' attribute of <{tag}>"
    text = _html.unescape(value or "")
    if name in _IDENTIFIERS and material.reserved_id(text):
        return "reserved-id", f"{name}={text!r} on <{tag}> {material.reserved_id_reason(text)}, so the site removes it"
    if name == "class":
        theirs = [c for c in text.split() if material.reserved_class(c)]
        if theirs:
            return "reserved-class", (f"class {' '.join(theirs)!r} on <{tag}> is the theme's own, so the site "
                                      "removes it")
        ours = [c for c in text.split() if own_class(c)]
        if ours:
            return "reserved-class", (f"class {' '.join(ours)!r} on <{tag}> is the knowledge base's own (its "
                                      "cards, badges and lists), so the site removes it")
    if name in _URL_ATTRIBUTES:
        why = url_verdict(text, image=tag == "img" and name == "src")
        if why:
            return "unsafe-html", f"the site removes {name}= of <{tag}>: {why}"
    if name == "style":
        others = [d.split(":", 1)[0].strip().lower() for d in text.split(";") if d.strip()]
        others = [prop for prop in others if prop not in ALLOWED_STYLE_PROPERTIES]
        if others:
            return "unsafe-html", f"the site removes the style {', '.join(others)} of <{tag}> (it keeps only text-align)"
    return None


_ELEMENT_NAME = re.compile(r"[a-z][a-z0-9-]*")


def removed_parts(tag: scan.Tag) -> list[tuple[str, str]]:
    """What the sanitiser removes from an authored start tag (:func:`generator.scan.html_tags`),
    as ``(problem code, what in words)``: the element (:func:`element_verdict`), else each
    attribute it drops (:func:`attribute_verdict`). Left out: what would run script (a
    dangerous element, ``on*=``, a ``javascript:`` URL: :func:`generator.scan.executable_parts`
    says so), the ``markdown`` switch of md_in_html (consumed on a raw HTML block; where it
    stays, on an inline element, dropping it changes nothing a reader sees), end tags and
    names that are no element (``<a:b>``)."""
    if tag.closing or tag.name in scan.DANGEROUS_TAGS or not _ELEMENT_NAME.fullmatch(tag.name):
        return []
    removed = element_verdict(tag.name)
    if removed:
        return [("unsafe-html", f"<{tag.name}> is not HTML the site keeps: {removed}")]
    found = []
    for name, value in tag.attrs:
        if name == "markdown":
            continue
        if name.startswith("on") or (name in scan._URL_ATTRS and value
                                      and scan.unsafe_scheme(_html.unescape(value), name in scan._EMBED_ATTRS)):
            continue
        verdict = attribute_verdict(tag.name, name, value)
        if verdict:
            found.append(verdict)
    return found


_DATA_IMAGE = re.compile(r"data:image/(?:png|jpe?g|gif|webp|avif|bmp)[;,]", re.I)


def url_verdict(url: str, image: bool = False) -> str | None:
    """Why the sanitiser removes the URL ``url`` (entities decoded) of a link, or of an image
    when ``image``, or ``None`` when it keeps it: it keeps relative URLs, http, https and
    mailto, and for images ``data:image/`` PNG, JPEG, GIF, WebP, AVIF and BMP."""
    scheme = url_scheme(url)
    if scheme is None or scheme in ALLOWED_URL_SCHEMES:
        return None
    if image and scheme == "data" and _DATA_IMAGE.match(_URL_NOISE.sub("", url).lstrip("".join(map(chr, range(33))))):
        return None
    kept = "http, https, mailto and relative URLs" + (" and data:image/ pictures" if image else "")
    return f"it keeps only {kept}, not {scheme}:"


def url_scheme(url: str) -> str | None:
    """The scheme of ``url`` (entities already decoded) as a browser reads it, lower case, or
    ``None`` for a relative URL: leading spaces and control characters, and any tab or line
    break, are ignored."""
    m = _SCHEME.match(_URL_NOISE.sub("", url).lstrip("".join(map(chr, range(33)))))
    return m.group(1).lower() if m else None


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: drop ids and names in the theme's namespace, and its classes; of
    the ``data:`` URLs the cleaner lets through, keep only pictures in an image's ``src``."""
    if attribute in _URL_ATTRIBUTES and url_scheme(value) == "data":
        return value if url_verdict(value, image=element == "img" and attribute == "src") is None else None
    if attribute in _IDENTIFIERS:
        return None if material.reserved_id(value) else value
    if attribute == "class":
        kept = [c for c in value.split() if not material.reserved_class(c) and not own_class(c)]
        return " ".join(kept) if kept else None
    return value


def _keep_own_attribute(element: str, attribute: str, value: str) -> str | None:
    """:func:`_keep_attribute` for the knowledge base's own additions: its classes stay."""
    if attribute == "class":
        kept = [c for c in value.split() if not material.reserved_class(c)]
        return " ".join(kept) if kept else None
    return _keep_attribute(element, attribute, value)


def _needs_filter(html: str) -> bool:
    """Whether ``html`` may hold an id or class of the theme, or a ``data:`` URL (most pages do
    not: the filter, a Python call per attribute, is then skipped, and the plain cleaner
    removes every ``data:`` URL). Entities (``&#100;ata:``) count as a possible ``data:``."""
    return _FILTER_HINT.search(html) is not None


_FILTER_HINT = re.compile("|".join((re.escape(material.RESERVED_ID_PREFIX), re.escape(material.RESERVED_CLASS_PREFIX),
                                    re.escape(OWN_CLASS_PREFIX),
                                    *sorted(material.RESERVED_CLASSES), *sorted(material.THEME_GLOBALS),
                                    "&#", "[dD][aA][tT][aA]:")))


# --- keeping nh3 linear ---------------------------------------------------------------------
#
# nh3 (ammonia, html5ever) takes time that grows with the square of the number of characters it
# escapes again when it writes one text node: '&' (as &amp;) and U+00A0 (as &nbsp;). 400,000
# no-break spaces in one paragraph took 2.6 s, 1,000,000 about 17 s (a pasted log line of tabs
# and no-break spaces); '<' and '>' cost nothing. Split into text nodes of a bounded length,
# the same text costs time in proportion to its length, and the page is the same: the split is
# an empty comment, which the cleaner removes (strip_comments), and two adjacent text nodes are
# written as one. Only text outside tags, comments and raw-text elements is split, and never
# inside a character reference (a split goes just before an '&' or a U+00A0).

ESCAPED_RUN = 2048
"""Characters nh3 escapes again (``&``, U+00A0) in one text node above which that text node is
split (:func:`_split_long_text`): below it the quadratic cost is a few milliseconds."""

_ESCAPED = re.compile("[&\u00a0]")
_ASCII_LETTER = re.compile("[A-Za-z]")
_RAW_TEXT = re.compile(r"(?:script|style|textarea|title|xmp|iframe|noembed|noframes|noscript|plaintext)(?![\w-])",
                       re.I)
_TAG = re.compile(r"</?[A-Za-z][^\t\n\f />]*(?:[^>\"']|\"[^\"]*(?:\"|\Z)|'[^']*(?:'|\Z))*>?")
# (a quote with no closing one runs to the end: the tag may end later than the browser's, never
# earlier, so no comment is put inside what the browser reads as a tag: '<b "&...' is all tag)


def _split_long_text(html: str) -> str:
    """``html`` with an empty comment inserted every :data:`ESCAPED_RUN` escaped characters of
    any text node that holds more of them; the page nh3 writes from it is unchanged.

    A linear walk: text up to the next ``<``; a comment, ``<!...>``, ``<?...>`` or CDATA
    section skipped whole; a tag read with its quoted values (a quote anywhere in a tag is read
    as opening one, one never closed runs to the end of the input, so a tag is never taken to
    end before the browser ends it); after the start
    tag of a raw-text element (``script``, ``textarea``, ``title`` ...), everything up to its end
    tag is left as it is."""
    out, pos, n = [], 0, len(html)
    while pos < n:
        lt = html.find("<", pos)
        end = n if lt < 0 else lt
        if end > pos:
            out.append(_split_text(html, pos, end))
        if lt < 0:
            break
        if html.startswith("<!--", lt):
            close = html.find("-->", lt + 4)
            pos = n if close < 0 else close + 3
        elif html.startswith("<![CDATA[", lt):
            close = html.find("]]>", lt)
            pos = n if close < 0 else close + 3
        elif html.startswith(("<!", "<?"), lt) or (html.startswith("</", lt) and not _ASCII_LETTER.match(html, lt + 2)):
            close = html.find(">", lt)  # a bogus comment ('</' and no letter too): up to the next '>'
            pos = n if close < 0 else close + 1
        else:
            m = _TAG.match(html, lt)
            if m is None:  # '<' not starting a tag: text
                out.append("<")
                pos = lt + 1
                continue
            pos = m.end()
            if html[lt + 1] != "/" and _RAW_TEXT.match(html, lt + 1):
                name = _RAW_TEXT.match(html, lt + 1).group(0).lower()
                if name == "plaintext":
                    pos = n
                else:
                    close = _find_ci(html, "</" + name, pos)
                    pos = n if close < 0 else close
        out.append(html[lt:pos])
    return "".join(out)


def _find_ci(text: str, needle: str, start: int) -> int:
    """Where ``needle`` (lower case) is in ``text`` from ``start`` on, in any case, or -1."""
    m = re.compile(re.escape(needle), re.I).search(text, start)
    return m.start() if m else -1


def _split_text(html: str, start: int, end: int) -> str:
    """The text ``html[start:end]``, with ``<!---->`` before every :data:`ESCAPED_RUN`-th
    escaped character."""
    text = html[start:end]
    if len(text) <= ESCAPED_RUN:
        return text
    pieces, at, count = [], 0, 0
    for m in _ESCAPED.finditer(text):
        count += 1
        if count > ESCAPED_RUN:
            pieces.append(text[at:m.start()])
            pieces.append("<!---->")
            at, count = m.start(), 1
    if not pieces:
        return text
    pieces.append(text[at:])
    return "".join(pieces)


def _may_be_slow(html: str) -> bool:
    """Whether ``html`` holds more than :data:`ESCAPED_RUN` characters nh3 escapes again (most
    pages hold a few dozen; then nothing is split)."""
    return html.count("&") + html.count("\u00a0") > ESCAPED_RUN


def sanitize_html(html: str) -> str:
    """Remove everything executable from HTML rendered from a post-mortem, keep Material's markup.

    Uses nh3 (the ammonia HTML sanitiser): an allow-list of tags and attributes; ``<script>``
    and ``<style>`` go with their content, ``on*=`` attributes are dropped, URLs must be
    relative or ``http``/``https``/``mailto`` (so ``javascript:`` links lose their ``href``),
    and inline styles keep only ``text-align`` (Markdown table alignment). Classes, ids and
    titles stay, so admonitions, highlighted code, tables, heading anchors and footnotes
    render as before, except ids, ``for`` and ``name`` values starting with ``__`` (or naming a
    global the theme reads, :data:`generator.material.THEME_GLOBALS`) and classes of the theme
    (``md-...``, ``mermaid``, ``pyodide``, ``glightbox``), which are dropped (DOM clobbering).
    """
    return _clean(html, own=False)


def sanitize_postmortem_page(html: str, marks: blocks_.Marks, blocks=()) -> str:
    """:func:`sanitize_html` for the HTML of a post-mortem page an engine built from the whole
    :attr:`generator.pages.PostmortemPage.markdown` (Zensical): the parts between the
    ``marks.own`` marks that the renderer wrote (the card, then the tracked action items and
    Related incidents) keep the knowledge base's ``pmkb-`` classes; everything else (the
    author's body, and what Markdown moves after the page, footnotes) loses them. Each part is
    cleaned on its own, so an unclosed element of the author's ends before the next part. A
    page without exactly four own marks (an unclosed code block swallowed some) is cleaned as
    the author's throughout: our additions then lose their styling, never the reverse.

    Our HTML blocks (``blocks``, :attr:`generator.pages.PostmortemPage.blocks`, cleaned by
    :func:`sanitize_own_html` when the page was rendered) go in place of their marks; the marks
    carry the page's nonce (:class:`generator.blocks.Marks`), which its body does not hold, so
    a body cannot call for a block. The card's part is filled, then cleaned as a whole (its
    facts' mark is inside the card's element); the sections' part is cleaned around its marks,
    which are lines between its headings, and filled after (its blocks are not cleaned a second
    time: 38 attributes a page through a Python callback, on 3,000 pages).

    Args:
        html: the page's article HTML as the engine rendered it.
        marks: the page's marks (:attr:`generator.pages.PostmortemPage.marks`).
        blocks: the page's HTML blocks, mark ``n`` is ``blocks[n]``.

    Returns:
        The sanitised HTML, every mark of the page replaced (or removed).
    """
    parts = marks.split_own(html)
    if len(parts) != 5:
        return _clean(marks.fill(html, blocks), own=False)
    out = []
    for index, part in enumerate(parts):
        if not part:
            continue
        if index not in (1, 3):
            out.append(_clean(part, own=False))
        elif index == 1:
            out.append(_clean(marks.fill(part, blocks), own=True))
        else:  # split_marks: text, mark, text, ..., text; the text cleaned, then the blocks in
            pieces = marks.split_marks(part)
            out.append(marks.fill("".join(piece if i % 2 else _clean(piece, own=True)
                                          for i, piece in enumerate(pieces)), blocks))
    return "\n".join(out)


def sanitize_postmortem_body(html: str, marks: blocks_.Marks, blocks, headings: Sequence[str],
                             sections: Sequence[tuple[str, str, int]]) -> str:
    """The HTML of a post-mortem page for an adapter that renders only the author's part with the
    engine's Markdown (MkDocs: :attr:`generator.pages.PostmortemPage.body_markdown`): the card,
    ``html`` (the body as the engine rendered it) cleaned as the author's, then our sections.

    Once :func:`fill_unsearched` has put the unsearched blocks in, the same page as
    :func:`sanitize_postmortem_page` makes of the whole
    :attr:`~generator.pages.PostmortemPage.markdown` rendered (the tests compare the two), without
    Python-Markdown reading our marks and headings on every page: the unsearched blocks' marks
    stay for :func:`fill_unsearched`.

    Args:
        html: the engine's HTML of the body.
        marks: the page's marks; ``blocks`` its HTML blocks (block 0 is the card).
        headings: the HTML of each section's heading as the engine renders
            :func:`generator.pages.section_heading` (cleaned as ours: :func:`sanitize_own_html`),
            one per ``sections`` entry.
        sections: :attr:`~generator.pages.PostmortemPage.sections`: ``(title, anchor, n)``.

    Returns:
        The page's HTML, the unsearched blocks' marks in it.
    """
    out = [marks.fill(marks.block(0), blocks, unsearched=False, terms=False)]
    body = html.strip("\n")
    if body:
        out.append(_clean(body, own=False))
    out.append("".join(("\n\n" if i else "") + heading + "\n" + marks.unsearched(n)
                       for i, (heading, (_, _, n)) in enumerate(zip(headings, sections))))
    return "\n".join(out)


def fill_unsearched(html: str, marks: blocks_.Marks, blocks) -> str:
    """A page's HTML (its article) with each unsearched block mark that
    :func:`sanitize_postmortem_page` kept replaced by its block (cleaned when the page was
    rendered); the MkDocs adapter calls it after search indexed the page."""
    return marks.fill(html, blocks, searched=False, terms=True)


_NOT_PLAIN = re.compile("[<>&\xa0\r\x00\ufeff]")
"""What makes the cleaner's output differ from its input: markup, entities, the characters it
escapes (U+00A0 as ``&nbsp;``) or drops or normalises (NUL, CR, a byte-order mark). Text
without them comes out as it went in (checked over random strings), so it is not parsed: most
search-index titles, for one (a Zensical build cleans two fields of every entry)."""


def _clean(html: str, own: bool) -> str:
    return _parsed_clean(html, own) if _NOT_PLAIN.search(html) else html


def _parsed_clean(html: str, own: bool) -> str:
    filtered = _needs_filter(html)
    cleaner = _CLEANERS.get((filtered, own))
    if cleaner is None:  # built once: converting the allow-lists is a fifth of each call
        import nh3

        cleaner = _CLEANERS[(filtered, own)] = nh3.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            tag_attribute_values={tag: {name: set(values) for name, values in attrs.items()}
                                  for tag, attrs in ALLOWED_ATTRIBUTE_VALUES.items()},
            url_schemes=set(ALLOWED_URL_SCHEMES) | ({"data"} if filtered else set()),
            filter_style_properties=set(ALLOWED_STYLE_PROPERTIES),
            link_rel=None,
            strip_comments=True,
            attribute_filter=(_keep_own_attribute if own else _keep_attribute) if filtered else None,
        )
    return cleaner.clean(_split_long_text(html) if _may_be_slow(html) else html)


_CLEANERS: dict = {}
