"""`sitegraph history | diff | trend` on multi-round scenarios, through the CLI, on both
backends (issue 11; docs/history.md).

Scenarios: a record changed and changed back, prune then re-add, a late ledger, the same
record from two sources, time travel before a record's first version; `diff --format json`
against a hand-written expected dict for a three-load fixture; the xlsx; the chart.
"""
from __future__ import annotations

import copy
import json

import pytest

from ledgers import E1, sg, survey_records, write_variant

D1, D2, D3 = "2025-01-15", "2025-02-15", "2025-03-15"
OLD_NAME = "阳泉华兴耐火材料有限公司"


@pytest.fixture(autouse=True)
def state_cache(tmp_path, monkeypatch):
    """Neo4j states are cached under $SITEGRAPH_CACHE: the test's own folder, not ~/.cache."""
    monkeypatch.setenv("SITEGRAPH_CACHE", str(tmp_path / "cache"))


def ok(target, *args):
    r = sg(target, *args)
    assert r.returncode == 0, r.stderr
    return r


def load(target, path, day, source="S", prune=False):
    ok(target, "load", str(path), "--source", source, "--date", day, *(["--prune"] if prune else []))


def three_loads(target, tmp_path):
    """L1 base; L2: H2 raised to 重大, E1 renamed, I2 gone (--prune); L3: E1's name back, I2 back."""
    r1 = survey_records()
    r2 = copy.deepcopy(r1)
    next(h for h in r2["Hazard"] if h["hazard_id"] == "H2")["level"] = "重大"
    next(e for e in r2["Enterprise"] if e["uscc"] == E1)["name"] = OLD_NAME + "（新）"
    r2["Inspection"] = [i for i in r2["Inspection"] if i["inspection_id"] != "I2"]
    r3 = copy.deepcopy(r2)
    next(e for e in r3["Enterprise"] if e["uscc"] == E1)["name"] = OLD_NAME
    r3["Inspection"] = copy.deepcopy(r1["Inspection"])
    for i, (recs, day, prune) in enumerate(((r1, D1, False), (r2, D2, True), (r3, D3, False)), 1):
        load(target, write_variant(recs, tmp_path / f"r{i}.xlsx", "xlsx"), day, prune=prune)
    return r1, r2, r3


def history(target, key, *args):
    return json.loads(ok(target, "history", key, "--format", "json", *args).stdout)


def diff(target, d1, d2, *args):
    return json.loads(ok(target, "diff", "--from", d1, "--to", d2, "--format", "json", *args).stdout)


QUERIES = ("-q", "major-hazards-open", "-q", "inspection-accountability")


def test_diff_json_is_exactly_the_contract(target, tmp_path):
    three_loads(target, tmp_path)
    assert diff(target, D1, D2, *QUERIES) == {
        "queries": {
            "major-hazards-open": {"new": [["H2"]], "resolved": [], "persisting": []},
            "inspection-accountability": {"new": [], "resolved": [["I2"]], "persisting": []},
        },
        "records": {
            "企业": {"added": [], "retired": [], "changed": {E1: {"name": [OLD_NAME, OLD_NAME + "（新）"]}}},
            "隐患": {"added": [], "retired": [], "changed": {"H2": {"level": ["一般", "重大"]}}},
            "检查记录": {"added": [], "retired": ["I2"], "changed": {}},
        },
    }
    # changed and changed back, retired and re-added: D1 → D3 shows neither, only H2's change
    assert diff(target, D1, D3, *QUERIES) == {
        "queries": {
            "major-hazards-open": {"new": [["H2"]], "resolved": [], "persisting": []},
            "inspection-accountability": {"new": [], "resolved": [], "persisting": [["I2"]]},
        },
        "records": {"隐患": {"added": [], "retired": [], "changed": {"H2": {"level": ["一般", "重大"]}}}},
    }
    d = diff(target, D2, D3, "-q", "inspection-accountability")
    assert d["records"]["检查记录"] == {"added": ["I2"], "retired": [], "changed": {}}
    assert d["queries"]["inspection-accountability"]["new"] == [["I2"]]
    assert diff(target, D1, D1, *QUERIES)["records"] == {}  # one date: nothing changed


