"""Domain results → the short Chinese texts users read in chat (WeCom caps text at 2048 bytes)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.services.orders import LineProgress, OrderProgress, OrderSummary, WorkOrderDetail
from domain.services.usage import UsageReport
from forecast.projection import OrderForecast
from forecast.text import eta_text, order_forecast_text, overdue_text
from wecom.replies import MAX_TEXT_BYTES

MAX_LINES_SHOWN = 6
MAX_EXCEPTIONS_SHOWN = 3


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


def _size(lines: list[str]) -> int:
    return len("\n".join(lines).encode("utf-8"))


def _more_lines(n: int, board_url: str | None) -> str:
    return f"……另有 {n} 行，详见看板{'：' + board_url if board_url else ''}"


def order_detail_text(p: OrderProgress, forecast: OrderForecast | None = None, today: date | None = None,
                      board_url: str | None = None, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The order in one WeCom text of at most `max_bytes` UTF-8 bytes.

    What must never be cut comes first: the header and the open exceptions. Then the lines, each with its
    work orders, as many as fit; the rest are summed up in one line pointing at the board.
    """
    # A late order says how late and when it will now be made, in place of the forecast's 会逾期.
    late = f"（{overdue_text(p.days_late or 1, None if p.late_done else forecast, done=p.late_done)}）" if p.late else ""
    out = [
        f"订单 {p.bill_no} · {p.customer}",
        f"阶段：{stage_strip(p)}",
        f"交期：{p.due_date}{late}",
    ]
    # A lateness already over (every late line made) leaves the forecast of the lines still in work to say.
    if forecast is not None and (not p.late or p.late_done):
        out.append(order_forecast_text(forecast, today))
    for exc in p.open_exceptions[:MAX_EXCEPTIONS_SHOWN]:
        on = f" {exc.work_order_code}" if exc.work_order_code else ""
        out.append(f"⚠ 异常：{exc.type}（{exc.status_label}）{on}")
    if len(p.open_exceptions) > MAX_EXCEPTIONS_SHOWN:
        out.append(f"⚠ 另有 {len(p.open_exceptions) - MAX_EXCEPTIONS_SHOWN} 条未关闭异常")
    projected = {ln.line.entry_id: ln for ln in forecast.lines} if forecast is not None else {}
    etas = [eta_text(a) if (a := projected.get(line.entry_id)) is not None and not a.done else None
            for line in p.lines]
    if len(p.lines) <= MAX_LINES_SHOWN:
        whole = _with_lines(out, p.lines, etas, max_bytes)
        if whole is not None:
            return "\n".join(whole)
    # Room kept for the closing summary, at its longest (every line left out).
    budget = max_bytes - len(("\n" + _more_lines(len(p.lines), board_url)).encode("utf-8"))
    shown, cut = 0, False
    for i, line in enumerate(p.lines[:MAX_LINES_SHOWN], 1):
        found = _line_block(i, line, etas[i - 1], budget, _size(out))
        if found is None:
            break
        block, some_left_out = found
        out.extend(block)
        shown += 1
        if some_left_out:  # the budget is spent
            cut = True
            break
    if shown < len(p.lines):
        out.append(_more_lines(len(p.lines) - shown, board_url))
    elif cut and board_url:
        out.append(f"详见看板：{board_url}")
    return "\n".join(out)


def work_order_text(d: WorkOrderDetail, forecast: OrderForecast | None, today: date, tz: ZoneInfo) -> str:
    """A work order typed in chat: each step against the plan, where and when it runs, and its order."""
    wo, o = d.work_order, d.order
    kis = f"（KIS 生产任务单 {d.kis_task_no}）" if d.kis_task_no and d.kis_task_no.upper() != wo.code.upper() else ""
    where = "/".join(x for x in (wo.machine, wo.mould) if x) or "-"
    out = [
        f"工单 {wo.code} · {wo.status_label}{kis}",
        f"产品：{d.product_name}（{d.item_number}）计划 {wo.planned_qty} 件",
        f"机台/模具：{where} · {wo.workshop}",
        f"计划：{_local(d.planned_start, tz)} 开工，{_local(d.planned_finish, tz)} 完工",
    ]
    for op in wo.operations:
        defect = f"，不良 {op.defect_qty}" if op.defect_qty else ""
        out.append(f"· {op.name} 良品 {op.good_qty}/{op.target_qty}{defect}（{op.status_label}）")
    line = next((ln for ln in forecast.lines if ln.line.entry_id == d.entry_id), None) if forecast else None
    if line is not None and not line.done:
        out.append(f"本行{eta_text(line)}")
    late = f"（{overdue_text(o.days_late or 1, None if o.late_done else forecast, done=o.late_done)}）" if o.late else ""
    out.append(f"订单 {o.bill_no} · {o.customer} 【{o.stage_label}】 交期 {o.due_date}{late}")
    out.append(f"发送「{o.bill_no}」查看整张订单。")
    return "\n".join(out)


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%m-%d %H:%M}"


