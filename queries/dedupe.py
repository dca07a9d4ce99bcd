"""Parties that may be the same one written twice (`sitegraph dedupe`, issue 13).

Two survey teams write the same workshop under two spellings — 阳泉市鑫达耐火材料有限公司 and
鑫达耐火材料有限责任公司, a full-width bracket, a one-character typo, a code copied wrong, or a
临时编码 for a party that has a USCC elsewhere. This module reads every party with one prepared,
read-only Cypher statement (the same text on both backends, the county as a parameter), and
finds candidate pairs on the client:

1. names are normalised (`normalise`: full width → half width, white space and brackets
   folded) and reduced to their core (`core_name`: the leading 山西省/阳泉市/county name and
   the legal-form suffixes 有限公司/有限责任公司/股份有限公司/分公司/厂/… taken off);
2. candidates come from blocks, never from all pairs: the same core; the same address; the
   same phone; a code but for one character (one side failing its check); similar cores
   (rapidfuzz) in the same township; and across townships similar cores that share a rare
   two-character token;
3. each pair gets a score in [0, 1] from its evidence (points below), and the pairs at or
   above `min_score` are the list, best first.

Two registered parties with *different valid* USCCs are two legal persons (a USCC is issued
once, and a single wrong character always breaks its check character): such a pair is only
listed when the evidence is strong — the same core name and two of the same address, phone
and principal — and says so. Personal data (主要负责人, 联系电话, a 自然人's name) is compared,
never shown.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from graphmodel.backends.hints import closest
from graphmodel.errors import SitegraphError
from graphmodel.schema import NODES
from loaders.values import fold_width, is_valid_uscc, strip
from loaders.yangquan import CITY, COUNTIES

# ---- normalisation ----------------------------------------------------------------------------

# Leading (or bracketed) place names of a company name: province, city, counties, longest first.
REGION_NAMES: tuple[str, ...] = tuple(sorted(
    {"山西省", "山西", CITY, CITY.removesuffix("市")}
    | {c.full for c in COUNTIES} | {c.name for c in COUNTIES}
    | {c.name.removesuffix("县") for c in COUNTIES if c.name.endswith("县") and len(c.name) > 2},
    key=len, reverse=True))
# Legal-form and branch suffixes, longest first (taken off the end, repeatedly).
LEGAL_SUFFIXES: tuple[str, ...] = tuple(sorted((
    "股份有限公司", "有限责任公司", "有限公司", "股份公司", "集团公司", "分公司", "公司", "分厂", "总厂", "厂",
    "商行", "经营部", "门市部", "加工部", "加工厂", "合作社", "专业合作社", "合伙企业", "普通合伙", "有限合伙",
    "个人独资企业", "个体工商户", "工作室", "作坊",
), key=len, reverse=True))
BRANCH_MARKS = ("分公司", "分厂")
_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "〔": "(", "〕": ")", "［": "(", "］": ")",
                           "[": "(", "]": ")", "｛": "(", "｝": ")", "{": "(", "}": ")", "〈": "(", "〉": ")",
                           "《": "(", "》": ")", "<": "(", ">": ")"})
_SPACE = re.compile(r"[\s\u00a0\u200b\ufeff\u3000]+")
_PUNCT = re.compile(r"[·•・.,，、\-—_'\"“”‘’:：;；!！?？/\\|*#&+~`^]+")
_GROUP = re.compile(r"\(([^()]*)\)")
MIN_CORE = 2  # a core is never cut below two characters


def normalise(name: str | None) -> str:
    """A name as compared: full width folded to half width (NFKC), no white space, brackets of
    every kind as (), punctuation dropped, Latin letters in lower case."""
    if not name:
        return ""
    s = unicodedata.normalize("NFKC", fold_width(str(name)))
    s = _SPACE.sub("", s).translate(_BRACKETS)
    return _PUNCT.sub("", s).lower()


def _strip_regions(s: str) -> str:
    changed = True
    while changed:
        changed = False
        for r in REGION_NAMES:
            if s.startswith(r) and len(s) - len(r) >= MIN_CORE:
                s, changed = s[len(r):], True
                break
    return s


def core_name(name: str | None) -> str:
    """The distinctive part of a name: normalised, bracketed place names and legal forms dropped
    (other brackets opened), the leading 山西省/阳泉市/county name and the legal-form suffixes
    taken off. 阳泉市鑫达耐火材料有限公司, 鑫达耐火材料（阳泉）有限责任公司 → 鑫达耐火材料."""
    s = normalise(name)

    def group(m: re.Match) -> str:
        inner = m.group(1)
        if inner in REGION_NAMES or inner in LEGAL_SUFFIXES or not inner:
            return ""
        return inner

    s = _GROUP.sub(group, s).replace("(", "").replace(")", "")
    s = _strip_regions(s)
    changed = True
    while changed:
        changed = False
        for suffix in LEGAL_SUFFIXES + REGION_NAMES:  # "X有限公司阳泉分公司": 分公司, then 阳泉, then 有限公司
            if s.endswith(suffix) and len(s) - len(suffix) >= MIN_CORE:
                s, changed = s[: -len(suffix)], True
                break
    return s


def normalise_address(addr: str | None) -> str:
    """An address as compared: normalised, without the leading 山西省 and 阳泉市."""
    s = normalise(addr)
    for r in ("山西省", "山西", CITY):
        if s.startswith(r):
            s = s[len(r):]
    return s


def _digits(s: str | None) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", s or ""))


# ---- reading the parties -------------------------------------------------------------------------

def _columns() -> list[str]:
    """Properties read for each party: the schema's, so that a column not declared (yet) is not asked for."""
    ent = NODES["Enterprise"]
    have = {c.key for c in ent.columns} | {d.key for d in getattr(ent, "derived", ())}
    wanted = ("name", "county", "township", "address", "licensed_address", "sector", "principal", "phone",
              "uscc_valid", "provisional_id", "party_kind", "person_name")
    return [k for k in wanted if k in have]


