"""The demo plant's master data: workshops and route, people, customers, products and presses."""

from __future__ import annotations

from dataclasses import dataclass

from domain.vocab import Role

INJECTION = "注塑车间"
FINISHING = "后加工车间"
QUALITY = "质检部"

ROUTE: tuple[tuple[str, str], ...] = (
    ("注塑", INJECTION),
    ("修边", FINISHING),
    ("质检", QUALITY),
    ("包装", FINISHING),
)
TRIM_OPERATION = "修边"

@dataclass(frozen=True)
class _PersonSpec:
    userid: str
    name: str
    roles: tuple[Role, ...]
    workshop: str | None = None
    zone: str | None = None


# Documented in the README and relied on by tests: keep userids, names, roles and workshops stable.
FIXED_PEOPLE: tuple[_PersonSpec, ...] = (
    _PersonSpec("admin", "系统管理员", (Role.ADMIN,)),
    _PersonSpec("boss", "陈总", (Role.EXECUTIVE,)),
    _PersonSpec("zhaoliu", "赵六", (Role.OPS_MANAGER,)),
    _PersonSpec("wangwu", "王五", (Role.SUPERVISOR,), INJECTION),
    _PersonSpec("sunqi", "孙七", (Role.SUPERVISOR,), FINISHING),
    _PersonSpec("zhouba", "周八", (Role.SUPERVISOR,), QUALITY),
    _PersonSpec("lisi", "李四", (Role.TEAM_LEAD,), FINISHING),
    _PersonSpec("zhangsan", "张三", (Role.WORKER,), INJECTION),
    _PersonSpec("xiaoli", "小李", (Role.WORKER,), FINISHING),
    _PersonSpec("tech01", "刘师傅", (Role.TECHNICIAN,), zone="A区"),
    # Told when a repair was re-dispatched REPAIR_MAX_REDISPATCH times, or nobody on duty was free for it.
    _PersonSpec("wugong", "吴工", (Role.MAINTENANCE_LEAD,)),
)

_TEAM_LEADS = (("chenjie", "陈杰", INJECTION), ("huangwei", "黄伟", INJECTION), ("linfang", "林芳", QUALITY))
_TECHNICIANS = (("tech02", "何师傅", "B区"), ("tech03", "郭师傅", "C区"), ("tech04", "马师傅", "A区"))
_WORKERS: dict[str, tuple[tuple[str, str], ...]] = {
    INJECTION: (
        ("yangfan", "杨帆"),
        ("zhoujun", "周军"),
        ("wuqiang", "吴强"),
        ("xuming", "徐明"),
        ("sunli", "孙丽"),
        ("hujing", "胡静"),
        ("zhuyong", "朱勇"),
        ("gaolei", "高磊"),
        ("linhai", "林海"),
        ("heping", "何平"),
        ("guoliang", "郭亮"),
        ("mahui", "马辉"),
        ("luotao", "罗涛"),
        ("liangyu", "梁宇"),
        ("songjia", "宋佳"),
        ("zhengyan", "郑燕"),
        ("xieli", "谢力"),
        ("hanbing", "韩冰"),
        ("tangchao", "唐超"),
        ("fengqin", "冯琴"),
    ),
    FINISHING: (
        ("dengxia", "邓霞"),
        ("caohong", "曹红"),
        ("pengli", "彭丽"),
        ("zenglan", "曾兰"),
        ("xiaoyun", "肖云"),
        ("tianmei", "田梅"),
        ("dongna", "董娜"),
        ("yuanping", "袁萍"),
        ("panxue", "潘雪"),
    ),
    QUALITY: (
        ("jiangtao", "蒋涛"),
        ("caiwen", "蔡雯"),
        ("jiayu", "贾宇"),
        ("weihong", "魏红"),
        ("xuelin", "薛琳"),
    ),
}


def _people() -> list[_PersonSpec]:
    people = list(FIXED_PEOPLE)
    people += [_PersonSpec(u, n, (Role.TEAM_LEAD,), w) for u, n, w in _TEAM_LEADS]
    people += [_PersonSpec(u, n, (Role.TECHNICIAN,), zone=z) for u, n, z in _TECHNICIANS]
    people += [_PersonSpec(u, n, (Role.WORKER,), w) for w, names in _WORKERS.items() for u, n in names]
    return people


@dataclass(frozen=True)
class _CustomerSpec:
    number: str
    name: str
    categories: tuple[str, ...]
    # Relative order frequency: the big appliance makers order most.
    weight: int


CUSTOMERS: tuple[_CustomerSpec, ...] = (
    _CustomerSpec("C001", "美的集团", ("kitchen", "appliance"), 14),
    _CustomerSpec("C002", "格力电器", ("appliance",), 10),
    _CustomerSpec("C003", "海尔智家", ("appliance", "kitchen"), 9),
    _CustomerSpec("C004", "小熊电器", ("kitchen",), 8),
    _CustomerSpec("C005", "苏泊尔", ("kitchen",), 8),
    _CustomerSpec("C006", "九阳股份", ("kitchen",), 7),
    _CustomerSpec("C007", "公牛集团", ("electrical",), 12),
    _CustomerSpec("C008", "欧普照明", ("lighting",), 7),
    _CustomerSpec("C009", "比亚迪汽车", ("auto",), 6),
    _CustomerSpec("C010", "飞利浦(中国)投资有限公司", ("lighting", "appliance"), 5),
    _CustomerSpec("C011", "东莞长盈精密技术股份有限公司", ("electrical", "auto"), 5),
    _CustomerSpec("C012", "广东新宝电器股份有限公司", ("kitchen", "appliance"), 6),
)


