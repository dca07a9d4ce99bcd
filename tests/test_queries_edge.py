"""Hand-written edge cases for every query of the pack, on both backends.

Each test writes a small survey with graphmodel.writer.write_survey into the `graph`
fixture (an empty embedded graph, then Neo4j) and checks exactly which subjects a query
finds — and which near misses it must not find: blank versus 否, deadlines equal to
as_of, 已销号 versus 已整改, sub-lease chains, occupants without a lease, fire classes
equal versus higher, addresses differing only in white space or full-width forms, …
"""
from __future__ import annotations

import datetime as dt

import pytest

from graphmodel.errors import SitegraphError
from graphmodel.writer import write_survey
from queries.runner import run_all, run_query

AS_OF = dt.date(2025, 1, 15)
YES, NO = True, False

# Every duty of a record done, no violation present: a clean record to vary from.
CLEAN_ENTERPRISE = {"business_license": YES, "environmental_permit": YES}
CLEAN_BUILDING = {"land_use_permit": YES, "three_simultaneity": YES, "fire_acceptance": YES,
                  "structural_hazard": NO, "illegal_construction": NO, "fire_facilities_ok": YES,
                  "escape_obstruction": NO}
CLEAN_TENANCY = {"safety_agreement": YES, "duties_defined": YES, "lessee_reviewed": YES, "use_reviewed": YES,
                 "coordinated": YES, "periodic_inspection": YES, "three_in_one": NO, "dorm_inside": NO,
                 "illegal_power_gas": NO, "illegal_hazchem": NO}
CLEAN_CONTRACT = {"contractor_qualified": YES, "safety_agreement": YES, "duties_defined": YES,
                  "client_coordinates": YES, "contractor_site_manager": YES}


class Survey:
    """A small survey built record by record; required fields get plain defaults."""

    def __init__(self):
        self.records: dict[str, list[dict]] = {}
        self._row = 1

    def _add(self, label: str, rec: dict) -> dict:
        self._row += 1
        rec = {"src_file": "edge.xlsx", "src_sheet": label, "src_row": self._row, **rec}
        self.records.setdefault(label, []).append(rec)
        return rec

    def ent(self, uscc, county="城区", township="上站街道", clean=True, **kw):
        return self._add("Enterprise", {"uscc": uscc, "name": f"企业{uscc}", "sector": "机械", "county": county,
                                        "township": township, "uscc_valid": True,
                                        **(CLEAN_ENTERPRISE if clean else {}), **kw})

    def site(self, site_id, parent=None, county="城区", township="上站街道", **kw):
        return self._add("Site", {"site_id": site_id, "name": f"园区{site_id}", "kind": "园区",
                                  "parent_site_id": parent, "county": county, "township": township, **kw})

    def building(self, bid, owner, site=None, county="城区", township="上站街道", clean=True, **kw):
        return self._add("Building", {"building_id": bid, "name": f"厂房{bid}", "owner_uscc": owner, "site_id": site,
                                      "county": county, "township": township,
                                      **(CLEAN_BUILDING if clean else {}), **kw})

    def tenancy(self, tid, lessor, lessee, building, clean=True, **kw):
        return self._add("Tenancy", {"tenancy_id": tid, "lessor_uscc": lessor, "lessee_uscc": lessee,
                                     "building_id": building, **(CLEAN_TENANCY if clean else {}), **kw})

    def contract(self, cid, client, contractor, building=None, site=None, kind="检维修外委", clean=True, **kw):
        return self._add("Contract", {"contract_id": cid, "client_uscc": client, "contractor_uscc": contractor,
                                      "kind": kind, "building_id": building, "site_id": site,
                                      **(CLEAN_CONTRACT if clean else {}), **kw})

    def dispatch(self, did, agency, host, workers, nature="辅助性", **kw):
        return self._add("Dispatch", {"dispatch_id": did, "agency_uscc": agency, "host_uscc": host,
                                      "workers": workers, "position_nature": nature, **kw})

    def op(self, oid, uscc, building, category="喷涂", **kw):
        return self._add("Operation", {"operation_id": oid, "uscc": uscc, "building_id": building,
                                       "category": category, **kw})

    def hazard(self, hid, uscc, level="一般", status="未整改", found_on=dt.date(2024, 11, 20), **kw):
        base = {"responsible_person": "张三", "measures": "整改", "funds": 1.0, "deadline": dt.date(2025, 3, 1),
                "contingency_plan": YES, "reported_to_authority": YES, "reported_to_staff": YES}
        return self._add("Hazard", {"hazard_id": hid, "uscc": uscc, "description": f"隐患{hid}", "level": level,
                                    "status": status, "found_on": found_on, **base, **kw})

    def inspection(self, iid, uscc, date=dt.date(2024, 12, 1), **kw):
        base = {"agency": "城区应急管理局", "inspectors": ["李四", "王五"], "signed": YES, "document_no": None}
        return self._add("Inspection", {"inspection_id": iid, "uscc": uscc, "date": date, **base, **kw})

    def load(self, graph):
        write_survey(graph, self.records, source="edge")
        return graph


def run(graph, qid, **params):
    return run_query(graph, qid, params, include_personal=True).rows


def keys(rows, *cols):
    if len(cols) == 1:
        return {r[cols[0]] for r in rows}
    return {tuple(r[c] for c in cols) for r in rows}


def by(rows, col):
    return {r[col]: r for r in rows}


# --- 两头不管, coordination, reviews: blank versus 否 -------------------------------------

def _duty_survey() -> Survey:
    s = Survey()
    for u in ("O", "A", "B", "C", "D", "E", "K"):
        s.ent(u)
    s.building("B1", "O")
    s.tenancy("T-clean", "O", "A", "B1")
    s.tenancy("T-blank", "O", "B", "B1", clean=False)  # every field blank
    s.tenancy("T-no", "O", "C", "B1", clean=False, safety_agreement=NO, duties_defined=NO, lessee_reviewed=NO,
              use_reviewed=NO, coordinated=NO, periodic_inspection=NO)
    # agreement signed but duties not defined, and nobody coordinates or inspects: still a gap
    s.tenancy("T-half", "O", "D", "B1", safety_agreement=YES, duties_defined=NO, coordinated=NO,
              periodic_inspection=None)
    # no agreement, but the lessor inspects: not 两头不管, yet not coordinated (GEN-1)
    s.tenancy("T-inspected", "O", "E", "B1", safety_agreement=NO, coordinated=None, periodic_inspection=YES)
    s.contract("C-clean", "O", "K", building="B1")
    s.contract("C-blank", "O", "K", building="B1", clean=False)
    s.contract("C-manager", "O", "K", building="B1", safety_agreement=NO, client_coordinates=NO,
               contractor_site_manager=YES)
    s.contract("C-coord-only", "O", "K", building="B1", safety_agreement=YES, duties_defined=YES,
               client_coordinates=None)
    return s


def test_responsibility_gaps_blank_and_no_both_count(graph):
    _duty_survey().load(graph)
    rows = run(graph, "responsibility-gaps")
    assert keys(rows, "kind", "id") == {("tenancy", "T-blank"), ("tenancy", "T-no"), ("tenancy", "T-half"),
                                        ("outsourcing", "C-blank")}
    r = by(rows, "id")
    assert r["T-blank"]["safety_agreement"] is None and r["T-no"]["safety_agreement"] is False
    assert r["T-half"]["party_a"] == "O" and r["T-half"]["party_b_name"] == "企业D"
    assert r["C-blank"]["party_b"] == "K" and r["C-blank"]["county"] == "城区"


