"""完成 means what was made: the card's button shows exactly what one tap records, never more than the shift
could have made at the press's standard rate, never on tomorrow's work order, and a stale card records nothing.

The plant is one 08:00-20:00 shift (720 working minutes); the clock is set to the moments that matter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from bot.web_auth import SESSION_USER
from domain import qr_payload
from domain.models import Operation, WorkOrder, WorkReport
from tests.bot.conftest import LABEL_KEY, set_clock, uow_for

WO = "WO20261125-01"
TOMORROWS = "WO20261125-02"


def local(hour: int, minute: int = 0, day: int = 25) -> datetime:
    """A moment on the plant's clock (Asia/Shanghai, UTC+8)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def label(code: str = WO) -> str:
    return qr_payload.encode(code, LABEL_KEY.encode())


def plan(live, code: str = WO, *, qty: int = 20000, daily: int = 12000, start: datetime | None = None) -> None:
    with uow_for(live) as uow:
        wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == code))
        wo.planned_qty, wo.daily_plan_qty = qty, daily
        if start is not None:
            wo.planned_start, wo.planned_finish = start, start + timedelta(days=2)
        uow.commit()


def moulded(live, code: str = WO) -> tuple[int, int]:
    with uow_for(live) as uow:
        op = uow.session.scalar(select(Operation).join(WorkOrder).where(WorkOrder.code == code, Operation.seq == 1))
        return op.good_qty, op.defect_qty


def reports(live) -> list[int]:
    with uow_for(live) as uow:
        return list(uow.session.scalars(select(WorkReport.good_qty).order_by(WorkReport.id)))


def report_count(live) -> int:
    with uow_for(live) as uow:
        return uow.session.scalar(select(func.count()).select_from(WorkReport))


def buttons(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in card["button_list"]]


def updated_card(reply: dict[str, Any]) -> dict[str, Any]:
    """The card a tap's passive reply put in place, in the shape live.tap takes."""
    assert reply["MsgType"] == "update_template_card", reply
    card = reply["TemplateCard"]
    raw = card["ButtonList"]
    raw = raw if isinstance(raw, list) else [raw]
    return {"task_id": card["TaskId"], "sub_title_text": card.get("SubTitleText", ""),
            "button_list": [{"text": b["Text"], "key": b.get("Key")} for b in raw]}


def morning(live, *, daily: int):
    """A plan of `daily` a day, 1345 pieces already reported on the press by 09:30, the clock at 10:00."""
    plan(live, daily=daily)
    set_clock(live, local(9, 30))
    assert live.say("w2", f"报工 {WO} 良品 1345").startswith("已完成!")
    set_clock(live, local(10))
    return live


def test_done_offers_what_the_shift_could_have_made_not_a_days_plan(live):
    # 12000 a day over 720 minutes: 2000 by 10:00, of which 1345 are reported. The old card offered 12000.
    morning(live, daily=12000)
    text, card = live.scan("w1", label())
    assert text == f"已识别工单 {WO}（注塑），请在下方卡片上点「完成」或「填写数量」。"
    assert buttons(card) == ["完成 655 件", "填写数量", "报异常"]
    assert card["sub_title_text"] == "一键完成记 655 件良品：本班按标准产能至今约 2000 件，已报 1345 件"

    done = live.reply(live.tap("w1", card, "完成"))
    assert done["TemplateCard"]["MainTitle"]["Title"] == "已完成! 今日累计完成 655 件"
    assert reports(live) == [1345, 655] and moulded(live) == (2000, 0)


def test_nothing_plausible_left_offers_no_done_and_says_why(live):
    # 2000 a day: 333 by 10:00, and 1345 are already reported. The old card offered 完成 2000 件.
    morning(live, daily=2000)
    text, card = live.scan("w1", label())
    assert buttons(card) == ["填写数量", "报异常"]
    assert card["sub_title_text"] == "本班已报 1345 件，已超过按标准产能推算的 333 件，暂不能一键完成，请点「填写数量」"
    assert text == (f"已识别工单 {WO}（注塑）：本班已报 1345 件，已超过按标准产能推算的 333 件，暂不能一键完成，"
                    "请在下方卡片上点「填写数量」。")


