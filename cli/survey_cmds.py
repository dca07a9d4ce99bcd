"""`sitegraph validate`, `load`, `template` and `generate`: survey ledgers in and out."""
from __future__ import annotations

import enum
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from graphmodel.backends import default_db_path
from graphmodel.errors import SitegraphError
from graphmodel.schema import NODES

from .common import (DbOpt, Lang, LangOpt, Neo4jOpt, TableFormat, backend, check_writable, err, fail, make_parents,
                     t, writing)
from .map_cmds import MappingOpt, read_mapping
from .render import to_csv, write_csv


def register(app: typer.Typer) -> None:
    app.command("validate", short_help="检查台账，不写入数据 / check a survey, write nothing")(validate)
    app.command("load", short_help="检查并导入台账（全部或一条不写）/ check and load a survey")(load)
    app.command("loads", short_help="列出历次导入 / list the loads")(loads)
    app.command("template", short_help="生成空白台账模板 / write empty ledgers")(template)
    app.command("generate", short_help="生成合成排查台账 / write a synthetic survey")(generate)


class LedgerFormat(str, enum.Enum):
    xlsx = "xlsx"
    csv = "csv"


PathArg = Annotated[Path, typer.Argument(help="台账：.xlsx 工作簿，或 CSV 文件夹 / a workbook or a folder of CSV files")]
ReportOpt = Annotated[
    Optional[Path],
    typer.Option("--report", help="把问题清单写入 .xlsx 或 .csv，交给排查组修改 / write the problem list for the team",
                 metavar="FILE"),
]
StrictOpt = Annotated[
    bool,
    typer.Option("--strict", help="台账中有数据但未导入的列或表一律视为错误 / a column or sheet that holds data "
                                  "and is not imported is an error"),
]
SourceOpt = Annotated[
    Optional[str],
    typer.Option("--source", help="来源台账名称（默认：工作簿或文件夹名）/ survey name (default: file or folder name)"),
]


# --- output helpers -----------------------------------------------------------------------

def _console(stderr: bool):
    from .render import console_for

    return console_for(sys.stderr if stderr else sys.stdout)  # $COLUMNS honoured; 200 off a terminal


def _problem_table(problems, lang: str, *, stderr: bool, title: str | None = None) -> None:
    from loaders.messages import REPORT_COLUMNS, report_rows

    from .render import print_table

    en = lang == "en"
    cols = REPORT_COLUMNS[:-1]
    # Where a problem is never wraps; the value and the reason wrap in full (they are what to fix).
    print_table([k for k, _, _ in cols], report_rows(problems, lang), [e if en else z for _, z, e in cols], title,
                file=sys.stderr if stderr else sys.stdout, keys=("severity", "file", "sheet", "row", "column"),
                wide=True, styles=["red" if p.is_error else "yellow" for p in problems])


def _write_report(path: Path, problems, lang: str, ledger: Path | None = None) -> None:
    """The problem list for the survey team: a workbook (问题清单 + 说明) or a CSV with a
    sidecar X.csv.meta.json; written atomically."""
    import datetime as dt
    from importlib.metadata import version

    from loaders.excel import Book, Col
    from loaders.messages import REPORT_COLUMNS, report_rows

    en = lang == "en"
    cols = [k for k, _, _ in REPORT_COLUMNS]
    headers = [e if en else z for _, z, e in REPORT_COLUMNS]
    rows = report_rows(problems, lang)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise typer.BadParameter("报告文件须为 .xlsx 或 .csv / the report must be .xlsx or .csv", param_hint="--report")
    make_parents(path)
    n_err = sum(1 for p in problems if p.is_error)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if suffix == ".xlsx":
        from openpyxl.styles import PatternFill

        book = Book(lang=lang)
        ws = book.add_table("problems" if en else "问题清单", [Col(k, h) for k, h in zip(cols, headers)], rows,
                            print_title=(f"{ledger.name} — " if ledger else "") + ("problems" if en else "问题清单"))
        fills = {True: PatternFill("solid", fgColor="F8CBAD"), False: PatternFill("solid", fgColor="FFF2CC")}
        for i, p in enumerate(problems, 2):
            ws.cell(row=i, column=1).fill = fills[p.is_error]
        items = [("台账 / ledger", str(ledger) if ledger else ""),
                 ("检查时间 / checked at (UTC)", now),
                 ("错误 / errors", n_err), ("警告 / warnings", len(problems) - n_err),
                 ("怎样修改 / how to fix", "按“文件、工作表、行号、列”找到单元格，按“问题说明”修改后重新检查：sitegraph validate 台账"
                  if not en else "find each cell by file, sheet, row and column, fix it, then run sitegraph validate again"),
                 ("生成 / generator", f"sitegraph {version('sitegraph')}")]
        book.write_notes(book.sheet("notes" if en else "说明"), items, ("item", "text") if en else ("项目", "内容"))
        book.save(path)
    else:
        write_csv(path, to_csv(cols, rows, headers),
                  {"generator": f"sitegraph {version('sitegraph')}", "format": "CSV, UTF-8 with BOM, header on line 1",
                   "ledger": str(ledger) if ledger else None, "checked_at": now,
                   "errors": n_err, "warnings": len(problems) - n_err})
    err(t(f"问题清单已写入 / problem list written: {path}", f"problem list written: {path}"))


