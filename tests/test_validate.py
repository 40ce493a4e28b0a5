"""Unit tests of the validation rules: each test writes a file that breaks one rule of the v1
format and asserts the exact problem (line, field, code, level) and what the message says."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from generator.output import format_text
from generator.settings import Settings
from generator.validate import next_free_id, validate

from .conftest import ROOT, TODAY

VALID = """\
---
id: PM-2024-017
title: Checkout API down after TLS certificate expired
date: 2024-03-14
severity: SEV1
status: final
services: [checkout-api, edge-proxy]
tags: [tls, certificates]
authors: [alice]
summary: Card payments failed for 2 h 28 min because the edge certificate expired.
started_at: 2024-03-14T09:12:00Z
detected_at: 2024-03-14T09:31:00Z
mitigated_at: 2024-03-14T11:05:00Z
resolved_at: 2024-03-14T11:40:00Z
trigger: certificate-expiry
root_cause: Manual renewal step was skipped when the on-call rota changed.
action_items:
  - title: Automate certificate renewal with ACME
    owner: platform-team
    status: open
    due: 2024-04-30
    ticket: OPS-1234
---

## Summary

Card payments failed because the certificate on the edge proxy expired.

## Impact

All card payments failed for 2 h 28 min.

## Root cause

The manual renewal step was skipped when the on-call rota changed.

## Action items

