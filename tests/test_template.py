"""`sitegraph template`: empty ledgers derived from the schema, that load as they are and
once filled in."""
from __future__ import annotations

import json
import os

from openpyxl import load_workbook

from conftest import run_cli
from graphmodel.schema import NODE_TYPES, Kind
from ledgers import survey_records
from loaders.survey import check
from loaders.readers import INSTRUCTIONS_SHEET
from loaders.template import default_cell


def _env(tmp_path):
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "SITEGRAPH_DB": str(tmp_path / "absent.db")}


def test_xlsx_template_headers_notes_and_dropdowns(tmp_path):
    out = tmp_path / "台账模板.xlsx"
    r = run_cli("template", str(out))
    assert r.returncode == 0, r.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == [INSTRUCTIONS_SHEET] + [nt.sheet for nt in NODE_TYPES]
    for nt in NODE_TYPES:
        ws = wb[nt.sheet]
        assert [c.value for c in ws[1]] == [c.header for c in nt.columns]
        assert ws.max_row == 1
        lists = {}
        for dv in ws.data_validations.dataValidation:
            assert dv.type == "list"
            for rng in str(dv.sqref).split():
                lists[rng.split(":")[0].rstrip("0123456789")] = dv.formula1.strip('"').split(",")
        for j, col in enumerate(nt.columns):
            cell = ws.cell(row=1, column=j + 1)
            note = cell.comment.text
            assert col.key in note and ("必填" if col.required else "选填") in note
            letter = cell.column_letter
            if col.kind is Kind.ENUM:
                assert "可选值：" + "、".join(col.enum) in note
                assert lists[letter] == list(col.enum)
            elif col.kind is Kind.BOOL:
                assert "是/否" in note and lists[letter] == ["是", "否"]
            else:
                assert letter not in lists
            if col.kind is Kind.USCC:
                assert ws.column_dimensions[letter].number_format == "@"  # codes stay text
    fire = wb["建筑"].cell(row=1, column=[c.key for c in NODE_TYPES[2].columns].index("fire_class") + 1).comment.text
    assert "甲类（=甲）" in fire


def test_first_sheet_explains_the_sheets_and_the_header_colours(tmp_path):
    """The instructions sheet opens first: every sheet named, a legend for every header
    colour the template uses (the legend cell in that very colour), the format's page named."""
    out = tmp_path / "台账模板.xlsx"
    assert run_cli("template", str(out)).returncode == 0
    wb = load_workbook(out)
    ws = wb[INSTRUCTIONS_SHEET]
    assert wb.active.title == INSTRUCTIONS_SHEET
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    text = "\n".join(str(c.value) for r in ws.iter_rows() for c in r if c.value)
    assert "docs/survey-format.md" in text
    for nt in NODE_TYPES:
        assert nt.sheet in rows and nt.key_column.header in rows[nt.sheet][1].value
    legend = {r[0].fill.fgColor.rgb[-6:]: (r[0].value, r[1].value) for r in rows.values() if r[0].fill.fill_type}
    used = {}
    for nt in NODE_TYPES:
        for j, col in enumerate(nt.columns, 1):
            used.setdefault(wb[nt.sheet].cell(row=1, column=j).fill.fgColor.rgb[-6:], set()).add(col.required)
    assert set(used) == set(legend)  # each colour the headers use is explained, and only those
    for colour, required in used.items():
        assert len(required) == 1  # a colour means one thing
        item, meaning = legend[colour]
        assert ("必填" in item) == required.pop() and ("选填" in item) != ("必填" in item) and meaning


def test_empty_template_validates_with_warnings_only(tmp_path):
    out = tmp_path / "t.xlsx"
    assert run_cli("template", str(out)).returncode == 0
    r = run_cli("validate", str(out), "--format", "json", env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert {p["code"] for p in json.loads(r.stdout)} == {"SHEET_NO_ROWS"}


def test_a_filled_in_template_loads_the_records_typed_in(tmp_path):
    out = tmp_path / "t.xlsx"
    assert run_cli("template", str(out)).returncode == 0
    recs = survey_records()
    wb = load_workbook(out)
    for nt in NODE_TYPES:
        ws = wb[nt.sheet]
        for r in recs[nt.label]:
            ws.append([default_cell(c, r[c.key], excel=True) for c in nt.columns])
    wb.save(out)
    c = check(out)
    assert c.ok and not c.problems
    assert {k: [{x: v for x, v in r.items() if not x.startswith("src_")} for r in rs]
            for k, rs in c.records.items()} == recs


def test_csv_template_folder(tmp_path):
    out = tmp_path / "模板"
    r = run_cli("template", str(out), "--format", "csv", "--english-headers")
    assert r.returncode == 0, r.stderr
    for nt in NODE_TYPES:
        raw = (out / f"{nt.sheet}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        assert raw.decode("utf-8-sig").strip() == ",".join(c.key for c in nt.columns)
    assert run_cli("validate", str(out), env=_env(tmp_path)).returncode == 0


def test_template_refuses_a_file_for_csv(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("x")
    r = run_cli("template", str(f), "--format", "csv")
    assert r.returncode == 2 and "文件夹" in r.stderr


def test_template_and_ledger_sheets_share_the_export_styling(tmp_path):
    """Widths, frozen header and key column, filter and print titles come from loaders.excel."""
    from loaders.excel import MAX_WIDTH, text_width
    from loaders.template import write_ledger

    out = tmp_path / "t.xlsx"
    assert run_cli("template", str(out)).returncode == 0
    wb = load_workbook(out)
    for nt in NODE_TYPES:
        ws = wb[nt.sheet]
        assert ws.freeze_panes == "B2" and ws.auto_filter.ref.startswith("A1:") and ws.print_title_rows == "$1:$1"
        for j, col in enumerate(nt.columns, 1):
            letter = ws.cell(row=1, column=j).column_letter
            width = ws.column_dimensions[letter].width
            assert width * 2 >= text_width(col.header)  # a header needs at most two lines
            if col.kind is Kind.USCC:
                assert width >= 21  # room for the 18 characters before anything is typed
    recs = survey_records()
    ledger = write_ledger(tmp_path / "l.xlsx", recs)[0]
    wb = load_workbook(ledger)
    for nt in NODE_TYPES:
        ws = wb[nt.sheet]
        for j, col in enumerate(nt.columns, 1):
            cells = [ws.cell(row=i, column=j) for i in range(2, ws.max_row + 1)]
            texts = [str(c.value) for c in cells if isinstance(c.value, str)]
            need = min(max((text_width(t) for t in texts), default=0), MAX_WIDTH)
            assert ws.column_dimensions[cells[0].column_letter if cells else "A"].width >= need
            if col.kind is Kind.DATE:
                assert all(c.is_date and c.number_format == "yyyy-mm-dd" for c in cells if c.value is not None)
