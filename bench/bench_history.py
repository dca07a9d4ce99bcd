"""Campaign history at scale (issue 11): four rounds of a generated survey on the embedded store.

    python -m bench.bench_history [SIZE] [--seed S] [--rounds R] [--change 0.1] [--results NAME] [--loads-only]

Round 1 is `generate(SIZE, seed)`; each later round, a month later, changes one field of
`change` of every sheet's records (hazards move along 未整改 → 整改中 → 已整改 → 已销号, other
sheets get one text field edited). Measured, in one process, on one store:

- `first_load`: round 1 into an empty store; `rounds`: each later round (dated) into the same
  store, and its ratio to the first load (goal: at most 1×);
- `pack_current` vs `pack_snapshot`: the whole query pack (warm, best of 2) on the store with
  history vs a store holding the last round alone (goal: within 10 %);
- `at_past`: `query run --all --at D` of round 2's date — cold (state built) and cached
  (goal: within 3× of the current pack);
- `diff`: `campaign.diff` over two rounds (round 2 → last), cold cache (goal: under 10 s);
- storage: the store with history vs the snapshot store vs the ledgers (xlsx) it was loaded from;
  history rows per label.

`--loads-only` stops after the loads (first, rounds, no-op reload, store size): a quick
before/after of the round cost, e.g. on two checkouts in turn.

Results: bench/results/history.json and a markdown table on stdout. The machine is shared:
compare figures within one run (the load average is recorded).
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import machine, peak_rss_mib, save


def _size(p: Path) -> int:
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size if p.exists() else 0


def mutate(records: dict, day: dt.date, change: float, rng: random.Random, n_round: int) -> tuple[dict, int]:
    """The next round: one field of `change` of every sheet's records edited."""
    from graphmodel.schema import NODES, Kind
    from loaders.rounds import _change

    out = copy.deepcopy(records)
    changed = 0
    for label, rs in out.items():
        nt = NODES[label]
        text = [c.key for c in nt.columns[1:] if c.kind is Kind.TEXT and not c.personal]
        for i in rng.sample(range(len(rs)), round(change * len(rs))):
            r = rs[i]
            if label == "Hazard" and _change(label, r, day, rng):
                changed += 1
                continue
            if text:
                k = rng.choice(text)
                r[k] = f"{r.get(k) or ''}（第{n_round}轮）"
                changed += 1
    return out, changed


def _pack(b, as_of) -> float:
    from queries import runner

    best = None
    for _ in range(2):
        t = time.perf_counter()
        runner.run_all(b, {"as_of": as_of})
        s = time.perf_counter() - t
        best = s if best is None else min(best, s)
    return round(best, 2)


