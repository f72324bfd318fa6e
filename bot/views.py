"""Domain results → the short Chinese texts users read in chat (WeCom caps text at 2048 bytes)."""

from __future__ import annotations

from datetime import date

from domain.services.orders import OrderProgress, OrderSummary
from forecast.projection import OrderForecast
from forecast.text import eta_text, order_forecast_text

MAX_LINES_SHOWN = 6


def stage_strip(progress: OrderProgress) -> str:
    parts = []
    for i, label in enumerate(progress.stages):
        if i < progress.stage_index:
            parts.append(f"{label}✓")
        elif i == progress.stage_index:
            parts.append(f"【{label}】")
        else:
            parts.append(label)
    return "→".join(parts)


def order_detail_text(p: OrderProgress, forecast: OrderForecast | None = None, today: date | None = None) -> str:
    late = "（已逾期）" if p.late else ""
    out = [
        f"订单 {p.bill_no} · {p.customer}",
        f"阶段：{stage_strip(p)}",
        f"交期：{p.due_date}{late}",
    ]
    if forecast is not None:
        out.append(order_forecast_text(forecast, today))
    projected = {ln.line.entry_id: ln for ln in forecast.lines} if forecast is not None else {}
    for i, line in enumerate(p.lines[:MAX_LINES_SHOWN], 1):
        pct = round(100 * line.done_qty / line.qty) if line.qty else 0
        ahead = projected.get(line.entry_id)
        eta = f"，{eta_text(ahead)}" if ahead is not None and not ahead.done else ""
        out.append(f"{i}. {line.product_name}（{line.item_number}）订 {line.qty} 件，完成 {line.done_qty}（{pct}%），交期 {line.due_date}{eta}")
        for wo in line.work_orders:
            where = "/".join(x for x in (wo.machine, wo.mould) if x)
            out.append(f"   {wo.code} {wo.status_label}{' ' + where if where else ''}")
            out.append("   " + " · ".join(f"{op.name} {op.good_qty}/{op.target_qty}" for op in wo.operations))
    if len(p.lines) > MAX_LINES_SHOWN:
        out.append(f"……另有 {len(p.lines) - MAX_LINES_SHOWN} 行")
    for exc in p.open_exceptions[:3]:
        on = f" {exc.work_order_code}" if exc.work_order_code else ""
        out.append(f"⚠ 异常：{exc.type}（{exc.status_label}）{on}")
    return "\n".join(out)


def order_list_text(title: str, orders: list[OrderSummary], total: int | None = None) -> str:
    if not orders:
        return f"{title}：没有未完成的订单。"
    head = f"{title}（共 {total} 单，显示前 {len(orders)} 单）：" if total and total > len(orders) else f"{title}："
    out = [head]
    for o in orders:
        pct = round(100 * o.done_qty / o.qty) if o.qty else 0
        late = " ⚠逾期" if o.late else ""
        out.append(f"· {o.bill_no} {o.customer} 【{o.stage_label}】{pct}% 交期 {o.due_date}{late}")
    out.append("发送订单号可查看详情。")
    return "\n".join(out)


def order_list_chunks(title: str, orders: list[OrderSummary], max_bytes: int = 2000) -> list[str]:
    """Split a long list into texts that each fit WeCom's 2048-byte limit, in order."""
    chunks: list[str] = []
    current = [title]
    for o in orders:
        pct = round(100 * o.done_qty / o.qty) if o.qty else 0
        line = f"· {o.bill_no} 【{o.stage_label}】{pct}% 交期 {o.due_date}{' ⚠逾期' if o.late else ''}"
        if len("\n".join([*current, line]).encode()) > max_bytes:
            chunks.append("\n".join(current))
            current = []
        current.append(line)
    chunks.append("\n".join(current))
    return chunks
