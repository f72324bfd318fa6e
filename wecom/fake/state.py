"""The fake WeCom's state and what its endpoints share: the server's errcodes and limits, the state reset
by /_fake/reset, and FakeWecom, which holds them with the lock and the helpers (call those with it held)."""

from __future__ import annotations

import mimetypes
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request

from wecom.fake.directory import Directory

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



class FakeWecom:
    """One fake WeCom server: its corp and agent, members, clock, state and address book."""

    def __init__(self, corp_id: str, secret: str, agent_id: int, users: Mapping[str, str] | None = None, *,
                 strict_users: bool = False, clock: Callable[[], float] = time.time,
                 directory: Directory | None = None) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.strict_users = strict_users
        self.clock = clock
        self.known_users = {k.lower(): (k, v) for k, v in (users or {}).items()}
        self.state = _State()
        self.lock = threading.Lock()
        self.initial_directory = directory or Directory.flat(dict(users or {}))
        self.book = {"directory": self.initial_directory}

    def check_token(self) -> None:
        token = request.args.get("access_token", "")
        if not token:
            raise _Fail(E_MISSING_TOKEN, "access_token missing")
        if token != self.state.token or token in self.state.revoked:
            raise _Fail(E_INVALID_TOKEN, "invalid access_token")
        if self.clock() >= self.state.token_expires:
            raise _Fail(E_TOKEN_EXPIRED, "access_token expired")

    def user_known(self, userid: str) -> bool:
        return userid.lower() in self.known_users

    def mint_response_code(self, kind: str, userids: list[str], task_id: str | None) -> str:
        code = secrets.token_urlsafe(24)
        self.state.response_codes[code] = {
            "created": self.clock(),
            "used": False,
            "kind": kind,
            "userids": userids,
            "task_id": task_id,
        }
        return code

    def store_media(self, kind: str, data: bytes, filename: str, content_type: str | None) -> str:
        media_id = "MEDIA_" + secrets.token_urlsafe(18)
        ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self.state.media[media_id] = {
            "type": kind,
            "data": data,
            "filename": filename,
            "content_type": ctype,
            "created": self.clock(),
        }
        return media_id

    def require_media(self, media_id: object) -> None:
        item = self.state.media.get(str(media_id)) if media_id else None
        if item is None or self.clock() - item["created"] > MEDIA_TTL:
            raise _Fail(E_INVALID_MEDIA_ID, "invalid media_id")

    def take_fault(self, path: str) -> _Fault | None:
        queue = self.state.faults.get(path)
        if not queue:
            return None
        body = self.json_body()
        addressed = {u.lower() for u in str(body.get("touser") or "").split("|")} if isinstance(body, dict) else set()
        for fault in queue:
            if fault.touser is None or fault.touser in addressed:
                fault.count -= 1
                if fault.count <= 0:
                    queue.remove(fault)
                return fault
        return None

    def fault_errmsg(self, fault: _Fault) -> str:
        if fault.errmsg is not None:
            return fault.errmsg
        template = FAULT_ERRMSGS.get(fault.errcode or 0, "fault injected")
        return template.format(ip=fault.from_ip or request.remote_addr, hint=secrets.randbelow(10**25))

    def json_body(self) -> Any:
        # wechatpy posts JSON without a JSON content type; multipart must not be read as JSON.
        if request.mimetype == "multipart/form-data" or request.method != "POST":
            return None
        return request.get_json(force=True, silent=True)

    def record(self, path: str, body: Any, touser: list[str], status: int, errcode: int | None,
               duplicate: bool = False) -> None:
        params = {k: v for k, v in request.args.items() if k not in ("access_token", "corpsecret")}
        files = {}
        if request.mimetype == "multipart/form-data":
            files = {
                name: {"filename": f.filename, "mimetype": f.mimetype} for name, f in request.files.items()
            }
        self.state.calls.append(
            {
                "path": path,
                "json": body,
                "params": params,
                "files": files,
                "time": self.clock(),
                "touser": touser,
                "status": status,
                "errcode": errcode,
                "duplicate": duplicate,
            }
        )


def current_fake() -> FakeWecom:
    """The fake serving this request (create_fake_wecom keeps it in the app's extensions)."""
    fake: FakeWecom = current_app.extensions["fakewecom"]["fake"]
    return fake
