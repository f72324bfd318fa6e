"""The forecast's working time, answered by the plant calendar (domain/plant_calendar.py): several shifts a
day, shifts across midnight, breaks, make-up working days, date ranges with another pattern.

ShiftCalendar is a thin adapter: the questions the forecast asks (hours of a day, working days, hours between
two moments, the moment some hours of work end) in hours and production days, each answered from the plant
calendar's working intervals. Built from its own fields it is the one-shift calendar it always was
(SHIFT_HOURS, REST_DAYS, HOLIDAYS); built with `ShiftCalendar.of(plant)` it is the plant's. Days are
production days, not calendar dates: a two-shift plant's day runs 08:00 → 08:00. Pure arithmetic, no database.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.errors import ConfigError
from domain.plant_calendar import DAY, DayPattern, PlantCalendar

# REST_DAYS and HOLIDAYS are parsed with the settings (domain/settings_types.py); the names stay importable here.
from domain.settings_types import WEEKDAYS, parse_holidays, parse_rest_days

__all__ = ["WEEKDAYS", "CalendarError", "Clock", "ShiftCalendar", "parse_holidays", "parse_rest_days"]

# Far enough for any order book; a calendar with no working day at all is refused when it is parsed.
_MAX_DAYS = 3 * 366

# A calendar with no working time is a configuration error like any other (one type for all of them).
CalendarError = ConfigError


def _offset(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute)


def _pattern_minutes(pattern: DayPattern) -> float:
    """Working minutes of a day run on a pattern: its shifts without their breaks."""
    total = timedelta(0)
    for s in pattern.shifts:
        total += s.length - sum(((_offset(b) - _offset(a)) % DAY for a, b in s.breaks), timedelta(0))
    return total.total_seconds() / 60


@dataclass(frozen=True, eq=False)
class ShiftCalendar:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    # The first shift's start and the last shift's end of a day on the default pattern.
    shift_start: time = time(8, 0)
    shift_end: time = time(20, 0)
    rest_weekdays: frozenset[int] = frozenset()  # 0 = Monday … 6 = Sunday
    holidays: frozenset[date] = frozenset()
    # The plant calendar adapted; None: one shift_start-shift_end shift a day. The fields above win over it,
    # so replace(cal, holidays=…) closes those days on the plant's calendar too.
    source: PlantCalendar | None = field(default=None, repr=False)
    plant: PlantCalendar = field(init=False, repr=False, compare=False)
    _day_minutes: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        plant = _plant(self.source, self.tz, self.shift_start, self.shift_end, self.rest_weekdays, self.holidays)
        object.__setattr__(self, "plant", plant)
        object.__setattr__(self, "_day_minutes", _pattern_minutes(plant.spec.patterns[0]))

    def __eq__(self, other: object) -> bool:
        """Equal when they describe the same time (two books built from the same settings agree)."""
        if not isinstance(other, ShiftCalendar):
            return NotImplemented
        return (self.plant.tz, self.plant.spec) == (other.plant.tz, other.plant.spec)

    def __hash__(self) -> int:
        return hash((self.plant.tz, self.plant.spec))

    @classmethod
    def of(cls, plant: PlantCalendar) -> ShiftCalendar:
        """The forecast's view of a plant calendar (one per calendar object, so its clocks are built once)."""
        return _adapter(plant)

    @property
    def hours_per_day(self) -> float:
        """Working hours of a production day on the default pattern: 12 for 08:00-20:00, 24 for two 12-hour
        shifts, less their breaks. A daily plan quantity is spread over these hours."""
        return self._day_minutes / 60

    def day_hours(self, day: date) -> float:
        """Working hours of one production day (0 on a rest day; a date range's pattern on its days)."""
        return self.plant.day_minutes(day) / 60

    def is_work_day(self, day: date) -> bool:
        return self.plant.is_work_day(day)

    def production_day(self, moment: datetime) -> date:
        return self.plant.production_day(moment)

    def shift(self, day: date) -> tuple[datetime, datetime]:
        """The working span of a production day: its first shift's start to its last shift's end."""
        shifts = self.plant.shifts(day)
        return shifts[0].start, shifts[-1].end

    def intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working spans between two moments (breaks and rest days left out)."""
        return self.plant.intervals(start, end)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def add_work_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of working time have passed after `start` (rest days, breaks, nights off skipped).

        A job that ends exactly at the end of a shift ends then, not at the next shift's start.
        """
        if hours <= 0:
            return self.local(start)
        return self.plant.add_working_minutes(start, hours * 60)

    def work_hours(self, start: datetime, end: datetime) -> float:
        """Working hours between two moments."""
        return self.plant.working_minutes(start, end) / 60

    def work_days(self, first: date, last: date) -> list[date]:
        out, day = [], first
        while day <= last:
            if self.is_work_day(day):
                out.append(day)
            day += DAY
        return out

    def last_work_days(self, until: date, n: int) -> list[date]:
        """The last n working (production) days up to and including `until`, oldest first."""
        out: list[date] = []
        day = until
        for _ in range(_MAX_DAYS):
            if len(out) == n:
                break
            if self.is_work_day(day):
                out.append(day)
            day -= DAY
        return out[::-1]

    def last_full_day(self, now: datetime) -> date:
        """The latest production day whose shifts are over: today once its last shift has ended, else the
        day before (a two-shift plant's day ends with the night shift, at 08:00 the next morning)."""
        day = self.plant.production_day(now)
        return day if self.local(now) >= self.shift(day)[1] else day - DAY

    def finish_day(self, moment: datetime) -> date:
        """The production day a job finishing at `moment` is done on: at or before the day's first shift
        starts means the previous working day (a plan saying "08:00 tomorrow" finishes with today's shifts)."""
        day = self.plant.production_day(moment)
        if self.local(moment) > self.shift(day)[0]:
            return day
        back = day - DAY
        for _ in range(_MAX_DAYS):
            if self.is_work_day(back):
                return back
            back -= DAY
        return day

    def clock(self, around: datetime) -> Clock:
        """Working time as one number (hours) for the years around a moment: projections over thousands of
        work orders add and compare hours instead of walking the calendar for each."""
        return _clock(self.plant, self.plant.production_day(around).year)

    def end_of(self, day: date) -> datetime:
        """The last working moment of a due date: its last shift's end (or the production day's end on a
        rest day)."""
        if self.is_work_day(day):
            return self.shift(day)[1]
        return self.plant.day_window(day)[1]


