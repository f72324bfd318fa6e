"""Errors a user can be told about, in the users' language."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request; `message` is shown to the user as is (Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class NotAllowed(DomainError):
    pass


class ConfigError(RuntimeError, ValueError):
    """A setting is missing or malformed; the message names the environment variable.

    The one configuration error of every package (re-exported by factorybot.config). It is a ValueError too,
    so a parser raising it inside a pydantic validator is reported by pydantic under the field's name."""
