"""The prepared query pack: one TOML file per query in `queries/pack/`, validated here.

Each file holds the query's metadata (titles, description, legal basis, severity,
category, parameters, result columns) and ONE Cypher text that runs unchanged on both
backends (the common subset of the two Cypher dialects). The ids and their key columns
are a contract with the analysts (reports and spreadsheets join on them): they are
declared once, in CATALOGUE below, and the tests hold the pack and the generator's
ground truth to it.

Two text-level macros exist, expanded identically for both backends when a file is
loaded (so they are not a dialect translation). A line

    FOLD a, b KEEP x, y

becomes a few `WITH x, y, replace(…replace(a, 'Ａ', 'A')…) AS a, … AS b` clauses that
fold full-width ASCII forms (U+FF01–U+FF5E) to their half-width forms and remove
white space (U+3000 and every other character str.isspace() accepts) from the string
variables `a` and `b`; `KEEP` names every other variable still needed after it. Neither backend has a portable NFKC function, and a
single 100-deep `replace()` nest takes LadybugDB ~0.7 s to compile; the staged form
below takes ~0.15 s. A line

    FOLD_DIFFERS a, b AS d KEEP x, y

binds `d` = the folded `a` and the folded `b` are both non-empty and differ (false when
either is null), what an address comparison needs, while folding ONE string instead of
two; that halves the fold's cost (~120 `replace()` calls per string, paid in LadybugDB's
compile time and Neo4j's planning time). `a` and `b` are joined as esc(a) + SS + esc(b),
with S = U+0001 and esc() writing every S as S E (E = U+0002). The fold leaves S and E
alone and never produces them, so the folded join is A + SS + B (A, B the escaped folded
texts), in which SS occurs only at the join, or just after it when B starts with S. Hence,
with n the join's length, A = B exactly when n is even, SS stands in the middle (at n/2 - 1
and n/2) and the n/2 - 1 characters on either side are equal; A is empty exactly when the
join starts with SS, and B exactly when it ends with SS. Each backend counts size(),
left() and right() in one unit (Neo4j code points, LadybugDB characters), and control
characters such as S and E never join a neighbour into one character. `fold_differs()`
states the result in Python; the tests compare both backends with it on adversarial
strings. `sitegraph query show ID` prints the expanded text.
"""
from __future__ import annotations

import datetime as dt
import re
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from graphmodel.backends import guard
from graphmodel.schema import personal_keys

# The catalogue: every query id and its key columns (returned under exactly these names,
# one row per subject), in catalogue order, which is the listing order of the pack.
CATALOGUE: dict[str, tuple[str, ...]] = {
    "responsibility-gaps": ("kind", "id"),
    "coordination-gaps": ("kind", "id"),
    "unreviewed-tenants": ("tenancy_id",),
    "use-changed": ("tenancy_id",),
    "unsafe-leased-buildings": ("building_id",),
    "nested-high-risk": ("operation_id",),
    "sublease-unconsented": ("tenancy_id",),
    "fire-class-upgrade": ("tenancy_id",),
    "three-in-one": ("tenancy_id",),
    "illegal-power-hazchem": ("tenancy_id",),
    "market-access": ("uscc",),
    "dust-in-multistorey": ("operation_id",),
    "major-hazards-open": ("hazard_id",),
    "major-hazards-unreported": ("hazard_id",),
    "hazards-overdue": ("hazard_id",),
    "hazard-ledger-incomplete": ("hazard_id",),
    "dispatch-over-cap": ("uscc",),
    "dispatch-core-posts": ("dispatch_id",),
    "unqualified-contractors": ("contract_id",),
    "five-always": ("action", "subject_id"),
    "survey-coverage": ("county", "township"),
    "rectification-rate": ("county",),
    "inspection-accountability": ("inspection_id",),
    "survey-incomplete": ("record_type", "id"),
    "worry-list": ("uscc",),
    # version 2
    "major-closed-unaccepted": ("hazard_id",),
    "supervision-overdue": ("hazard_id",),
    "legacy-major-hazards": ("hazard_id",),
    "stop-order-defied": ("uscc",),
    "hot-work-near-flammables": ("contract_id",),
    "multi-tenant-no-manager": ("building_id",),
    "hazardous-goods-underground": ("tenancy_id",),
    # parties without a USCC (issue 13): 临时编码, 主体类型
    "unregistered-parties": ("uscc",),
    # the supervision report (issue 15): figures per township or county (by = county)
    "hazard-tally": ("county", "township"),
    "enforcement-tally": ("county", "township"),
    "notice-candidates": ("county", "township"),
}
CATALOGUE_IDS: tuple[str, ...] = tuple(CATALOGUE)

