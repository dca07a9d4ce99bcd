"""Generate docs/schema.md from graphmodel.schema: `python -m graphmodel.docs`.

The page is derived, never edited by hand; tests/test_model.py fails when it is stale.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .ddl import embedded_ddl, neo4j_ddl
from .schema import NODE_TYPES, PROVENANCE, REL_TYPES, SCHEMA_VERSION

OUT = Path(__file__).resolve().parents[1] / "docs" / "schema.md"


def _mermaid() -> list[str]:
    lines = ["```mermaid", "flowchart LR"]
    for nt in NODE_TYPES:
        lines.append(f'    {nt.label}["{nt.label}<br/>{nt.title_zh}<br/><i>{nt.key}</i>"]')
    for r in REL_TYPES:
        lines.append(f"    {r.start} -->|{r.type}| {r.end}")
    lines.append("```")
    return lines


def render() -> str:
    out = [
        "# 图谱结构 / Graph schema",
        "",
        f"Schema version {SCHEMA_VERSION}. Generated from `graphmodel/schema.py` by `python -m graphmodel.docs`;",
        "do not edit by hand. The same declarations produce the embedded DDL, the Neo4j",
        "constraints, the neomodel classes (`graphmodel/ogm.py`), the survey row models and",
        "the ledger templates.",
        "",
        "Each sheet of the survey ledger is one node label; each reference column is kept as a",
        "property and drawn as a relationship. Tenancies, outsourcing contracts and dispatch",
        "arrangements are nodes of their own (they carry dates, duties and a source row), with",
        "the parties attached by relationships.",
        "",
        "## Diagram",
        "",
        *_mermaid(),
        "",
        "## Relationships",
        "",
        "| type | from | to | 含义 | declared by (sheet · column) |",
        "|---|---|---|---|---|",
    ]
    from .schema import NODES

    for r in REL_TYPES:
        owner = NODES[r.owner]
        out.append(f"| `{r.type}` | {r.start} | {r.end} | {r.title_zh} | {owner.sheet} · {owner.column(r.column).header} |")
    out += ["", "## Node labels", ""]
    for nt in NODE_TYPES:
        out += [
            f"### {nt.label} — {nt.title_zh}（工作表 {nt.sheet} / `{nt.file}.csv`）",
            "",
            f"Key: `{nt.key}` (unique).",
            "",
            "| property | 表头 header | kind | stored as | required | values / reference | note |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in nt.columns:
            vals = "、".join(c.enum) if c.enum else (f"→ {c.ref} via `{c.rel}`" if c.ref else "")
            note = c.note_zh + (" · personal data" if c.personal else "")
            out.append(f"| `{c.key}` | {c.header} | {c.kind.value} | {c.neo4j_type} | {'yes' if c.required else ''} | {vals} | {note} |")
        for d in nt.derived:
            out.append(f"| `{d.key}` | {d.label_zh} | derived | {d.neo4j_type} | | | {d.note_en} |")
        out.append("")
    out += [
        "## Provenance (every node)",
        "",
        "| property | 含义 | stored as | note |",
        "|---|---|---|---|",
        *(f"| `{p.key}` | {p.label_zh} | {p.neo4j_type} | {p.note_en} |" for p in PROVENANCE),
        "",
        "## Derived statements",
        "",
        "Neo4j (idempotent, `sitegraph init --neo4j URI`):",
        "",
        "```cypher",
        *(s + ";" for s in neo4j_ddl()),
        "```",
        "",
        "Embedded LadybugDB (`sitegraph init --db PATH`):",
        "",
        "```cypher",
        *(s + ";" for s in embedded_ddl()),
        "```",
        "",
    ]
    return "\n".join(out)


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(OUT, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
