"""One unit-of-work shell for the callback, the mini-form and a task: reads take no write lock, a read that
writes fails loudly, and nothing slow (a media download, a PDF render) runs while a transaction is open."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError

from bot.app import create_app
from bot.handlers import exceptions as exceptions_handler
from bot.handlers import labels as labels_handler
from bot.queue import RecordingQueue
from bot.report_flow import ReportRequest, record_report
from bot.routing import Route, Router, RouterError, Routes
from domain import photos
from domain.db import SQLITE_BUSY_MS, make_engine, make_session_factory
from domain.models import ActionEvent, Customer, Person
from domain.policy import PlantPolicy
from domain.services import exception_photos
from domain.uow import ReadOnlyViolation, UnitOfWork, run_unit
from tests.bot.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN, BotHarness, make_settings, uow_for
from tests.bot.test_shopfloor_exceptions import png_bytes, send_photo
from tests.factories import NOW, small_plant
from wecom.crypto import WeComCrypto
from wecom.inbound import TextMsg
from wecom.replies import Text
from wecom.simulate import CallbackBuilder

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _sqlite_path(db_url: str) -> str:
    return db_url.split("///", 1)[1]


class WriteLockHolder:
    """Another connection that holds SQLite's write lock (BEGIN IMMEDIATE) for `seconds`, from a thread."""

    def __init__(self, db_url: str, seconds: float) -> None:
        self.path, self.seconds = _sqlite_path(db_url), seconds
        self.taken, self.done = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        self.taken.set()
        time.sleep(self.seconds)
        conn.execute("ROLLBACK")
        conn.close()
        self.done.set()

    def __enter__(self) -> WriteLockHolder:
        self.thread.start()
        assert self.taken.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(self.seconds + 5)


