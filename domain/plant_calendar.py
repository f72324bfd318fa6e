"""The plant's time: shift patterns (which may cross midnight, with breaks), which pattern runs on which
dates, rest days, holidays and make-up working days (调休上班), crews (班组) and their rotation.

One object answers every time question the rest of FactoryBot asks: which shift is it at t, which production
day does t belong to, which crew is on, how many working minutes lie between t1 and t2. Pure arithmetic on
frozen values: no database, no clock of its own (domain/calendar_book.py keeps the plant's current one).

A production day begins at the day boundary: midnight for a plant whose shifts all end on the day they start
(SHIFT_HOURS=08:00-20:00: nothing changes for a one-shift plant), else the start of the first shift of the
default pattern (two 12-hour shifts: 08:00, so a report at 01:30 or 07:59 belongs to the night shift of the
previous production day). Every shift of a pattern lies inside one production day, in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import ConfigError

DAY = timedelta(days=1)
_MAX_DAYS = 3 * 366  # a calendar with no working day at all is refused when it is built
DEFAULT_SHIFT_NAME = "白班"


def _offset(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute)


def _clock_text(t: time) -> str:
    return f"{t:%H:%M}"


def parse_clock(text: str, name: str) -> time:
    """'8:00' or '08:00' → time(8, 0)."""
    try:
        hour, minute = text.strip().split(":")
        return time(int(hour), int(minute))
    except ValueError:
        raise ConfigError(f"{name}: '{text.strip()}' is not HH:MM（应写作 时:分，如 08:00）") from None


@dataclass(frozen=True)
class ShiftPattern:
    """One shift of a day's pattern: 白班 08:00-20:00, or 夜班 20:00-08:00 (ends the next morning)."""

    name: str
    start: time
    end: time
    breaks: tuple[tuple[time, time], ...] = ()

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    @property
    def length(self) -> timedelta:
        span = _offset(self.end) - _offset(self.start)
        return span if span > timedelta(0) else span + DAY

    def __str__(self) -> str:
        text = f"{self.name}={_clock_text(self.start)}-{_clock_text(self.end)}"
        return text + "".join(f"/{_clock_text(a)}-{_clock_text(b)}" for a, b in self.breaks)


@dataclass(frozen=True)
class DayPattern:
    """The shifts a production day runs, in order from the day boundary (e.g. 两班: 白班, 夜班)."""

    name: str
    shifts: tuple[ShiftPattern, ...]

    def __str__(self) -> str:
        return ",".join(str(s) for s in self.shifts)


@dataclass(frozen=True)
class PatternRange:
    """Dates (inclusive) on which another pattern runs, e.g. 单班 through the slow season."""

    first: date
    last: date
    pattern: str


@dataclass(frozen=True)
class Crew:
    """A 班组: its lead (a WeCom userid) and members (userids; the lead is a member too)."""

    name: str
    lead: str | None = None
    members: tuple[str, ...] = ()

    @property
    def people(self) -> tuple[str, ...]:
        if self.lead and self.lead not in self.members:
            return (self.lead, *self.members)
        return self.members


@dataclass(frozen=True)
class Rotation:
    """Which crew works which shift: a cycle of days from an anchor date, each day naming the crew of each
    shift in the pattern's order (None: no crew named). 四班两倒 is an 8-day cycle of 2 shifts."""

    anchor: date
    days: tuple[tuple[str | None, ...], ...]

    def crew(self, day: date, index: int) -> str | None:
        if not self.days:
            return None
        row = self.days[(day - self.anchor).days % len(self.days)]
        return row[index] if index < len(row) else None

    def __str__(self) -> str:
        return f"{self.anchor.isoformat()}:" + ",".join("/".join(c or "-" for c in row) for row in self.days)


