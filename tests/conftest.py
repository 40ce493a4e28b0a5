"""Shared fixtures: paths to the test data and a CLI runner."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

TESTS = Path(__file__).parent
ROOT = TESTS.parent
CASES = TESTS / "cases"
# A fixed "today" so that "date in the future" and ages never depend on when the tests run.
TODAY = dt.date(2026, 11, 29)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def settings(tmp_path):
    """Default settings with a docs folder that does not exist (no context files)."""
    from generator.settings import Settings

    return Settings(docs_dir=tmp_path / "no-docs")


# One cache of sentence-model embeddings for the whole test run, shared with the subprocesses
# the tests start (pmkb, mkdocs build), so the shipped post-mortems are embedded once.
import os as _os
import tempfile as _tempfile

_os.environ.setdefault("PMKB_CACHE_DIR", _tempfile.mkdtemp(prefix="pmkb-test-cache-"))
