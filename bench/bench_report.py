"""The supervision report's time against the whole query pack's, on the same store.

    python -m bench.bench_report [SIZES…] [--seed S] [--repeat R] [--backends embedded neo4j]

Each size is loaded once per backend; then, alternately and `--repeat` times: the whole pack
(every query with the survey's as_of, as `query run --all` runs it) and `sitegraph report`'s
work (queries.report.gather, the HTML rendered and written; the xlsx form once more after).
"Cold" is the first run after opening the store, "warm" the best. The goal at 10,000
enterprises: the report within 1.5x the pack. Results: bench/results/report.json.
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
    ap.add_argument("sizes", nargs="*", type=int, default=[10000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", nargs="+", choices=["embedded", "neo4j"], default=["embedded", "neo4j"])
    a = ap.parse_args()

    from cli.report_render import render_html, write_xlsx
    from graphmodel.backends import open_backend
    from graphmodel.writer import write_survey
    from loaders.generate import generate
    from queries.report import gather
    from queries.runner import load_catalogue, run_query

    specs = load_catalogue()
    results = {"machine": machine(), "seed": a.seed, "runs": []}
    tmp = Path(tempfile.mkdtemp(prefix="sitegraph-benchr-"))
    with local_neo4j() as uri:
        for n in a.sizes:
            survey = generate(enterprises=n, seed=a.seed)
            for kind in a.backends:
                if kind == "embedded":
                    db = str(tmp / f"r-{n}.db")
                    w = open_backend(db, write=True, create=True)
                else:
                    wipe(uri)
                    w = open_backend(neo4j=uri, write=True)
                try:
                    w.install_schema()
                    write_survey(w, survey.records, source="bench")
                finally:
                    w.close()
                b = open_backend(db) if kind == "embedded" else open_backend(neo4j=uri)
                pack, report, xlsx = [], [], []
                try:
                    for _ in range(a.repeat):
                        t = time.perf_counter()
                        for spec in specs:
                            run_query(b, spec, {"as_of": survey.as_of} if any(p.name == "as_of" for p in spec.params)
                                      else {})
                        pack.append(time.perf_counter() - t)
                        t = time.perf_counter()
                        rep = gather(b, as_of=survey.as_of)
                        (tmp / "report.html").write_text(render_html(rep), encoding="utf-8")
                        report.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    write_xlsx(gather(b, as_of=survey.as_of), tmp / "report.xlsx")
                    xlsx.append(time.perf_counter() - t)
                finally:
                    b.close()
                run = {"size": n, "backend": kind, "queries_in_pack": len(specs),
                       "pack_cold_s": round(pack[0], 2), "pack_warm_s": round(min(pack), 2),
                       "report_cold_s": round(report[0], 2), "report_warm_s": round(min(report), 2),
                       "report_xlsx_s": round(xlsx[0], 2),
                       "ratio_cold": round(report[0] / pack[0], 2), "ratio_warm": round(min(report) / min(pack), 2)}
                results["runs"].append(run)
                print(f"{n:>7} {kind:<8} pack {run['pack_cold_s']}s/{run['pack_warm_s']}s, report "
                      f"{run['report_cold_s']}s/{run['report_warm_s']}s (cold/warm), xlsx {run['report_xlsx_s']}s; "
                      f"ratio {run['ratio_cold']} / {run['ratio_warm']}", file=sys.stderr)
    save("report", results)
    print("| enterprises | backend | whole pack cold / warm | report (HTML) cold / warm | report xlsx | "
          "report ÷ pack cold / warm |")
    print("|---:|---|---:|---:|---:|---:|")
    for r in results["runs"]:
        print(f"| {r['size']:,} | {r['backend']} | {r['pack_cold_s']} / {r['pack_warm_s']} s | "
              f"{r['report_cold_s']} / {r['report_warm_s']} s | {r['report_xlsx_s']} s | "
              f"**{r['ratio_cold']}** / **{r['ratio_warm']}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
