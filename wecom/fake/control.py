"""The fake's control endpoints, which WeCom does not have (call log, reset, address book, fault injection,
recipients, OAuth codes, media staging, token revocation, response codes), and the OAuth sign-in for H5 pages."""

from __future__ import annotations

import secrets
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, jsonify, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from wecom.fake.directory import Directory
from wecom.fake.state import LOGIN_COOKIE, OAUTH_CODE_TTL, _Fault, _ok, _State, current_fake

blueprint = Blueprint("fake_control", __name__)


@blueprint.get("/_fake/calls")
def fake_calls() -> Response:
    fake = current_fake()
    userid = request.args.get("userid")
    path = request.args.get("path")
    duplicates = request.args.get("duplicates") == "1"
    with fake.lock:
        calls = [
            c
            for c in fake.state.calls
            if (duplicates or not c["duplicate"])
            and (path is None or c["path"] == path.strip("/").removeprefix("cgi-bin/"))
            and (userid is None or userid.lower() in (u.lower() for u in c["touser"]))
        ]
        return jsonify(calls)


@blueprint.post("/_fake/reset")
def fake_reset() -> Response:
    fake = current_fake()
    with fake.lock:
        fresh = _State()
        for name in fresh.__dataclass_fields__:
            setattr(fake.state, name, getattr(fresh, name))
        fake.book["directory"] = fake.initial_directory
    return jsonify(_ok())


@blueprint.route("/_fake/directory", methods=["GET", "POST"])
def fake_directory() -> tuple[Response, int] | Response:
    fake = current_fake()
    # The address book the plant keeps in WeCom's admin console; a test or the demo sets it here.
    if request.method == "GET":
        with fake.lock:
            return jsonify(fake.book["directory"].to_json())
    try:
        new = Directory.from_json(request.get_json(silent=True))
    except ValueError as exc:
        return jsonify({"error": str(exc)}), 400
    with fake.lock:
        fake.book["directory"] = new
    return jsonify(_ok())


@blueprint.post("/_fake/faults")
def fake_faults() -> tuple[Response, int] | Response:
    fake = current_fake()
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
    with fake.lock:
        fake.state.faults.setdefault(path, []).append(fault)
    return jsonify(_ok())


@blueprint.post("/_fake/recipients")
def fake_recipients() -> Response:
    """Who message/send accepts messages for but does not reach, from now on (replaces the last call):
    {"unlicensed": [...], "out_of_range": [...], "no_account": [...], "invalid_parties": [...]}."""
    fake = current_fake()
    spec = request.get_json(silent=True) or {}
    with fake.lock:
        fake.state.unlicensed = {str(u).lower() for u in spec.get("unlicensed") or []}
        fake.state.out_of_range = {str(u).lower() for u in spec.get("out_of_range") or []}
        fake.state.no_account = {str(u).lower() for u in spec.get("no_account") or []}
        fake.state.invalid_parties = {str(p) for p in spec.get("invalid_parties") or []}
    return jsonify(_ok())


@blueprint.post("/_fake/oauth_code")
def fake_oauth_code() -> tuple[Response, int] | Response:
    fake = current_fake()
    userid = (request.get_json(silent=True) or {}).get("userid")
    if not userid:
        return jsonify({"error": "userid required"}), 400
    code = secrets.token_urlsafe(24)
    with fake.lock:
        fake.state.oauth_codes[code] = (str(userid), fake.clock() + OAUTH_CODE_TTL)
    return jsonify({"code": code})

# --- OAuth for H5 pages: WeCom's authorize page, with the signed-in member kept in a cookie ---------


@blueprint.get("/_fake/login")
def fake_login() -> BaseResponse:
    """Sign a member in to the fake WeCom client, then go on to `next` (a mini-form link)."""
    userid = request.args.get("userid", "")
    target = request.args.get("next", "")
    if not userid:
        return Response("userid required", status=400)
    resp = redirect(target) if target.startswith(("http://", "https://", "/")) else Response(f"signed in as {userid}")
    resp.set_cookie(LOGIN_COOKIE, userid, httponly=True, samesite="Lax")
    return resp


@blueprint.get("/connect/oauth2/authorize")
def oauth_authorize() -> BaseResponse:
    fake = current_fake()
    # The real page is shown by the WeCom app itself, which knows the member; so does our cookie.
    if request.args.get("appid") != fake.corp_id or request.args.get("response_type") != "code":
        return Response("bad appid or response_type", status=400)
    redirect_uri = request.args.get("redirect_uri", "")
    if not redirect_uri.startswith(("http://", "https://")):
        return Response("redirect_uri required", status=400)
    userid = request.cookies.get(LOGIN_COOKIE)
    if not userid:
        return Response("not signed in to the fake WeCom: open /_fake/login?userid=...&next=...", status=401)
    code = secrets.token_urlsafe(24)
    with fake.lock:
        fake.state.oauth_codes[code] = (userid, fake.clock() + OAUTH_CODE_TTL)
    sep = "&" if "?" in redirect_uri else "?"
    query = urlencode({"code": code, "state": request.args.get("state", "")})
    return redirect(f"{redirect_uri}{sep}{query}")


@blueprint.post("/_fake/media")
def fake_media() -> tuple[Response, int] | Response:
    fake = current_fake()
    upload = request.files.get("media")
    kind = request.form.get("type", "image")
    if upload is None:
        return jsonify({"error": "multipart field 'media' required"}), 400
    data = upload.read()
    ctype = upload.mimetype if upload.mimetype and upload.mimetype != "application/octet-stream" else None
    with fake.lock:
        media_id = fake.store_media(kind, data, upload.filename or "photo.jpg", ctype)
    return jsonify({"media_id": media_id})


@blueprint.get("/_fake/media/<media_id>")
def fake_media_download(media_id: str) -> Response:
    fake = current_fake()
    # What the member's WeCom app would show for a received file; no token, for the chat client.
    with fake.lock:
        item = fake.state.media.get(media_id)
    if item is None:
        return Response("unknown media_id", status=404)
    resp = Response(item["data"], mimetype=item["content_type"])
    resp.headers["X-Filename"] = quote(item["filename"])
    return resp


@blueprint.post("/_fake/revoke_tokens")
def fake_revoke_tokens() -> Response:
    fake = current_fake()
    # WeCom may invalidate a token before expires_in; this simulates that.
    with fake.lock:
        if fake.state.token:
            fake.state.revoked.add(fake.state.token)
    return jsonify(_ok())


@blueprint.post("/_fake/response_code")
def fake_response_code() -> Response:
    fake = current_fake()
    # The ResponseCode a template_card_event would carry, for simulated card clicks.
    spec = request.get_json(silent=True) or {}
    userid = spec.get("userid")
    with fake.lock:
        code = fake.mint_response_code("event", [str(userid)] if userid else [], spec.get("task_id"))
    return jsonify({"response_code": code})
