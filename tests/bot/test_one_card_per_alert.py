"""One card per alert per person, kept current (issue 18): the ops manager, a first recipient of every card
and the chain's first level, gets each card once; climbing, claiming and clearing change the card in place
(or, when its single-use code is spent, say so in one text), and the shift's end reminds in words."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from alerts.tick import tick
from domain.models import Alert, Person
from domain.vocab import AlertStatus
from tests.bot.conftest import run_round, set_clock, uow_for
from tests.factories import NOW


def at(live, moment: datetime) -> None:
    set_clock(live, moment)


def round_at(live, moment: datetime) -> None:
    """A scheduled round at `moment`, then the outbox sent (twice: a text queued by a refusal goes too)."""
    run_round(live, moment, deliveries=2)


def start(live) -> tuple[datetime, list[Alert]]:
    """The ops manager joins; the first round fires the morning's late starts (14 work orders, none begun)."""
    now = NOW  # 10:00 plant time: every work order was due to start at 08:00
    with uow_for(live) as uow:
        uow.session.add(Person(userid="ops", name="赵六", roles_csv="ops_manager"))
        uow.commit()
    round_at(live, now)
    with uow_for(live) as uow:
        fired = uow.session.scalars(select(Alert).where(Alert.rule == "late_start").order_by(Alert.id)).all()
        uow.session.expunge_all()
    return now, list(fired)


def cards_of(live, userid: str, alert: Alert) -> list[dict]:
    return [c for c in live.cards(userid) if c["main_title"]["title"].endswith(f"#{alert.id}")]


def updates_for(live, userid: str, alert: Alert) -> list[dict]:
    return [c["json"]["template_card"] for c in live.fake.calls(path="message/update_template_card")
            if c["errcode"] == 0 and userid in c["json"]["userids"]
            and c["json"]["template_card"]["main_title"]["title"].endswith(f"#{alert.id}")]


def texts_naming(live, userid: str, alert: Alert) -> list[str]:
    return [t for t in live.texts(userid) if f"预警 #{alert.id} " in t]


def test_an_afternoon_of_rounds_gives_the_ops_manager_one_card_per_alert_and_changes_update_it(live):
    now, fired = start(live)
    assert len(fired) == 14
    first = fired[0]
    assert [len(cards_of(live, "ops", a)) for a in fired] == [1] * 14
    # Every round of the afternoon, every 15 minutes: the alerts climb to the ops manager's level, the
    # executives' level takes no late start (a normal alert), and nothing is sent again.
    for minutes in range(15, 10 * 60 + 31, 15):
        round_at(live, now + timedelta(minutes=minutes))
    assert [len(cards_of(live, "ops", a)) for a in fired] == [1] * 14
    assert [len(cards_of(live, "sup", a)) for a in fired] == [1] * 14
    assert not [c for c in live.cards("boss") if "超计划时间未开工" in c["main_title"]["title"]]
    with uow_for(live) as uow:
        assert {a.level for a in uow.session.scalars(select(Alert).where(Alert.rule == "late_start"))} == {1}
    # The climb shows on the card both already have, in place.
    [climbed] = updates_for(live, "ops", first)
    assert climbed["sub_title_text"].startswith("待认领 · 已升级至 运营经理（第 1 级）")
    assert updates_for(live, "sup", first) == [climbed]  # one send to both: one update
    # 20:00, the shift's end: one reminder text each (all 14 in it), no reminder card.
    [reminder] = [t for t in live.texts("ops") if t.startswith("【未关闭提醒】")]
    lines = reminder.splitlines()
    assert lines[0].endswith("条预警未关闭：") and lines[-1] == "发送「预警 #编号」处理"
    assert f"预警 #{first.id} {first.title}，已开 10小时" in lines
    assert lines[-2].startswith("另有 ")  # a text holds ten; the rest are counted
    assert len([t for t in live.texts("sup") if t.startswith("【未关闭提醒】")]) == 1

    # 认领 from the card: the tapped card (ops and sup's one send) is updated with the tap's own code.
    card = cards_of(live, "sup", first)[0]
    live.tap("sup", card, "认领")
    claimed = updates_for(live, "ops", first)[-1]
    assert claimed["sub_title_text"].startswith("已认领：王五")
    # The first report clears it (at once, as it is saved): the card's stored code went on the climb, so the change is said in words,
    # once, to both; still no second card.
    at(live, now + timedelta(hours=11))
    live.say("w1", f"报工 {first.subject_key.split(':', 1)[1]} 良品 100")
    round_at(live, now + timedelta(hours=11, minutes=1))
    with uow_for(live) as uow:
        assert uow.session.get(Alert, first.id).status == AlertStatus.CLOSED
    for userid in ("ops", "sup"):
        assert len(cards_of(live, userid, first)) == 1
        [closed] = [t for t in texts_naming(live, userid, first) if "已关闭" in t]
        assert closed == f"预警 #{first.id} {first.title}\n已关闭：系统 21:00（条件已解除）"


def test_a_card_update_refused_for_a_spent_code_is_said_once_in_words(live):
    now, fired = start(live)
    first = fired[0]
    # WeCom refuses the climb's updates (the codes were spent or expired: the fake's stand-in 40080).
    live.fake.fault("message/update_template_card", errcode=40080, count=len(fired))
    round_at(live, now + timedelta(minutes=15))
    for userid in ("ops", "sup"):
        assert len(cards_of(live, userid, first)) == 1  # no second card
        assert updates_for(live, userid, first) == []
        [told] = texts_naming(live, userid, first)
        assert told.startswith(f"预警 #{first.id} {first.title}\n待认领 · 已升级至 运营经理（第 1 级）")
    round_at(live, now + timedelta(minutes=16))  # a later round tells nothing new
    assert len(texts_naming(live, "ops", first)) == 1


def test_a_claim_before_the_climbs_update_went_out_goes_out_in_that_update(live):
    now, fired = start(live)
    first = fired[0]
    deps = live.app.extensions["bot"]
    at(live, now + timedelta(minutes=15))
    with uow_for(live) as uow:  # the round climbs; its updates wait in the outbox
        tick(uow, deps.runtime.alert_policy, now + timedelta(minutes=15))
        uow.commit()
    card = cards_of(live, "sup", first)[0]
    live.tap("sup", card, "认领")
    live.queue.tasks["alerts.deliver"]()
    live.queue.tasks["alerts.deliver"]()
    # ops and sup's one card: the tap's code showed the claim; the climb's update, still waiting, shows it too.
    assert [u["sub_title_text"][:6] for u in updates_for(live, "ops", first)] == ["已认领：王五"] * 2
    assert texts_naming(live, "ops", first) == []  # nothing to say in words: the card is current
    assert len(cards_of(live, "ops", first)) == 1
