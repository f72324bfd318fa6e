"""Wiring shared by entry points: settings → engine, session factory, policy. Nothing here runs at import."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alerts.policy import AlertConfigError, AlertPolicy, parse_policy
from domain.db import make_engine, make_session_factory
from domain.policy import PlantPolicy
from domain.uow import UnitOfWork
from factorybot.config import ConfigError, Settings
from forecast.policy import ForecastConfigError, ForecastPolicy, parse_forecast_policy


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
    try:
        return parse_forecast_policy(
            tz=settings.tz, shift_hours=settings.shift_hours, rest_days=settings.rest_days,
            holidays=settings.holidays, rate_days=settings.forecast_rate_days,
            at_risk_days=settings.forecast_at_risk_days, warn_days=settings.forecast_warn_days,
            finishing_hours=settings.forecast_finishing_hours,
            overtime_max_hours=settings.forecast_overtime_max_hours,
        )
    except ForecastConfigError as exc:
        raise ConfigError(f"配置错误 / invalid configuration: {exc}") from exc


def build_alert_policy(settings: Settings) -> AlertPolicy:
    forecast = build_forecast_policy(settings)
    try:
        return replace(parse_policy(
            tz=settings.tz, start_grace_minutes=settings.alert_start_grace_minutes,
            plan_threshold_pct=settings.alert_plan_threshold_pct, shift_hours=settings.shift_hours,
            checkpoints=settings.alert_plan_checkpoints, defect_limit_pct=settings.alert_defect_limit_pct,
            defect_scope=settings.alert_defect_scope, ack_minutes=settings.alert_ack_minutes,
            chain=settings.alert_escalation_chain, routes=settings.alert_routes,
            repair_answer_minutes=settings.repair_answer_minutes, machine_zones=settings.machine_zones,
            zone_distances=settings.zone_distances, technician_machines=settings.technician_machines,
            public_url=settings.public_url,
        ), forecast=forecast)
    except AlertConfigError as exc:
        raise ConfigError(f"配置错误 / invalid configuration: {exc}") from exc


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
