"""Seen-callback stores: a repeated WeCom delivery gets the first reply back and runs nothing.

Redis when configured (shared by every process); otherwise a table in our own database. The same stores
keep which parts of a deferred task's output were sent, so a retried task sends none of them twice.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from domain.models import ProcessedMessage

PENDING = "\x00pending"
SENT = "sent"  # PostgreSQL text cannot hold the NUL of PENDING
# A task is retried for minutes at most (backoff, WeCom's throttling); its sent parts are kept longer.
SENT_TTL_SECONDS = 86400


def sent_part_key(task_key: str, index: int) -> str:
    """The record of part `index` (0, 1, …) of what the task for delivery `task_key` sends; bounded length."""
    return f"sent:{hashlib.sha1(task_key.encode()).hexdigest()[:24]}:{index}"


class Seen:
    """A repeat of a delivery: `reply` is the first reply's plaintext XML, or '' while it is still running."""

    def __init__(self, reply: str) -> None:
        self.reply = reply


class DedupStore(Protocol):
    def claim(self, key: str) -> Seen | None: ...
    def store(self, key: str, reply_xml: str) -> None: ...
    def was_sent(self, key: str) -> bool: ...
    def mark_sent(self, key: str) -> None: ...


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

    def was_sent(self, key: str) -> bool:
        return bool(self.redis.exists(self.prefix + key))

    def mark_sent(self, key: str) -> None:
        self.redis.set(self.prefix + key, SENT, ex=max(self.ttl, SENT_TTL_SECONDS))


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

    def was_sent(self, key: str) -> bool:
        with self.factory() as session:
            return session.scalar(select(ProcessedMessage.key).where(ProcessedMessage.key == key)) is not None

    def mark_sent(self, key: str) -> None:
        # Rows go with the daily purge in claim(), like the seen callbacks.
        with self.factory() as session:
            try:
                session.add(ProcessedMessage(key=key, reply_xml=SENT, created_at=datetime.now(UTC)))
                session.commit()
            except IntegrityError:  # marked by an earlier attempt that then failed to say so
                session.rollback()
