from __future__ import annotations

import pytest

from tests.conftest import REQUIRE_SERVICES, flush_keeping_claim


@pytest.fixture
def real_redis(redis_test_url):
    """The session's own Redis database (see tests/conftest.py), emptied before and after each test."""
    import redis

    client = redis.Redis.from_url(redis_test_url)
    try:
        client.ping()
    except redis.RedisError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required but unavailable: {exc}")
        pytest.skip(f"Redis unavailable: {exc}")
    flush_keeping_claim(client)
    yield client
    flush_keeping_claim(client)
    client.close()
