"""What the report pages add to a full site build (target: at most 10 %).

    .venv/bin/python benchmarks/reports_speed.py [N ...]     # default 3000

For each N, writes N synthetic post-mortems (``../shared/tools/synth_corpus.py``) and, in the
same process, builds the whole site twice with MkDocs: once as shipped, once with the report
pages and charts left out (``generator.report_pages.report_pages`` and ``chart_specs``, which
:func:`generator.render.render_site` calls, replaced by functions returning none). It prints
both wall times, the time spent inside them and drawing the charts (Markdown + SVG) during the
first build, and the overhead in percent. The order alternates over ``--rounds`` rounds so a
warm cache favours neither side; the median of each side is reported.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synth import ROOT, corpus  # benchmarks/ is the script folder


def build(docs: Path, site: Path) -> float:
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    config = load_config(config_file=str(ROOT / "mkdocs.yml"), docs_dir=str(docs), site_dir=str(site))
    start = time.perf_counter()
    mkdocs_build(config)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[3000])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)

    import logging

    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    from generator import report_pages

    real = {name: getattr(report_pages, name) for name in ("report_pages", "chart_specs", "draw_chart")}
    inside: list[float] = []

    def timed(function):
        def run(*a, **kw):
            start = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                inside.append(time.perf_counter() - start)
        return run

    def use(enabled: bool) -> None:
        for name, function in real.items():
            setattr(report_pages, name, timed(function) if enabled else (lambda *a, **kw: {}))

    print("| N | build with reports (s) | build without (s) | report pages + charts (s) | report pages | overhead |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        docs = corpus(n)
        with_reports, without = [], []
        pages = 0
        for round_ in range(args.rounds):
            for enabled in ((True, False) if round_ % 2 == 0 else (False, True)):
                use(enabled)
                with tempfile.TemporaryDirectory() as site:
                    seconds = build(docs, Path(site))
                    if enabled:
                        pages = sum(1 for _ in (Path(site) / "reports").rglob("index.html"))
                (with_reports if enabled else without).append(seconds)
        for name, function in real.items():  # as shipped
            setattr(report_pages, name, function)
        a, b = statistics.median(with_reports), statistics.median(without)
        print(f"| {n} | {a:.1f} | {b:.1f} | {sum(inside) / args.rounds:.2f} | {pages} | {100 * (a - b) / b:+.1f} % |")
        inside.clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
