"""Our HTML blocks in a page's Markdown: marks an engine's Markdown passes over untouched.

The site's own HTML (a post-mortem's card, tracked action items and Related incidents; the
tables of the generated list pages) is built from escaped values and needs no Markdown. Given
to the engine inline, Python-Markdown parses it twice on every page of every build (MkDocs'
anchor scan, then ``md_in_html``) and the theme's search parses it a third time even where it
is ``data-search-exclude``: on 3,000 post-mortems that was more than the whole bare build.

So a page's Markdown holds a **mark** line in place of each block and keeps the blocks beside
it, as plain data (:attr:`generator.pages.PostmortemPage.blocks`). A mark is an empty element,
``<div data-pmkb="NONCE 3"></div>`` (``... 3 unsearched`` for a block the search index leaves
out), that Python-Markdown writes out as it is. It is an element, not a comment, so an author's
unclosed ``<!--`` is not closed by ours (it stays text, as Python-Markdown renders it); it
carries a **nonce** that the page's body does not hold (:func:`nonce_for`), so no author can
write a mark, in prose, code or raw HTML, and a body that mentions our marks is just text.
The parts of a post-mortem page that are ours are between :attr:`Marks.own` marks
(:func:`generator.sanitize.sanitize_postmortem_page`).

A generated page's Markdown (escaped values only) wraps each unsearched table between
:data:`HOLD_OPEN` and :data:`HOLD_CLOSE`; an adapter that wants marks takes the blocks out with
:func:`hold` (:data:`GENERATED` marks), :func:`unheld` drops the two comments for one that
does not.

An adapter with hooks (MkDocs) puts the blocks in after Markdown and the unsearched ones after
search (:meth:`Marks.fill`); one that reads files (Zensical) writes them in place, or fills the
unsearched ones into the built pages.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

HOLD_OPEN = "<!--pmkb-hold-->\n"
HOLD_CLOSE = "<!--/pmkb-hold-->\n"
"""Around an unsearched block of a generated page's Markdown (:func:`hold`)."""
_HELD = re.compile(re.escape(HOLD_OPEN) + r"(.*?)" + re.escape(HOLD_CLOSE), re.S)


def nonce_for(body: str) -> str:
    """A nonce (12 hex digits) that ``body`` does not hold in any case, nor once Python-Markdown
    has dropped the two characters it reserves for its placeholders (U+0002, U+0003: a body's
    ``ab\x02cd`` renders as ``abcd``): the SHA-256 of the body, hashed again until that holds
    (a body that quotes the first one gets the next)."""
    text, folded = body.encode("utf-8"), body.replace("\x02", "").replace("\x03", "").lower()
    while True:
        nonce = hashlib.sha256(text).hexdigest()[:12]
        if nonce not in folded:
            return nonce
        text = nonce.encode("ascii")


_MARK = re.compile(r'<div data-pmkb="([0-9a-z]+) (\d+)( unsearched| terms)?"></div>')
_MARK_GROUP = re.compile(r'(<div data-pmkb="[0-9a-z]+ \d+(?: unsearched| terms)?"></div>)')
# One pattern for every page's marks (the nonce compared in the match): a pattern per nonce was
# compiled again for every page of every build (3,000 pages: 1 to 2 s).


class Marks:
    """The marks of one page, each carrying ``nonce``."""

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        self.own = f'<div data-pmkb="{nonce}"></div>'
        """The mark around the parts of a post-mortem page that are ours."""

    def block(self, n: int) -> str:
        """The mark of block ``n`` (put in after Markdown, before search)."""
        return f'<div data-pmkb="{self.nonce} {n}"></div>'

    def unsearched(self, n: int) -> str:
        """The mark of block ``n`` of a part the search index leaves out (may be put in after
        the engine indexed the page)."""
        return f'<div data-pmkb="{self.nonce} {n} unsearched"></div>'

    def terms(self, n: int) -> str:
        """The mark of block ``n`` that holds the page's search terms (the card's synonyms): an
        engine whose index takes them as a field of their own (MkDocs with Material,
        :func:`generator.material.add_search_field`) puts it in after search, like an
        unsearched block (its text would show in result snippets); the others index it."""
        return f'<div data-pmkb="{self.nonce} {n} terms"></div>'

    def split_own(self, html: str) -> list[str]:
        """``html`` cut at its :attr:`own` marks (the line breaks around them dropped)."""
        parts = html.split(self.own)
        for i in range(len(parts)):
            if i:
                parts[i] = parts[i].lstrip("\n")
            if i < len(parts) - 1:
                parts[i] = parts[i].rstrip("\n")
        return parts

    def split_marks(self, html: str) -> list[str]:
        """``html`` cut at its block marks: text, mark, text, mark, ..., text (a mark of
        another nonce is text)."""
        if self.nonce not in html:
            return [html]
        out: list[str] = []
        for i, piece in enumerate(_MARK_GROUP.split(html)):
            if i % 2 and _MARK.match(piece).group(1) == self.nonce:
                out += [piece, ""]
            elif out:
                out[-1] += piece
            else:
                out.append(piece)
        return out

    def fill(self, text: str, blocks: Sequence[str], searched: bool = True, unsearched: bool = True,
             terms: bool | None = None, _nested: bool = False) -> str:
        """``text`` with the marks of ``blocks`` (HTML strings, mark ``n`` is ``blocks[n]``)
        replaced by their block: the searched ones with ``searched``, the unsearched ones with
        ``unsearched``, the :meth:`terms` one with ``terms`` (``None``: as ``searched``). A
        block may hold marks of its own (the card holds
        its facts' and terms'), filled the same way, one level deep. A block's final newline is
        dropped (the mark's line ends it); a mark whose ``n`` is not an index of ``blocks``, or
        of another nonce, is left as it is."""
        terms = searched if terms is None else terms
        if not blocks or self.nonce not in text or not (searched or unsearched or terms):
            return text
        wanted = {None: searched, " unsearched": unsearched, " terms": terms}

        def block(match: re.Match) -> str:
            n = int(match.group(2))
            if match.group(1) != self.nonce or n >= len(blocks) or not wanted[match.group(3)]:
                return match.group(0)
            html = blocks[n].removesuffix("\n")
            return html if _nested else self.fill(html, blocks, searched, unsearched, terms, _nested=True)

        return _MARK.sub(block, text)


GENERATED = Marks("generated")
"""The marks of a generated page's held blocks (its values are all escaped: no author writes there)."""


def hold(markdown: str) -> tuple[str, list[str]]:
    """A generated page's Markdown with each block between :data:`HOLD_OPEN` and
    :data:`HOLD_CLOSE` replaced by a :data:`GENERATED` unsearched mark line, and the blocks in
    order: ``(markdown, blocks)``; ``(markdown, [])`` when it holds none."""
    if HOLD_OPEN not in markdown:
        return markdown, []
    blocks: list[str] = []

    def mark(match: re.Match) -> str:
        blocks.append(match.group(1))
        return GENERATED.unsearched(len(blocks) - 1) + "\n"

    return _HELD.sub(mark, markdown), blocks


def unheld(markdown: str) -> str:
    """A generated page's Markdown with its blocks in place (the two comments around each removed)."""
    if HOLD_OPEN not in markdown:
        return markdown
    return markdown.replace(HOLD_OPEN, "").replace(HOLD_CLOSE, "")
