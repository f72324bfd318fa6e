"""Whose alerts are whose: what `预警` lists for a person, and who may act on an alert from its card.

A person may act on an alert when its card went to them, or they manage the plant (ops manager, admin), or
they lead the alert's workshop (team lead, supervisor), or, for 维修工单未响应, they are a technician the
ticket was sent to or who may repair its press (TECHNICIAN_MACHINES; no list: any press of their workshop).
The reporter of an exception sees its alert and its state (for a day after it closed, so "转维修" or
"已处理" is seen), but acting on it is for the people above.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from alerts.policy import AlertPolicy
from alerts.rules import EXCEPTION, REPAIR_UNANSWERED
from domain.models import Alert, AlertCard, Person, RepairTicket, ShopException
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus, Role

MANAGERS = (Role.OPS_MANAGER, Role.ADMIN)
WORKSHOP_LEADS = (Role.TEAM_LEAD, Role.SUPERVISOR)
# How long the reporter of an exception still sees its closed alert in the list.
REPORTER_SEES_CLOSED = timedelta(hours=24)


@dataclass(frozen=True)
class Seen:
    alert: Alert
    may_act: bool


def _told(uow: UnitOfWork, alert_ids: list[int]) -> dict[int, set[str]]:
    told: dict[int, set[str]] = {}
    if not alert_ids:
        return told
    for alert_id, users in uow.session.execute(
            select(AlertCard.alert_id, AlertCard.userids).where(AlertCard.alert_id.in_(alert_ids))):
        told.setdefault(alert_id, set()).update(users.split("|"))
    return told


def _subject_id(alert: Alert, prefix: str) -> int | None:
    if not alert.subject_key.startswith(prefix):
        return None
    try:
        return int(alert.subject_key[len(prefix):])
    except ValueError:
        return None


def _tickets(uow: UnitOfWork, alerts: list[Alert]) -> dict[int, RepairTicket]:
    ids = [i for a in alerts if a.rule == REPAIR_UNANSWERED and (i := _subject_id(a, "repair:")) is not None]
    if not ids:
        return {}
    return {t.id: t for t in uow.session.scalars(select(RepairTicket).where(RepairTicket.id.in_(ids)))}


def _reported(uow: UnitOfWork, person: Person) -> set[str]:
    """The subject keys of the exceptions this person reported."""
    return {f"exc:{i}" for i in uow.session.scalars(
        select(ShopException.id).where(ShopException.reporter_id == person.id))}


def _technician_may(policy: AlertPolicy, person: Person, ticket: RepairTicket | None) -> bool:
    if ticket is None or not person.has_role(Role.TECHNICIAN):
        return False
    if ticket.technician_id == person.id or person.userid in ticket.tried_userids.split("|"):
        return True
    if person.userid in policy.technician_machines:
        return ticket.machine is not None and policy.qualified(person.userid, ticket.machine)
    return person.workshop is None or ticket.workshop is None or ticket.workshop == person.workshop


def _answers(policy: AlertPolicy, person: Person, alert: Alert, told: set[str],
             tickets: dict[int, RepairTicket]) -> bool:
    """The alert is this person's to answer: its card went to them, it is their workshop's, or its repair."""
    if person.userid in told:
        return True
    if person.has_role(*WORKSHOP_LEADS) and person.workshop and alert.workshop == person.workshop:
        return True
    if alert.rule == REPAIR_UNANSWERED:
        ticket_id = _subject_id(alert, "repair:")
        return _technician_may(policy, person, tickets.get(ticket_id) if ticket_id is not None else None)
    return False


def seen_by(uow: UnitOfWork, policy: AlertPolicy, person: Person, now: datetime) -> list[Seen]:
    """What `预警` lists for this person: open alerts first, newest first, then the closed alerts of the
    exceptions they reported (closed within REPORTER_SEES_CLOSED)."""
    reported = _reported(uow, person)
    wanted = Alert.status != AlertStatus.CLOSED
    if reported:
        wanted = or_(wanted, (Alert.rule == EXCEPTION) & Alert.subject_key.in_(reported)
                     & (Alert.closed_at >= now - REPORTER_SEES_CLOSED))
    alerts = list(uow.session.scalars(select(Alert).where(wanted).order_by(Alert.fired_at.desc(), Alert.id.desc())))
    told = _told(uow, [a.id for a in alerts])
    tickets = _tickets(uow, alerts)
    out: list[Seen] = []
    for a in alerts:
        users = told.get(a.id, set())
        answers = a.status != AlertStatus.CLOSED and _answers(policy, person, a, users, tickets)
        # A manager may act on any alert but lists only those sent to them: the list is what is theirs.
        if answers or (a.rule == EXCEPTION and a.subject_key in reported):
            out.append(Seen(a, answers or (a.status != AlertStatus.CLOSED and person.has_role(*MANAGERS))))
    out.sort(key=lambda s: s.alert.status == AlertStatus.CLOSED)  # stable: newest first within each part
    return out


def may_act(uow: UnitOfWork, policy: AlertPolicy, person: Person, alert: Alert) -> bool:
    """Whether this person may be sent the alert's card to 认领 / 已处理 it."""
    if person.has_role(*MANAGERS):
        return True
    told = _told(uow, [alert.id]).get(alert.id, set())
    return _answers(policy, person, alert, told, _tickets(uow, [alert]))


def reported_by(uow: UnitOfWork, person: Person, alert: Alert) -> bool:
    return alert.rule == EXCEPTION and alert.subject_key in _reported(uow, person)
