"""The framework-free core of the callback: dedup → user → route → handler in a unit of work → reply.

Flask (bot/callback.py) and the task worker (bot/tasks.py) are thin shells around this.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.dedup import DedupStore, Seen, StillRunning
from bot.observability import log_callback
from bot.outbox import queue_outgoing
from bot.queue import TaskQueue
from bot.routing import Ctx, Outgoing, Route, Router, normalized
from bot.task_refs import ALERTS_DELIVER, RUN_DEFERRED
from domain.errors import DomainError
from domain.models import ActionEvent
from domain.policy import PlantPolicy
from domain.services import conversation
from domain.services.people import find_person
from domain.uow import UnitOfWork, run_unit
from domain.vocab import ROLE_LABELS, Role
from wecom.inbound import CardClick, Inbound, ScanEvent, TextMsg
from wecom.replies import NoReply, Reply, Text, render_xml

log = logging.getLogger(__name__)

NOT_ENABLED = "您好！您的企业微信账号尚未开通 FactoryBot，请联系系统管理员开通后再使用。"
_WO_IN_TEXT = re.compile(r"WO[0-9A-Za-z-]{4,38}", re.IGNORECASE)
# How long a read-only route's usage row waits for SQLite's write lock before it is left to a thread.
QUICK_LOCK_WAIT_MS = 200
SYSTEM_ERROR = "抱歉，系统暂时出错，您的操作未被记录，请稍后再试。如多次出现请联系管理员。"


# How an action ended, for the success rate of key actions (点击成功率).
OK, USER_ERROR, REFUSED, FAILED = "ok", "user_error", "refused", "failed"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RouteRun:
    reply: Reply
    outbox: list[Outgoing]
    outcome: str
    recorded: bool = False  # its action event was written with it


def _subject(msg: Inbound) -> str | None:
    """The work order an action was about, so a scan and the report that followed can be paired."""
    text = ""
    if isinstance(msg, ScanEvent):
        text = msg.scan_result
    elif isinstance(msg, CardClick):
        text = msg.event_key
    elif isinstance(msg, TextMsg):
        text = msg.content
    match = _WO_IN_TEXT.search(text or "")
    return match.group(0).upper()[:80] if match else None


@dataclass
class BotCore:
    router: Router
    session_factory: sessionmaker[Session]
    policy: PlantPolicy
    dedup: DedupStore
    queue: TaskQueue
    public_url: str = ""
    clock: Callable[[], datetime] = field(default=_now)
    tools: Any = None
    dedup_wait: float = 2.0  # how long a repeat waits for a first run still holding its lease

    def handle(self, msg: Inbound) -> str:
        """Plaintext reply XML for a verified, parsed callback ('' means: answer with an empty body)."""
        started = time.perf_counter()
        msg = normalized(msg)
        key = msg.dedup_key
        seen = self.dedup.claim(key)
        if seen is not None and seen.running:
            seen = self._wait_for_first_run(key)
        if seen is not None:
            if seen.reply is None:
                # Its first run may be dead: '' would tell WeCom "received" and the work could be lost, so
                # the caller answers non-2xx and WeCom asks again, after the lease if need be.
                log.info("repeat delivery %s while its first run holds the lease", key)
                raise StillRunning(key)
            log.info("repeat delivery %s: answered from the first run", key)
            log_callback(route="-", user=msg.userid, kind=msg.kind, outcome="duplicate", started=started)
            return seen.reply
        try:
            route, match = self.router.match(msg)
            route, match = self._answer_instead(route, match, msg)
            recorded = False
            try:
                reply, outcome, recorded = self._reply(route, match, msg, key, started)
            except Exception:
                log.exception("route %s failed on %s", route.name, key)
                reply, outcome = Text(SYSTEM_ERROR), FAILED
            xml = render_xml(reply, msg)
            self.dedup.store(key, xml)
        except Exception:
            self._release(key)  # WeCom's retry runs it at once instead of waiting out the lease
            raise
        log_callback(route=route.name, user=msg.userid, kind=msg.kind, outcome=outcome, started=started)
        if not recorded:
            self.record_action(msg.userid, route.name, outcome, started, _subject(msg), quick=route.read_only)
        return xml

    def _answer_instead(self, route: Route, match: Mapping[str, str],
                        msg: Inbound) -> tuple[Route, Mapping[str, str]]:
        """Open text from someone the bot asked a question (which press? what happened?) is their answer.

        Only open-text routes give way (a customer search, the fallback): a command typed mid-question still
        runs as that command. One short read, and only for texts no command took."""
        if not route.yields or not isinstance(msg, TextMsg) or not self.router.answers:
            return route, match
        waiting = run_unit(self.session_factory,
                           lambda uow: conversation.pending(uow, msg.userid, self.clock()), read_only=True)
        answer = self.router.answer_route(waiting.kind) if waiting is not None else None
        if waiting is None or answer is None:
            return route, match
        return answer, {"text": msg.content.strip(), "subject": waiting.subject, "kind": waiting.kind}

    def _wait_for_first_run(self, key: str) -> Seen | None:
        """The first run's reply if it comes within DEDUP_WAIT_SECONDS (WeCom waits 5 s); None: ours to run."""
        deadline = time.monotonic() + self.dedup_wait
        seen: Seen | None = Seen(None)
        while seen is not None and seen.running and time.monotonic() < deadline:
            time.sleep(0.1)
            seen = self.dedup.claim(key)
        return seen

    def _release(self, key: str) -> None:
        try:
            self.dedup.release(key)
        except Exception:
            log.warning("claim of %s not released: it is retried after its lease", key, exc_info=True)

    def record_action(self, userid: str, route: str, outcome: str, started: float,
                      subject: str | None, *, quick: bool = False) -> int | None:
        """Keep the action for usage figures; losing one row must never cost the user the reply.

        `quick` (after a read-only route): the row waits for SQLite's write lock only briefly, then is written
        from a thread, so a chat query is never answered late because another connection is writing."""
        event = self._event(userid, route, outcome, started, subject)
        try:
            return self._insert_event(event, QUICK_LOCK_WAIT_MS if quick else None)
        except OperationalError as exc:
            if quick and "locked" in str(exc.orig):
                threading.Thread(target=self._insert_late, args=(event,), name="action-event", daemon=True).start()
                return None
            log.warning("action event not recorded for %s", route, exc_info=True)
        except Exception:
            log.warning("action event not recorded for %s", route, exc_info=True)
        return None

    def _insert_event(self, event: ActionEvent, lock_wait_ms: int | None) -> int:
        with UnitOfWork(self.session_factory, lock_wait_ms=lock_wait_ms) as uow:
            uow.session.add(event)
            uow.commit()
            return event.id

    def _insert_late(self, event: ActionEvent) -> None:
        try:
            self._insert_event(event, None)
        except Exception:
            log.warning("action event not recorded for %s", event.route, exc_info=True)

    def update_action(self, event_id: int | None, outcome: str) -> None:
        """A deferred route's real outcome, from its task: the callback recorded it as answered (ok)."""
        if event_id is None:
            return
        try:
            run_unit(self.session_factory, lambda uow: uow.session.execute(
                update(ActionEvent).where(ActionEvent.id == event_id).values(outcome=outcome)))
        except Exception:
            log.warning("action event %s not updated to %s", event_id, outcome, exc_info=True)

    def _event(self, userid: str, route: str, outcome: str, started: float, subject: str | None) -> ActionEvent:
        now = self.clock()
        return ActionEvent(at=now, day=self.policy.work_day(now), userid=userid[:64], route=route[:80],
                           outcome=outcome, latency_ms=round((time.perf_counter() - started) * 1000), subject=subject)

    def _reply(self, route: Route, match: Mapping[str, str], msg: Inbound, key: str,
               started: float) -> tuple[Reply, str, bool]:
        if route.defer is not None:
            refusal = run_unit(self.session_factory, lambda uow: self._refusal(uow, route, msg), read_only=True)
            if refusal is not None:
                return refusal, REFUSED, False
            # Recorded now, as answered; the task sets the outcome it really had (user_error, failed…).
            event_id = self.record_action(msg.userid, route.name, OK, started, _subject(msg))
            self.queue.enqueue(RUN_DEFERRED, route_name=route.name, inbound=msg.to_dict(), key=key,
                               event_id=event_id)
            return Text(route.defer), OK, True
        run = self.run_route(route, match, msg, key, started=started)
        reply, outbox = run.reply, run.outbox
        if isinstance(msg, CardClick) and isinstance(reply, Text):
            # A card tap accepts only a card update as its reply; a refusal must still reach the user.
            outbox = [*outbox, Outgoing((msg.userid,), text=reply.content)]
            reply = NoReply()
        self.send_later(outbox, key)
        return reply, run.outcome, run.recorded

    def _refusal(self, uow: UnitOfWork, route: Route, msg: Inbound) -> Reply | None:
        user = find_person(uow, msg.userid)
        if user is None or not user.active:
            return Text(NOT_ENABLED)
        if not route.allows(user):
            need = "、".join(ROLE_LABELS[Role(r)] for r in sorted(route.roles))
            return Text(f"抱歉，您没有使用该功能的权限（需要：{need}）。发送「帮助」查看您可以使用的功能。")
        return None

    def run_route(self, route: Route, match: Mapping[str, str], msg: Inbound, key: str,
                  started: float | None = None) -> RouteRun:
        """Run one handler in one unit of work; active messages are returned, to be sent after commit.

        A route's slow I/O (`prepare`) runs before the transaction opens, and what a handler leaves for
        after the commit (uow.after_commit: a PDF render, a report's follow-ups) runs once it has committed,
        then the tasks it asked for are queued. A read_only route reads without SQLite's write lock.
        With `started`, a successful writing run records its action event in the same transaction: on SQLite
        every writing transaction queues for the one write lock, so a second one per callback halves the
        throughput. A read-only run's event is left to the caller, which records it without waiting long.
        """
        prepared: Any = None
        if route.prepare is not None:
            try:
                prepared = route.prepare(msg, self.tools)
            except DomainError as exc:
                return RouteRun(Text(exc.message), [], USER_ERROR)
        record = started is not None and not route.read_only

        def body(uow: UnitOfWork) -> RouteRun | tuple[Reply, Ctx]:
            refusal = self._refusal(uow, route, msg)
            if refusal is not None:
                return RouteRun(refusal, [], REFUSED)
            user = find_person(uow, msg.userid)
            assert user is not None
            ctx = Ctx(uow, self.policy, self.clock(), user, key, match, public_url=self.public_url,
                      tools=self.tools, prepared=prepared)
            reply = route.fn(msg, ctx)
            if record:
                assert started is not None
                uow.session.add(self._event(msg.userid, route.name, OK, started, _subject(msg)))
            return reply, ctx

        try:
            done = run_unit(self.session_factory, body, read_only=route.read_only)
        except DomainError as exc:
            return RouteRun(Text(exc.message), [], USER_ERROR)
        if isinstance(done, RouteRun):
            return done
        reply, ctx = done
        for name, kwargs in ctx.tasks:
            self.queue.enqueue(name, **kwargs)
        return RouteRun(reply, ctx.outbox, OK, recorded=record)

    def send_later(self, outbox: list[Outgoing], key: str | None = None) -> None:
        """Active messages into the outbox, in a short transaction right after the handler's, keyed by the
        callback's dedup key and part index (a repeated callback queues nothing new); then a delivery round,
        so they still go out at once."""
        if not outbox:
            return
        if any(out.file is not None for out in outbox):
            raise RuntimeError("files can only be sent from a deferred route")
        run_unit(self.session_factory, lambda uow: queue_outgoing(uow, outbox, self.clock(), key))
        self.queue.enqueue(ALERTS_DELIVER)
