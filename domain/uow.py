"""Unit of work: one transaction per inbound message, task run or CLI command.

`run_unit` is the one shell every entry point goes through (the callback's route, the mini-form, a task
body): open, run, commit, then the after-commit hooks; roll back on any error. A read-only unit takes no
write lock on SQLite and refuses to write: a route that declared itself a read and then writes is a bug,
and it fails loudly rather than quietly taking the lock it promised not to take.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from domain.db import LOCK_WAIT_MS, READ_ONLY

T = TypeVar("T")


class ReadOnlyViolation(RuntimeError):
    """A unit opened read_only tried to write: a programming error, never a user's mistake."""


class UnitOfWork:
    """Rolls back unless committed; after-commit hooks run only when the commit succeeded."""

    session: Session

    def __init__(self, session_factory: sessionmaker[Session], *, read_only: bool = False,
                 lock_wait_ms: int | None = None) -> None:
        self._factory = session_factory
        self._read_only = read_only
        self._lock_wait_ms = lock_wait_ms
        self._after_commit: list[Callable[[], None]] = []

    @property
    def read_only(self) -> bool:
        return self._read_only

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self._after_commit = []
        if self._read_only:
            event.listen(self.session, "before_flush", self._refuse_flush)
            event.listen(self.session, "do_orm_execute", self._refuse_write_statement)
            # Marks the connection before its BEGIN, so SQLite reads without taking the write lock.
            self.session.connection(execution_options={READ_ONLY: True})
        elif self._lock_wait_ms is not None:
            self.session.connection(execution_options={LOCK_WAIT_MS: self._lock_wait_ms})
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        if self._read_only:
            self._check_clean()
        self.session.commit()
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            hook()

    def rollback(self) -> None:
        self.session.rollback()
        self._after_commit = []

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after_commit.append(fn)

    def flush(self) -> None:
        self.session.flush()

    # --- the read-only guard ---------------------------------------------------------------------------

    def _check_clean(self) -> None:
        s = self.session
        if s.new or s.dirty or s.deleted:
            what = [type(o).__name__ for o in (*s.new, *s.dirty, *s.deleted)]
            raise ReadOnlyViolation(f"a read-only unit of work has pending changes: {', '.join(what)}")

    def _refuse_flush(self, session: Session, _context: Any, _instances: Any) -> None:
        if session.new or session.dirty or session.deleted:
            self._check_clean()

    def _refuse_write_statement(self, state: ORMExecuteState) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            raise ReadOnlyViolation(f"a read-only unit of work executed a write: {state.statement}")


def run_unit(session_factory: sessionmaker[Session], fn: Callable[[UnitOfWork], T], *,
             read_only: bool = False) -> T:
    """Run `fn` in one unit of work: commit when it returns, then its after-commit hooks; roll back and
    re-raise when it raises. A read-only unit that has pending changes at the end raises ReadOnlyViolation
    and is rolled back."""
    with UnitOfWork(session_factory, read_only=read_only) as uow:
        result = fn(uow)
        uow.commit()
    return result
