"""The built site's phone-first and search additions (issue #16 items 2 and 3), with both engines:
our script and the incidents it reads, the synonyms in the pages and in Material's index, the
phone drawings of the charts."""

from __future__ import annotations

import json
import re

import pytest

from tests.sitebuild import ENGINES, engine_available, shipped_site

pytestmark = pytest.mark.slow

RRDNS = "2017-01-01-rrdns-panic-negative-duration"


@pytest.fixture(scope="module", params=ENGINES)
def site(request):
    if not engine_available(request.param):
        pytest.skip("the [zensical] extra is not installed")
    return shipped_site(engine=request.param), request.param


def test_every_page_loads_our_script_and_the_incidents_are_there(site):
    root, _ = site
    pages = sorted(root.rglob("*.html"))
    assert len(pages) > 60
    missing = [p for p in pages if "assets/pmkb/pmkb.js" not in p.read_text(encoding="utf-8") and p.name != "404.html"]
    assert missing == []
    script = (root / "assets" / "pmkb" / "incidents.js").read_text(encoding="utf-8")
    data = json.loads(script.split("window.pmkbIncidents = ", 1)[1].rstrip().rstrip(";"))
    assert len(data) == 60
    assert data["PM-2017-001"] == [f"{RRDNS}/", "2017-01-01", "SEV2"]
    assert list(data)[:2] == ["PM-2025-002", "PM-2024-002"]       # newest first
    assert "<" not in script and "\\u" not in script.split("=", 1)[0]


def test_synonyms_are_in_the_page_hidden_from_view(site):
    root, _ = site
    html = (root / RRDNS / "index.html").read_text(encoding="utf-8")
    assert ('<p class="pmkb-card__terms">Also searched as: leap second, inserted second, clock jump, clock went backwards</p>'
            in html)
    css = (root / "assets" / "pmkb" / "pmkb.css").read_text(encoding="utf-8")
    assert re.search(r"\.pmkb-card__terms \{[^}]*clip: rect\(0 0 0 0\)", css)


def test_material_index_has_the_synonyms_as_a_boosted_field(site):
    root, engine = site
    if engine != "mkdocs":
        pytest.skip("Zensical's index has no fields of its own: the page's hidden paragraph is indexed")
    index = json.loads((root / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["fields"]["synonyms"] == {"boost": 1e6}
    entries = {d["location"]: d for d in index["docs"]}
    assert entries[f"{RRDNS}/"]["synonyms"] == (
        "leap second, extra second, inserted second, leap-second insertion, clock step, clock stepped, clock jump, "
        "time jump, clock went backwards")
    assert "synonyms" not in entries[f"{RRDNS}/#summary"]          # the page's first section only
    assert sum("synonyms" in d for d in index["docs"]) == 53
    # the card's hidden paragraph of the same terms is put in after search read the page: a result's
    # snippet never shows "Also searched as: ..." (it is in the page, test above)
    assert [d["location"] for d in index["docs"] if "Also searched as" in d["text"]] == []
    assert entries[f"{RRDNS}/"]["text"].endswith("</p>") and "leap second" not in entries[f"{RRDNS}/"]["text"]


def test_every_chart_has_its_phone_drawing_in_a_picture(site):
    root, _ = site
    charts = root / "reports" / "charts"
    wide = sorted(p.name for p in charts.glob("*.svg") if not p.name.endswith("-narrow.svg"))
    assert wide and sorted(p.name for p in charts.glob("*-narrow.svg")) == [n[:-4] + "-narrow.svg" for n in wide]
    for name in wide:
        narrow = (charts / (name[:-4] + "-narrow.svg")).read_text(encoding="utf-8")
        assert re.search(r'<svg[^>]* width="302\.4pt"', narrow), name       # 4.2 in: a phone's width
    trends = (root / "reports" / "trends" / "index.html").read_text(encoding="utf-8")
    pictures = re.findall(r'<picture class="pmkb-chart"><source media="\(max-width: 44\.984375em\)" '
                          r'srcset="([^"]+)"><img src="([^"]+)"', trends)
    assert len(pictures) == 4
    for narrow, wide_src in pictures:
        assert (root / "reports" / "trends" / narrow).resolve().is_file(), narrow
        assert (root / "reports" / "trends" / wide_src).resolve().is_file(), wide_src
        assert narrow == wide_src[:-4] + "-narrow.svg"
