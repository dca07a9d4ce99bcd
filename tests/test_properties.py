"""Property-based tests (hypothesis) of every value parser in loaders/values.py and of the
survey readers: each accepted spelling reads back as the value it spells; anything else is a
ValueProblem with a code (a problem in the user's list), never another exception; damaged,
truncated, huge or very wide files give a clean problem list, never a traceback.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import string
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from graphmodel.schema import NODE_TYPES, Kind
from loaders.messages import MESSAGES, Problem
from loaders.survey import check
from loaders.values import (
    BOOL_WORDS, USCC_CHARSET, ValueProblem, fold_width, is_valid_uscc, normalise_uscc, parse_bool, parse_cell,
    parse_date, parse_float, parse_int, parse_list, parse_uscc, uscc_check_char,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FILE_SETTINGS = settings(max_examples=25, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

BLANKS = st.sampled_from(["", " ", "  ", "\t", "\u3000", "\u00a0", " \u3000 "])
_FULL = {c: chr(ord(c) + 0xFEE0) for c in string.digits + string.ascii_letters + ".,-/:;"}


def to_full_width(text: str, mask: list[bool]) -> str:
    """Some ASCII characters of `text` in their full-width forms (as an IME types them)."""
    return "".join(_FULL.get(c, c) if m else c for c, m in zip(text, mask + [False] * len(text)))


@st.composite
def respelled(draw, text: str) -> str:
    """`text` with random case, some characters full-width, blanks around it."""
    chars = [c.upper() if draw(st.booleans()) else c.lower() for c in text]
    mask = draw(st.lists(st.booleans(), min_size=len(chars), max_size=len(chars)))
    return draw(BLANKS) + to_full_width("".join(chars), mask) + draw(BLANKS)


# --- bools ----------------------------------------------------------------------------------

@SETTINGS
@given(st.data())
def test_bool_every_spelling(data):
    value = data.draw(st.booleans())
    word = data.draw(st.sampled_from(BOOL_WORDS[value]))
    assert parse_bool(data.draw(respelled(word))) is value


@pytest.mark.parametrize("raw,expected", [(True, True), (False, False), (1, True), (0, False), (1.0, True),
                                          (0.0, False)])
def test_bool_native_cells(raw, expected):
    assert parse_bool(raw) is expected


@SETTINGS
@given(st.one_of(st.text(), st.integers(), st.floats(), st.dates(), st.datetimes()))
def test_bool_anything_else_is_a_bad_bool(raw):
    words = {w for ws in BOOL_WORDS.values() for w in ws}
    try:
        v = parse_bool(raw)
    except ValueProblem as e:
        assert e.code == "BAD_BOOL"
        return
    assert isinstance(v, bool)
    assert isinstance(raw, (bool, int, float)) or fold_width(str(raw)).strip(" \t\r\n\u3000\u00a0\ufeff\u200b"
                                                                               ).lower() in words


# --- dates ------------------------------------------------------------------------------------

DATES = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2099, 12, 31))
SERIAL_EPOCH = dt.date(1899, 12, 30)


def _forms(d: dt.date) -> list:
    serial = (d - SERIAL_EPOCH).days
    return [
        d, dt.datetime(d.year, d.month, d.day), dt.datetime(d.year, d.month, d.day, 13, 45),
        d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d.year}.{d.month:02d}.{d.day:02d}",
        f"{d.year}-{d.month}-{d.day}", f"{d.year}年{d.month}月{d.day}日", f"{d.year}年{d.month:02d}月{d.day:02d}号",
        f"{d.year} 年 {d.month} 月 {d.day} 日", f"{d:%Y%m%d}", int(f"{d:%Y%m%d}"), f"{d.isoformat()} 00:00:00",
        serial, float(serial), serial + 0.5, str(serial),
    ]


@SETTINGS
@given(DATES, st.data())
def test_date_every_form(d, data):
    form = data.draw(st.sampled_from(_forms(d)))
    if isinstance(form, str):
        mask = data.draw(st.lists(st.booleans(), min_size=len(form), max_size=len(form)))
        form = data.draw(BLANKS) + to_full_width(form, mask) + data.draw(BLANKS)
    assert parse_date(form) == d


@SETTINGS
@given(st.integers(1950, 2099), st.integers(1, 12), st.integers(29, 35))
def test_date_impossible_days_are_bad_dates(y, m, day):
    try:
        real = dt.date(y, m, day)
    except ValueError:
        real = None
    for text in (f"{y}-{m}-{day}", f"{y}年{m}月{day}日", f"{y}{m:02d}{day:02d}"):
        if real is None:
            with pytest.raises(ValueProblem) as ei:
                parse_date(text)
            assert ei.value.code == "BAD_DATE"
        else:
            assert parse_date(text) == real


@SETTINGS
@given(st.one_of(st.text(), st.integers(-10**6, 10**8), st.floats(-1e6, 1e8), st.booleans()))
@example(12)  # a stray number in a date column is not 1900-01-11
@example(-5)
@example("2024-13-01")
@example(True)
def test_date_anything_else_is_a_bad_date(raw):
    try:
        v = parse_date(raw)
    except ValueProblem as e:
        assert e.code == "BAD_DATE"
        return
    assert isinstance(v, dt.date) and dt.date(1900, 1, 1) <= v <= dt.date(2099, 12, 31)


@pytest.mark.parametrize("raw", [13912345678, 10**12, -10**12, 1e300, -1e300, float("nan"), float("inf"),
                                 float("-inf")])
def test_date_numbers_out_of_range_are_bad_dates(raw):
    """A phone number typed into a date column of a workbook is a BAD_DATE problem, not a crash."""
    with pytest.raises(ValueProblem) as ei:
        parse_date(raw)
    assert ei.value.code == "BAD_DATE"


def test_cli_validate_number_in_a_date_column(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "隐患"
    ws.append(["隐患编号", "企业", "隐患描述", "隐患等级", "发现日期", "整改状态"])
    ws.append(["H1", "91350100M000100Y43", "x", "一般", 13912345678, "未整改"])
    wb.save(tmp_path / "h.xlsx")
    r = run_cli("validate", str(tmp_path / "h.xlsx"), "--format", "json")
    assert r.returncode == 1 and "内部错误" not in r.stderr, r.stderr
    assert any(p["code"] == "BAD_DATE" and p["row"] == 2 for p in json.loads(r.stdout))


# --- numbers ----------------------------------------------------------------------------------

def _thousands(n: int) -> str:
    return f"{n:,}"


@SETTINGS
@given(st.integers(0, 10**12), st.data())
def test_int_every_spelling(n, data):
    text = data.draw(st.sampled_from([str(n), _thousands(n), f"{n}.0", f"{n:,}.00"]))
    mask = data.draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    spelled = data.draw(BLANKS) + to_full_width(text, mask) + data.draw(BLANKS)
    assert parse_int(spelled) == n
    assert parse_int(n) == n and parse_int(float(n)) == n
    assert parse_float(spelled) == float(n)


@SETTINGS
@given(st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False), st.data())
def test_float_every_spelling(x, data):
    text = format(x, "f")
    whole, _, frac = text.partition(".")
    with_sep = f"{int(whole):,}" + (f".{frac}" if frac else "")
    spelled = data.draw(st.sampled_from([text, with_sep]))
    mask = data.draw(st.lists(st.booleans(), min_size=len(spelled), max_size=len(spelled)))
    assert parse_float(data.draw(BLANKS) + to_full_width(spelled, mask)) == pytest.approx(float(x))


@SETTINGS
@given(st.one_of(st.integers(max_value=-1), st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False)),
       st.data())
def test_negative_numbers_are_rejected(v, data):
    raw = data.draw(st.sampled_from([v, str(v), f"{v:,}" if isinstance(v, int) else repr(v)]))
    for parse in (parse_int, parse_float):
        with pytest.raises(ValueProblem) as ei:
            parse(raw)
        assert ei.value.code in ("NEGATIVE", "BAD_INT")  # -1.5 is not an int either


@pytest.mark.parametrize("raw", [2**63, 10**20, 1e20, "99999999999999999999", "9,223,372,036,854,775,808"])
def test_ints_beyond_int64_are_problems(raw):
    """Both stores hold INT64: a bigger count must be a problem at validation, not a crash at load."""
    with pytest.raises(ValueProblem) as ei:
        parse_int(raw)
    assert ei.value.code in ("BAD_INT", "TOO_LARGE", "BAD_NUMBER")


def test_int64_max_is_accepted():
    assert parse_int(2**63 - 1) == 2**63 - 1


@pytest.mark.parametrize("text", ["1,23", "12,3456", ",123", "1,,234", "1.2.3", "--1", "1e", "0x10", "五",
                                  "inf", "nan", "1e400"])
def test_malformed_numbers(text):
    for parse, code in ((parse_int, "BAD_INT"), (parse_float, "BAD_NUMBER")):
        with pytest.raises(ValueProblem) as ei:
            parse(text)
        assert ei.value.code == code


@SETTINGS
@given(st.one_of(st.text(), st.floats(), st.integers(), st.booleans(), st.dates()))
def test_numbers_anything_else_is_a_problem(raw):
    for parse, codes in ((parse_int, {"BAD_INT", "NEGATIVE"}), (parse_float, {"BAD_NUMBER", "NEGATIVE"})):
        try:
            v = parse(raw)
        except ValueProblem as e:
            assert e.code in codes
            continue
        assert v >= 0 and v == v


# --- lists ------------------------------------------------------------------------------------

ITEM = st.text(alphabet=st.characters(blacklist_characters=";；、,，", blacklist_categories=("Cs",)),
               min_size=1, max_size=12).map(lambda s: s.strip(" \t\r\n\u3000\u00a0\ufeff\u200b")).filter(bool)


@SETTINGS
@given(st.lists(ITEM, min_size=1, max_size=8), st.data())
def test_list_every_separator(items, data):
    seps = data.draw(st.lists(st.sampled_from([";", "；", "、", ",", "，", " ; ", "、 ", " ，"]),
                              min_size=len(items), max_size=len(items)))
    text = "".join(x + s for x, s in zip(items, seps))  # a trailing separator too
    assert parse_list(text) == items
    assert parse_list(text[: -len(seps[-1])] if seps[-1] else text) == items


@pytest.mark.parametrize("text", ["", " ", ";", "；、,，", " ; ; "])
def test_list_of_nothing_is_none(text):
    assert parse_list(text) is None


# --- USCC (GB 32100-2015) -------------------------------------------------------------------

BODY = st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17)
ILLEGAL = st.sampled_from(list("IOSVZ!@#-_中文ⅠＩ") + ["\u00e9"])


@SETTINGS
@given(BODY)
def test_generated_codes_validate(body):
    code = body + uscc_check_char(body)
    assert is_valid_uscc(code)
    assert parse_uscc(code) == code


@SETTINGS
@given(BODY, st.data())
def test_codes_in_other_spellings_normalise(body, data):
    code = body + uscc_check_char(body)
    mask = data.draw(st.lists(st.booleans(), min_size=18, max_size=18))
    spelled = "".join((c.lower() if data.draw(st.booleans()) else c) for c in code)
    spelled = to_full_width(spelled, mask)
    cut = data.draw(st.integers(0, 18))
    spelled = data.draw(BLANKS) + spelled[:cut] + data.draw(st.sampled_from(["", " ", "\u3000"])) + spelled[cut:]
    assert normalise_uscc(spelled) == code
    assert parse_uscc(spelled) == code and is_valid_uscc(spelled)


@SETTINGS
@given(BODY, st.integers(0, 17), st.data())
def test_any_single_substitution_is_detected(body, pos, data):
    """Weights 3^i mod 31 are never 0 and 31 is prime: changing any one character changes the
    checksum, so a wrong character anywhere (the check character included) is caught."""
    code = body + uscc_check_char(body)
    other = data.draw(st.sampled_from([c for c in USCC_CHARSET if c != code[pos]]))
    bad = code[:pos] + other + code[pos + 1:]
    assert parse_uscc(bad) == bad  # the form is right: stored, with a warning …
    assert not is_valid_uscc(bad)  # … because the check fails


@SETTINGS
@given(BODY, st.integers(0, 15))
def test_adjacent_transpositions_are_detected(body, pos):
    code = body + uscc_check_char(body)
    assume(code[pos] != code[pos + 1])
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:]
    assert not is_valid_uscc(swapped)


@SETTINGS
@given(BODY, st.integers(0, 17), ILLEGAL)
def test_an_illegal_character_is_an_error(body, pos, ch):
    code = body + uscc_check_char(body)
    bad = code[:pos] + ch + code[pos + 1:]
    assume(normalise_uscc(bad) != code)  # full-width Ｉ folds to I, still illegal; é is illegal
    with pytest.raises(ValueProblem) as ei:
        parse_uscc(bad)
    assert ei.value.code in ("BAD_USCC_CHARS", "BAD_USCC_LENGTH")
    assert not is_valid_uscc(bad)


@SETTINGS
@given(BODY, st.integers(1, 30).filter(lambda n: n != 18))
def test_a_wrong_length_is_an_error(body, n):
    code = (body + uscc_check_char(body)) * 2
    with pytest.raises(ValueProblem) as ei:
        parse_uscc(code[:n])
    assert ei.value.code == "BAD_USCC_LENGTH"


def test_known_code_and_number_cells():
    assert is_valid_uscc("91350100M000100Y43")  # the example of GB 32100-2015
    with pytest.raises(ValueProblem) as ei:
        parse_uscc(9.1350100e17)  # typed as a number: Excel kept 15 digits
    assert ei.value.code == "USCC_AS_NUMBER"


# --- every column: any cell gives a value or a ValueProblem -------------------------------

COLUMNS = [(nt, c) for nt in NODE_TYPES for c in nt.columns]
CELLS = st.one_of(st.none(), st.text(max_size=40), st.integers(-10**20, 10**20), st.floats(), st.booleans(),
                  st.dates(), st.datetimes(), st.times())


@SETTINGS
@given(st.sampled_from(COLUMNS), CELLS, st.booleans())
def test_parse_cell_never_raises_anything_but_a_problem(col, raw, is_key):
    nt, c = col
    try:
        v = parse_cell(c, raw, is_key=is_key and c.key == nt.key)
    except ValueProblem as e:
        assert e.code in MESSAGES
        p = Problem(e.code, "f.csv", nt.sheet, 2, column=c.key, header=c.header, value=str(raw), params=e.params)
        assert p.reason("zh") and p.reason("en")
        return
    if v is None:
        return
    expected = {Kind.BOOL: bool, Kind.DATE: dt.date, Kind.INT: int, Kind.FLOAT: float, Kind.LIST: list,
                Kind.ENUM_LIST: list, Kind.REF_LIST: list}.get(c.kind, str)
    assert isinstance(v, expected), (c.key, raw, v)
    if c.kind is Kind.ENUM:
        assert v in c.enum


# --- the readers: damaged, truncated, huge and wide files ----------------------------------

def _checked_cleanly(path: Path):
    """check() returns a Checked whose problems all render; never an exception."""
    checked = check(path)
    for p in checked.problems:
        assert p.code in MESSAGES
        assert p.reason("zh") and p.reason("en") and p.as_dict("zh")
    return checked


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    from loaders.generate import generate, write_survey_files

    root = tmp_path_factory.mktemp("good")
    s = generate(20, seed=5)
    write_survey_files(s, root / "x", format="xlsx")
    write_survey_files(s, root / "c", format="csv")
    return (root / "x" / "survey.xlsx").read_bytes(), (root / "c" / "企业.csv").read_bytes()


@FILE_SETTINGS
@given(st.binary(max_size=4096))
def test_random_bytes_as_xlsx(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("rb") / "台账.xlsx"
    p.write_bytes(data)
    checked = _checked_cleanly(p)
    assert not checked.ok
    assert {e.code for e in checked.errors} <= {"FILE_CORRUPT", "FILE_EMPTY", "NO_SHEETS"}


@FILE_SETTINGS
@given(st.binary(max_size=4096))
def test_random_bytes_as_csv(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("rb") / "企业.csv"
    p.write_bytes(data)
    _checked_cleanly(p)


@FILE_SETTINGS
@given(st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=6))
def test_zip_with_junk_members_as_xlsx(tmp_path_factory, members):
    """A real zip archive whose parts are not a workbook (openpyxl raises many kinds)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        names = ["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml", "_rels/.rels",
                 "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml"]
        for name, data in zip(names, members):
            z.writestr(name, data)
    p = tmp_path_factory.mktemp("zip") / "台账.xlsx"
    p.write_bytes(buf.getvalue())
    assert not _checked_cleanly(p).ok


