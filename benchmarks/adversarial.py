"""Adversarial inputs: how long one hostile file takes to validate (target: under 2 s each).

Run on demand (not a timed test):

    .venv/bin/python benchmarks/adversarial.py [--only NAME ...] [--size BYTES] [--rounds N]
        [--growth] [--render] [--duplicates N] [--before]

Each shape is one post-mortem file built to hit one code path's worst case: a body after a
valid front matter (the secret scanner's shapes, long lines of what scanners backtrack on,
deep nesting), or a whole file (a shipped post-mortem, so that every rule runs, with one part
blown up: 10,000-item lists in every list field, 10,000 links, deep front matter). Every round
validates each file with ``generator.validate.validate`` (the secret scan included, as
``pmkb validate`` runs it) in this process and prints the wall seconds, with the CPU seconds
of the last round (steadier on a shared machine), and the problem codes.

- ``--size`` is the size of the adversarial part (1 MB; the list and link shapes scale their
  10,000 items with it).
- ``--growth`` also times every shape at a quarter of ``--size`` and prints the ratio of the
  CPU times: about 4 is linear, about 16 the square of the input.
- ``--render`` also renders each file's body with Python-Markdown (the extensions of
  ``mkdocs.yml``) and the site's sanitiser, as the build does, in a subprocess stopped after
  ``--render-timeout`` seconds: it shows which shapes the site's renderer itself cannot take
  (the validator refuses those before a build renders them).
- ``--duplicates N`` validates N copies of one post-mortem (one id) with the real CLI in a
  subprocess: seconds, its peak RSS and the size of its JSON (the memory case of issue #11).
- ``--before`` runs the shapes through the secret scanner without its guard
  (``generator.scan.scan_windows`` made the identity), on a smaller size, since unguarded they
  grow with the square of the size.

Shapes are registered in :data:`SHAPES`: name -> function of the size in bytes returning the
body, or the whole file when the text starts with ``---``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRONT_MATTER = """\
---
id: PM-2024-001
title: Adversarial input
date: 2024-03-14
severity: SEV3
status: draft
services: [api]
authors: [bench]
---

