"""`sitegraph report`: the supervision report (督导通报), on generated surveys.

The rule under test: every figure of the report is a prepared query's cell. The HTML names
the query and column of each figure cell (data-q, data-col, data-v); each one must equal what
`sitegraph query run` gives for that county (or township) on the same store — on both
backends — and the xlsx form must hold the same numbers.
"""
from __future__ import annotations

import collections
import datetime as dt
import html as htmllib
import json
import re
from pathlib import Path

import pytest

from conftest import embedded_with, empty_target, run_cli
from graphmodel.writer import write_survey
from loaders.generate import generate
from queries.runner import run_query

SEED, SIZE = 4, 240

CELL_RE = re.compile(r'<td class="n[^"]*" data-q="([^"]+)" data-col="([^"]+)" data-level="([^"]+)" '
                     r'data-county="([^"]*)" data-township="([^"]*)" data-v=\'([^\']*)\'>([^<]*)</td>')


@pytest.fixture(scope="module")
def survey():
    return generate(SIZE, SEED, provisional=0.05)  # parties of every 主体类型 too (无照经营 is 依法取缔)


@pytest.fixture(scope="module")
def store(tmp_path_factory, survey):
    return embedded_with(tmp_path_factory.mktemp("report"), survey.records, source="generated")


def cells(page: str) -> list[dict]:
    out = []
    for q, col, level, county, township, v, shown in CELL_RE.findall(page):
        out.append({"q": q, "col": col, "level": level, "county": county or None, "township": township or None,
                    "v": json.loads(htmllib.unescape(v)), "shown": htmllib.unescape(shown)})
    return out


def query_run(args: list[str], env: dict | None, qid: str, **params) -> list[dict]:
    """`sitegraph query run ID -p k=v … --format json` as a user runs it."""
    ps = [x for k, v in params.items() for x in ("-p", f"{k}={v}")]
    res = run_cli("query", "run", qid, *ps, "--format", "json", *args, env=env)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def assert_figures_match_query_run(page: str, args: list[str], env: dict | None, as_of: dt.date) -> int:
    """Every figure cell of the county and township tables equals its `query run` cell."""
    found = cells(page)
    assert found, "no figure cells in the report"
    runs: dict[tuple, dict] = {}
    checked = collections.Counter()
    for c in found:
        params = {"by": c["level"]}
        if c["q"] in ("hazard-tally",):
            params["as_of"] = as_of.isoformat()
        key = (c["q"], c["level"])
        if key not in runs:
            rows = query_run(args, env, c["q"], **params)
            runs[key] = {(r["county"], r["township"]): r for r in rows}
        row = runs[key].get((c["county"], c["township"]))
        assert row is not None, f"{c['q']} has no row for {c['county']} {c['township']}"
        assert c["v"] == row[c["col"]], (c, row[c["col"]])
        checked[c["level"]] += 1
    # the county table covers every county the queries name, each with every figure of its tables
    county_rows = {k[0] for (q, level), rows in runs.items() if level == "county" for k in rows}
    shown_counties = {c["county"] for c in found if c["level"] == "county"}
    assert shown_counties == county_rows
    assert checked["county"] >= 5 * 30 and checked["township"] > checked["county"]
    return sum(checked.values())


def test_every_county_figure_is_what_query_run_gives(store, survey, tmp_path):
    out = tmp_path / "通报.html"
    res = run_cli("report", "--out", str(out), "--as-of", survey.as_of.isoformat(), *store.args)
    assert res.returncode == 0, res.stderr
    page = out.read_text(encoding="utf-8")
    n = assert_figures_match_query_run(page, store.args, None, survey.as_of)
    assert n > 500
    # shown as people read it: a rate as a percentage, a count as it is
    rate = next(c for c in cells(page) if c["col"] == "rate" and c["v"])
    assert rate["shown"] == f"{round(rate['v'] * 100, 1):g}%"
    # self-contained: no URL fetched, the cover names scope, dates and personal data
    assert not re.search(r'(src|href)="(https?:)?//', page) and "<link" not in page
    for text in ("督导通报", "阳泉市（全市）", "统计截至", "涵盖的调查日期", "不含个人信息", "数字来源",
                 "通报候选", "counter(page)"):
        assert text in page, text


