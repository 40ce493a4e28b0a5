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
     "start the '-' at column 3, like the other items of the list (line 5: '  - api')"),
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
     7, 4, "action_items[0].status", "this line's indentation matches none",
     "start 'status:' at column 5, the same indentation as 'owner:' on line 6"),
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


RESERVED_IN_LISTS = [
    # (lines in place of REST's authors or services line, else added after REST, line, column, field, message,
    # fix)
    ("authors: [@x]", 8, 11, "authors", "a plain value cannot start with '@' (YAML reserves it)",
     'quote the item that starts with a reserved character: authors: ["@x"]'),
    ("authors: [alice, @x, \"@y\", `z`] # who", 8, 18, "authors",
     "a plain value cannot start with '@' (YAML reserves it)",
     'quote the items that start with a reserved character: authors: [alice, "@x", "@y", "`z`"] # who'),
    ("services: [`api`, db]", 7, 12, "services",
     "a plain value cannot start with '`' (YAML reserves it)",
     'quote the item that starts with a reserved character: services: ["`api`", db]'),
    ("tags: [%oops, |pipe]", 9, 8, "tags", "a plain value cannot start with '%' (YAML reserves it)",
     'quote the items that start with a reserved character: tags: ["%oops", "|pipe"]'),
    ("contributing_factors: [@x]", 9, 24, "contributing_factors",
     "a plain value cannot start with '@' (YAML reserves it)",
     'quote the item that starts with a reserved character: contributing_factors: ["@x"]'),
    ("action_items: [{title: Renew, owner: @x}]", 9, 38, "action_items",
     "a plain value cannot start with '@' (YAML reserves it)",
     'quote the item that starts with a reserved character: action_items: [{title: Renew, owner: "@x"}]'),
    ("authors: [alice, !x]", 8, 18, "authors", "a plain value cannot start with '!' (YAML reads it as a tag)",
     'quote the item that starts with a reserved character: authors: [alice, "!x"]'),
    ("authors: [- x]", 8, 11, "authors",
     "an item that starts with '- ' inside '[...]' or '{...}' is read as a block list item",
     'quote the item that starts with a reserved character: authors: ["- x"]'),
    ("authors: [alice,\n  @x]", 9, 3, "authors", "a plain value cannot start with '@' (YAML reserves it)",
     'quote that item: "@x"'),
    ("authors: @x", 8, 10, "authors", "a plain value cannot start with '@' (YAML reserves it)",
     "quote the value, in a list ('authors' is a list): authors: [\"@x\"]"),
    ("authors:\n  - alice\n  - @x", 10, 5, "authors[1]", "a plain value cannot start with '@' (YAML reserves it)",
     'quote the value: - "@x"'),
    ("action_items:\n  - title: Renew\n    owner: @x", 11, 12, "action_items[0].owner",
     "a plain value cannot start with '@' (YAML reserves it)", 'quote the value: owner: "@x"'),
]


@pytest.mark.parametrize("lines, line, column, field, message, fix", RESERVED_IN_LISTS,
                         ids=["flow-one", "flow-several", "services-backtick", "tags-percent-pipe",
                              "contributing-factors", "flow-mapping-in-list", "flow-tag", "flow-dash",
                              "flow-on-two-lines", "list-field-as-one-value", "block-item", "item-mapping"])
def test_a_reserved_first_character_in_a_list_quotes_the_item_not_the_list(tmp_path, lines, line, column, field,
                                                                        message, fix):
    key = lines.split(":", 1)[0]
    rest = REST.replace(next(ln for ln in REST.splitlines(keepends=True) if ln.startswith(key + ":")), lines + "\n") \
        if key in ("authors", "services") else REST + lines + "\n"
    found = problem(tmp_path, "id: PM-2024-001\ntitle: Payments down\n" + rest)
    assert (found.line, found.column, found.field, found.message, found.fix) == (line, column, field, message, fix)


