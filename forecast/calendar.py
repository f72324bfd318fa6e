"""The plant's working time: one shift a day, rest weekdays and holidays. Pure arithmetic, no database."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.errors import ConfigError

# REST_DAYS and HOLIDAYS are parsed with the settings (domain/settings_types.py); the names stay importable here.
from domain.settings_types import WEEKDAYS, parse_holidays, parse_rest_days

__all__ = ["WEEKDAYS", "CalendarError", "Clock", "ShiftCalendar", "parse_holidays", "parse_rest_days"]

# Far enough for any order book; a calendar with no working day at all is refused when it is parsed.
_MAX_DAYS = 3 * 366

# A calendar with no working time is a configuration error like any other (one type for all of them).
CalendarError = ConfigError


@dataclass(frozen=True)
class ShiftCalendar:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    shift_start: time = time(8, 0)
    shift_end: time = time(20, 0)
    rest_weekdays: frozenset[int] = frozenset()  # 0 = Monday … 6 = Sunday
    holidays: frozenset[date] = frozenset()

    @property
    def hours_per_day(self) -> float:
        start = self.shift_start.hour * 60 + self.shift_start.minute
        end = self.shift_end.hour * 60 + self.shift_end.minute
        return (end - start) / 60

    def is_work_day(self, day: date) -> bool:
        return day.weekday() not in self.rest_weekdays and day not in self.holidays

    def shift(self, day: date) -> tuple[datetime, datetime]:
        return (datetime.combine(day, self.shift_start, tzinfo=self.tz),
                datetime.combine(day, self.shift_end, tzinfo=self.tz))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def add_work_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of shift time have passed after `start` (rest days and nights skipped).

        A job that ends exactly at the end of a shift ends that day, not at the next morning's start.
        """
        at = self.local(start)
        if hours <= 0:
            return at
        day = at.date()
        for _ in range(_MAX_DAYS):
            if self.is_work_day(day):
                begin, end = self.shift(day)
                begin = max(begin, at)
                if begin < end:
                    available = (end - begin).total_seconds() / 3600
                    if hours <= available:
                        return begin + timedelta(hours=hours)
                    hours -= available
            day += timedelta(days=1)
        raise CalendarError("no working time within three years")

    def work_hours(self, start: datetime, end: datetime) -> float:
        """Shift hours between two moments."""
        a, b = self.local(start), self.local(end)
        total = 0.0
        day = a.date()
        while day <= b.date():
            if self.is_work_day(day):
                begin, finish = self.shift(day)
                lo, hi = max(begin, a), min(finish, b)
                if hi > lo:
                    total += (hi - lo).total_seconds() / 3600
            day += timedelta(days=1)
        return total

    def work_days(self, first: date, last: date) -> list[date]:
        out, day = [], first
        while day <= last:
            if self.is_work_day(day):
                out.append(day)
            day += timedelta(days=1)
        return out

    def last_work_days(self, until: date, n: int) -> list[date]:
        """The last n working days up to and including `until`, oldest first."""
        out: list[date] = []
        day = until
        for _ in range(_MAX_DAYS):
            if len(out) == n:
                break
            if self.is_work_day(day):
                out.append(day)
            day -= timedelta(days=1)
        return out[::-1]

    def last_full_day(self, now: datetime) -> date:
        """The latest day whose shift is over: today once the shift has ended, else the day before."""
        local = self.local(now)
        return local.date() if local.time() >= self.shift_end else local.date() - timedelta(days=1)

    def finish_day(self, moment: datetime) -> date:
        """The working day a job finishing at `moment` is done on: at or before a shift's start means the
        previous working day (a plan saying "08:00 tomorrow" finishes with today's shift)."""
        local = self.local(moment)
        if local.time() > self.shift_start:
            return local.date()
        day = local.date() - timedelta(days=1)
        for _ in range(_MAX_DAYS):
            if self.is_work_day(day):
                return day
            day -= timedelta(days=1)
        return local.date()

    def clock(self, around: datetime) -> Clock:
        """Shift time as one number (hours) for the years around a moment: projections over thousands of
        work orders add and compare hours instead of walking the calendar for each."""
        return _clock(self, self.local(around).year)

    def end_of(self, day: date) -> datetime:
        """The last working moment of a due date: its shift end (or the day's end on a rest day)."""
        if self.is_work_day(day):
            return self.shift(day)[1]
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)


class Clock:
    """Working hours counted from an origin: a moment maps to the shift hours before it, and back."""

    def __init__(self, cal: ShiftCalendar, first: date, days: int) -> None:
        self.cal, self.first, self.days = cal, first, days
        self.hours = cal.hours_per_day
        self._start = cal.shift_start.hour * 60 + cal.shift_start.minute
        self.work = [cal.is_work_day(first + timedelta(days=i)) for i in range(days)]
        self.before = [0.0]  # shift hours before each day
        for w in self.work:
            self.before.append(self.before[-1] + (self.hours if w else 0.0))
        self._work_days = [i for i, w in enumerate(self.work) if w]
        self._ends = [self.before[i] + self.hours for i in self._work_days]

    def position(self, moment: datetime) -> float | None:
        """Shift hours before `moment` since the origin; None outside the clock's years."""
        local = moment.astimezone(self.cal.tz)
        i = (local.date() - self.first).days
        if not 0 <= i < self.days:
            return None
        if not self.work[i]:
            return self.before[i]
        minutes = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60 - self._start
        return self.before[i] + min(max(minutes / 60, 0.0), self.hours)

    def day_end(self, day: date) -> float | None:
        i = (day - self.first).days
        return self.before[i + 1] if 0 <= i < self.days else None

    def _work_day(self, position: float) -> int | None:
        j = bisect_left(self._ends, position)
        return self._work_days[j] if j < len(self._work_days) else None

    def moment(self, position: float) -> datetime | None:
        """The moment the shift hours reach `position` (a shift's end, not the next morning's start)."""
        i = self._work_day(position)
        if i is None:
            return None
        day = self.first + timedelta(days=i)
        return datetime.combine(day, self.cal.shift_start, tzinfo=self.cal.tz) + timedelta(
            hours=max(position - self.before[i], 0.0))

    def finish_day(self, position: float) -> date | None:
        """The working day a job is done on when the shift hours reach `position` (as ShiftCalendar.finish_day)."""
        i = self._work_day(position)
        return None if i is None else self.first + timedelta(days=i)


@lru_cache(maxsize=8)
def _clock(cal: ShiftCalendar, year: int) -> Clock:
    first = date(year - 2, 1, 1)
    return Clock(cal, first, (date(year + 4, 1, 1) - first).days)
