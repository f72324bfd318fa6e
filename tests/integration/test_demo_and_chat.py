"""The README's first command and the chat client, run as a user would: two processes over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
import requests

from tests.integration.demo_process import BIN, running_demo


@pytest.fixture
def demo(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "REDIS_URL", "DATABASE_URL"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/demo.db"
    with running_demo(env, tmp_path) as (port, fake_port, log):
        yield env, port, fake_port, log


def chat(env, port, fake_port, userid, *lines):
    args = [str(BIN / "factorybot"), "chat", "--as", userid, "--url", f"http://127.0.0.1:{port}",
            "--fake", f"http://127.0.0.1:{fake_port}"]
    for line in lines:
        args += ["--say", line]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60).stdout


def test_demo_plant_answers_order_questions_in_chat(demo):
    env, port, fake_port, log = demo
    assert "已生成演示工厂" in log.read_text()
    shown = subprocess.run([str(BIN / "factorybot"), "orders", "show", "SEORD000500", "--json"], env=env,
                           capture_output=True, text=True, check=True).stdout
    order = json.loads(shown)
    out = chat(env, port, fake_port, "zhangsan", "帮助", "SEORD000500", "全部 美的")
    assert "张三您好（操作工）" in out
    assert f"订单 SEORD000500 · {order['customer']}" in out and f"【{order['stage_label']}】" in out
    assert "正在汇总" in out and "[主动消息] 「美的」的全部未完成订单" in out
    assert "尚未开通" in chat(env, port, fake_port, "somebody", "SEORD000500")


def _open_moulding_work_order(env) -> tuple[str, int]:
    """A demo work order whose moulding still has units left, read from the demo's own database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        code, planned, good = conn.execute(text(
            "select w.code, w.planned_qty, o.good_qty from work_orders w join operations o on o.work_order_id = w.id"
            " where o.seq = 1 and o.status != 'done' and w.status in ('planned', 'in_progress')"
            " and w.workshop = '注塑车间' and w.planned_qty - o.good_qty > 100 order by w.code limit 1")).one()
    engine.dispose()
    return code, planned - good


def test_a_demo_worker_reports_by_scan_and_text_and_reports_an_exception_with_a_photo(demo, tmp_path):
    from PIL import Image

    env, port, fake_port, _ = demo
    code, remaining = _open_moulding_work_order(env)
    photo = tmp_path / "leak.jpg"
    Image.new("RGB", (1200, 900), (180, 60, 60)).save(photo, "JPEG")
    out = chat(env, port, fake_port, "zhangsan",
               f"/scanwo {code}", f"报工 {code} 良品 50 不良 2", "报工 WO00000000-00 良品 abc", "今天",
               f"报异常 {code}", "/tap 设备故障", f"/image {photo}")
    assert f"已识别工单 {code}（注塑）" in out and f"剩余: {remaining} 件" in out
    assert "已完成! 今日累计完成" in out and f"工单 {code} 注塑：良品 50 不良 2" in out
    assert "良品数量「abc」不是整数" in out
    assert f"· {code} 注塑 良品 50 不良 2" in out
    assert "[卡片已更新] 已报告异常 #" in out and "设备故障" in out
    assert "照片已附到异常 #" in out and "共 1 张" in out


def _claim_button(fake_port: int, userid: str, rule_label: str) -> tuple[str, str]:
    """The 认领 button of the newest alert card of one kind that the fake WeCom delivered to userid."""
    calls = requests.get(f"http://127.0.0.1:{fake_port}/_fake/calls", params={"userid": userid}, timeout=5).json()
    for call in reversed(calls):
        card = (call.get("json") or {}).get("template_card") or {}
        if rule_label in json.dumps(card.get("main_title", {}), ensure_ascii=False):
            for button in card.get("button_list", []):
                if button.get("text", "").startswith("认领"):
                    return button["key"], card["task_id"]
    raise AssertionError(f"no {rule_label} card with 认领 reached {userid}: {calls}")


