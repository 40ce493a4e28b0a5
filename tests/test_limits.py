"""Hostile input stays bounded (issue #11 items 3 and 4): the scanners are linear (checked here
against the slow readers they replace, on many generated inputs, not timed), a file's
problems of one code are capped with a count, a duplicate-id message names a few files and a
count, and nesting is limited in the front matter and the body with an exact problem."""

from __future__ import annotations

import gc
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from generator import loader, scan
from generator.loader import MAX_PROBLEMS_PER_CODE, read_source
from generator.settings import Settings
from generator.validate import validate

from .conftest import TODAY
from .test_validate import NAME, VALID, check, problems

FRONT_END = VALID.index("---\n", 4) + 4  # VALID[:FRONT_END] is the front matter block
BODY_LINE = VALID[:FRONT_END].count("\n") + 1


def body_problems(tmp_path, extra_body: str, code: str):
    result = check(tmp_path, VALID + extra_body)
    return [(p.line, p.level, p.code, p.message) for p in result.problems if p.code == code]


def line_after_valid(offset: int) -> int:
    """The file line of ``offset`` lines into text appended to VALID (VALID ends with a line break)."""
    return VALID.count("\n") + 1 + offset


# --- problems of one code are capped -------------------------------------------------------

def test_problems_of_one_code_are_capped_with_a_count(tmp_path):
    links = "\n".join(f"[x{i}](missing-{i}.md)" for i in range(MAX_PROBLEMS_PER_CODE + 12))
    found = body_problems(tmp_path, "\n" + links + "\n", "broken-link")
    assert len(found) == MAX_PROBLEMS_PER_CODE + 1
    first = line_after_valid(1)
    assert [line for line, *_ in found[:MAX_PROBLEMS_PER_CODE]] == list(range(first, first + MAX_PROBLEMS_PER_CODE))
    summary = [f for f in found if "more" in f[3]]
    assert summary == [(first + MAX_PROBLEMS_PER_CODE, "error", "broken-link",
                        "12 more 'broken-link' problems in this file (not listed: the first 50 are)")]


def test_the_cap_is_per_code_and_per_file(tmp_path):
    src = loader.SourceFile(path=Path("a.md"), relpath="a.md", size=0)
    for i in range(MAX_PROBLEMS_PER_CODE + 1):
        src.problem(i + 1, None, None, "warning", "x", f"x {i}", "fix")
        src.problem(i + 1, None, None, "error", "y", f"y {i}", "fix")
    assert [p.code for p in src.problems].count("x") == MAX_PROBLEMS_PER_CODE + 1
    assert [p.code for p in src.problems].count("y") == MAX_PROBLEMS_PER_CODE + 1
    more = [p for p in src.problems if "more" in p.message]
    assert [(p.code, p.level, p.line, p.message) for p in more] == [
        ("x", "warning", 51, "1 more 'x' problem in this file (not listed: the first 50 are)"),
        ("y", "error", 51, "1 more 'y' problem in this file (not listed: the first 50 are)")]
    assert not src.room_for("x") and src.room_for("z")


# --- duplicate ids: a few names and a count ------------------------------------------------

def test_a_duplicate_id_message_names_three_files_and_counts_the_rest(tmp_path):
    docs = tmp_path / "postmortems"
    docs.mkdir()
    for i in range(6):
        (docs / f"2024-03-14-copy-{i}.md").write_text(VALID, encoding="utf-8")
    result = validate([docs], Settings(docs_dir=docs), today=TODAY)
    duplicates = [p for p in result.problems if p.code == "duplicate-id"]
    assert len(duplicates) == 6
    first = duplicates[0]
    names = re.findall(r"2024-03-14-copy-(\d)\.md:2", first.message)
    assert names == ["1", "2", "3"]
    assert first.message.endswith("and 2 more files")
    assert first.fix == "give one of them the next free id, PM-2024-018"
    assert duplicates[3].message.count(".md:2") == 3 and duplicates[3].message.endswith("and 2 more files")
    assert "copy-3" not in duplicates[3].message  # never itself


