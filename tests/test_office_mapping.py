"""Office ledgers (issue 14): keys derived from rows, parties by name, `--mapping` and
`sitegraph map` — on real stores and real workbooks written here."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import run_cli
from graphmodel.backends import open_backend
from ledgers import E1, E2, E3, workbook
from loaders.keys import derive_key
from loaders.mapping import MappingError, load_mapping
from loaders.survey import check, load
from graphmodel.schema import NODES

HEAD = ["统一社会信用代码", "企业名称", "行业", "县区", "乡镇街道"]
HZ = ["序号", "企业", "隐患描述", "隐患等级", "发现日期", "整改状态"]


def _ents(*rows):
    return [HEAD] + [[u, n, "冶金", "郊区", "荫营镇"] for u, n in rows]


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "SITEGRAPH_DB": str(tmp_path / "absent.db"), "COLUMNS": "200"}


def _codes(c) -> list[tuple]:
    return sorted((p.code, p.sheet, p.row, p.column) for p in c.problems)


# --- derived keys --------------------------------------------------------------------------------

def test_a_sheet_without_its_key_column_gets_keys_from_its_rows(tmp_path):
    rows = [[1, E1, "灭火器过期", "一般", "2024-11-12", "未整改"], [2, E1, "通道堵塞", "重大", "2024-11-13", "整改中"]]
    a = check(workbook(tmp_path / "a.xlsx", {"企业": _ents((E1, "甲公司")), "隐患排查治理台账": [HZ] + rows}))
    assert a.ok, [p.reason() for p in a.errors]
    (note,) = [p for p in a.problems if p.code == "KEY_DERIVED"]
    keys = [r["hazard_id"] for r in a.records["Hazard"]]
    assert note.reason() == (f"本表没有“隐患编号”列：编号按 企业 + 发现日期 + 隐患描述 生成（如 {keys[0]}），"
                             "同一行再次导入时编号不变")
    assert note.reason("en").startswith("this sheet has no hazard_id column: keys were derived from uscc + found_on")
    assert keys[0].startswith("YH-20241112-") and len(keys[0]) == len("YH-20241112-") + 12 and keys[0] != keys[1]
    # the same rows in another order, spelled otherwise (date formats, spaces, full width, a 序号 renumbered)
    other = [[7, E1.lower(), "通道 堵塞", "重大隐患", "2024年11月13日", "正在整改"],
             [8, f" {E1} ", "灭火器过期 ", "一般", "2024/11/12", "未完成"]]
    b = check(workbook(tmp_path / "b.xlsx", {"企业": _ents((E1, "甲公司")), "Sheet1": [["隐患台账"], HZ] + other}))
    assert b.ok and sorted(r["hazard_id"] for r in b.records["Hazard"]) == sorted(keys)
    # the key is the declared function of the row: a test of the schema's declaration, not of itself
    assert NODES["Hazard"].key_from == ("uscc", "found_on", "description")
    assert keys[1] == derive_key(NODES["Hazard"], a.records["Hazard"][1])


def test_rows_with_the_same_key_columns_are_numbered_and_a_repeated_row_is_an_error(tmp_path):
    hz = HZ + ["建筑编码"]
    book = {"企业": _ents((E1, "甲公司")),
            "建筑": [["建筑编码", "建筑名称", "所属园区厂区", "产权单位", "县区", "乡镇街道"],
                     ["B1", "1号厂房", None, E1, "郊区", "荫营镇"], ["B2", "2号厂房", None, E1, "郊区", "荫营镇"]]}
    # the same description found the same day in two buildings: two hazards
    rows = [[1, E1, "灭火器过期", "一般", "2024-11-12", "未整改", "B1"], [2, E1, "灭火器过期", "一般", "2024-11-12", "未整改", "B2"]]
    c = check(workbook(tmp_path / "a.xlsx", {**book, "隐患": [hz] + rows}))
    assert c.ok, [p.reason() for p in c.errors]
    a, b = (r["hazard_id"] for r in c.records["Hazard"])
    assert b == a + "-2"
    (note,) = [p for p in c.problems if p.code == "KEY_DERIVED"]
    assert "其中 1 行的这几项与前面的行相同，按行的先后编号加 -2、-3 区分" in note.reason()
    # a row entered twice
    c = check(workbook(tmp_path / "b.xlsx", {**book, "隐患": [hz] + rows + [rows[0]]}))
    (p,) = c.errors
    assert (p.code, p.sheet, p.row, p.column) == ("KEY_DERIVED_DUPLICATE", "隐患", 4, "hazard_id")
    assert p.reason() == ("与第 2 行完全相同（本表没有“隐患编号”列，两行无法区分）：是重复录入的吗？"
                          "请删去这一行，或增加“隐患编号”列")
    assert not c.records


def test_derived_keys_are_stable_across_loads(tmp_path):
    head = ["出租方", "承租方", "建筑编码", "楼层"]
    book = {"企业": _ents((E1, "甲公司"), (E3, "丙公司")),
            "建筑": [["建筑编码", "建筑名称", "所属园区厂区", "产权单位", "县区", "乡镇街道"],
                     ["B1", "1号厂房", None, E1, "郊区", "荫营镇"]],
            "出租情况": [head, [E1, E3, "B1", "1层"], [E1, E3, "B1", "2层"]]}
    path = workbook(tmp_path / "s.xlsx", book)
    with open_backend(str(tmp_path / "g.db"), write=True, create=True) as b:
        b.install_schema()
        first = load(path, b, source="荫营镇")
        again = load(path, b, source="荫营镇")
        ids = sorted(r["k"] for r in b.read("MATCH (t:Tenancy) RETURN t.tenancy_id AS k").rows)
    assert first.report.labels["Tenancy"].created == 2
    assert again.report.labels["Tenancy"].unchanged == 2 and not again.report.changed
    assert len(ids) == 2 and all(i.startswith("ZL-") for i in ids)


# --- parties by name -----------------------------------------------------------------------------

def test_parties_by_name_in_reference_cells(tmp_path):
    ents = _ents((E1, "阳泉华鑫耐火材料有限公司（郊区）"), (E3, "阳泉顺发喷涂有限公司"))
    rows = [[1, "阳泉华鑫耐火材料有限公司 (郊区)", "灭火器过期", "一般", "2024-11-12", "未整改"],
            [2, "阳泉顺发喷涂有限公司", "通道堵塞", "一般", "2024-11-12", "未整改"],
            [3, E3, "线路老化", "一般", "2024-11-12", "未整改"]]
    c = check(workbook(tmp_path / "s.xlsx", {"企业": ents, "隐患": [HZ] + rows}))
    assert c.ok, [p.reason() for p in c.errors]
    assert [r["uscc"] for r in c.records["Hazard"]] == [E1, E3, E3]
    (p,) = [p for p in c.problems if p.code == "PARTY_BY_NAME"]
    assert (p.row, p.column) == (2, "uscc")
    assert p.reason() == f"“企业”列有 2 个单元格填的是企业名称，已按名称找到对应的企业（如“阳泉华鑫耐火材料有限公司 (郊区)” → {E1}）"


def test_a_name_of_two_parties_or_of_none_is_an_error(tmp_path):
    ents = _ents((E1, "阳泉宏达机械厂"), (E2, "阳泉宏达 机械厂"), (E3, "丙公司"))
    rows = [[1, "阳泉宏达机械厂", "灭火器过期", "一般", "2024-11-12", "未整改"],
            [2, "阳泉华鑫耐火材料有限公司", "通道堵塞", "一般", "2024-11-12", "未整改"],
            [3, "91140302MA0L000099", "线路老化", "一般", "2024-11-12", "未整改"]]
    c = check(workbook(tmp_path / "s.xlsx", {"企业": ents, "隐患": [HZ] + rows}))
    got = {p.row: p for p in c.errors}
    assert sorted((p.code, p.row, p.column) for p in c.errors) == [
        ("PARTY_NAME_AMBIGUOUS", 2, "uscc"), ("PARTY_NAME_UNKNOWN", 3, "uscc"), ("REF_UNRESOLVED", 4, "uscc")]
    assert got[2].reason() == (f"有 2 家企业名为“阳泉宏达机械厂”：阳泉宏达机械厂（{E1}）；阳泉宏达 机械厂（{E2}）；"
                               "请改填其统一社会信用代码（或临时编码）")
    assert got[3].reason() == "找不到名为“阳泉华鑫耐火材料有限公司”的企业：请先在“企业”表登记，或填写统一社会信用代码"
    assert got[3].reason("en") == ("no party named '阳泉华鑫耐火材料有限公司': register it on the 企业 (enterprises) "
                                   "sheet first, or write its unified social credit code")


def test_names_are_found_in_the_graph_and_the_ledger_name_wins(tmp_path):
    db = str(tmp_path / "g.db")
    with open_backend(db, write=True, create=True) as b:
        b.install_schema()
        load(workbook(tmp_path / "base.xlsx", {"企业": _ents((E1, "甲公司"), (E2, "乙公司"), (E3, "丙公司"))}), b,
             source="base")
    rows = [[1, "甲公司", "灭火器过期", "一般", "2024-11-12", "未整改"],  # in the graph only
            [2, "新乙公司", "通道堵塞", "一般", "2024-11-12", "未整改"],  # E2 renamed by this ledger
            [3, "乙公司", "线路老化", "一般", "2024-11-12", "未整改"]]  # E2's old name: no longer its name
    path = workbook(tmp_path / "s.xlsx", {"企业": _ents((E2, "新乙公司")), "隐患": [HZ] + rows})
    with open_backend(db) as b:
        c = check(path, b, source="base")
    assert [(p.code, p.row) for p in c.errors] == [("PARTY_NAME_UNKNOWN", 4)]
    with open_backend(db) as b:
        c = check(workbook(tmp_path / "t.xlsx", {"隐患": [HZ] + rows[:1]}), b, source="base")
    assert c.ok and c.records["Hazard"][0]["uscc"] == E1


# --- --mapping ------------------------------------------------------------------------------------

def _office(tmp_path: Path) -> Path:
    return workbook(tmp_path / "o.xlsx", {
        "企业": [HEAD + ["填表人"], [E1, "甲公司", "冶金", "郊区", "荫营镇", "张三"]],
        "安全问题清单": [["序号", "隐患编号", "责任企业", "问题描述", "隐患等级", "发现日期", "整改状态"],
                         [1, "H1", E1, "灭火器过期", "一般", "2024-11-12", "已落实"],
                         [2, "H2", E1, "通道堵塞", "重大隐患", "2024-11-13", "已完成"]],
    })


MAPPING = """\
# 郊区的台账
[sheets]
"安全问题清单" = "隐患"
"汇总" = "企业"

