"""`factorybot calendar …`: show, set, reset, crews, rotation and China's holidays; refusals store nothing; a
stored calendar reaches the reporting code path of a running process."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from domain.models import Person, WorkReport
from domain.services.calendar_store import stored_spec_text
from domain.services.reporting import report_work
from factorybot.cli import main
from factorybot.config import Settings
from factorybot.runtime import Runtime
from tests.factories import small_plant

TZ = ZoneInfo("Asia/Shanghai")
TWO_SHIFTS = "白班=08:00-20:00/12:00-12:30,夜班=20:00-08:00"


@pytest.fixture
def cli(db_url, make_uow, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CALENDAR_REFRESH_SECONDS", "0")  # every question re-reads the stored calendar
    with make_uow() as uow:
        small_plant(uow)
        uow.session.add(Person(userid="gone", name="离职", roles_csv="worker", workshop="注塑车间", active=False))
        uow.commit()
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["calendar", *args], catch_exceptions=False)

    return run


def _stored(make_uow) -> str | None:
    with make_uow() as uow:
        return stored_spec_text(uow.session)


def test_set_show_and_reset_the_shifts(cli, make_uow):
    shown = cli("show", "--date", "2026-11-25")
    assert shown.exit_code == 0, shown.output
    assert "日历来源：设置" in shown.output and "单班（默认）：白班 08:00-20:00" in shown.output
    assert "生产日：自然日（00:00 开始）" in shown.output and "11-25 周三 白班 08:00-20:00" in shown.output

    done = cli("set", "--shifts", TWO_SHIFTS, "--rest-days", "sun",
               "--pattern-range", "2027-01-10..2027-01-20=单班:白班=08:00-17:00/12:00-13:00")
    assert done.exit_code == 0, done.output
    assert "日历已保存" in done.output
    shown = cli("show", "--date", "2026-11-28").output
    assert "日历来源：已保存" in shown
    assert "两班（默认）：白班 08:00-20:00（休息 12:00-12:30）；夜班 20:00-08:00（跨夜）" in shown
    assert "单班：白班 08:00-17:00（休息 12:00-13:00）" in shown and "2027-01-10..2027-01-20 用 单班" in shown
    assert "生产日：每天 08:00 开始" in shown and "休息日：周日" in shown
    assert "11-28 周六 白班 08:00-20:00；夜班 20:00-08:00" in shown and "11-29 周日 休息" in shown

    # Only what is given changes: the shifts and the range stay when the rest days change.
    assert cli("set", "--rest-days", "sat,sun").exit_code == 0
    shown = cli("show", "--date", "2026-11-28").output
    assert "休息日：周六、周日" in shown and "夜班 20:00-08:00（跨夜）" in shown and "11-28 周六 休息" in shown

    assert "恢复为设置中的日历" in cli("reset").output
    assert _stored(make_uow) is None and "日历来源：设置" in cli("show").output
    assert "本来就在使用设置中的日历" in cli("reset").output


@pytest.mark.parametrize("args,message", [
    (("--shifts", "白班=08:00-20:00,夜班=19:00-07:00"), "夜班 在上一班结束前就开始了"),
    (("--shifts", "白班=08:00-20:00/21:00-21:30"), "休息 21:00-21:30 不在 白班 之内"),
    (("--shifts", "白班=8点-20点"), "is not HH:MM"),
    (("--rest-days", "mon,tue,wed,thu,fri,sat,sun"), "至少要有一天工作日"),
    (("--rest-days", "someday"), "不认识的星期"),
    (("--holidays", "2026-13-01"), "应写作 YYYY-MM-DD"),
    (("--pattern-range", "2027-01-10..2027-01-20=淡季"), "班次模式 淡季 还没有定义"),
    ((), "请至少指定一项"),
])
def test_bad_input_is_refused_with_exit_2_and_nothing_stored(cli, make_uow, args, message):
    result = cli("set", *args)
    assert result.exit_code == 2 and message in result.output and "未做任何修改" in result.output
    assert _stored(make_uow) is None


def test_crews_and_their_rotation(cli, make_uow):
    assert cli("set", "--shifts", "白班=08:00-20:00,夜班=20:00-08:00").exit_code == 0
    assert "还没有班组" in cli("crews").output
    refused = cli("crews", "set", "甲班", "--lead", "lead", "--members", "w1,nobody,gone")
    assert refused.exit_code == 2 and "这些人不在系统中或已停用：nobody、gone" in refused.output
    assert '"crews": []' in _stored(make_uow)  # type: ignore[operator]

    assert cli("crews", "set", "甲班", "--lead", "lead", "--members", "w1,t1").exit_code == 0
    warned = cli("crews", "set", "乙班", "--lead", "sup", "--members", "w2")
    assert warned.exit_code == 0 and "提示：sup 不是班组长（team_lead），仍已设为 乙班 的班组长" in warned.output
    listed = cli("crews").output
    assert "甲班：班组长 李四(lead)；成员 张三(w1)、小李(t1)" in listed and "乙班：班组长 王五(sup)；成员 王二(w2)" in listed

    bad = cli("crews", "rotation", "2026-11-23:甲班/丙班")
    assert bad.exit_code == 2 and "未定义的班组：丙班" in bad.output
    assert cli("crews", "rotation", "2026-11-23:甲班/乙班,乙班/甲班").exit_code == 0
    shown = cli("show", "--date", "2026-11-25").output
    assert "轮班：从 2026-11-23 起 2 天一轮" in shown and "第2天 白班 乙班 / 夜班 甲班" in shown
    assert "11-25 周三 白班 08:00-20:00 甲班（李四）；夜班 20:00-08:00 乙班（王五）" in shown
    assert "11-26 周四 白班 08:00-20:00 乙班（王五）；夜班 20:00-08:00 甲班（李四）" in shown

    # Changing only the members keeps the lead.
    assert cli("crews", "set", "甲班", "--members", "w1").exit_code == 0
    assert "甲班：班组长 李四(lead)；成员 张三(w1)" in cli("crews").output
    still = cli("crews", "remove", "乙班")
    assert still.exit_code == 2 and "轮班中还排着 乙班" in still.output
    assert cli("crews", "rotation", "none").exit_code == 0
    assert cli("crews", "remove", "乙班").exit_code == 0 and "乙班" not in cli("crews").output
    assert cli("crews", "remove", "丁班").exit_code == 2


def test_chinas_holidays_and_make_up_days_from_the_library(cli, make_uow):
    assert cli("set", "--rest-days", "sat,sun", "--holidays", "2025-12-25,2026-12-25").exit_code == 0
    filled = cli("holidays", "--cn", "2026")
    assert filled.exit_code == 0, filled.output
    assert "2026-10-01..2026-10-07" in filled.output and "2026-10-10（周六）" in filled.output
    shown = cli("show", "--date", "2026-09-30").output
    assert "10-01 周四 休息" in shown and "10-04 周日 休息" in shown
    assert "今后的调休上班：2026-10-10（周六）" in shown
    # The year's holidays are replaced by the library's; another year's are kept.
    text = _stored(make_uow) or ""
    assert "2025-12-25" in text and "2026-12-25" not in text and "2026-10-10" in text

    unknown = cli("holidays", "--cn", "2031")
    assert unknown.exit_code == 2 and "还没有 2031 年" in unknown.output and "--holidays" in unknown.output


def test_a_stored_calendar_moves_a_later_reports_production_day(cli, make_uow):
    rt = Runtime.build(Settings.from_env())  # a running process: built before the calendar changed
    night = datetime(2026, 11, 26, 1, 30, tzinfo=TZ)
    assert rt.policy.work_day(night) == date(2026, 11, 26)
    assert cli("set", "--shifts", "白班=08:00-20:00,夜班=20:00-08:00").exit_code == 0
    assert cli("crews", "set", "乙班", "--lead", "lead", "--members", "w1").exit_code == 0
    assert cli("crews", "set", "甲班", "--members", "w2").exit_code == 0
    assert cli("crews", "rotation", "2026-11-25:甲班/乙班").exit_code == 0
    with rt.uow() as uow:
        report_work(uow, rt.policy, work_order_code="WO20261125-01", userid="w1", good_qty=50, defect_qty=0,
                    source_key="night-1", now=night)
        uow.commit()
    with make_uow() as uow:
        report = uow.session.scalar(select(WorkReport).where(WorkReport.source_key == "night-1"))
        assert (report.work_day, report.shift, report.crew) == (date(2026, 11, 25), "夜班", "乙班")
    rt.engine.dispose()
