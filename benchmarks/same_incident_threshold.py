#!/usr/bin/env python3
"""Where does "possible same incident" start? (``generator.duplicates``)

Usage (from the repository root):

    .venv/bin/python benchmarks/same_incident_threshold.py [--json] [--synthetic N]

The corpus is the shipped ``postmortems/`` plus ``benchmarks/same_incident/second`` (26 second
write-ups of shipped incidents by another author of the same organisation) and
``benchmarks/same_incident/other`` (13 write-ups by other organisations of their own incident on
the same day, from the same external event). Every pair that started within
``START_WINDOW_DAYS`` is scored with the TF-IDF index of the whole corpus and labelled: ``same``
for the pairs ``pairs.csv`` marks so, ``other`` for every other pair.

It prints, for pairs with and without shared structure (services, distinctive words of service names; see
``generator.duplicates``), the score ranges of both labels; the threshold that separates them
best on all pairs and on each half of a split by incident (tune on one half, test on the other,
both ways); and how the shipped rule does. ``--synthetic N`` also counts the flags on N
synthetic post-mortems (``../shared/tools/synth_corpus.py``), which are all different incidents.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.duplicates import (  # noqa: E402
    SAME_INCIDENT_THRESHOLD,
    TEXT_ONLY_THRESHOLD,
    days_apart,
    find_same_incidents,
    shared_structure,
)
from generator.settings import Settings  # noqa: E402
from generator.similarity import SimilarityIndex  # noqa: E402
from generator.validate import validate  # noqa: E402

DATA = ROOT / "benchmarks" / "same_incident"


def load(folder: Path):
    return validate([folder], Settings(docs_dir=folder), scan_secrets=False).postmortems


def labelled_pairs():
    """Every pair of the combined corpus that started within the window, with its label,
    score and whether it shares structure."""
    pms = load(ROOT / "postmortems") + load(DATA / "second") + load(DATA / "other")
    labels = {frozenset((r["a"], r["b"])): r["label"] for r in csv.DictReader((DATA / "pairs.csv").open())}
    index = SimilarityIndex.build(pms, Settings())
    rows = []
    for a, b in itertools.combinations(sorted(pms, key=lambda p: p.id), 2):
        if days_apart(a, b) is None:
            continue
        services, words = shared_structure(a, b)
        rows.append({"a": a.id, "b": b.id, "label": labels.get(frozenset((a.id, b.id)), "other"),
                     "score": index.score(a.id, b.id), "structure": bool(services or words)})
    return pms, index, rows


def best_threshold(rows) -> float:
    """The threshold with the fewest errors on ``rows`` (same below it, other at or above it);
    among equally good ones, the midpoint of the widest gap between scores."""
    scores = sorted({round(r["score"], 6) for r in rows})
    candidates = [0.0] + [(x + y) / 2 for x, y in zip(scores, scores[1:])] + [1.0]

    def errors(t):
        return sum((r["score"] >= t) != (r["label"] == "same") for r in rows)

    fewest = min(errors(t) for t in candidates)
    best = [t for t in candidates if errors(t) == fewest]
    return round((best[0] + best[-1]) / 2, 3)


def confusion(rows, threshold: float) -> dict:
    flagged = [r for r in rows if r["score"] >= threshold]
    tp = sum(r["label"] == "same" for r in flagged)
    return {"same_flagged": tp, "same_total": sum(r["label"] == "same" for r in rows),
            "other_flagged": len(flagged) - tp, "other_total": sum(r["label"] != "same" for r in rows)}


def describe(rows, label):
    s = sorted(r["score"] for r in rows if r["label"] == label)
    return {"n": len(s), "min": round(s[0], 3), "max": round(s[-1], 3)} if s else {"n": 0}


def synthetic_flags(n: int) -> dict:
    tool = Path(os.environ.get("PMKB_SYNTH", ROOT.parent / "shared" / "tools" / "synth_corpus.py"))
    if not tool.exists():
        return {"skipped": f"{tool} not found"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "postmortems"
        subprocess.run([sys.executable, str(tool), str(n), str(folder)], check=True, capture_output=True)
        pms = load(folder)
        index = SimilarityIndex.build(pms, Settings(docs_dir=folder))
        flags = find_same_incidents(pms, index)
        pairs = sum(1 for a, b in itertools.combinations(sorted(pms, key=lambda p: p.date), 2)
                    if abs((a.date - b.date).days) <= 1) if n <= 3000 else None
        return {"postmortems": len(pms), "pairs_within_window": pairs, "flagged": len(flags),
                "flagged_by_text_alone_at_0.65": sum(f.score >= TEXT_ONLY_THRESHOLD for f in flags),
                "examples": [f.describe() for f in flags[:3]]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--synthetic", type=int, default=0)
    args = parser.parse_args(argv)
    pms, index, rows = labelled_pairs()
    structured = [r for r in rows if r["structure"]]
    plain = [r for r in rows if not r["structure"]]
    incidents = sorted({r["b"] if r["a"].startswith(("AW", "OT")) else r["a"] for r in rows if r["label"] == "same"})
    half_a = set(incidents[0::2])  # same-incident pairs split by incident, alternating by id
    # different-incident pairs split by pair, alternating by ids
    negatives = sorted((r for r in structured if r["label"] != "same"), key=lambda r: (r["a"], r["b"]))
    neg_a = {(r["a"], r["b"]) for r in negatives[0::2]}
    part_a = [r for r in structured if (r["label"] == "same" and (r["a"] in half_a or r["b"] in half_a))
              or (r["label"] != "same" and (r["a"], r["b"]) in neg_a)]
    part_b = [r for r in structured if r not in part_a]
    t_a, t_b = best_threshold(part_a), best_threshold(part_b)
    shipped = find_same_incidents(pms, index)
    flagged = {frozenset((s.a, s.b)) for s in shipped}
    same_pairs = {frozenset((r["a"], r["b"])) for r in rows if r["label"] == "same"}
    report = {
        "pairs_within_window": len(rows),
        "with_structure": {"same": describe(structured, "same"), "other": describe(structured, "other")},
        "without_structure": {"same": describe(plain, "same"), "other": describe(plain, "other")},
        "best_threshold_all": best_threshold(structured),
        "split": {"tuned_on_A": t_a, "tested_on_B": confusion(part_b, t_a),
                  "tuned_on_B": t_b, "tested_on_A": confusion(part_a, t_b)},
        "shipped_rule": {"same_incident_threshold": SAME_INCIDENT_THRESHOLD, "text_only_threshold": TEXT_ONLY_THRESHOLD,
                         "same_flagged": len(flagged & same_pairs), "same_total": len(same_pairs),
                         "other_flagged": sorted(" / ".join(sorted(p)) for p in flagged - same_pairs),
                         "same_missed": sorted(" / ".join(sorted(p)) for p in same_pairs - flagged)},
        "text_only_at_0.65": confusion(rows, 0.65),
    }
    if args.synthetic:
        report["synthetic"] = synthetic_flags(args.synthetic)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"pairs that started within a day of each other: {len(rows)}")
    for name in ("with_structure", "without_structure"):
        d = report[name]
        print(f"{name:18} same {d['same']}  other {d['other']}")
    print(f"best threshold with structure, all pairs: {report['best_threshold_all']}")
    s = report["split"]
    print(f"split by incident: tuned on A {s['tuned_on_A']} -> on B {s['tested_on_B']}")
    print(f"                   tuned on B {s['tuned_on_B']} -> on A {s['tested_on_A']}")
    r = report["shipped_rule"]
    print(f"shipped rule ({r['same_incident_threshold']} with structure, {r['text_only_threshold']} without): "
          f"{r['same_flagged']} of {r['same_total']} same-incident pairs flagged; "
          f"false flags: {r['other_flagged'] or 'none'}; missed: {r['same_missed'] or 'none'}")
    print(f"text alone at 0.65 (the review's duplicate threshold): {report['text_only_at_0.65']}")
    if args.synthetic:
        print(f"synthetic: {report['synthetic']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
