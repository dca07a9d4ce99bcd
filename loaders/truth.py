"""Ground truth for the prepared query pack, computed in plain Python from survey records.

For every query id of query-catalogue.md this module finds the subjects the query must
return, following each definition literally and independently of any Cypher, so that
the query pack can be tested against it on both backends.

Input: records as the generator (loaders/generate.py) or the survey reader produce them,
`{label: [record dict: column key -> typed value]}`. Output (`compute`): per query id
`{"key": [...], "columns": [...], "rows": [...]}`, rows sorted by their key columns.

Conventions of the catalogue (see also the decisions at the end of /tmp/sitegraph-notes.md,
repeated in the comments below):
- done(x) / present(x): recorded True; missing(x): False or blank; explicit-no(x): False.
- a text or date field is blank when it is None or only white space.
- open hazard: 整改状态 未整改/整改中; rectified: 已整改/已销号.
- frame structure: 框架/排架/钢结构; fire classes rank 甲 > 乙 > 丙 > 丁 > 戊.
- `as_of` enters only hazards-overdue, the overdue column of major-hazards-open, the
  worry-list, supervision-overdue and hazard-tally (its overdue columns); 经营状态 only 依法取缔 (five-always).
"""
from __future__ import annotations

import datetime as dt
import gc
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable

from graphmodel.schema import FIRE_CLASSES, FRAME_STRUCTURES, OPEN_HAZARD, RECTIFIED_HAZARD

from loaders.values import fold_width, is_valid_uscc
from queries.catalogue import CATALOGUE

DEFAULT_CAP = 0.10

# id -> key columns, in catalogue order: the catalogue's own declaration (the contract).
KEYS: dict[str, tuple[str, ...]] = CATALOGUE
QUERY_IDS: tuple[str, ...] = tuple(KEYS)

# Checked columns beyond the keys (the query pack returns them under the same names).
EXTRA: dict[str, tuple[str, ...]] = {
    "nested-high-risk": ("lease_depth", "site_path_length"),
    "survey-coverage": ("enterprises", "buildings", "leased_buildings", "multi_tenant_buildings", "nested_sites",
                        "contracts", "leased_area", "resident_workers", "high_risk_operations"),
    "rectification-rate": ("hazards", "rectified", "rate", "major", "major_rectified"),
    "dispatch-over-cap": ("dispatched",),
    "worry-list": ("score",),
    "stop-order-defied": ("inspection_id",),
    "hot-work-near-flammables": ("operations", "tenancies"),
    "multi-tenant-no-manager": ("lessees",),
    "unregistered-parties": ("party_kind", "provisional"),
    # the supervision report (default by = township)
    "hazard-tally": ("hazards", "general", "major", "rectified", "rate", "major_open", "major_open_supervised",
                     "overdue", "supervision_overdue", "closed_unaccepted"),
    "enforcement-tally": ("ban", "suspend", "closing", "demolish", "supervise", "five_always", "inspections",
                          "signed", "documented", "found_nothing_at_risk"),
    "notice-candidates": ("reason_count", "hazards", "rate", "major_open", "found_nothing_at_risk"),
}
# notice-candidates: a rate below this is low (its default min_rate).
NOTICE_MIN_RATE = 0.8

# legacy-major-hazards: the default cut-off (安全生产治本攻坚三年行动 starts 2024).
LEGACY_CUTOFF = dt.date(2023, 12, 31)
# hot-work-near-flammables: operation categories and goods fire classes that catch a spark.
FLAMMABLE_OPERATIONS = ("喷涂", "粉尘涉爆", "危险化学品", "锂电池储存")
FLAMMABLE_GOODS = ("甲", "乙")

# Weights of the worry-list score (the query pack documents the same).
WORRY_WEIGHTS = {"major_open": 5, "overdue": 3, "gaps": 2, "violations": 2, "nested_ops": 2,
                 "unsafe_buildings": 1, "no_licence": 3,
                 # version 2
                 "supervision_overdue": 3, "unaccepted": 2, "stop_defied": 5, "hot_work": 2,
                 "underground_goods": 3, "no_manager": 1}

# Check fields of survey-incomplete, per record type.
INCOMPLETE_FIELDS = {
    "tenancy": ("safety_agreement", "duties_defined", "lessee_reviewed", "use_reviewed", "coordinated",
                "periodic_inspection"),
    "building": ("land_use_permit", "three_simultaneity", "fire_acceptance", "fire_facilities_ok"),
    "contract": ("contractor_qualified", "safety_agreement", "duties_defined", "client_coordinates",
                 "contractor_site_manager"),
    "enterprise": ("business_license", "environmental_permit"),
}

