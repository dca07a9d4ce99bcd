"""Reading a survey: an .xlsx workbook or a folder of CSV files, into raw rows.

`open_survey(path)` finds the sheets (by Chinese sheet name or English file name),
matches each header row against the schema and reports file- and header-level
problems. Rows are then streamed by `SheetData.rows()`: (row number as Excel shows
it, {column key: raw cell}) for every non-blank row. Nothing here interprets a
value; loaders/values.py does.

Workbooks are read by calamine (python-calamine, Rust; its cells given openpyxl's types),
and by openpyxl's streaming reader where only it can read one (see "xlsx" below).

Encodings of CSV files are detected, never guessed: UTF-8 (with or without BOM) is
tried strictly, then GB18030 (a superset of GBK) strictly; a file that is neither is
an error naming the file.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from graphmodel.schema import BY_FILE, BY_SHEET, NODE_TYPES, NodeType

from .messages import Problem
from .values import display, header_key, is_blank

XLSX_SUFFIXES = (".xlsx", ".xlsm")
# The template's first sheet (loaders/template.py): instructions, not data; read past silently.
INSTRUCTIONS_SHEET = "填表说明"


def col_letter(i: int) -> str:
    """0-based column index as Excel names it (A, B, … AA)."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def _sheet_lookup() -> dict[str, NodeType]:
    out: dict[str, NodeType] = {}
    for name, nt in list(BY_SHEET.items()) + list(BY_FILE.items()):
        out[header_key(name)] = nt
    return out


_SHEETS = _sheet_lookup()


def sheet_type(name: str) -> NodeType | None:
    """The node type of a sheet or CSV file name (Chinese or English, any case/width)."""
    return _SHEETS.get(header_key(name))


def _header_lookup(nt: NodeType) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in nt.columns:
        out[header_key(c.header)] = c.key
        out[header_key(c.key)] = c.key
    return out


_HEADERS = {nt.label: _header_lookup(nt) for nt in NODE_TYPES}

EXPECTED_ZH = "、".join(nt.sheet for nt in NODE_TYPES)
EXPECTED_EN = ", ".join(f"{nt.sheet} ({nt.file})" for nt in NODE_TYPES)


