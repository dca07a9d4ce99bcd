"""Schema statements for each backend, derived from graphmodel.schema."""
from __future__ import annotations

from .schema import (LOAD_LABEL, LOAD_PROPS, META_LABEL, NODE_TYPES, REL_TYPES, all_props,
                     history_label, history_props)

# Meta node properties beyond name/schema_version (campaign history): a uuid naming the
# store, and the last load sequence number handed out.
META_EXTRA = (("store_id", "STRING"), ("last_seq", "INT64"))


def embedded_ddl() -> list[str]:
    """LadybugDB DDL: one node table per label, one rel table per relationship type."""
    meta = ", ".join(f"{k} {t}" for k, t in META_EXTRA)
    stmts = [f"CREATE NODE TABLE IF NOT EXISTS {META_LABEL}(name STRING PRIMARY KEY, schema_version INT64, {meta})"]
    for nt in NODE_TYPES:
        cols = ", ".join(f"`{k}` {t}" for k, t, _ in all_props(nt))
        stmts.append(f"CREATE NODE TABLE IF NOT EXISTS {nt.label}({cols}, PRIMARY KEY(`{nt.key}`))")
        hcols = ", ".join(f"`{k}` {t}" for k, t, _ in history_props(nt))
        stmts.append(f"CREATE NODE TABLE IF NOT EXISTS {history_label(nt)}({hcols}, PRIMARY KEY(h_id))")
    lcols = ", ".join(f"`{d.key}` {d.ddl_type}" for d in LOAD_PROPS)
    stmts.append(f"CREATE NODE TABLE IF NOT EXISTS {LOAD_LABEL}({lcols}, PRIMARY KEY(load_seq))")
    for r in REL_TYPES:
        stmts.append(f"CREATE REL TABLE IF NOT EXISTS {r.type}(FROM {r.start} TO {r.end})")
    return stmts


def embedded_missing_columns(existing: dict[str, set[str]]) -> list[str]:
    """ALTER statements for properties added to the schema after a database was made.

    `existing` maps a label (node labels, their history labels, the meta label) to the
    property names its table has now.
    """
    out = []
    tables = [(nt.label, all_props(nt)) for nt in NODE_TYPES]
    tables += [(history_label(nt), history_props(nt)) for nt in NODE_TYPES]
    tables.append((META_LABEL, tuple((k, t, "") for k, t in META_EXTRA)))
    for label, props in tables:
        have = existing.get(label)
        if have is None:
            continue
        for k, t, _ in props:
            if k not in have:
                out.append(f"ALTER TABLE {label} ADD IF NOT EXISTS `{k}` {t}")
    return out


def neo4j_ddl() -> list[str]:
    """Neo4j 5 uniqueness constraints (which carry an index) and lookup indexes."""
    stmts = [
        f"CREATE CONSTRAINT sg_{META_LABEL.lower()}_name IF NOT EXISTS "
        f"FOR (n:{META_LABEL}) REQUIRE n.name IS UNIQUE"
    ]
    for nt in NODE_TYPES:
        stmts.append(
            f"CREATE CONSTRAINT sg_{nt.label.lower()}_{nt.key} IF NOT EXISTS "
            f"FOR (n:{nt.label}) REQUIRE n.`{nt.key}` IS UNIQUE"
        )
        # provenance lookups: pruning and listing by survey
        stmts.append(f"CREATE INDEX sg_{nt.label.lower()}_source IF NOT EXISTS FOR (n:{nt.label}) ON (n.source)")
        h = history_label(nt)
        stmts.append(f"CREATE CONSTRAINT sg_{h.lower()}_h_id IF NOT EXISTS FOR (n:{h}) REQUIRE n.h_id IS UNIQUE")
        stmts.append(f"CREATE INDEX sg_{h.lower()}_h_key IF NOT EXISTS FOR (n:{h}) ON (n.h_key)")
    stmts.append(f"CREATE CONSTRAINT sg_{LOAD_LABEL.lower()}_load_seq IF NOT EXISTS "
                 f"FOR (n:{LOAD_LABEL}) REQUIRE n.load_seq IS UNIQUE")
    return stmts
