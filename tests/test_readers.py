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
        assert type(s.sheets[0]._rows.__defaults__[0]).__name__ == "ReadOnlyWorksheet"
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
