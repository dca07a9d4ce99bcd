"""Neo4j loads in bounded batches (graphmodel/batched.py): the same graph as one transaction,
and all or nothing for the user — an exception, a killed loader (SIGKILL between batches,
undone by the next open) or a second loader at once leave no part of a load behind.

The ledgers are a generated campaign (loaders/rounds.py: three monthly rounds of one
township, the third with --prune, and a late round), so the undo covers creates, updates,
moves, retirements, late versions and history rows. The batch size is made small
(SITEGRAPH_NEO4J_BATCH_ROWS) so that each load is many batches.
"""
from __future__ import annotations

import json
import time

import pytest

from conftest import run_cli, wipe_neo4j
from graphmodel import batched
from graphmodel.backends import open_backend
from graphmodel.schema import LOAD_LABEL, LOAD_PROPS, META_LABEL, NODE_TYPES, history_label, history_props
from reliability_helpers import cli_env, dump, kill_hard, own_neo4j_server, popen_cli, wait_for

pytestmark = pytest.mark.neo4j

BATCH = "10"  # parameter rows per transaction: every load below is several batches (2 to 21)
STAMPS = ("load_id", "loaded_at")


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    """The campaign's ledgers as CSV folders, in load order: (name, folder, extra load options)."""
    root = tmp_path_factory.mktemp("rounds")
    p = run_cli("generate", str(root), "-n", "120", "--seed", "5", "--rounds", "3", "--format", "csv")
    assert p.returncode == 0, p.stderr
    spec = json.loads((root / "rounds.json").read_text(encoding="utf-8"))
    out = []
    for r in spec["rounds"]:
        opts = ["--source", spec["source"], "--date", r["survey_date"], *(["--prune"] if r["prune"] else [])]
        out.append((r["name"], root / r["ledger"], opts))
    return out


def _env(server, **extra) -> dict:
    return cli_env({**server.env, "SITEGRAPH_NEO4J_BATCH_ROWS": BATCH, **extra})


def _load(server, rnd, **env):
    name, folder, opts = rnd
    return run_cli("load", str(folder), "--neo4j", server.uri, *opts, "--format", "json", env=_env(server, **env))


def full_dump(b, stamps: bool = True) -> dict:
    """dump() plus every history row, every SitegraphLoad, the load counter and the journal."""
    d = dump(b, load_stamps=stamps)
    d[META_LABEL] = sorted(d[META_LABEL], key=lambda r: r["n"])
    for nt in NODE_TYPES:
        keys = [k for k, _, _ in history_props(nt) if stamps or k not in STAMPS]
        rows = b.read(f"MATCH (n:{history_label(nt)}) RETURN " + ", ".join(f"n.`{k}` AS `{k}`" for k in keys),
                      timeout=None).rows
        d[history_label(nt)] = sorted(json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) for r in rows)
    keys = [p.key for p in LOAD_PROPS if stamps or p.key not in STAMPS]
    d[LOAD_LABEL] = b.read(f"MATCH (l:{LOAD_LABEL}) RETURN " + ", ".join(f"l.`{k}` AS `{k}`" for k in keys)
                           + " ORDER BY l.load_seq", timeout=None).rows
    d["last_seq"] = b.read(f"MATCH (m:{META_LABEL}) WHERE m.name = 'loads' RETURN m.last_seq AS s").rows
    d["journal"] = b.read(f"MATCH (u:{batched.UNDO_LABEL}) RETURN count(u) AS c").rows[0]["c"]
    return d


def _open(server, write: bool = False):
    """The server's graph, credentials in the URI (the process environment may hold another's)."""
    from urllib.parse import quote

    scheme, host = server.uri.split("://", 1)
    return open_backend(neo4j=f"{scheme}://{quote(server.user, safe='')}:{quote(server.password, safe='')}@{host}",
                        write=write)


def _state(server, stamps: bool = True) -> dict:
    b = _open(server)
    try:
        return full_dump(b, stamps)
    finally:
        b.close()


def _heads(server) -> int:
    import neo4j

    with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as d:
        return d.execute_query(f"MATCH (u:{batched.UNDO_LABEL}) WHERE u.undo_head RETURN count(u) AS c").records[0]["c"]


@pytest.fixture(scope="module")
def reference(rounds, neo4j_server):
    """The campaign's graph after each round, every load one transaction (nothing goes wrong)."""
    wipe_neo4j(neo4j_server)
    out = []
    for rnd in rounds:
        p = _load(neo4j_server, rnd, SITEGRAPH_NEO4J_BATCH_ROWS="1000000")
        assert p.returncode == 0, p.stderr
        out.append(_state(neo4j_server, stamps=False))
    wipe_neo4j(neo4j_server)
    return out


