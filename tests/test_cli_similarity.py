"""``pmkb similar``, ``pmkb related``, ``pmkb clusters``: output shapes, errors, import hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli

FIXTURES = Path(__file__).parent / "fixtures" / "similarity"
CORPUS = FIXTURES / "corpus"
DRAFT = FIXTURES / "drafts" / "2024-11-02-payment-gateway-tls-certificate-expired.md"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def config(tmp_path) -> Path:
    """A mkdocs.yml with default options whose docs_dir is the fixture corpus."""
    path = tmp_path / "mkdocs.yml"
    path.write_text(f"site_name: t\ndocs_dir: {CORPUS}\nplugins:\n  - postmortems: {{}}\n", encoding="utf-8")
    return path


def run(config: Path, *args: str):
    result = CliRunner().invoke(cli, ["-f", str(config), *args], catch_exceptions=False)
    return result


def test_related_json_shape(config):
    result = run(config, "related", str(CORPUS), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["PM-2024-001", "PM-2024-002", "PM-2024-003", "PM-2024-004", "PM-2024-005",
                          "PM-2024-007"]
    assert [link["id"] for link in data["PM-2024-001"]] == ["PM-2024-004", "PM-2024-007"]
    for links in data.values():
        for link in links:
            assert set(link) == {"id", "score", "fused", "terms", "via"}
            assert link["score"] == round(link["score"], 3) and 0 <= link["score"] <= 1
            assert isinstance(link["terms"], list) and all(isinstance(t, str) for t in link["terms"])
    assert data["PM-2024-003"] == [{"id": "PM-2024-002", "score": 0.0, "fused": None, "terms": ["failed"],
                                    "via": "pinned"}]


def test_related_defaults_to_docs_dir_and_text_output(config):
    result = run(config, "related")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# pinned links first, then ranked by ")
    assert lines[1] == "PM-2024-001  Checkout API down after TLS certificate expired"
    assert lines[2].startswith("    PM-2024-004  ") and " 0.688  Edge proxy" in lines[2] and "[certificate, " in lines[2]
    assert any(line.endswith("(pinned)") for line in lines)


def test_clusters_json_shape(config):
    result = run(config, "clusters", str(CORPUS), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == ["clusters"]
    first = data["clusters"][0]
    assert {"id", "label", "members"} <= set(first)
    assert [(c["id"], c["members"]) for c in data["clusters"]] == [
        ("C-PM-2024-001", ["PM-2024-001", "PM-2024-004", "PM-2024-007"]),
        ("C-PM-2024-002", ["PM-2024-002", "PM-2024-005"]),
    ]
    assert first["label"] == "TLS certificate expired" and first["name"] is None
    assert (first["first"], first["last"]) == ("2024-01-10", "2024-09-15")
    assert first["severities"] == {"SEV1": 2, "SEV2": 1}
    # A v1 corpus: done items carry no done_at, so whether the problem came back after them is unknown.
    assert (first["fix_outcome"], first["recurred_after_fix"], first["recurrences"], first["recurrence_unknown"]) == \
        ("unknown", [], [], ["PM-2024-004", "PM-2024-007"])
    assert first["action_items"][0] == {"postmortem": "PM-2024-001", "title": "Automate certificate renewal with ACME",
                                        "owner": "platform-team", "status": "done", "due": None, "ticket": None,
                                        "done_at": None}


def test_clusters_text(config):
    result = run(config, "clusters")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == ("C-PM-2024-001  TLS certificate expired  (3 incidents, "
                                             "2024-01-10 .. 2024-09-15; 2 SEV1, 1 SEV2)")
    assert ("    may have come back after a fix (not known: the fix has no done_at, or was done the day it started): "
            "PM-2024-004, PM-2024-007") in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "2 clusters, 5 of 6 post-mortems"


def test_similar_draft_outside_the_corpus(config):
    result = run(config, "similar", str(DRAFT), "-k", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["query"], data["query_kind"], data["query_id"]) == (str(DRAFT), "file", "PM-2024-200")
    assert [(hit["id"], hit["date"]) for hit in data["similar"]] == [("PM-2024-004", "2024-05-02"),
                                                                      ("PM-2024-001", "2024-01-10")]
    assert set(data["similar"][0]) == {"id", "score", "fused", "terms", "via", "date", "title"}


def test_similar_by_id_and_by_text(config):
    result = run(config, "similar", "PM-2024-002")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# ranked by ")
    assert lines[1].startswith("PM-2024-005  2024-06-20  ") and "0.733  Database volume" in lines[1] and \
        lines[1].endswith("Database volume filled with unrotated logs")
    assert lines[2].startswith("    shared terms: logs, disk")
    text = run(config, "similar", "--text", "disk full of logs", "--format", "json")
    assert [hit["id"] for hit in json.loads(text.stdout)["similar"]] == ["PM-2024-005", "PM-2024-002"]


def test_similar_usage_errors(config):
    assert run(config, "similar").exit_code == 2
    assert run(config, "similar", "PM-2024-001", "--text", "x").exit_code == 2
    missing = run(config, "similar", "PM-1999-999")
    assert missing.exit_code == 2 and "neither a file nor the id" in missing.output


def test_empty_vocabulary_warns_on_stderr(config):
    result = run(config, "related", str(FIXTURES / "empty-vocabulary"), "--format", "json", "--include-drafts")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"PM-2025-001": [], "PM-2025-002": []}
    assert result.stderr.startswith("warning: not enough text to compare post-mortems")
    assert "Traceback" not in result.output


def test_validation_errors_give_a_note_and_skip_unreadable_files(config, tmp_path):
    folder = tmp_path / "pms"
    folder.mkdir()
    for file in CORPUS.glob("*.md"):
        (folder / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "2024-12-01-broken.md").write_text("---\nid: [unclosed\n---\n", encoding="utf-8")
    result = run(config, "related", str(folder), "--format", "json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 6
    assert result.stderr.startswith("note: ") and "1 file(s) whose front matter could not be read" in result.stderr


def test_validate_does_not_import_scikit_learn():
    code = ("import sys\nfrom generator.cli import cli\n"
            "try:\n    cli(['validate', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
            "print('SKLEARN' if 'sklearn' in sys.modules else 'CLEAN')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code, str(CORPUS)], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "CLEAN", proc.stdout + proc.stderr
    assert "6 files checked" in proc.stdout


def test_commands_are_registered_with_help():
    result = CliRunner().invoke(cli, ["--help"])
    for name in ("similar", "related", "clusters"):
        assert name in result.output
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0


def test_drafts_are_left_out_unless_asked_for(config):
    result = run(config, "related", str(FIXTURES / "empty-vocabulary"), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {}


def test_similar_file_is_itself_by_path_not_by_id(config, tmp_path):
    from generator.validate import display_path

    original = CORPUS / "2024-05-02-edge-proxy-tls-certificate-expired-again.md"
    twin = tmp_path / original.name  # another file with the same id, PM-2024-004
    twin.write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
    result = run(config, "similar", str(twin), "-k", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the file's path, not the id it shares with the corpus post-mortem
    assert (data["query"], data["query_kind"], data["query_id"]) == (str(twin), "file", "PM-2024-004")
    assert [(hit["id"], hit["score"]) for hit in data["similar"]] == [("PM-2024-004", 1.0), ("PM-2024-001", 0.688)]
    assert result.stderr == (f"warning: {twin} has id PM-2024-004, which {display_path(original)} in the corpus "
                             f"also uses; ids must be unique (give {twin} the next free id, PM-2024-008)\n")
    # PM-2024-007 says not_related: [PM-2024-004]: it stays out for the twin too.
    everything = json.loads(run(config, "similar", str(twin), "--min-score", "0", "-k", "9", "--format",
                                "json").stdout)
    assert "PM-2024-007" not in [hit["id"] for hit in everything["similar"]]

    itself = run(config, "similar", str(original), "-k", "2", "--format", "json")
    assert [(hit["id"], hit["score"]) for hit in json.loads(itself.stdout)["similar"]] == [("PM-2024-001", 0.688)]
    assert itself.stderr == ""
    folder = tmp_path / "copy"  # a --corpus folder other than docs_dir: its files are themselves too
    folder.mkdir()
    for file in CORPUS.glob("*.md"):
        (folder / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    other = run(config, "similar", str(folder / original.name), "--corpus", str(folder), "-k", "2",
                "--format", "json")
    assert [hit["id"] for hit in json.loads(other.stdout)["similar"]] == ["PM-2024-001"]
    assert other.stderr == ""


@pytest.mark.parametrize("text", ["", "   \t"])
def test_similar_empty_text_is_a_usage_error(config, text):
    result = run(config, "similar", "--text", text)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: --text is empty; give the words to search for, e.g. --text \"certificate expired\"")


CJK_PM = """\
---
id: {id}
title: {title}
date: 2024-05-0{day}
severity: SEV2
status: final
services: [orders-db]
authors: [li]
---

