"""`sitegraph report`: the supervision report (督导通报) as HTML, PDF or xlsx."""
from __future__ import annotations

import datetime as dt
import enum
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from graphmodel.errors import SitegraphError

from .common import (DbOpt, Lang, LangOpt, Neo4jOpt, backend, check_writable, empty_graph_note, err, make_parents,
                     t, write_text_atomic, writing)


def register(app: typer.Typer) -> None:
    app.command("report", short_help="督导通报：各县区乡镇的排查整改数字、通报候选、趋势和督办清单 / the supervision report")(report)


class ReportFormat(str, enum.Enum):
    html = "html"
    pdf = "pdf"
    xlsx = "xlsx"


WHAT = ("督导通报", "report")


def report_format(out: Path, fmt: ReportFormat | None) -> ReportFormat:
    if fmt is not None:
        return fmt
    suffix = out.suffix.lower().lstrip(".")
    if suffix in ("html", "htm"):
        return ReportFormat.html
    if suffix in ("pdf", "xlsx"):
        return ReportFormat(suffix)
    raise typer.BadParameter(f"无法从 {out.name} 判断格式：请用 .html、.pdf 或 .xlsx，或加 --format / "
                             f"give a .html, .pdf or .xlsx file, or --format", param_hint="--out")


def _date_opt(raw: str | None, option: str) -> dt.date | None:
    """A date option written like a survey date cell; unparsable → exit 1 (as query run --at)."""
    if raw is None:
        return None
    from loaders.values import ValueProblem, parse_date

    s = raw.strip()
    if s.lower() in ("today", "今天"):
        return dt.date.today()
    try:
        return parse_date(s)
    except (ValueProblem, ValueError, OverflowError):
        raise SitegraphError(f"{option} 的值 {raw!r} 不是日期，请写成 YYYY-MM-DD / "
                             f"{option} {raw!r} is not a date: write YYYY-MM-DD") from None


def report(
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE",
                                      help="输出文件：.html、.pdf 或 .xlsx / output file (.html, .pdf or .xlsx)")],
    county: Annotated[Optional[str], typer.Option(
        "--county", metavar="县区", help="只通报一个县区（默认全市）/ one county only (default: the whole city)")] = None,
    at: Annotated[Optional[str], typer.Option(
        "--at", metavar="YYYY-MM-DD",
        help="该日期的状态（--as-of 默认取该日期）/ the state at this date (--as-of defaults to it)")] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", metavar="YYYY-MM-DD",
        help="趋势的起始日期：自该日起每个调查日期一点 / trend from this date: a point per survey date")] = None,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", metavar="YYYY-MM-DD",
        help="统计截至日期（判断逾期），默认 --at 或今天 / reference date for overdue (default --at or today)")] = None,
    format: Annotated[Optional[ReportFormat], typer.Option(
        "--format", "-f", help="html、pdf 或 xlsx（默认按文件扩展名）/ default: from --out")] = None,
    min_rate: Annotated[Optional[float], typer.Option(
        "--min-rate", min=0, max=1, metavar="0..1",
        help="整改率低于此值列为通报候选（默认 0.8）/ a rectification rate below this is named (default 0.8)")] = None,
    include_personal: Annotated[bool, typer.Option(
        "--include-personal", help="包含个人信息（主要负责人、联系电话、整改责任人）/ include personal data")] = False,
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    lang: LangOpt = Lang.zh,
) -> None:
    """督导通报：各县区、乡镇街道的排查摸底、隐患整改、“五个一律”和执法检查数字，通报候选排名，整改率趋势，
    以及重大隐患、挂牌督办逾期、责令停产仍在产和“不放心企业”清单；每个数字都是预置查询的结果 /
    the supervision report: figures per county and township, the 通报 candidates, trends and the lists to act on;
    every figure is a prepared query's result."""
    from queries.report import gather

    from . import report_render as R
    from .query_cmds import _state

    fmt = report_format(out, format)
    at_day = _date_opt(at, "--at")
    since_day = _date_opt(since, "--since")
    day = _date_opt(as_of, "--as-of") or at_day or dt.date.today()
    end = at_day or day
    if since_day is not None and since_day > end:
        which = "--at" if at_day else "--as-of" if as_of else t("今天", "today")
        raise typer.BadParameter(t(f"--since {since_day} 晚于 {which} {end}：趋势的起始日期须不晚于通报的日期",
                                   f"--since {since_day} is after {which} {end}: the trend must start on or before "
                                   "the report's date"), param_hint="--since")
    # Before any work: can the file be written, and can a PDF be printed here?
    check_writable(out, what=WHAT)
    chromium = None
    if fmt is ReportFormat.pdf:
        chromium = R.find_chromium()
        if not chromium:
            raise SitegraphError(t("无法生成 PDF：没有找到 Chromium（apt-get install chromium fonts-noto-cjk，或设置 "
                                   "SITEGRAPH_CHROMIUM）；也可以先输出 .html 再用浏览器打印",
                                   "cannot print a PDF: headless Chromium not found (apt-get install chromium "
                                   "fonts-noto-cjk, or set SITEGRAPH_CHROMIUM); write .html and print it instead"))
    t0 = time.perf_counter()

    def progress(qid: str, n: int, total: int) -> None:
        err(f"  {n:>2}/{total} {qid}")

    with backend(db, neo4j) as live, _state(live, at_day) as b:
        if empty_graph_note(b):
            raise SitegraphError(t("图谱中没有数据，无法生成督导通报", "the graph is empty: no report to write"))
        err(t(f"生成督导通报 / building the report on {b.kind} {b.location}", f"building the report on {b.kind} {b.location}"))
        rep = gather(b, as_of=day, county=county, since=since_day, at=at_day, live=live, min_rate=min_rate,
                     include_personal=include_personal, backend_line=f"{b.kind} {b.location}", progress=progress)
    make_parents(out, what=WHAT)
    with writing(out, WHAT):
        if fmt is ReportFormat.xlsx:
            R.write_xlsx(rep, out)
        elif fmt is ReportFormat.pdf:
            R.print_pdf(R.render_html(rep), out, chromium)
        else:
            write_text_atomic(out, R.render_html(rep))
    cands = rep.candidates("county")
    err(t(f"已生成督导通报 / report written: {out}（{time.perf_counter() - t0:.1f} 秒）",
          f"report written: {out} ({time.perf_counter() - t0:.1f} s)"))
    err(f"  {rep.scope_zh}，统计截至 {rep.as_of}；" + (
        "通报候选 / candidates: " + "、".join(r['county'] or '未填县区' for r in cands) if cands else "无通报候选 / no candidates"))
    if not include_personal:
        err(t("  个人信息已隐去（--include-personal 显示）", "  personal data left out (--include-personal to show it)"))
