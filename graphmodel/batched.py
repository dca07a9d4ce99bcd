"""Neo4j loads in bounded batches that stay all-or-nothing for the user (issue 16 goal 3).

A survey larger than `BATCH_ROWS` records is not written as one transaction (whose state
Neo4j holds in its heap: about 1 GiB per 10,000 enterprises) but as a sequence of
transactions of about `BATCH_ROWS` parameter rows each. "Nothing half-written" is kept by a
**compensating rollback recorded before each batch, in the batch's own transaction**
(docs/reliability.md "Loads in batches on Neo4j"):

- the first batch creates a *head* `(:SitegraphUndo {undo_head: true, undo_load: token})`;
- before a statement writes a node, the node's before-image is journaled once per load:
  a node the load creates is listed as absent (`undo_absent`), a node it changes or deletes
  is copied whole, server-side, into an image `(:SitegraphUndo {undo_image: true, …})`;
- the last batch creates the `SitegraphLoad` record and deletes the head in one transaction:
  that commit is the load's commit. Then the journal is deleted.
- to undo (an exception, Ctrl-C, a transient error before the load is tried again, or a
  head found later because the loader died): delete the absent nodes, restore the images
  (`SET n = image`), redraw the relationships of every restored node from its reference
  properties (every relationship of the graph is drawn from those, graphmodel/writer.py),
  then delete the journal, the head last. Undo is idempotent: a crash in the middle of it is
  finished by the next recovery.

Loads are serialised by a lock transaction: the loader holds a write lock on
`(:SitegraphLock {name: 'load'})` for the whole load, in a transaction of its own that is
never committed. A second loader (or `sitegraph merge`) waits on it as it waited on the
meta node before; a loader that dies loses its connection, Neo4j ends the transaction and
the lock is free. Whoever takes the lock and finds a head undoes that load first.
Opening a backend checks for a head too: with the lock free it undoes the load at once;
with the lock held a load is running, and readers are told they may see part of it.

The journal is derived from the statements themselves (`_journal`): the writer's statements
are all `UNWIND $param AS v MATCH|CREATE|MERGE (n:Label {key: v…}) …`; a write statement of
another shape is refused rather than written without an undo record.
"""
from __future__ import annotations

import logging
import os
import random
import re
import signal
import socket
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, TypeVar

from .schema import LOAD_LABEL, META_LABEL, NODE_TYPES, NODES, REL_TYPES, Kind, history_label

T = TypeVar("T")
log = logging.getLogger("sitegraph.neo4j")

# Parameter rows per transaction; a survey of at most this many records is one transaction.
BATCH_ROWS = int(os.environ.get("SITEGRAPH_NEO4J_BATCH_ROWS", "10000"))
UNDO_LABEL = "SitegraphUndo"
LOCK_LABEL = "SitegraphLock"
LOCK_DDL = (f"CREATE CONSTRAINT sg_{LOCK_LABEL.lower()}_name IF NOT EXISTS "
            f"FOR (n:{LOCK_LABEL}) REQUIRE n.name IS UNIQUE")
# Tests only: "kill:N" (SIGKILL this process after batch N committed), "raise:N" (an
# exception after batch N), "pause:N:FILE" (after batch N create FILE and wait while it exists).
FAULT_ENV = "SITEGRAPH_FAULT_AFTER_BATCH"
CLEAN_CHUNK = 10000

# The key property of every label a load writes.
KEYS: dict[str, str] = {nt.label: nt.key for nt in NODE_TYPES}
KEYS.update({history_label(nt): "h_id" for nt in NODE_TYPES})
KEYS.update({LOAD_LABEL: "load_seq", META_LABEL: "name"})

_WRITE = re.compile(r"\b(CREATE|MERGE|SET|DELETE|REMOVE)\b")
_UNWIND = re.compile(r"^\s*UNWIND \$(\w+) AS (\w+) ")
_NODE = re.compile(r"\b(MATCH|CREATE|MERGE) \((\w+):(\w+) \{`?(\w+)`?: (\w+(?:\.`?\w+`?)?|'[^']*')[,}]")
_REL_CREATE = re.compile(r"CREATE \((\w+)\)-\[:(\w+)\]->\((\w+)\)")