def test_coordination_gaps_lists_what_is_missing(graph):
    _duty_survey().load(graph)
    rows = run(graph, "coordination-gaps")
    assert keys(rows, "kind", "id") == {("tenancy", "T-blank"), ("tenancy", "T-no"), ("tenancy", "T-half"),
                                        ("tenancy", "T-inspected"), ("outsourcing", "C-blank"),
                                        ("outsourcing", "C-manager"), ("outsourcing", "C-coord-only")}
    r = by(rows, "id")
    assert r["T-inspected"]["missing"] == ["统一协调管理"]
    assert r["T-blank"]["missing"] == ["统一协调管理", "定期安全检查"]
    assert r["C-manager"]["missing"] == ["发包方统一协调管理"] and r["C-manager"]["periodic_inspection"] is None


def test_unreviewed_tenants(graph):
    _duty_survey().load(graph)
    rows = run(graph, "unreviewed-tenants")
    assert keys(rows, "tenancy_id") == {"T-blank", "T-no"}
    s = Survey()
    s.ent("O"), s.ent("A"), s.ent("B")
    s.building("B2", "O")
    s.tenancy("T-use", "O", "A", "B2", use_reviewed=None)
    s.tenancy("T-lessee", "O", "B", "B2", lessee_reviewed=NO)
    s.load(graph)
    r = by(run(graph, "unreviewed-tenants"), "tenancy_id")
    assert r["T-use"]["missing"] == ["用途审核"] and r["T-lessee"]["missing"] == ["承租方资质审查"]
    assert r["T-blank"]["missing"] == ["承租方资质审查", "用途审核"]


def test_survey_incomplete_counts_only_blanks(graph):
    s = _duty_survey()
    s.ent("BAD", uscc_valid=False)  # wrong check character, otherwise complete
    s.ent("HALF", environmental_permit=None)
    s.building("B-blank", "O", clean=False, fire_acceptance=NO)
    s.load(graph)
    rows = run(graph, "survey-incomplete")
    assert keys(rows, "record_type", "id") == {
        ("tenancy", "T-blank"), ("tenancy", "T-half"), ("tenancy", "T-inspected"),
        ("contract", "C-blank"), ("contract", "C-coord-only"),
        ("enterprise", "BAD"), ("enterprise", "HALF"), ("building", "B-blank")}
    r = {(x["record_type"], x["id"]): x for x in rows}
    assert r[("tenancy", "T-blank")]["blank_fields"] == ["安全管理协议", "协议明确职责", "承租方资质审查", "用途审核",
                                                          "统一协调管理", "定期安全检查"]
    assert r[("tenancy", "T-half")]["blank_fields"] == ["定期安全检查"]
    assert r[("tenancy", "T-inspected")]["blank_fields"] == ["统一协调管理"]
    assert r[("enterprise", "BAD")]["uscc_invalid"] is True and r[("enterprise", "BAD")]["blank_fields"] == []
    assert r[("building", "B-blank")]["blank_fields"] == ["用地手续", "安全设施三同时", "消防设施符合"]
    assert r[("contract", "C-blank")]["src_sheet"] == "Contract" and r[("contract", "C-blank")]["src_row"] > 1


# --- buildings and uses ------------------------------------------------------------------

def test_use_changed_needs_both_uses(graph):
    s = Survey()
    for u in ("O", "A", "B", "C"):
        s.ent(u)
    s.building("B1", "O", planned_use="仓储")
    s.building("B2", "O", planned_use=None)
    s.tenancy("T-prod", "O", "A", "B1", purpose="生产", use_reviewed=NO)
    s.tenancy("T-same", "O", "B", "B1", purpose="仓储")
    s.tenancy("T-blank", "O", "C", "B1", purpose=None)
    s.tenancy("T-noplan", "O", "C", "B2", purpose="生产")
    s.load(graph)
    rows = run(graph, "use-changed")
    assert keys(rows, "tenancy_id") == {"T-prod"}
    assert rows[0]["planned_use"] == "仓储" and rows[0]["purpose"] == "生产" and rows[0]["use_reviewed"] is False


def test_unsafe_leased_buildings_only_when_leased(graph):
    s = Survey()
    for u in ("O", "A"):
        s.ent(u)
    s.building("B-bad", "O", land_use_permit=None, illegal_construction=YES)
    s.building("B-idle-bad", "O", fire_acceptance=NO)  # not leased: not listed
    s.building("B-ok", "O")
    s.building("B-blank-hazard", "O", structural_hazard=None)  # a blank violation is not a defect
    s.building("B-fac", "O", fire_facilities_ok=NO)
    for n, b in enumerate(("B-bad", "B-ok", "B-blank-hazard", "B-fac")):
        s.tenancy(f"T{n}", "O", "A", b)
    s.tenancy("T9", "O", "A", "B-bad")
    s.load(graph)
    rows = run(graph, "unsafe-leased-buildings")
    assert keys(rows, "building_id") == {"B-bad", "B-fac"}
    r = by(rows, "building_id")
    assert r["B-bad"]["defects"] == ["用地手续", "违章搭建"] and r["B-bad"]["tenancies"] == 2
    assert r["B-fac"]["defects"] == ["消防设施不符合"] and r["B-bad"]["owner_name"] == "企业O"


def test_fire_class_equal_is_not_a_rise(graph):
    s = Survey()
    for u in ("O", "A"):
        s.ent(u)
    s.building("B-乙", "O", fire_class="乙")
    s.building("B-none", "O", fire_class=None)
    s.tenancy("T-equal", "O", "A", "B-乙", goods_fire_class="乙")
    s.tenancy("T-higher", "O", "A", "B-乙", goods_fire_class="甲")
    s.tenancy("T-higher-blank", "O", "A", "B-乙", goods_fire_class="甲", fire_reacceptance=None)
    s.tenancy("T-higher-reviewed", "O", "A", "B-乙", goods_fire_class="甲", fire_reacceptance=YES)
    s.tenancy("T-lower", "O", "A", "B-乙", goods_fire_class="丙")
    s.tenancy("T-no-class", "O", "A", "B-none", goods_fire_class="甲")
    s.tenancy("T-no-goods", "O", "A", "B-乙", goods_fire_class=None)
    s.load(graph)
    rows = run(graph, "fire-class-upgrade")
    assert keys(rows, "tenancy_id") == {"T-higher", "T-higher-blank"}
    assert {(r["goods_fire_class"], r["building_fire_class"]) for r in rows} == {("甲", "乙")}


def test_three_in_one_and_illegal_power_need_a_recorded_yes(graph):
    s = Survey()
    for u in ("O", "A"):
        s.ent(u)
    s.building("B1", "O")
    s.tenancy("T-3in1", "O", "A", "B1", three_in_one=YES)
    s.tenancy("T-dorm", "O", "A", "B1", dorm_inside=YES)
    s.tenancy("T-blank", "O", "A", "B1", clean=False)
    s.tenancy("T-power", "O", "A", "B1", illegal_power_gas=YES)
    s.tenancy("T-chem", "O", "A", "B1", illegal_hazchem=YES, dorm_inside=YES)
    s.load(graph)
    three = by(run(graph, "three-in-one"), "tenancy_id")
    assert set(three) == {"T-3in1", "T-dorm", "T-chem"}
    assert three["T-chem"]["findings"] == ["宿舍在车间仓库内"]
    power = by(run(graph, "illegal-power-hazchem"), "tenancy_id")
    assert set(power) == {"T-power", "T-chem"}
    assert power["T-chem"]["findings"] == ["违规危化品"]


