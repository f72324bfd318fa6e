"""Alerts follow the shift on a 2x12 plant with crews: the plan is checked per shift at its checkpoints and
its card reaches the lead on shift; the night's end reminds the incoming shift; an off-shift technician
is not called out. (tests/alerts/shift_plant.py describes the plant.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts import repair
from alerts.cards import REMINDER
from alerts.intake import exception_opened
from domain.models import RepairTicket
from domain.services.exceptions import open_exception
from domain.vocab import AlertStatus
from tests.alerts.shift_plant import (
    NIGHT_CHECK,
    NIGHT_END,
    NIGHT_START,
    add_leads,
    card_lines,
    delivered_cards,
    policies,
)
from tests.alerts.test_alert_lifecycle import alerts, report, run
from tests.factories import NOW

# WO20261125-01 plans 1000 a day: each 12-hour shift carries 500.
NIGHT_TITLE = "注塑车间 夜班计划完成率 40%（低于 70%）"


def plan_cards(cards: dict[str, list[dict]], userid: str) -> list[str]:
    return [line for line in card_lines(cards.get(userid, [])) if "计划完成率" in line]


def test_the_night_shift_is_checked_at_its_checkpoint_for_its_own_plan_and_its_card_reaches_the_night_lead(
        plant, make_uow, session_factory, fake_wecom):
    alert_policy, plant_policy = policies()
    add_leads(make_uow)
    fake_wecom.reset()
    report(make_uow, plant_policy, 480, at=NOW)  # the day shift is on plan (480 of 500)
    report(make_uow, plant_policy, 100, at=NIGHT_START + timedelta(hours=3))  # 23:00, in the night shift
    run(make_uow, alert_policy, NIGHT_CHECK - timedelta(minutes=1))  # 01:59: no checkpoint of the night yet
    assert alerts(make_uow, "plan_behind") == []
    run(make_uow, alert_policy, NIGHT_CHECK)  # 02:00: half the night, 250 of its 500 due, 100 made
    [night] = alerts(make_uow, "plan_behind")
    assert night.subject_key == "plan:注塑车间:2026-11-25:夜班" and night.title == NIGHT_TITLE
    assert night.facts["班次"] == "11-25 夜班 20:00-08:00" and night.facts["应完成"] == "250 件"
    assert night.facts["实际完成"] == "100 件" and night.facts["检查点"] == "02:00"

    cards = delivered_cards(session_factory, fake_wecom, NIGHT_CHECK)
    assert plan_cards(cards, "ld_night") == [f"【当日计划完成率低于70%】#{night.id} {NIGHT_TITLE}"]
    assert plan_cards(cards, "ld_day") == []  # the day lead is at home
    assert plan_cards(cards, "sup") == plan_cards(cards, "ld_night")  # the supervisor, in no crew, as ever
    card = next(c for c in fake_wecom.calls(userid="ld_night", path="message/send")
                if "template_card" in c["json"])["json"]["template_card"]
    assert {"keyname": "班次", "value": "11-25 夜班 20:00-08:00"} in card["horizontal_content_list"]


def test_the_day_shifts_alert_is_its_own_and_stays_while_the_night_is_judged(
        plant, make_uow, session_factory, fake_wecom):
    alert_policy, plant_policy = policies()
    add_leads(make_uow)
    fake_wecom.reset()
    report(make_uow, plant_policy, 100, at=NOW)
    run(make_uow, alert_policy, NOW + timedelta(hours=1))  # 11:00: 125 of the day's 500 due, 100 is 80%
    assert alerts(make_uow, "plan_behind") == []
    run(make_uow, alert_policy, NOW + timedelta(hours=5))  # 15:00: 292 due
    [day] = alerts(make_uow, "plan_behind")
    assert day.subject_key == "plan:注塑车间:2026-11-25:白班"
    assert day.title == "注塑车间 白班计划完成率 34%（低于 70%）"
    cards = delivered_cards(session_factory, fake_wecom, NOW + timedelta(hours=5))
    assert len(plan_cards(cards, "ld_day")) == 1 and plan_cards(cards, "ld_night") == []

    # The night makes its plan: no night alert, and the day's stays open while its production day lasts.
    report(make_uow, plant_policy, 300, at=NIGHT_START + timedelta(hours=1))
    run(make_uow, alert_policy, NIGHT_CHECK)
    [day] = alerts(make_uow, "plan_behind")
    assert day.status == AlertStatus.OPEN
    # The night falls behind by its second checkpoint (07:00: 458 due, 300 made): a second, separate alert.
    run(make_uow, alert_policy, NIGHT_END - timedelta(hours=1))
    day, night = alerts(make_uow, "plan_behind")
    assert day.status == AlertStatus.OPEN and night.subject_key == "plan:注塑车间:2026-11-25:夜班"
    assert night.title == "注塑车间 夜班计划完成率 65%（低于 70%）"
    # A new production day (08:00): the day shift's alert clears; the night's stays while the night is the
    # last shift that ended (its handover lists it), and clears when the day shift after it ends.
    run(make_uow, alert_policy, NIGHT_END)
    assert [a.status for a in alerts(make_uow, "plan_behind")] == [AlertStatus.CLOSED, AlertStatus.OPEN]
    run(make_uow, alert_policy, NIGHT_END + timedelta(hours=12))
    assert [a.status for a in alerts(make_uow, "plan_behind")][:2] == [AlertStatus.CLOSED] * 2


def reminders(cards: dict[str, list[dict]], userid: str) -> list[str]:
    return [line for line in card_lines(cards.get(userid, [])) if line.startswith(REMINDER)]


def test_the_night_shifts_end_reminds_the_incoming_shift_once(plant, make_uow, session_factory, fake_wecom):
    alert_policy, plant_policy = policies()
    add_leads(make_uow)
    report(make_uow, plant_policy, 480, at=NOW)  # no plan or late-start alert: only the exception below
    # The night on plan as well: a night behind would be reminded too (its alert stays past 08:00).
    report(make_uow, plant_policy, 480, at=NIGHT_START + timedelta(hours=1))
    with make_uow() as uow:
        exc = open_exception(uow, plant_policy, userid="w1", type="品质异常", source_key="night-q", now=NIGHT_CHECK,
                             work_order_code="WO20261125-01", description="缩水")
        exception_opened(uow, alert_policy, exc.id, NIGHT_CHECK)
        uow.commit()
    [alert] = alerts(make_uow, "exception")
    delivered_cards(session_factory, fake_wecom, NIGHT_CHECK)  # its first card, to the night
    fake_wecom.reset()
    run(make_uow, alert_policy, NIGHT_END - timedelta(minutes=1))  # 07:59: the night is still on
    run(make_uow, alert_policy, NIGHT_END)  # 08:00: the night shift has ended
    run(make_uow, alert_policy, NIGHT_END + timedelta(minutes=5))
    cards = delivered_cards(session_factory, fake_wecom, NIGHT_END + timedelta(minutes=5))
    reminder = f"{REMINDER}【现场异常】#{alert.id} 异常 #{exc.id} 品质异常"
    assert reminders(cards, "ld_day") == [reminder]  # the incoming lead, who never had it: the card, once
    # The ops manager has had the card since 02:00: reminded in words, not with a second card.
    assert reminders(cards, "ops") == []
    told = [c["json"]["text"]["content"] for c in fake_wecom.calls(userid="ops", path="message/send")
            if c.get("errcode") == 0 and c["json"].get("msgtype") == "text"]
    assert [t for t in told if t.startswith(REMINDER) and f"预警 #{alert.id} " in t] == [
        f"{REMINDER}预警 #{alert.id} 异常 #{exc.id} 品质异常，已开 6小时，发送「预警 #{alert.id}」处理"]
    assert reminders(cards, "ld_night") == []  # gone home


def test_an_off_shift_technician_is_not_called_out_the_nearest_on_duty_one_is(
        plant, make_uow, session_factory, fake_wecom):
    alert_policy, _ = policies()
    night = NIGHT_START + timedelta(hours=2)  # 22:00
    fake_wecom.reset()
    with make_uow() as uow:
        # P01 is in A区 with techA, but techA's 甲班 works the day: techB (乙班, B区, one zone away) is asked.
        at_night = repair.open_ticket(uow, alert_policy, machine="P01", workshop="注塑车间", now=night)
        uow.commit()
        assert at_night.tried_userids == "techB"
    cards = delivered_cards(session_factory, fake_wecom, night)
    assert card_lines(cards["techB"]) == [f"【维修工单】#{at_night.id} P01 请尽快接单并到场处理"]
    assert "techA" not in cards
    with make_uow() as uow:  # the next morning techA is back, and nearest
        by_day = repair.open_ticket(uow, alert_policy, machine="P02", workshop="注塑车间",
                                    now=NIGHT_END + timedelta(minutes=30))
        uow.commit()
        assert by_day.tried_userids == "techA"
        assert [t.tried_userids for t in uow.session.scalars(select(RepairTicket).order_by(RepairTicket.id))] == [
            "techB", "techA"]