- Automate renewal.
"""

NAME = "2024-03-14-checkout-tls-expiry.md"


def check(tmp_path: Path, text: str | bytes, name: str = NAME, extra: dict[str, str] | None = None,
          **options):
    """Validate ``text`` written as ``name`` (plus ``extra`` files) in a fresh docs folder."""
    docs = tmp_path / "postmortems"
    docs.mkdir(exist_ok=True)
    target = docs / name
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text, encoding="utf-8", newline="")
    for other, content in (extra or {}).items():
        (docs / other).write_text(content, encoding="utf-8")
    result = validate([docs], Settings(docs_dir=docs, **options), today=TODAY)
    return result


def problems(result) -> list[tuple]:
    return [(Path(p.path).name, p.line, p.field, p.level, p.code) for p in result.problems]


def test_valid_file_has_no_problems(tmp_path):
    result = check(tmp_path, VALID)
    assert result.problems == []
    assert [pm.id for pm in result.postmortems] == ["PM-2024-017"]
    pm = result.postmortems[0]
    assert pm.time_to_detect == 19 * 60
    assert pm.time_to_resolve == (2 * 60 + 28) * 60
    assert pm.action_items[0].due.isoformat() == "2024-04-30"
    assert list(pm.sections) == ["Summary", "Impact", "Root cause", "Action items"]


@pytest.mark.parametrize("written, kind", [
    ("yes", "boolean"), ("off", "boolean"), ("1.20", "number"), ("0644", "number"), ("12:30", "number"),
])
def test_yaml11_implicit_types_in_text_fields(tmp_path, written, kind):
    text = VALID.replace("tags: [tls, certificates]", f"tags: [tls, {written}]")
    result = check(tmp_path, text)
    assert problems(result) == [(NAME, 8, "tags[1]", "error", "yaml-implicit-type")]
    message = result.problems[0].message
    assert f"'{written}'" in message and kind in message
    assert result.problems[0].fix == f"quote it: '{written}'" or written in result.problems[0].fix


def test_implicit_type_in_title_and_owner(tmp_path):
    text = VALID.replace("title: Checkout API down after TLS certificate expired", "title: 2024") \
                .replace("owner: platform-team", "owner: on")
    assert problems(check(tmp_path, text)) == [
        (NAME, 3, "title", "error", "yaml-implicit-type"),
        (NAME, 19, "action_items[0].owner", "error", "yaml-implicit-type"),
    ]


def test_bytes_that_are_not_utf8(tmp_path):
    data = VALID.replace("Card payments failed because", "Caf\udce9 payments failed because")
    raw = data.encode("utf-8", "surrogateescape")  # a lone latin-1 byte 0xE9 on line 27
    result = check(tmp_path, raw)
    assert problems(result) == [(NAME, 27, None, "error", "not-utf8")]


def test_explicit_python_tag_is_refused_not_executed(tmp_path):
    text = VALID.replace("trigger: certificate-expiry", "trigger: !!python/object/apply:os.system ['true']")
    assert problems(check(tmp_path, text)) == [(NAME, 15, "trigger", "error", "yaml-tag")]


def test_anchor_and_alias_are_refused(tmp_path):
    text = VALID.replace("tags: [tls, certificates]", "tags: &t [tls]\nx: *t").replace("x: *t", "x: *t")
    result = check(tmp_path, text)
    assert [(p.line, p.code) for p in result.problems] == [(8, "yaml-anchor")]


def test_duplicate_key_names_both_lines(tmp_path):
    text = VALID.replace("tags: [tls, certificates]\n", "tags: [tls, certificates]\nseverity: SEV2\n")
    result = check(tmp_path, text)
    assert problems(result) == [(NAME, 9, "severity", "error", "duplicate-key")]
    assert "lines 5 and 9" in result.problems[0].message


def test_tab_indentation(tmp_path):
    text = VALID.replace("    owner: platform-team", "\towner: platform-team")
    assert problems(check(tmp_path, text)) == [(NAME, 19, "action_items", "error", "yaml-tab-indent")]


def test_crlf_and_bom_are_accepted(tmp_path):
    text = "\ufeff" + VALID.replace("\n", "\r\n")
    assert check(tmp_path, text).problems == []


def test_bare_cr_line_endings_warn(tmp_path):
    text = VALID.replace("\n", "\r")
    result = check(tmp_path, text)
    assert ("line-endings", "warning") in [(p.code, p.level) for p in result.problems]
    assert result.errors == 0


def test_missing_front_matter(tmp_path):
    assert problems(check(tmp_path, "# Just a page\n")) == [(NAME, 1, None, "error", "front-matter-missing")]


def test_unknown_field_is_a_warning(tmp_path):
    text = VALID.replace("tags: [tls, certificates]", "tags: [tls, certificates]\nteam: payments")
    result = check(tmp_path, text)
    assert problems(result) == [(NAME, 9, "team", "warning", "field-unknown")]


def test_required_field_missing(tmp_path):
    text = VALID.replace("authors: [alice]\n", "")
    result = check(tmp_path, text)
    assert problems(result) == [(NAME, 1, "authors", "error", "field-missing")]


@pytest.mark.parametrize("line, replacement, field, code", [
    (5, "severity: SEV5", "severity", "field-enum"),
    (5, "severity: sev1", "severity", "field-enum"),
    (6, "status: done", "status", "field-enum"),
    (2, "id: pm-17", "id", "field-format"),
    (7, "services: [Checkout API]", "services[0]", "field-format"),
    (7, "services: []", "services", "field-empty"),
    (3, "title: " + "x" * 121, "title", "field-too-long"),
])
def test_schema_rules(tmp_path, line, replacement, field, code):
    original = VALID.splitlines()[line - 1]
    result = check(tmp_path, VALID.replace(original, replacement))
    assert problems(result) == [(NAME, line, field, "error", code)]


def test_action_item_status_enum_names_the_item(tmp_path):
    result = check(tmp_path, VALID.replace("    status: open", "    status: closed"))
    assert problems(result) == [(NAME, 20, "action_items[0].status", "error", "field-enum")]
    assert "'closed'" in result.problems[0].message


def test_timestamp_without_offset(tmp_path):
    result = check(tmp_path, VALID.replace("detected_at: 2024-03-14T09:31:00Z", "detected_at: 2024-03-14T09:31:00"))
    assert problems(result) == [(NAME, 12, "detected_at", "error", "timestamp-no-offset")]


def test_timestamps_out_of_order(tmp_path):
    result = check(tmp_path, VALID.replace("mitigated_at: 2024-03-14T11:05:00Z", "mitigated_at: 2024-03-14T09:20:00Z"))
    assert problems(result) == [(NAME, 13, "mitigated_at", "error", "timestamps-order")]


def test_date_is_read_in_the_offset_written(tmp_path):
    # 23:30 at UTC-05:00 is already the 15th in UTC; the date is the 14th, as written.
    text = VALID.replace("started_at: 2024-03-14T09:12:00Z", "started_at: 2024-03-14T23:30:00-05:00") \
                .replace("detected_at: 2024-03-14T09:31:00Z", "detected_at: 2024-03-15T05:00:00Z") \
                .replace("mitigated_at: 2024-03-14T11:05:00Z", "mitigated_at: 2024-03-15T06:00:00Z") \
                .replace("resolved_at: 2024-03-14T11:40:00Z", "resolved_at: 2024-03-15T07:00:00Z")
    assert check(tmp_path, text).problems == []


def test_date_mismatch_suggests_the_started_at_day(tmp_path):
    text = VALID.replace("date: 2024-03-14", "date: 2024-03-13")
    result = check(tmp_path, text, name="2024-03-13-checkout-tls-expiry.md")
    assert problems(result) == [("2024-03-13-checkout-tls-expiry.md", 4, "date", "error", "date-mismatch")]
    # the file's name carries the date too: the fix renames it in the same step (tester finding:
    # following "set date" alone gave a file-name-date error next)
    assert result.problems[0].fix == ("set date: 2024-03-14 and rename the file to "
                                      "2024-03-14-checkout-tls-expiry.md, or correct started_at")
    (tmp_path / "other").mkdir()
    other = check(tmp_path / "other", text, name="2024-03-14-checkout-tls-expiry.md")
    assert [p.fix for p in other.problems if p.code == "date-mismatch"] == ["set date: 2024-03-14, or correct started_at"]
    # ... and the name's own check agrees with it instead of asking to rename to the wrong day
    assert [p.fix for p in other.problems if p.code == "file-name-date"] == [
        "set date: 2024-03-14, the day of started_at (the file name is right)"]


def test_date_in_the_future(tmp_path):
    text = VALID.replace("2024-03-14", "2027-03-14")
    result = check(tmp_path, text, name="2027-03-14-checkout-tls-expiry.md")
    codes = [(p.field, p.code) for p in result.problems]
    assert ("date", "date-in-future") in codes
    assert ("started_at", "date-in-future") in codes


def test_file_name_date_differs_and_the_right_name_is_suggested(tmp_path):
    result = check(tmp_path, VALID, name="2024-03-15-checkout-tls-expiry.md")
    assert problems(result) == [("2024-03-15-checkout-tls-expiry.md", 4, "date", "error", "file-name-date")]
    assert "2024-03-14-checkout-tls-expiry.md" in result.problems[0].fix


@pytest.mark.parametrize("name, suggestion", [
    ("2024-03-14 Checkout TLS.md", "2024-03-14-checkout-tls.md"),
    ("2024-03-14-Checkout_TLS.md", "2024-03-14-checkout-tls.md"),
    ("checkout-tls.md", "2024-03-14-checkout-tls.md"),
    ("2024-03-14-café-ünïcode.md", "2024-03-14-cafe-unicode.md"),
])
def test_bad_file_names(tmp_path, name, suggestion):
    result = check(tmp_path, VALID, name=name)
    assert [p.code for p in result.problems] == ["file-name"]
    assert suggestion in result.problems[0].fix


def test_final_needs_the_required_sections(tmp_path):
    text = VALID.replace("## Impact\n\nAll card payments failed for 2 h 28 min.\n", "") \
                .replace("The manual renewal step was skipped when the on-call rota changed.\n",
                         "<!-- The underlying reason. -->\n")
    result = check(tmp_path, text)
    assert problems(result) == [
        (NAME, 6, "## Impact", "error", "section-missing"),
        (NAME, 30, "## Root cause", "error", "section-empty"),
    ]
    assert [(p.message, p.fix) for p in result.problems] == [
        ("status is 'final' but the '## Impact' section is missing",
         "add a '## Impact' section, or set status: in-review until it is written"),
        ("status is 'final' but the '## Root cause' section is empty",
         "write the root cause section, or set status: in-review until it is written"),
    ]
    # The text output names the section where other problems name the field.
    assert format_text(result).splitlines()[:2] == [
        f"{result.problems[0].path}:6: error section-missing ## Impact: status is 'final' but the '## Impact' section is missing "
        "(add a '## Impact' section, or set status: in-review until it is written)",
        f"{result.problems[0].path}:30: error section-empty ## Root cause: status is 'final' but the '## Root cause' section is empty "
        "(write the root cause section, or set status: in-review until it is written)",
    ]


@pytest.mark.parametrize("placeholder", ["TODO", "TBD.", "[Describe the impact]", "{{ impact }}", "<!-- hint -->"])
def test_placeholders_count_as_empty(tmp_path, placeholder):
    text = VALID.replace("All card payments failed for 2 h 28 min.", placeholder)
    result = check(tmp_path, text)
    assert problems(result) == [(NAME, 29, "## Impact", "error", "section-empty")]


def test_final_warns_about_an_optional_section_left_empty(tmp_path):
    """Tester finding: a final post-mortem kept the template's empty Timeline and Notes."""
    text = VALID.rstrip("\n") + ("\n\n## Timeline\n\n<!-- Times in UTC. -->\n\n## Detection\n\nAn alert fired.\n"
                                "\n## notes\n\n- TODO\n")
    result = check(tmp_path, text)
    lines = text.split("\n")
    assert problems(result) == [
        (NAME, lines.index("## Timeline") + 1, "## Timeline", "warning", "section-unwritten"),
        (NAME, lines.index("## notes") + 1, "## notes", "warning", "section-unwritten"),
    ]
    assert result.problems[0].message == ("status is 'final' but the optional '## Timeline' section is empty "
                                          "(nothing but the template's hint)")
    assert result.problems[1].fix == "write the notes section, or delete its heading"
    draft = check(tmp_path, text.replace("status: final", "status: draft"))
    assert draft.problems == []


