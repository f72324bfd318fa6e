"""`factorybot forecast backtest`: how the late-order forecast would have done on the plant's own history."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from domain.db import make_engine, make_session_factory
from domain.demo import load_demo_plant
from domain.models import Base
from domain.uow import UnitOfWork
from forecast.backtest import backtest_store, report

if TYPE_CHECKING:
    from factorybot.runtime import Runtime


@click.group("forecast")
def forecast_group() -> None:
    """Late-order forecast (交期预测)."""


def _runtime() -> Runtime:
    """The runtime the `factorybot` root group keeps in click's context (ctx.obj, built on first use): this
    package's commands never import the root command back."""
    return click.get_current_context().obj.runtime


@forecast_group.command("backtest")
@click.option("--months", default=3, show_default=True, type=click.IntRange(1, 24), help="How far back to replay.")
@click.option("--demo", is_flag=True, help="Replay a freshly generated demo plant instead of DATABASE_URL.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Replay up to the evening before this day (default: today); with --demo, the demo's anchor date.")
@click.option("--seed", type=int, default=20261125, show_default=True, help="With --demo: the demo plant's seed.")
def backtest(months: int, demo: bool, today: object, seed: int) -> None:
    """Replay the history day by day and score the warnings 3 and 5 days before due against what happened,
    beside the plan-date baseline (late = a line's planned finish after its due date)."""
    rt = _runtime()
    policy = rt.alert_policy.forecast
    anchor: date = today.date() if today else rt.today()  # type: ignore[attr-defined]
    if not demo:
        with rt.uow(read_only=True) as uow:
            result = backtest_store(uow, policy, today=anchor, months=months)
    else:
        with tempfile.TemporaryDirectory(prefix="factorybot-backtest-") as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'demo.db'}")
            Base.metadata.create_all(engine)
            factory = make_session_factory(engine)
            with UnitOfWork(factory) as uow:
                summary = load_demo_plant(uow, today=anchor, policy=rt.policy, seed=seed)
                uow.commit()
            click.echo(f"演示工厂（基准日 {anchor}，种子 {seed}）：{summary.orders} 单，{summary.work_orders} 张工单，"
                       f"{summary.reports} 条报工；历史中停机 {summary.machine_stops} 次、批量不良 {summary.defect_runs} 次。")
            with UnitOfWork(factory, read_only=True) as uow:
                result = backtest_store(uow, policy, today=anchor, months=months)
            engine.dispose()
    if not result.scored:
        click.echo("回放期内没有结果已知的订单，无法评分。")
        return
    click.echo("\n".join(report(result, policy)))
