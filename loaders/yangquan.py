"""Yangquan (阳泉市, Shanxi) vocabulary for the synthetic survey generator.

Real administrative divisions (domain-research.md §6.2), the local industry mix
(refractories in 郊区 and 盂县, aluminium and magnetic materials in 矿区, ceramics in
平定, machinery and foundries for the coal industry, warehousing in leased plants),
and the parts from which plausible company, park, building and person names are
built. Park names marked "real" exist; the others are invented in the local style.

Only data lives here; the generator (loaders/generate.py) decides how to use it.
Enums (sectors, uses, fire classes, operation categories…) are NOT declared here:
they come from graphmodel.schema, and every value below is checked against it at
import time.
"""
from __future__ import annotations

from dataclasses import dataclass

from graphmodel.schema import FIRE_CLASSES, HIGH_RISK_WORK, NODES, OPERATION_CATEGORIES, SECTORS, STRUCTURES, USES

CITY = "阳泉市"
CITY_CODE = "140300"
PHONE_AREA = "0353"


@dataclass(frozen=True)
class County:
    name: str
    code: str  # GB/T 2260, also positions 3-8 of a USCC registered there
    abbr: str  # used in record ids (site, building, hazard, inspection)
    doc_abbr: str  # used in enforcement document numbers, e.g. 阳郊应急责改〔2024〕12号
    weight: float  # share of the city's 工贸 enterprises
    townships: tuple[str, ...]
    industries: tuple[tuple[str, float], ...]  # (industry key, weight) of plant owners there
    parks: tuple[str, ...]  # root park names (first ones real, see module doc)

    @property
    def full(self) -> str:
        """The county as written in an address: 阳泉市郊区, 平定县 is written 阳泉市平定县."""
        return CITY + self.name

    @property
    def agency(self) -> str:
        return f"{self.full if self.name.endswith('区') else self.name}应急管理局"

    @property
    def fire_brigade(self) -> str:
        return f"{self.full if self.name.endswith('区') else self.name}消防救援大队"


COUNTIES: tuple[County, ...] = (
    County(
        "城区", "140302", "CQ", "阳城", 0.14,
        ("上站街道", "下站街道", "北大街街道", "南山路街道", "义井街道", "义井镇"),
        (("logistics", 3), ("food", 2), ("machinery", 1.5), ("woodwork", 1), ("textile", 1), ("plastics", 1),
         ("spraying", 0.5), ("baijiu", 0.4), ("ceramics", 0.4), ("tobacco", 0.2)),
        ("阳泉经济技术开发区", "义井工业园区", "南山路商贸物流园"),
    ),
    County(
        "矿区", "140303", "KQ", "阳矿", 0.15,
        ("平潭街街道", "桥头街道", "蔡洼街道", "赛鱼街道", "沙坪街道", "贵石沟街道"),
        (("aluminium", 3), ("magnetic", 2.5), ("machinery", 1.5), ("foundry", 1), ("logistics", 1), ("food", 0.5),
         ("spraying", 0.5)),
        ("赛鱼铝工业园区", "矿区磁性材料产业园", "桥头物流园"),
    ),
    County(
        "郊区", "140311", "JQ", "阳郊", 0.27,
        ("荫营镇", "河底镇", "平坦镇", "旧街乡", "西南舁乡", "杨家庄乡", "李家庄乡"),
        (("refractory", 4.5), ("machinery", 1.5), ("foundry", 1), ("logistics", 1.2), ("aluminium", 0.5),
         ("spraying", 0.5), ("woodwork", 0.4), ("food", 0.4)),
        ("荫营耐火材料工业园区", "白泉工业园区", "苇泊装备制造产业园", "河底工业园区"),
    ),
    County(
        "平定县", "140321", "PD", "平", 0.2,
        ("冠山镇", "冶西镇", "锁簧镇", "张庄镇", "东回镇", "柏井镇", "娘子关镇", "巨城镇", "石门口乡", "岔口乡"),
        (("refractory", 3), ("ceramics", 2), ("machinery", 1), ("foundry", 0.8), ("food", 1), ("logistics", 1),
         ("metallurgy", 0.5), ("plastics", 0.7)),
        ("平定经济技术开发区", "冶西工业园区", "娘子关工业园区"),
    ),
    County(
        "盂县", "140322", "YX", "盂", 0.24,
        ("秀水镇", "孙家庄镇", "路家村镇", "南娄镇", "牛村镇", "苌池镇", "上社镇", "西烟镇",
         "仙人乡", "北下庄乡", "梁家寨乡", "东梁乡", "下社乡"),
        (("refractory", 4.5), ("metallurgy", 1), ("food", 1.2), ("logistics", 1), ("machinery", 0.8),
         ("magnetic", 0.5), ("woodwork", 0.5), ("plastics", 0.5)),
        ("盂县经济技术开发区", "中岚电子产业园", "西烟耐火材料工业园区", "秀水工业园区"),
    ),
)
COUNTY_BY_NAME = {c.name: c for c in COUNTIES}

