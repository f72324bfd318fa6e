"""message/send answering errcode 0 while naming people it did not reach (unlicenseduser, invaliduser,
invalidparty): each is kept per message and recipient, counted in /metrics, and the administrator is told
once a day who cannot receive messages and why. The fake WeCom answers over HTTP as WeCom does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.outbox import queue_text
from bot.undelivered import DIGEST_JOB
from domain.models import Notice, UndeliveredMessage
from domain.services.delivery import record_undelivered
from domain.tasks_registry import Scheduler
from domain.vocab import NoticeState, Undelivered
from tests.bot.conftest import uow_for
from wecom.cards import Button, button_card


def kept(h) -> list[tuple[str, str, str]]:
    with uow_for(h) as uow:
        rows = uow.session.scalars(select(UndeliveredMessage).order_by(UndeliveredMessage.id)).all()
        return [(r.recipient, str(r.reason), r.msgtype) for r in rows]


def undelivered_metric(h, reason: str) -> float:
    text = h.client.get("/metrics").get_data(as_text=True)
    found = re.search(rf'^factorybot_wecom_undelivered_total\{{reason="{reason}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_an_alert_notice_that_reaches_only_some_is_kept_per_recipient_and_counted(live):
    live.fake.recipients(unlicensed=("w2",), out_of_range=("t1",))
    before = undelivered_metric(live, "unlicensed"), undelivered_metric(live, "invalid_user")
    with uow_for(live) as uow:
        queue_text(uow, ["w1", "W2", "t1"], "【预警】注塑车间当日计划完成率低于70%", datetime.now(UTC))
        uow.commit()
    live.queue.tasks["alerts.deliver"]()
    # WeCom said errcode 0: the notice counts as sent, and who it missed is kept, spelled as we sent it.
    assert sorted(kept(live)) == [("W2", "unlicensed", "text"), ("t1", "invalid_user", "text")]
    after = undelivered_metric(live, "unlicensed"), undelivered_metric(live, "invalid_user")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_direct_cards_and_all_invalid_sends_are_kept_too(live):
    live.fake.recipients(unlicensed=("w2",), no_account=("ghost",))
    card = button_card(task_id="t_undelivered_1", title="工单 WO1 待确认", buttons=[Button("确认", "ok")])
    live.queue.tasks["bot.send"](userids=["w1", "w2"], card=card)
    live.queue.tasks["bot.send"](userids=["ghost"], text="您好")
    with uow_for(live) as uow:  # nobody reachable: WeCom refuses the send with 81013, kept as failed in the outbox
        refused = uow.session.scalars(select(Notice).where(Notice.userids == "ghost")).one()
        assert refused.state == NoticeState.FAILED and "81013" in refused.last_error
    assert kept(live) == [("w2", "unlicensed", "template_card"), ("ghost", "invalid_user", "text")]


def test_the_same_message_and_recipient_is_kept_once(make_uow):
    at = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    with make_uow() as uow:
        first = record_undelivered(uow, msgid="m1", msgtype="text", at=at,
                                   recipients=[("w2", Undelivered.UNLICENSED), ("t1", Undelivered.INVALID_USER)])
        again = record_undelivered(uow, msgid="m1", msgtype="text", at=at,
                                   recipients=[("w2", Undelivered.UNLICENSED), ("q1", Undelivered.INVALID_USER)])
        uow.commit()
        assert (first, again) == (2, 1)
        assert len(uow.session.scalars(select(UndeliveredMessage)).all()) == 3


def digest_lines(text: str) -> list[str]:
    # The minute of the last miss depends on when the test runs.
    return [re.sub(r"最近 \d\d-\d\d \d\d:\d\d", "最近 MM-DD HH:MM", line) for line in text.splitlines()]


def test_the_admin_hears_once_a_day_who_cannot_receive_messages_and_why(live):
    live.fake.recipients(unlicensed=("w2",), out_of_range=("t1",), no_account=("ghost",))
    send = live.queue.tasks["bot.send"]
    send(userids=["w1", "w2", "t1"], text="早班开工")
    send(userids=["w2"], text="工单 WO1 已完成")
    send(userids=["ghost"], text="您好")  # refused whole (81013): kept as failed in the outbox

    live.queue.tasks[DIGEST_JOB]()
    assert [digest_lines(t) for t in live.texts("admin")] == [[
        "企业微信消息未送达：近 24 小时有 3 人收不到 FactoryBot 的消息",
        "· 王二（w2）：未开通企业微信许可，2 条未送达，最近 MM-DD HH:MM",
        "· ghost：账号不存在，1 条未送达，最近 MM-DD HH:MM",
        "· 小李（t1）：不在应用可见范围，1 条未送达，最近 MM-DD HH:MM",
        "请在企业微信管理后台为他们开通许可、把他们加入应用的可见范围，或在人员名单中更正账号。",
    ]]
    live.queue.tasks[DIGEST_JOB]()  # a second run the same day (Celery beat and a restarted ticker)
    assert len(live.texts("admin")) == 1

    # The next day only what was missed in the last 24 hours is listed.
    deps = live.app.extensions["bot"]
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    deps.core.clock = lambda: tomorrow
    live.fake.recipients(unlicensed=("w2",))
    send(userids=["w2"], text="次日早班开工")
    live.queue.tasks[DIGEST_JOB]()
    texts = live.texts("admin")
    assert len(texts) == 2 and digest_lines(texts[1])[:2] == [
        "企业微信消息未送达：近 24 小时有 1 人收不到 FactoryBot 的消息",
        "· 王二（w2）：未开通企业微信许可，1 条未送达，最近 MM-DD HH:MM",
    ]


def test_nothing_missed_means_no_notice(live):
    live.queue.tasks["bot.send"](userids=["w1"], text="早班开工")
    live.queue.tasks[DIGEST_JOB]()
    assert live.texts("admin") == [] and kept(live) == []


def test_the_in_process_ticker_sends_it_when_its_schedule_comes_due(live):
    live.fake.recipients(unlicensed=("w2",))
    live.queue.tasks["bot.send"](userids=["w2"], text="早班开工")
    from factorybot.schedule import build_schedule

    deps = live.app.extensions["bot"]
    # The scheduler starts now and looks back 30 minutes: 09:00 plant time is 01:00 UTC.
    scheduler = Scheduler([e for e in build_schedule(deps.settings) if e.task == DIGEST_JOB], deps.settings.tz,
                          datetime.now(UTC))
    due = datetime.now(UTC).replace(hour=1, minute=0, second=30, microsecond=0)
    if due < datetime.now(UTC) - timedelta(minutes=20):
        due += timedelta(days=1)
    deps.core.clock = lambda: due - timedelta(minutes=2)
    scheduler.run_due(deps.core.clock(), live.queue.tasks)
    assert live.texts("admin") == []  # 08:58: not yet
    deps.core.clock = lambda: due
    scheduler.run_due(deps.core.clock(), live.queue.tasks)
    assert len(live.texts("admin")) == 1


def test_celery_beat_runs_it_daily_in_plant_time_and_it_can_be_moved_or_switched_off() -> None:
    from factorybot.celery_app import make_celery
    from factorybot.config import ConfigError, Settings

    app = make_celery(Settings(redis_url="redis://127.0.0.1:6379/0"))
    entry = app.conf.beat_schedule[DIGEST_JOB]
    assert entry["task"] == DIGEST_JOB and entry["schedule"].hour == {9} and entry["schedule"].minute == {0}
    assert app.conf.timezone == "Asia/Shanghai"
    moved = make_celery(Settings(redis_url="redis://127.0.0.1:6379/0", wecom_undelivered_schedule="30 7 * * 1-6"))
    assert moved.conf.beat_schedule[DIGEST_JOB]["schedule"].hour == {7}
    off = make_celery(Settings(redis_url="redis://127.0.0.1:6379/0", wecom_undelivered_schedule="off"))
    assert DIGEST_JOB not in off.conf.beat_schedule
    with pytest.raises(ConfigError) as err:
        make_celery(Settings(redis_url="redis://127.0.0.1:6379/0", wecom_undelivered_schedule="9 点"))
    assert "WECOM_UNDELIVERED_SCHEDULE: '9 点' is not a five-field cron" in str(err.value)
