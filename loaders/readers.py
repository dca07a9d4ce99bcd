"""Reading a survey: an .xlsx workbook or a folder of CSV files, into raw rows.

`open_survey(path)` finds the sheets (by Chinese sheet name or English file name),
matches each header row against the schema and reports file- and header-level
problems. Rows are then streamed by `SheetData.rows()`: (row number as Excel shows
it, {column key: raw cell}) for every non-blank row. Nothing here interprets a
value; loaders/values.py does.

Office ledgers (docs/office-ledgers.md) are read as they are: title rows, two-row headers,
folded headers with units, the synonyms the schema declares, sheets by a name they contain or
by their headers; a party's name under its group (出租方 › 名称) stands in where the code is
blank; `open_survey(path, mapping)` adds an office's own names (loaders/mapping.py).

Workbooks are read by calamine (python-calamine, Rust; its cells given openpyxl's types),
and by openpyxl's streaming reader where only it can read one (see "xlsx" below).

Encodings of CSV files are detected, never guessed: UTF-8 (with or without BOM) is
tried strictly, then GB18030 (a superset of GBK) strictly; a file that is neither is
an error naming the file.
"""
from __future__ import annotations

import contextvars
import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterator

from graphmodel.schema import BY_FILE, BY_SHEET, NODE_TYPES, NODES, UNIT_DIVISORS, NodeType

from .messages import Problem
from .values import _NUMBER_RE, BLANKS, UNIT_OF, display, fold_width, header_key, is_blank, strip

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


def sheet_type_in(name: str) -> NodeType | None:
    """The node type whose sheet (or file) name a sheet's name contains (`劳务派遣用工`,
    `隐患排查治理台账`): the longest such name, when only one type has it."""
    k = header_key(name)
    hits = sorted(((len(key), nt) for key, nt in _SHEETS.items() if key and key in k), key=lambda x: -x[0])
    if not hits or (len(hits) > 1 and hits[1][0] == hits[0][0] and hits[1][1] is not hits[0][1]):
        return None
    return hits[0][1]


# --- header folding and lookup (real-ledgers.md) ------------------------------------------

_UNIT_TAIL = re.compile(r"[(\[【]([^()\[\]【】]*)[)\]】]$")
IGNORE = ""  # the key of a header cell that is not data (序号): ignored silently
IGNORED_HEADERS = ("序号", "填表说明")
SERIAL_HEADER = "编号"  # ignored where the sheet has its own key column, else unknown


def fold_header(text: Any) -> tuple[str, str | None]:
    """(header as compared with the schema, unit written in brackets at its end or None).

    White space and line breaks are removed, full-width forms folded, case lowered, a
    trailing `*`/`＊` (a required column) and a bracketed unit at the end (`（人）`,
    `(㎡)`, `（万元）`) taken off."""
    k = header_key(text).strip("*")
    unit = None
    m = _UNIT_TAIL.search(k)
    if m and m[1] in UNIT_OF:
        k, unit = k[: m.start()].rstrip("*"), UNIT_OF[m[1]]
    return k, unit


def _header_lookup(nt: NodeType) -> dict[str, str]:
    """Folded header -> column key: the Chinese headers and English keys first, then the
    synonyms the schema declares (never overriding a header)."""
    out: dict[str, str] = {}
    for c in nt.columns:
        out[fold_header(c.header)[0]] = c.key
        out[fold_header(c.key)[0]] = c.key
    for c in nt.columns:
        for syn in c.synonyms:
            out.setdefault(fold_header(syn)[0], c.key)
    for name in IGNORED_HEADERS:
        out.setdefault(fold_header(name)[0], IGNORE)
    return out


