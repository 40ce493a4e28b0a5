"""Where the site's Markdown renderer reads a body differently from the validator.

``pmkb validate`` reads a body as CommonMark (markdown-it-py, :mod:`generator.scan`); both
engines render it with Python-Markdown and the project's extensions (``mkdocs.yml``'s
``markdown_extensions``, :func:`generator.render.site_extensions`). The two disagree in known
shapes, where text that CommonMark reads as code is raw HTML for the site:

- inside a raw HTML block: from a block-level start tag at the start of a line (``<div>``,
  ``<details>``, ``<table>`` ...; up to three spaces before it) to its end tag, Python-Markdown
  passes everything through as HTML, blank lines included (CommonMark ends the block at the
  first blank line and reads Markdown after it): an inline code span, or an indented code
  block, in there is HTML for the site;
- after a code fence that the same fence does not close (CommonMark closes it with a longer
  one, or runs it to the end of the body): superfences reads no code block there, so the
  lines after it are Markdown and their HTML is HTML.

The site stays safe (every page is sanitised after rendering, :mod:`generator.sanitize`), but
the page silently loses or mangles that text. :func:`live_html` renders the few bodies that
have one of these shapes and returns each element or attribute the sanitiser would remove from
HTML that the CommonMark reading took for code, at its line.

Cost: a body without a line-start tag or such a fence costs one regular-expression search;
one with them is rendered only when its code holds a tag the sanitiser would change
(:func:`live_html`), and never beyond :data:`MAX_CHARS` or :data:`MAX_TAG_SCAN`, the shapes
on which Python-Markdown itself takes more than linear time.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

from . import sanitize, scan

MAX_CHARS = 65_536
"""Longest body (characters) rendered for the comparison; a longer one is not compared. Some
lines cost Python-Markdown's inline patterns more than linear time (backslashes: 0.9 s for
64 KB, over a minute for 1 MB); a post-mortem body is a few KB (the shipped ones: under 4 KB)."""

MAX_TAG_SCAN = 5_000_000
"""Most characters the HTML tokenizer may read for the start tags of a body rendered for the
comparison (:func:`generator.scan.tag_scan_cost`, about 0.4 s); a body over it is not compared
(a line of thousands of unclosed ``<a`` tags: the site's renderer takes minutes on it)."""

_LINE_START_TAG = re.compile(r"^ {0,3}<([A-Za-z][A-Za-z0-9]*)(?=[\s/>]|$)", re.M)
# md_in_html's elements whose content is never read as Markdown (its HTMLExtractorExtra.raw_tags):
# markdown="1" does not help there.
_NEVER_MARKDOWN = frozenset({"canvas", "math", "option", "pre", "script", "style", "textarea"})
_ESCAPE = "escape the '<' as &lt;"
_EMPTY = frozenset({"hr"})  # Python-Markdown's HTMLExtractor.empty_tags: a block of its own, never open


@dataclass(frozen=True)
class LiveHtml:
    """An element or attribute the sanitiser removes from HTML the validator read as code:
    1-based file ``line`` and ``column`` of its ``<``, the problem ``code`` (``unsafe-html``,
    ``reserved-id``, ``reserved-class``), the ``message`` (what, and why the site reads HTML
    there) and the ``fix``."""

    line: int
    column: int
    code: str
    message: str
    fix: str


_RENDERERS: dict[str, object] = {}


def renderer(extensions: list):
    """The Python-Markdown renderer of the site for ``extensions`` (``mkdocs.yml``'s
    ``markdown_extensions``), built once per process (:func:`generator.render.python_markdown`
    of :func:`generator.render.site_extensions`; an extension that does not load is left out)."""
    key = json.dumps(extensions, sort_keys=True, default=repr)
    md = _RENDERERS.get(key)
    if md is None:
        from .render import python_markdown, site_extensions

        md = _RENDERERS[key] = python_markdown(site_extensions(extensions))[0]
    return md


def live_html(body: str, body_lines: list[str], prose: list[str], code: frozenset[int], first_line: int,
              extensions: list) -> list[LiveHtml]:
    """What the sanitiser removes from HTML in ``body`` that the CommonMark reading took for
    code (so no other check reported it), but the site's Markdown renderer reads as HTML.

    Bodies are picked cheaply: one with a block-level start tag at the start of a line outside
    code (a name in Python-Markdown's ``block_level_elements``), or with a fence CommonMark and
    superfences close differently (:func:`generator.scan.fences`); of those, one whose code
    (what :func:`generator.scan.prose_lines` blanked) holds a start tag the sanitiser would
    change. That body is rendered with ``extensions``, and each such tag is reported as often
    as the rendered HTML holds it more often than the prose does (tags compared by name and
    attributes as written: Python-Markdown passes raw HTML through as it is), in the order of
    the body. A body over :data:`MAX_CHARS` characters, or :data:`MAX_TAG_SCAN`, or that the
    renderer fails on, is not compared (``[]``).

    Args:
        body: the body as in the file (after the front matter).
        body_lines: ``body.split("\\n")``.
        prose: :func:`generator.scan.prose_lines` of ``body_lines`` and ``code``.
        code: 0-based indexes of the body lines in code blocks (:func:`generator.scan.code_line_indexes`).
        first_line: 1-based file line of ``body_lines[0]``.
        extensions: ``mkdocs.yml``'s ``markdown_extensions`` (:attr:`generator.settings.Settings.markdown_extensions`).

    Returns:
        The findings, in line order; ``[]`` for almost every body.
    """
    if "<" not in body or (not _LINE_START_TAG.search(body) and ("```" not in body and "~~~" not in body)):
        return []
    if len(body) > MAX_CHARS:
        return []
    all_fences = scan.fences(body, body_lines)
    fences = [f for f in all_fences if not f.exact]
    stashed = {i for f in all_fences if f.exact for i in range(f.start, f.end)}  # code for both readings
    if not fences and not any(i not in stashed for i in _line_start_lines(body)):
        return []
    if not any("<" in line and line != seen and i not in stashed
               for i, (line, seen) in enumerate(zip(body_lines, prose))):
        return []  # no HTML in what CommonMark reads as code (but code both read as such)
    prose_tags = scan.html_tags("\n".join(prose), first_line)
    in_prose = {(t.line, t.column) for t in prose_tags}
    body_tags = [t for t in scan.html_tags(body, first_line) if t.line - first_line not in stashed]
    hidden = []
    for tag in body_tags:
        if tag.closing or (tag.line, tag.column) in in_prose:
            continue
        verdicts = [("unsafe-html", f"{what} would run in a reader's browser, so the site removes it")
                    for what in scan.executable_parts(tag)] + sanitize.removed_parts(tag)
        if verdicts:
            hidden.append((tag, verdicts))
    if not hidden or scan.tag_scan_cost(body, MAX_TAG_SCAN) > MAX_TAG_SCAN:
        return []
    md = renderer(extensions)
    blocks = raw_blocks(body_tags, body_lines, first_line, frozenset(md.block_level_elements))
    if not blocks and not fences:
        return []
    try:
        md.reset()
        rendered = md.convert(body)
    except Exception:  # noqa: BLE001 - an extension's own failure: the build reports it, nothing to compare
        return []
    extra = (Counter((t.name, t.attrs) for t in scan.html_tags(rendered, 1) if not t.closing)
             - Counter((t.name, t.attrs) for t in prose_tags if not t.closing))
    found = []
    for tag, verdicts in hidden:
        key = (tag.name, tag.attrs)
        if extra[key] <= 0:
            continue  # code for the site too
        extra[key] -= 1
        why, fix = _why(tag, body_lines, code, blocks, fences, first_line)
        found.extend(LiveHtml(tag.line, tag.column, problem, f"{why}, and {what}", fix) for problem, what in verdicts)
    return found


def _line_start_lines(body: str):
    """0-based lines of ``body`` holding a start tag at the start of the line (up to three spaces before it)."""
    line, at = 0, 0
    for m in _LINE_START_TAG.finditer(body):
        line, at = line + body.count("\n", at, m.start()), m.start()
        yield line


@dataclass(frozen=True)
class RawBlock:
    """A raw HTML block as Python-Markdown reads it: the start tag that opens it (``tag``) and the
    1-based file line of the end tag that ends it (``end``; ``None``: never ended, it runs to the
    end of the body)."""

    tag: scan.Tag
    end: int | None


def raw_blocks(tags: list[scan.Tag], body_lines: list[str], first_line: int,
               block_level: frozenset[str]) -> list[RawBlock]:
    """The raw HTML blocks of a body whose tags are ``tags`` (:func:`generator.scan.html_tags`
    of the body, code CommonMark and Python-Markdown agree on left out), read as
    Python-Markdown's raw HTML reader (``markdown.htmlparser.HTMLExtractor``) does: outside a
    block, a start tag of ``block_level`` at the start of a line (up to three spaces before
    it) opens one; inside, every start tag but ``<hr>`` is pushed and an end tag pops up to
    the latest element of its name; the block ends when nothing is left open. Linear in ``tags``."""
    blocks: list[RawBlock] = []
    opener, stack, open_count = None, [], Counter()
    for tag in tags:
        if opener is None:
            if tag.closing or tag.name not in block_level or tag.column > 4 \
                    or body_lines[tag.line - first_line][:tag.column - 1].strip():
                continue
            opener, stack, open_count = tag, [], Counter()
        if not tag.closing:
            if tag.name not in _EMPTY:
                stack.append(tag.name)
                open_count[tag.name] += 1
            elif not stack:
                opener = None  # a block of its own
            continue
        while open_count[tag.name] and stack:
            open_count[stack[-1]] -= 1
            if stack.pop() == tag.name:
                break
        if not stack:
            blocks.append(RawBlock(opener, tag.line))
            opener = None
    if opener is not None:
        blocks.append(RawBlock(opener, None))
    return blocks


def _why(tag: scan.Tag, body_lines: list[str], code: frozenset[int], blocks: list[RawBlock],
         fences: list[scan.Fence], first_line: int) -> tuple[str, str]:
    """Why the site reads ``tag`` as HTML, and the fix: a fence before it that does not close
    as CommonMark reads it, else the raw HTML block it is in."""
    index = tag.line - first_line
    for fence in fences:
        if fence.start < index < fence.end:
            return (f"the code fence {fence.markup} on line {first_line + fence.start} is not closed by the same fence, "
                    "so the site's Markdown renderer (Python-Markdown) does not read the lines after it as code: "
                    "it reads this as HTML",
                    f"end the code block with a line of exactly {fence.markup}; or {_ESCAPE}")
    block = next((b for b in blocks if (b.tag.line, b.tag.column) < (tag.line, tag.column)
                  and (b.end is None or tag.line <= b.end)), None)
    if block is None:
        return ("the site's Markdown renderer (Python-Markdown) reads this as HTML, not as code",
                f"put the code in a fenced code block, with ``` on the lines above and below it; or {_ESCAPE}")
    name, start = block.tag.name, block.tag.line - first_line
    blank = any(not line.strip() for line in body_lines[start:index])
    kind = "this indented code as HTML, not as a code block" if index in code else "this as HTML, not as code"
    switch = "" if name in _NEVER_MARKDOWN else f"; or add markdown=\"1\" to the <{name}> so that its content is read as Markdown"
    return (f"inside the raw HTML block that <{name}> opens on line {block.tag.line}"
            f"{', which has blank lines' if blank else ''}, the site's Markdown renderer (Python-Markdown) reads {kind}",
            f"put the code in a fenced code block, with ``` on the lines above and below it{switch}; or {_ESCAPE}")
