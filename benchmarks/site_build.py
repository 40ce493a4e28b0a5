#!/usr/bin/env python3
"""Site build at scale: our plugin against a bare Material build of the same files.

For each size N, writes N synthetic post-mortems (``../shared/tools/synth_corpus.py``) and
builds them twice per round, in the same run, alternating:

- **full**: the shipped ``mkdocs.yml`` (Material, search, tags, the ``postmortems`` plugin:
  validation, TF-IDF analysis, generated pages, cards, related links, sanitising, exports);
- **bare**: Material and search only, same Markdown extensions, the post-mortems left out
  of the nav (one nav entry).

Reports wall time (best of ``--rounds``), the time ratio (target <= 1.3 at N = 3,000), the
largest HTML page of the full build (target < 300 KB; also the largest outside ``reports/``,
whose pages come from :mod:`generator.reports`) and the site size ratio full/bare (target <= 1.5). Output only under ``benchmarks/out/site/`` (git-ignored) or ``--out``.

Usage: ``.venv/bin/python benchmarks/site_build.py [--sizes 300 3000] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYNTH = ROOT.parent / "shared" / "tools" / "synth_corpus.py"

BARE_CONFIG = """\
site_name: Bare Material
docs_dir: postmortems
use_directory_urls: true
theme:
  name: material
  font: false
nav:
  - First: {first}
not_in_nav: |
  /*.md
markdown_extensions:
  - admonition
  - attr_list
  - md_in_html
  - tables
  - footnotes
  - pymdownx.details
  - pymdownx.superfences
  - pymdownx.highlight
  - pymdownx.inlinehilite
  - toc:
      permalink: true
plugins:
  - search
"""


def build(project: Path, config: str, site: Path) -> float:
    """Run ``mkdocs build`` and return its wall time in seconds (raises on failure)."""
    if site.exists():
        shutil.rmtree(site)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OFFLINE": "false"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", config, "-d", str(site)],
                          cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"build with {config} failed:\n{done.stderr[-3000:]}")
    return elapsed


def site_stats(site: Path) -> dict:
    """Total bytes, HTML page count and the largest HTML page of a built site."""
    files = [p for p in site.rglob("*") if p.is_file()]
    html = [p for p in files if p.suffix == ".html"]
    largest = max(html, key=lambda p: p.stat().st_size)
    ours = max((p for p in html if not p.relative_to(site).as_posix().startswith("reports/")),
               key=lambda p: p.stat().st_size)
    return {"bytes": sum(p.stat().st_size for p in files), "html_pages": len(html),
            "largest_page": largest.relative_to(site).as_posix(), "largest_page_bytes": largest.stat().st_size,
            "largest_non_report_page": ours.relative_to(site).as_posix(),
            "largest_non_report_page_bytes": ours.stat().st_size}


def run_size(n: int, out: Path, rounds: int) -> dict:
    """Synthesise ``n`` post-mortems under ``out/N`` and time both builds ``rounds`` times."""
    project = out / str(n)
    if project.exists():
        shutil.rmtree(project)
    docs = project / "postmortems"
    subprocess.run([sys.executable, str(SYNTH), str(n), str(docs)], check=True, capture_output=True)
    shutil.copy(ROOT / "mkdocs.yml", project / "full.yml")
    first = sorted(p.name for p in docs.glob("*.md"))[0]
    (project / "bare.yml").write_text(BARE_CONFIG.format(first=first), encoding="utf-8")
    times = {"bare": [], "full": []}
    for _ in range(rounds):
        for kind in ("bare", "full"):
            times[kind].append(build(project, f"{kind}.yml", project / f"site-{kind}"))
    full, bare = site_stats(project / "site-full"), site_stats(project / "site-bare")
    result = {
        "n": n, "bare_s": round(min(times["bare"]), 2), "full_s": round(min(times["full"]), 2),
        "all_bare_s": [round(t, 2) for t in times["bare"]], "all_full_s": [round(t, 2) for t in times["full"]],
        "full": full, "bare": bare,
    }
    result["time_ratio"] = round(result["full_s"] / result["bare_s"], 2)
    result["size_ratio"] = round(full["bytes"] / bare["bytes"], 2)
    return result


def main() -> None:
    """Run the sizes given on the command line and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 3000])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "site")
    parser.add_argument("--keep", action="store_true", help="keep the corpora and sites")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    print("| N | bare build | full build | time ratio | largest page | largest outside reports/ "
          "| bare site | full site | size ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        r = run_size(n, args.out, args.rounds)
        results.append(r)
        print(f"| {n} | {r['bare_s']:.1f} s | {r['full_s']:.1f} s | {r['time_ratio']:.2f} "
              f"| {r['full']['largest_page_bytes'] / 1000:.0f} KB ({r['full']['largest_page']}) "
              f"| {r['full']['largest_non_report_page_bytes'] / 1000:.0f} KB ({r['full']['largest_non_report_page']}) "
              f"| {r['bare']['bytes'] / 1e6:.1f} MB | {r['full']['bytes'] / 1e6:.1f} MB | {r['size_ratio']:.2f} |",
              flush=True)
        if not args.keep:
            shutil.rmtree(args.out / str(n))
    (args.out / "site_build.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print()
    for r in results:  # every round: the spread says how far the best-of ratio can be trusted
        ratios = [f"{f / b:.2f}" for b, f in zip(r["all_bare_s"], r["all_full_s"])]
        print(f"{r['n']}: bare {r['all_bare_s']} s, full {r['all_full_s']} s, ratio per round {ratios}")


if __name__ == "__main__":
    main()
