"""`factorybot report monthly 2026-10 -o report.pdf [--format xlsx]` and `factorybot report daily`."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from domain.errors import DomainError
from domain.uow import UnitOfWork
from reports import fmt
from reports.daily_summary import daily_summary, summary_text
from reports.month import Month, last_full_month
from reports.monthly import build_monthly, check_month
from reports.monthly_xlsx import monthly_xlsx

if TYPE_CHECKING:
    from factorybot.runtime import Runtime


@click.group("report")
def report_group() -> None:
    """Reports: the monthly order-achievement analysis, the daily summary."""


def _runtime() -> Runtime:
    """The runtime the `factorybot` root group keeps in click's context (ctx.obj, built on first use): this
    package's commands never import the root command back."""
    return click.get_current_context().obj.runtime


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


@report_group.command("monthly")
@click.argument("month", required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: 月度订单达成分析表-YYYY-MM.pdf/.xlsx in the current directory).")
@click.option("--format", "file_format", type=click.Choice(["pdf", "xlsx"]), default="pdf", show_default=True)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Judge due dates as of this plant day (default: today).")
def monthly(month: str | None, output: Path | None, file_format: str, as_of: object) -> None:
    """The 月度订单达成分析表 for MONTH (e.g. 2026-10; default: last month) as a PDF or an Excel workbook."""
    # WeasyPrint takes a second to load: only the command that renders a PDF pays for it.
    from reports.monthly_pdf import filename, render_monthly_pdf

    rt = _runtime()
    today = as_of.date() if as_of else rt.today()  # type: ignore[attr-defined]
    try:
        wanted = Month.parse(month) if month else last_full_month(today)
        with UnitOfWork(rt.session_factory, read_only=True) as uow:
            check_month(uow, wanted, today)
            report = build_monthly(uow, wanted, as_of=today, policy=rt.alert_policy)
        content = render_monthly_pdf(report) if file_format == "pdf" else monthly_xlsx(report)
    except DomainError as exc:
        _fail(exc.message)
    target = output or Path(filename(report, file_format))
    # Written only once complete, so a failed run never leaves half a report to be mailed around.
    try:
        target.write_bytes(content)
    except OSError as exc:
        raise click.ClickException(f"无法写入 {target}：{exc.strerror}") from exc
    click.echo(f"已生成{wanted.label}月度订单达成分析表（{file_format.upper()}，{len(content) // 1024} KB）：{target}")
    click.echo(f"交期达成率 {fmt.pct(report.on_time.rate_pct)}，应交 {report.on_time.due} 行，逾期 {report.on_time.late} 行；"
               f"接单 {report.received.orders} 单，出货 {report.shipped.orders} 单。")


@report_group.command("daily")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The production day to summarise (default: yesterday).")
def daily(day: object) -> None:
    """Print the daily summary the managers get as a card at shift start."""
    rt = _runtime()
    wanted: date = day.date() if day else rt.today() - timedelta(days=1)  # type: ignore[attr-defined]
    with UnitOfWork(rt.session_factory, read_only=True) as uow:
        summary = daily_summary(uow, wanted, rt.alert_policy)
    click.echo(summary_text(summary))
