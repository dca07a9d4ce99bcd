"""Scale on the embedded store: 1k → 10k → 50k → 100k enterprises, and a province of 1M.

    python -m bench.bench_scale [SIZES…] [--seed S] [--province P] [--part-size N]
                                [--pack-timeout SECONDS] [--pack-queries ID…] [--keep DIR]

For each size, each step in a fresh process of its own (so each peak RSS is that step's):
- the survey generated as CSV files (`loaders.generate`; its time is recorded, not counted);
- `sitegraph load` of the folder end to end into an empty store (seconds, rows/s, peak RSS);
- the whole query pack twice in one fresh process with the survey's as_of: the first pass
  cold, the second warm (seconds, the slowest query, peak RSS);
- the store's size on disk.

`--province P` then builds (with no SIZES given, only the province) one store of P × `--part-size` enterprises (default 10 × 100,000
= 1,000,000) the way a province would: county by county, each part a disjoint survey
(`generate(part=k)`, seed S+k; part 0 is the usual survey of seed S) loaded by its own
`sitegraph load --source part-k`, an atomic load of its own into the same store. Each load's
time is reported, so growth with the store's size shows; the pack runs on the first part's
store and on the whole. Parts are generated one ahead in a background process while the
previous part loads (the loads are timed alone from their own process, but share the
machine's two cores with that generator). The pack is stopped after `--pack-timeout`
seconds (default 1200) and what has run is kept; `--pack-queries` runs only those queries
(the slowest few, when the whole pack would take too long).

Results go to bench/results/scale.json (the runs of other sizes already there are kept)
and a markdown table on stdout. Run the big sizes with `nice -n 19`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, child, machine, peak_rss_mib, save

AS_OF = "2025-01-15"  # loaders.generate.REFERENCE_DATE: the surveys' as_of
SURVEY_DATE = AS_OF


# ---- the steps, each in its own process -------------------------------------------------------


def run_generate(n: int, seed: int, part: int, out: str) -> dict:
    from loaders.generate import generate, write_survey_files

    t = time.perf_counter()
    s = generate(enterprises=n, seed=seed, part=part)
    write_survey_files(s, Path(out), format="csv")
    return {"rows": sum(len(v) for v in s.records.values()), "counts": s.counts(), "as_of": s.as_of.isoformat(),
            "seconds": round(time.perf_counter() - t, 2), "peak_rss_mib": peak_rss_mib()}


def run_load(folder: str, db: str, source: str) -> dict:
    """`sitegraph load` through the CLI itself (imports included), its table to /dev/null."""
    busy = os.getloadavg()[0]  # the shared machine's load when this load started
    t, cpu = time.perf_counter(), time.process_time()
    from cli.main import app

    saved = sys.stdout
    try:
        with open(os.devnull, "w") as null:
            sys.stdout = null
            app(["load", folder, "--db", db, "--source", source, "--date", SURVEY_DATE, "--format", "json"],
                standalone_mode=False)
    finally:
        sys.stdout = saved
    # CPU seconds (all threads): less disturbed than wall time when the machine is shared
    return {"seconds": round(time.perf_counter() - t, 2), "cpu_seconds": round(time.process_time() - cpu, 2),
            "peak_rss_mib": peak_rss_mib(), "load_average": busy}


def run_pack(db: str, as_of: str, progress: str, only: list[str]) -> dict:
    """Every query of the pack (or `only`) twice, read-only: pass 1 cold, pass 2 warm. Each
    query's time is appended to `progress` as it ends, so a stopped run keeps what it did."""
    import datetime as dt

    from graphmodel.backends import open_backend
    from graphmodel.errors import SitegraphError
    from queries.runner import load_catalogue, run_query

    specs = [s for s in load_catalogue() if not only or s.id in only]
    b = open_backend(db)
    params = {"as_of": dt.date.fromisoformat(as_of)}
    with open(progress, "a") as log:
        for phase in ("cold", "warm"):
            for spec in specs:
                t, cpu = time.perf_counter(), time.process_time()
                try:
                    res = run_query(b, spec.id, {k: v for k, v in params.items()
                                                 if k in {p.name for p in spec.params}})
                except SitegraphError as e:  # e.g. LadybugDB's buffer pool full: noted, the pack goes on
                    log.write(json.dumps({"phase": phase, "query": spec.id, "error": str(e).splitlines()[0][:300],
                                          "seconds": round(time.perf_counter() - t, 3),
                                          "peak_rss_mib": peak_rss_mib()}) + "\n")
                    log.flush()
                    continue
                secs = time.perf_counter() - t
                log.write(json.dumps({"phase": phase, "query": spec.id, "seconds": round(secs, 3),
                                      "cpu_s": round(time.process_time() - cpu, 3), "rows": len(res.rows),
                                      "peak_rss_mib": peak_rss_mib()}) + "\n")
                log.flush()
    b.close()
    return {"peak_rss_mib": peak_rss_mib()}


