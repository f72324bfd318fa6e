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
