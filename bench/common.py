"""Shared helpers for the benchmarks: machine description, a private Neo4j, child runs."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def machine() -> dict:
    mem_kb = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import ladybug
    import neo4j

    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(), "os": platform.platform(),
        "ladybug": getattr(ladybug, "__version__", "?"), "neo4j_driver": neo4j.__version__,
        "load_average": os.getloadavg(),
    }


@contextmanager
def local_neo4j(heap: str | None = None):
    """A private Neo4j 5.26 for the run (NEO4J_URI from the environment wins).

    A survey of more than 10,000 records is written in bounded batches (graphmodel/batched.py),
    so the heap holds one batch's transaction state (SITEGRAPH_BENCH_HEAP, SITEGRAPH_BENCH_TX_MEMORY)."""
    heap = heap or os.environ.get("SITEGRAPH_BENCH_HEAP", "8g")
    # the transaction memory pool (default 70 % of the heap); 0 = bounded by the heap only
    tx_memory = os.environ.get("SITEGRAPH_BENCH_TX_MEMORY")
    if os.environ.get("NEO4J_URI"):
        yield os.environ["NEO4J_URI"]
        return
    from graphmodel import neo4j_local

    home = Path(tempfile.mkdtemp(prefix="sitegraph-bench-neo4j-"))
    st = neo4j_local.start(home, heap=heap, pagecache="1g",
                           extra_conf={"db.memory.transaction.total.max": tx_memory} if tx_memory else None)
    os.environ.update(NEO4J_URI=st.uri, NEO4J_USERNAME=st.user, NEO4J_PASSWORD=st.password)
    try:
        yield st.uri
    finally:
        neo4j_local.stop(home)
        for k in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD"):
            os.environ.pop(k, None)


def wipe(uri: str) -> None:
    import neo4j

    with neo4j.GraphDatabase.driver(uri, auth=(os.environ.get("NEO4J_USERNAME", "neo4j"),
                                               os.environ.get("NEO4J_PASSWORD"))) as d:
        with d.session() as s:
            s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def child(module: str, *args: str) -> dict:
    """Run `python -m module args` and return its last stdout line as JSON (fresh process:
    its peak RSS is its own)."""
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=ROOT, env=os.environ.copy())
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_rss_mib() -> float:
    """Peak RSS of this process image. Not ru_maxrss: Linux keeps that across exec, so a
    child of a big parent (the bench, after generating a survey) reports the parent's."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def save(name: str, data: dict) -> Path:
    """Write the results; runs of other sizes already in the file are kept (a 100,000 run
    made apart from the 1,000 and 10,000 ones joins them), each with its date and load."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    p = RESULTS / f"{name}.json"
    stamp = {"date": time.strftime("%Y-%m-%d"), "load_average": data["machine"]["load_average"],
             "neo4j_heap": os.environ.get("SITEGRAPH_BENCH_HEAP", "8g"),
             "neo4j_tx_memory": os.environ.get("SITEGRAPH_BENCH_TX_MEMORY", "default (70 % of the heap)")}
    runs = [{**r, "measured": r.get("measured", stamp)} for r in data["runs"]]
    sizes = {r["size"] for r in runs}
    if p.exists():
        try:
            old = json.loads(p.read_text())
            runs = [r for r in old.get("runs", []) if r.get("size") not in sizes and "measured" in r] + runs
        except (ValueError, AttributeError):
            pass
    data = {**data, "runs": sorted(runs, key=lambda r: r["size"])}
    p.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    return p
