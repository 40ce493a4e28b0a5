"""Recurrence after a fix (#13 item 2): a member of a cluster came back after a fix only when it
started after the ``done_at`` of a done action item of an earlier member. Every expectation
below is worked out by hand; the fixture corpus is ``tests/fixtures/recurrence/``."""

from __future__ import annotations

import datetime as dt

import pytest

from generator.clusters import recurred_after_fix
from generator.formats import compare_moments, days_between
from generator.model import ActionItem, Cluster, Postmortem, Recurrence

UTC = dt.timezone.utc


def tz(hours: float) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=hours))


def pm(pid: str, day: dt.date, *items: ActionItem, started: dt.datetime | None = None) -> Postmortem:
    return Postmortem(id=pid, title="Disk full", date=day, severity="SEV2", status="final", services=["api"],
                      authors=["a"], path=f"{pid}.md", action_items=list(items), started_at=started, format=2)


def done(title: str, at: dt.date | dt.datetime | None) -> ActionItem:
    return ActionItem(title=title, status="done", done_at=at)


# --- comparing a date or a timestamp with another ---------------------------------------------


@pytest.mark.parametrize("a, b, expected", [
    (dt.datetime(2024, 3, 1, 10, tzinfo=UTC), dt.datetime(2024, 3, 1, 11, tzinfo=UTC), -1),
    (dt.datetime(2024, 3, 1, 10, tzinfo=UTC), dt.datetime(2024, 3, 1, 12, tzinfo=tz(2)), 0),  # the same instant
    # 23:30 at UTC-8 is 07:30 UTC the next day, after 08:00 at UTC+1 (07:00 UTC): its calendar day is earlier
    (dt.datetime(2024, 3, 10, 23, 30, tzinfo=tz(-8)), dt.datetime(2024, 3, 11, 8, tzinfo=tz(1)), 1),
    (dt.date(2024, 3, 1), dt.date(2024, 3, 2), -1),
    (dt.date(2024, 3, 1), dt.date(2024, 3, 1), None),  # the same day: which came first is unknown
    (dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 23, tzinfo=UTC), None),
    (dt.date(2024, 3, 2), dt.datetime(2024, 3, 1, 23, tzinfo=tz(-5)), 1),  # the timestamp's own day is the 1st
    (dt.datetime(2024, 3, 2, 1, tzinfo=tz(9)), dt.date(2024, 3, 1), 1),
])
def test_compare_moments(a, b, expected):
    assert compare_moments(a, b) == expected
    assert compare_moments(b, a) == (None if expected is None else -expected)


@pytest.mark.parametrize("a, b, days", [
    (dt.date(2024, 3, 21), dt.date(2024, 5, 2), 42),
    (dt.datetime(2024, 1, 25, 16, tzinfo=UTC), dt.datetime(2024, 5, 1, 22, 40, tzinfo=UTC), 97),  # 97 d 6 h 40 min
    (dt.datetime(2024, 5, 2, 9, tzinfo=UTC), dt.datetime(2024, 5, 2, 15, tzinfo=UTC), 0),
    (dt.datetime(2024, 5, 20, 23, tzinfo=tz(-7)), dt.date(2024, 5, 21), 1),  # calendar days: 20th to 21st
    (dt.date(2024, 2, 28), dt.datetime(2024, 3, 1, 0, 30, tzinfo=tz(1)), 2),  # leap year: 28, 29, 1
])
def test_days_between(a, b, days):
    assert days_between(a, b) == days


# --- the rule ------------------------------------------------------------------------------------