def test_draft_may_have_empty_sections(tmp_path):
    text = VALID.replace("status: final", "status: draft").replace("## Impact\n", "")
    assert check(tmp_path, text).problems == []


def test_duplicate_id_names_both_files_and_suggests_the_next_free_id(tmp_path):
    other = VALID.replace("2024-03-14", "2024-05-02").replace("Checkout API down", "Search down") \
                 .replace("due: 2024-04-30", "due: 2024-06-30")
    result = check(tmp_path, VALID, extra={"2024-05-02-search-down.md": other})
    assert [(Path(p.path).name, p.line, p.code) for p in result.problems] == [
        ("2024-03-14-checkout-tls-expiry.md", 2, "duplicate-id"),
        ("2024-05-02-search-down.md", 2, "duplicate-id"),
    ]
    assert "2024-05-02-search-down.md:2" in result.problems[0].message
    assert result.problems[0].fix == "give one of them the next free id, PM-2024-018"


def test_next_free_id_skips_the_id_of_a_file_whose_yaml_does_not_parse(tmp_path):
    """Tester finding: the suggestion was an id that a file with a YAML error holds."""
    other = VALID.replace("2024-03-14", "2024-05-02").replace("due: 2024-04-30", "due: 2024-06-30")
    broken = (VALID.replace("id: PM-2024-017", "id: 'PM-2024-018'  # next")
              .replace("title: Checkout API down", 'title: "Checkout API down'))
    result = check(tmp_path, VALID, extra={"2024-05-02-search-down.md": other, "2024-06-01-broken.md": broken})
    assert [(Path(p.path).name, p.line, p.code) for p in result.problems] == [
        ("2024-03-14-checkout-tls-expiry.md", 2, "duplicate-id"),
        ("2024-05-02-search-down.md", 2, "duplicate-id"),
        ("2024-06-01-broken.md", 3, "yaml-syntax"),
    ]
    assert result.problems[0].fix == "give one of them the next free id, PM-2024-019"
    unclosed = broken.replace("title: \"Checkout API down", "title: Checkout API down").replace("---\n\n## Summary",
                                                                                           "\n## Summary")
    result = check(tmp_path, VALID, extra={"2024-05-02-search-down.md": other, "2024-06-01-broken.md": unclosed})
    assert [p.code for p in result.problems] == ["duplicate-id", "duplicate-id", "front-matter-unclosed"]
    assert result.problems[0].fix == "give one of them the next free id, PM-2024-019"


def test_a_file_whose_yaml_does_not_parse_is_a_duplicate_holder_of_the_id_it_writes(tmp_path):
    """Tester finding: with one file's YAML broken, only its YAML error was reported; the
    duplicate id came up only once that was fixed."""
    other = VALID.replace("2024-03-14", "2024-05-02").replace("due: 2024-04-30", "due: 2024-06-30") \
                 .replace("title: Checkout API down", 'title: "Checkout API down')
    result = check(tmp_path, VALID, extra={"2024-05-02-search-down.md": other})
    good, broken = (str(tmp_path / "postmortems" / name) for name in (NAME, "2024-05-02-search-down.md"))
    assert [(p.path, p.line, p.column, p.field, p.level, p.code, p.message, p.fix) for p in result.problems] == [
        (good, 2, None, "id", "error", "duplicate-id", f"id 'PM-2024-017' is also used by {broken}:2",
         "give one of them the next free id, PM-2024-018"),
        (broken, 2, None, "id", "error", "duplicate-id", f"id 'PM-2024-017' is also used by {good}:2",
         "give one of them the next free id, PM-2024-018"),
        (broken, 3, 8, "title", "error", "yaml-syntax",
         'the double quote (") opened here is never closed: YAML read the 19 line(s) after it as part of this value',
         'close the quote at the end of the value: title: "Checkout API down after TLS certificate expired"'),
    ]
    # Either file checked alone against the rest of its folder: its own problems, the duplicate once.
    docs = tmp_path / "postmortems"
    alone = validate([docs / NAME], Settings(docs_dir=docs), today=TODAY)
    assert [(p.path, p.line, p.code, p.message) for p in alone.problems] == [
        (good, 2, "duplicate-id", f"id 'PM-2024-017' is also used by {broken}:2")]
    alone = validate([Path(broken)], Settings(docs_dir=docs), today=TODAY)
    assert [(p.path, p.line, p.code, p.message) for p in alone.problems][:1] == [
        (broken, 2, "duplicate-id", f"id 'PM-2024-017' is also used by {good}:2")]
    assert [p.code for p in alone.problems] == ["duplicate-id", "yaml-syntax"]