class JournalError(RuntimeError):
    """A write statement the batched load cannot journal (a programming error)."""


def _field(expr: str) -> str:
    return expr.split(".", 1)[1].strip("`")


def _keys_of(cypher: str, params: dict) -> tuple[str, str, list, str] | None:
    """(operation, label, key values, kind) a write statement applies to, kind being
    'create' (the keys cannot exist: every label has a uniqueness constraint on its key),
    'merge' (they may or may not) or 'match' (only existing ones are touched)."""
    m = _UNWIND.match(cypher)
    rows = params.get(m.group(1)) if m else None
    var = m.group(2) if m else None
    rc = _REL_CREATE.search(cypher)
    if rc:  # (a)-[:T]->(b) between two matched nodes: its owner is journaled
        ends = {v: (lab, _field(expr)) for _, v, lab, _, expr in _NODE.findall(cypher)}
        (sl, sf), (el, ef) = ends[rc.group(1)], ends[rc.group(3)]
        rel = next(r for r in REL_TYPES if r.type == rc.group(2) and r.start == sl and r.end == el)
        label, f = (sl, sf) if rel.owner_is_start else (el, ef)
        return "rel", label, [r[f] for r in rows], "match"
    n = _NODE.search(cypher)
    if n is None:
        return None
    op, _, label, key, expr = n.groups()
    if label not in KEYS:
        return None
    kind = {"MATCH": "match", "CREATE": "create", "MERGE": "merge"}[op]
    if expr.startswith("'"):
        return op, label, [expr.strip("'")], kind
    if rows is None:
        return None
    if op == "CREATE":  # a map of whole rows: the key is one of its properties
        return op, label, [r[KEYS[label]] for r in rows], kind
    if expr == var:
        return op, label, list(rows), kind
    if expr.startswith(f"{var}."):
        f = _field(expr)
        return op, label, [r[f] for r in rows], kind
    return None


def _faults() -> tuple[str, int, str | None] | None:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return None
    parts = spec.split(":", 2)
    return parts[0], int(parts[1]), (parts[2] if len(parts) > 2 else None)


