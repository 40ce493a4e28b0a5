"""Confinement: every command reads only regular files inside the post-mortems folder.

Symbolic links (to files or folders, dangling or not), FIFOs and anything that resolves
outside are reported with path, line, code and fix, never followed, never opened and never
quoted. Each test puts a sentinel text where only a followed link could reach it, and asserts
it appears in no output.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from generator import inventory
from generator.cli import cli
from generator.settings import Settings
from generator.validate import collect, validate

from .test_validate import NAME, VALID

SENTINEL = "SENTINEL-OUTSIDE-7f3a"
OUTSIDE_PAGE = f"{SENTINEL} first line of a file outside the folder\n\n## {SENTINEL} heading\n"

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32",
                                    reason="symbolic links and FIFOs need a POSIX system")


def _layout(tmp_path: Path) -> tuple[Path, Path]:
    """``tmp/outside/`` (a file and a folder with a post-mortem, holding the sentinel) and
    ``tmp/project/postmortems/`` with one valid post-mortem and every kind of link."""
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "environ").write_text(OUTSIDE_PAGE, encoding="utf-8")
    (outside / "folder" / "2024-03-15-other.md").write_text(VALID.replace("PM-2024-017", "PM-2024-018")
                                                            .replace("2024-03-14", "2024-03-15") + SENTINEL + "\n",
                                                            encoding="utf-8")
    docs = tmp_path / "project" / "postmortems"
    docs.mkdir(parents=True)
    (docs / NAME).write_text(VALID, encoding="utf-8")
    os.symlink(outside / "environ", docs / "2024-03-16-environ.md")   # a link to a file outside
    os.symlink(outside / "folder", docs / "archive")                  # a link to a folder outside
    os.symlink(outside / "missing", docs / "2024-03-17-dangling.md")  # a dangling link
    os.symlink(docs / NAME, docs / "2024-03-18-alias.md")             # a link to a file inside
    os.symlink(outside, docs / ".hidden")                             # hidden, but MkDocs' walk follows it
    os.mkfifo(docs / "2024-03-19-fifo.md")                            # would block a plain open()
    return docs.parent, docs


EXPECTED = [
    (".hidden", 1, "file-symlink"),
    ("2024-03-16-environ.md", 1, "file-symlink"),
    ("2024-03-17-dangling.md", 1, "file-symlink"),
    ("2024-03-18-alias.md", 1, "file-symlink"),
    ("2024-03-19-fifo.md", 1, "file-not-regular"),
    ("archive", 1, "file-symlink"),
]


@needs_symlinks
@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_links_and_fifos_are_reported_never_followed_or_quoted(runner, tmp_path, monkeypatch, fmt):
    project, docs = _layout(tmp_path)
    monkeypatch.chdir(project)
    done = runner.invoke(cli, ["validate", "--format", fmt])
    assert done.exit_code == 1, done.output
    assert SENTINEL not in done.output
    assert "environ" not in done.output.replace("2024-03-16-environ.md", "")  # the target is not named
    if fmt == "json":
        report = json.loads(done.output)
        assert [(Path(p["path"]).name, p["line"], p["code"]) for p in report["problems"]] == EXPECTED
        assert all(p["level"] == "error" and p["fix"] for p in report["problems"])
        assert report["counts"]["files"] == 1  # the one real post-mortem; nothing below 'archive'


@needs_symlinks
def test_the_walk_does_not_descend_into_a_linked_folder(tmp_path):
    _, docs = _layout(tmp_path)
    found = collect([docs], Settings(docs_dir=docs))
    assert [e.relpath for e in found.entries] == [NAME]
    assert [(Path(p.path).name, p.code) for p in found.problems] == [(n, c) for n, _, c in EXPECTED]


@needs_symlinks
def test_files_named_on_the_command_line_are_not_followed(runner, tmp_path, monkeypatch):
    project, docs = _layout(tmp_path)
    monkeypatch.chdir(project)
    done = runner.invoke(cli, ["validate", "--format", "json", "postmortems/2024-03-16-environ.md",
                               "postmortems/archive/2024-03-15-other.md", "postmortems/2024-03-17-dangling.md"])
    assert done.exit_code == 1, done.output  # a dangling link is a problem, not a usage error
    assert SENTINEL not in done.output
    report = json.loads(done.output)
    assert [(p["path"], p["line"], p["code"]) for p in report["problems"]] == [
        ("postmortems/2024-03-16-environ.md", 1, "file-symlink"),
        ("postmortems/2024-03-17-dangling.md", 1, "file-symlink"),
        ("postmortems/archive/2024-03-15-other.md", 1, "file-symlink"),  # below a linked folder
    ]


@needs_symlinks
def test_links_to_and_through_symlinks_are_dead_links_and_nothing_is_read(tmp_path):
    _, docs = _layout(tmp_path)
    body = ("\nSee [a](2024-03-16-environ.md#sentinel-outside-7f3a-heading), [b](archive/2024-03-15-other.md), "
            "[c](2024-03-18-alias.md), [d](2024-03-19-fifo.md), [e](../../outside/environ).\n")
    (docs / NAME).write_text(VALID + body, encoding="utf-8")
    result = validate([docs / NAME], Settings(docs_dir=docs))
    assert [(p.line, p.column, p.code) for p in result.problems] == [
        (41, 9, "broken-link"), (41, 67, "broken-link"), (41, 101, "broken-link"), (41, 127, "broken-link"),
        (41, 152, "link-outside")]
    messages = " ".join(p.message + p.fix for p in result.problems)
    assert SENTINEL.lower() not in messages.lower().replace("#sentinel-outside-7f3a-heading", "")
    assert "symbolic link" in result.problems[0].message
    assert "not a regular file" in result.problems[3].message


@needs_symlinks
def test_read_regular_refuses_links_and_fifos_without_blocking(tmp_path):
    _, docs = _layout(tmp_path)
    with pytest.raises(inventory.NotRegularFile) as link:
        inventory.read_regular(docs / "2024-03-16-environ.md")
    assert link.value.kind == inventory.SYMLINK
    with pytest.raises(inventory.NotRegularFile) as fifo:
        inventory.read_regular(docs / "2024-03-19-fifo.md")  # O_NONBLOCK: returns at once
    assert fifo.value.kind == inventory.NOT_REGULAR
    assert inventory.read_regular(docs / NAME) == VALID.encode("utf-8")
    assert inventory.read_regular(docs / NAME, limit=3) == b"---"


@needs_symlinks
def test_similar_refuses_a_linked_query_file(runner, tmp_path, monkeypatch):
    project, docs = _layout(tmp_path)
    monkeypatch.chdir(project)
    done = runner.invoke(cli, ["similar", "postmortems/2024-03-16-environ.md"])
    assert done.exit_code == 1
    assert SENTINEL not in done.output
    assert "symbolic link" in done.output


@needs_symlinks
def test_site_build_stops_before_mkdocs_walks_the_folder(tmp_path):
    """MkDocs' own walk follows links into folders; the plugin stops the build before it."""
    from .sitebuild import make_project, run_build

    project = make_project(tmp_path / "site-project")
    os.symlink("/", project / "postmortems" / "rootfs")        # MkDocs would walk the whole disk
    os.symlink(tmp_path / "environ", project / "postmortems" / "2024-03-16-environ.md")
    (tmp_path / "environ").write_text(OUTSIDE_PAGE, encoding="utf-8")
    done = run_build(project, tmp_path / "site", timeout=120)
    assert done.returncode != 0
    assert "postmortems/rootfs:1: file-symlink" in done.stderr
    assert "postmortems/2024-03-16-environ.md:1: file-symlink" in done.stderr
    assert SENTINEL not in done.stderr + done.stdout
    assert not (tmp_path / "site" / "2024-03-16-environ").exists()


