"""Synthetic corpora for the benchmarks, written once under benchmarks/out/ (gitignored) with
../shared/tools/synth_corpus.py and reused by later runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYNTH = next((folder / "shared" / "tools" / "synth_corpus.py" for folder in (ROOT.parent, ROOT.parent.parent)
              if (folder / "shared" / "tools" / "synth_corpus.py").is_file()),
             ROOT.parent / "shared" / "tools" / "synth_corpus.py")  # ../shared, or ../../shared from a worktree
OUT = ROOT / "benchmarks" / "out"


def corpus(n: int) -> Path:
    """The folder ``benchmarks/out/synth-N`` holding ``n`` synthetic post-mortems."""
    folder = OUT / f"synth-{n}"
    if not folder.is_dir() or len(list(folder.glob("*.md"))) < n:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(SYNTH), str(n), str(folder)], check=True, capture_output=True)
    return folder
