"""Questions the bot asked one person and waits for: the next plain text from them is the answer.

A question lives in the database (conversations), so the answer counts whichever web process or worker it
reaches and survives a restart; it lapses at expires_at (ten minutes by default), after which the same text
is read as what it would have been without the question (an order search, say). One per person: asking a
new question replaces the old one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from domain.models import Conversation
from domain.uow import UnitOfWork

DEFAULT_TTL = timedelta(minutes=10)
# Typed instead of an answer: the question is dropped and nothing is recorded.
CANCEL_WORDS = frozenset({"取消", "算了", "不用了", "cancel"})


@dataclass(frozen=True)
class Pending:
    userid: str
    kind: str
    subject: str
    data: Mapping[str, Any]
    started_at: datetime
    expires_at: datetime


def ask(uow: UnitOfWork, *, userid: str, kind: str, subject: str, now: datetime,
        ttl: timedelta = DEFAULT_TTL, data: Mapping[str, Any] | None = None) -> Pending:
    """Wait for this person's next text as the answer to `kind` about `subject` (replacing any question)."""
    row = uow.session.scalar(select(Conversation).where(Conversation.userid == userid))
    if row is None:
        row = Conversation(userid=userid)
        uow.session.add(row)
    row.kind, row.subject, row.data = kind, subject, dict(data or {})
    row.started_at, row.expires_at = now, now + ttl
    uow.session.flush()
    return _pending(row)


def pending(uow: UnitOfWork, userid: str, now: datetime) -> Pending | None:
    """The person's question still waiting for an answer, if any (an expired one is not)."""
    row = uow.session.scalar(select(Conversation).where(Conversation.userid == userid))
    if row is None or row.expires_at <= now:
        return None
    return _pending(row)


def finish(uow: UnitOfWork, userid: str, kind: str | None = None) -> bool:
    """The question was answered (or cancelled): the next text is read as usual. With `kind`, only that one."""
    stmt = delete(Conversation).where(Conversation.userid == userid)
    if kind is not None:
        stmt = stmt.where(Conversation.kind == kind)
    return bool(uow.session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def expired(uow: UnitOfWork, now: datetime, kind: str | None = None) -> list[Pending]:
    """Questions whose time ran out without an answer, oldest first (for a round that acts on silence)."""
    stmt = select(Conversation).where(Conversation.expires_at <= now).order_by(Conversation.expires_at)
    if kind is not None:
        stmt = stmt.where(Conversation.kind == kind)
    return [_pending(row) for row in uow.session.scalars(stmt)]


def is_cancel(text: str) -> bool:
    return text.strip().lower() in CANCEL_WORDS


def _pending(row: Conversation) -> Pending:
    return Pending(row.userid, row.kind, row.subject, dict(row.data or {}), row.started_at, row.expires_at)