def parties_cypher(by_county: bool) -> str:
    """The prepared, read-only statement that reads the parties (county as a parameter)."""
    ret = ", ".join(["e.uscc AS key"] + [f"e.{k} AS {k}" for k in _columns()])
    where = " WHERE e.county = $county" if by_county else ""
    return f"MATCH (e:Enterprise){where} RETURN {ret} ORDER BY key"


COUNTIES_CYPHER = "MATCH (e:Enterprise) RETURN DISTINCT e.county AS county"
READ_TIMEOUT_S = 600.0  # a prepared read of every party, like the pack's (queries/runner.py)


@dataclass
class Party:
    key: str
    name: str
    county: str = ""
    township: str = ""
    address: str = ""
    sector: str = ""
    party_kind: str = ""
    registered: bool = True  # keyed by a USCC (not by a 临时编码)
    uscc_valid: bool = True
    norm: str = ""
    core: str = ""
    addr: str = ""
    addr2: str = ""  # licensed address
    phone: str = ""
    principal: str = ""
    branch: bool = False

    @classmethod
    def from_row(cls, r: dict) -> "Party":
        key = str(r["key"])
        prov = r.get("provisional_id")
        registered = not (prov and prov == key) and _looks_like_uscc(key)
        valid = r.get("uscc_valid")
        if valid is None and registered:  # a store written before the derived column: check it here
            valid = is_valid_uscc(key)
        name = r.get("name") or ""
        # a 自然人's `name` is masked (王＊＊): the personal person_name is compared instead, never shown
        compared = (r.get("person_name") or "") if r.get("party_kind") == "自然人" else name
        n = normalise(compared)
        return cls(
            key=key, name=name, county=r.get("county") or "", township=r.get("township") or "",
            address=r.get("address") or "", sector=r.get("sector") or "", party_kind=r.get("party_kind") or "",
            registered=registered, uscc_valid=bool(valid) and registered,
            norm=n, core=core_name(compared), addr=normalise_address(r.get("address")),
            addr2=normalise_address(r.get("licensed_address")), phone=_digits(r.get("phone")),
            principal=normalise(r.get("principal")), branch=any(m in n for m in BRANCH_MARKS),
        )


_USCC = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")


def _looks_like_uscc(key: str) -> bool:
    return bool(_USCC.fullmatch(key.upper()))


