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
from loaders.excel import DATE_FORMAT
from loaders.readers import INSTRUCTIONS_SHEET

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
# Header colours of the template (explained on its first sheet, INSTRUCTIONS_SHEET).
REQUIRED_FILL = "FCE4D6"
OPTIONAL_FILL = "DDEBF7"
Cell = Callable[[Column, Any], Any]


def column_note(col: Column, lang: str = "zh") -> str:
    """The note shown on a header: type, required, allowed values, what it means."""
    en = lang == "en"
    lines = [f"{col.header}（{col.key}）" if not en else f"{col.key} ({col.header})"]
    kind = KIND_TEXT[col.kind][1 if en else 0]
    if col.kind in (Kind.REF, Kind.REF_LIST):
        target = NODES[col.ref]
        alt = target.column(target.alt_key).header if target.alt_key else ""  # 企业: or its 临时编码
        ref = (f"{target.sheet}表的{target.key_column.header}" + (f"或{alt}" if alt else "") if not en
               else f"a {target.key_column.header}" + (f" or {alt}" if alt else "")
               + f" of the {target.sheet} ({target.file}) sheet")
        kind = f"{kind}：{ref}" if not en else f"{kind}: {ref}"
    lines.append(("类型：" if not en else "type: ") + kind)
    alt_of = next((nt for nt in NODES.values() if nt.alt_key and col is nt.key_column), None)
    if alt_of is not None:  # 统一社会信用代码 or else 临时编码
        other = alt_of.column(alt_of.alt_key).header
        lines.append(f"必填（没有时改填{other}）" if not en else f"required (or else {other})")
    else:
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


def write_template(out: str | Path, format: str = "xlsx", *, english_headers: bool = False,
                   mapping=None) -> list[Path]:
    """Empty ledgers: one workbook (format xlsx) or one CSV per sheet in the folder `out`.
    `mapping` (loaders/mapping.py): sheets and headers named as the office's own form names
    them, so that the ledger filled in reads back with the same --mapping."""
    return write_ledger(out, {nt.label: [] for nt in NODE_TYPES}, format=format,
                        english_headers=english_headers, notes=True, mapping=mapping)


def _names(mapping, english_headers: bool):
    """(sheet name of a type, header of a column) as written: the mapping's names first."""
    def sheet(nt: NodeType, default: str) -> str:
        return (mapping.sheet_name(nt) if mapping else None) or default

    def header(nt: NodeType, c: Column) -> str:
        return (mapping.header(nt, c.key) if mapping else None) or (c.key if english_headers else c.header)

    return sheet, header