# Township seats and the roads/villages of an address: streets (街道) take a road and a
# number, towns and townships (镇/乡) a village. Road names are in the local style.
ROADS = (
    "桃北东街", "桃北中街", "桃北西街", "南大街", "北大街", "德胜街", "新华西街", "义白路", "泉中路", "滨河东路",
    "东环路", "北环路", "赛鱼路", "南庄路", "平坦路", "荫营路", "阳五路", "新建路", "矿山路", "桃河南路",
)
VILLAGE_HEADS = "东西南北上下前后大小石柳杨李王张赵马白红黄青官庙桃杏枣河新旧中高"
VILLAGE_TAILS = ("庄", "沟", "坪", "峪", "垴", "掌", "岭", "湾", "头", "堡", "家", "窑", "寨", "泉")

# ---- company names ------------------------------------------------------------------

TRADE_HEADS = "鑫金宏恒华晋泰瑞兴盛通达隆昌丰源利德信诚安康宇汇博创永旭腾新力正佳鼎龙凯恩钰弘锦峰磊荣润祥福中天太东阳"
TRADE_TAILS = "鑫磊达盛通泰源丰华兴昌隆发顺利德宇晟辉程阳峰锐元成茂信和祥瑞安康久聚创远翔宸"
# Local place names used as trade names (山西冠山…, 阳泉漾泉…).
TRADE_PLACES = (
    "漾泉", "桃河", "冠山", "藏山", "狮垴", "娘子关", "固关", "白泉", "荫营", "平坦", "南娄", "秀水", "上社",
    "冶西", "锁簧", "巨城", "张庄", "河底", "赛鱼", "义井", "晋东", "太行", "绵山", "桃林",
)
NAME_PREFIXES = (("阳泉", 0.35), ("阳泉市", 0.12), ("山西", 0.15), ("@county", 0.1), ("", 0.28))
NAME_SUFFIXES = (("有限公司", 0.66), ("有限责任公司", 0.15), ("股份有限公司", 0.03), ("厂", 0.1), ("@trade", 0.06))
TRADE_SUFFIXES = ("商行", "经营部")  # only for 商贸 names

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗郝武贾乔田冀白史梁任韩阎闫侯段卫申牛霍"
    "温康苏薛程秦董吕"
)
GIVEN_CHARS = "建国军伟强磊明亮平刚勇杰涛斌超峰鹏飞华红霞丽娟敏静芳燕玲丹英秀文俊海波晓春志新宏利小云"

# ---- industries ----------------------------------------------------------------------


@dataclass(frozen=True)
class Industry:
    key: str
    sector: str  # graphmodel.schema.SECTORS
    words: tuple[str, ...]  # industry part of a company name
    products: tuple[str, ...]  # 主要产品工艺 / activity
    use: str  # what it uses a building for (USES)
    fire: tuple[tuple[str, float], ...]  # fire class of what it produces or stores, weighted
    operations: tuple[tuple[str, float, str], ...]  # (category, probability, description)
    clauses: tuple[str, ...]  # 重大事故隐患 clauses that fit it
    lessee: float = 0.0  # weight as a tenant of somebody else's building
    buildings: tuple[str, ...] = ("生产车间",)  # names of its production buildings


