"""The query pack's metadata: every catalogue id present, valid, and within the Cypher subset."""
from __future__ import annotations

import datetime as dt
import re
import tomllib

import pytest
from pydantic import ValidationError

from graphmodel.errors import SitegraphError
from graphmodel.schema import personal_keys
from queries import runner
from queries.catalogue import (
    CATALOGUE, CATALOGUE_IDS, CATEGORIES, SEVERITIES, QuerySpec, expand_macros, fold_differs, fold_text, pack_files,
    parse_spec,
)

# Columns the generator's ground truth compares, beyond the keys (exact names).
CHECKED = {
    "nested-high-risk": {"operation_id", "lease_depth", "site_path_length", "site_path"},
    "survey-coverage": {"county", "township", "enterprises", "buildings", "leased_buildings",
                        "multi_tenant_buildings", "nested_sites", "contracts", "leased_area", "resident_workers",
                        "high_risk_operations"},
    "rectification-rate": {"county", "hazards", "rectified", "rate", "major", "major_rectified"},
    "dispatch-over-cap": {"uscc", "dispatched"},
    "worry-list": {"uscc", "score", "major_open", "overdue", "gaps", "violations", "nested_ops",
                   "unsafe_buildings", "no_licence", "supervision_overdue", "unaccepted", "stop_defied", "hot_work",
                   "underground_goods", "no_manager"},
    "stop-order-defied": {"uscc", "inspection_id", "inspection_date", "document_no"},
    "hot-work-near-flammables": {"contract_id", "client_uscc", "contractor_uscc", "operations", "operation_parties",
                                 "tenancies", "tenancy_parties"},
    "multi-tenant-no-manager": {"building_id", "lessees"},
}


def test_every_catalogue_id_has_a_pack_file_named_by_it():
    assert len(set(CATALOGUE_IDS)) == len(CATALOGUE_IDS) and all(CATALOGUE.values())
    files = {name.removesuffix(".toml") for name, _ in pack_files()}
    assert set(CATALOGUE) <= files, f"missing from queries/pack: {sorted(set(CATALOGUE) - files)}"


def test_pack_loads_valid_and_ids_unique():
    specs = runner.load_catalogue()
    ids = [s.id for s in specs]
    assert len(ids) == len(set(ids))
    assert ids[: len(CATALOGUE_IDS)] == list(CATALOGUE_IDS)
    for name, text in pack_files():
        assert parse_spec(name, text).id == name.removesuffix(".toml")


@pytest.mark.parametrize("qid", CATALOGUE_IDS)
def test_key_columns_are_the_catalogue_names(qid):
    spec = runner.get(qid)
    assert tuple(spec.key_columns) == CATALOGUE[qid]
    assert all(k.lstrip("-") in [c.name for c in spec.columns] for k in spec.sort)


@pytest.mark.parametrize("qid", sorted(CHECKED))
def test_checked_columns_present_under_their_names(qid):
    names = {c.name for c in runner.get(qid).columns}
    assert CHECKED[qid] <= names, CHECKED[qid] - names


def test_metadata_is_complete():
    for s in runner.load_catalogue():
        assert s.title_zh and s.title_en and s.description_zh and s.description_en
        assert re.search(r"[\u4e00-\u9fff]", s.description_zh), s.id
        assert s.severity in SEVERITIES and s.category in CATEGORIES
        # every legal basis names the notice, a 判定标准 clause, or a law or rule
        for basis in s.legal_basis:
            assert re.search(r"阳政办发|GEN-|DUST-|法|规定|办法|标准|GB |令|制度|方案", basis), (s.id, basis)
        assert any("阳政办发〔2024〕57号" in b for b in s.legal_basis), s.id
        for c in s.columns:
            assert c.label_zh and re.search(r"[\u4e00-\u9fff]", c.label_zh), (s.id, c.name)


