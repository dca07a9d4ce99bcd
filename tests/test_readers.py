"""Reading workbooks and CSV folders (loaders/readers.py), without a graph."""
from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook

from ledgers import E1, E2, E3, rows_of, survey_records, workbook
from loaders.readers import open_survey
from loaders.survey import check, default_source

ENT_HEAD = ["统一社会信用代码", "企业名称", "行业", "县区", "乡镇街道"]


def ent_row(u=E1, name="甲公司"):
    return [u, name, "冶金", "郊区", "荫营镇"]


def codes(checked):
    return [(p.code, p.sheet, p.row, p.column) for p in checked.problems]


def test_xlsx_rows_numbered_as_excel_shows_them(tmp_path):
    p = workbook(tmp_path / "s.xlsx", {"企业": [ENT_HEAD, ent_row(E1), [None] * 5, ["  "], ent_row(E2, "乙公司")]})
    with open_survey(p) as s:
        (sh,) = s.sheets
        rows = list(sh.rows())
    assert [r for r, _ in rows] == [2, 5]
    c = check(p)
    assert c.ok and [r["src_row"] for r in c.records["Enterprise"]] == [2, 5]
    assert {r["src_sheet"] for r in c.records["Enterprise"]} == {"企业"}
    assert {r["src_file"] for r in c.records["Enterprise"]} == {"s.xlsx"}


def test_headers_by_english_key_full_width_and_spaces_any_order(tmp_path):
    head = ["Name", " 统一社会 信用代码 ", "ＳＥＣＴＯＲ", "县区", "乡镇街道", "用工期限（月）"]
    p = workbook(tmp_path / "s.xlsx", {"enterprises": [head, ["甲公司", E1, "冶金", "郊区", "镇", 3]]})
    c = check(p)
    rec = c.records["Enterprise"][0]
    assert rec["uscc"] == E1 and rec["name"] == "甲公司" and rec["sector"] == "冶金"
    # 用工期限(月) belongs to 劳务派遣, not 企业: an unknown column here, a warning
    assert codes(c) == [("COLUMN_UNKNOWN", "enterprises", 1, "用工期限（月）")]


def test_unknown_sheet_and_column_are_warnings(tmp_path):
    p = workbook(tmp_path / "s.xlsx", {
        "说明": [["本表为填表说明"]],
        "企业": [ENT_HEAD + ["备注"], ent_row() + ["老厂"]],
        "Sheet1": [],
    })
    c = check(p)
    assert c.ok
    assert sorted(x[0] for x in codes(c)) == ["COLUMN_UNKNOWN", "SHEET_UNKNOWN"]


def test_value_under_a_blank_header_is_reported(tmp_path):
    p = workbook(tmp_path / "s.xlsx", {"企业": [ENT_HEAD, ent_row() + [None, "多出来的"]]})
    c = check(p)
    assert c.ok and codes(c) == [("COLUMN_UNNAMED", "企业", 2, "G")]


def test_excel_typed_cells(tmp_path):
    recs = survey_records()
    t = dict(recs["Tenancy"][0])
    rows = rows_of("Tenancy", [t])
    head = rows[0]
    rows[1][head.index("起租日期")] = dt.datetime(2023, 1, 1)  # an Excel date cell
    rows[1][head.index("到期日期")] = 46022  # a serial number: 2025-12-31
    rows[1][head.index("入驻人数")] = 18.0
    rows[1][head.index("楼层")] = 2  # a number in a text column
    ents = rows_of("Enterprise", recs["Enterprise"])
    p = workbook(tmp_path / "s.xlsx", {"企业": ents, "租赁": rows, "建筑": rows_of("Building", recs["Building"]),
                                       "园区厂区": rows_of("Site", recs["Site"])})
    c = check(p)
    assert c.ok, codes(c)
    rec = c.records["Tenancy"][0]
    assert rec["start_date"] == dt.date(2023, 1, 1) and rec["end_date"] == dt.date(2025, 12, 31)
    assert rec["workers"] == 18 and rec["floor"] == "2"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_detected(tmp_path, encoding):
    d = tmp_path / "城区"
    d.mkdir()
    text = ",".join(ENT_HEAD) + "\r\n" + ",".join(ent_row(E1, "阳泉鑫源仓储物流有限公司")) + "\r\n"
    (d / "企业.csv").write_bytes(text.encode(encoding))
    with open_survey(d) as s:
        assert s.sheets[0].encoding == ("utf-8" if encoding == "utf-8" else "utf-8-sig" if encoding == "utf-8-sig" else "gb18030")
    c = check(d)
    assert c.ok and c.records["Enterprise"][0]["name"] == "阳泉鑫源仓储物流有限公司"
    assert default_source(d) == "城区"


