"""`factorybot kis pull | push | status | init-staging | importer-sql | demo-db | demo-import`."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from domain.errors import DomainError
from kis.demo_kis import build_demo_kis
from kis.gateway import open_kis
from kis.importer import reference_importer_sql
from kis.jobs import KisJobs, holder_name, run_pull, run_push
from kis.odbc import connect
from kis.shaped_db import run_inbound_job
from kis.staging import ddl_script
from kis.status import kis_status
from kis.texts import status_text

if TYPE_CHECKING:
    from factorybot.runtime import Runtime

# Below these sizes a run is over before a bar would be read.
PULL_BAR_FROM = 200
PUSH_BAR_FROM = 500


@click.group("kis")
def kis_group() -> None:
    """Kingdee KIS: pull approved orders, write completions back to the staging table."""


def _jobs() -> tuple[Runtime, KisJobs]:
    """The runtime and the KIS jobs the `factorybot` root group keeps in click's context (ctx.obj, built on
    first use): this package's commands never import the root command back."""
    obj = click.get_current_context().obj
    return obj.runtime, obj.kis_jobs


class _Bar:
    """click's progress bar, opened only once the size is known and worth showing."""

    def __init__(self, label: str, threshold: int) -> None:
        self.label, self.threshold = label, threshold
        self.bar: Any = None

    def start(self, length: int) -> None:
        if length >= self.threshold:
            self.bar = click.progressbar(length=length, label=self.label, file=sys.stderr)
            self.bar.__enter__()

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _finish(ok: bool, text: str) -> None:
    if ok:
        click.echo(text)
        return
    click.secho(text, fg="red", err=True)
    sys.exit(1)


FORCE_HELP = ("Take over the lease of a run that no longer runs (one killed where it could not give the lease "
              "back; `kis status` shows who holds it and since when). Only when no other {} is going on.")
# Exit status of a run stopped by Ctrl-C or SIGTERM, as a shell reports a command ended by SIGINT.
INTERRUPTED = 130


def _outcome_text(outcome: Any, command: str) -> str:
    if outcome.skipped and "正在进行" in outcome.text:
        return outcome.text + f"\n如确认该运行已中断（例如进程已被终止），可加 --force 接管：factorybot kis {command} --force"
    return outcome.text


@contextmanager
def _stoppable(label: str) -> Iterator[None]:
    """SIGTERM (kill, systemd stopping the unit) unwinds the run like Ctrl-C: its transactions roll back and
    it gives its lease back, so the next run need not wait for the lease to expire."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except KeyboardInterrupt:
        click.secho(f"KIS {label}已中止：本次未做任何修改，可随时重新运行。", fg="red", err=True)
        sys.exit(INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)


@kis_group.command("pull")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%d %H:%M"]), default=None,
              help="Read orders audited or changed since this KIS-local date (default: last seen minus "
                   "KIS_LOOKBACK_DAYS).")
@click.option("--full", is_flag=True,
              help="The reconcile (nightly on KIS_RECONCILE_SCHEDULE): read every open order again, whatever its dates.")
@click.option("--force", is_flag=True, help=FORCE_HELP.format("pull"))
def pull_cmd(since: datetime | None, full: bool, force: bool) -> None:
    """Pull approved, open orders, their shipments, production tasks and receipts from KIS now."""
    if full and since is not None:
        raise click.UsageError("--full 与 --since 不能同时使用：全量核对会读取全部未关闭的订单。")
    _rt, jobs = _jobs()
    bar = _Bar("写入订单", PULL_BAR_FROM)
    click.echo("正在从 KIS 读取订单……", err=True)

    def on_snapshot(snap: Any) -> None:
        click.echo(f"已读取 {len(snap.orders):,} 单 {snap.line_count:,} 行，正在写入 FactoryBot……", err=True)
        bar.start(len(snap.orders))

    with _stoppable("订单同步"):
        try:
            outcome = run_pull(jobs, since=since, on_snapshot=on_snapshot, progress=bar.update,
                               holder=holder_name("命令行"), force=force, full=full)
        finally:
            bar.finish()
    _finish(outcome.ok, _outcome_text(outcome, "pull"))


@kis_group.command("push")
@click.option("--force", is_flag=True, help=FORCE_HELP.format("push"))
def push_cmd(force: bool) -> None:
    """Write finished days' completions to the KIS staging table now, and read back what KIS made of them."""
    _rt, jobs = _jobs()
    bar = _Bar("写入 KIS", PUSH_BAR_FROM)
    with _stoppable("完工回写"):
        try:
            outcome = run_push(jobs, on_pending=bar.start, progress=bar.update, holder=holder_name("命令行"),
                               force=force)
        finally:
            bar.finish()
    _finish(outcome.ok, _outcome_text(outcome, "push"))