def test_came_back_after_a_dated_fix_names_the_latest_fix():
    a = pm("PM-2024-001", dt.date(2024, 1, 10), done("Automate renewal", dt.date(2024, 3, 21)),
           done("Alert before expiry", dt.datetime(2024, 1, 25, 16, tzinfo=UTC)),
           ActionItem(title="Rotate keys", status="open"), started=dt.datetime(2024, 1, 10, 9, 12, tzinfo=UTC))
    b = pm("PM-2024-004", dt.date(2024, 5, 2), started=dt.datetime(2024, 5, 2, 7, 40, tzinfo=UTC))
    recurrences, unknown = recurred_after_fix([b, a])
    # 2024-03-21 -> 2024-05-02 is 42 calendar days (a date); 2024-01-25 16:00 -> 2024-05-02 07:40 is 97 days 15 h.
    assert recurrences == [Recurrence(member="PM-2024-004", started=b.started_at, fixed_in="PM-2024-001",
                                      item="Automate renewal", done_at=dt.date(2024, 3, 21), days=42, fixes_before=2)]
    assert unknown == []
    assert recurrences[0].sentence() == "PM-2024-004 started 42 days after 'Automate renewal' was done in PM-2024-001"
    assert recurrences[0].as_dict() == {"id": "PM-2024-004", "started": "2024-05-02T07:40:00+00:00",
                                        "fixed_in": "PM-2024-001", "item": "Automate renewal",
                                        "done_at": "2024-03-21", "days": 42, "fixes_before": 2}


def test_a_member_that_started_before_the_fix_was_done_did_not_come_back_after_it():
    a = pm("PM-2024-001", dt.date(2024, 1, 10), done("Automate renewal", dt.date(2024, 6, 1)))
    b = pm("PM-2024-002", dt.date(2024, 5, 31))
    c = pm("PM-2024-003", dt.date(2024, 6, 2))
    recurrences, unknown = recurred_after_fix([a, b, c])
    assert [(r.member, r.days) for r in recurrences] == [("PM-2024-003", 1)]
    assert unknown == []


def test_time_zones_are_compared_as_instants():
    # The fix was done at 23:30 on the 10th at UTC-8 (07:30 UTC on the 11th); the next incident
    # started at 08:00 on the 11th at UTC+1 (07:00 UTC): before the fix, though a day later on paper.
    a = pm("PM-2024-001", dt.date(2024, 3, 1), done("Fix", dt.datetime(2024, 3, 10, 23, 30, tzinfo=tz(-8))),
           started=dt.datetime(2024, 3, 1, 9, tzinfo=UTC))
    b = pm("PM-2024-002", dt.date(2024, 3, 11), started=dt.datetime(2024, 3, 11, 8, tzinfo=tz(1)))
    assert recurred_after_fix([a, b]) == ([], [])
    # The other way round: done at 01:00 on the 11th at UTC+9 (16:00 UTC on the 10th), the incident
    # at 20:00 on the 10th at UTC-5 (01:00 UTC on the 11th): 9 hours after the fix, 0 whole days.
    a = pm("PM-2024-001", dt.date(2024, 3, 1), done("Fix", dt.datetime(2024, 3, 11, 1, tzinfo=tz(9))),
           started=dt.datetime(2024, 3, 1, 9, tzinfo=UTC))
    b = pm("PM-2024-002", dt.date(2024, 3, 10), started=dt.datetime(2024, 3, 10, 20, tzinfo=tz(-5)))
    recurrences, unknown = recurred_after_fix([a, b])
    assert [(r.member, r.days) for r in recurrences] == [("PM-2024-002", 0)] and unknown == []
    assert recurrences[0].sentence() == "PM-2024-002 started less than a day after 'Fix' was done in PM-2024-001"


def test_same_day_is_unknown_unless_both_are_timestamps():
    a = pm("PM-2024-001", dt.date(2024, 5, 1), done("Fix", dt.date(2024, 5, 2)))
    b = pm("PM-2024-002", dt.date(2024, 5, 2), started=dt.datetime(2024, 5, 2, 15, tzinfo=UTC))
    assert recurred_after_fix([a, b]) == ([], ["PM-2024-002"])  # done on the 2nd: before or after 15:00?
    timed = pm("PM-2024-001", dt.date(2024, 5, 1), done("Fix", dt.datetime(2024, 5, 2, 9, tzinfo=UTC)))
    recurrences, unknown = recurred_after_fix([timed, b])
    assert [(r.member, r.days) for r in recurrences] == [("PM-2024-002", 0)] and unknown == []
    late = pm("PM-2024-001", dt.date(2024, 5, 1), done("Fix", dt.datetime(2024, 5, 2, 16, tzinfo=UTC)))
    assert recurred_after_fix([late, b]) == ([], [])  # done an hour after it started