def _write_lock_free(db_url: str) -> bool:
    conn = sqlite3.connect(_sqlite_path(db_url), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def _connections_in_use(harness: Any) -> int:
    """Connections checked out of the bot's pool: 0 means no transaction of the bot's is open."""
    return harness.app.extensions["bot"].core.session_factory.kw["bind"].pool.checkedout()


# --- the shell ---------------------------------------------------------------------------------------------


def _customers(session_factory: Any) -> list[str]:
    return run_unit(session_factory, lambda uow: list(uow.session.scalars(select(Customer.name))), read_only=True)


def test_run_unit_commits_then_runs_its_hooks_and_rolls_back_on_error(session_factory):
    seen: list[list[str]] = []

    def body(uow: UnitOfWork) -> str:
        uow.session.add(Customer(number="C1", name="美的集团"))
        # A hook sees what the unit committed, from a transaction of its own.
        uow.after_commit(lambda: seen.append(_customers(session_factory)))
        return "done"

    assert run_unit(session_factory, body) == "done"
    assert seen == [["美的集团"]]

    def failing(uow: UnitOfWork) -> None:
        uow.session.add(Customer(number="C2", name="格力电器"))
        uow.after_commit(lambda: seen.append(["never"]))
        raise ValueError("boom")

    with pytest.raises(ValueError):
        run_unit(session_factory, failing)
    assert _customers(session_factory) == ["美的集团"] and seen == [["美的集团"]]


def test_a_read_only_unit_that_writes_fails_loudly_and_keeps_nothing(session_factory):
    with pytest.raises(ReadOnlyViolation, match="Customer"):
        run_unit(session_factory, lambda uow: uow.session.add(Customer(number="C3", name="海尔")), read_only=True)
    with pytest.raises(ReadOnlyViolation):  # a flush in the middle is caught too, not only the commit
        run_unit(session_factory, lambda uow: (uow.session.add(Customer(number="C4", name="海信")),
                                               uow.session.flush()), read_only=True)
    run_unit(session_factory, lambda uow: uow.session.add(Customer(number="C5", name="TCL")))
    with pytest.raises(ReadOnlyViolation, match="UPDATE"):
        run_unit(session_factory, lambda uow: uow.session.execute(update(Customer).values(name="改名")),
                 read_only=True)
    assert _customers(session_factory) == ["TCL"]


@SQLITE_ONLY
def test_a_read_only_unit_reads_while_another_connection_holds_the_write_lock(db_url):
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with WriteLockHolder(db_url, 3.0):
        started = time.monotonic()
        assert _customers(factory) == []
        assert time.monotonic() - started < 1.0
    engine.dispose()


@SQLITE_ONLY
def test_a_short_lock_wait_gives_up_quickly_and_does_not_stay_on_the_pooled_connection(db_url):
    engine = make_engine(db_url, pool_size=1, max_overflow=0)  # one connection: the next unit reuses it
    factory = make_session_factory(engine)
    with WriteLockHolder(db_url, 3.0):
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"), UnitOfWork(factory, lock_wait_ms=100) as uow:
            uow.session.add(Customer(number="C6", name="苏泊尔"))
            uow.commit()
        assert time.monotonic() - started < 1.5
    busy = run_unit(factory, lambda uow: uow.session.execute(text("PRAGMA busy_timeout")).scalar())
    assert busy == SQLITE_BUSY_MS
    engine.dispose()


# --- routes ------------------------------------------------------------------------------------------------


def test_a_route_that_prepares_slow_work_must_be_deferred():
    def download(msg: Any, tools: Any) -> bytes:
        return b""

    def photo(msg: Any, ctx: Any) -> Text:
        return Text("x")

    def other(msg: Any, ctx: Any) -> Text:
        return Text("?")

    group = Routes("t")
    group.image(prepare=download)(photo)
    group.fallback()(other)
    with pytest.raises(RouterError, match="t.photo prepares slow work and must be deferred"):
        Router([group])
    deferred = Routes("t")
    deferred.image(prepare=download, defer="稍候")(photo)
    deferred.fallback()(other)
    Router([deferred])


def test_the_chat_queries_are_declared_read_only(harness):
    by_name = harness.app.extensions["bot"].core.router.by_name
    for name in ("orders.order_by_bill", "orders.by_customer", "orders.mine", "orders.all_for_customer",
                 "my_day.today", "my_day.points", "forecast.risky", "reports.monthly_report",
                 "kis_admin.kis_command", "scan_report.scan_traveller", "labels.print_labels", "fallback.fallback",
                 "help.show_help", "help.help_from_menu", "help.welcome", "alerts.open_alerts",
                 "alerts.open_alerts_from_menu"):
        assert by_name[name].read_only, name
    for name in ("scan_report.tap_done", "text_report.report_by_text", "exceptions.pick_type", "exceptions.photo"):
        assert not by_name[name].read_only, name


@SQLITE_ONLY
def test_an_order_lookup_answers_while_another_connection_holds_the_write_lock(db_url, plant_db, fake_wecom,
                                                                               redis_test_url):
    # With Redis, as a plant runs it: the dedup claim is Redis's, so the route's query is the callback's only
    # use of the database (the database dedup would itself write).
    queue = RecordingQueue()
    app = create_app(make_settings(db_url, fake_wecom.url, redis_url=redis_test_url), queue=queue)
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    harness = BotHarness(app, app.test_client(), queue, CallbackBuilder(crypto, CORP_ID, AGENT_ID), crypto)
    harness.say("w1", "SEORD000001")  # warm up: the first callback builds caches and opens connections
    with WriteLockHolder(db_url, 4.0) as holder:
        started = time.monotonic()
        reply = harness.say("w1", "SEORD000001")
        elapsed = time.monotonic() - started
        still_held = not holder.done.is_set()
    assert "订单 SEORD000001 · 美的集团" in reply
    assert still_held and elapsed < 2.0, elapsed  # on a writing unit it waited the 4 s out
    # Its usage row is not lost: it is written once the lock is free.
    deadline = time.monotonic() + 10
    count = 0
    while time.monotonic() < deadline:
        with uow_for(harness) as uow:
            count = uow.session.scalar(select(func.count()).select_from(ActionEvent)
                                       .where(ActionEvent.route == "orders.order_by_bill")) or 0
        if count == 2:
            break
        time.sleep(0.1)
    assert count == 2


def test_a_read_only_route_that_writes_fails_loudly(harness):
    core = harness.app.extensions["bot"].core

    def sneaky(msg: Any, ctx: Any) -> Text:
        ctx.uow.session.execute(update(Person).where(Person.userid == "w1").values(name="改名"))
        return Text("ok")

    route = Route("t.sneaky", "text", lambda m: {}, sneaky, read_only=True)
    msg = TextMsg("w1", "wwfakecorp0001", 1, 1000002, "1", content="x")
    with pytest.raises(ReadOnlyViolation):
        core.run_route(route, {}, msg, "k-sneaky")
    with uow_for(harness) as uow:
        assert uow.session.scalar(select(Person.name).where(Person.userid == "w1")) == "张三"


# --- nothing slow inside a transaction ---------------------------------------------------------------------


def test_a_photo_is_downloaded_before_the_transaction_opens(live, monkeypatch):
    tools = live.app.extensions["bot"].core.tools
    fetch = tools.fetch_media
    open_during_download: list[int] = []

    def watched(media_id: str) -> bytes:
        open_during_download.append(_connections_in_use(live))
        return fetch(media_id)

    monkeypatch.setattr(tools, "fetch_media", watched)
    live.say("w1", "报异常 WO20261125-01 设备故障 漏油")
    passive, active = send_photo(live, "w1", png_bytes())
    assert passive == "照片已收到，正在保存……" and active[-1].startswith("照片已附到异常")
    assert open_during_download == [0]


def test_a_photo_is_decoded_before_the_transaction_opens(live, monkeypatch):
    # Decoding a phone photo is CPU work of a tenth of a second or more: not while SQLite's write lock (or a
    # PostgreSQL connection) is held for it.
    decode = photos.normalise_photo
    open_during_decode: list[int] = []

    def watched(data: bytes, **kwargs: Any):
        open_during_decode.append(_connections_in_use(live))
        return decode(data, **kwargs)

    monkeypatch.setattr(exceptions_handler, "normalise_photo", watched, raising=False)
    monkeypatch.setattr(exception_photos, "normalise_photo", watched)
    live.say("w1", "报异常 WO20261125-01 设备故障 漏油")
    passive, active = send_photo(live, "w1", png_bytes())
    assert passive == "照片已收到，正在保存……" and active[-1].startswith("照片已附到异常")
    assert open_during_decode == [0]


def test_a_label_sheet_is_rendered_after_the_commit(live, monkeypatch, db_url):
    render = labels_handler.render_label_sheet
    open_during_render: list[int] = []

    def watched(*args: Any, **kwargs: Any) -> bytes:
        open_during_render.append(_connections_in_use(live))
        return render(*args, **kwargs)

    monkeypatch.setattr(labels_handler, "render_label_sheet", watched)
    assert live.say("lead", "打印标签 WO20261125-01") == "正在生成标签，请稍候……"
    assert len(live.sent("lead", "file")) == 1
    assert open_during_render == [0]


# --- what follows a report ---------------------------------------------------------------------------------


def test_a_reports_follow_ups_run_only_after_its_commit(make_uow):
    with make_uow() as uow:
        small_plant(uow)
        uow.commit()
    policy = PlantPolicy()
    notices: list[tuple[list[str], str]] = []
    tasks: list[str] = []

    def report(uow: UnitOfWork, qty: int, key: str) -> None:
        record_report(uow, policy, userid="w1", now=NOW, req=ReportRequest("WO20261125-01", qty, 0, key),
                      notify=lambda users, text: notices.append((list(users), text)), enqueue=tasks.append)

    with make_uow() as uow:  # rolled back: nothing follows
        report(uow, 1000, "k1")
        assert notices == [] and tasks == []
    assert notices == [] and tasks == []

    with make_uow() as uow:
        report(uow, 1000, "k1")
        assert notices == [] and tasks == []  # not while the transaction is open
        uow.commit()
    assert tasks == ["alerts.tick"]
    [(leads, text)] = notices
    assert leads and text.startswith("注塑完成 1000 件，请安排")

    with make_uow() as uow:  # a repeat of the same report counts once and is followed by nothing
        report(uow, 1000, "k1")
        uow.commit()
    assert tasks == ["alerts.tick"] and len(notices) == 1
