"""Inspector briefings: who is responsible for what on one site, building or enterprise.

`gather(backend, target, as_of=…)` reads everything an inspector needs before a visit
into a `Briefing` (plain data, the same on both backends); `responsibility_graph()`
turns it into a networkx DiGraph of the responsibility chain; the checklist for the
visit follows items 四（三）出租主体 and 四（四）承租主体 of 阳政办发〔2024〕57号.

Every statement here is read-only, takes user values only as parameters and keeps to
the Cypher subset of cypher-dialects.md (one MATCH per anchor, scalars returned,
variable-length only along the acyclic PART_OF hierarchy, ordering done in Python).
Personal data (主要负责人, 联系电话, 整改责任人, 检查人员) is not even read unless asked
for: without it the briefing only knows whether each such field is filled.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

from graphmodel.backends.base import Backend
from graphmodel.errors import SitegraphError
from graphmodel.schema import (
    BUILDING, CONTRACT, DISPATCH, ENTERPRISE, FIRE_CLASSES, HAZARD, HIGH_RISK_WORK, INSPECTION,
    OPEN_HAZARD, OPERATION, RECTIFIED_HAZARD, SITE, TENANCY, NodeType, personal_keys,
)

# Long statements on a big graph (a whole park) may take a while; reads stay bounded.
READ_TIMEOUT_S = 120.0

OK, BAD, UNKNOWN, NA = "ok", "bad", "unknown", "na"
STATE_ZH = {OK: "符合", BAD: "不符合", UNKNOWN: "未排查", NA: "不适用"}


class TargetNotFound(SitegraphError):
    """Nothing in the graph matches the briefing target."""


class AmbiguousTarget(SitegraphError):
    """A name matches several records; the message lists them."""

    def __init__(self, query: str, candidates: list["TargetRef"]):
        self.query = query
        self.candidates = candidates
        lines = [f"  {c.kind_zh} {c.id}  {c.name}" for c in candidates[:30]]
        if len(candidates) > 30:
            lines.append(f"  …共 {len(candidates)} 个 / {len(candidates)} in all")
        super().__init__(
            f"“{query}”对应多个对象，请用编码或更完整的名称 / ambiguous name, use an id or a longer name:\n"
            + "\n".join(lines)
        )


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------

KIND_ZH = {"site": "园区厂区", "building": "建筑", "enterprise": "企业"}


@dataclass(frozen=True)
class TargetRef:
    kind: str  # site | building | enterprise
    id: str
    name: str

    @property
    def kind_zh(self) -> str:
        return KIND_ZH[self.kind]


@dataclass
class Duty:
    """One duty (or one prohibited condition) on a link, with who holds it."""

    key: str  # property key
    label: str  # Chinese header
    holder: str  # 出租方 / 承租方 / 双方 / 发包方 / 承包方 / 用工单位
    value: Any  # True / False / None as recorded (None = not surveyed)
    state: str  # ok / bad / unknown / na
    violation: bool = False  # a flag where 是 is the bad answer (三合一 …)
    note: str = ""


@dataclass
class Link:
    """A tenancy, an outsourcing contract or a dispatch arrangement between two parties."""

    kind: str  # tenancy | contract | dispatch
    id: str
    source: str  # USCC of lessor / client / host
    target: str  # USCC of lessee / contractor / agency
    building_id: str | None
    site_id: str | None = None
    depth: int | None = None  # lease depth on its building (tenancies)
    parent: str | None = None  # tenancy id one level up the lease chain
    children: list[str] = field(default_factory=list)
    props: dict = field(default_factory=dict)
    duties: list[Duty] = field(default_factory=list)
    state: str = OK  # worst duty state
    gaps: list[str] = field(default_factory=list)  # labels of duties not met or not surveyed
    two_way_gap: bool = False  # "两头不管" (responsibility-gaps)
    orphan: bool = False  # lessor neither owns the building nor leases it

    @property
    def bad(self) -> list[Duty]:
        return [d for d in self.duties if d.state == BAD]

    @property
    def unknown(self) -> list[Duty]:
        return [d for d in self.duties if d.state == UNKNOWN]


@dataclass
class Break:
    """A point where the responsibility chain breaks."""

    code: str  # orphan-lease | two-way-gap | no-coordination | sublease-unconsented | ...
    severity: str  # high | medium
    link_kind: str  # tenancy | contract | dispatch | operation | building
    link_id: str
    building_id: str | None
    text: str  # Chinese


@dataclass
class BuildingBrief:
    building_id: str
    name: str
    props: dict
    owner: str | None
    site_path: list[dict]  # [{site_id, name, kind}], the building's site first, root last
    tenancies: list[str]  # lease tree in pre-order (roots: depth 1, then orphans)
    contracts: list[str]
    dispatch: list[str]
    operations: list[str]
    hazards: list[str]
    max_depth: int = 0
    workers: int = 0  # Σ 入驻人数 of its tenancies
    leased_area: float = 0.0
    manager: str | None = None  # 统一管理单位 (survey version 2)
    users: int = 0  # distinct lessees (≥ 2: 多家使用, 消防〔2023〕72号 第七条)

    @property
    def needs_manager(self) -> bool:
        """Several users and no unified manager recorded (multi-tenant-no-manager)."""
        return self.users >= 2 and not self.manager


@dataclass
class CheckItem:
    code: str
    label: str  # short label (column head)
    text: str  # the notice's wording
    state: str
    evidence: list[str]
    evidence_states: list[str] = field(default_factory=list)  # the state of each evidence line

    @property
    def issues(self) -> list[str]:
        """The evidence lines that are not met or not surveyed (all of them if none is)."""
        out = [e for e, st in zip(self.evidence, self.evidence_states) if st != OK]
        return out or self.evidence


@dataclass
class CheckRow:
    """One subject of the checklist: a lessor on a building, or a lessee's tenancy."""

    role: str  # lessor | lessee
    uscc: str
    building_id: str
    tenancy_ids: list[str]
    items: list[CheckItem]


@dataclass
class Finding:
    query_id: str
    title: str
    severity: str
    subject: str  # the key value(s) joined
    detail: str
    row: dict


@dataclass
class HighRiskWork:
    """One piece of high-risk work on the target: a high-risk operation (a place), or one
    high-risk work type (动火作业, 有限空间作业 …) of an outsourcing contract."""

    source: str  # operation | contract
    id: str  # operation id or contract id
    category: str  # 喷涂, 粉尘涉爆 … (operations); 动火作业, 有限空间作业 … (contracts)
    uscc: str  # who does it: the operator, or the contractor
    building_id: str | None
    site_id: str | None = None
    client: str | None = None  # the client of a contract
    note: str = ""  # the operator's footing, or the contract's work


@dataclass
class Briefing:
    target: TargetRef
    as_of: dt.date
    include_personal: bool
    site_path: list[dict]  # for a site: the site then the parks above it; for a building: its path
    sites: dict[str, dict]
    buildings: list[BuildingBrief]
    enterprises: dict[str, dict]  # uscc -> properties (+ "roles")
    tenancies: dict[str, Link]
    contracts: dict[str, Link]
    dispatch: dict[str, Link]
    operations: dict[str, dict]
    hazards: list[dict]  # sorted: open major, open general, then rectified
    inspections: list[dict]  # newest first
    site_contracts: list[str]  # contracts working on a site without a building
    breaks: list[Break]
    checklist: list[CheckRow]
    findings: list[Finding] | None  # None: the query pack could not be run
    findings_note: str = ""
    # 责令停产整顿 inspections of the parties, each with the 准予复产 that lifted it (if any)
    stop_orders: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # backend, location, generated_at (not compared)

    # ---- helpers for the templates -------------------------------------------------
    def ent_name(self, uscc: str | None) -> str:
        if not uscc:
            return ""
        e = self.enterprises.get(uscc)
        return (e or {}).get("name") or uscc

    def building(self, building_id: str) -> BuildingBrief | None:
        return next((bb for bb in self.buildings if bb.building_id == building_id), None)

    @property
    def open_hazards(self) -> list[dict]:
        return [h for h in self.hazards if h["open"]]

    @property
    def closed_hazards(self) -> list[dict]:
        return [h for h in self.hazards if not h["open"]]

    @property
    def open_major(self) -> list[dict]:
        return [h for h in self.open_hazards if h["level"] == "重大"]

    @property
    def overdue_hazards(self) -> list[dict]:
        return [h for h in self.open_hazards if h["overdue"]]

    @property
    def high_risk_work(self) -> list[HighRiskWork]:
        """High-risk operations, then each high-risk work type of each contract, by building."""
        out = [HighRiskWork("operation", oid, o["category"], o["uscc"], o.get("building_id"), note=o["footing"])
               for oid, o in self.operations.items()]
        for cid, c in self.contracts.items():
            for w in c.props.get("high_risk_work") or []:
                if w in HIGH_RISK_WORK:
                    out.append(HighRiskWork("contract", cid, w, c.target, c.building_id, c.site_id, c.source,
                                            c.props.get("work") or ""))
        return sorted(out, key=lambda x: (x.building_id or "~", x.source != "operation", x.id, x.category))

    @property
    def summary(self) -> dict:
        """The KPI figures: each one is the length of the list it summarises (KPI_LISTS)."""
        out = {k: len(get(self)) for k, get in KPI_LISTS.items()}
        out["findings"] = None if self.findings is None else out["findings"]
        hrw = self.high_risk_work
        out.update({
            "max_depth": max((b.max_depth for b in self.buildings), default=0),
            "operations": len(self.operations),
            "contract_high_risk": sum(1 for x in hrw if x.source == "contract"),
            "workers": sum(b.workers for b in self.buildings),
            "leased_area": round(sum(b.leased_area for b in self.buildings), 2),
        })
        return out

    def as_dict(self, *, with_meta: bool = False) -> dict:
        """Plain data (json-able apart from dates); `meta` left out unless asked."""
        d = dataclasses.asdict(self)
        if not with_meta:
            d.pop("meta", None)
        return d