_HEADERS = {nt.label: _header_lookup(nt) for nt in NODE_TYPES}
# Folded names of each type's key column: under a group that names a reference column
# (出租方 over 统一社会信用代码) they stand for that reference.
_KEY_NAMES = {nt.label: {h for h, k in _HEADERS[nt.label].items() if k == nt.key} for nt in NODE_TYPES}
HEADER_ROWS = 10  # the header is one of the first 10 non-blank rows
DEEP_ROWS = 30  # a header further down is named in an error (HEADER_TOO_DEEP)
MIN_HEADERS = 3  # recognised names that make a row the header

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
    unknown: dict = field(default_factory=dict)  # index of an unrecognised column -> its COLUMN_UNKNOWN
    units: dict = field(default_factory=dict)  # key -> unit its cells are written in (元 in a 万元 column)
    value_map: dict = field(default_factory=dict)  # key -> {office value: sitegraph value} (--mapping)
    fallback: dict = field(default_factory=dict)  # key -> index of a cell read when the key's own is blank

    @property
    def label(self) -> str:
        return self.nt.label

    @cached_property
    def key(self) -> str:
        """The key column's key (looked up for every row: kept)."""
        return self.nt.key

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(row number, {key: raw cell}) for each non-blank row after the header.

        Cells of columns that are not imported are counted into their problem's `cells`."""
        warned: dict[int, Problem] = {}
        counts: dict[int, int] = dict.fromkeys(self.unknown, 0)
        known = set(self.columns.values()) | set(self.named)
        unknown = [i for i in range(self._width) if i not in known]  # header cells without a name
        named_unknown = list(self.unknown)
        units = [(k, u) for k, u in self.units.items()]
        units += [(k, vm) for k, vm in self.value_map.items() if k in self.columns]
        fallback = list(self.fallback.items())
        try:
            yield from self._each_row(warned, counts, unknown, named_unknown, units, fallback)
        finally:
            for i, p in self.unknown.items():
                p.params["cells"] = counts[i]
            for i, p in warned.items():
                p.params["cells"] = counts.get(("unnamed", i), 0)

    def _each_row(self, warned, counts, unknown, named_unknown, units, fallback):
        keys, where = list(self.columns), list(self.columns.values())
        pick = itemgetter(*where) if len(where) > 1 else (lambda cells: (cells[where[0]],)) if where else None
        reach = max(where) + 1 if where else 0  # a row at least this long has every column's cell
        for rowno, cells in self._rows():
            try:  # text cells (CSV): blank when nothing but blanks is left of them together
                if not "".join(cells).strip(BLANKS):
                    continue
            except TypeError:  # a workbook's typed cells, or None
                if all(is_blank(c) for c in cells):
                    continue
            for i in named_unknown:
                if i < len(cells) and not is_blank(cells[i]):
                    counts[i] += 1
            # cells under no header: within the header's width, and beyond it in a workbook
            # (CSV rows longer than the header are reported per row as ROW_TOO_LONG)
            beyond = range(self._width, len(cells)) if self.encoding is None else ()
            for i in [*unknown, *beyond]:
                c = cells[i] if i < len(cells) else None
                if not is_blank(c):
                    if i not in warned:
                        warned[i] = Problem(
                            "COLUMN_UNNAMED", self.file, self.sheet, rowno, column=col_letter(i),
                            value=display(c), params={"col": col_letter(i), "cells": 0}, label=self.label,
                            col_index=i,
                        )
                        self.problems.append(warned[i])
                    counts[("unnamed", i)] = counts.get(("unnamed", i), 0) + 1
            if self.encoding is not None and len(cells) > self._width:
                extra = [c for c in cells[self._width:] if not is_blank(c)]
                if extra:
                    self.problems.append(Problem(
                        "ROW_TOO_LONG", self.file, self.sheet, rowno, column=col_letter(self._width),
                        value=display(extra[0]),
                        params={"extra": len(cells) - self._width, "cells": "”，“".join(map(display, extra[:3]))},
                        label=self.label, col_index=self._width,
                    ))
            if pick is not None and len(cells) >= reach:
                out = dict(zip(keys, pick(cells)))
            else:
                out = {k: (cells[i] if i < len(cells) else None) for k, i in self.columns.items()}
            for k, i in fallback:  # 出租方 › 名称 where 出租方 › 统一社会信用代码 is blank
                if is_blank(out[k]) and i < len(cells):
                    out[k] = cells[i]
            for k, u in units:
                if u.__class__ is dict:  # --mapping values: the office's word for a sitegraph value
                    c = out[k]
                    if c.__class__ is str and strip(c) in u:
                        out[k] = u[strip(c)]
                else:
                    out[k] = _in_unit(out[k], u)
            yield rowno, out


