"""A real app (real crypto, real routing, real database) with callbacks signed like WeCom's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import xmltodict

from bot.app import create_app
from bot.queue import RecordingQueue
from bot.wecom.crypto import WeComCrypto
from bot.wecom.simulate import CallbackBuilder
from domain.uow import UnitOfWork
from factorybot.config import Settings
from tests.factories import add_order, small_plant

TOKEN = "factorybotTestToken"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP_ID = "wwfakecorp0001"
SECRET = "fake-secret-0123456789"
AGENT_ID = 1000002


def make_settings(db_url: str, api_base: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "redis_url": None,
        "wecom_corp_id": CORP_ID,
        "wecom_agent_id": AGENT_ID,
        "wecom_secret": SECRET,
        "wecom_token": TOKEN,
        "wecom_aes_key": AES_KEY,
        "wecom_api_base": api_base,
    }
    return Settings(**{**values, **extra})


@dataclass
class BotHarness:
    app: Any
    client: Any
    queue: RecordingQueue
    builder: CallbackBuilder
    crypto: WeComCrypto

    def post(self, plain_xml: str, *, repeat_of: Any = None) -> Any:
        signed = repeat_of or self.builder.sign(plain_xml)
        return self.client.post("/wecom/callback", query_string=signed.query, data=signed.body), signed

    def say(self, userid: str, text: str) -> str:
        """Send a text as `userid`; return the reply text (or '' for an empty body)."""
        return self.reply_text(self.post(self.builder.text(userid, text))[0])

    def reply(self, resp: Any) -> dict[str, Any]:
        assert resp.status_code == 200, resp.data
        if not resp.data:
            return {}
        return xmltodict.parse(self.crypto.open_reply(resp.get_data(as_text=True)))["xml"]

    def reply_text(self, resp: Any) -> str:
        return self.reply(resp).get("Content", "")


@pytest.fixture
def plant_db(make_uow) -> None:
    with make_uow() as uow:
        small_plant(uow)
        for i in range(2, 15):
            add_order(uow, bill_no=f"SEORD0000{i:02d}", customer="小熊电器股份有限公司", wo_code=f"WO20261125-{i:02d}")
        uow.commit()


@pytest.fixture
def harness(db_url, plant_db, fake_wecom) -> BotHarness:
    queue = RecordingQueue()
    app = create_app(make_settings(db_url, fake_wecom.url), queue=queue)
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    return BotHarness(app, app.test_client(), queue, CallbackBuilder(crypto, CORP_ID, AGENT_ID), crypto)


def uow_for(harness: BotHarness) -> UnitOfWork:
    return harness.app.extensions["bot"].runtime.uow()
