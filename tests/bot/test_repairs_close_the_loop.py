"""Repairs close the loop (issue 18): a technician's 我的维修单, oldest first, each ticket's card on request;
完成 asks for the cause and the parts; the reporter, the one who asked for the repair and the alert's owner
are told once "P05 已修复（…）"; the card ends in its final state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from domain.models import Alert, Notice, Person, RepairTicket, ShopException
from domain.vocab import ExceptionStatus, TicketStatus
from tests.bot.conftest import uow_for
from tests.bot.shift_plant import Clock, live_plant, plant_time

CAUSES = ["电气", "液压", "机械", "加热", "模具", "其他"]


@pytest.fixture
def clock() -> Clock:
    return Clock(plant_time(2026, 11, 25, 10, 0))


@pytest.fixture
def plant(db_url, plant_db, fake_wecom, tmp_path, clock):
    h = live_plant(db_url, fake_wecom, tmp_path, clock)
    with uow_for(h) as uow:
        uow.session.add_all([
            Person(userid="tech", name="孙师傅", roles_csv="technician", zone="B区"),
            Person(userid="tech2", name="吴师傅", roles_csv="technician", zone="B区"),
            Person(userid="mlead", name="周主管", roles_csv="maintenance_lead"),
        ])
        uow.commit()
    return h


def later(clock: Clock, minutes: int) -> None:
    clock.at = clock.at + timedelta(minutes=minutes)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def passive_card(h, resp) -> dict[str, Any]:
    """The card a tap's passive reply put in place of the tapped one, in message/send shape."""
    xml = h.reply(resp)
    assert xml.get("MsgType") == "update_template_card", xml
    card = xml["TemplateCard"]
    return {
        "task_id": card["TaskId"],
        "main_title": {"title": card["MainTitle"]["Title"], "desc": card["MainTitle"].get("Desc", "")},
        "horizontal_content_list": [{"keyname": r["KeyName"], "value": r["Value"]}
                                    for r in _listed(card.get("HorizontalContentList"))],
        "button_list": [{"text": b["Text"], "key": b["Key"], "style": int(b["Style"])}
                        for b in _listed(card.get("ButtonList"))],
    }


def facts(card: dict) -> dict[str, str]:
    return {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}


def buttons(card: dict) -> list[str]:
    return [b["text"] for b in card["button_list"]]


def repaired_texts(h, userid: str) -> list[str]:
    return [t for t in h.texts(userid) if "已修复" in t]


def card_updates(h, userid: str) -> list[dict]:
    return [c["json"]["template_card"] for c in h.fake.calls(path="message/update_template_card")
            if c["errcode"] == 0 and userid in c["json"]["userids"]]


def report_fault(h, clock: Clock) -> tuple[int, int]:
    """w1 reports P05; the technician is asked; the supervisor takes the alert (认领): (exception, ticket)."""
    h.say("w1", "报异常 设备故障 P05 异响严重")
    with uow_for(h) as uow:
        exc = uow.session.scalars(select(ShopException)).one()
        ticket = uow.session.scalars(select(RepairTicket)).one()
        exc_id, ticket_id = exc.id, ticket.id
    [alert_card] = [c for c in h.cards("sup") if "现场异常" in c["main_title"]["title"]]
    h.tap("sup", alert_card, "认领")
    return exc_id, ticket_id


def to_site(h, clock: Clock) -> dict[str, Any]:
    """接单 after 3 minutes, 到场 after 10: the card the technician holds then (完成 on it)."""
    [card] = [c for c in h.cards("tech") if c["main_title"]["title"].startswith("【维修工单】")]
    assert card["main_title"]["desc"] == "请尽快接单并到场处理"
    later(clock, 3)
    card = passive_card(h, h.tap("tech", card, "接单"))
    assert buttons(card) == ["到场"]
    later(clock, 7)
    card = passive_card(h, h.tap("tech", card, "到场"))
    assert buttons(card) == ["完成"]
    return card


