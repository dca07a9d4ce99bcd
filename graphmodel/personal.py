"""Masking personal data in the results of ad-hoc queries (`sitegraph cypher`).

Prepared queries and briefings never ask for a personal property (schema.py flags them:
Enterprise.principal, Enterprise.phone, Hazard.responsible_person, Inspection.inspectors)
unless --include-personal is given. An ad-hoc query is free text, so its *result* is
masked instead, by this rule (docs/reliability.md):

1. A column is masked when the expression that produces it reads a personal property:
   `x.phone`, ``x.`phone` ``, `x['phone']`, or an alias defined (WITH/UNWIND/RETURN …
   AS name) from such an expression, followed through any number of aliases. Unaliased
   columns are named by their expression (`n.phone`, `collect(n.phone)`), so the name
   itself is checked too.
2. Inside any value, maps, nodes and relationships (a whole node returned, `properties(n)`,
   a path) have their personal keys masked, whatever the column.
3. A query that reads properties by a computed key (`n[k]`, `n[$p]`) cannot be checked:
   every column is masked.
4. A column is masked when its expression hands a whole node, relationship or path to
   anything but a safe function (count, collect, labels, id, properties, nodes, size …):
   Ladybug's `to_string(n)`, `cast(n AS STRING)`, `struct_extract(n, 'phone')` would
   otherwise print personal properties as plain text.

Masking never changes which rows come back, only the cells shown.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from .schema import personal_keys

MASK = "〔已隐藏〕"

_LEX = re.compile(
    r"(?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))"
    r"|(?P<str>'(?:[^'\\]|\\.)*(?:'|\Z)|\"(?:[^\"\\]|\\.)*(?:\"|\Z))"
    r"|(?P<quoted>`(?:[^`]|``)*(?:`|\Z))",
    re.S,
)


def _normalise_text(cypher: str) -> str:
    """Comments out; backticked names unquoted; string literals emptied unless they name a personal key."""

    def repl(m: re.Match) -> str:
        if m.group("comment"):
            return " "
        if m.group("quoted"):
            return m.group("quoted")[1:-1].replace("``", "`")
        lit = m.group("str")
        return lit if lit[1:-1] in personal_keys() else "''"  # kept only for n['phone']

    return _LEX.sub(repl, cypher)


def _personal_ref(keys: frozenset[str]) -> re.Pattern:
    alt = "|".join(sorted(map(re.escape, keys)))
    # .phone | ['phone'] | ["phone"]
    return re.compile(rf"\.\s*(?:{alt})\b|\[\s*['\"](?:{alt})['\"]\s*\]")


_KEYWORDS = frozenset({"IN", "RETURN", "WITH", "UNWIND", "AND", "OR", "XOR", "NOT", "WHERE", "THEN", "ELSE",
                       "WHEN", "CASE", "AS", "BY", "DISTINCT", "SET", "CONTAINS", "IS", "NULL", "END"})
_STATIC_INDEX = re.compile(r"\s*(?:-?\d+\s*(?:\.\.\s*-?\d*)?|\.\.\s*-?\d+|'[^']*'|\"[^\"]*\")\s*\]")


def _dynamic_subscript(text: str) -> bool:
    """`x[k]`, `x[$p]`, `x[toLower(…)]`: a subscript that is neither a number nor a literal key."""
    for m in re.finditer(r"\[", text):
        i = m.start() - 1
        if i < 0:
            continue
        ch = text[i]
        if ch in ")]":
            pass
        elif ch.isalnum() or ch == "_":
            w = re.search(r"[A-Za-z_]\w*$", text[: i + 1])
            if w is None or w.group(0).upper() in _KEYWORDS:
                continue
        else:
            continue  # a list literal or comprehension, not a subscript
        if not _STATIC_INDEX.match(text, m.end()):
            return True
    return False
_ALIAS = re.compile(r"\bAS\s+([A-Za-z_][\w]*)", re.I)
_CLAUSE = re.compile(r"\b(?:WITH|RETURN|UNWIND|WHERE|ORDER\s+BY|SKIP|LIMIT|MATCH|OPTIONAL|UNION)\b", re.I)
_DISTINCT = re.compile(r"^\s*DISTINCT\b", re.I)


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside brackets."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _alias_exprs(text: str) -> dict[str, list[str]]:
    """alias -> the expressions it is defined from (every `expr AS alias` in the text)."""
    out: dict[str, list[str]] = {}
    for m in _ALIAS.finditer(text):
        # the expression runs back to the previous clause keyword or top-level comma
        start = 0
        for c in _CLAUSE.finditer(text, 0, m.start()):
            start = c.end()
        segment = text[start : m.start()]
        expr = _DISTINCT.sub("", _split_top(segment)[-1])
        out.setdefault(m.group(1), []).append(expr)
    return out


# Functions that may take a whole node/relationship/path without revealing a property as
# text (their results are counted, or masked value by value: rule 2).
_SAFE_FUNCTIONS = frozenset({
    "count", "collect", "labels", "label", "id", "type", "length", "nodes", "relationships", "rels",
    "properties", "keys", "exists", "size", "startnode", "endnode", "start_node", "end_node", "elementid",
    "is_trail", "is_acyclic",
})
_GRAPH_VAR_RES = (
    re.compile(r"\(\s*([A-Za-z_]\w*)\s*(?=[:{]|\)\s*(?:-|<))"),  # (e:Label, (e {…}, (e)-, (e)<-
    re.compile(r"(?:-|>)\s*\(\s*([A-Za-z_]\w*)\s*(?=[:{)])"),  # -(e), ->(e:Label)
    re.compile(r"\b(?:MATCH|MERGE|CREATE)\s*\(\s*([A-Za-z_]\w*)\s*\)", re.I),  # MATCH (n)
    re.compile(r",\s*\(\s*([A-Za-z_]\w*)\s*\)\s*(?=,|\bWHERE\b|\bRETURN\b|\bWITH\b|$)", re.I),
    re.compile(r"-\s*\[\s*([A-Za-z_]\w*)\s*(?=[:*\]{])"),  # -[r:TYPE]-
    re.compile(r"\b([A-Za-z_]\w*)\s*=\s*(?:shortestPath\s*\(|allShortestPaths\s*\()?\s*\("),  # p = (…)
)


def _graph_vars(text: str, aliases: dict[str, list[str]]) -> set[str]:
    """Variables bound to nodes, relationships or paths (and aliases of them)."""
    out = {m.group(1) for rx in _GRAPH_VAR_RES for m in rx.finditer(text)}
    changed = True
    while changed:
        changed = False
        for name, exprs in aliases.items():
            if name not in out and any(e.strip() in out for e in exprs):
                out.add(name)
                changed = True
    return out


def _stringifies(expr: str, graph_vars: set[str]) -> bool:
    """A whole graph variable used in an expression other than itself or a safe function:
    `to_string(e)`, `cast(e AS STRING)`, `struct_extract(e, k)` … could print any property."""
    e = expr.strip()
    if e in graph_vars:
        return False
    for v in graph_vars:
        for m in re.finditer(rf"(?<![\w.$:]){re.escape(v)}\b(?!\s*[.\[])", e):
            call = re.search(rf"(\w+)\s*\(\s*(?:DISTINCT\s+)?{re.escape(v)}\s*\)$", e[: m.end()] + ")"
                             if e[m.end():].lstrip().startswith(")") else "", re.I)
            if call is None or call.group(1).lower() not in _SAFE_FUNCTIONS:
                return True
    return False


def personal_columns(cypher: str, columns: Sequence[str], params: dict | None = None) -> set[str]:
    """The result columns that rules 1, 3 and 4 mask."""
    keys = personal_keys()
    text = _normalise_text(cypher)
    if _dynamic_subscript(text):  # rule 3
        return set(columns)
    ref = _personal_ref(keys)
    literal = re.compile(r"['\"](?:" + "|".join(sorted(map(re.escape, keys))) + r")['\"]")
    personal_params = [k for k, v in (params or {}).items() if isinstance(v, str) and v.strip() in keys]
    aliases = _alias_exprs(text)
    graph_vars = _graph_vars(text, aliases)

    def reads_personal(expr: str, tainted: set[str]) -> bool:
        return bool(
            ref.search(expr) or literal.search(expr)  # x.phone, x['phone'], struct_extract(x, 'phone')
            or any(re.search(rf"\${re.escape(p)}\b", expr) for p in personal_params)  # x[$k] with k=phone
            or _stringifies(expr, graph_vars)  # to_string(x), cast(x AS STRING)
            or any(re.search(rf"(?<![\w.$]){re.escape(t)}\b", expr) for t in tainted)
        )

    tainted: set[str] = set()
    changed = True
    while changed:  # fixpoint over alias chains
        changed = False
        for name, exprs in aliases.items():
            if name not in tainted and any(reads_personal(e, tainted) for e in exprs):
                tainted.add(name)
                changed = True
    return {c for c in columns if c in tainted or c in keys or reads_personal(c, tainted)}


def _mask_value(v: Any, keys: frozenset[str]) -> Any:
    if isinstance(v, dict):
        return {k: (MASK if k in keys and x is not None else _mask_value(x, keys)) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_mask_value(x, keys) for x in v]
    # neo4j graph types (Node, Relationship, Path) reach here unconverted
    mod = type(v).__module__ or ""
    if mod.startswith("neo4j"):
        nodes = getattr(v, "nodes", None)
        if nodes is not None and not hasattr(v, "items"):  # a Path
            return [_mask_value(dict(n.items()), keys) for n in nodes]
        if hasattr(v, "items"):
            return _mask_value(dict(v.items()), keys)
    return v


def mask_rows(cypher: str, columns: Sequence[str], rows: Iterable[dict],
              params: dict | None = None) -> tuple[list[dict], set[str]]:
    """Rows with personal data masked (rules 1–3), and the names of the masked columns."""
    keys = personal_keys()
    cols = personal_columns(cypher, columns, params)
    out = []
    for r in rows:
        out.append({c: (MASK if c in cols and v is not None else _mask_value(v, keys)) for c, v in r.items()})
    return out, cols
