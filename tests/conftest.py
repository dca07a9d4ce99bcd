"""Fixtures: the same cases run on both backends, on real databases.

`graph` is a writable, empty graph with the schema installed, once per backend:
- embedded: a LadybugDB file in a temp folder;
- neo4j: the server at $NEO4J_URI (with NEO4J_USERNAME/NEO4J_PASSWORD), else a local
  Neo4j 5.26 started once per session from Maven Central jars (graphmodel.neo4j_local).
  When neither is possible the Neo4j cases skip with the reason, unless
  SITEGRAPH_REQUIRE_NEO4J=1, when they fail.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from graphmodel.backends import Backend, open_backend

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Neo4jServer:
    uri: str
    user: str
    password: str
    home: Path | None = None

    @property
    def env(self) -> dict:
        return {"NEO4J_URI": self.uri, "NEO4J_USERNAME": self.user, "NEO4J_PASSWORD": self.password}


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory) -> Neo4jServer:
    required = os.environ.get("SITEGRAPH_REQUIRE_NEO4J") == "1"
    if os.environ.get("NEO4J_URI"):
        yield Neo4jServer(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USERNAME", "neo4j"),
                          os.environ.get("NEO4J_PASSWORD", ""))
        return
    from graphmodel import neo4j_local

    home = tmp_path_factory.mktemp("neo4j-home")
    try:
        st = neo4j_local.start(home, heap=os.environ.get("SITEGRAPH_TEST_NEO4J_HEAP", "1g"), auth_lockout=False)
    except Exception as e:  # no Java/Maven/network
        if required:
            pytest.fail(f"SITEGRAPH_REQUIRE_NEO4J=1 but no Neo4j could be started: {e}")
        pytest.skip(f"no Neo4j: set NEO4J_URI or install Java 17 + Maven ({e})")
    try:
        yield Neo4jServer(st.uri, st.user, st.password, home)
    finally:
        neo4j_local.stop(home)


@dataclass
class Target:
    """Where a test's graph lives, for the library (open) and for the CLI (args, env)."""

    kind: str
    path: Path | None = None
    server: Neo4jServer | None = None
    tmp: Path | None = None  # a folder for the test's own files (exports, reports)
    _env: dict = field(default_factory=dict)

    @property
    def args(self) -> list[str]:
        return ["--db", str(self.path)] if self.kind == "embedded" else ["--neo4j", self.server.uri]

    @property
    def env(self) -> dict:
        env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
        if self.server:
            env.update(self.server.env)
        return env

    def open(self, write: bool = False) -> Backend:
        if self.kind == "embedded":
            return open_backend(str(self.path), write=write, create=write)
        os.environ.update(self.server.env)
        return open_backend(neo4j=self.server.uri, write=write)


def wipe_neo4j(server: Neo4jServer) -> None:
    import neo4j

    with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as d:
        with d.session() as s:  # CALL … IN TRANSACTIONS needs an implicit transaction
            s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


BACKENDS = ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)]


def backends(*kinds: str) -> list:
    """The backend parameters (Neo4j's with the neo4j mark): all of them, or the kinds named."""
    kinds = kinds or ("embedded", "neo4j")
    return [p for p in BACKENDS if (p if isinstance(p, str) else p.values[0]) in kinds]


def only_on(kind: str, fixture: str = "loaded"):
    """Run a test on one backend only, for a case that does not apply to the other (a dialect's
    functions, its plans): the backend-parametrised `fixture` gets that one parameter, so the
    other backend's combination is never generated rather than generated and skipped."""
    return pytest.mark.parametrize(fixture, backends(kind), indirect=True)


def empty_target(kind: str, request, tmp: Path | None = None) -> Target:
    """An empty graph with the schema installed: a LadybugDB file in `tmp` (embedded), or the
    session's Neo4j server wiped (neo4j). For module-scoped graphs as well as `target`."""
    if kind == "embedded":
        t = Target("embedded", path=tmp / "graph.db", tmp=tmp)
    else:
        server = request.getfixturevalue("neo4j_server")
        wipe_neo4j(server)
        t = Target("neo4j", server=server, tmp=tmp)
    b = t.open(write=True)
    b.install_schema()
    b.close()
    return t


def embedded_with(tmp: Path, records: dict, source: str) -> Target:
    """An embedded store in `tmp` holding `records` (module-scoped graphs of CLI tests)."""
    from graphmodel.writer import write_survey

    t = Target("embedded", path=tmp / "g.db", tmp=tmp)
    g = t.open(write=True)
    try:
        g.install_schema()
        write_survey(g, records, source=source)
    finally:
        g.close()
    return t


@pytest.fixture(params=BACKENDS)
def target(request, tmp_path) -> Target:
    """An empty graph with the schema installed, on each backend in turn."""
    return empty_target(request.param, request, tmp_path)


@pytest.fixture
def both_backends(request, tmp_path):
    """An empty graph on each backend at once, open for writing: (embedded, neo4j)."""
    emb = empty_target("embedded", request, tmp_path).open(write=True)
    try:
        neo = empty_target("neo4j", request, tmp_path).open(write=True)
    except BaseException:
        emb.close()
        raise
    try:
        yield emb, neo
    finally:
        emb.close()
        neo.close()


@pytest.fixture
def neo4j_target(request) -> Target:
    """An empty Neo4j graph with the schema installed (tests about Neo4j alone)."""
    return empty_target("neo4j", request)


@pytest.fixture
def graph(target) -> Backend:
    """A writable backend on `target`, closed after the test."""
    b = target.open(write=True)
    yield b
    b.close()


def run_cli(*args: str, env: dict | None = None, input: str | None = None, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `sitegraph ARGS` in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, encoding="utf-8",
        env=env or {**os.environ, "PYTHONIOENCODING": "utf-8"}, input=input, cwd=cwd or ROOT, timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli
