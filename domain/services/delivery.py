"""Messages WeCom accepted but did not deliver to everyone: kept per message and recipient, and read back as
the people who cannot receive messages, for the administrator's daily notice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain.models import Person, UndeliveredMessage
from domain.uow import UnitOfWork
from domain.vocab import Undelivered


def record_undelivered(uow: UnitOfWork, *, msgid: str, msgtype: str,
                       recipients: Iterable[tuple[str, Undelivered]], at: datetime) -> int:
    """Keep who a message did not reach; a recipient already kept for this message is not kept again.
    Returns how many rows are new."""
    added = 0
    for recipient, reason in recipients:
        try:
            with uow.session.begin_nested():
                uow.session.add(UndeliveredMessage(msgid=msgid[:128], recipient=recipient[:64], reason=reason,
                                                   msgtype=msgtype[:30], at=at))
        except IntegrityError:
            continue
        added += 1
    return added


@dataclass(frozen=True)
class UnreachablePerson:
    userid: str
    name: str | None  # None: not on the plant's list (an id typed somewhere, or a party)
    reason: Undelivered  # what WeCom said the last time
    messages: int
    last_at: datetime


def unreachable_since(uow: UnitOfWork, since: datetime) -> list[UnreachablePerson]:
    """Each recipient not reached since `since`, with WeCom's latest reason, most messages missed first."""
    rows = uow.session.execute(
        select(UndeliveredMessage.recipient, UndeliveredMessage.reason, UndeliveredMessage.at)
        .where(UndeliveredMessage.at >= since)
        .order_by(UndeliveredMessage.at, UndeliveredMessage.id)
    ).all()
    latest: dict[str, tuple[Undelivered, datetime]] = {}
    counts: dict[str, int] = {}
    for recipient, reason, at in rows:
        latest[recipient] = (reason, at)
        counts[recipient] = counts.get(recipient, 0) + 1
    if not latest:
        return []
    names: dict[str, str] = dict(uow.session.execute(
        select(func.lower(Person.userid), Person.name).where(func.lower(Person.userid).in_([r.lower() for r in latest]))
    ).all())
    people = [UnreachablePerson(userid=r, name=names.get(r.lower()), reason=latest[r][0], messages=counts[r],
                                last_at=latest[r][1]) for r in latest]
    return sorted(people, key=lambda p: (-p.messages, p.userid))
