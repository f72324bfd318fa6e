"""KIS settings as plain values, parsed once when an entry point starts, so a typo fails there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from factorybot.config import ConfigError, Settings
from kis.errors import KisNotConfigured

Route = tuple[tuple[str, str], ...]


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
    pull_schedule: str = "0 2 * * *"
    reconcile_schedule: str | None = "30 2 * * *"
    # KIS stores many dates without a time: a task "starting" on a day starts at the shift's start.
    day_start: time = time(8, 0)
    day_end: time = time(20, 0)

    @classmethod
    def from_settings(cls, settings: Settings) -> KisConfig:
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
            default_route=parse_route(settings.kis_default_route),
            schema=settings.kis_schema or None,
            task_tran_types=_integers(settings.kis_task_tran_types),
            task_exclude_types=_integers(settings.kis_task_exclude_types),
            pull_schedule=settings.kis_pull_schedule,
            reconcile_schedule=None if settings.kis_reconcile_schedule.lower() == "off" else settings.kis_reconcile_schedule,
            day_start=_shift(settings.shift_hours)[0],
            day_end=_shift(settings.shift_hours)[1],
        )

    def require_odbc(self) -> str:
        if not self.odbc:
            raise KisNotConfigured()
        return self.odbc


def parse_route(text: str) -> Route:
    """'注塑@注塑车间,修边@后加工车间' → (('注塑', '注塑车间'), ('修边', '后加工车间'))."""
    steps = []
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        name, sep, workshop = part.partition("@")
        if not sep or not name.strip() or not workshop.strip():
            raise ConfigError(f"配置错误 / invalid configuration: KIS_DEFAULT_ROUTE: 「{part.strip()}」应写作 工序@车间")
        steps.append((name.strip(), workshop.strip()))
    if not steps:
        raise ConfigError("配置错误 / invalid configuration: KIS_DEFAULT_ROUTE: 至少需要一道工序")
    return tuple(steps)


def _integers(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(",") if p.strip())


def _shift(text: str) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(p.strip()) for p in text.split("-", 1))
    except ValueError as exc:
        raise ConfigError(f"配置错误 / invalid configuration: SHIFT_HOURS: {text}") from exc
    return start, end
