"""今日累计 and points go by the production day: on a 2x12 plant a report at 21:00 and one at 02:00 are the
same day (the night shift), and a report at 08:05 starts the next one."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from domain.models import PointsEntry, WorkReport
from tests.bot.conftest import uow_for
from tests.bot.shift_plant import TWO_SHIFTS, Clock, live_plant, plant_time

WO = "WO20261125-01"


@pytest.fixture
def clock() -> Clock:
    return Clock(plant_time(2026, 11, 25, 21, 0))


@pytest.fixture
def night(db_url, plant_db, fake_wecom, tmp_path, clock):
    return live_plant(db_url, fake_wecom, tmp_path, clock, shifts=TWO_SHIFTS)


def test_a_night_shift_is_one_production_day_and_the_morning_starts_the_next(night, clock):
    assert night.say("w1", f"报工 {WO} 良品 300").startswith("已完成! 今日累计完成 300 件")
    clock.at = plant_time(2026, 11, 26, 2, 0)  # after midnight: still the night shift of the 25th
    assert night.say("w1", f"报工 {WO} 良品 200 不良 4").splitlines()[:3] == [
        "已完成! 今日累计完成 500 件", f"工单 {WO} 注塑：良品 200 不良 4", "积分 +10，今日积分 24"]  # 500 good of 1000 a 1440-minute day: 720 minutes
    today = night.say("w1", "今天")
    assert today.startswith("张三 今天（2026-11-25）报工 2 次：")
    assert "今日累计完成 500 件，不良 4 件" in today and "今日积分 24" in today
    assert night.say("w1", "我的积分").startswith("张三的积分：今日 24 分，本月 24 分。")

    clock.at = plant_time(2026, 11, 26, 8, 5)  # the day shift: a new production day
    assert "今天（2026-11-26）还没有报工记录" in night.say("w1", "今天")
    assert night.say("w1", f"报工 {WO} 良品 100").startswith("已完成! 今日累计完成 100 件")
    today = night.say("w1", "今天")
    assert today.startswith("张三 今天（2026-11-26）报工 1 次：")
    assert "今日累计完成 100 件" in today and "今日积分 4，本月积分 28" in today
    with uow_for(night) as uow:
        reports = uow.session.execute(select(WorkReport.work_day, WorkReport.shift).order_by(WorkReport.id)).all()
        points = uow.session.execute(select(PointsEntry.work_day, PointsEntry.points).order_by(PointsEntry.id)).all()
    assert [tuple(r) for r in reports] == [(date(2026, 11, 25), "夜班"), (date(2026, 11, 25), "夜班"),
                                           (date(2026, 11, 26), "白班")]
    assert [tuple(p) for p in points] == [(date(2026, 11, 25), 14), (date(2026, 11, 25), 10), (date(2026, 11, 26), 4)]


def test_a_one_shift_plant_counts_the_calendar_day(db_url, plant_db, fake_wecom, tmp_path):
    clock = Clock(plant_time(2026, 11, 25, 23, 0))
    one = live_plant(db_url, fake_wecom, tmp_path, clock)
    one.say("w1", f"报工 {WO} 良品 300")
    clock.at = plant_time(2026, 11, 26, 2, 0)
    assert one.say("w1", f"报工 {WO} 良品 200").startswith("已完成! 今日累计完成 200 件")
    assert one.say("w1", "今天").startswith("张三 今天（2026-11-26）报工 1 次：")