@pytest.mark.parametrize("value, expected", [
    ("[@x]", ('["@x"]', 1)),
    ("[a, 'it''s', \"b\\\"c\", @d]  # note", ("[a, 'it''s', \"b\\\"c\", \"@d\"]  # note", 1)),
    ("{@k: v, k2: [&a, *b]}", ('{"@k": v, k2: ["&a", "*b"]}', 3)),
    ('[@a\\b"c]', ('["@a\\\\b\\"c"]', 1)),
    ("[a, b]", None),          # nothing to quote
    ("[@x", None),             # not closed on this line
    ("[@x] tail", None),       # text after the closing bracket
])
def test_quote_flow_items(value, expected):
    from generator.loader import quote_flow_items

    assert quote_flow_items(value) == expected


ITEMS = "id: PM-2024-001\ntitle: Payments down\n" + REST + "action_items:\n  - title: Renew\n    owner: a\n"
NONE_AROUND = "this line's indentation matches none of the fields or list items around it (it starts at column {})"


@pytest.mark.parametrize("lines, line, column, field, message, fix", [
    # the '-' of an action item left of its siblings' ('line above' used to be the '    owner: a' line)
    (" - title: Fix\n   owner: b\n", 12, 2, "action_items[1].title", NONE_AROUND.format(2),
     "start the '-' at column 3, like the other items of the list (line 10: '  - title: Renew')"),
    # right of them (the field used to be action_items[0][0].title)
    ("   - title: Fix\n     owner: b\n", 12, 4, "action_items[1].title", NONE_AROUND.format(4),
     "start the '-' at column 3, like the other items of the list (line 10: '  - title: Renew')"),
    # a key of the item's mapping under its '-' instead of under its first key
    ("  - title: Fix\n   owner: b\n", 13, 4, "action_items[1].owner", NONE_AROUND.format(4),
     "start 'owner:' at column 5, the same indentation as 'title:' on line 12"),
    # ... or right of it
    ("  - title: Fix\n     owner: b\n", 13, 6, "action_items[1].owner",
     "'owner' is indented more than 'title' above it, so YAML reads it as more text of that value and then finds ': '",
     "start 'owner:' at column 5, the same indentation as 'title:' on line 12"),
], ids=["dash-left", "dash-right", "key-left", "key-right"])
def test_a_misindented_action_item_names_the_column_it_belongs_at(tmp_path, lines, line, column, field, message, fix):
    found = problem(tmp_path, ITEMS + lines)
    assert (found.line, found.column, found.field, found.message, found.fix) == (line, column, field, message, fix)


def test_items_of_an_indentless_list_line_up_with_its_first_item(tmp_path):
    found = problem(tmp_path, "id: PM-2024-001\ntitle: Payments down\n" + REST
                    + "action_items:\n- title: Renew\n  owner: a\n  - title: Fix\n    owner: b\n")
    assert (found.line, found.column, found.field, found.fix) == (
        12, 3, "action_items[1].title", "start the '-' at column 1, like the other items of the list "
                                        "(line 10: '- title: Renew')")


@pytest.mark.parametrize("field_lines, line, field, value, fix", [
    ("authors:\n  - alice\n    - bob\n", 10, "authors[0]", "alice - bob",
     "start the '-' at column 3, like the other items of the list (line 9: '  - alice')"),
    ("authors: [alice]\ntags:\n  - tls\n   - certificates\n  - edge\n", 11, "tags[0]", "tls - certificates",
     "start the '-' at column 3, like the other items of the list (line 10: '  - tls')"),
])
def test_an_item_indented_more_than_the_one_above_is_not_silently_joined_to_it(tmp_path, field_lines, line, field,
                                                                               value, fix):
    # Valid YAML: the second '- ' line is more text of the first item. Reported once (no
    # kebab-case error on the joined value on top of it).
    path = tmp_path / "2024-03-01-payments-down.md"
    rest = REST.replace("authors: [alice]\n", "")
    path.write_text(f"---\nid: PM-2024-001\ntitle: Payments down\n{rest}{field_lines}---\n{BODY}", encoding="utf-8")
    result = validate([path], Settings(docs_dir=tmp_path), scan_secrets=False)
    assert [(p.line, p.column, p.field, p.level, p.code, p.message, p.fix) for p in result.problems
            if p.field and p.field.startswith(("authors", "tags"))] == [
        (line, 4 if field.startswith("tags") else 5, field, "error", "yaml-item-indent",
         f"this '- ' item is indented more than the item above it, so YAML reads it as more text of that item: "
         f"{value!r}", fix)]
