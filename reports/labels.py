"""Work-order QR labels on A4 label paper: 2 × 7 labels of 99.1 × 38.1 mm (the common 14-up sheet)."""

from __future__ import annotations

import base64
import math
from html import escape

import qrcode
import qrcode.image.svg

from domain import qr_payload
from domain.errors import DomainError
from domain.services.labels import LabelData
from reports.pdf import html_to_pdf

COLUMNS, ROWS = 2, 7
LABELS_PER_SHEET = COLUMNS * ROWS
# Geometry of the sheet in mm, from the label maker's template; the labels are die-cut, so a label that
# drifts by a millimetre prints across a cut.
LABEL_W, LABEL_H = 99.1, 38.1
TOP, SIDE, COLUMN_GAP = 15.1, 4.65, 2.5
QR_SIZE = 34.0  # includes the 4-module quiet zone a scanner needs, so it may touch the label's edge

_CSS = f"""
@page {{ size: A4; margin: 0; }}
body {{ margin: 0; font-family: "Noto Sans CJK SC"; color: #000; }}
.page {{ position: relative; width: 210mm; height: 297mm; break-after: page; }}
.page:last-child {{ break-after: auto; }}
.label {{ position: absolute; width: {LABEL_W}mm; height: {LABEL_H}mm; overflow: hidden; }}
.label img {{ position: absolute; left: 1mm; top: {(LABEL_H - QR_SIZE) / 2:.2f}mm;
             width: {QR_SIZE}mm; height: {QR_SIZE}mm; }}
.text {{ position: absolute; left: {QR_SIZE + 2}mm; right: 2mm; top: 1.6mm; font-size: 7.4pt; }}
.text p {{ margin: 0; height: 4.2mm; line-height: 4.2mm; white-space: nowrap; overflow: hidden;
          text-overflow: ellipsis; }}
.text p.code {{ font-size: 10.5pt; font-weight: bold; height: 5mm; line-height: 5mm; }}
.text p.small {{ font-size: 6.5pt; color: #444; }}
"""


def pages_needed(count: int) -> int:
    return math.ceil(count / LABELS_PER_SHEET)


def _qr_data_uri(payload: str) -> str:
    # Vector, so the modules stay sharp at any printer resolution; M survives a smudged corner.
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    code.add_data(payload)
    code.make(fit=True)
    svg = code.make_image().to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _label_html(label: LabelData, payload: str, slot: int) -> str:
    row, col = divmod(slot, COLUMNS)
    left = SIDE + col * (LABEL_W + COLUMN_GAP)
    top = TOP + row * LABEL_H
    # One fact per line, the least needed last on its line: a long name is cut with "…" there, and the
    # label never spills onto its neighbour.
    lines = [
        ("code", f"工单号 {label.code}"),
        ("", f"订单 {label.bill_no}　客户 {label.customer}"),
        ("", f"产品 {label.product_name}"),
        ("", f"料号 {label.item_number}" + (f"　规格 {label.model}" if label.model else "")),
        ("", f"计划数量 {label.planned_qty} 件　交期 {label.due_date.isoformat()}"),
        ("", f"工序 {label.route_text}"),
        ("", f"模具 {label.mould or '—'}　机台 {label.machine or '—'}（{label.workshop}）"),
        ("small", f"开工 {label.planned_start.isoformat()}　打印 {label.printed_on.isoformat()}"),
    ]
    text = "".join(f'<p class="{cls}">{escape(line)}</p>' for cls, line in lines)
    return (
        f'<div class="label" style="left:{left:.2f}mm;top:{top:.2f}mm">'
        f'<img src="{_qr_data_uri(payload)}" alt=""><div class="text">{text}</div></div>'
    )


def render_label_sheet(labels: list[LabelData], key: bytes) -> bytes:
    """A PDF of the labels, filled left to right, top to bottom; a new A4 sheet after every 14."""
    if not labels:
        raise DomainError("没有要打印的工单标签。")
    # Sign every code before any layout work, so a missing key fails fast with its own message.
    signed = [(label, qr_payload.encode(label.code, key)) for label in labels]
    pages = []
    for start in range(0, len(signed), LABELS_PER_SHEET):
        sheet = signed[start : start + LABELS_PER_SHEET]
        cells = "".join(_label_html(label, payload, slot) for slot, (label, payload) in enumerate(sheet))
        pages.append(f'<div class="page">{cells}</div>')
    html = f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>工单标签</title>' \
           f'<style>{_CSS}</style></head><body>{"".join(pages)}</body></html>'
    return html_to_pdf(html)
