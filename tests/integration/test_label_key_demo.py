"""One label key: labels printed by `factorybot labels` beside a running demo are the ones its bot accepts.

The two failures seen on the demo: the CLI refused for lack of LABEL_KEY, and with a LABEL_KEY of its own it
printed labels the bot then rejected one by one (二维码校验失败).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.demo_process import BIN, running_demo


def _run(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "factorybot"), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """`factorybot demo` as a user starts it: no WeCom, label or database settings in the environment."""
    tmp = tmp_path_factory.mktemp("label-demo")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECOM_", "LABEL_KEY", "REDIS_URL", "DATABASE_URL", "PUBLIC_URL"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp}/demo.db"
    with running_demo(env, tmp) as (port, fake_port, _log):
        yield env, port, fake_port, tmp


def _open_work_order(env: dict[str, str]) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        code = conn.execute(text(
            "select w.code from work_orders w join operations o on o.work_order_id = w.id where o.seq = 1"
            " and o.status != 'done' and w.status in ('planned', 'in_progress') and w.workshop = '注塑车间'"
            " order by w.code limit 1")).scalar_one()
    engine.dispose()
    return code


def _qr_text(pdf: Path) -> str:
    import zxingcpp
    from PIL import Image

    page = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(pdf), str(page)], check=True)
    (found,) = zxingcpp.read_barcodes(Image.open(page.with_suffix(".png")))
    return found.text


def _scan(env: dict[str, str], port: int, fake_port: int, payload: str) -> str:
    done = subprocess.run([str(BIN / "factorybot"), "chat", "--as", "zhangsan", "--url", f"http://127.0.0.1:{port}",
                           "--fake", f"http://127.0.0.1:{fake_port}", "--wait", "0.5", "--say", f"/scan {payload}"],
                          env=env, capture_output=True, text=True, timeout=60)
    return done.stdout


def test_labels_printed_beside_the_demo_without_a_key_are_accepted_by_its_bot(demo):
    env, port, fake_port, tmp = demo
    code = _open_work_order(env)
    out = tmp / "no-key.pdf"
    done = _run(env, "labels", "--work-orders", code, "-o", str(out), cwd=tmp)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"已生成 1 张工单标签，共 1 页 A4（每页 14 张）：{out}"
    reply = _scan(env, port, fake_port, _qr_text(out))
    assert f"已识别工单 {code}（注塑）" in reply, reply


def test_labels_with_a_key_the_bot_does_not_hold_are_refused_before_any_is_printed(demo):
    env, port, fake_port, tmp = demo
    code = _open_work_order(env)
    out = tmp / "other-key.pdf"
    done = _run({**env, "LABEL_KEY": "planner-own-label-key"}, "labels", "--work-orders", code, "-o", str(out),
                cwd=tmp)
    assert done.returncode == 1, done.stdout
    assert done.stderr.strip() == (
        "LABEL_KEY 与机器人使用的标签密钥不一致，打印出的标签扫码时会被拒绝（二维码校验失败），未生成标签。"
        "请使用与机器人相同的 LABEL_KEY（factorybot doctor 可核对）。")
    assert not out.exists()


def test_doctor_on_the_running_demo_checks_each_step_and_a_fresh_label(demo):
    env, port, fake_port, tmp = demo
    done = _run(env, "doctor", "--demo", "--port", str(port), "--fake-port", str(fake_port), cwd=tmp)
    lines = done.stdout.splitlines()
    marks = {line.split("：", 1)[0]: line for line in lines if not line.startswith("    ")}
    for ok in ("✓ 设置", "✓ 数据库", "✓ access_token", "✓ 回调 URL", "✓ 时钟", "✓ 工单标签"):
        assert ok in marks, done.stdout
    assert marks["✓ 工单标签"].startswith("✓ 工单标签：刚签发的标签可以识别，与机器人用的是同一把密钥")
    assert marks["✓ 回调 URL"].startswith(f"✓ 回调 URL：http://127.0.0.1:{port}/wecom/callback 通过了")
    assert "ℹ Redis" in marks
    assert done.returncode == (1 if any(line.startswith("✗") for line in lines) else 0)
