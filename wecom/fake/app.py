"""A local fake of the WeCom server API, for tests and the demo.

It follows WeCom's observable contract closely enough to catch our mistakes: access tokens
with 40014 on unknown tokens, per-type message validation, single-use 72 h response codes,
media size limits, JSON errors with HTTP 200 from media/get, single-use OAuth codes. Under
/_fake/ are control endpoints that WeCom does not have: call log, reset, fault injection,
OAuth code minting, media staging.

message/send honours WeCom's duplicate check: with `enable_duplicate_check: 1`, a message identical to one
this agent delivered within `duplicate_check_interval` seconds (default 1800, at most 14400) — same msgtype
and content (card), same touser/toparty/totag — is answered errcode 0 with the first one's msgid but not
delivered again. It is logged with `"duplicate": true` and left out of /_fake/calls unless asked for with
`?duplicates=1`, so /_fake/calls lists what people actually received.

/_fake/faults takes {"path", "errcode" | "http_status", "delay", "count", "errmsg", "from_ip", "touser",
"after"}: the next `count` calls to `path` (only those addressed to `touser`, when given) fail with the
errcode or HTTP status, or stall `delay` seconds first. With `"after": true` the call is performed and
logged as usual and only then is the answer held back `delay` seconds: a timeout on a send that in fact
went through.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask, Response, jsonify, redirect, request

from wecom.cards import INTERACTIVE_CARD_TYPES, validate_card
from wecom.fake.directory import Directory, DirectoryError
from wecom.fake.menu import E_MENU_NOT_FOUND, MenuRefused, check_menu

TOKEN_TTL = 7200
RESPONSE_CODE_TTL = 72 * 3600
MEDIA_TTL = 3 * 24 * 3600
OAUTH_CODE_TTL = 300
MAX_TEXT_BYTES = 2048
MEDIA_LIMITS = {
    "image": 10 * 1024 * 1024,
    "voice": 2 * 1024 * 1024,
    "video": 10 * 1024 * 1024,
    "file": 20 * 1024 * 1024,
}
MSG_TYPES = frozenset({"text", "markdown", "template_card", "file", "image", "textcard", "news"})

# errcodes as WeCom documents them (path/90313), except where noted.
E_INVALID_SECRET = 40001
E_INVALID_MEDIA_TYPE = 40004
E_INVALID_FILE_SIZE = 40006
E_INVALID_MEDIA_ID = 40007
E_INVALID_MSG_TYPE = 40008
E_INVALID_CORPID = 40013
E_INVALID_TOKEN = 40014
E_INVALID_CODE = 40029
E_INVALID_AGENTID = 40056
E_INVALID_PARAM = 40058
E_INVALID_RESPONSE_CODE = 40080  # stand-in: WeCom's exact code for a spent response_code is undocumented
E_MISSING_TOKEN = 41001
E_TOKEN_EXPIRED = 42001
E_CONTENT_TOO_LONG = 45002
E_USER_NOT_FOUND = 60111
E_NO_PRIVILEGE = 60011
E_ALL_RECIPIENTS_INVALID = 81013
E_IP_NOT_TRUSTED = 60020
E_API_FORBIDDEN = 48002
E_INVALID_SUITE_TOKEN = 40082
E_NOT_THIS_AGENT = 301002

# What WeCom answers for the refusals a go-live meets. 60020's shape (with the caller's address) is as
# reported in easychen/wecomchan#62 and zhayujie/CowAgent#1728; the others are short stand-ins, since our
# client goes by errcode as WeCom's docs ask. {ip} is the caller's address, {hint} a request id.
FAULT_ERRMSGS = {
    E_IP_NOT_TRUSTED: "not allow to access from your ip, hint: [{hint}], from ip: {ip}, "
                      "more info at https://open.work.weixin.qq.com/devtool/query?e=60020",
    E_API_FORBIDDEN: "api forbidden, hint: [{hint}], more info at https://open.work.weixin.qq.com/devtool/query?e=48002",
    E_ALL_RECIPIENTS_INVALID: "user & party & tag all invalid, hint: [{hint}]",
    E_INVALID_SUITE_TOKEN: "invalid suite_token, hint: [{hint}]",
    E_NOT_THIS_AGENT: "not allow operate another agent with this accesstoken., hint: [{hint}]",
}


class _Duplicate(Exception):
    """message/send of a message the duplicate check says was delivered already: errcode 0, not delivered."""

    def __init__(self, msgid: str) -> None:
        super().__init__(msgid)
        self.msgid = msgid


class _Fail(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class _Fault:
    errcode: int | None
    http_status: int | None
    delay: float
    count: int
    errmsg: str | None = None
    from_ip: str | None = None  # the address 60020 names; the caller's own by default
    touser: str | None = None  # only calls addressed to this member (lowercased) take the fault
    after: bool = False  # perform the call, then hold the answer back `delay` seconds


MAX_DUPLICATE_CHECK_INTERVAL = 4 * 3600
DEFAULT_DUPLICATE_CHECK_INTERVAL = 1800


@dataclass
class _State:
    token: str | None = None
    token_expires: float = 0.0
    revoked: set[str] = field(default_factory=set)
    calls: list[dict[str, Any]] = field(default_factory=list)
    response_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    oauth_codes: dict[str, tuple[str, float]] = field(default_factory=dict)
    faults: dict[str, list[_Fault]] = field(default_factory=dict)
    # What each delivered message looked like → (when, msgid), for the duplicate check.
    delivered: dict[str, tuple[float, str]] = field(default_factory=dict)
    msg_seq: int = 0
    menu: list[dict[str, Any]] | None = None  # the agent's menu once menu/create succeeded
    # Members message/send accepts a message for but does not reach (lowercased userids; party ids).
    unlicensed: set[str] = field(default_factory=set)
    out_of_range: set[str] = field(default_factory=set)
    no_account: set[str] = field(default_factory=set)
    invalid_parties: set[str] = field(default_factory=set)


LOGIN_COOKIE = "fake_wecom_user"


def _ok(**extra: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **extra}


def create_fake_wecom(
    corp_id: str,
    secret: str,
    agent_id: int,
    users: Mapping[str, str] | None = None,
    *,
    strict_users: bool = False,
    clock: Callable[[], float] = time.time,
    directory: Directory | None = None,
) -> Flask:
    """Build the fake. `users` maps userid → name; unknown users still receive messages
    unless strict_users=True. `clock` lets tests age tokens, codes and media. `directory` is the
    address book (default: every user in the root department); /_fake/reset restores it."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024  # above WeCom's limits so we can report them
    known_users = {k.lower(): (k, v) for k, v in (users or {}).items()}
    state = _State()
    lock = threading.Lock()
    initial_directory = directory or Directory.flat(dict(users or {}))
    book = {"directory": initial_directory}
    app.extensions["fakewecom"] = {"state": state, "lock": lock, "book": book}

    # --- helpers (call with the lock held) --------------------------------------------------

    def check_token() -> None:
        token = request.args.get("access_token", "")
        if not token:
            raise _Fail(E_MISSING_TOKEN, "access_token missing")
        if token != state.token or token in state.revoked:
            raise _Fail(E_INVALID_TOKEN, "invalid access_token")
        if clock() >= state.token_expires:
            raise _Fail(E_TOKEN_EXPIRED, "access_token expired")

    def user_known(userid: str) -> bool:
        return userid.lower() in known_users

    def mint_response_code(kind: str, userids: list[str], task_id: str | None) -> str:
        code = secrets.token_urlsafe(24)
        state.response_codes[code] = {
            "created": clock(),
            "used": False,
            "kind": kind,
            "userids": userids,
            "task_id": task_id,
        }
        return code

    def store_media(kind: str, data: bytes, filename: str, content_type: str | None) -> str:
        media_id = "MEDIA_" + secrets.token_urlsafe(18)
        ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        state.media[media_id] = {
            "type": kind,
            "data": data,
            "filename": filename,
            "content_type": ctype,
            "created": clock(),
        }
        return media_id

    def require_media(media_id: object) -> None:
        item = state.media.get(str(media_id)) if media_id else None
        if item is None or clock() - item["created"] > MEDIA_TTL:
            raise _Fail(E_INVALID_MEDIA_ID, "invalid media_id")

    def take_fault(path: str) -> _Fault | None:
        queue = state.faults.get(path)
        if not queue:
            return None
        body = json_body()
        addressed = {u.lower() for u in str(body.get("touser") or "").split("|")} if isinstance(body, dict) else set()
        for fault in queue:
            if fault.touser is None or fault.touser in addressed:
                fault.count -= 1
                if fault.count <= 0:
                    queue.remove(fault)
                return fault
        return None

    def fault_errmsg(fault: _Fault) -> str:
        if fault.errmsg is not None:
            return fault.errmsg
        template = FAULT_ERRMSGS.get(fault.errcode or 0, "fault injected")
        return template.format(ip=fault.from_ip or request.remote_addr, hint=secrets.randbelow(10**25))

    def json_body() -> Any:
        # wechatpy posts JSON without a JSON content type; multipart must not be read as JSON.
        if request.mimetype == "multipart/form-data" or request.method != "POST":
            return None
        return request.get_json(force=True, silent=True)

    def record(path: str, body: Any, touser: list[str], status: int, errcode: int | None,
               duplicate: bool = False) -> None:
        params = {k: v for k, v in request.args.items() if k not in ("access_token", "corpsecret")}
        files = {}
        if request.mimetype == "multipart/form-data":
            files = {
                name: {"filename": f.filename, "mimetype": f.mimetype} for name, f in request.files.items()
            }
        state.calls.append(
            {
                "path": path,
                "json": body,
                "params": params,
                "files": files,
                "time": clock(),
                "touser": touser,
                "status": status,
                "errcode": errcode,
                "duplicate": duplicate,
            }
        )

    # --- message/send validation ----------------------------------------------------------

    def validate_send(body: dict[str, Any]) -> tuple[list[str], list[str]]:
        if body.get("agentid") is None or str(body.get("agentid")) != str(agent_id):
            raise _Fail(E_INVALID_AGENTID, "invalid agentid")
        touser = [u for u in str(body.get("touser") or "").split("|") if u]
        toparty = [p for p in str(body.get("toparty") or "").split("|") if p]
        if not touser and not toparty:
            raise _Fail(E_ALL_RECIPIENTS_INVALID, "user & party & tag all invalid")
        invalid = [u for u in touser if (strict_users and not user_known(u))
                   or u.lower() in state.out_of_range or u.lower() in state.no_account]
        bad_parties = [p for p in toparty if p in state.invalid_parties]
        if len(invalid) == len(touser) and len(bad_parties) == len(toparty):
            raise _Fail(E_ALL_RECIPIENTS_INVALID, "user & party & tag all invalid")
        msgtype = body.get("msgtype")
        if msgtype not in MSG_TYPES:
            raise _Fail(E_INVALID_MSG_TYPE, f"invalid message type {msgtype!r}")
        part = body.get(msgtype)
        if not isinstance(part, dict):
            raise _Fail(E_INVALID_PARAM, f"missing {msgtype}")
        if msgtype in ("text", "markdown"):
            content = part.get("content")
            if not isinstance(content, str) or not content:
                raise _Fail(E_INVALID_PARAM, "content empty")
            if len(content.encode("utf-8")) > MAX_TEXT_BYTES:
                raise _Fail(E_CONTENT_TOO_LONG, "content size out of limit")
        elif msgtype in ("file", "image"):
            require_media(part.get("media_id"))
        elif msgtype == "textcard":
            for key in ("title", "description", "url"):
                if not part.get(key):
                    raise _Fail(E_INVALID_PARAM, f"textcard.{key} missing")
        elif msgtype == "news":
            articles = part.get("articles")
            if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
                raise _Fail(E_INVALID_PARAM, "news.articles must have 1..8 items")
        elif msgtype == "template_card":
            try:
                validate_card(part)
            except ValueError as exc:
                raise _Fail(E_INVALID_PARAM, f"invalid template_card: {exc}") from exc
        return touser, invalid

    def duplicate_key(body: dict[str, Any]) -> str:
        msgtype = body.get("msgtype")
        recipients = [sorted(u.lower() for u in str(body.get(f) or "").split("|") if u)
                      for f in ("touser", "toparty", "totag")]
        return json.dumps([str(body.get("agentid")), msgtype, body.get(msgtype), recipients], sort_keys=True,
                          ensure_ascii=False)

    def duplicate_of(body: dict[str, Any]) -> str | None:
        """The msgid of the identical message delivered within the interval, when the check is asked for."""
        if str(body.get("enable_duplicate_check") or "0") != "1":
            return None
        interval = int(body.get("duplicate_check_interval") or DEFAULT_DUPLICATE_CHECK_INTERVAL)
        if not 0 < interval <= MAX_DUPLICATE_CHECK_INTERVAL:
            raise _Fail(E_INVALID_PARAM, "invalid duplicate_check_interval")
        seen = state.delivered.get(duplicate_key(body))
        return seen[1] if seen is not None and clock() - seen[0] < interval else None

    def handle_send(body: dict[str, Any]) -> dict[str, Any]:
        touser, invalid = validate_send(body)
        first = duplicate_of(body)
        if first is not None:
            raise _Duplicate(first)
        state.msg_seq += 1
        result = _ok(msgid=f"fake-msg-{state.msg_seq}-{secrets.token_hex(4)}")
        state.delivered[duplicate_key(body)] = (clock(), result["msgid"])
        # WeCom answers errcode 0 and names, lowercased and "|"-joined, whom the message did not reach.
        unlicensed = [u for u in touser if u.lower() in state.unlicensed and u not in invalid]
        if invalid:
            result["invaliduser"] = "|".join(u.lower() for u in invalid)
        if unlicensed:
            result["unlicenseduser"] = "|".join(u.lower() for u in unlicensed)
        bad_parties = [p for p in str(body.get("toparty") or "").split("|") if p in state.invalid_parties]
        if bad_parties:
            result["invalidparty"] = "|".join(bad_parties)
        if body["msgtype"] == "template_card":
            card = body["template_card"]
            if card.get("card_type") in INTERACTIVE_CARD_TYPES or card.get("action_menu"):
                valid = [u for u in touser if u not in invalid and u not in unlicensed]
                result["response_code"] = mint_response_code("send", valid, card.get("task_id"))
        return result

    def handle_update(body: dict[str, Any]) -> dict[str, Any]:
        if str(body.get("agentid")) != str(agent_id):
            raise _Fail(E_INVALID_AGENTID, "invalid agentid")
        code = str(body.get("response_code") or "")
        entry = state.response_codes.get(code)
        if entry is None or entry["used"] or clock() - entry["created"] >= RESPONSE_CODE_TTL:
            raise _Fail(E_INVALID_RESPONSE_CODE, "invalid response_code")
        card = body.get("template_card")
        button = body.get("button")
        if card is not None:
            try:
                validate_card(card)
            except ValueError as exc:
                raise _Fail(E_INVALID_PARAM, f"invalid template_card: {exc}") from exc
        elif not isinstance(button, dict) or not button.get("replace_name"):
            raise _Fail(E_INVALID_PARAM, "button.replace_name or template_card required")
        if not (body.get("userids") or body.get("partyids") or body.get("tagids") or body.get("atall")):
            raise _Fail(E_ALL_RECIPIENTS_INVALID, "user & party & tag all invalid")
        entry["used"] = True
        return _ok(invaliduser=[])

    # --- WeCom endpoints ------------------------------------------------------------------

    def serve(path: str) -> Response:
        with lock:
            fault = take_fault(path)
        if fault is not None and not fault.after:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.http_status is not None or fault.errcode is not None:
                with lock:
                    body = json_body()
                    record(path, body, [], fault.http_status or 200, fault.errcode)
                if fault.http_status is not None:
                    return Response("fault injected", status=fault.http_status, mimetype="text/plain")
                return jsonify({"errcode": fault.errcode, "errmsg": fault_errmsg(fault)})
        response = perform(path)
        if fault is not None and fault.after and fault.delay:
            time.sleep(fault.delay)  # done and logged: only the answer is late, past the caller's timeout
        return response

    def perform(path: str) -> Response:
        with lock:
            body = json_body()
            touser: list[str] = []
            if isinstance(body, dict):
                if path == "message/send":
                    touser = [u for u in str(body.get("touser") or "").split("|") if u]
                elif path == "message/update_template_card":
                    touser = [str(u) for u in body.get("userids") or []]
            try:
                result = dispatch(path, body)
            except _Duplicate as dup:
                record(path, body, touser, 200, 0, duplicate=True)
                return jsonify(_ok(msgid=dup.msgid))
            except _Fail as fail:
                record(path, body, touser, 200, fail.errcode)
                return jsonify({"errcode": fail.errcode, "errmsg": fail.errmsg})
            if isinstance(result, Response):
                record(path, body, touser, result.status_code, 0)
                return result
            record(path, body, touser, 200, int(result.get("errcode", 0)))
            return jsonify(result)

    def dispatch(path: str, body: Any) -> dict[str, Any] | Response:
        if path == "gettoken":
            if request.args.get("corpid") != corp_id:
                raise _Fail(E_INVALID_CORPID, "invalid corpid")
            if request.args.get("corpsecret") != secret:
                raise _Fail(E_INVALID_SECRET, "invalid secret")
            now = clock()
            if state.token is None or now >= state.token_expires or state.token in state.revoked:
                state.token = secrets.token_urlsafe(48)
                state.token_expires = now + TOKEN_TTL
            return _ok(access_token=state.token, expires_in=TOKEN_TTL)
        check_token()
        if path in ("message/send", "message/update_template_card"):
            if not isinstance(body, dict):
                raise _Fail(E_INVALID_PARAM, "body must be a JSON object")
            return handle_send(body) if path == "message/send" else handle_update(body)
        if path == "media/upload":
            return handle_upload(request.args.get("type", ""))
        if path == "media/get":
            return handle_media_get(request.args.get("media_id", ""))
        if path == "user/get":
            userid = request.args.get("userid", "")
            if userid.lower() in state.out_of_range:  # an app reads only members in its visible range
                raise _Fail(E_NO_PRIVILEGE, "no privilege to access/modify contact/party/agent")
            if userid.lower() in state.no_account:
                raise _Fail(E_USER_NOT_FOUND, "userid not found")
            member = book["directory"].user(userid)
            if member is not None:
                return _ok(**member)
            if not user_known(userid):
                raise _Fail(E_USER_NOT_FOUND, "userid not found")
            real_id, name = known_users[userid.lower()]
            return _ok(userid=real_id, name=name, status=1, department=[1])
        if path in ("menu/create", "menu/get"):
            if request.args.get("agentid") != str(agent_id):
                raise _Fail(E_INVALID_AGENTID, "invalid agentid")
            if path == "menu/get":
                if state.menu is None:
                    raise _Fail(E_MENU_NOT_FOUND, "menu no exist")
                return _ok(button=state.menu)
            try:
                state.menu = check_menu(body)
            except MenuRefused as refused:
                raise _Fail(refused.errcode, refused.errmsg) from refused
            return _ok()
        if path in ("department/list", "user/list"):
            try:
                if path == "department/list":
                    return _ok(**book["directory"].department_list(request.args.get("id")))
                return _ok(**book["directory"].user_list(request.args.get("department_id"),
                                                         request.args.get("fetch_child")))
            except DirectoryError as err:
                raise _Fail(err.errcode, err.errmsg) from err
        if path == "auth/getuserinfo":
            code = request.args.get("code", "")
            entry = state.oauth_codes.pop(code, None)  # single use, even when expired
            if entry is None or clock() > entry[1]:
                raise _Fail(E_INVALID_CODE, "invalid code")
            return _ok(userid=entry[0])
        return Response(f"unknown fake endpoint {path}", status=404, mimetype="text/plain")

    def handle_upload(kind: str) -> dict[str, Any]:
        if kind not in MEDIA_LIMITS:
            raise _Fail(E_INVALID_MEDIA_TYPE, "invalid media type")
        upload = request.files.get("media")
        if upload is None:
            raise _Fail(E_INVALID_PARAM, "multipart field 'media' missing")
        data = upload.read()
        if len(data) <= 5 or len(data) > MEDIA_LIMITS[kind]:
            raise _Fail(E_INVALID_FILE_SIZE, "invalid file size")
        ctype = upload.mimetype if upload.mimetype and upload.mimetype != "application/octet-stream" else None
        media_id = store_media(kind, data, upload.filename or "file", ctype)
        return _ok(type=kind, media_id=media_id, created_at=str(int(clock())))

    def handle_media_get(media_id: str) -> Response:
        require_media(media_id)
        item = state.media[media_id]
        resp = Response(item["data"], status=200, mimetype=item["content_type"])
        # HTTP headers are latin-1: give an ASCII fallback plus the RFC 5987 UTF-8 name.
        fallback = item["filename"].encode("ascii", "replace").decode().replace('"', "_")
        resp.headers["Content-Disposition"] = (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(item['filename'])}"
        )
        return resp

    for wecom_path in (
        "gettoken",
        "message/send",
        "message/update_template_card",
        "media/upload",
        "media/get",
        "user/get",
        "auth/getuserinfo",
        "menu/create",
        "menu/get",
        "department/list",
        "user/list",
    ):
        app.add_url_rule(
            f"/cgi-bin/{wecom_path}",
            endpoint=f"wecom_{wecom_path.replace('/', '_')}",
            view_func=lambda p=wecom_path: serve(p),
            methods=["GET", "POST"],
        )

    # --- control endpoints ----------------------------------------------------------------

    @app.get("/_fake/calls")
    def fake_calls() -> Response:
        userid = request.args.get("userid")
        path = request.args.get("path")
        duplicates = request.args.get("duplicates") == "1"
        with lock:
            calls = [
                c
                for c in state.calls
                if (duplicates or not c["duplicate"])
                and (path is None or c["path"] == path.strip("/").removeprefix("cgi-bin/"))
                and (userid is None or userid.lower() in (u.lower() for u in c["touser"]))
            ]
            return jsonify(calls)

    @app.post("/_fake/reset")
    def fake_reset() -> Response:
        with lock:
            fresh = _State()
            for name in fresh.__dataclass_fields__:
                setattr(state, name, getattr(fresh, name))
            book["directory"] = initial_directory
        return jsonify(_ok())

    @app.route("/_fake/directory", methods=["GET", "POST"])
    def fake_directory() -> tuple[Response, int] | Response:
        # The address book the plant keeps in WeCom's admin console; a test or the demo sets it here.
        if request.method == "GET":
            with lock:
                return jsonify(book["directory"].to_json())
        try:
            new = Directory.from_json(request.get_json(silent=True))
        except ValueError as exc:
            return jsonify({"error": str(exc)}), 400
        with lock:
            book["directory"] = new
        return jsonify(_ok())

    @app.post("/_fake/faults")
    def fake_faults() -> tuple[Response, int] | Response:
        spec = request.get_json(silent=True) or {}
        path = str(spec.get("path") or "").strip("/").removeprefix("cgi-bin/")
        if not path:
            return jsonify({"error": "path required"}), 400
        fault = _Fault(
            errcode=spec.get("errcode"),
            http_status=spec.get("http_status"),
            delay=float(spec.get("delay") or 0.0),
            count=max(1, int(spec.get("count") or 1)),
            errmsg=spec.get("errmsg"),
            from_ip=spec.get("from_ip"),
            touser=str(spec["touser"]).lower() if spec.get("touser") else None,
            after=bool(spec.get("after")),
        )
        with lock:
            state.faults.setdefault(path, []).append(fault)
        return jsonify(_ok())

    @app.post("/_fake/recipients")
    def fake_recipients() -> Response:
        """Who message/send accepts messages for but does not reach, from now on (replaces the last call):
        {"unlicensed": [...], "out_of_range": [...], "no_account": [...], "invalid_parties": [...]}."""
        spec = request.get_json(silent=True) or {}
        with lock:
            state.unlicensed = {str(u).lower() for u in spec.get("unlicensed") or []}
            state.out_of_range = {str(u).lower() for u in spec.get("out_of_range") or []}
            state.no_account = {str(u).lower() for u in spec.get("no_account") or []}
            state.invalid_parties = {str(p) for p in spec.get("invalid_parties") or []}
        return jsonify(_ok())

    @app.post("/_fake/oauth_code")
    def fake_oauth_code() -> tuple[Response, int] | Response:
        userid = (request.get_json(silent=True) or {}).get("userid")
        if not userid:
            return jsonify({"error": "userid required"}), 400
        code = secrets.token_urlsafe(24)
        with lock:
            state.oauth_codes[code] = (str(userid), clock() + OAUTH_CODE_TTL)
        return jsonify({"code": code})

    # --- OAuth for H5 pages: WeCom's authorize page, with the signed-in member kept in a cookie ---------

    @app.get("/_fake/login")
    def fake_login() -> Response:
        """Sign a member in to the fake WeCom client, then go on to `next` (a mini-form link)."""
        userid = request.args.get("userid", "")
        target = request.args.get("next", "")
        if not userid:
            return Response("userid required", status=400)
        resp = redirect(target) if target.startswith(("http://", "https://", "/")) else Response(f"signed in as {userid}")
        resp.set_cookie(LOGIN_COOKIE, userid, httponly=True, samesite="Lax")
        return resp

    @app.get("/connect/oauth2/authorize")
    def oauth_authorize() -> Response:
        # The real page is shown by the WeCom app itself, which knows the member; so does our cookie.
        if request.args.get("appid") != corp_id or request.args.get("response_type") != "code":
            return Response("bad appid or response_type", status=400)
        redirect_uri = request.args.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return Response("redirect_uri required", status=400)
        userid = request.cookies.get(LOGIN_COOKIE)
        if not userid:
            return Response("not signed in to the fake WeCom: open /_fake/login?userid=...&next=...", status=401)
        code = secrets.token_urlsafe(24)
        with lock:
            state.oauth_codes[code] = (userid, clock() + OAUTH_CODE_TTL)
        sep = "&" if "?" in redirect_uri else "?"
        query = urlencode({"code": code, "state": request.args.get("state", "")})
        return redirect(f"{redirect_uri}{sep}{query}")

    @app.post("/_fake/media")
    def fake_media() -> tuple[Response, int] | Response:
        upload = request.files.get("media")
        kind = request.form.get("type", "image")
        if upload is None:
            return jsonify({"error": "multipart field 'media' required"}), 400
        data = upload.read()
        ctype = upload.mimetype if upload.mimetype and upload.mimetype != "application/octet-stream" else None
        with lock:
            media_id = store_media(kind, data, upload.filename or "photo.jpg", ctype)
        return jsonify({"media_id": media_id})

    @app.get("/_fake/media/<media_id>")
    def fake_media_download(media_id: str) -> Response:
        # What the member's WeCom app would show for a received file; no token, for the chat client.
        with lock:
            item = state.media.get(media_id)
        if item is None:
            return Response("unknown media_id", status=404)
        resp = Response(item["data"], mimetype=item["content_type"])
        resp.headers["X-Filename"] = quote(item["filename"])
        return resp

    @app.post("/_fake/revoke_tokens")
    def fake_revoke_tokens() -> Response:
        # WeCom may invalidate a token before expires_in; this simulates that.
        with lock:
            if state.token:
                state.revoked.add(state.token)
        return jsonify(_ok())

    @app.post("/_fake/response_code")
    def fake_response_code() -> Response:
        # The ResponseCode a template_card_event would carry, for simulated card clicks.
        spec = request.get_json(silent=True) or {}
        userid = spec.get("userid")
        with lock:
            code = mint_response_code("event", [str(userid)] if userid else [], spec.get("task_id"))
        return jsonify({"response_code": code})

    return app
