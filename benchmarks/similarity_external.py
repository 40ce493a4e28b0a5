#!/usr/bin/env python3
"""Score related links on a public post-mortem list that is not our corpus.

Usage (from the repository root):

    .venv/bin/python benchmarks/similarity_external.py README.md [--semantic] [--json]

``README.md`` is the list of danluu/post-mortems (entries ``[Company](url). What happened.``
under ``## Section`` headings; the version of commit 53071d7 was used; URLs may be left
empty). Its text is not stored in this repository (the list has no licence file). Each entry
becomes one post-mortem: title ``Company: first sentence``, summary and *Summary* section the
entry's text, so the company name appears as it does in real write-ups.

Problem groups come from ``benchmarks/external_labels.py`` (assigned by hand from the text,
before scoring). Figures, over the ranking of every entry against all others:

* P@1 and MAP over entries whose group has a partner (as ``similarity_quality.py``);
* vendor links: entries whose first computed link goes to the *same company* but another group
  (the failure mode of issue #12: "Google network outage" -> "Google cooling failure");
* company words among the shared terms of links (a name must never explain a link).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generator.model import Postmortem  # noqa: E402
from generator.settings import Settings  # noqa: E402

_ENTRY = re.compile(r"^\[(?P<company>[^\]]+)\]\([^)]*\)\.?\s*(?P<text>.+)$")


def read_entries(path: Path) -> list[dict]:
    """``[{"company", "section", "text"}]`` in file order, from the list's Markdown."""
    entries, section = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        m = _ENTRY.match(line.strip())
        if m and section not in ("Other lists of postmortems", "Analysis", "Contributors"):
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group("text")).strip()
            entries.append({"company": m.group("company"), "section": section, "text": text})
    return entries


def label_of(entry: dict, groups: dict) -> str:
    for name, keys in groups.items():
        for company, prefix in keys:
            if entry["company"] == company and entry["text"].startswith(prefix):
                return name
    return "singleton"


def to_postmortems(entries: list[dict]) -> list[Postmortem]:
    out = []
    for n, e in enumerate(entries, 1):
        first = re.split(r"(?<=[.!?])\s", e["text"], maxsplit=1)[0]
        title = f"{e['company']}: {first}"[:120]
        out.append(Postmortem(id=f"EXT-2000-{n:03d}", title=title, date=dt.date(2020, 1, 1), severity="SEV2",
                              status="final", services=["service"], authors=["list"], path=f"ext-{n:03d}.md",
                              summary=e["text"], body=f"## Summary\n{e['text']}\n",
                              sections={"Summary": e["text"]}))
    return out


def main(argv: list[str] | None = None) -> int:
    from external_labels import GROUPS
    from generator.analysis import analyse
    from generator.similarity import SimilarityIndex, top_neighbours

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readme", type=Path)
    parser.add_argument("--semantic", action="store_true", help="fuse with the [semantic] extra's model")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", action="store_true", help="print every entry's first link")
    args = parser.parse_args(argv)
    entries = read_entries(args.readme)
    pms = to_postmortems(entries)
    labels = {pm.id: label_of(e, GROUPS) for pm, e in zip(pms, entries)}
    company = {pm.id: e["company"] for pm, e in zip(pms, entries)}
    found = {k for ks in GROUPS.values() for k in ks}
    matched = {(e["company"], prefix) for e in entries for (c, prefix) in found
               if e["company"] == c and e["text"].startswith(prefix)}
    missing = sorted(found - matched)
    settings = Settings(semantic="on" if args.semantic else "off") if "semantic" in Settings.__dataclass_fields__ \
        else Settings()
    index = SimilarityIndex.build(pms, settings)
    n = len(index.ids)
    ranking = index.ranking() if hasattr(index, "ranking") else \
        [[j for j, _ in nbrs] for nbrs in top_neighbours(index.matrix, n)]
    size = {}
    for g in labels.values():
        size[g] = size.get(g, 0) + 1
    p1, aps, vendor = [], [], 0
    rows = []
    for i, pid in enumerate(index.ids):
        order = [index.ids[j] for j in ranking[i]]
        if order and company[order[0]] == company[pid] and (labels[pid] == "singleton" or
                                                             labels[order[0]] != labels[pid]):
            vendor += 1
        rows.append((pid, company[pid], labels[pid], order[0] if order else None))
        if labels[pid] == "singleton" or size[labels[pid]] < 2:
            continue
        hits = [labels[o] == labels[pid] for o in order]
        p1.append(1.0 if hits[:1] == [True] else 0.0)
        precisions = [sum(hits[:k + 1]) / (k + 1) for k, h in enumerate(hits) if h]
        aps.append(sum(precisions) / (size[labels[pid]] - 1))
    result = analyse(pms, settings)
    names = {w.lower() for c in company.values() for w in re.findall(r"[A-Za-z]+", c)}
    links = [link for ls in result.related.values() for link in ls]
    named = [link for link in links if names & {t.lower() for t in link.terms}]
    figures = {"entries": n, "partnered": len(p1), "groups": sum(1 for g, s in size.items() if g != "singleton" and s > 1),
               "p_at_1": sum(p1) / len(p1), "map": sum(aps) / len(aps),
               "first_link_same_company_other_problem": vendor,
               "links": len(links), "links_explained_by_a_company_word": len(named),
               "unmatched_labels": missing}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:<40} {value if not isinstance(value, float) else f'{value:.3f}'}")
    if args.show:
        by = {pm.id: pm for pm in pms}
        for pid, comp, label, first in rows:
            mark = "" if first is None else ("ok " if labels[first] == label and label != "singleton" else "   ")
            print(f"{mark}{pid} [{label}] {by[pid].title[:60]!r} -> "
                  f"{by[first].title[:60]!r}" if first else f"{pid}: none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
