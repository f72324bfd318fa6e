"""`factorybot demo`: the bot, the fake WeCom and the demo plant, in one foreground process."""

from __future__ import annotations

import threading

import click
from sqlalchemy import func, select
from werkzeug.serving import make_server

from alerts import handover
from bot.app import create_app
from domain.demo import load_demo_plant
from domain.migrate import upgrade
from domain.models import Person
from factorybot.config import Settings
from factorybot.demo_directory import demo_directory
from factorybot.demo_env import for_demo_servers
from factorybot.runtime import Runtime
from kis import state as sync_state
from wecom.fake.app import create_fake_wecom

# The demo plant has no KIS. One failed pull, recorded with a reason that says exactly that, lets the demo's
# `alerts run` show the KIS 同步失败 rule; a successful pull (KIS_ODBC and `kis demo-db`) clears it.
DEMO_NO_KIS = "演示工厂未配置 KIS（KIS_ODBC）：此失败记录由 factorybot demo 写入，用来演示 KIS 同步失败预警"


def ensure_demo_plant(rt: Runtime) -> str:
    upgrade(rt.settings.database_url)
    with rt.uow() as uow:
        if uow.session.scalar(select(func.count()).select_from(Person)):
            return "使用已有数据库（如需重建：factorybot demo-data --reset）"
        summary = load_demo_plant(uow, today=rt.today(), policy=rt.policy)
        staged_kis = not rt.settings.kis_odbc
        if staged_kis:
            sync_state.record_failure(uow, sync_state.PULL, rt.now(), DEMO_NO_KIS).retry_at = None  # none will come
        uow.commit()
    rt.calendar.refresh()  # the demo's two-shift calendar, stored by the seed, from the first message on
    # The last shift change's 交接班, as the round at that moment would have made it: a demo started at any
    # hour has a handover card waiting for the lead on duty (and `交接班` in chat shows it).
    ended = rt.alert_policy.plant.previous_shift(rt.now())
    if ended is not None:
        with rt.uow() as uow:
            handover.make_and_send(uow, rt.alert_policy, ended.end)
            uow.commit()
    return (f"已生成演示工厂：{summary.people} 人，{summary.orders} 张订单，{summary.work_orders} 张工单"
            + "\n两班倒：白班 08:00-20:00（甲班，班组长陈杰），夜班 20:00-08:00（乙班，班组长黄伟）；"
              "factorybot calendar show 查看"
            + ("\n未配置 KIS：已记录一次演示用的 KIS 订单同步失败（factorybot kis status 可见），供预警演示"
               if staged_kis else ""))


def run_demo(settings: Settings, host: str, port: int, fake_port: int) -> None:
    settings = for_demo_servers(settings, host, port, fake_port)
    rt = Runtime.build(settings)
    click.echo(ensure_demo_plant(rt))
    with rt.uow() as uow:
        people = list(uow.session.scalars(select(Person).order_by(Person.userid)))
        users = {p.userid: p.name for p in people}
        directory = demo_directory(people)
    assert settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id
    fake = create_fake_wecom(settings.wecom_corp_id, settings.wecom_secret, settings.wecom_agent_id, users,
                             directory=directory)
    fake_server = make_server(host, fake_port, fake, threaded=True)
    threading.Thread(target=fake_server.serve_forever, name="fake-wecom", daemon=True).start()
    bot_server = make_server(host, port, create_app(settings), threaded=True)
    click.echo(
        f"\nFactoryBot 演示已启动：\n"
        f"  企业微信回调   http://{host}:{port}/wecom/callback\n"
        f"  本地企业微信模拟 http://{host}:{fake_port}/cgi-bin/ （收到的主动消息：/_fake/calls）\n"
        f"  数据库         {settings.database_url}\n"
        f"  队列           {'Celery @ ' + settings.redis_url if settings.redis_url else '进程内线程池（未配置 REDIS_URL）'}\n\n"
        f"订单执行看板（在浏览器中以车间主管王五的身份打开）：\n"
        f"  http://{host}:{fake_port}/_fake/login?userid=wangwu&next=http://{host}:{port}/board\n\n"
        f"在另一个终端里以演示用户身份聊天：\n"
        f"  .venv/bin/factorybot chat --as zhangsan     （操作工，注塑车间）\n"
        f"  .venv/bin/factorybot chat --as wangwu       （车间主管）\n"
        f"  .venv/bin/factorybot chat --as boss         （管理层）\n"
        f"  .venv/bin/factorybot chat --as huangwei     （夜班班组长，乙班；发「班次」看当班）\n"
        f"按 Ctrl-C 停止。"
    )
    try:
        bot_server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        bot_server.shutdown()
        fake_server.shutdown()
