#!/usr/bin/env python3
"""Site build at scale: our plugin against a bare Material build of the same files.

For each size N, writes N synthetic post-mortems (``../shared/tools/synth_corpus.py``) and
builds them twice per round, in the same run, alternating:

- **full**: the shipped ``mkdocs.yml`` (Material, search, tags, the ``postmortems`` plugin:
  validation, TF-IDF analysis, generated pages, cards, related links, sanitising, exports);
- **bare**: the shipped ``mkdocs.yml`` minus the ``postmortems`` plugin (same theme,
  extensions, search, nav).

Reports wall time (best of ``--rounds``), the time ratio (target <= 1.3 at N = 3,000), the
largest HTML page of the full build (target < 300 KB; also the largest outside ``reports/``,
whose pages come from :mod:`generator.reports`) and the site size ratio full/bare (target <= 1.5). Output only under ``benchmarks/out/site/`` (git-ignored) or ``--out``.

With ``--engines zensical`` (or both), the same for Zensical: **full** is ``pmkb build --engine
zensical`` (validation, analysis, site source written to the build folder, ``zensical build``,
sanitising, site moved to ``site_dir``), **bare** is ``zensical build`` of the same files with
the bare configuration; both start without Zensical's cache (``--clean``, build folder
removed), so every round does the whole work. Target: full <= 1.5 x bare.

With ``--baseline DIR`` (a source tree of the package), every MkDocs round also builds the
full site with that code (``PYTHONPATH``), so a change is compared with what it replaces in
the same rounds.

Usage: ``.venv/bin/python benchmarks/site_build.py [--sizes 300 3000] [--rounds 2] [--engines mkdocs zensical] [--baseline DIR]``
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
SYNTH = next((folder / "shared" / "tools" / "synth_corpus.py" for folder in (ROOT.parent, ROOT.parent.parent)
              if (folder / "shared" / "tools" / "synth_corpus.py").is_file()),
             ROOT.parent / "shared" / "tools" / "synth_corpus.py")  # ../shared, or ../../shared from a worktree

from everyday import bare_config, bytecode_cached  # noqa: E402 (benchmarks/ is the script's folder)

PLUGIN_ENTRY = "  - postmortems:\n      broken_links: error\n"
"""The plugin's entry in the shipped mkdocs.yml: the full build adds its ``semantic`` option
after it; the bare build is the shipped file without the entry and its options
(:func:`everyday.bare_config`): the same theme, extensions, search and offline settings, and
nav (whose generated pages are then missing), no plugin."""


def build(project: Path, config: str, site: Path, code: Path | None = None) -> float:
    """Run ``mkdocs build`` and return its wall time in seconds (raises on failure); ``code``:
    a source tree of the package to build with instead of the installed one (``--baseline``)."""
    if site.exists():
        shutil.rmtree(site)
    env = {**bytecode_cached(os.environ), "NO_MKDOCS_2_WARNING": "1", "OFFLINE": "false"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", config, "-d", str(site)],
                          cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"build with {config} failed:\n{done.stderr[-3000:]}")
    return elapsed


def build_zensical(project: Path, config: str, site: Path, full: bool) -> float:
    """``pmkb build --engine zensical`` (full) or ``zensical build --clean`` (bare) in
    ``project``, site moved to ``site``; returns the wall time in seconds (raises on failure)."""
    for folder in (site, project / "site", project / ".pmkb-build", project / ".cache"):
        if folder.exists():
            shutil.rmtree(folder)
    env = {**bytecode_cached(os.environ), "NO_MKDOCS_2_WARNING": "1", "OFFLINE": "false"}
    if full:
        cmd = [sys.executable, "-c", "from generator.cli import main; main()", "-f", config, "build",
               "--engine", "zensical"]
    else:
        cmd = [sys.executable, "-m", "zensical", "build", "--clean", "-f", config]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"zensical build with {config} failed:\n{done.stderr[-3000:]}")
    shutil.move(str(project / "site"), site)
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


def run_size(n: int, out: Path, rounds: int, engine: str = "mkdocs", semantic: str = "off",
             cold: bool = False, baseline: Path | None = None) -> dict:
    """Synthesise ``n`` post-mortems under ``out/N`` and time both builds ``rounds`` times,
    alternating bare and full, with ``engine``. ``cold``: the cache folder (charts, embeddings)
    is removed before every full build, so no round reuses an earlier one's work."""
    project = out / str(n)
    if project.exists():
        shutil.rmtree(project)
    docs = project / "postmortems"
    subprocess.run([sys.executable, str(SYNTH), str(n), str(docs)], check=True, capture_output=True)
    shipped = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert PLUGIN_ENTRY in shipped, "the shipped mkdocs.yml changed its postmortems entry"
    # the whole entry with its option lines (left behind, they would be options of the plugin above it,
    # which Zensical refuses: "unknown offline option: audience")
    (project / "bare.yml").write_text(bare_config(shipped), encoding="utf-8")
    (project / "full.yml").write_text(shipped.replace(PLUGIN_ENTRY, PLUGIN_ENTRY + f"      semantic: \"{semantic}\"\n"),
                                      encoding="utf-8")
    kinds = ("bare", "full", "baseline") if baseline is not None and engine == "mkdocs" else ("bare", "full")
    times = {kind: [] for kind in kinds}
    for _ in range(rounds):
        if cold and (project / ".pmkb-cache").exists():
            shutil.rmtree(project / ".pmkb-cache")
        for kind in kinds:
            if engine == "zensical":
                times[kind].append(build_zensical(project, f"{kind}.yml", project / f"site-{kind}", kind == "full"))
            elif kind == "baseline":  # the same full build with the baseline's code (its own cache keys)
                times[kind].append(build(project, "full.yml", project / "site-baseline", baseline))
            else:
                times[kind].append(build(project, f"{kind}.yml", project / f"site-{kind}"))
        print(f"  {engine} {n} round {len(times['bare'])} (load {os.getloadavg()[0]:.1f}): " + ", ".join(
            f"{kind} {times[kind][-1]:.1f} s" for kind in kinds), flush=True)
    full, bare = site_stats(project / "site-full"), site_stats(project / "site-bare")
    result = {
        "n": n, "engine": engine, "load_after": os.getloadavg()[0], "bare_s": round(min(times["bare"]), 2), "full_s": round(min(times["full"]), 2),
        "all_bare_s": [round(t, 2) for t in times["bare"]], "all_full_s": [round(t, 2) for t in times["full"]],
        "full": full, "bare": bare,
    }
    if "baseline" in times:
        result["all_baseline_s"] = [round(t, 2) for t in times["baseline"]]
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
    parser.add_argument("--semantic", choices=("off", "auto", "on"), default="off",
                        help="the plugin's semantic option (default off: sentence-model links are measured by "
                             "the similarity benchmarks)")
    parser.add_argument("--cold", action="store_true", help="remove the cache folder before every full build")
    parser.add_argument("--engines", nargs="+", choices=("mkdocs", "zensical"), default=["mkdocs"])
    parser.add_argument("--baseline", type=Path, help="source tree of the package (git archive main | tar -x -C DIR) "
                        "whose full MkDocs build runs in the same rounds")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    print("| engine | N | bare build | full build | time ratio | largest page | largest outside reports/ "
          "| bare site | full site | size ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, engine in ((n, e) for n in args.sizes for e in args.engines):
        r = run_size(n, args.out, args.rounds, engine, args.semantic, args.cold,
                     args.baseline.resolve() if args.baseline else None)
        results.append(r)
        print(f"| {engine} | {n} | {r['bare_s']:.1f} s | {r['full_s']:.1f} s | {r['time_ratio']:.2f} "
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
        print(f"{r['engine']} {r['n']} (load {r['load_after']:.2f}): bare {r['all_bare_s']} s, full {r['all_full_s']} s, "
              f"ratio per round {ratios}" + (f", baseline full {r['all_baseline_s']} s" if "all_baseline_s" in r else ""))


if __name__ == "__main__":
    main()
