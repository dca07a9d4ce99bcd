"""`sitegraph init`, `info` and `cypher`."""
from __future__ import annotations

import json
import re
from typing import Annotated, Optional

import typer

from graphmodel.backends.base import DEFAULT_TIMEOUT_S
from graphmodel.personal import mask_rows
from graphmodel.schema import NODES, RELS

from .common import (DbOpt, Lang, LangOpt, Neo4jOpt, ParamOpt, RowFormat, TableFormat, WideOpt, backend,
                     empty_graph_note, err, parse_kv, t)
from .render import print_table, to_csv, to_json

DEFAULT_ROW_LIMIT = 10_000


def register(app: typer.Typer) -> None:
    app.command("init", short_help="建库或升级图谱结构（幂等）/ create or upgrade the schema")(init)
    app.command("info", short_help="图谱概况：各类节点和关系的数量 / counts of records")(info)
    app.command("cypher", short_help="执行只读 Cypher 查询 / run read-only Cypher")(cypher)


def init(db: DbOpt = None, neo4j: Neo4jOpt = None, lang: LangOpt = Lang.zh) -> None:
    """建库：安装或升级图谱结构（幂等）/ create or upgrade the schema (idempotent)."""
    with backend(db, neo4j, write=True, create=True) as b:
        b.install_schema()
        err(t(f"已就绪：{b.kind} {b.location}（结构版本 v{b.schema_version()}）",
              f"ready: {b.kind} {b.location} (schema v{b.schema_version()})"))


def info(db: DbOpt = None, neo4j: Neo4jOpt = None,
         format: Annotated[TableFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = TableFormat.table,
         lang: LangOpt = Lang.zh, wide: WideOpt = False) -> None:
    """图谱概况：后端、结构版本、各类节点和关系的数量 / backend, schema version, counts."""
    with backend(db, neo4j) as b:
        data = b.info()
    if format is TableFormat.json:
        print(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
        return
    err(t(f"后端：{data['backend']}  位置：{data['location']}  结构版本：v{data['schema_version']}",
          f"backend: {data['backend']}  location: {data['location']}  schema: v{data['schema_version']}"))
    en = lang is Lang.en
    rows = [{"kind": "node" if en else "节点", "name": k, "title": NODES[k].title_en if en else NODES[k].title_zh,
             "count": v} for k, v in data["nodes"].items()]
    rows += [{"kind": "relationship" if en else "关系", "name": k, "title": k.replace("_", " ").lower() if en
              else RELS[k].title_zh, "count": v} for k, v in data["relationships"].items()]
    print_table(["kind", "name", "title", "count"], rows,
                ["kind", "name", "meaning", "count"] if en else ["类别", "名称", "含义", "数量"],
                keys=("kind", "name", "count"), wide=wide)


def _typed(v: str):
    """--param values: ints, floats, true/false and ISO dates become typed; else text."""
    import datetime as dt

    if re.fullmatch(r"-?\d+", v):
        return int(v)
    if re.fullmatch(r"-?\d+\.\d*", v):
        return float(v)
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return v
    return v


def cypher(
    query: Annotated[str, typer.Argument(help="只读 Cypher 语句 / a read-only Cypher statement")],
    db: DbOpt = None,
    neo4j: Neo4jOpt = None,
    param: ParamOpt = None,
    format: Annotated[RowFormat, typer.Option("--format", "-f", help="输出格式 / output format")] = RowFormat.table,
    limit: Annotated[int, typer.Option("--limit", help="最多返回行数 / row limit", min=1)] = DEFAULT_ROW_LIMIT,
    timeout: Annotated[float, typer.Option("--timeout", help="超时秒数 / timeout in seconds", min=0.1)] = DEFAULT_TIMEOUT_S,
    include_personal: Annotated[bool, typer.Option(
        "--include-personal", help="显示个人信息（负责人、电话、整改责任人、检查人员）/ show personal data")] = False,
    lang: LangOpt = Lang.zh,
    wide: WideOpt = False,
) -> None:
    """执行只读的临时 Cypher 查询；写操作一律拒绝 / run ad-hoc read-only Cypher; writes are refused.

    个人信息列默认隐藏（规则见 docs/reliability.md）/ personal data is masked unless --include-personal.
    """
    params = {k: _typed(v) for k, v in parse_kv(param).items()}
    with backend(db, neo4j) as b:
        res = b.read(query, params, timeout=timeout, limit=limit)
        if not res.rows:
            empty_graph_note(b)
        for w in res.warnings:  # Neo4j's notices about unknown labels, types and properties
            err(t("注意：", "note: ") + w)
    if res.truncated:
        err(t(f"仅显示前 {limit} 行（用 --limit 调高）", f"only the first {limit} rows (raise with --limit)"))
    if not include_personal:  # graphmodel/personal.py: columns reading personal properties, personal keys in maps
        res.rows, hidden = mask_rows(query, res.columns, res.rows, params)
        if hidden:
            err(f"已隐藏个人信息列 {', '.join(sorted(hidden))}（加 --include-personal 显示）/ "
                "personal data hidden (add --include-personal)")
    if format is RowFormat.json:
        print(to_json(res.rows))
    elif format is RowFormat.csv:
        print(to_csv(res.columns, res.rows), end="")
    else:
        print_table(res.columns, res.rows, wide=wide)
        err(t(f"{len(res.rows)} 行", f"{len(res.rows)} rows"))
