"""Cluster labels from shared phrases, hand-given names (problems.yml) and cluster ids that last."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from click.testing import CliRunner

from generator import problems
from generator.analysis import analyse
from generator.labels import distinct_forms, same_word
from generator.settings import Settings
from generator.validate import validate

FIXTURES = Path(__file__).parent / "fixtures" / "similarity"


def load(folder: Path):
    result = validate([folder], Settings(docs_dir=folder), scan_secrets=False)
    assert not result.errors, result.problems
    return result.postmortems


def test_two_forms_of_one_word_count_once():
    assert same_word("expiry", "expired") and same_word("certificates", "certificate")
    assert same_word("config", "configuration") and not same_word("disk", "dns")
    assert distinct_forms(["certificate", "expiry", "expired", "certificates", "tls"]) == \
        ["certificate", "expiry", "tls"]


def test_parse_reports_file_line_field_and_fix():
    text = ("C-PM-2024-001:\n  name: Certificate expiry\n  owner: platform\n  note: renewal automated\n"
            "C-PM-2024-002: Disk full\n"
            "C-PM-2024-001: again\n"
            "PM-2024-003: not a cluster id\n"
            "C-PM-2024-004:\n  name: ''\n  colour: red\n"
            "C-PM-2024-005:\n  members: [PM-2024-005, nope]\n")
    entries, faults = problems.parse(text, "problems.yml")
    assert [(e.id, e.name, e.owner, e.note, e.line) for e in entries] == [
        ("C-PM-2024-001", "Certificate expiry", "platform", "renewal automated", 1),
        ("C-PM-2024-002", "Disk full", "", "", 5)]
    assert [(p.location, p.code, p.field) for p in faults] == [
        ("problems.yml:6", "problems-duplicate", "C-PM-2024-001"),
        ("problems.yml:7", "problems-id", None),
        ("problems.yml:9", "problems-name", "C-PM-2024-004.name"),
        ("problems.yml:10", "problems-field", "C-PM-2024-004.colour"),
        ("problems.yml:12", "problems-members", "C-PM-2024-005.members")]
    assert faults[0].message == "given twice (first on line 1)"
    assert faults[3].fix == "use only name, owner, note, members"
    assert problems.parse("a: [", "p.yml")[1][0].code == "problems-yaml"
    assert problems.parse("- C-PM-2024-001", "p.yml")[1][0].code == "problems-yaml"
    assert problems.parse("", "p.yml") == ([], [])


def test_assign_keeps_id_and_name_when_the_earliest_member_leaves():
    named = problems.ProblemName(id="C-PM-1-001", name="Certificate expiry",
                                 members=("PM-1-001", "PM-1-002", "PM-1-003"))
    # The earliest member left; two of three recorded members stay: the id and name stay.
    assigned, warnings = problems.assign([["PM-1-002", "PM-1-003", "PM-1-009"]], [named])
    assert assigned == [("C-PM-1-001", named)] and warnings == []
    # Only one of three stays: not most of them, the cluster takes its earliest member's id.
    assigned, warnings = problems.assign([["PM-1-003", "PM-1-009"]], [named])
    assert assigned == [("C-PM-1-003", None)]
    assert warnings == ["problems.yml:1: C-PM-1-001 (Certificate expiry) matches no recurring problem now: no "
                        "cluster holds most of PM-1-001, PM-1-002, PM-1-003; run pmkb problems to see the "
                        "clusters, then update or remove the entry"]
    # Without recorded members an entry follows the post-mortem of its id.
    short = problems.ProblemName(id="C-PM-1-005", name="Disk full")
    assigned, _ = problems.assign([["PM-1-004", "PM-1-005"], ["PM-1-001", "PM-1-002"]], [short])
    assert assigned == [("C-PM-1-005", short), ("C-PM-1-001", None)]
    # An id held by an entry elsewhere is not given to another cluster.
    assigned, _ = problems.assign([["PM-1-001", "PM-1-007"], ["PM-1-002", "PM-1-003"]], [named])
    assert assigned == [("C-PM-1-007", None), ("C-PM-1-001", named)]


def test_two_named_problems_merging_keep_the_one_with_more_members():
    a = problems.ProblemName(id="C-PM-1-001", name="A", members=("PM-1-001", "PM-1-002", "PM-1-003"), line=1)
    b = problems.ProblemName(id="C-PM-1-004", name="B", members=("PM-1-004", "PM-1-005"), line=4)
    assigned, warnings = problems.assign([["PM-1-001", "PM-1-002", "PM-1-003", "PM-1-004", "PM-1-005"]], [b, a])
    assert assigned == [("C-PM-1-001", a)]
    assert warnings[0].startswith("problems.yml:4: C-PM-1-004 (B) merged into C-PM-1-001 (A)")


def write_project(tmp_path: Path, names: str | None) -> Path:
    docs = tmp_path / "postmortems"
    docs.mkdir()
    for md in (FIXTURES / "corpus").glob("*.md"):
        (docs / md.name).write_text(md.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\ndocs_dir: postmortems\nplugins:\n  - postmortems\n",
                                         encoding="utf-8")
    if names is not None:
        (tmp_path / "problems.yml").write_text(names, encoding="utf-8")
    return tmp_path


def test_a_hand_given_name_is_shown_and_survives_the_earliest_member_leaving(tmp_path, monkeypatch):
    from generator.cli import cli as main

    project = write_project(tmp_path, "C-PM-2024-001:\n  name: Certificate expiry\n  owner: edge-team\n")
    monkeypatch.chdir(project)
    runner = CliRunner()
    done = runner.invoke(main, ["problems", "--write"])
    assert done.exit_code == 0, done.output
    text = (project / "problems.yml").read_text(encoding="utf-8")
    assert text == ("C-PM-2024-001:\n  name: Certificate expiry\n  owner: edge-team\n"
                    "  members: [PM-2024-001, PM-2024-004, PM-2024-007]\n\n"
                    "C-PM-2024-002:\n  # generated label: disk filled, log rotation\n"
                    "  members: [PM-2024-002, PM-2024-005]\n")
    assert "C-PM-2024-001  Certificate expiry  owner: edge-team  [3 incidents; members recorded]" in done.output
    # The earliest certificate incident leaves the knowledge base: two of three stay.
    next(project.glob("postmortems/*.md")).parent.joinpath(
        next(p.name for p in (project / "postmortems").glob("*.md") if "id: PM-2024-001" in p.read_text())).unlink()
    done = runner.invoke(main, ["clusters", "--format", "json"])
    assert done.exit_code == 0, done.output
    import json

    first = json.loads(done.output[done.output.index("{"):])["clusters"][0]
    assert (first["id"], first["label"], first["name"], first["owner"], first["members"]) == (
        "C-PM-2024-001", "Certificate expiry", "Certificate expiry", "edge-team", ["PM-2024-004", "PM-2024-007"])
    # Validation now warns that a recorded member left.
    done = runner.invoke(main, ["validate"])
    assert ("problems.yml:1: warning problems-members C-PM-2024-001.members: C-PM-2024-001: PM-2024-001 not in "
            "the knowledge base (left, or renamed) (run pmkb problems --write to record the current members)"
            ) in done.output, done.output


def test_validate_reports_a_broken_problems_file(tmp_path, monkeypatch):
    from generator.cli import cli as main

    project = write_project(tmp_path, "C-PM-2024-001:\n  name: [not, text]\n")
    monkeypatch.chdir(project)
    done = CliRunner().invoke(main, ["validate"])
    assert done.exit_code == 1
    assert "problems.yml:2: error problems-name C-PM-2024-001.name: C-PM-2024-001: 'name' must be non-empty text" \
        in done.output, done.output


def test_without_a_config_file_no_names_are_read():
    assert Settings().problems_path() is None
    result = analyse(load(FIXTURES / "corpus"), Settings())
    assert [c.id for c in result.clusters] == ["C-PM-2024-001", "C-PM-2024-002"]
    assert all(c.name == "" and c.label == c.generated_label for c in result.clusters)
    assert dataclasses.fields(result.clusters[0])


def test_the_problems_file_is_read_only_when_it_is_a_regular_utf8_file_within_its_size(tmp_path):
    """One open of the file decides (no check-then-read): each refusal is one problems-yaml error,
    never an exception and never a blocked read."""
    import os

    good = tmp_path / "good.yml"
    good.write_text("C-PM-2024-001:\n  name: Certificate expiry\n  members: [PM-2024-001]\n", encoding="utf-8")
    entries, faults = problems.load(good, "good.yml")
    assert [(e.id, e.name) for e in entries] == [("C-PM-2024-001", "Certificate expiry")] and faults == []

    assert problems.load(tmp_path / "missing.yml") == ([], [])

    link = tmp_path / "link.yml"
    link.symlink_to(good)
    fifo = tmp_path / "fifo.yml"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.yml"
    folder.mkdir()
    big = tmp_path / "big.yml"
    big.write_text("#" * 101, encoding="utf-8")
    latin = tmp_path / "latin.yml"
    latin.write_bytes(b"C-PM-2024-001:\n  name: Caf\xe9\n")
    seen = {}
    for path in (link, fifo, folder, big, latin):
        entries, faults = problems.load(path, path.name, max_bytes=100)
        assert entries == [] and [f.code for f in faults] == ["problems-yaml"], path.name
        seen[path.name] = faults[0].message
    assert seen["link.yml"] == "the problems file is a symbolic link"
    assert seen["fifo.yml"] == "the problems file is not a regular file"
    assert seen["folder.yml"] == "the problems file is not a regular file"
    assert seen["big.yml"] == "the problems file is larger than 100 bytes"
    assert seen["latin.yml"].startswith("cannot read the problems file: 'utf-8' codec can't decode byte 0xe9")
