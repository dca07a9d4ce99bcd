"""Writing a survey into the graph: one transaction, idempotent, portable Cypher.

The statements are generated from the schema (never hand-written per type) and keep
to the subset that behaves the same on LadybugDB and Neo4j (docs/dialect-notes.md):
a diff read, then `CREATE` for new keys and `MATCH … SET` for changed ones (the
portable two-step upsert), then the relationships of every new or changed record are
redrawn from its reference properties. A record is *updated* only when a ledger value
changed; one whose values are the same but whose provenance (source, file, sheet, row)
moved gets its provenance refreshed and is counted apart (*moved*); its relationships
stay. A record whose properties and provenance are unchanged is not touched, so loading
the same survey twice writes nothing.
"""
from __future__ import annotations

import datetime as dt
import uuid
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .backends.base import Backend, Tx
from .schema import NODE_TYPES, NODES, PROVENANCE, PROVENANCE_KEYS, REL_TYPES, Kind, NodeType, RelType, all_props

CHUNK = 5000
# Provenance that makes a record "moved" when it differs (load_id/loaded_at do not).
_PROV_COMPARED = ("source", "src_file", "src_sheet", "src_row")

Progress = Callable[[str, int, int], None]


@dataclass
class LabelReport:
    created: int = 0
    updated: int = 0  # a ledger value changed
    moved: int = 0  # only the provenance changed (another file, sheet or row)
    unchanged: int = 0
    pruned: int = 0

    @property
    def records(self) -> int:
        """Records of the label in this load."""
        return self.created + self.updated + self.moved + self.unchanged


@dataclass
class LoadReport:
    load_id: str
    loaded_at: str
    source: str
    labels: dict[str, LabelReport] = field(default_factory=dict)
    relationships_created: int = 0
    relationships_deleted: int = 0

    @property
    def changed(self) -> bool:
        return any(r.created or r.updated or r.moved or r.pruned for r in self.labels.values())

    def as_dict(self) -> dict:
        return {
            "load_id": self.load_id,
            "loaded_at": self.loaded_at,
            "source": self.source,
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


def _sets(nt: NodeType, null_keys: frozenset[str]) -> str:
    # A column that is blank in every row of a batch is written as a literal NULL:
    # Ladybug infers parameter types from the values and cannot type an all-null one.
    return ", ".join(f"n.`{k}` = NULL" if k in null_keys else f"n.`{k}` = r.`{k}`"
                     for k in _props(nt) if k != nt.key)


def stmt_create(nt: NodeType, null_keys: frozenset[str] = frozenset()) -> str:
    # All properties in the CREATE map: LadybugDB creates ~10x faster than CREATE + SET.
    props = ", ".join(f"`{k}`: r.`{k}`" for k in _props(nt) if k not in null_keys)
    return f"UNWIND $rows AS r CREATE (n:{nt.label} {{{props}}})"


def stmt_update(nt: NodeType, null_keys: frozenset[str] = frozenset()) -> str:
    return f"UNWIND $rows AS r MATCH (n:{nt.label} {{`{nt.key}`: r.`{nt.key}`}}) SET {_sets(nt, null_keys)}"


def stmt_update_provenance(nt: NodeType, null_keys: frozenset[str] = frozenset()) -> str:
    """Refresh the provenance of records whose ledger values did not change."""
    sets = ", ".join(f"n.`{k}` = NULL" if k in null_keys else f"n.`{k}` = r.`{k}`" for k in PROVENANCE_KEYS)
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
) -> LoadReport:
    """Write the records (label -> list of property dicts) of one survey atomically.

    Records carry their provenance (src_file, src_sheet, src_row); `source`, `load_id`
    and `loaded_at` are stamped here. Labels absent from `records` are left alone; with
    `prune`, records of the same source missing from a present label are removed.
    """
    loaded_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    load_id = load_id or uuid.uuid4().hex[:12]

    def work(tx: Tx) -> LoadReport:
        report = LoadReport(load_id=load_id, loaded_at=loaded_at, source=source)
        touched: dict[str, list[dict]] = {}
        replaced: dict[str, list] = {}
        gone: dict[str, list] = {}
        for nt in NODE_TYPES:
            if nt.label not in records:
                continue
            rep = report.labels[nt.label] = LabelReport()
            stamp = {"source": source, "load_id": load_id, "loaded_at": loaded_at}
            recs = [normalise_record(nt, r, stamp) for r in records[nt.label]]
            existing: dict = {}
            empty = not tx.run(stmt_any(nt))  # a first load skips the diff read
            for chunk in ([] if empty else _chunks([r[nt.key] for r in recs])):
                for row in tx.run(stmt_fetch(nt), {"keys": chunk}):
                    existing[row[nt.key]] = normalise_record(nt, row)
            new, changed, moved = [], [], []
            values = [k for k in _props(nt) if k not in PROVENANCE_KEYS]
            for r in recs:
                old = existing.get(r[nt.key])
                if old is None:
                    new.append(r)
                elif any(old[k] != r[k] for k in values):
                    changed.append(r)
                elif any(old[k] != r[k] for k in _PROV_COMPARED):
                    moved.append(r)
                else:
                    rep.unchanged += 1
            done = 0
            if len({r[nt.key] for r in recs}) != len(recs):
                raise ValueError(f"{nt.label}: duplicate keys in one load")  # validation prevents this
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
            for chunk in _chunks(changed):
                tx.run(stmt_update(nt, _null_keys(tx, chunk)), {"rows": _param_rows(tx, chunk)})
                done += len(chunk)
                if progress:
                    progress(nt.label, done, len(new) + len(changed))
            prov = (nt.key, *PROVENANCE_KEYS)
            for chunk in _chunks([{k: r[k] for k in prov} for r in moved]):
                tx.run(stmt_update_provenance(nt, _null_keys(tx, chunk)), {"rows": _param_rows(tx, chunk)})
            rep.created, rep.updated, rep.moved = len(new), len(changed), len(moved)
            touched[nt.label] = new + changed
            replaced[nt.label] = [r[nt.key] for r in changed]
            if prune:
                keep = {r[nt.key] for r in recs}
                gone[nt.label] = [row["k"] for row in tx.run(stmt_source_keys(nt), {"source": source})
                                  if row["k"] not in keep]
                rep.pruned = len(gone[nt.label])
        if gone:
            _check_prune(tx, gone)
            for label, keys in gone.items():
                for chunk in _chunks(keys):
                    tx.run(stmt_prune(NODES[label]), {"keys": chunk})
        # Relationships after all nodes exist: redraw those of new and changed records.
        for rel in REL_TYPES:
            if rel.owner not in touched:
                continue
            for chunk in _chunks(replaced[rel.owner]):
                for row in tx.run(stmt_delete_rels(rel), {"keys": chunk}):
                    report.relationships_deleted += int(row["c"])
            pairs = _rel_pairs(rel, touched[rel.owner])
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
        return report

    return backend.write(work)


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
