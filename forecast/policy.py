"""Forecast settings as plain values, parsed once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo

from forecast.calendar import CalendarError, ShiftCalendar, parse_holidays, parse_rest_days


class ForecastConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ForecastPolicy:
    calendar: ShiftCalendar = field(default_factory=ShiftCalendar)
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


def parse_forecast_policy(
    *, tz: ZoneInfo, shift_hours: str, rest_days: str, holidays: str, rate_days: int, at_risk_days: int,
    warn_days: int, finishing_hours: float, overtime_max_hours: float,
) -> ForecastPolicy:
    start, _, end = shift_hours.partition("-")
    try:
        shift_start, shift_end = _clock(start), _clock(end)
        calendar = ShiftCalendar(tz=tz, shift_start=shift_start, shift_end=shift_end,
                                 rest_weekdays=parse_rest_days(rest_days), holidays=parse_holidays(holidays))
    except CalendarError as exc:
        raise ForecastConfigError(str(exc)) from None
    if shift_end <= shift_start:
        raise ForecastConfigError("SHIFT_HOURS: the shift must end after it starts on the same day, e.g. 08:00-20:00")
    return ForecastPolicy(calendar=calendar, rate_days=rate_days, at_risk_days=at_risk_days, warn_days=warn_days,
                          finishing_hours=finishing_hours, overtime_max_hours=overtime_max_hours)


def _clock(text: str) -> time:
    try:
        hour, minute = text.strip().split(":")
        return time(int(hour), int(minute))
    except ValueError:
        raise CalendarError(f"SHIFT_HOURS: '{text}' is not HH:MM") from None
