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
from loaders.template import default_cell


def _env(tmp_path):
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "SITEGRAPH_DB": str(tmp_path / "absent.db")}


def test_xlsx_template_headers_notes_and_dropdowns(tmp_path):
    out = tmp_path / "台账模板.xlsx"
    r = run_cli("template", str(out))
    assert r.returncode == 0, r.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == [nt.sheet for nt in NODE_TYPES]
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
