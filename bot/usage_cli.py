"""`factorybot usage --month 2026-10`: is it used, and does it work."""

from __future__ import annotations

import re

import click

from bot.views import usage_text
from domain.services.usage import usage_report
from factorybot.cli_context import cli_runtime


@click.command("usage")
@click.option("--month", required=True, help="Month, e.g. 2026-10.")
def usage(month: str) -> None:
    """Daily active people, actions, success rate, scan-to-report time, exception closure, adoption."""
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise click.ClickException(f"月份格式不正确：{month}（例：2026-10）")
    rt = cli_runtime()
    with rt.uow(read_only=True) as uow:
        click.echo(usage_text(usage_report(uow, month, today=rt.today(), tz=rt.policy.tz)))
