"""Malformed surveys are refused whole, with a message a survey team can act on.

Each case runs the real `sitegraph load` on a graph already holding a survey, and
asserts: exit status 1; the problem named with its row and column (on stderr and in the
--report file); and the graph unchanged (`sitegraph info --format json` and every
business property, before and after). The graph is seeded once per backend: since no
case may change it, every case also checks that the ones before it did not.
"""
from __future__ import annotations

import copy
import datetime as dt
import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import BACKENDS, Target, empty_target
from graphmodel.schema import NODES
from ledgers import E1, E2, E3, E4, E5, graph_state, info, rows_of, seed, sg, survey_records, uscc, workbook


@dataclass
class Seeded:
    target: Target
    before: dict
    state: dict


def _seed(kind: str, request, tmp_path_factory) -> Seeded:
    t = empty_target(kind, request, tmp_path_factory.mktemp("malformed"))
    seed(t, source="base")
    b = t.open()
    try:
        state = graph_state(b)
    finally:
        b.close()
    return Seeded(t, info(t), state)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request, tmp_path_factory) -> Seeded:
    """A graph holding the base survey, on each backend: for cases that read the graph."""
    return _seed(request.param, request, tmp_path_factory)


@pytest.fixture(scope="module")
def seeded_local(request, tmp_path_factory) -> Seeded:
    """The same on the embedded store only: for problems found before the graph is consulted
    (file, header and cell problems), where both backends run the very same path."""
    return _seed("embedded", request, tmp_path_factory)


def rejected(seeded: Seeded, path: Path, code: str, *, row: int | None = None, column: str | None = None,
             lang: str = "zh", file: str | None = None) -> dict:
    """Run the load; assert exit 1, the problem located, and the graph unchanged."""
    report = path.parent / f"report-{code}.csv"
    r = sg(seeded.target, "load", str(path), "--lang", lang, "--report", str(report))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "未导入任何数据" in r.stderr or "nothing was loaded" in r.stderr
    with open(report, encoding="utf-8-sig", newline="") as f:
        problems = list(csv.DictReader(f))
    code_col, row_col, col_col, file_col = (("代码", "行号", "列", "文件") if lang != "en"
                                            else ("code", "row", "column", "file"))
    hits = [p for p in problems if p[code_col] == code]
    assert hits, f"no {code} in {problems}"
    p = hits[0]
    if row is not None:
        assert p[row_col] == str(row), p
    if column is not None:
        assert p[col_col] == column, p
        # the table on stderr shows the problem on one line with its row and column
        assert any(column in ln and (row is None or f"│ {row} " in ln) for ln in r.stderr.splitlines()), r.stderr
    assert p[file_col] == (file or path.name), p
    assert info(seeded.target) == seeded.before
    b = seeded.target.open()
    try:
        assert graph_state(b) == seeded.state
    finally:
        b.close()
    return p


# --- building blocks ------------------------------------------------------------------------

R = survey_records()


def rec(label: str, i: int = 0, **kw) -> dict:
    return dict(copy.deepcopy(R[label][i]), **kw)


def book(tmp: Path, label: str, records: list[dict], patch: dict[tuple[int, str], Any] | None = None,
         name: str = "survey.xlsx", extra: dict | None = None) -> Path:
    """A workbook with one sheet of records; patch[(row, header)] overrides raw cells (row as Excel's)."""
    rows = rows_of(label, records)
    for (r, header), v in (patch or {}).items():
        rows[r - 1][rows[0].index(header)] = v
    return workbook(tmp / name, {NODES[label].sheet: rows, **(extra or {})})


D = dt.date

NEW = uscc("91140302MA0L00777")  # an enterprise the graph does not hold yet


def new_ent(**kw) -> dict:
    return rec("Enterprise", 0, **{"uscc": NEW, "name": "新登记企业", **kw})


