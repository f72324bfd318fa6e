"""Work done after the callback has answered: deferred routes, active messages, alerts and reports.

Each task is registered once here (`@task`, domain/tasks_registry.py) as a function of its dependencies and
primitive arguments; factorybot/worker.py builds the Celery tasks from the registry and bot/queue.py's
InProcessQueue runs the same entries on a thread pool when there is no Redis. Importing this module
registers the KIS tasks too (kis/tasks.py), so one import gives the whole table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

from alerts.card_updates import update_cards
from alerts.policy import AlertPolicy
from alerts.tick import tick
from bot.dedup import sent_part_key
from bot.dispatch import FAILED, BotCore
from bot.outbox import deliver as deliver_outbox
from bot.outbox import queue_outgoing
from bot.report_jobs import monthly_to_executives, queue_daily_summary, send_monthly
from bot.routing import Outgoing
from bot.undelivered import DIGEST_JOB, DigestPolicy, queue_digest
from domain.services.outbox import queue_message
from domain.tasks_registry import REGISTRY, task
from domain.uow import UnitOfWork, run_unit
from kis import tasks as kis_tasks  # noqa: F401  # imported for its registrations (kis.pull, kis.push)
from reports.month import Month
from reports.schedule import DAILY_JOB, MONTHLY_JOB, ReportPolicy
from wecom.client import WeComClient
from wecom.inbound import CardClick, Inbound, from_dict
from wecom.replies import NoReply, Reply, Text, UpdateButton, UpdateCard

log = logging.getLogger(__name__)


@dataclass
class TaskDeps:
    core: BotCore
    client: WeComClient
    alert_policy: AlertPolicy
    reports: ReportPolicy = field(default_factory=ReportPolicy)
    kis: Any = None  # kis.jobs.KisJobs: the KIS pull and push asked for from chat
    digest: DigestPolicy = field(default_factory=DigestPolicy)

    def deliver(self) -> None:
        """A round of the outbox; what the KIS tasks call after their run (kis/tasks.py KisTaskDeps)."""
        alerts_deliver(self)


@task("bot.run_deferred")
def run_deferred(deps: TaskDeps, *, route_name: str, inbound: dict[str, Any], key: str,
                 event_id: int | None = None) -> None:
    """Run a slow route's handler outside the callback; its messages go out through the outbox.

    Files (a report someone asked for) are uploaded and sent from here, first, each recorded under (key,
    part index) so that a retry of this task sends none twice. The other messages, follow-ups in order then
    the reply, are written to the outbox under (key, part index) in one short transaction right after the
    handler's: a retried task adds no second row, and WeCom failing only makes the outbox retry them, for
    hours, without holding this worker. `event_id` is the callback's action event, given the outcome the
    run really had.
    """
    msg = from_dict(inbound)
    route = deps.core.router.by_name[route_name]
    match = route.matcher(msg) or {}
    try:
        run = deps.core.run_route(route, match, msg, key)
        for index, out in enumerate(run.outbox):
            if out.file is not None:
                _send_file_once(deps, out, sent_part_key(key, index))
        now = deps.core.clock()

        def queue_answers(uow: UnitOfWork) -> None:
            for index, out in enumerate(run.outbox):
                if out.file is None:
                    queue_outgoing(uow, [out], now, key, first_index=index)
            queue_reply(uow, msg, run.reply, now, sent_part_key(key, len(run.outbox)))

        run_unit(deps.core.session_factory, queue_answers)
    except Exception:
        deps.core.update_action(event_id, FAILED)
        raise
    deps.core.update_action(event_id, run.outcome)
    alerts_deliver(deps)  # at once: the periodic round only comes back for what WeCom did not take now


def _send_file_once(deps: TaskDeps, out: Outgoing, part_key: str) -> None:
    if deps.core.dedup.was_sent(part_key):
        log.info("deferred file %s was sent by an earlier attempt", part_key)
        return
    assert out.file is not None
    media_id = deps.client.upload_media("file", out.file[0], out.file[1])
    deps.client.send_file(list(out.userids), media_id)
    try:
        deps.core.dedup.mark_sent(part_key)
    except Exception:  # it was sent: at worst a retry sends it again, as it did before the record
        log.warning("deferred file %s sent but not recorded", part_key, exc_info=True)


@task("bot.send")
def send(
    deps: TaskDeps, *, userids: Sequence[str], text: str | None = None, card: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> None:
    """An active message handed over as a task (older callers; callbacks now write the outbox themselves):
    into the outbox, then a delivery round."""
    run_unit(deps.core.session_factory,
             lambda uow: queue_message(uow, userids, deps.core.clock(), text=text, card=card, key=key))
    alerts_deliver(deps)


def queue_reply(uow: UnitOfWork, msg: Inbound, reply: Reply, now: datetime, key: str) -> None:
    """What a passive reply would have shown, into the outbox to be sent through the API instead."""
    if isinstance(reply, NoReply):
        return
    if isinstance(reply, Text):
        queue_message(uow, [msg.userid], now, text=reply.content, key=key)
    elif isinstance(reply, UpdateCard | UpdateButton) and isinstance(msg, CardClick):
        if isinstance(reply, UpdateCard):
            queue_message(uow, [msg.userid], now, card=dict(reply.card), response_code=msg.response_code, key=key)
        else:
            queue_message(uow, [msg.userid], now, text=reply.replace_name, response_code=msg.response_code,
                          key=key)
    else:
        log.warning("no active form for reply %r to %s", type(reply).__name__, msg.kind)


@task("alerts.tick")
def alerts_tick(deps: TaskDeps) -> None:
    """Evaluate, escalate, remind and re-dispatch, then send what that queued."""
    run_unit(deps.core.session_factory, lambda uow: tick(uow, deps.alert_policy, deps.core.clock()))
    alerts_deliver(deps)


@task("alerts.deliver")
def alerts_deliver(deps: TaskDeps) -> None:
    """A round of the outbox: every outgoing message that is due, alerts and direct messages alike."""
    deliver_outbox(deps.core.session_factory, deps.client, deps.core.clock)


@task("alerts.update_cards")
def alerts_update_cards(deps: TaskDeps, *, alert_id: int, tapped_task_id: str, response_code: str) -> None:
    update_cards(deps.core.session_factory, deps.client, deps.alert_policy, alert_id=alert_id,
                 tapped_task_id=tapped_task_id, response_code=response_code, now=deps.core.clock())
    alerts_deliver(deps)


@task("reports.send_monthly", soft_time_limit=600)
def reports_send_monthly(deps: TaskDeps, *, userids: list[str], month: str, as_of: str,
                         file_format: str = "pdf") -> None:
    """A monthly report someone asked for in chat: rendered here, sent to them as a WeCom file."""
    send_monthly(deps.core.session_factory, deps.client, deps.alert_policy, userids=userids,
                 month=Month.parse(month), as_of=date.fromisoformat(as_of), file_format=file_format)


@task(MONTHLY_JOB, soft_time_limit=600)
def reports_monthly(deps: TaskDeps) -> None:
    """Scheduled: last month's report to the executives, once."""
    monthly_to_executives(deps.core.session_factory, deps.client, deps.alert_policy, deps.reports, deps.core.clock())


@task(DAILY_JOB)
def reports_daily_summary(deps: TaskDeps) -> None:
    """Scheduled: yesterday's summary card to the managers, through the notice outbox."""
    run_unit(deps.core.session_factory,
             lambda uow: queue_daily_summary(uow, deps.alert_policy, deps.reports, deps.core.clock()))
    alerts_deliver(deps)


@task(DIGEST_JOB)
def undelivered_digest(deps: TaskDeps) -> None:
    """Scheduled: who could not receive messages in the last day, to the administrators, once a day."""
    if queue_digest(deps.core.session_factory, deps.client, deps.digest, deps.core.clock()):
        alerts_deliver(deps)


def task_table(deps: TaskDeps) -> dict[str, Any]:
    """Registered name → callable bound to `deps`, for the in-process queue and scheduler; Celery builds
    its tasks from the same registry (factorybot/worker.py)."""
    return {spec.name: partial(spec.fn, deps) for spec in REGISTRY}

