"""The plant's current calendar: the one the administrator stored (`factorybot calendar set`), else the one
the settings describe (SHIFTS or SHIFT_HOURS, REST_DAYS, HOLIDAYS, WORKDAYS).

Every process asks the book, never the settings, so a calendar stored from the CLI reaches the web workers,
the Celery worker and beat within `ttl_seconds` without a restart. The book reads through a loader the entry
point gives it (a short read of its own, one row); a failed read keeps the calendar it had.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from domain.errors import ConfigError
from domain.plant_calendar import CalendarSpec, PlantCalendar

log = logging.getLogger(__name__)


class CalendarBook:
    def __init__(self, base: PlantCalendar, load: Callable[[], str | None] | None = None, *,
                 ttl_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.base = base
        self._load, self._ttl, self._clock = load, ttl_seconds, clock
        self._current: PlantCalendar = base
        self._text: str | None = None
        self._checked: float | None = None
        self._lock = threading.Lock()

    @property
    def stored(self) -> bool:
        """Whether the current calendar is the stored one (else the settings')."""
        self.current()
        return self._text is not None

    def current(self) -> PlantCalendar:
        if self._load is None:
            return self._current
        now = self._clock()
        if self._checked is not None and now - self._checked < self._ttl:
            return self._current
        return self.refresh()

    def refresh(self) -> PlantCalendar:
        """Read the stored calendar now (after a change in this process, or in a test)."""
        if self._load is None:
            return self._current
        with self._lock:
            self._checked = self._clock()
            try:
                text = self._load()
            except Exception as exc:  # noqa: BLE001 - a database that is down (or not migrated) keeps the last calendar
                log.warning("calendar_load_failed", extra={"error": str(exc)[:200]})
                return self._current
            if text != self._text:
                try:
                    self._current = self.base if text is None else PlantCalendar(CalendarSpec.from_json(text), self.base.tz)
                    self._text = text
                except (ConfigError, ValueError, KeyError) as exc:
                    log.error("calendar_stored_invalid", extra={"error": str(exc)[:200]})
            return self._current
