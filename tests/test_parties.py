"""Parties without a USCC (issue 13, docs/parties.md), on both backends.

A ledger with provisional parties of every 主体类型 in every role (lessor, lessee, owner,
operator, contractor) loads, and every catalogue query returns exactly its ground truth;
a second ledger giving codes to some of them merges them: the queries then return the USCC
keys, no relationship is lost, the merge is history (time travel before it shows the
provisional record); bad input is refused with its sheet, row and column; `sitegraph merge`
applies a user's decision, also from a dedupe decisions workbook.
"""
from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from openpyxl import Workbook

from graphmodel.parties import merge_records
from graphmodel.schema import NODES
from graphmodel.states import state_at
from ledgers import E1, E2, E3, E5, rows_of, sg, survey_records, uscc, workbook
from loaders import truth
from loaders.parties import is_identity_number
from loaders.survey import SurveyInvalid, check, load
from queries.catalogue import CATALOGUE
from queries.runner import load_catalogue, run_query
from test_ground_truth import compare

P1, P2, P3, P4, P5 = "LS-荫营镇-0001", "LS-荫营镇-0002", "LS-荫营镇-0003", "LS-荫营镇-0004", "LS-荫营镇-0005"
U1, U3 = uscc("92140311MA0L00101"), uscc("91140311MA0L00103")
AS_OF = dt.date(2025, 1, 15)
D1, D2 = dt.date(2025, 1, 10), dt.date(2025, 2, 10)


def _party(key, name, kind, **kw):
    base = dict(uscc=None, provisional_id=key, party_kind=kind, name=name, sector="其他", county="郊区",
                township="荫营镇", business_license=None, status=None)
    base.update(kw)
    return base


def ledger1() -> dict:
    """survey_records plus five provisional parties, one of each kind but 企业, in every role."""
    recs = survey_records()
    recs["Enterprise"] += [
        _party(P1, "荫营镇无名喷涂作坊", "无照经营", business_license=False),  # lessee, operator
        _party(P2, "王小明", "自然人"),  # owner of B9, lessor
        _party(P3, "荫营镇南村村民委员会", "村集体"),  # operator of the site Y9
        _party(P4, "张记五金加工部", "个体工商户"),  # contractor
        _party(P5, "某临时搭建修理点", "其他"),  # nothing: listed by no query
    ]
    recs["Site"].append(dict(site_id="Y9", name="南村厂区", kind="厂区", parent_site_id=None, operator_uscc=P3,
                             county="郊区", township="荫营镇"))
    recs["Building"].append(dict(building_id="B9", name="南村3号厂房", site_id="Y9", owner_uscc=P2, county="郊区",
                                 township="荫营镇", fire_acceptance=False, illegal_construction=True))
    recs["Tenancy"] += [
        dict(tenancy_id="T9", lessor_uscc=P2, lessee_uscc=P1, building_id="B9", purpose="生产",
             safety_agreement=False, lessee_reviewed=False),
        dict(tenancy_id="T10", lessor_uscc=P2, lessee_uscc=E5, building_id="B9", safety_agreement=True),
    ]
    recs["Operation"].append(dict(operation_id="O9", uscc=P1, building_id="B9", category="喷涂"))
    recs["Contract"].append(dict(contract_id="C9", client_uscc=P2, contractor_uscc=P4, kind="检维修外委",
                                 building_id="B9", contractor_qualified=False))
    recs["Hazard"].append(dict(hazard_id="H9", uscc=P1, building_id="B9", description="喷涂间无通风", level="重大",
                               found_on=dt.date(2025, 1, 5), status="未整改"))
    return recs


def ledger2() -> dict:
    """The same ledger a month later: P1 and P4 have a USCC now (merge rows); references
    still name P1/P4 (they resolve to the new records)."""
    recs = ledger1()
    for e in recs["Enterprise"]:
        if e.get("provisional_id") == P1:
            e.update(uscc=U1, party_kind="个体工商户", business_license=True, name="阳泉顺心喷涂部")
        if e.get("provisional_id") == P4:
            e.update(uscc=uscc("92140311MA0L00104"), name="阳泉张记五金加工部")
    return recs


