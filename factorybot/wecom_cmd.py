"""`factorybot wecom …`: the app's own setup in WeCom, here its menu; and the API client admin commands use."""

from __future__ import annotations

import json
import sys

import click

from bot.observability import wecom_call, wecom_undelivered
from factorybot.config import ConfigError, Settings
from factorybot.demo_env import demo_settings
from wecom.client import WeComClient
from wecom.errors import TransientError, WeComAPIError
from wecom.menu import MenuError, menu_lines, same_menu

# What an admin can do about the errcodes a go-live meets (WeCom's global error list, path/90313).
ERRCODE_HINTS = {
    40001: "应用 Secret 不正确（WECOM_SECRET）",
    40013: "企业ID 不正确（WECOM_CORP_ID）",
    40056: "应用 AgentId 不正确（WECOM_AGENT_ID）",
    60011: "应用没有该部门或成员的权限：请在管理后台检查应用的可见范围",
    60020: "服务器 IP 不在应用的企业可信IP 中",
}


def admin_settings(demo: bool) -> Settings:
    """The plant's settings; with --demo, the running demo's fake WeCom and credentials (an environment
    variable still wins, e.g. WECOM_API_BASE for a demo started with --fake-port)."""
    try:
        return demo_settings() if demo else Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def api_client(settings: Settings) -> WeComClient:
    missing = [name.upper() for name in ("wecom_corp_id", "wecom_agent_id", "wecom_secret")
               if getattr(settings, name) in (None, "")]
    if missing:
        raise click.ClickException("缺少企业微信配置 / missing WeCom settings: " + ", ".join(missing)
                                   + "（演示环境请加 --demo）")
    assert settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id is not None
    redis = None
    if settings.redis_url:
        import redis as redis_lib  # only when configured: the CLI then shares the bot's access token

        redis = redis_lib.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    return WeComClient(settings.wecom_corp_id, settings.wecom_secret, settings.wecom_agent_id,
                       settings.wecom_api_base, redis=redis, on_call=wecom_call, on_undelivered=wecom_undelivered)


def api_failure(what: str, exc: Exception) -> str:
    """One line an admin can act on, for a failed WeCom call."""
    if isinstance(exc, WeComAPIError):
        hint = ERRCODE_HINTS.get(exc.errcode or 0, "")
        return f"{what}失败：企业微信返回 errcode {exc.errcode}（{exc.errmsg}）" + (f"：{hint}" if hint else "")
    return f"{what}失败：无法连接企业微信（{exc}），请稍后重试"


@click.group("wecom")
def wecom_group() -> None:
    """The app's setup in WeCom."""


@wecom_group.group("menu")
def menu_group() -> None:
    """The app menu (扫码报工, 我的, 更多), built from the buttons the routes declare."""


def _built_menu() -> dict[str, object]:
    from bot.handlers import app_menu  # on use: every other command starts without loading all the routes

    try:
        return app_menu()
    except MenuError as exc:
        click.secho("应用菜单不符合企业微信的限制，未推送：", fg="red", err=True)
        click.secho(str(exc), fg="red", err=True)
        sys.exit(1)


@menu_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the menu/create body instead of the tree.")
def menu_show(as_json: bool) -> None:
    """Show the menu `push` would create (nothing is sent)."""
    menu = _built_menu()
    if as_json:
        click.echo(json.dumps(menu, ensure_ascii=False, indent=2))
        return
    click.echo(f"应用菜单（{len(menu['button'])} 个一级菜单，按钮 [类型 · key]）：")  # type: ignore[arg-type]
    for line in menu_lines(menu):
        click.echo(line)


@menu_group.command("push")
@click.option("--demo", is_flag=True, help="Push to the running demo's fake WeCom.")
def menu_push(demo: bool) -> None:
    """Create the app's menu in WeCom (menu/create), replacing any menu it had, and read it back (menu/get)."""
    settings = admin_settings(demo)
    menu = _built_menu()
    client = api_client(settings)
    try:
        client.create_menu(menu)
        back = client.get_menu()
    except (WeComAPIError, TransientError) as exc:
        click.secho(api_failure("推送应用菜单", exc), fg="red", err=True)
        sys.exit(1)
    click.echo(f"已推送应用菜单到企业微信（应用 {settings.wecom_agent_id}）：")
    for line in menu_lines(menu):
        click.echo(line)
    if back is not None and same_menu(back, menu):
        click.echo("已用 menu/get 读回核对：与推送的一致。成员重新进入应用即可看到新菜单。")
    else:
        click.secho("注意：menu/get 读回的菜单与推送的不一致：", fg="yellow")
        for line in menu_lines(back or {}):
            click.echo(line)
        sys.exit(1)
