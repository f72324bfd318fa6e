"""The demo plant's calendar: two 12-hour shifts (白班 08:00-20:00, 夜班 20:00-08:00) on every day, run by
two crews of the moulding shop on 两班倒 (甲班 days, 乙班 nights), each with its lead. Post-processing and
quality work days only and belong to no crew (day staff, reachable at any time)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from domain.demo.catalogue import _TEAM_LEADS, _WORKERS, INJECTION
from domain.plant_calendar import CalendarSpec, Crew, DayPattern, PlantCalendar, parse_rotation, parse_shifts

DEMO_SHIFTS = "白班=08:00-20:00,夜班=20:00-08:00"
DAY_CREW, NIGHT_CREW = "甲班", "乙班"
# The README's walk-through asks zhangsan at noon: he is on the day crew.
_MOULDERS = ("zhangsan", *(u for u, _ in _WORKERS[INJECTION]))
DAY_MEMBERS = _MOULDERS[0::2]
NIGHT_MEMBERS = _MOULDERS[1::2]
DAY_LEAD, NIGHT_LEAD = (u for u, _, w in _TEAM_LEADS if w == INJECTION)


def demo_calendar(tz: ZoneInfo) -> PlantCalendar:
    crews = (Crew(DAY_CREW, DAY_LEAD, DAY_MEMBERS), Crew(NIGHT_CREW, NIGHT_LEAD, NIGHT_MEMBERS))
    rotation = parse_rotation(f"{date(2026, 1, 5).isoformat()}:{DAY_CREW}/{NIGHT_CREW}")
    return PlantCalendar(CalendarSpec(patterns=(DayPattern("两班", parse_shifts(DEMO_SHIFTS)),), crews=crews,
                                      rotation=rotation), tz)


def day_counterpart(userid: str) -> str:
    """A night-crew moulder's day-crew partner (and the day crew's own people unchanged): the day shift's
    reports are the day crew's, drawn without changing how many draws the plan makes."""
    if userid == NIGHT_LEAD:
        return DAY_LEAD
    if userid in NIGHT_MEMBERS:
        return DAY_MEMBERS[NIGHT_MEMBERS.index(userid) % len(DAY_MEMBERS)]
    return userid


def night_counterpart(userid: str) -> str:
    if userid == DAY_LEAD:
        return NIGHT_LEAD
    if userid in DAY_MEMBERS:
        return NIGHT_MEMBERS[DAY_MEMBERS.index(userid) % len(NIGHT_MEMBERS)]
    return userid