def write(path, recs):
    return workbook(path, {NODES[label].sheet: rows_of(label, rs) for label, rs in recs.items()})


def expected(recs) -> dict:
    """The records as the graph should hold them, for the ground truth: the key is the USCC or
    else the 临时编码; a reference to a merged 临时编码 names the USCC record."""
    recs = copy.deepcopy(recs)
    alias = {e["provisional_id"]: e["uscc"] for e in recs["Enterprise"] if e.get("uscc") and e.get("provisional_id")}
    for e in recs["Enterprise"]:
        if not e.get("uscc"):
            e["uscc"] = e["provisional_id"]
    for rs in recs.values():
        for r in rs:
            for k, v in list(r.items()):
                if k != "provisional_id" and isinstance(v, str) and v in alias:
                    r[k] = alias[v]
    return recs


def run_pack(backend, recs) -> list[str]:
    exp = truth.compute(expected(recs), AS_OF)
    problems = []
    for spec in load_catalogue():
        if spec.id not in exp:
            continue
        params = {"as_of": AS_OF} if any(p.name == "as_of" for p in spec.params) else {}
        problems += compare(spec.id, run_query(backend, spec, params, include_personal=True).rows, exp[spec.id])
    return problems


def load_ledger1(target, tmp_path) -> None:
    """The first ledger, dated D1, into the target's store."""
    g = target.open(write=True)
    try:
        load(write(tmp_path / "1.xlsx", ledger1()), g, source="荫营镇", survey_date=D1)
    finally:
        g.close()


def rel_counts(backend) -> dict:
    return backend.counts()["relationships"]


def keys(backend) -> set:
    return {r["k"] for r in backend.read("MATCH (e:Enterprise) RETURN e.uscc AS k").rows}


# --- the rules without a database -----------------------------------------------------------

def test_identity_number_check_follows_gb_11643():
    assert is_identity_number("11010519491231002X")  # the standard's example
    assert is_identity_number("11010519491231002x")
    assert not is_identity_number("110105194912310021")  # wrong check digit
    assert not is_identity_number(P1) and not is_identity_number(None)


def test_unregistered_parties_is_in_the_catalogue():
    assert CATALOGUE["unregistered-parties"] == ("uscc",)
    spec = next(s for s in load_catalogue() if s.id == "unregistered-parties")
    assert spec.severity == "重大" and spec.legal_basis


# --- loading and merging, both backends -----------------------------------------------------------

def test_provisional_parties_load_and_every_query_matches_the_truth(graph, tmp_path):
    out = load(write(tmp_path / "荫营镇-1月.xlsx", ledger1()), graph, source="荫营镇", survey_date=D1)
    assert out.checked.ok
    assert {P1, P2, P3, P4, P5} <= keys(graph)
    problems = run_pack(graph, ledger1())
    assert not problems, "\n".join(problems[:40])
    # the new query: lessee/operator P1 (无照经营), contractor P4; not P2 (lessor/owner), P3 (site operator), P5
    rows = run_query(graph, next(s for s in load_catalogue() if s.id == "unregistered-parties"), {}).rows
    assert {r["uscc"] for r in rows} == {P1, P4}
    # 依法取缔 covers 无照经营
    five = run_query(graph, next(s for s in load_catalogue() if s.id == "five-always"), {}).rows
    assert ("依法取缔", P1) in {(r["action"], r["subject_id"]) for r in five}
    # a 自然人's name is personal data: masked in the graph's name, kept in person_name
    row = graph.read("MATCH (e:Enterprise {uscc: $k}) RETURN e.name AS n, e.person_name AS p", {"k": P2}).rows[0]
    assert row == {"n": "王＊＊", "p": "王小明"}
    # relationships drawn to the provisional parties
    assert graph.read("MATCH (:Enterprise {uscc: $k})-[:OWNS]->(b:Building) RETURN b.building_id AS b",
                      {"k": P2}).rows == [{"b": "B9"}]


