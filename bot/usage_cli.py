"""`factorybot usage --month 2026-10`: is it used, and does it work."""

from __future__ import annotations

import re

import click

from domain.services.usage import UsageReport, usage_report


def usage_text(r: UsageReport) -> str:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}%"

    lines = [
        f"{r.month} 使用情况（{r.days} 天）：",
        f"日均活跃 {r.mean_daily_active:.1f} 人 / 已开通 {r.enrolled} 人（{pct(100 * r.mean_daily_active / r.enrolled if r.enrolled else None)}）",
        "按角色：" + "；".join(f"{g.label} {g.mean_daily_active:.1f}/{g.enrolled}（{g.share_pct:.0f}%）" for g in r.by_role),
        "按车间：" + "；".join(f"{g.label} {g.mean_daily_active:.1f}/{g.enrolled}（{g.share_pct:.0f}%）"
                             for g in r.by_workshop),
        f"每日报工 {r.reports_per_day:.1f} 次，查询 {r.queries_per_day:.1f} 次，异常处理 {r.exception_actions_per_day:.1f} 次",
        f"企业微信操作 {r.callbacks} 次，成功率 {pct(r.success_pct)}（成功 {r.outcomes.get('ok', 0)}，"
        f"输入有误 {r.outcomes.get('user_error', 0)}，无权限/未开通 {r.outcomes.get('refused', 0)}，"
        f"系统出错 {r.outcomes.get('failed', 0)}）",
        "扫码到报工完成（中位数）："
        + ("-" if r.median_scan_to_report_s is None else f"{r.median_scan_to_report_s:.0f} 秒"),
        f"异常 {r.exceptions_opened} 条，已关闭 {r.exceptions_closed} 条（关闭率 {pct(r.closure_pct)}）",
    ]
    for workshop, weeks in r.adoption.items():
        lines.append(f"上线曲线 · {workshop}（每周活跃占比）：" + " ".join(f"{w:.0f}%" for w in weeks))
    return "\n".join(lines)


@click.command("usage")
@click.option("--month", required=True, help="Month, e.g. 2026-10.")
def usage(month: str) -> None:
    """Daily active people, actions, success rate, scan-to-report time, exception closure, adoption."""
    from factorybot.cli import _runtime

    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise click.ClickException(f"月份格式不正确：{month}（例：2026-10）")
    rt = _runtime()
    with rt.uow(read_only=True) as uow:
        click.echo(usage_text(usage_report(uow, month, today=rt.today(), tz=rt.policy.tz)))