"""
BASE64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrL2FiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6"
# A shipped, final post-mortem: whole-file shapes start from it, so every rule runs.
BASE_FILE = ROOT / "postmortems" / "2011-08-07-utility-transformer-failure-generators-not-synced.md"
MB = 1_000_000


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _items(size: int, full: int = 10_000) -> int:
    """``full`` items at 1 MB, in proportion to ``size``."""
    return max(1, full * size // MB)


def _with_front(extra: str = "", body_extra: str = "", drop: tuple[str, ...] = ()) -> str:
    """:data:`BASE_FILE` with the front-matter fields ``drop`` removed, ``extra`` added to the
    front matter and ``body_extra`` to the end of the body."""
    front, body = BASE_FILE.read_text(encoding="utf-8")[4:].split("\n---\n", 1)
    kept, skipping = [], False
    for line in front.split("\n"):
        if any(line.startswith(key + ":") for key in drop):
            skipping = True
            continue
        if skipping and line.startswith(" "):
            continue
        skipping = False
        kept.append(line)
    return "---\n" + "\n".join(kept).rstrip("\n") + "\n" + extra + "---\n" + body + body_extra


def _block_list(key: str, n: int, item) -> str:
    return f"{key}:\n" + "".join(f"  - {item(i)}\n" for i in range(n))


SHAPES = {
    # The secret scanner (detect-secrets' allowlist check is quadratic in a run of spaces).
    "secret: 1 MB line of spaces": lambda n: "2024-03-14 12:00 ERROR token=abc123def456ghi789jkl " + " " * n + "end\n",
    "secret: 1 MB line of spaces after a keyword": lambda n: "password = '" + " " * n + "x'\n",
    "secret: 1 MB line of '='": lambda n: "secret" + "=" * n + "\n",
    "secret: 1 MB line of base64": lambda n: _repeat(BASE64, n) + "\n",
    "secret: 1 MB line of base64 in a code block": lambda n: "```\n" + _repeat(BASE64, n) + "\n```\n",
    "secret: 1 MB line of keyword assignments": lambda n: _repeat("password='a1' ", n) + "\n",
    "secret: 1 MB line of tabs and NBSP": lambda n: "api_key = " + _repeat("\t\u00a0", n) + "x\n",
    "secret: 1 MB line of prose with a token at the end": lambda n: _repeat("the quick brown fox ", n)
    + " 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\n",

    # 10,000-item lists in every list field (whole files).
    "list: related 10,000 ids": lambda n: _with_front(
        _block_list("related", _items(n), lambda i: f"PM-2011-{i + 100:05d}")),
    "list: related + not_related 10,000 each": lambda n: _with_front(
        _block_list("related", _items(n), lambda i: f"PM-2012-{i + 100:05d}")
        + _block_list("not_related", _items(n), lambda i: f"PM-2012-{i + 100:05d}")),
    "list: tags 10,000": lambda n: _with_front(_block_list("tags", _items(n), lambda i: f"tag-{i}"), drop=("tags",)),
    "list: tags 10,000 not kebab-case": lambda n: _with_front(
        _block_list("tags", _items(n), lambda i: f"Tag {i}"), drop=("tags",)),
    "list: services 10,000": lambda n: _with_front(
        _block_list("services", _items(n), lambda i: f"svc-{i}"), drop=("services",)),
    "list: authors 10,000": lambda n: _with_front(
        _block_list("authors", _items(n), lambda i: f"author {i}"), drop=("authors",)),
    "list: action_items 10,000": lambda n: _with_front(_block_list(
        "action_items", _items(n), lambda i: f"{{title: Fix {i}, owner: ops, status: open, due: '2011-08-0{i % 9 + 1}'}}"),
        drop=("action_items",)),
    "list: action_items 10,000 without a title": lambda n: _with_front(_block_list(
        "action_items", _items(n), lambda i: f"{{titel: Fix {i}, owner: ops}}"), drop=("action_items",)),
    "list: 10,000 unknown fields": lambda n: _with_front("".join(f"custom_{i}: value\n" for i in range(_items(n)))),
    # format v2: its list fields (contributing_factors; action items with done_at and addresses)
    "list: v2 contributing_factors 10,000": lambda n: _with_front(
        "format: 2\n" + _block_list("contributing_factors", _items(n), lambda i: f"factor-{i}")),
    "list: v2 action_items 10,000 done, addressing 10,000 factors": lambda n: _with_front(
        "format: 2\n" + _block_list("contributing_factors", _items(n), lambda i: f"factor-{i}") + _block_list(
            "action_items", _items(n), lambda i: f"{{title: Fix {i}, owner: ops, status: done, "
                                                 f"done_at: '2011-08-{i % 20 + 10}', addresses: factor-{i}}}"),
        drop=("action_items",)),
    "list: v2 action_items 10,000 addressing unknown causes": lambda n: _with_front("format: 2\n" + _block_list(
        "action_items", _items(n), lambda i: f"{{title: Fix {i}, owner: ops, status: open, addresses: cause-{i}}}"),
        drop=("action_items",)),

    # 10,000 links.
    "links: 10,000 to missing anchors of another file": lambda n: _with_front(body_extra="\n" + "\n".join(
        f"[l{i}](2011-04-21-block-storage-remirroring-storm.md#no-such-{i})" for i in range(_items(n)))),
    "links: 10,000 headings, 10,000 broken anchors": lambda n: _with_front(
        body_extra="\n" + "\n".join(f"### Heading {i}" for i in range(_items(n)))
        + "\n\n" + "\n".join(f"[l{i}](#heading-{i}x)" for i in range(_items(n)))),
    "links: 10,000 equal headings, an anchor to the last": lambda n: _with_front(
        body_extra="\n" + "\n".join("### Same" for _ in range(_items(n))) + f"\n\n[x](#same_{_items(n) - 1})\n"),
    "links: 10,000 broken on one line": lambda n: _with_front(
        body_extra="\n" + " ".join(f"[l{i}](missing-{i}.md)" for i in range(_items(n))) + "\n"),
    "links: 10,000 remote images": lambda n: _with_front(
        body_extra="\n" + "\n".join(f"![i{i}](https://cdn.example.com/{i}.png)" for i in range(_items(n)))),

    # Nesting.
    "nesting: list 3,000 levels (9 MB at full size)": lambda n: "\n".join(
        "  " * i + "- x" for i in range(_items(n, 3000))) + "\n",
    "nesting: block quote 1 MB of '>'": lambda n: ">" * n + " x\n",
    "nesting: ordered lists, 1 MB of '1. '": lambda n: _repeat("1. ", n) + "x\n",
    "nesting: emphasis, 1 MB of '*a '": lambda n: "*a " * (n // 4) + "x" + "*" * (n // 4) + "\n",
    "nesting: 10,000 markdown=1 divs": lambda n: '<div markdown="1">\n' * _items(n) + "x\n" + "</div>\n" * _items(n),
    "nesting: front matter 300 levels (flow)": lambda n: _with_front(
        "deep: " + "[" * _items(n, 300) + "]" * _items(n, 300) + "\n"),
    "nesting: front matter 900 levels (block)": lambda n: _with_front(
        "deep:\n" + "".join("  " * i + "- \n" for i in range(1, _items(n, 900)))),

    # Blocks the renderer splits line by line (Python-Markdown parses the rest again each time).
    "block: 10,000 heading lines without blank lines": lambda n: "\n".join(f"### Step {i}" for i in range(_items(n))) + "\n",
    "block: 10,000 setext headings without blank lines": lambda n: "\n".join(
        f"Step {i}\n---" for i in range(_items(n))) + "\n",
    "block: 10,000 headings with blank lines": lambda n: "\n\n".join(f"### Step {i}" for i in range(_items(n))) + "\n",

    # Headings and sections.
    "heading: 1 MB of ' #'": lambda n: "# a" + " #" * (n // 2) + "x\n\n[x](#a)\n",
    "heading: 1 MB of ' {'": lambda n: "# a" + " {" * (n // 2) + "}\n\n[x](#a)\n",
    "section: final, '-' and 1 MB of spaces": lambda n: _with_front(
        body_extra="\n## Lessons learned\n-" + " " * n + "x\n"),
    "section: final, 1 MB of '<!--'": lambda n: _with_front(body_extra="\n## Lessons learned\n" + "<!--" * (n // 4) + "\n"),
    "code spans: 1 MB of backtick runs 1, 2, 3 ...": lambda n: " ".join(
        "`" * (k % 2000 + 1) for k in range(int((2 * n) ** 0.5))) + "\n",
}
# 1 MB lines of what regexes and hand-written scanners backtrack on.
for _unit in ("[", "](", "[a](", "![", "![a](", "[a](<", "<", "<a ", "<a b=", '<a x="', "<!--", "`", "` ``",
              "*", "_", "{", "&#", "\\", "#", "a", "a@", "a.", "1 ", "|", "~", "-", "http://", ":", "\u202e",
              "&", "\u00a0", "&amp;", "```"):
    SHAPES[f"line: 1 MB of {_unit!r}"] = lambda n, unit=_unit: _repeat(unit, n) + "\n"


# validate renders a body with Python-Markdown when a raw HTML block holds code the site reads as
# HTML (generator.site_markdown): the lines Python-Markdown is slow on, after such a block, kept
# under the size the comparison renders (MAX_CHARS, 64 KB).
RAW_BLOCK = "<div>\n\nThe probe sent `<img src=x onerror=alert(1)>`.\n\n</div>\n\n"
for _unit in ("\\", "` ``", "<a ", "<a x=\"", "a <b c\n", "~", "`", "<!--", "&#", "<", "</div>\n", "<p>\n"):
    SHAPES[f"raw block, then up to 60 KB of {_unit!r}"] = lambda n, unit=_unit: RAW_BLOCK + _repeat(unit, min(n, 60_000)) + "\n"


def file_text(name: str, size: int) -> str:
    text = SHAPES[name](size)
    return text if text.startswith("---\n") else FRONT_MATTER + text


def validate_once(path: Path, settings) -> tuple[float, float, list[str]]:
    """Validate ``path``: wall seconds, CPU seconds, the problem codes."""
    from generator.validate import validate

    wall, cpu = time.perf_counter(), time.process_time()
    result = validate([path], settings)
    return time.perf_counter() - wall, time.process_time() - cpu, sorted({p.code for p in result.problems})


RENDER_SCRIPT = r"""
import sys, time, yaml
from pathlib import Path
import markdown
from generator import sanitize
config = yaml.load(Path(sys.argv[2]).read_text(), Loader=yaml.BaseLoader)
extensions, configs = [], {}
for entry in config.get("markdown_extensions", []):
    if isinstance(entry, dict):
        (name, options), = entry.items()
        extensions.append(name); configs[name] = options or {}
    else:
        extensions.append(entry)
