"""Work done after the callback has answered: deferred routes and active messages.

Plain functions taking their dependencies; factorybot/worker.py wraps them as Celery tasks and
bot/queue.InProcessQueue runs them on a thread pool when there is no Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.dispatch import BotCore
from bot.wecom.client import WeComClient
from bot.wecom.inbound import CardClick, Inbound, from_dict
from bot.wecom.replies import NoReply, Reply, Text, UpdateButton, UpdateCard

log = logging.getLogger(__name__)


@dataclass
class TaskDeps:
    core: BotCore
    client: WeComClient


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


def task_table(deps: TaskDeps) -> dict[str, Any]:
    """Task name → callable, for the in-process queue (Celery registers the same names)."""
    return {
        "bot.run_deferred": lambda **kw: run_deferred(deps, **kw),
        "bot.send": lambda **kw: send(deps, **kw),
    }