def test_a_later_ledger_merges_provisional_parties_into_their_uscc(graph, tmp_path):
    load(write(tmp_path / "1月.xlsx", ledger1()), graph, source="荫营镇", survey_date=D1)
    before = rel_counts(graph)
    out = load(write(tmp_path / "2月.xlsx", ledger2()), graph, source="荫营镇", survey_date=D2)
    assert {m["other"] for m in out.checked.merges} == {P1, P4}  # E6's alias was recorded by the first load
    assert P1 not in keys(graph) and U1 in keys(graph) and P4 not in keys(graph)
    assert rel_counts(graph) == before  # every relationship moved, none lost
    rec = graph.read("MATCH (e:Enterprise {uscc: $k}) RETURN e.aliases AS a, e.provisional_id AS p", {"k": U1}).rows
    assert rec == [{"a": [P1], "p": P1}]
    assert graph.read("MATCH (e:Enterprise)-[:LESSEE_OF]->(t:Tenancy {tenancy_id: 'T9'}) RETURN e.uscc AS k").rows \
        == [{"k": U1}]
    problems = run_pack(graph, ledger2())
    assert not problems, "\n".join(problems[:40])
    ids = {r["uscc"] for r in run_query(graph, next(s for s in load_catalogue() if s.id == "unregistered-parties"),
                                        {}).rows}
    assert ids == set()  # P1 and P4 have codes now (P1 no longer 无照经营)
    # the merge is history: a merged marker into U1, and P1's values kept
    h = graph.read("MATCH (h:EnterpriseHistory) WHERE h.h_key = $k RETURN h.h_kind AS kind, h.h_into AS into, "
                   "h.name AS name ORDER BY h.load_seq", {"k": P1}).rows
    assert [(r["kind"], r["into"]) for r in h] == [("version", None), ("merged", U1)]
    assert all(r["name"] == "荫营镇无名喷涂作坊" for r in h)
    # time travel: before the merge the provisional record, from the merge on one record
    with state_at(graph, D1) as s:
        assert P1 in keys(s) and U1 not in keys(s)
        assert s.read("MATCH (e:Enterprise)-[:RUNS]->(:Operation {operation_id: 'O9'}) RETURN e.uscc AS k").rows \
            == [{"k": P1}]
    # the same ledger again changes nothing, and a third ledger naming P1 resolves it to U1
    again = load(write(tmp_path / "2月.xlsx", ledger2()), graph, source="荫营镇", survey_date=D2)
    assert not again.report.changed
    assert rel_counts(graph) == before


def test_a_provisional_row_and_its_merge_row_in_one_ledger(graph, tmp_path):
    recs = ledger1()
    recs["Enterprise"].append(dict(_party(P1, "阳泉顺心喷涂部", "个体工商户"), uscc=U1, business_license=True))
    out = load(write(tmp_path / "l.xlsx", recs), graph, source="荫营镇", survey_date=D1)
    assert {m["other"] for m in out.checked.merges} == {P1, "LS-城区-0001"}  # and E6's alias
    assert P1 not in keys(graph) and U1 in keys(graph)
    h = graph.read("MATCH (h:EnterpriseHistory) WHERE h.h_key = $k RETURN h.h_kind AS kind, h.name AS name",
                   {"k": P1}).rows
    assert h == [{"kind": "merged", "name": "荫营镇无名喷涂作坊"}]  # the provisional row's values are kept


# --- bad input ----------------------------------------------------------------------------

def _codes(c):
    return {(p.code, p.sheet, p.row, p.column) for p in c.errors}


def test_bad_party_rows_are_refused_with_sheet_row_and_column(graph, tmp_path):
    recs = ledger1()
    ents = recs["Enterprise"]
    n = len(ents)
    ents.append(_party(None, "两码皆空", "其他"))  # row n+2
    ents.append(_party(P5, "重复的临时编码", "其他"))  # row n+3
    ents.append(_party("11010519491231002X", "身份证号", "自然人"))  # row n+4
    path = write(tmp_path / "bad.xlsx", recs)
    c = check(path, graph)
    codes = _codes(c)
    assert ("PARTY_KEY_REQUIRED", "企业", n + 2, "uscc") in codes
    assert ("PROVISIONAL_DUPLICATE", "企业", n + 3, "provisional_id") in codes
    assert ("PROVISIONAL_ID_NUMBER", "企业", n + 4, "provisional_id") in codes
    msg = {p.code: p for p in c.errors}["PROVISIONAL_ID_NUMBER"]
    assert "身份证" in msg.reason("zh") and "identity number" in msg.reason("en")
    with pytest.raises(SurveyInvalid):
        load(path, graph, source="x")
    assert keys(graph) == set()  # nothing written


