"""Write confinement: nothing is written or deleted through a symbolic link a pull request committed.

A pull request can commit links into the folders the tool writes (the cache folder, the Zensical
build folder, ``site_dir``; git-ignored folders too, with ``git add -f``). Each test plants such
a link to a "victim" file or folder outside the project, runs the command, and asserts the
victim is byte for byte what it was, with the message and the exit code the command gives.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from generator import cache as cache_module
from generator.cache import Cache
from generator.cli import cli

from .test_validate import NAME, VALID

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32",
                                    reason="symbolic links need a POSIX system")

CONFIG = "site_name: Post-mortems\ndocs_dir: postmortems\nplugins:\n  - postmortems\n"
LINK_WARNING = "is a symbolic link; the cache does not follow links (remove it)"


def snapshot(path: Path) -> dict[str, bytes | str]:
    """Everything at ``path`` (a file, or a folder walked without following links): relative
    path -> bytes of a file, or ``"-> target"`` of a link."""
    if not path.is_dir() or path.is_symlink():
        return {".": path.read_bytes()}
    out: dict[str, bytes | str] = {}
    for top, dirs, names in os.walk(path):
        for name in dirs + names:
            entry = Path(top) / name
            rel = entry.relative_to(path).as_posix()
            if entry.is_symlink():
                out[rel] = "-> " + os.readlink(entry)
            elif entry.is_file():
                out[rel] = entry.read_bytes()
            else:
                out[rel] = "folder"
    return out


def victim_folder(tmp_path: Path) -> Path:
    """``tmp/victim/``: ten files in a folder named like a cache prefix, and a top-level file."""
    victim = tmp_path / "victim"
    (victim / "ab").mkdir(parents=True)
    for n in range(10):
        (victim / "ab" / f"entry-{n}").write_bytes(f"victim entry {n}\n".encode())
    (victim / "authorized_keys").write_text("ssh-ed25519 AAAA victim\n", encoding="utf-8")
    return victim


def project(tmp_path: Path, monkeypatch) -> Path:
    """``tmp/project/`` (mkdocs.yml, postmortems/ with one valid post-mortem) as the working
    directory, with the cache folder beside mkdocs.yml (``PMKB_CACHE_DIR`` unset)."""
    root = tmp_path / "project"
    (root / "postmortems").mkdir(parents=True)
    (root / "postmortems" / NAME).write_text(VALID, encoding="utf-8")
    (root / "mkdocs.yml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.delenv("PMKB_CACHE_DIR", raising=False)
    monkeypatch.chdir(root)
    return root


# --- the cache folder ----------------------------------------------------------------------------


@needs_symlinks
def test_validate_writes_no_gitignore_or_tag_through_links_in_the_cache_folder(runner, tmp_path, monkeypatch):
    root = project(tmp_path, monkeypatch)
    victim = tmp_path / "bashrc"
    victim.write_text("export PATH=/usr/bin\n", encoding="utf-8")
    (root / ".pmkb-cache").mkdir()
    os.symlink(victim, root / ".pmkb-cache" / ".gitignore")
    os.symlink(tmp_path / "made-by-a-link", root / ".pmkb-cache" / "CACHEDIR.TAG")  # dangling
    done = runner.invoke(cli, ["validate"])
    assert done.exit_code == 0, done.output
    assert victim.read_text(encoding="utf-8") == "export PATH=/usr/bin\n"
    assert not (tmp_path / "made-by-a-link").exists()
    assert done.stderr.splitlines() == [
        f"warning: {root / '.pmkb-cache' / '.gitignore'} {LINK_WARNING}",
        f"warning: {root / '.pmkb-cache' / 'CACHEDIR.TAG'} {LINK_WARNING}",
    ]
    assert os.readlink(root / ".pmkb-cache" / ".gitignore") == str(victim)  # the link is left as it is
    assert (root / ".pmkb-cache" / "secret-scan").is_dir()  # the rest of the cache works
    again = runner.invoke(cli, ["validate"])
    assert again.exit_code == 0 and again.stderr == ""  # one warning a run for each path


@needs_symlinks
def test_a_linked_namespace_folder_is_neither_read_written_nor_pruned(tmp_path, caplog):
    victim = victim_folder(tmp_path)
    before = snapshot(victim)
    folder = tmp_path / "cache"
    Cache(folder).put("other", "k", b"x")  # the folder exists, with its .gitignore and tag
    os.symlink(victim, folder / "site")
    cache = Cache(folder)
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.generator.cache"):
        cache.put("site", "key", b"data")
        assert cache.get("site", "key") is None
        assert cache.prune("site", keep=8) == 0
    assert snapshot(victim) == before
    assert [r.getMessage() for r in caplog.records] == [f"{folder / 'site'} {LINK_WARNING}"]


@needs_symlinks
def test_prune_deletes_only_regular_entries_never_through_a_linked_prefix_or_entry(tmp_path, caplog):
    victim = victim_folder(tmp_path)
    before = snapshot(victim)
    cache = Cache(tmp_path / "cache")
    for n in range(4):
        cache.put("site", f"key-{n}", b"entry")
        os.utime(cache._path("site", f"key-{n}"), ns=(n * 10**9, n * 10**9))  # key-3 the newest
    os.symlink(victim / "ab", tmp_path / "cache" / "site" / "zz")
    entry_link = cache._path("site", "key-0").parent / ("f" * 64)
    os.symlink(victim / "authorized_keys", entry_link)
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.generator.cache"):
        assert cache.prune("site", keep=2) == 2
    assert [cache.get("site", f"key-{n}") for n in range(4)] == [None, None, b"entry", b"entry"]
    assert snapshot(victim) == before
    assert os.path.islink(entry_link) and os.path.islink(tmp_path / "cache" / "site" / "zz")
    assert sorted(r.getMessage() for r in caplog.records) == sorted([
        f"{entry_link} {LINK_WARNING}", f"{tmp_path / 'cache' / 'site' / 'zz'} {LINK_WARNING}"])


@needs_symlinks
def test_a_linked_cache_folder_caches_nothing_and_writes_nothing_where_it_points(runner, tmp_path, monkeypatch):
    root = project(tmp_path, monkeypatch)
    victim = victim_folder(tmp_path)
    before = snapshot(victim)
    os.symlink(victim, root / ".pmkb-cache")
    done = runner.invoke(cli, ["validate"])
    assert done.exit_code == 0, done.output
    assert snapshot(victim) == before
    assert done.stderr.splitlines() == [f"warning: {root / '.pmkb-cache'} {LINK_WARNING}"]


@needs_symlinks
def test_a_cache_folder_linked_into_the_docs_folder_is_named_as_a_link(runner, tmp_path, monkeypatch):
    root = project(tmp_path, monkeypatch)
    before = snapshot(root / "postmortems")
    os.symlink("postmortems", root / ".pmkb-cache")
    done = runner.invoke(cli, ["validate"])
    assert done.exit_code == 2
    assert done.stderr.splitlines()[-1] == (
        f"Error: {root / 'mkdocs.yml'}: 'cache_dir' '.pmkb-cache': {root / '.pmkb-cache'} is a symbolic link into "
        f"the docs folder {root / 'postmortems'}; the cache does not follow links (remove it)")
    assert snapshot(root / "postmortems") == before


@needs_symlinks
def test_a_folder_linked_above_the_cache_folder_inside_the_project_is_refused(tmp_path, monkeypatch, caplog):
    root = project(tmp_path, monkeypatch)
    victim = victim_folder(tmp_path)
    before = snapshot(victim)
    (root / "mkdocs.yml").write_text("docs_dir: postmortems\nplugins:\n  - postmortems:\n"
                                     "      cache_dir: build/cache\n", encoding="utf-8")
    os.symlink(victim, root / "build")
    from generator.settings import load_settings

    cache = Cache(load_settings(root / "mkdocs.yml").cache_path())
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.generator.cache"):
        cache.put("site", "k", b"data")
        assert cache.get("site", "k") is None
    assert snapshot(victim) == before
    assert [r.getMessage() for r in caplog.records] == [f"{root / 'build'} {LINK_WARNING}"]


def test_pmkb_cache_dir_and_a_cache_dir_outside_the_project_are_the_users_and_work(tmp_path, monkeypatch):
    real = tmp_path / "ci-cache"
    real.mkdir()
    root = project(tmp_path, monkeypatch)
    from generator.settings import load_settings

    monkeypatch.setenv("PMKB_CACHE_DIR", str(real))
    settings = load_settings(root / "mkdocs.yml")
    assert settings.cache_path() == real
    cache = Cache(settings.cache_path())
    cache.put("ns", "k", b"kept")
    assert Cache(settings.cache_path()).get("ns", "k") == b"kept"
    monkeypatch.delenv("PMKB_CACHE_DIR")
    (root / "mkdocs.yml").write_text("docs_dir: postmortems\nplugins:\n  - postmortems:\n"
                                     "      cache_dir: ../ci-cache\n", encoding="utf-8")
    assert load_settings(root / "mkdocs.yml").cache_path() == real
    assert Cache(load_settings(root / "mkdocs.yml").cache_path()).get("ns", "k") == b"kept"


@needs_symlinks
def test_the_key_is_not_made_in_a_linked_key_folder(tmp_path, monkeypatch, caplog):
    victim = victim_folder(tmp_path)
    before = snapshot(victim)
    home = tmp_path / "home-cache"
    home.mkdir()
    os.symlink(victim, home / "postmortem-kb")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    cache = Cache(tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.generator.cache"):
        cache.put("ns", "k", b"data")
        assert cache.get("ns", "k") is None
    assert snapshot(victim) == before
    assert not (tmp_path / "cache").exists()  # without a key nothing is cached
    assert [r.getMessage() for r in caplog.records] == [f"{home / 'postmortem-kb'} {LINK_WARNING}"]
    assert cache_module.secret_path() == home / "postmortem-kb" / "cache.key"


# --- the Zensical build folder -------------------------------------------------------------------

BUILD_MESSAGE = ("ERROR   -  {link}: a symbolic link in the build folder, which the build never follows: remove the "
                 "symbolic link {link}; the build folder is the adapter's own")


def _zensical_only():
    from .sitebuild import engine_available

    if not engine_available("zensical"):
        pytest.skip("the [zensical] extra is not installed")


def _targets(tmp_path: Path, root: Path) -> dict[str, Path]:
    victim_file = tmp_path / "victim.txt"
    victim_file.write_text("victim file\n", encoding="utf-8")
    return {"victim": victim_folder(tmp_path), "victim-file": victim_file, "postmortems": root / "postmortems"}


@needs_symlinks
@pytest.mark.parametrize("where, target", [
    (".pmkb-build", "victim"),
    (".pmkb-build/zensical", "victim"),
    (".pmkb-build/zensical/docs", "victim"),        # its stale files were deleted, the site source written there
    (".pmkb-build/zensical/docs", "postmortems"),   # every post-mortem was overwritten
    (".pmkb-build/zensical/docs/incidents", "victim"),
    (".pmkb-build/zensical/mkdocs.yml", "victim-file"),
    (".pmkb-build/zensical/site", "victim"),
    (".pmkb-build/zensical/.cache/12458582014954346072", "victim-file"),  # the engine's own cache
])
def test_the_zensical_build_follows_no_link_in_its_build_folder(runner, tmp_path, monkeypatch, where, target):
    _zensical_only()
    from .sitebuild import make_project

    root = make_project(tmp_path / "p")
    targets = _targets(tmp_path, root)
    before = {name: snapshot(path) for name, path in targets.items()}
    link = root / where
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(targets[target], link.parent), link)  # as committed: relative
    monkeypatch.chdir(root)
    done = runner.invoke(cli, ["build", "--engine", "zensical"])
    assert done.exit_code == 1, done.output
    assert done.stderr.splitlines()[-1] == BUILD_MESSAGE.format(link=link)
    assert {name: snapshot(path) for name, path in targets.items()} == before
    assert os.path.islink(link) and not (root / "site").exists()


# --- site_dir ------------------------------------------------------------------------------------

SITE_MESSAGE = ("site_dir {site}{what} is a symbolic link; the build never deletes or writes through a link: "
                "remove the symbolic link {link}, or set site_dir to a real folder")


def _linked_site(tmp_path: Path, where: str) -> tuple[Path, Path, Path, Path]:
    """A project whose site_dir (``site``, or ``out/site`` for a link at ``out``) is or holds a
    link ``where`` to a victim folder: (project, site_dir, the link, the victim)."""
    from .sitebuild import make_project

    root = make_project(tmp_path / "p")
    site = root / "site"
    if where.startswith("out"):
        config = root / "mkdocs.yml"
        config.write_text(config.read_text(encoding="utf-8").replace("site_dir: site", "site_dir: out/site"),
                          encoding="utf-8")
        site = root / "out" / "site"
    victim = victim_folder(tmp_path)
    (victim / "site").mkdir()
    (victim / "site" / "index.html").write_text("victim's own page\n", encoding="utf-8")
    link = root / where
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(victim, link)
    return root, site, link, victim


def _site_message(site: Path, link: Path) -> str:
    return SITE_MESSAGE.format(site=site, what="" if link == site else f": {link}", link=link)


@needs_symlinks
@pytest.mark.parametrize("engine", ["mkdocs", "zensical"])
@pytest.mark.parametrize("where", ["site", "out", "site/assets"])
def test_pmkb_build_refuses_a_linked_site_dir_before_deleting_anything(runner, tmp_path, monkeypatch, engine, where):
    if engine == "zensical":
        _zensical_only()
    root, site, link, victim = _linked_site(tmp_path, where)
    before = snapshot(victim)
    monkeypatch.chdir(root)
    done = runner.invoke(cli, ["build", "--engine", engine])
    assert done.exit_code == 1, done.output
    assert done.stderr.splitlines()[-1] == "ERROR   -  " + _site_message(site, link)
    assert snapshot(victim) == before
    assert not (root / ".pmkb-build").exists()  # refused before the site source is written


@needs_symlinks
@pytest.mark.slow
@pytest.mark.parametrize("where", ["site", "site/assets"])
def test_mkdocs_build_with_the_plugin_refuses_a_linked_site_dir(tmp_path, where):
    """MkDocs' clean step empties the folder a linked site_dir points to, and cannot remove a
    linked folder inside it (then writes through it): the plugin stops in on_config, before."""
    import subprocess

    root, site, link, victim = _linked_site(tmp_path, where)
    before = snapshot(victim)
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=root, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 1, done.stderr
    assert "ERROR   -  " + _site_message(site, link) in done.stderr.splitlines()
    assert snapshot(victim) == before


@needs_symlinks
@pytest.mark.slow
def test_a_project_reached_through_a_link_and_a_site_dir_outside_it_still_build_with_zensical(runner, tmp_path):
    """What is above the project's folder, and a site_dir the user names outside it, are the
    user's own: a real folder there is built into (its old files replaced) as before."""
    _zensical_only()
    from .sitebuild import make_project

    root = make_project(tmp_path / "p")
    out = tmp_path / "published"
    out.mkdir()
    (out / "old.html").write_text("an old build\n", encoding="utf-8")
    config = root / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("site_dir: site", f"site_dir: {out}"),
                      encoding="utf-8")
    os.symlink(root, tmp_path / "checkout")
    done = runner.invoke(cli, ["-f", str(tmp_path / "checkout" / "mkdocs.yml"), "build", "--engine", "zensical"])
    assert done.exit_code == 0, done.output
    assert (out / "index.html").is_file() and not (out / "old.html").exists()
    assert (root / ".pmkb-build" / "zensical" / "docs" / "index.md").is_file()


