"""The embedded backend: LadybugDB in a local file (the default)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable

from ..ddl import embedded_ddl, embedded_missing_columns
from ..errors import BackendUnavailable, DatabaseBusy, QueryError, ReadOnlyViolation
from ..schema import META_LABEL, NODE_TYPES, SCHEMA_VERSION
from .base import Backend, Result, T, normalise_value

DEFAULT_BUFFER_POOL_MB = 1024


def _ladybug():
    try:
        import ladybug
    except ImportError as e:  # pragma: no cover - install problem
        raise BackendUnavailable("未安装嵌入式图数据库 ladybug（pip install ladybug）/ the 'ladybug' package is missing") from e
    if not hasattr(ladybug, "Database") or not hasattr(ladybug, "Connection"):
        raise BackendUnavailable(
            "已安装的 'ladybug' 不是 LadybugDB（可能是建筑模拟包 ladybug-core）/ "
            "the installed 'ladybug' module is not LadybugDB (ladybug-core shadows it)"
        )
    return ladybug


_LOCK_RE = re.compile(r"Could not set lock|lock.*held", re.I)
_RO_RE = re.compile(r"read-only database|read only", re.I)


class _LadybugTx:
    def __init__(self, conn):
        self.conn = conn

    def run(self, cypher: str, params: dict | None = None) -> list[dict[str, Any]]:
        res = self.conn.execute(cypher, params or {})
        return _rows(res)


def _rows(res, limit: int | None = None) -> list[dict[str, Any]]:
    cols = res.get_column_names()
    out = []
    while res.has_next():
        if limit is not None and len(out) >= limit:
            break
        out.append({c: normalise_value(v) for c, v in zip(cols, res.get_next())})
    return out


class EmbeddedBackend(Backend):
    def __init__(self, path: str | os.PathLike, *, write: bool = False, create: bool = False):
        super().__init__(kind="embedded", location=str(path), writable=write)
        lb = _ladybug()
        p = Path(path)
        if not p.exists() and not create:
            raise BackendUnavailable(
                f"数据库文件不存在：{p}（先运行 sitegraph init 或 sitegraph load）/ no database at {p}: run `sitegraph init` first"
            )
        if p.is_dir():
            raise BackendUnavailable(f"{p} 是目录，不是数据库文件 / {p} is a folder, not a database file")
        pool_mb = int(os.environ.get("SITEGRAPH_BUFFER_POOL_MB", DEFAULT_BUFFER_POOL_MB))
        try:
            self._db = lb.Database(str(p), read_only=not write, buffer_pool_size=pool_mb * 1024 * 1024)
            self._conn = lb.Connection(self._db)
        except RuntimeError as e:
            if _LOCK_RE.search(str(e)):
                raise DatabaseBusy(
                    f"数据库 {p} 正被另一个进程写入（例如正在导入），请稍后再试 / "
                    f"{p} is locked by another process that is writing to it (a load?); try again later"
                ) from e
            raise BackendUnavailable(f"无法打开数据库 {p}：{e} / cannot open {p}: {e}") from e

    # -- reads ------------------------------------------------------------------------
    def _read_raw(self, cypher, params, timeout, limit) -> Result:
        if timeout:
            self._conn.set_query_timeout(int(timeout * 1000))
        try:
            res = self._conn.execute(cypher, params)
        except RuntimeError as e:
            msg = str(e)
            if _RO_RE.search(msg):
                raise ReadOnlyViolation(f"只读查询不能修改数据 / read-only: this statement would write ({msg})") from e
            if "interrupted" in msg.lower() or "timeout" in msg.lower():
                raise QueryError(f"查询超时（{timeout} 秒）/ query timed out after {timeout} s") from e
            raise QueryError(f"查询出错 / query failed: {msg}") from e
        finally:
            if timeout:
                self._conn.set_query_timeout(0)
        if isinstance(res, list):  # several statements in one text
            raise QueryError("一次只能执行一条语句 / one statement per call")
        cols = res.get_column_names()
        rows = _rows(res, limit)
        truncated = limit is not None and res.has_next()
        res.close()
        return Result(cols, rows, truncated)

    # -- writes -----------------------------------------------------------------------
    def write(self, fn: Callable[[_LadybugTx], T]) -> T:
        """Run fn in one write transaction: all or nothing (stop at the first error)."""
        if not self.writable:
            raise ReadOnlyViolation("数据库以只读方式打开 / the database was opened read-only")
        self._conn.execute("BEGIN TRANSACTION")
        try:
            out = fn(_LadybugTx(self._conn))
        except BaseException:
            # Ladybug rolls back by itself on a statement error; roll back otherwise.
            try:
                self._conn.execute("ROLLBACK")
            except RuntimeError:
                pass
            raise
        self._conn.execute("COMMIT")
        return out

    def install_schema(self) -> None:
        existing = self._existing_columns()
        for stmt in embedded_ddl() + embedded_missing_columns(existing):
            self._conn.execute(stmt)
        self._conn.execute(
            f"MERGE (m:{META_LABEL} {{name: 'schema'}}) SET m.schema_version = $v", {"v": SCHEMA_VERSION}
        )

    def _existing_columns(self) -> dict[str, set[str]]:
        tables = _rows(self._conn.execute("CALL show_tables() RETURN name, type"))
        out: dict[str, set[str]] = {}
        labels = {nt.label for nt in NODE_TYPES}
        for t in tables:
            if t["type"] == "NODE" and t["name"] in labels:
                info = _rows(self._conn.execute(f"CALL table_info('{t['name']}') RETURN name"))
                out[t["name"]] = {r["name"] for r in info}
        return out

    def checkpoint(self) -> None:
        self._conn.execute("CHECKPOINT")

    def close(self) -> None:
        conn, db = getattr(self, "_conn", None), getattr(self, "_db", None)
        self._conn = self._db = None
        if conn is not None:
            conn.close()
        if db is not None:
            db.close()