def test_done_asks_the_cause_then_the_parts_and_tells_those_waiting_once(plant, clock):
    exc_id, ticket_id = report_fault(plant, clock)
    with uow_for(plant) as uow:
        # Whoever asked for the repair (转维修 or a reporter's answer sets it) is told too: here 李四.
        uow.session.get(RepairTicket, ticket_id).requested_by_id = uow.session.scalar(
            select(Person.id).where(Person.userid == "lead"))
        uow.commit()
    card = to_site(plant, clock)
    later(clock, 32)  # 42 minutes after the ticket was opened

    asking = passive_card(plant, plant.tap("tech", card, "完成"))
    assert asking["main_title"]["desc"] == "请选择故障原因"
    assert buttons(asking) == CAUSES
    with uow_for(plant) as uow:  # nothing is closed by the tap on 完成 alone
        assert uow.session.get(RepairTicket, ticket_id).status == TicketStatus.ON_SITE
    assert repaired_texts(plant, "w1") == []

    parts_card = passive_card(plant, plant.tap("tech", asking, "液压"))
    assert parts_card["main_title"]["desc"].startswith("原因：液压。请直接回复所用备件")
    assert buttons(parts_card) == ["未用备件", "重选原因"]

    signed_text = plant.builder.text("tech", "密封圈×2")
    resp, signed = plant.post(signed_text)
    reply = plant.reply_text(resp)
    assert reply == ("已完成维修工单 #1：P05 已修复（原因：液压，备件：密封圈×2，用时 42 分钟）。"
                     "已通知 李四、王五、张三。")
    told = f"P05 已修复（原因：液压，备件：密封圈×2，用时 42 分钟）\n维修工单 #{ticket_id} · 技术员 孙师傅 · 异常 #{exc_id} 已关闭"
    for userid in ("w1", "lead", "sup"):  # the reporter, the requester, the alert's owner
        assert repaired_texts(plant, userid) == [told], userid
    assert repaired_texts(plant, "tech") == []

    # The card the technician tapped now shows what was done, not what to do.
    [final] = card_updates(plant, "tech")
    assert final["main_title"]["desc"] == "已修复 · 原因 液压 · 用时 42 分钟"
    assert "请尽快接单" not in str(final)
    assert facts(final) == {"异常": f"#{exc_id} 设备故障", "机台": "P05", "原因": "液压", "备件": "密封圈×2",
                            "技术员": "孙师傅", "用时": "42 分钟"}
    assert [(b["text"], b["style"]) for b in final["button_list"]] == [("已完成", 2)]

    # WeCom retries the text; the technician taps the old buttons again: nobody is told twice.
    plant.post("", repeat_of=signed)
    later(clock, 1)
    again = passive_card(plant, plant.tap("tech", parts_card, "未用备件"))
    assert again["main_title"]["desc"] == "已修复 · 原因 液压 · 用时 42 分钟"
    assert passive_card(plant, plant.tap("tech", asking, "电气"))["main_title"]["desc"].startswith("已修复")
    assert passive_card(plant, plant.tap("tech", card, "完成"))["main_title"]["desc"].startswith("已修复")
    for userid in ("w1", "lead", "sup"):
        assert len(repaired_texts(plant, userid)) == 1, userid
    with uow_for(plant) as uow:
        ticket = uow.session.get(RepairTicket, ticket_id)
        assert (ticket.status, ticket.cause, ticket.parts) == (TicketStatus.DONE, "液压", "密封圈×2")
        assert ticket.finished_at == plant_time(2026, 11, 25, 10, 42)
        exc = uow.session.get(ShopException, exc_id)
        assert exc.status == ExceptionStatus.CLOSED and exc.resolution == "维修完成（原因：液压）"
        assert len(uow.session.scalars(select(Notice).where(Notice.key == f"repair_done:{ticket_id}")).all()) == 1


def test_no_parts_from_the_card_and_a_cancelled_answer(plant, clock):
    _, ticket_id = report_fault(plant, clock)
    card = to_site(plant, clock)
    asking = passive_card(plant, plant.tap("tech", card, "完成"))
    parts_card = passive_card(plant, plant.tap("tech", asking, "电气"))
    assert plant.say("tech", "取消") == f"已取消。维修工单 #{ticket_id} 仍未完成，修好后请在卡片上点「完成」。"
    assert repaired_texts(plant, "w1") == []
    # 重选原因 goes back to the causes; 未用备件 finishes without parts.
    asking = passive_card(plant, plant.tap("tech", parts_card, "重选原因"))
    assert buttons(asking) == CAUSES
    parts_card = passive_card(plant, plant.tap("tech", asking, "机械"))
    final = passive_card(plant, plant.tap("tech", parts_card, "未用备件"))
    assert final["main_title"]["desc"] == "已修复 · 原因 机械 · 用时 10 分钟"
    assert facts(final)["备件"] == "无" and buttons(final) == ["已完成"]
    assert repaired_texts(plant, "w1") == [f"P05 已修复（原因：机械，用时 10 分钟）\n维修工单 #{ticket_id} · "
                                           f"技术员 孙师傅 · 异常 #1 已关闭"]
    assert plant.texts("tech")[-1] == "已完成维修工单 #1：P05 已修复（原因：机械，用时 10 分钟）。已通知 王五、张三。"


