"""Rules against the store with a frozen clock: quiet → firing → cleared → firing again; escalation; repair."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts import actions, repair
from alerts.tick import tick
from domain.models import Alert, AlertCard, Notice, RepairTicket
from domain.services.exceptions import open_exception
from domain.services.reporting import report_work
from domain.vocab import AlertStatus, TicketStatus, WorkOrderStatus
from tests.factories import NOW, add_order

WO = "WO20261125-01"  # planned to start at NOW - 2h, 1000 pieces, mould M-001, machine P01


def run(make_uow, alert_policy, at):
    with make_uow() as uow:
        result = tick(uow, alert_policy, at)
        uow.commit()
    return result


def alerts(make_uow, rule=None):
    with make_uow() as uow:
        q = select(Alert).order_by(Alert.id)
        if rule:
            q = q.where(Alert.rule == rule)
        rows = uow.session.scalars(q).all()
        uow.session.expunge_all()
        return rows


def cards(make_uow, alert_id):
    with make_uow() as uow:
        return [(c.level, c.userids) for c in uow.session.scalars(
            select(AlertCard).where(AlertCard.alert_id == alert_id).order_by(AlertCard.id))]


def report(make_uow, policy, good, defect=0, at=NOW, wo=WO, key=None, userid="w1"):
    with make_uow() as uow:
        report_work(uow, policy, work_order_code=wo, userid=userid, good_qty=good, defect_qty=defect,
                    source_key=key or f"k{good}-{defect}-{wo}-{at}", now=at)
        uow.commit()


def test_late_start_fires_once_goes_to_the_workshop_and_ops_and_clears_on_the_first_report(
        plant, make_uow, alert_policy, policy):
    # 10:00 plant time: the work order was due to start at 08:00.
    run(make_uow, alert_policy, NOW - timedelta(hours=1, minutes=31))  # 08:29: within the grace period
    assert alerts(make_uow, "late_start") == []
    run(make_uow, alert_policy, NOW)
    run(make_uow, alert_policy, NOW + timedelta(minutes=1))  # the condition holds: no second alert
    [late] = alerts(make_uow, "late_start")
    assert late.status == AlertStatus.OPEN and late.title == f"{WO} 超过计划开工时间 2 小时 未开工"
    assert cards(make_uow, late.id) == [(0, "ops|sup")]
    report(make_uow, policy, 100)
    run(make_uow, alert_policy, NOW + timedelta(minutes=2))
    [late] = alerts(make_uow, "late_start")
    assert late.status == AlertStatus.CLOSED and late.resolution == "条件已解除"


def test_plan_completion_fires_clears_and_fires_again_at_the_next_checkpoint(
        plant, make_uow, alert_policy, policy):
    eleven = NOW + timedelta(hours=1)  # 11:00: 1000 planned, 250 expected, 175 is 70%
    report(make_uow, policy, 100, at=NOW)
    run(make_uow, alert_policy, eleven)
    [first] = alerts(make_uow, "plan_behind")
    assert first.status == AlertStatus.OPEN and "当日计划完成率 40%" in first.title
    report(make_uow, policy, 100, at=eleven)
    run(make_uow, alert_policy, eleven + timedelta(minutes=5))
    assert alerts(make_uow, "plan_behind")[0].status == AlertStatus.CLOSED
    run(make_uow, alert_policy, NOW + timedelta(hours=5))  # 15:00: 583 expected, 200 made
    again = alerts(make_uow, "plan_behind")
    assert len(again) == 2 and again[1].status == AlertStatus.OPEN and again[1].id != first.id


def test_a_work_order_finished_before_today_plans_nothing_for_today(plant, make_uow, alert_policy, policy):
    with make_uow() as uow:
        # Planned 11-23 to 11-26 at 1000 a day, finished yesterday afternoon: ahead of plan, not behind today.
        early = add_order(uow, bill_no="SEORD000002", wo_code="WO20261125-02")
        early.planned_start, early.planned_finish = NOW - timedelta(days=2), NOW + timedelta(days=1)
        early.status, early.started_at = WorkOrderStatus.DONE, NOW - timedelta(days=2)
        early.finished_at = NOW - timedelta(hours=20)
        uow.commit()
    report(make_uow, policy, 200, at=NOW)
    # 11:00: WO20261125-01 alone is planned today (1000, 250 expected by now); 200 made is 80%. Counting the
    # finished order's 1000 as well made it 200 of 500 expected, 40%: a false alarm.
    run(make_uow, alert_policy, NOW + timedelta(hours=1))
    assert alerts(make_uow, "plan_behind") == []


def test_a_work_order_planned_to_end_at_the_shift_start_plans_nothing_for_today(
        plant, make_uow, alert_policy, policy):
    with make_uow() as uow:
        # Planned 11-24 08:00 to 11-25 08:00: its plan was yesterday's shift, not today's.
        ended = add_order(uow, bill_no="SEORD000002", wo_code="WO20261125-02")
        ended.planned_start, ended.planned_finish = NOW - timedelta(days=1, hours=2), NOW - timedelta(hours=2)
        uow.commit()
    report(make_uow, policy, 200, at=NOW)
    # 11:00: only WO20261125-01's 1000 is today's plan, 250 expected, 200 made is 80%. With the other
    # counted too it was 200 of 500, 40%: a false alarm.
    run(make_uow, alert_policy, NOW + timedelta(hours=1))
    assert alerts(make_uow, "plan_behind") == []


def test_a_short_run_plans_no_more_than_its_quantity_for_the_day(plant, make_uow, alert_policy, policy):
    with make_uow() as uow:
        # 300 pieces planned at a press's daily rate of 3000: the day's plan is the 300.
        short = add_order(uow, bill_no="SEORD000002", wo_code="WO20261125-02", qty=300)
        short.daily_plan_qty = 3000
        uow.commit()
    report(make_uow, policy, 260, at=NOW)
    # 11:00: (1000 + 300) planned, 325 expected by now; 260 made is 80%. At 3000 it read 260 of 1000, 26%.
    run(make_uow, alert_policy, NOW + timedelta(hours=1))
    assert alerts(make_uow, "plan_behind") == []


def test_defect_streak_on_one_mould_and_its_clearing(plant, make_uow, alert_policy, policy):
    with make_uow() as uow:
        add_order(uow, bill_no="SEORD000002", wo_code="WO20261125-02")
        add_order(uow, bill_no="SEORD000003", wo_code="WO20261125-03")
        uow.commit()
    report(make_uow, policy, 500, 40, at=NOW, wo=WO)
    run(make_uow, alert_policy, NOW)
    assert alerts(make_uow, "defect_streak") == []  # one bad order is not a streak
    report(make_uow, policy, 500, 30, at=NOW + timedelta(minutes=10), wo="WO20261125-02")
    run(make_uow, alert_policy, NOW + timedelta(minutes=11))
    [streak] = alerts(make_uow, "defect_streak")
    assert streak.subject_key == "defect:mould:M-001" and streak.facts["本单"] == "WO20261125-02 5.7%"
    report(make_uow, policy, 900, 5, at=NOW + timedelta(minutes=20), wo="WO20261125-03")
    run(make_uow, alert_policy, NOW + timedelta(minutes=21))
    assert alerts(make_uow, "defect_streak")[0].status == AlertStatus.CLOSED


def card_notices(make_uow, alert_id):
    """The card sends of an alert, as they stand in the outbox (a send not yet out shows the latest state)."""
    with make_uow() as uow:
        return [n.card for n in uow.session.scalars(
            select(Notice).join(AlertCard, AlertCard.id == Notice.alert_card_id)
            .where(AlertCard.alert_id == alert_id).order_by(Notice.id))]


def texts_to(make_uow, userid):
    with make_uow() as uow:
        return [n.text for n in uow.session.scalars(select(Notice).where(
            Notice.userids == userid, Notice.text.is_not(None), Notice.response_code.is_(None)).order_by(Notice.id))]


def test_unacknowledged_alerts_climb_the_chain_and_acknowledging_stops_it(plant, make_uow, alert_policy):
    run(make_uow, alert_policy, NOW)
    [late] = alerts(make_uow, "late_start")
    run(make_uow, alert_policy, NOW + timedelta(minutes=14))
    assert [lvl for lvl, _ in cards(make_uow, late.id)] == [0]
    run(make_uow, alert_policy, NOW + timedelta(minutes=15))
    run(make_uow, alert_policy, NOW + timedelta(minutes=29))
    [late] = alerts(make_uow, "late_start")
    assert late.level == 1
    # The ops manager (level 1) has had the card from the start: no second card, the one there shows the climb.
    assert cards(make_uow, late.id) == [(0, "ops|sup")]
    [card] = card_notices(make_uow, late.id)
    assert card["sub_title_text"].startswith("待认领 · 已升级至 运营经理（第 1 级）")
    run(make_uow, alert_policy, NOW + timedelta(minutes=30))
    run(make_uow, alert_policy, NOW + timedelta(hours=3))
    # A late start is a normal alert: it never reaches the executives (boss, chief), and does not cycle.
    [late] = alerts(make_uow, "late_start")
    assert late.level == 1 and cards(make_uow, late.id) == [(0, "ops|sup")]

    # Acknowledged early, a second alert never leaves the workshop.
    with make_uow() as uow:
        add_order(uow, bill_no="SEORD000002", wo_code="WO20261125-02")
        uow.commit()
    run(make_uow, alert_policy, NOW + timedelta(hours=3, minutes=1))
    second = alerts(make_uow, "late_start")[-1]
    with make_uow() as uow:
        actions.acknowledge(uow, alert_id=second.id, userid="sup", now=NOW + timedelta(hours=3, minutes=2))
        uow.commit()
    run(make_uow, alert_policy, NOW + timedelta(hours=4))
    assert [lvl for lvl, _ in cards(make_uow, second.id)] == [0]
    assert alerts(make_uow, "late_start")[-1].level == 0


def test_at_shift_end_an_unclosed_alert_is_raised_once_to_its_owner_in_words(plant, make_uow, alert_policy):
    run(make_uow, alert_policy, NOW)
    [late] = alerts(make_uow, "late_start")
    with make_uow() as uow:
        actions.acknowledge(uow, alert_id=late.id, userid="sup", now=NOW + timedelta(minutes=5))
        uow.commit()
    shift_end = NOW + timedelta(hours=10)  # 20:00
    run(make_uow, alert_policy, shift_end - timedelta(minutes=1))
    run(make_uow, alert_policy, shift_end)
    run(make_uow, alert_policy, shift_end + timedelta(hours=1))
    run(make_uow, alert_policy, shift_end + timedelta(hours=3))
    assert cards(make_uow, late.id) == [(0, "ops|sup")]  # nobody gets the card a second time
    # The owner holds the card: one short text (listing their open alerts), once this shift; the ops
    # manager, who has the card too, is not asked again about the one the supervisor owns.
    [reminder] = [t for t in texts_to(make_uow, "sup") if t.startswith("【未关闭提醒】")]
    assert f"预警 #{late.id} {late.title}，已开 10小时" in reminder.splitlines()
    assert not [t for t in texts_to(make_uow, "ops") if f"#{late.id} " in t]
    with make_uow() as uow:
        assert uow.session.get(Alert, late.id).reminders == 1


def test_acting_on_an_alert_is_recorded_and_repeats_change_nothing(plant, make_uow, alert_policy):
    run(make_uow, alert_policy, NOW)
    [late] = alerts(make_uow, "late_start")
    with make_uow() as uow:
        first = actions.acknowledge(uow, alert_id=late.id, userid="sup", now=NOW + timedelta(minutes=3))
        again = actions.acknowledge(uow, alert_id=late.id, userid="ops", now=NOW + timedelta(minutes=4))
        uow.commit()
    assert first.changed and not again.changed
    with make_uow() as uow:
        try:
            actions.close(uow, alert_id=late.id, userid="w1", now=NOW)
        except Exception as exc:  # noqa: BLE001
            assert "不是发给您的" in exc.message  # type: ignore[attr-defined]
        else:
            raise AssertionError("a worker who did not get the alert closed it")
        actions.close(uow, alert_id=late.id, userid="ops", now=NOW + timedelta(minutes=9))
        uow.commit()
    [late] = alerts(make_uow, "late_start")
    assert late.status == AlertStatus.CLOSED and late.resolution == "已处理"
    assert late.acknowledged_at == NOW + timedelta(minutes=3) and late.closed_at == NOW + timedelta(minutes=9)


def test_an_equipment_fault_calls_the_nearest_free_technician_and_silence_calls_the_next(
        plant, make_uow, alert_policy, policy):
    from alerts.intake import exception_opened

    with make_uow() as uow:
        exc = open_exception(uow, policy, userid="w1", type="设备故障", source_key="e1", now=NOW,
                             work_order_code=WO, description="液压油温过高")
        ticket_id = exception_opened(uow, alert_policy, exc.id, NOW)
        uow.commit()
    with make_uow() as uow:
        ticket = uow.session.get(RepairTicket, ticket_id)
        assert ticket.machine == "P01" and ticket.technician_id is not None
        assert ticket.tried_userids == "techA"  # P01 is in A区, and so is techA
        tech_card = uow.session.scalars(select(Notice).where(Notice.userids == "techA")).one().card
        assert [b["text"] for b in tech_card["button_list"]] == ["接单"]
    assert [a.rule for a in alerts(make_uow)] == ["exception"]  # at once, before any scheduled round

    run(make_uow, alert_policy, NOW + timedelta(minutes=10))
    with make_uow() as uow:
        assert uow.session.get(RepairTicket, ticket_id).tried_userids == "techA"
    run(make_uow, alert_policy, NOW + timedelta(minutes=11))
    with make_uow() as uow:
        ticket = uow.session.get(RepairTicket, ticket_id)
        assert ticket.tried_userids == "techA|techB"  # B区 is one zone away, C区 two
        told = uow.session.scalars(select(Notice.text).where(Notice.userids == "sup")).all()
        assert any("刘师傅 11 分钟未接单，已改派 何师傅" in (t or "") for t in told)
    assert "repair_unanswered" in [a.rule for a in alerts(make_uow)]

    with make_uow() as uow:
        try:
            repair.step(uow, ticket_id=ticket_id, userid="techA", action="accept", now=NOW + timedelta(minutes=12))
        except Exception as exc:  # noqa: BLE001
            assert "已改派给其他技术员" in exc.message  # type: ignore[attr-defined]
        else:
            raise AssertionError("the first technician could still accept a re-dispatched ticket")
        for action, minutes in (("accept", 13), ("accept", 14), ("arrive", 20), ("done", 50)):
            repair.step(uow, ticket_id=ticket_id, userid="techB", action=action, now=NOW + timedelta(minutes=minutes))
        uow.commit()
    run(make_uow, alert_policy, NOW + timedelta(minutes=51))
    with make_uow() as uow:
        ticket = uow.session.get(RepairTicket, ticket_id)
        assert (ticket.accepted_at - ticket.dispatched_at) == timedelta(minutes=2)  # response time, once
        assert ticket.status == TicketStatus.DONE
    fault_alerts = [a for a in alerts(make_uow) if a.rule in ("exception", "repair_unanswered")]
    assert len(fault_alerts) == 2 and all(a.status == AlertStatus.CLOSED for a in fault_alerts)  # all over

    # Later faults: P01 goes to techA (A区); P02, also in A区, to techB because techA is busy; a second
    # call for P01 joins the ticket already open for it.
    later = NOW + timedelta(hours=1)
    with make_uow() as uow:
        p01 = repair.open_ticket(uow, alert_policy, machine="P01", workshop="注塑车间", now=later)
        p02 = repair.open_ticket(uow, alert_policy, machine="P02", workshop="注塑车间", now=later)
        again = repair.open_ticket(uow, alert_policy, machine="P01", workshop="注塑车间", now=later)
        uow.commit()
        assert (p01.tried_userids, p02.tried_userids, again.id) == ("techA", "techB", p01.id)


def test_monthly_figures_give_time_to_acknowledge_and_close_and_same_day_share(plant, make_uow, alert_policy):
    from alerts.stats import alert_stats

    run(make_uow, alert_policy, NOW)
    with make_uow() as uow:
        add_order(uow, bill_no="SEORD000002", wo_code="WO20261125-02")
        uow.commit()
    run(make_uow, alert_policy, NOW + timedelta(minutes=20))
    first, second = alerts(make_uow, "late_start")
    with make_uow() as uow:
        actions.acknowledge(uow, alert_id=first.id, userid="sup", now=NOW + timedelta(minutes=10))
        actions.close(uow, alert_id=first.id, userid="sup", now=NOW + timedelta(minutes=40))
        actions.close(uow, alert_id=second.id, userid="ops", now=NOW + timedelta(days=1))  # the next day
        uow.commit()
    with make_uow() as uow:
        [row] = [r for r in alert_stats(uow, alert_policy, "2026-11") if r.rule == "late_start"]
    assert row.count == 2 and row.workshop == "注塑车间"
    # The second fired 20 minutes in and was acknowledged when it was closed, a day later.
    assert row.mean_ack_minutes == (10 + 24 * 60 - 20) / 2
    assert row.mean_close_minutes == (40 + 24 * 60 - 20) / 2
    assert row.closed_same_day_pct == 50
    with make_uow() as uow:
        assert alert_stats(uow, alert_policy, "2026-10") == []


def test_two_rounds_at_once_fire_each_alert_once(plant, make_uow, alert_policy):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: run(make_uow, alert_policy, NOW), range(4)))
    late = alerts(make_uow, "late_start")
    assert len(late) == 1 and len(cards(make_uow, late[0].id)) == 1