def test_a_placeholder_id_in_files_whose_yaml_does_not_parse_is_no_duplicate(tmp_path):
    broken = VALID.replace("id: PM-2024-017", "id: PM-YYYY-NNN").replace("title: Checkout API down", "title: 'x")
    result = check(tmp_path, broken, extra={"2024-03-14-other.md": broken})
    assert [p.code for p in result.problems] == ["yaml-syntax", "yaml-syntax"]


def test_written_id_reads_the_top_level_id_line_without_yaml():
    from generator.loader import written_id

    assert written_id(["title: x", "id: PM-2024-007", "id: PM-2024-009"]) == "PM-2024-007"
    assert written_id(['id: "INC-2023-12"   # comment']) == "INC-2023-12"
    assert written_id(["  id: PM-2024-001", "related: [PM-2024-002]"]) is None   # not top level
    assert written_id(["id: [PM-2024-001"]) is None                                # not an id
    assert written_id(["id: 'PM-2024-001\""]) is None                              # quotes differ


def test_next_free_id():
    assert next_free_id({"PM-2024-052", "PM-2024-007", "PM-2023-900", "INC-2024-999"}, "PM-2024-052") == "PM-2024-053"
    assert next_free_id(set(), "PM-2025-000") == "PM-2025-001"


def test_related_and_not_related_ids_must_exist(tmp_path):
    text = VALID.replace("trigger: certificate-expiry", "trigger: certificate-expiry\nrelated: [PM-2023-041]\n"
                         "not_related: [PM-2024-017]")
    result = check(tmp_path, text)
    assert problems(result) == [
        (NAME, 16, "related[0]", "error", "unknown-id"),
        (NAME, 17, "not_related[0]", "warning", "self-link"),
    ]


def test_broken_relative_link_has_its_line_and_column(tmp_path):
    text = VALID + "\nSee [the earlier outage](2023-01-01-missing.md) and [runbook](../runbooks/x.md).\n"
    result = check(tmp_path, text)
    # A target outside the folder is never looked at on disk: link-outside, whether it exists or not.
    assert [(p.line, p.column, p.code) for p in result.problems] == [(41, 26, "broken-link"), (41, 63, "link-outside")]


def test_links_inside_code_are_not_checked(tmp_path):
    text = VALID + "\n```\n[x](missing.md)\n```\n\nAnd `[y](missing.md)` inline.\n"
    assert check(tmp_path, text).problems == []


def test_broken_links_can_be_warnings(tmp_path):
    text = VALID + "\nSee [x](missing.md).\n"
    result = check(tmp_path, text, broken_links="warning")
    assert [(p.level, p.code) for p in result.problems] == [("warning", "broken-link")]


@pytest.mark.parametrize("html, what", [
    ("<iframe src='https://evil.example'></iframe>", "<iframe>"),
    ("<a href=\"javascript:alert(1)\">x</a>", "javascript:"),
    ("<div onclick=\"steal()\">x</div>", "onclick"),
    ("<SCRIPT>alert(1)</SCRIPT>", "<script>"),
])
def test_executable_html(tmp_path, html, what):
    result = check(tmp_path, VALID + "\n" + html + "\n")
    assert [(p.line, p.code) for p in result.problems] == [(41, "unsafe-html")]
    assert what in result.problems[0].message


def test_html_in_a_code_block_is_fine(tmp_path):
    text = VALID + "\n```html\n<script>alert(1)</script>\n```\n"
    assert check(tmp_path, text).problems == []


SECRETS = [
    ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AWS Access Key found: …PLE"),
    # detect-secrets reports only the 'ghp' group of its regex: the whole token is masked
    ("token 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", "GitHub Token found: …INUx"),
    ("-----BEGIN RSA PRIVATE KEY-----", "Private Key found: …KEY"),
    ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "Slack Token found: …UvWx"),
]


@pytest.mark.parametrize("line_text, shown", SECRETS)
def test_secrets_are_errors_and_masked(tmp_path, line_text, shown):
    result = check(tmp_path, VALID + "\n" + line_text + "\n")
    secrets = [p for p in result.problems if p.code == "secret"]
    assert [(p.line, p.level) for p in secrets] == [(41, "error")]
    raw = line_text.split()[-1]
    assert raw not in secrets[0].message + secrets[0].fix
    assert secrets[0].message == shown


def test_secret_in_front_matter_names_the_field(tmp_path):
    text = VALID.replace("ticket: OPS-1234", "ticket: https://admin:hunter2hunter2@tracker.example.com/OPS-1")
    result = check(tmp_path, text)
    assert [(p.line, p.field, p.code) for p in result.problems] == [(22, "action_items[0].ticket", "secret")]
    assert "hunter2hunter2" not in result.problems[0].message


def test_personal_data_is_a_masked_warning(tmp_path):
    result = check(tmp_path, VALID + "\nCall Jane on +1 415 555 0132 or jane.doe@example.org.\n")
    assert [(p.line, p.level, p.code) for p in result.problems] == [
        (41, "warning", "personal-data"), (41, "warning", "personal-data")]
    text = " ".join(p.message for p in result.problems)
    assert "jane.doe@example.org" not in text and "555 0132" not in text


def test_version_numbers_and_ips_are_not_phone_numbers(tmp_path):
    result = check(tmp_path, VALID + "\nUpgraded 1.20.3 to 1.21.0 at 10.0.12.255 on 2024-03-14 12:30.\n")
    assert result.problems == []


def test_large_file_is_a_warning(tmp_path):
    text = VALID + "\n```text\n" + ("log line 0123456789 level=info msg=ok\n" * 30_000) + "```\n"
    result = check(tmp_path, text)
    assert problems(result) == [(NAME, None, None, "warning", "file-too-large")]
    assert result.errors == 0


def test_every_file_is_reported_in_one_pass(tmp_path):
    broken = {
        "2024-05-01-a.md": "---\nid: [\n---\n",
        "2024-05-02-b.md": "---\n- a\n---\n",
        "2024-05-03-c.md": "no front matter\n",
    }
    result = check(tmp_path, VALID, extra=broken)
    assert sorted({Path(p.path).name for p in result.problems}) == sorted(broken)
    assert result.files == 4