@FILE_SETTINGS
@given(st.floats(0.0, 0.999))
def test_truncated_workbook(good_files, tmp_path_factory, fraction):
    data = good_files[0]
    p = tmp_path_factory.mktemp("tr") / "台账.xlsx"
    p.write_bytes(data[: int(len(data) * fraction)])
    assert not _checked_cleanly(p).ok


@FILE_SETTINGS
@given(st.floats(0.0, 1.0))
def test_truncated_csv(good_files, tmp_path_factory, fraction):
    """Cut anywhere, inside a multi-byte character or a quoted cell: problems, never a crash."""
    data = good_files[1]
    p = tmp_path_factory.mktemp("tr") / "企业.csv"
    p.write_bytes(data[: int(len(data) * fraction)])
    _checked_cleanly(p)


def test_huge_cells(tmp_path):
    big = "阳" * 2_000_000
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "企业.csv").write_text(
        "统一社会信用代码,企业名称,行业,县区,乡镇街道\n"
        f"91350100M000100Y43,{big},其他,城区,{big}\n"
        f"{big},甲,其他,城区,义井街道\n", encoding="utf-8")
    checked = _checked_cleanly(tmp_path / "c")
    assert [e.code for e in checked.errors] == ["BAD_USCC_LENGTH"]
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "企业"
    ws.append(["统一社会信用代码", "企业名称", "行业", "县区", "乡镇街道"])
    ws.append(["91350100M000100Y43", "阳" * 32_767, "其他", "城区", "义井街道"])  # Excel's limit per cell
    wb.save(tmp_path / "big.xlsx")
    assert _checked_cleanly(tmp_path / "big.xlsx").ok


