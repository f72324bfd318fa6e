"""Screenshots of the board on the demo plant for the README: phone (inside WeCom) and a 1080p wall screen.

    .venv/bin/python docs/make_screenshots.py     # writes docs/board-phone.png and docs/board-wall.png
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from bot.app import create_app  # noqa: E402
from domain.demo import load_demo_plant  # noqa: E402
from domain.migrate import upgrade  # noqa: E402
from domain.services.display_tokens import create_token  # noqa: E402
from factorybot.config import Settings  # noqa: E402
from factorybot.demo_env import DEMO_DEFAULTS  # noqa: E402
from wecom.fake.app import create_fake_wecom  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def main() -> None:
    db = f"sqlite:///{tempfile.mkdtemp(prefix='factorybot-shots-')}/demo.db"
    upgrade(db)
    fake_server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    bot_server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    fake_url, bot_url = f"http://127.0.0.1:{fake_server.server_port}", f"http://127.0.0.1:{bot_server.server_port}"
    values = {**DEMO_DEFAULTS, "database_url": db, "wecom_api_base": fake_url, "wecom_oauth_base": fake_url,
              "public_url": bot_url}
    settings = Settings(**values)  # type: ignore[arg-type]
    fake_server.app = create_fake_wecom(str(values["wecom_corp_id"]), str(values["wecom_secret"]),
                                        int(values["wecom_agent_id"]))
    app = create_app(settings)
    bot_server.app = app
    rt = app.extensions["bot"].runtime
    with rt.uow() as uow:
        load_demo_plant(uow, today=rt.today(), policy=rt.policy)
        token = create_token(uow, name="注塑车间大屏", workshop="注塑车间", now=rt.now())
        uow.commit()
    for server in (fake_server, bot_server):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    time.sleep(3)  # the bot's first alert round, so the board shows exception markers as it would
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2).new_page()
        phone.goto(f"{fake_url}/_fake/login?userid=wangwu&next={quote(bot_url + '/board', safe='')}")
        phone.wait_for_selector(".row")
        phone.screenshot(path=str(ROOT / "docs" / "board-phone.png"))
        wall = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        wall.goto(f"{bot_url}/board/wall?token={token}")
        wall.wait_for_selector(".row")
        wall.screenshot(path=str(ROOT / "docs" / "board-wall.png"))
        browser.close()
    print("wrote docs/board-phone.png and docs/board-wall.png")


if __name__ == "__main__":
    main()
