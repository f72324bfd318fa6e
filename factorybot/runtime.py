"""Wiring shared by entry points: settings → engine, session factory, policy. Nothing here runs at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alerts.policy import AlertPolicy
from domain.calendar_book import CalendarBook
from domain.db import READ_ONLY, make_engine, make_session_factory
from domain.plant_calendar import CalendarSpec, DayPattern, PlantCalendar
from domain.policy import PlantPolicy
from domain.services.calendar_store import stored_spec_text
from domain.uow import UnitOfWork
from factorybot.config import ConfigError, Settings
from forecast.policy import ForecastPolicy


def settings_calendar(settings: Settings) -> PlantCalendar:
    """The calendar the settings describe: SHIFTS, or the one shift of SHIFT_HOURS; REST_DAYS, HOLIDAYS and
    WORKDAYS. (A calendar stored with `factorybot calendar set` replaces it: see calendar_book.)"""
    if not settings.shifts:
        return PlantCalendar.single_shift(settings.tz, settings.shift_hours.start, settings.shift_hours.end,
                                          rest_weekdays=settings.rest_days, holidays=settings.holidays,
                                          workdays=settings.workdays)
    name = "两班" if len(settings.shifts) == 2 else "三班" if len(settings.shifts) == 3 else f"{len(settings.shifts)}班"
    return PlantCalendar(CalendarSpec(patterns=(DayPattern(name, settings.shifts),), rest_weekdays=settings.rest_days,
                                      holidays=settings.holidays, workdays=settings.workdays), settings.tz)


def calendar_book(settings: Settings, session_factory: sessionmaker[Session] | None = None) -> CalendarBook:
    """The plant's calendar for this process: the stored one, read again every CALENDAR_REFRESH_SECONDS with
    a short session of its own, else the settings'. Without a database (a check of the settings), the settings'."""
    if session_factory is None:
        return CalendarBook(settings_calendar(settings))

    def load() -> str | None:
        # Asked from inside other units of work: a read-only (deferred) transaction never waits for the
        # SQLite write lock the asking unit itself may hold.
        with session_factory() as session:
            session.connection(execution_options={READ_ONLY: True})
            return stored_spec_text(session)

    return CalendarBook(settings_calendar(settings), load, ttl_seconds=settings.calendar_refresh_seconds)


def build_policy(settings: Settings, book: CalendarBook | None = None) -> PlantPolicy:
    try:
        label_key = settings.label_secret
    except ConfigError:  # commands that print no label and read no scan need no key
        label_key = b""
    return PlantPolicy(
        tz=settings.tz,
        book=book or calendar_book(settings),
        tolerance_pct=settings.report_tolerance_pct,
        points_rule=settings.points_rule,
        points_daily_cap=settings.points_daily_cap,
        undo_minutes=settings.undo_minutes,
        exception_types=settings.exception_type_list,
        label_key=label_key,
        label_key_previous=settings.label_previous_secret,
        label_key_previous_until=settings.label_key_previous_until,
    )


def build_forecast_policy(settings: Settings, book: CalendarBook | None = None) -> ForecastPolicy:
    """The forecast counts the working time of the book's current calendar (no calendar of its own), so a
    calendar stored with `factorybot calendar set` moves the projections too."""
    return ForecastPolicy(book=book or calendar_book(settings), rate_days=settings.forecast_rate_days,
                          at_risk_days=settings.forecast_at_risk_days, warn_days=settings.forecast_warn_days,
                          finishing_hours=settings.forecast_finishing_hours,
                          overtime_max_hours=settings.forecast_overtime_max_hours,
                          press_stopped_minutes=settings.press_stopped_minutes)


def build_alert_policy(settings: Settings, book: CalendarBook | None = None) -> AlertPolicy:
    """The typed settings (parsed, and checked, when they were built) as the alert engine's policy."""
    book = book or calendar_book(settings)
    return AlertPolicy(
        book=book,
        tz=settings.tz,
        start_grace=timedelta(minutes=settings.alert_start_grace_minutes),
        plan_threshold_pct=settings.alert_plan_threshold_pct,
        shift_start=settings.shift_hours.start,
        shift_end=settings.shift_hours.end,
        checkpoints=settings.alert_plan_checkpoints,
        defect_limit_pct=settings.alert_defect_limit_pct,
        defect_scope=settings.alert_defect_scope,
        ack_within=timedelta(minutes=settings.alert_ack_minutes),
        chain=settings.alert_escalation_chain,
        routes=dict(settings.alert_routes),
        repair_answer_within=timedelta(minutes=settings.repair_answer_minutes),
        machine_zones=dict(settings.machine_zones),
        distances=dict(settings.zone_distances),
        technician_machines=dict(settings.technician_machines),
        reminders_per_shift=settings.alert_reminders_per_shift,
        severity=dict(settings.alert_severity),
        quiet_hours=settings.alert_quiet_hours,
        max_redispatch=settings.repair_max_redispatch,
        repair_causes=settings.repair_causes,
        conversation_ttl=timedelta(minutes=settings.conversation_minutes),
        public_url=settings.public_url,
        forecast=build_forecast_policy(settings, book),
    )


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    policy: PlantPolicy
    alert_policy: AlertPolicy
    calendar: CalendarBook

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.database_url)
        session_factory = make_session_factory(engine)
        book = calendar_book(settings, session_factory)  # one book: every policy asks the same calendar
        return cls(settings, engine, session_factory, build_policy(settings, book),
                   build_alert_policy(settings, book), book)

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.session_factory, read_only=read_only)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.policy.work_day(self.now())