def test_csv_english_file_names_and_header_only(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    (d / "Enterprises.csv").write_text(",".join(ENT_HEAD) + "\n" + ",".join(ent_row()) + "\n", encoding="utf-8")
    (d / "tenancies.csv").write_text("租赁编号,出租方,承租方,建筑编码\n", encoding="utf-8")
    (d / "notes.txt").write_text("hello", encoding="utf-8")
    c = check(d)
    assert c.ok
    assert [s.label for s in c.sheets] == ["Enterprise", "Tenancy"]
    assert codes(c) == [("SHEET_NO_ROWS", "tenancies", 1, None)]
    assert c.records["Tenancy"] == []


def test_csv_multiline_cell_counts_as_one_row(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    body = ",".join(ENT_HEAD + ["生产经营地址"]) + "\n" + ",".join(ent_row(E1)) + ',"一号路\n二号院"\n' \
        + ",".join(ent_row(E2, "乙")) + ",\n\n" + ",".join(ent_row(E3, "丙")) + ",\n"
    (d / "企业.csv").write_text(body, encoding="utf-8")
    c = check(d)
    assert c.ok
    assert [(r["src_row"], r["address"]) for r in c.records["Enterprise"]] == [(2, "一号路\n二号院"), (3, None), (5, None)]


def test_tab_separated_text_is_read(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    (d / "企业.csv").write_text("\t".join(ENT_HEAD) + "\n" + "\t".join(ent_row()) + "\n", encoding="utf-8")
    assert check(d).records["Enterprise"][0]["uscc"] == E1


def test_lone_csv_file_and_default_source(tmp_path):
    d = tmp_path / "平定县"
    d.mkdir()
    f = d / "企业.csv"
    f.write_text(",".join(ENT_HEAD) + "\n" + ",".join(ent_row()) + "\n", encoding="utf-8")
    assert check(f).ok
    assert default_source(f) == "平定县"
    assert default_source(tmp_path / "城区-2024.xlsx") == "城区-2024"


def test_large_sheet_streams_in_read_only_mode(tmp_path):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("企业")
    ws.append(ENT_HEAD)
    from ledgers import uscc

    for i in range(3000):
        ws.append([uscc(f"91140302MA{i:07d}"), f"企业{i}", "冶金", "郊区", "镇"])
    wb.save(tmp_path / "big.xlsx")
    with open_survey(tmp_path / "big.xlsx") as s:
        # read by calamine (a sheet is held while it is read, then let go); a sheet calamine
        # would hold as a mostly empty rectangle is streamed by openpyxl (test below)
        assert type(s.sheets[0]._rows).__name__ == "_CalamineRows"
    c = check(tmp_path / "big.xlsx")
    assert c.ok and len(c.records["Enterprise"]) == 3000 and c.records["Enterprise"][-1]["src_row"] == 3001


@pytest.mark.parametrize("variant", ["csv", "gb18030"])
def test_every_shape_of_the_fixture_reads_to_the_same_records(tmp_path, variant):
    """Workbook, clean CSV, and GB18030 CSV with English headers and other spellings."""
    from ledgers import write_variant

    recs = survey_records()
    strip = lambda c: {k: [{x: v for x, v in r.items() if not x.startswith("src_")} for r in rs]
                       for k, rs in c.records.items()}
    a = check(write_variant(recs, tmp_path / "s.xlsx", "xlsx"))
    b = check(write_variant(recs, tmp_path / variant, variant))
    assert a.ok and b.ok and not a.problems and not b.problems
    assert strip(a) == strip(b) == recs


def test_the_same_sheet_twice_and_a_sheet_in_the_wrong_format(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    text = ",".join(ENT_HEAD) + "\n" + ",".join(ent_row()) + "\n"
    (d / "企业.csv").write_text(text, encoding="utf-8")
    (d / "enterprises.csv").write_text(text, encoding="utf-8")
    (d / "租赁.xlsx").write_bytes(b"")
    c = check(d)
    assert sorted((p.code, p.file) for p in c.errors) == [("FILE_TYPE", "租赁.xlsx"), ("SHEET_DUPLICATE", "企业.csv")]
    assert c.records == {}


def test_a_folder_holding_one_workbook_is_that_workbook(tmp_path):
    d = tmp_path / "城区"
    d.mkdir()
    workbook(d / "survey.xlsx", {"企业": [ENT_HEAD, ent_row()]})
    (d / "ground_truth.json").write_text("{}", encoding="utf-8")
    c = check(d)
    assert c.ok and c.records["Enterprise"][0]["src_file"] == "survey.xlsx"
    assert default_source(d) == "城区"


# --- the two xlsx engines: calamine, and openpyxl where only it can read ----------------------

def _read_with(path, engine: str, monkeypatch):
    """Everything open_survey gives, read by one engine: problems, sheets, typed rows."""
    import loaders.readers as readers

    with monkeypatch.context() as m:
        if engine == "openpyxl":
            m.setattr(readers, "_open_xlsx_calamine", lambda s: False)
        with open_survey(path) as s:
            sheets = [(sh.label, sh.sheet, sh.header_row, sh.columns, sh.headers, sh.named, type(sh._rows).__name__,
                       [(i, {k: (type(v), v) for k, v in c.items()}) for i, c in sh.rows()]) for sh in s.sheets]
            problems = [(p.code, p.file, p.sheet, p.row, p.column, p.value, p.params) for p in s.problems]
    return sheets, problems


def _tricky_workbook(path):
    """What survey teams' workbooks hold: blank rows above a header that starts in column C,
    blank rows, merged cells, every kind of cell, hidden sheets, a chart sheet, error cells."""
    import re
    import zipfile

    from openpyxl.chart import BarChart, Reference

    wb = Workbook()
    ws = wb.active
    ws.title = "企业"
    for j, h in enumerate(ENT_HEAD + ["生产经营地址", "联系电话", "劳动合同用工人数"]):
        ws.cell(3, 3 + j, h)
    rows = [
        [E1, "甲公司", "冶金", "郊区", "荫营镇", "一号路\n二号院", 13912345678, 18.0],
        [E2, "  乙公司  ", "化工", "郊区", "荫营镇", None, "0353-1234567", 7],
        None, None,  # two blank rows: row numbers as Excel shows them
        [9.11403021234567e17, "丙公司", "冶金", "郊区", "荫营镇", "PLACEHOLDER_NA", dt.datetime(2024, 11, 11), True],
        [12345, "丁公司", "其他", "城区", "义井街道", dt.date(2024, 2, 3), dt.time(8, 30), -0.0],
        ["=SUM(1,2)", "戊公司", "其他", "城区", "义井街道", "合并的地址", 46022, 2.5],
    ]
    for i, r in enumerate(rows, 4):
        for j, v in enumerate(r or []):
            ws.cell(i, 3 + j, v)
    ws.cell(8, 3).data_type = "n"
    ws.cell(10, 3).data_type = "s"  # a formula typed as text
    ws.merge_cells("H10:H11")
    ws["K5"] = "表外备注"  # a value beyond the header: COLUMN_UNNAMED
    hidden = wb.create_sheet("租赁")
    hidden.sheet_state = "hidden"
    hidden.append(["租赁编号", "出租方", "承租方", "建筑编码"])
    hidden.append(["T1", E1, E2, "B1"])
    very = wb.create_sheet("说明")
    very.sheet_state = "veryHidden"
    very.append(["本表为填表说明"])
    chart = wb.create_chartsheet("图表")
    bar = BarChart()
    bar.add_data(Reference(ws, min_col=10, min_row=3, max_row=5))
    chart.add_chart(bar)
    wb.create_sheet("空表")
    wb.save(path)
    # an error cell (#N/A from a lookup), as Excel writes it: openpyxl cannot write one
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet, n = re.subn(r'<c r="H8"([^>]*?) t="inlineStr"><is><t>PLACEHOLDER_NA</t></is></c>',
                       r'<c r="H8"\1 t="e"><v>#N/A</v></c>', sheet)
    assert n == 1, sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_calamine_reads_what_openpyxl_reads(tmp_path, monkeypatch):
    p = _tricky_workbook(tmp_path / "荫营镇.xlsx")
    fast, fast_problems = _read_with(p, "calamine", monkeypatch)
    slow, slow_problems = _read_with(p, "openpyxl", monkeypatch)
    assert [s[6] for s in fast] == ["_CalamineRows"] * 2 and [s[6] for s in slow] == ["function"] * 2
    assert [s[:6] for s in fast] == [s[:6] for s in slow]
    assert [s[7] for s in fast] == [s[7] for s in slow]
    assert fast_problems == slow_problems
    ents = dict(fast[0][7])
    assert list(ents) == [4, 5, 8, 9, 10]  # Excel's row numbers, past the title, the header and blank rows
    assert fast[0][2] == 3  # the header row
    assert ents[4]["phone"] == (int, 13912345678) and ents[4]["contract_workers"] == (int, 18)
    assert ents[8]["uscc"] == (float, 9.11403021234567e17)  # a USCC typed as a number stays a float
    assert ents[8]["address"] == (str, "#N/A")  # an error cell reads as its text
    assert ents[8]["phone"] == (dt.datetime, dt.datetime(2024, 11, 11))
    assert ents[9]["uscc"] == (int, 12345) and ents[9]["address"] == (dt.datetime, dt.datetime(2024, 2, 3))
    assert ents[9]["phone"] == (dt.time, dt.time(8, 30))
    assert ents[10]["uscc"] == (str, "=SUM(1,2)") and ents[10]["phone"] == (int, 46022)
    assert ents[10]["address"] == (str, "合并的地址")  # a merged cell: its value in the top-left cell only
    assert {r["address"] for r in ents.values()} >= {(type(None), None)}
    assert fast[1][:2] == ("Tenancy", "租赁")  # a hidden sheet is read
    assert [(c[0], c[2], c[3], c[4]) for c in fast_problems] == [
        ("SHEET_UNKNOWN", "说明", None, None), ("COLUMN_UNNAMED", "企业", 5, "K")]
    c = check(p)
    assert ("USCC_AS_NUMBER", "企业", 8, "uscc") in codes(c)
    assert ("BAD_USCC_LENGTH", "企业", 9, "uscc") in codes(c)
    assert ("COLUMN_UNNAMED", "企业", 5, "K") in codes(c)


def test_sparse_sheet_is_streamed_by_openpyxl(tmp_path, monkeypatch):
    """A stray cell far away would make calamine hold ~17 billion empty cells (or abort)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "企业"
    ws.append(ENT_HEAD)
    ws.append(ent_row())
    ws["XFD1048576"] = "离得很远"
    wb.save(tmp_path / "far.xlsx")
    with open_survey(tmp_path / "far.xlsx") as s:
        assert type(s.sheets[0]._rows.__defaults__[0]).__name__ == "ReadOnlyWorksheet"
    wb = Workbook()
    ws = wb.active
    ws.title = "企业"
    ws.append(ENT_HEAD)
    ws.append(ent_row())
    ws["A1048576"] = E2  # the last row Excel has
    wb.save(tmp_path / "low.xlsx")
    fast, problems = _read_with(tmp_path / "low.xlsx", "calamine", monkeypatch)
    assert fast[0][6] == "function" and [r for r, _ in fast[0][7]] == [2, 1048576]


def test_workbooks_calamine_cannot_read_keep_their_messages(tmp_path, monkeypatch):
    """Damaged files fall back to openpyxl, whose words name the damage, unchanged."""
    import zipfile

    cases = {"cut.xlsx": b"PK\x03\x04 this was cut off in the e-mail",
             "cfb.xlsx": bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504}  # an encrypted workbook is a CFB file
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    with zipfile.ZipFile(tmp_path / "junk.xlsx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook><sheets><sheet name='企业' r:id='rId1'")
    good = workbook(tmp_path / "good.xlsx", {"企业": [ENT_HEAD, ent_row()]})
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(tmp_path / "part.xlsx", "w") as z:
        for n in src.namelist():
            z.writestr(n, src.read(n)[:40] if n.startswith("xl/worksheets/") else src.read(n))
    for name in [*cases, "junk.xlsx", "part.xlsx"]:
        fast = _read_with(tmp_path / name, "calamine", monkeypatch)
        assert fast == _read_with(tmp_path / name, "openpyxl", monkeypatch), name
        assert [p[0] for p in fast[1]] == ["FILE_CORRUPT"], (name, fast[1])