# Severity of what a query finds (a small fixed scale):
#   重大: a 重大事故隐患 under 应急管理部令第10号 or a "五个一律" measure;
#   较大: a breach of a duty in the notice or the law that is not itself a major hazard;
#   一般: ledger quality and follow-up (gaps in records, accountability);
#   统计: statistics and rankings, not findings about one record.
SEVERITIES = ("重大", "较大", "一般", "统计")
SEVERITY_EN = {"重大": "major", "较大": "serious", "一般": "general", "统计": "statistics"}

# Categories follow the four focus areas of the notice (四、重点内容) plus two of our own.
CATEGORIES = ("重大隐患", "外包外委", "出租主体", "承租主体", "排查统计", "综合研判")
CATEGORY_EN = {
    "重大隐患": "major hazards", "外包外委": "outsourcing", "出租主体": "lessors",
    "承租主体": "lessees", "排查统计": "survey statistics", "综合研判": "overall assessment",
}

ParamType = Literal["date", "float", "int", "str"]
ID_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PARAM_REF_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# A code returned as a column value: 'outsourcing' AS kind (lower-case ASCII, not user text).
CODE_LITERAL_RE = re.compile(r"'([a-z][a-z0-9_]*)'\s+AS\s+([a-z][a-z0-9_]*)")
TODAY = "today"

# Column names that hold personal data whenever a query returns them: every personal
# column of the schema (principal, phone, responsible_person, inspectors).
PERSONAL_NAMES = personal_keys()


