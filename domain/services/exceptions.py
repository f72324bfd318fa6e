"""Exceptions from the floor: open → acknowledged → closed, each step with who and when."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from domain.errors import DomainError, NotAllowed, NotFound
from domain.models import ShopException, WorkOrder
from domain.policy import PlantPolicy
from domain.services import handling
from domain.services.people import active_person
from domain.uow import UnitOfWork
from domain.vocab import ExceptionStatus, Role

MAX_DESCRIPTION = 500

# A press as people type it: "P05", "p5", "P-05", also glued to Chinese ("P05异响"); never a work order's
# long digit run ("WO20261125-01" is not press W0).
_PRESS = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,3})-?0*([0-9]{1,3})(?![0-9])")


def _press_key(code: str) -> tuple[str, int] | None:
    m = _PRESS.fullmatch(code.strip())
    return (m.group(1).upper(), int(m.group(2))) if m else None


def press_named(text: str, known: Iterable[str]) -> str | None:
    """The plant's code of the first press the text names ("p5" -> "P05"), or None.

    Only codes the plant has (work orders' machines, the machine zones) count, so a stray "A3" in a
    description is not a press; with none known, a P-number is taken in the demo's P05 form.
    """
    codes: dict[tuple[str, int], str] = {}
    for code in known:
        key = _press_key(code)
        if key is not None:
            codes.setdefault(key, code)
    for m in _PRESS.finditer(text):
        key = (m.group(1).upper(), int(m.group(2)))
        if key in codes:
            return codes[key]
        if not codes and key[0] == "P":
            return f"P{key[1]:02d}"
    return None


# A press answered by number alone: "5", "05", "5号", "5号机" (the question was "which press?").
_PRESS_NUMBER = re.compile(r"0*([0-9]{1,3})\s*(?:号机台|号机|号|#)?")


def press_answer(text: str, known: Iterable[str]) -> str | None:
    """The press a reply to "which press?" names: as press_named, or a number only one of the plant's
    presses has ("5号机" -> "P05")."""
    named = press_named(text, known)
    if named is not None:
        return named
    m = _PRESS_NUMBER.fullmatch(text.strip())
    if m is None:
        return None
    by_number = {code for code in known if (key := _press_key(code)) is not None and key[1] == int(m.group(1))}
    return by_number.pop() if len(by_number) == 1 else None


def plant_machines(uow: UnitOfWork) -> list[str]:
    """The presses work orders run on, as the plant writes them."""
    return [m for m in uow.session.scalars(select(WorkOrder.machine).distinct()) if m]


@dataclass(frozen=True)
class ExceptionResult:
    id: int
    type: str
    status: str
    status_label: str
    work_order_code: str | None
    workshop: str | None
    machine: str | None
    reporter: str
    duplicate: bool = False
    description: str = ""


def _result(exc: ShopException, duplicate: bool = False) -> ExceptionResult:
    wo = exc.work_order
    return ExceptionResult(
        id=exc.id,
        type=exc.type,
        status=exc.status,
        status_label=ExceptionStatus(exc.status).label,
        work_order_code=wo.code if wo else None,
        workshop=wo.workshop if wo else exc.reporter.workshop,
        machine=exc.machine or (wo.machine if wo else None),
        reporter=exc.reporter.name,
        duplicate=duplicate,
        description=exc.description or "",
    )


def open_exception(
    uow: UnitOfWork,
    policy: PlantPolicy,
    *,
    userid: str,
    type: str,
    source_key: str,
    now: datetime,
    work_order_code: str | None = None,
    description: str = "",
    known_machines: Iterable[str] = (),
) -> ExceptionResult:
    """Open an exception; a press named in the description (P05) is recorded, else the work order's."""
    session = uow.session
    existing = session.scalar(select(ShopException).where(ShopException.source_key == source_key))
    if existing is not None:
        return _result(existing, duplicate=True)
    person = active_person(uow, userid)
    if type not in policy.exception_types:
        raise DomainError(f"异常类型「{type}」无效，可选：{'、'.join(policy.exception_types)}。")
    if len(description) > MAX_DESCRIPTION:
        raise DomainError(f"异常描述不能超过 {MAX_DESCRIPTION} 字。")
    wo = None
    if work_order_code:
        wo = session.scalar(select(WorkOrder).where(WorkOrder.code == work_order_code.strip().upper()))
        if wo is None:
            raise NotFound(f"工单 {work_order_code} 不存在，请核对工单号。")
    typed = press_named(description, [*known_machines, *plant_machines(uow)])
    exc = ShopException(
        source_key=source_key,
        work_order=wo,
        machine=typed or (wo.machine if wo else None),
        reporter_id=person.id,
        type=type,
        description=description.strip(),
        status=ExceptionStatus.OPEN,
        opened_at=now,
    )
    session.add(exc)
    session.flush()
    session.refresh(exc)
    return _result(exc)


def exception_result(uow: UnitOfWork, exception_id: int) -> ExceptionResult:
    exc = uow.session.get(ShopException, exception_id)
    if exc is None:
        raise NotFound(f"异常 #{exception_id} 不存在。")
    return _result(exc)


def _get(uow: UnitOfWork, exception_id: int) -> ShopException:
    exc = uow.session.get(ShopException, exception_id, with_for_update=True)
    if exc is None:
        raise NotFound(f"异常 #{exception_id} 不存在。")
    return exc


def acknowledge_exception(uow: UnitOfWork, *, exception_id: int, userid: str, now: datetime) -> ExceptionResult:
    person = active_person(uow, userid)
    exc = _get(uow, exception_id)
    if exc.status == ExceptionStatus.CLOSED:
        raise DomainError(f"异常 #{exc.id} 已关闭。")
    handling.acknowledge(exc, person_id=person.id, now=now)
    uow.flush()
    return _result(exc)


def close_exception(
    uow: UnitOfWork, *, exception_id: int, userid: str, now: datetime, resolution: str = ""
) -> ExceptionResult:
    person = active_person(uow, userid)
    exc = _get(uow, exception_id)
    if not handling.close(exc, person_id=person.id, now=now, resolution=resolution.strip() or None):
        return _result(exc, duplicate=True)
    uow.flush()
    return _result(exc)


# Who may name the press of someone else's exception (a supervisor confirming it after the reporter did not).
PRESS_ROLES = (Role.TEAM_LEAD, Role.SUPERVISOR, Role.MAINTENANCE_LEAD, Role.OPS_MANAGER, Role.ADMIN)


def _still_open(uow: UnitOfWork, exception_id: int, userid: str) -> ShopException:
    person = active_person(uow, userid)
    exc = _get(uow, exception_id)
    if exc.reporter_id != person.id and not person.has_role(*PRESS_ROLES):
        raise NotAllowed(f"异常 #{exc.id} 不是您报告的，不能修改。")
    if exc.status == ExceptionStatus.CLOSED:
        raise DomainError(f"异常 #{exc.id} 已关闭。")
    return exc


def set_machine(uow: UnitOfWork, *, exception_id: int, userid: str, machine: str) -> ExceptionResult:
    """The press of an exception reported without one (the reporter's answer, or a supervisor's)."""
    exc = _still_open(uow, exception_id, userid)
    exc.machine = machine
    uow.flush()
    return _result(exc)


def describe(uow: UnitOfWork, *, exception_id: int, userid: str, text: str,
             known_machines: Iterable[str] = ()) -> ExceptionResult:
    """What happened, typed after the exception was opened from a card; a press it names is recorded too
    (as on open), unless the exception already has one."""
    text = text.strip()
    exc = _still_open(uow, exception_id, userid)
    merged = f"{exc.description}；{text}" if exc.description else text
    if len(merged) > MAX_DESCRIPTION:
        raise DomainError(f"异常描述不能超过 {MAX_DESCRIPTION} 字。")
    exc.description = merged
    if exc.machine is None:  # with a work order it has the work order's press already
        exc.machine = press_named(text, [*known_machines, *plant_machines(uow)])
    uow.flush()
    return _result(exc)