# KPI key -> the list the figure counts (the page shows each list under its KPI; the
# tests check figure == length). New facts of the briefing add their KPI here.
KPI_LISTS = {
    "buildings": lambda b: b.buildings,
    "enterprises": lambda b: list(b.enterprises),
    "tenancies": lambda b: list(b.tenancies),
    "contracts": lambda b: list(b.contracts),
    "high_risk": lambda b: b.high_risk_work,
    "dispatch": lambda b: list(b.dispatch),
    "breaks": lambda b: b.breaks,
    "open_major": lambda b: b.open_major,
    "open_hazards": lambda b: b.open_hazards,
    "overdue": lambda b: b.overdue_hazards,
    "findings": lambda b: b.findings or [],
}


# --------------------------------------------------------------------------------------
# Cypher
# --------------------------------------------------------------------------------------

def _ret(nt: NodeType, var: str, include_personal: bool) -> str:
    """RETURN list of every business property of a node type, derived from the schema.

    A personal column is returned only with include_personal; `<key>_set` always says
    whether it is filled.
    """
    parts = []
    for c in nt.columns:
        if c.personal:
            parts.append(f"({var}.`{c.key}` IS NOT NULL) AS `{c.key}_set`")
            if not include_personal:
                continue
        parts.append(f"{var}.`{c.key}` AS `{c.key}`")
    # uscc_valid, underground, aliases; a 自然人's name (person_name) only with include_personal
    parts += [f"{var}.`{d.key}` AS `{d.key}`" for d in nt.derived if include_personal or d.key not in personal_keys()]
    parts += [f"{var}.`{k}` AS `{k}`" for k in ("source", "src_file", "src_sheet", "src_row")]
    return ", ".join(parts)


def _read(backend: Backend, cypher: str, params: dict | None = None) -> list[dict]:
    return backend.read(cypher, params or {}, timeout=READ_TIMEOUT_S).rows


def _read_each(backend: Backend, cypher: str, name: str, values: Iterable[str], **params) -> list[dict]:
    """Run `cypher` with $<name> = the values (skipped when empty: rule 10)."""
    vals = sorted(set(v for v in values if v))
    if not vals:
        return []
    out: list[dict] = []
    for i in range(0, len(vals), 2000):
        out += _read(backend, cypher, {name: vals[i : i + 2000], **params})
    return out