@dataclass(frozen=True)
class _ProductSpec:
    item_number: str
    name: str
    model: str
    category: str
    press: str
    # Pieces one press makes in a two-shift day with this product's mould.
    daily_qty: int
    trims: bool

    @property
    def mould(self) -> str:
        return f"M-{self.item_number[-3:]}"

    @property
    def route(self) -> tuple[tuple[str, str], ...]:
        return tuple(step for step in ROUTE if self.trims or step[0] != TRIM_OPERATION)


PRODUCTS: tuple[_ProductSpec, ...] = (
    _ProductSpec("3.01.0012", "电饭煲上盖", "PP 白色 Φ220", "kitchen", "P03", 4000, True),
    _ProductSpec("3.01.0013", "电饭煲底座", "PP 黑色 Φ240", "kitchen", "P03", 3500, True),
    _ProductSpec("3.01.0015", "电饭煲蒸汽阀", "PP 白色 Φ38", "kitchen", "P08", 8000, False),
    _ProductSpec("3.01.0021", "电水壶底座", "PP 白色 Φ180", "kitchen", "P04", 5000, True),
    _ProductSpec("3.01.0026", "豆浆机杯盖", "PP 本色 Φ120", "kitchen", "P08", 6000, False),
    _ProductSpec("3.01.0031", "破壁机底座", "ABS 黑色 200×200", "kitchen", "P05", 2500, True),
    _ProductSpec("3.01.0034", "微波炉门框", "PP 黑色 480×290", "kitchen", "P06", 2000, True),
    _ProductSpec("3.02.0007", "空调面板", "ABS 白色 900×300", "appliance", "P01", 2000, True),
    _ProductSpec("3.02.0008", "空调导风板", "ABS 白色 850mm", "appliance", "P02", 3000, True),
    _ProductSpec("3.02.0041", "冰箱抽屉", "GPPS 透明 450×380", "appliance", "P01", 2000, True),
    _ProductSpec("3.02.0043", "冰箱门把手", "ABS 电镀 320mm", "appliance", "P07", 4000, True),
    _ProductSpec("3.02.0052", "洗衣机控制面板", "ABS 白色 420×160", "appliance", "P02", 3000, True),
    _ProductSpec("3.02.0060", "风扇叶", "AS 透明 Φ400", "appliance", "P05", 3500, False),
    _ProductSpec("3.02.0063", "风扇网罩扣件", "POM 白色", "appliance", "P10", 8000, False),
    _ProductSpec("3.02.0071", "吸尘器尘杯", "PC 透明 Φ110", "appliance", "P06", 3000, True),
    _ProductSpec("3.02.0075", "加湿器水箱", "PP 透明 4L", "appliance", "P04", 2500, True),
    _ProductSpec("3.02.0082", "吹风机外壳", "ABS 粉色", "appliance", "P07", 4500, True),
    _ProductSpec("3.02.0088", "电熨斗手柄", "PA66+GF30 灰色", "appliance", "P09", 5000, True),
    _ProductSpec("3.02.0091", "遥控器后壳", "ABS 黑色 160×45", "appliance", "P09", 7000, True),
    _ProductSpec("3.03.0105", "插座外壳", "PC 白色 五孔 86型", "electrical", "P10", 8000, False),
    _ProductSpec("3.03.0106", "插座面板", "PC 阻燃 白色 86型", "electrical", "P10", 7500, False),
    _ProductSpec("3.03.0110", "排插外壳", "PC 白色 六位 1.8m", "electrical", "P08", 5000, True),
    _ProductSpec("3.03.0118", "开关面板", "PC 白色 86型 单开", "electrical", "P10", 8000, False),
    _ProductSpec("3.03.0125", "充电器外壳", "PC 白色 20W", "electrical", "P09", 6000, True),
    _ProductSpec("3.04.0201", "灯罩", "PC 乳白 Φ300", "lighting", "P06", 3000, False),
    _ProductSpec("3.04.0203", "吸顶灯底盘", "PP 白色 Φ350", "lighting", "P05", 2500, True),
    _ProductSpec("3.04.0210", "LED灯座", "PBT 白色 E27", "lighting", "P08", 8000, False),
    _ProductSpec("3.05.0301", "汽车门板卡扣", "POM 黑色", "auto", "P10", 8000, False),
    _ProductSpec("3.05.0305", "空调出风口叶片", "PC/ABS 黑色", "auto", "P07", 6000, True),
    _ProductSpec("3.05.0312", "汽车杯架", "PP+TD20 黑色", "auto", "P02", 2500, True),
)

PRESS_ZONES: dict[str, str] = {
    f"P{n:02d}": ("A区" if n <= 4 else "B区" if n <= 7 else "C区") for n in range(1, 11)
}

# Order lines come in round numbers; small lots are the most common.
_QTY_CHOICES = (500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 15000, 20000)
_QTY_WEIGHTS = (6, 10, 8, 10, 6, 9, 8, 9, 6, 5, 4, 3, 2, 1)

