"""After 认领 / 升级 / 转维修 / 关闭, every copy of the card shows the new state, for everyone who got it.

Each card send has its own single-use response code (72 h). The tap's own event code updates the tapped
card; the others use their stored send code once. A send still waiting in the outbox simply goes out in the
new state. A card with no usable code left gets one short text naming the alert instead, so nobody keeps
acting on a stale card without knowing; a person with several copies gets one text, not one per copy.

Two ways in, one plan: a tap (update_cards, run as a task after the tap's transaction: it calls WeCom
directly, outside any transaction) and the round's own changes (queue_refresh: escalation, the system
clearing an alert; the round runs in a transaction, so the updates go through the outbox as Notice rows
with the code, which bot/outbox.py sends as update_template_card, falling back to the text if refused).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session, sessionmaker

from alerts.cards import alert_card, people_by_id, state_line
from alerts.outbox import queue_text
from alerts.policy import AlertPolicy
from domain.models import Alert, AlertCard, Notice
from domain.services.outbox import queue_message
from domain.uow import UnitOfWork
from domain.vocab import NoticeState
from wecom.client import WeComClient
from wecom.errors import WeComAPIError

log = logging.getLogger(__name__)

# A send's response code is valid this long (wecom.md: 72 h; an older copy says 24 h, the fake says 72).
CODE_TTL = timedelta(hours=72)


@dataclass(frozen=True)
class _CardUpdate:
    card_row_id: int
    userids: list[str]
    code: str
    card: dict[str, Any]
    stored_code: bool  # the send's own code, usable once


@dataclass
class _Plan:
    notice: str  # the text for those whose card cannot be updated
    updates: list[_CardUpdate] = field(default_factory=list)
    waiting: list[tuple[int, list[str], dict[str, Any]]] = field(default_factory=list)  # unsent sends: notice id
    in_words: set[str] = field(default_factory=set)

    def words_for(self, failed_rows: set[int], missed_notices: set[int]) -> list[str]:
        """People left with no current copy: none of their cards updated or about to go out in the new state
        (failed_rows: updates WeCom refused; missed_notices: sends a sender took before the new state)."""
        current = {u for x in self.updates if x.card_row_id not in failed_rows for u in x.userids}
        current |= {u for nid, users, _ in self.waiting if nid not in missed_notices for u in users}
        stale = self.in_words | {u for x in self.updates if x.card_row_id in failed_rows for u in x.userids}
        stale |= {u for nid, users, _ in self.waiting if nid in missed_notices for u in users}
        return sorted(stale - current)


def notice_text(alert: Alert, policy: AlertPolicy, people: dict[int, Any]) -> str:
    return f"预警 #{alert.id} {alert.title}\n{state_line(alert, policy, people)}"


def _plan(uow: UnitOfWork, policy: AlertPolicy, alert: Alert, now: datetime, *, tapped_task_id: str = "",
          tap_code: str = "") -> _Plan:
    people = people_by_id(uow, {alert.acknowledged_by_id, alert.closed_by_id})
    plan = _Plan(notice_text(alert, policy, people))
    rows = list(uow.session.scalars(select(AlertCard).where(AlertCard.alert_id == alert.id).order_by(AlertCard.id)))
    unsent = dict(uow.session.execute(
        select(Notice.alert_card_id, Notice.id).where(
            Notice.alert_card_id.in_([r.id for r in rows]), Notice.response_code.is_(None),
            Notice.state == NoticeState.PENDING)).all()) if rows else {}
    # An update queued by a round and not sent yet carries the row's one code: it goes out in this state.
    queued = {int(str(key).rsplit(":", 1)[1]): nid for key, nid in uow.session.execute(
        select(Notice.key, Notice.id).where(Notice.key.in_([_update_key(r.id) for r in rows]),
                                           Notice.state == NoticeState.PENDING)).all()} if rows else {}
    for row in rows:
        users = [u for u in row.userids.split("|") if u]
        card = alert_card(alert, task_id=row.task_id, policy=policy, people=people)
        if row.task_id == tapped_task_id and tap_code:
            plan.updates.append(_CardUpdate(row.id, users, tap_code, card, False))
            if row.id in queued:  # else the round's update, sent after the tap's, would show the old state
                plan.waiting.append((queued[row.id], users, card))
        elif row.id in unsent:
            plan.waiting.append((unsent[row.id], users, card))
        elif row.id in queued:
            plan.waiting.append((queued[row.id], users, card))
        elif (row.response_code and not row.code_used and row.sent_at is not None
              and now - row.sent_at < CODE_TTL):
            plan.updates.append(_CardUpdate(row.id, users, row.response_code, card, True))
        elif row.task_id != tapped_task_id:
            plan.in_words |= set(users)
    return plan


def _update_key(card_row_id: int) -> str:
    # One update per card row ever (its stored code is single use): the row's id keys it.
    return f"alert_card_update:{card_row_id}"


def _patch_waiting(uow: UnitOfWork, plan: _Plan) -> set[int]:
    """Put the new state into sends (and queued updates) not yet taken by a sender; those taken are returned."""
    missed: set[int] = set()
    for notice_id, _, card in plan.waiting:
        changed = uow.session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.state == NoticeState.PENDING)
            # The text is a queued update's words if WeCom refuses it (a first send has none).
            .values(card=card, text=case((Notice.response_code.is_(None), Notice.text), else_=plan.notice))
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        if not changed:
            missed.add(notice_id)
    return missed


def queue_refresh(uow: UnitOfWork, policy: AlertPolicy, alert: Alert, now: datetime, *, reason: str) -> int:
    """In the caller's transaction: queue the update of every card of this alert (or one text). `reason`
    names the change (with `now` it keys the text, so a repeated round queues nothing new)."""
    uow.session.flush()
    plan = _plan(uow, policy, alert, now)
    missed = _patch_waiting(uow, plan)
    for u in plan.updates:
        row = uow.session.get(AlertCard, u.card_row_id)
        if row is not None:
            row.code_used = True  # single use: taken now, whether or not WeCom accepts it
        queue_message(uow, u.userids, now, card=u.card, response_code=u.code, text=plan.notice,
                      key=_update_key(u.card_row_id))
    words = plan.words_for(set(), missed)
    if words:
        queue_text(uow, words, plan.notice, now, key=f"alert_change:{alert.id}:{reason}:{now.isoformat()}"[:120])
    return len(plan.updates)


def update_cards(session_factory: sessionmaker[Session], client: WeComClient, policy: AlertPolicy, *,
                 alert_id: int, tapped_task_id: str, response_code: str, now: datetime) -> int:
    # Three steps, so no transaction is open while WeCom is called: read what to update, call WeCom,
    # then record the codes used and the texts for the cards that could not be updated.
    with UnitOfWork(session_factory, read_only=True) as uow:
        alert = uow.session.get(Alert, alert_id)
        if alert is None:
            return 0
        plan = _plan(uow, policy, alert, now, tapped_task_id=tapped_task_id, tap_code=response_code)
    updated = 0
    failed: set[int] = set()
    for u in plan.updates:
        try:
            client.update_card(u.userids, u.code, card=u.card)
            updated += 1
        except WeComAPIError as exc:  # the code expired (72 h) or was used: say it in words instead
            log.warning("card %s of alert %s not updated: %s", u.card_row_id, alert_id, exc)
            failed.add(u.card_row_id)
    with UnitOfWork(session_factory) as uow:
        for u in plan.updates:
            if u.stored_code:
                sent = uow.session.get(AlertCard, u.card_row_id)
                if sent is not None:
                    sent.code_used = True
        words = plan.words_for(failed, _patch_waiting(uow, plan))
        if words:
            queue_text(uow, words, plan.notice, now)
        uow.commit()
    return updated
