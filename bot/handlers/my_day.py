"""今天 / 我的积分: a worker's own day, so they can check what was counted."""

from __future__ import annotations

from bot.routing import Ctx, Routes
from domain.policy import PlantPolicy
from domain.services.my_day import DaySummary, ReportLine, day_summary
from wecom.inbound import Inbound
from wecom.replies import Reply, Text

routes = Routes("my_day")

MAX_LINES = 15


def _qty(good: int, defect: int) -> str:
    return f"良品 {good}" + (f" 不良 {defect}" if defect else "")


def report_line(r: ReportLine) -> str:
    """One report of the day with its 报工号, which 撤销 and a lead's 更正 name."""
    was = f"原{_qty(*r.original)}" if r.original else ""
    if r.undone:
        points = f" {r.points:+d}分" if r.points else ""
        return f"· {r.work_order_code} {r.operation} 已撤销（{was}）{points} #{r.report_id}"
    # A correction brought back to the figure first reported leaves nothing to say.
    note = f"（已更正，{was}）" if r.original and r.original != (r.good_qty, r.defect_qty) else ""
    return f"· {r.work_order_code} {r.operation} {_qty(r.good_qty, r.defect_qty)} {r.points:+d}分{note} #{r.report_id}"


def today_text(s: DaySummary) -> str:
    if not s.reports:
        return f"{s.name}，今天（{s.day}）还没有报工记录。\n今日积分 {s.points_today}，本月积分 {s.points_month}。"
    undone = sum(1 for r in s.reports if r.undone)
    lines = [f"{s.name} 今天（{s.day}）报工 {len(s.reports)} 次" + (f"（撤销 {undone} 次）" if undone else "") + "："]
    for r in s.reports[-MAX_LINES:]:
        lines.append(report_line(r))
    if len(s.reports) > MAX_LINES:
        lines.insert(1, f"（只显示最近 {MAX_LINES} 条）")
    defect_total = f"，不良 {s.defect_total} 件" if s.defect_total else ""
    lines.append(f"今日累计完成 {s.good_total} 件{defect_total}")
    lines.append(f"今日积分 {s.points_today}，本月积分 {s.points_month}")
    return "\n".join(lines)


def counted(s: DaySummary) -> int:
    """Reports still counted: not undone, and not corrected to nothing."""
    return sum(1 for r in s.reports if not r.undone and r.good_qty + r.defect_qty > 0)


def points_text(s: DaySummary, policy: PlantPolicy) -> str:
    return (f"{s.name}的积分：今日 {s.points_today} 分，本月 {s.points_month} 分。\n"
            f"今天报工 {counted(s)} 次，完成 {s.good_total} 件。\n"
            f"计分规则：{policy.points_rule.describe(policy.points_daily_cap)}")


@routes.text(r"今天|今日|今日报工|今天报工", read_only=True, help="今天：查看您今天的报工记录和积分")
def today(msg: Inbound, ctx: Ctx) -> Reply:
    return Text(today_text(day_summary(ctx.uow, ctx.userid, day=ctx.today)))


@routes.text(r"我的积分|积分", read_only=True, help="我的积分：查看今日和本月积分")
def points(msg: Inbound, ctx: Ctx) -> Reply:
    return Text(points_text(day_summary(ctx.uow, ctx.userid, day=ctx.today), ctx.policy))


@routes.menu("my_today", name="我的今天", under="我的", position=21, read_only=True)
def today_from_menu(msg: Inbound, ctx: Ctx) -> Reply:
    return today(msg, ctx)


@routes.menu("my_points", name="我的积分", under="我的", position=22, read_only=True)
def points_from_menu(msg: Inbound, ctx: Ctx) -> Reply:
    return points(msg, ctx)


@routes.card(key_prefix="me:today", read_only=True)
def today_from_card(msg: Inbound, ctx: Ctx) -> Reply:
    return today(msg, ctx)
