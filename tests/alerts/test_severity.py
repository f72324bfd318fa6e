"""Executives hear of severe alerts only, and at night (quiet hours 22:00-07:00) of critical ones only: the
executive got 20 escalation cards at 23:30 (issue 18). A held alert waits a level below and climbs once
the quiet hours are over."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

from alerts.intake import exception_opened
from domain.services.exceptions import open_exception
from tests.alerts.test_alert_lifecycle import WO, alerts, card_notices, cards, run
from tests.factories import NOW

EVENING = NOW + timedelta(hours=13)  # 23:00 plant time, inside the quiet hours


def fault(make_uow, policy, alert_policy, kind: str, at, key: str) -> int:
    with make_uow() as uow:
        exc = open_exception(uow, policy, userid="w1", type=kind, source_key=key, now=at, work_order_code=WO,
                             description="液压油温过高")
        exception_opened(uow, alert_policy, exc.id, at)
        uow.commit()
    return next(a.id for a in alerts(make_uow, "exception") if a.subject_key == f"exc:{exc.id}")


def executive_cards(make_uow, alert_id: int) -> list[tuple[int, str]]:
    return [(lvl, users) for lvl, users in cards(make_uow, alert_id) if "boss" in users or "chief" in users]


def test_severity_is_given_as_the_alert_fires(plant, make_uow, alert_policy, policy):
    run(make_uow, alert_policy, NOW)
    severe = fault(make_uow, policy, alert_policy, "设备故障", NOW, "f1")
    normal = fault(make_uow, policy, alert_policy, "品质异常", NOW, "q1")
    by_id = {a.id: a for a in alerts(make_uow)}
    assert by_id[severe].severity == "severe" and by_id[normal].severity == "normal"
    assert {a.severity for a in alerts(make_uow, "late_start")} == {"normal"}
    # The card says so where a manager reads first.
    assert card_notices(make_uow, severe)[0]["main_title"]["title"] == f"【严重】【现场异常】#{severe}"
    assert card_notices(make_uow, normal)[0]["main_title"]["title"] == f"【现场异常】#{normal}"


def test_a_normal_alert_never_reaches_the_executives(plant, make_uow, alert_policy, policy):
    normal = fault(make_uow, policy, alert_policy, "品质异常", NOW, "q1")
    for minutes in (15, 30, 45, 60, 180):
        run(make_uow, alert_policy, NOW + timedelta(minutes=minutes))
    [alert] = [a for a in alerts(make_uow) if a.id == normal]
    assert alert.level == 1 and executive_cards(make_uow, normal) == []


def test_a_severe_alert_at_night_waits_for_the_morning_and_then_climbs_once(
        plant, make_uow, alert_policy, policy):
    severe = fault(make_uow, policy, alert_policy, "设备故障", EVENING, "f1")
    run(make_uow, alert_policy, EVENING + timedelta(minutes=15))  # 23:15: the ops manager's level
    run(make_uow, alert_policy, EVENING + timedelta(minutes=30))  # 23:30: the executives sleep
    run(make_uow, alert_policy, EVENING + timedelta(hours=7, minutes=59))  # 06:59
    assert executive_cards(make_uow, severe) == []
    assert next(a for a in alerts(make_uow) if a.id == severe).level == 1
    run(make_uow, alert_policy, EVENING + timedelta(hours=8))  # 07:00: the quiet hours are over
    run(make_uow, alert_policy, EVENING + timedelta(hours=8, minutes=20))
    run(make_uow, alert_policy, EVENING + timedelta(hours=9))
    assert executive_cards(make_uow, severe) == [(2, "boss|chief")]


def test_a_critical_alert_wakes_the_executives_at_night(plant, make_uow, alert_policy, policy):
    critical = replace(alert_policy, severity={**alert_policy.severity, "exception": "critical"})
    alert_id = fault(make_uow, policy, critical, "设备故障", EVENING, "f1")
    run(make_uow, critical, EVENING + timedelta(minutes=15))
    run(make_uow, critical, EVENING + timedelta(minutes=30))  # 23:30
    run(make_uow, critical, EVENING + timedelta(minutes=45))
    assert executive_cards(make_uow, alert_id) == [(2, "boss|chief")]
    assert card_notices(make_uow, alert_id)[-1]["main_title"]["title"] == f"【紧急】【现场异常】#{alert_id}"


def test_quiet_hours_can_be_switched_off_and_do_not_hold_a_severe_alert_by_day(
        plant, make_uow, alert_policy, policy):
    always = replace(alert_policy, quiet_hours=None)
    night = fault(make_uow, policy, always, "设备故障", EVENING, "f1")
    run(make_uow, always, EVENING + timedelta(minutes=15))
    run(make_uow, always, EVENING + timedelta(minutes=30))
    assert executive_cards(make_uow, night) == [(2, "boss|chief")]
    early = replace(alert_policy, quiet_hours=(time(0, 0), time(6, 0)))  # not crossing midnight
    day = fault(make_uow, policy, early, "设备故障", NOW, "f2")
    run(make_uow, early, NOW + timedelta(minutes=15))
    run(make_uow, early, NOW + timedelta(minutes=30))
    assert executive_cards(make_uow, day) == [(2, "boss|chief")]
