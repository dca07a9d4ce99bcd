"""The columnar row check (loaders/columnar.py) against the per-row one (loaders/rows.py).

A generated survey is written with other spellings and with errors planted in random
cells (blanks, units, full width, impossible dates, mistyped enums, USCCs of the wrong
length or typed as numbers, negative and fractional counts, …), as CSV and as a
workbook; both paths must give the same records for every row and the same problems —
code, file, sheet, row, column, value, parameters and text, in both languages.
"""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from graphmodel.schema import NODES, Column
from loaders.columnar import check_rows
from loaders.generate import generate, write_survey_files
from loaders.readers import open_survey
from loaders.rows import check_row
from loaders.survey import check
from loaders.template import default_cell, write_ledger
from tests.ledgers import variant_cell

# Cells that are wrong, or right in an unusual spelling, whatever the column.
NASTY = ["", " ", "\u3000", "abc", "-3", "1.5", "０", "１２３", "1,234", "1e3", "3200㎡", "5000元", "10人",
         "2024-02-30", "2024/13/01", "2024-1-5", "20241105", "45000", "1949-01-01", "2024年11月5日",
         "TRUE", "是 ", "√", "maybe", "已消号", " 一般隐患", "91140300MA0K7Y3H2", "91140300ma0k7y3h2x",
         "9114 0300 MA0K 7Y3H 2X", "ＡＢＣ", "a；b；", "、", "TMP-1", "\ufeffx", "12345678901234567890",
         "1.0", "007", "9" * 16]
WORKBOOK_NASTY = NASTY + [3, -1, 2.5, 0, 1, True, False, 9.114e17, dt.date(2024, 11, 5), dt.datetime(2024, 1, 2, 3, 4),
                          45123, 20241105]


def _planted(seed: int, workbook: bool, rate: float = 0.04):
    rng = random.Random(seed)
    pool = WORKBOOK_NASTY if workbook else NASTY

    def cell(col: Column, v):
        r = rng.random()
        if r < rate:
            return rng.choice(pool)
        if r < 3 * rate:
            return variant_cell(col, v)
        return default_cell(col, v, excel=workbook)

    return cell


def _typed(records: list[dict]) -> list:
    """Records with each value's type (1, 1.0 and True are equal in Python, not in the store)."""
    return [[(k, type(v).__name__, v) for k, v in r.items()] for r in records]


def _problems(checked) -> list:
    return [(p, p.reason("zh"), p.reason("en")) for p in checked.problems]


def _both(path: Path, monkeypatch):
    monkeypatch.setenv("SITEGRAPH_ROWWISE", "1")
    slow = check(path)
    monkeypatch.delenv("SITEGRAPH_ROWWISE")
    fast = check(path)
    return slow, fast


@pytest.fixture(scope="module")
def survey():
    return generate(enterprises=120, seed=16, provisional=0.1)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_planted_errors_same_problems_and_values(survey, tmp_path, monkeypatch, fmt):
    out = tmp_path / ("s.xlsx" if fmt == "xlsx" else "s")
    write_ledger(out, survey.records, format=fmt, cell=_planted(16, fmt == "xlsx"))
    slow, fast = _both(out, monkeypatch)
    assert len(slow.errors) > 100  # the planted errors are found …
    codes = {p.code for p in slow.errors}
    assert {"BAD_DATE", "BAD_INT", "BAD_BOOL", "BAD_ENUM", "VALUE_REQUIRED", "NEGATIVE"} <= codes
    assert codes & {"BAD_USCC_LENGTH", "BAD_USCC_CHARS", "USCC_AS_NUMBER"}
    assert _problems(fast) == _problems(slow)  # … the same by both paths
    # every row's values, failed or not, and its problems, sheet by sheet
    with open_survey(out) as s:
        compared = 0
        for sh in s.sheets:
            rows = [c for _, c in sh.rows()]
            values, failed = check_rows(sh.nt, rows)
            for i, cells in enumerate(rows):
                want = check_row(sh.nt, cells)
                got = failed.get(i)
                assert _typed([values[i]]) == _typed([want.values]), (sh.sheet, i)
                assert (got.problems if got else []) == want.problems, (sh.sheet, i)
                assert (got.complete if got else True) == want.complete
                compared += 1
    assert compared == sum(len(v) for v in survey.records.values())


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_valid_survey_same_records(tmp_path, monkeypatch, fmt):
    # other spellings of every kind, shuffled columns: no error, the same records
    survey = generate(enterprises=120, seed=17)
    write_survey_files(survey, tmp_path, fmt, variant_spellings=True)
    slow, fast = _both(tmp_path / "survey.xlsx" if fmt == "xlsx" else tmp_path, monkeypatch)
    assert slow.ok and fast.ok
    assert {k: _typed(v) for k, v in fast.records.items()} == {k: _typed(v) for k, v in slow.records.items()}
    assert sum(len(v) for v in fast.records.values()) == sum(len(v) for v in survey.records.values())
    assert _problems(fast) == _problems(slow)


