"""`sitegraph brief` (an inspector's briefing) and `sitegraph demo` (everything in one go)."""
from __future__ import annotations

import datetime as dt
import enum
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from graphmodel.errors import SitegraphError

from .common import (DbOpt, Lang, LangOpt, Neo4jOpt, backend, check_writable, err, make_parents, write_text_atomic,
                     t, writing)


def register(app: typer.Typer) -> None:
    app.command("brief", short_help="检查简报：责任链、断点、隐患、检查清单 / an inspector's briefing")(brief)
    app.command("demo", short_help="一键演示：生成、导入、查询、简报 / the whole pipeline on a synthetic survey")(demo)


class BriefFormat(str, enum.Enum):
    html = "html"
    md = "md"


_DATE_RES = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(text: str | None, option: str = "--as-of") -> dt.date | None:
    """2024-12-15, 2024/12/15, 2024.12.15, 2024年12月15日, 20241215 or today; a bad one is a usage error."""
    if text is None:
        return None
    s = text.strip()
    if s.lower() in ("today", "今天"):
        return dt.date.today()
    for rx in _DATE_RES:
        m = rx.match(s)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
    raise typer.BadParameter(f"不是日期：{text!r}（例：2025-01-31）/ not a date (e.g. 2025-01-31)", param_hint=option)


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w\-.]+", "_", text).strip("._") or "target"


def brief(
    target: Annotated[str, typer.Argument(
        help="园区编码、建筑编码、统一社会信用代码，或企业（园区、建筑）名称的一部分 / "
             "a site id, building id, USCC, or a unique part of a name", metavar="TARGET")],
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="统计日期（判断隐患逾期），默认今天 / reference date for overdue hazards (default today)",
        metavar="DATE")] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="输出文件 .html 或 .md；“-” 输出到标准输出；默认 briefing-<编码>.html / "
                            "output file (.html or .md); '-' for stdout", metavar="FILE")] = None,
    format: Annotated[Optional[BriefFormat], typer.Option(
        "--format", "-f", help="html 或 md（默认按文件扩展名）/ html or md (default: from --out)")] = None,
    include_personal: Annotated[bool, typer.Option(
        "--include-personal", help="显示个人信息（主要负责人、联系电话、整改责任人、检查人员）/ show personal data")] = False,
    no_findings: Annotated[bool, typer.Option(
        "--no-findings", help="不运行查询包（更快）/ skip the query pack (faster)")] = False,
    summary: Annotated[bool, typer.Option(
        "--summary", help="只生成一页 A4 摘要：基本情况、责任链断点、重大隐患、现场必查十项和签字栏 / "
                          "one A4 page only: the site, chain breaks, major hazards, ten things to check, signatures")] = False,
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    lang: LangOpt = Lang.zh,
    at: Annotated[Optional[str], typer.Option(
        "--at", metavar="YYYY-MM-DD",
        help="该日期的状态的简报（--as-of 默认取该日期）/ the briefing of the state at this date")] = None,
) -> None:
    """检查简报：一个园区、建筑或企业的责任链、断点、隐患和现场检查清单（可打印的单个 HTML）/
    an inspector's briefing: responsibility chain, gaps, hazards and a visit checklist."""
    from queries.briefing import gather

    from .briefing_render import output_format, render_html, render_markdown
    from .query_cmds import _at_date, _state

    at_day = _at_date(at)
    day = parse_date(as_of) or at_day or dt.date.today()
    if out is not None and str(out) != "-":  # before the briefing is gathered: can it be written?
        check_writable(out, what=("简报", "briefing"))
    elif out is None:  # briefing-<id>.html here
        check_writable(Path("briefing.html"), what=("简报", "briefing"))
    with backend(db, neo4j) as live, _state(live, at_day) as b:
        t0 = time.perf_counter()
        brief_ = gather(b, target, as_of=day, include_personal=include_personal, findings=not no_findings)
    fmt = output_format(None if out is None or str(out) == "-" else out, format.value if format else None)
    text = render_markdown(brief_, summary=summary) if fmt == "md" else render_html(brief_, summary=summary)
    s = brief_.summary
    what = (f"{brief_.target.kind_zh} {brief_.target.id} {brief_.target.name}：建筑 {s['buildings']}，租赁 {s['tenancies']}，"
            f"责任链断点 {s['breaks']}，未整改隐患 {s['open_hazards']}（重大 {s['open_major']}，逾期 {s['overdue']}）"
            + (f"，查询包发现 {s['findings']}" if s["findings"] is not None else ""))
    what = t(what, f"{brief_.target.kind} {brief_.target.id} {brief_.target.name}: buildings {s['buildings']}, "
                   f"tenancies {s['tenancies']}, chain breaks {s['breaks']}, open hazards {s['open_hazards']} "
                   f"(major {s['open_major']}, overdue {s['overdue']})"
                   + (f", pack findings {s['findings']}" if s["findings"] is not None else ""))
    if brief_.findings_note:
        err(f"注意 / note: {brief_.findings_note}")
    if out is not None and str(out) == "-":
        sys.stdout.write(text)
        err(f"简报 / briefing — {what}")
        return
    path = out or Path(f"briefing-{_safe_name(brief_.target.id)}{'-summary' if summary else ''}."
                       f"{'md' if fmt == 'md' else 'html'}")
    if path.exists() and path.is_dir():
        raise typer.BadParameter(f"{path} 是文件夹 / is a folder", param_hint="--out")
    make_parents(path, what=("简报", "briefing"))
    with writing(path, ("简报", "briefing")):
        write_text_atomic(path, text)
    secs = time.perf_counter() - t0
    err(t(f"已生成简报 / briefing written: {path}（{secs:.1f} 秒）", f"briefing written: {path} ({secs:.1f} s)"))
    err(f"  {what}")
    if not include_personal:
        err("  个人信息已隐去（--include-personal 显示）/ personal data hidden")