def test_two_holders_name_each_other_without_a_count(tmp_path):
    result = check(tmp_path, VALID, extra={"2024-03-14-other.md": VALID})
    messages = sorted(p.message for p in result.problems if p.code == "duplicate-id")
    assert [m.split("used by ")[1].split("/")[-1] for m in messages] == [f"{NAME}:2", "2024-03-14-other.md:2"]


# --- nesting: the front matter --------------------------------------------------------------

def _front_matter_with(extra: str) -> str:
    return VALID[:FRONT_END - 4] + extra + VALID[FRONT_END - 4:]


@pytest.mark.parametrize("depth", [10, 11, 300, 900])
def test_front_matter_nesting_is_limited(tmp_path, depth):
    extra = "deep: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"  # the block itself is level 1
    result = check(tmp_path, _front_matter_with(extra))
    line = VALID[:FRONT_END - 4].count("\n") + 1
    deep = [(p.line, p.field, p.code) for p in result.problems if p.code == "nesting-too-deep"]
    if depth <= loader.MAX_YAML_DEPTH:
        assert deep == []
    else:
        assert deep == [(line, "deep" + "[0]" * (loader.MAX_YAML_DEPTH - 1), "nesting-too-deep")]
    assert ("deep", "warning", "field-unknown") in [(p.field, p.level, p.code) for p in result.problems]


def test_block_nesting_in_front_matter_names_the_line_of_the_deep_value(tmp_path):
    extra = "deep:\n" + "".join("  " * i + "- \n" for i in range(1, 40))
    result = check(tmp_path, _front_matter_with(extra))
    start = VALID[:FRONT_END - 4].count("\n") + 1
    deep = [(p.line, p.code) for p in result.problems if p.code == "nesting-too-deep"]
    assert deep == [(start + loader.MAX_YAML_DEPTH, "nesting-too-deep")]  # level 11 opens there


def test_a_300_level_front_matter_keeps_the_json_of_the_run(tmp_path, runner):
    from generator.cli import cli

    docs = tmp_path / "postmortems"
    docs.mkdir()
    (docs / NAME).write_text(_front_matter_with("deep: " + "[" * 300 + "]" * 300 + "\n"), encoding="utf-8")
    (docs / "2024-03-14-other.md").write_text(VALID.replace("PM-2024-017", "PM-2024-018"), encoding="utf-8")
    out = runner.invoke(cli, ["validate", "--format", "json", str(docs)])
    assert out.exit_code == 1
    data = json.loads(out.output)
    assert {p["code"] for p in data["problems"]} == {"nesting-too-deep", "field-unknown"}
    assert data["counts"]["files"] == 2


# --- nesting: the body ----------------------------------------------------------------------

LIMIT = scan.MAX_NESTING


@pytest.mark.parametrize("shape, what, line_offset", [
    (lambda n: ">" * n + " x", "lists and block quotes", 1),
    (lambda n: "\n".join("  " * i + "- x" for i in range(n)), "lists and block quotes", None),
    (lambda n: "1. " * n + "x", "lists and block quotes", 1),
    (lambda n: "*a " * n + "x" + "*" * n, "emphasis and links", 1),
    (lambda n: "[" * n + "x" + "]" * n, "emphasis and links", 1),
    (lambda n: '<div markdown="1">\n' * n + "x\n" + "</div>\n" * n,
     'HTML elements with Markdown inside (markdown="1")', None),
])
def test_body_nesting_is_limited(tmp_path, shape, what, line_offset):
    assert body_problems(tmp_path, "\n" + shape(LIMIT) + "\n", "nesting-too-deep") == []
    found = body_problems(tmp_path, "\n" + shape(LIMIT + 1) + "\n", "nesting-too-deep")
    assert len(found) == 1
    line, level, code, message = found[0]
    assert (level, code) == ("error", "nesting-too-deep")
    assert message.startswith(f"the body nests {what} more than 32 levels deep here")
    if line_offset is not None:
        assert line == line_after_valid(line_offset)
    else:  # one construct per line: the line of the 33rd level
        assert line == line_after_valid(1 + LIMIT)


