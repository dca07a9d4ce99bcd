"""The Neo4j backend (5.26 LTS): the production store."""
from __future__ import annotations

import os
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

from ..ddl import neo4j_ddl
from ..errors import BackendUnavailable, QueryError, ReadOnlyViolation
from ..schema import META_LABEL, SCHEMA_VERSION
from . import guard
from .base import Backend, Result, T, normalise_value

READ_QUERY_TYPES = {"r"}


def redact_uri(uri: str) -> str:
    """The URI without any user:password part."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<invalid uri>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class _Neo4jTx:
    def __init__(self, tx):
        self.tx = tx

    def run(self, cypher: str, params: dict | None = None) -> list[dict[str, Any]]:
        res = self.tx.run(cypher, params or {})
        return [{k: normalise_value(v) for k, v in rec.items()} for rec in res]


class Neo4jBackend(Backend):
    def __init__(self, uri: str, *, write: bool = False, connect_timeout: float = 5.0):
        import neo4j
        from neo4j.exceptions import AuthError, ServiceUnavailable

        safe = redact_uri(uri)
        super().__init__(kind="neo4j", location=safe, writable=write)
        user = os.environ.get("NEO4J_USERNAME", "neo4j")
        password = os.environ.get("NEO4J_PASSWORD")
        self.database = os.environ.get("NEO4J_DATABASE") or None
        auth = (user, password) if password is not None else None
        try:
            self._driver = neo4j.GraphDatabase.driver(
                uri, auth=auth, connection_timeout=connect_timeout, max_transaction_retry_time=15.0,
                connection_acquisition_timeout=connect_timeout * 2,
                notifications_min_severity="OFF",  # no "property does not exist" chatter
            )
            self._driver.verify_connectivity()
        except AuthError as e:
            self._close_quietly()
            raise BackendUnavailable(
                f"Neo4j 认证失败：{safe}（检查 NEO4J_USERNAME / NEO4J_PASSWORD）/ authentication failed at {safe}"
            ) from e
        except (ServiceUnavailable, OSError, ValueError, neo4j.exceptions.DriverError) as e:
            self._close_quietly()
            raise BackendUnavailable(f"无法连接 Neo4j：{safe} / cannot reach Neo4j at {safe}") from e

    def _close_quietly(self):
        drv = getattr(self, "_driver", None)
        if drv is not None:
            try:
                drv.close()
            except Exception:
                pass
        self._driver = None

    def _session(self, write: bool):
        import neo4j

        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        return self._driver.session(database=self.database, default_access_mode=mode)

    # -- reads ------------------------------------------------------------------------
    def _read_raw(self, cypher, params, timeout, limit) -> Result:
        import neo4j
        from neo4j.exceptions import ClientError, Neo4jError

        guard.check_text(cypher)  # non-read clauses and second statements, before the server sees them
        with self._session(write=False) as s:
            try:
                # Refuse anything the planner does not call read-only.
                summary = s.run("EXPLAIN " + cypher, params).consume()
                if summary.query_type not in READ_QUERY_TYPES:
                    raise ReadOnlyViolation(
                        f"只读查询不能修改数据（查询类型 {summary.query_type}）/ read-only: this statement would write"
                    )
                # "Reads" that act outside the graph: LOAD CSV, TERMINATE/SHOW …, procedures (guard.py).
                guard.check_neo4j_plan(summary.plan)

                def work(tx):
                    res = tx.run(cypher, params)
                    cols = list(res.keys())
                    rows = []
                    truncated = False
                    for rec in res:
                        if limit is not None and len(rows) >= limit:
                            truncated = True
                            break
                        rows.append({k: normalise_value(v) for k, v in rec.items()})
                    return Result(cols, rows, truncated)

                return s.execute_read(neo4j.unit_of_work(timeout=timeout)(work) if timeout else work)
            except ReadOnlyViolation:
                raise
            except ClientError as e:
                code = e.code or ""
                if "AccessMode" in code or "ForbiddenOnReadOnly" in code or "WriteOnReadOnly" in code:
                    raise ReadOnlyViolation("只读查询不能修改数据 / read-only: this statement would write") from e
                if "TransactionTimedOut" in code or "Timeout" in code:
                    raise QueryError(f"查询超时（{timeout} 秒）/ query timed out after {timeout} s") from e
                raise QueryError(f"查询出错 / query failed: {e.message}") from e
            except Neo4jError as e:
                raise QueryError(f"查询出错 / query failed: {e.message}") from e

    # -- writes -----------------------------------------------------------------------
    def write(self, fn: Callable[[_Neo4jTx], T]) -> T:
        """Run fn in one managed write transaction; transient errors retry the whole of it."""
        if not self.writable:
            raise ReadOnlyViolation("数据库以只读方式打开 / the database was opened read-only")
        with self._session(write=True) as s:
            return s.execute_write(lambda tx: fn(_Neo4jTx(tx)))

    def install_schema(self) -> None:
        with self._session(write=True) as s:
            for stmt in neo4j_ddl():
                s.run(stmt).consume()
            s.run(
                f"MERGE (m:{META_LABEL} {{name: 'schema'}}) SET m.schema_version = $v", {"v": SCHEMA_VERSION}
            ).consume()

    def close(self) -> None:
        self._close_quietly()
