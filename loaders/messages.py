"""Every problem the loader can report: its code, severity, and its text in Chinese and English.

A `Problem` carries where it is (file, sheet, row as Excel shows it, column) and what
(the value as written, a code and its parameters); its reason is rendered from the
templates below in the language asked for. Template parameters that name something
language-dependent come in pairs (`other_zh` / `other_en`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

ERROR = "error"
WARNING = "warning"


class Msg(NamedTuple):
    severity: str
    zh: str
    en: str


_SAVE_AS = "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后重试"

MESSAGES: dict[str, Msg] = {
    # --- files and sheets ------------------------------------------------------------
    "FILE_NOT_FOUND": Msg(ERROR, "找不到该文件或文件夹", "no such file or folder"),
    "FILE_TYPE": Msg(
        ERROR,
        "不支持的文件类型“{ext}”：请提交 .xlsx 工作簿，或每张表一个 CSV 文件的文件夹",
        "unsupported file type '{ext}': hand in an .xlsx workbook or a folder of CSV files",
    ),
    "FILE_XLS": Msg(
        ERROR,
        "旧版 .xls 格式无法读取：请在 Excel 中“另存为”Excel 工作簿（.xlsx）",
        "the old .xls format cannot be read: in Excel, 'Save As' an Excel Workbook (.xlsx)",
    ),
    "FILE_EMPTY": Msg(ERROR, "文件是空的（0 字节或没有任何内容）", "the file is empty"),
    "FILE_CORRUPT": Msg(
        ERROR,
        "无法打开工作簿：文件已损坏或不是真正的 .xlsx 文件（{detail}）；请用 Excel 打开后重新保存为 .xlsx",
        "cannot open the workbook: the file is damaged or not a real .xlsx file ({detail}); "
        "open it in Excel and save it again as .xlsx",
    ),
    "ENCODING": Msg(
        ERROR,
        "无法识别文件编码：既不是 UTF-8 也不是 GB18030/GBK（第 {line} 行附近有无法解码的字节）；" + _SAVE_AS,
        "unknown text encoding: neither UTF-8 nor GB18030/GBK (undecodable bytes near line {line}); "
        "save it from Excel as 'CSV UTF-8 (Comma delimited)'",
    ),
    "ENCODING_UTF16": Msg(
        ERROR,
        "文件是 UTF-16 编码（Excel 的“Unicode 文本”），不是 CSV；" + _SAVE_AS,
        "the file is UTF-16 ('Unicode Text' from Excel), not CSV; save it as 'CSV UTF-8 (Comma delimited)'",
    ),
    "CSV_QUOTES": Msg(
        ERROR,
        "引号不成对：从这一行开始的双引号没有闭合，其后的内容无法分行（{detail}）；检查该行的英文双引号",
        "unbalanced quotes: a double quote opened on this row is never closed, so the rows after it "
        "cannot be separated ({detail}); check the double quotes on this row",
    ),
    "CSV_SYNTAX": Msg(
        ERROR,
        "CSV 格式错误，从这一行起无法读取（{detail}）",
        "malformed CSV, unreadable from this row on ({detail})",
    ),
    "NO_SHEETS": Msg(
        ERROR,
        "没有可识别的台账表：工作表（或 CSV 文件）应命名为 {expected}",
        "no known ledger sheet: sheets (or CSV files) must be named {expected_en}",
    ),
    "SHEET_DUPLICATE": Msg(
        ERROR,
        "同一张表出现了两次（另见 {other}），无法确定以哪一份为准",
        "the same sheet is handed in twice (see also {other}); keep one",
    ),
    "SHEET_UNKNOWN": Msg(
        WARNING,
        "无法识别的工作表或文件，未导入（其中有 {cells} 个非空单元格；可识别的表名：{expected}）",
        "unknown sheet or file, not imported ({cells} non-blank cells; known names: {expected_en})",
    ),
    "SHEET_TAKEN_AS": Msg(
        WARNING,
        "已按“{as_zh}”表读取（{how_zh}）",
        "read as the {as_en} sheet ({how_en})",
    ),
    "HEADER_TOO_DEEP": Msg(
        ERROR,
        "表头在第 {row} 行：表头上方的标题区超过 {limit} 行，请删去多余的标题行，使表头位于前 {limit} 行",
        "the header is on row {row}: the title area above it is longer than {limit} rows; delete title rows "
        "so that the header is within the first {limit} rows",
    ),
    "HEADER_AMBIGUOUS": Msg(
        ERROR,
        "无法确定表头：第 {row} 行和第 {other} 行都像表头（各有 {count} 个可识别的列名），请删去其中一行",
        "cannot tell the header: rows {row} and {other} both look like it ({count} known column names each); "
        "delete one of them",
    ),
    "HEADER_UNIT": Msg(
        ERROR,
        "列名中的单位“{written}”与本列不符：本列单位为{unit}",
        "the unit '{written}' in the column name does not fit this column, whose unit is {unit}",
    ),
    "TITLE_DATE": Msg(
        WARNING,
        "标题行中写有日期 {date}：未用作调查日期；如这是本次排查的调查日期，导入时请加 --date {date}",
        "the title rows give the date {date}: it is not used as the survey date; if it is, load with --date {date}",
    ),
    "MAPPING_UNUSED": Msg(
        WARNING,
        "映射文件中的{what_zh}“{value}”在台账中没有出现，未使用",
        "the {what_en} '{value}' of the mapping file is not in the ledger: not used",
    ),
    "SHEET_EMPTY": Msg(WARNING, "工作表是空的，已跳过", "the sheet is empty and was skipped"),
    "SHEET_NO_ROWS": Msg(WARNING, "只有表头，没有数据行", "a header row only, no data rows"),
    "HEADER_NONE": Msg(
        ERROR,
        "表头行没有一个可识别的列名（文件编码按 {encoding} 读取）；第一行应为表头，如 {example}",
        "no known column name in the header row (read as {encoding}); the first row must hold the headers, "
        "e.g. {example_en}",
    ),
    "HEADER_DUPLICATE": Msg(
        ERROR,
        "列名重复：第 {col} 列与第 {other} 列是同一列",
        "duplicate column: columns {col} and {other} are the same column",
    ),
    "COLUMN_MISSING": Msg(ERROR, "缺少必填列", "a required column is missing"),
    "COLUMN_UNKNOWN": Msg(WARNING, "无法识别的列，未导入（该列有 {cells} 个非空单元格）",
                          "unknown column, not imported ({cells} non-blank cells)"),
    "COLUMN_UNNAMED": Msg(
        WARNING,
        "第 {col} 列没有列名但有内容，未导入（该列有 {cells} 个非空单元格）",
        "column {col} has values but no header, not imported ({cells} non-blank cells)",
    ),
    "ROW_TOO_LONG": Msg(
        ERROR,
        "这一行比表头多出 {extra} 个单元格（“{cells}”）：某个值里可能有未加引号的逗号，或引号不成对",
        "this row has {extra} more cells than the header ('{cells}'): a value may hold an unquoted comma, "
        "or quotes are unbalanced",
    ),
    # --- cells ---------------------------------------------------------------------
    "VALUE_REQUIRED": Msg(ERROR, "必填项为空", "a required value is blank"),
    "BAD_BOOL": Msg(
        ERROR,
        "不是有效的是/否值：请填 是 或 否（也可填 有/无、Y/N、√/×），未排查的留空",
        "not a yes/no value: write 是 or 否 (also 有/无, Y/N, yes/no, true/false, 1/0, √/×); leave blank if not surveyed",
    ),
    "BAD_DATE": Msg(
        ERROR,
        "不是有效日期：请写成 2024-11-11、2024/11/11、2024.11.11 或 2024年11月11日",
        "not a valid date: write 2024-11-11, 2024/11/11, 2024.11.11 or 2024年11月11日",
    ),
    "BAD_DATE_DAY": Msg(ERROR, "{year}年{month}月没有{day}日", "{month_en} {year} has no day {day}"),
    "BAD_DATE_MONTH": Msg(ERROR, "没有{month}月：月份应为 1 至 12", "there is no month {month}: months are 1 to 12"),
    "BAD_INT": Msg(ERROR, "不是整数", "not a whole number"),
    "BAD_UNIT": Msg(ERROR, "请只填数字，单位为{unit}", "write the number only; the unit is {unit}"),
    "BAD_NUMBER": Msg(ERROR, "不是数字", "not a number"),
    "NEGATIVE": Msg(ERROR, "不能为负数", "must not be negative"),
    "BAD_ENUM": Msg(ERROR, "不是允许的取值，应为：{allowed}", "not an allowed value; one of: {allowed}"),
    "BAD_ENUM_SUGGEST": Msg(ERROR, "是否为“{suggest}”？不是允许的取值，应为：{allowed}",
                            "did you mean '{suggest}'? not an allowed value; one of: {allowed}"),
    "BAD_ENUM_ITEMS": Msg(
        ERROR,
        "其中“{items}”不是允许的取值，应从以下选择：{allowed}",
        "'{items}' is not allowed; choose from: {allowed}",
    ),
    "BAD_USCC_LENGTH": Msg(
        ERROR,
        "统一社会信用代码应为 18 位，这里是 {length} 位",
        "a unified social credit code has 18 characters, this one has {length}",
    ),
    "BAD_USCC_CHARS": Msg(
        ERROR,
        "统一社会信用代码含有不允许的字符“{chars}”（只用数字和大写字母，不用 I、O、S、V、Z）",
        "the unified social credit code holds characters that are not allowed: '{chars}' "
        "(digits and capital letters only, never I, O, S, V, Z)",
    ),
    "USCC_AS_NUMBER": Msg(
        ERROR,
        "统一社会信用代码被 Excel 存成了数字，后几位已丢失：请把该列设为“文本”格式后重新填写",
        "Excel stored the credit code as a number and lost its last digits: format the column as Text "
        "and type the code again",
    ),
    "USCC_CHECK": Msg(
        WARNING,
        "统一社会信用代码校验位不符（按 GB 32100 第 18 位应为 {expected}）：请核对；仍会导入，并标记为校验未通过",
        "the check character is wrong (GB 32100 gives {expected} as the 18th character): please verify; "
        "the record is still loaded, marked uscc_valid = false",
    ),
    "BAD_VALUE": Msg(ERROR, "无法识别的取值（{detail}）", "value not understood ({detail})"),
    # --- across rows and sheets --------------------------------------------------------
    # --- parties without a USCC (docs/parties.md) -------------------------------------
    "PARTY_KEY_REQUIRED": Msg(
        ERROR,
        "统一社会信用代码和临时编码不能都为空：有代码的填代码，没有代码的（个体、自然人、村集体、无照经营等）填排查组自编的临时编码",
        "the USCC and the 临时编码 (provisional_id) are both blank: give the USCC, or for a party without "
        "one a provisional code of the survey team",
    ),
    "PROVISIONAL_ID_NUMBER": Msg(
        ERROR,
        "临时编码是一个居民身份证号码（通过 GB 11643 校验）：身份证号码不得作为编码存储，请改用排查组自编的编码",
        "the 临时编码 is a resident identity number (it passes the GB 11643 check): identity numbers are not "
        "to be stored; use a code of the survey team's own",
    ),
    "PROVISIONAL_DUPLICATE": Msg(
        ERROR,
        "临时编码重复：与第 {first_row} 行相同，一个临时编码只能对应一个主体",
        "duplicate 临时编码: the same as row {first_row}; a provisional code names one party only",
    ),
    "MERGE_ALIAS_TAKEN": Msg(
        ERROR,
        "临时编码已合并到另一主体（统一社会信用代码 {other}），不能再合并到本行的统一社会信用代码",
        "this 临时编码 was already merged into another party (USCC {other}); it cannot be merged into this row's USCC",
    ),
    "MERGE_USCC_IS_ALIAS": Msg(
        ERROR,
        "该统一社会信用代码已是主体 {other} 的别名（临时编码），不能作为合并目标",
        "this USCC is already an alias (临时编码) of party {other}; it cannot take a merge",
    ),
    "PROVISIONAL_MERGED": Msg(
        WARNING,
        "该临时编码的主体已取得统一社会信用代码 {other} 并已合并：本行不再单独导入，引用该临时编码的记录指向 {other}",
        "this provisional party was merged into USCC {other}: the row is not loaded on its own, and references "
        "to the 临时编码 resolve to {other}",
    ),
    "PARTY_UNRESOLVED": Msg(
        ERROR,
        "找不到主体“{value}”：不是有效的统一社会信用代码，本台账的“企业”表和图谱中也没有这个临时编码",
        "no party '{value}': it is not a valid USCC, and neither the survey's 企业 (enterprises) sheet nor the "
        "graph has this 临时编码",
    ),
    "DUPLICATE_KEY": Msg(
        ERROR,
        "编号重复：与第 {first_row} 行相同，每条记录的编号必须唯一",
        "duplicate key: the same as row {first_row}; every record needs its own key",
    ),
    "REF_UNRESOLVED": Msg(
        ERROR,
        "找不到{target_zh}“{value}”：本台账的“{sheet_zh}”表和图谱中都没有这条记录",
        "no {target_en} '{value}': neither the survey's '{sheet_en}' sheet nor the graph has it",
    ),
    "SAME_PARTY": Msg(
        ERROR,
        "{header_zh}与{other_zh}不能是同一单位",
        "{header_en} must differ from {other_en}",
    ),
    "NO_PLACE": Msg(
        ERROR,
        "{header_zh}与{other_zh}至少要填写一项",
        "fill in at least one of {header_en} and {other_en}",
    ),
    "DATE_ORDER": Msg(
        ERROR,
        "{header_zh}早于{other_zh}（{other_value}）",
        "{header_en} is before {other_en} ({other_value})",
    ),
    "REQUIRED_WHEN": Msg(
        ERROR,
        "{cond_zh}为“{cond_value}”时必须填写{header_zh}",
        "{header_en} is required when {cond_en} is '{cond_value}'",
    ),
    "REQUIRED_WITH": Msg(
        ERROR,
        "已填写{other_zh}（“{other_value}”）时必须填写{header_zh}",
        "{header_en} is required when {other_en} is filled ('{other_value}')",
    ),
    "BLANK_WHEN": Msg(
        ERROR,
        "{cond_zh}记为“{cond_value_zh}”时不得填写{header_zh}（两者矛盾，请核对）",
        "{header_en} must be blank when {cond_en} is recorded '{cond_value_en}' (the two contradict each other)",
    ),
    "LESSOR_NOT_ENTITLED": Msg(
        ERROR,
        "出租方既不是建筑 {building} 的产权单位（{owner}），也不是该建筑的承租方：转租须先登记上一手租赁",
        "the lessor is neither the owner of building {building} ({owner}) nor a lessee of it: "
        "a sub-lease needs the head lease as a row too",
    ),
    "SITE_LOOP": Msg(
        ERROR,
        "上级园区形成循环：{cycle}",
        "the site parents form a loop: {cycle}",
    ),
    "LEASE_LOOP": Msg(
        ERROR,
        "建筑 {building} 的租赁链形成循环：{cycle}",
        "the lease chain on building {building} loops: {cycle}",
    ),
    "PARTY_BY_NAME": Msg(
        WARNING,
        "“{header_zh}”列有 {count} 个单元格填的是企业名称，已按名称找到对应的企业（如“{value}” → {key}）",
        "{count} cell(s) of the {header_en} column name a party by its name: each was matched by name "
        "(e.g. '{value}' → {key})",
    ),
    "PARTY_NAME_AMBIGUOUS": Msg(
        ERROR,
        "有 {count} 家企业名为“{value}”：{parties}；请改填其统一社会信用代码（或临时编码）",
        "{count} parties are named '{value}': {parties_en}; write its unified social credit code (or 临时编码) instead",
    ),
    "PARTY_NAME_UNKNOWN": Msg(
        ERROR,
        "找不到名为“{value}”的企业：请先在“企业”表登记，或填写统一社会信用代码",
        "no party named '{value}': register it on the 企业 (enterprises) sheet first, or write its unified "
        "social credit code",
    ),
    "KEY_DERIVED": Msg(
        WARNING,
        "本表没有“{key_zh}”列：编号按 {how_zh} 生成（如 {example}），同一行再次导入时编号不变",
        "this sheet has no {key_en} column: keys were derived from {how_en} (e.g. {example}); "
        "the same row loaded again gets the same key",
    ),
    "KEY_DERIVED_NUMBERED": Msg(
        WARNING,
        "本表没有“{key_zh}”列：编号按 {how_zh} 生成（如 {example}），同一行再次导入时编号不变；"
        "其中 {numbered} 行的这几项与前面的行相同，按行的先后编号加 -2、-3 区分（调换这些行的顺序会使编号互换）",
        "this sheet has no {key_en} column: keys were derived from {how_en} (e.g. {example}); the same row "
        "loaded again gets the same key; {numbered} row(s) repeat an earlier row's {how_en} and are numbered "
        "-2, -3 in the order of the rows (reordering them swaps their keys)",
    ),
    "KEY_DERIVED_DUPLICATE": Msg(
        ERROR,
        "与第 {first_row} 行完全相同（本表没有“{key_zh}”列，两行无法区分）：是重复录入的吗？请删去这一行，或增加“{key_zh}”列",
        "identical to row {first_row} (this sheet has no {key_en} column, so the two cannot be told apart): "
        "entered twice? delete this row, or add a {key_en} column",
    ),
    "KEY_OTHER_SOURCE": Msg(
        WARNING,
        "本表有 {count} 条记录已由台账“{other}”导入图谱：导入后以本台账为准（来源改为“{source}”）",
        "{count} records of this sheet are in the graph from survey '{other}': loading replaces "
        "them (their source becomes '{source}')",
    ),
}


# Problems that say something in the ledger was not imported (with --strict: errors).
NOT_IMPORTED = frozenset({"COLUMN_UNKNOWN", "COLUMN_UNNAMED", "SHEET_UNKNOWN"})


def severity(code: str) -> str:
    return MESSAGES[code].severity


@dataclass
class Problem:
    """One problem found in a survey, located as the team sees it in Excel."""

    code: str
    file: str = ""
    sheet: str = ""
    row: int | None = None  # as Excel shows it (the header is row 1)
    column: str | None = None  # English key of the column, or the header as written
    header: str | None = None  # Chinese header of the column (None for unknown columns)
    value: str = ""  # the cell as written
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None  # node type of the sheet
    col_index: int | None = None  # 0-based position in the file, for sorting
    strict: bool = False  # --strict: a NOT_IMPORTED warning counts as an error

    @property
    def severity(self) -> str:
        return ERROR if self.strict else MESSAGES[self.code].severity

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def column_name(self, lang: str = "zh") -> str:
        if lang == "en":
            return self.column or self.header or ""
        return self.header or self.column or ""

    def reason(self, lang: str = "zh") -> str:
        msg = MESSAGES[self.params.get("variant") or self.code]  # a variant: a more precise text
        template = msg.en if lang == "en" else msg.zh
        params = {"value": self.value, **self.params}
        try:
            return template.format(**params)
        except (KeyError, IndexError):  # a missing parameter must not hide the problem
            return f"{template} {params}"

    def where(self, lang: str = "zh") -> str:
        """'file › sheet row 5 column 出租方' for one-line messages."""
        parts = [self.file]
        if self.sheet and self.sheet != self.file:
            parts.append(self.sheet)
        loc = " › ".join(p for p in parts if p)
        if self.row is not None:
            loc += f" 第{self.row}行" if lang != "en" else f" row {self.row}"
        col = self.column_name(lang)
        if col:
            loc += f" 「{col}」" if lang != "en" else f" [{col}]"
        return loc

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column_name(lang),
            "key": self.column,
            "value": self.value,
            "reason": self.reason(lang),
        }


SEVERITY_TEXT = {"zh": {ERROR: "错误", WARNING: "警告"}, "en": {ERROR: "error", WARNING: "warning"}}

# Report columns: (key in as_dict, Chinese header, English header)
REPORT_COLUMNS = (
    ("severity", "级别", "severity"),
    ("file", "文件", "file"),
    ("sheet", "工作表", "sheet"),
    ("row", "行号", "row"),
    ("column", "列", "column"),
    ("value", "填写内容", "value"),
    ("reason", "问题说明", "reason"),
    ("code", "代码", "code"),
)


def report_rows(problems: list[Problem], lang: str = "zh") -> list[dict[str, Any]]:
    rows = []
    for p in problems:
        d = p.as_dict(lang)
        d["severity"] = SEVERITY_TEXT["en" if lang == "en" else "zh"][p.severity]
        rows.append(d)
    return rows


def sort_key(p: Problem, sheet_order: dict[tuple[str, str], int] | None = None):
    """Errors first (they must be fixed), then warnings; each in the order of the files."""
    order = (sheet_order or {}).get((p.file, p.sheet), -1)  # file-level and unknown sheets first
    return (not p.is_error, p.file, order, p.sheet, p.row or 0,
            p.col_index if p.col_index is not None else -1, p.code)