def test_worry_list_documents_its_score():
    s = runner.get("worry-list")
    from loaders.truth import WORRY_WEIGHTS  # the truth's weights: the documented score is the one tested

    assert {c.name for c in s.columns} >= set(WORRY_WEIGHTS)
    for part, weight in WORRY_WEIGHTS.items():
        assert part in s.description_zh and part in s.description_en
        assert re.search(rf"{weight}\s*[×·*]\s*{part}|{part}\s*[，,].*权重 {weight}", s.description_zh + s.description_en) \
            or (weight == 1 and f"+ {part}" in s.description_zh)


def test_personal_columns_are_flagged():
    personal = personal_keys()
    assert {"principal", "phone", "responsible_person", "inspectors"} <= personal
    seen = set()
    for s in runner.load_catalogue():
        for c in s.columns:
            if c.name in personal:
                assert c.personal, (s.id, c.name)
                seen.add(c.name)
            if c.personal:
                assert not c.key
    assert seen == {"principal", "phone", "responsible_person", "inspectors"}


def _spec_dict(**over) -> dict:
    base = tomllib.loads(dict(pack_files())["use-changed.toml"])
    base.update(over)
    return base


def test_model_forbids_unknown_fields_and_bad_values():
    QuerySpec.model_validate(_spec_dict())
    with pytest.raises(ValidationError):
        QuerySpec.model_validate(_spec_dict(colour="red"))
    with pytest.raises(ValidationError):
        QuerySpec.model_validate(_spec_dict(severity="严重"))
    with pytest.raises(ValidationError):
        QuerySpec.model_validate(_spec_dict(cypher="MATCH (n) WHERE n.x = $nope RETURN n.tenancy_id AS tenancy_id"))
    cols = _spec_dict()["columns"] + [{"name": "phone", "label_zh": "联系电话"}]
    with pytest.raises(ValidationError, match="personal"):
        QuerySpec.model_validate(_spec_dict(columns=cols))
    with pytest.raises(ValidationError):
        QuerySpec.model_validate(_spec_dict(columns=[{**c, "key": False} for c in _spec_dict()["columns"]]))
    with pytest.raises(ValidationError):
        QuerySpec.model_validate(_spec_dict(sort=["no_such_column"]))
    with pytest.raises(ValidationError):
        QuerySpec.model_validate(_spec_dict(columns=[{"name": "tenancy_id", "label_zh": "租赁", "key": True,
                                                      "extra": 1}]))
    with pytest.raises(ValueError, match="file name"):
        parse_spec("other-name.toml", dict(pack_files())["use-changed.toml"])


# --- the common Cypher subset (docs/dialect-notes.md) -------------------------------------

FORBIDDEN = [
    (r"\bdate\(\s*\)", "date() without an argument"),
    (r"\b(datetime|localdatetime|timestamp|duration)\s*\(", "date/time functions"),
    (r"\[\s*\w+\s+IN\s+[^\]]*\|", "list comprehension"),
    (r"\[\s*\w+\s+IN\s+[^\]]*\bWHERE\b", "list comprehension"),
    (r"\blabels\s*\(", "labels()"), (r"\btype\s*\(", "type()"), (r"\b(id|elementId)\s*\(", "id()"),
    (r"\[\s*-?\d+\s*\]", "list index"), (r"\[\s*\d*\s*\.\.\s*\d*\s*\]", "list slice"),
    (r"\bsubstring\s*\(", "substring"), (r"\b(toString|toInteger|toFloat|split|head|last|reduce)\s*\(", "function missing in Ladybug"),
    (r"\bshortestPath|allShortestPaths|\bSHORTEST\b", "shortest path"),
    (r"\bCALL\s*\{|\bCOLLECT\s*\{", "CALL {} / COLLECT {}"),
    (r"\|\s*:", "[:A|:B]"), (r"\(\s*\w*\s*:\s*\w+\s*:\s*\w+", "(n:A:B)"),
    (r"\bFOREACH\b|\bMERGE\b|\bCREATE\b|\bDELETE\b|\bSET\b|\bREMOVE\b", "writes"),
    (r"\bORDER\s+BY\b", "ORDER BY (rows are sorted on the client)"),
    (r"\bSKIP\b|\bLIMIT\b", "SKIP/LIMIT"),
    (r"\bexists\s*\(", "exists() function"),
    (r"\bdate\s*\(\s*'", "date literal compared in Cypher"),
]


