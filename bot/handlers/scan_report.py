"""Scan a traveller's QR, tap 完成: the two-action report the plant asked for."""

from __future__ import annotations

from bot.report_flow import (
    ReportRequest,
    detail_url,
    done_card,
    form_url,
    prompt_card,
    record_report,
    scan_text,
    stale_done_text,
)
from bot.routing import Ctx, Routes
from domain.errors import DomainError
from domain.services import reporting
from domain.services.reporting import ReportPrompt
from wecom.cards import make_task_id
from wecom.inbound import CardClick, ScanEvent
from wecom.replies import Reply, Text, UpdateCard

routes = Routes("scan_report")


@routes.scan(menu_key="scan_report", name="扫码报工", position=10, read_only=True,
             help="扫一扫工单流转卡上的二维码：一键报工（完成 / 填写数量 / 报异常）")
def scan_traveller(msg: ScanEvent, ctx: Ctx) -> Reply:
    code = ctx.policy.read_label(msg.scan_result, ctx.now)
    prompt = reporting.prepare_report(ctx.uow, ctx.policy, work_order_code=code, userid=ctx.userid, now=ctx.now)
    # A passive reply cannot carry a template card, so the card goes out as an active message.
    ctx.send_card([ctx.userid], _card(prompt, ctx, make_task_id("rpt", prompt.work_order_code,
                                                                prompt.operation_seq, ctx.key)))
    return Text(scan_text(prompt))


@routes.card(key_prefix="rpt:done:")
def tap_done(msg: CardClick, ctx: Ctx) -> Reply:
    code, seq, qty = _done_args(ctx.match["arg"])
    # Keyed by the card and button, not the delivery: a second tap on the same card is the same report.
    source_key = f"card:{msg.task_id}:{msg.event_key}"
    # The card may be hours old: what it offered is checked against now, and a figure no longer allowed
    # records nothing; the card is replaced by the current one instead.
    fresh = reporting.confirm_done(ctx.uow, ctx.policy, work_order_code=code, operation_seq=seq, qty=qty,
                                   userid=ctx.userid, source_key=source_key, now=ctx.now)
    if fresh is not None:
        ctx.send_text([ctx.userid], stale_done_text(qty, fresh))
        return UpdateCard(_card(fresh, ctx, msg.task_id))
    result = record_report(
        ctx.uow, ctx.policy, userid=ctx.userid, now=ctx.now, notify=ctx.send_text, enqueue=ctx.enqueue,
        req=ReportRequest(code, qty, 0, source_key=source_key, operation_seq=seq),
    )
    return UpdateCard(done_card(result, task_id=msg.task_id,
                                detail_link=detail_url(ctx.public_url, result.work_order_code)))


def _card(prompt: ReportPrompt, ctx: Ctx, task_id: str) -> dict[str, object]:
    return prompt_card(prompt, task_id=task_id, form_link=form_url(ctx.public_url, ctx.policy, prompt.work_order_code),
                       detail_link=detail_url(ctx.public_url, prompt.work_order_code))


def _done_args(arg: str) -> tuple[str, int, int]:
    try:
        code, seq, qty = arg.rsplit(":", 2)
        return code, int(seq), int(qty)
    except ValueError as exc:
        raise DomainError("卡片已失效，请重新扫码。") from exc