def _in_unit(c: Any, unit: str) -> Any:
    """A bare number of a column headed in another unit (`整改资金（元）`), with that unit
    written after it, so that loaders/values.py converts it (50000 -> "50000元" -> 5 万元)."""
    if c is None or isinstance(c, bool):
        return c
    if isinstance(c, (int, float)):
        return f"{display(c)}{unit}"
    if isinstance(c, str) and _NUMBER_RE.fullmatch(strip(fold_width(c)).replace(" ", "")):
        return strip(c) + unit
    return c


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


def open_survey(path: str | Path, mapping=None) -> Survey:
    """Open a workbook, a folder of CSV files or one CSV file; problems go to `.problems`.
    `mapping` (loaders/mapping.py Mapping): the office's own sheet, header and value names."""
    token = MAPPING.set(mapping)
    try:
        s = _open_survey(path)
    finally:
        MAPPING.reset(token)
    if mapping is not None:
        for sh in s.sheets:
            sh.value_map = {k: vm for k, vm in mapping.values.get(sh.label, {}).items() if k in sh.columns}
        for k, line in mapping.lines.items():  # a name the ledger does not have: said, not fatal
            if k not in mapping.used and (k[0] == "sheets" or any(sh.label == k[1] for sh in s.sheets)):
                s.problems.append(Problem("MAPPING_UNUSED", mapping.name, row=line or None,
                                          value=mapping.written[k],
                                          params={"what_zh": "工作表" if k[0] == "sheets" else "列",
                                                  "what_en": "sheet" if k[0] == "sheets" else "column"}))
    return s


def _open_survey(path: str | Path) -> Survey:
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

def _names(upper: tuple, lower: tuple | None) -> list[tuple[int, Any, Any]]:
    """(column index, header cell as written, its group or None) of every named column.

    With a two-row header a cell of the lower row names its column, qualified by the
    group cell above it (a merged cell spans to the next cell of the upper row); where
    the lower row is blank the upper cell names the column (merged down)."""
    if lower is None:
        return [(i, c, None) for i, c in enumerate(upper) if not is_blank(c)]
    out = []
    group = None
    for i in range(max(len(upper), len(lower))):
        u = upper[i] if i < len(upper) else None
        lo = lower[i] if i < len(lower) else None
        if not is_blank(u):
            group = u
        if not is_blank(lo):
            out.append((i, lo, group))
        elif not is_blank(u):
            out.append((i, u, None))
    return out


# The --mapping in force while a survey is opened (loaders/mapping.py), or None.
MAPPING: contextvars.ContextVar = contextvars.ContextVar("sitegraph_mapping", default=None)


def _lookup(nt: NodeType) -> dict[str, str]:
    m = MAPPING.get()
    return _HEADERS[nt.label] if m is None else m.lookup(nt, _HEADERS[nt.label])


def _mapped_sheet(title: str) -> NodeType | None:
    """The type a --mapping gives a sheet (or CSV file) name."""
    m = MAPPING.get()
    if m is None:
        return None
    k = fold_header(title)[0]
    nt = m.sheets.get(k)
    if nt is not None:
        m.used.add(("sheets", k))
    return nt


def _key_of(nt: NodeType, cell: Any, group: Any = None) -> str | None:
    """The column key a header cell names (IGNORE for 序号), or None."""
    lookup = _lookup(nt)
    name = fold_header(cell)[0]
    if group is None:
        return lookup.get(name)
    gname = fold_header(group)[0]
    g = lookup.get(gname)
    if g:  # 出租方 over 统一社会信用代码: the reference to that party
        col = nt.column(g)
        if col.ref and name in _KEY_NAMES[col.ref]:
            return g
    k = lookup.get(name)
    if k is None and not g:
        k = lookup.get(gname + name)
    return k


