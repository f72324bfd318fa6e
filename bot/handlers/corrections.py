"""撤销 a report of one's own (by text or the success card's button), 更正 a report of one's workshop."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.report_flow import UNDO_KEY_PREFIX
from bot.routing import Ctx, Routes
from domain.errors import DomainError
from domain.services.conversation import CANCEL_WORDS
from domain.services.corrections import (
    CORRECT_FORMAT,
    CorrectionResult,
    change_text,
    correct_report,
    undo_report,
)
from domain.services.people import workshop_leads
from wecom.cards import Button, button_card
from wecom.inbound import CardClick, TextMsg
from wecom.replies import Reply, Text, UpdateCard

routes = Routes("corrections")

# 撤销 / 撤回 / 取消报工 / 撤回上一条报工 / 撤销报工 #123 / 撤销 报工号 123. A bare 取消 is not one: it
# drops a question the bot asked (domain/services/conversation.py).
UNDO_TEXT = (r"(?:撤销|撤回|取消(?=.*报工))\s*(?:上一?条|最后一条|刚才的?)?\s*的?\s*(?:报工)?\s*(?:报工号|号)?\s*"
             r"[#＃]?\s*(?P<id>\d+)?")
_GOOD = re.compile(r"(?<!不)良品\s*[:：]?\s*(?P<n>\S*?)(?=\s|不良|原因|$)")
_DEFECT = re.compile(r"不良品?\s*[:：]?\s*(?P<n>\S*?)(?=\s|良品|原因|$)")
_REASON = re.compile(r"原因\s*[:：]?\s*(?P<text>.*)$", re.DOTALL)


@routes.text(UNDO_TEXT, help="撤销：撤回您刚报的最后一条报工（报工回复里写明几分钟内可撤销；或 撤销报工 #报工号）")
def undo_by_text(msg: TextMsg, ctx: Ctx) -> Reply:
    wanted = ctx.match.get("id")
    result = undo_report(ctx.uow, ctx.policy, userid=ctx.userid, report_id=int(wanted) if wanted else None,
                         source_key=ctx.key, now=ctx.now)
    _tell_next_leads(ctx, result)
    return Text(undone_text(result))


# A bare 取消 (算了, 不用了) answers a question the bot asked; with none open it cancels nothing, and must not
# fall through to the customer search. yields: an open question's answer route takes it first.
@routes.text("|".join(sorted(CANCEL_WORDS)), read_only=True, yields=True)
def nothing_to_cancel(msg: TextMsg, ctx: Ctx) -> Reply:
    return Text("没有需要取消的操作。")


@routes.card(key_prefix=UNDO_KEY_PREFIX)
def undo_from_card(msg: CardClick, ctx: Ctx) -> Reply:
    result = undo_report(ctx.uow, ctx.policy, userid=ctx.userid, report_id=ctx.card_record_id(),
                         # Keyed by the card and button: a second tap on the same card is the same undo.
                         source_key=f"card:{msg.task_id}:{msg.event_key}", now=ctx.now)
    _tell_next_leads(ctx, result)
    return UpdateCard(undone_card(result, task_id=msg.task_id))


@routes.text(r"更正(?P<rest>.*)", help=f"更正：班组长/主管更正本车间的报工（{CORRECT_FORMAT}）")
def correct_by_text(msg: TextMsg, ctx: Ctx) -> Reply:
    parsed = parse_correction(ctx.match.get("rest", ""))
    result = correct_report(ctx.uow, ctx.policy, userid=ctx.userid, report_id=parsed.report_id,
                            good_qty=parsed.good_qty, defect_qty=parsed.defect_qty, reason=parsed.reason,
                            source_key=ctx.key, now=ctx.now)
    if not result.duplicate and result.reporter_userid != ctx.userid:
        ctx.send_text([result.reporter_userid], reporter_notice(result))
    _tell_next_leads(ctx, result)
    return Text(corrected_text(result))


def _tell_next_leads(ctx: Ctx, r: CorrectionResult) -> None:
    """Take back the 「请安排…」 notice a finished operation sent: once, with the change (a repeat of the
    same undo or correction is a duplicate and sends nothing)."""
    if r.duplicate or r.reopened_next is None:
        return
    leads = workshop_leads(ctx.uow, r.reopened_next_workshop)
    if leads:
        ctx.send_text(leads, reopened_text(r))


def reopened_text(r: CorrectionResult) -> str:
    what = "撤销" if r.kind == "undo" else "更正"
    return (f"{what}：工单 {r.work_order_code} {r.operation} 退回 {r.operation_good_total}/{r.operation_planned_qty} 件"
            f"（报工号 #{r.report_id} 已{what}），请暂缓安排{r.reopened_next}")


@dataclass(frozen=True)
class ParsedCorrection:
    report_id: int
    good_qty: int | None
    defect_qty: int | None
    reason: str


def parse_correction(rest: str) -> ParsedCorrection:
    """`报工号 123 良品 780 不良 20 原因 点数错误`, `#123 …` or `123 …`; a quantity left out stays as reported."""
    text = rest.strip()
    reason = ""
    found = _REASON.search(text)
    if found:
        reason, text = found.group("text").strip(), text[: found.start()]
    head = re.match(r"\s*(?:报工号?|号)?\s*[#＃]?\s*(?P<id>\d+)", text)
    if head is None:
        raise DomainError(f"请写明要更正的报工号，格式：{CORRECT_FORMAT}")
    body = text[head.end():]
    return ParsedCorrection(int(head.group("id")), _qty(_GOOD, body, "良品"), _qty(_DEFECT, body, "不良"), reason)


def _qty(rx: re.Pattern[str], text: str, label: str) -> int | None:
    found = rx.search(text)
    if found is None:
        return None
    value = found.group("n")
    if not value.isdigit():
        raise DomainError(f"{label}数量「{value or '空'}」不是整数，格式：{CORRECT_FORMAT}")
    return int(value)


def _qty_text(good: int, defect: int) -> str:
    return f"良品 {good}" + (f" 不良 {defect}" if defect else "")


def _change(r: CorrectionResult) -> str:
    return change_text(r.old_good, r.old_defect, r.new_good, r.new_defect)


def _totals(r: CorrectionResult) -> str:
    done = "（已完成）" if r.operation_done else ""
    return f"工序「{r.operation}」累计{_qty_text(r.operation_good_total, r.operation_defect_total)}{done}"


def _points(r: CorrectionResult) -> str:
    change = f"{r.old_points} → {r.new_points}" if r.new_points != r.old_points else f"{r.new_points}（不变）"
    return f"积分 {change}，当日积分 {r.reporter_points_day}"


def undone_text(r: CorrectionResult) -> str:
    lines = [f"已撤销报工号 #{r.report_id}：{r.work_order_code} {r.operation} "
             f"{_qty_text(r.old_good, r.old_defect)} → 0"]
    if r.duplicate:
        lines.append("（这条撤销之前已处理，本次未重复）")
    lines += [_totals(r), _points(r), "如需重新报工，请再次扫码或发送「报工 …」。"]
    return "\n".join(lines)


def undone_card(r: CorrectionResult, *, task_id: str) -> dict[str, object]:
    return button_card(
        task_id=task_id,
        title=f"已撤销报工号 #{r.report_id}",
        desc=f"{r.work_order_code} {r.operation} {_qty_text(r.old_good, r.old_defect)} → 0",
        rows=[("工序进度", _totals(r)), ("积分", f"{r.old_points} → {r.new_points}"),
              ("当日积分", str(r.reporter_points_day))],
        buttons=[Button("今日明细", "me:today", style=2)],
    )


def corrected_text(r: CorrectionResult) -> str:
    lines = [f"已更正报工号 #{r.report_id}（{r.reporter} {r.work_order_code} {r.operation}）：{_change(r)}"]
    if r.duplicate:
        lines.append("（这条更正之前已处理，本次未重复）")
    lines += [f"原因：{r.reason}", _totals(r), f"{r.reporter}的{_points(r)}", "已记入订单时间线。"]
    return "\n".join(lines)


def reporter_notice(r: CorrectionResult) -> str:
    return (f"您的报工号 #{r.report_id}（{r.work_order_code} {r.operation}）已由 {r.by} 更正：{_change(r)}\n"
            f"原因：{r.reason}\n{_points(r)}")
