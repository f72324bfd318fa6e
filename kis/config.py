"""KIS settings as plain values, taken from the typed settings an entry point built (a typo failed there)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from domain.plant_calendar import CalendarSpec, DayPattern, PlantCalendar, ShiftPattern
from domain.settings_types import ShiftHours
from kis.errors import KisNotConfigured
from kis.settings import Route, parse_route
from reports.schedule import Cron

__all__ = ["KisConfig", "KisSettings", "Route", "parse_route"]


class KisSettings(Protocol):
    """What KIS reads from the settings (factorybot's `Settings` is one): typed, already checked."""

    @property
    def tz(self) -> ZoneInfo: ...
    kis_odbc: str | None
    kis_lookback_days: int
    kis_push_batch: int
    kis_push_every_minutes: int
    kis_timeout: int
    kis_staging_table: str
    kis_push_start: date | None
    kis_char_encoding: str | None
    kis_default_route: Route
    kis_schema: str
    kis_task_tran_types: tuple[int, ...]
    kis_task_exclude_types: tuple[int, ...]
    kis_pull_schedule: Cron
    kis_reconcile_schedule: Cron | None
    shift_hours: ShiftHours
    shifts: tuple[ShiftPattern, ...]
    rest_days: frozenset[int]
    holidays: frozenset[date]
    workdays: frozenset[date]


def _settings_calendar(settings: KisSettings) -> PlantCalendar:
    """The calendar the settings describe (SHIFTS, else SHIFT_HOURS), for a caller without the plant's book
    (as factorybot.runtime.settings_calendar builds it; kis/ does not import factorybot/)."""
    if not settings.shifts:
        return PlantCalendar.single_shift(settings.tz, settings.shift_hours.start, settings.shift_hours.end,
                                          rest_weekdays=settings.rest_days, holidays=settings.holidays,
                                          workdays=settings.workdays)
    return PlantCalendar(CalendarSpec(patterns=(DayPattern("班次", settings.shifts),), rest_weekdays=settings.rest_days,
                                      holidays=settings.holidays, workdays=settings.workdays), settings.tz)


def _day_bounds(calendar: PlantCalendar) -> dict[str, Any]:
    """The first shift's start and the last shift's end of the calendar's default pattern: what a KIS date
    without a time means. The end is the next morning when the last shift crosses midnight or ends at or
    before the first one starts (two 12-hour shifts: 08:00 the day after)."""
    shifts = calendar.spec.patterns[0].shifts
    first, last = shifts[0], shifts[-1]
    next_morning = last.overnight or last.end <= first.start
    return {"day_start": first.start, "day_end": last.end, "day_end_next_morning": next_morning}


def _default(text: str) -> Cron:
    # Only for the defaults below (the settings' own defaults are the same strings, parsed by the settings).
    return Cron.parse(text, "KisConfig")


@dataclass(frozen=True)
class KisConfig:
    odbc: str | None
    tz: ZoneInfo
    lookback: timedelta
    push_batch: int
    push_every: timedelta
    timeout: int
    staging_table: str
    push_start: date | None
    char_encoding: str | None
    default_route: Route
    # Schema of the KIS tables (and of the staging table), e.g. "dbo"; None = unqualified names.
    schema: str | None = None
    # ICMO rows taken as production tasks (empty: no filter on that column).
    task_tran_types: tuple[int, ...] = (85,)
    task_exclude_types: tuple[int, ...] = (11060, 1067)
    # Crontabs (plant time) of the nightly pull and of the full reconcile (None: off).
    pull_schedule: Cron = _default("0 2 * * *")
    reconcile_schedule: Cron | None = _default("30 2 * * *")
    # KIS stores many dates without a time: a task "starting" on a day starts at the first shift's start
    # and "finishing" on it finishes at the day's last shift end, which is the next morning when the last
    # shift crosses midnight (two 12-hour shifts: 08:00 the day after).
    day_start: time = time(8, 0)
    day_end: time = time(20, 0)
    day_end_next_morning: bool = False
    # The plant calendar the bounds above come from; its production days decide which days the push writes.
    # None: one day_start-day_end shift a day.
    calendar: PlantCalendar | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: KisSettings, calendar: PlantCalendar | None = None) -> KisConfig:
        """calendar: the plant's (Runtime.calendar.current(), a stored one included) when the caller has it;
        else the one the settings describe."""
        plant = calendar if calendar is not None else _settings_calendar(settings)
        return cls(
            odbc=settings.kis_odbc or None,
            tz=settings.tz,
            lookback=timedelta(days=settings.kis_lookback_days),
            push_batch=settings.kis_push_batch,
            push_every=timedelta(minutes=settings.kis_push_every_minutes),
            timeout=settings.kis_timeout,
            staging_table=settings.kis_staging_table,
            push_start=settings.kis_push_start,
            char_encoding=settings.kis_char_encoding or None,
            default_route=settings.kis_default_route,
            schema=settings.kis_schema or None,
            task_tran_types=settings.kis_task_tran_types,
            task_exclude_types=settings.kis_task_exclude_types,
            pull_schedule=settings.kis_pull_schedule,
            reconcile_schedule=settings.kis_reconcile_schedule,
            calendar=plant,
            **_day_bounds(plant),
        )

    def on_calendar(self, calendar: PlantCalendar) -> KisConfig:
        """The same settings on another plant calendar (the one current now, after `factorybot calendar set`)."""
        if calendar is self.calendar:
            return self
        return replace(self, calendar=calendar, **_day_bounds(calendar))

    @property
    def plant(self) -> PlantCalendar:
        if self.calendar is not None:
            return self.calendar
        return PlantCalendar.single_shift(self.tz, self.day_start, self.day_end)

    def production_day(self, moment: datetime) -> date:
        """The production day a moment belongs to: the calendar date on a plant with no shift across
        midnight; on two 12-hour shifts, 00:30 still belongs to the day before (until 08:00)."""
        return self.plant.production_day(moment)

    def day_end_of(self, day: date) -> datetime:
        """The plant-local end of a KIS date's production day (naive, as KIS keeps its moments)."""
        return datetime.combine(day + timedelta(days=1 if self.day_end_next_morning else 0), self.day_end)

    def require_odbc(self) -> str:
        if not self.odbc:
            raise KisNotConfigured()
        return self.odbc
