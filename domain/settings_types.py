"""Typed plant settings shared by several packages (shift hours, clock times, rest days, holidays, roles),
each parsed from its environment string once, when the settings are built.

Plain values (dataclasses, frozensets, tuples) with pydantic validators beside them: domain/ carries no
pydantic-settings, and factorybot/config.py composes these into `Settings`. A parser raises ConfigError with
the variable's name first, so the same message reads well alone and in the settings' report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import PlainValidator, ValidationInfo

from domain.errors import ConfigError
from domain.plant_calendar import ShiftPattern, parse_clock, parse_shifts
from domain.points import PointsRule, parse_points_rule
from domain.vocab import Role

T = TypeVar("T")

WEEKDAYS: dict[str, int] = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "周一": 0, "周二": 1, "周三": 2, "周四": 3, "周五": 4, "周六": 5, "周日": 6, "周天": 6,
}


@dataclass(frozen=True)
class ShiftHours:
    """SHIFT_HOURS, e.g. 08:00-20:00. The type can hold a night shift (end before start, across midnight);
    today's settings accept only a shift that ends after it starts on the same day."""

    start: time = time(8, 0)
    end: time = time(20, 0)

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_shift_hours(text: str, name: str = "SHIFT_HOURS") -> ShiftHours:
    start, _, end = text.partition("-")
    return ShiftHours(parse_clock(start, name), parse_clock(end, name))


def parse_same_day_shift(text: str, name: str = "SHIFT_HOURS") -> ShiftHours:
    shift = parse_shift_hours(text, name)
    if shift.overnight:
        raise ConfigError(f"{name}: the shift must end after it starts on the same day, e.g. 08:00-20:00")
    return shift


def parse_optional_shifts(text: str, name: str = "SHIFTS") -> tuple[ShiftPattern, ...]:
    """SHIFTS, e.g. "白班=08:00-20:00,夜班=20:00-08:00"; empty: the one shift of SHIFT_HOURS."""
    return parse_shifts(text, name) if text.strip() else ()


def parse_clocks(text: str, name: str) -> tuple[time, ...]:
    """'11:00,15:00,19:00' → the times, sorted; empty: none."""
    return tuple(sorted(parse_clock(c, name) for c in text.split(",") if c.strip()))


def parse_rest_days(text: str, name: str = "REST_DAYS") -> frozenset[int]:
    """"sun" or "sat,sun" (or 周日): the weekdays the plant does not run (0 = Monday)."""
    days = set()
    for item in (x.strip().lower() for x in text.replace("，", ",").split(",")):
        if not item:
            continue
        if item not in WEEKDAYS:
            raise ConfigError(f"{name}: 不认识的星期 {item!r}（可写 mon,tue,wed,thu,fri,sat,sun 或 周一…周日）")
        days.add(WEEKDAYS[item])
    if len(days) == 7:
        raise ConfigError(f"{name}: 一周至少要有一天工作日")
    return frozenset(days)


def parse_holidays(text: str, name: str = "HOLIDAYS") -> frozenset[date]:
    """"2027-02-05..2027-02-13,2027-05-01": single days or inclusive ranges."""
    out: set[date] = set()
    for item in (x.strip() for x in text.replace("，", ",").split(",")):
        if not item:
            continue
        first, _, last = item.partition("..")
        try:
            a = date.fromisoformat(first.strip())
            b = date.fromisoformat(last.strip()) if last else a
        except ValueError:
            raise ConfigError(f"{name}: {item!r} 应写作 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD") from None
        if b < a:
            raise ConfigError(f"{name}: 日期范围 {item!r} 的结束早于开始")
        out.update(_days(a, b))
    return frozenset(out)


def _days(a: date, b: date) -> Iterable[date]:
    while a <= b:
        yield a
        a += timedelta(days=1)


def parse_roles(text: str, name: str, sep: str = ",") -> tuple[str, ...]:
    """Role names separated by `sep`; at least one, each a known role."""
    roles = tuple(r.strip() for r in text.split(sep) if r.strip())
    unknown = [r for r in roles if r not in Role.__members__.values()]
    if unknown or not roles:
        raise ConfigError(f"{name}: unknown role(s) {unknown or text!r}")
    return roles


def parse_pairs(text: str, sep: str = ",") -> list[tuple[str, str]]:
    """'a:1,b:2' → [('a', '1'), ('b', '2')] (items split on `sep`, key and value on the first colon)."""
    out = []
    for item in (x.strip() for x in text.split(sep)):
        if item:
            key, _, value = item.partition(":")
            out.append((key.strip(), value.strip()))
    return out


def from_text(parse: Callable[[str, str], T], kind: type | tuple[type, ...]) -> PlainValidator:
    """A pydantic validator for a setting written as a string: the string is parsed with the variable's
    name (the field's, upper-cased); a value of the typed kind (a default, a test's) is taken as it is."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, kind):
            return value
        if not isinstance(value, str):
            raise ConfigError(f"must be text, got {type(value).__name__}")
        return parse(value, (info.field_name or "?").upper())

    return PlainValidator(validate)


# The settings' field types: the typed value, parsed from the environment string by the validator.
SameDayShiftSetting = Annotated[ShiftHours, from_text(parse_same_day_shift, ShiftHours)]
ClocksSetting = Annotated[tuple[time, ...], from_text(parse_clocks, tuple)]
RestDaysSetting = Annotated[frozenset[int], from_text(parse_rest_days, frozenset)]
ShiftsSetting = Annotated[tuple[ShiftPattern, ...], from_text(parse_optional_shifts, tuple)]
HolidaysSetting = Annotated[frozenset[date], from_text(parse_holidays, frozenset)]
PointsRuleSetting = Annotated[PointsRule, from_text(parse_points_rule, PointsRule)]
