"""The board in headless Chromium on the demo plant: filter, live update from a chat report, the order's
timeline, and refusal without a sign-in or a valid display token."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from domain.demo import load_demo_plant
from domain.models import Alert, Operation, WorkOrder
from domain.services.display_tokens import create_token, revoke_token
from domain.services.exception_photos import attach_photo
from domain.services.exceptions import open_exception
from domain.vocab import AlertStatus
from tests.bot.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN, serve_on_a_port
from wecom.crypto import WeComCrypto
from wecom.simulate import CallbackBuilder

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def board(db_url, make_uow, fake_wecom):
    fake_wecom.reset()
    app, base, stop = serve_on_a_port(db_url, fake_wecom)
    rt = app.extensions["bot"].runtime
    with make_uow() as uow:
        load_demo_plant(uow, today=rt.today(), policy=rt.policy)
        uow.commit()
    yield app, base
    stop()


def signed_in(browser, fake_wecom, url: str, userid: str):
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{fake_wecom.url}/_fake/login?userid={userid}&next={quote(url, safe='')}")
    return page


def moulding_in_progress(app) -> tuple[str, str, int]:
    with app.extensions["bot"].runtime.uow() as uow:
        wo, op = uow.session.execute(
            select(WorkOrder, Operation).join(Operation, Operation.work_order_id == WorkOrder.id)
            .where(Operation.seq == 1, Operation.status == "in_progress", WorkOrder.workshop == "注塑车间",
                   WorkOrder.planned_qty - Operation.good_qty > 100).order_by(WorkOrder.code).limit(1)).one()
        return wo.code, wo.line.order.bill_no, op.good_qty


def say(app, userid: str, text: str) -> None:
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    builder = CallbackBuilder(crypto, CORP_ID, AGENT_ID)
    signed = builder.sign(builder.text(userid, text))
    assert app.test_client().post("/wecom/callback", query_string=signed.query, data=signed.body).status_code == 200


def test_supervisor_filters_sees_a_chat_report_arrive_and_opens_the_timeline(board, browser, fake_wecom):
    app, base = board
    page = signed_in(browser, fake_wecom, f"{base}/board", "wangwu")
    page.wait_for_selector(".row")
    assert page.inner_text("h1") == "订单执行看板 · 注塑车间"
    total = int(page.inner_text("#c-total").split("/")[1])
    assert total > 0 and page.locator(".row").count() == total

    page.select_option("select[name=status]", "已逾期")
    page.wait_for_function("document.querySelectorAll('.row:not(.late)').length === 0")
    late = page.locator(".row.late").count()
    assert 0 < late < total and page.inner_text("#c-total") == f"{late}/{total}"
    page.select_option("select[name=status]", "")
    page.wait_for_function(f"document.querySelectorAll('.row').length === {total}")

    code, bill_no, good = moulding_in_progress(app)
    row = page.locator(f".row[data-wo='{code}']")
    assert f"注塑 {good}（" in row.inner_text()
    say(app, "zhangsan", f"报工 {code} 良品 37")
    # No reload: the next poll brings the new figure (the page polls every 3 s).
    page.wait_for_function(
        f"document.querySelector(\".row[data-wo='{code}']\").innerText.includes('注塑 {good + 37}（')",
        timeout=10_000)

    row.locator("a").click()
    page.wait_for_selector("#timeline")
    assert page.inner_text("h1").startswith(f"订单 {bill_no}")
    assert f"张三 报工 {code} 注塑：良品 37" in page.inner_text("#timeline")
    page.context.close()


def test_no_sign_in_no_data_and_a_revoked_screen_goes_dark(board, browser, make_uow, fake_wecom):
    app, base = board
    anonymous = browser.new_context().new_page()
    resp = anonymous.goto(f"{base}/board")
    assert resp.status == 401 and "not signed in" in anonymous.content()  # stopped at WeCom's sign-in
    assert anonymous.request.get(f"{base}/board/data.json").status == 401
    assert anonymous.request.get(f"{base}/board/data.json?token=guess").status == 401
    rt = app.extensions["bot"].runtime

    with make_uow() as uow:
        token = create_token(uow, name="注塑车间大屏", workshop="注塑车间", now=rt.now())
        uow.commit()
    wall = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    wall.goto(f"{base}/board/wall?token={token}")
    wall.wait_for_selector(".row")
    assert wall.locator("form.filters").count() == 0 and "wall" in wall.locator("body").get_attribute("class")
    with make_uow() as uow:
        revoke_token(uow, name="注塑车间大屏", now=rt.now())
        uow.commit()
    assert wall.request.get(f"{base}/board/data.json?token={token}").status == 401
    again = wall.goto(f"{base}/board/wall?token={token}")
    assert again.status == 403 and "已失效或被吊销" in wall.content()
    # Someone not on the plant's list is signed in by WeCom but sees nothing.
    stranger = signed_in(browser, fake_wecom, f"{base}/board", "nobody")
    assert "尚未开通" in stranger.content()


def test_an_alert_shows_on_its_row_without_a_reload(board, browser, fake_wecom):
    app, base = board
    rt = app.extensions["bot"].runtime
    page = signed_in(browser, fake_wecom, f"{base}/board", "wangwu")
    page.wait_for_selector(".row")
    code, bill_no, _ = moulding_in_progress(app)
    row = page.locator(f".row[data-wo='{code}']")
    assert "告警" not in row.inner_text() and "alerted" not in row.get_attribute("class")
    with rt.uow() as uow:
        uow.session.add(Alert(rule="late_forecast", subject_key=f"forecast:{bill_no}:late", title="交期预警",
                              facts={}, status=AlertStatus.OPEN, level=0, fired_at=rt.now()))
        uow.commit()
    page.wait_for_function(
        f"document.querySelector(\".row[data-wo='{code}']\").innerText.includes('告警 1')", timeout=10_000)
    assert "alerted" in row.get_attribute("class") and int(page.inner_text("#c-alert")) >= 1
    page.context.close()


def jpeg(width: int = 640, height: int = 480) -> bytes:
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", (width, height), (200, 60, 40)).save(buf, "JPEG")
    return buf.getvalue()


def exception_with_photo(app, code: str) -> int:
    """An exception reported on `code` by 张三 with one photo, as the chat would store it."""
    deps = app.extensions["bot"]
    rt = deps.runtime
    with rt.uow() as uow:
        exc = open_exception(uow, rt.policy, userid="zhangsan", type="模具问题", source_key=f"photo-{code}",
                             now=rt.now(), work_order_code=code, description="模具飞边")
        attach_photo(uow, store=deps.core.tools.photo_store, userid="zhangsan", source_key=f"photo-{code}-1",
                     data=jpeg(), now=rt.now(), exception_id=exc.id)
        uow.commit()
        return exc.id


def test_a_wall_screen_sends_its_token_in_a_header_and_opens_orders_and_photos_without_it(board, browser,
                                                                                          make_uow):
    app, base = board
    rt = app.extensions["bot"].runtime
    code, bill_no, _ = moulding_in_progress(app)
    exception_with_photo(app, code)
    with make_uow() as uow:
        token = create_token(uow, name="注塑车间大屏", workshop="注塑车间", now=rt.now())
        uow.commit()
    wall = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    polls = []
    wall.on("request", lambda r: polls.append(r) if "/board/data.json" in r.url else None)
    wall.goto(f"{base}/board/wall?token={token}")
    wall.wait_for_selector(f".row[data-wo='{code}']")
    assert polls and all("token" not in r.url for r in polls)
    assert all(r.headers.get("x-display-token") == token for r in polls)
    link = wall.locator(f".row[data-wo='{code}'] a")
    assert "token" not in link.get_attribute("href")

    # The order page and its photos open by the screen's session, with no token in any address.
    photos = []
    wall.on("response", lambda r: photos.append(r) if "/board/photo/" in r.url else None)
    link.click()
    wall.wait_for_selector("#timeline")
    img = wall.locator(".photos img").first
    img.wait_for()
    wall.wait_for_function("document.querySelector('.photos img').complete")
    assert img.evaluate("i => i.naturalWidth") > 0
    assert photos and all(r.status == 200 and "token" not in r.url for r in photos)

    with make_uow() as uow:
        revoke_token(uow, name="注塑车间大屏", now=rt.now())
        uow.commit()
    assert wall.goto(f"{base}/board/order/{bill_no}").status == 401  # back to WeCom's sign-in
    assert wall.request.get(f"{base}/board/data.json").status == 401
    wall.context.close()


def test_an_exceptions_photo_shows_on_its_orders_page(board, browser, fake_wecom):
    app, base = board
    code, bill_no, _ = moulding_in_progress(app)
    exc_id = exception_with_photo(app, code)
    page = signed_in(browser, fake_wecom, f"{base}/board/order/{bill_no}", "wangwu")
    page.wait_for_selector("#timeline")
    item = page.locator("#timeline li", has_text=f"报告异常 #{exc_id} 模具问题")
    assert f"张三 报告异常 #{exc_id} 模具问题（{code}）：模具飞边" in item.inner_text()
    thumb = item.locator(".photos img")
    thumb.wait_for()
    page.wait_for_function("[...document.querySelectorAll('.photos img')].every(i => i.complete)")
    assert thumb.evaluate("i => i.naturalWidth") > 0
    # The thumbnail opens the full photo.
    full = page.request.get(base + item.locator(".photos a").get_attribute("href"))
    assert full.status == 200 and full.headers["content-type"] == "image/jpeg" and len(full.body()) > 1000
    page.context.close()


def test_a_bookmarked_filter_applies_from_the_first_rows(board, browser, fake_wecom):
    _, base = board
    page = signed_in(browser, fake_wecom, f"{base}/board?stage={quote('入库')}&status={quote('已逾期')}", "wangwu")
    page.wait_for_selector(".row")
    assert page.get_attribute("#rows", "data-version") == "1"  # the first answer, not a later poll
    rows = page.locator(".row")
    assert rows.count() > 0 and page.locator(".row:not(.late)").count() == 0
    assert all("【入库】" in t for t in rows.all_inner_texts())
    assert page.input_value("select[name=stage]") == "入库" and page.input_value("select[name=status]") == "已逾期"
    shown, total = (int(n) for n in page.inner_text("#c-total").split("/"))
    assert shown == rows.count() < total
    # The choices arrive with the data, each once.
    page.wait_for_function("document.querySelector('select[name=stage]').options.length > 2")
    stages = page.locator("select[name=stage] option").all_inner_texts()
    assert stages[1:] == ["接单", "评审", "排产", "领料", "生产", "质检", "入库", "出货"]
    page.context.close()
