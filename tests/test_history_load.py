"""Dated loads on real stores, both backends (issue 11; docs/design/history.md §5, §10).

The oracle property test writes random loads with graphmodel.writer.write_survey and reads
the state at D back with the two portable statements of the design (§6: current rows with
survey_date <= D, history versions whose interval holds D), comparing with the brute-force
oracle (tests/history_oracle.py); the named cases are readable specs of the same rules.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BACKENDS, Target, empty_target
from graphmodel.errors import SitegraphError
from graphmodel.writer import list_loads, write_survey
from history_oracle import Oracle
from ledgers import info, load_json, sg, survey_records, write_variant

D = [dt.date(2025, 1, 1) + dt.timedelta(days=14 * i) for i in range(5)]
PRE = D[0] - dt.timedelta(days=1)
KEYS = ["E1", "E2", "E3"]


def ent(key: str, name: str, row: int = 2, file: str = "t.xlsx") -> dict:
    return {"uscc": key, "name": name, "sector": "冶金", "county": "郊区", "township": "荫营镇",
            "src_file": file, "src_sheet": "企业", "src_row": row}


def load(b, day, source, names: dict[str, str], prune=False, file="t.xlsx"):
    recs = [ent(k, v, i + 2, file) for i, (k, v) in enumerate(names.items())]
    return write_survey(b, {"Enterprise": recs}, source=source, prune=prune, survey_date=day)


def state(b, day) -> dict[str, tuple[str, str]]:
    """key -> (source, name) of the Enterprise state at `day`, read as §6 reads it."""
    cur = b.read("MATCH (n:Enterprise) WHERE n.survey_date <= $d RETURN n.uscc AS k, n.source AS s, n.name AS v",
                 {"d": day}).rows
    hist = b.read("MATCH (h:EnterpriseHistory) WHERE h.h_kind = 'version' AND h.survey_date <= $d AND h.h_to > $d "
                  "RETURN h.h_key AS k, h.source AS s, h.name AS v", {"d": day}).rows
    out = {}
    for r in cur + hist:
        assert r["k"] not in out, f"two entries of {r['k']} effective at {day}"
        out[r["k"]] = (r["s"], r["v"])
    return out


def current(b) -> dict[str, tuple[str, str]]:
    return {r["k"]: (r["s"], r["v"]) for r in b.read("MATCH (n:Enterprise) RETURN n.uscc AS k, n.source AS s, "
                                                       "n.name AS v").rows}


def history_rows(b) -> int:
    return b.read("MATCH (h:EnterpriseHistory) RETURN count(h) AS c").rows[0]["c"]


def check(b, oracle: Oracle) -> None:
    for d in [PRE, *D, *(x + dt.timedelta(days=1) for x in D)]:
        assert state(b, d) == {k: (s, v[0]) for k, (s, v) in oracle.state(d).items()}, d
    assert current(b) == {k: (s, v[0]) for k, (s, v) in oracle.state(oracle.latest_day()).items()}


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path_factory):
    """A factory of empty stores on one backend (a new one per hypothesis example)."""
    opened = []

    def fresh():
        for b in opened:
            b.close()
        opened.clear()
        t = empty_target(request.param, request, tmp_path_factory.mktemp("h"))
        opened.append(t.open(write=True))
        return opened[-1]

    yield fresh
    for b in opened:
        b.close()


loads_st = st.lists(
    st.tuples(st.sampled_from(D[:4]), st.sampled_from(["A", "B"]),
              st.dictionaries(st.sampled_from(KEYS), st.sampled_from(["x", "y"]), max_size=3), st.booleans()),
    min_size=1, max_size=6,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loads=loads_st)
def test_dated_loads_match_the_oracle(store, loads):
    b = store()
    oracle = Oracle()
    for day, source, names, prune in loads:
        load(b, day, source, names, prune)
        oracle.load(day, source, {k: (v,) for k, v in names.items()}, prune)
        check(b, oracle)
    assert [r["load_seq"] for r in list_loads(b)] == list(range(1, len(loads) + 1))


def test_late_ledger_adds_history_and_keeps_the_newer_current_value(graph):
    load(graph, D[0], "A", {"E1": "v1"})
    load(graph, D[2], "A", {"E1": "v3"})
    rep = load(graph, D[1], "A", {"E1": "v2"})  # a corrected ledger of D[1], arriving last
    assert vars(rep.labels["Enterprise"]) == {"created": 0, "updated": 0, "moved": 0, "unchanged": 0, "pruned": 0,
                                              "late": 1, "readded": 0}
    assert current(graph) == {"E1": ("A", "v3")}
    assert [state(graph, d)["E1"][1] for d in D[:3]] == ["v1", "v2", "v3"]
    assert list_loads(graph)[-1]["late"] is True
    # the late version keeps its own provenance
    row = graph.read("MATCH (h:EnterpriseHistory) WHERE h.name = 'v2' RETURN h.load_seq AS s, h.survey_date AS d, "
                     "h.h_to AS t, h.src_file AS f").rows
    assert row == [{"s": 3, "d": D[1], "t": D[2], "f": "t.xlsx"}]


def test_prune_then_readd(graph):
    load(graph, D[0], "A", {"E1": "v", "E2": "w"})
    rep = load(graph, D[1], "A", {"E2": "w"}, prune=True)
    assert rep.labels["Enterprise"].pruned == 1
    assert "E1" not in current(graph)
    rep = load(graph, D[2], "A", {"E1": "v", "E2": "w"})
    assert rep.labels["Enterprise"].readded == 1 and rep.labels["Enterprise"].created == 0
    assert [("E1" in state(graph, d)) for d in (PRE, D[0], D[1], D[2])] == [False, True, False, True]
    kinds = graph.read("MATCH (h:EnterpriseHistory) WHERE h.h_key = 'E1' RETURN h.h_kind AS k, h.survey_date AS d, "
                       "h.h_to AS t ORDER BY h.load_seq").rows
    assert kinds == [{"k": "version", "d": D[0], "t": D[1]}, {"k": "retired", "d": D[1], "t": D[2]}]


def test_changed_and_changed_back(graph):
    load(graph, D[0], "A", {"E1": "v1"})
    load(graph, D[1], "A", {"E1": "v2"})
    rep = load(graph, D[2], "A", {"E1": "v1"})
    assert rep.labels["Enterprise"].updated == 1  # back to v1 is a change from v2
    assert [state(graph, d)["E1"][1] for d in D[:3]] == ["v1", "v2", "v1"]
    assert history_rows(graph) == 2


def test_same_record_from_two_sources(graph):
    load(graph, D[0], "A", {"E1": "v"})
    rep = load(graph, D[1], "B", {"E1": "v"})  # the same values from another source: a version
    assert rep.labels["Enterprise"].updated == 1 and current(graph) == {"E1": ("B", "v")}
    load(graph, D[2], "A", {}, prune=True)  # A does not retire what B supplied last
    assert current(graph) == {"E1": ("B", "v")}
    rep = load(graph, D[3], "B", {}, prune=True)
    assert rep.labels["Enterprise"].pruned == 1 and current(graph) == {}
    assert state(graph, D[2]) == {"E1": ("B", "v")} and state(graph, D[0]) == {"E1": ("A", "v")}


def test_same_date_loads_the_later_wins(graph):
    load(graph, D[1], "A", {"E1": "v1"})
    load(graph, D[1], "A", {"E1": "v2"})
    assert state(graph, D[1]) == current(graph) == {"E1": ("A", "v2")}
    # the superseded version of the same date has an empty interval: history, never a state
    assert graph.read("MATCH (h:EnterpriseHistory) RETURN h.survey_date AS d, h.h_to AS t").rows == [
        {"d": D[1], "t": D[1]}]


def test_a_future_survey_date_is_refused_before_anything_is_written(graph):
    before = graph.info()
    with pytest.raises(SitegraphError, match="晚于今天"):
        load(graph, dt.date.today() + dt.timedelta(days=1), "A", {"E1": "v"})
    assert graph.info() == before and list_loads(graph) == []


# --- the CLI --------------------------------------------------------------------------------

def test_cli_dated_loads_reload_and_loads_listing(target, tmp_path):
    recs = survey_records()
    path = write_variant(recs, tmp_path / "城区-1月.xlsx", "xlsx")
    first = load_json(target, path, "--source", "城区", "--date", "2025-01-15")
    assert first["survey_date"] == "2025-01-15" and first["load_seq"] == 1
    state1 = info(target)
    # the same ledger again, at its date and at a later one: no version, no change
    for date in ("2025-01-15", "2025-02-15"):
        again = load_json(target, path, "--source", "城区", "--date", date)
        assert all(v["created"] == v["updated"] == v["moved"] == v["late"] == v["readded"] == v["pruned"] == 0
                   for v in again["labels"].values())
        assert again["relationships_created"] == again["relationships_deleted"] == 0
    assert info(target) == state1
    b = target.open()
    try:
        n_hist = sum(b.read(f"MATCH (h:{nt.label}History) RETURN count(h) AS c").rows[0]["c"] for nt in _labels())
        assert n_hist == 0
    finally:
        b.close()
    r = sg(target, "loads", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(x["seq"], x["source"], x["survey_date"]) for x in rows] == [
        (1, "城区", "2025-01-15"), (2, "城区", "2025-01-15"), (3, "城区", "2025-02-15")]
    assert rows[0]["created"] == 23 and rows[0]["files"] == [path.name]
    assert rows[1]["created"] == rows[1]["updated"] == 0 and rows[1]["unchanged"] == 23
    r = sg(target, "loads")
    assert r.returncode == 0, r.stderr
    assert "调查日期" in r.stdout and "2025-02-15" in r.stdout and "城区" in r.stdout
    r = sg(target, "loads", "--lang", "en")
    assert "survey date" in r.stdout


def _labels():
    from graphmodel.schema import NODE_TYPES

    return NODE_TYPES


@pytest.mark.parametrize("value,zh,en", [
    ("2999-01-01", "晚于今天", "after today"),
    ("1999-12-31", "早于 2000-01-01", "before 2000-01-01"),
    ("2025-13-40", "不是日期", "is not a date"),
    ("soon", "不是日期", "is not a date"),
])
def test_cli_bad_date_exit_1_nothing_written(tmp_path, cli, value, zh, en):
    path = write_variant(survey_records(), tmp_path / "s.xlsx", "xlsx")
    db = tmp_path / "g.db"
    r = cli("load", str(path), "--db", str(db), "--date", value)
    assert r.returncode == 1 and zh in r.stderr and value in r.stderr and "Traceback" not in r.stderr
    assert not db.exists()  # refused before the store is created
    r = cli("load", str(path), "--db", str(db), "--date", value, "--lang", "en")
    assert r.returncode == 1 and en in r.stderr and "Traceback" not in r.stderr


def test_migration_of_a_version_2_store(tmp_path):
    """A store written before history (no survey_date/load_seq/content_hash, no history
    tables, schema 2) becomes one load per former load_id, values untouched."""
    from graphmodel.backends.embedded import EmbeddedBackend
    from graphmodel.schema import META_LABEL

    t = Target("embedded", path=tmp_path / "old.db", tmp=tmp_path)
    b = t.open(write=True)
    try:
        b.install_schema()
        load(b, D[0], "A", {"E1": "a", "E2": "b"})
        load(b, D[1], "B", {"E3": "c"})
        # turn it back into what schema 2 left: no stamps, no loads, version 2
        # (two loads in one second would tie on loaded_at: give them the times of two days)
        b.write(lambda tx: [tx.run("MATCH (n:Enterprise) SET n.survey_date = NULL, n.load_seq = NULL, "
                                   "n.content_hash = NULL, n.loaded_at = CASE n.source WHEN 'A' THEN "
                                   "'2024-11-20T08:00:00+00:00' ELSE '2024-11-21T08:00:00+00:00' END"),
                            tx.run("MATCH (l:SitegraphLoad) DELETE l"),
                            tx.run(f"MATCH (m:{META_LABEL}) WHERE m.name = 'loads' DELETE m"),
                            tx.run(f"MATCH (m:{META_LABEL}) WHERE m.name = 'schema' SET m.schema_version = 2")])
        before = b.read("MATCH (n:Enterprise) RETURN n.uscc AS k, n.name AS v, n.load_id AS l, n.loaded_at AS t "
                        "ORDER BY k").rows
    finally:
        b.close()
    b = EmbeddedBackend(t.path, write=True)
    try:
        assert b.schema_version() == 2
        from loaders.survey import ensure_schema

        ensure_schema(b)
        assert b.schema_version() == 3
        loads = list_loads(b)
        assert [(x["load_seq"], x["source"]) for x in loads] == [(1, "A"), (2, "B")]
        assert [x["load_id"] for x in loads] == [before[0]["l"], before[2]["l"]]
        assert loads[0]["counts"]["Enterprise"]["created"] == 2
        d1, d2 = dt.date(2024, 11, 20), dt.date(2024, 11, 21)  # the day of each former load
        assert [x["survey_date"] for x in loads] == [d1, d2]
        rows = b.read("MATCH (n:Enterprise) RETURN n.uscc AS k, n.name AS v, n.load_seq AS s, n.survey_date AS d, "
                      "n.content_hash AS h ORDER BY k").rows
        assert [(r["k"], r["v"], r["s"], r["d"]) for r in rows] == [("E1", "a", 1, d1), ("E2", "b", 1, d1),
                                                                    ("E3", "c", 2, d2)]
        assert all(len(r["h"]) == 16 for r in rows)
        # the next load continues the sequence and sees the migrated versions as unchanged
        rep = load(b, dt.date.today(), "A", {"E1": "a", "E2": "b"})
        assert rep.load_seq == 3 and rep.labels["Enterprise"].unchanged == 2
    finally:
        b.close()