# --- 厂中厂 / 园中园: lease depth and site paths -------------------------------------------

def _nested_survey() -> Survey:
    s = Survey()
    for u in ("O", "A", "B", "C", "D", "X", "P"):
        s.ent(u)
    s.site("S1")  # the park
    s.site("S2", parent="S1")  # a plant compound inside it
    s.site("S3", parent="S2")  # a park inside the compound
    s.building("B1", "O", site="S3")
    s.building("B-root", "P", site="S1")
    s.building("B-alone", "O")  # stand-alone: not in any site
    # sub-lease chain of depth 3 on B1: O → A → B → C
    s.tenancy("T1", "O", "A", "B1")
    s.tenancy("T2", "A", "B", "B1", sublease_consent=YES)
    s.tenancy("T3", "B", "C", "B1", sublease_consent=None)
    # X sub-leases from C (depth 4) and also leases directly from the owner (depth 1)
    s.tenancy("T4", "C", "X", "B1", sublease_consent=NO)
    s.tenancy("T5", "O", "X", "B1")
    # A also leases on another building: must not leak into B1's depths
    s.tenancy("T6", "P", "A", "B-root")
    s.tenancy("T7", "A", "D", "B-root")
    for oid, who, where in (("OP-A", "A", "B1"), ("OP-B", "B", "B1"), ("OP-C", "C", "B1"), ("OP-X", "X", "B1"),
                            ("OP-D", "D", "B1"),  # an occupant of B1 without any lease there
                            ("OP-O", "O", "B1"),  # the owner itself: not listed
                            ("OP-root", "D", "B-root"), ("OP-alone", "A", "B-alone")):
        s.op(oid, who, where, category="动火")
    return s


def test_nested_high_risk_lease_depth_and_site_path(graph):
    _nested_survey().load(graph)
    rows = by(run(graph, "nested-high-risk"), "operation_id")
    assert set(rows) == {"OP-A", "OP-B", "OP-C", "OP-X", "OP-D", "OP-root"}
    assert {k: r["lease_depth"] for k, r in rows.items()} == {
        "OP-A": 1, "OP-B": 2, "OP-C": 3, "OP-X": 1, "OP-D": None, "OP-root": 2}
    assert rows["OP-C"]["site_path"] == ["S3", "S2", "S1"] and rows["OP-C"]["site_path_length"] == 3
    assert rows["OP-C"]["root_site_id"] == "S1" and rows["OP-C"]["owner_uscc"] == "O"
    assert rows["OP-root"]["site_path"] == ["S1"] and rows["OP-root"]["site_path_length"] == 1
    assert rows["OP-A"]["building_tenancies"] == 5


def test_nested_high_risk_chain_without_the_direct_lease(graph):
    s = _nested_survey()
    s.records["Tenancy"] = [t for t in s.records["Tenancy"] if t["tenancy_id"] != "T5"]
    s.load(graph)
    rows = by(run(graph, "nested-high-risk"), "operation_id")
    assert rows["OP-X"]["lease_depth"] == 4


def test_nested_high_risk_lease_depth_stops_at_twelve_levels(graph):
    """Depth = the shortest chain from the owner, counted up to 12 levels; a 13th is null."""
    s = Survey()
    chain = ["O"] + [f"L{i:02d}" for i in range(1, 14)]  # O leases to L01, L01 to L02, … L12 to L13
    for u in chain + ["Y"]:
        s.ent(u)
    s.site("S1")
    s.building("B1", "O", site="S1")
    for i in range(1, 14):
        s.tenancy(f"T{i:02d}", chain[i - 1], chain[i], "B1")
    s.tenancy("T-short", "L02", "L11", "B1")  # a shortcut: L11 is also at depth 3
    s.tenancy("T-y", "L13", "Y", "B1")  # Y only at depth 14
    for u in ("L01", "L02", "L11", "L12", "L13", "Y"):
        s.op(f"OP-{u}", u, "B1", category="动火")
    s.load(graph)
    depth = {r["operation_id"]: r["lease_depth"] for r in run(graph, "nested-high-risk")}
    # L12 is reached through the shortcut at depth 4 (O→L01→L02→L11→L12), L13 at 5, Y at 6
    assert depth == {"OP-L01": 1, "OP-L02": 2, "OP-L11": 3, "OP-L12": 4, "OP-L13": 5, "OP-Y": 6}
    s.records["Tenancy"] = [t for t in s.records["Tenancy"] if t["tenancy_id"] != "T-short"]
    write_survey(graph, s.records, source="edge", prune=True)
    depth = {r["operation_id"]: r["lease_depth"] for r in run(graph, "nested-high-risk")}
    assert depth == {"OP-L01": 1, "OP-L02": 2, "OP-L11": 11, "OP-L12": 12, "OP-L13": None, "OP-Y": None}


def test_sublease_unconsented(graph):
    _nested_survey().load(graph)
    rows = by(run(graph, "sublease-unconsented"), "tenancy_id")
    assert set(rows) == {"T3", "T4", "T7"}  # T2 consented; T1, T5, T6 are the owner's own leases
    assert rows["T3"]["owner_uscc"] == "O" and rows["T3"]["lessor_uscc"] == "B"


# --- 承租主体 -------------------------------------------------------------------------------

def test_market_access_folds_white_space_and_full_width(graph):
    s = Survey()
    s.ent("O")
    s.ent("SAME", address="阳泉市矿区 桃北中路１２号（Ａ座）", licensed_address="阳泉市矿区桃北中路12号(A座)")
    s.ent("SAME2", address="平定县　冠山镇\t工业园３号", licensed_address=" 平定县冠山镇工业园3号 ")
    s.ent("DIFF", address="阳泉市矿区桃北中路12号", licensed_address="阳泉市郊区荫营镇8号")
    s.ent("ONEBLANK", address="阳泉市矿区桃北中路12号", licensed_address=None)
    s.ent("SPACES", address="阳泉市矿区桃北中路12号", licensed_address="　 ")
    s.ent("NOPERMIT", environmental_permit=None)
    s.ent("NOLIC", business_license=NO)
    s.ent("OPERATOR", business_license=None)  # runs an operation but leases nothing
    s.ent("IDLE", business_license=NO)  # neither lessee nor operator: not a market-access subject
    s.building("B1", "O")
    for n, u in enumerate(("SAME", "SAME2", "DIFF", "ONEBLANK", "SPACES", "NOPERMIT", "NOLIC")):
        s.tenancy(f"T{n}", "O", u, "B1")
    s.op("OP1", "OPERATOR", "B1")
    s.load(graph)
    rows = by(run(graph, "market-access"), "uscc")
    assert set(rows) == {"DIFF", "NOPERMIT", "NOLIC", "OPERATOR"}
    assert rows["DIFF"]["problems"] == ["地址不符"] and rows["DIFF"]["address_mismatch"] is True
    assert rows["NOPERMIT"]["problems"] == ["环境许可"] and rows["OPERATOR"]["operations"] == 1
    assert rows["NOLIC"]["leases"] == 1


