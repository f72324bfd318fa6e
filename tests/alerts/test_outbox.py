"""The notices outbox against the fake WeCom: one person over WeCom's per-member quota waits for the next
round without holding up anyone else, and nothing is dropped."""

from __future__ import annotations

from sqlalchemy import select

from alerts.outbox import deliver, queue_text
from bot.wecom.client import WeComClient
from domain.models import Notice
from tests.factories import NOW


def client_for(fake, per_minute: int) -> WeComClient:
    return WeComClient(fake.corp_id, fake.secret, fake.agent_id, fake.url, per_user_per_minute=per_minute)


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
        waiting = uow.session.scalars(select(Notice).where(Notice.sent_at.is_(None)).order_by(Notice.id)).all()
        assert [n.text for n in waiting] == ["三", "四", "群"]
        assert [n.attempts for n in waiting] == [1, 0, 0] and "quota" in waiting[0].last_error

    # The next round (a minute on, a fresh quota) sends the rest, in order, once.
    report = deliver(session_factory, client_for(fake_wecom, 30), lambda: NOW)
    assert (report.sent, report.waiting) == (3, 0)
    assert texts(fake_wecom, "sup") == ["一", "二", "三", "四", "群"]
