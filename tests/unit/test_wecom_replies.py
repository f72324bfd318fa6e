from __future__ import annotations

import pytest
import xmltodict

from wecom.cards import Button, button_card
from wecom.inbound import TextMsg
from wecom.replies import (
    Article,
    News,
    NoReply,
    Text,
    UpdateButton,
    UpdateCard,
    no_reply,
    render_xml,
    text,
    text_bytes_ok,
    truncate_utf8,
)

MSG = TextMsg(
    userid="zhangsan",
    corp_id="wwfakecorp0001",
    create_time=1700000000,
    agent_id=1000002,
    msg_id="1",
    content="hi",
)


def parsed(reply: object) -> dict:
    return xmltodict.parse(render_xml(reply, MSG, now=1700000123))["xml"]


def test_text_reply_swaps_from_and_to() -> None:
    doc = parsed(text("你好"))
    assert doc["ToUserName"] == "zhangsan"
    assert doc["FromUserName"] == "wwfakecorp0001"
    assert doc["CreateTime"] == "1700000123"
    assert doc["MsgType"] == "text"
    assert doc["Content"] == "你好"
    assert doc["AgentID"] == "1000002"


@pytest.mark.parametrize("content", ["a]]>b", "]]>", "x]]]]>y", "<b>&amp;</b>"])
def test_cdata_terminator_is_escaped(content: str) -> None:
    xml = render_xml(Text(content), MSG)
    assert "]]]]><![CDATA[>" in xml or "]]>" not in content
    assert xmltodict.parse(xml)["xml"]["Content"] == content


def test_userid_with_cdata_terminator_is_escaped() -> None:
    odd = TextMsg(userid="u]]>x", corp_id="c", create_time=1, agent_id=1, msg_id="1")
    assert xmltodict.parse(render_xml(text("ok"), odd))["xml"]["ToUserName"] == "u]]>x"


def test_truncate_utf8_chinese_at_character_boundary() -> None:
    s = "订单" * 1000  # 6000 bytes
    out = truncate_utf8(s)
    raw = out.encode("utf-8")
    assert len(raw) <= 2048
    assert out.endswith("…")
    raw.decode("utf-8")  # valid UTF-8
    assert out[:-1] == s[: len(out) - 1]
    # 2048 - 3 bytes for "…" = 2045 -> 681 whole 3-byte characters.
    assert len(out) == 682


def test_truncate_utf8_leaves_short_text_and_exact_fit_alone() -> None:
    exact = "a" * 2048
    assert truncate_utf8(exact) == exact
    assert truncate_utf8("短") == "短"
    assert text_bytes_ok(exact) and not text_bytes_ok(exact + "a")
    assert text_bytes_ok("订" * 682) and not text_bytes_ok("订" * 683)


def test_truncate_utf8_mixed_width_never_splits_a_character() -> None:
    s = "a" + "😀" * 1000  # 1 + 4000 bytes
    out = truncate_utf8(s, limit=10)
    assert out == "a😀…"  # 1 + 4 + 3 = 8 bytes; another emoji would need 12
    assert len(out.encode()) <= 10


def test_long_text_reply_is_truncated_in_xml() -> None:
    doc = parsed(Text("料" * 3000))
    assert len(doc["Content"].encode("utf-8")) <= 2048
    assert doc["Content"].endswith("…")


def test_news_reply() -> None:
    news = News((Article("订单 SO-1", "已排产", "https://x/1", "https://x/1.png"), Article("订单 SO-2")))
    doc = parsed(news)
    assert doc["MsgType"] == "news"
    assert doc["ArticleCount"] == "2"
    items = doc["Articles"]["item"]
    assert [i["Title"] for i in items] == ["订单 SO-1", "订单 SO-2"]
    assert items[0]["Url"] == "https://x/1" and items[0]["PicUrl"] == "https://x/1.png"


def test_news_allows_at_most_eight_articles() -> None:
    News(tuple(Article(str(i)) for i in range(8)))
    with pytest.raises(ValueError):
        News(tuple(Article(str(i)) for i in range(9)))
    with pytest.raises(ValueError):
        News(())


def test_update_button_reply() -> None:
    doc = parsed(UpdateButton("已确认"))
    assert doc["MsgType"] == "update_button"
    assert doc["Button"] == {"ReplaceName": "已确认"}
    assert doc["ToUserName"] == "zhangsan"


def test_update_template_card_reply() -> None:
    card = button_card(
        task_id="order_SO-1-abc",
        title="订单 SO-1 待确认",
        desc="客户：华南塑胶",
        rows=[("数量", "5000"), ("交期", "2024-06-01")],
        buttons=[Button("确认", "ok"), Button("拒绝", "no", style=2)],
        replace_text="已处理",
    )
    doc = parsed(UpdateCard(card))
    assert doc["MsgType"] == "update_template_card"
    tc = doc["TemplateCard"]
    assert tc["CardType"] == "button_interaction"
    assert tc["Source"] == {"Desc": "FactoryBot"}
    assert tc["MainTitle"] == {"Title": "订单 SO-1 待确认", "Desc": "客户：华南塑胶"}
    assert tc["HorizontalContentList"] == [
        {"KeyName": "数量", "Value": "5000"},
        {"KeyName": "交期", "Value": "2024-06-01"},
    ]
    assert tc["ButtonList"] == [
        {"Text": "确认", "Style": "1", "Key": "ok"},
        {"Text": "拒绝", "Style": "2", "Key": "no"},
    ]
    assert tc["TaskId"] == "order_SO-1-abc"
    assert tc["ReplaceText"] == "已处理"
    assert doc["AgentID"] == "1000002"


def test_no_reply_renders_empty_string() -> None:
    assert render_xml(NoReply(), MSG) == ""
    assert render_xml(no_reply(), MSG) == ""


def test_render_rejects_non_reply() -> None:
    with pytest.raises(TypeError):
        render_xml("plain string", MSG)  # type: ignore[arg-type]
