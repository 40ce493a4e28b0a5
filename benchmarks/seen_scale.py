#!/usr/bin/env python3
""""Have we seen this?" at scale: size of the exported model and time to the first answer.

Usage (from the repository root):

    .venv/bin/python benchmarks/seen_scale.py [N ...] [--rounds R] [--real-text]

For each N (default 300 3000 10000): N synthetic post-mortems
(``../shared/tools/synth_corpus.py``, reused from ``benchmarks/out/``), analysed as the site
does (TF-IDF, semantic off), the model exported by :mod:`generator.seen`; printed: export time,
model size raw / gzip -6 / gzip -9, terms, non-zeros. Then, in headless Chromium, a page with
the site's own "Have we seen this?" markup, ``seen.js`` and the model, opened from ``file://``
with ``?q=``: the time from navigation start to the first answer on the page
(``data-first-answer-ms``), the model's load + decode time (``data-load-ms``), and the mean
time of one query once loaded. Each case is paired with the same page holding the model of an
empty corpus (the baseline: Chromium's own cost to open a page and run the script), and the
ratio (measured just before each case, so a round taken under more load compares). Rounds
alternate the order of the sizes; every round is printed with the machine's load (``uptime``).

Agreement: for every size, the browser's top 5 (ids, order, scores to 9 decimals) of a set of
queries are compared with :meth:`SimilarityIndex.similar_to` on the same corpus.

``--real-text``: also corpora made of the shipped post-mortems' real text (each copied with a
new id and a random fifth of its body words dropped), whose vocabulary and non-zeros per
post-mortem are those of real write-ups (the synthetic ones have under 100 distinct terms).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.synth import OUT, corpus  # noqa: E402

QUERIES = {
    "synthetic": ["tls certificate expired handshake failures on the load balancer",
                  "dns zone change removed records resolvers return nxdomain",
                  "disk volume full of logs, writes failing, inode capacity",
                  "replica lag after database failover of the primary postgres",
                  "oom kills heap memory leak pods restart under peak traffic",
                  "kafka consumer backlog partition throughput lag"],
    "real-text": ["Windows hosts blue screen BSOD in a boot loop after the endpoint sensor channel file update",
                  "BGP route leak: more-specific prefixes announced by a transit provider",
                  "x509: certificate has expired; TLS handshake failures from partner clients",
                  "coredns panics on CNAME lookups, leap second clock went backwards",
                  "postgres transaction ID wraparound, database refuses writes",
                  "integer out of range for column id (int4), inserts failing"],
}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def real_text_corpus(n: int) -> Path:
    """``benchmarks/out/real-N``: ``n`` copies of the shipped post-mortems (round robin), each
    with a new id, date kept, and a random fifth of its body words dropped (seeded)."""
    folder = OUT / f"real-{n}"
    if folder.is_dir() and len(list(folder.glob("*.md"))) >= n:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(15)
    sources = sorted((ROOT / "postmortems").glob("*.md"))
    for i in range(n):
        src = sources[i % len(sources)]
        text = src.read_text(encoding="utf-8")
        head, sep, body = text.partition("\n---\n")
        head = re.sub(r"^id: (\S+)-(\d{4})-\d+$", lambda m: f"id: {m.group(1)}-{m.group(2)}-{10000 + i}",
                      head, count=1, flags=re.M)
        head = re.sub(r"^(related|not_related):.*$", "", head, flags=re.M)
        words = body.split(" ")
        body = " ".join(w for w in words if "\n" in w or rng.random() > 0.2)
        (folder / f"{src.stem}-{i:05d}.md").write_text(head + sep + body, encoding="utf-8")
    return folder


def load(folder: Path):
    """The published post-mortems of ``folder`` (pickled beside it after the first validation)
    and their analysis."""
    import pickle

    from generator.analysis import analyse, published
    from generator.settings import Settings
    from generator.validate import validate

    settings = Settings(docs_dir=folder)
    settings.semantic = "off"
    cache = folder.parent / f"{folder.name}.pickle"
    if cache.is_file():
        pms = pickle.loads(cache.read_bytes())
    else:
        pms = published(validate([folder], settings, scan_secrets=False).postmortems)
        cache.write_bytes(pickle.dumps(pms, protocol=pickle.HIGHEST_PROTOCOL))
    return pms, analyse(pms, settings)


def harness(folder: Path, model_script: str, count: int) -> Path:
    """A folder with ``index.html`` (the site's page markup, no theme), ``assets/pmkb/seen.js``
    and the model; returns the page."""
    from generator import seen
    from generator.markup import Links

    (folder / "assets" / "pmkb").mkdir(parents=True, exist_ok=True)
    model_file = seen.model_path(model_script)
    (folder / model_file).write_text(model_script, encoding="utf-8")
    (folder / seen.SCRIPT).write_bytes((ROOT / "generator" / "assets" / "seen.js").read_bytes())
    markdown = seen.seen_page(Links(False), model_file, count)
    body = markdown.split("---\n", 2)[2].split("\n", 2)[2]      # the HTML after the front matter and heading
    page = folder / "index.html"
    page.write_text(f"<!doctype html><meta charset=utf-8><title>seen</title><body>{body}</body>", encoding="utf-8")
    return page


def first_answer(browser, page: Path, query: str) -> tuple[float, float]:
    """(ms from navigation start to the first answer, ms to load + decode the model)."""
    tab = browser.new_page()
    from urllib.parse import quote

    tab.goto(page.as_uri() + "?q=" + quote(query))
    tab.wait_for_selector("#pmkb-seen[data-state=ready]", timeout=120000)
    first = tab.get_attribute("#pmkb-seen", "data-first-answer-ms")
    loaded = float(tab.get_attribute("#pmkb-seen", "data-load-ms"))
    tab.close()
    return (float(first) if first is not None else float("nan")), loaded


def baseline_ready(browser, page: Path) -> float:
    """ms from navigation start until the page with an empty model is ready (``data-ready-ms``:
    its model loaded and decoded, its first, empty, answer shown)."""
    tab = browser.new_page()
    tab.goto(page.as_uri())
    tab.wait_for_selector("#pmkb-seen[data-ready-ms]", timeout=120000)
    ready = float(tab.get_attribute("#pmkb-seen", "data-ready-ms"))
    tab.close()
    return ready


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="*", default=[300, 3000, 10000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--real-text", action="store_true")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from generator import seen
    from generator.similarity import SimilarityIndex

    kinds = ["synthetic"] + (["real-text"] if args.real_text else [])
    work = Path(tempfile.mkdtemp(prefix="pmkb-seen-bench-"))
    cases = []
    for kind in kinds:
        for n in args.sizes:
            folder = corpus(n) if kind == "synthetic" else real_text_corpus(n)
            t = time.perf_counter()
            pms, analysis = load(folder)
            analysed = time.perf_counter() - t
            t = time.perf_counter()
            model = seen.export_model(analysis.index, analysis.clusters, analysis.cluster_of)
            script = seen.model_script(model)
            exported = time.perf_counter() - t
            raw = script.encode("utf-8")
            sizes = (len(raw), len(gzip.compress(raw, 6)), len(gzip.compress(raw, 9)))
            parts = {key: len(gzip.compress(json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                                            .encode("utf-8"), 6)) for key, value in model.items()}
            print(f"{kind} N={n}: analysed in {analysed:.1f} s; export {exported:.2f} s; "
                  f"{'lossless tf postings' if 'postings' in model else 'exact weights'}; "
                  f"terms {len(model['terms'])}, non-zeros {analysis.index.matrix.nnz}; "
                  f"model {sizes[0] / 1e6:.2f} MB raw, {sizes[1] / 1e6:.2f} MB gzip -6, {sizes[2] / 1e6:.2f} MB gzip -9")
            print("    gzip -6 by part (kB): " + ", ".join(f"{k} {v / 1e3:.0f}" for k, v in
                                                         sorted(parts.items(), key=lambda kv: -kv[1]) if v > 2000))
            page = harness(work / f"{kind}-{n}", script, len(pms))
            cases.append((kind, n, page, analysis.index, QUERIES[kind]))
    from generator.settings import Settings

    baseline = harness(work / "empty", seen.model_script(seen.export_model(SimilarityIndex.build([], Settings()))), 0)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for kind, n, page, index, queries in cases:  # agreement on the exported model
            tab = browser.new_page()
            tab.goto(page.as_uri())
            tab.wait_for_selector("#pmkb-seen[data-state=ready]", timeout=120000)
            same = 0
            times = []
            for q in queries:
                t = time.perf_counter()
                got = tab.evaluate("(q) => window.__pmkbSeen.api.search(q)", q)
                times.append((time.perf_counter() - t) * 1000)
                want = [{"id": link.id, "score": link.score, "terms": list(link.terms)} for link in index.similar_to(q)]
                same += got == want
                if got != want:
                    print(f"    DISAGREE {kind} N={n} {q!r}:\n      browser {got}\n      python  {want}")
            print(f"{kind} N={n}: browser = pmkb similar --text for {same} of {len(queries)} queries "
                  f"(ids, order, 9-decimal scores, shared terms); one query {statistics.mean(times):.1f} ms "
                  f"mean (with the page round trip)")
            tab.close()
        baseline_ready(browser, baseline)  # (a first tab pays for starting the renderer)
        for r in range(1, args.rounds + 1):
            print(f"round {r} ({subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()})")
            for kind, n, page, _, queries in (cases if r % 2 else list(reversed(cases))):
                ready = baseline_ready(browser, baseline)     # paired: just before, same conditions
                first, loaded = first_answer(browser, page, queries[0])
                print(f"    {kind} N={n}: first answer {first:.0f} ms after navigation start "
                      f"(model load + decode {loaded:.0f} ms); baseline page ready {ready:.0f} ms; "
                      f"{first / ready:.2f} x baseline")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