@dataclass
class SheetData:
    """One sheet (or CSV file) of a known type, with its header matched."""

    nt: NodeType
    file: str  # file name as handed in
    sheet: str  # sheet name, or the CSV file name without .csv
    header_row: int
    columns: dict[str, int]  # column key -> 0-based index
    headers: dict[str, str]  # column key -> header as written
    problems: list[Problem]  # the survey's list: row-level reading problems are added here
    total: int | None = None  # rows expected (for progress), when known
    encoding: str | None = None
    _rows: Any = None  # () -> iterator of (row number, tuple of cells)
    _width: int = 0  # number of header cells
    broken: bool = False  # rows after a reading error are missing (the error is reported)
    named: frozenset = frozenset()  # indexes of the non-blank header cells

    @property
    def label(self) -> str:
        return self.nt.label

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(row number, {key: raw cell}) for each non-blank row after the header."""
        warned: set[int] = set()
        known = set(self.columns.values()) | set(self.named)
        unknown = [i for i in range(self._width) if i not in known]  # header cells without a name
        for rowno, cells in self._rows():
            if all(is_blank(c) for c in cells):
                continue
            # cells under no header: within the header's width, and beyond it in a workbook
            # (CSV rows longer than the header are reported per row as ROW_TOO_LONG)
            beyond = range(self._width, len(cells)) if self.encoding is None else ()
            for i in [*unknown, *beyond]:
                c = cells[i] if i < len(cells) else None
                if i not in warned and not is_blank(c):
                    warned.add(i)
                    self.problems.append(Problem(
                        "COLUMN_UNNAMED", self.file, self.sheet, rowno, column=col_letter(i),
                        value=display(c), params={"col": col_letter(i)}, label=self.label, col_index=i,
                    ))
            if self.encoding is not None and len(cells) > self._width:
                extra = [c for c in cells[self._width:] if not is_blank(c)]
                if extra:
                    self.problems.append(Problem(
                        "ROW_TOO_LONG", self.file, self.sheet, rowno, column=col_letter(self._width),
                        value=display(extra[0]),
                        params={"extra": len(cells) - self._width, "cells": "”，“".join(map(display, extra[:3]))},
                        label=self.label, col_index=self._width,
                    ))
            yield rowno, {k: (cells[i] if i < len(cells) else None) for k, i in self.columns.items()}


@dataclass
class Survey:
    """A survey as handed in: its sheets and the problems found while opening it."""

    path: Path
    kind: str  # "xlsx" | "csv"
    sheets: list[SheetData] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _close: Any = None

    @property
    def name(self) -> str:
        """Default source name: the workbook or folder name without extension."""
        p = self.path
        if p.is_file() and p.suffix.lower() == ".csv":
            p = p.parent
        return p.stem if p.is_file() else p.name

    def close(self) -> None:
        if self._close:
            self._close()
            self._close = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_survey(path: str | Path) -> Survey:
    """Open a workbook, a folder of CSV files or one CSV file; problems go to `.problems`."""
    p = Path(path)
    if p.is_dir() and not any(f.suffix.lower() == ".csv" for f in p.iterdir()):
        books = [f for f in p.iterdir() if f.suffix.lower() in XLSX_SUFFIXES and not f.name.startswith("~$")]
        if len(books) == 1:  # a folder holding just one workbook (e.g. `sitegraph generate OUT`)
            p = books[0]
    if p.is_dir():
        s = Survey(p.resolve(), "csv")
        _open_csv_folder(s)
        return s
    s = Survey(p, "xlsx" if p.suffix.lower() in XLSX_SUFFIXES else "csv")
    if not p.exists():
        s.problems.append(Problem("FILE_NOT_FOUND", p.name, value=str(p)))
    elif p.suffix.lower() in XLSX_SUFFIXES:
        _open_xlsx(s)
    elif p.suffix.lower() == ".csv":
        _open_csv_files(s, [p])
    elif p.suffix.lower() in (".xls", ".et"):
        s.problems.append(Problem("FILE_XLS", p.name, value=p.name))
    else:
        s.problems.append(Problem("FILE_TYPE", p.name, value=p.name, params={"ext": p.suffix or p.name}))
    return s


# --- headers -------------------------------------------------------------------------

def _match_header(s: Survey, nt: NodeType, file: str, sheet: str, cells: tuple, rowno: int,
                  encoding: str | None) -> tuple[dict[str, int], dict[str, str]] | None:
    lookup = _HEADERS[nt.label]
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    unknown: list[Problem] = []
    dup: list[Problem] = []
    for i, cell in enumerate(cells):
        if is_blank(cell):
            continue
        key = lookup.get(header_key(cell))
        if key is None:
            unknown.append(Problem("COLUMN_UNKNOWN", file, sheet, rowno, column=display(cell).strip(),
                                   value=display(cell), label=nt.label, col_index=i))
        elif key in columns:
            col = nt.column(key)
            dup.append(Problem("HEADER_DUPLICATE", file, sheet, rowno, column=key, header=col.header,
                               value=display(cell), label=nt.label, col_index=i,
                               params={"col": col_letter(i), "other": col_letter(columns[key])}))
        else:
            columns[key] = i
            headers[key] = display(cell)
    if not columns:
        first = nt.columns[:3]
        s.problems.append(Problem(
            "HEADER_NONE", file, sheet, rowno, value="，".join(display(c) for c in cells if not is_blank(c))[:80],
            label=nt.label,
            params={"encoding": encoding or "xlsx", "example": "、".join(c.header for c in first),
                    "example_en": ", ".join(f"{c.header} ({c.key})" for c in first)},
        ))
        return None
    s.problems.extend(unknown + dup)
    for c in nt.columns:
        if c.required and c.key not in columns:
            s.problems.append(Problem("COLUMN_MISSING", file, sheet, rowno, column=c.key, header=c.header,
                                      label=nt.label))
    return columns, headers


def _claim(s: Survey, seen: dict[str, str], nt: NodeType, file: str, sheet: str) -> bool:
    """First sheet of a type wins; a second one is an error (which one to believe?)."""
    where = f"{file} › {sheet}" if file != sheet else file
    if nt.label in seen:
        s.problems.append(Problem("SHEET_DUPLICATE", file, sheet, value=sheet, label=nt.label,
                                  params={"other": seen[nt.label]}))
        return False
    seen[nt.label] = where
    return True


# --- xlsx ------------------------------------------------------------------------------
#
# Two engines read a workbook. calamine (python-calamine, Rust) reads it ~20x faster than
# openpyxl and is used whenever it can. openpyxl's streaming reader is kept where only it
# can do the job:
# - a file calamine cannot open or read (not a zip, a damaged part): openpyxl reads it, or
#   names the damage exactly as it always has (FILE_CORRUPT with openpyxl's detail);
# - a sheet whose used rectangle is mostly empty (a stray cell at XFD1048576 or at row
#   1,048,576): calamine holds a sheet as a dense rectangle, which would cost gigabytes
#   or abort the process, where openpyxl streams it in bounded memory.
# Both give the same cells (see _calamine_cell) and number rows as Excel shows them.

def _open_xlsx(s: Survey) -> None:
    if s.path.stat().st_size == 0:
        s.problems.append(Problem("FILE_EMPTY", s.path.name))
        return
    if not _open_xlsx_calamine(s):
        _open_xlsx_openpyxl(s)


def _add_sheet(s: Survey, seen: dict[str, str], title: str, header: tuple[int, Any] | None,
               total: int | None, make_rows) -> None:
    """One worksheet: its type, header and rows (`make_rows(first data row)` -> rows callable)."""
    file = s.path.name
    nt = sheet_type(title)
    if nt is None:
        if header is not None and header_key(title) != header_key(INSTRUCTIONS_SHEET):
            s.problems.append(Problem("SHEET_UNKNOWN", file, title, value=title,
                                      params={"expected": EXPECTED_ZH, "expected_en": EXPECTED_EN}))
        return
    if header is None:
        s.problems.append(Problem("SHEET_EMPTY", file, title, label=nt.label))
        return
    if not _claim(s, seen, nt, file, title):
        return
    rowno, cells = header
    matched = _match_header(s, nt, file, title, cells, rowno, None)
    if matched is None:
        return
    s.sheets.append(SheetData(
        nt, file, title, rowno, matched[0], matched[1], s.problems,
        total=(total - rowno) if total else None, _rows=make_rows(rowno + 1), _width=len(cells),
        named=frozenset(i for i, c in enumerate(cells) if not is_blank(c)),
    ))


def _open_xlsx_openpyxl(s: Survey) -> None:
    from openpyxl import load_workbook

    p = s.path
    file = p.name
    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except zipfile.BadZipFile:
        s.problems.append(Problem("FILE_CORRUPT", file, params={"detail": "不是 zip 格式 / not a zip archive"}))
        return
    except Exception as e:  # openpyxl raises many kinds for damaged parts
        s.problems.append(Problem("FILE_CORRUPT", file, params={"detail": f"{type(e).__name__}: {e}"[:200]}))
        return
    s._close = wb.close
    seen: dict[str, str] = {}
    for ws in wb.worksheets:
        title = ws.title
        try:
            total = ws.max_row
            ws.reset_dimensions()  # dimensions written by other tools can be wrong: read every cell
            header = _first_row(ws.iter_rows(values_only=True))
        except Exception as e:
            s.problems.append(Problem("FILE_CORRUPT", file, title, params={"detail": f"{type(e).__name__}: {e}"[:200]}))
            continue

        def make_rows(start, ws=ws):
            def rows(ws=ws, start=start):
                for i, cells in enumerate(ws.iter_rows(min_row=start, values_only=True), start):
                    yield i, cells
            return rows

        _add_sheet(s, seen, title, header, total, make_rows)
    _no_sheets(s, file)


def _first_row(rows) -> tuple[int, tuple] | None:
    for i, cells in enumerate(rows, 1):
        if not all(is_blank(c) for c in cells):
            return i, tuple(cells)
    return None


def _no_sheets(s: Survey, file: str) -> None:
    if not s.sheets and not any(p.is_error for p in s.problems):
        s.problems.append(Problem("NO_SHEETS", file, params={"expected": EXPECTED_ZH, "expected_en": EXPECTED_EN}))


# --- xlsx through calamine ---------------------------------------------------------------

_EXACT = 2 ** 53  # floats below this that are whole were written as integers


def _calamine_cell(c: Any) -> Any:
    """A calamine cell as openpyxl gives it (only non-text and empty cells come here).

    calamine reads every number as a float, a date cell at midnight as a date and an empty
    cell as "": openpyxl gives an int for a whole number, a datetime for a date cell and
    None for an empty one. The readers' and values' behaviour rests on those types (a
    USCC typed as a number is a float; a small whole number in a code column is its digits).
    """
    cls = c.__class__
    if cls is float:
        return int(c) if c.is_integer() and -_EXACT < c < _EXACT else c
    if cls is str:
        return None
    if cls is dt.date:
        return dt.datetime(c.year, c.month, c.day)
    return c


# r="AB12" (a column beyond Z) or t="e" (an error cell), as Excel, WPS and LibreOffice write them
_PROBE = re.compile(rb'="(?:[A-Za-z]{2}[0-9]|[A-Za-z]{3}[0-9]|e")')
_WIDE2 = re.compile(rb'="[A-Za-z]{2}[0-9]')
_WIDE3 = re.compile(rb'="[A-Za-z]{3}[0-9]')
_ROW_R = re.compile(rb'\sr\s*=\s*["\']([0-9]{1,7})["\']')
_CELL_R = re.compile(rb'\sr\s*=\s*["\']([A-Za-z]{1,3})([0-9]{1,7})["\']')
_CELL_TAG = re.compile(rb'<(?:[\w.-]+:)?c\s([^>]*)>')
_CELL_END = re.compile(rb'</(?:[\w.-]+:)?c>')
_ERROR_T = re.compile(rb'\bt\s*=\s*["\']e["\']')
_REF_ATTR = re.compile(rb'\br\s*=\s*["\']([^"\']*)["\']')
_VALUE = re.compile(rb'<(?:[\w.-]+:)?v>([^<]*)</(?:[\w.-]+:)?v>')
# Empty cells calamine may hold beyond what a sheet's XML could fill (one cell per 8 bytes
# is more than any writer packs): past this the sheet is streamed by openpyxl instead.
SPARSE_SLACK = 4_000_000


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


@dataclass
class _Extent:
    size: int = 0  # bytes of sheet XML
    rows: int = 1  # the last row number
    cols: int = 26  # the widest column: a bound (Z, ZZ, XFD) until measured
    wide: int = 1  # letters of the widest column reference seen
    errors: bool = False  # error cells (#N/A, #DIV/0! …): calamine reads them as empty

    @property
    def sparse(self) -> bool:
        """Would calamine's dense rectangle be mostly empty cells?"""
        return self.rows * self.cols > self.size // 8 + SPARSE_SLACK


