"""使用情况 in chat, for administrators and managers: this month's usage figures."""

from __future__ import annotations

from bot.routing import Ctx, Routes
from bot.views import usage_text
from domain.services.usage import usage_report
from domain.vocab import Role
from wecom.inbound import Inbound
from wecom.replies import Reply, Text

routes = Routes("usage")


@routes.text(r"使用情况(?:\s*(?P<month>\d{4}-\d{2}))?", roles=(Role.ADMIN, Role.OPS_MANAGER, Role.EXECUTIVE),
             help="使用情况 [2026-10]：本月（或指定月份）的使用人数、操作成功率等")
def usage_in_chat(msg: Inbound, ctx: Ctx) -> Reply:
    month = ctx.match.get("month") or ctx.today.strftime("%Y-%m")
    report = usage_report(ctx.uow, month, today=ctx.today, tz=ctx.policy.tz)
    return Text(usage_text(report))
