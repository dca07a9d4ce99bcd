"""`sitegraph history | diff | trend`: campaign history from the command line (issue 11).

Thin commands over graphmodel.changes and queries.campaign; stdout carries only the
requested output (table, json), messages go to stderr.
"""
from __future__ import annotations

import datetime as dt
import enum
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from graphmodel.errors import SitegraphError

from .common import (DbOpt, Lang, LangOpt, Neo4jOpt, ParamOpt, TableFormat, WideOpt, backend, check_writable, emit_text, err,
                     make_parents, parse_kv, t, writing)
from .render import cell_text, print_table

PersonalOpt = Annotated[bool, typer.Option(
    "--include-personal", help="显示个人信息字段的值 / show the values of personal fields")]


def register(app: typer.Typer) -> None:
    app.command("history", short_help="一条记录的全部版本 / every version of one record")(history_cmd)
    app.command("diff", short_help="两个日期之间的变化 / what changed between two dates")(diff_cmd)
    app.command("trend", short_help="查询结果随日期的变化 / a query over dates")(trend_cmd)


class DiffFormat(str, enum.Enum):
    table = "table"
    json = "json"
    xlsx = "xlsx"


class Every(str, enum.Enum):
    week = "week"
    month = "month"


def _date(raw: str | None, opt: str) -> dt.date | None:
    """A date option written like a survey date cell; unparsable → exit 1."""
    if raw is None:
        return None
    from loaders.values import ValueProblem, parse_date

    try:
        return parse_date(raw.strip())
    except (ValueProblem, ValueError, OverflowError):
        raise SitegraphError(t(f"{opt} 的值 {raw!r} 不是日期，请写成 YYYY-MM-DD",
                               f"{opt} {raw!r} is not a date: write YYYY-MM-DD")) from None


def _en() -> bool:
    """English output: --lang en anywhere on the command line (or $SITEGRAPH_LANG)."""
    from .common import lang as run_lang

    return run_lang() is Lang.en


def _require_history(b) -> None:
    from graphmodel.states import _meta

    _meta(b)  # a store without history tables: the upgrade message, exit 1


def _note_before_first(b, days) -> None:
    """A date before the first load: an empty state, said in one line (not an error)."""
    from graphmodel.writer import list_loads

    dates = [r["survey_date"] for r in list_loads(b) if r["survey_date"]]
    early = sorted({d for d in days if not dates or d < min(dates)})
    if early:
        first = min(dates).isoformat() if dates else t("无", "none")
        err(t(f"{'、'.join(map(str, early))} 早于第一次导入（调查日期 {first}）：该日期的状态为空",
              f"{', '.join(map(str, early))} is before the first load (survey date {first}): an empty state"))


def _v(v) -> str:
    if v is None:
        return "（空）" if t("zh", "en") == "zh" else "(blank)"
    if isinstance(v, list):
        return "、".join(cell_text(x) for x in v) if v else "[]"
    return cell_text(v)


def _field_name(label: str, key: str, en: bool) -> str:
    from graphmodel.schema import NODES

    if en:
        return key
    try:
        return NODES[label].column(key).header
    except KeyError:
        return key


# --- history ---------------------------------------------------------------------------------

def _event_text(e, en: bool) -> str:
    from graphmodel.changes import EVENTS

    zh_name, en_name = EVENTS[e.kind]
    if e.kind == "merged_into":
        return f"merged into {e.other}" if en else f"合并为 {e.other}"
    if e.kind == "merged_from":
        return f"merged from {e.other}" if en else f"由 {e.other} 合并"
    return en_name if en else zh_name


