"""Direct messages (here the scan card) go through the outbox: minutes of WeCom errors delay the card, a
timeout on a send that went through does not bring a second one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.tasks import TaskDeps, task_table
from domain import qr_payload
from domain.models import Notice
from tests.bot.conftest import LABEL_KEY, uow_for
from wecom.client import WeComClient

WO = "WO20261125-01"


def label() -> str:
    return qr_payload.encode(WO, LABEL_KEY.encode())


def later(live, seconds: float) -> None:
    core = live.app.extensions["bot"].core
    before = core.clock
    core.clock = lambda: before() + timedelta(seconds=seconds)


def next_attempt_in(live) -> float:
    with uow_for(live) as uow:
        row = uow.session.scalars(select(Notice).where(Notice.userids == "w1").order_by(Notice.id)).one()
        return (row.next_attempt_at - live.app.extensions["bot"].core.clock()).total_seconds()


def test_a_scan_card_survives_minutes_of_wecom_errors_and_arrives_once(live):
    live.fake.fault("message/send", http_status=502, count=3, touser="w1")
    text, card = live.scan("w1", label())
    assert text.startswith(f"已识别工单 {WO}") and card is None  # the answer now, the card once WeCom is back
    waited = 0.0
    for _ in range(3):
        wait = next_attempt_in(live)
        waited += wait
        later(live, wait + 1)
        live.queue.tasks["alerts.deliver"]()  # the periodic round
    assert waited >= 120  # 5 s + 30 s + 2 min of WeCom failing
    assert [c["main_title"]["title"] for c in live.cards("w1")] == [f"{WO} · 注塑"]
    live.queue.tasks["alerts.deliver"]()
    assert len(live.cards("w1")) == 1


def test_a_timeout_on_a_scan_card_that_went_through_brings_no_second_card(live):
    deps = live.app.extensions["bot"]
    fake = live.fake
    quick = WeComClient(fake.corp_id, fake.secret, fake.agent_id, fake.url, timeout=0.5)
    live.queue.tasks = task_table(TaskDeps(deps.core, quick, deps.runtime.alert_policy))
    fake.fault("message/send", after=True, delay=1.5, touser="w1")  # sent, then answered past our timeout
    live.scan("w1", label())
    assert next_attempt_in(live) > 0  # we could not know it went through: it waits for a resend
    later(live, 6)
    live.queue.tasks["alerts.deliver"]()
    assert len(live.cards("w1")) == 1
    asked = [c for c in fake.calls(userid="w1", path="message/send", duplicates=True)
             if c["json"]["msgtype"] == "template_card"]
    assert [c["duplicate"] for c in asked] == [False, True]  # asked twice, delivered once
