"""Possible same incident (``generator.duplicates``): the rule on a fixture, its edge cases, its
place in ``pmkb review``, and the measured threshold on the benchmark pairs.

``tests/fixtures/same_incident/base`` holds fifteen shipped post-mortems; ``change`` two second
write-ups of two of them by another author of the same organisation (the object storage outage,
flagged; the CDN bug, which scores below the bar) and two write-ups by other companies of their own incident on the same day (a shop
behind the CDN that failed, a site on the block storage that got stuck).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from generator.duplicates import (
    SAME_INCIDENT_THRESHOLD,
    TEXT_ONLY_THRESHOLD,
    days_apart,
    judge,
    same_incidents,
    shared_structure,
)
from generator.model import Postmortem
from generator.review import format_markdown, review
from generator.settings import Settings
from generator.validate import validate

from .conftest import ROOT, TESTS
from .test_review import make_repo

FIXTURE = TESTS / "fixtures" / "same_incident"


def load(folder):
    return validate([folder], Settings(docs_dir=folder), scan_secrets=False).postmortems


def pm(pid="PM-2024-001", date="2024-03-14", services=("checkout-api",), started_at=None, **kw) -> Postmortem:
    return Postmortem(id=pid, title="t", date=dt.date.fromisoformat(date), severity="SEV2", status="final",
                      services=list(services), authors=["a"], path=f"{pid}.md",
                      started_at=dt.datetime.fromisoformat(started_at) if started_at else None, **kw)


def test_second_write_ups_are_flagged_and_other_companies_are_not():
    found = same_incidents(load(FIXTURE / "change"), load(FIXTURE / "base"), Settings())
    # AW-2021-002, the CDN's own second account of its outage, scores 0.351 here: below the bar
    # (one of the 3 misses of 26 the benchmark measures); the two other companies score 0.196 and 0.249
    assert [(s.a, s.b, s.services, round(s.score, 3)) for s in found] == [
        ("AW-2017-001", "PM-2017-004", ("object-storage",), 0.412),
    ]
    assert found[0].why() == "same start day 2017-02-28, shared services object-storage; score 0.41 >= 0.40"
    assert found[0].as_dict()["other_path"] == "2017-02-28-object-store-index-servers-removed-by-typo.md"


@pytest.mark.parametrize("a, b, expected", [
    (dict(date="2024-03-14"), dict(pid="PM-2024-002", date="2024-03-15"), 1),
    (dict(date="2024-03-14"), dict(pid="PM-2024-002", date="2024-03-16"), None),
    # timestamps: 20 h apart over midnight is within the window, 30 h is not
    (dict(date="2024-03-14", started_at="2024-03-14T02:00:00+00:00"),
     dict(pid="PM-2024-002", date="2024-03-14", started_at="2024-03-13T22:00:00-08:00"), 0),
    (dict(date="2024-03-14", started_at="2024-03-14T23:00:00+00:00"),
     dict(pid="PM-2024-002", date="2024-03-16", started_at="2024-03-16T05:00:00+00:00"), None),
])
def test_start_window(a, b, expected):
    assert days_apart(pm(**a), pm(**b)) == expected


@pytest.mark.parametrize("a, b, services, words", [
    (["block-storage", "web-app"], ["block-storage"], ("block-storage",), ("block",)),
    (["public-api"], ["public-api", "web-app"], (), ()),               # names made only of generic words
    (["redis-clusters", "git-storage"], ["redis"], (), ("redis",)),    # plural folded
    (["npm-packages"], ["package-publishing"], (), ("package",)),
    (["checkout"], ["search"], (), ()),
])
def test_shared_structure(a, b, services, words):
    assert shared_structure(pm(services=a), pm("PM-2024-002", services=b)) == (services, words)


def test_the_two_thresholds():
    a, b = pm(services=["object-storage"]), pm("PM-2024-002", services=["object-storage", "console"])
    assert judge(a, b, SAME_INCIDENT_THRESHOLD) is not None
    assert judge(a, b, SAME_INCIDENT_THRESHOLD - 0.01) is None
    c = pm("PM-2024-003", services=["photo-upload"])
    assert judge(a, c, TEXT_ONLY_THRESHOLD - 0.01) is None
    assert judge(a, c, TEXT_ONLY_THRESHOLD).why() == "same start day 2024-03-14, no shared services; score 0.65 >= 0.65"


def test_a_pair_its_author_already_judged_is_not_flagged_again():
    a, b = pm(services=["object-storage"]), pm("PM-2024-002", services=["object-storage"])
    assert judge(dataclasses.replace(a, related=["PM-2024-002"]), b, 0.9) is None
    assert judge(a, dataclasses.replace(b, not_related=["PM-2024-001"]), 0.9) is None


def test_measured_threshold_holds_on_the_benchmark_pairs():
    """benchmarks/same_incident_threshold.py: the figures in SAME_INCIDENT_THRESHOLD's docstring.
    When the similarity engine changes these move: re-measure and update the threshold."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import same_incident_threshold as bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    pms, index, rows = bench.labelled_pairs()
    structured = [r for r in rows if r["structure"]]
    same = sorted(r["score"] for r in structured if r["label"] == "same")
    other = sorted(r["score"] for r in structured if r["label"] != "same")
    assert len(same) == 24 and [round(s, 3) for s in same[:3]] == [0.340, 0.386, 0.415]
    assert round(other[-1], 3) == 0.395 < SAME_INCIDENT_THRESHOLD
    flagged = {frozenset((s.a, s.b)) for s in bench.find_same_incidents(pms, index)}
    same_pairs = {frozenset((r["a"], r["b"])) for r in rows if r["label"] == "same"}
    assert len(flagged & same_pairs) == 23
    assert flagged - same_pairs == set()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = make_repo(tmp_path / "repo", FIXTURE, removed=None)
    monkeypatch.chdir(root)
    return root


def test_review_warns_of_a_possible_same_incident(repo):
    result = review("main", Settings(docs_dir=repo / "postmortems", semantic="off"))
    flagged = {e.id: [(s.id, s.reason) for s in e.same_incident] for e in result.entries}
    assert flagged == {
        "AW-2017-001": [("PM-2017-004", "same start day 2017-02-28, shared services object-storage; score 0.41 >= 0.40")],
        "AW-2021-002": [],
        "OT-2011-001": [],
        "OT-2019-001": [],
    }
    text = format_markdown(result)
    assert text.count("**Possible same incident**") == 1
    line = next(line for line in text.splitlines() if "Possible same incident" in line and "PM-2017-004" in line)
    assert line.startswith("> **Possible same incident** as **PM-2017-004** ")
    assert "(`postmortems/2017-02-28-object-store-index-servers-removed-by-typo.md`): same start day 2017-02-28, " \
           "shared services object-storage; score 0.41 &gt;= 0.40. If both describe one incident, merge them" in line
    data = result.as_dict()
    entry = next(e for e in data["postmortems"] if e["id"] == "AW-2017-001")
    assert [s["id"] for s in entry["possible_same_incident"]] == ["PM-2017-004"]
