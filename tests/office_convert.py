"""A plain sitegraph ledger rewritten as a township office keeps its own (real-ledgers.md):
the converter behind tests/test_office_survey.py.

`plain_ledger(records, path)` writes a generated survey in the plain format;
`office_ledger(plain, out)` rewrites that workbook as an office would have typed it:

- sheets named as offices name them (企业基本信息表, 隐患排查治理台账, 劳务派遣用工, 出租情况 …);
- a merged title row, a 填报单位/填报日期 line and a blank row above the header;
- a 序号 column first;
- headers as real forms write them: a synonym where the schema declares one, the unit in
  brackets (full width), a trailing ＊ on required columns, a line break in long headers;
- a two-row header on the hazards: 五落实 merged over 责任人/整改措施/整改资金（万元）/整改期限/应急预案;
- units in cells (`3200㎡`, `10人`, `6个月`, `1.5万元`, and `15000元` in the 万元 column);
- value synonyms (已完成 for 已整改, 重大事故隐患 for 重大, 丙类, 有/无, √/×, 2024年11月20日);
- parties by name in every third party reference whose name is unique;
- no key column on the 租赁 sheet (its keys are derived from the rows): `derived_keys`
  gives the plain ledger the same keys, so the two must load to the same graph.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from graphmodel.schema import NODES, NODE_TYPES, Column, Kind
from loaders.keys import derive_key
from loaders.party_names import fold_name
from loaders.template import write_ledger
from loaders.values import display, parse_cell

SHEET_NAMES = {
    "Enterprise": "企业基本信息表", "Site": "园区厂区登记表", "Building": "建筑物台账", "Tenancy": "出租情况",
    "Contract": "外包外委合同台账", "Dispatch": "劳务派遣用工", "Operation": "高风险作业场所台账",
    "Hazard": "隐患排查治理台账", "Inspection": "执法检查记录",
}
KEYLESS = "Tenancy"  # the sheet handed in without its key column (office_ledger(keyless=…) for another)
FIVE = ("responsible_person", "measures", "funds", "deadline", "contingency_plan")  # 五落实, in this order
FIVE_HEADERS = {"responsible_person": "责任人", "measures": "整改措施", "funds": "整改资金（万元）",
                "deadline": "整改期限", "contingency_plan": "应急预案"}
STATUS = {"未整改": "未完成", "整改中": "正在整改", "已整改": "已完成", "已销号": "已闭环"}
LEVEL = {"一般": "一般隐患", "重大": "重大事故隐患"}
UNIT_TEXT = {"㎡": ("㎡", " m2", "平方米"), "人": ("人", " 人"), "月": ("个月",), "层": ("层",), "万元": ("万元",)}
BRACKET = {"㎡": "（㎡）", "人": "（人）", "月": "（月）", "层": "（层）", "万元": "（万元）"}


def plain_ledger(records: dict[str, list[dict]], path: Path) -> Path:
    """The survey in the plain format (a provisional party's key is its 临时编码, not a USCC cell)."""
    out = {}
    for label, recs in records.items():
        if label == "Enterprise":
            recs = [{**r, "uscc": None} if r.get("provisional_id") and r.get("uscc") == r.get("provisional_id")
                    else r for r in recs]
        out[label] = recs
    write_ledger(path, out, format="xlsx")
    return path


def _header(c: Column, i: int) -> str:
    h = c.synonyms[0] if c.synonyms and i % 2 == 0 else c.header
    if c.unit in BRACKET and "(" not in h and "（" not in h:
        h += BRACKET[c.unit]
    if c.required:
        h += "＊" if i % 3 else "*"
    if len(h) > 6 and i % 2:
        h = h[:3] + "\n" + h[3:]
    return h


def _with_unit(c: Column, v: Any, i: int) -> Any:
    if v is None or isinstance(v, str) or c.unit not in UNIT_TEXT:
        return v
    if c.unit == "万元" and i % 2:
        yuan = Decimal(display(v)) * 10_000
        if yuan == yuan.to_integral_value():
            return f"{int(yuan)}元"  # 元 in a 万元 column: converted on reading
    spellings = UNIT_TEXT[c.unit]
    return f"{display(v)}{spellings[i % len(spellings)]}"


def _cell(c: Column, v: Any, i: int) -> Any:
    if v is None:
        return None
    if c.key == "status" and c.enum == tuple(STATUS):
        return STATUS[v] if i % 2 == 0 else v
    if c.key == "level" and v in LEVEL:
        return LEVEL[v] if i % 2 == 0 else v
    if c.kind is Kind.ENUM and c.aliases and i % 2:
        alias = next((a for a, canon in c.aliases if canon == v), None)
        return alias or v
    if c.kind is Kind.BOOL:
        return {"是": ("是", "有", "√")[i % 3], "否": ("否", "无", "×")[i % 3]}.get(v, v)
    if c.kind is Kind.DATE and isinstance(v, dt.datetime) and i % 4 == 1:
        return f"{v.year}年{v.month}月{v.day}日"
    if c.kind in (Kind.INT, Kind.FLOAT):
        return _with_unit(c, v, i)
    return v


def _read(plain: Path) -> dict[str, list[dict]]:
    """{label: [{key: cell as written}]} of the plain workbook."""
    wb = load_workbook(plain)
    out = {}
    for nt in NODE_TYPES:
        if nt.sheet not in wb.sheetnames:
            continue
        rows = list(wb[nt.sheet].iter_rows(values_only=True))
        by_header = {c.header: c.key for c in nt.columns}
        keys = [by_header[h] for h in rows[0]]
        out[nt.label] = [dict(zip(keys, r)) for r in rows[1:] if any(x is not None for x in r)]
    return out


def derived_keys(office_rows: dict[str, list[dict]], label: str = KEYLESS) -> list[str]:
    """The keys the keyless sheet's rows get, in order, as docs/office-ledgers.md says: from the
    cells as the office wrote them; a repeat of an earlier row's key columns numbered -2, -3."""
    nt = NODES[label]
    seen: dict[str, int] = {}
    out = []
    for r in office_rows[label]:
        k = derive_key(nt, {c: parse_cell(nt.column(c), r.get(c), units=True) for c in nt.key_from})
        seen[k] = seen.get(k, 0) + 1
        out.append(k if seen[k] == 1 else f"{k}-{seen[k]}")
    return out


def office_ledger(plain: Path, out: Path, keyless: str = KEYLESS) -> tuple[Path, dict]:
    """Rewrite the plain workbook as an office's, the `keyless` sheet without its key column;
    returns (path, the office's cells by label)."""
    rows = _read(plain)
    names = [r.get("name") for r in rows.get("Enterprise", [])]
    codes = [r.get("uscc") or r.get("provisional_id") for r in rows.get("Enterprise", [])]
    folded = [fold_name(n) for n in names]
    unique = {c: n for c, n, f in zip(codes, names, folded) if n and folded.count(f) == 1}
    party_refs = {(nt.label, c.key) for nt in NODE_TYPES for c in nt.refs if c.ref == "Enterprise"}
    office: dict[str, list[dict]] = {}
    n_ref = 0
    for nt in NODE_TYPES:
        recs = rows.get(nt.label)
        if recs is None:
            continue
        cells = []
        for i, r in enumerate(recs):
            o = {}
            for c in nt.columns:
                v = r.get(c.key)
                if (nt.label, c.key) in party_refs and v in unique:
                    n_ref += 1
                    if n_ref % 3 == 0:
                        o[c.key] = unique[v]  # the party by its name
                        continue
                o[c.key] = _cell(c, v, i)
            cells.append(o)
        office[nt.label] = cells
    wb = Workbook()
    wb.remove(wb.active)
    for nt in NODE_TYPES:
        if nt.label in office:
            _sheet(wb, nt, office[nt.label], keyless)
    wb.save(out)
    return out, office


def _sheet(wb: Workbook, nt, recs: list[dict], keyless: str) -> None:
    ws = wb.create_sheet(SHEET_NAMES[nt.label])
    cols = [c for c in nt.columns if not (nt.label == keyless and c.key == nt.key)]
    grouped = nt.label == "Hazard"
    if grouped:  # 五落实 together, in its order
        first = next(i for i, c in enumerate(cols) if c.key in FIVE)
        five = [nt.column(k) for k in FIVE]
        cols = [c for c in cols if c.key not in FIVE]
        cols[first:first] = five
    width = len(cols) + 1
    ws.cell(1, 1, f"郊区{nt.title_zh}排查台账（2024年11月）")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(2, 1, "填报单位：郊区应急管理局（盖章）")
    ws.cell(2, width - 1, "填报日期：2024年11月30日")
    top = 4
    heads: list[tuple[str, str | None]] = [("序号", None)]
    for i, c in enumerate(cols):
        if grouped and c.key in FIVE:
            heads.append(("五落实" if c.key == FIVE[0] else None, FIVE_HEADERS[c.key]))
        else:
            heads.append((_header(c, i), None))
    for j, (h1, h2) in enumerate(heads, 1):
        if h1 is not None:
            ws.cell(top, j, h1)
        if h2 is not None:
            ws.cell(top + 1, j, h2)
    if grouped:
        for j, (h1, h2) in enumerate(heads, 1):
            if h2 is None:
                ws.merge_cells(start_row=top, start_column=j, end_row=top + 1, end_column=j)
        j5 = next(j for j, (h1, _) in enumerate(heads, 1) if h1 == "五落实")
        ws.merge_cells(start_row=top, start_column=j5, end_row=top, end_column=j5 + len(FIVE) - 1)
    first = top + (2 if grouped else 1)
    for i, r in enumerate(recs):
        ws.cell(first + i, 1, i + 1)
        for j, c in enumerate(cols, 2):
            v = r.get(c.key)
            ws.cell(first + i, j, "、".join(v) if isinstance(v, list) else v)
