"""Ledgers as township offices keep them (real-ledgers.md, issue 14): title rows, two-row
headers, 序号, header synonyms and units, units in cells, sheets not named by sitegraph.

Each office-shaped ledger is loaded next to the same survey in the plain format, into two
temporary stores: the graphs must be the same (every property, every relationship).
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from conftest import backends, empty_target, run_cli
from graphmodel.schema import NODES
from ledgers import E1, E3, survey_records, workbook, write_variant
from loaders.readers import open_survey
from loaders.survey import check, load
from loaders.template import default_cell
from reliability_helpers import dump

def _col(label: str, key: str, header: str | None = None, fn=None):
    """One column of an office sheet: its header (default: the schema's) and its cell."""
    c = NODES[label].column(key)
    return ("col", header or c.header, (lambda r: fn(r[key]) if r[key] is not None else None) if fn
            else (lambda r: default_cell(c, r[key], excel=True)))


def _spec(label: str, headers: dict | None = None, cells: dict | None = None,
          groups: dict | None = None) -> list:
    """Every column of the sheet in schema order; `groups` = {first key: (group, [(sub header, key or
    (key, fn of the record))])} replaces the keys it names by a merged group cell over its sub-headers."""
    headers, cells, groups = headers or {}, cells or {}, groups or {}
    grouped = {k if isinstance(k, str) else k[0] for _, subs in groups.values() for _, k in subs}
    out = [("col", "序号", None)]
    for c in NODES[label].columns:
        if c.key in groups:
            name, subs = groups[c.key]
            out.append(("group", name, [(h, _col(label, k, None, cells.get(k))[2] if isinstance(k, str) else k[1])
                                        for h, k in subs]))
        elif c.key not in grouped:
            out.append(_col(label, c.key, headers.get(c.key), cells.get(c.key)))
    return out


def _office_sheet(wb: Workbook, title: str, spec: list, records: list[dict], *, heading: str) -> None:
    """Title rows, a (two-row when grouped) header, 序号, then the rows."""
    ws = wb.create_sheet(title)
    flat = []  # (header row 1, header row 2 or None, cell function)
    for item in spec:
        if item[0] == "col":
            flat.append((item[1], None, item[2]))
        else:
            for j, (sub, fn) in enumerate(item[2]):
                flat.append((item[1] if j == 0 else None, sub, fn))
    width = len(flat)
    two = any(item[0] == "group" for item in spec)
    ws.cell(1, 1, heading)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(2, 1, "填报单位：郊区应急管理局（盖章）")
    ws.cell(2, max(2, width - 2), "填报日期：2024年11月30日")
    top = 4  # row 3 is blank
    for j, (h1, h2, _) in enumerate(flat, 1):
        if h1 is not None:
            ws.cell(top, j, h1)
        if two and h2 is not None:
            ws.cell(top + 1, j, h2)
    if two:
        j = 1
        for item in spec:
            n = 1 if item[0] == "col" else len(item[2])
            if item[0] == "col":
                ws.merge_cells(start_row=top, start_column=j, end_row=top + 1, end_column=j)
            elif n > 1:
                ws.merge_cells(start_row=top, start_column=j, end_row=top, end_column=j + n - 1)
            j += n
    first = top + (2 if two else 1)
    for i, r in enumerate(records, 1):
        for j, (h1, _, fn) in enumerate(flat, 1):
            ws.cell(first + i - 1, j, i if h1 == "序号" else fn(r))
    ws.column_dimensions[get_column_letter(1)].width = 6


def office_workbook(path: Path) -> Path:
    recs = survey_records()
    wb = Workbook()
    wb.remove(wb.active)
    _office_sheet(wb, "企业", _spec("Enterprise", headers={
        "uscc": "统一社会信用代码*", "name": "企业（单位）名称", "county": "县（区）", "township": "乡镇（街道）",
        "address": "实际经营\n地址", "principal": "法定代表人", "phone": "联系方式",
        "contract_workers": "从业人员数（人）", "safety_staff": "专职安全管理人员数（人）",
    }, cells={"contract_workers": lambda v: f"{v}人", "safety_staff": lambda v: f"{v} 人"}),
        recs["Enterprise"], heading="郊区工贸企业排查台账（2024年11月）")
    _office_sheet(wb, "园区厂区", _spec("Site"), recs["Site"], heading="园区厂区登记表")
    _office_sheet(wb, "建筑", _spec("Building", headers={
        "owner_uscc": "房屋产权单位", "floor_area": "建筑面积(㎡)", "floors": "层数（层）",
    }, cells={"floor_area": lambda v: f"{v:g}㎡" if v > 1000 else f"{v:g} m2", "floors": lambda v: f"{v}层"}),
        recs["Building"], heading="建筑信息表")
    _office_sheet(wb, "出租情况", _spec("Tenancy", headers={
        "lessee_uscc": "承租单位", "area": "出租面积（平方米）", "workers": "入驻员工数", "purpose": "用途",
    }, cells={"area": lambda v: f"{v}平方米", "workers": lambda v: f"{v}人"},
        groups={"lessor_uscc": ("出租方", [("名称", (None, lambda r: "阳泉某公司")), ("统一社会信用代码", "lessor_uscc")])}),
        recs["Tenancy"], heading="厂房出租情况台账")
    _office_sheet(wb, "外包外委", _spec("Contract"), recs["Contract"], heading="外包外委合同台账")
    _office_sheet(wb, "劳务派遣用工", _spec("Dispatch", headers={"months": "用工期限（月）"},
                                         cells={"months": lambda v: f"{v}个月"}),
                  recs["Dispatch"], heading="劳务派遣用工台账")
    _office_sheet(wb, "高风险作业", _spec("Operation", headers={"workers": "作业人数（人）"}), recs["Operation"],
                  heading="高风险场所作业台账")
    status = {"未整改": "未完成", "整改中": "正在整改", "已整改": "已完成", "已销号": "已闭环"}
    _office_sheet(wb, "Sheet1", _spec("Hazard", headers={
        "uscc": "责任单位", "description": "存在问题", "level": "隐患级别", "found_on": "发现\n时间",
        "status": "整改情况",
    }, cells={"level": lambda v: v + "隐患", "status": status.get},
        groups={"responsible_person": ("五落实", [
            ("责任人", "responsible_person"), ("整改措施", "measures"),
            ("整改资金（元）", ("funds", lambda r: int(r["funds"] * 10_000) if r["funds"] is not None else None)),
            ("整改期限", "deadline"), ("应急预案", "contingency_plan")])}),
        recs["Hazard"], heading="隐患排查治理台账")
    _office_sheet(wb, "检查记录", _spec("Inspection", headers={
        "date": "检查时间", "inspectors": "检查人", "uscc": "被检查单位"}), recs["Inspection"], heading="执法检查记录")
    wb.save(path)
    return path


def _graph(path: Path, request, tmp: Path, kind: str = "embedded") -> dict:
    """Load a ledger into a new store; the whole graph without where each record was read."""
    t = empty_target(kind, request, tmp)
    with t.open(write=True) as b:
        load(path, b, source="荫营镇")
        d = dump(b, load_stamps=False)
    for label in NODES:
        d[label] = sorted(json.dumps({k: v for k, v in json.loads(x).items()
                                      if k not in ("src_file", "src_sheet", "src_row")},
                                     ensure_ascii=False, sort_keys=True) for x in d[label])
    return d


def _codes(checked) -> list[tuple]:
    return [(p.code, p.sheet, p.row, p.column) for p in checked.problems]


@pytest.mark.parametrize("kind", backends())
def test_office_workbook_loads_as_the_plain_one(tmp_path, request, kind):
    office = office_workbook(tmp_path / "荫营镇台账.xlsx")
    c = check(office)
    assert c.ok, [(p.code, p.sheet, p.row, p.column, p.reason()) for p in c.errors]
    got = {(p.code, p.sheet, p.row, p.column) for p in c.problems}
    assert ("SHEET_TAKEN_AS", "Sheet1", None, None) in got and ("SHEET_TAKEN_AS", "劳务派遣用工", None, None) in got
    taken = {p.sheet: p.reason() for p in c.problems if p.code == "SHEET_TAKEN_AS"}
    assert taken["Sheet1"].startswith("已按“隐患”表读取（按列名识别")
    assert taken["劳务派遣用工"] == "已按“劳务派遣”表读取（表名含“劳务派遣”）"
    assert taken["出租情况"] == "已按“租赁”表读取（按列名识别，24 列相符）"
    # 出租方 › 名称: the party by its name where its code is blank (here every code is there)
    assert not [p for p in c.problems if p.code == "COLUMN_UNKNOWN"] and not c.not_imported
    with open_survey(office) as s:
        ten = next(sh for sh in s.sheets if sh.label == "Tenancy")
        assert ten.columns["lessor_uscc"] == 3 and ten.fallback == {"lessor_uscc": 2}
    sheets = {s.sheet: s for s in c.sheets}
    assert [(s.label, s.rows) for s in c.sheets] == [(l, len(r)) for l, r in survey_records().items()]
    assert sheets["Sheet1"].label == "Hazard"
    plain = write_variant(survey_records(), tmp_path / "plain.xlsx", "xlsx")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    got = _graph(office, request, tmp_path / "a", kind)
    assert sum(len(got[label]) for label in NODES) == sum(len(r) for r in survey_records().values())
    assert got["HAS_HAZARD:Enterprise->Hazard"] and got["LESSOR_OF:Enterprise->Tenancy"]
    assert got == _graph(plain, request, tmp_path / "b", kind)


def _office_csv(folder: Path, plain: Path) -> Path:
    """The plain CSV ledger as an office keeps it: title lines, 序号, synonyms, GB18030."""
    folder.mkdir()
    synonyms = {"统一社会信用代码": "社会信用代码", "企业名称": "单位名称", "乡镇街道": "乡镇（街道）",
                "隐患描述": "隐患内容", "发现日期": "排查日期", "整改状态": "治理状态",
                "专职安全管理人员数": "专职安全管理\n人员数（人）", "建筑面积": "建筑面积（m²）"}
    import csv
    import io

    for f in sorted(plain.glob("*.csv")):
        rows = list(csv.reader(io.StringIO(f.read_text(encoding="utf-8-sig"), newline="")))
        head = ["序号"] + [synonyms.get(h, h) for h in rows[0]]
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow([f"郊区{f.stem}台账（2024年11月）"] + [""] * (len(head) - 1))
        w.writerow(["填报单位：荫营镇安监站", "", "填报日期：2024-11-30"] + [""] * (len(head) - 3))
        w.writerow([])
        w.writerow(head)
        for i, r in enumerate(rows[1:], 1):
            w.writerow([str(i)] + r)
        (folder / f.name).write_bytes(out.getvalue().encode("gb18030"))
    return folder


def test_csv_with_title_lines_in_gb18030_loads_as_the_plain_one(tmp_path, request):
    plain = tmp_path / "plain"
    write_variant(survey_records(), plain, "csv")
    office = _office_csv(tmp_path / "office", plain)
    assert "社会信用代码" in (office / "企业.csv").read_bytes().decode("gb18030")
    c = check(office)
    # the 填报日期 of the title lines is offered as the survey date (once), never used
    assert c.ok and [(p.code, p.sheet, p.row) for p in c.problems] == [("TITLE_DATE", "企业", 2)], \
        [(p.code, p.sheet, p.row, p.reason()) for p in c.problems]
    assert c.problems[0].reason() == "标题行中写有日期 2024-11-30：未用作调查日期；如这是本次排查的调查日期，导入时请加 --date 2024-11-30"
    with open_survey(office) as s:
        assert {sh.sheet: (sh.encoding, sh.header_row) for sh in s.sheets}["企业"] == ("gb18030", 4)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    got = _graph(office, request, tmp_path / "a")
    assert sum(len(got[label]) for label in NODES) == sum(len(r) for r in survey_records().values())
    assert got == _graph(plain, request, tmp_path / "b")


# --- headers --------------------------------------------------------------------------------

HEAD = ["统一社会信用代码", "企业名称", "行业", "县区", "乡镇街道"]


def _ent(uscc=E1, name="甲公司"):
    return [uscc, name, "冶金", "郊区", "荫营镇"]


def test_title_area_longer_than_ten_rows_is_an_error_naming_the_row(tmp_path):
    rows = [["郊区企业台账"]] + [[f"说明第{i}条"] for i in range(11)] + [HEAD, _ent()]
    c = check(workbook(tmp_path / "s.xlsx", {"企业": rows}))
    assert not c.ok
    (p,) = c.errors
    assert (p.code, p.sheet, p.row) == ("HEADER_TOO_DEEP", "企业", 13)
    assert "表头在第 13 行" in p.reason() and "超过 10 行" in p.reason()
    assert "row 13" in p.reason("en")


def test_two_rows_that_both_look_like_the_header_are_an_error(tmp_path):
    c = check(workbook(tmp_path / "s.xlsx", {"企业": [["企业台账"], HEAD, _ent(), HEAD, _ent(E3, "乙公司")]}))
    (p,) = c.errors
    assert (p.code, p.row) == ("HEADER_AMBIGUOUS", 2)
    assert p.reason() == "无法确定表头：第 2 行和第 4 行都像表头（各有 5 个可识别的列名），请删去其中一行"


def test_header_unit_the_column_cannot_take(tmp_path):
    head = [NODES["Building"].column(k).header for k in ("building_id", "name", "owner_uscc", "county", "township")]
    rows = [head + ["建筑面积（万元）"], ["B1", "厂房", E1, "郊区", "荫营镇", 3]]
    c = check(workbook(tmp_path / "s.xlsx", {"建筑": rows}))
    p = next(p for p in c.errors if p.code == "HEADER_UNIT")
    assert (p.row, p.header) == (1, "建筑面积")
    assert p.reason() == "列名中的单位“万元”与本列不符：本列单位为㎡"
    assert not c.sheets  # a sheet whose header is wrong is not read at all


# --- cells -----------------------------------------------------------------------------------

def _hazard_book(tmp_path, **cells) -> Path:
    h = dict(hazard_id="H1", uscc=E1, description="灭火器过期", level="一般", found_on="2024-11-12", status="未整改")
    h.update(cells)
    nt = NODES["Hazard"]
    keys = list(h)
    return workbook(tmp_path / "s.xlsx", {
        "企业": [HEAD, _ent()],
        "隐患": [[nt.column(k).header for k in keys], [h[k] for k in keys]],
    })


@pytest.mark.parametrize("cells,key,zh,en", [
    ({"found_on": "2024-02-30"}, "found_on", "2024年2月没有30日", "February 2024 has no day 30"),
    ({"found_on": "2023年2月29日"}, "found_on", "2023年2月没有29日", "February 2023 has no day 29"),
    ({"found_on": "2024/13/01"}, "found_on", "没有13月：月份应为 1 至 12", "there is no month 13: months are 1 to 12"),
    ({"status": "已消号"}, "status", "是否为“已销号”？不是允许的取值，应为：未整改、整改中、已整改、已销号",
     "did you mean '已销号'? not an allowed value; one of: 未整改、整改中、已整改、已销号"),
    ({"funds": "5万"}, None, None, None),
    ({"funds": "3000美元"}, "funds", "请只填数字，单位为万元", "write the number only; the unit is 万元"),
])
def test_cell_messages_that_help_a_clerk(tmp_path, cells, key, zh, en):
    c = check(_hazard_book(tmp_path, **cells))
    if key is None:
        assert c.ok and c.records["Hazard"][0]["funds"] == 5.0
        return
    (p,) = c.errors
    assert (p.row, p.column) == (2, key)
    assert p.reason() == zh and p.reason("en") == en


def test_units_in_cells_and_enum_synonyms(tmp_path):
    c = check(_hazard_book(tmp_path, funds="50000元", level="重大事故隐患", status="整改中（未完成）"))
    assert c.ok, [p.reason() for p in c.errors]
    h = c.records["Hazard"][0]
    assert (h["funds"], h["level"], h["status"]) == (5.0, "重大", "整改中")
    head = HEAD + ["专职安全管理人员数（人）", "劳动合同用工人数"]
    c = check(workbook(tmp_path / "u.xlsx", {"企业": [head, _ent() + ["10人", "12个"]]}))
    (p,) = c.errors
    assert (p.code, p.column, p.reason()) == ("BAD_UNIT", "contract_workers", "请只填数字，单位为人")


# --- nothing dropped silently ------------------------------------------------------------------

def _with_extras(tmp_path) -> Path:
    return workbook(tmp_path / "城区.xlsx", {
        "企业": [HEAD + ["备注", None], _ent() + ["老厂", None], _ent(E3, "乙公司") + ["新厂", "手写"]],
        "汇总": [["合计", 2], ["说明", "见附件"]],
        "空白": [],
    })


def test_what_was_not_imported_is_counted(tmp_path):
    c = check(_with_extras(tmp_path))
    assert c.ok
    got = {(p.code, p.sheet, p.params.get("cells")) for p in c.not_imported}
    assert got == {("COLUMN_UNKNOWN", "企业", 2), ("COLUMN_UNNAMED", "企业", 1), ("SHEET_UNKNOWN", "汇总", 4)}
    strict = check(_with_extras(tmp_path), strict=True)
    assert not strict.ok and {p.code for p in strict.errors} == {"COLUMN_UNKNOWN", "COLUMN_UNNAMED", "SHEET_UNKNOWN"}
    assert not strict.records


def test_validate_and_load_say_what_was_not_imported(tmp_path):
    path = _with_extras(tmp_path)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "SITEGRAPH_DB": str(tmp_path / "absent.db"), "COLUMNS": "100"}
    r = run_cli("validate", str(path), env=env)
    assert r.returncode == 0, r.stderr
    assert "未导入：表“汇总”（4 个单元格）；“企业”表的“备注”列（2 个单元格）；“企业”表的“G”列（1 个单元格）" in r.stderr
    assert "无法识别的列，未导入（该列有 2" in r.stdout
    report = tmp_path / "问题清单.xlsx"
    r = run_cli("validate", str(path), "--strict", "--lang", "en", "--report", str(report), env=env)
    assert r.returncode == 1
    assert "not imported: sheet 汇总 (4 cell(s)); 企业 column 备注 (2 cell(s)); 企业 column G (1 cell(s)) " \
           "(errors with --strict)" in r.stderr
    rows = [[c.value for c in row] for row in load_workbook(report).active.iter_rows()]
    sheet = next(row for row in rows if row[-1] == "SHEET_UNKNOWN")
    assert sheet[:3] == ["error", "城区.xlsx", "汇总"]
    assert sheet[6].startswith("unknown sheet or file, not imported (4 non-blank cells; known names: 企业")
    assert {row[-1] for row in rows[1:] if row[0] == "error"} == {"SHEET_UNKNOWN", "COLUMN_UNKNOWN", "COLUMN_UNNAMED"}
    db = tmp_path / "g.db"
    r = run_cli("load", str(path), "--db", str(db), "--strict", env=env)
    assert r.returncode == 1 and "3 个错误" in r.stderr
    r = run_cli("load", str(path), "--db", str(db), env=env)
    assert r.returncode == 0, r.stderr
    assert "未导入：表“汇总”（4 个单元格）；“企业”表的“备注”列（2 个单元格）" in r.stderr


