"""No write through the read paths, on both backends.

Every text below is sent where users send Cypher — `Backend.read` (the path of the
prepared queries and briefings) and `sitegraph cypher` — and each must be refused with
ReadOnlyViolation/QueryError (library) or exit 1 with a clear message (CLI), leaving the
graph exactly as it was (a full dump and `info --format json`), no file written or read,
no request sent, no server state changed. Guard: graphmodel/backends/guard.py.
"""
from __future__ import annotations

import http.server
import json
import os
import threading
from pathlib import Path

import pytest

from conftest import BACKENDS, Target, empty_target, only_on, run_cli
from graphmodel.backends import guard
from graphmodel.errors import QueryError, ReadOnlyViolation, SitegraphError
from graphmodel.writer import write_survey
from ledgers import survey_records
from reliability_helpers import dump

SECRET = "TOP-SECRET-7f3a9c"


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request, tmp_path_factory):
    """A graph holding the full test survey, once per backend for the whole module."""
    t = empty_target(request.param, request, tmp_path_factory.mktemp("ro"))
    b = t.open(write=True)
    write_survey(b, survey_records(), source="readonly-test")
    b.close()
    (t.tmp / "secret.csv").write_text(f"k,v\n{SECRET},42\n", encoding="utf-8")
    b = t.open()
    t.baseline = dump(b)
    t.baseline_info = b.info()
    b.close()
    assert sum(t.baseline_info["nodes"].values()) > 20
    return t


# --- the attacks -------------------------------------------------------------------------

COMMON = [
    "MATCH (n:Enterprise) SET n.name = 'x'",
    "MATCH (n:Enterprise) WITH n SET n.name = 'pwned' RETURN n.name",
    "MATCH (n:Enterprise) WITH n WHERE n.uscc IS NOT NULL WITH n SET n.phone = NULL RETURN count(*) AS c",
    "MERGE (n:Enterprise {uscc: 'X'}) RETURN n.uscc",
    "MATCH (n:Enterprise) MERGE (n)-[:OWNS]->(:Building {building_id: 'X'})",
    "CREATE (n:Enterprise {uscc: 'X', name: 'x'})",
    "MATCH (n:Tenancy) DETACH DELETE n",
    "MATCH (n:Tenancy) DELETE n",
    "MATCH ()-[r:COVERS]->() DELETE r",
    "MATCH (n:Enterprise) REMOVE n.name",
    "MATCH (n:Enterprise) SET n.`name` = 'x'",
    "match (n:Enterprise) set n.name = 'x'",
    "FOREACH (x IN [1] | CREATE (:Enterprise {uscc: 'X'}))",
    "MATCH (n:Enterprise) WITH collect(n) AS ns FOREACH (x IN ns | SET x.name = 'x')",
    "MATCH (n:Enterprise) CALL (n) { SET n.name = 'x' } IN TRANSACTIONS",
    "CALL { MATCH (n:Tenancy) DETACH DELETE n } IN TRANSACTIONS",
    "MATCH (n:Enterprise) CALL { WITH n SET n.name = 'x' } RETURN count(*) AS c",
    "MATCH (n:Enterprise) RETURN n.uscc; MATCH (n:Tenancy) DETACH DELETE n",
    "MATCH (n:Enterprise) RETURN n.uscc AS u /* harmless */; CREATE (:Enterprise {uscc: 'X'})",
    "RETURN 1 AS x;\nCHECKPOINT",
    "MATCH (n:Enterprise)\n// just a comment\nSET n.name = 'x'",
    "MATCH (n:Enterprise) /* RETURN n.uscc */ SET n.name = 'x'",
    "MATCH (n:Enterprise) RETURN n.uscc AS u UNION MATCH (n:Enterprise) SET n.name = 'x' RETURN n.uscc AS u",
    "UNWIND [1] AS x CREATE (:Enterprise {uscc: 'X'})",
    "OPTIONAL MATCH (n:Enterprise {uscc: 'none'}) WITH n WHERE n IS NULL CREATE (:Enterprise {uscc: 'X'})",
    "DROP TABLE Tenancy",
    "CREATE INDEX pwn FOR (n:Enterprise) ON (n.name)",
    "CHECKPOINT",
    "BEGIN TRANSACTION",
    "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "LOAD CSV WITH HEADERS FROM 'file://{tmp}/secret.csv' AS line RETURN line",
]