def test_one_text_closes_with_cause_and_parts(plant, clock):
    _, ticket_id = report_fault(plant, clock)
    [card] = [c for c in plant.cards("tech") if c["main_title"]["title"].startswith("【维修工单】")]
    card = passive_card(plant, plant.tap("tech", card, "接单"))
    assert plant.say("tech", f"维修单 #{ticket_id} 完成 液压 密封圈×2") == (
        f"维修工单 #{ticket_id} 当前为「已接单」，请按 接单→到场→完成 的顺序操作。")
    plant.tap("tech", card, "到场")
    later(clock, 25)
    assert "原因可选：电气、液压、机械、加热、模具、其他" in plant.say("tech", f"维修单 #{ticket_id} 完成")
    assert plant.say("tech", f"维修单 #{ticket_id} 完成 漏水 密封圈") == (
        "没有「漏水」这个原因，请选：电气、液压、机械、加热、模具、其他。")
    assert plant.say("tech2", f"维修单 #{ticket_id} 完成 液压 密封圈") == (
        f"维修工单 #{ticket_id} 已改派给其他技术员。")
    reply = plant.say("tech", f"维修单 #{ticket_id} 完成 加热 加热圈×1")
    assert reply.startswith(f"已完成维修工单 #{ticket_id}：P05 已修复（原因：加热，备件：加热圈×1，用时 25 分钟）。")
    assert [t.splitlines()[0] for t in repaired_texts(plant, "w1")] == ["P05 已修复（原因：加热，备件：加热圈×1，用时 25 分钟）"]
    assert plant.say("tech", f"维修单 #{ticket_id} 完成 加热 加热圈×1").startswith(f"维修工单 #{ticket_id} 已完成")
    assert len(repaired_texts(plant, "w1")) == 1


def test_a_cause_alone_asks_for_the_parts_and_none_is_an_answer(plant, clock):
    _, ticket_id = report_fault(plant, clock)
    card = to_site(plant, clock)
    assert plant.say("tech", f"维修单 #{ticket_id} 完成 模具") == (
        f"已记录维修工单 #{ticket_id} 的原因：模具。请回复所用备件，如「密封圈×2」；未用备件请回复「无」。")
    assert plant.say("tech", "无").startswith(f"已完成维修工单 #{ticket_id}：P05 已修复（原因：模具，用时 10 分钟）")
    assert passive_card(plant, plant.tap("tech", card, "完成"))["main_title"]["desc"] == "已修复 · 原因 模具 · 用时 10 分钟"


def add_ticket(h, *, machine: str, opened_minutes_ago: int, clock: Clock, technician: str | None = "tech",
               status: TicketStatus = TicketStatus.OPEN, description: str = "") -> int:
    with uow_for(h) as uow:
        reporter = uow.session.scalar(select(Person).where(Person.userid == "w1"))
        tech = uow.session.scalar(select(Person).where(Person.userid == technician)) if technician else None
        opened = clock() - timedelta(minutes=opened_minutes_ago)
        exc = ShopException(source_key=f"t:{machine}:{opened_minutes_ago}", reporter_id=reporter.id, type="设备故障",
                            machine=machine, description=description, opened_at=opened)
        uow.session.add(exc)
        uow.session.flush()
        ticket = RepairTicket(exception_id=exc.id, machine=machine, workshop="注塑车间", status=status,
                              opened_at=opened, dispatched_at=opened, technician_id=tech.id if tech else None,
                              tried_userids=technician or "")
        uow.session.add(ticket)
        uow.commit()
        return ticket.id


def test_my_tickets_oldest_first_each_with_its_card_on_request(plant, clock):
    newer = add_ticket(plant, machine="P05", opened_minutes_ago=5, clock=clock, description="异响严重")
    older = add_ticket(plant, machine="P03", opened_minutes_ago=70, clock=clock, status=TicketStatus.ACCEPTED,
                       description="液压漏油，已停机")
    others = add_ticket(plant, machine="P02", opened_minutes_ago=90, clock=clock, technician="tech2")
    add_ticket(plant, machine="P04", opened_minutes_ago=100, clock=clock, status=TicketStatus.DONE)
    assert plant.say("tech", "我的维修单").splitlines() == [
        "您的未完成维修单 2 张（最早的在前）：",
        f"· #{older} P03 已接单 · 已 1 小时 10 分钟 · 设备故障：液压漏油，已停机",
        f"· #{newer} P05 待接单 · 已 5 分钟 · 设备故障：异响严重",
        f"发送「维修单 #{older}」收到该维修单的卡片，可接单、到场、完成。",
    ]
    assert plant.say("tech", f"维修单 #{older}") == f"已把维修单 #{older} 的卡片发给您，可在卡片上点「到场」。"
    [card] = [c for c in plant.cards("tech") if c["main_title"]["title"] == f"【维修工单】#{older} P03"]
    assert buttons(card) == ["到场"] and facts(card)["状态"] == "已接单"
    on_site = passive_card(plant, plant.tap("tech", card, "到场"))  # the card acts like the first one
    assert buttons(on_site) == ["完成"]
    assert plant.say("tech", f"维修单 #{others}") == (
        f"维修单 #{others} 不是派给您的。发送「我的维修单」查看您的维修单。")

    # The menu button gives the same list.
    resp, _ = plant.post(plant.builder.event("tech", "click", key="my_repairs"))
    assert plant.reply_text(resp).startswith("您的未完成维修单 2 张（最早的在前）：")

    # The maintenance lead sees every open ticket, with its technician, and where one stands.
    lead_lines = plant.say("mlead", "我的维修单").splitlines()
    assert lead_lines[0] == "未完成维修单 3 张（最早的在前）："
    assert lead_lines[1].startswith(f"· #{others} P02 待接单（吴师傅） · 已 1 小时 30 分钟")
    assert lead_lines[2].startswith(f"· #{older} P03 已到场（孙师傅）")
    assert lead_lines[-1] == f"发送「维修单 #{others}」查看该维修单的进度（派给您的会收到卡片）。"
    assert plant.say("mlead", f"维修单 #{older}").startswith(f"维修单 #{older} P03 已到场 · 技术员 孙师傅 · 已 1 小时 10 分钟。")


