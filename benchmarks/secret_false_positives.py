"""False positives of the secret scan on real text that holds no credential.

    .venv/bin/python benchmarks/secret_false_positives.py [FOLDER ...]

Validates the post-mortems of each FOLDER (default: the shipped ``postmortems/`` and, when it
is there, ``../shared/corpus/postmortems``) twice: with detect-secrets' own reading only
(``SecretScanner(wide=False)``: keyword assignments found only when quoted in prose, only as
YAML in the front matter) and with the wider detection (keyword assignments in prose and in
front-matter text). Other text files (``*.txt``, ``*.md`` that are not post-mortems, package
``METADATA``) in a FOLDER are scanned as pages. Prints, per folder, files, lines, the files
and findings of each mode, and every finding (masked, with its line number) for a person to
judge: each is a false positive unless the text really holds a credential.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]


def findings(path: Path, wide: bool, scanner_cache: dict) -> list[tuple[int, str, str]]:
    from generator import scan
    from generator.loader import read_page, read_source
    from generator.validate import _text_values

    scanner = scanner_cache.setdefault(wide, scan.SecretScanner(wide=wide).__enter__())
    is_postmortem = path.suffix == ".md" and path.read_text(encoding="utf-8", errors="replace").startswith("---")
    src = read_source(path) if is_postmortem else read_page(path)
    if not src.text:
        return []
    lines = src.text.split("\n")
    fm = src.body_line - 1
    code = frozenset(fm + i for i in scan.code_line_indexes(src.body))
    values = _text_values(src) if is_postmortem else []
    return [(f.line, f.kind, scan.mask(f.value)) for f in scanner.scan(lines, 1, code, fm, values)]


def main() -> None:
    folders = [Path(a) for a in sys.argv[1:]] or [p for p in (ROOT / "postmortems",
                                                              ROOT.parent / "shared" / "corpus" / "postmortems")
                                                  if p.is_dir()]
    cache: dict = {}
    for folder in folders:
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                       and (p.suffix in (".md", ".txt") or p.name == "METADATA"))
        lines = sum(p.read_text(encoding="utf-8", errors="replace").count("\n") + 1 for p in files)
        narrow = {p: findings(p, False, cache) for p in files}
        wide = {p: findings(p, True, cache) for p in files}
        print(f"{folder}: {len(files)} files, {lines:,} lines")
        for name, found in (("detect-secrets' reading", narrow), ("wider detection", wide)):
            flagged = [p for p in files if found[p]]
            print(f"  {name:24s} {len(flagged)} file(s) flagged, {sum(map(len, found.values()))} finding(s)")
        for p in files:
            for line, kind, shown in wide[p]:
                new = "" if (line, kind, shown) in narrow[p] else "  (new)"
                print(f"    {p.relative_to(folder)}:{line}: {kind}: {shown}{new}")


if __name__ == "__main__":
    main()