def test_dust_in_non_frame_multistorey_or_crowded(graph):
    s = Survey()
    s.ent("O")
    s.building("B-brick3", "O", floors=3, structure="砖混")
    s.building("B-frame3", "O", floors=3, structure="框架")
    s.building("B-steel3", "O", floors=3, structure="钢结构")
    s.building("B-brick1", "O", floors=1, structure="砖混")
    s.building("B-nostruct", "O", floors=3, structure=None)
    s.building("B-nofloors", "O", floors=None, structure="彩钢板")
    s.op("D1", "O", "B-brick3", category="粉尘涉爆")
    s.op("D2", "O", "B-frame3", category="粉尘涉爆")
    s.op("D3", "O", "B-steel3", category="粉尘涉爆", crowded_rooms=NO)
    s.op("D4", "O", "B-brick1", category="粉尘涉爆", crowded_rooms=None)
    s.op("D5", "O", "B-nostruct", category="粉尘涉爆")
    s.op("D6", "O", "B-nofloors", category="粉尘涉爆")
    s.op("D7", "O", "B-frame3", category="粉尘涉爆", crowded_rooms=YES)
    s.op("P1", "O", "B-brick3", category="喷涂", crowded_rooms=YES)  # not a dust operation
    s.load(graph)
    rows = by(run(graph, "dust-in-multistorey"), "operation_id")
    assert set(rows) == {"D1", "D7"}
    assert rows["D1"]["reasons"] == ["非框架多层建筑"] and rows["D7"]["reasons"] == ["设有人员聚集场所"]


# --- hazards: as_of, 已销号 versus 已整改, 双报告, 五落实 ------------------------------------

def _hazard_survey() -> Survey:
    s = Survey()
    s.ent("E1", county="城区")
    s.ent("E2", county="矿区")
    s.ent("E3", county="盂县")  # a county whose enterprises report no hazard at all
    s.hazard("H-past", "E1", deadline=dt.date(2025, 1, 14))
    s.hazard("H-today", "E1", deadline=AS_OF)  # due on as_of: not overdue yet
    s.hazard("H-future", "E1", deadline=dt.date(2025, 2, 1))
    s.hazard("H-nodeadline", "E1", deadline=None, status="整改中")
    s.hazard("H-done", "E1", status="已整改", deadline=dt.date(2024, 12, 1))
    s.hazard("H-closed", "E1", status="已销号", deadline=dt.date(2024, 12, 1), closed_on=dt.date(2024, 12, 20))
    s.hazard("M-open-past", "E2", level="重大", status="整改中", deadline=dt.date(2025, 1, 1),
             reported_to_staff=None, supervised=YES)
    s.hazard("M-open-today", "E2", level="重大", deadline=AS_OF, supervised=None)
    s.hazard("M-done", "E2", level="重大", status="已整改", reported_to_authority=NO)
    s.hazard("M-closed", "E2", level="重大", status="已销号", closed_on=dt.date(2025, 1, 2))
    return s


def test_hazards_overdue_is_strictly_before_as_of(graph):
    _hazard_survey().load(graph)
    assert keys(run(graph, "hazards-overdue", as_of=AS_OF), "hazard_id") == {"H-past", "M-open-past"}
    later = keys(run(graph, "hazards-overdue", as_of=dt.date(2025, 1, 16)), "hazard_id")
    assert later == {"H-past", "H-today", "M-open-past", "M-open-today"}
    assert keys(run(graph, "hazards-overdue", as_of=dt.date(2024, 6, 1)), "hazard_id") == set()


def test_major_hazards_open_excludes_both_rectified_statuses(graph):
    _hazard_survey().load(graph)
    rows = by(run(graph, "major-hazards-open", as_of=AS_OF), "hazard_id")
    assert set(rows) == {"M-open-past", "M-open-today"}
    assert rows["M-open-past"]["overdue"] is True and rows["M-open-today"]["overdue"] is False
    assert rows["M-open-past"]["double_reported"] is False and rows["M-open-today"]["double_reported"] is True
    assert rows["M-open-past"]["supervised"] is True and rows["M-open-today"]["supervised"] is False
    assert rows["M-open-past"]["responsible_person"] == "张三"


def test_major_hazards_unreported_whatever_the_status(graph):
    _hazard_survey().load(graph)
    rows = by(run(graph, "major-hazards-unreported"), "hazard_id")
    assert set(rows) == {"M-open-past", "M-done"}
    assert rows["M-open-past"]["missing"] == ["报告职代会"] and rows["M-done"]["missing"] == ["报告监管部门"]


def test_hazard_ledger_incomplete_open_only(graph):
    s = _hazard_survey()
    s.hazard("L-blank-person", "E1", responsible_person=None)
    s.hazard("L-space-measures", "E1", measures="  ")
    s.hazard("L-no-plan", "E1", contingency_plan=NO, funds=None)
    s.hazard("L-closed-blank", "E1", status="已销号", closed_on=dt.date(2025, 1, 2), responsible_person=None,
             measures=None, contingency_plan=None)
    s.load(graph)
    rows = by(run(graph, "hazard-ledger-incomplete"), "hazard_id")
    assert set(rows) == {"H-nodeadline", "L-blank-person", "L-space-measures", "L-no-plan"}
    assert rows["L-no-plan"]["missing"] == ["整改资金", "应急预案"]
    assert rows["H-nodeadline"]["missing"] == ["整改时限"]
    assert rows["L-space-measures"]["missing"] == ["整改措施"]


def test_rectification_rate_counts_both_statuses_and_empty_counties(graph):
    _hazard_survey().load(graph)
    rows = by(run(graph, "rectification-rate"), "county")
    assert set(rows) == {"城区", "矿区", "盂县"}
    assert rows["盂县"] == {**rows["盂县"], "hazards": 0, "rectified": 0, "rate": 0.0, "major": 0, "major_rectified": 0}
    assert (rows["城区"]["hazards"], rows["城区"]["rectified"], rows["城区"]["rate"]) == (6, 2, 0.333)
    assert (rows["矿区"]["major"], rows["矿区"]["major_rectified"], rows["矿区"]["rate"]) == (4, 2, 0.5)
    order = [r["county"] for r in run(graph, "rectification-rate")]
    assert order == ["盂县", "城区", "矿区"]  # worst rate first


def test_rectification_rate_rounds_half_up(graph):
    s = Survey()
    s.ent("E1", county="城区")
    for n in range(16):  # 1 of 16 rectified: 0.0625 → 0.063
        s.hazard(f"H{n}", "E1", status="已整改" if n == 0 else "未整改")
    s.load(graph)
    assert run(graph, "rectification-rate")[0]["rate"] == 0.063


# --- labour dispatch and outsourcing --------------------------------------------------------

def test_dispatch_over_cap(graph):
    s = Survey()
    s.ent("AG")
    s.ent("AT", contract_workers=9)  # 1 / (9 + 1) = 0.10: at the cap, not over it
    s.ent("OVER", contract_workers=9)  # 1 + 1 dispatched over two rows: 2 / 11
    s.ent("BLANK", contract_workers=None)  # blank counts as 0: 3 / 3
    s.ent("BIG", contract_workers=1000)
    for did, host, n in (("D1", "AT", 1), ("D2", "OVER", 1), ("D3", "OVER", 1), ("D4", "BLANK", 3), ("D5", "BIG", 5)):
        s.dispatch(did, "AG", host, n)
    s.load(graph)
    rows = by(run(graph, "dispatch-over-cap"), "uscc")
    assert set(rows) == {"OVER", "BLANK"}
    assert rows["OVER"]["dispatched"] == 2 and rows["OVER"]["ratio"] == 0.182 and rows["OVER"]["dispatch_rows"] == 2
    assert rows["BLANK"]["ratio"] == 1.0 and rows["BLANK"]["contract_workers"] is None
    assert set(keys(run(graph, "dispatch-over-cap", cap=0.05), "uscc")) == {"AT", "OVER", "BLANK"}
    assert set(keys(run(graph, "dispatch-over-cap", cap="50%"), "uscc")) == {"BLANK"}


