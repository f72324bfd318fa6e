"""People: who may use the bot, their roles and workshop; CSV import with all-or-nothing semantics."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from domain.errors import DomainError, NotAllowed
from domain.models import Operation, Person, WorkOrder
from domain.uow import UnitOfWork
from domain.vocab import ROLE_ALIASES, Role

USERID_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
REQUIRED_COLUMNS = ("userid", "name", "roles", "workshop")


@dataclass(frozen=True)
class PersonRow:
    line: int
    userid: str
    name: str
    roles: tuple[str, ...]
    workshop: str | None
    zone: str | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


class PeopleFileError(DomainError):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("\n".join(f"第 {e.line} 行：{e.message}" for e in errors))
        self.errors = errors


def parse_people_csv(text: str, known_workshops: Collection[str] | None = None) -> list[PersonRow]:
    """Parse userid,name,roles,workshop[,zone]; roles separated by ; | or space. Raises with every bad row,
    an unknown workshop among them when the known ones are given."""
    text = text.lstrip("\ufeff")  # Excel writes a BOM
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise PeopleFileError([RowError(1, f"缺少列：{', '.join(missing)}（需要 userid,name,roles,workshop）")])
    reader.fieldnames = header
    rows: list[PersonRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        rec = {k: (v or "").strip() for k, v in raw.items() if k}
        problems = []
        userid = rec.get("userid", "")
        if not USERID_RE.match(userid):
            problems.append(f"userid「{userid}」无效（只能是字母、数字、_.@-，1–64 位）")
        elif userid in seen:
            problems.append(f"userid「{userid}」与第 {seen[userid]} 行重复")
        name = rec.get("name", "")
        if not name or len(name) > 80:
            problems.append("姓名不能为空且不超过 80 字")
        roles: list[str] = []
        for token in re.split(r"[;|/\s、，,]+", rec.get("roles", "")):
            if not token:
                continue
            role = ROLE_ALIASES.get(token) or ROLE_ALIASES.get(token.lower())
            if role is None:
                problems.append(f"未知角色「{token}」")
            elif role.value not in roles:
                roles.append(role.value)
        if not roles and not any(p.startswith("未知角色") for p in problems):
            problems.append("至少需要一个角色")
        workshop = rec.get("workshop") or None
        if known_workshops is not None and workshop and workshop not in known_workshops:
            problems.append(_unknown_workshop(workshop, set(known_workshops)))
        if problems:
            errors.append(RowError(line, "；".join(problems)))
            continue
        seen[userid] = line
        rows.append(PersonRow(line, userid, name, tuple(roles), workshop, rec.get("zone") or None))
    if errors:
        raise PeopleFileError(errors)
    if not rows:
        raise PeopleFileError([RowError(1, "文件中没有人员数据")])
    return rows


def known_workshops(uow: UnitOfWork, route_workshops: Iterable[str] = ()) -> set[str]:
    """The workshops some route runs through: those of the work orders and operations in the store, and
    those of the route given for new work orders (KIS_DEFAULT_ROUTE), so a fresh plant knows its own."""
    session = uow.session
    found = set(session.scalars(select(Operation.workshop).distinct()))
    found |= set(session.scalars(select(WorkOrder.workshop).distinct()))
    return {w for w in (*found, *route_workshops) if w}


def import_people(uow: UnitOfWork, rows: list[PersonRow], *, route_workshops: Iterable[str] = ()) -> ImportResult:
    """Create or update every row, or none: a workshop no route runs through is refused, since a worker
    there could report nothing."""
    known = known_workshops(uow, route_workshops)
    errors = [RowError(row.line, _unknown_workshop(row.workshop, known))
              for row in rows if row.workshop and row.workshop not in known]
    if errors:
        raise PeopleFileError(errors)
    session = uow.session
    existing = {p.userid: p for p in session.scalars(select(Person).where(Person.userid.in_([r.userid for r in rows])))}
    created = updated = 0
    for row in rows:
        person = existing.get(row.userid)
        if person is None:
            person = Person(userid=row.userid)
            session.add(person)
            created += 1
        else:
            updated += 1
        person.name = row.name
        person.roles_csv = ",".join(row.roles)
        person.workshop = row.workshop
        person.zone = row.zone
        person.active = True
    session.flush()
    return ImportResult(created=created, updated=updated)


def _unknown_workshop(workshop: str, known: set[str]) -> str:
    if not known:
        return f"车间「{workshop}」不存在：系统里还没有任何车间，请先同步 KIS 工单或设置 KIS_DEFAULT_ROUTE"
    return f"车间「{workshop}」不存在（已知车间：{'、'.join(sorted(known))}），请检查拼写"


def person_names(uow: UnitOfWork, userids: Iterable[str]) -> dict[str, str]:
    """Names by userid; a userid no longer known is left out."""
    wanted = sorted(set(userids))
    if not wanted:
        return {}
    return dict(uow.session.execute(select(Person.userid, Person.name).where(Person.userid.in_(wanted))).all())


def find_person(uow: UnitOfWork, userid: str) -> Person | None:
    return uow.session.scalar(select(Person).where(Person.userid == userid))


def active_person(uow: UnitOfWork, userid: str) -> Person:
    person = find_person(uow, userid)
    if person is None or not person.active:
        raise NotAllowed("您的账号尚未开通 FactoryBot，请联系系统管理员。")
    return person


def _workshop_people(uow: UnitOfWork, workshop: str | None) -> list[Person]:
    if not workshop:
        return []
    return list(uow.session.scalars(
        select(Person).where(Person.workshop == workshop, Person.active.is_(True)).order_by(Person.userid)
    ))


def workshop_leads(uow: UnitOfWork, workshop: str | None) -> list[str]:
    """Who arranges work in a workshop: its team leads, else its supervisors (a small shop may have no lead)."""
    people = _workshop_people(uow, workshop)
    for role in (Role.TEAM_LEAD, Role.SUPERVISOR):
        found = [p.userid for p in people if p.has_role(role)]
        if found:
            return found
    return []


def workshop_managers(uow: UnitOfWork, workshop: str | None) -> list[str]:
    """Team leads and supervisors of a workshop together: both must hear of an exception on their floor."""
    return [p.userid for p in _workshop_people(uow, workshop) if p.has_role(Role.TEAM_LEAD, Role.SUPERVISOR)]
