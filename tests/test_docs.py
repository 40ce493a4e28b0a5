"""Keep the docs honest: the README documents every problem code the validator can emit and
every CLI command, and the published JSON Schema is a valid schema."""

from __future__ import annotations

import json
import re

from generator.cli import cli

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def emitted_codes() -> set[str]:
    """Problem codes written in the validator's source (the second-to-last string arguments)."""
    codes = set()
    for module in ("loader.py", "validate.py", "formats.py", "inventory.py"):
        source = (ROOT / "generator" / module).read_text(encoding="utf-8")
        codes |= set(re.findall(r'"(?:error|warning)", "([a-z0-9]+(?:-[a-z0-9]+)*)"', source))
        codes |= set(re.findall(r'settings\.broken_links, "([a-z0-9-]+)"', source))
    return codes


def test_every_problem_code_is_documented():
    codes = emitted_codes()
    assert {"yaml-anchor", "duplicate-id", "secret", "broken-link", "not-utf8"} <= codes
    table = README.split("Problem codes", 1)[1].split("\n## ", 1)[0]
    undocumented = sorted(code for code in codes if f"`{code}`" not in table)
    assert undocumented == []


def test_every_command_is_in_the_readme_and_has_help(runner):
    names = cli.list_commands(None)
    assert {"validate", "new", "similar", "related", "clusters", "report", "review"} <= set(names)
    for name in names:
        command = cli.get_command(None, name)
        assert f"pmkb {name}" in README, name
        assert command.help and len(command.help) > 20, name


def test_the_two_readme_commands_are_there():
    assert "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/mkdocs build --strict" in README
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[test,semantic,zensical]' && .venv/bin/python -m pytest" in README


def test_published_schema_is_a_valid_draft_2020_12_schema():
    import jsonschema_rs

    schema = json.loads((ROOT / "generator" / "schemas" / "postmortem.schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema_rs.meta.validate(schema)  # raises if the schema breaks its meta-schema
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid({
        "id": "PM-2024-001", "title": "t", "date": "2024-01-01", "severity": "SEV1", "status": "final",
        "services": ["api"], "authors": ["a"]})
    assert not validator.is_valid({"id": "PM-2024-001"})
