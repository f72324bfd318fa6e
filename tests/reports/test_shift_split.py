"""The monthly PDF and workbook split output by shift and crew on a plant with more than one shift (or with
crews); a one-shift plant's report has no such table."""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from alerts.policy import AlertPolicy
from domain.calendar_book import CalendarBook
from domain.db import make_engine, make_session_factory
from domain.migrate import upgrade
from domain.models import WorkReport
from domain.plant_calendar import CalendarSpec, Crew, DayPattern, PlantCalendar, parse_shifts
from domain.uow import UnitOfWork
from reports.month import Month
from reports.monthly import MonthlyReport, build_monthly
from reports.monthly_pdf import render_monthly_pdf
from reports.monthly_xlsx import monthly_xlsx
from tests.reports.conftest import pdf_pages
from tests.reports.hand_month import AS_OF, build_october

TWO_SHIFTS = PlantCalendar(CalendarSpec(
    patterns=(DayPattern("两班", parse_shifts("白班=08:00-20:00,夜班=20:00-08:00")),),
    crews=(Crew("甲班", None, ("w1",)), Crew("乙班", None, ("w2",)))), ZoneInfo("Asia/Shanghai"))
# The hand-made October's reports by id (1..10): which shift and crew each was in. Report 5 is September's
# and report 9 November's; the rest are October's 8 reports.
SHIFTS = {1: ("白班", "甲班"), 2: ("夜班", "乙班"), 3: ("白班", "甲班"), 4: ("夜班", "乙班"), 6: ("夜班", "乙班"),
          7: ("白班", None), 8: ("夜班", "乙班")}  # 10 (WO-D, 100 good on 10-31) stays unrecorded


@pytest.fixture(scope="module")
def two_shift_report(tmp_path_factory: pytest.TempPathFactory) -> MonthlyReport:
    url = f"sqlite:///{tmp_path_factory.mktemp('shifts')}/shifts.db"
    upgrade(url)
    engine = make_engine(url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            build_october(uow)
            for report in uow.session.scalars(select(WorkReport)):
                n = int(report.source_key.split(":")[1])
                report.shift, report.crew = SHIFTS.get(n, (None, None))
            uow.commit()
        with UnitOfWork(make_session_factory(engine), read_only=True) as uow:
            return build_monthly(uow, Month(2026, 10), as_of=AS_OF, policy=AlertPolicy(book=CalendarBook(TWO_SHIFTS)))
    finally:
        engine.dispose()


def test_the_pdf_splits_the_months_output_by_shift_and_crew(two_shift_report, tmp_path) -> None:
    path = tmp_path / "shifts.pdf"
    path.write_bytes(render_monthly_pdf(two_shift_report))
    text = re.sub(r"[ \t]+", " ", "\n".join(pdf_pages(path)))
    assert "各班次产出" in text and "各班组产出" in text
    # Moulding only (first operations), as the overview's 注塑良品: October's moulding reports are 1 (白班
    # 甲班, 600+20), 2, 6 and 8 (夜班 乙班: 450+10, 1600+40, 300+30) and 10 (unrecorded, WO-D 100); reports
    # 3, 4 and 7 are packing's and count nowhere here.
    assert "白班 1 600 20 3.23%" in text
    assert "夜班 3 2,350 80 3.29%" in text
    assert "未记录班次 1 100 0 0.00%" in text
    assert "甲班 1 600 20 3.23%" in text and "乙班 3 2,350 80 3.29%" in text
    assert "未排班组 1 100 0 0.00%" in text
    assert text.count("合计 5 3,050 100 3.17%") == 2


def test_the_split_adds_up_to_the_months_moulding(two_shift_report) -> None:
    total = two_shift_report.shifts.total
    quality = two_shift_report.quality_total
    assert (total.good, total.defect) == (quality.moulded_good, quality.moulded_defect) == (3050, 100)
    assert total.defect_pct == quality.moulding_defect_pct


def test_the_workbook_has_a_sheet_per_split(two_shift_report) -> None:
    wb = load_workbook(BytesIO(monthly_xlsx(two_shift_report)))
    rows = [[c.value for c in row] for row in wb["按班次"].iter_rows()]
    assert rows[0] == ["班次", "注塑报工（次）", "注塑良品", "注塑不良", "注塑不良率"]
    assert rows[1][:4] == ["白班", 1, 600, 20] and rows[1][4] == pytest.approx(20 / 620)
    assert [r[0] for r in rows[1:]] == ["白班", "夜班", "未记录班次", "合计"]
    crews = [[c.value for c in row] for row in wb["按班组"].iter_rows()]
    assert [r[:4] for r in crews[1:]] == [["甲班", 1, 600, 20], ["乙班", 3, 2350, 80], ["未排班组", 1, 100, 0],
                                         ["合计", 5, 3050, 100]]
    assert wb["按班次"]["E2"].number_format == "0.00%"


def test_a_one_shift_plant_has_no_split(hand_report, write_pdf) -> None:
    assert not hand_report.shifts.shown
    text = "\n".join(pdf_pages(write_pdf("one-shift.pdf", render_monthly_pdf(hand_report))))
    assert "各班次产出" not in text and "各班组产出" not in text
    assert {"按班次", "按班组"}.isdisjoint(load_workbook(BytesIO(monthly_xlsx(hand_report))).sheetnames)
    assert date(2026, 10, 1) == hand_report.month.first
