"""Recording a work report from any channel (card tap, text, mini-form) and what follows it.

Every channel reports through here, so the reply a worker sees and the notice the next operation's
lead receives are the same whichever way the quantity came in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.task_refs import ALERTS_TICK
from domain import qr_payload
from domain.policy import PlantPolicy
from domain.services import reporting
from domain.services.people import workshop_leads
from domain.services.reporting import ReportPrompt, ReportResult
from domain.tasks_registry import TaskRef
from domain.uow import UnitOfWork
from wecom.cards import Button, button_card

UNDO_KEY_PREFIX = "rpt:undo:"  # the 撤销 button of a done card: rpt:undo:<report id>
Notify = Callable[[Iterable[str], str], None]
Enqueue = Callable[[TaskRef], None]  # a registered task, queued once the report has committed


@dataclass(frozen=True)
class ReportRequest:
    work_order_code: str
    good_qty: int
    defect_qty: int
    source_key: str
    operation_name: str | None = None
    operation_seq: int | None = None


def record_report(
    uow: UnitOfWork, policy: PlantPolicy, *, userid: str, req: ReportRequest, now: datetime, notify: Notify,
    enqueue: Enqueue,
) -> ReportResult:
    """Record the report and register everything that follows it, the one place that does.

    In the transaction (reporting.report_work): the quantities, the points, the operation's and the work
    order's status and the order's stage. After the commit (uow.after_commit), only for a report that was
    counted now, not a repeat: the notice to the next operation's leads, once, on the report that finished
    the operation; and an alert round, since a first report clears 未开工 and defects may make two bad in a
    row. Nothing here runs if the report is refused or the transaction fails.
    """
    result = reporting.report_work(
        uow, policy, work_order_code=req.work_order_code, userid=userid, good_qty=req.good_qty,
        defect_qty=req.defect_qty, source_key=req.source_key, now=now, operation_name=req.operation_name,
        operation_seq=req.operation_seq,
    )
    if result.duplicate:
        return result
    # next_operation is set only on the report that finished the operation: the notice goes out once.
    if result.next_operation:
        leads = workshop_leads(uow, result.next_workshop)
        if leads:
            text = next_operation_text(result)
            uow.after_commit(lambda: notify(leads, text))
    uow.after_commit(lambda: enqueue(ALERTS_TICK))
    return result


def next_operation_text(r: ReportResult) -> str:
    return (
        f"{r.operation}完成 {r.operation_good_total} 件，请安排{r.next_operation}\n"
        f"工单 {r.work_order_code} · {r.product_name}\n订单 {r.bill_no}"
    )


def done_headline(r: ReportResult) -> str:
    if r.good_qty == 0:  # only defects: nothing was made, so nothing is 完成
        return f"已记录不良 {r.defect_qty} 件（良品 0），今日累计完成 {r.today_good_total} 件"
    return f"已完成! 今日累计完成 {r.today_good_total} 件"


def undo_hint(r: ReportResult) -> str:
    """The report's number, which a lead's 更正 names, and how its reporter takes it back."""
    hint = f"报工号 #{r.report_id}"
    if r.undo_minutes > 0:
        hint += f" · {r.undo_minutes} 分钟内可回复「撤销」撤回"
    return hint


def points_line(r: ReportResult) -> str:
    if r.good_qty == 0:
        return f"只报不良不计积分，今日积分 {r.points_today}"
    return f"积分 +{r.points_earned}，今日积分 {r.points_today}"


def report_text(r: ReportResult) -> str:
    lines = [done_headline(r)]
    if r.duplicate:
        lines.append("（这条报工之前已记录，本次未重复计数）")
    defect = f" 不良 {r.defect_qty}" if r.defect_qty else ""
    lines.append(f"工单 {r.work_order_code} {r.operation}：良品 {r.good_qty}{defect}")
    lines.append(points_line(r))
    lines.append(_progress_line(r))
    lines.append(undo_hint(r))
    return "\n".join(lines)


def _progress_line(r: ReportResult) -> str:
    if r.work_order_done:
        return "工单已全部完成 ✓"
    if r.operation_done:
        return f"工序「{r.operation}」已完成 ✓（累计良品 {r.operation_good_total}）"
    return f"工序「{r.operation}」累计良品 {r.operation_good_total}，剩余 {r.operation_remaining}"


def _route_strip(prompt: ReportPrompt) -> str:
    return "→".join(
        f"【{name}】" if name == prompt.operation else (f"{name}✓" if label == "已完成" else name)
        for name, label in prompt.route
    )


def form_url(public_url: str, policy: PlantPolicy, work_order_code: str) -> str:
    return f"{public_url.rstrip('/')}/forms/report?wo={qr_payload.encode(work_order_code, policy.label_key)}"


def done_key(prompt: ReportPrompt) -> str:
    """The 完成 button's key: the figure it records travels with it, so the tap records what the card said."""
    return f"rpt:done:{prompt.work_order_code}:{prompt.operation_seq}:{prompt.done_qty}"


