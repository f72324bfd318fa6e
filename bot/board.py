"""The order execution board (订单执行看板): a page that polls a JSON endpoint, an order timeline, photos.

Live updates are polling with ETags, not server-sent events: gunicorn's sync workers would each be held
by an open stream, a 304 costs almost nothing, and a client that polls simply carries on after a server
restart or a flaky Wi-Fi on the shop floor.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, astuple
from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, session
from sqlalchemy import select

from bot.deps import BotDeps
from bot.web_auth import api_refusal, current_userid, login_required, page
from domain.errors import DomainError
from domain.models import DisplayToken, Person, SalesOrder, SalesOrderLine, WorkOrder
from domain.photos import PhotoStore
from domain.services import orders
from domain.services.board import BoardFilters, board_version, build_board
from domain.services.display_tokens import find_token, find_token_by_id
from domain.services.order_timeline import order_timeline
from domain.services.people import find_person
from domain.services.visibility import NOT_YOUR_WORKSHOP, may_see_order
from domain.uow import UnitOfWork
from forecast.board import board_forecast

bp = Blueprint("board", __name__, url_prefix="/board", template_folder="templates", static_folder="static",
               static_url_path="/static")

POLL_MS = 3000
SESSION_SCREEN = "display_token_id"  # the wall screen this browser opened /board/wall as


def _deps() -> BotDeps:
    return current_app.extensions["bot"]


def _screen(uow: UnitOfWork) -> DisplayToken | None:
    """The wall screen asking: its token in the X-Display-Token header (the board's polls; a query
    parameter from pages loaded before the header was used), or the screen its wall page was opened as
    (the session cookie set there, for links and photos, which cannot carry a header). A revoked token
    is refused either way."""
    token = request.headers.get("X-Display-Token", "") or request.args.get("token", "")
    if token:
        return find_token(uow, token)
    screen_id = session.get(SESSION_SCREEN)
    return find_token_by_id(uow, screen_id) if isinstance(screen_id, int) else None


def _viewer(uow: UnitOfWork) -> tuple[Person | None, str | None, bool]:
    """(person, screen workshop, allowed): a signed-in active member, or a valid display token."""
    userid = current_userid()
    if userid:
        person = find_person(uow, userid)
        return person, None, person is not None and person.active
    screen = _screen(uow)
    if screen is not None:
        return None, screen.workshop, True
    return None, None, False


def login_or_display_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """A wall screen opens a page without WeCom; anyone else signs in."""
    signed_in = login_required(view)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_userid():
            with _deps().runtime.uow(read_only=True) as uow:
                if _screen(uow) is not None:
                    return view(*args, **kwargs)
        return signed_in(*args, **kwargs)

    return wrapper


def _filters() -> BoardFilters:
    a = request.args
    return BoardFilters(workshop=a.get("workshop", ""), customer=a.get("customer", "")[:40], stage=a.get("stage", ""),
                        status=a.get("status", ""))


@bp.get("")
@login_required
def board_page() -> Any:
    with _deps().runtime.uow(read_only=True) as uow:
        person, _, allowed = _viewer(uow)
        if not allowed or person is None:
            return page(403, "无法查看", "您的企业微信账号尚未开通 FactoryBot，请联系系统管理员。")
        return render_template("board.html", viewer=person.name, scope=person.workshop or "全厂", wall=False,
                               token="", poll_ms=POLL_MS)


@bp.get("/wall")
def wall_page() -> Any:
    token = request.args.get("token", "")
    with _deps().runtime.uow(read_only=True) as uow:
        screen = find_token(uow, token)
        if screen is None:
            session.pop(SESSION_SCREEN, None)
            return page(403, "大屏令牌无效", "该大屏链接已失效或被吊销，请联系管理员重新生成。")
        # The page sends the token in a header on its polls; the order pages and photos it links to are
        # opened by this screen's session cookie, so the token itself is in no other address.
        session[SESSION_SCREEN] = screen.id
        return render_template("board.html", viewer=screen.name, scope=screen.workshop or "全厂", wall=True,
                               token=token, poll_ms=POLL_MS)


@bp.get("/data.json")
def board_data() -> Any:
    deps = _deps()
    now, tz = deps.runtime.now(), deps.runtime.policy.tz
    filters = _filters()
    with deps.runtime.uow(read_only=True) as uow:
        person, screen_workshop, allowed = _viewer(uow)
        if not allowed:
            return api_refusal()
        # The ETag names the store's version as this viewer sees it, so an unchanged poll is a 304 before
        # any of the board is built. Read first: a change landing while the board is built shows in the
        # body and moves the next stamp, never the other way round.
        viewer = (person.id, person.workshop) if person is not None else None
        stamp = board_version(uow, now=now, tz=tz)
        etag = hashlib.sha1(repr((stamp, viewer, screen_workshop, astuple(filters))).encode()).hexdigest()[:20]
        headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
        if request.if_none_match.contains(etag):
            return Response(status=304, headers=headers)
        built = current_app.extensions.setdefault("board_bodies", _BuiltBoards())  # one per app: its own store
        body = built.get(etag)
        if body is None:
            today = deps.runtime.today()
            board = build_board(uow, today=today, tz=tz, viewer=person, token_workshop=screen_workshop,
                                filters=filters,
                                forecast=board_forecast(deps.runtime.alert_policy.forecast, now, today),
                                calendar=deps.runtime.policy.calendar, now=now)
            body = json.dumps(board.to_dict(), ensure_ascii=False, separators=(",", ":"))
            built.put(etag, body)
    return Response(body, mimetype="application/json", headers=headers)


class _BuiltBoards:
    """The last few board bodies by ETag. The ETag names everything the body depends on, so the same ETag
    is the same body: after a report, the screens and phones that poll the same view share one build
    (per process) instead of each building the board again within the same few seconds."""

    def __init__(self, size: int = 32) -> None:
        self._bodies: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, etag: str) -> str | None:
        with self._lock:
            body = self._bodies.get(etag)
            if body is not None:
                self._bodies.move_to_end(etag)
            return body

    def put(self, etag: str, body: str) -> None:
        with self._lock:
            self._bodies[etag] = body
            self._bodies.move_to_end(etag)
            while len(self._bodies) > self._size:
                self._bodies.popitem(last=False)



@bp.get("/order/<bill_no>")
@login_or_display_token
def order_page(bill_no: str) -> Any:
    deps = _deps()
    bill_no = bill_no.strip().upper()
    with deps.runtime.uow(read_only=True) as uow:
        person, screen, allowed = _viewer(uow)
        if not allowed:
            return page(403, "无法查看", "您的企业微信账号尚未开通 FactoryBot，请联系系统管理员。")
        try:
            progress = orders.order_progress(uow, bill_no, today=deps.runtime.today(), tz=deps.runtime.policy.tz)
        except DomainError as exc:
            return page(404, "没有这张订单", exc.message)
        if not may_see_order(uow, bill_no, person=person, screen_workshop=screen):
            return page(403, "无法查看", NOT_YOUR_WORKSHOP)
        events = order_timeline(uow, bill_no)
    tz = deps.runtime.policy.tz
    return render_template("order.html", p=progress, events=events, tz=tz,
                           lines=[asdict(line) for line in progress.lines], signed_in=person is not None)


@bp.get("/wo/<code>")
@login_required
def work_order_page(code: str) -> Any:
    with _deps().runtime.uow(read_only=True) as uow:
        bill_no = uow.session.scalar(
            select(SalesOrder.bill_no).join(SalesOrderLine).join(WorkOrder).where(WorkOrder.code == code.upper()))
    if bill_no is None:
        return page(404, "没有这张工单", f"工单 {code} 不存在。")
    return redirect(f"/board/order/{bill_no}")


@bp.get("/photo/<path:relpath>")
def photo(relpath: str) -> Any:
    deps = _deps()
    with deps.runtime.uow(read_only=True) as uow:
        _, _, allowed = _viewer(uow)
    if not allowed:
        return api_refusal()
    store: PhotoStore = deps.core.tools.photo_store
    try:
        data = store.open(relpath)
    except DomainError:
        abort(404)
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})
