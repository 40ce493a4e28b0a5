"""Benchmark: how long ``pmkb validate`` takes on a large synthetic corpus, and how the loader
copes with a YAML alias bomb. Run on demand (not part of the test suite):

    .venv/bin/python benchmarks/validate_speed.py [N ...]      # default: 1000 10000
    .venv/bin/python benchmarks/validate_speed.py --against OTHER_TREE --rounds 5 10000

Writes the corpus under benchmarks/out/ (gitignored) with ../shared/tools/synth_corpus.py and
times the real CLI in a subprocess, so import time is included. Prints one row per N.

``--against TREE`` compares with another source tree of the project (``git archive main |
tar -x -C /tmp/base``, run with this venv): the two are run in alternating rounds on the same
corpus (ours first, then the other, ``--rounds`` times), and every round's seconds, their
ratio and the load average are printed, then the best and the median ratio.
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_validate(folder: Path, tree: Path | None = None, cpu: list | None = None) -> tuple[float, int, str]:
    """Seconds of ``pmkb validate --format json FOLDER`` (of the source ``tree`` when given),
    the peak RSS of the children so far (KB), and the counts; the CPU seconds of the run (its
    worker processes included) are appended to ``cpu`` when given."""
    command = [str(PMKB)] if tree is None else [
        sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tree)!r}); from generator.cli import main; main()"]
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(command + ["validate", "--format", "json", str(folder)], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(_children_cpu() - cpu_before)
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


def compare(n: int, tree: Path, rounds: int) -> None:
    """Alternating rounds of this tree and ``tree`` on the corpus of ``n`` files."""
    import os
    import statistics

    folder = corpus(n)
    time_validate(folder)  # warm the page cache and the bytecode of both
    time_validate(folder, tree)
    ratios, cpu_ratios = [], []
    print(f"{n} files: this tree against {tree} (wall seconds, and CPU seconds of the run and its workers)")
    for r in range(1, rounds + 1):
        ours_cpu: list = []
        other_cpu: list = []
        ours, _, ours_counts = time_validate(folder, cpu=ours_cpu)
        other, _, other_counts = time_validate(folder, tree, cpu=other_cpu)
        ratios.append(ours / other)
        cpu_ratios.append(ours_cpu[0] / other_cpu[0])
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"  round {r}: this {ours:6.2f} s (cpu {ours_cpu[0]:6.2f})  other {other:6.2f} s (cpu {other_cpu[0]:6.2f})"
              f"  ratio {ours / other:5.3f} (cpu {cpu_ratios[-1]:5.3f})  load {load}  ({ours_counts} / {other_counts})",
              flush=True)
    print(f"  wall ratio best {min(ratios):.3f}, median {statistics.median(ratios):.3f}, worst {max(ratios):.3f}; "
          f"CPU ratio best {min(cpu_ratios):.3f}, median {statistics.median(cpu_ratios):.3f}, worst {max(cpu_ratios):.3f}")


def main(argv: list[str]) -> None:
    if "--against" in argv:
        i = argv.index("--against")
        tree = Path(argv[i + 1]).resolve()
        rest = argv[:i] + argv[i + 2:]
        rounds = 5
        if "--rounds" in rest:
            j = rest.index("--rounds")
            rounds = int(rest[j + 1])
            rest = rest[:j] + rest[j + 2:]
        for n in [int(a) for a in rest] or [10000]:
            compare(n, tree, rounds)
        return
    sizes = [int(a) for a in argv] or [1000, 10000]
    print(f"{'N':>7} {'seconds':>8} {'files/s':>8} {'peak RSS MB':>12}  counts")
    for n in sizes:
        elapsed, peak_kb, summary = time_validate(corpus(n))
        print(f"{n:>7} {elapsed:>8.2f} {n / elapsed:>8.0f} {peak_kb / 1024:>12.0f}  {summary}")
    print(f"alias bomb (9 levels, 9^9 nodes if expanded): refused in {alias_bomb():.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