def test_dispatch_core_posts(graph):
    s = Survey()
    s.ent("AG"), s.ent("H")
    s.dispatch("D-core", "AG", "H", 3, nature="其他")
    s.dispatch("D-temp7", "AG", "H", 3, nature="临时性", months=7)
    s.dispatch("D-temp6", "AG", "H", 3, nature="临时性", months=6)
    s.dispatch("D-temp-blank", "AG", "H", 3, nature="临时性", months=None)
    s.dispatch("D-aux24", "AG", "H", 3, nature="辅助性", months=24)
    s.load(graph)
    rows = by(run(graph, "dispatch-core-posts"), "dispatch_id")
    assert set(rows) == {"D-core", "D-temp7"}
    assert rows["D-temp7"]["reason"] == "临时性岗位超过6个月" and rows["D-core"]["host_name"] == "企业H"


def test_unqualified_contractors(graph):
    s = Survey()
    s.ent("CL"), s.ent("GOOD"), s.ent("NOLIC", business_license=None), s.ent("NOLIC2", business_license=NO)
    s.building("B1", "CL")
    s.contract("C-ok", "CL", "GOOD", building="B1")
    s.contract("C-unq", "CL", "GOOD", building="B1", contractor_qualified=None)
    s.contract("C-nolic", "CL", "NOLIC", building="B1")
    s.contract("C-both", "CL", "NOLIC2", building="B1", contractor_qualified=NO)
    s.load(graph)
    rows = by(run(graph, "unqualified-contractors"), "contract_id")
    assert set(rows) == {"C-unq", "C-nolic", "C-both"}
    assert rows["C-both"]["reasons"] == ["承包方资质", "承包方营业执照"]
    assert rows["C-nolic"]["reasons"] == ["承包方营业执照"]


# --- 五个一律 -------------------------------------------------------------------------------

def test_five_always_each_rule_and_its_near_misses(graph):
    s = Survey()
    s.ent("O")
    s.ent("BAN", business_license=NO)  # 依法取缔
    s.ent("BAN-CLOSED", business_license=NO, status="关闭")  # already closed: no
    s.ent("BLANK-LIC", business_license=None)  # blank is not an explicit no
    s.ent("L-ILLEGAL"), s.ent("L-NOFIRE"), s.ent("L-BLANKFIRE"), s.ent("L-USE"), s.ent("L-USE-OK"), s.ent("OPR")
    s.building("B-illegal", "O", illegal_construction=YES)
    s.building("B-nofire", "O", fire_acceptance=NO)
    s.building("B-blankfire", "O", fire_acceptance=None)
    s.building("B-store", "O", planned_use="仓储", escape_obstruction=YES)  # 强制拆除, leased or not
    s.building("B-idle", "O", escape_obstruction=YES)
    s.tenancy("T1", "O", "L-ILLEGAL", "B-illegal")
    s.tenancy("T2", "O", "L-NOFIRE", "B-nofire")
    s.tenancy("T3", "O", "L-BLANKFIRE", "B-blankfire")
    s.tenancy("T4", "O", "L-USE", "B-store", purpose="生产", use_reviewed=None)
    s.tenancy("T5", "O", "L-USE-OK", "B-store", purpose="生产", use_reviewed=YES)
    s.op("OP1", "OPR", "B-nofire", category="动火")
    s.op("OP2", "L-ILLEGAL", "B-illegal", category="动火")
    # 依法关闭: ordered to suspend, then a later inspection found a 重大 hazard
    s.ent("CLOSE"), s.ent("SAMEDAY"), s.ent("MINOR")
    s.hazard("HM1", "CLOSE", level="重大", status="已整改")
    s.hazard("HM2", "SAMEDAY", level="重大", status="已整改")
    s.hazard("HG", "MINOR", level="一般")
    s.inspection("I1", "CLOSE", date=dt.date(2024, 11, 20), actions=["责令停产整顿"], document_no="文1")
    s.inspection("I2", "CLOSE", date=dt.date(2024, 12, 20), hazard_ids=["HM1"], document_no="文2")
    s.inspection("I3", "SAMEDAY", date=dt.date(2024, 11, 20), actions=["责令停产整顿"], document_no="文3")
    s.inspection("I4", "SAMEDAY", date=dt.date(2024, 11, 20), hazard_ids=["HM2"], document_no="文4")  # same day
    s.inspection("I5", "MINOR", date=dt.date(2024, 11, 20), actions=["责令停产整顿"], document_no="文5")
    s.inspection("I6", "MINOR", date=dt.date(2024, 12, 20), hazard_ids=["HG"], document_no="文6")  # not 重大
    # 挂牌督办: an open 重大 hazard not supervised
    s.ent("SUP"), s.ent("SUP-OK")
    s.hazard("HS1", "SUP", level="重大", status="整改中", supervised=None)
    s.hazard("HS2", "SUP", level="重大", status="未整改", supervised=NO)
    s.hazard("HS3", "SUP-OK", level="重大", supervised=YES)
    s.load(graph)
    rows = run(graph, "five-always")
    assert keys(rows, "action", "subject_id") == {
        ("依法取缔", "BAN"),
        ("责令停产整顿", "L-ILLEGAL"), ("责令停产整顿", "L-NOFIRE"), ("责令停产整顿", "L-USE"),
        ("责令停产整顿", "OPR"),
        ("依法关闭", "CLOSE"),
        ("强制拆除", "B-store"), ("强制拆除", "B-idle"),
        ("挂牌督办", "SUP"),
    }
    r = {(x["action"], x["subject_id"]): x for x in rows}
    assert r[("责令停产整顿", "L-ILLEGAL")]["evidence"] == ["OP2", "T1"]
    assert r[("责令停产整顿", "L-ILLEGAL")]["reasons"] == ["违章搭建"]
    assert r[("责令停产整顿", "L-USE")]["reasons"] == ["擅自改变厂房使用性质"]
    assert r[("依法关闭", "CLOSE")]["evidence"] == ["I1", "I2"]
    assert r[("挂牌督办", "SUP")]["evidence"] == ["HS1", "HS2"]
    assert r[("强制拆除", "B-idle")]["subject_type"] == "building"
    assert [x["rule"] for x in rows] == sorted(x["rule"] for x in rows)


# --- statistics -----------------------------------------------------------------------------