def test_validation_never_writes(tmp_path):
    check(tmp_path, VALID)
    docs = tmp_path / "postmortems"
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in docs.iterdir()}
    validate([docs], Settings(docs_dir=docs), today=TODAY)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in docs.iterdir()}
    assert before == after


def test_shipped_knowledge_base_is_clean():
    docs = ROOT / "postmortems"
    result = validate([docs], Settings(docs_dir=docs), today=TODAY)
    assert result.files == 60
    assert [p.as_dict() for p in result.problems] == []
    assert len(result.valid_ids) == 60


# --- rules added after a new user's review (families, not single cases) ---------------------


@pytest.mark.parametrize("link, code, fix_part", [
    ("[abs](/etc/passwd)", "broken-link", "relative link"),
    ("[a](#nope)", "broken-anchor", "use the id of a heading"),
    ("[a](#impakt)", "broken-anchor", "did you mean #impact?"),
    (f"[a]({NAME}#does-not-exist)", "broken-anchor", NAME),
])
def test_links_the_site_build_would_reject(tmp_path, link, code, fix_part):
    result = check(tmp_path, VALID + "\n" + link + "\n")
    assert [(p.line, p.code, p.level) for p in result.problems] == [(41, code, "error")]
    assert fix_part in result.problems[0].fix + result.problems[0].message


@pytest.mark.parametrize("link", [
    "[a](#summary)", "[a](#root-cause)", "[a](#related-incidents)", f"[a]({NAME}#action-items)",
    "[a](#custom)", "[a](#fn:1)",
])
def test_anchors_that_exist(tmp_path, link):
    text = VALID + "\n## Notes {#custom}\n\n" + link + "\n"
    assert check(tmp_path, text).problems == []


@pytest.mark.parametrize("html, removed", [
    ("![graph](https://grafana.example.com/render.png)", []),
    ('<img src="https://example.com/t.png">', []),
    # <video> is no element the site keeps (generator.sanitize): the sanitiser would remove it too
    ("<video poster='//cdn.example.com/p.jpg'></video>", [(41, "unsafe-html", "error")]),
])
def test_remote_images_warn(tmp_path, html, removed):
    result = check(tmp_path, VALID + "\n" + html + "\n")
    assert [(p.line, p.code, p.level) for p in result.problems] == [(41, "remote-resource", "warning"), *removed]


def test_plain_links_to_other_hosts_are_fine(tmp_path):
    assert check(tmp_path, VALID + "\nSee [the vendor's report](https://status.example.com/x).\n").problems == []


@pytest.mark.parametrize("field_line, value, what", [
    (3, "\"<script>alert('t')</script> XSS\"", "<script>"),
    (10, "\"<img src=x onerror=alert(1)>\"", "onerror"),
])
def test_executable_html_in_front_matter(tmp_path, field_line, value, what):
    original = VALID.splitlines()[field_line - 1]
    name = original.split(":", 1)[0]
    result = check(tmp_path, VALID.replace(original, f"{name}: {value}"))
    assert [(p.line, p.field, p.code) for p in result.problems] == [(field_line, name, "unsafe-html")]
    assert what in result.problems[0].message


def test_related_and_not_related_conflict(tmp_path):
    other = VALID.replace("PM-2024-017", "PM-2024-018").replace("2024-03-14", "2024-05-02") \
                 .replace("due: 2024-04-30", "due: 2024-06-30")
    text = VALID.replace("trigger: certificate-expiry",
                         "trigger: certificate-expiry\nrelated: [PM-2024-018]\nnot_related: [PM-2024-018]")
    result = check(tmp_path, text, extra={"2024-05-02-other.md": other})
    assert problems(result) == [(NAME, 17, "not_related[0]", "error", "related-conflict")]


def test_action_item_due_before_the_incident(tmp_path):
    result = check(tmp_path, VALID.replace("due: 2024-04-30", "due: 2023-04-30"))
    assert problems(result) == [(NAME, 21, "action_items[0].due", "warning", "due-before-date")]


def test_misspelled_required_field_is_named(tmp_path):
    result = check(tmp_path, VALID.replace("title: Checkout", "titel: Checkout"))
    assert problems(result) == [(NAME, 3, "title", "error", "field-missing")]
    assert result.problems[0].fix == "rename 'titel:' to 'title:'"


def test_misspelled_optional_field_gets_a_suggestion(tmp_path):
    result = check(tmp_path, VALID.replace("summary: Card", "summry: Card"))
    assert problems(result) == [(NAME, 10, "summry", "warning", "field-unknown")]
    assert result.problems[0].fix == "did you mean 'summary'?"


def test_numeric_severity_asks_for_the_level_not_for_quotes(tmp_path):
    result = check(tmp_path, VALID.replace("severity: SEV1", "severity: 1"))
    assert problems(result) == [(NAME, 5, "severity", "error", "field-enum")]
    assert "SEV1" in result.problems[0].fix


def test_duplicate_id_suggestion_uses_each_files_year(tmp_path):
    other = VALID.replace("2024-03-14", "2023-05-02").replace("PM-2024-017", "PM-2024-017")
    result = check(tmp_path, VALID, extra={"2023-05-02-other.md": other})
    fixes = {Path(p.path).name: p.fix for p in result.problems}
    assert fixes == {NAME: "give one of them the next free id, PM-2024-018",
                     "2023-05-02-other.md": "give one of them the next free id, PM-2023-001"}


def test_final_sections_are_checked_even_when_a_field_is_broken(tmp_path):
    text = VALID.replace("authors: [alice]\n", "").replace("## Impact\n", "## Effects\n")
    codes = [p.code for p in check(tmp_path, text).problems]
    assert codes == ["field-missing", "section-missing"]


# --- worker processes -----------------------------------------------------------------------


def _corpus_of_six(tmp_path: Path) -> Path:
    """Six files: five valid (ids PM-2024-010..014), one whose id repeats PM-2024-010 and whose
    severity is wrong, so per-file and cross-file problems both appear."""
    docs = tmp_path / "postmortems"
    docs.mkdir()
    for n in range(10, 15):
        (docs / f"2024-03-{n}-incident.md").write_text(
            VALID.replace("PM-2024-017", f"PM-2024-0{n}").replace("2024-03-14", f"2024-03-{n}"), encoding="utf-8")
    (docs / "2024-03-14-bad.md").write_text(
        VALID.replace("PM-2024-017", "PM-2024-010").replace("severity: SEV1", "severity: SEV9"), encoding="utf-8")
    return docs


