"""`factorybot labels` run as the planner runs it: a separate process on the demo plant's database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from domain import qr_payload

BIN = Path(sys.executable).parent
LABEL_KEY = "cli-label-key"


def _env(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LABEL_KEY", "WECOM_AES_KEY", "WECOM_CORP_ID")}
    return {**env, "DATABASE_URL": f"sqlite:///{db}", **extra}


def factorybot(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "factorybot"), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    done = factorybot(_env(db), "demo-data", "--today", "2026-11-25", cwd=db.parent)
    assert done.returncode == 0, done.stderr
    return db


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def test_labels_for_named_work_orders_and_a_day(demo_db, tmp_path):
    out = tmp_path / "labels.pdf"
    # The demo plant's work orders planned for 2026-11-26, plus one of the 27th named by code.
    done = factorybot(_env(demo_db, LABEL_KEY=LABEL_KEY), "labels", "--work-orders", "WO20261127-04",
                      "--date", "2026-11-26", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"已生成 7 张工单标签，共 1 页 A4（每页 14 张）：{out}",
        "工单：WO20261127-04、WO20261126-01、WO20261126-02、WO20261126-03、WO20261126-04、WO20261126-05、"
        "WO20261126-06",
    ]
    text = _pdf_text(out)
    for code in ("WO20261127-04", "WO20261126-01", "WO20261126-06"):
        assert f"工单号 {code}" in text
    assert "订单 SEORD000560" in text and "客户 美的集团" in text and "产品 电饭煲底座" in text
    assert "工序 注塑→修边→质检→包装" in text and "开工 2026-11-26" in text
    assert len(PdfReader(out).pages) == 1


def test_an_order_with_a_full_width_comma_between_codes(demo_db, tmp_path):
    out = tmp_path / "order.pdf"
    done = factorybot(_env(demo_db, LABEL_KEY=LABEL_KEY), "labels", "--order", "SEORD000551",
                      "--work-orders", "WO20261126-01，WO20261125-01", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # The named codes first, then the order's others; WO20261126-01 belongs to the order and prints once.
    assert done.stdout.splitlines()[1] == "工单：WO20261126-01、WO20261125-01、WO20261125-02、WO20261125-03"
    text = _pdf_text(out)
    assert text.count("工单号 WO20261126-01") == 1
    assert text.count("订单 SEORD000551") == 3 and text.count("订单 SEORD000550") == 1


def test_an_unknown_code_is_named_and_nothing_is_written(demo_db, tmp_path):
    out = tmp_path / "labels.pdf"
    done = factorybot(_env(demo_db, LABEL_KEY=LABEL_KEY), "labels", "--work-orders", "WO20261126-01,WO20991231-09",
                      "-o", str(out), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == "没有找到工单 WO20991231-09，请核对工单号。"
    assert "Traceback" not in done.stderr and not out.exists()


def test_without_a_label_key_the_message_says_so(demo_db, tmp_path):
    out = tmp_path / "labels.pdf"
    done = factorybot(_env(demo_db), "labels", "--work-orders", "WO20261126-01", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == qr_payload.NO_KEY
    assert not out.exists()


def test_the_qr_codes_are_signed_with_the_configured_key(demo_db, tmp_path):
    import zxingcpp
    from PIL import Image

    out = tmp_path / "one.pdf"
    done = factorybot(_env(demo_db, LABEL_KEY=LABEL_KEY), "labels", "--work-orders", "WO20261126-03",
                      "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(out), str(tmp_path / "page")], check=True)
    (found,) = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    assert qr_payload.decode(found.text, LABEL_KEY.encode()) == "WO20261126-03"