def _summary(checked, lang: str) -> str:
    n, w = len(checked.errors), len(checked.warnings)
    sheets = len(checked.sheets)
    if lang == "en":
        line = f"{checked.rows} rows in {sheets} sheet(s): {n} error(s), {w} warning(s)"
    else:
        line = f"共 {sheets} 张表 {checked.rows} 行：{n} 个错误，{w} 个警告"
    return line + _not_imported(checked, lang)


def _not_imported(checked, lang: str) -> str:
    """What of the ledger was not imported (表/列未导入), with its non-blank cells: never silent."""
    items = []
    for p in checked.not_imported:
        cells = p.params.get("cells", 0)
        if p.code == "SHEET_UNKNOWN":
            items.append(f"sheet {p.sheet} ({cells} cell(s))" if lang == "en" else f"表“{p.sheet}”（{cells} 个单元格）")
        else:
            col = p.params["col"] if p.code == "COLUMN_UNNAMED" else p.value
            items.append(f"{p.sheet} column {col} ({cells} cell(s))" if lang == "en"
                         else f"“{p.sheet}”表的“{col}”列（{cells} 个单元格）")
    if not items:
        return ""
    strict = any(p.strict for p in checked.not_imported)
    if lang == "en":
        return "\nnot imported: " + "; ".join(items) + (" (errors with --strict)" if strict else
                                                        " (--strict makes each an error)")
    return "\n未导入：" + "；".join(items) + ("（--strict：均为错误）" if strict else "（加 --strict 时均为错误）")


