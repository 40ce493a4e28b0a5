"""Every report figure against values worked out by hand on the fixture corpus.

The corpus (``tests/fixtures/reports/``, reference date 2024-07-01):

====  ===========  ====  =========================================  ======  ======  ======
id    date         sev   timestamps (UTC)                           TTD s   TTR s   impact
====  ===========  ====  =========================================  ======  ======  ======
A     2023-01-10   SEV1  10:00 det 10:10 mit 11:00 res 12:00           600    7200    3600
B     2023-02-20   SEV2  08:00 det 08:30 res 11:00 (no mitigated)     1800   10800   10800
C     2023-05-05   SEV1  00:00 det 01:00 mit 03:00 (no resolved)      3600       -   10800
D     2023-08-15   SEV3  none, no trigger, no action item, draft         -       -       -
E     2024-01-02   SEV2  12:00 det 12:05 mit 12:20 res 14:00           300    7200    1200
F     2024-03-30   SEV4  09:00+02 det 09:20+02 res 10:00+02           1200    3600    3600
G     2024-05-10   SEV1  22:00 det 23:30 mit 01:00+1d res 06:00+1d    5400   28800   10800
====  ===========  ====  =========================================  ======  ======  ======

A = PM-2023-001, B = PM-2023-002, C = PM-2023-003, D = PM-2023-004, E = PM-2024-001,
F = PM-2024-002, G = PM-2024-003. Clusters (hand-built): X = certificate expiry {A, C, G}
(A's renewal item, done 2023-02-01 by hand here, before C and G happened: the fix did not hold),
Y = bad deploys
{B, E} (B's item is wont-do, E's done and wont-do: nothing open, no fix before E).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections import Counter
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from generator import reports
from generator.analysis import Analysis
from generator.model import ActionItem, Cluster, Postmortem, Recurrence
from generator.reports import (
    DurationStats,
    action_item_ledger,
    build_report,
    counts_by_service,
    counts_by_trigger,
    data_quality,
    incidents_per_quarter,
    nearest_rank,
    owner_summary,
    period_summary,
    rank_clusters,
)
from generator.settings import Settings
from generator.validate import validate

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
TODAY = dt.date(2024, 7, 1)
A, B, C, D, E, F, G = ("PM-2023-001", "PM-2023-002", "PM-2023-003", "PM-2023-004", "PM-2024-001", "PM-2024-002",
                       "PM-2024-003")


def site_pages(analysis: Analysis, today: dt.date) -> dict[str, str | bytes]:
    """The report pages and charts that :func:`generator.render.render_site` gives the site:
    ``{reports/<page>.md: Markdown}`` (without the search front matter it adds), then
    ``{reports/charts/<name>.svg: SVG bytes}``."""
    from generator.render import SiteOptions, render_site

    source = render_site(analysis.postmortems, analysis, SiteOptions("KB", today))
    pages: dict[str, str | bytes] = {path: re.sub(r"\A---\n.*?\n---\n\n", "", markdown, flags=re.S)
                                     for path, markdown in source.pages.items() if path.startswith("reports/")}
    pages.update((path, data) for path, data in source.files.items() if path.startswith("reports/charts/"))
    return pages


def site_exports(analysis: Analysis, today: dt.date) -> dict[str, str]:
    """The full action-item ledger exports of the site, as text."""
    from generator.render import SiteOptions, render_site

    files = render_site(analysis.postmortems, analysis, SiteOptions("KB", today)).files
    return {path: files[path].decode("utf-8") for path in reports.LEDGER_EXPORTS}



@pytest.fixture(scope="module")
def corpus() -> list[Postmortem]:
    settings = Settings(docs_dir=FIXTURES)
    result = validate([FIXTURES], settings)
    assert not result.problems, result.problems
    return result.postmortems


RENEWED = dt.date(2023, 2, 1)
"""When A's renewal item was done, for the hand-built cluster X (the fixture is format v1)."""


def _cluster(cid: str, label: str, members: list[str], pms: list[Postmortem], after_fix: list[str]) -> Cluster:
    by_id = {pm.id: pm for pm in pms}
    # C started 2023-05-05T00:00Z, 93 days after 2023-02-01; G 2024-05-10T22:00Z, 464 days after it.
    recurrences = [Recurrence(m, by_id[m].started_at, members[0], "Automate certificate renewal", RENEWED,
                              (by_id[m].date - RENEWED).days) for m in after_fix]
    return Cluster(id=cid, label=label, members=members, first=by_id[members[0]].date,
                   last=by_id[members[-1]].date,
                   services=sorted({s for m in members for s in by_id[m].services}),
                   action_items=[(m, item) for m in members for item in by_id[m].action_items],
                   recurred_after_fix=after_fix, recurrences=recurrences)


@pytest.fixture(scope="module")
def clusters(corpus) -> list[Cluster]:
    # Given in id order (as analyse() does), not in rank order.
    return [_cluster("C-PM-2023-001", "certificate expiry", [A, C, G], corpus, [C, G]),
            _cluster("C-PM-2023-002", "bad deploys", [B, E], corpus, [])]


# --- percentiles ---------------------------------------------------------------------------


@pytest.mark.parametrize("values, p, expected", [
    ([], 50, None),
    ([7], 50, 7), ([7], 90, 7),
    ([1, 2, 3], 90, 3),                       # ceil(2.7) = 3
    ([1, 2, 3, 4], 50, 2),                    # ceil(2.0) = 2: the lower middle value
    (list(range(1, 11)), 90, 9),              # ceil(9.0) = 9
    (list(range(1, 11)), 91, 10),             # ceil(9.1) = 10
    (list(range(1, 21)), 90, 18),             # ceil(18.0) = 18
    ([30, 10, 20], 50, 20),                   # sorted first
    ([5, 1], 100, 5),
])
def test_nearest_rank(values, p, expected):
    assert nearest_rank(values, p) == expected


def test_nearest_rank_rejects_out_of_range():
    with pytest.raises(ValueError):
        nearest_rank([1], 0)


