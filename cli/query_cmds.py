"""`sitegraph query list | show | run`: the prepared query pack from the command line.

Thin commands over queries.runner: arguments in, one library call, rendering out.
stdout carries only the requested output (table, json, csv); messages go to stderr.
"""
from __future__ import annotations

import enum
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from graphmodel.errors import SitegraphError
from loaders.excel import label_value
from queries import runner
from queries.catalogue import CATEGORY_EN, SEVERITY_EN, QuerySpec

from .common import (DbOpt, Lang, LangOpt, Neo4jOpt, ParamOpt, TableFormat, WideOpt, backend, check_writable,
                     emit_text, empty_graph_note, err, make_parents, parse_kv, t, write_text_atomic, writing)
from .render import cell_text, console_for, print_table, to_csv, to_json, write_csv

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
    return console_for(file)  # the terminal's width ($COLUMNS honoured); 200 off a terminal


def _display(v) -> str:
    """A cell for people: floats without binary noise, the rest as in exports."""
    if isinstance(v, float) and not isinstance(v, bool):
        s = f"{v:.3f}".rstrip("0").rstrip(".")
        return s if s not in ("-0", "") else "0"
    return cell_text(v)


def _print_rows(columns: list[str], headers: list[str], rows: list[dict], title: str | None, *,
                keys=(), wide: bool = False) -> None:
    print_table(columns, rows, headers, title, keys=keys, wide=wide, display=_display)


def _personal_note(run: runner.QueryRun) -> str:
    if not run.spec.personal_columns:
        return "本查询不含个人信息 / no personal data in this query"
    if run.include_personal:
        return "含个人信息（--include-personal），请妥善保管 / includes personal data: handle with care"
    return ("未包含个人信息（用 --include-personal 输出）/ personal data left out "
            f"({', '.join(run.spec.personal_columns)})")


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={cell_text(v)}" for k, v in params.items()) or "无 / none"


# --- exports (csv sidecar, workbooks) ----------------------------------------------------

def _labels(run: runner.QueryRun, lang: Lang) -> dict[str, dict[str, str]]:
    """Value labels of the run's coded columns (Chinese output only; English keeps the codes)."""
    if lang is Lang.en:
        return {}
    return {c.name: dict(c.labels) for c in run.columns if c.labels}


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _csv_meta(run: runner.QueryRun, lang: Lang, where: str) -> dict:
    """What the CSV sidecar X.csv.meta.json records: the query, its parameters, store, time, personal data."""
    from importlib.metadata import version

    return {
        "generator": f"sitegraph {version('sitegraph')}",
        "format": "CSV, UTF-8 with BOM, header on line 1 / 第一行为表头",
        "query": run.spec.id, "title_zh": run.spec.title_zh, "title_en": run.spec.title_en,
        "severity": run.spec.severity, "category": run.spec.category,
        "params": dict(run.params), "backend": where or run.backend, "written_at": _now(),
        "rows": len(run.rows), "include_personal": run.include_personal, "personal_data": _personal_note(run),
        "columns": [{"name": c.name, "header": h, **({"labels": lb} if (lb := _labels(run, lang).get(c.name)) else {})}
                    for c, h in zip(run.columns, _headers(run, lang))],
        "values": ("编码值显示为中文（如 outsourcing → 外包），--format json 保留编码 / coded values are shown by their "
                   "Chinese labels; --format json keeps the codes") if lang is not Lang.en else "codes as they are",
    }


def _write_query_csv(path: Path, run: runner.QueryRun, lang: Lang, where: str) -> None:
    text = to_csv(run.column_names, run.rows, _headers(run, lang), _labels(run, lang))
    write_csv(path, text, _csv_meta(run, lang, where))


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
    wide: WideOpt = False,
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
    _print_rows(["id", "title", "severity", "category", "keys", "params"], headers, rows, None,
                keys=("id", "severity", "category"), wide=wide)
    err(f"共 {len(specs)} 个查询；sitegraph query show ID 查看详情 / {len(specs)} queries")


# --- show ----------------------------------------------------------------------------------