def test_a_merge_into_a_uscc_whose_code_is_taken_is_refused(graph, tmp_path):
    load(write(tmp_path / "1.xlsx", ledger2()), graph, source="荫营镇", survey_date=D1)
    recs = ledger2()
    for e in recs["Enterprise"]:
        if e.get("provisional_id") == P1:
            e["uscc"] = U3  # P1 is U1's alias already
    recs["Enterprise"].append(dict(_party(None, "另一家", "企业"), uscc=U1, provisional_id=None))
    before = keys(graph)
    c = check(write(tmp_path / "2.xlsx", recs), graph)
    assert any(p.code == "MERGE_ALIAS_TAKEN" and p.column == "provisional_id" and U1 in p.reason("zh")
               for p in c.errors)
    assert keys(graph) == before


def test_a_merge_into_a_uscc_that_is_an_alias_is_refused(graph, tmp_path):
    code_like = uscc("91140311MA0L00777")  # a team wrote a code-shaped 临时编码, merged into U1
    recs = ledger1()
    recs["Enterprise"].append(dict(_party(code_like, "阳泉顺心喷涂部", "个体工商户"), uscc=U1))
    load(write(tmp_path / "1.xlsx", recs), graph, source="荫营镇", survey_date=D1)
    recs = ledger1()
    recs["Enterprise"].append(dict(_party(P5 + "-B", "又一家", "其他"), uscc=code_like))
    c = check(write(tmp_path / "2.xlsx", recs), graph)
    assert any(p.code == "MERGE_USCC_IS_ALIAS" and p.column == "uscc" for p in c.errors), c.errors


def test_a_sheet_of_provisional_parties_needs_no_uscc_column(graph, tmp_path):
    rows = rows_of("Enterprise", [_party(P5, "某临时搭建修理点", "其他")])
    i = rows[0].index("统一社会信用代码")
    path = workbook(tmp_path / "p.xlsx", {"企业": [[x for j, x in enumerate(r) if j != i] for r in rows]})
    out = load(path, graph, source="荫营镇", survey_date=D1)
    assert out.checked.ok and keys(graph) == {P5}


def test_an_unknown_provisional_reference_is_an_error(graph, tmp_path):
    recs = ledger1()
    recs["Tenancy"][-1]["lessee_uscc"] = "LS-不存在-9"
    c = check(write(tmp_path / "x.xlsx", recs), graph)
    # no USCC, no 临时编码 and no party of that name (loaders/party_names.py reads it as a name)
    assert [(p.column, p.value) for p in c.errors] == [("lessee_uscc", "LS-不存在-9")]
    assert c.errors[0].code in ("PARTY_UNRESOLVED", "PARTY_NAME_UNKNOWN")


# --- the merge command ------------------------------------------------------------------------------

def test_merge_command_applies_a_decision_and_refuses_two_registered_parties(target, tmp_path):
    g = target.open(write=True)
    try:
        load(write(tmp_path / "1.xlsx", ledger1()), g, source="荫营镇", survey_date=D1)
        before = rel_counts(g)
    finally:
        g.close()
    r = sg(target, "merge", E3, P1)
    assert r.returncode == 0, r.stderr
    r = sg(target, "merge", E1, E2)
    assert r.returncode == 1 and "都是有统一社会信用代码" in r.stderr
    r = sg(target, "merge", E1, E2, "--lang", "en")
    assert r.returncode == 1 and "both registered parties" in r.stderr
    r = sg(target, "merge", "LS-没有-1", P2)
    assert r.returncode == 1 and "LS-没有-1" in r.stderr
    r = sg(target, "loads", "--format", "json")  # the decision is recorded as a load of its own
    assert r.returncode == 0, r.stderr
    assert [x["source"] for x in json.loads(r.stdout)] == ["荫营镇", "sitegraph merge"]
    g = target.open()
    try:
        assert P1 not in keys(g)
        assert rel_counts(g) == before
        a = g.read("MATCH (e:Enterprise {uscc: $k}) RETURN e.aliases AS a", {"k": E3}).rows
        assert a == [{"a": [P1]}]
        assert g.read("MATCH (e:Enterprise)-[:RUNS]->(:Operation {operation_id: 'O9'}) RETURN e.uscc AS k").rows \
            == [{"k": E3}]
    finally:
        g.close()


