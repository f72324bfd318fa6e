"""Forecast settings as plain values, built by the entry point from the typed settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, overload

from domain.calendar_book import CalendarBook
from forecast.calendar import ShiftCalendar

_ONE_SHIFT = ShiftCalendar()


class _Calendar:
    """ForecastPolicy.calendar: the calendar given, else the book's current plant calendar (so a calendar
    stored with `factorybot calendar set` reaches the forecast within the book's refresh), else one
    08:00-20:00 shift a day. The adapter is made once per plant calendar object (ShiftCalendar.of)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}_given"

    @overload
    def __get__(self, obj: None, owner: Any = None) -> None: ...
    @overload
    def __get__(self, obj: ForecastPolicy, owner: Any = None) -> ShiftCalendar: ...
    def __get__(self, obj: ForecastPolicy | None, owner: Any = None) -> ShiftCalendar | None:
        if obj is None:
            return None  # the dataclass's default: no calendar given
        given: ShiftCalendar | None = obj.__dict__.get(self._slot)
        if given is not None:
            return given
        if obj.book is not None:
            return ShiftCalendar.of(obj.book.current())
        return _ONE_SHIFT

    def __set__(self, obj: ForecastPolicy, value: ShiftCalendar | None) -> None:
        obj.__dict__[self._slot] = value


@dataclass(frozen=True)
class ForecastPolicy:
    # The working time the forecast counts; not given: the book's plant calendar (see _Calendar).
    calendar: _Calendar = _Calendar()
    # The plant calendar the forecast's working time comes from when no calendar is given.
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
    # A press is 停机 only when it has moulded nothing for this long (PRESS_STOPPED_MINUTES): a work order with
    # no output over its rate window whose press has just moulded is running, at its history's or plan's speed.
    press_stopped_minutes: int = 60
