"""Sending the outbox (domain/services/outbox.py): every outgoing WeCom message, alerts and replies alike.

A row moves pending → sending → sent. The claim is a conditional UPDATE committed before the send, so two
senders never take the same row and no transaction is held while WeCom answers. A sender that dies between
claim and send leaves the row in "sending"; once its lease is over the next round takes it again. Because
message/send goes out with WeCom's duplicate check on for the whole retry window (wecom/client.py), a
resend whose first try did go through (a timeout after success, a crash after the send) is answered but not
delivered again.

Transient failures (network, 5xx, busy, throttled) wait with a growing backoff (5 s … 30 min) and are retried
for as long as the duplicate check covers (4 h), then become failed. Permanent refusals (WeComAPIError, e.g.
60020 untrusted IP) become failed at once. Failed rows are counted in /metrics, listed by `factorybot outbox
list` and put back by `factorybot outbox retry` once the cause is fixed. Nothing here sleeps: a row not due
yet is skipped, and the periodic round (Celery beat, or the in-process ticker) comes back for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.dedup import sent_part_key
from bot.routing import Outgoing
from domain.models import AlertCard, Notice
from domain.services.outbox import ACTIVE, queue_message
from domain.uow import UnitOfWork, run_unit
from domain.vocab import NoticeState
from wecom.client import DUPLICATE_CHECK_SECONDS, WeComClient
from wecom.errors import Throttled, TransientError, WeComAPIError

log = logging.getLogger(__name__)

# Longer than one send can take (the client's timeout, a token refetch and its retry): a row in "sending"
# this long belongs to a sender that died.
LEASE = timedelta(seconds=60)
BACKOFF_SECONDS = (5, 30, 120, 600, 1800)  # then every 30 min
# Retrying after this could deliver twice: WeCom's duplicate check looks back at most this far.
RETRY_WINDOW = timedelta(seconds=DUPLICATE_CHECK_SECONDS)
# Transient failures in a row (not throttling) after which a round stops: WeCom is down for everyone.
GIVE_UP_ROUND_AFTER = 3


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    waiting: int  # not due yet, put back after a transient failure, or behind an earlier message to the same person


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1])


def _members(userids: str) -> set[str]:
    return {u.lower() for u in userids.split("|") if u}  # WeCom userids are case-insensitive, as the quota is


def queue_outgoing(uow: UnitOfWork, outs: Sequence[Outgoing], now: datetime, key: str | None,
                   first_index: int = 0) -> int:
    """Direct messages (a handler's active messages) into the outbox; part i is keyed (key, first_index + i)
    so that running the same callback or task again queues nothing new. Files are not for the outbox."""
    queued = 0
    for index, out in enumerate(outs, start=first_index):
        if out.file is not None:
            raise ValueError("files are sent by the deferred task, not through the outbox")
        part_key = sent_part_key(key, index) if key is not None else None
        if queue_message(uow, out.userids, now, text=out.text, card=out.card, key=part_key) is not None:
            queued += 1
    return queued


def _due(state: NoticeState, next_attempt_at: datetime | None, claimed_at: datetime | None, now: datetime) -> bool:
    if state == NoticeState.PENDING:
        return next_attempt_at is None or next_attempt_at <= now
    return claimed_at is None or claimed_at <= now - LEASE  # sending: its sender's lease ran out


def _send(client: WeComClient, notice: Notice) -> dict[str, Any]:
    users = notice.userids.split("|")
    if notice.response_code is not None:
        if notice.card is not None:
            return client.update_card(users, notice.response_code, card=dict(notice.card))
        return client.update_card(users, notice.response_code, replace_name=notice.text or "")
    if notice.card is not None:
        return client.send_card(users, dict(notice.card))
    return client.send_text(users, notice.text or "")


def deliver(session_factory: sessionmaker[Session], client: WeComClient, now: Callable[[], datetime],
            limit: int = 2000) -> DeliveryReport:
    """One round: send every row that is due, oldest first, each person's messages in order.

    The rows looked at include those backing off (a few columns each): they say whose later messages must
    wait, and a long outage's backlog must not hide a new message from the round."""
    started = now()
    # A read: it must not queue behind the callbacks' writes for SQLite's lock.
    rows = run_unit(session_factory, lambda uow: list(uow.session.execute(
        select(Notice.id, Notice.userids, Notice.state, Notice.next_attempt_at, Notice.claimed_at)
        .where(Notice.state.in_(ACTIVE)).order_by(Notice.id).limit(limit))), read_only=True)
    sent = failed = waiting = 0
    # People with an earlier message still waiting (backing off, throttled, being sent): their later ones wait
    # too, so each person's messages keep their order. A group send holds back all of its members.
    blocked: set[str] = set()
    down = 0
    for i, (notice_id, userids, state, next_attempt_at, claimed_at) in enumerate(rows):
        members = _members(userids)
        if members & blocked or not _due(state, next_attempt_at, claimed_at, started):
            blocked |= members
            waiting += 1
            continue
        outcome = _claim_and_send(session_factory, client, now, notice_id, started)
        if outcome is None:
            continue  # another sender took it
        if outcome == "sent":
            sent += 1
            down = 0
        elif outcome == "failed":
            failed += 1
        else:
            blocked |= members
            waiting += 1
            down = 0 if outcome == "throttled" else down + 1
            if down >= GIVE_UP_ROUND_AFTER:
                # WeCom itself is failing (busy, down, unreachable): the rest would fail the same way.
                return DeliveryReport(sent, failed, waiting + len(rows) - i - 1)
    return DeliveryReport(sent, failed, waiting)


def _claim_and_send(session_factory: sessionmaker[Session], client: WeComClient, now: Callable[[], datetime],
                    notice_id: int, at: datetime) -> str | None:
    with UnitOfWork(session_factory) as uow:
        claimed = uow.session.execute(
            update(Notice).where(
                Notice.id == notice_id,
                or_(
                    (Notice.state == NoticeState.PENDING)
                    & or_(Notice.next_attempt_at.is_(None), Notice.next_attempt_at <= at),
                    (Notice.state == NoticeState.SENDING)
                    & or_(Notice.claimed_at.is_(None), Notice.claimed_at <= at - LEASE),
                ))
            .values(state=NoticeState.SENDING, claimed_at=at, attempts=Notice.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            return None
        notice = uow.session.get(Notice, notice_id)
        assert notice is not None
        if notice.first_attempt_at is None:
            notice.first_attempt_at = at
        # Committed before the send: no transaction (on SQLite, the write lock) is held while WeCom answers,
        # and the client's record of recipients it did not reach can be written meanwhile.
        uow.commit()
        try:
            result = _send(client, notice)
        except TransientError as exc:
            return _transient(uow, notice, exc, now())
        except WeComAPIError as exc:
            if _told_instead(uow, notice, str(exc), now()):
                return "sent"
            _failed(uow, notice, str(exc))
            log.error("notice %s refused by WeCom, kept as failed: %s", notice_id, exc)
            return "failed"
        except (ValueError, TypeError) as exc:  # a row WeCom could never accept (a malformed card): resending is futile
            _failed(uow, notice, f"invalid message: {exc}")
            log.error("notice %s cannot be sent: %s", notice_id, exc)
            return "failed"
        done = now()
        notice.state = NoticeState.SENT
        notice.sent_at = done
        notice.msgid = str(result.get("msgid") or "")[:128] or None
        if notice.alert_card_id is not None:
            card_row = uow.session.get(AlertCard, notice.alert_card_id)
            if card_row is not None:
                card_row.response_code = result.get("response_code") or None
                card_row.sent_at = done
        uow.commit()
        return "sent"


def _told_instead(uow: UnitOfWork, notice: Notice, error: str, at: datetime) -> bool:
    """A card update refused (its code used or expired) that carries its text: the text goes instead.

    Retrying could never succeed (the code is single use), and the person must not keep a stale card
    without knowing: the row is done, with the refusal kept, and the text is queued once (keyed by the row).
    """
    if notice.response_code is None or notice.card is None or not notice.text:
        return False
    queue_message(uow, notice.userids.split("|"), at, text=notice.text, key=f"card_update_text:{notice.id}")
    notice.state = NoticeState.SENT
    notice.sent_at = at
    notice.last_error = f"卡片未能更新，已改发文字：{error}"[:300]
    notice.next_attempt_at = None
    uow.commit()
    log.info("notice %s: card not updated (%s), told in a text instead", notice.id, error)
    return True


def _failed(uow: UnitOfWork, notice: Notice, error: str) -> None:
    notice.state = NoticeState.FAILED
    notice.last_error = error[:300]
    notice.next_attempt_at = None
    uow.commit()


def _transient(uow: UnitOfWork, notice: Notice, exc: TransientError, at: datetime) -> str:
    first = notice.first_attempt_at or at
    if at - first >= RETRY_WINDOW:
        _failed(uow, notice, f"retried for {RETRY_WINDOW} without success: {exc}")
        log.error("notice %s given up after %d attempts: %s", notice.id, notice.attempts, exc)
        return "failed"
    wait = timedelta(seconds=exc.retry_after + 1) if isinstance(exc, Throttled) else backoff(notice.attempts)
    notice.state = NoticeState.PENDING
    notice.next_attempt_at = at + wait
    notice.last_error = str(exc)[:300]
    uow.commit()
    log.warning("notice %s not sent yet (attempt %d, next in %ds): %s", notice.id, notice.attempts,
                wait.total_seconds(), exc)
    return "throttled" if isinstance(exc, Throttled) else "waiting"
