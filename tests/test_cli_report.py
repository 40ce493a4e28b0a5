"""``pmkb report``: output shapes of md, json and csv, --since, --today and usage errors.

The figures themselves are checked in ``test_reports.py``; here the command runs end to end on
the fixture corpus (with the real TF-IDF clustering, whose clusters are not asserted).
"""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from generator.cli import cli

from .test_reports import FIXTURES

# The fixture corpus has one draft (2023-08-15-search-slow.md); the hand-computed figures in
# test_reports.py count it, so these runs include drafts.
ARGS = [str(FIXTURES), "--today", "2024-07-01", "--include-drafts"]


def test_markdown_is_the_default(runner):
    result = runner.invoke(cli, ["report", *ARGS])
    assert result.exit_code == 0, result.output
    out = result.stdout
    headings = [line for line in out.splitlines() if line.startswith("# ")]
    assert headings == ["# Recurring problems", "# Trends", "# Data quality", "# Action items"]
    assert "*As of 2024-07-01 (UTC).*" in out
    assert "**7 incidents from 2023-01-10 to 2024-05-10** (SEV1 3, SEV2 2, SEV3 1, SEV4 1)" in out
    assert "**8 action items**: **4 open** (**3 overdue**), 2 done, 2 won't do." in out
    assert "](" not in out                                  # no links, no charts outside the site
    assert "| **overdue 488 d** | 2023-03-01 | sre |" in out
    assert "**recurred after fix**" not in out  # a v1 corpus: no done_at, so no problem is known to have come back


def test_json(runner):
    result = runner.invoke(cli, ["report", "--format", "json", *ARGS])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"today", "since", "percentile_method", "ranking", "incidents", "severities", "clusters",
                         "per_quarter", "ttd", "ttr", "ttd_per_quarter", "ttr_per_quarter", "ttd_per_year",
                         "ttr_per_year", "services", "triggers", "data_quality", "action_items", "owners",
                         "warnings", "drafts_left_out"}
    assert data["drafts_left_out"] == 0                                  # --include-drafts
    assert data["today"] == "2024-07-01" and data["since"] is None
    assert data["incidents"] == 7
    assert data["ttd"]["all"] == {"n": 6, "median_seconds": 1200, "p90_seconds": 5400}
    assert data["per_quarter"][0] == {"quarter": "2023-Q1", "SEV1": 1, "SEV2": 1, "SEV3": 0, "SEV4": 0, "total": 2}
    assert [o["owner"] for o in data["owners"]] == ["sre", "platform", "search-team", "(no owner)"]
    for cluster in data["clusters"]:
        assert {"id", "label", "score", "count", "members", "intervals_days", "recurred_after_fix",
                "no_open_action_item"} <= set(cluster)


def test_since(runner):
    result = runner.invoke(cli, ["report", "--format", "json", "--since", "2024-01-01", *ARGS])
    data = json.loads(result.stdout)
    assert data["since"] == "2024-01-01"
    assert data["incidents"] == 3
    assert [r["postmortem"] for r in data["action_items"]] == ["PM-2024-003", "PM-2024-002", "PM-2024-001",
                                                               "PM-2024-001"]


