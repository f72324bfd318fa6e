"""风险订单: the open orders the forecast says will be late or are at risk, for the asker's workshop."""

from __future__ import annotations

from bot.routing import Ctx, Routes
from forecast.explain import order_reasons
from forecast.policy import ForecastPolicy
from forecast.projection import OrderForecast, Risk
from forecast.service import risky_orders
from forecast.text import eta_text, overdue_days, overdue_text, risk_text
from wecom.inbound import Inbound
from wecom.replies import Reply, Text

routes = Routes("forecast")

MAX_SHOWN = 12
MAX_BYTES = 2000  # WeCom caps a text at 2048 bytes


def forecast_policy(ctx: Ctx) -> ForecastPolicy:
    return ctx.tools.alert_policy.forecast if ctx.tools is not None else ForecastPolicy()


def risky_line(order: OrderForecast, ctx: Ctx, policy: ForecastPolicy) -> str:
    worst = order.worst
    # A stopped line already says so; the next reason (an open exception, scrap) tells more.
    why = [r for r in order_reasons(order, ctx.now, policy) if not (worst.stopped and r.startswith("停机"))]
    reason = f"：{why[0]}" if why else ""
    late = overdue_days(order, ctx.today)
    if late:  # how late it is and when it will now be made, never a 会逾期 still to come
        first_due = min(ln.line.due for ln in order.lines)
        return f"· {order.bill_no} {order.customer} {overdue_text(late, order)}（交期 {first_due:%m-%d}）{reason}"
    return (f"· {order.bill_no} {order.customer} {eta_text(worst)}（交期 {worst.line.due:%m-%d}）"
            f"{risk_text(worst, ctx.today)}{reason}")


@routes.text(r"风险订单|预计逾期|交期风险|会逾期的订单", read_only=True, help="风险订单：列出预计会逾期或有风险的订单（按实际生产速度预测）")
def risky(msg: Inbound, ctx: Ctx) -> Reply:
    policy = forecast_policy(ctx)
    found = risky_orders(ctx.uow, policy, ctx.now, ctx.user)
    scope = ctx.user.workshop or "全厂"
    if not found:
        return Text(f"{scope}目前没有预计会逾期或有风险的订单。")
    overdue = sum(1 for o in found if overdue_days(o, ctx.today))
    late = sum(1 for o in found if o.risk == Risk.LATE and not overdue_days(o, ctx.today))
    counts = "，".join(f"{label} {n} 单" for label, n in (("已逾期", overdue), ("会逾期", late),
                                                         ("有风险", len(found) - late - overdue)) if n)
    out = [f"{scope}风险订单 {len(found)} 单（{counts}），按实际生产速度预测："]
    for order in found[:MAX_SHOWN]:
        line = risky_line(order, ctx, policy)
        if len("\n".join([*out, line, "……"]).encode()) > MAX_BYTES:
            break
        out.append(line)
    shown = len(out) - 1
    if shown < len(found):
        out.append(f"……另有 {len(found) - shown} 单未显示，请在看板上按「有风险」筛选查看。")
    out.append("发送订单号可查看详情。")
    return Text("\n".join(out))


@routes.menu("risk_orders", name="风险订单", under="更多", position=31, read_only=True)
def risky_from_menu(msg: Inbound, ctx: Ctx) -> Reply:
    return risky(msg, ctx)
