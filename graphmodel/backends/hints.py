"""Database error messages as the user can act on them.

The read path checks a statement with `EXPLAIN <text>` before it runs it (guard.py), so the
engines' syntax errors quote a text the user did not type, with positions shifted by the
prefix. `user_text()` gives the message back in terms of the user's own text; `did_you_mean()`
adds the closest schema names to an unknown label, relationship type or property.
"""
from __future__ import annotations

import re

from ..schema import NODES, RELS, all_props, suggest_names

EXPLAIN = "EXPLAIN "


def user_text(msg: str, prefix: str = EXPLAIN) -> str:
    """`msg` about `prefix + text`, rewritten about `text`: the echoed line and its caret,
    LadybugDB's "(line: 1, offset: N)", Neo4j's "(line 1, column C (offset: O))" (its offset
    counts from the start of the text, so it shifts on every line) and "<EXPLAIN …>" echoes."""
    n = len(prefix)

    def minus(mm: re.Match, floor: int = 0) -> str:
        return f"{mm.group(1)}{max(int(mm.group(2)) - n, floor)}"

    out: list[str] = []
    caret_next = False
    for line in msg.split("\n"):
        if caret_next and re.fullmatch(r"\s*\^+\s*", line):
            out.append(line[n:] if line.startswith(" " * n) else line.lstrip())
            caret_next = False
            continue
        caret_next = False
        body = line.lstrip()
        lead = line[: len(line) - len(body)]
        for q in ('"', "'", ""):
            if body.startswith(q + prefix):
                line, caret_next = lead + q + body[len(q) + n:], True
                break
        line = line.replace("<" + prefix, "<").replace("'" + prefix, "'")
        line = re.sub(r"(\(line: 1, offset: )(\d+)", minus, line)
        line = re.sub(r"(\(line 1, column )(\d+)", lambda mm: minus(mm, 1), line)
        line = re.sub(r"(\(line \d+, column \d+ \(offset: )(\d+)", minus, line)
        out.append(line)
    return "\n".join(out)


# (pattern, kind of name) for the engines' "unknown name" messages.
_UNKNOWN = (
    (re.compile(r"Table (\w+) does not exist"), "table"),  # LadybugDB: a node or relationship table
    (re.compile(r"Cannot find property (\w+) for"), "property"),  # LadybugDB
    (re.compile(r"The label `(\w+)` does not exist"), "label"),  # Neo4j notifications (GQL status 01N5x)
    (re.compile(r"The relationship type `(\w+)` does not exist"), "rel"),
    (re.compile(r"The property `(\w+)` does not exist"), "property"),
)


def did_you_mean(msg: str) -> str:
    """A "did you mean" sentence (Chinese / English) for the first unknown name in `msg`
    that is close to a schema name; empty when there is none."""
    for rx, kind in _UNKNOWN:
        m = rx.search(msg)
        if not m:
            continue
        name = m.group(1)
        kinds = (("rel", "label") if name.isupper() else ("label", "rel")) if kind == "table" else (kind,)
        if kind == "table" and any(known(name, k) for k in kinds):
            return (f"图谱结构中有 {name}，但此数据库还没有（结构版本较旧？运行 sitegraph init 升级）/ "
                    f"{name} is in the schema but not in this store yet (older schema? run `sitegraph init`)")
        close = next((c for k in kinds if (c := suggest_names(name, k))), [])
        if close:
            alts = "、".join(close)
            return f"是否为 {alts}？/ did you mean {' or '.join(close)}?"
    return ""


def unknown_names(msg: str) -> list[tuple[str, str]]:
    """(kind, name) of every unknown name a message reports."""
    out = []
    for rx, kind in _UNKNOWN:
        out += [(kind, m.group(1)) for m in rx.finditer(msg)]
    return out


def known(name: str, kind: str) -> bool:
    """Whether `name` is a label / relationship type / property key of the schema."""
    if kind == "label":
        return name in NODES
    if kind == "rel":
        return name in RELS
    return any(name == k for nt in NODES.values() for k, _, _ in all_props(nt))


def closest(value: str, choices, n: int = 3) -> list[str]:
    """The choices closest to a mistyped value that is not a schema name (a county given to
    `dedupe --county` …): those containing it or contained in it first, then difflib's."""
    import difflib

    names = sorted(set(choices))
    close = [c for c in names if value and (value in c or c in value)]
    close += [c for c in difflib.get_close_matches(value, names, n=n, cutoff=0.3) if c not in close]
    return close[:n]
