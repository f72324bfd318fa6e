"""A test session takes a Redis database nobody uses, so a demo or another suite on the same server is safe."""

from __future__ import annotations

import redis

from tests.conftest import _claim_redis_db, flush_keeping_claim


def test_a_claimed_database_is_empty_and_not_taken_twice(redis_test_url):
    first_url, release_first = _claim_redis_db()
    second_url, release_second = _claim_redis_db()
    try:
        assert len({first_url, second_url, redis_test_url}) == 3  # each claim a database of its own
        other = redis.Redis.from_url(first_url)
        other.set("someone-elses-key", "kept")
        mine = redis.Redis.from_url(second_url)
        flush_keeping_claim(mine)
        assert other.get("someone-elses-key") == b"kept"  # flushing mine left theirs alone
        assert mine.dbsize() == 1  # only the claim itself survives a flush
        mine.close()
        other.close()
    finally:
        release_second()
        release_first()
    assert redis.Redis.from_url(first_url).dbsize() == 0  # a released claim leaves the database empty
