"""The board's rows carry the forecast: the projected finish, and 有风险 when the forecast says so."""

from __future__ import annotations

from datetime import date

from domain.services.display_tokens import create_token
from tests.bot.conftest import uow_for
from tests.forecast.test_warning_card import NOW, slow_order


def test_the_board_json_shows_the_projected_finish_and_the_forecast_risk(live):
    slow_order(live)  # SEORD000201: 500 a day against 2,000, due 11-28: 12-04, six days late
    deps = live.app.extensions["bot"]
    deps.runtime.now = lambda: NOW  # the board reads the plant clock from the runtime
    deps.runtime.today = lambda: date(2026, 11, 25)
    with uow_for(live) as uow:
        token = create_token(uow, name="大屏", workshop=None, now=NOW)
        uow.commit()
    rows = {r["work_order"]: r for r in live.client.get(f"/board/data.json?token={token}").get_json()["rows"]}
    slow = rows["WO20261122-07"]
    assert (slow["eta"], slow["forecast_risk"], slow["forecast_label"]) == ("预计 12-04 完工", "late", "会逾期 6 天")
    assert slow["status"] == "at_risk" and slow["at_risk"]  # not past due yet, but foreseen
    fine = rows["WO20261125-01"]  # 1,000 pieces planned from 08:00 today, due 11-30
    assert (fine["forecast_risk"], fine["status"]) == ("on_time", "ok") and fine["eta"] == "预计 11-26 完工"
    assert next(iter(rows)) == "WO20261122-07"  # at risk sorts before the rest
