"""Plant rules that come from settings, handed to services as plain values."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain import qr_payload
from domain.calendar_book import CalendarBook
from domain.plant_calendar import PlantCalendar
from domain.points import PointsRule

DEFAULT_EXCEPTION_TYPES = ("设备故障", "材料不符", "模具问题", "品质异常", "其他")


@lru_cache(maxsize=8)
def _default_calendar(tz: ZoneInfo) -> PlantCalendar:
    return PlantCalendar.single_shift(tz)


@dataclass(frozen=True)
class PlantPolicy:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    # The plant's calendar (shifts, production days, crews); None: one 08:00-20:00 shift a day in `tz`.
    book: CalendarBook | None = field(default=None, compare=False)
    # Presses may over-shoot the plan a little (runner scrap, set-up shots counted good).
    tolerance_pct: float = 5.0
    # What a point is worth (domain/points.py) and a person's most points in a production day.
    points_rule: PointsRule = field(default_factory=PointsRule)
    points_daily_cap: int = 30
    # How long the reporter may take back their own report with 撤销 (a lead corrects it after that).
    undo_minutes: int = 10
    exception_types: tuple[str, ...] = DEFAULT_EXCEPTION_TYPES
    # Signs the QR codes on travellers (domain/qr_payload.py); empty means labels cannot be made or read.
    label_key: bytes = field(default=b"", repr=False)
    # The key before the last rotation, still accepted through this plant day so printed labels stay valid.
    label_key_previous: bytes = field(default=b"", repr=False)
    label_key_previous_until: date | None = None

    @property
    def calendar(self) -> PlantCalendar:
        return self.book.current() if self.book is not None else _default_calendar(self.tz)

    def work_day(self, moment: datetime) -> date:
        """The production day of a moment: a report at 02:00 on a two-shift plant is the night before's."""
        return self.calendar.production_day(moment)

    def read_label(self, payload: str, moment: datetime) -> str:
        """The work order a scanned label names, under the current key or the previous one while it lasts."""
        return qr_payload.decode(payload, self.label_key, previous=self.label_key_previous,
                                 previous_until=self.label_key_previous_until, today=self.work_day(moment))

    def tolerance(self, base_qty: int) -> int:
        return math.floor(base_qty * self.tolerance_pct / 100)

    def points_share(self, good_qty: int, daily_plan_qty: int, day: date) -> float:
        """A report's good pieces in points, before the day's floor and cap (domain/points.py)."""
        return self.points_rule.share(good_qty, daily_plan_qty=daily_plan_qty,
                                      day_minutes=self.calendar.day_minutes(day))
