"""Helpers shared by the reliability tests (faults, read-only, personal data, retries).

`dump(backend)` is the whole graph as plain data — every node with every stored property
(provenance included), every relationship by its end keys, the schema meta node — so
"the graph is exactly as before" is one equality.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from graphmodel.schema import META_LABEL, NODE_TYPES, NODES, REL_TYPES, all_props

ROOT = Path(__file__).resolve().parents[1]


def edges(backend) -> dict[str, list]:
    """Every relationship by its end keys, per `type:Start->End`."""
    out = {}
    for rel in REL_TYPES:
        s, e = NODES[rel.start], NODES[rel.end]
        rows = backend.read(
            f"MATCH (a:{s.label})-[:{rel.type}]->(b:{e.label}) RETURN a.`{s.key}` AS a, b.`{e.key}` AS b",
            timeout=None).rows
        out[f"{rel.type}:{rel.start}->{rel.end}"] = sorted((r["a"], r["b"]) for r in rows)
    return out


def own_neo4j_server(home: Path):
    """A throwaway Neo4j server of one test (the test kills it): (its state, its password).
    Skips without Java/Maven, fails then under SITEGRAPH_REQUIRE_NEO4J=1."""
    import secrets

    import pytest

    from graphmodel import neo4j_local

    password = "pw-" + secrets.token_hex(8)
    try:
        return neo4j_local.start(home, password=password, heap="512m", pagecache="128m"), password
    except Exception as e:  # no Java/Maven
        if os.environ.get("SITEGRAPH_REQUIRE_NEO4J") == "1":
            raise
        pytest.skip(f"no local Neo4j: {e}")


def dump(backend, *, load_stamps: bool = True) -> dict:
    """The whole graph; without `load_stamps`, load_id/loaded_at are left out (to compare
    the result of different loads of the same data)."""
    out: dict = {}
    for nt in NODE_TYPES:
        keys = [k for k, _, _ in all_props(nt) if load_stamps or k not in ("load_id", "loaded_at")]
        ret = ", ".join(f"n.`{k}` AS `{k}`" for k in keys)
        rows = backend.read(f"MATCH (n:{nt.label}) RETURN {ret}", timeout=None).rows
        out[nt.label] = sorted((json.dumps(r, ensure_ascii=False, sort_keys=True, default=_plain) for r in rows))
    out.update(edges(backend))
    out[META_LABEL] = backend.read(f"MATCH (m:{META_LABEL}) RETURN m.name AS n, m.schema_version AS v",
                                   timeout=None).rows
    return out


def _plain(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def node_count(d: dict) -> int:
    return sum(len(d[nt.label]) for nt in NODE_TYPES)


def cli_env(extra: dict | None = None) -> dict:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.update(extra or {})
    return env


def sitegraph_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", *args]


def popen_cli(*args: str, env: dict | None = None, stdout=None) -> subprocess.Popen:
    """Start `sitegraph ARGS` in the background, in its own process group.

    Output goes to pipes (read them with communicate(), or a full pipe blocks the child),
    or to the open file `stdout` (both streams)."""
    out = stdout if stdout is not None else subprocess.PIPE
    err = subprocess.STDOUT if stdout is not None else subprocess.PIPE
    return subprocess.Popen(sitegraph_cmd(*args), cwd=ROOT, env=env or cli_env(), stdout=out, stderr=err,
                            text=True, encoding="utf-8", start_new_session=True, preexec_fn=_default_sigint)


def _default_sigint() -> None:
    # A test runner started in the background inherits SIGINT ignored (POSIX), and Python
    # then installs no KeyboardInterrupt handler: give the child a terminal's default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kill_hard(proc: subprocess.Popen) -> None:
    """SIGKILL a process we started (and its group), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def running_queries(driver) -> list[str]:
    """The texts of the statements Neo4j is running now (a neo4j driver), other than this one."""
    recs = driver.execute_query("SHOW TRANSACTIONS YIELD currentQuery WHERE NOT currentQuery STARTS WITH 'SHOW' "
                                "RETURN currentQuery AS q").records
    return [r["q"] or "" for r in recs]


def wait_for(pred, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll `pred` until it returns a truthy value; that value, or AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