def fold(text: str) -> str:
    """Full-width folded, white space removed (addresses, USCCs, names typed by people)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


# --------------------------------------------------------------------------------------
# Target resolution
# --------------------------------------------------------------------------------------

def resolve_target(backend: Backend, text: str) -> TargetRef:
    """A site id, a building id, a USCC, or a unique part of a name (enterprise, site, building)."""
    q = (text or "").strip()
    if not q:
        raise TargetNotFound("请给出园区编码、建筑编码、统一社会信用代码或企业名称 / give a site, building, USCC or name")
    for nt, kind in ((SITE, "site"), (BUILDING, "building")):
        rows = _read(backend, f"MATCH (n:{nt.label} {{`{nt.key}`: $id}}) RETURN n.`{nt.key}` AS id, n.name AS name",
                     {"id": q})
        if rows:
            return TargetRef(kind, rows[0]["id"], rows[0]["name"] or "")
    uscc = fold(q).upper()
    rows = _read(backend, "MATCH (e:Enterprise {uscc: $id}) RETURN e.uscc AS id, e.name AS name", {"id": uscc})
    if rows:
        return TargetRef("enterprise", rows[0]["id"], rows[0]["name"] or "")
    # Names: an exact name wins; otherwise a unique part of one.
    cands: list[TargetRef] = []
    for nt, kind in ((ENTERPRISE, "enterprise"), (SITE, "site"), (BUILDING, "building")):
        rows = _read(
            backend,
            f"MATCH (n:{nt.label}) WHERE toLower(n.name) CONTAINS toLower($q) "
            f"RETURN n.`{nt.key}` AS id, n.name AS name",
            {"q": q},
        )
        cands += [TargetRef(kind, r["id"], r["name"] or "") for r in rows]
    cands.sort(key=lambda c: (list(KIND_ZH).index(c.kind) if c.kind != "enterprise" else -1, c.name, c.id))
    exact = [c for c in cands if c.name == q]
    if len(exact) == 1:
        return exact[0]
    if len(cands) == 1:
        return cands[0]
    if not cands:
        raise TargetNotFound(
            f"未找到“{q}”：不是园区编码、建筑编码、统一社会信用代码，也不是企业、园区或建筑名称的一部分 / "
            f"nothing matches {q!r} (site id, building id, USCC or part of a name)"
        )
    raise AmbiguousTarget(q, exact or cands)


# --------------------------------------------------------------------------------------
# Which buildings a target concerns
# --------------------------------------------------------------------------------------

Q_SITE_DESCENDANTS = (
    "MATCH (c:Site)-[:PART_OF*1..30]->(r:Site {site_id: $id}) RETURN DISTINCT c.site_id AS site_id"
)
Q_SITE_BUILDINGS = (
    "UNWIND $sites AS sid MATCH (b:Building)-[:IN_SITE]->(s:Site {site_id: sid}) "
    "RETURN DISTINCT b.building_id AS building_id"
)
# An enterprise's buildings, one statement per way of being there.
Q_ENTERPRISE_BUILDINGS = {
    "owner": "MATCH (e:Enterprise {uscc: $u}) MATCH (e)-[:OWNS]->(b:Building) RETURN DISTINCT b.building_id AS building_id",
    "lessee": "MATCH (e:Enterprise {uscc: $u}) MATCH (e)-[:LESSEE_OF]->(:Tenancy)-[:COVERS]->(b:Building) "
              "RETURN DISTINCT b.building_id AS building_id",
    "lessor": "MATCH (e:Enterprise {uscc: $u}) MATCH (e)-[:LESSOR_OF]->(:Tenancy)-[:COVERS]->(b:Building) "
              "RETURN DISTINCT b.building_id AS building_id",
    "operator": "MATCH (e:Enterprise {uscc: $u}) MATCH (e)-[:RUNS]->(:Operation)-[:LOCATED_IN]->(b:Building) "
                "RETURN DISTINCT b.building_id AS building_id",
    "contractor": "MATCH (e:Enterprise {uscc: $u}) MATCH (e)-[:CONTRACTOR_OF]->(:Contract)-[:WORKS_IN]->(b:Building) "
                  "RETURN DISTINCT b.building_id AS building_id",
    "client": "MATCH (e:Enterprise {uscc: $u}) MATCH (e)-[:CLIENT_OF]->(:Contract)-[:WORKS_IN]->(b:Building) "
              "RETURN DISTINCT b.building_id AS building_id",
    "agency": "MATCH (e:Enterprise {uscc: $u}) MATCH (e)-[:AGENCY_OF]->(:Dispatch)-[:UNDER_CONTRACT]->(:Contract)"
              "-[:WORKS_IN]->(b:Building) RETURN DISTINCT b.building_id AS building_id",
}
Q_ENTERPRISE_SITE_CONTRACTS = (
    "MATCH (e:Enterprise {uscc: $u}) MATCH (e)-[:CLIENT_OF|CONTRACTOR_OF]->(c:Contract)-[:WORKS_ON]->(s:Site) "
    "RETURN DISTINCT c.contract_id AS contract_id"
)


def target_buildings(backend: Backend, target: TargetRef) -> list[str]:
    if target.kind == "building":
        return [target.id]
    if target.kind == "site":
        sites = [target.id] + [r["site_id"] for r in _read(backend, Q_SITE_DESCENDANTS, {"id": target.id})]
        return sorted({r["building_id"] for r in _read_each(backend, Q_SITE_BUILDINGS, "sites", sites)})
    out: set[str] = set()
    for q in Q_ENTERPRISE_BUILDINGS.values():
        out.update(r["building_id"] for r in _read(backend, q, {"u": target.id}))
    return sorted(out)


# --------------------------------------------------------------------------------------
# Gathering
# --------------------------------------------------------------------------------------

def _q_by(nt: NodeType, var: str, pattern: str, personal: bool, extra: str = "") -> str:
    return f"{pattern} RETURN {extra}{_ret(nt, var, personal)}"


def _site_paths(backend: Backend, site_ids: Iterable[str]) -> dict[str, list[str]]:
    """site id -> [site, parent, …, root] (along PART_OF, an acyclic hierarchy)."""
    rows = _read_each(
        backend,
        "UNWIND $sites AS sid MATCH (s:Site {site_id: sid}) "
        "OPTIONAL MATCH p = (s)-[:PART_OF*1..30]->(a:Site) "
        "RETURN s.site_id AS site_id, a.site_id AS ancestor, length(p) AS hops",
        "sites", site_ids,
    )
    paths: dict[str, list[tuple[int, str]]] = {}
    for r in rows:
        paths.setdefault(r["site_id"], [(0, r["site_id"])])
        if r["ancestor"] is not None:
            paths[r["site_id"]].append((int(r["hops"]), r["ancestor"]))
    return {k: [sid for _, sid in sorted(set(v))] for k, v in paths.items()}


def gather(
    backend: Backend,
    target: str | TargetRef,
    *,
    as_of: dt.date | None = None,
    include_personal: bool = False,
    findings: bool = True,
    runs=None,
) -> Briefing:
    """Read the briefing of a target (a site/building id, a USCC or part of a name)."""
    as_of = as_of or dt.date.today()
    ref = target if isinstance(target, TargetRef) else resolve_target(backend, target)
    p = include_personal
    bids = target_buildings(backend, ref)

    # --- buildings and their sites ---------------------------------------------------
    b_rows = _read_each(backend, _q_by(BUILDING, "b", "UNWIND $ids AS bid MATCH (b:Building {building_id: bid}) "
                                       "OPTIONAL MATCH (o:Enterprise)-[:OWNS]->(b)", p, "o.uscc AS owner, "), "ids", bids)
    buildings = {r["building_id"]: r for r in b_rows}

    # --- links and places on those buildings -----------------------------------------
    t_rows = _read_each(backend, _q_by(TENANCY, "t", "UNWIND $ids AS bid MATCH (t:Tenancy)-[:COVERS]->(b:Building {building_id: bid})", p), "ids", bids)
    c_rows = _read_each(backend, _q_by(CONTRACT, "c", "UNWIND $ids AS bid MATCH (c:Contract)-[:WORKS_IN]->(b:Building {building_id: bid})", p), "ids", bids)
    o_rows = _read_each(backend, _q_by(OPERATION, "o", "UNWIND $ids AS bid MATCH (o:Operation)-[:LOCATED_IN]->(b:Building {building_id: bid})", p), "ids", bids)
    h_rows = _read_each(backend, _q_by(HAZARD, "h", "UNWIND $ids AS bid MATCH (h:Hazard)-[:HAZARD_IN]->(b:Building {building_id: bid})", p), "ids", bids)

    # Sites: those of the buildings, the target site and everything above them.
    site_ids = {r["site_id"] for r in b_rows if r.get("site_id")}
    if ref.kind == "site":
        site_ids.add(ref.id)
    # Contracts working on a site without a building: for a site target, its sites;
    # for an enterprise, the ones it is a party to.
    site_contract_ids: set[str] = set()
    if ref.kind == "site":
        sub = [ref.id] + [r["site_id"] for r in _read(backend, Q_SITE_DESCENDANTS, {"id": ref.id})]
        site_ids.update(sub)
        rows = _read_each(backend, _q_by(CONTRACT, "c", "UNWIND $sites AS sid MATCH (c:Contract)-[:WORKS_ON]->(s:Site {site_id: sid})", p), "sites", sub)
        c_rows += [r for r in rows if not r.get("building_id")]
    elif ref.kind == "enterprise":
        ids = [r["contract_id"] for r in _read(backend, Q_ENTERPRISE_SITE_CONTRACTS, {"u": ref.id})]
        rows = _read_each(backend, _q_by(CONTRACT, "c", "UNWIND $ids AS cid MATCH (c:Contract {contract_id: cid})", p), "ids", ids)
        c_rows += [r for r in rows if not r.get("building_id")]
        site_ids.update(r["site_id"] for r in rows if r.get("site_id") and not r.get("building_id"))
    contracts_raw = {r["contract_id"]: r for r in c_rows}
    site_contract_ids = {k for k, r in contracts_raw.items() if not r.get("building_id")}

    paths = _site_paths(backend, site_ids)
    all_sites = {s for path in paths.values() for s in path}
    s_rows = _read_each(backend, _q_by(SITE, "s", "UNWIND $ids AS sid MATCH (s:Site {site_id: sid})", p), "ids", all_sites)
    sites = {r["site_id"]: r for r in s_rows}

    # --- dispatch: under the contracts there, or hosted by the enterprises there -------
    present = set()
    for r in b_rows:
        present.add(r.get("owner"))
    for r in t_rows:
        present.update((r["lessor_uscc"], r["lessee_uscc"]))
    for r in o_rows:
        present.add(r["uscc"])
    if ref.kind == "enterprise":
        present.add(ref.id)
    present.discard(None)
    d_rows = _read_each(backend, _q_by(DISPATCH, "d", "UNWIND $ids AS cid MATCH (d:Dispatch)-[:UNDER_CONTRACT]->(c:Contract {contract_id: cid})", p), "ids", contracts_raw)
    d_rows += _read_each(backend, _q_by(DISPATCH, "d", "UNWIND $us AS u MATCH (e:Enterprise {uscc: u})-[:HOST_OF]->(d:Dispatch)", p), "us", present)
    if ref.kind == "enterprise":
        d_rows += _read_each(backend, _q_by(DISPATCH, "d", "UNWIND $us AS u MATCH (e:Enterprise {uscc: u})-[:AGENCY_OF]->(d:Dispatch)", p), "us", [ref.id])
    dispatch_raw = {r["dispatch_id"]: r for r in d_rows}

    parties = set(present)
    for r in contracts_raw.values():
        parties.update((r["client_uscc"], r["contractor_uscc"]))
    for r in dispatch_raw.values():
        parties.update((r["agency_uscc"], r["host_uscc"]))
    for s in sites.values():
        parties.add(s.get("operator_uscc"))
    parties.discard(None)

    # Hazards: in the buildings, plus those of the parties (the enterprise itself for an
    # enterprise target) that name no building.
    h_rows += _read_each(backend, _q_by(HAZARD, "h", "UNWIND $us AS u MATCH (e:Enterprise {uscc: u})-[:HAS_HAZARD]->(h:Hazard) "
                                        "WHERE NOT EXISTS { MATCH (h)-[:HAZARD_IN]->(:Building) }", p), "us", parties)
    if ref.kind == "enterprise":
        h_rows += _read_each(backend, _q_by(HAZARD, "h", "UNWIND $us AS u MATCH (e:Enterprise {uscc: u})-[:HAS_HAZARD]->(h:Hazard)", p), "us", [ref.id])
    hazards_raw = {r["hazard_id"]: r for r in h_rows}
    parties.update(r["uscc"] for r in hazards_raw.values())

    e_rows = _read_each(backend, _q_by(ENTERPRISE, "e", "UNWIND $us AS u MATCH (e:Enterprise {uscc: u})", p), "us", parties)
    enterprises = {r["uscc"]: {**r, "roles": []} for r in e_rows}

    # Inspections of the enterprises working on the buildings (not of every party).
    inspected = set(present) | {r["contractor_uscc"] for r in contracts_raw.values()}
    i_rows = _read_each(backend, _q_by(INSPECTION, "i", "UNWIND $us AS u MATCH (i:Inspection)-[:INSPECTED]->(e:Enterprise {uscc: u})",
                                       p, "size(i.inspectors) AS inspector_count, "), "us", inspected)
    inspections = sorted({r["inspection_id"]: r for r in i_rows}.values(),
                         key=lambda r: (-(r["date"].toordinal() if r.get("date") else 0), r["inspection_id"]))

    brief = _assemble(ref, as_of, p, buildings, sites, paths, enterprises, t_rows, contracts_raw,
                      site_contract_ids, dispatch_raw, o_rows, hazards_raw, inspections)
    brief.meta = {"backend": backend.kind, "location": backend.location,
                  "generated_at": dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")}
    if findings:
        attach_findings(backend, brief, runs)
    return brief


# --------------------------------------------------------------------------------------
# Duties, gaps, lease trees
# --------------------------------------------------------------------------------------

def _hdr(nt: NodeType, key: str) -> str:
    return nt.column(key).header


def _duty(nt: NodeType, props: dict, key: str, holder: str, *, violation: bool = False,
          applies: bool = True, note: str = "") -> Duty:
    v = props.get(key)
    if not applies:
        state = NA
    elif v is None:
        state = UNKNOWN
    elif violation:
        state = BAD if v else OK
    else:
        state = OK if v else BAD
    return Duty(key, _hdr(nt, key), holder, v, state, violation, note)


def _worst(states: Iterable[str]) -> str:
    states = [s for s in states if s != NA]
    if BAD in states:
        return BAD
    if UNKNOWN in states:
        return UNKNOWN
    return OK if states else NA


def fire_rank(c: str | None) -> int | None:
    return FIRE_CLASSES.index(c) if c in FIRE_CLASSES else None


def _done(v) -> bool:
    return v is True


def _tenancy_link(r: dict, building: dict | None, head_lessor: bool) -> Link:
    b = building or {}
    upgraded = (fire_rank(r.get("goods_fire_class")) is not None and fire_rank(b.get("fire_class")) is not None
                and fire_rank(r["goods_fire_class"]) < fire_rank(b["fire_class"]))
    duties = [
        _duty(TENANCY, r, "safety_agreement", "双方"),
        _duty(TENANCY, r, "duties_defined", "双方"),
        _duty(TENANCY, r, "lessee_reviewed", "出租方"),
        _duty(TENANCY, r, "use_reviewed", "出租方"),
        _duty(TENANCY, r, "coordinated", "出租方"),
        _duty(TENANCY, r, "periodic_inspection", "出租方"),
        _duty(TENANCY, r, "sublease_consent", "出租方", applies=not head_lessor, note="转租须经上一手出租方书面同意"),
        _duty(TENANCY, r, "fire_reacceptance", "承租方", applies=upgraded,
              note=f"火灾危险性 {b.get('fire_class')}→{r.get('goods_fire_class')}" if upgraded else ""),
        _duty(TENANCY, r, "three_in_one", "承租方", violation=True),
        _duty(TENANCY, r, "dorm_inside", "承租方", violation=True),
        _duty(TENANCY, r, "illegal_power_gas", "承租方", violation=True),
        _duty(TENANCY, r, "illegal_hazchem", "承租方", violation=True),
    ]
    link = Link("tenancy", r["tenancy_id"], r["lessor_uscc"], r["lessee_uscc"], r["building_id"], props=r,
                duties=duties)
    link.two_way_gap = (not (_done(r.get("safety_agreement")) and _done(r.get("duties_defined")))
                        and not _done(r.get("coordinated")) and not _done(r.get("periodic_inspection")))
    return _finish(link)


def _contract_link(r: dict) -> Link:
    duties = [
        _duty(CONTRACT, r, "contractor_qualified", "承包方"),
        _duty(CONTRACT, r, "safety_agreement", "双方"),
        _duty(CONTRACT, r, "duties_defined", "双方"),
        _duty(CONTRACT, r, "client_coordinates", "发包方"),
        _duty(CONTRACT, r, "contractor_site_manager", "承包方"),
        _duty(CONTRACT, r, "subcontracted", "承包方", violation=True, note="再分包"),
    ]
    link = Link("contract", r["contract_id"], r["client_uscc"], r["contractor_uscc"], r.get("building_id"),
                site_id=r.get("site_id"), props=r, duties=duties)
    link.two_way_gap = (not (_done(r.get("safety_agreement")) and _done(r.get("duties_defined")))
                        and not _done(r.get("client_coordinates")) and not _done(r.get("contractor_site_manager")))
    return _finish(link)


def _dispatch_link(r: dict, building_id: str | None) -> Link:
    nature = r.get("position_nature")
    months = r.get("months")
    if nature == "其他":
        state, note = BAD, "主营业务岗位（非临时性、辅助性、替代性）"
    elif nature == "临时性" and months is not None and months > 6:
        state, note = BAD, f"临时性岗位用工 {months} 个月（超过6个月）"
    elif nature == "临时性" and months is None:
        state, note = UNKNOWN, "临时性岗位，用工期限未填"
    else:
        state, note = OK, ""
    duty = Duty("position_nature", _hdr(DISPATCH, "position_nature"), "用工单位", nature, state, note=note)
    link = Link("dispatch", r["dispatch_id"], r["host_uscc"], r["agency_uscc"], building_id, props=r, duties=[duty])
    return _finish(link)


def _finish(link: Link) -> Link:
    link.state = _worst(d.state for d in link.duties)
    if link.two_way_gap:
        link.state = BAD
    link.gaps = [d.label for d in link.duties if d.state in (BAD, UNKNOWN)]
    return link


def lease_tree(owner: str | None, tenancies: list[dict]) -> dict[str, tuple[int | None, str | None]]:
    """tenancy id -> (lease depth, parent tenancy id) on one building.

    Depth 1: the lessor is the owner; depth d+1: the lessor is the lessee of a depth-d
    tenancy (the shallowest, then the lowest id, is taken as parent). A tenancy whose
    lessor neither owns nor leases the building has no depth: the chain is broken.
    """
    out: dict[str, tuple[int | None, str | None]] = {}
    frontier = sorted((t for t in tenancies if owner and t["lessor_uscc"] == owner), key=lambda t: t["tenancy_id"])
    for t in frontier:
        out[t["tenancy_id"]] = (1, None)
    depth = 1
    while frontier:
        nxt = []
        by_lessee: dict[str, str] = {}
        for t in frontier:
            by_lessee.setdefault(t["lessee_uscc"], t["tenancy_id"])
        for t in sorted(tenancies, key=lambda t: t["tenancy_id"]):
            if t["tenancy_id"] in out:
                continue
            parent = by_lessee.get(t["lessor_uscc"])
            if parent is not None:
                out[t["tenancy_id"]] = (depth + 1, parent)
                nxt.append(t)
        frontier, depth = nxt, depth + 1
    for t in tenancies:
        out.setdefault(t["tenancy_id"], (None, None))
    return out


def _preorder(links: dict[str, Link], roots: list[str]) -> list[str]:
    out: list[str] = []
    stack = list(reversed(roots))
    while stack:
        tid = stack.pop()
        if tid in out:
            continue
        out.append(tid)
        stack.extend(reversed(links[tid].children))
    return out


def _assemble(ref, as_of, personal, buildings, sites, paths, enterprises, t_rows, contracts_raw,
              site_contract_ids, dispatch_raw, o_rows, hazards_raw, inspections) -> Briefing:
    def nm(uscc):
        return (enterprises.get(uscc) or {}).get("name") or uscc or "（未知）"

    def role(uscc, text):
        if uscc in enterprises and text not in enterprises[uscc]["roles"]:
            enterprises[uscc]["roles"].append(text)

    def site_path(site_id):
        return [{"site_id": s, "name": sites.get(s, {}).get("name"), "kind": sites.get(s, {}).get("kind"),
                 "operator_uscc": sites.get(s, {}).get("operator_uscc")} for s in paths.get(site_id, [])]

    tenancies: dict[str, Link] = {}
    contracts: dict[str, Link] = {}
    dispatch: dict[str, Link] = {}
    operations: dict[str, dict] = {}
    breaks: list[Break] = []
    bbriefs: list[BuildingBrief] = []

    by_building: dict[str, list[dict]] = {}
    for r in t_rows:
        by_building.setdefault(r["building_id"], []).append(r)
    for r in contracts_raw.values():
        contracts[r["contract_id"]] = _contract_link(r)

    for bid in sorted(buildings):
        b = buildings[bid]
        owner = b.get("owner") or b.get("owner_uscc")
        rows = sorted(by_building.get(bid, []), key=lambda r: r["tenancy_id"])
        tree = lease_tree(owner, rows)
        for r in rows:
            depth, parent = tree[r["tenancy_id"]]
            link = _tenancy_link(r, b, head_lessor=(r["lessor_uscc"] == owner))
            link.depth, link.parent = depth, parent
            link.orphan = depth is None
            tenancies[link.id] = link
        for r in rows:
            link = tenancies[r["tenancy_id"]]
            if link.parent:
                tenancies[link.parent].children.append(link.id)
        roots = [r["tenancy_id"] for r in rows if tenancies[r["tenancy_id"]].depth == 1]
        roots += [r["tenancy_id"] for r in rows if tenancies[r["tenancy_id"]].orphan]
        order = _preorder(tenancies, roots)
        ops = sorted((o for o in o_rows if o["building_id"] == bid), key=lambda o: o["operation_id"])
        b_contracts = sorted(k for k, c in contracts.items() if c.building_id == bid)
        b_hazards = sorted(k for k, h in hazards_raw.items() if h.get("building_id") == bid)
        occupants = {owner} | {r["lessee_uscc"] for r in rows} | {o["uscc"] for o in ops}
        b_dispatch = sorted(k for k, d in dispatch_raw.items()
                            if (d.get("contract_id") in b_contracts)
                            or (not d.get("contract_id") and d["host_uscc"] in occupants))
        depths = [tenancies[t].depth for t in order if tenancies[t].depth]
        bbriefs.append(BuildingBrief(
            building_id=bid, name=b.get("name") or bid, props=b, owner=owner, site_path=site_path(b.get("site_id")),
            tenancies=order, contracts=b_contracts, dispatch=b_dispatch, operations=[o["operation_id"] for o in ops],
            hazards=b_hazards, max_depth=max(depths, default=0),
            workers=sum(int(tenancies[t].props.get("workers") or 0) for t in order),
            leased_area=round(sum(float(tenancies[t].props.get("area") or 0) for t in order), 2),
            manager=b.get("manager_uscc"), users=len({r["lessee_uscc"] for r in rows}),
        ))
        role(owner, f"产权单位 {bid}")
        if b.get("manager_uscc"):
            role(b["manager_uscc"], f"统一管理单位 {bid}")

        # Operations: who runs them, and on what footing.
        for o in ops:
            depth_here = min((tenancies[t].depth for t in order
                              if tenancies[t].props["lessee_uscc"] == o["uscc"] and tenancies[t].depth), default=None)
            if o["uscc"] == owner:
                footing = "产权单位自营"
            elif depth_here is not None:
                footing = f"承租（租赁深度 {depth_here}）"
            elif any(contracts[c].target == o["uscc"] for c in b_contracts):
                footing = "外包承包方"
            elif any(tenancies[t].target == o["uscc"] for t in order):
                footing = "承租（租赁链断开）"
            else:
                footing = "无租赁或外包关系"
            operations[o["operation_id"]] = {**o, "lease_depth": depth_here, "footing": footing,
                                             "nested": bool(b.get("site_id")) and o["uscc"] != owner}
            role(o["uscc"], f"高风险作业 {o['operation_id']}")
            if footing == "无租赁或外包关系":
                breaks.append(Break("operator-unlinked", "high", "operation", o["operation_id"], bid,
                                    f"{bid} 内的{o['category']}作业 {o['operation_id']} 由 {nm(o['uscc'])} 运营，"
                                    "该企业在此建筑既无产权、租赁也无外包合同：安全管理责任无人承接"))

    for bb in bbriefs:
        for tid in bb.tenancies:
            t = tenancies[tid]
            depth_txt = f"（深度 {t.depth}）" if t.depth else ""
            role(t.source, f"出租方 {tid}")
            role(t.target, f"承租方 {tid}{depth_txt}")

    for cid in sorted(contracts):
        c = contracts[cid]
        role(c.source, f"发包方 {cid}")
        role(c.target, f"承包方 {cid}")
    bld_of_contract = {cid: c.building_id for cid, c in contracts.items()}
    for did in sorted(dispatch_raw):
        r = dispatch_raw[did]
        bld = bld_of_contract.get(r.get("contract_id"))
        dispatch[did] = _dispatch_link(r, bld)
        role(r["host_uscc"], f"用工单位 {did}")
        role(r["agency_uscc"], f"派遣单位 {did}")
    for s in sites.values():
        if s.get("operator_uscc"):
            role(s["operator_uscc"], f"园区运营管理 {s['site_id']}")

    # --- where the chain breaks ------------------------------------------------------
    for bb in bbriefs:
        for tid in bb.tenancies:
            t = tenancies[tid]
            lessor, lessee = t.source, t.target
            if t.orphan:
                breaks.append(Break("orphan-lease", "high", "tenancy", tid, bb.building_id,
                                    f"{tid}：出租方 {nm(lessor)} 既不是 {bb.building_id} 的产权单位，也未在该建筑承租——租赁链断开"))
            if t.two_way_gap:
                breaks.append(Break("two-way-gap", "high", "tenancy", tid, bb.building_id,
                                    f"{tid}：未签协议或未明确职责，且出租方既不统一协调管理也不定期检查——“两头不管”"))
            elif any(d.key in ("coordinated", "periodic_inspection") and d.state == BAD for d in t.duties):
                missing = "、".join(d.label for d in t.duties
                                   if d.key in ("coordinated", "periodic_inspection") and d.state == BAD)
                breaks.append(Break("no-coordination", "medium", "tenancy", tid, bb.building_id,
                                    f"{tid}：出租方 {nm(lessor)} 对承租方 {nm(lessee)} 未落实{missing}"))
            if t.depth and t.depth > 1 and not _done(t.props.get("sublease_consent")):
                breaks.append(Break("sublease-unconsented", "medium", "tenancy", tid, bb.building_id,
                                    f"{tid}：转租（深度 {t.depth}）未取得上一手出租方书面同意"
                                    + ("（未填）" if t.props.get("sublease_consent") is None else "")))
    for bb in bbriefs:
        if bb.needs_manager:
            breaks.append(Break("no-manager", "medium", "building", bb.building_id, bb.building_id,
                                f"{bb.building_id}：{bb.users} 家单位使用，未明确统一管理单位（物业服务企业或一家使用单位），"
                                "共用疏散通道、消防设施无人统一管理（消防〔2023〕72号 第七条）"))
        for tid in bb.tenancies:
            t = tenancies[tid]
            if t.props.get("underground") is True and t.props.get("goods_fire_class") in FLAMMABLE_GOODS:
                breaks.append(Break("hazardous-goods-underground", "high", "tenancy", tid, bb.building_id,
                                    f"{tid}：{nm(t.target)} 在地下楼层“{t.props.get('floor')}”生产储存"
                                    f"{t.props['goods_fire_class']}类物品（GB 50016 第3.3.4条）"))
    for cid, conflicts in hot_work_conflicts(contracts, o_rows, t_rows).items():
        c = contracts[cid]
        what = "、".join(f"{x['id']}（{x['what']}，{nm(x['uscc'])}）" for x in conflicts)
        breaks.append(Break("hot-work-near-flammables", "high", "contract", cid, c.building_id,
                            f"{cid}：承包方 {nm(c.target)} 在 {c.building_id} 动火作业，同楼有{what}——"
                            f"发包方 {nm(c.source)} 须统一协调、隔离并落实动火审批"))
    for cid in sorted(contracts):
        c = contracts[cid]
        where = c.building_id or c.site_id
        if c.two_way_gap:
            breaks.append(Break("two-way-gap", "high", "contract", cid, c.building_id,
                                f"{cid}（{c.props.get('kind')}，{where}）：安全协议或职责缺失，发包方不统一协调，"
                                "承包方无现场负责人——“两头不管”"))
        elif c.props.get("client_coordinates") is False:
            breaks.append(Break("no-coordination", "medium", "contract", cid, c.building_id,
                                f"{cid}：发包方 {nm(c.source)} 未对承包方 {nm(c.target)} 统一协调管理（以包代管）"))
        if c.props.get("contractor_qualified") is False:
            breaks.append(Break("unqualified-contractor", "high", "contract", cid, c.building_id,
                                f"{cid}：承包方 {nm(c.target)} 不具备相应资质"))
        if c.props.get("subcontracted") is True:
            breaks.append(Break("subcontracted", "medium", "contract", cid, c.building_id,
                                f"{cid}：承包方再分包，责任链延长"))
    for did in sorted(dispatch):
        d = dispatch[did]
        if d.state == BAD:
            breaks.append(Break("dispatch-core-post", "medium", "dispatch", did, d.building_id,
                                f"{did}：{nm(d.target)} 派往 {nm(d.source)} 的 {d.props.get('workers')} 人，"
                                f"{d.duties[0].note}"))
    sev = {"high": 0, "medium": 1}
    breaks.sort(key=lambda x: (sev[x.severity], x.building_id or "", x.link_kind, x.link_id, x.code))

    # --- hazards -------------------------------------------------------------------------
    hazards = []
    for h in hazards_raw.values():
        is_open = h.get("status") in OPEN_HAZARD
        overdue = bool(is_open and h.get("deadline") and h["deadline"] < as_of)
        five = {
            "责任": h.get("responsible_person_set", h.get("responsible_person") is not None),
            "措施": bool(h.get("measures")),
            "资金": h.get("funds") is not None,
            "时限": h.get("deadline") is not None,
            "预案": h.get("contingency_plan"),
        }
        accepted = h.get("acceptance") == "通过" and h.get("accepted_on") is not None
        sup_overdue = bool(h.get("supervised") is True and h.get("supervision_deadline")
                           and h["supervision_deadline"] < as_of and h.get("delisted_on") is None)
        hazards.append({**h, "open": is_open, "overdue": overdue, "five": five,
                        "five_missing": [k for k, v in five.items() if v is not True],
                        "accepted": accepted, "acceptance_text": _acceptance_text(h),
                        "closed_unaccepted": h.get("level") == "重大" and h.get("status") == "已销号" and not accepted,
                        "supervision_overdue": sup_overdue, "supervision_text": _supervision_text(h, sup_overdue)})
        role(h["uscc"], f"隐患责任 {h['hazard_id']}")
    hazards.sort(key=lambda h: (not h["open"], h["level"] != "重大", not h["overdue"],
                                h.get("deadline") or dt.date.max, h["hazard_id"]))

    for e in enterprises.values():
        e["roles"].sort(key=_role_key)

    site_path_target: list[dict] = []
    if ref.kind == "site":
        site_path_target = site_path(ref.id)
    elif ref.kind == "building" and bbriefs:
        site_path_target = bbriefs[0].site_path

    stops = stop_orders(inspections, enterprises)
    for so in stops:
        if so["defied"]:
            breaks.append(Break("stop-order-defied", "high", "inspection", so["inspection_id"], None,
                                f"{nm(so['uscc'])} 于 {so['date'].isoformat()} 被责令停产整顿"
                                f"（{so['inspection_id']}{'，' + so['document_no'] if so.get('document_no') else ''}），"
                                "此后未准予复产，经营状态仍记为“在产”"))
    breaks.sort(key=lambda x: (sev[x.severity], x.building_id or "", x.link_kind, x.link_id, x.code))

    brief = Briefing(
        target=ref, as_of=as_of, include_personal=personal, site_path=site_path_target, sites=sites,
        buildings=bbriefs, enterprises=dict(sorted(enterprises.items())), tenancies=tenancies,
        contracts=dict(sorted(contracts.items())), dispatch=dispatch,
        operations=dict(sorted(operations.items())), hazards=hazards, inspections=inspections,
        site_contracts=sorted(site_contract_ids), breaks=breaks, checklist=[], findings=None,
        stop_orders=stops,
    )
    brief.checklist = checklist(brief)
    return brief


_ROLE_ORDER = ("园区运营管理", "产权单位", "统一管理单位", "出租方", "承租方", "发包方", "承包方", "用工单位", "派遣单位", "高风险作业", "隐患责任")


def _role_key(text: str):
    for i, r in enumerate(_ROLE_ORDER):
        if text.startswith(r):
            return (i, text)
    return (len(_ROLE_ORDER), text)


# --------------------------------------------------------------------------------------
# Version-2 facts: acceptance, 挂牌督办, stop orders, hot work next to flammables
# --------------------------------------------------------------------------------------

# As the pack's hot-work-near-flammables and hazardous-goods-underground define them.
FLAMMABLE_OPERATIONS = ("喷涂", "粉尘涉爆", "危险化学品", "锂电池储存")
FLAMMABLE_GOODS = ("甲", "乙")


def _acceptance_text(h: dict) -> str:
    if h.get("acceptance"):
        on = h["accepted_on"].isoformat() if h.get("accepted_on") else "日期未填"
        by = f"，{h['accepted_by']}" if h.get("accepted_by") else ""
        return f"验收{h['acceptance']}（{on}{by}）"
    if h.get("status") in RECTIFIED_HAZARD:
        return "未验收" if h.get("status") == "已销号" else "待验收"
    return ""


def _supervision_text(h: dict, overdue: bool) -> str:
    if h.get("supervised") is not True:
        return "否" if h.get("supervised") is False else ""
    parts = [f"{h.get('supervision_level') or '级别未填'}挂牌"]
    if h.get("supervised_on"):
        parts.append(f"{h['supervised_on'].isoformat()} 挂牌")
    if h.get("supervision_deadline"):
        parts.append(f"督办期限 {h['supervision_deadline'].isoformat()}" + ("（已逾期）" if overdue else ""))
    if h.get("delisted_on"):
        parts.append(f"{h['delisted_on'].isoformat()} 摘牌")
    return "，".join(parts)


def stop_orders(inspections: list[dict], enterprises: dict[str, dict]) -> list[dict]:
    """Every 责令停产整顿 inspection, newest first, with the first later 准予复产 of the same
    party that lifted it; `defied` as stop-order-defied: the party's latest stop order, not
    lifted, and 经营状态 recorded 在产."""
    by_party: dict[str, list[dict]] = {}
    for i in inspections:
        by_party.setdefault(i["uscc"], []).append(i)
    out = []
    for uscc, ins in by_party.items():
        stops = sorted((i for i in ins if "责令停产整顿" in (i.get("actions") or ())),
                       key=lambda i: (i["date"], i["inspection_id"]))
        resumes = sorted((i for i in ins if "准予复产" in (i.get("actions") or ())),
                         key=lambda i: (i["date"], i["inspection_id"]))
        for n, s in enumerate(stops):
            lift = next((r for r in resumes if r["date"] > s["date"]), None)
            latest = n == len(stops) - 1
            out.append({"uscc": uscc, "inspection_id": s["inspection_id"], "date": s["date"],
                        "agency": s.get("agency"), "document_no": s.get("document_no"),
                        "lifted_on": lift["date"] if lift else None, "lifted_by": lift["inspection_id"] if lift else None,
                        "lift_document_no": lift.get("document_no") if lift else None,
                        "defied": latest and lift is None and (enterprises.get(uscc) or {}).get("status") == "在产"})
    out.sort(key=lambda x: (-x["date"].toordinal(), x["inspection_id"]))
    return out


def hot_work_conflicts(contracts: dict[str, Link], o_rows: list[dict], t_rows: list[dict]) -> dict[str, list[dict]]:
    """contract id -> what its 动火作业 is next to in its building: operations of another party
    in FLAMMABLE_OPERATIONS and tenancies with 甲/乙 goods (as hot-work-near-flammables)."""
    out: dict[str, list[dict]] = {}
    for cid in sorted(contracts):
        c = contracts[cid]
        if not c.building_id or "动火作业" not in (c.props.get("high_risk_work") or ()):
            continue
        near = [{"kind": "operation", "id": o["operation_id"], "what": o["category"], "uscc": o["uscc"]}
                for o in sorted(o_rows, key=lambda o: o["operation_id"])
                if o["building_id"] == c.building_id and o["category"] in FLAMMABLE_OPERATIONS and o["uscc"] != c.target]
        near += [{"kind": "tenancy", "id": t["tenancy_id"], "what": f"{t['goods_fire_class']}类物品", "uscc": t["lessee_uscc"]}
                 for t in sorted(t_rows, key=lambda t: t["tenancy_id"])
                 if t["building_id"] == c.building_id and t.get("goods_fire_class") in FLAMMABLE_GOODS]
        if near:
            out[cid] = near
    return out


# --------------------------------------------------------------------------------------
# Checklist (阳政办发〔2024〕57号 四（三）、四（四）)
# --------------------------------------------------------------------------------------

# (code, short label, the notice's wording)
LESSOR_ITEMS = (
    ("land", "用地手续", "厂房是否具备合法的用地手续"),
    ("three_sim", "三同时", "厂房是否履行安全设施“三同时”手续"),
    ("structure", "建筑安全", "厂房是否存在建筑安全隐患"),
    ("fire_accept", "消防审验", "厂房是否办理消防审验手续"),
    ("fire_layout", "布局疏散消防", "平面布局、安全疏散、消防设施器材等是否符合国家消防安全技术标准"),
    ("illegal_build", "违章搭建", "厂区是否存在违章搭建"),
    ("review_lessee", "审查承租方", "是否对承租主体具备安全生产条件或者相应资质履行审查责任"),
    ("review_use", "用途审核", "是否对承租经营项目与厂房规划设计用途一致进行审核"),
    ("agreement", "协议及职责", "是否签订专门的安全生产（消防安全）管理协议，并明确各自管理职责"),
    ("coordinate", "统一协调", "是否对承租主体安全生产工作实行统一协调、管理"),
    ("inspect", "定期检查", "是否定期开展安全检查，发现安全问题并督促整改"),
    ("manager", "统一管理", "有两个以上使用单位的，是否委托物业服务企业或明确一家使用单位统一管理（消防〔2023〕72号 第七条）"),
)
LESSEE_ITEMS = (
    ("market", "市场准入/环境许可", "是否具备合法的市场准入手续和环境许可手续"),
    ("address", "地址一致", "生产经营地址和准入许可地址是否一致"),
    ("duties", "主体责任", "主要负责人职责履行、风险辨识和隐患排查治理、人员培训、隐患自查自改情况"),
    ("fire_class", "消防等级", "厂房是否符合项目消防等级需求；火灾危险性升高时是否重新办理消防审验"),
    ("three_in_one", "三合一/宿舍", "是否存在“三合一”“多合一”现象，是否将职工宿舍设置在车间或仓库内"),
    ("power_gas", "违规用电用气", "是否存在违规用电、用气行为"),
    ("hazchem", "违规危化品", "是否存在违规生产、经营、贮存危化品行为"),
)


def _fact(label: str, v, *, violation: bool = False, who: str = "") -> tuple[str, str]:
    """(state, evidence) of one recorded value."""
    if v is None:
        return UNKNOWN, f"{who}{label}：未填"
    bad = bool(v) if violation else not v
    return (BAD if bad else OK), f"{who}{label}：{'是' if v else '否'}"


def _item(code_label_text, facts: list[tuple[str, str]]) -> CheckItem:
    code, label, text = code_label_text
    return CheckItem(code, label, text, _worst(s for s, _ in facts) if facts else UNKNOWN,
                     [e for _, e in facts] or ["无记录"], [s for s, _ in facts] or [UNKNOWN])


def checklist(b: Briefing) -> list[CheckRow]:
    rows: list[CheckRow] = []
    items_l = {c[0]: c for c in LESSOR_ITEMS}
    items_t = {c[0]: c for c in LESSEE_ITEMS}
    for bb in b.buildings:
        if not bb.tenancies:
            continue
        p = bb.props
        bfacts = {
            "land": [_fact(_hdr(BUILDING, "land_use_permit"), p.get("land_use_permit"))],
            "three_sim": [_fact(_hdr(BUILDING, "three_simultaneity"), p.get("three_simultaneity"))],
            "structure": [_fact(_hdr(BUILDING, "structural_hazard"), p.get("structural_hazard"), violation=True)],
            "fire_accept": [_fact(_hdr(BUILDING, "fire_acceptance"), p.get("fire_acceptance"))],
            "fire_layout": [_fact(_hdr(BUILDING, "fire_facilities_ok"), p.get("fire_facilities_ok")),
                            _fact(_hdr(BUILDING, "escape_obstruction"), p.get("escape_obstruction"), violation=True)],
            "illegal_build": [_fact(_hdr(BUILDING, "illegal_construction"), p.get("illegal_construction"), violation=True)],
        }
        lessors: dict[str, list[Link]] = {}
        for tid in bb.tenancies:
            lessors.setdefault(b.tenancies[tid].source, []).append(b.tenancies[tid])
        for lessor in sorted(lessors, key=lambda u: (u != bb.owner, u)):
            ts = lessors[lessor]
            f: dict[str, list] = {k: list(v) for k, v in bfacts.items()}
            f["review_lessee"] = [_fact(_hdr(TENANCY, "lessee_reviewed"), t.props.get("lessee_reviewed"), who=f"{t.id} ")
                                  for t in ts]
            f["review_use"] = []
            for t in ts:
                f["review_use"].append(_fact(_hdr(TENANCY, "use_reviewed"), t.props.get("use_reviewed"), who=f"{t.id} "))
                purpose, planned = t.props.get("purpose"), p.get("planned_use")
                if purpose and planned and purpose != planned:
                    f["review_use"].append((BAD, f"{t.id} 承租用途“{purpose}”与设计用途“{planned}”不一致"))
            f["agreement"] = []
            for t in ts:
                f["agreement"].append(_fact(_hdr(TENANCY, "safety_agreement"), t.props.get("safety_agreement"), who=f"{t.id} "))
                f["agreement"].append(_fact(_hdr(TENANCY, "duties_defined"), t.props.get("duties_defined"), who=f"{t.id} "))
            f["coordinate"] = [_fact(_hdr(TENANCY, "coordinated"), t.props.get("coordinated"), who=f"{t.id} ") for t in ts]
            f["inspect"] = [_fact(_hdr(TENANCY, "periodic_inspection"), t.props.get("periodic_inspection"), who=f"{t.id} ")
                            for t in ts]
            if bb.users < 2:
                f["manager"] = [(NA, f"仅 {bb.users} 家使用")]
            elif bb.manager:
                f["manager"] = [(OK, f"{bb.users} 家使用，统一管理单位：{b.ent_name(bb.manager)}")]
            else:
                f["manager"] = [(BAD, f"{bb.users} 家使用，统一管理单位未填")]
            rows.append(CheckRow("lessor", lessor, bb.building_id, [t.id for t in ts],
                                 [_item(items_l[c[0]], f[c[0]]) for c in LESSOR_ITEMS]))
        for tid in bb.tenancies:
            t = b.tenancies[tid]
            e = b.enterprises.get(t.target, {})
            f = {
                "market": [_fact(_hdr(ENTERPRISE, "business_license"), e.get("business_license")),
                           _fact(_hdr(ENTERPRISE, "environmental_permit"), e.get("environmental_permit"))],
                "duties": [_fact(_hdr(ENTERPRISE, "risk_identification"), e.get("risk_identification")),
                           _fact(_hdr(ENTERPRISE, "training"), e.get("training")),
                           _fact(_hdr(ENTERPRISE, "self_inspection"), e.get("self_inspection"))],
                "three_in_one": [_fact(_hdr(TENANCY, "three_in_one"), t.props.get("three_in_one"), violation=True),
                                 _fact(_hdr(TENANCY, "dorm_inside"), t.props.get("dorm_inside"), violation=True)],
                "power_gas": [_fact(_hdr(TENANCY, "illegal_power_gas"), t.props.get("illegal_power_gas"), violation=True)],
                "hazchem": [_fact(_hdr(TENANCY, "illegal_hazchem"), t.props.get("illegal_hazchem"), violation=True)],
            }
            addr, lic = e.get("address"), e.get("licensed_address")
            if addr and lic:
                same = fold(addr) == fold(lic)
                f["address"] = [(OK if same else BAD, f"生产经营地址“{addr}”{'与' if same else '≠'}登记许可地址“{lic}”")]
            else:
                f["address"] = [(UNKNOWN, "生产经营地址或登记许可地址未填")]
            goods, bclass = t.props.get("goods_fire_class"), p.get("fire_class")
            if fire_rank(goods) is None or fire_rank(bclass) is None:
                f["fire_class"] = [(UNKNOWN, f"生产储存火灾危险性：{goods or '未填'}；建筑火灾危险性类别：{bclass or '未填'}")]
            elif fire_rank(goods) < fire_rank(bclass):
                f["fire_class"] = [(BAD, f"{goods}类物品，高于建筑核定的{bclass}类"),
                                   _fact(_hdr(TENANCY, "fire_reacceptance"), t.props.get("fire_reacceptance"))]
            else:
                f["fire_class"] = [(OK, f"{goods}类物品，未超过建筑核定的{bclass}类")]
            items = [_item(items_t[c[0]], f[c[0]]) for c in LESSEE_ITEMS]
            # A higher fire class is fine once a new fire review was passed.
            fc = items[3]
            if fire_rank(goods) is not None and fire_rank(bclass) is not None and fire_rank(goods) < fire_rank(bclass):
                fc.state = OK if t.props.get("fire_reacceptance") is True else (
                    UNKNOWN if t.props.get("fire_reacceptance") is None else BAD)
            if t.props.get("underground") is True and goods in FLAMMABLE_GOODS:  # GB 50016 3.3.4: never, whatever the review
                fc.evidence.append(f"地下楼层“{t.props.get('floor')}”生产储存{goods}类物品（GB 50016 第3.3.4条）")
                fc.evidence_states.append(BAD)
                fc.state = BAD
            rows.append(CheckRow("lessee", t.target, bb.building_id, [tid], items))
    return rows


# How much a checklist item weighs when choosing what to check first on site (1–10): the
# conditions behind fires and explosions in rented plants (三合一, 危化品, a fire class
# above the building's, the building itself, fire layout) and the lessor's duties that
# 工贸行业重大事故隐患判定标准 GEN-1 names (统一协调管理, 定期检查) weigh most.
CHECK_WEIGHT = {
    "hazchem": 10, "three_in_one": 10, "fire_class": 9, "structure": 9, "fire_layout": 8, "coordinate": 8,
    "inspect": 8, "agreement": 7, "fire_accept": 7, "power_gas": 7, "review_lessee": 6, "review_use": 6,
    "illegal_build": 5, "market": 5, "duties": 5, "three_sim": 4, "land": 3, "address": 3, "manager": 6,
}
# Items about the building itself: the same for every lessor on it, listed once per building.
BUILDING_ITEMS = ("land", "three_sim", "structure", "fire_accept", "fire_layout", "illegal_build", "manager")


@dataclass
class PriorityCheck:
    """A checklist item chosen for the visit: its subject, the item and why it ranks."""

    row: CheckRow
    item: CheckItem
    score: int  # weight, doubled when the ledger records a violation (不符合) rather than a blank
    workers: int  # people in the space it concerns


def open_items(b: Briefing, rows: "list[CheckRow] | None" = None):
    """The checklist items that are 不符合 or 未排查, as (row, item), in the order of `rows`
    (default: the checklist); a building's own conditions (BUILDING_ITEMS) only once per
    building, under the first lessor row that has them."""
    seen = set()
    for r in b.checklist if rows is None else rows:
        for it in r.items:
            if it.state not in (BAD, UNKNOWN):
                continue
            if r.role == "lessor" and it.code in BUILDING_ITEMS:
                if (r.building_id, it.code) in seen:
                    continue
                seen.add((r.building_id, it.code))
            yield r, it


def priority_checks(b: Briefing) -> list[PriorityCheck]:
    """Every checklist item that is 不符合 or 未排查, most important first.

    Ranked by CHECK_WEIGHT (doubled for 不符合), then by the people it concerns (the
    tenancy's workers, a lessor's or building's total), then building, subject, item.
    A building's own conditions count once per building.
    """
    workers_of = {tid: int(t.props.get("workers") or 0) for tid, t in b.tenancies.items()}
    out = []
    for r, it in open_items(b):
        if r.role == "lessor" and it.code in BUILDING_ITEMS:
            bb = b.building(r.building_id)
            people = bb.workers if bb else 0
        else:
            people = sum(workers_of.get(t, 0) for t in r.tenancy_ids)
        weight = CHECK_WEIGHT.get(it.code, 1)
        out.append(PriorityCheck(r, it, weight * (2 if it.state == BAD else 1), people))
    out.sort(key=lambda p: (-p.score, -p.workers, p.row.building_id, p.row.role, p.row.uscc,
                            p.row.tenancy_ids, p.item.code))
    return out


def visit_checks(b: Briefing, n: int = 10, per_item: int = 3) -> list[PriorityCheck]:
    """The `n` things to check first: priority_checks() in order, at most `per_item` of
    one checklist item (so that ten lessees' 三合一 do not crowd out the lessors' duties)
    unless fewer kinds are left to fill the list."""
    ranked = priority_checks(b)
    picked, count, rest = [], {}, []
    for p in ranked:
        if len(picked) < n and count.get(p.item.code, 0) < per_item:
            picked.append(p)
            count[p.item.code] = count.get(p.item.code, 0) + 1
        else:
            rest.append(p)
    picked += rest[: n - len(picked)]
    order = {id(p): i for i, p in enumerate(ranked)}
    return sorted(picked, key=lambda p: order[id(p)])


# --------------------------------------------------------------------------------------
# Findings of the query pack that touch the target
# --------------------------------------------------------------------------------------

# Key columns that name a subject record; a query without any is a statistic (skipped).
SUBJECT_COLUMNS = ("id", "subject_id", "tenancy_id", "contract_id", "building_id", "operation_id",
                   "hazard_id", "inspection_id", "dispatch_id", "uscc")


def target_subjects(b: Briefing) -> set[str]:
    s = {bb.building_id for bb in b.buildings}
    s |= set(b.tenancies) | set(b.contracts) | set(b.dispatch) | set(b.operations)
    s |= {h["hazard_id"] for h in b.hazards} | {i["inspection_id"] for i in b.inspections}
    s |= set(b.enterprises)
    return s


def attach_findings(backend: Backend, b: Briefing, runs=None) -> None:
    """Keep the rows of the query pack that touch the briefing's records.

    `runs`: results of queries.runner.run_all already at hand (the demo runs the pack
    once); otherwise the pack is run here with the briefing's as_of.
    """
    try:
        from queries import runner
    except ImportError as e:  # the pack is not installed in this checkout
        b.findings, b.findings_note = None, f"查询包不可用 / query pack unavailable: {e}"
        return
    failed: list[str] = []
    if runs is None:
        try:
            specs = [sp for sp in runner.load_catalogue() if any(k in SUBJECT_COLUMNS for k in sp.key_columns)]
        except SitegraphError as e:
            # The briefing stands without the pack; the page and the CLI say why.
            b.findings, b.findings_note = None, f"查询包无法加载 / the query pack cannot be loaded: {e}"
            return
        runs = []
        for spec in specs:  # statistics (per county, township) are not about the target: not run
            params = {"as_of": b.as_of} if any(p.name == "as_of" for p in spec.params) else {}
            try:
                runs.append(runner.run_query(backend, spec, params, include_personal=b.include_personal))
            except SitegraphError as e:
                failed.append(f"{spec.id}（{e}）")
    b.findings = select_findings(b, runs)
    if failed:
        b.findings_note = "以下查询未能运行 / these queries failed: " + "；".join(failed)


# Left out of a finding's one-line detail: the place (already on the page) and USCCs
# (the queries return the names beside them).
_DETAIL_SKIP = {"county", "township"}
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_SEVERITY_ORDER = {"重大": 0, "较大": 1, "一般": 2, "统计": 3}


def select_findings(b: Briefing, runs) -> list[Finding]:
    """Rows of the pack (a list of runner.QueryRun) whose subject is one of the target's records."""
    subjects = target_subjects(b)
    out: list[Finding] = []
    for run in runs:
        spec = run.spec
        keys = list(spec.key_columns)
        subj_cols = [k for k in keys if k in SUBJECT_COLUMNS]
        if not subj_cols:  # a statistic (per county, per township)
            continue
        labels = {c.name: c.label_zh for c in run.columns}
        for row in run.rows:
            if not any(row.get(k) in subjects for k in subj_cols):
                continue
            subject = " / ".join(str(row.get(k)) for k in keys if row.get(k) is not None)
            detail = "；".join(
                f"{labels.get(k, k)}：{_cell(v)}" for k, v in row.items()
                if k not in keys and k not in _DETAIL_SKIP and v not in (None, "", [], False)
                and not (isinstance(v, str) and USCC_RE.match(v))
            )
            out.append(Finding(spec.id, spec.title_zh, spec.severity, subject,
                               detail if len(detail) <= 240 else detail[:239] + "…", row))
    out.sort(key=lambda f: (_SEVERITY_ORDER.get(f.severity, 9), f.query_id, f.subject))
    return out


def _cell(v) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (list, tuple)):
        return "、".join(_cell(x) for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


# --------------------------------------------------------------------------------------
# The responsibility graph
# --------------------------------------------------------------------------------------

def responsibility_graph(b: Briefing, building_id: str | None = None):
    """A networkx DiGraph of the responsibility chain (of one building, or of all).

    Nodes: `E:<uscc>` enterprises, `B:<id>` buildings, and the links between them as
    nodes of their own — `T:<id>` tenancies, `C:<id>` contracts, `D:<id>` dispatch,
    `O:<id>` high-risk operations — so that two leases between the same parties stay
    two. Edges point from the party that must manage to the one managed:
    owner → building, lessor → tenancy → lessee, client → contract → contractor,
    host → dispatch → agency, operator → operation. Node attribute `state` is
    ok / bad / unknown (the worst duty on a link); `broken` marks chain breaks.
    """
    import networkx as nx

    g = nx.DiGraph()
    bbs = [bb for bb in b.buildings if building_id in (None, bb.building_id)]

    def ent(u):
        n = f"E:{u}"
        if n not in g:
            g.add_node(n, kind="enterprise", id=u, label=b.ent_name(u), state=OK)
        return n

    for bb in bbs:
        bn = f"B:{bb.building_id}"
        g.add_node(bn, kind="building", id=bb.building_id, label=bb.name, state=OK,
                   sub=" / ".join(s["name"] or s["site_id"] for s in bb.site_path[:1]),
                   broken=bb.needs_manager, no_manager=bb.needs_manager)
        if bb.owner:
            g.add_edge(bn, ent(bb.owner), rel="OWNS", label="产权")
            g.nodes[ent(bb.owner)]["owner"] = True
        if bb.manager:  # the unified manager manages the building (the owner: a mark on its box)
            g.nodes[ent(bb.manager)]["manager"] = True
            if bb.manager != bb.owner:
                g.add_edge(ent(bb.manager), bn, rel="MANAGES_BUILDING", label="统一管理")
        for tid in bb.tenancies:
            t = b.tenancies[tid]
            tn = f"T:{tid}"
            under = t.props.get("underground") is True and t.props.get("goods_fire_class") in FLAMMABLE_GOODS
            g.add_node(tn, kind="tenancy", id=tid, state=BAD if under else t.state, depth=t.depth,
                       broken=t.orphan or t.two_way_gap or under, gaps=t.gaps, two_way_gap=t.two_way_gap,
                       orphan=t.orphan, underground_goods=under)
            if t.orphan:
                g.add_edge(bn, ent(t.source), rel="UNLINKED", label="无产权无租赁", broken=True)
            g.add_edge(ent(t.source), tn, rel="LESSOR_OF", broken=t.orphan)
            g.add_edge(tn, ent(t.target), rel="LESSEE_OF", broken=t.two_way_gap)
        for cid in bb.contracts:
            c = b.contracts[cid]
            cn = f"C:{cid}"
            g.add_node(cn, kind="contract", id=cid, state=c.state, broken=c.two_way_gap, gaps=c.gaps,
                       two_way_gap=c.two_way_gap, contract_kind=c.props.get("kind"))
            if ent(c.source) not in nx.descendants(g, bn) | {bn}:
                g.add_edge(bn, ent(c.source), rel="CLIENT_HERE", label="发包方")
            g.add_edge(ent(c.source), cn, rel="CLIENT_OF")
            g.add_edge(cn, ent(c.target), rel="CONTRACTOR_OF", broken=c.two_way_gap)
        for did in bb.dispatch:
            d = b.dispatch[did]
            dn = f"D:{did}"
            g.add_node(dn, kind="dispatch", id=did, state=d.state, broken=False, gaps=d.gaps,
                       workers=d.props.get("workers"))
            g.add_edge(ent(d.source), dn, rel="HOST_OF")
            g.add_edge(dn, ent(d.target), rel="AGENCY_OF")
        for oid in bb.operations:
            o = b.operations[oid]
            on = f"O:{oid}"
            unlinked = o["footing"] == "无租赁或外包关系"
            g.add_node(on, kind="operation", id=oid, state=BAD if unlinked else OK, broken=unlinked,
                       category=o["category"])
            if ent(o["uscc"]) not in nx.descendants(g, bn) | {bn}:
                g.add_edge(bn, ent(o["uscc"]), rel="UNLINKED", label="无产权无租赁", broken=True)
            g.add_edge(ent(o["uscc"]), on, rel="RUNS")
        # 动火作业 next to flammables: the contract breaks, and what it endangers is marked (no
        # edge: edges are who manages whom, and a path through a conflict would read as one)
        conflicts = hot_work_conflicts({c: b.contracts[c] for c in bb.contracts},
                                       [b.operations[o] for o in bb.operations],
                                       [{**b.tenancies[t].props, "building_id": bb.building_id} for t in bb.tenancies])
        for cid, near in conflicts.items():
            g.nodes[f"C:{cid}"].update(hot_work=[x["id"] for x in near], broken=True, state=BAD)
            for x in near:
                other = ("O:" if x["kind"] == "operation" else "T:") + x["id"]
                if other in g:
                    g.nodes[other].setdefault("near_hot_work", []).append(cid)
    if building_id is None:
        for cid in b.site_contracts:
            c = b.contracts[cid]
            cn = f"C:{cid}"
            g.add_node(cn, kind="contract", id=cid, state=c.state, broken=c.two_way_gap, gaps=c.gaps,
                       two_way_gap=c.two_way_gap, contract_kind=c.props.get("kind"))
            g.add_edge(ent(c.source), cn, rel="CLIENT_OF")
            g.add_edge(cn, ent(c.target), rel="CONTRACTOR_OF", broken=c.two_way_gap)
    return g


# --------------------------------------------------------------------------------------
# Which site has the most findings (for the demo: one pass over the whole graph)
# --------------------------------------------------------------------------------------

def findings_per_site(backend: Backend, runs) -> dict[str, int]:
    """site id -> number of pack rows that touch a record of the site or a site under it.

    A row touches the buildings of its subject (a building, tenancy, contract, operation,
    hazard, dispatch row, inspection, or an enterprise that owns, leases, runs or works
    in a building); a building counts for its site and every site above it.
    """
    def rows(q):
        return _read(backend, q)

    parent = {r["s"]: r["p"] for r in rows("MATCH (s:Site) OPTIONAL MATCH (s)-[:PART_OF]->(p:Site) "
                                           "RETURN s.site_id AS s, p.site_id AS p")}
    site_of = {r["b"]: r["s"] for r in rows("MATCH (b:Building) OPTIONAL MATCH (b)-[:IN_SITE]->(s:Site) "
                                            "RETURN b.building_id AS b, s.site_id AS s")}
    places: dict[str, set[str]] = {b: {b} for b in site_of}  # subject -> buildings ("B:"), sites ("S:")
    by_ent: dict[str, set[str]] = {}

    def add(subject, place, *usccs):
        places.setdefault(subject, set()).add(place)
        for u in usccs:
            if u:
                by_ent.setdefault(u, set()).add(place)

    for r in rows("MATCH (e:Enterprise)-[:OWNS]->(b:Building) RETURN e.uscc AS u, b.building_id AS b"):
        add(r["b"], r["b"], r["u"])
    for r in rows("MATCH (t:Tenancy)-[:COVERS]->(b:Building) RETURN t.tenancy_id AS t, b.building_id AS b, "
                  "t.lessor_uscc AS a, t.lessee_uscc AS z"):
        add(r["t"], r["b"], r["a"], r["z"])
    for r in rows("MATCH (o:Operation)-[:LOCATED_IN]->(b:Building) RETURN o.operation_id AS o, "
                  "b.building_id AS b, o.uscc AS u"):
        add(r["o"], r["b"], r["u"])
    contract_places: dict[str, str] = {}
    for r in rows("MATCH (c:Contract) OPTIONAL MATCH (c)-[:WORKS_IN]->(b:Building) "
                  "OPTIONAL MATCH (c)-[:WORKS_ON]->(s:Site) RETURN c.contract_id AS c, b.building_id AS b, "
                  "s.site_id AS s, c.client_uscc AS a, c.contractor_uscc AS z"):
        place = r["b"] or (f"S:{r['s']}" if r["s"] else None)
        if place:
            contract_places[r["c"]] = place
            add(r["c"], place, r["a"], r["z"])
    for r in rows("MATCH (h:Hazard) OPTIONAL MATCH (h)-[:HAZARD_IN]->(b:Building) "
                  "RETURN h.hazard_id AS h, b.building_id AS b, h.uscc AS u"):
        places[r["h"]] = {r["b"]} if r["b"] else set(by_ent.get(r["u"], ()))
    for r in rows("MATCH (d:Dispatch) RETURN d.dispatch_id AS d, d.contract_id AS c, d.host_uscc AS u"):
        places[r["d"]] = {contract_places[r["c"]]} if r["c"] in contract_places else set(by_ent.get(r["u"], ()))
    for r in rows("MATCH (i:Inspection)-[:INSPECTED]->(e:Enterprise) RETURN i.inspection_id AS i, e.uscc AS u"):
        places[r["i"]] = set(by_ent.get(r["u"], ()))
    for u, ps in by_ent.items():
        places.setdefault(u, set()).update(ps)

    def sites_above(site):
        out, seen = [], set()
        while site and site not in seen:
            seen.add(site)
            out.append(site)
            site = parent.get(site)
        return out

    counts: dict[str, int] = {s: 0 for s in parent}
    for run in runs:
        keys = [k for k in run.spec.key_columns if k in SUBJECT_COLUMNS]
        if not keys:
            continue
        for row in run.rows:
            touched: set[str] = set()
            for k in keys:
                for place in places.get(row.get(k), ()):
                    start = place[2:] if place.startswith("S:") else site_of.get(place)
                    touched.update(sites_above(start))
            for s in touched:
                counts[s] = counts.get(s, 0) + 1
    return counts