@pytest.mark.parametrize("qid", CATALOGUE_IDS)
def test_cypher_keeps_to_the_common_subset(qid):
    spec = runner.get(qid)
    text = re.sub(r"//[^\n]*", "", spec.expanded_cypher)
    code = re.sub(r"'(?:\\.|[^'\\])*'", "''", text)  # ignore string literals
    for rx, what in FORBIDDEN:
        assert not re.search(rx, code, re.I if what == "writes" else 0), f"{qid}: {what}"
    for m in re.finditer(r"\b(EXISTS|COUNT)\s*\{", code):
        assert re.match(r"\s*MATCH\b", code[m.end():]), f"{qid}: {m.group(1)} {{}} without MATCH"
    for m in re.finditer(r"\bround\s*\(", code):
        depth, i = 1, m.end()
        args = ""
        while depth:
            ch = code[i]
            depth += ch == "("
            depth -= ch == ")"
            args += ch if depth == 1 or ch not in "()" else ""
            i += 1
        assert "," in args, f"{qid}: round() needs its precision"
    for m in re.finditer(r"\*\s*(\d+)?\s*\.\.\s*(\d+)", code):
        assert int(m.group(2)) <= 30, f"{qid}: variable-length bound above 30"
    # one MATCH per anchor: no comma-joined patterns in a MATCH clause
    for m in re.finditer(r"\bMATCH\b([^\n]*)", code):
        clause = re.split(r"\bWHERE\b", m.group(1))[0]
        assert not re.search(r"\)\s*,\s*\(", clause), f"{qid}: comma-joined MATCH {clause!r}"
    # aggregating right after WITH … ORDER BY … LIMIT is a Ladybug trap: no ORDER BY at all (checked above)


def test_fold_macro_expands_and_matches_python():
    text = "MATCH (e:Enterprise)\nWITH e, e.address AS a\n  FOLD a KEEP e\nRETURN a"
    out = expand_macros(text)
    assert "FOLD" not in out and out.count("WITH e, replace(") >= 4
    assert out.splitlines()[2].startswith("  WITH e, ")
    with pytest.raises(ValueError):
        expand_macros("WITH e\nFOLD a\nRETURN a")
    with pytest.raises(ValueError):
        expand_macros("WITH e\nFOLD a KEEP a\nRETURN a")
    try:
        from loaders.values import fold_width
    except ImportError:  # the reader's helper
        fold_width = None
    for s in ("阳泉市 矿区　桃北中路１２号（Ａ座）", "A\tB\nC\u00a0D\u2003E", "ｘｙｚ／＃１", "plain"):
        expected = "".join((fold_width(s) if fold_width else s).split())
        if fold_width:
            assert fold_text(s) == expected
        assert not any(ch.isspace() for ch in fold_text(s))
    assert fold_text("阳泉市 矿区　桃北中路１２号（Ａ座）") == "阳泉市矿区桃北中路12号(A座)"


