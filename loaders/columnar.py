"""Columnar row checking: a whole sheet's cells parsed column by column.

`check_rows(nt, rows)` gives, for each row, the same `RowResult` as loaders/rows.py's
`check_row` — the same typed values, the same derived properties, the same problems —
but parses each column at once:

- polars checks a whole column of text cells against the canonical spelling of its kind
  (a trimmed text, an 18-character USCC, digits, `yyyy-mm-dd`) and converts the cells
  that have it; for those cells the per-cell parser would return exactly that value;
- a yes/no or category column: each distinct text is parsed once by
  loaders/values.parse_cell and polars maps the column to the values;
- every other cell (a unit, full-width characters, a number cell of a workbook, a
  mistyped date, …) goes through loaders/values.parse_cell, once per distinct text;
- a row with any cell that fails (or a blank required cell) is checked again whole by
  `check_row`, so its problems, their order and texts are the per-cell path's own.

`SITEGRAPH_ROWWISE=1` in the environment makes loaders/validate.py use the per-row path
as before, the garbage collector not paused either (kept for comparison:
tests/test_columnar.py and bench/bench_stages.py).
"""
from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from itertools import compress
from operator import itemgetter
from typing import Any, Iterable, Iterator, Sequence

import polars as pl

from graphmodel.schema import NODES, Column, Kind, NodeType

from .parties import party_row
from .rows import DERIVED, CellProblem, RowResult, _derive, check_row
from .values import BLANKS, USCC_CHARSET, USCC_WEIGHTS, ValueProblem, parse_cell


