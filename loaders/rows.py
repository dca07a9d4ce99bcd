"""Row models: one pydantic model per sheet, derived from graphmodel.schema.

Each column becomes a field whose type follows its kind (text → str, int → int ≥ 0,
enum → Literal of the allowed values, list → list[str], …), parsed from the raw cell
by loaders/values.py in a before-validator; required columns are required fields that
refuse blanks. No sheet has a hand-written class: `ROW_MODELS[label]` is built by
`pydantic.create_model` from the Column declarations.

`check_row(nt, cells)` validates one raw row and returns the record (typed values of
every column and the derived properties) or the problems of each failed cell.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError

from graphmodel.schema import NODE_TYPES, Column, Kind, NodeType

from .messages import MESSAGES
from .parties import party_row
from .values import BLANKS, ValueProblem, is_underground, is_valid_uscc, parse_cell

_SCALAR: dict[Kind, Any] = {
    Kind.TEXT: str,
    Kind.USCC: str,
    Kind.REF: str,
    Kind.INT: Annotated[int, Field(ge=0)],
    Kind.FLOAT: Annotated[float, Field(ge=0)],
    Kind.BOOL: bool,
    Kind.DATE: dt.date,
    Kind.LIST: list[str],
    Kind.REF_LIST: list[str],
}

# Derived (computed) properties of a record, by derived key.
DERIVED: dict[str, Callable[[dict], Any]] = {
    "underground": lambda rec: is_underground(rec.get("floor")),
    # parties without a USCC (loaders/parties.py): a provisional key is no USCC to check
    "uscc_valid": lambda rec: (is_valid_uscc(rec["uscc"]) if rec.get("uscc") and rec["uscc"] != rec.get("provisional_id")
                               else None),
    "aliases": lambda rec: rec.get("aliases"),  # filled by loaders/parties.resolve_parties
    "person_name": lambda rec: rec.get("person_name"),  # set by parties.party_row for a 自然人
}


def _py_type(col: Column) -> Any:
    if col.kind is Kind.ENUM:
        return Literal[col.enum]  # type: ignore[valid-type]
    if col.kind is Kind.ENUM_LIST:
        return list[Literal[col.enum]]  # type: ignore[valid-type]
    return _SCALAR[col.kind]


_MEMO_SIZE = 4096  # remembered text cells per column


def _parser(col: Column, is_key: bool, required: bool) -> Callable[[Any], Any]:
    # Text cells that repeat (yes/no, categories, dates, references: most of a ledger)
    # are parsed once per column; lists are mutable and problems are raised every time.
    memo: dict[str, Any] | None = None if col.kind in (Kind.LIST, Kind.ENUM_LIST, Kind.REF_LIST) else {}

    def parse(raw: Any) -> Any:
        text = memo is not None and raw.__class__ is str
        if text and raw in memo:
            return memo[raw]
        try:
            value = parse_cell(col, raw, is_key=is_key, units=True)
        except ValueProblem as e:
            raise PydanticCustomError(e.code, e.code, e.params) from None
        if value is None and required:
            raise PydanticCustomError("VALUE_REQUIRED", "VALUE_REQUIRED")
        if text and len(memo) < _MEMO_SIZE:
            memo[raw] = value
        return value

    return parse


class RowBase(BaseModel):
    """Base of the generated row models."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def make_row_model(nt: NodeType) -> type[RowBase]:
    fields: dict[str, Any] = {}
    for col in nt.columns:
        t = _py_type(col)
        # a key column with an alternative (企业: 临时编码) is checked by parties.party_row instead
        required = col.required and not (nt.alt_key and col is nt.key_column)
        ann = Annotated[t if required else Optional[t], BeforeValidator(_parser(col, col is nt.key_column, required))]
        desc = col.note_en or col.note_zh or None
        fields[col.key] = (ann, Field(... if required else None, title=col.header, description=desc))
    return create_model(f"{nt.label}Row", __base__=RowBase, __doc__=f"A row of the {nt.sheet} sheet.", **fields)


ROW_MODELS: dict[str, type[RowBase]] = {nt.label: make_row_model(nt) for nt in NODE_TYPES}


@dataclass
class CellProblem:
    key: str
    code: str
    params: dict = field(default_factory=dict)


@dataclass
class RowResult:
    values: dict[str, Any]  # every column's typed value (None where blank or unreadable)
    problems: list[CellProblem]
    complete: bool = True  # False when a field failed (even one only reported at sheet level)

    @property
    def ok(self) -> bool:
        return self.complete and not self.problems


def _derive(nt: NodeType, rec: dict) -> dict:
    for d in nt.derived:
        rec[d.key] = DERIVED[d.key](rec)
    return rec


def check_row(nt: NodeType, cells: dict[str, Any]) -> RowResult:
    """Validate one row; `cells` holds the raw cells of the columns the sheet has."""
    model = ROW_MODELS[nt.label]
    try:
        # Blank cells are left out: an optional field defaults to None, a required one
        # fails as "missing" and is told apart from an absent column below.
        row = model.model_validate({k: v for k, v in cells.items()
                                    if v is not None and (v.__class__ is not str or v.strip(BLANKS))})
    except ValidationError as e:
        problems = []
        failed = set()
        for err in e.errors():
            key = str(err["loc"][0]) if err["loc"] else nt.key
            failed.add(key)
            code = err["type"]
            if code == "missing":
                if key not in cells:  # the whole column is absent: reported once as COLUMN_MISSING
                    continue
                code = "VALUE_REQUIRED"
            if code in ("greater_than_equal",):
                code = "NEGATIVE"
            if code not in MESSAGES:
                problems.append(CellProblem(key, "BAD_VALUE", {"detail": err.get("msg", code)}))
            else:
                problems.append(CellProblem(key, code, dict(err.get("ctx") or {})))
        values = {}
        for col in nt.columns:
            v = None
            if col.key not in failed and col.key in cells:
                try:
                    v = parse_cell(col, cells[col.key], is_key=col is nt.key_column, units=True)
                except ValueProblem:
                    v = None
            values[col.key] = v
        if nt.alt_key:
            problems += [CellProblem(k, c, p) for k, c, p in party_row(values, cells)]
        return RowResult(_derive(nt, values), problems, complete=False)
    values = dict(row.__dict__)  # the fields' values (model_dump copies them all)
    if nt.alt_key:
        found = [CellProblem(k, c, p) for k, c, p in party_row(values, cells)]
        if found:
            return RowResult(_derive(nt, values), found, complete=False)
    return RowResult(_derive(nt, values), [])
