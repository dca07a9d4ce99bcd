"""Peak memory of reading a 200,000-row sheet (docs/reliability.md, "bounded memory").

    python bench/bench_readers.py [--rows 200000] [--keep DIR]

Builds one 企业 sheet of ROWS enterprises (every column filled, realistic Chinese text,
valid USCCs) as a UTF-8 CSV and as an .xlsx workbook, then measures in a fresh process
each time:

- read:  `loaders.readers.open_survey` + iterating every row (the reader alone);
- check: `loaders.survey.check` (reader + row models + cross-sheet checks: what
  `sitegraph validate` does, and what `sitegraph load` holds before it writes).

Figures: peak RSS of the process (ru_maxrss), the RSS after imports (baseline), the
difference, and wall time. Not a test: timing and memory belong here, not in tests/.
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
import json, resource, sys, time
sys.path.insert(0, {root!r})
from loaders.readers import open_survey
from loaders.survey import check
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
mode, path = sys.argv[1], sys.argv[2]
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
                  "baseline_mb": round(base / 1024), "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}}))
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


def measure(mode: str, path: Path) -> dict:
    code = CHILD.format(root=str(ROOT))
    p = subprocess.run([sys.executable, "-c", code, mode, str(path)], capture_output=True, text=True, check=True)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["delta_mb"] = r["peak_mb"] - r["baseline_mb"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--keep", type=Path, help="keep the generated files in this folder")
    a = ap.parse_args()
    out = a.keep or Path(tempfile.mkdtemp(prefix="sitegraph-bench-"))
    t = time.perf_counter()
    csv_dir, xlsx = build(a.rows, out)
    print(f"built {a.rows} rows in {time.perf_counter() - t:.0f} s: "
          f"csv {sum(f.stat().st_size for f in csv_dir.iterdir()) / 1e6:.1f} MB, xlsx {xlsx.stat().st_size / 1e6:.1f} MB")
    print(f"{'format':6} {'mode':6} {'rows':>8} {'seconds':>8} {'baseline MB':>12} {'peak MB':>8} {'delta MB':>9}")
    for fmt, path in (("csv", csv_dir), ("xlsx", xlsx)):
        for mode in ("read", "check"):
            r = measure(mode, path)
            print(f"{fmt:6} {mode:6} {r['rows']:>8} {r['seconds']:>8} {r['baseline_mb']:>12} {r['peak_mb']:>8} "
                  f"{r['delta_mb']:>9}", flush=True)
    if not a.keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
