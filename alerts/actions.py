"""认领 / 已处理 / 转维修 on an alert card, recorded with who and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from alerts import repair
from alerts.cards import can_repair
from alerts.policy import AlertPolicy
from alerts.rules import EXCEPTION
from domain.errors import DomainError, NotAllowed, NotFound
from domain.models import Alert, AlertCard, Person, ShopException
from domain.services import handling
from domain.services.exceptions import acknowledge_exception, close_exception
from domain.services.people import active_person
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus, ExceptionStatus, Role

MANAGERS = (Role.OPS_MANAGER, Role.ADMIN)


@dataclass(frozen=True)
class ActionResult:
    alert_id: int
    status: str
    changed: bool
    message: str


def _load(uow: UnitOfWork, alert_id: int, userid: str) -> tuple[Alert, Person]:
    person = active_person(uow, userid)
    alert = uow.session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise NotFound(f"预警 #{alert_id} 不存在。")
    told = {u for row in uow.session.scalars(select(AlertCard.userids).where(AlertCard.alert_id == alert_id))
            for u in row.split("|")}
    if userid not in told and not person.has_role(*MANAGERS):
        raise NotAllowed(f"预警 #{alert_id} 不是发给您的，不能处理。")
    return alert, person


def _exception_of(uow: UnitOfWork, alert: Alert) -> ShopException | None:
    if alert.rule != EXCEPTION or not alert.subject_key.startswith("exc:"):
        return None
    return uow.session.get(ShopException, int(alert.subject_key.split(":", 1)[1]))


def acknowledge(uow: UnitOfWork, *, alert_id: int, userid: str, now: datetime) -> ActionResult:
    alert, person = _load(uow, alert_id, userid)
    if not handling.acknowledge(alert, person_id=person.id, now=now):
        return ActionResult(alert.id, alert.status, False, f"预警 #{alert.id} 已被处理或认领。")
    exc = _exception_of(uow, alert)
    if exc is not None and exc.status == ExceptionStatus.OPEN:
        acknowledge_exception(uow, exception_id=exc.id, userid=userid, now=now)
    uow.flush()
    return ActionResult(alert.id, alert.status, True, f"已认领预警 #{alert.id}。")


def close(uow: UnitOfWork, *, alert_id: int, userid: str, now: datetime, resolution: str = "已处理") -> ActionResult:
    alert, person = _load(uow, alert_id, userid)
    if not handling.close(alert, person_id=person.id, now=now, resolution=resolution):
        return ActionResult(alert.id, alert.status, False, f"预警 #{alert.id} 已关闭。")
    exc = _exception_of(uow, alert)
    if exc is not None and resolution != "转维修":  # a repair ticket closes the exception when it is done
        close_exception(uow, exception_id=exc.id, userid=userid, now=now, resolution=resolution)
    uow.flush()
    return ActionResult(alert.id, alert.status, True, f"预警 #{alert.id} 已关闭（{resolution}）。")


def to_repair(uow: UnitOfWork, policy: AlertPolicy, *, alert_id: int, userid: str, now: datetime) -> ActionResult:
    alert, _ = _load(uow, alert_id, userid)
    if alert.status == AlertStatus.CLOSED:
        return ActionResult(alert.id, alert.status, False, f"预警 #{alert.id} 已关闭。")
    if not can_repair(alert):
        if alert.rule == EXCEPTION:
            raise DomainError(f"预警 #{alert.id} 没有关联机台，无法转维修。")
        raise DomainError(f"预警 #{alert.id} 不是设备故障，无法转维修。")
    machine = str(alert.facts.get("机台"))
    exc = _exception_of(uow, alert)
    ticket = repair.open_ticket(uow, policy, machine=machine, workshop=alert.workshop, now=now,
                                exception_id=exc.id if exc else None, requested_by=userid)
    joined = ticket.opened_at < now  # the press already had a repair open: this one joins it
    close(uow, alert_id=alert_id, userid=userid, now=now, resolution="转维修")
    tech = uow.session.get(Person, ticket.technician_id) if ticket.technician_id else None
    who = f"已派给 {tech.name}" if tech else "暂无空闲技术员，稍后自动派单"
    verb = "已并入进行中的维修工单" if joined else "已开维修工单"
    return ActionResult(alert.id, AlertStatus.CLOSED, True, f"{verb} #{ticket.id}（{machine}），{who}。")
