"""The cache folder and the optional sentence model (``[semantic]`` extra), fused with TF-IDF."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator import semantic
from generator.analysis import analyse, build_index
from generator.cache import Cache, digest
from generator.settings import ConfigError, Settings, load_settings
from generator.validate import validate

CORPUS = Path(__file__).parent / "fixtures" / "similarity" / "corpus"

needs_model = pytest.mark.skipif(
    not semantic.available() and not os.environ.get("PMKB_REQUIRE_SEMANTIC"),
    reason="the [semantic] extra is not installed (CI installs it and sets PMKB_REQUIRE_SEMANTIC)")


def load(folder: Path):
    result = validate([folder], Settings(docs_dir=folder), scan_secrets=False)
    assert not result.errors
    return result.postmortems


def test_cache_stores_misses_and_hits(tmp_path):
    cache = Cache(tmp_path / "c")
    assert cache.get("ns", "k") is None and (cache.hits, cache.misses) == (0, 1)
    cache.put("ns", "k", b"\x00\x01")
    assert cache.get("ns", "k") == b"\x00\x01" and (cache.hits, cache.misses) == (1, 1)
    assert (tmp_path / "c" / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert (tmp_path / "c" / "CACHEDIR.TAG").read_text(encoding="utf-8").startswith(
        "Signature: 8a477f597d28d172789f06886806bc55")
    assert digest("ab", "c") != digest("a", "bc")


def test_cache_never_fails_on_an_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    cache = Cache(blocker / "cache")  # a folder under a regular file cannot exist
    cache.put("ns", "k", b"data")
    assert cache.get("ns", "k") is None


def test_cache_dir_is_beside_mkdocs_yml_and_never_inside_the_docs_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("PMKB_CACHE_DIR", raising=False)
    (tmp_path / "postmortems").mkdir()
    config = tmp_path / "mkdocs.yml"
    config.write_text("docs_dir: postmortems\nplugins:\n  - postmortems\n", encoding="utf-8")
    assert load_settings(config).cache_path() == (tmp_path / ".pmkb-cache").resolve()
    config.write_text("docs_dir: postmortems\nplugins:\n  - postmortems:\n      cache_dir: postmortems/c\n",
                      encoding="utf-8")
    with pytest.raises(ConfigError, match="'cache_dir' 'postmortems/c' is inside the docs folder"):
        load_settings(config)


def test_without_the_extra_links_are_tfidf_and_the_note_is_said_once(monkeypatch):
    pms = load(CORPUS)
    monkeypatch.setattr(semantic, "available", lambda: False)
    monkeypatch.setattr(semantic, "_noted", False)
    first = analyse(pms, Settings())
    second = analyse(pms, Settings())
    assert first.notes == [semantic.EXTRA_HINT] and second.notes == []
    assert not first.semantic
    off = analyse(pms, Settings(semantic="off"))
    assert first.related == off.related
    assert {link.via for links in first.related.values() for link in links} == {"tfidf", "pinned"}
    on = analyse(pms, Settings(semantic="on"))
    assert any("semantic: on, but the [semantic] extra is not installed" in w for w in on.warnings)


@needs_model
def test_bundled_model_embeds_with_pinned_files():
    vectors = semantic.SentenceModel().embed(["TLS certificate expired", "certificate expiry broke TLS",
                                              "disk full after log rotation stopped"])
    assert vectors.shape == (3, 384)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.6 > sims[0, 2]


@needs_model
def test_semantic_related_ids_are_exact_and_say_how_they_were_found(tmp_path, monkeypatch):
    monkeypatch.setenv("PMKB_CACHE_DIR", str(tmp_path / "cache"))
    pms = load(CORPUS)
    result = analyse(pms, Settings(semantic="on"))
    assert result.semantic
    assert {pid: [(link.id, link.via) for link in links] for pid, links in result.related.items()} == {
        "PM-2024-001": [("PM-2024-004", "both"), ("PM-2024-007", "both")],
        "PM-2024-002": [("PM-2024-005", "both")],
        "PM-2024-003": [("PM-2024-002", "pinned")],
        "PM-2024-004": [("PM-2024-001", "both")],
        "PM-2024-005": [("PM-2024-002", "both")],
        "PM-2024-007": [("PM-2024-001", "both")],
    }
    # The explanation still comes from TF-IDF.
    assert result.related["PM-2024-001"][0].terms[:3] == ("certificate", "renewal", "tls")


@needs_model
def test_embeddings_are_cached_by_content_one_edit_embeds_one_file(tmp_path):
    import dataclasses

    pms = load(CORPUS)
    semantic._memory.clear()
    cache = Cache(tmp_path / "cache")
    first, embedded = semantic.embed_postmortems(pms, cache)
    assert embedded == 6 and cache.misses == 6
    semantic._memory.clear()
    again, embedded = semantic.embed_postmortems(pms, cache)
    assert embedded == 0 and cache.hits == 6
    assert (first == again).all()
    edited = [dataclasses.replace(pms[0], summary=pms[0].summary + " Renewal now alerts.")] + pms[1:]
    semantic._memory.clear()
    _, embedded = semantic.embed_postmortems(edited, cache)
    assert embedded == 1


@needs_model
def test_semantic_output_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("PMKB_CACHE_DIR", str(tmp_path / "cache"))
    pms = load(CORPUS)
    a = build_index(pms, Settings(semantic="on"))
    semantic._memory.clear()
    b = build_index(pms, Settings(semantic="on"))
    assert a.related_links() == b.related_links() and a.semantic == b.semantic


@needs_model
def test_similar_text_query_is_embedded_and_fused(tmp_path, monkeypatch):
    """With the extra, a free-text query is embedded too: the model finds the certificate
    incidents for words none of them uses ("expiration of the X.509 credential")."""
    monkeypatch.setenv("PMKB_CACHE_DIR", str(tmp_path / "cache"))
    settings = Settings(semantic="on")
    index = build_index(load(CORPUS), settings)
    assert index.semantic is not None
    query = "expiration of the X.509 credential broke HTTPS handshakes"
    tfidf_only = build_index(load(CORPUS), Settings(semantic="off")).similar_to(query)
    fused = index.similar_to(query)
    assert [(link.id, link.via) for link in fused] == [
        ("PM-2024-001", "both"), ("PM-2024-004", "semantic"), ("PM-2024-007", "semantic")]
    assert {link.id for link in tfidf_only} <= {link.id for link in fused}
