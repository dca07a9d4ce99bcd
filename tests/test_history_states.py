"""Time travel: the state at D as a scratch LadybugDB store (graphmodel/states.py), both
backends, and `query run --at` (docs/design/history.md §6, §10)."""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json

import pytest

from conftest import empty_target
from graphmodel import states
from graphmodel.backends.embedded import EmbeddedBackend
from ledgers import sg, survey_records, write_variant
from queries import runner

D1, D2 = dt.date(2025, 1, 15), dt.date(2025, 2, 15)


@pytest.fixture(autouse=True)
def state_cache(tmp_path, monkeypatch):
    """Neo4j states are cached under $SITEGRAPH_CACHE: the test's own folder, not ~/.cache."""
    monkeypatch.setenv("SITEGRAPH_CACHE", str(tmp_path / "cache"))


def rounds(tmp_path):
    r1 = survey_records()
    r2 = copy.deepcopy(r1)
    for h in r2["Hazard"]:
        h["level"] = "重大"
    for e in r2["Enterprise"]:
        e["name"] += "（新）"
    r2["Inspection"] = r2["Inspection"][:1]
    return write_variant(r1, tmp_path / "r1.xlsx", "xlsx"), write_variant(r2, tmp_path / "r2.xlsx", "xlsx")


def pack(b, day) -> dict[str, list]:
    return {r.spec.id: r.rows for r in runner.run_all(b, {"as_of": day.isoformat()}, include_personal=True)}


POSITION = ("src_file", "src_sheet", "src_row", "load_id", "loaded_at")


def strip(p: dict[str, list]) -> dict[str, list]:
    return {k: [{c: v for c, v in r.items() if c not in POSITION} for r in rows] for k, rows in p.items()}


def test_state_at_equals_a_store_of_that_round_alone(target, tmp_path, request):
    p1, p2 = rounds(tmp_path)
    for p, d in ((p1, D1), (p2, D2)):
        r = sg(target, "load", str(p), "--source", "S", "--date", d.isoformat(), "--prune")
        assert r.returncode == 0, r.stderr
    b = target.open()
    try:
        with states.state_at(b, D2) as s:
            assert s is b  # the latest date: the live store itself
        live2 = pack(b, D2)
        with states.state_at(b, D1) as s:
            assert s is not b and "@ 2025-01-15" in s.location
            at1 = pack(s, D1)
        # materialised at the latest date = the live store, row for row
        rows = states.state_rows(b, D2)
        scratch = tmp_path / "latest.lbdb"
        states._build(scratch, rows)
        with EmbeddedBackend(scratch) as s:
            assert pack(s, D2) == live2
        with states.state_at(b, D1 - dt.timedelta(days=1)) as s:  # before the first load: nothing
            assert all(v == 0 for v in s.counts()["nodes"].values())
            assert all(not v for v in pack(s, D1).values())
    finally:
        b.close()
    (tmp_path / "fresh").mkdir()
    fresh = empty_target("embedded", request, tmp_path / "fresh")
    r = sg(fresh, "load", str(p1), "--source", "S", "--date", D1.isoformat())
    assert r.returncode == 0, r.stderr
    with fresh.open() as f:
        want1 = pack(f, D1)
    # a record only *moved* by round 2 (same values, another file) had its position refreshed in
    # place (design §4.3 as built): the state at D1 names round 2's file for it, so positions
    # are compared apart — values must be equal, and the positions equal for every other record
    assert strip(at1) == strip(want1)
    moved = {r["id"] for r in at1["survey-incomplete"] if r["src_file"] == "r2.xlsx"}
    assert moved and all(r["src_file"] == "r1.xlsx" for r in want1["survey-incomplete"])
    assert any(at1[k] != live2[k] for k in at1)  # the rounds differ: the check is not vacuous


def test_query_run_at_sets_as_of_and_leaves_the_store_unchanged(target, tmp_path):
    p1, p2 = rounds(tmp_path)
    for p, d in ((p1, D1), (p2, D2)):
        assert sg(target, "load", str(p), "--source", "S", "--date", d.isoformat()).returncode == 0
    digest = hashlib.sha256(target.path.read_bytes()).hexdigest() if target.kind == "embedded" else None
    r = sg(target, "query", "run", "major-hazards-open", "--at", D1.isoformat(), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert "as_of=2025-01-15" in r.stderr
    at1 = json.loads(r.stdout)
    r = sg(target, "query", "run", "major-hazards-open", "--format", "json")
    now = json.loads(r.stdout)
    assert len(at1) < len(now)  # round 2 raised every hazard to 重大
    r = sg(target, "query", "run", "--all", "--at", D1.isoformat(), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert {x["id"]: x["rows"] for x in json.loads(r.stdout)}["major-hazards-open"] == len(at1)
    r = sg(target, "query", "run", "major-hazards-open", "--at", "someday")
    assert r.returncode == 1 and "不是日期" in r.stderr and "Traceback" not in r.stderr
    # brief --at: the briefing of the state at D1 (the names before round 2 renamed them)
    page = tmp_path / "b2.html"
    r = sg(target, "brief", "B2", "--at", D1.isoformat(), "--out", str(page))
    assert r.returncode == 0, r.stderr
    html = page.read_text(encoding="utf-8")
    assert "宏达仓库" in html and "（新）" not in html
    r = sg(target, "brief", "B2", "--out", str(tmp_path / "now.html"))
    assert r.returncode == 0 and "（新）" in (tmp_path / "now.html").read_text(encoding="utf-8")
    r = sg(target, "brief", "B2", "--at", "2024-12-31", "--out", str(tmp_path / "none.html"))  # before any load
    assert r.returncode == 1 and "未找到" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "none.html").exists()
    if digest:
        assert hashlib.sha256(target.path.read_bytes()).hexdigest() == digest


@pytest.mark.neo4j
def test_at_gives_the_same_rows_on_both_backends(both_backends, tmp_path):
    from loaders.survey import load

    p1, p2 = rounds(tmp_path)
    results = []
    for b in both_backends:
        for p, d in ((p1, D1), (p2, D2)):
            load(p, b, source="S", prune=True, survey_date=d)
        with states.state_at(b, D1) as s:
            at1 = pack(s, D1)
        with states.state_at(b, D2) as s:
            at2 = pack(s, D2)
        results.append((at1, at2))
    (e1, e2), (n1, n2) = results
    assert e1 == n1 and e2 == n2
    assert e1 != e2
