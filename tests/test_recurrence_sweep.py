"""``clusters.recurred_after_fix`` as a sweep (#16 item 1): the same recurrences, in the same
order, with the same counts, as comparing every member with every earlier member and every
item (the implementation it replaced, kept below as the reference), on randomized clusters
whose starts and fixes crowd the day boundaries where instant and calendar order disagree;
and a number of exact comparisons that grows with the members, not with their square."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings, strategies as st

from generator import clusters
from generator.clusters import _start, recurred_after_fix
from generator.formats import compare_moments, days_between, incident_start
from generator.model import ActionItem, Postmortem, Recurrence


def reference_recurred_after_fix(members: list[Postmortem]) -> tuple[list[Recurrence], list[str]]:
    """The pairwise implementation (O(n^2 x items)) the sweep replaced, verbatim."""
    ordered = sorted(members, key=lambda pm: (pm.date, _start(pm), pm.id))
    starts = {pm.id: incident_start(pm.started_at, pm.date) for pm in ordered}
    recurrences: list[Recurrence] = []
    unknown: list[str] = []
    for member in ordered:
        started = starts[member.id]
        fixes = []
        maybe = False
        for rank, earlier in enumerate(ordered):
            order = compare_moments(starts[earlier.id], started)
            if earlier is member or order == 1 or order == 0:
                continue
            for index, item in enumerate(earlier.action_items):
                if item.status != "done":
                    continue
                if item.done_at is None:
                    maybe = maybe or order == -1
                    continue
                done = compare_moments(item.done_at, started)
                if done == -1:
                    fixes.append((days_between(item.done_at, started), -rank, index, earlier, item))
                elif done is None:
                    maybe = True
        if fixes:
            days, _, _, earlier, item = min(fixes, key=lambda f: f[:3])
            recurrences.append(Recurrence(member=member.id, started=started, fixed_in=earlier.id, item=item.title,
                                          done_at=item.done_at, days=days, fixes_before=len(fixes)))
        elif maybe:
            unknown.append(member.id)
    return recurrences, unknown


BASE = dt.date(2024, 2, 27)  # the window crosses a leap day

# Offsets up to Python's limit (under 24 h either way), the real extremes (-12, +14) and UTC.
EXTREME = 24 * 60 - 1
offsets = st.sampled_from([0, -12 * 60, 14 * 60, -EXTREME, EXTREME, -EXTREME, EXTREME]) | st.integers(-EXTREME, EXTREME)


@st.composite
def moments(draw, days: int):
    """A calendar date or an aware timestamp within ``days`` days of BASE."""
    day = BASE + dt.timedelta(days=draw(st.integers(0, days)))
    if draw(st.booleans()):
        return day
    minute = draw(st.sampled_from([0, 0, 1, 12 * 60, 24 * 60 - 1, 24 * 60 - 1]) | st.integers(0, 24 * 60 - 1))
    zone = dt.timezone(dt.timedelta(minutes=draw(offsets)))
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=zone)


@st.composite
def clusters_of(draw, days: int):
    members = []
    for n in range(draw(st.integers(0, 14))):
        start = draw(moments(days))
        date = start.date() if isinstance(start, dt.datetime) else start
        items = []
        for k in range(draw(st.integers(0, 3))):
            status = draw(st.sampled_from(["done", "done", "open", "wontfix"]))
            kind = draw(st.sampled_from(["none", "moment", "moment", "moment"]))
            # done_at anywhere in the window, before the start too (an invalid file is still analysed)
            done_at = None if kind == "none" else draw(moments(days))
            items.append(ActionItem(title=f"item {n}.{k}", status=status, done_at=done_at))
        # a small id alphabet: equal (date, start, id) keys and repeated ids happen
        pid = draw(st.sampled_from(["PM-1", "PM-2", "PM-3", "PM-4"])) + f"-{n % draw(st.integers(1, 20))}"
        members.append(Postmortem(id=pid, title="Disk full", date=date, severity="SEV2", status="final",
                                  services=["api"], authors=["a"], path=f"{n}.md", action_items=items,
                                  started_at=start if isinstance(start, dt.datetime) else None, format=2))
    return members


@settings(max_examples=400, deadline=None)
@given(clusters_of(days=6))
def test_sweep_equals_pairwise_near_the_boundaries(members):
    assert recurred_after_fix(members) == reference_recurred_after_fix(members)


@settings(max_examples=200, deadline=None)
@given(clusters_of(days=40))
def test_sweep_equals_pairwise_over_weeks(members):
    assert recurred_after_fix(members) == reference_recurred_after_fix(members)


def daily_members(n: int) -> list[Postmortem]:
    """``n`` members 1.2 days apart, each with two dated fixes (3 days after it started, and a
    date 40 days after) and one undated."""
    utc = dt.timezone.utc
    members = []
    for k in range(n):
        start = dt.datetime(2015, 1, 1, k % 24, tzinfo=utc) + dt.timedelta(days=k * 1.2)
        items = [ActionItem(title="patch", status="done", done_at=start + dt.timedelta(days=3)),
                 ActionItem(title="alert", status="done", done_at=(start + dt.timedelta(days=40)).date()),
                 ActionItem(title="runbook", status="done")]
        members.append(Postmortem(id=f"PM-{k:04d}", title="Disk full", date=start.date(), severity="SEV2",
                                  status="final", services=["api"], authors=["a"], path=f"{k}.md",
                                  action_items=items, started_at=start, format=2))
    return members


def test_exact_comparisons_grow_with_the_members_not_their_square(monkeypatch):
    """3,000 members over ten years: the pairwise rule compared 3,000 x 3,000 starts; the sweep
    compares only the starts and fixes within two days of each member's start day."""
    calls = 0

    def counting(a, b):
        nonlocal calls
        calls += 1
        return compare_moments(a, b)

    monkeypatch.setattr(clusters, "compare_moments", counting)
    recurrences, unknown = recurred_after_fix(daily_members(3000))
    assert calls < 20 * 3000
    # Member k came back after member k-3's patch (done 3 days after it started, 3.6 - 3 = 0.6
    # days before); members 1 and 2 after no dated fix, but after member 0's undated one.
    assert len(recurrences) == 2997 and unknown == ["PM-0001", "PM-0002"]
    last = recurrences[-1]
    assert (last.member, last.fixed_in, last.item, last.days) == ("PM-2999", "PM-2996", "patch", 0)


def test_the_sweep_equals_the_pairwise_rule_on_a_long_cluster():
    members = daily_members(400)
    assert recurred_after_fix(members) == reference_recurred_after_fix(members)