@dataclass(frozen=True)
class CalendarSpec:
    """Everything that defines the plant's time, as stored (JSON) and as typed by the administrator."""

    patterns: tuple[DayPattern, ...]  # the first is the default
    ranges: tuple[PatternRange, ...] = ()
    rest_weekdays: frozenset[int] = frozenset()  # 0 = Monday … 6 = Sunday
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # make-up working days: working even on a rest weekday
    crews: tuple[Crew, ...] = ()
    rotation: Rotation | None = None

    def to_json(self) -> str:
        return json.dumps({
            "patterns": [{"name": p.name, "shifts": str(p)} for p in self.patterns],
            "ranges": [{"first": r.first.isoformat(), "last": r.last.isoformat(), "pattern": r.pattern}
                       for r in self.ranges],
            "rest_weekdays": sorted(self.rest_weekdays),
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
            "crews": [{"name": c.name, "lead": c.lead, "members": list(c.members)} for c in self.crews],
            "rotation": str(self.rotation) if self.rotation else None,
        }, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CalendarSpec:
        data: dict[str, Any] = json.loads(text)
        return cls(
            patterns=tuple(DayPattern(p["name"], parse_shifts(p["shifts"])) for p in data["patterns"]),
            ranges=tuple(PatternRange(date.fromisoformat(r["first"]), date.fromisoformat(r["last"]), r["pattern"])
                         for r in data.get("ranges", [])),
            rest_weekdays=frozenset(int(d) for d in data.get("rest_weekdays", [])),
            holidays=frozenset(date.fromisoformat(d) for d in data.get("holidays", [])),
            workdays=frozenset(date.fromisoformat(d) for d in data.get("workdays", [])),
            crews=tuple(Crew(c["name"], c.get("lead"), tuple(c.get("members", []))) for c in data.get("crews", [])),
            rotation=parse_rotation(data["rotation"]) if data.get("rotation") else None,
        )


def parse_shifts(text: str, what: str = "SHIFTS") -> tuple[ShiftPattern, ...]:
    """"白班=08:00-20:00/12:00-12:30,夜班=20:00-08:00" → the shifts (a "/range" after a shift is a break).

    A bare "08:00-20:00" is one shift named 白班 (SHIFT_HOURS' form).
    """
    out: list[ShiftPattern] = []
    for item in (x.strip() for x in text.replace("，", ",").replace("；", ",").replace(";", ",").split(",")):
        if not item:
            continue
        name, sep, hours = item.partition("=")
        if not sep:
            name, hours = DEFAULT_SHIFT_NAME if not out else f"第{len(out) + 1}班", item
        name = name.strip()
        if not name or len(name) > 20:
            raise ConfigError(f"{what}: 班次需要一个不超过 20 个字的名称（「{item}」）")
        ranges = [r for r in hours.split("/") if r.strip()]
        if not ranges:
            raise ConfigError(f"{what}: 班次 {name} 没有时间，应写作 {name}=08:00-20:00")
        spans = []
        for r in ranges:
            a, dash, b = r.partition("-")
            if not dash:
                raise ConfigError(f"{what}: 「{r.strip()}」应写作 HH:MM-HH:MM")
            spans.append((parse_clock(a, what), parse_clock(b, what)))
        (start, end), breaks = spans[0], tuple(spans[1:])
        if start == end:
            raise ConfigError(f"{what}: 班次 {name} 的开始和结束都是 {_clock_text(start)}")
        out.append(ShiftPattern(name, start, end, breaks))
    if not out:
        raise ConfigError(f"{what}: 没有给出班次，例如 白班=08:00-20:00,夜班=20:00-08:00")
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"{what}: 两个班次同名（{'、'.join(names)}）")
    return tuple(out)


def parse_rotation(text: str, what: str = "rotation") -> Rotation:
    """"2026-12-01:甲/丙,甲/丙,乙/丁,…": from the anchor date, each day's crews in the shifts' order."""
    anchor_text, sep, days_text = text.partition(":")
    try:
        anchor = date.fromisoformat(anchor_text.strip())
    except ValueError:
        raise ConfigError(f"{what}: 请以轮班周期的第一天开头，例如 2026-12-01:甲/丙,乙/丁") from None
    days: list[tuple[str | None, ...]] = []
    for row in (x.strip() for x in days_text.replace("，", ",").split(",")):
        if not row:
            continue
        days.append(tuple(None if c.strip() in ("-", "") else c.strip() for c in row.split("/")))
    if not sep or not days:
        raise ConfigError(f"{what}: 日期后没有给出任何一天的班组，例如 2026-12-01:甲/丙,乙/丁")
    return Rotation(anchor, tuple(days))


