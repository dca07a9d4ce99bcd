"""A realistic synthetic survey of Yangquan 工贸 enterprises, with its ground truth.

`generate(n, seed)` builds the ledgers a city-wide 排查摸底 would hand in: parks and
parks inside parks (园中园), plant compounds inside parks, stand-alone buildings,
idle plants and standard plants let to several tenants (一厂多租), sub-lease chains
(二房东, up to depth 3), outsourcing contracts, labour dispatch, high-risk operations
that fit each trade, hazards with their 五落实 ledger, and the inspections of the
2024-11-11 campaign (阳政办发〔2024〕57号); with survey-format version 2 also the
closed loop of each hazard (整改完成, 验收, 挂牌督办 and 摘牌), 存量 major hazards from
before 2024, 准予复产 re-inspections after stop orders, buildings' unified managers and
tenancies in basements. Problems (gaps, violations, blanks) are
planted at realistic rates that depend on how careful each enterprise is and how
carefully each township filled in its ledger, so most records are clean and every
query of the pack finds something at a few hundred enterprises.

Everything is drawn from one `random.Random(seed)`: the same seed gives the same
records and the same truth. Sheet names, headers and enums come from
graphmodel.schema; place names and trades from loaders/yangquan.py; the ground truth
from loaders/truth.py (plain Python, no Cypher).

`write_survey_files` writes the survey as the townships would send it: one workbook
or one CSV per sheet, optionally with every other accepted spelling of bools, dates,
numbers, lists, USCCs and enum aliases, to prove the reader reads them all alike.
"""
from __future__ import annotations

import csv
import gc
import datetime as dt
import json
import random
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any, Sequence

from graphmodel.schema import ACTIONS, FIRE_CLASSES, FRAME_STRUCTURES, NODE_TYPES, NODES, Kind, NodeType

from . import truth as _truth
from .yangquan import (
    AGENCY_WORDS, CITY, CITY_CODE, CLAUSE_HAZARDS, CONTRACT_WORK, CONTRACTOR_WORDS, COUNTIES, DISPATCH_POSTS,
    GENERAL_HAZARDS, GIVEN_CHARS, INDUSTRIES, CLAUSE_MEASURES, NAME_PREFIXES, NAME_SUFFIXES, OFFICE_BUILDINGS,
    PARK_BUILDINGS, PARK_OPERATOR_WORDS, PHONE_AREA, ROADS, SHEDS, SURNAMES, TRADE_HEADS, TRADE_PLACES,
    TRADE_SUFFIXES, TRADE_TAILS, VILLAGE_HEADS, VILLAGE_TAILS, County, Industry,
)

from .values import is_underground

try:
    from .values import uscc_check_char
