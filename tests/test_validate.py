"""Row models, cross-sheet checks against the graph, messages, and `sitegraph validate`."""
from __future__ import annotations

import csv
import json
import re
import string

import pytest
from openpyxl import load_workbook

from conftest import run_cli
from graphmodel.schema import NODE_TYPES, Kind
from ledgers import (
    BAD_CHECK, E1, E2, E3, E4, E5, rows_of, seed, sg, survey_records, workbook,
)
from loaders.messages import MESSAGES, Problem
from loaders.rows import ROW_MODELS, check_row
from loaders.survey import check


def codes(checked):
    return sorted((p.code, p.row, p.column) for p in checked.problems)


# --- row models ------------------------------------------------------------------------

def test_one_row_model_per_sheet_derived_from_the_schema():
    assert set(ROW_MODELS) == {nt.label for nt in NODE_TYPES}
    for nt in NODE_TYPES:
        model = ROW_MODELS[nt.label]
        fields = model.model_fields
        assert list(fields) == [c.key for c in nt.columns]
        for c in nt.columns:
            f = fields[c.key]
            # a key with an alternative (企业: USCC or 临时编码) is checked by loaders/parties.py
            assert f.is_required() == (c.required and not (nt.alt_key and c is nt.key_column)), (nt.label, c.key)
            assert f.title == c.header
        schema = model.model_json_schema()
        for c in nt.columns:
            if c.kind is Kind.ENUM:
                prop = schema["properties"][c.key]
                enums = prop.get("enum") or next(x["enum"] for x in prop["anyOf"] if "enum" in x)
                assert tuple(enums) == c.enum


def test_row_model_types_and_required_fields():
    nt = next(n for n in NODE_TYPES if n.label == "Dispatch")
    ok = check_row(nt, {"dispatch_id": " D9 ", "agency_uscc": E1.lower(), "host_uscc": E2, "workers": "１２",
                        "position_nature": "辅助性", "months": "6"})
    assert ok.ok and ok.values["workers"] == 12 and ok.values["agency_uscc"] == E1 and ok.values["dispatch_id"] == "D9"
    bad = check_row(nt, {"dispatch_id": "D9", "agency_uscc": E1, "host_uscc": "", "workers": "-1",
                         "position_nature": "核心"})
    assert sorted((p.key, p.code) for p in bad.problems) == [
        ("host_uscc", "VALUE_REQUIRED"), ("position_nature", "BAD_ENUM"), ("workers", "NEGATIVE")]
    assert bad.values["agency_uscc"] == E1  # the readable cells are still read, for the checks across rows


# --- messages --------------------------------------------------------------------------------

def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_problem_has_a_chinese_and_an_english_text(code):
    m = MESSAGES[code]
    assert m.severity in ("error", "warning") and m.zh and m.en
    assert re.search(r"[\u4e00-\u9fff]", m.zh)
    norm = lambda fs: {re.sub(r"_(zh|en)$", "", f) for f in fs}
    assert norm(_fields(m.zh)) == norm(_fields(m.en)), code


def test_problem_names_column_in_each_language():
    p = Problem("BAD_DATE", "s.xlsx", "租赁", 7, column="end_date", header="到期日期", value="明年")
    assert p.as_dict()["column"] == "到期日期" and p.as_dict("en")["column"] == "end_date"
    assert "不是有效日期" in p.reason() and "not a valid date" in p.reason("en")
    assert p.where() == "s.xlsx › 租赁 第7行 「到期日期」"


# --- checks across sheets and against the graph -----------------------------------------------

def test_survey_rows_are_checked_against_each_other_without_a_graph(tmp_path):
    recs = survey_records()
    c = check(workbook(tmp_path / "s.xlsx", {"租赁": rows_of("Tenancy", recs["Tenancy"])}))
    # no graph: parties and buildings are unknown
    assert {p.code for p in c.errors} == {"REF_UNRESOLVED"}
    assert {p.column for p in c.errors} == {"lessor_uscc", "lessee_uscc", "building_id"}
    assert c.records == {}


def test_references_resolve_to_records_in_the_graph(graph, tmp_path):
    seed(graph)
    recs = survey_records()
    path = workbook(tmp_path / "s.xlsx", {"租赁": rows_of("Tenancy", [dict(recs["Tenancy"][0], tenancy_id="T9")]),
                                          "检查记录": rows_of("Inspection", [dict(recs["Inspection"][0],
                                                                            inspection_id="I9", hazard_ids=["H1", "H9"])])})
    c = check(path, graph)
    assert codes(c) == [("REF_UNRESOLVED", 2, "hazard_ids")]
    assert c.errors[0].value == "H9"


def test_a_lessor_may_be_the_owner_or_a_lessee_in_the_graph(graph, tmp_path):
    seed(graph)  # B1 owned by E1; T1 E1→E3 and T2 E3→E4 on B1
    base = survey_records()["Tenancy"][2]
    rows = [dict(base, tenancy_id="T20", lessor_uscc=E1, lessee_uscc=E5, building_id="B1"),  # owner
            dict(base, tenancy_id="T21", lessor_uscc=E4, lessee_uscc=E5, building_id="B1"),  # lessee via T2
            dict(base, tenancy_id="T22", lessor_uscc=E2, lessee_uscc=E5, building_id="B1")]  # neither
    c = check(workbook(tmp_path / "s.xlsx", {"租赁": rows_of("Tenancy", rows)}), graph)
    assert codes(c) == [("LESSOR_NOT_ENTITLED", 4, "lessor_uscc")]
    # the same chain handed in whole, within the survey
    own = dict(base, tenancy_id="T23", lessor_uscc=E2, lessee_uscc=E3, building_id="B2")
    sub = dict(base, tenancy_id="T24", lessor_uscc=E3, lessee_uscc=E4, building_id="B2")
    assert check(workbook(tmp_path / "t.xlsx", {"租赁": rows_of("Tenancy", [sub, own])}), graph).ok


