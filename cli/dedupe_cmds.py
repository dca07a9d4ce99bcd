"""`sitegraph dedupe`: parties that may be the same one written twice (queries/dedupe.py).

The xlsx is a decisions sheet: one row per pair with 甲方编码, 甲方名称, 乙方编码, 乙方名称, 得分,
依据 and a blank 是否同一主体 (是/否 drop-down); `sitegraph merge --decisions FILE` applies its 是 rows.
"""
from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from queries import dedupe as dd

from .common import (DbOpt, Lang, LangOpt, Neo4jOpt, WideOpt, backend, check_writable, emit_text, empty_graph_note, err,
                     make_parents, t, writing)
from .render import print_table

DEFAULT_XLSX = "疑似重复主体.xlsx"
SHEET = "疑似重复主体"
# The decisions sheet's headers: `sitegraph merge --decisions` reads 甲方编码, 乙方编码 and 是否同一主体.
HEADERS = ("甲方编码", "甲方名称", "乙方编码", "乙方名称", "得分", "依据", "是否同一主体")
DECISION = "是否同一主体"


class DedupeFormat(str, enum.Enum):
    table = "table"
    json = "json"
    xlsx = "xlsx"


def register(app: typer.Typer) -> None:
    app.command("dedupe", short_help="找出疑似重复登记的主体 / parties that may be the same one written twice")(dedupe)