@contextmanager
def _progress() -> Iterator[tuple]:
    """(read progress, write progress) callbacks drawing a rich progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr)
    prog = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)
    tasks: dict[str, int] = {}

    def update(name: str, done: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = prog.add_task(name, total=total)
        prog.update(tasks[name], completed=done, total=total if total is not None else None)

    def on_read(name: str, done: int, total: int | None) -> None:
        update(f"读取 / reading {name}", done, total)

    def on_write(label: str, done: int, total: int) -> None:
        update(f"写入 / writing {NODES[label].sheet}", done, total)

    with prog:
        yield on_read, on_write


def _check_report(report: Path | None) -> None:
    """--report: its kind and its folder, before the survey is read."""
    if report is None:
        return
    if report.suffix.lower() not in (".xlsx", ".csv"):
        raise typer.BadParameter("报告文件须为 .xlsx 或 .csv / the report must be .xlsx or .csv", param_hint="--report")
    check_writable(report, what=("问题清单", "problem list"))


def _graph_for_check(db: str | None, neo4j: str | None):
    """The graph references are checked against: the one named, else the default store if any.
    A --db that does not exist yet (the first load will create it) has nothing to check against."""
    if db and not neo4j and not Path(db).exists():
        err(t(f"数据库 {db} 尚不存在：引用只在本台账内核对（导入时会新建）",
              f"{db} does not exist yet: references are checked within the survey only (load creates it)"))
        return False
    if neo4j or db:
        return backend(db, neo4j)
    if Path(default_db_path()).exists():
        return backend(default_db_path(), None)
    return None


# --- commands -----------------------------------------------------------------------------

def validate(
    path: PathArg,
    lang: LangOpt = Lang.zh,
    report: ReportOpt = None,
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    source: SourceOpt = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="table 或 json")] = TableFormat.table,
    strict: StrictOpt = False,
    mapping: MappingOpt = None,
) -> None:
    """检查台账，列出每个问题（文件、工作表、行、列、填写内容、原因），不写入数据 /
    check a survey and list every problem; writes nothing. Exit 1 when there is an error."""
    from loaders.survey import check

    lg = lang.value
    _check_report(report)
    mp = read_mapping(mapping)  # a bad mapping file stops here, before anything is read
    ctx = _graph_for_check(db, neo4j)
    with _progress() as (on_read, _):
        if not ctx:
            if ctx is None:
                err("未连接图谱：引用只在本台账内核对 / no graph: references are checked within the survey only")
            checked = check(path, None, source=source, progress=on_read, strict=strict, mapping=mp)
        else:
            with ctx as b:
                checked = check(path, b, source=source, progress=on_read, strict=strict, mapping=mp)
                err(t(f"引用已对照图谱核对 / references checked against {b.kind} {b.location}",
                      f"references checked against {b.kind} {b.location}"))
    _show(checked, lg, format, stderr=False)
    if report:
        with writing(report, ("问题清单", "problem list")):
            _write_report(report, checked.problems, lg, ledger=path)
    err(_summary(checked, lg))
    if not checked.ok:
        raise SitegraphError(
            f"台账有 {len(checked.errors)} 个错误，须修改后才能导入 / {len(checked.errors)} error(s) to fix before loading"
        )


def _show(checked, lang: str, format: TableFormat, *, stderr: bool) -> None:
    if format is TableFormat.json:
        out = sys.stderr if stderr else sys.stdout
        print(json.dumps([p.as_dict(lang) for p in checked.problems], ensure_ascii=False, indent=2), file=out)
    elif checked.problems:
        title = "问题清单" if lang != "en" else "problems"
        _problem_table(checked.problems, lang, stderr=stderr, title=title)


def load(
    path: PathArg,
    source: SourceOpt = None,
    prune: Annotated[bool, typer.Option(
        "--prune", help="删除同一来源中本次台账已没有的记录 / remove records of this source the survey no longer has")] = False,
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    lang: LangOpt = Lang.zh,
    report: ReportOpt = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="table 或 json")] = TableFormat.table,
    date: Annotated[Optional[str], typer.Option(
        "--date", help="台账的调查日期 YYYY-MM-DD（默认今天）/ survey date the ledger describes (default: today)",
        metavar="YYYY-MM-DD")] = None,
    strict: StrictOpt = False,
    mapping: MappingOpt = None,
) -> None:
    """先检查、再导入台账（一个事务：要么全部导入，要么不写入）；有错误时不写入任何数据 /
    check, then load a survey in one transaction; on any error nothing is written."""
    from loaders.survey import SurveyInvalid, ensure_schema
    from loaders.survey import load as load_survey

    lg = lang.value
    survey_date = _survey_date(date)  # before anything is opened or created
    _check_report(report)  # the database folder is checked when it is opened, before the survey is read
    mp = read_mapping(mapping)  # a bad mapping file stops here: nothing is opened or created
    with backend(db, neo4j, write=True, create=True) as b:
        ensure_schema(b)
        try:
            with _progress() as (on_read, on_write):
                outcome = load_survey(path, b, source=source, prune=prune, progress=on_read, write_progress=on_write,
                                      survey_date=survey_date, strict=strict, mapping=mp)
        except SurveyInvalid as e:
            # json: the problem list is the requested output (stdout); a table is a message (stderr)
            _show(e.checked, lg, format, stderr=format is not TableFormat.json)
            if report:
                with writing(report, ("问题清单", "problem list")):
                    _write_report(report, e.checked.problems, lg, ledger=path)
            err(_summary(e.checked, lg))
            raise
    checked, rep = outcome.checked, outcome.report
    if checked.warnings:
        _problem_table(checked.warnings, lg, stderr=True, title="警告（已导入）" if lg != "en" else "warnings (loaded)")
    if report:
        with writing(report, ("问题清单", "problem list")):
            _write_report(report, checked.problems, lg, ledger=path)
    rows = []
    for s in checked.sheets:
        r = rep.labels.get(s.label)
        rows.append({"label": s.label, "sheet": NODES[s.label].sheet, "file": s.file, "rows": s.rows,
                     "created": r.created, "updated": r.updated, "moved": r.moved, "unchanged": r.unchanged,
                     "pruned": r.pruned})
    if format is TableFormat.json:
        print(json.dumps({**rep.as_dict(), "sheets": rows, "warnings": len(checked.warnings),
                          "not_imported": [p.as_dict(lg) | {"cells": p.params.get("cells")}
                                           for p in checked.not_imported]},
                         ensure_ascii=False, indent=2))
    else:
        from rich.table import Table

        en = lg == "en"
        heads = (("sheet", "工作表", "sheet"), ("file", "文件", "file"), ("rows", "行数", "rows"),
                 ("created", "新增", "created"), ("updated", "更新", "updated"),
                 ("moved", "位置变化", "moved"),  # same values, another file/sheet/row: provenance only
                 ("unchanged", "未变", "unchanged"), ("pruned", "删除", "pruned"))
        from rich.markup import escape

        table = Table(title=("导入结果 " if not en else "loaded ") + escape(rep.source)
                      + (f"（调查日期 {rep.survey_date}）" if not en else f" (survey date {rep.survey_date})"),
                      header_style="bold")
        for k, zh, e in heads:
            table.add_column(e if en else zh, justify="right" if k not in ("sheet", "file") else "left")
        for r in rows:
            table.add_row(*[str(r[k]) for k, _, _ in heads])
        _console(False).print(table)
    tot = {k: sum(r[k] for r in rows) for k in ("created", "updated", "moved", "unchanged", "pruned")}
    late = sum(r.late for r in rep.labels.values())
    readded = sum(r.readded for r in rep.labels.values())
    if lg == "en":
        extra = (f", {late} late (history only)" if late else "") + (f", {readded} re-added" if readded else "")
        err(f"loaded '{rep.source}' into {b.kind} {b.location}: {tot['created']} created, {tot['updated']} updated, "
            f"{tot['moved']} moved (provenance only), {tot['unchanged']} unchanged, {tot['pruned']} pruned{extra}; "
            f"{len(checked.warnings)} warnings (load {rep.load_id} #{rep.load_seq}, survey date {rep.survey_date})")
    else:
        extra = (f"，补录 {late}（只进历史）" if late else "") + (f"，恢复 {readded}" if readded else "")
        err(f"已导入“{rep.source}”到 {b.kind} {b.location}：新增 {tot['created']}，更新 {tot['updated']}，"
            f"位置变化 {tot['moved']}，未变 {tot['unchanged']}，删除 {tot['pruned']}{extra}；"
            f"{len(checked.warnings)} 个警告（导入批次 {rep.load_id} #{rep.load_seq}，调查日期 {rep.survey_date}）")
    if _not_imported(checked, lg):
        err(_not_imported(checked, lg).lstrip("\n"))


def _survey_date(raw: str | None):
    """`load --date`: parsed like a survey date cell; future, unparsable or before 2000 → exit 1."""
    import datetime as dt

    from graphmodel.history import survey_date_problem
    from loaders.values import ValueProblem, parse_date

    today = dt.date.today()
    if raw is None:
        return today
    try:
        day = parse_date(raw.strip())
    except (ValueProblem, ValueError, OverflowError):
        fail(t(f"--date 的值 {raw!r} 不是日期，请写成 YYYY-MM-DD（例如 {today}）",
               f"--date {raw!r} is not a date: write YYYY-MM-DD (e.g. {today})"))
    problem = survey_date_problem(day, today)
    if problem:
        fail(t(f"--date：{problem[0]}", f"--date: {problem[1]}"))
    return day


def loads(
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    lang: LangOpt = Lang.zh,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="table 或 json")] = TableFormat.table,
) -> None:
    """列出历次导入：编号、来源、调查日期、导入时间、文件、新增/更新/位置变化/未变/退出 /
    list the loads: id, source, survey date, load time, files, created/updated/moved/unchanged/retired."""
    from graphmodel.schema import SCHEMA_VERSION
    from graphmodel.writer import list_loads

    keys = ("created", "updated", "moved", "unchanged", "pruned", "late", "readded")
    with backend(db, neo4j) as b:
        v = b.schema_version()
        if v is None or v < SCHEMA_VERSION:
            fail(t("数据库尚无导入记录表：请先运行 sitegraph load 或 sitegraph init 升级数据库",
                   "the store has no load records yet: run sitegraph init (or load) to upgrade it"))
        rows = list_loads(b)
    out = []
    for r in rows:
        tot = {k: sum(int(c.get(k, 0)) for c in r["counts"].values()) for k in keys}
        out.append({"seq": r["load_seq"], "load_id": r["load_id"], "source": r["source"],
                    "survey_date": r["survey_date"].isoformat() if r["survey_date"] else None,
                    "loaded_at": r["loaded_at"], "files": r["files"] or [], "prune": bool(r["prune"]),
                    "late": bool(r["late"]), **{("retired" if k == "pruned" else k): v for k, v in tot.items()},
                    "labels": r["counts"]})
    if format is TableFormat.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    from .render import print_table

    en = lang.value == "en"
    cols = ("seq", "load_id", "source", "survey_date", "loaded_at", "files", "counts")
    heads = (("#", "load id", "source", "survey date", "loaded at", "files", "created/updated/moved/unchanged/retired")
             if en else ("序号", "导入批次", "来源", "调查日期", "导入时间", "文件", "新增/更新/位置变化/未变/退出"))
    shown = []
    for r in out:
        counts = f"{r['created']}/{r['updated']}/{r['moved']}/{r['unchanged']}/{r['retired']}"
        if r["late"]:
            counts += f" {'late' if en else '补录'} {r['late']}"
        if r["readded"]:
            counts += f" {'re-added' if en else '恢复'} {r['readded']}"
        at = (r["loaded_at"] or "")[:16].replace("T", " ")  # to the minute; the JSON keeps the full time
        shown.append({"seq": r["seq"], "load_id": r["load_id"], "source": r["source"],
                      "survey_date": r["survey_date"] or "", "loaded_at": at, "files": "、".join(r["files"]),
                      "counts": counts})
    # ids, the source, dates and counts never wrap; file names are cut with "…" when the terminal is narrow
    print_table(cols, shown, heads, title=("导入记录（导入时间为 UTC）" if not en else "loads (load time in UTC)"),
                keys=("seq", "load_id", "source", "survey_date", "loaded_at", "counts"))
    if not out:
        err(t("还没有导入记录", "no loads yet"))


def template(
    out: Annotated[Path, typer.Argument(help="输出：.xlsx 文件，或 CSV 文件夹 / an .xlsx file, or a folder for CSV")],
    format: Annotated[LedgerFormat, typer.Option("--format", "-f")] = LedgerFormat.xlsx,
    english_headers: Annotated[bool, typer.Option("--english-headers", help="用英文列名 / English keys as headers")] = False,
    lang: LangOpt = Lang.zh,
    mapping: MappingOpt = None,
) -> None:
    """生成空白台账模板：表头、每列批注（类型、可选值、是否必填）、下拉选项 /
    write empty ledgers with headers, a note per column and drop-downs."""
    from loaders.template import write_template

    mp = read_mapping(mapping)  # the office's own sheet names and headers
    if format is LedgerFormat.xlsx and out.suffix.lower() != ".xlsx":
        if out.suffix:
            raise typer.BadParameter("xlsx 模板的文件名须以 .xlsx 结尾 / the file must end in .xlsx", param_hint="OUT")
        out = out.with_suffix(".xlsx")
    if format is LedgerFormat.xlsx:
        check_writable(out, what=("模板", "template"))
        make_parents(out)
    elif out.exists() and not out.is_dir():
        raise typer.BadParameter("CSV 模板须输出到文件夹 / CSV templates go into a folder", param_hint="OUT")
    else:
        check_writable(out, folder=True, what=("模板文件夹", "template folder"))
    files = write_template(out, format.value, english_headers=english_headers, mapping=mp)
    for f in files:
        err(t(f"已写入 / written: {f}", f"written: {f}"))


def generate(
    out: Annotated[Path, typer.Argument(help="输出文件夹 / output folder")],
    enterprises: Annotated[int, typer.Option("--enterprises", "-n", min=1, help="企业数 / number of enterprises")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="随机种子 / random seed")] = 1,
    format: Annotated[LedgerFormat, typer.Option("--format", "-f")] = LedgerFormat.xlsx,
    lang: LangOpt = Lang.zh,
    rounds: Annotated[Optional[int], typer.Option(
        "--rounds", min=2, help="生成一个乡镇的多轮台账（按月，含补录和 --prune 的一轮），每轮有标准答案 / "
        "several dated rounds of one township, each with its ground truth")] = None,
    change: Annotated[float, typer.Option(
        "--change", min=0.0, max=1.0, help="每轮变化的记录比例（与 --rounds）/ share of records each round changes")] = 0.1,
    duplicates: Annotated[float, typer.Option(
        "--duplicates", min=0.0, max=0.5, help="重复登记的主体所占比例（如 0.03，标准答案列出每一对，供 sitegraph dedupe 检验）/ "
        "share of parties written twice under a variant name (the pairs are in the truth)")] = 0.0,
    provisional: Annotated[float, typer.Option(
        "--provisional", min=0.0, max=0.5, help="无统一社会信用代码（临时编码）主体所占比例；另在 OUT/取得代码/ 写出其中一半取得代码后的台账 / "
        "share of parties without a USCC; OUT/取得代码/ then holds the later ledger giving half of them a code")] = 0.0,
) -> None:
    """生成合成排查台账（含标准答案 ground_truth.json），用于演示和测试 /
    write a synthetic survey (with ground_truth.json) for demos and tests."""
    try:
        from loaders import generate as gen
    except ModuleNotFoundError as e:
        if e.name != "loaders.generate":
            raise
        raise SitegraphError("合成台账生成器尚未安装（loaders/generate.py）/ the survey generator is not available") from e
    if out.exists() and not out.is_dir():
        raise typer.BadParameter("OUT 须为文件夹 / OUT must be a folder", param_hint="OUT")
    check_writable(out, folder=True)
    if rounds is not None:  # campaign history: OUT/round-1 … round-N, a late round, rounds.json
        from loaders.rounds import generate_rounds, write_rounds

        make_parents(out, folder=True)
        for f in write_rounds(out, generate_rounds(enterprises, seed, rounds, change), seed, format=format.value):
            err(t(f"已写入 / written: {f}", f"written: {f}"))
        err(f"已生成 {rounds} 轮台账，导入顺序见 {out / 'rounds.json'} / {rounds} rounds; load order in rounds.json")
        return
    survey = gen.generate(enterprises, seed, duplicates=duplicates, provisional=provisional)
    make_parents(out, folder=True)
    written = gen.write_survey_files(survey, out, format=format.value)
    if provisional > 0:  # docs/parties.md: the same survey after some provisional parties got a code
        from loaders.generate_parties import later_ledger

        written = list(written or []) + gen.write_survey_files(later_ledger(survey), out / "取得代码", format=format.value)
    for f in written or []:
        err(t(f"已写入 / written: {f}", f"written: {f}"))
    err(t(f"已生成 {enterprises} 家企业的合成台账：{out} / generated a survey of {enterprises} enterprises in {out}",
          f"generated a survey of {enterprises} enterprises in {out}"))
