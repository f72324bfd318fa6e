"""Closing a repair with what was found and what was used: 完成 on the card asks for the cause (a button per
cause in REPAIR_CAUSES), then for the parts (the technician's next text, "密封圈×2" or "无"), or
`维修单 #3 完成 液压 密封圈×2` says both at once.

The cause picked on the card waits on the ticket (it stays 已到场) while the parts question waits in the
conversations table with the tap's response code, so the card can show the final state once the parts
arrive, whichever process takes the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.card_updates import queue_refresh
from alerts.policy import AlertPolicy
from alerts.repair import STATUS_LABELS, current_ticket_card, my_ticket, step
from alerts.repair_notice import NO_PARTS, repaired_line, told_of_repair
from alerts.rules import EXCEPTION
from alerts.store import open_alert
from domain.errors import DomainError
from domain.models import RepairTicket, ShopException
from domain.services import conversation, handling
from domain.services.outbox import queue_message
from domain.services.people import active_person, person_names
from domain.uow import UnitOfWork
from domain.vocab import TicketStatus
from wecom.cards import MAX_BUTTONS, Button, button_card

PARTS_KIND = "repair_parts"
# Typed for "no parts were used".
NONE_WORDS = frozenset({"无", "没有", "没", "无备件", "没有备件", "未用备件", "没用备件", "不用", "无需", "-", "0"})
MAX_PARTS_CHARS = 200


def text_hint(ticket_id: int, causes: tuple[str, ...]) -> str:
    return f"也可发送「维修单 #{ticket_id} 完成 原因 备件」，如「维修单 #{ticket_id} 完成 {causes[0]} 密封圈×2」。"


def _exception(uow: UnitOfWork, ticket: RepairTicket) -> ShopException | None:
    return uow.session.get(ShopException, ticket.exception_id) if ticket.exception_id else None


def _rows(ticket: RepairTicket, exc: ShopException | None) -> list[tuple[str, str]]:
    rows = [("机台", ticket.machine or "-"), ("状态", STATUS_LABELS[TicketStatus(ticket.status)])]
    if exc is not None:
        rows.insert(0, ("异常", f"#{exc.id} {exc.type}"))
        if exc.description:
            rows.append(("说明", exc.description[:40]))
    return rows


def _title(ticket: RepairTicket) -> str:
    return f"【维修工单】#{ticket.id} {ticket.machine or ''}".strip()


def cause_card(ticket: RepairTicket, exc: ShopException | None, *, task_id: str,
               causes: tuple[str, ...]) -> dict[str, Any]:
    """完成 tapped: one button per cause (WeCom shows at most six; the rest can be typed)."""
    shown = causes[:MAX_BUTTONS]
    desc = "请选择故障原因"
    if len(causes) > len(shown):
        desc += f"（其他原因：{'、'.join(causes[len(shown):])}，请用文字发送）"
    return button_card(task_id=task_id, title=_title(ticket), desc=desc, rows=_rows(ticket, exc),
                       buttons=[Button(c, f"repair:cause:{ticket.id}:{c}") for c in shown],
                       source_desc="FactoryBot 维修")


def parts_card(ticket: RepairTicket, exc: ShopException | None, *, task_id: str) -> dict[str, Any]:
    """The cause picked: the card waits for the parts, typed as the next message."""
    return button_card(task_id=task_id, title=_title(ticket),
                       desc=f"原因：{ticket.cause}。请直接回复所用备件，如「密封圈×2」；未用备件请点「未用备件」",
                       rows=[*_rows(ticket, exc), ("原因", ticket.cause or "-")],
                       buttons=[Button("未用备件", f"repair:noparts:{ticket.id}"),
                                Button("重选原因", f"repair:done:{ticket.id}", style=2)],
                       source_desc="FactoryBot 维修")


def _out_of_order(ticket: RepairTicket) -> DomainError:
    label = STATUS_LABELS[TicketStatus(ticket.status)]
    return DomainError(f"维修工单 #{ticket.id} 当前为「{label}」，请按 接单→到场→完成 的顺序操作。")


def known_cause(policy: AlertPolicy, typed: str) -> str:
    text = typed.strip()
    if text in policy.repair_causes:
        return text
    raise DomainError(f"没有「{text}」这个原因，请选：{'、'.join(policy.repair_causes)}。")


def ask_cause(uow: UnitOfWork, policy: AlertPolicy, *, ticket_id: int, userid: str, task_id: str) -> dict[str, Any]:
    """The card after 完成: the causes to pick from (a finished ticket shows its final state instead)."""
    ticket, _ = my_ticket(uow, ticket_id, userid)
    if ticket.status == TicketStatus.DONE:
        return current_ticket_card(uow, ticket.id, task_id=task_id, policy=policy)
    if ticket.status != TicketStatus.ON_SITE:
        raise _out_of_order(ticket)
    return cause_card(ticket, _exception(uow, ticket), task_id=task_id, causes=policy.repair_causes)


def choose_cause(uow: UnitOfWork, policy: AlertPolicy, *, ticket_id: int, userid: str, cause: str, task_id: str,
                 response_code: str, now: datetime) -> dict[str, Any]:
    """A cause tapped: kept on the ticket, and the technician's next text is taken as the parts."""
    ticket, _ = my_ticket(uow, ticket_id, userid)
    if ticket.status == TicketStatus.DONE:
        return current_ticket_card(uow, ticket.id, task_id=task_id, policy=policy)
    if ticket.status != TicketStatus.ON_SITE:
        raise _out_of_order(ticket)
    ticket.cause = known_cause(policy, cause)
    conversation.ask(uow, userid=userid, kind=PARTS_KIND, subject=str(ticket.id), now=now,
                     ttl=policy.conversation_ttl, data={"task_id": task_id, "response_code": response_code})
    uow.flush()
    return parts_card(ticket, _exception(uow, ticket), task_id=task_id)