def test_quarters():
    assert reports.quarter_of(dt.date(2024, 3, 31)) == "2024-Q1"
    assert reports.quarter_of(dt.date(2024, 10, 1)) == "2024-Q4"
    assert reports.quarter_bounds(dt.date(2024, 11, 5)) == (dt.date(2024, 10, 1), dt.date(2024, 12, 31))
    assert reports.quarter_bounds(dt.date(2024, 2, 29)) == (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert reports.quarters_between(dt.date(2023, 11, 1), dt.date(2024, 4, 1)) == ["2023-Q4", "2024-Q1", "2024-Q2"]


# --- counts and trends ---------------------------------------------------------------------


def test_incidents_per_quarter(corpus):
    zero = {"SEV1": 0, "SEV2": 0, "SEV3": 0, "SEV4": 0}
    assert incidents_per_quarter(corpus) == [
        ("2023-Q1", {**zero, "SEV1": 1, "SEV2": 1}),
        ("2023-Q2", {**zero, "SEV1": 1}),
        ("2023-Q3", {**zero, "SEV3": 1}),
        ("2023-Q4", zero),                                  # empty quarters are kept
        ("2024-Q1", {**zero, "SEV2": 1, "SEV4": 1}),
        ("2024-Q2", {**zero, "SEV1": 1}),
    ]


def test_ttd_and_ttr_overall_and_by_severity(corpus, clusters):
    report = build_report(corpus, clusters, TODAY)
    # TTD sorted: 300 600 1200 1800 3600 5400 (n=6): median rank 3, p90 rank ceil(5.4)=6.
    assert report.ttd["all"] == DurationStats(6, 1200, 5400)
    # TTR sorted: 3600 7200 7200 10800 28800 (n=5; C has no resolved_at): ranks 3 and ceil(4.5)=5.
    assert report.ttr["all"] == DurationStats(5, 7200, 28800)
    assert report.ttd["SEV1"] == DurationStats(3, 3600, 5400)     # 600 3600 5400
    assert report.ttd["SEV2"] == DurationStats(2, 300, 1800)      # 300 1800
    assert report.ttd["SEV3"] == DurationStats(0, None, None)     # D has no timestamps
    assert report.ttd["SEV4"] == DurationStats(1, 1200, 1200)
    assert report.ttr["SEV1"] == DurationStats(2, 7200, 28800)    # A and G only


def test_ttd_and_ttr_per_quarter(corpus, clusters):
    report = build_report(corpus, clusters, TODAY)
    assert report.ttd_per_quarter == [
        ("2023-Q1", DurationStats(2, 600, 1800)),
        ("2023-Q2", DurationStats(1, 3600, 3600)),
        ("2023-Q3", DurationStats(0, None, None)),
        ("2023-Q4", DurationStats(0, None, None)),
        ("2024-Q1", DurationStats(2, 300, 1200)),
        ("2024-Q2", DurationStats(1, 5400, 5400)),
    ]
    assert report.ttr_per_quarter == [
        ("2023-Q1", DurationStats(2, 7200, 10800)),
        ("2023-Q2", DurationStats(0, None, None)),               # C: no resolved_at
        ("2023-Q3", DurationStats(0, None, None)),
        ("2023-Q4", DurationStats(0, None, None)),
        ("2024-Q1", DurationStats(2, 3600, 7200)),               # F 3600, E 7200
        ("2024-Q2", DurationStats(1, 28800, 28800)),
    ]
    assert report.ttd_per_year == [("2023", DurationStats(3, 1800, 3600)), ("2024", DurationStats(3, 1200, 5400))]
    assert report.duration_periods("ttd")[0] == "quarter"


def test_counts_by_service_and_trigger(corpus):
    assert counts_by_service(corpus) == [("checkout-api", 3), ("edge-proxy", 3), ("search", 2), ("payments", 1)]
    assert counts_by_trigger(corpus) == [("certificate-expiry", 3), ("bad-deploy", 2), ("config-push", 1)]


# --- data quality --------------------------------------------------------------------------


def test_data_quality(corpus):
    cov = {c.field: c for c in data_quality(corpus)}
    assert list(cov) == ["started_at", "detected_at", "mitigated_at", "resolved_at", "TTD", "TTR", "impact time",
                         "trigger", "action_items", "action item owner", "action item due"]
    assert cov["started_at"].counts == {"SEV1": (3, 3), "SEV2": (2, 2), "SEV3": (0, 1), "SEV4": (1, 1), "all": (6, 7)}
    assert cov["started_at"].share() == 86                         # 6/7 = 85.7
    assert cov["mitigated_at"].counts == {"SEV1": (3, 3), "SEV2": (1, 2), "SEV3": (0, 1), "SEV4": (0, 1),
                                          "all": (4, 7)}
    assert cov["mitigated_at"].share() == 57 and cov["mitigated_at"].share("SEV2") == 50
    assert cov["resolved_at"].counts["SEV1"] == (2, 3) and cov["resolved_at"].share("SEV1") == 67
    assert cov["TTR"].counts["all"] == (5, 7) and cov["TTR"].share() == 71
    assert cov["impact time"].counts["all"] == (6, 7)
    assert cov["trigger"].counts["all"] == (6, 7)
    # Per action item (8 items), grouped by the severity of their incident.
    assert cov["action item owner"].counts == {"SEV1": (4, 4), "SEV2": (2, 3), "SEV3": (0, 0), "SEV4": (1, 1),
                                               "all": (7, 8)}
    assert cov["action item owner"].share() == 88                  # 87.5 rounds half up
    assert cov["action item owner"].share("SEV3") is None
    assert cov["action item due"].counts["all"] == (4, 8) and cov["action item due"].share("SEV2") == 33


def test_coverage_note_names_severities(corpus):
    note = reports.coverage_note(data_quality(corpus), "TTD")
    assert note == "TTD known for 6 of 7 post-mortems (86%; SEV1 100%, SEV2 100%, SEV3 0%, SEV4 100%)."


# --- action items --------------------------------------------------------------------------


def test_ledger_overdue_first_with_ages(corpus):
    ledger = action_item_ledger(corpus, TODAY)
    got = [(r.postmortem.id, r.item.title, r.item.status, r.age_days, r.overdue, r.days_overdue) for r in ledger]
    assert got == [
        # overdue, most days late first: 2023-03-01 -> 2024-07-01 is 366 + 122 days
        (A, "Alert before certificates expire", "open", 538, True, 488),
        (G, "Move every certificate to ACME", "in-progress", 52, True, 31),
        (F, "Validate search config before push", "open", 93, True, 1),
        # open, no due date: never overdue
        (C, "Inventory every certificate", "open", 423, False, 0),
        # done, newest incident first; then wont-do
        (E, "Automate rollbacks", "done", 181, False, 0),
        (A, "Automate certificate renewal", "done", 538, False, 0),
        (E, "Write a deploy-freeze runbook", "wont-do", 181, False, 0),
        (B, "Add a canary stage", "wont-do", 497, False, 0),      # due is past, but wont-do is not open
    ]


def test_due_today_is_not_overdue(corpus):
    ledger = action_item_ledger(corpus, dt.date(2024, 6, 30))
    row = next(r for r in ledger if r.postmortem.id == F)
    assert not row.overdue and row.days_overdue == 0


def test_owner_summary(corpus):
    owners = owner_summary(action_item_ledger(corpus, TODAY))
    assert [o.as_dict() for o in owners] == [
        {"owner": "sre", "open": 2, "overdue": 1, "done": 0, "wont_do": 0, "total": 2},
        {"owner": "platform", "open": 1, "overdue": 1, "done": 2, "wont_do": 1, "total": 4},
        {"owner": "search-team", "open": 1, "overdue": 1, "done": 0, "wont_do": 0, "total": 1},
        {"owner": "(no owner)", "open": 0, "overdue": 0, "done": 0, "wont_do": 1, "total": 1},
    ]


# --- recurrence ----------------------------------------------------------------------------


def _term(weight: float, age_days: int, impact_hours: float) -> float:
    return weight * 0.5 ** (age_days / 1095) * (1 + math.log2(1 + impact_hours))


def test_hurt_score_example_from_docstring():
    def pm(day, sev, hours):
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
        return Postmortem(id=f"PM-{day.year}-001", title="t", date=day, severity=sev, status="final",
                          services=["s"], authors=["a"], path="x.md", started_at=start,
                          mitigated_at=start + dt.timedelta(hours=hours))

    today = dt.date(2024, 1, 1)
    assert reports.hurt_score([pm(today, "SEV1", 1)], today) == pytest.approx(16.0)
    assert reports.hurt_score([pm(today - dt.timedelta(days=1095), "SEV2", 3)], today) == pytest.approx(6.0)


def test_rank_clusters(corpus, clusters):
    ranked = rank_clusters(clusters, corpus, TODAY)
    assert [c.id for c in ranked] == ["C-PM-2023-001", "C-PM-2023-002"]
    x, y = ranked
    # Ages from 2024-07-01: A 538 d, C 423 d, G 52 d; B 497 d, E 181 d. Impact hours A 1, C 3, G 3; B 3, E 1/3.
    assert x.score == pytest.approx(_term(8, 538, 1) + _term(8, 423, 3) + _term(8, 52, 3))
    assert y.score == pytest.approx(_term(4, 497, 3) + _term(4, 181, 1 / 3))
    assert x.score == pytest.approx(52.97, abs=0.01)
    assert [pm.id for pm in x.members] == [A, C, G]
    assert x.severities == {"SEV1": 3}
    assert x.intervals_days == [115, 371]
    assert x.median_interval_days == 243  # statistics.median: (115 + 371) / 2 (finding #7)
    assert x.days_since_last == 52
    assert (x.impact_seconds, x.impact_known) == (25200, 3)
    assert x.action_counts == {"open": 2, "in-progress": 1, "done": 1}
    assert (x.open_items, x.overdue_items) == (3, 2)
    assert x.recurred_after_fix == [C, G]
    assert x.no_open_action_item is False
    assert y.severities == {"SEV2": 2}
    assert y.intervals_days == [316]
    assert y.action_counts == {"done": 1, "wont-do": 2}
    assert (y.open_items, y.overdue_items) == (0, 0)
    assert y.recurred_after_fix == []
    assert y.no_open_action_item is True


def test_cluster_with_missing_impact_times():
    day = dt.date(2024, 1, 1)
    pms = [Postmortem(id=f"PM-2024-00{i}", title="t", date=day + dt.timedelta(days=10 * i), severity="SEV3",
                      status="final", services=["s"], authors=["a"], path=f"{i}.md") for i in (1, 2)]
    cluster = Cluster(id="C-PM-2024-001", label="l", members=[p.id for p in pms], first=pms[0].date,
                      last=pms[1].date)
    (summary,) = rank_clusters([cluster], pms, dt.date(2024, 1, 21))
    assert (summary.impact_seconds, summary.impact_known) == (0, 0)
    assert summary.score == pytest.approx(_term(2, 10, 0) + _term(2, 0, 0))
    assert summary.no_open_action_item is True                      # no action item at all


def test_days_between_recurrences_count_one_event_once_and_take_the_statistical_median():
    """Finding #7: the 2012 leap second hit two companies the same day, then came back 1645 days
    later: one interval of 1645 (not [0, 1645] with a "median" of 0); [808, 258] has median 533."""
    def incident(i: int, day: dt.date) -> Postmortem:
        return Postmortem(id=f"PM-{day.year}-{i:03d}", title="t", date=day, severity="SEV2", status="final",
                          services=["s"], authors=["a"], path=f"{i}.md")

    leap = [incident(1, dt.date(2012, 6, 30)), incident(2, dt.date(2012, 6, 30)), incident(3, dt.date(2016, 12, 31))]
    surge = [incident(4, dt.date(2019, 1, 1)), incident(5, dt.date(2021, 3, 19)), incident(6, dt.date(2021, 12, 2))]
    assert reports.recurrence_intervals(leap) == [1645]
    assert reports.recurrence_intervals(list(reversed(surge))) == [808, 258]
    clusters = [Cluster(id="C-" + pms[0].id, label=label, members=[p.id for p in pms], first=pms[0].date,
                        last=pms[-1].date) for label, pms in (("leap second", leap), ("traffic surge", surge))]
    by_id = {s.label: s for s in rank_clusters(clusters, leap + surge, dt.date(2022, 1, 1))}
    assert (by_id["leap second"].intervals_days, by_id["leap second"].median_interval_days) == ([1645], 1645)
    assert (by_id["traffic surge"].intervals_days, by_id["traffic surge"].median_interval_days) == ([808, 258], 533)
    same_day = [incident(7, dt.date(2020, 5, 5)), incident(8, dt.date(2020, 5, 5))]
    (one,) = rank_clusters([Cluster(id="C-PM-2020-007", label="x", members=[p.id for p in same_day],
                                    first=same_day[0].date, last=same_day[1].date)], same_day, dt.date(2021, 1, 1))
    assert (one.count, one.intervals_days, one.median_interval_days) == (2, [], None)
    four = [incident(9 + i, dt.date(2020, 1, 1) + dt.timedelta(days=d)) for i, d in enumerate((0, 10, 30, 60))]
    (even,) = rank_clusters([Cluster(id="C-PM-2020-009", label="y", members=[p.id for p in four],
                                     first=four[0].date, last=four[-1].date)], four, dt.date(2021, 1, 1))
    assert (even.intervals_days, even.median_interval_days) == ([10, 20, 30], 20)
    report = build_report(leap + surge, clusters, dt.date(2022, 1, 1))
    page = reports.render_recurrence(report, reports.Links(False, "reports/recurrence.md"))
    assert "- **Days between recurrences:** 1645 (median 1645)" in page
    assert "- **Days between recurrences:** 808, 258 (median 533)" in page


def test_recurrence_page_states_its_order_and_where_the_worst_problem_is(pages):
    """Finding #7: the table puts problems whose fix did not hold first; the page says so, and the
    "Hurting most" line points at its row when that is not the first."""
    page = pages["reports/recurrence.md"]
    assert ("*Order: problems whose fix did not hold first, then the others; within each, the one that hurts most "
            "first (see How the ranking works). Every (median): the median of the days between the days its "
            "incidents started (the mean of the two middle values for an even count); incidents on the same day "
            "count once, as one event.*\n\n| Problem |") in page
    # X (fix did not hold) is also the one that hurts most here: row 1, so no pointer.
    assert "Hurting most: **[certificate expiry](../clusters/c-pm-2023-001.md)** — 3 incidents (SEV1 3), " \
           "last on 2024-05-10.\n" in page


def test_hurting_most_names_its_row_when_fixes_that_did_not_hold_come_first():
    day = dt.date(2024, 1, 1)
    pms = [Postmortem(id=f"PM-2024-00{i}", title="t", date=day + dt.timedelta(days=30 * i), severity=sev,
                      status="final", services=["s"], authors=["a"], path=f"{i}.md")
           for i, sev in ((1, "SEV4"), (2, "SEV4"), (3, "SEV1"), (4, "SEV1"))]
    mild = Cluster(id="C-PM-2024-001", label="mild", members=[pms[0].id, pms[1].id], first=pms[0].date,
                   last=pms[1].date, recurred_after_fix=[pms[1].id])
    worst = Cluster(id="C-PM-2024-003", label="worst", members=[pms[2].id, pms[3].id], first=pms[2].date,
                    last=pms[3].date)
    report = build_report(pms, [mild, worst], dt.date(2024, 6, 1))
    page = reports.render_recurrence(report, reports.Links(False, "reports/recurrence.md"))
    assert "Hurting most: **[worst](../clusters/c-pm-2024-003.md)** — 2 incidents (SEV1 2), last on 2024-04-30 " \
           "(row 2 below: problems whose fix did not hold come first).\n" in page
    rows = [line for line in page.splitlines() if line.startswith(("| 1. ", "| 2. "))]
    assert [r.split(" | ")[0] for r in rows] == [
        "| 1. [mild](../clusters/c-pm-2024-001.md)<br>**fix did not hold**, *no open action item*",
        "| 2. [worst](../clusters/c-pm-2024-003.md)<br>*no open action item*"]


def test_a_recurrence_page_that_details_the_first_problems_says_so_in_its_headings():
    """Finding #10: with 18 problems and 5 detailed, the table of contents read "1. ... 5." as
    if that were all; the details now sit under a heading that says how many."""
    day = dt.date(2024, 1, 1)
    pms, clusters = [], []
    for k in range(7):
        pair = [Postmortem(id=f"PM-2024-{2 * k + j + 1:03d}", title="t", date=day + dt.timedelta(days=40 * k + j),
                           severity="SEV2", status="final", services=["s"], authors=["a"], path=f"{k}-{j}.md")
                for j in (0, 1)]
        pms += pair
        clusters.append(Cluster(id=f"C-{pair[0].id}", label=f"problem {k}", members=[p.id for p in pair],
                                first=pair[0].date, last=pair[1].date))
    report = build_report(pms, clusters, dt.date(2024, 12, 1))
    page = reports.render_recurrence(report, reports.Links(True, "reports/recurrence.md"), limit=5)
    headings = [line for line in page.splitlines() if line.startswith("#")]
    assert headings[:3] == ["# Recurring problems", "## The first 5 of 7 problems in detail", "### 1. problem 6"]
    assert len([h for h in headings if h.startswith("### ")]) == 5 and "## How the ranking works" in headings
    full = reports.render_recurrence(report, reports.Links(True, "reports/recurrence.md"))
    assert "## 1. problem 6" in full.splitlines() and "in detail" not in full


# --- periods -------------------------------------------------------------------------------


def test_year_summaries(corpus, clusters):
    ranked = rank_clusters(clusters, corpus, TODAY)
    years = {y.title: y for y in reports.year_summaries(corpus, ranked, TODAY)}
    assert list(years) == ["2024", "2023"]
    y23, y24 = years["2023"], years["2024"]
    assert len(y23.postmortems) == 4
    assert y23.severities == {"SEV1": 2, "SEV2": 1, "SEV3": 1, "SEV4": 0}
    assert [pm.id for pm in y23.worst] == [C, A, B, D]            # SEV1 with 3 h before SEV1 with 1 h
    assert [c.id for c in y23.new_clusters] == ["C-PM-2023-001", "C-PM-2023-002"]
    assert y23.recurring_clusters == []
    assert (y23.items_done, y23.items_open, y23.items_overdue) == (1, 2, 1)
    assert y23.ttd == DurationStats(3, 1800, 3600)
    assert y23.ttr == DurationStats(2, 7200, 10800)
    assert [pm.id for pm in y24.worst] == [G, E, F]
    assert y24.new_clusters == []
    assert [c.id for c in y24.recurring_clusters] == ["C-PM-2023-001", "C-PM-2023-002"]
    assert (y24.items_done, y24.items_open, y24.items_overdue) == (1, 2, 2)


def test_current_quarter(corpus, clusters):
    ranked = rank_clusters(clusters, corpus, dt.date(2024, 6, 15))
    q = reports.current_quarter_summary(corpus, ranked, dt.date(2024, 6, 15))
    assert (q.title, q.start, q.end) == ("2024 Q2", dt.date(2024, 4, 1), dt.date(2024, 6, 15))
    assert [pm.id for pm in q.postmortems] == [G]
    assert [c.id for c in q.recurring_clusters] == ["C-PM-2023-001"]
    empty = reports.current_quarter_summary(corpus, ranked, TODAY)
    assert empty.title == "2024 Q3" and empty.postmortems == []


def test_period_summary_bounds_are_inclusive(corpus, clusters):
    s = period_summary("x", dt.date(2023, 1, 10), dt.date(2023, 2, 20), corpus, [], TODAY)
    assert [pm.id for pm in s.postmortems] == [A, B]


# --- the report as a whole ------------------------------------------------------------------


def test_since_window(corpus, clusters):
    report = build_report(corpus, clusters, TODAY, since=dt.date(2024, 1, 1))
    assert [pm.id for pm in report.postmortems] == [E, F, G]
    # Both problems recur in the window; their whole history is kept.
    assert [c.id for c in report.clusters] == ["C-PM-2023-001", "C-PM-2023-002"]
    assert [pm.id for pm in report.clusters[0].members] == [A, C, G]
    assert [r.postmortem.id for r in report.ledger] == [G, F, E, E]
    late = build_report(corpus, clusters, TODAY, since=dt.date(2024, 4, 1))
    assert [c.id for c in late.clusters] == ["C-PM-2023-001"]


def test_since_headline_counts_only_incidents_in_the_window(corpus, clusters):
    report = build_report(corpus, clusters, TODAY, since=dt.date(2024, 1, 1))
    page = reports.render_recurrence(report, reports.Links(True, "reports/index.md"))
    # Both problems have one incident in the window (G and E); three incidents are in it.
    assert "**2 recurring problems** account for **2 of 3 incidents**" in page


def test_corpus_without_any_timestamps():
    pms = [Postmortem(id=f"PM-2024-00{i}", title=f"t{i}", date=dt.date(2024, i, 1), severity=sev, status="final",
                      services=["api"], authors=["a"], path=f"2024-0{i}-01-t.md",
                      action_items=[ActionItem("fix", owner=None, status="open")])
           for i, sev in ((1, "SEV1"), (2, "SEV1"), (5, "SEV2"))]
    report = build_report(pms, [], TODAY)
    assert report.ttd["all"] == DurationStats(0, None, None)
    assert report.ttr_per_quarter == [("2024-Q1", DurationStats(0, None, None)),
                                      ("2024-Q2", DurationStats(0, None, None))]
    cov = {c.field: c for c in report.coverage}
    assert cov["TTD"].counts["SEV1"] == (0, 2) and cov["TTD"].share("SEV1") == 0
    assert cov["action item due"].counts["all"] == (0, 3)
    assert [o.as_dict() for o in report.owners] == [
        {"owner": "(no owner)", "open": 3, "overdue": 0, "done": 0, "wont_do": 0, "total": 3}]
    pages = site_pages(Analysis(postmortems=pms), TODAY)
    assert "reports/charts/ttd-per-quarter.svg" not in pages            # nothing to draw
    assert "reports/charts/incidents-per-quarter.svg" in pages
    assert "No recurring problems" in pages["reports/recurrence.md"]
    assert "Median TTD **—** (n = 0)" in pages["reports/trends.md"]
    assert '!!! warning "Overdue counts are incomplete"' in pages["reports/action-items.md"]


def test_empty_corpus():
    report = build_report([], [], TODAY)
    assert report.per_quarter == [] and report.ttd["all"].n == 0
    pages = site_pages(Analysis(postmortems=[]), TODAY)
    assert set(pages) == {"reports/index.md", "reports/recurrence.md", "reports/trends.md",
                          "reports/action-items.md", "reports/data-quality.md", "reports/2024-q3.md",
                          "reports/2024.md"}


def test_as_dict_is_json_ready(corpus, clusters):
    import json

    data = json.loads(json.dumps(build_report(corpus, clusters, TODAY).as_dict()))
    assert data["incidents"] == 7
    assert data["severities"] == {"SEV1": 3, "SEV2": 2, "SEV3": 1, "SEV4": 1}
    assert data["ttd"]["all"] == {"n": 6, "median_seconds": 1200, "p90_seconds": 5400}
    assert data["clusters"][0]["recurred_after_fix"] == [C, G]
    assert data["clusters"][1]["no_open_action_item"] is True
    assert data["action_items"][0]["days_overdue"] == 488
    assert data["percentile_method"].startswith("nearest-rank")


# --- pages ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(corpus, clusters):
    return site_pages(Analysis(postmortems=corpus, clusters=clusters), TODAY)


def test_site_pages_paths_and_types(pages):
    assert list(pages) == [
        "reports/index.md", "reports/recurrence.md", "reports/trends.md", "reports/action-items.md",
        "reports/data-quality.md", "reports/2024-q3.md", "reports/2024.md", "reports/2023.md",
        "reports/charts/recurring-problems.svg", "reports/charts/incidents-per-quarter.svg",
        "reports/charts/ttd-per-quarter.svg", "reports/charts/ttr-per-quarter.svg", "reports/charts/services.svg",
        "reports/charts/recurring-problems-narrow.svg", "reports/charts/incidents-per-quarter-narrow.svg",
        "reports/charts/ttd-per-quarter-narrow.svg", "reports/charts/ttr-per-quarter-narrow.svg",
        "reports/charts/services-narrow.svg",
    ]
    for path, content in pages.items():
        assert isinstance(content, bytes if path.endswith(".svg") else str), path


def test_charts_are_static_deterministic_svg(pages, corpus, clusters):
    again = site_pages(Analysis(postmortems=corpus, clusters=clusters), TODAY)
    for path, content in pages.items():
        if path.endswith(".svg"):
            text = content.decode("utf-8")
            root = ET.fromstring(content)
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            assert "<script" not in text
            assert 'href="http' not in text and "url(http" not in text      # nothing fetched from outside
            assert "<dc:date>" not in text                           # no build time in the metadata
            assert content == again[path], path                     # byte-identical rebuilds


def test_chart_text_is_text(pages):
    svg = pages["reports/charts/incidents-per-quarter.svg"].decode()
    assert ">2023-Q1<" in svg and ">SEV1<" in svg                   # svg.fonttype: none


def test_recurrence_page(pages):
    page = pages["reports/recurrence.md"]
    assert page.startswith("# Recurring problems\n")
    assert ("**2 recurring problems** account for **5 of 7 incidents**. **1** came back after a fix (an incident "
            "started after an earlier incident's action item was done); for **0** more it is not known, their fixes "
            "carry no completion date; **1** has no open action item.") in page
    assert ('<picture class="pmkb-chart"><source media="(max-width: 44.984375em)" '
            'srcset="../charts/recurring-problems-narrow.svg"><img src="../charts/recurring-problems.svg" '
            'alt="Recurring problems on a timeline, one dot per incident, coloured by severity"></picture>') in page
    row = next(line for line in page.splitlines() if line.startswith("| 1. "))
    assert "[certificate expiry](../clusters/c-pm-2023-001.md)" in row
    assert "(../clusters/c-pm-2023-001.md)<br>**fix did not hold** | 3 (SEV1 3) | 2024-05-10 | 243 d | 7 h | 3 |" \
        in row
    assert ("- **The fix did not hold:** [PM-2023-003](../2023-05-05-internal-certificate-expired.md) started 93 days "
            "after 'Automate certificate renewal' was done in [PM-2023-001](../2023-01-10-edge-certificate-expired.md) "
            "(2023-02-01); [PM-2024-003](../2024-05-10-edge-certificate-expired-again.md) started 464 days after "
            "'Automate certificate renewal' was done in [PM-2023-001](../2023-01-10-edge-certificate-expired.md) "
            "(2023-02-01)") in page
    row = next(line for line in page.splitlines() if line.startswith("| 2. "))
    assert row.endswith("<br>*no open action item* | 2 (SEV2 2) | 2024-01-02 | 316 d | 3 h 20 min | 0 |")
    assert "(52 days ago); score 53.0" in page
    assert "- **Days between recurrences:** 115, 371 (median 243)" in page
    assert "[PM-2023-003](../2023-05-05-internal-certificate-expired.md)" in page
    assert "SEV1 = 8" in page and "0.5^(age in days / 1095)" in page


def test_trends_page(pages):
    page = pages["reports/trends.md"]
    assert "**7 incidents from 2023-01-10 to 2024-05-10** (SEV1 3, SEV2 2, SEV3 1, SEV4 1)" in page
    assert "Median TTD **20 min** (n = 6), median TTR **2 h** (n = 5)" in page
    assert ('???+ info "Data: incidents per quarter; 1 quarter without incidents left out"\n\n    | Quarter |'
            in page)                                                    # short: shown unfolded
    assert "    | 2023-Q1 | 1 | 1 |  |  | 2 |" in page
    assert "| 2023-Q4 |" not in page
    assert "| 2024-Q1 | 2 | 5 min | 20 min |" in page                     # TTD per quarter
    assert "TTD known for 6 of 7 post-mortems (86%; SEV1 100%, SEV2 100%, SEV3 0%, SEV4 100%)" in page
    assert "nearest-rank" in page
    assert "| checkout-api | 3 |" in page and "| certificate-expiry | 3 |" in page
    for chart in ("incidents-per-quarter", "ttd-per-quarter", "ttr-per-quarter", "services"):
        assert f'srcset="../charts/{chart}-narrow.svg"><img src="../charts/{chart}.svg"' in page


def test_data_quality_page(pages):
    page = pages["reports/data-quality.md"]
    assert "| Field | SEV1 (3) | SEV2 (2) | SEV3 (1) | SEV4 (1) | All (7) |" in page
    assert "| mitigated_at | 100% | 50% | 0% | 0% | **57%** |" in page
    assert "| Field | SEV1 (4) | SEV2 (3) | SEV3 (0) | SEV4 (1) | All (8) |" in page
    assert "| action item owner | 100% | 67% | — | 100% | **88%** |" in page
    assert "Used by: action item owner → per owner; action item due → overdue." in page


def test_action_items_page(pages):
    page = pages["reports/action-items.md"]
    assert "**8 action items**: **4 open** (**3 overdue**), 2 done, 2 won't do." in page
    assert "Most overdue: sre (1), platform (1), search-team (1)." in page
    lines = [line for line in page.splitlines() if line.startswith("| **overdue")]
    assert "| Status | Due | Owner | Action item | Ticket | Incident | Age (d) |" in page
    assert lines[0] == ("| **overdue 488 d** | 2023-03-01 | sre | Alert before certificates expire | OPS-1234 | "
                        "[PM-2023-001](../2023-01-10-edge-certificate-expired.md) SEV1 | 538 |")
    done = next(line for line in page.splitlines() if "| Automate certificate renewal |" in line)
    assert ("| Automate certificate renewal | [https://tickets.example.com/browse/OPS-77]"
            "(https://tickets.example.com/browse/OPS-77) |") in done          # a URL ticket is a link
    assert len(lines) == 3
    assert "| sre | 2 | 1 | 0 | 0 | 2 |" in page
    assert '??? info "Owners with nothing open (1)"' in page and "    | (no owner) | 0 | 0 | 0 | 1 | 1 |" in page
    assert "!!! warning" not in page                                   # half the items have a due date


def test_year_and_quarter_pages(pages):
    page = pages["reports/2023.md"]
    assert page.startswith("# 2023\n")
    assert "**4 incidents** (SEV1 2, SEV2 1, SEV3 1)" in page
    assert "**2** recurring problems started" in page
    assert "**1 done**, 2 open (1 overdue)" in page
    assert "[certificate expiry](../clusters/c-pm-2023-001.md) | new |" in page
    worst = page.split("## Worst incidents\n")[1].strip().split("\n\n")[0].splitlines()
    assert worst[0] == ("- 2023-05-05 · **SEV1** · 3 h · [PM-2023-003](../2023-05-05-internal-certificate-expired.md) "
                        "Internal certificate expired again")
    assert [line.split(" · ")[1] for line in worst] == ["**SEV1**", "**SEV1**", "**SEV2**", "**SEV3**"]
    assert "**2** known problems came back" in pages["reports/2024.md"]
    assert "No incidents in this period." in pages["reports/2024-q3.md"]
    assert pages["reports/2024-q3.md"].startswith("# 2024 Q3 (to date)\n")


def test_index_page_headlines(pages):
    page = pages["reports/index.md"]
    assert "- **Incidents:** 7 incidents from 2023-01-10 to 2024-05-10 (SEV1 3, SEV2 2, SEV3 1, SEV4 1); " \
           "4 in the last 12 months." in page                   # D, E, F, G: under 365 days old
    assert "[certificate expiry](../clusters/c-pm-2023-001.md) (3×, last 2024)" in page
    assert "- **Action items:** 4 open, **3 overdue**." in page
    assert "[2024 Q3 (to date)](2024-q3.md)" in page and "[2023](2023.md)" in page


# Author-written text with every kind of Markdown and HTML special, as in the tester's report.
NASTY = "Payments queue backlog | retries * doubled [see](x) <b>bold</b> & `code`"
NASTY_MD = r"Payments queue backlog \| retries \* doubled \[see\](x) &lt;b&gt;bold&lt;/b&gt; &amp; \`code\`"


@pytest.mark.parametrize("value, expected", [
    (NASTY, NASTY_MD),
    ("a|b\nc <script>", "a\\|b c &lt;script&gt;"),                     # one line, no raw HTML
    ("# not a heading", "\\# not a heading"),
    ("- not a list", "\\- not a list"),
    ("1. not a list", "1\\. not a list"),
    ("snake_case *x* __y__ {#id} [^1] + z", "snake\\_case \\*x\\* \\_\\_y\\_\\_ \\{\\#id\\} \\[^1\\] \\+ z"),
    ("a\\b &amp; &#35; it's \"q\" ~x~ a=b (c)!", "a\\\\b &amp;amp; &amp;\\#35; it's \"q\" &#126;x&#126; a=b (c)!"),
    ("Disk full ~~as~~ expected", "Disk full &#126;&#126;as&#126;&#126; expected"),   # no GFM strikethrough
    ("~/.ssh at 10:05 :smile:", "&#126;/.ssh at 10:05 :smile:"),                       # ':' left (see md_text)
    ("  spaced \t out \r\n  ", "spaced out"),
    (None, ""),
])
def test_md_text_escapes_markdown_and_html(value, expected):
    assert reports.md_text(value) == expected


def _site_markdown():
    """A Python-Markdown converter with the extensions of the shipped mkdocs.yml."""
    import markdown
    from mkdocs.utils import yaml_load

    config = yaml_load((Path(__file__).parents[1] / "mkdocs.yml").read_text(encoding="utf-8"))
    names, options = [], {}
    for entry in config["markdown_extensions"]:
        name, opts = next(iter(entry.items())) if isinstance(entry, dict) else (entry, None)
        names.append(name)
        if opts:
            options[name] = opts
    return markdown.Markdown(extensions=names, extension_configs=options)


TILDES = ["Disk full ~~as~~ expected", "~/.ssh ~x~ a~~b ~~~ c", "~~", "PM-1 ~~x~~ | *y* ~z~ &amp; <b>w</b>"]


@pytest.mark.parametrize("value", TILDES)
def test_md_text_tilde_renders_back_in_python_markdown(value):
    """The site (Python-Markdown, shipped extensions): an entity, not a visible backslash."""
    md = _site_markdown()
    escaped = reports.md_text(value)
    assert "\\~" not in escaped and "~" not in escaped
    for source, expected in ((escaped, [value]), (f"| a |\n|---|\n| {escaped} |", ["a", value])):
        md.reset()
        html = md.convert(source)
        text, tags = _html_text(html)
        assert [line for line in text.splitlines() if line.strip()] == expected, (source, html)
        assert not [t for t, _ in tags if t not in ("p", "table", "thead", "tbody", "tr", "th", "td")], html


@pytest.mark.parametrize("value", TILDES)
def test_md_text_tilde_is_no_strikethrough_in_gfm(value):
    """GitHub and GitLab (GFM, here markdown-it-py with strikethrough on): no <s>/<del>."""
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark").enable(["strikethrough", "table"])
    html = md.render(reports.md_text(value))
    text, tags = _html_text(html)
    assert text.strip() == value, html
    assert [t for t, _ in tags] == ["p"], html
    if "~~x~~" in value or "~~as~~" in value:
        assert "s" in [t for t, _ in _html_text(md.render(value))[1]]     # unescaped, it would strike through


def _html_text(html: str) -> tuple[str, list[tuple[str, dict]]]:
    """The text of an HTML fragment (entities decoded) and its start tags."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.text, self.tags = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

        def handle_data(self, data):
            self.text.append(data)

    parser = Parser()
    parser.feed(html)
    return "".join(parser.text), parser.tags


@pytest.fixture(scope="module")
def nasty_corpus():
    """Two incidents of one cluster whose every author-written field is full of specials."""
    item = ActionItem("Fix <i>it</i> | *now* [x](y)", owner="team_a | `b`", status="open", due=dt.date(2024, 2, 1),
                      ticket="OPS-1 | <b>x</b>")
    linked = ActionItem("Add `retries` & backoff", owner="sre", status="done",
                        ticket="https://t.example.com/a_b?q=1|2&r=(3)`x`")
    pms = [Postmortem(id="PM-2024-001", title=NASTY, date=dt.date(2024, 1, 10), severity="SEV1", status="final",
                      services=["pay_ments"], authors=["a"], path="2024-01-10-payments.md", trigger="queue*backlog",
                      action_items=[item, linked]),
           Postmortem(id="PM-2024-002", title="# Second | *outage*", date=dt.date(2024, 2, 10), severity="SEV2",
                      status="final", services=["pay_ments"], authors=["a"], path="2024-02-10-payments.md")]
    cluster = Cluster(id="C-PM-2024-001", label="queue | backlog *retries* [x](y)", members=[pm.id for pm in pms],
                      first=pms[0].date, last=pms[-1].date, services=["pay_ments"], terms=("queue|x", "`b`"))
    return pms, cluster


def test_author_text_is_plain_text_in_table_rows_and_prose(nasty_corpus):
    pms, cluster = nasty_corpus
    pages = site_pages(Analysis(postmortems=pms, clusters=[cluster]), dt.date(2024, 3, 1))
    path = "[PM-2024-001](../2024-01-10-payments.md)"
    # prose: a list item of the year page and of the recurrence page
    line = f"- 2024-01-10 · **SEV1** · — · {path} {NASTY_MD}"
    assert line in pages["reports/2024.md"].splitlines()
    assert line in pages["reports/recurrence.md"].splitlines()
    # table rows: the ledger (title, owner, plain ticket; URL ticket as a link) and the recurrence table
    ledger = pages["reports/action-items.md"].splitlines()
    assert ("| **overdue 29 d** | 2024-02-01 | team\\_a \\| \\`b\\` | Fix &lt;i&gt;it&lt;/i&gt; \\| \\*now\\* \\[x\\](y) "
            f"| OPS-1 \\| &lt;b&gt;x&lt;/b&gt; | {path} SEV1 | 51 |") in ledger
    assert ("| done | — | sre | Add \\`retries\\` &amp; backoff | [https://t.example.com/a\\_b?q=1\\|2&amp;r=(3)\\`x\\`]"
            f"(https://t.example.com/a_b?q=1%7C2&r=%283%29%60x%60) | {path} SEV1 | 51 |") in ledger
    recurrence = pages["reports/recurrence.md"].splitlines()
    assert ("| 1. [queue \\| backlog \\*retries\\* \\[x\\](y)](../clusters/c-pm-2024-001.md) | 2 (SEV1 1, SEV2 1) "
            "| 2024-02-10 | 31 d | — | 1 |") in recurrence
    assert "## 1. queue \\| backlog \\*retries\\* \\[x\\](y)" in recurrence
    assert "- **Services:** pay\\_ments" in recurrence and "- **Shared terms:** queue\\|x, \\`b\\`" in recurrence
    assert "| Action item | Owner | Status | Due | Ticket | From |" in recurrence
    assert "| 2024-01-10 · **SEV1** ·" not in pages["reports/2024.md"]
    # the CLI's Markdown is rendered by the same functions: same text, the URL ticket an autolink
    cli = reports.render_cli_markdown(build_report(pms, [cluster], dt.date(2024, 3, 1)))
    assert f"- 2024-01-10 · **SEV1** · — · PM-2024-001 {NASTY_MD}" in cli.splitlines()
    assert "| <https://t.example.com/a_b?q=1%7C2&r=%283%29%60x%60> |" in cli


def test_author_text_renders_as_exactly_that_text(nasty_corpus):
    """Every report page through the site's Markdown: the specials show as text, nothing becomes
    a link, code, bold or an extra table cell."""
    pms, cluster = nasty_corpus
    pages = site_pages(Analysis(postmortems=pms, clusters=[cluster]), dt.date(2024, 3, 1))
    md = _site_markdown()
    seen = Counter()
    for name, page in pages.items():
        if not name.endswith(".md"):
            continue
        md.reset()
        html = md.convert(page)
        text, tags = _html_text(html)
        hrefs = [attrs.get("href") for tag, attrs in tags if tag == "a"]
        assert "x" not in hrefs and "y" not in hrefs, name
        assert not [t for t, _ in tags if t in ("b", "i", "code", "script")], name
        for value in (NASTY, "Fix <i>it</i> | *now* [x](y)", "team_a | `b`", "OPS-1 | <b>x</b>",
                      "queue | backlog *retries* [x](y)", "# Second | *outage*", "queue|x, `b`"):
            seen[value] += text.count(value)
        for table in html.split("<table>")[1:]:
            rows = table.split("</table>")[0].split("<tr>")[1:]
            assert len({row.count("<td") + row.count("<th") for row in rows}) == 1, (name, table)
    assert all(seen[v] for v in seen), seen
    md.reset()
    html = md.convert(pages["reports/action-items.md"])
    assert 'href="https://t.example.com/a_b?q=1%7C2&amp;r=%283%29%60x%60"' in html
    assert "https://t.example.com/a_b?q=1|2&r=(3)`x`" in _html_text(html)[0]      # the label: the URL as written


# --- CSV -----------------------------------------------------------------------------------


def test_csv_tables(corpus, clusters):
    report = build_report(corpus, clusters, TODAY)
    rows = list(csv.DictReader(io.StringIO(reports.report_csv(report, "clusters"))))
    assert [r["id"] for r in rows] == ["C-PM-2023-001", "C-PM-2023-002"]
    assert rows[0]["intervals_days"] == "115 371" and rows[0]["recurred_after_fix"] == "true"
    assert rows[0]["members"] == f"{A} {C} {G}" and rows[0]["impact_seconds"] == "25200"
    assert rows[1]["no_open_action_item"] == "true" and rows[1]["recurred_after_fix_members"] == ""
    rows = list(csv.DictReader(io.StringIO(reports.report_csv(report, "ttr-quarter"))))
    assert rows[1] == {"quarter": "2023-Q2", "n": "0", "median_seconds": "", "p90_seconds": ""}
    assert rows[4] == {"quarter": "2024-Q1", "n": "2", "median_seconds": "3600", "p90_seconds": "7200"}
    for table in reports.CSV_TABLES:
        text = reports.report_csv(report, table)
        assert text.endswith("\r\n") and len(list(csv.reader(io.StringIO(text)))) >= 2, table
    with pytest.raises(ValueError):
        reports.report_csv(report, "nope")


@pytest.mark.parametrize("value, expected", [
    ('=HYPERLINK("http://evil.test","x")', '\'=HYPERLINK("http://evil.test","x")'),
    ("+1+2", "'+1+2"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("a=1", "a=1"),                               # only the first character counts
    ("PM-2024-001", "PM-2024-001"),
    (" =1", " =1"),                               # not in OWASP's list
    ("", ""),
    (None, ""),
    (0, "0"), (3600, "3600"), (12.5, "12.5"), (-5, "-5"),   # numbers are never quoted
    (True, "True"),                               # a bool is text, not a number
])
def test_csv_cell(value, expected):
    from generator.csvsafe import cell

    assert cell(value) == expected


def test_csv_text_cells_cannot_be_formulas(corpus, clusters):
    """OWASP "CSV Injection": author text starting with = + - @ tab CR gets a leading quote;
    the numbers (seconds, scores, counts) stay numbers."""
    import dataclasses

    evil = '=HYPERLINK("http://evil.test","x")'
    pms = [dataclasses.replace(pm, title=evil, services=["@svc", *pm.services], trigger="+trig",
                               action_items=[dataclasses.replace(i, title="-rm", owner="=owner", ticket="@T-1")
                                             for i in pm.action_items])
           if pm.id == B else pm for pm in corpus]
    labelled = [dataclasses.replace(c, label=evil if c.id == "C-PM-2023-002" else c.label,
                                    services=sorted({s for m in c.members for s in
                                                     next(p for p in pms if p.id == m).services}))
                for c in clusters]
    report = build_report(pms, labelled, TODAY)
    rows = list(csv.reader(io.StringIO(reports.report_csv(report, "action-items"))))
    b_rows = [r for r in rows if r[0] == B]
    assert b_rows == [[B, "2023-02-20", "SEV2", "'-rm", "'=owner", "wont-do", "2024-12-31", "'@T-1", "497", "false",
                       "0", "2023-02-20-bad-deploy-breaks-checkout.md"]]
    rows = {r[1]: r for r in csv.reader(io.StringIO(reports.report_csv(report, "clusters")))}
    assert rows["C-PM-2023-002"][2] == "'" + evil
    assert rows["C-PM-2023-002"][-1] == "'@svc checkout-api payments"
    first = rows["C-PM-2023-001"]
    assert first[2] == "certificate expiry" and first[4] == "3" and first[14] == "25200"   # label, incidents, seconds
    assert first[3] == str(round(report.clusters[0].score, 3)) and first[3][0].isdigit()
    services = list(csv.reader(io.StringIO(reports.report_csv(report, "services"))))
    assert ["'@svc", "1"] in services
    triggers = list(csv.reader(io.StringIO(reports.report_csv(report, "triggers"))))
    assert ["'+trig", "1"] in triggers
    owners = list(csv.reader(io.StringIO(reports.report_csv(report, "owners"))))
    assert ["'=owner", "0", "0", "0", "1", "1"] in owners


# --- feed ----------------------------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"


def test_atom_feed(corpus):
    xml = reports.atom_feed(corpus, "https://kb.example.com", TODAY, limit=3)
    root = ET.fromstring(xml)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    # Newest published first; D is a draft; F (in-review) is published.
    assert [e.find(f"{ATOM}title").text.split(":")[0] for e in entries] == [G, F, E]
    assert entries[0].find(f"{ATOM}link").get("href") == "https://kb.example.com/2024-05-10-edge-certificate-expired-again/"
    assert entries[0].find(f"{ATOM}updated").text == "2024-05-11T06:00:00Z"
    assert entries[1].find(f"{ATOM}updated").text == "2024-03-30T08:00:00Z"      # 10:00+02:00 in UTC
    assert root.find(f"{ATOM}updated").text == "2024-05-11T06:00:00Z"
    assert xml == reports.atom_feed(corpus, "https://kb.example.com/", TODAY, limit=3)
    all_entries = ET.fromstring(reports.atom_feed(corpus, "https://kb.example.com/", TODAY)).findall(f"{ATOM}entry")
    assert len(all_entries) == 6
    assert ET.fromstring(reports.atom_feed(corpus, "https://x/", dt.date(2023, 3, 1))).findall(f"{ATOM}entry")[0] \
        .find(f"{ATOM}id").text == "https://x/2023-02-20-bad-deploy-breaks-checkout/"


def test_atom_feed_empty():
    root = ET.fromstring(reports.atom_feed([], "https://x/", TODAY))
    assert root.find(f"{ATOM}updated").text == "2024-07-01T00:00:00Z"
    assert root.findall(f"{ATOM}entry") == []


def test_large_cluster_is_summarised():
    start = dt.date(2024, 1, 1)
    pms = [Postmortem(id=f"PM-2024-{i:03d}", title=f"leak {i}", date=start + dt.timedelta(days=i), severity="SEV2",
                      status="final", services=["api"], authors=["a"], path=f"p{i}.md",
                      action_items=[ActionItem(f"fix {i}", owner="team", status="done"),
                                    ActionItem(f"follow {i}", owner="team", status="open",
                                               due=start + dt.timedelta(days=i))])
           for i in range(1, 21)]
    cluster = Cluster(id="C-PM-2024-001", label="leaks", members=[pm.id for pm in pms], first=pms[0].date,
                      last=pms[-1].date, recurred_after_fix=[pm.id for pm in pms[1:]])
    report = build_report(pms, [cluster], dt.date(2024, 1, 15))
    page = reports.render_recurrence(report, reports.Links(True, "reports/index.md"))
    assert "The latest 10 of 20 incidents (all on the cluster page):" in page
    listed = page.split("The latest 10 of 20 incidents (all on the cluster page):\n")[1].strip().split("\n\n")[0]
    assert listed.splitlines()[0].startswith("- 2024-01-12 · **SEV2** · — · [PM-2024-011](../p11.md)")
    assert "- **Impact time:** unknown (no incident of the 20 records it)" in page
    assert "- **Days between recurrences:** … 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 (median 1)" in page
    assert "; and 13 earlier" in page                                  # 19 recurred after fix, 6 listed
    # 40 items > 12: only open ones, overdue (due 2024-01-02 .. 2024-01-14) first, at most 12.
    assert "20 open action items (13 overdue; 20 done or won't do); the first 12 by due date, overdue first" in page
    table = page.split("overdue first (all on the action-items page):\n")[1].strip().split("\n\n")[0].splitlines()
    assert len(table) == 2 + 12 and table[2].startswith("| follow 1 |")


def test_action_items_page_is_capped_with_the_full_ledger_exported():
    start = dt.date(2020, 1, 1)
    pms = [Postmortem(id=f"PM-2020-{i:03d}", title=f"outage {i}", date=start + dt.timedelta(days=i), severity="SEV3",
                      status="final", services=["api"], authors=["a"], path=f"p{i}.md",
                      action_items=[ActionItem(f"done {i}", owner=f"team-{i % 70}", status="done"),
                                    ActionItem(f"open {i}", owner=f"team-{i % 70}", status="open",
                                               due=start + dt.timedelta(days=i + 30))])
           for i in range(1, 301)]
    today = dt.date(2020, 6, 1)
    report = build_report(pms, [], today)
    page = reports.render_action_items(report, reports.Links(True, "reports/index.md"), 200, reports.LEDGER_EXPORTS)
    rows = [line for line in page.split("## Ledger { #ledger data-search-exclude }\n")[1].splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + 200 and rows[2].startswith("| **overdue ")      # the most overdue first
    assert all("done" not in row.split(" | ")[0] for row in rows[2:])        # open items before closed ones
    assert "the 200 most urgent open items of 600" in page
    assert "[action-items.csv](../api/action-items.csv) or [action-items.json](../api/action-items.json)" in page
    by_owner = page.split("## By owner\n")[1].split("## Ledger")[0]
    assert sum(line.startswith("| team-") for line in by_owner.splitlines()) == 70   # under the cap of 200
    exports = site_exports(Analysis(postmortems=pms), today)
    assert list(exports) == list(reports.LEDGER_EXPORTS)
    assert exports["api/action-items.csv"].count("\r\n") == 1 + 600
    assert len(__import__("json").loads(exports["api/action-items.json"])["action_items"]) == 600
    assert len(reports.render_action_items(report, reports.Links(None)).splitlines()) > 600   # the CLI lists all


def test_period_page_lists_at_most_the_latest_incidents():
    pms = [Postmortem(id=f"PM-2020-{i:03d}", title=f"outage {i}", date=dt.date(2020, 1, 1) + dt.timedelta(days=i),
                      severity="SEV3", status="final", services=["api"], authors=["a"], path=f"p{i}.md")
           for i in range(120)]
    summary = reports.period_summary("2020", dt.date(2020, 1, 1), dt.date(2020, 12, 31), pms, [], dt.date(2021, 1, 1))
    page = reports.render_period(summary, reports.Links(True, "reports/index.md"), dt.date(2021, 1, 1))
    listed = page.split("## All incidents\n")[1]
    assert "The latest 50 of 120 (all of them in the [incident index](../incidents/index.md)):" in listed
    assert listed.count("\n- ") == 50 and "[PM-2020-119](../p119.md)" in listed and "PM-2020-069]" not in listed


# --- in the built site ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    """The fixture corpus built with the shipped mkdocs.yml (strict: a broken link fails)."""
    from tests.sitebuild import make_project, run_build

    folder = tmp_path_factory.mktemp("reports-site")
    project = make_project(folder / "project", corpus=FIXTURES)
    done = run_build(project, folder / "site")
    assert done.returncode == 0, done.stderr
    return folder / "site"


@pytest.mark.slow
def test_report_pages_in_the_built_site(built_site):
    from tests.sitebuild import broken_links

    for page in ("reports/index.html", "reports/recurrence/index.html", "reports/trends/index.html",
                 "reports/action-items/index.html", "reports/data-quality/index.html", "reports/2023/index.html"):
        assert (built_site / page).is_file(), page
    assert [p for p in broken_links(built_site) if p.startswith("reports/")] == []
    html = (built_site / "reports" / "trends" / "index.html").read_text(encoding="utf-8")
    for chart in ("incidents-per-quarter", "ttd-per-quarter", "ttr-per-quarter", "services"):
        assert f'src="../charts/{chart}.svg"' in html, chart
        assert (built_site / "reports" / "charts" / f"{chart}.svg").is_file()
    assert "<details" in html or "admonition" in html                 # data tables next to the charts


@pytest.mark.slow
def test_strict_build_with_markdown_and_html_in_author_text(tmp_path):
    """The tester's case: a title (and action item) full of Markdown and HTML used to make
    ``mkdocs build --strict`` fail on reports/recurrence.md ("unrecognized relative link 'x'")."""
    from tests.sitebuild import make_project, run_build

    source = (FIXTURES / "2024-01-02-deploy-rollback-fails.md").read_text(encoding="utf-8")
    nasty = (source.replace("title: Deploy rollback fails after holiday freeze", f"title: '{NASTY}'")
             .replace("  - title: Automate rollbacks\n    owner: platform\n",
                      "  - title: 'Automate [rollbacks](y) | <i>now</i> `x`'\n    owner: 'plat_form | *a*'\n"
                      "    ticket: 'https://t.example.com/OPS-1?a=(b)|c'\n"))
    assert nasty.count(NASTY) == 1 and "plat_form" in nasty
    project = make_project(tmp_path / "project", corpus=FIXTURES, files={"2024-01-02-deploy-rollback-fails.md": nasty})
    done = run_build(project, tmp_path / "site")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    site = tmp_path / "site" / "reports"
    shown = {name: _html_text((site / name / "index.html").read_text(encoding="utf-8"))
             for name in ("2024", "action-items", "trends", "recurrence")}
    text, tags = shown["2024"]
    assert NASTY in text
    assert not [a for tag, a in tags if tag == "a" and a.get("href") in ("x", "y")]
    text, tags = shown["action-items"]
    assert "Automate [rollbacks](y) | <i>now</i> `x`" in text and "plat_form | *a*" in text
    assert "https://t.example.com/OPS-1?a=(b)|c" in text
    assert {"href": "https://t.example.com/OPS-1?a=%28b%29%7Cc"} in [a for tag, a in tags if tag == "a"]
    for name, (text, tags) in shown.items():
        assert not [tag for tag, _ in tags if tag in ("b", "i")], name
        assert not [a for tag, a in tags if tag == "a" and a.get("href") in ("x", "y")], name


@pytest.mark.slow
@pytest.mark.e2e
def test_report_charts_render_in_chromium(built_site):
    """Every chart on the report pages loads and has a size in headless Chromium, offline."""
    import os

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        if os.environ.get("PMKB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{chromium} is missing and PMKB_REQUIRE_BROWSER=1")
        pytest.skip(f"{chromium} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    shots = os.environ.get("PMKB_SCREENSHOTS")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--headless", "--no-sandbox",
                                                                         "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            outside: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:", "about:"))
                    else outside.append(r.url))
            for name in ("index", "recurrence", "trends"):
                url = (built_site / "reports" / ("" if name == "index" else name) / "index.html").as_uri()
                page.goto(url)
                page.wait_for_load_state("load")
                sizes = page.eval_on_selector_all(
                    "article img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth, e.naturalHeight])")
                assert sizes, name
                for src, width, height in sizes:
                    assert width > 300 and height > 100, (name, src, width, height)
                if shots:
                    Path(shots).mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(Path(shots) / f"report-{name}.png"), full_page=True)
            assert outside == []
        finally:
            browser.close()