def run(size: int, seed: int, rounds: int, change: float, loads_only: bool = False) -> dict:
    from graphmodel import states
    from graphmodel.backends import open_backend
    from graphmodel.schema import NODE_TYPES, history_label
    from graphmodel.writer import write_survey
    from loaders import generate as gen
    from queries import campaign, runner

    base = gen.generate(size, seed)
    rng = random.Random(f"bench-history-{seed}")
    days = [gen.REFERENCE_DATE]
    ledgers = [base.records]
    changed = [0]
    for i in range(2, rounds + 1):
        days.append(days[-1] + dt.timedelta(days=31))
        recs, n = mutate(ledgers[-1], days[-1], change, rng, i)
        ledgers.append(recs)
        changed.append(n)
    rows = sum(len(v) for v in base.records.values())
    work = Path(tempfile.mkdtemp(prefix="bench-history-"))
    out: dict = {"size": size, "rows": rows, "rounds": rounds, "change": change, "changed_per_round": changed[1:]}
    try:
        ledger_bytes = 0
        for i, recs in enumerate([] if loads_only else ledgers, 1):  # the ledgers as a township sends them
            s = gen.GeneratedSurvey(seed=seed, enterprises=size, as_of=days[i - 1], records=recs, _truth={})
            ledger_bytes += _size(gen.write_survey_files(s, work / f"ledger-{i}", format="xlsx")[0])
        db = work / "history.db"
        b = open_backend(str(db), write=True, create=True)
        b.install_schema()
        t = time.perf_counter()
        write_survey(b, ledgers[0], source="bench", survey_date=days[0])
        first = time.perf_counter() - t
        out["first_load_s"] = round(first, 2)
        out["rounds_s"] = []
        for recs, day in zip(ledgers[1:], days[1:]):
            t = time.perf_counter()
            write_survey(b, recs, source="bench", survey_date=day)
            out["rounds_s"].append(round(time.perf_counter() - t, 2))
        out["round_vs_first"] = [round(s / first, 2) for s in out["rounds_s"]]
        t = time.perf_counter()
        rep = write_survey(b, ledgers[-1], source="bench", survey_date=days[-1])
        out["reload_s"] = round(time.perf_counter() - t, 2)
        assert not rep.changed
        out["history_rows"] = {nt.label: b.read(f"MATCH (h:{history_label(nt)}) RETURN count(h) AS n").rows[0]["n"]
                               for nt in NODE_TYPES}
        b.close()
        if loads_only:
            out["store_bytes"] = _size(db)
            return out
        snap = work / "snapshot.db"
        s = open_backend(str(snap), write=True, create=True)
        s.install_schema()
        t = time.perf_counter()
        write_survey(s, ledgers[-1], source="bench", survey_date=days[-1])
        out["snapshot_load_s"] = round(time.perf_counter() - t, 2)
        s.close()
        with open_backend(str(snap)) as s:
            out["pack_snapshot_s"] = _pack(s, days[-1])
        with open_backend(str(db)) as b:
            out["pack_current_s"] = _pack(b, days[-1])
            out["pack_current_vs_snapshot"] = round(out["pack_current_s"] / out["pack_snapshot_s"], 2)
            cache = Path(f"{db}.states")
            shutil.rmtree(cache, ignore_errors=True)
            t = time.perf_counter()
            with states.state_at(b, days[1]) as st:
                built = time.perf_counter() - t
                runner.run_all(st, {"as_of": days[1]})
            out["at_past_cold_s"] = round(time.perf_counter() - t, 2)
            out["at_past_build_s"] = round(built, 2)
            t = time.perf_counter()
            with states.state_at(b, days[1]) as st:
                runner.run_all(st, {"as_of": days[1]})
            out["at_past_cached_s"] = round(time.perf_counter() - t, 2)
            out["at_past_cold_vs_current"] = round(out["at_past_cold_s"] / out["pack_current_s"], 2)
            out["at_past_cached_vs_current"] = round(out["at_past_cached_s"] / out["pack_current_s"], 2)
            shutil.rmtree(cache, ignore_errors=True)
            t = time.perf_counter()
            d = campaign.diff(b, days[1], days[-1])
            out["diff_s"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            from graphmodel.changes import record_changes

            record_changes(b, days[1], days[-1])
            out["diff_records_s"] = round(time.perf_counter() - t, 2)
            out["diff_counts"] = {"findings_new": sum(len(v["new"]) for v in d["queries"].values()),
                                  "findings_resolved": sum(len(v["resolved"]) for v in d["queries"].values()),
                                  "records_changed": sum(len(v["changed"]) for v in d["records"].values()),
                                  "records_added": sum(len(v["added"]) for v in d["records"].values())}
        out["store_bytes"] = _size(db)
        out["snapshot_bytes"] = _size(snap)
        out["ledgers_bytes"] = ledger_bytes
        out["history_overhead_bytes"] = out["store_bytes"] - out["snapshot_bytes"]
        out["peak_rss_mib"] = peak_rss_mib()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def markdown(r: dict) -> str:
    mb = lambda n: f"{n / 1e6:.1f} MB"  # noqa: E731
    lines = [f"| measure ({r['size']:,} enterprises, {r['rows']:,} ledger rows, {r['rounds']} rounds) | value |",
             "|---|---:|",
             f"| first load | {r['first_load_s']} s |"]
    for i, (s, x) in enumerate(zip(r["rounds_s"], r["round_vs_first"]), 2):
        lines.append(f"| round {i} ({r['changed_per_round'][i - 2]:,} records changed) | {s} s ({x}× first) |")
    lines += [f"| reload of the last round (no-op) | {r['reload_s']} s |",
              f"| pack, current state (store with history), warm | {r['pack_current_s']} s |",
              f"| pack, single snapshot store, warm | {r['pack_snapshot_s']} s "
              f"({r['pack_current_vs_snapshot']}× ratio) |",
              f"| `query run --all --at` round 2, cold (state build {r['at_past_build_s']} s) | {r['at_past_cold_s']} s "
              f"({r['at_past_cold_vs_current']}× current) |",
              f"| the same, cached | {r['at_past_cached_s']} s ({r['at_past_cached_vs_current']}× current) |",
              f"| `diff` round 2 → round {r['rounds']} (cold; record part {r['diff_records_s']} s) | {r['diff_s']} s |",
              f"| store with history / snapshot store / ledgers (xlsx, all rounds) | {mb(r['store_bytes'])} / "
              f"{mb(r['snapshot_bytes'])} / {mb(r['ledgers_bytes'])} |",
              f"| history rows | {sum(r['history_rows'].values()):,} |"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("size", nargs="?", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--change", type=float, default=0.1)
    ap.add_argument("--results", default="history")
    ap.add_argument("--loads-only", action="store_true", help="only the loads: first, rounds, no-op reload")
    a = ap.parse_args()
    m = machine()
    r = run(a.size, a.seed, a.rounds, a.change, a.loads_only)
    if a.loads_only:
        print(json.dumps({k: r[k] for k in ("first_load_s", "rounds_s", "round_vs_first", "reload_s", "store_bytes")}))
        print(json.dumps({"load_average_after": os.getloadavg()}))
        return
    save(a.results, {"machine": m, "runs": [r]})
    print(markdown(r))
    print(json.dumps({"load_average_after": os.getloadavg()}))


if __name__ == "__main__":
    main()
