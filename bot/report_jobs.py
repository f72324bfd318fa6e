"""Reports leaving through WeCom: the monthly report as a file (asked for in chat, or on schedule to the
executives) and the daily summary card to managers.

Scheduled sends are claimed under a key in processed_messages first, so Celery beat and a restarted ticker
firing for the same month or day send once; a failed send gives its claim back so a retry can send.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerts.outbox import queue_card
from alerts.policy import AlertPolicy
from alerts.routing import people_with
from domain.models import ProcessedMessage
from domain.uow import UnitOfWork, run_unit
from reports import fmt
from reports.daily_summary import (
    DailySummary,
    daily_summary,
    previous_production_day,
    shift_line,
    summary_rows,
)
from reports.month import Month, last_full_month
from reports.monthly import MonthlyReport, build_monthly
from reports.monthly_pdf import filename, render_monthly_pdf
from reports.monthly_xlsx import monthly_xlsx
from reports.schedule import ReportPolicy
from wecom.cards import make_task_id, text_notice_card
from wecom.client import MEDIA_LIMITS, WeComClient

log = logging.getLogger(__name__)

PDF, XLSX = "pdf", "xlsx"


@dataclass(frozen=True)
class Sent:
    filename: str
    size: int


def monthly_file(r: MonthlyReport, file_format: str) -> tuple[str, bytes]:
    content = monthly_xlsx(r) if file_format == XLSX else render_monthly_pdf(r)
    return filename(r, file_format), content


def monthly_message(r: MonthlyReport, name: str, size: int) -> str:
    """The text that follows the file: the headline figures, so a phone shows them without opening it."""
    prev = r.previous
    ot = r.on_time
    change = f"（较上月 {fmt.points(ot.rate_pct, prev.on_time_pct)}）" if prev and prev.on_time_pct is not None else ""
    partial = "" if r.complete else f"\n本月尚未结束，数据截至 {r.as_of.isoformat()}。"
    return (f"《{name}》已生成（{max(1, size // 1024)} KB），请查收。\n"
            f"交期达成率 {fmt.pct(ot.rate_pct)}{change}：应交 {ot.due} 行，逾期 {ot.late} 行\n"
            f"接单 {r.received.orders} 单，出货 {r.shipped.orders} 单，计划完成率 {fmt.pct(r.plan.qty_pct)}\n"
            f"注塑不良率 {fmt.pct(r.quality_total.moulding_defect_pct, 2)}，现场异常 {r.exceptions_total.count} 起"
            + partial)


def send_monthly(session_factory: sessionmaker[Session], client: WeComClient, policy: AlertPolicy, *,
                 userids: Sequence[str], month: Month, as_of: date, file_format: str = PDF) -> Sent | None:
    """Render the month, upload it as a WeCom file and send it with its headline figures to `userids`."""
    # Read, then render outside the transaction: the PDF takes seconds.
    report = run_unit(session_factory, lambda uow: build_monthly(uow, month, as_of=as_of, policy=policy),
                      read_only=True)
    name, content = monthly_file(report, file_format)
    limit = MEDIA_LIMITS["file"]
    if len(content) > limit:
        # WeCom refuses files over 20 MB; say so rather than fail silently in a retry loop.
        client.send_text(list(userids), f"《{name}》有 {len(content) / 1024 / 1024:.1f} MB，超过企业微信文件上限 "
                                        f"{limit // 1024 // 1024} MB，无法在企业微信发送。请联系管理员用命令行导出："
                                        f"factorybot report monthly {month.iso} --format {file_format}")
        return None
    media_id = client.upload_media("file", name, content)
    client.send_file(list(userids), media_id)
    client.send_text(list(userids), monthly_message(report, name, len(content)))
    return Sent(name, len(content))


# --- scheduled ----------------------------------------------------------------------------------------------


def _claim(session_factory: sessionmaker[Session], key: str, now: datetime) -> bool:
    try:
        run_unit(session_factory, lambda uow: uow.session.add(ProcessedMessage(key=key, reply_xml=None,
                                                                             created_at=now)))
    except IntegrityError:
        return False
    return True


def _release(session_factory: sessionmaker[Session], key: str) -> None:
    run_unit(session_factory, lambda uow: uow.session.execute(delete(ProcessedMessage).where(ProcessedMessage.key == key)))


def monthly_to_executives(session_factory: sessionmaker[Session], client: WeComClient, alert_policy: AlertPolicy,
                          reports: ReportPolicy, now: datetime) -> Sent | None:
    """Last month's report to the REPORT_MONTHLY_TO roles, once per month."""
    today = now.astimezone(reports.tz).date()
    month = last_full_month(today)
    userids = run_unit(session_factory, lambda uow: people_with(uow, reports.monthly_to, None), read_only=True)
    if not userids:
        log.warning("monthly report %s: nobody has the roles %s", month.iso, ",".join(reports.monthly_to))
        return None
    key = f"job:reports.monthly:{month.iso}"
    if not _claim(session_factory, key, now):
        log.info("monthly report %s already sent", month.iso)
        return None
    try:
        return send_monthly(session_factory, client, alert_policy, userids=userids, month=month, as_of=today)
    except Exception:
        _release(session_factory, key)
        raise


def daily_summary_card(s: DailySummary, url: str) -> dict[str, Any]:
    return text_notice_card(
        task_id=make_task_id("daily", s.day.isoformat()),
        title=f"昨日生产简报 {s.day:%m-%d}",
        desc="FactoryBot 每日简报",
        emphasis=(fmt.pct(s.plan_pct, 0), "昨日计划完成率"),
        rows=summary_rows(s),
        sub_title=shift_line(s),  # a plant of several shifts: each shift's figure (the card has no row left)
        url=url,
        jump_text="打开订单看板",
    )


def queue_daily_summary(uow: UnitOfWork, alert_policy: AlertPolicy, reports: ReportPolicy, now: datetime) -> bool:
    """Yesterday's summary card into the notice outbox for the REPORT_DAILY_TO roles, once per day.

    Yesterday is the last finished production day (on a 2x12 plant the night shift ends it at 08:00). The
    claim and the notice commit together, so the card is queued exactly once; the caller commits."""
    plant = alert_policy.plant
    if plant.multi_shift:
        yesterday = previous_production_day(plant, now)
    else:
        yesterday = now.astimezone(reports.tz).date() - timedelta(days=1)
    userids = people_with(uow, reports.daily_to, None)
    if not userids:
        return False
    try:
        with uow.session.begin_nested():
            uow.session.add(ProcessedMessage(key=f"job:reports.daily:{yesterday.isoformat()}", reply_xml=None,
                                             created_at=now))
    except IntegrityError:
        return False
    card = daily_summary_card(daily_summary(uow, yesterday, alert_policy), reports.board_url)
    queue_card(uow, userids, card, now)
    return True
