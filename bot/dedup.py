"""Seen-callback stores: a repeated WeCom delivery gets the first reply back and runs nothing.

Redis when configured (shared by every process); otherwise a table in our own database. The same stores
keep which parts of a deferred task's output were sent, so a retried task sends none of them twice.

A claim is a lease, not a promise: a process killed mid-handler leaves its key pending, and once the lease
runs out (DEDUP_LEASE_SECONDS) the next delivery claims it again and runs the work; the work is idempotent
by its source key (the message id), so running it twice still counts once. Only a finished run's reply is
kept for the full DEDUP_TTL_SECONDS.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from redis.exceptions import RedisError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.breaker import Breaker
from domain.models import ProcessedMessage

T = TypeVar("T")

PENDING = "\x00pending"
SENT = "sent"  # PostgreSQL text cannot hold the NUL of PENDING
# A task is retried for minutes at most (backoff, WeCom's throttling); its sent parts are kept longer.
SENT_TTL_SECONDS = 86400


def sent_part_key(task_key: str, index: int) -> str:
    """The record of part `index` (0, 1, …) of what the task for delivery `task_key` sends; bounded length."""
    return f"sent:{hashlib.sha1(task_key.encode()).hexdigest()[:24]}:{index}"


class Seen:
    """A repeat of a delivery: `reply` is the first run's plaintext XML, or None while that run holds its lease."""

    def __init__(self, reply: str | None) -> None:
        self.reply = reply

    @property
    def running(self) -> bool:
        return self.reply is None


class StillRunning(Exception):
    """A repeat arrived while the first run still holds its lease: answer so that WeCom asks again."""


class DedupStore(Protocol):
    def claim(self, key: str) -> Seen | None: ...
    def store(self, key: str, reply_xml: str) -> None: ...
    def release(self, key: str) -> None: ...
    def was_sent(self, key: str) -> bool: ...
    def mark_sent(self, key: str) -> None: ...


# Delete a key only while it is still our pending claim (a finished reply is never dropped).
_RELEASE_PENDING = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class RedisDedup:
    """The pending claim expires by itself after the lease (SET NX EX), so re-claiming is Redis's own SET NX."""

    def __init__(self, redis: Any, ttl: int, prefix: str = "wecom:seen:", lease: int = 10) -> None:
        self.redis, self.ttl, self.prefix, self.lease = redis, ttl, prefix, lease

    def claim(self, key: str) -> Seen | None:
        if self.redis.set(self.prefix + key, PENDING, nx=True, ex=self.lease):
            return None
        value = self.redis.get(self.prefix + key)
        if value is None:  # the lease ran out between the two calls: try once more
            return None if self.redis.set(self.prefix + key, PENDING, nx=True, ex=self.lease) else Seen(None)
        value = value.decode() if isinstance(value, bytes) else value
        return Seen(None if value == PENDING else value)

    def store(self, key: str, reply_xml: str) -> None:
        self.redis.set(self.prefix + key, reply_xml, ex=self.ttl)

    def release(self, key: str) -> None:
        self.redis.eval(_RELEASE_PENDING, 1, self.prefix + key, PENDING)

    def was_sent(self, key: str) -> bool:
        return bool(self.redis.exists(self.prefix + key))

    def mark_sent(self, key: str) -> None:
        self.redis.set(self.prefix + key, SENT, ex=max(self.ttl, SENT_TTL_SECONDS))


class DatabaseDedup:
    """Claims in their own short transaction so the claim is visible to other processes at once."""

    def __init__(self, session_factory: sessionmaker[Session], ttl: int, lease: int = 10) -> None:
        self.factory, self.ttl, self.lease = session_factory, ttl, lease
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
                if reply is not None:
                    return Seen(reply)
                # Pending: ours again only if its lease ran out; the condition makes one re-claimer win.
                taken = session.execute(
                    update(ProcessedMessage)
                    .where(ProcessedMessage.key == key, ProcessedMessage.reply_xml.is_(None),
                           ProcessedMessage.created_at < now - timedelta(seconds=self.lease))
                    .values(created_at=now)
                )
                session.commit()
                return None if taken.rowcount == 1 else Seen(None)  # type: ignore[attr-defined]
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

    def release(self, key: str) -> None:
        with self.factory() as session:
            session.execute(delete(ProcessedMessage).where(ProcessedMessage.key == key,
                                                           ProcessedMessage.reply_xml.is_(None)))
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


class FallbackDedup:
    """Redis while it answers, our database while it does not: a callback is never dropped for Redis's sake.

    The Redis client has short timeouts (DEDUP_REDIS_TIMEOUT_SECONDS) and the breaker skips it for a few
    seconds after a failure, so an outage costs one short wait per cooldown, not one per callback. A delivery
    claimed in one store and repeated in the other runs again; its work is idempotent by its source key."""

    # Claims made in the database, finished there even if Redis is back by then; bounded, since a claim whose
    # process died is never finished here (its lease runs out in the database instead).
    MAX_DATABASE_CLAIMS = 10_000

    def __init__(self, redis: RedisDedup, database: DatabaseDedup, breaker: Breaker) -> None:
        self.redis, self.database, self.breaker = redis, database, breaker
        self._in_database: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def _claimed_in_database(self, key: str) -> Seen | None:
        seen = self.database.claim(key)
        if seen is None:
            with self._lock:
                self._in_database[key] = None
                while len(self._in_database) > self.MAX_DATABASE_CLAIMS:
                    self._in_database.popitem(last=False)
        return seen

    def _finishes_in_database(self, key: str) -> bool:
        with self._lock:
            if key not in self._in_database:
                return False
            del self._in_database[key]
            return True

    def _call(self, on_redis: Callable[[], T], on_database: Callable[[], T]) -> T:
        if self.breaker.allow():
            try:
                result = on_redis()
            except RedisError as exc:
                self.breaker.failed(exc)
            else:
                self.breaker.succeeded()
                return result
        return on_database()

    def probe(self) -> None:
        """Ping Redis now, cooldown or not (for /readyz, which also ends the fallback as soon as Redis is back)."""
        try:
            self.redis.redis.ping()
        except RedisError as exc:
            self.breaker.failed(exc)
        else:
            self.breaker.succeeded()

    def claim(self, key: str) -> Seen | None:
        return self._call(lambda: self.redis.claim(key), lambda: self._claimed_in_database(key))

    # A reply goes to the store that holds the claim: a claim made in the database while Redis was away and
    # finished after it came back would otherwise stay pending there.
    def store(self, key: str, reply_xml: str) -> None:
        if self._finishes_in_database(key):
            self.database.store(key, reply_xml)
            return
        self._call(lambda: self.redis.store(key, reply_xml), lambda: self.database.store(key, reply_xml))

    def release(self, key: str) -> None:
        if self._finishes_in_database(key):
            self.database.release(key)
            return
        self._call(lambda: self.redis.release(key), lambda: self.database.release(key))

    def was_sent(self, key: str) -> bool:
        return self._call(lambda: self.redis.was_sent(key), lambda: self.database.was_sent(key))

    def mark_sent(self, key: str) -> None:
        self._call(lambda: self.redis.mark_sent(key), lambda: self.database.mark_sent(key))
