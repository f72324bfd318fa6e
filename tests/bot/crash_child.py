"""A bot process to kill: serves real callbacks on a free port and blocks forever at a chosen point.

`python -m tests.bot.crash_child '<json>'` with database_url, redis_url, api_base, lease, block ("handler":
inside the report handler, its report written but not committed; "store": after the commit, before the
reply is kept) and marker (a file written when it blocks). Prints the port, then serves. The wrapping is
done here, before serving: production code has no hook for it.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

import bot.handlers.text_report as text_report
from bot.app import create_app
from bot.queue import RecordingQueue
from tests.bot.conftest import make_settings


def _block(marker: str) -> None:
    Path(marker).write_text("blocked")
    threading.Event().wait()  # until SIGKILL


def main(config: dict[str, Any]) -> None:
    settings = make_settings(config["database_url"], config["api_base"], redis_url=config["redis_url"],
                             dedup_lease_seconds=config["lease"])
    app = create_app(settings, queue=RecordingQueue())
    core = app.extensions["bot"].core
    if config["block"] == "handler":
        record = text_report.record_report

        def record_then_block(*args: Any, **kwargs: Any) -> Any:
            result = record(*args, **kwargs)
            _block(config["marker"])
            return result

        text_report.record_report = record_then_block  # type: ignore[assignment]
    else:
        store = core.dedup.store

        def block_before_store(key: str, reply_xml: str) -> None:
            _block(config["marker"])
            store(key, reply_xml)

        core.dedup.store = block_before_store  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
