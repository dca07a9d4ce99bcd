"""Several dated ledgers of one township, each with its own ground truth (issue 11).

`generate_rounds(enterprises, seed, rounds)` takes a generated survey (loaders.generate),
keeps the township with the most enterprises and every record its records reference (so each
ledger validates on its own), and makes `rounds` monthly rounds of it, as a township would
send them through the campaign:

- round 1 is the survey as generated, dated REFERENCE_DATE;
- each later round, a month after the one before, changes about `change` of the records the
  way work on the ground changes them (hazards move 未整改 → 整改中 → 已整改 → 已销号 with their
  dates filled in, enterprises train their staff and self-check, buildings get fire
  facilities fixed) and adds about 1 % new hazards;
- the last round is meant for `--prune`: it leaves out about 1 % of the operations and
  inspections (records no other record references), which that load retires;
- with three rounds or more, a late ledger: round 2 corrected (the records round 3 changed,
  with round 3's values), dated two weeks after round 2 and loaded after the last round.

Every ledger's truth is loaders.truth's ground truth of its records at its own date, which
is what `query run --all --at DATE` must give once all ledgers are loaded in the order of
`rounds.json` (the state at a date is that ledger's records: each ledger is complete).
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path

from graphmodel.schema import NODE_TYPES, NODES, Kind

from . import generate as gen

LATE_NAME = "round-2-late"


@dataclass
class Round:
    name: str  # folder name: round-1 … round-N, round-2-late
    survey_date: dt.date
    records: dict[str, list[dict]]
    prune: bool = False
    late: bool = False

    def survey(self, seed: int) -> "gen.GeneratedSurvey":
        return gen.GeneratedSurvey(seed=seed, enterprises=len(self.records.get("Enterprise", [])),
                                   as_of=self.survey_date, records=self.records)


def _add_months(d: dt.date, n: int) -> dt.date:
    import calendar

    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def township_of(records: dict[str, list[dict]]) -> tuple[str, str]:
    """(county, township) with the most enterprises."""
    count: dict[tuple[str, str], int] = {}
    for e in records["Enterprise"]:
        if e.get("township"):
            k = (e["county"], e["township"])
            count[k] = count.get(k, 0) + 1
    return max(sorted(count), key=lambda k: count[k])


def one_township(records: dict[str, list[dict]], county: str, township: str) -> dict[str, list[dict]]:
    """The records of one township and, transitively, every record they reference."""
    by_key = {nt.label: {r[nt.key]: r for r in records.get(nt.label, [])} for nt in NODE_TYPES}
    keep: dict[str, set] = {nt.label: set() for nt in NODE_TYPES}
    todo: list[tuple[str, str]] = []

    def add(label: str, key: str | None) -> None:
        if key is not None and key in by_key[label] and key not in keep[label]:
            keep[label].add(key)
            todo.append((label, key))

    here = lambda r: r.get("county") == county and r.get("township") == township  # noqa: E731
    for label in ("Enterprise", "Site", "Building"):
        for k, r in by_key[label].items():
            if here(r):
                add(label, k)
    ents = set(keep["Enterprise"])
    blds = set(keep["Building"])
    for nt in NODE_TYPES:  # the records that hang on the township's enterprises and buildings
        if nt.label in ("Enterprise", "Site", "Building"):
            continue
        for k, r in by_key[nt.label].items():
            if any(r.get(c.key) in ents for c in nt.refs if c.ref == "Enterprise" and c.kind is Kind.REF) or \
                    r.get("building_id") in blds:
                add(nt.label, k)
    while todo:  # close over references
        label, key = todo.pop()
        r = by_key[label][key]
        for c in NODES[label].refs:
            v = r.get(c.key)
            for x in (v or []) if c.kind is Kind.REF_LIST else [v]:
                add(c.ref, x)
    out = {}
    for nt in NODE_TYPES:
        if nt.label in records:
            out[nt.label] = [r for r in records[nt.label] if r[nt.key] in keep[nt.label]]
    # an inspection's hazard list names only hazards that are kept
    for i in out.get("Inspection", []):
        if i.get("hazard_ids"):
            i["hazard_ids"] = [h for h in i["hazard_ids"] if h in keep["Hazard"]] or None
    return out


_NEXT = {"未整改": "整改中", "整改中": "已整改", "已整改": "已销号"}


def _change(label: str, r: dict, day: dt.date, rng: random.Random) -> bool:
    """Change one record as a month of work would; False when there is nothing to change."""
    if label == "Hazard":
        nxt = _NEXT.get(r.get("status"))
        if nxt is None:
            return False
        r["status"] = nxt
        if nxt == "已整改":
            r["rectified_on"] = max(day - dt.timedelta(days=rng.randint(1, 20)), r.get("found_on") or day)
        if nxt == "已销号":
            r["closed_on"] = day - dt.timedelta(days=rng.randint(0, 5))
            r["rectified_on"] = r.get("rectified_on") or r["closed_on"]
        return True
    if label == "Enterprise":
        for k in ("training", "self_inspection", "risk_identification"):
            if r.get(k) is not True:
                r[k] = True
                return True
        if r.get("safety_staff") is not None:
            r["safety_staff"] += 1
            return True
        return False
    if label == "Building":
        for k in ("fire_facilities_ok",):
            if r.get(k) is not True:
                r[k] = True
                return True
        if r.get("escape_obstruction"):
            r["escape_obstruction"] = False
            return True
        return False
    if label == "Tenancy":
        for k in ("lessee_reviewed", "safety_agreement", "duties_defined", "periodic_inspection"):
            if r.get(k) is not True:
                r[k] = True
                return True
        return False
    return False


def _next_round(prev: dict[str, list[dict]], day: dt.date, rng: random.Random, change: float, n_round: int,
                prune: bool) -> dict[str, list[dict]]:
    recs = copy.deepcopy(prev)
    for label in ("Hazard", "Enterprise", "Building", "Tenancy"):
        rs = recs.get(label) or []
        if not rs:
            continue
        order = list(range(len(rs)))
        rng.shuffle(order)
        want, done = max(1, round(change * len(rs))), 0
        for i in order:
            if done >= want:
                break
            done += _change(label, rs[i], day, rng)
    hazards = recs.get("Hazard") or []
    open_ = [h for h in hazards if h.get("status") in ("未整改", "整改中")] or hazards
    for n in range(max(1, len(hazards) // 100)):  # ~1 % new hazards found this month
        base = rng.choice(open_)
        h = dict(base)
        h.update(hazard_id=f"{base['hazard_id']}-R{n_round}-{n + 1}", status="未整改",
                 found_on=day - dt.timedelta(days=rng.randint(1, 25)), rectified_on=None, closed_on=None,
                 acceptance=None, accepted_on=None, accepted_by=None, delisted_on=None,
                 deadline=day + dt.timedelta(days=30))
        hazards.append(h)
    if prune:  # ~1 % of the records no other record references are gone from the ledger
        for label in ("Operation", "Inspection"):
            rs = recs.get(label) or []
            if len(rs) >= 2:
                drop = set(rng.sample(range(len(rs)), max(1, len(rs) // 100)))
                recs[label] = [r for i, r in enumerate(rs) if i not in drop]
    return recs


def generate_rounds(enterprises: int = 300, seed: int = 1, rounds: int = 3, change: float = 0.1,
                    late: bool = True) -> list[Round]:
    """The rounds in load order (see the module text)."""
    if rounds < 2:
        raise ValueError(f"at least 2 rounds, got {rounds}")
    base = gen.generate(enterprises, seed)
    county, township = township_of(base.records)
    recs = one_township(base.records, county, township)
    rng = random.Random(f"sitegraph-rounds-{seed}-{rounds}")
    out = [Round("round-1", gen.REFERENCE_DATE, recs)]
    for i in range(2, rounds + 1):
        day = _add_months(gen.REFERENCE_DATE, i - 1)
        out.append(Round(f"round-{i}", day, _next_round(out[-1].records, day, rng, change, i, prune=i == rounds),
                         prune=i == rounds))
    if late and rounds >= 3:
        r2, r3 = out[1], out[2]
        r3_by = {nt.label: {r[nt.key]: r for r in r3.records.get(nt.label, [])} for nt in NODE_TYPES}
        corrected = copy.deepcopy(r2.records)
        for nt in NODE_TYPES:
            if nt.label not in ("Enterprise", "Building", "Tenancy"):  # corrections, no new dates
                continue
            rs = corrected.get(nt.label) or []
            changed = [i for i, r in enumerate(rs) if r[nt.key] in r3_by[nt.label] and r3_by[nt.label][r[nt.key]] != r]
            for i in rng.sample(changed, len(changed) // 2):  # half of what round 3 changed, known earlier
                rs[i] = copy.deepcopy(r3_by[nt.label][rs[i][nt.key]])
        day = r2.survey_date + dt.timedelta(days=14)
        assert day < r3.survey_date
        out.append(Round(LATE_NAME, day, corrected, late=True))
    return out


def write_rounds(out_dir: Path, rounds: list[Round], seed: int, source: str | None = None,
                 format: str = "xlsx") -> list[Path]:
    """OUT/<round>/survey.xlsx + ground_truth.json for every round, and OUT/rounds.json (the
    dates, flags and load commands in load order)."""
    out_dir = Path(out_dir)
    county, township = township_of(rounds[0].records)
    source = source or township
    paths = []
    plan = []
    for r in rounds:
        written = gen.write_survey_files(r.survey(seed), out_dir / r.name, format=format)
        paths += written
        ledger = written[0] if format == "xlsx" else out_dir / r.name
        cmd = ["sitegraph", "load", str(ledger.relative_to(out_dir)), "--source", source, "--date",
               r.survey_date.isoformat()] + (["--prune"] if r.prune else [])
        plan.append({"name": r.name, "survey_date": r.survey_date.isoformat(), "prune": r.prune, "late": r.late,
                     "ledger": str(ledger.relative_to(out_dir)), "ground_truth": f"{r.name}/ground_truth.json",
                     "load": " ".join(cmd)})
    doc = {"county": county, "township": township, "source": source, "seed": seed,
           "note": "按顺序导入（最后一份为补录台账）/ load in this order (the last one is late)", "rounds": plan}
    p = out_dir / "rounds.json"
    p.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    paths.append(p)
    return paths