def test_canonical_cells_take_the_column_path():
    # the cells polars reads itself give the per-cell parser's value, type included
    nt = NODES["Tenancy"]
    rows = [{"tenancy_id": f"T{i}", "lessor_uscc": "91140300MA0K7Y3H2X", "lessee_uscc": "91140300MA0K7Y3H3X",
             "building_id": " B1 ", "floor": "B1", "area": "12.5", "workers": "007", "start_date": "2024-11-05",
             "end_date": "2024-02-30"} for i in range(3)]
    values, failed = check_rows(nt, rows)
    want = [check_row(nt, r) for r in rows]
    assert [w.values for w in want] == values
    assert [type(v) for v in values[0].values()] == [type(v) for v in want[0].values.values()]
    assert values[0]["workers"] == 7 and values[0]["area"] == 12.5 and values[0]["underground"] is True
    assert sorted(failed) == [0, 1, 2] and all(f.problems == w.problems for f, w in zip(failed.values(), want))
    assert [p.code for p in want[0].problems] == ["BAD_DATE"]



def test_lists_and_check_characters_over_the_column():
    # lists split by polars and USCC check characters computed over the column, as per cell
    from loaders.columnar import _uscc_valid
    from loaders.values import is_valid_uscc

    nt = NODES["Inspection"]
    good = "91140300MA0K7Y3H2X"
    cells = ["张三、李四", " 张三；李四；", "a,,b", "、", "王五，赵六", "x\x1fy", "１号、２号", "甲; 乙 ;"]
    rows = [{"inspection_id": f"I{i}", "date": "2024-11-05", "agency": "应急局", "inspectors": c,
             "uscc": good, "hazard_ids": c, "actions": ("责令改正、罚款" if i % 2 else "责令改正；准予复产")}
            for i, c in enumerate(cells)]
    values, failed = check_rows(nt, rows)
    want = [check_row(nt, r) for r in rows]
    assert values == [w.values for w in want]
    assert values[1]["inspectors"] == ["张三", "李四"] and values[0]["inspectors"] is not values[2]["inspectors"]
    assert {i: f.problems for i, f in failed.items()} == {i: w.problems for i, w in enumerate(want) if w.problems}
    codes = [r["uscc"] for r in generate(enterprises=60, seed=5).records["Enterprise"]]
    codes += [c[:17] + ("0" if c[17] != "0" else "1") for c in codes[:20]] + ["ABC", None, good.lower()]
    got = _uscc_valid(codes)
    assert [g for g in got if g is not None] == [is_valid_uscc(c) for c, g in zip(codes, got) if g is not None]
    assert got.count(False) >= 20 and got[-3:] == [None, None, None]


def test_lease_loops_are_looked_for_only_where_leases_loop():
    from loaders.validate import _has_cycle

    assert not _has_cycle({("a", "b"), ("b", "c"), ("a", "c")})  # a sublease chain, two ways down
    assert _has_cycle({("a", "b"), ("b", "a")})
    assert _has_cycle({("x", "a"), ("a", "b"), ("b", "c"), ("c", "a")})  # a loop behind an entry
    assert not _has_cycle({("a", "b")})
