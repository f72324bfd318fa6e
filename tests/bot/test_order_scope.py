"""One workshop rule for chat and board, and customer search that takes % and _ literally."""

from __future__ import annotations

import pytest

from bot.web_auth import SESSION_USER
from domain.services.visibility import NOT_YOUR_WORKSHOP
from tests.bot.conftest import uow_for
from tests.factories import add_order

MOULDING_ONLY = "SEORD000099"  # made in 注塑车间 and nowhere else


@pytest.fixture
def plant(harness):
    with uow_for(harness) as uow:
        add_order(uow, bill_no=MOULDING_ONLY, customer="精密模塑有限公司", wo_code="WO20261125-99",
                  route=(("注塑", "注塑车间"),))
        add_order(uow, bill_no="SEORD000100", customer="百分百%纺_织厂", wo_code="WO20261125-A0")
        uow.commit()
    return harness


def board_order(harness, userid: str, bill_no: str):
    client = harness.app.test_client()
    with client.session_transaction() as s:
        s[SESSION_USER] = userid
    return client.get(f"/board/order/{bill_no}")


def test_a_worker_is_refused_the_same_order_in_chat_and_on_the_board(plant):
    chat = plant.say("t1", MOULDING_ONLY)  # 后加工车间: this order never reaches it
    assert chat == NOT_YOUR_WORKSHOP
    assert "WO20261125-99" not in chat and "精密模塑" not in chat
    board = board_order(plant, "t1", MOULDING_ONLY)
    assert board.status_code == 403 and NOT_YOUR_WORKSHOP in board.get_data(as_text=True)
    assert "WO20261125-99" not in board.get_data(as_text=True)


@pytest.mark.parametrize("userid", ["w1", "boss"])  # its own workshop; a plant-wide role
def test_those_whose_workshop_it_is_see_it_in_both(plant, userid):
    assert plant.say(userid, MOULDING_ONLY).startswith(f"订单 {MOULDING_ONLY} · 精密模塑有限公司")
    assert board_order(plant, userid, MOULDING_ONLY).status_code == 200


def test_an_order_passing_through_his_workshop_is_shown_to_him_in_both(plant):
    assert plant.say("t1", "SEORD000001").startswith("订单 SEORD000001")
    assert board_order(plant, "t1", "SEORD000001").status_code == 200


def test_wildcards_in_a_customer_search_match_only_themselves(plant):
    for typed in ("%%", "__", "%_%"):
        assert plant.say("boss", typed).startswith(f"没有找到与「{typed}」相关的订单或客户"), typed
    literal = plant.say("boss", "%纺_")
    assert "SEORD000100" in literal and "SEORD000001" not in literal and "SEORD000099" not in literal
