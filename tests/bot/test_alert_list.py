"""`预警` through the real WeCom path: paged, each line with its age and owner, for every role that has alerts
(the reporter, the workshop's leads, the technicians of a repair), and `预警 #12` sends the card to act on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts.tick import tick
from domain.models import Alert, Person, RepairTicket
from domain.vocab import AlertStatus
from tests.bot.conftest import uow_for
from tests.bot.test_alert_cards import card_of, fire_late_start, updates

WO = "WO20261125-01"


def add_person(live, userid: str, name: str, roles: str, workshop: str | None) -> None:
    with uow_for(live) as uow:
        uow.session.add(Person(userid=userid, name=name, roles_csv=roles, workshop=workshop))
        uow.commit()


def late_alerts(live) -> list[int]:
    fire_late_start(live)  # one late start per work order of the plant: 14, all in 注塑车间
    with uow_for(live) as uow:
        return list(uow.session.scalars(select(Alert.id).where(Alert.rule == "late_start")
                                        .order_by(Alert.fired_at.desc(), Alert.id.desc())))


def lines(reply: str) -> list[str]:
    return [x for x in reply.splitlines() if x.startswith("· #")]


def test_the_list_is_paged_fits_one_text_and_names_who_claimed(live):
    ids = late_alerts(live)
    assert len(ids) == 14
    first = live.say("sup", "预警")
    assert first.splitlines()[0] == "待处理预警 14 条："
    assert len(lines(first)) == 10
    assert "第 1/2 页，发送「预警 2」查看下一页" in first
    assert "发送「预警 #编号」收到该预警的卡片，可认领、处理。" in first
    assert len(first.encode("utf-8")) <= 2048
    assert all("待认领 · 已 " in x for x in lines(first))

    second = live.say("sup", "预警 2")
    assert len(lines(second)) == 4 and "第 2/2 页" in second and "预警 3" not in second
    shown = [int(x.split("【")[0][3:]) for x in lines(first) + lines(second)]
    assert sorted(shown) == sorted(ids)  # every open alert is on a page, none twice

    [card] = card_of(live, "sup", next(a for a in _alerts(live) if a.id == ids[0]))
    live.tap("ops", card, "认领")
    claimed = next(x for x in lines(live.say("sup", "预警")) if x.startswith(f"· #{ids[0]}【"))
    assert "认领人 赵六 · 已 " in claimed

    assert live.say("sup", "预警 3").startswith("预警列表只有 2 页，请发送「预警 1」到「预警 2」查看。")
    assert live.say("sup", "预警 第2页") == second


def _alerts(live) -> list[Alert]:
    with uow_for(live) as uow:
        rows = list(uow.session.scalars(select(Alert)))
        uow.session.expunge_all()
        return rows


def test_a_team_lead_sees_the_workshops_alerts_and_a_lead_elsewhere_has_none(live):
    late_alerts(live)
    add_person(live, "lead2", "周八", "team_lead", "注塑车间")
    reply = live.say("lead2", "预警")
    assert reply.splitlines()[0] == "待处理预警 14 条："
    assert live.say("lead", "预警") == "您目前没有待处理的预警。"  # 后加工车间: none of these are theirs


def test_the_reporter_of_an_exception_sees_its_alert_and_its_state_but_cannot_act(live):
    assert live.say("w1", f"报异常 {WO} 模具问题 顶针断了").startswith("已报告异常")
    [alert] = [a for a in _alerts(live) if a.rule == "exception"]
    mine = live.say("w1", "预警")
    assert mine.splitlines()[0] == "待处理预警 1 条："
    assert lines(mine)[0].startswith(f"· #{alert.id}【现场异常】异常 #") and "待认领 · 已 " in lines(mine)[0]
    assert "预警 #编号" not in mine  # nothing in it is theirs to act on
    assert live.say("w2", "预警") == "您目前没有待处理的预警。"

    refused = live.say("w1", f"预警 #{alert.id}")
    assert refused.startswith(f"预警 #{alert.id} 由班组长、主管处理，您不能在卡片上操作。")
    assert "当前状态：待认领" in refused
    assert not card_of(live, "w1", alert)

    [card] = card_of(live, "sup", alert)
    live.tap("sup", card, "已处理")
    after = live.say("w1", "预警")
    assert after.splitlines()[0] == "待处理预警 0 条，您报告的已关闭 1 条："
    assert lines(after)[0].endswith("（已关闭：已处理）")


def test_a_technician_sees_the_unanswered_repair_of_their_workshop(live):
    add_person(live, "tech", "孙师傅", "technician", "注塑车间")
    add_person(live, "tech2", "吴师傅", "technician", "后加工车间")
    deps = live.app.extensions["bot"]
    now = deps.core.clock()
    with uow_for(live) as uow:
        uow.session.add(RepairTicket(machine="P01", workshop="注塑车间", opened_at=now - timedelta(minutes=30)))
        uow.commit()
    with uow_for(live) as uow:
        tick(uow, deps.runtime.alert_policy, now)
        uow.commit()
    live.queue.tasks["alerts.deliver"]()
    reply = live.say("tech", "预警")
    [line] = lines(reply)
    assert "【维修工单未响应】维修工单 #" in line
    assert live.say("tech2", "预警") == "您目前没有待处理的预警。"


def test_asking_for_an_alert_sends_its_card_to_act_on_and_refuses_others(live):
    ids = late_alerts(live)
    add_person(live, "lead2", "周八", "team_lead", "注塑车间")
    alert = next(a for a in _alerts(live) if a.id == ids[3])
    assert not card_of(live, "lead2", alert)

    assert live.say("lead2", f"预警 #{alert.id}") == f"已把预警 #{alert.id} 的卡片发给您，可在卡片上认领、处理。"
    [card] = card_of(live, "lead2", alert)
    # A late start names no press to repair: its card offers no 转维修 (tests/bot/test_fault_reaches_technician.py).
    assert [b["text"] for b in card["button_list"]] == ["认领", "已处理"]
    live.tap("lead2", card, "认领")
    with uow_for(live) as uow:
        acked = uow.session.get(Alert, alert.id)
        assert acked.status == AlertStatus.ACKNOWLEDGED
    # Every copy of the card shows the claim, the supervisor's and the ops manager's too.
    assert any(u["template_card"]["sub_title_text"].startswith("已认领：周八") and "sup" in u["userids"]
               for u in updates(live))

    assert live.say("w2", f"预警 #{alert.id}").startswith(f"预警 #{alert.id} 不是您负责的预警")
    assert live.say("lead", f"预警 #{alert.id}").startswith(f"预警 #{alert.id} 不是您负责的预警")
    assert not card_of(live, "w2", alert) and not card_of(live, "lead", alert)
    assert live.say("sup", "预警 #999999") == "预警 #999999 不存在。"


def test_a_page_of_long_titles_still_fits_one_wecom_text(live):
    from alerts.engine import send_alert_card
    from alerts.store import fire

    deps = live.app.extensions["bot"]
    now = deps.core.clock()
    with uow_for(live) as uow:
        for i in range(12):
            fired = fire(uow, rule="exception", subject_key=f"exc:{9000 + i}", title="注塑机液压系统异响严重" * 10,
                         now=now, workshop="注塑车间", facts={"类型": "设备故障"})
            alert = uow.session.get(Alert, fired.alert_id)
            send_alert_card(uow, deps.runtime.alert_policy, alert, level=0, now=now, userids=["sup"])
        uow.commit()
    reply = live.say("sup", "预警")  # WeCom drops a text over 2048 bytes
    assert len(lines(reply)) == 10 and len(reply.encode("utf-8")) <= 2048
    assert all(x.endswith("）") and "…" in x for x in lines(reply))