class Clock:
    """Working hours counted from an origin: a moment maps to the working hours before it, and back. Prefix
    sums over the working intervals (shifts without their breaks) of some years, searched by bisection."""

    def __init__(self, plant: PlantCalendar, first: date, days: int) -> None:
        self.plant, self.first, self.days = plant, first, days
        self.tz = plant.tz
        starts: list[datetime] = []
        ends: list[datetime] = []
        before = [0.0]  # working hours before each interval
        day_of: list[int] = []  # the production day (index from `first`) of each interval
        day_first: list[int] = []  # the first interval of each production day
        for i in range(days):
            day_first.append(len(starts))
            for s in plant.shifts(first + timedelta(days=i)):
                for lo, hi in s.intervals:
                    starts.append(lo)
                    ends.append(hi)
                    before.append(before[-1] + (hi - lo).total_seconds() / 3600)
                    day_of.append(i)
        day_first.append(len(starts))
        self._starts, self._before, self._day_of, self._day_first = starts, before, day_of, day_first
        self._t0 = [lo.timestamp() for lo in starts]
        self._t1 = [hi.timestamp() for hi in ends]
        self._ends = before[1:]  # working hours at the end of each interval
        self._lo = plant.day_window(first)[0].timestamp()
        self._hi = plant.day_window(first + timedelta(days=days - 1))[1].timestamp()

    def position(self, moment: datetime) -> float | None:
        """Working hours before `moment` since the origin; None outside the clock's years."""
        local = moment.astimezone(self.tz)
        t = local.timestamp()
        if not self._lo <= t < self._hi:
            return None
        k = bisect_right(self._t0, t) - 1
        if k < 0:
            return 0.0
        if t >= self._t1[k]:
            return self._before[k + 1]
        return self._before[k] + (local - self._starts[k]).total_seconds() / 3600

    def day_end(self, day: date) -> float | None:
        """Working hours at the end of a production day."""
        i = (day - self.first).days
        return self._before[self._day_first[i + 1]] if 0 <= i < self.days else None

    def _interval(self, position: float) -> int | None:
        k = bisect_left(self._ends, position)
        return k if k < len(self._ends) else None

    def moment(self, position: float) -> datetime | None:
        """The moment the working hours reach `position` (a shift's end, not the next shift's start)."""
        k = self._interval(position)
        if k is None:
            return None
        return self._starts[k] + timedelta(hours=max(position - self._before[k], 0.0))

    def finish_day(self, position: float) -> date | None:
        """The production day a job is done on when the working hours reach `position` (as
        ShiftCalendar.finish_day)."""
        k = self._interval(position)
        return None if k is None else self.first + timedelta(days=self._day_of[k])


@lru_cache(maxsize=8)
def _clock(plant: PlantCalendar, year: int) -> Clock:
    first = date(year - 2, 1, 1)
    return Clock(plant, first, (date(year + 4, 1, 1) - first).days)


@lru_cache(maxsize=16)
def _adapter(plant: PlantCalendar) -> ShiftCalendar:
    first = plant.spec.patterns[0].shifts
    return ShiftCalendar(tz=plant.tz, shift_start=first[0].start, shift_end=first[-1].end,
                         rest_weekdays=plant.spec.rest_weekdays, holidays=plant.spec.holidays, source=plant)


@lru_cache(maxsize=32)
def _plant(source: PlantCalendar | None, tz: ZoneInfo, start: time, end: time, rest: frozenset[int],
           holidays: frozenset[date]) -> PlantCalendar:
    """The plant calendar a ShiftCalendar's fields describe (cached, so equal fields share one calendar and
    its clocks)."""
    if source is None:
        return PlantCalendar.single_shift(tz, start, end, rest_weekdays=rest, holidays=holidays)
    spec = source.spec
    first = spec.patterns[0].shifts
    if (start, end) != (first[0].start, first[-1].end):
        if len(spec.patterns) > 1 or len(first) > 1 or spec.ranges:
            raise ConfigError("calendar: a calendar of several shifts or patterns takes its hours from its shifts")
        pattern = spec.patterns[0]
        spec = replace(spec, patterns=(replace(pattern, shifts=(replace(first[0], start=start, end=end),)),))
    if (spec, tz) == (source.spec, source.tz) and (rest, holidays) == (spec.rest_weekdays, spec.holidays):
        return source
    return PlantCalendar(replace(spec, rest_weekdays=rest, holidays=holidays), tz)
