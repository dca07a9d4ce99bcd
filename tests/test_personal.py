"""Personal data and credentials.

Names and phone numbers of responsible persons (Enterprise.principal, Enterprise.phone,
Hazard.responsible_person, Inspection.inspectors — `personal=True` in graphmodel/schema.py)
never appear in query output, exports or briefings unless --include-personal is given, and
exports say which; `sitegraph cypher` masks them (graphmodel/personal.py). Credentials
never appear in output or error messages, --debug tracebacks included.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import BACKENDS, empty_target, only_on, run_cli
from graphmodel.personal import MASK, mask_rows, personal_columns
from graphmodel.schema import NODE_TYPES, personal_keys
from graphmodel.writer import write_survey
from loaders.generate import generate
from reliability_helpers import cli_env

SURVEY = generate(300, seed=31)


def _personal_strings(records: dict) -> set[str]:
    """Every personal value of the survey that cannot be confused with another field's text."""
    personal, other = set(), []
    for nt in NODE_TYPES:
        for r in records.get(nt.label, []):
            for c in nt.columns:
                v = r.get(c.key)
                vals = v if isinstance(v, list) else [v]
                for x in vals:
                    if isinstance(x, str) and x.strip():
                        (personal.add(x.strip()) if c.personal else other.append(x))
    blob = "\n".join(other)
    return {p for p in personal if len(p) >= 2 and p not in blob}


PERSONAL = _personal_strings(SURVEY.records)
PHONES = {e["phone"] for e in SURVEY.records["Enterprise"] if e.get("phone")}


def _leaks(text: str) -> list[str]:
    return sorted(p for p in PERSONAL if p in text)


def _cells(path: Path) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row
                     if c is not None)


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request, tmp_path_factory):
    t = empty_target(request.param, request, tmp_path_factory.mktemp("personal"))
    b = t.open(write=True)
    write_survey(b, SURVEY.records, source="personal-test")
    b.close()
    return t


def test_the_survey_holds_personal_data():
    assert len(PERSONAL) > 100 and len(PHONES) > 100
    # person_name: a 自然人's name (docs/parties.md), a derived property
    assert personal_keys() == {"principal", "phone", "responsible_person", "inspectors", "person_name"}


# --- prepared queries and their exports -----------------------------------------------------

PERSONAL_QUERIES = ("worry-list", "market-access", "hazards-overdue", "major-hazards-open",
                    "inspection-accountability")


def test_query_pack_output_and_exports_hide_personal_data(loaded):
    out = loaded.tmp / "pack"
    p = run_cli("query", "run", "--all", "--format", "json", "--out", str(out), *loaded.args, env=loaded.env,
                timeout=900)
    assert p.returncode == 0, p.stderr
    assert _leaks(p.stdout + p.stderr) == []
    files = sorted(out.glob("*.json"))
    assert len(files) >= 25
    for f in files:
        assert _leaks(f.read_text(encoding="utf-8")) == [], f.name
    book = next(out.glob("*.xlsx"))
    text = _cells(book)
    assert _leaks(text) == []
    assert "未包含个人信息" in text  # the workbook says so on its 说明 sheet


@pytest.mark.parametrize("qid", PERSONAL_QUERIES)
def test_personal_columns_only_with_the_flag(loaded, qid):
    personal_headers = ("主要负责人", "联系电话", "整改责任人", "检查人员")
    hidden = run_cli("query", "run", qid, "--format", "csv", *loaded.args, env=loaded.env)
    assert hidden.returncode == 0, hidden.stderr
    assert not any(h in hidden.stdout.lstrip("\ufeff").splitlines()[0] for h in personal_headers)
    assert _leaks(hidden.stdout) == []
    shown = run_cli("query", "run", qid, "--format", "csv", "--include-personal", *loaded.args, env=loaded.env)
    assert shown.returncode == 0
    # the note on personal data is in the sidecar of a CSV file (stdout carries only the CSV)
    f = loaded.tmp / f"{qid}-personal.csv"
    assert run_cli("query", "run", qid, "--out", str(f), *loaded.args, env=loaded.env).returncode == 0
    meta = json.loads((loaded.tmp / f"{qid}-personal.csv.meta.json").read_text(encoding="utf-8"))
    assert "未包含个人信息" in meta["personal_data"] and meta["include_personal"] is False
    assert _leaks(f.read_text(encoding="utf-8-sig")) == []
    js = run_cli("query", "run", qid, "--format", "json", *loaded.args, env=loaded.env)
    rows = json.loads(js.stdout)
    assert not any(k in personal_keys() or k in ("inspectors", "responsible_person") for r in rows for k in r)
    if rows:  # with the flag the same rows carry the personal columns
        from queries.runner import get

        personal_cols = get(qid).personal_columns
        assert personal_cols
        assert any(c in shown.stdout.lstrip("\ufeff").splitlines()[0] for c in personal_headers)


