"""The monthly report's 维修响应: response (派单→接单) and repair (接单→完成) times per technician and per press,
read back from the PDF and the workbook as a reader gets them."""

from __future__ import annotations

import re
import shutil
from io import BytesIO

from openpyxl import load_workbook

from domain.db import make_engine, make_session_factory
from domain.models import Person, RepairTicket
from domain.uow import UnitOfWork
from domain.vocab import TicketStatus
from reports.month import Month
from reports.monthly_pdf import render_monthly_pdf
from reports.monthly_xlsx import monthly_xlsx
from tests.reports.conftest import pdf_pages, report_for
from tests.reports.hand_month import AS_OF, local


def _with_repairs(hand_url: str, tmp_path) -> str:
    """The hand-computed October with three repair tickets on top (a copy: the session's store is shared)."""
    path = tmp_path / "repairs.db"
    shutil.copy(hand_url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with UnitOfWork(make_session_factory(engine)) as uow:
        sun = Person(userid="tech", name="孙师傅", roles_csv="technician")
        wu = Person(userid="tech2", name="吴师傅", roles_csv="technician")
        uow.session.add_all([sun, wu])
        uow.session.flush()
        uow.session.add_all([
            RepairTicket(machine="P03", technician_id=sun.id, status=TicketStatus.DONE, opened_at=local(10, 20, 14),
                         dispatched_at=local(10, 20, 14), accepted_at=local(10, 20, 14, 6),
                         arrived_at=local(10, 20, 14, 15), finished_at=local(10, 20, 15, 36), cause="液压"),
            RepairTicket(machine="P05", technician_id=sun.id, status=TicketStatus.DONE, opened_at=local(10, 25, 10),
                         dispatched_at=local(10, 25, 10), accepted_at=local(10, 25, 10, 14),
                         finished_at=local(10, 25, 11, 14), cause="电气"),
            RepairTicket(machine="P05", technician_id=wu.id, status=TicketStatus.ACCEPTED, opened_at=local(10, 28, 9),
                         dispatched_at=local(10, 28, 9), accepted_at=local(10, 28, 9, 20)),
        ])
        uow.commit()
    engine.dispose()
    return url


def test_the_monthly_pdf_has_repair_response_per_technician_and_press(hand_url, tmp_path) -> None:
    report = report_for(_with_repairs(hand_url, tmp_path), Month(2026, 10), AS_OF)
    path = tmp_path / "repairs.pdf"
    path.write_bytes(render_monthly_pdf(report))
    page = next(p for p in pdf_pages(path) if "维修响应" in p)
    squeezed = re.sub(r"\s+", " ", page)
    # 孙师傅: answered in 6 and 14 minutes (10), repaired in 1 h 30 and 1 h (1 h 15); 吴师傅: 20 minutes, not done.
    assert "维修工单 3 单，平均响应 13 分钟，平均维修 1 小时 15 分" in squeezed
    assert "技术员 工单 已完成 平均响应 平均维修" in squeezed
    assert "孙师傅 2 2 10 分钟 1 小时 15 分" in squeezed
    assert "吴师傅 1 0 20 分钟 —" in squeezed
    assert "机台 工单 已完成 平均响应 平均维修" in squeezed
    assert "P03 1 1 6 分钟 1 小时 30 分" in squeezed
    assert "P05 2 1 17 分钟 1 小时" in squeezed

    sheet = load_workbook(BytesIO(monthly_xlsx(report)))["维修响应"]
    rows = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows[0] == ["技术员", "孙师傅", 2, 2, 10, 75]
    assert rows[-1][:4] == ["机台", "P05", 2, 1]


def test_a_month_without_repairs_says_so_in_the_section(hand_report, tmp_path) -> None:
    path = tmp_path / "hand.pdf"
    path.write_bytes(render_monthly_pdf(hand_report))
    text = re.sub(r"\s+", " ", "\n".join(pdf_pages(path)))
    assert "维修响应 维修工单 0 单，平均响应 —，平均维修 —" in text
