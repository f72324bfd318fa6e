"""The router's construction checks (Router._freeze) and its first-match-wins order."""

from __future__ import annotations

import pytest

from bot.routing import Router, RouterError, Routes
from wecom.inbound import TextMsg
from wecom.replies import Text


def _reply(text: str):
    return lambda msg, ctx: Text(text)


def _fallback(module: str = "fallback") -> Routes:
    routes = Routes(module)
    routes.fallback()(_named("help_me", _reply("帮助")))
    return routes


def _named(name: str, fn):
    fn.__name__ = name
    return fn


def _text(userid: str, content: str) -> TextMsg:
    return TextMsg(userid=userid, corp_id="wwfakecorp0001", create_time=1, agent_id=1, msg_id="1", content=content)


def test_the_real_routes_freeze_and_end_with_the_fallback():
    from bot.handlers import build_router

    router = build_router()
    assert router.routes[-1].kind == "fallback"
    assert len(router.by_name) == len(router.routes)


def test_a_duplicate_route_name_is_refused():
    a, b = Routes("orders"), Routes("orders")
    a.text(r"订单")(_named("show", _reply("a")))
    b.text(r"查询")(_named("show", _reply("b")))
    with pytest.raises(RouterError, match="duplicate route name orders.show"):
        Router([a, b, _fallback()])


@pytest.mark.parametrize("groups", ["none", "two", "not last"])
def test_exactly_one_fallback_and_last(groups):
    text = Routes("t")
    text.text(r"帮助")(_named("help", _reply("x")))
    arrangement = {"none": [text], "two": [text, _fallback("f1"), _fallback("f2")],
                   "not last": [_fallback(), text]}[groups]
    with pytest.raises(RouterError, match="exactly one fallback"):
        Router(arrangement)


@pytest.mark.parametrize("catch_all", [".*", ".+", r"[\s\S]*"])
def test_a_text_route_after_a_catch_all_text_route_is_shadowed(catch_all):
    early, late = Routes("early"), Routes("late")
    early.text(catch_all)(_named("anything", _reply("any")))
    late.text(r"我的订单")(_named("mine", _reply("mine")))
    with pytest.raises(RouterError, match="route late.mine is shadowed by an earlier catch-all text route"):
        Router([early, late, _fallback()])


def test_a_catch_all_text_route_shadows_no_other_kind():
    early, late = Routes("early"), Routes("late")
    early.text(".*")(_named("anything", _reply("any")))
    late.image()(_named("photo", _reply("photo")))
    late.scan()(_named("scan", _reply("scan")))
    router = Router([early, late, _fallback()])
    assert [r.name for r in router.routes] == ["early.anything", "late.photo", "late.scan", "fallback.help_me"]


def test_first_match_wins_and_hands_over_the_named_groups():
    first, second = Routes("first"), Routes("second")
    first.text(r"订单\s*(?P<bill>\w+)")(_named("bill", _reply("bill")))
    second.text(r"(?P<q>.+)")(_named("anything", _reply("any")))
    router = Router([first, second, _fallback()])
    route, match = router.match(_text("w1", " 订单 SEORD000001 "))
    assert route.name == "first.bill" and match == {"bill": "SEORD000001"}
    route, match = router.match(_text("w1", "美的"))
    assert route.name == "second.anything" and match == {"q": "美的"}


def test_a_catch_all_text_route_just_before_the_fallback_is_allowed():
    last = Routes("orders")
    last.text(".+")(_named("by_customer", _reply("list")))
    router = Router([last, _fallback()])
    assert router.match(_text("w1", "随便什么"))[0].name == "orders.by_customer"
    assert router.match(TextMsg(userid="w1", corp_id="c", create_time=1, agent_id=1, msg_id="2", content=""))[0].kind \
        == "fallback"


def test_an_answer_route_is_never_matched_in_order_and_one_per_kind():
    asks = Routes("asks")
    asks.answer("fault_press")(_named("press", _reply("机台")))
    router = Router([asks, _fallback()])
    route, _ = router.match(_text("w1", "P05"))
    assert route.kind == "fallback"
    assert router.answer_route("fault_press") is not None and router.answer_route("other") is None
    again = Routes("again")
    again.answer("fault_press")(_named("press2", _reply("机台")))
    with pytest.raises(RouterError, match="conversation fault_press is answered by asks.press and again.press2"):
        Router([asks, again, _fallback()])