# ---- the driver -----------------------------------------------------------------------------------


def _disk_mib(path: Path) -> float:
    """The store on disk: the database file and its companions (WAL, shadow)."""
    total = 0
    for p in path.parent.glob(path.name + "*"):
        for f in ([p] if p.is_file() else p.rglob("*")):
            if f.is_file():
                total += f.stat().st_size
    return round(total / 1024 / 1024, 1)


def _pack(db: Path, as_of: str, timeout: float, only: list[str], pool_mb: int | None = None) -> dict:
    """The pack in a fresh process, stopped after `timeout` seconds; per query cold and warm."""
    progress = db.parent / f"{db.name}.pack-{time.time_ns()}.jsonl"
    cmd = [sys.executable, "-m", "bench.bench_scale", "--child", "pack", str(db), as_of, str(progress), *only]
    env = os.environ.copy()
    if pool_mb:  # the buffer pool of the pack's process (SITEGRAPH_BUFFER_POOL_MB; default 1024)
        env["SITEGRAPH_BUFFER_POOL_MB"] = str(pool_mb)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, errs = proc.communicate(timeout=timeout)
        stopped = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, errs = proc.communicate()
        stopped = True
    wall = round(time.perf_counter() - t, 1)
    if proc.returncode != 0 and not stopped:
        raise RuntimeError(f"pack failed on {db}:\n{errs[-3000:]}")
    lines = [json.loads(line) for line in progress.read_text().splitlines()] if progress.exists() else []
    per: dict[str, dict] = {}
    failed: dict[str, str] = {}
    for r in lines:
        if "error" in r:
            failed[r["query"]] = r["error"]
            per.setdefault(r["query"], {})[f"{r['phase']}_error"] = r["error"]
            continue
        q = per.setdefault(r["query"], {"rows": r["rows"]})
        q[f"{r['phase']}_s"] = r["seconds"]
        if "cpu_s" in r:
            q[f"{r['phase']}_cpu_s"] = r["cpu_s"]
    res: dict = {"queries": per, "wall_seconds": wall, "failed": failed,
                 "buffer_pool_mb": pool_mb or int(os.environ.get("SITEGRAPH_BUFFER_POOL_MB", 1024)),
                 "peak_rss_mib": max([r["peak_rss_mib"] for r in lines], default=None)}
    if not stopped:
        res["peak_rss_mib"] = json.loads(out.strip().splitlines()[-1])["peak_rss_mib"]
    for phase in ("cold", "warm"):
        done = {q: v[f"{phase}_s"] for q, v in per.items() if f"{phase}_s" in v}
        res[f"{phase}_queries"] = len(done)
        res[f"{phase}_total_s"] = round(sum(done.values()), 2)
        res[f"{phase}_total_cpu_s"] = round(sum(v.get(f"{phase}_cpu_s", 0) for v in per.values()), 2)
        if done:
            worst = max(done, key=done.get)
            res[f"{phase}_slowest"] = {"query": worst, "seconds": done[worst]}
    if stopped:
        res["stopped_after_s"] = timeout
    return res


