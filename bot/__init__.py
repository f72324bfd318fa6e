"""The WeCom bot: a Flask app serving the callback and mini-forms."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from factorybot.config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    from bot.app import create_app as _create

    return _create(settings)