class BatchedTx:
    """What the writer's `work(tx)` sees: `run` as in one transaction, committed in batches."""

    def __init__(self, backend, lock_tx, batch_rows: int = BATCH_ROWS):
        self.backend = backend
        self.lock_tx = lock_tx
        self.batch_rows = batch_rows
        self.token = uuid.uuid4().hex
        self.session = backend._session(write=True)
        self.tx = None
        self.rows = 0
        self.batches = 0  # committed so far
        self.started = False  # a head may exist
        self.journaled: dict[str, set] = {}
        self.fault = _faults()

    def _begin(self) -> None:
        self.tx = self.session.begin_transaction()
        if not self.started:
            self.started = True
            self.tx.run(f"CREATE (:{UNDO_LABEL} {{undo_head: true, undo_load: $t, undo_since: datetime(), "
                        f"undo_host: $h, undo_pid: $p}})",
                        {"t": self.token, "h": socket.gethostname(), "p": os.getpid()}).consume()

    def run(self, cypher: str, params: dict | None = None) -> list[dict[str, Any]]:
        from .backends.base import normalise_value

        params = params or {}
        if self.tx is None:
            self._begin()
        writes = bool(_WRITE.search(cypher))
        if writes:
            self._journal(cypher, params)
        res = self.tx.run(cypher, params)
        out = [{k: normalise_value(v) for k, v in rec.items()} for rec in res]
        if writes:
            m = _UNWIND.match(cypher)
            self.rows += len(params.get(m.group(1)) or ()) if m else 1
            if self.rows >= self.batch_rows:
                self._commit()
        return out

    def _journal(self, cypher: str, params: dict) -> None:
        found = _keys_of(cypher, params)
        if found is None:
            raise JournalError(f"batched load: no undo record for {cypher[:120]!r}")
        _, label, keys, kind = found
        seen = self.journaled.setdefault(label, set())
        todo = [k for k in dict.fromkeys(keys) if k not in seen]
        if not todo:
            return
        absent = todo
        if kind != "create":
            key = KEYS[label]
            got = self.tx.run(
                f"UNWIND $keys AS k MATCH (n:{label} {{`{key}`: k}}) CREATE (u:{UNDO_LABEL}) "
                f"SET u = properties(n), u.undo_load = $t, u.undo_label = $l, u.undo_key = k, u.undo_image = true "
                f"RETURN k", {"keys": todo, "t": self.token, "l": label})
            present = {r["k"] for r in got}
            seen.update(present)
            absent = [k for k in todo if k not in present] if kind == "merge" else []
        if absent:
            self.tx.run(f"CREATE (:{UNDO_LABEL} {{undo_load: $t, undo_label: $l, undo_absent: $keys}})",
                        {"t": self.token, "l": label, "keys": absent}).consume()
            seen.update(absent)

    def _commit(self) -> None:
        self.lock_tx.run("RETURN 1").consume()  # still holding the load lock (the connection is alive)
        self.tx.commit()
        self.tx = None
        self.rows = 0
        self.batches += 1
        f = self.fault
        if f and f[1] == self.batches:
            if f[0] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif f[0] == "raise":
                raise RuntimeError(f"fault injected after batch {self.batches}")
            elif f[0] == "pause":
                open(f[2], "w").close()
                while os.path.exists(f[2]):
                    time.sleep(0.05)

    def finish(self) -> None:
        """The load's commit: the last batch and the head's deletion in one transaction."""
        if self.tx is None:
            self._begin()
        self.tx.run(f"MATCH (u:{UNDO_LABEL} {{undo_load: $t}}) WHERE u.undo_head DELETE u",
                    {"t": self.token}).consume()
        self.lock_tx.run("RETURN 1").consume()
        self.tx.commit()
        self.tx = None
        self.batches += 1
        _delete_journal(self.backend, self.token, head=False)

    def abort(self) -> None:
        try:
            if self.tx is not None:
                self.tx.close()  # rolls back the open batch
        except Exception:
            pass
        self.tx = None

    def close(self) -> None:
        self.abort()
        try:
            self.session.close()
        except Exception:
            pass


# --- the lock, recovery and undo -------------------------------------------------------

def _auto(backend, cypher: str, params: dict | None = None) -> list[dict]:
    from .backends.base import normalise_value

    def work(tx):
        return [{k: normalise_value(v) for k, v in r.items()} for r in tx.run(cypher, params or {})]

    with backend._session(write=True) as s:
        return s.execute_write(work)


def _read(backend, cypher: str, params: dict | None = None) -> list[dict]:
    """An internal read (not a user's query: no guard, no EXPLAIN)."""
    from .backends.base import normalise_value

    with backend._session(write=False) as s:
        return s.execute_read(lambda tx: [{k: normalise_value(v) for k, v in r.items()}
                                          for r in tx.run(cypher, params or {})])


def _ensure_lock_node(backend) -> None:
    if getattr(backend, "_lock_ready", False):
        return
    with backend._session(write=True) as s:
        s.run(LOCK_DDL).consume()
    _auto(backend, f"MERGE (:{LOCK_LABEL} {{name: 'load'}})")
    backend._lock_ready = True


def heads(backend) -> list[dict]:
    """Unfinished batched loads (their heads), oldest first."""
    rows = _read(backend, f"MATCH (u:{UNDO_LABEL}) WHERE u.undo_head RETURN u.undo_load AS t, "
                             f"toString(u.undo_since) AS since, u.undo_host AS host, u.undo_pid AS pid "
                             f"ORDER BY since")
    return rows