def test_history_shows_changes_retirement_and_re_adding(target, tmp_path):
    three_loads(target, tmp_path)
    [e1] = history(target, E1)
    assert e1["sheet"] == "企业" and e1["present"]
    assert [(e["survey_date"], e["event"]) for e in e1["events"]] == [(D1, "created"), (D2, "updated"),
                                                                      (D3, "updated")]
    assert e1["events"][1]["changes"] == {"name": [OLD_NAME, OLD_NAME + "（新）"]}
    assert e1["events"][2]["changes"] == {"name": [OLD_NAME + "（新）", OLD_NAME]}
    assert [e["current"] for e in e1["events"]] == [False, False, True]
    assert e1["events"][0]["file"] == "r1.xlsx" and e1["events"][0]["sheet"] == "企业" and e1["events"][0]["row"]
    assert [e["load_seq"] for e in e1["events"]] == [1, 2, 3]
    [i2] = history(target, "I2")
    assert [(e["survey_date"], e["event"]) for e in i2["events"]] == [(D1, "created"), (D2, "retired"),
                                                                      (D3, "readded")]
    assert i2["events"][2]["changes"] == {}  # re-added with the values it had
    table = ok(target, "history", "I2").stdout
    assert "退出" in table and "恢复" in table and "新增" in table
    en = ok(target, "history", "I2", "--lang", "en").stdout
    assert "retired" in en and "re-added" in en
    # states before, between and after the retirement
    rows = {d: json.loads(ok(target, "query", "run", "inspection-accountability", "--at", d, "--format",
                             "json").stdout) for d in (D1, D2, D3)}
    assert [("I2" in {r["inspection_id"] for r in rows[d]}) for d in (D1, D2, D3)] == [True, False, True]


def test_history_masks_personal_values_unless_asked(target, tmp_path):
    r1 = survey_records()
    r2 = copy.deepcopy(r1)
    next(i for i in r2["Inspection"] if i["inspection_id"] == "I2")["inspectors"] = ["孙七"]
    load(target, write_variant(r1, tmp_path / "a.xlsx", "xlsx"), D1)
    load(target, write_variant(r2, tmp_path / "b.xlsx", "xlsx"), D2)
    [h] = history(target, "I2")
    assert h["events"][1]["changes"] == {"inspectors": ["（已隐藏）", "（已隐藏）"]}
    [h] = history(target, "I2", "--include-personal")
    assert h["events"][1]["changes"] == {"inspectors": [["赵六"], ["孙七"]]}
    assert "赵六" not in ok(target, "history", "I2").stdout


def test_a_late_ledger_adds_history_and_keeps_the_newer_value(target, tmp_path):
    r1 = survey_records()
    r3 = copy.deepcopy(r1)
    next(h for h in r3["Hazard"] if h["hazard_id"] == "H2")["status"] = "已整改"
    late = copy.deepcopy(r1)
    next(h for h in late["Hazard"] if h["hazard_id"] == "H2")["status"] = "整改中"
    load(target, write_variant(r1, tmp_path / "r1.xlsx", "xlsx"), D1)
    load(target, write_variant(r3, tmp_path / "r3.xlsx", "xlsx"), D3)
    load(target, write_variant(late, tmp_path / "late.xlsx", "xlsx"), D2)  # arrives last, dated between
    [h2] = history(target, "H2")
    assert [(e["survey_date"], e["event"]) for e in h2["events"]] == [(D1, "created"), (D2, "late"),
                                                                      (D3, "updated")]
    assert h2["events"][1]["changes"] == {"status": ["未整改", "整改中"]} and h2["events"][1]["file"] == "late.xlsx"
    assert h2["events"][2]["current"] and h2["events"][2]["changes"] == {"status": ["整改中", "已整改"]}
    assert "补录" in ok(target, "history", "H2").stdout
    # the current graph keeps round 3's value; the state at D2 is the late ledger's
    assert diff(target, D1, D2, "-q", "major-hazards-open")["records"] == {
        "隐患": {"added": [], "retired": [], "changed": {"H2": {"status": ["未整改", "整改中"]}}}}
    assert diff(target, D2, D3, "-q", "major-hazards-open")["records"]["隐患"]["changed"] == {
        "H2": {"status": ["整改中", "已整改"]}}