def test_fold_differs_macro_expands_and_refuses_malformed_lines():
    text = "MATCH (e:Enterprise)\nWITH e, e.address AS a, e.licensed_address AS b\n  FOLD_DIFFERS a, b AS d KEEP e\nRETURN d"
    out = expand_macros(text)
    assert "FOLD" not in out.replace("_fold_", "") and out.count("WITH e, replace(") >= 4
    assert all(line.startswith("  ") for line in out.splitlines()[2:-1] if line.lstrip().startswith("WITH"))
    for bad in ("WITH e\nFOLD_DIFFERS a AS d KEEP e\nRETURN d", "WITH e\nFOLD_DIFFERS a, b AS a KEEP e\nRETURN a",
                "WITH e\nFOLD_DIFFERS a, b AS d KEEP d\nRETURN d", "WITH e\nFOLD_DIFFERS a, b KEEP e\nRETURN d"):
        with pytest.raises(ValueError):
            expand_macros(bad)
    assert fold_differs("阳泉市 矿区　１２号", "阳泉市矿区12号") is False
    assert fold_differs("阳泉市１２号", "阳泉市13号") is True
    assert fold_differs("  ", "x") is False and fold_differs(None, "x") is False


def _adversarial_pairs() -> list[dict]:
    """Strings built from the separator and its escape, white space, full-width forms,
    combining marks, emoji, regional indicators and joiners, quotes and backslashes."""
    import random

    alphabet = ["\x01", "\x02", "\x01\x02", " ", "\u3000", "\t", "\n", "\r\n", "\xa0", "\u200a", "\x1c", "\x03",
                "Ａ", "A", "a", "１", "1", "\u0301", "😀", "\U0001F1E8", "\u200d", "阳", "'", "\\"]
    rng = random.Random(20240)
    pairs = []
    for i in range(1500):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        r = rng.random()
        if r < 0.3:
            b = a
        elif r < 0.6:  # the same after folding, or nearly
            b = a.replace("A", "Ａ").replace("1", "１") + rng.choice(["", " ", "\u3000", "x"])
        else:
            b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        pairs.append((a, b))
    pairs += [("\x01y", "\x02"), ("F\x01", ""), ("", "\x01\x01"), ("\x01", "\x01"), ("\x01\x01", "\x01"),
              ("x", "x\x01"), ("e\u0301", "\u0301"), ("\u0301", "\u0301"), ("😀", "😀 "), ("", ""), (" ", "x"),
              ("Ａ", "A"), ("\x01\u0301", "\x01\u0301"), ("\x01\x02", "\x01"), ("ab", "a\x01\x01b")]
    return [{"i": i, "a": a, "b": b} for i, (a, b) in enumerate(pairs)]


def test_fold_differs_matches_python_on_both_backends(graph):
    """FOLD_DIFFERS (one folded join instead of two folds) gives exactly fold_differs()."""
    text = expand_macros("UNWIND $pairs AS p\nWITH p.i AS i, p.a AS a, p.b AS b\nFOLD_DIFFERS a, b AS d KEEP i\n"
                         "RETURN i, d")
    pairs = _adversarial_pairs()
    rows = graph.read(text, {"pairs": pairs}).rows
    got = {r["i"]: r["d"] for r in rows}
    wrong = [(p["a"], p["b"], got.get(p["i"])) for p in pairs if got.get(p["i"]) is not fold_differs(p["a"], p["b"])]
    assert len(got) == len(pairs) and not wrong, wrong[:5]
    assert 0 < sum(got.values()) < len(pairs)


# --- parameters and ordering (runner) ---------------------------------------------------

