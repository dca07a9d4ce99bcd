"""Writing a survey into the graph: one transaction, idempotent, portable Cypher.

The statements are generated from the schema (never hand-written per type) and keep
to the subset that behaves the same on LadybugDB and Neo4j (docs/dialect-notes.md):
a diff read, then `CREATE` for new keys and `MATCH … SET` for changed ones (the
portable two-step upsert), then the relationships of every new or changed record are
redrawn from its reference properties. A record is *updated* only when a ledger value
changed; one whose values are the same but whose position (file, sheet, row) moved gets
its position refreshed and is counted apart (*moved*); its relationships stay. A record
whose properties and provenance are unchanged is not touched, so loading the same survey
twice writes nothing but the load's own `SitegraphLoad` record.

Campaign history (docs/design/history.md): every load is dated (`survey_date`) and
numbered (`load_seq`); change is detected by `content_hash`. graphmodel.history plans what
the load does to each key's timeline; a superseded version, a late version and a
retirement marker become rows of the label's history table; the current node always holds
the newest entry, so a late ledger never overwrites a newer current version.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .backends.base import Backend, Tx
from . import history
from .schema import (LOAD_LABEL, LOAD_PROPS, META_LABEL, NODE_TYPES, NODES, POSITION_KEYS, PROVENANCE,
                     REL_TYPES, SCHEMA_VERSION, Kind, NodeType, RelType, all_props, history_label,
                     history_props)

CHUNK = 5000

Progress = Callable[[str, int, int], None]


@dataclass
class LabelReport:
    created: int = 0
    updated: int = 0  # a ledger value changed
    moved: int = 0  # only the provenance changed (another file, sheet or row)
    unchanged: int = 0
    pruned: int = 0  # retired: a marker in history, the current node removed (if it was the newest)
    late: int = 0  # a version inserted before a newer one: history only
    readded: int = 0  # supplied again after a retirement

    @property
    def records(self) -> int:
        """Records of the label in this load."""
        return self.created + self.updated + self.moved + self.unchanged + self.late + self.readded


@dataclass
class LoadReport:
    load_id: str
    loaded_at: str
    source: str
    survey_date: dt.date | None = None
    load_seq: int | None = None
    labels: dict[str, LabelReport] = field(default_factory=dict)
    relationships_created: int = 0
    relationships_deleted: int = 0

    @property
    def changed(self) -> bool:
        return any(r.created or r.updated or r.moved or r.pruned or r.late or r.readded for r in self.labels.values())

    def as_dict(self) -> dict:
        return {
            "load_id": self.load_id,
            "loaded_at": self.loaded_at,
            "source": self.source,
            "survey_date": self.survey_date.isoformat() if self.survey_date else None,
            "load_seq": self.load_seq,
            "labels": {k: vars(v) for k, v in self.labels.items()},
            "relationships_created": self.relationships_created,
            "relationships_deleted": self.relationships_deleted,
        }


def _chunks(seq: list, n: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _as_list(v):
    return [str(x) for x in v] or None


def _as_date(v):
    return v.date() if isinstance(v, dt.datetime) else v


# How each kind is made canonical, so that a diff compares like with like.
_CANON = {
    Kind.FLOAT: float, Kind.INT: int, Kind.DATE: _as_date,
    Kind.LIST: _as_list, Kind.ENUM_LIST: _as_list, Kind.REF_LIST: _as_list,
}


@lru_cache(maxsize=None)
def _spec(label: str) -> tuple[tuple[str, ...], tuple[tuple[str, Callable], ...]]:
    """Every stored property of a label, and (property, canonicaliser) for those that have one."""
    nt = NODES[label]
    kinds = {c.key: c.kind for c in nt.columns}
    kinds.update({d.key: d.kind for d in nt.derived})
    kinds.update({p.key: p.kind for p in PROVENANCE})
    keys = tuple(k for k, _, _ in all_props(nt))
    return keys, tuple((k, _CANON[kinds[k]]) for k in keys if kinds[k] in _CANON)


def normalise_record(nt: NodeType, rec: dict, stamp: dict | None = None) -> dict:
    """Every stored property present (None when blank) with its canonical type;
    `stamp` (properties set on every record of a load) overrides `rec`."""
    keys, canon = _spec(nt.label)
    out = dict.fromkeys(keys)
    out.update(rec)
    if stamp:
        out.update(stamp)
    if len(out) != len(keys):  # rec holds more than stored properties
        out = {k: ({**rec, **stamp} if stamp else rec).get(k) for k in keys}
    for k, f in canon:
        v = out[k]
        if v is not None:
            out[k] = f(v)
    return out


# --- statements derived from the schema ----------------------------------------------

def _props(nt: NodeType) -> list[str]:
    return [k for k, _, _ in all_props(nt)]


def stmt_fetch(nt: NodeType) -> str:
    ret = ", ".join(f"n.`{k}` AS `{k}`" for k in _props(nt))
    return f"UNWIND $keys AS k MATCH (n:{nt.label} {{`{nt.key}`: k}}) RETURN {ret}"


def stmt_any(nt: NodeType) -> str:
    return f"MATCH (n:{nt.label}) RETURN n.`{nt.key}` AS k LIMIT 1"


def _sets(nt: NodeType, null_keys: frozenset[str], only: Iterable[str] | None = None) -> str:
    # A column that is blank in every row of a batch is written as a literal NULL:
    # Ladybug infers parameter types from the values and cannot type an all-null one.
    return ", ".join(f"n.`{k}` = NULL" if k in null_keys else f"n.`{k}` = r.`{k}`"
                     for k in (_props(nt) if only is None else only) if k != nt.key)


def stmt_create(nt: NodeType, null_keys: frozenset[str] = frozenset()) -> str:
    # All properties in the CREATE map: LadybugDB creates ~10x faster than CREATE + SET.
    props = ", ".join(f"`{k}`: r.`{k}`" for k in _props(nt) if k not in null_keys)
    return f"UNWIND $rows AS r CREATE (n:{nt.label} {{{props}}})"


def stmt_update(nt: NodeType, null_keys: frozenset[str] = frozenset(), only: Iterable[str] | None = None) -> str:
    """SET every stored property of the matched node, or those of `only`."""
    return f"UNWIND $rows AS r MATCH (n:{nt.label} {{`{nt.key}`: r.`{nt.key}`}}) SET {_sets(nt, null_keys, only)}"


def _update_batches(nt: NodeType, changed: list[dict], olds: dict) -> list[tuple[tuple[str, ...], list[dict]]]:
    """Changed records as (properties to SET, rows of the key and those properties), grouped
    by the properties that differ from the stored version `olds[key]`: a round edits one or two
    fields of a record, and Ladybug's cost (parameter typing, the write, the pages the file
    grows by) follows what is sent. Beyond `_MAX_GROUPS` groups the rest share one statement
    setting the union of what differs among them."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    keys = _props(nt)
    for r in changed:
        o = olds[r[nt.key]]
        groups.setdefault(tuple(k for k in keys if r[k] != o[k]), []).append(r)
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    if len(ordered) > _MAX_GROUPS:
        rest = ordered[_MAX_GROUPS - 1:]
        union = set().union(*(set(props) for props, _ in rest))
        ordered = ordered[:_MAX_GROUPS - 1] + [(tuple(k for k in keys if k in union), [r for _, rs in rest for r in rs])]
    out = []
    for props, rs in ordered:
        cols = (nt.key, *props)
        out += [(props, [{k: r[k] for k in cols} for r in chunk]) for chunk in _chunks(rs)]
    return out


