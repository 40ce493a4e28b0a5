#!/usr/bin/env python3
"""Time and peak memory of related links + recurrence clusters on a large synthetic corpus.

Usage (from the repository root):

    .venv/bin/python benchmarks/similarity_scale.py [N] [--words W] [--keep]

Writes N synthetic post-mortems with ``../shared/tools/synth_corpus.py`` into
``benchmarks/out/synth-N/`` (git-ignored; reused when already there), loads them with the
validator (secret scan off: it is not what is measured), then runs the analysis the site and
the CLI run (:func:`generator.analysis.analyse`). The loaded post-mortems are pickled next
to the files, so later runs skip validation (``--reload`` to validate again). Prints the wall-clock and CPU seconds of each phase (CPU time is
what to compare when other jobs share the machine), the peak
resident memory of the process (``resource.getrusage``, so it includes loading), and the
adjusted Rand index of the clusters against the synthetic families.

Target of issue #3 for N = 30,000: analysis <= 60 s and peak memory <= 2 GB.
"""

from __future__ import annotations

import argparse
import csv
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SYNTH = ROOT.parent / "shared" / "tools" / "synth_corpus.py"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=30000)
    parser.add_argument("--words", type=int, default=300, help="body words per post-mortem (synth_corpus)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--reload", action="store_true",
                        help="validate the files again instead of reading the pickled post-mortems")
    args = parser.parse_args(argv)

    folder = args.out / f"synth-{args.n}-w{args.words}" / "postmortems"
    if not folder.is_dir() or len(list(folder.glob("*.md"))) != args.n:
        folder.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        subprocess.run([sys.executable, str(SYNTH), str(args.n), str(folder), "--words", str(args.words)],
                       check=True)
        print(f"generated {args.n} post-mortems in {time.perf_counter() - t:.1f} s -> {folder}")

    from generator.analysis import analyse
    from generator.clusters import find_clusters
    from generator.settings import Settings
    from generator.similarity import SimilarityIndex
    from generator.validate import validate

    settings = Settings(docs_dir=folder)
    t0 = time.perf_counter()
    cache = folder.parent / "postmortems.pickle"
    if cache.is_file() and not args.reload:
        with open(cache, "rb") as handle:
            pms = pickle.load(handle)
    else:
        pms = validate([folder], settings, scan_secrets=False).postmortems
        with open(cache, "wb") as handle:
            pickle.dump(pms, handle)
    t1 = time.perf_counter()
    rss_loaded = peak_rss_mb()
    import sklearn  # noqa: F401  (import time is not part of the analysis)

    cpu = [time.process_time()]
    t2 = time.perf_counter()
    index = SimilarityIndex.build(pms, settings)
    t3 = time.perf_counter()
    cpu.append(time.process_time())
    index.neighbours()
    t4 = time.perf_counter()
    cpu.append(time.process_time())
    related = index.related_links()
    t5 = time.perf_counter()
    cpu.append(time.process_time())
    clusters = find_clusters(pms, index, settings)
    t6 = time.perf_counter()
    cpu.append(time.process_time())
    analysis_s = t6 - t2
    cpu_s = [b - a for a, b in zip(cpu, cpu[1:])]

    with open(folder.parent / "labels.csv", newline="") as handle:
        labels = {row["id"]: row["group"] for row in csv.DictReader(handle)}
    from sklearn.metrics import adjusted_rand_score

    cluster_of = {m: c.id for c in clusters for m in c.members}
    ids = sorted(labels)
    ari = adjusted_rand_score([labels[i] for i in ids], [cluster_of.get(i, "alone-" + i) for i in ids])
    links = sum(len(v) for v in related.values())
    print(f"post-mortems            {len(pms):>9}")
    print(f"vocabulary              {len(index.vocabulary):>9}   matrix nnz {index.matrix.nnz}")
    print(f"load                    {t1 - t0:>9.1f} s (not part of the target)   peak RSS after load "
          f"{rss_loaded:.0f} MB")
    print(f"{'phase':<24}{'wall s':>9}{'CPU s':>9}")
    print(f"vectorise               {t3 - t2:>9.1f}{cpu_s[0]:>9.1f}")
    print(f"neighbour graph         {t4 - t3:>9.1f}{cpu_s[1]:>9.1f}")
    print(f"related links           {t5 - t4:>9.1f}{cpu_s[2]:>9.1f}   ({links} links)")
    print(f"clusters                {t6 - t5:>9.1f}{cpu_s[3]:>9.1f}   ({len(clusters)} clusters, "
          f"ARI vs families {ari:.3f})")
    print(f"analysis total          {analysis_s:>9.1f}{sum(cpu_s):>9.1f}   (target <= 60 s wall)")
    print(f"peak RSS                {peak_rss_mb():>9.0f} MB (target <= 2048 MB)")
    for warning in index.warnings:
        print(f"warning: {warning}")
    sizes = sorted((c.size for c in clusters), reverse=True)
    print(f"largest clusters: {sizes[:10]}")
    # Keep the analysis alive until measured (nothing else is done with it).
    del analyse
    return 0 if analysis_s <= 60 and peak_rss_mb() <= 2048 else 1


if __name__ == "__main__":
    sys.exit(main())