EMBEDDED = [
    "LOAD FROM '{tmp}/secret.csv' (header=true) RETURN *",
    "WITH 1 AS x LOAD FROM '{tmp}/secret.csv' (header=true) RETURN *",
    "LOAD FROM '/etc/passwd' (file_format='csv', header=false, delim=':') RETURN *",
    "load\tfrom '{tmp}/secret.csv' (header=true) RETURN *",
    "COPY (MATCH (n:Enterprise) RETURN n.uscc, n.phone) TO '{tmp}/out.csv'",
    "COPY Enterprise FROM '{tmp}/secret.csv' (header=true)",
    "EXPORT DATABASE '{tmp}/exported'",
    "IMPORT DATABASE '{tmp}/exported'",
    "INSTALL httpfs",
    "LOAD EXTENSION httpfs",
    "LOAD httpfs",
    "ATTACH '{tmp}/other.db' AS o (dbtype lbug)",
    "USE o",
    "DETACH o",
    "CREATE MACRO pwn(x) AS x + 1",
    "CALL project_graph('g', ['Enterprise'], [])",
    "CALL clear_warnings()",
    "CALL timeout = 1",
    "CALL threads=1",
    "ALTER TABLE Enterprise ADD pwned INT64",
    "COMMENT ON TABLE Enterprise IS 'pwned'",
    "CREATE NODE TABLE Pwned(k STRING PRIMARY KEY)",
    "ROLLBACK",
]

NEO4J = [
    "CALL db.createLabel('Pwned')",
    "CALL db.createProperty('pwned')",
    "CALL db.createRelationshipType('PWNED')",
    "CALL db.stats.collect('QUERIES')",
    "CALL db.clearQueryCaches()",
    "CALL tx.setMetaData({a: 1})",
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "SHOW TRANSACTIONS YIELD *",
    "SHOW USERS",
    "ALTER CURRENT USER SET PASSWORD FROM 'a' TO 'b'",
    "CREATE CONSTRAINT pwn FOR (n:Pwned) REQUIRE n.k IS UNIQUE",
    "CYPHER runtime=slotted MATCH (n:Enterprise) SET n.name = 'x'",
    "EXPLAIN MATCH (n:Enterprise) SET n.name = 'x'",
    "PROFILE MATCH (n:Tenancy) DETACH DELETE n",
    "USE system SHOW DATABASES",
    "USE neo4j MATCH (n:Enterprise) SET n.name = 'x'",
    "LOAD CSV FROM 'http://127.0.0.1:{port}/ssrf' AS line RETURN line",
]


@pytest.fixture(scope="module")
def listener():
    """A local HTTP server that records every request it receives (LOAD CSV must send none)."""
    hits: list[str] = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"a,b\n1,2\n")

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv.server_address[1], hits
    srv.shutdown()


def _fill(text: str, t: Target, port: int) -> str:
    return text.replace("{tmp}", str(t.tmp)).replace("{port}", str(port))


def _neo4j_catalogue(t: Target) -> dict:
    """Labels, property keys and relationship types the server knows (created by procedures)."""
    import neo4j

    s = t.server
    with neo4j.GraphDatabase.driver(s.uri, auth=(s.user, s.password)) as d:
        return {
            q: sorted(r[0] for r in d.execute_query(q).records)
            for q in ("CALL db.labels()", "CALL db.propertyKeys()", "CALL db.relationshipTypes()")
        }


def _assert_untouched(t: Target, b, message: str) -> None:
    assert dump(b) == t.baseline
    assert SECRET not in message, "the refusal leaked the content of a local file"
    assert "root:x:0:0" not in message
    for name in ("out.csv", "exported", "other.db"):
        assert not (t.tmp / name).exists(), f"{name} was written by a read"
    if t.kind == "embedded":
        assert not Path(str(t.path) + ".shadow").exists()


def _ids(texts: list[str]) -> list[str]:
    return [t[:48] for t in texts]


