"""Record history and record changes between two dates (issue 11, docs/design/history.md §7).

`history_of(backend, key)` gives every entry of one record's timeline — its versions and
retirement/merge markers in `(survey_date, load_seq)` order — with the load, file, sheet and
row of each, and the ledger fields that differ from the version before it.
`record_changes(backend, d1, d2)` gives, per sheet, the records added, retired and changed
(field: [old, new]) between the state at d1 and the state at d2; it reads only the records
with an entry dated in (d1, d2], so its cost follows the changes, not the store.

Both read the current and history tables with the same portable statements on either
backend; nothing here writes.
"""
from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import history
from .backends.base import Backend
from .schema import NODE_TYPES, NODES, NodeType, all_props, history_label, history_props

# Event kinds of `history` (Chinese, English)
EVENTS = {
    "created": ("新增", "created"),
    "updated": ("变更", "changed"),
    "late": ("补录", "late"),
    "retired": ("退出", "retired"),
    "readded": ("恢复", "re-added"),
    "merged_into": ("合并为", "merged into"),
    "merged_from": ("由…合并", "merged from"),
}
HIDDEN = "（已隐藏）"  # a personal value left out (--include-personal shows it)
CHUNK = 2000


def _day(v) -> dt.date | None:
    return v.date() if isinstance(v, dt.datetime) else v


def json_value(v: Any) -> Any:
    """A value as JSON-native data: dates as ISO text, lists item by item."""
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    return v


def ledger_keys(nt: NodeType, include_personal: bool = False) -> list[str]:
    """The sheet's ledger columns compared by history and diff (derived and provenance left out)."""
    return [c.key for c in nt.columns if include_personal or not c.personal]


def _labels(sheet: str | None) -> list[NodeType]:
    if sheet is None:
        return list(NODE_TYPES)
    for nt in NODE_TYPES:
        if sheet in (nt.label, nt.sheet, nt.file, nt.title_zh, nt.title_en):
            return [nt]
    from .errors import SitegraphError

    names = "、".join(nt.sheet for nt in NODE_TYPES)
    raise SitegraphError(f"没有工作表 {sheet!r}（可选：{names}）/ no sheet {sheet!r} (one of {names})")


def _entries(backend: Backend, nt: NodeType, where_cur: str, where_hist: str, params: dict) -> list[dict]:
    """Whole rows of the current table and of the history table, each with `_kind`/`_key`."""
    cur = ", ".join(f"n.`{k}` AS `{k}`" for k, _, _ in all_props(nt))
    hist = ", ".join(f"n.`{k}` AS `{k}`" for k, _, _ in history_props(nt))
    out = []
    for r in backend.read(f"MATCH (n:{nt.label}) WHERE {where_cur} RETURN {cur}", params, timeout=None).rows:
        out.append({**r, "_key": r[nt.key], "_kind": history.VERSION, "_to": None, "_current": True})
    for r in backend.read(f"MATCH (n:{history_label(nt)}) WHERE {where_hist} RETURN {hist}", params,
                          timeout=None).rows:
        out.append({**r, "_key": r["h_key"], "_kind": r["h_kind"], "_to": _day(r["h_to"]), "_current": False})
    for r in out:
        r["survey_date"] = _day(r["survey_date"])
        r["load_seq"] = int(r["load_seq"])
    return out


def _order(r: dict) -> tuple:
    return (r["survey_date"], r["load_seq"])


# --- history of one record ------------------------------------------------------------------

@dataclass
class Event:
    """One entry of a record's timeline as `sitegraph history` shows it."""

    survey_date: dt.date
    load_seq: int
    kind: str  # a key of EVENTS
    source: str | None
    load_id: str | None
    src_file: str | None
    src_sheet: str | None
    src_row: int | None
    changes: dict[str, list] = field(default_factory=dict)  # field -> [old, new]
    other: str | None = None  # merge: the key merged into (merged_into) or from (merged_from)
    valid_to: dt.date | None = None  # end of the entry's interval (exclusive); None: open
    current: bool = False  # the version the current graph holds

    def as_dict(self) -> dict:
        return {"survey_date": self.survey_date.isoformat(), "load_seq": self.load_seq, "event": self.kind,
                "source": self.source, "load_id": self.load_id, "file": self.src_file, "sheet": self.src_sheet,
                "row": self.src_row, "changes": {k: json_value(v) for k, v in self.changes.items()},
                **({"other": self.other} if self.other else {}),
                "valid_to": self.valid_to.isoformat() if self.valid_to else None, "current": self.current}


