"""The 月度订单达成分析表's content for one month: every figure from reports.delivery, reports.production,
reports.exceptions, alerts.stats and reports.kis_month, plus the same headline figures for the months before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from alerts.policy import AlertPolicy
from alerts.stats import AlertStats, RepairStats, alert_stats, repair_stats
from domain.errors import DomainError
from domain.models import SalesOrder, SalesOrderLine, WorkReport
from domain.services.usage import UsageReport, usage_report
from domain.uow import UnitOfWork
from reports import delivery, exceptions, kis_month, production
from reports.month import Month
from reports.shift_split import NO_SPLIT, ShiftSplit, shift_split

TREND_MONTHS = 6


@dataclass(frozen=True)
class TrendPoint:
    month: Month
    received_orders: int
    due_lines: int
    on_time_pct: float | None
    shipped_orders: int
    finished_good: int
    moulding_defect_pct: float | None
    exceptions: int


@dataclass(frozen=True)
class MonthlyReport:
    month: Month
    as_of: date
    received: delivery.Received
    received_by_customer: list[delivery.CustomerOrders]
    shipped: delivery.Shipped
    on_time: delivery.OnTime
    on_time_by_customer: list[tuple[str, delivery.OnTime]]
    on_time_by_product: list[tuple[str, delivery.OnTime]]
    late: list[delivery.LateLine]
    plan: production.PlanCompletion
    quality: list[production.QualityRow]
    quality_total: production.QualityRow
    pareto: list[production.ParetoBar]
    exception_types: list[exceptions.ExceptionType]
    exceptions_total: exceptions.ExceptionType
    alerts: list[AlertStats]
    repairs: RepairStats
    kis: list[kis_month.KisRow]
    kis_total: kis_month.KisRow
    trend: list[TrendPoint]
    usage: UsageReport | None = None
    # Output by shift and crew: empty (not shown) on a one-shift plant without crews.
    shifts: ShiftSplit = NO_SPLIT

    @property
    def complete(self) -> bool:
        """False while the month is still running on the report day."""
        return self.as_of > self.month.last

    @property
    def kis_write_back(self) -> bool:
        """Whether FactoryBot wrote the month's completions back to KIS: any write-back row for it. The push
        queues every finished day locally, even while KIS is down, so a month with none had it switched off
        (no KIS_ODBC), and there is no KIS difference to chase. The cover, the KIS page and the workbook all
        go by this."""
        k = self.kis_total
        return bool(k.imported or k.written or k.queued or k.rejected)

    @property
    def previous(self) -> TrendPoint | None:
        return self.trend[-2] if len(self.trend) > 1 else None

    @property
    def current(self) -> TrendPoint:
        return self.trend[-1]


def check_month(uow: UnitOfWork, month: Month, today: date) -> None:
    """Refuse a month that has not begun or that the store knows nothing about, naming one that works."""
    this_month = Month.of(today)
    if month > this_month:
        raise DomainError(f"{month.label}还没有到，无法生成月报。最近可查的是上月（{this_month.previous().iso}），"
                          f"或本月至今（{this_month.iso}）。")
    if not has_data(uow, month):
        first = first_month(uow)
        hint = f"系统中的数据从 {first.label}开始。" if first else "系统中还没有订单数据。"
        raise DomainError(f"{month.label}没有订单和报工数据，无法生成月报。{hint}")


def has_data(uow: UnitOfWork, month: Month) -> bool:
    s = uow.session
    return any(s.scalar(query.limit(1)) is not None for query in (
        select(SalesOrder.id).where(SalesOrder.order_date >= month.first, SalesOrder.order_date <= month.last),
        select(SalesOrderLine.id).where(SalesOrderLine.due_date >= month.first, SalesOrderLine.due_date <= month.last),
        select(WorkReport.id).where(WorkReport.work_day >= month.first, WorkReport.work_day <= month.last),
    ))


def first_month(uow: UnitOfWork) -> Month | None:
    first = uow.session.scalar(select(func.min(SalesOrder.order_date)))
    return Month.of(first) if first else None


def _trend_point(uow: UnitOfWork, month: Month, as_of: date, policy: AlertPolicy) -> TrendPoint:
    lines = delivery.due_lines(uow, month, policy.tz)
    quality_total = production.total_quality(production.quality(uow, month))
    return TrendPoint(month, delivery.received(uow, month, as_of).orders, len(lines),
                      delivery.on_time(lines, as_of).rate_pct, delivery.shipped(uow, month, policy.tz, as_of).orders,
                      quality_total.finished_good, quality_total.moulding_defect_pct,
                      len(exceptions.exception_rows(uow, month, policy.tz)))


def build_monthly(uow: UnitOfWork, month: Month, *, as_of: date, policy: AlertPolicy) -> MonthlyReport:
    """Everything the PDF and the workbook show, judged as of the report day `as_of`."""
    tz = policy.tz
    lines = delivery.due_lines(uow, month, tz)
    on_time = delivery.on_time(lines, as_of)
    received = delivery.received(uow, month, as_of)
    shipped = delivery.shipped(uow, month, tz, as_of)
    quality = production.quality(uow, month)
    quality_total = production.total_quality(quality)
    exception_rows = exceptions.exception_rows(uow, month, tz)
    kis = kis_month.kis_month_end(uow, month, quality)
    this = TrendPoint(month, received.orders, on_time.due, on_time.rate_pct, shipped.orders,
                      quality_total.finished_good, quality_total.moulding_defect_pct, len(exception_rows))
    earlier = [_trend_point(uow, m, as_of, policy) for m in month.back(TREND_MONTHS)[:-1]]
    return MonthlyReport(
        month=month,
        as_of=as_of,
        received=received,
        received_by_customer=delivery.received_by_customer(uow, month, as_of),
        shipped=shipped,
        on_time=on_time,
        on_time_by_customer=delivery.on_time_by(lines, as_of, delivery.by_customer),
        on_time_by_product=delivery.on_time_by(lines, as_of, delivery.by_product),
        late=delivery.late_lines(lines, as_of, delivery.recorded_reasons(uow, [
            line for line in lines if delivery.verdict(line, as_of) == delivery.LATE])),
        plan=production.plan_completion(uow, month, policy.plant),
        quality=quality,
        quality_total=quality_total,
        pareto=production.defect_pareto(quality),
        exception_types=exceptions.by_type(exception_rows),
        exceptions_total=exceptions.overall(exception_rows),
        alerts=alert_stats(uow, policy, month.iso),
        repairs=repair_stats(uow, policy, month.iso),
        kis=kis,
        kis_total=kis_month.kis_total(kis),
        trend=[*earlier, this],
        usage=usage_report(uow, month.iso, today=as_of, tz=tz),
        shifts=shift_split(uow, month, policy.plant),
    )
