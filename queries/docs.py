"""Generate docs/queries.md from the pack's metadata: `python -m queries.docs [--no-examples]`.

Per query: what it finds, why it matters (legal basis), its parameters and columns, an
example row taken from a run on a generated Yangquan survey (loaders.generate, a fixed
seed, an embedded graph in a temp folder), and its Cypher as stored in the pack.
Personal columns never appear in the examples.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

from .catalogue import CATEGORY_EN, SEVERITY_EN, QuerySpec
from .runner import QueryRun, load_catalogue, run_all

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "queries.md"
EXAMPLE_SEED = 1
EXAMPLE_ENTERPRISES = 200


def _md(text) -> str:
    """A table cell: no pipes or line breaks."""
    s = "" if text is None else str(text)
    return s.replace("|", "\\|").replace("\n", " ")


def _cell(v) -> str:
    if v is None:
        return "（空）"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".")
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + "、".join(_cell(x) for x in v) + "]"
    return str(v)


def example_runs(seed: int = EXAMPLE_SEED, enterprises: int = EXAMPLE_ENTERPRISES) -> tuple[dict[str, QueryRun], str]:
    """Run the pack on a generated survey; (runs by id, a sentence saying on what)."""
    from graphmodel.backends import open_backend
    from graphmodel.writer import write_survey
    from loaders.generate import generate

    survey = generate(enterprises, seed)
    with tempfile.TemporaryDirectory(prefix="sitegraph-docs-") as tmp:
        b = open_backend(str(Path(tmp) / "g.db"), write=True, create=True)
        try:
            b.install_schema()
            write_survey(b, survey.records, source=f"generated-{seed}")
            declared = {p.name for s in load_catalogue() for p in s.params}
            params = {"as_of": survey.as_of} if "as_of" in declared else {}
            runs = run_all(b, params)
        finally:
            b.close()
    where = (f"示例行取自合成台账（`loaders.generate`，{enterprises} 家企业，种子 {seed}，as_of = "
             f"{survey.as_of.isoformat()}）在嵌入式图库上的运行结果，不含个人信息。/ Example rows come from a generated "
             f"survey ({enterprises} enterprises, seed {seed}, as_of {survey.as_of.isoformat()}), personal columns left out.")
    return {r.spec.id: r for r in runs}, where


def example_row(rows: list[dict]) -> dict:
    """The most telling row: the most cells filled (lists count by length); the first on a tie."""
    def filled(r: dict) -> int:
        n = 0
        for v in r.values():
            if isinstance(v, list):
                n += len(v)
            elif v not in (None, "", False, 0):
                n += 1
        return n

    return max(rows, key=filled)  # max keeps the first of equals


def _section(spec: QuerySpec, run: QueryRun | None) -> list[str]:
    out = [f"## `{spec.id}` — {spec.title_zh}", "", f"*{spec.title_en}*", ""]
    out.append(f"- 严重程度 / severity: **{spec.severity}** ({SEVERITY_EN[spec.severity]})")
    out.append(f"- 类别 / category: {spec.category} ({CATEGORY_EN[spec.category]})")
    out.append(f"- 键列 / key columns: {', '.join(f'`{k}`' for k in spec.key_columns)}")
    out.append("- 依据 / legal basis: " + "；".join(spec.legal_basis))
    out += ["", "**查什么 / what it finds**", "", spec.description_zh, "", spec.description_en, ""]
    if spec.params:
        out += ["**参数 / parameters**", "", "| 名称 | 类型 | 默认 | 说明 |", "|---|---|---|---|"]
        for p in spec.params:
            default = "今天 / today" if p.default == "today" else p.default
            choices = f"（可选 / one of: {'、'.join(p.choices)}）" if p.choices else ""
            out.append(f"| `{p.name}` | {p.type} | {_md(default)} | {_md(p.description_zh)} / {_md(p.description_en)}"
                       f"{_md(choices)} |")
        out.append("")
    out += ["**结果列 / columns**", "", "| 列名 | 中文 | English | 键 | 个人信息 |", "|---|---|---|---|---|"]
    for c in spec.columns:
        values = f"（取值：{'、'.join(f'`{k}` = {v}' for k, v in c.labels.items())}）" if c.labels else ""
        out.append(f"| `{c.name}` | {_md(c.label_zh)}{_md(values)} | {_md(c.label_en)} | {'是' if c.key else ''} | "
                   f"{'是（默认不输出）' if c.personal else ''} |")
    out += ["", "排序 / order: " + ", ".join(f"`{s}`" for s in spec.sort), ""]
    if run is not None:
        if run.rows:
            row = example_row(run.rows)
            out += [f"**示例 / example** （共 {len(run.rows)} 行中的一行 / one of {len(run.rows)} rows）", "",
                    "| 列 | 值 |", "|---|---|"]
            for c in run.columns:
                out.append(f"| {_md(c.label_zh)} (`{c.name}`) | {_md(_cell(row.get(c.name)))} |")
        else:
            out += ["**示例 / example**：示例台账中无结果 / no rows on the example survey"]
        out.append("")
    out += ["<details><summary>Cypher</summary>", "", "```cypher", spec.cypher, "```", "", "</details>", ""]
    return out


def render(runs: dict[str, QueryRun] | None = None, where: str = "") -> str:
    specs = load_catalogue()
    lines = [
        "# 预置查询包 / The prepared query pack",
        "",
        "<!-- 由 `python -m queries.docs` 根据 queries/pack/*.toml 生成，请勿手工编辑 / generated, do not edit -->",
        "",
        "每个查询是 `queries/pack/<id>.toml` 中的一段参数化 Cypher 及其元数据，在嵌入式图库（LadybugDB）和 Neo4j 上原样运行、"
        "返回相同的行。查询编号和键列是约定（声明在 `queries/catalogue.py` 的 `CATALOGUE` 中），报表和表格按它们关联。",
        "Each query is one parameterised Cypher text with its metadata in `queries/pack/<id>.toml`; it runs unchanged on "
        "the embedded store and on Neo4j and returns the same rows on both.",
        "",
        "```",
        "sitegraph query list                       # 全部查询",
        "sitegraph query show nested-high-risk      # 说明、参数、结果列和 Cypher",
        "sitegraph query run hazards-overdue --param as_of=2025-01-31 --format csv --out overdue.csv",
        "sitegraph query run --all --out results/   # 全部运行，写出 results/sitegraph-findings.xlsx",
        "```",
        "",
        "约定 / conventions：一项职责（协议、审查、审验……）只有台账记为“是”才算落实，“否”和空白都算未落实；"
        "一项违规（违章搭建、三合一……）只有记为“是”才算存在。未整改、整改中为未完成整改；已整改、已销号为已整改。"
        "`as_of` 只用于逾期判断，默认今天，在 Python 中计算。主要负责人、联系电话、整改责任人、检查人员属个人信息，"
        "只有加 `--include-personal` 才输出；工作簿的“说明”表和 CSV 旁的 `X.csv.meta.json` 注明是否包含个人信息"
        "（导出格式见 [exports.md](exports.md)）。编码值（如 `kind` 的 `outsourcing`）在 Excel 和 CSV 中显示为下表所列的中文，"
        "JSON 保留编码。",
        "A duty counts as met only when recorded 是; a violation is present only when recorded 是. `as_of` (default "
        "today) only decides what is overdue. Personal columns are left out unless `--include-personal` is given.",
        "",
        "严重程度 / severity：**重大** = 重大事故隐患或“五个一律”；**较大** = 违反通知或法律规定的职责；"
        "**一般** = 台账质量和执法痕迹；**统计** = 统计与排名。",
        "",
        "地址比较（market-access、worry-list）中的 `FOLD_DIFFERS a, b AS d KEEP …` 行在载入时展开为逐字替换：全角字符转半角、"
        "去掉空白字符，再比较两段地址（两者都非空且不同为真）；`FOLD a, b KEEP …` 只做折叠。"
        "`sitegraph query show` 显示展开后的 Cypher。/ `FOLD_DIFFERS` (and `FOLD`) lines are load-time macros "
        "(full-width folding, white space removed, then the two texts compared); `query show` prints the expanded text.",
        "",
    ]
    if where:
        lines += [where, ""]
    lines += ["| 编号 | 名称 | 严重程度 | 类别 | 键列 |", "|---|---|---|---|---|"]
    for s in specs:
        lines.append(f"| [`{s.id}`](#{s.id}) | {_md(s.title_zh)} | {s.severity} | {s.category} | "
                     f"{', '.join(s.key_columns)} |")
    lines.append("")
    for s in specs:
        lines += [f'<a id="{s.id}"></a>', ""]
        lines += _section(s, None if runs is None else runs.get(s.id))
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m queries.docs", description="write docs/queries.md")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--no-examples", action="store_true", help="skip the example run on a generated survey")
    ap.add_argument("--seed", type=int, default=EXAMPLE_SEED)
    ap.add_argument("--enterprises", type=int, default=EXAMPLE_ENTERPRISES)
    a = ap.parse_args(argv)
    runs, where = (None, "")
    if not a.no_examples:
        try:
            runs, where = example_runs(a.seed, a.enterprises)
        except ImportError as e:  # the generator is not installed
            print(f"no example rows: {e}", file=sys.stderr)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(render(runs, where), encoding="utf-8")
    print(f"written: {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
