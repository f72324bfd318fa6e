"""Alerts at a shift plant's boundaries: the night's plan alert reaches the 08:00 handover, 交接班未确认 waits
for the incoming shift across a rest day, a night-only plant is judged per shift, and 当日关闭 counts the
production day. (tests/alerts/shift_plant.py describes the 2x12 plant.)"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from alerts import actions
from alerts.cards import REMINDER
from alerts.handover import HANDOVER_UNACKED
from alerts.intake import exception_opened
from alerts.stats import alert_stats
from domain.calendar_book import CalendarBook
from domain.models import Handover
from domain.plant_calendar import CalendarSpec, DayPattern, PlantCalendar, parse_shifts
from domain.services.exceptions import open_exception
from domain.vocab import AlertStatus
from factorybot.config import Settings
from factorybot.runtime import build_alert_policy, build_policy
from tests.alerts.shift_plant import (
    NIGHT_CHECK,
    NIGHT_END,
    NIGHT_START,
    SHIFTS,
    SPEC,
    add_leads,
    card_lines,
    delivered_cards,
    policies,
)
from tests.alerts.test_alert_lifecycle import alerts, report, run
from tests.factories import NOW

TZ = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)
NIGHT_KEY = "plan:注塑车间:2026-11-25:夜班"


def handover_rows(cards: list[dict]) -> list[dict[str, str]]:
    return [{r["keyname"]: r["value"] for r in c["horizontal_content_list"]}
            for c in cards if c["main_title"]["title"].startswith("【交接班】")]


def test_the_nights_plan_alert_is_on_the_0800_handover_and_reminded_then_clears_when_the_day_shift_ends(
        plant, make_uow, session_factory, fake_wecom):
    alert_policy, plant_policy = policies()
    add_leads(make_uow)
    report(make_uow, plant_policy, 480, at=NOW)  # the day shift is on plan
    report(make_uow, plant_policy, 100, at=NIGHT_START + timedelta(hours=1))  # the night makes 100 of 500
    run(make_uow, alert_policy, NIGHT_END - timedelta(hours=1))  # 07:00: the night is behind
    [night] = alerts(make_uow, "plan_behind")
    assert night.subject_key == NIGHT_KEY and night.status == AlertStatus.OPEN
    fake_wecom.reset()

    made = run(make_uow, alert_policy, NIGHT_END)  # 08:00: a new production day, and the night's handover
    assert made.handover is not None
    with make_uow() as uow:
        row = uow.session.get(Handover, made.handover)
        assert row is not None and row.shift == "夜班"
        assert f"#{night.id}【当日计划完成率低于70%】{night.title}" in [
            f"#{a['id']}【{a['label']}】{a['title']}" for a in row.facts["alerts"]]
    cards = delivered_cards(session_factory, fake_wecom, NIGHT_END)
    [rows] = handover_rows(cards["ld_day"])
    assert rows["未关预警"].startswith(f"#{night.id}【当日计划完成率低于70%】")  # the first open alert
    # The incoming day shift is reminded of the night's shortfall.
    assert f"{REMINDER}【当日计划完成率低于70%】#{night.id} {night.title}" in card_lines(cards["ld_day"])
    [night] = [a for a in alerts(make_uow, "plan_behind") if a.subject_key == NIGHT_KEY]
    assert night.status == AlertStatus.OPEN

    run(make_uow, alert_policy, NIGHT_END + timedelta(hours=11, minutes=59))  # 19:59: still the last ended
    [night] = [a for a in alerts(make_uow, "plan_behind") if a.subject_key == NIGHT_KEY]
    assert night.status == AlertStatus.OPEN
    run(make_uow, alert_policy, NIGHT_END + timedelta(hours=12))  # 20:00: the day shift has ended after it
    [night] = [a for a in alerts(make_uow, "plan_behind") if a.subject_key == NIGHT_KEY]
    assert night.status == AlertStatus.CLOSED


def unacked_cards(fake_wecom, userid: str) -> list[str]:
    return [c["json"]["template_card"]["main_title"]["desc"] for c in fake_wecom.calls(userid=userid,
                                                                                         path="message/send")
            if c.get("errcode") == 0 and "交接班未确认" in c["json"].get("template_card", {})
            .get("main_title", {}).get("title", "")]


def test_saturday_nights_handover_waits_for_mondays_lead_and_nothing_fires_on_sunday(
        plant, make_uow, session_factory, fake_wecom):
    settings = Settings(shifts=SHIFTS, rest_days="sun")
    book = CalendarBook(PlantCalendar(replace(SPEC, rest_weekdays=frozenset({6})), TZ))
    alert_policy = build_alert_policy(settings, book)
    add_leads(make_uow)
    fake_wecom.reset()
    sunday_0800 = NOW + 4 * DAY - timedelta(hours=2)  # 11-29 08:00: Saturday's night shift has ended
    monday_0800 = sunday_0800 + DAY
    made = run(make_uow, alert_policy, sunday_0800)
    with make_uow() as uow:
        row = uow.session.get(Handover, made.handover)
        assert row is not None and (row.shift, row.facts["next"]) == ("夜班", "11-30 白班")
    for at in (sunday_0800 + timedelta(minutes=20), sunday_0800 + timedelta(hours=12),
               monday_0800, monday_0800 + timedelta(minutes=14)):
        run(make_uow, alert_policy, at)
        delivered_cards(session_factory, fake_wecom, at)
    assert alerts(make_uow, HANDOVER_UNACKED) == [] and unacked_cards(fake_wecom, "sup") == []
    run(make_uow, alert_policy, monday_0800 + timedelta(minutes=15))  # the ack time of Monday's day shift
    delivered_cards(session_factory, fake_wecom, monday_0800 + timedelta(minutes=15))
    assert unacked_cards(fake_wecom, "sup") == ["11-28 夜班 交接班未确认（接班：甲班 白班长）"]


def test_a_night_only_plant_is_judged_at_its_own_checkpoints_not_at_the_days(plant, make_uow):
    shifts = "夜班=20:00-08:00"
    settings = Settings(shifts=shifts)
    book = CalendarBook(PlantCalendar(CalendarSpec(patterns=(DayPattern("夜班", parse_shifts(shifts)),)), TZ))
    alert_policy, plant_policy = build_alert_policy(settings, book), build_policy(settings, book)
    report(make_uow, plant_policy, 100, at=NIGHT_START + timedelta(hours=1))  # the night carries the day's 1000
    run(make_uow, alert_policy, NIGHT_CHECK - timedelta(minutes=1))  # 01:59
    assert alerts(make_uow, "plan_behind") == []
    run(make_uow, alert_policy, NIGHT_CHECK)  # 02:00: half the night, 500 due, 100 made
    [night] = alerts(make_uow, "plan_behind")
    assert night.subject_key == NIGHT_KEY and night.title == "注塑车间 夜班计划完成率 20%（低于 70%）"
    assert (night.facts["检查点"], night.facts["应完成"]) == ("02:00", "500 件")
    run(make_uow, alert_policy, NIGHT_END - timedelta(hours=1))  # 07:00: its second checkpoint
    [night] = alerts(make_uow, "plan_behind")
    assert (night.facts["检查点"], night.facts["应完成"]) == ("07:00", "917 件")
    run(make_uow, alert_policy, NIGHT_END + timedelta(hours=3))  # 11:00: a day checkpoint, not the night's
    [night] = alerts(make_uow, "plan_behind")
    assert night.status == AlertStatus.OPEN and night.facts["检查点"] == "07:00"


def test_an_alert_fired_and_closed_in_one_night_shift_is_closed_the_same_day(plant, make_uow):
    alert_policy, plant_policy = policies()
    add_leads(make_uow)
    at_2300 = NIGHT_START + timedelta(hours=3)
    with make_uow() as uow:
        exc = open_exception(uow, plant_policy, userid="w1", type="品质异常", source_key="q-2300", now=at_2300,
                             work_order_code="WO20261125-01", description="缩水")
        exception_opened(uow, alert_policy, exc.id, at_2300)
        uow.commit()
    [alert] = alerts(make_uow, "exception")
    with make_uow() as uow:
        actions.close(uow, alert_id=alert.id, userid="sup", now=NIGHT_CHECK + timedelta(hours=1))  # 03:00
        uow.commit()
    with make_uow() as uow:
        [row] = [r for r in alert_stats(uow, alert_policy, "2026-11") if r.rule == "exception"]
        assert uow.session.scalars(select(Handover)).all() == []
    assert row.count == 1 and row.closed_same_day_pct == 100  # one production day, two calendar dates