def detail_url(public_url: str, work_order_code: str) -> str:
    return f"{public_url.rstrip('/')}/board/wo/{work_order_code}"


def prompt_card(prompt: ReportPrompt, *, task_id: str, form_link: str, detail_link: str | None = None
                ) -> dict[str, object]:
    """The card a scan answers with: 完成 N 件 records exactly N good pieces (reporting.prepare_report says
    how N is reached); with no N the card says why and offers the form."""
    extra = f"（可超产 {prompt.tolerance}）" if prompt.tolerance else ""
    buttons = [Button(f"完成 {prompt.done_qty} 件", done_key(prompt), style=1)] if prompt.done_qty else []
    buttons += [
        Button("填写数量", url=form_link, style=1 if not prompt.done_qty else 2),
        Button("报异常", f"exc:start:{prompt.work_order_code}", style=3),
    ]
    return button_card(
        task_id=task_id,
        title=f"{prompt.work_order_code} · {prompt.operation}",
        desc=f"{prompt.product_name}（{prompt.item_number}）",
        sub_title=prompt.done_note if prompt.done_qty else f"{prompt.done_note}，请点「填写数量」",
        rows=[
            ("订单", f"{prompt.bill_no} {prompt.customer}"),
            ("模具/机台", f"{prompt.mould or '-'} / {prompt.machine or '-'}"),
            ("计划数量", f"{prompt.planned_qty} 件"),
            ("已报", f"良品 {prompt.good_so_far} 不良 {prompt.defect_so_far}"),
            ("剩余", f"{prompt.remaining} 件{extra}"),
            ("工序", _route_strip(prompt)),
        ],
        buttons=buttons,
        url=detail_link,
    )


def scan_text(prompt: ReportPrompt) -> str:
    """The passive reply to a scan, with the card as an active message below it."""
    if prompt.done_qty:
        return f"已识别工单 {prompt.work_order_code}（{prompt.operation}），请在下方卡片上点「完成」或「填写数量」。"
    return (f"已识别工单 {prompt.work_order_code}（{prompt.operation}）：{prompt.done_note}，"
            "请在下方卡片上点「填写数量」。")


def stale_done_text(card_qty: int, now: ReportPrompt) -> str:
    """A tap on 完成 whose figure is no longer allowed: nothing was recorded, and the card now says why."""
    if now.done_qty:
        return (f"未记录：卡片上的「完成 {card_qty} 件」已过时，现在{now.done_note}。"
                "卡片已更新，请核对后再点。")
    return f"未记录：卡片上的「完成 {card_qty} 件」已过时，{now.done_note}。卡片已更新，请点「填写数量」。"


def undo_key(report_id: int) -> str:
    return f"{UNDO_KEY_PREFIX}{report_id}"


def done_card(r: ReportResult, *, task_id: str, detail_link: str | None = None) -> dict[str, object]:
    """What the scan card turns into after 完成: the day's total, the points, the operation's progress, and
    撤销 for the reporter (the card is theirs alone)."""
    defect = f"，不良 {r.defect_qty} 件" if r.defect_qty else ""
    buttons = [Button("今日明细", "me:today", style=2), Button("报异常", f"exc:start:{r.work_order_code}", style=3)]
    if r.undo_minutes > 0:
        buttons.insert(0, Button("撤销", undo_key(r.report_id), style=2))
    return button_card(
        task_id=task_id,
        title=done_headline(r),
        desc=f"{r.work_order_code} {r.operation} 良品 {r.good_qty} 件{defect}",
        rows=[
            ("报工号", f"#{r.report_id}" + (f"（{r.undo_minutes} 分钟内可撤销）" if r.undo_minutes > 0 else "")),
            ("本次积分", "只报不良不计积分" if r.good_qty == 0 else f"+{r.points_earned}"),
            ("今日积分", str(r.points_today)),
            ("工序进度", _progress_line(r)),
        ],
        buttons=buttons,
        url=detail_link,
    )
