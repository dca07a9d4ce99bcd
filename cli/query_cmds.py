"""`sitegraph query list | show | run`: the prepared query pack from the command line.

Thin commands over queries.runner: arguments in, one library call, rendering out.
stdout carries only the requested output (table, json, csv); messages go to stderr.
"""
from __future__ import annotations

import enum
import json
import shutil
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from graphmodel.errors import SitegraphError
from queries import runner
from queries.catalogue import CATEGORY_EN, SEVERITY_EN, QuerySpec

from .common import DbOpt, Lang, LangOpt, Neo4jOpt, ParamOpt, TableFormat, backend, err, parse_kv
from .render import cell_text, to_csv, to_json, write_xlsx_sheets

query_app = typer.Typer(
    name="query",
    help="预置查询包：列出、查看、运行 / the prepared query pack: list, show, run.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

WORKBOOK_NAME = "sitegraph-findings.xlsx"


def register(app: typer.Typer) -> None:
    app.add_typer(query_app, name="query")


class RunFormat(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class ShowFormat(str, enum.Enum):
    text = "text"
    json = "json"


# --- helpers ---------------------------------------------------------------------------

def _title(spec: QuerySpec, lang: Lang) -> str:
    return spec.title_en if lang is Lang.en else spec.title_zh


def _out(text: str) -> None:
    sys.stdout.write(text)
    if not text.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()


def _console(file=None):
    from rich.console import Console

    f = file or sys.stdout
    # Wide result tables stay readable when piped (rich would otherwise assume 80 columns).
    width = None if f.isatty() else max(shutil.get_terminal_size((200, 20)).columns, 200)
    return Console(file=f, width=width, soft_wrap=False, highlight=False)


def _display(v) -> str:
    """A cell for people: floats without binary noise, the rest as in exports."""
    if isinstance(v, float) and not isinstance(v, bool):
        s = f"{v:.3f}".rstrip("0").rstrip(".")
        return s if s not in ("-0", "") else "0"
    return cell_text(v)


def _print_rows(columns: list[str], headers: list[str], rows: list[dict], title: str | None) -> None:
    from rich.table import Table

    table = Table(title=title, header_style="bold", show_lines=False)
    for h in headers:
        table.add_column(str(h), overflow="fold")
    for r in rows:
        table.add_row(*(_display(r.get(c)) for c in columns))
    _console().print(table)


def _personal_note(run: runner.QueryRun) -> str:
    if not run.spec.personal_columns:
        return "本查询不含个人信息 / no personal data in this query"
    if run.include_personal:
        return "含个人信息（--include-personal），请妥善保管 / includes personal data: handle with care"
    return ("未包含个人信息（用 --include-personal 输出）/ personal data left out "
            f"({', '.join(run.spec.personal_columns)})")


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={cell_text(v)}" for k, v in params.items()) or "无 / none"


def _export_note(run: runner.QueryRun) -> str:
    return (f"sitegraph query {run.spec.id}：{run.spec.title_zh}；参数 {_params_text(run.params)}；"
            f"{_personal_note(run)}")


def _headers(run: runner.QueryRun, lang: Lang) -> list[str]:
    return [(c.label_en or c.name) if lang is Lang.en else c.label_zh for c in run.columns]


def _typed_params(param: list[str] | None) -> dict[str, str]:
    return parse_kv(param)  # malformed k=v: usage error, exit 2


# --- list ----------------------------------------------------------------------------------

@query_app.command("list")
def list_(
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = TableFormat.table,
    category: Annotated[Optional[str], typer.Option("--category", help="只列此类别 / only this category")] = None,
    search: Annotated[Optional[str], typer.Option("--search", "-s", help="按编号、名称、说明、依据搜索 / search text")] = None,
    lang: LangOpt = Lang.zh,
) -> None:
    """列出全部预置查询 / list the prepared queries."""
    specs = runner.load_catalogue()
    if category:
        specs = [s for s in specs if category in (s.category, CATEGORY_EN[s.category])]
        if not specs:
            raise SitegraphError(f"没有类别为 {category!r} 的查询 / no query in category {category!r}")
    if search:
        needle = search.lower()
        specs = [s for s in specs if needle in " ".join(
            [s.id, s.title_zh, s.title_en, s.description_zh, s.description_en, *s.legal_basis]).lower()]
    if format is TableFormat.json:
        _out(json.dumps([s.summary() for s in specs], ensure_ascii=False, indent=2))
        return
    en = lang is Lang.en
    rows = [{"id": s.id, "title": _title(s, lang),
             "severity": SEVERITY_EN[s.severity] if en else s.severity,
             "category": CATEGORY_EN[s.category] if en else s.category,
             "keys": ", ".join(s.key_columns),
             "params": ", ".join(p.name for p in s.params)} for s in specs]
    headers = (["id", "title", "severity", "category", "key columns", "parameters"] if en
               else ["编号", "名称", "严重程度", "类别", "键列", "参数"])
    _print_rows(["id", "title", "severity", "category", "keys", "params"], headers, rows, None)
    err(f"共 {len(specs)} 个查询；sitegraph query show ID 查看详情 / {len(specs)} queries")


# --- show ----------------------------------------------------------------------------------

@query_app.command("show")
def show(
    qid: Annotated[str, typer.Argument(metavar="ID", help="查询编号 / query id")],
    format: Annotated[ShowFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = ShowFormat.text,
) -> None:
    """查看一个查询：说明、法律依据、参数、结果列和 Cypher / show a query's metadata, parameters and Cypher."""
    spec = runner.get(qid)
    if format is ShowFormat.json:
        _out(json.dumps({**spec.summary(), "sort": list(spec.sort), "cypher": spec.expanded_cypher},
                        ensure_ascii=False, indent=2))
        return
    from rich.panel import Panel
    from rich.table import Table

    con = _console()
    con.print(f"[bold]{spec.id}[/bold]  {spec.title_zh}")
    con.print(f"  {spec.title_en}")
    con.print(f"严重程度 severity: {spec.severity} ({SEVERITY_EN[spec.severity]})    "
              f"类别 category: {spec.category} ({CATEGORY_EN[spec.category]})")
    con.print("依据 legal basis: " + "；".join(spec.legal_basis))
    con.print(Panel(spec.description_zh.strip() + "\n\n" + spec.description_en.strip(), title="说明 / description"))
    if spec.params:
        t = Table(title="参数 / parameters", header_style="bold")
        for h in ("名称 name", "类型 type", "默认 default", "说明 description"):
            t.add_column(h, overflow="fold")
        for p in spec.params:
            default = "今天 / today" if p.default == "today" else str(p.default)
            t.add_row(p.name, p.type, default, f"{p.description_zh} / {p.description_en}")
        con.print(t)
    t = Table(title="结果列 / columns", header_style="bold")
    for h in ("列名 name", "中文名", "English", "键 key", "个人信息 personal"):
        t.add_column(h, overflow="fold")
    for c in spec.columns:
        t.add_row(c.name, c.label_zh, c.label_en, "是" if c.key else "", "是" if c.personal else "")
    con.print(t)
    con.print("排序 order: " + ", ".join(spec.sort))
    con.print("[bold]Cypher[/bold]（在嵌入式库和 Neo4j 上原样运行 / runs unchanged on both backends）:")
    con.print(spec.expanded_cypher.strip(), markup=False, highlight=False)


# --- run -------------------------------------------------------------------------------------

@query_app.command("run")
def run(
    qid: Annotated[Optional[str], typer.Argument(metavar="[ID]", help="查询编号 / query id")] = None,
    all_: Annotated[bool, typer.Option("--all", help="运行全部查询 / run the whole pack")] = False,
    param: ParamOpt = None,
    format: Annotated[RunFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = RunFormat.table,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", metavar="PATH",
        help="写入文件（--all 时为文件夹）/ write to this file (a folder with --all)")] = None,
    include_personal: Annotated[bool, typer.Option(
        "--include-personal", help="输出个人信息（主要负责人、联系电话、整改责任人、检查人员）/ include personal data")] = False,
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    lang: LangOpt = Lang.zh,
) -> None:
    """运行一个预置查询（或 --all 运行全部）/ run a prepared query (or the whole pack with --all).

    参数写成 --param k=v，如 --param as_of=2025-01-31 --param cap=0.1。
    """
    params = _typed_params(param)
    if all_:
        if qid:
            raise typer.BadParameter("ID 与 --all 只能二选一 / give an ID or --all, not both", param_hint="ID")
        _run_all(params, format, out, include_personal, db, neo4j, lang)
        return
    if not qid:
        raise typer.BadParameter("缺少查询编号（或用 --all）/ missing query id (or --all)", param_hint="ID")
    spec = runner.get(qid)  # unknown id: exit 1 with suggestions
    runner.resolve_params(spec, params)  # bad values fail before the database is opened
    fmt = _format_for(format, out)
    with backend(db, neo4j) as b:
        res = runner.run_query(b, spec, params, include_personal)
    names = res.column_names
    headers = _headers(res, lang)
    if fmt is RunFormat.json:
        _emit(to_json(res.rows), out)
    elif fmt is RunFormat.csv:
        _emit(to_csv(names, res.rows, headers, note=_export_note(res)), out, newline=False)
    elif fmt is RunFormat.xlsx:
        path = out or Path(f"{spec.id}.xlsx")
        write_xlsx_sheets(path, [(spec.id, names, headers, res.rows, _export_note(res))])
        err(f"已写入 / written: {path}")
    else:
        _print_rows(names, headers, res.rows, f"{spec.id}  {_title(spec, lang)}")
    hidden = f"；{_personal_note(res)}" if res.hidden_personal else ""
    err(f"{len(res.rows)} 行 / rows（{res.backend}，{res.elapsed_s:.2f} 秒，参数 {_params_text(res.params)}）{hidden}")


def _format_for(format: RunFormat, out: Path | None) -> RunFormat:
    """--out with the default table format: the file's suffix decides."""
    if out is None or format is not RunFormat.table:
        return format
    suffix = out.suffix.lower().lstrip(".")
    if suffix in ("json", "csv", "xlsx"):
        return RunFormat(suffix)
    raise typer.BadParameter(
        f"无法从 {out.name} 判断格式，请加 --format json|csv|xlsx / give --format for {out.name}", param_hint="--out")


def _emit(text: str, out: Path | None, newline: bool = True) -> None:
    if out is None:
        if newline:
            _out(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text if not newline or text.endswith("\n") else text + "\n", encoding="utf-8")
    err(f"已写入 / written: {out}")


def _run_all(params: dict, format: RunFormat, out: Path | None, include_personal: bool,
             db: str | None, neo4j: str | None, lang: Lang) -> None:
    if out is not None and out.exists() and not out.is_dir():
        raise typer.BadParameter(f"--all 的 --out 须为文件夹：{out} / --out must be a folder with --all",
                                 param_hint="--out")

    def progress(spec, n, total):
        err(f"  {n:>2}/{total} {spec.id}")

    with backend(db, neo4j) as b:
        err(f"运行全部查询 / running the pack on {b.kind} {b.location}")
        runs = runner.run_all(b, params, include_personal, progress=progress)
    summary = [{"id": r.spec.id, "title_zh": r.spec.title_zh, "title_en": r.spec.title_en,
                "severity": r.spec.severity, "category": r.spec.category, "rows": len(r.rows),
                "seconds": round(r.elapsed_s, 3)} for r in runs]
    if format is RunFormat.json:
        _out(to_json(summary))
    elif format is RunFormat.csv:
        sys.stdout.write(to_csv(["id", "title_zh", "severity", "category", "rows", "seconds"], summary,
                                ["编号", "名称", "严重程度", "类别", "行数", "耗时(秒)"]))
    else:
        title_key = "title_en" if lang is Lang.en else "title_zh"
        headers = (["id", "title", "severity", "rows", "seconds"] if lang is Lang.en
                   else ["编号", "名称", "严重程度", "行数", "耗时(秒)"])
        _print_rows(["id", title_key, "severity", "rows", "seconds"], headers, summary, "查询包运行结果 / the pack")
    total = sum(s["rows"] for s in summary)
    err(f"{len(runs)} 个查询，共 {total} 行 / {len(runs)} queries, {total} rows")
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    path = out / WORKBOOK_NAME
    write_pack_workbook(path, runs, lang)
    err(f"已写入 / written: {path}")
    if format in (RunFormat.json, RunFormat.csv):
        for r in runs:
            f = out / f"{r.spec.id}.{format.value}"
            if format is RunFormat.json:
                f.write_text(to_json(r.rows) + "\n", encoding="utf-8")
            else:
                f.write_text(to_csv(r.column_names, r.rows, _headers(r, lang), note=_export_note(r)), encoding="utf-8")
        err(f"每个查询另存一个 {format.value} 文件 / one {format.value} file per query in {out}")


def write_pack_workbook(path: Path, runs: list[runner.QueryRun], lang: Lang = Lang.zh) -> None:
    """One workbook: a summary sheet, then one sheet per query (named by its id)."""
    personal = any(r.include_personal and r.spec.personal_columns for r in runs)
    note = ("sitegraph 查询包运行结果；" + ("含个人信息，请妥善保管 / includes personal data" if personal
                                          else "未包含个人信息 / no personal data"))
    summary = [{"id": r.spec.id, "title": _title(r.spec, lang), "severity": r.spec.severity,
                "category": r.spec.category, "rows": len(r.rows), "params": _params_text(r.params),
                "basis": "；".join(r.spec.legal_basis)} for r in runs]
    sheets = [("汇总", ["id", "title", "severity", "category", "rows", "params", "basis"],
               ["编号", "名称", "严重程度", "类别", "行数", "参数", "依据"], summary, note)]
    for r in runs:
        sheets.append((r.spec.id, r.column_names, _headers(r, lang), r.rows, _export_note(r)))
    write_xlsx_sheets(path, sheets)
