"""A label key rotation: labels printed with the previous key scan until LABEL_KEY_PREVIOUS_UNTIL, then a
worker is told to get the label reprinted. Real encrypted callbacks into a real app; real settings parsing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import create_app
from bot.queue import RecordingQueue
from domain import qr_payload
from factorybot.config import ConfigError, Settings
from tests.bot.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN, BotHarness, make_settings
from wecom.crypto import WeComCrypto
from wecom.simulate import CallbackBuilder

WO = "WO20261125-01"
OLD, NEW = "label-key-before-2026-12", "label-key-from-2026-12"


def _bot(db_url, fake_wecom, **labels) -> BotHarness:
    app = create_app(make_settings(db_url, fake_wecom.url, **labels), queue=RecordingQueue())
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    return BotHarness(app, app.test_client(), RecordingQueue(), CallbackBuilder(crypto, CORP_ID, AGENT_ID), crypto)


def _scan(bot: BotHarness, payload: str) -> str:
    return bot.reply_text(bot.post(bot.builder.scan("w1", payload))[0])


def _today(bot: BotHarness):
    deps = bot.app.extensions["bot"]
    return deps.runtime.policy.work_day(deps.core.clock())


def _rotated(db_url, fake_wecom, until_days: int) -> BotHarness:
    probe = _bot(db_url, fake_wecom, label_key=NEW)
    return _bot(db_url, fake_wecom, label_key=NEW, label_key_previous=OLD,
                label_key_previous_until=_today(probe) + timedelta(days=until_days))


def test_old_and_new_labels_both_scan_until_the_previous_key_expires(db_url, plant_db, fake_wecom):
    bot = _rotated(db_url, fake_wecom, until_days=0)  # today is the last day of the old key
    assert _scan(bot, qr_payload.encode(WO, OLD.encode())).startswith(f"已识别工单 {WO}（注塑）")
    assert _scan(bot, qr_payload.encode(WO, NEW.encode())).startswith(f"已识别工单 {WO}（注塑）")


def test_after_that_day_an_old_label_asks_for_a_reprint(db_url, plant_db, fake_wecom):
    bot = _rotated(db_url, fake_wecom, until_days=-1)
    until = _today(bot) - timedelta(days=1)
    assert _scan(bot, qr_payload.encode(WO, OLD.encode())) == (
        f"该工单标签使用的是已停用的旧标签密钥（{until} 后不再有效），请找班组长重新打印本工单的标签后再扫码。")
    assert _scan(bot, qr_payload.encode(WO, NEW.encode())).startswith(f"已识别工单 {WO}（注塑）")
    # A key the plant never had is still a forgery, not an old label.
    assert _scan(bot, qr_payload.encode(WO, b"some-other-plant-key")) == qr_payload.FORGED


def test_without_the_previous_key_configured_an_old_label_is_refused(db_url, plant_db, fake_wecom):
    bot = _bot(db_url, fake_wecom, label_key=NEW)
    assert _scan(bot, qr_payload.encode(WO, OLD.encode())) == qr_payload.FORGED


@pytest.mark.parametrize(("env", "line"), [
    ({"LABEL_KEY": NEW, "LABEL_KEY_PREVIOUS": OLD},
     "LABEL_KEY_PREVIOUS_UNTIL: must be set with LABEL_KEY_PREVIOUS: the last day old labels are accepted, "
     "e.g. 2027-01-31"),
    ({"LABEL_KEY": NEW, "LABEL_KEY_PREVIOUS_UNTIL": "2027-01-31"},
     "LABEL_KEY_PREVIOUS_UNTIL: is set but LABEL_KEY_PREVIOUS is not: give the previous key, or unset both"),
    ({"LABEL_KEY": NEW, "LABEL_KEY_PREVIOUS": NEW, "LABEL_KEY_PREVIOUS_UNTIL": "2027-01-31"},
     "LABEL_KEY_PREVIOUS_UNTIL: LABEL_KEY_PREVIOUS is the same as LABEL_KEY: give the key used before the rotation"),
    ({"LABEL_KEY": NEW, "LABEL_KEY_PREVIOUS": OLD, "LABEL_KEY_PREVIOUS_UNTIL": "2027-02-30"},
     "LABEL_KEY_PREVIOUS_UNTIL: Input should be a valid date or datetime, day value is outside expected range"),
    ({"LABEL_KEY": "short key"},
     "LABEL_KEY: must be at least 12 characters without spaces, e.g. the output of `openssl rand -base64 24`"),
])
def test_a_bad_rotation_setting_stops_start_up_naming_the_variable(monkeypatch, env, line):
    for name in ("LABEL_KEY", "LABEL_KEY_PREVIOUS", "LABEL_KEY_PREVIOUS_UNTIL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        Settings.from_env()
    assert str(err.value).splitlines()[1:] == [f"  {line}"]
