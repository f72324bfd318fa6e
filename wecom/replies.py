"""Passive-reply values and the one place that turns them into reply XML.

wechatpy puts text in CDATA without escaping and has no update_button /
update_template_card replies, so we render every reply ourselves.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wecom.inbound import Inbound

MAX_TEXT_BYTES = 2048
MAX_ARTICLES = 8
ELLIPSIS = "…"


@dataclass(frozen=True)
class Text:
    content: str


@dataclass(frozen=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    pic_url: str = ""


@dataclass(frozen=True)
class News:
    articles: tuple[Article, ...]

    def __post_init__(self) -> None:
        if not self.articles:
            raise ValueError("News needs at least one article")
        if len(self.articles) > MAX_ARTICLES:
            raise ValueError(f"News allows at most {MAX_ARTICLES} articles, got {len(self.articles)}")
        # Accept a list for convenience but keep the value hashable/immutable.
        object.__setattr__(self, "articles", tuple(self.articles))


@dataclass(frozen=True)
class UpdateButton:
    """Grey out the clicked button for the clicking user, showing `replace_name`."""

    replace_name: str


@dataclass(frozen=True)
class UpdateCard:
    """Replace the clicking user's whole card; `card` is a template_card dict from cards.py."""

    card: Mapping[str, Any]


@dataclass(frozen=True)
class NoReply:
    pass


Reply = Text | News | UpdateButton | UpdateCard | NoReply


def text(s: str) -> Text:
    return Text(s)


def no_reply() -> NoReply:
    return NoReply()


# --- UTF-8 size helpers -------------------------------------------------------------------


def text_bytes_ok(s: str, limit: int = MAX_TEXT_BYTES) -> bool:
    return len(s.encode("utf-8")) <= limit


def truncate_utf8(s: str, limit: int = MAX_TEXT_BYTES) -> str:
    """Cut `s` to at most `limit` UTF-8 bytes on a character boundary, ending with "…" if cut."""
    data = s.encode("utf-8")
    if len(data) <= limit:
        return s
    budget = limit - len(ELLIPSIS.encode("utf-8"))
    if budget <= 0:
        return ""
    # errors="ignore" drops a partially cut trailing character, never emitting invalid UTF-8.
    return data[:budget].decode("utf-8", errors="ignore") + ELLIPSIS


# --- XML rendering ------------------------------------------------------------------------


def cdata(value: object) -> str:
    """CDATA section safe for any text: ']]>' is split across two sections."""
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _camel(name: str) -> str:
    special = {"keyname": "KeyName"}
    if name in special:
        return special[name]
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return cdata(value)


def _element(name: str, value: Any) -> str:
    tag = _camel(name)
    if value is None:
        return ""
    if isinstance(value, Mapping):
        inner = "".join(_element(k, v) for k, v in value.items())
        return f"<{tag}>{inner}</{tag}>"
    if isinstance(value, list | tuple):
        # WeCom's XML repeats the list's own element name once per item (no wrapper element).
        return "".join(_element(name, item) for item in value)
    return f"<{tag}>{_scalar(value)}</{tag}>"


def card_to_xml(card: Mapping[str, Any]) -> str:
    """Render a template_card dict (message/send shape) as a <TemplateCard> element."""
    return _element("template_card", card)


def _header(msg: Inbound, msg_type: str, now: int) -> str:
    return (
        f"<ToUserName>{cdata(msg.userid)}</ToUserName>"
        f"<FromUserName>{cdata(msg.corp_id)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime>"
        f"<MsgType>{cdata(msg_type)}</MsgType>"
    )


def _articles(articles: Sequence[Article]) -> str:
    items = "".join(
        "<item>"
        f"<Title>{cdata(a.title)}</Title>"
        f"<Description>{cdata(a.description)}</Description>"
        f"<PicUrl>{cdata(a.pic_url)}</PicUrl>"
        f"<Url>{cdata(a.url)}</Url>"
        "</item>"
        for a in articles
    )
    return f"<ArticleCount>{len(articles)}</ArticleCount><Articles>{items}</Articles>"


def render_xml(reply: Reply, msg: Inbound, *, now: int | None = None) -> str:
    """Plaintext reply XML for `msg`, or '' for NoReply (answer HTTP 200 with an empty body)."""
    if isinstance(reply, NoReply):
        return ""
    ts = int(time.time()) if now is None else int(now)
    if isinstance(reply, Text):
        body = _header(msg, "text", ts) + f"<Content>{cdata(truncate_utf8(reply.content))}</Content>"
    elif isinstance(reply, News):
        body = _header(msg, "news", ts) + _articles(reply.articles)
    elif isinstance(reply, UpdateButton):
        body = (
            _header(msg, "update_button", ts)
            + f"<Button><ReplaceName>{cdata(reply.replace_name)}</ReplaceName></Button>"
        )
    elif isinstance(reply, UpdateCard):
        body = _header(msg, "update_template_card", ts) + card_to_xml(reply.card)
    else:
        raise TypeError(f"not a reply: {reply!r}")
    return f"<xml>{body}<AgentID>{msg.agent_id}</AgentID></xml>"
