"""报异常: pick a preset type on a card (or type it), then say what went wrong and send photos.

Two questions follow a report (conversations, answered by the reporter's next plain text within
CONVERSATION_MINUTES): after a type picked on the card, what happened (the text is the description, and a
press in it is the fault's press); after a fault with no press, which press. A command typed meanwhile
still runs as that command; 取消 drops the question.
"""

from __future__ import annotations

import re

from alerts.intake import (
    EQUIPMENT_FAULT,
    EXC_DESCRIPTION,
    FAULT_PRESS,
    Changed,
    assign_press,
    exception_changed,
    exception_of,
    exception_opened,
    hand_over_press,
)
from alerts.repair import dispatched
from bot.report_flow import detail_url
from bot.routing import Ctx, Routes
from bot.task_refs import ALERTS_DELIVER, ALERTS_UPDATE_CARDS
from bot.tools import HandlerTools
from domain.errors import DomainError
from domain.photos import NormalisedPhoto, normalise_photo
from domain.services import conversation, exception_photos
from domain.services.exceptions import (
    PRESS_ROLES,
    ExceptionResult,
    describe,
    exception_result,
    open_exception,
    plant_machines,
    press_answer,
)
from domain.vocab import ExceptionStatus
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


def _known_presses(ctx: Ctx) -> list[str]:
    return sorted({*ctx.tools.alert_policy.machine_zones, *plant_machines(ctx.uow)})


def _presses_hint(known: list[str]) -> str:
    return "、".join(known[:12]) + ("等" if len(known) > 12 else "")


def _opened(ctx: Ctx, result: ExceptionResult) -> int | None:
    """Fire the alert (and, for a fault on a known press, the repair ticket); the ticket id, if any."""
    if result.duplicate:
        return None
    ticket_id = exception_opened(ctx.uow, ctx.tools.alert_policy, result.id, ctx.now)
    ctx.enqueue(ALERTS_DELIVER)
    return ticket_id


def _changed(ctx: Ctx, changed: Changed) -> None:
    """The alert's cards show the new facts (updated in place); the technician's card goes out."""
    if changed.alert_id is not None:
        ctx.enqueue(ALERTS_UPDATE_CARDS, alert_id=changed.alert_id, tapped_task_id="", response_code="")
    ctx.enqueue(ALERTS_DELIVER)