_NAME_NAMES = {h for h, k in _HEADERS["Enterprise"].items() if k == "name"}  # 名称, 企业名称, 单位名称 …


def _party_name_of(nt: NodeType, cell: Any, group: Any) -> str | None:
    """The party reference whose group a name header stands under (出租方 › 名称), or None."""
    if group is None:
        return None
    g = _lookup(nt).get(fold_header(group)[0])
    if g and nt.column(g).ref == "Enterprise" and fold_header(cell)[0] in _NAME_NAMES:
        return g
    return None


def _score(nt: NodeType, names: list) -> int:
    return len({k for _, c, g in names if (k := _key_of(nt, c, g))})


def _sub_headers(nt: NodeType, upper: tuple, lower: tuple) -> bool:
    """Is `lower` the second row of a two-row header: names only under group cells of
    `upper` (an upper cell followed by blank ones), at least one of them known?"""
    width = max(len(upper), len(lower))
    starts = [i for i, c in enumerate(upper) if not is_blank(c)]
    if not starts:
        return False
    spans = set()
    for a, b in zip(starts, starts[1:] + [width]):
        if b - a >= 2:
            spans.update(range(a, b))
    cells = {i for i, c in enumerate(lower) if not is_blank(c)}
    if not cells or not cells <= spans:
        return False
    return any(_key_of(nt, c, g) or _party_name_of(nt, c, g) for i, c, g in _names(upper, lower) if i in cells)


def _pick_header(nt: NodeType, head: list[tuple[int, tuple]]):
    """The header of a sheet of type `nt` among its first non-blank rows: (upper, lower or
    None) as (row number, cells); ("CODE", params) when it cannot be told; None when no
    row has MIN_HEADERS known names."""
    near = head[:HEADER_ROWS]
    scores = [_score(nt, _names(c, None)) for _, c in near]
    best = max(range(len(near)), key=lambda i: (scores[i], -i))
    if scores[best] < MIN_HEADERS:
        for r, c in head[HEADER_ROWS:]:
            if _score(nt, _names(c, None)) >= MIN_HEADERS:
                return "HEADER_TOO_DEEP", {"row": r, "limit": HEADER_ROWS}
        return None
    upper, lower = near[best], None
    nxt = near[best + 1] if best + 1 < len(near) and near[best + 1][0] == upper[0] + 1 else None
    prev = near[best - 1] if best > 0 and near[best - 1][0] == upper[0] - 1 else None
    if nxt is not None and _sub_headers(nt, upper[1], nxt[1]):
        lower = nxt
    elif prev is not None and _sub_headers(nt, prev[1], upper[1]) \
            and _score(nt, _names(prev[1], upper[1])) > scores[best]:
        upper, lower = prev, upper
    used = {upper[0], lower[0] if lower else None}
    for (r, _), sc in zip(near, scores):
        if r not in used and sc == scores[best]:
            return "HEADER_AMBIGUOUS", {"row": near[best][0], "other": r, "count": sc}
    return upper, lower


_TITLE_DATES = (re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})"),
                re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"))


def _title_date(s: Survey, nt: NodeType, file: str, sheet: str, title: list[tuple[int, tuple]]) -> None:
    """A date written in the title rows (填报日期：2024年11月30日) is offered as the survey date,
    never used: one TITLE_DATE warning per survey, naming `load --date`."""
    if any(p.code == "TITLE_DATE" for p in s.problems):
        return
    for r, cells in title:
        for c in cells:
            if isinstance(c, (dt.date, dt.datetime)):
                day = c if not isinstance(c, dt.datetime) else c.date()
            elif isinstance(c, str) and (m := next((m for rx in _TITLE_DATES if (m := rx.search(c))), None)):
                try:
                    day = dt.date(int(m[1]), int(m[2]), int(m[3]))
                except ValueError:
                    continue
            else:
                continue
            s.problems.append(Problem("TITLE_DATE", file, sheet, r, value=display(c), label=nt.label,
                                      params={"date": day.isoformat()}))
            return