_MAX_GROUPS = 12


def stmt_update_provenance(nt: NodeType, null_keys: frozenset[str] = frozenset()) -> str:
    """Refresh the provenance of records whose ledger values did not change."""
    sets = ", ".join(f"n.`{k}` = NULL" if k in null_keys else f"n.`{k}` = r.`{k}`" for k in POSITION_KEYS)
    return f"UNWIND $rows AS r MATCH (n:{nt.label} {{`{nt.key}`: r.`{nt.key}`}}) SET {sets}"


def _null_keys(tx: Tx, rows: list[dict]) -> frozenset[str]:
    """Columns blank in every row, for a backend that types parameters from the values.

    Neo4j takes nulls as they are, and one statement text per label keeps its plan cache
    warm; LadybugDB cannot type an all-null column, so those are written as NULL literals.
    """
    if not getattr(tx, "types_params_from_values", False):
        return frozenset()
    return frozenset(k for k in rows[0] if all(r[k] is None for r in rows))


def _param_rows(tx: Tx, rows: list[dict]) -> list[dict]:
    """Rows as sent: Neo4j reads an absent key as null, so blanks are not sent at all
    (a third less to encode and transfer); LadybugDB types a list of maps by its keys."""
    if getattr(tx, "types_params_from_values", False):
        return rows
    return [{k: v for k, v in r.items() if v is not None} for r in rows]