def test_deep_indentation_counts_outside_fenced_code_only(tmp_path):
    deep = " " * (4 * LIMIT + 4) + "x"
    assert body_problems(tmp_path, "\n```\n" + deep + "\n```\n", "nesting-too-deep") == []
    found = body_problems(tmp_path, "\n- a\n\n" + deep + "\n", "nesting-too-deep")
    assert [(line, message.split(" more")[0]) for line, _, _, message in found] == [
        (line_after_valid(3), "the body nests indentation (4 columns a level)")]


def test_ordinary_bodies_are_not_parsed_for_nesting(monkeypatch):
    def no_parse(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(scan, "_tokens", no_parse)
    body = VALID.split("---\n", 2)[2] + "\n- a\n  - b\n    - c\n\n> quote\n\n**bold** and *it* and [link](x.md)\n"
    assert scan.too_deep(body, 1, body.split("\n")) is None


# --- the scanners against the readers they replace ------------------------------------------

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab.@-_x1 %+Z.c", max_size=40))
def test_email_addresses_are_what_the_regex_finds(line):
    assert scan.email_addresses(line) == [(m.start(), m.end()) for m in _EMAIL_RE.finditer(line)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="](([)\\ a<>b\t", min_size=1, max_size=60))
def test_the_parenthesis_index_reads_destinations_as_the_scan_does(line):
    index = scan._ParenIndex(line)
    for start, _ in scan._link_openers(line):
        assert scan._destination(line, start, index) == scan._destination(line, start)


@pytest.mark.parametrize("line, spans", [
    ("a `b` c", [(2, 5)]),
    ("``a`", []),                       # no closer of the same length: literal backticks
    ("`a` `` b ``", [(0, 3), (4, 11)]),
    ("\\`a`", []),                      # an escaped backtick opens nothing
    ("x ``` y ``` `z`", [(2, 11), (12, 15)]),
    ("`a`` b`", [(0, 7)]),              # a longer run inside a span does not close it
])
def test_code_spans_pair_runs_of_the_same_length(line, spans):
    assert scan.code_spans(line) == spans


def test_links_are_found_as_before(tmp_path):
    prose = ["see [a](x.md) and ![b](img.png \"t\") and [c](<y z.md>)",
             "[d](javascript:alert(1)) \\[e](not.md) [f]: ref.md",
             "[g](" + "(" * 40 + ")" * 40 + ") [h](javascript:" + "(" * 40 + ")" * 40 + ")"]
    links = [(link.line, link.column, link.target[:14], link.image) for link in scan.body_links(prose, 10)]
    assert links == [(10, 9, "x.md", False), (10, 24, "img.png", True), (10, 46, "y z.md", False),
                     (11, 5, "javascript:ale", False), (12, 91, "javascript:(((", False)]


def test_html_tags_read_attributes_as_a_browser_does():
    def read(text):
        return [(t.name, t.attrs, t.closing) for t in scan.html_tags(text, 1)]

    assert read('<img src=x onerror=alert(1)>') == [("img", (("src", "x"), ("onerror", "alert(1)")), False)]
    assert read('<a title="x <b> y" onclick=z>') == [
        ("a", (("title", "x <b> y"), ("onclick", "z")), False), ("b", (), False)]
    assert read('<a href=javascript:x<b>') == [("a", (("href", "javascript:x"),), False), ("b", (), False)]
    assert read("<!-- <script> --> <p>") == [("p", (), False)]
    assert read("<a href='x") == []          # never closed: no tag
    assert read("a < b and c<d") == []
    assert read("</div >") == [("div", (), True)]


