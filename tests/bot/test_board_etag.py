"""The board's JSON: an unchanged poll is a 304 answered before the board is built, and everything the
board shows moves the ETag (reports, exceptions, alerts, KIS runs, order changes, the clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import bot.board
from domain.models import Alert, SalesOrder, ShopException, SyncState
from domain.policy import PlantPolicy
from domain.services.display_tokens import create_token
from domain.services.exceptions import close_exception, open_exception
from domain.services.reporting import report_work
from domain.vocab import AlertStatus, Stage
from tests.bot.conftest import BotHarness, uow_for

NOW = datetime(2026, 11, 25, 2, 0, 10, tzinfo=UTC)  # 10:00:10 at the plant


@pytest.fixture
def screen(harness: BotHarness) -> dict[str, str]:
    rt = harness.app.extensions["bot"].runtime
    rt.now = lambda: NOW
    with uow_for(harness) as uow:
        token = create_token(uow, name="大屏", workshop=None, now=NOW)
        uow.commit()
    return {"X-Display-Token": token}


def poll(harness: BotHarness, headers: dict[str, str], etag: str | None = None):
    sent = {**headers, **({"If-None-Match": etag} if etag else {})}
    return harness.client.get("/board/data.json", headers=sent)


def test_an_unchanged_board_is_a_304_without_building_it(harness, screen, monkeypatch):
    first = poll(harness, screen)
    assert first.status_code == 200 and first.get_json()["rows"]
    etag = first.headers["ETag"]

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the board was built for a poll that had it already")

    monkeypatch.setattr(bot.board, "build_board", not_again)
    again = poll(harness, screen, etag)
    assert again.status_code == 304 and again.headers["ETag"] == etag
    # Another filter is another version of the board.
    other = harness.client.get("/board/data.json?status=已逾期", headers={**screen, "If-None-Match": etag})
    assert other.status_code != 304


def _report(uow, now: datetime) -> None:
    report_work(uow, PlantPolicy(), work_order_code="WO20261125-01", userid="w1", good_qty=10, defect_qty=0,
                source_key="etag-report", now=now)


def _exception(uow, now: datetime) -> None:
    open_exception(uow, PlantPolicy(), userid="w1", type="材料不符", source_key="etag-exc", now=now,
                   work_order_code="WO20261125-02")


def _alert(uow, now: datetime) -> None:
    uow.session.add(Alert(rule="late_forecast", subject_key="forecast:SEORD000003:late", title="交期预警", facts={},
                          status=AlertStatus.OPEN, level=0, fired_at=now))


def _kis_pull(uow, now: datetime) -> None:
    uow.session.add(SyncState(name="kis_pull", last_run_at=now, last_ok_at=now, last_ok=True, failures=0))


def _order_moved(uow, now: datetime) -> None:
    order = uow.session.scalar(select(SalesOrder).where(SalesOrder.bill_no == "SEORD000004"))
    order.stage, order.updated_at = Stage.MATERIALS, now


@pytest.mark.parametrize("change", [_report, _exception, _alert, _kis_pull, _order_moved],
                         ids=["report", "exception", "alert", "kis-pull", "order-changed"])
def test_every_change_the_board_shows_moves_the_etag(harness, screen, change: Callable[..., None]):
    etag = poll(harness, screen).headers["ETag"]
    assert poll(harness, screen, etag).status_code == 304
    with uow_for(harness) as uow:
        change(uow, NOW)
        uow.commit()
    after = poll(harness, screen, etag)
    assert after.status_code == 200 and after.headers["ETag"] != etag


def test_closing_an_exception_or_an_alert_moves_the_etag(harness, screen):
    with uow_for(harness) as uow:
        _exception(uow, NOW - timedelta(minutes=5))
        _alert(uow, NOW - timedelta(minutes=5))
        uow.commit()
    etag = poll(harness, screen).headers["ETag"]
    with uow_for(harness) as uow:
        exc_id = uow.session.scalar(select(ShopException.id))
        close_exception(uow, exception_id=exc_id, userid="sup", now=NOW, resolution="已补料")
        uow.commit()
    closed_exc = poll(harness, screen, etag)
    assert closed_exc.status_code == 200 and closed_exc.get_json()["counts"]["exception"] == 0
    etag = closed_exc.headers["ETag"]
    with uow_for(harness) as uow:
        alert = uow.session.scalar(select(Alert))
        alert.status, alert.closed_at = AlertStatus.CLOSED, NOW
        uow.commit()
    closed_alert = poll(harness, screen, etag)
    assert closed_alert.status_code == 200 and closed_alert.get_json()["counts"]["alert"] == 0


def test_the_clock_moves_the_etag_every_minute(harness, screen):
    rt = harness.app.extensions["bot"].runtime
    etag = poll(harness, screen).headers["ETag"]
    rt.now = lambda: NOW + timedelta(seconds=40)  # the same minute: the same board
    assert poll(harness, screen, etag).status_code == 304
    rt.now = lambda: NOW + timedelta(seconds=55)  # 10:01: the forecast and due dates are read afresh
    assert poll(harness, screen, etag).status_code == 200


def test_a_second_screen_on_the_same_view_gets_the_built_board_and_a_report_rebuilds_it(
        harness, screen, monkeypatch):
    first = poll(harness, screen)
    real_build = bot.board.build_board
    builds: list[int] = []

    def counting(*args: object, **kwargs: object):
        builds.append(1)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(bot.board, "build_board", counting)
    # A second screen (no ETag yet) on the same view and version: the same body, not built again.
    second = poll(harness, screen)
    assert second.status_code == 200 and second.data == first.data and builds == []
    with uow_for(harness) as uow:
        _report(uow, NOW)
        uow.commit()
    after = poll(harness, screen)
    assert after.status_code == 200 and builds == [1] and after.data != first.data
    def moulded(resp) -> int:
        return next(r for r in resp.get_json()["rows"] if r["work_order"] == "WO20261125-01")["ops"][0]["good"]

    assert moulded(after) == moulded(first) + 10
