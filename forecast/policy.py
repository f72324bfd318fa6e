"""Forecast settings as plain values, built by the entry point from the typed settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.calendar_book import CalendarBook
from forecast.calendar import ShiftCalendar


@dataclass(frozen=True)
class ForecastPolicy:
    calendar: ShiftCalendar = field(default_factory=ShiftCalendar)
    # The plant calendar the forecast's working time comes from (None: `calendar`'s one shift a day).
    book: CalendarBook | None = field(default=None, compare=False)
    # The speed of a running work order is what it made over its last few full working days.
    rate_days: int = 3
    # A line finishing fewer than this many days before its due date is 有风险.
    at_risk_days: int = 2
    # 有风险 is worth a card only this close to the due date; 会逾期 always is.
    warn_days: int = 5
    # After moulding, the last batch still goes through trimming, inspection and packing.
    finishing_hours: float = 4.0
    # The most overtime a press can add per working day, when judging whether overtime closes a gap.
    overtime_max_hours: float = 4.0
    # Moving a mould to another press costs a set-up.
    changeover_hours: float = 2.0
    # How far back the machine/mould and product history reaches, for a work order with little data.
    history_days: int = 90
