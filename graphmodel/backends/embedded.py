"""The embedded backend: LadybugDB in a local file (the default)."""
from __future__ import annotations

import csv
import gc
import operator
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..ddl import embedded_ddl, embedded_missing_columns
from ..errors import BackendUnavailable, DatabaseBusy, QueryError, ReadOnlyViolation
from ..schema import META_LABEL, NODE_TYPES, SCHEMA_VERSION, Kind, NodeType, RelType, all_props, history_label
from . import guard, hints
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

# --- crash safety of writes (docs/reliability.md) ------------------------------------------
# LadybugDB 0.22 cannot recover a file whose process died while it checkpointed a
# transaction that used COPY (the writer's fast path): every later open fails ("checkpoint
# recovery is pending") or segfaults — the whole graph is lost (tests/test_faults.py). So
# a write transaction runs on a copy of the file, `<db>.sitegraph-new`, which replaces the
# original by an atomic rename only once it is committed and checkpointed. A crash at any
# moment leaves the original exactly as it was; the next writer removes the stray copy.
# Readers keep opening the original meanwhile and see the last committed state.
# Writers are serialised by an flock on `<db>.sitegraph.lock` (Ladybug's own file lock is
# released while the copy is written).
_NEW_SUFFIX = ".sitegraph-new"
_LOCK_SUFFIX = ".sitegraph.lock"
_SIDE_SUFFIXES = (".wal", ".shadow", ".wal.checkpoint", ".checkpoint.apply.lock", ".checkpoint.intent.lock")


def _busy(p: Path) -> DatabaseBusy:
    return DatabaseBusy(
        f"数据库 {p} 正被另一个进程写入（例如正在导入），请稍后再试 / "
        f"{p} is locked by another process that is writing to it (a load?); try again later"
    )