def test_batched_loads_give_the_graph_of_one_transaction(rounds, reference, neo4j_server):
    """Every round in batches: the same graph, history and loads as one transaction each;
    a repeated load writes nothing but its SitegraphLoad; no journal is left."""
    wipe_neo4j(neo4j_server)
    for i, rnd in enumerate(rounds):
        p = _load(neo4j_server, rnd)
        assert p.returncode == 0, p.stderr
        assert _state(neo4j_server, stamps=False) == reference[i], rnd[0]
    before = _state(neo4j_server)
    assert before["journal"] == 0
    p = _load(neo4j_server, rounds[-1])
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert not any(v["created"] or v["updated"] or v["moved"] or v["pruned"] for v in rep["labels"].values())
    after = _state(neo4j_server)
    assert after[LOAD_LABEL][:-1] == before[LOAD_LABEL] and len(after[LOAD_LABEL]) == len(before[LOAD_LABEL]) + 1
    assert {k: v for k, v in after.items() if k not in (LOAD_LABEL, "last_seq")} == \
           {k: v for k, v in before.items() if k not in (LOAD_LABEL, "last_seq")}


def test_statement_shapes_are_journaled_or_refused():
    """Every write statement names the nodes it touches; an unknown shape is refused."""
    assert batched._keys_of("UNWIND $rows AS r MATCH (h:EnterpriseHistory {h_id: r.id}) SET h.h_to = r.to",
                            {"rows": [{"id": "a|1", "to": None}]}) == ("MATCH", "EnterpriseHistory", ["a|1"], "match")
    from graphmodel.schema import NODES, REL_TYPES
    from graphmodel.writer import STMT_NEXT_SEQ, stmt_create_rels, stmt_delete_rels, stmt_prune

    rel = REL_TYPES[0]
    owner = NODES[rel.owner]
    pair = {"a": "x", "b": "y"}
    got = batched._keys_of(stmt_create_rels(rel), {"pairs": [pair]})
    assert got == ("rel", owner.label, ["x" if rel.owner_is_start else "y"], "match")
    assert batched._keys_of(stmt_delete_rels(rel), {"keys": ["k1"]})[1:3] == (owner.label, ["k1"])
    assert batched._keys_of(stmt_prune(owner), {"keys": ["k2"]})[1:3] == (owner.label, ["k2"])
    assert batched._keys_of(STMT_NEXT_SEQ, {}) == ("MERGE", META_LABEL, ["loads"], "merge")
    assert batched._keys_of("MATCH (n) SET n.x = 1", {}) is None


def test_an_exception_between_batches_undoes_the_load(rounds, neo4j_server):
    """A failure after some batches committed (here injected after batch 2 of the pruning
    round): the load fails and the graph, its history and loads are exactly as before."""
    wipe_neo4j(neo4j_server)
    for rnd in rounds[:2]:
        assert _load(neo4j_server, rnd).returncode == 0
    before = _state(neo4j_server)
    p = _load(neo4j_server, rounds[2], **{batched.FAULT_ENV: "raise:2"})
    assert p.returncode == 1, p.stdout + p.stderr
    assert _heads(neo4j_server) == 0  # undone at once, by the loader itself
    assert _state(neo4j_server) == before
    assert _load(neo4j_server, rounds[2]).returncode == 0


@pytest.mark.parametrize("start,batch", [(0, 2), (0, 20), (1, 2), (2, 3), (3, 1)])
def test_a_loader_killed_between_batches_is_undone_at_the_next_open(rounds, reference, neo4j_server, start, batch):
    """SIGKILL of `sitegraph load` after batch N committed — a first load into an empty
    graph, the pruning round, the late round: the head it leaves is found by the next open
    (a read-only `info`), the load undone before anything is read, and the graph is exactly
    as before; the next loads give the graph of an undisturbed campaign."""
    wipe_neo4j(neo4j_server)
    p = run_cli("init", "--neo4j", neo4j_server.uri, env=_env(neo4j_server))  # the schema is not the load's
    assert p.returncode == 0, p.stderr
    for rnd in rounds[:start]:
        assert _load(neo4j_server, rnd).returncode == 0
    before = _state(neo4j_server)
    p = _load(neo4j_server, rounds[start], **{batched.FAULT_ENV: f"kill:{batch}"})
    assert p.returncode == -9, p.stdout + p.stderr
    assert _heads(neo4j_server) == 1  # batches of the load are in the graph, and its head
    info = run_cli("info", "--neo4j", neo4j_server.uri, "--format", "json", env=_env(neo4j_server))
    assert info.returncode == 0, info.stderr
    assert "已撤销" in info.stderr and "undid an unfinished batched load" in info.stderr
    assert _heads(neo4j_server) == 0
    assert _state(neo4j_server) == before
    for i, rnd in enumerate(rounds[start:], start):
        assert _load(neo4j_server, rnd).returncode == 0
        assert _state(neo4j_server, stamps=False) == reference[i]