@dataclass(frozen=True)
class Shift:
    """One occurrence of a shift: 12-02 夜班, 2026-12-02 20:00 → 12-03 08:00, crew 丙班."""

    day: date  # the production day it belongs to
    name: str
    index: int  # its place in the day's pattern
    start: datetime
    end: datetime
    crew: str | None
    working: bool  # False on a rest day or holiday: a nominal shift, so overtime still has a home
    breaks: tuple[tuple[datetime, datetime], ...] = ()

    @property
    def key(self) -> str:
        """Stable and unique per shift occurrence: '2026-12-02/夜班'."""
        return f"{self.day.isoformat()}/{self.name}"

    @property
    def label(self) -> str:
        return f"{self.day:%m-%d} {self.name}"

    @property
    def hours_text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @cached_property
    def intervals(self) -> tuple[tuple[datetime, datetime], ...]:
        """The working spans of the shift: start to end without its breaks (none on a rest day). Cached: a
        month's working minutes ask every shift of the month (bench/plant_time.py)."""
        if not self.working:
            return ()
        out: list[tuple[datetime, datetime]] = []
        at = self.start
        for a, b in self.breaks:
            if a > at:
                out.append((at, a))
            at = max(at, b)
        if at < self.end:
            out.append((at, self.end))
        return tuple(out)

    @cached_property
    def minutes(self) -> float:
        return sum((b - a).total_seconds() for a, b in self.intervals) / 60

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


