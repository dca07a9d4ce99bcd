"""Merging a provisional party into another record, inside a write transaction (docs/parties.md).

A merge of 临时编码 P into record U (a ledger row with both codes, or `sitegraph merge`):
- every record that references P is rewritten to reference U — its current version goes to
  history first (its own source is kept, so its source still prunes it) — and its
  relationships are redrawn, so none is lost;
- P's current node goes to history (its interval ends at the merge's survey date), P's
  timeline gets a `merged` marker (`h_into = U`, carrying P's values: nothing is lost), and
  the node is removed; from the merge date on, every state shows one record;
- U carries P among its `aliases` (the ledger's record, or `merge_records` here), and the
  loader resolves a later reference to P to U.

Portable Cypher only, parameters for every value: the same statements on both backends.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

from . import history
from .backends.base import Backend, Tx
from .errors import SitegraphError
from .schema import LOAD_LABEL, LOAD_PROPS, NODE_TYPES, NODES, REL_TYPES, SCHEMA_VERSION, history_label, history_props

PARTY = "Enterprise"
# (label, reference column) of every reference to a party
PARTY_REFS = tuple((nt.label, c.key) for nt in NODE_TYPES for c in nt.refs if c.ref == PARTY)
MERGE_SOURCE = "sitegraph merge"


def _w():
    from . import writer

    return writer


def is_provisional(rec: dict) -> bool:
    return rec.get("provisional_id") is not None and rec.get("uscc") == rec.get("provisional_id")


def _miscoded(other: dict, keep: dict) -> bool:
    """`other` carries a USCC that fails its check character while `keep`'s passes."""
    return other.get("uscc_valid") is False and keep.get("uscc_valid") is True and not is_provisional(keep)


def fetch(tx: Tx, label: str, keys: list[str]) -> dict[str, dict]:
    w = _w()
    nt = NODES[label]
    out = {}
    for chunk in w._chunks(list(dict.fromkeys(keys))):
        for row in tx.run(w.stmt_fetch(nt), {"keys": chunk}):
            rec = w.normalise_record(nt, row)
            out[rec[nt.key]] = rec
    return out


def _merged_marker(values: dict, into: str, seq: int, day: dt.date, stamp: dict) -> dict:
    nt = NODES[PARTY]
    row = dict.fromkeys(k for k, _, _ in history_props(nt))
    row.update({k: v for k, v in values.items() if k in row})
    key = values[nt.key]
    row.update(stamp)
    row.update({"survey_date": day, "load_seq": seq, "h_id": history.h_id(key, seq), "h_key": key, "h_to": None,
                "h_kind": history.MERGED, "h_into": into})
    return row


def apply_merges(tx: Tx, merges: list[dict], *, seq: int, day: dt.date, stamp: dict, report=None) -> dict[str, int]:
    """Merge each {"into": U, "other": P, "row": P's ledger record or None} (see the module
    doc). Call after U is written and before relationships of the load are drawn. Returns
    the number of referencing records rewritten, per label."""
    w = _w()
    if not merges:
        return {}
    nt = NODES[PARTY]
    into = {m["other"]: m["into"] for m in merges}
    old = fetch(tx, PARTY, list(into))
    for p, rec in old.items():
        if rec.get("survey_date") is not None and rec["survey_date"] > day:
            raise SitegraphError(
                f"合并日期 {day} 早于临时编码记录 {p} 的最新版本（{rec['survey_date']}）：请用不早于该日期的调查日期 / "
                f"the merge date {day} is before the newest version of provisional record {p} "
                f"({rec['survey_date']}): use a survey date on or after it")
    marker = {k: stamp[k] for k in ("source", "load_id", "loaded_at") if k in stamp}
    hist = []
    for m in merges:
        p = m["other"]
        if p in old:
            hist.append(w._history_row(nt, old[p], old[p]["load_seq"], to=day))
            hist.append(_merged_marker(old[p], m["into"], seq, day, marker))
        elif m.get("row") is not None:  # the provisional row came in the same ledger: its values kept here
            hist.append(_merged_marker(w.normalise_record(nt, m["row"]), m["into"], seq, day, marker))
    rewritten = _rewrite_references(tx, into, seq, day, stamp)
    w._create_rows(tx, history_label(nt), [k for k, _, _ in history_props(nt)], hist)
    for chunk in w._chunks(list(old)):
        tx.run(w.stmt_prune(nt), {"keys": chunk})
    # relationships of the rewritten records, now that the merged nodes are gone
    for rel in REL_TYPES:
        recs = rewritten.get(rel.owner)
        if not recs or (rel.owner, rel.column) not in PARTY_REFS:
            continue
        keys = list(recs)
        for chunk in w._chunks(keys):
            tx.run(w.stmt_delete_rels(rel), {"keys": chunk})
        pairs = w._rel_pairs(rel, recs.values())
        for chunk in w._chunks(pairs):
            made = sum(int(r["c"]) for r in tx.run(w.stmt_create_rels(rel),
                                                     {"pairs": [{"a": a, "b": b} for a, b in chunk]}))
            if made != len(chunk):
                raise RuntimeError(f"{rel.type}: relationship endpoints missing after a merge")
            if report is not None:
                report.relationships_created += made
    counts = {label: len(recs) for label, recs in rewritten.items()}
    if report is not None:
        for label, n in counts.items():
            rep = report.labels.setdefault(label, w.LabelReport())
            rep.updated += n
    return counts


