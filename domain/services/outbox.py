"""The outbox of outgoing WeCom messages: rows written with the change that caused them.

Only writing and looking after rows here; bot/outbox.py sends them. A row's `key` is its cause's own key
(an alert card's task id, a callback's dedup key with the part's index…): queueing it again adds nothing,
so a retried task or a repeated callback cannot send a message twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from domain.models import Notice
from domain.uow import UnitOfWork
from domain.vocab import NoticeState

ACTIVE = (NoticeState.PENDING, NoticeState.SENDING)


def queue_message(uow: UnitOfWork, userids: Iterable[str], now: datetime, *, text: str | None = None,
                  card: Mapping[str, Any] | None = None, response_code: str | None = None,
                  alert_card_id: int | None = None, key: str | None = None) -> Notice | None:
    """Add one message to the outbox in the caller's transaction (None: nobody to send it to).

    With `response_code` it is an update of a card already sent: the new `card`, or `text` as the
    replaced button's name."""
    users = sorted(set(u for u in userids if u))
    if not users or (card is None and not text):
        return None
    if key is not None:
        existing = uow.session.scalar(select(Notice).where(Notice.key == key))
        if existing is not None:
            return existing  # the same cause again (a retried task, a repeated callback): already queued
    notice = Notice(key=key, userids="|".join(users), text=text, card=dict(card) if card is not None else None,
                    response_code=response_code, alert_card_id=alert_card_id, created_at=now,
                    state=NoticeState.PENDING, attempts=0)
    uow.session.add(notice)
    return notice


@dataclass(frozen=True)
class NoticeLine:
    id: int
    state: str
    userids: str
    what: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


def _what(n: Notice) -> str:
    if n.response_code is not None:
        return "更新卡片" + (f"：{n.text}" if n.text else "")
    if n.card is not None:
        title = (n.card.get("main_title") or {}).get("title") if isinstance(n.card, dict) else None
        return f"卡片：{title or n.card.get('card_type', '')}"
    return (n.text or "").replace("\n", " ")[:40]


def list_notices(uow: UnitOfWork, states: Sequence[NoticeState] = (), limit: int = 50) -> list[NoticeLine]:
    """The newest rows first, of the given states (all when none)."""
    query = select(Notice).order_by(Notice.id.desc()).limit(limit)
    if states:
        query = query.where(Notice.state.in_(states))
    return [NoticeLine(n.id, str(n.state), n.userids, _what(n), n.attempts, n.created_at, n.sent_at,
                       n.last_error) for n in uow.session.scalars(query)]


def state_counts(uow: UnitOfWork) -> dict[str, int]:
    counts = {str(s): 0 for s in NoticeState}
    for state, n in uow.session.execute(select(Notice.state, func.count()).group_by(Notice.state)):
        counts[str(state)] = n
    return counts


def retry_failed(uow: UnitOfWork, ids: Sequence[int] = (), *, all_failed: bool = False) -> list[int]:
    """Put failed rows back to pending with a fresh retry window; returns the ids. Only failed rows: a sent
    one is never resent from here."""
    if not ids and not all_failed:
        return []
    query = select(Notice.id).where(Notice.state == NoticeState.FAILED).order_by(Notice.id)
    if ids:
        query = query.where(Notice.id.in_(list(ids)))
    found = list(uow.session.scalars(query))
    if found:
        uow.session.execute(
            update(Notice).where(Notice.id.in_(found), Notice.state == NoticeState.FAILED)
            .values(state=NoticeState.PENDING, next_attempt_at=None, claimed_at=None, first_attempt_at=None)
            .execution_options(synchronize_session=False))
    return found
