"""`factorybot doctor`: what an IT person reads for each go-live step, right and wrong, through the real parts
(the real WeCom client against the fake WeCom over HTTP, a real bot on a port, Alembic on a real database)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from flask import Flask, jsonify
from werkzeug.serving import make_server

from bot.app import create_app
from bot.handlers import app_menu
from bot.queue import RecordingQueue
from domain.migrate import head_revision, upgrade
from factorybot import doctor
from tests.bot.conftest import make_settings
from wecom.client import WeComClient

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(app: Flask):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture
def migrated(tmp_path) -> str:
    url = f"sqlite:///{tmp_path}/doctor.db"
    upgrade(url)
    return url


@pytest.fixture
def bot(migrated, fake_wecom):
    """A bot on a real port, with its settings: what doctor checks from the same server."""
    port = _free_port()
    settings = make_settings(migrated, fake_wecom.url, label_key="plant-label-key-0001",
                             public_url=f"http://127.0.0.1:{port}")
    server = make_server("127.0.0.1", port, create_app(settings, queue=RecordingQueue()), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield settings
    server.shutdown()


def _by_title(findings):
    return {f.title: f for f in findings}


def test_a_plant_whose_steps_are_done_passes_each_check_once_the_menu_is_pushed(bot, fake_wecom):
    fake_wecom.reset()  # no menu yet, as on a freshly created app
    found = _by_title(doctor.run_checks(bot, demo=True))
    assert found["设置"].ok and found["数据库"].detail == f"已连接，结构为最新版本 {head_revision()}"
    assert found["Redis"].ok is None and "任务在 Web 进程内运行" in found["Redis"].detail
    assert found["access_token"].ok
    assert found["回调 URL"].ok and found["回调 URL"].detail.startswith(f"{bot.public_url}/wecom/callback 通过了")
    assert found["时钟"].ok and "企业微信 API 答复的 Date 头" in found["时钟"].detail
    assert found["工单标签"].ok and "与机器人用的是同一把密钥" in found["工单标签"].detail
    assert found["应用菜单"].lines() == [
        "✗ 应用菜单：应用还没有菜单（errcode 46003 menu no exist）", "    → 运行 factorybot wecom menu push"]
    # What `factorybot wecom menu push` sends, then the same check again.
    WeComClient(fake_wecom.corp_id, fake_wecom.secret, fake_wecom.agent_id, fake_wecom.url).create_menu(app_menu())
    menu = _by_title(doctor.run_checks(bot, demo=True))["应用菜单"]
    assert menu.ok and menu.detail == "已设置 3 个按钮：扫码报工、我的、更多（含扫码报工）"


def test_an_untrusted_server_ip_is_named_as_the_trusted_ip_step(bot, fake_wecom):
    fake_wecom.fault("gettoken", errcode=60020)
    found = _by_title(doctor.run_checks(bot, demo=True))
    assert found["access_token"].lines() == [
        "✗ access_token：本服务器的 IP 不在应用的「企业可信IP」中（errcode 60020）",
        "    → 在「应用管理 → 本应用 → 企业可信IP」中加入本服务器访问外网用的 IP 127.0.0.1；该项要先设置好接收消息 URL"
        "（或可信域名）才能填写"]
    assert found["应用菜单"].detail == "未检查：没有 access_token"


def test_a_wrong_secret_says_where_the_secret_is(bot, fake_wecom):
    found = _by_title(doctor.run_checks(bot.model_copy(update={"wecom_secret": "not-the-secret"}), demo=True))
    assert found["access_token"].detail == "应用 Secret 无效（errcode 40001）"
    assert "应用管理 → 本应用 → Secret" in found["access_token"].fix


@pytest.mark.parametrize(("answer", "ok", "line"), [
    ({"errcode": 0, "errmsg": "ok",
      "button": [{"type": "scancode_waitmsg", "name": "扫码报工", "key": "scan"},
                 {"name": "查询", "sub_button": [{"type": "click", "name": "我的订单", "key": "mine"}]}]},
     True, "✓ 应用菜单：已设置 2 个按钮：扫码报工、查询（含扫码报工）"),
    ({"errcode": 0, "errmsg": "ok", "button": [{"type": "scancode_push", "name": "扫一扫", "key": "scan"}]},
     False, "✗ 应用菜单：有 1 个按钮（扫一扫），但没有扫码报工按钮（scancode_waitmsg），扫码后收不到回复"),
    ({"errcode": 46003, "errmsg": "menu no exist"}, False, "✗ 应用菜单：应用还没有菜单（errcode 46003 menu no exist）"),
])
def test_menu_get_as_wecom_documents_its_answers(answer, ok, line):
    """menu/get's documented answers (the button tree, or 46003), from a stand-in server for that one call:
    the fake WeCom has no menu endpoints yet."""
    app = Flask("menu")
    app.add_url_rule("/cgi-bin/gettoken", "token",
                     lambda: jsonify(errcode=0, errmsg="ok", access_token="T", expires_in=7200))
    app.add_url_rule("/cgi-bin/menu/get", "menu", lambda: jsonify(answer))
    base, server = _serve(app)
    try:

        found = doctor.check_menu(WeComClient("wwfakecorp0001", "s", 1000002, base))
    finally:
        server.shutdown()
    assert (found.ok, found.lines()[0]) == (ok, line)
    if not ok:
        assert found.fix == "运行 factorybot wecom menu push"


def test_a_callback_answering_with_other_keys_is_told_apart_from_one_not_reached(bot, fake_wecom):
    other = bot.model_copy(update={"wecom_token": "someOtherToken"})
    assert _by_title(doctor.run_checks(other, demo=True))["回调 URL"].lines() == [
        f"✗ 回调 URL：{bot.public_url}/wecom/callback 拒绝了签名（HTTP 403）",
        "    → 运行中的机器人与本命令的 WECOM_TOKEN / WECOM_AES_KEY / WECOM_CORP_ID 不同：让两者使用同一份环境文件，并重启机器人"]
    closed = f"http://127.0.0.1:{_free_port()}"
    gone = _by_title(doctor.run_checks(bot.model_copy(update={"public_url": closed}), demo=True))["回调 URL"]
    assert gone.detail == f"本机访问不到 {closed}/wecom/callback（ConnectionError）"
    # A proxy that sends the path elsewhere: here the fake WeCom, which has no /wecom/callback.
    wrong = _by_title(doctor.run_checks(bot.model_copy(update={"public_url": fake_wecom.url}), demo=True))["回调 URL"]
    assert wrong.detail.startswith(f"{fake_wecom.url}/wecom/callback 答复 HTTP 404，不是解密后的 echostr")


def test_outside_the_demo_the_callback_must_be_https_and_wecom_the_real_one(bot):
    found = _by_title(doctor.run_checks(bot, demo=False))
    assert found["设置"].lines() == [
        f"✗ 设置：PUBLIC_URL 是 {bot.public_url}，不是 https:// 地址",
        "    → 企业微信只回调 HTTPS：把 PUBLIC_URL 设为反向代理上的 https://域名（与接收消息 URL 同一域名）"]
    https = bot.model_copy(update={"public_url": "https://bot.example.com"})
    assert _by_title(doctor.run_checks(https, demo=False))["设置"].detail.startswith("WECOM_API_BASE 是 ")


def test_a_trusted_proxy_without_an_ops_token_is_named(bot):
    behind = bot.model_copy(update={"trusted_proxies": 1})
    found = _by_title(doctor.run_checks(behind, demo=True))["设置"]
    assert found.ok is False and "TRUSTED_PROXIES" in found.detail and "OPS_TOKEN" in found.detail
    assert "Authorization: Bearer" in found.fix
    with_token = bot.model_copy(update={"trusted_proxies": 1, "ops_token": "ops-token-0123456789"})
    assert _by_title(doctor.run_checks(with_token, demo=True))["设置"].ok is True


def test_a_database_not_upgraded_says_to_upgrade(tmp_path, fake_wecom):
    empty = make_settings(f"sqlite:///{tmp_path}/empty.db", fake_wecom.url, label_key="plant-label-key-0001")
    assert _by_title(doctor.run_checks(empty, demo=True))["数据库"].lines() == [
        f"✗ 数据库：已连接，结构版本 空库，本程序需要 {head_revision()}", "    → 运行 factorybot db upgrade"]


def test_a_clock_off_by_two_minutes_is_caught_against_wecoms_date(bot, fake_wecom):
    from factorybot.runtime import Runtime

    rt = Runtime.build(bot)
    found = doctor.check_clock(bot, rt, requests.Session(), now=lambda: time.time() - 120)
    # Date is to the second: 120 s off reads 119 to 121.
    assert found.ok is False and found.detail in {f"本机时钟比企业微信 API 答复的 Date 头慢 {n} 秒" for n in (119, 120, 121)}
    assert found.fix.startswith("开启时间同步：timedatectl set-ntp true")


def test_labels_the_running_bot_would_reject_are_caught(bot, fake_wecom):
    other = bot.model_copy(update={"label_key": "someone-elses-label-key"})
    from factorybot.runtime import Runtime

    assert doctor.check_label(other, Runtime.build(other), demo=True).lines() == [
        "✗ 工单标签：本机的 LABEL_KEY 与运行中的机器人不同，这里打印的标签扫码时会被拒绝",
        "    → 机器人与 factorybot 命令使用同一份环境文件（同一个 LABEL_KEY），重启机器人"]
    none = bot.model_copy(update={"label_key": None})
    assert doctor.check_label(none, Runtime.build(none), demo=True).detail == "未设置 LABEL_KEY，无法打印或识别工单二维码"


def test_the_command_prints_one_line_per_check_and_fails_on_a_bad_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "LABEL_KEY", "DATABASE_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/cli.db", WECOM_AES_KEY="too-short")
    done = subprocess.run([str(BIN / "factorybot"), "doctor"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "✗ 设置：配置错误 / invalid configuration:   WECOM_AES_KEY: must be the 43-character EncodingAESKey from the "
        "WeCom admin console",
        "    → 按提示修正环境变量后重试"]
