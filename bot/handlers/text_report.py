"""报工 by typing, for those who prefer it: `报工 WO20251101-03 良品 800 不良 12`."""

from __future__ import annotations

from bot.report_flow import ReportRequest, record_report, report_text
from bot.report_parse import parse_report_text
from bot.routing import Ctx, Routes
from domain.services import reporting
from wecom.inbound import TextMsg
from wecom.replies import Reply, Text

routes = Routes("text_report")


@routes.text(r"报工(?P<rest>.*)", help="报工 工单号 良品 数量 不良 数量（如：报工 WO20261125-01 良品 800 不良 12）")
def report_by_text(msg: TextMsg, ctx: Ctx) -> Reply:
    parsed = parse_report_text(ctx.match.get("rest", ""))
    # Asked before the report starts the work order: a typed quantity on tomorrow's plan is counted, as
    # an early start the reply names, never as that plan done.
    early = reporting.early_start(ctx.uow, ctx.policy, parsed.work_order_code, ctx.now)
    result = record_report(
        ctx.uow, ctx.policy, userid=ctx.userid, now=ctx.now, notify=ctx.send_text, enqueue=ctx.enqueue,
        req=ReportRequest(parsed.work_order_code, parsed.good_qty, parsed.defect_qty, source_key=ctx.key,
                          operation_name=parsed.operation),
    )
    text = report_text(result)
    if early and not result.duplicate:
        text += f"\n（工单{early}，本次按提前开工记录）"
    return Text(text)
