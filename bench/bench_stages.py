"""Where a CSV load's time goes, stage by stage, beside the raw limits (issue 16, goal 2).

    python -m bench.bench_stages [ENTERPRISES] [--seed S] [--repeat R] [--results NAME]

One generated survey (default 10,000 enterprises) as CSV files; in one run, each in a
fresh process and interleaved (columnar, per-row, columnar, …) so that both see the same
machine:
- `stages-columnar` / `stages-rowwise`: reading (open + rows), row checks (loaders/columnar.py,
  or loaders/rows.py per row with SITEGRAPH_ROWWISE=1), the checks across rows and sheets,
  and the write (graphmodel.writer.write_survey into a new embedded store);
- `load-columnar` / `load-rowwise`: loaders.survey.load end to end (as `sitegraph load`);
- raw limits: polars and pyarrow reading the same CSV files as text columns, and
  LadybugDB's COPY of the same files into tables of text columns (no checks, no hash).
Results go to bench/results/stages.json and a markdown table on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.common import child, machine, peak_rss_mib, save


def _csvs(folder: str) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix == ".csv")


def run_stages(folder: str, db: str) -> dict:
    from loaders.columnar import paused_gc

    with paused_gc():  # as loaders.survey.load reads, checks and writes
        return _stages(folder, db)


def _stages(folder: str, db: str) -> dict:
    import loaders.validate as v
    from graphmodel.backends import open_backend
    from graphmodel.writer import write_survey
    from loaders.readers import open_survey

    out: dict = {}
    t0, c0 = time.perf_counter(), time.process_time()
    read = check = 0.0  # rows read, row checks (inside check_survey)
    # check_survey with its row reading and row checks timed apart from the rest
    orig_read = v._read_sheet

    def timed_read(sh, ctx, summary, progress):
        nonlocal read, check
        t = time.perf_counter()
        rows = list(sh.rows())
        read += time.perf_counter() - t
        t = time.perf_counter()
        sh.rows = lambda rows=rows: iter(rows)  # the rows already read: only the checks are timed
        try:
            return orig_read(sh, ctx, summary, progress)
        finally:
            del sh.rows
            check += time.perf_counter() - t

    v._read_sheet = timed_read
    with open_survey(folder) as s:
        t1 = time.perf_counter()
        checked = v.check_survey(s, None, source="bench")
        t2 = time.perf_counter()
    v._read_sheet = orig_read
    assert checked.ok, checked.errors[:3]
    rows = checked.rows
    b = open_backend(db, write=True, create=True)
    b.install_schema()
    t3 = time.perf_counter()
    write_survey(b, checked.records, source="bench", files=sorted({x.file for x in checked.sheets if x.file}))
    t4 = time.perf_counter()
    b.close()
    out.update(rows=rows, open_s=round(t1 - t0, 3), read_s=round(t1 - t0 + read, 3), row_checks_s=round(check, 3),
               cross_sheet_s=round(t2 - t1 - check - read, 3), write_s=round(t4 - t3, 3),
               total_s=round(t4 - t0, 3), rows_per_s=round(rows / (t4 - t0)),
               cpu_s=round(time.process_time() - c0, 3), peak_rss_mib=peak_rss_mib())
    return out


def run_load(folder: str, db: str) -> dict:
    from graphmodel.backends import open_backend
    from loaders.survey import load

    b = open_backend(db, write=True, create=True)
    b.install_schema()
    t, c = time.perf_counter(), time.process_time()
    o = load(folder, b, source="bench")
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    b.close()
    rows = sum(r.records for r in o.report.labels.values())
    # CPU seconds (all threads) beside the wall clock: on a shared machine the wall clock waits
    return {"rows": rows, "seconds": round(secs, 3), "rows_per_s": round(rows / secs), "cpu_s": round(cpu, 3),
            "peak_rss_mib": peak_rss_mib()}


def run_raw(folder: str, db: str) -> dict:
    import polars as pl
    import pyarrow as pa
    import pyarrow.csv as pacsv

    files = _csvs(folder)
    t = time.perf_counter()
    n = 0
    for f in files:
        n += pl.read_csv(f, infer_schema=False, encoding="utf8-lossy").height
    pl_s = time.perf_counter() - t
    t = time.perf_counter()
    for f in files:
        pacsv.read_csv(f, convert_options=pacsv.ConvertOptions(column_types={}, strings_can_be_null=False),
                       read_options=pacsv.ReadOptions(autogenerate_column_names=False))
    pa_s = time.perf_counter() - t
    from graphmodel.backends.embedded import _ladybug

    lb = _ladybug()
    conn = lb.Connection(lb.Database(db))
    widths = {f: len(pl.read_csv(f, infer_schema=False, n_rows=0).columns) for f in files}
    for i, f in enumerate(files):
        cols = ", ".join(f"c{j} STRING" for j in range(widths[f]))
        conn.execute(f"CREATE NODE TABLE T{i}({cols}, PRIMARY KEY(c0))")
    t = time.perf_counter()
    for i, f in enumerate(files):
        conn.execute(f"COPY T{i} FROM '{f}' (HEADER=true, PARALLEL=false)")
    copy_s = time.perf_counter() - t
    del pa
    return {"rows": n, "polars_read_s": round(pl_s, 3), "pyarrow_read_s": round(pa_s, 3),
            "ladybug_copy_s": round(copy_s, 3), "copy_rows_per_s": round(n / copy_s)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("enterprises", nargs="?", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=2, help="interleaved runs of each path; the best is kept")
    ap.add_argument("--results", default="stages")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        mode, folder, db = a.child
        fn = {"stages": run_stages, "load": run_load, "raw": run_raw}[mode]
        print(json.dumps(fn(folder, db)))
        return 0

    from loaders.generate import generate, write_survey_files

    tmp = Path(tempfile.mkdtemp(prefix="sitegraph-stages-"))
    folder = tmp / "survey"
    write_survey_files(generate(enterprises=a.enterprises, seed=a.seed), folder, format="csv")
    results: dict = {"machine": machine(), "enterprises": a.enterprises, "seed": a.seed, "runs": []}
    best: dict[str, dict] = {}
    k = 0
    for i in range(a.repeat):
        for mode in ("stages", "load"):
            for path in ("columnar", "rowwise"):
                env = {"SITEGRAPH_ROWWISE": "1" if path == "rowwise" else "0"}
                k += 1
                old = {x: os.environ.get(x) for x in env}
                os.environ.update(env)
                try:
                    r = child("bench.bench_stages", "--child", mode, str(folder), str(tmp / f"db{k}"))
                finally:
                    for x, val in old.items():
                        if val is None:
                            os.environ.pop(x, None)
                        else:
                            os.environ[x] = val
                name = f"{mode}-{path}"
                results["runs"].append({"size": a.enterprises, "mode": name, "try": i + 1, **r})
                key = "total_s" if mode == "stages" else "seconds"
                if name not in best or r[key] < best[name][key]:
                    best[name] = r
                print(f"{name}: {r}", file=sys.stderr)
    k += 1
    best["raw"] = child("bench.bench_stages", "--child", "raw", str(folder), str(tmp / f"db{k}"))
    results["best"] = best
    save(a.results, results)
    print(f"| {a.enterprises:,} enterprises, {best['load-columnar']['rows']:,} rows | columnar | per-row |")
    print("|---|---:|---:|")
    for label, key in (("open (header matching)", "open_s"), ("read (open + rows)", "read_s"),
                       ("row checks", "row_checks_s"), ("cross-sheet checks", "cross_sheet_s"),
                       ("write (write_survey)", "write_s"), ("stages total", "total_s")):
        print(f"| {label} s | {best['stages-columnar'][key]} | {best['stages-rowwise'][key]} |")
    print(f"| stages total CPU s | {best['stages-columnar']['cpu_s']} | {best['stages-rowwise']['cpu_s']} |")
    for key in ("seconds", "rows_per_s", "cpu_s", "peak_rss_mib"):
        print(f"| load end to end {key} | {best['load-columnar'][key]:,} | {best['load-rowwise'][key]:,} |")
    raw = best["raw"]
    print(f"\nraw limits, same files: polars read {raw['polars_read_s']} s, pyarrow read {raw['pyarrow_read_s']} s, "
          f"LadybugDB COPY {raw['ladybug_copy_s']} s ({raw['copy_rows_per_s']:,} rows/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