@dataclass
class _Header:
    row: int  # the last header row: data follow it
    columns: dict[str, int]
    headers: dict[str, str]
    width: int
    named: frozenset
    unknown: dict
    units: dict
    fallback: dict = field(default_factory=dict)


def _match_header(s: Survey, nt: NodeType, file: str, sheet: str, head: list[tuple[int, tuple]],
                  encoding: str | None) -> _Header | None:
    picked = _pick_header(nt, head)
    if picked is not None and isinstance(picked[0], str):
        code, params = picked
        s.problems.append(Problem(code, file, sheet, params["row"], label=nt.label, params=params))
        return None
    upper, lower = picked if picked is not None else (head[0], None)
    rowno = upper[0]
    cells = upper[1]
    _title_date(s, nt, file, sheet, [r for r in head if r[0] < rowno])
    names = _names(upper[1], lower[1] if lower else None)
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    units: dict[str, str] = {}
    unknown: dict[int, Problem] = {}
    named = set()
    dup: list[Problem] = []
    bad_unit: list[Problem] = []
    serial = []
    mapping = MAPPING.get()
    by_name: dict[str, tuple] = {}  # party reference -> (index, header) of the party's name under its group
    fallback: dict[str, int] = {}
    for i, cell, group in names:
        at = lower[0] if lower and i < len(lower[1]) and not is_blank(lower[1][i]) else rowno
        named.add(i)
        key = _key_of(nt, cell, group)
        if mapping is not None and fold_header(cell)[0] in mapping.headers.get(nt.label, {}):
            mapping.used.add(("columns", nt.label, fold_header(cell)[0]))
        if key == IGNORE:
            continue
        if key is None and (g := _party_name_of(nt, cell, group)) and g not in by_name:
            by_name[g] = (i, cell)
            continue
        if key is None:
            if fold_header(cell)[0] == SERIAL_HEADER:
                serial.append((i, cell, at))
                continue
            unknown[i] = Problem("COLUMN_UNKNOWN", file, sheet, at, column=display(cell).strip(),
                                 value=display(cell), label=nt.label, col_index=i, params={"cells": 0})
        elif key in columns:
            col = nt.column(key)
            dup.append(Problem("HEADER_DUPLICATE", file, sheet, at, column=key, header=col.header,
                               value=display(cell), label=nt.label, col_index=i,
                               params={"col": col_letter(i), "other": col_letter(columns[key])}))
        else:
            columns[key] = i
            headers[key] = display(cell)
            col = nt.column(key)
            written = fold_header(cell)[1]
            if written and col.unit and written != col.unit:
                if (written, col.unit) in UNIT_DIVISORS:
                    units[key] = written
                else:
                    bad_unit.append(Problem("HEADER_UNIT", file, sheet, at, column=key, header=col.header,
                                            value=display(cell), label=nt.label, col_index=i,
                                            params={"written": written, "unit": col.unit}))
    for g, (i, cell) in by_name.items():  # 出租方 › 名称: the party by its name (loaders/party_names.py)
        if g in columns:
            fallback[g] = i  # where the code is blank
        else:
            columns[g], headers[g] = i, display(cell)
    for i, cell, at in serial:  # 编号 beside the sheet's own key is a running number; else it is unknown
        if nt.key not in columns:
            unknown[i] = Problem("COLUMN_UNKNOWN", file, sheet, at, column=display(cell).strip(),
                                 value=display(cell), label=nt.label, col_index=i, params={"cells": 0})
    if not columns:
        first = nt.columns[:3]
        s.problems.append(Problem(
            "HEADER_NONE", file, sheet, rowno, value="，".join(display(c) for c in cells if not is_blank(c))[:80],
            label=nt.label,
            params={"encoding": encoding or "xlsx", "example": "、".join(c.header for c in first),
                    "example_en": ", ".join(f"{c.header} ({c.key})" for c in first)},
        ))
        return None
    s.problems.extend(sorted(unknown.values(), key=lambda p: p.col_index) + dup + bad_unit)
    for c in nt.columns:
        if c.required and c.key not in columns and not (c.key == nt.key and nt.key_from) \
                and not (c.key == nt.key and nt.alt_key and nt.alt_key in columns):  # 企业: 临时编码 instead
            # (a key column the sheet lacks is derived from the row: loaders/keys.py)
            s.problems.append(Problem("COLUMN_MISSING", file, sheet, rowno, column=c.key, header=c.header,
                                      label=nt.label))
    if bad_unit:
        return None
    width = max(len(upper[1]), len(lower[1]) if lower else 0)
    return _Header(lower[0] if lower else rowno, columns, headers, width, frozenset(named), unknown, units,
                   fallback)


