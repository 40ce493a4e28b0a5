"""``pmkb import``: each kind into a fresh knowledge base, re-runs, and hostile sources.

Fixtures (``tests/fixtures/import``), written for these tests from the documented shapes:
``archive/`` (the public post-mortem archive's front matter, a template), ``headings/``
(Markdown with headings only: a dated file name, a ``PM2019-009`` name with a ``Date:`` line,
a note without any date), ``exports/`` (incident.io, FireHydrant, Rootly and Jira API JSON, an
Opsgenie JSON Lines file with one broken line, a Jira CSV export, a spreadsheet CSV).
``SOURCE_DATE_EPOCH`` fixes ``imported_at``; ``expected/`` holds whole files as written
(``PMKB_UPDATE_GOLDEN=1`` rewrites them).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from generator.cli import cli

from .conftest import TESTS

FIXTURES = TESTS / "fixtures" / "import"
EXPECTED = FIXTURES / "expected"
EPOCH = "1764547200"  # 2025-12-01T00:00:00Z
ARCHIVE_DNS = "2019-05-02-example-cloud-services-unreachable-after-nameserver-change.md"


@pytest.fixture
def kb(tmp_path, monkeypatch):
    """A fresh knowledge base: mkdocs.yml and an empty postmortems/ folder; cwd is the project."""
    (tmp_path / "postmortems").mkdir()
    (tmp_path / "mkdocs.yml").write_text("site_name: t\ndocs_dir: postmortems\nplugins:\n  - postmortems\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return tmp_path


def run(runner, *args):
    result = runner.invoke(cli, ["import", *map(str, args)])
    assert "Traceback" not in result.output, result.output
    return result


def docs(kb) -> list[str]:
    return sorted(p.name for p in (kb / "postmortems").glob("*.md"))


def copy_fixture(tmp_path, name) -> Path:
    dest = tmp_path / "src" / name
    shutil.copytree(FIXTURES / name, dest)
    return dest


def test_dry_run_is_the_default_and_writes_nothing(runner, kb):
    result = run(runner, FIXTURES / "archive", "--from", "md-frontmatter")
    assert result.exit_code == 1  # one record has no date at all
    lines = result.output.splitlines()
    assert lines[0] == "read 3 files as md-frontmatter: 3 records (preset postmortem-archive 3)"
    assert lines[-1] == ("dry run: 2 to create, 0 to update, 0 to skip, 0 conflicts, 1 invalid; nothing written "
                         "(add --write to write)")
    assert f"create   PM-2019-001  postmortems/{ARCHIVE_DNS}  <- {FIXTURES}/archive/" \
           "3f6c2a8e-1b0d-4c57-9a51-7d2e4b9c0a11.md" in lines
    assert f"passed over {FIXTURES}/archive/template.md: a template (the 'templates' option)" in lines
    assert docs(kb) == []


def test_archive_entries_become_v2_post_mortems(runner, kb):
    result = run(runner, FIXTURES / "archive", "--from", "md-frontmatter", "--write", "--exclude", "1c9d*")
    assert result.exit_code == 0, result.output
    assert docs(kb) == [ARCHIVE_DNS, "2020-11-27-checkout-errors-for-40-minutes-after-a-database-connection.md"]
    for name in docs(kb):
        golden(kb / "postmortems" / name)
    assert runner.invoke(cli, ["validate", "--strict"]).exit_code == 0


def golden(path: Path) -> None:
    expected = EXPECTED / path.name
    text = path.read_text(encoding="utf-8")
    if os.environ.get("PMKB_UPDATE_GOLDEN") == "1":
        EXPECTED.mkdir(exist_ok=True)
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")


def test_start_day_is_read_in_the_source_offset(runner, kb):
    run(runner, FIXTURES / "archive", "--from", "md-frontmatter", "--write")
    text = (kb / "postmortems" / "2020-11-27-checkout-errors-for-40-minutes-after-a-database-connection.md").read_text()
    assert "date: 2020-11-27\n" in text and "started_at: 2020-11-27T09:05:00-08:00\n" in text
    run(runner, FIXTURES / "exports" / "incident-io.json", "--from", "json", "--write")
    admin = (kb / "postmortems" / "2024-03-01-internal-admin-tool-slow-for-support-agents.md").read_text()
    assert "date: 2024-03-01\n" in admin and "started_at: 2024-03-01T23:10:00-05:00\n" in admin  # 04:10 UTC on the 2nd


@pytest.mark.parametrize("source, kind, names", [
    ("headings", "md-headings", ["2018-03-14-search-outage-on-14-march.md", "2019-09-03-incident-report-queue-backlog.md",
                                 "2021-03-31-single-sign-on-down-after-signing-certificate-expired.md",
                                 "2022-06-14-nodes-not-ready-after-image-update.md"]),
    ("exports", "json", ["2022-05-17-webhook-deliveries-delayed-by-two-hours.md",
                         "2023-09-12-object-uploads-failing-in-eu-west.md", "2023-09-14-login-page-slow.md",
                         "2023-09-19-mobile-app-crashes-on-launch-for-ios-17-users.md",
                         "2024-02-06-payments-api-timing-out-for-card-payments.md",
                         "2024-03-01-internal-admin-tool-slow-for-support-agents.md"]),
    ("exports", "jsonl", ["2021-01-12-nightly-export-job-failed-for-three-nights.md",
                          "2021-01-15-elevated-5xx-on-api-gateway.md"]),
    ("exports", "csv", ["2021-04-02-nightly-backup-did-not-run.md", "2022-11-03-report-generation-stuck-for-eu-customers.md",
                        "2022-11-05-single-sign-on-failed-for-one-customer.md"]),
])
def test_every_kind_imports_files_that_validate_strict(runner, kb, source, kind, names):
    result = run(runner, FIXTURES / source, "--from", kind, "--write", "--timezone", "UTC")
    assert docs(kb) == names, result.output
    check = runner.invoke(cli, ["validate", "--strict"])
    assert (check.exit_code, check.output) == (0, f"{len(names)} file{'s' * (len(names) != 1)} checked: no problems\n")


def test_incident_tool_presets_map_their_fields(runner, kb):
    result = run(runner, FIXTURES / "exports", "--from", "json", "--format", "json")
    data = json.loads(result.output)
    assert data["presets"] == {"firehydrant": 2, "incident-io": 3, "jira": 1, "rootly": 2}
    assert data["counts"] == {"create": 6, "update": 0, "skip": 0, "conflict": 0, "invalid": 0, "excluded": 2}
    assert [(a["action"], a["reason"]) for a in data["actions"] if a["action"] == "excluded"] == [
        ("excluded", "declined in incident.io (not an incident)"), ("excluded", "a test incident in Rootly")]
    assert data["unmapped_fields"] == {"channel_name": 1, "environments": 1, "custom field 'Customer tier'": 1,
                                       "call_url": 1}
    run(runner, FIXTURES / "exports", "--from", "json", "--write")
    payments = (kb / "postmortems" / "2024-02-06-payments-api-timing-out-for-card-payments.md").read_text()
    for line in ("severity: SEV2", "status: in-review", "services: [payments-api, fraud-scoring]",
                 "authors: [Priya Natarajan]", "started_at: 2024-02-06T14:05:00Z", "detected_at: 2024-02-06T14:21:00Z",
                 "mitigated_at: 2024-02-06T14:55:00Z", "resolved_at: 2024-02-06T16:10:00Z",
                 "root_cause: Synchronous calls to a slow dependency with no timeout held every worker thread",
                 "  system: incident-io", "  id: 01HQ3ZK8N4W5X6Y7Z8A9B0C1D2",
                 "  url: https://app.incident.io/example/incidents/118", "  imported_at: 2025-12-01T00:00:00Z"):
        assert line + "\n" in payments
    assert "priya@example.test" not in payments and "incident.io" not in payments.split("## Sources")[0].split("---")[2]
    admin = (kb / "postmortems" / "2024-03-01-internal-admin-tool-slow-for-support-agents.md").read_text()
    assert "visibility: internal\n" in admin and "severity: SEV4\n" in admin
    uploads = (kb / "postmortems" / "2023-09-12-object-uploads-failing-in-eu-west.md").read_text()
    assert "status: in-review\n" in uploads and "mitigated_at: 2023-09-12T07:05:00Z\n" in uploads
    assert "## Impact\n\nAbout 18% of uploads failed for 35 minutes" in uploads
    login = (kb / "postmortems" / "2023-09-14-login-page-slow.md").read_text()
    assert "status: draft\n" in login  # still being investigated in FireHydrant
    ios = (kb / "postmortems" / "2023-09-19-mobile-app-crashes-on-launch-for-ios-17-users.md").read_text()
    assert "severity: SEV1\n" in ios and "url: https://example.atlassian.net/browse/INC-31\n" in ios
    assert "started_at: 2023-09-19T07:12:44+02:00\n" in ios


def test_severity_map_and_default_severity(runner, kb):
    result = run(runner, FIXTURES / "exports" / "opsgenie.jsonl", "--from", "jsonl", "--write",
                 "--severity-map", "P1=SEV2,P3=SEV4")
    assert result.exit_code == 0
    text = {n: (kb / "postmortems" / n).read_text() for n in docs(kb)}
    assert "severity: SEV4\n" in text["2021-01-12-nightly-export-job-failed-for-three-nights.md"]
    assert "severity: SEV2\n" in text["2021-01-15-elevated-5xx-on-api-gateway.md"]
    bad = run(runner, FIXTURES / "exports" / "opsgenie.jsonl", "--from", "jsonl", "--severity-map", "P1=critical")
    assert bad.exit_code == 2 and "'critical' is not a severity (SEV1, SEV2, SEV3, SEV4)" in bad.output


def test_summary_of_unmapped_fields_defaults_and_timestamps(runner, kb):
    result = run(runner, FIXTURES / "exports", "--from", "csv")
    lines = result.output.splitlines()
    assert "1 record: no affected service: 'unspecified' (--default-service)" not in lines
    assert "2 timestamps without a UTC offset: only the day kept (--timezone TZ reads them)" in lines
    assert result.exit_code == 0


def test_import_twice_changes_nothing(runner, kb):
    run(runner, FIXTURES / "exports", "--from", "json", "--write")
    before = {n: (kb / "postmortems" / n).read_bytes() for n in docs(kb)}
    ledger = (kb / "postmortems" / ".pmkb-import.json").read_bytes()
    again = run(runner, FIXTURES / "exports", "--from", "json", "--write")
    assert again.exit_code == 0
    assert again.output.splitlines()[-1] == ("wrote 0 new and 0 updated post-mortems into postmortems (0 to create, "
                                             "0 to update, 6 to skip, 0 conflicts, 0 invalid, 2 excluded)")
    assert {n: (kb / "postmortems" / n).read_bytes() for n in docs(kb)} == before
    assert (kb / "postmortems" / ".pmkb-import.json").read_bytes() == ledger


def test_upstream_edit_updates_in_place_local_edit_is_a_conflict(runner, kb, tmp_path, monkeypatch):
    src = copy_fixture(tmp_path, "exports") / "incident-io.json"
    run(runner, src, "--from", "json", "--write")
    name = "2024-02-06-payments-api-timing-out-for-card-payments.md"
    target = kb / "postmortems" / name
    # upstream edit, file untouched here: update, same id and file name, new imported_at
    src.write_text(src.read_text().replace("for about 50 minutes", "for 50 minutes"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(EPOCH) + 86400))
    result = run(runner, src, "--from", "json", "--write")
    assert f"update   PM-2024-001  postmortems/{name}  <- {src}#1" in result.output.splitlines()
    text = target.read_text()
    assert "id: PM-2024-001\n" in text and "failed for 50 minutes" in text and "imported_at: 2025-12-02T00:00:00Z" in text
    assert docs(kb).count(name) == 1 and len(docs(kb)) == 2
    # local edit, upstream unchanged: skipped, edits kept
    target.write_text(text.replace("## Summary\n", "## Summary\n\nEdited by the payments team.\n"))
    kept = run(runner, src, "--from", "json", "--write")
    assert "(unchanged upstream; edited here, edits kept)" in kept.output
    # local edit and upstream edit: conflict, never overwritten
    src.write_text(src.read_text().replace("for 50 minutes", "for 51 minutes"))
    conflict = run(runner, src, "--from", "json", "--write")
    assert conflict.exit_code == 1
    assert (f"conflict PM-2024-001  {name} was edited here since the last import, and the source changed "
            f"(--force overwrites it)  <- {src}#1") in conflict.output.splitlines()
    assert "Edited by the payments team." in target.read_text()
    forced = run(runner, src, "--from", "json", "--write", "--force")
    assert forced.exit_code == 0 and "failed for 51 minutes" in target.read_text()
    assert "Edited by the payments team." not in target.read_text()


def test_a_file_deleted_here_is_not_recreated_and_its_id_is_never_reused(runner, kb, tmp_path):
    src = copy_fixture(tmp_path, "exports") / "incident-io.json"
    run(runner, src, "--from", "json", "--write")
    (kb / "postmortems" / "2024-03-01-internal-admin-tool-slow-for-support-agents.md").unlink()
    again = run(runner, src, "--from", "json", "--write")
    assert "(unchanged upstream; deleted here, not re-created (--force re-creates it))" in again.output
    data = json.loads(src.read_text())
    new = dict(data["incidents"][2], id="01HQ9NEW0000000000000000Z9", name="Admin tool slow again")
    data["incidents"].append(new)
    src.write_text(json.dumps(data))
    third = run(runner, src, "--from", "json", "--write")
    assert "create   PM-2024-003  postmortems/2024-03-01-admin-tool-slow-again.md" in third.output  # not PM-2024-002
    assert "PM-2024-002" in json.loads((kb / "postmortems" / ".pmkb-import.json").read_text())["ids"]


def test_a_matching_file_without_ledger_is_adopted_not_duplicated(runner, kb):
    run(runner, FIXTURES / "exports" / "jira.json", "--from", "json", "--write")
    (kb / "postmortems" / ".pmkb-import.json").unlink()
    again = run(runner, FIXTURES / "exports" / "jira.json", "--from", "json", "--write")
    assert "(unchanged)" in again.output and len(docs(kb)) == 1
    assert (kb / "postmortems" / ".pmkb-import.json").exists()


def test_md_headings_sections_dates_and_metadata(runner, kb):
    result = run(runner, FIXTURES / "headings", "--from", "md-headings", "--write")
    assert (f"invalid  {FIXTURES}/headings/notes-without-a-date.md: no start date: give started_at or date in the "
            "source, a date in the file name (YYYY-MM-DD-...), or a 'Date: YYYY-MM-DD' line") in result.output
    search = (kb / "postmortems" / "2018-03-14-search-outage-on-14-march.md").read_text()
    for line in ("status: final", "severity: SEV2", "services: [search-api, indexer]", "authors: [Dana Lee]",
                 "started_at: 2018-03-14T10:02:00Z", "  id: 2018-03-14-search-outage.md"):
        assert line + "\n" in search
    headings = [line for line in search.splitlines() if line.startswith("#")]
    assert headings == ["## Summary", "## Impact", "## Timeline", "## Root cause", "## Action items",
                        "## Lessons learned", "### What went well"]
    queue = (kb / "postmortems" / "2019-09-03-incident-report-queue-backlog.md").read_text()
    assert "title: 'Incident report: queue backlog'\n" in queue and "services: [billing-worker]\n" in queue
    # "# Incident Title" over the real title, times "in CET", a Stats section, a name with spaces
    sso = (kb / "postmortems" / "2021-03-31-single-sign-on-down-after-signing-certificate-expired.md").read_text()
    for line in ("title: Single sign-on down after signing certificate expired", "started_at: 2021-03-31T13:11:00+01:00",
                 "tags: [authentication]", "  id: PM2021-004 - Signing certificate expired.md", "## Contributing Factors"):
        assert line + "\n" in sso
    assert "Time to detection" not in sso
    assert f"passed over {FIXTURES}/headings/PMyyyy-nnn - Postmortem template.md: a template (the 'templates' " \
           "option)" in result.output
    assert "2022-06-14-nodes-not-ready-after-image-update.md" in docs(kb)  # a file saved without .md


def test_map_file_maps_a_spreadsheet(runner, kb, tmp_path):
    mapping = tmp_path / "map.yml"
    mapping.write_text("system: ops-sheet\nfields:\n  Incident: title\n  Affected Service: {to: services, split: ','}\n"
                       "  What happened: {to: section, section: What happened}\nconstants:\n  tags: [backups]\n")
    result = run(runner, FIXTURES / "exports" / "spreadsheet.csv", "--from", "csv", "--map", mapping, "--write")
    assert result.exit_code == 0, result.output
    text = (kb / "postmortems" / "2021-04-02-nightly-backup-did-not-run.md").read_text()
    assert "tags: [backups]\n" in text and "  system: ops-sheet\n" in text and "## What happened\n" in text
    mapping.write_text("fields:\n  Incident: titel\n")
    bad = run(runner, FIXTURES / "exports" / "spreadsheet.csv", "--from", "csv", "--map", mapping)
    assert bad.exit_code == 2 and "'titel' is not a field of ours" in bad.output and "did you mean 'title'?" in bad.output


def test_nothing_found_is_an_error_that_says_where_it_looked(runner, kb, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    result = run(runner, empty, "--from", "json")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (f"error: no post-mortem found: looked for json files in {empty} "
                                              "(0 read, 0 unreadable, 0 passed over)")


# --- hostile sources ------------------------------------------------------------------------

def test_links_and_special_files_in_the_source_are_not_followed(runner, kb, tmp_path):
    src = copy_fixture(tmp_path, "archive")
    outside = tmp_path / "secret.md"
    outside.write_text((FIXTURES / "archive" / "8b1e0f4d-55aa-4c1e-8d3f-2a9c7e6b5d22.md").read_text())
    (src / "link.md").symlink_to(outside)
    (src / "linked-dir").symlink_to(tmp_path / "src", target_is_directory=True)
    os.mkfifo(src / "pipe.md")
    result = run(runner, src, "--from", "md-frontmatter")
    lines = result.output.splitlines()
    assert f"passed over {src}/link.md: a symbolic link (links are not followed)" in lines
    assert f"passed over {src}/linked-dir: a symbolic link to a folder (links are not followed)" in lines
    assert f"passed over {src}/pipe.md: not a regular file" in lines
    assert lines[0] == "read 3 files as md-frontmatter: 3 records (preset postmortem-archive 3)"


def test_hostile_content_is_refused_with_a_reason(runner, kb, tmp_path):
    src = tmp_path / "bad"
    src.mkdir()
    (src / "alias.md").write_text("---\na: &x [1]\nb: *x\ntitle: t\n---\n")
    (src / "latin1.md").write_bytes("---\ntitle: caf\xe9\n---\n".encode("latin-1"))
    deep = "[" * 100000 + "]" * 100000
    (src / "deep.json").write_text(deep)
    (src / "nan.json").write_text('{"name": "x", "started_at": NaN}')
    script = {"name": "Checkout down <script>alert(1)</script>", "summary": "x", "created_at": "2024-01-02T03:04:05Z",
              "incident_status": {"category": "closed"}, "severity": {"name": "SEV1"}}
    token = {"name": "Token leaked", "summary": "the key AKIAIOSFODNN7EXAMPLE was pasted in chat",
             "created_at": "2024-01-03T03:04:05Z", "incident_status": {"category": "closed"}}
    (src / "incidents.json").write_text(json.dumps({"incidents": [script, token]}))
    md = run(runner, src, "--from", "md-frontmatter")
    assert f"could not read {src}/alias.md: front matter cannot be read: anchors and aliases are not allowed in " \
           "post-mortem front matter (found 'x') (line 2)" in md.output
    assert f"could not read {src}/latin1.md: not UTF-8 (byte 0xe9 on line 2); save it as UTF-8" in md.output
    js = run(runner, src, "--from", "json", "--write")
    assert f"could not read {src}/deep.json: JSON nested too deeply to read" in js.output
    assert f"could not read {src}/nan.json: not JSON: NaN is not JSON" in js.output
    assert f"invalid  {src}/incidents.json#1: would not pass pmkb validate --strict" in js.output
    assert "unsafe-html" in js.output and "secret" in js.output
    assert "AKIAIOSFODNN7EXAMPLE" not in js.output
    assert docs(kb) == [] and js.exit_code == 1


def test_never_writes_through_a_link(runner, kb, tmp_path):
    run(runner, FIXTURES / "exports" / "jira.json", "--from", "json", "--write")
    name = "2023-09-19-mobile-app-crashes-on-launch-for-ios-17-users.md"
    target = kb / "postmortems" / name
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    target.unlink()
    target.symlink_to(victim)
    src = tmp_path / "jira.json"
    src.write_text((FIXTURES / "exports" / "jira.json").read_text().replace("Crash reports", "Crashes"))
    result = run(runner, src, "--from", "json", "--write", "--force")
    assert f"conflict PM-2023-001  {name} is not a regular file (a link?); it is never written through" in result.output
    assert victim.read_text() == "do not touch" and target.is_symlink()


def test_a_docs_folder_reached_through_a_link_is_the_knowledge_base(runner, kb, tmp_path):
    """The folder mkdocs.yml names may itself be a link (inventory's rule: the corpus root is
    resolved once): pmkb import writes into the folder it resolves to, as validate reads it."""
    real = tmp_path / "elsewhere" / "kb"
    real.mkdir(parents=True)
    (kb / "postmortems").rmdir()
    (kb / "postmortems").symlink_to(real, target_is_directory=True)
    result = run(runner, FIXTURES / "archive", "--from", "md-frontmatter", "--write", "--exclude", "1c9d*")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in real.glob("*.md")) == [
        ARCHIVE_DNS, "2020-11-27-checkout-errors-for-40-minutes-after-a-database-connection.md"]
    assert (kb / "postmortems").is_symlink() and (real / ".pmkb-import.json").is_file()
    assert runner.invoke(cli, ["validate"]).output.splitlines()[-1] == "2 files checked: no problems"


def test_a_docs_folder_swapped_for_a_link_after_the_plan_is_refused(kb, tmp_path):
    from generator.importers.sync import ImportError_, ImportOptions, check_docs_folder, plan_import, write_plan
    from generator.settings import load_settings

    plan = plan_import([FIXTURES / "archive"], load_settings(kb / "mkdocs.yml"),
                       ImportOptions(kind="md-frontmatter", exclude=["1c9d*"]))
    assert check_docs_folder(kb / "postmortems") == plan.docs == (kb / "postmortems").resolve()
    moved = tmp_path / "moved"
    (kb / "postmortems").rename(moved)
    (kb / "postmortems").symlink_to(moved, target_is_directory=True)
    with pytest.raises(ImportError_, match="became a symbolic link .* after it was read; nothing was written"):
        write_plan(plan)
    assert list(moved.glob("*.md")) == []


def test_an_imported_second_write_up_is_flagged_as_a_possible_same_incident(runner, kb):
    base = TESTS / "fixtures" / "same_incident" / "base"
    for file in base.glob("*.md"):
        shutil.copy(file, kb / "postmortems" / file.name)
    second = TESTS / "fixtures" / "same_incident" / "change" / "2017-02-28-storage-requests-failing-us-east.md"
    result = run(runner, second, "--from", "md-frontmatter", "--prefix", "IMP")
    assert ("possible same incident: IMP-2017-001 and PM-2017-004 (2017-02-28-object-store-index-servers-removed-by-"
            "typo.md): same start day 2017-02-28, shared services object-storage; score 0.41 >= 0.40") in result.output


def test_help_names_the_kinds_and_the_safety_rules(runner):
    result = runner.invoke(cli, ["import", "--help"])
    assert result.exit_code == 0
    for text in ("md-frontmatter", "md-headings", "--severity-map", "--dry-run", "--force", "validate --strict"):
        assert text in result.output


@pytest.mark.slow
def test_imported_knowledge_base_builds_strict_with_related_links(tmp_path):
    import subprocess
    import sys

    from .sitebuild import make_project, run_build

    empty = tmp_path / "empty"
    empty.mkdir()
    project = make_project(tmp_path / "p", corpus=empty, plugin_options="      semantic: \"off\"\n")  # TF-IDF links
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    for source, kind in (("archive", "md-frontmatter"), ("headings", "md-headings"), ("exports", "json"),
                         ("exports", "jsonl"), ("exports", "csv")):
        subprocess.run([sys.executable, "-m", "generator.cli", "import", str(FIXTURES / source), "--from", kind,
                        "--write", "--timezone", "UTC"], cwd=project, env=env, capture_output=True, text=True)
    names = sorted(p.name for p in (project / "postmortems").glob("*.md"))
    assert len(names) == 17
    done = run_build(project, tmp_path / "site")
    assert done.returncode == 0, done.stderr
    import re

    site = tmp_path / "site"
    page = (site / "2022-11-03-report-generation-stuck-for-eu-customers" / "index.html").read_text()
    related = page.split('id="related-incidents"', 1)[1].split("</ul>", 1)[0]
    targets = re.findall(r'<a href="\.\./([^"]+)/">', related)
    # the other stuck-queue incident, imported from the Rootly export
    assert targets == ["2022-05-17-webhook-deliveries-delayed-by-two-hours"]
    assert all((site / t / "index.html").is_file() for t in targets)
    assert "incident.io" not in (site / "2024-02-06-payments-api-timing-out-for-card-payments" / "index.html").read_text(
        ).split('<article', 1)[1].split('id="related-incidents"', 1)[0].split("</table>", 1)[-1]


JIRA_HEADER = ("Summary,Issue key,Issue id,Issue Type,Status,Priority,Resolution,Assignee,Reporter,Created,Resolved,"
               "Component/s,Labels,Description\n")


def test_records_a_source_marks_as_not_incidents_are_excluded_for_every_preset(runner, kb, tmp_path):
    """Finding #4: a canceled / Won't Do / test-labelled record is ``excluded`` with its reason,
    by status, resolution, label or title, whichever preset (or none) read it; Won't Fix and
    Cannot Reproduce are real incidents."""
    jira = tmp_path / "jira.csv"
    jira.write_text(JIRA_HEADER + (
        "Test incident please ignore,INC-103,10103,Incident,Canceled,Low,Won't Do,,Bob Ray,20/Jun/25 10:00 AM,,,test,x\n"
        "Queue stalled,INC-104,10104,Incident,Done,High,Won't Do,,Bob Ray,21/Jun/25 10:00 AM,,queue,,x\n"
        "Queue stalled again,INC-105,10105,Incident,Closed,High,Duplicate,,Bob Ray,21/Jun/25 11:00 AM,,queue,,x\n"
        "Login slow,INC-106,10106,Incident,Resolved,High,Done,,Bob Ray,22/Jun/25 10:00 AM,,auth,test,x\n"
        "[TEST] paging drill,INC-107,10107,Incident,Resolved,Low,Done,,Bob Ray,23/Jun/25 10:00 AM,,pager,,x\n"
        "Cache evictions after resize,INC-108,10108,Incident,Resolved,High,Won't Fix,,Bob Ray,"
        "24/Jun/25 10:00 AM,,cache,load-testing,x\n"))
    result = run(runner, jira, "--from", "csv")
    lines = result.output.splitlines()
    assert [line for line in lines if line.startswith(("excluded", "create"))] == [
        f"excluded {jira}:2: canceled in Jira (not an incident)",
        f"excluded {jira}:3: resolved as Won't Do in Jira (not an incident)",
        f"excluded {jira}:4: resolved as Duplicate in Jira (not an incident)",
        f"excluded {jira}:5: labelled 'test' in Jira (not an incident)",
        f"excluded {jira}:6: titled as a test in Jira (not an incident)",
        f"create   PM-2025-001  postmortems/2025-06-24-cache-evictions-after-resize.md  <- {jira}:7",
    ]
    tools = tmp_path / "tools.jsonl"
    tools.write_text("\n".join(json.dumps(r) for r in [
        {"id": "o1", "tinyId": "1", "message": "Disk alert on db-3", "status": "closed", "priority": "P3",
         "tags": ["false-alarm"], "createdAt": "2021-01-14T02:10:00Z"},
        {"id": "f1", "name": "Checkout errors", "current_milestone": "resolved", "incident_url": "https://x.test/f1",
         "tag_list": ["Test"], "started_at": "2023-09-12T06:30:00Z"},
        {"key": "OPS-9", "id": "9", "fields": {"summary": "API down", "created": "2023-01-02T10:00:00.000+0000",
                                               "status": {"name": "Closed"}, "resolution": {"name": "Declined"}}},
        {"title": "Search outage", "start_time": "2022-02-02T10:00:00Z", "status": "Cancelled", "services": "search"},
    ]) + "\n")
    result = run(runner, tools, "--from", "jsonl")
    assert [line for line in result.output.splitlines() if line.startswith("excluded")] == [
        f"excluded {tools}:1: labelled 'false-alarm' in Opsgenie (not an incident)",
        f"excluded {tools}:2: labelled 'test' in FireHydrant (not an incident)",
        f"excluded {tools}:3: resolved as Declined in Jira (not an incident)",
        f"excluded {tools}:4: cancelled in the source (not an incident)",
    ]
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("Incident,Start Time,Service,Resolution\nCron did not run,2021-04-02 01:00,backups,Won't Do\n"
                     "Cron ran twice,2021-04-03 01:00,backups,Fixed\n")
    result = run(runner, sheet, "--from", "csv")
    lines = result.output.splitlines()
    assert f"excluded {sheet}:2: resolved as Won't Do in the source (not an incident)" in lines
    assert f"create   PM-2021-001  postmortems/2021-04-03-cron-ran-twice.md  <- {sheet}:3" in lines


def test_an_impossible_date_names_its_field_and_value_and_a_record_its_first_line(runner, kb, tmp_path):
    """Finding #5: ``31/Feb/25`` is not reported as a missing date; a record whose quoted cell
    spans lines is named by the line it starts on."""
    jira = tmp_path / "jira.csv"
    jira.write_text(JIRA_HEADER + (
        'Checkout down,INC-101,10101,Incident,Resolved,Highest,Done,,Bob Ray,02/May/25 11:23 AM,,checkout,,"A bad push.\n'
        'Root cause: a missing default."\n'
        "Search slow,INC-102,10102,Incident,Resolved,Medium,Done,,Cara Xu,31/Feb/25 10:00 AM,,search,,x\n"
        "Login slow,INC-103,10103,Incident,Resolved,Medium,Done,,Cara Xu,2025-13-02T10:00:00Z,,auth,,x\n"
        "Cache cold,INC-104,10104,Incident,Resolved,Medium,Done,,Cara Xu,01/Mar/25 10:00 AM,01/Mar/25 25:00,cache,,x\n"
        "Queue slow,INC-105,10105,Incident,Resolved,Medium,Done,,Cara Xu,soon,,queue,,x\n"))
    result = run(runner, jira, "--from", "csv")
    lines = [line for line in result.output.splitlines() if line.startswith(("invalid", "create"))]
    assert lines == [
        f"create   PM-2025-001  postmortems/2025-05-02-checkout-down.md  <- {jira}:2",
        f"invalid  {jira}:4: Created '31/Feb/25 10:00 AM' is not a real date (February 2025 has 28 days): "
        "correct it in the source",
        f"invalid  {jira}:5: Created '2025-13-02T10:00:00Z' is not a real date (there is no month 13): "
        "correct it in the source",
        f"invalid  {jira}:6: Resolved '01/Mar/25 25:00' is not a real date (there is no hour 25): "
        "correct it in the source",
        f"invalid  {jira}:7: no start date: Created 'soon' is not a date or timestamp in a form this tool reads "
        "(ISO 8601, RFC 2822, Unix epoch seconds, Jira's 02/May/19 11:23 AM); give started_at or date in the source, "
        "a date in the file name (YYYY-MM-DD-...), or a 'Date: YYYY-MM-DD' line",
    ]
