"""Fuzzing (issue #11 item 7): real post-mortems (the shipped ones), mutated by hypothesis, never
make ``pmkb validate`` crash, hang or lose its report.

For every mutated file: the exit code is 0 or 1, the output is valid JSON, every problem has a
path, a line (or ``None`` for a whole-file problem), a level and a code, no traceback is
printed, no check failed inside, and the file is checked in bounded time (a hang, not speed:
speed is ``benchmarks/adversarial.py``'s).

The default run tries a modest number of files; a long run on demand:

    PMKB_FUZZ_EXAMPLES=3000 .venv/bin/python -m pytest tests/test_fuzz.py -q

(``PMKB_FUZZ_SEED`` repeats a run; hypothesis prints the smallest failing file it found;
``PMKB_FUZZ_REPORT=FILE`` appends one JSON line per mutated file: its bytes, seconds, exit code
and problem codes, for the figures of a long run.)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, seed, settings, strategies as st

from generator.cli import cli

from .conftest import ROOT

SHIPPED = sorted((ROOT / "postmortems").glob("*.md"))
EXAMPLES = int(os.environ.get("PMKB_FUZZ_EXAMPLES", "40"))
SECONDS_PER_FILE = 60.0  # a hang, not a speed target (a file takes ~0.1 s)

# Pieces that exercise the loader and every rule: YAML features, Markdown constructs, HTML,
# attr_list, links, Unicode that is not what it looks like, long runs.
TOKENS = [
    "---", "...", "\n", "\r\n", "\r", "\t", "  ", "\ufeff", "\u202e", "\u2066", "\u200b", "\u2028", "\x00", "\x1b",
    "e\u0301", "<<: {title: x}", "&a ", "*a", "!!python/object/apply:os.system", "!x ", "? ", ": ", "- ", "[", "]",
    "{", "}", "'", '"', "|", ">-", "#", "## Root cause\n", "yes", "no", "1.20", "0644", "12:30", "~", "null",
    "2024-02-30", "2024-03-14T09:12:00", "PM-2024-001", "related: [PM-1999-001]", "status: final",
    "[x](", "](", "[a](missing.md#x)", "[b](#nope)", "![i](https://cdn.example.com/i.png)", "[j](javascript:alert(1))",
    "<script>alert(1)</script>", "<img src=x onerror=y>", "<a href='", "<!--", "-->", "<div markdown=\"1\">",
    "{: onclick=x #__search .md-dialog }", "!!! md-header", "```", "~~~", "`", "``", "    ", "> ", "1. ", "* ", "_",
    "**", "\\", "&#106;avascript:", "password = 'hunter2hunter2'", "AKIAIOSFODNN7EXAMPLE", "ops@example.com",
    "+1 415 555 0100", "\U0001f469\u200d\U0001f4bb", "数据库",
]
RUNS = ["[", "<a ", "`", "{", "> ", "- ", "(", "*a ", " ", "=", "A1b2"]


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    """A shipped post-mortem with 1 to 6 mutations: a token inserted, a span deleted or
    repeated, a byte changed, lines swapped, a run of a token (up to 2,000), the file cut."""
    path = draw(st.sampled_from(SHIPPED))
    data = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "insert", "insert", "delete", "repeat", "byte", "swap", "run", "cut"]))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS)).encode("utf-8")
        elif kind == "delete":
            data[at:at + draw(st.integers(1, 200))] = b""
        elif kind == "repeat":
            span = bytes(data[at:at + draw(st.integers(1, 80))])
            data[at:at] = span * draw(st.integers(1, 50))
        elif kind == "byte" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif kind == "swap":
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
        elif kind == "run":
            data[at:at] = draw(st.sampled_from(RUNS)).encode("utf-8") * draw(st.integers(2, 2000))
        elif kind == "cut":
            data = data[:at]
    return path.name, bytes(data)


def check_report(output: str, exit_code: int, exception) -> dict:
    assert exception is None or isinstance(exception, SystemExit), repr(exception)
    assert exit_code in (0, 1), output[-2000:]
    assert "Traceback" not in output
    report = json.loads(output)
    for problem in report["problems"]:
        assert problem["path"] and problem["code"] and problem["level"] in ("error", "warning"), problem
        assert problem["line"] is None or (isinstance(problem["line"], int) and problem["line"] >= 1), problem
        assert problem["code"] != "check-failed", problem
    assert report["counts"]["files"] >= 1
    return report


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "postmortems"


def _fuzz_settings(test):
    test = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])(test)
    if os.environ.get("PMKB_FUZZ_SEED"):
        test = seed(int(os.environ["PMKB_FUZZ_SEED"]))(test)
    return test


@_fuzz_settings
@given(case=mutated())
def test_mutated_postmortems_never_break_the_validator(folder, case):
    name, data = case
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / name).write_bytes(data)
    # a second, valid file: the cross-file rules (ids, links, related) run too
    (folder / SHIPPED[0].name).write_bytes(SHIPPED[0].read_bytes()) if name != SHIPPED[0].name else None
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["validate", "--format", "json", str(folder)])
    elapsed = time.monotonic() - started
    report = check_report(result.output, result.exit_code, result.exception)
    if os.environ.get("PMKB_FUZZ_REPORT"):
        codes = sorted({p["code"] for p in report["problems"] if p["path"].endswith(name)})
        with open(os.environ["PMKB_FUZZ_REPORT"], "a", encoding="utf-8") as out:
            out.write(json.dumps({"file": name, "bytes": len(data), "seconds": round(elapsed, 4),
                                  "exit": result.exit_code, "codes": codes}) + "\n")
    assert elapsed < SECONDS_PER_FILE, f"{elapsed:.1f} s"


def test_the_check_of_a_report_can_fail():
    with pytest.raises(AssertionError):
        check_report('{"problems": [{"path": "a.md", "line": 0, "level": "error", "code": "x"}], '
                     '"counts": {"files": 1}}', 1, None)
    with pytest.raises(AssertionError):
        check_report("Traceback (most recent call last):", 1, None)
    with pytest.raises(AssertionError):
        check_report("{}", 2, None)
