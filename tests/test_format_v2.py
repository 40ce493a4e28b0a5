"""Format v2: the published schema, the model fields, and each v2 rule with its exact problem
(line, field, code, level, message). v1 files are covered by test_validate.py and the golden
cases, which v2 must leave exactly as they were."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from generator.loader import read_source
from generator.model import Source
from generator.validate import schema, schema_view

from .conftest import ROOT, TODAY
from .test_validate import NAME, VALID, check, problems

V2 = VALID.replace("---\nid: PM-2024-017", "---\nformat: 2\nid: PM-2024-017", 1).replace(
    "root_cause: Manual renewal step was skipped when the on-call rota changed.\n",
    "root_cause: Manual renewal step was skipped when the on-call rota changed.\n"
    "contributing_factors: [manual-step, missing-alert]\n"
    "near_miss: false\n"
    "visibility: internal\n"
    "source:\n"
    "  system: incident-io\n"
    "  id: INC-1432\n"
    "  url: https://app.incident.io/acme/incidents/1432\n"
    "  imported_at: 2024-05-02T10:00:00+02:00\n",
).replace(
    "    ticket: OPS-1234\n",
    "    ticket: OPS-1234\n"
    "  - title: Alert 30 days before a served certificate expires\n"
    "    status: done\n"
    "    done_at: 2024-03-20\n"
    "    addresses: missing-alert\n"
    "  - title: Renew the edge certificate by hand\n"
    "    status: done\n"
    "    done_at: 2024-03-14T11:30:00+01:00\n"
    "    addresses: root-cause\n",
)
# Line numbers in V2 (1-based): format 2, contributing_factors 18, near_miss 19, visibility 20,
# source 21-25, the first action item 27-31, the second 32-35 (done_at 34), the third 36-39.


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


def test_the_v2_example_is_valid_and_reaches_the_model(tmp_path):
    result = check(tmp_path, V2)
    assert result.problems == []
    pm = result.postmortems[0]
    assert pm.format == 2
    assert pm.contributing_factors == ["manual-step", "missing-alert"]
    assert pm.near_miss is False
    assert pm.visibility == "internal"
    assert pm.source == Source(system="incident-io", id="INC-1432", url="https://app.incident.io/acme/incidents/1432",
                               imported_at=dt.datetime(2024, 5, 2, 10, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    open_item, alert, renew = pm.action_items
    assert (open_item.done_at, open_item.addresses) == (None, None)
    assert alert.done_at == dt.date(2024, 3, 20) and alert.addresses == "missing-alert"
    assert renew.done_at == dt.datetime(2024, 3, 14, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert renew.addresses == "root-cause"
    assert pm.extra == {}


def test_a_v1_file_keeps_the_v1_defaults(tmp_path):
    pm = check(tmp_path, VALID).postmortems[0]
    assert (pm.format, pm.contributing_factors, pm.near_miss, pm.source, pm.visibility) == (1, [], False, None, None)
    assert pm.action_items[0].done_at is None


@pytest.mark.parametrize("written", ["true", "True", "TRUE"])
def test_near_miss_true_in_each_yaml_spelling(tmp_path, written):
    result = check(tmp_path, V2.replace("near_miss: false", f"near_miss: {written}"))
    assert result.problems == [] and result.postmortems[0].near_miss is True


@pytest.mark.parametrize("written, message, fix", [
    ('"true"', "'near_miss' must be true or false, got the text 'true', in quotes", "remove the quotes: near_miss: true"),
    ("yes", "'near_miss' is 'yes', which YAML 1.1 tools such as PyYAML and MkDocs read as a boolean and YAML 1.2 "
            "tools as text", None),
    ("maybe", "'near_miss' must be true or false, got 'maybe'", None),
    ("[true]", "'near_miss' must be true or false, got a list", None),
])
def test_near_miss_that_is_not_a_boolean(tmp_path, written, message, fix):
    result = check(tmp_path, V2.replace("near_miss: false", f"near_miss: {written}"))
    assert problems(result) == [(NAME, 19, "near_miss", "error", "field-type")]
    assert result.problems[0].message == message
    assert result.problems[0].fix == (fix or "write near_miss: true if it was caught before it affected anyone, "
                                             "else near_miss: false, without quotes")
    assert result.postmortems[0].near_miss is False


@pytest.mark.parametrize("written, code, message, fix", [
    ('"2"', "field-type", "'format' must be the number 2, got the text '2', in quotes", "remove the quotes: format: 2"),
    ("'2'", "field-type", "'format' must be the number 2, got the text '2', in quotes", "remove the quotes: format: 2"),
    ("2.0", "field-type", "'format' must be the whole number 2, got '2.0'", "write format: 2"),
    ("v2", "field-type", "'format' must be the whole number 2, got 'v2'", "write format: 2"),
    ("3", "format-unknown", "'format' is 3, a format this version of postmortem-kb does not know: it reads format "
                            "v1, written without 'format', and format: 2",
     "write format: 2, or upgrade postmortem-kb if the file was written for a newer format"),
])
def test_format_other_than_2_is_checked_as_v2_with_one_problem(tmp_path, written, code, message, fix):
    result = check(tmp_path, V2.replace("format: 2", f"format: {written}"))
    assert problems(result) == [(NAME, 2, "format", "error", code)]
    assert (result.problems[0].message, result.problems[0].fix) == (message, fix)
    pm = result.postmortems[0]
    assert pm.format == 2 and pm.contributing_factors == ["manual-step", "missing-alert"]  # v2 rules were applied


def test_format_1_is_refused_and_the_file_checked_as_v1(tmp_path):
    result = check(tmp_path, VALID.replace("---\nid:", "---\nformat: 1\nid:", 1))
    assert problems(result) == [(NAME, 2, "format", "error", "format-unknown")]
    assert result.problems[0].message == "'format' is 1, but format v1 is written without a 'format' field"
    assert result.problems[0].fix == ("remove the 'format' line, since a file without it is format v1; "
                                      "or write format: 2")
    assert result.postmortems[0].format == 1


def test_empty_format_is_an_empty_field(tmp_path):
    result = check(tmp_path, V2.replace("format: 2", "format:"))
    assert problems(result) == [(NAME, 2, "format", "error", "field-empty")]


def test_done_item_without_done_at_is_an_error_on_its_status_line(tmp_path):
    text = V2.replace("    done_at: 2024-03-20\n", "")
    result = check(tmp_path, text)
    status_line = line_of(text, "Alert 30 days") + 1
    assert problems(result) == [(NAME, status_line, "action_items[1].done_at", "error", "field-missing")]
    assert result.problems[0].message == ("action item 'Alert 30 days before a served certificate expires' is "
                                          "marked done but has no 'done_at', the day it was done")
    assert result.problems[0].fix.startswith("add 'done_at: YYYY-MM-DD' to this item, the day the fix shipped")


def test_done_at_is_not_required_for_other_statuses_nor_in_v1(tmp_path):
    assert check(tmp_path, V2.replace("    done_at: 2024-03-20\n", "").replace(
        "    status: done\n    addresses: missing-alert", "    status: wont-do\n    addresses: missing-alert")).problems == []
    v1 = VALID.replace("status: open", "status: done")
    assert check(tmp_path, v1).problems == []


@pytest.mark.parametrize("done_at, code, level, message", [
    # the incident started 2024-03-14T09:12:00Z
    ("2024-03-13", "done-before-start", "error",
     "done_at '2024-03-13' is before the incident started, at started_at '2024-03-14T09:12:00Z'"),
    ("2024-03-14", None, None, None),  # the same day: a date says which day, not when on it
    ("2024-03-14T09:11:59Z", "done-before-start", "error",
     "done_at '2024-03-14T09:11:59Z' is before the incident started, at started_at '2024-03-14T09:12:00Z'"),
    ("2024-03-14T09:12:00Z", None, None, None),
    ("2024-03-14T10:00:00+02:00", "done-before-start", "error",  # 08:00 UTC
     "done_at '2024-03-14T10:00:00+02:00' is before the incident started, at started_at '2024-03-14T09:12:00Z'"),
    ("2024-03-14T04:30:00-05:00", None, None, None),  # 09:30 UTC: after the start, though earlier on the clock
    (TODAY.isoformat(), None, None, None),
    ((TODAY + dt.timedelta(days=1)).isoformat(), "date-in-future", "error",
     f"done_at '{(TODAY + dt.timedelta(days=1)).isoformat()}' is in the future"),
    (f"{TODAY}T23:59:00+14:00", None, None, None),  # today at UTC+14, where today ends last
    (f"{TODAY + dt.timedelta(days=1)}T00:00:01+14:00", "date-in-future", "error",
     f"done_at '{TODAY + dt.timedelta(days=1)}T00:00:01+14:00' is in the future"),
    (f"{TODAY + dt.timedelta(days=1)}T10:00:00Z", "date-in-future", "error",
     f"done_at '{TODAY + dt.timedelta(days=1)}T10:00:00Z' is in the future"),
    ("2024-02-30", "field-format", "error",
     "'done_at' value '2024-02-30' is not a real day or moment in time: February 2024 has 29 days"),
    ("2024-03-20T25:00:00Z", "field-format", "error",
     "'done_at' value '2024-03-20T25:00:00Z' is not a real day or moment in time: there is no hour 25"),
    ("2024-03-20T10:00", "timestamp-no-offset", "error",
     "timestamp '2024-03-20T10:00' has no UTC offset, so its moment depends on the reader's time zone"),
    ("20 March 2024", "field-format", "error", "'done_at' value '20 March 2024' is not in the expected form"),
])
def test_done_at_rules(tmp_path, done_at, code, level, message):
    text = V2.replace("done_at: 2024-03-20", f"done_at: {done_at}")
    result = check(tmp_path, text)
    if code is None:
        assert result.problems == []
        return
    assert problems(result) == [(NAME, 34, "action_items[1].done_at", level, code)]
    assert result.problems[0].message == message


def test_done_at_without_started_at_compares_with_the_date(tmp_path):
    text = V2
    for name in ("started_at", "detected_at", "mitigated_at", "resolved_at"):
        text = "\n".join(line for line in text.split("\n") if not line.startswith(name))
    assert check(tmp_path, text.replace("done_at: 2024-03-14T11:30:00+01:00", "done_at: 2024-03-14T00:10:00+09:00")
                 ).problems == []  # its own day is the incident's date
    result = check(tmp_path, text.replace("done_at: 2024-03-20", "done_at: 2024-03-13T23:59:00Z"))
    assert [(p.code, p.message) for p in result.problems] == [
        ("done-before-start", "done_at '2024-03-13T23:59:00Z' is before the incident started, at date '2024-03-14'")]


def test_done_at_on_an_item_that_is_not_done_is_a_warning(tmp_path):
    text = V2.replace("    status: open\n", "    status: open\n    done_at: 2024-04-01\n")
    result = check(tmp_path, text)
    assert problems(result) == [(NAME, line_of(text, "done_at: 2024-04-01"), "action_items[0].done_at", "warning",
                                 "done-at-not-done")]
    assert result.problems[0].message == "action item has done_at '2024-04-01' but its status is 'open'"
    no_status = V2.replace("    status: open\n", "    done_at: 2024-04-01\n")
    assert check(tmp_path, no_status).problems[0].message == (
        "action item has done_at '2024-04-01' but its status is open, as it has none")


def test_addresses_names_the_root_cause_or_a_contributing_factor(tmp_path):
    text = V2.replace("addresses: missing-alert", "addresses: alert-fatigue")
    result = check(tmp_path, text)
    assert problems(result) == [(NAME, 35, "action_items[1].addresses", "warning", "addresses-unknown")]
    assert result.problems[0].message == ("addresses 'alert-fatigue' is neither 'root-cause' nor one of the "
                                          "contributing_factors: manual-step, missing-alert")
    assert result.problems[0].fix == ("add 'alert-fatigue' to contributing_factors, or write addresses: root-cause "
                                      "for an item that fixes the root cause")
    result = check(tmp_path, text.replace("addresses: alert-fatigue", "addresses: Alert Fatigue"))
    assert problems(result) == [(NAME, 35, "action_items[1].addresses", "error", "field-format")]
    assert result.problems[0].fix == "write it as 'alert-fatigue'"


def test_contributing_factors_are_kebab_case(tmp_path):
    result = check(tmp_path, V2.replace("[manual-step, missing-alert]", "[manual-step, Missing_Alert]").replace(
        "addresses: missing-alert", "addresses: manual-step"))
    assert problems(result) == [(NAME, 18, "contributing_factors[1]", "error", "field-format")]
    assert result.problems[0].message == "'contributing_factors[1]' value 'Missing_Alert' is not kebab-case " \
                                         "(lowercase words joined by hyphens)"
    assert result.problems[0].fix == "write it as 'missing-alert'"


@pytest.mark.parametrize("old, new, line, field, code, message", [
    ("  system: incident-io\n", "  system: Incident.io\n", 22, "source.system", "field-format",
     "'system' value 'Incident.io' is not kebab-case (lowercase words joined by hyphens)"),
    ("  system: incident-io\n", "", 22, "source.system", "field-missing", "required field 'system' is missing"),
    ("  url: https://app.incident.io/acme/incidents/1432\n", "  url: javascript:alert(1)\n", 24, "source.url",
     "field-format", "'url' value 'javascript:alert(1)' is not in the expected form"),
    ("  imported_at: 2024-05-02T10:00:00+02:00\n", "  imported_at: 2024-05-02\n", 25, "source.imported_at",
     "field-format", "'imported_at' value '2024-05-02' is not in the expected form"),
    ("  imported_at: 2024-05-02T10:00:00+02:00\n", "  imported_at: 2024-05-02T10:00:00\n", 25, "source.imported_at",
     "timestamp-no-offset",
     "timestamp '2024-05-02T10:00:00' has no UTC offset, so its moment depends on the reader's time zone"),
    ("  imported_at: 2024-05-02T10:00:00+02:00\n", "  imported_at: 2024-05-32T10:00:00+02:00\n", 25,
     "source.imported_at", "field-format",
     "'imported_at' value '2024-05-32T10:00:00+02:00' is not a real moment in time: May 2024 has 31 days"),
    ("  imported_at: 2024-05-02T10:00:00+02:00\n", "  imported_at: 2031-05-02T10:00:00+02:00\n", 25,
     "source.imported_at", "date-in-future", "imported_at '2031-05-02T10:00:00+02:00' is in the future"),
    ("  id: INC-1432\n", "  id: INC-1432\n  team: sre\n", 24, "source.team", "field-unknown",
     "unknown field 'team'"),
    ("source:\n  system: incident-io\n", "source: incident-io\nsourcex:\n  system: incident-io\n", 21, "source",
     "field-type", "'source' must be a mapping, got 'incident-io'"),
    ("visibility: internal", "visibility: private", 20, "visibility", "field-enum",
     "'visibility' is 'private', not an allowed value"),
])
def test_source_and_visibility(tmp_path, old, new, line, field, code, message):
    assert old in V2
    result = check(tmp_path, V2.replace(old, new, 1))
    found = [p for p in result.problems if p.field == field]
    assert [(p.line, p.code, p.message) for p in found] == [(line, code, message)]


def test_source_unknown_field_lists_the_source_fields(tmp_path):
    result = check(tmp_path, V2.replace("  id: INC-1432\n", "  id: INC-1432\n  team: sre\n"))
    assert result.problems[0].fix == "check the spelling; known fields: system, id, url, imported_at"


def test_v2_fields_in_a_v1_file_are_unknown_with_a_hint(tmp_path):
    text = VALID.replace("trigger: certificate-expiry", "trigger: certificate-expiry\nnear_miss: true\n"
                         "contributing_factors: [manual-step]").replace("    ticket: OPS-1234", "    ticket: OPS-1234\n"
                                                                         "    done_at: 2024-04-01")
    result = check(tmp_path, text)
    assert problems(result) == [
        (NAME, 16, "near_miss", "warning", "field-unknown"),
        (NAME, 17, "contributing_factors", "warning", "field-unknown"),
        (NAME, 25, "action_items[0].done_at", "warning", "field-unknown"),
    ]  # and no "quote 'true'": near_miss is a boolean, in the format that has it
    assert {p.fix for p in result.problems} == {
        "'near_miss' is a format v2 field: add 'format: 2' at the top of the front matter",
        "'contributing_factors' is a format v2 field: add 'format: 2' at the top of the front matter",
        "'done_at' is a format v2 field: add 'format: 2' at the top of the front matter"}
    assert result.postmortems[0].format == 1 and result.postmortems[0].near_miss is False


def test_v1_unknown_field_message_is_unchanged(tmp_path):
    result = check(tmp_path, VALID.replace("authors: [alice]", "authors: [alice]\nsquad: payments"))
    assert result.problems[0].fix == (  # issue #14: no longer the list of the eighteen fields
        "remove it or rename it to a field of the format (README: 'The front-matter fields')")


# --- the published schema ---------------------------------------------------------------------


def test_v2_schema_is_v1_plus_the_v2_fields():
    v1, v2 = schema_view(1), schema_view(2)
    assert v2["required"] == v1["required"] and v2["additionalProperties"] is False
    changed = {"action_items"}
    assert {k: v for k, v in v2["properties"].items() if k in v1["properties"] and k not in changed} == \
        {k: v for k, v in v1["properties"].items() if k not in changed}
    assert sorted(set(v2["properties"]) - set(v1["properties"])) == sorted(
        ["format", "contributing_factors", "near_miss", "source", "visibility"])
    item, item_v2 = schema()["$defs"]["action_item"], schema()["$defs"]["action_item_v2"]
    assert {k: v for k, v in item_v2["properties"].items() if k in item["properties"]} == item["properties"]
    assert sorted(set(item_v2["properties"]) - set(item["properties"])) == ["addresses", "done_at"]


def _typed(path):
    """Front matter as an editor using the published schema sees it: text, with format and near_miss typed."""
    from generator import formats

    src = read_source(path)
    version = formats.declared_format(src)
    formats.read_typed_fields(src, version)
    return src.data


def test_the_published_schema_checks_each_format_as_the_validator_does(tmp_path):
    import jsonschema_rs

    root = jsonschema_rs.validator_for(json.loads((ROOT / "generator/schemas/postmortem.schema.json").read_text()))
    shipped = sorted((ROOT / "postmortems").glob("*.md"))
    assert shipped and all(root.is_valid(_typed(p)) for p in shipped)
    check(tmp_path, V2)
    v2_file = tmp_path / "postmortems" / NAME
    assert root.is_valid(_typed(v2_file))
    v2_file.write_text(V2.replace("    done_at: 2024-03-20\n", ""))  # a done item without done_at
    assert not root.is_valid(_typed(v2_file))
    v1_with_v2_field = VALID.replace("authors: [alice]", "authors: [alice]\nvisibility: public")
    v2_file.write_text(v1_with_v2_field)
    assert not root.is_valid(_typed(v2_file))
    v2_file.write_text(v1_with_v2_field.replace("---\nid:", "---\nformat: 2\nid:", 1))
    assert root.is_valid(_typed(v2_file))
