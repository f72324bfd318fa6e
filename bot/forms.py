"""The quantity mini-form: an H5 page opened from the scan card, the worker known through WeCom OAuth.

GET without a session → WeCom's authorize page → back here with ?code → auth/getuserinfo → session cookie.
Each rendered form carries a one-time token bound to the worker; it is the report's source key, so a
double submit or a refreshed POST counts once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

from flask import Blueprint, current_app, render_template, request

from bot.deps import BotDeps
from bot.report_flow import ReportRequest, done_headline, points_line, record_report, undo_hint
from bot.report_parse import parse_qty
from bot.routing import Outgoing
from bot.web_auth import current_userid, login_required, page
from domain.errors import DomainError
from domain.safe_compare import safe_equal
from domain.services import reporting
from domain.tasks_registry import TaskRef
from domain.uow import run_unit

log = logging.getLogger(__name__)
bp = Blueprint("forms", __name__, url_prefix="/forms", template_folder="templates")


def _deps() -> BotDeps:
    return current_app.extensions["bot"]


_page = page


def _subject(payload: str) -> str | None:
    parts = payload.split(":")
    return parts[1][:80] if len(parts) == 3 else None


def _form_token(userid: str, nonce: str) -> str:
    key = current_app.secret_key
    assert isinstance(key, bytes | str)
    mac = hmac.new(key if isinstance(key, bytes) else key.encode(), f"{userid}:{nonce}".encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"{nonce}.{mac.hexdigest()[:20]}"


def _token_ok(userid: str, token: str) -> bool:
    nonce = token.split(".", 1)[0]
    return bool(nonce) and safe_equal(token, _form_token(userid, nonce))


@bp.get("/report")
@login_required
def report_form() -> Any:
    return _render_form(current_userid() or "", request.args.get("wo", ""))


def _render_form(userid: str, payload: str, *, error: str = "", good: str = "", defect: str = "",
                 token: str | None = None, status: int = 200) -> Any:
    deps = _deps()
    try:
        code = deps.runtime.policy.read_label(payload, deps.core.clock())
        prompt = run_unit(deps.core.session_factory, lambda uow: reporting.prepare_report(
            uow, deps.runtime.policy, work_order_code=code, userid=userid, now=deps.core.clock()), read_only=True)
    except DomainError as exc:
        return _page(400 if status == 200 else status, "无法报工", exc.message)
    token = token or _form_token(userid, secrets.token_urlsafe(12))
    # The counted quantities are the worker's to type: the inputs start empty (the remainder is only a
    # placeholder), and hold what was typed when a refusal sends the form back.
    return render_template("report_form.html", p=prompt, wo=payload, token=token, error=error,
                           good=good, defect=defect), status


@bp.post("/report")
def submit_report() -> Any:
    userid = current_userid()
    if not userid:
        return _page(401, "请重新打开", "登录已过期，请回到企业微信重新扫码打开此页面。")
    form = request.form
    payload, token = form.get("wo", ""), form.get("token", "")
    good_raw, defect_raw = form.get("good", ""), form.get("defect", "")
    started = time.perf_counter()
    if not _token_ok(userid, token):
        return _page(400, "表单已失效", "表单已失效，请回到企业微信重新扫码。")
    deps = _deps()
    outbox: list[Outgoing] = []
    tasks: list[TaskRef] = []
    try:
        good = parse_qty(good_raw.strip() or "0", "良品数量")
        defect = parse_qty(defect_raw.strip() or "0", "不良数量")
        code = deps.runtime.policy.read_label(payload, deps.core.clock())
        req = ReportRequest(code, good, defect, source_key=f"form:{token.split('.', 1)[0]}")
        # The report's follow-ups (the notice, the alert round) are registered by record_report and run
        # once the unit has committed.
        result = run_unit(deps.core.session_factory, lambda uow: record_report(
            uow, deps.runtime.policy, userid=userid, now=deps.core.clock(), req=req,
            notify=lambda users, text: outbox.append(Outgoing(tuple(users), text=text)),
            enqueue=lambda name: tasks.append(name)))
    except DomainError as exc:
        deps.core.record_action(userid, "forms.report", "user_error", started, _subject(payload))
        return _render_form(userid, payload, error=exc.message, good=good_raw, defect=defect_raw, token=token,
                            status=400)
    deps.core.record_action(userid, "forms.report", "ok", started, result.work_order_code)
    deps.core.send_later(outbox)
    for name in tasks:
        deps.core.queue.enqueue(name)
    return render_template("report_done.html", r=result, headline=done_headline(result), points=points_line(result),
                           undo=undo_hint(result))
