"""The framework-free core of the callback: dedup → user → route → handler in a unit of work → reply.

Flask (bot/callback.py) and the task worker (bot/tasks.py) are thin shells around this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.dedup import DedupStore
from bot.queue import TaskQueue
from bot.routing import Ctx, Outgoing, Route, Router
from bot.wecom.inbound import CardClick, Inbound
from bot.wecom.replies import NoReply, Reply, Text, render_xml
from domain.errors import DomainError
from domain.policy import PlantPolicy
from domain.services.people import find_person
from domain.uow import UnitOfWork
from domain.vocab import ROLE_LABELS, Role

log = logging.getLogger(__name__)

NOT_ENABLED = "您好！您的企业微信账号尚未开通 FactoryBot，请联系系统管理员开通后再使用。"
SYSTEM_ERROR = "抱歉，系统暂时出错，您的操作未被记录，请稍后再试。如多次出现请联系管理员。"


def _now() -> datetime:
    return datetime.now(UTC)


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

    def handle(self, msg: Inbound) -> str:
        """Plaintext reply XML for a verified, parsed callback ('' means: answer with an empty body)."""
        key = msg.dedup_key
        seen = self.dedup.claim(key)
        if seen is not None:
            log.info("repeat delivery %s: answered from the first run", key)
            return seen.reply
        route, match = self.router.match(msg)
        try:
            reply = self._reply(route, match, msg, key)
        except Exception:
            log.exception("route %s failed on %s", route.name, key)
            reply = Text(SYSTEM_ERROR)
        xml = render_xml(reply, msg)
        self.dedup.store(key, xml)
        return xml

    def _reply(self, route: Route, match: Mapping[str, str], msg: Inbound, key: str) -> Reply:
        if route.defer is not None:
            with UnitOfWork(self.session_factory) as uow:
                refusal = self._refusal(uow, route, msg)
            if refusal is not None:
                return refusal
            self.queue.enqueue("bot.run_deferred", route_name=route.name, inbound=msg.to_dict(), key=key)
            return Text(route.defer)
        reply, outbox = self.run_route(route, match, msg, key)
        if isinstance(msg, CardClick) and isinstance(reply, Text):
            # A card tap accepts only a card update as its reply; a refusal must still reach the user.
            outbox = [*outbox, Outgoing((msg.userid,), text=reply.content)]
            reply = NoReply()
        self.send_later(outbox)
        return reply

    def _refusal(self, uow: UnitOfWork, route: Route, msg: Inbound) -> Reply | None:
        user = find_person(uow, msg.userid)
        if user is None or not user.active:
            return Text(NOT_ENABLED)
        if not route.allows(user):
            need = "、".join(ROLE_LABELS[Role(r)] for r in sorted(route.roles))
            return Text(f"抱歉，您没有使用该功能的权限（需要：{need}）。发送「帮助」查看您可以使用的功能。")
        return None

    def run_route(
        self, route: Route, match: Mapping[str, str], msg: Inbound, key: str
    ) -> tuple[Reply, list[Outgoing]]:
        """Run one handler in one transaction; active messages are returned, to be sent after commit."""
        with UnitOfWork(self.session_factory) as uow:
            refusal = self._refusal(uow, route, msg)
            if refusal is not None:
                return refusal, []
            user = find_person(uow, msg.userid)
            assert user is not None
            ctx = Ctx(uow, self.policy, self.clock(), user, key, match, public_url=self.public_url, tools=self.tools)
            try:
                reply = route.fn(msg, ctx)
            except DomainError as exc:
                uow.rollback()
                return Text(exc.message), []
            uow.commit()
            for name, kwargs in ctx.tasks:
                self.queue.enqueue(name, **kwargs)
            return reply, ctx.outbox

    def send_later(self, outbox: list[Outgoing]) -> None:
        for out in outbox:
            if out.file is not None:
                raise RuntimeError("files can only be sent from a deferred route")
            self.queue.enqueue("bot.send", userids=list(out.userids), text=out.text, card=out.card)