def _scan(z: zipfile.ZipFile, part: str) -> _Extent:
    """The extent of a worksheet part by searching its XML bytes (rows are in order, as
    the format requires; a row's cells too), in chunks: memory stays bounded."""
    e = _Extent()
    tail = b""
    with z.open(part) as f:
        while True:
            chunk = f.read(1 << 22)
            e.size += len(chunk)
            buf = tail + chunk
            end = max(0, len(buf) - 64) if chunk else len(buf)  # the last bytes go round again
            if (e.wide < 3 or not e.errors) and (m := _PROBE.search(buf, 0, end + 6)):
                pos = m.start()  # something is there: look for each kind from here on
                if not e.errors and buf.find(b'="e"', pos, end + 4) != -1:
                    e.errors = True
                if e.wide < 3 and _WIDE3.search(buf, pos, end + 6):
                    e.wide = 3
                elif e.wide < 2 and _WIDE2.search(buf, pos, end + 6):
                    e.wide = 2
            j = buf.rfind(b"row ", 0, end)  # the last <row …> (or <x:row …>) of the chunk
            if j > 0 and buf[j - 1] not in b"<:":
                j = buf.rfind(b"<row", 0, end)
            if j != -1:
                m = _ROW_R.search(buf, j, buf.find(b">", j) + 1 or len(buf))
                if m:
                    e.rows = max(e.rows, int(m[1]))
            if not chunk:
                break
            tail = buf[end:]
    e.cols = {3: 16384, 2: 702}.get(e.wide, 26)
    if e.wide > 1 and e.sparse:  # measure the widest column: the last cell of every row
        e.cols = _widest(z, part)
    return e