def test_dates_in_title_are_not_used_and_blank_rows_between_titles(tmp_path):
    """A title naming a date is not data; blank rows between title lines are skipped."""
    rows = [["郊区企业排查台账（2024年11月）"], [], ["填报单位：荫营镇", None, "填报日期：2024-11-30"], [],
            HEAD, _ent()]
    path = workbook(tmp_path / "s.xlsx", {"Sheet1": rows})
    c = check(path)
    assert c.ok
    with open_survey(path) as s:
        assert [(sh.label, sh.header_row) for sh in s.sheets] == [("Enterprise", 5)]
    assert c.records["Enterprise"][0]["uscc"] == E1
    assert dt.date(2024, 11, 30) not in c.records["Enterprise"][0].values()


def test_a_sheet_whose_name_contains_a_sheet_name_but_has_no_header_is_not_imported(tmp_path):
    c = check(workbook(tmp_path / "s.xlsx", {
        "企业信息": [["郊区企业排查台账"], HEAD, _ent()],
        "企业填表说明": [["1. 统一社会信用代码填18位"], ["2. 行业从下拉框选择"]],
    }))
    assert c.ok and [(s.label, s.sheet, s.rows) for s in c.sheets] == [("Enterprise", "企业信息", 1)]
    assert sorted((p.code, p.sheet, p.params.get("cells", 0)) for p in c.problems) == [
        ("SHEET_TAKEN_AS", "企业信息", 0), ("SHEET_UNKNOWN", "企业填表说明", 2)]
