"""python -m wecom.fake: run the fake WeCom API server in the foreground."""

from __future__ import annotations

import argparse

from werkzeug.serving import run_simple

from wecom.fake.app import create_fake_wecom


def _parse_users(pairs: list[str]) -> dict[str, str]:
    users: dict[str, str] = {}
    for pair in pairs:
        userid, _, name = pair.partition("=")
        users[userid] = name or userid
    return users


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m wecom.fake", description="Fake WeCom API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8930)
    parser.add_argument("--corp-id", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--agent-id", type=int, required=True)
    parser.add_argument(
        "--user", action="append", default=[], metavar="USERID=NAME", help="a known member (repeatable)"
    )
    parser.add_argument("--strict-users", action="store_true", help="reject messages to unknown users")
    args = parser.parse_args(argv)
    app = create_fake_wecom(
        args.corp_id, args.secret, args.agent_id, _parse_users(args.user), strict_users=args.strict_users
    )
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
