"""WeCom API client: wechatpy's enterprise client with the gaps closed.

What wechatpy 1.8.18 does not do and this adds: a configurable API base (for the fake
server) including gettoken and media/get, timeouts everywhere, a bounded token retry instead
of unbounded recursion, errors split into TransientError/WeComAPIError, template cards, and
a per-member send throttle (WeCom silently drops messages over 30/min per member).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from wecom.cards import validate_card
from wecom.errors import TransientError, WeComAPIError
from wecom.refusals import Refusal, Refusals
from wecom.replies import truncate_utf8
from wecom.throttle import RateLimiter

T = TypeVar("T")

log = logging.getLogger(__name__)

TOKEN_ERRCODES = frozenset({40014, 42001})  # invalid / expired access_token: refetch once
# -1 system busy, 45009 API frequency limit, 45033 too many concurrent calls.
TRANSIENT_ERRCODES = frozenset({-1, 45009, 45033})

MEDIA_LIMITS = {
    "image": 10 * 1024 * 1024,
    "voice": 2 * 1024 * 1024,
    "video": 10 * 1024 * 1024,
    "file": 20 * 1024 * 1024,
}
MEDIA_MIN_BYTES = 5  # WeCom requires every upload to be larger than 5 bytes
MAX_RECIPIENTS = 1000  # touser limit of message/send
MENU_NOT_FOUND = 46003  # menu/get on an agent that has no menu
E_ALL_RECIPIENTS_INVALID = 81013
# message/send's duplicate check: WeCom answers an identical message (same content, same recipients) sent
# again within this many seconds with errcode 0 and does not deliver it. Its maximum, 4 h, is the outbox's
# retry window, so a resend after a timeout that had in fact gone through never arrives twice.
DUPLICATE_CHECK_SECONDS = 4 * 3600

# message/send answers errcode 0 and names here whom it did not reach ("a|b", userids lowercased).
UNDELIVERED_FIELDS = (
    ("unlicenseduser", "unlicensed"),
    ("invaliduser", "invalid_user"),
    ("invalidparty", "invalid_party"),
    ("invalidtag", "invalid_tag"),
)


@dataclass(frozen=True)
class NotDelivered:
    """Who one accepted message did not reach: (recipient, reason) with the reasons of UNDELIVERED_FIELDS."""

    msgid: str
    msgtype: str
    recipients: tuple[tuple[str, str], ...]


def not_delivered(sent_to: Sequence[str], result: dict[str, Any]) -> list[tuple[str, str]]:
    """The recipients `result` names as not reached, spelled as we sent them (WeCom lowercases userids)."""
    ours = {u.lower(): u for u in sent_to}
    out: list[tuple[str, str]] = []
    for field_name, reason in UNDELIVERED_FIELDS:
        value = result.get(field_name) or ""
        names = value if isinstance(value, list) else str(value).split("|")
        for name in (str(n).strip() for n in names):
            if name:
                out.append((ours.get(name.lower(), name), reason))
    return out


def normalize_api_base(api_base: str) -> str:
    """Accept http://host:port or http://host:port/cgi-bin[/] and return .../cgi-bin/."""
    base = api_base.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"WECOM_API_BASE must start with http:// or https://: {api_base!r}")
    if not base.endswith("/cgi-bin"):
        base += "/cgi-bin"
    return base + "/"