def history_cmd(
    key: Annotated[str, typer.Argument(metavar="KEY", help="记录的键，如统一社会信用代码、建筑编号、隐患编号 / record key")],
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="只看此工作表 / only this sheet")] = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="table 或 json")] = TableFormat.table,
    include_personal: PersonalOpt = False,
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    lang: LangOpt = Lang.zh,
    wide: WideOpt = False,
) -> None:
    """一条记录的全部版本：调查日期、来源、导入批次、文件/工作表/行，变化的字段（原值 → 新值），退出与合并 /
    every version of one record: survey date, source, load, file/sheet/row, changed fields, retirements, merges."""
    from graphmodel.changes import history_of, suggest_keys

    key = key.strip()
    with backend(db, neo4j) as b:
        _require_history(b)
        found = history_of(b, key, sheet=sheet, include_personal=include_personal)
        if not found:
            close = suggest_keys(b, key, sheet=sheet)
            hint = t(f"（是否为 {'、'.join(close)}？）", f" (did you mean {' or '.join(close)}?)") if close else ""
            raise SitegraphError(t(f"没有键为 {key!r} 的记录{hint}", f"no record has the key {key!r}{hint}"))
    if format is TableFormat.json:
        print(json.dumps([h.as_dict() for h in found], ensure_ascii=False, indent=2))
        return
    en = _en()
    cols = ["date", "event", "source", "load", "where", "changes"]
    heads = (["survey date", "event", "source", "load (#seq)", "file / sheet / row", "fields: old → new"] if en
             else ["调查日期", "事件", "来源", "导入批次（序号）", "文件 / 工作表 / 行", "变化字段：原值 → 新值"])
    for h in found:
        rows = []
        for e in h.events:
            where = " / ".join(str(x) for x in (e.src_file, e.src_sheet, e.src_row) if x not in (None, ""))
            ch = "；".join(f"{_field_name(h.label, k, en)}: {_v(o)} → {_v(n)}" for k, (o, n) in e.changes.items())
            if e.kind == "created":
                ch = "first version" if en else "首个版本"
            elif e.kind in ("updated", "late", "readded") and not ch:
                ch = "no field changed" if en else "字段无变化（同上一版本）"
            rows.append({"date": e.survey_date.isoformat() + (" *" if e.current else ""), "event": _event_text(e, en),
                         "source": e.source, "load": f"{e.load_id or ''} #{e.load_seq}", "where": where,
                         "changes": ch})
        sheet_name = h.label if en else h.sheet
        state = (("current" if en else "现存") if h.present else ("not in the current graph" if en else "当前图谱中无此记录"))
        print_table(cols, rows, heads, f"{sheet_name} {h.key}（{state}）", keys=("date", "event"), wide=True)
    err(t("* 为当前图谱中的版本；个人信息字段的值已隐藏（--include-personal 显示）" if not include_personal
          else "* 为当前图谱中的版本", "* marks the version in the current graph"
          + ("" if include_personal else "; personal values hidden (--include-personal shows them)")))


# --- diff ------------------------------------------------------------------------------------

def diff_cmd(
    from_: Annotated[str, typer.Option("--from", metavar="YYYY-MM-DD", help="起始日期 / first date")],
    to: Annotated[str, typer.Option("--to", metavar="YYYY-MM-DD", help="结束日期 / second date")],
    query: Annotated[Optional[list[str]], typer.Option(
        "--query", "-q", metavar="ID", help="只比较这些查询（可重复；默认全部）/ only these queries (repeatable)")] = None,
    format: Annotated[DiffFormat, typer.Option("--format", "-f", help="table、json 或 xlsx")] = DiffFormat.table,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE", help="写入文件 / write to this file")] = None,
    param: ParamOpt = None,
    include_personal: PersonalOpt = False,
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    lang: LangOpt = Lang.zh,
    wide: WideOpt = False,
) -> None:
    """两个日期之间的变化：每个查询新增/已解决/持续的发现，每个工作表新增/退出/变更的记录（字段原值 → 新值）/
    per query the findings new / resolved / persisting, per sheet the records added / retired / changed."""
    from queries import campaign, runner

    d1, d2 = _date(from_, "--from"), _date(to, "--to")
    if d1 > d2:
        raise typer.BadParameter(t(f"--from {d1} 晚于 --to {d2}：起始日期须不晚于结束日期",
                                   f"--from {d1} is after --to {d2}: the first date must not be after the second"),
                                 param_hint="--from")
    for q in query or []:
        runner.get(q)  # unknown id: exit 1 with suggestions, before the store is opened
    params = parse_kv(param)
    if out is not None and format is DiffFormat.table:
        suffix = out.suffix.lower().lstrip(".")
        if suffix not in ("json", "xlsx"):
            raise typer.BadParameter(t(f"无法从 {out.name} 判断格式，请加 --format json|xlsx",
                                       f"give --format json|xlsx for {out.name}"), param_hint="--out")
        format = DiffFormat(suffix)
    if format is DiffFormat.xlsx and out is None:
        out = Path(f"sitegraph-diff-{d1}-{d2}.xlsx")
    if out is not None:
        check_writable(out)

    def progress(what, n, total):
        err(f"  {n:>2}/{total} {what}")

    with backend(db, neo4j) as b:
        _require_history(b)
        where = f"{b.kind} {b.location}"
        _note_before_first(b, [d1, d2])
        result = campaign.diff(b, d1, d2, query, include_personal=include_personal, params=params, progress=progress)
    en = _en()
    if format is DiffFormat.json:
        text = json.dumps(result, ensure_ascii=False, indent=2)
        emit_text(text, out)
    elif format is DiffFormat.xlsx:
        make_parents(out)
        with writing(out):
            write_diff_workbook(out, result, d1, d2, Lang.en if en else Lang.zh, where=where, include_personal=include_personal)
        err(t(f"已写入 {out}", f"written: {out}"))
    else:
        _diff_tables(result, d1, d2, en, wide)
    nq = sum(bool(v["new"] or v["resolved"]) for v in result["queries"].values())
    nr = sum(len(v["added"]) + len(v["retired"]) + len(v["changed"]) for v in result["records"].values())
    err(t(f"{d1} → {d2}：{nq} 个查询的发现有变化，{nr} 条记录有变化（{where}）",
          f"{d1} → {d2}: findings changed in {nq} queries, {nr} records changed ({where})"))