def _decisions(path, rows):
    wb = Workbook()
    ws = wb.active
    ws.title = "疑似重复主体"
    ws.append(["甲方编码", "甲方名称", "乙方编码", "乙方名称", "得分", "依据", "是否同一主体"])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_merge_decisions_workbook(target, tmp_path):
    load_ledger1(target, tmp_path)
    bad = _decisions(tmp_path / "bad.xlsx", [[P4, "", E5, "", 90, "", "是"], ["LS-没有-2", "", P5, "", 80, "", "是"]])
    r = sg(target, "merge", "--decisions", str(bad))
    assert r.returncode == 1 and "第 3 行" in r.stderr and "LS-没有-2" in r.stderr
    g = target.open()
    try:
        assert P4 in keys(g)  # nothing applied
    finally:
        g.close()
    ok = _decisions(tmp_path / "ok.xlsx", [[P4, "", E5, "", 90, "", "是"], [P3, "", P5, "", 80, "", "是"],
                                           [E1, "", P2, "", 60, "", "否"]])
    r = sg(target, "merge", "--decisions", str(ok), "--format", "json")
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout)
    assert [(d["keep"], d["merged"]) for d in done] == [(E5, [P4]), (P3, [P5])]  # the registered one kept
    g = target.open()
    try:
        k = keys(g)
        assert E5 in k and P4 not in k and P3 in k and P5 not in k and P2 in k
    finally:
        g.close()


def test_library_merge_keeps_values_in_history(graph, tmp_path):
    load(write(tmp_path / "1.xlsx", ledger1()), graph, source="荫营镇", survey_date=D1)
    res = merge_records(graph, P3, [P5], day=D2)
    assert res["merged"] == [P5]
    h = graph.read("MATCH (h:EnterpriseHistory) WHERE h.h_key = $k AND h.h_kind = 'merged' "
                   "RETURN h.h_into AS i, h.name AS n", {"k": P5}).rows
    assert h == [{"i": P3, "n": "某临时搭建修理点"}]
    loads = graph.read("MATCH (l:SitegraphLoad) RETURN l.source AS s ORDER BY l.load_seq").rows
    assert loads[-1]["s"] == "sitegraph merge"


# --- the generator: provisional parties of every kind, then a ledger giving codes ------------------

def _pack_vs(backend, survey) -> list[str]:
    exp = survey.truth()["queries"]
    problems = []
    for spec in load_catalogue():
        if spec.id in exp:
            params = {"as_of": survey.as_of} if any(p.name == "as_of" for p in spec.params) else {}
            problems += compare(spec.id, run_query(backend, spec, params, include_personal=True).rows, exp[spec.id])
    return problems


