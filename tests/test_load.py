"""`sitegraph load` end to end, on both backends: every sheet and column, provenance,
idempotence, the same survey in three shapes, pruning, atomicity."""
from __future__ import annotations

import copy
import datetime as dt
import json

from graphmodel.schema import NODE_TYPES, NODES, REL_TYPES, Kind
from loaders.survey import load
from ledgers import (
    BAD_CHECK, E3, E5, E6, check_every_column_filled, graph_state, info, load_json, rows_of, seed, sg,
    survey_records, uscc, workbook, write_variant,
)


def expected_pairs(records: dict) -> dict[str, set]:
    """Relationships the records should draw, from their reference columns (via the schema)."""
    out = {}
    for rel in REL_TYPES:
        owner = NODES[rel.owner]
        col = owner.column(rel.column)
        pairs = set()
        for r in records[owner.label]:
            v = r.get(col.key)
            for t in (v if col.kind is Kind.REF_LIST else [v]) if v is not None else []:
                pairs.add((r[owner.key], t) if rel.owner_is_start else (t, r[owner.key]))
        out[rel.type] = pairs
    return out


def graph_pairs(b) -> dict[str, set]:
    out = {}
    for rel in REL_TYPES:
        s, e = NODES[rel.start], NODES[rel.end]
        rows = b.read(f"MATCH (a:{s.label})-[:{rel.type}]->(x:{e.label}) RETURN a.`{s.key}` AS a, x.`{e.key}` AS b").rows
        out[rel.type] = {(r["a"], r["b"]) for r in rows}
    return out


def test_every_sheet_and_column_loads_and_reads_back_with_provenance(target, tmp_path):
    recs = survey_records()
    check_every_column_filled(recs)
    path = write_variant(recs, tmp_path / "城区台账.xlsx", "xlsx")
    r = sg(target, "load", str(path))
    assert r.returncode == 0, r.stderr
    assert "城区台账" in r.stderr and "新增 23" in r.stderr
    b = target.open()
    try:
        state = graph_state(b)
        for nt in NODE_TYPES:
            want = sorted(recs[nt.label], key=lambda x: x[nt.key])
            assert state[nt.label] == want, nt.label
            ret = ", ".join(f"n.`{k}` AS `{k}`" for k in (nt.key, "source", "src_file", "src_sheet", "src_row",
                                                         "load_id", "loaded_at"))
            prov = b.read(f"MATCH (n:{nt.label}) RETURN {ret}").rows
            rows_by_key = {rec[nt.key]: i + 2 for i, rec in enumerate(recs[nt.label])}
            for p in prov:
                assert (p["source"], p["src_file"], p["src_sheet"]) == ("城区台账", "城区台账.xlsx", nt.sheet)
                assert p["src_row"] == rows_by_key[p[nt.key]]
                assert p["load_id"] and p["loaded_at"]
        assert graph_pairs(b) == expected_pairs(recs)
        # types as the schema says: dates are dates, lists are lists, bools stay three-valued
        t1 = b.read("MATCH (t:Tenancy {tenancy_id: 'T1'}) RETURN t.start_date AS d, t.use_reviewed AS u").rows[0]
        assert t1["d"] == dt.date(2023, 1, 1) and t1["u"] is None
    finally:
        b.close()


def test_loading_the_same_survey_twice_changes_nothing(target, tmp_path):
    path = write_variant(survey_records(), tmp_path / "s.xlsx", "xlsx")
    first = load_json(target, path)
    assert sum(v["created"] for v in first["labels"].values()) == 23
    before = info(target)
    second = load_json(target, path)
    assert all(v == {"created": 0, "updated": 0, "moved": 0, "unchanged": v["unchanged"], "pruned": 0, "late": 0, "readded": 0}
               for v in second["labels"].values())
    assert sum(v["unchanged"] for v in second["labels"].values()) == 23
    assert second["relationships_created"] == 0 and second["relationships_deleted"] == 0
    assert info(target) == before


