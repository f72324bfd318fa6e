"""The board's rows on the demo plant, as data: which rows there are, how they filter and sort."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from domain.demo import load_demo_plant
from domain.models import Alert, Operation, Person, SalesOrder, ShopException, WorkOrder
from domain.policy import PlantPolicy
from domain.services.board import LIVE, BoardFilters, build_board
from domain.vocab import AlertStatus, OrderStatus

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


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
        # Made past due and not shipped: late, and as urgent as any late work order; made by the due date
        # and waiting to ship: not late (the chat's and the monthly report's rule, domain/services/on_time).
        finished = dict(uow.session.execute(select(WorkOrder.code, WorkOrder.finished_at)
                                            .where(WorkOrder.code.in_([c for r in stocked for c in r.finished]))).all())
        made_late = {r.key for r in stocked if r.days_to_due < 0 and date.fromisoformat(r.due_date)
                     < max(finished[c].astimezone(policy.tz).date() for c in r.finished)}
        overdue = [r for r in stocked if r.key in made_late]
        assert overdue and all(r.late and r.status == "late" for r in overdue)
        assert all(not r.late for r in stocked if r.key not in made_late)
        order = [r.key for r in b.rows]
        assert max(order.index(r.key) for r in overdue) < min(i for i, r in enumerate(b.rows) if not r.late)

        # A workshop's people see the lines their workshop made, not the ones nobody has scheduled.
        moulder = uow.session.scalar(select(Person).where(Person.workshop == "注塑车间"))
        scoped = board(uow, policy, viewer=moulder).rows
        assert {r.key for r in stocked} <= {r.key for r in scoped}
        assert not {r.key for r in received.rows} & {r.key for r in scoped}


def _alert(uow, rule: str, subject: str, *, facts=None, status=AlertStatus.OPEN) -> None:
    uow.session.add(Alert(rule=rule, subject_key=subject, title=subject, facts=facts or {}, status=status, level=0,
                          fired_at=NOW, closed_at=NOW if status == AlertStatus.CLOSED else None))
    uow.flush()


def test_alerts_are_counted_on_the_rows_of_their_work_order_or_order(demo, policy):
    with demo() as uow:
        rows = board(uow, policy).rows
        live = next(r for r in rows if r.work_order and not r.exceptions)
        other = next(r for r in rows if r.work_order and r.bill_no != live.bill_no)
        made = next(r for r in rows if r.finished and r.bill_no not in (live.bill_no, other.bill_no))
        waiting = next(r for r in rows if not r.work_order and not r.finished)
        exc_wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == other.work_order))
        exc = ShopException(source_key="t-exc", work_order=exc_wo, reporter_id=1, type="缺料", opened_at=NOW)
        uow.session.add(exc)
        uow.flush()
        _alert(uow, "late_start", f"wo:{live.work_order}")
        _alert(uow, "defect_streak", "defect:mould:M-X", facts={"模具": "M-X", "工单": live.work_order})
        _alert(uow, "late_forecast", f"forecast:{live.bill_no}:late")
        _alert(uow, "exception_open", f"exc:{exc.id}", facts={"工单": other.work_order})  # counted once
        _alert(uow, "late_forecast", f"forecast:{made.bill_no}:at_risk")
        _alert(uow, "kis_pull_failed", f"order:{waiting.bill_no}")
        _alert(uow, "plan_behind", "plan:注塑车间:2026-11-25")  # a workshop's, on no row
        _alert(uow, "late_start", f"wo:{other.work_order}", status=AlertStatus.CLOSED)  # handled: not counted

        after = {r.key: r for r in board(uow, policy).rows}
        assert after[live.key].alerts == 3
        assert after[other.key].alerts == 1
        assert after[made.key].alerts == 1 and after[waiting.key].alerts == 1
        assert sum(1 for r in after.values() if r.alerts) == board(uow, policy).counts["alert"]
        # A row with an alert in force sorts before the quiet rows of its kind.
        order = list(after)
        quiet_ok = [i for i, r in enumerate(after.values()) if r.status == "ok" and not r.alerts]
        assert order.index(waiting.key) < min(quiet_ok)
