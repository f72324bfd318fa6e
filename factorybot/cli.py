"""The `factorybot` command: the root group, its own commands, and the packages' command groups."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from alerts.cli import alerts_group
from bot.board_cli import board_group
from bot.usage_cli import usage
from bot.views import order_detail_text
from domain.demo import load_demo_plant
from domain.errors import DomainError
from domain.migrate import current_revision, upgrade
from domain.services.label_keys import key_for_printing
from domain.services.labels import select_work_orders
from domain.services.orders import order_progress
from domain.services.people import import_people, known_workshops, parse_people_csv
from domain.services.people_sync import apply_sync, plan_sync
from factorybot.calendar_cmd import calendar_group
from factorybot.chat_cmd import run_chat
from factorybot.cli_context import CliContext, cli_runtime, fail
from factorybot.config import ConfigError, Settings
from factorybot.demo_env import DEMO_LABEL_KEY, demo_settings, for_demo_servers
from factorybot.outbox_cmd import outbox_group
from factorybot.people_sync_cmd import read_directory, summary_lines
from factorybot.runtime import Runtime
from factorybot.wecom_cmd import admin_settings, api_client, api_failure, wecom_group
from forecast.cli import forecast_group
from forecast.service import order_forecast
from kis.cli import kis_group
from reports.cli import report_group
from wecom.errors import TransientError, WeComAPIError

# The few imports left inside the commands below load Flask with every route (serve, demo, doctor) or
# WeasyPrint (labels): over a second each, which every other command, and `factorybot --help`, would pay.


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """FactoryBot: order execution through WeCom, beside Kingdee KIS."""
    # Every sub-command's runtime, built when first asked for (a caller may pass its own obj).
    ctx.ensure_object(CliContext)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
def db_upgrade(revision: str) -> None:
    """Create or upgrade the schema (Alembic migrations)."""

    rt = cli_runtime()
    upgrade(rt.settings.database_url, revision)
    click.echo(f"数据库已是最新版本 / schema at revision {current_revision(rt.settings.database_url)}")


@main.command("demo-data")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Anchor date (default: today).")
@click.option("--reset", is_flag=True, help="Delete everything first and rebuild the demo plant.")
@click.option("--seed", type=int, default=20261125, show_default=True)
def demo_data(today: object, reset: bool, seed: int) -> None:
    """Load a deterministic demo plant (people, customers, three months of orders, reports, exceptions)."""

    rt = cli_runtime()
    upgrade(rt.settings.database_url)
    anchor: date = today.date() if today else rt.today()  # type: ignore[attr-defined]
    try:
        with rt.uow() as uow:
            summary = load_demo_plant(uow, today=anchor, policy=rt.policy, seed=seed, reset=reset)
            uow.commit()
    except DomainError as exc:
        fail(exc)
    click.echo(f"演示工厂已就绪（基准日 {anchor}）：")
    for key, value in vars(summary).items():
        click.echo(f"  {key}: {value}")


@main.group()
def people() -> None:
    """The people who may use the bot."""


@people.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def people_import(csv_file: Path) -> None:
    """Import or update people from a CSV: userid,name,roles,workshop[,zone]. All rows or none.

    A workshop must be one that a route runs through: of the work orders in the store, or of
    KIS_DEFAULT_ROUTE. Leave it empty for people who work plant-wide.
    """

    rt = cli_runtime()
    text = _read_people_file(csv_file)
    try:
        route = rt.settings.kis_default_route
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    route_workshops = [workshop for _, workshop in route]
    try:
        with rt.uow() as uow:
            # Every bad row in one answer: the workshops are checked in the same pass as the rest.
            rows = parse_people_csv(text, known_workshops(uow, route_workshops))
            result = import_people(uow, rows, route_workshops=route_workshops)
            uow.commit()
    except DomainError as exc:
        click.secho("导入失败，未做任何修改：", fg="red", err=True)
        fail(exc)
    click.echo(f"导入完成：新增 {result.created} 人，更新 {result.updated} 人。")


@people.command("sync")
@click.option("--dry-run", is_flag=True, help="Show what would change, change nothing.")
@click.option("--demo", is_flag=True, help="Read the running demo's fake WeCom address book.")
def people_sync(dry_run: bool, demo: bool) -> None:
    """Add, update and deactivate people from WeCom's address book (department/list, user/list).

    New people become workers, in the workshop WECOM_DEPARTMENT_WORKSHOPS gives their department
    (部门:车间,…); people no longer in the address book are deactivated and keep their history.
    Roles are never changed: assign them with `people import`.
    """

    settings = admin_settings(demo)
    try:
        rt = Runtime.build(settings)
        mapping = settings.department_workshops
        route_workshops = [workshop for _, workshop in settings.kis_default_route]
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    client = api_client(settings)
    try:
        directory = read_directory(client)  # HTTP first: no transaction is open while WeCom answers
    except (WeComAPIError, TransientError) as exc:
        click.secho(api_failure("读取企业微信通讯录", exc) + "。未做任何修改。", fg="red", err=True)
        sys.exit(1)
    try:
        with rt.uow() as uow:
            plan = plan_sync(uow, directory, mapping, route_workshops=route_workshops)
            if not dry_run:
                apply_sync(uow, plan)
                uow.commit()
    except DomainError as exc:
        click.secho("同步失败，未做任何修改：", fg="red", err=True)
        fail(exc)
    for line in summary_lines(plan, dry_run=dry_run):
        click.echo(line)


def _read_people_file(path: Path) -> str:
    """UTF-8 (with or without Excel's BOM), else GB18030 (Excel on a Chinese Windows PC); else a clear refusal."""
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    hint = "（这是 UTF-16 编码，Excel 的「Unicode 文本」）" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
    click.secho("导入失败，未做任何修改：", fg="red", err=True)
    click.secho(f"文件 {path.name} 既不是 UTF-8 也不是 GB18030 编码{hint}。"
                "请在 Excel 中另存为「CSV UTF-8（逗号分隔）」后重试。", fg="red", err=True)
    sys.exit(1)


@main.group()
def orders() -> None:
    """Sales orders."""


@orders.command("show")
@click.argument("bill_no")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def orders_show(bill_no: str, as_json: bool) -> None:
    """Show an order: lines, work orders, per-operation progress and stage."""

    rt = cli_runtime()
    try:
        with rt.uow() as uow:
            progress = order_progress(uow, bill_no, today=rt.today(), tz=rt.policy.tz)
            ahead = order_forecast(uow, rt.alert_policy.forecast, rt.now(), progress.bill_no)
    except DomainError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(progress.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(order_detail_text(progress, ahead, rt.today()))


@main.command()
@click.option("--work-orders", "codes", default="", help="Work order codes, comma-separated: WO1,WO2.")
@click.option("--order", "bill_no", default=None, help="Every work order of this sales order.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Every work order planned to start on this plant-day.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The PDF to write.")
def labels(codes: str, bill_no: str | None, day: object, output: Path) -> None:
    """Make a PDF of QR labels for work orders, for A4 label paper (2 × 7, 99.1 × 38.1 mm).

    Selectors add up: each work order named, or of the order, or starting on the day, gets one label.
    """
    from reports.labels import LABELS_PER_SHEET, pages_needed, render_label_sheet  # WeasyPrint: see the top

    rt = cli_runtime()
    # Chinese input methods type a full-width comma; accept it rather than report a strange code.
    wanted = [c for c in codes.replace("，", ",").split(",") if c.strip()]
    try:
        with rt.uow() as uow:
            # Signed only with the key the bot verifies with (beside a running demo: the demo's own).
            key = key_for_printing(uow, rt.policy.label_key, known=[DEMO_LABEL_KEY.encode()])
            selected = select_work_orders(
                uow, codes=wanted, bill_no=bill_no, planned_day=day.date() if day else None,  # type: ignore[attr-defined]
                tz=rt.policy.tz, today=rt.today(),
            )
        pdf = render_label_sheet(selected, key)
    except DomainError as exc:
        fail(exc)
    # Written only once rendered, so a refused run leaves no half-made file to be printed.
    try:
        output.write_bytes(pdf)
    except OSError as exc:
        raise click.ClickException(f"无法写入 {output}：{exc.strerror}") from exc
    click.echo(f"已生成 {len(selected)} 张工单标签，共 {pages_needed(len(selected))} 页 A4（每页 {LABELS_PER_SHEET} 张）：{output}")
    click.echo(f"工单：{'、'.join(label.code for label in selected)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the WeCom callback (development server; production uses the Procfile's gunicorn)."""
    from bot.app import create_app  # Flask and every route: see the top

    try:
        app = create_app(Settings.from_env())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    app.run(host=host, port=port, threaded=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
@click.option("--fake-port", default=8930, type=int, show_default=True, help="Port of the local fake WeCom API.")
def demo(host: str, port: int, fake_port: int) -> None:
    """Start the bot with the demo plant and a local WeCom emulator (SQLite, no Redis needed)."""
    from factorybot.demo_cmd import run_demo  # the bot, Flask and the fake WeCom: see the top

    try:
        settings = demo_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    run_demo(settings, host, port, fake_port)


@main.command()
@click.option("--demo", is_flag=True, help="Check the running demo (its fake WeCom, http:// allowed).")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --demo: the demo's host.")
@click.option("--port", default=8000, type=int, show_default=True, help="With --demo: the demo's bot port.")
@click.option("--fake-port", default=8930, type=int, show_default=True, help="With --demo: its fake WeCom port.")
def doctor(demo: bool, host: str, port: int, fake_port: int) -> None:
    """Check each go-live step from this server: settings, database, Redis, token, menu, callback, clock, labels.

    One line per check (✓ passed, ✗ failed with what to do, ℹ notice); exit status 1 when any check fails.
    """
    from factorybot import doctor as checks  # it builds the bot's WeCom client (bot.app): see the top

    loaded = checks.settings_or_finding(
        (lambda: for_demo_servers(demo_settings(), host, port, fake_port)) if demo else Settings.from_env)
    findings = [loaded] if isinstance(loaded, checks.Finding) else checks.run_checks(loaded, demo=demo)
    click.echo(checks.render(findings))
    if checks.failed(findings):
        sys.exit(1)


@main.command()
@click.option("--as", "userid", required=True, help="WeCom userid to speak as, e.g. zhangsan.")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The bot's base URL.")
@click.option("--fake", "fake_url", default=None, help="The fake WeCom's base URL (default: WECOM_API_BASE).")
@click.option("--say", multiple=True, help="Send this line and exit (repeatable); otherwise read stdin.")
@click.option("--wait", default=2.0, show_default=True, help="Seconds to wait for active messages after each line.")
def chat(userid: str, url: str, fake_url: str | None, say: tuple[str, ...], wait: float) -> None:
    """Chat with the running bot as a WeCom user: real signed, encrypted callbacks."""

    try:
        settings = demo_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if fake_url:
        settings = settings.model_copy(update={"wecom_api_base": fake_url})
    run_chat(settings, userid, url, list(say) if say else None, wait)


for group in (alerts_group, board_group, usage, wecom_group, outbox_group, report_group, kis_group,
              forecast_group, calendar_group):
    main.add_command(group)

if __name__ == "__main__":
    main()
