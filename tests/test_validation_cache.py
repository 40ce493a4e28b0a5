"""The validation's result is kept in the cache folder (generator/validation_cache.py): a run over
an unchanged corpus checks no file, and gives exactly the result a fresh run gives; any change
to what the checks read is a miss; nothing about a secret is ever stored; an entry that is
planted, damaged or unreadable is a miss, never an error."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from generator import validate as validation
from generator import validation_cache
from generator.cache import Cache
from generator.settings import Settings, load_settings

from .conftest import ROOT, TODAY
from .test_format_v2 import V2
from .test_secrets import AWS_KEY_ID, AWS_SECRET
from .test_validate import NAME, VALID

WARNED = "2024-03-15-unknown-fields.md"
BROKEN = "2024-03-16-bad-severity.md"
SECOND = "2024-03-17-format-two.md"

# A file with unknown fields (warnings), kept in the model's ``extra`` (the loader reads every
# scalar as text: dates, numbers and booleans are the v2 fields' and the timestamps').
UNKNOWN_FIELDS = VALID.replace("PM-2024-017", "PM-2024-018").replace("2024-03-14", "2024-03-15").replace(
    "summary: ", "custom_day: '2024-01-02'\ncustom_map: {a: x, b: [y, null, z], c: {d: ''}}\n"
    "custom_text: \"café ☕\"\nsummary: ", 1)
BAD_SEVERITY = VALID.replace("PM-2024-017", "PM-2024-019").replace("2024-03-14", "2024-03-16") \
    .replace("severity: SEV1", "severity: SEV9")
FORMAT_TWO = V2.replace("PM-2024-017", "PM-2024-020").replace("2024-03-14", "2024-03-17")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A cache folder and an HMAC key of this test's own."""
    monkeypatch.setenv("PMKB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    return tmp_path / "cache"


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """The names of the files :func:`generator.validate.check_file` checks in this process."""
    checked: list[str] = []
    real = validation.check_file

    def counting(src, *args, **kwargs):
        checked.append(src.path.name)
        return real(src, *args, **kwargs)

    monkeypatch.setattr(validation, "check_file", counting)
    return checked


def corpus(folder: Path) -> Path:
    """Four post-mortems: a valid one, one with warnings (unknown fields), one with an error,
    one in format v2 (a source, done_at dates and timestamps); and a page with a link to an
    anchor of the valid one."""
    docs = folder / "postmortems"
    docs.mkdir(parents=True)
    for name, text in ((NAME, VALID), (WARNED, UNKNOWN_FIELDS), (BROKEN, BAD_SEVERITY), (SECOND, FORMAT_TWO)):
        (docs / name).write_text(text, encoding="utf-8")
    (docs / "README.md").write_text(f"# Post-mortems\n\nSee [the impact]({NAME}#impact).\n", encoding="utf-8")
    return docs


def fields(result) -> dict:
    """Every field of a result, the post-mortems also as their ``repr`` (which later caches key on)."""
    return {"postmortems": result.postmortems, "repr": repr(result.postmortems), "problems": result.problems,
            "valid_ids": result.valid_ids, "files": result.files, "other_files": result.other_files,
            "secrets": result.secrets}


def entries(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / validation_cache.NAMESPACE).glob("??/*"))


def run(docs: Path, settings: Settings | None = None, today: dt.date = TODAY, paths=None):
    pending = validation.start_validation(paths or [docs], settings or Settings(docs_dir=docs), today=today)
    return pending, pending.result()


