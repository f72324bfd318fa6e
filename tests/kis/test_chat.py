"""KIS同步 / KIS回写 / KIS状态 in WeCom: administrators run the sync from chat and get the result back."""

from __future__ import annotations

import pytest

from bot.app import create_app
from bot.tasks import TaskDeps, task_table
from kis.tasks import jobs_for
from tests.bot.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN, LiveHarness, SyncQueue, make_settings
from tests.kis.conftest import seed_kis
from wecom.crypto import WeComCrypto
from wecom.simulate import CallbackBuilder


@pytest.fixture
def chat(plant, fake_wecom) -> LiveHarness:
    seed_kis(plant.kis)
    fake_wecom.reset()
    queue = SyncQueue()
    app = create_app(make_settings(plant.url, fake_wecom.url, kis_odbc=plant.kis.conn_str,
                                    kis_char_encoding=plant.kis.char_encoding), queue=queue)
    deps = app.extensions["bot"]
    queue.tasks = task_table(TaskDeps(deps.core, deps.client, deps.runtime.alert_policy, kis=jobs_for(deps.runtime)))
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    return LiveHarness(app, app.test_client(), queue, CallbackBuilder(crypto, CORP_ID, AGENT_ID), crypto,
                       fake=fake_wecom)


def test_an_admin_pulls_from_chat_and_gets_the_counts_back(chat):
    assert chat.say("admin", "KIS同步") == "已开始从 KIS 同步订单，完成后把结果发给您。"
    assert chat.queue.names[0] == "kis.pull"  # the callback answered at once; KIS is read in a task
    [result] = chat.texts("admin")
    assert result.startswith("KIS 订单同步完成（首次同步")
    assert "订单：新增 2，变更 0，未变 0，作废 0，关闭 0（读取 2 单 3 行）" in result

    status = chat.say("admin", "KIS 状态")
    assert status.startswith("KIS 同步状态") and "订单同步：上次" in status and "成功" in status

    assert chat.say("admin", "kis回写") == "已开始向 KIS 回写完工，完成后把结果发给您。"
    assert chat.texts("admin")[-1].startswith("KIS 完工回写完成：\n  没有新的完工需要回写")


def test_a_pull_that_fails_tells_the_admin_why(chat, plant):
    with plant.kis.unreachable():
        chat.say("admin", "KIS同步 2026-11-01")
    texts = chat.texts("admin")
    assert any(t.startswith("KIS 订单同步失败：无法连接 KIS 数据库") for t in texts)
    # … and the admin role also gets the alert card (one, however often it fails).
    [card] = chat.cards("admin")
    assert "KIS 订单同步失败" in card["main_title"]["title"]


def test_only_administrators_may_run_the_sync(chat):
    assert "没有使用该功能的权限（需要：系统管理员）" in chat.say("w1", "KIS同步")
    assert "没有使用该功能的权限" in chat.say("boss", "KIS状态")
    assert chat.queue.names == []
