"""The validator reads a body as CommonMark; the site renders it with Python-Markdown, which reads
some code as HTML (inside a raw HTML block with blank lines, after a fence the same fence does
not close). What the sanitiser then removes is an error at its line (``unsafe-html`` ...), and a
block element left open is an ``unclosed-html`` warning (a tester's finding)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator import sanitize, scan, site_markdown
from generator.settings import Settings, load_settings
from generator.validate import validate

from .conftest import ROOT, TODAY
from .test_validate import NAME, VALID

EXTENSIONS = load_settings(ROOT / "mkdocs.yml").markdown_extensions  # the shipped site's
NOTES = VALID.count("\n") + 4  # file line of the first line after VALID + "\n## Notes\n\n"
SITE_CODES = ("unsafe-html", "reserved-id", "reserved-class", "unclosed-html")
IMG = "<img src=x onerror=alert(1)>"
RAW_BLOCK_FIX = ("put the code in a fenced code block, with ``` on the lines above and below it; or add "
                 "markdown=\"1\" to the <div> so that its content is read as Markdown; or escape the '<' as &lt;")


def check(tmp_path: Path, body: str, extensions=EXTENSIONS) -> list[tuple]:
    """Validate VALID with ``body`` under a Notes section: ``(line from the Notes' first line,
    column, level, code, message, fix)`` of each problem the site's reading can cause."""
    docs = tmp_path / "postmortems"
    docs.mkdir(exist_ok=True)
    (docs / NAME).write_text(VALID + "\n## Notes\n\n" + body, encoding="utf-8")
    result = validate([docs], Settings(docs_dir=docs, markdown_extensions=extensions), today=TODAY)
    return [(p.line - NOTES, p.column, p.level, p.code, p.message, p.fix) for p in result.problems
            if p.code in SITE_CODES]


def site_html(body: str) -> str:
    """``body`` as the shipped site renders it (Python-Markdown, mkdocs.yml's extensions)."""
    md = site_markdown.renderer(EXTENSIONS)
    md.reset()
    return md.convert(body)


def test_a_code_span_in_a_raw_div_with_blank_lines_is_html_for_the_site(tmp_path):
    body = f"<div>\n\nThe probe sent `{IMG}` to the form.\n\n</div>\n"
    assert check(tmp_path, body) == [(2, 17, "error", "unsafe-html",
                                      "inside the raw HTML block that <div> opens on line 43, which has blank lines, "
                                      "the site's Markdown renderer (Python-Markdown) reads this as HTML, not as code, "
                                      "and 'onerror' event-handler attribute on <img> would run in a reader's browser, "
                                      "so the site removes it", RAW_BLOCK_FIX)]
    # ... and the site does: the renderer writes the tag live, the sanitiser takes the attribute out.
    assert IMG in site_html(body) and "onerror" not in sanitize.sanitize_html(site_html(body))


def test_the_same_code_span_outside_a_raw_block_is_code(tmp_path):
    body = f"The probe sent `{IMG}` to the form.\n"
    assert check(tmp_path, body) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in site_html(body)
    # ... where inside the <div> of the test above it is an error
    assert [p[:4] for p in check(tmp_path, f"<div>\n\n{body}\n</div>\n")] == [(2, 17, "error", "unsafe-html")]


def test_an_indented_code_block_in_a_raw_div_is_html_for_the_site(tmp_path):
    body = f"<div>\n\nThe probe:\n\n    {IMG}\n    <span style=\"color:red\">x</span>\n\n</div>\n"
    why = ("inside the raw HTML block that <div> opens on line 43, which has blank lines, the site's Markdown "
           "renderer (Python-Markdown) reads this indented code as HTML, not as a code block, and ")
    assert check(tmp_path, body) == [
        (4, 5, "error", "unsafe-html", why + "'onerror' event-handler attribute on <img> would run in a reader's "
                                             "browser, so the site removes it", RAW_BLOCK_FIX),
        (5, 5, "error", "unsafe-html", why + "the site removes the 'style' attribute of <span>", RAW_BLOCK_FIX)]


def test_markdown_in_a_div_with_the_markdown_switch_is_no_problem(tmp_path):
    body = (f'<div class="note" markdown="1">\n\n## Timeline\n\n- 10:02 `{IMG}` paged\n- see [the runbook](https://'
            "example.com/runbook)\n\nThe probe:\n\n    indented code <span style=\"color:red\">\n\n</div>\n\n"
            "<details markdown>\n"
            "<summary>Log</summary>\n\n```html\n<script>alert(1)</script>\n```\n\n</details>\n")
    assert check(tmp_path, body) == []
    # without the switch, the code span and the indented code are HTML for the site
    assert [p[:4] for p in check(tmp_path, body.replace(' markdown="1"', "", 1))] == [
        (4, 10, "error", "unsafe-html"), (9, 19, "error", "unsafe-html")]