def test_a_second_run_over_an_unchanged_corpus_checks_no_file_and_gives_the_same_result(
        tmp_path, cache_dir, calls):
    docs = corpus(tmp_path)
    first_pending, first = run(docs)
    assert not first_pending.cache_hit
    assert sorted(calls) == sorted([NAME, WARNED, BROKEN, SECOND])
    assert [(Path(p.path).name, p.line, p.level, p.code) for p in first.problems] == [
        (WARNED, 10, "warning", "field-unknown"), (WARNED, 11, "warning", "field-unknown"),
        (WARNED, 12, "warning", "field-unknown"), (BROKEN, 5, "error", "field-enum"),
    ]
    assert first.postmortems[1].extra == {
        "custom_day": "2024-01-02", "custom_map": {"a": "x", "b": ["y", None, "z"], "c": {"d": ""}},
        "custom_text": "café ☕"}
    assert len(entries(cache_dir)) == 1
    calls.clear()
    pending, second = run(docs)
    assert (pending.cache_hit, pending.in_background, calls) == (True, False, [])
    assert fields(second) == fields(first)
    assert (second.errors, second.warnings, second.files, second.other_files) == (1, 3, 4, 1)
    assert second.valid_ids == {"PM-2024-017", "PM-2024-018", "PM-2024-020"}
    v2 = second.postmortems[3]
    assert [item.done_at for item in v2.action_items] == [
        None, dt.date(2024, 3, 20), dt.datetime(2024, 3, 17, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))]
    assert v2.source.imported_at == dt.datetime(2024, 5, 2, 10, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def test_the_shipped_corpus_from_the_cache_equals_a_fresh_validation(tmp_path, cache_dir, calls, monkeypatch):
    monkeypatch.chdir(ROOT)
    settings = load_settings(ROOT / "mkdocs.yml")
    fresh_pending, fresh = run(settings.docs_dir, settings)
    count = len(list(settings.docs_dir.glob("*.md")))
    assert not fresh_pending.cache_hit and len(calls) == count == fresh.files
    calls.clear()
    pending, cached = run(settings.docs_dir, settings)
    assert pending.cache_hit and calls == []
    assert fields(cached) == fields(fresh)
    assert [pm.sections for pm in cached.postmortems] == [pm.sections for pm in fresh.postmortems]


def test_a_hit_starts_no_worker_pool(tmp_path, cache_dir, calls, monkeypatch):
    monkeypatch.setenv("PMKB_JOBS", "2")
    monkeypatch.setattr(validation, "PARALLEL_MIN_FILES", 2)
    docs = corpus(tmp_path)
    first_pending = validation.start_validation([docs], Settings(docs_dir=docs), today=TODAY)
    assert first_pending.in_background
    first = first_pending.result()
    pending = validation.start_validation([docs], Settings(docs_dir=docs), today=TODAY)
    assert (pending.in_background, pending.cache_hit, pending._pool) == (False, True, None)
    assert [p.code for p in pending.confinement_errors] == []
    assert fields(pending.result()) == fields(first)
    assert calls == []


def test_confinement_errors_are_still_known_on_a_hit(tmp_path, cache_dir):
    docs = corpus(tmp_path)
    (docs / "passwd.md").symlink_to("/etc/passwd")
    _, first = run(docs)
    pending, second = run(docs)
    assert pending.cache_hit
    assert [(Path(p.path).name, p.code) for p in pending.confinement_errors] == [("passwd.md", "file-symlink")]
    assert fields(second) == fields(first)


@pytest.mark.parametrize("change", ["one byte", "a new file", "an option", "today", "a linked hidden page",
                                    "the problems file", "the working directory"])
def test_a_change_to_what_the_checks_read_is_a_miss(tmp_path, cache_dir, calls, monkeypatch, change):
    project = tmp_path / "project"
    docs = corpus(project)
    (project / "mkdocs.yml").write_text("docs_dir: postmortems\nplugins:\n  - postmortems\n", encoding="utf-8")
    (project / "problems.yml").write_text("C-PM-2024-017:\n  name: Certificates\n", encoding="utf-8")
    (docs / ".drafts").mkdir()
    (docs / ".drafts" / "notes.md").write_text("# Notes\n\n## Impact\n", encoding="utf-8")
    (docs / NAME).write_text(VALID + "\nSee [the notes](.drafts/notes.md#impact).\n", encoding="utf-8")
    monkeypatch.chdir(project)
    settings = load_settings(project / "mkdocs.yml")
    today = TODAY
    _, first = run(docs, settings, today)
    calls.clear()
    assert run(docs, settings, today)[0].cache_hit and calls == []
    if change == "one byte":
        (docs / NAME).write_text((VALID + "\nSee [the notes](.drafts/notes.md#impact).\n").replace(
            "title: Checkout API down", "title: Checkout API Down"), encoding="utf-8")
    elif change == "a new file":
        (docs / "2024-03-18-another.md").write_text(VALID.replace("PM-2024-017", "PM-2024-021").replace(
            "2024-03-14", "2024-03-18"), encoding="utf-8")
    elif change == "an option":
        settings = dataclasses.replace(settings, broken_links="warning")
    elif change == "today":
        today = TODAY + dt.timedelta(days=1)
    elif change == "a linked hidden page":  # outside the inventory, but a link's anchor is checked in it
        (docs / ".drafts" / "notes.md").write_text("# Notes\n\n## Effects\n", encoding="utf-8")
    elif change == "the problems file":  # outside the docs folder
        (project / "problems.yml").write_text("C-PM-2024-017:\n  name: Certificates\n  members: [PM-2024-999]\n",
                                              encoding="utf-8")
    elif change == "the working directory":  # problems name files relative to it
        monkeypatch.chdir(docs)
    pending, second = run(docs, settings, today)
    expected = {"one byte": 4, "a new file": 5}.get(change, 4)
    assert (pending.cache_hit, len(calls)) == (False, expected)
    codes = [(Path(p.path).name, p.code) for p in second.problems]
    if change == "one byte":
        assert [pm.title for pm in second.postmortems if pm.path == NAME] == [
            "Checkout API Down after TLS certificate expired"]
    elif change == "a new file":
        assert second.files == 5
    elif change == "an option":
        assert [p.level for p in second.problems if p.code == "field-enum"] == ["error"]
        assert fields(second)["postmortems"] == fields(first)["postmortems"]
    elif change == "a linked hidden page":
        assert (NAME, "broken-anchor") in codes and (NAME, "broken-anchor") not in \
            [(Path(p.path).name, p.code) for p in first.problems]
    elif change == "the problems file":
        assert ("problems.yml", "problems-members") in codes
    elif change == "the working directory":
        assert {p.path for p in second.problems} == {BROKEN, WARNED}
        assert {p.path for p in first.problems} == {f"postmortems/{BROKEN}", f"postmortems/{WARNED}"}
    calls.clear()
    third_pending, third = run(docs, settings, today)
    assert third_pending.cache_hit and calls == [] and fields(third) == fields(second)


def test_a_result_with_a_secret_is_never_stored(tmp_path, cache_dir, calls):
    docs = corpus(tmp_path)
    (docs / "2024-03-19-leak.md").write_text(
        VALID.replace("PM-2024-017", "PM-2024-022").replace("2024-03-14", "2024-03-19")
        + f"\n```\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n```\n", encoding="utf-8")
    _, first = run(docs)
    assert [p.code for p in first.problems if p.path.endswith("leak.md")] == ["secret", "secret"]
    assert first.secrets
    assert entries(cache_dir) == []
    stored = b"".join(p.read_bytes() for p in cache_dir.rglob("*") if p.is_file())
    assert AWS_KEY_ID[4:].encode() not in stored and AWS_SECRET[:12].encode() not in stored
    calls.clear()
    pending, second = run(docs)
    assert not pending.cache_hit and len(calls) == 5
    assert fields(second) == fields(first)


def test_a_result_the_entry_cannot_hold_exactly_is_not_stored(tmp_path, cache_dir):
    """A value JSON cannot give back as it was (a set; the loader never makes one today) and a
    result with a secret: ``save`` stores neither, and says so."""
    docs = corpus(tmp_path)
    _, result = run(docs)
    cache = Cache(cache_dir)
    odd = dataclasses.replace(result, postmortems=[dataclasses.replace(result.postmortems[0], extra={"s": {1}})])
    assert validation_cache.save(cache, "k" * 64, odd) is False
    secret = dataclasses.replace(result, secrets=frozenset({AWS_KEY_ID}))
    assert validation_cache.save(cache, "s" * 64, secret) is False
    assert validation_cache.save(cache, "r" * 64, result) is True
    assert validation_cache.load(cache, "k" * 64) is validation_cache.load(cache, "s" * 64) is None
    assert fields(validation_cache.load(cache, "r" * 64)) == fields(result)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "planted", "another key inside", "not JSON"])