def _widest(z: zipfile.ZipFile, part: str) -> int:
    data = z.read(part)
    cols = 0
    seen: dict[bytes, int] = {}
    i = data.find(b"row>")
    while i != -1:
        m = None
        j = data.rfind(b" r=", max(0, i - 65536), i)
        if j != -1:
            m = _CELL_R.match(data, j)
        if m:
            c = seen.get(m[1]) or seen.setdefault(m[1], _col_number(m[1]))
            cols = max(cols, c)
        i = data.find(b"row>", i + 4)
    return max(cols, 1)


def _cell_ref(ref: bytes) -> tuple[int, int] | None:
    m = re.fullmatch(rb"([A-Za-z]{1,3})([0-9]{1,7})", ref)
    return (int(m[2]), _col_number(m[1]) - 1) if m else None


def _error_cells(z: zipfile.ZipFile, part: str) -> dict[int, list[tuple[int, str]]] | None:
    """{row: [(0-based column, "#N/A")]} of a sheet's error cells; None if one has no reference."""
    from xml.sax.saxutils import unescape

    data = z.read(part)
    out: dict[int, list[tuple[int, str]]] = {}
    for m in _CELL_TAG.finditer(data):
        tag = m[1]
        if not _ERROR_T.search(tag) or tag.endswith(b"/"):
            continue
        r = _REF_ATTR.search(tag)
        where = _cell_ref(r[1]) if r else None
        if where is None:
            return None
        close = _CELL_END.search(data, m.end())
        v = _VALUE.search(data, m.end(), close.start() if close else len(data))
        if v:
            out.setdefault(where[0], []).append((where[1], unescape(v[1].decode("utf-8", "replace"))))
    return out


