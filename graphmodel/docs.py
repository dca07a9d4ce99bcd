"""Generate docs/schema.md and docs/survey-format.md from graphmodel.schema:
`python -m graphmodel.docs`.

Both pages are derived, never edited by hand; tests/test_model.py and
tests/test_survey_format.py fail when one is stale. survey-format.md is written for
survey teams (Chinese first): every fact the schema or the loader's declarations hold
(sheets, headers, kinds, enums and their accepted spellings, yes/no words, date forms,
list separators, row rules, warnings) is read from them, not restated.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .ddl import embedded_ddl, neo4j_ddl
from .schema import (HISTORY_PROPS, LEDGER_FORMAT_VERSION, LOAD_LABEL, LOAD_PROPS, NODE_TYPES, NODES, PROVENANCE,
                     REL_TYPES, SCHEMA_VERSION, Column, Kind, NodeType)

DOCS = Path(__file__).resolve().parents[1] / "docs"
OUT = DOCS / "schema.md"
SURVEY_FORMAT_OUT = DOCS / "survey-format.md"


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
        "## Campaign history",
        "",
        "Each label `L` above holds the current version of its records. Every superseded version and every "
        "retirement marker is a node of `LHistory` (e.g. `EnterpriseHistory`): all of `L`'s properties plus "
        "the ones below, no relationships (docs/design/history.md). The prepared queries never name them.",
        "",
        "| property | 含义 | stored as | note |",
        "|---|---|---|---|",
        *(f"| `{p.key}` | {p.label_zh} | {p.neo4j_type} | {p.note_en} |" for p in HISTORY_PROPS),
        "",
        f"`{LOAD_LABEL}`: one node per committed load (`sitegraph loads`).",
        "",
        "| property | 含义 | stored as | note |",
        "|---|---|---|---|",
        *(f"| `{p.key}` | {p.label_zh} | {p.neo4j_type} | {p.note_en} |" for p in LOAD_PROPS),
        "",
        "`SitegraphMeta {name: 'loads'}` holds `store_id` (a uuid made once) and `last_seq` (the last load "
        "sequence number handed out).",
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


# --- docs/survey-format.md -----------------------------------------------------------

# The kind of a column as a survey team reads it.
_KIND_ZH = {
    Kind.TEXT: "文本", Kind.INT: "整数", Kind.FLOAT: "数字", Kind.BOOL: "是/否", Kind.DATE: "日期",
    Kind.LIST: "列表", Kind.USCC: "统一社会信用代码", Kind.ENUM: "单选", Kind.ENUM_LIST: "多选（列表）",
    Kind.REF: "引用", Kind.REF_LIST: "引用列表",
}


def _md(text: str) -> str:
    """Text for a table cell: pipes escaped, line breaks removed."""
    return text.replace("|", "\\|").replace("\n", " ")


def _words(words) -> str:
    return "、".join(f"`{w}`" for w in words)


def _ref_target(c: Column) -> str:
    t = NODES[c.ref]
    alt = f"或{t.column(t.alt_key).header}" if t.alt_key else ""  # 企业: a USCC or a 临时编码
    return f"{t.sheet}表的{t.key_column.header}{alt}"


def _values_cell(c: Column) -> str:
    if c.enum:
        text = "、".join(c.enum)
        if c.aliases:
            text += "（也可写 " + "、".join(f"{a}＝{v}" for a, v in c.aliases) + "）"
        return text
    if c.kind is Kind.BOOL:
        return "是、否"
    if c.ref:
        return "→ " + _ref_target(c)
    return ""


def _column_note(c: Column, nt: NodeType) -> str:
    parts = []
    if c is nt.key_column:
        parts.append("主键，本表内不得重复")
        if nt.key_from:  # loaders/keys.py
            day = "-20241112" if any(nt.column(k).kind is Kind.DATE for k in nt.key_from) else ""
            parts.append("表中没有本列时，编号按 " + " + ".join(f"“{nt.column(k).header}”" for k in nt.key_from)
                         + f" 生成（如 `{nt.key_prefix}{day}-3FA2B1C9D0E1`），同一行再次导入编号不变")
    note = c.note_zh.removeprefix("主键；").removeprefix("主键") if c is nt.key_column else c.note_zh
    if note:
        parts.append(note)
    since = getattr(c, "since", 1)
    if since > 1:
        parts.append(f"第 {since} 版新增" + ("" if c.required else "，可不填"))
    if c.unit:
        parts.append(f"单位：{c.unit}")
    if c.synonyms:
        parts.append("表头也可写作 " + "、".join(c.synonyms))
    return "；".join(parts)


def _row_rules(nt: NodeType) -> list[str]:
    """The rules across the columns of one row (loaders/validate.py declares them)."""
    from loaders import validate as v

    h = lambda key: f"“{nt.column(key).header}”"  # noqa: E731
    shown = lambda x: "是" if x is True else "否" if x is False else str(x)  # noqa: E731
    out = []
    for lab, a, b in v.DIFFERENT:
        if lab == nt.label:
            out.append(f"{h(a)}与{h(b)}不能是同一单位。")
    for lab, a, b in v.AT_LEAST_ONE:
        if lab == nt.label:
            out.append(f"{h(a)}和{h(b)}至少填写一项。")
    for lab, later, earlier in v.NOT_BEFORE:
        if lab == nt.label:
            out.append(f"{h(later)}不得早于{h(earlier)}。")
    for lab, col, cond, value in v.REQUIRED_WHEN:
        if lab == nt.label:
            out.append(f"{h(cond)}为“{shown(value)}”时，必须填写{h(col)}。")
    for lab, col, other in v.REQUIRED_WITH:
        if lab == nt.label:
            out.append(f"填写了{h(other)}时，必须填写{h(col)}。")
    for lab, col, cond, value in v.BLANK_WHEN:
        if lab == nt.label:
            out.append(f"{h(cond)}记为“{shown(value)}”时，不得填写{h(col)}。")
    return out


def _units() -> dict[str, tuple[str, ...]]:
    from .schema import UNITS

    used = {c.unit for nt in NODE_TYPES for c in nt.columns if c.unit}
    return {u: ws for u, ws in UNITS.items() if u in used}


def _general_rules() -> list[str]:
    from loaders import messages, readers, values

    yes = [w for w in values.BOOL_WORDS[True] if w != "是"]
    no = [w for w in values.BOOL_WORDS[False] if w != "否"]
    sheets = "、".join(f"{nt.sheet}（`{nt.file}`）" for nt in NODE_TYPES)
    refs = []
    for nt in NODE_TYPES:
        for c in nt.refs:
            many = "（可填多个，用分隔符隔开）" if c.kind is Kind.REF_LIST else ""
            refs.append(f"| {nt.sheet} | {c.header} | {_ref_target(c)}{many} |")
    warn = [m.zh for m in messages.MESSAGES.values() if m.severity == messages.WARNING]
    import re

    warn = [re.sub(r"\{[a-z_]+\}", "…", w) for w in warn]
    return [
        "## 一、交什么文件",
        "",
        f"- **一个 Excel 工作簿**（{'、'.join(readers.XLSX_SUFFIXES)}），每张表一个工作表，工作表名用下面的中文表名；"
        "或者**一个文件夹**，每张表一个 CSV 文件，文件名用中文表名或英文文件名（如 `企业.csv` 或 `enterprises.csv`）。",
        f"- 可识别的表：{sheets}。可以只交其中几张表（例如本周只交“租赁”表）。工作表名不是上述表名时，"
        "名称中含有表名的（如“劳务派遣用工”“隐患排查治理台账”）按该表读取；否则按表头识别：与哪张表的列名相符最多"
        f"（至少 {readers.MIN_HEADERS} 列，且含该表主键或必填引用列），就按哪张表读取（如名为 `Sheet1` 的隐患台账），"
        "并提示“已按“…”表读取”。仍无法识别且有内容的工作表列为**未导入**，"
        f"模板的“{readers.INSTRUCTIONS_SHEET}”工作表不读。",
        "- 旧版 `.xls` 无法读取，请在 Excel 中另存为 `.xlsx`。",
        "- CSV 文件可以是 UTF-8、带 BOM 的 UTF-8 或 GB18030/GBK（中文 Windows 上 Excel 默认保存的编码），"
        "程序自动识别，不会猜错；都不是时报错并指出文件。Excel 的“Unicode 文本”（UTF-16）不是 CSV，"
        "请另存为“CSV UTF-8（逗号分隔）”。",
        f"- **表头**：前 {readers.HEADER_ROWS} 个非空行中可识别列名最多（至少 {readers.MIN_HEADERS} 个）的一行；"
        "其上的标题行（合并的标题、“填报单位：… 填报日期：…”）不是数据；标题中写的日期在警告中提示，"
        "不用作调查日期（用 `load --date` 指定）。都不到 "
        f"{readers.MIN_HEADERS} 个时，第一个非空行是表头。标题区超过 {readers.HEADER_ROWS} 行、或两行同样像表头，"
        "是错误并指出行号。两行表头（合并的分组单元格，如“五落实”下的整改责任人、整改措施……）读下一行的列名；"
        "分组名是引用列时（“出租方”下的“统一社会信用代码”）即该引用列，其下的“名称”列在代码空白时按企业名称读"
        "（没有代码列时就是该引用列）。"
        f"“{'”“'.join(readers.IGNORED_HEADERS)}”列不读；“{readers.SERIAL_HEADER}”列在本表有自己的主键列时不读。",
        "- 表头写中文列名（也接受各列说明中的其他写法），也可以写英文键；列的顺序不限；表头中的全角字符、空格、换行、"
        "大小写、末尾的 `*`/`＊` 和末尾括号中的单位（如 `（人）`、`(㎡)`、`（万元）`）不影响识别。"
        "表头中的单位与该列单位不符是错误；`（元）` 写在万元列上时，按元读取并换算成万元。"
        "缺少必填列是错误；无法识别的列**未导入**，警告中给出该列的非空单元格数。空行跳过。",
        "- **未导入**：有内容而未识别的列和工作表，`validate` 和 `load` 的汇总中逐一列出（表/列未导入，"
        "及其非空单元格数），也写入问题清单；加 `--strict` 时每一项都是错误。",
        "- **映射文件**：本单位台账自己的表名、列名和取值，上述规则认不出的，用 `--mapping 映射.toml`"
        "（`validate`、`load`、`template` 均可用）对应到 sitegraph 的；`sitegraph map 台账.xlsx --out 映射.toml` "
        "列出所有未识别的表、列和单选取值，各附最相近的建议和得分，核对后即可使用（见 [office-ledgers.md](office-ledgers.md)）。"
        "映射文件有语法错误，或指向不存在的表、列、取值，是错误并指出行号。",
        "- 空白台账用 `sitegraph template 台账模板.xlsx` 生成：表头颜色区分必填和选填，每个表头有批注"
        "（类型、可选值、说明），单选和是/否列带下拉框。",
        "",
        "## 二、怎么填单元格",
        "",
        "- 单元格前后的空格（包括全角空格）、换行一律忽略。全角的字母、数字和标点（如 `１２`、`Ａ`）按半角读。",
        f"- **是/否**：填 `是` 或 `否`。也接受：表示“是”的 {_words(yes)}，表示“否”的 {_words(no)}（不区分大小写）。"
        "**没有排查的留空**：空白表示“未排查”，不等于“否”。统计时只认明确的记录：一项责任（签了协议、审查了承租方、"
        "通过消防审验……）只有记为“是”才算落实；一项违规（违章搭建、三合一……）只有记为“是”才算存在。"
        "所以留空的检查项会显示为缺项，查询 `survey-incomplete` 会列出所有有空白检查项的记录，便于回头补查。",
        "- **日期**：写成 `2024-11-11`、`2024/11/11`、`2024.11.11`、`2024年11月11日` 或 `20241111`，"
        "也可以是 Excel 的日期单元格；月、日可以是一位数。写成数字的日期（Excel 序列号或 `20241111`）"
        f"只在 {values.MIN_DATE.year} 年至 {values.MAX_DATE.year} 年之间有效。",
        "- **整数、数字**：普通数字，可以带千位分隔符（`1,200`）或用全角数字；不能为负数。面积单位是平方米，"
        "资金单位是万元（见各列说明）。有单位的列，数字后可以带该列的单位（"
        + "；".join(f"{u}：{_words(ws)}" for u, ws in _units().items())
        + "），如 `3200㎡`、`10人`、`5万元`；万元列中写 `50000元` 按元换算（÷10000）。"
        "其他单位是错误（“请只填数字，单位为…”）。",
        "- **列表**（多选、检查人员、发现隐患等）：各项之间用 `、`、`；`、`;`、`，` 或 `,` 分隔，空项忽略。",
        "- **单选、多选**：只能填该列列出的取值（个别列另有可接受的写法，见该列）。",
        f"- **统一社会信用代码**：18 位，只用数字和大写字母 `{values.USCC_CHARSET}`（没有 I、O、S、V、Z）；"
        "小写、全角和中间的空格会自动更正。长度或字符不对是错误。第 18 位校验位按 GB 32100-2015 核对："
        "校验位不符只是**警告**，记录照样导入，并标记为校验未通过（`uscc_valid = false`），查询 `survey-incomplete` "
        "会列出它——真实的代码偶有登记错误，拒收会丢掉这条记录。请把 Excel 中的代码列设为“文本”格式："
        "存成数字的代码后几位已经丢失，会被拒收。",
        "- **编号**（各表的主键，如租赁编号）：前后空格和全角字符会被规范；同一张表里不得重复。",
        "- **个人信息**（下表“个人信息”一栏标“是”的列，如联系电话、整改责任人）：照常填写；"
        "查询结果、导出和简报默认不显示，只有明确要求（`--include-personal`）时才输出。",
        "",
        "## 三、表与表之间的引用",
        "",
        "引用列填的是另一张表的主键。每个引用都必须找得到：要么在本次交的台账里，要么在图谱中已有（以前导入过）。"
        "找不到是错误，并指出是哪张表的哪一行。",
        "",
        "| 表 | 引用列 | 填写 |",
        "|---|---|---|",
        *refs,
        "",
        "引用企业的列（出租方、承租方、产权单位、企业、被检查企业……）也可以填**企业名称**：不是已知编码的，"
        "按名称（忽略空格和全角半角）在本台账的“企业”表和图谱中查找——恰好一家即为该企业（警告中说明有几个单元格按名称对应）；"
        "有几家同名是错误并列出它们；一家也没有是错误（“找不到名为…的企业：请先在“企业”表登记，或填写统一社会信用代码”）。",
        "",
        "此外：园区的上级园区不能绕成一个圈；同一建筑上的租赁链不能绕成一个圈；出租方要么是建筑的产权单位，"
        "要么本身是这栋建筑的承租方（转租时，上一手租赁也要有一行）。这些也对照图谱中已有的记录检查。",
        "",
        "## 四、检查和导入",
        "",
        "- `sitegraph validate 台账.xlsx` 只检查不导入；`--report 问题清单.xlsx` 把问题清单写成 Excel 发回排查组。"
        "每个问题都指出文件、工作表、行号（与 Excel 中看到的行号一致）、列、所填内容和原因（`--lang en` 为英文）。",
        "- `sitegraph load 台账.xlsx --source 乡镇名` 先检查；**有任何错误，一条都不写入**；只有警告时照常导入。",
        "- 同一份台账再导入一次不会改变任何数据；改正过的行在原记录上更新。导入结果中“更新”只统计内容有变化的记录；"
        "内容相同、只是文件名、工作表或行号变了的记录记为“位置变化”（例如中间插入了一行）。",
        "- `--prune` 删除同一来源中本次台账已经没有的记录，不动其他来源的记录。",
        "",
        "下列情况只给出**警告**，不影响导入（其余问题都是错误，须改正后才能导入）：",
        "",
        *(f"- {w}" for w in warn),
        "",
    ]


def render_survey_format() -> str:
    """docs/survey-format.md: the ledger format for survey teams, from the schema."""
    out = [
        "# 排查摸底台账格式 / Survey ledger format",
        "",
        "本页写给乡镇街道、县区排查组：台账怎么交、每列怎么填、哪些情况会报错。",
        f"由 `graphmodel/schema.py`（台账格式版本 {LEDGER_FORMAT_VERSION}）和导入程序的声明生成"
        "（`python -m graphmodel.docs`），请勿手工修改。",
        "",
        "*For survey teams: how to hand in a ledger and fill in each column. Generated from the schema;",
        "each sheet below gives its English file name, and each column its English key (accepted as a",
        "header too).*",
        "",
        "这是一份约定：列只会作为选填列增加，不会改名或删除，以前的台账始终有效。",
        "",
        *_general_rules(),
        "## 五、各表各列",
        "",
        "“类型”见第二节；“个人信息”为“是”的列默认不出现在报告中；“必填”的列不能缺、值不能空。",
        "",
    ]
    for nt in NODE_TYPES:
        out += [
            f"### {nt.sheet}（`{nt.file}.csv`，{nt.title_en}）— 主键：{nt.key_column.header}",
            "",
        ]
        if nt.note_zh:
            out += [nt.note_zh, ""]
        out += [
            "| 表头 | 英文键 | 类型 | 必填 | 可选值 / 引用 | 个人信息 | 说明 |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in nt.columns:
            out.append(
                f"| {c.header} | `{c.key}` | {_KIND_ZH[c.kind]} | {'必填' if c.required else ''} | "
                f"{_md(_values_cell(c))} | {'是' if c.personal else ''} | {_md(_column_note(c, nt))} |"
            )
        rules = _row_rules(nt)
        if rules:
            out += ["", "本表还要求：", "", *(f"- {r}" for r in rules)]
        out.append("")
    return "\n".join(out)


def main() -> int:
    DOCS.mkdir(parents=True, exist_ok=True)
    for path, text in ((OUT, render()), (SURVEY_FORMAT_OUT, render_survey_format())):
        path.write_text(text, encoding="utf-8")
        print(path, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