# --- pages and attachments -------------------------------------------------------------------

GITHUB_TOKEN = "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"


def test_pages_get_the_unsafe_html_rule_and_the_secret_scan(tmp_path):
    docs = tmp_path / "postmortems"
    docs.mkdir()
    (docs / NAME).write_text(VALID, encoding="utf-8")
    (docs / "README.md").write_text("# Knowledge base\n\n<script>alert(1)</script>\n\n"
                                    f"CI token: {GITHUB_TOKEN}\n", encoding="utf-8")
    (docs / "_notes.md").write_text("---\ntitle: Notes\n---\n\n```html\n<script>shown as code</script>\n```\n\n"
                                    "[x](javascript:alert(1))\n", encoding="utf-8")
    result = validate([docs], Settings(docs_dir=docs))
    assert [(Path(p.path).name, p.line, p.code) for p in result.problems] == [
        ("README.md", 3, "unsafe-html"), ("README.md", 5, "secret"), ("_notes.md", 9, "unsafe-html")]
    assert GITHUB_TOKEN not in " ".join(p.message for p in result.problems)
    assert (result.files, result.other_files) == (1, 2)


def test_attachments_are_scanned_and_unlisted_kinds_are_reported(tmp_path):
    docs = tmp_path / "postmortems"
    (docs / "logs").mkdir(parents=True)
    (docs / NAME).write_text(VALID, encoding="utf-8")
    (docs / "logs" / "deploy.log").write_text("12:00 start\n12:01 export GITHUB_TOKEN=" + GITHUB_TOKEN + "\n",
                                              encoding="utf-8")
    (docs / "graph.png").write_bytes(b"\x89PNG\r\n\x1a\n" + GITHUB_TOKEN.encode())  # binary kinds are not read
    (docs / "diagram.svg").write_text("<svg onload='alert(1)'/>", encoding="utf-8")
    (docs / "latin1.txt").write_bytes(b"caf\xe9 password = 'hunter2hunter2'\n")  # not UTF-8: still scanned
    result = validate([docs], Settings(docs_dir=docs))
    assert [(Path(p.path).name, p.line, p.level, p.code) for p in result.problems] == [
        ("diagram.svg", 1, "warning", "file-not-published"),
        ("latin1.txt", 1, "error", "secret"),
        ("deploy.log", 2, "error", "secret"),  # (sorted by path: postmortems/logs/ comes last)
    ]
    assert "'.svg' files" in result.problems[0].message
    allowed = validate([docs], Settings(docs_dir=docs, attachments=[".svg", ".log", ".txt", ".png"]))
    assert "file-not-published" not in {p.code for p in allowed.problems}


