"""Repair tickets from WeCom: 接单 / 到场 / 完成 on the card (完成 asks for the cause, then the parts),
`我的维修单`, `维修单 #3` (its card again) and `维修单 #3 完成 液压 密封圈×2`."""

from __future__ import annotations

from alerts import repair, repair_close
from alerts.repair_list import resend_ticket, ticket_page
from alerts.repair_notice import NO_PARTS
from bot.routing import Ctx, Routes
from bot.task_refs import ALERTS_DELIVER, ALERTS_TICK
from domain.errors import DomainError
from domain.vocab import Role
from wecom.inbound import CardClick, Inbound
from wecom.replies import NoReply, Reply, Text, UpdateCard

routes = Routes("repairs")

ROLES = (Role.TECHNICIAN, Role.MAINTENANCE_LEAD)
TICKET = r"(?:维修单|维修工单)\s*[#＃]\s*(?P<ticket_id>\d{1,9})"



def _card(ctx: Ctx, msg: CardClick, ticket_id: int) -> Reply:
    return UpdateCard(repair.current_ticket_card(ctx.uow, ticket_id, task_id=msg.task_id,
                                                 policy=ctx.tools.alert_policy))


@routes.card(key_prefix="repair:noop:")
def finished_repair(msg: CardClick, ctx: Ctx) -> Reply:
    return NoReply()


def _ticket_step(msg: CardClick, ctx: Ctx, action: str) -> Reply:
    step = repair.step(ctx.uow, ticket_id=ctx.card_record_id(), userid=ctx.userid, action=action, now=ctx.now)
    return _card(ctx, msg, step.ticket_id)


@routes.card(key_prefix="repair:accept:")
def repair_accept(msg: CardClick, ctx: Ctx) -> Reply:
    return _ticket_step(msg, ctx, "accept")


@routes.card(key_prefix="repair:arrive:")
def repair_arrive(msg: CardClick, ctx: Ctx) -> Reply:
    return _ticket_step(msg, ctx, "arrive")


@routes.card(key_prefix="repair:done:")
def repair_done(msg: CardClick, ctx: Ctx) -> Reply:
    """完成 (or 重选原因): the card now asks why it broke."""
    return UpdateCard(repair_close.ask_cause(ctx.uow, ctx.tools.alert_policy, ticket_id=ctx.card_record_id(),
                                             userid=ctx.userid, task_id=msg.task_id))


@routes.card(key_prefix="repair:cause:")
def repair_cause(msg: CardClick, ctx: Ctx) -> Reply:
    ticket_id, _, cause = ctx.match["arg"].partition(":")
    if not ticket_id.isdigit() or not cause:
        raise DomainError("卡片已失效。")
    # The tap's response code is kept with the question, so the card can show the final state when the
    # parts are typed (a text gets no passive card update).
    return UpdateCard(repair_close.choose_cause(ctx.uow, ctx.tools.alert_policy, ticket_id=int(ticket_id),
                                                userid=ctx.userid, cause=cause, task_id=msg.task_id,
                                                response_code=msg.response_code, now=ctx.now))


def _finished(ctx: Ctx, done: repair_close.Finished) -> None:
    if done.changed:
        ctx.enqueue(ALERTS_TICK)  # the exception is closed: its alert clears at once; the notices go out


@routes.card(key_prefix="repair:noparts:")
def repair_no_parts(msg: CardClick, ctx: Ctx) -> Reply:
    done = repair_close.finish(ctx.uow, ctx.tools.alert_policy, ticket_id=ctx.card_record_id(), userid=ctx.userid,
                               parts=NO_PARTS, now=ctx.now)
    _finished(ctx, done)
    if done.changed:
        ctx.send_text([ctx.userid], done.message)
    return _card(ctx, msg, done.ticket_id)


@routes.answer(repair_close.PARTS_KIND)
def repair_parts(msg: Inbound, ctx: Ctx) -> Reply:
    answer = repair_close.answer_parts(ctx.uow, ctx.tools.alert_policy, userid=ctx.userid,
                                       text=ctx.match["text"], subject=ctx.match["subject"], now=ctx.now)
    if answer.finished:
        ctx.enqueue(ALERTS_TICK)
    return Text(answer.message)


@routes.text(r"(?:我的)?(?:维修单|维修工单)(?:\s*第?\s*(?P<page>\d{1,4})\s*页?)?", roles=ROLES, read_only=True,
             help="我的维修单：查看派给您的未完成维修单（维修单 #3：收到该维修单的卡片，可接单、到场、完成）")
def my_tickets(msg: Inbound, ctx: Ctx) -> Reply:
    return Text(ticket_page(ctx.uow, person=ctx.user, page=int(ctx.match.get("page") or 1), now=ctx.now))


@routes.text(r"(?:我的)?" + TICKET, roles=ROLES)
def ticket_card_again(msg: Inbound, ctx: Ctx) -> Reply:
    message = resend_ticket(ctx.uow, ctx.tools.alert_policy, ticket_id=int(ctx.match["ticket_id"]),
                            person=ctx.user, now=ctx.now, request_key=ctx.key)
    ctx.enqueue(ALERTS_DELIVER)
    return Text(message)


@routes.text(TICKET + r"\s*完成\s*(?P<rest>.*)", roles=ROLES,
             help="维修单 #3 完成 液压 密封圈×2：记录原因和所用备件并完成维修单（未用备件写「无」）")
def close_by_text(msg: Inbound, ctx: Ctx) -> Reply:
    policy = ctx.tools.alert_policy
    ticket_id = int(ctx.match["ticket_id"])
    rest = ctx.match.get("rest", "").strip()
    if not rest:
        return Text(f"请写明原因和所用备件，如「维修单 #{ticket_id} 完成 {policy.repair_causes[0]} 密封圈×2」"
                    f"（原因可选：{'、'.join(policy.repair_causes)}；未用备件写「无」）。")
    cause, parts = repair_close.split_cause(policy, rest)
    if parts is None:
        return Text(repair_close.ask_parts_by_text(ctx.uow, policy, ticket_id=ticket_id, userid=ctx.userid,
                                                   cause=cause, now=ctx.now))
    done = repair_close.finish(ctx.uow, policy, ticket_id=ticket_id, userid=ctx.userid, parts=parts,
                               now=ctx.now, cause=cause)
    _finished(ctx, done)
    return Text(done.message)


# No roles: WeCom shows the menu to everyone, so a worker's tap is answered with what the button is for.
@routes.menu("my_repairs", name="我的维修单", under="我的", position=23, read_only=True)
def my_tickets_from_menu(msg: Inbound, ctx: Ctx) -> Reply:
    return my_tickets(msg, ctx)
