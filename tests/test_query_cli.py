"""`sitegraph query list | show | run`, run as a user would (a subprocess), on real graphs."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from conftest import Target
from graphmodel.writer import write_survey
from queries.catalogue import CATALOGUE_IDS
from queries.runner import run_all

AS_OF = "2025-01-15"


def _records() -> dict[str, list[dict]]:
    ent = lambda u, name, **kw: {"uscc": u, "name": name, "sector": "机械", "county": "城区",  # noqa: E731
                                 "township": "上站街道", "business_license": True, "environmental_permit": True,
                                 "principal": "赵六", "phone": "13800000000", **kw}
    return {
        "Enterprise": [
            ent("O", "阳泉市城区顺发机械厂"),
            ent("A", "=HYPERLINK(\"http://x\")", environmental_permit=None),  # a formula-looking name
            ent("B", "+危险公司", business_license=False),
        ],
        "Building": [{"building_id": "B1", "name": "一号厂房", "owner_uscc": "O", "county": "城区",
                      "township": "上站街道", "illegal_construction": True}],
        "Tenancy": [
            {"tenancy_id": "T1", "lessor_uscc": "O", "lessee_uscc": "A", "building_id": "B1"},
            {"tenancy_id": "T2", "lessor_uscc": "O", "lessee_uscc": "B", "building_id": "B1",
             "safety_agreement": True, "duties_defined": True},
        ],
        "Hazard": [{"hazard_id": "H1", "uscc": "A", "description": "消防通道堵塞", "level": "重大", "status": "未整改",
                    "found_on": dt.date(2024, 11, 20), "deadline": dt.date(2025, 1, 1),
                    "responsible_person": "钱七"}],
    }


def _load(target):
    g = target.open(write=True)
    try:
        write_survey(g, _records(), source="cli-test")
    finally:
        g.close()
    return target


@pytest.fixture
def loaded(target):
    """The small survey on each backend in turn."""
    return _load(target)


@pytest.fixture
def emb(tmp_path):
    """The small survey in an embedded graph only (rendering does not depend on the backend)."""
    t = Target("embedded", path=tmp_path / "cli.db")
    g = t.open(write=True)
    g.install_schema()
    g.close()
    return _load(t)


def test_list_table_and_json(cli):
    res = cli("query", "list", "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert [d["id"] for d in data][: len(CATALOGUE_IDS)] == list(CATALOGUE_IDS)
    for d in data:
        assert {"id", "title_zh", "title_en", "severity", "category", "key_columns", "params", "columns"} <= set(d)
    assert next(d for d in data if d["id"] == "five-always")["key_columns"] == ["action", "subject_id"]
    table = cli("query", "list")
    assert table.returncode == 0 and "编号" in table.stdout and "worry-list" in table.stdout
    assert f"共 {len(data)} 个查询" in table.stderr
    dust = json.loads(cli("query", "list", "--format", "json", "--search", "粉尘爆炸").stdout)
    assert [d["id"] for d in dust] == ["dust-in-multistorey"]
    cat = json.loads(cli("query", "list", "--format", "json", "--category", "重大隐患").stdout)
    assert {d["id"] for d in cat} >= {"major-hazards-open", "hazards-overdue"} and all(
        d["category"] == "重大隐患" for d in cat)


def test_show_prints_metadata_and_the_cypher(cli):
    res = cli("query", "show", "nested-high-risk")
    assert res.returncode == 0, res.stderr
    for text in ("园中园、厂中厂内的高风险作业", "lease_depth", "租赁层级", "MATCH (x:Enterprise)-[:RUNS]->", "site_path_length"):
        assert text in res.stdout
    js = json.loads(cli("query", "show", "market-access", "--format", "json").stdout)
    assert js["id"] == "market-access" and "FOLD" not in js["cypher"] and "replace(" in js["cypher"]
    assert js["params"] == [] and js["key_columns"] == ["uscc"]
    res = cli("query", "show", "hazards-overdue")
    assert "as_of" in res.stdout and "today" in res.stdout


def test_run_json_has_the_key_columns(cli, loaded):
    res = cli("query", "run", "five-always", "--format", "json", *loaded.args, env=loaded.env)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert {(r["action"], r["subject_id"]) for r in rows} == {
        ("依法取缔", "B"), ("责令停产整顿", "A"), ("责令停产整顿", "B"), ("挂牌督办", "A")}
    assert "4 行" in res.stderr
    res = cli("query", "run", "hazards-overdue", "--param", f"as_of={AS_OF}", "--format", "json",
              *loaded.args, env=loaded.env)
    rows = json.loads(res.stdout)
    assert [r["hazard_id"] for r in rows] == ["H1"] and rows[0]["deadline"] == "2025-01-01"
    assert "responsible_person" not in rows[0]
    res = cli("query", "run", "hazards-overdue", "--param", "as_of=2024-12-01", "--format", "json",
              *loaded.args, env=loaded.env)
    assert json.loads(res.stdout) == []


def test_run_personal_data_only_when_asked(cli, emb):
    hidden = json.loads(cli("query", "run", "market-access", "--format", "json", *emb.args, env=emb.env).stdout)
    assert {r["uscc"] for r in hidden} == {"A", "B"}
    assert all("phone" not in r and "principal" not in r for r in hidden)
    shown = cli("query", "run", "market-access", "--format", "json", "--include-personal", *emb.args,
                env=emb.env)
    assert all(r["phone"] == "13800000000" and r["principal"] == "赵六" for r in json.loads(shown.stdout))


def test_csv_export_bom_header_first_labels_and_neutralised_cells(cli, emb, tmp_path):
    res = cli("query", "run", "responsibility-gaps", "--format", "csv", *emb.args, env=emb.env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("\ufeff类别,")  # BOM, then the header on line 1: no comment line
    lines = list(csv.reader(io.StringIO(res.stdout.lstrip("\ufeff"))))
    assert lines[0][:2] == ["类别", "合同编号/租赁编号"]
    body = {r[1]: r for r in lines[1:]}
    assert set(body) == {"T1"}
    assert body["T1"][0] == "租赁"  # the code 'tenancy' shown by its label
    assert "'=HYPERLINK(\"http://x\")" in body["T1"]
    js = json.loads(cli("query", "run", "responsibility-gaps", "--format", "json", *emb.args, env=emb.env).stdout)
    assert [r["kind"] for r in js] == ["tenancy"]  # JSON keeps the codes
    out = tmp_path / "mkt.csv"
    res = cli("query", "run", "market-access", "--out", str(out), *emb.args, env=emb.env)  # format from suffix
    assert res.returncode == 0 and res.stdout == "" and out.exists()
    text = out.read_text(encoding="utf-8")
    assert text.startswith("\ufeff统一社会信用代码,")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert "联系电话" not in lines[0] and "13800000000" not in text
    assert {r[0]: r[1] for r in lines[1:]} == {"A": "'=HYPERLINK(\"http://x\")", "B": "'+危险公司"}
    meta = json.loads((tmp_path / "mkt.csv.meta.json").read_text(encoding="utf-8"))  # the sidecar
    assert meta["query"] == "market-access" and meta["rows"] == 2 and meta["include_personal"] is False
    assert "未包含个人信息" in meta["personal_data"] and meta["backend"].startswith("embedded ")
    assert [c["header"] for c in meta["columns"]] == lines[0]


def test_xlsx_export(cli, emb, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "mkt.xlsx"
    res = cli("query", "run", "market-access", "--format", "xlsx", "--out", str(out), "--include-personal",
              *emb.args, env=emb.env)
    assert res.returncode == 0, res.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", "说明", "无证照经营或许可地址不符"]
    ws = wb.active  # a single query's workbook opens on its data
    assert ws.title == "无证照经营或许可地址不符"
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "统一社会信用代码" and "主要负责人" in rows[0] and "联系电话" in rows[0]
    names = {r[1] for r in rows[1:]}
    assert "'+危险公司" in names and "'=HYPERLINK(\"http://x\")" in names
    assert all(not (isinstance(c, str) and c[:1] in "=+-@") for r in rows[1:] for c in r)
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert "含个人信息" in notes["个人信息 / personal data"]
    assert next(r for r in wb["汇总"].iter_rows(min_row=2, values_only=True))[0] == "market-access"


def test_errors_exit_codes_and_messages(cli, emb):
    res = cli("query", "run", "worry-lst", *emb.args, env=emb.env)
    assert res.returncode == 1 and "worry-list" in res.stderr and res.stdout == ""
    res = cli("query", "show", "nested")
    assert res.returncode == 1 and "nested-high-risk" in res.stderr
    res = cli("query", "run", "hazards-overdue", "--param", "as_of=31.01.2025x", *emb.args, env=emb.env)
    assert res.returncode == 1 and "as_of" in res.stderr and res.stdout == ""
    res = cli("query", "run", "hazards-overdue", "--param", "cap=0.1", *emb.args, env=emb.env)
    assert res.returncode == 1 and "cap" in res.stderr
    res = cli("query", "run", "dispatch-over-cap", "--param", "cap=abc", *emb.args, env=emb.env)
    assert res.returncode == 1 and "cap" in res.stderr
    res = cli("query", "run", "hazards-overdue", "--param", "as_of", *emb.args, env=emb.env)
    assert res.returncode == 2 and "k=v" in res.stderr
    assert cli("query", "run", *emb.args, env=emb.env).returncode == 2
    assert cli("query", "run", "worry-list", "--all", *emb.args, env=emb.env).returncode == 2


def test_run_all_summary_and_workbook(cli, loaded, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "results"
    # table on one backend, json on the other: each --all run is the whole pack
    fmt = ["--format", "json"] if loaded.kind == "neo4j" else []
    res = cli("query", "run", "--all", "--param", f"as_of={AS_OF}", "--out", str(out), *fmt,
              *loaded.args, env=loaded.env)
    assert res.returncode == 0, res.stderr
    g = loaded.open()
    try:
        expected = {r.spec.id: len(r.rows) for r in run_all(g, {"as_of": dt.date(2025, 1, 15)})}
    finally:
        g.close()
    assert expected["five-always"] == 4
    if fmt:
        summary = {s["id"]: s["rows"] for s in json.loads(res.stdout)}
        assert summary == expected and list(summary)[: len(CATALOGUE_IDS)] == list(CATALOGUE_IDS)
        assert json.loads((out / "worry-list.json").read_text(encoding="utf-8"))
    else:
        assert all(q in res.stdout for q in CATALOGUE_IDS) and "行数" in res.stdout
    wb = load_workbook(out / "sitegraph-findings.xlsx")
    assert wb.sheetnames[:2] == ["汇总", "说明"]
    index = wb["汇总"]
    counts = {r[0].value: r[4].value for r in index.iter_rows(min_row=2)}
    assert counts == expected
    sheet_of = {r[0].value: r[0].hyperlink.location.split("!")[0].strip("'") for r in index.iter_rows(min_row=2)}
    assert sorted(sheet_of.values()) == sorted(wb.sheetnames[2:])  # one linked sheet per query
    rows = list(wb[sheet_of["five-always"]].iter_rows(values_only=True))
    assert rows[0][1] == "处置措施" and len(rows) == 1 + 4
    assert "个人信息" in "".join(str(c) for r in wb["说明"].iter_rows(values_only=True) for c in r)
