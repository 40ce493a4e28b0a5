"""Personal data (follow-up #7): e-mail addresses and phone numbers in a post-mortem are a
``personal-data`` warning, so a build without ``--strict`` goes on; the values are withheld
like secrets, so no output holds them: not the validator's messages, the model, the command
outputs, nor any file of the built site (pages, search index, ``api/``, feed, the "Have we
seen this?" model). The expectation of /work/shared/cases/30-secret-and-pii-pasted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import scan
from generator.cli import cli
from generator.settings import Settings
from generator.validate import validate

from .conftest import TODAY
from .sitebuild import FIXTURE_CORPUS, make_project, run_build

NAME = "2024-06-11-search-disk-full-logs.md"
EMAIL, OWNER_EMAIL, SUMMARY_EMAIL = "jane.doe@example.org", "ops.lead@example.net", "pager.duty.person@example.io"
PHONE, PHONE_DIGITS = "+44 20 7946 0958", "7946 0958"
PERSONAL = [EMAIL, OWNER_EMAIL, SUMMARY_EMAIL, PHONE_DIGITS, "jane.doe", "ops.lead", "pager.duty.person"]


def seeded(text: str) -> str:
    """The fixture post-mortem with personal data in the summary, the root cause, an action
    item's owner and the prose."""
    text = text.replace("summary: >-\n", f"summary: >-\n  Paged {SUMMARY_EMAIL} at night.\n", 1)
    text = text.replace("root_cause: >-\n", f"root_cause: >-\n  Call {PHONE} for details.\n", 1)
    text = text.replace("\n---\n", f"\naction_items:\n  - title: Configure log rotation\n    owner: {OWNER_EMAIL}\n"
                        "    status: open\n---\n", 1)
    return text.replace("Search results were stale for six hours.",
                        f"Search results were stale for six hours; {EMAIL} ({PHONE}) reported it first.", 1)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = make_project(tmp_path_factory.mktemp("pii") / "p",
                          files={NAME: seeded((FIXTURE_CORPUS / NAME).read_text(encoding="utf-8"))})
    config = folder / "mkdocs.yml"
    config.write_text("site_url: https://kb.example.com/\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def held(text: str) -> list[str]:
    return [value for value in PERSONAL if value in text]


def test_personal_data_is_a_warning_at_its_line_and_field(project):
    docs = project / "postmortems"
    lines = (docs / NAME).read_text(encoding="utf-8").split("\n")

    def line_of(text: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if text in line)

    result = validate([docs / NAME], Settings(docs_dir=docs), today=TODAY)
    assert [(p.line, p.field, p.level, p.code, p.message) for p in result.problems] == [
        (line_of(SUMMARY_EMAIL), "summary", "warning", "personal-data", "e-mail address in the text: p…@….io"),
        (line_of(PHONE), "root_cause", "warning", "personal-data", "phone number in the text: +••••••••••58"),
        (line_of(OWNER_EMAIL), "action_items[0].owner", "warning", "personal-data",
         "e-mail address in the text: o…@….net"),
        (line_of(EMAIL), None, "warning", "personal-data", "e-mail address in the text: j…@….org"),
        (line_of(EMAIL), None, "warning", "personal-data", "phone number in the text: +••••••••••58"),
    ]
    assert result.errors == 0


def test_the_model_carries_the_text_with_personal_data_hidden(project):
    docs = project / "postmortems"
    pm = validate([docs / NAME], Settings(docs_dir=docs), today=TODAY).postmortems[0]
    assert pm.summary.startswith(f"Paged {scan.HIDDEN} at night.")
    assert pm.root_cause.startswith(f"Call {scan.HIDDEN} for details.")
    assert pm.action_items[0].owner == scan.HIDDEN
    assert f"six hours; {scan.HIDDEN} ({scan.HIDDEN}) reported it first." in pm.body
    assert held(repr(pm) + json.dumps(pm.sections)) == []


@pytest.mark.parametrize("args", [
    ["validate"], ["validate", "--format", "json"], ["validate", "--format", "github"],
    ["related", "--format", "json"], ["similar", "PM-2024-030", "--format", "json"],
    ["similar", "--text", "search disk full logs"], ["report", "--format", "json", "--today", TODAY.isoformat()],
    ["report", "--format", "csv", "--table", "action-items", "--today", TODAY.isoformat()],
])
def test_no_command_output_holds_personal_data(runner, project, monkeypatch, args):
    monkeypatch.chdir(project)
    done = runner.invoke(cli, args)
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    assert held(done.output) == []
    assert done.exit_code == 0 or args[0] != "validate"  # a warning: validation passes without --strict


def test_a_site_built_without_strict_holds_no_personal_data(project, tmp_path):
    done = run_build(project, tmp_path / "site", strict=False)
    assert done.returncode == 0, done.stderr
    assert held(done.stdout + done.stderr) == [] and "personal-data" in done.stderr
    files = {p.relative_to(tmp_path / "site").as_posix(): p.read_text(encoding="utf-8", errors="replace")
             for p in (tmp_path / "site").rglob("*") if p.is_file() and p.suffix in (".html", ".json", ".xml",
                                                                                    ".csv", ".js")}
    assert {"feed.xml", "api/postmortems.json", "api/action-items.csv", "search/search_index.json",
            f"{NAME[:-3]}/index.html"} <= set(files)
    assert {name: held(text) for name, text in files.items() if held(text)} == {}
    assert f"six hours; {scan.HIDDEN} ({scan.HIDDEN}) reported it first." in files[f"{NAME[:-3]}/index.html"]
    assert f"Paged {scan.HIDDEN} at night." in files["feed.xml"]


def test_a_pasted_log_of_addresses_and_times_costs_no_phone_search_and_keeps_its_phone(monkeypatch):
    """A log pasted into the body (timestamps, IPv4 addresses with ports, clock times, hex ids):
    none of it is written like a phone number, so the phone-number library (about 1.5 ms a line)
    is not asked about those lines; a number written like one in the same log is still found."""
    import phonenumbers

    calls = []
    real = phonenumbers.PhoneNumberMatcher

    def counting(text, *args, **kwargs):
        calls.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(phonenumbers, "PhoneNumberMatcher", counting)
    log = [f"2024-07-05T10:{i % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z INFO conn from 10.{i % 256}.{i * 7 % 256}."
           f"{i * 13 % 256}:{40000 + i} to 172.16.{i % 256}.9:443 at 10:{i % 60:02d}:01.5 took {i % 900}.{i % 10} ms "
           f"req={i:08x} seq {i * 7919:010d}" for i in range(500)]
    log.insert(250, "2024-07-05T10:10:10Z WARN paging on-call at +1 415 555 0132 from 10.0.0.7:5044")
    found = scan.find_personal_data(log, 20)
    assert [(f.line, f.kind, f.value) for f in found] == [(270, "phone number", "+1 415 555 0132")]
    assert len(calls) == 1
