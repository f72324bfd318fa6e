from __future__ import annotations

import pytest

from tests.conftest import REQUIRE_SERVICES

REDIS_TEST_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def real_redis():
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required but unavailable: {exc}")
        pytest.skip(f"Redis unavailable: {exc}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
