"""Alert settings as plain values, parsed once at start-up so a typo fails there, not at 02:00."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.vocab import Role
from forecast.calendar import ShiftCalendar
from forecast.policy import ForecastPolicy

DEFAULT_ROUTE = (Role.SUPERVISOR, Role.OPS_MANAGER)
# A failed KIS sync is a system problem: the administrator fixes it, not the floor.
BUILTIN_ROUTES: dict[str, tuple[str, ...]] = {"kis_pull_failed": (Role.ADMIN,), "kis_push_failed": (Role.ADMIN,)}
SCOPES = ("mould", "product", "machine")


class AlertConfigError(ValueError):
    pass


@dataclass(frozen=True)
class AlertPolicy:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
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


def _clock(text: str, name: str) -> time:
    try:
        hour, minute = text.strip().split(":")
        return time(int(hour), int(minute))
    except ValueError:
        raise AlertConfigError(f"{name}: '{text}' is not HH:MM") from None


def _roles(text: str, name: str) -> tuple[str, ...]:
    roles = tuple(r.strip() for r in text.split("|") if r.strip())
    unknown = [r for r in roles if r not in Role.__members__.values()]
    if unknown or not roles:
        raise AlertConfigError(f"{name}: unknown role(s) {unknown or text!r}")
    return roles


def _pairs(text: str, sep: str = ",") -> list[tuple[str, str]]:
    out = []
    for item in (x.strip() for x in text.split(sep)):
        if item:
            key, _, value = item.partition(":")
            out.append((key.strip(), value.strip()))
    return out


def parse_policy(
    *, tz: ZoneInfo, start_grace_minutes: int, plan_threshold_pct: float, shift_hours: str, checkpoints: str,
    defect_limit_pct: float, defect_scope: str, ack_minutes: int, chain: str, routes: str,
    repair_answer_minutes: int, machine_zones: str, zone_distances: str, technician_machines: str,
    public_url: str = "",
) -> AlertPolicy:
    start, _, end = shift_hours.partition("-")
    if defect_scope not in SCOPES:
        raise AlertConfigError(f"ALERT_DEFECT_SCOPE: must be one of {', '.join(SCOPES)}")
    levels = tuple(_roles(r, "ALERT_ESCALATION_CHAIN") for r in chain.split(",") if r.strip())
    if not levels:
        raise AlertConfigError("ALERT_ESCALATION_CHAIN: needs at least one role, e.g. supervisor,ops_manager,executive")
    distances: dict[frozenset[str], int] = {}
    for pair, value in _pairs(zone_distances):
        a, _, b = pair.partition("-")
        try:
            distances[frozenset((a.strip(), b.strip()))] = int(value)
        except ValueError:
            raise AlertConfigError(f"ZONE_DISTANCES: '{pair}:{value}' needs a whole number") from None
    return AlertPolicy(
        tz=tz,
        start_grace=timedelta(minutes=start_grace_minutes),
        plan_threshold_pct=plan_threshold_pct,
        shift_start=_clock(start, "SHIFT_HOURS"),
        shift_end=_clock(end, "SHIFT_HOURS"),
        checkpoints=tuple(sorted(_clock(c, "ALERT_PLAN_CHECKPOINTS") for c in checkpoints.split(",") if c.strip())),
        defect_limit_pct=defect_limit_pct,
        defect_scope=defect_scope,
        ack_within=timedelta(minutes=ack_minutes),
        chain=levels,
        routes={rule: _roles(value, "ALERT_ROUTES") for rule, value in _pairs(routes, ";")},
        repair_answer_within=timedelta(minutes=repair_answer_minutes),
        machine_zones=dict(_pairs(machine_zones)),
        distances=distances,
        technician_machines={t: frozenset(m.strip() for m in ms.split("|") if m.strip())
                             for t, ms in _pairs(technician_machines, ";")},
        public_url=public_url,
    )