def _sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """{sheet name: worksheet part} from the workbook's relationships (as openpyxl finds them)."""
    import posixpath
    from xml.etree import ElementTree as ET

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    def rels(path: str) -> dict[str, tuple[str, str]]:
        folder, name = posixpath.split(path)
        root = ET.fromstring(z.read(posixpath.join(folder, "_rels", name + ".rels")))
        out = {}
        for r in root:
            target = r.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            out[r.get("Id")] = (r.get("Type", ""), target)
        return out

    book = next(t for kind, t in rels("").values() if kind.endswith("/officeDocument"))
    by_id = rels(book)
    root = ET.fromstring(z.read(book))
    names = set(z.namelist())
    out: dict[str, str] = {}
    for el in root.iter():
        if local(el.tag) != "sheet":
            continue
        rid = next((v for k, v in el.attrib.items() if local(k) == "id"), None)
        kind, target = by_id.get(rid, ("", ""))
        if target in names and "chartsheet" not in kind:  # openpyxl skips a missing part, and chart sheets
            out[el.get("name")] = target
    return out


class _CalamineRows:
    """The rows of one sheet as openpyxl gives them; the sheet is let go once read."""

    def __init__(self, path: Path, name: str, sheet: Any, errors: dict):
        self.path, self.name, self.sheet, self.errors = path, name, sheet, errors
        self.start = 0

    def release(self) -> None:
        self.sheet = None

    def __call__(self, start: int | None = None) -> Iterator[tuple[int, list]]:
        from python_calamine import CalamineWorkbook

        sheet = self.sheet
        if start is None:  # the data rows: the sheet is not needed after them
            start, self.sheet = self.start, None
        if sheet is None:  # read a second time
            with CalamineWorkbook.from_path(str(self.path)) as wb:
                sheet = wb.get_sheet_by_name(self.name)
        first = sheet.start
        if first is None:
            return
        # iter_rows yields every row from the sheet's first (blank ones above the data
        # too), each from the first used column: pad to column A, number from 1.
        pad = [None] * first[1]
        conv = _calamine_cell
        errors = self.errors
        for i, raw in enumerate(sheet.iter_rows(), 1):
            if i < start:
                continue
            cells = pad + [c if c.__class__ is str and c else conv(c) for c in raw]
            if errors and i in errors:
                for j, text in errors[i]:
                    cells[j] = text
            yield i, cells


