"""报异常: pick a preset type on a card (or type it), then send photos of what went wrong."""

from __future__ import annotations

import re

from alerts.intake import EQUIPMENT_FAULT, exception_opened
from alerts.repair import dispatched
from bot.report_flow import detail_url
from bot.routing import Ctx, Routes
from bot.task_refs import ALERTS_DELIVER
from bot.tools import HandlerTools
from domain.errors import DomainError
from domain.photos import NormalisedPhoto, normalise_photo
from domain.services import exception_photos
from domain.services.exceptions import ExceptionResult, open_exception
from wecom.cards import MAX_BUTTONS, Button, button_card, make_task_id
from wecom.inbound import CardClick, ImageMsg, Inbound, TextMsg
from wecom.replies import NoReply, Reply, Text, UpdateCard

routes = Routes("exceptions")

_WO = re.compile(r"^[A-Za-z]{2}[A-Za-z0-9-]{3,38}$")
NO_WO = "-"


def _types_hint(ctx: Ctx) -> str:
    return "、".join(ctx.policy.exception_types)


def type_card(ctx: Ctx, work_order_code: str | None) -> dict[str, object]:
    wo = work_order_code or NO_WO
    return button_card(
        task_id=make_task_id("exc", wo, ctx.key),
        title="报异常：请选择类型",
        desc=f"工单 {work_order_code}" if work_order_code else "未关联工单（扫码后报异常可自动关联）",
        buttons=[
            Button(t, f"exc:type:{wo}:{i}", style=3 if i == 0 else 1)
            for i, t in enumerate(ctx.policy.exception_types[:MAX_BUTTONS])
        ],
        url=detail_url(ctx.public_url, work_order_code) if work_order_code else None,
    )


def _opened(ctx: Ctx, result: ExceptionResult) -> int | None:
    """Fire the alert (and, for a fault on a known press, the repair ticket); the ticket id, if any."""
    if result.duplicate:
        return None
    ticket_id = exception_opened(ctx.uow, ctx.tools.alert_policy, result.id, ctx.now)
    ctx.enqueue(ALERTS_DELIVER)
    return ticket_id


def _repair_line(ctx: Ctx, result: ExceptionResult, ticket_id: int | None) -> str:
    if result.type != EQUIPMENT_FAULT or result.duplicate:
        return ""
    if ticket_id is None:
        if result.machine:
            return ""
        # Without a press nobody knows where to send a technician: ask, rather than leave it to the card.
        return "未注明机台，暂无法派维修：请回复机台号，如 P05。\n"
    sent = dispatched(ctx.uow, ticket_id)
    where = f"（{sent.machine}）" if sent.machine else ""
    if sent.technician:
        return f"已开维修工单 #{sent.ticket_id}{where}，已通知技术员 {sent.technician} 到场处理。\n"
    return f"已开维修工单 #{sent.ticket_id}{where}，暂无空闲技术员在岗，稍后自动派单。\n"


def _opened_text(result: ExceptionResult, repair_line: str = "") -> str:
    if result.work_order_code:
        where = f"（工单 {result.work_order_code}）"
    else:
        where = f"（机台 {result.machine}）" if result.machine else ""
    return (f"已报告异常 #{result.id}：{result.type}{where}，主管已收到通知。\n{repair_line}"
            "请直接发送现场照片（可多张），会自动附到这条异常上。")


@routes.text(r"报异常(?P<rest>.*)", help="报异常 [工单号] [类型] [说明]：上报异常，随后可发送照片")
def report_by_text(msg: TextMsg, ctx: Ctx) -> Reply:
    tokens = ctx.match.get("rest", "").split()
    code = tokens.pop(0).upper() if tokens and _WO.match(tokens[0]) else None
    if not tokens:
        ctx.send_card([ctx.userid], type_card(ctx, code))
        return Text(f"请在卡片上选择异常类型，或直接回复：报异常 {code or '[工单号]'} 类型 说明\n"
                    f"类型：{_types_hint(ctx)}")
    kind, description = tokens[0], " ".join(tokens[1:])
    result = open_exception(ctx.uow, ctx.policy, userid=ctx.userid, type=kind, source_key=ctx.key, now=ctx.now,
                            work_order_code=code, description=description,
                            known_machines=ctx.tools.alert_policy.machine_zones)
    ticket_id = _opened(ctx, result)
    return Text(_opened_text(result, _repair_line(ctx, result, ticket_id)))


@routes.card(key_prefix="exc:start:", read_only=True)
def start_from_card(msg: CardClick, ctx: Ctx) -> Reply:
    code = ctx.match["arg"]
    ctx.send_card([ctx.userid], type_card(ctx, None if code == NO_WO else code))
    return NoReply()


@routes.card(key_prefix="exc:type:")
def pick_type(msg: CardClick, ctx: Ctx) -> Reply:
    try:
        code, index = ctx.match["arg"].rsplit(":", 1)
        kind = ctx.policy.exception_types[int(index)]
    except (ValueError, IndexError) as exc:
        raise DomainError("卡片已失效，请重新发送「报异常」。") from exc
    result = open_exception(ctx.uow, ctx.policy, userid=ctx.userid, type=kind,
                            source_key=f"card:{msg.task_id}:{msg.event_key}", now=ctx.now,
                            work_order_code=None if code == NO_WO else code)
    _opened(ctx, result)
    return UpdateCard(button_card(
        task_id=msg.task_id,
        title=f"已报告异常 #{result.id}：{result.type}",
        desc="请直接发送现场照片（可多张），会自动附到这条异常上。",
        rows=[("工单", result.work_order_code or "未关联"), ("状态", result.status_label)],
        buttons=[Button("已上报", f"exc:done:{result.id}", style=2)],
        url=detail_url(ctx.public_url, result.work_order_code) if result.work_order_code else None,
    ))


@routes.card(key_prefix="exc:done:", read_only=True)
def already_reported(msg: CardClick, ctx: Ctx) -> Reply:
    return NoReply()


def _download(msg: Inbound, tools: HandlerTools) -> NormalisedPhoto:
    assert isinstance(msg, ImageMsg)
    return normalise_photo(tools.fetch_media(msg.media_id))


# Fetched and decoded before the transaction opens (a download is HTTP, seconds on a bad day; decoding a
# phone photo is CPU): WeCom keeps media three days, and a refusal must leave nothing half-stored.
@routes.image(defer="照片已收到，正在保存……", prepare=_download)
def photo(msg: Inbound, ctx: Ctx) -> Reply:
    data: NormalisedPhoto = ctx.prepared
    result = exception_photos.attach_photo(
        ctx.uow, store=ctx.tools.photo_store, userid=ctx.userid, source_key=ctx.key, data=data, now=ctx.now
    )
    where = f"（工单 {result.work_order_code}）" if result.work_order_code else ""
    return Text(f"照片已附到异常 #{result.exception_id} {result.exception_type}{where}，共 {result.photo_count} 张。")
