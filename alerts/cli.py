"""`factorybot alerts run | stats`: one alert round on demand, and how fast alerts were handled."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from alerts.preview import PlannedMessage, last_notice_id, latest_event, queued_since
from alerts.rules import RULE_LABELS
from alerts.stats import alert_stats, repair_stats
from alerts.tick import tick
from domain.errors import DomainError
from domain.month import Month

if TYPE_CHECKING:
    from factorybot.runtime import Runtime


@click.group("alerts")
def alerts_group() -> None:
    """Alert rules, escalation and repair dispatch."""


def _runtime() -> Runtime:
    """The runtime the `factorybot` root group keeps in click's context (ctx.obj, built on first use): this
    package's commands never import the root command back."""
    return click.get_current_context().obj.runtime


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} 分钟"


@alerts_group.command("run")
@click.option("--at", "at", default=None, help="Evaluate as of this plant time, e.g. '2026-11-25 15:05' (default: now).")
@click.option("--send", is_flag=True, default=False,
              help="Run the real round: write its alerts and queue its cards. Without it, only print what it would do.")
def run(at: str | None, send: bool) -> None:
    """Evaluate every rule, escalate, remind, re-dispatch repairs. Without --send, a rehearsal that changes nothing."""
    rt = _runtime()
    real_now = datetime.now(UTC)
    now = real_now
    if at:
        try:
            now = datetime.fromisoformat(at).replace(tzinfo=rt.alert_policy.tz).astimezone(UTC)
        except ValueError as exc:
            raise click.ClickException(f"时间格式不正确：{at}（例：2026-11-25 15:05）") from exc
    local = rt.alert_policy.local
    if send and at and now > real_now:
        # A real round in the future writes events nobody can have seen yet: closes before firings, stats < 0.
        raise click.ClickException(f"--at 不能晚于现在：{local(now):%Y-%m-%d %H:%M} 晚于工厂当前时间 "
                                   f"{local(real_now):%Y-%m-%d %H:%M}（不带 --send 可预演这一轮）")
    with rt.uow() as uow:
        if send and at:
            latest = latest_event(uow)
            if latest is not None and now < latest:
                # A round before what the store already recorded would fire alerts older than closes.
                raise click.ClickException(
                    f"--at 不能早于已记录的最近一次预警事件：{local(now):%Y-%m-%d %H:%M} 早于 "
                    f"{local(latest):%Y-%m-%d %H:%M}（不带 --send 可预演这一轮）")
        before = last_notice_id(uow)
        planned: list[PlannedMessage] = []
        result = tick(uow, rt.alert_policy, now)
        if send:
            uow.commit()
        else:
            planned = queued_since(uow, before)  # read inside the round's transaction, which is then rolled back
    ev = result.evaluation
    click.echo(f"预警检查完成（{local(now):%Y-%m-%d %H:%M}）：新触发 {len(ev.fired)} 条，"
               f"已解除 {len(ev.cleared)} 条，升级 {len(result.escalated)} 条，提醒 {len(result.reminded)} 条，"
               f"改派维修 {len(result.redispatched)} 单。")
    for rule, label in RULE_LABELS.items():
        if ev.by_rule.get(rule):
            click.echo(f"  {label}：{ev.by_rule[rule]} 条未关闭")
    if send:
        click.echo("预警卡片由运行中的 FactoryBot 发送（Celery 或进程内定时线程）。")
        return
    click.echo(f"将发送 {len(planned)} 条消息：" if planned else "将发送 0 条消息。")
    for line in planned:
        click.echo(f"  · {line.what} → {line.recipients}")
    click.echo("预演：未写入任何数据，未发送任何消息；加 --send 执行这一轮。")


@alerts_group.command("stats")
@click.option("--month", required=True, help="Month, e.g. 2026-10 (or 2026年10月).")
def stats(month: str) -> None:
    """Mean time to acknowledge and to close, and the share closed the same day, by rule and workshop; repair
    response (派单→接单) and repair (接单→完成) times, per technician and per press."""
    try:
        wanted = Month.parse(month)  # 2026-13 is refused here in Chinese, not by a traceback further down
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    rt = _runtime()
    with rt.uow() as uow:
        rows = alert_stats(uow, rt.alert_policy, wanted.iso)
        repairs = repair_stats(uow, rt.alert_policy, wanted.iso)
    click.echo(f"{wanted.iso} 预警处理情况：")
    if not rows:
        click.echo("  本月没有预警。")
    for r in rows:
        click.echo(f"  {RULE_LABELS.get(r.rule, r.rule)} · {r.workshop}：{r.count} 条，平均认领 {_minutes(r.mean_ack_minutes)}，"
                   f"平均关闭 {_minutes(r.mean_close_minutes)}，当日关闭 {r.closed_same_day_pct:.0f}%")
    click.echo(f"维修工单：{repairs.count} 单，平均响应 {_minutes(repairs.mean_response_minutes)}，"
               f"平均维修 {_minutes(repairs.mean_repair_minutes)}")
    for title, groups in (("技术员", repairs.by_technician), ("机台", repairs.by_press)):
        if groups:
            click.echo(f"  按{title}：")
        for g in groups:
            click.echo(f"    {g.label}：{g.count} 单，完成 {g.done} 单，平均响应 {_minutes(g.mean_response_minutes)}，"
                       f"平均维修 {_minutes(g.mean_repair_minutes)}")
    left_out = sum(r.left_out for r in rows)
    if left_out or repairs.left_out:
        click.echo(f"注：{left_out + repairs.left_out} 个时间早于其开始时间的记录（旧数据，如以过去的 --at 运行的检查）"
                   "未计入平均值。")
