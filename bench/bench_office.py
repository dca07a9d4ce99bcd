"""Office-shaped ledgers against the plain format: what header detection, folding, units,
derived keys and party names cost on the read path.

    python -m bench.bench_office [SIZE] [--seed S] [--repeat R]

The survey of SIZE enterprises (default 10,000) is written twice as a workbook: the plain
format, and as an office keeps it (tests/office_convert.py: title rows, 序号, synonyms,
folded headers with units, a two-row 五落实 header, units and value synonyms in cells,
parties by name in every third party reference, no key column on the 租赁 sheet). Each is
checked (`loaders.survey.check`, no graph: read, parse, all checks — what validate does) in
a fresh process, R times; the best and the first are kept. Results go to
bench/results/office.json and a table on stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, child, machine, peak_rss_mib, save


def run_check(path: str) -> dict:
    from loaders.survey import check

    t = time.perf_counter()
    c = check(path)
    secs = time.perf_counter() - t
    assert c.ok, [p.reason() for p in c.errors[:5]]
    return {"rows": c.rows, "seconds": round(secs, 2), "rows_per_s": round(c.rows / secs),
            "peak_rss_mib": peak_rss_mib()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("size", nargs="?", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_check(a.child)))
        return 0
    sys.path.insert(0, str(ROOT / "tests"))
    from office_convert import office_ledger, plain_ledger

    from loaders.generate import generate

    tmp = Path(tempfile.mkdtemp(prefix="sitegraph-bench-office-"))
    survey = generate(enterprises=a.size, seed=a.seed)
    plain = plain_ledger(survey.records, tmp / "plain.xlsx")
    office, _ = office_ledger(plain, tmp / "office.xlsx")
    del survey
    results = {"machine": machine(), "seed": a.seed, "runs": []}
    for name, path in (("plain", plain), ("office", office)):
        tries = [child("bench.bench_office", "--child", str(path)) for _ in range(a.repeat)]
        best = min(tries, key=lambda r: r["seconds"])
        results["runs"].append({"size": a.size, "ledger": name, **best, "first_seconds": tries[0]["seconds"],
                                "bytes": path.stat().st_size})
    save("office", results)
    print("| enterprises | ledger | rows | check s (best) | rows/s | first run s | peak RSS MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in results["runs"]:
        print(f"| {r['size']:,} | {r['ledger']} | {r['rows']:,} | {r['seconds']} | {r['rows_per_s']:,} | "
              f"{r['first_seconds']} | {r['peak_rss_mib']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
