"""MsgId in both forms WeCom sends: digits (clients before 5.0) and text (client 5.0, 2025-09 on).

The string example is the one of WxJava issue 3714 and its testMsgIdStringAndNumericFormats.
"""

from __future__ import annotations

from sqlalchemy import func, select

from domain.models import WorkReport
from tests.bot.conftest import uow_for
from tests.bot.test_shopfloor_reporting import WO, op_totals

STRING_ID = "CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw=="
NUMERIC_ID = "1234567890123456"


def reports(h) -> int:
    with uow_for(h) as uow:
        return uow.session.scalar(select(func.count()).select_from(WorkReport))


def test_numeric_and_string_msg_ids_are_both_answered(live):
    numeric, _ = live.post(live.builder.text("w1", f"报工 {WO} 良品 100", msg_id=NUMERIC_ID))
    string, _ = live.post(live.builder.text("w1", f"报工 {WO} 良品 200", msg_id=STRING_ID))
    assert live.reply_text(numeric).startswith("已完成! 今日累计完成 100 件")
    assert live.reply_text(string).startswith("已完成! 今日累计完成 300 件")
    assert op_totals(live, "注塑") == (300, 0) and reports(live) == 2


def test_a_repeated_delivery_of_a_string_msg_id_counts_once(live):
    plain = live.builder.text("w1", f"报工 {WO} 良品 100", msg_id=STRING_ID)
    first, _ = live.post(plain)
    # WeCom's retry: the same message sealed and signed again, and the identical request once more.
    again, signed = live.post(plain)
    third, _ = live.post("", repeat_of=signed)
    assert live.reply_text(first).startswith("已完成! 今日累计完成 100 件")
    assert live.reply(again) == live.reply(first) and live.reply(third) == live.reply(first)
    assert op_totals(live, "注塑") == (100, 0) and reports(live) == 1


def test_the_same_id_with_padding_whitespace_is_the_same_message(live):
    live.post(live.builder.text("w1", f"报工 {WO} 良品 100", msg_id=STRING_ID))
    live.post(live.builder.text("w1", f"报工 {WO} 良品 100", msg_id=f" {STRING_ID}\n"))
    live.post(live.builder.text("w1", f"报工 {WO} 良品 50", msg_id=NUMERIC_ID))
    live.post(live.builder.text("w1", f"报工 {WO} 良品 50", msg_id=f"000{NUMERIC_ID}"))
    assert op_totals(live, "注塑") == (150, 0) and reports(live) == 2


def test_a_msg_id_that_is_neither_is_refused_and_counts_nothing(live):
    resp, _ = live.post(live.builder.text("w1", f"报工 {WO} 良品 100", msg_id="两个 字"))
    assert resp.status_code == 400
    assert reports(live) == 0