def test_generated_provisional_parties_load_merge_and_match_the_truth(graph, tmp_path):
    from loaders.generate import generate, write_survey_files
    from loaders.generate_parties import later_ledger, provisional_keys

    survey = generate(200, seed=4, provisional=0.06)
    prov = provisional_keys(survey.records)
    ents = {e["uscc"]: e for e in survey.records["Enterprise"]}
    assert {ents[p]["party_kind"] for p in prov} == {"无照经营", "自然人", "村集体", "个体工商户", "其他"}
    roles = {"lessor": {t["lessor_uscc"] for t in survey.records["Tenancy"]},
             "lessee": {t["lessee_uscc"] for t in survey.records["Tenancy"]},
             "owner": {b["owner_uscc"] for b in survey.records["Building"]},
             "operator": {o["uscc"] for o in survey.records["Operation"]},
             "contractor": {c["contractor_uscc"] for c in survey.records["Contract"]}}
    assert all(set(prov) & who for who in roles.values()), {r: len(set(prov) & w) for r, w in roles.items()}
    write_survey_files(survey, tmp_path / "r1", format="xlsx")
    load(tmp_path / "r1" / "survey.xlsx", graph, source="郊区", survey_date=D1)
    assert set(prov) <= keys(graph)
    problems = _pack_vs(graph, survey)
    assert not problems, "\n".join(problems[:40])
    assert survey.truth()["queries"]["unregistered-parties"]["rows"]
    before = rel_counts(graph)
    later = later_ledger(survey, 0.5)
    merged = set(prov) - set(provisional_keys(later.records))
    assert merged
    write_survey_files(later, tmp_path / "r2", format="xlsx")
    out = load(tmp_path / "r2" / "survey.xlsx", graph, source="郊区", survey_date=D2)
    assert {m["other"] for m in out.checked.merges} == merged
    assert not (merged & keys(graph))
    assert rel_counts(graph) == before  # counts by type unchanged
    problems = _pack_vs(graph, later)
    assert not problems, "\n".join(problems[:40])


def test_the_briefing_marks_parties_without_a_uscc(target, tmp_path):
    load_ledger1(target, tmp_path)
    out = tmp_path / "b9.md"
    r = sg(target, "brief", "B9", "--as-of", AS_OF.isoformat(), "--format", "md", "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("| 荫营镇无名喷涂作坊 |"))
    assert f"{P1}（无统一社会信用代码，临时编码）（无照经营）" in line
    assert "王＊＊" in text and "王小明" not in text  # a 自然人's name stays masked
    assert f"| {E1}（" not in text  # a registered party is not marked
    # with --include-personal the briefing names the person
    r = sg(target, "brief", "B9", "--as-of", AS_OF.isoformat(), "--format", "md", "--out", str(out), "--include-personal")
    assert r.returncode == 0, r.stderr
    assert "| 王小明 |" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("target", ["embedded"], indirect=True)
def test_generate_provisional_writes_both_ledgers_and_the_cli_loads_them(target, tmp_path):
    out = tmp_path / "gen"
    from conftest import run_cli

    r = run_cli("generate", str(out), "-n", "80", "--seed", "6", "--provisional", "0.1", "--format", "csv")
    assert r.returncode == 0, r.stderr
    for folder, day in ((out, "2025-01-10"), (out / "取得代码", "2025-02-10")):
        r = sg(target, "load", str(folder), "--source", "郊区", "--date", day)
        assert r.returncode == 0, r.stderr
        truth_rows = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))["queries"]
        r = sg(target, "query", "run", "unregistered-parties", "--format", "json")
        assert r.returncode == 0, r.stderr
        got = {row["uscc"] for row in json.loads(r.stdout)}
        assert got == {row["uscc"] for row in truth_rows["unregistered-parties"]["rows"]}


def test_a_party_written_with_a_mistyped_code_merges_into_the_valid_one(target, tmp_path):
    """A registered twin whose USCC fails its check character (a copying error) is the common
    duplicate: `merge` folds it into the party with the valid code; two valid codes stay refused."""
    recs = ledger1()
    good = E1
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # the same code, its check character wrong
    twin = dict(next(e for e in recs["Enterprise"] if e["uscc"] == good))
    twin.update(uscc=bad, name=twin["name"] + " ")
    recs["Enterprise"].append(twin)
    g = target.open(write=True)
    try:
        load(write(tmp_path / "1.xlsx", recs), g, source="荫营镇", survey_date=D1)
        before = rel_counts(g)
    finally:
        g.close()
    r = sg(target, "merge", bad, good)  # the valid one must be kept
    assert r.returncode == 1 and f"sitegraph merge {good} {bad}" in r.stderr
    r = sg(target, "merge", good, bad)
    assert r.returncode == 0, r.stderr
    g = target.open()
    try:
        assert bad not in keys(g) and good in keys(g)
        assert rel_counts(g) == before
        assert g.read("MATCH (e:Enterprise {uscc: $k}) RETURN e.aliases AS a", {"k": good}).rows == [{"a": [bad]}]
    finally:
        g.close()
