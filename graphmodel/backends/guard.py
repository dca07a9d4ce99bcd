"""The read-only guard: what may run through `Backend.read` (prepared queries, `sitegraph
cypher`, briefings).

A read-only database (LadybugDB `read_only=True`) or a read session plus EXPLAIN's query
type (Neo4j) already refuse statements that change the graph. They do not refuse
statements that are "reads" for the engine but act outside the graph, found by probing:

- LadybugDB in read-only mode still runs `LOAD FROM '/etc/passwd' (file_format='csv', …)`
  (reads any local file, also after `WITH`), `COPY (…) TO 'file'` (writes a file),
  `EXPORT DATABASE` (writes a folder), `INSTALL ext` (downloads code), `CALL threads=…`
  (changes settings), and `CHECKPOINT`, which leaves a `.shadow` file behind that stops
  every later read-only open ("checkpoint recovery is pending") until a writer opens it.
- Neo4j calls `LOAD CSV FROM 'http://…'` a read (a request to any host the server can
  reach; `file:///` too unless the server forbids it), and `TERMINATE TRANSACTIONS`
  (kills other users' work, a load for one), `SHOW TRANSACTIONS YIELD *` (other users'
  query parameters) and procedures such as `db.stats.collect` read-only as well.

So two checks run before a statement executes, both refusing with ReadOnlyViolation:
1. `check_text`: a lexical check (comments, strings and quoted names removed first) that
   refuses a second statement and every clause keyword that is not part of a read.
   It runs before the engine sees the text: EXPLAIN is not free of effects — binding
   `LOAD FROM` opens the file, binding `EXPORT DATABASE` creates the folder.
2. `check_ladybug_plan` / `check_neo4j_plan`: the engine's own EXPLAIN plan, walked for
   operators that are not plain reads (COPY TO, transactions, settings, extensions,
   table functions outside a short list; LoadCSV, administration commands, procedures
   outside a short list).
"""
from __future__ import annotations

import re

from ..errors import ReadOnlyViolation

# Clause keywords that never belong to a read of the graph (both dialects).
FORBIDDEN_KEYWORDS = frozenset({
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "ALTER", "FOREACH",
    "LOAD", "COPY", "INSTALL", "UNINSTALL", "ATTACH", "USE", "EXPORT", "IMPORT",
    "CHECKPOINT", "BEGIN", "COMMIT", "ROLLBACK", "TERMINATE", "GRANT", "DENY", "REVOKE",
    "RENAME", "COMMENT", "TRANSACTIONS",
})

