"""At DEBUG, with every logger on (ours, urllib3, werkzeug, gunicorn), no log line holds a secret: the WeCom
secret, token and AES key, access tokens, OAuth codes, display tokens, the ops and label keys, database and
KIS passwords. The masked names stay, so a line still says what was called."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from domain.services.display_tokens import create_token
from tests.bot.conftest import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, make_settings
from tests.integration.demo_process import free_port
from wecom.client import WeComClient
from wecom.errors import TransientError

OPS_TOKEN = "ops-token-6f1d0c2b9a"
LABEL_KEY = "label-key-3e8a1f6b"
KIS_PWD = "Kis-Pa55word-77"
DB_PASSWORD = "Db-Pa55word-91"
CONFIGURED = (SECRET, TOKEN, AES_KEY, OPS_TOKEN, LABEL_KEY, KIS_PWD, DB_PASSWORD)
ROOT = Path(__file__).resolve().parents[2]


class Configured:
    """The process's logging as create_app configures it, writing to a buffer; every logger at DEBUG."""

    def __init__(self) -> None:
        self.out = io.StringIO()

    def lines(self) -> list[str]:
        return [line for line in self.out.getvalue().splitlines() if line.strip()]


@pytest.fixture(params=["json", "text"])
def configured(request, caplog) -> Iterator[tuple[str, Configured]]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, getattr(root, "_factorybot_configured", False))
    for handler in saved[0]:
        if handler is not caplog.handler:
            root.removeHandler(handler)
    root._factorybot_configured = False  # type: ignore[attr-defined]
    sink = Configured()
    yield request.param, sink
    for handler in list(root.handlers):
        if handler is not caplog.handler:
            root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    root._factorybot_configured = saved[2]  # type: ignore[attr-defined]


def start_bot(db_url: str, fake_wecom, fmt: str, sink: Configured):
    """The bot on a real werkzeug server (its request log on), configured at DEBUG in `fmt`."""
    from werkzeug.serving import make_server

    from bot.app import create_app
    from bot.queue import RecordingQueue

    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{server.server_port}"
    settings = make_settings(
        db_url, fake_wecom.url, public_url=base, wecom_oauth_base=fake_wecom.url, log_level="DEBUG", log_format=fmt,
        ops_token=OPS_TOKEN, label_key=LABEL_KEY, kis_odbc=f"DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=kis;"
        f"DATABASE=AIS2026;UID=sa;PWD={KIS_PWD};TrustServerCertificate=yes")
    app = create_app(settings, queue=RecordingQueue())
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)
                   and not type(h).__name__.startswith("LogCapture"))
    handler.setStream(sink.out)  # type: ignore[attr-defined]
    assert logging.getLogger().level == logging.DEBUG
    server.app = app
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, base, server.shutdown