def test_the_same_record_from_two_sources(target, tmp_path):
    """Pruning source A does not retire a record whose current version came from B; pruning B does."""
    base = survey_records()
    load(target, write_variant(base, tmp_path / "a1.xlsx", "xlsx"), D1, source="A")
    b_i2 = copy.deepcopy(next(i for i in base["Inspection"] if i["inspection_id"] == "I2"))
    b_i2["document_no"] = "荫安〔2025〕3号"
    load(target, write_variant({"Inspection": [b_i2]}, tmp_path / "b.xlsx", "xlsx"), D2, source="B")
    a2 = copy.deepcopy(base)
    a2["Inspection"] = [i for i in a2["Inspection"] if i["inspection_id"] != "I2"]
    load(target, write_variant(a2, tmp_path / "a2.xlsx", "xlsx"), D3, source="A", prune=True)
    [i2] = history(target, "I2")
    assert [(e["event"], e["source"]) for e in i2["events"]] == [("created", "A"), ("updated", "B")]
    assert i2["present"]
    load(target, write_variant({"Inspection": []}, tmp_path / "b2.xlsx", "xlsx"), "2025-04-15", source="B",
         prune=True)
    [i2] = history(target, "I2")
    assert [(e["event"], e["source"]) for e in i2["events"]][-1] == ("retired", "B") and not i2["present"]
    assert diff(target, D3, "2025-04-15", "-q", "inspection-accountability")["records"] == {
        "检查记录": {"added": [], "retired": ["I2"], "changed": {}}}


