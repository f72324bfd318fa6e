"""Rest days and holidays (REST_DAYS, HOLIDAYS: the forecast's shift calendar): nobody is on the floor, so
no late start or plan checkpoint fires, the chain does not climb and no shift ends with a reminder."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from domain.vocab import AlertStatus
from tests.alerts.test_alert_lifecycle import alerts, cards, run
from tests.factories import NOW, TODAY

DAY = timedelta(days=1)


def closed_on(policy, *days: date):
    cal = replace(policy.forecast.calendar, holidays=frozenset(days))
    return replace(policy, forecast=replace(policy.forecast, calendar=cal))


def test_no_late_start_or_plan_checkpoint_fires_on_a_holiday(plant, make_uow, alert_policy):
    closed = closed_on(alert_policy, TODAY)  # the work order was planned to start at 08:00, nothing is made
    for hours in (0, 1, 5, 9, 10, 11):  # 10:00 … 21:00: the checkpoints and the shift's end pass
        run(make_uow, closed, NOW + timedelta(hours=hours))
    assert alerts(make_uow, "late_start") == [] and alerts(make_uow, "plan_behind") == []
    run(make_uow, alert_policy, NOW + timedelta(hours=1))  # the same day as a working day: both would fire
    assert len(alerts(make_uow, "late_start")) == len(alerts(make_uow, "plan_behind")) == 1


def test_a_work_order_planned_on_a_holiday_is_late_only_once_the_next_shift_has_begun(
        plant, make_uow, alert_policy):
    closed = closed_on(alert_policy, TODAY)
    run(make_uow, closed, NOW)
    next_morning = NOW + DAY - timedelta(hours=2)  # 08:00 tomorrow
    run(make_uow, closed, next_morning + timedelta(minutes=30))
    assert alerts(make_uow, "late_start") == []
    run(make_uow, closed, next_morning + timedelta(minutes=31))
    assert [a.subject_key for a in alerts(make_uow, "late_start")] == ["wo:WO20261125-01"]


def test_on_a_holiday_open_alerts_stay_and_neither_climb_nor_get_reminded(plant, make_uow, alert_policy):
    closed = closed_on(alert_policy, TODAY + DAY)
    run(make_uow, closed, NOW)  # a working day: the late start fires
    [late] = alerts(make_uow, "late_start")
    for at in (NOW + DAY, NOW + DAY + timedelta(minutes=20), NOW + DAY + timedelta(hours=10, minutes=30)):
        run(make_uow, closed, at)  # the holiday: 10:00, 10:20, 20:30
    [late] = alerts(make_uow, "late_start")
    assert late.status == AlertStatus.OPEN and late.level == 0  # still true, kept, not cleared
    assert cards(make_uow, late.id) == [(0, "ops|sup")]
    run(make_uow, closed, NOW + 2 * DAY)  # back at work: the chain moves on
    [late] = alerts(make_uow, "late_start")
    assert late.level == 1  # to the ops manager, who has the card already: no second one