def test_a_survey_row_overrides_the_graph_in_the_checks(graph, tmp_path):
    """Re-parenting: the graph has YQ-P2 under YQ-P1; the survey moves YQ-P2 out and YQ-P1 under it."""
    seed(graph)
    sites = survey_records()["Site"]
    rows = [dict(sites[0], parent_site_id="YQ-P2"), dict(sites[1], parent_site_id=None)]
    assert check(workbook(tmp_path / "s.xlsx", {"园区厂区": rows_of("Site", rows)}), graph).ok


def test_a_record_from_another_survey_is_a_warning(graph, tmp_path):
    seed(graph, source="郊区")
    ents = survey_records()["Enterprise"]
    c = check(workbook(tmp_path / "城区.xlsx", {"企业": rows_of("Enterprise", ents)}), graph)
    # one warning for the sheet, not one per row
    assert c.ok and [(p.code, p.row, p.params["other"], p.params["count"]) for p in c.warnings] == [
        ("KEY_OTHER_SOURCE", 2, "郊区", 6)]
    assert c.warnings[0].value == "、".join(e["uscc"] for e in ents[:3]) + "…"
    assert "6 条记录" in c.warnings[0].reason()


# --- the command ---------------------------------------------------------------------------------

def _env(tmp_path):
    import os

    return {**os.environ, "PYTHONIOENCODING": "utf-8", "SITEGRAPH_DB": str(tmp_path / "absent.db")}


def test_validate_lists_every_problem_and_writes_the_report(tmp_path):
    recs = survey_records()
    ent = [dict(recs["Enterprise"][0]), dict(recs["Enterprise"][1], uscc=BAD_CHECK)]
    rows = rows_of("Enterprise", ent)
    rows[1][rows[0].index("行业")] = "=HYPERLINK(\"http://x\")"
    rows[2][rows[0].index("劳动合同用工人数")] = "很多"
    path = workbook(tmp_path / "城区.xlsx", {"企业": rows, "备注": [["x"]]})
    report = tmp_path / "问题清单.xlsx"
    r = run_cli("validate", str(path), "--format", "json", "--report", str(report), env=_env(tmp_path))
    assert r.returncode == 1
    got = [(p["code"], p["row"], p["column"], p["severity"]) for p in json.loads(r.stdout)]
    # errors first, then warnings; each in file order
    assert got == [("BAD_ENUM", 2, "行业", "error"), ("BAD_INT", 3, "劳动合同用工人数", "error"),
                   ("SHEET_UNKNOWN", None, "", "warning"), ("USCC_CHECK", 3, "统一社会信用代码", "warning")]
    assert "2 个错误" in r.stderr
    ws = load_workbook(report).active
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    assert cells[0] == ["级别", "文件", "工作表", "行号", "列", "填写内容", "问题说明", "代码"]
    bad_enum = next(row for row in cells if row[-1] == "BAD_ENUM")
    assert bad_enum[:5] == ["错误", "城区.xlsx", "企业", 2, "行业"]
    assert bad_enum[5].startswith("'=HYPERLINK")  # never a live formula in the team's report
    assert "冶金" in bad_enum[6]


def test_validate_warnings_only_exits_0_english_csv_report(tmp_path):
    ent = dict(survey_records()["Enterprise"][0], uscc=BAD_CHECK)
    path = workbook(tmp_path / "s.xlsx", {"企业": rows_of("Enterprise", [ent])})
    report = tmp_path / "problems.csv"
    r = run_cli("validate", str(path), "--lang", "en", "--report", str(report), env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "check character" in r.stdout and "0 error(s), 1 warning(s)" in r.stderr
    raw = report.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [(x["severity"], x["row"], x["column"], x["code"]) for x in rows] == [("warning", "2", "uscc", "USCC_CHECK")]


def test_validate_checks_references_against_the_named_graph(target, tmp_path):
    seed(target)
    t = dict(survey_records()["Tenancy"][0], tenancy_id="T9", lessee_uscc=E5)
    path = workbook(tmp_path / "s.xlsx", {"租赁": rows_of("Tenancy", [t])})
    r = sg(target, "validate", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 个错误" in r.stderr
    r = run_cli("validate", str(path), "--format", "json", env=_env(tmp_path))  # no graph at hand
    assert r.returncode == 1
    assert {p["column"] for p in json.loads(r.stdout)} == {"出租方", "承租方", "建筑编码"}


def test_validate_writes_nothing(target, tmp_path):
    path = workbook(tmp_path / "s.xlsx", {"企业": rows_of("Enterprise", survey_records()["Enterprise"])})
    r = sg(target, "validate", str(path))
    assert r.returncode == 0
    b = target.open()
    try:
        assert b.info()["nodes"]["Enterprise"] == 0
    finally:
        b.close()
