"""A small hand-made survey for the briefing tests: one park with a plant compound
nested in it, a two-level lease chain, a broken chain, outsourcing with "两头不管",
dispatch on a core post, high-risk operations and hazards (one major and overdue).
"""
from __future__ import annotations

import datetime as dt

AS_OF = dt.date(2024, 12, 15)

_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(body17: str) -> str:
    """A USCC with the right GB 32100-2015 check character."""
    s = sum(_CHARS.index(c) * w for c, w in zip(body17, _WEIGHTS))
    return body17 + _CHARS[(31 - s % 31) % 31]


OWN = uscc("91140300MA0K00001")
L1 = uscc("91140300MA0K00002")
S1 = uscc("91140300MA0K00003")
L2 = uscc("91140300MA0K00004")
X1 = uscc("91140300MA0K00005")
Y1 = uscc("92140300MA0K00006")
CT = uscc("91140100MA0K00007")
AG = uscc("91140300MA0K00008")
OP = uscc("91140300MA0K00009")
Z1 = uscc("91140300MA0K00010")

NAMES = {
    OWN: "阳泉华兴耐火材料有限公司",
    L1: "阳泉宏达机械加工厂",
    S1: "阳泉顺发喷涂有限公司",
    L2: "阳泉鑫源仓储物流有限公司",
    X1: "阳泉恒泰贸易有限公司",
    Y1: "阳泉永盛五金加工部",
    CT: "山西晋安检修工程有限公司",
    AG: "阳泉人力资源派遣服务有限公司",
    OP: "阳泉耐火产业园运营管理有限公司",
    Z1: "盂县远方铸造有限公司",
}

PRINCIPAL_OWN = "张建国"
PHONE_OWN = "13800000001"
RESPONSIBLE_H1 = "李卫东"
INSPECTORS_I1 = ["王五", "赵六"]


def _prov(sheet: str, i: int) -> dict:
    return {"src_file": "brief-test.xlsx", "src_sheet": sheet, "src_row": i + 2}


def _rows(sheet: str, rows: list[dict]) -> list[dict]:
    return [{**r, **_prov(sheet, i)} for i, r in enumerate(rows)]


