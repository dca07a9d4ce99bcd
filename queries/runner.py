"""Running prepared queries: parameters typed and validated, rows in a stable order.

Used by the CLI (`sitegraph query …`), the briefing and the demo:

    from queries.runner import load_catalogue, get, run_query, run_all
    run = run_query(backend, "hazards-overdue", {"as_of": "2025-01-31"})
    run.columns, run.rows        # personal columns dropped unless include_personal

The Cypher returns scalars only; the order of rows (and of collect()ed lists marked
`set_list`) is made here on the client, so that both backends give identical output.
"""
from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from graphmodel.backends.base import Backend
from graphmodel.errors import SitegraphError
from loaders.values import ValueProblem, fold_width, parse_date, strip

from .catalogue import Column, Param, QuerySpec, load_specs

# Prepared queries are trusted and may scan the whole graph: a generous time limit.
PREPARED_TIMEOUT_S = 600.0


@dataclass
class QueryRun:
    spec: QuerySpec
    params: dict[str, Any]
    columns: list[Column]
    rows: list[dict[str, Any]]
    include_personal: bool = False
    elapsed_s: float = 0.0
    backend: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def headers_zh(self) -> list[str]:
        return [c.label_zh for c in self.columns]

    @property
    def hidden_personal(self) -> list[str]:
        """Personal columns the query has but this run left out."""
        return [] if self.include_personal else self.spec.personal_columns

    def keys(self) -> list[tuple]:
        return [tuple(r[k] for k in self.spec.key_columns) for r in self.rows]


# --- the catalogue ---------------------------------------------------------------------

def load_catalogue() -> list[QuerySpec]:
    """Every prepared query, in catalogue order (validated; cached)."""
    try:
        return load_specs()
    except ValueError as e:
        raise SitegraphError(f"查询包无效 / the query pack is invalid: {e}") from e


def ids() -> list[str]:
    return [s.id for s in load_catalogue()]


def suggest(qid: str, n: int = 3) -> list[str]:
    """The closest query ids to a mistyped one."""
    all_ids = ids()
    close = difflib.get_close_matches(qid, all_ids, n=n, cutoff=0.5)
    if not close:
        close = [i for i in all_ids if qid and (qid in i or i in qid)][:n]
    return close


def get(qid: str) -> QuerySpec:
    for s in load_catalogue():
        if s.id == qid:
            return s
    close = suggest(qid)
    hint = f"；是否要找 / did you mean: {', '.join(close)}" if close else ""
    raise SitegraphError(
        f"没有这个查询：{qid!r}{hint}（sitegraph query list 列出全部）/ no query {qid!r}; `sitegraph query list` lists them"
    )


# --- parameters --------------------------------------------------------------------------

_SERIAL_RE = re.compile(r"\d{1,5}(\.\d+)?")


def _parse_date(v: Any) -> dt.date:
    """A date parameter: a date, "today"/"今天", or text in any form a survey date may take
    (loaders.values.parse_date: 2025-01-31, 2025/1/31, 2025年1月31日, 20250131, …). Numbers
    are refused, and so is the text of an Excel serial number that parse_date reads in a survey
    cell: in a parameter, 20250 is a cut-off 20250131, not 1955-06-10."""
    text = strip(fold_width(v)) if isinstance(v, str) else None
    if text is not None and text.lower() in ("today", "今天"):
        return dt.date.today()
    if isinstance(v, dt.date) or (text is not None and not _SERIAL_RE.fullmatch(text)):
        try:
            return parse_date(v)
        except ValueProblem:
            pass
    raise ValueError("不是日期（例：2025-01-31）/ not a date (e.g. 2025-01-31)")


def _parse_number(v: Any, kind: str) -> int | float:
    if isinstance(v, bool):
        raise ValueError("不是数字 / not a number")
    if kind == "int":
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str) and re.fullmatch(r"\s*[-+]?\d+\s*", v):
            return int(v)
        raise ValueError("不是整数 / not an integer")
    if isinstance(v, (int, float)):
        f = float(v)
    elif isinstance(v, str):
        s = v.strip()
        try:
            f = float(s[:-1]) / 100 if s.endswith("%") else float(s)
        except ValueError:
            raise ValueError("不是数字 / not a number") from None
    else:
        raise ValueError("不是数字 / not a number")
    if not math.isfinite(f):
        raise ValueError("不是有限数 / not a finite number")
    return f


def coerce_param(p: Param, v: Any) -> Any:
    """One parameter value, from a string (CLI) or a typed value, checked against p."""
    if p.type == "date":
        out = _parse_date(v)
    elif p.type in ("int", "float"):
        out = _parse_number(v, p.type)
        if p.min is not None and out < p.min:
            raise ValueError(f"不能小于 {p.min:g} / must be ≥ {p.min:g}")
        if p.max is not None and out > p.max:
            raise ValueError(f"不能大于 {p.max:g} / must be ≤ {p.max:g}")
    else:
        if not isinstance(v, str):
            raise ValueError("须为文本 / must be text")
        out = v.strip() if p.choices else v
        if p.choices and out not in p.choices:
            raise ValueError(f"可选值为 {'、'.join(p.choices)} / must be one of {', '.join(p.choices)}")
    return out


