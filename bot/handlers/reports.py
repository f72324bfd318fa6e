"""月报 in chat: the monthly order-achievement report comes back as a file.

The month is checked in the callback (it takes a few quick queries), so a month that has not come or has no
data is refused at once rather than after a promise; rendering (seconds) runs in the `reports.send_monthly`
task, which uploads the file and sends it with its headline figures.
"""

from __future__ import annotations

from bot.routing import Ctx, Routes
from bot.task_refs import REPORTS_SEND_MONTHLY
from domain.errors import DomainError
from domain.vocab import Role
from reports.month import USAGE as MONTH_USAGE
from reports.month import Month, last_full_month
from reports.monthly import check_month
from wecom.inbound import TextMsg
from wecom.replies import Reply, Text

routes = Routes("reports")

# Who may read the plant's monthly figures; the scheduled send's recipients are REPORT_MONTHLY_TO.
REPORT_ROLES = (Role.EXECUTIVE, Role.OPS_MANAGER, Role.ADMIN)
USAGE = ("月报格式：\n· 月报（上月的月度订单达成分析表，PDF）\n· 月报 2026-10（指定月份）\n"
         "· 月报 2026-10 Excel（明细数据，Excel 表格）")
_EXCEL_WORDS = {"excel", "xlsx", "表格", "明细"}


def _request(rest: str, ctx: Ctx) -> tuple[Month, str]:
    month: Month | None = None
    file_format = "pdf"
    for token in rest.replace("，", " ").split():
        if token.lower() in _EXCEL_WORDS:
            file_format = "xlsx"
        elif token.lower() == "pdf":
            file_format = "pdf"
        elif month is None:
            try:
                month = Month.parse(token)
            except DomainError:
                raise DomainError(f"无法识别月份「{token}」。{MONTH_USAGE}\n{USAGE}") from None
        else:
            raise DomainError(USAGE)
    return month or last_full_month(ctx.today), file_format


@routes.text(r"(?:月报|月报表|月度报表)(?P<rest>(?:\s.*|\d.*)?)", roles=REPORT_ROLES, read_only=True,
             help="月报 / 月报 2026-10：月度订单达成分析表（PDF 文件；加「Excel」得明细表格）")
def monthly_report(msg: TextMsg, ctx: Ctx) -> Reply:
    month, file_format = _request(ctx.match.get("rest", ""), ctx)
    check_month(ctx.uow, month, ctx.today)
    ctx.enqueue(REPORTS_SEND_MONTHLY, userids=[ctx.userid], month=month.iso, as_of=ctx.today.isoformat(),
                file_format=file_format)
    kind = "Excel 表格" if file_format == "xlsx" else "PDF"
    partial = "（本月尚未结束，统计到今天）" if month == Month.of(ctx.today) else ""
    return Text(f"正在生成{month.label}月度订单达成分析表（{kind}）{partial}，完成后以文件发给您，请稍候……")
