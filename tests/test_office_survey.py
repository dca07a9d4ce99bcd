"""Done when (issue 14): an office-style workbook made from a generated survey — title rows,
序号, synonyms and folded headers, a two-row 五落实 header, units in cells (元 in a 万元
column too), value synonyms, sheets named like 隐患排查治理台账, parties by name, one sheet
without its key column — validates with exit status 0 and loads without a mapping file,
and every catalogue query then returns exactly what the same survey in the plain format
gives. The converter is tests/office_convert.py.
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from conftest import backends, empty_target, run_cli
from graphmodel.schema import NODES
from loaders.generate import generate
from loaders.survey import check, load
from office_convert import KEYLESS, SHEET_NAMES, derived_keys, office_ledger, plain_ledger
from queries.catalogue import CATALOGUE
from queries.runner import load_catalogue, run_query

SEED, SIZE = 5, 200


def _ledgers(tmp: Path, keyless: str, seed: int = SEED, size: int = SIZE):
    """(office workbook, the plain workbook of the same survey, the survey, the office's cells)."""
    survey = generate(size, seed)
    records = copy.deepcopy(survey.records)
    if keyless == "Hazard":  # an office's hazard ledger has no 隐患编号: no 发现隐患 can name one
        for r in records["Inspection"]:
            r["hazard_ids"] = None
    office, cells = office_ledger(plain_ledger(records, tmp / "plain0.xlsx"), tmp / "郊区排查台账.xlsx", keyless)
    for rec, key in zip(records[keyless], derived_keys(cells, keyless)):  # the keys the office's rows get
        rec[NODES[keyless].key] = key
    return office, plain_ledger(records, tmp / "plain.xlsx"), survey, cells


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory):
    return _ledgers(tmp_path_factory.mktemp("office-survey"), KEYLESS)


WHERE = ("src_file", "src_sheet", "src_row")  # where a record was read from: the office's own sheets and rows
TYPES = {"enterprise": "Enterprise", "building": "Building", "tenancy": "Tenancy", "contract": "Contract"}


def _answers(b, survey) -> tuple[dict[str, list], dict]:
    """Every query's rows (without WHERE, as sorted JSON), and survey-incomplete's WHERE by record."""
    out, where = {}, {}
    for spec in load_catalogue():
        params = {"as_of": survey.as_of} if any(p.name == "as_of" for p in spec.params) else {}
        run = run_query(b, spec, params, include_personal=True)
        out[spec.id] = sorted(json.dumps({k: v for k, v in r.items() if k not in WHERE}, ensure_ascii=False,
                                         sort_keys=True, default=str) for r in run.rows)
        if spec.id == "survey-incomplete":
            where = {(r["record_type"], r["id"]): (r["src_sheet"], r["src_row"]) for r in run.rows}
    return out, where


def test_the_office_workbook_has_what_offices_write(ledgers):
    """The converter really wrote the office's shapes (else the comparison proves nothing)."""
    from openpyxl import load_workbook

    office, _, _, cells = ledgers
    wb = load_workbook(office)
    assert set(wb.sheetnames) == set(SHEET_NAMES.values())
    hz = wb[SHEET_NAMES["Hazard"]]
    assert "隐患排查治理台账" in hz.title and hz.cell(1, 1).value.startswith("郊区")
    assert hz.cell(4, 1).value == "序号"
    head4 = [c.value for c in hz[4]]
    head5 = [c.value for c in hz[5]]
    j = head4.index("五落实")
    assert head5[j: j + 5] == ["责任人", "整改措施", "整改资金（万元）", "整改期限", "应急预案"]
    funds = [r["funds"] for r in cells["Hazard"] if isinstance(r["funds"], str)]
    assert any(f.endswith("万元") for f in funds) and any(f.endswith("元") and not f.endswith("万元") for f in funds)
    assert any(r["status"] in ("已完成", "已闭环", "正在整改", "未完成") for r in cells["Hazard"])
    ten = wb[SHEET_NAMES["Tenancy"]]
    assert "租赁编号" not in [c.value for c in ten[4]]  # no key column
    names = {r["name"] for r in cells["Enterprise"]}
    by_name = sum(1 for label in ("Tenancy", "Building", "Hazard", "Inspection") for r in cells[label]
                  for k, v in r.items() if v in names)
    assert by_name > 50
    assert any(isinstance(r["area"], str) and r["area"].endswith(("㎡", "m2", "平方米")) for r in cells["Tenancy"])


