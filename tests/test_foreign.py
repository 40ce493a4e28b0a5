"""Input written for another tool: a folder with no post-mortem, templates, foreign field names.

``pmkb validate`` pointed at the wrong folder, or at an archive with its own schema, must say so
in a few lines (issue #14, item 4): zero post-mortems is an error that says where it looked;
templates are skipped by pattern or recognised by their placeholders; an unknown field used in
many files is one line with a count and "did you mean", not one line per file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import cli
from generator.foreign import is_template_path, suggest_field, template_placeholders
from generator.settings import Settings
from generator.validate import _known_fields, validate

from .test_cli import write_corpus
from .test_validate import NAME, VALID

ARCHIVE_ENTRY = """---
uuid: 5c1d0a52-0d0b-4a3e-9b8e-00000000000{n}
url: https://status.example.com/incidents/{n}
title: Object store returned errors for two hours ({n})
start_time: 2017-02-2{n}T17:37:00Z
end_time: 2017-02-2{n}T21:54:00Z
categories:
- cloud
keywords: [typo, capacity]
company: Example Cloud
product: Object Store
summary: A mistyped command removed more servers than intended.
---

A longer account.
"""


def archive(tmp_path: Path, n: int = 4) -> Path:
    folder = tmp_path / "archive"
    folder.mkdir()
    for i in range(1, n + 1):
        (folder / f"entry-{i}.md").write_text(ARCHIVE_ENTRY.format(n=i), encoding="utf-8")
    return folder


@pytest.mark.parametrize("name, expected", [
    ("start_time", "started_at"), ("StartTime", "started_at"), ("end_time", "resolved_at"),
    ("categories", "tags"), ("keywords", "tags"), ("product", "services"), ("uuid", "id"),
    ("summry", "summary"), ("author", "authors"), ("priority", "severity"), ("company", None), ("flavour", None),
])
def test_foreign_field_names_map_to_ours(name, expected):
    assert suggest_field(name, _known_fields("")) == expected


def test_action_item_fields_are_suggested_inside_action_items():
    assert suggest_field("assignee", _known_fields("action_items[0]")) == "owner"
    assert suggest_field("due_date", _known_fields("action_items[0]")) == "due"


def test_an_archive_gives_one_line_per_unknown_field_with_count_and_suggestion(runner, tmp_path):
    folder = archive(tmp_path)
    result = runner.invoke(cli, ["validate", str(folder)])
    lines = result.output.splitlines()
    unknown = [line for line in lines if "field-unknown" in line]
    assert [line.split(":", 1)[0] for line in unknown] == ["4 files"] * 8
    start = next(line for line in unknown if "start_time" in line)
    assert start == (f"4 files: warning field-unknown start_time: unknown field 'start_time' (did you mean "
                     f"'started_at'?): {folder}/entry-1.md:5, {folder}/entry-2.md:5, {folder}/entry-3.md:5 "
                     "and 1 more")
    assert not any("known fields:" in line for line in lines)
    missing = [line for line in lines if "field-missing" in line]
    assert len(missing) == 6 and all(line.startswith("4 files: error field-missing") for line in missing)
    assert lines[-2] == ("hint: 4 of 4 files use fields of another format (categories, company, end_time, keywords, "
                         "product): convert them with `pmkb import SOURCE --from md-frontmatter` (see `pmkb import "
                         "--help`) rather than one by one")
    assert lines[-1] == "28 errors, 32 warnings in 4 files"
    assert len([line for line in lines if "error file-name" in line]) == 4  # each names its own new name
    assert len(lines) == 20


def test_json_keeps_every_problem_and_adds_the_unknown_field_summary(runner, tmp_path):
    folder = archive(tmp_path, 3)
    data = json.loads(runner.invoke(cli, ["validate", "--format", "json", str(folder)]).output)
    assert data["counts"] == {"files": 3, "errors": 21, "warnings": 24}
    assert len(data["problems"]) == 45
    first = data["unknown_fields"][0]
    assert [u["field"] for u in data["unknown_fields"]] == ["categories", "company", "end_time", "keywords",
                                                          "product", "start_time", "url", "uuid"]
    assert first == {"field": "categories", "files": 3, "suggestion": "tags",
                     "locations": [f"{folder}/entry-1.md:7", f"{folder}/entry-2.md:7", f"{folder}/entry-3.md:7"]}


def test_an_unknown_field_in_one_file_keeps_its_own_line_and_no_list_of_fields(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: VALID.replace("tags: [tls, certificates]", "tags: [tls]\nflavour: mild")})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert result.output.splitlines()[0] == (
        f"postmortems/{NAME}:9: warning field-unknown flavour: unknown field 'flavour' (remove it or rename it to a "
        "field of the format (README: 'The front-matter fields'))")


@pytest.mark.parametrize("relpath, template", [
    ("TEMPLATE.md", True), ("template.md", True), ("postmortem-template.md", True), ("Template-SEV1.md", True),
    ("templates/outage.md", True), ("2024/templates/x.md", True),
    ("2024-03-14-template-engine-crash.md", False), ("2024-03-14-checkout-tls.md", False),
])
def test_template_names(relpath, template):
    assert is_template_path(relpath, Settings().templates) is template


def test_templates_are_skipped_by_pattern_and_said_once(runner, tmp_path, monkeypatch):
    docs = write_corpus(tmp_path, {NAME: VALID, "TEMPLATE.md": "---\nid: PM-YYYY-NNN\n---\n"})
    (docs / "templates").mkdir()
    (docs / "templates" / "sev1.md").write_text("# SEV1 template\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0
    assert result.stdout == "1 file checked: no problems\n"
    assert result.stderr == ("note: 2 template files not checked as post-mortems (TEMPLATE.md, templates/sev1.md), "
                             "by the 'templates' option\n")


def test_a_linked_template_is_reported_not_listed(runner, tmp_path, monkeypatch):
    """The skipped-files note walks the folder as validation does: a link is a problem, not a template."""
    docs = write_corpus(tmp_path, {NAME: VALID})
    (tmp_path / "elsewhere.md").write_text("# template kept elsewhere\n", encoding="utf-8")
    (docs / "TEMPLATE.md").symlink_to(tmp_path / "elsewhere.md")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 1 and result.stderr == ""
    assert result.stdout.splitlines()[0] == (
        "postmortems/TEMPLATE.md:1: error file-symlink: this is a symbolic link, which is never followed, read or "
        "published (replace the link with the real file, or remove it: git add the file itself, not a link to it)")


def test_the_templates_option_replaces_the_default_patterns(runner, tmp_path, monkeypatch):
    write_corpus(tmp_path, {NAME: VALID, "blank.md": "---\nid: x\n---\n"})
    (tmp_path / "mkdocs.yml").write_text("docs_dir: postmortems\nplugins:\n  - postmortems:\n"
                                         "      templates: [blank.md]\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["validate"])
    assert (result.exit_code, result.stdout) == (0, "1 file checked: no problems\n")
    assert "(blank.md), by the 'templates' option" in result.stderr


def test_a_template_with_placeholders_is_reported_once_not_as_field_errors(tmp_path):
    text = ("---\nid: PM-YYYY-NNN\ntitle: <one-line title>\ndate: YYYY-MM-DD\nseverity: SEVx\nstatus: draft\n"
            "services: [service-name]\nauthors: [you]\n---\n\n## Summary\n<script>alert(1)</script>\n")
    (tmp_path / "blank-form.md").write_text(text, encoding="utf-8")
    result = validate([tmp_path], Settings(docs_dir=tmp_path))
    assert [(p.line, p.level, p.code) for p in result.problems] == [(2, "warning", "template-file"),
                                                                     (12, "error", "unsafe-html")]
    assert result.problems[0].message == (
        "this looks like a post-mortem template, not an incident (id: 'PM-YYYY-NNN', title: '<one-line title>', "
        "date: 'YYYY-MM-DD'), so it was not checked as one")
    assert result.postmortems == []


@pytest.mark.parametrize("data, fields", [
    ({"id": "PM-YYYY-NNN", "date": "YYYY-MM-DD", "severity": "SEV1 | SEV2 | SEV3"}, ["id", "date", "severity"]),
    ({"title": "{{ title }}", "summary": "TODO"}, ["title", "summary"]),
    ({"id": "PM-2024-001", "title": "Disk full", "date": "2024-03-14", "summary": "TBD"}, ["summary"]),
    ({"id": "PM-2024-001", "title": "Checkout <b>down</b>", "services": ["api"]}, []),
])
def test_placeholders(data, fields):
    assert template_placeholders(data) == fields


def test_a_real_post_mortem_with_one_placeholder_is_still_checked(tmp_path):
    text = VALID.replace("summary: Card payments failed for 2 h 28 min because the edge certificate expired.",
                         "summary: TBD\nteam: payments")
    (tmp_path / NAME).write_text(text, encoding="utf-8")
    result = validate([tmp_path], Settings(docs_dir=tmp_path))
    assert [(p.line, p.level, p.code, p.field) for p in result.problems] == [
        (10, "error", "field-placeholder", "summary"), (11, "warning", "field-unknown", "team")]
    assert result.problems[0].message == "summary is a placeholder ('TBD'), not the incident's summary"
    assert result.problems[0].fix == "write the real summary; a final post-mortem is published with it"
    assert [pm.id for pm in result.postmortems] == ["PM-2024-017"]


def test_a_post_mortem_with_a_real_id_and_date_is_checked_however_many_fields_are_placeholders(tmp_path):
    """Tester finding: a final post-mortem with summary and root_cause TODO was taken for a
    template: no check ran (its duplicate id went unreported) and the site published it without
    its card. A draft's placeholders are warnings; an <img ...> is no placeholder."""
    text = VALID.replace("summary: Card payments failed for 2 h 28 min because the edge certificate expired.",
                         "summary: TODO").replace("root_cause: Manual renewal step was skipped when the on-call rota "
                                                  "changed.", "root_cause: TBD")
    (tmp_path / NAME).write_text(text, encoding="utf-8")
    other = tmp_path / "2024-03-15-other.md"
    other.write_text(VALID.replace("2024-03-14", "2024-03-15"), encoding="utf-8")  # the same id
    result = validate([tmp_path], Settings(docs_dir=tmp_path))
    mine = [(p.line, p.level, p.code) for p in result.problems if p.path.endswith(NAME)]
    assert mine == [(2, "error", "duplicate-id"), (10, "error", "field-placeholder"), (16, "error", "field-placeholder")]
    draft = text.replace("status: final", "status: draft")
    (tmp_path / NAME).write_text(draft, encoding="utf-8")
    other.unlink()
    result = validate([tmp_path], Settings(docs_dir=tmp_path))
    assert [(p.level, p.code, p.fix) for p in result.problems] == [
        ("warning", "field-placeholder", "write the real summary before the status is final"),
        ("warning", "field-placeholder", "write the real root cause before the status is final")]
    assert template_placeholders({"title": '<img src="x.png">', "summary": "<b onclick=x>"}) == []