@pytest.mark.parametrize("width", [300, 20_000])
def test_very_many_columns(tmp_path, width):
    header = ["统一社会信用代码", "企业名称", "行业", "县区", "乡镇街道"] + [f"多余列{i}" for i in range(width)]
    row = ["91350100M000100Y43", "甲", "其他", "城区", "义井街道"] + ["x"] * width
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "企业.csv").write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    checked = _checked_cleanly(tmp_path / "c")
    assert checked.ok  # unknown columns are warnings
    assert sum(p.code == "COLUMN_UNKNOWN" for p in checked.warnings) == width
    # a row longer than its header
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "企业.csv").write_text(",".join(header[:5]) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    assert "ROW_TOO_LONG" in {p.code for p in _checked_cleanly(tmp_path / "d").errors}


def test_wide_workbook(tmp_path):
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("企业")
    ws.append(["统一社会信用代码", "企业名称", "行业", "县区", "乡镇街道"] + [f"列{i}" for i in range(16_379)])
    ws.append(["91350100M000100Y43", "甲", "其他", "城区", "义井街道"] + [1] * 16_379)  # 16,384 columns: XFD
    wb.save(tmp_path / "wide.xlsx")
    checked = _checked_cleanly(tmp_path / "wide.xlsx")
    assert checked.ok and len(checked.warnings) == 16_379


@pytest.mark.parametrize("content,name", [(b"\x00\x01garbage" * 100, "台账.xlsx"), (b"PK\x03\x04" + b"\x00" * 50, "台账.xlsx"),
                                          (b"\xff\xfe\x00\x00\xd8", "企业.csv"), (b"\x81\x30" * 500, "企业.csv")])
def test_cli_validate_damaged_files(tmp_path, content, name):
    p = tmp_path / name
    p.write_bytes(content)
    r = run_cli("validate", str(p))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "内部错误" not in r.stderr
    assert "错误" in r.stdout + r.stderr
