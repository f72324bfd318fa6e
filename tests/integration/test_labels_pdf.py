"""The printed label sheet as a printer and a phone see it: text in each label cell, a QR code that scans."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from domain import qr_payload
from domain.db import make_engine, make_session_factory
from domain.errors import DomainError
from domain.models import Base
from domain.policy import PlantPolicy
from domain.services.labels import LabelData, select_work_orders
from domain.uow import UnitOfWork
from reports.labels import render_label_sheet
from tests.factories import TODAY, add_order, small_plant

KEY = b"label-test-key"
DPI = 200
A4_POINTS = (595.28, 841.89)
# The A4 14-up label paper itself (99.1 × 38.1 mm die-cuts), written out here rather than imported, so a
# slip in the renderer's geometry shows up as text or a code outside its label.
COLUMNS, LABEL_W, LABEL_H, TOP, SIDE, COLUMN_GAP = 2, 99.1, 38.1, 15.1, 4.65, 2.5


@pytest.fixture(scope="module")
def labels(tmp_path_factory: pytest.TempPathFactory) -> list[LabelData]:
    """Three real work orders from the store, with different customers, routes and machines."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('labels')}/labels.db")
    Base.metadata.create_all(engine)
    with UnitOfWork(make_session_factory(engine)) as uow:
        small_plant(uow)
        add_order(uow, bill_no="SEORD000002", customer="九阳股份", wo_code="WO20261125-02", qty=500,
                  route=(("注塑", "注塑车间"), ("质检", "质检部"), ("包装", "后加工车间")))
        third = add_order(uow, bill_no="SEORD000003", customer="飞利浦(中国)投资有限公司", wo_code="WO20261125-03")
        third.product.name, third.machine, third.mould = "洗衣机控制面板", "P07", None
        uow.commit()
        selected = select_work_orders(uow, codes=["WO20261125-01", "WO20261125-02", "WO20261125-03"],
                                      tz=PlantPolicy().tz, today=TODAY)
    engine.dispose()
    return selected


@pytest.fixture(scope="module")
def sheet(labels: list[LabelData], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sheet") / "labels.pdf"
    path.write_bytes(render_label_sheet(labels, KEY))
    return path


def _cell_mm(slot: int) -> tuple[float, float]:
    row, col = divmod(slot, COLUMNS)
    return SIDE + col * (LABEL_W + COLUMN_GAP), TOP + row * LABEL_H


def _cell_text(pdf: Path, slot: int, page: int = 1) -> str:
    """The text pdftotext finds inside one label's die-cut rectangle, and nowhere else."""
    x, y = _cell_mm(slot)
    mm = 72 / 25.4  # pdftotext crops in pixels at -r; at 72 dpi a pixel is a point
    box = [str(round(v * mm)) for v in (x, y, LABEL_W, LABEL_H)]
    out = subprocess.run(
        ["pdftotext", "-r", "72", "-f", str(page), "-l", str(page), "-x", box[0], "-y", box[1], "-W", box[2],
         "-H", box[3], str(pdf), "-"], check=True, capture_output=True, text=True)
    return out.stdout


def _pages_png(pdf: Path, tmp_path: Path) -> list[Image.Image]:
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(tmp_path / "page")], check=True)
    return [Image.open(p) for p in sorted(tmp_path.glob("page-*.png"))]


def _scan_cell(page: Image.Image, slot: int) -> list[str]:
    x, y = _cell_mm(slot)
    px = DPI / 25.4
    cell = page.crop((round(x * px), round(y * px), round((x + LABEL_W) * px), round((y + LABEL_H) * px)))
    return [r.text for r in zxingcpp.read_barcodes(cell, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_each_label_cell_carries_its_work_order_in_chinese_text(labels, sheet):
    expected = [
        ("WO20261125-01", "SEORD000001", "美的集团", "电饭煲上盖", "料号 3.01.0001", "注塑→修边→质检→包装",
         "模具 M-001", "机台 P01（注塑车间）"),
        ("WO20261125-02", "SEORD000002", "九阳股份", "电饭煲上盖", "料号 3.01.0002", "注塑→质检→包装",
         "模具 M-001", "机台 P01"),
        ("WO20261125-03", "SEORD000003", "飞利浦", "洗衣机控制面板", "料号 3.01.0003", "注塑→修边→质检→包装",
         "模具 —", "机台 P07"),
    ]
    for slot, facts in enumerate(expected):
        text = _cell_text(sheet, slot)
        assert f"工单号 {facts[0]}" in text, text
        for fact in facts[1:]:
            assert fact in text, (slot, fact, text)
        assert "计划数量" in text and "交期 2026-11-30" in text and "规格 ABS 白色" in text
    assert "计划数量 500 件" in _cell_text(sheet, 1)
    assert _cell_text(sheet, 3).strip() == ""  # filled left to right, top to bottom: slot 3 is empty


def test_the_sheet_is_one_a4_page_in_the_chinese_font(sheet):
    reader = PdfReader(sheet)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width), 1), round(float(box.height), 1)) == (round(A4_POINTS[0], 1), round(A4_POINTS[1], 1))
    fonts = subprocess.run(["pdffonts", str(sheet)], check=True, capture_output=True, text=True).stdout
    # Without naming the SC face fontconfig picks the Japanese one, whose glyphs differ for some hanzi.
    assert "Noto-Sans-CJK-SC" in fonts and "Noto-Sans-CJK-JP" not in fonts


def test_each_qr_code_scans_to_its_own_work_order_and_only_under_our_key(labels, sheet, tmp_path):
    (page,) = _pages_png(sheet, tmp_path)
    for slot, label in enumerate(labels):
        found = _scan_cell(page, slot)
        assert len(found) == 1, (slot, found)
        assert found[0] == qr_payload.encode(label.code, KEY)
        assert qr_payload.decode(found[0], KEY) == label.code
        with pytest.raises(DomainError) as forged:
            qr_payload.decode(found[0], b"another-plant-key")
        assert forged.value.message == qr_payload.FORGED
    assert len(zxingcpp.read_barcodes(page)) == len(labels)  # no stray code anywhere else on the sheet


def test_fifteen_labels_take_two_sheets_the_fifteenth_alone_on_the_second(labels, tmp_path):
    many = [replace(labels[i % 3], code=f"WO20261125-{i + 1:02d}") for i in range(15)]
    pdf = tmp_path / "many.pdf"
    pdf.write_bytes(render_label_sheet(many, KEY))
    assert len(PdfReader(pdf).pages) == 2
    assert "工单号 WO20261125-14" in _cell_text(pdf, 13, page=1)
    assert "工单号 WO20261125-15" in _cell_text(pdf, 0, page=2)
    assert _cell_text(pdf, 1, page=2).strip() == ""
    pages = _pages_png(pdf, tmp_path)
    assert [qr_payload.decode(c, KEY) for c in _scan_cell(pages[1], 0)] == ["WO20261125-15"]
    assert qr_payload.decode(_scan_cell(pages[0], 13)[0], KEY) == "WO20261125-14"


def test_no_label_key_is_the_chinese_message_not_a_pdf(labels):
    with pytest.raises(DomainError) as caught:
        render_label_sheet(labels, b"")
    assert caught.value.message == qr_payload.NO_KEY

