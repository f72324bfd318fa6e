"""Work done after the callback has answered: deferred routes and active messages.

Plain functions taking their dependencies; factorybot/worker.py wraps them as Celery tasks and
bot/queue.InProcessQueue runs them on a thread pool when there is no Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerts.policy import AlertPolicy
from bot.dispatch import BotCore
from bot.wecom.client import WeComClient
from bot.wecom.inbound import CardClick, Inbound, from_dict
from bot.wecom.replies import NoReply, Reply, Text, UpdateButton, UpdateCard
from domain.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class TaskDeps:
    core: BotCore
    client: WeComClient
    alert_policy: AlertPolicy


def run_deferred(deps: TaskDeps, *, route_name: str, inbound: dict[str, Any], key: str) -> None:
    """Run a slow route's handler outside the callback and send its reply actively."""
    msg = from_dict(inbound)
    route = deps.core.router.by_name[route_name]
    match = route.matcher(msg) or {}
    reply, outbox = deps.core.run_route(route, match, msg, key)
    # Follow-up messages first, so the reply (usually the summary or last part) arrives last.
    for out in outbox:
        if out.file is not None:
            media_id = deps.client.upload_media("file", out.file[0], out.file[1])
            deps.client.send_file(list(out.userids), media_id)
        else:
            send(deps, userids=list(out.userids), text=out.text, card=out.card)
    deliver(deps.client, msg, reply)


def send(
    deps: TaskDeps, *, userids: Sequence[str], text: str | None = None, card: Mapping[str, Any] | None = None
) -> None:
    if card is not None:
        deps.client.send_card(list(userids), dict(card))
    elif text:
        deps.client.send_text(list(userids), text)


def deliver(client: WeComClient, msg: Inbound, reply: Reply) -> None:
    """What a passive reply would have shown, sent through the API instead."""
    if isinstance(reply, NoReply):
        return
    if isinstance(reply, Text):
        client.send_text([msg.userid], reply.content)
    elif isinstance(reply, UpdateCard | UpdateButton) and isinstance(msg, CardClick):
        if isinstance(reply, UpdateCard):
            client.update_card([msg.userid], msg.response_code, card=dict(reply.card))
        else:
            client.update_card([msg.userid], msg.response_code, replace_name=reply.replace_name)
    else:
        log.warning("no active form for reply %r to %s", type(reply).__name__, msg.kind)


def alerts_tick(deps: TaskDeps) -> None:
    """Evaluate, escalate, remind and re-dispatch, then send what that queued."""
    from alerts.tick import tick

    with UnitOfWork(deps.core.session_factory) as uow:
        tick(uow, deps.alert_policy, deps.core.clock())
        uow.commit()
    alerts_deliver(deps)


def alerts_deliver(deps: TaskDeps) -> None:
    from alerts.outbox import deliver

    deliver(deps.core.session_factory, deps.client, deps.core.clock)


def alerts_update_cards(deps: TaskDeps, *, alert_id: int, tapped_task_id: str, response_code: str) -> None:
    from alerts.card_updates import update_cards

    update_cards(deps.core.session_factory, deps.client, deps.alert_policy, alert_id=alert_id,
                 tapped_task_id=tapped_task_id, response_code=response_code, now=deps.core.clock())
    alerts_deliver(deps)


def task_table(deps: TaskDeps) -> dict[str, Any]:
    """Task name → callable, for the in-process queue (Celery registers the same names)."""
    return {
        "bot.run_deferred": lambda **kw: run_deferred(deps, **kw),
        "bot.send": lambda **kw: send(deps, **kw),
        "alerts.tick": lambda **kw: alerts_tick(deps),
        "alerts.deliver": lambda **kw: alerts_deliver(deps),
        "alerts.update_cards": lambda **kw: alerts_update_cards(deps, **kw),
    }