@pytest.mark.parametrize("attack", COMMON, ids=_ids(COMMON))
def test_write_through_read_is_refused(loaded, listener, attack):
    """Library path (prepared queries and briefings use it): each attack raises, nothing changes."""
    _assert_read_refuses(loaded, listener, attack)


@only_on("embedded")
@pytest.mark.parametrize("attack", EMBEDDED, ids=_ids(EMBEDDED))
def test_write_through_read_is_refused_ladybug_dialect(loaded, listener, attack):
    _assert_read_refuses(loaded, listener, attack)


@only_on("neo4j")
@pytest.mark.parametrize("attack", NEO4J, ids=_ids(NEO4J))
def test_write_through_read_is_refused_neo4j_dialect(loaded, listener, attack):
    _assert_read_refuses(loaded, listener, attack)


def _assert_read_refuses(loaded: Target, listener, attack: str) -> None:
    port, hits = listener
    text = _fill(attack, loaded, port)
    before_cat = _neo4j_catalogue(loaded) if loaded.kind == "neo4j" else None
    b = loaded.open()
    try:
        with pytest.raises((ReadOnlyViolation, QueryError)) as ei:
            b.read(text)
        msg = str(ei.value)
        assert msg.strip() and "Traceback" not in msg
        # the connection is still good for a real read afterwards
        assert b.read("MATCH (n:Enterprise) RETURN count(n) AS c").rows[0]["c"] == loaded.baseline_info["nodes"][
            "Enterprise"]
        _assert_untouched(loaded, b, msg)
    finally:
        b.close()
    assert hits == [], "LOAD CSV made the server send a request"
    if before_cat is not None:
        assert _neo4j_catalogue(loaded) == before_cat
    if loaded.kind == "embedded":  # a new read-only open still works (CHECKPOINT left no recovery state)
        b2 = loaded.open()
        b2.close()


CLI_ATTACKS = [
    "MATCH (n:Enterprise) WITH n SET n.name = 'pwned' RETURN n.name",
    "MATCH (n:Tenancy) DETACH DELETE n",
    "MATCH (n:Enterprise) RETURN n.uscc; MATCH (n:Tenancy) DETACH DELETE n",
    "MATCH (n:Enterprise) /* RETURN n.uscc */ SET n.name = 'x'",
    "CALL { MATCH (n:Tenancy) DETACH DELETE n } IN TRANSACTIONS",
    "FOREACH (x IN [1] | CREATE (:Enterprise {uscc: 'X'}))",
    "MERGE (n:Enterprise {uscc: 'X'}) RETURN n.uscc",
]
CLI_EMBEDDED = ["LOAD FROM '{tmp}/secret.csv' (header=true) RETURN *", "CHECKPOINT",
                "COPY (MATCH (n:Enterprise) RETURN n.phone) TO '{tmp}/out.csv'", "CREATE MACRO pwn(x) AS x + 1"]
CLI_NEO4J = ["CALL db.createLabel('Pwned')", "LOAD CSV FROM 'http://127.0.0.1:{port}/ssrf' AS line RETURN line",
             "TERMINATE TRANSACTIONS 'neo4j-transaction-1'"]


def test_cli_cypher_refuses_writes(loaded, listener):
    """`sitegraph cypher`: exit 1, one clear line on stderr, nothing on stdout, graph unchanged."""
    port, hits = listener
    info_before = json.loads(run_cli("info", *loaded.args, "--format", "json", env=loaded.env).stdout)
    texts = CLI_ATTACKS + (CLI_EMBEDDED if loaded.kind == "embedded" else CLI_NEO4J)
    for text in texts:
        p = run_cli("cypher", _fill(text, loaded, port), *loaded.args, "--format", "json", env=loaded.env)
        assert p.returncode == 1, (text, p.stdout, p.stderr)
        assert p.stdout == ""
        assert "错误 / error" in p.stderr and ("只读" in p.stderr or "一条语句" in p.stderr), (text, p.stderr)
        assert "Traceback" not in p.stderr and SECRET not in p.stderr
    info_after = json.loads(run_cli("info", *loaded.args, "--format", "json", env=loaded.env).stdout)
    assert info_after == info_before
    assert info_after["nodes"] == loaded.baseline_info["nodes"]
    b = loaded.open()
    try:
        _assert_untouched(loaded, b, "")
    finally:
        b.close()
    assert hits == []