def test_generated_survey_as_xlsx_csv_and_gb18030_loads_to_the_same_graph(target, tmp_path):
    """A generated 300-enterprise survey as a workbook, as clean CSV, and as GB18030 CSV with
    English headers, English file names, shuffled columns and other spellings (the
    generator's variant_spellings) gives the same business properties: those generated."""
    from loaders.generate import generate, write_survey_files

    survey = generate(300, 11)
    shapes = (("xlsx", dict(format="xlsx")), ("csv", dict(format="csv")),
              ("gb18030", dict(format="csv", encoding="gb18030", english_headers=True, variant_spellings=True)))
    states = []
    for name, opts in shapes:
        out = tmp_path / name
        write_survey_files(survey, out, **opts)
        b = target.open(write=True)
        try:
            rep = load(out, b, source="township").report
            if states:  # the same values from another file: every record moved, none added or updated
                assert all(v.created == v.updated == 0 and v.moved == len(survey.records[k])
                           for k, v in rep.labels.items())
            states.append(graph_state(b))
        finally:
            b.close()
    assert states[0] == states[1] == states[2]
    want = {nt.label: sorted(({k: r.get(k) for k in nt.data_keys} for r in survey.records[nt.label]),
                             key=lambda r: r[nt.key]) for nt in NODE_TYPES}
    assert states[0] == want


def lib_load(target, path, **kw):
    b = target.open(write=True)
    try:
        return load(path, b, **kw).report
    finally:
        b.close()


def state_info(target) -> dict:
    """Counts and every business property (what `sitegraph info` shows, and more)."""
    b = target.open()
    try:
        return {**b.info(), "state": graph_state(b)}
    finally:
        b.close()


def test_prune_removes_only_this_sources_missing_records(target, tmp_path):
    recs = survey_records()
    other = {"Enterprise": [dict(recs["Enterprise"][0], uscc=uscc("91140321MA0L00099"), name="别的县的企业")]}
    seed(target, other, source="平定县")
    lib_load(target, write_variant(recs, tmp_path / "s.xlsx", "xlsx"))
    smaller = copy.deepcopy(recs)
    smaller["Operation"] = [o for o in smaller["Operation"] if o["operation_id"] != "O2"]
    smaller["Inspection"] = [i for i in smaller["Inspection"] if i["inspection_id"] != "I2"]
    write_variant(smaller, tmp_path / "s.xlsx", "xlsx")
    rep = load_json(target, tmp_path / "s.xlsx", "--prune")
    assert rep["labels"]["Operation"]["pruned"] == 1 and rep["labels"]["Inspection"]["pruned"] == 1
    assert rep["labels"]["Enterprise"]["pruned"] == 0  # the other county's enterprise stays
    counts = state_info(target)["nodes"]
    assert counts["Operation"] == 1 and counts["Inspection"] == 1 and counts["Enterprise"] == 7


def test_a_failing_write_leaves_the_graph_as_it_was(target, tmp_path):
    """Atomic: new records are written before the prune check refuses; all are rolled back."""
    recs = survey_records()
    lib_load(target, write_variant(recs, tmp_path / "s.xlsx", "xlsx"))
    before = state_info(target)
    smaller = {"Enterprise": [e for e in recs["Enterprise"] if e["uscc"] != E6]
               + [dict(recs["Enterprise"][0], uscc=uscc("91140302MA0L00077"), name="新企业")]}
    write_variant(smaller, tmp_path / "s.xlsx", "xlsx")
    r = sg(target, "load", str(tmp_path / "s.xlsx"), "--prune")
    assert r.returncode == 1
    assert "劳务派遣" in r.stderr and E6 in r.stderr  # D1/D2 still name E6 as agency
    assert state_info(target) == before


def test_load_creates_the_embedded_database(tmp_path):
    from conftest import run_cli

    path = write_variant(survey_records(), tmp_path / "s.xlsx", "xlsx")
    db = tmp_path / "new" / "graph.db"
    db.parent.mkdir()
    r = run_cli("load", str(path), "--db", str(db))
    assert r.returncode == 0, r.stderr
    r = run_cli("info", "--db", str(db), "--format", "json")
    data = json.loads(r.stdout)
    assert data["schema_version"] == 3 and data["nodes"]["Enterprise"] == 6


