"""The Neo4j backend (5.26 LTS): the production store."""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Any, Callable
from urllib.parse import unquote, urlsplit, urlunsplit

from ..ddl import neo4j_ddl
from ..errors import BackendUnavailable, QueryError, ReadOnlyViolation
from ..schema import META_LABEL, SCHEMA_VERSION
from . import guard, hints
from .base import Backend, Result, T, normalise_value

READ_QUERY_TYPES = {"r"}

# Retries (docs/reliability.md). A transient error — a deadlock with another transaction,
# a lock timeout, a dropped connection, a leader switch — makes the driver's managed
# transaction run the whole load again, with exponential back-off (about 1 s, 2 s, 4 s, 8 s,
# ±20 %), until WRITE_RETRY_TIME_S have passed since the first failure; then the load fails
# with one message, and nothing of it is committed. Each retry is announced on the
# "sitegraph" logger (stderr by default) and counted in `Neo4jBackend.retries`.
WRITE_RETRY_TIME_S = float(os.environ.get("SITEGRAPH_NEO4J_RETRY_S", "15"))
log = logging.getLogger("sitegraph.neo4j")
# The driver's own warnings ("Transaction failed and will be retried in …", connection
# dumps) would reach stderr through logging's last resort; sitegraph reports instead.
logging.getLogger("neo4j").addHandler(logging.NullHandler())