INDUSTRIES: dict[str, Industry] = {i.key: i for i in (
    Industry(
        "refractory", "建材", ("耐火材料", "耐材", "高铝材料", "耐火制品", "硅砖"),
        ("高铝砖", "硅砖", "不定形耐火材料", "浇注料", "轻质保温砖", "刚玉制品", "铝矾土熟料煅烧", "电熔刚玉"),
        "生产", (("丁", 0.8), ("戊", 0.2)),
        (("煤气", 0.35, "隧道窑煤气发生炉"), ("筒仓清库", 0.35, "原料筒仓清库"), ("有限空间", 0.3, "窑炉及料仓检修进入"),
         ("环保设施", 0.25, "窑炉烟气脱硫脱硝设施"), ("检维修", 0.2, "破碎机、球磨机检维修")),
        ("BLD-2", "BLD-4", "BLD-5", "BLD-7", "GEN-1", "CS-2"), 1.4,
        ("成型车间", "隧道窑车间", "破碎车间", "原料库", "成品库"),
    ),
    Industry(
        "aluminium", "有色", ("铝业", "铝材", "铝合金", "铝制品"),
        ("铝合金锭熔铸", "铝型材挤压", "铝板带轧制", "铝铸件", "铝制品抛光打磨"),
        "生产", (("丁", 0.7), ("乙", 0.3)),
        (("高温熔融金属", 0.7, "熔铝炉及深井铸造"), ("粉尘涉爆", 0.4, "铝制品抛光打磨，铝镁粉尘湿式除尘"),
         ("煤气", 0.3, "天然气熔炼炉燃烧系统"), ("有限空间", 0.2, "循环水池清淤")),
        ("NFM-3", "NFM-4", "NFM-6", "NFM-7", "NFM-11", "DUST-1", "DUST-4", "DUST-6", "GEN-1"), 0.6,
        ("熔铸车间", "挤压车间", "抛光车间", "成品库"),
    ),
    Industry(
        "magnetic", "机械", ("磁材", "磁性材料", "磁业", "稀土永磁"),
        ("永磁铁氧体", "铁氧体磁芯", "钕铁硼磁钢", "磁性材料烧结"),
        "生产", (("丁", 0.6), ("乙", 0.4)),
        (("粉尘涉爆", 0.35, "钕铁硼制粉（遇湿自燃金属粉尘）"), ("有限空间", 0.2, "球磨罐清理"),
         ("检维修", 0.25, "烧结炉检维修"), ("危险化学品", 0.15, "氢气、氮气储存使用")),
        ("DUST-1", "DUST-9", "GEN-1", "BLD-6"), 0.3,
        ("制粉车间", "成型车间", "烧结车间", "成品库"),
    ),
    Industry(
        "foundry", "机械", ("铸造", "铸业", "精密铸造"),
        ("矿用铸件", "球墨铸铁件", "耐磨衬板", "铸钢件"),
        "生产", (("丁", 1.0),),
        (("高温熔融金属", 0.85, "中频炉熔炼及浇注"), ("喷涂", 0.25, "铸件喷漆"), ("动火", 0.3, "铸件切割焊补")),
        ("MECH-1", "MECH-2", "MECH-3", "MECH-4", "MECH-7", "GEN-1"), 0.25,
        ("熔炼车间", "造型车间", "清理车间", "成品库"),
    ),
    Industry(
        "machinery", "机械", ("机械制造", "矿山机械", "煤机装备", "机电设备", "重工", "机械"),
        ("刮板输送机配件", "液压支架维修", "矿用电机维修", "钢结构件加工", "机加工", "减速机"),
        "生产", (("戊", 0.6), ("丁", 0.4)),
        (("喷涂", 0.3, "钢结构件喷漆"), ("动火", 0.45, "焊接切割"), ("检维修", 0.2, "行车检维修"),
         ("煤气", 0.05, "天然气加热炉")),
        ("MECH-5", "MECH-6", "MECH-7", "GEN-1", "GEN-2"), 1.0,
        ("机加工车间", "装配车间", "焊接车间", "成品库"),
    ),
    Industry(
        "metallurgy", "冶金", ("钢铁", "特钢", "铁合金", "锻造"),
        ("硅铁冶炼", "锻件", "棒材轧制", "铁合金"),
        "生产", (("丁", 1.0),),
        (("高温熔融金属", 0.9, "矿热炉冶炼及出铁"), ("煤气", 0.6, "煤气管网及加热炉"), ("有限空间", 0.3, "除尘器检修")),
        ("MET-1", "MET-2", "MET-4", "MET-6", "MET-7", "GEN-1", "GEN-3"), 0.05,
        ("冶炼车间", "轧钢车间", "原料库", "成品库"),
    ),
    Industry(
        "logistics", "商贸", ("物流", "仓储", "商贸", "供应链", "贸易"),
        ("货物仓储", "冷链仓储", "建材批发仓储", "五金仓储", "电动车及锂电池仓储", "日用百货仓储", "快递分拨"),
        "仓储", (("丙", 0.75), ("乙", 0.1), ("甲", 0.05), ("丁", 0.1)),
        (("锂电池储存", 0.15, "电动车锂电池仓库"), ("涉氨制冷", 0.12, "冷库液氨制冷"),
         ("危险化学品", 0.08, "油漆稀料仓储")),
        ("GEN-1", "NH3-1", "NH3-2", "LGT-7"), 3.5,
        ("仓库", "物流库", "冷库"),
    ),
    Industry(
        "food", "轻工", ("食品", "肉制品", "面粉", "农产品加工", "调味品", "酿造"),
        ("速冻食品", "肉制品加工", "挂面", "面粉加工", "食醋酿造", "糕点烘焙"),
        "生产", (("丙", 0.9), ("乙", 0.1)),
        (("涉氨制冷", 0.35, "速冻及冷藏液氨制冷"), ("粉尘涉爆", 0.2, "面粉、淀粉输送及筛分"),
         ("有限空间", 0.25, "发酵池、污水池清理")),
        ("LGT-1", "NH3-1", "NH3-2", "DUST-1", "CS-1", "CS-2", "GEN-1"), 0.6,
        ("加工车间", "冷库", "原料库", "成品库"),
    ),
    Industry(
        "ceramics", "轻工", ("陶瓷", "砂器", "瓷业"),
        ("日用陶瓷", "平定砂器", "刻花瓷", "建筑陶瓷"),
        "生产", (("丁", 1.0),),
        (("煤气", 0.5, "梭式窑天然气燃烧"), ("喷涂", 0.3, "施釉喷釉")),
        ("LGT-4", "LGT-6", "GEN-1"), 0.3,
        ("成型车间", "烧成车间", "成品库"),
    ),
    Industry(
        "woodwork", "轻工", ("木业", "家具", "木制品"),
        ("实木家具", "木门", "板式家具", "木托盘"),
        "生产", (("丙", 0.8), ("乙", 0.2)),
        (("粉尘涉爆", 0.6, "木材砂光、锯切除尘"), ("喷涂", 0.5, "家具喷漆")),
        ("DUST-1", "DUST-3", "DUST-6", "DUST-8", "LGT-6", "GEN-1"), 0.7,
        ("木工车间", "喷漆房", "成品库"),
    ),
    Industry(
        "spraying", "机械", ("喷涂", "表面处理", "防腐工程", "钢结构"),
        ("钢结构喷涂", "静电喷塑", "防腐喷漆"),
        "生产", (("甲", 0.5), ("乙", 0.5)),
        (("喷涂", 0.95, "调漆间、喷漆房"), ("动火", 0.3, "焊接切割"), ("危险化学品", 0.2, "油漆稀料暂存")),
        ("MECH-6", "MECH-7", "LGT-6", "GEN-1"), 1.0,
        ("喷涂车间", "调漆间"),
    ),
    Industry(
        "plastics", "轻工", ("塑料制品", "橡胶制品", "涂料", "包装材料"),
        ("塑料编织袋", "矿用输送带", "水性涂料", "包装箱"),
        "生产", (("丙", 0.7), ("乙", 0.2), ("甲", 0.1)),
        (("危险化学品", 0.3, "溶剂储存使用"), ("动火", 0.1, "设备维修动火")),
        ("LGT-6", "GEN-1"), 0.45,
        ("生产车间", "原料库", "成品库"),
    ),
    Industry(
        "textile", "纺织", ("纺织", "服装", "制衣", "劳保用品"),
        ("服装加工", "劳保用品", "无纺布"),
        "生产", (("丙", 1.0),),
        (("动火", 0.05, "定型机维修动火"),),
        ("TEX-1", "TEX-2", "GEN-1"), 0.4,
        ("缝制车间", "仓库"),
    ),
    Industry(
        "baijiu", "轻工", ("酒业", "酿酒"),
        ("白酒勾兑灌装", "白酒酿造"),
        "生产", (("甲", 1.0),),
        (("有限空间", 0.4, "酒窖池、储酒罐清理"), ("危险化学品", 0.3, "酒库乙醇蒸气")),
        ("LGT-2", "CS-2", "GEN-1"), 0.1,
        ("酿造车间", "酒库"),
    ),
    Industry(
        "tobacco", "烟草", ("烟草物流", "烟叶"),
        ("卷烟仓储配送", "烟叶复烤"),
        "仓储", (("丙", 1.0),),
        (("有限空间", 0.2, "熏蒸仓"),),
        ("TOB-1", "GEN-1"), 0.05,
        ("仓库", "分拣车间"),
    ),
)}

