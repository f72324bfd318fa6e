"""The stored calendar (`factorybot calendar set|crews`): read, saved and removed in the caller's unit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.models import PlantCalendarRow
from domain.plant_calendar import CalendarSpec, PlantCalendar
from domain.uow import UnitOfWork

ROW_ID = 1


def stored_spec_text(session: Session) -> str | None:
    """The stored calendar's JSON, or None when the settings describe the calendar."""
    return session.scalar(select(PlantCalendarRow.spec).where(PlantCalendarRow.id == ROW_ID))


def save_calendar(uow: UnitOfWork, calendar: PlantCalendar, *, by: str, now: datetime) -> None:
    """Store a calendar (already built, so already checked); every process takes it up within its refresh."""
    text = calendar.spec.to_json()
    row = uow.session.get(PlantCalendarRow, ROW_ID)
    if row is None:
        uow.session.add(PlantCalendarRow(id=ROW_ID, spec=text, updated_at=now, updated_by=by[:64]))
    else:
        row.spec, row.updated_at, row.updated_by = text, now, by[:64]
    uow.flush()


def forget_calendar(uow: UnitOfWork) -> bool:
    """Remove the stored calendar: the settings describe the calendar again. False when none was stored."""
    row = uow.session.get(PlantCalendarRow, ROW_ID)
    if row is None:
        return False
    uow.session.delete(row)
    uow.flush()
    return True


def stored_spec(uow: UnitOfWork) -> CalendarSpec | None:
    text = stored_spec_text(uow.session)
    return None if text is None else CalendarSpec.from_json(text)