def _say(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


def _size_run(n: int, seed: int, tmp: Path, a) -> dict:
    folder, db = tmp / f"survey-{n}", tmp / f"scale-{n}.db"
    gen = child("bench.bench_scale", "--child", "generate", str(n), str(seed), "0", str(folder))
    _say(f"{n:>9,}: generated {gen['rows']:,} rows in {gen['seconds']} s")
    load = child("bench.bench_scale", "--child", "load", str(folder), str(db), f"scale-{n}")
    load["rows_per_s"] = round(gen["rows"] / load["seconds"])
    _say(f"{n:>9,}: load {load['seconds']} s, {load['rows_per_s']:,} rows/s, peak {load['peak_rss_mib']} MiB")
    disk = _disk_mib(db)
    pack = _pack(db, gen["as_of"], a.pack_timeout, a.pack_queries)
    _say(f"{n:>9,}: pack cold {pack['cold_total_s']} s, warm {pack['warm_total_s']} s, peak {pack['peak_rss_mib']} MiB"
         + (f", failed: {pack['failed']}" if pack["failed"] else ""))
    if not a.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return {"size": n, "rows": gen["rows"], "generate_seconds": gen["seconds"], "load": load, "store_mib": disk,
            "pack": pack}


def _province(parts: int, part_size: int, seed: int, tmp: Path, a, run: dict) -> None:
    """P disjoint parts loaded one after another into one store, each by its own process;
    `run` (already in the results) is filled as the parts go, so a failure keeps what was done."""
    db = tmp / "province.db"
    folders = [tmp / f"part-{k}" for k in range(parts)]
    # one generator process, one part ahead of the loads (each part written, then marked done)
    gen_cmd = [sys.executable, "-m", "bench.bench_scale", "--child", "generate-parts", str(part_size), str(seed),
               str(parts), str(tmp)]
    gen_log = open(tmp / "generate-parts.log", "w")
    gen_proc = subprocess.Popen(gen_cmd, cwd=ROOT, stdout=gen_log, stderr=subprocess.STDOUT)
    loads, packs = [], {}
    n = parts * part_size
    run.update(size=n, parts=parts, part_size=part_size, loads=loads, packs=packs)
    try:
        for k, folder in enumerate(folders):
            done = folder.with_suffix(".json")
            while not done.exists():
                if gen_proc.poll() not in (None, 0):
                    raise RuntimeError(f"generating the parts failed: see {tmp / 'generate-parts.log'}")
                time.sleep(2)
            gen = json.loads(done.read_text())
            load = child("bench.bench_scale", "--child", "load", str(folder), str(db), f"part-{k}")
            load.update(part=k, rows=gen["rows"], rows_per_s=round(gen["rows"] / load["seconds"]),
                        generate_seconds=gen["seconds"], store_mib_after=_disk_mib(db),
                        enterprises_after=(k + 1) * part_size)
            loads.append(load)
            folder.with_suffix(".loaded").touch()  # the generator may start the part after next
            _say(f"province part {k}: {gen['rows']:,} rows in {load['seconds']} s ({load['rows_per_s']:,} rows/s), "
                 f"peak {load['peak_rss_mib']} MiB, store {load['store_mib_after']} MiB")
            if not a.keep:
                shutil.rmtree(folder, ignore_errors=True)
            if k == 0 or k == parts - 1:
                p = _pack(db, gen["as_of"], a.pack_timeout, a.pack_queries, a.province_pool_mb)
                packs[str((k + 1) * part_size)] = p
                _say(f"province pack at {(k + 1) * part_size:,}: cold {p['cold_total_s']} s "
                     f"({p['cold_queries']} queries), warm {p['warm_total_s']} s, peak {p['peak_rss_mib']} MiB"
                     + (f", stopped after {p['stopped_after_s']} s" if "stopped_after_s" in p else "")
                     + (f", failed: {sorted(p['failed'])}" if p["failed"] else ""))
    finally:
        if gen_proc.poll() is None:
            gen_proc.kill()
        gen_proc.wait()
        gen_log.close()
        run.update(rows=sum(x["rows"] for x in loads), store_mib=_disk_mib(db),
                   load_seconds_total=round(sum(x["seconds"] for x in loads), 1), complete=len(loads) == parts)


def _failed(p: dict) -> str:
    return f" ({len(p['failed'])} failed: {', '.join(sorted(p['failed']))})" if p.get("failed") else ""


def _cpu(d: dict, key: str = "cpu_seconds") -> str:
    return f"{d[key]}" if d.get(key) is not None else "—"


def _busy(d: dict) -> str:
    la = d.get("load_average")
    return f"{la:.1f}" if isinstance(la, (int, float)) else "—"


def _table(runs: list[dict]) -> None:
    """Wall seconds beside CPU seconds (all threads) and the machine's load average when the
    load started: on a shared machine the CPU seconds are the figure to compare."""
    print("| enterprises | ledger rows | load s | load CPU s | rows/s | load avg | load peak RSS MiB | pack cold s "
          "| pack warm s (CPU) | slowest query (warm) | pack peak RSS MiB | store MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for r in runs:
        if "parts" in r or "pack" not in r:
            continue
        p, ld = r["pack"], r["load"]
        slow = p.get("warm_slowest") or p.get("cold_slowest") or {}
        print(f"| {r['size']:,} | {r['rows']:,} | {ld['seconds']} | {_cpu(ld)} | {ld['rows_per_s']:,} | {_busy(ld)} "
              f"| {ld['peak_rss_mib']:,} | {p['cold_total_s']}{_failed(p)} | {p['warm_total_s']} "
              f"({_cpu(p, 'warm_total_cpu_s')}) | `{slow.get('query', '—')}` {slow.get('seconds', '')} "
              f"| {p['peak_rss_mib']} | {r['store_mib']:,} |")
    for r in runs:
        if "parts" not in r:
            continue
        done = "" if r.get("complete", True) else f"; stopped after {len(r.get('loads', []))} of {r['parts']} parts"
        print(f"\nProvince: {r['parts']} parts of {r['part_size']:,} enterprises into one store "
              f"({r.get('rows', 0):,} rows, {r.get('store_mib', 0):,} MiB on disk; loads "
              f"{r.get('load_seconds_total', 0)} s in all{done})\n")
        print("| part | enterprises in store after | load s | load CPU s | rows/s | load avg | peak RSS MiB "
              "| store MiB after |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for x in r.get("loads", []):
            print(f"| {x['part']} | {x['enterprises_after']:,} | {x['seconds']} | {_cpu(x)} | {x['rows_per_s']:,} "
                  f"| {_busy(x)} | {x['peak_rss_mib']:,} | {x['store_mib_after']:,} |")
        print("\n| store | queries run (cold / warm) | pack cold s | pack warm s (CPU) | slowest (cold) "
              "| slowest (warm) | peak RSS MiB |")
        print("|---:|---|---:|---:|---|---|---:|")
        for size, p in r.get("packs", {}).items():
            sc, sw = p.get("cold_slowest", {}), p.get("warm_slowest", {})
            stop = f" (stopped after {p['stopped_after_s']} s)" if "stopped_after_s" in p else ""
            print(f"| {int(size):,} | {p['cold_queries']} / {p['warm_queries']}{stop}{_failed(p)} | {p['cold_total_s']} "
                  f"| {p['warm_total_s']} ({_cpu(p, 'warm_total_cpu_s')}) | `{sc.get('query', '—')}` "
                  f"{sc.get('seconds', '')} | `{sw.get('query', '—')}` {sw.get('seconds', '')} | {p['peak_rss_mib']} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", type=int, help="default 1000 10000 50000 100000; none with --province")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--province", type=int, default=0, metavar="P", help="also P disjoint parts into one store")
    ap.add_argument("--part-size", type=int, default=100000)
    ap.add_argument("--pack-timeout", type=float, default=1200)
    ap.add_argument("--province-pool-mb", type=int, metavar="MB",
                    help="the buffer pool of the province's pack (default SITEGRAPH_BUFFER_POOL_MB or 1024)")
    ap.add_argument("--pack-queries", nargs="+", default=[], metavar="ID", help="only these queries of the pack")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the surveys and stores")
    ap.add_argument("--table", action="store_true", help="only print the table of bench/results/scale.json")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.table:
        from bench.common import RESULTS

        _table(json.loads((RESULTS / "scale.json").read_text())["runs"])
        return 0
    if not a.sizes and not a.province:
        a.sizes = [1000, 10000, 50000, 100000]
    if a.child:  # inside a fresh process
        mode, *rest = a.child
        if mode == "generate":
            out = run_generate(int(rest[0]), int(rest[1]), int(rest[2]), rest[3])
        elif mode == "generate-parts":  # parts 0…P-1 in order, each marked done by its <dir>.json
            size, seed, parts, tmp = int(rest[0]), int(rest[1]), int(rest[2]), Path(rest[3])
            for k in range(parts):
                while k >= 2 and not (tmp / f"part-{k - 2}.loaded").exists():  # one part ahead, no more
                    time.sleep(2)
                r = child("bench.bench_scale", "--child", "generate", str(size), str(seed + k), str(k),
                          str(tmp / f"part-{k}"))
                (tmp / f"part-{k}.tmp").write_text(json.dumps(r))
                (tmp / f"part-{k}.tmp").rename(tmp / f"part-{k}.json")
                print(f"part {k}: {r['rows']} rows in {r['seconds']} s", flush=True)
            out = {}
        elif mode == "load":
            out = run_load(rest[0], rest[1], rest[2])
        else:
            out = run_pack(rest[0], rest[1], rest[2], rest[3:])
        print(json.dumps(out))
        return 0

    tmp = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="sitegraph-scale-"))
    tmp.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "seed": a.seed, "buffer_pool_mb": os.environ.get("SITEGRAPH_BUFFER_POOL_MB",
                                                                                     "default (1024)"), "runs": []}
    try:
        for n in a.sizes:
            results["runs"].append(_size_run(n, a.seed, tmp, a))
        if a.province:
            results["runs"].append({"size": a.province * a.part_size})
            _province(a.province, a.part_size, a.seed, tmp, a, results["runs"][-1])
    finally:
        if results["runs"]:
            save("scale", results)
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    _table(results["runs"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
