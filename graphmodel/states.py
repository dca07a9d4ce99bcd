"""The state at a past date as a read-only store (docs/design/history.md §6).

`state_at(backend, day)` gives the live backend when `day` is on or after the latest survey
date; otherwise the state at `day` materialised into a scratch LadybugDB file — for both
backends — so that the prepared queries run unchanged on it. The rows are read with two
portable statements per label (current rows dated <= day, history versions whose interval
holds day); relationships are drawn from their reference properties where both ends exist.
A state is named by a fingerprint of the loads it contains (loads are append-only, so an
entry is never stale) and cached: `<db>.states/` beside an embedded store,
`$SITEGRAPH_CACHE/states/<store_id>/` (default ~/.cache/sitegraph, mode 0700) for Neo4j.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .backends.base import Backend
from .errors import SitegraphError
from .schema import META_LABEL, NODE_TYPES, REL_TYPES, SCHEMA_VERSION, all_props, history_label

KEEP = 8  # most recently used states kept per store


def _not_upgraded() -> SitegraphError:
    return SitegraphError("数据库尚无历史记录：请先运行 sitegraph load 或 sitegraph init 升级数据库 / "
                          "the store has no history yet: run sitegraph init (or load) to upgrade it")


def _meta(backend: Backend) -> tuple[str, int]:
    rows = backend.read(f"MATCH (m:{META_LABEL}) WHERE m.name = 'loads' RETURN m.store_id AS s, m.last_seq AS n",
                        timeout=None).rows
    if not rows or backend.schema_version() is None or backend.schema_version() < SCHEMA_VERSION:
        raise _not_upgraded()
    return rows[0]["s"], int(rows[0]["n"] or 0)


def _cache_dir(backend: Backend, store_id: str) -> Path:
    if backend.kind == "embedded":
        d = Path(f"{backend.location}.states")
    else:
        d = Path(os.environ.get("SITEGRAPH_CACHE", Path.home() / ".cache" / "sitegraph")) / "states" / store_id
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)  # it holds personal data like the store
    return d


def state_rows(backend: Backend, day: dt.date) -> dict[str, list[dict]]:
    """label -> the records of the state at `day`, every stored property."""
    from .writer import normalise_record

    out = {}
    for nt in NODE_TYPES:
        keys = [k for k, _, _ in all_props(nt)]
        cur = ", ".join(f"n.`{k}` AS `{k}`" for k in keys)
        rows = backend.read(f"MATCH (n:{nt.label}) WHERE n.survey_date <= $d RETURN {cur}", {"d": day},
                            timeout=None).rows
        rows += backend.read(f"MATCH (n:{history_label(nt)}) WHERE n.h_kind = 'version' AND n.survey_date <= $d "
                             f"AND n.h_to > $d RETURN {cur}", {"d": day}, timeout=None).rows
        out[nt.label] = [normalise_record(nt, r) for r in rows]
    return out


def fingerprint(store_id: str, seqs: list[int]) -> str:
    text = f"{store_id}|{SCHEMA_VERSION}|{','.join(map(str, sorted(seqs)))}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _build(path: Path, records: dict[str, list[dict]]) -> None:
    """A new LadybugDB file at `path` holding `records` and the relationships they draw."""
    from .backends.embedded import _LadybugTx, _ladybug
    from .ddl import embedded_ddl
    from .writer import _rel_pairs

    lb = _ladybug()
    db = lb.Database(str(path))
    conn = lb.Connection(db)
    tx = _LadybugTx(conn)
    try:
        for stmt in embedded_ddl():
            conn.execute(stmt)
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"CREATE (m:{META_LABEL} {{name: 'schema', schema_version: $v}})", {"v": SCHEMA_VERSION})
        keys = {}
        for nt in NODE_TYPES:
            recs = records.get(nt.label) or []
            keys[nt.label] = {r[nt.key] for r in recs}
            if recs:
                tx.copy_nodes(nt, recs)
        for rel in REL_TYPES:
            pairs = [(a, b) for a, b in _rel_pairs(rel, records.get(rel.owner) or [])
                     if a in keys[rel.start] and b in keys[rel.end]]  # a reference absent at that date: no edge
            if pairs:
                tx.copy_rels(rel, pairs)
        conn.execute("COMMIT")
    finally:
        tx.cleanup()
        conn.close()
        db.close()


@contextmanager
def state_at(backend: Backend, day: dt.date, *, materialise: bool = False) -> Iterator[Backend]:
    """The state at `day` as a read-only Backend (the live one when day >= the latest survey date,
    unless `materialise`: diff and trend on Neo4j read every date from LadybugDB, so that a series
    never mixes engines)."""
    from .backends.embedded import EmbeddedBackend
    from .writer import list_loads

    store_id, _ = _meta(backend)
    for _attempt in range(3):  # Neo4j reads are read-committed: loads, then rows, then loads again
        loads = list_loads(backend)
        if loads and day >= max(r["survey_date"] for r in loads) and not materialise:
            yield backend
            return
        seqs = [r["load_seq"] for r in loads if r["survey_date"] <= day]
        cache = _cache_dir(backend, store_id)
        path = cache / f"{fingerprint(store_id, seqs)}.lbdb"
        if path.exists():
            break
        rows = state_rows(backend, day)
        if [r["load_seq"] for r in list_loads(backend)] == [r["load_seq"] for r in loads]:
            tmp = cache / f"{path.stem}.tmp-{os.getpid()}"
            try:
                _build(tmp, rows)
                os.replace(tmp, path)
            finally:
                for f in cache.glob(f"{tmp.name}*"):
                    f.unlink(missing_ok=True)
            break
    else:
        raise SitegraphError("读取历史状态时数据库一直在导入新数据，请稍后再试 / "
                             "loads kept committing while the state was read; try again")
    os.utime(path)  # most recently used
    for old in sorted(cache.glob("*.lbdb"), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP:]:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    b = EmbeddedBackend(path)
    # the scratch store is LadybugDB whatever the source: kind stays "embedded" (the dialect)
    b.location = f"{backend.location} @ {day}" + (" (状态副本)" if backend.kind != "embedded" else "")
    try:
        yield b
    finally:
        b.close()