# --------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------

def demo(
    dir: Annotated[Path, typer.Option("--dir", help="演示文件夹（默认 ./sitegraph-demo）/ demo folder",
                                      metavar="DIR")] = Path("sitegraph-demo"),
    enterprises: Annotated[int, typer.Option("--enterprises", "-n", min=20, help="企业数 / number of enterprises")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="随机种子 / random seed")] = 1,
    lang: LangOpt = Lang.zh,
) -> None:
    """一键演示：生成阳泉合成台账、导入嵌入式图库、运行全部查询、写出结果工作簿和发现最多的园区的检查简报。
    每次运行都在 DIR 中重新生成（旧的演示库会被替换）/ one-command demo: generate a Yangquan survey, load it,
    run the whole pack, write the workbook and a briefing of the site with the most findings. Each run starts
    afresh in DIR (the old demo database is replaced).

    DIR 中的文件 / files in DIR: survey.xlsx, ground_truth.json, sitegraph.db, sitegraph-findings.xlsx, briefing.html,
    report.html（督导通报 / the supervision report）
    """
    from graphmodel.backends import open_backend
    from loaders.generate import generate, write_survey_files
    from loaders.survey import ensure_schema, load
    from queries import runner
    from queries.briefing import findings_per_site, gather

    from .briefing_render import write_briefing
    from .query_cmds import WORKBOOK_NAME, write_pack_workbook

    t0 = time.perf_counter()
    if dir.exists() and not dir.is_dir():
        raise typer.BadParameter(f"{dir} 不是文件夹 / is not a folder", param_hint="--dir")
    check_writable(dir, folder=True, what=("演示文件夹", "demo folder"))
    make_parents(dir, folder=True, what=("演示文件夹", "demo folder"))
    db_path = dir / "sitegraph.db"
    # Start afresh: the demo owns these files in DIR and nothing else there is touched.
    for name in ("sitegraph.db", "sitegraph.db.wal"):
        p = dir / name
        if p.is_dir():
            raise SitegraphError(f"{p} 是文件夹，无法重建演示库 / is a folder")
        p.unlink(missing_ok=True)

    err(f"[1/6] 生成 {enterprises} 家企业的阳泉合成台账（种子 {seed}）/ generating the survey …")
    survey = generate(enterprises, seed)
    write_survey_files(survey, dir, format="xlsx")
    survey_path = dir / "survey.xlsx"

    err("[2/6] 检查并导入嵌入式图库 / checking and loading into the embedded store …")
    b = open_backend(str(db_path), write=True, create=True)
    try:
        ensure_schema(b)
        # the synthetic survey describes the plants as of its own date
        outcome = load(survey_path, b, source=f"yangquan-demo-{seed}", survey_date=survey.as_of)
        loaded = sum(r.records for r in outcome.report.labels.values())

        err("[3/6] 运行查询包 / running the query pack …")
        specs = runner.load_catalogue()
        runs, failed = [], []
        for n, spec in enumerate(specs, 1):
            err(f"      {n:>2}/{len(specs)} {spec.id}")
            params = {"as_of": survey.as_of} if any(p.name == "as_of" for p in spec.params) else {}
            try:
                runs.append(runner.run_query(b, spec, params))
            except SitegraphError as e:  # one broken query should not sink the demo
                failed.append(spec.id)
                err(f"      查询 {spec.id} 未能运行 / failed: {e}")
        workbook = dir / WORKBOOK_NAME
        write_pack_workbook(workbook, runs, where=f"{b.kind} {b.location}")

        err("[4/6] 选出发现最多的园区厂区并生成检查简报 / briefing of the site with the most findings …")
        counts = findings_per_site(b, runs)
        if not counts:
            raise SitegraphError("演示台账中没有园区厂区 / the demo survey has no sites")
        site = min(counts, key=lambda s: (-counts[s], s))
        brief_ = gather(b, site, as_of=survey.as_of, runs=runs)
        briefing = write_briefing(brief_, dir / "briefing.html")

        err("[5/6] 督导通报 / the supervision report …")
        from queries.report import gather as gather_report

        from .report_render import render_html as render_report

        report_path = dir / "report.html"
        rep = gather_report(b, as_of=survey.as_of)
        write_text_atomic(report_path, render_report(rep))
    finally:
        b.close()

    err("[6/6] 完成 / done")
    total_rows = sum(len(r.rows) for r in runs)
    top = sorted((r for r in runs if r.spec.severity != "统计"), key=lambda r: (-len(r.rows), r.spec.id))[:5]
    s = brief_.summary
    q = shlex.quote
    dbq = q(str(db_path))
    some_building = next((bb.building_id for bb in sorted(brief_.buildings, key=lambda x: (-x.max_depth, -len(x.tenancies), x.building_id))), None)
    lines = [
        f"演示已就绪 / demo ready（用时 {time.perf_counter() - t0:.0f} 秒）",
        f"  合成台账 survey    {survey_path}（{enterprises} 家企业，种子 {seed}，截至 {survey.as_of}；标准答案 {dir / 'ground_truth.json'}）",
        f"  图数据库 database  {db_path}（嵌入式 LadybugDB，{loaded} 条记录）",
        f"  查询结果 findings  {workbook}（{len(runs)} 个查询，共 {total_rows} 行）",
        f"  检查简报 briefing  {briefing} —— {brief_.target.name}（{site}），发现最多（{s['findings']} 条）："
        f"建筑 {s['buildings']}，租赁 {s['tenancies']}（最深 {s['max_depth']} 级），责任链断点 {s['breaks']}，"
        f"未整改隐患 {s['open_hazards']}",
        f"  督导通报 report    {report_path} —— {rep.scope_zh}，通报候选（县区）："
        + ("、".join(r["county"] or "未填县区" for r in rep.candidates("county")) or "无"),
        "  发现最多的查询 / top findings: " + "；".join(f"{r.spec.title_zh} {len(r.rows)}" for r in top),
        "接下来可以试试 / try next:",
        f"  sitegraph info --db {dbq}",
        "  sitegraph query list",
        f"  sitegraph query run major-hazards-open --db {dbq} --param as_of={survey.as_of}",
        f"  sitegraph brief {q(site)} --db {dbq} --as-of {survey.as_of} --out {q(str(dir / (site + '.md')))}",
        f"  sitegraph report --db {dbq} --as-of {survey.as_of} --county 郊区 --out {q(str(dir / '督导通报-郊区.pdf'))}",
    ]
    if failed:
        lines.insert(4, f"  未能运行的查询 / failed queries: {', '.join(failed)}")
    if some_building:
        lines.append(f"  sitegraph brief {q(some_building)} --db {dbq} --as-of {survey.as_of}")
    lines.append(f"  （重新运行 sitegraph demo 会在 {dir} 中重建演示库 / re-running rebuilds the demo in {dir}）")
    print("\n".join(lines))
