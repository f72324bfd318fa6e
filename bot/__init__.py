"""The WeCom bot: a Flask app serving the callback and mini-forms."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from factorybot.config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """gunicorn's `bot:create_app()` (Procfile, README). Imported on call: the package itself stays light,
    as the worker and the CLI import bot's modules (bot.routing, bot.outbox) without Flask and every route."""
    from bot.app import create_app as _create  # on call: see the docstring

    return _create(settings)