def test_params_typed_validated_and_defaulted():
    spec = runner.get("dispatch-over-cap")
    assert runner.resolve_params(spec, {}) == {"cap": 0.10}
    assert runner.resolve_params(spec, {"cap": "0.25"}) == {"cap": 0.25}
    assert runner.resolve_params(spec, {"cap": "15%"}) == {"cap": 0.15}
    assert runner.resolve_params(spec, {"cap": 0.2}) == {"cap": 0.2}
    for bad in ("abc", "1.5", "-0.1", "nan", True):
        with pytest.raises(SitegraphError, match="cap"):
            runner.resolve_params(spec, {"cap": bad})
    with pytest.raises(SitegraphError, match="as_of"):
        runner.resolve_params(spec, {"as_of": "2025-01-01"})  # not a parameter of this query
    hz = runner.get("hazards-overdue")
    assert runner.resolve_params(hz, {}) == {"as_of": dt.date.today()}
    for text in ("2025-01-31", "2025/1/31", "2025.01.31", "20250131", "2025年1月31日"):
        assert runner.resolve_params(hz, {"as_of": text}) == {"as_of": dt.date(2025, 1, 31)}
    assert runner.resolve_params(hz, {"as_of": dt.datetime(2025, 1, 31, 8)}) == {"as_of": dt.date(2025, 1, 31)}
    for bad in ("2025-13-01", "yesterday", "31/01/2025", 20250131):
        with pytest.raises(SitegraphError, match="as_of"):
            runner.resolve_params(hz, {"as_of": bad})


def test_unknown_id_suggests_close_ones():
    with pytest.raises(SitegraphError, match="worry-list"):
        runner.get("worry-lst")
    with pytest.raises(SitegraphError, match="hazards-overdue"):
        runner.get("hazard-overdue")
    assert "nested-high-risk" in runner.suggest("nested")


def test_rows_ordered_on_the_client_none_last():
    spec = runner.get("major-hazards-open")  # sort: -overdue, deadline, hazard_id
    rows = [
        {"hazard_id": "H3", "overdue": False, "deadline": None},
        {"hazard_id": "H2", "overdue": True, "deadline": dt.date(2025, 1, 2)},
        {"hazard_id": "H1", "overdue": True, "deadline": dt.date(2025, 1, 2)},
        {"hazard_id": "H4", "overdue": False, "deadline": dt.date(2024, 1, 1)},
        {"hazard_id": "H0", "overdue": True, "deadline": dt.date(2024, 12, 1)},
    ]
    assert [r["hazard_id"] for r in runner.order_rows(spec, rows)] == ["H0", "H1", "H2", "H4", "H3"]


def test_docs_generated_from_the_metadata():
    from queries.docs import DEFAULT_OUT, render

    text = render()
    for s in runner.load_catalogue():
        assert f"## `{s.id}` — {s.title_zh}" in text
        assert s.description_zh in text and all(b in text for b in s.legal_basis)
        assert all(f"`{c.name}`" in text for c in s.columns)
    assert DEFAULT_OUT.exists(), "run `python -m queries.docs`"
    committed = DEFAULT_OUT.read_text(encoding="utf-8")
    for s in runner.load_catalogue():
        assert f"## `{s.id}` — {s.title_zh}" in committed, f"docs/queries.md is stale: {s.id}"
    # examples come from a run without personal data
    assert "**示例" in committed
    for name in ("principal", "phone", "responsible_person", "inspectors"):
        assert f"(`{name}`) |" not in committed


def test_every_pack_text_passes_the_read_only_plan_checks(graph):
    """The embedded backend runs the pack's texts without an EXPLAIN per call (the catalogue
    registers them with guard.trust_plan): prove here, on both engines, that every one of
    them passes both layers of the read-only guard, and that nothing else is trusted."""
    from graphmodel.backends import guard

    for spec in runner.load_catalogue():
        text = spec.expanded_cypher
        assert guard.plan_trusted(text), spec.id
        guard.check_text(text)
        values = runner.resolve_params(spec, None)
        if graph.kind == "embedded":
            plan = graph._conn.execute("EXPLAIN " + text, values)
            guard.check_ladybug_plan("\n".join(str(v) for row in plan.get_all() for v in row))
        else:
            with graph._session(write=False) as s:
                summary = s.run("EXPLAIN " + text, values).consume()
            assert summary.query_type == "r", spec.id
            guard.check_neo4j_plan(summary.plan)
    assert not guard.plan_trusted("MATCH (n:Enterprise) RETURN n.uscc AS uscc")
    assert not guard.plan_trusted(runner.get("use-changed").expanded_cypher + " ")
