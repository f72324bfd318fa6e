"""KIS 同步失败 through the engine: the pure rule over the jobs' recorded outcomes (sync_state), in every
alert round, to the admin role; fires, holds one alert, clears on success, fires again on a new failure."""

from __future__ import annotations

from datetime import timedelta

from alerts import actions, rules
from domain.vocab import AlertStatus
from kis import state as sync_state
from tests.alerts.test_alert_lifecycle import alerts, cards, run
from tests.factories import NOW


def record(make_uow, at, *, ok: bool, job: str = sync_state.PULL, reason: str = "无法连接 KIS 数据库：超时"):
    with make_uow() as uow:
        if ok:
            sync_state.record_ok(uow, job, at, "新订单 2 单")
        else:
            sync_state.record_failure(uow, job, at, reason)
        uow.commit()


def test_a_failed_kis_pull_fires_once_for_the_admin_clears_on_success_and_fires_again(plant, make_uow, alert_policy):
    record(make_uow, NOW, ok=False)
    run(make_uow, alert_policy, NOW)
    [failed] = alerts(make_uow, rules.KIS_PULL_FAILED)
    assert (failed.subject_key, failed.status, failed.title) == (
        "kis:pull", AlertStatus.OPEN, "KIS 订单同步失败：无法连接 KIS 数据库：超时")
    assert cards(make_uow, failed.id) == [(0, "admin")]  # a system problem: the administrator's

    record(make_uow, NOW + timedelta(minutes=5), ok=False)
    run(make_uow, alert_policy, NOW + timedelta(minutes=5))
    [failed] = alerts(make_uow, rules.KIS_PULL_FAILED)  # failing again refreshes the one alert
    assert failed.facts["连续失败"] == "2 次" and len(cards(make_uow, failed.id)) == 1

    record(make_uow, NOW + timedelta(minutes=10), ok=True)
    run(make_uow, alert_policy, NOW + timedelta(minutes=10))
    [failed] = alerts(make_uow, rules.KIS_PULL_FAILED)
    assert (failed.status, failed.resolution) == (AlertStatus.CLOSED, "条件已解除")

    record(make_uow, NOW + timedelta(hours=1), ok=False, reason="KIS 拒绝登录")
    run(make_uow, alert_policy, NOW + timedelta(hours=1))
    first, again = alerts(make_uow, rules.KIS_PULL_FAILED)
    assert again.status == AlertStatus.OPEN and again.title == "KIS 订单同步失败：KIS 拒绝登录"
    assert again.facts["连续失败"] == "1 次"


def test_a_kis_failure_the_admin_closed_stays_quiet_until_a_run_succeeds(plant, make_uow, alert_policy):
    record(make_uow, NOW, ok=False, job=sync_state.PUSH)
    run(make_uow, alert_policy, NOW)
    [failed] = alerts(make_uow, rules.KIS_PUSH_FAILED)
    with make_uow() as uow:
        actions.close(uow, alert_id=failed.id, userid="admin", now=NOW + timedelta(minutes=1))
        uow.commit()
    record(make_uow, NOW + timedelta(minutes=2), ok=False, job=sync_state.PUSH)
    run(make_uow, alert_policy, NOW + timedelta(minutes=2))
    assert len(alerts(make_uow, rules.KIS_PUSH_FAILED)) == 1
    record(make_uow, NOW + timedelta(minutes=3), ok=True, job=sync_state.PUSH)
    run(make_uow, alert_policy, NOW + timedelta(minutes=3))
    record(make_uow, NOW + timedelta(minutes=4), ok=False, job=sync_state.PUSH)
    run(make_uow, alert_policy, NOW + timedelta(minutes=4))
    first, again = alerts(make_uow, rules.KIS_PUSH_FAILED)
    assert first.resolution == "已处理，条件已解除" and again.status == AlertStatus.OPEN


def test_the_rule_knows_the_kis_jobs_by_the_names_kis_records_them_under():
    assert set(rules.KIS_JOBS) == {sync_state.PULL, sync_state.PUSH}