def test_xlsx_export_of_one_query(loaded):
    f = loaded.tmp / "worry.xlsx"
    p = run_cli("query", "run", "worry-list", "--out", str(f), *loaded.args, env=loaded.env)
    assert p.returncode == 0, p.stderr
    text = _cells(f)
    assert _leaks(text) == [] and "未包含个人信息" in text
    g = loaded.tmp / "worry-personal.xlsx"
    p = run_cli("query", "run", "worry-list", "--out", str(g), "--include-personal", *loaded.args, env=loaded.env)
    assert p.returncode == 0
    text = _cells(g)
    assert "含个人信息" in text and any(ph in text for ph in PHONES)


def test_library_run_query_drops_personal_columns(loaded):
    from queries.runner import run_query

    b = loaded.open()
    try:
        run = run_query(b, "worry-list", {"as_of": SURVEY.as_of})
        assert run.hidden_personal and not (set(run.column_names) & personal_keys())
        assert _leaks(json.dumps(run.rows, ensure_ascii=False, default=str)) == []
        full = run_query(b, "worry-list", {"as_of": SURVEY.as_of}, include_personal=True)
        assert set(full.spec.personal_columns) <= set(full.column_names)
    finally:
        b.close()


# --- briefings --------------------------------------------------------------------------------

def _briefing_target() -> tuple[str, str]:
    """An enterprise with a phone, a hazard with a responsible person and an inspection."""
    recs = SURVEY.records
    with_hazard = {h["uscc"] for h in recs["Hazard"] if h.get("responsible_person")}
    inspected = {i["uscc"] for i in recs["Inspection"] if i.get("inspectors")}
    for e in recs["Enterprise"]:
        if e.get("phone") and e["phone"] in PERSONAL and e["uscc"] in with_hazard & inspected:
            return e["uscc"], e["phone"]
    raise AssertionError("no enterprise with every kind of personal data")


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_briefing_hides_personal_data(loaded, fmt):
    uscc, phone = _briefing_target()
    out = loaded.tmp / f"brief.{fmt}"
    p = run_cli("brief", uscc, "--out", str(out), "--as-of", SURVEY.as_of.isoformat(), *loaded.args,
                env=loaded.env, timeout=900)
    assert p.returncode == 0, p.stderr
    text = out.read_text(encoding="utf-8")
    assert _leaks(text) == []
    assert "个人信息已隐去" in p.stderr
    shown = loaded.tmp / f"brief-personal.{fmt}"
    p = run_cli("brief", uscc, "--out", str(shown), "--include-personal", "--no-findings",
                "--as-of", SURVEY.as_of.isoformat(), *loaded.args, env=loaded.env, timeout=900)
    assert p.returncode == 0, p.stderr
    assert phone in shown.read_text(encoding="utf-8")


# --- sitegraph cypher: masking ------------------------------------------------------------

MASKED = [  # both dialects
    ("MATCH (e:Enterprise) RETURN e.uscc AS uscc, e.phone AS tel, e.principal ORDER BY uscc", {"tel", "e.principal"}),
    ("MATCH (e:Enterprise) RETURN e.uscc AS uscc, e.name + ' ' + e.phone AS contact ORDER BY uscc", {"contact"}),
    ("MATCH (h:Hazard) WITH h.hazard_id AS id, h.responsible_person AS who RETURN id, who", {"who"}),
    ("MATCH (h:Hazard) WITH h.responsible_person AS a WITH a AS b RETURN b AS c", {"c"}),
    ("MATCH (i:Inspection) UNWIND i.inspectors AS x RETURN i.inspection_id AS id, x", {"x"}),
    ("MATCH (i:Inspection) RETURN i.inspection_id AS id, i.`inspectors` AS names", {"names"}),
    ("MATCH (e:Enterprise) RETURN e.uscc AS u, collect(e.phone) AS phones", {"phones"}),
]
# Ladybug only: a whole node as text, a property by a string (functions Neo4j does not have)
MASKED_LADYBUG = [
    ("MATCH (e:Enterprise) RETURN e.uscc AS u, to_string(e) AS s", {"s"}),
    ("MATCH (e:Enterprise) RETURN e.uscc AS u, cast(e AS STRING) AS s", {"s"}),
    ("MATCH (e:Enterprise) RETURN e.uscc AS u, struct_extract(e, 'phone') AS s", {"s"}),
    ("MATCH (e:Enterprise) WITH e AS x RETURN x.uscc AS u, string_split(to_string(x), ',') AS s", {"s"}),
]
# Neo4j only: dynamic property access (Ladybug has no n[$k])
MASKED_NEO4J = [
    ("MATCH (e:Enterprise) RETURN e[$k] AS v, e.uscc AS u", {"v", "u"}),
]
WHOLE = [
    "MATCH (e:Enterprise) RETURN e",
    "MATCH (e:Enterprise)-[:HAS_HAZARD]->(h:Hazard) RETURN e, h",
    "MATCH (i:Inspection) RETURN i",
    "MATCH p = (e:Enterprise)-[:HAS_HAZARD]->(h:Hazard) RETURN p",
    "MATCH (e:Enterprise) RETURN properties(e) AS props",
]