def test_a_planted_or_damaged_entry_is_a_miss_and_the_result_is_the_same(tmp_path, cache_dir, calls, monkeypatch,
                                                                         damage):
    docs = corpus(tmp_path)
    _, fresh = run(docs)
    (entry,) = entries(cache_dir)
    pending = validation.start_validation([docs], Settings(docs_dir=docs), today=TODAY)
    key = pending._cache_key
    pending.result()
    if damage == "garbage":
        entry.write_bytes(b"\0" * 100)
    elif damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:-10])
    else:
        # a valid entry saying "no problems", written with another user's HMAC key
        forged = validation.ValidationResult(postmortems=fresh.postmortems, files=4, other_files=1,
                                             valid_ids={pm.id for pm in fresh.postmortems})
        data = validation_cache.encode(forged, key if damage != "another key inside" else "0" * 64)
        if damage == "not JSON":
            data = b"{" + data
        if damage == "planted":
            monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "attacker"))
        Cache(cache_dir).put(validation_cache.NAMESPACE, key, data)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    calls.clear()
    pending, result = run(docs)
    assert (pending.cache_hit, len(calls)) == (False, 4)
    assert fields(result) == fields(fresh)
    assert result.errors == 1
    calls.clear()
    assert run(docs)[0].cache_hit and calls == []  # stored again


