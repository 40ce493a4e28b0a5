#!/usr/bin/env python3
"""What adding one post-mortem does to the clusters and related lists of the others.

Usage (from the repository root):

    .venv/bin/python benchmarks/leave_one_out.py [--corpus DIR] [--labels CSV]
        [--cluster-threshold T] [--semantic auto|on|off] [--verbose]

For every post-mortem X of the corpus, the analysis of the corpus without X is compared with
the analysis of the whole corpus (X added last, as a new write-up would be). Counted over all X:

* ``right`` / ``wrong`` / ``none``: X is in a cluster with a member of its own label group,
  in a cluster with none of them (a false recurrence), or in no cluster;
* ``singletons_joining``: X has no partner in the labels (``singleton-*`` groups, or a group
  of one) and is in a cluster all the same;
* ``partnered_alone``: X has a partner but is in no cluster;
* ``others_moved``: post-mortems other than X whose cluster (its members other than X)
  changed, and of those ``moved_into_x_cluster``: in X's cluster (pulled in, or pushed out,
  by X) - the rest moved because X changed the IDF of every word (drift);
* ``related_changed``: related lists of other post-mortems whose ids changed (X aside), split
  into ``x_entered`` (X is now in the list) and ``drift``;
* ``same_problem_lost``: lists that lost a post-mortem of their own label group (the README
  says adding a post-mortem never takes away such a link).

Defaults: the shipped corpus, ``../shared/corpus/labels.csv``, the options of ``mkdocs.yml``
with ``semantic: off`` and no problems file. Prints the totals as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main(argv: list[str] | None = None) -> int:
    """Run the leave-one-out comparison; returns the exit status (0)."""
    from generator.analysis import analyse, published
    from generator.settings import load_settings
    from generator.validate import validate

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "postmortems")
    from similarity_quality import load_labels

    labels = [ROOT.parent / "shared" / "corpus" / "labels.csv", ROOT.parent.parent / "shared" / "corpus" / "labels.csv"]
    parser.add_argument("--labels", type=Path, default=next((p for p in labels if p.exists()), labels[0]))
    parser.add_argument("--cluster-threshold", type=float)
    parser.add_argument("--semantic", choices=("auto", "on", "off"), default="off")
    parser.add_argument("--verbose", action="store_true", help="one line per addition that moved anything")
    args = parser.parse_args(argv)
    group = load_labels(args.labels)
    settings = dataclasses.replace(load_settings(ROOT / "mkdocs.yml"), semantic=args.semantic, problems_file="")
    if args.cluster_threshold is not None:
        settings = dataclasses.replace(settings, cluster_threshold=args.cluster_threshold)
    pms = published(validate([args.corpus], settings, scan_secrets=False).postmortems)
    sizes: dict[str, int] = {}
    for pm in pms:
        sizes[group.get(pm.id, pm.id)] = sizes.get(group.get(pm.id, pm.id), 0) + 1

    def cluster_of(analysis) -> dict[str, tuple[str, ...]]:
        return {m: tuple(c.members) for c in analysis.clusters for m in c.members}

    full = analyse(pms, settings)
    with_all = cluster_of(full)
    keys = ("right", "wrong", "none", "singletons", "singletons_joining", "partnered", "partnered_alone",
            "others_moved", "moved_into_x_cluster", "related_changed", "x_entered", "drift", "same_problem_lost")
    total = dict.fromkeys(keys, 0)
    for x in pms:
        rest = [pm for pm in pms if pm.id != x.id]
        without = analyse(rest, settings)
        before = cluster_of(without)
        mine = group.get(x.id, x.id)
        cluster = with_all.get(x.id)
        kind = "none" if cluster is None else (
            "right" if any(group.get(m) == mine for m in cluster if m != x.id) else "wrong")
        total[kind] += 1
        single = sizes[mine] == 1 or mine.startswith("singleton")
        total["singletons" if single else "partnered"] += 1
        total["singletons_joining"] += single and kind != "none"
        total["partnered_alone"] += not single and kind == "none"
        moved = [pm.id for pm in rest
                 if tuple(m for m in with_all.get(pm.id, ()) if m != x.id) != before.get(pm.id, ())]
        total["others_moved"] += len(moved)
        total["moved_into_x_cluster"] += sum(1 for m in moved if cluster and m in cluster)
        changed = 0
        for pm in rest:
            old = {link.id for link in without.related[pm.id]}
            now_links = {link.id for link in full.related[pm.id]}
            new = now_links - {x.id}
            if old != new:
                changed += 1
                total["related_changed"] += 1
                total["x_entered" if x.id in now_links else "drift"] += 1
            total["same_problem_lost"] += any(group.get(m) == group.get(pm.id) for m in old - new)
        if args.verbose and (moved or kind == "wrong" or (single and kind != "none")):
            print(f"{x.id} ({mine}): {kind} {list(cluster or ())}; others moved {len(moved)}, "
                  f"related lists changed {changed}", file=sys.stderr)
    print(json.dumps({"corpus": str(args.corpus), "post_mortems": len(pms),
                      "cluster_threshold": settings.cluster_threshold, "semantic": args.semantic, **total}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
