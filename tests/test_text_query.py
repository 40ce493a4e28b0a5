"""``pmkb similar --text`` from the cache without SciPy or scikit-learn (#16 item 1): the
:class:`~generator.text_query.TextQuery` gives the index's answers to the last bit, its cache
entry is authenticated like every other, and a cold cache still runs the scikit-learn path."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from generator import analysis_cache, semantic
from generator.analysis import build_index, text_query
from generator.cache import Cache
from generator.settings import Settings
from generator.text_query import TextQuery, round_like_numpy
from generator.validate import validate

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "postmortems"
FIXTURES = Path(__file__).parent / "fixtures" / "similarity"

needs_model = pytest.mark.skipif(
    not semantic.available() and not os.environ.get("PMKB_REQUIRE_SEMANTIC"),
    reason="the [semantic] extra is not installed (CI installs it and sets PMKB_REQUIRE_SEMANTIC)")

EDGE_QUERIES = [
    "certificate expired at midnight", "Certificates EXPIRED!", "disk full logs", "the and of it was",
    "zzzz-not-a-word", "Cloudflare GitHub", "证书过期", "certificate " * 50, "tls\tcert\nexpiry", "<!-- hint --> dns",
]


@pytest.fixture(autouse=True)
def own_key(tmp_path, monkeypatch):
    """Every test gets its own HMAC key file and cache folder (never the user's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.setenv("PMKB_CACHE_DIR", str(tmp_path / "model-cache"))


def load(folder: Path, semantic_option: str = "off"):
    """Settings and the post-mortems of ``folder`` (drafts too: the CJK fixture is drafts)."""
    settings = Settings(docs_dir=folder, semantic=semantic_option)
    result = validate([folder], settings, scan_secrets=False)
    assert not result.errors
    return settings, result.postmortems


def queries_of(pms) -> list[str]:
    """Every post-mortem's title and its summary's first sentence, then the edge cases."""
    return [pm.title for pm in pms] + [pm.summary.split(". ")[0] for pm in pms if pm.summary] + EDGE_QUERIES


def test_numpy_rounding_is_reproduced_bit_for_bit():
    rng = random.Random(16)
    values = [rng.random() for _ in range(20000)] + [rng.random() * 1e-6 for _ in range(2000)] + \
        [0.0, 1.0, 0.5e-9, 1.5e-9, 2.5e-9, 0.1234567895, 0.3922779885]
    assert [round_like_numpy(v) for v in values] == np.round(np.array(values), 9).tolist()
    assert [round_like_numpy(v, 1e6) for v in values] == np.round(np.array(values), 6).tolist()


@pytest.mark.parametrize("folder", [SHIPPED, FIXTURES / "corpus", FIXTURES / "cjk"], ids=["shipped", "corpus", "cjk"])
def test_text_queries_get_the_index_answers(folder):
    settings, pms = load(folder)
    index = build_index(pms, settings)
    query = TextQuery.from_index(index)
    compared = 0
    for text in queries_of(pms):
        for k, min_score in ((None, None), (20, 0.0)):
            expected = index.similar_to(text, k=k, min_score=min_score)
            assert query.similar_to(text, k=k, min_score=min_score) == expected, text
            compared += len(expected)
    assert compared > 2 * len(pms)  # (queries that find nothing prove nothing)


def test_the_shipped_answer_to_the_benchmark_query():
    settings, pms = load(SHIPPED)
    links = TextQuery.from_index(build_index(pms, settings)).similar_to("certificate expired at midnight")
    assert [(link.id, round(link.score, 3), link.terms) for link in links] == [
        ("PM-2018-009", 0.392, ("certificate", "expired")),
        ("PM-2019-003", 0.383, ("certificate", "expired", "midnight")),
        ("PM-2013-001", 0.363, ("certificate", "expired")),
        ("PM-2021-005", 0.212, ("certificate", "expired")),
        ("PM-2012-001", 0.148, ("certificate", "midnight")),
    ]


def test_the_stored_entry_answers_the_same(tmp_path):
    settings, pms = load(SHIPPED)
    cache = Cache(tmp_path / "cache")
    index = build_index(pms, settings, cache)  # stores the index and the text-query entry
    key = analysis_cache.corpus_key(pms, settings)
    restored = analysis_cache.load_text_query(cache, key, pms, settings)
    assert restored is not None
    built = TextQuery.from_index(index)
    for text in queries_of(pms)[::7]:
        assert restored.similar_to(text) == built.similar_to(text) == index.similar_to(text)
    assert (restored.warnings, restored.notes) == (index.warnings, index.notes)
    # Another corpus (one post-mortem fewer) has another key: a miss, answered from a new index.
    assert analysis_cache.load_text_query(cache, key, pms[1:], settings) is None
    fewer = text_query(pms[1:], settings, cache)
    assert fewer.ids == sorted(pm.id for pm in pms[1:])


def test_a_planted_or_damaged_entry_is_ignored(tmp_path, monkeypatch):
    settings, pms = load(FIXTURES / "corpus")
    key = analysis_cache.corpus_key(pms, settings)
    cache = Cache(tmp_path / "cache")
    # An entry written with another user's key (a pull request committing a cache folder).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "attacker"))
    forged = TextQuery.from_index(build_index(pms, settings))
    forged.ids[0] = "PM-6666-666"
    analysis_cache.save_text_query(Cache(tmp_path / "cache"), key, forged)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    planted = list((tmp_path / "cache" / "text-query").rglob("*"))
    assert [p for p in planted if p.is_file()]
    assert analysis_cache.load_text_query(cache, key, pms, settings) is None
    answer = text_query(pms, settings, cache).similar_to("certificate expired")
    assert [(link.id, round(link.score, 3)) for link in answer] == [
        ("PM-2024-004", 0.606), ("PM-2024-001", 0.563), ("PM-2024-007", 0.51)]
    # This user's own entry, but damaged: bytes cut short, a header that does not fit.
    good = cache.get("text-query", key)
    for damaged in (good[:-8], good[:40], b"\x00" * 8 + b"{}", b""):
        cache.put("text-query", key, damaged)
        assert analysis_cache.load_text_query(cache, key, pms, settings) is None
    size = int.from_bytes(good[:8], "big")
    header = json.loads(good[8:8 + size])
    header["lengths"]["col_rows"] += 1
    head = json.dumps(header).encode()
    cache.put("text-query", key, len(head).to_bytes(8, "big") + head + good[8 + size:])
    assert analysis_cache.load_text_query(cache, key, pms, settings) is None


def _similar(args: list[str], cwd: Path, env: dict) -> tuple[str, set[str]]:
    """``pmkb similar ARGS`` in a fresh interpreter: its output and the modules it imported."""
    code = ("import sys, json\nfrom generator.cli import cli\ntry:\n    cli(%r, prog_name=\"pmkb\")\nexcept SystemExit:\n"
            "    pass\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)" % (["similar", *args],))
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    return done.stdout, {m.split(".")[0] for m in json.loads(done.stderr.strip().splitlines()[-1])}


def test_cold_runs_scikit_learn_and_warm_answers_the_same_without_scipy(tmp_path):
    shutil.copytree(ROOT / "postmortems", tmp_path / "postmortems")
    (tmp_path / "mkdocs.yml").write_text((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "home-cache")}
    env.pop("PMKB_CACHE_DIR", None)  # the cache folder beside mkdocs.yml
    for fmt in ("text", "json"):
        args = ["--semantic", "off", "--format", fmt, "--text", "certificate expired at midnight"]
        shutil.rmtree(tmp_path / ".pmkb-cache", ignore_errors=True)
        cold, cold_modules = _similar(args, tmp_path, env)
        warm, warm_modules = _similar(args, tmp_path, env)
        assert {"sklearn", "scipy"} <= cold_modules and (tmp_path / ".pmkb-cache" / "text-query").is_dir()
        assert not warm_modules & {"sklearn", "scipy", "numpy"}
        assert warm == cold
    assert json.loads(warm)["similar"][0]["id"] == "PM-2018-009"
    assert warm.count('"id"') == 5


@needs_model
def test_with_the_sentence_model_the_fused_answers_are_the_index_answers(tmp_path):
    settings, pms = load(FIXTURES / "corpus", "on")
    cache = Cache(tmp_path / "cache")
    index = build_index(pms, settings, cache)
    assert index._vectors is not None
    restored = analysis_cache.load_text_query(cache, analysis_cache.corpus_key(pms, settings), pms, settings)
    assert restored is not None and restored.vectors is not None
    for text in queries_of(pms)[::2] + ["expiration of the X.509 credential broke HTTPS handshakes"]:
        assert restored.similar_to(text) == index.similar_to(text), text
    fused = restored.similar_to("expiration of the X.509 credential broke HTTPS handshakes")
    assert [(link.id, link.via) for link in fused] == [
        ("PM-2024-001", "both"), ("PM-2024-004", "semantic"), ("PM-2024-007", "semantic")]
