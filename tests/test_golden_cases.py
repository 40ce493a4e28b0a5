"""Golden-file tests: each folder under tests/cases holds post-mortem files taken from real bug
reports and an ``expected.json`` listing every problem the validator must report.

Regenerate after an intended change with ``PMKB_UPDATE_GOLDEN=1 pytest tests/test_golden_cases.py``
and review the diff: the expected files are the specification.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from generator.settings import Settings
from generator.validate import display_path, validate

from .conftest import CASES, TODAY

CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())


def _observed(case: Path) -> dict:
    settings = Settings(docs_dir=case)
    result = validate([case], settings, today=TODAY)
    prefix = display_path(case) + "/"  # messages naming another file use the working-directory path
    return {
        "errors": result.errors,
        "warnings": result.warnings - sum(Path(p.path).name == "expected.json" for p in result.problems),
        "problems": [
            {"file": Path(p.path).name, "line": p.line, "column": p.column, "field": p.field,
             "level": p.level, "code": p.code, "message": p.message.replace(prefix, "")}
            for p in result.problems
            if Path(p.path).name != "expected.json"  # (the golden file itself, an unpublished attachment)
        ],
    }


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_case_matches_golden_file(case: Path):
    observed = _observed(case)
    expected_file = case / "expected.json"
    if os.environ.get("PMKB_UPDATE_GOLDEN"):
        expected_file.write_text(json.dumps(observed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert observed == expected