def test_remote_resources_from_images_and_tags():
    prose = ["![a](https://cdn.example.com/a.png) ![b](local.png)",
             '<img alt="x" src="//cdn.example.com/b.png"> <video poster=http://x.example/p.jpg>']
    assert [(link.line, link.column, link.target) for link in scan.find_remote_resources(prose, 5)] == [
        (5, 6, "https://cdn.example.com/a.png"), (6, 1, "//cdn.example.com/b.png"), (6, 45, "http://x.example/p.jpg")]


@pytest.mark.parametrize("text, placeholder", [
    ("TODO", True), ("- TBD.", True), ("...", True), ("[describe the impact]", True), ("{{ impact }}", True),
    ("<!-- hint --> <what happened>", True), ("-" + " " * 5000 + "x", False), ("<!--" * 1000, False),
    ("The disk filled up.", False), ("TODO: write more about the disk", False),
])
def test_placeholders(text, placeholder):
    assert scan.is_placeholder(text) is placeholder


# --- heading ids as Python-Markdown gives them -------------------------------------------------

def _markdown_ids(headings: list[str]) -> set[str]:
    import markdown

    html = markdown.markdown("\n\n".join(headings), extensions=["attr_list", "toc"])
    return set(re.findall(r'<h\d[^>]*\bid="([^"]*)"', html))


@pytest.mark.parametrize("headings", [
    ["# Same"] * 5,
    ["# a", "# a_1", "# a", "# a"],
    ["# a_1", "# a_1", "# a_2"],
    ["# Notes {: #custom .x }", "## custom", "## Root cause"],
    ["# a {x} b {#id}", "# C# and F#", "# x_007", "# x_007"],
    ["# `__init__` crash", "# Root cause ##", "#  Spaces  "],
])
def test_heading_ids_match_python_markdown(headings):
    assert scan.heading_ids(headings) == _markdown_ids(headings)


def test_ten_thousand_equal_headings_get_their_suffixes():
    ids = scan.heading_ids(["### Same"] * 10_000)
    assert len(ids) == 10_000 and "same_9999" in ids and "same_10000" not in ids


# --- the loader ---------------------------------------------------------------------------------

def test_the_loader_leaves_the_garbage_collector_as_it_found_it(tmp_path):
    path = tmp_path / NAME
    path.write_text(VALID, encoding="utf-8")
    assert gc.isenabled()
    assert read_source(path).data["id"] == "PM-2024-017"
    assert gc.isenabled()
    gc.disable()
    try:
        read_source(path)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_lists_of_ten_thousand_items_are_checked_in_full(tmp_path):
    related = "related:\n" + "".join(f"  - PM-2024-{i:04d}\n" for i in range(1000, 11000))
    not_related = "not_related:\n" + "".join(f"  - PM-2024-{i:04d}\n" for i in range(1000, 11000))
    result = check(tmp_path, _front_matter_with(related + not_related))
    codes = [p.code for p in result.problems]
    assert codes.count("unknown-id") == MAX_PROBLEMS_PER_CODE + 1
    assert codes.count("related-conflict") == MAX_PROBLEMS_PER_CODE + 1
    assert problems(result)[0][1] == VALID[:FRONT_END - 4].count("\n") + 2  # first item's line


def test_a_check_that_raises_is_reported_and_the_run_goes_on(tmp_path, runner, monkeypatch):
    from generator import validate as validation
    from generator.cli import cli

    docs = tmp_path / "postmortems"
    docs.mkdir()
    (docs / NAME).write_text(VALID, encoding="utf-8")
    (docs / "2024-03-14-other.md").write_text(VALID.replace("PM-2024-017", "PM-2024-018"), encoding="utf-8")
    real = validation.check_file

    def fails_on_one(src, *args, **kwargs):
        if src.path.name == NAME:
            raise RecursionError("maximum recursion depth exceeded while reading 'hunter2'")
        return real(src, *args, **kwargs)

    monkeypatch.setattr(validation, "check_file", fails_on_one)
    out = runner.invoke(cli, ["validate", "--format", "json", str(docs)])
    assert out.exit_code == 1
    data = json.loads(out.output)
    assert [(Path(p["path"]).name, p["line"], p["code"], p["message"]) for p in data["problems"]] == [
        (NAME, None, "check-failed", "the validator failed on this file (RecursionError); the other files were checked")]
    assert data["counts"]["files"] == 2
    assert "hunter2" not in out.output


