"""我的班组: a team lead's (or a crew member's, or a supervisor's) view of the crew in its shift."""

from __future__ import annotations

from bot.routing import Ctx, Routes
from domain.services.crew import CrewView, crew_view
from domain.vocab import TicketStatus
from wecom.inbound import Inbound
from wecom.replies import Reply, Text

routes = Routes("crew")

MAX_LINES = 10
TICKET_LABELS = {TicketStatus.OPEN: "待接单", TicketStatus.ACCEPTED: "已接单", TicketStatus.ON_SITE: "维修中",
                 TicketStatus.DONE: "已完成"}


def _listed(title: str, lines: list[str]) -> list[str]:
    if not lines:
        return [f"{title}：无"]
    more = [f"……另有 {len(lines) - MAX_LINES} 条"] if len(lines) > MAX_LINES else []
    return [f"{title} {len(lines)}：", *lines[:MAX_LINES], *more]


def crew_text(v: CrewView) -> str:
    whose = "您的班组" if v.own else "当班班组"
    when = "当班" if v.on_shift else "不在班，上一班"
    head = f"{whose}：{v.crew.name}（{when} {v.shift.label} {v.shift.hours_text}）"
    lines = [head, f"班组长：{v.lead_name or '未设'}"]
    reported = sum(1 for m in v.members if m.reports)
    lines.append(f"成员 {len(v.members)} 人，本班已报工 {reported} 人：")
    for m in v.members:
        name = f"{m.name}（班组长）" if m.lead else m.name
        if m.reports:
            defect = f" 不良 {m.defect}" if m.defect else ""
            lines.append(f"· {name} 报工 {m.reports} 次 良品 {m.good}{defect}")
        else:
            lines.append(f"· {name} 未报工")
    where = v.workshop or "全厂"
    presses = [f"· {p.machine} 计划 {p.planned} 良品 {p.good}" + (f"（{p.pct:.0f}%）" if p.pct is not None else "")
               for p in v.presses]
    lines += _listed(f"{where}本班机台", presses)
    lines += _listed(f"{where}在制工单", [f"· {o.machine or '-'} {o.code} {o.product} {o.good}/{o.planned}"
                                       for o in v.running])
    lines += _listed("未关闭异常", [f"· #{e.id} {e.type} {e.work_order or ''} {e.status}".replace("  ", " ")
                                 for e in v.exceptions])
    lines += _listed("未完成维修单", [f"· #{r.id} {r.machine or '-'} {TICKET_LABELS[r.status]}" for r in v.repairs])
    return "\n".join(lines)


@routes.text(r"我的班组|班组", read_only=True, help="我的班组：当班班组的成员、本班报工和机台上未完成的事")
def my_crew(msg: Inbound, ctx: Ctx) -> Reply:
    return Text(crew_text(crew_view(ctx.uow, ctx.policy.calendar, ctx.userid, now=ctx.now)))
