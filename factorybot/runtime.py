"""Wiring shared by entry points: settings → engine, session factory, policy. Nothing here runs at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alerts.policy import AlertPolicy
from domain.db import make_engine, make_session_factory
from domain.policy import PlantPolicy
from domain.uow import UnitOfWork
from factorybot.config import ConfigError, Settings
from forecast.calendar import ShiftCalendar
from forecast.policy import ForecastPolicy


def build_policy(settings: Settings) -> PlantPolicy:
    try:
        label_key = settings.label_secret
    except ConfigError:  # commands that print no label and read no scan need no key
        label_key = b""
    return PlantPolicy(
        tz=settings.tz,
        tolerance_pct=settings.report_tolerance_pct,
        points_per_report=settings.points_per_report,
        points_per_hundred_good=settings.points_per_hundred_good,
        exception_types=settings.exception_type_list,
        label_key=label_key,
        label_key_previous=settings.label_previous_secret,
        label_key_previous_until=settings.label_key_previous_until,
    )


def build_forecast_policy(settings: Settings) -> ForecastPolicy:
    calendar = ShiftCalendar(tz=settings.tz, shift_start=settings.shift_hours.start,
                             shift_end=settings.shift_hours.end, rest_weekdays=settings.rest_days,
                             holidays=settings.holidays)
    return ForecastPolicy(calendar=calendar, rate_days=settings.forecast_rate_days,
                          at_risk_days=settings.forecast_at_risk_days, warn_days=settings.forecast_warn_days,
                          finishing_hours=settings.forecast_finishing_hours,
                          overtime_max_hours=settings.forecast_overtime_max_hours)


def build_alert_policy(settings: Settings) -> AlertPolicy:
    """The typed settings (parsed, and checked, when they were built) as the alert engine's policy."""
    return AlertPolicy(
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
        public_url=settings.public_url,
        forecast=build_forecast_policy(settings),
    )


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    policy: PlantPolicy
    alert_policy: AlertPolicy

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.database_url)
        return cls(settings, engine, make_session_factory(engine), build_policy(settings),
                   build_alert_policy(settings))

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(self.session_factory, read_only=read_only)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.policy.work_day(self.now())
