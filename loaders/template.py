"""Empty ledgers for survey teams, and writing records back out as a ledger.

`write_template(out, format)` writes every sheet of the survey format with its headers;
in a workbook each header carries a note (type, allowed values, required or not, what
to write) and enum and yes/no columns get an Excel drop-down. Everything comes from
graphmodel.schema.

`write_ledger(out, records, …)` writes typed records (label -> list of dicts) in the
ledger format, as a workbook or a folder of CSV files (any encoding, Chinese or English
headers): what a team would hand in. The template is `write_ledger` with no records.
"""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any, Callable

from graphmodel.schema import NODE_TYPES, NODES, Column, Kind, NodeType

KIND_TEXT = {
    Kind.TEXT: ("文本", "text"),
    Kind.INT: ("整数（不能为负）", "whole number (not negative)"),
    Kind.FLOAT: ("数字（不能为负）", "number (not negative)"),
    Kind.BOOL: ("是/否（未排查的留空）", "yes/no (是/否; blank = not surveyed)"),
    Kind.DATE: ("日期，如 2024-11-11", "date, e.g. 2024-11-11"),
    Kind.LIST: ("列表，用“、”或“；”分隔", "list, separated by 、 or ;"),
    Kind.USCC: ("18 位统一社会信用代码（请按文本填写）", "18-character unified social credit code (as text)"),
    Kind.ENUM: ("从下拉列表中选择", "one of the listed values"),
    Kind.ENUM_LIST: ("可多选，用“、”分隔", "several of the listed values, separated by 、"),
    Kind.REF: ("引用", "reference"),
    Kind.REF_LIST: ("引用列表，用“、”分隔", "list of references, separated by 、"),
}

BOOL_CHOICES = ("是", "否")
Cell = Callable[[Column, Any], Any]


def column_note(col: Column, lang: str = "zh") -> str:
    """The note shown on a header: type, required, allowed values, what it means."""
    en = lang == "en"
    lines = [f"{col.header}（{col.key}）" if not en else f"{col.key} ({col.header})"]
    kind = KIND_TEXT[col.kind][1 if en else 0]
    if col.kind in (Kind.REF, Kind.REF_LIST):
        target = NODES[col.ref]
        ref = (f"{target.sheet}表的{target.key_column.header}" if not en
               else f"a {target.key_column.header} of the {target.sheet} ({target.file}) sheet")
        kind = f"{kind}：{ref}" if not en else f"{kind}: {ref}"
    lines.append(("类型：" if not en else "type: ") + kind)
    lines.append(("必填" if col.required else "选填") if not en else ("required" if col.required else "optional"))
    if col.enum:
        lines.append(("可选值：" if not en else "allowed: ") + "、".join(col.enum))
        if col.aliases:
            lines.append(("也可写：" if not en else "also accepted: ")
                         + "、".join(f"{a}（={c}）" for a, c in col.aliases))
    note = col.note_en if en else col.note_zh
    if note:
        lines.append(("说明：" if not en else "note: ") + note)
    return "\n".join(lines)


def default_cell(col: Column, v: Any, *, excel: bool) -> Any:
    """A typed value as a team would write it: 是/否, dates, lists joined with 、."""
    if v is None:
        return None
    if col.kind is Kind.BOOL:
        return "是" if v else "否"
    if isinstance(v, (list, tuple)):
        return "、".join(str(x) for x in v)
    if isinstance(v, dt.date) and not excel:
        return v.isoformat()
    return v


def write_template(out: str | Path, format: str = "xlsx", *, english_headers: bool = False) -> list[Path]:
    """Empty ledgers: one workbook (format xlsx) or one CSV per sheet in the folder `out`."""
    return write_ledger(out, {nt.label: [] for nt in NODE_TYPES}, format=format,
                        english_headers=english_headers, notes=True)


def write_ledger(out: str | Path, records: dict[str, list[dict]], *, format: str = "xlsx",
                 english_headers: bool = False, english_names: bool = False, encoding: str = "utf-8-sig",
                 cell: Cell | None = None, notes: bool = False) -> list[Path]:
    """Write records as a ledger; returns the files written.

    `cell(col, value)` overrides how a value is written (e.g. other bool spellings);
    `english_names` names CSV files by their English file name (enterprises.csv).
    """
    out = Path(out)
    labels = [nt for nt in NODE_TYPES if nt.label in records]
    if format == "xlsx":
        _write_xlsx(out, labels, records, english_headers, cell, notes)
        return [out]
    if format != "csv":
        raise ValueError(f"format must be xlsx or csv, not {format!r}")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for nt in labels:
        path = out / f"{nt.file if english_names else nt.sheet}.csv"
        with open(path, "w", encoding=encoding, newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow([c.key if english_headers else c.header for c in nt.columns])
            for r in records[nt.label]:
                w.writerow([_csv_text(cell(c, r.get(c.key)) if cell else default_cell(c, r.get(c.key), excel=False))
                            for c in nt.columns])
        written.append(path)
    return written


def _csv_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else str(int(v)) if abs(v) < 1e15 else repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _write_xlsx(out: Path, labels: list[NodeType], records: dict[str, list[dict]], english_headers: bool,
                cell: Cell | None, notes: bool) -> None:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    required_fill = PatternFill("solid", fgColor="FCE4D6")
    optional_fill = PatternFill("solid", fgColor="DDEBF7")
    wb = Workbook()
    wb.remove(wb.active)
    for nt in labels:
        ws = wb.create_sheet(nt.sheet)
        for j, col in enumerate(nt.columns, 1):
            h = ws.cell(row=1, column=j, value=col.key if english_headers else col.header)
            h.font = Font(bold=True)
            h.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            letter = get_column_letter(j)
            ws.column_dimensions[letter].width = max(12, min(40, 2.2 * len(col.header) + 4))
            if col.kind is Kind.USCC or (col.kind is Kind.REF and NODES[col.ref].key_column.kind is Kind.USCC):
                ws.column_dimensions[letter].number_format = "@"  # 18 digits must stay text
            elif col.kind is Kind.DATE:
                ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
            if not notes:
                continue
            h.fill = required_fill if col.required else optional_fill
            note = column_note(col)
            c = Comment(note, "sitegraph")
            c.width = 300
            c.height = 40 + 18 * (note.count("\n") + 1 + len(note) // 40)
            h.comment = c
            choices = BOOL_CHOICES if col.kind is Kind.BOOL else col.enum if col.kind is Kind.ENUM else None
            if choices:
                dv = DataValidation(
                    type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                    showErrorMessage=True, errorStyle="warning", errorTitle=col.header,
                    error="请从下拉列表中选择：" + "、".join(choices), promptTitle=col.header,
                    prompt=("必填" if col.required else "选填") + "：" + "、".join(choices)[:200], showInputMessage=True,
                )
                dv.add(f"{letter}2:{letter}1048576")
                ws.add_data_validation(dv)
        ws.freeze_panes = "B2"
        for r in records[nt.label]:
            row = []
            for col in nt.columns:
                v = cell(col, r.get(col.key)) if cell else default_cell(col, r.get(col.key), excel=True)
                row.append(v)
            ws.append(row)
            for x in ws[ws.max_row]:
                if isinstance(x.value, str) and x.value.startswith("="):
                    x.data_type = "s"  # data, never a formula
                if isinstance(x.value, (dt.date, dt.datetime)):
                    x.number_format = "yyyy-mm-dd"
    wb.save(str(out))