@dataclass
class RecordHistory:
    label: str
    sheet: str
    key: str
    events: list[Event]

    @property
    def present(self) -> bool:
        return any(e.current for e in self.events)

    def as_dict(self) -> dict:
        return {"label": self.label, "sheet": self.sheet, "key": self.key, "present": self.present,
                "events": [e.as_dict() for e in self.events]}


def _load_ids(backend: Backend) -> dict[int, dict]:
    from .writer import list_loads

    return {int(r["load_seq"]): r for r in list_loads(backend)}


def _mask(nt: NodeType, diff: dict[str, list], include_personal: bool) -> dict[str, list]:
    if include_personal:
        return diff
    personal = {c.key for c in nt.columns if c.personal}
    return {k: ([HIDDEN if v[0] is not None else None, HIDDEN if v[1] is not None else None]
                if k in personal else v) for k, v in diff.items()}


def _timeline_events(nt: NodeType, rows: list[dict], loads: dict[int, dict], include_personal: bool) -> list[Event]:
    rows = sorted(rows, key=_order)
    keys = ledger_keys(nt, include_personal=True)
    events: list[Event] = []
    last_version: dict | None = None
    for i, r in enumerate(rows):
        prev = rows[i - 1] if i else None
        later_loaded_first = any(x["load_seq"] < r["load_seq"] for x in rows[i + 1:])
        if r["_kind"] == history.VERSION:
            if prev is None:
                kind = "created"
            elif prev["_kind"] != history.VERSION:
                kind = "readded"
            else:
                kind = "updated"
            if later_loaded_first:
                kind = "late"  # inserted before an entry dated later that was loaded first
            changes = history.field_diff(last_version, r, keys) if last_version is not None else {}
            last_version = r
        elif r["_kind"] == history.MERGED:
            kind, changes = "merged_into", {}
        else:
            kind, changes = "retired", {}
        load = loads.get(r["load_seq"], {})
        end = rows[i + 1]["survey_date"] if i + 1 < len(rows) else None
        events.append(Event(r["survey_date"], r["load_seq"], kind, r.get("source") or load.get("source"),
                            load.get("load_id") or r.get("load_id"), r.get("src_file"), r.get("src_sheet"),
                            r.get("src_row"), _mask(nt, changes, include_personal),
                            other=r.get("h_into") if kind == "merged_into" else None, valid_to=end,
                            current=r["_current"]))
    return events


def history_of(backend: Backend, key: str, *, sheet: str | None = None,
               include_personal: bool = False) -> list[RecordHistory]:
    """Every label where `key` has a current node or history entries (or is a merge target),
    with its timeline as events. Empty list: the key is unknown."""
    loads = _load_ids(backend)
    out = []
    for nt in _labels(sheet):
        rows = _entries(backend, nt, f"n.`{nt.key}` = $k", "n.h_key = $k", {"k": key})
        merged_in = backend.read(f"MATCH (n:{history_label(nt)}) WHERE n.h_into = $k AND n.h_kind = 'merged' "
                                 f"RETURN n.h_key AS p, n.survey_date AS d, n.load_seq AS s, n.source AS src, "
                                 f"n.src_file AS f, n.src_sheet AS sh, n.src_row AS r", {"k": key}, timeout=None).rows
        if not rows and not merged_in:
            continue
        events = _timeline_events(nt, rows, loads, include_personal)
        for m in merged_in:
            seq = int(m["s"])
            events.append(Event(_day(m["d"]), seq, "merged_from", m["src"], loads.get(seq, {}).get("load_id"),
                                m["f"], m["sh"], m["r"], other=m["p"]))
        events.sort(key=lambda e: (e.survey_date, e.load_seq, e.kind != "merged_from"))
        out.append(RecordHistory(nt.label, nt.sheet, key, events))
    return out