def test_a_field_name_with_dots_has_a_path_of_its_own(tmp_path):
    """Found by tests/test_fuzz.py: '...format: 2' (the '---' line cut) was read as the path
    of 'format' and the check raised; such keys are written quoted in paths."""
    text = VALID.replace("summary: ", "...format: yes\nx.y: [1]\nsummary: ")
    line = text.split("\n").index("...format: yes") + 1
    found = [(p.line, p.field, p.code) for p in check(tmp_path, text).problems]
    assert found == [(line, '["...format"]', "field-unknown"), (line, '["...format"]', "yaml-implicit-type"),
                     (line + 1, '["x.y"]', "field-unknown"), (line + 1, '["x.y"][0]', "yaml-implicit-type")]


def test_an_addresses_message_lists_ten_factors_and_counts_the_rest(tmp_path):
    """10,000 action items addressing a cause that is none of 10,000 contributing factors: each
    message names ten factors and a count (listing all made items x factors of text)."""
    from generator.formats import LISTED_FACTORS

    from .test_format_v2 import V2

    factors = [f"factor-{i}" for i in range(10_000)]
    items = "".join(f"  - title: Fix {i}\n    owner: ops\n    status: open\n    addresses: cause-{i}\n"
                    for i in range(10_000))
    text = V2.replace("contributing_factors: [manual-step, missing-alert]",
                      "contributing_factors: [" + ", ".join(factors) + "]")
    start = text.index("action_items:\n") + len("action_items:\n")
    text = text[:start] + items + text[text.index("---\n", start):]
    result = check(tmp_path, text)
    unknown = [p for p in result.problems if p.code == "addresses-unknown"]
    assert LISTED_FACTORS == 10 and len(unknown) == MAX_PROBLEMS_PER_CODE + 1
    assert unknown[0].message == ("addresses 'cause-0' is neither 'root-cause' nor one of the contributing_factors: "
                                  + ", ".join(factors[:10]) + " and 9,990 more")
    assert unknown[0].line == text[:text.index("addresses: cause-0")].count("\n") + 1
    assert unknown[-1].message == "9950 more 'addresses-unknown' problems in this file (not listed: the first 50 are)"


@pytest.mark.parametrize("line, first", [
    (lambda i: f"### Step {i}", 0),                     # ATX headings
    (lambda i: f"#\tstep {i}", 0),                      # Python-Markdown needs no space after '#'
    (lambda i: f"Step {i}\n===", 1),                    # setext headings: the underline splits
    (lambda i: "* * *" if i % 2 else f"text {i}", 1),   # rules between lines of text
])
def test_a_block_crowded_with_headings_is_an_error_at_the_first_over_the_limit(tmp_path, line, first):
    lines = "\n".join(line(i) for i in range(2 * scan.MAX_BLOCK_SPLITS + 40)).split("\n")
    splitters = [i for i, text in enumerate(lines) if text.startswith(("#", "===", "* * *"))]
    result = check(tmp_path, VALID + "\n" + "\n".join(lines) + "\n\nAfter the block.\n")
    found = [(p.line, p.level, p.code, p.message, p.fix) for p in result.problems if p.code == "blank-lines-missing"]
    count = len(splitters)
    assert scan.MAX_BLOCK_SPLITS == 100 and count > 100
    assert found == [(line_after_valid(1 + splitters[100]), "error", "blank-lines-missing",
                      f"{count} headings and horizontal rules follow one another without a blank line between them "
                      "(more than 100); the site's Markdown renderer reads the rest of the block again after each "
                      "one, which takes minutes for thousands",
                      "put a blank line before each heading and rule (a long log belongs in a fenced code block)")]


