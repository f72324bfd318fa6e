"""`factorybot alerts run | stats` as an operator types them: a rehearsal changes nothing, a real round is never
dated in the future or before what the store recorded, and a month that does not exist is refused in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import func, select

from domain.db import make_engine, make_session_factory
from domain.models import Alert, Notice, Person, RepairTicket
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus, TicketStatus
from factorybot.cli import main
from tests.factories import small_plant


def invoke(tmp_path, monkeypatch, *args: str):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/factorybot.db")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    return runner.invoke(main, list(args))


def test_a_month_that_does_not_exist_is_refused_with_a_chinese_message_and_a_failing_exit(tmp_path, monkeypatch):
    for month in ("2026-13", "2026-00", "十月"):
        result = invoke(tmp_path, monkeypatch, "alerts", "stats", "--month", month)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a refusal, not a crash
        assert f"无法识别月份「{month}」。月份格式：2026-10（或 2026年10月）" in result.stderr
        assert "Traceback" not in result.output


def test_a_month_written_either_way_gives_its_figures(tmp_path, monkeypatch):
    for month in ("2026-10", "2026年10月"):
        result = invoke(tmp_path, monkeypatch, "alerts", "stats", "--month", month)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("2026-10 预警处理情况：\n  本月没有预警。")


# `alerts run` and `alerts stats` on a store the test fills first: the CLI runs against the same SQLite file.

def _store(tmp_path, monkeypatch):
    """A migrated SQLite store the CLI also uses, holding the small plant (WO20261125-01 due at 08:00)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/factorybot.db")
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path}/factorybot.db")
    factory = make_session_factory(engine)
    with UnitOfWork(factory) as uow:
        small_plant(uow)
        uow.commit()
    return lambda: UnitOfWork(factory)


def _counts(make_uow) -> tuple[int, int]:
    with make_uow() as uow:
        return (uow.session.scalar(select(func.count()).select_from(Alert)) or 0,
                uow.session.scalar(select(func.count()).select_from(Notice)) or 0)


def _plant_time(moment: datetime) -> str:
    return f"{moment.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M}"


