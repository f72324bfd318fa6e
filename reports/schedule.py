"""When the scheduled reports go out, and to whom: cron strings in plant time, parsed once at start-up.

They are entries of the one schedule (factorybot/schedule.py): Celery beat runs them from crontab entries,
without Redis the in-process scheduler asks `due_since` every few seconds. Both parse the same strings with
celery's own crontab parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from domain.errors import ConfigError
from domain.vocab import Role

OFF = "off"
# The in-process scheduler catches up on a missed minute (a slow round, a short pause), not on hours of
# downtime: a report that was due while the service was down for longer is not sent late into the day.
MAX_CATCH_UP = timedelta(minutes=30)


# A malformed schedule is a configuration error like any other (one type for all of them).
ScheduleError = ConfigError


@dataclass(frozen=True)
class Cron:
    """A five-field cron expression: minute hour day-of-month month day-of-week (0 or 7 = Sunday)."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    @classmethod
    def parse(cls, text: str, name: str) -> Cron:
        fields = text.split()
        if len(fields) != 5:
            raise ScheduleError(f"{name}: '{text}' is not a five-field cron expression (e.g. '0 8 1 * *')")
        try:
            c = _crontab(fields)
        except (ValueError, KeyError) as exc:
            raise ScheduleError(f"{name}: '{text}': {exc}") from None
        return cls(text, frozenset(c.minute), frozenset(c.hour), frozenset(c.day_of_month),
                   frozenset(c.month_of_year), frozenset(c.day_of_week))

    def matches(self, local: datetime) -> bool:
        return (local.minute in self.minutes and local.hour in self.hours and local.day in self.days
                and local.month in self.months and local.isoweekday() % 7 in self.weekdays)

    def crontab(self) -> Any:
        """The same schedule for Celery beat, which reads it in the app's time zone (set to the plant's)."""
        return _crontab(self.text.split())

    def due_since(self, after: datetime, upto: datetime, tz: ZoneInfo) -> datetime | None:
        """The latest scheduled minute in (after, upto], looking back no further than MAX_CATCH_UP."""
        moment = upto.astimezone(tz).replace(second=0, microsecond=0)
        floor = max(after.astimezone(tz), upto.astimezone(tz) - MAX_CATCH_UP)
        while moment > floor:
            if self.matches(moment):
                return moment
            moment -= timedelta(minutes=1)
        return None


def _crontab(fields: list[str]) -> Any:
    from celery.schedules import crontab

    minute, hour, day_of_month, month_of_year, day_of_week = fields
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                   day_of_week=day_of_week)


@dataclass(frozen=True)
class ReportPolicy:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    monthly: Cron | None = field(default_factory=lambda: Cron.parse("0 8 1 * *", "REPORT_MONTHLY_SCHEDULE"))
    daily: Cron | None = field(default_factory=lambda: Cron.parse("0 8 * * *", "REPORT_DAILY_SCHEDULE"))
    monthly_to: tuple[str, ...] = (Role.EXECUTIVE,)
    daily_to: tuple[str, ...] = (Role.SUPERVISOR, Role.OPS_MANAGER)
    board_url: str = "http://127.0.0.1:8000/board"


MONTHLY_JOB, DAILY_JOB = "reports.monthly", "reports.daily_summary"


class ReportSettings(Protocol):
    """What the report policy reads from the settings: typed values, parsed when the settings were built."""

    @property
    def tz(self) -> ZoneInfo: ...
    report_monthly_schedule: Cron | None
    report_daily_schedule: Cron | None
    report_monthly_to: tuple[str, ...]
    report_daily_to: tuple[str, ...]
    public_url: str


def build_report_policy(settings: ReportSettings) -> ReportPolicy:
    """Settings → the report policy (the schedules and roles were parsed, and checked, with the settings)."""
    return ReportPolicy(
        tz=settings.tz,
        monthly=settings.report_monthly_schedule,
        daily=settings.report_daily_schedule,
        monthly_to=settings.report_monthly_to,
        daily_to=settings.report_daily_to,
        board_url=settings.public_url.rstrip("/") + "/board",
    )
