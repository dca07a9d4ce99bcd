"""`sitegraph merge KEEP OTHER…` and `sitegraph merge --decisions FILE.xlsx` (docs/parties.md).

The user's decision that records name one party, applied like a merge row of a ledger
(graphmodel/parties.py): relationships moved, the other records' values kept in history,
their keys kept as aliases, recorded as a load of its own. The decisions workbook is the one
`sitegraph dedupe --format xlsx` writes: 甲方编码, 乙方编码, 是否同一主体 (是/否).
"""
from __future__ import annotations

import datetime as dt
import enum
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from graphmodel.errors import SitegraphError
from graphmodel.parties import is_provisional, merge_groups, resolve_key

from .common import DbOpt, Lang, LangOpt, Neo4jOpt, backend, err, t
from .render import print_table

A, B, DECISION = "甲方编码", "乙方编码", "是否同一主体"  # the headers of `dedupe --format xlsx`


class MergeFormat(str, enum.Enum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("merge", short_help="把同一主体的几条记录合并为一条 / merge records of one party")(merge)


def merge(
    keys: Annotated[Optional[list[str]], typer.Argument(
        help="保留的主体编码，然后是要并入的主体编码（统一社会信用代码或临时编码）/ the party kept, then those merged into it",
        metavar="KEEP OTHER…", show_default=False)] = None,
    decisions: Annotated[Optional[Path], typer.Option(
        "--decisions", metavar="FILE.xlsx",
        help="sitegraph dedupe --format xlsx 写出并填好“是否同一主体”的决定表 / the filled-in dedupe decisions workbook")] = None,
    date: Annotated[Optional[str], typer.Option(
        "--date", metavar="YYYY-MM-DD", help="合并的调查日期（默认今天）/ survey date of the merge (default today)")] = None,
    format: Annotated[MergeFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = MergeFormat.table,
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    lang: LangOpt = Lang.zh,
) -> None:
    """合并：KEEP 保留，OTHER 的关系全部移到 KEEP，其编码作为别名保留，原值留在历史中；两个不同代码的已登记主体不能合并。
    / merge OTHER… into KEEP: relationships moved, codes kept as aliases, values kept in history."""
    if bool(keys) == bool(decisions):
        raise typer.BadParameter(t("请给出 KEEP OTHER…，或 --decisions 文件（二者选一）",
                                   "give KEEP OTHER…, or --decisions FILE (one of the two)"), param_hint="KEEP OTHER…")
    if keys is not None and len(keys) < 2:
        raise typer.BadParameter(t("至少给出两个编码：保留的一方和要并入的一方", "give at least two keys: the kept one and one to merge"),
                                 param_hint="KEEP OTHER…")
    day = _date(date)
    rows = _read_decisions(decisions) if decisions else None
    with backend(db, neo4j, write=True) as b:
        if rows is None:
            resolved = [_resolve(b, k, t(f"参数“{k}”", f"argument '{k}'")) for k in keys]
            groups = [(resolved[0], resolved[1:])]
        else:
            groups = _groups(b, rows, decisions)
        if not groups:
            err(t("决定表中没有填“是”的行：未合并任何主体", "no row of the decisions file says 是: nothing merged"))
            done = []
        else:
            done = merge_groups(b, groups, day=day)
    if format is MergeFormat.json:
        print(json.dumps([{k: v for k, v in d.items() if k != "rewritten"} | {"rewritten": d["rewritten"]}
                          for d in done], ensure_ascii=False, indent=2))
        return
    if done:
        print_table(["keep", "merged", "rewritten"],
                    [{"keep": d["keep"], "merged": "、".join(d["merged"]),
                      "rewritten": sum(d["rewritten"].values())} for d in done],
                    ["保留", "并入", "改指向的记录数"] if lang is not Lang.en else ["kept", "merged", "records re-pointed"],
                    keys=("keep", "merged"))
        err(t(f"已合并 {sum(len(d['merged']) for d in done)} 个主体（调查日期 {day}）；原值保存在历史中",
              f"merged {sum(len(d['merged']) for d in done)} parties (survey date {day}); their values are kept in history"))


def _date(text: str | None) -> dt.date:
    from graphmodel.history import survey_date_problem
    from loaders.values import ValueProblem, parse_date

    if text is None:
        return dt.date.today()
    try:
        day = parse_date(text)
    except ValueProblem:
        raise SitegraphError(t(f"--date：不是有效日期“{text}”", f"--date: not a date: '{text}'")) from None
    problem = survey_date_problem(day, dt.date.today())
    if problem:
        raise SitegraphError(t(f"--date：{problem[0]}", f"--date: {problem[1]}"))
    return day


def _resolve(b, key: str, where: str) -> str:
    k = resolve_key(b, key.strip())
    if k is None:
        raise SitegraphError(t(f"{where}：图谱中没有编码为“{key}”的主体（统一社会信用代码、临时编码或别名）；未合并任何主体",
                               f"{where}: no party '{key}' in the graph (USCC, 临时编码 or alias); nothing merged"))
    return k


def _read_decisions(path: Path) -> list[tuple[int, str, str, bool, str]]:
    """(row, 甲方编码, 乙方编码, 是?, sheet) of every decided row of the decisions sheet."""
    from openpyxl import load_workbook

    from loaders.values import ValueProblem, is_blank, parse_bool

    if not path.is_file():
        raise SitegraphError(t(f"找不到决定表文件：{path}", f"no such decisions file: {path}"))
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # not an xlsx
        raise SitegraphError(t(f"无法打开决定表 {path.name}：{e}", f"cannot open the decisions file {path.name}: {e}")) from None
    try:
        for ws in wb.worksheets:
            it = ws.iter_rows(values_only=True)
            header = [str(c).strip() if c is not None else "" for c in next(it, ())]
            if all(h in header for h in (A, B, DECISION)):
                break
        else:
            raise SitegraphError(t(f"{path.name}：没有含“{A}”“{B}”“{DECISION}”列的工作表（请用 sitegraph dedupe --format xlsx 写出的决定表）",
                                   f"{path.name}: no sheet has the columns {A}, {B} and {DECISION} "
                                   f"(use the workbook of sitegraph dedupe --format xlsx)"))
        ia, ib, idc = header.index(A), header.index(B), header.index(DECISION)
        out = []
        for rowno, cells in enumerate(it, start=2):
            cells = list(cells) + [None] * (len(header) - len(cells))
            v = cells[idc]
            if is_blank(v):
                continue
            try:
                same = parse_bool(v)
            except ValueProblem:
                raise SitegraphError(t(f"{path.name} › {ws.title} 第 {rowno} 行，{DECISION}“{v}”：请填 是 或 否；未合并任何主体",
                                       f"{path.name} › {ws.title} row {rowno}, {DECISION} '{v}': write 是 or 否; "
                                       f"nothing merged")) from None
            a, bb = (str(cells[i]).strip() if not is_blank(cells[i]) else "" for i in (ia, ib))
            for col, val in ((A, a), (B, bb)):
                if same and not val:
                    raise SitegraphError(t(f"{path.name} › {ws.title} 第 {rowno} 行，{col} 为空；未合并任何主体",
                                           f"{path.name} › {ws.title} row {rowno}, {col} is blank; nothing merged"))
            out.append((rowno, a, bb, same, ws.title))
        return out
    finally:
        wb.close()


def _groups(b, rows, path: Path) -> list[tuple[str, list[str]]]:
    """The 是 rows as disjoint groups (a party in two pairs joins them), each keeping its
    registered party (or the first 甲方 when all are provisional). Every key is checked first."""
    parent: dict[str, str] = {}
    first: dict[str, int] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for rowno, a, bb, same, sheet in rows:
        if not same:
            continue
        ka = _resolve(b, a, t(f"{path.name} › {sheet} 第 {rowno} 行，{A}", f"{path.name} › {sheet} row {rowno}, {A}"))
        kb = _resolve(b, bb, t(f"{path.name} › {sheet} 第 {rowno} 行，{B}", f"{path.name} › {sheet} row {rowno}, {B}"))
        first.setdefault(ka, len(first))
        first.setdefault(kb, len(first))
        ra, rb = find(ka), find(kb)
        if ra != rb:
            parent[rb] = ra
    members: dict[str, list[str]] = {}
    for k in sorted(first, key=first.get):
        members.setdefault(find(k), []).append(k)
    provisional = {r["k"]: is_provisional(r) for r in b.read(
        "MATCH (e:Enterprise) WHERE e.uscc IN $ks RETURN e.uscc AS k, e.uscc AS uscc, e.provisional_id AS provisional_id",
        {"ks": list(first)}, timeout=None).rows}
    groups = []
    for ms in members.values():
        if len(ms) < 2:
            continue
        registered = [m for m in ms if not provisional.get(m, False)]
        keep = registered[0] if registered else ms[0]
        groups.append((keep, [m for m in ms if m != keep]))
    return groups
