"""The secret scan remembers clean files (#16 item 1): a file whose text and the scanner's code
are unchanged is not scanned again, a run whose files are all known clean never imports
detect-secrets, and nothing about a secret is ever written to the cache folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from generator import scan
from generator.cache import Cache
from generator.settings import Settings
from generator.validate import CLEAN_SCANS, load_clean_scans, validate

from .test_secrets import GITHUB_TOKEN
from .test_validate import NAME, VALID

SECRET_NAME = "2024-03-15-checkout-tls-expiry-again.md"


def corpus(folder: Path) -> Path:
    docs = folder / "postmortems"
    docs.mkdir(parents=True)
    (docs / NAME).write_text(VALID, encoding="utf-8")
    leaked = VALID.replace("PM-2024-017", "PM-2024-018").replace("2024-03-14", "2024-03-15") \
        + f"\nThe deploy job ran with `GITHUB_TOKEN={GITHUB_TOKEN}` in its log.\n"
    (docs / SECRET_NAME).write_text(leaked, encoding="utf-8")
    return docs


@pytest.fixture
def cached(tmp_path, monkeypatch):
    """A corpus of one clean file and one with a token, a cache folder and HMAC key of its own."""
    monkeypatch.setenv("PMKB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    docs = corpus(tmp_path)
    return Settings(docs_dir=docs), docs


def outcome(result):
    return ([(p.path, p.line, p.code, p.message) for p in result.problems],
            [(pm.id, pm.body, pm.summary) for pm in result.postmortems])


def test_a_second_run_reads_the_clean_file_from_the_cache_and_scans_the_other_again(cached, monkeypatch):
    settings, docs = cached
    first = validate([docs], settings)
    assert [p.code for p in first.problems if p.path.endswith(SECRET_NAME)] == ["secret"]
    known = load_clean_scans(settings)
    from generator.loader import read_source

    # the clean file only: a file with a finding is never remembered
    assert known == {scan.SecretScanner().input_key(read_source(docs / NAME).text)}
    scanned = []
    real = scan.SecretScanner.scan
    monkeypatch.setattr(scan.SecretScanner, "scan", lambda self, lines, *a, **k: scanned.append(lines) or
                        real(self, lines, *a, **k))
    second = validate([docs], settings)
    assert outcome(second) == outcome(first)
    assert len(scanned) == 1 and any(GITHUB_TOKEN in line for line in scanned[0])
    # an edit that adds a secret to the clean file is scanned, and found
    clean = docs / NAME
    clean.write_text(clean.read_text(encoding="utf-8") + f"\nexport GITHUB_TOKEN={GITHUB_TOKEN}\n", encoding="utf-8")
    third = validate([docs], settings)
    assert sorted(p.path.rsplit("/", 1)[-1] for p in third.problems if p.code == "secret") == [NAME, SECRET_NAME]


def test_the_cache_folder_holds_no_secret_and_no_trace_of_one(cached, tmp_path):
    settings, docs = cached
    validate([docs], settings)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert GITHUB_TOKEN.encode() not in stored and GITHUB_TOKEN[:12].encode() not in stored
    entry = Cache(tmp_path / "cache").get(CLEAN_SCANS, scan.scanner_digest())
    assert len(json.loads(entry)) == 1


def test_a_planted_clean_verdict_is_not_believed(cached, tmp_path, monkeypatch):
    """An entry written with another key (another machine's, or committed by a pull request)
    saying the file with the token is clean: the file is scanned and the token found."""
    settings, docs = cached
    from generator.loader import read_source

    src = read_source(docs / SECRET_NAME)
    assert GITHUB_TOKEN in src.text
    forged = scan.SecretScanner().input_key(src.text)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "attacker"))
    Cache(tmp_path / "cache").put(CLEAN_SCANS, scan.scanner_digest(), json.dumps([forged]).encode())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    assert load_clean_scans(settings) == frozenset()
    result = validate([docs], settings)
    assert [p.code for p in result.problems if p.path.endswith(SECRET_NAME)] == ["secret"]


def test_a_run_over_known_clean_files_does_not_import_detect_secrets(tmp_path):
    """The shipped post-mortems: the first run scans the lines the pre-filter flags with
    detect-secrets, the second knows every file clean and does not import it."""
    import shutil

    from .conftest import ROOT

    docs = tmp_path / "postmortems"
    shutil.copytree(ROOT / "postmortems", docs)
    code = (f"import os, sys\nos.environ['PMKB_CACHE_DIR'] = {str(tmp_path / 'cache')!r}\n"
            f"os.environ['XDG_CACHE_HOME'] = {str(tmp_path / 'home-cache')!r}\n"
            "from pathlib import Path\nfrom generator.settings import Settings\n"
            "from generator.validate import validate\n"
            f"r = validate([Path({str(docs)!r})], Settings(docs_dir=Path({str(docs)!r})))\n"
            "print(len(r.postmortems), sum(p.level == 'error' for p in r.problems), 'detect_secrets' in sys.modules)\n")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
            for _ in range(2)]
    count = len(list(docs.glob("*.md")))
    assert [r.stdout.split() for r in runs] == [[str(count), "0", "True"], [str(count), "0", "False"]], \
        [r.stderr[-2000:] for r in runs]
