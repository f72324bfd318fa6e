"""KIS同步 / KIS回写 / KIS状态 for administrators: run the sync now, or see where it stands.

The pull and push talk to KIS, which may take minutes or time out, so they leave the callback as tasks;
their result comes back to the asker as a message. The status reads FactoryBot's own store only.
"""

from __future__ import annotations

from datetime import date

from bot.routing import Ctx, Routes
from bot.task_refs import KIS_PULL, KIS_PUSH
from domain.errors import DomainError
from domain.vocab import Role
from kis.status import kis_status
from kis.texts import status_text
from wecom.inbound import TextMsg
from wecom.replies import Reply, Text

routes = Routes("kis_admin")


@routes.text(r"KIS\s*(?P<cmd>同步|拉单|回写|状态)(?:\s+(?P<since>\d{4}-\d{1,2}-\d{1,2}))?", roles=(Role.ADMIN,), read_only=True,
             help="KIS同步 [起始日期] / KIS回写 / KIS状态：立即从 KIS 拉取订单、回写完工，或查看同步状态")
def kis_command(msg: TextMsg, ctx: Ctx) -> Reply:
    cmd = ctx.match["cmd"]
    if cmd == "状态":
        st = kis_status(ctx.uow, configured=None, now=ctx.now)
        return Text(status_text(st, ctx.policy.tz, ctx.now))
    if cmd == "回写":
        ctx.enqueue(KIS_PUSH, requested_by=ctx.userid, scheduled=False)
        return Text("已开始向 KIS 回写完工，完成后把结果发给您。")
    since = ctx.match.get("since")
    if since:
        try:
            since = date.fromisoformat("-".join(p.zfill(2) for p in since.split("-"))).isoformat()
        except ValueError:
            raise DomainError(f"日期「{since}」无效，例如：KIS同步 2026-11-01") from None
    ctx.enqueue(KIS_PULL, requested_by=ctx.userid, since=since)
    return Text("已开始从 KIS 同步订单，完成后把结果发给您。")
