"""Who hears of an alert: the rule's roles at first (workshop roles scoped to the alert's workshop), then
one step up the escalation chain at a time. Nobody found is never the answer: it falls back upwards.

Only people on duty are asked (the plant calendar's on_duty: a crew member while the crew's shift runs,
anyone in no crew at any time), so on a plant without crews nothing changes. With crews, the team leads
of the alert's workshop who are on shift hear of it first too: the night lead, not the day lead, at 02:00.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from alerts.policy import AlertPolicy
from domain.models import Person
from domain.uow import UnitOfWork
from domain.vocab import Role

# Roles that belong to a workshop; the others are plant-wide.
WORKSHOP_ROLES = frozenset({Role.WORKER, Role.TEAM_LEAD, Role.SUPERVISOR, Role.TECHNICIAN})
FALLBACK = (Role.OPS_MANAGER, Role.ADMIN)


def people_with(uow: UnitOfWork, roles: Iterable[str], workshop: str | None, *,
                on_duty_at: datetime | None = None, policy: AlertPolicy | None = None) -> list[str]:
    """Active people with one of the roles; with on_duty_at (and the policy's calendar), those on duty then."""
    roles = tuple(roles)
    people = uow.session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.userid)).all()
    calendar = policy.plant if policy is not None and on_duty_at is not None else None
    out = []
    for p in people:
        if calendar is not None and on_duty_at is not None and not calendar.on_duty(p.userid, on_duty_at):
            continue
        for role in roles:
            if p.has_role(role) and (role not in WORKSHOP_ROLES or workshop is None or p.workshop == workshop):
                out.append(p.userid)
                break
    return out


def leads_on_duty(uow: UnitOfWork, policy: AlertPolicy, workshop: str | None, now: datetime) -> list[str]:
    """The team leads of a workshop on shift now, when the plant has crews (else none: as before crews)."""
    if workshop is None or not policy.plant.crews:
        return []
    return people_with(uow, (Role.TEAM_LEAD,), workshop, on_duty_at=now, policy=policy)


def recipients(uow: UnitOfWork, policy: AlertPolicy, *, rule: str, workshop: str | None, level: int,
               now: datetime | None = None) -> list[str]:
    roles = policy.route(rule) if level == 0 else policy.level_roles(level)
    found = people_with(uow, roles, workshop, on_duty_at=now, policy=policy)
    if level == 0 and now is not None:
        found += [u for u in leads_on_duty(uow, policy, workshop, now) if u not in found]
    for role in FALLBACK:
        if found:
            break
        found = people_with(uow, (role,), None, on_duty_at=now, policy=policy)
    if not found and now is not None:
        # Everyone upwards is in a crew that is off shift: wake one rather than tell nobody.
        for role in FALLBACK:
            found = found or people_with(uow, (role,), None)
    return found