def test_before_the_first_version_and_unknown_keys(target, tmp_path):
    three_loads(target, tmp_path)
    r = sg(target, "query", "run", "--all", "--at", "2024-12-31", "--format", "json")
    assert r.returncode == 0 and all(q["rows"] == 0 for q in json.loads(r.stdout))
    d = diff(target, "2024-12-31", D1, "-q", "major-hazards-open")
    assert len(d["records"]["企业"]["added"]) == 6 and d["queries"]["major-hazards-open"]["resolved"] == []
    r = sg(target, "brief", "I2", "--at", "2024-12-31", "--out", str(tmp_path / "x.html"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    r = sg(target, "history", "H3")
    assert r.returncode == 1 and "没有键为 'H3' 的记录" in r.stderr and "H1" in r.stderr and "Traceback" not in r.stderr
    r = sg(target, "history", E1[:-1] + "0", "--lang", "en")
    assert r.returncode == 1 and "did you mean" in r.stderr and E1 in r.stderr
    r = sg(target, "history", "h2")  # the case slipped: the one certain answer
    assert r.returncode == 1 and "H2" in r.stderr


def test_usage_errors_of_diff_and_trend(target, tmp_path):
    three_loads(target, tmp_path)
    r = sg(target, "diff", "--from", D3, "--to", D1)
    assert r.returncode == 2 and "晚于" in r.stderr and "Traceback" not in r.stderr
    r = sg(target, "diff", "--from", D3, "--to", D1, "--lang", "en")
    assert r.returncode == 2 and "is after" in r.stderr
    r = sg(target, "diff", "--from", "yesterday", "--to", D1)
    assert r.returncode == 1 and "不是日期" in r.stderr
    r = sg(target, "diff", "--from", D1, "--to", D2, "-q", "major-hazard-open")
    assert r.returncode == 1 and "major-hazards-open" in r.stderr
    r = sg(target, "trend", "major-hazards-open")
    assert r.returncode == 2 and "--every" in r.stderr
    r = sg(target, "trend", "major-hazards-open", "--every", "month", "--from", D3, "--to", D1)
    assert r.returncode == 2 and "晚于" in r.stderr
    r = sg(target, "trend", "major-hazards-open", "--at", D1, "--chart", str(tmp_path / "c.gif"))
    assert r.returncode == 2 and not (tmp_path / "c.gif").exists()


def test_diff_workbook_for_a_county_office(target, tmp_path):
    from openpyxl import load_workbook

    three_loads(target, tmp_path)
    out = tmp_path / "diff.xlsx"
    ok(target, "diff", "--from", D1, "--to", D2, "--out", str(out))
    wb = load_workbook(out)
    assert wb.sheetnames[:2] == ["汇总", "说明"] and "记录变化" in wb.sheetnames
    summary = [[c.value for c in row] for row in wb["汇总"].iter_rows()]
    header = next(i for i, r in enumerate(summary) if r[0] == "编号")
    by_id = {r[0]: r for r in summary[header + 1:]}
    assert by_id["major-hazards-open"][2:5] == [1, 0, 0]
    sheet = [[c.value for c in row] for row in wb["重大事故隐患未清零"].iter_rows()]
    assert ["变化", "隐患编号"] in sheet and ["新增", "H2"] in sheet
    changes = [[c.value for c in row] for row in wb["记录变化"].iter_rows()]
    assert ["工作表", "键", "变化", "字段", "原值", "新值"] in changes
    assert ["隐患", "H2", "变更", "隐患等级", "一般", "重大"] in changes
    assert ["检查记录", "I2", "退出", None, None, None] in changes


def test_trend_rows_and_chart(target, tmp_path):
    three_loads(target, tmp_path)
    tr = json.loads(ok(target, "trend", "major-hazards-open", "--at", f"{D1},{D3},{D2}", "--format",
                       "json").stdout)
    assert [(p["date"], p["rows"]) for p in tr["points"]] == [(D1, 0), (D2, 1), (D3, 1)]
    r = ok(target, "trend", "inspection-accountability", "--every", "month", "--from", "2024-12-15", "--to", D3,
           "--format", "json")
    assert "2024-12-15 早于第一次导入" in r.stderr  # an empty state, said in one line
    tr = json.loads(r.stdout)
    assert [(p["date"], p["rows"]) for p in tr["points"]] == [("2024-12-15", 0), (D1, 1), (D2, 0), (D3, 1)]
    tr = json.loads(ok(target, "trend", "rectification-rate", "--at", f"{D1},{D3}", "--format", "json").stdout)
    assert tr["group_columns"] == ["county"] and {g["county"] for g in tr["points"][0]["groups"]} == {"郊区", "城区"}
    png, svg = tmp_path / "t.png", tmp_path / "t.svg"
    ok(target, "trend", "rectification-rate", "--every", "week", "--from", D1, "--to", D2, "--chart", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ok(target, "trend", "major-hazards-open", "--at", f"{D1},{D2}", "--chart", str(svg))
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_help_of_the_history_commands_fits_80_columns(tmp_path):
    import os
    import unicodedata

    from conftest import run_cli

    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "80"}
    for cmd in ("history", "diff", "trend"):
        p = run_cli(cmd, "-h", env=env)
        assert p.returncode == 0 and "--lang" in p.stdout, p.stderr
        assert "…" not in p.stdout, p.stdout  # no Chinese cut short
        width = max(sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
                    for line in p.stdout.splitlines())
        assert width <= 80, cmd


def test_history_shows_a_party_merge_on_both_sides(target, tmp_path):
    """A 临时编码 P merged into its USCC U by a later ledger (the parties work, docs/parties.md):
    P's history ends with 合并为 U, U's shows 由 P 合并, and `diff` sees P leave and U arrive."""
    from test_parties import D1 as M1, D2 as M2, P1, U1, ledger1, ledger2, write

    load(target, write(tmp_path / "1月.xlsx", ledger1()), M1.isoformat(), source="荫营镇")
    load(target, write(tmp_path / "2月.xlsx", ledger2()), M2.isoformat(), source="荫营镇")
    [p] = history(target, P1)
    assert [(e["survey_date"], e["event"]) for e in p["events"]] == [(M1.isoformat(), "created"),
                                                                     (M2.isoformat(), "merged_into")]
    assert p["events"][-1]["other"] == U1 and not p["present"]
    [u] = history(target, U1)
    assert (M2.isoformat(), "merged_from", P1) in [(e["survey_date"], e["event"], e.get("other")) for e in u["events"]]
    assert any(e["event"] == "created" and e["current"] for e in u["events"])
    table = ok(target, "history", P1).stdout
    assert f"合并为 {U1}" in table
    assert f"由 {P1} 合并" in ok(target, "history", U1).stdout
    d = diff(target, M1.isoformat(), M2.isoformat(), "-q", "unregistered-parties")
    assert P1 in d["records"]["企业"]["retired"] and U1 in d["records"]["企业"]["added"]
