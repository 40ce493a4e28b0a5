#!/usr/bin/env python3
"""What scores do duplicates get, against recurrences and unrelated pairs? (``pmkb review``)

Usage (from the repository root):

    .venv/bin/python benchmarks/duplicate_scores.py [--corpus DIR] [--labels CSV] [--json]

``pmkb review`` warns of a *possible duplicate* when a changed post-mortem's score with another
reaches :data:`generator.review.DUPLICATE_THRESHOLD`. The threshold must sit above the scores
of *recurrences* (different incidents of the same problem, which belong in ``related:``) and
below the scores of *duplicates* (a second write-up of the same incident). This script prints
both distributions on the shipped corpus:

* recurrence pairs: every pair of post-mortems with the same group in ``labels.csv``;
* unrelated pairs: every pair with different groups;
* duplicates, written by hand: ``tests/fixtures/review/change/*`` files that re-describe an
  incident of ``tests/fixtures/review/base`` (the ``duplicate_of`` table below);
* duplicates, derived: for every post-mortem, a second write-up is added to the corpus and
  scored against the original. ``short``: same front matter, body cut to the Summary and Root
  cause sections (a terse second report). ``body-only``: same sections, but the front matter
  written by someone else (title = first words of the summary, no tags, trigger, root_cause).

Scores are cosine similarities from :class:`generator.similarity.SimilarityIndex`, the same
numbers the review shows.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import statistics
import sys
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.review import DUPLICATE_THRESHOLD  # noqa: E402
from generator.settings import Settings  # noqa: E402
from generator.similarity import SimilarityIndex  # noqa: E402
from generator.validate import validate  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "review"
DUPLICATE_OF = {"PM-2013-003": "PM-2013-001"}
"""Hand-written duplicates in the review fixtures: id -> id of the incident it re-describes."""


def load(folder: Path):
    """Post-mortems of ``folder`` (no secret scan: these are known files)."""
    return validate([folder], Settings(docs_dir=folder), scan_secrets=False).postmortems


def describe(scores: list[float], threshold: float) -> dict:
    """Count, min, median, 95th percentile, max, and how many reach ``threshold``."""
    if not scores:
        return {"n": 0}
    ordered = sorted(scores)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(ordered), "min": round(ordered[0], 3), "median": round(statistics.median(ordered), 3),
            "p95": round(p95, 3), "max": round(ordered[-1], 3),
            "at_or_above_threshold": sum(s >= threshold for s in ordered)}


def short_variant(pm, new_id: str):
    """Same front matter, body cut to the Summary and Root cause sections."""
    keep = {k: v for k, v in pm.sections.items() if k.lower() in ("summary", "root cause")}
    body = "\n\n".join(f"## {k}\n{v}" for k, v in keep.items())
    return dataclasses.replace(pm, id=new_id, path=f"dup-{pm.path}", sections=keep, body=body,
                               related=[], not_related=[])


def body_only_variant(pm, new_id: str):
    """Same sections, front matter by someone else: title from the summary, no tags/trigger/root_cause."""
    words = (pm.summary or pm.title).split()
    return dataclasses.replace(pm, id=new_id, path=f"dup2-{pm.path}", title=" ".join(words[:8]), tags=[],
                               trigger="", root_cause="", related=[], not_related=[])


def main(argv: list[str] | None = None) -> int:
    """Print the score distributions (text or ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "postmortems")
    parser.add_argument("--labels", type=Path, default=ROOT.parent / "shared" / "corpus" / "labels.csv")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings(docs_dir=args.corpus)
    corpus = load(args.corpus)
    groups = {row["id"]: row["group"] for row in csv.DictReader(args.labels.open(encoding="utf-8"))}
    index = SimilarityIndex.build(corpus, settings)
    recurrence, unrelated = [], []
    for a, b in combinations([pm.id for pm in corpus if pm.id in groups], 2):
        score = index.score(a, b)
        (recurrence if groups[a] == groups[b] else unrelated).append(score)

    fixture_pms = load(FIXTURES / "base") + [pm for pm in load(FIXTURES / "change") if pm.id in DUPLICATE_OF]
    fixture_index = SimilarityIndex.build(fixture_pms, settings)
    by_hand = {dup: fixture_index.score(dup, orig) for dup, orig in DUPLICATE_OF.items()}

    derived: dict[str, list[float]] = {"short": [], "body-only": []}
    for i, pm in enumerate(corpus):
        for kind, make in (("short", short_variant), ("body-only", body_only_variant)):
            dup = make(pm, f"DUP-2099-{i:03d}")
            derived[kind].append(SimilarityIndex.build(corpus + [dup], settings).score(dup.id, pm.id))

    t = DUPLICATE_THRESHOLD
    report = {
        "threshold": t,
        "recurrence_pairs": describe(recurrence, t),
        "unrelated_pairs": describe(unrelated, t),
        "duplicates_by_hand": {k: round(v, 3) for k, v in by_hand.items()},
        "duplicates_short": describe(derived["short"], t),
        "duplicates_body_only": describe(derived["body-only"], t),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"duplicate threshold: {t}")
    for name in ("recurrence_pairs", "unrelated_pairs", "duplicates_short", "duplicates_body_only"):
        d = report[name]
        print(f"{name:22} n={d['n']:5}  min {d['min']:.3f}  median {d['median']:.3f}  p95 {d['p95']:.3f}  "
              f"max {d['max']:.3f}  >= threshold: {d['at_or_above_threshold']}")
    for dup, score in report["duplicates_by_hand"].items():
        print(f"duplicate by hand      {dup} of {DUPLICATE_OF[dup]}: {score:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
