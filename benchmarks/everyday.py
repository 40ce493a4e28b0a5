#!/usr/bin/env python3
"""Everyday speed on the shipped knowledge base (issue #16 item 1): what an author or a
responder waits for, measured as ratios within one run, rounds alternating.

Three measures, each on a copy of the shipped project (``mkdocs.yml`` + ``postmortems/``)
under ``benchmarks/out/everyday/`` (git-ignored), never on the shipped files:

``build``
    Per round, in this order: the **bare** build (the shipped ``mkdocs.yml`` minus the
    ``postmortems`` plugin), the **pages** build (the bare configuration over the site source
    the plugin renders, written once by the Zensical adapter: the same pages as the full build,
    built by MkDocs and Material without the plugin), the **cold** full build (no cache folder), the **warm** full build
    (the cache folder the cold build left, nothing changed) and the **edit** full build (one
    post-mortem's summary changed since the warm build). Target: full <= 2 x bare.
``serve``
    Starts ``mkdocs serve`` (with ``--livereload``, as an author runs it), waits for the first
    page, then per round changes the summary of one post-mortem and polls its page over HTTP
    until the new text is served: the **save-to-visible** time. Target: <= 2 s. Also reports
    the start (process start to the first page served). ``--engine zensical`` measures
    ``pmkb serve --engine zensical`` the same way (``--engine mkdocs zensical``: both, alternating).
``similar``
    Per round: ``pmkb --help`` (Python and the CLI alone), ``pmkb validate`` and
    ``pmkb similar --text`` with a warm cache. Target: similar <= 1 s.

Usage::

    .venv/bin/python benchmarks/everyday.py build --rounds 3
    .venv/bin/python benchmarks/everyday.py serve --rounds 5
    .venv/bin/python benchmarks/everyday.py similar --rounds 5
    .venv/bin/python benchmarks/everyday.py serve --rounds 4 --dirty   # mkdocs serve --dirty
    .venv/bin/python benchmarks/everyday.py serve --rounds 4 --engine mkdocs zensical   # both previews, alternating

``--baseline DIR`` (a source tree of the package, e.g. ``git archive main | tar -x -C DIR``)
runs the same commands with that code (through ``PYTHONPATH``) on a copy of its own, in the
same rounds: build and similar one after the other, serve as a second server whose edits
alternate with the first's. ``--cold-rounds N`` starts only the first N build rounds without a
cache folder.

Every round is printed with the load average (``os.getloadavg``) and, for commands, the CPU
time (user + system of the command and its children) beside the wall time, because the
machine is shared: under a load of 10 on 2 cores the wall time measures the other jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sitebuild import fetch, free_port  # noqa: E402 (the test helpers' local HTTP client)
OUT = ROOT / "benchmarks" / "out" / "everyday"
EDITED = "2012-02-29-transfer-certificate-invalid-date.md"
"""The post-mortem whose summary the ``edit`` build and ``serve`` change."""
def bytecode_cached(environ) -> dict:
    """``environ`` without ``PYTHONDONTWRITEBYTECODE``: the commands measured keep their compiled
    bytecode (``__pycache__``) as an installed package does (pip compiles it at install). Some
    machines set the variable for every process (this one does): the package, installed
    editable, was then compiled again on every run (~20,000 lines, 0.1-0.2 s), a cost the bare
    build (whose packages pip compiled) never paid and a user's second run never pays."""
    return {name: value for name, value in environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


ENV = {**bytecode_cached(os.environ), "NO_MKDOCS_2_WARNING": "1", "OFFLINE": "false"}
BIN = Path(sys.executable).parent


def bare_config(shipped: str) -> str:
    """The shipped ``mkdocs.yml`` without the ``postmortems`` plugin entry (its option lines,
    comments included, are the lines indented deeper than the entry)."""
    out, skipping = [], False
    for line in shipped.splitlines():
        if line.startswith("  - postmortems:"):
            skipping = True
            continue
        if skipping and (line.startswith("      ") or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out) + "\n"


SEMANTIC = "shipped"
"""The ``semantic`` option of the copied ``mkdocs.yml`` (``--semantic``): by default the shipped
file's (no ``semantic:`` line, so ``auto``: the sentence model when the ``[semantic]`` extra is
installed, what a user with the extra gets); ``off``, ``auto`` or ``on`` write that line."""


def project(name: str) -> Path:
    """A fresh copy of the shipped project under ``OUT/name``."""
    folder = OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "postmortems", folder / "postmortems")
    shipped = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    entry = "  - postmortems:\n"
    assert entry in shipped, "the shipped mkdocs.yml changed its postmortems entry"
    if SEMANTIC == "shipped":
        full = shipped
    else:
        assert "\n      semantic:" not in shipped, "the shipped mkdocs.yml sets semantic: give no --semantic"
        full = shipped.replace(entry, f"{entry}      semantic: \"{SEMANTIC}\"\n")
    (folder / "mkdocs.yml").write_text(full, encoding="utf-8")
    (folder / "bare.yml").write_text(bare_config(shipped), encoding="utf-8")
    return folder


