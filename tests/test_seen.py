""""Have we seen this?" (generator/seen.py): the exported model, the page, the site source.

The browser side (the same answers as ``pmkb similar --text`` in Chromium) is
``tests/test_seen_browser.py``; here the export itself is checked: decoding it the way
``seen.js`` does gives the index's weights bit for bit, the character classes are the
tokenizer's, the script round-trips any title, and both engines get the page.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from generator import seen
from generator.analysis import analyse, published
from generator.markup import Links
from generator.paths import HOME, SEEN
from generator.render import SiteOptions, render_site
from generator.settings import load_settings
from generator.validate import validate
from tests.conftest import ROOT, TODAY

FIXTURE = ROOT / "tests" / "fixtures" / "seen"
CJK_IDS = {"PM-2024-901", "PM-2024-902", "PM-2024-903", "PM-2024-905", "PM-2024-906"}


@pytest.fixture(scope="module")
def corpus():
    """The shipped post-mortems plus the CJK / identifier fixtures, analysed as the site does."""
    settings = load_settings(ROOT / "mkdocs.yml")
    settings.semantic = "off"
    result = validate([ROOT / "postmortems", FIXTURE], settings)
    assert result.errors == 0
    pms = published(result.postmortems)
    return pms, analyse(pms, settings)


def decode(model: dict) -> list[dict[int, float]]:
    """Per row, ``{column: weight}``, computed from the export exactly as ``seen.js`` does
    (sums in column order, the same operations)."""
    V, B, N = len(model["terms"]), len(model["blocks"]), len(model["docs"])
    lists = model.get("postings") or model["weights"]
    columns = []
    for c, values in enumerate(lists):
        rows = list(np.cumsum(values[0::2]).tolist()) if values else []
        if "postings" in model:
            w = [model["tf"][i] * model["idf"][c % V] for i in values[1::2]]
        else:
            w = list(values[1::2])
        columns.append((rows, w))
    if "postings" in model:
        block_sq = [0.0] * (N * B)
        for c, (rows, w) in enumerate(columns):
            for r, a in zip(rows, w):
                block_sq[r * B + c // V] += a * a
        scale = [math.sqrt(model["block_weights"][k % B]) / (math.sqrt(s) if s > 0 else 1.0)
                 for k, s in enumerate(block_sq)]
        row_sq = [0.0] * N
        for c, (rows, w) in enumerate(columns):
            for i, r in enumerate(rows):
                w[i] = w[i] * scale[r * B + c // V]
                row_sq[r] += w[i] * w[i]
        for rows, w in columns:
            for i, r in enumerate(rows):
                if row_sq[r]:
                    w[i] = w[i] / math.sqrt(row_sq[r])
    out: list[dict[int, float]] = [{} for _ in range(N)]
    for c, (rows, w) in enumerate(columns):
        for r, value in zip(rows, w):
            if value:
                out[r][c] = value
    return out


def matrix_rows(index) -> list[dict[int, float]]:
    X = index.matrix.tocsr()
    return [dict(zip(X.indices[X.indptr[i]:X.indptr[i + 1]].tolist(), X.data[X.indptr[i]:X.indptr[i + 1]].tolist()))
            for i in range(X.shape[0])]


def test_export_gives_the_index_weights_bit_for_bit(corpus):
    pms, analysis = corpus
    model = json.loads(json.dumps(seen.export_model(analysis.index, analysis.clusters, analysis.cluster_of)))
    assert model["format"] == seen.MODEL_FORMAT
    assert "postings" in model and "weights" not in model  # the lossless compact form
    assert [d[0] for d in model["docs"]] == analysis.index.ids
    assert len(model["docs"]) == 66 and model["terms"] == analysis.index.vocabulary
    assert decode(model) == matrix_rows(analysis.index)  # == on floats: every bit
    assert model["settings"] == {"top_k": 5, "min_score": 0.08, "score_decimals": 9, "terms_per_link": 5}


def test_export_sends_exact_weights_when_the_model_stops_factoring(corpus):
    """A model whose weights are not tf * idf * scale / norm any more (here: no tf kept) is
    exported with the weights themselves: bigger, still exact."""
    _, analysis = corpus
    index = analysis.index
    kept = index.term_frequencies
    try:
        index.term_frequencies = None
        model = json.loads(json.dumps(seen.export_model(index)))
    finally:
        index.term_frequencies = kept
    assert "weights" in model and "postings" not in model and model["tf"] == []
    assert decode(model) == matrix_rows(index)


def test_the_rows_and_clusters_of_the_export(corpus):
    pms, analysis = corpus
    model = seen.export_model(analysis.index, analysis.clusters, analysis.cluster_of, Links(False))
    by_id = {pm.id: pm for pm in pms}
    row = next(d for d in model["docs"] if d[0] == "PM-2024-002")
    assert row[:4] == ["PM-2024-002", "2024-07-19", "SEV1", by_id["PM-2024-002"].title]
    assert row[4] == by_id["PM-2024-002"].path[:-3] + ".html"
    for pid, cid in analysis.cluster_of.items():
        doc = next(d for d in model["docs"] if d[0] == pid)
        cluster = model["clusters"][doc[5]]
        expected = next(c for c in analysis.clusters if c.id == cid)
        assert cluster == [expected.id, expected.label or expected.id, expected.size,
                           f"clusters/{expected.id.lower()}.html"]
    lone = [d for d in model["docs"] if d[0] not in analysis.cluster_of]
    assert lone and all(d[5] == -1 for d in lone)
    # The unspaced-script text goes only with the post-mortems written in those scripts.
    assert {model["docs"][int(r)][0] for r in model["runs"]} == CJK_IDS
    runs = model["runs"][str(analysis.index.ids.index("PM-2024-901"))]
    assert "証明書の期限切れで決済" in runs and all(re.fullmatch(r"[\u3040-\u30ff\u4e00-\u9fff]+", r) for r in runs)


def _in(ranges, ch: str) -> bool:
    cp = ord(ch)
    return any(a <= cp <= b for a, b in ranges)


def test_character_classes_are_the_tokenizers():
    from generator import similarity as sim

    classes = seen.character_classes()
    word, space = re.compile(r"\w"), re.compile(r"\s")
    for cp in range(0x10000):  # the whole BMP, against the patterns themselves
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        unspaced = bool(sim._NO_SPACE_RUN.match(ch))
        assert _in(classes["unspaced"], ch) == unspaced, hex(cp)
        assert _in(classes["token"], ch) == (bool(sim._TOKEN.fullmatch(ch)) and not unspaced), hex(cp)
        assert _in(classes["letter"], ch) == bool(sim._HAS_LETTER.match(ch)), hex(cp)
        assert _in(classes["word"], ch) == bool(word.match(ch)), hex(cp)
        assert _in(classes["space"], ch) == bool(space.match(ch)), hex(cp)
    # Python's own ideas, which a browser's \w and \s do not share:
    assert _in(classes["space"], "\x1c") and not _in(classes["space"], "\ufeff")
    assert _in(classes["token"], "\u0661") and not _in(classes["letter"], "\u0661")  # Arabic-Indic digit one
    assert _in(classes["word"], "_") and not _in(classes["token"], "_")
    # CJK Extension B (outside the BMP) is not one of the unspaced ranges: a word, as in Python.
    assert _in(classes["token"], "\U00020000") and not _in(classes["unspaced"], "\U00020000")


def test_the_model_script_carries_any_title():
    model = {"format": 1, "docs": [["PM-1-001", "2024-01-01", "SEV1", "it's a \\ back'slash </script> \u2028 \"q\"",
                                    "x/", -1]]}
    script = seen.model_script(model)
    prefix, suffix = "window.__pmkbSeenModel=JSON.parse('", "');\n"
    assert script.startswith(prefix) and script.endswith(suffix)
    literal = script[len(prefix):-len(suffix)]
    assert re.search(r"(?<!\\)'", literal.replace("\\\\", "")) is None  # every quote escaped
    text = re.sub(r"\\(.)", r"\1", literal)  # what a JavaScript string literal unescapes
    assert json.loads(text) == model
    name = seen.model_path(script)
    assert re.fullmatch(r"assets/pmkb/seen-model\.[0-9a-f]{12}\.js", name)
    assert seen.model_path(script + " ") != name


@pytest.mark.parametrize("directory_urls, script_src, post_url", [
    (True, "../assets/pmkb/seen.js", "/"),
    (False, "assets/pmkb/seen.js", ".html"),
])
def test_site_source_has_the_page_script_and_model(corpus, directory_urls, script_src, post_url):
    pms, analysis = corpus
    source = render_site(pms, analysis, SiteOptions("KB", TODAY, use_directory_urls=directory_urls))
    page = source.pages[SEEN]
    assert page.startswith('---\ntitle: "Have we seen this?"\nhide: [toc]\nsearch:\n  exclude: true\n---\n')
    assert f'<script src="{script_src}"></script>' in page
    model_files = [p for p in source.files if p.startswith(seen.MODEL_PREFIX)]
    assert len(model_files) == 1
    assert f'data-model="{model_files[0].rsplit("/", 1)[1]}" data-count="66"' in page
    assert source.files[seen.SCRIPT] == (ROOT / "generator" / "assets" / "seen.js").read_bytes()
    script = source.files[model_files[0]].decode("utf-8")
    assert seen.model_path(script) == model_files[0]
    model = json.loads(re.sub(r"\\(.)", r"\1", script[len("window.__pmkbSeenModel=JSON.parse('"):-len("');\n")]))
    assert all(d[4].endswith(post_url) if not directory_urls else d[4].startswith("20") and d[4].endswith("/")
               for d in model["docs"])
    assert source.nav[:2] == [{"Home": HOME}, {"Have we seen this?": SEEN}]
    assert {"Have we seen this?": SEEN} in source.nav_appended
    href = "have-we-seen-this/" if directory_urls else "have-we-seen-this.html"
    assert f'<p class="pmkb-hero__seen"><a href="{href}">Have we seen this?</a>' in source.pages[HOME]


def test_no_page_without_a_similarity_index(corpus):
    """An analysis without an index (the similarity code failed to import) gives no page and
    no link to it."""
    from generator.analysis import Analysis

    pms, _ = corpus
    source = render_site(pms, Analysis(postmortems=pms), SiteOptions("KB", TODAY))
    assert SEEN not in source.pages and seen.SCRIPT not in source.files
    assert "have-we-seen-this" not in source.pages[HOME] and {"Have we seen this?": SEEN} not in source.nav


def test_a_configured_nav_without_the_page_gets_it(tmp_path):
    """Zensical's generated config (the MkDocs adapter does the same in on_config's nav):
    a project's own nav lacking the page gets it appended, once."""
    from generator.zensical import Project
    from tests.sitebuild import make_project

    project = make_project(tmp_path / "p", ROOT / "tests" / "fixtures" / "site" / "postmortems")
    config = project / "mkdocs.yml"
    text = config.read_text(encoding="utf-8").replace("  - Have we seen this?: have-we-seen-this.md\n", "")
    config.write_text(text, encoding="utf-8")
    built = Project(config)
    built.render()
    import yaml

    nav = yaml.safe_load((built.build / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    assert nav[-2:] == [{"Reports": "reports/index.md"}, {"Have we seen this?": "have-we-seen-this.md"}]
    assert (built.build / "docs" / "have-we-seen-this.md").is_file()


def test_pmkb_similar_semantic_off_gives_the_pages_ranking(runner):
    """``pmkb similar --text ... --semantic off``: TF-IDF alone (the page's answers) even where
    the [semantic] extra is installed and the option says auto."""
    from generator.cli import cli
    from generator.similarity import SimilarityIndex

    query = "x509: certificate has expired or is not yet valid; TLS handshake failures from partner clients"
    done = runner.invoke(cli, ["-f", str(ROOT / "mkdocs.yml"), "similar", "--text", query, "--semantic", "off",
                               "--format", "json"])
    assert done.exit_code == 0, done.output
    got = json.loads(done.stdout)["similar"]
    settings = load_settings(ROOT / "mkdocs.yml")
    index = SimilarityIndex.build(published(validate([ROOT / "postmortems"], settings).postmortems), settings)
    assert [(r["id"], r["score"], r["terms"], r["via"]) for r in got] == [
        (link.id, round(link.score, 3), list(link.terms), "tfidf") for link in index.similar_to(query)]
    assert [r["id"] for r in got][:2] == ["PM-2021-005", "PM-2013-001"]