def resolve_params(spec: QuerySpec, given: dict[str, Any] | None) -> dict[str, Any]:
    """Every declared parameter typed: given values validated, missing ones defaulted."""
    given = dict(given or {})
    names = [p.name for p in spec.params]
    unknown = [k for k in given if k not in names]
    if unknown:
        have = "、".join(names) if names else "无 / none"
        raise SitegraphError(
            f"查询 {spec.id} 没有参数 {', '.join(unknown)}（可用参数：{have}）/ "
            f"query {spec.id} has no parameter {', '.join(unknown)}"
        )
    out = {}
    for p in spec.params:
        if p.name in given and given[p.name] is not None:
            try:
                out[p.name] = coerce_param(p, given[p.name])
            except ValueError as e:
                raise SitegraphError(f"参数 {p.name}={given[p.name]!r} 无效：{e} / bad value for {p.name}") from None
        else:
            out[p.name] = p.default_value()
    return out


# --- ordering ----------------------------------------------------------------------------

def _sort_key(v: Any):
    """Comparable across None and mixed numbers; None sorts last in both directions."""
    if v is None:
        return (1, 0)
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, (int, float)):
        return (0, v)
    if isinstance(v, (dt.date, dt.datetime)):
        return (0, v.isoformat())
    if isinstance(v, (list, tuple)):
        return (0, tuple(_sort_key(x) for x in v))
    return (0, str(v))


def order_rows(spec: QuerySpec, rows: list[dict]) -> list[dict]:
    """Stable multi-key sort by spec.sort ("-col" = descending), None last."""
    out = list(rows)
    for s in reversed(spec.sort):
        desc = s.startswith("-")
        name = s.lstrip("-")
        present = [r for r in out if r.get(name) is not None]
        absent = [r for r in out if r.get(name) is None]
        present.sort(key=lambda r: _sort_key(r[name]), reverse=desc)
        out = present + absent
    return out


def _norm_set_list(v: Any) -> Any:
    if not isinstance(v, list):
        return v
    seen = {}
    for x in v:
        if x is not None:
            seen.setdefault(_sort_key(x), x)
    return [seen[k] for k in sorted(seen)]


# --- running -----------------------------------------------------------------------------

def run_query(backend: Backend, qid: str | QuerySpec, params: dict[str, Any] | None = None,
              include_personal: bool = False, *, timeout: float | None = PREPARED_TIMEOUT_S) -> QueryRun:
    """Run one prepared query read-only; rows carry the declared columns in catalogue order."""
    spec = qid if isinstance(qid, QuerySpec) else get(qid)
    values = resolve_params(spec, params)
    t0 = time.perf_counter()
    res = backend.read(spec.expanded_cypher, values, timeout=timeout)
    elapsed = time.perf_counter() - t0
    declared = [c.name for c in spec.columns]
    if set(res.columns) != set(declared):
        raise SitegraphError(
            f"查询 {spec.id} 返回的列与定义不符 / query {spec.id} returned columns {res.columns}, declared {declared}"
        )
    set_lists = [c.name for c in spec.columns if c.set_list]
    rows = []
    for r in res.rows:
        row = {c: r.get(c) for c in declared}
        for c in set_lists:
            row[c] = _norm_set_list(row[c])
        rows.append(row)
    rows = order_rows(spec, rows)
    keys = [tuple(_sort_key(r[k]) for k in spec.key_columns) for r in rows]
    if len(keys) != len(set(keys)):
        raise SitegraphError(f"查询 {spec.id} 的键列出现重复行 / query {spec.id} returned duplicate keys")
    columns = [c for c in spec.columns if include_personal or not c.personal]
    if not include_personal:
        hidden = set(spec.personal_columns)
        rows = [{k: v for k, v in r.items() if k not in hidden} for r in rows]
    # The run's spec carries titles filled with the values used ("… {cap:%}" → "… 30%").
    return QueryRun(spec=spec.titled(values), params=values, columns=columns, rows=rows, include_personal=include_personal,
                    elapsed_s=elapsed, backend=backend.kind)


def run_all(backend: Backend, params: dict[str, Any] | None = None, include_personal: bool = False, *,
            ids_: Iterable[str] | None = None,
            progress: Callable[[QuerySpec, int, int], None] | None = None) -> list[QueryRun]:
    """Run every query (or `ids_`); each takes the given parameters it declares."""
    params = dict(params or {})
    specs = load_catalogue() if ids_ is None else [get(i) for i in ids_]
    declared = {p.name for s in specs for p in s.params}
    unknown = [k for k in params if k not in declared]
    if unknown:
        raise SitegraphError(
            f"没有查询使用参数 {', '.join(unknown)}（可用：{'、'.join(sorted(declared))}）/ "
            f"no query takes the parameter(s) {', '.join(unknown)}"
        )
    # Every value is checked before the first query runs.
    plan = []
    for spec in specs:
        mine = {k: v for k, v in params.items() if k in {p.name for p in spec.params}}
        plan.append((spec, resolve_params(spec, mine)))
    runs = []
    for n, (spec, values) in enumerate(plan, 1):
        if progress:
            progress(spec, n, len(plan))
        runs.append(run_query(backend, spec, values, include_personal))
    return runs