def read_parties(backend, county: str | None = None, lang: str = "zh") -> list[Party]:
    """Every party of the graph (of `county`); an unknown county is an error with suggestions."""
    if county is not None:
        county = strip(fold_width(county))
        known = sorted({r["county"] for r in backend.read(COUNTIES_CYPHER, timeout=READ_TIMEOUT_S).rows
                        if r["county"]})
        if county not in known:
            raise SitegraphError(_unknown_county(county, known, lang))
        rows = backend.read(parties_cypher(True), {"county": county}, timeout=READ_TIMEOUT_S).rows
    else:
        rows = backend.read(parties_cypher(False), timeout=READ_TIMEOUT_S).rows
    return [Party.from_row(r) for r in rows if r.get("key")]


def _unknown_county(county: str, known: list[str], lang: str = "zh") -> str:
    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    close = closest(county, known) or closest(county, [c.name for c in COUNTIES])
    hint = t(f"；是否为 {'、'.join(close[:3])}？", f"; did you mean {' or '.join(close[:3])}?") if close else ""
    have = (", " if lang == "en" else "、").join(known) if known else t("（图谱中没有企业）", "(no party in the graph)")
    return t(f"--county 的值“{county}”不是图谱中的县区{hint}（图谱中有：{have}）",
             f"--county {county!r} is not a county of the graph{hint} (the graph has: {have})")


# ---- candidates and scores ----------------------------------------------------------------------

FUZZY_TOWNSHIP = 75.0  # rapidfuzz ratio of cores for a candidate in the same township
FUZZY_ANYWHERE = 85.0  # … and across townships (sharing a rare token)
NAME_FLOOR = 60.0  # below this the names are too different for any other evidence to count
MAX_GROUP = 60  # an exact block (address, phone, core) larger than this is too common to pair
MAX_TOKEN_DF = 60  # a two-character token found in more cores than this is not a block
DEFAULT_MIN_SCORE = 0.6

# Points of the evidence; score = points / 100, capped at 1 (documented in docs/dedupe.md).
POINTS = {
    "same_core": 50, "similar_core": 50,  # similar: 50 × (ratio − 60) / 40
    "one_char": 30,  # similar cores of ≥ 4 characters that differ in one character only
    "same_full": 5,  # the normalised full names are equal too
    "same_address": 25, "similar_address": 12, "same_licensed_address": 15,
    "same_phone": 25, "same_principal": 15,
    "same_township": 10, "other_county": -10,
    "same_sector": 5, "other_sector": -10,
    "code_typo": 35,  # one code fails its check and differs from the other in one or two characters
    "codes_differ": -10,  # one code fails its check, but the two are not alike: no sign of a typing error
    "provisional": 0,  # a provisional party (no USCC): said, not scored — the name, place and contacts carry it
    "two_valid_codes": -45,  # two different valid USCCs: two legal persons unless the rest is overwhelming
    "branch": -15,  # one of them is a branch (分公司): its own party
    "natural_person": -20,  # two people of one name are common: a 自然人's name alone is weak
}

_TEXT = {  # evidence in words: (zh, en); {r} is the similarity in %
    "same_core": ("名称规范化后相同", "the same name once normalised"),
    "similar_core": ("名称高度相似（{r}%）", "very similar names ({r}%)"),
    "same_full": ("全称相同（仅空格、全角半角或括号不同）", "the same full name (only spaces, widths or brackets differ)"),
    "same_address": ("生产经营地址相同", "the same address"),
    "similar_address": ("生产经营地址相近", "similar addresses"),
    "same_licensed_address": ("登记许可地址相同", "the same licensed address"),
    "same_phone": ("联系电话相同", "the same phone number"),
    "same_principal": ("主要负责人相同", "the same principal"),
    "same_township": ("同一乡镇街道", "the same township"),
    "other_county": ("不在同一县区", "in different counties"),
    "same_sector": ("行业相同", "the same sector"),
    "other_sector": ("行业不同", "different sectors"),
    "code_typo": ("统一社会信用代码只差一两个字符且一方校验位错误，多为抄错", "the USCCs differ in one or two characters and one fails its check: most likely a typing error"),
    "codes_differ": ("统一社会信用代码完全不同（一方校验位错误）", "the USCCs are unlike (one fails its check)"),
    "provisional": ("一方为临时编码主体（无统一社会信用代码）", "one is a provisional party (no USCC)"),
    "two_valid_codes": ("双方均有有效且不同的统一社会信用代码，通常是两个法人，请核对营业执照", "both have different valid USCCs, usually two legal persons: check the licences"),
    "branch": ("一方为分公司或分厂，可能是独立的主体", "one is a branch, possibly a party of its own"),
    "natural_person": ("自然人同名较常见，请核对身份", "namesakes are common among natural persons: check who they are"),
}


