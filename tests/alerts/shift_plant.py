"""A 2x12 plant (白班 08:00-20:00, 夜班 20:00-08:00) with two crews, and how its people see their cards.

甲班 (lead ld_day, technician techA) always works the day, 乙班 (lead ld_night, technician techB) the night;
everyone else of tests/alerts/conftest.py (sup, ops, techC…) is in no crew, so reachable at any time.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alerts.policy import AlertPolicy
from bot.outbox import deliver
from domain.calendar_book import CalendarBook
from domain.models import Person
from domain.plant_calendar import CalendarSpec, Crew, DayPattern, PlantCalendar, Rotation, parse_shifts
from domain.policy import PlantPolicy
from factorybot.config import Settings
from factorybot.runtime import build_alert_policy, build_policy
from tests.factories import NOW
from wecom.client import WeComClient

SHIFTS = "白班=08:00-20:00,夜班=20:00-08:00"
SPEC = CalendarSpec(
    patterns=(DayPattern("两班", parse_shifts(SHIFTS)),),
    crews=(Crew("甲班", "ld_day", ("ld_day", "techA")), Crew("乙班", "ld_night", ("ld_night", "techB"))),
    rotation=Rotation(date(2026, 11, 1), (("甲班", "乙班"),)),
)
LEADS = (("ld_day", "白班长"), ("ld_night", "夜班长"))

# NOW is 2026-11-25 10:00 plant time, in the day shift of production day 11-25.
NIGHT_START = NOW + timedelta(hours=10)  # 11-25 20:00
NIGHT_CHECK = NOW + timedelta(hours=16)  # 11-26 02:00: half-way through the night shift
NIGHT_END = NOW + timedelta(hours=22)  # 11-26 08:00


def policies() -> tuple[AlertPolicy, PlantPolicy]:
    """The alert policy and the plant policy (reports) asking one book: the 2x12 calendar with crews."""
    settings = Settings(shifts=SHIFTS)
    book = CalendarBook(PlantCalendar(SPEC, ZoneInfo("Asia/Shanghai")))
    return build_alert_policy(settings, book), build_policy(settings, book)


def add_leads(make_uow) -> None:
    with make_uow() as uow:
        for userid, name in LEADS:
            uow.session.add(Person(userid=userid, name=name, roles_csv="team_lead", workshop="注塑车间"))
        uow.commit()


def delivered_cards(session_factory, fake_wecom, at) -> dict[str, list[dict[str, Any]]]:
    """Send the outbox through the fake WeCom; then, per person, the cards WeCom accepted for them."""
    client = WeComClient(fake_wecom.corp_id, fake_wecom.secret, fake_wecom.agent_id, fake_wecom.url)
    deliver(session_factory, client, lambda: at)
    out: dict[str, list[dict[str, Any]]] = {}
    for call in fake_wecom.calls(path="message/send"):
        body = call.get("json") or {}
        if call.get("errcode") != 0 or body.get("msgtype") != "template_card":
            continue
        for userid in body["touser"].split("|"):
            out.setdefault(userid, []).append(body["template_card"])
    return out


def card_lines(cards: list[dict[str, Any]]) -> list[str]:
    """Each card as a person reads its head: title, then the line under it."""
    return [f"{c['main_title']['title']} {c['main_title'].get('desc', '')}".strip() for c in cards]
