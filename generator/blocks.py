"""Our HTML blocks in a page's Markdown: marks an engine's Markdown passes over untouched.

The site's own HTML (a post-mortem's card, tracked action items and Related incidents; the
tables of the generated list pages) is built from escaped values and needs no Markdown. Given
to the engine inline, Python-Markdown parses it twice on every page of every build (MkDocs'
anchor scan, then ``md_in_html``) and the theme's search parses it a third time even where it
is ``data-search-exclude``: on 3,000 post-mortems that was more than the whole bare build.

So a page's Markdown may hold a **mark** line in place of each block (:data:`BLOCK_MARK`;
:data:`UNSEARCHED_BLOCK_MARK` for a block the search index leaves out) and keep the blocks
beside it, as plain data:

- :attr:`generator.pages.PostmortemPage.blocks` for a post-mortem page;
- for a generated page, the renderer wraps each unsearched table between :data:`HOLD_OPEN` and
  :data:`HOLD_CLOSE` (only ever around escaped values, so no author can write them) and an
  adapter that wants marks takes the blocks out with :func:`hold` (:func:`unheld` drops the
  two comments for an adapter that does not).

An adapter with hooks (MkDocs) puts the blocks in after Markdown and the unsearched ones after
search (:func:`fill`); one that reads files (Zensical) writes them in place, or fills the
unsearched ones into the built pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

BLOCK_MARK = "<!--pmkb-block {}-->"
"""The line that stands for block ``n`` of the page (put in after Markdown, before search)."""
UNSEARCHED_BLOCK_MARK = "<!--pmkb-block-unsearched {}-->"
"""The line that stands for block ``n`` of a part the search index leaves out (may be put in
after the engine indexed the page)."""
HOLD_OPEN = "<!--pmkb-hold-->\n"
HOLD_CLOSE = "<!--/pmkb-hold-->\n"
"""Around an unsearched block of a generated page's Markdown (:func:`hold`)."""

_SEARCHED = re.compile(r"<!--pmkb-block (\d+)-->")
_UNSEARCHED = re.compile(r"<!--pmkb-block-unsearched (\d+)-->")
_ANY = re.compile(r"<!--pmkb-block(?:-unsearched)? (\d+)-->")
_HELD = re.compile(re.escape(HOLD_OPEN) + r"(.*?)" + re.escape(HOLD_CLOSE), re.S)


def fill(text: str, blocks: Sequence[str], searched: bool = True, unsearched: bool = True,
         clean: Callable[[str], str] | None = None, _nested: bool = False) -> str:
    """``text`` with the marks of ``blocks`` (HTML strings, mark ``n`` is ``blocks[n]``)
    replaced by their block: the :data:`BLOCK_MARK` ones with ``searched``, the
    :data:`UNSEARCHED_BLOCK_MARK` ones with ``unsearched``; each block through ``clean`` when
    given. A block may hold marks of its own (the card holds its facts'), filled the same way,
    one level deep. A block's final newline is dropped (the mark's line ends it); a mark whose
    ``n`` is not an index of ``blocks`` is left as it is."""
    if not blocks or "<!--pmkb-block" not in text or not (searched or unsearched):
        return text
    pattern = _ANY if searched and unsearched else _SEARCHED if searched else _UNSEARCHED

    def block(match: re.Match) -> str:
        n = int(match.group(1))
        if n >= len(blocks):
            return match.group(0)
        html = blocks[n].removesuffix("\n")
        if not _nested:
            html = fill(html, blocks, searched, unsearched, None, _nested=True)
        return clean(html) if clean is not None else html

    return pattern.sub(block, text)


def hold(markdown: str) -> tuple[str, list[str]]:
    """A generated page's Markdown with each block between :data:`HOLD_OPEN` and
    :data:`HOLD_CLOSE` replaced by an :data:`UNSEARCHED_BLOCK_MARK` line, and the blocks in
    order: ``(markdown, blocks)``; ``(markdown, [])`` when it holds none."""
    if HOLD_OPEN not in markdown:
        return markdown, []
    blocks: list[str] = []

    def mark(match: re.Match) -> str:
        blocks.append(match.group(1))
        return UNSEARCHED_BLOCK_MARK.format(len(blocks) - 1) + "\n"

    return _HELD.sub(mark, markdown), blocks


def unheld(markdown: str) -> str:
    """A generated page's Markdown with its blocks in place (the two comments around each removed)."""
    if HOLD_OPEN not in markdown:
        return markdown
    return markdown.replace(HOLD_OPEN, "").replace(HOLD_CLOSE, "")