def test_warnings_do_not_stop_a_load(target, tmp_path):
    ent = dict(survey_records()["Enterprise"][0], uscc=BAD_CHECK)
    path = workbook(tmp_path / "s.xlsx", {"企业": rows_of("Enterprise", [ent]) + [[None] * 3],
                                          "杂项": [["随便写的"]]})
    r = sg(target, "load", str(path), "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert "check character" in r.stderr and "unknown sheet" in r.stderr and "1 created" in r.stderr
    b = target.open()
    try:
        row = b.read("MATCH (e:Enterprise) RETURN e.uscc AS u, e.uscc_valid AS v").rows
    finally:
        b.close()
    assert row == [{"u": BAD_CHECK, "v": False}]


def test_a_weekly_sheet_resolves_references_to_the_graph(target, tmp_path):
    """A township sends only 租赁 this week: its parties and building are already loaded."""
    seed(target)
    t = dict(survey_records()["Tenancy"][0], tenancy_id="T9", lessor_uscc=E3, lessee_uscc=E5)
    path = workbook(tmp_path / "week47.xlsx", {"租赁": rows_of("Tenancy", [t])})
    rep = load_json(target, path)
    assert rep["labels"] == {"Tenancy": {"created": 1, "updated": 0, "moved": 0, "unchanged": 0, "pruned": 0, "late": 0, "readded": 0}}
    assert rep["source"] == "week47"
    b = target.open()
    try:
        rows = b.read("MATCH (:Enterprise {uscc: $u})-[:LESSOR_OF]->(t:Tenancy)-[:COVERS]->(b:Building) "
                      "RETURN t.tenancy_id AS t, b.building_id AS b", {"u": E3}).rows
    finally:
        b.close()
    assert {"t": "T9", "b": "B1"} in rows


def test_load_table_on_stdout_summary_on_stderr(target, tmp_path):
    path = write_variant(survey_records(), tmp_path / "s.xlsx", "xlsx")
    r = sg(target, "load", str(path))
    assert r.returncode == 0
    for word in ("导入结果", "工作表", "新增", "更新", "位置变化", "未变", "删除", "租赁", "检查记录"):
        assert word in r.stdout
    assert "已导入“s”" in r.stderr and "新增 23，更新 0，位置变化 0，未变 0，删除 0" in r.stderr


def test_generate_command_writes_a_survey_that_loads(target, tmp_path):
    from conftest import run_cli

    out = tmp_path / "demo"
    r = run_cli("generate", str(out), "--enterprises", "20", "--seed", "5", "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert (out / "ground_truth.json").exists() and (out / "企业.csv").exists()
    rep = load_json(target, out)
    assert rep["source"] == "demo" and rep["labels"]["Enterprise"]["created"] == 20


def _provenance(target, label: str) -> dict:
    nt = NODES[label]
    b = target.open()
    try:
        rows = b.read(f"MATCH (n:{label}) RETURN n.`{nt.key}` AS k, n.src_file AS f, n.src_row AS r, "
                      "n.load_id AS l").rows
    finally:
        b.close()
    return {r["k"]: (r["f"], r["r"], r["l"]) for r in rows}


def _table_row(stdout: str, sheet: str) -> list[str]:
    """The cells of one sheet's row of the load table."""
    line = next(x for x in stdout.splitlines() if x.startswith("│") and x.split("│")[1].strip() == sheet)
    return [c.strip() for c in line.strip("│").split("│")]


def test_counts_tell_value_changes_from_provenance_moves(target, tmp_path):
    """`updated` counts records whose ledger values changed; the same values under another
    file name or at another row are `位置变化` (provenance refreshed, relationships kept)."""
    import shutil

    from openpyxl import load_workbook

    recs = survey_records()
    n = {nt.label: len(recs[nt.label]) for nt in NODE_TYPES}
    first = write_variant(recs, tmp_path / "城区-11月.xlsx", "xlsx")
    assert sum(v["created"] for v in load_json(target, first, "--source", "城区")["labels"].values()) == 23
    before = _provenance(target, "Enterprise")

    # 1. the same content under a new file name: nothing updated, every record moved
    renamed = tmp_path / "城区-12月.xlsx"
    shutil.copy(first, renamed)
    r = sg(target, "load", str(renamed), "--source", "城区")
    assert r.returncode == 0, r.stderr
    assert "新增 0，更新 0，位置变化 23，未变 0，删除 0" in r.stderr
    head = [c.strip() for c in next(x for x in r.stdout.splitlines() if x.startswith("┃")).strip("┃").split("┃")]
    assert head == ["工作表", "文件", "行数", "新增", "更新", "位置变化", "未变", "删除"]
    assert _table_row(r.stdout, "企业") == ["企业", renamed.name, str(n["Enterprise"]), "0", "0",
                                           str(n["Enterprise"]), "0", "0"]
    after = _provenance(target, "Enterprise")
    assert set(after) == set(before)
    for k, (f, row, load_id) in after.items():  # provenance refreshed: file and load, same row
        assert f == renamed.name and row == before[k][1] and load_id != before[k][2]
    state = info(target)

    # 2. the same file again: no writes at all
    again = load_json(target, renamed, "--source", "城区")
    assert all(v == {"created": 0, "updated": 0, "moved": 0, "unchanged": n[k], "pruned": 0, "late": 0, "readded": 0}
               for k, v in again["labels"].items())
    assert again["relationships_created"] == again["relationships_deleted"] == 0
    assert _provenance(target, "Enterprise") == after and info(target) == state

    # 3. a blank row inserted at the top of the 企业 sheet: rows move, nothing is updated
    wb = load_workbook(renamed)
    wb["企业"].insert_rows(2)
    wb.save(renamed)
    r = sg(target, "load", str(renamed), "--source", "城区", "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert f"0 created, 0 updated, {n['Enterprise']} moved (provenance only), {23 - n['Enterprise']} unchanged" in r.stderr
    assert "moved" in r.stdout and _table_row(r.stdout, "企业")[3:] == ["0", "0", str(n["Enterprise"]), "0", "0"]
    shifted = _provenance(target, "Enterprise")
    assert all(shifted[k][1] == after[k][1] + 1 for k in after)
    assert info(target) == state  # same records, same relationships

    # 4. a real value change is an update (and only that record)
    wb = load_workbook(renamed)
    ws = wb["企业"]
    col = [c.value for c in ws[1]].index("企业名称") + 1
    ws.cell(row=3, column=col, value="改过名字的企业")
    wb.save(renamed)
    changed = load_json(target, renamed, "--source", "城区")
    assert changed["labels"]["Enterprise"] == {"created": 0, "updated": 1, "moved": 0,
                                               "unchanged": n["Enterprise"] - 1, "pruned": 0, "late": 0, "readded": 0}
    assert all(v["updated"] == v["moved"] == 0 for k, v in changed["labels"].items() if k != "Enterprise")
    b = target.open()
    try:
        names = {r["n"] for r in b.read("MATCH (e:Enterprise) RETURN e.name AS n").rows}
    finally:
        b.close()
    assert "改过名字的企业" in names


def test_a_failed_load_into_a_new_store_leaves_no_store_behind(tmp_path):
    """`load --db NEW` of an invalid ledger: exit 1 and no database file (not an empty store);
    into an existing store the store stays as it was."""
    from conftest import run_cli

    bad = tmp_path / "企业.csv"
    bad.write_text("统一社会信用代码,企业名称\nbad,某公司\n", encoding="utf-8")
    db = tmp_path / "new.db"
    r = run_cli("load", str(bad), "--db", str(db))
    assert r.returncode == 1 and "未导入任何数据" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["企业.csv"]
    assert run_cli("init", "--db", str(db)).returncode == 0
    r = run_cli("load", str(bad), "--db", str(db))
    assert r.returncode == 1 and db.exists()