# (id, builder, code, row, column header)
Case = tuple[str, Callable[[Path], Path], str, int, str]

CELL_CASES: list[Case] = [
    ("bool", lambda t: book(t, "Tenancy", [rec("Tenancy", 0)], {(2, "安全管理协议"): "签了"}), "BAD_BOOL", 2, "安全管理协议"),
    ("date", lambda t: book(t, "Tenancy", [rec("Tenancy", 0)], {(2, "起租日期"): "2024-02-30"}), "BAD_DATE", 2, "起租日期"),
    ("int", lambda t: book(t, "Tenancy", [rec("Tenancy", 0)], {(2, "入驻人数"): "十八"}), "BAD_INT", 2, "入驻人数"),
    ("negative", lambda t: book(t, "Tenancy", [rec("Tenancy", 0)], {(2, "租赁面积"): "-30"}), "NEGATIVE", 2, "租赁面积"),
    ("number", lambda t: book(t, "Building", [rec("Building", 0)], {(2, "建筑面积"): "约一万"}), "BAD_NUMBER", 2, "建筑面积"),
    ("enum", lambda t: book(t, "Tenancy", [rec("Tenancy", 0)], {(2, "承租用途"): "养殖"}), "BAD_ENUM", 2, "承租用途"),
    ("enum-list", lambda t: book(t, "Contract", [rec("Contract", 0)], {(2, "高风险作业"): "动火作业、爬高"}),
     "BAD_ENUM_ITEMS", 2, "高风险作业"),
    ("required", lambda t: book(t, "Enterprise", [rec("Enterprise", 1), new_ent()], {(3, "企业名称"): "  "}),
     "VALUE_REQUIRED", 3, "企业名称"),
    ("uscc-length", lambda t: book(t, "Enterprise", [new_ent()], {(2, "统一社会信用代码"): "91140302MA0L0077"}),
     "BAD_USCC_LENGTH", 2, "统一社会信用代码"),
    ("uscc-chars", lambda t: book(t, "Enterprise", [new_ent()], {(2, "统一社会信用代码"): "91140302MA0L0077IO"}),
     "BAD_USCC_CHARS", 2, "统一社会信用代码"),
    ("uscc-number", lambda t: book(t, "Tenancy", [rec("Tenancy", 0)], {(2, "承租方"): 9.11403021234567e17}),
     "USCC_AS_NUMBER", 2, "承租方"),
    ("duplicate-key", lambda t: book(t, "Tenancy", [rec("Tenancy", 0), rec("Tenancy", 1), rec("Tenancy", 2, tenancy_id="T1")]),
     "DUPLICATE_KEY", 4, "租赁编号"),
    ("unresolved-ref", lambda t: book(t, "Tenancy", [rec("Tenancy", 0, tenancy_id="T7", building_id="B404")]),
     "REF_UNRESOLVED", 2, "建筑编码"),
    ("unresolved-ref-list", lambda t: book(t, "Inspection", [rec("Inspection", 0, hazard_ids=["H1", "H404"])]),
     "REF_UNRESOLVED", 2, "发现隐患"),
    ("lessor-is-lessee", lambda t: book(t, "Tenancy", [rec("Tenancy", 0, lessee_uscc=E1)]), "SAME_PARTY", 2, "承租方"),
    ("no-place", lambda t: book(t, "Contract", [rec("Contract", 1), rec("Contract", 0, building_id=None)]), "NO_PLACE", 3,
     "作业建筑编码"),
    ("lessor-not-entitled", lambda t: book(t, "Tenancy", [rec("Tenancy", 0, tenancy_id="T8", lessor_uscc=E5, lessee_uscc=E2)]),
     "LESSOR_NOT_ENTITLED", 2, "出租方"),
    ("site-loop", lambda t: book(t, "Site", [rec("Site", 0, site_id="P8", parent_site_id="P9"),
                                             rec("Site", 1, site_id="P9", parent_site_id="P8")]), "SITE_LOOP", 2, "上级园区编码"),
    # the graph has YQ-P2 inside YQ-P1; the survey puts YQ-P1 inside YQ-P2
    ("site-loop-through-graph", lambda t: book(t, "Site", [rec("Site", 0, parent_site_id="YQ-P2")]), "SITE_LOOP", 2,
     "上级园区编码"),
    # the graph has T1 E1→E3 and T2 E3→E4 on B1; the survey lets E4 sub-let back to E3
    ("lease-loop-through-graph", lambda t: book(t, "Tenancy", [rec("Tenancy", 2, tenancy_id="T4", lessor_uscc=E4,
                                                                   lessee_uscc=E3, building_id="B1")]),
     "LEASE_LOOP", 2, "出租方"),
    ("end-before-start", lambda t: book(t, "Tenancy", [rec("Tenancy", 0)], {(2, "到期日期"): "2022/12/31"}), "DATE_ORDER", 2,
     "到期日期"),
    ("closed-without-date", lambda t: book(t, "Hazard", [rec("Hazard", 1), rec("Hazard", 0, closed_on=None)]),
     "REQUIRED_WHEN", 3, "销号日期"),
    # version 2: the closed loop of a hazard and its 挂牌督办 (H1 was found on 2024-11-12)
    ("rectified-before-found", lambda t: book(t, "Hazard", [rec("Hazard", 0, rectified_on=D(2024, 11, 1))]),
     "DATE_ORDER", 2, "整改完成日期"),
    ("accepted-before-found", lambda t: book(t, "Hazard", [rec("Hazard", 0, accepted_on=D(2024, 11, 11))]),
     "DATE_ORDER", 2, "验收日期"),
    ("delisted-before-listed", lambda t: book(t, "Hazard", [rec("Hazard", 0, delisted_on=D(2024, 11, 11))]),
     "DATE_ORDER", 2, "摘牌日期"),
    ("level-without-supervision", lambda t: book(t, "Hazard", [rec("Hazard", 1), rec("Hazard", 0, supervised=False,
                                                               supervised_on=None, supervision_deadline=None,
                                                               delisted_on=None)]),
     "BLANK_WHEN", 3, "挂牌级别"),
    ("listed-without-supervision", lambda t: book(t, "Hazard", [rec("Hazard", 0, supervised=False, supervision_level=None,
                                                                supervision_deadline=None, delisted_on=None)]),
     "BLANK_WHEN", 2, "挂牌日期"),
    ("deadline-without-supervision", lambda t: book(t, "Hazard", [rec("Hazard", 0, supervised=False,
                                                                  supervision_level=None, supervised_on=None,
                                                                  delisted_on=None)]),
     "BLANK_WHEN", 2, "督办期限"),
    ("verdict-without-date", lambda t: book(t, "Hazard", [rec("Hazard", 0, accepted_on=None)]),
     "REQUIRED_WITH", 2, "验收日期"),
    ("missing-column", lambda t: workbook(t / "survey.xlsx", {"租赁": [[c for c in rows_of("Tenancy", [])[0] if c != "承租方"]]}),
     "COLUMN_MISSING", 1, "承租方"),
    ("duplicate-header", lambda t: workbook(t / "survey.xlsx", {"租赁": [rows_of("Tenancy", [])[0] + ["出租方"]]}),
     "HEADER_DUPLICATE", 1, "出租方"),
]


