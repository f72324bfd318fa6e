"""Where a floor exception goes the moment it is opened.

First routing only: the managers of the workshop it happened in hear of it at once, the operations
managers when that workshop has none. Alert cards, acknowledgement, escalation and repair tickets build
on this in the alerts issue.
"""

from __future__ import annotations

from sqlalchemy import select

from domain.models import Person
from domain.services.exceptions import ExceptionResult
from domain.services.people import workshop_managers
from domain.uow import UnitOfWork
from domain.vocab import Role


def exception_recipients(uow: UnitOfWork, exc: ExceptionResult) -> list[str]:
    found = workshop_managers(uow, exc.workshop)
    if found:
        return found
    people = uow.session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.userid)).all()
    return [p.userid for p in people if p.has_role(Role.OPS_MANAGER)]


def exception_notice(exc: ExceptionResult, description: str = "") -> str:
    where = f"工单 {exc.work_order_code}" if exc.work_order_code else "未关联工单"
    machine = f" · 机台 {exc.machine}" if exc.machine else ""
    lines = [f"【异常 #{exc.id}】{exc.type}", f"{exc.workshop or '未分配车间'} · {where}{machine}",
             f"报告人：{exc.reporter}"]
    if description:
        lines.append(f"说明：{description}")
    lines.append("现场照片随后由报告人发送。")
    return "\n".join(lines)
