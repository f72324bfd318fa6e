"""Build callbacks exactly as WeCom sends them (plaintext → sealed, signed POST).

Used by `factorybot chat`, the benchmark and the tests, so all three speak the real protocol.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from wecom.crypto import WeComCrypto

_msg_ids = itertools.count(int(time.time() * 1000) * 1000)


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass
class SignedRequest:
    query: dict[str, str]
    body: str


@dataclass
class CallbackBuilder:
    crypto: WeComCrypto
    corp_id: str
    agent_id: int
    clock: object = field(default=time.time)

    def _now(self) -> int:
        return int(self.clock())  # type: ignore[operator]

    def _head(self, userid: str, msg_type: str, create_time: int | None) -> str:
        return (
            f"<ToUserName>{_cdata(self.corp_id)}</ToUserName><FromUserName>{_cdata(userid)}</FromUserName>"
            f"<CreateTime>{create_time or self._now()}</CreateTime><MsgType>{_cdata(msg_type)}</MsgType>"
        )

    def text(self, userid: str, content: str, msg_id: int | str | None = None) -> str:
        return (
            f"<xml>{self._head(userid, 'text', None)}<Content>{_cdata(content)}</Content>"
            f"<MsgId>{msg_id or next(_msg_ids)}</MsgId><AgentID>{self.agent_id}</AgentID></xml>"
        )

    def image(self, userid: str, media_id: str, pic_url: str = "", msg_id: int | str | None = None) -> str:
        return (
            f"<xml>{self._head(userid, 'image', None)}<PicUrl>{_cdata(pic_url)}</PicUrl>"
            f"<MediaId>{_cdata(media_id)}</MediaId><MsgId>{msg_id or next(_msg_ids)}</MsgId>"
            f"<AgentID>{self.agent_id}</AgentID></xml>"
        )

    def event(self, userid: str, event: str, key: str = "", create_time: int | None = None) -> str:
        return (
            f"<xml>{self._head(userid, 'event', create_time)}<Event>{_cdata(event)}</Event>"
            f"<EventKey>{_cdata(key)}</EventKey><AgentID>{self.agent_id}</AgentID></xml>"
        )

    def scan(self, userid: str, result: str, key: str = "scan", create_time: int | None = None) -> str:
        return (
            f"<xml>{self._head(userid, 'event', create_time)}<Event>{_cdata('scancode_waitmsg')}</Event>"
            f"<EventKey>{_cdata(key)}</EventKey><ScanCodeInfo><ScanType>{_cdata('qrcode')}</ScanType>"
            f"<ScanResult>{_cdata(result)}</ScanResult></ScanCodeInfo><AgentID>{self.agent_id}</AgentID></xml>"
        )

    def card_click(
        self, userid: str, event_key: str, task_id: str, response_code: str = "", create_time: int | None = None
    ) -> str:
        return (
            f"<xml>{self._head(userid, 'event', create_time)}<Event>{_cdata('template_card_event')}</Event>"
            f"<EventKey>{_cdata(event_key)}</EventKey><TaskId>{_cdata(task_id)}</TaskId>"
            f"<CardType>{_cdata('button_interaction')}</CardType>"
            f"<ResponseCode>{_cdata(response_code)}</ResponseCode><AgentID>{self.agent_id}</AgentID></xml>"
        )

    def sign(self, plain_xml: str) -> SignedRequest:
        timestamp, nonce = str(self._now()), secrets.token_hex(5)
        body, signature = self.crypto.seal(plain_xml, timestamp, nonce)
        return SignedRequest({"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}, body)


def text_of(xml: str) -> str:
    """Escape for embedding user text in hand-written XML (tests of hostile input)."""
    return escape(xml)