@query_app.command("show")
def show(
    qid: Annotated[str, typer.Argument(metavar="ID", help="查询编号 / query id")],
    format: Annotated[ShowFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = ShowFormat.text,
    lang: LangOpt = Lang.zh,
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
    wide: WideOpt = False,
    at: Annotated[Optional[str], typer.Option(
        "--at", metavar="YYYY-MM-DD",
        help="在该日期的状态上运行（as_of 默认取该日期）/ run on the state at this date (as_of defaults to it)")] = None,
) -> None:
    """运行一个预置查询（或 --all 运行全部）/ run a prepared query (or the whole pack with --all).

    参数写成 --param k=v，如 --param as_of=2025-01-31 --param cap=0.1。
    """
    params = _typed_params(param)
    day = _at_date(at)
    if all_:
        if qid:
            raise typer.BadParameter("ID 与 --all 只能二选一 / give an ID or --all, not both", param_hint="ID")
        if day and "as_of" not in params and any(p.name == "as_of" for s in runner.load_catalogue() for p in s.params):
            params["as_of"] = day.isoformat()
        _run_all(params, format, out, include_personal, db, neo4j, lang, wide=wide, day=day)
        return
    if not qid:
        raise typer.BadParameter("缺少查询编号（或用 --all）/ missing query id (or --all)", param_hint="ID")
    spec = runner.get(qid)  # unknown id: exit 1 with suggestions
    if day and "as_of" not in params and any(p.name == "as_of" for p in spec.params):
        params["as_of"] = day.isoformat()
    runner.resolve_params(spec, params)  # bad values fail before the database is opened
    fmt = _format_for(format, out)
    if out is not None or fmt is RunFormat.xlsx:  # before the query runs: can the file be written?
        check_writable(out or Path(f"{spec.id}.xlsx"))
    with backend(db, neo4j) as live, _state(live, day) as b:
        res = runner.run_query(b, spec, params, include_personal)
        where = f"{b.kind} {b.location}"
        if not res.rows:
            empty_graph_note(b)
    names = res.column_names
    headers = _headers(res, lang)
    if fmt is RunFormat.json:
        emit_text(to_json(res.rows), out)
    elif fmt is RunFormat.csv:
        if out is None:  # stdout: just the CSV
            emit_text(to_csv(names, res.rows, headers, _labels(res, lang)), None, newline=False)
        else:
            with writing(out):
                _write_query_csv(out, res, lang, where)
            err(t(f"已写入 / written: {out}（说明 / notes: {out.name}.meta.json）",
                  f"written: {out} (notes: {out.name}.meta.json)"))
    elif fmt is RunFormat.xlsx:
        path = out or Path(f"{spec.id}.xlsx")
        make_parents(path)
        with writing(path):
            write_pack_workbook(path, [res], lang, where=where)
        err(t(f"已写入 / written: {path}", f"written: {path}"))
    else:
        labels = _labels(res, lang)  # coded values by their Chinese labels, as in the exports
        shown = [{k: label_value(v, labels.get(k, {})) for k, v in r.items()} for r in res.rows] if labels else res.rows
        _print_rows(names, headers, shown, f"{spec.id}  {_title(res.spec, lang)}", keys=res.spec.key_columns,
                    wide=wide)
    hidden = f"；{_personal_note(res)}" if res.hidden_personal else ""
    hidden_en = f"; personal data left out ({', '.join(res.spec.personal_columns)})" if res.hidden_personal else ""
    err(t(f"{len(res.rows)} 行 / rows（{res.backend}，{res.elapsed_s:.2f} 秒，参数 {_params_text(res.params)}）{hidden}",
          f"{len(res.rows)} rows ({res.backend}, {res.elapsed_s:.2f} s, parameters "
          f"{_params_text(res.params).replace('无 / none', 'none')}){hidden_en}"))


def _format_for(format: RunFormat, out: Path | None) -> RunFormat:
    """--out with the default table format: the file's suffix decides."""
    if out is None or format is not RunFormat.table:
        return format
    suffix = out.suffix.lower().lstrip(".")
    if suffix in ("json", "csv", "xlsx"):
        return RunFormat(suffix)
    raise typer.BadParameter(
        f"无法从 {out.name} 判断格式，请加 --format json|csv|xlsx / give --format for {out.name}", param_hint="--out")


def _at_date(raw: str | None):
    """`--at`: a date written like a survey date cell; unparsable → exit 1."""
    if raw is None:
        return None
    from loaders.values import ValueProblem, parse_date

    try:
        return parse_date(raw.strip())
    except (ValueProblem, ValueError, OverflowError):
        raise SitegraphError(f"--at 的值 {raw!r} 不是日期，请写成 YYYY-MM-DD / "
                             f"--at {raw!r} is not a date: write YYYY-MM-DD") from None


@contextmanager
def _state(live, day):
    """The live store, or its state at `day` (graphmodel.states)."""
    if day is None:
        yield live
        return
    from graphmodel.states import state_at

    with state_at(live, day) as s:
        yield s


def _run_all(params: dict, format: RunFormat, out: Path | None, include_personal: bool,
             db: str | None, neo4j: str | None, lang: Lang, *, wide: bool = False, day=None) -> None:
    if out is not None and out.exists() and not out.is_dir():
        raise typer.BadParameter(f"--all 的 --out 须为文件夹：{out} / --out must be a folder with --all",
                                 param_hint="--out")
    if out is not None:  # before the pack runs
        check_writable(out, folder=True)

    def progress(spec, n, total):
        err(f"  {n:>2}/{total} {spec.id}")

    with backend(db, neo4j) as live, _state(live, day) as b:
        err(t(f"运行全部查询 / running the pack on {b.kind} {b.location}", f"running the pack on {b.kind} {b.location}"))
        runs = runner.run_all(b, params, include_personal, progress=progress)
        where = f"{b.kind} {b.location}"
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
        _print_rows(["id", title_key, "severity", "rows", "seconds"], headers, summary, t("查询包运行结果 / the pack", "the pack"),
                    keys=("id", "severity"), wide=wide)
    total = sum(s["rows"] for s in summary)
    err(f"{len(runs)} 个查询，共 {total} 行 / {len(runs)} queries, {total} rows")
    if out is None:
        return
    make_parents(out, folder=True)
    path = out / WORKBOOK_NAME
    with writing(path):
        write_pack_workbook(path, runs, lang, where=where)
    err(t(f"已写入 / written: {path}", f"written: {path}"))
    if format in (RunFormat.json, RunFormat.csv):
        for r in runs:
            f = out / f"{r.spec.id}.{format.value}"
            if format is RunFormat.json:
                with writing(f):
                    write_text_atomic(f, to_json(r.rows) + "\n")
            else:
                with writing(f):
                    _write_query_csv(f, r, lang, where)
        err(t(f"每个查询另存一个 {format.value} 文件 / one {format.value} file per query in {out}",
              f"one {format.value} file per query in {out}"))


SEVERITY_TAB = {"重大": "C00000", "较大": "ED7D31", "一般": "FFC000", "统计": "A5A5A5"}


def write_pack_workbook(path: Path, runs: list[runner.QueryRun], lang: Lang = Lang.zh, *, where: str = "") -> None:
    """Findings workbook: 汇总 (one row per query, linked to its sheet), 说明 (provenance and
    personal data), then one sheet per query named by its Chinese title (its id in English)."""
    from importlib.metadata import version

    from loaders.excel import Book, Col, Link

    en = lang is Lang.en
    book = Book(lang=lang.value)
    index = book.sheet("Summary" if en else "汇总")
    notes = book.sheet("Notes" if en else "说明")
    sheets = []
    for r in runs:
        cols = [Col(c.name, h, labels=_labels(r, lang).get(c.name, {})) for c, h in zip(r.columns, _headers(r, lang))]
        ws = book.add_table(r.spec.id if en else r.spec.title_zh, cols, r.rows,
                            print_title=f"{r.spec.id}  {_title(r.spec, lang)}", tab_color=SEVERITY_TAB[r.spec.severity])
        sheets.append(ws.title)
    summary = [{"id": Link(r.spec.id, t), "title": _title(r.spec, lang),
                "severity": SEVERITY_EN[r.spec.severity] if en else r.spec.severity,
                "category": CATEGORY_EN[r.spec.category] if en else r.spec.category,
                "rows": len(r.rows), "params": _params_text(r.params), "basis": "；".join(r.spec.legal_basis)}
               for r, t in zip(runs, sheets)]
    # The link sits on the short id: LibreOffice does not wrap a linked cell's text.
    heads = (["id", "title", "severity", "category", "rows", "parameters", "legal basis"] if en
             else ["编号", "名称", "严重程度", "类别", "行数", "参数", "依据"])
    keys = ["id", "title", "severity", "category", "rows", "params", "basis"]
    book.write_table(index, [Col(k, h) for k, h in zip(keys, heads)], summary,
                     print_title="sitegraph " + ("findings" if en else "查询结果汇总"))
    personal = [r for r in runs if r.spec.personal_columns]
    if any(r.include_personal for r in personal):
        pnote = "含个人信息（--include-personal），请妥善保管 / includes personal data: handle with care"
    elif personal:
        pnote = ("未包含个人信息（用 --include-personal 输出）/ personal data left out: "
                 + "；".join(f"{r.spec.id}（{', '.join(r.spec.personal_columns)}）" for r in personal))
    else:
        pnote = "不含个人信息 / no personal data"
    params = {k: v for r in runs for k, v in r.params.items()}
    items = [
        ("生成 / generator", f"sitegraph {version('sitegraph')}"),
        ("生成时间 / written at (UTC)", _now()),
        ("数据库 / store", where or (runs[0].backend if runs else "")),
        ("参数 / parameters", _params_text(params)),
        ("个人信息 / personal data", pnote),
        ("编码值 / coded values", "代码列显示中文（如 外包、租赁），JSON 输出保留编码 / codes shown by their labels; "
                                "JSON keeps the codes" if not en else "codes as they are"),
        ("查询说明 / about a query", "sitegraph query show 编号 / ID"),
    ]
    book.write_notes(notes, items, ("item", "text") if en else ("项目", "内容"))
    if len(runs) == 1:
        book.set_active(book.wb[sheets[0]])
    book.save(path)
