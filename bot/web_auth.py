"""Who is looking at a page opened inside WeCom: OAuth (snsapi_base) once, then a signed session cookie.

Shared by the mini-form and the board, so every page signs people in the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, session
from werkzeug.wrappers import Response as WerkzeugResponse

from domain.safe_compare import safe_equal
from wecom.errors import TransientError, WeComAPIError

SESSION_USER = "wecom_userid"
SESSION_STATE = "oauth_state"

bp = Blueprint("auth", __name__)


def page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("message.html", title=title, message=message), status


def authorize_redirect() -> WerkzeugResponse:
    s = current_app.extensions["bot"].settings
    state = secrets.token_urlsafe(12)
    session[SESSION_STATE] = state
    back = f"{s.public_url.rstrip('/')}{request.full_path.rstrip('?')}"
    query = urlencode({"appid": s.wecom_corp_id, "redirect_uri": back, "response_type": "code",
                       "scope": "snsapi_base", "state": state, "agentid": s.wecom_agent_id})
    return redirect(f"{s.wecom_oauth_base.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect")


def sign_in(code: str) -> str | tuple[str, int]:
    """The member behind an OAuth code, or an error page. Only for a login this browser started (see
    login_required): the code alone says who WeCom signed in, not who is holding this browser."""
    try:
        userid = current_app.extensions["bot"].client.userid_from_oauth_code(code)
    except WeComAPIError:
        return page(403, "身份验证失败", "企业微信身份验证失败，请回到企业微信重新打开此页面。")
    except TransientError:
        return page(503, "请稍后再试", "暂时无法连接企业微信，请稍后刷新页面。")
    if not userid:
        return page(403, "无法使用", "此页面仅限本企业成员使用。")
    return userid


def started_here() -> bool:
    """Whether the code in this address answers a login this browser started: the state WeCom echoes
    back must be the one authorize_redirect kept in this session. Single use (popped either way), so a
    replayed or foreign link never matches; an empty or missing state on either side never matches."""
    expected = session.pop(SESSION_STATE, None)
    given = request.args.get("state", "")
    return isinstance(expected, str) and bool(expected) and bool(given) and safe_equal(given, expected)


def current_userid() -> str | None:
    return session.get(SESSION_USER)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """HTML pages: sign in through WeCom first, then come back to the same address without the code."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        code = request.args.get("code")
        if code:
            # Drop code/state from the address so a reload does not replay a used code.
            rest = {k: v for k, v in request.args.items() if k not in ("code", "state")}
            clean = redirect(f"{request.path}?{urlencode(rest)}" if rest else request.path)
            if not started_here():
                # Someone else's code (a link sent to this person): never sign in with it. A signed-in
                # person stays who they are and just gets the page; anyone else is told to reopen it.
                if current_userid():
                    return clean
                return page(400, "链接已失效", "登录状态已失效，请回到企业微信重新打开此页面。")
            who = sign_in(code)
            if not isinstance(who, str):
                return who
            session.clear()  # a new identity starts a new session: nothing of the previous one carries over
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME, counted from this sign-in
            session[SESSION_USER] = who
            return clean
        if not current_userid():
            return authorize_redirect()
        return view(*args, **kwargs)

    return wrapper


def api_refusal() -> tuple[Response, int]:
    return jsonify({"error": "未登录或登录已过期，请在企业微信中重新打开页面。"}), 401


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> tuple[str, int]:
    """Sign this browser out (a shared phone at the end of a shift): the session cookie is emptied."""
    session.clear()
    return page(200, "已退出登录", "您已退出登录。再次打开页面时需重新通过企业微信验证身份。")
