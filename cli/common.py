"""Options and helpers shared by the commands."""
from __future__ import annotations

import enum
import sys
from contextlib import contextmanager
from typing import Annotated, Iterator, Optional

import typer

from graphmodel.backends import Backend, default_db_path, open_backend
from graphmodel.errors import SitegraphError

DbOpt = Annotated[
    Optional[str],
    typer.Option("--db", help="嵌入式数据库文件（默认 ./sitegraph.db 或 $SITEGRAPH_DB）/ embedded store file", metavar="PATH"),
]
Neo4jOpt = Annotated[
    Optional[str],
    typer.Option(
        "--neo4j",
        help="Neo4j 地址，如 bolt://127.0.0.1:7687；用户名和密码取自 NEO4J_USERNAME / NEO4J_PASSWORD / Neo4j URI",
        metavar="URI",
    ),
]
ParamOpt = Annotated[
    Optional[list[str]],
    typer.Option("--param", "-p", help="查询参数 k=v，可重复 / query parameter k=v (repeatable)", metavar="K=V"),
]


class Lang(str, enum.Enum):
    zh = "zh"
    en = "en"


LangOpt = Annotated[Lang, typer.Option("--lang", help="提示语言 / message language")]


class TableFormat(str, enum.Enum):
    table = "table"
    json = "json"


class RowFormat(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"


@contextmanager
def backend(db: str | None, neo4j: str | None, *, write: bool = False, create: bool = False) -> Iterator[Backend]:
    b = open_backend(db, neo4j, write=write, create=create)
    try:
        yield b
    finally:
        b.close()


def parse_kv(params: list[str] | None) -> dict[str, str]:
    """`k=v` strings into a dict; a malformed one is a usage error (exit 2)."""
    out: dict[str, str] = {}
    for p in params or []:
        if "=" not in p or not p.split("=", 1)[0].strip():
            raise typer.BadParameter(f"参数须写成 k=v：{p!r} / parameters are k=v", param_hint="--param")
        k, v = p.split("=", 1)
        out[k.strip()] = v
    return out


def err(msg: str) -> None:
    """A message for people: stderr, so that stdout stays clean for json/csv."""
    print(msg, file=sys.stderr)


def fail(msg: str) -> None:
    raise SitegraphError(msg)