def _recognise(title: str, head: list[tuple[int, tuple]]) -> tuple[NodeType, tuple[str, str] | None] | None:
    """The type of a sheet (or CSV file): by its name, by a known name its name contains,
    or by its headers (the type matching most, at least MIN_HEADERS including its key or
    its required references); with how it was taken when not by its own name."""
    nt = _mapped_sheet(title)
    if nt is not None:
        m = MAPPING.get()
        return nt, (f"按映射文件 {m.name}", f"by the mapping file {m.name}")
    nt = sheet_type(title)
    if nt is not None:
        return nt, None
    nt = sheet_type_in(title)
    # by a name it contains only with a header to read (`企业填表说明` is no 企业 sheet)
    if nt is not None and _pick_header(nt, head) is not None:
        return nt, (f"表名含“{nt.sheet}”", f"its name contains '{nt.sheet}'")
    best = None
    for nt in NODE_TYPES:
        picked = _pick_header(nt, head)
        if picked is None or isinstance(picked[0], str):
            continue
        upper, lower = picked
        keys = {k for _, c, g in _names(upper[1], lower[1] if lower else None) if (k := _key_of(nt, c, g))}
        required_refs = {c.key for c in nt.refs if c.required}
        if len(keys) >= MIN_HEADERS and (nt.key in keys or (required_refs and required_refs <= keys)):
            if best is None or len(keys) > best[1]:
                best = (nt, len(keys))
    if best is None:
        return None
    nt, n = best
    return nt, (f"按列名识别，{n} 列相符", f"recognised by its headers, {n} columns match")


def _non_blank(rows) -> int:
    return sum(1 for _, cells in rows for c in cells if not is_blank(c))


def _head(rows) -> list[tuple[int, tuple]]:
    """The first DEEP_ROWS non-blank rows: where the header is looked for."""
    out = []
    for i, cells in rows:
        if not all(is_blank(c) for c in cells):
            out.append((i, tuple(cells)))
            if len(out) >= DEEP_ROWS:
                break
    return out


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


