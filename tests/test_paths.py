"""Page paths and generated anchors (:mod:`generator.paths`), shared by validation and rendering."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from generator import paths


@pytest.mark.parametrize("first, part, expected", [
    ("services/x.md", 1, "services/x.md"),
    ("services/x.md", 2, "services/x/page-2.md"),
    ("incidents/index.md", 3, "incidents/page-3.md"),
    ("incidents/2024.md", 2, "incidents/2024/page-2.md"),
])
def test_part_page(first, part, expected):
    assert paths.part_page(first, part) == expected


def test_part_page_refuses_part_zero():
    with pytest.raises(ValueError, match="no part 0 of 'services/x.md'"):
        paths.part_page("services/x.md", 0)


def test_named_pages():
    assert paths.service_page("edge-proxy") == "services/edge-proxy.md"
    assert paths.tag_page("tls") == "tags/tls.md"
    assert paths.cluster_page("C-PM-2024-017") == "clusters/c-pm-2024-017.md"
    assert paths.year_page(2024) == "incidents/2024.md"
    assert paths.service_page("index") == paths.SERVICES and paths.tag_page("index") == paths.TAGS


def test_generated_anchors_take_a_suffix_when_the_author_has_the_id():
    assert paths.section_anchors(set(), True) == ("tracked-action-items", "related-incidents")
    assert paths.section_anchors({"related-incidents"}, False) == (None, "related-incidents-pmkb")
    assert paths.generated_anchors({"tracked-action-items", "summary"}, True) == {
        "tracked-action-items-pmkb", "related-incidents"}
    assert paths.generated_anchors([], False) == {"related-incidents"}


def test_validation_does_not_import_the_renderer():
    source = (Path(paths.__file__).parent / "validate.py").read_text(encoding="utf-8")
    imported = {node.module for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}
    imported |= {alias.name for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module for alias in node.names}
    assert not imported & {"site", "render", "plugin", "reports", "report_pages"}, imported
