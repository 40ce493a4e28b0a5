"""The rendered site source on disk (issue #16 item 1): a build with nothing changed reads it
instead of analysing and rendering, gives the same site byte for byte, and never believes an
entry this user's runs did not write."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator import site_cache
from generator.analysis import Analysis
from generator.cache import Cache
from generator.model import Postmortem
from generator.render import SiteOptions, render_site
from generator.settings import Settings
from generator.synonyms import build as synonyms

from .sitebuild import engine_available, make_project

TODAY = dt.date(2026, 11, 29)


@pytest.fixture(autouse=True)
def own_key(tmp_path, monkeypatch):
    """Every test gets its own HMAC key file and cache folder (never the user's or the session's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.setenv("PMKB_CACHE_DIR", str(tmp_path / "cache"))


def pm(i: int, **changes) -> Postmortem:
    day = dt.date(2024, 1, 1) + dt.timedelta(days=i)
    start = dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=dt.timezone.utc)
    values = dict(id=f"PM-2024-{i:03d}", title=f"Checkout down {i}", date=day, severity="SEV2", status="final",
                  services=["checkout-api"], authors=["a"], path=f"{day.isoformat()}-inc-{i}.md",
                  started_at=start, resolved_at=start + dt.timedelta(minutes=90), summary=f"Summary {i}.")
    values.update(changes)
    return Postmortem(**values)


def test_an_entry_gives_back_the_same_site_source_and_messages(tmp_path):
    items = [pm(i) for i in range(5)]
    source = render_site(items, Analysis(postmortems=items), SiteOptions("KB", TODAY, site_url="https://kb.example/"))
    messages = [("info", "no shared vocabulary"), ("warning", "related incidents are unavailable")]
    cache = Cache(tmp_path / "entries")
    assert site_cache.save(cache, "k", source, messages)
    again, told = site_cache.load(Cache(tmp_path / "entries"), "k")
    assert again == source  # every page, post-mortem page (tuples stay tuples), file, nav entry
    assert told == messages
    assert sorted(again.files) == sorted(source.files) and again.files["feed.xml"] == source.files["feed.xml"]
    assert site_cache.load(cache, "another key") is None


def test_a_planted_or_damaged_entry_is_a_miss(tmp_path):
    items = [pm(i) for i in range(3)]
    source = render_site(items, Analysis(postmortems=items), SiteOptions("KB", TODAY))
    cache = Cache(tmp_path / "entries")
    site_cache.save(cache, "k", source, [])
    entry = cache._path(site_cache.NAMESPACE, "k")
    # A pull request commits an entry of the right format and key whose home page runs script,
    # without the HMAC of this user's key: never read.
    forged = dataclasses.replace(source, pages={**source.pages, "index.md": "<script>alert(1)</script>"})
    entry.write_bytes(site_cache.encode(forged, [], "k"))
    assert site_cache.load(Cache(tmp_path / "entries"), "k") is None
    # Authenticated, but not an entry of this format (a later release's, damaged): a miss too.
    cache.put(site_cache.NAMESPACE, "k", site_cache.encode(source, [], "k")[:-10])
    assert site_cache.load(cache, "k") is None
    cache.put(site_cache.NAMESPACE, "k", b"\0" * 8 + b"{}")
    assert site_cache.load(cache, "k") is None
    rendered = []
    got, _, hit = site_cache.cached_site(cache, "k", lambda: rendered.append(1) or (source, []))
    assert (hit, rendered, got) == (False, [1], source)
    got, _, hit = site_cache.cached_site(cache, "k", lambda: rendered.append(2) or (source, []))
    assert (hit, rendered) == (True, [1])  # rewritten by the miss, read now
    got.pages["index.md"] = "changed by the caller"
    assert site_cache.cached_site(cache, "k", lambda: (source, []))[0].pages["index.md"] == source.pages["index.md"]


