"""The same month as an Excel workbook (openpyxl): every row the PDF cuts, numbers as numbers."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from alerts.rules import RULE_LABELS
from reports.delivery import OnTime
from reports.monthly import MonthlyReport

_HEADER_FILL = PatternFill("solid", fgColor="E8EEF4")
_PCT = "0.0%"
_PCT2 = "0.00%"


def _ratio(pct: float | None) -> float | None:
    """Excel shows a fraction with a % format; None stays an empty cell."""
    return None if pct is None else pct / 100


def _sheet(wb: Workbook, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]],
           formats: dict[int, str] | None = None) -> Worksheet:
    ws = wb.create_sheet(title)
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
    for row in rows:
        ws.append(list(row))
    for col, number_format in (formats or {}).items():
        for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
            cell.number_format = number_format
    for i, title_text in enumerate(header, start=1):
        width = max([len(str(title_text)) * 2] + [len(str(r[i - 1])) for r in rows if r[i - 1] is not None])
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(10, width + 2))
    ws.freeze_panes = "A2"
    return ws


def _on_time_rows(rows: list[tuple[str, OnTime]]) -> list[list[Any]]:
    return [[name, o.due, o.on_time, o.late, o.pending, o.due_qty, _ratio(o.rate_pct)] for name, o in rows]


def monthly_xlsx(r: MonthlyReport) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    ot = r.on_time
    overview: list[list[Any]] = [
        ["月份", r.month.iso], ["数据截至", r.as_of.isoformat()],
        ["接单（单）", r.received.orders], ["接单（行）", r.received.lines], ["接单数量（件）", r.received.qty],
        ["应交（行）", ot.due], ["应交订单（单）", ot.orders], ["应交数量（件）", ot.due_qty],
        ["按期（行）", ot.on_time], ["逾期（行）", ot.late], ["未到期（行）", ot.pending],
        ["交期达成率", _ratio(ot.rate_pct)],
        ["出货（单）", r.shipped.orders], ["出货数量（件）", r.shipped.qty],
        ["计划完工工单", r.plan.work_orders], ["计划数量（件）", r.plan.planned_qty],
        ["月末已完工（件）", r.plan.done_qty], ["计划完成率", _ratio(r.plan.qty_pct)],
        ["按期完工工单", r.plan.finished_on_time], ["按期完工率", _ratio(r.plan.on_time_pct)],
        ["注塑良品（件）", r.quality_total.moulded_good], ["注塑不良（件）", r.quality_total.moulded_defect],
        ["后工序不良（件）", r.quality_total.later_defect], ["注塑不良率", _ratio(r.quality_total.moulding_defect_pct)],
        ["综合不良率", _ratio(r.quality_total.defect_pct)], ["完工入库（件）", r.quality_total.finished_good],
        ["现场异常（起）", r.exceptions_total.count],
    ]
    ws = _sheet(wb, "概览", ["指标", "数值"], overview)
    for (label, value) in ws.iter_rows(min_row=2, max_col=2):
        if str(label.value).endswith("率"):
            value.number_format = _PCT2 if "不良" in str(label.value) else _PCT
        elif isinstance(value.value, int):
            value.number_format = "#,##0"
    _sheet(wb, "趋势", ["月份", "接单（单）", "应交（行）", "交期达成率", "出货（单）", "完工入库（件）", "注塑不良率",
                        "现场异常"],
           [[p.month.iso, p.received_orders, p.due_lines, _ratio(p.on_time_pct), p.shipped_orders, p.finished_good,
             _ratio(p.moulding_defect_pct), p.exceptions] for p in r.trend], {4: _PCT, 7: _PCT2})
    on_time_header = ["应交（行）", "按期", "逾期", "未到期", "应交数量（件）", "交期达成率"]
    _sheet(wb, "按客户", ["客户", *on_time_header], _on_time_rows(r.on_time_by_customer), {7: _PCT})
    _sheet(wb, "按产品", ["产品（料号）", *on_time_header], _on_time_rows(r.on_time_by_product), {7: _PCT})
    _sheet(wb, "逾期明细", ["订单号", "行号", "客户", "料号", "产品", "数量", "交期", "完成日", "延误天数", "记录的原因"],
           [[x.bill_no, x.entry_id, x.customer, x.item_number, x.product, x.qty, x.due,
             x.done_on if x.done_on else "未完成", x.delay_days, "；".join(x.reasons)] for x in r.late],
           {7: "yyyy-mm-dd", 8: "yyyy-mm-dd"})
    _sheet(wb, "客户接单", ["客户", "接单（单）", "数量（件）"],
           [[c.customer, c.orders, c.qty] for c in r.received_by_customer])
    _sheet(wb, "质量", ["料号", "产品", "模具", "注塑良品", "注塑不良", "后工序不良", "注塑不良率", "综合不良率", "完工入库"],
           [[q.item_number, q.product, q.mould, q.moulded_good, q.moulded_defect, q.later_defect,
             _ratio(q.moulding_defect_pct), _ratio(q.defect_pct), q.finished_good] for q in r.quality],
           {7: _PCT2, 8: _PCT2})
    _sheet(wb, "现场异常", ["类型", "次数", "平均响应（分钟）", "平均关闭（分钟）", "尚未关闭"],
           [[e.type, e.count, e.mean_response_minutes, e.mean_close_minutes, e.still_open]
            for e in [*r.exception_types, r.exceptions_total]], {3: "0", 4: "0"})
    _sheet(wb, "预警", ["预警", "车间", "条数", "平均认领（分钟）", "平均关闭（分钟）", "当日关闭"],
           [[RULE_LABELS.get(a.rule, a.rule), a.workshop, a.count, a.mean_ack_minutes, a.mean_close_minutes,
             _ratio(a.closed_same_day_pct)] for a in r.alerts], {4: "0", 5: "0", 6: "0%"})
    if r.repairs.count:
        _sheet(wb, "维修响应", ["按", "技术员/机台", "工单", "已完成", "平均响应（分钟）", "平均维修（分钟）"],
               [[kind, g.label, g.count, g.done, g.mean_response_minutes, g.mean_repair_minutes]
                for kind, groups in (("技术员", r.repairs.by_technician), ("机台", r.repairs.by_press))
                for g in groups], {5: "0", 6: "0"})
    if r.kis_write_back:
        _sheet(wb, "KIS月末", ["料号", "产品", "完工入库", "已导入KIS", "已写入待导入", "待写入", "被拒", "差异"],
               [[k.item_number, k.product, k.finished, k.imported, k.written, k.queued, k.rejected, k.difference]
                for k in [*r.kis, r.kis_total]])
    else:  # nothing was written back: no difference to reconcile, only the pieces to check in KIS
        _sheet(wb, "KIS月末", ["料号", "产品", "完工入库", "KIS 回写"],
               [[k.item_number, k.product, k.finished, "未启用"] for k in [*r.kis, r.kis_total]])
    if r.shifts.shown:
        for title, head, rows in (("按班次", "班次", r.shifts.by_shift), ("按班组", "班组", r.shifts.by_crew)):
            if rows:
                _sheet(wb, title, [head, "注塑报工（次）", "注塑良品", "注塑不良", "注塑不良率"],
                       [[x.label, x.reports, x.good, x.defect, _ratio(x.defect_pct)] for x in [*rows, r.shifts.total]],
                       {5: _PCT2})
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
