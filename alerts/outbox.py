"""Notices: messages written with the change that caused them, sent by whichever process is running.

Sending claims a row first (a conditional UPDATE), so two senders never send the same notice; a transient
WeCom failure puts the row back for the next round, a permanent one is kept with its reason, never dropped.
A person over WeCom's per-member quota only holds up their own messages: the round goes on with the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.wecom.client import WeComClient
from bot.wecom.errors import Throttled, TransientError, WeComAPIError
from domain.models import AlertCard, Notice
from domain.uow import UnitOfWork

log = logging.getLogger(__name__)


def queue_text(uow: UnitOfWork, userids: Iterable[str], text: str, now: datetime) -> Notice | None:
    users = sorted(set(userids))
    if not users:
        return None
    notice = Notice(userids="|".join(users), text=text, created_at=now)
    uow.session.add(notice)
    return notice


def queue_card(uow: UnitOfWork, userids: Iterable[str], card: Mapping[str, Any], now: datetime,
               alert_card_id: int | None = None) -> Notice | None:
    users = sorted(set(userids))
    if not users:
        return None
    notice = Notice(userids="|".join(users), card=dict(card), alert_card_id=alert_card_id, created_at=now)
    uow.session.add(notice)
    return notice


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    waiting: int  # put back after a transient failure, or skipped behind a throttled person: the next round


def _members(userids: str) -> set[str]:
    return {u.lower() for u in userids.split("|") if u}  # WeCom userids are case-insensitive, as the quota is


def deliver(session_factory: sessionmaker[Session], client: WeComClient, now: Callable[[], datetime],
            limit: int = 200) -> DeliveryReport:
    with UnitOfWork(session_factory) as uow:
        rows = list(uow.session.execute(
            select(Notice.id, Notice.userids).where(Notice.sent_at.is_(None)).order_by(Notice.id).limit(limit)))
    sent = failed = waiting = 0
    # People over their quota this round. Their later notices wait too, so each person's messages keep their
    # order. The client refuses a group send whole without saying which member is over, so a throttled group
    # send holds back all of its members until the next round.
    throttled: set[str] = set()
    for i, (notice_id, userids) in enumerate(rows):
        if _members(userids) & throttled:
            waiting += 1
            continue
        with UnitOfWork(session_factory) as uow:
            claimed = uow.session.execute(
                update(Notice).where(Notice.id == notice_id, Notice.sent_at.is_(None)).values(sent_at=now())
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if not claimed:
                continue  # another sender took it
            notice = uow.session.get(Notice, notice_id)
            assert notice is not None
            # Committed before the send: no transaction (on SQLite, the write lock) is held while WeCom answers,
            # and the client's record of recipients it did not reach can be written meanwhile.
            uow.commit()
            users = notice.userids.split("|")
            try:
                if notice.card is not None:
                    result = client.send_card(users, notice.card)
                    if notice.alert_card_id is not None:
                        card_row = uow.session.get(AlertCard, notice.alert_card_id)
                        if card_row is not None:
                            card_row.response_code = result.get("response_code") or None
                            card_row.sent_at = now()
                else:
                    client.send_text(users, notice.text or "")
                sent += 1
            except TransientError as exc:
                # Put it back: the next round (seconds or minutes away) sends it.
                notice.sent_at = None
                notice.attempts += 1
                notice.last_error = str(exc)[:300]
                uow.commit()
                log.warning("notice %s not sent yet: %s", notice_id, exc)
                if isinstance(exc, Throttled):
                    throttled |= _members(notice.userids)
                    waiting += 1
                    continue
                # WeCom itself is failing (busy, down, unreachable): the rest would fail the same way.
                return DeliveryReport(sent, failed, waiting + len(rows) - i)
            except WeComAPIError as exc:
                notice.attempts += 1
                notice.last_error = str(exc)[:300]
                failed += 1
                log.error("notice %s refused by WeCom, kept with its reason: %s", notice_id, exc)
            uow.commit()
    return DeliveryReport(sent, failed, waiting)