class Param(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: ParamType
    default: Any = None
    description_zh: str
    description_en: str = ""
    min: float | None = None
    max: float | None = None
    # A text parameter that takes one of a few fixed values (e.g. by = county | township).
    choices: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(f"parameter name {v!r} must be snake_case")
        return v

    @model_validator(mode="after")
    def _default(self) -> "Param":
        if self.default is None:
            raise ValueError(f"parameter {self.name}: a default is required")
        if self.type == "date" and self.default != TODAY:
            dt.date.fromisoformat(str(self.default))
        if self.type in ("int", "float") and (isinstance(self.default, bool) or not isinstance(self.default, (int, float))):
            raise ValueError(f"parameter {self.name}: default must be a number")
        if self.type == "int" and not isinstance(self.default, int):
            raise ValueError(f"parameter {self.name}: default must be an integer")
        if self.type == "str" and not isinstance(self.default, str):
            raise ValueError(f"parameter {self.name}: default must be text")
        if self.choices and (self.type != "str" or self.default not in self.choices):
            raise ValueError(f"parameter {self.name}: choices are for text parameters and must hold the default")
        return self

    def default_value(self) -> Any:
        """The default as a typed python value (`today` is computed now, in Python)."""
        if self.type == "date":
            return dt.date.today() if self.default == TODAY else dt.date.fromisoformat(str(self.default))
        if self.type == "float":
            return float(self.default)
        return self.default


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label_zh: str
    label_en: str = ""
    key: bool = False
    personal: bool = False
    # A collect()ed list whose order is not meaningful: sorted (and de-duplicated) by the
    # runner, because the backends return collect() items in different orders.
    set_list: bool = False
    # Chinese labels of coded values (outsourcing -> 外包), shown in xlsx/csv exports and
    # tables; JSON keeps the codes (a contract). Every code literal the Cypher returns
    # AS this column must have one (checked below).
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(f"column name {v!r} must be snake_case")
        return v

    @model_validator(mode="after")
    def _personal(self) -> "Column":
        if self.name in PERSONAL_NAMES and not self.personal:
            raise ValueError(f"column {self.name} holds personal data: set personal = true")
        if self.key and self.personal:
            raise ValueError(f"column {self.name}: a key column cannot be personal")
        if any(not k.strip() or not v.strip() for k, v in self.labels.items()):
            raise ValueError(f"column {self.name}: empty value label")
        return self

    @property
    def label(self) -> str:
        return self.label_zh


class QuerySpec(BaseModel):
    """One prepared query: metadata and its Cypher (as stored, and expanded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    legal_basis: list[str] = Field(min_length=1)
    severity: Literal["重大", "较大", "一般", "统计"]
    category: Literal["重大隐患", "外包外委", "出租主体", "承租主体", "排查统计", "综合研判"]
    params: list[Param] = Field(default_factory=list)
    columns: list[Column] = Field(min_length=1)
    sort: list[str] = Field(min_length=1)
    cypher: str
    # A title may name parameters, "{cap:%}" (as a percentage) or "{cap}": title_zh/title_en
    # hold it filled with the defaults, a run's spec (runner.run_query) with its own values.
    title_zh_template: str = ""
    title_en_template: str = ""

    @model_validator(mode="before")
    @classmethod
    def _title_templates(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        defaults = {p.get("name"): p.get("default") for p in data.get("params") or [] if isinstance(p, dict)}
        for lang in ("zh", "en"):
            title = data.get(f"title_{lang}")
            if isinstance(title, str) and TITLE_PARAM_RE.search(title) and not data.get(f"title_{lang}_template"):
                unknown = [m.group(1) for m in TITLE_PARAM_RE.finditer(title) if m.group(1) not in defaults]
                if unknown:
                    raise ValueError(f"title_{lang} names undeclared parameters {unknown}")
                data = {**data, f"title_{lang}_template": title, f"title_{lang}": fill_title(title, defaults)}
        return data

    def titled(self, values: dict[str, Any]) -> "QuerySpec":
        """This spec with its titles filled from a run's parameter values (itself if fixed)."""
        if not (self.title_zh_template or self.title_en_template):
            return self
        return self.model_copy(update={
            "title_zh": fill_title(self.title_zh_template or self.title_zh, values),
            "title_en": fill_title(self.title_en_template or self.title_en, values)})

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID_RE.match(v):
            raise ValueError(f"query id {v!r} must be kebab-case")
        return v

    @field_validator("title_zh", "title_en", "description_zh", "description_en", "cypher")
    @classmethod
    def _text(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be empty")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "QuerySpec":
        names = [c.name for c in self.columns]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.id}: duplicate column names")
        if not any(c.key for c in self.columns):
            raise ValueError(f"{self.id}: at least one key column is required")
        for s in self.sort:
            if s.lstrip("-") not in names:
                raise ValueError(f"{self.id}: sort column {s!r} is not a result column")
        keys = [c.name for c in self.columns if c.key]
        missing_keys = [k for k in keys if k not in {s.lstrip("-") for s in self.sort}]
        if missing_keys:
            raise ValueError(f"{self.id}: the sort must include the key columns {missing_keys} (a total order)")
        pnames = [p.name for p in self.params]
        if len(pnames) != len(set(pnames)):
            raise ValueError(f"{self.id}: duplicate parameter names")
        used = set(PARAM_REF_RE.findall(self.cypher))
        if used - set(pnames):
            raise ValueError(f"{self.id}: Cypher uses undeclared parameters {sorted(used - set(pnames))}")
        if set(pnames) - used:
            raise ValueError(f"{self.id}: declared parameters not used by the Cypher {sorted(set(pnames) - used)}")
        expand_macros(self.cypher)  # raises on a malformed macro
        for code, name in CODE_LITERAL_RE.findall(self.cypher):
            if name in names and code not in self.column(name).labels:
                raise ValueError(f"{self.id}: column {name!r} returns the code {code!r}: give it a label "
                                 f"([columns] labels = {{ {code} = \"…\" }})")
        return self

    # --- derived ---------------------------------------------------------------------
    @property
    def key_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.key]

    @property
    def personal_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.personal]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def expanded_cypher(self) -> str:
        return _expanded(self.cypher)

    def summary(self) -> dict:
        """Metadata as plain data (for `query list --format json` and docs)."""
        return {
            "id": self.id,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "severity": self.severity,
            "category": self.category,
            "description_zh": self.description_zh,
            "description_en": self.description_en,
            "legal_basis": list(self.legal_basis),
            "key_columns": self.key_columns,
            "params": [
                {"name": p.name, "type": p.type, "default": p.default, "description_zh": p.description_zh,
                 "description_en": p.description_en, **({"choices": list(p.choices)} if p.choices else {})}
                for p in self.params
            ],
            "columns": [
                {"name": c.name, "label_zh": c.label_zh, "label_en": c.label_en, "key": c.key, "personal": c.personal,
                 **({"labels": dict(c.labels)} if c.labels else {})}
                for c in self.columns
            ],
        }


