"""Adversarial inputs: how long one hostile file takes to validate (target: under 2 s each).

Run on demand (not a timed test):

    .venv/bin/python benchmarks/adversarial.py [--only NAME ...] [--size BYTES] [--rounds N]

Each shape is one post-mortem file: a valid front matter, then a body built to hit one code
path's worst case. Every round validates each file with ``generator.validate.validate`` (the
secret scan included, as ``pmkb validate`` runs it) in this process and prints the seconds;
``--before`` runs the same shapes through the secret scanner without its guard
(``generator.scan.scan_windows`` made the identity) for comparison, on a smaller size, since
unguarded they grow with the square of the size.

Shapes are registered in :data:`SHAPES` (name -> function of the size in bytes returning the
body): the secret scanner's shapes are here; add others beside them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


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
}


def run(names: list[str], size: int, rounds: int, before: bool) -> int:
    from generator import scan
    from generator.settings import Settings
    from generator.validate import validate

    if before:
        scan.scan_windows = lambda line: [line]  # the scanner as it was: the whole line, as is
    slow = 0
    with tempfile.TemporaryDirectory(prefix="pmkb-adversarial-") as tmp:
        docs = Path(tmp) / "postmortems"
        docs.mkdir()
        settings = Settings(docs_dir=docs, max_file_size=size * 4)
        for name in names:
            path = docs / "2024-03-14-adversarial-input.md"
            path.write_text(FRONT_MATTER + SHAPES[name](size), encoding="utf-8")
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                result = validate([path], settings)
                times.append(time.perf_counter() - started)
            codes = sorted({p.code for p in result.problems})
            flag = "" if max(times) < 2 else "  OVER 2 s"
            slow += bool(flag)
            print(f"{name:55s} {os.path.getsize(path) / 1e6:5.2f} MB  "
                  + "  ".join(f"{t:6.2f} s" for t in times) + f"  {','.join(codes) or '-'}{flag}", flush=True)
    return slow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="shape names (or a part of them) to run")
    parser.add_argument("--size", type=int, default=1_000_000, help="bytes of the adversarial part (1 MB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", action="store_true",
                        help="without the secret scanner's guard (use a --size of 20000 or so)")
    args = parser.parse_args()
    names = [n for n in SHAPES if not args.only or any(part in n for part in args.only)]
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; "
          f"{len(names)} shapes, {args.size:,} bytes, {args.rounds} rounds" + (" (guard off)" if args.before else ""))
    sys.exit(1 if run(names, args.size, args.rounds, args.before) else 0)


if __name__ == "__main__":
    main()