def test_worker_processes_give_the_same_result_as_one_process(tmp_path, monkeypatch):
    """Files checked by a pool of workers (large corpora) give exactly the problems and
    post-mortems of a check in this process, and start_validation returns before they are done."""
    from generator import validate as validate_module

    docs = _corpus_of_six(tmp_path)
    settings = Settings(docs_dir=docs)
    monkeypatch.setenv("PMKB_JOBS", "1")
    monkeypatch.setenv("PMKB_CACHE_DIR", str(tmp_path / "cache-here"))  # each run checks the files
    here = validate([docs], settings, today=TODAY)
    monkeypatch.setenv("PMKB_JOBS", "2")
    monkeypatch.setenv("PMKB_CACHE_DIR", str(tmp_path / "cache-pooled"))
    monkeypatch.setattr(validate_module, "PARALLEL_MIN_FILES", 4)
    pending = validate_module.start_validation([docs], settings, today=TODAY)
    assert pending.in_background
    pooled = pending.result()

    assert problems(pooled) == problems(here) == [
        ("2024-03-10-incident.md", 2, "id", "error", "duplicate-id"),
        ("2024-03-14-bad.md", 2, "id", "error", "duplicate-id"),
        ("2024-03-14-bad.md", 5, "severity", "error", "field-enum"),
    ]
    assert [p.message for p in pooled.problems] == [p.message for p in here.problems]
    assert [(pm.id, pm.path) for pm in pooled.postmortems] == [(pm.id, pm.path) for pm in here.postmortems]
    assert pooled.valid_ids == here.valid_ids == {"PM-2024-011", "PM-2024-012", "PM-2024-013", "PM-2024-014"}


def test_a_cancelled_validation_stops_its_workers(tmp_path, monkeypatch):
    from generator import validate as validate_module

    docs = _corpus_of_six(tmp_path)
    monkeypatch.setenv("PMKB_JOBS", "2")
    monkeypatch.setattr(validate_module, "PARALLEL_MIN_FILES", 4)
    pending = validate_module.start_validation([docs], Settings(docs_dir=docs), today=TODAY)
    workers = list(pending._pool._processes.values())
    assert len(workers) == 2
    pending.cancel()
    assert all(not w.is_alive() for w in workers)


# --- second tester's report: impossible dates, empty files, links, non-ASCII tags -----------


def full(result) -> list[tuple]:
    """Every problem with its message and fix, for tests that pin the exact wording."""
    return [(Path(p.path).name, p.line, p.field, p.code, p.message, p.fix) for p in result.problems]


def test_impossible_date_names_the_calendar_and_never_suggests_the_same_name(tmp_path):
    name = "2024-02-30-feb30.md"
    text = VALID.replace("date: 2024-03-14", "date: 2024-02-30").replace("started_at: 2024-03-14T09:12:00Z\n", "")
    assert full(check(tmp_path, text, name=name)) == [
        (name, 1, None, "file-name",
         "file name '2024-02-30-feb30.md' starts with 2024-02-30, which is not a real calendar date: "
         "February 2024 has 29 days",
         "correct the day: February 2024 ends on 2024-02-29; rename the file to the day the incident started, "
         "e.g. 2024-02-29-feb30.md, and write the same day in 'date'"),
        (name, 4, "date", "field-format",
         "'date' value '2024-02-30' is not a real calendar date: February 2024 has 29 days",
         "correct the day: February 2024 ends on 2024-02-29"),
    ]


def test_impossible_date_in_the_file_name_only(tmp_path):
    result = check(tmp_path, VALID, name="2023-02-29-checkout-tls-expiry.md")
    assert full(result) == [
        ("2023-02-29-checkout-tls-expiry.md", 1, None, "file-name",
         "file name '2023-02-29-checkout-tls-expiry.md' starts with 2023-02-29, which is not a real calendar "
         "date: February 2023 has 28 days",
         "rename the file to 2024-03-14-checkout-tls-expiry.md"),
    ]


@pytest.mark.parametrize("old, new, line, fld, code, message, fix", [
    ("started_at: 2024-03-14T09:12:00Z", "started_at: 2024-02-30T10:00:00Z", 11, "started_at", "field-format",
     "'started_at' value '2024-02-30T10:00:00Z' is not a real moment in time: February 2024 has 29 days",
     "correct the day: February 2024 ends on 2024-02-29"),
    ("detected_at: 2024-03-14T09:31:00Z", "detected_at: 2024-03-14T25:00:00Z", 12, "detected_at", "field-format",
     "'detected_at' value '2024-03-14T25:00:00Z' is not a real moment in time: there is no hour 25",
     "correct the hour: hours run from 00 to 23"),
    ("mitigated_at: 2024-03-14T11:05:00Z", "mitigated_at: 2024-03-14T11:05:00+25:00", 13, "mitigated_at",
     "field-format", "'mitigated_at' value '2024-03-14T11:05:00+25:00' is not a real moment in time: the UTC "
     "offset +25:00 is out of range",
     "correct the offset: offsets run from -23:59 to +23:59, e.g. Z for UTC or +02:00"),
    ("resolved_at: 2024-03-14T11:40:00Z", "resolved_at: 2024-03-14T11:60:00", 14, "resolved_at",
     "timestamp-no-offset", "timestamp '2024-03-14T11:60:00' has no UTC offset and is not a real moment in "
     "time: there is no minute 60",
     "correct the minutes: they run from 00 to 59, and append Z for UTC or the offset it was written in"),
    ("    due: 2024-04-30", "    due: 2024-13-04", 21, "action_items[0].due", "field-format",
     "'due' value '2024-13-04' is not a real calendar date: there is no month 13",
     "write the month second, as in YYYY-MM-DD: did you mean 2024-04-13?"),
    ("    due: 2024-04-30", "    due: 2024-04-31", 21, "action_items[0].due", "field-format",
     "'due' value '2024-04-31' is not a real calendar date: April 2024 has 30 days",
     "correct the day: April 2024 ends on 2024-04-30"),
])
def test_impossible_timestamps_and_due_dates_say_why(tmp_path, old, new, line, fld, code, message, fix):
    assert full(check(tmp_path, VALID.replace(old, new))) == [(NAME, line, fld, code, message, fix)]