# --- the FOLD macro ------------------------------------------------------------------

# Full-width ASCII forms to ASCII, then every character Python's str.split() treats as
# white space (U+3000 included) removed: the same as "".join(fold_width(s).split()).
_WHITESPACE = tuple(c for c in map(chr, range(0x3001)) if c.isspace())
_FOLD_PAIRS: tuple[tuple[str, str], ...] = (
    tuple((chr(0xFF01 + i), chr(0x21 + i)) for i in range(94)) + tuple((c, "") for c in _WHITESPACE)
)
_FOLD_STAGE = 25  # replace() calls nested in one expression
_FOLD_RE = re.compile(r"^(?P<indent>[ \t]*)FOLD[ \t]+(?P<vars>[^\n]*?)[ \t]+KEEP[ \t]+(?P<keep>[^\n]*?)[ \t]*$", re.M)
_FOLD_DIFFERS_RE = re.compile(
    r"^(?P<indent>[ \t]*)FOLD_DIFFERS[ \t]+(?P<a>\w+)[ \t]*,[ \t]*(?P<b>\w+)[ \t]+AS[ \t]+(?P<out>\w+)"
    r"[ \t]+KEEP[ \t]+(?P<keep>[^\n]*?)[ \t]*$", re.M)
_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SEP, _ESC = "\u0001", "\u0002"  # FOLD_DIFFERS: separator S and its escape E (never folded, never made)
_JOINED = "_fold_joined"  # the variable FOLD_DIFFERS folds


TITLE_PARAM_RE = re.compile(r"\{([a-z][a-z0-9_]*)(:%)?\}")


def fill_title(template: str, values: dict[str, Any]) -> str:
    """A title template with its "{name}" / "{name:%}" filled from parameter values."""

    def one(m: re.Match) -> str:
        v = values.get(m.group(1))
        if m.group(2) and isinstance(v, (int, float)) and not isinstance(v, bool):
            return f"{round(v * 100, 6):g}%"
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        return "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))

    return TITLE_PARAM_RE.sub(one, template)


def fold_text(s: str | None) -> str | None:
    """What the FOLD macro computes, in Python (for tests and documentation)."""
    if s is None:
        return None
    for a, b in _FOLD_PAIRS:
        s = s.replace(a, b)
    return s


def fold_differs(a: str | None, b: str | None) -> bool:
    """What FOLD_DIFFERS computes, in Python: both folded texts non-empty and different."""
    if a is None or b is None:
        return False
    fa, fb = fold_text(a), fold_text(b)
    return fa != "" and fb != "" and fa != fb


def _lit(ch: str) -> str:
    """A Cypher string literal; white space and control characters as \\uXXXX (both backends read it)."""
    if not ch:
        return "''"
    if ch.isspace() or not ch.isprintable():
        return "'" + "".join(f"\\u{ord(c):04x}" for c in ch) + "'"
    return "'" + ch.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fold_clauses(vars_: list[str], keep: list[str], indent: str) -> str:
    stages = [_FOLD_PAIRS[i : i + _FOLD_STAGE] for i in range(0, len(_FOLD_PAIRS), _FOLD_STAGE)]
    out = []
    for stage in stages:
        exprs = []
        for v in vars_:
            e = v
            for a, b in stage:
                e = f"replace({e}, {_lit(a)}, {_lit(b)})"
            exprs.append(f"{e} AS {v}")
        out.append(indent + "WITH " + ", ".join(keep + exprs))
    return "\n".join(out)


