#!/usr/bin/env python3
"""Score related links and recurrence clusters against hand-made labels.

Usage (from the repository root):

    .venv/bin/python benchmarks/similarity_quality.py [--corpus DIR] [--labels CSV]
        [--top-k N] [--min-score S] [--cluster-threshold T] [--weight FIELD=W ...] [--json]

Defaults: the shipped corpus (``postmortems/``), ``../shared/corpus/labels.csv`` and the
options of :data:`generator.settings.DEFAULTS`. ``labels.csv`` has ``id,group`` rows;
post-mortems with the same group describe the same recurring problem, ``singleton-*`` groups
have no partner.

Metrics (computed over the computed links only: ``related:`` pins are left out, they would be
right by construction):

* precision@1 - over post-mortems whose group has >= 2 members: is the top link in the group;
* precision@3 - same-group links among the top 3, divided by min(3, group size - 1);
* MAP - mean average precision of each related list (relevant = the other group members;
  AP = sum of precision@k at each relevant rank / (group size - 1));
* ARI - adjusted Rand index of the clusters against the groups (a post-mortem in no cluster
  is its own cluster);
* singletons linkless - share of singleton post-mortems that get no link at all;
* partnered with a link - share of post-mortems with a partner that get at least one link.

Exit status 1 when a target of issue #12 is missed (default: P@1 >= 0.80, ARI >= 0.65,
singletons linkless >= 2/3, every partnered post-mortem linked), else 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.settings import Settings, settings_from_options  # noqa: E402

TARGETS = {"p_at_1": 0.80, "ari": 0.65, "singletons_linkless": 2 / 3, "partnered_linked": 1.0}
"""Targets of issue #12 for the default (TF-IDF) configuration."""
SEMANTIC_TARGETS = {"p_at_1": 0.85, "map_full": 0.75, "singletons_linkless": 2 / 3, "partnered_linked": 1.0}
"""Targets of issue #12 with the ``[semantic]`` extra."""


def load_labels(path: Path) -> dict[str, str]:
    """``{id: group}`` from a ``id,group`` CSV file."""
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["id"]: row["group"] for row in csv.DictReader(handle)}


def load_corpus(folder: Path, settings: Settings):
    """The post-mortems under ``folder`` (validation problems are ignored here)."""
    from generator.validate import validate

    return validate([folder], settings, scan_secrets=False).postmortems


def split_groups(labels: dict[str, str]) -> tuple[set[str], set[str]]:
    """Two halves of the groups, for checking that a choice generalises: the groups sorted by
    name, alternately to half A and half B (singletons included). Returns the ids of each."""
    names = sorted(set(labels.values()))
    half_a = set(names[0::2])
    a = {pm_id for pm_id, group in labels.items() if group in half_a}
    return a, set(labels) - a


def evaluate(postmortems, labels: dict[str, str], settings: Settings, split: bool = False) -> dict:
    """Run :func:`generator.analysis.analyse` and score it against ``labels``.

    Returns:
        ``{"p_at_1", "p_at_3", "map", "ari", "singletons_linkless", "partnered_linked",
        "counts": {...}}`` (shares between 0 and 1); with ``split``, also ``"halves"``: the
        same figures over the post-mortems of each half of the groups (:func:`split_groups`;
        links and clusters are still computed on the whole corpus).
    """
    from generator.analysis import analyse

    from generator.analysis import build_index

    pms = [pm for pm in postmortems if pm.id in labels]
    result = analyse(pms, settings)
    index = build_index(pms, settings)
    ranking = {index.ids[i]: [index.ids[j] for j in order] for i, order in enumerate(index.ranking())}
    figures = score(result, pms, labels)
    figures.update(full_ranking(ranking, labels))
    figures["semantic"] = index.semantic is not None
    if split:
        figures["halves"] = {}
        for name, half in zip(("A", "B"), split_groups(labels)):
            figures["halves"][name] = {**score(result, pms, labels, half), **full_ranking(ranking, labels, half)}
    return figures


def full_ranking(ranking: dict[str, list[str]], labels: dict[str, str], only: set[str] | None = None) -> dict:
    """P@1 and MAP of each post-mortem's ranking of all the others (no cut-off, no mutual
    test): ``{"p_at_1_full", "map_full"}`` over post-mortems with a partner (in ``only``)."""
    size: dict[str, int] = {}
    for group in labels.values():
        size[group] = size.get(group, 0) + 1
    p1, aps = [], []
    for pid, order in ranking.items():
        if (only is not None and pid not in only) or size[labels[pid]] < 2:
            continue
        hits = [labels.get(o) == labels[pid] for o in order]
        p1.append(1.0 if hits[:1] == [True] else 0.0)
        aps.append(sum(sum(hits[:k + 1]) / (k + 1) for k, h in enumerate(hits) if h) / (size[labels[pid]] - 1))
    return {"p_at_1_full": sum(p1) / len(p1) if p1 else 0.0, "map_full": sum(aps) / len(aps) if aps else 0.0}