[columns."隐患"]
"责任企业" = "企业"
"问题描述" = "description"

[columns."企业"]
"填表人" = ""

[values."隐患"."整改状态"]
"已落实" = "已整改"
"""


def test_a_mapping_file_maps_sheets_headers_and_values(tmp_path):
    path = _office(tmp_path)
    plain = check(path)
    assert not plain.ok
    (tmp_path / "m.toml").write_text(MAPPING, encoding="utf-8")
    m = load_mapping(tmp_path / "m.toml")
    c = check(path, mapping=m)
    assert c.ok, [p.reason() for p in c.errors]
    assert [(r["hazard_id"], r["uscc"], r["description"], r["status"]) for r in c.records["Hazard"]] == [
        ("H1", E1, "灭火器过期", "已整改"), ("H2", E1, "通道堵塞", "已整改")]
    assert {p.code: p.reason() for p in c.problems} == {
        "SHEET_TAKEN_AS": "已按“隐患”表读取（按映射文件 m.toml）",
        "MAPPING_UNUSED": "映射文件中的工作表“汇总”在台账中没有出现，未使用"}
    (unused,) = [p for p in c.problems if p.code == "MAPPING_UNUSED"]
    assert (unused.file, unused.row) == ("m.toml", 4)
    assert not c.not_imported  # 填表人 is declared not data
    r = run_cli("validate", str(path), "--mapping", str(tmp_path / "m.toml"), env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    r = run_cli("validate", str(path), env=_env(tmp_path))
    assert r.returncode == 1
    db = tmp_path / "g.db"
    r = run_cli("load", str(path), "--db", str(db), "--mapping", str(tmp_path / "m.toml"), env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    with open_backend(str(db)) as b:
        got = b.read("MATCH (h:Hazard) RETURN h.hazard_id AS k, h.status AS s ORDER BY k").rows
    assert [(x["k"], x["s"]) for x in got] == [("H1", "已整改"), ("H2", "已整改")]


def test_a_mapping_names_csv_files_too(tmp_path):
    import csv

    folder = tmp_path / "台账"
    folder.mkdir()
    for name, rows in {"企业": _ents((E1, "甲公司")),
                       "安全问题清单": [["隐患编号", "责任企业", "问题描述", "隐患等级", "发现日期", "整改状态"],
                                        ["H1", E1, "灭火器过期", "一般", "2024-11-12", "已落实"]]}.items():
        with open(folder / f"{name}.csv", "w", encoding="gb18030", newline="") as f:
            csv.writer(f).writerows(rows)
    (tmp_path / "m.toml").write_text(MAPPING, encoding="utf-8")
    c = check(folder, mapping=load_mapping(tmp_path / "m.toml"))
    assert c.ok, [p.reason() for p in c.errors]
    assert c.records["Hazard"][0]["status"] == "已整改" and c.sheets[-1].sheet == "安全问题清单"


@pytest.mark.parametrize("text,zh,en", [
    ('[sheets]\n"安全问题清单" = 隐患\n', "映射文件 m.toml 第 2 行第 12 列：TOML 语法错误（Invalid value）",
     "mapping file m.toml line 2, column 12: TOML syntax error (Invalid value)"),
    ('[sheets]\n"a" = "隐患"\n\n[columns."隐患"]\n"问题描述" = "隐患描术"\n',
     "映射文件 m.toml 第 5 行：“隐患”表没有“隐患描术”列（是否为“隐患描述”？）",
     "mapping file m.toml line 5: the 隐患 (hazards) sheet has no column '隐患描术' (did you mean '隐患描述'?)"),
    ('[sheets]\n"a" = "隐患台账表"\n', "映射文件 m.toml 第 2 行：没有名为“隐患台账表”的 sitegraph 工作表",
     "mapping file m.toml line 2: sitegraph has no sheet '隐患台账表'"),
    ('[values."隐患"."整改状态"]\n"x" = "已整改"\n"y" = "完成了"\n',
     "映射文件 m.toml 第 3 行：“完成了”不是“整改状态”列可用的值，应为：未整改、整改中、已整改、已销号",
     "mapping file m.toml line 3: '完成了' is not a value of the 整改状态 (status) column; one of: 未整改"),
    ('[sheet]\n"a" = "隐患"\n', "映射文件 m.toml 第 1 行：不认识的部分“sheet”：只能是 sheets、columns、values（是否为“sheets”？）",
     "mapping file m.toml line 1: unknown section 'sheet'"),
])
def test_a_bad_mapping_file_is_one_clear_error_and_nothing_is_written(tmp_path, text, zh, en):
    (tmp_path / "m.toml").write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as e:
        load_mapping(tmp_path / "m.toml")
    assert e.value.zh.startswith(zh) and e.value.en.startswith(en)
    path = _office(tmp_path)
    db = tmp_path / "g.db"
    r = run_cli("load", str(path), "--db", str(db), "--mapping", str(tmp_path / "m.toml"), env=_env(tmp_path))
    assert r.returncode == 1 and zh in r.stderr, r.stderr
    assert not db.exists()  # refused before the store is opened
    r = run_cli("validate", str(path), "--mapping", str(tmp_path / "m.toml"), "--lang", "en", env=_env(tmp_path))
    assert r.returncode == 1 and en in r.stderr


def test_map_writes_a_draft_that_needs_one_confirmation(tmp_path):
    path = workbook(tmp_path / "o.xlsx", {
        "企业": [HEAD, [E1, "甲公司", "冶金", "郊区", "荫营镇"]],
        "安全问题清单": [["序号", "隐患编号", "责任企业", "问题描述", "隐患等级", "发现日期", "整改状态"],
                         [1, "H1", E1, "灭火器过期", "一般", "2024-11-12", "已落实"],
                         [2, "H2", E1, "通道堵塞", "重大隐患", "2024-11-13", "已落实"]],
        "汇总": [["乡镇", "企业数"], ["荫营镇", 3]],
    })
    out = tmp_path / "草稿" / "m.toml"
    r = run_cli("map", str(path), "--out", str(out), env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert data["columns"]["隐患"] == {"责任企业": "企业", "问题描述": "隐患描述"}
    assert '"责任企业" = "企业"  # 得分 90' in text
    assert '# "已落实" = "已整改"  # 得分 45，2 个单元格' in text  # below 50: to be confirmed
    sheet = next(ln for ln in text.splitlines() if '"汇总"' in ln)  # no sitegraph sheet is like it
    assert sheet.startswith('# "汇总" = "') and "得分" in sheet and "按表名" in sheet
    # the one confirmation, then the ledger validates with the draft
    out.write_text(text.replace('# "已落实"', '"已落实"'), encoding="utf-8")
    r = run_cli("validate", str(path), "--mapping", str(out), env=_env(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_cli("map", str(path), "--out", str(tmp_path / "m.txt"), env=_env(tmp_path))
    assert r.returncode == 2


def test_template_with_a_mapping_uses_the_offices_names(tmp_path):
    (tmp_path / "m.toml").write_text(MAPPING.replace('"汇总" = "企业"\n', ""), encoding="utf-8")
    out = tmp_path / "模板.xlsx"
    r = run_cli("template", str(out), "--mapping", str(tmp_path / "m.toml"), env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    wb = load_workbook(out)
    assert "安全问题清单" in wb.sheetnames and "隐患" not in wb.sheetnames
    head = [c.value for c in wb["安全问题清单"][1]]
    assert "责任企业" in head and "问题描述" in head and "企业" not in head
    ws = wb["安全问题清单"]
    values = {"hazard_id": "H1", "uscc": E1, "description": "灭火器过期", "level": "一般", "found_on": "2024-11-12",
              "status": "已落实"}
    by_head = {"责任企业": "uscc", "问题描述": "description"}
    for j, h in enumerate(head, 1):
        key = by_head.get(h) or next((c.key for c in NODES["Hazard"].columns if c.header == h), None)
        ws.cell(2, j, values.get(key))
    wb["企业"].append([E1, "甲公司", "冶金", "郊区", "荫营镇"])
    wb.save(out)
    c = check(out, mapping=load_mapping(tmp_path / "m.toml"))
    assert c.ok and c.records["Hazard"][0]["status"] == "已整改", [p.reason() for p in c.errors]


def test_map_help_fits_80_columns_and_takes_lang(tmp_path):
    import unicodedata

    p = run_cli("map", "-h", env={**_env(tmp_path), "COLUMNS": "80"})
    assert p.returncode == 0 and "--lang" in p.stdout and "--out" in p.stdout and "…" not in p.stdout
    assert max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in ln)
               for ln in p.stdout.splitlines()) <= 80
    p = run_cli("map", str(tmp_path / "absent.xlsx"), "--out", str(tmp_path / "m.toml"), "--lang", "en",
                env=_env(tmp_path))
    assert p.returncode == 1 and "no such ledger" in p.stderr and not (tmp_path / "m.toml").exists()


def test_a_party_without_a_uscc_is_found_by_name_too(tmp_path):
    """Name resolution runs before the 临时编码 keys and aliases are resolved (loaders/parties.py):
    a provisional party named in a reference cell is that party, by its 临时编码."""
    ents = [HEAD + ["临时编码", "主体类型"], [E1, "甲公司", "冶金", "郊区", "荫营镇", None, None],
            [None, "荫营村集体", "其他", "郊区", "荫营镇", "LS-荫营镇-0007", "村集体"]]
    rows = [[1, "荫营村集体", "灭火器过期", "一般", "2024-11-12", "未整改"],
            [2, "LS-荫营镇-0007", "通道堵塞", "一般", "2024-11-12", "未整改"],
            [3, "LS-荫营镇-0099", "线路老化", "一般", "2024-11-12", "未整改"]]
    c = check(workbook(tmp_path / "s.xlsx", {"企业": ents, "隐患": [HZ] + rows}))
    assert [(p.code, p.row) for p in c.errors] == [("PARTY_UNRESOLVED", 4)]  # an unknown code: said as such
    c = check(workbook(tmp_path / "t.xlsx", {"企业": ents, "隐患": [HZ] + rows[:2]}))
    assert c.ok and [r["uscc"] for r in c.records["Hazard"]] == ["LS-荫营镇-0007"] * 2


def _lease_book(tmp_path: Path, name: str, subs: list[str], rows: list[list]) -> Path:
    """租赁 with 出租方 as a group cell over `subs`, as in an office's two-row header."""
    top = ["租赁编号", "出租方"] + [None] * (len(subs) - 1) + ["承租方", "建筑编码"]
    low = [None] + subs + [None, None]
    return workbook(tmp_path / name, {
        "企业": _ents((E1, "阳泉华鑫耐火材料有限公司"), (E3, "阳泉顺发喷涂有限公司")),
        "建筑": [["建筑编码", "建筑名称", "所属园区厂区", "产权单位", "县区", "乡镇街道"],
                 ["B1", "1号厂房", None, E1, "郊区", "荫营镇"]],
        "租赁": [top, low] + rows,
    })


