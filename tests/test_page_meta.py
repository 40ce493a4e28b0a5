"""The site plugin gives post-mortem pages the front matter the validator parsed: it must be
exactly what MkDocs' own parse (``mkdocs.utils.meta.get_data``) would have given."""

from __future__ import annotations

from pathlib import Path

import pytest
from mkdocs.utils import meta as mkdocs_meta

from generator.loader import front_matter_digest, read_source
from generator.settings import settings_from_options
from generator.validate import validate

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("folder", ["postmortems", "tests/fixtures/site", "tests/fixtures/similarity"])
def test_validator_meta_is_mkdocs_meta(folder):
    docs = ROOT / folder
    settings = settings_from_options({}, source="test")
    settings.docs_dir = docs
    result = validate([docs], settings)
    assert result.postmortems
    for pm in result.postmortems:
        source = (docs / pm.path).read_text(encoding="utf-8-sig")
        body, meta = mkdocs_meta.get_data(source)
        assert pm.page_meta is not None, pm.path
        match = mkdocs_meta.YAML_RE.match(source)
        assert front_matter_digest(match.group(1)[:-1]) == pm.page_meta[0]
        assert repr(pm.page_meta[1]) == repr(meta)
        # what the plugin hands MkDocs instead: the body after a blank line, no meta
        assert mkdocs_meta.get_data("\n" + source[match.end():]) == (body, {})


def test_block_scalar_at_the_end_reads_as_mkdocs_reads_it(tmp_path):
    path = tmp_path / "x.md"
    path.write_text("---\nid: PM-1\nsummary: |\n  two\n  lines\n---\n\n# Body\n", encoding="utf-8")
    src = read_source(path, "x.md")
    assert src.page_meta[1] == mkdocs_meta.get_data(path.read_text(encoding="utf-8"))[1]
    assert src.page_meta[1]["summary"] == "two\nlines\n"
