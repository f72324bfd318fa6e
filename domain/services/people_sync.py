"""People from WeCom's address book: who is new, who changed, who left, and the writes that follow.

The directory is read by the entry point (HTTP, outside any transaction) and handed in as plain values.
Roles are never touched here: new people start as workers and the people CSV keeps assigning roles.
People who left are deactivated, not deleted, so their reports, points and alerts keep their names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from domain.errors import DomainError
from domain.models import Person
from domain.services.people import known_workshops
from domain.uow import UnitOfWork
from domain.vocab import Role

# WeCom member status (user/list): 1 active, 2 disabled, 4 not yet joined, 5 left. A disabled member can no
# longer open the app, so they count as gone; one not yet joined is on the list and will join.
GONE_STATUSES = frozenset({2, 5})
NEW_PERSON_ROLE = Role.WORKER


@dataclass(frozen=True)
class Department:
    id: int
    name: str
    parent_id: int


@dataclass(frozen=True)
class Member:
    userid: str
    name: str
    departments: tuple[int, ...]
    main_department: int | None = None
    status: int = 1


@dataclass(frozen=True)
class Directory:
    departments: tuple[Department, ...]
    members: tuple[Member, ...]


@dataclass(frozen=True)
class Added:
    userid: str
    name: str
    workshop: str | None


@dataclass(frozen=True)
class Change:
    field: str  # 姓名 | 车间 | 状态
    old: str
    new: str


@dataclass(frozen=True)
class Updated:
    userid: str
    name: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Deactivated:
    userid: str
    name: str
    reason: str  # 已不在通讯录中 | 企业微信账号已禁用 | 已退出企业


@dataclass(frozen=True)
class SyncPlan:
    departments: int
    members: int
    added: tuple[Added, ...]
    updated: tuple[Updated, ...]
    deactivated: tuple[Deactivated, ...]
    unchanged: int

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.updated) + len(self.deactivated)


class SyncRefused(DomainError):
    """The directory or the department mapping does not fit the plant; nothing was changed."""


def parse_department_workshops(text: str) -> tuple[tuple[str, str], ...]:
    """`部门:车间,…` (a department by name or numeric id) → pairs; ValueError says what is wrong."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in re.split(r"[,，]", text.replace("：", ":")):
        item = item.strip()
        if not item:
            continue
        department, sep, workshop = (part.strip() for part in item.partition(":"))
        if not sep or not department or not workshop:
            raise ValueError(f"「{item}」 must be 部门:车间, e.g. 注塑部:注塑车间,后加工部:后加工车间")
        if department in seen:
            raise ValueError(f"department 「{department}」 is mapped twice")
        seen.add(department)
        pairs.append((department, workshop))
    return tuple(pairs)


def _resolve_mapping(directory: Directory, mapping: Iterable[tuple[str, str]],
                     known: set[str]) -> tuple[dict[int, str], list[str]]:
    by_id = {d.id: d for d in directory.departments}
    resolved: dict[int, str] = {}
    problems: list[str] = []
    for key, workshop in mapping:
        if key.isdigit():
            found = [by_id[int(key)]] if int(key) in by_id else []
        else:
            found = [d for d in directory.departments if d.name == key]
        if not found:
            names = "、".join(d.name for d in directory.departments) or "无"
            problems.append(f"部门「{key}」不在企业微信通讯录中（应用可见的部门：{names}）")
        elif len(found) > 1:
            ids = "、".join(str(d.id) for d in found)
            problems.append(f"通讯录中有 {len(found)} 个部门叫「{key}」（id {ids}），请改用部门 id")
        if workshop not in known:
            problems.append(f"车间「{workshop}」不存在（已知车间：{'、'.join(sorted(known)) or '无'}），请检查拼写")
        if len(found) == 1:
            resolved[found[0].id] = workshop
    return resolved, problems


def _workshop_of(member: Member, mapped: dict[int, str], parents: dict[int, int]) -> str | None:
    """The workshop of the member's main department, else of the first that has one; a department without a
    mapping takes its nearest mapped ancestor's (注塑一班 under 注塑部)."""
    def up(dept: int) -> str | None:
        seen: set[int] = set()
        while dept not in seen:
            if dept in mapped:
                return mapped[dept]
            seen.add(dept)
            dept = parents.get(dept, 0)
        return None

    order = list(member.departments)
    if member.main_department in order:
        order.remove(member.main_department)
        order.insert(0, member.main_department)
    for dept in order:
        found = up(dept)
        if found:
            return found
    return None


def _gone_reason(member: Member | None) -> str:
    if member is None:
        return "已不在通讯录中"
    return "企业微信账号已禁用" if member.status == 2 else "已退出企业"


def plan_sync(uow: UnitOfWork, directory: Directory, mapping: Iterable[tuple[str, str]], *,
              route_workshops: Iterable[str] = ()) -> SyncPlan:
    """What a sync would change, without writing: SyncRefused when the mapping does not fit, or when the
    directory holds nobody (an app whose visible range is empty would otherwise deactivate everyone)."""
    known = known_workshops(uow, route_workshops)
    mapped, problems = _resolve_mapping(directory, mapping, known)
    present: dict[str, Member] = {}
    gone: dict[str, Member] = {}
    for member in directory.members:
        # One entry per person, though user/list lists a member once per department.
        (gone if member.status in GONE_STATUSES else present).setdefault(member.userid.lower(), member)
    if not present:
        problems.append("通讯录中没有任何在职成员：请在企业微信管理后台检查应用的可见范围")
    if problems:
        raise SyncRefused("\n".join(problems))
    parents = {d.id: d.parent_id for d in directory.departments}
    people = {p.userid.lower(): p for p in uow.session.scalars(select(Person).order_by(Person.userid))}
    added: list[Added] = []
    updated: list[Updated] = []
    unchanged = 0
    for key, member in sorted(present.items()):
        workshop = _workshop_of(member, mapped, parents)
        person = people.get(key)
        if person is None:
            added.append(Added(member.userid, member.name, workshop))
            continue
        changes = []
        if person.name != member.name:
            changes.append(Change("姓名", person.name, member.name))
        # An unmapped department says nothing about the workshop: keep what the people CSV set.
        if workshop is not None and person.workshop != workshop:
            changes.append(Change("车间", person.workshop or "无", workshop))
        if not person.active:
            changes.append(Change("状态", "已停用", "恢复启用"))
        if changes:
            updated.append(Updated(person.userid, member.name, tuple(changes)))
        else:
            unchanged += 1
    deactivated = tuple(Deactivated(p.userid, p.name, _gone_reason(gone.get(key)))
                        for key, p in people.items() if p.active and key not in present)
    return SyncPlan(len(directory.departments), len(present), tuple(added), tuple(updated), deactivated, unchanged)


def apply_sync(uow: UnitOfWork, plan: SyncPlan) -> None:
    """Write the plan: add, update, deactivate. The caller commits (or not, for a dry run)."""
    session = uow.session
    for new in plan.added:
        session.add(Person(userid=new.userid, name=new.name, roles_csv=NEW_PERSON_ROLE.value,
                           workshop=new.workshop, active=True))
    touched = {u.userid for u in plan.updated} | {d.userid for d in plan.deactivated}
    people = {p.userid: p for p in session.scalars(select(Person).where(Person.userid.in_(touched)))}
    for update in plan.updated:
        person = people[update.userid]
        for change in update.changes:
            if change.field == "姓名":
                person.name = change.new
            elif change.field == "车间":
                person.workshop = change.new
            elif change.field == "状态":
                person.active = True
    for gone in plan.deactivated:
        people[gone.userid].active = False
    session.flush()