def redact_uri(uri: str) -> str:
    """The URI without any user:password part (safe to print)."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        if ":" in host:  # IPv6
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:  # unparsable, or a port that is not a number
        return "<invalid uri>"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def split_credentials(uri: str) -> tuple[str, str | None, str | None]:
    """`bolt://user:pw@host:7687` -> (`bolt://host:7687`, user, pw): the driver refuses a user
    in the URI, and the --neo4j help allows one. Credentials never travel further in the URI."""
    try:
        parts = urlsplit(uri)
        if parts.username is None and parts.password is None:
            return uri, None, None
        netloc = parts.netloc.rsplit("@", 1)[1]
    except ValueError:
        return uri, None, None
    return (urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)),
            unquote(parts.username or "") or None, None if parts.password is None else unquote(parts.password))


def _query_error(message: str | None, explaining: bool) -> QueryError:
    msg = message or ""
    msg = hints.user_text(msg) if explaining else msg
    hint = hints.did_you_mean(msg)
    return QueryError(f"查询出错 / query failed: {msg}" + (f"\n{hint}" if hint else ""))


# Neo4j plans a misspelt label as an empty scan and says so only in a notification (GQL
# status 01N50 unknown label, 01N51 unknown relationship type, 01N52 unknown property key).
_UNKNOWN_STATUS = {"01N50", "01N51", "01N52"}


def _unknown_name_notices(summary) -> list[str]:
    """Notices of unknown labels, relationship types and properties, with "did you mean"."""
    out = []
    what = {"label": ("标签", "label"), "rel": ("关系类型", "relationship type"), "property": ("属性", "property")}
    for g in getattr(summary, "gql_status_objects", None) or []:
        if getattr(g, "gql_status", "") not in _UNKNOWN_STATUS:
            continue
        desc = getattr(g, "status_description", "") or ""
        for kind, name in hints.unknown_names(desc):
            if hints.known(name, kind):  # a schema name with no data yet: nothing to say
                continue
            zh, en = what[kind]
            hint = hints.did_you_mean(desc)
            out.append(f"图谱中没有{zh} {name} / the graph has no {en} {name}" + (f"；{hint}" if hint else ""))
    return out


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
        self.retries = 0  # transient errors retried by write() so far
        uri, uri_user, uri_password = split_credentials(uri)
        user = uri_user or os.environ.get("NEO4J_USERNAME", "neo4j")
        password = uri_password if uri_password is not None else os.environ.get("NEO4J_PASSWORD")
        self.database = os.environ.get("NEO4J_DATABASE") or None
        auth = (user, password) if password is not None else None
        try:
            self._driver = neo4j.GraphDatabase.driver(
                uri, auth=auth, connection_timeout=connect_timeout, max_transaction_retry_time=WRITE_RETRY_TIME_S,
                connection_acquisition_timeout=connect_timeout * 2,
                notifications_min_severity="OFF",  # no "property does not exist" chatter
            )
            self._driver.verify_connectivity()
        except AuthError as e:
            self._close_quietly()
            raise BackendUnavailable(
                f"Neo4j 认证失败：{safe}（检查 NEO4J_USERNAME / NEO4J_PASSWORD）/ authentication failed at {safe}"
            ) from e
        except neo4j.exceptions.ClientError as e:  # e.g. Security.AuthenticationRateLimit
            self._close_quietly()
            if "Security" not in (e.code or ""):
                raise
            raise BackendUnavailable(
                f"Neo4j 拒绝登录：{safe}（{e.code.rsplit('.', 1)[-1]}；认证失败次数过多时请稍后再试）/ "
                f"Neo4j refused the login at {safe} ({e.code})"
            ) from e
        except (ValueError, neo4j.exceptions.ConfigurationError) as e:
            self._close_quietly()
            raise BackendUnavailable(
                f"Neo4j 地址无效：{safe}（应如 bolt://127.0.0.1:7687）/ invalid Neo4j URI {safe}") from None
        except (ServiceUnavailable, OSError, neo4j.exceptions.DriverError) as e:
            self._close_quietly()
            raise BackendUnavailable(f"无法连接 Neo4j：{safe} / cannot reach Neo4j at {safe}") from e
        # an unfinished batched load (its loader died) is undone before anything else
        self.load_in_progress: dict | None = None  # the head of a batched load running now
        from ..batched import recover_on_open

        recover_on_open(self)

    def _close_quietly(self):
        drv = getattr(self, "_driver", None)
        if drv is not None:
            try:
                drv.close()
            except Exception:
                pass
        self._driver = None

    def _session(self, write: bool, notices: bool = False):
        import neo4j

        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        extra = {"notifications_min_severity": "WARNING"} if notices else {}
        return self._driver.session(database=self.database, default_access_mode=mode, **extra)

    # -- reads ------------------------------------------------------------------------
    def _read_raw(self, cypher, params, timeout, limit) -> Result:
        import neo4j
        from neo4j.exceptions import ClientError, DriverError, Neo4jError

        guard.check_text(cypher)  # non-read clauses and second statements, before the server sees them
        explaining = True  # an error of the EXPLAIN quotes its text: give it back as the user's
        warnings: list[str] = []
        with self._session(write=False, notices=True) as s:
            try:
                # Refuse anything the planner does not call read-only.
                summary = s.run(hints.EXPLAIN + cypher, params).consume()
                explaining = False
                warnings = _unknown_name_notices(summary)
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
                    return Result(cols, rows, truncated, warnings)

                return s.execute_read(neo4j.unit_of_work(timeout=timeout)(work) if timeout else work)
            except ReadOnlyViolation:
                raise
            except ClientError as e:
                code = e.code or ""
                if "AccessMode" in code or "ForbiddenOnReadOnly" in code or "WriteOnReadOnly" in code:
                    raise ReadOnlyViolation("只读查询不能修改数据 / read-only: this statement would write") from e
                if "TransactionTimedOut" in code or "Timeout" in code:
                    raise QueryError(f"查询超时（{timeout} 秒）/ query timed out after {timeout} s") from e
                raise _query_error(e.message, explaining) from e
            except Neo4jError as e:
                raise _query_error(e.message, explaining) from e
            except DriverError as e:  # the server went away during the query
                raise self._lost(e) from e

    def _lost(self, e: Exception) -> BackendUnavailable:
        return BackendUnavailable(
            f"与 Neo4j 的连接中断：{self.location}（{type(e).__name__}）；本次操作未完成，未确认的写入不会生效，"
            f"请检查服务器后重试（导入可重复执行）/ lost the connection to Neo4j at {self.location}: the operation did "
            "not complete and nothing unconfirmed was committed; check the server and try again (loads can be repeated)"
        )

    # -- writes -----------------------------------------------------------------------
    def write(self, fn: Callable[[_Neo4jTx], T]) -> T:
        """Run fn in one managed write transaction under the load lock (graphmodel/batched.py);
        transient errors retry the whole of it."""
        from .. import batched

        if not self.writable:
            raise ReadOnlyViolation("数据库以只读方式打开 / the database was opened read-only")
        with self._write_errors(), batched.load_lock(self):
            return self._write_tx(fn)

    def write_batched(self, fn: Callable, rows: int) -> T:
        """A load of `rows` records: one transaction up to batched.BATCH_ROWS, else bounded
        batches with a compensating rollback (graphmodel/batched.py, docs/reliability.md)."""
        from .. import batched

        if rows <= batched.BATCH_ROWS:
            return self.write(fn)
        if not self.writable:
            raise ReadOnlyViolation("数据库以只读方式打开 / the database was opened read-only")
        with self._write_errors(), batched.load_lock(self) as lock_tx:
            return batched.run(self, fn, lock_tx, WRITE_RETRY_TIME_S)

    def _write_tx(self, fn: Callable[[_Neo4jTx], T]) -> T:
        attempts = 0

        def work(tx):
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                self.retries += 1
                log.warning(f"Neo4j 暂时性错误，整批重新写入（第 {attempts} 次尝试，最长重试 {WRITE_RETRY_TIME_S:g} 秒）/ "
                            f"transient Neo4j error: writing again (attempt {attempts}, retried for up to "
                            f"{WRITE_RETRY_TIME_S:g} s)")
            return fn(_Neo4jTx(tx))

        with self._session(write=True) as s:
            return s.execute_write(work)

    @contextmanager
    def _write_errors(self):
        from neo4j.exceptions import DriverError, TransientError

        try:
            yield
        except TransientError as e:  # still failing after WRITE_RETRY_TIME_S of retries
            if "MemoryPoolOutOfMemoryError" in (e.code or ""):
                raise BackendUnavailable(
                    "本次导入作为一个事务超出了 Neo4j 的事务内存上限（db.memory.transaction.total.max），未写入任何数据；"
                    "请增大服务器堆内存与该上限，或按乡镇分批导入（每批用 --source 指定来源）/ the survey, written as one "
                    "transaction, exceeded Neo4j's transaction memory limit (db.memory.transaction.total.max): nothing "
                    "was written; give the server more heap and a higher limit, or load it township by township "
                    "(--source per ledger)"
                ) from e
            raise BackendUnavailable(
                f"Neo4j 暂时性错误在重试 {WRITE_RETRY_TIME_S:g} 秒后仍未消除（{e.code}），未写入任何数据 / "
                f"transient error persisted after {WRITE_RETRY_TIME_S:g} s of retries ({e.code}): nothing was written"
            ) from e
        except DriverError as e:
            raise self._lost(e) from e

    def install_schema(self) -> None:
        from ..writer import upgrade_store

        from ..batched import LOCK_DDL

        with self._session(write=True) as s:
            for stmt in (*neo4j_ddl(), LOCK_DDL):
                s.run(stmt).consume()

        def stamp(tx):  # data migration and version in one transaction (design §9)
            upgrade_store(tx)
            tx.run(f"MERGE (m:{META_LABEL} {{name: 'schema'}}) SET m.schema_version = $v", {"v": SCHEMA_VERSION})

        self.write(stamp)

    def close(self) -> None:
        self._close_quietly()
