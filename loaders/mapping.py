"""An office's own names mapped onto sitegraph's: `--mapping FILE.toml` and `sitegraph map`.

A mapping file (TOML) names what the built-in recognition (loaders/readers.py: header
folding, the synonyms declared in graphmodel.schema, sheets by name or by headers) cannot
know about one office's form:

    [sheets]                          # office sheet name = sitegraph sheet
    "安全隐患排查表" = "隐患"

    [columns."隐患"]                  # per sitegraph sheet: office header = sitegraph column
    "问题描述" = "隐患描述"
    "填表人" = ""                     # "" = not data: not imported, not reported

    [values."隐患"."整改状态"]        # per sheet and column: office value = sitegraph value
    "已落实" = "已整改"

Targets may be written as sitegraph's Chinese names, English keys, or declared synonyms.
Every target is checked when the file is read: an unknown sheet, column or value, a TOML
syntax error or a section that is not one of the three is a `MappingError` naming the file
and the line; nothing is read from the ledger then.

`draft(ledger)` writes the mapping a user starts from (`sitegraph map`): every sheet, header
and enum value that was not recognised, each with the closest sitegraph name (rapidfuzz)
and its score.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphmodel.errors import SitegraphError
from graphmodel.schema import NODE_TYPES, NodeType

from .values import BLANKS, ValueProblem, parse_cell

SECTIONS = ("sheets", "columns", "values")
SUGGEST_MIN = 50  # a draft entry scoring below this is written commented out


class MappingError(SitegraphError):
    """A mapping file that cannot be used: `zh` / `en` name the file and the line."""

    def __init__(self, zh: str, en: str):
        self.zh, self.en = zh, en
        super().__init__(f"{zh} / {en}")


@dataclass
class Mapping:
    """A mapping file, checked: folded office names -> sitegraph's."""

    path: Path
    sheets: dict[str, NodeType] = field(default_factory=dict)  # folded office sheet name -> type
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # label -> folded header -> key ("" = ignore)
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # label -> key -> value -> value
    lines: dict[tuple, int] = field(default_factory=dict)  # ("sheets", name) / ("columns", label, name) -> line
    written: dict[tuple, str] = field(default_factory=dict)  # same keys -> the office name as written
    used: set = field(default_factory=set)  # keys of `lines` that matched something in the ledger
    _lookups: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    def lookup(self, nt: NodeType, base: dict[str, str]) -> dict[str, str]:
        """The reader's header lookup of `nt` with this mapping's headers over it."""
        if nt.label not in self.headers:
            return base
        if nt.label not in self._lookups:
            self._lookups[nt.label] = {**base, **self.headers[nt.label]}
        return self._lookups[nt.label]

    def sheet_name(self, nt: NodeType) -> str | None:
        """The office's name of a sheet (the first one mapped to it), for `template --mapping`."""
        return next((self.written[k] for k in self.written if k[0] == "sheets" and self.sheets[k[1]] is nt), None)

    def header(self, nt: NodeType, key: str) -> str | None:
        """The office's header of a column (the first one mapped to it), for `template --mapping`."""
        for k, written in self.written.items():
            if k[0] == "columns" and k[1] == nt.label and self.headers[nt.label].get(k[2]) == key:
                return written
        return None


# --- reading a mapping file --------------------------------------------------------------

def _fold(text: str) -> str:
    from .readers import fold_header

    return fold_header(text)[0]


def _path(d: Any) -> tuple[str, ...]:
    """The keys down a chain of one-key tables ({"a": {"b": {}}} -> ("a", "b"))."""
    path: list[str] = []
    while isinstance(d, dict) and len(d) == 1:
        k = next(iter(d))
        path.append(k)
        d = d[k]
    return tuple(path)


def _index_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line number of every table header and key of the file (full key paths, and every
    prefix of a dotted key or inline table), as far as a line-by-line reading finds them."""
    out: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        try:
            d = tomllib.loads(s)  # a header line alone is a table; a key line alone is a key/value
        except tomllib.TOMLDecodeError:
            continue
        header = s.startswith("[") and not s.startswith("[[")
        path = _path(d)
        if header:
            table = path
            out.setdefault(table, n)
            continue
        for i in range(1, len(path) + 1):
            out.setdefault(table + path[:i], n)
        for k in d if len(d) > 1 else ():
            out.setdefault(table + (k,), n)
    return out


def _type_of(name: str) -> NodeType | None:
    from .readers import sheet_type

    nt = sheet_type(name)
    if nt is None:
        for t in NODE_TYPES:
            if t.label.lower() == name.strip().lower():
                return t
    return nt


def _closest(name: str, choices: dict[str, Any]) -> tuple[Any, float] | None:
    """(value of the closest choice, score 0-100) by rapidfuzz's WRatio, or None."""
    from rapidfuzz import fuzz, process

    if not choices or not name:
        return None
    hit = process.extractOne(name, list(choices), scorer=fuzz.WRatio)
    return (choices[hit[0]], round(hit[1])) if hit else None