def _rewrite_references(tx: Tx, into: dict[str, str], seq: int, day: dt.date, stamp: dict) -> dict[str, dict]:
    """Records referencing a merged key: a history row of each current version, then the
    references set to the merge target. label -> key -> the new record."""
    w = _w()
    out: dict[str, dict] = {}
    by_label: dict[str, list[str]] = {}
    for label, col in PARTY_REFS:
        by_label.setdefault(label, []).append(col)
    ps = list(into)
    for label, cols in by_label.items():
        nt = NODES[label]
        cond = " OR ".join(f"o.`{c}` IN $ps" for c in cols)
        keys = [r["k"] for r in tx.run(f"MATCH (o:{label}) WHERE {cond} RETURN o.`{nt.key}` AS k", {"ps": ps})]
        if not keys:
            continue
        recs = fetch(tx, label, keys)
        hist, new = [], {}
        for k, rec in recs.items():
            if rec.get("load_seq") != seq:  # a version of an earlier load goes to history
                hist.append(w._history_row(nt, rec, rec["load_seq"], to=day))
            r = dict(rec)
            for c in cols:
                if r.get(c) in into:
                    r[c] = into[r[c]]
            r.update({k2: stamp[k2] for k2 in ("load_id", "loaded_at") if k2 in stamp})
            r.update(survey_date=day, load_seq=seq)
            r["content_hash"] = w.record_hash(nt, r)
            new[k] = r
        w._create_rows(tx, history_label(nt), [k for k, _, _ in history_props(nt)], hist)
        rows = list(new.values())
        for chunk in w._chunks(rows):
            tx.run(w.stmt_update(nt, w._null_keys(tx, chunk)), {"rows": w._param_rows(tx, chunk)})
        out[label] = new
    return out


def resolve_key(backend: Backend, key: str) -> str | None:
    """The record key a USCC, 临时编码 or alias names (None: unknown)."""
    q = f"MATCH (e:{PARTY}) WHERE e.uscc = $k OR e.provisional_id = $k OR $k IN e.aliases RETURN e.uscc AS k"
    rows = backend.read(q, {"k": key}, timeout=None).rows
    exact = [r["k"] for r in rows if r["k"] == key]
    return exact[0] if exact else (rows[0]["k"] if rows else None)


def merge_records(backend: Backend, keep: str, others: list[str], *, day: dt.date | None = None,
                  decided_by: str = MERGE_SOURCE) -> dict:
    """The user's decision: merge the records `others` into `keep` (keys already resolved)."""
    return merge_groups(backend, [(keep, list(others))], day=day, decided_by=decided_by)[0]