def test_survey_coverage_counts(graph):
    s = Survey()
    s.ent("O", county="郊区", township="荫营镇")
    s.ent("A", county="郊区", township="荫营镇")
    s.ent("B", county="郊区", township="荫营镇")
    s.ent("Y", county="盂县", township="秀水镇")
    s.site("S1", county="郊区", township="荫营镇")
    s.site("S2", parent="S1", county="郊区", township="荫营镇")
    s.site("S9", county="平定县", township="冠山镇")  # a township named only by a site
    s.building("B-multi", "O", site="S2", county="郊区", township="荫营镇")
    s.building("B-same", "O", county="郊区", township="荫营镇")
    s.building("B-idle", "O", county="郊区", township="荫营镇")
    s.building("B-far", "O", county="矿区", township="赛鱼街道")  # owned from elsewhere
    s.tenancy("T1", "O", "A", "B-multi", area=100.0, workers=5)
    s.tenancy("T2", "O", "B", "B-multi", area=None, workers=None)  # blank counts 0
    s.tenancy("T3", "O", "A", "B-same", area=50.5, workers=2)
    s.tenancy("T4", "O", "A", "B-same", area=20.0, workers=1)  # same lessee twice: not 一厂多租
    s.tenancy("T5", "O", "Y", "B-far", area=10.0, workers=3)
    s.contract("C1", "O", "Y", building="B-far")
    s.contract("C2", "Y", "O", building="B-multi")
    s.op("OP1", "A", "B-multi"), s.op("OP2", "Y", "B-far")
    s.load(graph)
    rows = {(r["county"], r["township"]): r for r in run(graph, "survey-coverage")}
    assert set(rows) == {("郊区", "荫营镇"), ("盂县", "秀水镇"), ("平定县", "冠山镇"), ("矿区", "赛鱼街道")}
    y = rows[("郊区", "荫营镇")]
    assert {k: y[k] for k in y if k not in ("county", "township")} == {
        "enterprises": 3, "buildings": 3, "leased_buildings": 2, "multi_tenant_buildings": 1, "nested_sites": 1,
        "contracts": 1, "leased_area": 170.5, "resident_workers": 8, "high_risk_operations": 1}
    far = rows[("矿区", "赛鱼街道")]
    assert (far["enterprises"], far["buildings"], far["leased_area"], far["resident_workers"],
            far["high_risk_operations"], far["contracts"]) == (0, 1, 10.0, 3, 1, 0)
    assert rows[("盂县", "秀水镇")]["contracts"] == 1 and rows[("平定县", "冠山镇")]["enterprises"] == 0
    assert rows[("平定县", "冠山镇")]["nested_sites"] == 0


def test_inspection_accountability(graph):
    s = Survey()
    s.ent("HR"), s.ent("PLAIN"), s.ent("O")
    s.building("B1", "O")
    s.op("OP1", "HR", "B1", category="煤气")
    s.hazard("H1", "PLAIN")
    s.inspection("I-unsigned", "PLAIN", signed=None, hazard_ids=["H1"], document_no="文1")
    s.inspection("I-nodoc", "PLAIN", hazard_ids=["H1"], document_no=None)
    s.inspection("I-nodoc-space", "PLAIN", hazard_ids=["H1"], document_no=" ")
    s.inspection("I-hr-nothing", "HR")
    s.inspection("I-ok", "PLAIN", hazard_ids=["H1"], document_no="文2")
    s.inspection("I-plain-nothing", "PLAIN")  # found nothing, but no high-risk operation there
    s.inspection("I-signed-no", "PLAIN", signed=NO)
    s.load(graph)
    rows = by(run(graph, "inspection-accountability"), "inspection_id")
    assert set(rows) == {"I-unsigned", "I-nodoc", "I-nodoc-space", "I-hr-nothing", "I-signed-no"}
    assert rows["I-unsigned"]["problems"] == ["未签名"]
    assert rows["I-nodoc"]["problems"] == ["发现隐患未下达执法文书"] and rows["I-nodoc"]["hazards_found"] == 1
    assert rows["I-hr-nothing"]["problems"] == ["高风险作业企业未发现问题"]
    assert rows["I-unsigned"]["inspectors"] == ["李四", "王五"]


# --- the worry list ----------------------------------------------------------------------------

def test_worry_list_score_and_parts(graph):
    s = Survey()
    s.ent("O")
    s.ent("IDLE", business_license=None)  # not a market-access subject (no lease, no operation): score 0
    s.ent("W", environmental_permit=NO)  # the worrying lessee
    s.ent("CLEAN")
    s.ent("K")
    s.site("S1")
    s.building("B1", "O", site="S1", illegal_construction=YES, manager_uscc="O")  # leased and unsafe: O +1
    s.building("B2", "O", land_use_permit=NO)  # not leased: does not count
    s.tenancy("T1", "O", "W", "B1", clean=False, three_in_one=YES, illegal_hazchem=YES)  # gap, one violation
    s.tenancy("T2", "O", "CLEAN", "B1")
    s.contract("C1", "W", "K", building="B1", clean=False)  # a gap for W and K
    s.op("OP1", "W", "B1", category="喷涂")  # nested: W is not the owner
    s.op("OP2", "O", "B1", category="喷涂")  # the owner's own: not nested
    s.hazard("H1", "W", level="重大", status="整改中", deadline=dt.date(2025, 1, 1))  # major open and overdue
    s.hazard("H2", "W", level="一般", deadline=AS_OF)  # due today: not overdue
    s.hazard("H3", "W", level="重大", status="已销号", closed_on=dt.date(2025, 1, 2), acceptance="通过",
             accepted_on=dt.date(2025, 1, 2))
    s.load(graph)
    rows = by(run(graph, "worry-list", as_of=AS_OF), "uscc")
    assert set(rows) == {"W", "O", "K"}
    w = rows["W"]
    assert {k: w[k] for k in ("major_open", "overdue", "gaps", "violations", "nested_ops", "unsafe_buildings",
                              "no_licence")} == {"major_open": 1, "overdue": 1, "gaps": 2, "violations": 1,
                                                 "nested_ops": 1, "unsafe_buildings": 0, "no_licence": 1}
    assert w["score"] == 5 + 3 + 2 * 2 + 2 + 2 + 3
    assert (rows["O"]["gaps"], rows["O"]["unsafe_buildings"], rows["O"]["no_licence"], rows["O"]["score"]) == (1, 1, 0, 3)
    assert rows["K"]["score"] == 2
    assert [r["uscc"] for r in run(graph, "worry-list", as_of=AS_OF)] == ["W", "O", "K"]
    later = by(run(graph, "worry-list", as_of=dt.date(2025, 1, 16)), "uscc")
    assert later["W"]["overdue"] == 2 and later["W"]["score"] == w["score"] + 3


# --- the runner on a real graph ------------------------------------------------------------------

def test_personal_columns_hidden_unless_asked(graph):
    _hazard_survey().load(graph)
    hidden = run_query(graph, "major-hazards-open", {"as_of": AS_OF})
    assert "responsible_person" not in hidden.column_names and hidden.hidden_personal == ["responsible_person"]
    assert all("responsible_person" not in r for r in hidden.rows)
    shown = run_query(graph, "major-hazards-open", {"as_of": "2025-01-15"}, include_personal=True)
    assert "responsible_person" in shown.column_names and shown.rows[0]["responsible_person"] == "张三"
    assert hidden.keys() == shown.keys()


def test_empty_graph_every_query_runs(graph):
    runs = run_all(graph, {"as_of": AS_OF, "cap": 0.1})
    assert len(runs) >= 25 and all(r.rows == [] for r in runs)
    with pytest.raises(SitegraphError, match="nope"):
        run_all(graph, {"nope": 1})
    with pytest.raises(SitegraphError, match="as_of"):
        run_all(graph, {"as_of": "not a date"})


# --- version 2: the closed loop, 挂牌督办, stop orders, shared buildings -------------------------

def _truth_keys(survey: Survey, qid: str, as_of=AS_OF, **kw):
    """The plain-Python ground truth of the same records (loaders/truth.py), as key tuples."""
    from loaders import truth as T

    q = T.compute(survey.records, as_of, **kw)[qid]
    return {tuple(r[k] for k in q["key"]) if len(q["key"]) > 1 else r[q["key"][0]] for r in q["rows"]}