class PlantCalendar:
    """The plant's calendar in one time zone. Immutable; hashable by identity. Questions about a day are
    cached, so asking "which shift is t" on every report and alert round stays in microseconds."""

    def __init__(self, spec: CalendarSpec, tz: ZoneInfo) -> None:
        self.spec, self.tz = spec, tz
        if not spec.patterns:
            raise ConfigError("日历至少需要一个班次模式")
        self._patterns = {p.name: p for p in spec.patterns}
        if len(self._patterns) != len(spec.patterns):  # a range naming one of them would pick either
            raise ConfigError(f"两个班次模式同名（{'、'.join(p.name for p in spec.patterns)}）")
        for r in spec.ranges:
            if r.pattern not in self._patterns:
                raise ConfigError(f"{r.first}..{r.last} 使用的班次模式 {r.pattern} 未定义")
            if r.last < r.first:
                raise ConfigError(f"日期范围 {r.first}..{r.last} 的结束早于开始")
        self._crews = {c.name: c for c in spec.crews}
        if len(self._crews) != len(spec.crews):
            raise ConfigError(f"两个班组同名（{'、'.join(c.name for c in spec.crews)}）")
        self._crew_of: dict[str, Crew] = {}
        for c in spec.crews:
            for u in c.people:
                other = self._crew_of.setdefault(u, c)
                if other is not c:  # on_duty and crew_of need one answer per person
                    raise ConfigError(f"{u} 同时在两个班组：{other.name}、{c.name}")
        if spec.rotation is not None:
            unknown = {c for row in spec.rotation.days for c in row if c and c not in self._crews}
            if unknown:
                raise ConfigError(f"轮班中有未定义的班组：{'、'.join(sorted(unknown))}")
            most = max(len(p.shifts) for p in spec.patterns)
            for n, row in enumerate(spec.rotation.days, start=1):
                if len(row) > most:  # a crew beyond the day's shifts would silently never work
                    raise ConfigError(f"轮班第 {n} 天排了 {len(row)} 个班组，但一天最多只有 {most} 个班次")
        self.day_start = self._boundary()
        self._start_delta = _offset(self.day_start)
        for p in spec.patterns:
            self._check_pattern(p)
        if len(spec.rest_weekdays) == 7 and not spec.workdays:
            raise ConfigError("每周七天都是休息日，工厂无法开工")
        self._day_cache: dict[date, tuple[Shift, ...]] = {}

    @classmethod
    def single_shift(cls, tz: ZoneInfo, start: time = time(8, 0), end: time = time(20, 0), *,
                     rest_weekdays: Iterable[int] = (), holidays: Iterable[date] = (),
                     workdays: Iterable[date] = ()) -> PlantCalendar:
        """SHIFT_HOURS' calendar: one shift a day, named 白班."""
        return cls(CalendarSpec(patterns=(DayPattern("单班", (ShiftPattern(DEFAULT_SHIFT_NAME, start, end),)),),
                                rest_weekdays=frozenset(rest_weekdays), holidays=frozenset(holidays),
                                workdays=frozenset(workdays)), tz)

    # --- construction checks ---------------------------------------------------------------------------

    def _boundary(self) -> time:
        default = self.spec.patterns[0]
        if any(s.overnight for p in self.spec.patterns for s in p.shifts):
            return default.shifts[0].start
        return time(0, 0)

    def _offsets(self, p: DayPattern) -> list[tuple[timedelta, timedelta]]:
        out = []
        for s in p.shifts:
            begin = (_offset(s.start) - self._start_delta) % DAY
            out.append((begin, begin + s.length))
        return out

    def _check_pattern(self, p: DayPattern) -> None:
        previous_end = timedelta(0)
        for s, (begin, end) in zip(p.shifts, self._offsets(p), strict=True):
            if begin < previous_end:
                raise ConfigError(f"{p.name} 中 {s.name} 在上一班结束前就开始了（请按一天中的先后顺序列出班次）")
            if end > DAY:
                raise ConfigError(f"{p.name} 中 {s.name} 超过了次日第一班的开始（{_clock_text(self.day_start)}）")
            for a, b in s.breaks:
                a_off, b_off = (_offset(a) - _offset(s.start)) % DAY, (_offset(b) - _offset(s.start)) % DAY
                if not timedelta(0) <= a_off < b_off <= s.length:
                    raise ConfigError(f"休息 {_clock_text(a)}-{_clock_text(b)} 不在 {s.name} 之内")
            previous_end = end

    # --- days -----------------------------------------------------------------------------------------

    @property
    def crews(self) -> tuple[Crew, ...]:
        return self.spec.crews

    def crew(self, name: str) -> Crew | None:
        return self._crews.get(name)

    def crew_of(self, userid: str) -> Crew | None:
        return self._crew_of.get(userid)

    @cached_property
    def multi_shift(self) -> bool:
        """Several shifts a day, or a shift across midnight: per-shift figures and handovers (a night-only
        plant's production day is not the calendar date, so the day-shift rules would judge it wrongly)."""
        return any(len(p.shifts) > 1 or any(s.overnight for s in p.shifts) for p in self.spec.patterns)

    def is_work_day(self, day: date) -> bool:
        if day in self.spec.holidays:
            return False
        return day in self.spec.workdays or day.weekday() not in self.spec.rest_weekdays

    def pattern_for(self, day: date) -> DayPattern:
        for r in self.spec.ranges:
            if r.first <= day <= r.last:
                return self._patterns[r.pattern]
        return self.spec.patterns[0]

    def shifts(self, day: date) -> tuple[Shift, ...]:
        """The shifts of a production day, in order; nominal (working=False) on a rest day or holiday."""
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        pattern = self.pattern_for(day)
        working = self.is_work_day(day)
        origin = datetime.combine(day, self.day_start, tzinfo=self.tz)
        rotation = self.spec.rotation
        out = []
        for i, (s, (begin, end)) in enumerate(zip(pattern.shifts, self._offsets(pattern), strict=True)):
            start = origin + begin
            breaks = []
            for a, b in s.breaks:
                a_at = start + (_offset(a) - _offset(s.start)) % DAY
                breaks.append((a_at, a_at + ((_offset(b) - _offset(a)) % DAY)))
            out.append(Shift(day, s.name, i, start, origin + end, rotation.crew(day, i) if rotation else None,
                             working, tuple(breaks)))
        result = tuple(out)
        if len(self._day_cache) > 4096:
            self._day_cache.clear()
        self._day_cache[day] = result
        return result

    def production_day(self, moment: datetime) -> date:
        return (moment.astimezone(self.tz) - self._start_delta).date()

    def day_window(self, day: date) -> tuple[datetime, datetime]:
        """The production day from its boundary to the next (24 hours of wall clock)."""
        origin = datetime.combine(day, self.day_start, tzinfo=self.tz)
        return origin, origin + DAY

    def shift_of(self, moment: datetime) -> Shift:
        """The shift a moment is counted in: the one it falls in; after a shift's end (overtime) the shift
        before; before the day's first shift, that first shift. Always an answer, even on a rest day."""
        day = self.production_day(moment)
        shifts = self.shifts(day)
        local = moment.astimezone(self.tz)
        chosen = shifts[0]
        for s in shifts:
            if s.start <= local:
                chosen = s
            else:
                break
        return chosen

    def shift_at(self, moment: datetime) -> Shift | None:
        """The shift on duty at a moment: a working shift that has begun and not ended; else None."""
        s = self.shift_of(moment)
        return s if s.working and s.contains(moment.astimezone(self.tz)) else None

    def crew_on(self, moment: datetime) -> Crew | None:
        s = self.shift_at(moment)
        return self._crews.get(s.crew) if s is not None and s.crew else None

    def on_duty(self, userid: str, moment: datetime) -> bool:
        """A member of a crew is on duty while the crew's shift runs; someone in no crew (day staff, or a
        plant without crews) is reachable at any time."""
        crew = self._crew_of.get(userid)
        if crew is None:
            return True
        on = self.crew_on(moment)
        return on is not None and on.name == crew.name

    def working_shifts(self, first: date, last: date) -> Iterator[Shift]:
        day = first
        while day <= last:
            for s in self.shifts(day):
                if s.working:
                    yield s
            day += DAY

    def next_shift(self, moment: datetime) -> Shift | None:
        """The first working shift that starts after a moment."""
        day = self.production_day(moment)
        local = moment.astimezone(self.tz)
        for _ in range(_MAX_DAYS):
            for s in self.shifts(day):
                if s.working and s.start > local:
                    return s
            day += DAY
        return None

    def previous_shift(self, moment: datetime) -> Shift | None:
        """The last working shift that ended at or before a moment."""
        day = self.production_day(moment)
        local = moment.astimezone(self.tz)
        for _ in range(_MAX_DAYS):
            for s in reversed(self.shifts(day)):
                if s.working and s.end <= local:
                    return s
            day -= DAY
        return None

    # --- working time -----------------------------------------------------------------------------------

    def intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working spans between two moments (shifts of working days, breaks left out), clipped."""
        a, b = start.astimezone(self.tz), end.astimezone(self.tz)
        out = []
        for s in self.working_shifts(self.production_day(a) - DAY, self.production_day(b)):
            for lo, hi in s.intervals:
                lo, hi = max(lo, a), min(hi, b)
                if hi > lo:
                    out.append((lo, hi))
        return out

    def working_minutes(self, start: datetime, end: datetime) -> float:
        if end <= start:
            return 0.0
        a, b = start.astimezone(self.tz), end.astimezone(self.tz)
        seconds, whole = 0.0, 0.0
        for s in self.working_shifts(self.production_day(a) - DAY, self.production_day(b)):
            if s.end <= a or s.start >= b:
                continue
            if a <= s.start and s.end <= b:  # most of a month's shifts: their (cached) minutes, no clipping
                whole += s.minutes
                continue
            for lo, hi in s.intervals:
                lo, hi = max(lo, a), min(hi, b)
                if hi > lo:
                    seconds += (hi - lo).total_seconds()
        return whole + seconds / 60

    def day_minutes(self, day: date) -> float:
        """The working minutes of a production day (0 on a rest day)."""
        return sum(s.minutes for s in self.shifts(day))

    def add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time have passed after `start`. A job ending exactly at a shift's
        end ends then, not at the next shift's start."""
        at = start.astimezone(self.tz)
        if minutes <= 0:
            return at
        left = timedelta(minutes=minutes)
        day = self.production_day(at) - DAY
        for _ in range(_MAX_DAYS):
            for s in self.shifts(day):
                for lo, hi in s.intervals:
                    lo = max(lo, at)
                    if hi <= lo:
                        continue
                    if left <= hi - lo:
                        return lo + left
                    left -= hi - lo
            day += DAY
        raise ConfigError("三年内没有任何工作时间")

    def describe(self) -> str:
        """The calendar as the administrator typed it, one fact a line (`factorybot calendar show`, 班次)."""
        lines = [f"班次: {p.name} {p}" for p in self.spec.patterns]
        lines += [f"  {r.first}..{r.last} 用 {r.pattern}" for r in self.spec.ranges]
        if self.day_start != time(0, 0):
            lines.append(f"生产日从 {_clock_text(self.day_start)} 开始（夜班计入开班当天）")
        return "\n".join(lines)


def plan_share(calendar: PlantCalendar, shift: Shift) -> float:
    """The part of a production day's plan that falls to one shift: its working minutes over the day's."""
    total = calendar.day_minutes(shift.day)
    if total <= 0:
        return 0.0
    return shift.minutes / total

