"""KIS trouble as alerts for the admin role, and the alerts a voided order leaves behind closed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select

from alerts.engine import EvalResult, apply, evaluate_kis_sync
from alerts.policy import AlertPolicy
from alerts.rules import KIS_PUSH_FAILED, KIS_PUSH_REJECTED, Finding
from domain.models import Alert
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus

ORDER_VOIDED = "订单已作废"


def sync_recorded(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> None:
    """A run has just recorded its outcome in sync_state: let the KIS rule (alerts/rules.py) decide now
    rather than at the next alert round, so a failure reaches the admin at once and a success clears it."""
    uow.flush()
    evaluate_kis_sync(uow, policy, now, EvalResult())


def raise_rejections(uow: UnitOfWork, policy: AlertPolicy, *, count: int, examples: list[str],
                     now: datetime) -> None:
    """Rows KIS refused to import need a person: one alert stays open until an admin closes it."""
    facts = {"任务": "完工回写", "被拒行数": str(count), "示例": "；".join(examples[:3])[:300]}
    apply(uow, policy, KIS_PUSH_FAILED,
          [Finding(KIS_PUSH_FAILED, KIS_PUSH_REJECTED, f"KIS 拒绝导入 {count} 行完工记录", None, facts)],
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