def _writer_lock(p: Path):
    """An exclusive, non-blocking flock held for as long as a writer has the file open."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: Ladybug's own lock only
        return None
    fd = os.open(f"{p}{_LOCK_SUFFIX}", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise _busy(p) from None
    return fd


def _side_files(p: Path) -> list[Path]:
    return [Path(f"{p}{s}") for s in _SIDE_SUFFIXES if Path(f"{p}{s}").exists()]


def _remove_copy(p: Path) -> None:
    new = Path(f"{p}{_NEW_SUFFIX}")
    for f in [new, *_side_files(new)]:
        f.unlink(missing_ok=True)


def _fsync(path: Path, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _LadybugTx:
    types_params_from_values = True  # see graphmodel.writer._null_keys
    sets_changed_only = True  # see graphmodel.writer._update_batches

    def __init__(self, conn):
        self.conn = conn
        self._tmp: str | None = None

    # Bulk paths used by graphmodel.writer for records it has verified to be new (the
    # diff ran in this same transaction, keys are unique): COPY FROM a CSV is ~10x faster
    # than UNWIND … CREATE for wide rows (cypher-dialects.md §2). A failed COPY raises and
    # the transaction is rolled back whole.
    def _csv(self, name: str, header: list[str], rows) -> str:
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="sitegraph-copy-")
        path = os.path.join(self._tmp, name + ".csv")
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
        return path

    def copy_nodes(self, nt: NodeType, records: list[dict]) -> None:
        self.copy_rows(nt.label, nt.key, all_props(nt), records)

    def copy_rows(self, label: str, key: str, props, records: list[dict]) -> None:
        """New rows of `label` (primary key `key`; `props` as schema.all_props gives them), every
        property present in each record (None when blank): history rows go this way too."""
        if not records:
            return
        kinds = {k: t for k, t, _ in props}
        scalar = [k for k, t in kinds.items() if not t.endswith("[]")]
        listed = [k for k, t in kinds.items() if t.endswith("[]")]
        # csv.writer renders None as an empty cell (NULL), bool as True/False, a date
        # in ISO form and a float by repr — all as COPY reads them (tests/test_model.py).
        path = self._csv(label, scalar, map(operator.itemgetter(*scalar), records))
        cols = ", ".join(f"`{k}`" for k in scalar)
        self.conn.execute(f"COPY {label}({cols}) FROM '{_quote(path)}' (HEADER=true, PARALLEL=false)")
        # List properties: COPY's list syntax cannot hold items with commas, so each goes
        # as one string joined by a separator no item contains, split again in the store.
        for k in listed:
            items = [(r[key], r[k]) for r in records if r[k]]
            joined = [(k_, _LIST_SEP.join(v)) for k_, v in items]
            if any(j.count(_LIST_SEP) != len(v) - 1 for (_, j), (_, v) in zip(joined, items)):
                for i in range(0, len(items), 5000):  # an item holds the separator itself
                    self.conn.execute(
                        f"UNWIND $rows AS r MATCH (n:{label} {{`{key}`: r.k}}) SET n.`{k}` = r.v",
                        {"rows": [{"k": k_, "v": v} for k_, v in items[i: i + 5000]]},
                    )
            elif joined:
                path = self._csv(f"{label}.{k}", ["k", "v"], joined)
                self.conn.execute(
                    f"LOAD WITH HEADERS (k STRING, v STRING) FROM '{_quote(path)}' (HEADER=true, PARALLEL=false) "
                    f"MATCH (n:{label} {{`{key}`: k}}) SET n.`{k}` = string_split(v, $sep)",
                    {"sep": _LIST_SEP},
                )

    def copy_rels(self, rel: RelType, pairs: list[tuple]) -> int:
        path = self._csv(rel.type, ["from", "to"], pairs)
        res = self.conn.execute(f"COPY {rel.type} FROM '{_quote(path)}' (HEADER=true, PARALLEL=false)")
        msg = str(res.get_next()[0]) if res.has_next() else ""
        m = re.match(r"(\d+) tuples", msg)
        return int(m.group(1)) if m else len(pairs)

    def cleanup(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def run(self, cypher: str, params: dict | None = None) -> list[dict[str, Any]]:
        res = self.conn.execute(cypher, params or {})
        return _rows(res)

    def tuples(self, cypher: str, params: dict | None = None) -> list[list]:
        """Rows as plain lists in RETURN order, values as Ladybug gives them (python
        str/int/float/bool/date/list): for the writer's scans of light columns, which
        need no dict per row nor normalise_value."""
        return self.conn.execute(cypher, params or {}).get_all()


_LIST_SEP = "\x1f"  # ASCII unit separator


def _quote(path: str) -> str:
    return path.replace("\\", "/").replace("'", "\\'")


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
        self._path = p
        self._pool = int(os.environ.get("SITEGRAPH_BUFFER_POOL_MB", DEFAULT_BUFFER_POOL_MB)) * 1024 * 1024
        self._db = self._conn = None
        self._lock_fd = _writer_lock(p) if write else None
        try:
            if write:
                _remove_copy(p)  # left by a writer that died mid-load: never part of the graph
            self._open(p, write)
        except BaseException:
            self.close()
            raise

    def _open(self, p: Path, write: bool) -> None:
        lb = _ladybug()
        try:
            self._db = lb.Database(str(p), read_only=not write, buffer_pool_size=self._pool)
            self._conn = lb.Connection(self._db)
        except RuntimeError as e:
            self._db = self._conn = None
            if _LOCK_RE.search(str(e)):
                raise _busy(self._path) from e
            raise BackendUnavailable(f"无法打开数据库 {p}：{e} / cannot open {p}: {e}") from e

    def _close_handles(self) -> None:
        conn, db = self._conn, self._db
        self._conn = self._db = None
        if conn is not None:
            conn.close()
        if db is not None:
            db.close()  # a read-write close checkpoints: the file is complete on its own

    # -- reads ------------------------------------------------------------------------
    def _read_raw(self, cypher, params, timeout, limit) -> Result:
        # A read-only database still runs LOAD FROM, COPY TO, CHECKPOINT …: refuse every
        # statement that is not a plain read, by its text and by its EXPLAIN plan (guard.py).
        guard.check_text(cypher)
        if timeout:
            self._conn.set_query_timeout(int(timeout * 1000))
        explaining = False  # an error of the EXPLAIN quotes its text: give it back as the user's
        try:
            if not guard.plan_trusted(cypher):
                explaining = True
                plan = self._conn.execute(hints.EXPLAIN + cypher, params)
                explaining = False
                guard.check_ladybug_plan("\n".join(str(v) for row in plan.get_all() for v in row))
            res = self._conn.execute(cypher, params)
        except RuntimeError as e:
            msg = str(e)
            if _RO_RE.search(msg):
                raise ReadOnlyViolation(f"只读查询不能修改数据 / read-only: this statement would write ({msg})") from e
            if "interrupted" in msg.lower() or "timeout" in msg.lower():
                raise QueryError(f"查询超时（{timeout} 秒）/ query timed out after {timeout} s") from e
            hint = hints.did_you_mean(msg)
            raise QueryError(f"查询出错 / query failed: {hints.user_text(msg) if explaining else msg}" + (f"\n{hint}" if hint else "")) from e
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
        src, new = self._path, Path(f"{self._path}{_NEW_SUFFIX}")
        self._close_handles()
        # A load builds a few hundred thousand small, acyclic objects (normalised records,
        # timeline entries, parameter rows) that live until it ends: with the cyclic GC on,
        # every growth of the heap by a quarter triggers a full pass over all of them and the
        # ledger's records (a second of a 10,000-enterprise round). Nothing here makes cycles
        # that must be freed before the end; the collector resumes after the write.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            if _side_files(src):  # not fully checkpointed (should not happen after a close)
                self._open(src, True)
                self._conn.execute("CHECKPOINT")
                self._close_handles()
            _remove_copy(src)
            shutil.copyfile(src, new)  # the transaction runs on this copy (see _NEW_SUFFIX)
            self._open(new, True)
            tx = _LadybugTx(self._conn)
            self._conn.execute("BEGIN TRANSACTION")
            try:
                out = fn(tx)
            except BaseException:
                # Ladybug rolls back by itself on a statement error; roll back otherwise.
                try:
                    self._conn.execute("ROLLBACK")
                except RuntimeError:
                    pass
                raise
            finally:
                tx.cleanup()
            self._conn.execute("COMMIT")
            self._close_handles()
            if _side_files(new):  # pragma: no cover - the close did not checkpoint
                raise BackendUnavailable(f"写入未能完成检查点 / the write could not be checkpointed: {new}")
            _fsync(new)
            os.replace(new, src)  # the commit point for the file: atomic
            _fsync(src.parent, directory=True)
        finally:
            if gc_was_on:
                gc.enable()
            self._close_handles()
            _remove_copy(src)
            self._open(src, True)
        return out

    def install_schema(self) -> None:
        from ..writer import upgrade_store

        existing = self._existing_columns()
        for stmt in embedded_ddl() + embedded_missing_columns(existing):
            self._conn.execute(stmt)

        def stamp(tx):  # data migration and version in one crash-safe write (design §9)
            upgrade_store(tx)
            tx.run(f"MERGE (m:{META_LABEL} {{name: 'schema'}}) SET m.schema_version = $v", {"v": SCHEMA_VERSION})

        self.write(stamp)

    def _existing_columns(self) -> dict[str, set[str]]:
        tables = _rows(self._conn.execute("CALL show_tables() RETURN name, type"))
        out: dict[str, set[str]] = {}
        labels = {nt.label for nt in NODE_TYPES} | {history_label(nt) for nt in NODE_TYPES} | {META_LABEL}
        for t in tables:
            if t["type"] == "NODE" and t["name"] in labels:
                info = _rows(self._conn.execute(f"CALL table_info('{t['name']}') RETURN name"))
                out[t["name"]] = {r["name"] for r in info}
        return out

    def checkpoint(self) -> None:
        self._conn.execute("CHECKPOINT")

    def close(self) -> None:
        try:
            self._close_handles()
        finally:
            fd, self._lock_fd = getattr(self, "_lock_fd", None), None
            if fd is not None:
                os.close(fd)  # releases the writer flock