def _fold_differs_clauses(a: str, b: str, out_var: str, keep: list[str], indent: str) -> str:
    S, SS, SE = _lit(_SEP), _lit(_SEP * 2), _lit(_SEP + _ESC)
    c, n = _JOINED, "_fold_n"
    lines = [indent + "WITH " + ", ".join(keep + [f"replace({a}, {S}, {SE}) + {SS} + replace({b}, {S}, {SE}) AS {c}"]),
             _fold_clauses([c], keep, indent),
             indent + "WITH " + ", ".join(keep + [c, f"size({c}) AS {n}"]),
             indent + "WITH " + ", ".join(keep + [
                 f"coalesce(NOT (left({c}, 2) = {SS} OR right({c}, 2) = {SS}\n{indent}"
                 f"     OR ({n} % 2 = 0 AND right(left({c}, {n} / 2 + 1), 2) = {SS}\n{indent}"
                 f"         AND left({c}, {n} / 2 - 1) = right({c}, {n} / 2 - 1))), false) AS {out_var}"])]
    return "\n".join(lines)


def _split_vars(text: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    for x in items:
        if not _VAR_RE.match(x):
            raise ValueError(f"FOLD: {x!r} is not a variable name")
    return items


def expand_macros(cypher: str) -> str:
    """Expand FOLD and FOLD_DIFFERS lines (see the module docstring); other text is left as it is."""
    def repl(m: re.Match) -> str:
        vars_, keep = _split_vars(m.group("vars")), _split_vars(m.group("keep"))
        if not vars_:
            raise ValueError("FOLD needs at least one variable")
        if set(vars_) & set(keep):
            raise ValueError("FOLD: a variable cannot be both folded and kept")
        return _fold_clauses(vars_, keep, m.group("indent"))

    def repl_differs(m: re.Match) -> str:
        keep = _split_vars(m.group("keep"))
        names = [m.group("a"), m.group("b"), m.group("out")]
        for x in names:
            if not _VAR_RE.match(x):
                raise ValueError(f"FOLD_DIFFERS: {x!r} is not a variable name")
        if set(names) & set(keep) or m.group("out") in names[:2]:
            raise ValueError("FOLD_DIFFERS: the result must be a new variable, not compared or kept")
        return _fold_differs_clauses(*names, keep, m.group("indent"))

    out = _FOLD_DIFFERS_RE.sub(repl_differs, cypher)
    if re.search(r"^\s*FOLD_DIFFERS\b", out, re.M):
        raise ValueError("malformed FOLD_DIFFERS line (write: FOLD_DIFFERS a, b AS d KEEP x, y)")
    out = _FOLD_RE.sub(repl, out)
    if re.search(r"^\s*FOLD\b", out, re.M):
        raise ValueError("malformed FOLD line (write: FOLD a, b KEEP x, y)")
    return out


@lru_cache(maxsize=None)
def _expanded(cypher: str) -> str:
    return expand_macros(cypher)


# --- loading -------------------------------------------------------------------------

def pack_files() -> list[tuple[str, str]]:
    """(file name, text) of every TOML file of the pack, from the installed package."""
    pack = resources.files("queries") / "pack"
    return sorted((f.name, f.read_text(encoding="utf-8")) for f in pack.iterdir() if f.name.endswith(".toml"))


def parse_spec(name: str, text: str) -> QuerySpec:
    """Validate one pack file; its id must equal its file name."""
    data = tomllib.loads(text)
    spec = QuerySpec.model_validate(data)
    stem = name.removesuffix(".toml")
    if spec.id != stem:
        raise ValueError(f"{name}: id {spec.id!r} differs from the file name")
    return spec


@lru_cache(maxsize=1)
def _load() -> tuple[QuerySpec, ...]:
    specs = []
    errors = []
    for name, text in pack_files():
        try:
            specs.append(parse_spec(name, text))
        except Exception as e:  # collect every broken file, then fail once
            errors.append(f"{name}: {e}")
    if errors:
        raise ValueError("invalid query pack:\n" + "\n".join(errors))
    ids = [s.id for s in specs]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate query ids: {sorted(dup)}")
    order = {qid: n for n, qid in enumerate(CATALOGUE_IDS)}
    for s in specs:
        # Shipped texts, each tested to pass the read-only plan checks on both backends
        # (tests/test_catalogue.py): the embedded store need not EXPLAIN them again per run.
        guard.trust_plan(s.expanded_cypher)
    return tuple(sorted(specs, key=lambda s: (order.get(s.id, len(order)), s.id)))


def load_specs() -> list[QuerySpec]:
    return list(_load())
