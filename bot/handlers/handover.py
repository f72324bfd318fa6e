"""交接班: the last shift's handover in chat, and 确认接班 on its card."""

from __future__ import annotations

from alerts import handover
from bot.routing import Ctx, Routes
from bot.task_refs import ALERTS_DELIVER
from domain.services import handover as service
from domain.services.handover import HandoverView
from wecom.inbound import CardClick, Inbound
from wecom.replies import NoReply, Reply, Text

routes = Routes("handover")

MAX_LINES = 10



def _section(title: str, lines: list[str]) -> list[str]:
    if not lines:
        return [f"{title}：无"]
    more = [f"  …另有 {len(lines) - MAX_LINES} 项"] if len(lines) > MAX_LINES else []
    return [f"{title}：", *(f"· {line}" for line in lines[:MAX_LINES]), *more]


def handover_text(view: HandoverView, ctx: Ctx) -> str:
    row, f = view.row, view.row.facts
    nxt = f" → {f['next']}" if f.get("next") else ""
    lines = [f"交接班 {f.get('label', row.shift)}（{f.get('hours', '')}）{nxt}",
             f"交班：{service.side_text(f.get('outgoing', {}))}；接班：{service.side_text(f.get('incoming', {}))}"]
    lines += _section("产量/计划", [service.press_line(p) for p in f.get("presses", [])])
    lines += _section("未结异常", [service.exception_line(e) for e in f.get("exceptions", [])])
    lines += _section("未结维修", [service.repair_line(r) for r in f.get("repairs", [])])
    lines += _section("未关预警", [service.alert_line(a) for a in f.get("alerts", [])])
    lines += _section("换模", list(f.get("moulds", [])))
    lines += _section("下班开工", [service.work_order_line(w) for w in f.get("next_work_orders", [])])
    lines.append(service.state_text(row, ctx.tools.alert_policy.tz, view.acknowledged_by))
    return "\n".join(lines)


@routes.text(r"交接班|交班|接班", read_only=True, help="交接班：查看上一班的交接班（产量、未结事项、下班工单）")
def last(msg: Inbound, ctx: Ctx) -> Reply:
    view = service.last_handover(ctx.uow)
    if view is None:
        return Text("还没有交接班记录（多班次或设有班组班长的工厂在每班结束时生成）。")
    return Text(handover_text(view, ctx))


@routes.card(key_prefix="handover:ack:")
def confirm(msg: CardClick, ctx: Ctx) -> Reply:
    result = handover.acknowledge(ctx.uow, ctx.tools.alert_policy, handover_id=ctx.card_record_id(), userid=ctx.userid,
                                  now=ctx.now, response_code=msg.response_code)
    if not result.changed:
        return Text(result.message)  # a card tap's text goes out as a message (bot/dispatch.py)
    ctx.enqueue(ALERTS_DELIVER)  # the card's update for both leads, queued in this transaction
    return NoReply()


@routes.card(key_prefix="handover:noop:")
def confirmed(msg: CardClick, ctx: Ctx) -> Reply:
    return NoReply()
