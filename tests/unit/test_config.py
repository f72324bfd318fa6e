"""Settings: a malformed variable is refused at start-up with a message naming it."""

from __future__ import annotations

import logging

import pytest

from bot.observability import JsonFormatter, configure_logging
from factorybot.config import ConfigError, Settings


def refused(**values: object) -> str:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(**values)
    return str(info.value)


@pytest.mark.parametrize("url", ["notaurl", "localhost:6379", "http://127.0.0.1:6379/0", "redis://h:port/0",
                                 "redis://127.0.0.1:6379/zero", "redis://127.0.0.1:6379/0 ", "unix://"])
def test_a_malformed_redis_url_is_refused_naming_it(url):
    message = refused(redis_url=url)
    assert "REDIS_URL" in message and ("redis://127.0.0.1:6379/0" in message or "unix://" in message)
    assert "Value error" not in message


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "redis://:secret@redis.plant.lan:6380", "redis://",
                                 "rediss://cache.plant.lan:6379/2", "unix:///run/redis/redis.sock"])
def test_redis_urls_redis_py_accepts_are_accepted(url):
    assert Settings.from_env(redis_url=url).redis_url == url


def test_an_empty_redis_url_means_no_redis():
    assert Settings.from_env(redis_url="").redis_url is None


@pytest.mark.parametrize("corp_id", ["wx5823bf96d3bd56c7", "ww0123456789abcdef", "wwfakecorp0001"])
def test_corp_ids_of_both_generations_are_accepted(corp_id):
    assert Settings.from_env(wecom_corp_id=corp_id).wecom_corp_id == corp_id


@pytest.mark.parametrize(("corp_id", "says"), [
    ("", "must not be empty"), ("   ", "must not be empty"), ("ww0123456789abcdef ", "spaces"),
    ("ww0123 456789abcdef", "spaces"), ("ww0123456789abcdef\n", "spaces"), ("0123456789abcdef", "企业ID"),
    ('"ww0123456789abcdef"', "企业ID"),
])
def test_a_blank_or_misshapen_corp_id_is_refused(corp_id, says):
    message = refused(wecom_corp_id=corp_id)
    assert "WECOM_CORP_ID" in message and says in message


@pytest.mark.parametrize("token", ["", " ", "abc def", "abc\n"])
def test_a_blank_token_or_one_with_spaces_is_refused(token):
    assert "WECOM_TOKEN" in refused(wecom_token=token)


def test_log_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("LOG_FORMAT", "text")
    settings = Settings.from_env()
    assert (settings.log_level, settings.log_format) == ("DEBUG", "text")
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    message = refused()
    assert "LOG_LEVEL" in message and "LOG_FORMAT" in message


@pytest.fixture
def configure():
    """configure_logging on a root logger not yet configured; returns (root, the handler it added)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, getattr(root, "_factorybot_configured", False))
    root._factorybot_configured = False  # type: ignore[attr-defined]

    def run(*args: str) -> tuple[logging.Logger, logging.Handler]:
        configure_logging(*args)
        (added,) = [h for h in root.handlers if h not in saved[0]]
        return root, added

    yield run
    root.handlers, root.level = saved[0], saved[1]
    root._factorybot_configured = saved[2]  # type: ignore[attr-defined]


def test_logging_is_configured_from_the_values_given(configure, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")  # the environment is the entry point's to read, not this function's
    root, handler = configure("WARNING", "text")
    assert root.level == logging.WARNING and not isinstance(handler.formatter, JsonFormatter)


def test_logging_defaults_to_json_at_info(configure, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    root, handler = configure()
    assert root.level == logging.INFO and isinstance(handler.formatter, JsonFormatter)