def test_before_the_shift_starts_there_is_nothing_to_complete(live):
    plan(live, start=local(8, day=24))  # due since yesterday: only the shift's start is awaited
    set_clock(live, local(7, 30))
    _, card = live.scan("w1", label())
    assert buttons(card) == ["填写数量", "报异常"]
    assert card["sub_title_text"] == "白班 08:00 开始，暂不能一键完成，请点「填写数量」"


def test_tomorrows_work_order_offers_no_done_and_a_typed_report_says_early_start(live):
    plan(live, TOMORROWS, qty=5000, daily=5000, start=local(8, day=26))
    set_clock(live, local(15))
    text, card = live.scan("w1", label(TOMORROWS))
    assert buttons(card) == ["填写数量", "报异常"]  # the old card offered 完成 5000 件
    assert card["sub_title_text"] == "计划 11-26 开工，暂不能一键完成，请点「填写数量」"
    assert text == (f"已识别工单 {TOMORROWS}（注塑）：计划 11-26 开工，暂不能一键完成，"
                    "请在下方卡片上点「填写数量」。")

    # A counted quantity may still be typed (a press freed early starts the next job), and the reply says
    # it was taken as an early start of that work order, not as its plan done.
    reply = live.say("w1", f"报工 {TOMORROWS} 良品 120")
    assert reply.startswith("已完成! 今日累计完成 120 件")
    assert reply.endswith("（工单计划 11-26 开工，本次按提前开工记录）")
    assert moulded(live, TOMORROWS) == (120, 0)


def test_a_stale_card_records_nothing_and_offers_the_figure_that_holds_now(live):
    # At the shift's end a whole day's plan is plausible: the old card offered the same 完成 12000 件, and
    # its stale tap recorded 12000 on top of what was reported meanwhile.
    plan(live)
    set_clock(live, local(20))
    _, card = live.scan("w1", label())
    assert buttons(card)[0] == "完成 12000 件"
    assert live.say("w2", f"报工 {WO} 良品 1500").startswith("已完成!")  # someone reports meanwhile

    refused = updated_card(live.reply(live.tap("w1", card, "完成")))
    assert live.texts("w1")[-1] == ("未记录：卡片上的「完成 12000 件」已过时，现在一键完成记 10500 件良品："
                                    "本班按标准产能至今约 12000 件，已报 1500 件。卡片已更新，请核对后再点。")
    assert [b["text"] for b in refused["button_list"]] == ["完成 10500 件", "填写数量", "报异常"]
    assert refused["task_id"] == card["task_id"]
    assert reports(live) == [1500]  # nothing recorded by the stale tap

    done = live.reply(live.tap("w1", refused, "完成"))
    assert done["TemplateCard"]["MainTitle"]["Title"] == "已完成! 今日累计完成 10500 件"
    assert reports(live) == [1500, 10500]
    again = live.reply(live.tap("w1", refused, "完成"))  # the same button tapped twice is the same report
    assert again["TemplateCard"]["MainTitle"]["Title"] == "已完成! 今日累计完成 10500 件"
    assert reports(live) == [1500, 10500]


def test_a_stale_card_with_nothing_left_to_offer_is_refused(live):
    plan(live, qty=30000)
    set_clock(live, local(20))
    _, card_a = live.scan("w1", label())
    _, card_b = live.scan("w2", label())
    assert buttons(card_a)[0] == buttons(card_b)[0] == "完成 12000 件"
    live.reply(live.tap("w2", card_b, "完成"))

    # The old tap recorded a second 12000 in a shift that could make 12000.
    refused = updated_card(live.reply(live.tap("w1", card_a, "完成")))
    assert live.texts("w1")[-1] == ("未记录：卡片上的「完成 12000 件」已过时，本班已报 12000 件，已达按标准产能推算的 "
                                    "12000 件，暂不能一键完成。卡片已更新，请点「填写数量」。")
    assert [b["text"] for b in refused["button_list"]] == ["填写数量", "报异常"]
    assert reports(live) == [12000] and moulded(live) == (12000, 0)


