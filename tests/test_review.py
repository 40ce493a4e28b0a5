"""``pmkb review``: git plumbing, validation of the changed files, and the review itself.

Each test builds a real git repository in a temporary folder: a base commit on ``main`` with
eight post-mortems from ``tests/fixtures/review/base`` and a ``feature`` branch that adds a
duplicate write-up (PM-2013-003 of PM-2013-001), a recurrence (PM-2017-001), a broken file
(PM-2021-005: SEV0 and a timestamp without offset), changes one (PM-2019-001) and deletes one
(PM-2019-006). ``tests/fixtures/review/expected.md`` is the whole Markdown review of that
change; after a deliberate change to the similarity engine, regenerate it with
``PMKB_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_review.py`` and read the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.cli import cli
from generator.review import (
    DUPLICATE_THRESHOLD,
    Change,
    ReviewError,
    changed_postmortems,
    format_markdown,
    md_code,
    md_escape,
    resolve_base,
    review,
)
from generator.settings import Settings

from .conftest import TESTS

FIXTURES = TESTS / "fixtures" / "review"
EXPECTED = FIXTURES / "expected.md"
DUP = "2013-02-22-storage-endpoints-expired-certificates-https-down.md"
RECURRENCE = "2017-01-01-rrdns-panic-negative-duration.md"
BROKEN = "2021-09-30-legacy-clients-fail-after-root-ca-expiry.md"
CHANGED = "2019-02-04-email-api-shard-wraparound.md"
REMOVED = "2019-07-02-waf-rule-backtracking-global-cpu.md"
# Fixed identities and dates make the commits (and so their ids) the same on every run.
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z", "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    return subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
                          cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def make_repo(root: Path, fixtures: Path = FIXTURES, removed: str | None = REMOVED) -> Path:
    """The base commit on ``main`` (``fixtures/base``) and the change commit on ``feature``
    (``fixtures/change`` added, ``removed`` deleted), checked out."""
    root.mkdir()
    docs = root / "postmortems"
    docs.mkdir()
    git(root, "init", "-q")
    for file in sorted((fixtures / "base").glob("*.md")):
        shutil.copy(file, docs / file.name)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    for file in sorted((fixtures / "change").glob("*.md")):
        shutil.copy(file, docs / file.name)
    if removed:
        git(root, "rm", "-q", f"postmortems/{removed}")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "change")
    return root


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    root = make_repo(tmp_path / "repo")
    monkeypatch.chdir(root)
    return root


def settings_for(root: Path) -> Settings:
    # TF-IDF only, so the expected review is the same with or without the [semantic] extra
    # (the fused links are tested in test_semantic.py).
    return Settings(docs_dir=root / "postmortems", semantic="off")


# --- git plumbing ----------------------------------------------------------------------------


def test_changed_files_with_status(repo):
    base, note = resolve_base("main", repo)
    assert note is None
    assert base == git(repo, "rev-parse", "main").strip()
    assert changed_postmortems(base, repo, settings_for(repo)) == [
        Change("added", f"postmortems/{DUP}", DUP),
        Change("added", f"postmortems/{RECURRENCE}", RECURRENCE),
        Change("changed", f"postmortems/{CHANGED}", CHANGED),
        Change("removed", f"postmortems/{REMOVED}", REMOVED),
        Change("added", f"postmortems/{BROKEN}", BROKEN),
    ]


def test_renames_uncommitted_and_untracked_files_count_and_other_files_do_not(repo):
    base, _ = resolve_base("main", repo)
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "other")
    old = "2019-05-04-browser-extensions-disabled-signing-intermediate.md"
    git(repo, "mv", f"postmortems/{old}", "postmortems/2019-05-04-extensions-disabled.md")
    (repo / "postmortems" / "index.md").write_text("# Index\n")           # an ignored page
    (repo / "postmortems" / "notes.txt").write_text("not Markdown\n")
    (repo / "README.md").write_text("# outside the folder\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "rename")
    shutil.copy(FIXTURES / "change" / RECURRENCE, repo / "postmortems" / RECURRENCE)     # untracked
    path = repo / "postmortems" / "2015-07-20-postgres-stops-writes-to-prevent-wraparound.md"
    path.write_text(path.read_text().replace("SEV1", "SEV2"))                           # uncommitted
    assert changed_postmortems(base, repo, settings_for(repo)) == [
        Change("changed", "postmortems/2015-07-20-postgres-stops-writes-to-prevent-wraparound.md",
               "2015-07-20-postgres-stops-writes-to-prevent-wraparound.md"),
        Change("added", f"postmortems/{RECURRENCE}", RECURRENCE),
        Change("renamed", "postmortems/2019-05-04-extensions-disabled.md", "2019-05-04-extensions-disabled.md",
               f"postmortems/{old}", old),
    ]


def test_merge_base_ignores_what_landed_on_main_after_the_branch(repo):
    git(repo, "checkout", "-q", "main")
    shutil.copy(FIXTURES / "change" / RECURRENCE, repo / "postmortems" / RECURRENCE)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "main moves on")
    git(repo, "checkout", "-q", "feature")
    base, note = resolve_base("main", repo)
    assert base == git(repo, "rev-parse", "main~1").strip() and note is None
    paths = [c.relpath for c in changed_postmortems(base, repo, settings_for(repo))]
    assert RECURRENCE in paths  # added on the branch too: still a change against the merge base
    assert len(paths) == 5


def test_shallow_clone_without_merge_base_compares_with_the_ref(repo, tmp_path, monkeypatch):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "feature", repo.as_uri(), str(clone)],
                   check=True, capture_output=True)
    git(clone, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
    monkeypatch.chdir(clone)
    result = review("origin/main", settings_for(clone))
    assert result.notes == ["no merge base of origin/main and HEAD (shallow clone?): compared with origin/main itself"]
    assert result.base_commit == git(repo, "rev-parse", "main").strip()
    assert [(c.status, c.relpath) for c in result.changes] == [
        ("added", DUP), ("added", RECURRENCE), ("changed", CHANGED), ("removed", REMOVED), ("added", BROKEN)]


def test_unknown_ref_and_no_repository_are_review_errors(repo, tmp_path):
    with pytest.raises(ReviewError, match="'origin/nope' is not a commit in this repository; fetch it first"):
        resolve_base("origin/nope", repo)
    outside = tmp_path / "plain"
    (outside / "postmortems").mkdir(parents=True)
    with pytest.raises(ReviewError, match="is not inside a git repository"):
        review("main", settings_for(outside), start=outside)


# --- the review --------------------------------------------------------------------------------


def test_review_finds_problems_duplicate_and_clusters(repo):
    result = review("main", settings_for(repo))
    assert result.exit_code == 1
    assert [(p.path, p.line, p.code) for p in result.validation.problems] == [
        (f"postmortems/{BROKEN}", 5, "field-enum"),
        (f"postmortems/{BROKEN}", 15, "timestamp-no-offset"),
    ]
    assert (result.corpus_before, result.corpus_after) == (8, 10)
    entries = {e.change.relpath: e for e in result.entries}
    dup = entries[DUP]
    assert dup.id == "PM-2013-003"
    assert [link.id for link in dup.nearest] == ["PM-2013-001", "PM-2018-009", "PM-2019-003", "PM-2021-005"]
    assert [link.id for link in dup.duplicates] == ["PM-2013-001"]
    assert dup.duplicates[0].score >= DUPLICATE_THRESHOLD
    assert {"storage", "https"} <= set(dup.nearest[0].terms), dup.nearest[0].terms
    assert all(link.score < DUPLICATE_THRESHOLD for e in result.entries if e.id != "PM-2013-003"
               for link in e.nearest)
    cluster = dup.cluster
    assert cluster.kind == "joins"
    assert (cluster.before.id, cluster.size_before, cluster.after.id, cluster.size_after) == \
        ("C-PM-2013-001", 3, "C-PM-2013-001", 5)
    # The whole certificate-expiry family: the change also adds PM-2021-005 (expired root).
    assert (cluster.joined, cluster.left) == (["PM-2013-003", "PM-2021-005"], [])
    assert [(m, i.status) for m, i in cluster.earlier_items] == [("PM-2013-001", "done")] * 3
    assert cluster.recurred_after_fix is False  # same day as PM-2013-001: nothing was fixed yet
    recurrence = entries[RECURRENCE].cluster
    assert (recurrence.kind, recurrence.after.id, recurrence.size_before, recurrence.size_after) == \
        ("joins", "C-PM-2012-003", 2, 3)
    assert recurrence.after.members == ["PM-2012-003", "PM-2012-004", "PM-2017-001"]
    assert [(m, i.status) for m, i in recurrence.done] == [("PM-2012-003", "done")] * 2 + [("PM-2012-004", "done")]
    # Those items carry no done_at (format v1): whether PM-2017-001 came back after them is unknown, never yes.
    assert len(recurrence.earlier_items) == 5 and recurrence.recurred_after_fix is False
    assert recurrence.after.recurrence_unknown == ["PM-2017-001"]
    changed = entries[CHANGED]
    assert changed.cluster.kind == "stays" and changed.cluster.size_before == changed.cluster.size_after == 2
    assert changed.cluster.recurred_after_fix is False and changed.cluster.after.fix_outcome == "unknown"
    assert [(link.id, link.pinned) for link in changed.nearest] == [("PM-2015-001", True)]
    broken = entries[BROKEN]
    assert broken.id == "PM-2021-005" and [l.id for l in broken.nearest[:2]] == ["PM-2013-001", "PM-2013-003"]  # still compared (tie, by id)
    assert entries[REMOVED].base_id == "PM-2019-006" and entries[REMOVED].id is None
    assert [(rc.id, [a.id for a in rc.added], rc.removed) for rc in result.related_changes][:2] == [
        ("PM-2012-003", ["PM-2017-001"], []), ("PM-2012-004", ["PM-2017-001"], [])]


def test_markdown_review_matches_the_expected_file(repo):
    result = review("main", settings_for(repo))
    text = format_markdown(result).replace(result.base_commit[:12], "BASECOMMIT")
    if os.environ.get("PMKB_UPDATE_GOLDEN"):
        EXPECTED.write_text(text, encoding="utf-8")
    assert text == EXPECTED.read_text(encoding="utf-8")


def test_cli_markdown_and_json_and_exit_codes(repo, runner):
    out = runner.invoke(cli, ["review", "--base", "main"])
    assert out.exit_code == 1
    assert out.output.startswith("## Post-mortem review\n\nCompared with `main` (commit `")
    assert "> **Possible duplicate** of **PM-2013-001**" in out.output
    data = json.loads(runner.invoke(cli, ["review", "--base", "main", "--format", "json"]).output)
    assert data["exit_code"] == 1 and data["validation"]["counts"] == {"files": 4, "errors": 2, "warnings": 0}
    assert [p["id"] for p in data["postmortems"]] == ["PM-2013-003", "PM-2017-001", "PM-2019-001", None,
                                                      "PM-2021-005"]
    assert data["postmortems"][0]["possible_duplicates"][0]["id"] == "PM-2013-001"
    assert data["postmortems"][0]["cluster"]["size_before"] == 3
    assert data["postmortems"][0]["cluster"]["left"] == []
    assert data["postmortems"][0]["cluster"]["size_after"] == 5
    bad = runner.invoke(cli, ["review", "--base", "nope"])
    assert bad.exit_code == 2 and "'nope' is not a commit in this repository" in bad.output
    # A higher threshold removes the warning; the exit code does not depend on it.
    high = runner.invoke(cli, ["review", "--base", "main", "--duplicate-threshold", "0.95"])
    assert "Possible duplicate" not in high.output and high.exit_code == 1


def test_exit_0_when_the_change_is_valid_and_nothing_changed_is_said(repo, runner):
    (repo / "postmortems" / BROKEN).unlink()
    out = runner.invoke(cli, ["review", "--base", "main", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["validation"]["ok"] is True
    git(repo, "checkout", "-q", "-f", "main")
    same = runner.invoke(cli, ["review", "--base", "main"])
    assert same.exit_code == 0
    assert "no post-mortem changed." in same.output and "No problems in 0 files." in same.output


def test_first_post_mortems_of_a_new_folder(tmp_path, monkeypatch, runner):
    root = tmp_path / "new"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("# kb\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "empty")
    (root / "postmortems").mkdir()
    for name in (RECURRENCE, "2012-07-01-java-fleet-cpu-spin-after-clock-adjustment.md"):
        src = FIXTURES / ("change" if name == RECURRENCE else "base") / name
        shutil.copy(src, root / "postmortems" / name)
    monkeypatch.chdir(root)
    result = review("HEAD", settings_for(root))
    assert [c.status for c in result.changes] == ["added", "added"]
    assert (result.corpus_before, result.corpus_after) == (0, 2)
    assert result.exit_code == 0 and result.related_changes == []


def test_text_of_a_file_with_a_secret_is_withheld(repo):
    secret = "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"
    path = repo / "postmortems" / DUP
    path.write_text(path.read_text().replace(
        "title: Cloud storage HTTPS endpoints", f"title: Cloud storage {secret} HTTPS endpoints"))
    result = review("main", settings_for(repo))
    text = format_markdown(result)
    assert secret not in text and secret[4:] not in text.lower()
    entry = next(e for e in result.entries if e.id == "PM-2013-003")
    assert entry.withheld and entry.title is None and all(link.terms == () for link in entry.nearest)
    assert "### PM-2013-003 (added)" in text
    assert "Its text is withheld from this review" in text
    assert [p.code for p in result.validation.problems if p.path.endswith(DUP)] == ["secret"]
    assert entry.cluster.after.label == ""


@pytest.mark.parametrize("value, expected", [
    ("a | b <script>*x*</script>\n[y](z)", r"a \| b &lt;script&gt;\*x\*&lt;/script&gt; \[y\](z)"),
    ("Cache &amp; queue", "Cache &amp;amp; queue"),                # GitHub shows "&amp;", not "&"
    ("A & B <b>c</b> ~~d~~", "A &amp; B &lt;b&gt;c&lt;/b&gt; &#126;&#126;d&#126;&#126;"),
    ("2019-06-02_gcp outage.md", r"2019-06-02\_gcp outage.md"),
])
def test_markdown_escaping(value, expected):
    assert md_escape(value) == expected


@pytest.mark.parametrize("value", ["Cache &amp; queue", "A & B <b>c</b> ~~d~~ *e* | f", "&lt;x&gt; &#35; &copy;"])
def test_markdown_escaping_renders_back_in_gfm(value):
    """A GFM renderer (markdown-it-py, strikethrough and tables on) shows exactly the text."""
    from html.parser import HTMLParser

    markdown_it = pytest.importorskip("markdown_it")

    class Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.text, self.tags = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

        def handle_data(self, data):
            self.text.append(data)

    md = markdown_it.MarkdownIt("commonmark").enable(["strikethrough", "table"])
    for source in (md_escape(value), f"| a |\n|---|\n| {md_escape(value)} |"):
        parser = Text()
        parser.feed(md.render(source))
        assert "".join(parser.text).strip().removeprefix("a").strip() == value, source
        assert set(parser.tags) <= {"p", "table", "thead", "tbody", "tr", "th", "td"}, source


def test_markdown_escaping_of_a_title_in_the_review(repo):
    path = repo / "postmortems" / "2012-07-01-hadoop-cluster-load-spike-clock.md"
    path.write_text(re.sub(r"(?m)^title: .*$", "title: 'Hadoop &amp; HDFS <b>pegged</b> ~~twice~~'",
                           path.read_text()))
    text = format_markdown(review("main", settings_for(repo)))
    assert "Hadoop &amp;amp; HDFS &lt;b&gt;pegged&lt;/b&gt; &#126;&#126;twice&#126;&#126;" in text
    assert "<b>" not in text and "~~twice" not in text


def test_markdown_code_span():
    assert md_code("a`b|c") == r"`a'b\|c`"


def test_base_side_is_read_from_git_not_the_work_tree(repo):
    # The base version comes from git, not the work tree: editing the base's copy on disk
    # (uncommitted) makes it a changed file, and the base side still has the old title.
    path = repo / "postmortems" / "2012-07-01-hadoop-cluster-load-spike-clock.md"
    path.write_text(re.sub(r"(?m)^title: .*$", "title: Hadoop cluster pegged at midnight", path.read_text()))
    result = review("main", settings_for(repo))
    entry = next(e for e in result.entries if e.change.relpath == path.name)
    assert entry.change.status == "changed" and entry.title == "Hadoop cluster pegged at midnight"
    assert entry.base_id == entry.id == "PM-2012-004"


def test_tarfile_fallback_gives_the_same_review(repo, monkeypatch):
    import generator.review as review_module

    expected = format_markdown(review("main", settings_for(repo)))
    monkeypatch.setattr(review_module.shutil, "which", lambda name: None)   # no tar(1)
    assert format_markdown(review("main", settings_for(repo))) == expected


def test_removing_a_post_mortem_that_others_name_is_an_error_of_the_change(repo, runner):
    git(repo, "checkout", "-q", "main")
    path = repo / "postmortems" / "2012-07-01-hadoop-cluster-load-spike-clock.md"
    path.write_text(path.read_text().replace("trigger: ", "related: [PM-2012-003]\ntrigger: ", 1))
    git(repo, "commit", "-q", "-am", "link")
    git(repo, "checkout", "-q", "-b", "remove")
    git(repo, "rm", "-q", "postmortems/2012-07-01-java-fleet-cpu-spin-after-clock-adjustment.md")
    git(repo, "commit", "-q", "-m", "remove")
    result = review("main", settings_for(repo))
    assert [c.status for c in result.changes] == ["removed"]
    assert [(p.path, p.code, p.field) for p in result.validation.problems] == [
        ("postmortems/2012-07-01-hadoop-cluster-load-spike-clock.md", "unknown-id", "related[0]")]
    assert result.notes == ["also checked 1 unchanged post-mortem naming a removed id (PM-2012-003)"]
    assert result.exit_code == 1
    assert "Note: also checked 1 unchanged post-mortem naming a removed id (PM-2012-003)." in format_markdown(result)


def test_long_clusters_and_several_duplicates_are_summarised():
    import datetime as dt

    from generator.model import ActionItem, Cluster
    from generator.review import ClusterChange, Entry, LinkView, _entry_lines

    members = [f"PM-2020-{i:03d}" for i in range(1, 13)]
    items = [(m, ActionItem(title=f"fix {m}", status="done" if i % 2 else "open")) for i, m in enumerate(members)]
    before = Cluster("C-PM-2020-001", "disk, full", members[:-1], dt.date(2020, 1, 1), dt.date(2020, 1, 11))
    after = Cluster("C-PM-2020-001", "disk, full", members, dt.date(2020, 1, 1), dt.date(2020, 1, 12),
                    action_items=items)
    entry = Entry(change=Change("added", "postmortems/2020-01-12-x.md", "2020-01-12-x.md"), id="PM-2020-012",
                  title="Disk full", nearest=[LinkView("PM-2020-011", "a", "p/a.md", 0.9),
                                              LinkView("PM-2020-010", "b", "p/b.md", 0.7)])
    entry.duplicates = list(entry.nearest)
    entry.cluster = ClusterChange("joins", before, after, earlier_items=items[:-1], recurred_after_fix=True)
    text = "\n".join(_entry_lines(entry, 0.65))
    assert ("> **Possible duplicate** of **PM-2020-011** a (`p/a.md`): score 0.90 ≥ 0.65; also **PM-2020-010** "
            "(0.70). If it is the same incident") in text
    assert ("**Recurrence cluster:** joins **C-PM-2020-001** “disk, full”: 11 post-mortems → 12. Members: "
            "PM-2020-001, PM-2020-002, PM-2020-003, PM-2020-004, PM-2020-005, PM-2020-006, PM-2020-007, "
            "PM-2020-008, PM-2020-009, PM-2020-010 and 2 more; first 2020-01-01, last 2020-01-12.") in text
    assert "Earlier action items in this cluster: 5 of 11 done." in text
    listed = [line for line in text.splitlines() if line.startswith("- ")]
    assert listed[0] == "- [x] PM-2020-002: fix PM-2020-002 — done"
    assert listed[5] == "- [ ] PM-2020-001: fix PM-2020-001 — open"
    assert listed[-1] == "- … and 1 more (see `pmkb review --format json`)" and len(listed) == 11
    assert "the fix did not hold" in text


def test_duplicate_threshold_separates_recurrences_from_duplicates():
    """On the shipped corpus, no two incidents of one recurring problem (``labels.csv``) reach
    the threshold; the hand-written second write-up in the fixtures does."""
    import csv
    from itertools import combinations

    from generator.similarity import SimilarityIndex
    from generator.validate import validate

    from .conftest import ROOT

    labels = ROOT.parent / "shared" / "corpus" / "labels.csv"
    if not labels.is_file():
        pytest.skip("../shared/corpus/labels.csv is not beside the repository")
    groups = {row["id"]: row["group"] for row in csv.DictReader(labels.open(encoding="utf-8"))}
    docs = ROOT / "postmortems"
    corpus = validate([docs], Settings(docs_dir=docs), scan_secrets=False).postmortems
    index = SimilarityIndex.build(corpus, Settings(docs_dir=docs))
    same = [index.score(a, b) for a, b in combinations(sorted(groups), 2)
            if groups[a] == groups[b] and index.row(a) is not None and index.row(b) is not None]
    assert len(same) == 65  # same-problem pairs in labels.csv (two labels corrected since: 59 before)
    assert max(same) < DUPLICATE_THRESHOLD
    fixtures = validate([FIXTURES / "base"], Settings(docs_dir=FIXTURES / "base"), scan_secrets=False).postmortems
    dup = validate([FIXTURES / "change" / DUP], Settings(docs_dir=FIXTURES / "change"), scan_secrets=False)
    pair = SimilarityIndex.build(fixtures + dup.postmortems, Settings(docs_dir=FIXTURES))
    assert pair.score("PM-2013-003", "PM-2013-001") >= DUPLICATE_THRESHOLD


def test_removing_or_renaming_a_linked_file_reports_the_broken_links_of_the_change(repo):
    git(repo, "checkout", "-q", "main")
    path = repo / "postmortems" / "2012-07-01-hadoop-cluster-load-spike-clock.md"
    target = "2012-07-01-java-fleet-cpu-spin-after-clock-adjustment.md"
    path.write_text(path.read_text() + f"\nSee [the Java fleet incident]({target}#root-cause).\n")
    git(repo, "commit", "-q", "-am", "link by path")
    git(repo, "checkout", "-q", "-b", "rename")
    git(repo, "mv", f"postmortems/{target}", "postmortems/2012-07-01-java-fleet-cpu-spin.md")
    git(repo, "commit", "-q", "-m", "rename")
    result = review("main", settings_for(repo))
    assert [(p.path, p.code) for p in result.validation.problems] == [
        ("postmortems/2012-07-01-hadoop-cluster-load-spike-clock.md", "broken-link")]
    assert result.notes == ["also checked 1 unchanged post-mortem linking to a removed or renamed file "
                            "(2012-07-01-hadoop-cluster-load-spike-clock.md)"]
    assert result.exit_code == 1


def test_nearest_table_says_what_orders_it_and_prints_that_number():
    """#3: with the [semantic] model the Nearest post-mortems are in fused order; the table's
    first number is the fused score (non-increasing), the cosine beside it, and the heading says so."""
    from generator.review import Change, Entry, LinkView, _entry_lines

    entry = Entry(Change("added", "postmortems/x.md", "x.md"), id="PM-2025-009", title="Redis failover",
                  nearest=[LinkView("PM-2012-003", "Java spin", "postmortems/a.md", 0.125, ("clock",), fused=0.917),
                           LinkView("PM-2012-004", "Kernel timer", "postmortems/b.md", 0.136, (), fused=0.825)])
    lines = _entry_lines(entry, 0.65)
    at = lines.index("**Nearest post-mortems** (ranked by fused score: the TF-IDF and sentence-model rankings "
                     "combined (1.00 = first in both); cosine = TF-IDF similarity (0..1))")
    assert lines[at + 2:at + 6] == ["| Post-mortem | Fused | Cosine | Shared terms |", "|---|---|---|---|",
                                    "| **PM-2012-003** Java spin | 0.92 | 0.12 | clock |",
                                    "| **PM-2012-004** Kernel timer | 0.82 | 0.14 | — |"]
    assert entry.as_dict()["nearest"][0]["fused"] == 0.917