def _owner_pattern(rel: RelType, var: str = "x") -> str:
    owner = NODES[rel.owner]
    other = NODES[rel.end if rel.owner_is_start else rel.start]
    o = f"(o:{owner.label} {{`{owner.key}`: k}})"
    t = f"(:{other.label})"
    return f"{o}-[{var}:{rel.type}]->{t}" if rel.owner_is_start else f"{o}<-[{var}:{rel.type}]-{t}"


def stmt_delete_rels(rel: RelType) -> str:
    return f"UNWIND $keys AS k MATCH {_owner_pattern(rel)} DELETE x RETURN count(*) AS c"


def stmt_create_rels(rel: RelType) -> str:
    s, e = NODES[rel.start], NODES[rel.end]
    return (
        f"UNWIND $pairs AS p MATCH (a:{s.label} {{`{s.key}`: p.a}}) MATCH (b:{e.label} {{`{e.key}`: p.b}}) "
        f"CREATE (a)-[:{rel.type}]->(b) RETURN count(*) AS c"
    )


def stmt_source_keys(nt: NodeType) -> str:
    return f"MATCH (n:{nt.label}) WHERE n.source = $source RETURN n.`{nt.key}` AS k"


def stmt_prune(nt: NodeType) -> str:
    return f"UNWIND $keys AS k MATCH (n:{nt.label} {{`{nt.key}`: k}}) DETACH DELETE n"


# --- the load --------------------------------------------------------------------------

def _rel_pairs(rel: RelType, recs: Iterable[dict]) -> list[tuple]:
    """(start key, end key) of every relationship the records' reference columns draw."""
    owner = NODES[rel.owner]
    col = owner.column(rel.column)
    key, ref = owner.key, col.key
    pairs = []
    for r in recs:
        v = r.get(ref)
        if v is None:
            continue
        # a list is de-duplicated, in order
        for t in (dict.fromkeys(x for x in v if x is not None) if col.kind is Kind.REF_LIST else (v,)):
            pairs.append((r[key], t) if rel.owner_is_start else (t, r[key]))
    return pairs


