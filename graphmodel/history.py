"""Campaign history, the pure part (issue 11, docs/design/history.md §2, §5).

A record's *timeline* is its entries — versions and retirement/merge markers — sorted by
`(survey_date, load_seq)`. Each entry is effective on `[survey_date, next entry's date)`;
an entry followed by one of the same date has an empty interval (history, never a state).
The state at D holds, for every key, the entry effective at D when it is a version.

No database here: the writer (graphmodel.writer) reads the light columns of the current
and history tables, builds timelines with `Entry`, and asks `classify` / `classify_absent`
what a load does to each key.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Iterable, Mapping, NamedTuple

VERSION, RETIRED, MERGED = "version", "retired", "merged"

# What a load does to one key (LabelReport counts).
CREATED, UNCHANGED, UPDATED, READDED, LATE = "created", "unchanged", "updated", "readded", "late"
RETIRE, RETIRE_LATE = "retire", "retire_late"

EARLIEST_SURVEY_DATE = dt.date(2000, 1, 1)


class Entry(NamedTuple):
    """One entry of a timeline. `h_id` is None for the current node (always the last entry).
    A named tuple: a load builds one per record of the store, ~5x faster than a dataclass."""

    survey_date: dt.date
    load_seq: int
    kind: str = VERSION
    content_hash: str | None = None
    source: str | None = None
    h_id: str | None = None
    h_to: dt.date | None = None

    @property
    def order(self) -> tuple[dt.date, int]:
        return (self.survey_date, self.load_seq)

    @property
    def is_version(self) -> bool:
        return self.kind == VERSION

    @property
    def is_current(self) -> bool:
        return self.h_id is None


def sort_timeline(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: e.order)


def intervals(timeline: list[Entry]) -> list[tuple[Entry, dt.date | None]]:
    """(entry, end of its interval, exclusive; None = open) of a sorted timeline."""
    return [(e, timeline[i + 1].survey_date if i + 1 < len(timeline) else None) for i, e in enumerate(timeline)]


def effective_at(timeline: list[Entry], day: dt.date) -> Entry | None:
    """The entry of a sorted timeline effective at `day` (None: no entry dated <= day)."""
    i = bisect_right([e.survey_date for e in timeline], day)
    return timeline[i - 1] if i else None


def state_at(timelines: Mapping[str, list[Entry]], day: dt.date) -> dict[str, Entry]:
    """Key -> the version effective at `day`, for the keys present at `day`."""
    out = {}
    for key, tl in timelines.items():
        e = effective_at(tl, day)
        if e is not None and e.is_version:
            out[key] = e
    return out


def neighbours(timeline: list[Entry], day: dt.date) -> tuple[Entry | None, Entry | None]:
    """Predecessor and successor of a new entry dated `day` whose load is the newest:
    the last entry dated <= day (same-date entries come before it) and the first dated after."""
    i = bisect_right([e.survey_date for e in timeline], day)
    return (timeline[i - 1] if i else None), (timeline[i] if i < len(timeline) else None)


def classify(timeline: list[Entry], day: dt.date, content_hash: str) -> str:
    """What a load dated `day` supplying a record with `content_hash` does to its key
    (design §5 step 2): created, unchanged, updated, readded or late."""
    if not timeline:
        return CREATED
    pred, succ = neighbours(timeline, day)
    if succ is None:
        if pred.is_version:  # the current node
            return UNCHANGED if pred.content_hash == content_hash else UPDATED
        return READDED
    if pred is not None and pred.is_version and pred.content_hash == content_hash:
        return UNCHANGED
    return LATE


def classify_absent(timeline: list[Entry], day: dt.date, source: str) -> str | None:
    """For `--prune`: a key the ledger of `source` dated `day` lacks is retired when its
    state at `day` came from `source` (retire: the current node; retire_late: history only)."""
    pred, succ = neighbours(timeline, day)
    if pred is None or not pred.is_version or pred.source != source:
        return None
    return RETIRE if succ is None else RETIRE_LATE


@dataclass
class Plan:
    """What one load does, per key (design §5): `actions` key -> created | updated |
    unchanged | readded | late | retire | retire_late; `ends` h_id -> the new end of a
    history entry's interval; `late_to` key -> end of the entry a late action inserts."""

    actions: dict[str, str] = field(default_factory=dict)
    ends: dict[str, dt.date] = field(default_factory=dict)
    late_to: dict[str, dt.date] = field(default_factory=dict)


