"""report_work's rule for many reports at once, on work orders already loaded: for builders (the demo plant)
that replay thousands of reports and cannot afford report_work's per-report queries and row locks.

It is the same rule, not a copy: every step is one of report_work's own (domain/services/reporting.py):
the checks, the operation chosen, its room, the rows and what follows the count.
Nothing here reads the database: the caller loads the work orders with their operations, lines and orders,
and inserts the returned rows in bulk. Not for chat: no row lock, no duplicate check by source key.
"""

from __future__ import annotations

from datetime import date, datetime

from domain.models import Person, WorkOrder
from domain.policy import PlantPolicy
from domain.services.reporting import (
    DayWork,
    ReportRows,
    _choose_operation,
    after_count,
    check_open,
    check_quantities,
    check_room,
    report_rows,
)
from domain.uow import UnitOfWork


def count_report(
    uow: UnitOfWork,
    policy: PlantPolicy,
    wo: WorkOrder,
    person: Person,
    *,
    operation_name: str,
    good_qty: int,
    defect_qty: int,
    source_key: str,
    now: datetime,
    days: dict[tuple[int, date], DayWork],
) -> ReportRows:
    """Count one report on a loaded work order as report_work would, or raise its DomainError.

    days: each person's production days counted so far (for points), kept by the caller across reports; the
    builder starts from an empty store, so it is all there is."""
    check_quantities(good_qty, defect_qty)
    check_open(wo)
    op = _choose_operation(wo, person, operation_name)
    check_room(wo, op, policy, good_qty, defect_qty)
    # In memory: the caller's bulk update writes the totals (report_work's conditional UPDATE guards a race
    # that a single builder does not have).
    op.good_qty += good_qty
    op.defect_qty += defect_qty
    after_count(uow, wo, op, now)
    day = days.setdefault((person.id, policy.calendar.shift_of(now).day), DayWork())
    return report_rows(policy, wo, op, person, good_qty=good_qty, defect_qty=defect_qty, source_key=source_key,
                       now=now, day=day)
