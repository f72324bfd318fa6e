"""月报 in chat: the monthly order-achievement report comes back as a file.

The month is checked in the callback (it takes a few quick queries), so a month that has not come or has no
data is refused at once rather than after a promise; rendering (seconds) runs in the `reports.send_monthly`
task, which uploads the file and sends it with its headline figures.
"""

from __future__ import annotations

import re
from datetime import date

from bot.routing import Ctx, Routes
from bot.task_refs import REPORTS_SEND_MONTHLY
from domain.errors import DomainError
from domain.vocab import Role
from reports.month import Month, last_full_month
from reports.monthly import check_month
from wecom.inbound import TextMsg
from wecom.replies import Reply, Text

routes = Routes("reports")

# Who may read the plant's monthly figures; the scheduled send's recipients are REPORT_MONTHLY_TO.
REPORT_ROLES = (Role.EXECUTIVE, Role.OPS_MANAGER, Role.ADMIN)
USAGE = ("月报格式：\n· 月报（上月的月度订单达成分析表，PDF）\n"
         "· 月报 11月、11月月报、月报 2026-11、月报 2026年11月（指定月份）\n"
         "· 月报 上月 / 月报 本月（本月统计到今天）\n"
         "· 月报 2026-10 Excel（明细数据，Excel 表格）")
_EXCEL_WORDS = {"excel", "xlsx", "表格", "明细"}
_LAST_MONTH = {"上月", "上个月", "上一个月"}
_THIS_MONTH = {"本月", "这个月", "当月"}
_BARE_MONTH = re.compile(r"(\d{1,2})\s*月份?")
# A month may come before the word as well as after it: 11月月报, 2026年11月的月报, 上月月报.
_MONTH_FIRST = r"(?P<pre>(?:\d{4}\s*[-/.年]\s*)?\d{1,2}\s*月份?|\d{4}\s*[-/.]\s*\d{1,2}|上个?月|上一个月|本月|这个月)?\s*的?\s*"


def _month(token: str, today: date) -> Month:
    """One month as people write it. A month without a year is the latest one that has begun: 12月 asked in
    November is last December."""
    if token in _LAST_MONTH:
        return last_full_month(today)
    if token in _THIS_MONTH:
        return Month.of(today)
    bare = _BARE_MONTH.fullmatch(token)
    if bare is not None and 1 <= int(bare.group(1)) <= 12:
        month = Month(today.year, int(bare.group(1)))
        return month if month <= Month.of(today) else Month(today.year - 1, month.month)
    try:
        return Month.parse(token)
    except DomainError:
        raise DomainError(f"无法识别月份「{token}」。\n{USAGE}") from None


def _request(pre: str, rest: str, ctx: Ctx) -> tuple[Month, str]:
    month: Month | None = _month(pre.strip(), ctx.today) if pre.strip() else None
    file_format = "pdf"
    # 2026年 11月 and 2026 - 11 are one month, though typed with spaces.
    glued = re.sub(r"(\d{4})\s*([-/.年])\s*(\d)", r"\1\2\3", rest)
    for token in glued.replace("，", " ").replace(",", " ").split():
        if token.lower() in _EXCEL_WORDS:
            file_format = "xlsx"
        elif token.lower() == "pdf":
            file_format = "pdf"
        elif month is None:
            month = _month(token, ctx.today)
        else:
            raise DomainError(USAGE)
    return month or last_full_month(ctx.today), file_format


@routes.text(_MONTH_FIRST + r"(?:月报|月报表|月度报表)(?P<rest>(?:\s.*|\d.*|上.*|本.*|这.*)?)", roles=REPORT_ROLES,
             read_only=True, help="月报 / 月报 11月 / 月报 上月：月度订单达成分析表（PDF 文件；加「Excel」得明细表格）")
def monthly_report(msg: TextMsg, ctx: Ctx) -> Reply:
    month, file_format = _request(ctx.match.get("pre", ""), ctx.match.get("rest", ""), ctx)
    check_month(ctx.uow, month, ctx.today)
    ctx.enqueue(REPORTS_SEND_MONTHLY, userids=[ctx.userid], month=month.iso, as_of=ctx.today.isoformat(),
                file_format=file_format)
    kind = "Excel 表格" if file_format == "xlsx" else "PDF"
    partial = "（本月尚未结束，统计到今天）" if month == Month.of(ctx.today) else ""
    return Text(f"正在生成{month.label}月度订单达成分析表（{kind}）{partial}，完成后以文件发给您，请稍候……")
