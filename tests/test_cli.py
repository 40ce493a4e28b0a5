"""The ``pmkb`` command line: validate's formats and exit codes, ``new``, and configuration."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from generator.cli import cli

from .conftest import ROOT
from .test_validate import NAME, VALID


def write_corpus(tmp_path: Path, files: dict[str, str]) -> Path:
    """A project folder with an mkdocs.yml naming ``postmortems`` as docs_dir, holding ``files``."""
    docs = tmp_path / "postmortems"
    docs.mkdir()
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\ndocs_dir: postmortems\nplugins:\n  - postmortems\n")
    return docs


BROKEN = VALID.replace("detected_at: 2024-03-14T09:31:00Z", "detected_at: 2024-03-14T09:31:00")


def test_validate_text_output_and_exit_1(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: BROKEN})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"postmortems/{NAME}:12:14: error timestamp-no-offset detected_at: timestamp '2024-03-14T09:31:00' "
        "has no UTC offset, so its moment depends on the reader's time zone "
        "(append Z for UTC or the offset it was written in, e.g. 2024-03-14T09:31:00Z)",
        "1 error, 0 warnings in 1 file",
    ]


def test_validate_clean_exit_0(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: VALID})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert (result.exit_code, result.output) == (0, "1 file checked: no problems\n")


def test_validate_json_has_the_keys_check_cases_reads(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: BROKEN})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate", "--format", "json", "postmortems"])
    data = json.loads(result.output)
    assert result.exit_code == 1
    assert data["counts"] == {"files": 1, "errors": 1, "warnings": 0}
    assert data["ok"] is False
    assert data["problems"] == [{
        "path": f"postmortems/{NAME}", "line": 12, "column": 14, "field": "detected_at", "level": "error",
        "code": "timestamp-no-offset",
        "message": "timestamp '2024-03-14T09:31:00' has no UTC offset, so its moment depends on the "
                   "reader's time zone",
        "fix": "append Z for UTC or the offset it was written in, e.g. 2024-03-14T09:31:00Z",
    }]


def test_validate_github_annotations(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: BROKEN})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate", "--format", "github"])
    first = result.output.splitlines()[0]
    assert first.startswith(f"::error file=postmortems/{NAME},line=12,col=14,title=timestamp-no-offset detected_at::")
    # the message part escapes nothing here, but ':' inside properties would be %3A
    assert "2024-03-14T09:31:00Z" in first


def test_github_format_escapes_properties(runner, tmp_path, monkeypatch):
    from generator.model import Problem
    from generator.output import format_github
    from generator.validate import ValidationResult

    result = ValidationResult(problems=[Problem("a,b:c.md", 3, None, "f", "warning", "x", "50% done\nnext", "fix")],
                              files=1)
    assert format_github(result).splitlines()[0] == "::warning file=a%2Cb%3Ac.md,line=3,title=x f::50%25 done%0Anext (fix)"


def test_missing_path_is_a_usage_error(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate", "nope.md"])
    assert result.exit_code == 2
    assert "'nope.md' does not exist" in result.output


def test_no_docs_folder_is_a_usage_error(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_bad_plugin_option_is_a_usage_error(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: VALID})
    (tmp_path / "mkdocs.yml").write_text("docs_dir: postmortems\nplugins:\n  - postmortems:\n      top_kk: 3\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 2
    assert "unknown option 'top_kk' for plugin 'postmortems'" in result.output


def test_options_come_from_mkdocs_yml(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: VALID + "\nSee [x](missing.md).\n"})
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["validate"]).exit_code == 1
    (tmp_path / "mkdocs.yml").write_text("docs_dir: postmortems\nplugins:\n  - search\n  - postmortems:\n"
                                         "      broken_links: warning\n")
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0
    assert "warning broken-link" in result.output


def test_mkdocs_yml_with_python_tags_is_read_without_executing_them(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: VALID})
    (tmp_path / "mkdocs.yml").write_text(
        "docs_dir: postmortems\nmarkdown_extensions:\n  - pymdownx.emoji:\n"
        "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
        "plugins:\n  - offline:\n      enabled: !ENV [OFFLINE, false]\n  - postmortems\n")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["validate"]).exit_code == 0


def test_new_writes_a_draft_with_the_next_free_id(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: VALID})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["new", "Search: p99 latency doubled after index rebuild", "--severity", "SEV2",
                                 "--service", "search-api", "--service", "indexer", "--date", "2024-11-02",
                                 "--author", "bob"])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path == Path("postmortems/2024-11-02-search-p99-latency-doubled-after-index-rebuild.md")
    text = path.read_text(encoding="utf-8")
    head = text.split("---\n")[1]
    assert "id: PM-2024-018\n" in head  # after PM-2024-017, the highest id of 2024
    assert 'title: "Search: p99 latency doubled after index rebuild"\n' in head
    assert "status: draft\n" in head and "severity: SEV2\n" in head
    assert 'services: ["search-api", "indexer"]\n' in head and 'authors: ["bob"]\n' in head
    assert re.findall(r"^## (.+)$", text, re.M) == [
        "Summary", "Impact", "Timeline", "Root cause", "Trigger", "Detection", "Resolution",
        "Action items", "Lessons learned", "Notes"]
    check = runner.invoke(cli, ["validate"])
    assert (check.exit_code, check.output) == (0, "2 files checked: no problems\n")


def test_new_ids_follow_the_highest_of_the_year(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: VALID})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["new", "Second one", "--service", "api", "--date", "2024-06-01"])
    text = Path(result.output.strip()).read_text()
    assert "id: PM-2024-018\n" in text


def test_new_skips_the_id_of_a_file_whose_yaml_does_not_parse(runner, tmp_path, monkeypatch):
    broken = VALID.replace("id: PM-2024-017", "id: PM-2024-018").replace("title: ", 'title: "')
    write_corpus(tmp_path, {NAME: VALID, "2024-05-01-broken.md": broken})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["new", "Second one", "--service", "api", "--date", "2024-06-01", "--no-input"])
    assert result.exit_code == 0, result.output
    assert "id: PM-2024-019\n" in Path(result.output.strip()).read_text()


def test_new_never_overwrites(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    args = ["new", "Disk full", "--service", "db", "--date", "2024-01-05"]
    first = runner.invoke(cli, args)
    path = Path(first.output.strip())
    path.write_text("my edits")
    second = runner.invoke(cli, args)
    assert second.exit_code == 1
    assert "already exists" in second.output
    assert path.read_text() == "my edits"


@pytest.mark.parametrize("args, message", [
    (["new", "x", "--date", "14/03/2024"], "is not a date"),
    (["new", "x", "--service", "Checkout API"], "is not kebab-case"),
    (["new", "x", "--severity", "SEV9"], "SEV9"),
    (["new", "   "], "the title is empty"),
])
def test_new_rejects_bad_arguments(runner, tmp_path, monkeypatch, args, message):
    write_corpus(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.output
    assert list((tmp_path / "postmortems").iterdir()) == []


def test_shipped_corpus_through_the_cli(runner, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(cli, ["validate"])
    assert (result.exit_code, result.output) == (0, "60 files checked: no problems\n")


def test_strict_fails_on_warnings_like_mkdocs_build_strict(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: VALID.replace("tags: [tls, certificates]", "tags: [tls]\nteam: payments")})
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["validate"]).exit_code == 0
    strict = runner.invoke(cli, ["validate", "--strict"])
    assert strict.exit_code == 1
    assert "warning field-unknown team" in strict.output


def test_empty_folder_is_an_error_that_says_where_it_looked(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "postmortems: error no-postmortems: no post-mortem found: looked for *.md files in postmortems; there are "
        "no Markdown files there (point pmkb at the post-mortems folder (the docs_dir of mkdocs.yml, or a PATH); "
        "bring an archive in with `pmkb import`; or pass --allow-empty for a knowledge base with nothing in it yet)",
        "no post-mortem files found (Markdown files outside the 'ignore' patterns)",
    ]
    allowed = runner.invoke(cli, ["validate", "--allow-empty"])
    assert (allowed.exit_code, allowed.output) == (0, "no post-mortem files found (Markdown files outside the "
                                                      "'ignore' patterns)\n")


@pytest.mark.parametrize("option, message", [
    ("top_k: -3", "'top_k' is -3, but it is how many related post-mortems a page lists and must be between 1 and 100"),
    ("min_score: 5", "'min_score' is 5.0, but it is a cosine similarity and must be between 0.0 and 1.0"),
    ("field_weights: {title: -1}", "field weight(s) ['title'] are negative"),
    ("phone_region: XX", "'phone_region' 'XX' is not a region phonenumbers knows"),
])
def test_out_of_range_options_are_refused(runner, tmp_path, monkeypatch, option, message):
    write_corpus(tmp_path, {NAME: VALID})
    (tmp_path / "mkdocs.yml").write_text(f"docs_dir: postmortems\nplugins:\n  - postmortems:\n      {option}\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 2
    assert message in result.output


def test_new_outside_a_project_does_not_create_a_folder(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["new", "Disk full", "--service", "db"])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert list(tmp_path.iterdir()) == []


def test_new_refuses_a_future_date(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["new", "Disk full", "--service", "db", "--date", "2999-01-01"])
    assert result.exit_code == 2
    assert "2999-01-01 is in the future" in result.output


def test_new_id_is_free_in_both_the_docs_dir_and_the_target_dir(runner, tmp_path, monkeypatch):
    docs = VALID.replace("id: PM-2024-017", "id: PM-2013-001").replace("2024-03-14", "2013-03-14") \
        .replace("2024-04-30", "2013-04-30")
    write_corpus(tmp_path, {"2013-03-14-checkout-tls-expiry.md": docs})
    drafts = tmp_path / "drafts"
    monkeypatch.chdir(tmp_path)
    args = ["new", "Storage cert lapsed again", "--service", "blob-storage", "--date", "2013-05-05",
            "--dir", str(drafts), "--author", "bob"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "id: PM-2013-002\n" in Path(first.output.strip()).read_text()  # PM-2013-001 is in postmortems/
    second = runner.invoke(cli, [*args[:1], "Storage cert lapsed a third time", *args[2:]])
    assert "id: PM-2013-003\n" in Path(second.output.strip()).read_text()  # PM-2013-002 is in drafts/


@pytest.mark.parametrize("args, lines", [
    (["new", "Disk full", "--service", "db", "--date", "2024-01-05", "--author", ""], [
        "Error: the post-mortem would not pass `pmkb validate`, so nothing was written:",
        "  --author: 'authors[0]' is empty (list at least one author, e.g. [alice])",
        "change what you gave there and run `pmkb new` again"]),
    (["new", "<script>alert(1)</script> disk full", "--service", "db", "--date", "2024-01-05", "--author", "bob"], [
        "Error: the post-mortem would not pass `pmkb validate`, so nothing was written:",
        "  TITLE: <script> element in 'title' would run in a reader's browser (remove the HTML; front-matter "
        "text is shown as plain text)",
        "change what you gave there and run `pmkb new` again"]),
    (["new", "Disk full", "--service", "db", "--date", "2024-02-30"], [
        "Error: Invalid value for '--date': '2024-02-30' is not a real calendar date: February 2024 has 29 days; "
        "correct the day: February 2024 ends on 2024-02-29"]),
    (["new", "Disk full", "--service", "数据库"], [
        "Error: Invalid value for '--service': '数据库' is not kebab-case: the v1 format allows only lowercase "
        "ASCII letters (a-z), digits and hyphens here, not accented letters or other scripts; write it in ASCII "
        "kebab-case, e.g. 'shu-ju-ku' (transliterated) or an English keyword; text in any language can go in "
        "the title, summary and body, where search and related incidents read it"]),
])
def test_new_refuses_what_would_make_an_invalid_file(runner, tmp_path, monkeypatch, args, lines):
    write_corpus(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert result.output.splitlines()[3:] == lines
    assert list((tmp_path / "postmortems").iterdir()) == []
