"""`factorybot alerts run | stats`: one alert round on demand, and how fast alerts were handled."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

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
def run(at: str | None) -> None:
    """Evaluate every rule now, escalate, remind, re-dispatch repairs; the running bot sends the cards."""
    rt = _runtime()
    now = datetime.now(UTC)
    if at:
        try:
            now = datetime.fromisoformat(at).replace(tzinfo=rt.alert_policy.tz).astimezone(UTC)
        except ValueError as exc:
            raise click.ClickException(f"时间格式不正确：{at}（例：2026-11-25 15:05）") from exc
    with rt.uow() as uow:
        result = tick(uow, rt.alert_policy, now)
        uow.commit()
    ev = result.evaluation
    click.echo(f"预警检查完成（{rt.alert_policy.local(now):%Y-%m-%d %H:%M}）：新触发 {len(ev.fired)} 条，"
               f"已解除 {len(ev.cleared)} 条，升级 {len(result.escalated)} 条，提醒 {len(result.reminded)} 条，"
               f"改派维修 {len(result.redispatched)} 单。")
    for rule, label in RULE_LABELS.items():
        if ev.by_rule.get(rule):
            click.echo(f"  {label}：{ev.by_rule[rule]} 条未关闭")
    click.echo("预警卡片由运行中的 FactoryBot 发送（Celery 或进程内定时线程）。")


@alerts_group.command("stats")
@click.option("--month", required=True, help="Month, e.g. 2026-10 (or 2026年10月).")
def stats(month: str) -> None:
    """Mean time to acknowledge and to close, and the share closed the same day, by rule and workshop."""
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