def _minutes(ctx: Ctx) -> int:
    return max(1, int(ctx.tools.alert_policy.conversation_ttl.total_seconds() // 60))


def _ask_press(ctx: Ctx, exception_id: int) -> str:
    # Without a press nobody knows where to send a technician: ask, rather than leave it to the card.
    conversation.ask(ctx.uow, userid=ctx.userid, kind=FAULT_PRESS, subject=f"exc:{exception_id}", now=ctx.now,
                     ttl=ctx.tools.alert_policy.conversation_ttl)
    return f"未注明机台，暂无法派维修：请回复机台号，如 P05（{_minutes(ctx)} 分钟内有效）。\n"


def _dispatch_line(ctx: Ctx, ticket_id: int) -> str:
    sent = dispatched(ctx.uow, ticket_id)
    where = f"（{sent.machine}）" if sent.machine else ""
    if sent.technician:
        return f"已开维修工单 #{sent.ticket_id}{where}，已通知技术员 {sent.technician} 到场处理。\n"
    return f"已开维修工单 #{sent.ticket_id}{where}，暂无空闲技术员在岗，稍后自动派单。\n"


def _repair_line(ctx: Ctx, result: ExceptionResult, ticket_id: int | None) -> str:
    if result.type != EQUIPMENT_FAULT or result.duplicate:
        return ""
    if ticket_id is None:
        return "" if result.machine else _ask_press(ctx, result.id)
    return _dispatch_line(ctx, ticket_id)


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
    ticket_id = _opened(ctx, result)
    rows = [("工单", result.work_order_code or "未关联"), ("状态", result.status_label)]
    if ticket_id is not None:
        sent = dispatched(ctx.uow, ticket_id)
        rows.append(("维修", f"#{sent.ticket_id} {sent.technician or '待派单'}"))
    if not result.duplicate:
        conversation.ask(ctx.uow, userid=ctx.userid, kind=EXC_DESCRIPTION, subject=f"exc:{result.id}",
                         now=ctx.now, ttl=ctx.tools.alert_policy.conversation_ttl)
    ask = ("请回复一句话说明机台和情况（如：P06 液压漏油，已停机）" if result.type == EQUIPMENT_FAULT and not result.machine
           else "请回复一句话说明情况")
    return UpdateCard(button_card(
        task_id=msg.task_id,
        title=f"已报告异常 #{result.id}：{result.type}",
        desc=f"{ask}，也可直接发送现场照片（可多张），会自动附到这条异常上。",
        rows=rows,
        buttons=[Button("已上报", f"exc:done:{result.id}", style=2)],
        url=detail_url(ctx.public_url, result.work_order_code) if result.work_order_code else None,
    ))


def _closed(ctx: Ctx, kind: str, result: ExceptionResult) -> Reply | None:
    if result.status != ExceptionStatus.CLOSED:
        return None
    conversation.finish(ctx.uow, ctx.userid, kind)
    return Text(f"异常 #{result.id} 已关闭，无需补充。")


@routes.answer(FAULT_PRESS)
def press_answered(msg: TextMsg, ctx: Ctx) -> Reply:
    """The reporter's answer to "which press?" for a fault reported without one."""
    exception_id = exception_of(ctx.match["subject"])
    text = ctx.match["text"]
    result = exception_result(ctx.uow, exception_id)
    if (closed := _closed(ctx, FAULT_PRESS, result)) is not None:
        return closed
    policy = ctx.tools.alert_policy
    if conversation.is_cancel(text):
        conversation.finish(ctx.uow, ctx.userid, FAULT_PRESS)
        hand_over_press(ctx.uow, policy, exception_id, ctx.now)
        ctx.enqueue(ALERTS_DELIVER)
        return Text(f"好的，不再等待机台号：异常 #{exception_id} 已请当班主管确认机台后派维修。")
    known = _known_presses(ctx)
    machine = press_answer(text, known)
    if machine is None:
        return Text(f"没有找到机台「{text[:20]}」。请回复机台号，如 P05（本厂机台：{_presses_hint(known)}），"
                    "或回复「取消」由主管确认。")
    changed = assign_press(ctx.uow, policy, exception_id=exception_id, userid=ctx.userid, machine=machine,
                           now=ctx.now)
    _changed(ctx, changed)
    line = _dispatch_line(ctx, changed.ticket_id) if changed.ticket_id is not None else ""
    return Text(f"已记录异常 #{exception_id} {result.type}的机台：{machine}。\n{line}".rstrip())


@routes.answer(EXC_DESCRIPTION)
def description_answered(msg: TextMsg, ctx: Ctx) -> Reply:
    """The text after a type was picked on the 报异常 card: what happened (and, for a fault, where)."""
    exception_id = exception_of(ctx.match["subject"])
    text = ctx.match["text"]
    result = exception_result(ctx.uow, exception_id)
    if (closed := _closed(ctx, EXC_DESCRIPTION, result)) is not None:
        return closed
    if conversation.is_cancel(text):
        conversation.finish(ctx.uow, ctx.userid, EXC_DESCRIPTION)
        if hand_over_press(ctx.uow, ctx.tools.alert_policy, exception_id, ctx.now):
            ctx.enqueue(ALERTS_DELIVER)
            return Text(f"好的，异常 #{exception_id} 不补充说明；未注明机台，已请当班主管确认机台后派维修。"
                        "可继续发送现场照片。")
        return Text(f"好的，异常 #{exception_id} 不补充说明。可继续发送现场照片。")
    result = describe(ctx.uow, exception_id=exception_id, userid=ctx.userid, text=text,
                      known_machines=_known_presses(ctx))
    conversation.finish(ctx.uow, ctx.userid, EXC_DESCRIPTION)
    changed = exception_changed(ctx.uow, ctx.tools.alert_policy, exception_id, ctx.now)
    _changed(ctx, changed)
    where = f"（机台 {result.machine}）" if result.machine else ""
    line = _repair_line(ctx, result, changed.ticket_id)
    return Text(f"已记录异常 #{result.id} {result.type}{where}的说明：{text[:60]}\n{line}"
                "可继续发送现场照片，会自动附到这条异常上。")


@routes.text(r"转维修\s*#?(?P<id>\d+)\s*(?P<press>\S.*)", roles=PRESS_ROLES,
             help="转维修 异常号 机台号（如 转维修 11 P05）：为未注明机台的设备故障补上机台并派维修")
def repair_with_press(msg: TextMsg, ctx: Ctx) -> Reply:
    exception_id = int(ctx.match["id"])
    result = exception_result(ctx.uow, exception_id)
    if result.type != EQUIPMENT_FAULT:
        raise DomainError(f"异常 #{exception_id} 是{result.type}，不是设备故障，无需派维修。")
    known = _known_presses(ctx)
    machine = press_answer(ctx.match["press"], known)
    if machine is None:
        raise DomainError(f"没有找到机台「{ctx.match['press'][:20]}」。本厂机台：{_presses_hint(known)}。")
    changed = assign_press(ctx.uow, ctx.tools.alert_policy, exception_id=exception_id, userid=ctx.userid,
                           machine=machine, now=ctx.now)
    _changed(ctx, changed)
    if changed.ticket_id is None:
        raise DomainError(f"异常 #{exception_id} 已关闭，无需派维修。")
    return Text(f"已记录异常 #{exception_id} 的机台：{machine}。\n{_dispatch_line(ctx, changed.ticket_id)}".rstrip())


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
