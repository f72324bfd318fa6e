"""A local fake of the WeCom server API, for tests and the demo.

It follows WeCom's observable contract closely enough to catch our mistakes: access tokens
with 40014 on unknown tokens, per-type message validation, single-use 72 h response codes,
media size limits, JSON errors with HTTP 200 from media/get, single-use OAuth codes. Under
/_fake/ are control endpoints that WeCom does not have: call log, reset, fault injection,
OAuth code minting, media staging.

message/send honours WeCom's duplicate check: with `enable_duplicate_check: 1`, a message identical to one
this agent delivered within `duplicate_check_interval` seconds (default 1800, at most 14400) — same msgtype
and content (card), same touser/toparty/totag — is answered errcode 0 with the first one's msgid but not
delivered again. It is logged with `"duplicate": true` and left out of /_fake/calls unless asked for with
`?duplicates=1`, so /_fake/calls lists what people actually received.

/_fake/faults takes {"path", "errcode" | "http_status", "delay", "count", "errmsg", "from_ip", "touser",
"after"}: the next `count` calls to `path` (only those addressed to `touser`, when given) fail with the
errcode or HTTP status, or stall `delay` seconds first. With `"after": true` the call is performed and
logged as usual and only then is the answer held back `delay` seconds: a timeout on a send that in fact
went through.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from flask import Flask

from wecom.fake import api, control
from wecom.fake.directory import Directory
from wecom.fake.state import FakeWecom


def create_fake_wecom(
    corp_id: str,
    secret: str,
    agent_id: int,
    users: Mapping[str, str] | None = None,
    *,
    strict_users: bool = False,
    clock: Callable[[], float] = time.time,
    directory: Directory | None = None,
) -> Flask:
    """Build the fake. `users` maps userid → name; unknown users still receive messages
    unless strict_users=True. `clock` lets tests age tokens, codes and media. `directory` is the
    address book (default: every user in the root department); /_fake/reset restores it."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024  # above WeCom's limits so we can report them
    fake = FakeWecom(corp_id, secret, agent_id, users, strict_users=strict_users, clock=clock, directory=directory)
    # The routes (api: /cgi-bin/, control: /_fake/ and OAuth) find it here; so do tests, by state/lock/book.
    app.extensions["fakewecom"] = {"fake": fake, "state": fake.state, "lock": fake.lock, "book": fake.book}
    app.register_blueprint(api.blueprint)
    app.register_blueprint(control.blueprint)
    return app
