from __future__ import annotations

import json
from pathlib import Path

import pytest

from wecom import inbound
from wecom.inbound import (
    CardClick,
    EnterAgent,
    ImageMsg,
    InboundParseError,
    LocationEvent,
    LocationMsg,
    MenuClick,
    MenuView,
    ScanEvent,
    SelectedItem,
    TextMsg,
    UnknownMsg,
    from_dict,
    parse,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wecom"


def load(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


ALL_FIXTURES = sorted(p.name for p in FIXTURES.glob("*.xml"))


def test_fixture_set_is_complete() -> None:
    expected = {
        "text.xml",
        "image.xml",
        "location.xml",
        "enter_agent.xml",
        "click.xml",
        "view.xml",
        "scancode_waitmsg.xml",
        "scancode_push.xml",
        "template_card_event.xml",
        "template_card_event_two_items.xml",
        "template_card_menu_event.xml",
    }
    assert expected <= set(ALL_FIXTURES)


def test_text() -> None:
    msg = parse(load("text.xml"))
    assert msg == TextMsg(
        userid="zhangsan",
        corp_id="wwfakecorp0001",
        create_time=1700000000,
        agent_id=1000002,
        msg_id="7300000000000000001",
        content="查询订单 SO-2024-001",
    )
    assert msg.kind == "text"
    assert msg.dedup_key == "msg:7300000000000000001"


def test_image() -> None:
    msg = parse(load("image.xml"))
    assert isinstance(msg, ImageMsg) and msg.kind == "image"
    assert (msg.media_id, msg.pic_url) == ("MEDIA_photo_001", "https://wework.qpic.cn/fake/photo.jpg")


def test_location() -> None:
    msg = parse(load("location.xml"))
    assert isinstance(msg, LocationMsg) and msg.kind == "location"
    assert msg.x == pytest.approx(23.134521) and msg.y == pytest.approx(113.358803)
    assert (msg.scale, msg.label) == (20, "广州市番禺区注塑车间")


def test_enter_agent() -> None:
    msg = parse(load("enter_agent.xml"))
    assert isinstance(msg, EnterAgent) and msg.kind == "enter_agent"
    assert msg.msg_id == ""
    assert msg.dedup_key == "evt:zhangsan:1700000003:enter_agent::"


def test_click_and_view() -> None:
    click = parse(load("click.xml"))
    assert isinstance(click, MenuClick) and click.kind == "click" and click.key == "menu_my_orders"
    assert click.dedup_key == "evt:zhangsan:1700000004:click:menu_my_orders:"
    view = parse(load("view.xml"))
    assert isinstance(view, MenuView) and view.kind == "view"
    assert view.url == "https://factorybot.example.com/h5/orders"


@pytest.mark.parametrize(
    ("name", "event", "scan_type", "result"),
    [
        ("scancode_waitmsg.xml", "scancode_waitmsg", "qrcode", "JOB:WO-2024-0042"),
        ("scancode_push.xml", "scancode_push", "barcode", "6901234567892"),
    ],
)
def test_scan_events(name: str, event: str, scan_type: str, result: str) -> None:
    msg = parse(load(name))
    assert isinstance(msg, ScanEvent) and msg.kind == "scan"
    assert (msg.event, msg.scan_type, msg.scan_result) == (event, scan_type, result)


def test_template_card_event_with_one_selected_item() -> None:
    msg = parse(load("template_card_event.xml"))
    assert isinstance(msg, CardClick) and msg.kind == "card"
    assert msg.event == "template_card_event"
    assert msg.event_key == "approve:SO-2024-001"
    assert msg.task_id == "order_SO-2024-001-3f2a9c1b7e"
    assert msg.card_type == "button_interaction"
    assert msg.response_code == "RESPONSE_CODE_ONE"
    assert msg.agent_id == 1000002
    # xmltodict gives a dict (not a list) for a single item and a str for a single option.
    assert msg.selected_items == (SelectedItem("machine", ("m07",)),)
    assert msg.selected("machine") == ("m07",)
    assert msg.dedup_key == (
        "evt:zhangsan:1700000008:template_card_event:approve:SO-2024-001:order_SO-2024-001-3f2a9c1b7e"
    )


def test_template_card_event_with_two_selected_items() -> None:
    msg = parse(load("template_card_event_two_items.xml"))
    assert isinstance(msg, CardClick)
    assert msg.selected_items == (
        SelectedItem("shift", ("night",)),
        SelectedItem("defects", ("flash", "short_shot")),
    )
    assert msg.selected("nope") == ()


def test_template_card_menu_event() -> None:
    msg = parse(load("template_card_menu_event.xml"))
    assert isinstance(msg, CardClick)
    assert msg.event == "template_card_menu_event"
    assert (msg.event_key, msg.card_type, msg.response_code) == (
        "mute_order_alerts",
        "text_notice",
        "RESPONSE_CODE_MENU",
    )
    assert msg.selected_items == ()


def test_location_event() -> None:
    msg = parse(load("location_event.xml"))
    assert isinstance(msg, LocationEvent) and msg.kind == "location_event"
    assert msg.latitude == pytest.approx(23.137466)
    assert msg.precision == pytest.approx(119.38504)


def test_unsupported_message_is_unknown() -> None:
    msg = parse(load("voice.xml"))
    assert isinstance(msg, UnknownMsg) and msg.kind == "unknown"
    assert (msg.msg_type, msg.event) == ("voice", "")
    assert msg.dedup_key == "msg:7300000000000000004"


def test_unknown_event_keeps_event_name() -> None:
    xml = load("click.xml").replace("<![CDATA[click]]>", "<![CDATA[change_contact]]>")
    msg = parse(xml)
    assert isinstance(msg, UnknownMsg)
    assert (msg.msg_type, msg.event) == ("event", "change_contact")


def test_two_clicks_in_the_same_second_have_different_dedup_keys() -> None:
    a = parse(load("click.xml"))
    b = parse(load("click.xml").replace("menu_my_orders", "menu_new_order"))
    assert a.create_time == b.create_time and a.userid == b.userid
    assert a.dedup_key != b.dedup_key


def test_two_card_clicks_same_second_different_task_differ() -> None:
    a = parse(load("template_card_event.xml"))
    b = parse(load("template_card_event.xml").replace("order_SO-2024-001-3f2a9c1b7e", "order_SO-2024-002-aa"))
    assert a.dedup_key != b.dedup_key


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_to_dict_from_dict_round_trip_through_json(name: str) -> None:
    msg = parse(load(name))
    data = json.loads(json.dumps(msg.to_dict()))
    assert data["kind"] == msg.kind
    again = from_dict(data)
    assert again == msg
    assert type(again) is type(msg)
    assert again.dedup_key == msg.dedup_key


def test_from_dict_rejects_unknown_kind_and_fields() -> None:
    with pytest.raises(InboundParseError):
        from_dict({"kind": "nope"})
    data = parse(load("text.xml")).to_dict()
    with pytest.raises(InboundParseError):
        from_dict({**data, "surprise": 1})


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "not xml at all",
        "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime></xml>",  # no MsgType
        "<xml><MsgType>text</MsgType><CreateTime>1</CreateTime></xml>",  # no FromUserName
        "<xml><MsgType>text</MsgType><FromUserName>u</FromUserName><CreateTime>soon</CreateTime></xml>",
        "<xml><MsgType>text</MsgType><FromUserName>u</FromUserName></xml>",  # no CreateTime
        "<root><MsgType>text</MsgType></root>",
        '<!DOCTYPE x [<!ENTITY a "b">]><xml><MsgType>text</MsgType><FromUserName>&a;</FromUserName></xml>',
        "<xml><MsgType>event</MsgType><FromUserName>u</FromUserName><CreateTime>1</CreateTime></xml>",
    ],
)
def test_garbage_raises_inbound_parse_error(xml: str) -> None:
    with pytest.raises(InboundParseError):
        parse(xml)