@dataclass
class Pair:
    a: Party  # the one to keep: registered before provisional, a valid code before a wrong one
    b: Party
    score: float  # points / 100, capped at 1
    reasons: list[tuple[str, int]] = field(default_factory=list)  # (evidence code, similarity %)
    points: float = 0.0  # uncapped: ranks pairs that all score 1

    @property
    def keys(self) -> tuple[str, str]:
        return (self.a.key, self.b.key)

    def evidence(self, lang: str = "zh") -> list[str]:
        i = 1 if lang == "en" else 0
        return [_TEXT[code][i].format(r=r) for code, r in self.reasons]


def _rank(p: Party) -> tuple:
    return (not p.registered, not p.uscc_valid, p.branch, p.key)


def _pair_candidates(parties: list[Party]) -> set[tuple[int, int]]:
    """Index pairs (i < j) worth scoring, from blocks only."""
    cand: set[tuple[int, int]] = set()

    def pairs_of(idx: list[int], only=None) -> None:
        if len(idx) > MAX_GROUP:  # too common a value: pair within each township only
            towns: dict[tuple[str, str], list[int]] = {}
            for i in idx:
                towns.setdefault((parties[i].county, parties[i].township), []).append(i)
            if len(towns) > 1:
                for sub in towns.values():
                    pairs_of(sub, only)
            return  # one township sharing it (a park's bare address): no evidence at all
        cand.update((a, b) for n, a in enumerate(idx) for b in idx[n + 1:] if only is None or only(a, b))

    def groups(keyf) -> None:
        by: dict[str, list[int]] = {}
        for i, p in enumerate(parties):
            k = keyf(p)
            if k:
                by.setdefault(k, []).append(i)
        for idx in by.values():
            if len(idx) > 1:
                pairs_of(idx)

    groups(lambda p: p.core)
    groups(lambda p: p.addr if len(p.addr) >= 8 else "")
    groups(lambda p: p.phone if len(p.phone) >= 7 else "")
    # a code copied with one character wrong: the same code but for one position (one side invalid)
    codes: dict[str, list[int]] = {}
    for i, p in enumerate(parties):
        if p.registered:
            c = p.key.upper()
            for k in range(len(c) - 1):
                codes.setdefault(f"{k}:{c[:k]}{c[k + 1:]}", []).append(i)
    for idx in codes.values():
        if len(idx) > 1:
            pairs_of(idx, lambda a, b: not (parties[a].uscc_valid and parties[b].uscc_valid))
    # similar cores in the same township: rapidfuzz's C matrix per township block
    towns: dict[tuple[str, str], list[int]] = {}
    for i, p in enumerate(parties):
        towns.setdefault((p.county, p.township), []).append(i)
    for idx in towns.values():
        if len(idx) < 2:
            continue
        cores = [parties[i].core for i in idx]
        m = process.cdist(cores, cores, scorer=fuzz.ratio, score_cutoff=FUZZY_TOWNSHIP, workers=1)
        xs, ys = np.nonzero(np.triu(m, 1))  # above the diagonal: each pair once
        cand.update((idx[x], idx[y]) for x, y in zip(xs.tolist(), ys.tolist()))
    # across townships: cores sharing a rare two-character token
    tokens: dict[str, list[int]] = {}
    for i, p in enumerate(parties):
        for tok in {p.core[k:k + 2] for k in range(len(p.core) - 1)}:
            tokens.setdefault(tok, []).append(i)
    for idx in tokens.values():
        if not 1 < len(idx) <= MAX_TOKEN_DF:
            continue
        cores = [parties[i].core for i in idx]
        m = process.cdist(cores, cores, scorer=fuzz.ratio, score_cutoff=FUZZY_ANYWHERE, workers=1)
        xs, ys = np.nonzero(np.triu(m, 1))
        for x, y in zip(xs.tolist(), ys.tolist()):
            a, b = idx[x], idx[y]
            if (parties[a].county, parties[a].township) != (parties[b].county, parties[b].township):
                cand.add((a, b) if a < b else (b, a))
    return cand