def test_a_party_name_column_under_the_party_group_is_read(tmp_path):
    # 出租方 › 名称 + 统一社会信用代码: the name where the code is blank
    c = check(_lease_book(tmp_path, "a.xlsx", ["名称", "统一社会信用代码"], [
        ["T1", "阳泉华鑫耐火材料有限公司", E1, E3, "B1"], ["T2", "阳泉华鑫耐火材料有限公司", None, E3, "B1"]]))
    assert c.ok, [p.reason() for p in c.errors]
    assert [r["lessor_uscc"] for r in c.records["Tenancy"]] == [E1, E1] and not c.not_imported
    # 出租方 › 单位名称 without its code: the party by its name is the reference
    c = check(_lease_book(tmp_path, "b.xlsx", ["单位名称", "联系人"], [["T1", "阳泉华鑫耐火材料有限公司", "王", E3, "B1"]]))
    assert c.ok and c.records["Tenancy"][0]["lessor_uscc"] == E1, [p.reason() for p in c.errors]
    assert [(p.code, p.column) for p in c.not_imported] == [("COLUMN_UNKNOWN", "联系人")]
    c = check(_lease_book(tmp_path, "c.xlsx", ["单位名称", "联系人"], [["T1", "阳泉华鑫公司", None, E3, "B1"]]))
    assert [(p.code, p.row, p.column) for p in c.errors] == [("PARTY_NAME_UNKNOWN", 3, "lessor_uscc")]