def test_a_tap_later_records_exactly_the_cards_figure(live):
    plan(live)
    set_clock(live, local(10))
    _, card = live.scan("w1", label())
    assert buttons(card)[0] == "完成 2000 件"
    set_clock(live, local(11))  # 3000 would be plausible now: the tap still records what the card said
    live.reply(live.tap("w1", card, "完成"))
    assert reports(live) == [2000]


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.by_name: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            found = dict(attrs)
            self.by_name[found.get("name") or ""] = found


def form_page(live, userid: str, code: str = WO) -> tuple[Any, str, dict[str, dict[str, str | None]]]:
    """A signed-in worker's form page: the client, the page and its inputs by name."""
    client = live.app.test_client()
    with client.session_transaction() as s:
        s[SESSION_USER] = userid
    page = client.get(f"/forms/report?wo={quote(label(code))}").get_data(as_text=True)
    inputs = _Inputs()
    inputs.feed(page)
    return client, page, inputs.by_name


def test_the_form_prefills_nothing_and_the_server_still_checks(live):
    client, _, inputs = form_page(live, "w1")
    # The old form pre-filled 良品 with the whole remainder (value="1000") and 不良 with 0.
    assert (inputs["good"]["value"], inputs["good"]["placeholder"]) == ("", "剩余 1000 件")
    assert (inputs["defect"]["value"], inputs["defect"]["placeholder"]) == ("", "0")
    token = inputs["token"]["value"]

    empty = client.post("/forms/report", data={"wo": label(), "token": token, "good": "", "defect": ""})
    assert empty.status_code == 400 and "数量必须大于0" in empty.get_data(as_text=True)
    over = client.post("/forms/report", data={"wo": label(), "token": token, "good": "1051"})
    assert over.status_code == 400 and "最多还能报 1050 件" in over.get_data(as_text=True)
    assert 'value="1051"' in over.get_data(as_text=True)  # what was typed stays, to correct it
    assert report_count(live) == 0


def test_the_form_on_tomorrows_work_order_says_so(live):
    plan(live, TOMORROWS, qty=5000, daily=5000, start=local(8, day=26))
    set_clock(live, local(15))
    _, page, _ = form_page(live, "w1", TOMORROWS)
    assert '<div class="card" id="early">计划 11-26 开工，提前开工请按实际数量填写</div>' in page


def test_a_form_report_of_defects_only_is_not_called_done_and_earns_nothing(live):
    client, _, inputs = form_page(live, "w1")
    done = client.post("/forms/report", data={"wo": label(), "token": inputs["token"]["value"], "good": "0",
                                              "defect": "5"})
    page = done.get_data(as_text=True)
    # The old page said "已完成! 今日累计完成 0 件" and "积分 +0".
    assert done.status_code == 200 and "已完成!" not in page and "积分 +" not in page
    assert "已记录不良 5 件（良品 0）" in page and "只报不良不计积分，今日积分 0" in page
    assert "10 分钟内可回复「撤销」撤回" in page


def test_a_press_running_another_job_this_shift_offers_only_its_free_minutes(live):
    # Both work orders on P01 at 12 000 a day (16.7 a minute). By 12:00 the shift has run 240 minutes, and
    # the press moulded 2000 pieces (120 minutes) of WO-01 in them: WO-02 can have had only the other 120.
    plan(live, WO)
    plan(live, TOMORROWS, start=local(8))
    with uow_for(live) as uow:
        uow.session.scalar(select(WorkOrder).where(WorkOrder.code == TOMORROWS)).machine = "P01"
        uow.commit()
    set_clock(live, local(11))
    assert live.say("w2", f"报工 {WO} 良品 2000").startswith("已完成!")
    set_clock(live, local(12))
    _, card = live.scan("w1", label(TOMORROWS))
    # The old card offered 完成 4000 件: the whole shift at WO-02's rate, as if the press had done nothing else.
    assert buttons(card)[0] == "完成 2000 件"
    assert "（机台 P01 本班另有其他工单约 120 分钟）" in card["sub_title_text"]
