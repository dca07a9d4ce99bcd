"""The supervision report (督导通报): figures per county and township, the 通报 candidates,
trends and the lists a supervisor acts on — assembled from prepared queries only.

`gather(backend, county=…, as_of=…, since=…)` runs the queries below and keeps their runs;
every figure the report shows is a cell of one of them (a county row of `hazard-tally`
run with by = county, …), never recomputed here: the report and `sitegraph query run`
cannot disagree. This module selects (a county's rows), orders and words; it adds nothing up.

    from queries.report import gather
    rep = gather(backend, as_of=dt.date(2025, 1, 15), county="郊区")
    rep.tables[0].county_rows    # [(county, {column: value}), …] from hazard-tally by county
"""
from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from typing import Any, Callable

from graphmodel.backends.base import Backend
from graphmodel.errors import SitegraphError

from . import runner
from .catalogue import QuerySpec
from .runner import QueryRun

# The tables per county and township: (key, title, query, figure columns). Each query takes
# by = county | township; its rows at county level are the county table, at township level
# the township rows beneath.
TABLES: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("hazards", "隐患排查整改", "Hazards found and rectified", "hazard-tally",
     ("hazards", "general", "major", "rectified", "rate", "open_hazards", "major_open", "major_open_supervised",
      "overdue", "supervision_overdue", "closed_unaccepted")),
    ("enforcement", "“五个一律”与执法检查", "The five 'always' measures and inspections", "enforcement-tally",
     ("ban", "suspend", "closing", "demolish", "supervise", "five_always", "inspections", "signed_share",
      "document_share", "found_nothing_at_risk")),
    ("coverage", "排查摸底", "Survey coverage", "survey-coverage",
     ("enterprises", "buildings", "leased_buildings", "multi_tenant_buildings", "nested_sites", "contracts",
      "leased_area", "resident_workers", "high_risk_operations")),
)
RATE_COLUMNS = frozenset({"rate", "signed_share", "document_share"})

CANDIDATES = "notice-candidates"

# The lists a supervisor acts on: (query, columns shown, rows shown at most; None = all). The
# xlsx form holds every row, but of the worry-list (every enterprise scoring above 0) its top.
LISTS: tuple[tuple[str, tuple[str, ...], int | None], ...] = (
    ("major-hazards-open", ("hazard_id", "enterprise_name", "county", "township", "description", "deadline",
                            "overdue", "supervised", "double_reported", "suspended"), 100),
    ("supervision-overdue", ("hazard_id", "enterprise_name", "county", "township", "description",
                             "supervision_level", "supervised_on", "supervision_deadline", "status"), 100),
    ("stop-order-defied", ("uscc", "name", "county", "township", "inspection_id", "inspection_date", "agency",
                           "document_no", "orders"), 100),
    ("major-closed-unaccepted", ("hazard_id", "enterprise_name", "county", "township", "description",
                                 "closed_on", "acceptance", "problem"), 100),
    ("worry-list", ("uscc", "name", "county", "township", "sector", "score", "major_open", "overdue",
                    "supervision_overdue", "stop_defied"), 20),
)
XLSX_LIMITS = {"worry-list": 200}

# The trend: rectification-rate per county at each survey date (campaign.trend).
TREND_QUERY = "rectification-rate"
TREND_FIGURES = (("rate", "整改率", "rectification rate"), ("major_open", "重大隐患未清零数", "open major hazards"))

REPORT_QUERIES: tuple[str, ...] = tuple(dict.fromkeys(
    [q for _, _, _, q, _ in TABLES] + [CANDIDATES] + [q for q, _, _ in LISTS]))

# Words for the reasons notice-candidates returns (its column labels), with the figure quoted.
def reason_text(code: str, row: dict, min_rate: float) -> str:
    if code == "no_hazards":
        return "查不出隐患：辖区企业没有一条隐患记录"
    if code == "low_rate":
        return (f"整改率低：{pct(row['rate'])}（已整改 {row['rectified']} / 隐患 {row['hazards']}，"
                f"低于 {pct(min_rate)}）")
    if code == "major_open":
        return f"重大隐患未清零 {row['major_open']} 条"
    if code == "found_nothing":
        return f"运营高风险作业的企业被检查却未发现问题 {row['found_nothing_at_risk']} 次"
    return code