def write_survey(
    backend: Backend,
    records: dict[str, list[dict]],
    *,
    source: str,
    prune: bool = False,
    progress: Progress | None = None,
    load_id: str | None = None,
    survey_date: dt.date | None = None,
    files: list[str] | None = None,
    merges: list[dict] | None = None,
) -> LoadReport:
    """Write the records (label -> list of property dicts) of one survey atomically.

    Records carry their provenance (src_file, src_sheet, src_row); `source`, `load_id`,
    `loaded_at`, `survey_date` (default: today) and the load sequence number are stamped
    here. Labels absent from `records` are left alone; with `prune`, records of a present
    label whose state at the survey date came from `source` and that the survey lacks are
    retired. Every superseded version goes to the label's history table (design §5).
    `merges` (loaders/parties.py): provisional parties merged into USCC records by this load.
    """
    from .errors import SitegraphError

    loaded_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    load_id = load_id or uuid.uuid4().hex[:12]
    day = survey_date or dt.date.today()
    problem = history.survey_date_problem(day, dt.date.today())
    if problem:
        raise SitegraphError(" / ".join(problem))
    files = sorted(files or {r["src_file"] for rs in records.values() for r in rs if r.get("src_file")})

    def work(tx: Tx) -> LoadReport:
        seq = int(tx.run(STMT_NEXT_SEQ)[0]["s"])
        report = LoadReport(load_id=load_id, loaded_at=loaded_at, source=source, survey_date=day, load_seq=seq)
        stamp = {"source": source, "load_id": load_id, "loaded_at": loaded_at, "survey_date": day, "load_seq": seq}
        marker = {"source": source, "load_id": load_id, "loaded_at": loaded_at, "src_file": ", ".join(files) or None}
        touched: dict[str, list[dict]] = {}  # label -> new records (all their relationships drawn)
        replaced: dict[str, tuple[list[dict], dict]] = {}  # label -> (changed records, their stored versions)
        gone: dict[str, list] = {}
        for nt in NODE_TYPES:
            if nt.label not in records:
                continue
            rep = report.labels[nt.label] = LabelReport()
            recs = [normalise_record(nt, r, stamp) for r in records[nt.label]]
            if len({r[nt.key] for r in recs}) != len(recs):
                raise ValueError(f"{nt.label}: duplicate keys in one load")  # validation prevents this
            for r in recs:
                r["content_hash"] = record_hash(nt, r)
            timelines, position = _timelines(tx, nt)
            by_key = {r[nt.key]: r for r in recs}
            plan = history.plan_load(timelines, day, {k: r["content_hash"] for k, r in by_key.items()},
                                     source, prune)
            for m in merges or ():  # a merged record leaves by the merge (graphmodel/parties.py), not by prune
                if nt.label == "Enterprise":
                    plan.actions.pop(m["other"], None)
            new, changed, moved, hist, retire_now = [], [], [], [], []
            for k, act in plan.actions.items():
                r = by_key.get(k)
                if act == history.CREATED:
                    new.append(r)
                elif act == history.READDED:  # after a retirement: the marker's interval ends here
                    new.append(r)
                    rep.readded += 1
                elif act == history.UPDATED:
                    changed.append(r)
                elif act == history.UNCHANGED:
                    pred, succ = history.neighbours(timelines[k], day)
                    if succ is None and pred.is_current and position[k] != tuple(r[x] for x in _POSITION):
                        moved.append(r)
                    else:
                        rep.unchanged += 1
                elif act == history.LATE:  # history only, the newer current version stays
                    hist.append(_history_row(nt, r, seq, to=plan.late_to[k]))
                    rep.late += 1
                elif act == history.RETIRE:
                    retire_now.append(k)
                    rep.pruned += 1
                else:  # retire_late: a marker in history only
                    hist.append(_marker_row(nt, k, seq, day, marker, to=plan.late_to[k]))
                    rep.pruned += 1
            if prune:
                gone[nt.label] = retire_now
            h_to = [{"id": i, "to": d} for i, d in plan.ends.items()]
            olds: dict = {}  # key -> the stored version a change supersedes
            # the current versions that an update or a retirement supersedes go to history first
            for chunk in _chunks([r[nt.key] for r in changed] + retire_now):
                for row in tx.run(stmt_fetch(nt), {"keys": chunk}):
                    old = olds[row[nt.key]] = normalise_record(nt, row)
                    hist.append(_history_row(nt, old, old["load_seq"], to=day))
            hist += [_marker_row(nt, k, seq, day, marker, to=None) for k in retire_now]
            if hist and getattr(tx, "copy_rows", None):  # embedded: COPY, as for new records
                tx.copy_rows(history_label(nt), "h_id", history_props(nt), hist)
            else:
                _create_rows(tx, history_label(nt), [k for k, _, _ in history_props(nt)], hist)
            for chunk in _chunks(h_to):
                tx.run(f"UNWIND $rows AS r MATCH (h:{history_label(nt)} {{h_id: r.id}}) SET h.h_to = r.to",
                       {"rows": chunk})
            done = 0
            if new and hasattr(tx, "copy_nodes"):
                tx.copy_nodes(nt, new)
                done = len(new)
                if progress:
                    progress(nt.label, done, len(new) + len(changed))
            else:
                for chunk in _chunks(new):
                    tx.run(stmt_create(nt, _null_keys(tx, chunk)), {"rows": _param_rows(tx, chunk)})
                    done += len(chunk)
                    if progress:
                        progress(nt.label, done, len(new) + len(changed))
            if getattr(tx, "sets_changed_only", False):  # embedded: only what differs
                batches = _update_batches(nt, changed, olds)
            else:  # Neo4j: one statement text per label keeps its plan cache warm
                batches = [(None, chunk) for chunk in _chunks(changed)]
            for only, chunk in batches:
                tx.run(stmt_update(nt, _null_keys(tx, chunk), only), {"rows": _param_rows(tx, chunk)})
                done += len(chunk)
                if progress:
                    progress(nt.label, done, len(new) + len(changed))
            # moved: today's behaviour — the position and last write are refreshed in the current
            # graph; the version (survey_date, load_seq, content_hash) and its history stay
            prov = (nt.key, *POSITION_KEYS)
            for chunk in _chunks([{k: r[k] for k in prov} for r in moved]):
                tx.run(stmt_update_provenance(nt, _null_keys(tx, chunk)), {"rows": _param_rows(tx, chunk)})
            rep.created, rep.updated, rep.moved = len(new) - rep.readded, len(changed), len(moved)
            touched[nt.label] = new
            replaced[nt.label] = (changed, olds)
        if merges:
            from .parties import apply_merges

            apply_merges(tx, merges, seq=seq, day=day, stamp=stamp, report=report)
        if any(gone.values()):
            gone = {k: v for k, v in gone.items() if v}
            _check_prune(tx, gone)
            for label, keys in gone.items():
                for chunk in _chunks(keys):
                    tx.run(stmt_prune(NODES[label]), {"keys": chunk})
        # Relationships after all nodes exist: redraw those of new and changed records.
        # A changed record's relationships of one type are redrawn only when the column that
        # draws them changed: the others are already what its values say.
        for rel in REL_TYPES:
            if rel.owner not in touched:
                continue
            col, okey = NODES[rel.owner].column(rel.column).key, NODES[rel.owner].key
            upd, prev = replaced[rel.owner]
            again = [r for r in upd if r[col] != prev[r[okey]][col]]
            for chunk in _chunks([r[okey] for r in again]):
                for row in tx.run(stmt_delete_rels(rel), {"keys": chunk}):
                    report.relationships_deleted += int(row["c"])
            pairs = _rel_pairs(rel, touched[rel.owner] + again)
            batches = [pairs] if (pairs and hasattr(tx, "copy_rels")) else list(_chunks(pairs))
            for chunk in batches:
                if hasattr(tx, "copy_rels"):
                    made = tx.copy_rels(rel, chunk)
                else:
                    made = sum(int(row["c"]) for row in tx.run(stmt_create_rels(rel),
                                                                  {"pairs": [{"a": a, "b": b} for a, b in chunk]}))
                if made != len(chunk):
                    raise RuntimeError(
                        f"{rel.type}: {len(chunk) - made} 条关系的端点不存在 / relationship endpoints missing"
                    )
                report.relationships_created += made
        _create_rows(tx, LOAD_LABEL, [d.key for d in LOAD_PROPS], [{
            "load_seq": seq, "load_id": load_id, "source": source, "survey_date": day, "loaded_at": loaded_at,
            "files": files or None, "prune": prune, "late": any(r.late for r in report.labels.values()),
            "counts": json.dumps({k: vars(v) for k, v in report.labels.items()}, ensure_ascii=False),
            "format_version": SCHEMA_VERSION,
        }])
        return report

    batched = getattr(backend, "write_batched", None)  # Neo4j: bounded batches (graphmodel/batched.py)
    return batched(work, sum(len(v) for v in records.values())) if batched else backend.write(work)


