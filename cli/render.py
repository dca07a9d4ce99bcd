"""Rendering rows for people (rich tables) and for programs (json, csv, xlsx).

Conventions (design-notes.md): json is an array of objects keyed by column name, UTF-8
with Chinese unescaped, and nothing else on stdout; csv is UTF-8 with BOM for Excel;
cells that begin with = + - @ are neutralised in csv and xlsx (formula injection).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def jsonable(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    return v


def to_json(rows: Sequence[dict], *, indent: int | None = 2) -> str:
    return json.dumps([jsonable(r) for r in rows], ensure_ascii=False, indent=indent, sort_keys=False)


def cell_text(v: Any) -> str:
    """One cell as text: lists joined with 、, dates ISO, bools 是/否, None blank."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "、".join(cell_text(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(jsonable(v), ensure_ascii=False)
    return str(v)


def neutralise(text: str) -> str:
    """Make a text cell inert in spreadsheet programs (leading ' before = + - @)."""
    if text and text.startswith(FORMULA_START):
        return "'" + text
    return text


def export_value(v: Any) -> Any:
    """A value for csv/xlsx: text neutralised, numbers and dates kept as they are."""
    if v is None or isinstance(v, (bool, int, float, dt.date)):
        return cell_text(v) if isinstance(v, bool) else v
    return neutralise(cell_text(v))


def to_csv(columns: Sequence[str], rows: Iterable[dict], headers: Sequence[str] | None = None,
           note: str | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if note:
        w.writerow([neutralise("# " + note)])
    w.writerow(list(headers or columns))
    for r in rows:
        w.writerow(["" if (x := export_value(r.get(c))) is None else x for c in columns])
    return "\ufeff" + buf.getvalue()


def write_xlsx_sheets(path: str | Path, sheets: Sequence[tuple[str, Sequence[str], Sequence[str], Iterable[dict], str | None]]) -> None:
    """Write sheets (title, columns, headers, rows, note) into one workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, columns, headers, rows, note in sheets:
        ws = wb.create_sheet(_sheet_title(title, wb.sheetnames))
        if note:
            ws.append([neutralise(note)])
            ws.cell(row=1, column=1).font = Font(italic=True, color="666666")
        ws.append(list(headers))
        for c in ws[ws.max_row]:
            c.font = Font(bold=True)
        for r in rows:
            ws.append([export_value(r.get(c)) for c in columns])
        ws.freeze_panes = ws.cell(row=ws.max_row if ws.max_row <= 2 else (3 if note else 2), column=1)
    wb.save(str(path))


def _sheet_title(title: str, taken: list[str]) -> str:
    bad = '[]:*?/\\'
    t = "".join("_" if ch in bad else ch for ch in title)[:31] or "sheet"
    base, n = t, 2
    while t in taken:
        suffix = f"~{n}"
        t = base[: 31 - len(suffix)] + suffix
        n += 1
    return t


def print_table(columns: Sequence[str], rows: Sequence[dict], headers: Sequence[str] | None = None,
                title: str | None = None, file=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stdout, soft_wrap=False)
    table = Table(title=title, show_lines=False, header_style="bold")
    for h in headers or columns:
        table.add_column(str(h), overflow="fold")
    for r in rows:
        table.add_row(*(cell_text(r.get(c)) for c in columns))
    console.print(table)
