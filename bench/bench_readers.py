"""Reader speed and memory (docs/benchmarks.md "Reading workbooks", docs/reliability.md).

    python -m bench.bench_readers [--survey 10000] [--repeat 3] [--rows 200000] [--openpyxl]
                                  [--keep DIR]

1. Raw reader speed on one generated survey workbook (`sitegraph generate --enterprises
   SURVEY --seed 1 --format xlsx`), every sheet and every cell, best of REPEAT, each run
   in a fresh process: openpyxl (read-only, values only), python-calamine (iter_rows),
   fastexcel (to Arrow, and on to Python rows with pyarrow), and sitegraph's own reader
   (`open_survey` + every row: calamine, and openpyxl alone as before) beside the same
   survey as CSV files.
2. Memory of reading one 企业 sheet of ROWS enterprises (every column filled, realistic
   Chinese text, valid USCCs) as a UTF-8 CSV and as an .xlsx workbook, in a fresh
   process each time:
   - read:  `loaders.readers.open_survey` + iterating every row (the reader alone);
   - check: `loaders.survey.check` (reader + row models + cross-sheet checks: what
     `sitegraph validate` does, and what `sitegraph load` holds before it writes);
   with --openpyxl also the workbook read by openpyxl alone (slow: minutes).

Figures: wall time, peak RSS of the process (ru_maxrss), the RSS after imports
(baseline) and the difference. Results go to bench/results/readers.json. Not a test:
timing and memory belong here, not in tests/.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
def status(key):  # kB; VmHWM, not ru_maxrss, which Linux keeps across exec from the parent
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key + ":"))
import loaders.readers
from loaders.readers import open_survey
from loaders.survey import check
base = status("VmRSS")
mode, path = sys.argv[1], sys.argv[2]
if mode.endswith("-openpyxl"):  # the reader before calamine
    loaders.readers._open_xlsx_calamine = lambda s: False
    mode = mode[: -len("-openpyxl")]
t = time.perf_counter()
if mode == "read":
    n = 0
    with open_survey(path) as s:
        assert not [p for p in s.problems if p.is_error], s.problems[:3]
        for sh in s.sheets:
            for _ in sh.rows():
                n += 1
else:
    c = check(path)
    assert c.ok, c.errors[:3]
    n = c.rows
print(json.dumps({{"rows": n, "seconds": round(time.perf_counter() - t, 1),
                  "baseline_mb": round(base / 1024), "peak_mb": round(status("VmHWM") / 1024)}}))
"""