def _sheet_choices() -> dict[str, NodeType]:
    out = {}
    for nt in NODE_TYPES:
        out[nt.sheet] = nt
        out[nt.file] = nt
    return out


def _column_choices(nt: NodeType) -> dict[str, str]:
    """Every name a column of `nt` answers to -> its Chinese header."""
    out = {}
    for c in nt.columns:
        for name in (c.header, c.key, *c.synonyms):
            out.setdefault(name, c.header)
    return out


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; MappingError (file, line, what) when it cannot be used."""
    from .readers import _HEADERS

    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise MappingError(f"找不到映射文件 {path}", f"no mapping file {path}") from None
    except IsADirectoryError:
        raise MappingError(f"映射文件 {path} 是一个文件夹", f"the mapping file {path} is a folder") from None
    except UnicodeDecodeError:
        raise MappingError(f"映射文件 {p.name} 不是 UTF-8 文本：请用 UTF-8 编码保存",
                           f"the mapping file {p.name} is not UTF-8 text: save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        import re

        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        where_zh = f"第 {m[1]} 行第 {m[2]} 列" if m else ""
        where_en = f"line {m[1]}, column {m[2]}" if m else ""
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise MappingError(f"映射文件 {p.name} {where_zh}：TOML 语法错误（{detail}）；字符串请加英文双引号，如 \"问题描述\" = \"隐患描述\"",
                           f"mapping file {p.name} {where_en}: TOML syntax error ({detail}); quote names, "
                           f"e.g. \"问题描述\" = \"隐患描述\"") from None
    lines = _index_lines(text)
    m = Mapping(p)

    def fail(path: tuple[str, ...], zh: str, en: str):
        n = next((lines[path[:i]] for i in range(len(path), 0, -1) if path[:i] in lines), None)
        at_zh, at_en = (f" 第 {n} 行", f" line {n}") if n else ("", "")
        raise MappingError(f"映射文件 {p.name}{at_zh}：{zh}", f"mapping file {p.name}{at_en}: {en}")

    def table(path: tuple[str, ...], v: Any) -> dict:
        if not isinstance(v, dict):
            fail(path, f"“{'.'.join(path)}”应为一个表（[{'.'.join(path)}]），这里是一个值",
                 f"'{'.'.join(path)}' must be a table ([{'.'.join(path)}]), not a value")
        return v

    def text_of(path: tuple[str, ...], v: Any) -> str:
        if not isinstance(v, str):
            fail(path, f"“{path[-1]}”的目标应为加引号的文字，这里是 {v!r}",
                 f"the target of '{path[-1]}' must be quoted text, not {v!r}")
        return v.strip(BLANKS)

    for section, v in data.items():
        if section not in SECTIONS:
            hint = _closest(section, {s: s for s in SECTIONS})
            fail((section,), f"不认识的部分“{section}”：只能是 sheets、columns、values"
                 + (f"（是否为“{hint[0]}”？）" if hint and hint[1] >= 60 else ""),
                 f"unknown section '{section}': use sheets, columns or values"
                 + (f" (did you mean '{hint[0]}'?)" if hint and hint[1] >= 60 else ""))
        table((section,), v)

    def sheet(path: tuple[str, ...], name: str) -> NodeType:
        nt = _type_of(name)
        if nt is None:
            hint = _closest(name, _sheet_choices())
            fail(path, f"没有名为“{name}”的 sitegraph 工作表"
                 + (f"（是否为“{hint[0].sheet}”？）" if hint and hint[1] >= 60 else "")
                 + "；可用：" + "、".join(t.sheet for t in NODE_TYPES),
                 f"sitegraph has no sheet '{name}'" + (f" (did you mean '{hint[0].sheet}'?)" if hint and hint[1] >= 60
                                                      else "")
                 + "; sheets: " + ", ".join(f"{t.sheet} ({t.file})" for t in NODE_TYPES))
        return nt

    def column(path: tuple[str, ...], nt: NodeType, name: str) -> str:
        key = _HEADERS[nt.label].get(_fold(name))
        if not key:
            hint = _closest(name, _column_choices(nt))
            fail(path, f"“{nt.sheet}”表没有“{name}”列" + (f"（是否为“{hint[0]}”？）" if hint and hint[1] >= 60 else ""),
                 f"the {nt.sheet} ({nt.file}) sheet has no column '{name}'"
                 + (f" (did you mean '{hint[0]}'?)" if hint and hint[1] >= 60 else ""))
        return key

    for office, target in table(("sheets",), data.get("sheets", {})).items():
        path = ("sheets", office)
        nt = sheet(path, text_of(path, target))
        m.sheets[_fold(office)] = nt
        m.lines[("sheets", _fold(office))] = lines.get(path, 0)
        m.written[("sheets", _fold(office))] = office
    for sname, cols in table(("columns",), data.get("columns", {})).items():
        nt = sheet(("columns", sname), sname)
        heads = m.headers.setdefault(nt.label, {})
        for office, target in table(("columns", sname), cols).items():
            path = ("columns", sname, office)
            t = text_of(path, target)
            heads[_fold(office)] = column(path, nt, t) if t else ""
            m.lines[("columns", nt.label, _fold(office))] = lines.get(path, 0)
            m.written[("columns", nt.label, _fold(office))] = office
    for sname, cols in table(("values",), data.get("values", {})).items():
        nt = sheet(("values", sname), sname)
        for cname, vals in table(("values", sname), cols).items():
            key = column(("values", sname, cname), nt, cname)
            col = nt.column(key)
            out = m.values.setdefault(nt.label, {}).setdefault(key, {})
            for office, target in table(("values", sname, cname), vals).items():
                path = ("values", sname, cname, office)
                t = text_of(path, target)
                try:
                    parse_cell(col, t, units=True)
                except ValueProblem as e:
                    allowed = "、".join(col.enum) if col.enum else ""
                    fail(path, f"“{t}”不是“{col.header}”列可用的值" + (f"，应为：{allowed}" if allowed else f"（{e.code}）"),
                         f"'{t}' is not a value of the {col.header} ({col.key}) column"
                         + (f"; one of: {allowed}" if allowed else f" ({e.code})"))
                out[office.strip(BLANKS)] = t
    return m


# --- the draft (`sitegraph map`) --------------------------------------------------------

def _q(s: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(s, ensure_ascii=False)


def _entry(office: str, target: str, score: float, note: str = "") -> str:
    line = f"{_q(office)} = {_q(target)}"
    comment = f"  # 得分 {score:g}" + (f"，{note}" if note else "")
    return (line if score >= SUGGEST_MIN else "# " + line) + comment


def _head_rows(path: Path, kind: str, sheet: str) -> list[tuple]:
    """The first rows of a sheet (or CSV file) that sitegraph did not recognise."""
    from .readers import _csv_records, _head, decode_lenient

    if kind == "csv":
        f = path / f"{sheet}.csv" if path.is_dir() else path
        records, _ = _csv_records(decode_lenient(f.read_bytes()), strict=False)
        return [cells for _, cells in _head(enumerate(records, 1))]
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)  # streamed: only the first rows are read
    try:
        return [tuple(cells) for _, cells in _head(enumerate(wb[sheet].iter_rows(values_only=True), 1))]
    finally:
        wb.close()


def _guess_sheet(name: str, rows: list[tuple]) -> tuple[NodeType, float, str, tuple] | None:
    """The sitegraph sheet an unrecognised one most likely is: by its headers (the row of
    the first ten naming most columns of one type), else by its name."""
    from .readers import HEADER_ROWS, IGNORE, _key_of

    best = None
    for nt in NODE_TYPES:
        for cells in rows[:HEADER_ROWS]:
            named = [c for c in cells if c not in (None, "")]
            hits = {k for c in named if (k := _key_of(nt, c)) and k != IGNORE}
            if hits and (best is None or len(hits) > best[1]):
                best = (nt, len(hits), len(named), cells)
    if best and best[1] >= 2:
        nt, hits, named, cells = best
        return nt, round(100 * hits / max(named, 1)), f"按列名：{hits} 列相符", cells
    hit = _closest(name, _sheet_choices())
    if hit:
        return hit[0], hit[1], "按表名", rows[0] if rows else ()
    return None


def draft(ledger: str | Path) -> tuple[str, int]:
    """(text of a draft mapping for `ledger`, number of entries in it)."""
    from rapidfuzz import fuzz, process

    from .readers import _key_of, open_survey
    from .validate import check_survey

    p = Path(ledger)
    entries: dict[str, list[str]] = {"sheets": []}
    columns: dict[str, list[str]] = {}  # sheet label -> lines
    col_notes: dict[str, str] = {}
    values: dict[tuple[str, str], dict[str, int]] = {}
    with open_survey(p) as survey:
        kind = survey.kind
        sheets = {(sh.file, sh.sheet): sh for sh in survey.sheets}
        checked = check_survey(survey, None)
    n = 0
    for prob in checked.problems:
        if prob.code == "SHEET_UNKNOWN":
            rows = _head_rows(p, kind, prob.sheet)
            guess = _guess_sheet(prob.sheet, rows)
            if guess is None:
                continue
            nt, score, how, cells = guess
            entries["sheets"].append(_entry(prob.sheet, nt.sheet, score, how))
            n += 1
            lines = columns.setdefault(nt.label, [])
            col_notes.setdefault(nt.label, f"工作表“{prob.sheet}”")
            choices = _column_choices(nt)
            for c in cells:
                if c in (None, "") or _key_of(nt, c) is not None:
                    continue
                hit = process.extractOne(_fold(str(c)), list(choices), scorer=fuzz.WRatio)
                if hit:
                    lines.append(_entry(str(c).strip(), choices[hit[0]], round(hit[1])))
                    n += 1
        elif prob.code == "COLUMN_UNKNOWN" and prob.label:
            from graphmodel.schema import NODES

            nt = NODES[prob.label]
            sh = sheets.get((prob.file, prob.sheet))
            taken = set(sh.columns) if sh else set()
            free = {c.header for c in nt.columns if c.key not in taken}  # columns the sheet has not yet
            choices = {k: h for k, h in _column_choices(nt).items() if h in free}
            hit = process.extractOne(_fold(prob.value), list(choices), scorer=fuzz.WRatio) if choices else None
            lines = columns.setdefault(nt.label, [])
            col_notes.setdefault(nt.label, f"工作表“{prob.sheet}”")
            if hit:
                lines.append(_entry(prob.value.strip(), choices[hit[0]], round(hit[1]),
                                    f"该列有 {prob.params.get('cells', 0)} 个非空单元格"))
            else:
                lines.append(f"# {_q(prob.value.strip())} = \"\"  # 没有相近的列；\"\" 表示不导入")
            n += 1
        elif prob.code in ("BAD_ENUM", "BAD_ENUM_ITEMS") and prob.label and prob.column:
            vals = values.setdefault((prob.label, prob.column), {})
            items = prob.params.get("items", prob.value)
            for v in (items.split("、") if prob.code == "BAD_ENUM_ITEMS" else [prob.value]):
                vals[v.strip(BLANKS)] = vals.get(v.strip(BLANKS), 0) + 1
    from graphmodel.schema import NODES

    out = [f"# sitegraph 映射文件草稿 / draft mapping: {p.name}",
           "# 由 sitegraph map 生成。请逐条核对建议（得分 0–100，越高越相近），改正或删去后使用：",
           f"#   sitegraph validate {p.name} --mapping 本文件",
           f"# 得分低于 {SUGGEST_MIN} 的建议已注释掉（行首 #），确认后去掉 #。目标可写中文表名、列名或英文键；",
           "# 列的目标写 \"\" 表示该列不是数据（不导入，也不再提示）。",
           "# Check every suggestion (score 0-100), fix or delete it, then use --mapping this file.",
           ""]
    out.append("[sheets]")
    out += entries["sheets"] or ["# 所有工作表均已识别 / every sheet was recognised"]
    for label, lines in columns.items():
        if not lines:
            continue
        out += ["", f"[columns.{_q(NODES[label].sheet)}]  # {col_notes[label]}", *lines]
    for (label, key), vals in values.items():
        nt = NODES[label]
        col = nt.column(key)
        choices = {v: v for v in col.enum} | {a: c for a, c in col.aliases}
        out += ["", f"[values.{_q(nt.sheet)}.{_q(col.header)}]  # 可选值：{'、'.join(col.enum)}"]
        for v, count in sorted(vals.items(), key=lambda x: -x[1]):
            hit = process.extractOne(v, list(choices), scorer=fuzz.WRatio)
            if hit:
                out.append(_entry(v, choices[hit[0]], round(hit[1]), f"{count} 个单元格"))
            else:
                out.append(f"# {_q(v)} = \"\"  # {count} 个单元格：没有相近的取值，请填写")
            n += 1
    return "\n".join(out) + "\n", n