def test_a_fence_the_same_fence_does_not_close_is_no_code_block_for_the_site(tmp_path):
    body = f"~~~\n{IMG}\n~~~~\n"  # CommonMark: closed by the longer fence; superfences: no fence at all
    assert check(tmp_path, body) == [(1, 1, "error", "unsafe-html",
                                      "the code fence ~~~ on line 43 is not closed by the same fence, so the site's "
                                      "Markdown renderer (Python-Markdown) does not read the lines after it as code: "
                                      "it reads this as HTML, and 'onerror' event-handler attribute on <img> would "
                                      "run in a reader's browser, so the site removes it",
                                      "end the code block with a line of exactly ~~~; or escape the '<' as &lt;")]
    assert IMG in site_html(body)
    assert check(tmp_path, f"~~~\n{IMG}\n~~~\n") == []


def test_an_unclosed_fence_in_a_raw_pre_gets_no_markdown_switch_advice(tmp_path):
    body = f"<pre>\n\n`<span class=\"md-typeset\">`\n\n</pre>\n"
    assert check(tmp_path, body) == [(2, 2, "error", "reserved-class",
                                      "inside the raw HTML block that <pre> opens on line 43, which has blank lines, "
                                      "the site's Markdown renderer (Python-Markdown) reads this as HTML, not as code, "
                                      "and class 'md-typeset' on <span> is the theme's own, so the site removes it",
                                      "put the code in a fenced code block, with ``` on the lines above and below it; "
                                      "or escape the '<' as &lt;")]


def test_a_block_closed_on_its_line_ends_before_the_code(tmp_path):
    body = f"<div>note</div>\n\n`{IMG}`\n\n<hr>\n\n`{IMG}`\n"
    assert check(tmp_path, body) == []
    assert [p[:4] for p in check(tmp_path, body.replace("note</div>", "note", 1) + "\n</div>\n")] == [
        (2, 2, "error", "unsafe-html"), (6, 2, "error", "unsafe-html")]


def test_a_raw_block_without_blank_lines_is_read_the_same(tmp_path):
    """prose_lines blanks the code span for CommonMark, but both readers see a raw HTML block."""
    body = f"<div>\n`{IMG}`\n</div>\n"
    assert [p[:4] for p in check(tmp_path, body)] == [(1, 2, "error", "unsafe-html")]
    assert check(tmp_path, body)[0][4].startswith("inside the raw HTML block that <div> opens on line 43, the site's")


def test_what_commonmark_reports_already_is_not_reported_twice(tmp_path):
    body = f"<div>\n\n{IMG} and `{IMG}`\n\n</div>\n"
    found = check(tmp_path, body)
    assert [(p[0], p[1], p[4][:6]) for p in found] == [(2, 1, "'onerr"), (2, 35, "inside")]


def test_the_default_extensions_read_the_same(tmp_path):
    """Without mkdocs.yml: MkDocs' builtins (fenced_code) and the extensions the pages need."""
    body = f"<div>\n\n`{IMG}`\n\n</div>\n\n```\n<b onclick=x>\n````\n"
    assert [p[:4] for p in check(tmp_path, body, extensions=[])] == [(2, 2, "error", "unsafe-html"),
                                                                     (7, 1, "error", "unsafe-html")]


def test_a_page_of_the_docs_folder_gets_the_same_rule(tmp_path):
    docs = tmp_path / "postmortems"
    docs.mkdir()
    (docs / NAME).write_text(VALID, encoding="utf-8")
    (docs / "README.md").write_text(f"# Home\n\n<div>\n\n`{IMG}`\n\n</div>\n", encoding="utf-8")
    result = validate([docs], Settings(docs_dir=docs, markdown_extensions=EXTENSIONS), today=TODAY)
    assert [(Path(p.path).name, p.line, p.column, p.code) for p in result.problems] == [("README.md", 5, 2,
                                                                                         "unsafe-html")]