def build(rows: int, out: Path) -> tuple[Path, Path]:
    """The 企业 sheet as CSV (folder) and XLSX, from generated enterprises made unique."""
    from openpyxl import Workbook

    from graphmodel.schema import ENTERPRISE
    from loaders.generate import generate
    from loaders.template import default_cell
    from loaders.values import USCC_CHARSET, uscc_check_char

    base = generate(400, seed=7).records["Enterprise"]
    rng = random.Random(7)
    cols = ENTERPRISE.columns
    csv_dir = out / "csv"
    csv_dir.mkdir(parents=True)
    xlsx = out / "survey.xlsx"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(ENTERPRISE.sheet)
    ws.append([c.header for c in cols])
    seen = set()
    with open(csv_dir / f"{ENTERPRISE.sheet}.csv", "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow([c.header for c in cols])
        for i in range(rows):
            r = dict(base[i % len(base)])
            while True:
                body = "9114" + "".join(rng.choice(USCC_CHARSET) for _ in range(13))
                if body not in seen:
                    seen.add(body)
                    break
            r["uscc"] = body + uscc_check_char(body)
            r["name"] = f"{r['name']}{i}"
            cells = [default_cell(c, r.get(c.key), excel=False) for c in cols]
            w.writerow(["" if v is None else v for v in cells])
            ws.append([default_cell(c, r.get(c.key), excel=True) for c in cols])
    wb.save(xlsx)
    return csv_dir, xlsx


RAW = r"""
import json, sys, time
sys.path.insert(0, {root!r})
def status(key):  # kB; VmHWM, not ru_maxrss, which Linux keeps across exec from the parent
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key + ":"))
engine, path = sys.argv[1], sys.argv[2]
base = status("VmRSS")
n = cells = 0
t = time.perf_counter()
if engine == "openpyxl":
    from openpyxl import load_workbook
    wb = load_workbook(path, read_only=True, data_only=True)
    for ws in wb.worksheets:
        ws.reset_dimensions()
        for row in ws.iter_rows(values_only=True):
            n += 1
            cells += len(row)
    wb.close()
elif engine == "calamine":
    from python_calamine import CalamineWorkbook
    with CalamineWorkbook.from_path(path) as wb:
        for name in wb.sheet_names:
            for row in wb.get_sheet_by_name(name).iter_rows():
                n += 1
                cells += len(row)
elif engine.startswith("fastexcel"):
    import fastexcel
    r = fastexcel.read_excel(path)
    for name in r.sheet_names:
        sheet = r.load_sheet(name, header_row=None)  # columns typed by sampling, in Arrow
        n += sheet.height
        cells += sheet.height * sheet.width
        if engine == "fastexcel-python":
            for row in sheet.to_arrow().to_pylist():
                pass
else:  # sitegraph's reader: open_survey + every row, as `sitegraph load` reads
    import loaders.readers
    from loaders.readers import open_survey
    if engine == "sitegraph-openpyxl":
        loaders.readers._open_xlsx_calamine = lambda s: False
    with open_survey(path) as s:
        for sh in s.sheets:
            for _, row in sh.rows():
                n += 1
                cells += len(row)
print(json.dumps({{"rows": n, "cells": cells, "seconds": round(time.perf_counter() - t, 3),
                  "peak_mb": round((status("VmHWM") - base) / 1024)}}))
"""

RAW_ENGINES = [
    ("openpyxl", "xlsx", "openpyxl 3.1 read-only, values only"),
    ("calamine", "xlsx", "python-calamine iter_rows"),
    ("fastexcel", "xlsx", "fastexcel load_sheet (Arrow columns, no Python values)"),
    ("fastexcel-python", "xlsx", "fastexcel load_sheet + pyarrow to_pylist"),
    ("sitegraph", "xlsx", "sitegraph reader (calamine), open_survey + every row"),
    ("sitegraph-openpyxl", "xlsx", "sitegraph reader, openpyxl alone (before)"),
    ("sitegraph", "csv", "sitegraph reader, the same survey as CSV files"),
]


def raw(engine: str, path: Path, repeat: int) -> dict:
    code = RAW.format(root=str(ROOT))
    tries = []
    for _ in range(repeat):
        p = subprocess.run([sys.executable, "-c", code, engine, str(path)], capture_output=True, text=True)
        if p.returncode != 0:
            return {"failed": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
        tries.append(json.loads(p.stdout.strip().splitlines()[-1]))
    best = min(tries, key=lambda r: r["seconds"])
    return {**best, "first_seconds": tries[0]["seconds"], "tries": len(tries)}


def raw_speeds(enterprises: int, repeat: int, out: Path) -> list[dict]:
    from loaders.generate import generate, write_survey_files

    s = generate(enterprises, seed=1)
    write_survey_files(s, out / "survey-xlsx", format="xlsx")
    write_survey_files(s, out / "survey-csv", format="csv")
    paths = {"xlsx": out / "survey-xlsx" / "survey.xlsx", "csv": out / "survey-csv"}
    mb = paths["xlsx"].stat().st_size / 1e6
    print(f"\nraw reading of a {enterprises}-enterprise survey ({mb:.1f} MB workbook), best of {repeat}:")
    print(f"{'reader':60} {'rows':>7} {'cells':>9} {'seconds':>8} {'first':>7} {'peak +MB':>9}")
    runs = []
    for engine, fmt, what in RAW_ENGINES:
        r = raw(engine, paths[fmt], repeat)
        r.update(engine=engine, format=fmt, reader=what, enterprises=enterprises)
        runs.append(r)
        if "failed" in r:
            print(f"{what:60} failed: {r['failed']}", flush=True)
        else:
            print(f"{what:60} {r['rows']:>7} {r['cells']:>9} {r['seconds']:>8} {r['first_seconds']:>7} "
                  f"{r['peak_mb']:>9}", flush=True)
    return runs


def measure(mode: str, path: Path) -> dict:
    code = CHILD.format(root=str(ROOT))
    p = subprocess.run([sys.executable, "-c", code, mode, str(path)], capture_output=True, text=True, check=True)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["delta_mb"] = r["peak_mb"] - r["baseline_mb"]
    return r


def main() -> None:
    from bench.common import RESULTS, machine

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--survey", type=int, default=10_000, help="enterprises of the survey read raw (0: skip)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rows", type=int, default=200_000, help="rows of the memory sheet (0: skip)")
    ap.add_argument("--openpyxl", action="store_true", help="memory: also the workbook read by openpyxl alone")
    ap.add_argument("--keep", type=Path, help="keep the generated files in this folder")
    a = ap.parse_args()
    out = a.keep or Path(tempfile.mkdtemp(prefix="sitegraph-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "raw": [], "memory": []}
    if a.survey:
        results["raw"] = raw_speeds(a.survey, a.repeat, out)
    if a.rows:
        t = time.perf_counter()
        csv_dir, xlsx = build(a.rows, out / f"sheet-{a.rows}")
        print(f"\nbuilt {a.rows} rows in {time.perf_counter() - t:.0f} s: "
              f"csv {sum(f.stat().st_size for f in csv_dir.iterdir()) / 1e6:.1f} MB, xlsx {xlsx.stat().st_size / 1e6:.1f} MB")
        print(f"{'format':15} {'mode':6} {'rows':>8} {'seconds':>8} {'baseline MB':>12} {'peak MB':>8} {'delta MB':>9}")
        cases = [("csv", csv_dir, ""), ("xlsx", xlsx, "")] + ([("xlsx-openpyxl", xlsx, "-openpyxl")] if a.openpyxl else [])
        for fmt, path, suffix in cases:
            for mode in ("read", "check"):
                r = measure(mode + suffix, path)
                r.update(format=fmt, mode=mode, sheet_rows=a.rows)
                results["memory"].append(r)
                print(f"{fmt:15} {mode:6} {r['rows']:>8} {r['seconds']:>8} {r['baseline_mb']:>12} {r['peak_mb']:>8} "
                      f"{r['delta_mb']:>9}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "readers.json").write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    if not a.keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