# ---- conventions -----------------------------------------------------------------------


def done(v: Any) -> bool:
    return v is True


present = done


def missing(v: Any) -> bool:
    return v is not True


def explicit_no(v: Any) -> bool:
    return v is False


def blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    if isinstance(v, (list, tuple)):
        return len(v) == 0
    return False


def is_open(h: dict) -> bool:
    return h.get("status") in OPEN_HAZARD


def is_rectified(h: dict) -> bool:
    return h.get("status") in RECTIFIED_HAZARD


def is_frame(structure: Any) -> bool:
    return structure in FRAME_STRUCTURES


_RANK = {c: i for i, c in enumerate(FIRE_CLASSES)}  # 0 = 甲, the most dangerous


def more_dangerous(a: Any, b: Any) -> bool:
    """Fire class a is more dangerous than b (both set)."""
    return a in _RANK and b in _RANK and _RANK[a] < _RANK[b]


def same_address(a: str, b: str) -> bool:
    """Addresses compared after folding full-width characters and removing white space."""
    return "".join(fold_width(a).split()) == "".join(fold_width(b).split())


def round3(x: float) -> float:
    """round(x, 3), half away from zero on the shortest decimal form of x (as Neo4j does)."""
    return float(Decimal(repr(float(x))).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def _provisional(e: dict) -> bool:
    """Keyed by a 临时编码 (no USCC)."""
    return e.get("provisional_id") is not None and e.get("uscc") == e.get("provisional_id")


def _uscc_valid(e: dict) -> bool:
    v = e.get("uscc_valid")
    if _provisional(e):  # a 临时编码 is no USCC to check
        return True
    if v is None:
        return is_valid_uscc(e["uscc"])
    return v is not False


# ---- derived structure --------------------------------------------------------------------


def lease_depths(tenancies: Iterable[dict], buildings: dict[str, dict]) -> dict[str, int]:
    """tenancy_id -> lease depth on its building (catalogue: lessor = owner → 1; lessor =
    lessee of a depth-d tenancy on the same building → d+1). Breadth first, so a tenancy
    reachable along several chains gets its smallest depth; a tenancy whose lessor is
    neither the owner nor a lessee on the building has no depth."""
    by_building: dict[str, list[dict]] = defaultdict(list)
    for t in tenancies:
        by_building[t.get("building_id")].append(t)
    depth: dict[str, int] = {}
    for bid, ts in by_building.items():
        b = buildings.get(bid)
        if b is None:
            continue
        lessors = {b.get("owner_uscc")}
        remaining = ts
        d = 1
        while lessors and remaining:
            nxt, rest = set(), []
            for t in remaining:
                if t.get("lessor_uscc") in lessors:
                    depth[t["tenancy_id"]] = d
                    nxt.add(t.get("lessee_uscc"))
                else:
                    rest.append(t)
            lessors, remaining, d = nxt, rest, d + 1
    return depth


def site_path_length(site_id: str | None, sites: dict[str, dict]) -> int:
    """Number of sites from site_id up to its root (0 when site_id is blank)."""
    n, seen = 0, set()
    while site_id is not None and site_id in sites and site_id not in seen:
        seen.add(site_id)
        n += 1
        site_id = sites[site_id].get("parent_site_id")
    return n


# ---- the queries ---------------------------------------------------------------------------


class _Data:
    """Indexes over the records, built once."""

    def __init__(self, records: dict[str, list[dict]]):
        g = lambda label: records.get(label) or []  # noqa: E731
        self.enterprises = g("Enterprise")
        self.sites_list = g("Site")
        self.buildings_list = g("Building")
        self.tenancies = g("Tenancy")
        self.contracts = g("Contract")
        self.dispatch = g("Dispatch")
        self.operations = g("Operation")
        self.hazards = g("Hazard")
        self.inspections = g("Inspection")
        self.ent = {e["uscc"]: e for e in self.enterprises}
        self.sites = {s["site_id"]: s for s in self.sites_list}
        self.buildings = {b["building_id"]: b for b in self.buildings_list}
        self.hazard_by_id = {h["hazard_id"]: h for h in self.hazards}
        self.contract_by_id = {c["contract_id"]: c for c in self.contracts}
        self.tenancy_by_id = {t["tenancy_id"]: t for t in self.tenancies}
        self.tenancies_on: dict[str, list[dict]] = defaultdict(list)
        for t in self.tenancies:
            self.tenancies_on[t.get("building_id")].append(t)
        self.depth = lease_depths(self.tenancies, self.buildings)


def _tenancy_gap(t: dict) -> bool:
    return (not (done(t.get("safety_agreement")) and done(t.get("duties_defined")))
            and missing(t.get("coordinated")) and missing(t.get("periodic_inspection")))


def _contract_gap(c: dict) -> bool:
    return (not (done(c.get("safety_agreement")) and done(c.get("duties_defined")))
            and missing(c.get("client_coordinates")) and missing(c.get("contractor_site_manager")))


def _use_changed(t: dict, d: _Data) -> bool:
    b = d.buildings.get(t.get("building_id")) or {}
    p, u = t.get("purpose"), b.get("planned_use")
    return not blank(p) and not blank(u) and p != u


def _building_defects(b: dict) -> list[str]:
    out = []
    for key in ("land_use_permit", "three_simultaneity", "fire_acceptance"):
        if missing(b.get(key)):
            out.append(key)
    for key in ("structural_hazard", "illegal_construction"):
        if present(b.get(key)):
            out.append(key)
    if missing(b.get("fire_facilities_ok")):
        out.append("fire_facilities_ok")
    return out


def _nested(d: _Data) -> list[dict]:
    rows = []
    for op in d.operations:
        b = d.buildings.get(op.get("building_id"))
        if b is None or blank(b.get("site_id")) or op.get("uscc") == b.get("owner_uscc"):
            continue
        depths = [d.depth[t["tenancy_id"]] for t in d.tenancies_on.get(b["building_id"], ())
                  if t.get("lessee_uscc") == op.get("uscc") and t["tenancy_id"] in d.depth]
        rows.append({"operation_id": op["operation_id"], "lease_depth": min(depths) if depths else None,
                     "site_path_length": site_path_length(b.get("site_id"), d.sites)})
    return rows


def _market_access(d: _Data) -> set[str]:
    active = {t.get("lessee_uscc") for t in d.tenancies} | {o.get("uscc") for o in d.operations}
    out = set()
    for e in d.enterprises:
        if e["uscc"] not in active:
            continue
        a, la = e.get("address"), e.get("licensed_address")
        mismatch = not blank(a) and not blank(la) and not same_address(a, la)
        if missing(e.get("business_license")) or missing(e.get("environmental_permit")) or mismatch:
            out.add(e["uscc"])
    return out


def _dust(d: _Data) -> list[str]:
    out = []
    for op in d.operations:
        if op.get("category") != "粉尘涉爆":
            continue
        b = d.buildings.get(op.get("building_id")) or {}
        floors, structure = b.get("floors"), b.get("structure")
        multistorey_non_frame = floors is not None and floors > 1 and not blank(structure) and not is_frame(structure)
        if multistorey_non_frame or present(op.get("crowded_rooms")):
            out.append(op["operation_id"])
    return out


def _overdue(h: dict, as_of: dt.date) -> bool:
    return is_open(h) and h.get("deadline") is not None and h["deadline"] < as_of


def _dispatch_over_cap(d: _Data, cap: float) -> list[dict]:
    total: dict[str, int] = defaultdict(int)
    for r in d.dispatch:
        total[r.get("host_uscc")] += r.get("workers") or 0
    rows = []
    for host, dsum in total.items():
        if dsum <= 0:
            continue
        cw = (d.ent.get(host) or {}).get("contract_workers") or 0
        if dsum / (cw + dsum) > cap:
            rows.append({"uscc": host, "dispatched": dsum})
    return rows


def _five_always(d: _Data, use_changed: set[str]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    # 依法取缔: explicit-no(business_license) or 主体类型 无照经营, 经营状态 not 关闭/取缔 (blank counts as 在产).
    for e in d.enterprises:
        if ((explicit_no(e.get("business_license")) or e.get("party_kind") == "无照经营")
                and e.get("status") not in ("关闭", "取缔")):
            out.add(("依法取缔", e["uscc"]))

    # 责令停产整顿
    def stop_building(b: dict | None) -> bool:
        return b is not None and (present(b.get("illegal_construction")) or explicit_no(b.get("fire_acceptance")))

    for t in d.tenancies:
        b = d.buildings.get(t.get("building_id"))
        if stop_building(b) or (t["tenancy_id"] in use_changed and missing(t.get("use_reviewed"))):
            out.add(("责令停产整顿", t.get("lessee_uscc")))
    for op in d.operations:
        if stop_building(d.buildings.get(op.get("building_id"))):
            out.add(("责令停产整顿", op.get("uscc")))
    # 依法关闭: an inspection with 责令停产整顿, and a strictly later inspection of the same
    # enterprise whose 发现隐患 include a 重大 hazard.
    by_ent: dict[str, list[dict]] = defaultdict(list)
    for i in d.inspections:
        by_ent[i.get("uscc")].append(i)
    for uscc, insps in by_ent.items():
        stops = [i["date"] for i in insps if "责令停产整顿" in (i.get("actions") or ()) and i.get("date")]
        if not stops:
            continue
        first_stop = min(stops)
        for i in insps:
            if i.get("date") and i["date"] > first_stop and any(
                    (d.hazard_by_id.get(h) or {}).get("level") == "重大" for h in (i.get("hazard_ids") or ())):
                out.add(("依法关闭", uscc))
                break
    # 强制拆除: any building with present(escape_obstruction); subject = 建筑编码.
    for b in d.buildings_list:
        if present(b.get("escape_obstruction")):
            out.add(("强制拆除", b["building_id"]))
    # 挂牌督办: an open 重大 hazard not done(supervised).
    for h in d.hazards:
        if h.get("level") == "重大" and is_open(h) and not done(h.get("supervised")):
            out.add(("挂牌督办", h.get("uscc")))
    return out


def _unregistered(d: _Data) -> list[dict]:
    """unregistered-parties: keyed by a 临时编码 and a lessee, operator or contractor; or 无照经营."""
    lessees = {t.get("lessee_uscc") for t in d.tenancies}
    operators = {o.get("uscc") for o in d.operations}
    active = lessees | operators | {c.get("contractor_uscc") for c in d.contracts}
    out = []
    for e in d.enterprises:
        u = e["uscc"]
        if e.get("party_kind") == "无照经营" or (_provisional(e) and u in active):
            out.append({"uscc": u, "party_kind": e.get("party_kind") or "企业", "provisional": _provisional(e)})
    return out


def _major_closed_unaccepted(d: _Data) -> list[str]:
    return [h["hazard_id"] for h in d.hazards
            if h.get("level") == "重大" and h.get("status") == "已销号"
            and not (h.get("acceptance") == "通过" and h.get("accepted_on") is not None)]


def _supervision_overdue(h: dict, as_of: dt.date) -> bool:
    return (done(h.get("supervised")) and h.get("supervision_deadline") is not None
            and h["supervision_deadline"] < as_of and h.get("delisted_on") is None)


def _stop_order_defied(d: _Data) -> list[dict]:
    """Per party: its latest 责令停产整顿 inspection, when no later inspection of it has 准予复产
    and its 经营状态 is recorded 在产 (a blank status is not a record). Ties on the date: the
    greatest inspection id."""
    by_ent: dict[str, list[dict]] = defaultdict(list)
    for i in d.inspections:
        by_ent[i.get("uscc")].append(i)
    rows = []
    for uscc, insps in by_ent.items():
        if (d.ent.get(uscc) or {}).get("status") != "在产":
            continue
        stops = [i for i in insps if "责令停产整顿" in (i.get("actions") or ()) and i.get("date") is not None]
        if not stops:
            continue
        last = max(stops, key=lambda i: (i["date"], i["inspection_id"]))
        if any("准予复产" in (i.get("actions") or ()) and i.get("date") is not None and i["date"] > last["date"]
               for i in insps):
            continue
        rows.append({"uscc": uscc, "inspection_id": last["inspection_id"]})
    return rows


def _hot_work(d: _Data) -> list[dict]:
    ops_in: dict[str, list[dict]] = defaultdict(list)
    for op in d.operations:
        ops_in[op.get("building_id")].append(op)
    rows = []
    for c in d.contracts:
        bid = c.get("building_id")
        if "动火作业" not in (c.get("high_risk_work") or ()) or blank(bid):
            continue
        ops = sorted(op["operation_id"] for op in ops_in.get(bid, ())
                     if op.get("category") in FLAMMABLE_OPERATIONS and op.get("uscc") != c.get("contractor_uscc"))
        ts = sorted(t["tenancy_id"] for t in d.tenancies_on.get(bid, ()) if t.get("goods_fire_class") in FLAMMABLE_GOODS)
        if ops or ts:
            rows.append({"contract_id": c["contract_id"], "operations": ops, "tenancies": ts})
    return rows


def _multi_tenant_no_manager(d: _Data) -> list[dict]:
    rows = []
    for b in d.buildings_list:
        lessees = {t.get("lessee_uscc") for t in d.tenancies_on.get(b["building_id"], ())}
        if len(lessees) >= 2 and blank(b.get("manager_uscc")):
            rows.append({"building_id": b["building_id"], "lessees": len(lessees)})
    return rows


def _hazardous_goods_underground(d: _Data) -> list[str]:
    return [t["tenancy_id"] for t in d.tenancies
            if _underground(t) and t.get("goods_fire_class") in FLAMMABLE_GOODS]


def _underground(t: dict) -> bool:
    """underground(t): the stored derived property, else computed from 楼层 (records without it)."""
    v = t.get("underground")
    if v is None and not blank(t.get("floor")):
        from loaders.values import is_underground
        v = is_underground(t["floor"])
    return v is True


def _coverage(d: _Data) -> list[dict]:
    fields = EXTRA["survey-coverage"]
    rows: dict[tuple[str, str], dict] = {}

    def row(county, township) -> dict:
        k = (county, township)
        if k not in rows:
            rows[k] = {"county": county, "township": township, **{f: 0 for f in fields}}
            rows[k]["leased_area"] = 0.0
        return rows[k]

    for e in d.enterprises:
        row(e.get("county"), e.get("township"))["enterprises"] += 1
    for s in d.sites_list:
        r = row(s.get("county"), s.get("township"))
        if not blank(s.get("parent_site_id")):
            r["nested_sites"] += 1
    ops_in: dict[str, int] = defaultdict(int)
    for op in d.operations:
        ops_in[op.get("building_id")] += 1
    for b in d.buildings_list:
        r = row(b.get("county"), b.get("township"))
        r["buildings"] += 1
        ts = d.tenancies_on.get(b["building_id"], ())
        if ts:
            r["leased_buildings"] += 1
        if len({t.get("lessee_uscc") for t in ts}) >= 2:
            r["multi_tenant_buildings"] += 1
        r["leased_area"] += sum(float(t.get("area") or 0) for t in ts)
        r["resident_workers"] += sum(int(t.get("workers") or 0) for t in ts)
        r["high_risk_operations"] += ops_in.get(b["building_id"], 0)
    for c in d.contracts:
        e = d.ent.get(c.get("client_uscc"))
        if e is not None:
            k = (e.get("county"), e.get("township"))
            if k in rows:
                rows[k]["contracts"] += 1
    return list(rows.values())


def _rectification(d: _Data) -> list[dict]:
    rows = {}
    for e in d.enterprises:
        rows.setdefault(e.get("county"), {"county": e.get("county"), "hazards": 0, "rectified": 0, "rate": 0.0,
                                          "major": 0, "major_rectified": 0})
    for h in d.hazards:
        e = d.ent.get(h.get("uscc"))
        if e is None:
            continue
        r = rows[e.get("county")]
        r["hazards"] += 1
        r["rectified"] += is_rectified(h)
        if h.get("level") == "重大":
            r["major"] += 1
            r["major_rectified"] += is_rectified(h)
    for r in rows.values():
        r["rate"] = round3(r["rectified"] / r["hazards"]) if r["hazards"] else 0.0
    return list(rows.values())


def _inspection_accountability(d: _Data) -> list[str]:
    runs_op = {o.get("uscc") for o in d.operations}
    out = []
    for i in d.inspections:
        found = not blank(i.get("hazard_ids"))
        if (missing(i.get("signed")) or (found and blank(i.get("document_no")))
                or (i.get("uscc") in runs_op and not found)):
            out.append(i["inspection_id"])
    return out


def _hazard_tally(d: _Data, as_of: dt.date, unaccepted: set[str]) -> list[dict]:
    """Per (county, township) of the enterprises, their hazards (the supervision report)."""
    fields = EXTRA["hazard-tally"]
    rows = {}
    for e in d.enterprises:
        k = (e.get("county"), e.get("township"))
        rows.setdefault(k, {"county": k[0], "township": k[1], **{f: 0 for f in fields}})
    for h in d.hazards:
        e = d.ent.get(h.get("uscc"))
        if e is None:
            continue
        r = rows[(e.get("county"), e.get("township"))]
        major = h.get("level") == "重大"
        r["hazards"] += 1
        r["general"] += h.get("level") == "一般"
        r["major"] += major
        r["rectified"] += is_rectified(h)
        r["major_open"] += major and is_open(h)
        r["major_open_supervised"] += major and is_open(h) and done(h.get("supervised"))
        r["overdue"] += _overdue(h, as_of)
        r["supervision_overdue"] += _supervision_overdue(h, as_of)
        r["closed_unaccepted"] += h["hazard_id"] in unaccepted
    for r in rows.values():
        r["rate"] = round3(r["rectified"] / r["hazards"]) if r["hazards"] else 0.0
    return list(rows.values())


def _found_nothing_at_risk(d: _Data) -> dict[str, int]:
    """Per enterprise running a high-risk operation: its inspections that found no hazard."""
    runs_op = {o.get("uscc") for o in d.operations}
    out: dict[str, int] = defaultdict(int)
    for i in d.inspections:
        if i.get("uscc") in runs_op and i.get("uscc") in d.ent and not any(x in d.hazard_by_id for x in i.get("hazard_ids") or ()):
            out[i["uscc"]] += 1
    return out


def _enforcement_tally(d: _Data, five: set[tuple[str, str]]) -> list[dict]:
    """Per (county, township) of enterprises and buildings: five-always subjects by action, inspections."""
    fields = EXTRA["enforcement-tally"]
    rows = {}

    def row(rec: dict) -> dict:
        k = (rec.get("county"), rec.get("township"))
        return rows.setdefault(k, {"county": k[0], "township": k[1], **{f: 0 for f in fields}})

    for rec in d.enterprises + d.buildings_list:
        row(rec)
    column = {"依法取缔": "ban", "责令停产整顿": "suspend", "依法关闭": "closing", "强制拆除": "demolish",
              "挂牌督办": "supervise"}
    for action, subject in five:
        rec = (d.buildings if action == "强制拆除" else d.ent).get(subject)
        if rec is None:  # not a record of the survey: five-always cannot name it either
            continue
        r = row(rec)
        r[column[action]] += 1
        r["five_always"] += 1
    for i in d.inspections:
        e = d.ent.get(i.get("uscc"))
        if e is None:
            continue
        r = row(e)
        r["inspections"] += 1
        r["signed"] += done(i.get("signed"))
        r["documented"] += not blank(i.get("document_no"))
    for u, n in _found_nothing_at_risk(d).items():
        row(d.ent[u])["found_nothing_at_risk"] += n
    return list(rows.values())


def _notice_candidates(tally: list[dict], nothing: list[dict]) -> list[dict]:
    """The 通报 candidates per township, from its hazards and its empty inspections."""
    empty = {(r["county"], r["township"]): r["found_nothing_at_risk"] for r in nothing}
    out = []
    for r in tally:
        n = empty.get((r["county"], r["township"]), 0)
        reasons = [r["hazards"] == 0, r["hazards"] > 0 and r["rate"] < NOTICE_MIN_RATE, r["major_open"] > 0, n > 0]
        if any(reasons):
            out.append({"county": r["county"], "township": r["township"], "reason_count": sum(reasons),
                        "hazards": r["hazards"], "rate": r["rate"], "major_open": r["major_open"],
                        "found_nothing_at_risk": n})
    return out


def _survey_incomplete(d: _Data) -> list[tuple[str, str]]:
    out = []
    for rtype, recs, key in (("enterprise", d.enterprises, "uscc"), ("building", d.buildings_list, "building_id"),
                             ("tenancy", d.tenancies, "tenancy_id"), ("contract", d.contracts, "contract_id")):
        fields = INCOMPLETE_FIELDS[rtype]
        for r in recs:
            if any(r.get(f) is None for f in fields) or (rtype == "enterprise" and not _uscc_valid(r)):
                out.append((rtype, r[key]))
    return out


def compute(records: dict[str, list[dict]], as_of: dt.date, cap: float = DEFAULT_CAP,
            cutoff: dt.date = LEGACY_CUTOFF) -> dict[str, dict]:
    """The expected result of every query id: {id: {"key", "columns", "rows"}}."""
    was_enabled = gc.isenabled()
    gc.disable()  # many small acyclic dicts: the cyclic GC would only rescan them
    try:
        return _compute(records, as_of, cap, cutoff)
    finally:
        if was_enabled:
            gc.enable()


def _compute(records: dict[str, list[dict]], as_of: dt.date, cap: float, cutoff: dt.date) -> dict[str, dict]:
    d = _Data(records)
    rows: dict[str, list[dict]] = {}

    gaps_t = [t["tenancy_id"] for t in d.tenancies if _tenancy_gap(t)]
    gaps_c = [c["contract_id"] for c in d.contracts if _contract_gap(c)]
    rows["responsibility-gaps"] = ([{"kind": "outsourcing", "id": i} for i in gaps_c]
                                   + [{"kind": "tenancy", "id": i} for i in gaps_t])
    rows["coordination-gaps"] = (
        [{"kind": "tenancy", "id": t["tenancy_id"]} for t in d.tenancies
         if missing(t.get("coordinated")) or missing(t.get("periodic_inspection"))]
        + [{"kind": "outsourcing", "id": c["contract_id"]} for c in d.contracts if missing(c.get("client_coordinates"))])
    rows["unreviewed-tenants"] = [{"tenancy_id": t["tenancy_id"]} for t in d.tenancies
                                  if missing(t.get("lessee_reviewed")) or missing(t.get("use_reviewed"))]
    use_changed = {t["tenancy_id"] for t in d.tenancies if _use_changed(t, d)}
    rows["use-changed"] = [{"tenancy_id": i} for i in use_changed]
    unsafe = [b["building_id"] for b in d.buildings_list
              if d.tenancies_on.get(b["building_id"]) and _building_defects(b)]
    rows["unsafe-leased-buildings"] = [{"building_id": i} for i in unsafe]
    nested = _nested(d)
    rows["nested-high-risk"] = nested

    def owner_of(t):
        return (d.buildings.get(t.get("building_id")) or {}).get("owner_uscc")

    rows["sublease-unconsented"] = [{"tenancy_id": t["tenancy_id"]} for t in d.tenancies
                                    if t.get("lessor_uscc") != owner_of(t) and missing(t.get("sublease_consent"))]
    rows["fire-class-upgrade"] = [
        {"tenancy_id": t["tenancy_id"]} for t in d.tenancies
        if more_dangerous(t.get("goods_fire_class"), (d.buildings.get(t.get("building_id")) or {}).get("fire_class"))
        and missing(t.get("fire_reacceptance"))]
    three = [t for t in d.tenancies if present(t.get("three_in_one")) or present(t.get("dorm_inside"))]
    rows["three-in-one"] = [{"tenancy_id": t["tenancy_id"]} for t in three]
    power = [t for t in d.tenancies if present(t.get("illegal_power_gas")) or present(t.get("illegal_hazchem"))]
    rows["illegal-power-hazchem"] = [{"tenancy_id": t["tenancy_id"]} for t in power]
    market = _market_access(d)
    rows["market-access"] = [{"uscc": u} for u in market]
    rows["dust-in-multistorey"] = [{"operation_id": i} for i in _dust(d)]
    major_open = [h for h in d.hazards if h.get("level") == "重大" and is_open(h)]
    rows["major-hazards-open"] = [{"hazard_id": h["hazard_id"]} for h in major_open]
    rows["major-hazards-unreported"] = [
        {"hazard_id": h["hazard_id"]} for h in d.hazards
        if h.get("level") == "重大" and not (done(h.get("reported_to_authority")) and done(h.get("reported_to_staff")))]
    overdue = [h for h in d.hazards if _overdue(h, as_of)]
    rows["hazards-overdue"] = [{"hazard_id": h["hazard_id"]} for h in overdue]
    rows["hazard-ledger-incomplete"] = [
        {"hazard_id": h["hazard_id"]} for h in d.hazards
        if is_open(h) and (any(blank(h.get(f)) for f in ("responsible_person", "measures", "funds", "deadline"))
                           or missing(h.get("contingency_plan")))]
    rows["dispatch-over-cap"] = _dispatch_over_cap(d, cap)
    rows["dispatch-core-posts"] = [
        {"dispatch_id": r["dispatch_id"]} for r in d.dispatch
        if r.get("position_nature") == "其他"
        or (r.get("position_nature") == "临时性" and r.get("months") is not None and r["months"] > 6)]
    rows["unqualified-contractors"] = [
        {"contract_id": c["contract_id"]} for c in d.contracts
        if missing(c.get("contractor_qualified"))
        or missing((d.ent.get(c.get("contractor_uscc")) or {}).get("business_license"))]
    five = _five_always(d, use_changed)
    rows["five-always"] = [{"action": a, "subject_id": s} for a, s in five]
    rows["survey-coverage"] = _coverage(d)
    rows["rectification-rate"] = _rectification(d)
    rows["inspection-accountability"] = [{"inspection_id": i} for i in _inspection_accountability(d)]
    rows["survey-incomplete"] = [{"record_type": t, "id": i} for t, i in _survey_incomplete(d)]
    # version 2
    unaccepted = _major_closed_unaccepted(d)
    rows["major-closed-unaccepted"] = [{"hazard_id": i} for i in unaccepted]
    sup_overdue = [h for h in d.hazards if _supervision_overdue(h, as_of)]
    rows["supervision-overdue"] = [{"hazard_id": h["hazard_id"]} for h in sup_overdue]
    rows["legacy-major-hazards"] = [
        {"hazard_id": h["hazard_id"]} for h in d.hazards
        if h.get("level") == "重大" and is_open(h) and h.get("found_on") is not None and h["found_on"] <= cutoff]
    defied = _stop_order_defied(d)
    rows["stop-order-defied"] = defied
    hot = _hot_work(d)
    rows["hot-work-near-flammables"] = hot
    no_manager = _multi_tenant_no_manager(d)
    rows["multi-tenant-no-manager"] = no_manager
    underground = _hazardous_goods_underground(d)
    rows["hazardous-goods-underground"] = [{"tenancy_id": i} for i in underground]
    rows["unregistered-parties"] = _unregistered(d)
    # the supervision report
    rows["hazard-tally"] = _hazard_tally(d, as_of, set(unaccepted))
    rows["enforcement-tally"] = _enforcement_tally(d, five)
    enterprise_places = {(e.get("county"), e.get("township")) for e in d.enterprises}
    rows["notice-candidates"] = _notice_candidates(
        rows["hazard-tally"], [r for r in rows["enforcement-tally"] if (r["county"], r["township"]) in enterprise_places])

    # worry-list, from the findings above.
    v2 = {"supervision_overdue": [h.get("uscc") for h in sup_overdue],
          "unaccepted": [d.hazard_by_id[i].get("uscc") for i in unaccepted],
          "stop_defied": [r["uscc"] for r in defied],
          "hot_work": [u for r in hot for c in [d.contract_by_id[r["contract_id"]]]
                       for u in dict.fromkeys((c.get("client_uscc"), c.get("contractor_uscc")))],
          "underground_goods": [d.tenancy_by_id[i].get("lessee_uscc") for i in underground],
          "no_manager": [d.buildings[r["building_id"]].get("owner_uscc") for r in no_manager]}
    parts = worry_parts(d, as_of, set(gaps_t), set(gaps_c), {t["tenancy_id"] for t in three + power},
                        {r["operation_id"] for r in nested}, set(unsafe), market, v2)
    rows["worry-list"] = [{"uscc": u, "score": p["score"]} for u, p in parts.items() if p["score"] > 0]

    out = {}
    for qid in QUERY_IDS:
        key = KEYS[qid]
        cols = key + EXTRA.get(qid, ())
        rs = [{c: r.get(c) for c in cols} for r in rows[qid]]
        rs.sort(key=lambda r: tuple("" if r[k] is None else str(r[k]) for k in key))
        out[qid] = {"key": list(key), "columns": list(cols), "rows": rs}
    return out


def worry_parts(d: _Data, as_of: dt.date, gap_tenancies: set[str], gap_contracts: set[str],
                violation_tenancies: set[str], nested_ops: set[str], unsafe_buildings: set[str],
                market: set[str], v2: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """Per enterprise, the counted parts of the worry-list score and the score. `v2`: per
    version-2 part, the enterprise of each finding (once per finding; stop_defied counts 0/1)."""
    parts = {e["uscc"]: dict.fromkeys(WORRY_WEIGHTS, 0) for e in d.enterprises}

    def add(uscc, part, n=1):
        if uscc in parts:
            parts[uscc][part] += n

    for h in d.hazards:
        if h.get("level") == "重大" and is_open(h):
            add(h.get("uscc"), "major_open")
        if _overdue(h, as_of):
            add(h.get("uscc"), "overdue")
    for t in d.tenancies:
        if t["tenancy_id"] in gap_tenancies:
            add(t.get("lessor_uscc"), "gaps")
            add(t.get("lessee_uscc"), "gaps")
        if t["tenancy_id"] in violation_tenancies:
            add(t.get("lessee_uscc"), "violations")
    for c in d.contracts:
        if c["contract_id"] in gap_contracts:
            add(c.get("client_uscc"), "gaps")
            add(c.get("contractor_uscc"), "gaps")
    for op in d.operations:
        if op["operation_id"] in nested_ops:
            add(op.get("uscc"), "nested_ops")
    for b in d.buildings_list:
        if b["building_id"] in unsafe_buildings:
            add(b.get("owner_uscc"), "unsafe_buildings")
    for u in market:
        if u in parts:
            parts[u]["no_licence"] = 1
    for part, usccs in (v2 or {}).items():
        for u in usccs:
            add(u, part)
    for p in parts.values():
        p["score"] = sum(WORRY_WEIGHTS[k] * p[k] for k in WORRY_WEIGHTS)
    return parts


def ground_truth(records: dict[str, list[dict]], as_of: dt.date, *, seed: int | None = None,
                 enterprises: int | None = None, cap: float = DEFAULT_CAP) -> dict:
    """The ground_truth.json document."""
    return {"as_of": as_of.isoformat(), "seed": seed,
            "enterprises": len(records.get("Enterprise") or ()) if enterprises is None else enterprises,
            "queries": compute(records, as_of, cap)}
