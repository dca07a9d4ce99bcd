"""Fault injection on real databases: a load interrupted by a dead server or a killed process
leaves the graph exactly as it was, the store opens again, and the next load succeeds;
queries during a load see the last committed state or get a clear "busy" message.

The surveys are generated (loaders/generate.py): S1 (300 enterprises, ~2k records) is
loaded first; S2 (2,000 enterprises, ~14k records) is the load that gets interrupted on the
embedded store — large enough that its write phase lasts a few seconds — and S3 (600
enterprises) on Neo4j, whose write phase is slower. After an interruption the next load
must give exactly the graph an undisturbed S1-then-S2 (S3) load gives.
"""
from __future__ import annotations

import glob
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from conftest import run_cli
from graphmodel import neo4j_local
from graphmodel.backends import open_backend
from loaders.generate import generate, write_survey_files
from reliability_helpers import (cli_env, dump, kill_hard, own_neo4j_server, popen_cli, running_queries,
                                 wait_for)

S1_N, S2_N, S3_N = 300, 2000, 600  # S3: the load interrupted on Neo4j (its write phase is slower)


@pytest.fixture(scope="module")
def surveys(tmp_path_factory):
    """Two disjoint generated surveys as CSV folders, with their record counts."""
    root = tmp_path_factory.mktemp("surveys")
    out = {}
    for name, n, seed in (("s1", S1_N, 11), ("s2", S2_N, 12), ("s3", S3_N, 13)):
        s = generate(n, seed=seed)
        write_survey_files(s, root / name, format="csv")
        out[name] = (root / name, s.counts())
    # the graphs S1 then S2 (S1 then S3) make when nothing goes wrong (they take over some S1 records)
    for ref, second in (("reference", "s2"), ("reference3", "s3")):
        db = root / f"{ref}.db"
        for name in ("s1", second):
            p = run_cli("load", str(out[name][0]), "--db", str(db), "--format", "json")
            assert p.returncode == 0, p.stderr
        b = open_backend(str(db))
        out[ref] = dump(b, load_stamps=False)
        b.close()
    return out


def _counts(d: dict) -> dict[str, int]:
    from graphmodel.schema import NODE_TYPES

    return {nt.label: len(d[nt.label]) for nt in NODE_TYPES}


def _no_traceback(p) -> None:
    assert "Traceback" not in p.stderr and "内部错误" not in p.stderr, p.stderr


# --- (b) the loading process killed, embedded store ----------------------------------------

def _ladybug_files(db: Path) -> dict[str, int]:
    return {f[len(str(db)):]: os.path.getsize(f) for f in glob.glob(f"{db}*")}


