"""The board's rows on the demo plant, as data: which rows there are, how they filter and sort."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from domain.demo import load_demo_plant
from domain.models import Operation, Person, WorkOrder
from domain.policy import PlantPolicy
from domain.services.board import LIVE, BoardFilters, build_board

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