DETAIL_ROWS = 60  # record changes shown in the table; json and xlsx hold them all


def _key_text(k: list[str]) -> str:
    return " / ".join(k)


def _diff_tables(result: dict, d1, d2, en: bool, wide: bool) -> None:
    from queries import runner

    rows = []
    for qid, v in result["queries"].items():
        spec = runner.get(qid)
        rows.append({"id": qid, "title": spec.title_en if en else spec.title_zh, "new": len(v["new"]),
                     "resolved": len(v["resolved"]), "persisting": len(v["persisting"]),
                     "examples": "；".join(("+" + _key_text(k)) for k in v["new"][:3])
                     + ("；" if v["new"][:1] and v["resolved"][:1] else "")
                     + "；".join(("−" + _key_text(k)) for k in v["resolved"][:3])})
    heads = (["id", "title", "new", "resolved", "persisting", "e.g. (+new −resolved)"] if en
             else ["编号", "名称", "新增", "已解决", "持续", "举例（+新增 −已解决）"])
    print_table(["id", "title", "new", "resolved", "persisting", "examples"], rows, heads,
                (f"findings {d1} → {d2}" if en else f"查询发现的变化 {d1} → {d2}"), keys=("id",), wide=wide)
    srows, detail = [], []
    for sheet, v in result["records"].items():
        srows.append({"sheet": sheet, "added": len(v["added"]), "retired": len(v["retired"]),
                      "changed": len(v["changed"])})
        from graphmodel.changes import sheet_label

        label = sheet_label(sheet)
        for k in v["added"]:
            detail.append({"sheet": sheet, "key": k, "change": "added" if en else "新增", "field": "", "old": "",
                           "new": ""})
        for k in v["retired"]:
            detail.append({"sheet": sheet, "key": k, "change": "retired" if en else "退出", "field": "", "old": "",
                           "new": ""})
        for k, fields in v["changed"].items():
            for f, (o, n) in fields.items():
                detail.append({"sheet": sheet, "key": k, "change": "changed" if en else "变更",
                               "field": _field_name(label, f, en), "old": _v(o), "new": _v(n)})
    heads = ["sheet", "added", "retired", "changed"] if en else ["工作表", "新增", "退出", "变更"]
    print_table(["sheet", "added", "retired", "changed"], srows, heads,
                f"records {d1} → {d2}" if en else f"记录的变化 {d1} → {d2}", keys=("sheet",))
    if detail:
        heads = ["sheet", "key", "change", "field", "old", "new"] if en else ["工作表", "键", "变化", "字段", "原值", "新值"]
        print_table(["sheet", "key", "change", "field", "old", "new"], detail[:DETAIL_ROWS], heads, None,
                    keys=("sheet", "key", "change"), wide=wide)
        if len(detail) > DETAIL_ROWS:
            err(t(f"（只显示前 {DETAIL_ROWS} 行，共 {len(detail)} 行；--format json 或 xlsx 输出全部）",
                  f"(first {DETAIL_ROWS} of {len(detail)} lines; --format json or xlsx gives all)"))