def write_ledger(out: str | Path, records: dict[str, list[dict]], *, format: str = "xlsx",
                 english_headers: bool = False, english_names: bool = False, encoding: str = "utf-8-sig",
                 cell: Cell | None = None, notes: bool = False, mapping=None) -> list[Path]:
    """Write records as a ledger; returns the files written.

    `cell(col, value)` overrides how a value is written (e.g. other bool spellings);
    `english_names` names CSV files by their English file name (enterprises.csv).
    """
    out = Path(out)
    labels = [nt for nt in NODE_TYPES if nt.label in records]
    sheet_name, header = _names(mapping, english_headers)
    if format == "xlsx":
        _write_xlsx(out, labels, records, english_headers, cell, notes, mapping)
        return [out]
    if format != "csv":
        raise ValueError(f"format must be xlsx or csv, not {format!r}")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for nt in labels:
        path = out / f"{sheet_name(nt, nt.file if english_names else nt.sheet)}.csv"
        with open(path, "w", encoding=encoding, newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow([header(nt, c) for c in nt.columns])
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


def _min_width(col: Column) -> float:
    """Room for what a team will type into an empty column (the writer fits the rest)."""
    if col.kind is Kind.USCC or (col.kind is Kind.REF and NODES[col.ref].key_column.kind is Kind.USCC):
        return 21  # 18 characters
    if col.kind is Kind.DATE:
        return 12
    if col.kind in (Kind.TEXT, Kind.LIST, Kind.REF_LIST, Kind.ENUM_LIST):
        return 14
    return 0


def _number_format(col: Column) -> str | None:
    if col.kind is Kind.USCC or (col.kind is Kind.REF and NODES[col.ref].key_column.kind is Kind.USCC):
        return "@"  # 18 digits must stay text
    if col.kind is Kind.DATE:
        return DATE_FORMAT
    return None


def _write_xlsx(out: Path, labels: list[NodeType], records: dict[str, list[dict]], english_headers: bool,
                cell: Cell | None, notes: bool, mapping=None) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from loaders.excel import Book, Col

    required_fill = PatternFill("solid", fgColor=REQUIRED_FILL)
    optional_fill = PatternFill("solid", fgColor=OPTIONAL_FILL)
    # Ledger cells must read back as written: formula-like text is stored as text, never prefixed.
    book = Book(neutralise=False)
    sheet_name, header = _names(mapping, english_headers)
    for nt in labels:
        cols = [Col(c.key, header(nt, c), number_format=_number_format(c),
                    min_width=_min_width(c)) for c in nt.columns]
        rows = ({c.key: cell(c, r.get(c.key)) if cell else default_cell(c, r.get(c.key), excel=True)
                 for c in nt.columns} for r in records[nt.label])
        ws = book.add_table(sheet_name(nt, nt.sheet), cols, rows, freeze_cols=1, print_title=sheet_name(nt, nt.sheet))
        if not notes:
            continue
        for j, col in enumerate(nt.columns, 1):
            h = ws.cell(row=1, column=j)
            letter = h.column_letter
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
    if notes:
        _instructions_sheet(book)
    book.save(out)


def instructions() -> list[tuple[str, str, str | None]]:
    """The template's first sheet: (item, text, fill colour of the item cell or None).

    What the sheets are, what the header colours, notes and drop-downs mean, and where the
    full format is written down (docs/survey-format.md)."""
    rows: list[tuple[str, str, str | None]] = [
        ("这是什么", "排查摸底台账的空白模板。每张工作表是一类记录，第 1 行是表头，从第 2 行起每行填一条记录。", None),
        ("怎么交", "填好后交回这个工作簿（.xlsx）。可以只填其中几张表，没有数据的表会被跳过；"
                   f"本“{INSTRUCTIONS_SHEET}”工作表不会被导入，可以保留。", None),
        ("先检查", "sitegraph validate 文件名.xlsx：只检查不导入，每个问题都按工作表、行号、列和所填内容指出。", None),
        ("完整格式", "每列的类型、可选值、可接受的写法和填写规则见 sitegraph 的 docs/survey-format.md"
                     "（《排查摸底台账格式》）。", None),
        ("颜色和标记", "表头的颜色和标记含义如下：", None),
        ("必填列", "表头为这种颜色：这一列必须有，每行都要填写；缺列或留空都是错误，整份台账不能导入。", REQUIRED_FILL),
        ("选填列", "表头为这种颜色：可以留空。是/否列留空表示“未排查”（不等于“否”），会列入缺项清单。", OPTIONAL_FILL),
        ("批注（红色三角）", "鼠标移到表头上可看到这一列的英文键、类型、是否必填、可选值和说明。", None),
        ("下拉框", "单选列和是/否列选中单元格时出现下拉框，请从中选择。", None),
        ("文本格式", "统一社会信用代码列已设为文本格式，请不要改成数字（18 位代码存成数字会丢失后几位）；"
                     "日期列显示为 年-月-日。", None),
        ("各工作表", "下面每行一张工作表：记录什么、主键和列数。交 CSV 时每张表一个文件。", None),
    ]
    for nt in NODE_TYPES:
        required = sum(c.required for c in nt.columns)
        text = (f"{nt.title_zh}，每行一条，主键“{nt.key_column.header}”不得重复；共 {len(nt.columns)} 列，"
                f"其中必填 {required} 列。CSV 文件名：{nt.sheet}.csv 或 {nt.file}.csv。")
        rows.append((nt.sheet, text + (nt.note_zh or ""), None))
    return rows


def _instructions_sheet(book) -> None:
    """Write `instructions()` as the first sheet, the legend cells in the header colours."""
    from openpyxl.styles import Alignment, Font, PatternFill

    rows = instructions()
    ws = book.sheet(INSTRUCTIONS_SHEET, 0)
    book.write_notes(ws, [(k, t) for k, t, _ in rows], headers=("项目", "说明"))
    for i, (_, _, fill) in enumerate(rows, 2):
        item = ws.cell(row=i, column=1)
        item.font, item.alignment = Font(bold=True), Alignment(vertical="top", wrap_text=True)
        if fill:
            item.fill = PatternFill("solid", fgColor=fill)
    book.set_active(ws)
