"""A calendar month of the plant: parsing what people type, its bounds in the plant's time zone, its neighbours."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.errors import DomainError

_MONTH_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")
USAGE = "月份格式：2026-10（或 2026年10月）"


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        m = _MONTH_RE.fullmatch(text.strip())
        if m is None or not 1 <= int(m.group(2)) <= 12:
            raise DomainError(f"无法识别月份「{text.strip()}」。{USAGE}")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.next().first - timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def back(self, n: int) -> list[Month]:
        """This month and the n-1 before it, oldest first (the trend's x axis)."""
        months = [self]
        for _ in range(n - 1):
            months.append(months[-1].previous())
        return months[::-1]

    def utc_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the month as plant time, in UTC: timestamps are stored in UTC."""
        start = datetime.combine(self.first, time(0), tzinfo=tz)
        end = datetime.combine(self.next().first, time(0), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    @property
    def iso(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    @property
    def short_label(self) -> str:
        return f"{self.year % 100:02d}年{self.month}月"


def last_full_month(today: date) -> Month:
    return Month.of(today).previous()