def test_the_demo_raises_every_kind_of_alert_and_a_manager_acknowledges_one_in_chat(demo):
    env, port, fake_port, _ = demo
    from datetime import datetime
    from zoneinfo import ZoneInfo

    # As of 19:05 in the plant, after the day shift's last checkpoint (19:00), whatever the hour the test runs
    # at: the demo pictures the plant at noon, and its 白班 carries half the day's plan (two 12-hour shifts),
    # so by 19:00 it is behind; at 15:00 it is not.
    # 19:05 may be later than now: that is a rehearsal (no --send), which prints the round and changes nothing.
    at = f"{datetime.now(ZoneInfo('Asia/Shanghai')).date()} 19:05"
    out = subprocess.run([str(BIN / "factorybot"), "alerts", "run", "--at", at], env=env, capture_output=True,
                         text=True, check=True).stdout
    for kind in ("超计划时间未开工", "当日计划完成率低于70%", "连续两单不良率超标", "现场异常", "维修工单未响应"):
        assert f"  {kind}：" in out, out
    assert "预演：未写入任何数据" in out, out
    # The real round, now: it is what sends (the demo's own rounds do the same).
    sent = subprocess.run([str(BIN / "factorybot"), "alerts", "run", "--send"], env=env, capture_output=True,
                          text=True, check=True).stdout
    assert sent.startswith("预警检查完成（") and "预警卡片由运行中的 FactoryBot 发送" in sent, sent
    deadline = time.monotonic() + 20  # the demo's own round sends the cards within seconds
    while time.monotonic() < deadline and "待处理预警" not in chat(env, port, fake_port, "wangwu", "预警"):
        time.sleep(1)
    time.sleep(6)
    # Claim an on-site exception: unlike a forecast or plan alert, its condition cannot clear by itself when the
    # demo's own round runs at the real hour, so the card is still open whatever time the test runs at.
    key, task_id = _claim_button(fake_port, "wangwu", "现场异常")
    acted = chat(env, port, fake_port, "wangwu", f"/click {key} {task_id}")
    assert "[主动消息] 卡片已更新《【" in acted and "已认领：王五" in acted
    stats = subprocess.run([str(BIN / "factorybot"), "alerts", "stats", "--month", time.strftime("%Y-%m")], env=env,
                           capture_output=True, text=True, check=True).stdout
    assert "平均认领" in stats


def test_the_demo_pushes_its_menu_and_previews_a_sync_from_its_address_book(demo):
    env, port, fake_port, _ = demo
    env = {**env, "WECOM_API_BASE": f"http://127.0.0.1:{fake_port}"}

    def factorybot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "factorybot"), *args], env=env, capture_output=True, text=True, timeout=60)

    pushed = factorybot("wecom", "menu", "push", "--demo")
    assert pushed.returncode == 0, pushed.stderr
    assert "扫码报工  [scancode_waitmsg · scan_report]" in pushed.stdout and "读回核对：与推送的一致" in pushed.stdout
    menu = requests.get(f"http://127.0.0.1:{fake_port}/_fake/calls", params={"path": "menu/create"}, timeout=5).json()
    assert len(menu) == 1 and menu[0]["errcode"] == 0
    # The menu's 我的今天 button, clicked in the chat client, is answered by its route.
    today = chat(env, port, fake_port, "zhangsan", "/menu my_today")
    assert "张三" in today and "今日积分" in today and "暂时无法识别" not in today

    preview = factorybot("people", "sync", "--dry-run", "--demo")
    assert preview.returncode == 0, preview.stderr
    lines = preview.stdout.splitlines()
    assert lines[:2] == ["仅预览，未做修改。", "企业微信通讯录：7 个部门，51 名在职成员。"]
    assert "· liuyang 刘洋（注塑车间）" in lines and "· xiaoli 小李：车间 后加工车间 → 注塑车间" in lines
    assert "· fengqin 冯琴（已不在通讯录中）" in lines and "· tangchao 唐超（企业微信账号已禁用）" in lines
    shown = factorybot("people", "sync", "--dry-run", "--demo")
    assert shown.stdout == preview.stdout  # the preview wrote nothing