except ImportError:  # pragma: no cover - TODO: values.py is the reader owner's; import only
    _CS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

    def uscc_check_char(first17: str) -> str:
        s = sum(_CS.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
        return _CS[(31 - s % 31) % 31]

# The campaign calendar of 阳政办发〔2024〕57号.
CAMPAIGN_START = dt.date(2024, 11, 11)  # notice issued; 排查摸底 and 自查自改 until 11-17
SELF_CHECK_END = dt.date(2024, 11, 17)
COUNTY_CHECKS = dt.date(2024, 11, 18)  # 县区全面检查 and 市级督导 from here
# Records are dated up to this day; it is also the default as_of of the truth. It
# depends on nothing (not the clock), so a seed always gives the same survey and truth.
REFERENCE_DATE = dt.date(2025, 1, 15)

SRC_FILE = "survey.xlsx"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
MIN_ENTERPRISES = 20
# Disjoint parts (generate(part=k)): ids numbered from k·PART_STRIDE, USCCs "M" + PART_SERIES[k-1] + ….
PART_SERIES = "BCDEFGHJKLNPQRTUWXY"
MAX_PARTS = len(PART_SERIES)
PART_STRIDE = 1_000_000

# How careful an enterprise is: P(a duty is done), P(a violation is present).
CARE_DONE = (0.97, 0.82, 0.5)
CARE_VIOLATION = (0.01, 0.06, 0.25)
CARE_WEIGHTS = (0.62, 0.28, 0.10)
# How carefully a township filled in its ledger: P(a check field is left blank).
BLANK_RATES = ((0.0, 0.25), (0.01, 0.35), (0.02, 0.2), (0.05, 0.12), (0.12, 0.08))


@dataclass
class GeneratedSurvey:
    seed: int
    enterprises: int
    as_of: dt.date
    records: dict[str, list[dict]]
    _truth: dict | None = field(default=None, repr=False, compare=False)
    # planted duplicates (generate(duplicates=…)): [kept key, duplicate key, [variant kinds]]
    duplicates: list = field(default_factory=list, compare=False)

    def truth(self) -> dict:
        """The ground truth of every query id (see loaders/truth.py), for `as_of`."""
        if self._truth is None:
            self._truth = _truth.ground_truth(self.records, self.as_of, seed=self.seed, enterprises=self.enterprises)
            if self.duplicates:  # what `sitegraph dedupe` must find (absent unless planted)
                self._truth["duplicates"] = {"pairs": self.duplicates}
        return self._truth

    def counts(self) -> dict[str, int]:
        return {label: len(recs) for label, recs in self.records.items()}


def generate(enterprises: int = 300, seed: int = 1, as_of: dt.date | None = None, version: int = 2,
             duplicates: float = 0.0, provisional: float = 0.0, part: int = 0) -> GeneratedSurvey:
    """A valid survey of `enterprises` enterprises, the same for the same seed.

    `as_of` (default REFERENCE_DATE) only changes the truth, never the records.
    `version` 1 leaves out what survey-format.md's "Version 2 additions" brought (the v2
    columns blank, no 存量 hazards, no 准予复产 re-inspections, no underground floors);
    version 2 adds them in a last pass with its own random stream, so a seed's version-1
    survey is exactly what the generator made before version 2, and its version-2 survey
    is that plus the new columns and records (and the 楼层 of the basement tenancies).
    `duplicates` (a share of `enterprises`, default none) plants that many parties written a
    second time under a variant name (`_Generator.plant_duplicates`), in a last pass with its own
    random stream; the pairs are in the truth's "duplicates". `provisional` (a share of
    `enterprises`, default none; version 2) turns that many parties into parties without a USCC
    of every 主体类型 (loaders/generate_parties.py), in a pass with its own random stream.
    `part` (default 0: the survey as always) makes one of several disjoint surveys that load into
    one store, as a province loads county by county: part k in 1..MAX_PARTS numbers every id from
    k·PART_STRIDE and draws its USCCs from a series of its own ("M" and a letter other than the "A"
    of part 0), so no two parts share a key."""
    if enterprises < MIN_ENTERPRISES:
        raise ValueError(f"at least {MIN_ENTERPRISES} enterprises are needed, got {enterprises}")
    if version not in (1, 2):
        raise ValueError(f"survey format version 1 or 2, got {version}")
    if not 0 <= part <= MAX_PARTS:
        raise ValueError(f"part 0 to {MAX_PARTS}, got {part}")
    if part and (duplicates or provisional):  # their codes (临时编码, typos) are not numbered by part
        raise ValueError("part cannot be combined with duplicates or provisional parties")
    g = _Generator(enterprises, seed, version, duplicates)
    if part:
        g.part = part
    g.provisional = provisional if version >= 2 else 0.0
    # Hundreds of thousands of small acyclic dicts: the cyclic GC would only rescan them.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        records = g.run()
    finally:
        if was_enabled:
            gc.enable()
    return GeneratedSurvey(seed=seed, enterprises=enterprises, as_of=as_of or REFERENCE_DATE, records=records,
                           duplicates=g.planted)


# ---- internal state -----------------------------------------------------------------------


class _Ent:
    """What the generator knows about an enterprise beyond its ledger row."""

    __slots__ = ("rec", "role", "industry", "care", "county", "township", "owned", "leased", "sites", "ops",
                 "contract_kind", "hazards", "sublessor", "mismatch")

    def __init__(self, rec: dict, role: str, industry: Industry | None, care: int, county: County, township: str):
        self.rec, self.role, self.industry, self.care = rec, role, industry, care
        self.county, self.township = county, township
        self.owned: list[dict] = []  # building records
        self.leased: list[dict] = []  # building records it leases
        self.sites: list[dict] = []  # site records it operates
        self.ops: list[dict] = []
        self.contract_kind: str | None = None
        self.hazards: list[dict] = []
        self.sublessor = False
        self.mismatch = 0.0  # P(licensed address differs from where it operates)

    @property
    def uscc(self) -> str:
        return self.rec["uscc"]


class _Site:
    __slots__ = ("rec", "depth", "county")

    def __init__(self, rec: dict, depth: int, county: County):
        self.rec, self.depth, self.county = rec, depth, county


class _Generator:
    def __init__(self, n: int, seed: int, version: int = 2, duplicates: float = 0.0):
        self.n, self.seed, self.version = n, seed, version
        self.duplicates, self.planted = duplicates, []
        self.part = 0  # generate(part=k): a disjoint part of a larger survey
        self.rng = random.Random(seed)
        self.records: dict[str, list[dict]] = {nt.label: [] for nt in NODE_TYPES}
        self.templates = {nt.label: dict.fromkeys(c.key for c in nt.columns) for nt in NODE_TYPES}
        self.ents: list[_Ent] = []
        self.by_uscc: dict[str, _Ent] = {}
        self.usccs: set[str] = set()
        self.names: set[str] = set()
        self.seq: dict[str, int] = {}
        self.parks: list[_Site] = []
        self.parks_by_county: dict[str, list[_Site]] = {c.name: [] for c in COUNTIES}
        self.owner_of: dict[str, _Ent] = {}  # building_id -> owner
        self.site_of: dict[str, dict] = {}
        self.blank_rate: dict[tuple[str, str], float] = {}
        self.staff: dict[str, list[str]] = {}
        self.doc_seq: dict[str, int] = {}
        self._county_cum = list(accumulate(c.weight for c in COUNTIES))
        self._ind_cum = {c.name: (tuple(k for k, _ in c.industries), list(accumulate(w for _, w in c.industries)))
                         for c in COUNTIES}
        lessee_ind = [(k, ind.lessee) for k, ind in INDUSTRIES.items() if ind.lessee > 0]
        self._lessee_cum = {}
        for c in COUNTIES:
            local = dict(c.industries)
            total = sum(local.values())
            ws = [w * (1 + 3 * local.get(k, 0) / total) for k, w in lessee_ind]
            self._lessee_cum[c.name] = (tuple(k for k, _ in lessee_ind), list(accumulate(ws)))
        for c in COUNTIES:
            for t in c.townships:
                self.blank_rate[(c.name, t)] = self.weighted(BLANK_RATES)
        k_bad = max(1, round(n * 0.01))
        self.bad_uscc = set(self.rng.sample(range(n), k_bad))

    # ---- random helpers ----------------------------------------------------------------

    def weighted(self, pairs: Sequence[tuple[Any, float]]):
        r = self.rng.random() * sum(w for _, w in pairs)
        for v, w in pairs:
            r -= w
            if r < 0:
                return v
        return pairs[-1][0]

    def pick(self, seq: Sequence):
        return seq[int(self.rng.random() * len(seq))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def day(self, a: dt.date, b: dt.date) -> dt.date:
        return a + dt.timedelta(days=self.rng.randint(0, max(0, (b - a).days)))

    def county(self) -> County:
        return COUNTIES[min(bisect(self._county_cum, self.rng.random() * self._county_cum[-1]), len(COUNTIES) - 1)]

    def industry(self, county: County, lessee: bool = False) -> Industry:
        keys, cum = (self._lessee_cum if lessee else self._ind_cum)[county.name]
        return INDUSTRIES[keys[min(bisect(cum, self.rng.random() * cum[-1]), len(keys) - 1)]]

    def next_id(self, kind: str) -> int:
        self.seq[kind] = self.seq.get(kind, 0) + 1
        if self.part:  # part k: ids k·PART_STRIDE + 1 …, never those of another part
            if self.seq[kind] >= PART_STRIDE:
                raise ValueError(f"more than {PART_STRIDE - 1} {kind} ids in one part")
            return self.part * PART_STRIDE + self.seq[kind]
        return self.seq[kind]

    def duty(self, care: int, where: tuple[str, str], p: float | None = None) -> bool | None:
        """A duty field (agreement, review, permit…): done, not done, or left blank."""
        if self.rng.random() < self.blank_rate[where]:
            return None
        return self.rng.random() < (CARE_DONE[care] if p is None else p)

    def violation(self, care: int, where: tuple[str, str], factor: float = 1.0) -> bool | None:
        """A violation flag (三合一, 违章搭建…): present, absent, or left blank."""
        if self.rng.random() < self.blank_rate[where]:
            return None
        return self.rng.random() < min(0.9, CARE_VIOLATION[care] * factor)

    def person(self) -> str:
        given = self.pick(GIVEN_CHARS) + (self.pick(GIVEN_CHARS) if self.chance(0.7) else "")
        return self.pick(SURNAMES) + given

    def phone(self) -> str:
        if self.chance(0.8):
            return "1" + self.pick("35789") + "".join(self.rng.choices("0123456789", k=9))
        return f"{PHONE_AREA}-{self.rng.randint(2, 8)}{self.rng.randint(0, 999999):06d}"

    def new_record(self, label: str) -> dict:
        rec = dict(self.templates[label])
        self.records[label].append(rec)
        return rec

    # ---- names, codes, addresses ----------------------------------------------------------

    def uscc(self, county: County, wrong: bool) -> str:
        area = CITY_CODE if self.chance(0.15) else county.code
        while True:
            if self.part:  # a disjoint part: its own series, never a code of part 0 or another part
                body8 = "M" + PART_SERIES[self.part - 1] + "".join(self.rng.choices(USCC_CHARS, k=6))
            elif self.chance(0.8):  # codes issued since 2015: MA + 6 characters
                body8 = "MA" + "".join(self.rng.choices(USCC_CHARS, k=6))
            else:  # older organisation codes, digits only
                body8 = "".join(self.rng.choices("0123456789", k=8))
            first17 = "91" + area + body8 + _gb11714_check(body8)
            check = uscc_check_char(first17)
            if wrong:
                check = self.pick([c for c in USCC_CHARS if c != check])
            code = first17 + check
            if code not in self.usccs:
                self.usccs.add(code)
                return code

    def trade_name(self) -> str:
        if self.chance(0.15):
            return self.pick(TRADE_PLACES)
        a, b = self.pick(TRADE_HEADS), self.pick(TRADE_TAILS)
        return a + (b if b != a else self.pick(TRADE_TAILS))

    def company_name(self, county: County, words: Sequence[str], trade_ok: bool = False) -> str:
        for attempt in range(50):
            prefix = self.weighted(NAME_PREFIXES)
            if prefix == "@county":
                prefix = county.full if county.name.endswith("区") else county.name
            suffix = self.weighted(NAME_SUFFIXES)
            if suffix == "@trade":
                suffix = self.pick(TRADE_SUFFIXES) if trade_ok else "有限公司"
            name = f"{prefix}{self.trade_name()}{self.pick(words)}{suffix}"
            if attempt > 20:
                name = f"{prefix}{self.trade_name()}{self.trade_name()}{self.pick(words)}{suffix}"
            if name not in self.names:
                self.names.add(name)
                return name
        raise RuntimeError("could not make a unique company name")

    def address(self, county: County, township: str, site: dict | None = None) -> str:
        base = f"{county.full}{township}"
        if site is not None:
            return f"{base}{site['name']}{self.rng.randint(1, 60)}号"
        if township.endswith("街道"):
            return f"{base}{self.pick(ROADS)}{self.rng.randint(1, 300)}号"
        village = self.pick(VILLAGE_HEADS) + self.pick(VILLAGE_TAILS)
        return f"{base}{village}村" + (f"{self.rng.randint(1, 200)}号" if self.chance(0.6) else "")

    def licensed_address(self, e: _Ent, address: str, mismatch: float) -> str | None:
        r = self.rng.random()
        if r < 0.05:
            return None
        if r < 0.05 + mismatch:  # registered elsewhere (an old address, the owner's home…)
            other = self.pick(e.county.townships)
            return self.address(e.county, other)
        if r < 0.12 + mismatch:  # the same address typed differently: not a mismatch
            return _typed_differently(address, self.rng)
        return address

    # ---- enterprises -------------------------------------------------------------------------

    def enterprise(self, role: str, county: County, township: str, industry: Industry | None, *,
                   words: Sequence[str] | None = None, sector: str | None = None, care: int | None = None,
                   site: dict | None = None) -> _Ent:
        idx = len(self.ents)
        care = self.weighted(tuple(zip(range(3), CARE_WEIGHTS))) if care is None else care
        rec = self.new_record("Enterprise")
        rec["uscc"] = self.uscc(county, idx in self.bad_uscc)
        rec["uscc_valid"] = idx not in self.bad_uscc
        rec["aliases"] = rec["person_name"] = None  # derived (issue 13): set for merged parties and 自然人
        e = _Ent(rec, role, industry, care, county, township)
        where = (county.name, township)
        rec["name"] = self.company_name(county, words or industry.words, trade_ok=(sector or industry.sector) == "商贸")
        rec["sector"] = sector or industry.sector
        rec["county"], rec["township"] = county.name, township
        rec["address"] = self.address(county, township, site)
        e.mismatch = {"tenant": 0.05, "owner": 0.02}.get(role, 0.015) * (1 + care)
        rec["licensed_address"] = self.licensed_address(e, rec["address"], e.mismatch)
        lic_p = 1 - (0.003, 0.02, 0.1)[care] * (2.5 if role == "tenant" else 1)
        rec["business_license"] = self.duty(care, where, lic_p)
        rec["environmental_permit"] = self.duty(care, where, 1 - (0.02, 0.08, 0.3)[care] * (1.2 if role == "tenant" else 1))
        rec["principal"] = self.person()
        rec["phone"] = self.phone()
        lo, hi = {"owner": (25, 600), "tenant": (3, 60), "parkop": (8, 40), "contractor": (15, 220),
                  "agency": (5, 30)}[role]
        cw = int(lo + (hi - lo) * self.rng.random() ** 2.2)
        rec["contract_workers"] = None if self.chance(0.03) else cw
        rec["safety_staff"] = None if self.chance(0.04) else max(0 if cw < 20 else 1, cw // 90 + (care == 0))
        rec["risk_identification"] = self.duty(care, where)
        rec["training"] = self.duty(care, where)
        rec["self_inspection"] = self.duty(care, where)
        rec["status"] = self.weighted((("在产", 0.87), ("停产", 0.07), ("关闭", 0.015), ("取缔", 0.005), (None, 0.04)))
        self.ents.append(e)
        self.by_uscc[rec["uscc"]] = e
        return e

    def move(self, e: _Ent, address: str) -> None:
        """Set where an enterprise operates, and (mostly) the same address on its licence."""
        e.rec["address"] = address
        e.rec["licensed_address"] = self.licensed_address(e, address, e.mismatch)

    # ---- sites and buildings --------------------------------------------------------------------

    def site(self, kind: str, name: str, county: County, township: str, parent: _Site | None,
             operator: _Ent | None) -> _Site:
        rec = self.new_record("Site")
        prefix = "P" if kind == "园区" else "F"
        rec["site_id"] = f"{county.abbr}-{prefix}{self.next_id('site' + prefix):05d}"
        rec["name"], rec["kind"] = name, kind
        rec["parent_site_id"] = parent.rec["site_id"] if parent else None
        rec["operator_uscc"] = operator.uscc if operator else None
        rec["county"], rec["township"] = county.name, township
        s = _Site(rec, parent.depth + 1 if parent else 1, county)
        self.site_of[rec["site_id"]] = rec
        if operator:
            operator.sites.append(rec)
        return s

    def building(self, owner: _Ent, name: str, use: str, fire_class: str | None, county: County, township: str,
                 site: dict | None, *, floors: int | None = None, structure: str | None = None,
                 area: float | None = None, shed: bool = False) -> dict:
        rec = self.new_record("Building")
        rec["building_id"] = f"{county.abbr}-B{self.next_id('building'):06d}"
        rec["name"] = name
        rec["site_id"] = site["site_id"] if site else None
        rec["owner_uscc"] = owner.uscc
        rec["county"], rec["township"] = county.name, township
        if floors is None:
            floors = 1 if self.chance(0.78) else self.rng.randint(2, 4)
        if structure is None:
            if floors == 1:
                structure = self.weighted((("钢结构", 0.4), ("排架", 0.33), ("砖混", 0.12), ("彩钢板", 0.08),
                                           ("砖木", 0.03), ("其他", 0.04)))
            else:
                structure = self.weighted((("框架", 0.6), ("砖混", 0.34), ("其他", 0.06)))
        if area is None:
            area = (self.rng.randint(60, 1200) if floors == 1 else self.rng.randint(100, 600) * floors) * 10
        where = (county.name, township)
        care = owner.care
        rec["floor_area"] = float(area) if not self.chance(0.03) else None
        rec["floors"] = floors if not self.chance(0.02) else None
        rec["structure"] = structure if not self.chance(0.03) else None
        rec["planned_use"] = use
        rec["fire_class"] = fire_class if not self.chance(0.04) else None
        weak = 2.5 if shed or structure in ("彩钢板", "砖木") else 1.0
        rec["land_use_permit"] = self.duty(care, where, 1 - (1 - CARE_DONE[care]) * weak * 0.6)
        rec["three_simultaneity"] = self.duty(care, where, 1 - (1 - CARE_DONE[care]) * weak * 0.8)
        rec["fire_acceptance"] = self.duty(care, where, 1 - (1 - CARE_DONE[care]) * weak * 0.7)
        rec["structural_hazard"] = self.violation(care, where, 0.6 * weak)
        rec["illegal_construction"] = self.violation(care, where, 6.0 if shed else 0.4)
        rec["fire_facilities_ok"] = self.duty(care, where, 1 - (1 - CARE_DONE[care]) * weak * 0.6)
        rec["escape_obstruction"] = self.violation(care, where, 0.5 * weak)
        owner.owned.append(rec)
        self.owner_of[rec["building_id"]] = owner
        return rec

    # ---- the survey ------------------------------------------------------------------------------

    def run(self) -> dict[str, list[dict]]:
        n = self.n
        n_agency = max(2, round(0.02 * n))
        n_contractor = max(4, round(0.06 * n))
        n_parkop = max(2, round(0.04 * n))
        n_owner = max(6, round(0.33 * n))
        n_tenant = n - n_agency - n_contractor - n_parkop - n_owner
        self.make_parks(n_parkop)
        letting = self.make_owners(n_owner)
        letting += self.park_buildings()
        self.agencies = [self.service(AGENCY_WORDS, "agency") for _ in range(n_agency)]
        self.contractors = []
        kinds = (("检维修外委", 0.35), ("工程发包", 0.25), ("环保设施托管", 0.15), ("劳务外包", 0.15), ("其他", 0.1))
        for i in range(n_contractor):
            kind = tuple(CONTRACT_WORK)[i] if i < len(CONTRACT_WORK) else self.weighted(kinds)
            c = self.service(CONTRACTOR_WORDS[kind], "contractor")
            c.contract_kind = kind
            self.contractors.append(c)
        self.make_tenancies(letting, n_tenant)
        self.make_operations()
        self.make_contracts()
        self.make_dispatch()
        self.make_hazards_and_inspections()
        if self.version >= 2:
            self.rng = random.Random(f"sitegraph-v2-{self.seed}")  # its own stream: the v1 part stays as it was
            self.version_2()
        if getattr(self, "provisional", 0.0) > 0:  # parties without a USCC (issue 13)
            from .generate_parties import make_provisional

            self.rng = random.Random(f"sitegraph-parties-{self.seed}")  # its own stream
            make_provisional(self, self.provisional)
        if self.duplicates > 0:
            self.rng = random.Random(f"sitegraph-duplicates-{self.seed}")  # its own stream, after everything else
            self.plant_duplicates()
        for label, recs in self.records.items():
            sheet = NODES[label].sheet
            for i, r in enumerate(recs):
                r["src_file"], r["src_sheet"], r["src_row"] = SRC_FILE, sheet, i + 2
        assert len(self.records["Enterprise"]) == n + len(self.planted)
        return self.records

    def service(self, words, role) -> _Ent:
        county = self.county()
        township = self.pick(county.townships)
        return self.enterprise(role, county, township, None, words=words, sector="其他")

    def make_parks(self, n_parkop: int) -> None:
        counties = [COUNTIES[i % len(COUNTIES)] for i in range(min(n_parkop, len(COUNTIES)))]
        counties += [self.county() for _ in range(n_parkop - len(counties))]
        used_names: set[str] = set()
        nested = 0
        for i, county in enumerate(counties):
            local = self.parks_by_county[county.name]
            parents = [p for p in local if p.depth == 1] or []
            deeper = [p for p in local if p.depth == 2]
            last_chance = i == len(counties) - 1 and not nested and len(counties) > len(COUNTIES)
            if parents and (self.chance(0.5) or last_chance):  # 园中园
                nested += 1
                parent = self.pick(deeper) if deeper and self.chance(0.15) else self.pick(parents)
                township = parent.rec["township"]
                name = self.unique(used_names, lambda: f"{self.trade_name()}" + self.pick(
                    ("科技产业园", "标准化厂房园区", "小微企业创业园", "物流园", "装备制造园", "新材料产业园")))
            else:
                parent = None
                free = [p for p in county.parks if p not in used_names]
                township = self.pick(county.townships)
                if free:
                    name = free[0]
                else:
                    name = self.unique(used_names, lambda: self.pick(
                        (f"{_short(township)}工业园区", f"{self.trade_name()}产业园", f"{_short(township)}物流园区")))
            used_names.add(name)
            op = self.enterprise("parkop", county, township, None, words=PARK_OPERATOR_WORDS, sector="其他")
            s = self.site("园区", name, county, township, parent, op)
            self.move(op, f"{county.full}{township}{name}管理服务中心")
            self.parks.append(s)
            local.append(s)

    def unique(self, used: set[str], make) -> str:
        for _ in range(30):
            name = make()
            if name not in used:
                return name
        return make() + str(len(used))

    def make_owners(self, n_owner: int) -> list[dict]:
        """Plant owners with their compounds and buildings; returns the buildings they let."""
        letting = []
        hosts = {c: [p for p in ps if p.depth <= 2] or ps for c, ps in self.parks_by_county.items()}
        for _ in range(n_owner):
            county = self.county()
            ind = self.industry(county)
            parks = hosts[county.name]
            in_park = parks and self.chance(0.5)
            park = self.pick(parks) if in_park else None
            township = park.rec["township"] if park else self.pick(county.townships)
            compound = self.chance(0.65)
            e = self.enterprise("owner", county, township, ind, site=park.rec if park and not compound else None)
            site = None
            if compound:
                cs = self.site("厂区", f"{_short_company(e.rec['name'])}厂区", county, township, park, e)
                site = cs.rec
                if park is not None:
                    self.move(e, f"{county.full}{township}{park.rec['name']}{_short_company(e.rec['name'])}厂区")
                nb = self.weighted(((2, 0.25), (3, 0.3), (4, 0.2), (5, 0.15), (6, 0.1)))
            else:
                site = park.rec if park else None
                nb = self.weighted(((1, 0.6), (2, 0.4)))
            fire = ind.fire[0][0]
            idle = e.rec["status"] == "停产" or self.chance(0.26)  # lets (part of) its plant
            made = []
            for k in range(nb):
                bname = ind.buildings[k % len(ind.buildings)]
                use = "仓储" if bname.endswith("库") else "生产"
                bfire = ("丙" if FIRE_CLASSES.index(fire) > 2 and ind.use == "仓储" else fire) if use == "生产" else \
                    ("丙" if ind.key not in ("refractory", "metallurgy") else "戊")
                name = f"{k // len(ind.buildings) + 1}号{bname}" if nb > len(ind.buildings) or self.chance(0.5) else bname
                made.append(self.building(e, name, use, bfire, county, township, site))
            if compound and self.chance(0.6):
                oname, ouse = self.pick(OFFICE_BUILDINGS)
                self.building(e, oname, ouse, None, county, township, site, floors=self.rng.randint(2, 5),
                              structure=self.weighted((("框架", 0.6), ("砖混", 0.4))))
            shed = None
            if self.chance(0.12):  # a shed put up later, often without permits, and often let
                shed = self.building(e, self.pick(SHEDS), "仓储", "丙", county, township, site, floors=1,
                                     structure="彩钢板", area=self.rng.randint(20, 150) * 10, shed=True)
            if idle:
                letting += [b for b in made if self.chance(0.6)] or [made[-1]]
            if shed is not None and (idle or self.chance(0.5)):
                letting.append(shed)
        return letting

    def park_buildings(self) -> list[dict]:
        """Standard plants owned by the park operators, all for lease."""
        letting = []
        for park in self.parks:
            op = self.by_uscc[park.rec["operator_uscc"]]
            county, township = park.county, park.rec["township"]
            for k in range(self.weighted(((2, 0.2), (3, 0.3), (4, 0.25), (5, 0.15), (6, 0.1)))):
                floors = 1 if self.chance(0.4) else self.rng.randint(2, 4)
                structure = (self.weighted((("钢结构", 0.6), ("排架", 0.3), ("彩钢板", 0.1))) if floors == 1
                             else self.weighted((("框架", 0.62), ("砖混", 0.33), ("其他", 0.05))))
                kind = self.pick(PARK_BUILDINGS)
                use = "仓储" if kind == "仓储厂房" else "生产"
                fire = self.weighted((("丙", 0.6), ("丁", 0.25), ("戊", 0.15)))
                letting.append(self.building(op, f"{kind}{k + 1}号楼", use, fire,
                                             county, township, park.rec, floors=floors, structure=structure))
            if self.chance(0.5):
                b = self.building(op, "综合服务楼", "办公", None, county, township, park.rec,
                                  floors=self.rng.randint(3, 6), structure="框架")
                if self.chance(0.4):
                    letting.append(b)
        return letting

    # ---- tenancies ---------------------------------------------------------------------------------

    def make_tenancies(self, letting: list[dict], n_tenant: int) -> None:
        slots: list[dict] = []
        for b in letting:
            cap = self.weighted(((1, 0.42), (2, 0.22), (3, 0.14), (4, 0.1), (5, 0.06), (6, 0.03), (8, 0.03)))
            slots += [b] * cap
        while len(slots) < n_tenant:
            slots.append(self.pick(letting))
        self.rng.shuffle(slots)
        tenants_on: dict[str, list[_Ent]] = {}
        order: list[dict] = []
        for i in range(n_tenant):
            b = slots[i]
            county = next(c for c in COUNTIES if c.name == b["county"])
            ind = self.industry(county, lessee=True)
            if b["name"] in SHEDS and self.chance(0.6):  # the spray shop in a rented shed
                ind = INDUSTRIES[self.pick(("spraying", "spraying", "woodwork", "logistics"))]
            if (b["floors"] or 1) > 1 and ind.key in ("machinery", "refractory"):
                # Multi-storey plants house light workshops rather than warehouses; the cheap
                # old brick ones draw polishing and woodwork shops (DUST-1 territory).
                if b["structure"] not in FRAME_STRUCTURES and self.chance(0.5):
                    ind = INDUSTRIES[self.pick(("woodwork", "aluminium", "food", "magnetic"))]
                elif self.chance(0.3):
                    ind = INDUSTRIES[self.pick(("textile", "plastics", "food"))]
            site = self.site_of.get(b["site_id"]) if b["site_id"] else None
            e = self.enterprise("tenant", county, b["township"], ind, site=site)
            if b["building_id"] not in tenants_on:
                tenants_on[b["building_id"]] = []
                order.append(b)
            tenants_on[b["building_id"]].append(e)
            e.leased.append(b)
        # A few tenants rent a second building in their county; a few owners rent one too.
        by_county: dict[str, list[dict]] = {}
        for b in letting:
            by_county.setdefault(b["county"], []).append(b)
        extra = [e for e in self.ents if e.role == "tenant" and self.chance(0.07)]
        extra += [e for e in self.ents if e.role == "owner" and self.chance(0.04)]
        for e in extra:
            choices = by_county.get(e.county.name)
            if not choices:
                continue
            for _ in range(8):
                b = self.pick(choices)
                if b["owner_uscc"] != e.uscc and b not in e.leased:
                    break
            else:
                continue
            if b["building_id"] not in tenants_on:
                tenants_on[b["building_id"]] = []
                order.append(b)
            tenants_on[b["building_id"]].append(e)
            e.leased.append(b)
        for b in order:
            self.lease_building(b, tenants_on[b["building_id"]])

    def lease_building(self, b: dict, tenants: list[_Ent]) -> None:
        owner = self.owner_of[b["building_id"]]
        lessor_of = {t.uscc: owner for t in tenants}
        extra: list[tuple[_Ent, _Ent]] = []  # (lessee, lessor): a second lease on the same building
        if len(tenants) >= 3 and self.chance(0.5):  # 二房东: the first tenant sublets to the others
            head = tenants[0]
            head.sublessor = True
            second = [t for t in tenants[1:] if self.chance(0.75)]
            for t in second:
                lessor_of[t.uscc] = head
            if len(second) >= 2 and self.chance(0.6):  # 转租 again: depth 3
                mid, last = second[0], second[-1]
                mid.sublessor = True
                lessor_of[last.uscc] = mid
            plain = [t for t in second if not t.sublessor and lessor_of[t.uscc] is head]
            if plain and self.chance(0.3):  # one of them also rents a floor from the owner
                extra.append((self.pick(plain), owner))
        elif len(tenants) >= 2 and self.chance(0.2):
            tenants[0].sublessor = True
            lessor_of[tenants[1].uscc] = tenants[0]
        n = len(tenants) + len(extra)
        for t in tenants:
            self.tenancy(b, owner, lessor_of[t.uscc], t, n)
        for t, lessor in extra:
            self.tenancy(b, owner, lessor, t, n)

    def tenancy(self, b: dict, owner: _Ent, lessor: _Ent, lessee: _Ent, n_on_building: int) -> dict:
        rec = self.new_record("Tenancy")
        county = next(c for c in COUNTIES if c.name == b["county"])
        rec["tenancy_id"] = f"ZL-{county.abbr}-{self.next_id('tenancy'):06d}"
        rec["lessor_uscc"], rec["lessee_uscc"], rec["building_id"] = lessor.uscc, lessee.uscc, b["building_id"]
        where = (b["county"], b["township"])
        floors = b["floors"] or 1
        if n_on_building == 1 and self.chance(0.7):
            rec["floor"] = "全部"
        elif floors > 1:
            rec["floor"] = f"{self.rng.randint(1, floors)}层"
        else:
            rec["floor"] = self.pick(("东跨", "西跨", "中跨", "南侧", "北侧", "一跨", "二跨"))
        if self.chance(0.03):
            rec["floor"] = None
        rec["underground"] = is_underground(rec["floor"])
        total = b["floor_area"] or 2000.0
        share = 1.0 if n_on_building == 1 else self.rng.uniform(0.4, 1.0) / n_on_building
        rec["area"] = None if self.chance(0.03) else float(max(20, round(total * share / 10) * 10))
        ind = lessee.industry
        office = b["planned_use"] == "办公"
        sublet = lessor is not owner
        if office:
            rec["purpose"], rec["activity"], rec["goods_fire_class"] = "办公", "办公", None
        else:
            r = self.rng.random()
            if r < 0.03 * (1 + lessee.care):
                rec["purpose"] = "宿舍"
            elif r < 0.72:
                rec["purpose"] = b["planned_use"]  # declared as designed, whatever is done inside
            else:
                rec["purpose"] = ind.use if ind else b["planned_use"]
            if self.chance(0.03):
                rec["purpose"] = None
            rec["activity"] = self.pick(ind.products) if ind else "仓储"
            rec["goods_fire_class"] = self.weighted(ind.fire) if ind and not self.chance(0.05) else None
        n_workers = max(2, int((rec["area"] or 500) / self.rng.uniform(30, 120)))
        rec["workers"] = None if self.chance(0.03) else n_workers
        # The lessor's management: a hands-off lessor neither coordinates nor inspects.
        hands_off = self.chance((0.03, 0.12, 0.45)[lessor.care] + (0.15 if sublet else 0))
        if hands_off:
            rec["safety_agreement"] = self.weighted(((True, 0.3), (False, 0.5), (None, 0.2)))
            rec["duties_defined"] = (self.weighted(((True, 0.2), (False, 0.6), (None, 0.2)))
                                     if rec["safety_agreement"] else self.weighted(((False, 0.7), (None, 0.3))))
            rec["coordinated"] = self.weighted(((False, 0.75), (None, 0.25)))
            rec["periodic_inspection"] = self.weighted(((False, 0.7), (None, 0.2), (True, 0.1)))
        else:
            rec["safety_agreement"] = self.duty(lessor.care, where)
            rec["duties_defined"] = self.duty(lessor.care, where) if rec["safety_agreement"] else \
                self.weighted(((False, 0.8), (None, 0.2)))
            rec["coordinated"] = self.duty(lessor.care, where)
            rec["periodic_inspection"] = self.duty(lessor.care, where)
        rec["lessee_reviewed"] = self.duty(lessor.care, where)
        rec["use_reviewed"] = self.duty(lessor.care, where)
        rec["sublease_consent"] = (self.weighted(((True, 0.5), (False, 0.3), (None, 0.2))) if sublet else None)
        goods, bclass = rec["goods_fire_class"], b["fire_class"]
        if goods and bclass and FIRE_CLASSES.index(goods) < FIRE_CLASSES.index(bclass):
            rec["fire_reacceptance"] = self.weighted(((True, (0.8, 0.35, 0.1)[lessee.care]), (False, 0.45), (None, 0.2)))
        else:
            rec["fire_reacceptance"] = None
        rec["three_in_one"] = self.violation(lessee.care, where, 0.8)
        rec["dorm_inside"] = True if rec["purpose"] == "宿舍" else self.violation(lessee.care, where, 0.6)
        rec["illegal_power_gas"] = self.violation(lessee.care, where, 1.2)
        chem = ind is not None and ind.key in ("spraying", "plastics", "logistics", "baijiu")
        rec["illegal_hazchem"] = self.violation(lessee.care, where, 1.5 if chem else 0.3)
        if not self.chance(0.04):
            start = self.day(dt.date(2014, 1, 1), dt.date(2024, 10, 31))
            rec["start_date"] = start
            if not self.chance(0.05):
                years = self.weighted(((1, 0.25), (2, 0.2), (3, 0.25), (5, 0.2), (10, 0.1)))
                rec["end_date"] = start.replace(year=start.year + years, day=min(start.day, 28)) - dt.timedelta(days=1)
        return rec

    # ---- operations, contracts, dispatch -------------------------------------------------------------

    def operation(self, e: _Ent, b: dict, category: str, description: str) -> dict:
        rec = self.new_record("Operation")
        rec["operation_id"] = f"ZY-{b['building_id'][:2]}-{self.next_id('operation'):06d}"
        rec["uscc"], rec["building_id"], rec["category"] = e.uscc, b["building_id"], category
        rec["description"] = description
        rec["workers"] = None if self.chance(0.04) else self.rng.randint(2, 40)
        where = (b["county"], b["township"])
        crowded = category in ("粉尘涉爆", "高温熔融金属", "涉氨制冷", "喷涂")
        rec["crowded_rooms"] = self.violation(e.care, where, 5.0 if category == "粉尘涉爆" else 2.5) if crowded else \
            (None if self.chance(0.6) else self.violation(e.care, where, 0.5))
        e.ops.append(rec)
        return rec

    def make_operations(self) -> None:
        for e in self.ents:
            ind = e.industry
            if ind is None:
                continue
            if e.role == "owner":
                prod = [b for b in e.owned if b["planned_use"] == "生产"] or e.owned
                for cat, p, desc in ind.operations:
                    if self.chance(p):
                        self.operation(e, self.pick(prod), cat, desc)
            elif e.leased:
                b = e.leased[0]
                if b["planned_use"] == "办公":
                    continue
                for cat, p, desc in ind.operations:
                    if self.chance(p * 0.9):
                        self.operation(e, b, cat, desc)

    def make_contracts(self) -> None:
        by_kind: dict[str, list[_Ent]] = {}
        by_kind_county: dict[tuple[str, str], list[_Ent]] = {}
        for c in self.contractors:
            by_kind.setdefault(c.contract_kind, []).append(c)
            by_kind_county.setdefault((c.contract_kind, c.county.name), []).append(c)
        kinds_for = {
            "refractory": (("检维修外委", 3), ("环保设施托管", 2), ("劳务外包", 2), ("工程发包", 1)),
            "metallurgy": (("检维修外委", 3), ("环保设施托管", 2), ("工程发包", 1)),
            "aluminium": (("检维修外委", 3), ("环保设施托管", 1.5), ("工程发包", 1)),
        }
        default = (("检维修外委", 2), ("工程发包", 1.5), ("环保设施托管", 0.7), ("劳务外包", 0.6), ("其他", 0.8))
        for e in self.ents:
            if e.role == "owner":
                n = self.weighted(((0, 0.45), (1, 0.3), (2, 0.17), (3, 0.08)))
            elif e.role == "parkop":
                n = self.weighted(((0, 0.45), (1, 0.4), (2, 0.15)))
            elif e.role == "tenant" and e.leased:
                n = 1 if self.chance(0.08) else 0
            else:
                n = 0
            for _ in range(n):
                if e.role == "parkop":
                    kind = self.weighted((("工程发包", 3), ("其他", 1), ("检维修外委", 1)))
                else:
                    kind = self.weighted(kinds_for.get(e.industry.key if e.industry else "", default))
                pool = by_kind.get(kind) or self.contractors
                local = by_kind_county.get((kind, e.county.name)) if kind in by_kind else None
                contractor = self.pick(local if local and self.chance(0.65) else pool)
                if contractor is e:
                    continue
                self.contract(e, contractor, kind)

    def contract(self, client: _Ent, contractor: _Ent, kind: str) -> dict | None:
        buildings = client.owned + client.leased
        b = self.pick(buildings) if buildings else None
        site = (self.site_of.get(b["site_id"]) if b and b["site_id"] else None) or \
            (client.sites[0] if client.sites else None)
        if b is None and site is None:
            return None  # nowhere to work: no contract
        rec = self.new_record("Contract")
        rec["contract_id"] = f"WB-{self.next_id('contract'):06d}"
        rec["client_uscc"], rec["contractor_uscc"], rec["kind"] = client.uscc, contractor.uscc, kind
        r = self.rng.random()
        if b is None or (site is not None and r < 0.2):
            rec["site_id"] = site["site_id"]
        elif site is not None and r < 0.55:
            rec["building_id"], rec["site_id"] = b["building_id"], site["site_id"]
        else:
            rec["building_id"] = b["building_id"]
        work, hrw = self.pick(CONTRACT_WORK[kind])
        rec["work"] = work
        rec["high_risk_work"] = list(hrw) if hrw else None
        where = (client.county.name, client.township)
        hands_off = self.chance((0.03, 0.12, 0.4)[client.care])  # 以包代管
        rec["contractor_qualified"] = self.duty(contractor.care, where, (0.97, 0.85, 0.6)[contractor.care])
        if hands_off:
            rec["safety_agreement"] = self.weighted(((True, 0.35), (False, 0.45), (None, 0.2)))
            rec["duties_defined"] = self.weighted(((False, 0.7), (None, 0.3)))
            rec["client_coordinates"] = self.weighted(((False, 0.75), (None, 0.25)))
            rec["contractor_site_manager"] = self.weighted(((False, 0.55), (None, 0.3), (True, 0.15)))
        else:
            rec["safety_agreement"] = self.duty(client.care, where)
            rec["duties_defined"] = self.duty(client.care, where) if rec["safety_agreement"] else False
            rec["client_coordinates"] = self.duty(client.care, where)
            rec["contractor_site_manager"] = self.duty(contractor.care, where)
        rec["subcontracted"] = self.weighted(((False, 0.78), (True, 0.1), (None, 0.12)))
        if not self.chance(0.05):
            start = self.day(dt.date(2023, 6, 1), dt.date(2025, 1, 10))
            rec["start_date"] = start
            if not self.chance(0.06):
                rec["end_date"] = start + dt.timedelta(days=self.weighted(((30, 0.2), (90, 0.25), (180, 0.2),
                                                                           (364, 0.25), (729, 0.1))))
        # The contractor runs the high-risk part of the job in the client's building.
        op_cat = {"有限空间作业": "有限空间", "动火作业": "动火", "筒仓清库": "筒仓清库", "检维修作业": "检维修",
                  "煤气作业": "煤气"}
        if rec["building_id"] and hrw and self.chance(0.45):
            cats = [op_cat[w] for w in hrw if w in op_cat]
            if kind == "环保设施托管":
                cats = ["环保设施"]
            if cats:
                b = next(x for x in buildings if x["building_id"] == rec["building_id"])
                self.operation(contractor, b, self.pick(cats), work)
        return rec

    def make_dispatch(self) -> None:
        hosts = []
        for e in self.ents:
            p = {"owner": 0.25, "contractor": 0.4, "tenant": 0.05, "parkop": 0.05}.get(e.role, 0)
            if self.chance(p):
                hosts.append(e)
        my_contracts: dict[str, list[str]] = {}
        for c in self.records["Contract"]:
            my_contracts.setdefault(c["contractor_uscc"], []).append(c["contract_id"])
        for e in hosts:
            cw = e.rec["contract_workers"] or 0
            over = self.chance((0.1, 0.3, 0.6)[e.care])
            if over:
                ratio = self.rng.uniform(0.12, 0.55)
                total = max(1, round(ratio * cw / (1 - ratio)))
            elif cw % 9 == 0 and cw and self.chance(0.3):
                total = cw // 9  # exactly 10 %: at the cap, not over it
            else:
                total = max(1, int(cw * self.rng.uniform(0.01, 0.09)))
            rows = 1 if total < 6 or self.chance(0.6) else 2
            split = [total] if rows == 1 else [total // 2, total - total // 2]
            for workers in split:
                rec = self.new_record("Dispatch")
                rec["dispatch_id"] = f"PQ-{self.next_id('dispatch'):06d}"
                rec["agency_uscc"] = self.pick(self.agencies).uscc
                rec["host_uscc"] = e.uscc
                if e.role == "contractor" and my_contracts.get(e.uscc) and self.chance(0.7):
                    rec["contract_id"] = self.pick(my_contracts[e.uscc])
                rec["workers"] = workers
                nature = self.weighted((("辅助性", 0.45), ("临时性", 0.3), ("替代性", 0.1),
                                        ("其他", (0.07, 0.2, 0.4)[e.care])))
                rec["position_nature"] = nature
                rec["position"] = self.pick(DISPATCH_POSTS[nature])
                if nature == "临时性":
                    months = self.rng.randint(1, 6) if not self.chance((0.08, 0.3, 0.55)[e.care]) else \
                        self.pick((7, 8, 9, 12, 18, 24, 36))
                else:
                    months = self.pick((6, 12, 12, 24, 24, 36))
                rec["months"] = None if self.chance(0.05) else months

    # ---- hazards and inspections ---------------------------------------------------------------------

    def hazard(self, e: _Ent, found_on: dt.date, found_by: str, major: bool | None = None,
               building: dict | None = None) -> dict:
        rec = self.new_record("Hazard")
        rec["hazard_id"] = f"YH-{e.county.abbr}-{self.next_id('hazard'):06d}"
        rec["uscc"] = e.uscc
        places = e.owned + e.leased + [self.building_of(op) for op in e.ops]
        if building is None and places and not self.chance(0.1):
            building = self.pick(places)
        rec["building_id"] = building["building_id"] if building else None
        if major is None:
            major = self.chance((0.03, 0.09, 0.22)[e.care])
        rec["level"] = "重大" if major else "一般"
        if major:
            clauses = list(e.industry.clauses) if e.industry else ["GEN-1", "GEN-2"]
            if any(op["category"] == "粉尘涉爆" for op in e.ops):
                clauses += ["DUST-1", "DUST-3"]
            if any(op["category"] == "有限空间" for op in e.ops):
                clauses.append("CS-2")
            rec["clause"] = self.pick(clauses)
            rec["description"] = CLAUSE_HAZARDS[rec["clause"]]
            measure = self.pick(CLAUSE_MEASURES[rec["clause"].split("-")[0]])
        else:
            rec["clause"] = None
            rec["description"], measure = self.pick(GENERAL_HAZARDS)
        rec["found_on"], rec["found_by"] = found_on, found_by
        # 五落实. A sloppy ledger leaves some of responsibility, measures, funds, time limit blank.
        sloppy = 0.35 if self.chance((0.05, 0.2, 0.5)[e.care]) else 0.0
        deadline = found_on + dt.timedelta(days=self.pick((30, 60, 90, 120) if major else (3, 7, 15, 30, 30, 60)))
        # Status as of the reference date: a passed time limit was mostly met.
        if deadline < REFERENCE_DATE:
            p_fixed = 0.97 * (1.0, 0.9, 0.7)[e.care] * (0.9 if major else 1.0)
        else:
            p_fixed = min(0.9, (REFERENCE_DATE - found_on).days / 40) * (1.0, 0.85, 0.55)[e.care] * (0.8 if major else 1.0)
        if self.chance(p_fixed):
            rec["status"] = "已销号" if self.chance(0.55) else "已整改"
        else:
            rec["status"] = "整改中" if self.chance(0.55) else "未整改"
        is_open = rec["status"] in ("未整改", "整改中")
        if not is_open:
            sloppy /= 2
        rec["responsible_person"] = None if self.chance(sloppy) else self.person()
        rec["measures"] = None if self.chance(sloppy) else measure
        rec["funds"] = None if self.chance(sloppy * 1.5) else round(
            self.rng.uniform(5, 200) if major else self.rng.uniform(0.1, 5), 1)
        rec["deadline"] = None if self.chance(sloppy) else deadline
        rec["contingency_plan"] = None if self.chance(sloppy) else self.chance((0.98, 0.9, 0.7)[e.care])
        if rec["status"] == "已销号":
            rec["closed_on"] = self.day(min(found_on + dt.timedelta(days=3), REFERENCE_DATE), REFERENCE_DATE)
        if major:
            rec["reported_to_authority"] = self.duty(e.care, (e.county.name, e.township), (0.95, 0.75, 0.4)[e.care])
            rec["reported_to_staff"] = self.duty(e.care, (e.county.name, e.township), (0.9, 0.65, 0.3)[e.care])
            by_gov = found_by in ("县区检查", "市级督导")
            rec["supervised"] = self.weighted(((True, 0.7 if by_gov else 0.3), (False, 0.2), (None, 0.15)))
            rec["suspended"] = self.chance(0.45) if is_open else self.weighted(((False, 0.6), (None, 0.4)))
        e.hazards.append(rec)
        return rec

    def building_of(self, op: dict) -> dict:
        return self._buildings[op["building_id"]]

    def agency_for(self, e: _Ent) -> tuple[str, str, str, dt.date, dt.date]:
        """(agency, found_by, document abbreviation, first day, last day) of one inspection."""
        r = self.rng.random()
        c = e.county
        if r < 0.55:
            return c.agency, "县区检查", c.doc_abbr + "应急", COUNTY_CHECKS, REFERENCE_DATE
        if r < 0.72:
            return c.fire_brigade, "县区检查", c.doc_abbr + "消", COUNTY_CHECKS, REFERENCE_DATE
        if r < 0.88:
            return f"{CITY}应急管理局", "市级督导", "阳应急", dt.date(2024, 11, 25), REFERENCE_DATE
        gov = f"{e.township}{'办事处' if e.township.endswith('街道') else '人民政府'}"
        return gov, "其他", c.doc_abbr + _short(e.township), CAMPAIGN_START, SELF_CHECK_END

    def inspectors(self, agency: str) -> list[str]:
        staff = self.staff.get(agency)
        if staff is None:
            staff = self.staff[agency] = list(dict.fromkeys(self.person() for _ in range(self.rng.randint(5, 14))))
        return self.rng.sample(staff, min(len(staff), self.weighted(((2, 0.65), (3, 0.3), (1, 0.05)))))

    def document(self, prefix: str, kind: str, on: dt.date) -> str:
        key = f"{prefix}{kind}{on.year}"
        self.doc_seq[key] = self.doc_seq.get(key, 0) + 1
        return f"{prefix}{kind}〔{on.year}〕{self.doc_seq[key]}号"

    def inspection(self, e: _Ent, plan: tuple, on: dt.date, hazards: list[dict], actions: list[str]) -> dict:
        agency, _, prefix, _, _ = plan
        rec = self.new_record("Inspection")
        rec["inspection_id"] = f"JC-{e.county.abbr}-{self.next_id('inspection'):06d}"
        rec["date"], rec["agency"] = on, agency
        rec["inspectors"] = self.inspectors(agency)
        rec["signed"] = self.weighted(((True, 0.91), (False, 0.05), (None, 0.04)))
        rec["uscc"] = e.uscc
        rec["hazard_ids"] = [h["hazard_id"] for h in hazards] or None
        if hazards:
            kind = "罚" if "行政处罚" in actions else ("停" if "责令停产整顿" in actions else "责改")
            rec["document_no"] = self.document(prefix, kind, on) if self.chance(0.88) else None
        else:
            rec["document_no"] = self.document(prefix, "检", on) if self.chance(0.05) else None
        rec["actions"] = [a for a in ACTIONS if a in actions] or None
        return rec

    def make_hazards_and_inspections(self) -> None:
        self._buildings = {b["building_id"]: b for b in self.records["Building"]}
        candidates = [e for e in self.ents if e.role in ("owner", "tenant")]
        k = max(2, round(0.012 * self.n))
        closers = set(id(e) for e in self.rng.sample(candidates, min(k, len(candidates))))
        for e in self.ents:
            # Hazards the enterprise found itself (自查自改) or that people reported.
            lam = {"owner": 1.6, "tenant": 0.9, "parkop": 0.8, "contractor": 0.3, "agency": 0.05}[e.role]
            lam *= (0.8, 1.2, 1.8)[e.care]
            for _ in range(_poisson(self.rng, lam)):
                by = self.weighted((("企业自查", 0.9), ("群众举报", 0.05), ("其他", 0.05)))
                on = self.day(dt.date(2024, 10, 8), SELF_CHECK_END) if by == "企业自查" else \
                    self.day(dt.date(2024, 6, 1), REFERENCE_DATE)
                self.hazard(e, on, by)
            if id(e) in closers:
                self.closure_case(e)
                continue
            p = {"owner": 0.85, "tenant": 0.6, "parkop": 0.7, "contractor": 0.25, "agency": 0.05}[e.role]
            if not self.chance(p):
                continue
            plans = [self.agency_for(e) for _ in range(self.weighted(((1, 0.7), (2, 0.25), (3, 0.05))))]
            dated = sorted(((self.day(a[3], a[4]), a) for a in plans), key=lambda x: x[0])
            for on, plan in dated:
                found = [] if self.chance((0.6, 0.35, 0.15)[e.care]) else [
                    self.hazard(e, on, plan[1]) for _ in range(self.weighted(((1, 0.5), (2, 0.3), (3, 0.2))))]
                self.inspection(e, plan, on, found, self.actions_for(e, found))

    def actions_for(self, e: _Ent, found: list[dict]) -> list[str]:
        acts = []
        if any(h["level"] == "重大" for h in found):
            for a, p in (("责令停产整顿", 0.45), ("挂牌督办", 0.5), ("行政处罚", 0.4), ("查封扣押", 0.05)):
                if self.chance(p):
                    acts.append(a)
        elif found and self.chance(0.15):
            acts.append("行政处罚")
        if e.rec["business_license"] is False and self.chance(0.3):
            acts.append("依法取缔")
        if any(b["escape_obstruction"] for b in e.owned + e.leased) and self.chance(0.3):
            acts.append("强制拆除")
        return acts

    def closure_case(self, e: _Ent) -> None:
        """Ordered to stop and rectify, and a later re-inspection still finds a 重大 hazard."""
        plan = (e.county.agency, "县区检查", e.county.doc_abbr + "应急", COUNTY_CHECKS, REFERENCE_DATE)
        first = self.day(COUNTY_CHECKS, REFERENCE_DATE - dt.timedelta(days=30))
        h1 = self.hazard(e, first, "县区检查", major=True)
        self.inspection(e, plan, first, [h1], ["责令停产整顿", "行政处罚"])
        again = self.day(first + dt.timedelta(days=15), REFERENCE_DATE)
        h2 = self.hazard(e, again, "县区检查", major=True)
        self.inspection(e, plan, again, [h2], self.actions_for(e, [h2]))


    # ---- version 2 (survey-format.md "Version 2 additions") ---------------------------------------

    def version_2(self) -> None:
        self.underground_floors()
        self.building_managers()
        self.legacy_hazards()
        for h in self.records["Hazard"]:
            self.closed_loop(h)
        self.resumptions()

    def underground_floors(self) -> None:
        """Basements let as workshops and stores, in every spelling the contract accepts."""
        spellings = (("地下一层", 3), ("地下室", 2), ("负一层", 2), ("负1层", 1), ("B1", 3), ("B2", 1), ("-1", 1),
                     ("-1层", 1), ("Ｂ１", 1), ("－１", 0.5), ("地下二层", 0.5))
        for t in self.records["Tenancy"]:
            b = self._buildings[t["building_id"]]
            if b["planned_use"] == "办公":
                continue
            p = 0.08 if (b["floors"] or 1) > 1 else 0.03
            if t["goods_fire_class"] in ("甲", "乙"):
                p *= 4  # cheap basements draw the paint and solvent stores
            if self.chance(p):
                t["floor"] = self.weighted(spellings)
            elif t["floor"] and self.chance(0.004):
                t["floor"] = self.pick(("B区", "北跨B1区", "地上一层", "1层（含夹层）"))  # not underground
            t["underground"] = is_underground(t["floor"])

    def building_managers(self) -> None:
        """统一管理单位 of a building (消防〔2023〕72号 第七条): most multi-user buildings in a park have
        one (the park's operator or the owner); many outside parks do not."""
        lessees: dict[str, list[str]] = {}
        for t in self.records["Tenancy"]:
            lessees.setdefault(t["building_id"], []).append(t["lessee_uscc"])
        for b in self.records["Building"]:
            users = list(dict.fromkeys(lessees.get(b["building_id"], ())))
            owner = self.owner_of[b["building_id"]]
            if self.rng.random() < self.blank_rate[(b["county"], b["township"])]:
                continue
            if len(users) >= 2:
                p = (0.8, 0.55, 0.3)[owner.care] + (0.1 if b["site_id"] else -0.1)
                if self.chance(p):
                    site = self.site_of.get(b["site_id"]) if b["site_id"] else None
                    park_op = site["operator_uscc"] if site and site["kind"] == "园区" else None
                    b["manager_uscc"] = self.weighted(((owner.uscc, 0.6), (park_op or owner.uscc, 0.25),
                                                       (self.pick(users), 0.15)))
            elif users and self.chance(0.2):
                b["manager_uscc"] = owner.uscc

    def legacy_hazards(self) -> None:
        """存量重大隐患: found before the 治本攻坚 cut-off (2023-12-31) and still on the ledger."""
        for e in self.ents:
            if e.role not in ("owner", "tenant") or not self.chance(0.08 if e.role == "owner" else 0.03):
                continue
            found = self.day(dt.date(2021, 3, 1), dt.date(2023, 12, 31))
            if self.chance(0.04):
                found = dt.date(2023, 12, 31)
            h = self.hazard(e, found, self.weighted((("县区检查", 0.5), ("市级督导", 0.3), ("企业自查", 0.2))), major=True)
            if self.chance((0.35, 0.55, 0.75)[e.care]):  # not yet cleared
                h["status"] = self.pick(("未整改", "整改中", "整改中"))
                h["closed_on"] = None
            elif h["status"] not in ("已整改", "已销号"):
                h["status"] = "已销号"
                h["closed_on"] = self.day(found + dt.timedelta(days=30), REFERENCE_DATE)

    def closed_loop(self, h: dict) -> None:
        """整改 → 验收 → 销号, and 挂牌督办's level, dates and 摘牌."""
        e = self.by_uscc[h["uscc"]]
        found, closed = h["found_on"], h["closed_on"]
        major = h["level"] == "重大"
        if h["status"] in ("已整改", "已销号") and self.chance(0.9):
            end = closed or REFERENCE_DATE
            h["rectified_on"] = self.day(found, min(end, h["deadline"] or end))
        elif h["status"] == "整改中" and self.chance(0.03):
            h["rectified_on"] = self.day(found, REFERENCE_DATE)  # done, waiting for the check
        if h["status"] == "已销号":
            r = self.rng.random()
            skipped = (0.04, 0.12, 0.3)[e.care] * (1.0 if major else 1.5)  # 销号 without 验收
            if r < skipped:
                pass
            elif r < skipped + 0.03:
                h["acceptance"] = "不通过"  # closed although the check failed
            else:
                h["acceptance"] = "通过"
            if h["acceptance"] and not (h["acceptance"] == "通过" and self.chance(0.03)):
                start = h["rectified_on"] or found
                h["accepted_on"] = self.day(start, max(start, closed))
            elif h["acceptance"]:
                h["acceptance"] = None  # a verdict without a date is refused: leave both blank
        elif h["status"] == "已整改" and self.chance(0.35):
            h["acceptance"] = "不通过" if self.chance(0.2) else "通过"
            start = h["rectified_on"] or found
            h["accepted_on"] = self.day(start, REFERENCE_DATE)
        if h["acceptance"]:
            h["accepted_by"] = (e.county.agency if major or self.chance(0.3) else e.rec["name"]) \
                if not self.chance(0.08) else None
        if h["supervised"] is True:
            h["supervision_level"] = None if self.chance(0.05) else self.weighted(
                (("县级", 0.65), ("市级", 0.3), ("省级", 0.05)))
            on = min(found + dt.timedelta(days=self.rng.randint(0, 10)), REFERENCE_DATE)
            h["supervised_on"] = None if self.chance(0.04) else on
            h["supervision_deadline"] = None if self.chance(0.06) else on + dt.timedelta(
                days=self.pick((30, 45, 60, 90)))
            cleared = h["status"] == "已销号" or (h["acceptance"] == "通过" and h["accepted_on"])
            if cleared and self.chance(0.85):
                h["delisted_on"] = max(on, h["accepted_on"] or closed or on)

    def resumptions(self) -> None:
        """准予复产: a re-inspection after a stop order lets most stopped enterprises resume."""
        stops: dict[str, list[dict]] = {}
        for i in self.records["Inspection"]:
            if "责令停产整顿" in (i["actions"] or ()):
                stops.setdefault(i["uscc"], []).append(i)
        for uscc, orders in stops.items():
            e = self.by_uscc[uscc]
            last = max(orders, key=lambda i: i["date"])
            if not self.chance((0.8, 0.6, 0.35)[e.care]) or last["date"] >= REFERENCE_DATE:
                continue
            on = self.day(last["date"] + dt.timedelta(days=1), min(REFERENCE_DATE, last["date"] + dt.timedelta(days=45)))
            # the county's 应急管理局 checks the rectification and lets production resume
            plan = (e.county.agency, "县区检查", e.county.doc_abbr + "应急", COUNTY_CHECKS, REFERENCE_DATE)
            rec = self.inspection(e, plan, on, [], ["准予复产"])
            rec["document_no"] = self.document(plan[2], "复", on) if self.chance(0.9) else None

    # ---- planted duplicates (issue 13: `sitegraph dedupe`) ------------------------------------------

    def plant_duplicates(self) -> None:
        """The same party written a second time, as another team would: a variant of its name (a
        leading 阳泉市 added or dropped, 有限公司 for 有限责任公司, the place in brackets, spaces, a
        one-character typo), without its code (a 临时编码, 40 %) or with its code copied with one
        character wrong (so its check character fails), mostly the same township and address,
        often the same principal and phone; for half of those with a code, one of the party's
        tenancies or contracts is written against the second record. Each pair goes to `self.planted` as [kept key, duplicate key, variant kinds]."""
        k = round(self.n * self.duplicates)
        refs: dict[str, list[tuple[dict, str]]] = {}
        lessors = {t["lessor_uscc"] for t in self.records["Tenancy"]}  # a sub-lessor's chain must hold: left alone
        for t in self.records["Tenancy"]:
            if t["lessee_uscc"] not in lessors:
                refs.setdefault(t["lessee_uscc"], []).append((t, "lessee_uscc"))
        for c in self.records["Contract"]:
            refs.setdefault(c["contractor_uscc"], []).append((c, "contractor_uscc"))
        provisional_ok = "provisional_id" in {c.key for c in NODES["Enterprise"].columns}
        taken = {r.get(x) for r in self.records["Enterprise"] for x in ("uscc", "provisional_id")}
        pool = [e for e in self.ents if e.rec.get("party_kind") != "自然人"]  # a person's name has no variants here
        for e in self.rng.sample(pool, min(k, len(pool))):
            rec = dict(e.rec)
            rec["name"], kinds = self.name_variant(e)
            # a party already known only by a 临时编码 can only be written again without a code
            provisional = provisional_ok and (self.chance(0.4) or e.rec.get("provisional_id") == e.uscc)
            if provisional:  # written down without its code: a survey team's 临时编码 (docs/parties.md)
                seq = len(self.planted) + 1
                while f"LS-{e.township}-C{seq:04d}" in taken:
                    seq += 1
                rec["uscc"] = rec["provisional_id"] = f"LS-{e.township}-C{seq:04d}"
                rec["uscc_valid"] = None
                taken.add(rec["uscc"])
            else:
                rec["uscc"], rec["uscc_valid"] = self.code_typo(e.uscc), False
            township = e.township
            r = self.rng.random()
            if r < 0.12:  # written by the team of another township of the county, where it also works
                township = self.pick([t for t in e.county.townships if t != e.township] or [e.township])
                rec["address"] = self.address(e.county, township)
            elif r < 0.35:
                rec["address"] = self.address(e.county, township)  # another address of the same township
            elif r < 0.6 and rec["address"]:
                rec["address"] = _typed_differently(rec["address"], self.rng)
            rec["township"] = township
            rec["licensed_address"] = e.rec["licensed_address"] if self.chance(0.5) else None
            if not self.chance(0.75):
                rec["principal"] = self.person()
            if not self.chance(0.6):
                rec["phone"] = self.phone() if self.chance(0.8) else None
            self.records["Enterprise"].append(rec)
            self.usccs.add(rec["uscc"])
            self.names.add(rec["name"])
            mine = refs.get(e.uscc, [])
            if mine and self.chance(0.5) and not provisional:
                target, col = self.pick(mine)
                target[col] = rec["uscc"]
            self.planted.append([e.uscc, rec["uscc"], kinds])

    def name_variant(self, e: _Ent) -> tuple[str, list[str]]:
        """A name another team might have written for `e`, and which kinds of variation it has."""
        kinds_w = (("prefix", 0.3), ("suffix", 0.3), ("brackets", 0.15), ("spaces", 0.2), ("typo", 0.2))
        name = e.rec["name"]
        for _ in range(20):
            kinds = [self.weighted(kinds_w)]
            if self.chance(0.4):
                kinds.append(self.weighted([kw for kw in kinds_w if kw[0] != kinds[0]]))
            out = name
            for kind in kinds:
                out = self._vary(out, kind, e.county)
            if out != name and out not in self.names:
                return out, kinds
        return name + "\u3000", ["spaces"]  # pragma: no cover - every variation taken already

    def _vary(self, name: str, kind: str, county: County) -> str:
        regions = (CITY, "阳泉", "山西省", "山西", county.full, county.name)
        lead = next((r for r in sorted(regions, key=len, reverse=True) if name.startswith(r)), "")
        if kind == "prefix":
            return name[len(lead):] if lead else self.pick((CITY, "山西省", county.full)) + name
        if kind == "suffix":
            for a, b in (("有限责任公司", "有限公司"), ("股份有限公司", "有限公司"), ("有限公司", "有限责任公司"),
                         ("厂", "有限公司"), ("商行", "经营部"), ("经营部", "商行")):
                if name.endswith(a):
                    return name[: -len(a)] + b
            return name
        if kind == "brackets":  # 阳泉鑫达耐火材料有限公司 → 鑫达耐火材料（阳泉）有限公司
            place = (lead or "阳泉").removesuffix("市")
            body = name[len(lead):]
            for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
                if body.endswith(suffix):
                    o, c = ("（", "）") if self.chance(0.6) else ("(", ")")
                    return f"{body[: -len(suffix)]}{o}{place}{c}{suffix}"
            return name
        if kind == "spaces":
            i = self.rng.randint(1, len(name) - 1)
            return name[:i] + self.pick((" ", "\u3000", "  ")) + name[i:]
        # typo: one character of the trade name (just after the place) written wrong
        i = len(lead) + self.rng.randint(0, 1)
        if i >= len(name) - 2:
            return name
        alts = [c for c in TRADE_HEADS + TRADE_TAILS if c != name[i]]
        return name[:i] + self.pick(alts) + name[i + 1:]

    def code_typo(self, code: str) -> str:
        """`code` with one character (not the check character) copied wrong: its check then fails."""
        while True:
            i = self.rng.randint(2, 16)
            typo = code[:i] + self.pick([c for c in USCC_CHARS if c != code[i]]) + code[i + 1:]
            if typo not in self.usccs and uscc_check_char(typo[:17]) != typo[17]:
                return typo


# ---- small helpers ----------------------------------------------------------------------------


def _gb11714_check(body8: str) -> str:
    """Check character of a GB 11714 organisation code (positions 9-17 of a USCC)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    s = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, weights))
    c = 11 - s % 11
    return "X" if c == 10 else ("0" if c == 11 else str(c))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    k, p, limit = 0, rng.random(), pow(2.718281828459045, -lam)
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _short(township: str) -> str:
    for suffix in ("街道", "镇", "乡"):
        if township.endswith(suffix):
            return township[: -len(suffix)]
    return township


def _short_company(name: str) -> str:
    for prefix in ("阳泉市", "阳泉", "山西", "平定县", "盂县") + tuple(c.full for c in COUNTIES):
        if name.startswith(prefix) and len(name) > len(prefix) + 4:
            name = name[len(prefix):]
            break
    for suffix in ("股份有限公司", "有限责任公司", "有限公司", "厂", "商行", "经营部"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


_FULL = {ord(c): chr(ord(c) + 0xFEE0) for c in "0123456789"}


def _typed_differently(address: str, rng: random.Random) -> str:
    """The same address as somebody else typed it: full-width digits or extra spaces."""
    if any(c.isdigit() for c in address) and rng.random() < 0.6:
        return address.translate(_FULL)
    for county in COUNTIES:
        if address.startswith(county.full):
            return f"{CITY} {county.name}\u3000{address[len(county.full):]}"
    return " " + address


# ---- writing the files ----------------------------------------------------------------------------

_BOOL_SPELLINGS = (("是", "否"), ("有", "无"), ("Y", "N"), ("yes", "no"), ("true", "false"), ("1", "0"),
                   ("√", "×"), ("✓", "✗"), ("TRUE", "FALSE"), ("y", "n"))
_LIST_SEPARATORS = (";", "；", "、", ",", "，", "; ")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


class _Cells:
    """Turns typed values into the cells a user would have typed."""

    def __init__(self, rng: random.Random, xlsx: bool, variant: bool, encoding: str | None):
        self.rng, self.xlsx, self.variant = rng, xlsx, variant
        ok = lambda s: encoding is None or _encodable(s, encoding)  # noqa: E731
        self.bools = [p for p in _BOOL_SPELLINGS if ok(p[0] + p[1])]

    def __call__(self, col, value: Any) -> Any:
        if value is None:
            return None if self.xlsx else ""
        k, v, rng = col.kind, self.variant, self.rng
        if k is Kind.BOOL:
            if v:
                r = rng.random()
                if self.xlsx and r < 0.1:
                    return bool(value)
                if self.xlsx and r < 0.15:
                    return int(value)
                yes, no = rng.choice(self.bools)
                return yes if value else no
            return "是" if value else "否"
        if k is Kind.DATE:
            return self.date(value)
        if k in (Kind.INT, Kind.FLOAT):
            return self.number(value, k is Kind.INT)
        if k in (Kind.LIST, Kind.ENUM_LIST, Kind.REF_LIST):
            sep = rng.choice(_LIST_SEPARATORS) if v else "、"
            return sep.join(value)
        if k is Kind.USCC or (k is Kind.REF and col.ref == "Enterprise"):
            return self.uscc(value) if v else value
        if k is Kind.ENUM and v and col.aliases and rng.random() < 0.5:
            return next(a for a, c in col.aliases if c == value)
        return value

    def date(self, d: dt.date) -> Any:
        if not self.variant:
            return d if self.xlsx else d.isoformat()
        forms = ["iso", "slash", "dot", "zh", "compact", "serial"] + (["cell", "cell"] if self.xlsx else [])
        f = self.rng.choice(forms)
        if f == "cell":
            return d
        if f == "serial":
            n = (d - _EXCEL_EPOCH).days
            return n if self.xlsx else str(n)
        return {"iso": d.isoformat(), "slash": f"{d.year}/{d.month}/{d.day}", "dot": f"{d.year}.{d.month:02d}.{d.day:02d}",
                "zh": f"{d.year}年{d.month}月{d.day}日", "compact": d.strftime("%Y%m%d")}[f]

    def number(self, x: float | int, integer: bool) -> Any:
        text = str(int(x)) if integer or float(x).is_integer() else repr(float(x))
        if self.variant:
            r = self.rng.random()
            if r < 0.15:
                return text.translate(_FULL)
            if r < 0.3 and abs(x) >= 1000:
                whole, _, frac = text.partition(".")
                return f"{int(whole):,}" + (f".{frac}" if frac else "")
        if self.xlsx:
            return int(x) if integer else float(x)
        return text

    def uscc(self, code: str) -> str:
        r = self.rng.random()
        if r < 0.06:
            return code.lower()
        if r < 0.09:
            return code.translate({ord(c): chr(ord(c) + 0xFEE0) for c in code})
        if r < 0.12:
            return f"{code[:8]} {code[8:]}"
        return code


def _as_written(nt: NodeType, r: dict, col) -> Any:
    """A record's value as its ledger cell: a party keyed by its 临时编码 (its `uscc` holds that
    code in the graph) has a blank 统一社会信用代码 cell."""
    v = r.get(col.key)
    if col.key == "uscc" and nt.label == "Enterprise" and v is not None and v == r.get("provisional_id"):
        return None
    if col.key == "name" and nt.label == "Enterprise" and r.get("person_name"):  # a 自然人 as written
        return r["person_name"]
    return v


def _encodable(s: str, encoding: str) -> bool:
    try:
        s.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def _columns(nt: NodeType, rng: random.Random, variant: bool, version: int = 2) -> list:
    cols = [c for c in nt.columns if c.since <= version]
    if variant:  # column order does not matter (survey-format.md)
        rng.shuffle(cols)
    return cols


def write_survey_files(survey: GeneratedSurvey, out_dir: Path, format: str = "xlsx", *, encoding: str = "utf-8-sig",
                       english_headers: bool = False, variant_spellings: bool = False,
                       version: int = 2) -> list[Path]:
    """Write the survey as a township would send it, plus ground_truth.json.

    xlsx: OUT/survey.xlsx, one sheet per ledger (Chinese sheet names). csv: one file per
    sheet, named by the Chinese sheet name (or the English file name with
    english_headers), in `encoding`. Headers are the Chinese ones, or the English keys
    with english_headers. With variant_spellings, every cell may use any other accepted
    spelling (bools, dates, numbers, lists, USCCs, enum aliases) and column order is
    shuffled; the survey read back must be the same. `version` 1 writes only the columns of
    survey-format version 1 (a ledger as townships handed them in before version 2)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"sitegraph-files-{survey.seed}-{format}-{variant_spellings}")
    paths: list[Path] = []
    if format == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        cells = _Cells(rng, True, variant_spellings, None)
        for nt in NODE_TYPES:
            recs = survey.records.get(nt.label)
            if recs is None:
                continue
            ws = wb.create_sheet(nt.sheet)
            cols = _columns(nt, rng, variant_spellings, version)
            ws.append([c.key if english_headers else c.header for c in cols])
            for r in recs:
                ws.append([cells(c, _as_written(nt, r, c)) for c in cols])
        path = out_dir / "survey.xlsx"
        wb.save(path)
        paths.append(path)
    elif format == "csv":
        cells = _Cells(rng, False, variant_spellings, encoding)
        for nt in NODE_TYPES:
            recs = survey.records.get(nt.label)
            if recs is None:
                continue
            path = out_dir / f"{nt.file if english_headers else nt.sheet}.csv"
            cols = _columns(nt, rng, variant_spellings, version)
            with open(path, "w", encoding=encoding, newline="") as f:
                w = csv.writer(f)
                w.writerow([c.key if english_headers else c.header for c in cols])
                for r in recs:
                    w.writerow([cells(c, _as_written(nt, r, c)) for c in cols])
            paths.append(path)
    else:
        raise ValueError(f"unknown format {format!r} (xlsx or csv)")
    truth_path = out_dir / "ground_truth.json"
    with open(truth_path, "w", encoding="utf-8") as f:
        json.dump(survey.truth(), f, ensure_ascii=False, indent=1)
        f.write("\n")
    paths.append(truth_path)
    return paths


__all__ = ["GeneratedSurvey", "generate", "write_survey_files", "REFERENCE_DATE"]