def test_the_tallies_count_what_the_pack_lists(store, survey):
    """hazard-tally and enforcement-tally per county count the rows of the pack's own lists."""
    b = store.open()
    try:
        asof = survey.as_of
        ht = {r["county"]: r for r in run_query(b, "hazard-tally", {"by": "county", "as_of": asof}).rows}
        et = {r["county"]: r for r in run_query(b, "enforcement-tally", {"by": "county"}).rows}
        rr = {r["county"]: r for r in run_query(b, "rectification-rate").rows}

        def count(qid, params=None, keep=lambda r: True):
            return collections.Counter(r["county"] for r in run_query(b, qid, params or {}).rows if keep(r))

        checks = [
            (ht, "major_open", count("major-hazards-open", {"as_of": asof})),
            (ht, "major_open_supervised", count("major-hazards-open", {"as_of": asof}, lambda r: r["supervised"])),
            (ht, "overdue", count("hazards-overdue", {"as_of": asof})),
            (ht, "supervision_overdue", count("supervision-overdue", {"as_of": asof})),
            (ht, "closed_unaccepted", count("major-closed-unaccepted")),
            (et, "found_nothing_at_risk",
             count("inspection-accountability", {}, lambda r: "高风险作业企业未发现问题" in r["problems"])),
        ]
        for action, col in (("依法取缔", "ban"), ("责令停产整顿", "suspend"), ("依法关闭", "closing"),
                            ("强制拆除", "demolish"), ("挂牌督办", "supervise")):
            checks.append((et, col, count("five-always", {}, lambda r, a=action: r["action"] == a)))
        nonzero = 0
        for table, col, counted in checks:
            for county in set(table) | set(counted):
                if county is None:
                    continue
                assert (table.get(county) or {}).get(col, 0) == counted[county], (col, county)
            nonzero += sum(counted.values()) > 0
        assert nonzero >= 9  # the survey exercises them
        for county, r in rr.items():  # the county rate is rectification-rate's
            for col in ("hazards", "rectified", "rate", "major", "major_open", "open_hazards"):
                assert ht[county][col] == r[col], (county, col)
        # township rows add up to their county (the report never adds them: the queries agree)
        towns = run_query(b, "survey-coverage").rows
        for r in run_query(b, "survey-coverage", {"by": "county"}).rows:
            assert r["enterprises"] == sum(t["enterprises"] for t in towns if t["county"] == r["county"])
    finally:
        b.close()


def test_one_county_and_its_lists(store, survey, tmp_path):
    out = tmp_path / "郊区.html"
    res = run_cli("report", "--county", "郊区", "--out", str(out), "--as-of", survey.as_of.isoformat(), *store.args)
    assert res.returncode == 0, res.stderr
    page = out.read_text(encoding="utf-8")
    assert {c["county"] for c in cells(page)} == {"郊区"}
    assert "阳泉市郊区" in page
    # each list row names its query; the lists hold exactly the county's rows of that query
    b = store.open()
    try:
        for qid in ("major-hazards-open", "supervision-overdue", "stop-order-defied", "major-closed-unaccepted"):
            params = {"as_of": survey.as_of} if qid != "major-closed-unaccepted" and qid != "stop-order-defied" else {}
            want = [r for r in run_query(b, qid, params).rows if r["county"] == "郊区"]
            shown = page.count(f'<tr data-q="{qid}">')
            assert shown == min(len(want), 100), qid
            for r in want[:100]:
                key = r.get("hazard_id") or r.get("uscc")
                assert key in page, (qid, key)
        worry = [r for r in run_query(b, "worry-list", {"as_of": survey.as_of}).rows if r["county"] == "郊区"]
        assert page.count('<tr data-q="worry-list">') == min(20, len(worry)) > 0
        assert worry[0]["uscc"] in page
    finally:
        b.close()


