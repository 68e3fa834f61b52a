"""The retention rule (scheduler.retention): examples, then properties over any set of backups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.retention import Candidate, Rule, select

START = datetime(2026, 1, 1, tzinfo=UTC)


def daily_backups(days: int, *, per_day: int = 1) -> list[Candidate]:
    return [
        Candidate(f"b{d:03d}-{n}", START + timedelta(days=d, hours=22 - n))
        for d in range(days)
        for n in range(per_day)
    ]


def test_it_keeps_everything_without_a_rule() -> None:
    chosen = select(daily_backups(10), Rule())
    assert chosen.delete == [] and set(chosen.keep) == {c.id for c in daily_backups(10)}


def test_it_keeps_the_last_n() -> None:
    chosen = select(daily_backups(10), Rule(last=3))
    assert list(chosen.keep) == ["b009-0", "b008-0", "b007-0"]
    assert len(chosen.delete) == 7


def test_it_keeps_the_newest_of_each_recent_day_week_and_month() -> None:
    backups = daily_backups(70, per_day=2)  # 2026-01-01 .. 2026-03-11, two a day
    chosen = select(backups, Rule(daily=3, weekly=2, monthly=3))
    assert chosen.keep["b069-0"] == ["daily", "weekly", "monthly"]  # newest overall
    assert "b069-1" in chosen.delete  # the older of the same day
    assert chosen.keep["b068-0"] == ["daily"] and chosen.keep["b067-0"] == ["daily"]
    # The newest of the previous ISO week: Sunday 2026-03-08 (day 66; the 9th is a Monday)
    assert chosen.keep["b066-0"] == ["weekly"]
    # The newest of February (day 58 = 2026-02-28) and of January (day 30)
    assert chosen.keep["b058-0"] == ["monthly"] and chosen.keep["b030-0"] == ["monthly"]
    assert len(chosen.keep) == 6


def test_it_never_deletes_the_only_verified_copy_nor_a_busy_backup() -> None:
    backups = daily_backups(5)
    backups[1] = Candidate(backups[1].id, backups[1].at, verified=True)
    backups[0] = Candidate(backups[0].id, backups[0].at, busy=True)
    chosen = select(backups, Rule(last=1))
    assert chosen.keep["b004-0"] == ["last"]
    assert chosen.keep["b001-0"] == ["only verified copy"]
    assert chosen.keep["b000-0"] == ["being restored or verified"]
    assert chosen.delete == ["b003-0", "b002-0"]


# --- properties ------------------------------------------------------------------------------------

counts = st.one_of(st.none(), st.integers(min_value=0, max_value=6))
rules = st.builds(Rule, last=counts, daily=counts, weekly=counts, monthly=counts)
candidates = st.lists(
    st.builds(
        Candidate,
        id=st.uuids().map(str),
        at=st.integers(min_value=0, max_value=400 * 24 * 60).map(lambda m: START + timedelta(minutes=m)),
        verified=st.booleans(),
        busy=st.booleans(),
    ),
    max_size=40,
    unique_by=lambda c: c.id,
)


@settings(deadline=None)  # a shared, busy machine: no per-example time limit
@given(candidates, rules)
def test_it_splits_every_backup_into_kept_or_deleted_exactly_once(backups, rule) -> None:
    chosen = select(backups, rule)
    assert set(chosen.keep).isdisjoint(chosen.delete)
    assert set(chosen.keep) | set(chosen.delete) == {c.id for c in backups}
    assert all(chosen.keep[i] for i in chosen.keep), "every kept backup says why"


@settings(deadline=None)  # a shared, busy machine: no per-example time limit
@given(candidates, rules)
def test_it_never_deletes_a_busy_backup_nor_the_last_verified_one(backups, rule) -> None:
    chosen = select(backups, rule)
    deleted = set(chosen.delete)
    assert not any(c.busy for c in backups if c.id in deleted)
    if any(c.verified for c in backups):
        assert any(c.verified for c in backups if c.id in chosen.keep)


@settings(deadline=None)  # a shared, busy machine: no per-example time limit
@given(candidates, rules)
def test_it_keeps_the_n_newest_and_the_newest_of_each_counted_period(backups, rule) -> None:
    chosen = select(backups, rule)
    ordered = sorted(backups, key=lambda c: (c.at, c.id), reverse=True)
    if rule.keeps_everything:
        assert chosen.delete == []
        return
    assert all(c.id in chosen.keep for c in ordered[: rule.last or 0])
    if ordered and any([rule.last, rule.daily, rule.weekly, rule.monthly]):
        assert ordered[0].id in chosen.keep, "any positive count keeps the newest"
    if rule.daily:
        days = []
        for c in ordered:
            if c.at.date() not in [d for d, _ in days]:
                days.append((c.at.date(), c.id))
        assert all(i in chosen.keep for _, i in days[: rule.daily])


@settings(deadline=None)  # a shared, busy machine: no per-example time limit
@given(candidates, rules)
def test_it_keeps_no_more_than_the_counts_allow_besides_the_guards(backups, rule) -> None:
    chosen = select(backups, rule)
    if rule.keeps_everything:
        return
    by_rule = [i for i, why in chosen.keep.items() if set(why) & {"last", "daily", "weekly", "monthly"}]
    assert len(by_rule) <= sum(n or 0 for n in (rule.last, rule.daily, rule.weekly, rule.monthly))
    guarded = len(chosen.keep) - len(by_rule)
    assert guarded <= sum(c.busy for c in backups) + 1


COUNTED = {"last", "daily", "weekly", "monthly"}


@settings(deadline=None)  # a shared, busy machine: no per-example time limit
@given(candidates, rules, st.sampled_from(sorted(COUNTED)))
def test_it_keeps_at_least_as_much_by_the_counts_when_a_count_grows(backups, rule, which) -> None:
    more = Rule(**{**rule.__dict__, which: (getattr(rule, which) or 0) + 1})

    def by_counts(rule: Rule) -> set[str]:
        return {i for i, why in select(backups, rule).keep.items() if COUNTED & set(why)}

    assert by_counts(rule) <= by_counts(more)


@settings(deadline=None)  # a shared, busy machine: no per-example time limit
@given(candidates, rules)
def test_it_deletes_nothing_more_when_run_again_on_what_it_kept(backups, rule) -> None:
    kept = {i for i in select(backups, rule).keep}
    again = select([c for c in backups if c.id in kept], rule)
    assert again.delete == []