def _with_lines(head: list[str], lines: tuple[LineProgress, ...], etas: list[str | None],
                max_bytes: int) -> list[str] | None:
    """Every line with every work order, if that fits."""
    out = list(head)
    for i, line in enumerate(lines, 1):
        found = _line_block(i, line, etas[i - 1], max_bytes, _size(out))
        if found is None or found[1]:
            return None
        out.extend(found[0])
    return out


def _line_block(i: int, line: LineProgress, eta: str | None, budget: int, used: int) -> tuple[list[str], bool] | None:
    """One order line and as many of its work orders as fit in `budget` bytes after `used` (and whether some
    were left out); None if not even the line itself fits."""
    pct = round(100 * line.done_qty / line.qty) if line.qty else 0
    block = [f"{i}. {line.product_name}（{line.item_number}）订 {line.qty} 件，完成 {line.done_qty}（{pct}%），"
             f"交期 {line.due_date}{'，' + eta if eta else ''}"]
    # Room to say how many work orders were left out, kept until the last one is in.
    reserve = len(f"\n   ……另有 {len(line.work_orders)} 张工单".encode()) if line.work_orders else 0
    size = used + 1 + len(block[0].encode("utf-8"))
    if size + reserve > budget:
        return None
    for n, wo in enumerate(line.work_orders):
        where = "/".join(x for x in (wo.machine, wo.mould) if x)
        rows = [f"   {wo.code} {wo.status_label}{' ' + where if where else ''}",
                "   " + " · ".join(f"{op.name} {op.good_qty}/{op.target_qty}" for op in wo.operations)]
        last = n == len(line.work_orders) - 1
        grown = size + sum(1 + len(r.encode("utf-8")) for r in rows)
        if grown + (0 if last else reserve) > budget:
            block.append(f"   ……另有 {len(line.work_orders) - n} 张工单")
            return block, True
        block.extend(rows)
        size = grown
    return block, False


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


def usage_text(r: UsageReport) -> str:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}%"

    lines = [
        f"{r.month} 使用情况（{r.days} 天）：",
        f"日均活跃 {r.mean_daily_active:.1f} 人 / 已开通 {r.enrolled} 人（{pct(100 * r.mean_daily_active / r.enrolled if r.enrolled else None)}）",
        "按角色：" + "；".join(f"{g.label} {g.mean_daily_active:.1f}/{g.enrolled}（{g.share_pct:.0f}%）" for g in r.by_role),
        "按车间：" + "；".join(f"{g.label} {g.mean_daily_active:.1f}/{g.enrolled}（{g.share_pct:.0f}%）"
                             for g in r.by_workshop),
        f"每日报工 {r.reports_per_day:.1f} 次，查询 {r.queries_per_day:.1f} 次，异常处理 {r.exception_actions_per_day:.1f} 次",
        f"企业微信操作 {r.callbacks} 次，成功率 {pct(r.success_pct)}（成功 {r.outcomes.get('ok', 0)}，"
        f"输入有误 {r.outcomes.get('user_error', 0)}，无权限/未开通 {r.outcomes.get('refused', 0)}，"
        f"系统出错 {r.outcomes.get('failed', 0)}）",
        "扫码到报工完成（中位数）："
        + ("-" if r.median_scan_to_report_s is None else f"{r.median_scan_to_report_s:.0f} 秒"),
        f"异常 {r.exceptions_opened} 条，已关闭 {r.exceptions_closed} 条（关闭率 {pct(r.closure_pct)}）",
    ]
    for workshop, weeks in r.adoption.items():
        lines.append(f"上线曲线 · {workshop}（每周活跃占比）：" + " ".join(f"{w:.0f}%" for w in weeks))
    return "\n".join(lines)
