"""班次: the shift on duty now, its crew and lead, the production day's shifts and the next change."""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.routing import Ctx, Routes
from domain.services.shift_info import DayShifts, ShiftInfo, ShiftView, day_shifts, shift_info, weekday_name
from wecom.inbound import Inbound
from wecom.replies import Reply, Text

routes = Routes("shifts")


def _when(v: ShiftView, info: ShiftInfo) -> str:
    start = v.shift.start
    same_day = start.date() == info.now.astimezone(start.tzinfo).date()
    return f"{start:%H:%M}" if same_day else f"{start:%m-%d} {weekday_name(start.date())} {start:%H:%M}"


def shifts_text(info: ShiftInfo) -> str:
    head = f"生产日 {info.day:%m-%d} {weekday_name(info.day)}"
    if not info.working_day:
        lines = [f"今天（{head}）是休息日，不排班。"]
        if info.next_shift is not None:
            lines.append(f"下一个班次：{_when(info.next_shift, info)} {info.next_shift.text}")
        return "\n".join(lines)
    lines = [f"班次（{head}）"]
    on = info.on_duty
    lines.append(f"当班：{on.text}" if on is not None else "当班：现在不在班次时间内")
    if len(info.shifts) > 1 or on is None:
        lines.append("今日班次：")
        for v in info.shifts:
            lines.append(f"· {v.text}" + ("  ← 当班" if on is not None and v.shift.key == on.shift.key else ""))
    nxt = info.next_shift
    if on is not None:
        ends = on.shift.end
        if nxt is not None and nxt.shift.start == ends:
            lines.append(f"下次换班：{_when(nxt, info)} 交给 {nxt.text}")
        else:
            lines.append(f"本班 {ends:%H:%M} 结束" + (f"；下一个班次：{_when(nxt, info)} {nxt.text}" if nxt else ""))
    elif nxt is not None:
        lines.append(f"下一个班次：{_when(nxt, info)} {nxt.text}")
    return "\n".join(lines)


RELATIVE = {"昨天": -1, "今天": 0, "明天": 1, "后天": 2}
BAD_DAY = "请写 班次 明天、班次 12-05 或 班次 2026-12-05。"


def day_text(d: DayShifts) -> str:
    head = f"{d.day:%m-%d} {weekday_name(d.day)}"
    if not d.working_day:
        return f"生产日 {head} 是休息日，不排班。"
    return "\n".join([f"生产日 {head} 的班次："] + [f"· {v.text}" for v in d.shifts])


def which_day(text: str, today: date) -> date | None:
    """'明天', '12-05' or '2026-12-05' as a production day (a month-day is this year's, or next year's once
    it has passed by more than half a year)."""
    if text in RELATIVE:
        return today + timedelta(days=RELATIVE[text])
    m = re.fullmatch(r"(?:(\d{4})-)?(\d{1,2})-(\d{1,2})", text)
    if m is None:
        return None
    try:
        day = date(int(m[1] or today.year), int(m[2]), int(m[3]))
    except ValueError:
        return None
    if m[1] is None and (today - day).days > 183:
        day = day.replace(year=day.year + 1)
    return day


@routes.text(r"班次\s+(?P<when>\S+)", read_only=True, help="班次 明天 / 班次 12-05：查看某个生产日的班次和班组")
def shifts_on(msg: Inbound, ctx: Ctx) -> Reply:
    day = which_day(ctx.match["when"], ctx.policy.calendar.production_day(ctx.now))
    if day is None:
        return Text(BAD_DAY)
    return Text(day_text(day_shifts(ctx.uow, ctx.policy.calendar, day)))


@routes.text(r"班次|当班|排班|现在是什么班", read_only=True, help="班次：查看当前班次、班组和下次换班")
def shifts(msg: Inbound, ctx: Ctx) -> Reply:
    return Text(shifts_text(shift_info(ctx.uow, ctx.policy.calendar, ctx.now)))