# --- history (docs/design/history.md §4–§5) -----------------------------------------------

# The load sequence: first statement of every load transaction, the same on both backends.
# On Neo4j it write-locks the meta node until commit, so concurrent loads get 1, 2, 3 …
STMT_NEXT_SEQ = (f"MERGE (m:{META_LABEL} {{name: 'loads'}}) ON CREATE SET m.last_seq = 0 "
                 f"SET m.last_seq = m.last_seq + 1 RETURN m.last_seq AS s")
_POSITION = ("src_file", "src_sheet", "src_row")  # source is part of the content hash


@lru_cache(maxsize=None)
def _hash_keys(label: str) -> tuple[str, ...]:
    return tuple(sorted(NODES[label].data_keys))


def record_hash(nt: NodeType, rec: dict) -> str:
    """content_hash of a normalised record: its ledger and derived values and its source."""
    return history.content_hash(rec, _hash_keys(nt.label), rec.get("source"))


def _timelines(tx: Tx, nt: NodeType) -> tuple[dict[str, list[history.Entry]], dict[str, tuple]]:
    """Every key's timeline from the light columns of the current and history tables,
    and the position (file, sheet, row) of each current node. Empty tables are not scanned.
    A backend with `tuples` (embedded) gives rows as plain lists: no dict per row."""
    def fetch(q: str, cols: tuple[str, ...]) -> list:
        if hasattr(tx, "tuples"):
            return tx.tuples(q)
        return [tuple(r[c] for c in cols) for r in tx.run(q)]

    Entry, VERSION = history.Entry, history.VERSION
    tls: dict[str, list[history.Entry]] = {}
    position: dict[str, tuple] = {}
    if tx.run(stmt_any(nt)):
        for k, h, d, s, src, f, sh, r in fetch(
                f"MATCH (n:{nt.label}) RETURN n.`{nt.key}` AS k, n.content_hash AS h, n.survey_date AS d, "
                f"n.load_seq AS s, n.source AS src, n.src_file AS f, n.src_sheet AS sh, n.src_row AS r",
                ("k", "h", "d", "s", "src", "f", "sh", "r")):
            tls[k] = [Entry(_as_date(d), int(s), VERSION, h, src)]
            position[k] = (f, sh, r)
    hl = history_label(nt)
    if tx.run(f"MATCH (n:{hl}) RETURN n.h_id AS k LIMIT 1"):
        for k, i, d, s, kind, h, src, t in fetch(
                f"MATCH (n:{hl}) RETURN n.h_key AS k, n.h_id AS id, n.survey_date AS d, n.load_seq AS s, "
                f"n.h_kind AS kind, n.content_hash AS h, n.source AS src, n.h_to AS t",
                ("k", "id", "d", "s", "kind", "h", "src", "t")):
            tl = tls.get(k)
            if tl is None:
                tl = tls[k] = []
            tl.append(Entry(_as_date(d), int(s), kind, h, src, i, _as_date(t)))
        for k, tl in tls.items():  # only keys with history have more than one entry
            if len(tl) > 1:
                tl.sort(key=_entry_order)
    return tls, position