def test_today_leaves_out_later_incidents_and_since_after_today_is_refused(runner):
    result = runner.invoke(cli, ["report", "--format", "json", str(FIXTURES), "--today", "2023-12-31",
                                 "--include-drafts"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["incidents"] == 4
    assert "note: 3 post-mortem(s) dated after 2023-12-31 left out" in result.stderr
    bad = runner.invoke(cli, ["report", str(FIXTURES), "--today", "2023-12-31", "--since", "2024-01-01"])
    assert bad.exit_code == 2
    assert "2024-01-01 is after --today 2023-12-31" in bad.output


@pytest.mark.parametrize("table, header", [
    ("clusters", "rank,id,label,score,incidents,sev1,sev2,sev3,sev4,first,last,days_since_last,intervals_days,"
                 "median_interval_days,impact_seconds,impact_known,open_items,overdue_items,done_items,"
                 "recurred_after_fix,recurred_after_fix_members,no_open_action_item,members,services"),
    ("quarters", "quarter,sev1,sev2,sev3,sev4,total"),
    ("ttd-quarter", "quarter,n,median_seconds,p90_seconds"),
    ("ttr-year", "year,n,median_seconds,p90_seconds"),
    ("services", "service,incidents"),
    ("triggers", "trigger,incidents"),
    ("owners", "owner,open,overdue,done,wont_do,total"),
    ("action-items", "postmortem,incident_date,severity,title,owner,status,due,ticket,age_days,overdue,"
                     "days_overdue,path"),
])
def test_csv_tables(runner, table, header):
    result = runner.invoke(cli, ["report", "--format", "csv", "--table", table, *ARGS])
    assert result.exit_code == 0, result.output
    lines = result.stdout_bytes.decode("utf-8").split("\r\n")      # RFC 4180 line ends (.stdout normalises)
    assert lines[0] == header
    assert lines[-1] == ""                                   # ends with a line break


def test_csv_action_items_values(runner):
    result = runner.invoke(cli, ["report", "--format", "csv", "--table", "action-items", *ARGS])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 8
    assert (rows[0]["postmortem"], rows[0]["overdue"], rows[0]["days_overdue"], rows[0]["age_days"]) == \
        ("PM-2023-001", "true", "488", "538")


def test_csv_quarters_keep_empty_quarters(runner):
    result = runner.invoke(cli, ["report", "--format", "csv", "--table", "quarters", *ARGS])
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[1:] == [["2023-Q1", "1", "1", "0", "0", "2"], ["2023-Q2", "1", "0", "0", "0", "1"],
                        ["2023-Q3", "0", "0", "1", "0", "1"], ["2023-Q4", "0", "0", "0", "0", "0"],
                        ["2024-Q1", "0", "1", "0", "1", "2"], ["2024-Q2", "1", "0", "0", "0", "1"]]


@pytest.mark.parametrize("args, message", [
    (["--today", "2024-13-01"], "there is no month 13"),
    (["--since", "yesterday"], "is not a date"),
    (["--format", "md", "--table", "owners"], "--table applies only to --format csv"),
    (["--format", "xml"], "Invalid value for '--format'"),
])
def test_usage_errors_exit_2(runner, args, message):
    result = runner.invoke(cli, ["report", str(FIXTURES), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_files_with_errors_are_left_out(runner, tmp_path):
    docs = tmp_path / "pm"
    shutil.copytree(FIXTURES, docs)
    broken = docs / "2023-08-15-search-slow.md"
    broken.write_text(broken.read_text().replace("severity: SEV3", "severity: SEV9"))
    result = runner.invoke(cli, ["report", "--format", "json", str(docs), "--today", "2024-07-01"])
    assert result.exit_code == 0
    assert "1 post-mortem(s) with validation errors left out" in result.stderr
    assert json.loads(result.stdout)["incidents"] == 6


def test_default_path_is_docs_dir(runner, tmp_path, monkeypatch):
    shutil.copytree(FIXTURES, tmp_path / "postmortems")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\ndocs_dir: postmortems\nplugins:\n  - postmortems\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["report", "--format", "json", "--today", "2024-07-01", "--include-drafts"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["incidents"] == 7


def test_drafts_are_left_out_by_default_as_on_the_site(runner, tmp_path, monkeypatch):
    # Outside the project: its problems.yml (whose recorded members include a shipped PM-2023-004)
    # names the shipped corpus' clusters, not this fixture's.
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["report", "--format", "json", str(FIXTURES), "--today", "2024-07-01"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["incidents"] == 6
    assert "PM-2023-004" not in result.stdout  # the draft's id


def test_empty_folder(runner, tmp_path):
    result = runner.invoke(cli, ["report", "--format", "json", str(tmp_path), "--today", "2024-07-01"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["incidents"] == 0 and data["clusters"] == []


def test_drafts_left_out_are_counted_and_named(runner):
    result = runner.invoke(cli, ["report", str(FIXTURES), "--today", "2024-07-01"])
    assert result.exit_code == 0, result.output
    scope = "*As of 2024-07-01 (UTC). 1 draft post-mortem left out: run with `--include-drafts` to count drafts.*"
    assert result.stdout.count(scope) == 4                                  # under each of the four headings
    assert "**6 incidents from 2023-01-10 to 2024-05-10**" in result.stdout
    assert "note: 1 draft post-mortem(s) left out (--include-drafts counts them)" in result.stderr
    data = json.loads(runner.invoke(cli, ["report", "--format", "json", str(FIXTURES), "--today", "2024-07-01"]).stdout)
    assert data["drafts_left_out"] == 1
    # a draft outside --since would not have been counted anyway
    since = runner.invoke(cli, ["report", "--format", "json", str(FIXTURES), "--today", "2024-07-01",
                                "--since", "2024-01-01"])
    assert json.loads(since.stdout)["drafts_left_out"] == 0 and "draft" not in since.stderr


def test_only_drafts_says_so_instead_of_just_no_incidents(runner, tmp_path):
    docs = tmp_path / "pm"
    shutil.copytree(FIXTURES, docs)
    for path in docs.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        for status in ("final", "in-review"):
            text = text.replace(f"\nstatus: {status}\n", "\nstatus: draft\n")
        path.write_text(text, encoding="utf-8")
    result = runner.invoke(cli, ["report", str(docs), "--today", "2024-07-01"])
    assert result.exit_code == 0, result.output
    assert "**no incidents (7 drafts left out)** (none)." in result.stdout            # the trends headline
    assert ("*As of 2024-07-01 (UTC). 7 draft post-mortems left out: run with `--include-drafts` to count "
            "drafts.*") in result.stdout
    assert "note: 7 draft post-mortem(s) left out (--include-drafts counts them)" in result.stderr
    included = runner.invoke(cli, ["report", "--format", "json", str(docs), "--today", "2024-07-01",
                                   "--include-drafts"])
    data = json.loads(included.stdout)
    assert data["incidents"] == 7 and data["drafts_left_out"] == 0


def test_csv_action_item_title_cannot_be_a_formula(runner, tmp_path):
    """OWASP "CSV Injection": text cells starting with = + - @ tab CR get a leading quote."""
    docs = tmp_path / "pm"
    shutil.copytree(FIXTURES, docs)
    path = docs / "2023-01-10-edge-certificate-expired.md"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "  - title: Alert before certificates expire\n",
        "  - title: '=HYPERLINK(\"http://evil.test\",\"x\")'\n"), encoding="utf-8")
    result = runner.invoke(cli, ["report", "--format", "csv", "--table", "action-items", str(docs),
                                 "--today", "2024-07-01", "--include-drafts"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert (rows[0]["title"], rows[0]["owner"], rows[0]["age_days"]) == \
        ("'=HYPERLINK(\"http://evil.test\",\"x\")", "sre", "538")
    assert '"\'=HYPERLINK(""http://evil.test"",""x"")",sre,open,' in result.stdout_bytes.decode("utf-8")


def test_include_drafts_with_today_latest_counts_a_draft_newer_than_every_published_incident(runner, tmp_path,
                                                                                             monkeypatch):
    """``today: latest`` is the latest date among the post-mortems the report counts: with
    --include-drafts a draft dated after every published incident moves it and is counted."""
    docs = tmp_path / "postmortems"
    shutil.copytree(FIXTURES, docs)
    draft = docs / "2023-08-15-search-slow.md"
    text = draft.read_text(encoding="utf-8")
    draft.unlink()
    (docs / "2024-06-20-search-slow.md").write_text(
        text.replace("id: PM-2023-004", "id: PM-2024-009").replace("date: 2023-08-15", "date: 2024-06-20"),
        encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\ndocs_dir: postmortems\nplugins:\n  - postmortems:\n"
                                         "      today: latest\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    included = runner.invoke(cli, ["report", "--format", "json", "--include-drafts"])
    assert included.exit_code == 0, included.output
    data = json.loads(included.stdout)
    assert data["incidents"] == 7 and data["today"] == "2024-06-20"
    assert "left out" not in included.stderr
    published_only = runner.invoke(cli, ["report", "--format", "json"])
    data = json.loads(published_only.stdout)
    assert data["incidents"] == 6 and data["today"] == "2024-05-10" and data["drafts_left_out"] == 0
