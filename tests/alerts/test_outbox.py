"""The outbox against the fake WeCom: one person over WeCom's per-member quota waits for the next round
without holding up anyone else; a sender that dies, a timeout after success and a permanent refusal lose
nothing and double nothing."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from sqlalchemy import select

from alerts.outbox import queue_text
from bot.outbox import LEASE, deliver
from domain.models import Notice
from domain.vocab import NoticeState
from tests.factories import NOW
from wecom.client import WeComClient


def client_for(fake, per_minute: int = 30, timeout: float = 5.0) -> WeComClient:
    return WeComClient(fake.corp_id, fake.secret, fake.agent_id, fake.url, per_user_per_minute=per_minute,
                       timeout=timeout)


def texts(fake, userid: str) -> list[str]:
    return [c["json"]["text"]["content"] for c in fake.calls(userid=userid, path="message/send")
            if c.get("errcode") == 0]


def test_a_throttled_person_waits_and_everyone_else_still_gets_their_messages(session_factory, make_uow,
                                                                                fake_wecom):
    fake_wecom.reset()
    with make_uow() as uow:
        for userid, text in (("sup", "一"), ("sup", "二"), ("sup", "三"), ("ops", "甲"), ("sup", "四"), ("ops", "乙"),
                             ("boss", "丙")):
            queue_text(uow, [userid], text, NOW)
        queue_text(uow, ["Boss", "sup"], "群", NOW)  # shares a recipient with the throttled one (any case)
        uow.commit()

    report = deliver(session_factory, client_for(fake_wecom, 2), lambda: NOW)
    assert texts(fake_wecom, "sup") == ["一", "二"]  # the third would pass WeCom's quota, which drops silently
    assert texts(fake_wecom, "ops") == ["甲", "乙"] and texts(fake_wecom, "boss") == ["丙"]
    assert (report.sent, report.failed, report.waiting) == (5, 0, 3)
    with make_uow() as uow:
        waiting = uow.session.scalars(select(Notice).where(Notice.state == NoticeState.PENDING)
                                      .order_by(Notice.id)).all()
        assert [n.text for n in waiting] == ["三", "四", "群"]
        assert [n.attempts for n in waiting] == [1, 0, 0] and "quota" in waiting[0].last_error

    # A later round (the quota's minute over, as WeCom asked) sends the rest, in order, once.
    report = deliver(session_factory, client_for(fake_wecom, 30), lambda: NOW + timedelta(minutes=2))
    assert (report.sent, report.waiting) == (3, 0)
    assert texts(fake_wecom, "sup") == ["一", "二", "三", "四", "群"]


class Crash(BaseException):
    """The process dying: nothing of ours catches it."""


class DiesAroundTheSend:
    """The real client, except that the sender dies just before the send (`before`) or just after it."""

    def __init__(self, client: WeComClient, *, before: bool) -> None:
        self.client, self.before = client, before

    def send_text(self, userids, text):
        if self.before:
            raise Crash
        self.client.send_text(userids, text)
        raise Crash

    def __getattr__(self, name):
        return getattr(self.client, name)


def _queue(make_uow, userid: str, text: str) -> int:
    with make_uow() as uow:
        notice = queue_text(uow, [userid], text, NOW)
        uow.commit()
        return notice.id


def _state(make_uow, notice_id: int) -> Notice:
    with make_uow() as uow:
        row = uow.session.get(Notice, notice_id)
        uow.session.expunge(row)  # read after the unit of work closes
        return row


def test_a_sender_that_dies_after_its_claim_leaves_the_message_to_the_next_round_after_its_lease(
        session_factory, make_uow, fake_wecom):
    fake_wecom.reset()
    for before in (True, False):  # died before the send, or after it went through but before saying so
        text = f"设备停机预警（{'发送前' if before else '发送后'}）"
        notice_id = _queue(make_uow, "sup", text)
        with contextlib.suppress(Crash):
            deliver(session_factory, DiesAroundTheSend(client_for(fake_wecom), before=before), lambda: NOW)
        # Still within the dead sender's lease: nobody takes it yet.
        assert deliver(session_factory, client_for(fake_wecom), lambda: NOW + LEASE / 2).sent == 0
        deliver(session_factory, client_for(fake_wecom), lambda: NOW + LEASE + timedelta(seconds=1))
        assert texts(fake_wecom, "sup").count(text) == 1  # once: WeCom's duplicate check took the resend
        assert _state(make_uow, notice_id).state == NoticeState.SENT


def test_a_timeout_on_a_send_that_went_through_delivers_one_copy(session_factory, make_uow, fake_wecom):
    fake_wecom.reset()
    notice_id = _queue(make_uow, "sup", "注塑二线停机 35 分钟")
    fake_wecom.fault("message/send", after=True, delay=1.5)  # performed, then answered past our timeout
    report = deliver(session_factory, client_for(fake_wecom, timeout=0.5), lambda: NOW)
    assert (report.sent, report.waiting) == (0, 1)
    deliver(session_factory, client_for(fake_wecom), lambda: NOW + timedelta(seconds=6))
    assert texts(fake_wecom, "sup") == ["注塑二线停机 35 分钟"]
    resent = fake_wecom.calls(userid="sup", path="message/send", duplicates=True)
    assert [c["duplicate"] for c in resent] == [False, True]  # WeCom was asked twice and delivered once
    row = _state(make_uow, notice_id)
    assert row.state == NoticeState.SENT and row.attempts == 2 and "network error" in row.last_error


def test_wecom_failing_for_minutes_then_hours_is_retried_with_backoff_then_given_up_as_failed(
        session_factory, make_uow, fake_wecom):
    fake_wecom.reset()
    notice_id = _queue(make_uow, "sup", "质检异常待处理")
    fake_wecom.fault("message/send", http_status=502, count=1000)
    at = NOW
    waits = []
    while _state(make_uow, notice_id).state == NoticeState.PENDING:
        deliver(session_factory, client_for(fake_wecom), lambda at=at: at)
        row = _state(make_uow, notice_id)
        if row.state == NoticeState.PENDING:
            waits.append((row.next_attempt_at - at).total_seconds())
            at = row.next_attempt_at
    assert waits[:6] == [5, 30, 120, 600, 1800, 1800]
    row = _state(make_uow, notice_id)
    # Given up after WeCom's duplicate-check window (4 h), past which a resend could arrive twice.
    assert row.state == NoticeState.FAILED and at - NOW >= timedelta(hours=4) and "502" in row.last_error
    assert texts(fake_wecom, "sup") == []
    fake_wecom.reset()