_LEX = re.compile(
    r"""
    (?P<line>//[^\n]*)
  | (?P<block>/\*.*?(?:\*/|\Z))
  | (?P<str>'(?:[^'\\]|\\.|'')*(?:'|\Z)|"(?:[^"\\]|\\.|"")*(?:"|\Z))
  | (?P<quoted>`(?:[^`]|``)*(?:`|\Z))
    """,
    re.S | re.X,
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _strip(cypher: str) -> str:
    """Comments become a space, strings a neutral literal, quoted names a neutral name."""

    def repl(m: re.Match) -> str:
        if m.group("str"):
            return " '' "
        if m.group("quoted"):
            return " `q` "
        return " "

    return _LEX.sub(repl, cypher)


def _refuse(zh: str, en: str | None = None) -> ReadOnlyViolation:
    return ReadOnlyViolation(
        f"只读查询只能读取图谱，不允许{zh} / read-only: queries may only read the graph; {en or zh} is not allowed"
    )


def check_text(cypher: str) -> None:
    """Refuse a text that holds more than one statement or a non-read clause keyword."""
    text = _strip(cypher)
    body = text.strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    if ";" in body:
        raise ReadOnlyViolation("一次只能执行一条语句 / one statement per call")
    prev = ""
    for m in _WORD.finditer(body):
        word = m.group(0)
        up = word.upper()
        before = body[: m.start()].rstrip()[-1:]
        after = body[m.end():].lstrip()[:1]
        # property (n.set), label/type (:Set), parameter ($set), alias (AS set),
        # variable or map key (set.x, set:Label, {set: 1}) are names, not clauses
        is_name = before in (".", ":", "$") or after in (".", ":") or prev == "AS"
        prev = up
        if up in FORBIDDEN_KEYWORDS and not is_name:
            raise _refuse(f" {up}", up)
        if up == "CALL" and re.match(r"\s*[A-Za-z_][A-Za-z0-9_.]*\s*=", body[m.end():]):
            raise _refuse("修改设置（CALL x=…）", "changing settings (CALL x=…)")


# --- texts whose plan is known to be a plain read ---------------------------------------
# The prepared query pack ships with the package and every one of its texts is tested to
# pass both plan checks (tests/test_catalogue.py); queries.catalogue registers its expanded
# texts here when it loads. The embedded backend then skips only the EXPLAIN for exactly
# these texts (the text check still runs): a LadybugDB EXPLAIN compiles the whole statement
# again and renders its plan, which doubled the cost of running the pack's long queries.
_PLAN_CHECKED: set[str] = set()


def trust_plan(text: str) -> None:
    """Record a text whose EXPLAIN plan is known to pass (only for texts shipped and tested)."""
    _PLAN_CHECKED.add(text)


def plan_trusted(text: str) -> bool:
    return text in _PLAN_CHECKED


# --- LadybugDB ---------------------------------------------------------------------------
# Physical operators of Ladybug 0.22 that act outside a plain read.
LADYBUG_FORBIDDEN_OPS = frozenset({
    "COPY_TO", "COPY_FROM", "COPY_NODE", "COPY_REL", "TRANSACTION", "INSTALL_EXTENSION",
    "UNINSTALL_EXTENSION", "LOAD_EXTENSION", "USE_DATABASE", "USE_GRAPH", "EXPORT_DATABASE",
    "IMPORT_DATABASE", "ATTACH_DATABASE", "DETACH_DATABASE", "STANDALONE_CALL", "CREATE_MACRO",
    "INSERT", "MERGE", "SET_PROPERTY", "DELETE", "CREATE_TABLE", "DROP", "ALTER",
})
# Table functions a read may use: the internal one of UNWIND/RETURN, and introspection.
# Everything else is refused: file and Python-object readers (READ_CSV_*, READ_PARQUET,
# READ_NPY, READ_PANDAS …), and functions that change session state (CLEAR_WARNINGS,
# PROJECT_GRAPH, DROP_PROJECTED_GRAPH, _CACHE_ARRAY_COLUMN_LOCALLY …).
LADYBUG_ALLOWED_FUNCTIONS = frozenset({
    "READ_FTABLE", "TABLE_INFO", "CURRENT_SETTING", "DB_VERSION", "CATALOG_VERSION", "STORAGE_VERSION",
    "STATS_INFO", "STORAGE_INFO", "BM_INFO", "FSM_INFO", "DISK_INFO", "DISK_SIZE_INFO", "FILE_INFO",
    "PROJECTED_GRAPH_INFO",
})
_LB_OP = re.compile(r"│\s*([A-Z][A-Z_]+)\[\d+\]\s*│")
_LB_FN = re.compile(r"Function:\s*([A-Za-z_0-9]+)")


def check_ladybug_plan(plan_text: str) -> None:
    for op in _LB_OP.findall(plan_text):
        if op in LADYBUG_FORBIDDEN_OPS:
            raise _refuse(f" {op}", op)
    for fn in _LB_FN.findall(plan_text):
        fn = fn.upper()
        if fn not in LADYBUG_ALLOWED_FUNCTIONS and not fn.startswith("SHOW_"):
            raise _refuse(f"调用表函数 {fn}（读取文件或改变会话状态）", f"the table function {fn}")


# --- Neo4j -------------------------------------------------------------------------------
# Procedures a read may call: schema introspection only.
NEO4J_ALLOWED_PROCEDURES = frozenset({
    "db.labels", "db.relationshipTypes", "db.propertyKeys", "db.schema.visualization",
    "db.schema.nodeTypeProperties", "db.schema.relTypeProperties",
})


def check_neo4j_plan(plan: dict | None) -> None:
    """Walk an EXPLAIN plan (the driver's dict form) for non-read operators."""
    if not plan:
        return
    stack = [plan]
    while stack:
        p = stack.pop()
        op = str(p.get("operatorType", "")).split("@", 1)[0]
        if op == "LoadCSV":
            raise _refuse(" LOAD CSV", "LOAD CSV")
        if op.startswith(("Show", "Terminate")) or op.endswith(("Command", "Administration")):
            raise _refuse(f"管理命令 {op}", f"the administration command {op}")
        if op in ("ProcedureCall", "EagerProcedureCall"):
            details = str((p.get("args") or {}).get("Details", ""))
            name = details.split("(", 1)[0].strip()
            if name not in NEO4J_ALLOWED_PROCEDURES:
                raise _refuse(f"调用过程 {name}", f"the procedure {name}")
        stack.extend(p.get("children") or [])
