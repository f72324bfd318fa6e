"""Login CSRF: a link carrying someone else's OAuth code never signs anyone in as them (real OAuth through
the fake WeCom, real browser)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from domain import qr_payload
from domain.models import Person, WorkReport
from tests.bot.conftest import LABEL_KEY, serve_on_a_port

sync_api = pytest.importorskip("playwright.sync_api")

WO = "WO20261125-01"


@pytest.fixture
def served(db_url, plant_db, fake_wecom):
    fake_wecom.reset()
    app, base, stop = serve_on_a_port(db_url, fake_wecom)
    yield app, base
    stop()


def reporters(app) -> list[str]:
    with app.extensions["bot"].runtime.uow() as uow:
        return list(uow.session.scalars(select(Person.userid).join(WorkReport, WorkReport.operator_id == Person.id)))


def form_link(base: str, **extra: str) -> str:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in extra.items())
    return f"{base}/forms/report?wo={quote(qr_payload.encode(WO, LABEL_KEY.encode()), safe='')}&{query}"


def test_an_attackers_code_signs_nobody_in(served, browser, fake_wecom):
    app, base = served
    code = fake_wecom.oauth_code("w2")  # the attacker's own code, put in a link sent to a colleague
    page = browser.new_context().new_page()
    page.goto(form_link(base, code=code))
    assert page.locator("input[name=token]").count() == 0  # no form: not signed in as the attacker
    assert "登录状态已失效" in page.inner_text("#message")
    # A guessed or copied state does not help either: only the one this browser was given matches.
    page.goto(form_link(base, code=fake_wecom.oauth_code("w2"), state="anything"))
    assert "登录状态已失效" in page.inner_text("#message")
    resp = page.request.post(f"{base}/forms/report", form={"wo": "x", "token": "x", "good": "1"})
    assert resp.status == 401
    page.context.close()


def test_a_signed_in_worker_stays_himself_after_opening_an_attackers_link(served, browser, fake_wecom):
    app, base = served
    page = browser.new_context().new_page()
    page.goto(f"{fake_wecom.url}/_fake/login?userid=w1&next={quote(form_link(base), safe='')}")
    assert page.locator("input[name=token]").count() == 1  # w1 signed in through WeCom

    page.goto(form_link(base, code=fake_wecom.oauth_code("w2")))
    assert "code=" not in page.url  # the foreign code is dropped from the address, unused
    page.fill("#good", "10")
    page.click("#submit")
    assert page.inner_text("#headline").startswith("已完成")
    assert reporters(app) == ["w1"]  # recorded under the victim, not the attacker
    page.context.close()