def test_office_workbook_validates_with_exit_0_without_a_mapping(ledgers, tmp_path):
    office = ledgers[0]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "SITEGRAPH_DB": str(tmp_path / "absent.db")}
    r = run_cli("validate", str(office), env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 个错误" in r.stderr
    c = check(office)
    codes = {p.code for p in c.problems}
    assert codes <= {"SHEET_TAKEN_AS", "KEY_DERIVED", "PARTY_BY_NAME", "TITLE_DATE", "USCC_CHECK"}, codes  # USCC_CHECK: planted
    (title,) = [p for p in c.problems if p.code == "TITLE_DATE"]  # offered once, never used
    assert title.params["date"] == "2024-11-30" and title.row == 2
    assert not c.not_imported, [(p.sheet, p.value) for p in c.not_imported]
    (derived,) = [p for p in c.problems if p.code == "KEY_DERIVED"]
    assert derived.sheet == "出租情况" and derived.params["example"].startswith("ZL-")
    taken = {p.sheet: p.reason() for p in c.problems if p.code == "SHEET_TAKEN_AS"}
    assert taken["隐患排查治理台账"] == "已按“隐患”表读取（表名含“隐患”）"
    assert taken["出租情况"].startswith("已按“租赁”表读取（按列名识别")


@pytest.mark.parametrize("kind", backends())
def test_every_query_returns_what_the_plain_survey_gives(ledgers, tmp_path, request, kind):
    office, plain, survey, _ = ledgers
    (got, got_where), (want, want_where) = _load_both(office, plain, survey, kind, request, tmp_path)
    assert set(got) == set(CATALOGUE)
    differ = [q for q in CATALOGUE if got[q] != want[q]]
    assert not differ, {q: (len(got[q]), len(want[q])) for q in differ}
    assert sum(1 for q in CATALOGUE if want[q]) >= 20  # the survey exercises the pack
    # where each record was read from: the office's sheet, below its three title rows
    assert got_where.keys() == want_where.keys() and got_where
    for (kind_, key), (sheet, row) in got_where.items():
        plain_sheet, plain_row = want_where[(kind_, key)]
        assert (sheet, row) == (SHEET_NAMES[TYPES[kind_]], plain_row + 3), (kind_, key)


def _load_both(office: Path, plain: Path, survey, kind: str, request, tmp_path: Path) -> list[tuple[dict, dict]]:
    """Each ledger into a store of its own, without a mapping: the answers of each."""
    answers = []
    for name, path in (("office", office), ("plain", plain)):
        (tmp_path / name).mkdir()
        t = empty_target(kind, request, tmp_path / name)
        with t.open(write=True) as b:
            out = load(path, b, source="郊区")  # no mapping
            assert out.checked.ok
            answers.append(_answers(b, survey))
    return answers


def _compare(office: Path, plain: Path, survey, kind: str, request, tmp_path: Path) -> tuple[dict, dict]:
    (got, _), (want, _) = _load_both(office, plain, survey, kind, request, tmp_path)
    return got, want


def test_a_hazard_ledger_without_hazard_ids_loads_as_the_plain_one(tmp_path, request):
    """The contract's own example: hazards keyed by party + 发现日期 + 隐患描述; a generated survey
    has distinct hazards that share those (numbered -2 …), and every query still agrees."""
    (tmp_path / "src").mkdir()
    office, plain, survey, cells = _ledgers(tmp_path / "src", "Hazard", seed=7, size=300)
    keys = derived_keys(cells, "Hazard")
    assert any(k.endswith("-2") for k in keys) and len(set(keys)) == len(keys)
    c = check(office)
    assert c.ok, [(p.code, p.sheet, p.row, p.reason()) for p in c.errors[:10]]
    assert sorted(r["hazard_id"] for r in c.records["Hazard"]) == sorted(keys)
    got, want = _compare(office, plain, survey, "embedded", request, tmp_path)
    differ = [q for q in CATALOGUE if got[q] != want[q]]
    assert not differ, {q: (len(got[q]), len(want[q])) for q in differ}


def test_loading_the_office_workbook_again_changes_nothing(ledgers, tmp_path, request):
    """Derived keys are stable: the same rows again are the same records."""
    office = ledgers[0]
    t = empty_target("embedded", request, tmp_path)
    with t.open(write=True) as b:
        first = load(office, b, source="郊区")
        again = load(office, b, source="郊区")
    n = len(ledgers[2].records[KEYLESS])
    assert first.report.labels[KEYLESS].created == n
    assert again.report.labels[KEYLESS].unchanged == n and not again.report.changed
