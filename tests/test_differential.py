"""The same survey in both backends must give identical rows from every query.

One test holds both backends at once (conftest's `both_backends`: an embedded graph in
tmp_path and the session's Neo4j server). Rows are compared after the runner's client-side
ordering, value by value (floats to a relative 1e-9: sums may be added up in another
order), with personal columns included and with non-default parameters too.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import math

import pytest

from graphmodel.writer import write_survey
from queries.runner import load_catalogue, run_query

pytestmark = pytest.mark.neo4j

if importlib.util.find_spec("loaders.generate") is None:  # pragma: no cover
    pytest.skip("loaders.generate is not in this checkout yet", allow_module_level=True)

from loaders.generate import generate  # noqa: E402


def same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def diff_rows(qid: str, a: list[dict], b: list[dict]) -> list[str]:
    if len(a) != len(b):
        return [f"{qid}: {len(a)} rows embedded, {len(b)} rows neo4j"]
    out = []
    for n, (x, y) in enumerate(zip(a, b)):
        if list(x) != list(y):
            out.append(f"{qid} row {n}: columns {list(x)} != {list(y)}")
            continue
        for c in x:
            if not same_value(x[c], y[c]):
                out.append(f"{qid} row {n} {c}: {x[c]!r} (embedded) != {y[c]!r} (neo4j)")
    return out


def test_identical_rows_on_both_backends(both_backends):
    emb, neo = both_backends
    survey = generate(250, 11)
    for g in (emb, neo):
        write_survey(g, survey.records, source="diff")
    param_sets = [{"as_of": survey.as_of, "cap": 0.10},
                  {"as_of": dt.date(2024, 12, 1), "cap": 0.05, "cutoff": dt.date(2024, 6, 30)}]
    problems = []
    nonempty = 0
    for spec in load_catalogue():
        for params in param_sets:
            mine = {k: v for k, v in params.items() if k in {p.name for p in spec.params}}
            a = run_query(emb, spec, mine, include_personal=True)
            b = run_query(neo, spec, mine, include_personal=True)
            assert a.backend == "embedded" and b.backend == "neo4j"
            problems += diff_rows(spec.id, a.rows, b.rows)
            nonempty += bool(a.rows)
    assert not problems, "\n".join(problems[:40])
    assert nonempty >= 40  # both parameter sets, most queries find something