def test_no_secret_reaches_any_log_line_at_debug(configured, caplog, db_url, make_uow, fake_wecom):
    fmt, sink = configured
    caplog.set_level(logging.DEBUG)
    fake_wecom.reset()
    app, base, stop = start_bot(db_url, fake_wecom, fmt, sink)
    deps = app.extensions["bot"]
    try:
        # The real WeComClient against the fake WeCom: gettoken, message/send, a revoked token fetched again,
        # an OAuth code exchanged.
        deps.client.send_text(["w1"], "日志测试")
        fake_wecom.revoke_tokens()
        deps.client.send_text(["w1"], "日志测试 2")
        access_token = deps.client._wx.access_token
        code = fake_wecom.oauth_code("w1")
        deps.client.userid_from_oauth_code(code)
        # WeCom out of reach: the error names the URL it tried, corpsecret and all, and is logged as the
        # in-process queue logs a retry and as a task logs a failure.
        down = WeComClient(CORP_ID, SECRET, AGENT_ID, f"http://127.0.0.1:{free_port()}", timeout=2)
        with pytest.raises(TransientError) as failed:
            down.send_text(["w1"], "x")
        assert "corpsecret=" + SECRET in str(failed.value)  # the secret really is in what gets logged
        logging.getLogger("bot.queue").warning("in-process task %s: %s; retry in %.0fs", "bot.send", failed.value, 2)
        try:
            raise failed.value
        except TransientError:
            logging.getLogger("bot.tasks").exception("task failed")
        logging.getLogger("kis.sqlserver").debug("connecting to %s", deps.settings.kis_odbc)
        logging.getLogger("factorybot").debug("database %s", f"postgresql://fb:{DB_PASSWORD}@db:5432/fb",
                                              extra={"user": f"Bearer {OPS_TOKEN}", "kind": LABEL_KEY})
        # The wall screen opens its page with the token in the address; an OAuth redirect brings a code.
        with make_uow() as uow:
            display = create_token(uow, name="日志测试大屏", workshop=None, now=deps.runtime.now())
            uow.commit()
        assert requests.get(f"{base}/board/wall", params={"token": display}, timeout=10).status_code == 200
        requests.get(f"{base}/board/data.json", headers={"X-Display-Token": display}, timeout=10)
        oauth_code = fake_wecom.oauth_code("w1")
        requests.get(f"{base}/forms/report", params={"wo": "x", "code": oauth_code, "state": "s"}, timeout=10,
                     allow_redirects=False)
        requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {OPS_TOKEN}"}, timeout=10)
    finally:
        stop()

    secrets = (*CONFIGURED, access_token, code, oauth_code, display)
    lines = sink.lines()
    assert lines, "nothing was logged"
    # Everything any handler is given (gunicorn's and Celery's handlers are not ours): caplog holds the records.
    records = [r.getMessage() + "\n" + (r.exc_text or "") + "\n" + repr(vars(r)) for r in caplog.records]
    for where, texts in (("log output", lines), ("log records", records)):
        leaked = [(s, t) for t in texts for s in secrets if s in t]
        assert not leaked, f"secrets in the {where}: {leaked[:3]}"
    if fmt == "json":
        parsed = [json.loads(line) for line in lines]  # still one JSON object per line
        assert any(p.get("user") == "Bearer ***" and p.get("kind") == "***" for p in parsed)  # extra= fields
    text = "\n".join(lines)
    # The names stay, so a line still says what was asked of whom.
    for kept in ("/cgi-bin/gettoken?corpid=" + CORP_ID + "&corpsecret=***", "message/send?access_token=***",
                 "auth/getuserinfo?code=***&access_token=***", "/board/wall?token=***",
                 "/forms/report?wo=x&code=***&state=s", "PWD=***", "postgresql://fb:***@db:5432/fb"):
        assert kept in text, kept
    assert "Traceback" in text and "network error" in text


GUNICORN_APP = """
import os
from bot.app import create_app
from bot.queue import RecordingQueue
from tests.bot.conftest import make_settings

app = create_app(make_settings(os.environ["TEST_DB_URL"], os.environ["TEST_FAKE_URL"], log_level="DEBUG",
                               ops_token=os.environ["TEST_OPS_TOKEN"]), queue=RecordingQueue())
"""


def test_the_gunicorn_access_log_masks_the_display_token(tmp_path, db_url, make_uow, fake_wecom):
    """gunicorn's access log (off unless --access-logfile is given) and its master's own lines do not go
    through our handler; the master logs before any app exists."""
    (tmp_path / "gunicorn_app.py").write_text(GUNICORN_APP)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "TEST_DB_URL": db_url,
           "TEST_FAKE_URL": fake_wecom.url, "TEST_OPS_TOKEN": OPS_TOKEN}
    log = tmp_path / "gunicorn.log"
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "python:factorybot.gunicorn_conf", "--workers", "1",
         "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "--log-level", "debug", "-e", f"OPS_TOKEN={OPS_TOKEN}", "gunicorn_app:app"],
        env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.3)
        with make_uow() as uow:
            display = create_token(uow, name="gunicorn 大屏", workshop=None, now=datetime.now(UTC))
            uow.commit()
        wall = f"{base}/board/wall?token={display}"
        assert requests.get(wall, timeout=10).status_code == 200
        requests.get(f"{base}/board/data.json", headers={"Referer": wall, "X-Display-Token": display}, timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    out = log.read_text()
    assert display not in out and OPS_TOKEN not in out, out
    assert '"GET /board/wall?token=*** HTTP/1.1" 200' in out, out
    assert "raw_env: ['OPS_TOKEN=***']" in out  # the master's configuration at --log-level debug
