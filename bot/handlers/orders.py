"""Order questions in chat: a bill number, a customer name, "我的订单"."""

from __future__ import annotations

from urllib.parse import quote

from bot import views
from bot.handlers.forecast import forecast_policy
from bot.routing import Ctx, Routes
from domain.services import orders, visibility
from forecast.service import order_forecast
from wecom.inbound import Inbound, TextMsg
from wecom.replies import Reply, Text

routes = Routes("orders")

# A space typed inside the number (WO 20261204-04, SEORD 000560) is the same number.
BILL = r"(?:订单\s*|查询?\s*)?(?P<bill>[A-Za-z]{2,10}\s?\d{3,}(?:\s?-\s?\d+)?[A-Za-z0-9-]*)"


@routes.text(BILL, read_only=True,
             help="发送订单号（如 SEORD000123）或工单号（如 WO20261125-01）：查看阶段、各工序进度、交期和异常")
def order_by_bill(msg: TextMsg, ctx: Ctx) -> Reply:
    number = "".join(ctx.match["bill"].split())
    found = orders.find_by_number(ctx.uow, number, today=ctx.today, tz=ctx.policy.tz)
    bill_no = found.bill_no if isinstance(found, orders.OrderProgress) else found.order.bill_no
    # The board's rule: an order outside the asker's workshop is refused here as on its order page, and a
    # work order is seen by whoever may see its order.
    visibility.require_order_visible(ctx.uow, bill_no, person=ctx.user)
    ahead = order_forecast(ctx.uow, forecast_policy(ctx), ctx.now, bill_no)
    if isinstance(found, orders.WorkOrderDetail):
        return Text(views.work_order_text(found, ahead, ctx.today, ctx.policy.tz))
    board = f"{ctx.public_url.rstrip('/')}/board/order/{quote(bill_no)}" if ctx.public_url else None
    return Text(views.order_detail_text(found, ahead, ctx.today, board_url=board))


@routes.text(r"我的订单|我的工单|my\s*orders?", read_only=True, help="我的订单：查看您参与的未完成订单")
def mine(msg: Inbound, ctx: Ctx) -> Reply:
    return Text(views.order_list_text("您的未完成订单", orders.my_orders(ctx.uow, ctx.user.userid, today=ctx.today, tz=ctx.policy.tz)))


@routes.menu("my_orders", name="我的订单", under="我的", position=20, read_only=True)
def mine_from_menu(msg: Inbound, ctx: Ctx) -> Reply:
    return mine(msg, ctx)


@routes.text(r"全部\s*(?P<q>\S.{0,29})", defer="正在汇总，请稍候……", read_only=True,
             help="全部 客户名：分几条消息列出该客户的全部未完成订单")
def all_for_customer(msg: TextMsg, ctx: Ctx) -> Reply:
    """A big customer can have dozens of open orders: more than one 2048-byte text holds, so send them all."""
    found, total = orders.search_orders(ctx.uow, ctx.match["q"], today=ctx.today, tz=ctx.policy.tz, limit=None)
    if not found:
        return Text(f"没有找到客户「{ctx.match['q']}」的未完成订单。")
    chunks = views.order_list_chunks(f"「{ctx.match['q']}」的全部未完成订单（{total} 单）", found)
    for chunk in chunks[:-1]:
        ctx.send_text([ctx.user.userid], chunk)
    return Text(chunks[-1])


@routes.text(r"(?:客户\s*)?(?P<q>[^\s].{1,29})", read_only=True, yields=True, help="发送客户名称（如 美的）：列出该客户的未完成订单")
def by_customer(msg: TextMsg, ctx: Ctx) -> Reply:
    query = ctx.match["q"].strip()
    found, total = orders.search_orders(ctx.uow, query, today=ctx.today, tz=ctx.policy.tz)
    if not found:
        return Text(f"没有找到与「{query}」相关的订单或客户。\n发送「帮助」查看可用功能。")
    text = views.order_list_text(f"「{query}」的未完成订单", found, total)
    if total > len(found):
        text += f"\n发送「全部 {query}」查看全部 {total} 单。"
    return Text(text)
