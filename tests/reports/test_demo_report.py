"""The demo plant's report for its last full month: the one README shows a page of."""

from __future__ import annotations

import re
from datetime import date

from domain.db import make_engine, make_session_factory
from domain.demo import CUSTOMERS, load_demo_plant
from domain.migrate import upgrade
from domain.policy import PlantPolicy
from domain.uow import UnitOfWork
from reports import fmt
from reports.month import Month, last_full_month
from reports.monthly_pdf import render_monthly_pdf
from tests.reports.conftest import pdf_pages, report_for

TODAY = date(2026, 11, 25)


def test_the_demo_plants_last_full_month(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    upgrade(url)
    engine = make_engine(url)
    with UnitOfWork(make_session_factory(engine)) as uow:
        load_demo_plant(uow, today=TODAY, policy=PlantPolicy())
        uow.commit()
    engine.dispose()
    month = last_full_month(TODAY)
    assert month == Month(2026, 10)
    r = report_for(url, month, TODAY)
    # A plant with a real month behind it: hundreds of lines due, some late, every figure there.
    assert r.on_time.due > 200 and 0 < r.on_time.late < r.on_time.due and r.on_time.pending == 0
    assert r.received.orders > 150 and r.shipped.orders > 150 and r.quality_total.moulded_good > 0
    assert r.previous is not None and r.previous.on_time_pct is not None  # September to compare with
    path = tmp_path / "demo.pdf"
    path.write_bytes(render_monthly_pdf(r))
    pages = pdf_pages(path)
    assert 8 <= len(pages) <= 12
    text = "\n".join(pages)
    assert fmt.pct(r.on_time.rate_pct) in pages[0]
    assert all(c.name in text for c in CUSTOMERS)
    assert re.search(rf"逾期 {r.on_time.late} 行", re.sub(r"\s+", " ", text))


def test_the_monthly_pdf_has_a_usage_section_with_its_chart(tmp_path, make_uow):
    """Issue 10: usage figures in the monthly report, with a chart (text read back from the PDF)."""
    import subprocess

    from alerts.policy import AlertPolicy
    from domain.demo import load_demo_plant
    from domain.policy import PlantPolicy
    from reports.month import Month
    from reports.monthly import build_monthly
    from reports.monthly_pdf import render_monthly_pdf

    with make_uow() as uow:
        load_demo_plant(uow, today=date(2026, 11, 25), policy=PlantPolicy())
        uow.commit()
        report = build_monthly(uow, Month.parse("2026-10"), as_of=date(2026, 11, 25), policy=AlertPolicy())
    pdf = tmp_path / "m.pdf"
    pdf.write_bytes(render_monthly_pdf(report))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "七、系统使用情况" in text
    assert f"已开通 {report.usage.enrolled} 人" in text and "日均活跃占比（按车间、按角色）" in text
    assert "注塑车间" in text.split("七、系统使用情况")[1]
    # The adoption curve: every workshop in its legend and table, 13 weeks for a plant live for 90 days.
    usage = re.sub(r"\s+", " ", text.split("七、系统使用情况")[1].split("指标口径")[0])
    assert "上线曲线：各车间从第一天使用起的前 90 天" in usage and usage.count("第13周") == 2
    for workshop, curve in report.usage.adoption.items():
        assert len(curve) == 13
        assert f"{workshop} " + " ".join(f"{v:.0f}%" for v in curve) in usage
