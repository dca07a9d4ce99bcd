"""Parties given by name in reference cells (real-ledgers.md): 出租方 `阳泉华鑫耐火材料有限公司`
where a USCC is expected.

`resolve_party_names(entries, ctx)` is one pass of loaders/validate.py, run before the
party keys and aliases are resolved (loaders/parties.py) and before the reference checks:
a cell of a column that references a party (出租方, 承租方, 产权单位, 企业, 被检查企业, …) whose
value is no known key — not a key or 临时编码 of the ledger's 企业 sheet, not a key or alias
in the graph — and is not shaped like a USCC is taken as a party's name. Names are compared
after folding white space and full-width forms (and case):

- exactly one party of that name in the ledger or the graph: the cell names that party
  (one PARTY_BY_NAME warning per sheet and column says how many cells were read so);
- several: PARTY_NAME_AMBIGUOUS, listing them (name and code);
- none: PARTY_NAME_UNKNOWN, saying where to register it (a value with ASCII digits is more
  likely a mistyped 临时编码: it is left to the reference check, which says so).

A record of the ledger stands for itself in the graph: a graph party with the same key is
the same party (the ledger's name wins). The graph is read only when some cell needs it.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from graphmodel.schema import NODES, NodeType

from .values import header_key, normalise_uscc, uscc_form_problem

PARTY = "Enterprise"
SHOW = 5  # parties listed in an ambiguity message

_Q_NAMES = f"MATCH (e:{PARTY}) RETURN e.uscc AS k, e.name AS n"
_Q_ALIASES = f"MATCH (e:{PARTY}) WHERE e.aliases IS NOT NULL RETURN e.uscc AS k, e.aliases AS a"


def fold_name(name: Any) -> str:
    """A party name as compared: white space removed, full width folded, case lowered."""
    return header_key(name)


def _looks_like_code(v: str) -> bool:
    """Shaped like a USCC (18 characters of its alphabet): a code, never a name."""
    if not v.isascii() and not any("\uff01" <= ch <= "\uff5e" for ch in v):  # Chinese text, no full-width code
        return False
    return uscc_form_problem(normalise_uscc(v)) is None


def _code_like(v: str) -> bool:
    """Has ASCII digits: more likely a mistyped code (a 临时编码) than a name, when no party has it
    as a name; reported by the reference check (loaders/validate.py) as an unknown code."""
    return any("0" <= ch <= "9" for ch in v)


def _party_columns(nt: NodeType) -> list[str]:
    return [c.key for c in nt.refs if c.ref == PARTY and c.kind.value == "ref"]


def _ledger_keys(entries: dict) -> set:
    """Every key and 临时编码 of the ledger's 企业 rows."""
    keys = {e.values.get("uscc") for e in entries.get(PARTY) or ()}
    keys |= {e.values.get("provisional_id") for e in entries.get(PARTY) or ()}
    keys.discard(None)
    return keys


def _ledger_names(entries: dict) -> dict[str, dict[str, str]]:
    """Folded name -> {key: name} of the ledger's 企业 rows (built only when a cell needs it)."""
    names: dict[str, dict[str, str]] = defaultdict(dict)
    for e in entries.get(PARTY) or ():
        k = e.values.get("uscc")
        if k is None:
            continue
        for n in (e.values.get("person_name"), e.values.get("name")):  # a 自然人's name is masked in `name`
            if n:
                names[fold_name(n)][k] = n
    return names


def resolve_party_names(entries: dict, ctx) -> None:
    """Rewrite party references given by name to the party's key, in place (see above)."""
    from graphmodel.writer import existing_keys

    local = _ledger_keys(entries)
    pending: list[tuple[Any, str, str]] = []  # (row, column, value) of values that are no ledger key
    code: dict[str, bool] = {}  # value -> shaped like a code (values repeat: a party is named often)
    for label, es in entries.items():
        cols = _party_columns(NODES[label])
        if not cols:
            continue
        for e in es:
            vals = e.values
            for c in cols:
                v = vals.get(c)
                if v is None or v in local:
                    continue
                is_code = code.get(v)
                if is_code is None:
                    is_code = code[v] = _looks_like_code(v)
                if not is_code:
                    pending.append((e, c, v))
    if not pending:
        return
    by_name = _ledger_names(entries)
    graph = ctx.graph
    if graph is not None:  # keys and aliases in the graph are codes, not names
        wanted = sorted({v for _, _, v in pending})
        known = existing_keys(graph, PARTY, wanted)
        if "aliases" in NODES[PARTY].data_keys:  # 临时编码 merged into a record (loaders/parties.py)
            asked = set(wanted)
            for r in graph.read(_Q_ALIASES, timeout=None).rows:
                known.update(a for a in r["a"] or () if a in asked)
        pending = [p for p in pending if p[2] not in known]
        if pending:
            for r in graph.read(_Q_NAMES, timeout=None).rows:
                if r["n"] and r["k"] not in local:  # a record of the ledger: its name there wins
                    by_name[fold_name(r["n"])].setdefault(r["k"], r["n"])
    used: dict[tuple, list] = {}  # (sheet, column) -> [count, example name, its key]
    folded: dict[str, str] = {}
    for e, c, v in pending:
        f = folded.get(v)
        if f is None:
            f = folded[v] = fold_name(v)
        hits = by_name.get(f, {})
        if len(hits) == 1:
            (k,) = hits
            e.values[c] = k
            used.setdefault((id(e.sheet), c), [0, e, c, v, k])[0] += 1
        elif hits:
            listed = "；".join(f"{n}（{k}）" for k, n in sorted(hits.items())[:SHOW])
            listed_en = "; ".join(f"{n} ({k})" for k, n in sorted(hits.items())[:SHOW])
            more = len(hits) - SHOW
            ctx.add("PARTY_NAME_AMBIGUOUS", e, c, value=v, count=len(hits),
                    parties=listed + (" 等" if more > 0 else ""), parties_en=listed_en + (" …" if more > 0 else ""))
            e.values[c] = None  # reported here, not again as an unknown reference
        elif not _code_like(v):
            ctx.add("PARTY_NAME_UNKNOWN", e, c, value=v)
            e.values[c] = None  # reported here, not again as an unknown reference
        # else: a code of some kind (LS-荫营镇-0007) that is not known: the reference check says so
    for count, e, c, v, k in used.values():  # one note per sheet and column, at its first such cell
        ctx.problems.append(_by_name(e, e.sheet.nt.column(c), count, v, k))


def _by_name(e, col, count: int, name: str, key: str):
    from .messages import Problem

    return Problem("PARTY_BY_NAME", e.sheet.file, e.sheet.sheet, e.row, column=col.key, header=col.header,
                   value=name, label=e.sheet.nt.label, col_index=e.sheet.columns.get(col.key),
                   params={"count": count, "key": key, "header_zh": col.header, "header_en": col.key})
