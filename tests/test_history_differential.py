"""History, time travel, diff and trend give the same answers on both backends (issue 11).

The rounds of `generate --rounds` (loaders/rounds.py: a late ledger, a --prune round) are
loaded into the embedded store and into Neo4j in the same order; then, compared value by
value: `query run --all` on the state at every ledger's date, the history of records that
changed, were retired or were added, the diff JSON between dates, and trends.
"""
from __future__ import annotations

import datetime as dt

import pytest

from graphmodel import states
from graphmodel.changes import history_of
from loaders.rounds import generate_rounds, write_rounds
from loaders.survey import load
from queries import campaign, runner
from test_differential import diff_rows

pytestmark = pytest.mark.neo4j


@pytest.fixture(autouse=True)
def state_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SITEGRAPH_CACHE", str(tmp_path / "cache"))


def _no_load_ids(hs):
    out = []
    for h in hs:
        d = h.as_dict()
        for e in d["events"]:
            e.pop("load_id")  # random per load, so per backend
        out.append(d)
    return out


def test_history_time_travel_diff_and_trend_agree(both_backends, tmp_path):
    rounds = generate_rounds(120, 8, 3)
    write_rounds(tmp_path / "r", rounds, 8)
    for b in both_backends:
        for r in rounds:
            load(tmp_path / "r" / r.name / "survey.xlsx", b, source="T", prune=r.prune, survey_date=r.survey_date)
    emb, neo = both_backends
    days = sorted(r.survey_date for r in rounds)
    problems = []
    for day in days + [dt.date(2024, 12, 31)]:
        packs = []
        for b in both_backends:
            with states.state_at(b, day, materialise=True) as s:
                packs.append({r.spec.id: r.rows for r in runner.run_all(s, {"as_of": day}, include_personal=True)})
        for qid in packs[0]:
            problems += [f"{day} {p}" for p in diff_rows(qid, packs[0][qid], packs[1][qid])]
    assert not problems, "\n".join(problems[:40])
    first = {h["hazard_id"] for h in rounds[0].records["Hazard"]}
    last = {h["hazard_id"] for h in rounds[2].records["Hazard"]}
    gone = {o["operation_id"] for o in rounds[1].records["Operation"]} - {
        o["operation_id"] for o in rounds[2].records["Operation"]}
    keys = sorted(first)[:8] + sorted(last - first) + sorted(gone) + [rounds[0].records["Enterprise"][0]["uscc"]]
    for k in keys:
        he, hn = _no_load_ids(history_of(emb, k)), _no_load_ids(history_of(neo, k))
        assert he == hn and he, k
    for d1, d2 in ((days[0], days[1]), (days[1], days[2]), (days[0], days[3])):
        de, dn = campaign.diff(emb, d1, d2), campaign.diff(neo, d1, d2)
        assert de == dn, (d1, d2)
        assert de["records"]
    for qid in ("rectification-rate", "survey-coverage", "major-hazards-open"):
        te, tn = campaign.trend(emb, qid, days), campaign.trend(neo, qid, days)
        assert te.as_dict() == tn.as_dict(), qid