def test_the_key_changes_with_everything_the_site_is_made_of(tmp_path):
    problems = tmp_path / "problems.yml"
    settings = Settings(docs_dir=tmp_path, semantic="off", config_file=tmp_path / "mkdocs.yml")
    items = [pm(i) for i in range(4)]
    options = SiteOptions("KB", TODAY, internal=frozenset({"PM-2024-001"}), synonyms=synonyms([], True))

    def key(published=items, drafts=(), settings=settings, options=options, engine="mkdocs"):
        return site_key(published, drafts, settings, options, engine)

    site_key = site_cache.site_key
    base = key()
    assert key() == base  # (the same input: the same key, in another call)
    assert key(published=[pm(0, summary="Edited.")] + items[1:]) != base        # a post-mortem's text
    assert key(published=list(reversed(items))) != base                         # the order pages list them in
    assert key(published=items[:3]) != base
    assert key(drafts=[pm(9, status="draft")]) != base
    assert key(engine="zensical") != base
    assert key(options=dataclasses.replace(options, today=TODAY + dt.timedelta(days=1))) != base  # report day
    assert key(options=dataclasses.replace(options, site_name="Other")) != base
    assert key(options=dataclasses.replace(options, internal=frozenset())) != base
    assert key(options=dataclasses.replace(options, synonyms=synonyms([["disk full", "no space left"]], True))) != base
    assert key(options=dataclasses.replace(options, use_directory_urls=False)) != base
    assert key(settings=dataclasses.replace(settings, min_score=0.2)) != base    # an analysis option
    assert key(settings=dataclasses.replace(settings, broken_links="warning")) != base  # any other option
    problems.write_text("problems: []\n", encoding="utf-8")                     # the problems file's bytes
    with_problems = key()
    assert with_problems != base
    problems.write_text("problems: [] # edited\n", encoding="utf-8")
    assert key() != with_problems
    site_cache.package_digest.cache_clear()
    try:
        real = site_cache.package_digest()
        site_cache.package_digest.cache_clear()
        original = site_cache.code_digest
        site_cache.code_digest = lambda: "another release"
        assert site_cache.package_digest() != real                              # the package's code
    finally:
        site_cache.code_digest = original
        site_cache.package_digest.cache_clear()


def _build(project: Path, site: Path, *, engine: str = "mkdocs") -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OFFLINE": "false"}
    env.pop("SOURCE_DATE_EPOCH", None)
    if engine == "zensical":
        cmd = [sys.executable, "-c", "from generator.cli import main; main()", "build", "--engine", "zensical",
               "--strict"]
    else:
        cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-v", "-d", str(site)]
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    if engine == "zensical":
        (project / "site").rename(site)
    return done


def _files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("engine", ["mkdocs", "zensical"])
def test_a_warm_build_gives_the_cold_build_s_site_byte_for_byte(tmp_path, engine):
    if not engine_available(engine):
        pytest.skip("the [zensical] extra is not installed")
    project = make_project(tmp_path / "project", plugin_options="      semantic: \"off\"\n")
    cache = Path(os.environ["PMKB_CACHE_DIR"])
    cold = _build(project, tmp_path / "cold", engine=engine)
    entries = sorted((cache / site_cache.NAMESPACE).rglob("*"))
    assert len([e for e in entries if e.is_file()]) == 1
    warm = _build(project, tmp_path / "warm", engine=engine)
    if engine == "mkdocs":
        assert "site source rendered" in cold.stderr and "site source read from the cache" in warm.stderr
    cold_files, warm_files = _files(tmp_path / "cold"), _files(tmp_path / "warm")
    assert len(cold_files) > 40 and "index.html" in cold_files
    assert sorted(warm_files) == sorted(cold_files)
    assert [path for path in cold_files if warm_files[path] != cold_files[path]] == []
    # An entry planted in its place (the right name, another user's key) is not read: the
    # site is rendered again, the same.
    entry = next(e for e in (cache / site_cache.NAMESPACE).rglob("*") if e.is_file())
    data = entry.read_bytes()
    assert b"Incident post-mortems" in data  # (the site name, on the home page)
    entry.write_bytes(data.replace(b"Incident post-mortems", b"Planted site name"))
    planted = _build(project, tmp_path / "planted", engine=engine)
    if engine == "mkdocs":
        assert "site source rendered" in planted.stderr
    assert _files(tmp_path / "planted") == cold_files


def test_only_the_newest_entries_are_kept(tmp_path, monkeypatch):
    items = [pm(i) for i in range(2)]
    source = render_site(items, Analysis(postmortems=items), SiteOptions("KB", TODAY))
    monkeypatch.setattr(site_cache, "KEEP", 3)
    cache = Cache(tmp_path / "entries")
    for n in range(5):
        site_cache.save(cache, f"key {n}", source, [])
        entry = cache._path(site_cache.NAMESPACE, f"key {n}")
        os.utime(entry, ns=(n * 10**9, n * 10**9))  # (written a second apart)
    assert [n for n in range(5) if site_cache.load(cache, f"key {n}") is not None] == [2, 3, 4]
    assert len(list((tmp_path / "entries" / site_cache.NAMESPACE).glob("??/*"))) == 3
