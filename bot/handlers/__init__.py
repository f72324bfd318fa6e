"""Route order is priority: the first match wins, the fallback comes last."""

from __future__ import annotations

from bot.handlers import fallback, help, orders
from bot.routing import Router

ROUTES = [help.routes, orders.routes, fallback.routes]


def build_router() -> Router:
    return Router(ROUTES)


# (help line, roles allowed or empty for everyone) in route order, for the 帮助 reply.
ROUTER_HELP: list[tuple[str, frozenset[str]]] = [
    (r.help, r.roles) for group in ROUTES for r in group.routes if r.help
]
