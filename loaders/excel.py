"""The one Excel writer of sitegraph: every workbook the product writes goes through `Book`.

The findings workbook, a single query's export, the validation report, the ledger
template and generated ledgers (and later the diff and supervision reports) share one
look and one set of rules:

- the header is row 1 (bold, shaded, wrapped), frozen, with an autofilter over it, and
  repeated on every printed page; pages print landscape, one page wide;
- column widths fit the content (an East Asian wide or full-width character counts as
  two); text wider than `MAX_WIDTH` is wrapped in a capped column instead of cut off;
- values keep their types: numbers stay numbers, dates and datetimes are real Excel
  dates with a date number format, booleans read 是/否 (yes/no in English), lists are
  joined with 、; coded values are shown by the labels a column declares (`Col.labels`);
- sheet names are made valid for Excel (≤ 31 characters, none of : \\ / ? * [ ], not
  starting or ending with ', unique in the workbook);
- text that a spreadsheet would read as a formula (= + - @ …) is neutralised with a
  leading ' (exports) or at least stored as text (ledgers, which must read back as
  written); characters XML cannot hold are dropped;
- a workbook is written to a temporary file next to the target and renamed into place,
  so a failure never leaves half a workbook behind.

Usage:

    book = Book()
    index = book.sheet("汇总")                       # reserve a name (and its position)
    data = book.add_table("安全责任两头不管", cols, rows)
    book.write_table(index, [Col("sheet", "工作表")], [{"sheet": Link("打开", data.title)}])
    book.save(path)
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 50  # widest column, in Excel character units; longer text wraps
MIN_WIDTH = 6
FILTER_BUTTON = 2  # room for the autofilter arrow beside a header
# points per line of wrapped 11-point text: a CJK font (Noto Sans CJK, DengXian) takes ~1.45 em a line,
# so 15 pt (Calibri) cut the last line off in LibreOffice; 17 pt shows every line in both
LINE_HEIGHT = 17.0
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
HEADER_FILL = "D9E1F2"
SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
# What openpyxl refuses in a cell (XML 1.0 cannot hold these control characters).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(text: str) -> str:
    """Make a text cell inert in spreadsheet programs (a leading ' before = + - @)."""
    if text and text.startswith(FORMULA_START):
        return "'" + text
    return text


def text_width(text: str) -> float:
    """Display width of one line in Excel character units (the width of a digit): wide and
    full-width characters count two, capitals and a few broad signs 1.25 (codes such as a
    USCC are mostly capitals and would otherwise be cut off)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1.25 if ch.isupper() or ch in "@%&#"
               else 1 for ch in text)


def sheet_name(name: str, taken: Iterable[str] = ()) -> str:
    """A valid, unique Excel sheet name for `name` (case-insensitive uniqueness, as Excel)."""
    t = _SHEET_FORBIDDEN.sub("", name).strip().strip("'").strip()
    if len(t) > SHEET_NAME_MAX:
        # a trailing parenthesis (an id such as （DUST-1）) goes first, then the tail
        short = re.sub(r"[（(][^（()）]*[)）]$", "", t).strip()
        t = short if 0 < len(short) <= SHEET_NAME_MAX else t[: SHEET_NAME_MAX - 1].rstrip() + "…"
    t = t or "Sheet"
    used = {x.casefold() for x in taken}
    base, n = t, 2
    while t.casefold() in used:
        suffix = f"({n})"
        t = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    return t


@dataclass(frozen=True)
class Link:
    """A cell that links to a sheet of the same workbook (by its final title)."""

    text: str
    sheet: str
    cell: str = "A1"


@dataclass(frozen=True)
class Col:
    """One column of a table sheet.

    `labels` maps coded values to what people read (outsourcing -> 外包); a list cell has
    each item labelled. `number_format` overrides the format of the whole column (e.g.
    "@" for codes that must stay text); `width` fixes the width instead of fitting it.
    """

    key: str
    header: str
    labels: Mapping[str, str] = field(default_factory=dict)
    number_format: str | None = None
    width: float | None = None
    min_width: float = 0  # e.g. room for an 18-character code in an empty template


@dataclass
class Book:
    """A workbook being built; `save()` writes it atomically.

    `neutralise=True` (exports) prefixes formula-like text with '; False (ledgers, which
    must read back as written) only stores such text as a string cell. `lang` decides how
    booleans read (是/否 or yes/no).
    """

    neutralise: bool = True
    lang: str = "zh"

    def __post_init__(self) -> None:
        from openpyxl import Workbook

        self.wb = Workbook()
        self.wb.remove(self.wb.active)

    # --- sheets ---------------------------------------------------------------------
    def sheet(self, name: str, index: int | None = None):
        """A new empty sheet named (a valid, unique form of) `name`; its title is the final name."""
        return self.wb.create_sheet(sheet_name(name, self.wb.sheetnames), index)

    def add_table(self, name: str, columns: Sequence[Col], rows: Iterable[Mapping[str, Any]], **kw):
        ws = self.sheet(name, kw.pop("index", None))
        self.write_table(ws, columns, rows, **kw)
        return ws

    def write_table(self, ws, columns: Sequence[Col], rows: Iterable[Mapping[str, Any]], *,
                    freeze_cols: int = 0, autofilter: bool = True, print_title: str | None = None,
                    tab_color: str | None = None) -> None:
        """Header in row 1, one row per mapping, fitted widths, frozen header, filter, print setup."""
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.hyperlink import Hyperlink

        head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor=HEADER_FILL)
        head_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
        head_border = Border(bottom=Side(style="thin", color="8EA9DB"))
        wrap = Alignment(wrap_text=True, vertical="top")
        ncol = len(columns)
        widths: list[float] = [0] * ncol
        for j, col in enumerate(columns, 1):
            h = ws.cell(row=1, column=j, value=self._text(col.header))
            h.font, h.fill, h.alignment, h.border = head_font, head_fill, head_align, head_border
        long_cells: list[tuple[int, int, list[int]]] = []  # (row, column, line widths) of text to wrap
        nrows = 0
        for i, r in enumerate(rows, 2):
            nrows += 1
            for j, col in enumerate(columns, 1):
                v = self._value(r.get(col.key), col)
                if v is None:
                    continue
                c = ws.cell(row=i, column=j, value=self._text(v.text) if isinstance(v, Link) else v)
                if isinstance(v, Link):
                    c.hyperlink = Hyperlink(ref=c.coordinate, location=f"'{v.sheet.replace(chr(39), chr(39) * 2)}'!{v.cell}")
                    c.style = "Hyperlink"
                if isinstance(v, (str, Link)):
                    if isinstance(v, str) and v.startswith("="):
                        c.data_type = "s"  # data, never a formula
                    line_widths = [text_width(line) for line in str(c.value).split("\n")]
                    w = max(line_widths)
                    if w > (col.width - 1 if col.width else MAX_WIDTH) or len(line_widths) > 1:
                        long_cells.append((i, j, line_widths))
                elif isinstance(v, dt.datetime):
                    c.number_format = DATETIME_FORMAT
                    w = len(DATETIME_FORMAT)
                elif isinstance(v, dt.date):
                    c.number_format = DATE_FORMAT
                    w = len(DATE_FORMAT)
                else:  # a number
                    w = len(f"{v:,.10g}" if isinstance(v, float) else str(v))
                if col.number_format:
                    c.number_format = col.number_format
                widths[j - 1] = max(widths[j - 1], w)
        for j, col in enumerate(columns, 1):
            head = max(text_width(x) for x in col.header.split("\n")) + FILTER_BUTTON * autofilter
            content = min(widths[j - 1], MAX_WIDTH)
            # a header much wider than its values wraps (on up to two lines) rather than widening the column
            fit = max(content, min(head, max(content, math.ceil(head / 2), 10)))
            width = col.width if col.width is not None else max(MIN_WIDTH, col.min_width, math.ceil(min(MAX_WIDTH, fit)) + 2)
            widths[j - 1] = width
            letter = get_column_letter(j)
            ws.column_dimensions[letter].width = width
            if col.number_format:
                ws.column_dimensions[letter].number_format = col.number_format
        # Heights for wrapped rows: Excel does not grow a row for wrapped text on its own.
        head_lines = max((math.ceil((text_width(c.header) + FILTER_BUTTON * autofilter) / max(widths[j] - 1, 1))
                          for j, c in enumerate(columns)), default=1)
        ws.row_dimensions[1].height = LINE_HEIGHT * max(1, min(head_lines, 4)) + 3
        lines_of: dict[int, int] = {}
        top = Alignment(vertical="top")
        for i in {i for i, _, _ in long_cells}:  # a tall row: every cell reads from the top
            for j in range(1, ncol + 1):
                ws.cell(row=i, column=j).alignment = top
        for i, j, line_widths in long_cells:
            ws.cell(row=i, column=j).alignment = wrap
            lines = sum(max(1, math.ceil(w / max(widths[j - 1] - 1, 1))) for w in line_widths)
            lines_of[i] = max(lines_of.get(i, 1), lines)
        for i, lines in lines_of.items():
            ws.row_dimensions[i].height = min(LINE_HEIGHT * lines + 2, 409)
        if ncol:
            last = get_column_letter(ncol)
            ws.freeze_panes = ws.cell(row=2, column=freeze_cols + 1)
            if autofilter:
                ws.auto_filter.ref = f"A1:{last}{nrows + 1}"
            ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = True
        ws.oddHeader.center.text = self._header_footer_text(print_title or ws.title)
        ws.oddFooter.center.text = "&P / &N"
        if tab_color:
            ws.sheet_properties.tabColor = tab_color

    def write_notes(self, ws, items: Sequence[tuple[str, Any]], headers: tuple[str, str] = ("项目", "内容")) -> None:
        """A two-column sheet of notes (provenance, personal data, how to read the workbook)."""
        cols = [Col("item", headers[0]), Col("text", headers[1])]
        self.write_table(ws, cols, [{"item": k, "text": v} for k, v in items], autofilter=False)

    def set_active(self, ws) -> None:
        self.wb.active = self.wb.sheetnames.index(ws.title)
        for s in self.wb.worksheets:
            s.sheet_view.tabSelected = s is ws

    def save(self, path: str | Path) -> Path:
        """Write the workbook atomically (a temporary file in the same folder, then renamed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            try:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)  # the mode an ordinary open() gives, not mkstemp's 0600
            finally:
                os.close(fd)
            self.wb.save(tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    # --- values ---------------------------------------------------------------------
    def _text(self, s: str) -> str:
        s = _ILLEGAL.sub("", s)
        return neutralise(s) if self.neutralise else s

    def _bool(self, b: bool) -> str:
        return ("yes" if b else "no") if self.lang == "en" else ("是" if b else "否")

    def _item(self, v: Any, labels: Mapping[str, str]) -> str:
        if isinstance(v, bool):
            return self._bool(v)
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        if isinstance(v, float):
            return f"{v:g}"
        s = str(v)
        return labels.get(s, s)

    def _value(self, v: Any, col: Col) -> Any:
        """A python value as a typed cell value (None for an empty cell)."""
        if v is None or isinstance(v, Link):
            return v
        if isinstance(v, bool):
            return self._bool(v)
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        if isinstance(v, (int, float)):
            return v
        if isinstance(v, dt.datetime):
            return v.replace(tzinfo=None) if v.tzinfo else v  # Excel has no time zones
        if isinstance(v, dt.date):
            return v
        if isinstance(v, (list, tuple, set, frozenset)):
            items = sorted(v, key=str) if isinstance(v, (set, frozenset)) else v
            return self._text("、".join(self._item(x, col.labels) for x in items)) or None
        if isinstance(v, dict):
            return self._text(json.dumps(v, ensure_ascii=False, default=str))
        s = str(v)
        return self._text(col.labels.get(s, s))

    @staticmethod
    def _header_footer_text(s: str) -> str:
        return s.replace("&", "&&")[:200]


def label_value(v: Any, labels: Mapping[str, str]) -> Any:
    """A value with its coded text (or a list's coded items) replaced by labels; other values unchanged."""
    if not labels:
        return v
    if isinstance(v, str):
        return labels.get(v, v)
    if isinstance(v, (list, tuple)):
        return [labels.get(x, x) if isinstance(x, str) else x for x in v]
    return v
