"""Parties as they really are (docs/parties.md): without a USCC, merged when a code turns up.

A 企业 row is keyed by its USCC or else by its 临时编码 (`provisional_id`); the record's
`uscc` property holds that key, so every query treats a provisional party like any other.
A row with both codes merges the provisional record into the USCC record: the 临时编码
becomes one of the record's `aliases`, and a reference to it — in this ledger or a later
one — resolves to the USCC record. graphmodel/parties.py moves the relationships and
writes the merge into history.

`party_row` checks one row (loaders/rows.py); `resolve_parties` works across the ledger
and the graph (loaders/validate.py) and returns the merges the writer applies.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from graphmodel.schema import NODE_TYPES

from .values import is_blank

PARTY = "Enterprise"
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # GB 11643: 2^(18-i) mod 11, i = 1..17
ID_CHECK = "10X98765432"  # check character for (sum mod 11) = 0..10


def is_identity_number(text: str | None) -> bool:
    """18 characters passing the GB 11643 check (a resident identity number)."""
    if not text:
        return False
    t = text.strip().upper()
    if len(t) != 18 or not t[:17].isascii() or not t[:17].isdigit():
        return False
    return ID_CHECK[sum(int(c) * w for c, w in zip(t[:17], ID_WEIGHTS)) % 11] == t[17]


def mask_person(name: str | None) -> str | None:
    """A natural person's name as shown without --include-personal: the first character, then ＊."""
    if not name:
        return name
    return name[0] + "＊" * max(1, len(name) - 1)


def party_row(values: dict[str, Any], cells: dict[str, Any]) -> list[tuple[str, str, dict]]:
    """Check one 企业 row in place: the key is the USCC or else the 临时编码; a 自然人's name
    goes to the personal `person_name`. Returns (column, code, params) problems."""
    problems: list[tuple[str, str, dict]] = []
    uscc, pid = values.get("uscc"), values.get("provisional_id")
    if uscc is None and pid is None and is_blank(cells.get("uscc")) and is_blank(cells.get("provisional_id")):
        problems.append(("uscc", "PARTY_KEY_REQUIRED", {}))
    if pid is not None and is_identity_number(pid):
        problems.append(("provisional_id", "PROVISIONAL_ID_NUMBER", {}))
        values["provisional_id"] = pid = None
    if uscc is None and pid is not None and is_blank(cells.get("uscc")):
        values["uscc"] = pid
    if values.get("party_kind") == "自然人" and values.get("name"):
        values["person_name"] = values["name"]
        values["name"] = mask_person(values["name"])
    return problems


def is_provisional(rec: dict) -> bool:
    """Keyed by its 临时编码 (no USCC)."""
    return rec.get("provisional_id") is not None and rec.get("uscc") == rec.get("provisional_id")


# References to a party, by label: (label, column key).
PARTY_REFS: tuple[tuple[str, str], ...] = tuple(
    (nt.label, c.key) for nt in NODE_TYPES for c in nt.refs if c.ref == PARTY)

Q_ALIASES = f"MATCH (e:{PARTY}) WHERE e.aliases IS NOT NULL RETURN e.uscc AS k, e.aliases AS a"


def graph_aliases(graph) -> dict[str, str]:
    """临时编码 -> the key of the record it was merged into."""
    out: dict[str, str] = {}
    if graph is None:
        return out
    for r in graph.read(Q_ALIASES, timeout=None).rows:
        for a in r["a"] or ():
            out[a] = r["k"]
    return out


def resolve_parties(entries: dict[str, list], ctx) -> list[dict]:
    """Across the ledger and the graph: duplicate and taken 临时编码, merges, aliases on the
    USCC records, references to an alias rewritten to its record. Merged provisional rows of
    this ledger leave `entries` (their values go to history with the merge). Returns the
    merges: [{"into": USCC, "other": 临时编码, "row": the provisional row's record or None}]."""
    ents = entries.get(PARTY) or []
    alias_of = graph_aliases(ctx.graph)
    provisional: dict[str, Any] = {}  # 临时编码 -> its provisional-only row
    merging: dict[str, Any] = {}  # 临时编码 -> the row that gives it a USCC
    for e in ents:
        u, p = e.values.get("uscc"), e.values.get("provisional_id")
        if p is None or u is None:
            continue
        seen = provisional if u == p else merging
        if p in seen:
            ctx.add("PROVISIONAL_DUPLICATE", e, "provisional_id", first_row=seen[p].row)
            if u == p:
                e.values["uscc"] = None  # reported here, not again as a duplicate key
            continue
        seen[p] = e
    merges: list[dict] = []
    drop: set[int] = set()
    new_aliases: dict[str, set] = defaultdict(set)
    for p, e in merging.items():
        u = e.values["uscc"]
        if alias_of.get(p, u) != u:
            ctx.add("MERGE_ALIAS_TAKEN", e, "provisional_id", other=alias_of[p])
            continue
        if u in alias_of:
            ctx.add("MERGE_USCC_IS_ALIAS", e, "uscc", other=alias_of[u])
            continue
        row = provisional.get(p)
        if row is not None:
            drop.add(id(row))
        if alias_of.get(p) == u and row is None:
            continue  # merged by an earlier load: the alias stays, nothing to move
        merges.append({"into": u, "other": p, "row": row})
        new_aliases[u].add(p)
    for p, e in provisional.items():
        if p in alias_of:  # merged before: the row names a record that has its USCC now
            drop.add(id(e))
            ctx.add("PROVISIONAL_MERGED", e, "provisional_id", other=alias_of[p])
    amap = dict(alias_of)
    amap.update({m["other"]: m["into"] for m in merges})
    # every record of the ledger keeps the aliases it has in the graph, plus this ledger's
    known: dict[str, list] = defaultdict(list)
    for a, k in alias_of.items():
        known[k].append(a)
    kept = []
    for e in ents:
        if id(e) in drop:
            continue
        k = e.values.get("uscc")
        al = set(known.get(k, ())) | new_aliases.get(k, set())
        e.values["aliases"] = sorted(al) or None
        kept.append(e)
    if ents:
        entries[PARTY] = kept
    if amap:
        for label, col in PARTY_REFS:
            for e in entries.get(label) or ():
                v = e.values.get(col)
                if v in amap:
                    e.values[col] = amap[v]
    for m in merges:
        if m["row"] is not None:
            r = m["row"]
            m["row"] = {**r.values, "src_file": r.sheet.file, "src_sheet": r.sheet.sheet, "src_row": r.row}
    return merges


def unresolved_party(value: str) -> bool:
    """A party reference that is no USCC at all (reported as an unknown 临时编码)."""
    from .values import normalise_uscc, uscc_form_problem

    return uscc_form_problem(normalise_uscc(value)) is not None


__all__ = ["is_identity_number", "mask_person", "party_row", "is_provisional", "resolve_parties", "PARTY_REFS",
           "graph_aliases", "unresolved_party"]
