"""Who hears of an alert: the rule's roles at first (workshop roles scoped to the alert's workshop), then
one step up the escalation chain at a time. Nobody found is never the answer: it falls back upwards."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from alerts.policy import AlertPolicy
from domain.models import Person
from domain.uow import UnitOfWork
from domain.vocab import Role

# Roles that belong to a workshop; the others are plant-wide.
WORKSHOP_ROLES = frozenset({Role.WORKER, Role.TEAM_LEAD, Role.SUPERVISOR, Role.TECHNICIAN})
FALLBACK = (Role.OPS_MANAGER, Role.ADMIN)


def people_with(uow: UnitOfWork, roles: Iterable[str], workshop: str | None) -> list[str]:
    roles = tuple(roles)
    people = uow.session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.userid)).all()
    out = []
    for p in people:
        for role in roles:
            if p.has_role(role) and (role not in WORKSHOP_ROLES or workshop is None or p.workshop == workshop):
                out.append(p.userid)
                break
    return out


def recipients(uow: UnitOfWork, policy: AlertPolicy, *, rule: str, workshop: str | None, level: int) -> list[str]:
    roles = policy.route(rule) if level == 0 else policy.level_roles(level)
    found = people_with(uow, roles, workshop)
    for role in FALLBACK:
        if found:
            break
        found = people_with(uow, (role,), None)
    return found
