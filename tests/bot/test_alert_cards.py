"""Alert cards through the real WeCom path: sent to the right people, acted on from the card, updated for
everyone who got them, and never lost or doubled when WeCom stumbles."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts.tick import tick
from domain.models import Alert, Notice, Person
from domain.vocab import AlertStatus, NoticeState
from tests.bot.conftest import uow_for


def fire_late_start(live) -> Alert:
    deps = live.app.extensions["bot"]
    with uow_for(live) as uow:
        uow.session.add(Person(userid="ops", name="赵六", roles_csv="ops_manager"))
        uow.flush()
        tick(uow, deps.runtime.alert_policy, deps.core.clock())
        uow.commit()
        alert = uow.session.scalars(select(Alert).where(Alert.subject_key == "wo:WO20261125-01")).one()
        uow.session.expunge(alert)
    live.queue.tasks["alerts.deliver"]()
    return alert


def card_of(live, userid: str, alert: Alert) -> list[dict]:
    return [c for c in live.cards(userid) if c["main_title"]["title"].endswith(f"#{alert.id}")]


def updates(live) -> list[dict]:
    return [c["json"] for c in live.fake.calls(path="message/update_template_card") if c["errcode"] == 0]


def test_the_card_reaches_the_workshop_and_ops_and_one_tap_updates_it_for_both(live):
    alert = fire_late_start(live)
    [card] = card_of(live, "sup", alert)
    assert card_of(live, "ops", alert) == [card]  # one send to both: one card, one task id
    assert card["main_title"]["title"] == f"【超计划时间未开工】#{alert.id}"
    # No 转维修: a late start names a press, but a technician is not what starts it (issue 18).
    assert [b["text"] for b in card["button_list"]] == ["认领", "已处理"]
    assert card["card_action"]["url"].endswith("/board/wo/WO20261125-01")

    resp = live.tap("sup", card, "认领")
    assert live.reply(resp) == {}  # nothing passive: the API update reaches every recipient
    [update] = updates(live)
    assert sorted(update["userids"]) == ["ops", "sup"]
    assert update["template_card"]["sub_title_text"].startswith("已认领：王五")
    assert [b["text"] for b in update["template_card"]["button_list"]] == ["已处理"]

    # A second tap on 认领 (or a redelivery) changes nothing but the card it was tapped on.
    live.tap("ops", card, "认领")
    with uow_for(live) as uow:
        acked = uow.session.get(Alert, alert.id)
        assert acked.status == AlertStatus.ACKNOWLEDGED and acked.acknowledged_by_id is not None
        sup_id = acked.acknowledged_by_id
        assert uow.session.get(Person, sup_id).userid == "sup"

    live.tap("ops", card, "已处理")
    closed = updates(live)[-1]["template_card"]
    assert closed["sub_title_text"].startswith("已关闭：赵六") and closed["button_list"][0]["text"] == "已关闭"
    with uow_for(live) as uow:
        assert uow.session.get(Alert, alert.id).resolution == "已处理"


def test_a_repeated_delivery_of_a_tap_runs_once(live):
    card = card_of(live, "sup", fire_late_start(live))[0]
    button = next(b for b in card["button_list"] if b["text"] == "认领")
    code = live.fake.response_code("sup", card["task_id"])
    resp, signed = live.post(live.builder.card_click("sup", button["key"], card["task_id"], code))
    live.post("", repeat_of=signed)
    live.post("", repeat_of=signed)
    assert len(updates(live)) == 1


def test_a_wecom_outage_delays_a_card_and_a_permanent_refusal_is_kept_with_its_reason(live):
    live.fake.fault("message/send", errcode=-1, count=1)  # "system busy": try again later
    alert = fire_late_start(live)
    assert live.cards("sup") == []  # put back for a later round, nothing dropped
    with uow_for(live) as uow:
        notices = uow.session.scalars(select(Notice).order_by(Notice.id)).all()
        waiting = notices[0]
        assert waiting.state == NoticeState.PENDING and waiting.attempts == 1 and "-1" in waiting.last_error
        assert waiting.next_attempt_at > waiting.created_at  # backing off, not retried in a tight loop
        assert all(n.sent_at is None for n in notices if "sup" in n.userids.split("|"))
        created, count = waiting.created_at, len(notices)
    live.queue.tasks["alerts.deliver"]()
    assert live.cards("sup") == []  # not due yet: the next round only skips it
    core = live.app.extensions["bot"].core
    real = core.clock
    core.clock = lambda: real() + timedelta(seconds=10)  # the backoff (5 s) is over
    live.queue.tasks["alerts.deliver"]()
    live.queue.tasks["alerts.deliver"]()
    assert len(card_of(live, "sup", alert)) == 1  # sent once the outage passed, and only once
    assert len(live.cards("sup")) == count

    with uow_for(live) as uow:
        uow.session.add(Notice(userids="sup", text="测试", created_at=created))
        uow.commit()
    live.fake.fault("message/send", errcode=40003, count=1)
    live.queue.tasks["alerts.deliver"]()
    live.queue.tasks["alerts.deliver"]()
    with uow_for(live) as uow:
        refused = uow.session.scalars(select(Notice).where(Notice.text == "测试")).one()
        assert refused.state == NoticeState.FAILED and "40003" in refused.last_error
    assert "测试" not in live.texts("sup")


def test_a_defect_streak_is_raised_right_after_the_report_that_makes_it(live):
    live.say("w1", "报工 WO20261125-01 良品 500 不良 40")
    assert not [c for c in live.cards("sup") if "连续两单不良率超标" in c["main_title"]["title"]]
    live.say("w2", "报工 WO20261125-02 良品 500 不良 30")
    [streak] = [c for c in live.cards("sup") if "连续两单不良率超标" in c["main_title"]["title"]]
    assert streak["main_title"]["desc"] == "模具 M-001 连续两单不良率超标（>3%）"


def test_card_facts_come_in_the_same_order_on_every_database(live):
    alert = fire_late_start(live)
    [card] = card_of(live, "sup", alert)
    assert [r["keyname"] for r in card["horizontal_content_list"]] == ["订单", "工单", "产品", "机台", "计划开工"]


def test_no_transaction_is_open_while_wecom_updates_the_cards(live):
    # A WeCom call can take seconds (timeouts, retries): holding a transaction across it would hold
    # SQLite's write lock, or a PostgreSQL connection idle in transaction, for that long.
    deps = live.app.extensions["bot"]
    pool = deps.core.session_factory.kw["bind"].pool
    open_during: list[int] = []
    real_update = deps.client.update_card

    def update_card(*args, **kwargs):
        open_during.append(pool.checkedout())
        return real_update(*args, **kwargs)

    deps.client.update_card = update_card
    card = card_of(live, "sup", fire_late_start(live))[0]
    live.tap("sup", card, "认领")
    assert open_during == [0]
    [update] = updates(live)
    assert update["template_card"]["sub_title_text"].startswith("已认领：王五")
