"""Why a line is late or at risk, in the words a planner uses: 停机, 速度慢, 不良率高, 未开工, 异常, 计划已晚."""

from __future__ import annotations

from datetime import datetime

from forecast.policy import ForecastPolicy
from forecast.projection import LineForecast, OrderForecast, Risk, WorkOrderProjection, rate_days

# Below this share of the planned rate, the speed itself is the reason.
SLOW_SHARE = 0.9


def reasons(wo: WorkOrderProjection, line: LineForecast, now: datetime, policy: ForecastPolicy,
            defect_limit_pct: float = 3.0) -> list[str]:
    f, cal = wo.facts, policy.calendar
    out: list[str] = []
    window = rate_days(f, now, policy)
    if wo.stopped:
        out.append(f"停机：近 {window} 个工作日无产出")
    elif not wo.started and not wo.done:
        planned = cal.local(f.planned_start)
        out.append(f"未开工（计划 {planned:%m-%d %H:%M}）" if planned < cal.local(now)
                   else f"未开工，计划 {planned:%m-%d} 开工")
    if wo.started and not wo.done and not wo.moulding_left:
        out.append("注塑已完成，后工序未完成")
    elif wo.rate.basis == "recent" and not wo.stopped and wo.rate.per_hour < SLOW_SHARE * wo.plan_per_hour:
        per_day = wo.rate.per_hour * cal.hours_per_day
        out.append(f"速度慢：近 {wo.rate.days} 天日均 {per_day:.0f} 件，计划 {f.daily_plan_qty} 件/天")
    made = f.window_good + f.window_defect
    if window and made and 100 * f.window_defect / made > defect_limit_pct:
        out.append(f"不良率高：近 {window} 天 {100 * f.window_defect / made:.0f}%")
    if f.exceptions:
        out.append("异常未关闭：" + "、".join(sorted(set(f.exceptions))))
    if cal.finish_day(f.planned_finish) > line.line.due and not wo.started:
        out.append("计划完工已晚于交期")
    if not out and line.risk != Risk.ON_TIME:
        out.append(f"余量不足：按当前速度距交期仅 {max(line.slack_days, 0)} 天" if line.slack_days >= 0
                   else "按当前速度赶不上交期")
    return out


def order_reasons(order: OrderForecast, now: datetime, policy: ForecastPolicy,
                  defect_limit_pct: float = 3.0) -> list[str]:
    line = order.worst
    return reasons(line.bottleneck, line, now, policy, defect_limit_pct)