def test_alerts_run_without_send_prints_the_cards_it_would_send_and_changes_nothing(tmp_path, monkeypatch):
    make_uow = _store(tmp_path, monkeypatch)
    result = CliRunner().invoke(main, ["alerts", "run", "--at", "2026-11-25 10:00"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("预警检查完成（2026-11-25 10:00）：新触发 1 条，已解除 0 条")
    assert "  超计划时间未开工：1 条未关闭" in result.stdout
    assert ("卡片《【超计划时间未开工】#1》WO20261125-01 超过计划开工时间 2 小时 未开工 → " in result.stdout
            and "王五(sup)" in result.stdout), result.stdout
    assert "预演：未写入任何数据，未发送任何消息；加 --send 执行这一轮。" in result.stdout
    assert _counts(make_uow) == (0, 0)  # no alert, no card in the outbox
    # The same round with --send is the real one: the alert is stored and its card queued.
    sent = CliRunner().invoke(main, ["alerts", "run", "--send", "--at", "2026-11-25 10:00"])
    assert sent.exit_code == 0, sent.output
    assert sent.stdout.startswith("预警检查完成（2026-11-25 10:00）：新触发 1 条")
    assert "预警卡片由运行中的 FactoryBot 发送" in sent.stdout and "预演" not in sent.stdout
    alerts, notices = _counts(make_uow)
    assert alerts == 1 and notices >= 1


def test_alerts_run_send_refuses_a_moment_in_the_future_but_a_rehearsal_may_look_ahead(tmp_path, monkeypatch):
    make_uow = _store(tmp_path, monkeypatch)
    tomorrow = _plant_time(datetime.now(UTC) + timedelta(days=1))
    refused = CliRunner().invoke(main, ["alerts", "run", "--send", "--at", tomorrow])
    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit)
    assert f"--at 不能晚于现在：{tomorrow} 晚于工厂当前时间" in refused.stderr
    assert _counts(make_uow) == (0, 0)
    ahead = CliRunner().invoke(main, ["alerts", "run", "--at", tomorrow])
    assert ahead.exit_code == 0, ahead.output
    assert ahead.stdout.startswith(f"预警检查完成（{tomorrow}）") and "预演" in ahead.stdout
    assert _counts(make_uow) == (0, 0)


def test_alerts_run_send_refuses_a_moment_before_what_the_store_already_recorded(tmp_path, monkeypatch):
    make_uow = _store(tmp_path, monkeypatch)
    assert CliRunner().invoke(main, ["alerts", "run", "--send", "--at", "2026-11-25 10:00"]).exit_code == 0
    before = _counts(make_uow)
    refused = CliRunner().invoke(main, ["alerts", "run", "--send", "--at", "2026-11-25 09:00"])
    assert refused.exit_code == 1
    assert "--at 不能早于已记录的最近一次预警事件：2026-11-25 09:00 早于 2026-11-25 10:00" in refused.stderr
    assert _counts(make_uow) == before
    # Later than everything recorded is fine, and so is a rehearsal of the earlier moment.
    assert CliRunner().invoke(main, ["alerts", "run", "--send", "--at", "2026-11-25 10:30"]).exit_code == 0
    assert CliRunner().invoke(main, ["alerts", "run", "--at", "2026-11-25 09:00"]).exit_code == 0


def test_alerts_stats_leaves_a_close_before_its_firing_out_of_the_means_and_says_so(tmp_path, monkeypatch):
    make_uow = _store(tmp_path, monkeypatch)
    fired = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with make_uow() as uow:
        # Old data: a round run with a future --at fired this one 89 minutes after it was closed.
        uow.session.add(Alert(rule="exception", subject_key="exception:1", workshop="注塑车间", title="异常 #1",
                              facts={}, status=AlertStatus.CLOSED, level=0, fired_at=fired,
                              acknowledged_at=fired - timedelta(minutes=89), closed_at=fired - timedelta(minutes=89)))
        uow.session.add(Alert(rule="exception", subject_key="exception:2", workshop="注塑车间", title="异常 #2",
                              facts={}, status=AlertStatus.CLOSED, level=0, fired_at=fired,
                              acknowledged_at=fired + timedelta(minutes=10), closed_at=fired + timedelta(minutes=30)))
        uow.commit()
    result = CliRunner().invoke(main, ["alerts", "stats", "--month", "2026-11"])
    assert result.exit_code == 0, result.output
    assert "现场异常 · 注塑车间：2 条，平均认领 10 分钟，平均关闭 30 分钟" in result.stdout, result.stdout
    assert "-89" not in result.stdout
    assert "注：2 个时间早于其开始时间的记录（旧数据，如以过去的 --at 运行的检查）未计入平均值。" in result.stdout


def test_alerts_stats_shows_repair_response_and_repair_times_per_technician_and_press(tmp_path, monkeypatch):
    make_uow = _store(tmp_path, monkeypatch)
    t0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

    def at(minutes: int) -> datetime:
        return t0 + timedelta(minutes=minutes)

    with make_uow() as uow:
        sun = Person(userid="tech", name="孙师傅", roles_csv="technician")
        wu = Person(userid="tech2", name="吴师傅", roles_csv="technician")
        uow.session.add_all([sun, wu])
        uow.session.flush()
        uow.session.add_all([
            # 孙师傅 on P05: answered in 5 and 15 minutes, repaired in 30 and 50.
            RepairTicket(machine="P05", technician_id=sun.id, status=TicketStatus.DONE, opened_at=at(0),
                         dispatched_at=at(0), accepted_at=at(5), arrived_at=at(10), finished_at=at(35),
                         cause="液压", parts="密封圈×2"),
            RepairTicket(machine="P05", technician_id=sun.id, status=TicketStatus.DONE, opened_at=at(60),
                         dispatched_at=at(60), accepted_at=at(75), arrived_at=at(80), finished_at=at(125)),
            # 吴师傅 on P03: still on site, answered in 8 minutes.
            RepairTicket(machine="P03", technician_id=wu.id, status=TicketStatus.ON_SITE, opened_at=at(10),
                         dispatched_at=at(10), accepted_at=at(18), arrived_at=at(20)),
            # Old data: accepted "before" it was sent, then finished: the response is left out, never negative.
            RepairTicket(machine="P03", technician_id=wu.id, status=TicketStatus.DONE, opened_at=at(100),
                         dispatched_at=at(100), accepted_at=at(70), finished_at=at(90)),
            # Nobody on duty took it yet.
            RepairTicket(machine="P01", status=TicketStatus.OPEN, opened_at=at(30)),
        ])
        uow.commit()
    result = CliRunner().invoke(main, ["alerts", "stats", "--month", "2026-11"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("维修工单：5 单，平均响应 9 分钟，平均维修 33 分钟")
    assert lines[start + 1:start + 9] == [
        "  按技术员：",
        "    吴师傅：2 单，完成 1 单，平均响应 8 分钟，平均维修 20 分钟",  # most tickets first, then by name
        "    孙师傅：2 单，完成 2 单，平均响应 10 分钟，平均维修 40 分钟",
        "    未派单：1 单，完成 0 单，平均响应 -，平均维修 -",
        "  按机台：",
        "    P01：1 单，完成 0 单，平均响应 -，平均维修 -",
        "    P03：2 单，完成 1 单，平均响应 8 分钟，平均维修 20 分钟",
        "    P05：2 单，完成 2 单，平均响应 10 分钟，平均维修 40 分钟",
    ]
    assert "-30" not in result.stdout
    assert "注：1 个时间早于其开始时间的记录" in result.stdout
