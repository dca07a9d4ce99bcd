"""Schema statements for each backend, derived from graphmodel.schema."""
from __future__ import annotations

from .schema import META_LABEL, NODE_TYPES, REL_TYPES, all_props


def embedded_ddl() -> list[str]:
    """LadybugDB DDL: one node table per label, one rel table per relationship type."""
    stmts = [f"CREATE NODE TABLE IF NOT EXISTS {META_LABEL}(name STRING PRIMARY KEY, schema_version INT64)"]
    for nt in NODE_TYPES:
        cols = ", ".join(f"`{k}` {t}" for k, t, _ in all_props(nt))
        stmts.append(f"CREATE NODE TABLE IF NOT EXISTS {nt.label}({cols}, PRIMARY KEY(`{nt.key}`))")
    for r in REL_TYPES:
        stmts.append(f"CREATE REL TABLE IF NOT EXISTS {r.type}(FROM {r.start} TO {r.end})")
    return stmts


def embedded_missing_columns(existing: dict[str, set[str]]) -> list[str]:
    """ALTER statements for properties added to the schema after a database was made.

    `existing` maps a label to the property names its table has now.
    """
    out = []
    for nt in NODE_TYPES:
        have = existing.get(nt.label)
        if have is None:
            continue
        for k, t, _ in all_props(nt):
            if k not in have:
                out.append(f"ALTER TABLE {nt.label} ADD IF NOT EXISTS `{k}` {t}")
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
    return stmts