def write_diff_workbook(path: Path, result: dict, d1, d2, lang: Lang = Lang.zh, *, where: str = "",
                        include_personal: bool = False) -> None:
    """For a county office: 汇总 (a row per query), one sheet per query with its new and resolved
    findings (Chinese headers), 记录变化 (sheet, key, change, field, old, new), 说明."""
    from importlib.metadata import version

    from graphmodel.changes import sheet_label
    from loaders.excel import Book, Col, Link
    from queries import runner

    en = _en()
    book = Book(lang=lang.value)
    index = book.sheet("Summary" if en else "汇总")
    notes = book.sheet("Notes" if en else "说明")
    summary = []
    for qid, v in result["queries"].items():
        spec = runner.get(qid)
        by_name = {c.name: c for c in spec.columns}
        cols = [Col("change", "change" if en else "变化")] + [
            Col(k, (by_name[k].label_en or k) if en else by_name[k].label_zh, number_format="@")
            for k in spec.key_columns]
        rows = ([{"change": "new" if en else "新增", **dict(zip(spec.key_columns, k))} for k in v["new"]]
                + [{"change": "resolved" if en else "已解决", **dict(zip(spec.key_columns, k))} for k in v["resolved"]])
        ws = book.add_table(qid if en else spec.title_zh, cols, rows,
                            print_title=f"{qid}  {spec.title_en if en else spec.title_zh}  {d1} → {d2}")
        summary.append({"id": Link(qid, ws.title), "title": spec.title_en if en else spec.title_zh,
                        "new": len(v["new"]), "resolved": len(v["resolved"]), "persisting": len(v["persisting"])})
    heads = ["id", "title", "new", "resolved", "persisting"] if en else ["编号", "名称", "新增", "已解决", "持续"]
    book.write_table(index, [Col(k, h) for k, h in zip(["id", "title", "new", "resolved", "persisting"], heads)],
                     summary, print_title=(f"findings {d1} → {d2}" if en else f"查询发现的变化 {d1} → {d2}"))
    detail = []
    for sheet, v in result["records"].items():
        label = sheet_label(sheet)
        detail += [{"sheet": sheet, "key": k, "change": "added" if en else "新增"} for k in v["added"]]
        detail += [{"sheet": sheet, "key": k, "change": "retired" if en else "退出"} for k in v["retired"]]
        for k, fields in v["changed"].items():
            detail += [{"sheet": sheet, "key": k, "change": "changed" if en else "变更",
                        "field": _field_name(label, f, en), "old": o, "new": n} for f, (o, n) in fields.items()]
    heads = ["sheet", "key", "change", "field", "old", "new"] if en else ["工作表", "键", "变化", "字段", "原值", "新值"]
    book.add_table("Record changes" if en else "记录变化",
                   [Col(k, h, number_format="@" if k == "key" else None)
                    for k, h in zip(["sheet", "key", "change", "field", "old", "new"], heads)], detail,
                   print_title=(f"records {d1} → {d2}" if en else f"记录的变化 {d1} → {d2}"))
    items = [("生成 / generator", f"sitegraph {version('sitegraph')}"),
             ("比较 / compared", f"{d1} → {d2}"),
             ("数据库 / store", where),
             ("新增 / new", "结束日期的状态中有、起始日期没有的发现 / in the state at the second date, not at the first"),
             ("已解决 / resolved", "起始日期有、结束日期没有的发现 / at the first date, not at the second"),
             ("个人信息 / personal data", "含个人信息，请妥善保管 / includes personal data" if include_personal
              else "个人信息字段未列出（--include-personal）/ personal fields left out")]
    book.write_notes(notes, items, ("item", "text") if en else ("项目", "内容"))
    book.save(path)


# --- trend -----------------------------------------------------------------------------------

