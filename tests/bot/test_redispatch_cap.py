"""A repair nobody accepts moves to the next technician on duty at most REPAIR_MAX_REDISPATCH times, then the
设备主管 is told once and the ticket stops moving; with nobody free, no round claims a re-dispatch and no
technician gets the same ticket twice. Through the fake WeCom, with the rounds' clock set by the test."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts import actions
from alerts.tick import TickResult, tick
from domain.errors import DomainError
from domain.models import Person, RepairTicket
from tests.bot.conftest import uow_for

TECHS = (("techA", "刘师傅", "B区"), ("techB", "何师傅", "B区"), ("techC", "郭师傅", "A区"), ("techD", "马师傅", "C区"))


def add(live, *people: tuple[str, str, str, str | None, str | None]) -> None:
    with uow_for(live) as uow:
        for userid, name, roles, workshop, zone in people:
            uow.session.add(Person(userid=userid, name=name, roles_csv=roles, workshop=workshop, zone=zone))
        uow.commit()


def technicians(live, n: int) -> list[str]:
    add(live, *((u, name, "technician", None, zone) for u, name, zone in TECHS[:n]))
    return [u for u, _, _ in TECHS[:n]]


def round_at(live, start, minutes: int) -> TickResult:
    deps = live.app.extensions["bot"]
    at = start + timedelta(minutes=minutes)
    deps.core.clock = lambda: at
    with uow_for(live) as uow:
        result = tick(uow, deps.runtime.alert_policy, at)
        uow.commit()
    live.queue.tasks["alerts.deliver"]()
    return result


def repair_cards(live, userid: str) -> list[dict]:
    return [c for c in live.cards(userid) if c["main_title"]["title"].startswith("【维修工单】")]


def the_ticket(live) -> RepairTicket:
    with uow_for(live) as uow:
        ticket = uow.session.scalars(select(RepairTicket)).one()
        uow.session.expunge(ticket)
        return ticket


def escalations(live, userid: str) -> list[str]:
    return [t for t in live.texts(userid) if t.startswith("【维修无人接单】")]


def test_redispatch_stops_after_the_limit_and_the_maintenance_lead_is_told_once(live):
    techs = technicians(live, 4)
    add(live, ("wugong", "吴工", "maintenance_lead", None, None))
    live.say("w1", "报异常 设备故障 P05 异响严重")
    ticket = the_ticket(live)
    start = ticket.opened_at

    moved = [round_at(live, start, m).redispatched for m in (11, 22, 33, 44, 55)]
    assert moved == [[ticket.id], [ticket.id], [], [], []]  # REPAIR_MAX_REDISPATCH = 2
    ticket = the_ticket(live)
    tried = ticket.tried_userids.split("|")
    assert len(tried) == 3 and ticket.escalated_at is not None
    for userid in techs:
        assert len(repair_cards(live, userid)) == (1 if userid in tried else 0)  # never the same card twice
    [told] = escalations(live, "wugong")
    names = dict((u, n) for u, n, _ in TECHS)
    assert told.startswith(f"【维修无人接单】维修工单 #{ticket.id}（P05，注塑车间）已等待 33 分钟，")
    assert f"已派过：{'、'.join(names[u] for u in tried)}" in told
    assert "已改派 2 次" in told and "故障：P05 异响严重" in told
    assert escalations(live, "sup") == []  # the 设备主管 is on duty: the supervisor keeps the alert only

    # The last one asked still has a working card.
    last = repair_cards(live, tried[-1])[0]
    live.tap(tried[-1], last, "接单")
    assert the_ticket(live).status == "accepted"


def test_with_nobody_else_free_no_round_reports_a_redispatch_and_the_supervisor_is_told_once(live):
    [tech] = technicians(live, 1)
    start = live.app.extensions["bot"].core.clock()
    live.say("w1", "报异常 设备故障 P05 异响严重")
    ticket = the_ticket(live)

    results = [round_at(live, start, m) for m in (11, 22, 33, 44)]
    assert [r.redispatched for r in results] == [[], [], [], []]  # 改派维修 0 单, every round
    assert [r.repair_escalated for r in results] == [[ticket.id], [], [], []]
    assert len(repair_cards(live, tech)) == 1
    assert the_ticket(live).technician_id is not None  # still 刘师傅's, whose card still works
    # No 设备主管 in this plant: the workshop's supervisor on duty is told, once.
    [told] = escalations(live, "sup")
    assert "刘师傅 未接单，暂无其他空闲技术员在岗" in told and "已派过：刘师傅" in told


def test_with_no_technician_on_duty_the_lead_is_told_once_and_a_free_one_later_gets_it(live):
    add(live, ("wugong", "吴工", "maintenance_lead", None, None))
    start = live.app.extensions["bot"].core.clock()
    reply = live.say("w1", "报异常 设备故障 P05 异响严重")
    assert "暂无空闲技术员在岗，稍后自动派单" in reply
    ticket = the_ticket(live)

    results = [round_at(live, start, m) for m in (5, 11, 22)]
    assert [r.redispatched for r in results] == [[], [], []]
    assert [r.repair_escalated for r in results] == [[], [ticket.id], []]
    [told] = escalations(live, "wugong")
    assert "暂无空闲技术员在岗" in told and "已派过：无" in told

    [tech] = technicians(live, 1)
    assert round_at(live, start, 30).redispatched == [ticket.id]  # a first ask, to the one now free
    assert len(repair_cards(live, tech)) == 1
    assert round_at(live, start, 45).redispatched == []  # and it does not cycle after the escalation
    assert len(repair_cards(live, tech)) == 1 and len(escalations(live, "wugong")) == 1


def test_the_technician_passed_over_is_told_the_ticket_moved_on(live):
    technicians(live, 2)
    live.say("w1", "报异常 设备故障 P05 异响严重")
    ticket = the_ticket(live)
    first = ticket.tried_userids
    round_at(live, ticket.opened_at, 11)
    moved = the_ticket(live)
    second = moved.tried_userids.split("|")[-1]
    names = dict((u, n) for u, n, _ in TECHS)
    assert live.texts(first) == [f"维修工单 #{ticket.id}（P05）已改派给 {names[second]}，您无需再接单。"]
    assert live.texts(second) == []


def test_a_waiting_repair_card_offers_no_repair_button_and_the_action_is_refused(live):
    technicians(live, 1)
    live.say("w1", "报异常 设备故障 P05 异响严重")
    ticket = the_ticket(live)
    round_at(live, ticket.opened_at, 11)
    [waiting] = [c for c in live.cards("sup") if "维修工单未响应" in c["main_title"]["title"]]
    assert [b["text"] for b in waiting["button_list"]] == ["认领", "已处理"]
    alert_id = int(waiting["main_title"]["title"].rsplit("#", 1)[1])
    with uow_for(live) as uow:
        deps = live.app.extensions["bot"]
        try:
            actions.to_repair(uow, deps.runtime.alert_policy, alert_id=alert_id, userid="sup",
                              now=deps.core.clock())
        except DomainError as exc:
            assert exc.message == f"预警 #{alert_id} 不是设备故障，无法转维修。"
        else:
            raise AssertionError("转维修 on a waiting repair was accepted")
