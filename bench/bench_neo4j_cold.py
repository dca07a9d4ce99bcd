"""Neo4j's first run of the pack after a load: where the cold cost goes.

    python -m bench.bench_neo4j_cold [SIZE] [--seed S] [--quick] [--out NAME]

On one private Neo4j 5.26 (bench.common.local_neo4j's settings), for a generated survey of
SIZE enterprises (default 10,000):

1. `load`       the survey is loaded, then the pack runs once on the same server (its JVM
                warmed only by the load): what `bench.bench_queries` calls cold;
2. `fresh`      the server is restarted (new JVM, empty page cache, empty query cache), then
                the pack runs once: a fresh server's very first run;
   `fresh-explain` restarted again, the same with an extra EXPLAIN of each query just before
                it (timed with it): what planning the text ahead does to a cold first run;
3. `fresh-split` restarted again; per query, its first run and at once a second one
                (shown as first / again): what the first run pays once;
4. `warm`       the best of three further runs;
5. `reload`     on that long-running server (warm JVM, plans cached), a second survey of the
                same size (seed S+1) replaces the first, then the pack runs once: new
                statistics on a warm JVM;
6. `reload-split` the same after a third load (seed S+2), split as in 3.

`--quick` stops after 4 (no reloads). Totals and the slowest query use the first runs.

Figures go to bench/results/<--out, default neo4j_cold>.json and a markdown table on stdout. The machine
is shared: compare phases of one run, not runs on different days.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine, save, wipe


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("size", nargs="?", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--heap", default=os.environ.get("SITEGRAPH_BENCH_HEAP", "8g"))
    ap.add_argument("--quick", action="store_true", help="no reload phases")
    ap.add_argument("--out", default="neo4j_cold", help="results file name under bench/results")
    a = ap.parse_args()

    from graphmodel import neo4j_local
    from graphmodel.backends import open_backend
    from graphmodel.writer import write_survey
    from loaders.generate import generate
    from graphmodel.backends.base import clean_params
    from queries.runner import load_catalogue, resolve_params, run_query

    specs = load_catalogue()
    home = Path(tempfile.mkdtemp(prefix="sitegraph-bench-neo4j-cold-"))
    state = {}

    def start():
        st = neo4j_local.start(home, heap=a.heap, pagecache="1g", password=state.get("password"))
        state["password"] = st.password
        os.environ.update(NEO4J_URI=st.uri, NEO4J_USERNAME=st.user, NEO4J_PASSWORD=st.password)
        return st.uri

    def load(uri, seed):
        survey = generate(enterprises=a.size, seed=seed)
        wipe(uri)
        w = open_backend(neo4j=uri, write=True)
        try:
            w.install_schema()
            t = time.perf_counter()
            write_survey(w, survey.records, source="bench")
            return survey.as_of, time.perf_counter() - t
        finally:
            w.close()

    def params_for(spec, as_of):
        return {k: v for k, v in {"as_of": as_of}.items() if k in {p.name for p in spec.params}}

    def pack_once(uri, as_of, explain_first=False):
        b = open_backend(neo4j=uri)
        try:
            out = {}
            for spec in specs:
                t = time.perf_counter()
                if explain_first:  # plan the text ahead (the backend EXPLAINs every read as well)
                    with b._session(write=False, notices=True) as s:
                        s.run("EXPLAIN " + spec.expanded_cypher,
                              clean_params(resolve_params(spec, params_for(spec, as_of)))).consume()
                run_query(b, spec.id, params_for(spec, as_of))
                out[spec.id] = round(time.perf_counter() - t, 3)
            return out
        finally:
            b.close()

    def split(uri, as_of):
        """Per query: its first run, then at once a second one; the difference is what the first
        run paid once (planning — a plan of each text, cached — and the JVM's and page cache's
        warm-up for that query)."""
        b = open_backend(neo4j=uri)
        try:
            out = {}
            for spec in specs:
                t = time.perf_counter()
                run_query(b, spec.id, params_for(spec, as_of))
                first = time.perf_counter() - t
                t = time.perf_counter()
                run_query(b, spec.id, params_for(spec, as_of))
                out[spec.id] = {"first_s": round(first, 3), "again_s": round(time.perf_counter() - t, 3)}
            return out
        finally:
            b.close()

    run = {"size": a.size, "seed": a.seed, "heap": a.heap, "phases": {}}
    res = {"machine": machine(), "runs": [run]}
    ph = run["phases"]
    try:
        uri = start()
        as_of, load_s = load(uri, a.seed)
        run["load_s"] = round(load_s, 1)
        ph["load"] = pack_once(uri, as_of)
        print(f"load: pack {sum(ph['load'].values()):.2f}s", file=sys.stderr)
        neo4j_local.stop(home)
        uri = start()
        ph["fresh"] = pack_once(uri, as_of)
        print(f"fresh: pack {sum(ph['fresh'].values()):.2f}s", file=sys.stderr)
        neo4j_local.stop(home)
        uri = start()
        ph["fresh-explain"] = pack_once(uri, as_of, explain_first=True)
        print(f"fresh-explain: pack {sum(ph['fresh-explain'].values()):.2f}s", file=sys.stderr)
        neo4j_local.stop(home)
        uri = start()
        ph["fresh-split"] = split(uri, as_of)
        sp = ph["fresh-split"]
        print(f"fresh-split: first {sum(v['first_s'] for v in sp.values()):.2f}s, "
              f"again {sum(v['again_s'] for v in sp.values()):.2f}s", file=sys.stderr)
        runs = [pack_once(uri, as_of) for _ in range(3)]
        ph["warm"] = {q: min(r[q] for r in runs) for q in runs[0]}
        print(f"warm: pack {sum(ph['warm'].values()):.2f}s", file=sys.stderr)
        if not a.quick:
            as_of, _ = load(uri, a.seed + 1)
            ph["reload"] = pack_once(uri, as_of)
            print(f"reload: pack {sum(ph['reload'].values()):.2f}s", file=sys.stderr)
            as_of, _ = load(uri, a.seed + 2)
            ph["reload-split"] = split(uri, as_of)
    finally:
        print(json.dumps(ph), file=sys.stderr)  # whatever was measured, even after a failure
        neo4j_local.stop(home)
        for k in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD"):
            os.environ.pop(k, None)

    def cell(phase, q):
        v = ph[phase][q]
        return f"{v['first_s']} / {v['again_s']}" if isinstance(v, dict) else f"{v}"

    names = [p for p in ("load", "fresh", "fresh-explain", "fresh-split", "warm", "reload", "reload-split") if p in ph]
    print(f"{a.size:,} enterprises; load {run['load_s']} s")
    print("| query | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for spec in specs:
        print(f"| `{spec.id}` | " + " | ".join(cell(p, spec.id) for p in names) + " |")

    def total(p):
        return round(sum(v["first_s"] if isinstance(v, dict) else v for v in ph[p].values()), 2)

    def worst(p):
        return max((v["first_s"] if isinstance(v, dict) else v) for v in ph[p].values())

    print("| whole pack | " + " | ".join(f"**{total(p)}**" for p in names) + " |")
    print("| slowest | " + " | ".join(f"{worst(p):.3f}" for p in names) + " |")
    save(a.out, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
