"""月报 in chat, end to end against the fake WeCom: the file is uploaded and sent, and what the executive opens
is the month's report; refusals come at once and upload nothing; the schedules send once."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import requests
from openpyxl import load_workbook

from domain.models import Person
from tests.bot.conftest import uow_for
from tests.factories import NOW
from tests.reports.hand_month import build_october
from wecom import client as wecom_client

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def october(live):
    """The chat plant plus October at the hand-computed plant and an operations manager, with the bot's clock
    on 2026-11-25 10:00."""
    with uow_for(live) as uow:
        build_october(uow)
        uow.session.add(Person(userid="zhaoliu", name="赵六", roles_csv="ops_manager"))
        uow.commit()
    live.app.extensions["bot"].core.clock = lambda: NOW
    return live


def _received(live, userid: str) -> tuple[str, bytes]:
    """The file the user got, as their WeCom app would download it."""
    [sent] = live.sent(userid, "file")
    res = requests.get(f"{live.fake.url}/_fake/media/{sent['media_id']}", timeout=10)
    res.raise_for_status()
    return requests.utils.unquote(res.headers["X-Filename"]), res.content


def test_an_executive_asks_for_a_month_and_gets_the_pdf(october, tmp_path) -> None:
    assert october.say("boss", "月报 2026-10") == \
        "正在生成2026年10月月度订单达成分析表（PDF），完成后以文件发给您，请稍候……"
    [upload] = october.fake.calls(path="media/upload")
    assert upload["params"]["type"] == "file"
    assert upload["files"]["media"]["filename"] == "月度订单达成分析表-2026-10.pdf"
    name, content = _received(october, "boss")
    assert name == "月度订单达成分析表-2026-10.pdf" and content.startswith(b"%PDF")
    (tmp_path / "got.pdf").write_bytes(content)
    text = subprocess.run(["pdftotext", str(tmp_path / "got.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "2026年10月" in text and "40.0%" in text and "美的集团" in text and "格力电器" in text
    [summary] = october.texts("boss")
    assert summary.startswith("《月度订单达成分析表-2026-10.pdf》已生成（")
    assert "交期达成率 40.0%：应交 5 行，逾期 3 行" in summary
    assert "接单 4 单，出货 2 单，计划完成率 85.7%" in summary


def test_without_a_month_it_is_last_month(october) -> None:
    assert october.say("boss", "月报").startswith("正在生成2026年10月月度订单达成分析表（PDF）")
    assert _received(october, "boss")[0] == "月度订单达成分析表-2026-10.pdf"


def test_the_numbers_come_as_excel_on_request(october) -> None:
    assert october.say("zhaoliu", "月报 2026年10月 Excel").startswith("正在生成2026年10月月度订单达成分析表（Excel 表格）")
    name, content = _received(october, "zhaoliu")
    assert name == "月度订单达成分析表-2026-10.xlsx"
    assert load_workbook(BytesIO(content))["按客户"]["A2"].value == "美的集团"


@pytest.mark.parametrize(("userid", "text", "reply"), [
    ("boss", "月报 2026-12", "2026年12月还没有到，无法生成月报。最近可查的是上月（2026-10），或本月至今（2026-11）。"),
    ("boss", "月报 2025-10", "2025年10月没有订单和报工数据，无法生成月报。系统中的数据从 2026年9月开始。"),
    ("boss", "月报 13月", "无法识别月份「13月」。\n月报格式：\n· 月报（上月的月度订单达成分析表，PDF）\n"
                        "· 月报 11月、11月月报、月报 2026-11、月报 2026年11月（指定月份）"),
    # A month without a year is the latest that has begun: December, asked in November, is last year's.
    ("boss", "月报 12月", "2025年12月没有订单和报工数据，无法生成月报。"),
    ("w1", "月报 2026-10", "抱歉，您没有使用该功能的权限（需要：系统管理员、管理层、运营经理）。"),
])
def test_requests_that_cannot_be_met_are_answered_at_once(october, userid, text, reply) -> None:
    assert october.say(userid, text).startswith(reply)
    assert october.fake.calls(path="media/upload") == []
    assert october.texts(userid) == []


@pytest.mark.parametrize("text", ["月报 10月", "月报 上月", "月报 2026年10月", "月报 2026-10", "10月月报",
                                  "月报　１０月", "月报上个月", "2026年10月月报"])
def test_the_month_is_understood_as_people_write_it(october, text) -> None:
    assert october.say("boss", f"{text} Excel") == \
        "正在生成2026年10月月度订单达成分析表（Excel 表格），完成后以文件发给您，请稍候……"


def test_a_file_over_wecoms_limit_is_explained_not_sent(october, monkeypatch) -> None:
    monkeypatch.setitem(wecom_client.MEDIA_LIMITS, "file", 2000)
    october.say("boss", "月报 2026-10")
    assert october.fake.calls(path="media/upload") == []
    [text] = october.texts("boss")
    assert "超过企业微信文件上限" in text and "factorybot report monthly 2026-10 --format pdf" in text


def test_on_the_first_the_executives_get_last_months_report_once(october) -> None:
    october.app.extensions["bot"].core.clock = lambda: datetime(2026, 11, 1, 8, 0, tzinfo=TZ).astimezone(UTC)
    october.queue.tasks["reports.monthly"]()
    october.queue.tasks["reports.monthly"]()  # beat and a restarted ticker both firing: one send
    assert len(october.fake.calls(path="media/upload")) == 1
    name, _ = _received(october, "boss")
    assert name == "月度订单达成分析表-2026-10.pdf"
    assert october.texts("boss")[0].startswith("《月度订单达成分析表-2026-10.pdf》已生成")


def test_the_daily_summary_card_reaches_the_managers_once(october) -> None:
    october.app.extensions["bot"].core.clock = lambda: datetime(2026, 10, 13, 8, 0, tzinfo=TZ).astimezone(UTC)
    october.queue.tasks["reports.daily_summary"]()
    october.queue.tasks["reports.daily_summary"]()
    [card] = october.cards("sup")
    assert card["main_title"]["title"] == "昨日生产简报 10-12"
    # 10-12: WO-C moulded 300 good and 30 bad; the day's plan is WO-B's 2000 and WO-C's 500 (alerts' rule).
    assert card["emphasis_content"] == {"title": "12%", "desc": "昨日计划完成率"}
    rows = {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}
    assert rows["注塑良品"] == "300 件" and rows["注塑不良率"] == "9.09%" and rows["计划完成"] == "300 / 2,500 件"
    assert card["card_action"]["url"].endswith("/board")
    assert october.cards("zhaoliu") == [card]  # the operations manager too, on the same send
    assert october.cards("boss") == []  # executives get the monthly report, not the daily card


def test_without_celery_the_ticker_sends_both_scheduled_reports(october) -> None:
    from bot.tasks import TaskDeps, task_table
    from domain.tasks_registry import Scheduler
    from factorybot.schedule import build_schedule
    from reports.schedule import DAILY_JOB, MONTHLY_JOB

    deps = october.app.extensions["bot"]
    deps.core.clock = lambda: datetime(2026, 11, 1, 8, 0, 30, tzinfo=TZ).astimezone(UTC)
    table = task_table(TaskDeps(deps.core, deps.client, deps.runtime.alert_policy))  # the scheduler's own table
    reports = [e for e in build_schedule(deps.settings) if e.task in (MONTHLY_JOB, DAILY_JOB)]
    scheduler = Scheduler(reports, deps.settings.tz, deps.core.clock())
    scheduler.run_due(deps.core.clock(), table)
    scheduler.run_due(deps.core.clock(), table)
    assert _received(october, "boss")[0] == "月度订单达成分析表-2026-10.pdf"
    [card] = october.cards("sup")
    assert card["main_title"]["title"] == "昨日生产简报 10-31"