## Summary

{title}。
"""


def test_similar_cjk_terms_are_runs_of_the_text(tmp_path):
    docs = tmp_path / "pm"
    docs.mkdir()
    (docs / "2024-05-01-db.md").write_text(CJK_PM.format(id="PM-2024-301", title="数据库主库故障导致订单写入失败",
                                                         day=1), encoding="utf-8")
    (docs / "2024-05-02-pay.md").write_text(CJK_PM.format(id="PM-2024-302", title="支付网关证书过期", day=2),
                                            encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    # TF-IDF only: the sentence model (English) reads no CJK, and in a corpus of two it puts
    # the other post-mortem near any query.
    config.write_text("site_name: t\ndocs_dir: pm\nplugins:\n  - postmortems:\n      semantic: 'off'\n",
                      encoding="utf-8")
    result = run(config, "similar", "--text", "数据库主库故障", "--format", "json")
    (hit,) = json.loads(result.stdout)["similar"]
    assert hit["id"] == "PM-2024-301"
    assert hit["terms"] == ["数据库主库故障"]  # the run both texts contain; never "主库主", which neither does
    assert all(term in "数据库主库故障" for term in hit["terms"])


def test_similar_json_tells_a_file_from_an_id_and_from_text(config):
    by_id = json.loads(run(config, "similar", "PM-2024-004", "-k", "1", "--format", "json").stdout)
    assert (by_id["query"], by_id["query_kind"], by_id["query_id"]) == ("PM-2024-004", "id", "PM-2024-004")
    by_text = json.loads(run(config, "similar", "--text", "PM-2024-004", "-k", "1", "--format", "json").stdout)
    assert (by_text["query"], by_text["query_kind"], by_text["query_id"]) == ("PM-2024-004", "text", None)


# --- #3: every list says what orders it and prints the number that does ------------------

from generator import semantic as _semantic  # noqa: E402

needs_model = pytest.mark.skipif(
    not _semantic.available() and not os.environ.get("PMKB_REQUIRE_SEMANTIC"),
    reason="the [semantic] extra is not installed (CI installs it and sets PMKB_REQUIRE_SEMANTIC)")

LEAP_QUERY = "java processes at 100% cpu right after midnight leap second"


def _shipped(*args: str):
    result = CliRunner().invoke(cli, ["-f", str(ROOT / "mkdocs.yml"), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_similar_text_tfidf_alone_is_ranked_by_the_score_it_prints():
    lines = _shipped("similar", "--text", LEAP_QUERY, "--semantic", "off").stdout.splitlines()
    assert lines[0] == "# ranked by score: TF-IDF cosine similarity (0..1)"
    hits = [line.split("  ")[:3] for line in lines[1:] if not line.startswith(" ")]
    assert hits == [["PM-2012-004", "2012-07-01", "0.218"], ["PM-2012-003", "2012-07-01", "0.206"],
                    ["PM-2020-002", "2020-04-21", "0.142"], ["PM-2019-006", "2019-07-02", "0.125"],
                    ["PM-2008-002", "2008-12-31", "0.107"]]


@needs_model
def test_similar_text_fused_is_ranked_by_the_fused_score_it_prints():
    """The tester's query: with the sentence model the order is the fused one (PM-2008-002,
    cosine 0.106, above PM-2019-006, cosine 0.127); the line prints the fused score that ranks
    it, non-increasing, and the cosine beside it, and the header says so."""
    result = _shipped("similar", "--text", LEAP_QUERY, "--semantic", "on")
    lines = result.stdout.splitlines()
    assert lines[0] == ("# ranked by fused score: the TF-IDF and sentence-model rankings combined "
                        "(1.00 = first in both); cosine = TF-IDF similarity (0..1)")
    hits = [line.split("  ")[:4] for line in lines[1:] if not line.startswith(" ")]
    assert hits == [["PM-2012-004", "2012-07-01", "fused 0.935", "cosine 0.218"],
                    ["PM-2012-003", "2012-07-01", "fused 0.865", "cosine 0.206"],
                    ["PM-2020-002", "2020-04-21", "fused 0.613", "cosine 0.142"],
                    ["PM-2008-002", "2008-12-31", "fused 0.456", "cosine 0.107"],
                    ["PM-2019-006", "2019-07-02", "fused 0.445", "cosine 0.125"]]
    data = json.loads(_shipped("similar", "--text", LEAP_QUERY, "--semantic", "on", "--format", "json").stdout)
    assert data["ranked_by"] == "fused"
    assert [(h["id"], h["fused"], h["score"]) for h in data["similar"]] == [
        ("PM-2012-004", 0.935, 0.218), ("PM-2012-003", 0.865, 0.206), ("PM-2020-002", 0.613, 0.142),
        ("PM-2008-002", 0.456, 0.107), ("PM-2019-006", 0.445, 0.125)]
    off = json.loads(_shipped("similar", "--text", LEAP_QUERY, "--semantic", "off", "--format", "json").stdout)
    assert off["ranked_by"] == "score" and {h["fused"] for h in off["similar"]} == {None}


@needs_model
def test_related_lists_are_ranked_by_the_fused_score_they_print():
    data = json.loads(_shipped("related", "--format", "json").stdout)
    for pid, links in data.items():
        computed = [link["fused"] for link in links if link["via"] != "pinned"]
        assert None not in computed and computed == sorted(computed, reverse=True), pid
    # The tester's list: cosines 0.126, 0.135, 0.068, 0.107 ... are in fused order 0.8, 0.775, 0.662, 0.636.
    assert [(link["id"], link["fused"], link["score"]) for link in data["PM-2008-002"]] == [
        ("PM-2012-003", 0.8, 0.126), ("PM-2016-001", 0.775, 0.135), ("PM-2012-001", 0.662, 0.068),
        ("PM-2012-004", 0.636, 0.107), ("PM-2017-001", 0.494, 0.083)]
    text = _shipped("related").stdout.splitlines()
    assert text[0].startswith("# pinned links first, then ranked by fused score")
    at = text.index("PM-2008-002  Portable media players freeze at boot on the 366th day of the year")
    assert [line.strip().split("  ")[1:3] for line in text[at + 1:at + 6]] == [
        ["fused 0.800", "cosine 0.126"], ["fused 0.775", "cosine 0.135"], ["fused 0.662", "cosine 0.068"],
        ["fused 0.636", "cosine 0.107"], ["fused 0.494", "cosine 0.083"]]


def test_fused_score_is_scaled_rank_fusion():
    from generator.semantic import RRF_K, TFIDF_SHARE, fused_score

    assert fused_score(1, 1) == 1.0
    assert fused_score(None, None) == 0.0
    assert fused_score(2, None) == round(TFIDF_SHARE * (RRF_K + 1) / (RRF_K + 2), 9)
    assert fused_score(1, 3) > fused_score(3, 1)  # the TF-IDF ranking weighs more (TFIDF_SHARE > 0.5)


def test_similar_names_the_same_next_free_id_as_validate(tmp_path):
    """Tester finding: with a file whose YAML does not parse writing PM-2024-012, pmkb validate's
    duplicate-id fix said PM-2024-013 and pmkb similar's warning PM-2024-008."""
    import shutil

    from generator.validate import display_path

    docs = tmp_path / "postmortems"
    shutil.copytree(CORPUS, docs)
    (docs / "2024-06-30-broken.md").write_text("---\nid: PM-2024-012\ntitle: \"unclosed\n---\n\n## Summary\n",
                                                encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"site_name: t\ndocs_dir: {docs}\nplugins:\n  - postmortems: {{}}\n", encoding="utf-8")
    original = docs / "2024-05-02-edge-proxy-tls-certificate-expired-again.md"
    twin = tmp_path / original.name
    twin.write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
    result = run(config, "similar", str(twin), "-k", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert (f"warning: {twin} has id PM-2024-004, which {display_path(original)} in the corpus also uses; ids "
            f"must be unique (give {twin} the next free id, PM-2024-013)\n") in result.stderr
    shutil.copy(twin, docs / "2024-05-03-twin.md")
    validated = run(config, "validate", str(docs), "--format", "json")
    fixes = {p["fix"] for p in json.loads(validated.stdout)["problems"] if p["code"] == "duplicate-id"}
    assert fixes == {"give one of them the next free id, PM-2024-013"}
