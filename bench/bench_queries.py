"""Query speed: the whole pack on generated surveys of 1k, 10k and 100k enterprises.

    python -m bench.bench_queries [SIZES…] [--seed S] [--repeat R] [--backends embedded neo4j]

Each size is loaded once per backend (embedded in a temp file, Neo4j on a private
server), then every query of the pack runs `--repeat` times read-only with the survey's
as_of; the best (warm) and the first (cold) time per query, and the pack's total, go to
bench/results/queries.json and a markdown table on stdout.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.common import local_neo4j, machine, save, wipe


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000, 100000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", nargs="+", choices=["embedded", "neo4j"], default=["embedded", "neo4j"])
    a = ap.parse_args()

    from graphmodel.backends import open_backend
    from graphmodel.errors import SitegraphError
    from graphmodel.writer import write_survey
    from loaders.generate import generate
    from queries.runner import load_catalogue, run_query

    specs = load_catalogue()
    results = {"machine": machine(), "seed": a.seed, "runs": []}
    tmp = Path(tempfile.mkdtemp(prefix="sitegraph-benchq-"))
    with local_neo4j() as uri:
        for n in a.sizes:
            survey = generate(enterprises=n, seed=a.seed)
            params = {"as_of": survey.as_of}
            for kind in a.backends:
                if kind == "embedded":
                    db = str(tmp / f"q-{n}.db")
                    w = open_backend(db, write=True, create=True)
                else:
                    wipe(uri)
                    w = open_backend(neo4j=uri, write=True)
                w.install_schema()
                try:
                    write_survey(w, survey.records, source="bench")
                except SitegraphError as e:  # e.g. Neo4j's transaction memory limit at 100,000
                    results["runs"].append({"size": n, "backend": kind, "failed": str(e)})
                    print(f"{n:>7} {kind:<8} load failed: {e}", file=sys.stderr)
                    continue
                finally:
                    w.close()
                b = open_backend(db) if kind == "embedded" else open_backend(neo4j=uri)
                per = {}
                for spec in specs:
                    times, rows = [], 0
                    for _ in range(a.repeat):
                        t = time.perf_counter()
                        res = run_query(b, spec.id, {k: v for k, v in params.items()
                                                     if k in {p.name for p in spec.params}})
                        times.append(time.perf_counter() - t)
                        rows = len(res.rows)
                    per[spec.id] = {"cold_s": round(times[0], 3), "warm_s": round(min(times), 3), "rows": rows}
                b.close()
                total_cold = round(sum(v["cold_s"] for v in per.values()), 2)
                total_warm = round(sum(v["warm_s"] for v in per.values()), 2)
                results["runs"].append({"size": n, "backend": kind, "queries": per,
                                        "total_cold_s": total_cold, "total_warm_s": total_warm})
                slowest = max(per.items(), key=lambda kv: kv[1]["warm_s"])
                print(f"{n:>7} {kind:<8} pack cold {total_cold}s warm {total_warm}s; slowest {slowest[0]} "
                      f"{slowest[1]['warm_s']}s", file=sys.stderr)
    save("queries", results)
    by = {(r["size"], r["backend"]): r for r in results["runs"] if "failed" not in r}
    cols = [(n, k) for n in a.sizes for k in a.backends if (n, k) in by]
    print("| query | " + " | ".join(f"{n:,} {k} warm s (rows)" for n, k in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for spec in specs:
        cells = " | ".join(f"{by[c]['queries'][spec.id]['warm_s']} ({by[c]['queries'][spec.id]['rows']:,})" for c in cols)
        print(f"| `{spec.id}` | {cells} |")
    print("| whole pack | " + " | ".join(f"**{by[c]['total_warm_s']}** (cold {by[c]['total_cold_s']})" for c in cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
