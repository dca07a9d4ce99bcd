"""What a dated round writes (issue 11, the round cost; docs/design/history.md §5).

A round sends the store only what differs from the stored versions — the changed properties
of a changed record, the relationships of a column that changed — so these tests hold the
result to the full answer: after several rounds the current graph is exactly the graph of a
store that holds the last ledger alone, every superseded version is in history as it was, and
the content hashes are those of the first implementation, so the hashes that stores written
by earlier versions hold keep matching (a reload stays a no-op).
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random

import pytest

from conftest import BACKENDS, empty_target
from graphmodel import history, writer
from graphmodel.schema import NODES, REL_TYPES, history_label
from graphmodel.writer import _rel_pairs, normalise_record, record_hash, write_survey
from ledgers import graph_state
from loaders import generate as gen
from reliability_helpers import edges

D = [dt.date(2025, 1, 15), dt.date(2025, 2, 15), dt.date(2025, 3, 15)]


def _reference_hash(values, keys, source) -> str:
    """content_hash as the first implementation computed it (the hashes stored so far)."""
    canon = lambda v: v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v  # noqa: E731
    body = {k: canon(values.get(k)) for k in sorted(keys) if values.get(k) is not None}
    text = json.dumps([source, body], ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def test_content_hash_is_the_first_implementations():
    cases = [
        ({"name": "阳泉华兴耐火材料有限公司", "n": 3, "x": 1.5, "ok": True, "no": False, "d": dt.date(2025, 1, 15),
          "l": ["a", "b,c", "丙"], "z": None, "q": 'say "hi"\n\\'}, "荫营镇"),
        ({"x": 1.0, "big": 10 ** 15, "neg": -0.25, "t": dt.datetime(2025, 1, 2, 3, 4, 5)}, None),
        ({}, "S"),
        ({"only": None}, "S"),
    ]
    for values, source in cases:
        keys = list(values) + ["absent"]
        assert history.content_hash(values, sorted(keys), source) == _reference_hash(values, keys, source)
    # pinned: a change of the hash would make every stored record look changed
    assert history.content_hash(cases[0][0], sorted(cases[0][0]), "荫营镇") == "add08323d23826f8"


def test_record_hash_of_a_generated_survey_is_the_first_implementations():
    stamp = {"source": "西烟镇", "load_id": "x", "loaded_at": "t", "survey_date": D[0], "load_seq": 1}
    recs = gen.generate(40, seed=11).records
    n = 0
    for label, rs in recs.items():
        nt = NODES[label]
        for r in rs:
            rec = normalise_record(nt, r, stamp)
            assert record_hash(nt, rec) == _reference_hash(rec, nt.data_keys, "西烟镇"), (label, rec[nt.key])
            n += 1
    assert n > 200


def _next_round(records: dict, rng: random.Random) -> tuple[dict, dict[str, set]]:
    """A quarter of every sheet's records get one to three columns set to the value another
    record of the sheet has there (blanks and references included, so every value is valid
    and every reference resolves); returns the round and the keys changed per label."""
    out = copy.deepcopy(records)
    changed: dict[str, set] = {}
    for label, rs in out.items():
        nt = NODES[label]
        cols = [c.key for c in nt.columns[1:]]
        donors = copy.deepcopy(rs)
        for r in rng.sample(rs, max(2, len(rs) // 4)):
            before = dict(r)
            for c in rng.sample(cols, rng.randint(1, min(3, len(cols)))):
                r[c] = copy.deepcopy(rng.choice(donors).get(c))
            if r != before:
                changed.setdefault(label, set()).add(r[nt.key])
    return out, changed


def _hashes(b) -> dict[str, dict]:
    return {nt.label: {r["k"]: r["h"] for r in b.read(f"MATCH (n:{nt.label}) RETURN n.`{nt.key}` AS k, "
                                                        f"n.content_hash AS h").rows}
            for nt in map(NODES.get, NODES)}


@pytest.mark.parametrize("max_groups", [12, 2])
@pytest.mark.parametrize("kind", BACKENDS)
def test_rounds_leave_the_graph_a_store_of_the_last_ledger_holds(kind, max_groups, request, tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "_MAX_GROUPS", max_groups)  # 2: most change patterns share one SET
    rng = random.Random(f"rounds-{max_groups}")
    r1 = gen.generate(40, seed=5).records
    r2, changed2 = _next_round(r1, rng)
    r3, _ = _next_round(r2, rng)
    (tmp_path / "h").mkdir()
    (tmp_path / "s").mkdir()
    hist_t = empty_target(kind, request, tmp_path / "h")
    with hist_t.open(write=True) as b:
        write_survey(b, r1, source="西烟镇", survey_date=D[0])
        rels_before = edges(b)
        rep2 = write_survey(b, r2, source="西烟镇", survey_date=D[1])
        # the superseded versions are in history exactly as round 1 gave them
        for label, keys in changed2.items():
            nt = NODES[label]
            old = {r[nt.key]: normalise_record(nt, r) for r in r1[label] if r[nt.key] in keys}
            rows = b.read(f"MATCH (h:{history_label(nt)}) RETURN h").rows  # Neo4j leaves nulls out
            got = {r["h"][nt.key]: r["h"] for r in rows if r["h"]["h_kind"] == history.VERSION}
            assert set(got) == keys, label
            for k in keys:
                assert {c: got[k].get(c) for c in nt.data_keys} == {c: old[k][c] for c in nt.data_keys}, (label, k)
            assert rep2.labels[label].updated == len(keys)
        # relationships: only those of a column that changed were deleted and drawn again
        redrawn = 0
        for rel in REL_TYPES:
            owner = NODES[rel.owner]
            col = owner.column(rel.column).key
            new = {r[owner.key]: normalise_record(owner, r) for r in r2[rel.owner]}
            moved = [normalise_record(owner, r) for r in r1[rel.owner]
                     if r[owner.key] in changed2.get(rel.owner, ()) and normalise_record(owner, r)[col] != new[r[owner.key]][col]]
            redrawn += len(_rel_pairs(rel, moved))
        assert 0 < redrawn < sum(len(v) for v in rels_before.values())
        assert rep2.relationships_deleted == redrawn
        write_survey(b, r3, source="西烟镇", survey_date=D[2])
        assert not write_survey(b, r3, source="西烟镇", survey_date=D[2]).changed  # a reload stays a no-op
        got_state, got_rels, got_hashes = graph_state(b), edges(b), _hashes(b)
    snap_t = empty_target(kind, request, tmp_path / "s")  # Neo4j: the same server, wiped
    with snap_t.open(write=True) as s:
        write_survey(s, r3, source="西烟镇", survey_date=D[2])
        assert got_state == graph_state(s)
        assert got_rels == edges(s)
        assert got_hashes == _hashes(s)