def _entry_order(e: history.Entry) -> tuple:
    return (e.survey_date, e.load_seq)


def _history_row(nt: NodeType, rec: dict, seq: int, *, to: dt.date | None) -> dict:
    row = dict(rec)
    row.update(h_id=history.h_id(rec[nt.key], seq), h_key=rec[nt.key], h_to=to, h_kind=history.VERSION, h_into=None)
    return row


def _marker_row(nt: NodeType, key: str, seq: int, day: dt.date, stamp: dict, *, to: dt.date | None) -> dict:
    row = dict.fromkeys(k for k, _, _ in history_props(nt))
    row.update(stamp)
    row.update({nt.key: key, "survey_date": day, "load_seq": seq, "h_id": history.h_id(key, seq), "h_key": key,
                "h_to": to, "h_kind": history.RETIRED})
    return row


def _create_rows(tx: Tx, label: str, keys: list[str], rows: list[dict]) -> None:
    """UNWIND … CREATE of whole rows (every key present, None when blank)."""
    for chunk in _chunks(rows):
        nulls = _null_keys(tx, chunk)
        props = ", ".join(f"`{k}`: r.`{k}`" for k in keys if k not in nulls)
        tx.run(f"UNWIND $rows AS r CREATE (n:{label} {{{props}}})", {"rows": _param_rows(tx, chunk)})