# --- the guard itself --------------------------------------------------------------------

LEGIT = [
    "MATCH (n:Enterprise) RETURN n.name AS set ORDER BY `set`",
    "MATCH (n:Enterprise) WHERE n.name CONTAINS 'CREATE; DELETE' RETURN count(*) AS c",
    "MATCH (n:Enterprise) RETURN n.uscc AS u // SET n.name = 'x'\n ORDER BY u",
    "MATCH (n:Enterprise) RETURN n.`uscc` AS `load` ORDER BY `load`",
    "MATCH (n:Building) WHERE n.planned_use = $use RETURN count(*) AS c",
    "MATCH (e:Enterprise)-[:LESSEE_OF]->(t:Tenancy)-[:COVERS]->(b:Building) "
    "WHERE EXISTS { MATCH (b)-[:IN_SITE]->(:Site) } RETURN e.uscc AS u, count(t) AS n ORDER BY u",
    "MATCH (n:Enterprise) RETURN n.uscc AS u;",
]


@pytest.mark.parametrize("text", LEGIT)
def test_legitimate_reads_pass(loaded, text):
    b = loaded.open()
    try:
        res = b.read(text, {"use": "生产"} if "$use" in text else {})
    finally:
        b.close()
    assert res.columns


@only_on("embedded")
def test_embedded_plan_check_catches_what_the_text_check_would_miss(loaded):
    """Layer 2 alone (Ladybug's own EXPLAIN plan) refuses the non-read statements too."""
    import ladybug

    db = ladybug.Database(str(loaded.path), read_only=True)
    conn = ladybug.Connection(db)
    try:
        for text in [f"LOAD FROM '{loaded.tmp}/secret.csv' (header=true) RETURN *",
                     f"WITH 1 AS x LOAD FROM '{loaded.tmp}/secret.csv' (header=true) RETURN *",
                     f"COPY (MATCH (n:Enterprise) RETURN n.uscc) TO '{loaded.tmp}/out.csv'",
                     "CHECKPOINT", "INSTALL httpfs", "CALL timeout=1", "BEGIN TRANSACTION"]:
            # (not EXPORT DATABASE: binding it for EXPLAIN already creates the folder — one
            # reason the text check runs before any EXPLAIN)
            plan = "\n".join(str(v) for row in conn.execute("EXPLAIN " + text).get_all() for v in row)
            with pytest.raises(ReadOnlyViolation):
                guard.check_ladybug_plan(plan)
        ok = conn.execute("EXPLAIN MATCH (n:Enterprise) RETURN n.uscc, COUNT { MATCH (n)-[:OWNS]->() } AS c")
        guard.check_ladybug_plan("\n".join(str(v) for row in ok.get_all() for v in row))
    finally:
        conn.close()
        db.close()
    _assert_untouched_embedded_files(loaded)


def _assert_untouched_embedded_files(t: Target) -> None:
    assert not (t.tmp / "out.csv").exists() and not (t.tmp / "exported").exists()


@only_on("neo4j")
def test_neo4j_plan_check_catches_what_the_text_check_would_miss(loaded):
    """Layer 2 alone (Neo4j's EXPLAIN plan) refuses LOAD CSV, admin commands, procedures."""
    import neo4j

    s = loaded.server
    with neo4j.GraphDatabase.driver(s.uri, auth=(s.user, s.password)) as d, \
            d.session(default_access_mode=neo4j.READ_ACCESS) as sess:
        for text in ["LOAD CSV FROM 'http://127.0.0.1:9/x' AS l RETURN l", "SHOW TRANSACTIONS YIELD *",
                     "TERMINATE TRANSACTIONS 'x'", "CALL db.stats.collect('QUERIES')"]:
            summary = sess.run("EXPLAIN " + text).consume()
            assert summary.query_type == "r"  # the server calls them reads …
            with pytest.raises(ReadOnlyViolation):  # … the guard does not
                guard.check_neo4j_plan(summary.plan)
        guard.check_neo4j_plan(sess.run("EXPLAIN CALL db.labels() YIELD label RETURN label").consume().plan)