def pct(v: Any) -> str:
    """A share as people read it: 0.765 → 76.5%."""
    if v is None:
        return "—"
    return f"{round(float(v) * 100, 1):g}%"


@dataclass
class Table:
    key: str
    title_zh: str
    title_en: str
    spec: QuerySpec
    columns: tuple[str, ...]
    by_county: QueryRun
    by_township: QueryRun

    def county_row(self, county: str | None) -> dict | None:
        return next((r for r in self.by_county.rows if r["county"] == county), None)

    def township_rows(self, county: str | None) -> list[dict]:
        return [r for r in self.by_township.rows if r["county"] == county]


@dataclass
class ListPart:
    spec: QuerySpec
    run: QueryRun
    columns: tuple[str, ...]
    rows: list[dict]  # the rows in scope (all of them)
    limit: int | None

    @property
    def shown(self) -> list[dict]:
        return self.rows if self.limit is None else self.rows[: self.limit]

    @property
    def more(self) -> int:
        return len(self.rows) - len(self.shown)

    @property
    def in_xlsx(self) -> list[dict]:
        limit = XLSX_LIMITS.get(self.spec.id)
        return self.rows if limit is None else self.rows[:limit]


@dataclass
class Report:
    county: str | None  # None: the whole city
    as_of: dt.date
    at: dt.date | None  # the state the report reads (None: the live store)
    since: dt.date | None
    survey_dates: list[dt.date]  # the survey dates of the loads the report covers
    sources: list[str]
    backend: str  # "embedded /path" or "neo4j bolt://…"
    include_personal: bool
    counties: list[str | None]  # in table order
    tables: list[Table]
    candidates_county: QueryRun
    candidates_township: QueryRun
    min_rate: float
    lists: list[ListPart]
    trend: Any = None  # queries.campaign.Trend, or None without --since
    trend_dates: list[dt.date] = field(default_factory=list)
    generated_at: str = ""

    @property
    def scope_zh(self) -> str:
        return f"阳泉市{self.county}" if self.county else "阳泉市（全市）"

    def candidates(self, level: str) -> list[dict]:
        run = self.candidates_county if level == "county" else self.candidates_township
        return [r for r in run.rows if self.county is None or r["county"] == self.county]

    @property
    def runs(self) -> list[QueryRun]:
        out = []
        for t in self.tables:
            out += [t.by_county, t.by_township]
        out += [self.candidates_county, self.candidates_township]
        out += [p.run for p in self.lists]
        return out


def _params(spec: QuerySpec, as_of: dt.date, **extra) -> dict:
    names = {p.name for p in spec.params}
    out = {k: v for k, v in extra.items() if k in names}
    if "as_of" in names:
        out["as_of"] = as_of
    return out


def known_counties(runs: list[QueryRun]) -> list[str]:
    return sorted({r["county"] for run in runs for r in run.rows if r.get("county")})


def check_county(county: str, known: list[str]) -> str:
    """The county as the graph writes it, or an error with the closest names (did you mean)."""
    c = county.strip()
    if c in known:
        return c
    for k in known:  # 郊 for 郊区, 阳泉市郊区 for 郊区
        if c and (c == k.rstrip("区县") or c.endswith(k) and c.startswith("阳泉")):
            return k
    close = difflib.get_close_matches(c, known, n=3, cutoff=0.3) or [k for k in known if c and (c in k or k in c)]
    listed = "、".join(known) or "无"
    zh = f"图谱中没有县区“{county}”" + (f"：是否为 {'、'.join(close)}？" if close else "") + f"（图谱中的县区：{listed}）"
    en = f"no county {county!r} in the graph" + (f": did you mean {', '.join(close)}?" if close
                                                 else f" (counties: {', '.join(known) or 'none'})")
    raise SitegraphError(f"{zh} / {en}")


