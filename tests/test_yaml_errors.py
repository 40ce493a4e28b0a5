"""YAML errors where the author looks (issue #16 item 5): the line and key where the mistake
starts, not where PyYAML gave up, and a fix that fits the family of the mistake."""

from __future__ import annotations

import pytest

from generator.settings import Settings
from generator.validate import validate

BODY = "\n## Summary\n\nText.\n"
REST = "date: 2024-03-01\nseverity: SEV2\nstatus: final\nservices: [api]\nauthors: [alice]\n"


def problem(tmp_path, front_matter: str):
    path = tmp_path / "2024-03-01-payments-down.md"
    path.write_text(f"---\n{front_matter}---\n{BODY}", encoding="utf-8")
    result = validate([path], Settings(docs_dir=tmp_path), scan_secrets=False)
    found = [p for p in result.problems if p.code == "yaml-syntax"]
    assert len(found) == 1, result.problems
    return found[0]


CASES = [
    # (front matter, line, column, field, message starts, fix)
    ('id: PM-2024-001\ntitle: "Payments down\n' + REST, 3, 8, "title",
     'the double quote (") opened here is never closed: YAML read the 5 line(s) after it as part of this value',
     'close the quote at the end of the value: title: "Payments down"'),
    ("id: PM-2024-001\ntitle: 'Payments down\n" + REST, 3, 8, "title",
     "the single quote (') opened here is never closed",
     "close the quote at the end of the value: title: 'Payments down'"),
    ("id: PM-2024-001\ntitle: Payments: down again\n" + REST, 3, 16, "title",
     "': ' inside the value of 'title'", 'quote the value: title: "Payments: down again"'),
    ("id: PM-2024-001\ntitle: Payments down\n date: 2024-03-01\nseverity: SEV2\n", 4, 2, "date",
     "'date' is indented more than 'title' above it, so YAML reads it as more text of that value",
     "start 'date:' at the same indentation as 'title:' (at the beginning of the line)"),
    ("id: PM-2024-001\ntitle: Payments down\nservices: [api, db\nseverity: SEV2\nstatus: final\n", 4, 11, "services",
     "the list opened with '[' here is not closed with ']' on this line",
     "end the list with ']' on the same line: services: [api, db]"),
    ("id: PM-2024-001\ntitle: Payments down\nservices:\n  - api\n - db\nseverity: SEV2\n", 6, 2, "services[1]",
     "this line's indentation matches none of the fields or list items around it",
     "indent it like the line it belongs with (line above: '  - api')"),
    ('id: PM-2024-001\ntitle: "Payments" down\n' + REST, 3, 19, "title",
     "text after the closing quote or bracket of this value", "quote the whole value: title: '\"Payments\" down'"),
    ("id: PM-2024-001\ntitle: @payments down\n" + REST, 3, 8, "title",
     "a plain value cannot start with '@'", 'quote the value: title: "@payments down"'),
    ("id: PM-2024-001\ntitle:Payments down\n" + REST, 3, 1, "title",
     "'title:' needs a space after the colon", "write it as: title: Payments down"),
    ("id: PM-2024-001\ntitle: Payments down\naction_items:\n  - title: Renew\n    owner: a\n"
     "  - title: Fix: the thing\n    owner: b\n" + REST, 7, 15, "action_items[1].title",
     "': ' inside the value of 'title'", 'quote the value: title: "Fix: the thing"'),
    ("id: PM-2024-001\ntitle: Payments down\naction_items:\n  - title: a\n    owner: b\n   status: open\n" + REST,
     7, 4, "action_items[0].status", "this line's indentation matches none", "indent it like the line it belongs with"),
    ("id: PM-2024-001\ntitle: Payments down\nsummary: >-\n  first line\n bad indent line\n" + REST, 6, 2, "summary",
     "this line's indentation matches none", "indent it like the line it belongs with (line above: '  first line')"),
    ('id: PM-2024-001\ntitle: "C:\\path\\to"\n' + REST, 3, 11, "title",
     "'\\p' is not an escape sequence YAML knows inside double quotes",
     "write the value in single quotes ('...'), where a backslash is just a backslash, or double it (\\\\)"),
    ("id: PM-2024-001\ntitle: - payments down\n" + REST, 3, 8, "title",
     "a value that starts with '- ' is read as a list item", 'quote the value: title: "- payments down"'),
    ("id: PM-2024-001\ntitle: {payments down\n" + REST, 3, 8, "title",
     "the mapping opened with '{' here is not closed with '}' on this line (a value that starts with '{' is a YAML mapping)",
     'quote the value if it is text: title: "{payments down"'),
    ("id: PM-2024-001\ntitle Payments down\n" + REST, 3, 1, None,
     "this line is neither 'key: value' nor more text of the value above", "write it as 'key: value'"),
]


@pytest.mark.parametrize("front_matter, line, column, field, message, fix", CASES,
                         ids=["unclosed-double", "unclosed-single", "colon-in-value", "indented-key", "unclosed-list",
                              "list-item-indent", "text-after-quote", "reserved-start", "no-space", "nested-colon",
                              "nested-indent", "block-indent", "escape", "dash-start", "brace", "no-colon"])
def test_the_error_is_reported_where_the_mistake_starts(tmp_path, front_matter, line, column, field, message, fix):
    found = problem(tmp_path, front_matter)
    assert (found.line, found.column, found.field) == (line, column, field)
    assert found.message.startswith(message), found.message
    assert found.fix.startswith(fix), found.fix


def test_the_issue_case_title_on_line_3_is_not_reported_at_the_date_line(tmp_path):
    # Issue #16: "a YAML error in title: on line 3 is reported at 4:17 ... date:".
    found = problem(tmp_path, 'id: PM-2024-001\ntitle: "Checkout: 502s\ndate: 2024-03-01\nseverity: SEV2\n')
    assert (found.line, found.field) == (3, "title")


def test_a_quote_left_open_that_a_later_quote_closes_is_reported_where_it_was_opened(tmp_path):
    found = problem(tmp_path, 'id: PM-2024-001\ntitle: "Checkout 502s\ndate: 2024-03-01\nseverity: SEV2\n'
                              'summary: The "edge" proxy dropped requests.\nstatus: final\n')
    assert (found.line, found.column, found.field) == (3, 8, "title")
    assert found.message == ('the double quote (") opened here is not closed on this line: YAML read the next 3 '
                             "line(s) ('date', 'severity', 'summary') as part of this value, up to a \" there")
    assert found.fix == 'close the quote at the end of the value: title: "Checkout 502s"'