def test_xlsx_holds_the_same_figures(store, survey, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "通报.xlsx"
    res = run_cli("report", "--out", str(out), "--as-of", survey.as_of.isoformat(), *store.args)
    assert res.returncode == 0, res.stderr
    wb = load_workbook(out)
    names = wb.sheetnames
    assert names[:2] == ["汇总", "说明"] and "全市汇总" in names and "郊区汇总" in names and "通报候选" in names
    # 汇总: every other sheet once, by a link to its first cell, with its rows
    index = wb["汇总"]
    assert wb.active.title == "汇总" and [c.value for c in index[1]] == ["工作表", "内容", "行数"]
    linked = [(r[0].value, r[0].hyperlink.location, r[2].value) for r in index.iter_rows(min_row=2)]
    assert [x[0] for x in linked] == names[1:]
    assert all(loc == f"'{n}'!A1" for n, loc, _ in linked)
    assert dict((n, k) for n, _, k in linked)["通报候选"] == wb["通报候选"].max_row - 1
    assert "重大事故隐患未清零" in names or any("重大" in n for n in names)
    ws = wb["全市汇总"]
    head = [c.value for c in ws[1]]
    assert ws.freeze_panes == "D2" and ws.auto_filter.ref
    assert head[:3] == ["层级", "县区", "乡镇街道"] and "整改率" in head and "隐患数" in head
    rows = {r[1]: dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    tally = {r["county"]: r for r in query_run(store.args, None, "hazard-tally", by="county",
                                               as_of=survey.as_of.isoformat())}
    assert set(rows) == set(tally)
    for county, r in tally.items():
        assert rows[county]["隐患数"] == r["hazards"] and rows[county]["整改率"] == r["rate"]
        assert rows[county]["重大隐患未清零数"] == r["major_open"]
    assert ws.column_dimensions["B"].width >= 6
    town = wb["郊区汇总"]
    levels = [r[0] for r in town.iter_rows(min_row=2, values_only=True)]
    assert levels[0] == "县区" and levels.count("县区") == 1 and "乡镇街道" in levels
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert "不含个人信息" in notes["个人信息 / personal data"] and notes["统计截至 / as of"] == survey.as_of.isoformat()


def test_bad_input(store, tmp_path):
    res = run_cli("report", "--county", "郊县", "--out", str(tmp_path / "a.html"), *store.args)
    assert res.returncode == 1 and "是否为 郊区" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "a.html").exists()
    res = run_cli("report", "--at", "2025-01-15", "--since", "2025-02-01", "--out", str(tmp_path / "b.html"),
                  *store.args)
    assert res.returncode == 2 and "--since" in res.stderr and "晚于" in res.stderr
    res = run_cli("--lang", "en", "report", "--at", "2025-01-15", "--since", "2025-02-01", "--out",
                  str(tmp_path / "b.html"), *store.args)
    assert res.returncode == 2 and "is after --at" in res.stderr
    # unwritable output: said before any work (the store named does not even exist)
    missing = ["--db", str(tmp_path / "no-such.db")]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    (tmp_path / "folder.html").mkdir()
    for out in (tmp_path / "folder.html", blocker / "r.html", Path("/proc/sitegraph-report.html")):
        res = run_cli("report", "--out", str(out), *missing)
        assert res.returncode == 1, (out, res.stderr)
        assert str(out) in res.stderr and "内部错误" not in res.stderr and "数据库" not in res.stderr, res.stderr
    res = run_cli("report", "--out", str(tmp_path / "r.docx"), *store.args)
    assert res.returncode == 2 and ".xlsx" in res.stderr


def test_trend_since_is_rectification_rate_at_each_survey_date(tmp_path):
    """Three dated rounds: the trend has a point per survey date, each what `query run --at` gives."""
    res = run_cli("generate", str(tmp_path / "rounds"), "--enterprises", "60", "--rounds", "3", "--seed", "2")
    assert res.returncode == 0, res.stderr
    plan = json.loads((tmp_path / "rounds" / "rounds.json").read_text(encoding="utf-8"))
    db = ["--db", str(tmp_path / "r.db")]
    for r in plan["rounds"]:
        args = ["load", str(tmp_path / "rounds" / r["ledger"]), "--source", plan["source"], "--date",
                r["survey_date"], *db] + (["--prune"] if r["prune"] else [])
        res = run_cli(*args)
        assert res.returncode == 0, res.stderr
    dates = sorted({r["survey_date"] for r in plan["rounds"]})
    out = tmp_path / "trend.html"
    res = run_cli("report", "--since", dates[0], "--out", str(out), *db)
    assert res.returncode == 0, res.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count('<div class="chart"') == 2 and page.count("<svg") == 2
    for d in dates:
        assert d in page
    # the xlsx trend sheet: one row per (date, county), each equal to rectification-rate on that date's state
    xlsx = tmp_path / "trend.xlsx"
    res = run_cli("report", "--since", dates[0], "--out", str(xlsx), *db)
    assert res.returncode == 0, res.stderr
    from openpyxl import load_workbook

    ws = load_workbook(xlsx)["趋势"]
    got = {(r[0].date().isoformat(), r[1]): r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert {d for d, _ in got} == set(dates)
    for d in dates:
        want = run_cli("query", "run", "rectification-rate", "--at", d, "--format", "json", *db)
        assert want.returncode == 0, want.stderr
        for row in json.loads(want.stdout):
            assert got[(d, row["county"])][2:4] == (row["rate"], row["major_open"]), (d, row["county"])
    # a later --since than the first survey drops the earlier points
    res = run_cli("report", "--since", dates[1], "--out", str(tmp_path / "t2.xlsx"), *db)
    assert res.returncode == 0, res.stderr
    ws = load_workbook(tmp_path / "t2.xlsx")["趋势"]
    assert {r[0].date().isoformat() for r in ws.iter_rows(min_row=2, values_only=True)} == set(dates[1:])


@pytest.mark.neo4j
def test_neo4j_gives_the_same_report(request, survey, store, tmp_path):
    """On Neo4j every figure equals `query run` on Neo4j, and the document is the embedded one
    apart from its backend line."""
    from cli.report_render import strip_meta

    neo = empty_target("neo4j", request, tmp_path)
    g = neo.open(write=True)
    try:
        write_survey(g, survey.records, source="generated")
    finally:
        g.close()
    pages = {}
    for name, t in (("neo4j", neo), ("embedded", store)):
        out = tmp_path / f"{name}.html"
        res = run_cli("report", "--out", str(out), "--as-of", survey.as_of.isoformat(), *t.args, env=t.env)
        assert res.returncode == 0, res.stderr
        pages[name] = out.read_text(encoding="utf-8")
    assert_figures_match_query_run(pages["neo4j"], neo.args, neo.env, survey.as_of)
    assert "neo4j bolt://" in pages["neo4j"]
    assert strip_meta(pages["neo4j"]) == strip_meta(pages["embedded"])


def test_personal_data_only_when_asked(store, survey, tmp_path):
    b = store.open()
    try:
        top = run_query(b, "worry-list", {"as_of": survey.as_of}, include_personal=True).rows[:20]
    finally:
        b.close()
    names = [r["principal"] for r in top if r.get("principal")]
    assert names
    pages = {}
    for extra in ([], ["--include-personal"]):
        out = tmp_path / f"r{len(extra)}.html"
        res = run_cli("report", "--out", str(out), "--as-of", survey.as_of.isoformat(), *extra, *store.args)
        assert res.returncode == 0, res.stderr
        pages[bool(extra)] = out.read_text(encoding="utf-8")
    assert not any(n in pages[False] for n in names) and "不含个人信息" in pages[False]
    assert all(n in pages[True] for n in names) and "含个人信息</b>" in pages[True]
