"""Disjoint parts of a larger survey (`generate(part=k)`): a province loads county by county,
each an atomic load of its own into the same store, so no two parts may share a key."""
from __future__ import annotations

import pytest

from graphmodel.backends import open_backend
from graphmodel.schema import NODE_TYPES
from loaders.generate import MAX_PARTS, generate, write_survey_files
from loaders.survey import ensure_schema, load
from loaders.values import is_valid_uscc

N = 150


@pytest.fixture(scope="module")
def parts():
    # part 0 is the survey as always; parts 1 and 2 have the same seed as part 0 on purpose:
    # only the part keeps their keys apart
    return {k: generate(N, seed=5, part=k) for k in (0, 1, 2)}


def _keys(survey, label):
    key = next(nt.key for nt in NODE_TYPES if nt.label == label)
    return {r[key] for r in survey.records[label]}


def test_part_zero_is_the_survey_as_always(parts):
    assert parts[0].records == generate(N, seed=5).records


def test_parts_share_no_key(parts):
    for nt in NODE_TYPES:
        sets = [_keys(parts[k], nt.label) for k in parts]
        assert all(sets), nt.label  # every sheet has records, so the check means something
        for i in range(len(sets)):
            for j in range(i + 1, len(sets)):
                assert not sets[i] & sets[j], (nt.label, sorted(sets[i] & sets[j])[:5])


def test_part_usccs_are_valid_and_of_their_own_series(parts):
    for k in (1, 2):
        recs = parts[k].records["Enterprise"]
        assert {r["uscc"][8] for r in recs} == {"M"}
        assert len({r["uscc"][9] for r in recs}) == 1
        # the planted 1 % of wrong check characters stays, and only those
        assert sum(not is_valid_uscc(r["uscc"]) for r in recs) == sum(not r["uscc_valid"] for r in recs) > 0


def test_bad_parts_are_refused():
    with pytest.raises(ValueError, match="part"):
        generate(N, seed=5, part=MAX_PARTS + 1)
    with pytest.raises(ValueError, match="part"):
        generate(N, seed=5, part=1, provisional=0.05)


def test_parts_load_into_one_store(parts, tmp_path):
    db = str(tmp_path / "province.db")
    b = open_backend(db, write=True, create=True)
    ensure_schema(b)
    try:
        for k, s in parts.items():
            d = tmp_path / f"part-{k}"
            write_survey_files(s, d, format="csv")
            rep = load(d, b, source=f"part-{k}").report
            # every record of the part is new: nothing of an earlier part was touched
            for label, recs in s.records.items():
                r = rep.labels[label]
                assert (r.created, r.updated, r.moved, r.unchanged) == (len(recs), 0, 0, 0), (k, label)
        again = load(tmp_path / "part-1", b, source="part-1").report
        assert not again.changed
        counts = b.counts()
    finally:
        b.close()
    for label in parts[0].records:
        assert counts["nodes"][label] == sum(len(s.records[label]) for s in parts.values()), label
