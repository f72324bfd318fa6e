"""The demo's bulk path (report_batch.count_report) counts exactly as report_work does: same operations
done, same work order and stage, same refusals, for one sequence of reports on two identical work orders."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from domain.errors import DomainError
from domain.models import Person, WorkOrder
from domain.services.report_batch import count_report
from domain.services.reporting import report_work
from domain.vocab import Stage
from tests.factories import NOW, add_order, add_people

WHO = {"注塑": "w1", "修边": "t1", "质检": "q1", "包装": "t1"}
# (operation, good, defect): over-reports and a report on a done step included; the last one finishes it.
REPORTS = (
    ("注塑", 600, 12), ("修边", 300, 3), ("修边", 400, 0), ("注塑", 420, 5), ("注塑", 10, 0), ("修边", 710, 7),
    ("质检", 500, 2), ("质检", 600, 0), ("包装", 300, 0), ("质检", 505, 3), ("包装", 800, 0), ("包装", 705, 0),
)


def _state(wo: WorkOrder) -> tuple[object, ...]:
    ops = tuple((o.good_qty, o.defect_qty, o.status, o.started_at, o.finished_at) for o in wo.operations)
    return ops, wo.status, wo.started_at, wo.finished_at, Stage(wo.line.order.stage)


def test_count_report_counts_and_refuses_as_report_work(make_uow, policy) -> None:
    with make_uow() as uow:
        add_people(uow)
        add_order(uow, bill_no="SEORD000001", wo_code="WO20261125-01")
        add_order(uow, bill_no="SEORD000002", wo_code="WO20261125-02")
        uow.commit()
    outcomes: list[tuple[str, str]] = []
    days: dict = {}  # the batch's running points per person and day, as the demo builder keeps them
    for n, (op, good, defect) in enumerate(REPORTS):
        now = NOW + timedelta(minutes=10 * n)
        with make_uow() as uow:
            try:
                real = report_work(uow, policy, work_order_code="WO20261125-01", userid=WHO[op], good_qty=good,
                                   defect_qty=defect, source_key=f"k{n}", now=now, operation_name=op)
                real_says = f"ok {real.points_earned}"
            except DomainError as exc:
                real_says = str(exc)
            uow.commit()
        with make_uow() as uow:
            wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == "WO20261125-02"))
            person = uow.session.scalar(select(Person).where(Person.userid == WHO[op]))
            assert wo is not None and person is not None
            try:
                counted = count_report(uow, policy, wo, person, operation_name=op, good_qty=good,
                                       defect_qty=defect, source_key=f"b{n}", now=now, days=days)
                batch_says = f"ok {counted.report['points']}"
            except DomainError as exc:
                batch_says = str(exc)
            uow.commit()
        outcomes.append((real_says, batch_says.replace("WO20261125-02", "WO20261125-01")))
    assert [r for r, _ in outcomes] == [b for _, b in outcomes]
    assert sum(1 for r, _ in outcomes if not r.startswith("ok")) >= 3  # the refusals were exercised too
    with make_uow() as uow:
        real_wo, batch_wo = (uow.session.scalar(select(WorkOrder).where(WorkOrder.code == code))
                             for code in ("WO20261125-01", "WO20261125-02"))
        assert real_wo is not None and batch_wo is not None
        assert _state(real_wo) == _state(batch_wo)
        assert Stage(real_wo.line.order.stage) == Stage.STOCKED
