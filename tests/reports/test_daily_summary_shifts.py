"""The daily summary on a 2x12 plant: the production day's plan and output are the sum of its two shifts'
(the figure the alerts, the handover and the board show), and "yesterday" is the last finished production day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.report_jobs import queue_daily_summary
from domain.models import Notice, Person
from domain.services.reporting import report_work
from reports.daily_summary import daily_summary, summary_text
from reports.schedule import ReportPolicy
from tests.alerts.shift_plant import policies
from tests.factories import add_order, small_plant
from wecom.cards import validate_card

TZ = ZoneInfo("Asia/Shanghai")


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def _plant(make_uow) -> None:
    """WO20261125-01 (1000 a day on P01) runs 11-25 08:00 to 11-26 10:00: both shifts of 11-25 carry 500.
    WO20261125-09 (800 a day on P02) is planned for the night of 11-25 only: 400 in that shift."""
    _, plant_policy = policies()
    with make_uow() as uow:
        small_plant(uow)
        night = add_order(uow, bill_no="SEORD000009", wo_code="WO20261125-09")
        night.planned_start, night.planned_finish, night.machine = _at(25, 20), _at(26, 8), "P02"
        night.daily_plan_qty = 800
        uow.session.add(Person(userid="mgr", name="赵六", roles_csv="ops_manager"))
        uow.commit()
    for code, good, at, key in (("WO20261125-01", 300, _at(25, 14), "d1"),
                                ("WO20261125-09", 400, _at(26, 2), "n1")):  # 02:00: the night of 11-25
        with make_uow() as uow:
            report_work(uow, plant_policy, work_order_code=code, userid="w1", good_qty=good, defect_qty=0,
                        source_key=key, now=at)
            uow.commit()


def test_the_days_plan_is_the_sum_of_its_shifts(make_uow) -> None:
    _plant(make_uow)
    alert_policy, _ = policies()
    with make_uow() as uow:
        s = daily_summary(uow, date(2026, 11, 25), alert_policy)
    # 白班 500 planned, 300 made; 夜班 500 + 400 planned, 400 made (at 02:00, still production day 11-25).
    # The one-shift day (08:00-20:00 of the calendar date) said 1000 planned, 300 done.
    assert (s.planned, s.done) == (1400, 700)
    assert s.output.moulded_good == 700
    text = summary_text(s)
    assert text.splitlines()[0] == "2026-11-25 生产简报：计划完成率 50%"
    assert "  注塑车间：完成 700 / 计划 1,400 件（50%）" in text
    assert "  白班：完成 300 / 计划 500 件（60%）" in text
    assert "  夜班：完成 400 / 计划 900 件（44%）" in text


def test_the_card_at_the_day_shifts_start_sums_both_shifts(make_uow) -> None:
    _plant(make_uow)
    alert_policy, _ = policies()
    with make_uow() as uow:
        assert queue_daily_summary(uow, alert_policy, ReportPolicy(), _at(26, 8))
        uow.commit()
    with make_uow() as uow:
        [card] = uow.session.scalars(select(Notice.card)).all()
    assert card is not None
    validate_card(card)
    assert card["main_title"]["title"] == "昨日生产简报 11-25"
    assert card["emphasis_content"] == {"title": "50%", "desc": "昨日计划完成率"}
    rows = {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}
    assert rows["计划完成"] == "700 / 1,400 件"
    assert card["sub_title_text"] == "白班 完成 300 / 计划 500 件（60%）；夜班 完成 400 / 计划 900 件（44%）"


def test_yesterday_is_the_last_finished_production_day(make_uow) -> None:
    _plant(make_uow)
    alert_policy, _ = policies()
    # At 07:30 on 11-26 the night shift of 11-25 is still on: the last finished production day is 11-24.
    with make_uow() as uow:
        assert queue_daily_summary(uow, alert_policy, ReportPolicy(), _at(26, 7, 30))
        uow.commit()
    with make_uow() as uow:
        [card] = uow.session.scalars(select(Notice.card)).all()
    assert card is not None
    assert card["main_title"]["title"] == "昨日生产简报 11-24"