def test_v1_done_items_without_a_date_are_unknown_never_yes():
    a = pm("PM-2024-001", dt.date(2024, 1, 10), done("Automate renewal", None))
    same_day = pm("PM-2024-002", dt.date(2024, 1, 10))
    b = pm("PM-2024-003", dt.date(2024, 5, 2))
    c = pm("PM-2024-004", dt.date(2025, 1, 2))
    assert recurred_after_fix([c, b, same_day, a]) == ([], ["PM-2024-003", "PM-2024-004"])


def test_a_dated_fix_wins_over_an_undated_one_and_undated_fixes_leave_the_rest_unknown():
    a = pm("PM-2024-001", dt.date(2024, 1, 10), done("Automate renewal", None))
    b = pm("PM-2024-002", dt.date(2024, 3, 1), done("Alert before expiry", dt.date(2024, 3, 5)))
    c = pm("PM-2024-003", dt.date(2024, 3, 4))   # after A (undated): unknown; before B's fix
    d = pm("PM-2024-004", dt.date(2024, 4, 4))   # after B's fix: came back, 30 days
    recurrences, unknown = recurred_after_fix([a, b, c, d])
    assert [(r.member, r.fixed_in, r.item, r.days, r.fixes_before) for r in recurrences] == [
        ("PM-2024-004", "PM-2024-002", "Alert before expiry", 30, 1)]
    assert unknown == ["PM-2024-002", "PM-2024-003"]


def test_only_done_items_of_earlier_members_count():
    a = pm("PM-2024-001", dt.date(2024, 1, 10), ActionItem(title="Fix", status="wont-do"),
           ActionItem(title="Other", status="in-progress"))
    b = pm("PM-2024-002", dt.date(2024, 5, 2), done("Own fix", dt.date(2024, 5, 2)))
    c = pm("PM-2024-003", dt.date(2024, 5, 2))  # the same day as B and as B's fix
    assert recurred_after_fix([a, b, c]) == ([], ["PM-2024-003"])
    # a member's own done item never makes it a recurrence
    assert recurred_after_fix([b]) == ([], [])


def test_ties_take_the_later_member_then_the_first_item():
    a = pm("PM-2024-001", dt.date(2024, 1, 1), done("A1", dt.date(2024, 2, 1)))
    b = pm("PM-2024-002", dt.date(2024, 1, 15), done("B1", dt.date(2024, 2, 1)), done("B2", dt.date(2024, 2, 1)))
    c = pm("PM-2024-003", dt.date(2024, 3, 1))
    recurrences, _ = recurred_after_fix([c, b, a])
    assert [(r.fixed_in, r.item, r.days, r.fixes_before) for r in recurrences] == [("PM-2024-002", "B1", 29, 3)]


def cluster(members, recurrences=(), unknown=(), items=()) -> Cluster:
    return Cluster(id="C-1", label="x", members=list(members), first=dt.date(2024, 1, 1), last=dt.date(2024, 2, 1),
                   action_items=list(items), recurred_after_fix=[r.member for r in recurrences],
                   recurrences=list(recurrences), recurrence_unknown=list(unknown))


def test_fix_outcome():
    r = Recurrence("PM-2024-002", dt.date(2024, 2, 1), "PM-2024-001", "Fix", dt.date(2024, 1, 2), 30)
    open_item = ("PM-2024-001", ActionItem(title="t", status="open"))
    done_item = ("PM-2024-001", ActionItem(title="t", status="done"))
    assert cluster(["a", "b"], [r], ["c"], [done_item]).fix_outcome == "did-not-hold"
    assert cluster(["a", "b"], [], ["b"], [done_item]).fix_outcome == "unknown"
    assert cluster(["a", "b"], [], [], [done_item, open_item]).fix_outcome == "held"
    assert cluster(["a", "b"], [], [], [open_item]).fix_outcome == "no-fix"
    assert cluster(["a", "b"], [r]).recurrence_as_dict() == {
        "fix_outcome": "did-not-hold", "recurred_after_fix": ["PM-2024-002"],
        "recurrences": [{"id": "PM-2024-002", "started": "2024-02-01", "fixed_in": "PM-2024-001", "item": "Fix",
                         "done_at": "2024-01-02", "days": 30, "fixes_before": 1}],
        "recurrence_unknown": []}


