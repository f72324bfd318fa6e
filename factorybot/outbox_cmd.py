"""`factorybot outbox …`: the outgoing WeCom messages an admin has to look at, and resending the failed ones.

A message WeCom refused (60020 untrusted IP, 48002 API forbidden …) or that failed for longer than the
retry window is kept as failed; once the cause is fixed, `outbox retry` puts it back and sends it.
"""

from __future__ import annotations

import sys

import click

from bot.outbox import deliver
from domain.services.outbox import list_notices, retry_failed, state_counts
from domain.vocab import NoticeState
from factorybot.config import ConfigError, Settings
from factorybot.runtime import Runtime
from factorybot.wecom_cmd import admin_settings, api_client, api_failure
from wecom.errors import TransientError, WeComAPIError

STATE_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败"}


@click.group("outbox")
def outbox_group() -> None:
    """Outgoing WeCom messages: which are waiting or failed, and resending the failed ones."""


@outbox_group.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in NoticeState]),
              help="Only these states (repeatable); default: failed, pending and sending.")
@click.option("--limit", default=50, show_default=True)
@click.option("--demo", is_flag=True, help="The running demo's database.")
def outbox_list(states: tuple[str, ...], limit: int, demo: bool) -> None:
    """The newest messages of the outbox, with WeCom's reason for the failed ones."""
    rt = _runtime(admin_settings(demo))
    chosen = [NoticeState(s) for s in states] or [NoticeState.FAILED, NoticeState.PENDING, NoticeState.SENDING]
    with rt.uow(read_only=True) as uow:
        counts = state_counts(uow)
        lines = list_notices(uow, chosen, limit)
    click.echo("消息发件箱：" + "，".join(f"{STATE_LABELS[s]} {n}" for s, n in counts.items()))
    for line in lines:
        click.echo(f"#{line.id} [{STATE_LABELS[line.state]}] → {line.userids}：{line.what}（尝试 {line.attempts} 次）")
        if line.last_error and line.state != NoticeState.SENT:
            click.echo(f"    原因：{line.last_error}")
    if counts["failed"]:
        click.echo("问题解决后，用 `factorybot outbox retry --all-failed`（或 --id N）重新发送失败的消息。")


@outbox_group.command("retry")
@click.option("--id", "ids", multiple=True, type=int, help="A failed message's number (repeatable).")
@click.option("--all-failed", is_flag=True, help="Every failed message.")
@click.option("--no-send", is_flag=True, help="Only put them back; the running service sends them.")
@click.option("--demo", is_flag=True, help="The running demo's database and fake WeCom.")
def outbox_retry(ids: tuple[int, ...], all_failed: bool, no_send: bool, demo: bool) -> None:
    """Put failed messages back in the outbox and send them now (once the cause, e.g. the trusted IP, is fixed)."""
    if not ids and not all_failed:
        raise click.UsageError("请指定 --id N 或 --all-failed")
    rt = _runtime(admin_settings(demo))
    with rt.uow() as uow:
        found = retry_failed(uow, ids, all_failed=all_failed)
        uow.commit()
    missing = sorted(set(ids) - set(found))
    if missing:
        click.secho("这些编号不是失败的消息，未处理：" + "、".join(f"#{i}" for i in missing), fg="yellow", err=True)
    if not found:
        click.echo("没有需要重新发送的失败消息。")
        sys.exit(1 if missing else 0)
    click.echo(f"已重新放回发件箱 {len(found)} 条：" + "、".join(f"#{i}" for i in found))
    if no_send:
        click.echo("运行中的服务会在几秒内发送它们。")
        return
    _send_now(rt)


def _runtime(settings: Settings) -> Runtime:
    try:
        return Runtime.build(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _send_now(rt: Runtime) -> None:
    client = api_client(rt.settings)
    try:
        client.check_token()
    except (WeComAPIError, TransientError) as exc:
        click.secho(api_failure("连接企业微信", exc) + "；消息已放回发件箱，服务会继续重试。", fg="red", err=True)
        sys.exit(1)
    report = deliver(rt.session_factory, client, rt.now)
    click.echo(f"本轮发送：成功 {report.sent} 条，失败 {report.failed} 条，等待重试 {report.waiting} 条。")
    if report.failed:
        with rt.uow(read_only=True) as uow:
            for line in list_notices(uow, [NoticeState.FAILED], 10):
                click.secho(f"#{line.id} 仍然失败：{line.last_error}", fg="red", err=True)
        sys.exit(1)