def test_major_closed_unaccepted_needs_a_passed_and_dated_check(graph):
    s = Survey()
    s.ent("A")
    closed = dict(level="重大", status="已销号", closed_on=dt.date(2024, 12, 20))
    s.hazard("H-ok", "A", acceptance="通过", accepted_on=dt.date(2024, 12, 18), **closed)
    s.hazard("H-none", "A", **closed)
    s.hazard("H-failed", "A", acceptance="不通过", accepted_on=dt.date(2024, 12, 18), **closed)  # closed anyway
    s.hazard("H-undated", "A", acceptance="通过", **closed)  # a ledger refuses it; the graph may hold it
    s.hazard("H-general", "A", level="一般", status="已销号", closed_on=dt.date(2024, 12, 20))
    s.hazard("H-rectified", "A", level="重大", status="已整改")  # not closed yet: not this query's business
    s.load(graph)
    rows = by(run(graph, "major-closed-unaccepted"), "hazard_id")
    assert set(rows) == {"H-none", "H-failed", "H-undated"} == _truth_keys(s, "major-closed-unaccepted")
    assert {k: r["problem"] for k, r in rows.items()} == {"H-none": "未验收", "H-failed": "验收不通过",
                                                          "H-undated": "验收日期未填"}
    assert rows["H-failed"]["accepted_on"] == dt.date(2024, 12, 18) and rows["H-failed"]["acceptance"] == "不通过"


def test_supervision_overdue_is_strictly_before_as_of_and_ends_when_delisted(graph):
    s = Survey()
    s.ent("A")
    sup = dict(level="重大", status="整改中", supervised=YES, supervision_level="市级", supervised_on=dt.date(2024, 11, 25))
    s.hazard("H-today", "A", supervision_deadline=AS_OF, **sup)  # due today: not overdue
    s.hazard("H-late", "A", supervision_deadline=AS_OF - dt.timedelta(days=1), **sup)
    s.hazard("H-delisted", "A", supervision_deadline=dt.date(2024, 12, 1), delisted_on=dt.date(2024, 12, 30), **sup)
    s.hazard("H-no-deadline", "A", **sup)
    s.hazard("H-blank", "A", level="重大", supervision_deadline=dt.date(2024, 12, 1))  # 挂牌督办 not recorded 是
    s.load(graph)
    rows = by(run(graph, "supervision-overdue", as_of=AS_OF), "hazard_id")
    assert set(rows) == {"H-late"} == _truth_keys(s, "supervision-overdue")
    assert rows["H-late"]["supervision_level"] == "市级"
    later = keys(run(graph, "supervision-overdue", as_of=AS_OF + dt.timedelta(days=1)), "hazard_id")
    assert later == {"H-late", "H-today"} == _truth_keys(s, "supervision-overdue", as_of=AS_OF + dt.timedelta(days=1))


def test_legacy_major_hazards_found_by_the_cutoff_and_open(graph):
    s = Survey()
    s.ent("A")
    s.hazard("H-last-day", "A", level="重大", status="整改中", found_on=dt.date(2023, 12, 31))  # on the cut-off: counts
    s.hazard("H-next-day", "A", level="重大", status="未整改", found_on=dt.date(2024, 1, 1))
    s.hazard("H-old-fixed", "A", level="重大", status="已整改", found_on=dt.date(2022, 5, 1))
    s.hazard("H-old-general", "A", level="一般", status="未整改", found_on=dt.date(2022, 5, 1))
    s.load(graph)
    assert keys(run(graph, "legacy-major-hazards"), "hazard_id") == {"H-last-day"} == \
        _truth_keys(s, "legacy-major-hazards")
    later = dt.date(2024, 1, 1)
    assert keys(run(graph, "legacy-major-hazards", cutoff=later), "hazard_id") == {"H-last-day", "H-next-day"} == \
        _truth_keys(s, "legacy-major-hazards", cutoff=later)


def test_stop_order_defied_latest_order_and_resumptions(graph):
    s = Survey()
    for u in ("P1", "P2", "P3", "P4", "P7"):
        s.ent(u, status="在产")
    s.ent("P5", status="停产")
    s.ent("P6")  # 经营状态 blank: not recorded 在产
    stop = dict(actions=["责令停产整顿", "行政处罚"], document_no="城应急停〔2024〕1号")
    resume = dict(actions=["准予复产"], document_no="城应急复〔2024〕1号")
    d = dt.date
    s.inspection("I1", "P1", date=d(2024, 11, 20), **stop)  # never lifted
    s.inspection("I2a", "P2", date=d(2024, 11, 20), **stop)
    s.inspection("I2b", "P2", date=d(2024, 12, 1), **resume)  # lifted
    s.inspection("I3a", "P3", date=d(2024, 11, 20), **stop)
    s.inspection("I3b", "P3", date=d(2024, 12, 1), **resume)
    s.inspection("I3c", "P3", date=d(2024, 12, 20), actions=["责令停产整顿"], document_no="城应急停〔2024〕9号")  # again
    s.inspection("I4a", "P4", date=d(2024, 11, 20), **stop)
    s.inspection("I4b", "P4", date=d(2024, 11, 20), **resume)  # the same day is not later
    s.inspection("I5", "P5", date=d(2024, 11, 20), **stop)  # recorded 停产: complies
    s.inspection("I6", "P6", date=d(2024, 11, 20), **stop)
    s.inspection("I7a", "P7", date=d(2024, 12, 5), **stop)
    s.inspection("I7b", "P7", date=d(2024, 12, 5), actions=["责令停产整顿"])  # two orders the same day
    s.inspection("I7c", "P7", date=d(2024, 11, 1), **resume)  # a resumption before: lifts nothing
    s.load(graph)
    rows = by(run(graph, "stop-order-defied"), "uscc")
    assert set(rows) == {"P1", "P3", "P4", "P7"} == _truth_keys(s, "stop-order-defied")
    assert (rows["P1"]["inspection_id"], rows["P1"]["inspection_date"], rows["P1"]["document_no"]) == \
        ("I1", d(2024, 11, 20), "城应急停〔2024〕1号")
    p3 = rows["P3"]
    assert (p3["inspection_id"], p3["document_no"], p3["orders"], p3["last_resumed_on"]) == \
        ("I3c", "城应急停〔2024〕9号", 1, d(2024, 12, 1))
    assert (rows["P7"]["inspection_id"], rows["P7"]["orders"]) == ("I7b", 2)  # the tie: the greater id
    from loaders import truth as T
    truth_rows = {r["uscc"]: r["inspection_id"] for r in T.compute(s.records, AS_OF)["stop-order-defied"]["rows"]}
    assert truth_rows == {u: r["inspection_id"] for u, r in rows.items()}


