from __future__ import annotations

import copy
import re

import pytest

from wecom.cards import Button, button_card, make_task_id, text_notice_card, validate_card


def good_card() -> dict:
    return button_card(
        task_id="order_SO-1-abc",
        title="订单 SO-1 待确认",
        rows=[("数量", "5000")],
        buttons=[Button("确认", "ok"), Button("拒绝", "no", style=2)],
    )


def test_button_card_shape() -> None:
    card = good_card()
    assert card["card_type"] == "button_interaction"
    assert card["task_id"] == "order_SO-1-abc"
    assert card["main_title"] == {"title": "订单 SO-1 待确认"}
    assert card["horizontal_content_list"] == [{"keyname": "数量", "value": "5000"}]
    assert card["button_list"] == [
        {"text": "确认", "style": 1, "key": "ok"},
        {"text": "拒绝", "style": 2, "key": "no"},
    ]
    assert card["source"] == {"desc": "FactoryBot"}
    assert "card_action" not in card and "replace_text" not in card


def test_button_card_truncates_long_title_instead_of_failing() -> None:
    card = button_card(task_id="t1", title="很" * 50, buttons=[Button("好", "ok")])
    assert len(card["main_title"]["title"]) == 36
    assert card["main_title"]["title"].endswith("…")


def test_button_card_optional_fields() -> None:
    card = button_card(
        task_id="t1",
        title="标题",
        desc="描述",
        sub_title="二级",
        url="https://h5/x",
        replace_text="已提交",
        buttons=[Button("好", "ok")],
    )
    assert card["main_title"]["desc"] == "描述"
    assert card["sub_title_text"] == "二级"
    assert card["card_action"] == {"type": 1, "url": "https://h5/x"}
    assert card["replace_text"] == "已提交"


def test_text_notice_card() -> None:
    card = text_notice_card(
        task_id="n1",
        title="模具保养提醒",
        rows=[("模具", "M-07")],
        emphasis=("3", "天后到期"),
        url="https://h5/mold/7",
    )
    assert card["card_type"] == "text_notice"
    assert card["emphasis_content"] == {"title": "3", "desc": "天后到期"}
    assert card["jump_list"] == [{"type": 1, "title": "查看详情", "url": "https://h5/mold/7"}]
    assert card["card_action"] == {"type": 1, "url": "https://h5/mold/7"}


def test_text_notice_without_url_is_rejected() -> None:
    with pytest.raises(ValueError, match="card_action"):
        text_notice_card(task_id="n1", title="无链接")


def mutate(fn) -> dict:  # type: ignore[no-untyped-def]
    card = copy.deepcopy(good_card())
    fn(card)
    return card


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(card_type="fancy_card"), "card_type"),
        (lambda c: c.update(button_list=[{"text": str(i), "key": f"k{i}"} for i in range(7)]), "at most 6"),
        (lambda c: c.update(button_list=[{"text": "a", "key": "k"}, {"text": "b", "key": "k"}]), "duplicate"),
        (lambda c: c.update(button_list=[{"text": "a", "key": "键" * 342}]), "1024"),
        (lambda c: c.update(button_list=[]), "button_list"),
        (lambda c: c.update(button_list=[{"text": "a", "key": "k", "style": 9}]), "style"),
        (lambda c: c.update(task_id=""), "task_id"),
        (lambda c: c.pop("task_id"), "task_id"),
        (lambda c: c.update(task_id="a" * 129), "128"),
        (lambda c: c.update(task_id="订单1"), "task_id"),
        (lambda c: c.update(task_id="has space"), "task_id"),
        (lambda c: c.update(task_id="a/b"), "task_id"),
        (
            lambda c: c.update(horizontal_content_list=[{"keyname": str(i), "value": "v"} for i in range(7)]),
            "at most 6",
        ),
        (lambda c: c.update(horizontal_content_list=[{"value": "v"}]), "keyname"),
        (lambda c: c["main_title"].update(title="长" * 37), "36"),
        (lambda c: c.update(main_title={}), "title"),
    ],
)
def test_validate_card_rejects(change, message: str) -> None:  # type: ignore[no-untyped-def]
    card = mutate(change)
    with pytest.raises(ValueError, match=message):
        validate_card(card)


def test_validate_card_accepts_edge_values() -> None:
    card = mutate(
        lambda c: c.update(
            task_id="a" * 128,
            button_list=[{"text": str(i), "key": f"k{i}"} for i in range(6)],
            horizontal_content_list=[{"keyname": str(i), "value": "v"} for i in range(6)],
        )
    )
    card["main_title"]["title"] = "长" * 36
    card["button_list"][0]["key"] = "k" * 1024
    validate_card(card)
    validate_card(mutate(lambda c: c.update(task_id="Az09_-@")))


def test_builders_validate() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        button_card(task_id="t", title="x", buttons=[Button("a", "k"), Button("b", "k")])
    with pytest.raises(ValueError, match="task_id"):
        button_card(task_id="bad id", title="x", buttons=[Button("a", "k")])


def test_make_task_id_is_legal_unique_and_deterministic() -> None:
    legal = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
    a = make_task_id("order", "SO 2024/001", "确认")
    b = make_task_id("order", "SO_2024_001", "确认")
    assert legal.match(a) and legal.match(b)
    assert a.startswith("order_SO_2024_001")
    assert a != b  # same sanitised text, different raw input
    assert a == make_task_id("order", "SO 2024/001", "确认")
    assert make_task_id("x", 1) != make_task_id("x", 2)
    long_id = make_task_id("p" * 300, "q" * 300)
    assert legal.match(long_id) and len(long_id.encode()) <= 128
    assert legal.match(make_task_id("订单"))
