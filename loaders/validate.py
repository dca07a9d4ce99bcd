"""Checking a whole survey: every row through its model, then the checks across rows,
sheets and the graph.

`check_survey(survey, graph)` returns a `Checked`: the records ready for
graphmodel.writer.write_survey (typed values plus src_file/src_sheet/src_row) and every
problem found. Records are handed over only when there is no error at all, so a survey
is loaded whole or not at all.

The checks across rows are declared as data (RULES below) naming schema keys, plus the
few that need the graph: references must resolve within the survey or to records already
in the graph; a lessor must own the building or hold a lease on it; site parents and
lease chains must not loop, also through records already in the graph. The graph is
only read (parameterised, read-only Cypher).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from graphmodel.backends.base import Backend
from graphmodel.schema import NODES, Kind, NodeType
from graphmodel.writer import existing_keys

from .keys import PENDING, derive_keys, derives_key
from .messages import NOT_IMPORTED, Problem, sort_key
from .party_names import resolve_party_names
from .parties import resolve_parties, unresolved_party
from .readers import SheetData, Survey
from .columnar import check_rows, paused_gc, rowwise
from .rows import check_row
from .values import display, is_blank, uscc_check_char

CHUNK = 5000
COLUMN_BLOCK = 20000  # rows checked column by column at once (loaders/columnar.py)

Progress = Callable[[str, int, "int | None"], None]

# --- declared row rules (schema keys; checked at import) --------------------------------

# (label, column, other column): the two must name different parties.
DIFFERENT = (("Tenancy", "lessee_uscc", "lessor_uscc"), ("Contract", "contractor_uscc", "client_uscc"))
# (label, column, other column): at least one of the two is filled.
AT_LEAST_ONE = (("Contract", "building_id", "site_id"),)
# (label, later column, earlier column): later >= earlier when both are set.
NOT_BEFORE = (("Tenancy", "end_date", "start_date"), ("Contract", "end_date", "start_date"),
              ("Hazard", "rectified_on", "found_on"), ("Hazard", "accepted_on", "found_on"),
              ("Hazard", "delisted_on", "supervised_on"))
# (label, column, condition column, condition value): column required when condition holds.
REQUIRED_WHEN = (("Hazard", "closed_on", "status", "已销号"),)
# (label, column, other column): column required when the other one is filled.
REQUIRED_WITH = (("Hazard", "accepted_on", "acceptance"),)
# (label, column, condition column, condition value): column must stay blank when condition holds.
BLANK_WHEN = (("Hazard", "supervision_level", "supervised", False), ("Hazard", "supervised_on", "supervised", False),
              ("Hazard", "supervision_deadline", "supervised", False))
_ROW_RULES = (DIFFERENT, AT_LEAST_ONE, NOT_BEFORE, REQUIRED_WHEN, REQUIRED_WITH, BLANK_WHEN)


def _check_rules() -> None:
    for rules in _ROW_RULES:
        for label, *cols in rules:
            for c in cols[:2]:
                NODES[label].column(c)


_check_rules()


@dataclass
class Entry:
    """One data row that was read: its values (None where unreadable) and where it is."""

    sheet: SheetData
    row: int
    values: dict[str, Any]
    raw: dict[str, Any]

    @property
    def key(self) -> Any:
        return self.values.get(self.sheet.key)


@dataclass
class SheetSummary:
    label: str
    file: str
    sheet: str
    rows: int = 0


@dataclass
class Checked:
    """The outcome of checking a survey."""

    name: str  # default source name
    problems: list[Problem] = field(default_factory=list)
    sheets: list[SheetSummary] = field(default_factory=list)
    records: dict[str, list[dict]] = field(default_factory=dict)  # filled only when there is no error
    graph_checked: bool = False
    merges: list[dict] = field(default_factory=list)  # provisional parties given a USCC (loaders/parties.py)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.sheets)

    @property
    def not_imported(self) -> list[Problem]:
        """Columns and sheets that held data and were not imported (表/列未导入)."""
        return [p for p in self.problems if p.code in NOT_IMPORTED and p.params.get("cells", 1) > 0]


class _Ctx:
    def __init__(self, graph: Backend | None):
        self.graph = graph
        self.problems: list[Problem] = []
        self._has: dict[str, bool] = {}

    def add(self, code: str, e: Entry, key: str | None, *, value: Any = None, raw: bool = True,
            **params: Any) -> None:
        nt = e.sheet.nt
        col = nt.column(key) if key else None
        if value is None and key is not None:
            value = e.raw.get(key) if raw else e.values.get(key)
        self.problems.append(Problem(
            code, e.sheet.file, e.sheet.sheet, e.row, column=key, header=col.header if col else None,
            value=display(value) if not isinstance(value, str) else value, params=params, label=nt.label,
            col_index=e.sheet.columns.get(key) if key else None,
        ))

    def has_any(self, label: str) -> bool:
        """Whether the graph holds any record of `label` (none on a first load: the queries
        over every key of a sheet are then left out)."""
        if self.graph is None:
            return False
        if label not in self._has:
            q = f"MATCH (n:{NODES[label].label}) RETURN 1 AS one LIMIT 1"
            self._has[label] = bool(self.graph.read(q, {}, timeout=None).rows)
        return self._has[label]

    def read(self, cypher: str, ids: Iterable[str], label: str | None = None) -> list[dict]:
        """A read-only parameterised query over chunks of ids (none when the graph has no
        record of `label`, which the query matches)."""
        if self.graph is None or (label is not None and not self.has_any(label)):
            return []
        ids = list(dict.fromkeys(i for i in ids if i is not None))
        out: list[dict] = []
        for i in range(0, len(ids), CHUNK):
            out.extend(self.graph.read(cypher, {"ids": ids[i: i + CHUNK]}, timeout=None).rows)
        return out


def check_survey(survey: Survey, graph: Backend | None = None, *, source: str | None = None,
                 progress: Progress | None = None, strict: bool = False) -> Checked:
    """Check every row and sheet of an opened survey, against `graph` when given; with
    `strict`, every column or sheet that held data and is not imported is an error."""
    with paused_gc():  # a survey's rows are many small objects and no cycles: no collections while they grow
        return _check_survey(survey, graph, source=source, progress=progress, strict=strict)


def _check_survey(survey: Survey, graph: Backend | None, *, source: str | None, progress: Progress | None,
                  strict: bool) -> Checked:
    ctx = _Ctx(graph)
    checked = Checked(name=survey.name, graph_checked=graph is not None)
    entries: dict[str, list[Entry]] = {}
    for sh in survey.sheets:
        summary = SheetSummary(sh.label, sh.file, sh.sheet)
        checked.sheets.append(summary)
        entries[sh.label] = _read_sheet(sh, ctx, summary, progress)
    checked.problems = list(survey.problems)  # after reading: rows add reading problems too

    derive_keys(entries, ctx.problems)  # sheets without their key column (loaders/keys.py): from the cells as written
    resolve_party_names(entries, ctx)  # parties given by name -> their keys (loaders/party_names.py)
    merges = resolve_parties(entries, ctx)  # before the rules: references to an alias name its record
    for label, es in entries.items():
        _row_rules(NODES[label], es, ctx)
    keys = _unique_keys(entries, ctx)
    _references(entries, keys, ctx)
    _tenancy_chains(entries, ctx)
    _site_loops(entries, ctx)
    if graph is not None and source:
        _other_sources(entries, source, ctx)

    checked.problems += ctx.problems
    if strict:
        for p in checked.not_imported:
            p.strict = True
    order = {(s.file, s.sheet): i for i, s in enumerate(checked.sheets)}
    checked.problems.sort(key=lambda p: sort_key(p, order))
    if checked.ok:
        checked.merges = merges
        for label, es in entries.items():
            checked.records[label] = [
                {**e.values, "src_file": e.sheet.file, "src_sheet": e.sheet.sheet, "src_row": e.row} for e in es
            ]
    return checked


def _read_sheet(sh: SheetData, ctx: _Ctx, summary: SheetSummary, progress: Progress | None) -> list[Entry]:
    nt = sh.nt
    out: list[Entry] = []
    name = f"{sh.file} › {sh.sheet}" if sh.file != sh.sheet + ".csv" else sh.file
    derived = derives_key(nt, sh.columns)

    def take(rowno: int, cells: dict, res) -> None:
        e = Entry(sh, rowno, res.values, cells)
        out.append(e)
        for cp in res.problems:
            ctx.add(cp.code, e, cp.key, **cp.params)
        if res.values.get("uscc_valid") is False:
            code = res.values["uscc"]
            ctx.add("USCC_CHECK", e, "uscc", expected=uscc_check_char(code[:17]))

    if rowwise():  # the per-row path (SITEGRAPH_ROWWISE=1), kept for comparison
        for rowno, cells in sh.rows():
            if derived:
                cells[nt.key] = PENDING  # the key is derived once the whole survey is read
            take(rowno, cells, check_row(nt, cells))
            if progress and len(out) % 500 == 0:
                progress(name, len(out), sh.total)
    else:  # column by column (loaders/columnar.py), a block of rows at a time
        block: list[tuple[int, dict]] = []
        rows = sh.rows()
        while True:
            block.clear()
            for rowno, cells in rows:
                if derived:
                    cells[nt.key] = PENDING
                block.append((rowno, cells))
                if len(block) == COLUMN_BLOCK:
                    break
            if not block:
                break
            values, failed = check_rows(nt, [c for _, c in block])
            for i, ((rowno, cells), vals) in enumerate(zip(block, values)):
                res = failed.get(i)
                if res is None:
                    out.append(Entry(sh, rowno, vals, cells))
                    if vals.get("uscc_valid") is False:
                        ctx.add("USCC_CHECK", out[-1], "uscc", expected=uscc_check_char(vals["uscc"][:17]))
                else:
                    take(rowno, cells, res)
            if progress:
                progress(name, len(out), sh.total)
            if len(block) < COLUMN_BLOCK:
                break
    summary.rows = len(out)
    if progress:
        progress(name, len(out), len(out))
    if not out and not sh.broken:
        ctx.problems.append(Problem("SHEET_NO_ROWS", sh.file, sh.sheet, sh.header_row, label=nt.label))
    return out


def _row_rules(nt: NodeType, es: list[Entry], ctx: _Ctx) -> None:
    label = nt.label
    if not any(rule[0] == label for rules in _ROW_RULES for rule in rules):
        return
    mine = [[r for r in rules if r[0] == label] for rules in _ROW_RULES]  # this sheet's rules, in order
    different, at_least_one, not_before, required_when, required_with, blank_when = mine
    for e in es:
        v = e.values
        for lab, a, b in different:
            if lab == label and v.get(a) is not None and v.get(a) == v.get(b):
                ca, cb = nt.column(a), nt.column(b)
                ctx.add("SAME_PARTY", e, a, header_zh=ca.header, header_en=a, other_zh=cb.header, other_en=b)
        for lab, a, b in at_least_one:
            if lab == label and v.get(a) is None and v.get(b) is None and is_blank(e.raw.get(a)) \
                    and is_blank(e.raw.get(b)):
                ca, cb = nt.column(a), nt.column(b)
                ctx.add("NO_PLACE", e, a, header_zh=ca.header, header_en=a, other_zh=cb.header, other_en=b)
        for lab, later, earlier in not_before:
            x, y = v.get(later), v.get(earlier)
            if lab == label and isinstance(x, dt.date) and isinstance(y, dt.date) and x < y:
                cl, ce = nt.column(later), nt.column(earlier)
                ctx.add("DATE_ORDER", e, later, header_zh=cl.header, header_en=later, other_zh=ce.header,
                        other_en=earlier, other_value=y.isoformat())
        for lab, col, cond, cond_value in required_when:
            if lab == label and v.get(cond) == cond_value and v.get(col) is None and is_blank(e.raw.get(col)):
                cc, cd = nt.column(col), nt.column(cond)
                ctx.add("REQUIRED_WHEN", e, col, header_zh=cc.header, header_en=col, cond_zh=cd.header,
                        cond_en=cond, cond_value=cond_value)
        for lab, col, other in required_with:
            if lab == label and v.get(other) is not None and v.get(col) is None and is_blank(e.raw.get(col)):
                cc, co = nt.column(col), nt.column(other)
                ctx.add("REQUIRED_WITH", e, col, header_zh=cc.header, header_en=col, other_zh=co.header,
                        other_en=other, other_value=display(e.raw.get(other)))
        for lab, col, cond, cond_value in blank_when:
            if lab == label and v.get(cond) is cond_value and not is_blank(e.raw.get(col)):
                cc, cd = nt.column(col), nt.column(cond)
                shown = {True: ("是", "yes"), False: ("否", "no")}.get(cond_value, (cond_value, cond_value))
                ctx.add("BLANK_WHEN", e, col, header_zh=cc.header, header_en=col, cond_zh=cd.header,
                        cond_en=cond, cond_value_zh=shown[0], cond_value_en=shown[1])


def _unique_keys(entries: dict[str, list[Entry]], ctx: _Ctx) -> dict[str, dict[Any, Entry]]:
    """Key -> first row of each label; later rows with the same key are errors."""
    keys: dict[str, dict[Any, Entry]] = {}
    for label, es in entries.items():
        seen: dict[Any, Entry] = {}
        for e in es:
            k = e.key
            if k is None:
                continue
            if k in seen:
                ctx.add("DUPLICATE_KEY", e, NODES[label].key, first_row=seen[k].row)
            else:
                seen[k] = e
        keys[label] = seen
    return keys


def _references(entries: dict[str, list[Entry]], keys: dict[str, dict[Any, Entry]], ctx: _Ctx) -> None:
    # References not to a record of the survey are looked up in the graph, all at once.
    pending: list[tuple[Entry, Any, list]] = []  # (row, column, targets not in the survey)
    wanted: dict[str, set] = defaultdict(set)
    for label, es in entries.items():
        for col in NODES[label].refs:
            local, k = keys.get(col.ref, {}), col.key
            if col.kind is not Kind.REF_LIST:  # one target a row (most references): no list made
                for e in es:
                    v = e.values.get(k)
                    if v is not None and v not in local:
                        pending.append((e, col, [v]))
                        wanted[col.ref].add(v)
                continue
            for e in es:
                out = [t for t in _targets(e.values.get(k), col.kind) if t not in local]
                if out:
                    pending.append((e, col, out))
                    wanted[col.ref].update(out)
    in_graph: dict[str, set] = {
        label: (existing_keys(ctx.graph, label, sorted(ids)) if ctx.graph is not None else set())
        for label, ids in wanted.items()
    }
    for e, col, out in pending:
        target = NODES[col.ref]
        missing = [t for t in out if t not in in_graph[col.ref]]
        if missing and target.alt_key and all(unresolved_party(t) for t in missing):
            ctx.add("PARTY_UNRESOLVED", e, col.key, value="、".join(missing))  # neither a USCC nor a known 临时编码
        elif missing:
            ctx.add("REF_UNRESOLVED", e, col.key, target_zh=target.title_zh, target_en=target.title_en,
                    sheet_zh=target.sheet, sheet_en=target.file, value="、".join(missing))


def _targets(v: Any, kind: Kind) -> list:
    if v is None:
        return []
    return list(dict.fromkeys(v)) if kind is Kind.REF_LIST else [v]


# --- leases: who may let a building, and no loops ----------------------------------------

_Q_OWNERS = "UNWIND $ids AS k MATCH (b:Building {building_id: k}) RETURN b.building_id AS id, b.owner_uscc AS owner"
_Q_TENANCIES = (
    "UNWIND $ids AS k MATCH (t:Tenancy)-[:COVERS]->(b:Building {building_id: k}) "
    "RETURN t.tenancy_id AS id, t.lessor_uscc AS lessor, t.lessee_uscc AS lessee, b.building_id AS building"
)


def _tenancy_chains(entries: dict[str, list[Entry]], ctx: _Ctx) -> None:
    tenancies = entries.get("Tenancy") or []
    if not tenancies:
        return
    buildings = {t.values.get("building_id") for t in tenancies} - {None}
    owners: dict[str, Any] = {r["id"]: r["owner"] for r in ctx.read(_Q_OWNERS, sorted(buildings), "Building")}
    for b in entries.get("Building") or []:
        if b.key is not None:
            owners[b.key] = b.values.get("owner_uscc")  # the survey overrides the graph
    # All leases on those buildings: the graph's, overridden (by id) by the survey's.
    leases: dict[str, tuple] = {
        r["id"]: (r["lessor"], r["lessee"], r["building"]) for r in ctx.read(_Q_TENANCIES, sorted(buildings), "Tenancy")
    }
    survey_ids = set()
    for t in tenancies:
        if t.key is not None:
            survey_ids.add(t.key)
            leases[t.key] = (t.values.get("lessor_uscc"), t.values.get("lessee_uscc"), t.values.get("building_id"))
    lessees: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))  # building -> lessee -> tenancy ids
    for tid, (lessor, lessee, b) in leases.items():
        if lessee is not None and b is not None:
            lessees[b][lessee].add(tid)

    for t in tenancies:
        lessor, b = t.values.get("lessor_uscc"), t.values.get("building_id")
        owner = owners.get(b)
        if lessor is None or b is None or owner is None or lessor == owner:
            continue
        if lessees[b].get(lessor, set()) - {t.key}:
            continue
        ctx.add("LESSOR_NOT_ENTITLED", t, "lessor_uscc", building=b, owner=owner)

    # Loops: per building, lessor -> lessee edges; any lease inside a strongly connected part loops.
    # Only the buildings whose leases do loop are looked at (networkx finds the path to report).
    edges: dict[str, set] = defaultdict(set)
    for lessor, lessee, b in leases.values():
        if None not in (lessor, lessee, b) and lessor != lessee:
            edges[b].add((lessor, lessee))
    looping = {b for b, e in edges.items() if len(e) > 1 and _has_cycle(e)}
    if not looping:
        return
    import networkx as nx

    by_building: dict[str, nx.DiGraph] = defaultdict(nx.DiGraph)
    for tid, (lessor, lessee, b) in leases.items():
        if None in (lessor, lessee, b) or lessor == lessee or b not in looping:
            continue
        g = by_building[b]
        if g.has_edge(lessor, lessee):
            g[lessor][lessee]["ids"].append(tid)
        else:
            g.add_edge(lessor, lessee, ids=[tid])
    for t in tenancies:
        lessor, lessee, b = t.values.get("lessor_uscc"), t.values.get("lessee_uscc"), t.values.get("building_id")
        if t.key is None or b not in by_building or None in (lessor, lessee) or lessor == lessee:
            continue
        g = by_building[b]
        if lessee not in g or lessor not in g or not nx.has_path(g, lessee, lessor):
            continue
        path = nx.shortest_path(g, lessee, lessor)
        hops = [(lessor, lessee, t.key)] + [(a, c, sorted(g[a][c]["ids"])[0]) for a, c in zip(path, path[1:])]
        cycle = lessor + "".join(f" →[{tid}] {c}" for _, c, tid in hops)
        ctx.add("LEASE_LOOP", t, "lessor_uscc", building=b, cycle=cycle)


def _has_cycle(edges: set) -> bool:
    """Whether the directed graph of (start, end) edges has a cycle (Kahn: what cannot be
    taken off in topological order lies on or behind one)."""
    out: dict = defaultdict(list)
    indegree: dict = defaultdict(int)
    for a, c in edges:
        out[a].append(c)
        indegree[c] += 1
    ready = [v for v in out if not indegree[v]]
    seen = 0
    while ready:
        v = ready.pop()
        seen += 1
        for c in out.get(v, ()):
            indegree[c] -= 1
            if not indegree[c]:
                ready.append(c)
    return seen < len(set(out) | set(indegree))


# --- site parents ---------------------------------------------------------------------------

_Q_PARENTS = "UNWIND $ids AS k MATCH (s:Site {site_id: k}) RETURN s.site_id AS id, s.parent_site_id AS parent"


def _site_loops(entries: dict[str, list[Entry]], ctx: _Ctx) -> None:
    sites = [e for e in entries.get("Site") or [] if e.key is not None]
    if not sites:
        return
    parent: dict[str, Any] = {}
    survey_parent = {e.key: e.values.get("parent_site_id") for e in sites}
    # Follow parent chains into the graph until they end or come back.
    frontier = {p for p in survey_parent.values() if p is not None and p not in survey_parent}
    known: set = set(survey_parent)
    while frontier and ctx.graph is not None:
        known |= frontier
        rows = ctx.read(_Q_PARENTS, sorted(frontier), "Site")
        frontier = set()
        for r in rows:
            parent[r["id"]] = r["parent"]
            if r["parent"] is not None and r["parent"] not in known:
                frontier.add(r["parent"])
    parent.update(survey_parent)
    for e in sites:
        path = [e.key]
        cur = parent.get(e.key)
        while cur is not None and cur not in path:
            path.append(cur)
            cur = parent.get(cur)
        if cur is not None and cur == e.key:
            ctx.add("SITE_LOOP", e, "parent_site_id", cycle=" → ".join(path + [e.key]))


# --- records that another survey loaded --------------------------------------------------------

def _other_sources(entries: dict[str, list[Entry]], source: str, ctx: _Ctx) -> None:
    """One warning per sheet and other survey (not one per row: it would bury the errors)."""
    for label, es in entries.items():
        nt = NODES[label]
        q = f"UNWIND $ids AS k MATCH (n:{nt.label} {{`{nt.key}`: k}}) RETURN n.`{nt.key}` AS id, n.source AS source"
        theirs = {r["id"]: r["source"] for r in ctx.read(q, [e.key for e in es], label)}
        by_other: dict[str, list[Entry]] = defaultdict(list)
        for e in es:
            other = theirs.get(e.key)
            if other and other != source:
                by_other[other].append(e)
        for other, hit in by_other.items():
            keys = "、".join(str(e.key) for e in hit[:3]) + ("…" if len(hit) > 3 else "")
            ctx.add("KEY_OTHER_SOURCE", hit[0], nt.key, value=keys, other=other, source=source, count=len(hit))