@pytest.mark.parametrize("how", ["the cache folder is a file", "no key file can be made"])
def test_a_cache_that_cannot_be_written_is_a_miss_never_an_error(tmp_path, monkeypatch, calls, how):
    docs = corpus(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    if how == "the cache folder is a file":
        monkeypatch.setenv("PMKB_CACHE_DIR", str(blocker))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    else:
        monkeypatch.setenv("PMKB_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # postmortem-kb/cache.key cannot be made below it
    _, first = run(docs)
    calls.clear()
    pending, second = run(docs)
    assert (pending.cache_hit, len(calls)) == (False, 4)
    assert fields(second) == fields(first)


def test_a_file_changed_while_it_is_checked_is_not_stored(tmp_path, cache_dir, monkeypatch):
    docs = corpus(tmp_path)
    real = validation.check_file

    def editing(src, *args, **kwargs):
        if src.path.name == NAME:
            # (another size: the check after the run takes a file whose size, times and inode are
            # unchanged as unchanged, and this write may fall in the clock tick of the first read)
            (docs / BROKEN).write_text(BAD_SEVERITY.replace("SEV9", "SEV10"), encoding="utf-8")
        return real(src, *args, **kwargs)

    monkeypatch.setattr(validation, "check_file", editing)
    run(docs)
    assert entries(cache_dir) == []


def test_the_check_after_the_run_reads_only_the_files_changed_since(tmp_path, monkeypatch):
    from generator import inventory

    docs = corpus(tmp_path)
    seen: dict = {}
    first = validation_cache.tree_digest(docs, seen)
    assert sorted(path.name for path in seen) == sorted(["README.md", NAME, WARNED, BROKEN, SECOND])
    reads = []
    real = inventory.read_regular
    monkeypatch.setattr(inventory, "read_regular", lambda path, *a: reads.append(path.name) or real(path, *a))
    assert validation_cache.tree_digest(docs, seen) == first and reads == []
    (docs / NAME).write_text(VALID + "\n", encoding="utf-8")
    changed = validation_cache.tree_digest(docs, seen)
    assert changed != first and reads == [NAME]
    assert validation_cache.tree_digest(docs) == changed  # (without hashes: every file read)
    assert sorted(reads) == sorted([NAME, NAME, WARNED, BROKEN, SECOND, "README.md"])


def test_only_a_few_entries_are_kept(tmp_path, cache_dir):
    docs = corpus(tmp_path)
    for n in range(validation_cache.KEEP + 3):
        (docs / NAME).write_text(VALID.replace("Card payments failed", f"Card payments failed ({n})"),
                                 encoding="utf-8")
        run(docs)
    assert len(entries(cache_dir)) == validation_cache.KEEP


def test_pmkb_validate_prints_the_same_from_the_cache(tmp_path, cache_dir, calls, runner, monkeypatch):
    from generator.cli import cli

    monkeypatch.chdir(tmp_path)  # no mkdocs.yml: the default options
    docs = corpus(tmp_path)
    (docs / BROKEN).unlink()  # warnings only
    outputs = []
    for args in (["validate"], ["validate"], ["validate", "--strict"], ["validate", "--strict"],
                 ["validate", "--format", "json"], ["validate", "--format", "json"],
                 ["validate", "--format", "github"], ["validate", "--format", "github"]):
        calls.clear()
        out = runner.invoke(cli, [*args, str(docs)])
        outputs.append((out.output, out.exit_code, len(calls)))
    assert [(code, n) for _, code, n in outputs] == [(0, 3), (0, 0), (1, 0), (1, 0), (0, 0), (0, 0), (0, 0), (0, 0)]
    assert outputs[0][0] == outputs[1][0] and outputs[2][0] == outputs[3][0]
    assert outputs[4][0] == outputs[5][0] and outputs[6][0] == outputs[7][0]
    assert outputs[0][0].endswith("\n0 errors, 3 warnings in 3 files\n")
    assert outputs[0][0].count("warning field-unknown") == 3


def test_a_run_from_the_cache_does_not_import_detect_secrets(tmp_path):
    """The page's line about a key is flagged by the secret scan's pre-filter, and a page is
    scanned on every run without the cache (only post-mortems' clean verdicts are kept)."""
    docs = tmp_path / "postmortems"
    docs.mkdir()
    (docs / NAME).write_text(VALID, encoding="utf-8")
    (docs / "README.md").write_text("# Runbooks\n\nRotate the signing key every month.\n", encoding="utf-8")
    code = (f"import os, sys\nos.environ['PMKB_CACHE_DIR'] = {str(tmp_path / 'cache')!r}\n"
            f"os.environ['XDG_CACHE_HOME'] = {str(tmp_path / 'home-cache')!r}\n"
            "from pathlib import Path\nfrom generator.settings import Settings\n"
            "from generator.validate import start_validation\n"
            f"p = start_validation([Path({str(docs)!r})], Settings(docs_dir=Path({str(docs)!r})))\n"
            "r = p.result()\n"
            "print(p.cache_hit, r.files, r.other_files, len(r.problems), 'detect_secrets' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
            for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [["False", "1", "1", "0", "True"], ["True", "1", "1", "0", "False"]], \
        [r.stderr[-2000:] for r in runs]


def test_no_key_when_a_file_named_alone_lies_outside_the_docs_folder(tmp_path, cache_dir):
    """Its links are checked against its own folder, which the run does not walk."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / NAME).write_text(VALID, encoding="utf-8")
    settings = Settings(docs_dir=tmp_path / "postmortems")
    pending = validation.start_validation([folder / NAME], settings, today=TODAY)
    assert pending._cache_key is None
    pending.result()
    assert entries(cache_dir) == []


def test_no_key_when_the_cache_folder_lies_inside_the_corpus(tmp_path, monkeypatch):
    docs = corpus(tmp_path)
    monkeypatch.setenv("PMKB_CACHE_DIR", str(docs / ".cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    assert validation.start_validation([docs], Settings(docs_dir=docs), today=TODAY)._cache_key is None


def test_a_file_named_in_the_docs_folder_is_keyed_by_the_whole_folder(tmp_path, cache_dir, calls):
    """A file given alone is checked against the other post-mortems of its docs folder (ids):
    an edit to one of those is a miss."""
    docs = corpus(tmp_path)
    settings = Settings(docs_dir=docs)
    _, first = run(docs, settings, paths=[docs / NAME])
    calls.clear()
    assert run(docs, settings, paths=[docs / NAME])[0].cache_hit and calls == []
    (docs / WARNED).write_text(UNKNOWN_FIELDS.replace("PM-2024-018", "PM-2024-017"), encoding="utf-8")
    pending, second = run(docs, settings, paths=[docs / NAME])
    assert not pending.cache_hit and calls == [NAME]
    assert [p.code for p in second.problems] == ["duplicate-id"] and [p.code for p in first.problems] == []


def test_the_key_covers_every_option(tmp_path):
    docs = corpus(tmp_path)
    settings = Settings(docs_dir=docs)
    inventory = validation.collect([docs], settings)

    def key(**changes):
        return validation_cache.validation_key([docs], dataclasses.replace(settings, **changes), TODAY, True,
                                               inventory)

    base = key()
    assert base == key() and re.fullmatch(r"[0-9a-f]{64}", base)
    changed = {"ignore": ["index.md"], "templates": [], "broken_links": "warning", "max_file_size": 10,
               "phone_region": "GB", "top_k": 3, "min_score": 0.5, "cluster_threshold": 0.5,
               "field_weights": {"title": 1.0}, "attachments": [".png"], "semantic": "off", "cache_dir": "other",
               "audience": "public", "default_visibility": "public", "problems_file": "other.yml",
               "synonyms": [["a", "b"]], "builtin_synonyms": False, "vocabulary": {"tags": ["tls"]},
               "today": "latest", "config_file": tmp_path / "mkdocs.yml", "markdown_extensions": ["toc"]}
    assert set(changed) | {"docs_dir"} == {f.name for f in dataclasses.fields(Settings)}
    keys = {name: key(**{name: value}) for name, value in changed.items()}
    assert base not in keys.values() and len(set(keys.values())) == len(changed)
    assert validation_cache.validation_key([docs], settings, TODAY, False, inventory) != base
    assert validation_cache.validation_key([docs, docs], settings, TODAY, True, inventory) != base


def test_the_key_holds_the_version_of_every_distribution_the_checks_import():
    """Every third-party module the validation's modules import (``generator.validate`` and what
    it imports, as written in their source) belongs to a distribution of DISTRIBUTIONS."""
    from importlib import metadata

    root = ROOT / "generator"
    todo, seen, modules = ["validate"], set(), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in ast.walk(ast.parse((root / f"{name.replace('.', '/')}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                todo.extend([node.module] if node.module else [a.name for a in node.names])
            elif isinstance(node, ast.ImportFrom):
                modules.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                modules.update(a.name.split(".")[0] for a in node.names)
    third_party = sorted(m for m in modules if m not in sys.stdlib_module_names)
    assert {"detect_secrets", "jsonschema_rs", "markdown_it", "nh3", "phonenumbers", "slugify", "yaml"} \
        <= set(third_party)
    owners = metadata.packages_distributions()

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    listed = {normal(d) for d in validation_cache.DISTRIBUTIONS}
    missing = {m: owners.get(m) for m in third_party if not {normal(d) for d in owners.get(m, [m])} & listed}
    assert missing == {}


def test_the_versions_are_those_importlib_metadata_reads():
    from importlib import metadata

    from generator.cache import distribution_versions

    expected = []
    for name in (*validation_cache.DISTRIBUTIONS, "no-such-distribution-pmkb"):
        try:
            expected.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            expected.append(f"{name} absent")
    assert distribution_versions([*validation_cache.DISTRIBUTIONS, "no-such-distribution-pmkb"]) == expected
    assert expected[-1] == "no-such-distribution-pmkb absent"


def test_sections_are_stored_as_places_in_the_body_and_come_back_exactly():
    body = "\n## Summary\n\nA.\n\n## Impact\n\nB.\n\n## Summary\n\nC.\n"
    sections = {"Summary": "C.", "Impact": "B.", "Other": "not in the body"}
    stored = validation_cache._sections_out(body, sections)
    assert stored == {"$sections": [["Summary", 44, 2], ["Impact", 28, 2], ["Other", "not in the body"]]}
    assert validation_cache._sections_in(body, json.loads(json.dumps(stored))) == sections