@pytest.mark.parametrize("query,cols", MASKED)
def test_cypher_masks_personal_columns(loaded, query, cols):
    _assert_cypher_masks(loaded, query, cols)


@only_on("embedded")
@pytest.mark.parametrize("query,cols", MASKED_LADYBUG)
def test_cypher_masks_personal_columns_ladybug_functions(loaded, query, cols):
    _assert_cypher_masks(loaded, query, cols)


@only_on("neo4j")
@pytest.mark.parametrize("query,cols", MASKED_NEO4J)
def test_cypher_masks_personal_columns_dynamic_property(loaded, query, cols):
    _assert_cypher_masks(loaded, query, cols)


def _assert_cypher_masks(loaded, query: str, cols: set[str]) -> None:
    args = ["-p", "k=phone"] if "$k" in query else []
    p = run_cli("cypher", query, *args, *loaded.args, "--format", "json", "--limit", "100000", env=loaded.env)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert rows
    assert _leaks(p.stdout) == []
    for c in cols:
        assert any(r[c] == MASK for r in rows), c
    assert "已隐藏个人信息" in p.stderr and "--include-personal" in p.stderr
    shown = run_cli("cypher", query, *args, *loaded.args, "--format", "json", "--limit", "100000",
                    "--include-personal", env=loaded.env)
    assert shown.returncode == 0
    assert _leaks(shown.stdout), "the flag shows personal data"
    assert "已隐藏" not in shown.stderr


@pytest.mark.parametrize("query", WHOLE)
@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_cypher_masks_whole_nodes_and_paths(loaded, query, fmt):
    p = run_cli("cypher", query, *loaded.args, "--format", fmt, "--limit", "100000", env=loaded.env)
    assert p.returncode == 0, p.stderr
    assert _leaks(p.stdout) == []
    assert SURVEY.records["Enterprise"][0]["uscc"] in p.stdout or "Inspection" in query or "h" in query
    if fmt == "json":
        shown = run_cli("cypher", query, *loaded.args, "--format", fmt, "--limit", "100000", "--include-personal",
                        env=loaded.env)
        assert shown.returncode == 0 and _leaks(shown.stdout)


def test_cypher_without_personal_data_is_untouched(loaded):
    p = run_cli("cypher", "MATCH (e:Enterprise) RETURN e.uscc AS uscc, e.name AS name ORDER BY uscc LIMIT 3",
                *loaded.args, "--format", "json", env=loaded.env)
    assert p.returncode == 0
    assert MASK not in p.stdout and "已隐藏" not in p.stderr
    assert [r["uscc"] for r in json.loads(p.stdout)] == sorted(e["uscc"] for e in SURVEY.records["Enterprise"])[:3]


@pytest.mark.parametrize("query,expected", [
    ("MATCH (n) RETURN n.name AS name, n.phone", {"n.phone"}),
    ("MATCH (n) RETURN n.name AS phone_owner", set()),  # a name is not a phone
    ("MATCH (n) RETURN n.name AS name // n.phone in a comment\n", set()),
    ("MATCH (n) RETURN 'n.phone' AS text", set()),
    ("MATCH (n) RETURN n['principal'] AS p, n.name AS q", {"p"}),
    ("MATCH (n) RETURN n[toLower('PHONE')] AS p, n.name AS q", {"p", "q"}),
    ("MATCH (n) RETURN [1, 2] AS l, n.uscc IN ['a'] AS b, n.inspectors[1] AS first", {"first"}),
    ("MATCH (n) WITH n.principal AS p WITH p AS q RETURN q AS r, 1 AS one", {"r"}),
    ("MATCH (n) RETURN n.phone AS phone", {"phone"}),
    ("MATCH (n:Enterprise) RETURN struct_extract(n, 'phone') AS x, n.uscc AS u", {"x"}),
    ("MATCH (n:Enterprise) RETURN to_string(n) AS j, count(DISTINCT n) AS c, collect(n) AS l, n AS w", {"j"}),
    ("MATCH p = (e:Enterprise)-[r:HAS_HAZARD]->(h:Hazard) RETURN to_string(r) AS t, length(p) AS l", {"t"}),
    ("MATCH (n:Hazard) WITH DISTINCT n.responsible_person AS r RETURN r", {"r"}),
])
def test_masking_rule(query, expected):
    ret = query.split("RETURN", 1)[1].split("//")[0]
    cols = []
    from graphmodel.personal import _split_top

    for part in _split_top(ret):
        part = part.strip()
        cols.append(part.split(" AS ")[-1].strip() if " AS " in part else part)
    assert personal_columns(query, cols) == expected