def edit_summary(path: Path, marker: str) -> None:
    """Give the post-mortem at ``path`` a new first sentence in its ``summary:``."""
    text = path.read_text(encoding="utf-8")
    text, n = re.subn(r"^summary: *(>-?|\|-?)?\n?( *)", lambda m: m.group(0) + f"{marker} ", text, count=1,
                      flags=re.M)
    assert n == 1, f"no summary: in {path}"
    path.write_text(text, encoding="utf-8")


CPU: dict[str, list[float]] = {}
"""CPU seconds (user + system, the process and its children) of every run, by label: on a
shared machine the wall time measures the other jobs too, the CPU time much less so."""


def run(cmd: list[str], cwd: Path, label: str | None = None, check: bool = True) -> float:
    """Run ``cmd``; returns its wall time (s) and records its CPU time under ``label``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label:
        CPU.setdefault(label, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return elapsed


def mkdocs_build(folder: Path, config: str, label: str) -> float:
    site = folder / f"site-{config}"
    if site.exists():
        shutil.rmtree(site)
    return run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", config, "-d", str(site)], folder, label)


COLD_ROUNDS = 1 << 30
"""``--cold-rounds N``: the rounds that start from an empty cache folder (the first N; the
others keep the folder: with the sentence model a cold build embeds every post-mortem)."""

DIRTY = False
"""``--dirty``: ``mkdocs serve --dirty`` (MkDocs rebuilds only the pages whose file changed, and
every generated page; see the README on what it leaves stale)."""
ENGINES = ["mkdocs"]
"""``--engine``: ``mkdocs serve`` with the plugin and/or ``pmkb serve --engine zensical`` (both:
one server each, their saves alternating)."""

BASELINE: Path | None = None
"""``--baseline DIR``: a source tree of the package (``git archive main | tar -x -C DIR``) whose
full builds run in the same rounds, through ``PYTHONPATH`` (it comes before the editable install)."""


def pages_config(folder: Path) -> str:
    """Write the site source the plugin renders (every generated page, and the post-mortem pages
    as the model gives them) under ``folder/pages/docs`` (the Zensical adapter's build folder),
    and ``pages.yml``: the bare configuration over that folder. Building it is MkDocs' and
    Material's own cost for the full site's pages, without the plugin."""
    code = ("from pathlib import Path\nfrom generator.zensical import Project\n"
            "Project(Path('mkdocs.yml').resolve(), Path('pages').resolve()).render()\n")
    run([sys.executable, "-c", code], folder)
    bare = (folder / "bare.yml").read_text(encoding="utf-8")
    assert "\ndocs_dir: postmortems" in bare
    (folder / "pages.yml").write_text(bare.replace("\ndocs_dir: postmortems", "\ndocs_dir: pages/docs", 1),
                                      encoding="utf-8")
    return "pages.yml"


def measure_build(rounds: int) -> dict:
    folder = project("build")
    pages = pages_config(folder)
    times: dict[str, list[float]] = {"bare": [], "pages": [], "cold": [], "warm": [], "edit": []}
    setups = [("", folder, None)]
    if BASELINE is not None:
        times.update({"base-cold": [], "base-warm": [], "base-edit": []})
        setups.append(("base-", project("build-baseline"), BASELINE))
    loads = []
    for r in range(rounds):
        times["bare"].append(mkdocs_build(folder, "bare.yml", "bare"))
        times["pages"].append(mkdocs_build(folder, pages, "pages"))
        for prefix, where, code in setups:
            ENV.pop("PYTHONPATH", None)
            if code is not None:
                ENV["PYTHONPATH"] = str(code)
            cache = where / ".pmkb-cache"
            if r < COLD_ROUNDS:
                if cache.exists():
                    shutil.rmtree(cache)
                times[prefix + "cold"].append(mkdocs_build(where, "mkdocs.yml", prefix + "cold"))
            times[prefix + "warm"].append(mkdocs_build(where, "mkdocs.yml", prefix + "warm"))
            edit_summary(where / "postmortems" / EDITED, f"Edited in round {r}.")
            times[prefix + "edit"].append(mkdocs_build(where, "mkdocs.yml", prefix + "edit"))
        ENV.pop("PYTHONPATH", None)
        loads.append(os.getloadavg()[0])
        now = [k for k in times if len(times[k]) == r + 1 or (k.endswith("cold") and r < COLD_ROUNDS)]
        print(f"round {r + 1} (load {loads[-1]:.1f}): wall " + ", ".join(
            f"{k} {times[k][-1]:.2f} s" for k in now) + "; ratios " + ", ".join(
            f"{k} {times[k][-1] / times['bare'][-1]:.2f}" for k in now if k != "bare") + "; CPU " + ", ".join(
            f"{k} {CPU[k][-1]:.2f} s" for k in now) + "; CPU ratios " + ", ".join(
            f"{k} {CPU[k][-1] / CPU['bare'][-1]:.2f}" for k in now if k != "bare"), flush=True)
    return {"times": times, "cpu": {k: CPU.get(k, []) for k in times}, "loads": loads}


def start_serve(folder: Path, code: Path | None, timeout: float, engine: str = "mkdocs") -> tuple[subprocess.Popen, str, float]:
    """Start ``mkdocs serve`` in ``folder`` and wait until it serves the edited page; returns
    the process, the page's URL and the start time (s)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/{EDITED[:-3]}/"
    log = open(folder / "serve.log", "w", encoding="utf-8")
    _code(code)
    started = time.perf_counter()
    if engine == "zensical":  # our adapter: re-renders the build folder, zensical serve rebuilds from it
        command = [str(BIN / "pmkb"), "serve", "--engine", "zensical", "-a", f"127.0.0.1:{port}"]
    else:
        command = ([sys.executable, "-m", "mkdocs", "serve", "--livereload", "-a", f"127.0.0.1:{port}"]
                   + (["--dirty"] if DIRTY else []))
    process = subprocess.Popen(command,
                               cwd=folder, env=dict(ENV), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _code(None)
    process.log = log
    while fetch(url) is None:
        if process.poll() is not None or time.perf_counter() - started > timeout:
            stop_serve(process)
            raise RuntimeError(f"mkdocs serve did not start: {(folder / 'serve.log').read_text()[-3000:]}")
        time.sleep(0.05)
    return process, url, time.perf_counter() - started


def stop_serve(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    process.log.close()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) the running processes of the session ``pid`` leads (the
    server and, for Zensical, the engine it started) have used so far, from ``/proc`` (Linux)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[3]) == pid:  # its session id (start_new_session: the server's pid)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measure_serve(rounds: int, timeout: float = 120.0) -> dict:
    """Save-to-visible under ``mkdocs serve``; with ``--baseline`` a second server runs the
    baseline's code on its own copy, and the rounds alternate between the two (one edit, then
    the other server's edit, never both rebuilding at once)."""
    setups = []
    for engine in ENGINES:
        prefix = "" if engine == ENGINES[0] else f"{engine}-"
        setups.append((prefix, project(f"serve-{engine}"), None, engine))
        if BASELINE is not None:
            setups.append((f"base-{prefix}", project(f"serve-{engine}-baseline"), BASELINE, engine))
    result: dict = {"loads": []}
    servers = []
    try:
        for prefix, folder, code, engine in setups:
            process, url, start = start_serve(folder, code, timeout, engine)
            process.engine = engine
            servers.append((prefix, folder, process, url))
            result[prefix + "start"] = start
            result[prefix + "save_to_visible"] = []
            result[prefix + "save_cpu"] = []
            print(f"{prefix}serve start: {start:.2f} s (load {os.getloadavg()[0]:.1f})", flush=True)
        for r in range(rounds):
            for prefix, folder, process, url in servers:
                time.sleep(1.0)  # let the watcher settle after the previous rebuild
                marker = f"Serve round {r} {time.time_ns()}."
                cpu_before = process_cpu(process.pid)
                saved = time.perf_counter()
                edit_summary(folder / "postmortems" / EDITED, marker)
                while True:
                    body = fetch(url)
                    if body is not None and marker in body:
                        break
                    if time.perf_counter() - saved > timeout:
                        raise RuntimeError("the edit never showed")
                    time.sleep(0.02)
                result[prefix + "save_to_visible"].append(time.perf_counter() - saved)
                result[prefix + "save_cpu"].append(process_cpu(process.pid) - cpu_before)
            result["loads"].append(os.getloadavg()[0])
            print(f"round {r + 1} (load {result['loads'][-1]:.1f}): save-to-visible " + ", ".join(
                f"{prefix or 'this '}{result[prefix + 'save_to_visible'][-1]:.2f} s "
                f"(server CPU {result[prefix + 'save_cpu'][-1]:.2f} s)" for prefix, *_ in servers), flush=True)
        for prefix, folder, process, url in servers:  # --dirty merges the search index of each rebuild
            if process.engine == "zensical":
                index = json.loads(fetch(url.rsplit("/", 2)[0] + "/search.json") or "{}")
                entries = [doc["location"] for doc in index.get("items", [])]
            else:
                index = json.loads(fetch(url.rsplit("/", 2)[0] + "/search/search_index.json") or "{}")
                entries = [doc["location"] for doc in index.get("docs", [])]
            result[prefix + "search_entries"] = [len(entries), len(set(entries))]
            print(f"{prefix}search index after the saves: {len(entries)} entries, {len(set(entries))} distinct "
                  "locations", flush=True)
    finally:
        for *_, process, _ in servers:
            stop_serve(process)
    return result


def measure_similar(rounds: int) -> dict:
    setups = [("", project("similar"), None)]
    if BASELINE is not None:
        setups.append(("base-", project("similar-baseline"), BASELINE))
    pmkb = str(BIN / "pmkb")
    query = [pmkb, "similar", "--text", "certificate expired at midnight"]
    times: dict[str, list[float]] = {}
    for prefix, folder, code in setups:
        _code(code)
        run(query, folder)  # warm the cache
        times.update({prefix + "help": [], prefix + "validate": [], prefix + "similar": []})
    loads = []
    for r in range(rounds):
        for prefix, folder, code in setups:
            _code(code)
            times[prefix + "help"].append(run([pmkb, "--help"], folder, prefix + "help"))
            times[prefix + "validate"].append(run([pmkb, "validate"], folder, prefix + "validate", check=False))
            times[prefix + "similar"].append(run(query, folder, prefix + "similar"))
        _code(None)
        loads.append(os.getloadavg()[0])
        print(f"round {r + 1} (load {loads[-1]:.1f}): wall " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
              + "; CPU " + ", ".join(f"{k} {CPU[k][-1]:.2f} s" for k in times), flush=True)
    return {"times": times, "cpu": {k: CPU[k] for k in times}, "loads": loads}


def _code(code: Path | None) -> None:
    """Run the next commands with the package at ``code`` (a source tree, ``--baseline``) or,
    with ``None``, the installed one."""
    ENV.pop("PYTHONPATH", None)
    if code is not None:
        ENV["PYTHONPATH"] = str(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("build", "serve", "similar"), nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--semantic", choices=("shipped", "auto", "on", "off"), default="shipped")
    parser.add_argument("--cold-rounds", type=int, default=1 << 30, help="rounds that start without a cache (build)")
    parser.add_argument("--baseline", type=Path, help="source tree of the code to compare with, in the same rounds")
    parser.add_argument("--dirty", action="store_true", help="serve: mkdocs serve --dirty")
    parser.add_argument("--engine", choices=("mkdocs", "zensical"), nargs="+", default=["mkdocs"],
                        help="serve: mkdocs serve and/or pmkb serve --engine zensical (alternating)")
    args = parser.parse_args()
    global SEMANTIC, BASELINE, COLD_ROUNDS, DIRTY, ENGINES
    ENGINES = args.engine
    DIRTY = args.dirty
    COLD_ROUNDS = args.cold_rounds
    SEMANTIC = args.semantic
    BASELINE = args.baseline.resolve() if args.baseline else None
    OUT.mkdir(parents=True, exist_ok=True)
    results = {}
    for what in args.what:
        results[what] = {"build": measure_build, "serve": measure_serve, "similar": measure_similar}[what](args.rounds)
    for what, r in results.items():
        if "times" in r:
            medians = {k: statistics.median(v) for k, v in r["times"].items() if v}
            print(f"{what} medians, wall: " + ", ".join(f"{k} {v:.2f} s" for k, v in medians.items()))
            medians = {k: statistics.median(v) for k, v in r["cpu"].items() if v}
            print(f"{what} medians, CPU: " + ", ".join(f"{k} {v:.2f} s" for k, v in medians.items()))
        else:
            for prefix in sorted({k[:-len("start")] for k in r if k.endswith("start")}):
                if prefix + "start" in r:
                    print(f"{prefix}serve: start {r[prefix + 'start']:.2f} s, save-to-visible median "
                          f"{statistics.median(r[prefix + 'save_to_visible']):.2f} s, server CPU per save median "
                          f"{statistics.median(r[prefix + 'save_cpu']):.2f} s")
    (OUT / "everyday.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