def records() -> dict[str, list[dict]]:
    def ent(u, sector="机械", county="郊区", township="荫营镇", **kw):
        return {"uscc": u, "name": NAMES[u], "sector": sector, "county": county, "township": township,
                "uscc_valid": True, **kw}

    enterprises = [
        ent(OWN, "建材", business_license=True, environmental_permit=True, principal=PRINCIPAL_OWN,
            phone=PHONE_OWN, contract_workers=120, safety_staff=3, risk_identification=True, training=True,
            self_inspection=True, address="郊区荫营镇耐火路1号", licensed_address="郊区荫营镇耐火路1号"),
        ent(L1, business_license=True, environmental_permit=True, risk_identification=True, training=False,
            self_inspection=True, address="郊区荫营镇耐火路1号", licensed_address="郊区 荫营镇耐火路１号",
            contract_workers=30),
        ent(S1, "轻工", business_license=True, environmental_permit=False, address="郊区荫营镇耐火路1号2层",
            licensed_address="城区义井街道工业路8号", principal="刘喷涂"),
        ent(L2, "商贸", environmental_permit=True),
        ent(X1, "商贸", business_license=True),
        ent(Y1, business_license=False, environmental_permit=False, status="在产"),
        ent(CT, "其他", county="城区", township="上站街道", business_license=True, contract_workers=20),
        ent(AG, "其他", county="城区", township="上站街道", business_license=True),
        ent(OP, "其他", business_license=True),
        ent(Z1, "冶金", county="盂县", township="秀水镇", business_license=True),
    ]
    sites = [
        {"site_id": "P1", "name": "阳泉耐火材料产业园", "kind": "园区", "operator_uscc": OP,
         "county": "郊区", "township": "荫营镇"},
        {"site_id": "P1-A", "name": "华兴厂区", "kind": "厂区", "parent_site_id": "P1", "operator_uscc": OWN,
         "county": "郊区", "township": "荫营镇"},
        {"site_id": "P2", "name": "盂县铸造园", "kind": "园区", "county": "盂县", "township": "秀水镇"},
    ]
    buildings = [
        {"building_id": "B1", "name": "1号联合厂房", "site_id": "P1-A", "owner_uscc": OWN, "county": "郊区",
         "township": "荫营镇", "floor_area": 5200.0, "floors": 2, "structure": "彩钢板", "planned_use": "生产",
         "fire_class": "丙", "land_use_permit": True, "three_simultaneity": None, "fire_acceptance": False,
         "structural_hazard": False, "illegal_construction": True, "fire_facilities_ok": None,
         "escape_obstruction": False},
        {"building_id": "B2", "name": "2号仓库", "site_id": "P1", "owner_uscc": OWN, "county": "郊区",
         "township": "荫营镇", "floor_area": 3000.0, "floors": 1, "structure": "钢结构", "planned_use": "仓储",
         "fire_class": "丁", "land_use_permit": True, "three_simultaneity": True, "fire_acceptance": True,
         "structural_hazard": False, "illegal_construction": False, "fire_facilities_ok": True,
         "escape_obstruction": True},
        {"building_id": "B9", "name": "铸造车间", "site_id": "P2", "owner_uscc": Z1, "county": "盂县",
         "township": "秀水镇", "floor_area": 8000.0, "floors": 1, "structure": "排架", "planned_use": "生产",
         "fire_class": "丁"},
    ]
    tenancies = [
        {"tenancy_id": "T1", "lessor_uscc": OWN, "lessee_uscc": L1, "building_id": "B1", "floor": "1层",
         "area": 1800.0, "purpose": "生产", "activity": "矿山机械零件加工", "workers": 25, "goods_fire_class": "丁",
         "safety_agreement": True, "duties_defined": True, "lessee_reviewed": True, "use_reviewed": True,
         "coordinated": True, "periodic_inspection": False, "three_in_one": False, "dorm_inside": False,
         "illegal_power_gas": False, "illegal_hazchem": False,
         "start_date": dt.date(2023, 3, 1), "end_date": dt.date(2026, 2, 28)},
        {"tenancy_id": "T2", "lessor_uscc": L1, "lessee_uscc": S1, "building_id": "B1", "floor": "2层",
         "area": 600.0, "purpose": "生产", "activity": "金属件喷涂", "workers": 12, "goods_fire_class": "甲",
         "safety_agreement": False, "sublease_consent": False, "three_in_one": True,
         "illegal_power_gas": None, "illegal_hazchem": False},
        {"tenancy_id": "T3", "lessor_uscc": OWN, "lessee_uscc": L2, "building_id": "B2", "area": 2000.0,
         "purpose": "生产", "workers": 8, "goods_fire_class": "丙", "safety_agreement": True,
         "duties_defined": False, "lessee_reviewed": True, "use_reviewed": False, "coordinated": None,
         "periodic_inspection": True, "fire_reacceptance": True, "three_in_one": False, "dorm_inside": True},
        {"tenancy_id": "T4", "lessor_uscc": X1, "lessee_uscc": Y1, "building_id": "B2", "area": 300.0,
         "purpose": "仓储", "workers": 3, "goods_fire_class": "丁"},
    ]
    contracts = [
        {"contract_id": "C1", "client_uscc": OWN, "contractor_uscc": CT, "kind": "检维修外委", "building_id": "B1",
         "work": "除尘管道检修", "contractor_qualified": None, "safety_agreement": False, "duties_defined": None,
         "client_coordinates": False, "contractor_site_manager": None,
         "high_risk_work": ["有限空间作业", "动火作业"], "subcontracted": False},
        {"contract_id": "C2", "client_uscc": OP, "contractor_uscc": CT, "kind": "环保设施托管", "site_id": "P1",
         "work": "园区污水站运维", "contractor_qualified": True, "safety_agreement": True, "duties_defined": True,
         "client_coordinates": True, "contractor_site_manager": True},
    ]
    dispatch = [
        {"dispatch_id": "D1", "agency_uscc": AG, "host_uscc": CT, "contract_id": "C1", "workers": 12,
         "position": "检修工", "position_nature": "其他", "months": 12},
    ]
    operations = [
        {"operation_id": "O1", "uscc": S1, "building_id": "B1", "category": "喷涂", "description": "二层喷漆房",
         "workers": 6, "crowded_rooms": True},
        {"operation_id": "O2", "uscc": L1, "building_id": "B1", "category": "粉尘涉爆", "description": "抛丸打磨",
         "workers": 4, "crowded_rooms": False},
        {"operation_id": "O3", "uscc": Z1, "building_id": "B2", "category": "有限空间", "description": "地下污水池"},
    ]
    hazards = [
        {"hazard_id": "H1", "uscc": S1, "building_id": "B1", "description": "喷漆房设在非框架结构多层厂房二层且与宿舍相邻",
         "level": "重大", "clause": "MECH-6", "found_on": dt.date(2024, 11, 20), "found_by": "县区检查",
         "responsible_person": RESPONSIBLE_H1, "measures": None, "funds": None, "deadline": dt.date(2024, 12, 1),
         "contingency_plan": False, "status": "未整改", "reported_to_authority": True, "reported_to_staff": False,
         "supervised": False},
        {"hazard_id": "H2", "uscc": L2, "building_id": "B2", "description": "仓库疏散通道堆放货物",
         "level": "一般", "found_on": dt.date(2024, 11, 25), "found_by": "企业自查", "responsible_person": "周七",
         "measures": "清理通道", "funds": 0.5, "deadline": dt.date(2025, 1, 31), "contingency_plan": True,
         "status": "整改中"},
        {"hazard_id": "H3", "uscc": OWN, "building_id": "B1", "description": "灭火器过期", "level": "一般",
         "found_on": dt.date(2024, 11, 12), "found_by": "企业自查", "measures": "更换灭火器", "funds": 0.2,
         "deadline": dt.date(2024, 11, 30), "contingency_plan": True, "status": "已销号",
         "closed_on": dt.date(2024, 11, 28)},
        {"hazard_id": "H4", "uscc": Z1, "building_id": "B9", "description": "熔炼炉冷却水无温度监测",
         "level": "重大", "found_on": dt.date(2024, 11, 22), "status": "未整改"},
    ]
    inspections = [
        {"inspection_id": "I1", "date": dt.date(2024, 11, 20), "agency": "郊区应急管理局",
         "inspectors": INSPECTORS_I1, "signed": True, "uscc": S1, "hazard_ids": ["H1"],
         "document_no": "阳郊应急责改〔2024〕12号", "actions": ["责令停产整顿"]},
        {"inspection_id": "I2", "date": dt.date(2024, 11, 22), "agency": "盂县应急管理局",
         "inspectors": ["钱八"], "signed": False, "uscc": Z1, "hazard_ids": ["H4"]},
    ]
    return {
        "Enterprise": _rows("企业", enterprises),
        "Site": _rows("园区厂区", sites),
        "Building": _rows("建筑", buildings),
        "Tenancy": _rows("租赁", tenancies),
        "Contract": _rows("外包外委", contracts),
        "Dispatch": _rows("劳务派遣", dispatch),
        "Operation": _rows("高风险作业", operations),
        "Hazard": _rows("隐患", hazards),
        "Inspection": _rows("检查记录", inspections),
    }


def load(backend) -> None:
    from graphmodel.writer import write_survey

    write_survey(backend, records(), source="brief-test")
