"""neomodel classes derived from graphmodel.schema (Neo4j only).

neomodel speaks only Bolt, so it cannot be the layer over the embedded store and bulk
loads are plain UNWIND (graphmodel.writer). The classes serve where an object layer
helps on Neo4j: interactive work, small scripts, and the one-save()-per-record
baseline in bench/. They are generated, never written by hand, so they cannot drift
from the schema.
"""
from __future__ import annotations

from functools import lru_cache

from .schema import NODE_TYPES, PROVENANCE, REL_TYPES, Kind, NodeType


@lru_cache(maxsize=1)
def _native_date_property() -> type:
    """A DATE stored as a Neo4j date (neomodel's DateProperty stores an ISO string)."""
    from neomodel.properties import Property

    class NativeDateProperty(Property):
        def inflate(self, value, obj=None):
            return value.to_native() if hasattr(value, "to_native") else value

        def deflate(self, value, obj=None):
            return value

    return NativeDateProperty


def _prop(kind: Kind, *, key: bool = False):
    import neomodel as nm

    if key:
        return nm.StringProperty(unique_index=True, required=True)
    if kind is Kind.INT:
        return nm.IntegerProperty()
    if kind is Kind.FLOAT:
        return nm.FloatProperty()
    if kind is Kind.BOOL:
        return nm.BooleanProperty()
    if kind is Kind.DATE:
        return _native_date_property()()
    if kind in (Kind.LIST, Kind.ENUM_LIST, Kind.REF_LIST):
        return nm.ArrayProperty(nm.StringProperty())
    return nm.StringProperty()


@lru_cache(maxsize=1)
def classes() -> dict[str, type]:
    """label -> neomodel StructuredNode subclass, with properties and relationships."""
    import neomodel as nm

    out: dict[str, type] = {}
    for nt in NODE_TYPES:
        attrs: dict = {"__module__": __name__, "__label__": nt.label}
        for c in nt.columns:
            attrs[c.key] = _prop(c.kind, key=c.key == nt.key)
        for d in nt.derived + PROVENANCE:
            attrs[d.key] = _prop(d.kind)
        for r in REL_TYPES:
            if r.start == nt.label:
                attrs[f"rel_{r.type.lower()}"] = nm.RelationshipTo(f"{__name__}.{r.end}", r.type)
            if r.end == nt.label:
                attrs[f"rev_{r.type.lower()}"] = nm.RelationshipFrom(f"{__name__}.{r.start}", r.type)
        out[nt.label] = globals()[nt.label] = type(nt.label, (nm.StructuredNode,), attrs)
    return out


def connect(uri: str, user: str, password: str, database: str | None = None) -> None:
    """Point neomodel at a server (credentials from the caller, never logged)."""
    import neo4j
    from neomodel import db, get_config

    get_config().database_name = database
    db.set_connection(driver=neo4j.GraphDatabase.driver(uri, auth=(user, password)))


def node_type(label: str) -> NodeType:
    from .schema import NODES

    return NODES[label]
