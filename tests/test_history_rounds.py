"""`sitegraph generate --rounds`: dated ledgers of one township with a truth per date, loaded
through the CLI on the embedded store (issue 11, docs/history.md).

The rounds (loaders/rounds.py) are loaded in the order of rounds.json — the last round with
--prune, then a late corrected copy of round 2 — and then, at every ledger's date:
`query run --all --at D` gives exactly that ledger's ground truth for every query; `diff`
between two dates gives the record changes computed in plain Python from the two ledgers and
the findings new/resolved from the two truths; `trend` gives the truths' row counts.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import Target, run_cli
from graphmodel.changes import ledger_keys, json_value
from graphmodel.schema import NODE_TYPES
from loaders.rounds import generate_rounds
from queries.campaign import key_text
from reliability_helpers import edges
from test_ground_truth import compare

SIZE, SEED, ROUNDS = 120, 5, 3


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rounds")
    out = tmp / "ledgers"
    r = run_cli("generate", str(out), "-n", str(SIZE), "--seed", str(SEED), "--rounds", str(ROUNDS))
    assert r.returncode == 0, r.stderr
    plan = json.loads((out / "rounds.json").read_text(encoding="utf-8"))
    target = Target("embedded", path=tmp / "g.db", tmp=tmp)
    for rd in plan["rounds"]:
        args = ["load", str(out / rd["ledger"]), "--source", plan["source"], "--date", rd["survey_date"]]
        r = run_cli(*args, *(["--prune"] if rd["prune"] else []), *target.args)
        assert r.returncode == 0, (rd["name"], r.stderr)
    return target, out, plan


def sg(target, *args):
    r = run_cli(*args, *target.args)
    assert r.returncode == 0, r.stderr
    return r


def truth_of(out: Path, rd: dict) -> dict:
    return json.loads((out / rd["ground_truth"]).read_text(encoding="utf-8"))["queries"]


def test_the_rounds_file_describes_a_late_ledger_and_a_pruning_round(campaign):
    _, out, plan = campaign
    rounds = plan["rounds"]
    assert [r["name"] for r in rounds] == ["round-1", "round-2", "round-3", "round-2-late"]
    assert [r["prune"] for r in rounds] == [False, False, True, False]
    late = rounds[-1]
    assert late["late"] and rounds[1]["survey_date"] < late["survey_date"] < rounds[2]["survey_date"]
    assert all((out / r["ledger"]).is_file() and (out / r["ground_truth"]).is_file() for r in rounds)


def test_loads_list_the_late_ledger(campaign):
    target, _, plan = campaign
    loads = json.loads(sg(target, "loads", "--format", "json").stdout)
    assert [l["survey_date"] for l in loads] == [r["survey_date"] for r in plan["rounds"]]
    assert loads[2]["prune"] and loads[2]["retired"] >= 2  # an operation and an inspection at least
    assert loads[3]["late"] and loads[3]["created"] == 0


@pytest.mark.parametrize("i", range(ROUNDS + 1), ids=["round-1", "round-2", "round-3", "round-2-late"])
def test_every_query_at_every_date_matches_that_ledgers_truth(campaign, i, tmp_path):
    target, out, plan = campaign
    rd = plan["rounds"][i]
    truth = truth_of(out, rd)
    sg(target, "query", "run", "--all", "--at", rd["survey_date"], "--format", "json", "--out", str(tmp_path),
       "--include-personal")
    problems, found = [], 0
    for qid, exp in truth.items():
        rows = json.loads((tmp_path / f"{qid}.json").read_text(encoding="utf-8"))
        problems += compare(qid, rows, exp)
        found += bool(rows)
    assert not problems, "\n".join(problems[:40])
    assert found >= 15


def records_diff(a: dict, b: dict) -> dict:
    """The contract's record part, computed from two complete ledgers."""
    out = {}
    for nt in NODE_TYPES:
        ra = {r[nt.key]: r for r in a.get(nt.label, [])}
        rb = {r[nt.key]: r for r in b.get(nt.label, [])}
        keys = ledger_keys(nt)
        changed = {}
        for k in sorted(ra.keys() & rb.keys()):
            d = {f: json_value([ra[k].get(f), rb[k].get(f)]) for f in keys if ra[k].get(f) != rb[k].get(f)}
            if d:
                changed[k] = d
        added, retired = sorted(rb.keys() - ra.keys()), sorted(ra.keys() - rb.keys())
        if added or retired or changed:
            out[nt.sheet] = {"added": added, "retired": retired, "changed": changed}
    return out


def key_set(truth: dict, qid: str) -> set:
    exp = truth[qid]
    return {tuple(key_text(r[k]) for k in exp["key"]) for r in exp["rows"]}


