"""The analysis on disk (issue #16 item 1): the same results from the cache as without it, only
what an edit changed recomputed, and every entry that is not this user's own ignored."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from generator import analysis_cache, semantic
from generator.analysis import analyse, build_index
from generator.cache import Cache, secret_path
from generator.settings import Settings
from generator.validate import validate

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "postmortems"
FIXTURE = Path(__file__).parent / "fixtures" / "similarity" / "corpus"

needs_model = pytest.mark.skipif(
    not semantic.available() and not os.environ.get("PMKB_REQUIRE_SEMANTIC"),
    reason="the [semantic] extra is not installed (CI installs it and sets PMKB_REQUIRE_SEMANTIC)")


@pytest.fixture(autouse=True)
def own_key(tmp_path, monkeypatch):
    """Every test gets its own HMAC key file (never the user's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))


def load(folder: Path, **options):
    settings = Settings(docs_dir=folder, semantic="off", **options)
    result = validate([folder], settings, scan_secrets=False)
    assert not result.errors
    return settings, [pm for pm in result.postmortems if pm.status != "draft"]


def same_analysis(a, b) -> None:
    assert a.related == b.related
    assert a.clusters == b.clusters
    assert a.cluster_of == b.cluster_of
    assert (a.warnings, a.notes, a.semantic) == (b.warnings, b.notes, b.semantic)


def same_index(built, restored) -> None:
    """Every field of the restored index equals the built one's."""
    for f in dataclasses.fields(built):
        mine, theirs = getattr(built, f.name), getattr(restored, f.name)
        if f.name == "tokenizer":
            assert [mine.display(t) for t in built.vocabulary] == [theirs.display(t) for t in built.vocabulary]
        elif f.name == "_neighbours":
            assert built.neighbours() == restored.neighbours()
        elif f.name == "_row_map":
            assert built._rows() == restored._rows()
        elif hasattr(mine, "toarray"):
            assert (mine != theirs).nnz == 0 and mine.shape == theirs.shape and mine.dtype == theirs.dtype
        elif isinstance(mine, np.ndarray):
            assert np.array_equal(mine, theirs) and mine.dtype == theirs.dtype
        elif f.name == "semantic" and mine is not None:
            assert mine == theirs
        elif f.name == "semantic_cache":  # context, not content: the cache folder the query embeds with
            assert getattr(mine, "folder", None) == getattr(theirs, "folder", None)
        else:
            assert mine == theirs, f.name


def test_the_shipped_corpus_gives_the_same_analysis_from_the_cache(tmp_path):
    settings, pms = load(SHIPPED)
    plain = analyse(pms, settings)
    cache = Cache(tmp_path / "cache")
    first = analyse(pms, settings, cache=cache)
    assert (cache.hits, cache.misses) == (0, 3)          # index, terms, analysis: all computed
    same_analysis(plain, first)
    again = Cache(tmp_path / "cache")
    second = analyse(pms, settings, cache=again)
    assert (again.hits, again.misses) == (2, 0)          # index and analysis read, nothing tokenised
    same_analysis(plain, second)
    same_index(plain.index, second.index)
    assert len(second.clusters) == len(plain.clusters) and second.clusters
    # The action items of a restored cluster are the post-mortems' own objects.
    by_id = {pm.id: pm for pm in pms}
    for cluster in second.clusters:
        for pid, item in cluster.action_items:
            assert any(item is own for own in by_id[pid].action_items)
    for query in ("certificate expired at midnight", "leap second", "disk full logs"):
        assert second.index.similar_to(query) == plain.index.similar_to(query)
    assert second.index.similar_to(pms[0]) == plain.index.similar_to(pms[0])


def test_after_one_edit_only_that_post_mortem_is_tokenised(tmp_path):
    settings, pms = load(SHIPPED)
    cache = Cache(tmp_path / "cache")
    analyse(pms, settings, cache=cache)
    edited = dataclasses.replace(pms[7], summary=pms[7].summary + " The certificate expired again.")
    corpus = pms[:7] + [edited] + pms[8:]
    store = analysis_cache.TermStore(Cache(tmp_path / "cache"))
    result = analyse(corpus, settings, cache=Cache(tmp_path / "cache"), terms=store)
    assert store.computed == 1
    same_analysis(analyse(corpus, settings), result)
    # The entry now holds this corpus' documents: the next edit of another file tokenises one.
    store = analysis_cache.TermStore(Cache(tmp_path / "cache"))
    other = dataclasses.replace(pms[3], title=pms[3].title + " again")
    analyse(pms[:3] + [other] + pms[4:7] + [edited] + pms[8:], settings, cache=Cache(tmp_path / "cache"), terms=store)
    assert store.computed == 1


def test_an_option_change_is_another_key_and_a_rendering_option_is_not(tmp_path):
    settings, pms = load(FIXTURE)
    key = analysis_cache.corpus_key(pms, settings)
    assert analysis_cache.corpus_key(list(reversed(pms)), settings) == key
    assert analysis_cache.corpus_key(pms, dataclasses.replace(settings, min_score=0.2)) != key
    assert analysis_cache.corpus_key(pms, dataclasses.replace(settings, field_weights={"title": 1.0})) != key
    assert analysis_cache.corpus_key(pms, dataclasses.replace(settings, audience="public")) == key
    assert analysis_cache.corpus_key(pms[1:], settings) != key
    changed = dataclasses.replace(pms[0], action_items=[dataclasses.replace(pms[0].action_items[0], status="done")])
    assert analysis_cache.corpus_key([changed] + pms[1:], settings) != key


def entries(folder: Path, namespace: str) -> list[Path]:
    return sorted(p for p in (folder / namespace).rglob("*") if p.is_file() and not p.name.startswith("."))


@pytest.mark.parametrize("damage", ["truncated", "flipped", "emptied"])
def test_a_damaged_entry_is_a_miss_and_is_written_again(tmp_path, damage):
    settings, pms = load(FIXTURE)
    plain = analyse(pms, settings)
    analyse(pms, settings, cache=Cache(tmp_path / "cache"))
    for namespace in ("index", "analysis", "terms"):
        for entry in entries(tmp_path / "cache", namespace):
            data = entry.read_bytes()
            entry.write_bytes({"truncated": data[: len(data) // 2], "emptied": b"",
                               "flipped": data[:-40] + bytes(b ^ 0x55 for b in data[-40:])}[damage])
    cache = Cache(tmp_path / "cache")
    same_analysis(plain, analyse(pms, settings, cache=cache))
    assert cache.hits == 0
    again = Cache(tmp_path / "cache")
    same_analysis(plain, analyse(pms, settings, cache=again))
    assert (again.hits, again.misses) == (2, 0)


def test_entries_planted_in_the_folder_or_made_with_another_key_are_ignored(tmp_path, monkeypatch):
    settings, pms = load(FIXTURE)
    plain = analyse(pms, settings)
    analyse(pms, settings, cache=Cache(tmp_path / "cache"))
    # A pull request commits a "cache" with a forged related link: same file names, its own
    # bytes (valid JSON of the right format and key, but no HMAC of this user's key).
    key = analysis_cache.corpus_key(pms, settings)
    forged = {"format": analysis_cache.FORMAT, "key": key, "warnings": [],
              "related": analysis_cache.to_json({pm.id: [] for pm in pms}), "clusters": []}
    entry = entries(tmp_path / "cache", "analysis")[0]
    entry.write_bytes(json.dumps(forged).encode())
    cache = Cache(tmp_path / "cache")
    same_analysis(plain, analyse(pms, settings, cache=cache))
    # Entries written by another user (another key) are ignored as well.
    shutil.rmtree(tmp_path / "cache")
    analyse(pms, settings, cache=Cache(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "someone-else"))
    cache = Cache(tmp_path / "cache")
    same_analysis(plain, analyse(pms, settings, cache=cache))
    assert cache.hits == 0
    key_file = secret_path()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_bytes()) == 32


def test_an_entry_moved_to_another_key_is_a_miss(tmp_path):
    cache = Cache(tmp_path / "c")
    cache.put("charts", "a", b"<svg>a</svg>")
    cache.put("charts", "b", b"<svg>b</svg>")
    cache._path("charts", "b").write_bytes(cache._path("charts", "a").read_bytes())
    assert cache.get("charts", "a") == b"<svg>a</svg>" and cache.get("charts", "b") is None


def test_an_entry_for_another_corpus_is_refused_by_its_shape(tmp_path):
    settings, pms = load(FIXTURE)
    cache = Cache(tmp_path / "cache")
    index = build_index(pms, settings, cache)
    key = analysis_cache.corpus_key(pms[1:], settings)
    assert analysis_cache.save_index(cache, key, index)  # (the right key, another corpus's index)
    assert analysis_cache.load_index(cache, key, pms[1:], settings) is None


def test_a_field_the_cache_cannot_store_means_no_entry(tmp_path):
    settings, pms = load(FIXTURE)
    index = build_index(pms, settings)
    index.warnings = [object()]
    assert not analysis_cache.save_index(Cache(tmp_path / "cache"), "k", index)


@needs_model
def test_the_sentence_model_vectors_are_restored_with_the_index(tmp_path):
    settings, pms = load(FIXTURE)
    settings = dataclasses.replace(settings, semantic="on")
    cache = Cache(tmp_path / "cache")
    first = analyse(pms, settings, cache=cache)
    assert first.semantic
    again = analyse(pms, settings, cache=Cache(tmp_path / "cache"))
    same_analysis(first, again)
    same_index(first.index, again.index)


def test_stop_words_are_scikit_learns_without_importing_it():
    code = ("import sys; from generator.similarity import stop_words, BOILERPLATE; words = stop_words(); "
            "assert 'sklearn' not in sys.modules; "
            "from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS; "
            "assert words == frozenset(ENGLISH_STOP_WORDS) | BOILERPLATE; print(len(ENGLISH_STOP_WORDS))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == 318  # scikit-learn's list (the Glasgow IR group's)


def test_a_query_vector_is_normalised_as_scikit_learn_does_to_the_last_bit():
    from scipy import sparse
    from sklearn.preprocessing import normalize

    from generator.similarity import _normalize_row

    rng = np.random.default_rng(7)
    for size in (1, 2, 9, 40, 333):
        data = rng.random(size) * 10.0 ** int(rng.integers(-3, 3))
        row = sparse.csr_matrix((data, (np.zeros(size, dtype=int), np.arange(size))), shape=(1, 400))
        assert np.array_equal(_normalize_row(row.copy()).data, normalize(row, norm="l2").data)


def run_pmkb(args, cwd, env_extra, imports=False):
    code = ("import sys; from generator.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('SKLEARN' if 'sklearn' in sys.modules else 'NO-SKLEARN', file=sys.stderr)")
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **env_extra})


def test_a_warm_similar_text_answers_without_scikit_learn(tmp_path):
    project = tmp_path / "kb"
    shutil.copytree(FIXTURE, project / "postmortems")
    (project / "mkdocs.yml").write_text("site_name: KB\ndocs_dir: postmortems\nplugins:\n  - postmortems:\n"
                                        "      semantic: \"off\"\n", encoding="utf-8")
    env = {"PMKB_CACHE_DIR": str(tmp_path / "cache"), "XDG_CACHE_HOME": str(tmp_path / "home-cache")}
    args = ["similar", "--text", "certificate expired", "--format", "json"]
    cold = run_pmkb(args, project, env)
    warm = run_pmkb(args, project, env)
    assert cold.stderr.splitlines()[-1] == "SKLEARN"
    assert warm.stderr.splitlines()[-1] == "NO-SKLEARN"
    assert json.loads(warm.stdout) == json.loads(cold.stdout)
    assert [r["id"] for r in json.loads(warm.stdout)["similar"]][:3] == ["PM-2024-004", "PM-2024-001", "PM-2024-007"]
