"""Benchmark: how long ``pmkb validate`` takes on a large synthetic corpus, and how the loader
copes with a YAML alias bomb. Run on demand (not part of the test suite):

    .venv/bin/python benchmarks/validate_speed.py [N ...]      # default: 1000 10000

Writes the corpus under benchmarks/out/ (gitignored) with ../shared/tools/synth_corpus.py and
times the real CLI in a subprocess, so import time is included. Prints one row per N.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from synth import OUT, corpus  # benchmarks/ is the script folder
PMKB = Path(sys.executable).with_name("pmkb")


def time_validate(folder: Path) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run([str(PMKB), "validate", "--format", "json", str(folder)], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    counts = json.loads(proc.stdout)["counts"]
    return elapsed, peak_kb, f"{counts['errors']} errors, {counts['warnings']} warnings"


def alias_bomb() -> float:
    folder = OUT / "alias-bomb"
    folder.mkdir(parents=True, exist_ok=True)
    levels = "\n".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10))
    (folder / "2024-08-20-bomb.md").write_text(
        "---\nid: PM-2024-001\nl0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha]\n" + levels + "\n---\n\n## Summary\n")
    start = time.perf_counter()
    subprocess.run([str(PMKB), "validate", str(folder)], capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1000, 10000]
    print(f"{'N':>7} {'seconds':>8} {'files/s':>8} {'peak RSS MB':>12}  counts")
    for n in sizes:
        elapsed, peak_kb, summary = time_validate(corpus(n))
        print(f"{n:>7} {elapsed:>8.2f} {n / elapsed:>8.0f} {peak_kb / 1024:>12.0f}  {summary}")
    print(f"alias bomb (9 levels, 9^9 nodes if expanded): refused in {alias_bomb():.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