@contextmanager
def load_lock(backend, timeout: float | None = None):
    """Hold the load lock (waiting for a running load); undo any unfinished load first."""
    _ensure_lock_node(backend)
    s = backend._session(write=True)
    try:
        tx = s.begin_transaction(timeout=timeout)
        tx.run(f"MATCH (l:{LOCK_LABEL} {{name: 'load'}}) SET l.holder = $h",
               {"h": f"{socket.gethostname()}:{os.getpid()}"}).consume()
        try:
            recover(backend)
            yield tx
        finally:
            try:
                tx.close()  # never committed
            except Exception:
                pass
    finally:
        s.close()


def recover(backend) -> list[str]:
    """Undo every unfinished load (the caller holds the lock) and delete stray journals."""
    done = []
    for h in heads(backend):
        undo(backend, h["t"])
        log.warning(f"发现一次未完成的分批导入（开始于 {h['since']}，{h['host']} 进程 {h['pid']}），已撤销，图谱回到导入前的状态 / "
                    f"undid an unfinished batched load (started {h['since']} by {h['host']} pid {h['pid']}): "
                    "the graph is as before it")
        done.append(h["t"])
    if _auto(backend, f"MATCH (u:{UNDO_LABEL}) RETURN count(u) > 0 AS x")[0]["x"]:
        _delete_journal(backend, None, head=False)
    return done


def recover_on_open(backend) -> None:
    """At open: undo an unfinished load if no loader holds the lock; else warn readers."""
    try:
        found = heads(backend)
    except Exception:  # an empty database, a user without read rights: nothing to do here
        return
    if not found:
        return
    from neo4j.exceptions import DriverError, Neo4jError

    try:
        with load_lock(backend, timeout=2.0):
            pass
    except DriverError:  # the server went away: the command that follows says so
        return
    except Neo4jError:  # the lock is held (or this user may not write): a load is running
        backend.load_in_progress = found[0]
        log.warning(f"Neo4j 上有一次分批导入正在进行（开始于 {found[0]['since']}），查询结果可能包含其部分数据 / "
                    f"a batched load is in progress on Neo4j (started {found[0]['since']}): results may include "
                    "part of it")


def _delete_journal(backend, token: str | None, *, head: bool) -> None:
    """Delete the journal of `token` (None: every journal) in bounded transactions; the head last."""
    cond = "u.undo_load = $t" if token else "true"
    while _auto(backend, f"MATCH (u:{UNDO_LABEL}) WHERE {cond} AND (u.undo_head IS NULL) "
                         f"WITH u LIMIT {CLEAN_CHUNK} DELETE u RETURN count(*) AS c", {"t": token})[0]["c"]:
        pass
    if head:
        _auto(backend, f"MATCH (u:{UNDO_LABEL}) WHERE {cond} DELETE u", {"t": token})


def _chunks(seq: list, n: int = CLEAN_CHUNK):
    for i in range(0, len(seq), n):
        yield seq[i: i + n]


