"""A small, complete survey for the loader tests, and helpers to hand it in.

`survey_records()` fills every column of every sheet at least once (typed values, as
the graph should hold them). `write_variant()` writes it as a team might: a workbook,
clean CSV, or GB18030 CSV with English headers and other spellings. `sheet()` builds
small hand-made workbooks for the malformed-input cases.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

from graphmodel.schema import NODE_TYPES, NODES, Column, Kind
from loaders.template import write_ledger
from loaders.values import uscc_check_char

D = dt.date


def uscc(body17: str) -> str:
    return body17 + uscc_check_char(body17)


E1 = uscc("91140302MA0L00001")  # owner of B1, operator of P1
E2 = uscc("91140302MA0L00002")  # owner of B2
E3 = uscc("91140311MA0L00003")  # lessee of B1, sub-lets to E4
E4 = uscc("92140311MA0L00004")
E5 = uscc("91140100MA0L00005")  # contractor
E6 = uscc("91140300MA0L00006")  # dispatch agency
BAD_CHECK = E1[:17] + ("0" if E1[17] != "0" else "1")  # right form, wrong check character

ENTERPRISES = [E1, E2, E3, E4, E5, E6]


def survey_records() -> dict[str, list[dict[str, Any]]]:
    ent = [
        dict(uscc=E1, name="阳泉华兴耐火材料有限公司", sector="建材", county="郊区", township="荫营镇",
             address="郊区荫营镇工业路1号", licensed_address="郊区荫营镇工业路1号", business_license=True,
             environmental_permit=True, principal="王建国", phone="0353-5550001", contract_workers=1200,
             safety_staff=6, risk_identification=True, training=True, self_inspection=False, status="在产"),
        dict(uscc=E2, name="阳泉宏达机械加工厂", sector="机械", county="城区", township="义井街道",
             address="城区义井街道2号", licensed_address="城区南庄3号", business_license=False,
             environmental_permit=None, principal=None, phone=None, contract_workers=35, safety_staff=0,
             risk_identification=False, training=None, self_inspection=None, status="停产"),
        dict(uscc=E3, name="阳泉顺发喷涂有限公司", sector="轻工", county="郊区", township="荫营镇",
             address=None, licensed_address=None, business_license=True, environmental_permit=False,
             principal="李四", phone="13800000003", contract_workers=18, safety_staff=1,
             risk_identification=None, training=False, self_inspection=True, status=None),
        dict(uscc=E4, name="阳泉永盛五金加工部", sector="其他", county="郊区", township="荫营镇", address=None,
             licensed_address=None, business_license=None, environmental_permit=None, principal=None, phone=None,
             contract_workers=None, safety_staff=None, risk_identification=None, training=None,
             self_inspection=None, status="关闭"),
        dict(uscc=E5, name="山西晋安检修工程有限公司", sector="商贸", county="城区", township="上站街道",
             address=None, licensed_address=None, business_license=True, environmental_permit=True, principal=None,
             phone=None, contract_workers=60, safety_staff=2, risk_identification=True, training=True,
             self_inspection=True, status="在产"),
        dict(uscc=E6, name="阳泉人力资源派遣服务有限公司", sector="其他", county="城区", township="上站街道",
             address=None, licensed_address=None, business_license=True, environmental_permit=None, principal=None,
             phone=None, contract_workers=8, safety_staff=None, risk_identification=None, training=None,
             self_inspection=None, status="取缔"),
    ]
    for e in ent:
        e["uscc_valid"] = True
        e.update(provisional_id=None, party_kind=None, aliases=None, person_name=None)  # issue 13 columns
    ent[3]["party_kind"] = "个体工商户"  # a 92… USCC
    ent[5].update(provisional_id="LS-城区-0001", aliases=["LS-城区-0001"])  # a merge row: it had a 临时编码
    sites = [
        dict(site_id="YQ-P1", name="阳泉经济技术开发区", kind="园区", parent_site_id=None, operator_uscc=E1,
             county="郊区", township="荫营镇"),
        dict(site_id="YQ-P2", name="华兴厂区", kind="厂区", parent_site_id="YQ-P1", operator_uscc=None,
             county="郊区", township="荫营镇"),
    ]
    buildings = [
        dict(building_id="B1", name="1号联合厂房", site_id="YQ-P2", owner_uscc=E1, county="郊区", township="荫营镇",
             floor_area=12500.5, floors=3, structure="砖混", planned_use="生产", fire_class="丙",
             land_use_permit=True, three_simultaneity=False, fire_acceptance=True, structural_hazard=False,
             illegal_construction=True, fire_facilities_ok=False, escape_obstruction=True, manager_uscc=None),
        dict(building_id="B2", name="宏达仓库", site_id=None, owner_uscc=E2, county="城区", township="义井街道",
             floor_area=800.0, floors=1, structure="彩钢板", planned_use="仓储", fire_class="戊",
             land_use_permit=None, three_simultaneity=None, fire_acceptance=None, structural_hazard=None,
             illegal_construction=None, fire_facilities_ok=None, escape_obstruction=None, manager_uscc=E2),
    ]
    tenancies = [
        dict(tenancy_id="T1", lessor_uscc=E1, lessee_uscc=E3, building_id="B1", floor="1-2层", area=3000.0,
             purpose="生产", activity="金属件喷涂", workers=18, goods_fire_class="甲", safety_agreement=True,
             duties_defined=False, lessee_reviewed=True, use_reviewed=None, coordinated=False,
             periodic_inspection=True, sublease_consent=None, fire_reacceptance=False, three_in_one=True,
             dorm_inside=False, illegal_power_gas=True, illegal_hazchem=False,
             start_date=D(2023, 1, 1), end_date=D(2025, 12, 31), underground=False),
        dict(tenancy_id="T2", lessor_uscc=E3, lessee_uscc=E4, building_id="B1", floor="2层东侧", area=450.25,
             purpose="仓储", activity=None, workers=4, goods_fire_class="丙", safety_agreement=None,
             duties_defined=None, lessee_reviewed=False, use_reviewed=False, coordinated=None,
             periodic_inspection=None, sublease_consent=False, fire_reacceptance=None, three_in_one=None,
             dorm_inside=True, illegal_power_gas=None, illegal_hazchem=True,
             start_date=D(2024, 3, 1), end_date=D(2024, 3, 1), underground=False),
        dict(tenancy_id="T3", lessor_uscc=E2, lessee_uscc=E5, building_id="B2", floor=None, area=None,
             purpose=None, activity=None, workers=None, goods_fire_class=None, safety_agreement=False,
             duties_defined=None, lessee_reviewed=None, use_reviewed=True, coordinated=True,
             periodic_inspection=False, sublease_consent=None, fire_reacceptance=True, three_in_one=False,
             dorm_inside=None, illegal_power_gas=False, illegal_hazchem=None, start_date=None, end_date=None,
             underground=None),
    ]
    contracts = [
        dict(contract_id="C1", client_uscc=E1, contractor_uscc=E5, kind="检维修外委", building_id="B1", site_id=None,
             work="除尘系统检修", contractor_qualified=False, safety_agreement=True, duties_defined=False,
             client_coordinates=None, contractor_site_manager=False, high_risk_work=["有限空间作业", "动火作业"],
             subcontracted=True, start_date=D(2024, 11, 11), end_date=D(2024, 12, 31)),
        dict(contract_id="C2", client_uscc=E3, contractor_uscc=E5, kind="工程发包", building_id=None, site_id="YQ-P1",
             work=None, contractor_qualified=None, safety_agreement=None, duties_defined=None,
             client_coordinates=True, contractor_site_manager=True, high_risk_work=None, subcontracted=None,
             start_date=None, end_date=None),
    ]
    dispatch = [
        dict(dispatch_id="D1", agency_uscc=E6, host_uscc=E3, contract_id="C1", workers=12, position="喷涂工",
             position_nature="其他", months=18),
        dict(dispatch_id="D2", agency_uscc=E6, host_uscc=E1, contract_id=None, workers=3, position=None,
             position_nature="临时性", months=None),
    ]
    operations = [
        dict(operation_id="O1", uscc=E3, building_id="B1", category="喷涂", description="喷漆房", workers=6,
             crowded_rooms=True),
        dict(operation_id="O2", uscc=E1, building_id="B1", category="粉尘涉爆", description=None, workers=None,
             crowded_rooms=None),
    ]
    hazards = [
        dict(hazard_id="H1", uscc=E3, building_id="B1", description="喷漆房与宿舍未分隔", level="重大", clause="GEN-6",
             found_on=D(2024, 11, 12), found_by="县区检查", responsible_person="李四", measures="拆除宿舍",
             funds=2.5, deadline=D(2024, 12, 1), contingency_plan=True, status="已销号", closed_on=D(2024, 11, 30),
             reported_to_authority=True, reported_to_staff=False, supervised=True, suspended=False,
             rectified_on=D(2024, 11, 28), acceptance="通过", accepted_on=D(2024, 11, 30), accepted_by="郊区应急管理局",
             supervision_level="县级", supervised_on=D(2024, 11, 12), supervision_deadline=D(2024, 12, 1),
             delisted_on=D(2024, 11, 30)),
        dict(hazard_id="H2", uscc=E4, building_id=None, description="灭火器过期", level="一般", clause=None,
             found_on=D(2024, 10, 8), found_by=None, responsible_person=None, measures=None, funds=None,
             deadline=None, contingency_plan=None, status="未整改", closed_on=None, reported_to_authority=None,
             reported_to_staff=None, supervised=None, suspended=None, rectified_on=None, acceptance=None,
             accepted_on=None, accepted_by=None, supervision_level=None, supervised_on=None,
             supervision_deadline=None, delisted_on=None),
    ]
    inspections = [
        dict(inspection_id="I1", date=D(2024, 11, 12), agency="郊区应急管理局", inspectors=["张三", "王五"],
             signed=True, uscc=E3, hazard_ids=["H1", "H2"], document_no="阳郊应急责改〔2024〕12号",
             actions=["责令停产整顿", "挂牌督办"]),
        dict(inspection_id="I2", date=D(2024, 12, 2), agency="荫营镇安监站", inspectors=["赵六"], signed=None,
             uscc=E4, hazard_ids=None, document_no=None, actions=None),
    ]
    out = {"Enterprise": ent, "Site": sites, "Building": buildings, "Tenancy": tenancies, "Contract": contracts,
           "Dispatch": dispatch, "Operation": operations, "Hazard": hazards, "Inspection": inspections}
    for nt in NODE_TYPES:  # every column present in every record
        for r in out[nt.label]:
            assert set(r) == set(nt.data_keys), (nt.label, set(nt.data_keys) ^ set(r))
    return out


def check_every_column_filled(records: dict) -> None:
    for nt in NODE_TYPES:
        for c in nt.columns:
            assert any(r.get(c.key) is not None for r in records[nt.label]), f"{nt.label}.{c.key} never filled"


# --- other spellings, as a different team would write the same survey ----------------------

_TRUE = ("Y", "yes", "√", "TRUE", "有", "1", "✓")
_FALSE = ("N", "no", "×", "false", "无", "0", "✗")
_FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def variant_cell(col: Column, v: Any) -> Any:
    """Same values, other spellings: bools, dates, lists, numbers, USCC case and width."""
    if v is None:
        return None
    h = sum(map(ord, col.key))
    if col.kind is Kind.BOOL:
        return (_TRUE if v else _FALSE)[h % 7]
    if col.kind is Kind.DATE:
        return (f"{v.year}/{v.month}/{v.day}", f"{v.year}年{v.month}月{v.day}日", v.strftime("%Y%m%d"),
                v.strftime("%Y.%m.%d"))[h % 4]
    if col.kind in (Kind.LIST, Kind.ENUM_LIST, Kind.REF_LIST):
        return "；".join(v) + "；"
    if col.kind is Kind.INT:
        return f"{v:,}" if v >= 1000 else str(v).translate(_FULL)
    if col.kind is Kind.FLOAT:
        return f"{v:,}"
    if col.kind is Kind.USCC or (col.kind is Kind.REF and NODES[col.ref].key_column.kind is Kind.USCC):
        return f" {v[:8]} {v[8:].lower()} "
    if col.kind is Kind.ENUM and col.aliases:
        return dict((c, a) for a, c in col.aliases).get(v, v)
    if isinstance(v, str):
        return f"  {v} "
    return v


def write_variant(records: dict, out: Path, variant: str) -> Path:
    """xlsx: a workbook; csv: clean UTF-8 CSV; gb18030: GB18030 CSV, English headers/names, other spellings."""
    if variant == "xlsx":
        write_ledger(out, records, format="xlsx")
    elif variant == "csv":
        write_ledger(out, records, format="csv")
    elif variant == "gb18030":
        write_ledger(out, records, format="csv", encoding="gb18030", english_headers=True, english_names=True,
                     cell=variant_cell)
    else:
        raise ValueError(variant)
    return out


def without_derived(records: dict) -> dict:
    out = copy.deepcopy(records)
    for nt in NODE_TYPES:
        for r in out.get(nt.label, []):
            for d in nt.derived:
                r.pop(d.key, None)
    return out


# --- small hand-made workbooks and CSV files -------------------------------------------------

def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """An .xlsx with the given sheets (rows as lists, the first one the header)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
            for c in ws[ws.max_row]:
                if isinstance(c.value, str) and c.value.startswith("="):
                    c.data_type = "s"  # text as typed, not a formula
    wb.save(path)
    return path


