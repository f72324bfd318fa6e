"""The board's rows on the demo plant, as data: which rows there are, how they filter and sort."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from domain.demo import load_demo_plant
from domain.models import Operation, Person, SalesOrder, WorkOrder
from domain.policy import PlantPolicy
from domain.services.board import LIVE, BoardFilters, build_board
from domain.vocab import OrderStatus

TODAY = date(2026, 11, 25)


@pytest.fixture
def demo(make_uow, policy: PlantPolicy):
    with make_uow() as uow:
        load_demo_plant(uow, today=TODAY, policy=policy)
        uow.commit()
    return make_uow


def board(uow, policy: PlantPolicy, **kw):
    return build_board(uow, today=TODAY, tz=policy.tz, **kw)


def test_the_workshop_filter_goes_by_the_workshops_a_work_order_passes_through(demo, policy):
    with demo() as uow:
        everything = board(uow, policy)
        # Every work order starts in 注塑车间; trimming, packing and QC happen downstream.
        assert {"注塑车间", "后加工车间", "质检部"} <= set(everything.options["workshops"])
        qc = board(uow, policy, filters=BoardFilters(workshop="质检部"))
        live_through_qc = set(uow.session.scalars(
            select(WorkOrder.code).join(Operation, Operation.work_order_id == WorkOrder.id)
            .where(Operation.workshop == "质检部", WorkOrder.status.in_(LIVE))))
        assert qc.rows and {r.work_order for r in qc.rows if r.work_order} <= live_through_qc
        assert all("质检部" in r.workshops for r in qc.rows)
        # The same rows a person of 质检部 is shown: filter and scope agree.
        inspector = uow.session.scalar(select(Person).where(Person.workshop == "质检部"))
        scoped = board(uow, policy, viewer=inspector)
        assert [r.work_order for r in scoped.rows] == [r.work_order for r in qc.rows]


def test_every_open_order_has_a_row_even_before_scheduling_and_after_production(demo, policy):
    with demo() as uow:
        open_orders = {o.bill_no: o for o in uow.session.scalars(
            select(SalesOrder).where(SalesOrder.status == OrderStatus.OPEN))}
        b = board(uow, policy)
        assert {r.bill_no for r in b.rows} == set(open_orders)
        assert len({r.key for r in b.rows}) == len(b.rows) == b.counts["total"]

        received = board(uow, policy, filters=BoardFilters(stage="接单"))
        assert received.rows and all(not r.work_order and not r.finished for r in received.rows)
        first = received.rows[0]
        line = next(ln for ln in open_orders[first.bill_no].lines if ln.entry_id == first.line_no)
        assert (first.planned_qty, first.done_qty, first.due_date) == (line.qty, 0, line.due_date.isoformat())
        assert board(uow, policy, filters=BoardFilters(stage="评审")).rows

        stocked = board(uow, policy, filters=BoardFilters(stage="入库")).rows
        assert stocked and all(not r.work_order and r.finished and r.percent == 100 for r in stocked)
        # Made but past due and not shipped: late, and as urgent as any late work order.
        overdue = [r for r in stocked if r.days_to_due < 0]
        assert overdue and all(r.late and r.status == "late" for r in overdue)
        order = [r.key for r in b.rows]
        assert max(order.index(r.key) for r in overdue) < min(i for i, r in enumerate(b.rows) if not r.late)

        # A workshop's people see the lines their workshop made, not the ones nobody has scheduled.
        moulder = uow.session.scalar(select(Person).where(Person.workshop == "注塑车间"))
        scoped = board(uow, policy, viewer=moulder).rows
        assert {r.key for r in stocked} <= {r.key for r in scoped}
        assert not {r.key for r in received.rows} & {r.key for r in scoped}