# Cases whose check reads the graph (references, owners, leases and parents already loaded).
GRAPH_IDS = {"duplicate-key", "unresolved-ref", "unresolved-ref-list", "lessor-not-entitled",
             "site-loop-through-graph", "lease-loop-through-graph"}
GRAPH_CASES = [c for c in CELL_CASES if c[0] in GRAPH_IDS]
LOCAL_CASES = [c for c in CELL_CASES if c[0] not in GRAPH_IDS]


@pytest.mark.parametrize("case", GRAPH_CASES, ids=[c[0] for c in GRAPH_CASES])
def test_problems_checked_against_the_graph(seeded, tmp_path, case):
    _, build, code, row, column = case
    rejected(seeded, build(tmp_path), code, row=row, column=column)


@pytest.mark.parametrize("case", LOCAL_CASES, ids=[c[0] for c in LOCAL_CASES])
def test_cell_and_row_problems(seeded_local, tmp_path, case):
    _, build, code, row, column = case
    rejected(seeded_local, build(tmp_path), code, row=row, column=column)


def test_english_messages_name_the_english_key(seeded_local, tmp_path):
    path = book(tmp_path, "Contract", [rec("Contract", 0, contractor_uscc=E1)])
    p = rejected(seeded_local, path, "SAME_PARTY", row=2, column="contractor_uscc", lang="en")
    assert p["reason"] == "contractor_uscc must differ from client_uscc" and p["severity"] == "error"