@pytest.mark.parametrize("value, reason, fix", [
    ("2024-14-30", "there is no month 14",
     "correct the month: months run from 01 to 12 and come second, as in YYYY-MM-DD"),
    ("2024-02-00", "there is no day 00", "correct the day: February 2024 runs from 2024-02-01 to 2024-02-29"),
    ("2024-03-14T25:00:00Z", "there is no hour 25", "correct the hour: hours run from 00 to 23"),
    ("2024-03-14T24:00:00Z", "there is no hour 24", "write midnight at the end of a day as 00:00 of the next day"),
    ("2024-03-14T10:61:00Z", "there is no minute 61", "correct the minutes: they run from 00 to 59"),
    ("2024-03-14T10:00:60Z", "there is no second 60", "correct the seconds: they run from 00 to 59"),
    ("2024-03-14T10:00:00-24:00", "the UTC offset -24:00 is out of range",
     "correct the offset: offsets run from -23:59 to +23:59, e.g. Z for UTC or +02:00"),
])
def test_impossible_date_messages_read_cleanly(value, reason, fix):
    """One explanation and one fix, without brackets: problems print as 'message (fix)'."""
    from generator.validate import calendar_problem

    assert calendar_problem(value) == (reason, fix)
    assert "(" not in reason + fix and ")" not in reason + fix


def test_hour_25_prints_without_nested_brackets(tmp_path):
    from generator.output import format_text

    result = check(tmp_path, VALID.replace("detected_at: 2024-03-14T09:31:00Z", "detected_at: 2024-03-14T25:00:00Z"))
    assert format_text(result).splitlines()[0].endswith(
        "error field-format detected_at: 'detected_at' value '2024-03-14T25:00:00Z' is not a real moment in "
        "time: there is no hour 25 (correct the hour: hours run from 00 to 23)")


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("\n  \n", "the file is empty (it holds only blank lines)"),
])
def test_empty_file_says_so(tmp_path, content, message):
    assert full(check(tmp_path, content)) == [
        (NAME, 1, None, "front-matter-missing", message,
         'write the post-mortem into it, or start from the template: pmkb new "TITLE" --service SERVICE '
         "--date YYYY-MM-DD writes a new file (then delete this one)")]


@pytest.mark.parametrize("link, column, what", [
    ("[x](&#106;avascript:alert(1))", 5,
     "javascript: URL (written '&#106;avascript:alert(1)') in a Markdown link would run in a reader's browser"),
    ("[x](javascript:alert(document.cookie))", 5, "javascript: URL in a Markdown link would run in a reader's browser"),
    ("See [x](&#x56;bscript:msgbox(1)).", 9,
     "vbscript: URL (written '&#x56;bscript:msgbox(1)') in a Markdown link would run in a reader's browser"),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", 5, "data: URL in a Markdown link would run in a reader's browser"),
    ("[x]: &#106;avascript:alert(1)", 6,
     "javascript: URL (written '&#106;avascript:alert(1)') in a Markdown link would run in a reader's browser"),
])
def test_script_urls_in_markdown_links_are_unsafe_not_broken(tmp_path, link, column, what):
    result = check(tmp_path, VALID + "\n" + link + "\n")
    assert [(p.line, p.column, p.code, p.message) for p in result.problems] == [(41, column, "unsafe-html", what)]


def test_link_targets_with_balanced_parentheses_are_read_whole(tmp_path):
    (tmp_path / "postmortems").mkdir()
    (tmp_path / "postmortems" / "graph(1).png").write_bytes(b"png")
    (tmp_path / "postmortems" / "a(b&c.png").write_bytes(b"png")
    # CommonMark: balanced parentheses belong to the target, \( and &amp; are decoded, an
    # unbalanced '(' makes it no link at all, an inline data:image/ is an image, not a script.
    text = VALID + ("\n![g](graph(1).png) [m](missing(v2).md) ![e](a\\(b&amp;c.png) [u](open(x.md)"
                    " ![d](data:image/png;base64,iVBO)\n")
    assert [(p.line, p.column, p.code, p.message) for p in check(tmp_path, text).problems] == [
        (41, 24, "broken-link", "link target 'missing(v2).md' does not exist"),
    ]


def test_non_ascii_tag_is_refused_with_an_explicit_ascii_rule(tmp_path):
    text = VALID.replace("tags: [tls, certificates]", "tags: [数据库, Checkout API]")
    assert full(check(tmp_path, text)) == [
        (NAME, 8, "tags[0]", "field-format",
         "'tags[0]' value '数据库' is not kebab-case: the v1 format allows only lowercase ASCII letters (a-z), "
         "digits and hyphens here, not accented letters or other scripts",
         "write it in ASCII kebab-case, e.g. 'shu-ju-ku' (transliterated) or an English keyword; text in any "
         "language can go in the title, summary and body, where search and related incidents read it"),
        (NAME, 8, "tags[1]", "field-format",
         "'tags[1]' value 'Checkout API' is not kebab-case (lowercase words joined by hyphens)",
         "write it as 'checkout-api'"),
    ]


# --- anchors the site plugin adds, and links to drafts ----------------------------------------

OTHER = "2024-03-14-other-incident.md"


def _other(status: str = "final", action_items: bool = True, heading: str = "") -> str:
    text = VALID.replace("id: PM-2024-017", "id: PM-2024-018").replace("status: final", f"status: {status}")
    if not action_items:
        text = text[:text.index("action_items:")] + text[text.index("---\n\n## Summary"):]
    return text + heading


