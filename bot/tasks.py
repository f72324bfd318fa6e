"""Work done after the callback has answered: deferred routes and active messages.

Plain functions taking their dependencies; factorybot/worker.py wraps them as Celery tasks and
bot/queue.InProcessQueue runs them on a thread pool when there is no Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from alerts.policy import AlertPolicy
from bot.dedup import sent_part_key
from bot.dispatch import FAILED, BotCore
from bot.outbox import deliver as deliver_outbox
from bot.outbox import queue_outgoing
from bot.routing import Outgoing
from bot.undelivered import DIGEST_JOB, DigestPolicy, DigestWatch, queue_digest
from domain.services.outbox import queue_message
from domain.uow import UnitOfWork
from reports.schedule import DAILY_JOB, MONTHLY_JOB, Cron, ReportPolicy, ScheduleWatch
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


DIGEST_TICK = "wecom.undelivered_tick"


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
        with UnitOfWork(deps.core.session_factory) as uow:
            now = deps.core.clock()
            for index, out in enumerate(run.outbox):
                if out.file is None:
                    queue_outgoing(uow, [out], now, key, first_index=index)
            queue_reply(uow, msg, run.reply, now, sent_part_key(key, len(run.outbox)))
            uow.commit()
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


def send(
    deps: TaskDeps, *, userids: Sequence[str], text: str | None = None, card: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> None:
    """An active message handed over as a task (older callers; callbacks now write the outbox themselves):
    into the outbox, then a delivery round."""
    with UnitOfWork(deps.core.session_factory) as uow:
        queue_message(uow, userids, deps.core.clock(), text=text, card=card, key=key)
        uow.commit()
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


def alerts_tick(deps: TaskDeps) -> None:
    """Evaluate, escalate, remind and re-dispatch, then send what that queued."""
    from alerts.tick import tick

    with UnitOfWork(deps.core.session_factory) as uow:
        tick(uow, deps.alert_policy, deps.core.clock())
        uow.commit()
    alerts_deliver(deps)


def alerts_deliver(deps: TaskDeps) -> None:
    """A round of the outbox: every outgoing message that is due, alerts and direct messages alike."""
    deliver_outbox(deps.core.session_factory, deps.client, deps.core.clock)


def alerts_update_cards(deps: TaskDeps, *, alert_id: int, tapped_task_id: str, response_code: str) -> None:
    from alerts.card_updates import update_cards

    update_cards(deps.core.session_factory, deps.client, deps.alert_policy, alert_id=alert_id,
                 tapped_task_id=tapped_task_id, response_code=response_code, now=deps.core.clock())
    alerts_deliver(deps)


def reports_send_monthly(deps: TaskDeps, *, userids: list[str], month: str, as_of: str,
                         file_format: str = "pdf") -> None:
    """A monthly report someone asked for in chat: rendered here, sent to them as a WeCom file."""
    from bot.report_jobs import send_monthly
    from reports.month import Month

    send_monthly(deps.core.session_factory, deps.client, deps.alert_policy, userids=userids,
                 month=Month.parse(month), as_of=date.fromisoformat(as_of), file_format=file_format)


def reports_monthly(deps: TaskDeps) -> None:
    """Scheduled: last month's report to the executives, once."""
    from bot.report_jobs import monthly_to_executives

    monthly_to_executives(deps.core.session_factory, deps.client, deps.alert_policy, deps.reports, deps.core.clock())


def reports_daily_summary(deps: TaskDeps) -> None:
    """Scheduled: yesterday's summary card to the managers, through the notice outbox."""
    from bot.report_jobs import queue_daily_summary

    with UnitOfWork(deps.core.session_factory) as uow:
        queue_daily_summary(uow, deps.alert_policy, deps.reports, deps.core.clock())
        uow.commit()
    alerts_deliver(deps)


def reports_tick(deps: TaskDeps, watch: ScheduleWatch) -> None:
    """Without Celery beat: run the scheduled reports that came due since the last tick."""
    jobs = {MONTHLY_JOB: reports_monthly, DAILY_JOB: reports_daily_summary}
    for name in watch.due(deps.core.clock()):
        jobs[name](deps)


def undelivered_digest(deps: TaskDeps) -> None:
    """Scheduled: who could not receive messages in the last day, to the administrators, once a day."""
    if queue_digest(deps.core.session_factory, deps.client, deps.digest, deps.core.clock()):
        alerts_deliver(deps)


def undelivered_tick(deps: TaskDeps, watch: DigestWatch) -> None:
    """Without Celery beat: the digest, when its schedule came due since the last tick."""
    if watch.due(deps.core.clock()):
        undelivered_digest(deps)


def kis_run(deps: TaskDeps, job: str, **kwargs: Any) -> None:
    """A KIS pull or push; its result notice goes out right after, like an alert card."""
    from kis import tasks as kis_tasks

    getattr(kis_tasks, job)(deps.kis, **kwargs)
    alerts_deliver(deps)


class KisWatch:
    """For the in-process ticker (no Celery beat): which scheduled KIS pulls came due since it last looked,
    as the arguments of each: the nightly pull (KIS_PULL_SCHEDULE) and the full reconcile
    (KIS_RECONCILE_SCHEDULE), the same two entries Celery beat runs (factorybot/celery_app.py)."""

    def __init__(self, kis_config: Any, started: datetime) -> None:
        self.jobs: list[tuple[Cron, dict[str, Any]]] = []
        if kis_config is not None and kis_config.odbc:
            self.jobs.append((kis_config.pull_schedule, {}))
            if kis_config.reconcile_schedule is not None:
                self.jobs.append((kis_config.reconcile_schedule, {"full": True}))
        self.tz = kis_config.tz if kis_config is not None else None
        self.last = started

    def due(self, now: datetime) -> list[dict[str, Any]]:
        out = [kwargs for cron, kwargs in self.jobs if cron.due_since(self.last, now, self.tz)]
        self.last = now
        return out


def kis_tick(deps: TaskDeps, watch: KisWatch) -> None:
    """Without Celery beat: run the KIS pulls that came due since the last tick."""
    for kwargs in watch.due(deps.core.clock()):
        kis_run(deps, "pull", **kwargs)


def task_table(deps: TaskDeps) -> dict[str, Any]:
    """Task name → callable, for the in-process queue (Celery registers the same names)."""
    watch = ScheduleWatch(deps.reports, deps.core.clock())
    kis_watch = KisWatch(deps.kis.config if deps.kis is not None else None, deps.core.clock())
    digest_watch = DigestWatch(deps.digest, deps.core.clock())
    return {
        "bot.run_deferred": lambda **kw: run_deferred(deps, **kw),
        "bot.send": lambda **kw: send(deps, **kw),
        "kis.pull": lambda **kw: kis_run(deps, "pull", **kw),
        "kis.push": lambda **kw: kis_run(deps, "push", **kw),
        "alerts.tick": lambda **kw: alerts_tick(deps),
        "alerts.deliver": lambda **kw: alerts_deliver(deps),
        "alerts.update_cards": lambda **kw: alerts_update_cards(deps, **kw),
        "reports.send_monthly": lambda **kw: reports_send_monthly(deps, **kw),
        MONTHLY_JOB: lambda **kw: reports_monthly(deps),
        DAILY_JOB: lambda **kw: reports_daily_summary(deps),
        "reports.tick": lambda **kw: reports_tick(deps, watch),
        "kis.tick": lambda **kw: kis_tick(deps, kis_watch),
        DIGEST_JOB: lambda **kw: undelivered_digest(deps),
        DIGEST_TICK: lambda **kw: undelivered_tick(deps, digest_watch),
    }