# --- the fixture corpus, end to end --------------------------------------------------------------
#
# tests/fixtures/recurrence/ (reference day 2024-12-31), four recurring problems and a one-off:
#
# certificate expiry   PM-2024-001 (2024-01-10T09:12Z): "Automate ... ACME" done 2024-05-01T23:00Z,
#                      "Alert 30 days ..." done 2024-01-25T16:00Z.
#                      PM-2024-004 started 2024-05-02T07:40+09:00 = 2024-05-01T22:40Z: 20 minutes *before*
#                      ACME was done (a day later on its own calendar), 97 d 6 h 40 min after the alert:
#                      came back 97 days after "Alert ...", 1 fix before it. Its "Enrol ..." done 2024-05-20.
#                      PM-2024-007 started 2024-09-15T11:00Z: after all three fixes; the latest is "Enrol ..."
#                      (2024-05-20, a date: 118 calendar days), ACME 136 d 12 h, the alert 233 d: 118 days, 3 fixes.
# disk full (v1)       PM-2024-002's item is done without done_at: PM-2024-005 unknown.
# queue backlog        PM-2024-011 (2024-06-03) started before PM-2024-010's fix (2024-07-01); its own
#                      fix (2024-06-10) has nothing after it: the fixes held.
# DST batch            PM-2024-020's fix was done 2024-10-27 (a date); PM-2024-021 has only date 2024-10-27:
#                      the same day, unknown.
# one-off              PM-2024-003 (payments provider timeouts) joins no cluster.

from pathlib import Path  # noqa: E402

from generator.cli import cli  # noqa: E402

RECURRENCE = Path(__file__).parent / "fixtures" / "recurrence"
CERT = [
    {"id": "PM-2024-004", "started": "2024-05-02T07:40:00+09:00", "fixed_in": "PM-2024-001",
     "item": "Alert 30 days before any served certificate expires", "done_at": "2024-01-25T16:00:00+00:00",
     "days": 97, "fixes_before": 1},
    {"id": "PM-2024-007", "started": "2024-09-15T11:00:00+00:00", "fixed_in": "PM-2024-004",
     "item": "Enrol every edge certificate in automated renewal", "done_at": "2024-05-20", "days": 118,
     "fixes_before": 3},
]
EXPECTED = {
    "C-PM-2024-001": ("did-not-hold", ["PM-2024-004", "PM-2024-007"], CERT, []),
    "C-PM-2024-002": ("unknown", [], [], ["PM-2024-005"]),
    "C-PM-2024-010": ("held", [], [], []),
    "C-PM-2024-020": ("unknown", [], [], ["PM-2024-021"]),
}


@pytest.fixture
def kb(tmp_path) -> Path:
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"site_name: t\ndocs_dir: {RECURRENCE}\nplugins:\n  - postmortems: {{}}\n", encoding="utf-8")
    return config


def test_the_fixture_corpus_is_valid(runner, kb):
    result = runner.invoke(cli, ["--config-file", str(kb), "validate", "--strict"])
    assert result.exit_code == 0, result.output


def test_pmkb_clusters_json_on_the_fixture_corpus(runner, kb):
    import json

    result = runner.invoke(cli, ["--config-file", str(kb), "clusters", "--format", "json"])
    assert result.exit_code == 0, result.output
    got = {c["id"]: (c["fix_outcome"], c["recurred_after_fix"], c["recurrences"], c["recurrence_unknown"])
           for c in json.loads(result.stdout)["clusters"]}
    assert got == EXPECTED
    cert = json.loads(result.stdout)["clusters"][0]
    assert [(i["title"][:20], i["done_at"]) for i in cert["action_items"]] == [
        ("Automate certificate", "2024-05-01T23:00:00+00:00"), ("Alert 30 days before", "2024-01-25T16:00:00+00:00"),
        ("Enrol every edge cer", "2024-05-20"), ("Track expiry of ever", None)]