@pytest.mark.parametrize("value", [["png"], [".PNG"], ".png", [1]])
def test_attachments_option_is_checked(value):
    from generator.settings import ConfigError, settings_from_options

    with pytest.raises(ConfigError, match="'attachments' must be a list of lowercase file extensions"):
        settings_from_options({"attachments": value})


@needs_symlinks
def test_review_reports_an_added_link_and_attachment(runner, tmp_path, monkeypatch):
    from .test_review import git

    root = tmp_path / "repo"
    docs = root / "postmortems"
    docs.mkdir(parents=True)
    (docs / NAME).write_text(VALID, encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    (tmp_path / "environ").write_text(OUTSIDE_PAGE, encoding="utf-8")
    os.symlink(tmp_path / "environ", docs / "2024-03-16-environ.md")
    os.symlink(tmp_path / "missing", docs / "2024-03-17-dangling.md")
    (docs / "deploy.log").write_text("export GITHUB_TOKEN=" + GITHUB_TOKEN + "\n", encoding="utf-8")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "change")
    monkeypatch.chdir(root)
    done = runner.invoke(cli, ["review", "postmortems", "--base", "HEAD~1", "--format", "json"])
    assert done.exit_code == 1, done.output
    assert SENTINEL not in done.output and GITHUB_TOKEN not in done.output
    problems = json.loads(done.output)["validation"]["problems"]
    assert [(p["path"], p["line"], p["code"]) for p in problems] == [
        ("postmortems/2024-03-16-environ.md", 1, "file-symlink"),
        ("postmortems/2024-03-17-dangling.md", 1, "file-symlink"),
        ("postmortems/deploy.log", 1, "secret"),
    ]


@needs_symlinks
def test_a_linked_cache_entry_is_a_miss(tmp_path):
    from generator.cache import Cache

    cache = Cache(tmp_path / "cache")
    cache.put("ns", "key", b"stored")
    assert cache.get("ns", "key") == b"stored"
    entry = cache._path("ns", "key")
    entry.unlink()
    (tmp_path / "environ").write_text(OUTSIDE_PAGE, encoding="utf-8")
    os.symlink(tmp_path / "environ", entry)
    assert cache.get("ns", "key") is None