def merge_groups(backend: Backend, groups: list[tuple[str, list[str]]], *, day: dt.date | None = None,
                 decided_by: str = MERGE_SOURCE) -> list[dict]:
    """Merge each (keep, others) group in one transaction, recorded as a load of its own
    (SitegraphLoad source `sitegraph merge`). Refused when two are registered parties."""
    w = _w()
    loaded_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    load_id = uuid.uuid4().hex[:12]
    day = day or dt.date.today()
    nt = NODES[PARTY]
    groups = [(k, [o for o in dict.fromkeys(os_) if o != k]) for k, os_ in groups]
    if not groups or any(not os_ for _, os_ in groups):
        raise SitegraphError("没有要合并的其他主体 / nothing to merge: give at least one other party")

    def work(tx: Tx) -> list[dict]:
        seq = int(tx.run(w.STMT_NEXT_SEQ)[0]["s"])
        stamp = {"source": decided_by, "load_id": load_id, "loaded_at": loaded_at}
        results, counts = [], {PARTY: {"merged": 0, "updated": 0}}
        for keep, others in groups:
            recs = fetch(tx, PARTY, [keep, *others])
            for k in [keep, *others]:
                if k not in recs:
                    raise SitegraphError(f"找不到主体“{k}” / no party '{k}'")
            k_rec = recs[keep]
            for o in others:
                # a party registered under a mistyped code (its check character fails) may be
                # folded into the party with the valid code: that is the usual duplicate
                if not is_provisional(recs[o]) and not _miscoded(recs[o], k_rec):
                    if not is_provisional(k_rec) and not _miscoded(k_rec, recs[o]):
                        raise SitegraphError(
                            f"“{keep}”和“{o}”都是有统一社会信用代码的已登记主体，代码不同，不能合并 / "
                            f"'{keep}' and '{o}' are both registered parties with different USCCs: they cannot "
                            f"be merged")
                    raise SitegraphError(
                        f"“{o}”的统一社会信用代码有效，应作为保留方：sitegraph merge {o} {keep} / "
                        f"'{o}' has a valid USCC and must be the one kept: sitegraph merge {o} {keep}")
            for k in [keep, *others]:
                if recs[k].get("survey_date") is not None and recs[k]["survey_date"] > day:
                    raise SitegraphError(f"合并日期 {day} 早于记录 {k} 的最新版本（{recs[k]['survey_date']}） / "
                                         f"the merge date {day} is before the newest version of {k}")
            aliases = set(k_rec.get("aliases") or ())
            for o in others:
                aliases |= {o, *(recs[o].get("aliases") or ())}
            aliases.discard(keep)
            new = dict(k_rec)
            new.update(aliases=sorted(aliases), survey_date=day, load_seq=seq, load_id=load_id, loaded_at=loaded_at)
            new["content_hash"] = w.record_hash(nt, new)
            if k_rec.get("load_seq") != seq:  # its version so far goes to history
                w._create_rows(tx, history_label(nt), [k for k, _, _ in history_props(nt)],
                               [w._history_row(nt, k_rec, k_rec["load_seq"], to=day)])
            tx.run(w.stmt_update(nt, w._null_keys(tx, [new])), {"rows": w._param_rows(tx, [new])})
            rewritten = apply_merges(tx, [{"into": keep, "other": o, "row": None} for o in others],
                                     seq=seq, day=day, stamp=stamp)
            counts[PARTY]["merged"] += len(others)
            counts[PARTY]["updated"] += 1
            for label, n in rewritten.items():
                c = counts.setdefault(label, {"updated": 0})
                c["updated"] = c.get("updated", 0) + n
            results.append({"keep": keep, "merged": others, "load_seq": seq, "survey_date": day.isoformat(),
                            "rewritten": rewritten})
        w._create_rows(tx, LOAD_LABEL, [d.key for d in LOAD_PROPS], [{
            "load_seq": seq, "load_id": load_id, "source": decided_by, "survey_date": day, "loaded_at": loaded_at,
            "files": None, "prune": False, "late": False, "counts": json.dumps(counts, ensure_ascii=False),
            "format_version": SCHEMA_VERSION}])
        return results

    return backend.write(work)
