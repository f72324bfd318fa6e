"""The forecast as the board shows it: handed to domain/services/board.py as a plain callable, so the
domain never imports the forecast."""

from __future__ import annotations

from datetime import date, datetime

from domain.services.board import BoardForecast, LineOutlook
from domain.uow import UnitOfWork
from forecast.policy import ForecastPolicy
from forecast.projection import Risk
from forecast.service import open_order_forecasts
from forecast.text import eta_text, risk_text


def board_forecast(policy: ForecastPolicy, now: datetime, today: date) -> BoardForecast:
    """Each live work order's code → the outlook of its line, projected at `now` (read in the board's
    transaction)."""

    def outlook(uow: UnitOfWork) -> dict[str, LineOutlook]:
        return {
            w.facts.code: LineOutlook(foreseen=not ln.done and ln.risk != Risk.ON_TIME, risk=ln.risk.value,
                                      eta=eta_text(ln), label=risk_text(ln, today))
            for o in open_order_forecasts(uow, policy, now) for ln in o.lines for w in ln.work_orders
        }

    return outlook