def test_bodies_past_the_limits_are_not_rendered(tmp_path, monkeypatch):
    body = f"<div>\n\n`{IMG}`\n\n</div>\n"
    monkeypatch.setattr(site_markdown, "MAX_CHARS", len(body) - 1)
    assert site_markdown.live_html(body, body.split("\n"), scan.prose_lines(body.split("\n"), frozenset()),
                                   frozenset(), 1, EXTENSIONS) == []
    monkeypatch.setattr(site_markdown, "MAX_CHARS", len(body))
    assert [f.line for f in site_markdown.live_html(body, body.split("\n"),
                                                    scan.prose_lines(body.split("\n"), frozenset()),
                                                    frozenset(), 1, EXTENSIONS)] == [3]
    # the shapes the renderer takes minutes on are refused, not rendered
    assert [p[3] for p in check(tmp_path, "<div>\n\n`<b onclick=x>`\n\n" + "<div markdown=\"1\">\n" * 40
                                + "</div>\n" * 41)] == []


def test_tag_scan_cost():
    assert scan.tag_scan_cost("") == 0
    assert scan.tag_scan_cost("<b>x</b> a > b") == 2  # end tags: no attributes to read
    assert scan.tag_scan_cost("x <a y") == 4  # to the end
    assert scan.tag_scan_cost("<a <a <a ") == 9 + 6 + 3
    assert scan.tag_scan_cost("a <b c\n" * 1000) == 3_501_500  # the square of the length: 1000 * 7000 / 2
    assert scan.tag_scan_cost("<a " * 10 + ">" + "<b>" * 5) == 165 + 5 * 2
    assert scan.tag_scan_cost("<a " * 10 + ">" + "<b>" * 5, limit=100) == 165  # stops over the limit


# --- unclosed-html ------------------------------------------------------------------------------

def test_an_unclosed_details_is_a_warning_at_its_line(tmp_path):
    body = "<details>\n<summary>Full log</summary>\n\n- 10:02 paged\n"
    assert check(tmp_path, body) == [(0, 1, "warning", "unclosed-html",
                                      "<details> is opened here and never closed: the site's Markdown renderer "
                                      "(Python-Markdown) reads the rest of the body after it as raw HTML, so its "
                                      "Markdown (headings, lists, links, code) shows as plain text, and the site "
                                      "closes the element only at the end of the body",
                                      "close it with </details> where it should end, before the next section; if "
                                      "it is meant as text, put it in `backticks`")]
    assert "- 10:02 paged" in site_html(body)  # the list is text


def test_an_unclosed_element_inside_a_line_and_one_with_the_markdown_switch(tmp_path):
    body = "Logs: <div class=\"log\"> below\n\n<blockquote markdown=\"1\">\n\n## More\n"
    found = check(tmp_path, body)
    assert [(p[0], p[1], p[4]) for p in found] == [
        (0, 7, "<div> is opened here and never closed: everything after it, to the end of the body, is inside it "
               "(the site closes it there)"),
        (2, 1, "<blockquote> is opened here and never closed: everything after it, to the end of the body, is "
               "inside it (the site closes it there)")]


@pytest.mark.parametrize("body, opened", [
    ("<table><tr><td>\nx\n</table>\n", "<table><tr><td>\nx\n</tr>\n"),  # end tags the renderer needs not
    ("<div>\n<details>\n<summary>S</summary>\n</div>\n", "<div>\n<details>\n<summary>S</summary>\n</details>\n"),
    ("`<div>` is the element\n\n```html\n<div>\n```\n", "<div> is the element\n\n```html\n<div>\n```\n"),  # code
    ("<details><summary>S</summary>\n\ntext\n\n</details>\n", "<details><summary>S</summary>\n\ntext\n\n"),
])
def test_closed_elements_are_no_warning(tmp_path, body, opened):
    assert check(tmp_path, body) == []
    assert [p[:4] for p in check(tmp_path, opened)] == [(0, 1, "warning", "unclosed-html")]


def test_unclosed_blocks_pairs_tags_as_the_renderer_does():
    tags = scan.html_tags("<div>\n<p>a\n<table><tr>\n</div>\n<section>\n</nav>\n<ul>", 1)
    assert [(t.name, t.line) for t in scan.unclosed_blocks(tags)] == [("section", 5), ("ul", 7)]


def test_the_shipped_corpus_gets_no_new_problem_and_a_new_file_does(tmp_path):
    docs = tmp_path / "postmortems"
    shutil.copytree(ROOT / "postmortems", docs)
    (docs / NAME).write_text(VALID.replace("PM-2024-017", "PM-2024-917") + f"\n<div>\n\n`{IMG}`\n\n</div>\n"
                             "\n<details>\n", encoding="utf-8")
    settings = load_settings(ROOT / "mkdocs.yml")
    settings.docs_dir = docs
    result = validate([docs], settings, today=TODAY)
    assert result.files == 61
    assert [(Path(p.path).name, p.line, p.code) for p in result.problems] == [(NAME, 43, "unsafe-html"),
                                                                              (NAME, 47, "unclosed-html")]
