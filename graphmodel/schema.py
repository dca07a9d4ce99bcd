"""The one schema source of sitegraph.

Every label, key, property and relationship type is declared here once. The survey
format (sheets, Chinese headers, value kinds, enums), the embedded DDL, the Neo4j
constraints, the neomodel classes and the schema page in docs/ are all derived from
these declarations; nothing else in the code base names a property list by hand.

A node type corresponds to one sheet of the survey ledger (survey-format.md). A column
whose kind is a reference (`ref`, `ref_list`) is stored as a property *and* drawn as a
relationship, so that the ledger can be read back as it was written and the graph can
be walked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

SCHEMA_VERSION = 3  # store schema. 2: survey-format version 2 columns (issue 12); 3: campaign history (issue 11)
LEDGER_FORMAT_VERSION = 2  # survey-format.md's ledger format version (the store schema moves on its own)


class Kind(str, Enum):
    """How a ledger cell is parsed (loaders/values.py) and stored."""

    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    LIST = "list"  # free list of strings
    USCC = "uscc"
    ENUM = "enum"
    ENUM_LIST = "enum_list"  # list whose items come from `enum`
    REF = "ref"  # key of another record
    REF_LIST = "ref_list"  # list of keys of other records


# Storage type of each kind: (embedded DDL type, Neo4j property type for docs).
STORAGE = {
    Kind.TEXT: ("STRING", "STRING"),
    Kind.INT: ("INT64", "INTEGER"),
    Kind.FLOAT: ("DOUBLE", "FLOAT"),
    Kind.BOOL: ("BOOLEAN", "BOOLEAN"),
    Kind.DATE: ("DATE", "DATE"),
    Kind.LIST: ("STRING[]", "LIST<STRING>"),
    Kind.USCC: ("STRING", "STRING"),
    Kind.ENUM: ("STRING", "STRING"),
    Kind.ENUM_LIST: ("STRING[]", "LIST<STRING>"),
    Kind.REF: ("STRING", "STRING"),
    Kind.REF_LIST: ("STRING[]", "LIST<STRING>"),
}


class _Stored:
    """Storage types of a property, from its kind."""

    kind: Kind

    @property
    def ddl_type(self) -> str:
        return STORAGE[self.kind][0]

    @property
    def neo4j_type(self) -> str:
        return STORAGE[self.kind][1]


@dataclass(frozen=True)
class Column(_Stored):
    """One column of a ledger sheet, and the node property it is stored in."""

    key: str  # English key: property name, CSV/English header alias
    header: str  # Chinese header as the survey team sees it
    kind: Kind
    required: bool = False
    enum: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()  # (alias, canonical value) for enums
    ref: str | None = None  # label of the referenced node type
    rel: str | None = None  # relationship type drawn for a reference
    rel_out: bool = True  # True: (this)-[rel]->(ref); False: (ref)-[rel]->(this)
    personal: bool = False  # personal data: hidden unless --include-personal
    note_zh: str = ""
    note_en: str = ""
    since: int = 1  # format version that added the column (survey-format.md "Version 2 additions")
    synonyms: tuple[str, ...] = ()  # other header spellings of real office forms (real-ledgers.md)
    unit: str = ""  # unit of a number column (a key of UNITS): stripped from cells and headers


@dataclass(frozen=True)
class Derived(_Stored):
    """A stored property computed by the loader, not a ledger column."""

    key: str
    kind: Kind
    label_zh: str
    note_en: str = ""


@dataclass(frozen=True)
class NodeType:
    label: str  # graph label / embedded node table
    sheet: str  # Chinese sheet name (also a CSV file name)
    file: str  # English CSV file name without .csv
    title_zh: str
    title_en: str
    columns: tuple[Column, ...]
    derived: tuple[Derived, ...] = ()
    note_zh: str = ""
    alt_key: str = ""  # column that keys a row whose key column is blank (企业: 临时编码)
    # A sheet handed in without its key column gets keys derived from these columns
    # (real-ledgers.md): `<key_prefix>-<date>-<hash>`, the same for the same row (loaders/keys.py).
    key_from: tuple[str, ...] = ()
    key_prefix: str = ""

    @property
    def key(self) -> str:
        return self.columns[0].key

    @property
    def key_column(self) -> Column:
        return self.columns[0]

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(f"{self.label} has no column {key!r}")

    @property
    def data_keys(self) -> tuple[str, ...]:
        """Every stored business property: columns then derived ones."""
        return tuple(c.key for c in self.columns) + tuple(d.key for d in self.derived)

    @property
    def refs(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.ref)


@dataclass(frozen=True)
class RelType:
    type: str
    start: str  # label
    end: str  # label
    owner: str  # label of the node type whose ledger column declares it
    column: str  # that column's key
    title_zh: str

    @property
    def owner_is_start(self) -> bool:
        return self.owner == self.start


# Provenance stamped on every node: which survey, file, sheet and row it came from,
# and which load last changed it.
PROVENANCE = (
    Derived("source", Kind.TEXT, "来源台账", "survey (source) name, e.g. a township's ledger"),
    Derived("src_file", Kind.TEXT, "来源文件", "file name the record was read from"),
    Derived("src_sheet", Kind.TEXT, "来源工作表", "sheet (or CSV file) name"),
    Derived("src_row", Kind.INT, "来源行号", "row number as Excel shows it"),
    Derived("load_id", Kind.TEXT, "导入批次", "id of the load that last changed the record"),
    Derived("loaded_at", Kind.TEXT, "导入时间", "UTC time of that load, ISO 8601"),
    # campaign history (issue 11, docs/design/history.md): the version the node holds
    Derived("survey_date", Kind.DATE, "调查日期", "survey date (valid time) of the version the record holds"),
    Derived("load_seq", Kind.INT, "导入序号", "sequence number of the load that brought that version"),
    Derived("content_hash", Kind.TEXT, "内容摘要",
            "16 hex of SHA-256 over the version's non-null values and source (change detection)"),
)
PROVENANCE_KEYS = tuple(p.key for p in PROVENANCE)
# Provenance of the position a record was read from and of the last write: refreshed on a
# "moved" record; survey_date/load_seq/content_hash name the version and stay.
POSITION_KEYS = ("source", "src_file", "src_sheet", "src_row", "load_id", "loaded_at")

# ---- enums shared by several sheets -------------------------------------------------

SECTORS = ("冶金", "有色", "建材", "机械", "轻工", "纺织", "烟草", "商贸", "其他")
USES = ("生产", "仓储", "办公", "宿舍", "商业", "其他")
FIRE_CLASSES = ("甲", "乙", "丙", "丁", "戊")
FIRE_CLASS_ALIASES = tuple((f"{c}类", c) for c in FIRE_CLASSES)
STRUCTURES = ("框架", "排架", "钢结构", "砖混", "砖木", "彩钢板", "其他")
FRAME_STRUCTURES = ("框架", "排架", "钢结构")
HIGH_RISK_WORK = ("有限空间作业", "动火作业", "高处作业", "吊装作业", "临时用电", "筒仓清库", "检维修作业", "煤气作业", "盲板抽堵")
OPERATION_CATEGORIES = (
    "高温熔融金属", "煤气", "粉尘涉爆", "涉氨制冷", "有限空间", "喷涂", "筒仓清库",
    "检维修", "动火", "危险化学品", "锂电池储存", "环保设施",
)
ACTIONS = ("行政处罚", "责令停产整顿", "暂扣吊销证照", "查封扣押", "依法取缔", "依法关闭", "强制拆除", "挂牌督办",
           "准予复产")  # 准予复产: version 2 (production allowed to resume after a stop order)
ACCEPTANCE = ("通过", "不通过")
SUPERVISION_LEVELS = ("省级", "市级", "县级")
PARTY_KINDS = ("企业", "个体工商户", "自然人", "村集体", "无照经营", "其他")  # 主体类型 (blank = 企业)
OPEN_HAZARD = ("未整改", "整改中")
RECTIFIED_HAZARD = ("已整改", "已销号")


# Units of number columns, each with the spellings accepted after a number in a cell
# (`3200㎡`, `10人`) or in brackets at the end of a header (`建筑面积（㎡）`).
UNITS: dict[str, tuple[str, ...]] = {
    "㎡": ("㎡", "m2", "m²", "平方米", "平米", "平方"),
    "人": ("人", "名"),
    "万元": ("万元", "万"),
    "元": ("元",),
    "月": ("月", "个月"),
    "个": ("个",),
    "层": ("层",),
}
# A cell in the first unit is converted to the second by dividing (元 in a 万元 column: / 10,000).
UNIT_DIVISORS: dict[tuple[str, str], int] = {("元", "万元"): 10_000}
# Header synonyms of the columns that several sheets share.
COUNTY_SYNONYMS = ("县（区）", "县市区", "区县")
TOWNSHIP_SYNONYMS = ("乡镇（街道）", "乡镇", "街道")


def _c(key, header, kind, required=False, **kw) -> Column:
    return Column(key=key, header=header, kind=Kind(kind), required=required, **kw)


def _ref(key, header, target, rel, rel_out, required=False, **kw) -> Column:
    return Column(key=key, header=header, kind=Kind.REF, required=required, ref=target, rel=rel, rel_out=rel_out, **kw)


ENTERPRISE = NodeType(
    "Enterprise", "企业", "enterprises", "企业", "enterprise",
    (
        _c("uscc", "统一社会信用代码", "uscc", True, synonyms=("信用代码", "社会信用代码", "统一代码", "营业执照号码"), note_zh="主键；18位，GB 32100-2015；没有代码的主体留空，改填临时编码", note_en="key; 18 characters of GB 32100-2015; blank for a party without one, which then needs a 临时编码"),
        _c("name", "企业名称", "text", True, synonyms=("单位名称", "企业（单位）名称", "生产经营单位名称", "名称")),
        _c("sector", "行业", "enum", True, enum=SECTORS),
        _c("county", "县区", "text", True, note_zh="如 城区、矿区、郊区、平定县、盂县", synonyms=COUNTY_SYNONYMS),
        _c("township", "乡镇街道", "text", True, synonyms=TOWNSHIP_SYNONYMS),
        _c("address", "生产经营地址", "text", synonyms=("经营地址", "实际经营地址", "生产地址", "地址"), note_zh="实际生产经营地址", note_en="where it actually operates"),
        _c("licensed_address", "登记许可地址", "text", synonyms=("注册地址", "登记地址", "住所"), note_zh="证照登记地址", note_en="address on its licence/permits"),
        _c("business_license", "营业执照", "bool", note_zh="具备合法营业执照（市场准入）", note_en="holds a valid business licence"),
        _c("environmental_permit", "环境许可", "bool", note_zh="具备环境许可手续", note_en="holds its environmental permit"),
        _c("principal", "主要负责人", "text", synonyms=("法定代表人", "负责人"), personal=True, note_zh="个人信息", note_en="personal data"),
        _c("phone", "联系电话", "text", synonyms=("电话", "联系方式"), personal=True, note_zh="个人信息，默认不在报告中输出", note_en="personal data: never printed unless asked"),
        _c("contract_workers", "劳动合同用工人数", "int", synonyms=("从业人员数", "职工人数", "员工人数"), unit="人", note_zh="签订劳动合同的本单位职工人数"),
        _c("safety_staff", "专职安全管理人员数", "int", unit="人"),
        _c("risk_identification", "风险辨识和隐患排查", "bool", note_zh="已开展风险辨识和隐患排查治理"),
        _c("training", "安全培训", "bool", note_zh="已开展人员培训"),
        _c("self_inspection", "自查自改", "bool", note_zh="已开展安全隐患自查自改"),
        _c("status", "经营状态", "enum", enum=("在产", "停产", "关闭", "取缔"), note_zh="空白视为 在产", note_en="blank means 在产"),
        # parties without a USCC (issue 13, docs/parties.md): the key is the USCC or else the 临时编码
        _c("provisional_id", "临时编码", "text", since=2,
           note_zh="无统一社会信用代码的主体由排查组自编的编码，如 LS-荫营镇-0007，全图唯一；与统一社会信用代码同填表示该主体已取得代码（合并）；不得填写身份证号码",
           note_en="a survey team's own code for a party without a USCC, unique across the graph; with a USCC on "
                   "the same row the provisional record is merged into the USCC record; never an identity number"),
        _c("party_kind", "主体类型", "enum", enum=PARTY_KINDS, since=2, note_zh="空白视为 企业；自然人的名称属个人信息",
           note_en="blank means 企业; the name of a 自然人 is personal data"),
    ),
    derived=(Derived("uscc_valid", Kind.BOOL, "信用代码校验位正确", "false when the 18th (check) character is wrong"),
             Derived("aliases", Kind.LIST, "别名（临时编码）",
                     "临时编码 merged into this record: references to them resolve to it"),
             Derived("person_name", Kind.TEXT, "自然人姓名",
                     "the name of a 自然人 (personal data); 企业名称 then holds a masked form")),
    alt_key="provisional_id",
)

SITE = NodeType(
    "Site", "园区厂区", "sites", "园区厂区", "site",
    (
        _c("site_id", "园区编码", "text", True, note_zh="主键"),
        _c("name", "名称", "text", True),
        _c("kind", "类型", "enum", True, enum=("园区", "厂区")),
        _ref("parent_site_id", "上级园区编码", "Site", "PART_OF", True, note_zh="园中园：上级园区或厂区"),
        _ref("operator_uscc", "运营管理单位", "Enterprise", "MANAGES", False, note_zh="园区/厂区的运营管理单位"),
        _c("county", "县区", "text", True, synonyms=COUNTY_SYNONYMS),
        _c("township", "乡镇街道", "text", True, synonyms=TOWNSHIP_SYNONYMS),
    ),
)

BUILDING = NodeType(
    "Building", "建筑", "buildings", "建筑", "building",
    (
        _c("building_id", "建筑编码", "text", True, note_zh="主键"),
        _c("name", "建筑名称", "text", True),
        _ref("site_id", "所属园区厂区", "Site", "IN_SITE", True, note_zh="空白表示独立建筑"),
        _ref("owner_uscc", "产权单位", "Enterprise", "OWNS", False, required=True, synonyms=("产权人", "业主单位", "房屋产权单位")),
        _c("county", "县区", "text", True, synonyms=COUNTY_SYNONYMS),
        _c("township", "乡镇街道", "text", True, synonyms=TOWNSHIP_SYNONYMS),
        _c("floor_area", "建筑面积", "float", unit="㎡", note_zh="平方米"),
        _c("floors", "层数", "int", unit="层"),
        _c("structure", "结构类型", "enum", enum=STRUCTURES, note_zh="框架、排架、钢结构 属框架结构"),
        _c("planned_use", "设计用途", "enum", enum=USES),
        _c("fire_class", "火灾危险性类别", "enum", enum=FIRE_CLASSES, aliases=FIRE_CLASS_ALIASES, note_zh="建筑核定的火灾危险性类别"),
        _c("land_use_permit", "用地手续", "bool"),
        _c("three_simultaneity", "安全设施三同时", "bool"),
        _c("fire_acceptance", "消防审验", "bool", note_zh="通过消防设计审查/验收"),
        _c("structural_hazard", "建筑安全隐患", "bool"),
        _c("illegal_construction", "违章搭建", "bool"),
        _c("fire_facilities_ok", "消防设施符合", "bool", note_zh="平面布局、安全疏散、消防设施器材符合标准"),
        _c("escape_obstruction", "疏散障碍", "bool", note_zh="存在影响逃生和灭火救援的障碍物"),
        _ref("manager_uscc", "统一管理单位", "Enterprise", "MANAGES_BUILDING", False, since=2,
             note_zh="多家使用时对全体使用单位统一实施安全管理的单位（物业服务企业或指定的使用单位）；消防〔2023〕72号 第七条",
             note_en="the party that manages safety for all users of the building; 消防〔2023〕72号 art. 7"),
    ),
)

TENANCY = NodeType(
    "Tenancy", "租赁", "tenancies", "租赁", "tenancy",
    (
        _c("tenancy_id", "租赁编号", "text", True, note_zh="主键"),
        _ref("lessor_uscc", "出租方", "Enterprise", "LESSOR_OF", False, required=True, synonyms=("出租单位", "出租人")),
        _ref("lessee_uscc", "承租方", "Enterprise", "LESSEE_OF", False, required=True, synonyms=("承租单位", "承租人", "租户"), note_zh="不得与出租方相同"),
        _ref("building_id", "建筑编码", "Building", "COVERS", True, required=True),
        _c("floor", "楼层", "text", note_zh="以“地下”或“负”开头、或为 B/- 加数字（地下一层、负2层、B1、-1）的为地下楼层",
           note_en="underground when it starts with 地下 or 负, or is B or - followed by a digit (B1, -1)"),
        _c("area", "租赁面积", "float", synonyms=("出租面积", "承租面积"), unit="㎡", note_zh="平方米"),
        _c("purpose", "承租用途", "enum", enum=USES, synonyms=("租赁用途", "用途")),
        _c("activity", "主要产品工艺", "text"),
        _c("workers", "入驻人数", "int", synonyms=("入驻员工数", "从业人数"), unit="人"),
        _c("goods_fire_class", "生产储存火灾危险性", "enum", enum=FIRE_CLASSES, aliases=FIRE_CLASS_ALIASES),
        _c("safety_agreement", "安全管理协议", "bool", note_zh="签订安全生产（消防安全）管理协议"),
        _c("duties_defined", "协议明确职责", "bool"),
        _c("lessee_reviewed", "承租方资质审查", "bool"),
        _c("use_reviewed", "用途审核", "bool"),
        _c("coordinated", "统一协调管理", "bool"),
        _c("periodic_inspection", "定期安全检查", "bool"),
        _c("sublease_consent", "转租同意", "bool", note_zh="转租须经上一手出租方书面同意"),
        _c("fire_reacceptance", "重新消防审验", "bool"),
        _c("three_in_one", "三合一", "bool"),
        _c("dorm_inside", "宿舍在车间仓库内", "bool"),
        _c("illegal_power_gas", "违规用电用气", "bool"),
        _c("illegal_hazchem", "违规危化品", "bool"),
        _c("start_date", "起租日期", "date"),
        _c("end_date", "到期日期", "date", note_zh="不得早于起租日期"),
    ),
    derived=(Derived("underground", Kind.BOOL, "地下楼层",
                     "楼层 names an underground floor (地下…, 负…, B + digit, - + digit, after trimming and "
                     "full-width folding); null when 楼层 is blank"),),
    key_from=("lessor_uscc", "lessee_uscc", "building_id", "floor"), key_prefix="ZL",
)

CONTRACT = NodeType(
    "Contract", "外包外委", "contracts", "外包外委合同", "outsourcing contract",
    (
        _c("contract_id", "合同编号", "text", True, note_zh="主键"),
        _ref("client_uscc", "发包方", "Enterprise", "CLIENT_OF", False, required=True),
        _ref("contractor_uscc", "承包方", "Enterprise", "CONTRACTOR_OF", False, required=True, note_zh="不得与发包方相同"),
        _c("kind", "类型", "enum", True, enum=("工程发包", "检维修外委", "环保设施托管", "劳务外包", "其他")),
        _ref("building_id", "作业建筑编码", "Building", "WORKS_IN", True, note_zh="作业建筑与作业园区至少填一项"),
        _ref("site_id", "作业园区编码", "Site", "WORKS_ON", True),
        _c("work", "作业内容", "text"),
        _c("contractor_qualified", "承包方资质", "bool"),
        _c("safety_agreement", "安全管理协议", "bool"),
        _c("duties_defined", "协议明确职责", "bool"),
        _c("client_coordinates", "发包方统一协调管理", "bool"),
        _c("contractor_site_manager", "承包方现场负责人", "bool"),
        _c("high_risk_work", "高风险作业", "enum_list", enum=HIGH_RISK_WORK),
        _c("subcontracted", "是否再分包", "bool"),
        _c("start_date", "起始日期", "date"),
        _c("end_date", "结束日期", "date", note_zh="不得早于起始日期"),
    ),
)

DISPATCH = NodeType(
    "Dispatch", "劳务派遣", "dispatch", "劳务派遣", "labour dispatch",
    (
        _c("dispatch_id", "派遣编号", "text", True, note_zh="主键"),
        _ref("agency_uscc", "派遣单位", "Enterprise", "AGENCY_OF", False, required=True),
        _ref("host_uscc", "用工单位", "Enterprise", "HOST_OF", False, required=True),
        _ref("contract_id", "关联外包合同", "Contract", "UNDER_CONTRACT", True),
        _c("workers", "派遣人数", "int", True, unit="人"),
        _c("position", "岗位", "text"),
        _c("position_nature", "岗位性质", "enum", True, enum=("临时性", "辅助性", "替代性", "其他"), note_zh="其他 = 主营业务岗位"),
        _c("months", "用工期限(月)", "int", unit="月"),
    ),
)

OPERATION = NodeType(
    "Operation", "高风险作业", "operations", "高风险场所作业", "high-risk operation",
    (
        _c("operation_id", "作业编号", "text", True, note_zh="主键"),
        _ref("uscc", "运营企业", "Enterprise", "RUNS", False, required=True),
        _ref("building_id", "建筑编码", "Building", "LOCATED_IN", True, required=True),
        _c("category", "类别", "enum", True, enum=OPERATION_CATEGORIES),
        _c("description", "描述", "text"),
        _c("workers", "作业人数", "int", unit="人"),
        _c("crowded_rooms", "人员聚集场所", "bool", note_zh="区域内设有宿舍、会议室、办公室、休息室等"),
    ),
)

HAZARD = NodeType(
    "Hazard", "隐患", "hazards", "隐患", "hazard",
    (
        _c("hazard_id", "隐患编号", "text", True, note_zh="主键"),
        _ref("uscc", "企业", "Enterprise", "HAS_HAZARD", False, required=True, synonyms=("企业名称", "单位名称", "责任单位")),
        _ref("building_id", "建筑编码", "Building", "HAZARD_IN", True),
        _c("description", "隐患描述", "text", True, synonyms=("隐患内容", "隐患问题", "存在问题", "隐患名称")),
        _c("level", "隐患等级", "enum", True, enum=("一般", "重大"), synonyms=("隐患级别", "等级"),
           aliases=(("一般隐患", "一般"), ("一般事故隐患", "一般"), ("重大隐患", "重大"), ("重大事故隐患", "重大"))),
        _c("clause", "判定依据", "text", note_zh="重大事故隐患判定标准条款编码，如 GEN-1、DUST-1"),
        _c("found_on", "发现日期", "date", True, synonyms=("发现时间", "排查日期", "排查时间", "检查时间")),
        _c("found_by", "发现方式", "enum", enum=("企业自查", "县区检查", "市级督导", "群众举报", "其他")),
        _c("responsible_person", "整改责任人", "text", synonyms=("责任人",), personal=True, note_zh="五落实：责任（个人信息）"),
        _c("measures", "整改措施", "text", note_zh="五落实：措施"),
        _c("funds", "整改资金", "float", unit="万元", note_zh="五落实：资金（万元）"),
        _c("deadline", "整改时限", "date", synonyms=("整改期限", "完成时限"), note_zh="五落实：时限"),
        _c("contingency_plan", "应急预案", "bool", note_zh="五落实：预案"),
        _c("status", "整改状态", "enum", True, enum=("未整改", "整改中", "已整改", "已销号"),
           synonyms=("整改情况", "整改进度", "治理状态"),
           aliases=(("未完成", "未整改"), ("未开始", "未整改"), ("正在整改", "整改中"), ("整改中（未完成）", "整改中"),
                    ("已完成", "已整改"), ("已完成整改", "已整改"), ("整改完成", "已整改"), ("销号", "已销号"),
                    ("已闭环", "已销号"))),
        _c("closed_on", "销号日期", "date", note_zh="已销号 时必填"),
        _c("reported_to_authority", "报告监管部门", "bool", note_zh="双报告之一"),
        _c("reported_to_staff", "报告职代会", "bool", note_zh="双报告之二"),
        _c("supervised", "挂牌督办", "bool"),
        _c("suspended", "停产停业", "bool"),
        _c("rectified_on", "整改完成日期", "date", since=2, note_zh="责任单位完成整改的日期；不得早于发现日期",
           note_en="the responsible party finished the rectification; not before 发现日期"),
        _c("acceptance", "验收结论", "enum", enum=ACCEPTANCE, since=2, note_zh="整改验收结论；填写时须填验收日期",
           note_en="verdict of the acceptance check; needs 验收日期"),
        _c("accepted_on", "验收日期", "date", since=2, note_zh="不得早于发现日期", note_en="not before 发现日期"),
        _c("accepted_by", "验收单位", "text", since=2, note_zh="组织验收的部门或单位（一般隐患可为企业自身）",
           note_en="who verified it (an agency, or the enterprise for a 一般 hazard)"),
        _c("supervision_level", "挂牌级别", "enum", enum=SUPERVISION_LEVELS, since=2,
           note_zh="挂牌督办的级别；挂牌督办为“否”时不得填写", note_en="level of 挂牌督办; not with 挂牌督办 = 否"),
        _c("supervised_on", "挂牌日期", "date", since=2, note_zh="挂牌督办为“否”时不得填写",
           note_en="not with 挂牌督办 = 否"),
        _c("supervision_deadline", "督办期限", "date", since=2, note_zh="挂牌督办为“否”时不得填写",
           note_en="not with 挂牌督办 = 否"),
        _c("delisted_on", "摘牌日期", "date", since=2, note_zh="不得早于挂牌日期", note_en="not before 挂牌日期"),
    ),
    key_from=("uscc", "found_on", "description"), key_prefix="YH",
)

INSPECTION = NodeType(
    "Inspection", "检查记录", "inspections", "检查记录", "inspection",
    (
        _c("inspection_id", "检查编号", "text", True, note_zh="主键"),
        _c("date", "检查日期", "date", True, synonyms=("检查时间",)),
        _c("agency", "检查单位", "text", True),
        _c("inspectors", "检查人员", "list", True, synonyms=("检查人",), personal=True, note_zh="检查人员姓名（个人信息）"),
        _c("signed", "签名", "bool", note_zh="全体检查人员已签名"),
        _ref("uscc", "被检查企业", "Enterprise", "INSPECTED", True, required=True, synonyms=("被检查单位", "企业名称")),
        Column("hazard_ids", "发现隐患", Kind.REF_LIST, ref="Hazard", rel="FOUND", rel_out=True, note_zh="隐患编号列表"),
        _c("document_no", "执法文书", "text"),
        _c("actions", "处理措施", "enum_list", enum=ACTIONS),
    ),
    key_from=("uscc", "date", "agency"), key_prefix="JC",
)

NODE_TYPES: tuple[NodeType, ...] = (ENTERPRISE, SITE, BUILDING, TENANCY, CONTRACT, DISPATCH, OPERATION, HAZARD, INSPECTION)
NODES: dict[str, NodeType] = {n.label: n for n in NODE_TYPES}
BY_SHEET: dict[str, NodeType] = {n.sheet: n for n in NODE_TYPES}
BY_FILE: dict[str, NodeType] = {n.file: n for n in NODE_TYPES}

REL_TITLES = {
    "PART_OF": "上级园区", "MANAGES": "运营管理", "IN_SITE": "位于园区厂区", "OWNS": "产权",
    "LESSOR_OF": "出租方", "LESSEE_OF": "承租方", "COVERS": "租赁建筑",
    "CLIENT_OF": "发包方", "CONTRACTOR_OF": "承包方", "WORKS_IN": "作业建筑", "WORKS_ON": "作业园区",
    "AGENCY_OF": "派遣单位", "HOST_OF": "用工单位", "UNDER_CONTRACT": "关联外包合同",
    "RUNS": "运营作业", "LOCATED_IN": "作业所在建筑", "HAS_HAZARD": "隐患责任企业", "HAZARD_IN": "隐患所在建筑",
    "INSPECTED": "被检查企业", "FOUND": "发现隐患", "MANAGES_BUILDING": "统一管理单位",
}


def _rels() -> tuple[RelType, ...]:
    out = []
    for nt in NODE_TYPES:
        for c in nt.refs:
            start, end = (nt.label, c.ref) if c.rel_out else (c.ref, nt.label)
            out.append(RelType(c.rel, start, end, nt.label, c.key, REL_TITLES[c.rel]))
    return tuple(out)


REL_TYPES: tuple[RelType, ...] = _rels()
RELS: dict[str, RelType] = {r.type: r for r in REL_TYPES}

# Label of the node that stores schema metadata (version); not a business record.
META_LABEL = "SitegraphMeta"

# ---- campaign history (issue 11, docs/design/history.md §4.1) -------------------------
# Every superseded version and every retirement marker of a record of label L is a node
# of `LHistory` with all of L's properties plus these; no relationships. The prepared
# queries never name these labels.
HISTORY_PROPS = (
    Derived("h_id", Kind.TEXT, "历史条目编号", "`<key>|<load_seq>`: one entry per key per load (unique)"),
    Derived("h_key", Kind.TEXT, "记录键", "the record's key"),
    Derived("h_to", Kind.DATE, "有效至", "end of the entry's valid interval (exclusive); empty = open"),
    Derived("h_kind", Kind.TEXT, "条目类型", "version | retired | merged"),
    Derived("h_into", Kind.TEXT, "合并至", "key a merged record was merged into"),
)
# One node per committed load (`sitegraph loads`).
LOAD_LABEL = "SitegraphLoad"
LOAD_PROPS = (
    Derived("load_seq", Kind.INT, "导入序号", "strictly increasing, allocated in the load's transaction (key)"),
    Derived("load_id", Kind.TEXT, "导入批次", "the load's id, as stamped on its records"),
    Derived("source", Kind.TEXT, "来源台账", "source name"),
    Derived("survey_date", Kind.DATE, "调查日期", "survey date given by `load --date`"),
    Derived("loaded_at", Kind.TEXT, "导入时间", "UTC time of the load (record time), ISO 8601"),
    Derived("files", Kind.LIST, "文件", "ledger file names"),
    Derived("prune", Kind.BOOL, "清理", "loaded with --prune"),
    Derived("late", Kind.BOOL, "补录", "some entry was inserted before a newer one"),
    Derived("counts", Kind.TEXT, "计数", "JSON per label: created, updated, moved, unchanged, retired, late, readded"),
    Derived("format_version", Kind.INT, "结构版本", "schema version the load was written with"),
)


def history_label(nt: "NodeType | str") -> str:
    return f"{nt if isinstance(nt, str) else nt.label}History"


def history_props(nt: NodeType) -> tuple[tuple[str, str, str], ...]:
    """(key, embedded type, neo4j type) of every property of a history label."""
    return all_props(nt) + tuple((d.key, d.ddl_type, d.neo4j_type) for d in HISTORY_PROPS)


def all_props(nt: NodeType) -> tuple[tuple[str, str, str], ...]:
    """(key, embedded type, neo4j type) for every stored property of a node type."""
    rows = [(c.key, c.ddl_type, c.neo4j_type) for c in nt.columns]
    rows += [(d.key, d.ddl_type, d.neo4j_type) for d in nt.derived + PROVENANCE]
    return tuple(rows)


def personal_keys() -> frozenset[str]:
    """Property keys (any label) that hold personal data."""
    return frozenset(c.key for nt in NODE_TYPES for c in nt.columns if c.personal) | PERSONAL_DERIVED


PERSONAL_DERIVED = frozenset({"person_name"})  # derived properties holding personal data


def suggest_names(name: str, kind: str, n: int = 3) -> list[str]:
    """Schema names closest to a mistyped one ("did you mean"): kind is "label" (node
    labels), "rel" (relationship types) or "property" (property keys of any label)."""
    import difflib

    if kind == "label":
        names = [nt.label for nt in NODE_TYPES]
    elif kind == "rel":
        names = [r.type for r in REL_TYPES]
    else:
        names = sorted({k for nt in NODE_TYPES for k, _, _ in all_props(nt)})
    if name in names:
        return []
    by_lower = {x.lower(): x for x in names}
    if name.lower() in by_lower:  # a wrong case: the one certain answer
        return [by_lower[name.lower()]]
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.6)
    return [by_lower[c] for c in close]


def _check() -> None:
    assert len(RELS) == len(REL_TYPES), "relationship types must be unique"
    for nt in NODE_TYPES:
        keys = [k for k, _, _ in all_props(nt)]
        assert len(keys) == len(set(keys)), f"duplicate property in {nt.label}"
        assert nt.key_column.required
        for k in nt.key_from:
            nt.column(k)
        assert bool(nt.key_from) == bool(nt.key_prefix), f"{nt.label}: key_from needs key_prefix"


_check()
