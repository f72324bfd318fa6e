"""Who is looking at a page opened inside WeCom: OAuth (snsapi_base) once, then a signed session cookie.

Shared by the mini-form and the board, so every page signs people in the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, jsonify, redirect, render_template, request, session

from bot.wecom.errors import TransientError, WeComAPIError

SESSION_USER = "wecom_userid"
SESSION_STATE = "oauth_state"


def page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("message.html", title=title, message=message), status


def authorize_redirect() -> Response:
    s = current_app.extensions["bot"].settings
    state = secrets.token_urlsafe(12)
    session[SESSION_STATE] = state
    back = f"{s.public_url.rstrip('/')}{request.full_path.rstrip('?')}"
    query = urlencode({"appid": s.wecom_corp_id, "redirect_uri": back, "response_type": "code",
                       "scope": "snsapi_base", "state": state, "agentid": s.wecom_agent_id})
    return redirect(f"{s.wecom_oauth_base.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect")


def sign_in(code: str) -> str | tuple[str, int]:
    """The member behind an OAuth code, or an error page."""
    if request.args.get("state") != session.pop(SESSION_STATE, None):
        return page(400, "链接已失效", "登录状态已失效，请回到企业微信重新打开此页面。")
    try:
        userid = current_app.extensions["bot"].client.userid_from_oauth_code(code)
    except WeComAPIError:
        return page(403, "身份验证失败", "企业微信身份验证失败，请回到企业微信重新打开此页面。")
    except TransientError:
        return page(503, "请稍后再试", "暂时无法连接企业微信，请稍后刷新页面。")
    if not userid:
        return page(403, "无法使用", "此页面仅限本企业成员使用。")
    return userid


def current_userid() -> str | None:
    return session.get(SESSION_USER)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """HTML pages: sign in through WeCom first, then come back to the same address without the code."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        code = request.args.get("code")
        if code:
            who = sign_in(code)
            if not isinstance(who, str):
                return who
            session[SESSION_USER] = who
            # Drop code/state from the address so a reload does not replay a used code.
            rest = {k: v for k, v in request.args.items() if k not in ("code", "state")}
            return redirect(f"{request.path}?{urlencode(rest)}" if rest else request.path)
        if not current_userid():
            return authorize_redirect()
        return view(*args, **kwargs)

    return wrapper


def api_refusal() -> tuple[Response, int]:
    return jsonify({"error": "未登录或登录已过期，请在企业微信中重新打开页面。"}), 401
