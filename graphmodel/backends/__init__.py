"""Open a graph backend: the embedded store (default) or Neo4j."""
from __future__ import annotations

import os

from .base import Backend, Result, Tx  # noqa: F401

DEFAULT_DB = "sitegraph.db"


def default_db_path() -> str:
    return os.environ.get("SITEGRAPH_DB") or DEFAULT_DB


def open_backend(db: str | None = None, neo4j: str | None = None, *, write: bool = False,
                 create: bool = False) -> Backend:
    """`neo4j` (a bolt/neo4j URI) wins over `db`; read-only unless `write`."""
    if neo4j:
        from .neo4j import Neo4jBackend

        return Neo4jBackend(neo4j, write=write)
    from .embedded import EmbeddedBackend

    return EmbeddedBackend(db or default_db_path(), write=write, create=create)