@pytest.mark.parametrize("a,b", [(0, 1), (1, 3), (3, 2), (0, 2)], ids=["r1-r2", "r2-late", "late-r3", "r1-r3"])
def test_diff_between_two_dates_is_the_difference_of_the_two_ledgers(campaign, a, b):
    target, out, plan = campaign
    rounds = generate_rounds(SIZE, SEED, ROUNDS)
    ra, rb = plan["rounds"][a], plan["rounds"][b]
    got = json.loads(sg(target, "diff", "--from", ra["survey_date"], "--to", rb["survey_date"],
                        "--format", "json").stdout)
    assert got["records"] == records_diff(rounds[a].records, rounds[b].records)
    assert got["records"]  # the rounds differ: the check is not vacuous
    ta, tb = truth_of(out, ra), truth_of(out, rb)
    moved = 0
    for qid, v in got["queries"].items():
        ka, kb = key_set(ta, qid), key_set(tb, qid)
        assert {tuple(k) for k in v["new"]} == kb - ka, qid
        assert {tuple(k) for k in v["resolved"]} == ka - kb, qid
        assert {tuple(k) for k in v["persisting"]} == ka & kb, qid
        assert v["new"] == sorted(v["new"]) and v["resolved"] == sorted(v["resolved"])
        moved += bool(v["new"] or v["resolved"])
    assert moved >= 1


def test_trend_gives_each_dates_row_count(campaign, tmp_path):
    target, out, plan = campaign
    dates = sorted(r["survey_date"] for r in plan["rounds"])
    for qid in ("rectification-rate", "survey-coverage", "major-hazards-open", "hazards-overdue"):
        tr = json.loads(sg(target, "trend", qid, "--at", ",".join(dates), "--format", "json").stdout)
        by_date = {r["survey_date"]: truth_of(out, r) for r in plan["rounds"]}
        assert [p["date"] for p in tr["points"]] == dates
        assert [p["rows"] for p in tr["points"]] == [len(by_date[d][qid]["rows"]) for d in dates], qid
    tr = json.loads(sg(target, "trend", "rectification-rate", "--at", ",".join(dates), "--format", "json").stdout)
    for p in tr["points"]:
        rows = {r["county"]: r for r in by_date[p["date"]]["rectification-rate"]["rows"]}
        assert {g["county"]: g["rate"] for g in p["groups"]} == pytest.approx({c: r["rate"] for c, r in rows.items()})
    # the hazards move towards 已整改 round by round: the township's rate rises
    rates = [next(g["rate"] for g in p["groups"] if g["county"] == plan["county"]) for p in tr["points"]]
    assert rates[-1] > rates[0]
    png = tmp_path / "rate.png"
    sg(target, "trend", "rectification-rate", "--every", "month", "--from", dates[0], "--to", dates[-1],
       "--chart", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_of_a_hazard_that_moved_through_the_rounds(campaign):
    target, _, plan = campaign
    rounds = generate_rounds(SIZE, SEED, ROUNDS)
    first = {h["hazard_id"]: h for h in rounds[0].records["Hazard"]}
    last = {h["hazard_id"]: h for h in rounds[2].records["Hazard"]}
    hid = next(k for k in sorted(first) if k in last and first[k]["status"] != last[k]["status"])
    h = json.loads(sg(target, "history", hid, "--format", "json").stdout)[0]
    versions = [e for e in h["events"] if e["event"] in ("created", "updated", "late")]
    assert versions[0]["event"] == "created" and versions[0]["survey_date"] == "2025-01-15"
    assert versions[-1]["current"] and versions[-1]["survey_date"] <= plan["rounds"][2]["survey_date"]
    statuses = [first[hid]["status"]] + [e["changes"]["status"][1] for e in versions[1:] if "status" in e["changes"]]
    assert statuses[-1] == last[hid]["status"]
    assert dt.date.fromisoformat(versions[-1]["survey_date"]) > dt.date(2025, 1, 15)


def test_the_current_graph_has_exactly_the_relationships_of_the_last_round_alone(campaign, tmp_path):
    """After updates, retirements and a late ledger, every relationship of the current graph —
    those of changed records and those other records draw to them — is there once, none stale."""
    target, out, plan = campaign
    last = next(r for r in plan["rounds"] if r["name"] == f"round-{ROUNDS}")
    fresh = Target("embedded", path=tmp_path / "fresh.db", tmp=tmp_path)
    r = run_cli("load", str(out / last["ledger"]), "--source", plan["source"], "--date", last["survey_date"],
                *fresh.args)
    assert r.returncode == 0, r.stderr
    with target.open() as b, fresh.open() as f:
        got, want = edges(b), edges(f)
    assert got == want
    assert sum(len(v) for v in want.values()) > 100
    loads = json.loads(sg(target, "loads", "--format", "json").stdout)
    assert loads[1]["labels"]["Enterprise"]["updated"] and loads[1]["labels"]["Building"]["updated"]