def undo(backend, token: str) -> None:
    """Put back what the load `token` committed (see the module doc). Idempotent."""
    from . import writer

    # 1. nodes the load created
    for j in _auto(backend, f"MATCH (u:{UNDO_LABEL} {{undo_load: $t}}) WHERE u.undo_absent IS NOT NULL "
                            f"RETURN elementId(u) AS id, u.undo_label AS l, u.undo_absent AS keys", {"t": token}):
        label, key = j["l"], KEYS[j["l"]]
        for chunk in _chunks(j["keys"]):
            _auto(backend, f"UNWIND $keys AS k MATCH (n:{label} {{`{key}`: k}}) DETACH DELETE n", {"keys": chunk})
        _auto(backend, f"MATCH (u:{UNDO_LABEL}) WHERE elementId(u) = $id DELETE u", {"id": j["id"]})
    # 2. nodes it changed or deleted: their before-images, whole
    images = _auto(backend, f"MATCH (u:{UNDO_LABEL} {{undo_load: $t}}) WHERE u.undo_image "
                            f"RETURN elementId(u) AS id, u.undo_label AS l, u.undo_key AS k", {"t": token})
    restored: dict[str, list] = {}
    for j in images:
        restored.setdefault(j["l"], []).append(j)
    for label, js in restored.items():
        key = KEYS[label]
        for chunk in _chunks(js):
            _auto(backend, f"UNWIND $ids AS i MATCH (u:{UNDO_LABEL}) WHERE elementId(u) = i "
                           f"MERGE (n:{label} {{`{key}`: u.undo_key}}) SET n = properties(u) "
                           f"REMOVE n.undo_load, n.undo_label, n.undo_key, n.undo_image", {"ids": [j["id"] for j in chunk]})
    # 3. the relationships of the restored records, from their reference properties
    for label, js in restored.items():
        if label not in NODES:
            continue
        nt = NODES[label]
        keys = [j["k"] for j in js]
        for rel in REL_TYPES:
            if rel.owner == label:
                for chunk in _chunks(keys, writer.CHUNK):
                    recs = _auto(backend, writer.stmt_fetch(nt), {"keys": chunk})
                    _auto(backend, writer.stmt_delete_rels(rel), {"keys": chunk})
                    _merge_pairs(backend, rel, writer._rel_pairs(rel, recs))
            other = rel.end if rel.owner_is_start else rel.start
            if other == label:  # drawn by records that reference a restored one
                owner = NODES[rel.owner]
                col = owner.column(rel.column)
                cond = (f"any(x IN o.`{col.key}` WHERE x IN $keys)" if col.kind is Kind.REF_LIST
                        else f"o.`{col.key}` IN $keys")
                for chunk in _chunks(keys, writer.CHUNK):
                    recs = _auto(backend, f"MATCH (o:{owner.label}) WHERE {cond} "
                                          f"RETURN o.`{owner.key}` AS `{owner.key}`, o.`{col.key}` AS `{col.key}`",
                                 {"keys": chunk})
                    want = set(chunk)
                    pairs = [p for p in writer._rel_pairs(rel, recs) if (p[1] if rel.owner_is_start else p[0]) in want]
                    _merge_pairs(backend, rel, pairs)
    # 4. the journal, the head last: the load is gone
    _delete_journal(backend, token, head=True)


def _merge_pairs(backend, rel, pairs: list[tuple]) -> None:
    s, e = NODES[rel.start], NODES[rel.end]
    for chunk in _chunks(pairs, 5000):
        _auto(backend, f"UNWIND $pairs AS p MATCH (a:{s.label} {{`{s.key}`: p.a}}) MATCH (b:{e.label} {{`{e.key}`: p.b}}) "
                       f"MERGE (a)-[:{rel.type}]->(b)", {"pairs": [{"a": a, "b": b} for a, b in chunk]})


# --- the load ------------------------------------------------------------------------------

def run(backend, fn: Callable[[BatchedTx], T], lock_tx, retry_s: float) -> T:
    """fn in bounded batches; on any failure the committed batches are undone; a transient
    error runs the whole load again (with back-off) until `retry_s` have passed."""
    from neo4j.exceptions import SessionExpired, ServiceUnavailable, TransientError

    first_failure = None
    attempt = 0
    while True:
        attempt += 1
        btx = BatchedTx(backend, lock_tx)
        try:
            result = fn(btx)
            btx.finish()
            return result
        except BaseException as e:
            btx.abort()
            if btx.started:
                try:
                    undo(backend, btx.token)
                except Exception:  # e.g. the server went away: the next open or load undoes it
                    log.debug("undo deferred", exc_info=True)
                    if isinstance(e, Exception):
                        raise e
                    raise
            transient = isinstance(e, (TransientError, SessionExpired, ServiceUnavailable))
            now = time.monotonic()
            first_failure = first_failure or now
            if not transient or now - first_failure >= retry_s:
                raise
            backend.retries += 1
            log.warning(f"Neo4j 暂时性错误，已撤销已写入的批次，整批重新写入（第 {attempt + 1} 次尝试，最长重试 {retry_s:g} 秒）/ "
                        f"transient Neo4j error: the batches written were undone, writing again (attempt "
                        f"{attempt + 1}, retried for up to {retry_s:g} s)")
            time.sleep(min(2 ** (attempt - 1), 8) * random.uniform(0.8, 1.2))
        finally:
            btx.close()
