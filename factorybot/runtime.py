"""Wiring shared by entry points: settings → engine, session factory, policy. Nothing here runs at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from domain.db import make_engine, make_session_factory
from domain.policy import PlantPolicy
from domain.uow import UnitOfWork
from factorybot.config import ConfigError, Settings


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
    )


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    policy: PlantPolicy

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.database_url)
        return cls(settings, engine, make_session_factory(engine), build_policy(settings))

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.policy.work_day(self.now())