@pytest.mark.parametrize("text", ["MATCH (n) SET n.x = 1", "load from 'x' return *", "RETURN 1; RETURN 2",
                                  "MATCH (n) DETACH DELETE n", "CALL threads = 4", "match (n) return n; ;x"])
def test_text_check_refuses(text):
    with pytest.raises(ReadOnlyViolation):
        guard.check_text(text)


@pytest.mark.parametrize("text", ["MATCH (n:Set) RETURN n.set AS x", "RETURN 'LOAD FROM x' AS s",
                                  "RETURN $create AS c", "MATCH (n) RETURN n.name AS use",
                                  "RETURN {merge: 1} AS m", "MATCH (n) RETURN n /* DELETE */",
                                  "RETURN 1 AS x ;  "])
def test_text_check_allows_names_that_look_like_keywords(text):
    guard.check_text(text)


# --- timeout and row limit of ad-hoc queries ----------------------------------------------

SLOW = "UNWIND range(1, 5000) AS x UNWIND range(1, 5000) AS y RETURN count(DISTINCT x * 100000 + y) AS c"
# Long enough (about 5 s on either store) that Neo4j's transaction monitor (every 100 ms on
# the local server, 2 s by default) has stopped it well before it could finish.
MEDIUM = "UNWIND range(1, 2500) AS x UNWIND range(1, 2500) AS y RETURN count(DISTINCT x * 100000 + y) AS c"


def test_slow_query_is_stopped_with_a_clear_message(loaded):
    p = run_cli("cypher", SLOW, *loaded.args, "--timeout", "0.5", "--format", "json", env=loaded.env)
    assert p.returncode == 1
    assert p.stdout == ""
    assert "超时" in p.stderr and "timed out" in p.stderr and "Traceback" not in p.stderr
    if loaded.kind == "neo4j":  # the server really stopped it: no such transaction is left running
        import neo4j

        s = loaded.server
        with neo4j.GraphDatabase.driver(s.uri, auth=(s.user, s.password)) as d:
            running = [r["q"] for r in d.execute_query(
                "SHOW TRANSACTIONS YIELD currentQuery AS q RETURN q").records]
        assert not any("100000" in (q or "") for q in running)


def test_timeout_can_be_raised(loaded):
    short = run_cli("cypher", SLOW, *loaded.args, "--timeout", "0.1", "--format", "json", env=loaded.env)
    assert short.returncode == 1 and "超时" in short.stderr
    long = run_cli("cypher", MEDIUM, *loaded.args, "--timeout", "600", "--format", "json", env=loaded.env)
    assert long.returncode == 0, long.stderr
    assert json.loads(long.stdout) == [{"c": 2500 * 2500}]


def test_row_limit_truncates_with_a_notice_and_can_be_raised(loaded):
    q = "UNWIND range(1, 50) AS x RETURN x ORDER BY x"
    p = run_cli("cypher", q, *loaded.args, "--limit", "10", "--format", "json", env=loaded.env)
    assert p.returncode == 0
    assert [r["x"] for r in json.loads(p.stdout)] == list(range(1, 11))
    assert "仅显示前 10 行" in p.stderr and "--limit" in p.stderr
    p = run_cli("cypher", q, *loaded.args, "--limit", "100", "--format", "json", env=loaded.env)
    assert p.returncode == 0
    assert [r["x"] for r in json.loads(p.stdout)] == list(range(1, 51))
    assert "仅显示前" not in p.stderr
    # the default limit holds 10,000 rows and says so when there are more
    p = run_cli("cypher", "UNWIND range(1, 10001) AS x RETURN x", *loaded.args, "--format", "csv", env=loaded.env)
    assert p.returncode == 0
    assert len(p.stdout.strip().splitlines()) == 1 + 10_000
    assert "仅显示前 10000 行" in p.stderr


def test_library_limit_and_truncated_flag(loaded):
    b = loaded.open()
    try:
        r = b.read("UNWIND range(1, 30) AS x RETURN x", limit=7)
        assert len(r.rows) == 7 and r.truncated
        r = b.read("UNWIND range(1, 30) AS x RETURN x", limit=30)
        assert len(r.rows) == 30 and not r.truncated
        with pytest.raises(QueryError, match="超时"):
            b.read(SLOW, timeout=0.3)
        # the connection's timeout is reset afterwards: a later read without one runs
        assert b.read("RETURN 1 AS x", timeout=None).rows == [{"x": 1}]
    finally:
        b.close()