def upgrade_store(tx: Tx) -> None:
    """Schema 1/2 -> 3 (design §9), inside one write transaction: a store id; one
    SitegraphLoad per former load_id, in loaded_at order, survey date = the day of
    loaded_at; survey_date/load_seq/content_hash stamped on every node. Idempotent."""
    tx.run(f"MERGE (m:{META_LABEL} {{name: 'loads'}}) ON CREATE SET m.last_seq = 0 "
           f"SET m.store_id = coalesce(m.store_id, $id)", {"id": uuid.uuid4().hex})
    groups: dict = {}
    todo: dict[str, list[dict]] = {}
    for nt in NODE_TYPES:
        if not tx.run(f"MATCH (n:{nt.label}) WHERE n.load_seq IS NULL RETURN n.`{nt.key}` AS k LIMIT 1"):
            continue
        ret = ", ".join(f"n.`{k}` AS `{k}`" for k in _props(nt))
        rows = [normalise_record(nt, r) for r in tx.run(f"MATCH (n:{nt.label}) WHERE n.load_seq IS NULL RETURN {ret}")]
        todo[nt.label] = rows
        for r in rows:
            g = groups.setdefault(r["load_id"], {"at": r["loaded_at"] or "", "source": r["source"], "files": set(),
                                                 "counts": {}})
            g["at"] = min(g["at"], r["loaded_at"] or "")
            if r["src_file"]:
                g["files"].add(r["src_file"])
            c = g["counts"].setdefault(nt.label, vars(LabelReport()))
            c["created"] += 1
    if not groups:
        return
    last = int(tx.run(f"MATCH (m:{META_LABEL}) WHERE m.name = 'loads' RETURN m.last_seq AS s")[0]["s"] or 0)
    seq_of, loads = {}, []
    for i, (lid, g) in enumerate(sorted(groups.items(), key=lambda kv: (kv[1]["at"], str(kv[0]))), start=last + 1):
        seq_of[lid] = i
        day = dt.date.fromisoformat(g["at"][:10]) if g["at"] else dt.date.today()
        loads.append({"load_seq": i, "load_id": lid, "source": g["source"], "survey_date": day,
                      "loaded_at": g["at"] or None, "files": sorted(g["files"]) or None, "prune": False,
                      "late": False, "counts": json.dumps(g["counts"], ensure_ascii=False),
                      "format_version": SCHEMA_VERSION})
    _create_rows(tx, LOAD_LABEL, [d.key for d in LOAD_PROPS], loads)
    tx.run(f"MATCH (m:{META_LABEL}) WHERE m.name = 'loads' SET m.last_seq = $s", {"s": last + len(loads)})
    day_of = {l["load_id"]: l["survey_date"] for l in loads}
    for label, rows in todo.items():
        nt = NODES[label]
        stamps = [{"k": r[nt.key], "d": day_of[r["load_id"]], "s": seq_of[r["load_id"]], "h": record_hash(nt, r)}
                  for r in rows]
        for chunk in _chunks(stamps):
            tx.run(f"UNWIND $rows AS r MATCH (n:{label} {{`{nt.key}`: r.k}}) "
                   f"SET n.survey_date = r.d, n.load_seq = r.s, n.content_hash = r.h", {"rows": chunk})


def list_loads(backend: Backend) -> list[dict]:
    """Every SitegraphLoad, by load_seq, with its counts parsed."""
    ret = ", ".join(f"l.`{d.key}` AS `{d.key}`" for d in LOAD_PROPS)
    rows = backend.read(f"MATCH (l:{LOAD_LABEL}) RETURN {ret} ORDER BY l.load_seq", timeout=None).rows
    for r in rows:
        r["counts"] = json.loads(r["counts"] or "{}")
    return rows


def _check_prune(tx: Tx, gone: dict[str, list]) -> None:
    """Refuse to prune a record that a record staying in the graph still references."""
    from .errors import SitegraphError

    blocked = []
    for rel in REL_TYPES:
        owner = NODES[rel.owner]
        col = owner.column(rel.column)
        target = NODES[col.ref]
        if not gone.get(target.label):
            continue
        cond = (f"any(x IN o.`{col.key}` WHERE x IN $gone)" if col.kind is Kind.REF_LIST
                else f"o.`{col.key}` IN $gone")
        rows = tx.run(
            f"MATCH (o:{owner.label}) WHERE {cond} RETURN o.`{owner.key}` AS k, o.`{col.key}` AS v",
            {"gone": gone[target.label]},
        )
        leaving = set(gone.get(owner.label, ()))
        blocked += [f"{owner.sheet} {r['k']} → {target.sheet} {r['v']}" for r in rows if r["k"] not in leaving]
    if blocked:
        raise SitegraphError(
            "不能删除（--prune）仍被其他记录引用的记录 / cannot prune records still referenced by others: "
            + "; ".join(sorted(blocked)[:20])
        )


def existing_keys(backend: Backend, label: str, keys: list[str]) -> set[str]:
    """Which of `keys` already exist as records of `label` in the graph."""
    nt = NODES[label]
    found: set[str] = set()
    for chunk in _chunks(list(dict.fromkeys(keys))):
        res = backend.read(f"UNWIND $keys AS k MATCH (n:{nt.label} {{`{nt.key}`: k}}) RETURN n.`{nt.key}` AS k",
                           {"keys": chunk}, timeout=None)
        found.update(r["k"] for r in res.rows)
    return found