def test_pmkb_clusters_text_on_the_fixture_corpus(runner, kb):
    result = runner.invoke(cli, ["--config-file", str(kb), "clusters"])
    # the cluster's id (its label is similarity's business), then what came back after a fix
    lines = [line if line.startswith(" ") else line.split()[0] for line in result.stdout.splitlines()
             if not line.startswith("    PM-")]
    assert lines == [
        "C-PM-2024-001",
        "    came back after a fix: PM-2024-004 started 97 days after 'Alert 30 days before any served certificate "
        "expires' was done in PM-2024-001 (done 2024-01-25)",
        "    came back after a fix: PM-2024-007 started 118 days after 'Enrol every edge certificate in automated "
        "renewal' was done in PM-2024-004 (done 2024-05-20)",
        "C-PM-2024-002",
        "    may have come back after a fix (not known: the fix has no done_at, or was done the day it started): "
        "PM-2024-005",
        "C-PM-2024-010",
        "    the fixes held: no incident started after a done action item",
        "C-PM-2024-020",
        "    may have come back after a fix (not known: the fix has no done_at, or was done the day it started): "
        "PM-2024-021",
        "4",
    ]


def test_pmkb_report_json_on_the_fixture_corpus(runner, kb):
    import json

    result = runner.invoke(cli, ["--config-file", str(kb), "report", "--format", "json", "--today", "2024-12-31"])
    assert result.exit_code == 0, result.output
    got = {c["id"]: (c["fix_outcome"], c["recurred_after_fix"], c["recurrences"], c["recurrence_unknown"])
           for c in json.loads(result.stdout)["clusters"]}
    assert got == EXPECTED


# --- the shipped knowledge base ------------------------------------------------------------------

SHIPPED = Path(__file__).parent.parent / "postmortems"


def shipped() -> dict[str, Postmortem]:
    from generator.settings import Settings
    from generator.validate import validate

    result = validate([SHIPPED], Settings(docs_dir=SHIPPED), scan_secrets=False)
    assert result.errors == 0
    return {pm.id: pm for pm in result.postmortems}


def test_a_third_of_the_shipped_post_mortems_are_v2_and_say_how_their_dates_were_set():
    corpus = shipped()
    v2 = [pm for pm in corpus.values() if pm.format == 2]
    assert len(v2) == 20 and len(corpus) == 60
    for pm in v2:
        assert all(item.done_at is not None for item in pm.action_items if item.status == "done"), pm.id
        assert "approximate" in pm.sections["Notes"], pm.id  # the Notes say how the dates were set


def test_shipped_recurrences_worked_out_by_hand():
    corpus = shipped()
    # Organization takeover on 2018-06-28; its 2FA requirement done 2018-07-04 (approximate, see the body);
    # the registry-account takeover started 2018-07-12T10:40Z: 8 calendar days later (date vs timestamp).
    recurrences, unknown = recurred_after_fix([corpus["PM-2018-003"], corpus["PM-2018-004"]])
    assert [(r.member, r.fixed_in, r.item, str(r.done_at), r.days, r.fixes_before) for r in recurrences] == [
        ("PM-2018-004", "PM-2018-003", "Require two-factor authentication for every organization member",
         "2018-07-04", 8, 3)]
    # The kill switch was deployed 2017-02-18T07:22Z, the cache purge is dated 2017-02-23 (the later fix):
    # the 2024-07-19T04:09Z content update came back 2703 days after the purge.
    recurrences, _ = recurred_after_fix([corpus["PM-2017-003"], corpus["PM-2024-002"]])
    assert [(r.item, r.days, r.fixes_before) for r in recurrences] == [
        ("Work with search engines to purge cached leaked data", 2703, 2)]
    # A v1 member with undated done items: whether the 2012 storm came back after the 2011 fixes is unknown.
    assert recurred_after_fix([corpus["PM-2011-002"], corpus["PM-2012-002"]]) == ([], ["PM-2012-002"])


