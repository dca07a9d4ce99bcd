"""Reading a survey: an .xlsx workbook or a folder of CSV files, into raw rows.

`open_survey(path)` finds the sheets (by Chinese sheet name or English file name),
matches each header row against the schema and reports file- and header-level
problems. Rows are then streamed by `SheetData.rows()`: (row number as Excel shows
it, {column key: raw cell}) for every non-blank row. Nothing here interprets a
value; loaders/values.py does.

Encodings of CSV files are detected, never guessed: UTF-8 (with or without BOM) is
tried strictly, then GB18030 (a superset of GBK) strictly; a file that is neither is
an error naming the file.
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from graphmodel.schema import BY_FILE, BY_SHEET, NODE_TYPES, NodeType

from .messages import Problem
from .values import display, header_key, is_blank

XLSX_SUFFIXES = (".xlsx", ".xlsm")


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

def _open_xlsx(s: Survey) -> None:
    from openpyxl import load_workbook

    p = s.path
    file = p.name
    if p.stat().st_size == 0:
        s.problems.append(Problem("FILE_EMPTY", file))
        return
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
        nt = sheet_type(title)
        try:
            total = ws.max_row
            ws.reset_dimensions()  # dimensions written by other tools can be wrong: read every cell
            header = _first_row(ws.iter_rows(values_only=True))
        except Exception as e:
            s.problems.append(Problem("FILE_CORRUPT", file, title, params={"detail": f"{type(e).__name__}: {e}"[:200]}))
            continue
        if nt is None:
            if header is not None:
                s.problems.append(Problem("SHEET_UNKNOWN", file, title, value=title,
                                          params={"expected": EXPECTED_ZH, "expected_en": EXPECTED_EN}))
            continue
        if header is None:
            s.problems.append(Problem("SHEET_EMPTY", file, title, label=nt.label))
            continue
        if not _claim(s, seen, nt, file, title):
            continue
        rowno, cells = header
        matched = _match_header(s, nt, file, title, cells, rowno, None)
        if matched is None:
            continue

        def rows(ws=ws, start=rowno + 1):
            for i, cells in enumerate(ws.iter_rows(min_row=start, values_only=True), start):
                yield i, cells

        s.sheets.append(SheetData(
            nt, file, title, rowno, matched[0], matched[1], s.problems,
            total=(total - rowno) if total else None, _rows=rows, _width=len(cells),
            named=frozenset(i for i, c in enumerate(cells) if not is_blank(c)),
        ))
    _no_sheets(s, file)


def _first_row(rows) -> tuple[int, tuple] | None:
    for i, cells in enumerate(rows, 1):
        if not all(is_blank(c) for c in cells):
            return i, tuple(cells)
    return None


def _no_sheets(s: Survey, file: str) -> None:
    if not s.sheets and not any(p.is_error for p in s.problems):
        s.problems.append(Problem("NO_SHEETS", file, params={"expected": EXPECTED_ZH, "expected_en": EXPECTED_EN}))


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