def test_version_2_rules_in_english(seeded_local, tmp_path):
    path = book(tmp_path, "Hazard", [rec("Hazard", 0, supervised=False, supervised_on=None, supervision_deadline=None,
                                         delisted_on=None)])
    p = rejected(seeded_local, path, "BLANK_WHEN", row=2, column="supervision_level", lang="en")
    assert p["reason"].startswith("supervision_level must be blank when supervised is recorded 'no'"), p
    path = book(tmp_path, "Hazard", [rec("Hazard", 0, accepted_on=None)], name="second.xlsx")
    p = rejected(seeded_local, path, "REQUIRED_WITH", row=2, column="accepted_on", lang="en")
    assert p["reason"] == "accepted_on is required when acceptance is filled ('通过')", p


def test_supervision_columns_with_supervised_blank_or_yes_are_accepted(tmp_path):
    """Only an explicit 否 contradicts 挂牌级别/挂牌日期/督办期限: blank (not surveyed) and 是 do not."""
    from loaders.survey import check
    for supervised in (None, True):
        path = book(tmp_path, "Hazard", [rec("Hazard", 1), rec("Hazard", 0, supervised=supervised)],
                    name=f"ok-{supervised}.xlsx", extra={"企业": rows_of("Enterprise", R["Enterprise"]),
                                                        "建筑": rows_of("Building", R["Building"]),
                                                        "园区厂区": rows_of("Site", R["Site"])})
        checked = check(path)
        assert checked.ok, [p.reason() for p in checked.errors]


def test_one_bad_row_keeps_every_good_sheet_out(seeded, tmp_path):
    """Never half-load: valid new enterprises and buildings are not written either."""
    extra = {"企业": rows_of("Enterprise", [new_ent()]),
             "建筑": rows_of("Building", [rec("Building", 0, building_id="B9", owner_uscc=NEW)])}
    path = book(tmp_path, "Tenancy", [rec("Tenancy", 0, tenancy_id="T9", lessor_uscc=NEW, building_id="B9"),
                                      rec("Tenancy", 1, tenancy_id="T10")], {(3, "楼层"): None, (3, "到期日期"): "明年"},
                extra=extra)
    rejected(seeded, path, "BAD_DATE", row=3, column="到期日期")


# --- files that cannot be read -----------------------------------------------------------------

def test_corrupt_workbook(seeded_local, tmp_path):
    path = tmp_path / "城区.xlsx"
    path.write_bytes(b"PK\x03\x04 this was cut off in the e-mail")
    rejected(seeded_local, path, "FILE_CORRUPT")


def test_zip_that_is_not_a_workbook(seeded_local, tmp_path):
    path = tmp_path / "城区.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    rejected(seeded_local, path, "FILE_CORRUPT")


def test_empty_workbook_file(seeded_local, tmp_path):
    path = tmp_path / "城区.xlsx"
    path.write_bytes(b"")
    rejected(seeded_local, path, "FILE_EMPTY")