def _open_xlsx_calamine(s: Survey) -> bool:
    """Read the workbook with calamine; False (nothing added) when openpyxl must read it."""
    try:
        from python_calamine import CalamineWorkbook, SheetTypeEnum
    except ImportError:  # pragma: no cover - a dependency; openpyxl still reads everything
        return False
    p = s.path
    try:
        with zipfile.ZipFile(p) as z:
            parts = _sheet_parts(z)
            extents = {name: _scan(z, part) for name, part in parts.items()}
            if any(e.sparse for e in extents.values()):
                return False
            errors = {}
            for name, e in extents.items():
                if e.errors:
                    errors[name] = _error_cells(z, parts[name])
                    if errors[name] is None:
                        return False
        loaded = []
        with CalamineWorkbook.from_path(str(p)) as wb:
            for meta in wb.sheets_metadata:  # hidden and very hidden sheets are read, as by openpyxl
                if meta.typ == SheetTypeEnum.ChartSheet or meta.name not in parts:
                    continue
                loaded.append(_CalamineRows(p, meta.name, wb.get_sheet_by_name(meta.name),
                                            errors.get(meta.name) or {}))
    except Exception:  # not a zip, a damaged part, …: openpyxl reads it or names the damage
        return False
    s._close = lambda: [r.release() for r in loaded]
    seen: dict[str, str] = {}
    for rows in loaded:
        header = next(((i, tuple(c)) for i, c in rows(1) if not all(is_blank(x) for x in c)), None)
        end = rows.sheet.end

        def make_rows(start, rows=rows):
            rows.start = start
            return rows

        _add_sheet(s, seen, rows.name, header, end[0] + 1 if end else None, make_rows)
        if rows not in [sh._rows for sh in s.sheets]:
            rows.release()
    _no_sheets(s, p.name)
    return True


# --- csv -------------------------------------------------------------------------------

def _open_csv_folder(s: Survey) -> None:
    files = sorted(f for f in s.path.iterdir() if f.is_file() and f.suffix.lower() == ".csv")
    for f in sorted(s.path.iterdir()):
        # A ledger sheet saved in another format would otherwise be missed without a word.
        if f.is_file() and f.suffix.lower() != ".csv" and sheet_type(f.stem) and not f.name.startswith("~$"):
            s.problems.append(Problem("FILE_TYPE", f.name, value=f.name, params={"ext": f.suffix}))
    _open_csv_files(s, files)
    _no_sheets(s, s.path.name)


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding) for UTF-8 (BOM or not) or GB18030; UnicodeDecodeError otherwise."""
    try:
        return data.decode("utf-8-sig"), ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError:
        pass
    return data.decode("gb18030"), "gb18030"


def _open_csv_files(s: Survey, files: list[Path]) -> None:
    seen: dict[str, str] = {}
    for f in files:
        nt = sheet_type(f.stem)
        if nt is None:
            s.problems.append(Problem("SHEET_UNKNOWN", f.name, f.stem, value=f.name,
                                      params={"expected": EXPECTED_ZH, "expected_en": EXPECTED_EN}))
            continue
        data = f.read_bytes()
        if not data.strip(b" \t\r\n\xef\xbb\xbf"):
            s.problems.append(Problem("FILE_EMPTY", f.name, f.stem, label=nt.label))
            continue
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            s.problems.append(Problem("ENCODING_UTF16", f.name, f.stem, label=nt.label))
            continue
        try:
            text, encoding = decode(data)
        except UnicodeDecodeError as e:
            s.problems.append(_encoding_problem(f, nt, data, e))
            continue
        records, bad = _csv_records(text)
        header = _first_row(records)
        if header is None:
            if bad is None:
                s.problems.append(Problem("FILE_EMPTY", f.name, f.stem, label=nt.label))
            else:
                s.problems.append(_syntax_problem(f, nt, bad, None, {}))
            continue
        if not _claim(s, seen, nt, f.name, f.stem):
            continue
        rowno, cells = header
        matched = _match_header(s, nt, f.name, f.stem, cells, rowno, encoding)
        if bad is not None:
            s.problems.append(_syntax_problem(f, nt, bad, cells, matched[0] if matched else {}))
        if matched is None:
            continue

        def rows(records=records, start=rowno):
            for i in range(start, len(records)):
                yield i + 1, tuple(records[i])

        s.sheets.append(SheetData(
            nt, f.name, f.stem, rowno, matched[0], matched[1], s.problems,
            total=len(records) - rowno, encoding=encoding, _rows=rows, _width=len(cells),
            broken=bad is not None, named=frozenset(i for i, c in enumerate(cells) if not is_blank(c)),
        ))
    order = {nt.label: i for i, nt in enumerate(NODE_TYPES)}
    s.sheets.sort(key=lambda sh: order[sh.label])


def _locate(nt: NodeType, header: tuple | list | None, columns: dict[str, int], i: int) -> dict[str, Any]:
    """column/header/col_index of the i-th cell, by the sheet's header when it names it."""
    key = next((k for k, j in columns.items() if j == i), None)
    if key is not None:
        return {"column": key, "header": nt.column(key).header, "col_index": i}
    if header is not None and i < len(header) and not is_blank(header[i]):
        return {"column": display(header[i]), "col_index": i}
    return {"column": col_letter(i), "col_index": i}