# Service roles (not plant owners by trade): who lets standard plants, contracts work,
# dispatches labour.
PARK_OPERATOR_WORDS = ("园区开发建设", "产业园运营管理", "物业管理", "标准化厂房租赁", "实业")
CONTRACTOR_WORDS = {
    "工程发包": ("建筑安装工程", "建设工程", "钢结构工程", "防水保温工程"),
    "检维修外委": ("设备检修", "机电安装", "工业设备维修", "电力工程"),
    "环保设施托管": ("环保科技", "环境工程", "环保设备运营"),
    "劳务外包": ("劳务", "装卸服务", "清洁服务"),
    "其他": ("安全技术服务", "技术服务", "消防工程"),
}
AGENCY_WORDS = ("劳务派遣", "人力资源服务", "人力资源开发")

# ---- buildings -------------------------------------------------------------------------

PARK_BUILDINGS = ("标准化厂房", "通用厂房", "仓储厂房")
OFFICE_BUILDINGS = (("综合楼", "办公"), ("办公楼", "办公"), ("职工宿舍楼", "宿舍"))
# (name, planned use, fire class, (structure, weight)…, floors)
SHEDS = ("彩钢棚", "简易库房", "临建仓库")

# ---- contracts, dispatch, hazards, inspections ------------------------------------------