def test_inbound_parse_error_is_value_error() -> None:
    assert issubclass(inbound.InboundParseError, ValueError)


def _text_with_id(msg_id: str) -> str:
    return (
        "<xml><ToUserName><![CDATA[wwfakecorp0001]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("1234567890123456", "msg:1234567890123456"),
        ("<![CDATA[CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw==]]>", "msg:CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw=="),
        ("CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw==", "msg:CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw=="),
        (" 0042 ", "msg:42"),
    ],
)
def test_msg_id_in_either_form_gives_a_stable_dedup_key(raw: str, key: str) -> None:
    msg = parse(_text_with_id(raw))
    assert msg.dedup_key == key
    assert from_dict(json.loads(json.dumps(msg.to_dict()))).dedup_key == key


def test_a_task_queued_with_a_numeric_msg_id_keeps_its_key() -> None:
    # Celery messages written before MsgId became text carry it as a JSON number.
    data = parse(_text_with_id("7300000000000000001")).to_dict()
    assert from_dict({**data, "msg_id": 7300000000000000001}).dedup_key == "msg:7300000000000000001"


@pytest.mark.parametrize("raw", ["两个字", "a b", "x" * 129])
def test_a_msg_id_that_is_neither_a_number_nor_printable_text_is_refused(raw: str) -> None:
    with pytest.raises(InboundParseError):
        parse(_text_with_id(raw))