def _encoding_problem(f: Path, nt: NodeType, data: bytes, e: UnicodeDecodeError) -> Problem:
    """Name the row and the column of the first undecodable cell (read leniently to find it)."""
    line = data[: e.start].count(b"\n") + 1
    # Read it leniently in the encoding most of its lines are in, to point at the bad cell.
    lines = data.split(b"\n")

    def bad_lines(enc: str) -> int:
        n = 0
        for ln in lines:
            try:
                ln.decode(enc)
            except UnicodeDecodeError:
                n += 1
        return n

    enc = min(("utf-8-sig", "gb18030"), key=bad_lines)
    text = data.decode(enc, errors="replace")
    records, _ = _csv_records(text, strict=False)
    head = _first_row(records)
    where: dict[str, Any] = {}
    rowno = None
    snippet = data[max(0, e.start - 6): e.end + 6].hex(" ")
    if head is not None:
        lookup = _HEADERS[nt.label]
        columns = {}
        for i, c in enumerate(head[1]):
            k = lookup.get(header_key(c))
            if k and k not in columns:
                columns[k] = i
        for r, rec in enumerate(records, 1):
            hit = next((i for i, c in enumerate(rec) if "\ufffd" in c), None)
            if hit is not None:
                rowno = r
                where = _locate(nt, head[1], columns, hit) if r != head[0] else {}
                break
    for n, ln in enumerate(lines, 1):  # the bytes that neither encoding reads, as hex
        try:
            ln.decode(enc)
        except UnicodeDecodeError as le:
            line, snippet = n, ln[max(0, le.start - 4): le.end + 4].hex(" ")
            break
    return Problem("ENCODING", f.name, f.stem, rowno, value=snippet, label=nt.label,
                   params={"line": line}, **where)


def _syntax_problem(f: Path, nt: NodeType, bad: tuple, header, columns: dict[str, int]) -> Problem:
    rowno, detail, snippet, col = bad
    code = "CSV_QUOTES" if ("quote" in detail or "end of data" in detail) else "CSV_SYNTAX"
    where = _locate(nt, header, columns, col) if col is not None else {}
    return Problem(code, f.name, f.stem, rowno, value=snippet, label=nt.label, params={"detail": detail}, **where)


# A cell may hold a long text (a hazard description pasted from a report): no 128 KiB cap.
csv.field_size_limit(2**31 - 1)


def _csv_records(text: str, strict: bool = True) -> tuple[list[list[str]], tuple | None]:
    """All records (a blank line is an empty record, so indexes are Excel's rows - 1).

    Parsing is strict: a quote left open to the end of the file is an error at the row
    where the broken record starts (with the column whose quote is open), never a silent
    swallowing of the rows after it.
    """
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "," not in first and "\t" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    records: list[list[str]] = []
    lines = text.splitlines()
    while True:
        line_before = reader.line_num
        try:
            rec = next(reader)
        except StopIteration:
            return records, None
        except csv.Error as e:
            snippet = lines[line_before] if line_before < len(lines) else ""
            # The open quote is in the last field of the broken line when read leniently.
            fields = next(csv.reader([snippet], delimiter=delimiter), [""])
            return records, (len(records) + 1, f"line {line_before + 1}: {e}", snippet[:80], len(fields) - 1)
        records.append(rec)