CONTRACT_WORK = {
    "工程发包": (("厂房屋面彩钢板更换", ("高处作业", "吊装作业", "动火作业")),
             ("车间钢结构改造", ("动火作业", "吊装作业", "高处作业", "临时用电")),
             ("标准化厂房建设", ("高处作业", "吊装作业", "临时用电")),
             ("消防管网改造", ("动火作业", "临时用电"))),
    "检维修外委": (("隧道窑及煤气管道检修", ("煤气作业", "盲板抽堵", "动火作业", "检维修作业")),
              ("除尘器检维修", ("有限空间作业", "检维修作业", "动火作业")),
              ("行车及起重设备检修", ("高处作业", "吊装作业", "检维修作业")),
              ("配电室及线路检修", ("临时用电", "检维修作业")),
              ("熔炼炉检修", ("检维修作业", "动火作业", "高处作业"))),
    "环保设施托管": (("脱硫脱硝设施托管运维", ("有限空间作业", "检维修作业")),
               ("污水处理站托管运维", ("有限空间作业",)),
               ("除尘系统托管运维", ("检维修作业", "高处作业"))),
    "劳务外包": (("原料筒仓清库", ("筒仓清库", "有限空间作业", "高处作业")),
             ("装卸搬运", ()),
             ("窑炉装出窑作业", ("高处作业",))),
    "其他": (("厂区保洁", ()), ("安全评价及隐患排查技术服务", ()), ("消防设施维护保养", ("高处作业",))),
}
DISPATCH_POSTS = {
    "临时性": ("装卸工", "季节性包装工", "临时搬运工"),
    "辅助性": ("保洁员", "门卫", "食堂服务", "绿化工", "叉车司机"),
    "替代性": ("统计员", "化验员", "仓管员"),
    "其他": ("窑炉操作工", "熔铸工", "成型工", "焊工", "行车工", "喷漆工"),
}