def parts_of(text: str) -> str:
    typed = text.strip().strip("。.，,")
    if not typed or typed in NONE_WORDS:
        return NO_PARTS
    return typed[:MAX_PARTS_CHARS]


@dataclass(frozen=True)
class Finished:
    ticket_id: int
    changed: bool
    message: str  # for the technician


def _close_fault_alert(uow: UnitOfWork, policy: AlertPolicy, ticket: RepairTicket, userid: str,
                       now: datetime) -> None:
    """The fault's alert closes as repaired, by the technician, with the cause: not later as "条件已解除",
    which reads as if the press had mended itself. Its cards are updated in the same transaction."""
    if ticket.exception_id is None:
        return
    alert = open_alert(uow, EXCEPTION, f"exc:{ticket.exception_id}")
    if alert is None:
        return
    resolution = f"已修复（{ticket.machine or '-'}，原因：{ticket.cause or '-'}）"[:100]
    if handling.close(alert, person_id=active_person(uow, userid).id, now=now, resolution=resolution):
        queue_refresh(uow, policy, alert, now, reason="repaired")


def finish(uow: UnitOfWork, policy: AlertPolicy, *, ticket_id: int, userid: str, parts: str, now: datetime,
           cause: str | None = None) -> Finished:
    """完成 with the cause (picked before, or given here) and the parts: closes the ticket and its exception and
    tells those waiting, once; a finished ticket stays as it was."""
    ticket, _ = my_ticket(uow, ticket_id, userid)
    if ticket.status == TicketStatus.DONE:
        return Finished(ticket.id, False, f"维修工单 #{ticket.id} 已完成：{repaired_line(ticket)}。")
    if ticket.status != TicketStatus.ON_SITE:
        raise _out_of_order(ticket)
    chosen = known_cause(policy, cause) if cause is not None else ticket.cause
    if not chosen:
        raise DomainError(f"请先选择维修工单 #{ticket.id} 的故障原因：{'、'.join(policy.repair_causes)}。\n"
                          + text_hint(ticket.id, policy.repair_causes))
    step(uow, ticket_id=ticket.id, userid=userid, action="done", now=now, cause=chosen, parts=parts_of(parts))
    _close_fault_alert(uow, policy, ticket, userid, now)
    waiting = conversation.pending(uow, userid, now)
    if waiting is not None and waiting.kind == PARTS_KIND and waiting.subject == str(ticket.id):
        conversation.finish(uow, userid, PARTS_KIND)
    told = told_of_repair(uow, ticket)
    names = person_names(uow, told)
    whom = f"已通知 {'、'.join(names.get(u, u) for u in told)}。" if told else ""
    return Finished(ticket.id, True, f"已完成维修工单 #{ticket.id}：{repaired_line(ticket)}。{whom}")