def plan_load(timelines: Mapping[str, list[Entry]], day: dt.date, hashes: Mapping[str, str],
              source: str, prune: bool = False) -> Plan:
    """Classify every supplied key (`hashes`: key -> content hash) and, with `prune`, every
    known key the load lacks, on sorted timelines, for a load of `source` dated `day` that is
    the newest load."""
    plan = Plan()
    for key, h in hashes.items():
        tl = timelines.get(key, [])
        act = plan.actions[key] = classify(tl, day, h)
        pred, succ = neighbours(tl, day)
        if act == READDED:
            plan.ends[pred.h_id] = day
        elif act == LATE:
            plan.late_to[key] = succ.survey_date
            if pred is not None:
                plan.ends[pred.h_id] = day
    if prune:
        for key, tl in timelines.items():
            if key in hashes:
                continue
            act = classify_absent(tl, day, source)
            if act is None:
                continue
            plan.actions[key] = act
            if act == RETIRE_LATE:
                pred, succ = neighbours(tl, day)
                plan.late_to[key] = succ.survey_date
                plan.ends[pred.h_id] = day
    return plan


def apply_plan(timelines: Mapping[str, list[Entry]], plan: Plan, day: dt.date, seq: int,
               hashes: Mapping[str, str], source: str) -> dict[str, list[Entry]]:
    """The timelines after the load — what the writer does to the stores, without them."""
    out = {k: list(v) for k, v in timelines.items()}
    for key, act in plan.actions.items():
        tl = out.setdefault(key, [])
        if act == UNCHANGED:
            continue
        if act in (UPDATED, RETIRE):  # the current node goes to history, its interval ends here
            cur = tl[-1]
            tl[-1] = Entry(cur.survey_date, cur.load_seq, cur.kind, cur.content_hash, cur.source,
                           h_id(key, cur.load_seq), day)
        late = plan.late_to.get(key) if act in (LATE, RETIRE_LATE) else None
        if act in (RETIRE, RETIRE_LATE):
            tl.append(Entry(day, seq, RETIRED, None, source, h_id(key, seq), late))
        elif act == LATE:
            tl.append(Entry(day, seq, VERSION, hashes[key], source, h_id(key, seq), late))
        else:  # created, updated, readded: the new current node
            tl.append(Entry(day, seq, VERSION, hashes[key], source))
        out[key] = sort_timeline(
            Entry(e.survey_date, e.load_seq, e.kind, e.content_hash, e.source, e.h_id, plan.ends[e.h_id])
            if e.h_id in plan.ends else e for e in tl)
    return out


def h_id(key: str, load_seq: int) -> str:
    return f"{key}|{load_seq}"


def _canon(v):
    """How a value that JSON has no form for enters the hash: a date (or datetime) by its ISO
    form, anything else by str() — exactly what hashes of earlier versions did."""
    return v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v)


# One encoder for every record: json.dumps with options builds a new one per call. The
# output is byte-for-byte that of the first implementation (tests/test_history.py pins it),
# so hashes stored by any earlier load keep matching and a reload stays a no-op.
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_canon).encode
_SHA256 = hashlib.sha256


def content_hash(values: Mapping[str, object], keys: Iterable[str], source: str | None) -> str:
    """16 hex of SHA-256 over the non-null values of `keys` plus the source. Nulls are left
    out, so a column added to the schema later does not change old hashes. The JSON text
    is `[source, {key: value, …}]`, keys sorted, compact, non-ASCII as is."""
    get = values.get
    body = {k: v for k in keys if (v := get(k)) is not None}
    return _SHA256(_ENCODE([source, body]).encode("utf-8")).hexdigest()[:16]


def field_diff(old: Mapping | None, new: Mapping | None, keys: Iterable[str]) -> dict[str, list]:
    """{field: [old, new]} for the fields of `keys` whose values differ (a missing side: None)."""
    old, new = old or {}, new or {}
    return {k: [old.get(k), new.get(k)] for k in keys if old.get(k) != new.get(k)}


def survey_date_problem(day: dt.date, today: dt.date) -> tuple[str, str] | None:
    """Why `day` cannot be a load's survey date, (zh, en); None: it can."""
    if day > today:
        return (f"调查日期 {day} 晚于今天（{today}），不能导入未来日期的台账",
                f"survey date {day} is after today ({today}): a ledger cannot describe the future")
    if day < EARLIEST_SURVEY_DATE:
        return (f"调查日期 {day} 早于 {EARLIEST_SURVEY_DATE}，请检查年份",
                f"survey date {day} is before {EARLIEST_SURVEY_DATE}: check the year")
    return None