def test_the_next_load_undoes_a_killed_one_first(rounds, reference, neo4j_server):
    """Without an open in between, the next load itself undoes the dead one, then loads."""
    wipe_neo4j(neo4j_server)
    assert _load(neo4j_server, rounds[0]).returncode == 0
    assert _load(neo4j_server, rounds[1], **{batched.FAULT_ENV: "kill:2"}).returncode == -9
    assert _heads(neo4j_server) == 1
    p = _load(neo4j_server, rounds[1])
    assert p.returncode == 0, p.stderr
    assert "已撤销" in p.stderr
    assert _state(neo4j_server, stamps=False) == reference[1]


def test_a_second_loader_waits_and_readers_are_told(rounds, reference, neo4j_server, tmp_path):
    """While a batched load is paused between batches: a reader gets an answer and is told a
    load is in progress; a second loader waits for the first (the lock) and then loads; the
    result is that of the two loads one after the other."""
    wipe_neo4j(neo4j_server)
    assert _load(neo4j_server, rounds[0]).returncode == 0
    pause = tmp_path / "paused"
    a = popen_cli("load", str(rounds[1][1]), "--neo4j", neo4j_server.uri, *rounds[1][2],
                  env=_env(neo4j_server, **{batched.FAULT_ENV: f"pause:2:{pause}"}), stdout=open(tmp_path / "a", "w"))
    b = None
    try:
        wait_for(lambda: pause.exists() or a.poll() is not None, 300, what="the first loader to pause")
        assert a.poll() is None, (tmp_path / "a").read_text()
        q = run_cli("info", "--neo4j", neo4j_server.uri, "--format", "json", env=_env(neo4j_server))
        assert q.returncode == 0, q.stderr
        assert "分批导入正在进行" in q.stderr and "in progress" in q.stderr
        assert _heads(neo4j_server) == 1  # the reader did not undo a live load
        b = popen_cli("load", str(rounds[2][1]), "--neo4j", neo4j_server.uri, *rounds[2][2],
                      env=_env(neo4j_server), stdout=open(tmp_path / "b", "w"))
        # the second loader is blocked on the lock for as long as the first one holds it
        for _ in range(40):
            assert b.poll() is None, (tmp_path / "b").read_text()
            time.sleep(0.1)
        pause.unlink()
        assert a.wait(timeout=300) == 0, (tmp_path / "a").read_text()
        assert b.wait(timeout=300) == 0, (tmp_path / "b").read_text()
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                kill_hard(p)
    assert "已撤销" not in (tmp_path / "b").read_text()
    assert _state(neo4j_server, stamps=False) == reference[2]


def test_the_server_killed_between_batches_loses_nothing(rounds, tmp_path):
    """The server dies while a batched load is between batches: the loader fails with one
    clear message (it cannot undo now); after the restart the first open undoes the batches
    that were committed, and the graph is exactly as before."""
    from graphmodel import neo4j_local

    home = tmp_path / "neo4j-home"
    st, password = own_neo4j_server(home)
    try:
        class Server:  # what the helpers above need of a server
            uri, user, password = st.uri, st.user, st.password

            @property
            def env(self) -> dict:
                return {"NEO4J_URI": self.uri, "NEO4J_USERNAME": self.user, "NEO4J_PASSWORD": self.password}

        server = Server()

        assert run_cli("init", "--neo4j", st.uri, env=_env(server)).returncode == 0
        before = _state(server)
        pause = tmp_path / "paused"
        out = tmp_path / "load.out"
        proc = popen_cli("load", str(rounds[0][1]), "--neo4j", st.uri, *rounds[0][2],
                         env=_env(server, SITEGRAPH_NEO4J_RETRY_S="2", **{batched.FAULT_ENV: f"pause:3:{pause}"}),
                         stdout=open(out, "w"))
        try:
            wait_for(lambda: pause.exists() or proc.poll() is not None, 300, what="the loader to pause")
            assert proc.poll() is None, out.read_text()
            neo4j_local.kill(home)
            pause.unlink()
            assert proc.wait(timeout=300) == 1
        finally:
            if proc.poll() is None:
                kill_hard(proc)
        text = out.read_text(encoding="utf-8")
        assert "连接中断" in text and "导入可重复执行" in text and "Traceback" not in text, text
        assert st.password not in text
        st = neo4j_local.start(home, password=password, heap="512m", pagecache="128m")
        server.uri = st.uri
        assert _heads(server) == 1
        assert _state(server) == before  # the open inside _state undid the three batches
        assert _heads(server) == 0
        assert _load(server, rounds[0]).returncode == 0
    finally:
        neo4j_local.stop(home)