def test_someone_who_is_no_technician_is_told_it_is_not_theirs(plant, clock):
    add_ticket(plant, machine="P05", opened_minutes_ago=5, clock=clock)
    for text in ("我的维修单", "维修单 #1"):
        assert plant.say("w1", text) == (
            "抱歉，您没有使用该功能的权限（需要：设备主管、维修技术员）。发送「帮助」查看您可以使用的功能。"), text
    resp, _ = plant.post(plant.builder.event("sup", "click", key="my_repairs"))
    assert plant.reply_text(resp) == "「我的维修单」供维修技术员和设备主管使用，列出派给自己的（设备主管：全部）未完成维修单。"
    assert plant.say("tech2", "我的维修单") == "您目前没有未完成的维修单。"


def test_a_long_list_is_paged(plant, clock):
    for n in range(12):
        add_ticket(plant, machine=f"P{n + 1:02d}", opened_minutes_ago=100 - n, clock=clock)
    first = plant.say("tech", "我的维修单").splitlines()
    assert first[0] == "您的未完成维修单 12 张（最早的在前）："
    assert len([line for line in first if line.startswith("· #")]) == 10
    assert "第 1/2 页，发送「我的维修单 2」查看下一页" in first
    second = plant.say("tech", "我的维修单 2").splitlines()
    assert [line.split()[2] for line in second if line.startswith("· #")] == ["P11", "P12"]
    assert "第 2/2 页" in second
    assert plant.say("tech", "我的维修单 3") == "维修单列表只有 2 页，请发送「我的维修单 1」到「我的维修单 2」查看。"


def test_parts_for_a_ticket_taken_away_are_refused_once_and_the_question_dropped(plant, clock):
    _, ticket_id = report_fault(plant, clock)
    card = to_site(plant, clock)
    asking = passive_card(plant, plant.tap("tech", card, "完成"))
    plant.tap("tech", asking, "液压")
    with uow_for(plant) as uow:
        uow.session.get(RepairTicket, ticket_id).technician_id = uow.session.scalar(
            select(Person.id).where(Person.userid == "tech2"))
        uow.commit()
    assert plant.say("tech", "密封圈×2") == f"维修工单 #{ticket_id} 已改派给其他技术员。"
    assert "维修工单" not in plant.say("tech", "密封圈×2")  # no longer read as the answer
    assert repaired_texts(plant, "w1") == []


def test_the_fault_alert_closes_as_repaired_by_the_technician_not_as_cleared(plant, clock):
    exc_id, ticket_id = report_fault(plant, clock)
    card = to_site(plant, clock)
    asking = passive_card(plant, plant.tap("tech", card, "完成"))
    plant.tap("tech", asking, "液压")
    plant.say("tech", "无")
    plant.queue.tasks["alerts.deliver"]()
    with uow_for(plant) as uow:
        alert = uow.session.scalars(select(Alert).where(Alert.subject_key == f"exc:{exc_id}")).one()
        tech_id = uow.session.scalar(select(Person.id).where(Person.userid == "tech"))
        assert (alert.status, alert.closed_by_id) == ("closed", tech_id)
        # The round that saw the exception closed adds "，条件已解除" (re-armed); what happened comes first.
        assert alert.resolution.startswith("已修复（P05，原因：液压）")
    seen = [c["sub_title_text"] for c in card_updates(plant, "sup") if "现场异常" in c["main_title"]["title"]]
    seen += [t for t in plant.texts("sup") if "已关闭" in t]
    assert any("已关闭：孙师傅" in s and "已修复（P05，原因：液压）" in s for s in seen), seen
    assert not any("条件已解除" in s for s in seen)

