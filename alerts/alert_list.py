"""The chat's `预警` list, a page at a time, and `预警 #12`: that alert's card again, to act on it.

A page holds PAGE_SIZE lines of at most LINE_BYTES each (a long title is cut), so a page always fits in one
WeCom text (2048 bytes) with its header and footer. The card sent on request is a card send like any other
(an alert_cards row, through the outbox), so 认领 / 已处理 on it work and every copy is updated after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from alerts.cards import alert_card, state_line
from alerts.engine import people_by_id
from alerts.outbox import queue_card
from alerts.policy import AlertPolicy
from alerts.rules import RULE_LABELS, span
from alerts.visibility import Seen, may_act, reported_by, seen_by
from domain.errors import NotAllowed, NotFound
from domain.models import Alert, AlertCard, Person
from domain.uow import UnitOfWork
from domain.vocab import AlertStatus
from wecom.cards import make_task_id
from wecom.replies import truncate_utf8

PAGE_SIZE = 10
LINE_BYTES = 170  # 10 lines, a header and a two-line footer stay under WeCom's 2048 bytes
NOTHING = "您目前没有待处理的预警。"
CARD_HINT = "发送「预警 #编号」收到该预警的卡片，可认领、处理。"


def _state(alert: Alert, policy: AlertPolicy, people: dict[int, Person], now: datetime) -> str:
    age = span(max(0.0, (now - alert.fired_at).total_seconds()) / 60)
    if alert.status == AlertStatus.CLOSED:
        return f"已关闭：{alert.resolution or '已处理'}"
    if alert.status == AlertStatus.ACKNOWLEDGED:
        owner = people.get(alert.acknowledged_by_id or 0)
        return f"认领人 {owner.name if owner else '-'} · 已 {age}"
    return f"待认领 · 已 {age}"


def _line(seen: Seen, policy: AlertPolicy, people: dict[int, Person], now: datetime) -> str:
    a = seen.alert
    head = f"· #{a.id}【{RULE_LABELS.get(a.rule, a.rule)}】"
    tail = f"（{_state(a, policy, people, now)}）"
    room = LINE_BYTES - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    return f"{head}{truncate_utf8(a.title, max(room, 0))}{tail}"


def alert_page(uow: UnitOfWork, policy: AlertPolicy, *, userid: str, page: int, now: datetime) -> str:
    person = uow.session.scalar(select(Person).where(Person.userid == userid))
    seen = seen_by(uow, policy, person, now) if person is not None and person.active else []
    if not seen:
        return NOTHING
    pages = (len(seen) + PAGE_SIZE - 1) // PAGE_SIZE
    if page < 1 or page > pages:
        last = "「预警」" if pages == 1 else f"「预警 1」到「预警 {pages}」"
        return (f"预警列表只有 {pages} 页，请发送{last}查看。\n"
                f"要收到某条预警的卡片，请发送「预警 #编号」，如「预警 #{seen[0].alert.id}」。")
    shown = seen[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    people = people_by_id(uow, {s.alert.acknowledged_by_id for s in shown})
    open_count = sum(1 for s in seen if s.alert.status != AlertStatus.CLOSED)
    closed_count = len(seen) - open_count
    header = f"待处理预警 {open_count} 条" + (f"，您报告的已关闭 {closed_count} 条" if closed_count else "") + "："
    lines = [header, *(_line(s, policy, people, now) for s in shown)]
    if pages > 1:
        more = f"，发送「预警 {page + 1}」查看下一页" if page < pages else ""
        lines.append(f"第 {page}/{pages} 页{more}")
    if any(s.may_act for s in seen):
        lines.append(CARD_HINT)
    return "\n".join(lines)


@dataclass(frozen=True)
class Resent:
    alert_id: int
    message: str


def resend_card(uow: UnitOfWork, policy: AlertPolicy, *, alert_id: int, person: Person, now: datetime) -> Resent:
    """Queue the alert's card, as it stands now, to this person if they may act on it; else say why not."""
    alert = uow.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"预警 #{alert_id} 不存在。")
    people = people_by_id(uow, {alert.acknowledged_by_id, alert.closed_by_id})
    if not may_act(uow, policy, person, alert):
        if reported_by(uow, person, alert):
            raise NotAllowed(f"预警 #{alert.id} 由班组长、主管处理，您不能在卡片上操作。\n"
                             f"当前状态：{state_line(alert, policy, people)}")
        raise NotAllowed(f"预警 #{alert.id} 不是您负责的预警，不能查看或处理。发送「预警」查看您的预警。")
    if alert.status == AlertStatus.CLOSED:
        return Resent(alert.id, f"预警 #{alert.id} {alert.title}\n{state_line(alert, policy, people)}，无需再处理。")
    # A request, not a round: its own task id, so it never takes the place of a card the rounds sent.
    n = uow.session.scalar(select(func.count()).select_from(AlertCard).where(AlertCard.alert_id == alert.id)) or 0
    row = AlertCard(alert_id=alert.id, task_id=make_task_id("alert", alert.id, "ask", person.userid, n + 1),
                    userids=person.userid, level=alert.level)
    uow.session.add(row)
    uow.session.flush()
    queue_card(uow, [person.userid], alert_card(alert, task_id=row.task_id, policy=policy, people=people),
               now, alert_card_id=row.id)
    return Resent(alert.id, f"已把预警 #{alert.id} 的卡片发给您，可在卡片上认领、处理。")
