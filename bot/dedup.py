"""Seen-callback stores: a repeated WeCom delivery gets the first reply back and runs nothing.

Redis when configured (shared by every process); otherwise a table in our own database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from domain.models import ProcessedMessage

PENDING = "\x00pending"


class Seen:
    """A repeat of a delivery: `reply` is the first reply's plaintext XML, or '' while it is still running."""

    def __init__(self, reply: str) -> None:
        self.reply = reply


class DedupStore(Protocol):
    def claim(self, key: str) -> Seen | None: ...
    def store(self, key: str, reply_xml: str) -> None: ...


class RedisDedup:
    def __init__(self, redis: Any, ttl: int, prefix: str = "wecom:seen:") -> None:
        self.redis, self.ttl, self.prefix = redis, ttl, prefix

    def claim(self, key: str) -> Seen | None:
        if self.redis.set(self.prefix + key, PENDING, nx=True, ex=self.ttl):
            return None
        value = self.redis.get(self.prefix + key)
        value = value.decode() if isinstance(value, bytes) else (value or "")
        return Seen("" if value == PENDING else value)

    def store(self, key: str, reply_xml: str) -> None:
        self.redis.set(self.prefix + key, reply_xml, ex=self.ttl)


class DatabaseDedup:
    """Claims in their own short transaction so the claim is visible to other processes at once."""

    def __init__(self, session_factory: sessionmaker[Session], ttl: int) -> None:
        self.factory, self.ttl = session_factory, ttl
        self._claims = 0

    def claim(self, key: str) -> Seen | None:
        now = datetime.now(UTC)
        with self.factory() as session:
            try:
                session.add(ProcessedMessage(key=key, reply_xml=None, created_at=now))
                session.commit()
            except IntegrityError:
                session.rollback()
                reply = session.scalar(select(ProcessedMessage.reply_xml).where(ProcessedMessage.key == key))
                return Seen(reply or "")
            self._claims += 1
            if self._claims % 500 == 0:  # keep the table small without a separate job
                # Keep a day: far longer than WeCom's retries, cheap to store.
                horizon = now - timedelta(seconds=max(self.ttl, 86400))
                session.execute(delete(ProcessedMessage).where(ProcessedMessage.created_at < horizon))
                session.commit()
        return None

    def store(self, key: str, reply_xml: str) -> None:
        with self.factory() as session:
            session.execute(update(ProcessedMessage).where(ProcessedMessage.key == key).values(reply_xml=reply_xml))
            session.commit()