def trend_cmd(
    qid: Annotated[str, typer.Argument(metavar="ID", help="查询编号 / query id")],
    at: Annotated[Optional[str], typer.Option("--at", metavar="D1,D2,...", help="逗号分隔的日期 / dates, comma-separated")] = None,
    every: Annotated[Optional[Every], typer.Option("--every", help="week 或 month（与 --from/--to 一起）")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", metavar="YYYY-MM-DD", help="起始日期 / first date")] = None,
    to: Annotated[Optional[str], typer.Option("--to", metavar="YYYY-MM-DD", help="结束日期 / last date")] = None,
    chart: Annotated[Optional[Path], typer.Option("--chart", metavar="FILE.png|svg", help="画图 / draw a chart")] = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="table 或 json")] = TableFormat.table,
    param: ParamOpt = None,
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    lang: LangOpt = Lang.zh,
    wide: WideOpt = False,
) -> None:
    """查询结果随日期的变化：每个日期一行（行数；整改率、排查覆盖按县区/乡镇的数字），可画图 /
    a row per date: the query's row count (rectification-rate and survey-coverage: figures per area), optional chart."""
    from queries import campaign, runner

    spec = runner.get(qid)
    if at and (every or from_ or to):
        raise typer.BadParameter(t("--at 与 --every/--from/--to 只能二选一", "give --at or --every/--from/--to, not both"),
                                 param_hint="--at")
    if at:
        days = [_date(x, "--at") for x in at.split(",") if x.strip()]
    elif every and from_ and to:
        d1, d2 = _date(from_, "--from"), _date(to, "--to")
        if d1 > d2:
            raise typer.BadParameter(t(f"--from {d1} 晚于 --to {d2}：起始日期须不晚于结束日期",
                                       f"--from {d1} is after --to {d2}"), param_hint="--from")
        days = campaign.series_dates(every.value, d1, d2)
    else:
        raise typer.BadParameter(t("请给出 --at D1,D2,… 或 --every week|month --from D1 --to D2",
                                   "give --at D1,D2,… or --every week|month --from D1 --to D2"), param_hint="--at")
    if not days:
        raise typer.BadParameter(t("--at 中没有日期", "--at holds no date"), param_hint="--at")
    if chart is not None:
        if chart.suffix.lower() not in (".png", ".svg"):
            raise typer.BadParameter(t("图表文件须以 .png 或 .svg 结尾", "the chart must end in .png or .svg"),
                                     param_hint="--chart")
        check_writable(chart)
    params = parse_kv(param)

    def progress(what, n, total):
        err(f"  {n:>2}/{total} {what}")

    with backend(db, neo4j) as b:
        _require_history(b)
        where = f"{b.kind} {b.location}"
        _note_before_first(b, days)
        tr = campaign.trend(b, spec.id, days, params, progress=progress)
    en = _en()
    if format is TableFormat.json:
        print(json.dumps(tr.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        _trend_tables(tr, en, wide)
    if chart is not None:
        from .trend_chart import draw_trend

        make_parents(chart)
        with writing(chart):
            fd, tmp = tempfile.mkstemp(prefix=f".{chart.name}.", suffix=chart.suffix, dir=chart.parent)
            os.close(fd)
            try:
                zh = draw_trend(tr, Path(tmp), english=en)
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)  # the mode an ordinary open() gives, not mkstemp's 0600
                os.replace(tmp, chart)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        err(t(f"已写入 {chart}", f"written: {chart}") + ("" if zh or en else
                                                         "（未找到中文字体，图中用英文标注 / no CJK font: English labels）"))
    err(t(f"{len(tr.points)} 个日期（{where}）", f"{len(tr.points)} dates ({where})"))


def _fig(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".") or "0"
    return "" if v is None else str(v)


def _trend_tables(tr, en: bool, wide: bool) -> None:
    title = f"{tr.query}  {tr.title_en if en else tr.title_zh}"
    rows = [{"date": p.day.isoformat(), "rows": p.rows} for p in tr.points]
    print_table(["date", "rows"], rows, ["date", "rows"] if en else ["日期", "行数"], title, keys=("date",))
    if not tr.group_cols:
        return
    from queries import runner

    spec = runner.get(tr.query)
    by_name = {c.name: c for c in spec.columns}
    fig = tr.figures[0]
    groups = sorted({g for p in tr.points for g in p.groups})
    cols = [*tr.group_cols, *(p.day.isoformat() for p in tr.points)]
    heads = [(by_name[c].label_en or c) if en else by_name[c].label_zh for c in tr.group_cols] + \
        [p.day.isoformat() for p in tr.points]
    out = []
    for g in groups:
        r = dict(zip(tr.group_cols, g))
        for p in tr.points:
            r[p.day.isoformat()] = _fig(p.groups.get(g, {}).get(fig)) or "—"
        out.append(r)
    fname = (by_name[fig].label_en or fig) if en else by_name[fig].label_zh
    print_table(cols, out, heads, f"{fname} ({'per area and date' if en else '按地区和日期'})", keys=tuple(tr.group_cols),
                wide=wide)
