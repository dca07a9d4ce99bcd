"""Excel-ready exports: the one workbook writer (loaders.excel) and every export that uses it,
opened with openpyxl as Excel would show them: widths, filters, frozen header, sheet names,
links, typed cells, value labels, provenance notes; CSV with the header first and a sidecar."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os

import pytest
from openpyxl import load_workbook

from conftest import embedded_with, run_cli
from ledgers import BAD_CHECK, rows_of, survey_records, workbook
from loaders.excel import MAX_WIDTH, Book, Col, Link, sheet_name, text_width
from queries.catalogue import CODE_LITERAL_RE, load_specs, pack_files, parse_spec

AS_OF = "2025-01-15"


# --- the writer ----------------------------------------------------------------------------

def _write(tmp_path, cols, rows, **kw):
    book = Book(**{k: kw.pop(k) for k in ("neutralise", "lang") if k in kw})
    ws = book.add_table(kw.pop("name", "数据"), cols, rows, **kw)
    path = book.save(tmp_path / "t.xlsx")
    return load_workbook(path)[ws.title]


def test_text_width_counts_wide_characters_double():
    assert text_width("abc") == 3 and text_width("阳泉") == 4 and text_width("ＡＢ") == 4
    assert text_width("AB") > text_width("ab")  # capitals are broader than a digit


def test_widths_fit_the_content_and_long_text_wraps(tmp_path):
    name = "阳泉市城区顺发机械厂"  # 10 wide characters = 20 units
    long = "消防通道堵塞，" * 20  # 280 units: capped and wrapped
    ws = _write(tmp_path, [Col("a", "编号"), Col("n", "企业名称"), Col("d", "描述"), Col("x", "是")],
                [{"a": "T1", "n": name, "d": long, "x": True}, {"a": "T22", "n": "短", "d": "短", "x": False}])
    width = {k: v.width for k, v in ws.column_dimensions.items()}
    assert width["B"] >= text_width(name) + 1 and width["B"] < text_width(name) + 6
    assert width["A"] < width["B"]
    assert width["C"] == MAX_WIDTH + 2
    assert ws["C2"].alignment.wrap_text and not ws["C3"].alignment.wrap_text
    assert ws.row_dimensions[2].height >= 15 * 5  # ~280 / 50 lines, so Excel shows them all
    assert width["D"] >= 4 + 2  # the header and its filter button fit
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:D3"
    assert ws["A1"].font.bold and ws.print_title_rows == "$1:$1"


def test_wrapped_chinese_rows_are_tall_enough_for_a_cjk_font(tmp_path):
    # LibreOffice draws a line of 11-point CJK text ~16.5 pt high: at 15 pt a line the last line
    # of a wrapped legal basis was cut off in the rendered findings workbook.
    basis = "阳政办发〔2024〕57号 四（三）2；安全生产法 第四十九条第一款；租赁厂房和仓库消防安全管理办法（试行）第十五条"
    ws = _write(tmp_path, [Col("b", "依据")], [{"b": basis}, {"b": "短"}])
    lines = -(-text_width(basis) // (ws.column_dimensions["A"].width - 1))
    assert lines >= 2 and ws.row_dimensions[2].height >= 16.5 * lines
    assert ws.row_dimensions[3].height is None  # a one-line row keeps the default height


def test_typed_cells_labels_and_neutralised_text(tmp_path):
    cols = [Col("d", "日期"), Col("t", "时间"), Col("i", "整数"), Col("f", "小数"), Col("b", "是否"),
            Col("k", "类别", labels={"tenancy": "租赁", "outsourcing": "外包"}), Col("l", "列表", labels={"tenancy": "租赁"}),
            Col("s", "文本"), Col("z", "空")]
    row = {"d": dt.date(2025, 1, 15), "t": dt.datetime(2025, 1, 15, 8, 30, tzinfo=dt.timezone.utc), "i": 7,
           "f": 0.25, "b": False, "k": "tenancy", "l": ["tenancy", "other"], "s": "=HYPERLINK(\"x\")", "z": None}
    ws = _write(tmp_path, cols, [row, {**row, "s": "-3", "k": "unknown", "i": -3}])
    c = {x.column_letter: x for x in ws[2]}
    assert c["A"].is_date and c["A"].value == dt.datetime(2025, 1, 15) and c["A"].number_format == "yyyy-mm-dd"
    assert c["B"].is_date and c["B"].value == dt.datetime(2025, 1, 15, 8, 30)
    assert ws.column_dimensions["A"].width >= 10 + 2  # no ####
    assert c["C"].value == 7 and c["C"].data_type == "n" and c["D"].value == 0.25
    assert c["E"].value == "否" and c["F"].value == "租赁" and c["G"].value == "租赁、other"
    assert c["H"].value == "'=HYPERLINK(\"x\")" and c["I"].value is None
    assert ws["H3"].value == "'-3" and ws["C3"].value == -3 and ws["F3"].value == "unknown"
    ws = _write(tmp_path, [Col("b", "b"), Col("s", "s")], [{"b": True, "s": "=A1\x01"}], lang="en", neutralise=False)
    assert ws["A2"].value == "yes"
    assert ws["B2"].value == "=A1" and ws["B2"].data_type == "s"  # text as written, never a formula


def test_sheet_names_are_valid_unique_and_short():
    assert sheet_name("a/b:c*?[d]\\") == "abcd"
    assert sheet_name("粉尘爆炸危险场所设在非框架多层建筑或设有人员聚集场所（DUST-1）") == "粉尘爆炸危险场所设在非框架多层建筑或设有人员聚集场所"
    long = sheet_name("很" * 40)
    assert len(long) == 31 and long.endswith("…")
    assert sheet_name("汇总", ["汇总"]) == "汇总(2)" and sheet_name("Data", ["data"]) == "Data(2)"
    assert sheet_name("'引号'") == "引号" and sheet_name("") == "Sheet"
    assert len(sheet_name("很" * 31, ["很" * 31])) == 31


def test_links_point_at_sheets_and_a_failed_save_leaves_nothing(tmp_path):
    book = Book()
    index = book.sheet("汇总")
    data = book.add_table("O'Brien 的表", [Col("a", "a")], [{"a": 1}])
    book.write_table(index, [Col("s", "工作表")], [{"s": Link("打开", data.title)}])
    wb = load_workbook(book.save(tmp_path / "l.xlsx"))
    assert wb.sheetnames == ["汇总", "O'Brien 的表"]
    assert wb["汇总"]["A2"].hyperlink.location == "'O''Brien 的表'!A1" and wb["汇总"]["A2"].value == "打开"
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "l.xlsx").stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would make it
    target = tmp_path / "busy"
    target.mkdir()  # a folder where the workbook should go: the rename fails
    with pytest.raises(OSError):
        book.save(target)
    assert sorted(os.listdir(tmp_path)) == ["busy", "l.xlsx"]  # no temporary file left


# --- value labels are declared with the queries ----------------------------------------------

def test_every_code_a_query_returns_has_a_chinese_label():
    found = 0
    for s in load_specs():
        for code, name in CODE_LITERAL_RE.findall(s.cypher):
            if name in {c.name for c in s.columns}:
                found += 1
                label = s.column(name).labels[code]
                assert any("\u4e00" <= ch <= "\u9fff" for ch in label), (s.id, code, label)
    assert found >= 8
    assert load_specs()[0].column("kind").labels == {"outsourcing": "外包", "tenancy": "租赁", "dispatch": "派遣"}


def test_a_code_without_a_label_is_refused():
    name, text = next((n, t) for n, t in pack_files() if n == "five-always.toml")
    broken = "\n".join(line for line in text.splitlines() if not line.startswith("labels = { enterprise"))
    with pytest.raises(ValueError, match="subject_type.*enterprise"):
        parse_spec(name, broken)


# --- the findings workbook and the single query --------------------------------------------

def _records() -> dict[str, list[dict]]:
    ent = lambda u, name, **kw: {"uscc": u, "name": name, "sector": "机械", "county": "城区",  # noqa: E731
                                 "township": "上站街道", "business_license": True, "environmental_permit": True, **kw}
    return {
        "Enterprise": [ent("O", "阳泉市城区顺发机械厂"), ent("A", "=HYPERLINK(\"http://x\")", environmental_permit=None)],
        "Building": [{"building_id": "B1", "name": "一号厂房", "owner_uscc": "O", "county": "城区", "township": "上站街道"}],
        "Tenancy": [{"tenancy_id": "T1", "lessor_uscc": "O", "lessee_uscc": "A", "building_id": "B1"}],
        "Contract": [{"contract_id": "C1", "client_uscc": "O", "contractor_uscc": "A", "kind": "工程发包"}],
        "Hazard": [{"hazard_id": "H1", "uscc": "A", "description": "消防通道堵塞" * 12, "level": "重大", "status": "未整改",
                    "found_on": dt.date(2024, 11, 20), "deadline": dt.date(2025, 1, 1)}],
    }


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    return embedded_with(tmp_path_factory.mktemp("exports"), _records(), "exports")


@pytest.fixture(scope="module")
def findings(graph, tmp_path_factory):
    out = tmp_path_factory.mktemp("findings")
    r = run_cli("query", "run", "--all", "--param", f"as_of={AS_OF}", "--out", str(out), *graph.args, env=graph.env)
    assert r.returncode == 0, r.stderr
    return load_workbook(out / "sitegraph-findings.xlsx")


def _sheet_of(wb) -> dict[str, str]:
    return {r[0].value: r[0].hyperlink.location.split("!")[0][1:-1].replace("''", "'")
            for r in wb["汇总"].iter_rows(min_row=2)}


def test_findings_index_links_every_query_sheet(findings):
    wb = findings
    specs = {s.id: s for s in load_specs()}
    index = wb["汇总"]
    assert [c.value for c in index[1]][:5] == ["编号", "名称", "严重程度", "类别", "行数"]
    sheet_of = _sheet_of(wb)
    assert list(sheet_of) == list(specs) and set(sheet_of.values()) == set(wb.sheetnames[2:])
    for row in index.iter_rows(min_row=2):
        qid, title, severity, rows = row[0].value, row[1].value, row[2].value, row[4].value
        assert title == specs[qid].title_zh and severity == specs[qid].severity
        ws = wb[sheet_of[qid]]
        assert isinstance(rows, int) and rows == ws.max_row - 1
        assert qid in ws.oddHeader.center.text  # the id on every printed page
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in wb.sheetnames)
    assert sheet_of["responsibility-gaps"] == "安全责任“两头不管”"  # Chinese tabs
    assert index.freeze_panes == "A2" and index.auto_filter.ref.startswith("A1:")


def test_findings_sheets_are_typed_labelled_and_fitted(findings):
    wb = findings
    sheet_of = _sheet_of(wb)
    gaps = wb[sheet_of["responsibility-gaps"]]
    head = [c.value for c in gaps[1]]
    kinds = sorted(r[head.index("类别")] for r in gaps.iter_rows(min_row=2, values_only=True))
    assert kinds == ["外包", "租赁"]
    assert gaps.freeze_panes == "A2" and gaps.auto_filter.ref == f"A1:{gaps.cell(1, gaps.max_column).column_letter}3"
    haz = wb[sheet_of["major-hazards-open"]]
    head = [c.value for c in haz[1]]
    found = haz.cell(row=2, column=head.index("发现日期") + 1)
    assert found.is_date and found.value == dt.datetime(2024, 11, 20) and found.number_format == "yyyy-mm-dd"
    letter = found.column_letter
    assert haz.column_dimensions[letter].width >= 12
    desc = haz.cell(row=2, column=head.index("隐患描述") + 1)
    assert desc.alignment.wrap_text and haz.column_dimensions[desc.column_letter].width == MAX_WIDTH + 2
    for ws in (gaps, haz):  # every column is at least as wide as its widest value (up to the cap)
        for col in ws.iter_cols():
            texts = [str(c.value) for c in col[1:] if c.value is not None and not c.is_date]
            need = min(max((text_width(t) for t in texts), default=0), MAX_WIDTH)
            assert ws.column_dimensions[col[0].column_letter].width >= need, (ws.title, col[0].value)
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert f"as_of={AS_OF}" in notes["参数 / parameters"] and notes["数据库 / store"].startswith("embedded ")
    assert "未包含个人信息" in notes["个人信息 / personal data"]
    assert dt.datetime.fromisoformat(notes["生成时间 / written at (UTC)"].replace("Z", "+00:00"))


def test_english_workbook_keeps_codes_and_id_tabs(graph, tmp_path):
    out = tmp_path / "gaps.xlsx"
    r = run_cli("query", "run", "responsibility-gaps", "--out", str(out), "--lang", "en", *graph.args, env=graph.env)
    assert r.returncode == 0, r.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == ["Summary", "Notes", "responsibility-gaps"] and wb.active.title == "responsibility-gaps"
    assert sorted(r[0] for r in wb.active.iter_rows(min_row=2, values_only=True)) == ["outsourcing", "tenancy"]


def test_csv_files_of_the_pack_have_the_header_first_and_a_sidecar(graph, tmp_path):
    r = run_cli("query", "run", "--all", "--format", "csv", "--param", f"as_of={AS_OF}", "--out", str(tmp_path),
                *graph.args, env=graph.env)
    assert r.returncode == 0, r.stderr
    specs = {s.id: s for s in load_specs()}
    for qid, spec in specs.items():
        raw = (tmp_path / f"{qid}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        lines = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
        assert lines[0] == [c.label_zh for c in spec.columns if not c.personal]
        meta = json.loads((tmp_path / f"{qid}.csv.meta.json").read_text(encoding="utf-8"))
        assert meta["query"] == qid and meta["rows"] == len(lines) - 1
        assert meta["params"].get("as_of") == (AS_OF if any(p.name == "as_of" for p in spec.params) else None)
    gaps = list(csv.DictReader((tmp_path / "responsibility-gaps.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert sorted(r["类别"] for r in gaps) == ["外包", "租赁"]


# --- the validation report -----------------------------------------------------------------

def _broken_ledger(tmp_path):
    recs = survey_records()
    rows = rows_of("Enterprise", [recs["Enterprise"][0], dict(recs["Enterprise"][1], uscc=BAD_CHECK)])
    rows[1][rows[0].index("行业")] = "=cmd|' /C calc'!A0"
    rows[2][rows[0].index("劳动合同用工人数")] = "很多"
    return workbook(tmp_path / "城区-11月.xlsx", {"企业": rows})


def _env(tmp_path):
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "SITEGRAPH_DB": str(tmp_path / "absent.db")}


def test_validation_report_workbook(tmp_path):
    ledger = _broken_ledger(tmp_path)
    report = tmp_path / "问题清单.xlsx"
    r = run_cli("validate", str(ledger), "--report", str(report), env=_env(tmp_path))
    assert r.returncode == 1 and report.exists()
    wb = load_workbook(report)
    assert wb.sheetnames == ["问题清单", "说明"]
    ws = wb["问题清单"]
    assert [c.value for c in ws[1]] == ["级别", "文件", "工作表", "行号", "列", "填写内容", "问题说明", "代码"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:H{ws.max_row}"
    rows = list(ws.iter_rows(min_row=2))
    assert [(x[0].value, x[3].value, x[7].value) for x in rows] == [
        ("错误", 2, "BAD_ENUM"), ("错误", 3, "BAD_INT"), ("警告", 3, "USCC_CHECK")]
    assert rows[0][5].value == "'=cmd|' /C calc'!A0"  # never a live formula
    assert rows[0][0].fill.fgColor.rgb != rows[2][0].fill.fgColor.rgb  # errors and warnings told apart
    assert ws.column_dimensions["B"].width >= text_width("城区-11月.xlsx")
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["错误 / errors"] == 2 and notes["警告 / warnings"] == 1 and notes["台账 / ledger"].endswith("城区-11月.xlsx")


def test_validation_report_csv_and_sidecar(tmp_path):
    ledger = _broken_ledger(tmp_path)
    report = tmp_path / "report.csv"
    r = run_cli("validate", str(ledger), "--report", str(report), "--lang", "en", env=_env(tmp_path))
    assert r.returncode == 1
    text = report.read_bytes().decode("utf-8")
    assert text.startswith("\ufeffseverity,file,sheet,row,column,value,reason,code\r\n")
    meta = json.loads((tmp_path / "report.csv.meta.json").read_text(encoding="utf-8"))
    assert meta["errors"] == 2 and meta["warnings"] == 1 and meta["ledger"].endswith("城区-11月.xlsx")


def test_query_list_json_carries_the_labels_and_run_json_the_codes(graph):
    listed = json.loads(run_cli("query", "list", "--format", "json").stdout)
    cols = {c["name"]: c for c in next(q for q in listed if q["id"] == "survey-incomplete")["columns"]}
    assert cols["record_type"]["labels"]["contract"] == "外包外委合同" and "labels" not in cols["id"]
    r = run_cli("query", "run", "survey-incomplete", "--format", "json", *graph.args, env=graph.env)
    assert r.returncode == 0, r.stderr
    assert {x["record_type"] for x in json.loads(r.stdout)} <= {"enterprise", "building", "tenancy", "contract"}
    assert json.loads(r.stdout)
