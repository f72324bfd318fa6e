"""The demo plant has no KIS: `factorybot demo` records one failed pull that says so, and the alert round
turns it into a KIS 同步失败 alert for the admin; with KIS_ODBC set nothing is staged."""

from __future__ import annotations

from sqlalchemy import select

from alerts.tick import tick
from domain.models import Alert, Handover, Notice, SyncState
from factorybot.config import Settings
from factorybot.demo_cmd import DEMO_NO_KIS, ensure_demo_plant
from factorybot.runtime import Runtime


def test_the_demo_without_kis_shows_a_kis_failure_alert_that_says_why(tmp_path):
    rt = Runtime.build(Settings(database_url=f"sqlite:///{tmp_path}/demo.db"))
    assert "已记录一次演示用的 KIS 订单同步失败" in ensure_demo_plant(rt)
    with rt.uow() as uow:
        result = tick(uow, rt.alert_policy, rt.now())
        uow.commit()
    assert result.evaluation.by_rule.get("kis_pull_failed") == 1
    with rt.uow() as uow:
        [alert] = uow.session.scalars(select(Alert).where(Alert.rule == "kis_pull_failed")).all()
        assert alert.facts["原因"] == DEMO_NO_KIS and "演示" in alert.title
    rt.engine.dispose()


def test_the_demo_with_kis_configured_stages_nothing(tmp_path):
    rt = Runtime.build(Settings(database_url=f"sqlite:///{tmp_path}/demo.db",
                                kis_odbc=f"Driver=SQLite3;Database={tmp_path}/kis.db"))
    ensure_demo_plant(rt)
    with rt.uow() as uow:
        assert uow.session.scalars(select(SyncState)).all() == []
    rt.engine.dispose()


def test_the_demo_has_the_last_shift_change_s_handover_waiting_for_the_lead_on_duty(tmp_path):
    rt = Runtime.build(Settings(database_url=f"sqlite:///{tmp_path}/demo.db"))
    ensure_demo_plant(rt)
    ended = rt.alert_policy.plant.previous_shift(rt.now())
    assert ended is not None
    with rt.uow() as uow:
        [row] = uow.session.scalars(select(Handover)).all()
        [notice] = uow.session.scalars(select(Notice).where(Notice.key == f"handover_card:{row.id}")).all()
        # The shift that ended last, handed from its crew's lead to the next crew's: 甲班 陈杰 ↔ 乙班 黄伟.
        assert (row.day, row.shift) == (ended.day, ended.name)
        assert {row.outgoing_lead, row.incoming_lead} == {"chenjie", "huangwei"}
        assert set(notice.userids.split("|")) == {"chenjie", "huangwei"}
    rt.engine.dispose()
