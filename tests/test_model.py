"""The model on both backends: schema install, keys, round trip, read-only, provenance."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from graphmodel import ogm
from graphmodel.docs import OUT as SCHEMA_DOC, render as render_schema_doc
from graphmodel.errors import ReadOnlyViolation
from graphmodel.schema import NODE_TYPES, NODES, PROVENANCE_KEYS, REL_TYPES, Kind, all_props
from graphmodel.writer import write_survey

E1, E2 = "91140303MA0K2Y4X1A", "91140311MA0L3B7C2B"  # keys only; not validated here


def _sample(nt, c, i: int):
    if c.key == nt.key:
        return {"Enterprise": E1}.get(nt.label, f"{nt.label[:2].upper()}-{i}")
    if c.ref:
        target = NODES[c.ref]
        key = E1 if target.label == "Enterprise" else f"{target.label[:2].upper()}-1"
        if c.key in ("lessee_uscc", "contractor_uscc", "host_uscc"):
            key = E2
        if c.key == "parent_site_id":
            key = "SI-2"
        return [key] if c.kind is Kind.REF_LIST else key
    return {
        Kind.TEXT: f"{c.header}-{i}", Kind.INT: 3 + i, Kind.FLOAT: 2.5 + i, Kind.BOOL: i % 2 == 0,
        Kind.DATE: dt.date(2024, 11, 11 + i), Kind.LIST: ["甲", "乙"], Kind.USCC: E1,
        Kind.ENUM: c.enum[i % len(c.enum)] if c.enum else None,
        Kind.ENUM_LIST: list(c.enum[:2]),
    }[c.kind]


def full_records() -> dict[str, list[dict]]:
    """One record per label with a value in every column, and each reference resolvable."""
    recs = {}
    for nt in NODE_TYPES:
        r = {c.key: _sample(nt, c, 1) for c in nt.columns}
        r.update(src_file="round-trip.xlsx", src_sheet=nt.sheet, src_row=2)
        if nt.label == "Enterprise":
            r["uscc_valid"] = True
        recs[nt.label] = [r]
    # a second enterprise (lessee, contractor, host) and a parent site without a parent
    e2 = dict(recs["Enterprise"][0], uscc=E2, name="乙企业", src_row=3)
    recs["Enterprise"].append(e2)
    s2 = dict(recs["Site"][0], site_id="SI-2", parent_site_id=None, src_row=3)
    recs["Site"][0]["site_id"] = "SI-1"
    recs["Site"].append(s2)
    return recs


def test_schema_install_is_idempotent(graph):
    before = graph.info()
    graph.install_schema()
    graph.install_schema()
    assert graph.info() == before
    assert before["schema_version"] == 3
    assert set(before["nodes"]) == {nt.label for nt in NODE_TYPES}
    assert all(v == 0 for v in before["nodes"].values())


@pytest.mark.neo4j
def test_neo4j_constraints_derived_from_schema(neo4j_target):
    b = neo4j_target.open()
    try:
        rows = b._driver.execute_query("SHOW CONSTRAINTS YIELD labelsOrTypes, properties RETURN *").records
    finally:
        b.close()
    have = {(r["labelsOrTypes"][0], r["properties"][0]) for r in rows}
    assert {(nt.label, nt.key) for nt in NODE_TYPES} <= have


def test_duplicate_key_is_refused(graph):
    graph.write(lambda tx: tx.run("CREATE (n:Enterprise {uscc: $k, name: 'a'})", {"k": E1}))
    with pytest.raises(Exception):
        graph.write(lambda tx: tx.run("CREATE (n:Enterprise {uscc: $k, name: 'b'})", {"k": E1}))
    rows = graph.read("MATCH (n:Enterprise) RETURN n.uscc AS u, n.name AS name").rows
    assert rows == [{"u": E1, "name": "a"}]


def test_round_trip_every_node_and_relationship(graph):
    recs = full_records()
    report = write_survey(graph, recs, source="round-trip")
    assert {k: v.created for k, v in report.labels.items()} == {k: len(v) for k, v in recs.items()}
    for nt in NODE_TYPES:
        stamps = ("load_id", "loaded_at", "survey_date", "load_seq", "content_hash")
        props = [k for k, _, _ in all_props(nt) if k not in stamps]
        ret = ", ".join(f"n.`{k}` AS `{k}`" for k in [*props, *stamps])
        rows = graph.read(f"MATCH (n:{nt.label}) RETURN {ret} ORDER BY n.`{nt.key}`").rows
        want = sorted(recs[nt.label], key=lambda r: r[nt.key])
        assert len(rows) == len(want), nt.label
        for got, exp in zip(rows, want):
            for k in props:
                e = exp.get(k, "round-trip" if k == "source" else None)
                assert got[k] == e, (nt.label, k, got[k], e)
            # the version stamps of campaign history: today's survey date, the first load
            assert got["survey_date"] == dt.date.today() and got["load_seq"] == 1
            assert len(got["content_hash"]) == 16 and int(got["content_hash"], 16) >= 0
    counts = graph.counts()["relationships"]
    for r in REL_TYPES:
        col = NODES[r.owner].column(r.column)
        expected = sum(1 for rec in recs[r.owner] if rec.get(col.key))
        assert counts[r.type] == expected, r.type
    # a walk across the model: enterprise → tenancy → building → site → parent site
    rows = graph.read(
        "MATCH (e:Enterprise)-[:LESSEE_OF]->(t:Tenancy)-[:COVERS]->(b:Building)-[:IN_SITE]->(s:Site)-[:PART_OF]->(p:Site) "
        "RETURN e.uscc AS e, t.tenancy_id AS t, b.building_id AS b, s.site_id AS s, p.site_id AS p"
    ).rows
    assert rows == [{"e": E2, "t": "TE-1", "b": "BU-1", "s": "SI-1", "p": "SI-2"}]


@pytest.mark.parametrize("items", [
    ["a,b", 'say "hi"', "line\nbreak", "[x]", "甲；乙", "'q'"],  # the bulk path (COPY + split)
    ["ok", "unit\x1fseparator"],  # an item holding the bulk path's separator: row by row
])
def test_list_items_round_trip_as_written(graph, items):
    recs = full_records()
    insp = recs["Inspection"][0]
    insp["inspectors"] = items
    recs["Inspection"].append(dict(insp, inspection_id="IN-2", inspectors=["只有一人"], src_row=3))
    write_survey(graph, recs, source="lists")
    rows = graph.read("MATCH (n:Inspection) RETURN n.inspection_id AS i, n.inspectors AS l ORDER BY i").rows
    assert rows == [{"i": "IN-1", "l": items}, {"i": "IN-2", "l": ["只有一人"]}]


def test_reload_is_noop_and_update_redraws_relationships(graph):
    recs = full_records()
    write_survey(graph, recs, source="s")
    again = write_survey(graph, recs, source="s")
    assert not again.changed and again.relationships_created == 0
    recs["Tenancy"][0]["lessee_uscc"], recs["Tenancy"][0]["lessor_uscc"] = E1, E2
    upd = write_survey(graph, recs, source="s")
    assert upd.labels["Tenancy"].updated == 1 and upd.labels["Enterprise"].unchanged == 2
    rows = graph.read("MATCH (e:Enterprise)-[:LESSEE_OF]->(t:Tenancy) RETURN e.uscc AS e").rows
    assert rows == [{"e": E1}]


@pytest.mark.parametrize("stmt", [
    "CREATE (n:Enterprise {uscc: 'X'})",
    "MATCH (n:Enterprise) SET n.name = 'changed'",
    "MATCH (n:Enterprise) DETACH DELETE n",
    "MATCH (n:Enterprise) WITH n MERGE (m:Enterprise {uscc: 'Y'}) RETURN m.uscc AS u",
])
def test_reads_refuse_writes(target, stmt):
    w = target.open(write=True)
    write_survey(w, full_records(), source="s")
    w.close()
    b = target.open()
    try:
        before = b.info()
        with pytest.raises(ReadOnlyViolation):
            b.read(stmt)
        assert b.info() == before
        assert b.read("MATCH (n:Enterprise) RETURN n.name AS nm ORDER BY nm").rows[0]["nm"] != "changed"
    finally:
        b.close()


def test_provenance_on_every_node(graph):
    write_survey(graph, full_records(), source="阳泉市郊区-2024-11")
    for nt in NODE_TYPES:
        ret = ", ".join(f"n.`{k}` AS `{k}`" for k in PROVENANCE_KEYS)
        for row in graph.read(f"MATCH (n:{nt.label}) RETURN {ret}").rows:
            assert row["source"] == "阳泉市郊区-2024-11"
            assert row["src_file"] == "round-trip.xlsx" and row["src_sheet"] == nt.sheet
            assert row["src_row"] in (2, 3)
            assert len(row["load_id"]) == 12
            assert dt.datetime.fromisoformat(row["loaded_at"]).tzinfo is not None


def test_cli_init_info_and_refused_write(target, cli, tmp_path):
    if target.kind == "embedded":
        db = ["--db", str(tmp_path / "x.db")]
    else:
        db = target.args
    r = cli("init", *db, env=target.env)
    assert r.returncode == 0, r.stderr
    info1 = cli("info", *db, "--format", "json", env=target.env)
    assert info1.returncode == 0, info1.stderr
    data = json.loads(info1.stdout)
    assert data["schema_version"] == 3 and data["nodes"]["Enterprise"] == 0
    w = cli("cypher", "CREATE (n:Enterprise {uscc: 'X'})", *db, env=target.env)
    assert w.returncode == 1
    assert "只读" in w.stderr and "Traceback" not in w.stderr
    info2 = cli("info", *db, "--format", "json", env=target.env)
    assert info2.stdout == info1.stdout  # deterministic, and unchanged by the refused write
    q = cli("cypher", "MATCH (n:Enterprise) RETURN count(n) AS c", *db, "--format", "json", env=target.env)
    assert json.loads(q.stdout) == [{"c": 0}]
    bad = cli("cypher", "MATCH (n:Enterprise) RETURN n.uscc AS u", *db, "--param", "oops", env=target.env)
    assert bad.returncode == 2


def test_cli_missing_embedded_db_is_a_clear_error(cli, tmp_path):
    r = cli("info", "--db", str(tmp_path / "none.db"))
    assert r.returncode == 1
    assert "sitegraph init" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "none.db").exists()


def test_unreachable_neo4j_is_one_clear_message(cli):
    env = {**__import__("os").environ, "NEO4J_PASSWORD": "s3cret-pw"}
    r = cli("info", "--neo4j", "bolt://someone:s3cret-pw@127.0.0.1:1", env=env, timeout=60)
    assert r.returncode == 1
    assert "bolt://127.0.0.1:1" in r.stderr
    assert "s3cret-pw" not in r.stderr + r.stdout and "Traceback" not in r.stderr


def test_schema_doc_is_generated_from_schema():
    assert SCHEMA_DOC.read_text(encoding="utf-8") == render_schema_doc(), "run: python -m graphmodel.docs"
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    assert "```mermaid" in text
    for nt in NODE_TYPES:
        assert f"### {nt.label}" in text


def test_neomodel_classes_mirror_the_schema():
    classes = ogm.classes()
    assert set(classes) == {nt.label for nt in NODE_TYPES}
    for nt in NODE_TYPES:
        defined = set(classes[nt.label].defined_properties(aliases=False, rels=False))
        assert defined == {k for k, _, _ in all_props(nt)}, nt.label
        rels = set(classes[nt.label].defined_properties(aliases=False, properties=False))
        assert {f"rel_{r.type.lower()}" for r in REL_TYPES if r.start == nt.label} <= rels


@pytest.mark.neo4j
def test_neomodel_objects_are_read_by_the_backend(neo4j_target):
    target = neo4j_target
    s = target.server
    ogm.connect(s.uri, s.user, s.password)
    C = ogm.classes()
    e = C["Enterprise"](uscc=E1, name="甲", sector="机械", county="矿区", township="桥头街道").save()
    b = C["Building"](building_id="B9", name="九号", owner_uscc=E1, floors=2,
                      county="矿区", township="桥头街道").save()
    e.rel_owns.connect(b)
    C["Inspection"](inspection_id="I9", date=dt.date(2024, 12, 1), inspectors=["王"]).save()
    bk = target.open()
    try:
        assert bk.read("MATCH (e:Enterprise)-[:OWNS]->(b:Building) RETURN e.uscc AS e, b.floors AS f").rows == [
            {"e": E1, "f": 2}]
        assert bk.read("MATCH (i:Inspection) RETURN i.date AS d").rows == [{"d": dt.date(2024, 12, 1)}]
    finally:
        bk.close()


def test_embedded_write_lock_conflict_is_a_clear_message(cli, tmp_path):
    import subprocess
    import sys
    import textwrap

    db = tmp_path / "locked.db"
    assert cli("init", "--db", str(db)).returncode == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from graphmodel.backends import open_backend
            b = open_backend({str(db)!r}, write=True)
            print("locked", flush=True)
            sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(tmp_path.parent),
        env={**__import__("os").environ, "PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1])},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        r = cli("init", "--db", str(db))
        assert r.returncode == 1
        assert "另一个进程" in r.stderr and "Traceback" not in r.stderr
        # a reader still gets the last committed state while the writer holds the lock
        q = cli("info", "--db", str(db), "--format", "json")
        assert q.returncode == 0 and json.loads(q.stdout)["schema_version"] == 3
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
