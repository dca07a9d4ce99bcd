"""Parsing one ledger cell into its typed value, as survey-format.md's value table says.

Everything is driven by the column's declaration in graphmodel.schema (kind, enum,
aliases, ref): there is no per-column code. A cell that cannot be read raises
`ValueProblem(code, **params)`; the codes and their Chinese/English texts live in
loaders/messages.py.

Raw cells come from openpyxl (str, int, float, bool, datetime, date, time, None) or
from CSV (str). Blank means None.

The USCC helpers (`uscc_check_char`, `is_valid_uscc`, `normalise_uscc`) are public:
the survey generator uses them to make valid codes.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from graphmodel.schema import NODES, UNIT_DIVISORS, UNITS, Column, Kind


class ValueProblem(Exception):
    """A cell that cannot be read as its column's kind; `code` is a messages.py code."""

    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code = code
        self.params = params


# --- text helpers ------------------------------------------------------------------

BLANKS = " \t\r\n\u3000\u00a0\ufeff\u200b"  # stripped from every cell


_FOLD = {o: o - 0xFEE0 for o in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold_width(text: str) -> str:
    """Full-width ASCII forms (ＡＢＣ１２３，；（）) and the ideographic space to ASCII."""
    return text.translate(_FOLD)


def strip(text: str) -> str:
    return text.strip(BLANKS)


def header_key(text: Any) -> str:
    """A header as compared with the schema: full-width folded, no white space, lower case."""
    if text is None:
        return ""
    s = fold_width(str(text))
    return re.sub(r"[\s\u00a0\ufeff\u200b]+", "", s).lower()


def display(raw: Any) -> str:
    """A raw cell as the user would recognise it in a report."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat() if raw.time() == dt.time() else raw.isoformat(sep=" ")
    if isinstance(raw, (dt.date, dt.time)):
        return raw.isoformat()
    if isinstance(raw, float):
        return _float_text(raw)
    return str(raw)


def _float_text(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and strip(raw) == "")


def _text_of(raw: Any) -> str:
    """Any cell as text (numbers typed into a text column become their digits)."""
    if isinstance(raw, str):
        return strip(raw)
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float):
        return _float_text(raw)
    if isinstance(raw, dt.datetime):
        return display(raw)
    return str(raw)


# --- floors ---------------------------------------------------------------------------

_UNDERGROUND_RE = re.compile(r"(地下|负|[B-][0-9])")


def is_underground(floor: Any) -> bool | None:
    """Whether a tenancy's 楼层 names an underground floor (survey-format.md, version 2):
    after trimming and full-width folding it begins with 地下 or 负, or is B or - followed
    by a digit (地下一层, 负2层, B1, -1, Ｂ１). `B 1` is not. None when 楼层 is blank."""
    if floor is None:
        return None
    text = strip(fold_width(_text_of(floor)))
    if not text:
        return None
    return _UNDERGROUND_RE.match(text) is not None


# --- USCC (GB 32100-2015) ------------------------------------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 3^(i-1) mod 31, i = 1..17


def uscc_check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a USCC."""
    if len(first17) != 17 or any(c not in _USCC_VALUE for c in first17):
        raise ValueError(f"need 17 characters of {USCC_CHARSET}: {first17!r}")
    s = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARSET[(31 - s % 31) % 31]


def normalise_uscc(raw: Any) -> str:
    """Upper case, full-width folded, all white space removed (no validation)."""
    return re.sub(r"[\s\u00a0\ufeff\u200b]+", "", fold_width(str(raw))).upper()


def uscc_form_problem(code: str) -> ValueProblem | None:
    """None when `code` (normalised) has the GB 32100 form; else the problem."""
    if len(code) != 18:
        return ValueProblem("BAD_USCC_LENGTH", length=len(code))
    bad = "".join(dict.fromkeys(c for c in code if c not in _USCC_VALUE))
    if bad:
        return ValueProblem("BAD_USCC_CHARS", chars=bad)
    return None


def is_valid_uscc(code: str) -> bool:
    """Right form and right check character (after normalising)."""
    code = normalise_uscc(code)
    return uscc_form_problem(code) is None and uscc_check_char(code[:17]) == code[17]


def parse_uscc(raw: Any) -> str:
    if isinstance(raw, float) or (isinstance(raw, int) and not isinstance(raw, bool) and raw >= 10**15):
        # Excel keeps 15 significant digits: an 18-digit code typed as a number is lost.
        raise ValueProblem("USCC_AS_NUMBER")
    code = normalise_uscc(_text_of(raw))
    problem = uscc_form_problem(code)
    if problem:
        raise problem
    return code


# --- the kinds -----------------------------------------------------------------------

BOOL_WORDS = {
    True: ("是", "有", "y", "yes", "true", "1", "√", "✓", "✔"),
    False: ("否", "无", "n", "no", "false", "0", "×", "✗", "✘"),
}
_BOOL = {w: v for v, words in BOOL_WORDS.items() for w in words}


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    word = strip(fold_width(_text_of(raw))).lower()
    if word in _BOOL:
        return _BOOL[word]
    raise ValueProblem("BAD_BOOL")


EXCEL_EPOCH = dt.date(1899, 12, 30)
# Serial numbers and yyyymmdd numbers are accepted for plausible survey dates only:
# a stray 12 in a date column is a mistake, not 1900-01-12.
MIN_DATE, MAX_DATE = dt.date(1950, 1, 1), dt.date(2099, 12, 31)
_DATE_RES = (
    re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


def _serial_date(n: float) -> dt.date:
    if n != n or not 0 < n < 2958466:  # NaN, or outside Excel's serials (1900 … 9999-12-31)
        raise ValueProblem("BAD_DATE")
    d = EXCEL_EPOCH + dt.timedelta(days=int(n))
    if not MIN_DATE <= d <= MAX_DATE:
        raise ValueProblem("BAD_DATE")
    return d


_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")


def _ymd(y: str, m: str, d: str) -> dt.date:
    year, month, day = int(y), int(m), int(d)
    try:
        return dt.date(year, month, day)
    except ValueError:
        pass
    # Say what is impossible about it (the code stays BAD_DATE; `variant` picks the text).
    if not 1 <= month <= 12:
        raise ValueProblem("BAD_DATE", variant="BAD_DATE_MONTH", month=month)
    if 1 <= year <= 9999 and day >= 1:
        raise ValueProblem("BAD_DATE", variant="BAD_DATE_DAY", year=year, month=month, day=day,
                           month_en=_MONTHS_EN[month - 1])
    raise ValueProblem("BAD_DATE")


def parse_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, bool):
        raise ValueProblem("BAD_DATE")
    if isinstance(raw, (int, float)):
        if 19000101 <= raw <= 20991231 and float(raw).is_integer():  # 20241111 typed as a number
            s = str(int(raw))
            return _ymd(s[:4], s[4:6], s[6:])
        return _serial_date(raw)
    text = strip(fold_width(_text_of(raw)))
    for rx in _DATE_RES:
        m = rx.fullmatch(text)
        if m:
            return _ymd(*m.groups())
    if re.fullmatch(r"\d{1,5}(\.\d+)?", text):  # a serial number exported as text
        return _serial_date(float(text))
    raise ValueProblem("BAD_DATE")


INT64_MAX = 2**63 - 1
_NUMBER_RE = re.compile(r"([+-]?)((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_UNIT_RE = re.compile(f"({_NUMBER_RE.pattern})([^\\d.,+-].*)")
# A unit as written -> its name in graphmodel.schema.UNITS (m2, 平方米 -> ㎡; 个月 -> 月)
UNIT_OF = {fold_width(w).lower(): u for u, spellings in UNITS.items() for w in spellings}


def _number(raw: Any, integer: bool, unit: str = "") -> int | float:
    bad = "BAD_INT" if integer else "BAD_NUMBER"
    if isinstance(raw, bool):
        raise ValueProblem(bad)
    if isinstance(raw, (int, float)):
        v = raw
    else:
        text = strip(fold_width(_text_of(raw))).replace(" ", "")
        m = _NUMBER_RE.fullmatch(text)
        divisor = 1
        if not m and unit:  # a number with a unit: the column's own, or one it converts
            mu = _NUMBER_UNIT_RE.fullmatch(text)
            if mu is None:
                raise ValueProblem(bad)
            written = UNIT_OF.get(mu[len(mu.groups())].lower())
            if written != unit and (written, unit) not in UNIT_DIVISORS:
                raise ValueProblem("BAD_UNIT", unit=unit)
            text, divisor = mu[1], UNIT_DIVISORS.get((written, unit), 1)
        elif not m:
            raise ValueProblem(bad)
        v = float(text.replace(",", "")) / divisor
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueProblem(bad)
    if v < 0:
        raise ValueProblem("NEGATIVE")
    if integer:
        if not float(v).is_integer() or v > INT64_MAX:  # both stores keep 64-bit integers
            raise ValueProblem("BAD_INT")
        return int(v)
    return float(v)


def parse_int(raw: Any, unit: str = "") -> int:
    return _number(raw, True, unit)


def parse_float(raw: Any, unit: str = "") -> float:
    return _number(raw, False, unit)


_LIST_SPLIT = re.compile(r"[;,、]")


def parse_list(raw: Any) -> list[str] | None:
    """Items split on ; ； 、 , ， — trimmed, blanks dropped; None when nothing is left."""
    text = _text_of(raw)
    items = [strip(x) for x in _LIST_SPLIT.split(text.replace("；", ";").replace("，", ","))]
    items = [x for x in items if x]
    return items or None


def enum_value(col: Column, text: str) -> str:
    text = strip(text)
    if text in col.enum:
        return text
    folded = fold_width(text)
    for alias, canonical in col.aliases:
        if folded == fold_width(alias):
            return canonical
    hint = suggest_enum(col, text)
    if hint:  # did you mean … (the code stays BAD_ENUM; `variant` picks the text)
        raise ValueProblem("BAD_ENUM", allowed="、".join(col.enum), variant="BAD_ENUM_SUGGEST", suggest=hint)
    raise ValueProblem("BAD_ENUM", allowed="、".join(col.enum))


def suggest_enum(col: Column, text: str) -> str | None:
    """The allowed value closest to a mistyped one (`已消号` -> 已销号), or None."""
    import difflib

    names = {v: v for v in col.enum} | {a: c for a, c in col.aliases}
    close = difflib.get_close_matches(fold_width(text), list(names), n=1, cutoff=0.6)
    return names[close[0]] if close else None


def _identifier(raw: Any) -> str:
    """A key or a reference to a text key: trimmed and full-width folded."""
    return strip(fold_width(_text_of(raw)))


def _ref_value(col: Column, raw: Any) -> str | None:
    target = NODES[col.ref].key_column
    if target.kind is Kind.USCC:
        try:
            return parse_uscc(raw)
        except ValueProblem as e:
            if e.code == "USCC_AS_NUMBER" or not NODES[col.ref].alt_key:
                raise
            # not a USCC: a 临时编码, resolved (or reported) by loaders/validate.py
            return _identifier(raw) or None
    return _identifier(raw) or None


def parse_cell(col: Column, raw: Any, *, is_key: bool = False, units: bool = False) -> Any:
    """The typed value of one cell of `col` (None when blank); raises ValueProblem.

    `units`: a number may carry the column's unit (`3200㎡`, `10人`, `50000元` in a 万元
    column), as office ledgers write them; the ledger's rows are read so (loaders/rows.py)."""
    if is_blank(raw):
        return None
    k = col.kind
    if k is Kind.TEXT:
        return (_identifier(raw) if is_key else _text_of(raw)) or None
    if k is Kind.USCC:
        return parse_uscc(raw)
    if k is Kind.BOOL:
        return parse_bool(raw)
    if k is Kind.DATE:
        return parse_date(raw)
    if k is Kind.INT:
        return parse_int(raw, col.unit if units else "")
    if k is Kind.FLOAT:
        return parse_float(raw, col.unit if units else "")
    if k is Kind.ENUM:
        return enum_value(col, _text_of(raw))
    if k is Kind.REF:
        return _ref_value(col, raw)
    if k in (Kind.LIST, Kind.ENUM_LIST, Kind.REF_LIST):
        items = parse_list(raw)
        if items is None:
            return None
        if k is Kind.ENUM_LIST:
            bad = []
            out = []
            for x in items:
                try:
                    out.append(enum_value(col, x))
                except ValueProblem:
                    bad.append(x)
            if bad:
                raise ValueProblem("BAD_ENUM_ITEMS", items="、".join(bad), allowed="、".join(col.enum))
            return out
        if k is Kind.REF_LIST:
            return [_ref_value(col, x) for x in items]
        return items
    raise AssertionError(f"unhandled kind {k}")  # pragma: no cover - schema and parser agree