def rows_of(label: str, records: list[dict], *, english: bool = False) -> list[list[Any]]:
    """Header + rows of a sheet from typed records (as write_ledger would write them)."""
    nt = NODES[label]
    from loaders.template import default_cell

    out = [[c.key if english else c.header for c in nt.columns]]
    for r in records:
        out.append([default_cell(c, r.get(c.key), excel=True) for c in nt.columns])
    return out


def graph_state(backend) -> dict[str, list[dict]]:
    """Every business property of every record, by label, sorted by key (provenance left out)."""
    out = {}
    for nt in NODE_TYPES:
        ret = ", ".join(f"n.`{k}` AS `{k}`" for k in nt.data_keys)
        rows = backend.read(f"MATCH (n:{nt.label}) RETURN {ret} ORDER BY n.`{nt.key}`").rows
        out[nt.label] = [{k: _norm(r[k]) for k in nt.data_keys} for r in rows]
    return out


def _norm(v):
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, float) and v.is_integer():
        return v
    return v


def dumps(x) -> str:
    return json.dumps(x, ensure_ascii=False, default=str, sort_keys=True)


# --- running the real CLI on a test target ----------------------------------------------------

def sg(target, *args: str):
    """`sitegraph ARGS --db/--neo4j …` on the target, as a subprocess."""
    from conftest import run_cli

    return run_cli(*args, *target.args, env=target.env)


def info(target) -> dict:
    r = sg(target, "info", "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def load_json(target, path, *args: str) -> dict:
    r = sg(target, "load", str(path), "--format", "json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def seed(target, records: dict | None = None, source: str = "base") -> None:
    """Write records straight into the graph (the state a survey is checked against);
    `target` is a test Target or an open writable backend.

    Opens and closes its own connection: the embedded store allows one writer at a time.
    """
    from graphmodel.writer import write_survey

    recs = copy.deepcopy(records or survey_records())
    for label, rows in recs.items():
        for i, r in enumerate(rows):
            r.update(src_file=f"{source}.xlsx", src_sheet=NODES[label].sheet, src_row=i + 2)
    if not hasattr(target, "open"):  # an open writable backend
        write_survey(target, recs, source=source)
        return
    b = target.open(write=True)
    try:
        write_survey(b, recs, source=source)
    finally:
        b.close()
