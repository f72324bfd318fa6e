"""The README's first command and the chat client, run as a user would: two processes over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo(tmp_path):
    port, fake_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "REDIS_URL", "DATABASE_URL"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/demo.db"
    log = tmp_path / "demo.log"
    proc = subprocess.Popen([str(BIN / "factorybot"), "demo", "--port", str(port), "--fake-port", str(fake_port)],
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            pytest.fail("demo did not start:\n" + log.read_text())
        yield env, port, fake_port, log
    finally:
        proc.terminate()
        proc.wait(20)


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
