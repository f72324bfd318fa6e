"""Alert cards acted on from WeCom (认领 / 已处理 / 转维修) and the 预警 list; repair tickets are repairs.py's."""

from __future__ import annotations

from alerts import actions
from alerts.alert_list import alert_page, resend_card
from bot.routing import Ctx, Routes
from bot.task_refs import ALERTS_DELIVER, ALERTS_UPDATE_CARDS
from wecom.inbound import CardClick, Inbound
from wecom.replies import NoReply, Reply, Text

routes = Routes("alerts")



def _after_action(msg: CardClick, ctx: Ctx, alert_id: int) -> None:
    # Every copy of the card is updated through the API: a passive reply would only change the tapper's.
    ctx.enqueue(ALERTS_UPDATE_CARDS, alert_id=alert_id, tapped_task_id=msg.task_id,
                response_code=msg.response_code)
    ctx.enqueue(ALERTS_DELIVER)


@routes.card(key_prefix="alert:ack:")
def acknowledge(msg: CardClick, ctx: Ctx) -> Reply:
    result = actions.acknowledge(ctx.uow, alert_id=ctx.card_record_id(), userid=ctx.userid, now=ctx.now)
    _after_action(msg, ctx, result.alert_id)
    return NoReply()


@routes.card(key_prefix="alert:close:")
def close(msg: CardClick, ctx: Ctx) -> Reply:
    result = actions.close(ctx.uow, alert_id=ctx.card_record_id(), userid=ctx.userid, now=ctx.now)
    _after_action(msg, ctx, result.alert_id)
    return NoReply()


@routes.card(key_prefix="alert:repair:")
def to_repair(msg: CardClick, ctx: Ctx) -> Reply:
    result = actions.to_repair(ctx.uow, ctx.tools.alert_policy, alert_id=ctx.card_record_id(), userid=ctx.userid, now=ctx.now)
    _after_action(msg, ctx, result.alert_id)
    ctx.send_text([ctx.userid], result.message)
    return NoReply()


@routes.card(key_prefix="alert:noop:")
def closed_alert(msg: CardClick, ctx: Ctx) -> Reply:
    return NoReply()


LIST = r"(?:预警|我的预警|待处理预警)"


@routes.text(LIST + r"(?:\s*第?\s*(?P<page>\d{1,4})\s*页?)?", read_only=True,
             help="预警：查看您的预警（预警 2：第 2 页；预警 #12：收到该预警的卡片，可认领、处理）")
def open_alerts(msg: Inbound, ctx: Ctx) -> Reply:
    page = int(ctx.match.get("page") or 1)
    return Text(alert_page(ctx.uow, ctx.tools.alert_policy, userid=ctx.userid, page=page, now=ctx.now))


@routes.text(LIST + r"\s*[#＃]\s*(?P<alert_id>\d{1,9})")
def alert_card_again(msg: Inbound, ctx: Ctx) -> Reply:
    sent = resend_card(ctx.uow, ctx.tools.alert_policy, alert_id=int(ctx.match["alert_id"]), person=ctx.user,
                       now=ctx.now)
    ctx.enqueue(ALERTS_DELIVER)
    return Text(sent.message)


@routes.menu("alerts", name="预警", under="更多", position=30, read_only=True)
def open_alerts_from_menu(msg: Inbound, ctx: Ctx) -> Reply:
    return open_alerts(msg, ctx)
