"""The quantity mini-form in headless Chromium: WeCom OAuth (via the fake) → form → report → result."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from domain import qr_payload
from domain.models import Operation, WorkOrder, WorkReport
from tests.bot.conftest import LABEL_KEY, serve_on_a_port

sync_api = pytest.importorskip("playwright.sync_api")

WO = "WO20261125-01"


@pytest.fixture
def served(db_url, plant_db, fake_wecom):
    fake_wecom.reset()
    app, base, stop = serve_on_a_port(db_url, fake_wecom)
    yield app, base
    stop()


def moulded(app) -> tuple[int, int, int]:
    with app.extensions["bot"].runtime.uow() as uow:
        op = uow.session.scalar(select(Operation).join(WorkOrder).where(WorkOrder.code == WO, Operation.seq == 1))
        reports = len(uow.session.scalars(select(WorkReport)).all())
        return op.good_qty, op.defect_qty, reports


def open_form(browser, fake_wecom, base: str, userid: str, payload: str):
    page = browser.new_context().new_page()
    form_url = f"{base}/forms/report?wo={quote(payload)}"
    # Signing in to the fake WeCom stands for the member being logged in to the WeCom app.
    page.goto(f"{fake_wecom.url}/_fake/login?userid={userid}&next={quote(form_url, safe='')}")
    return page


def test_worker_reports_through_the_form_once_even_when_resubmitted(served, browser, fake_wecom):
    app, base = served
    page = open_form(browser, fake_wecom, base, "w1", qr_payload.encode(WO, LABEL_KEY.encode()))
    assert page.inner_text("h1") == f"报工 · {WO} 注塑"
    assert page.inner_text("#remaining").startswith("1000 件")
    assert "code=" not in page.url  # the used OAuth code is dropped from the address
    token = page.input_value("input[name=token]")
    # Nothing the form cannot know is filled in: the remainder is a hint, not a value.
    assert (page.input_value("#good"), page.get_attribute("#good", "placeholder")) == ("", "剩余 1000 件")
    assert page.input_value("#defect") == ""

    page.fill("#good", "700")
    page.fill("#defect", "5")
    page.click("#submit")
    assert page.inner_text("#headline") == "已完成! 今日累计完成 700 件"
    assert page.inner_text("#points") == "积分 +16，今日积分 16"  # 504 standard minutes at 1000 a 720-minute day
    assert moulded(app) == (700, 5, 1)

    # The same form posted again (a double tap, a reload) is the same report.
    again = page.request.post(f"{base}/forms/report", form={
        "wo": qr_payload.encode(WO, LABEL_KEY.encode()), "token": token, "good": "700", "defect": "5"})
    assert again.status == 200 and "未重复计数" in again.text()
    assert moulded(app) == (700, 5, 1)
    page.context.close()


def test_bad_quantities_are_explained_on_the_form_and_record_nothing(served, browser, fake_wecom):
    app, base = served
    payload = qr_payload.encode(WO, LABEL_KEY.encode())
    page = open_form(browser, fake_wecom, base, "w1", payload)
    page.fill("#good", "5000")
    page.click("#submit")
    assert "最多还能报 1050 件" in page.inner_text("#error")
    assert page.input_value("#good") == "5000"  # what they typed stays, to correct it

    token = page.input_value("input[name=token]")
    negative = page.request.post(f"{base}/forms/report", form={"wo": payload, "token": token, "good": "-3"})
    assert negative.status == 400 and "良品数量不能为负数" in negative.text()
    forged = page.request.post(f"{base}/forms/report", form={"wo": payload, "token": "abc.def", "good": "3"})
    assert forged.status == 400 and "表单已失效" in forged.text()
    assert moulded(app) == (0, 0, 0)

    # A worker of another workshop gets the reason instead of a form.
    other = open_form(browser, fake_wecom, base, "q1", payload)
    assert "上道工序" in other.inner_text("#message")
    hand_made = open_form(browser, fake_wecom, base, "w1", f"FB1:{WO}:AAAAAAAAAAAA")
    assert "二维码校验失败" in hand_made.inner_text("#message")
    assert moulded(app) == (0, 0, 0)


def test_the_form_is_closed_to_anyone_not_signed_in_through_wecom(served):
    app, base = served
    client = app.test_client()
    resp = client.get(f"/forms/report?wo={quote(qr_payload.encode(WO, LABEL_KEY.encode()))}")
    assert resp.status_code == 302 and "/connect/oauth2/authorize?appid=wwfakecorp0001" in resp.location
    assert client.post("/forms/report", data={"good": "10"}).status_code == 401
    bogus = client.get("/forms/report?wo=x&code=nonsense&state=nope")
    assert bogus.status_code == 400 and "登录状态已失效" in bogus.get_data(as_text=True)
    assert moulded(app) == (0, 0, 0)
