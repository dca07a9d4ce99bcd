"""Provisional parties in a generated survey (docs/parties.md), and the later ledger that gives
some of them a USCC.

`make_provisional(g, share)` turns a share of a generated survey's parties into parties without
a USCC, keyed by a survey team's 临时编码, each with the 主体类型 its role makes likely:
owners that let plants are 村集体 or 自然人, lessees and operators 无照经营, 个体工商户 or
自然人, contractors 个体工商户 or 其他, site operators 村集体. Every kind occurs (with enough
parties), and every reference to the party names its 临时编码. The records are as the graph
holds them (key = 临时编码; a 自然人's name masked, the name in `person_name`); the ledger
cell of the key is blank (generate._as_written).

`later_ledger(survey, share)` is the same survey a month later in which a share of the
provisional parties (not the natural persons) has been registered: their rows carry the new
USCC and the 临时编码 (merge rows), and the records name the USCC.
"""
from __future__ import annotations

import copy
import random

from graphmodel.schema import NODE_TYPES

from .parties import mask_person
from .values import uscc_check_char
from .yangquan import COUNTIES

PARTY_KINDS_BY_ROLE = {
    "owner": (("村集体", 0.5), ("自然人", 0.35), ("其他", 0.15)),
    "tenant": (("无照经营", 0.45), ("个体工商户", 0.35), ("自然人", 0.2)),
    "contractor": (("个体工商户", 0.6), ("其他", 0.4)),
    "parkop": (("村集体", 1.0),),
}
# one of each kind first, in a role that fits it
FIRST = (("无照经营", "tenant"), ("自然人", "owner"), ("村集体", "owner"), ("个体工商户", "contractor"),
         ("其他", "contractor"), ("自然人", "tenant"))
PARTY_REFS = tuple((nt.label, c.key) for nt in NODE_TYPES for c in nt.refs if c.ref == "Enterprise")


def _weighted(rng: random.Random, pairs) -> str:
    x = rng.random() * sum(w for _, w in pairs)
    for v, w in pairs:
        x -= w
        if x <= 0:
            return v
    return pairs[-1][0]


def _rewrite(records: dict, old_to_new: dict[str, str]) -> None:
    for label, col in PARTY_REFS:
        for r in records.get(label) or ():
            v = r.get(col)
            if v in old_to_new:
                r[col] = old_to_new[v]


def make_provisional(g, share: float) -> list[str]:
    """Turn round(n * share) parties of generator `g` (its rng) into provisional ones; their 临时编码."""
    k = round(g.n * share)
    pool = [e for e in g.ents if e.role in PARTY_KINDS_BY_ROLE and e.rec.get("uscc_valid") is not False]
    g.rng.shuffle(pool)
    chosen: list[tuple] = []
    used: set[int] = set()
    for kind, role in FIRST:  # every kind at least once
        if len(chosen) >= k:
            break
        e = next((e for e in pool if id(e) not in used and e.role == role), None)
        if e is not None:
            used.add(id(e))
            chosen.append((e, kind))
    for e in pool:
        if len(chosen) >= k:
            break
        if id(e) not in used:
            used.add(id(e))
            chosen.append((e, _weighted(g.rng, PARTY_KINDS_BY_ROLE[e.role])))
    renamed: dict[str, str] = {}
    seq: dict[str, int] = {}
    villages: set[str] = set()
    for e, kind in chosen:
        rec = e.rec
        seq[e.township] = seq.get(e.township, 0) + 1
        pid = f"LS-{e.township}-{seq[e.township]:04d}"
        renamed[rec["uscc"]] = pid
        g.by_uscc.pop(rec["uscc"], None)
        g.by_uscc[pid] = e
        rec.update(uscc=pid, provisional_id=pid, party_kind=kind, uscc_valid=None)
        if kind == "自然人":
            person = g.person()
            rec.update(person_name=person, name=mask_person(person), principal=person, sector="其他")
        elif kind == "无照经营":
            rec.update(business_license=False, environmental_permit=None if g.chance(0.5) else False)
        elif kind == "村集体":
            rec["name"] = _village(g, e.township, villages)
    _rewrite(g.records, renamed)
    return list(renamed.values())


def _village(g, township: str, used: set[str]) -> str:
    """A village collective's name, unique in its township as real village names are."""
    n = 0
    while True:
        n += 1
        stem = f"{g.pick(('东', '西', '南', '北', '前', '后', '大', '小'))}{g.pick(('庄', '沟', '峪', '坪', '河', '岭'))}"
        name = f"{township}{stem}{'' if n <= 8 else n}村股份经济合作社"
        if name not in used:
            used.add(name)
            return name


def provisional_keys(records: dict) -> list[str]:
    return [e["uscc"] for e in records.get("Enterprise") or ()
            if e.get("provisional_id") is not None and e["uscc"] == e["provisional_id"]]


def later_ledger(survey, share: float = 0.5, seed: int | None = None):
    """The survey a month later: a share of its provisional parties (not 自然人) registered —
    merge rows with the new USCC and the 临时编码 — and every record naming the USCC."""
    from .generate import GeneratedSurvey

    rng = random.Random(f"sitegraph-codes-{survey.seed if seed is None else seed}")
    records = copy.deepcopy(survey.records)
    twins = {dup for _, dup, _ in getattr(survey, "duplicates", None) or ()}  # planted for dedupe: not registered
    ents = [e for e in records["Enterprise"]
            if e.get("provisional_id") is not None and e["uscc"] == e["provisional_id"] and e.get("party_kind") != "自然人"
            and e["uscc"] not in twins]
    k = max(1, round(len(ents) * share)) if ents else 0
    taken = {e["uscc"] for e in records["Enterprise"]}
    codes = {c.name: c.code for c in COUNTIES}
    renamed: dict[str, str] = {}
    for e in rng.sample(ents, k):
        while True:  # 92: 个体工商户 and other unincorporated registrations
            body = "92" + codes.get(e["county"], "140300") + "MA" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPQRTUWXY", k=7))
            u = body + uscc_check_char(body)
            if u not in taken:
                break
        taken.add(u)
        renamed[e["uscc"]] = u
        e.update(uscc=u, uscc_valid=True, aliases=[e["provisional_id"]])
        if e.get("party_kind") == "无照经营":  # registered now: licensed
            e.update(party_kind="个体工商户", business_license=True)
    _rewrite(records, renamed)
    return GeneratedSurvey(seed=survey.seed, enterprises=survey.enterprises, as_of=survey.as_of, records=records)