def suggest_keys(backend: Backend, key: str, *, sheet: str | None = None, n: int = 3) -> list[str]:
    """The record keys (current or in history) closest to a mistyped `key`."""
    keys: set[str] = set()
    for nt in _labels(sheet):
        keys.update(r["k"] for r in backend.read(f"MATCH (n:{nt.label}) RETURN n.`{nt.key}` AS k", timeout=None).rows)
        keys.update(r["k"] for r in backend.read(f"MATCH (n:{history_label(nt)}) RETURN DISTINCT n.h_key AS k",
                                                 timeout=None).rows)
    keys.discard(None)
    by_fold = {k.upper(): k for k in keys}
    if key.strip().upper() in by_fold:  # a case or blank slip: the one certain answer
        return [by_fold[key.strip().upper()]]
    return [by_fold[c] for c in difflib.get_close_matches(key.strip().upper(), list(by_fold), n=n, cutoff=0.5)]


# --- record changes between two dates ------------------------------------------------------

def _effective(rows: list[dict], day: dt.date) -> dict | None:
    """The version effective at `day` among a key's sorted entries (None: absent)."""
    eff = None
    for r in rows:
        if r["survey_date"] > day:
            break
        eff = r
    return eff if eff is not None and eff["_kind"] == history.VERSION else None


def _touched(backend: Backend, nt: NodeType, d1: dt.date, d2: dt.date) -> set[str]:
    p = {"a": d1, "b": d2}
    keys = {r["k"] for r in backend.read(f"MATCH (n:{nt.label}) WHERE n.survey_date > $a AND n.survey_date <= $b "
                                         f"RETURN n.`{nt.key}` AS k", p, timeout=None).rows}
    keys |= {r["k"] for r in backend.read(f"MATCH (n:{history_label(nt)}) WHERE n.survey_date > $a AND "
                                          f"n.survey_date <= $b RETURN n.h_key AS k", p, timeout=None).rows}
    return keys


def _chunks(seq: list, n: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def record_changes(backend: Backend, d1: dt.date, d2: dt.date, *, sheets: Iterable[str] | None = None,
                   include_personal: bool = False) -> dict[str, dict]:
    """{sheet: {"added": [key…], "retired": [key…], "changed": {key: {field: [old, new]}}}} from the
    state at d1 to the state at d2, for the sheets with a change; values JSON-native."""
    labels = [nt for s in sheets for nt in _labels(s)] if sheets else list(NODE_TYPES)
    out: dict[str, dict] = {}
    for nt in labels:
        keys = sorted(_touched(backend, nt, d1, d2))
        if not keys:
            continue
        by_key: dict[str, list[dict]] = {}
        for chunk in _chunks(keys):
            for r in _entries(backend, nt, f"n.`{nt.key}` IN $keys", "n.h_key IN $keys", {"keys": chunk}):
                by_key.setdefault(r["_key"], []).append(r)
        cols = ledger_keys(nt, include_personal)
        added, retired, changed = [], [], {}
        for k in keys:
            rows = sorted(by_key.get(k, []), key=_order)
            a, b = _effective(rows, d1), _effective(rows, d2)
            if a is None and b is not None:
                added.append(k)
            elif a is not None and b is None:
                retired.append(k)
            elif a is not None and b is not None:
                d = history.field_diff(a, b, cols)
                if d:
                    changed[k] = {f: json_value(v) for f, v in d.items()}
        if added or retired or changed:
            out[nt.sheet] = {"added": added, "retired": retired, "changed": changed}
    return out


def sheet_label(sheet: str) -> str:
    """The label of a sheet named by its Chinese name (keys of record_changes)."""
    return next(nt.label for nt in NODES.values() if nt.sheet == sheet)
