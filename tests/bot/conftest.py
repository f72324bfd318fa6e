"""A real app (real crypto, real routing, real database) with callbacks signed like WeCom's."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import xmltodict

from alerts.tick import tick
from bot.app import create_app
from bot.queue import RecordingQueue
from domain.uow import UnitOfWork
from factorybot.config import Settings
from tests.factories import add_order, small_plant
from wecom.crypto import WeComCrypto
from wecom.simulate import CallbackBuilder

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


def set_clock(harness: BotHarness, moment: datetime) -> None:
    """The bot's clock stands at `moment` (callbacks and their handlers see it)."""
    harness.app.extensions["bot"].core.clock = lambda: moment


def run_round(harness: BotHarness, moment: datetime, *, deliveries: int = 1) -> None:
    """A scheduled alert round at `moment` (the clock moved there), committed, then the outbox sent."""
    set_clock(harness, moment)
    with uow_for(harness) as uow:
        tick(uow, harness.app.extensions["bot"].runtime.alert_policy, moment)
        uow.commit()
    for _ in range(deliveries):
        harness.queue.tasks["alerts.deliver"]()


LABEL_KEY = "test-label-key"
_CLOCK_LOCK = threading.Lock()


class SyncQueue:
    """The in-process queue's task functions run at once in this thread: real delivery, no timing games."""

    def __init__(self) -> None:
        self.tasks: dict[str, Any] = {}
        self.names: list[str] = []

    def enqueue(self, name: str, **kwargs: Any) -> None:
        self.names.append(name)
        self.tasks[name](**kwargs)


@dataclass
class LiveHarness(BotHarness):
    """A bot whose active messages really go to the fake WeCom over HTTP, as in production."""

    fake: Any = None
    _clock: Any = None

    def event_time(self) -> int:
        """A new second per event: WeCom's retries share CreateTime, so two real scans must not."""
        with _CLOCK_LOCK:
            if self._clock is None:
                self._clock = itertools.count(int(time.time()))
            return next(self._clock)

    def sent(self, userid: str, msgtype: str) -> list[dict[str, Any]]:
        return [c["json"][msgtype] for c in self.fake.calls(userid=userid, path="message/send")
                if c.get("errcode") == 0 and c["json"].get("msgtype") == msgtype]

    def texts(self, userid: str) -> list[str]:
        return [t["content"] for t in self.sent(userid, "text")]

    def cards(self, userid: str) -> list[dict[str, Any]]:
        return self.sent(userid, "template_card")

    def scan(self, userid: str, payload: str) -> tuple[str, dict[str, Any] | None]:
        """Scan a QR: the passive reply and the card that came with it (if any)."""
        before = len(self.cards(userid))
        text = self.reply_text(self.post(self.builder.scan(userid, payload, create_time=self.event_time()))[0])
        cards = self.cards(userid)
        return text, (cards[-1] if len(cards) > before else None)

    def tap(self, userid: str, card: dict[str, Any], button_text_prefix: str) -> Any:
        button = next(b for b in card["button_list"] if b["text"].startswith(button_text_prefix))
        code = self.fake.response_code(userid, card["task_id"])
        resp, _ = self.post(self.builder.card_click(userid, button["key"], card["task_id"], code,
                                                   create_time=self.event_time()))
        return resp


@pytest.fixture
def live(db_url, plant_db, fake_wecom, tmp_path) -> LiveHarness:
    from bot.tasks import TaskDeps, task_table

    fake_wecom.reset()
    queue = SyncQueue()
    settings = make_settings(db_url, fake_wecom.url, label_key=LABEL_KEY, media_dir=str(tmp_path / "media"),
                             wecom_oauth_base=fake_wecom.url)
    app = create_app(settings, queue=queue)
    deps = app.extensions["bot"]
    queue.tasks = task_table(TaskDeps(deps.core, deps.client, deps.runtime.alert_policy))
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    return LiveHarness(app, app.test_client(), queue, CallbackBuilder(crypto, CORP_ID, AGENT_ID), crypto,
                       fake=fake_wecom)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (Playwright cannot download its own browsers here)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


def serve_on_a_port(db_url: str, fake_wecom: Any):
    """A bot on a real port whose OAuth goes to the fake WeCom, as in the demo: (app, base url, stop)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{server.server_port}"
    settings = make_settings(db_url, fake_wecom.url, label_key=LABEL_KEY, public_url=base,
                             wecom_oauth_base=fake_wecom.url)
    app = create_app(settings, queue=RecordingQueue())
    server.app = app
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, base, server.shutdown