class _TimeoutSession(requests.Session):
    """requests.Session that applies a default timeout: wechatpy passes none for gettoken."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._default_timeout = timeout

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._default_timeout
        return super().request(method, url, *args, **kwargs)


class _WxClient(WeChatClient):
    """wechatpy client pointed at `api_base`, including its hardcoded gettoken URL."""

    def __init__(
        self, corp_id: str, secret: str, *, api_base: str, session: SessionStorage, timeout: float
    ) -> None:
        super().__init__(corp_id, secret, session=session, timeout=timeout, auto_retry=False)
        # _request reads self.API_BASE_URL, so an instance attribute redirects every call.
        self.API_BASE_URL = api_base
        self._http = _TimeoutSession(timeout)

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
        )


# --- the client ----------------------------------------------------------------------------


def _map_client_exception(exc: WeChatClientException) -> Exception:
    if exc.errcode is None:
        status = getattr(exc.response, "status_code", None)
        if status is None or status >= 500:
            return TransientError(f"WeCom HTTP error {status}")
        return WeComAPIError(None, f"HTTP {status}")
    errcode = int(exc.errcode)
    errmsg = str(exc.errmsg)
    if errcode in TRANSIENT_ERRCODES:
        return TransientError(f"WeCom errcode {errcode}: {errmsg}", errcode=errcode)
    return WeComAPIError(errcode, errmsg)


def _ignore_call(api: str, outcome: str) -> None:
    return None


def _ignore_undelivered(reason: str) -> None:
    return None


class WeComClient:
    """Sends app messages for one agent. Raises TransientError (retry), WeComAPIError (don't)."""

    def __init__(
        self,
        corp_id: str,
        secret: str,
        agent_id: int,
        api_base: str,
        redis: Any | None = None,
        timeout: float = 5.0,
        per_user_per_minute: int = 30,
        *,
        redis_prefix: str = "wecom",
        on_not_delivered: Callable[[NotDelivered], None] | None = None,
        on_call: Callable[[str, str], None] | None = None,
        on_undelivered: Callable[[str], None] | None = None,
    ) -> None:
        self.corp_id = corp_id
        self.agent_id = int(agent_id)
        self.api_base = normalize_api_base(api_base)
        self.timeout = timeout
        # RedisStorage shares the token between processes; each gettoken is rate limited by WeCom.
        session: SessionStorage = (
            RedisStorage(redis, prefix=redis_prefix) if redis is not None else MemoryStorage()
        )
        self._wx = _WxClient(corp_id, secret, api_base=self.api_base, session=session, timeout=timeout)
        self._limiter = RateLimiter(per_user_per_minute, redis, redis_prefix)
        self._refusals = Refusals(redis, redis_prefix)
        # Where the per-recipient record goes (the database, wired by the entry point); it runs after the
        # send, so the caller must not hold a transaction the recorder would wait for.
        self._on_not_delivered = on_not_delivered
        # Metrics are the entry point's (bot/observability): passed in, so this adapter imports nothing above it.
        self._count_call: Callable[[str, str], None] = on_call or _ignore_call
        self._count_undelivered: Callable[[str], None] = on_undelivered or _ignore_undelivered

    # --- plumbing ----------------------------------------------------------------------------

    def _refresh_token(self) -> None:
        self._wx.session.delete(self._wx.access_token_key)
        self._wx.expires_at = None
        self._wx.fetch_access_token()

    def check_token(self) -> None:
        """Have (or fetch) an access token; raises TransientError/WeComAPIError as any call would."""
        self._call(lambda: self._wx.access_token, "gettoken")

    def _call(self, fn: Callable[[], T], api: str = "-") -> T:
        """`_attempt`, counted by API and outcome for the success rate of outbound calls."""
        try:
            result = self._attempt(fn)
        except TransientError:
            self._count_call(api, "transient")
            raise
        except WeComAPIError as exc:
            self._count_call(api, "failed")
            if exc.hint and exc.errcode is not None:
                # The line names what to change in WeCom's admin console; it stays in /readyz until fixed.
                log.error("%s：%s", api, exc.hint, extra={"api": api, "outcome": "failed"})
                self._remember(partial(self._refusals.record, api, exc.errcode, exc.hint))
            raise
        self._count_call(api, "ok")
        self._remember(partial(self._refusals.clear, api))
        return result

    def refusals(self) -> list[Refusal]:
        """Refusals an operator must act on (untrusted IP, API forbidden, …), newest per API, for /readyz."""
        return self._refusals.current()

    @staticmethod
    def _remember(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # keeping the note must never turn a sent message into a failed one
            log.warning("could not keep a note of WeCom's answer", exc_info=True)

    def _attempt(self, fn: Callable[[], T]) -> T:
        """Run `fn`, refetching the token and retrying exactly once on 40014/42001."""
        for attempt in range(2):
            try:
                return fn()
            except WeChatClientException as exc:
                if attempt == 0 and exc.errcode in TOKEN_ERRCODES:
                    try:
                        self._refresh_token()
                    except WeChatClientException as fetch_exc:
                        raise _map_client_exception(fetch_exc) from fetch_exc
                    except (requests.ConnectionError, requests.Timeout) as net_exc:
                        raise TransientError(f"network error fetching token: {net_exc}") from net_exc
                    continue
                raise _map_client_exception(exc) from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise TransientError(f"network error: {exc}") from exc
            except requests.RequestException as exc:
                raise TransientError(f"HTTP client error: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(
        self,
        method: str,
        endpoint: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        files: Any = None,
    ) -> dict[str, Any]:
        def once() -> dict[str, Any]:
            kwargs: dict[str, Any] = {"params": dict(params or {})}  # fresh dict: wechatpy adds the token
            if data is not None:
                kwargs["data"] = data
            if files is not None:
                kwargs["files"] = files
            result = self._wx._request(method, endpoint, **kwargs)
            if not isinstance(result, dict):
                raise TransientError(f"non-JSON response from {endpoint}")
            return result

        return self._call(once, endpoint)

    def _send(self, userids: Sequence[str], msg: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in userids if u]
        if not users:
            raise ValueError("at least one userid is required")
        if len(users) > MAX_RECIPIENTS:
            raise ValueError(f"at most {MAX_RECIPIENTS} userids per message, got {len(users)}")
        self._limiter.acquire(users)
        payload = {"touser": "|".join(users), "agentid": self.agent_id, **msg,
                   "enable_duplicate_check": 1, "duplicate_check_interval": DUPLICATE_CHECK_SECONDS}
        try:
            result = self._json("post", "message/send", data=payload)
        except WeComAPIError as exc:
            if exc.errcode == E_ALL_RECIPIENTS_INVALID:  # nobody reached: each of them is one not delivered
                self._not_delivered(f"81013:{uuid.uuid4().hex}", msg, [(u, "invalid_user") for u in users])
            raise
        missed = not_delivered(users, result)
        if missed:
            self._not_delivered(str(result.get("msgid") or f"nomsgid:{uuid.uuid4().hex}"), msg, missed)
        return result

    def _not_delivered(self, msgid: str, msg: dict[str, Any], missed: list[tuple[str, str]]) -> None:
        for _, reason in missed:
            self._count_undelivered(reason)
        log.warning("message/send %s not delivered to %s", msgid,
                    ", ".join(f"{who} ({reason})" for who, reason in missed), extra={"api": "message/send"})
        if self._on_not_delivered is not None:
            report = NotDelivered(msgid, str(msg.get("msgtype", "")), tuple(missed))
            # The message is sent whatever happens to the record: a failing record must not make a retry
            # send it twice.
            self._remember(partial(self._on_not_delivered, report))

    # --- messages ----------------------------------------------------------------------------

    def send_text(self, userids: Sequence[str], content: str) -> dict[str, Any]:
        return self._send(userids, {"msgtype": "text", "text": {"content": truncate_utf8(content)}})

    def send_markdown(self, userids: Sequence[str], content: str) -> dict[str, Any]:
        return self._send(userids, {"msgtype": "markdown", "markdown": {"content": truncate_utf8(content)}})

    def send_card(self, userids: Sequence[str], card: dict[str, Any]) -> dict[str, Any]:
        """Send a template card; the result carries msgid and (interactive cards) response_code."""
        validate_card(card)
        return self._send(userids, {"msgtype": "template_card", "template_card": card})

    def send_file(self, userids: Sequence[str], media_id: str) -> dict[str, Any]:
        return self._send(userids, {"msgtype": "file", "file": {"media_id": media_id}})

    def update_card(
        self,
        userids: Sequence[str],
        response_code: str,
        *,
        card: dict[str, Any] | None = None,
        replace_name: str | None = None,
    ) -> dict[str, Any]:
        """Update a sent card (response_code: 72 h, single use). Give `card` or `replace_name`."""
        if (card is None) == (replace_name is None):
            raise ValueError("give exactly one of card= or replace_name=")
        payload: dict[str, Any] = {
            "userids": list(userids),
            "agentid": self.agent_id,
            "response_code": response_code,
        }
        if card is not None:
            validate_card(card)
            payload["template_card"] = card
        else:
            payload["button"] = {"replace_name": replace_name}
        return self._json("post", "message/update_template_card", data=payload)

    # --- media -------------------------------------------------------------------------------

    def upload_media(self, kind: str, filename: str, data: bytes) -> str:
        """Upload temporary media (valid 3 days); `filename` is what users see."""
        limit = MEDIA_LIMITS.get(kind)
        if limit is None:
            raise ValueError(f"media kind must be one of {sorted(MEDIA_LIMITS)}, got {kind!r}")
        if len(data) <= MEDIA_MIN_BYTES:
            raise ValueError(f"media must be larger than {MEDIA_MIN_BYTES} bytes")
        if len(data) > limit:
            raise ValueError(f"{kind} larger than {limit // (1024 * 1024)} MB")
        result = self._json("post", "media/upload", params={"type": kind}, files={"media": (filename, data)})
        media_id = result.get("media_id")
        if not media_id:
            raise WeComAPIError(None, "media/upload returned no media_id")
        return str(media_id)

    def download_media(self, media_id: str) -> tuple[bytes, str]:
        """Return (bytes, content_type). WeCom reports errors as JSON with HTTP 200."""

        def once() -> tuple[bytes, str]:
            res = self._wx._http.get(
                self.api_base + "media/get",
                params={"access_token": self._wx.access_token, "media_id": media_id},
                timeout=self.timeout,
            )
            if res.status_code >= 400:
                raise WeChatClientException(None, None, client=self._wx, request=res.request, response=res)
            content_type = res.headers.get("Content-Type", "application/octet-stream")
            body = res.content
            if "json" in content_type or "text/plain" in content_type or body[:1] == b"{":
                error = _json_error(body)
                if error is not None:
                    errcode, errmsg = error
                    raise WeChatClientException(
                        errcode, errmsg, client=self._wx, request=res.request, response=res
                    )
            return body, content_type

        return self._call(once, "media/get")

    # --- the app ---------------------------------------------------------------------------

    # --- users -------------------------------------------------------------------------------

    def userid_from_oauth_code(self, code: str) -> str | None:
        """Member userid for an OAuth code, None for a non-member (openid only).

        An invalid/used/expired code raises WeComAPIError (errcode 40029)."""
        result = self._json("get", "auth/getuserinfo", params={"code": code})
        userid = result.get("userid") or result.get("UserId")
        return str(userid) if userid else None

    def get_user(self, userid: str) -> dict[str, Any]:
        return self._json("get", "user/get", params={"userid": userid})

    # --- app menu and address book (admin commands) -------------------------------------------

    def create_menu(self, menu: dict[str, Any]) -> None:
        """Replace this agent's menu (menu/create?agentid=). WeCom checks the shape: errcodes 40016–40027."""
        self._call(lambda: self._wx.menu.create(self.agent_id, menu), "menu/create")

    def get_menu(self) -> dict[str, Any] | None:
        """This agent's menu as WeCom holds it ({"button": [...]}), or None when it has none (errcode 46003)."""
        try:
            result = self._call(lambda: self._wx.menu.get(self.agent_id), "menu/get")
        except WeComAPIError as exc:
            if exc.errcode == MENU_NOT_FOUND:
                return None
            raise
        return {"button": result.get("button", [])}

    def list_departments(self) -> list[dict[str, Any]]:
        """Every department in this app's visible range (department/list): id, name, parentid, order."""
        return self._call(lambda: list(self._wx.department.get()), "department/list")

    def list_members(self, department_id: int) -> list[dict[str, Any]]:
        """The members directly in one department (user/list, no fetch_child): userid, name, department,
        main_department, status. A self-built app reads its visible range with its own secret; user/list_id
        would need the 通讯录同步 secret, which the bot does not hold."""
        return self._call(lambda: list(self._wx.user.list(department_id)), "user/list")


def _json_error(body: bytes) -> tuple[int, str] | None:
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(doc, dict) and "errcode" in doc and int(doc["errcode"]) != 0:
        return int(doc["errcode"]), str(doc.get("errmsg", ""))
    return None