# --- the problems file ---------------------------------------------------------------------------


@needs_symlinks
def test_a_linked_problems_file_is_reported_and_never_read_or_rewritten(runner, tmp_path, monkeypatch):
    """problems_path() resolved the file: a committed problems.yml linked to another file was
    read as the problems file, and 'pmkb problems --write' replaced the file it points to."""
    root = project(tmp_path, monkeypatch)
    victim = tmp_path / "settings.yml"
    victim.write_text("", encoding="utf-8")  # (an empty YAML file: a problems file to the old code)
    os.symlink(victim, root / "problems.yml")
    checked = runner.invoke(cli, ["validate"])
    assert checked.exit_code == 1
    assert checked.stdout.splitlines()[0] == ("problems.yml: error problems-yaml: the problems file is a symbolic "
                                              "link (replace the link with a regular file)")
    done = runner.invoke(cli, ["problems", "--write"])
    assert done.exit_code == 1
    assert done.stderr.splitlines()[-1] == (f"Error: problems.yml was not changed: {root / 'problems.yml'} is a "
                                            "symbolic link, which is never written through (replace it with a "
                                            "regular file)")
    assert victim.read_bytes() == b"" and os.path.islink(root / "problems.yml")
    os.unlink(root / "problems.yml")  # a regular file is written, and rewritten in place, as before
    assert runner.invoke(cli, ["problems", "--write"]).exit_code == 0
    assert (root / "problems.yml").read_text(encoding="utf-8").startswith("# Names of recurring problems")
    assert sorted(p.name for p in root.iterdir()) == [".pmkb-cache", "mkdocs.yml", "postmortems", "problems.yml"]
