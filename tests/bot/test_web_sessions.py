"""The pages' session cookie: its own key (never the WeCom secret), Secure on HTTPS, a shift's life, a logout."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from itsdangerous import TimestampSigner

from bot.app import create_app
from bot.queue import RecordingQueue
from bot.web_auth import SESSION_USER
from domain import qr_payload
from factorybot.config import ConfigError, Settings
from tests.bot.conftest import AES_KEY, LABEL_KEY, SECRET, make_settings

FORM = f"/forms/report?wo={quote(qr_payload.encode('WO20261125-01', LABEL_KEY.encode()), safe='')}"


def app_with(db_url, fake_wecom, tmp_path, **extra):
    settings = make_settings(db_url, fake_wecom.url, label_key=LABEL_KEY, wecom_oauth_base=fake_wecom.url,
                             session_secret_file=str(tmp_path / "session.key"), **extra)
    return create_app(settings, queue=RecordingQueue())


def sign_in(client, fake_wecom, userid: str):
    """The OAuth round trip a WeCom browser makes: our state out, WeCom's code and the same state back."""
    out = client.get(FORM)
    assert out.status_code == 302
    state = parse_qs(urlsplit(out.location).query)["state"][0]
    return client.get(f"{FORM}&code={fake_wecom.oauth_code(userid)}&state={state}")


def session_cookie(resp) -> str:
    return next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("fb_session="))


def signed_in_as_someone(client) -> bool:
    return client.get(FORM).status_code == 200  # the form itself, not the way to WeCom's sign-in


def test_on_https_the_cookie_is_secure_and_lasts_a_shift(db_url, plant_db, fake_wecom, tmp_path):
    client = app_with(db_url, fake_wecom, tmp_path, public_url="https://bot.example.com").test_client()
    cookie = session_cookie(sign_in(client, fake_wecom, "w1"))
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert "secure" in parts and "httponly" in parts
    expires = parsedate_to_datetime(next(p for p in cookie.split(";") if p.strip().lower().startswith("expires="))
                                    .split("=", 1)[1])
    assert timedelta(hours=11, minutes=55) < expires - datetime.now(UTC) <= timedelta(hours=12)


def test_on_plain_http_the_cookie_is_not_secure(db_url, plant_db, fake_wecom, tmp_path):
    client = app_with(db_url, fake_wecom, tmp_path, public_url="http://127.0.0.1:8000").test_client()
    cookie = session_cookie(sign_in(client, fake_wecom, "w1"))
    assert "secure" not in [p.strip().lower() for p in cookie.split(";")]


def test_a_sign_in_older_than_its_life_is_over(db_url, plant_db, fake_wecom, tmp_path, monkeypatch):
    app = app_with(db_url, fake_wecom, tmp_path, session_lifetime_hours=12)
    client = app.test_client()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 13 * 3600)
    stale = serializer.dumps({SESSION_USER: "w1"})
    monkeypatch.undo()
    client.set_cookie("fb_session", stale)
    assert not signed_in_as_someone(client)
    client.set_cookie("fb_session", serializer.dumps({SESSION_USER: "w1"}))
    assert signed_in_as_someone(client)


def test_the_wecom_secret_does_not_forge_a_session(db_url, plant_db, fake_wecom, tmp_path):
    app = app_with(db_url, fake_wecom, tmp_path)
    derived = hashlib.sha256(f"factorybot-session\0{SECRET}\0{AES_KEY}".encode()).digest()
    forger = type(app)("forger")
    forger.secret_key = derived
    serializer = forger.session_interface.get_signing_serializer(forger)  # type: ignore[attr-defined]
    client = app.test_client()
    client.set_cookie("fb_session", serializer.dumps({SESSION_USER: "w1"}))
    assert not signed_in_as_someone(client)


def test_a_generated_key_is_kept_private_and_shared_by_every_worker(db_url, plant_db, fake_wecom, tmp_path):
    first, second = app_with(db_url, fake_wecom, tmp_path), app_with(db_url, fake_wecom, tmp_path)
    key_file = tmp_path / "session.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert first.secret_key == second.secret_key == key_file.read_text().strip().encode()
    one = first.test_client()
    sign_in(one, fake_wecom, "w1")
    other = second.test_client()
    other.set_cookie("fb_session", one.get_cookie("fb_session").value)
    assert signed_in_as_someone(other)  # a sign-in on one gunicorn worker holds on the next


def test_session_secret_is_the_key_when_set(db_url, plant_db, fake_wecom, tmp_path):
    app = app_with(db_url, fake_wecom, tmp_path, session_secret="a-long-dedicated-session-secret")
    assert app.secret_key == b"a-long-dedicated-session-secret"
    assert not (tmp_path / "session.key").exists()


def test_logout_ends_the_sign_in_and_the_pages_link_to_it(db_url, plant_db, fake_wecom, tmp_path):
    client = app_with(db_url, fake_wecom, tmp_path).test_client()
    sign_in(client, fake_wecom, "w1")
    form = client.get(FORM)
    assert 'href="/logout"' in form.get_data(as_text=True)
    assert 'href="/logout"' in client.get("/board").get_data(as_text=True)
    out = client.get("/logout")
    assert out.status_code == 200 and "已退出登录" in out.get_data(as_text=True)
    assert not signed_in_as_someone(client)
    assert client.get("/board/data.json").status_code == 401


@pytest.mark.parametrize("value", ["short", "               x"])
def test_a_short_session_secret_is_refused(value):
    with pytest.raises(ConfigError, match="SESSION_SECRET"):
        Settings.from_env(session_secret=value)