@pytest.mark.parametrize("link, other", [
    (f"[x]({OTHER}#tracked-action-items)", _other()),
    (f"[x]({OTHER}#related-incidents)", _other(action_items=False)),
    (f"[x]({OTHER}#related-incidents-pmkb)", _other(heading="\n## Related incidents\n\nSee below.\n")),
    (f"[x]({OTHER}#related-incidents)", _other(heading="\n## Related incidents\n\nSee below.\n")),
    (f"[x]({OTHER}#tracked-action-items-pmkb)", _other(heading="\n## Tracked action items\n\n- a\n")),
    ("[x](#tracked-action-items)", _other()),
    ("[x](#related-incidents)", _other()),
])
def test_anchors_the_site_plugin_adds_are_known(tmp_path, link, other):
    found = problems(check(tmp_path, VALID + "\n" + link + "\n", extra={OTHER: other}))
    # the other file's own heading named like ours is a warning of its own (heading-reserved), on it
    assert [p for p in found if p[4] != "heading-reserved" or p[0] != OTHER] == []


@pytest.mark.parametrize("link, other, fix_part", [
    (f"[x]({OTHER}#tracked-action-items)", _other(action_items=False), "did you mean #action-items?"),
    (f"[x]({OTHER}#tracked-action-items-pmkb)", _other(), "did you mean #tracked-action-items?"),
    (f"[x]({OTHER}#related-incidents-pmkb)", _other(), "did you mean #related-incidents?"),
])
def test_generated_anchors_follow_the_plugin_rules(tmp_path, link, other, fix_part):
    result = check(tmp_path, VALID + "\n" + link + "\n", extra={OTHER: other})
    assert problems(result) == [(NAME, 41, None, "error", "broken-anchor")]
    assert fix_part in result.problems[0].fix


def test_same_page_action_items_anchor_needs_action_items(tmp_path):
    text = _other(action_items=False).replace("id: PM-2024-018", "id: PM-2024-017") + "\n[x](#tracked-action-items)\n"
    result = check(tmp_path, text)
    assert [(p.line, p.column, p.code, p.level) for p in result.problems] == [(35, 5, "broken-anchor", "error")]


def test_published_post_mortem_linking_to_a_draft_warns(tmp_path):
    result = check(tmp_path, VALID + f"\nSee [the draft]({OTHER}).\n", extra={OTHER: _other(status="draft")})
    assert [(Path(p.path).name, p.line, p.column, p.field, p.level, p.code) for p in result.problems] == [
        (NAME, 41, 17, None, "warning", "link-to-draft")]
    assert result.problems[0].message == (
        f"link target '{OTHER}' is a draft (status: draft), which the built site leaves out, so the link would be dead")
    assert result.problems[0].fix == "publish that post-mortem first (set its status), or remove the link"


def test_draft_linking_to_a_draft_is_fine(tmp_path):
    text = VALID.replace("status: final", "status: draft") + f"\n[d]({OTHER}#summary)\n"
    assert problems(check(tmp_path, text, extra={OTHER: _other(status="draft")})) == []


@pytest.mark.parametrize("old, new, line, column, fld, message, fix", [
    ("services: [checkout-api, edge-proxy]", "services: [checkout-api, index]", 7, 26, "services[1]",
     "the page of service 'index' would be services/index.md, which is the services overview; "
     "the site build stops on it", "rename the service, e.g. index-api"),
    ("tags: [tls, certificates]", "tags:\n  - index\n  - tls", 9, 5, "tags[0]",
     "the page of tag 'index' would be tags/index.md, which is the tag index; the site build stops on it",
     "rename the tag, e.g. indexing"),
])
def test_service_or_tag_named_index_is_refused(tmp_path, old, new, line, column, fld, message, fix):
    result = check(tmp_path, VALID.replace(old, new))
    assert [(p.line, p.column, p.field, p.level, p.code, p.message, p.fix) for p in result.problems] == [
        (line, column, fld, "error", "reserved-name", message, fix)]


def test_draft_with_a_service_named_index_is_left_out_of_the_site(tmp_path):
    text = VALID.replace("status: final", "status: draft").replace("edge-proxy]", "index]")
    assert problems(check(tmp_path, text)) == []


def test_a_heading_with_the_id_of_a_section_the_site_adds_is_a_warning(tmp_path):
    """Tester finding: a body's '## Related incidents' keeps #related-incidents, the site's own
    list moves to #related-incidents-pmkb and the page shows two; the same for Tracked action
    items when the front matter has action items (VALID has one). A custom id avoids it."""
    body = ("\n## Related incidents\n\nSee the 2023 outage.\n\n### Tracked action items\n\nOurs.\n\n"
            "## Related incidents {#earlier-outages}\n\nFine.\n")
    result = check(tmp_path, VALID + body)
    assert [(p.line, p.level, p.code) for p in result.problems] == [(41, "warning", "heading-reserved"),
                                                                     (45, "warning", "heading-reserved")]
    assert result.problems[1].message == (
        "this heading's id 'tracked-action-items' is the one the site gives the 'Tracked action items' section it "
        "adds after the body: the site's section then becomes #tracked-action-items-pmkb and the page shows two "
        "sections of that name")
    assert result.problems[1].fix == ("rename the heading or give it an id of its own "
                                      "('## Tracked action items {#our-tracked-action-items}')")
    without_items = VALID.replace("action_items:\n  - title: Automate certificate renewal with ACME\n"
                                  "    owner: platform-team\n    status: open\n    due: 2024-04-30\n    ticket: OPS-1234\n", "")
    assert [p.line for p in check(tmp_path, without_items + body).problems] == [35]


def test_a_value_with_a_format_error_gets_no_did_you_mean_as_well(tmp_path):
    """Tester finding: 'Checkout API' got field-format (write it as 'checkout-api') and
    vocabulary-near (did you mean checkout-api?) for one mistake."""
    text = VALID.replace("services: [checkout-api, edge-proxy]", "services: [Checkout API, edge-proxy]")
    result = check(tmp_path, text, extra={OTHER: _other()})
    assert [(p.path.rsplit("/", 1)[-1], p.code, p.field) for p in result.problems] == [
        (NAME, "field-format", "services[0]")]
    # where the kebab-case spelling is not the value in use, the did-you-mean says more: kept
    text = VALID.replace("services: [checkout-api, edge-proxy]", "services: [Checkout APIs, edge-proxy]")
    result = check(tmp_path, text, extra={OTHER: _other()})
    assert [(p.code, p.fix.split("?")[0]) for p in result.problems if p.field == "services[0]"] == [
        ("field-format", "write it as 'checkout-apis'"), ("vocabulary-near", "did you mean 'checkout-api'")]
