"""KIS trouble as alerts for the admin role, and the alerts a voided order leaves behind closed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select

from alerts.engine import EvalResult, apply
from alerts.policy import AlertPolicy
from alerts.rules import KIS_PULL_FAILED, KIS_PUSH_FAILED, RULE_LABELS, Finding
from alerts.store import clear, in_force, rearm
from domain.models import Alert
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus

PULL_SUBJECT = "kis:pull"
PUSH_SUBJECT = "kis:push"
REJECTED_SUBJECT = "kis:push:rejected"
ORDER_VOIDED = "订单已作废"


def raise_failure(uow: UnitOfWork, policy: AlertPolicy, *, pull: bool, reason: str, failures: int,
                  now: datetime) -> None:
    """One open alert per job: a failure that repeats refreshes its facts instead of sending another card."""
    rule, subject, job = ((KIS_PULL_FAILED, PULL_SUBJECT, "订单同步") if pull
                          else (KIS_PUSH_FAILED, PUSH_SUBJECT, "完工回写"))
    facts = {"任务": job, "原因": reason[:300], "连续失败": f"{failures} 次",
             "时间": policy.local(now).strftime("%m-%d %H:%M")}
    apply(uow, policy, rule, [Finding(rule, subject, f"{RULE_LABELS[rule]}：{reason}"[:200], None, facts)],
          now, EvalResult(), clear_missing=False)


def clear_failure(uow: UnitOfWork, *, pull: bool, now: datetime) -> None:
    rule, subject = (KIS_PULL_FAILED, PULL_SUBJECT) if pull else (KIS_PUSH_FAILED, PUSH_SUBJECT)
    current = in_force(uow, rule, now).get(subject)
    if current is not None and current.status == AlertStatus.CLOSED:
        rearm(current)  # an admin closed it while KIS still failed: the next failure fires again
    else:
        clear(uow, rule=rule, subject_key=subject, now=now)


def raise_rejections(uow: UnitOfWork, policy: AlertPolicy, *, count: int, examples: list[str],
                     now: datetime) -> None:
    """Rows KIS refused to import need a person: one alert stays open until an admin closes it."""
    facts = {"任务": "完工回写", "被拒行数": str(count), "示例": "；".join(examples[:3])[:300]}
    apply(uow, policy, KIS_PUSH_FAILED,
          [Finding(KIS_PUSH_FAILED, REJECTED_SUBJECT, f"KIS 拒绝导入 {count} 行完工记录", None, facts)],
          now, EvalResult(), clear_missing=False, each_new=True)


def close_order_alerts(uow: UnitOfWork, *, bill_no: str | None, work_order_codes: Iterable[str], now: datetime,
                       resolution: str = ORDER_VOIDED) -> int:
    """Close the open alerts about the order or its work orders: nobody should chase a voided order."""
    codes = list(work_order_codes)
    about = [Alert.subject_key == f"order:{bill_no}"] if bill_no else []
    about += [Alert.subject_key == f"wo:{c}" for c in codes]
    about += [Alert.subject_key.like(f"wo:{c}:%") for c in codes]
    if not about:
        return 0
    closed = 0
    for alert in uow.session.scalars(select(Alert).where(Alert.status != AlertStatus.CLOSED, or_(*about))):
        alert.status = AlertStatus.CLOSED
        alert.closed_at = now
        alert.resolution = resolution
        closed += 1
    return closed