def score_pair(p: Party, q: Party) -> Pair | None:
    """The pair (kept one first) with its score and evidence; None when the names are too far apart."""
    a, b = sorted((p, q), key=_rank)
    reasons: list[tuple[str, int]] = []
    pts = 0.0

    def add(code: str, r: int = 0, points: float | None = None) -> None:
        nonlocal pts
        reasons.append((code, r))
        pts += POINTS[code] if points is None else points

    if not a.core or not b.core:
        return None
    ratio = fuzz.ratio(a.core, b.core)
    if a.core == b.core:
        add("same_core")
        if a.norm == b.norm:
            add("same_full")
    elif ratio >= NAME_FLOOR:
        pts_name = POINTS["similar_core"] * (ratio - NAME_FLOOR) / (100 - NAME_FLOOR)
        if min(len(a.core), len(b.core)) >= 4 and Levenshtein.distance(a.core, b.core) == 1:
            pts_name = max(pts_name, POINTS["one_char"])  # one character written wrong
        add("similar_core", round(ratio), pts_name)
    else:
        return None
    if a.addr and a.addr == b.addr:
        add("same_address")
    elif a.addr and b.addr and fuzz.ratio(a.addr, b.addr) >= 90:
        add("similar_address")
    if a.addr2 and a.addr2 == b.addr2 and a.addr2 != a.addr:
        add("same_licensed_address")
    if a.phone and a.phone == b.phone:
        add("same_phone")
    person = "自然人" in (a.party_kind, b.party_kind)
    if a.principal and a.principal == b.principal and not person:  # a 自然人 is its own principal
        add("same_principal")
    if a.county == b.county and a.township and a.township == b.township:
        add("same_township")
    elif a.county != b.county:
        add("other_county")
    if a.sector and b.sector:
        add("same_sector" if a.sector == b.sector else "other_sector")
    if not b.registered:
        add("provisional")
    elif a.uscc_valid and b.uscc_valid:
        add("two_valid_codes")
    elif Levenshtein.distance(a.key.upper(), b.key.upper()) <= 2:
        add("code_typo")
    else:
        add("codes_differ")
    if a.branch != b.branch:
        add("branch")
    if person:
        add("natural_person")
    score = max(0.0, min(1.0, pts / 100))
    return Pair(a, b, round(score, 3), reasons, round(pts, 3))


def find_pairs(parties: Iterable[Party], min_score: float = DEFAULT_MIN_SCORE) -> list[Pair]:
    """Candidate pairs with a score ≥ min_score, best first (by points, then keys: a stable order)."""
    ps = list(parties)
    out = []
    for i, j in _pair_candidates(ps):
        pair = score_pair(ps[i], ps[j])
        if pair is not None and pair.score >= min_score:
            out.append(pair)
    out.sort(key=lambda x: (-x.points, x.a.key, x.b.key))
    return out


def dedupe(backend, county: str | None = None, min_score: float = DEFAULT_MIN_SCORE,
           lang: str = "zh") -> tuple[list[Pair], int]:
    """(pairs, number of parties read) on a backend."""
    parties = read_parties(backend, county, lang)
    return find_pairs(parties, min_score), len(parties)


# ---- measuring against planted truth -----------------------------------------------------------

def recall_precision(found: Iterable[tuple[str, str]], truth: Iterable[Iterable[str]]) -> dict[str, Any]:
    """Recall and precision of found pairs against the planted ones (pairs as unordered sets)."""
    got = {frozenset(p) for p in found}
    exp = {frozenset(p) for p in truth}
    tp = len(got & exp)
    return {"planted": len(exp), "found": len(got), "true": tp, "false": len(got - exp), "missed": len(exp - got),
            "recall": tp / len(exp) if exp else 1.0, "precision": tp / len(got) if got else 1.0}
