"""``pmkb migrate`` (#13 item 4): v1 files become v2 by one line, every other byte kept; a done
item without a date is reported, never invented; migrate, validate, migrate again = no change.

The fixture folder ``tests/fixtures/migrate/`` holds: a v1 file with comments, flow and block
lists, a folded scalar, quoting and a hand-added ``done_at`` (checkout); a CRLF file (search);
a file with a byte-order mark and ``format: 1`` (queue); a v2 file (already-v2); a v1 file with
a done item that has no date (done-without-a-date).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.cli import cli
from generator.migrate import BLOCKED, CURRENT, MIGRATE, plan, plan_all, write
from generator.settings import Settings
from generator.validate import validate

from .conftest import TESTS, TODAY

FIXTURES = TESTS / "fixtures" / "migrate"
CHECKOUT = "2024-03-14-checkout-tls-expiry.md"
CRLF = "2024-03-20-search-slow-crlf.md"
BOM = "2024-03-21-queue-backlog-bom.md"
V2 = "2024-03-22-already-v2.md"
UNDATED = "2024-03-23-done-without-a-date.md"


@pytest.fixture
def kb(tmp_path) -> Path:
    """A copy of the fixture folder and a mkdocs.yml whose docs_dir it is; returns the mkdocs.yml."""
    shutil.copytree(FIXTURES, tmp_path / "postmortems")
    config = tmp_path / "mkdocs.yml"
    config.write_text("site_name: t\ndocs_dir: postmortems\nplugins:\n  - postmortems: {}\n", encoding="utf-8")
    return config


@pytest.fixture(autouse=True)
def in_the_kb(kb, monkeypatch):
    monkeypatch.chdir(kb.parent)  # as a user runs it, from beside mkdocs.yml: paths are relative


def run(runner, kb: Path, *args: str):
    return runner.invoke(cli, ["--config-file", str(kb), "migrate", *args])


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.md"))}


def test_plan_inserts_one_line_and_keeps_every_other_byte():
    plans = {m.path.name: m for m in plan_all([FIXTURES], Settings(docs_dir=FIXTURES), TODAY)}
    assert {name: m.status for name, m in plans.items()} == {
        CHECKOUT: MIGRATE, CRLF: MIGRATE, BOM: MIGRATE, V2: CURRENT, UNDATED: BLOCKED}
    old = (FIXTURES / CHECKOUT).read_bytes()
    assert plans[CHECKOUT].new.encode() == old.replace(b"---\n", b"---\nformat: 2\n", 1)
    old = (FIXTURES / CRLF).read_bytes()
    assert plans[CRLF].new.encode() == old.replace(b"---\r\n", b"---\r\nformat: 2\r\n", 1)
    old = (FIXTURES / BOM).read_bytes()
    assert old.startswith(b"\xef\xbb\xbf---\nformat: 1  # explicit\n")
    assert plans[BOM].new.encode() == old.replace(b"format: 1  # explicit", b"format: 2  # explicit", 1)
    assert plans[V2].new == plans[V2].old and plans[V2].diff() == ""


def test_a_done_item_without_a_date_is_reported_not_invented():
    plans = {m.path.name: m for m in plan_all([FIXTURES], Settings(docs_dir=FIXTURES), TODAY)}
    undated = plans[UNDATED]
    assert undated.new == undated.old
    assert [(p.line, p.field, p.code, p.message) for p in undated.reasons] == [
        (11, "action_items[0].done_at", "field-missing",
         "action item 'Alert when a data volume is 80% full' is marked done but has no 'done_at', the day it was done")]


def test_diff_is_the_default_and_writes_nothing(runner, kb):
    before = contents(kb.parent / "postmortems")
    result = run(runner, kb)
    assert result.exit_code == 1  # files would change, and one cannot be migrated
    assert contents(kb.parent / "postmortems") == before
    assert result.stdout.count("\n+format: 2\n") == 2 and "-format: 1  # explicit\n+format: 2  # explicit" in result.stdout
    assert result.stdout.startswith("--- a/postmortems/2024-03-14-checkout-tls-expiry.md\n"
                                    "+++ b/postmortems/2024-03-14-checkout-tls-expiry.md\n@@ -1,4 +1,5 @@\n ---\n"
                                    "+format: 2\n # Written by hand;")
    assert result.stderr.splitlines() == [
        "postmortems/2024-03-23-done-without-a-date.md:11: not migrated: action_items[0].done_at: action item "
        "'Alert when a data volume is 80% full' is marked done but has no 'done_at', the day it was done (add "
        "'done_at: YYYY-MM-DD' to this item, the day the fix shipped, e.g. its ticket's close date: format v2 tells "
        "from it whether a later incident came back after the fix)",
        "3 to migrate (run again with --write), 1 already v2, 1 not migrated, in 5 files",
    ]


def test_the_diff_is_a_patch_git_applies(runner, kb, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    patch = tmp_path / "v2.patch"
    patch.write_bytes(run(runner, kb).stdout_bytes)
    applied = tmp_path / "applied"
    shutil.copytree(FIXTURES, applied / "postmortems")
    subprocess.run(["git", "apply", "--unsafe-paths", str(patch)], cwd=applied, check=True, capture_output=True)
    assert run(runner, kb, "--write").exit_code == 1
    assert contents(applied / "postmortems") == contents(kb.parent / "postmortems")


def test_round_trip_write_validate_migrate_again(runner, kb):
    docs = kb.parent / "postmortems"
    result = run(runner, kb, "--write")
    assert result.exit_code == 1  # the undated item is left for a person
    assert result.stdout.splitlines()[-1] == "3 migrated to format v2, 1 already v2, 1 not migrated, in 5 files"
    checked = validate([docs], Settings(docs_dir=docs), today=TODAY)
    assert checked.errors == 0
    assert {p.path.rsplit("/", 1)[-1] for p in checked.problems} == {UNDATED}  # its done_at: a v1 warning
    assert {pm.id: pm.format for pm in checked.postmortems} == {
        "PM-2024-017": 2, "PM-2024-018": 2, "PM-2024-019": 2, "PM-2024-020": 2, "PM-2024-021": 1}
    checkout = next(pm for pm in checked.postmortems if pm.id == "PM-2024-017")
    assert str(checkout.action_items[0].done_at) == "2024-04-02"  # the hand-written date, now read
    after = contents(docs)
    again = run(runner, kb, "--write")
    assert contents(docs) == after
    assert again.stdout.splitlines()[-1] == "0 migrated to format v2, 4 already v2, 1 not migrated, in 5 files"
    # once the day is written, the last file migrates too, and then nothing is left
    undated = docs / UNDATED
    undated.write_text(undated.read_text().replace("    status: done\n  - title: Rotate",
                                                   "    status: done\n    done_at: 2024-03-24\n  - title: Rotate"))
    assert run(runner, kb, "--write").exit_code == 0
    assert run(runner, kb).exit_code == 0 and run(runner, kb).stdout == ""
    assert validate([docs], Settings(docs_dir=docs), today=TODAY).problems == []


def test_a_change_that_would_add_an_error_is_refused(runner, kb):
    docs = kb.parent / "postmortems"
    crlf = docs / CRLF
    crlf.write_bytes(crlf.read_bytes().replace(b"authors: [bob]\r\n", b"authors: [bob]\r\nnear_miss: yes\r\n"))
    result = run(runner, kb, str(crlf), "--format", "json")
    data = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [(f["status"], [(r["code"], r["field"]) for r in f["reasons"]]) for f in data["files"]] == [
        ("blocked", [("field-type", "near_miss")])]
    assert data["counts"] == {"files": 1, "migrate": 0, "current": 0, "blocked": 1, "written": 0}


@pytest.mark.parametrize("line, message", [
    ("format: 3", "'format' is '3': only format v1 files (without 'format', or with format: 1) are migrated"),
    ('format: "2"', "'format' is '2': only format v1 files (without 'format', or with format: 1) are migrated"),
])
def test_other_formats_are_left_alone(runner, kb, line, message):
    target = kb.parent / "postmortems" / CHECKOUT
    target.write_text(target.read_text().replace("---\n", f"---\n{line}\n", 1))
    before = target.read_bytes()
    data = json.loads(run(runner, kb, str(target), "--write", "--format", "json").stdout)
    assert target.read_bytes() == before
    assert [(r["line"], r["code"], r["message"]) for r in data["files"][0]["reasons"]] == [
        (2, "format-unknown", message)]


def test_notes_are_warnings_the_v2_file_gains(runner, kb):
    target = kb.parent / "postmortems" / CHECKOUT
    target.write_text(target.read_text().replace("due: 2024-05-01}", "due: 2024-05-01, done_at: 2024-04-20}"))
    result = run(runner, kb, str(target))
    assert result.exit_code == 1 and "+format: 2" in result.stdout
    note = ("note: action_items[1].done_at: action item has done_at '2024-04-20' but its status is 'open' (set "
            "status: done, or remove done_at until it is done)")
    assert result.stderr.splitlines()[0] == f"postmortems/{CHECKOUT}:26:82: {note}"  # the line as the file is now
    result = run(runner, kb, str(target), "--write")
    assert result.stdout.splitlines()[0] == f"postmortems/{CHECKOUT}:27:82: {note}"  # and as it is after --write


def test_a_symlink_is_not_written_through(runner, kb, tmp_path):
    outside = tmp_path / "outside.md"
    shutil.copy(FIXTURES / CRLF, outside)
    link = kb.parent / "postmortems" / "2024-03-24-link.md"
    link.symlink_to(outside)
    before = outside.read_bytes()
    result = run(runner, kb, "--write")
    assert outside.read_bytes() == before and link.is_symlink()
    assert "postmortems/2024-03-24-link.md:1: not migrated: this is a symbolic link, which is never followed, " \
           "read or published" in result.stdout  # the collector's own problem, as pmkb validate has it
    assert result.stdout.splitlines()[-1] == "3 migrated to format v2, 1 already v2, 2 not migrated, in 6 files"


def test_a_linked_file_is_reported_not_followed_in_the_diff_and_json(runner, kb, tmp_path):
    outside = tmp_path / "secret-notes.md"  # a v1 post-mortem outside the folder: it would migrate
    outside.write_bytes((FIXTURES / CHECKOUT).read_bytes().replace(b"PM-2024-017", b"PM-2024-099"))
    (kb.parent / "postmortems" / "2024-03-24-link.md").symlink_to(outside)
    text = run(runner, kb)
    assert "PM-2024-099" not in text.output and "secret-notes" not in text.output  # nothing of the target
    assert "postmortems/2024-03-24-link.md:1: not migrated: this is a symbolic link, which is never followed, " \
           "read or published" in text.stderr
    data = json.loads(run(runner, kb, "--format", "json").stdout)
    link = next(f for f in data["files"] if f["path"].endswith("link.md"))
    assert (link["status"], [r["code"] for r in link["reasons"]], link["diff"]) == ("blocked", ["file-symlink"], "")
    assert data["counts"] == {"files": 6, "migrate": 3, "current": 1, "blocked": 2, "written": 0}


def test_a_fifo_is_reported_and_does_not_block_the_run(runner, kb):
    fifo = kb.parent / "postmortems" / "2024-03-25-pipe.md"
    os.mkfifo(fifo)
    result = run(runner, kb, "--format", "json")  # reading it would wait for a writer for ever
    link = next(f for f in json.loads(result.stdout)["files"] if f["path"].endswith("pipe.md"))
    assert (link["status"], [r["code"] for r in link["reasons"]]) == ("blocked", ["file-not-regular"])


def test_plan_reads_only_a_regular_file(kb, tmp_path):
    """plan() is given a path the walk found; if a link has taken its place since, it is not read."""
    docs = kb.parent / "postmortems"
    outside = tmp_path / "outside.md"
    shutil.copy(FIXTURES / CHECKOUT, outside)
    swapped = docs / CHECKOUT
    swapped.unlink()
    swapped.symlink_to(outside)
    migration = plan(swapped, CHECKOUT, CHECKOUT, Settings(docs_dir=docs), TODAY)
    assert (migration.status, migration.old, [(p.code, p.message) for p in migration.reasons]) == (
        BLOCKED, "", [("file-symlink", "this is a symbolic link, which is never followed, read or published")])


def test_write_refuses_a_file_changed_or_linked_since_the_plan(kb, tmp_path):
    docs = kb.parent / "postmortems"
    settings = Settings(docs_dir=docs)
    edited, linked = docs / CHECKOUT, docs / CRLF
    plans = {m.path.name: m for m in plan_all([docs], settings, TODAY)}
    edited.write_text(edited.read_text() + "\nA line written after pmkb migrate read the file.\n")
    kept = edited.read_bytes()
    with pytest.raises(ValueError, match="changed since it was read; run pmkb migrate again"):
        write(plans[CHECKOUT])
    assert edited.read_bytes() == kept  # the edit is not lost
    outside = tmp_path / "outside.md"
    outside.write_bytes(linked.read_bytes())
    linked.unlink()
    linked.symlink_to(outside)
    with pytest.raises(ValueError, match="is now a symbolic link; it is not rewritten"):
        write(plans[CRLF])
    assert outside.read_bytes() == (FIXTURES / CRLF).read_bytes() and linked.is_symlink()
    write(plans[BOM])  # an unchanged file is written
    assert (docs / BOM).read_bytes() == plans[BOM].new.encode()