@pytest.mark.parametrize("moment", ["transaction", "checkpoint", "ctrl-c"])
def test_killed_load_process_leaves_embedded_graph_unchanged(surveys, tmp_path, moment):
    """SIGKILL `sitegraph load` mid-write: during the transaction, or while Ladybug checkpoints
    the committed transaction (before the fix in embedded.py this second case left a file that
    no process could open again — the reopen segfaulted); or Ctrl-C (SIGINT) during the
    transaction, which must roll back, say so and leave no stray copy."""
    (s1, c1), (s2, c2) = surveys["s1"], surveys["s2"]
    db = tmp_path / "graph.db"
    p = run_cli("load", str(s1), "--db", str(db), "--format", "json")
    assert p.returncode == 0, p.stderr
    b = open_backend(str(db))
    before = dump(b)
    b.close()
    assert _counts(before) == c1

    out = open(tmp_path / "load.out", "w")
    proc = popen_cli("load", str(s2), "--db", str(db), stdout=out)
    new = f"{db}.sitegraph-new"
    try:
        if moment in ("transaction", "ctrl-c"):
            # the write transaction runs on the copy; give it a moment to be well under way
            wait_for(lambda: os.path.exists(new) or proc.poll() is not None, 300, what="the write to start")
            time.sleep(0.3)
        else:
            wait_for(lambda: os.path.exists(new + ".wal.checkpoint") or proc.poll() is not None, 300,
                     interval=0.002, what="the checkpoint of the committed transaction")
        assert proc.poll() is None, "the load finished before it could be interrupted: make S2 bigger"
        files_at_kill = _ladybug_files(db)
        if moment == "ctrl-c":
            os.kill(proc.pid, signal.SIGINT)
            assert proc.wait(timeout=300) == 130
            assert "已中断" in (tmp_path / "load.out").read_text(encoding="utf-8")
            assert not os.path.exists(new), "an interrupted load left its copy behind"
    finally:
        if proc.poll() is None:
            kill_hard(proc)
    assert "" in files_at_kill

    # the store opens again, read-only (queries) and read-write, and holds exactly the old graph
    info = run_cli("info", "--db", str(db), "--format", "json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["nodes"] == c1
    b = open_backend(str(db))
    assert dump(b) == before
    b.close()

    # the next load succeeds, removes the stray copy, and a repeat of it changes nothing
    p = run_cli("load", str(s2), "--db", str(db), "--format", "json")
    assert p.returncode == 0, p.stderr
    assert not os.path.exists(new)
    b = open_backend(str(db))
    after = dump(b)
    assert dump(b, load_stamps=False) == surveys["reference"]  # as if the kill had never happened
    b.close()
    p = run_cli("load", str(s2), "--db", str(db), "--format", "json")
    assert p.returncode == 0
    rep = json.loads(p.stdout)
    assert all(r["created"] == 0 and r["updated"] == 0 for r in rep["labels"].values())
    b = open_backend(str(db))
    assert dump(b) == after  # idempotent: not even load_id/loaded_at move
    b.close()


# --- (c) queries while a load runs, embedded store ------------------------------------------

def _writer_holds_lock(db: Path) -> bool:
    """True while some process holds the writer flock of the embedded store."""
    import fcntl

    lock = Path(f"{db}.sitegraph.lock")
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing also releases a lock taken here
    return False


def test_queries_during_embedded_load_see_a_committed_state(surveys, tmp_path):
    """Real concurrent processes: readers during a load get the old graph or the new one (never
    a mix), or a clear busy message — never a crash; a second loader is told the store is busy;
    a reader opened before the commit keeps its snapshot."""
    (s1, c1), (s2, c2) = surveys["s1"], surveys["s2"]
    db = tmp_path / "graph.db"
    assert run_cli("load", str(s1), "--db", str(db)).returncode == 0
    both = _counts(surveys["reference"])
    early = open_backend(str(db))  # a reader that opened before the load
    early_dump = dump(early)

    out = open(tmp_path / "load.out", "w")
    loader = popen_cli("load", str(s2), "--db", str(db), stdout=out)
    seen = []
    try:
        # a second writer is refused while the first one runs
        wait_for(lambda: loader.poll() is not None or _writer_holds_lock(db), 60, what="the loader's lock")
        second = run_cli("load", str(s2), "--db", str(db))
        if loader.poll() is None:
            assert second.returncode == 1
            assert "另一个进程" in second.stderr
            _no_traceback(second)
        # CLI readers (real processes) in a thread for the whole load …
        cli_results = []

        def cli_readers():
            while loader.poll() is None and len(cli_results) < 60:
                q = run_cli("info", "--db", str(db), "--format", "json")
                c = run_cli("cypher", "MATCH (t:Tenancy)-[:COVERS]->(b:Building) RETURN count(t) AS n",
                            "--db", str(db), "--format", "json")
                cli_results.append((q, c))

        th = threading.Thread(target=cli_readers)
        th.start()
        # … and in-process readers in a tight loop while the transaction runs (on the copy)
        during_write = []
        while loader.poll() is None:
            if os.path.exists(f"{db}.sitegraph-new"):
                r = open_backend(str(db))
                try:
                    during_write.append(r.counts()["nodes"])
                finally:
                    r.close()
            else:
                time.sleep(0.01)
        th.join()
        assert during_write and all(s in (c1, both) for s in during_write), during_write
        for q, c in cli_results:
            for r in (q, c):
                assert r.returncode in (0, 1), r.stderr
                _no_traceback(r)
                if r.returncode == 1:
                    assert "另一个进程" in r.stderr or "稍后" in r.stderr, r.stderr
            if q.returncode == 0:
                seen.append(json.loads(q.stdout)["nodes"])
            if c.returncode == 0:
                assert json.loads(c.stdout)[0]["n"] in (c1["Tenancy"], both["Tenancy"])
        assert loader.wait(timeout=600) == 0
    finally:
        if loader.poll() is None:
            kill_hard(loader)
    assert seen, "no query ran during the load"
    assert all(s in (c1, both) for s in seen), seen  # never a half-written graph
    # the early reader still sees its snapshot; a new reader sees the load
    assert dump(early) == early_dump
    early.close()
    q = run_cli("info", "--db", str(db), "--format", "json")
    assert json.loads(q.stdout)["nodes"] == both


# --- (a) the Neo4j server killed mid-load ---------------------------------------------------

@pytest.fixture
def own_neo4j(tmp_path):
    """A throwaway Neo4j server of this test only (it gets killed)."""
    home = tmp_path / "neo4j-home"
    st, _ = own_neo4j_server(home)
    try:
        yield home, st
    finally:
        neo4j_local.stop(home)


def _neo4j_env(st) -> dict:
    return cli_env({"NEO4J_URI": st.uri, "NEO4J_USERNAME": st.user, "NEO4J_PASSWORD": st.password})


def _open_neo4j(st):
    """The throwaway server, credentials in the URI (the process environment stays untouched:
    it holds the shared server's)."""
    from urllib.parse import quote

    scheme, host = st.uri.split("://", 1)
    return open_backend(neo4j=f"{scheme}://{quote(st.user, safe='')}:{quote(st.password, safe='')}@{host}")


@pytest.mark.neo4j
def test_neo4j_killed_mid_load_loses_nothing(surveys, own_neo4j):
    import neo4j

    home, st = own_neo4j
    (s1, c1), (s2, c2) = surveys["s1"], surveys["s3"]
    env = _neo4j_env(st)
    p = run_cli("load", str(s1), "--neo4j", st.uri, "--format", "json", env=env)
    assert p.returncode == 0, p.stderr
    b = _open_neo4j(st)
    before, info_before = dump(b), b.info()
    b.close()
    assert _counts(before) == c1

    killed = threading.Event()
    seen_queries: list[str] = []

    def killer():
        # kill once the load's transaction is drawing relationships: all its nodes are written
        with neo4j.GraphDatabase.driver(st.uri, auth=(st.user, st.password)) as d:
            while not killed.is_set():
                try:
                    recs = d.execute_query(
                        "SHOW TRANSACTIONS YIELD currentQuery, status "
                        "WHERE NOT currentQuery STARTS WITH 'SHOW' RETURN currentQuery AS q").records
                except Exception:
                    return
                qs = [r["q"] or "" for r in recs]
                seen_queries.extend(qs)
                if any(q.startswith("UNWIND $pairs") for q in qs):
                    neo4j_local.kill(home)
                    killed.set()
                    return
                time.sleep(0.02)

    t = threading.Thread(target=killer, daemon=True)
    proc = popen_cli("load", str(s2), "--neo4j", st.uri, env={**env, "SITEGRAPH_NEO4J_RETRY_S": "3"})
    t.start()
    try:
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        killed.set()
        if proc.poll() is None:
            kill_hard(proc)
    assert neo4j_local.status(home) is None, "the server was not killed during the load"
    assert any("CREATE (n:" in q for q in seen_queries)
    # the load fails with one clear message naming the server, without the password
    assert proc.returncode == 1
    assert "Neo4j" in stderr and "127.0.0.1" in stderr, stderr
    assert "连接中断" in stderr and "导入可重复执行" in stderr
    assert "Traceback" not in stderr and "内部错误" not in stderr and st.password not in stderr + stdout

    # restart on the same home: the graph is exactly as before the load
    st2 = neo4j_local.start(home, password=st.password, heap="512m", pagecache="128m")
    b = _open_neo4j(st2)
    try:
        assert dump(b) == before
        info_after = b.info()
        assert info_after["nodes"] == info_before["nodes"]
        assert info_after["relationships"] == info_before["relationships"]
    finally:
        b.close()
    # and the next load succeeds
    env2 = _neo4j_env(st2)
    p = run_cli("load", str(s2), "--neo4j", st2.uri, "--format", "json", env=env2)
    assert p.returncode == 0, p.stderr
    b = _open_neo4j(st2)
    try:
        assert dump(b, load_stamps=False) == surveys["reference3"]
    finally:
        b.close()

    # a login refused after repeated failures (Neo4j locks the user for a while) is a clear message
    for i in range(5):
        p = run_cli("info", "--neo4j", st2.uri, env={**env2, "NEO4J_PASSWORD": f"wrong-{i}"})
        assert p.returncode == 1 and "内部错误" not in p.stderr and f"wrong-{i}" not in p.stderr
    assert "拒绝登录" in p.stderr  # Security.AuthenticationRateLimit, mapped in neo4j.py

    # the server killed in the middle of a query, with --debug: a traceback, never the password
    time.sleep(6)  # the login lock of the loop above
    slow = "UNWIND range(1, 20000) AS x UNWIND range(1, 20000) AS y RETURN count(DISTINCT x * 100000 + y) AS c"
    q = popen_cli("--debug", "cypher", slow, "--neo4j", st2.uri, "--timeout", "600",
                  env={**env2, "SITEGRAPH_NEO4J_RETRY_S": "2"})
    with neo4j.GraphDatabase.driver(st2.uri, auth=(st2.user, st2.password)) as d:
        wait_for(lambda: q.poll() is not None or any("100000" in x for x in running_queries(d)), 120)
    neo4j_local.kill(home)
    stdout, stderr = q.communicate(timeout=300)
    assert q.returncode == 1
    assert st2.password not in stdout + stderr
    assert "连接中断" in stderr.strip().splitlines()[-1], stderr[-2000:]
