"""Campaign history, the pure part (graphmodel/history.py): no database.

The property test drives plan_load/apply_plan — what the writer does to the stores — with
random loads (two sources, dates with ties and late arrivals, random --prune) and compares
the state at random dates with the brute-force oracle (tests/history_oracle.py).
"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphmodel import history as h
from history_oracle import Oracle

D = [dt.date(2025, 1, 1) + dt.timedelta(days=7 * i) for i in range(6)]


def v(day, seq, hash_="a", source="A", hid=None, to=None, kind=h.VERSION):
    return h.Entry(day, seq, kind, hash_, source, hid, to)


def test_effective_at_and_intervals_follow_survey_date_then_load():
    tl = h.sort_timeline([v(D[2], 3, "c", hid="k|3", to=D[2]), v(D[0], 1, "a", hid="k|1", to=D[2]),
                          v(D[2], 4, "d")])
    assert [e.load_seq for e in tl] == [1, 3, 4]
    assert h.effective_at(tl, D[0] - dt.timedelta(days=1)) is None
    assert h.effective_at(tl, D[1]).content_hash == "a"
    # two entries of one date: the later load wins, the earlier has an empty interval
    assert h.effective_at(tl, D[2]).content_hash == "d"
    assert [(e.load_seq, end) for e, end in h.intervals(tl)] == [(1, D[2]), (3, D[2]), (4, None)]


def test_classify_every_case_of_the_design_table():
    cur = [v(D[1], 1, "a")]
    assert h.classify([], D[1], "a") == h.CREATED
    assert h.classify(cur, D[2], "a") == h.UNCHANGED
    assert h.classify(cur, D[2], "b") == h.UPDATED
    assert h.classify(cur, D[1], "b") == h.UPDATED  # same date, later load
    retired = [v(D[0], 1, "a", hid="k|1", to=D[1]), v(D[1], 2, None, hid="k|2", kind=h.RETIRED)]
    assert h.classify(retired, D[2], "a") == h.READDED
    assert h.classify(cur, D[0], "a") == h.LATE  # before the first version: absent then
    late = [v(D[0], 1, "a", hid="k|1", to=D[3]), v(D[3], 2, "b")]
    assert h.classify(late, D[1], "a") == h.UNCHANGED  # equal to the state at D[1]
    assert h.classify(late, D[1], "b") == h.LATE
    assert h.classify(retired, D[0], "z") == h.LATE  # before a retirement


def test_classify_absent_retires_only_what_the_source_supplied_at_that_date():
    tl = [v(D[0], 1, "a", "A", hid="k|1", to=D[2]), v(D[2], 2, "b", "B")]
    assert h.classify_absent(tl, D[3], "A") is None  # B's version is current
    assert h.classify_absent(tl, D[3], "B") == h.RETIRE
    assert h.classify_absent(tl, D[1], "A") == h.RETIRE_LATE
    assert h.classify_absent(tl, D[0] - dt.timedelta(days=1), "A") is None  # absent then
    gone = [v(D[0], 1, "a", hid="k|1", to=D[1]), v(D[1], 2, None, hid="k|2", kind=h.RETIRED)]
    assert h.classify_absent(gone, D[2], "A") is None


def test_plan_and_apply_late_version_keeps_the_newer_current_one():
    tls = {"k": [v(D[0], 1, "a", hid="k|1", to=D[3]), v(D[3], 2, "c")]}
    plan = h.plan_load(tls, D[1], {"k": "b"}, "A")
    assert plan.actions == {"k": h.LATE} and plan.late_to == {"k": D[3]} and plan.ends == {"k|1": D[1]}
    after = h.apply_plan(tls, plan, D[1], 3, {"k": "b"}, "A")["k"]
    assert [(e.survey_date, e.content_hash, e.h_to) for e in after] == [(D[0], "a", D[1]), (D[1], "b", D[3]),
                                                                         (D[3], "c", None)]
    assert after[-1].is_current


def test_content_hash_ignores_nulls_and_order_and_sees_source():
    a = h.content_hash({"x": 1, "y": None, "d": dt.date(2025, 1, 1)}, ["x", "y", "d"], "S")
    assert a == h.content_hash({"d": dt.date(2025, 1, 1), "x": 1}, ["d", "x", "z"], "S")
    assert a != h.content_hash({"x": 1, "d": dt.date(2025, 1, 1)}, ["x", "d"], "T")
    assert a != h.content_hash({"x": 2, "d": dt.date(2025, 1, 1)}, ["x", "d"], "S")
    assert len(a) == 16 and int(a, 16) >= 0


def test_field_diff():
    assert h.field_diff({"a": 1, "b": [1], "c": None}, {"a": 1, "b": [2], "c": "x"}, ["a", "b", "c"]) == {
        "b": [[1], [2]], "c": [None, "x"]}
    assert h.field_diff(None, {"a": 1}, ["a"]) == {"a": [None, 1]}
    assert h.field_diff({"a": 1}, {"a": 1}, ["a"]) == {}


@pytest.mark.parametrize("day,ok", [(dt.date(2026, 1, 2), False), (dt.date(1999, 12, 31), False),
                                    (dt.date(2000, 1, 1), True), (dt.date(2026, 1, 1), True)])
def test_survey_date_problem(day, ok):
    p = h.survey_date_problem(day, dt.date(2026, 1, 1))
    assert (p is None) == ok
    if p:
        assert str(day) in p[0] and str(day) in p[1]


# --- the property test: plan/apply against the oracle -------------------------------------

KEYS = ["k1", "k2", "k3", "k4"]
loads_st = st.lists(
    st.tuples(
        st.sampled_from(D[:5]),  # few dates: ties and late arrivals are frequent
        st.sampled_from(["A", "B"]),
        st.dictionaries(st.sampled_from(KEYS), st.sampled_from(["x", "y", "z"]), max_size=4),
        st.booleans(),
    ),
    min_size=1, max_size=8,
)


def run_pure(loads):
    """The loads through plan_load/apply_plan, checked against the oracle after each one."""
    tls: dict[str, list[h.Entry]] = {}
    oracle = Oracle()
    for seq, (day, source, recs, prune) in enumerate(loads, start=1):
        hashes = {k: h.content_hash({"v": val}, ["v"], source) for k, val in recs.items()}
        plan = h.plan_load(tls, day, hashes, source, prune)
        tls = h.apply_plan(tls, plan, day, seq, hashes, source)
        oracle.load(day, source, {k: (val,) for k, val in recs.items()}, prune)
        for d in [D[0] - dt.timedelta(days=1), *D, *(x + dt.timedelta(days=1) for x in D)]:
            want = {k: h.content_hash({"v": val[0]}, ["v"], src) for k, (src, val) in oracle.state(d).items()}
            got = {k: e.content_hash for k, e in h.state_at(tls, d).items()}
            assert got == want, (seq, d)
        for tl in tls.values():  # invariants the stores rely on
            assert all(e.h_id is not None for e in tl[:-1])  # only the last entry can be current
            assert all(e.h_to == end for e, end in h.intervals(tl) if e.h_id is not None and end is not None)
            assert len({e.load_seq for e in tl}) == len(tl)  # one entry per key per load
    return tls


@settings(max_examples=300, deadline=None)
@given(loads_st)
def test_plan_apply_matches_the_oracle(loads):
    run_pure(loads)


def test_a_reload_plans_nothing():
    tls = run_pure([(D[1], "A", {"k1": "x", "k2": "y"}, False), (D[3], "A", {"k1": "z"}, True)])
    for day in (D[1], D[3]):  # the same ledger again, even the older one: no entry
        recs = {"k1": "x", "k2": "y"} if day == D[1] else {"k1": "z"}
        hashes = {k: h.content_hash({"v": val}, ["v"], "A") for k, val in recs.items()}
        plan = h.plan_load(tls, day, hashes, "A", prune=day == D[3])
        assert set(plan.actions.values()) == {h.UNCHANGED} and not plan.ends
