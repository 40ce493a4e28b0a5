"""One escaper per output kind: what the renderer calls on every author-written value.

- :func:`md_text`: inline Markdown (prose, table cells, headings, link labels) that renders as
  exactly the value, in Python-Markdown with the site's extensions and in GFM;
- :func:`html_text`: HTML text and attribute values;
- :func:`url_quote`: a URL put into a Markdown link;
- CSV cells: :func:`generator.csvsafe.cell` (OWASP "CSV Injection");
- XML (the Atom feed): the standard library's ElementTree escapes what it writes.

Values are escaped where they are written into a page, whether or not validation ran, so a
service, tag, title or owner can never add markup to a generated page.
"""

from __future__ import annotations

import html
import re

__all__ = ["md_text", "html_text", "url_quote"]

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#+|])")
"""Characters :func:`md_text` escapes with a backslash (Python-Markdown with the ``tables``
extension and CommonMark both accept these escaped). ``<``, ``>`` and ``&`` become HTML entities
instead. ``(``, ``)`` and ``!`` are left as they are: they mean something only after a ``]`` or
before a ``[``, both escaped. ``^`` and ``=`` too: Python-Markdown would print the backslash, and
none of the site's extensions gives them a meaning. ``~`` means strikethrough on GitHub and
GitLab (GFM ``~~x~~``), where ``pmkb report --format md`` is read too, but Python-Markdown would
print a ``\\~``: it becomes the entity ``&#126;`` (:data:`_MD_ENTITIES`), which both render as ``~``.

``:`` is left alone although GitHub and GitLab turn ``:smile:`` into an emoji: their emoji
filters run on the text of the rendered HTML, where ``&#58;`` is a ``:`` again, so an entity
would not stop them (only an invisible character would, which changes the text when copied)."""

_MD_ENTITIES = {"~": "&#126;"}
"""Characters :func:`md_text` writes as numeric character references (after HTML escaping, so
the ``&`` of the entity stays)."""

_LINE_START = re.compile(r"^(\d+)\.|^-")


def md_text(value: object) -> str:
    """``value`` as inline Markdown that renders as exactly that text, in prose, in a table
    cell, in a heading or as a link label.

    Whitespace runs (line breaks included) become one space, so a value never ends a table row
    or starts a block; ``&``, ``<`` and ``>`` become entities (raw HTML shows as text), and so
    does ``~`` (``&#126;``: no GFM strikethrough on GitHub or GitLab); every character with an
    inline meaning (``\\ ` * _ { } [ ] # + |``) is backslash-escaped, and a leading ``-`` or
    ``1.`` too. ``None`` and ``""`` give ``""``. The result renders as exactly ``value`` (with
    whitespace collapsed) in Python-Markdown with the site's extensions and in GFM.
    """
    if value is None:
        return ""
    text = html.escape(" ".join(str(value).split()), quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    for char, entity in _MD_ENTITIES.items():
        text = text.replace(char, entity)
    return _LINE_START.sub(lambda m: f"{m.group(1)}\\." if m.group(1) else "\\-", text)


def html_text(value: object) -> str:
    """``value`` as HTML text or a double- or single-quoted attribute value (``& < > " '``
    escaped); ``None`` gives ``""``."""
    return "" if value is None else html.escape(str(value), quote=True)


def url_quote(url: str) -> str:
    """``url`` percent-encoded where Markdown or a table row would read it (spaces, ``()[]<>|``,
    backslash, backtick, quotes, ``*``, non-ASCII); ``%`` and URL delimiters are kept."""
    from urllib.parse import quote

    return quote(url, safe="/:?#&=+;,@$%-._~!")
