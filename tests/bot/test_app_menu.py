"""The app menu: built from the routes' buttons, each button answered by its route through a real callback,
pushed with `factorybot wecom menu push` to the fake WeCom, which checks WeCom's shape rules."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.handlers import app_menu, build_router
from bot.routing import Router, RouterError, Routes
from domain import qr_payload
from domain.models import ActionEvent
from factorybot.cli import main
from tests.bot.conftest import AGENT_ID, CORP_ID, LABEL_KEY, SECRET, uow_for
from wecom.client import WeComClient
from wecom.errors import WeComAPIError
from wecom.menu import MenuButton, MenuError, build_menu
from wecom.replies import Text

FALLBACK_TEXT = "暂时无法识别这条消息"


def _leaves(menu: dict) -> list[dict]:
    return [sub for b in menu["button"] for sub in (b.get("sub_button") or [b])]


def test_the_plant_menu_has_a_waiting_scan_button_and_the_asked_for_entries():
    leaves = {b["name"]: b for b in _leaves(app_menu())}
    # Only scancode_waitmsg lets the scan's reply reach the worker (scancode_push shows the raw code).
    assert leaves["扫码报工"]["type"] == "scancode_waitmsg"
    assert {"我的订单", "我的今天", "预警"} <= set(leaves)
    assert [b["name"] for b in app_menu()["button"]] == ["扫码报工", "我的", "更多"]


def test_every_menu_button_reaches_the_route_that_declared_it_through_the_callback(live):
    router = build_router()
    declared = {r.button.key: r.name for r in router.routes if r.button is not None}
    leaves = _leaves(app_menu())
    assert {b["key"] for b in leaves} == set(declared)
    for button in leaves:
        if button["type"] == "scancode_waitmsg":
            xml = live.builder.scan("w1", qr_payload.encode("WO20261125-01", LABEL_KEY.encode()),
                                    key=button["key"], create_time=live.event_time())
        else:
            assert button["type"] == "click"
            xml = live.builder.event("w1", "click", button["key"], create_time=live.event_time())
        reply = live.reply_text(live.post(xml)[0])
        assert reply and FALLBACK_TEXT not in reply, (button, reply)
        with uow_for(live) as uow:
            last = uow.session.execute(select(ActionEvent.route, ActionEvent.outcome)
                                       .order_by(ActionEvent.id.desc()).limit(1)).one()
        assert tuple(last) == (declared[button["key"]], "ok"), button
    # What the worker sees for two of them: the scan card's prompt and their own day.
    assert live.cards("w1") and live.cards("w1")[-1]["main_title"]["title"]
    today = live.reply_text(live.post(live.builder.event("w1", "click", "my_today",
                                                         create_time=live.event_time()))[0])
    assert today.startswith("张三")


def test_a_click_on_a_key_no_route_declares_gets_the_fallback(live):
    reply = live.reply_text(live.post(live.builder.event("w1", "click", "no_such_key",
                                                         create_time=live.event_time()))[0])
    assert FALLBACK_TEXT in reply


def test_the_builder_refuses_a_menu_wecom_would_refuse_naming_each_problem():
    too_many = [MenuButton(f"按钮{i}", f"k{i}") for i in range(4)]
    with pytest.raises(MenuError, match="一级菜单有 4 个.*最多 3 个"):
        build_menu(too_many)
    with pytest.raises(MenuError) as info:
        build_menu([MenuButton("扫码报工打卡处", "scan", "scancode_waitmsg"),  # 7 characters = 21 bytes
                    MenuButton("我的订单", "dup", under="我的"), MenuButton("我的今天", "dup", under="我的"),
                    MenuButton("拍照", "p", "pic_sysphoto")])
    problems = info.value.args[0]
    assert "按钮名称「扫码报工打卡处」有 21 字节，超过企业微信的 16 字节" in problems
    assert "key dup 同时用于「我的订单」和「我的今天」" in problems
    assert "按钮「拍照」的类型 pic_sysphoto 不受支持" in problems
    six = [MenuButton(f"子{i}", f"s{i}", under="更多") for i in range(6)]
    with pytest.raises(MenuError, match="「更多」下有 6 个子菜单，企业微信最多 5 个"):
        build_menu(six)
    # A sub-button may be longer than a top-level one: 40 bytes, 13 Chinese characters.
    assert build_menu([MenuButton("一二三四五六七八九十一二三", "long", under="更多")])


def test_the_router_refuses_two_routes_declaring_one_menu_key():
    a, b, last = Routes("a"), Routes("b"), Routes("last")
    a.menu("same", name="甲")(lambda m, c: Text("a"))
    b.menu("same", name="乙")(lambda m, c: Text("b"))
    last.fallback()(lambda m, c: Text("f"))
    with pytest.raises(RouterError, match="menu key same"):
        Router([a, b, last])


@pytest.fixture
def wecom_env(fake_wecom, monkeypatch, tmp_path):
    fake_wecom.reset()
    for name, value in (("WECOM_CORP_ID", CORP_ID), ("WECOM_AGENT_ID", str(AGENT_ID)), ("WECOM_SECRET", SECRET),
                        ("WECOM_API_BASE", fake_wecom.url), ("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return WeComClient(CORP_ID, SECRET, AGENT_ID, fake_wecom.url)


def test_menu_show_prints_the_tree_and_push_creates_it_in_wecom(wecom_env, fake_wecom):
    runner = CliRunner()
    shown = runner.invoke(main, ["wecom", "menu", "show"], catch_exceptions=False)
    assert shown.exit_code == 0
    assert "扫码报工  [scancode_waitmsg · scan_report]" in shown.output
    assert "  ├ 我的订单  [click · my_orders]" in shown.output
    assert wecom_env.get_menu() is None  # menu/get answers 46003 before any menu exists
    assert fake_wecom.calls(path="menu/create") == []  # show sends nothing

    pushed = runner.invoke(main, ["wecom", "menu", "push"], catch_exceptions=False)
    assert pushed.exit_code == 0, pushed.output
    assert f"已推送应用菜单到企业微信（应用 {AGENT_ID}）" in pushed.output
    assert "已用 menu/get 读回核对：与推送的一致" in pushed.output
    assert wecom_env.get_menu() == app_menu()
    (create,) = fake_wecom.calls(path="menu/create")
    assert create["params"] == {"agentid": str(AGENT_ID)} and create["json"] == app_menu()


def test_menu_push_names_missing_settings_and_a_refusal_from_wecom(wecom_env, fake_wecom, monkeypatch):
    runner = CliRunner()
    fake_wecom.fault("menu/create", errcode=60020)
    refused = runner.invoke(main, ["wecom", "menu", "push"])
    assert refused.exit_code == 1
    assert "推送应用菜单失败：企业微信返回 errcode 60020" in refused.output
    assert "企业可信IP" in refused.output
    monkeypatch.delenv("WECOM_SECRET")
    missing = runner.invoke(main, ["wecom", "menu", "push"])
    assert missing.exit_code == 1 and "WECOM_SECRET" in missing.output and "--demo" in missing.output


@pytest.mark.parametrize(("menu", "errcode"), [
    ({"button": []}, 40016),
    ({"button": [{"type": "click", "name": f"k{i}", "key": f"k{i}"} for i in range(4)]}, 40016),
    ({"button": [{"type": "click", "name": "六个汉字按钮", "key": "k"}]}, 40018),  # 18 bytes > 16
    ({"button": [{"type": "tap", "name": "扫码", "key": "k"}]}, 40017),
    ({"button": [{"type": "click", "name": "扫码", "key": "k" * 129}]}, 40019),
    ({"button": [{"name": "更多", "sub_button": []}]}, 40023),
    ({"button": [{"name": "更多", "sub_button": [{"type": "click", "name": f"s{i}", "key": f"s{i}"}
                                                 for i in range(6)]}]}, 40023),
    ({"button": [{"name": "更多", "sub_button": [{"type": "click", "name": "一" * 14, "key": "s"}]}]}, 40025),
    ({"button": [{"name": "更多", "sub_button": [{"type": "view", "name": "看板", "url": ""}]}]}, 40027),
])
def test_the_fake_refuses_what_wecom_refuses_and_keeps_the_menu_it_had(wecom_env, menu, errcode):
    wecom_env.create_menu(app_menu())
    with pytest.raises(WeComAPIError) as info:
        wecom_env.create_menu(menu)
    assert info.value.errcode == errcode
    assert wecom_env.get_menu() == app_menu()
