"""The fake's WeCom endpoints under /cgi-bin/: tokens, message/send and card updates, media, members,
menu, address book and OAuth user info, each behind the fault injection of /_fake/faults."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from wecom.cards import INTERACTIVE_CARD_TYPES, validate_card
from wecom.fake.directory import DirectoryError
from wecom.fake.menu import E_MENU_NOT_FOUND, MenuRefused, check_menu
from wecom.fake.state import (
    DEFAULT_DUPLICATE_CHECK_INTERVAL,
    E_ALL_RECIPIENTS_INVALID,
    E_CONTENT_TOO_LONG,
    E_INVALID_AGENTID,
    E_INVALID_CODE,
    E_INVALID_CORPID,
    E_INVALID_FILE_SIZE,
    E_INVALID_MEDIA_TYPE,
    E_INVALID_MSG_TYPE,
    E_INVALID_PARAM,
    E_INVALID_RESPONSE_CODE,
    E_INVALID_SECRET,
    E_NO_PRIVILEGE,
    E_USER_NOT_FOUND,
    MAX_DUPLICATE_CHECK_INTERVAL,
    MAX_TEXT_BYTES,
    MEDIA_LIMITS,
    MSG_TYPES,
    RESPONSE_CODE_TTL,
    TOKEN_TTL,
    FakeWecom,
    _Duplicate,
    _Fail,
    _ok,
    current_fake,
)

blueprint = Blueprint("wecom_api", __name__)

# --- message/send validation ----------------------------------------------------------


def validate_send(fake: FakeWecom, body: dict[str, Any]) -> tuple[list[str], list[str]]:
    if body.get("agentid") is None or str(body.get("agentid")) != str(fake.agent_id):
        raise _Fail(E_INVALID_AGENTID, "invalid agentid")
    touser = [u for u in str(body.get("touser") or "").split("|") if u]
    toparty = [p for p in str(body.get("toparty") or "").split("|") if p]
    if not touser and not toparty:
        raise _Fail(E_ALL_RECIPIENTS_INVALID, "user & party & tag all invalid")
    invalid = [u for u in touser if (fake.strict_users and not fake.user_known(u))
               or u.lower() in fake.state.out_of_range or u.lower() in fake.state.no_account]
    bad_parties = [p for p in toparty if p in fake.state.invalid_parties]
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
        fake.require_media(part.get("media_id"))
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


def duplicate_key(fake: FakeWecom, body: dict[str, Any]) -> str:
    msgtype = body.get("msgtype")
    recipients = [sorted(u.lower() for u in str(body.get(f) or "").split("|") if u)
                  for f in ("touser", "toparty", "totag")]
    # Called once validate_send has checked msgtype is one of MSG_TYPES (a str).
    return json.dumps([str(body.get("agentid")), msgtype, body.get(str(msgtype)), recipients], sort_keys=True,
                      ensure_ascii=False)


def duplicate_of(fake: FakeWecom, body: dict[str, Any]) -> str | None:
    """The msgid of the identical message delivered within the interval, when the check is asked for."""
    if str(body.get("enable_duplicate_check") or "0") != "1":
        return None
    interval = int(body.get("duplicate_check_interval") or DEFAULT_DUPLICATE_CHECK_INTERVAL)
    if not 0 < interval <= MAX_DUPLICATE_CHECK_INTERVAL:
        raise _Fail(E_INVALID_PARAM, "invalid duplicate_check_interval")
    seen = fake.state.delivered.get(duplicate_key(fake, body))
    return seen[1] if seen is not None and fake.clock() - seen[0] < interval else None


def handle_send(fake: FakeWecom, body: dict[str, Any]) -> dict[str, Any]:
    touser, invalid = validate_send(fake, body)
    first = duplicate_of(fake, body)
    if first is not None:
        raise _Duplicate(first)
    fake.state.msg_seq += 1
    result = _ok(msgid=f"fake-msg-{fake.state.msg_seq}-{secrets.token_hex(4)}")
    fake.state.delivered[duplicate_key(fake, body)] = (fake.clock(), result["msgid"])
    # WeCom answers errcode 0 and names, lowercased and "|"-joined, whom the message did not reach.
    unlicensed = [u for u in touser if u.lower() in fake.state.unlicensed and u not in invalid]
    if invalid:
        result["invaliduser"] = "|".join(u.lower() for u in invalid)
    if unlicensed:
        result["unlicenseduser"] = "|".join(u.lower() for u in unlicensed)
    bad_parties = [p for p in str(body.get("toparty") or "").split("|") if p in fake.state.invalid_parties]
    if bad_parties:
        result["invalidparty"] = "|".join(bad_parties)
    if body["msgtype"] == "template_card":
        card = body["template_card"]
        if card.get("card_type") in INTERACTIVE_CARD_TYPES or card.get("action_menu"):
            valid = [u for u in touser if u not in invalid and u not in unlicensed]
            result["response_code"] = fake.mint_response_code("send", valid, card.get("task_id"))
    return result


def handle_update(fake: FakeWecom, body: dict[str, Any]) -> dict[str, Any]:
    if str(body.get("agentid")) != str(fake.agent_id):
        raise _Fail(E_INVALID_AGENTID, "invalid agentid")
    code = str(body.get("response_code") or "")
    entry = fake.state.response_codes.get(code)
    if entry is None or entry["used"] or fake.clock() - entry["created"] >= RESPONSE_CODE_TTL:
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


def serve(fake: FakeWecom, path: str) -> Response:
    with fake.lock:
        fault = fake.take_fault(path)
    if fault is not None and not fault.after:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.http_status is not None or fault.errcode is not None:
            with fake.lock:
                body = fake.json_body()
                fake.record(path, body, [], fault.http_status or 200, fault.errcode)
            if fault.http_status is not None:
                return Response("fault injected", status=fault.http_status, mimetype="text/plain")
            return jsonify({"errcode": fault.errcode, "errmsg": fake.fault_errmsg(fault)})
    response = perform(fake, path)
    if fault is not None and fault.after and fault.delay:
        time.sleep(fault.delay)  # done and logged: only the answer is late, past the caller's timeout
    return response


def perform(fake: FakeWecom, path: str) -> Response:
    with fake.lock:
        body = fake.json_body()
        touser: list[str] = []
        if isinstance(body, dict):
            if path == "message/send":
                touser = [u for u in str(body.get("touser") or "").split("|") if u]
            elif path == "message/update_template_card":
                touser = [str(u) for u in body.get("userids") or []]
        try:
            result = dispatch(fake, path, body)
        except _Duplicate as dup:
            fake.record(path, body, touser, 200, 0, duplicate=True)
            return jsonify(_ok(msgid=dup.msgid))
        except _Fail as fail:
            fake.record(path, body, touser, 200, fail.errcode)
            return jsonify({"errcode": fail.errcode, "errmsg": fail.errmsg})
        if isinstance(result, Response):
            fake.record(path, body, touser, result.status_code, 0)
            return result
        fake.record(path, body, touser, 200, int(result.get("errcode", 0)))
        return jsonify(result)


def dispatch(fake: FakeWecom, path: str, body: Any) -> dict[str, Any] | Response:
    if path == "gettoken":
        if request.args.get("corpid") != fake.corp_id:
            raise _Fail(E_INVALID_CORPID, "invalid corpid")
        if request.args.get("corpsecret") != fake.secret:
            raise _Fail(E_INVALID_SECRET, "invalid secret")
        now = fake.clock()
        if fake.state.token is None or now >= fake.state.token_expires or fake.state.token in fake.state.revoked:
            fake.state.token = secrets.token_urlsafe(48)
            fake.state.token_expires = now + TOKEN_TTL
        return _ok(access_token=fake.state.token, expires_in=TOKEN_TTL)
    fake.check_token()
    if path in ("message/send", "message/update_template_card"):
        if not isinstance(body, dict):
            raise _Fail(E_INVALID_PARAM, "body must be a JSON object")
        return handle_send(fake, body) if path == "message/send" else handle_update(fake, body)
    if path == "media/upload":
        return handle_upload(fake, request.args.get("type", ""))
    if path == "media/get":
        return handle_media_get(fake, request.args.get("media_id", ""))
    if path == "user/get":
        userid = request.args.get("userid", "")
        if userid.lower() in fake.state.out_of_range:  # an app reads only members in its visible range
            raise _Fail(E_NO_PRIVILEGE, "no privilege to access/modify contact/party/agent")
        if userid.lower() in fake.state.no_account:
            raise _Fail(E_USER_NOT_FOUND, "userid not found")
        member = fake.book["directory"].user(userid)
        if member is not None:
            return _ok(**member)
        if not fake.user_known(userid):
            raise _Fail(E_USER_NOT_FOUND, "userid not found")
        real_id, name = fake.known_users[userid.lower()]
        return _ok(userid=real_id, name=name, status=1, department=[1])
    if path in ("menu/create", "menu/get"):
        if request.args.get("agentid") != str(fake.agent_id):
            raise _Fail(E_INVALID_AGENTID, "invalid agentid")
        if path == "menu/get":
            if fake.state.menu is None:
                raise _Fail(E_MENU_NOT_FOUND, "menu no exist")
            return _ok(button=fake.state.menu)
        try:
            fake.state.menu = check_menu(body)
        except MenuRefused as refused:
            raise _Fail(refused.errcode, refused.errmsg) from refused
        return _ok()
    if path in ("department/list", "user/list"):
        try:
            if path == "department/list":
                return _ok(**fake.book["directory"].department_list(request.args.get("id")))
            return _ok(**fake.book["directory"].user_list(request.args.get("department_id"),
                                                     request.args.get("fetch_child")))
        except DirectoryError as err:
            raise _Fail(err.errcode, err.errmsg) from err
    if path == "auth/getuserinfo":
        code = request.args.get("code", "")
        entry = fake.state.oauth_codes.pop(code, None)  # single use, even when expired
        if entry is None or fake.clock() > entry[1]:
            raise _Fail(E_INVALID_CODE, "invalid code")
        return _ok(userid=entry[0])
    return Response(f"unknown fake endpoint {path}", status=404, mimetype="text/plain")


def handle_upload(fake: FakeWecom, kind: str) -> dict[str, Any]:
    if kind not in MEDIA_LIMITS:
        raise _Fail(E_INVALID_MEDIA_TYPE, "invalid media type")
    upload = request.files.get("media")
    if upload is None:
        raise _Fail(E_INVALID_PARAM, "multipart field 'media' missing")
    data = upload.read()
    if len(data) <= 5 or len(data) > MEDIA_LIMITS[kind]:
        raise _Fail(E_INVALID_FILE_SIZE, "invalid file size")
    ctype = upload.mimetype if upload.mimetype and upload.mimetype != "application/octet-stream" else None
    media_id = fake.store_media(kind, data, upload.filename or "file", ctype)
    return _ok(type=kind, media_id=media_id, created_at=str(int(fake.clock())))


def handle_media_get(fake: FakeWecom, media_id: str) -> Response:
    fake.require_media(media_id)
    item = fake.state.media[media_id]
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
    blueprint.add_url_rule(
        f"/cgi-bin/{wecom_path}",
        endpoint=f"wecom_{wecom_path.replace('/', '_')}",
        view_func=lambda p=wecom_path: serve(current_fake(), p),
        methods=["GET", "POST"],
    )