@kis_group.command("status")
def status_cmd() -> None:
    """When the last pull and push ran, how they ended, and what waits in the write-back queue."""
    rt, jobs = _jobs()
    now = datetime.now(UTC)
    with rt.uow(read_only=True) as uow:
        st = kis_status(uow, configured=bool(jobs.config.odbc), now=now)
    click.echo(status_text(st, jobs.config.tz, now))


@kis_group.command("init-staging")
@click.option("--print", "print_only", is_flag=True, help="Print the DDL for the DBA instead of running it.")
@click.option("--dialect", type=click.Choice(["mssql", "postgresql", "sqlite"]), default="mssql", show_default=True,
              help="Dialect of the printed DDL (with --print, or when KIS_ODBC is not set).")
def init_staging_cmd(print_only: bool, dialect: str) -> None:
    """Create the write-back staging table in the KIS database, or print its DDL."""
    _rt, jobs = _jobs()
    table = jobs.config.staging_table
    if print_only or not jobs.config.odbc:
        click.echo(ddl_script(table, dialect, jobs.config.schema), nl=False)
        if not print_only:
            click.echo("未配置 KIS_ODBC：以上为建表语句，请交 KIS 数据库管理员在账套数据库中执行。", err=True)
        return
    try:
        with open_kis(jobs.config) as kis:
            if kis.staging_exists():
                click.echo(f"完工回写中间表 {table} 已存在，未做修改。")
                return
            kis.create_staging()
    except DomainError as exc:
        _finish(False, exc.message)
    click.echo(f"已在 KIS 数据库中创建完工回写中间表 {table}。")


@kis_group.command("importer-sql")
def importer_sql_cmd() -> None:
    """Print the reference T-SQL importer (staging rows → unaudited 产品入库 bills) for the plant's Kingdee
    implementer to review; FactoryBot never runs it. Filled in with KIS_STAGING_TABLE and KIS_SCHEMA."""
    _rt, jobs = _jobs()
    click.echo(reference_importer_sql(jobs.config.staging_table, jobs.config.schema), nl=False)
    click.echo("以上为参考导入脚本：请交金蝶实施顾问审阅并在测试账套验证后，再作为 SQL Server 代理作业运行。", err=True)


@kis_group.command("demo-db")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reset", is_flag=True, help="Replace the file if it exists.")
def demo_db_cmd(path: Path, reset: bool) -> None:
    """Write a KIS-shaped SQLite database from the demo plant's orders, to try the sync without KIS.

    Then: KIS_ODBC="Driver=SQLite3;Database=PATH" factorybot kis pull
    """
    rt, jobs = _jobs()
    if path.exists() and not reset:
        raise click.ClickException(f"{path} 已存在；如需重建请加 --reset。")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with rt.uow(read_only=True) as uow:
        summary = build_demo_kis(uow, path, staging_table=jobs.config.staging_table, tz=jobs.config.tz,
                                 now=datetime.now(UTC))
    click.echo(summary)


@kis_group.command("demo-import")
def demo_import_cmd() -> None:
    """Play the KIS-side job on a demo KIS: staging rows become 产品入库 bills (or are refused)."""
    _rt, jobs = _jobs()
    try:
        cnxn = connect(jobs.config.require_odbc(), timeout=jobs.config.timeout, schema=jobs.config.schema)
    except DomainError as exc:
        _finish(False, exc.message)
    try:
        imported, rejected = run_inbound_job(cnxn, jobs.config.staging_table)
    finally:
        cnxn.close()
    click.echo(f"模拟 KIS 入库作业：生成产品入库单 {imported} 张，拒绝 {rejected} 行。")
