"""The plant's shifts as people see them (chat `班次`, `factorybot calendar show`): who is on now, the
production day's shifts with their crews and leads, the next change; and the people a crew may name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from domain.models import Person
from domain.plant_calendar import Crew, PlantCalendar, Shift
from domain.services.people import person_names
from domain.uow import UnitOfWork
from domain.vocab import Role

WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class CrewView:
    name: str
    lead: str | None  # userid
    lead_name: str | None
    members: tuple[tuple[str, str], ...]  # (userid, name); a userid no longer known shows as itself

    @property
    def lead_text(self) -> str:
        return f"（班组长 {self.lead_name}）" if self.lead_name else ""


@dataclass(frozen=True)
class ShiftView:
    shift: Shift
    crew: CrewView | None

    @property
    def text(self) -> str:
        """'白班 08:00-20:00 甲班（班组长 陈杰）'"""
        crew = f" {self.crew.name}{self.crew.lead_text}" if self.crew else ""
        return f"{self.shift.name} {self.shift.hours_text}{crew}"


@dataclass(frozen=True)
class ShiftInfo:
    now: datetime
    day: date  # the production day of `now`
    working_day: bool
    on_duty: ShiftView | None
    shifts: tuple[ShiftView, ...]  # the production day's, in order
    next_shift: ShiftView | None  # the next working shift to start after now


def weekday_name(day: date) -> str:
    return WEEKDAY_NAMES[day.weekday()]


def crew_view(crew: Crew, names: dict[str, str]) -> CrewView:
    return CrewView(crew.name, crew.lead, names.get(crew.lead, crew.lead) if crew.lead else None,
                    tuple((u, names.get(u, u)) for u in crew.members))


def crew_views(uow: UnitOfWork, calendar: PlantCalendar) -> dict[str, CrewView]:
    names = person_names(uow, (u for c in calendar.crews for u in c.people))
    return {c.name: crew_view(c, names) for c in calendar.crews}


def shift_info(uow: UnitOfWork, calendar: PlantCalendar, now: datetime) -> ShiftInfo:
    crews = crew_views(uow, calendar)

    def view(s: Shift | None) -> ShiftView | None:
        return None if s is None else ShiftView(s, crews.get(s.crew) if s.crew else None)

    day = calendar.production_day(now)
    shifts = tuple(ShiftView(s, crews.get(s.crew) if s.crew else None) for s in calendar.shifts(day))
    return ShiftInfo(now=now, day=day, working_day=calendar.is_work_day(day), on_duty=view(calendar.shift_at(now)),
                     shifts=shifts, next_shift=view(calendar.next_shift(now)))


@dataclass(frozen=True)
class DayShifts:
    day: date
    working_day: bool
    shifts: tuple[ShiftView, ...]


def day_shifts(uow: UnitOfWork, calendar: PlantCalendar, day: date) -> DayShifts:
    """A production day's shifts and the crews the rotation puts on them (`班次 明天`)."""
    crews = crew_views(uow, calendar)
    return DayShifts(day, calendar.is_work_day(day),
                     tuple(ShiftView(s, crews.get(s.crew) if s.crew else None) for s in calendar.shifts(day)))


@dataclass(frozen=True)
class CrewPeopleCheck:
    unknown: tuple[str, ...]  # not a known, active person
    lead_not_team_lead: bool


def check_crew_people(uow: UnitOfWork, lead: str | None, members: Iterable[str]) -> CrewPeopleCheck:
    """Whether the people a crew names exist and are active, and whether its lead is a 班组长."""
    wanted = [u for u in ([lead] if lead else []) + list(members)]
    people = {p.userid: p for p in uow.session.scalars(select(Person).where(Person.userid.in_(set(wanted))))}
    unknown = tuple(dict.fromkeys(u for u in wanted if u not in people or not people[u].active))
    lead_person = people.get(lead) if lead else None
    return CrewPeopleCheck(unknown, lead_person is not None and not lead_person.has_role(Role.TEAM_LEAD))
