from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import DomainError
from domain.services.exceptions import acknowledge_exception, close_exception, open_exception
from tests.factories import NOW, small_plant


@pytest.fixture
def plant(make_uow):
    with make_uow() as uow:
        small_plant(uow)
        uow.commit()


def test_open_acknowledge_close_records_who_and_when(plant, make_uow, policy):
    with make_uow() as uow:
        opened = open_exception(uow, policy, userid="w1", type="设备故障", source_key="e1", now=NOW,
                                work_order_code="WO20261125-01", description="P01 液压泵漏油")
        again = open_exception(uow, policy, userid="w1", type="设备故障", source_key="e1", now=NOW)
        uow.commit()
    assert opened.status_label == "待处理" and opened.machine == "P01" and again.duplicate
    with make_uow() as uow:
        acked = acknowledge_exception(uow, exception_id=opened.id, userid="sup", now=NOW + timedelta(minutes=7))
        closed = close_exception(uow, exception_id=opened.id, userid="sup", now=NOW + timedelta(minutes=40),
                                 resolution="更换密封圈")
        uow.commit()
    assert acked.status_label == "处理中" and closed.status_label == "已关闭"
    with make_uow() as uow, pytest.raises(DomainError, match="已关闭"):
        acknowledge_exception(uow, exception_id=opened.id, userid="sup", now=NOW)


def test_unknown_type_is_refused(plant, make_uow, policy):
    with make_uow() as uow, pytest.raises(DomainError, match="可选：设备故障、材料不符"):
        open_exception(uow, policy, userid="w1", type="天气不好", source_key="e2", now=NOW)
