"""Time to make the monthly report for a month of 180 orders and of 10,000 orders.  Prints; asserts nothing.

    .venv/bin/python bench/report_render.py [--orders 180,10000] [--database-url postgresql://...]

Each store holds N orders in October 2026 (and a quarter as many in each of the two months before, for the
trend), with their work orders, reports and exceptions (tests/reports/bulk_month.py). It times the queries
(every figure, the six-month trend included), the PDF (Jinja2 → weasyprint) and the Excel workbook.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from alerts.policy import AlertPolicy  # noqa: E402
from domain.db import make_engine, make_session_factory  # noqa: E402
from domain.migrate import upgrade  # noqa: E402
from domain.models import Base  # noqa: E402
from domain.uow import UnitOfWork  # noqa: E402
from reports.monthly import build_monthly  # noqa: E402
from reports.monthly_pdf import render_monthly_pdf  # noqa: E402
from reports.monthly_xlsx import monthly_xlsx  # noqa: E402
from reports.pdf import html_to_pdf  # noqa: E402
from tests.reports.bulk_month import fill  # noqa: E402


def _empty(url: str | None, n: int) -> str:
    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='factorybot-report-')}/bench.db"
        upgrade(url)
        return url
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                          + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


def _count(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def run(n: int, url: str | None) -> None:
    url = _empty(url, n)
    t0 = time.perf_counter()
    plant = fill(url, n)
    filled = time.perf_counter() - t0
    factory = make_session_factory(make_engine(url))
    with UnitOfWork(factory, read_only=True) as uow:
        t0 = time.perf_counter()
        report = build_monthly(uow, plant.month, as_of=plant.as_of, policy=AlertPolicy())
        queried = time.perf_counter() - t0
    t0 = time.perf_counter()
    pdf = render_monthly_pdf(report)
    rendered = time.perf_counter() - t0
    t0 = time.perf_counter()
    xlsx = monthly_xlsx(report)
    workbook = time.perf_counter() - t0
    print(f"{n:>6} orders ({report.on_time.due:>6} lines due, {len(report.late):>5} late; store {url.split(':')[0]}, "
          f"filled in {filled:.1f} s)")
    print(f"         figures {queried * 1000:7.0f} ms   PDF {rendered * 1000:7.0f} ms ({_count(pdf)} pages, "
          f"{len(pdf) // 1024} KB)   Excel {workbook * 1000:6.0f} ms ({len(xlsx) // 1024} KB)   "
          f"total {(queried + rendered) * 1000:7.0f} ms for the PDF")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", default="180,10000", help="comma-separated order counts")
    parser.add_argument("--database-url", default=None, help="an empty database to fill (default: temp SQLite)")
    args = parser.parse_args()
    # Load weasyprint's fonts once first: that start-up cost is the process's, not any one report's.
    html_to_pdf('<p style="font-family: \'Noto Sans CJK SC\'">预热</p>')
    for n in (int(x) for x in args.orders.split(",")):
        run(n, args.database_url)


if __name__ == "__main__":
    main()