# --- the texts: recurrence report and cluster pages ----------------------------------------------


@pytest.fixture(scope="module")
def fixture_report():
    from generator.analysis import analyse
    from generator.metrics import build_report
    from generator.settings import Settings
    from generator.validate import validate

    pms = validate([RECURRENCE], Settings(docs_dir=RECURRENCE), scan_secrets=False).postmortems
    analysis = analyse(pms, Settings())
    return build_report(pms, analysis.clusters, dt.date(2024, 12, 31)), analysis


def test_recurrence_report_puts_fixes_that_did_not_hold_first_and_says_which_item(fixture_report):
    from generator.markup import Links
    from generator.report_pages import render_recurrence

    report, _ = fixture_report
    page = render_recurrence(report, Links(True, "reports/recurrence.md"))
    rows = [line for line in page.splitlines() if line.startswith("| 1. ") or line.startswith("| 2. ")
            or line.startswith("| 3. ") or line.startswith("| 4. ")]
    order = [row.split("(../clusters/")[1].split(".md")[0] for row in rows]
    assert order[0] == "c-pm-2024-001"  # the only fix that did not hold, first whatever its score
    assert sorted(order[1:]) == ["c-pm-2024-002", "c-pm-2024-010", "c-pm-2024-020"]
    assert "**fix did not hold**" in rows[0] and all("fix did not hold" not in row for row in rows[1:])
    assert sorted("*fix not dated*" in row for row in rows) == [False, False, True, True]
    assert ("- **The fix did not hold:** [PM-2024-004](../2024-05-02-edge-proxy-tls-certificate-expired-again.md) "
            "started 97 days after 'Alert 30 days before any served certificate expires' was done in "
            "[PM-2024-001](../2024-01-10-checkout-api-down-after-tls-certificate-expired.md) (2024-01-25); "
            "[PM-2024-007](../2024-09-15-internal-api-certificate-expiry-broke-service-tls.md) started 118 days "
            "after 'Enrol every edge certificate in automated renewal' was done in "
            "[PM-2024-004](../2024-05-02-edge-proxy-tls-certificate-expired-again.md) (2024-05-20)") in page
    assert ("- **Fix not dated:** whether [PM-2024-021](../2024-10-27-billing-batch-ran-twice-when-clocks-fell-back.md)"
            " came back after a fix is not known") in page
    assert "**1** came back after a fix" in page and "for **2** more it is not known" in page


def test_cluster_pages_say_what_became_of_the_fixes(fixture_report):
    from generator.markup import Links
    from generator.pages import cluster_pages

    report, _ = fixture_report
    pages = cluster_pages(Links(True), report.clusters)
    cert = pages["clusters/c-pm-2024-001.md"]
    assert ('<p class="admonition-title">The fix did not hold</p><ul><li><a href="../../2024-09-15-internal-api-'
            'certificate-expiry-broke-service-tls/">PM-2024-007</a> started 118 days after &lsquo;Enrol every edge '
            'certificate in automated renewal&rsquo; was done in <a href="../../2024-05-02-edge-proxy-tls-certificate'
            '-expired-again/">PM-2024-004</a> (2024-05-20)</li><li>') in cert
    assert '<p class="admonition-title">Fix not dated</p>' in pages["clusters/c-pm-2024-002.md"]
    assert '<p class="admonition-title">The fixes held</p>' in pages["clusters/c-pm-2024-010.md"]


def test_fix_first_moves_problems_whose_fix_did_not_hold_ahead_and_keeps_each_group_in_order():
    from types import SimpleNamespace

    from generator.report_pages import fix_first

    ranked = [SimpleNamespace(id=i, recurred_after_fix=came_back)
              for i, came_back in (("a", []), ("b", ["PM-1"]), ("c", []), ("d", ["PM-2"]))]
    assert [c.id for c in fix_first(ranked)] == ["b", "d", "a", "c"]
