"""Recall and precision of `sitegraph dedupe` on generated surveys with planted duplicates.

    python -m bench.bench_dedupe [SIZES…] [--seeds 1 2 3] [--share 0.03] [--provisional 0.05]
    python -m bench.bench_dedupe 1000 --seeds $(seq 1 20) --in-memory --results dedupe-seeds

For each size and seed the generator plants `share` × size parties written a second time
under a variant name (generate(duplicates=…), the pairs in its truth), on a survey where a
`provisional` share of the parties has no USCC (generate(provisional=…)). The survey is written
to an embedded store and dedupe runs on it as the command does (one read, then the pairs);
its list (score ≥ the default minimum) is compared with the planted pairs. Two harder
variants are scored on the same parties in memory: the twins keyed by a 临时编码 instead of
a code copied wrong (no code evidence), and with no phone or principal on any party (names,
addresses and townships only). Results go to bench/results/dedupe.json and a markdown
table on stdout, with the totals over the seeds of each size; the method and the figures are in
docs/benchmarks.md. `--in-memory` scores the generated records as the store would return them
(no store: many seeds quickly).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import machine, save


def _variant(parties, planted, kind):
    """The parties as `kind` would have them, and the planted pairs' keys in that form."""
    from dataclasses import replace

    twins = {b for _, b, _ in planted}
    out, rename = [], {}
    for p in parties:
        if kind == "provisional" and p.key in twins:
            code = f"LS-{p.township}-{len(rename):04d}"
            rename[p.key] = code
            p = replace(p, key=code, registered=False, uscc_valid=False)
        elif kind == "no_contacts":
            p = replace(p, phone="", principal="")
        out.append(p)
    return out, [(a, rename.get(b, b)) for a, b, _ in planted]


def _on_store(survey, db: str):
    """Write the survey to an embedded store, then dedupe as the command does: (parties, pairs, seconds)."""
    from graphmodel.backends import open_backend
    from graphmodel.writer import write_survey
    from queries import dedupe as dd

    w = open_backend(db, write=True, create=True)
    try:
        w.install_schema()
        write_survey(w, survey.records, source="bench")
    finally:
        w.close()
    b = open_backend(db)
    try:
        t0 = time.perf_counter()
        parties = dd.read_parties(b)
        pairs = dd.find_pairs(parties)
        return parties, pairs, time.perf_counter() - t0
    finally:
        b.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument("--share", type=float, default=0.03)
    ap.add_argument("--provisional", type=float, default=0.05)
    ap.add_argument("--in-memory", action="store_true", help="score the records without a store")
    ap.add_argument("--results", default="dedupe", help="bench/results/NAME.json")
    a = ap.parse_args()

    from loaders.generate import generate
    from queries import dedupe as dd

    results = {"in_memory": a.in_memory, "machine": machine(), "seeds": a.seeds, "share": a.share, "provisional": a.provisional,
               "min_score": dd.DEFAULT_MIN_SCORE,
               "runs": []}
    tmp = Path(tempfile.mkdtemp(prefix="sitegraph-benchd-"))
    lines = ["| enterprises | seed | planted | listed | true | false | recall | precision | "
             "as 临时编码: recall / precision | no contacts: recall / precision | dedupe s |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|"]
    for n in a.sizes:
        per_seed = []
        for seed in a.seeds:
            survey = generate(enterprises=n, seed=seed, duplicates=a.share, provisional=a.provisional)
            if a.in_memory:
                t0 = time.perf_counter()
                parties = [dd.Party.from_row({"key": r["uscc"], **r}) for r in survey.records["Enterprise"]]
                pairs = dd.find_pairs(parties)
                secs = time.perf_counter() - t0
            else:
                parties, pairs, secs = _on_store(survey, str(tmp / f"d-{n}-{seed}.db"))
            m = dd.recall_precision([p.keys for p in pairs], [p[:2] for p in survey.duplicates])
            extra = {}
            for kind in ("provisional", "no_contacts"):
                ps, truth = _variant(parties, survey.duplicates, kind)
                extra[kind] = dd.recall_precision([p.keys for p in dd.find_pairs(ps)], truth)
            missed_kinds: dict[str, int] = {}
            got = {frozenset(p.keys) for p in pairs}
            for x, y, kinds in survey.duplicates:
                if frozenset((x, y)) not in got:
                    for k in kinds:
                        missed_kinds[k] = missed_kinds.get(k, 0) + 1
            run = {"seed": seed, "parties": len(parties), **m, "seconds": round(secs, 3),
                   "missed_by_variant": missed_kinds,
                   **{f"{k}_{f}": round(v[f], 4) for k, v in extra.items() for f in ("recall", "precision")}}
            per_seed.append(run)
            lines.append(f"| {n:,} | {seed} | {m['planted']} | {m['found']} | {m['true']} | {m['false']} | "
                         f"{m['recall']:.1%} | {m['precision']:.1%} | "
                         f"{extra['provisional']['recall']:.1%} / {extra['provisional']['precision']:.1%} | "
                         f"{extra['no_contacts']['recall']:.1%} / {extra['no_contacts']['precision']:.1%} | "
                         f"{secs:.2f} |")
        tot = {k: sum(r[k] for r in per_seed) for k in ("planted", "found", "true", "false")}
        total = {**tot, "recall": tot["true"] / tot["planted"], "precision": tot["true"] / max(tot["found"], 1),
                 "worst_recall": min(r["recall"] for r in per_seed),
                 "worst_precision": min(r["precision"] for r in per_seed)}
        lines.append(f"| {n:,} | all {len(per_seed)} | {tot['planted']} | {tot['found']} | {tot['true']} | "
                     f"{tot['false']} | {total['recall']:.1%} | {total['precision']:.1%} | "
                     f"worst seed: recall {total['worst_recall']:.1%}, precision {total['worst_precision']:.1%} | | |")
        results["runs"].append({"size": n, "share": a.share, "provisional": a.provisional, "in_memory": a.in_memory,
                                "seeds": per_seed, "total": total})
    print("\n".join(lines))
    path = save(a.results, results)
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