# (一般 hazard, its usual rectification measure)
GENERAL_HAZARDS = (
    ("灭火器压力不足或过期", "更换、补充消防器材"), ("疏散指示标志损坏", "修复疏散指示标志和应急照明"),
    ("安全出口被货物堵塞", "清理疏散通道和安全出口"), ("配电箱未接地、线路私拉乱接", "重新敷设电气线路并接地"),
    ("消防栓被遮挡", "清理消防栓周边堆放物"), ("特种设备未定期检验", "委托有资质单位检验"),
    ("员工三级安全教育记录不全", "组织补训并完善培训档案"), ("防护栏杆缺失", "加装防护栏杆"),
    ("设备传动部位防护罩缺失", "加装防护罩"), ("应急照明失效", "修复疏散指示标志和应急照明"),
    ("劳动防护用品配备不足", "补充配发劳动防护用品"), ("安全警示标志缺失", "设置安全警示标志"),
    ("厂区消防车道被占用", "清理消防车道"), ("叉车司机无证驾驶", "停止无证作业，组织取证培训"),
    ("危险作业审批手续不全", "完善危险作业审批制度"), ("车间内电动车充电", "设置集中充电区域"),
    ("隐患排查记录不完整", "完善隐患排查治理台账"), ("应急演练未按计划开展", "制定计划并组织应急演练"),
)
CLAUSE_HAZARDS = {
    "GEN-1": "对承包、承租单位未统一协调管理，未定期进行安全检查",
    "GEN-2": "特种作业人员未取得相应资格上岗作业",
    "GEN-3": "主要负责人、安全管理人员未经考核合格",
    "MET-1": "会议室、休息室设在铁水吊运跨地坪区域内",
    "MET-2": "炉下渣坑及熔融金属泄漏影响范围内积水",
    "MET-4": "水冷元件未设出水温度、进出水流量差监测报警",
    "MET-6": "煤气区域未设固定式一氧化碳监测报警装置",
    "MET-7": "加热炉煤气管道未设可靠隔断装置",
    "NFM-3": "熔炼炉未设置紧急排放和应急储存设施",
    "NFM-4": "熔铸炉、铸造机未设置应急水源",
    "NFM-6": "深井铸造结晶器冷却水未设进水压力、流量监测报警",
    "NFM-7": "深井铸造流槽未设液位监测报警",
    "NFM-11": "煤气、天然气可能泄漏区域未设固定式检测报警",
    "BLD-2": "筒仓人工清库未落实防坠落、防坍塌措施",
    "BLD-4": "进入窑炉、筒库、磨机前未对可能意外启动的设备进行隔离",
    "BLD-5": "燃气窑炉燃气总管未设压力监测报警",
    "BLD-6": "制氢站、燃气配气间未设固定式可燃气体报警",
    "BLD-7": "电熔制品电炉水冷却设备失效",
    "MECH-1": "休息室、更衣室设在熔融金属浇注跨地坪区域内",
    "MECH-2": "中频炉未设紧急排放和应急储存设施",
    "MECH-3": "浇注区及炉坑积水",
    "MECH-4": "熔炼炉冷却水未设出水温度监测报警",
    "MECH-5": "燃气加热炉未设熄火保护",
    "MECH-6": "使用有机溶剂清洗设备未采取防止可燃气体积聚措施",
    "MECH-7": "喷漆室、调漆间未设固定式可燃气体报警及通风设施",
    "LGT-1": "油炸、烘烤设备未设防过热自动切断装置",
    "LGT-2": "白酒灌装场所未设乙醇蒸气浓度报警",
    "LGT-4": "陶瓷燃气窑炉燃气总管未设压力报警和紧急切断",
    "LGT-6": "调漆间、喷漆房未设固定式可燃气体报警",
    "LGT-7": "锂离子电池仓库未对故障电池进行物理隔离",
    "TEX-1": "热定型机热媒炉未与人员聚集场所隔开",
    "TEX-2": "保险粉与禁忌物料混存",
    "TOB-1": "熏蒸作业未配备磷化氢报警仪",
    "DUST-1": "粉尘爆炸危险场所设在非框架结构多层建筑内或设有休息室",
    "DUST-3": "干式除尘系统未采取泄爆、惰化、抑爆措施",
    "DUST-4": "铝镁粉尘采用正压吹送除尘",
    "DUST-6": "干式除尘器未设锁气卸灰装置",
    "DUST-8": "砂光机风管未设火花探测消除装置",
    "DUST-9": "遇湿自燃金属粉尘储存场所未采取防水防潮措施",
    "NH3-1": "包装间空调系统采用氨直接蒸发制冷",
    "NH3-2": "快速冻结装置未设在单独作业间内",
    "CS-1": "未辨识有限空间并建立台账，未设置警示标志",
    "CS-2": "有限空间作业未执行先通风、再检测、后作业",
}
# Rectification measures of 重大 hazards, by clause family.
CLAUSE_MEASURES = {
    "GEN": ("补签安全管理协议，明确双方职责", "建立统一协调管理和定期检查制度"), "MET": ("加装监测报警装置并联锁", "迁移人员聚集场所"),
    "NFM": ("加装监测报警装置并联锁", "增设应急水源和紧急排放设施"), "BLD": ("制定清库方案并落实防坠落措施", "加装监测报警装置并联锁"),
    "MECH": ("增设紧急排放和应急储存设施", "加装可燃气体报警及通风设施"), "LGT": ("加装监测报警装置并联锁", "设置物理隔离"),
    "TEX": ("设置物理隔离", "分库分类储存"), "TOB": ("配备磷化氢报警仪和防毒面具",),
    "DUST": ("迁出人员聚集场所", "加装泄爆及隔爆装置", "改造除尘系统"), "NH3": ("改造制冷系统，设置单独作业间",),
    "CS": ("建立有限空间台账并设置警示标志", "严格执行作业审批和先通风、再检测、后作业"),
}


def _check() -> None:
    """Every value used here must be one the schema accepts."""
    for ind in INDUSTRIES.values():
        assert ind.sector in SECTORS, ind
        assert ind.use in USES, ind
        assert all(c in FIRE_CLASSES for c, _ in ind.fire), ind
        assert all(cat in OPERATION_CATEGORIES for cat, _, _ in ind.operations), ind
        assert all(c in CLAUSE_HAZARDS for c in ind.clauses), ind
    for county in COUNTIES:
        assert all(k in INDUSTRIES for k, _ in county.industries), county
        assert len(set(county.townships)) == len(county.townships)
    for works in CONTRACT_WORK.values():
        for _, hrw in works:
            assert all(w in HIGH_RISK_WORK for w in hrw), hrw
    assert set(CONTRACTOR_WORDS) == set(CONTRACT_WORK) == set(NODES["Contract"].column("kind").enum)
    assert set(DISPATCH_POSTS) == set(NODES["Dispatch"].column("position_nature").enum)
    assert {c.split("-")[0] for c in CLAUSE_HAZARDS} <= set(CLAUSE_MEASURES)
    for s in ("框架", "排架", "钢结构", "砖混", "砖木", "彩钢板", "其他"):
        assert s in STRUCTURES


_check()