def dedupe(
    county: Annotated[Optional[str], typer.Option("--county", help="只查此县区 / only this county", metavar="县区")] = None,
    format: Annotated[DedupeFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = DedupeFormat.table,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", metavar="PATH", help=f"写入文件（xlsx 默认 {DEFAULT_XLSX}）/ write to this file")] = None,
    min_score: Annotated[float, typer.Option(
        "--min-score", min=0.0, max=1.0,
        help=f"只列得分不低于此值的（默认 {dd.DEFAULT_MIN_SCORE}）/ only pairs scoring at least this")] = dd.DEFAULT_MIN_SCORE,
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    lang: LangOpt = Lang.zh,
    wide: WideOpt = False,
) -> None:
    """找出可能是同一主体的两条企业记录：名称规范化后相同、同乡镇或同地址的相似名称、临时编码主体与已登记主体同名；
    每对给出得分和依据 / candidate pairs of parties that may be the same, each with a score and its evidence.

    --format xlsx 写出决定表（是否同一主体 填 是/否），可用 sitegraph merge --decisions 文件 合并。
    """
    fmt = _format_for(format, out)
    path = out if out is not None else (Path(DEFAULT_XLSX) if fmt is DedupeFormat.xlsx else None)
    if path is not None:  # before any work: can the file be written?
        check_writable(path)
    en = lang is Lang.en
    with backend(db, neo4j) as b:
        pairs, n = dd.dedupe(b, county, min_score, "en" if en else "zh")
        where = f"{b.kind} {b.location}"
        if n == 0:
            empty_graph_note(b)
    rows = [_row(p, en) for p in pairs]
    if fmt is DedupeFormat.json:
        text = json.dumps(rows, ensure_ascii=False, indent=2)
        emit_text(text, path)
    elif fmt is DedupeFormat.xlsx:
        make_parents(path)
        with writing(path):
            write_decisions(path, pairs, en, where=where, county=county, min_score=min_score, parties=n)
        err(t(f"已写入 {path}：在“{DECISION}”列填 是 或 否，再运行 sitegraph merge --decisions {path}",
              f"written: {path}: fill {DECISION} with 是 (same) or 否 (not), then run sitegraph merge --decisions {path}"))
    elif rows:  # none: the summary line below says so
        cols = ["score", "a_key", "a_name", "b_key", "b_name", "evidence"]
        heads = (["score", "kept (A) key", "A name", "B key", "B name", "evidence"] if en
                 else ["得分", "甲方编码", "甲方名称", "乙方编码", "乙方名称", "依据"])
        shown = [{**r, "score": f"{r['score']:.2f}", "evidence": "; ".join(r["evidence"]) if en
                  else "；".join(r["evidence"])} for r in rows]
        print_table(cols, shown, heads, t("疑似重复主体", "parties that may be the same"),
                    keys=("score", "a_key", "b_key"), wide=wide)
    scope = t(f"（{county}）", f" ({county})") if county else ""
    err(t(f"读取 {n} 个主体{scope}，疑似重复 {len(pairs)} 对（得分 ≥ {min_score:g}）；{where}",
          f"{n} parties read{scope}, {len(pairs)} candidate pairs (score ≥ {min_score:g}); {where}"))


def _row(p: dd.Pair, en: bool) -> dict:
    return {"a_key": p.a.key, "a_name": p.a.name, "a_township": p.a.township,
            "b_key": p.b.key, "b_name": p.b.name, "b_township": p.b.township,
            "score": p.score, "evidence": p.evidence("en" if en else "zh"), "reasons": [c for c, _ in p.reasons]}


def _format_for(format: DedupeFormat, out: Path | None) -> DedupeFormat:
    """--out with the default table format: the file's suffix decides (.json or .xlsx)."""
    if out is None or format is not DedupeFormat.table:
        return format
    suffix = out.suffix.lower().lstrip(".")
    if suffix in ("json", "xlsx"):
        return DedupeFormat(suffix)
    raise typer.BadParameter(t(f"无法从 {out.name} 判断格式，请加 --format json|xlsx",
                               f"give --format json|xlsx for {out.name}"), param_hint="--out")


def write_decisions(path: Path, pairs: list[dd.Pair], en: bool = False, *, where: str = "", county: str | None = None,
                    min_score: float = dd.DEFAULT_MIN_SCORE, parties: int = 0) -> None:
    """The decisions workbook: 疑似重复主体 (one row per pair, 是否同一主体 blank with a 是/否
    drop-down) and 说明 (what was compared, how to fill it in, how to apply it)."""
    import datetime as dt
    from importlib.metadata import PackageNotFoundError, version

    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from loaders.excel import Book, Col

    book = Book(lang="en" if en else "zh")
    keys = ("a_key", "a_name", "b_key", "b_name", "score", "evidence", "decision")
    cols = [Col(k, h, number_format="0.00" if k == "score" else ("@" if k.endswith("_key") else None),
                min_width=20 if k.endswith("_key") else (14 if k == "decision" else 0))
            for k, h in zip(keys, HEADERS)]
    rows = [{"a_key": p.a.key, "a_name": p.a.name, "b_key": p.b.key, "b_name": p.b.name, "score": p.score,
             "evidence": ("; " if en else "；").join(p.evidence("en" if en else "zh")), "decision": None}
            for p in pairs]
    ws = book.add_table(SHEET, cols, rows, print_title=SHEET + (" / parties that may be the same" if en else ""))
    letter = get_column_letter(len(HEADERS))
    dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True, showErrorMessage=True,
                        errorStyle="stop", errorTitle=DECISION, error="请填 是 或 否 / 是 (same) or 否 (not)",
                        promptTitle=DECISION, prompt="是：同一主体，合并；否：不同主体 / 是 = the same party, merge them",
                        showInputMessage=True)
    dv.add(f"{letter}2:{letter}{max(len(rows) + 1, 2)}")
    ws.add_data_validation(dv)
    notes = book.sheet("说明")
    try:
        ver = version("sitegraph")
    except PackageNotFoundError:  # a source tree never installed
        ver = "unknown"
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    book.write_notes(notes, [
        ("生成 / generator", f"sitegraph {ver} dedupe"),
        ("生成时间 / written at (UTC)", now),
        ("数据库 / store", where),
        ("范围 / scope", county or "全部县区 / every county"),
        ("主体数 / parties", parties),
        ("最低得分 / minimum score", min_score),
        ("疑似重复 / pairs", len(rows)),
        ("如何填写 / how to fill in", f"在“{DECISION}”列填 是（同一主体）或 否（不同主体），不确定的留空 / "
                                   f"是 = the same party, 否 = not; leave blank when unsure"),
        ("甲方 / party A", "保留的一方：有统一社会信用代码的优先 / the one kept: the registered one first"),
        ("如何合并 / to merge", "sitegraph merge --decisions 本文件 / this file"),
        ("依据 / evidence", "得分由名称、地址、乡镇、联系电话、主要负责人、行业和代码比对得出；负责人和电话只用于比对，"
                          "不写入本表（docs/dedupe.md）/ the score weighs name, address, township, phone, principal, "
                          "sector and codes; personal data is compared, never written here"),
    ], ("项目", "内容"))
    book.set_active(ws)
    book.save(path)
