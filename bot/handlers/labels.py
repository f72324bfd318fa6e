"""打印标签 in chat for team leads: a PDF sheet of work-order QR labels comes back as a file."""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.routing import Ctx, Routes
from domain.errors import DomainError
from domain.services.labels import select_work_orders
from domain.vocab import Role
from reports.labels import LABELS_PER_SHEET, pages_needed, render_label_sheet
from wecom.inbound import TextMsg
from wecom.replies import Reply, Text

routes = Routes("labels")

USAGE = ("打印标签格式：\n· 打印标签 WO20261126-01 WO20261126-02（指定工单）\n· 打印标签 SEORD000123（订单的全部工单）\n"
         "· 打印标签 明天 / 今天 / 2026-11-26（当天计划开工的工单）")
_DAY_WORDS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2}
_BILL = re.compile(r"^SEORD\d+$", re.IGNORECASE)


def _selection(tokens: list[str], today: date) -> tuple[list[str], str | None, date | None]:
    codes: list[str] = []
    bill_no: str | None = None
    day: date | None = None
    for tok in tokens:
        if tok in _DAY_WORDS:
            day = today + timedelta(days=_DAY_WORDS[tok])
        elif re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", tok):
            try:
                day = date.fromisoformat("-".join(p.zfill(2) for p in tok.split("-")))
            except ValueError:
                raise DomainError(f"日期「{tok}」无效。\n{USAGE}") from None
        elif _BILL.match(tok):
            bill_no = tok.upper()
        else:
            codes.append(tok.upper())
    if not (codes or bill_no or day):
        raise DomainError(USAGE)
    return codes, bill_no, day


@routes.text(r"(?:打印)?标签(?P<rest>(?:\s.*)?)", defer="正在生成标签，请稍候……", read_only=True,
             roles=(Role.TEAM_LEAD, Role.SUPERVISOR, Role.OPS_MANAGER, Role.ADMIN),
             help="打印标签 工单号/订单号/明天：生成工单二维码标签 PDF（A4 14 格标签纸）")
def print_labels(msg: TextMsg, ctx: Ctx) -> Reply:
    codes, bill_no, day = _selection(ctx.match.get("rest", "").replace("，", " ").replace(",", " ").split(), ctx.today)
    labels = select_work_orders(ctx.uow, codes=codes, bill_no=bill_no, planned_day=day, tz=ctx.policy.tz,
                                today=ctx.today)
    name = f"工单标签-{bill_no or (day.isoformat() if day else labels[0].code)}.pdf"
    # Rendering takes seconds: after the commit, so no transaction stays open through it.
    ctx.uow.after_commit(lambda: ctx.send_file([ctx.userid], name, render_label_sheet(labels, ctx.policy.label_key)))
    return Text(f"已生成 {len(labels)} 张工单标签，共 {pages_needed(len(labels))} 页 A4（每页 {LABELS_PER_SHEET} 张），"
                f"请查收文件并用 A4 {LABELS_PER_SHEET} 格标签纸打印。\n工单：{'、'.join(label.code for label in labels[:20])}")
