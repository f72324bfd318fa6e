"""Cost of the plant calendar's questions, per question, beside the 1 ms ceiling.  Prints figures.

    .venv/bin/python bench/plant_time.py [--moments 100000] [--months 2000]

"Which shift / production day is t" is asked on every report and every alert round; a month's working
minutes by the forecast and the monthly figures. Three calendars: one shift (08:00-20:00, Sundays off), two
12-hour shifts with a 四班两倒 rotation of four crews, and three 8-hour shifts with breaks. Each figure
stands beside a simple alternative: the shifts recomputed for every question (no day cache), and for the
month a minute-by-minute walk (timed on a few months only: it is that slow).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.plant_calendar import (
    CalendarSpec,
    Crew,
    DayPattern,
    PlantCalendar,
    parse_rotation,
    parse_shifts,
)
from forecast.calendar import ShiftCalendar

TZ = ZoneInfo("Asia/Shanghai")
CEILING_MS = 1.0
YEAR = 2026


def calendars() -> dict[str, PlantCalendar]:
    crews = tuple(Crew(name, f"{name}-lead", (f"{name}-1", f"{name}-2")) for name in ("甲班", "乙班", "丙班", "丁班"))
    # 四班两倒: each crew two days, two nights, four days off; two shifts a day, eight days a cycle.
    rotation = parse_rotation("2026-01-01:甲班/丙班,甲班/丙班,乙班/丁班,乙班/丁班,丙班/甲班,丙班/甲班,丁班/乙班,丁班/乙班")
    return {
        "one shift": PlantCalendar.single_shift(TZ, rest_weekdays={6}, holidays={date(YEAR, 10, 1)}),
        "2x12 四班两倒": PlantCalendar(CalendarSpec(
            patterns=(DayPattern("两班", parse_shifts("白班=08:00-20:00,夜班=20:00-08:00")),),
            crews=crews, rotation=rotation), TZ),
        "three shifts": PlantCalendar(CalendarSpec(
            patterns=(DayPattern("三班", parse_shifts(
                "早班=06:00-14:00/10:00-10:30,中班=14:00-22:00/18:00-18:30,夜班=22:00-06:00/02:00-02:30")),),
            rest_weekdays=frozenset({6}), workdays=frozenset({date(YEAR, 9, 27)})), TZ),
    }


def per_question_us(ask: Callable[[datetime], object], moments: Sequence[datetime]) -> float:
    t0 = time.perf_counter()
    for t in moments:
        ask(t)
    return (time.perf_counter() - t0) / len(moments) * 1e6


def verdict(us: float) -> str:
    ms = us / 1000
    if ms <= CEILING_MS / 10:
        return f"well under the {CEILING_MS:g} ms ceiling"
    return f"under the {CEILING_MS:g} ms ceiling" if ms < CEILING_MS else f"OVER the {CEILING_MS:g} ms ceiling"


def row(label: str, us: float, alternative: str, alt_us: float) -> None:
    print(f"  {label:34} {us:9.2f} µs  ({verdict(us)});  {alternative}: {alt_us:10.1f} µs")


def walk_minutes(cal: PlantCalendar, start: datetime, end: datetime) -> float:
    """The simple alternative: ask for each minute whether a shift is on."""
    n, t = 0, start
    step = timedelta(minutes=1)
    while t < end:
        if cal.shift_at(t) is not None and not any(a <= t < b for a, b in cal.shift_of(t).breaks):
            n += 1
        t += step
    return float(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moments", type=int, default=100_000, help="random moments across a year")
    parser.add_argument("--months", type=int, default=2_000, help="random month-long spans")
    args = parser.parse_args()
    rng = random.Random(17)
    origin = datetime(YEAR, 1, 1, tzinfo=TZ)
    year_minutes = 365 * 24 * 60
    moments = [origin + timedelta(minutes=rng.randrange(year_minutes), seconds=rng.randrange(60))
               for _ in range(args.moments)]
    months = [origin + timedelta(minutes=rng.randrange(year_minutes - 31 * 24 * 60)) for _ in range(args.months)]
    print(f"{args.moments} random moments and {args.months} month-long spans across {YEAR}; ceiling "
          f"{CEILING_MS:g} ms a question")
    for name, cal in calendars().items():
        print(f"{name}: {cal.describe().splitlines()[0]}")

        def uncached_shift_of(t: datetime, cal: PlantCalendar = cal) -> object:
            cal._day_cache.clear()  # the alternative: every question builds its day's shifts again
            return cal.shift_of(t)

        some = moments[: max(1, len(moments) // 10)]
        alt = per_question_us(uncached_shift_of, some)
        cal._day_cache.clear()
        row("shift_of(t)", per_question_us(cal.shift_of, moments), "shifts rebuilt each time", alt)
        row("production_day(t)", per_question_us(cal.production_day, moments), "shifts rebuilt each time",
            per_question_us(lambda t, cal=cal: (cal._day_cache.clear(), cal.shifts(cal.production_day(t))), some))

        few = months[:5]
        walked = per_question_us(lambda t, cal=cal: walk_minutes(cal, t, t + timedelta(days=30)), few)
        row("working_minutes(month)", per_question_us(
            lambda t, cal=cal: cal.working_minutes(t, t + timedelta(days=30)), months), "minute-by-minute walk", walked)
        t0 = time.perf_counter()
        clock = ShiftCalendar.of(cal).clock(origin)
        built_ms = (time.perf_counter() - t0) * 1000

        def difference(t: datetime, clock: object = clock) -> object:
            a, b = clock.position(t), clock.position(t + timedelta(days=30))  # type: ignore[attr-defined]
            return b - a

        row("Clock position difference(month)", per_question_us(difference, months), "minute-by-minute walk", walked)
        for t in few:  # the three answers agree
            w = walk_minutes(cal, t, t + timedelta(days=30))
            m = cal.working_minutes(t, t + timedelta(days=30))
            c = float(difference(t)) * 60  # type: ignore[arg-type]
            assert abs(w - m) < 1 and abs(m - c) < 1e-6, (name, t, w, m, c)
        print(f"  {'(the Clock, built once for six years)':34} {built_ms:9.1f} ms")


if __name__ == "__main__":
    main()
