"""Route order is priority: the first match wins, the fallback comes last."""

from __future__ import annotations

from bot.handlers import (
    alerts,
    corrections,
    crew,
    exceptions,
    fallback,
    forecast,
    handover,
    help,
    kis_admin,
    labels,
    my_day,
    orders,
    repairs,
    reports,
    scan_report,
    shifts,
    text_report,
    usage,
)
from bot.routing import Router
from wecom.menu import build_menu

# Shop-floor intents come before orders: its customer-name search would take any short text.
ROUTES = [
    help.routes, scan_report.routes, text_report.routes, corrections.routes, exceptions.routes, alerts.routes, repairs.routes,
    my_day.routes,
    shifts.routes, crew.routes, handover.routes,
    labels.routes,
    reports.routes,
    usage.routes,
    kis_admin.routes,
    forecast.routes,
    orders.routes,
    fallback.routes,
]


def build_router() -> Router:
    return Router(ROUTES)


# (help line, roles allowed or empty for everyone) in route order, for the 帮助 reply: handed to the help
# module, which is one of the routes and so cannot import this list.
ROUTER_HELP: list[tuple[str, frozenset[str]]] = [
    (r.help, r.roles) for group in ROUTES for r in group.routes if r.help
]
help.ROUTER_HELP[:] = ROUTER_HELP


def app_menu() -> dict[str, object]:
    """The menu/create body built from the buttons the routes declare (raises MenuError if WeCom would refuse it)."""
    return build_menu(build_router().menu_buttons)