def _add_sheet(s: Survey, seen: dict[str, str], title: str, head: list[tuple[int, tuple]],
               total: int | None, make_rows) -> None:
    """One worksheet: its type, header and rows (`make_rows(first data row)` -> rows callable)."""
    file = s.path.name
    if not head:
        nt = sheet_type(title)
        if nt is not None:
            s.problems.append(Problem("SHEET_EMPTY", file, title, label=nt.label))
        return
    if header_key(title) == header_key(INSTRUCTIONS_SHEET):
        return
    found = _recognise(title, head)
    if found is None:
        s.problems.append(Problem("SHEET_UNKNOWN", file, title, value=title,
                                  params={"expected": EXPECTED_ZH, "expected_en": EXPECTED_EN,
                                          "cells": _non_blank(make_rows(1)())}))
        return
    nt, how = found
    if how is not None:
        s.problems.append(Problem("SHEET_TAKEN_AS", file, title, value=title, label=nt.label,
                                  params={"as_zh": nt.sheet, "as_en": nt.file, "how_zh": how[0], "how_en": how[1]}))
    if not _claim(s, seen, nt, file, title):
        return
    h = _match_header(s, nt, file, title, head, None)
    if h is None:
        return
    s.sheets.append(SheetData(
        nt, file, title, h.row, h.columns, h.headers, s.problems,
        total=(total - h.row) if total else None, _rows=make_rows(h.row + 1), _width=h.width,
        named=h.named, unknown=h.unknown, units=h.units, fallback=h.fallback,
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
            head = _head(enumerate(ws.iter_rows(values_only=True), 1))
        except Exception as e:
            s.problems.append(Problem("FILE_CORRUPT", file, title, params={"detail": f"{type(e).__name__}: {e}"[:200]}))
            continue

        def make_rows(start, ws=ws):
            def rows(ws=ws, start=start):
                for i, cells in enumerate(ws.iter_rows(min_row=start, values_only=True), start):
                    yield i, cells
            return rows

        _add_sheet(s, seen, title, head, total, make_rows)
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
        head = _head(rows(1))
        end = rows.sheet.end

        def make_rows(start, rows=rows):
            rows.start = start
            return rows

        _add_sheet(s, seen, rows.name, head, end[0] + 1 if end else None, make_rows)
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
        nt = sheet_type(f.stem) if MAPPING.get() is None or not _mapped_sheet(f.stem) else None
        data = f.read_bytes()
        if nt is None:  # by a name it contains, or by its headers (or the mapping); else not imported
            text = decode_lenient(data)
            records, _ = _csv_records(text, strict=False)
            head = _head(enumerate(records, 1))
            found = _recognise(f.stem, head) if head else None
            if found is None:
                s.problems.append(Problem("SHEET_UNKNOWN", f.name, f.stem, value=f.name,
                                          params={"expected": EXPECTED_ZH, "expected_en": EXPECTED_EN,
                                                  "cells": _non_blank(enumerate(records, 1))}))
                continue
            nt, how = found
            if how is not None:
                s.problems.append(Problem("SHEET_TAKEN_AS", f.name, f.stem, value=f.name, label=nt.label,
                                          params={"as_zh": nt.sheet, "as_en": nt.file, "how_zh": how[0],
                                                  "how_en": how[1]}))
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
        head = _head(enumerate(records, 1))
        if not head:
            if bad is None:
                s.problems.append(Problem("FILE_EMPTY", f.name, f.stem, label=nt.label))
            else:
                s.problems.append(_syntax_problem(f, nt, bad, None, {}))
            continue
        if not _claim(s, seen, nt, f.name, f.stem):
            continue
        h = _match_header(s, nt, f.name, f.stem, head, encoding)
        if bad is not None:
            s.problems.append(_syntax_problem(f, nt, bad, head[0][1], h.columns if h else {}))
        if h is None:
            continue

        def rows(records=records, start=h.row):
            for i in range(start, len(records)):
                yield i + 1, tuple(records[i])

        s.sheets.append(SheetData(
            nt, f.name, f.stem, h.row, h.columns, h.headers, s.problems,
            total=len(records) - h.row, encoding=encoding, _rows=rows, _width=h.width,
            broken=bad is not None, named=h.named, unknown=h.unknown, units=h.units, fallback=h.fallback,
        ))
    order = {nt.label: i for i, nt in enumerate(NODE_TYPES)}
    s.sheets.sort(key=lambda sh: order[sh.label])


def decode_lenient(data: bytes) -> str:
    """Text of a file only looked at (an unknown CSV): undecodable bytes replaced."""
    try:
        return decode(data)[0]
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


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
            k = lookup.get(fold_header(c)[0])
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
    if "," not in first and "\t" not in first:  # a title line first: the lines below tell
        below = text.split("\n", HEADER_ROWS + 1)[1:HEADER_ROWS + 1]
        if any("\t" in ln for ln in below) and not any("," in ln for ln in below):
            delimiter = "\t"
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
