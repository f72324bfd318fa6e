"""`factorybot board token create|revoke|list`: keys for wall screens."""

from __future__ import annotations

import click

from domain.errors import DomainError
from domain.services.display_tokens import create_token, list_tokens, revoke_token
from factorybot.cli_context import cli_runtime, fail


@click.group("board")
def board_group() -> None:
    """The order execution board (订单执行看板)."""


@board_group.group("token")
def token_group() -> None:
    """Display tokens for wall screens (a TV cannot sign in through WeCom)."""


@token_group.command("create")
@click.argument("name")
@click.option("--workshop", default=None, help="Show only this workshop's work (default: the whole plant).")
def create(name: str, workshop: str | None) -> None:
    """Create a token and print the wall-screen address (the token is shown only this once)."""
    rt = cli_runtime()
    try:
        with rt.uow() as uow:
            token = create_token(uow, name=name, workshop=workshop, now=rt.now())
            uow.commit()
    except DomainError as exc:
        fail(exc)
    click.echo(f"已创建大屏令牌「{name}」（{workshop or '全厂'}）。大屏地址（只显示这一次，请妥善保存）：")
    click.echo(f"{rt.settings.public_url.rstrip('/')}/board/wall?token={token}")


@token_group.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke a token: the screen using it stops at its next refresh."""
    rt = cli_runtime()
    try:
        with rt.uow() as uow:
            revoke_token(uow, name=name, now=rt.now())
            uow.commit()
    except DomainError as exc:
        fail(exc)
    click.echo(f"已吊销大屏令牌「{name}」。")


@token_group.command("list")
def list_tokens_cmd() -> None:
    """The tokens, live and revoked."""
    rt = cli_runtime()
    with rt.uow() as uow:
        rows = list_tokens(uow)
        if not rows:
            click.echo("还没有大屏令牌。")
        for t in rows:
            state = f"已吊销 {rt.alert_policy.local(t.revoked_at):%Y-%m-%d %H:%M}" if t.revoked_at else "有效"
            click.echo(f"  {t.name}（{t.workshop or '全厂'}）创建 {rt.alert_policy.local(t.created_at):%Y-%m-%d %H:%M}，{state}")
