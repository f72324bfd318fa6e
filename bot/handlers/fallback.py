"""Whatever no other route took: a short pointer to 帮助, never silence."""

from __future__ import annotations

from bot.routing import Ctx, Routes
from wecom.inbound import Inbound
from wecom.replies import NoReply, Reply, Text

routes = Routes("fallback")

# Events the app receives but need no answer (WeCom sends LOCATION every few seconds when enabled).
SILENT_KINDS = {"location_event", "view"}


@routes.fallback(read_only=True, yields=True)
def fallback(msg: Inbound, ctx: Ctx) -> Reply:
    if msg.kind in SILENT_KINDS:
        return NoReply()
    return Text("暂时无法识别这条消息。发送「帮助」查看可用功能，或直接发送订单号/客户名称查询进度。")