def test_errors_are_sitegraph_errors(loaded):
    """A bad query (syntax, unknown label) is a QueryError, i.e. exit 1 with a message."""
    b = loaded.open()
    try:
        for text in ["MATCH (n:Enterprise RETURN n", "MATCH (n:NoSuchLabel) RETURN n.x AS x", "RETURN $missing + "]:
            try:
                b.read(text)
            except SitegraphError as e:
                assert str(e)
    finally:
        b.close()


# --- prepared queries and briefings ----------------------------------------------------------

def test_prepared_queries_change_nothing(loaded):
    """Every query of the pack, read-only, through the guard: none is refused, the graph is unchanged."""
    from queries.runner import load_catalogue, run_query

    b = loaded.open()
    try:
        rows = 0
        for spec in load_catalogue():
            params = {"as_of": "2025-01-15"} if any(p.name == "as_of" for p in spec.params) else {}
            try:
                rows += len(run_query(b, spec, params, include_personal=True).rows)
            except ReadOnlyViolation:
                raise
            except QueryError as e:  # a failing query is another test's business (see below)
                assert spec.id == "rectification-rate" and "Divide by zero" in str(e), (spec.id, str(e))
        assert rows > 0
        assert dump(b) == loaded.baseline
    finally:
        b.close()


def test_rectification_rate_with_a_county_without_hazards(loaded):
    """Found here: a county with enterprises and no hazards must give rate 0, not an error."""
    from queries.runner import run_query

    b = loaded.open()
    try:
        run = run_query(b, "rectification-rate")
    finally:
        b.close()
    by_county = {r["county"]: r for r in run.rows}
    hazard_counties = {e["county"] for e in survey_records()["Enterprise"]
                       if any(h["uscc"] == e["uscc"] for h in survey_records()["Hazard"])}
    empty = set(by_county) - hazard_counties
    assert empty, "the fixture has a county without hazards"
    assert all(by_county[c]["hazards"] == 0 and by_county[c]["rate"] == 0 for c in empty)


@pytest.mark.parametrize("param", [
    "as_of=2025-01-01'}) MATCH (n) DETACH DELETE n //",
    "as_of=2025-01-01\nCREATE (:Enterprise {uscc: 'X'})",
    "cap=0.1 OR true",
    "cap=0.1}) DETACH DELETE n //",
])
def test_query_parameters_cannot_inject(loaded, param):
    qid = "dispatch-over-cap" if param.startswith("cap") else "hazards-overdue"
    p = run_cli("query", "run", qid, "--param", param, *loaded.args, "--format", "json", env=loaded.env)
    assert p.returncode in (1, 2), p.stdout  # a bad value: refused before any query runs
    assert "Traceback" not in p.stderr
    b = loaded.open()
    try:
        assert dump(b) == loaded.baseline
    finally:
        b.close()


@pytest.mark.parametrize("target", [
    "x'}) MATCH (n) DETACH DELETE n //",
    "' OR 1=1 CREATE (:Enterprise {uscc: 'X'}) //",
    "E1') SET n.name = 'x",
])
def test_briefing_target_text_cannot_inject(loaded, target):
    p = run_cli("brief", target, "--out", "-", "--format", "md", "--no-findings", *loaded.args, env=loaded.env)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr and "内部错误" not in p.stderr
    b = loaded.open()
    try:
        assert dump(b) == loaded.baseline
    finally:
        b.close()


def test_briefing_changes_nothing(loaded):
    from ledgers import E1

    p = run_cli("brief", E1, "--out", str(loaded.tmp / "b.html"), *loaded.args, env=loaded.env, timeout=900)
    assert p.returncode == 0, p.stderr
    info = json.loads(run_cli("info", *loaded.args, "--format", "json", env=loaded.env).stdout)
    assert info["nodes"] == loaded.baseline_info["nodes"]
    assert info["relationships"] == loaded.baseline_info["relationships"]
    b = loaded.open()
    try:
        assert dump(b) == loaded.baseline
    finally:
        b.close()