def score(result, pms, labels: dict[str, str], only: set[str] | None = None) -> dict:
    """The figures of :func:`evaluate` for one analysis, over the ids in ``only`` (default all)."""
    from sklearn.metrics import adjusted_rand_score

    groups: dict[str, list[str]] = {}
    for pm in pms:
        groups.setdefault(labels[pm.id], []).append(pm.id)
    p1, p3, aps, linked = [], [], [], []
    singles_without = singles = 0
    if only is not None:
        pms = [pm for pm in pms if pm.id in only]
    for pm in pms:
        links = [link.id for link in result.related.get(pm.id, []) if not link.pinned]
        group = labels[pm.id]
        relevant = len(groups[group]) - 1
        if relevant == 0:
            singles += 1
            singles_without += not links
            continue
        hits = [labels.get(other) == group for other in links]
        p1.append(1.0 if hits[:1] == [True] else 0.0)
        p3.append(sum(hits[:3]) / min(3, relevant))
        precisions = [sum(hits[:k + 1]) / (k + 1) for k, hit in enumerate(hits) if hit]
        aps.append(sum(precisions) / relevant)
        linked.append(1.0 if links else 0.0)
    ordered = sorted(pm.id for pm in pms)
    truth = [labels[i] for i in ordered]
    predicted = [result.cluster_of.get(i, f"alone-{i}") for i in ordered]

    def mean(values):
        return sum(values) / len(values) if values else 0.0

    return {
        "p_at_1": mean(p1),
        "p_at_3": mean(p3),
        "map": mean(aps),
        "ari": adjusted_rand_score(truth, predicted),
        "singletons_linkless": singles_without / singles if singles else 1.0,
        "partnered_linked": mean(linked),
        "counts": {"postmortems": len(pms), "partnered": len(p1), "singletons": singles,
                   "clusters": len(result.clusters), "groups": sum(len(g) > 1 for g in groups.values()),
                   "links": sum(len(result.related.get(pm.id, [])) for pm in pms)},
        "warnings": result.warnings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "postmortems")
    default_labels = next((p for p in (ROOT.parent / "shared" / "corpus" / "labels.csv",
                                       ROOT.parent.parent / "shared" / "corpus" / "labels.csv") if p.exists()),
                          ROOT.parent / "shared" / "corpus" / "labels.csv")
    parser.add_argument("--labels", type=Path, default=default_labels)
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--min-score", type=float)
    parser.add_argument("--cluster-threshold", type=float)
    parser.add_argument("--weight", action="append", default=[], metavar="FIELD=W",
                        help="override one field weight, e.g. --weight body=0.3")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--semantic", choices=("auto", "on", "off"), default="off",
                        help="fuse with the sentence model of the [semantic] extra (default off)")
    parser.add_argument("--split", action="store_true",
                        help="also score each half of the groups (sorted by name, alternately)")
    args = parser.parse_args(argv)
    options: dict = {}
    if args.top_k is not None:
        options["top_k"] = args.top_k
    if args.min_score is not None:
        options["min_score"] = args.min_score
    if args.cluster_threshold is not None:
        options["cluster_threshold"] = args.cluster_threshold
    if args.weight:
        options["field_weights"] = {k: float(v) for k, v in (w.split("=", 1) for w in args.weight)}
    options["semantic"] = args.semantic
    settings = settings_from_options(options, source="command line")
    settings.docs_dir = args.corpus
    figures = evaluate(load_corpus(args.corpus, settings), load_labels(args.labels), settings, args.split)
    targets = SEMANTIC_TARGETS if figures["semantic"] else TARGETS
    misses = [name for name, target in targets.items() if figures[name] < target - 1e-9]
    if args.json:
        print(json.dumps({**figures, "targets": targets, "missed": misses}, indent=2))
    else:
        c = figures["counts"]
        print(f"corpus {args.corpus} ({c['postmortems']} post-mortems, {c['partnered']} with a partner, "
              f"{c['singletons']} singletons, {c['groups']} groups)")
        print(f"top_k={settings.top_k} min_score={settings.min_score} "
              f"cluster_threshold={settings.cluster_threshold}")
        print(f"{'metric':<24} {'value':>7} {'target':>8}")
        print(f"semantic (sentence model fused): {'yes' if figures['semantic'] else 'no'}")
        rows = [("precision@1", "p_at_1"), ("precision@3", "p_at_3"), ("MAP", "map"),
                ("P@1, full ranking", "p_at_1_full"), ("MAP, full ranking", "map_full"),
                ("ARI (clusters)", "ari"), ("singletons linkless", "singletons_linkless"),
                ("partnered with a link", "partnered_linked")]
        for label, key in rows:
            target = targets.get(key)
            mark = "" if target is None else (" ok" if figures[key] >= target - 1e-9 else " MISSED")
            print(f"{label:<24} {figures[key]:>7.3f} {'' if target is None else f'>= {target:.2f}':>8}{mark}")
        print(f"{c['clusters']} clusters, {c['links']} links")
        for name, half in figures.get("halves", {}).items():
            h = half["counts"]
            print(f"half {name} ({h['partnered']} with a partner, {h['singletons']} singletons): "
                  f"P@1 {half['p_at_1']:.3f}  P@3 {half['p_at_3']:.3f}  MAP {half['map']:.3f}  "
                  f"full P@1 {half['p_at_1_full']:.3f} MAP {half['map_full']:.3f}  "
                  f"ARI {half['ari']:.3f}  singletons linkless {half['singletons_linkless']:.2f}  "
                  f"partnered linked {half['partnered_linked']:.2f}")
        for warning in figures["warnings"]:
            print(f"warning: {warning}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