text = Path(sys.argv[1]).read_text(encoding="utf-8").split("\n---\n", 1)[1]
start = time.perf_counter()
try:
    html = markdown.Markdown(extensions=extensions, extension_configs=configs).convert(text)
    sanitize.sanitize_html(html)
    print(f"{time.perf_counter() - start:.2f} s")
except RecursionError:
    print(f"RecursionError {time.perf_counter() - start:.1f} s")
"""


def render(path: Path, timeout: float) -> str:
    """Render the file's body as the site build would: its time, or what stopped it."""
    try:
        proc = subprocess.run([sys.executable, "-c", RENDER_SCRIPT, str(path), str(ROOT / "mkdocs.yml")],
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return f"> {timeout:g} s"
    return proc.stdout.strip() or (proc.stderr.strip().splitlines() or ["failed"])[-1][:30]


def run(names: list[str], size: int, rounds: int, before: bool, growth: bool, render_timeout: float | None) -> int:
    from generator import scan
    from generator.settings import Settings, load_settings

    if before:
        scan.scan_windows = lambda line: [line]  # the scanner as it was: the whole line, as is
    slow = 0
    with tempfile.TemporaryDirectory(prefix="pmkb-adversarial-") as tmp:
        docs = Path(tmp) / "postmortems"
        docs.mkdir()
        # The whole-file shapes link to a shipped post-mortem: it is there, as in the repository.
        shutil.copy(ROOT / "postmortems" / "2011-04-21-block-storage-remirroring-storm.md", docs)
        settings = Settings(docs_dir=docs, max_file_size=size * 4,
                            markdown_extensions=load_settings(ROOT / "mkdocs.yml").markdown_extensions)
        path = docs / BASE_FILE.name
        for name in names:
            path.write_text(file_text(name, size), encoding="utf-8")
            megabytes = os.path.getsize(path) / MB
            times = [validate_once(path, settings) for _ in range(rounds)]
            codes = times[-1][2]
            extra = ""
            if growth:
                path.write_text(file_text(name, size // 4), encoding="utf-8")
                small = min(validate_once(path, settings)[1] for _ in range(rounds))
                extra += f"  x4: {min(t[1] for t in times) / max(small, 0.005):5.1f}"
                path.write_text(file_text(name, size), encoding="utf-8")
            if render_timeout:
                extra += f"  render: {render(path, render_timeout)}"
            flag = "" if max(t[0] for t in times) < 2 else "  OVER 2 s"
            slow += bool(flag)
            print(f"{name:52s} {megabytes:5.2f} MB  " + "  ".join(f"{t[0]:6.2f} s" for t in times)
                  + f"  (cpu {times[-1][1]:5.2f}){extra}  {','.join(codes) or '-'}{flag}", flush=True)
    return slow


def duplicates(n: int) -> None:
    """``pmkb validate --format json`` on ``n`` copies of one post-mortem, in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="pmkb-duplicates-") as tmp:
        folder = Path(tmp) / "postmortems"
        folder.mkdir()
        text = BASE_FILE.read_text(encoding="utf-8")
        for i in range(n):
            (folder / f"2011-08-07-copy-{i:05d}.md").write_text(text, encoding="utf-8")
        out = Path(tmp) / "out.json"
        start = time.perf_counter()
        with open(out, "wb") as sink:
            proc = subprocess.Popen([str(Path(sys.executable).with_name("pmkb")), "validate", "--format", "json",
                                     str(folder)], stdout=sink, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        data = json.loads(out.read_bytes())
        print(f"{n} files with one id: {seconds:.1f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MB, JSON "
              f"{out.stat().st_size / MB:.1f} MB, {len(data['problems'])} problems, exit "
              f"{os.waitstatus_to_exitcode(status)}; a message: {data['problems'][0]['message'][:120]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="shape names (or a part of them) to run")
    parser.add_argument("--size", type=int, default=MB, help="bytes of the adversarial part (1 MB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", action="store_true",
                        help="without the secret scanner's guard (use a --size of 20000 or so)")
    parser.add_argument("--growth", action="store_true", help="also time a quarter of --size (CPU ratio)")
    parser.add_argument("--render", action="store_true", help="also render each body with Python-Markdown")
    parser.add_argument("--render-timeout", type=float, default=60.0)
    parser.add_argument("--duplicates", type=int, default=0, help="copies of one post-mortem (e.g. 5000)")
    args = parser.parse_args()
    names = [n for n in SHAPES if not args.only or any(part in n for part in args.only)]
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; "
          f"{len(names)} shapes, {args.size:,} bytes, {args.rounds} rounds" + (" (guard off)" if args.before else ""))
    slow = run(names, args.size, args.rounds, args.before, args.growth, args.render_timeout if args.render else None)
    if args.duplicates:
        duplicates(args.duplicates)
    sys.exit(1 if slow else 0)


if __name__ == "__main__":
    main()