def test_hot_work_near_flammables_other_parties_and_hot_goods(graph):
    s = Survey()
    for u in ("O", "K", "K2", "T", "U"):
        s.ent(u)
    s.building("BH", "O")
    s.building("BT", "O")
    s.building("BC", "O")
    s.op("OP-spray", "K", "BH", category="喷涂")  # run by K, who also does the hot work below
    s.op("OP-weld", "U", "BC", category="动火")  # hot work itself is not a flammable
    s.tenancy("T-yi", "O", "T", "BT", goods_fire_class="乙")
    s.tenancy("T-bing", "O", "U", "BC", goods_fire_class="丙")
    hot = dict(high_risk_work=["动火作业", "高处作业"])
    s.contract("C-same", "O", "K", building="BH", **hot)  # the same party runs the 喷涂: no conflict between two
    s.contract("C-other", "O", "K2", building="BH", **hot)
    s.contract("C-goods", "O", "K2", building="BT", **hot)
    s.contract("C-plain", "O", "K2", building="BC", **hot)
    s.contract("C-site", "O", "K2", site="S1", **hot)
    s.site("S1")
    s.contract("C-cold", "O", "K2", building="BT", high_risk_work=["高处作业"])
    s.load(graph)
    rows = by(run(graph, "hot-work-near-flammables"), "contract_id")
    assert set(rows) == {"C-other", "C-goods"} == _truth_keys(s, "hot-work-near-flammables")
    other = rows["C-other"]
    assert (other["client_uscc"], other["contractor_uscc"], other["operations"], other["tenancies"]) == \
        ("O", "K2", ["OP-spray"], [])
    assert other["operation_parties"] == ["OP-spray 喷涂：企业K（K）"]
    assert rows["C-goods"]["tenancies"] == ["T-yi"] and rows["C-goods"]["tenancy_parties"] == ["T-yi 乙类：企业T（T）"]
    # no conflict of a kind: an empty list, not a list of one blank text (LadybugDB joins a null as '')
    assert rows["C-goods"]["operations"] == [] and rows["C-goods"]["operation_parties"] == []
    assert other["tenancy_parties"] == []


def test_multi_tenant_no_manager_counts_distinct_lessees(graph):
    s = Survey()
    for u in ("O", "A", "B", "M"):
        s.ent(u)
    s.building("B-two", "O")
    s.tenancy("T1", "O", "A", "B-two")
    s.tenancy("T2", "O", "B", "B-two")
    s.building("B-one-lessee", "O")  # one lessee with two leases: not 多家使用
    s.tenancy("T3", "O", "A", "B-one-lessee")
    s.tenancy("T4", "O", "A", "B-one-lessee")
    s.building("B-managed", "O", manager_uscc="M")
    s.tenancy("T5", "O", "A", "B-managed")
    s.tenancy("T6", "O", "B", "B-managed")
    s.building("B-sublet", "O")  # O → A → B: two users
    s.tenancy("T7", "O", "A", "B-sublet")
    s.tenancy("T8", "A", "B", "B-sublet")
    s.load(graph)
    rows = by(run(graph, "multi-tenant-no-manager"), "building_id")
    assert set(rows) == {"B-two", "B-sublet"} == _truth_keys(s, "multi-tenant-no-manager")
    assert (rows["B-two"]["lessees"], rows["B-two"]["tenancies"], rows["B-two"]["lessee_usccs"]) == (2, 2, ["A", "B"])


def test_hazardous_goods_underground_as_the_loader_derives_it(graph, tmp_path):
    """Through the real loader: 楼层 is parsed into the stored `underground` at load."""
    from ledgers import rows_of, workbook
    from loaders.survey import load

    from graphmodel.schema import NODES

    floors = {"T-B1": "B1", "T-B 1": "B 1", "T-fullwidth": "Ｂ１", "T-dixia": " 地下一层", "T-fu": "负2层",
              "T-minus": "-1", "T-minus-fw": "－１", "T-ground": "1层", "T-bqu": "B区", "T-blank": None}
    e = [dict(uscc=u, name=f"企业{u}", sector="机械", county="城区", township="上站街道")
         for u in ("91140302MA0L000010", "91140302MA0L000029")]
    o, a = e[0]["uscc"], e[1]["uscc"]
    b = [dict(building_id="B1", name="厂房", owner_uscc=o, county="城区", township="上站街道")]
    t = [dict(tenancy_id=tid, lessor_uscc=o, lessee_uscc=a, building_id="B1", floor=f, goods_fire_class="甲")
         for tid, f in floors.items()]
    t.append(dict(tenancy_id="T-B1-bing", lessor_uscc=o, lessee_uscc=a, building_id="B1", floor="B1",
                  goods_fire_class="丙"))
    t.append(dict(tenancy_id="T-B2-yi", lessor_uscc=o, lessee_uscc=a, building_id="B1", floor="B2",
                  goods_fire_class="乙"))
    full = lambda label, recs: [{c.key: r.get(c.key) for c in NODES[label].columns} for r in recs]  # noqa: E731
    path = workbook(tmp_path / "地下.xlsx", {"企业": rows_of("Enterprise", full("Enterprise", e)),
                                            "建筑": rows_of("Building", full("Building", b)),
                                            "租赁": rows_of("Tenancy", full("Tenancy", t))})
    load(path, graph, source="edge")
    stored = {r["id"]: r["u"] for r in graph.read("MATCH (t:Tenancy) RETURN t.tenancy_id AS id, t.underground AS u").rows}
    assert stored == {"T-B1": True, "T-B 1": False, "T-fullwidth": True, "T-dixia": True, "T-fu": True,
                      "T-minus": True, "T-minus-fw": True, "T-ground": False, "T-bqu": False, "T-blank": None,
                      "T-B1-bing": True, "T-B2-yi": True}
    found = keys(run(graph, "hazardous-goods-underground"), "tenancy_id")
    assert found == {"T-B1", "T-fullwidth", "T-dixia", "T-fu", "T-minus", "T-minus-fw", "T-B2-yi"}


def test_worry_list_version_2_parts(graph):
    s = Survey()
    for u in ("O", "W", "K"):
        s.ent(u, status="在产")
    s.ent("L")
    s.building("B1", "O")  # two lessees, no manager: O +1
    s.tenancy("T1", "O", "W", "B1", floor="B1", goods_fire_class="甲", underground=True)  # W +3
    s.tenancy("T2", "O", "L", "B1")
    s.contract("C1", "O", "K", building="B1", high_risk_work=["动火作业"])  # near T1's 甲 goods: O +2, K +2
    s.hazard("H1", "W", level="重大", status="已销号", closed_on=dt.date(2024, 12, 20))  # unaccepted: W +2
    s.hazard("H2", "W", level="一般", supervised=YES, supervision_deadline=dt.date(2025, 1, 1))  # W +3
    s.inspection("I1", "W", actions=["责令停产整顿"])  # never lifted, W 在产: +5
    s.inspection("I2", "K", actions=["责令停产整顿"])
    s.inspection("I3", "K", date=dt.date(2024, 12, 10), actions=["准予复产"])  # lifted
    s.load(graph)
    rows = by(run(graph, "worry-list", as_of=AS_OF), "uscc")
    parts = ("supervision_overdue", "unaccepted", "stop_defied", "hot_work", "underground_goods", "no_manager")
    assert {k: rows["W"][k] for k in parts} == {"supervision_overdue": 1, "unaccepted": 1, "stop_defied": 1,
                                               "hot_work": 0, "underground_goods": 1, "no_manager": 0}
    assert rows["W"]["score"] == 3 + 2 + 5 + 3
    assert {k: rows["O"][k] for k in parts} == {"supervision_overdue": 0, "unaccepted": 0, "stop_defied": 0,
                                               "hot_work": 1, "underground_goods": 0, "no_manager": 1}
    assert rows["O"]["score"] == 2 + 1 and rows["K"]["score"] == 2
    from loaders import truth as T
    truth = {r["uscc"]: r["score"] for r in T.compute(s.records, AS_OF)["worry-list"]["rows"]}
    assert truth == {u: r["score"] for u, r in rows.items()}
