"""Alert settings as plain values, built by the entry point from the typed settings (parsed, and checked,
when the settings were built, so a typo fails at start-up, not at 02:00)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.calendar_book import CalendarBook
from domain.plant_calendar import PlantCalendar
from domain.vocab import Role
from forecast.calendar import ShiftCalendar
from forecast.policy import ForecastPolicy

DEFAULT_ROUTE = (Role.SUPERVISOR, Role.OPS_MANAGER)
# A failed KIS sync is a system problem: the administrator fixes it, not the floor.
BUILTIN_ROUTES: dict[str, tuple[str, ...]] = {"kis_pull_failed": (Role.ADMIN,), "kis_push_failed": (Role.ADMIN,)}


@dataclass(frozen=True)
class AlertPolicy:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    # The plant's calendar (shifts, crews, who is on duty); None: one shift_start-shift_end shift a day.
    book: CalendarBook | None = field(default=None, compare=False)
    start_grace: timedelta = timedelta(minutes=30)
    plan_threshold_pct: float = 70.0
    shift_start: time = time(8, 0)
    shift_end: time = time(20, 0)
    checkpoints: tuple[time, ...] = (time(11, 0), time(15, 0), time(19, 0))
    defect_limit_pct: float = 3.0
    defect_scope: str = "mould"
    ack_within: timedelta = timedelta(minutes=15)
    # The levels an unacknowledged alert climbs; each level may name several roles ("ops_manager|admin").
    chain: tuple[tuple[str, ...], ...] = ((Role.SUPERVISOR,), (Role.OPS_MANAGER,), (Role.EXECUTIVE,))
    routes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    repair_answer_within: timedelta = timedelta(minutes=10)
    machine_zones: dict[str, str] = field(default_factory=dict)
    distances: dict[frozenset[str], int] = field(default_factory=dict)
    technician_machines: dict[str, frozenset[str]] = field(default_factory=dict)
    reminders_per_shift: int = 1  # ALERT_REMINDERS_PER_SHIFT
    severity: dict[str, str] = field(default_factory=dict)  # rule → normal | severe | critical (ALERT_SEVERITY)
    quiet_hours: tuple[time, time] | None = (time(22, 0), time(7, 0))  # ALERT_QUIET_HOURS, plant time
    max_redispatch: int = 2  # REPAIR_MAX_REDISPATCH
    repair_causes: tuple[str, ...] = ("电气", "液压", "机械", "加热", "模具", "其他")  # REPAIR_CAUSES
    conversation_ttl: timedelta = timedelta(minutes=10)  # CONVERSATION_MINUTES
    public_url: str = ""  # for the 查看详情 link on cards
    forecast: ForecastPolicy = field(default_factory=ForecastPolicy)  # the shift calendar and 交期预警 thresholds

    def detail_url(self, facts: dict[str, object]) -> str | None:
        """The board page an alert is about: its work order's order, or the order itself."""
        if not self.public_url:
            return None
        if facts.get("工单") not in (None, "", "-"):
            return f"{self.public_url.rstrip('/')}/board/wo/{facts['工单']}"
        if facts.get("订单") not in (None, "", "-"):
            return f"{self.public_url.rstrip('/')}/board/order/{facts['订单']}"
        return None

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def at(self, day: date, t: time) -> datetime:
        return datetime.combine(day, t, tzinfo=self.tz)

    @property
    def calendar(self) -> ShiftCalendar:
        """The plant's shift calendar (REST_DAYS, HOLIDAYS): the forecast's, so there is only one."""
        return self.forecast.calendar

    @property
    def plant(self) -> PlantCalendar:
        """The plant calendar (domain/plant_calendar.py): shifts, production days, crews on duty."""
        if self.book is not None:
            return self.book.current()
        cal = self.calendar
        return _single(self.tz, self.shift_start, self.shift_end, cal.rest_weekdays, cal.holidays)

    def shift_hours(self, day: date) -> tuple[time, time]:
        """A one-shift plant's shift on a day, from the calendar (a stored calendar wins over SHIFT_HOURS)."""
        first = self.plant.pattern_for(day).shifts[0]
        return first.start, first.end

    def level_roles(self, level: int) -> tuple[str, ...]:
        """The roles of a level of the chain; past the top, the top."""
        return self.chain[min(level, len(self.chain) - 1)]

    def route(self, rule: str) -> tuple[str, ...]:
        return self.routes.get(rule) or BUILTIN_ROUTES.get(rule, DEFAULT_ROUTE)

    def distance(self, a: str | None, b: str | None) -> int:
        """Zones apart; unknown zones are far, so a technician with a known place is preferred."""
        if a is None or b is None:
            return 99
        return 0 if a == b else self.distances.get(frozenset((a, b)), 50)

    def qualified(self, technician: str, machine: str | None) -> bool:
        allowed = self.technician_machines.get(technician)
        return allowed is None or machine is None or machine in allowed


@lru_cache(maxsize=16)
def _single(tz: ZoneInfo, start: time, end: time, rest: frozenset[int], holidays: frozenset[date]) -> PlantCalendar:
    return PlantCalendar.single_shift(tz, start, end, rest_weekdays=rest, holidays=holidays)
