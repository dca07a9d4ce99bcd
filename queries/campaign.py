"""What changed between two dates, and how a query trends over dates (issue 11).

Library functions behind `sitegraph diff` and `sitegraph trend` (and the supervision report):

- `query_diff(backend, d1, d2, ids)`: per query, the key tuples (catalogue key columns) of
  the findings new at d2, resolved since d1 and persisting, each query run on the state at
  that date with `as_of` = that date (graphmodel.states);
- `diff(backend, d1, d2, ids)`: that plus the record changes per sheet
  (graphmodel.changes.record_changes) — the JSON of the contract;
- `trend(backend, qid, dates)`: a point per date — the query's row count, and for
  rectification-rate and survey-coverage their figures per county / township;
- `series_dates(every, d1, d2)`: the dates of `--every week|month`.

On Neo4j every date is materialised into LadybugDB (the latest too), so a series or a diff
never mixes engines; on the embedded store the latest date reads the live store.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from graphmodel.backends.base import Backend
from graphmodel.errors import SitegraphError

from . import runner

# Queries whose rows are figures per area: the group columns and the figures a trend keeps
# (the first figure is the one a chart draws).
GROUPED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "rectification-rate": (("county",), ("rate", "hazards", "rectified", "major", "major_rectified",
                                         "open_hazards", "major_open")),
    "survey-coverage": (("county", "township"), ("enterprises", "buildings", "leased_buildings",
                                                 "multi_tenant_buildings", "nested_sites", "contracts",
                                                 "leased_area", "resident_workers", "high_risk_operations")),
}


def key_text(v: Any) -> str:
    """A key cell as the contract writes it: dates ISO, null as ""."""
    if v is None:
        return ""
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def check_range(d1: dt.date, d2: dt.date) -> None:
    if d1 > d2:
        raise ValueError(f"--from {d1} 晚于 --to {d2} / --from {d1} is after --to {d2}")


def _params_for(spec, day: dt.date, params: dict | None) -> dict:
    p = {k: v for k, v in (params or {}).items() if any(x.name == k for x in spec.params)}
    if any(x.name == "as_of" for x in spec.params):
        p.setdefault("as_of", day.isoformat())
    return p


def _state(backend: Backend, day: dt.date):
    from graphmodel.states import state_at

    return state_at(backend, day, materialise=backend.kind != "embedded")


def key_tuples(backend: Backend, spec, day: dt.date, params: dict | None = None) -> set[tuple[str, ...]]:
    run = runner.run_query(backend, spec, _params_for(spec, day, params), include_personal=False)
    return {tuple(key_text(r[k]) for k in spec.key_columns) for r in run.rows}


def _specs(ids: Iterable[str] | None) -> list:
    return runner.load_catalogue() if not ids else [runner.get(i) for i in dict.fromkeys(ids)]


def query_diff(backend: Backend, d1: dt.date, d2: dt.date, ids: Iterable[str] | None = None,
               params: dict | None = None, progress: Callable[[str, int, int], None] | None = None) -> dict[str, dict]:
    """{id: {"new": [[key…]…], "resolved": […], "persisting": […]}} in catalogue order, each sorted."""
    specs = _specs(ids)
    before: dict[str, set] = {}
    after: dict[str, set] = {}
    for day, into in ((d1, before), (d2, after)):
        with _state(backend, day) as s:
            for n, spec in enumerate(specs, 1):
                if progress:
                    progress(f"{day} {spec.id}", n, len(specs))
                into[spec.id] = key_tuples(s, spec, day, params)
    out = {}
    for spec in specs:
        a, b = before[spec.id], after[spec.id]
        out[spec.id] = {"new": [list(k) for k in sorted(b - a)], "resolved": [list(k) for k in sorted(a - b)],
                        "persisting": [list(k) for k in sorted(a & b)]}
    return out


def diff(backend: Backend, d1: dt.date, d2: dt.date, ids: Iterable[str] | None = None, *,
         include_personal: bool = False, params: dict | None = None,
         progress: Callable[[str, int, int], None] | None = None) -> dict:
    """The contract's diff JSON: {"queries": {...}, "records": {SHEET: {...}}}."""
    from graphmodel.changes import record_changes

    check_range(d1, d2)
    return {"queries": query_diff(backend, d1, d2, ids, params, progress),
            "records": record_changes(backend, d1, d2, include_personal=include_personal)}


# --- trend ------------------------------------------------------------------------------------

@dataclass
class TrendPoint:
    day: dt.date
    rows: int
    groups: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)  # area -> figures

    def as_dict(self, group_cols: tuple[str, ...] = ()) -> dict:
        out: dict[str, Any] = {"date": self.day.isoformat(), "rows": self.rows}
        if group_cols:
            out["groups"] = [{**dict(zip(group_cols, k)), **v} for k, v in sorted(self.groups.items())]
        return out


@dataclass
class Trend:
    query: str
    title_zh: str
    title_en: str
    group_cols: tuple[str, ...]
    figures: tuple[str, ...]
    points: list[TrendPoint]

    def as_dict(self) -> dict:
        return {"query": self.query, "title_zh": self.title_zh, "title_en": self.title_en,
                "group_columns": list(self.group_cols), "figures": list(self.figures),
                "points": [p.as_dict(self.group_cols) for p in self.points]}


def trend(backend: Backend, qid: str, dates: Iterable[dt.date], params: dict | None = None,
          progress: Callable[[str, int, int], None] | None = None) -> Trend:
    """One point per date (sorted, de-duplicated): the query run on the state at that date."""
    spec = runner.get(qid)
    days = sorted(set(dates))
    if not days:
        raise SitegraphError("趋势至少需要一个日期 / a trend needs at least one date")
    group_cols, figures = GROUPED.get(spec.id, ((), ()))
    points = []
    for n, day in enumerate(days, 1):
        if progress:
            progress(day.isoformat(), n, len(days))
        with _state(backend, day) as s:
            run = runner.run_query(s, spec, _params_for(spec, day, params), include_personal=False)
        groups = {tuple(key_text(r[c]) for c in group_cols): {f: r.get(f) for f in figures} for r in run.rows} \
            if group_cols else {}
        points.append(TrendPoint(day, len(run.rows), groups))
    return Trend(spec.id, spec.title_zh, spec.title_en, group_cols, figures, points)


def _add_months(d: dt.date, n: int, day: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    return dt.date(y, m, min(day, calendar.monthrange(y, m)[1]))


def series_dates(every: str, d1: dt.date, d2: dt.date) -> list[dt.date]:
    """d1, then every week or month after it while <= d2, and d2 itself."""
    check_range(d1, d2)
    out, n = [d1], 1
    while True:
        nxt = d1 + dt.timedelta(weeks=n) if every == "week" else _add_months(d1, n, d1.day)
        if nxt > d2:
            break
        out.append(nxt)
        n += 1
    if out[-1] != d2:
        out.append(d2)
    return out
