"""The claim is a lease: a pending key is taken again once it has run out, by exactly one of the callers
racing for it; a finished reply is kept for the full TTL and never taken."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.dedup import DatabaseDedup, RedisDedup
from tests.conftest import flush_keeping_claim


@pytest.fixture(params=["database", "redis"])
def store(request, session_factory):
    if request.param == "database":
        yield DatabaseDedup(session_factory, ttl=600, lease=1)
        return
    import redis

    client = redis.Redis.from_url(request.getfixturevalue("redis_test_url"))
    flush_keeping_claim(client)
    yield RedisDedup(client, ttl=600, lease=1)
    flush_keeping_claim(client)
    client.close()


def test_a_stranded_claim_is_taken_again_after_its_lease_by_one_caller(store):
    assert store.claim("msg:1") is None
    seen = store.claim("msg:1")
    assert seen is not None and seen.running  # the first run may still be alive
    time.sleep(1.2)  # past the 1 s lease: its process is taken to be dead
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: store.claim("msg:1"), range(4)))
    assert sum(r is None for r in results) == 1  # one re-claimer runs it; the others see it running
    store.store("msg:1", "<xml>reply</xml>")
    time.sleep(1.2)
    seen = store.claim("msg:1")
    assert seen is not None and seen.reply == "<xml>reply</xml>"  # a finished reply outlives the lease


def test_a_released_claim_is_free_at_once_but_a_reply_is_not_released(store):
    assert store.claim("msg:2") is None
    store.release("msg:2")
    assert store.claim("msg:2") is None
    store.store("msg:2", "<xml>done</xml>")
    store.release("msg:2")
    assert store.claim("msg:2").reply == "<xml>done</xml>"


def test_a_claim_made_in_the_database_while_redis_was_away_is_finished_there(session_factory, redis_test_url):
    """Claimed during an outage, answered after Redis came back: the reply must end the database's claim, or
    it stays pending there (seen in the soak as a stranded claim) and the reply is lost for a repeat."""
    import redis

    from bot.breaker import Breaker
    from bot.dedup import FallbackDedup

    client = redis.Redis.from_url(redis_test_url)
    flush_keeping_claim(client)
    now = [0.0]
    breaker = Breaker("Redis", "the database dedup", cooldown=5, clock=lambda: now[0])
    database = DatabaseDedup(session_factory, ttl=600, lease=60)
    dedup = FallbackDedup(RedisDedup(client, ttl=600, lease=60), database, breaker)
    breaker.failed(ConnectionError("Redis went away"))
    assert dedup.claim("msg:9") is None  # in the database: the breaker is open
    now[0] = 10.0
    breaker.succeeded()  # Redis is back before the handler answers
    dedup.store("msg:9", "<xml>answered</xml>")
    seen = database.claim("msg:9")
    assert seen is not None and seen.reply == "<xml>answered</xml>"  # not left pending in the database
    assert not client.exists("wecom:seen:msg:9")
    flush_keeping_claim(client)
    client.close()