def test_mask_rows_masks_nested_maps():
    rows, hidden = mask_rows("MATCH (n) RETURN n", ["n"], [
        {"n": {"uscc": "X", "phone": "13900000000", "principal": "张三", "name": "甲公司"}},
        {"n": {"_NODES": [{"phone": "13900000001"}], "_RELS": []}},
    ])
    assert hidden == set()
    assert rows[0]["n"] == {"uscc": "X", "phone": MASK, "principal": MASK, "name": "甲公司"}
    assert rows[1]["n"]["_NODES"][0]["phone"] == MASK


# --- credentials ----------------------------------------------------------------------------

@pytest.mark.neo4j
@pytest.mark.parametrize("debug", [False, True])
def test_wrong_password_is_not_echoed(neo4j_server, debug):
    """The real user once (Neo4j locks a user after 3 failures in a row), then unknown users."""
    wrong = "Wr0ng-Pa55-" + os.urandom(4).hex()
    pre = ["--debug"] if debug else []
    runs = [(neo4j_server.user, ["info"]), ("nobody-" + os.urandom(3).hex(), ["cypher", "RETURN 1 AS x"]),
            ("nobody-" + os.urandom(3).hex(), ["query", "run", "hazards-overdue"])]
    for user, args in runs:
        env = cli_env({"NEO4J_USERNAME": user, "NEO4J_PASSWORD": wrong})
        p = run_cli(*pre, *args, "--neo4j", neo4j_server.uri, env=env)
        assert p.returncode == 1
        assert "认证失败" in p.stderr and neo4j_server.uri in p.stderr, p.stderr
        assert wrong not in p.stdout + p.stderr
        assert neo4j_server.password not in p.stdout + p.stderr
        assert ("Traceback" in p.stderr) == debug


@pytest.mark.neo4j
def test_password_in_the_uri_works_and_is_never_shown(neo4j_server, tmp_path):
    from urllib.parse import quote

    host = neo4j_server.uri.split("://", 1)[1]
    uri = f"bolt://{neo4j_server.user}:{quote(neo4j_server.password, safe='')}@{host}"
    env = {k: v for k, v in cli_env().items() if k not in ("NEO4J_PASSWORD", "NEO4J_USERNAME", "NEO4J_URI")}
    p = run_cli("info", "--neo4j", uri, "--format", "json", env=env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["location"] == neo4j_server.uri
    assert neo4j_server.password not in p.stdout + p.stderr
    bad = f"bolt://nobody-{os.urandom(3).hex()}:Not-The-Pa55@{host}"
    p = run_cli("--debug", "info", "--neo4j", bad, env=env)
    assert p.returncode == 1 and "认证失败" in p.stderr and "Not-The-Pa55" not in p.stdout + p.stderr


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("uri", ["bolt://neo4j:{pw}@127.0.0.1:{port}", "bolt://neo4j:{pw}@127.0.0.1:notaport",
                                 "bolt://neo4j:{pw}@[::1", "http://neo4j:{pw}@127.0.0.1:{port}",
                                 "neo4j+s://neo4j:{pw}@127.0.0.1:{port}/?x=1"])
def test_unreachable_or_invalid_uri_never_shows_the_password(uri, debug):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pw = "Uri-Pa55-" + os.urandom(4).hex()
    pre = ["--debug"] if debug else []
    p = run_cli(*pre, "info", "--neo4j", uri.format(pw=pw, port=port), env=cli_env({"NEO4J_PASSWORD": pw}))
    assert p.returncode == 1
    assert pw not in p.stdout + p.stderr
    assert "Neo4j" in p.stderr
    if not debug:
        assert "Traceback" not in p.stderr and "内部错误" not in p.stderr