def test_empty_csv_file(seeded_local, tmp_path):
    d = tmp_path / "城区"
    d.mkdir()
    (d / "企业.csv").write_text(",".join(rows_of("Enterprise", [])[0]) + "\n" + ",".join(
        str(v or "") for v in rows_of("Enterprise", [new_ent()])[1]) + "\n", encoding="utf-8")
    (d / "租赁.csv").write_bytes(b"\xef\xbb\xbf\r\n")
    rejected(seeded_local, d, "FILE_EMPTY", file="租赁.csv")


def test_workbook_without_a_known_sheet(seeded_local, tmp_path):
    path = workbook(tmp_path / "城区.xlsx", {"Sheet1": [["企业", "地址"], ["某公司", "某路"]]})
    rejected(seeded_local, path, "NO_SHEETS")


def test_old_xls_format(seeded_local, tmp_path):
    path = tmp_path / "城区.xls"
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    rejected(seeded_local, path, "FILE_XLS")


def _csv_folder(tmp: Path, label: str, records: list[dict]) -> tuple[Path, str]:
    d = tmp / "城区"
    d.mkdir()
    rows = rows_of(label, records)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(["" if v is None else v.isoformat() if hasattr(v, "isoformat") else v for v in r])
    return d, buf.getvalue()


def test_unbalanced_quotes(seeded_local, tmp_path):
    d, text = _csv_folder(tmp_path, "Tenancy", [rec("Tenancy", 0, tenancy_id="T7"), rec("Tenancy", 1, tenancy_id="T8")])
    lines = text.splitlines()
    lines[1] = lines[1].replace("金属件喷涂", '"金属件喷涂')  # the quote is never closed
    (d / "租赁.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejected(seeded_local, d, "CSV_QUOTES", row=2, column="主要产品工艺", file="租赁.csv")


def test_wrong_encoding(seeded_local, tmp_path):
    # one name pasted from a Windows-1252 file: the bytes are neither UTF-8 nor GB18030
    d, text = _csv_folder(tmp_path, "Enterprise", [new_ent(name="Café Müller")])
    data = text.encode("utf-8").replace("Café Müller".encode(), "Café Müller".encode("cp1252"))
    (d / "企业.csv").write_bytes(data)
    rejected(seeded_local, d, "ENCODING", row=2, column="企业名称", file="企业.csv")


def test_utf16_text_export(seeded_local, tmp_path):
    d, text = _csv_folder(tmp_path, "Enterprise", [new_ent()])
    (d / "企业.csv").write_bytes(text.replace(",", "\t").encode("utf-16"))
    rejected(seeded_local, d, "ENCODING_UTF16", file="企业.csv")


def test_unquoted_comma_shifts_a_row(seeded_local, tmp_path):
    d, text = _csv_folder(tmp_path, "Enterprise", [new_ent(address="荫营镇工业路1号")])
    from openpyxl.utils import get_column_letter

    from graphmodel.schema import NODES

    # the address split into enough cells that the last filled one (经营状态, the 17th column)
    # lands beyond the headers, whatever optional columns follow it
    n = len(NODES["Enterprise"].columns)
    extra = "".join(f",{i + 2}号院" for i in range(n - 16))
    (d / "企业.csv").write_text(text.replace("荫营镇工业路1号", "荫营镇工业路1号" + extra), encoding="utf-8")
    p = rejected(seeded_local, d, "ROW_TOO_LONG", row=2, file="企业.csv")
    assert p["列"] == get_column_letter(n + 1)  # the first cell beyond the headers


def test_header_row_without_a_known_column(seeded_local, tmp_path):
    path = workbook(tmp_path / "城区.xlsx", {"企业": [["2024年城区企业排查台账"], ["统一社会信用代码", "企业名称"]]})
    rejected(seeded_local, path, "HEADER_NONE", row=1)