def survey_dates(backend: Backend, upto: dt.date | None) -> tuple[list[dt.date], list[str]]:
    """The survey dates and sources of the loads on or before `upto` (all without it)."""
    from graphmodel.writer import list_loads

    try:
        loads = list_loads(backend)
    except SitegraphError:  # a store without load records (an old schema): no dates to name
        return [], []
    loads = [r for r in loads if upto is None or (r.get("survey_date") and r["survey_date"] <= upto)]
    dates = sorted({r["survey_date"] for r in loads if r.get("survey_date")})
    sources = sorted({r["source"] for r in loads if r.get("source")})
    return dates, sources


def gather(backend: Backend, *, as_of: dt.date, county: str | None = None, since: dt.date | None = None,
           at: dt.date | None = None, live: Backend | None = None, min_rate: float | None = None,
           include_personal: bool = False, backend_line: str = "",
           progress: Callable[[str, int, int], None] | None = None) -> Report:
    """Run the report's queries on `backend` (the state the report reads) and assemble the report.

    `live` is the store itself (for the load records and the trend's earlier states; default
    `backend`); `since`: the trend covers the survey dates from it to `at` (or the latest)."""
    live = live or backend
    specs = {q: runner.get(q) for q in REPORT_QUERIES}
    cand = specs[CANDIDATES]
    rate = float(cand.param("min_rate").default) if min_rate is None else float(min_rate)
    steps = len(TABLES) * 2 + 2 + len(LISTS)
    n = 0

    def run(qid: str, **extra) -> QueryRun:
        nonlocal n
        n += 1
        if progress:
            progress(qid + (f" (by={extra['by']})" if "by" in extra else ""), n, steps)
        spec = specs[qid]
        return runner.run_query(backend, spec, _params(spec, as_of, **extra), include_personal)

    tables = []
    for key, zh, en, qid, cols in TABLES:
        c = run(qid, by="county")
        if not tables and county is not None:  # an unknown county fails before the other queries run
            county = check_county(county, known_counties([c]))
        tables.append(Table(key, zh, en, specs[qid], cols, c, run(qid, by="township")))
    cc = run(CANDIDATES, by="county", min_rate=rate)
    ct = run(CANDIDATES, by="township", min_rate=rate)
    lists = []
    for qid, cols, limit in LISTS:
        r = run(qid)
        rows = [x for x in r.rows if county is None or x.get("county") == county]
        shown = tuple(c for c in cols if c in r.column_names) + (tuple(specs[qid].personal_columns) if include_personal
                                                                 else ())
        lists.append(ListPart(specs[qid], r, shown, rows, limit))
    counties = sorted({r["county"] for t in tables for r in t.by_county.rows}, key=lambda c: (c is None, c or ""))
    if county is not None:
        counties = [county]
    dates, sources = survey_dates(live, at)
    trend, trend_dates = None, []
    # The trend ends at the state the report reads: --at, else the latest survey date.
    end = at if at is not None else (dates[-1] if dates else None)
    if since is not None and end is not None and since <= end:
        # every survey date from `since` to that state; the state's own date when none falls in between
        trend_dates = [d for d in dates if since <= d <= end] or [end]
        from .campaign import trend as campaign_trend

        trend = campaign_trend(live, TREND_QUERY, trend_dates)
    return Report(county=county, as_of=as_of, at=at, since=since, survey_dates=dates, sources=sources,
                  backend=backend_line or f"{backend.kind} {backend.location}", include_personal=include_personal,
                  counties=counties, tables=tables, candidates_county=cc, candidates_township=ct, min_rate=rate,
                  lists=lists, trend=trend, trend_dates=trend_dates,
                  generated_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"))


def trend_series(rep: Report, figure: str) -> dict[str, list[tuple[dt.date, Any]]]:
    """county -> [(date, value)] of one figure of the trend's query (each value a cell of its run)."""
    out: dict[str, list] = {}
    if rep.trend is None:
        return out
    for p in rep.trend.points:
        for key, figs in p.groups.items():
            c = key[0]
            if rep.county is not None and c != rep.county:
                continue
            out.setdefault(c, []).append((p.day, figs.get(figure)))
    return dict(sorted(out.items()))