def test_headings_with_blank_lines_lists_and_code_are_not_crowded(tmp_path):
    body = ("\n\n".join(f"### Step {i}\n\nDone." for i in range(300)) + "\n\n"
            + "\n".join(f"- item {i}" for i in range(300)) + "\n\n```\n" + "\n".join("# comment" for _ in range(300))
            + "\n```\n")
    result = check(tmp_path, VALID + "\n" + body)
    assert [p for p in result.problems if p.code == "blank-lines-missing"] == []


@pytest.mark.parametrize("paragraph, what, count", [
    (" ".join("`" * k for k in range(1, 131)), "backtick runs that open no code span", 130),
    ("[a](" * 150, "link targets ('](') never closed by ')'", 150),
    ("see ![a](" * 60 + "\n" + "and [b](<" * 60, "link targets ('](') never closed by ')'", 120),
])
def test_a_paragraph_of_unclosed_markup_is_an_error(tmp_path, paragraph, what, count):
    result = check(tmp_path, VALID + "\nIntro.\n\n" + paragraph + "\n\nAfter.\n")
    found = [(p.line, p.level, p.code, p.message) for p in result.problems if p.code == "unclosed-markup"]
    first = line_after_valid(3)
    line = first + (1 if "and [b]" in paragraph else 0)  # the 101st of them is on the second line
    assert found == [(line, "error", "unclosed-markup",
                      f"{count} {what} in one paragraph (more than 100); the site's Markdown renderer searches the "
                      "rest of the paragraph for the end of each, which takes minutes for thousands")]


def test_closed_markup_and_lone_closers_are_no_error(tmp_path):
    body = (" ".join(f"`code {i}` and [link {i}](other-{i}.md)" for i in range(200)) + "\n\n"
            + "](" * 300 + "\n\n" + "\n\n".join(" ".join("`" * k for k in range(1, 100)) for _ in range(5)) + "\n")
    result = check(tmp_path, VALID + "\n" + body)
    assert [p.message for p in result.problems if p.code == "unclosed-markup"] == []


# --- no page holds the site build: a time limit per page (the backstop) -----------------------

def test_a_page_that_renders_too_long_stops_the_build_with_its_name():
    """Python-Markdown's raw-HTML reader (the standard library's html.parser) is more than
    quadratic on a line of '<a ' repeated, which validate does not refuse: the plugin's time
    limit stops the build and names the file."""
    import signal

    import markdown
    from mkdocs.exceptions import PluginError

    from generator.plugin import RENDER_SECONDS, RenderBudget

    assert RENDER_SECONDS == 30.0
    budget = RenderBudget(0.3)
    previous = signal.getsignal(signal.SIGALRM)
    budget.start("2024-03-14-pasted-html.md")
    with pytest.raises(PluginError) as error:
        try:
            markdown.Markdown(extensions=["md_in_html"]).convert("para " + "<a " * 40_000 + "\n")
        finally:
            budget.stop()
    assert str(error.value).startswith("postmortems/2024-03-14-pasted-html.md: rendering this page took more than "
                                       "0.3 s, so the build stopped.")
    assert signal.getsignal(signal.SIGALRM) is previous and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_page_rendered_in_time_leaves_no_timer():
    import signal

    import markdown

    from generator.plugin import RenderBudget

    budget = RenderBudget(5)
    budget.start("2024-03-14-ok.md")
    assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 5
    html = markdown.Markdown().convert("## Root cause\n\nA line.\n")
    budget.stop()
    assert html == "<h2>Root cause</h2>\n<p>A line.</p>" and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
