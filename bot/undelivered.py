"""People WeCom accepted messages for but did not reach: the per-recipient record of each send, and the
administrator's daily notice naming them with what to fix (licence, visible range, account).

WeCom's `invaliduser` covers both a member outside the app's visible range and one that does not exist; the
notice tells them apart with `user/get`, which answers 60011 (no privilege) for a member outside the range
and 60111 for an unknown userid (WeCom's global error codes, path/90313).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerts.outbox import queue_text
from alerts.routing import people_with
from domain.models import ProcessedMessage
from domain.services.delivery import UnreachablePerson, record_undelivered, unreachable_since
from domain.uow import UnitOfWork, run_unit
from domain.vocab import Role, Undelivered, Unreachable
from factorybot.config import Settings
from reports.schedule import Cron
from wecom.client import NotDelivered, WeComClient
from wecom.errors import TransientError, WeComAPIError

log = logging.getLogger(__name__)

DIGEST_JOB = "wecom.undelivered_digest"
DIGEST_WINDOW = timedelta(hours=24)
DIGEST_MAX_PEOPLE = 30  # keeps the notice well inside WeCom's 2048 bytes
E_NO_PRIVILEGE, E_USER_NOT_FOUND = 60011, 60111


class Recorder:
    """The WeCom client's `on_not_delivered`: each report kept in its own short transaction."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.session_factory, self.clock = session_factory, clock

    def __call__(self, report: NotDelivered) -> None:
        run_unit(self.session_factory, lambda uow: record_undelivered(
            uow, msgid=report.msgid, msgtype=report.msgtype, at=self.clock(),
            recipients=[(who, Undelivered(reason)) for who, reason in report.recipients]))


@dataclass(frozen=True)
class DigestPolicy:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    cron: Cron | None = field(default_factory=lambda: Cron.parse("0 9 * * *", "WECOM_UNDELIVERED_SCHEDULE"))
    to: tuple[str, ...] = (Role.ADMIN,)


def build_digest_policy(settings: Settings) -> DigestPolicy:
    """WECOM_UNDELIVERED_SCHEDULE (a cron in plant time, or "off"), parsed and checked with the settings."""
    return DigestPolicy(tz=settings.tz, cron=settings.wecom_undelivered_schedule)


def classify(client: WeComClient, person: UnreachablePerson) -> Unreachable | None:
    """What to fix for one recipient; None for a party or tag (the notice is about people)."""
    if person.reason == Undelivered.UNLICENSED:
        return Unreachable.UNLICENSED
    if person.reason != Undelivered.INVALID_USER:
        return None
    try:
        client.get_user(person.userid)
    except WeComAPIError as exc:
        if exc.errcode == E_USER_NOT_FOUND:
            return Unreachable.NO_ACCOUNT
    except TransientError:
        log.warning("user/get %s failed; reported as outside the visible range", person.userid)
    # 60011, or readable yet refused by message/send: outside what the app may send to.
    return Unreachable.OUT_OF_RANGE


def digest_text(people: Sequence[tuple[UnreachablePerson, Unreachable]], now: datetime, tz: ZoneInfo) -> str:
    lines = [f"企业微信消息未送达：近 24 小时有 {len(people)} 人收不到 FactoryBot 的消息"]
    for person, why in people[:DIGEST_MAX_PEOPLE]:
        who = f"{person.name}（{person.userid}）" if person.name else person.userid
        last = person.last_at.astimezone(tz)
        lines.append(f"· {who}：{why.label}，{person.messages} 条未送达，最近 {last:%m-%d %H:%M}")
    if len(people) > DIGEST_MAX_PEOPLE:
        lines.append(f"……另有 {len(people) - DIGEST_MAX_PEOPLE} 人")
    lines.append("请在企业微信管理后台为他们开通许可、把他们加入应用的可见范围，或在人员名单中更正账号。")
    return "\n".join(lines)


def queue_digest(session_factory: sessionmaker[Session], client: WeComClient, policy: DigestPolicy,
                 now: datetime) -> bool:
    """Today's notice to the administrators into the outbox, once per plant day; False if nothing to say."""
    day = now.astimezone(policy.tz).date()
    found, admins = run_unit(session_factory, lambda uow: (unreachable_since(uow, now - DIGEST_WINDOW),
                                                          people_with(uow, policy.to, None)), read_only=True)
    if not found or not admins:
        return False
    # user/get is HTTP: asked before the write transaction opens.
    people = [(p, why) for p in found if (why := classify(client, p)) is not None]
    if not people:
        return False

    def claim_and_queue(uow: UnitOfWork) -> bool:
        try:
            with uow.session.begin_nested():
                uow.session.add(ProcessedMessage(key=f"job:{DIGEST_JOB}:{day.isoformat()}", reply_xml=None,
                                                 created_at=now))
        except IntegrityError:
            return False  # already sent today: nothing else was written
        queue_text(uow, admins, digest_text(people, now, policy.tz), now)
        return True

    return run_unit(session_factory, claim_and_queue)
