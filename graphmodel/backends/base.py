"""The small interface both graph backends implement."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Protocol, TypeVar

from ..schema import NODE_TYPES, REL_TYPES

T = TypeVar("T")

# Ad-hoc queries stop after this long unless the user raises it (seconds).
DEFAULT_TIMEOUT_S = 60.0


@dataclass
class Result:
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = False  # more rows existed than the limit allowed
    warnings: list[str] = field(default_factory=list)  # the engine's notices (Neo4j: unknown labels …)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


class Tx(Protocol):
    """A write transaction handed to the function given to Backend.write()."""

    def run(self, cypher: str, params: dict | None = None) -> list[dict[str, Any]]: ...


@dataclass
class Backend:
    """Common behaviour; subclasses implement _read_raw, write, install_schema, close."""

    kind: str = ""  # "embedded" | "neo4j"
    location: str = ""  # path or URI, never with a password
    writable: bool = False
    extra: dict = field(default_factory=dict)

    # --- to implement ------------------------------------------------------------
    def install_schema(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read_raw(self, cypher: str, params: dict, timeout: float | None, limit: int | None) -> Result:
        raise NotImplementedError  # pragma: no cover

    def write(self, fn: Callable[[Tx], T]) -> T:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover
        raise NotImplementedError

    # --- shared ------------------------------------------------------------------
    def read(self, cypher: str, params: dict | None = None, *, timeout: float | None = DEFAULT_TIMEOUT_S,
             limit: int | None = None) -> Result:
        """Run a read-only statement with parameters; writes are refused."""
        return self._read_raw(cypher, clean_params(params or {}), timeout, limit)

    def schema_version(self) -> int | None:
        from ..schema import META_LABEL

        try:
            res = self.read(f"MATCH (m:{META_LABEL}) WHERE m.name = 'schema' RETURN m.schema_version AS v")
        except Exception:  # no schema installed yet
            return None
        return res.rows[0]["v"] if res.rows else None

    def counts(self) -> dict[str, dict[str, int]]:
        nodes = {nt.label: self.read(f"MATCH (n:{nt.label}) RETURN count(n) AS c").rows[0]["c"] for nt in NODE_TYPES}
        rels = {
            r.type: self.read(f"MATCH (:{r.start})-[x:{r.type}]->(:{r.end}) RETURN count(x) AS c").rows[0]["c"]
            for r in REL_TYPES
        }
        return {"nodes": nodes, "relationships": rels}

    def info(self) -> dict[str, Any]:
        return {
            "backend": self.kind,
            "location": self.location,
            "schema_version": self.schema_version(),
            **self.counts(),
        }

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def clean_params(params: dict) -> dict:
    """Native Python values only (rule 10 of cypher-dialects.md)."""
    return {k: _native(v) for k, v in params.items()}


def _native(v):
    if isinstance(v, tuple):
        return [_native(x) for x in v]
    if isinstance(v, list):
        return [_native(x) for x in v]
    if isinstance(v, dict):
        return {k: _native(x) for k, x in v.items()}
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalar
        return v.item()
    return v


_PLAIN = (str, int, float, bool, dt.date, type(None))


def normalise_value(v):
    """One shape for values from either backend: ints not Decimals, python dates."""
    if type(v) in _PLAIN:
        return v
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, list):
        return [normalise_value(x) for x in v]
    if isinstance(v, dict):
        return {k: normalise_value(x) for k, x in v.items() if k not in ("_ID", "_LABEL")}
    to_native = getattr(v, "to_native", None)
    if to_native is not None:  # neo4j.time types
        v = to_native()
    if isinstance(v, dt.datetime):
        return v
    # neo4j graph types (a node, relationship or path returned by an ad-hoc query): the
    # same plain shape as LadybugDB gives — a node/relationship is the dict of its
    # properties, a path {"_NODES": [...], "_RELS": [...]}
    if hasattr(v, "element_id") and hasattr(v, "items"):
        return {k: normalise_value(x) for k, x in v.items()}
    if hasattr(v, "nodes") and hasattr(v, "relationships"):
        return {"_NODES": [normalise_value(n) for n in v.nodes],
                "_RELS": [normalise_value(r) for r in v.relationships]}
    return v
