"""Cell parsing (loaders/values.py): every spelling of survey-format.md's value table."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphmodel.schema import NODES
from loaders.values import (
    USCC_CHARSET, ValueProblem, fold_width, header_key, is_valid_uscc, normalise_uscc, parse_cell,
    uscc_check_char,
)

ENT, BLD, TEN, CON, INS = (NODES[x] for x in ("Enterprise", "Building", "Tenancy", "Contract", "Inspection"))


def parse(nt, key, raw):
    return parse_cell(nt.column(key), raw, is_key=key == nt.key)


def problem(nt, key, raw) -> str:
    with pytest.raises(ValueProblem) as e:
        parse(nt, key, raw)
    return e.value.code


@pytest.mark.parametrize("raw", ["是", "有", "Y", "y", "yes", "YES", "true", "True", "1", "√", "✓", " 是 ", "Ｙ", True, 1, 1.0])
def test_bool_true_spellings(raw):
    assert parse(TEN, "safety_agreement", raw) is True


@pytest.mark.parametrize("raw", ["否", "无", "N", "n", "no", "No", "false", "FALSE", "0", "×", "✗", False, 0])
def test_bool_false_spellings(raw):
    assert parse(TEN, "safety_agreement", raw) is False


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_blank_is_unknown_not_false(raw):
    assert parse(TEN, "safety_agreement", raw) is None


@pytest.mark.parametrize("raw", ["可能", "x", "2", "是的", 2, dt.date(2024, 1, 1)])
def test_bool_rejects_other_words(raw):
    assert problem(TEN, "safety_agreement", raw) == "BAD_BOOL"


@pytest.mark.parametrize("raw", [
    "2024-11-11", "2024/11/11", "2024.11.11", "2024年11月11日", "20241111", "2024-11-11 00:00:00",
    "２０２４－１１－１１", " 2024/11/11 ", dt.datetime(2024, 11, 11, 0, 0), dt.date(2024, 11, 11),
    45607, 45607.0, "45607", 20241111,
])
def test_date_spellings(raw):
    assert parse(TEN, "start_date", raw) == dt.date(2024, 11, 11)


@pytest.mark.parametrize("raw", ["2024-2-30", "2024/13/01", "明年", "11/11/2024", 12, "2024-11", True])
def test_bad_dates(raw):
    assert problem(TEN, "start_date", raw) == "BAD_DATE"


@pytest.mark.parametrize("raw,want", [
    ("12", 12), ("１２", 12), ("1,234", 1234), ("1，234", 1234), (12, 12), (12.0, 12), (" 7 ", 7), ("+3", 3),
])
def test_ints(raw, want):
    v = parse(ENT, "contract_workers", raw)
    assert v == want and type(v) is int


@pytest.mark.parametrize("raw,code", [
    ("-1", "NEGATIVE"), (-5, "NEGATIVE"), ("3.5", "BAD_INT"), (3.5, "BAD_INT"), ("十二", "BAD_INT"),
    ("12人", "BAD_INT"), ("1,23", "BAD_INT"), (True, "BAD_INT"), ("nan", "BAD_INT"),
])
def test_bad_ints(raw, code):
    assert problem(ENT, "contract_workers", raw) == code


@pytest.mark.parametrize("raw,want", [("12500.5", 12500.5), ("12,500.5", 12500.5), ("１２５００．５", 12500.5), (800, 800.0), ("1.5e3", 1500.0)])
def test_floats(raw, want):
    v = parse(BLD, "floor_area", raw)
    assert v == want and type(v) is float


@pytest.mark.parametrize("raw,code", [("-0.5", "NEGATIVE"), ("约100", "BAD_NUMBER"), ("100㎡", "BAD_NUMBER"), ("inf", "BAD_NUMBER")])
def test_bad_floats(raw, code):
    assert problem(BLD, "floor_area", raw) == code


@pytest.mark.parametrize("raw", ["张三;王五", "张三；王五", "张三、王五", "张三,王五", "张三，王五", " 张三 ; ; 王五 ;", "张三、\n王五"])
def test_list_separators(raw):
    assert parse(INS, "inspectors", raw) == ["张三", "王五"]


def test_list_blank_items_only_is_none():
    assert parse(INS, "inspectors", " ; 、 ") is None


def test_enum_exact_and_aliases():
    assert parse(BLD, "fire_class", "甲") == "甲"
    assert parse(BLD, "fire_class", " 甲类 ") == "甲"
    assert problem(BLD, "fire_class", "甲级") == "BAD_ENUM"
    assert problem(ENT, "sector", "钢铁") == "BAD_ENUM"


def test_enum_list_items_checked():
    assert parse(CON, "high_risk_work", "动火作业；有限空间作业") == ["动火作业", "有限空间作业"]
    with pytest.raises(ValueProblem) as e:
        parse(CON, "high_risk_work", "动火作业、爬树")
    assert e.value.code == "BAD_ENUM_ITEMS" and e.value.params["items"] == "爬树"


def test_text_trimmed_and_numbers_as_text():
    assert parse(ENT, "name", "  阳泉华兴  ") == "阳泉华兴"
    assert parse(ENT, "phone", 13800000000) == "13800000000"
    assert parse(BLD, "building_id", "Ｂ００１ ") == "B001"  # keys are full-width folded
    assert parse(TEN, "floor", 3.0) == "3"


# --- USCC ---------------------------------------------------------------------------------

VERIFIED = ["916523010802166608", "91440300708461136T", "9144030071526726XG", "91110000600037341L",
            "121200004013590816", "92340602MA2PBMEM24"]


@pytest.mark.parametrize("code", VERIFIED)
def test_uscc_verified_examples(code):
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]


def test_uscc_wrong_check_char_is_not_valid_but_parses():
    assert uscc_check_char("91440300192203821") == "6"
    assert not is_valid_uscc("914403001922038217")
    # a wrong check character is a warning, not a parse error
    assert parse(ENT, "uscc", "914403001922038217") == "914403001922038217"


def test_uscc_normalised():
    assert normalise_uscc(" ９１４４０３００７０８４６１１３６ｔ ") == "91440300708461136T"
    assert parse(ENT, "uscc", "9144 0300 7084 6113 6t") == "91440300708461136T"
    assert parse(TEN, "lessor_uscc", "91440300708461136t") == "91440300708461136T"  # references too


@pytest.mark.parametrize("raw,code", [
    ("9144030070846113", "BAD_USCC_LENGTH"), ("91440300708461136TX", "BAD_USCC_LENGTH"),
    ("91350100M000100Y4Z", "BAD_USCC_CHARS"), ("9144030070846113IO", "BAD_USCC_CHARS"),
    (9.14403007084611e17, "USCC_AS_NUMBER"), (121200004013590816, "USCC_AS_NUMBER"),
])
def test_uscc_form_errors(raw, code):
    assert problem(ENT, "uscc", raw) == code


@given(st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17))
def test_uscc_check_char_makes_valid_codes(body):
    assert is_valid_uscc(body + uscc_check_char(body))


@given(st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17), st.integers(0, 16), st.integers(1, 30))
def test_uscc_any_single_change_is_detected(body, pos, shift):
    code = body + uscc_check_char(body)
    c = USCC_CHARSET[(USCC_CHARSET.index(code[pos]) + shift) % 31]
    assert not is_valid_uscc(code[:pos] + c + code[pos + 1:])


def test_fold_and_header_key():
    assert fold_width("ＡＢＣ１２３（月）") == "ABC123(月)"
    assert header_key(" 用工期限（月） ") == header_key("用工期限(月)")
    assert header_key("Floor_Area") == "floor_area"