def rowwise() -> bool:
    """Whether the per-row path was asked for (SITEGRAPH_ROWWISE=1)."""
    return os.environ.get("SITEGRAPH_ROWWISE", "") not in ("", "0")


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off for a while (reference counting still frees): its
    collections rescan every record made so far, ~0.5 s of a 10,000-enterprise check."""
    was = gc.isenabled() and not rowwise()  # the path as before: the collector left on
    if was:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_FAIL = object()  # a cell the per-cell parser refused: its row is checked whole
_USCC_RE = r"^[0-9ABCDEFGHJKLMNPQRTUWXY]{18}$"
_FOLDABLE_RE = "[\uff01-\uff5e\u3000]"  # what values.fold_width would change
_INT_RE = r"^[0-9]{1,15}$"  # 15 digits: float() in the per-cell path keeps them exactly
_FLOAT_RE = r"^[0-9]{1,15}(\.[0-9]{1,15})?$"
_DATE_RE = r"^[12][0-9]{3}-[0-9]{2}-[0-9]{2}$"
_LISTS = (Kind.LIST, Kind.ENUM_LIST, Kind.REF_LIST)


def _exprs(col: Column, is_key: bool, name: str) -> tuple[pl.Expr, pl.Expr]:
    """(accepted, value) over the trimmed text cells of column `name`: the cells whose value
    is known without the per-cell parser (the canonical spelling of the column's kind), and
    that value."""
    k = col.kind
    s = pl.col(name)
    present = s.is_not_null() & (s != "")
    if k is Kind.TEXT and not is_key:
        return present, s
    if k is Kind.TEXT or (k is Kind.REF and NODES[col.ref].key_column.kind is not Kind.USCC):
        return present & ~s.str.contains(_FOLDABLE_RE), s
    if k in (Kind.USCC, Kind.REF):
        return s.str.contains(_USCC_RE), s
    if k is Kind.INT:
        return s.str.contains(_INT_RE), s.cast(pl.Int64, strict=False)
    if k is Kind.FLOAT:  # correctly rounded, as float() is
        return s.str.contains(_FLOAT_RE), s.cast(pl.Float64, strict=False)
    if k is Kind.DATE:
        d = pl.when(s.str.contains(_DATE_RE)).then(s).str.to_date("%Y-%m-%d", strict=False)
        return d.is_not_null(), d
    if k in _LISTS:  # values.parse_list: split on ; ； 、 , ， — items trimmed, blanks dropped
        items = (s.str.replace_all("；", ";", literal=True).str.replace_all("，", ",", literal=True)
                 .str.replace_all("[;,、]", "\x1f").str.split("\x1f")
                 .list.eval(pl.element().str.strip_chars(BLANKS)).list.eval(pl.element().filter(pl.element() != "")))
        ok = present & ~s.str.contains("\x1f", literal=True)
        if k is Kind.ENUM_LIST:
            ok = ok & items.list.eval(pl.element().is_in(list(col.enum))).list.all()
        elif k is Kind.REF_LIST:
            item_ok = (pl.element().str.contains(_USCC_RE) if NODES[col.ref].key_column.kind is Kind.USCC
                       else ~pl.element().str.contains(_FOLDABLE_RE))
            ok = ok & items.list.eval(item_ok).list.all()
        return ok, pl.when(items.list.len() > 0).then(items)
    return pl.lit(False), pl.lit(None)  # bool, enum: few distinct texts, parsed once each


def _parse_rest(col: Column, cells: Sequence[Any], out: list, todo: Iterable[int], *, is_key: bool,
                required: bool) -> list[int]:
    """The cells polars did not read, through the per-cell parser (once per distinct text;
    a list each time, as each row has its own); returns the indexes of the cells it refuses."""
    failed: list[int] = []
    memo: dict | None = None if col.kind in _LISTS else {}
    for i in todo:
        raw = cells[i]
        text = memo is not None and raw.__class__ is str
        if text and raw in memo:
            v = memo[raw]
        else:
            try:
                v = parse_cell(col, raw, is_key=is_key, units=True)
            except ValueProblem:
                v = _FAIL
            if v is None and required:
                v = _FAIL
            if text:
                memo[raw] = v
        if v is _FAIL:
            failed.append(i)
            v = None
        out[i] = v
    return failed


def _map_uniques(col: Column, texts: list, *, required: bool) -> tuple[dict, list]:
    """({text: value}, [texts refused]) for the distinct texts of a column."""
    good: dict = {}
    fail: list = []
    for t in texts:
        if t is None:
            continue
        try:
            v = parse_cell(col, t, units=True)
        except ValueProblem:
            v = _FAIL
        if v is None and required:
            v = _FAIL
        if v is _FAIL:
            fail.append(t)
        else:
            good[t] = v
    return good, fail


def check_rows(nt: NodeType, rows: Sequence[dict[str, Any]]) -> tuple[list[dict], dict[int, RowResult]]:
    """(values, failed): each row's typed values and derived properties, as check_row gives
    them, and the RowResult of each row with a problem, by index (raw cells by column key,
    as SheetData.rows gives them)."""
    if not rows:
        return [], {}
    n = len(rows)
    present = [c for c in nt.columns if c.key in rows[0]]  # every row of a sheet has the same keys
    raw_cols = list(zip(*map(itemgetter(*[c.key for c in present]), rows))) if present else []
    if len(present) == 1:
        raw_cols = [tuple(r[present[0].key] for r in rows)]
    series, others = [], {}
    for j, (col, cells) in enumerate(zip(present, raw_cols)):
        try:
            series.append(pl.Series(f"c{j}", cells, dtype=pl.String))  # a CSV column: text cells only
        except TypeError:  # a workbook's numbers, dates, booleans: to the per-cell parser
            others[j] = [i for i, c in enumerate(cells) if c is not None and c.__class__ is not str]
            series.append(pl.Series(f"c{j}", [c if c.__class__ is str else None for c in cells], dtype=pl.String))
    raw = pl.DataFrame(series)
    need = {c.key: c.required and not (nt.alt_key and c is nt.key_column) for c in nt.columns}
    # few distinct texts (yes/no, categories): each parsed once, then mapped over the column
    mapped = [j for j, col in enumerate(present) if col.kind in (Kind.BOOL, Kind.ENUM) and j not in others]
    uniques = raw.select([pl.col(f"c{j}").unique().implode() for j in mapped]).row(0) if mapped else ()
    maps = {j: _map_uniques(present[j], u, required=need[present[j].key]) for j, u in zip(mapped, uniques)}
    frame = raw.with_columns([pl.col(f"c{j}").str.strip_chars(BLANKS).alias(f"s{j}") for j in range(len(present))])
    outs = []
    for j, col in enumerate(present):
        if j in maps:
            good, fail = maps[j]
            c = pl.col(f"c{j}")
            value = (c.replace_strict(list(good), list(good.values()), default=None,
                                      return_dtype=pl.Boolean if col.kind is Kind.BOOL else pl.String)
                     if good else pl.lit(None))
            failed = c.is_in(fail) | (c.is_null() if need[col.key] else pl.lit(False))
            outs += [value.alias(f"v{j}"), pl.lit(False).alias(f"t{j}"), failed.alias(f"f{j}")]
            continue
        name = f"s{j}"
        blank = (pl.col(name).is_null() | (pl.col(name) == "")).fill_null(True)
        accepted, value = _exprs(col, col is nt.key_column, name)
        accepted = accepted.fill_null(False)
        outs += [pl.when(accepted).then(value).otherwise(None).alias(f"v{j}"), (~accepted & ~blank).alias(f"t{j}"),
                 (blank if need[col.key] else pl.lit(False)).alias(f"f{j}")]
    frame = frame.select(outs)

    columns: dict[str, list] = {}
    bad: set[int] = set()
    parsed = {c.key: j for j, c in enumerate(present)}
    for col in nt.columns:
        required = need[col.key]
        j = parsed.get(col.key)
        if j is None:
            columns[col.key] = [None] * n
            if required:  # the column is absent: reported once as COLUMN_MISSING, each row fails
                bad.update(range(n))
            continue
        out = frame[f"v{j}"].to_list()
        todo: Iterable[int] = compress(range(n), frame[f"t{j}"].to_list())
        if j in others:
            todo = sorted(set(todo) | set(others[j]))
        bad.update(_parse_rest(col, raw_cols[j], out, todo, is_key=col is nt.key_column, required=required))
        failed = compress(range(n), frame[f"f{j}"].to_list())  # blank and required, or refused
        bad.update(set(failed) - set(others.get(j, ())) if j in others else failed)
        columns[col.key] = out
    keys = list(columns)
    values = [dict(zip(keys, vals)) for vals in zip(*columns.values())]
    problems: dict[int, RowResult] = {i: check_row(nt, rows[i]) for i in sorted(bad)}
    for i, res in problems.items():
        values[i] = res.values
    if nt.alt_key or nt.derived:
        codes = columns.get("uscc") if any(d.key == "uscc_valid" for d in nt.derived) else None
        valid = _uscc_valid(codes) if codes else None
        for i, (cells, rec) in enumerate(zip(rows, values)):
            if i in problems:
                continue
            if nt.alt_key:
                found = [CellProblem(k, c, p) for k, c, p in party_row(rec, cells)]
                if found:
                    problems[i] = RowResult(_derive(nt, rec), found, complete=False)
                    continue
            if valid is not None and valid[i] is not None and rec["uscc"] is codes[i] \
                    and rec["uscc"] != rec.get("provisional_id"):
                for d in nt.derived:  # the check character computed over the column (below)
                    rec[d.key] = valid[i] if d.key == "uscc_valid" else DERIVED[d.key](rec)
            else:
                _derive(nt, rec)
    return values, problems


_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}


def _uscc_valid(codes: list) -> list:
    """values.is_valid_uscc of each code of the GB 32100 form (None for any other), over the
    whole column: the weighted sum of the first 17 characters gives the 18th."""
    s = pl.Series(codes, dtype=pl.String)
    total = pl.lit(0, dtype=pl.Int64)
    for i, w in enumerate(USCC_WEIGHTS):
        total = total + pl.col("u").str.slice(i, 1).replace_strict(_USCC_VALUE, default=0, return_dtype=pl.Int64) * w
    check = ((31 - total % 31) % 31).replace_strict(dict(enumerate(USCC_CHARSET)), return_dtype=pl.String)
    u = pl.col("u")
    out = pl.DataFrame({"u": s}).select(
        pl.when(u.str.contains(_USCC_RE).fill_null(False)).then(check == u.str.slice(17, 1)).otherwise(None))
    return out.to_series().to_list()