def ask_parts_by_text(uow: UnitOfWork, policy: AlertPolicy, *, ticket_id: int, userid: str, cause: str,
                      now: datetime) -> str:
    """`维修单 #3 完成 液压` without parts: the cause is kept and the parts are asked for."""
    ticket, _ = my_ticket(uow, ticket_id, userid)
    if ticket.status == TicketStatus.DONE:
        return f"维修工单 #{ticket.id} 已完成：{repaired_line(ticket)}。"
    if ticket.status != TicketStatus.ON_SITE:
        raise _out_of_order(ticket)
    ticket.cause = known_cause(policy, cause)
    conversation.ask(uow, userid=userid, kind=PARTS_KIND, subject=str(ticket.id), now=now,
                     ttl=policy.conversation_ttl)
    uow.flush()
    return f"已记录维修工单 #{ticket.id} 的原因：{ticket.cause}。请回复所用备件，如「密封圈×2」；未用备件请回复「无」。"


def split_cause(policy: AlertPolicy, rest: str) -> tuple[str, str | None]:
    """"液压 密封圈×2" or "液压密封圈×2" → ("液压", "密封圈×2"); "液压" → ("液压", None)."""
    text = rest.strip()
    for cause in sorted(policy.repair_causes, key=len, reverse=True):
        if text.startswith(cause):
            parts = text[len(cause):].strip(" ，,、:：")
            return cause, parts or None
    head, _, tail = text.partition(" ")
    return known_cause(policy, head), tail.strip() or None


@dataclass(frozen=True)
class PartsAnswer:
    message: str
    finished: bool


def answer_parts(uow: UnitOfWork, policy: AlertPolicy, *, userid: str, text: str, subject: str,
                 now: datetime) -> PartsAnswer:
    """The technician's text after picking a cause: the parts. The card they tapped shows the final state."""
    waiting = conversation.pending(uow, userid, now)
    data = dict(waiting.data) if waiting is not None and waiting.kind == PARTS_KIND else {}
    conversation.finish(uow, userid, PARTS_KIND)
    try:
        ticket_id = int(subject)
    except ValueError as exc:
        raise DomainError("这张维修单已失效，请在卡片上重新点「完成」。") from exc
    try:
        if conversation.is_cancel(text):
            ticket, _ = my_ticket(uow, ticket_id, userid)
            if ticket.status != TicketStatus.DONE:
                ticket.cause = None
            return PartsAnswer(f"已取消。维修工单 #{ticket_id} 仍未完成，修好后请在卡片上点「完成」。", False)
        done = finish(uow, policy, ticket_id=ticket_id, userid=userid, parts=text, now=now)
    except DomainError as exc:
        # Said, and the question dropped with it (committed): a refusal must not take every later text too.
        return PartsAnswer(exc.message, False)
    task_id, code = data.get("task_id"), data.get("response_code")
    if done.changed and task_id and code:
        queue_message(uow, [userid], now, card=current_ticket_card(uow, ticket_id, task_id=str(task_id),
                                                                   policy=policy),
                      response_code=str(code), key=f"repair_card_done:{ticket_id}")
    return PartsAnswer(done.message, done.changed)
