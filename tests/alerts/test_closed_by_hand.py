"""An alert a person closed keeps its subject quiet until the condition clears; then a return fires again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts import actions, repair
from alerts.intake import exception_opened
from domain.models import Person, RepairTicket
from domain.services.exceptions import open_exception
from domain.vocab import AlertStatus
from tests.alerts.test_alert_lifecycle import WO, alerts, cards, report, run
from tests.factories import NOW, add_order


def close(make_uow, alert_id, at, userid="sup"):
    with make_uow() as uow:
        actions.close(uow, alert_id=alert_id, userid=userid, now=at)
        uow.commit()


def test_closing_a_late_start_by_hand_does_not_fire_it_again_while_the_order_stays_unstarted(
        plant, make_uow, alert_policy, policy):
    run(make_uow, alert_policy, NOW)
    [late] = alerts(make_uow, "late_start")
    close(make_uow, late.id, NOW + timedelta(minutes=5))
    run(make_uow, alert_policy, NOW + timedelta(minutes=6))
    run(make_uow, alert_policy, NOW + timedelta(hours=2))
    [late] = alerts(make_uow, "late_start")  # no second alert, no second card
    assert (late.status, late.resolution) == (AlertStatus.CLOSED, "已处理")
    assert len(cards(make_uow, late.id)) == 1
    report(make_uow, policy, 100, at=NOW + timedelta(hours=3))
    run(make_uow, alert_policy, NOW + timedelta(hours=3, minutes=1))
    [late] = alerts(make_uow, "late_start")
    assert late.resolution == "已处理，条件已解除"  # re-armed, and it reads as what happened


def test_a_hand_closed_defect_streak_re_arms_when_it_clears_and_fires_when_it_returns(
        plant, make_uow, alert_policy, policy):
    with make_uow() as uow:
        for i in range(2, 6):
            add_order(uow, bill_no=f"SEORD00000{i}", wo_code=f"WO20261125-0{i}")
        uow.commit()
    report(make_uow, policy, 500, 40, at=NOW, wo=WO)
    report(make_uow, policy, 500, 30, at=NOW + timedelta(minutes=10), wo="WO20261125-02")
    run(make_uow, alert_policy, NOW + timedelta(minutes=11))
    [streak] = alerts(make_uow, "defect_streak")
    close(make_uow, streak.id, NOW + timedelta(minutes=12))
    run(make_uow, alert_policy, NOW + timedelta(minutes=13))  # still two bad orders in a row: quiet
    assert len(alerts(make_uow, "defect_streak")) == 1

    report(make_uow, policy, 900, 5, at=NOW + timedelta(minutes=20), wo="WO20261125-03")
    run(make_uow, alert_policy, NOW + timedelta(minutes=21))  # a good order: the streak is over
    report(make_uow, policy, 500, 40, at=NOW + timedelta(minutes=30), wo="WO20261125-04")
    report(make_uow, policy, 500, 40, at=NOW + timedelta(minutes=40), wo="WO20261125-05")
    run(make_uow, alert_policy, NOW + timedelta(minutes=41))  # … and a new one
    first, again = alerts(make_uow, "defect_streak")
    assert first.id == streak.id and first.resolution == "已处理，条件已解除"
    assert again.status == AlertStatus.OPEN and again.facts["本单"] == "WO20261125-05 7.4%"
    assert len(cards(make_uow, again.id)) == 1


def test_an_exception_handed_to_repair_stays_quiet_while_its_ticket_is_open(plant, make_uow, alert_policy, policy):
    with make_uow() as uow:
        exc = open_exception(uow, policy, userid="w1", type="模具问题", source_key="e1", now=NOW,
                             work_order_code=WO, description="顶针断了")
        exception_opened(uow, alert_policy, exc.id, NOW)
        uow.commit()
    [alert] = alerts(make_uow, "exception")
    with make_uow() as uow:
        actions.to_repair(uow, alert_policy, alert_id=alert.id, userid="sup", now=NOW + timedelta(minutes=2))
        ticket_id = uow.session.scalars(select(RepairTicket.id)).one()
        uow.commit()
    for minutes in (3, 30, 90):
        run(make_uow, alert_policy, NOW + timedelta(minutes=minutes))
    [alert] = alerts(make_uow, "exception")  # the exception is still open, but it is being repaired
    assert (alert.status, alert.resolution) == (AlertStatus.CLOSED, "转维修")
    with make_uow() as uow:
        ticket = uow.session.get(RepairTicket, ticket_id)
        tech = uow.session.get(Person, ticket.technician_id).userid
        for action in ("accept", "arrive", "done"):
            repair.step(uow, ticket_id=ticket_id, userid=tech, action=action, now=NOW + timedelta(minutes=95))
        uow.commit()
    run(make_uow, alert_policy, NOW + timedelta(minutes=96))
    [alert] = alerts(make_uow, "exception")
    assert alert.resolution == "转维修，条件已解除"  # the repair closed the exception

